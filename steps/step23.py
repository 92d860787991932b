"""Step 23: the framework becomes a package.

Until step 22 every script carried its own copy of Variable, Function and the operators.
From now on that code lives in the package `dezero` at the root of the repository, and a
step only imports it. The computations below are the ones the miniature framework of
step 22 could already do; look at the output to see that the package gives the same
values and gradients, and at the line telling where `dezero` was imported from.
One thing prints differently: a gradient shows as `variable(8.0)`, not `8.0`. The
package keeps a gradient as a Variable, not as a bare array, so that it can itself be
differentiated; step 30 explains why, and `x.grad.data` is the array.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero
from dezero import Variable

# Where did Python find dezero? The line above puts the repository root first on the
# search path, so the package is taken from this checkout, even when it is not installed.
repo_root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
where = os.path.relpath(dezero.__file__, repo_root).replace(os.sep, '/')
print(f'dezero imported from: {where}')

# The classic first example: y = (x + 3)^2, so dy/dx = 2(x + 3).
x = Variable(np.array(1.0))
y = (x + 3) ** 2
y.backward()
print(f'y = (x + 3) ** 2 at x = 1: y = {y}, dy/dx = {x.grad}')


def value_and_grad(f, x0):
    """Evaluate f at a fresh Variable holding x0; return f(x) and df/dx."""
    x = Variable(np.array(x0))
    y = f(x)
    y.backward()
    return y, x.grad


# The operators added in steps 20 to 22 all work on the package's Variable, mixed with
# Python numbers on either side.
examples = [
    ('-x', lambda x: -x),
    ('2.0 - x', lambda x: 2.0 - x),
    ('x - 1.0', lambda x: x - 1.0),
    ('3.0 / x', lambda x: 3.0 / x),
    ('x ** 3', lambda x: x**3),
    ('x * x + 2 * x', lambda x: x * x + 2 * x),
]
print('at x = 2:')
for text, f in examples:
    y, gx = value_and_grad(f, 2.0)
    print(f'  {text:<14} y = {y}, dy/dx = {gx}')

"""Step 24: differentiating test functions from optimisation.

With operator overloading, a formula written in plain Python notation builds a graph,
and backward() differentiates it, however long the formula is. Here three classic
test functions are evaluated at (x, y) = (1, 1): the Sphere, the Matyas and the
Goldstein-Price function. Each gradient is printed next to a numerical check by central
differences; the Goldstein-Price gradient at (1, 1) is (-5376, 8064).
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

from dezero import Variable
from dezero.utils import numerical_grad


def sphere(x, y):
    return x**2 + y**2


def matyas(x, y):
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def goldstein(x, y):
    # Written exactly as in the mathematical definition: no hand derivation needed.
    return (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)) * (
        30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    )


def show(f):
    """Differentiate f at (1, 1) by backprop and by central differences."""
    x = Variable(np.array(1.0))
    y = Variable(np.array(1.0))
    z = f(x, y)
    z.backward()  # one backward pass gives both partial derivatives

    # The same derivatives by central differences, one variable moved at a time.
    nx = numerical_grad(lambda a: f(a, y), x.data)
    ny = numerical_grad(lambda b: f(x, b), y.data)

    print(f'{f.__name__}(1, 1) = {float(z.data):g}')
    print(f'  backprop:  (dz/dx, dz/dy) = ({float(x.grad.data):g}, {float(y.grad.data):g})')
    print(f'  numerical: (dz/dx, dz/dy) = ({float(nx):.6f}, {float(ny):.6f})')


for f in (sphere, matyas, goldstein):
    show(f)

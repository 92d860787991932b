"""Step 36: double backprop, a gradient used inside a function.

create_graph=True is not only for Newton's method: once a gradient is a Variable with
a graph, it can be used like any other value in a new expression, and that expression
can be differentiated through the gradient. Here y = x^2, gx = dy/dx = 2x, and
z = gx^3 + y = 8x^3 + x^2, so dz/dx = 24x^2 + 2x: look for dz/dx = 100 at x = 2,
next to the formula and to central differences of the whole computation.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

from dezero import Variable
from dezero.utils import numerical_grad


def z_of(x):
    """z = (dy/dx)^3 + y for y = x^2: a function whose formula contains a gradient."""
    y = x**2
    y.backward(create_graph=True)
    gx = x.grad  # 2x, with a graph leading back to x
    x.cleargrad()  # x.grad will next hold dz/dx, not dy/dx + dz/dx
    return gx**3 + y


x = Variable(np.array(2.0))
z = z_of(x)
z.backward()
print(f'z at x = 2: {float(z.data)} (8x^3 + x^2 = {8 * 2.0**3 + 2.0**2})')
print(f'dz/dx at x = 2: {float(x.grad.data)} (24x^2 + 2x = {24 * 2.0**2 + 2 * 2.0})')

# Central differences: run the whole of z_of, backward pass included, at x +- eps.
numeric = numerical_grad(lambda v: z_of(Variable(v)), np.array(2.0))
print(f'dz/dx by central differences: {float(numeric):.6f}')

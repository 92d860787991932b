"""Step 30: a closer look at what a graph is made of, before higher derivatives.

Everything so far rests on a few links: a Variable holds `data`, `grad` and its
`creator`; a Function holds its `inputs` and (weak references to) its `outputs`; both
carry a `generation` that orders backprop. This step prints these links for
y = sin(x) * x, then points out the detail that opens the way to higher derivatives:
`x.grad` is not a bare array but a Variable, and a Function's backward() computes it
with Variable operations. A Cube function defined here does exactly that.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Function, Variable

x = Variable(np.array(2.0), name='x')
s = F.sin(x)
y = s * x

# Follow the links backwards, from y to x.
f_mul = y.creator
f_sin = f_mul.inputs[0].creator
print(
    f'y.creator = {type(f_mul).__name__}, generation {f_mul.generation}; '
    f'y.generation = {y.generation}'
)
print(f'  its inputs: sin(x) (generation {s.generation}) and x (generation {x.generation})')
print(f'  its output, through a weak reference, is y itself: {f_mul.outputs[0]() is y}')
print(
    f'sin(x).creator = {type(f_sin).__name__}, generation {f_sin.generation}, '
    f'input is x: {f_sin.inputs[0] is x}'
)
print(f'x.creator = {x.creator} (x is a leaf: the graph starts here)')

y.backward()
# dy/dx = cos(x) * x + sin(x)
print(f'dy/dx = {float(x.grad.data):.10f}, expected {np.cos(2.0) * 2.0 + np.sin(2.0):.10f}')
print(f'type of x.grad: {type(x.grad).__name__} holding a {type(x.grad.data).__name__}')


class Cube(Function):
    """y = x^3, with a backward written in Variable operations."""

    def forward(self, x):
        return x**3  # plain NumPy: forward sees arrays

    def backward(self, gy):
        (x,) = self.inputs  # backward sees Variables...
        return 3 * x**2 * gy  # ...so this line is itself made of Functions


x = Variable(np.array(2.0))
y = Cube()(x)
y.backward()
print(f'Cube at x = 2: y = {y}, dy/dx = {x.grad} (3x^2 = 12)')

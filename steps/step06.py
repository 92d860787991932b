"""Step 6: backpropagation done by hand.

The chain rule of step 5 now lives in the framework. A Variable gets a ``grad`` next to
its ``data``, and each Function gets a ``backward`` method: given the gradient of the
output, it returns the gradient of the input, using the input it remembered during
``forward``. Calling the backward methods in reverse order (C, then B, then A) gives
every gradient. In the output, check that x.grad matches the numerical derivative.
"""

import numpy as np

# ---- the framework so far --------------------------------------------------------------


class Variable:
    """A box around a NumPy array (``data``) and, once computed, its ``grad``."""

    def __init__(self, data):
        self.data = data
        self.grad = None


class Function:
    """Base class: unwraps the input Variable, computes, wraps the result."""

    def __call__(self, input):
        x = input.data
        y = self.forward(x)
        output = Variable(y)
        self.input = input  # remembered for backward
        return output

    def forward(self, x):
        raise NotImplementedError()

    def backward(self, gy):
        # Given dL/dy for the output, return dL/dx for the input.
        raise NotImplementedError()


class Square(Function):
    def forward(self, x):
        return x**2

    def backward(self, gy):
        x = self.input.data
        return 2 * x * gy


class Exp(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        x = self.input.data
        return np.exp(x) * gy


def numerical_diff(f, x, eps=1e-4):
    """Central difference: the slope of f across [x - eps, x + eps]."""
    x0 = Variable(x.data - eps)
    x1 = Variable(x.data + eps)
    y0 = f(x0)
    y1 = f(x1)
    return (y1.data - y0.data) / (2 * eps)


# ---- trying it out ---------------------------------------------------------------------

A = Square()
B = Exp()
C = Square()

x = Variable(np.array(0.5))
a = A(x)
b = B(a)
y = C(b)

# Backward: seed dy/dy = 1, then call each function's backward, last function first.
y.grad = np.array(1.0)
b.grad = C.backward(y.grad)
a.grad = B.backward(b.grad)
x.grad = A.backward(a.grad)
print(f'b.grad = {b.grad:.10f}')
print(f'a.grad = {a.grad:.10f}')
print(f'x.grad = {x.grad:.10f}')


def f(x):
    # The same composite, built from fresh function objects so A, B, C keep their inputs.
    return Square()(Exp()(Square()(x)))


print(f'numerical derivative = {numerical_diff(f, x):.10f}')

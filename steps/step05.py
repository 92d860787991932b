"""Step 5: the chain rule, read backwards from the output.

No new code in the framework: this step is about the idea behind backpropagation. For
y = C(B(A(x))) the chain rule gives dy/dx = C'(b) · B'(a) · A'(x). Multiplying these
local derivatives starting from the output end (dy/dy = 1, then dy/db, dy/da, dy/dx)
passes one number backwards through the chain, each function adding its own factor. In
the output, follow that number from 1 down to dy/dx = 3.29744... and compare it with
the numerical derivative of step 4.
"""

import numpy as np

# ---- the framework so far --------------------------------------------------------------


class Variable:
    """A box around a NumPy array, kept in ``data``."""

    def __init__(self, data):
        self.data = data


class Function:
    """Base class: unwraps the input Variable, computes, wraps the result."""

    def __call__(self, input):
        x = input.data
        y = self.forward(x)
        output = Variable(y)
        return output

    def forward(self, x):
        raise NotImplementedError()


class Square(Function):
    def forward(self, x):
        return x**2


class Exp(Function):
    def forward(self, x):
        return np.exp(x)


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

# Forward: keep the intermediate values, since the local derivatives need them.
x = Variable(np.array(0.5))
a = A(x)
b = B(a)
y = C(b)

# Backward, by hand: start from dy/dy = 1 and multiply in one local derivative per step.
#   C(b) = b²   so C'(b) = 2b
#   B(a) = e^a  so B'(a) = e^a
#   A(x) = x²   so A'(x) = 2x
dy_dy = np.array(1.0)
dy_db = dy_dy * (2 * b.data)
dy_da = dy_db * np.exp(a.data)
dy_dx = dy_da * (2 * x.data)
print(f'dy/dy = {dy_dy:.10f}')
print(f'dy/db = dy/dy * 2b     = {dy_db:.10f}')
print(f'dy/da = dy/db * exp(a) = {dy_da:.10f}')
print(f'dy/dx = dy/da * 2x     = {dy_dx:.10f}')


def f(x):
    return C(B(A(x)))


print(f'numerical derivative (step 4) = {numerical_diff(f, x):.10f}')

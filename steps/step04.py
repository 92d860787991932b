"""Step 4: numerical differentiation with central differences.

The derivative of f at x can be approximated by nudging x a little either side:
(f(x + eps) - f(x - eps)) / (2 eps). ``numerical_diff`` does this for any of our
functions, even a composite one. In the output, compare each approximation with the exact
derivative: the composite y = (e^(x²))² has dy/dx = 4x e^(2x²) = 3.29744... at x = 0.5.
Also note how much closer the central difference gets than the one-sided (forward) one.
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

# A single function: d(x²)/dx = 2x, so 4 at x = 2.
x = Variable(np.array(2.0))
dy = numerical_diff(Square(), x)
print(f'd(x**2)/dx at x=2.0: numerical {dy:.12f}, exact {2 * 2.0}')


# A composite function: y = (e^(x²))² = e^(2x²), so dy/dx = 4x e^(2x²).
def f(x):
    A = Square()
    B = Exp()
    C = Square()
    return C(B(A(x)))


x = Variable(np.array(0.5))
numerical = numerical_diff(f, x)
exact = 4 * 0.5 * np.exp(2 * 0.5**2)
print(f'numerical derivative of the composite at x=0.5: {numerical:.10f}')
print(f'exact derivative 4x*exp(2x**2) at x=0.5:        {exact:.10f}')
print(f'error of the central difference: {abs(numerical - exact):.1e}')

# For comparison, the one-sided difference (f(x + eps) - f(x)) / eps errs far more.
eps = 1e-4
forward = (f(Variable(x.data + eps)).data - f(x).data) / eps
print(f'error of the forward difference: {abs(forward - exact):.1e}')

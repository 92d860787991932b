"""Step 2: a Function is a callable class that turns a Variable into a Variable.

``Function.__call__`` does the bookkeeping that every function shares: take the array out
of the input Variable, compute, and put the result into a new Variable. Subclasses only
say how to compute on plain arrays, in ``forward``. ``Square`` is the first one. In the
output, check that the result is again a Variable and that 10 squared is 100.
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
        # Each concrete function must say how it computes.
        raise NotImplementedError()


class Square(Function):
    def forward(self, x):
        return x**2


# ---- trying it out ---------------------------------------------------------------------

x = Variable(np.array(10.0))
f = Square()
y = f(x)
print('type(y) =', type(y).__name__)
print('y.data =', y.data)

# The same function object works on any array, elementwise.
v = f(Variable(np.array([1.0, 2.0, 3.0])))
print('Square of [1, 2, 3] =', v.data.tolist())

# The base class knows how to call, but not what to compute.
try:
    Function()(x)
except NotImplementedError:
    print('Function()(x) raises NotImplementedError: forward is left to subclasses')

"""Step 3: functions compose, because each takes and returns a Variable.

A second function, ``Exp``, joins ``Square``. Since every function's output is a
Variable, it can be fed straight into the next one: here y = (e^(x²))², computed in three
steps A, B, C. In the output, follow the intermediate values a and b, and check that y
equals e^(2x²), which for x = 0.5 is e^0.5 = 1.6487...
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


# ---- trying it out ---------------------------------------------------------------------

A = Square()
B = Exp()
C = Square()

x = Variable(np.array(0.5))
a = A(x)  # a = x²
b = B(a)  # b = e^a
y = C(b)  # y = b²
print(f'x = {x.data}')
print(f'a = x**2   = {a.data:.10f}')
print(f'b = exp(a) = {b.data:.10f}')
print(f'y = b**2   = {y.data:.10f}')
print(f'check: exp(2 * x**2) = {np.exp(2 * x.data**2):.10f}')

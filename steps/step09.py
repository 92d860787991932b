"""Step 9: making the functions easier to use.

Three conveniences. Functions can be called as plain Python functions, ``square(x)``
instead of ``Square()(x)``. ``backward`` seeds the output's gradient with ones by itself,
so ``y.grad = np.array(1.0)`` is no longer needed. And a Variable accepts only NumPy
arrays: anything else is refused at once, and ``as_array`` turns the NumPy scalars that
some operations return (a 0-d array squared gives a ``float64``, not an array) back into
arrays. In the output, check the gradient, the refused float and the data types.
"""

import numpy as np

# ---- the framework so far --------------------------------------------------------------


class Variable:
    """An array (``data``), its gradient (``grad``) and the function that made it."""

    def __init__(self, data):
        if data is not None and not isinstance(data, np.ndarray):
            raise TypeError(f'{type(data).__name__} is not supported: use a NumPy array')
        self.data = data
        self.grad = None
        self.creator = None

    def set_creator(self, func):
        self.creator = func

    def backward(self):
        if self.grad is None:
            self.grad = np.ones_like(self.data)  # dy/dy = 1, shaped like y
        funcs = [self.creator]
        while funcs:
            f = funcs.pop()
            x, y = f.input, f.output
            x.grad = f.backward(y.grad)
            if x.creator is not None:
                funcs.append(x.creator)


def as_array(x):
    """Return x as an ndarray: NumPy scalars become 0-d arrays."""
    if np.isscalar(x):
        return np.array(x)
    return x


class Function:
    """Base class: computes, wraps the result and links it into the graph."""

    def __call__(self, input):
        x = input.data
        y = self.forward(x)
        output = Variable(as_array(y))
        output.set_creator(self)
        self.input = input
        self.output = output
        return output

    def forward(self, x):
        raise NotImplementedError()

    def backward(self, gy):
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


def square(x):
    return Square()(x)


def exp(x):
    return Exp()(x)


def numerical_diff(f, x, eps=1e-4):
    """Central difference: the slope of f across [x - eps, x + eps]."""
    x0 = Variable(as_array(x.data - eps))  # a 0-d array minus eps is a NumPy scalar
    x1 = Variable(as_array(x.data + eps))
    y0 = f(x0)
    y1 = f(x1)
    return (y1.data - y0.data) / (2 * eps)


# ---- trying it out ---------------------------------------------------------------------


def f(x):
    return square(exp(square(x)))


x = Variable(np.array(0.5))
y = f(x)
y.backward()  # no seeding needed any more
print(f'x.grad = {x.grad:.10f}')
print(f'numerical derivative = {numerical_diff(f, x):.10f}')

# Only arrays go into a Variable.
try:
    Variable(1.0)
except TypeError as e:
    print('Variable(1.0) raises TypeError:', e)

# Why as_array: NumPy returns a scalar, not an array, for an operation on a 0-d array.
print('type of np.array(1.0) ** 2:', type(np.array(1.0) ** 2).__name__)
print('type of as_array(np.array(1.0) ** 2):', type(as_array(np.array(1.0) ** 2)).__name__)
print('type of y.data:', type(y.data).__name__)

"""Step 12: the same functions, called the natural way.

Lists made step 11 general but clumsy: ``Add()([x0, x1])[0]``. Now ``__call__`` takes the
inputs as separate arguments (``*inputs``), ``forward`` receives the arrays the same way
and may return a single array instead of a one-element list, and a function with one
output returns that Variable itself rather than a list. So ``add(x0, x1)`` reads like
ordinary code, and a function with several outputs still returns them all. In the
output, check the same values as step 11, now with the simpler calls.
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
            self.grad = np.ones_like(self.data)
        funcs = [self.creator]
        while funcs:
            f = funcs.pop()
            # Still one input and one output per function here; step 13 lifts that.
            x, y = f.inputs[0], f.outputs[0]
            x.grad = f.backward(y.grad)
            if x.creator is not None:
                funcs.append(x.creator)


def as_array(x):
    """Return x as an ndarray: NumPy scalars become 0-d arrays."""
    if np.isscalar(x):
        return np.array(x)
    return x


class Function:
    """Base class: Variables in, Variables out (one or a tuple), linked in a graph."""

    def __call__(self, *inputs):
        xs = [x.data for x in inputs]
        ys = self.forward(*xs)  # the arrays, unpacked as separate arguments
        if not isinstance(ys, tuple):  # a single returned array counts as one output
            ys = (ys,)
        outputs = [Variable(as_array(y)) for y in ys]
        for output in outputs:
            output.set_creator(self)
        self.inputs = inputs
        self.outputs = outputs
        return outputs if len(outputs) > 1 else outputs[0]

    def forward(self, *xs):
        raise NotImplementedError()

    def backward(self, gy):
        raise NotImplementedError()


class Square(Function):
    def forward(self, x):
        return x**2

    def backward(self, gy):
        x = self.inputs[0].data
        return 2 * x * gy


class Exp(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return np.exp(x) * gy


class Add(Function):
    def forward(self, x0, x1):
        return x0 + x1


def square(x):
    return Square()(x)


def exp(x):
    return Exp()(x)


def add(x0, x1):
    return Add()(x0, x1)


# ---- trying it out ---------------------------------------------------------------------

# Two inputs, one output: the result is a Variable, not a list.
x0 = Variable(np.array(2.0))
x1 = Variable(np.array(3.0))
y = add(x0, x1)
print('add(2.0, 3.0) =', y.data)


# Two outputs: forward returns a tuple, and so does the call.
class DivMod(Function):
    def forward(self, x0, x1):
        return x0 // x1, x0 % x1


q, r = DivMod()(Variable(np.array(7)), Variable(np.array(2)))
print('DivMod of 7 and 2 =', (int(q.data), int(r.data)))
print('both outputs know their creator:', q.creator is r.creator)

# The one-input chain of the earlier steps still differentiates as before.
x = Variable(np.array(0.5))
y = square(exp(square(x)))
y.backward()
print(f'x.grad of square(exp(square(x))) at 0.5 = {x.grad:.10f}')

"""Step 11: functions take a list of inputs and give back a list of outputs.

Until now a function had exactly one input and one output, which rules out x0 + x1. So
``Function.__call__`` now takes a list of Variables, ``forward`` receives a list of
arrays and returns a list (or tuple) of arrays, and every output is linked into the
graph. ``Add`` is the first function with two inputs (its backward comes in step 13); a
small ``DivMod`` with two outputs shows the other direction. ``Variable.backward`` still
handles one input and one output, so the square/exp chain keeps working. In the output,
check 2 + 3 = 5, divmod(7, 2) = (3, 1) and the unchanged gradient of the chain.
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
    """Base class: a list of Variables in, a list of Variables out, linked in a graph."""

    def __call__(self, inputs):
        xs = [x.data for x in inputs]
        ys = self.forward(xs)
        outputs = [Variable(as_array(y)) for y in ys]
        for output in outputs:
            output.set_creator(self)
        self.inputs = inputs
        self.outputs = outputs
        return outputs

    def forward(self, xs):
        raise NotImplementedError()

    def backward(self, gy):
        raise NotImplementedError()


class Square(Function):
    def forward(self, xs):
        x = xs[0]
        return [x**2]

    def backward(self, gy):
        x = self.inputs[0].data
        return 2 * x * gy


class Exp(Function):
    def forward(self, xs):
        x = xs[0]
        return [np.exp(x)]

    def backward(self, gy):
        x = self.inputs[0].data
        return np.exp(x) * gy


class Add(Function):
    def forward(self, xs):
        x0, x1 = xs
        return [x0 + x1]


def square(x):
    return Square()([x])[0]


def exp(x):
    return Exp()([x])[0]


# ---- trying it out ---------------------------------------------------------------------

# Two inputs, one output.
xs = [Variable(np.array(2.0)), Variable(np.array(3.0))]
f = Add()
ys = f(xs)
y = ys[0]
print('Add of 2.0 and 3.0 =', y.data)


# One input pair, two outputs: a function just returns two arrays.
class DivMod(Function):
    def forward(self, xs):
        x0, x1 = xs
        return [x0 // x1, x0 % x1]


q, r = DivMod()([Variable(np.array(7)), Variable(np.array(2))])
print('DivMod of 7 and 2 =', (int(q.data), int(r.data)))
print('both outputs know their creator:', q.creator is r.creator)

# The one-input chain of the earlier steps still differentiates as before.
x = Variable(np.array(0.5))
y = square(exp(square(x)))
y.backward()
print(f'x.grad of square(exp(square(x))) at 0.5 = {x.grad:.10f}')

"""Step 14: using the same variable twice: gradients add up.

In y = x + x, x reaches y along two paths, and dy/dx = 2 is the sum of the gradients
along both. Step 13 overwrote ``x.grad`` with the last one and got 1. Now ``backward``
adds a gradient to any already there (as a new array, never in place, since the same
array may also be another variable's gradient). Because gradients now accumulate,
reusing a variable for a second calculation needs ``cleargrad()`` first. In the output,
check dy/dx = 2 for x + x, then 3 for x + x + x with cleargrad, and the stale 5 without.
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

    def cleargrad(self):
        self.grad = None

    def backward(self):
        if self.grad is None:
            self.grad = np.ones_like(self.data)
        funcs = [self.creator]
        while funcs:
            f = funcs.pop()
            gys = [output.grad for output in f.outputs]  # one gradient per output
            gxs = f.backward(*gys)
            if not isinstance(gxs, tuple):  # one gradient per input
                gxs = (gxs,)
            for x, gx in zip(f.inputs, gxs):
                if x.grad is None:
                    x.grad = gx
                else:
                    x.grad = x.grad + gx  # a new array: += could alter a shared one
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

    def backward(self, *gys):
        # Given the outputs' gradients, return the inputs' gradients (one or a tuple).
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

    def backward(self, gy):
        return gy, gy  # d(x0 + x1)/dx0 = d(x0 + x1)/dx1 = 1


def square(x):
    return Square()(x)


def exp(x):
    return Exp()(x)


def add(x0, x1):
    return Add()(x0, x1)


# ---- trying it out ---------------------------------------------------------------------

x = Variable(np.array(3.0))
y = add(x, x)
y.backward()
print('y = x + x at 3.0:', y.data, ' x.grad =', x.grad)

# A second calculation with the same x: its gradient would be added to the old one.
y = add(add(x, x), x)
y.backward()
print('y = x + x + x without cleargrad: x.grad =', x.grad, '(2 left over + 3)')

x.cleargrad()
y = add(add(x, x), x)
y.backward()
print('y = x + x + x after cleargrad:   x.grad =', x.grad)

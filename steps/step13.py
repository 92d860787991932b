"""Step 13: backward through functions with several inputs (and outputs).

``Variable.backward`` now gathers the gradients of all of a function's outputs, passes
them to its ``backward`` as separate arguments, and hands each returned gradient to the
matching input, then carries on from every input that has a creator. ``Add`` gets its
backward: the gradient of a sum flows unchanged to both inputs. In the output, check
z = x² + y² = 13 at (2, 3) and its gradients 2x = 4 and 2y = 6.
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
            gys = [output.grad for output in f.outputs]  # one gradient per output
            gxs = f.backward(*gys)
            if not isinstance(gxs, tuple):  # one gradient per input
                gxs = (gxs,)
            for x, gx in zip(f.inputs, gxs):
                x.grad = gx
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

x = Variable(np.array(2.0))
y = Variable(np.array(3.0))
z = add(square(x), square(y))  # z = x² + y²
z.backward()
print('z = x**2 + y**2 at (2.0, 3.0):', z.data)
print('x.grad =', x.grad, '(2x)')
print('y.grad =', y.grad, '(2y)')

"""Step 15: a more complex graph exposes the order of the backward pass.

The framework is unchanged from step 14, and here it goes wrong. In y = a² + a² with
a = x², the variable a feeds two functions, so its gradient is complete only after both
have passed theirs back. The simple list in ``backward`` does not wait: it runs the
function that made a as soon as the first part arrives, and again after the second, and
x receives gradient from a half-finished a.grad. In the output, compare x.grad with the
true derivative of y = 2x⁴, which is 8x³ = 64 at x = 2. Step 16 fixes the order.
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

x = Variable(np.array(2.0))
a = square(x)
y = add(square(a), square(a))  # y = a² + a² = 2x⁴
y.backward()
print('y = 2 * x**4 at 2.0:', y.data)
print('a.grad =', a.grad, '(right: 2a + 2a = 16)')
print('x.grad =', x.grad, 'but dy/dx = 8 * x**3 =', 8 * 2.0**3)

# Where the 96 comes from: the creator of a ran twice, once with a.grad = 8 (only one
# of the two parts) and once with a.grad = 16, and both results were added into x.grad.
print('2x * 8 + 2x * 16 =', 2 * 2.0 * 8 + 2 * 2.0 * 16)

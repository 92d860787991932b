"""Step 16: generations put the backward pass in the right order.

Every Variable and Function now carries a ``generation``: a function's is the largest of
its inputs', and its outputs' is one more. Processing functions from the highest
generation down guarantees that a variable's gradient is complete (all the functions
that use it have run) before its creator runs, and a set makes sure each function runs
only once. In the output, check the generations of the graph of step 15 and that x.grad
is now the true derivative 8x³ = 64.
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
        self.generation = 0

    def set_creator(self, func):
        self.creator = func
        self.generation = func.generation + 1  # one step further from the inputs

    def cleargrad(self):
        self.grad = None

    def backward(self):
        if self.grad is None:
            self.grad = np.ones_like(self.data)
        funcs = []
        seen = set()

        def add_func(f):
            # Each function once, kept sorted so that pop() takes the latest generation.
            if f not in seen:
                funcs.append(f)
                seen.add(f)
                funcs.sort(key=lambda func: func.generation)

        add_func(self.creator)
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
                    add_func(x.creator)


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
        self.generation = max(x.generation for x in inputs)
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
b = square(a)
c = square(a)
y = add(b, c)  # y = a² + a² = 2x⁴
print(
    'generations: x',
    x.generation,
    ' a',
    a.generation,
    ' b',
    b.generation,
    ' c',
    c.generation,
    ' y',
    y.generation,
)
print(
    'functions:   square(x)',
    a.creator.generation,
    ' square(a)',
    b.creator.generation,
    ' add',
    y.creator.generation,
)

y.backward()
print('y = 2 * x**4 at 2.0:', y.data)
print('a.grad =', a.grad)
print('x.grad =', x.grad, ' dy/dx = 8 * x**3 =', 8 * 2.0**3)

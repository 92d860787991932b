"""Step 18: saving memory: drop intermediate gradients, and a no_grad mode.

Two savings. After ``backward`` only the gradients of the graph's inputs are usually
wanted, so the gradients of intermediate variables are now dropped as soon as they have
been used (``retain_grad=True`` keeps them). And when no gradient will be needed at all,
as at inference time, there is no point in recording the graph: ``Config.enable_backprop``
switches the recording off, ``using_config`` changes it for a ``with`` block only, and
``no_grad()`` is the short form. In the output, check which gradients survive, that
nothing is recorded under no_grad, and how much memory the recorded graph holds.
"""

import contextlib
import tracemalloc
import weakref

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

    def backward(self, retain_grad=False):
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
            gys = [output().grad for output in f.outputs]  # output(): follow the weakref
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
            if not retain_grad:
                for y in f.outputs:
                    y().grad = None  # used up: the inputs' gradients are computed


def as_array(x):
    """Return x as an ndarray: NumPy scalars become 0-d arrays."""
    if np.isscalar(x):
        return np.array(x)
    return x


class Config:
    """Global switches. enable_backprop: record the graph while computing."""

    enable_backprop = True


@contextlib.contextmanager
def using_config(name, value):
    """Set Config.<name> to value inside a with block, and restore it afterwards."""
    old_value = getattr(Config, name)
    setattr(Config, name, value)
    try:
        yield
    finally:
        setattr(Config, name, old_value)


def no_grad():
    return using_config('enable_backprop', False)


class Function:
    """Base class: Variables in, Variables out (one or a tuple), linked in a graph."""

    def __call__(self, *inputs):
        xs = [x.data for x in inputs]
        ys = self.forward(*xs)  # the arrays, unpacked as separate arguments
        if not isinstance(ys, tuple):  # a single returned array counts as one output
            ys = (ys,)
        outputs = [Variable(as_array(y)) for y in ys]
        if Config.enable_backprop:  # record the graph only when it may be needed
            self.generation = max(x.generation for x in inputs)
            for output in outputs:
                output.set_creator(self)
            self.inputs = inputs
            self.outputs = [weakref.ref(output) for output in outputs]
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

x0 = Variable(np.array(1.0))
x1 = Variable(np.array(1.0))
t = add(x0, x1)
y = add(x0, t)  # y = 2 x0 + x1
y.backward()
print(
    'after y.backward():   y.grad =',
    y.grad,
    ' t.grad =',
    t.grad,
    ' x0.grad =',
    x0.grad,
    ' x1.grad =',
    x1.grad,
)

x0.cleargrad()
x1.cleargrad()
t = add(x0, x1)
y = add(x0, t)
y.backward(retain_grad=True)
print(
    'with retain_grad=True: y.grad =',
    y.grad,
    ' t.grad =',
    t.grad,
    ' x0.grad =',
    x0.grad,
    ' x1.grad =',
    x1.grad,
)

# Under no_grad the result is computed but not linked to any function.
x = Variable(np.array(2.0))
with no_grad():
    y = square(x)
print('under no_grad: y =', y.data, ' y.creator =', y.creator)
print('after the with block: Config.enable_backprop =', Config.enable_backprop)

# Memory: a recorded graph keeps every intermediate array alive for backward, here
# a and b of y = square(square(square(x))), 8 MB each; without recording only y stays.
x = Variable(np.ones(1_000_000))
for mode in ('recorded', 'no_grad'):
    tracemalloc.start()
    with using_config('enable_backprop', mode == 'recorded'):
        y = square(square(square(x)))
    held = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    del y
    print(f'{mode}: {held:.1f} MB held by y and its graph')

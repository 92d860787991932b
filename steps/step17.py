"""Step 17: memory: reference cycles, and weakref to break them.

A function holds its outputs and each output holds its function (``creator``): a
reference cycle. Python frees an object as soon as nothing refers to it, but objects in
a cycle always refer to each other, so they wait for the slower cycle collector and their
arrays stay in memory meanwhile. The fix is small: a function keeps only weak
references to its outputs (``weakref.ref``), which do not keep them alive, and
``backward`` calls the reference to reach the output. In the output, check that graphs
built with weak references are freed at once (0.0 MB left) while the same graphs with
step 16's strong references stay (32.0 MB) until ``gc.collect()``.
"""

import gc
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
        self.outputs = [weakref.ref(output) for output in outputs]  # no cycle
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

# The backward pass works as before.
x = Variable(np.array(2.0))
a = square(x)
y = add(square(a), square(a))
y.backward()
print('x.grad of 2 * x**4 at 2.0 =', x.grad)
print('the creator reaches its output through the weakref:', y.creator.outputs[0]() is y)

# Once y is gone nothing refers to its creator any more, so it goes at once.
creator = weakref.ref(y.creator)
del y
print('creator of y still alive after del y:', creator() is not None)


def megabytes_in_use():
    return tracemalloc.get_traced_memory()[0] / 1e6


def make_outputs_strong(y):
    """Undo this step's change on one graph: its functions hold their outputs strongly."""
    f = y.creator
    while f is not None:
        f.outputs = [output() for output in f.outputs]
        f = f.inputs[0].creator


# Build ten graphs of three squares on 100,000 numbers each (0.8 MB per array, so
# 3.2 MB per graph), keep none of them, and see how much memory stays in use. The
# cycle collector is switched off so that only reference counting frees memory.
np.random.seed(0)
gc.collect()
gc.disable()
tracemalloc.start()
for strong in (False, True):
    for _ in range(10):
        x = Variable(np.random.randn(100_000))
        y = square(square(square(x)))
        if strong:
            make_outputs_strong(y)
    del x, y
    label = 'strong outputs (step 16)' if strong else 'weakref outputs'
    print(f'{label}: {megabytes_in_use():.1f} MB still in use after 10 graphs')
gc.collect()  # the cycle collector finds and frees the cycles
print(f'after gc.collect(): {megabytes_in_use():.1f} MB')
tracemalloc.stop()
gc.enable()

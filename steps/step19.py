"""Step 19: a Variable that is easier to look at: name, shape, len and repr.

A Variable now takes an optional ``name`` (useful later, when graphs are drawn), and it
answers the questions one asks an array: ``shape``, ``ndim``, ``size`` and ``dtype`` as
properties passed on to its data, ``len()``, and a readable ``repr`` that prints as
``variable(...)``. In the output, check the shape (2, 3), the length 2 and the repr of
a matrix, whose second row lines up under the first.
"""

import contextlib
import weakref

import numpy as np

# ---- the framework so far --------------------------------------------------------------


class Variable:
    """An array (``data``), an optional name, its gradient and its creator function."""

    def __init__(self, data, name=None):
        if data is not None and not isinstance(data, np.ndarray):
            raise TypeError(f'{type(data).__name__} is not supported: use a NumPy array')
        self.data = data
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0

    # Questions about the array, answered by the array.
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        if self.data is None:
            return 'variable(None)'
        body = str(self.data).replace('\n', '\n' + ' ' * len('variable('))
        return f'variable({body})'

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

x = Variable(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), name='x')
print('x.name =', x.name)
print('x.shape =', x.shape)
print('x.ndim =', x.ndim)
print('x.size =', x.size)
print('x.dtype =', x.dtype)
print('len(x) =', len(x))
print(x)
print(Variable(np.array(3.0)))
print(Variable(None))

# The results of functions get the same conveniences; they have no name by default.
y = square(x)
print('square(x).shape =', y.shape, ' name =', y.name)
print(y)

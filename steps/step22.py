"""Step 22: the remaining operators: unary -, -, / and **.

Four more functions complete the arithmetic: ``Neg``, ``Sub``, ``Div`` and ``Pow`` (a
power with a constant exponent c, kept on the function: d(x^c)/dx = c x^(c-1)). Unlike
+ and *, subtraction and division depend on the order: ``2.0 - x`` becomes
``x.__rsub__(2.0)``, so ``rsub`` and ``rdiv`` swap their operands back before computing.
In the output, check each value and gradient at x = 2 against the exact derivative
printed next to it; the last line differentiates (x² - 1) / (x + 1), which is x - 1.
"""

import contextlib
import weakref

import numpy as np

# ---- the framework so far --------------------------------------------------------------


class Variable:
    """An array (``data``), an optional name, its gradient and its creator function."""

    __array_priority__ = 200  # beat ndarray: array + Variable calls __radd__

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
    """Return x as an ndarray: Python and NumPy scalars become 0-d arrays."""
    if np.isscalar(x):
        return np.array(x)
    return x


def as_variable(obj):
    """Return obj as a Variable: Variables pass through, arrays are wrapped."""
    if isinstance(obj, Variable):
        return obj
    return Variable(obj)


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
        inputs = [as_variable(x) for x in inputs]
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


class Mul(Function):
    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return gy * x1, gy * x0  # each input's gradient is the other input


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Sub(Function):
    def forward(self, x0, x1):
        return x0 - x1

    def backward(self, gy):
        return gy, -gy


class Div(Function):
    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return gy / x1, gy * (-x0 / x1**2)


class Pow(Function):
    """x ** c for a constant exponent c (not a Variable, so it gets no gradient)."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x**self.c

    def backward(self, gy):
        x = self.inputs[0].data
        return self.c * x ** (self.c - 1) * gy


def square(x):
    return Square()(x)


def exp(x):
    return Exp()(x)


def add(x0, x1):
    x1 = as_array(x1)  # a number becomes an array (then a Variable)
    return Add()(x0, x1)


def mul(x0, x1):
    x1 = as_array(x1)
    return Mul()(x0, x1)


def neg(x):
    return Neg()(x)


def sub(x0, x1):
    x1 = as_array(x1)
    return Sub()(x0, x1)


def rsub(x0, x1):
    # Called as x0.__rsub__(x1) for x1 - x0: put the operands back in order.
    x1 = as_array(x1)
    return Sub()(x1, x0)


def div(x0, x1):
    x1 = as_array(x1)
    return Div()(x0, x1)


def rdiv(x0, x1):
    x1 = as_array(x1)
    return Div()(x1, x0)


def pow(x, c):
    return Pow(c)(x)


# Python turns a + b into a.__add__(b); when a cannot handle it (a float, say), it tries
# b.__radd__(a). Addition and multiplication do not care about the order; subtraction
# and division do, hence rsub and rdiv.
Variable.__add__ = add
Variable.__radd__ = add
Variable.__mul__ = mul
Variable.__rmul__ = mul
Variable.__neg__ = neg
Variable.__sub__ = sub
Variable.__rsub__ = rsub
Variable.__truediv__ = div
Variable.__rtruediv__ = rdiv
Variable.__pow__ = pow


# ---- trying it out ---------------------------------------------------------------------

cases = [
    ('-x', lambda x: -x, '-1'),
    ('x - 1.0', lambda x: x - 1.0, '1'),
    ('2.0 - x', lambda x: 2.0 - x, '-1'),
    ('x / 4.0', lambda x: x / 4.0, '1/4 = 0.25'),
    ('3.0 / x', lambda x: 3.0 / x, '-3/x**2 = -0.75'),
    ('x ** 3', lambda x: x**3, '3x**2 = 12'),
    ('(x**2 - 1) / (x + 1)', lambda x: (x**2 - 1) / (x + 1), '1, as it is x - 1'),
]
print('at x = 2.0:')
for text, f, expected in cases:
    x = Variable(np.array(2.0))
    y = f(x)
    y.backward()
    print(
        f'  y = {text:<20} = {float(y.data):5.2f}   dy/dx = {float(x.grad):5.2f}'
        f'   (exact: {expected})'
    )

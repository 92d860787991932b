"""The simple core: the framework of the tutorial's first stages, on one page.

Everything here works as in :mod:`dezero.core`, with one difference: a gradient is a
plain NumPy array, not a Variable, so it cannot be differentiated again (there is no
``create_graph``).  The module imports nothing but NumPy and the standard library, and
reads from top to bottom: configuration, Variable and its backward pass, Function, then
the arithmetic that :func:`setup_variable` attaches to Variable's operators.

The book's steps 28 and 29 switch to it with

    import dezero
    if not dezero.is_simple_core:
        from dezero.core_simple import Variable, setup_variable
        setup_variable()

Its Variables are a class of their own: they do not mix with ``dezero.Variable``.
"""

import contextlib
import copy
import threading
import weakref

import numpy as np


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------
class _Settings(threading.local):
    """The switches of one thread; the class attributes are every thread's defaults."""

    enable_backprop = True


_settings = _Settings()


class _PerThreadSettings(type):
    """Makes ``Config.name`` read and assign the calling thread's setting."""

    def __getattr__(cls, name):
        return getattr(_settings, name)

    def __setattr__(cls, name, value):
        if not hasattr(_Settings, name):
            raise AttributeError(f'Config has no setting {name!r}; expected enable_backprop')
        setattr(_settings, name, value)


class Config(metaclass=_PerThreadSettings):
    """Switches read as ``Config.enable_backprop`` (record the graph while computing;
    off under :func:`no_grad`).  Each thread has its own values: a ``no_grad()`` block
    in one thread leaves recording on in the others."""


@contextlib.contextmanager
def using_config(name, value):
    """Set ``Config.<name>`` to ``value`` inside a ``with`` block, restoring it after."""
    if not hasattr(_Settings, name):
        raise AttributeError(
            f'using_config: Config has no setting {name!r}; expected enable_backprop'
        )
    old = getattr(Config, name)
    setattr(Config, name, value)
    try:
        yield
    finally:
        setattr(Config, name, old)


def no_grad():
    """Context manager that computes without recording a graph (no backward possible)."""
    return using_config('enable_backprop', False)


# --------------------------------------------------------------------------------------
# Variable
# --------------------------------------------------------------------------------------
class Variable:
    """A box for a NumPy array ``data``; after :meth:`backward`, ``grad`` holds the
    gradient, an array shaped like ``data``.

    ``Variable(data, name=None)`` takes a NumPy array or None; anything else (a float,
    a list) raises TypeError: wrap it with ``np.array(...)``.
    """

    # NumPy leaves binary operators with a Variable to the Variable, so that
    # ``np.array(2.0) * x`` runs ``x.__rmul__`` and gives a Variable.
    __array_priority__ = 200
    __array_ufunc__ = None

    def __init__(self, data, name=None):
        if data is not None and not isinstance(data, np.ndarray):
            raise TypeError(
                f'Variable: data must be a NumPy array or None, got '
                f'{type(data).__name__} ({data!r:.60}); wrap it with '
                f'np.array(...)'
            )
        self.data = data
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0

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
        """Record ``func`` as the function that produced this variable."""
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self):
        """Forget the gradient (set ``grad`` to None) before a new backward pass."""
        self.grad = None

    def backward(self, retain_grad=False):
        """Compute the gradient of this variable with respect to every variable behind it.

        The seed is ``grad`` if set, else ones shaped like ``data`` (float64 ones for
        integer data, whose gradients are not integers).  Each function runs once,
        newest generation first, after the gradients flowing into its outputs have been
        summed.  The leaves add theirs to ``grad`` (hence :meth:`cleargrad` between
        passes); the other variables keep theirs only with ``retain_grad=True``.
        """
        if self.data is None:
            raise ValueError('backward: this Variable holds no data (None)')
        seed = self.grad
        if seed is None:
            dtype = self.dtype if np.issubdtype(self.dtype, np.inexact) else np.float64
            seed = np.ones_like(self.data, dtype=dtype)
        if self.creator is None:  # a leaf: d(self)/d(self) is the seed
            self.grad = seed
            return
        self.grad = None  # given back below if retain_grad

        # This pass's gradients, summed over the paths walked so far.  A variable's
        # gradient is complete when its creator runs (every function that used the
        # variable has a newer generation and ran before), and it is taken out then.
        grads = {self: seed}
        waiting = {self.creator.generation: [self.creator]}  # generation -> functions
        added = {self.creator}
        handed_out = {id(seed): seed}  # id -> the seed and every array given to a .grad

        def give(x, g):
            """Add this pass's gradient ``g`` to ``x.grad``, copying it if another
            variable holds that very array (Add hands ``gy`` to both inputs)."""
            if x.grad is not None:
                x.grad = as_array(x.grad + g)
            else:
                g = as_array(g)
                x.grad = g.copy() if id(g) in handed_out else g
            handed_out[id(x.grad)] = x.grad

        # The inputs of a function come from functions of lower generations, so one
        # sweep down the generations runs every function once: linear in the graph.
        for generation in range(self.creator.generation, -1, -1):
            for f in waiting.pop(generation, ()):
                gys = []
                for y in [ref() for ref in f.outputs]:
                    if y is None:  # an output freed unused: no gradient
                        gys.append(None)
                        continue
                    gy = grads.pop(y, None)
                    if gy is None:  # an output that is alive but unused
                        gy = np.zeros_like(y.data)
                    if retain_grad:
                        give(y, gy)
                    else:
                        y.grad = None
                    gys.append(gy)
                gxs = f.backward(*gys)
                if not isinstance(gxs, tuple):
                    gxs = (gxs,)
                if len(gxs) != len(f.inputs):
                    raise ValueError(
                        f'{type(f).__name__}.backward returned {len(gxs)} '
                        f'gradients for {len(f.inputs)} inputs'
                    )
                for x, gx in zip(f.inputs, gxs):
                    if gx is None:  # the function says: no gradient here
                        continue
                    gx = as_array(gx)
                    if not isinstance(gx, np.ndarray) or gx.shape != x.shape:
                        raise ValueError(
                            f'{type(f).__name__}.backward returned {_describe(gx)} as '
                            f'the gradient of an input of shape {x.shape}; expected an '
                            f'array of that shape'
                        )
                    if x in grads:
                        grads[x] = grads[x] + gx
                        continue
                    grads[x] = gx
                    if x.creator is not None and x.creator not in added:
                        added.add(x.creator)
                        waiting.setdefault(x.creator.generation, []).append(x.creator)

        for x, g in grads.items():  # only the leaves are left
            give(x, g)


def _describe(value):
    """``value`` in a few words for an error message."""
    if isinstance(value, np.ndarray):
        return f'a gradient of shape {value.shape}'
    return f'an object of type {type(value).__name__}'


def as_array(x):
    """``x`` as an array if it is a number (Python or NumPy); anything else as it is."""
    if np.isscalar(x):
        return np.array(x)
    return x


def as_variable(obj):
    """``obj`` as a Variable: a Variable as it is, an array or a number wrapped."""
    if isinstance(obj, Variable):
        return obj
    return Variable(as_array(obj))


# --------------------------------------------------------------------------------------
# Function
# --------------------------------------------------------------------------------------
class Function:
    """Base of the differentiable operations.

    Subclasses define ``forward(*arrays)`` (arrays in, an array or a tuple of arrays
    out) and ``backward(*grads)``: in, one array per output (None for an output freed
    unused); out, one array per input, shaped like that input (or None: no gradient).
    Calling the function on Variables, arrays or numbers returns a Variable, or a list
    of them when ``forward`` returns several arrays.  A function object called a second
    time runs on a copy of itself, so that each call keeps its own inputs for backward.
    """

    inputs = None
    outputs = None
    generation = 0

    def __call__(self, *inputs):
        f = self if self.inputs is None else copy.copy(self)
        inputs = [as_variable(x) for x in inputs]
        ys = f.forward(*[x.data for x in inputs])
        if not isinstance(ys, tuple):
            ys = (ys,)
        outputs = [Variable(as_array(y)) for y in ys]
        if Config.enable_backprop:
            f.generation = max([x.generation for x in inputs], default=0)
            for y in outputs:
                y.set_creator(f)
            f.inputs = inputs
            f.outputs = [weakref.ref(y) for y in outputs]  # outputs keep f, not back
        return outputs if len(outputs) > 1 else outputs[0]

    def forward(self, *xs):
        raise NotImplementedError(f'{type(self).__name__} does not define forward()')

    def backward(self, *gys):
        raise NotImplementedError(f'{type(self).__name__} does not define backward()')


# --------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------
def _operand(c, other):
    """The constant ``c`` of ``other + c`` (or ``*``, ``-``, ``/``) as an array.  A
    number gets the dtype the result would have, so ``float32_variable * 2`` stays
    float32 while ``int_variable * 0.5`` is float64; arrays and Variables pass."""
    if isinstance(c, np.generic):
        c = c.item()
    if isinstance(c, (int, float, complex)) and isinstance(other, (Variable, np.ndarray)):
        return np.array(c, dtype=np.result_type(other.dtype, c))
    return as_array(c)


def _sum_to(g, shape):
    """The gradient ``g`` of a broadcast input summed back to the input's ``shape``."""
    if g.shape == shape:
        return g
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))  # the axes put in front
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True)


class Add(Function):
    """y = x0 + x1 (broadcasting as NumPy).  Derivative: gy to both inputs."""

    def forward(self, x0, x1):
        return x0 + x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return _sum_to(gy, x0.shape), _sum_to(gy, x1.shape)


def add(x0, x1):
    """x0 + x1, recorded as :class:`Add`."""
    return Add()(x0, _operand(x1, x0))


class Mul(Function):
    """y = x0 * x1.  Derivative: gy * x1 to x0, gy * x0 to x1."""

    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return _sum_to(gy * x1, x0.shape), _sum_to(gy * x0, x1.shape)


def mul(x0, x1):
    """x0 * x1, recorded as :class:`Mul`."""
    return Mul()(x0, _operand(x1, x0))


class Neg(Function):
    """y = -x.  Derivative: -gy."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


def neg(x):
    """-x, recorded as :class:`Neg`."""
    return Neg()(x)


class Sub(Function):
    """y = x0 - x1.  Derivative: gy to x0, -gy to x1."""

    def forward(self, x0, x1):
        return x0 - x1

    def backward(self, gy):
        x0, x1 = self.inputs
        return _sum_to(gy, x0.shape), _sum_to(-gy, x1.shape)


def sub(x0, x1):
    """x0 - x1, recorded as :class:`Sub`."""
    return Sub()(x0, _operand(x1, x0))


def rsub(x0, x1):
    """x1 - x0 (the reflected ``-`` of ``2 - x``), recorded as :class:`Sub`."""
    return Sub()(_operand(x1, x0), x0)


class Div(Function):
    """y = x0 / x1.  Derivative: gy / x1 to x0, -gy * x0 / x1² to x1."""

    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return _sum_to(gy / x1, x0.shape), _sum_to(gy * (-x0 / x1**2), x1.shape)


def div(x0, x1):
    """x0 / x1, recorded as :class:`Div`."""
    return Div()(x0, _operand(x1, x0))


def rdiv(x0, x1):
    """x1 / x0 (the reflected ``/`` of ``2 / x``), recorded as :class:`Div`."""
    return Div()(_operand(x1, x0), x0)


class Pow(Function):
    """y = x ** c for a constant number c.  Derivative: gy * c * x^(c-1)."""

    def __init__(self, c):
        if isinstance(c, np.generic):  # a NumPy number would turn float32 to float64
            c = c.item()
        if not isinstance(c, (int, float)):
            raise TypeError(
                f'Pow: the exponent must be a number (int or float), got '
                f'{type(c).__name__}; the simple core differentiates x ** c '
                f'for a constant c only'
            )
        self.c = c

    def forward(self, x):
        return x**self.c

    def backward(self, gy):
        x = self.inputs[0].data
        return self.c * x ** (self.c - 1) * gy


def pow(x, c):
    """x ** c for a constant number c, recorded as :class:`Pow`."""
    return Pow(c)(x)


def setup_variable():
    """Attach the arithmetic above to Variable's operators ``+ - * / **`` and unary
    ``-`` (numbers and arrays on either side are taken as constants)."""
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


# The operators work as soon as the module is imported; calling setup_variable() again,
# as the book's steps do, changes nothing.
setup_variable()

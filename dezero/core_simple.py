"""The simple core: the framework of the tutorial's first stages, on one page.

What is here works as in :mod:`dezero.core`, refusals included, with these
differences:

- a gradient is a plain NumPy array, not a Variable, so it cannot be differentiated
  again (there is no ``create_graph``);
- ``backward()`` refuses a function when any of its inputs or outputs had its ``data``
  assigned after the forward pass (``x.data -= ...``), whether or not its backward
  reads that value; the full core checks only the values a backward declares it reads,
  and also notices a change made through a view (reshape, slicing) of that data;
- a refused pass leaves ``.grad`` of the variable it started from cleared (the full
  core gives back a seed set there by hand), and the gradients stored before the
  error in place;
- a Variable is a box and not a sequence: ``len()`` is its data's (raw errors for 0-d
  data), ``bool()`` is ``len() > 0`` as in the book (the full core's is that of a
  single element), and a backward must return a gradient for every input (the full
  core takes fewer when the rest need none, as the book's softmax cross entropy
  returns);
- two Variables of different dtypes are promoted as NumPy promotes them: the full
  core casts a 0-d one to the floating dtype of the other when it holds its value
  (float32 data times a 0-d float64 Variable stays float32 there, is float64 here).

The module imports nothing but NumPy and the standard library, and reads from top to
bottom: configuration, Variable and its backward pass, Function, then the arithmetic
that :func:`setup_variable` attaches to Variable's operators.

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
_SWITCHES = ('enable_backprop',)


def _flag(where, name, value):
    """``value``, given for the switch ``name``, as a bool: TypeError naming ``where``
    unless it is True or False (a NumPy bool too), as a string 'False' would count as
    true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f'{where}: {name} must be True or False, got {value!r:.60}')
    return bool(value)


def _unknown_setting(name):
    """The message for a setting ``name`` that Config does not have."""
    return f'Config has no setting {name!r}; expected {" or ".join(_SWITCHES)}'


class _PerThreadSettings(type):
    """Makes ``Config.name`` read and assign the calling thread's setting."""

    def __getattr__(cls, name):
        if name not in _SWITCHES:
            raise AttributeError(_unknown_setting(name))
        return getattr(_settings, name)

    def __setattr__(cls, name, value):
        if name not in _SWITCHES:
            raise AttributeError(_unknown_setting(name))
        setattr(_settings, name, _flag('Config', name, value))


class Config(metaclass=_PerThreadSettings):
    """Switches, True or False, read as ``Config.enable_backprop`` (record the graph
    while computing; off under :func:`no_grad`).  Each thread has its own values: a
    ``no_grad()`` block in one thread leaves recording on in the others."""


@contextlib.contextmanager
def using_config(name, value):
    """Set ``Config.<name>`` to ``value`` (True or False) inside a ``with`` block,
    restoring it after."""
    if name not in _SWITCHES:
        raise AttributeError('using_config: ' + _unknown_setting(name))
    value = _flag('using_config', name, value)
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

    ``Variable(data, name=None)`` takes a NumPy array of numbers or None; anything else
    (a float, a list, an array of strings) raises TypeError: wrap numbers with
    ``np.array(...)``.  ``requires_grad`` says whether gradients flow into it: True for
    the Variables you make and for results computed under ``no_grad()`` (leaves of any
    graph that uses them later), False for bool data, which has no derivative, for the
    arrays and numbers a function wraps, and for results computed from those only.
    """

    # NumPy leaves binary operators with a Variable to the Variable, so that
    # ``np.array(2.0) * x`` runs ``x.__rmul__`` and gives a Variable.
    __array_priority__ = 200
    __array_ufunc__ = None

    def __init__(self, data, name=None):
        data = _checked_data('Variable', data)
        self._data = data
        self._version = 0  # how many times data has been assigned (see the setter)
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0
        self.requires_grad = data is None or data.dtype.kind != 'b'
        self._computed_under_no_grad = False

    @property
    def data(self):
        """The array this Variable holds, or None."""
        return self._data

    # Every assignment (``v.data = a``, and ``v.data -= a``, which assigns the updated
    # array back, as the book's gradient descent does) counts one more version.  Each
    # function notes the versions of its inputs when it runs forward, and backward
    # refuses to compute a gradient from values assigned since.
    @data.setter
    def data(self, data):
        if isinstance(data, np.generic):  # ``x.data - 1`` on 0-d data gives a scalar
            data = np.asarray(data)
        data = _checked_data('Variable.data', data)
        if data is not None and data.dtype.kind == 'b':
            self.requires_grad = False  # bool data has no derivative
        elif data is not None and self._data is not None and self._data.dtype.kind == 'b':
            self.requires_grad = True  # numbers again: it has a derivative again
        self._data = data
        self._version += 1

    @property
    def shape(self):
        """The shape of the data."""
        return self.data.shape

    @property
    def ndim(self):
        """The number of axes of the data."""
        return self.data.ndim

    @property
    def size(self):
        """The number of elements of the data."""
        return self.data.size

    @property
    def dtype(self):
        """The dtype of the data."""
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

        The seed is ``grad`` if set (a floating-point array of this variable's shape,
        copied and cast to its dtype), else ones shaped like ``data`` (float64 ones for
        integer data, whose gradients are not integers).  Each function runs once,
        newest generation first, after the gradients flowing into its outputs have been
        summed.  The leaves add theirs to ``grad`` (hence :meth:`cleargrad` between
        passes); the other variables keep theirs only with ``retain_grad=True``.

        Refused: a variable without data, with bool or complex data, computed under
        ``no_grad()`` or from constants only (no graph leads back from it), and a pass
        through a function whose input or output data was assigned after its forward,
        and a ``retain_grad`` other than True or False.
        """
        retain_grad = _flag('backward', 'retain_grad', retain_grad)
        _check_can_backprop(self)
        seed = _seed(self)
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
        handed_out = {}  # id -> every array given to a .grad in this pass

        def give(x, g):
            """Add this pass's gradient ``g`` to ``x.grad``, copying it if another
            variable holds that very array (Add hands ``gy`` to both inputs)."""
            g = as_array(g)  # (sums of 0-d arrays are NumPy scalars)
            if x.dtype.kind == 'f' and g.dtype != x.dtype:
                g = g.astype(x.dtype)  # float32 data gets float32 gradients
            if x.grad is not None:
                _check_addable(x, g)
                x.grad = as_array(x.grad + g)
            else:
                x.grad = g.copy() if id(g) in handed_out else g
            handed_out[id(x.grad)] = x.grad

        # The inputs of a function come from functions of lower generations, so one
        # sweep down the generations runs every function once: linear in the graph.
        for generation in range(self.creator.generation, -1, -1):
            for f in waiting.pop(generation, ()):
                _check_unchanged(f)
                gys = []
                for y in [ref() for ref in f.outputs]:
                    if y is None:  # an output freed unused: no gradient
                        gys.append(None)
                        continue
                    gy = grads.pop(y, None)
                    if gy is None:  # an output that is alive but unused
                        gy = np.zeros(y.shape, _gradient_dtype(y))
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
                    if gx is None or not x.requires_grad:  # no gradient here
                        continue
                    gx = _checked_gradient(f, x, gx)
                    if x in grads:
                        grads[x] = grads[x] + gx
                        continue
                    grads[x] = gx
                    if x.creator is not None and x.creator not in added:
                        added.add(x.creator)
                        waiting.setdefault(x.creator.generation, []).append(x.creator)

        for x, g in grads.items():  # only the leaves are left
            give(x, g)


def _checked_data(where, data):
    """``data`` as a Variable holds it: None, or a plain NumPy array of numbers (a
    subclass such as ``np.matrix``, whose ``*`` is a matrix product, is viewed as a
    plain array; a masked array, whose mask would be lost, is refused).  TypeError
    naming ``where`` for anything else."""
    if data is None:
        return data
    if isinstance(data, np.ma.MaskedArray):
        raise TypeError(
            f'{where}: got a masked array, whose mask would be lost; pass a.filled(value)'
        )
    if isinstance(data, np.ndarray):
        data = np.asarray(data)
    if not isinstance(data, np.ndarray):
        raise TypeError(
            f'{where}: data must be a NumPy array or None, got '
            f'{type(data).__name__} ({data!r:.60}); wrap it with np.array(...)'
        )
    if data.dtype.kind not in 'biufc':
        raise TypeError(
            f'{where}: data must hold numbers (bool, integer, floating point or '
            f'complex), got dtype {data.dtype}'
        )
    return data


def _about(v):
    """How errors name the Variable ``v``: its name, if any, its shape and dtype."""
    what = 'no data' if v.data is None else f'shape {v.shape}, {v.dtype}'
    return f'{v.name!r} ({what})' if v.name else f'({what})'


def _check_can_backprop(y):
    """Refuse ``y.backward()`` when no gradient can be computed from ``y``."""
    if y.data is None:
        raise ValueError('backward: this Variable holds no data (None)')
    if y.dtype.kind in 'bc':
        why = (
            'bool data has no derivative'
            if y.dtype.kind == 'b'
            else 'its derivatives follow real calculus, which is wrong for complex numbers'
        )
        raise TypeError(
            f'backward: this Variable {_about(y)} holds {y.dtype} data, which the simple '
            f'core cannot differentiate ({why}); compute with floating point data, '
            f'e.g. x.astype(np.float64)'
        )
    if y._computed_under_no_grad:
        raise RuntimeError(
            f'backward: this Variable {_about(y)} was computed under no_grad(), so no '
            f'graph leads back from it; compute it with backprop enabled'
        )
    if not y.requires_grad:
        raise RuntimeError(
            f'backward: this Variable {_about(y)} does not require a gradient: it was '
            f'computed from constants only (arrays, numbers, bool data), so no graph '
            f'leads back from it; compute it from Variables'
        )


def _seed(y):
    """The gradient a backward pass from ``y`` starts with, an array of its own:
    ``y.grad`` if set, checked, copied and cast to y's dtype (if floating point), else
    ones of y's shape and dtype (float64 for integer data)."""
    given = y.grad
    if given is None:
        return np.ones(y.shape, _gradient_dtype(y))
    if not isinstance(given, np.ndarray):
        raise TypeError(
            f'backward: the gradient set in .grad to start from is a '
            f'{type(given).__name__}; expected an array of shape {y.shape}'
        )
    if given.shape != y.shape:
        raise ValueError(
            f'backward: the gradient set in .grad has shape {given.shape}, but this '
            f'Variable {_about(y)} needs one of its own shape; set .grad to an array '
            f'of shape {y.shape}, or to None to start from ones'
        )
    if given.dtype.kind != 'f':
        raise TypeError(
            f'backward: the gradient set in .grad is {given.dtype}; a gradient must be '
            f'real floating point (this Variable is {_about(y)})'
        )
    return given.astype(y.dtype if y.dtype.kind == 'f' else given.dtype)  # (a copy)


def _gradient_dtype(v):
    """The dtype of v's gradients: v's own if floating point, else float64."""
    return v.dtype if v.dtype.kind == 'f' else np.float64


def _check_unchanged(f):
    """Refuse to run ``f.backward`` when the data of an input or an output of ``f`` was
    assigned after ``f``'s forward pass: the gradient would come from the new values."""
    for i, (x, version) in enumerate(zip(f.inputs, f._input_versions)):
        if x._version != version:
            _refuse_changed(f, x, f'input {i}')
    for i, ref in enumerate(f.outputs):
        y = ref()
        if y is not None and y._version != 0:  # outputs are made at version 0
            _refuse_changed(f, y, f'output {i}')


def _refuse_changed(f, v, which):
    raise RuntimeError(
        f'backward: the data of the variable {_about(v)}, {which} of '
        f'{type(f).__name__}, was assigned (v.data = ..., v.data -= ...) after the '
        f'forward pass used it, so its gradient would be computed from the new values; '
        f'run the forward pass again after changing data, or update after backward()'
    )


def _checked_gradient(f, x, gx):
    """The gradient ``gx`` that ``f.backward`` returned for its input ``x``, as an
    array; an error naming ``f`` unless it is a floating-point array of x's shape."""
    gx = as_array(gx)
    if not isinstance(gx, np.ndarray) or gx.shape != x.shape:
        what = (
            f'a gradient of shape {gx.shape}'
            if isinstance(gx, np.ndarray)
            else f'an object of type {type(gx).__name__}'
        )
        raise ValueError(
            f'{type(f).__name__}.backward returned {what} as the gradient of an input '
            f'of shape {x.shape}; expected an array of that shape'
        )
    if gx.dtype.kind != 'f':
        raise TypeError(
            f'{type(f).__name__}.backward returned a gradient of dtype {gx.dtype} for '
            f'the variable {_about(x)}; gradients must be real floating point'
        )
    return gx


def _check_addable(x, g):
    """Refuse to add the new gradient ``g`` to ``x.grad`` unless that is an array of
    g's shape."""
    old = x.grad
    if not isinstance(old, np.ndarray) or old.shape != g.shape:
        what = (
            f'of shape {old.shape}'
            if isinstance(old, np.ndarray)
            else f'set to a {type(old).__name__}'
        )
        raise ValueError(
            f'backward: the variable {_about(x)} has .grad {what}, which its new '
            f'gradient of shape {g.shape} cannot be added to; call cleargrad() first'
        )


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

    Subclasses define ``forward(*arrays)`` (arrays in, an array of numbers or a tuple
    of them out) and ``backward(*grads)``: in, one array per output (None for an output
    freed unused); out, one floating-point array per input, shaped like that input (or
    None: no gradient).  Anything else they return is refused, naming the function.
    Calling the function on Variables, arrays or numbers returns a Variable, or a list
    of them when ``forward`` returns several arrays.  The arrays and numbers are
    constants: no gradient flows into them, and a result computed from constants only
    is not recorded.  A function object called a second time runs on a copy of itself,
    so that each call keeps its own inputs for backward.
    """

    inputs = None
    _input_versions = None  # the versions of the inputs' data when forward read it
    outputs = None
    generation = 0

    def __call__(self, *inputs):
        f = self if self.inputs is None else copy.copy(self)
        inputs = [x if isinstance(x, Variable) else _constant(x) for x in inputs]
        ys = f.forward(*[x.data for x in inputs])
        if not isinstance(ys, tuple):
            ys = (ys,)
        outputs = [Variable(_output_array(f, y)) for y in ys]
        if not Config.enable_backprop:
            for y in outputs:  # leaves of any graph that uses them later
                y._computed_under_no_grad = True
        elif not any(x.requires_grad for x in inputs):
            for y in outputs:  # from constants only: no gradient can flow back
                y.requires_grad = False
        else:
            f.generation = max([x.generation for x in inputs], default=0)
            for y in outputs:
                y.set_creator(f)
            f.inputs = inputs
            f._input_versions = [x._version for x in inputs]  # see _check_unchanged
            f.outputs = [weakref.ref(y) for y in outputs]  # outputs keep f, not back
        return outputs if len(outputs) > 1 else outputs[0]

    def forward(self, *xs):
        """Compute the output array(s) from the input arrays ``xs``; every subclass
        defines it."""
        raise NotImplementedError(f'{type(self).__name__} does not define forward()')

    def backward(self, *gys):
        """Given the gradient of each output (arrays), return the gradient of each
        input; every subclass defines it."""
        raise NotImplementedError(f'{type(self).__name__} does not define backward()')


def _constant(value):
    """An array or a number given to a function, as a Variable that no gradient flows
    into (the caller cannot see it)."""
    v = as_variable(value)
    v.requires_grad = False
    return v


def _output_array(f, y):
    """What ``f.forward`` returned, as an array (a number becomes a 0-d array);
    TypeError naming ``f`` for anything that is not numbers."""
    y = as_array(y)
    if not isinstance(y, np.ndarray) or y.dtype.kind not in 'biufc':
        raise TypeError(
            f'{type(f).__name__}.forward returned {type(y).__name__} {y!r:.40}; '
            f'expected an array of numbers (or a tuple of them)'
        )
    return y


# --------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------
def _operand(c, x, op):
    """The other operand ``c`` of the Variable ``x`` in ``x op c`` or ``c op x``, as the
    Function takes it.  A Variable or an array of numbers passes as it is.  A number
    takes the dtype of its result with x's data (see :func:`_number`), and so do a
    NumPy scalar, a 0-d array of floats, and a 0-d array of integers or bools beside
    floating-point or complex data, which count as the number they hold:
    ``float32_variable * np.array(2.0)`` stays float32, while ``int8_variable *
    np.array(300)`` is promoted as NumPy promotes arrays.  A number dividing integer
    data, or divided by it, is a float64 one: so is their quotient.  Errors name the
    operator ``op``."""
    where = f'unsupported operand for {op}'
    data = x.data if isinstance(x, Variable) else as_array(x)
    dtype = getattr(data, 'dtype', None)  # None if x holds no data
    if isinstance(c, np.ndarray) and c.ndim == 0 and dtype is not None:
        if c.dtype.kind == 'f' or (c.dtype.kind in 'biu' and dtype.kind in 'fc'):
            c = c[()]
    if isinstance(c, np.generic):
        c = c.item()
    if isinstance(c, (int, float, complex)):
        if dtype is None:
            return np.asarray(c)
        if op == '/' and dtype.kind in 'biu' and not isinstance(c, complex):
            if isinstance(c, int) and not _holds_as_float(c):
                raise _unfit(
                    where,
                    c,
                    dtype,
                    'it is beyond float64, the dtype of the quotient; use a smaller number',
                )
            dtype = np.dtype(np.float64)  # integers divided give float64, as in NumPy
        return _number(c, dtype, where)
    if isinstance(c, Variable) or (isinstance(c, np.ndarray) and c.dtype.kind in 'biufc'):
        return c
    got = (
        f'an array of dtype {c.dtype}'
        if isinstance(c, np.ndarray)
        else f'an object of type {type(c).__name__}'
    )
    raise TypeError(
        f'{where}: a Variable and {got}; expected a Variable, an array of numbers or a '
        f'number (wrap lists with np.array(...))'
    )


#: what the errors of :func:`_number` say of a number beyond a dtype's range
_OUT_OF_RANGE = 'it is out of its range; use a smaller number'


def _number(number, dtype, where):
    """The Python ``number`` beside data of ``dtype``, as a NumPy number or 0-d array of
    the dtype of their result, the number taking no part in choosing it, as NumPy
    computes (``float32_variable * 2.0`` stays float32, ``int_variable * 0.5`` is
    float64).  OverflowError naming ``where`` when that dtype cannot hold the number:
    an integer out of its range, a finite number that would become infinite, or one
    other than 0 that would become 0 (1e5 and 1e-8 in float16).  Infinities and NaN
    stay what they are."""
    if dtype.kind == 'f' and not isinstance(number, complex):  # the result has dtype
        if _every_float_holds(number):
            return dtype.type(number)
        try:
            with np.errstate(over='ignore'):
                value = dtype.type(number)
        except OverflowError:  # an integer beyond any float: 10**400
            value = None
        if value is None or (np.isinf(value) and abs(number) != float('inf')):
            raise _unfit(where, number, dtype, _OUT_OF_RANGE)
        if not value:
            raise _unfit(where, number, dtype, 'it would become 0; use a larger number')
        return value
    try:
        return np.array(number, np.result_type(dtype, number))
    except OverflowError:  # an integer out of the range of integer data
        raise _unfit(where, number, dtype, _OUT_OF_RANGE) from None


def _holds_as_float(number):
    """Whether the Python int ``number`` has a float64 value (it is not beyond the
    largest float, rounded)."""
    try:
        float(number)
    except OverflowError:
        return False
    return True


def _every_float_holds(number):
    """Whether the real ``number`` is one that no floating dtype makes infinite or 0:
    0, or a magnitude from 1e-4 to 65504 (float16's largest)."""
    return number == 0 or 1e-4 <= abs(number) <= 65504.0


def _unfit(where, number, dtype, why):
    """The OverflowError for a ``number`` that the ``dtype`` of a Variable's data cannot
    hold, starting with ``where``, ``why`` saying what would become of it."""
    text = repr(number)
    if len(text) > 20:  # (an integer of hundreds of digits)
        text = f'{text[:8]}...({len(text)} digits)'
    return OverflowError(
        f'{where}: the number {text} does not fit the dtype {dtype} of the Variable: '
        f'{why}, or give the Variable data of a dtype that holds it'
    )


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
    return Add()(x0, _operand(x1, x0, '+'))


class Mul(Function):
    """y = x0 * x1.  Derivative: gy * x1 to x0, gy * x0 to x1."""

    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return _sum_to(gy * x1, x0.shape), _sum_to(gy * x0, x1.shape)


def mul(x0, x1):
    """x0 * x1, recorded as :class:`Mul`."""
    return Mul()(x0, _operand(x1, x0, '*'))


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
    return Sub()(x0, _operand(x1, x0, '-'))


def rsub(x0, x1):
    """x1 - x0 (the reflected ``-`` of ``2 - x``), recorded as :class:`Sub`."""
    return Sub()(_operand(x1, x0, '-'), x0)


class Div(Function):
    """y = x0 / x1.  Derivative: gy / x1 to x0, -gy * x0 / x1² to x1."""

    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return _sum_to(gy / x1, x0.shape), _sum_to(gy * (-x0 / x1**2), x1.shape)


def div(x0, x1):
    """x0 / x1, recorded as :class:`Div`."""
    return Div()(x0, _operand(x1, x0, '/'))


def rdiv(x0, x1):
    """x1 / x0 (the reflected ``/`` of ``2 / x``), recorded as :class:`Div`."""
    return Div()(_operand(x1, x0, '/'), x0)


class Pow(Function):
    """y = x ** c for a constant number c.  Derivative: gy * c * x^(c-1) (0 for c = 0)."""

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
        c = self.c
        if x.dtype.kind == 'f' and not _every_float_holds(c):
            _number(c, x.dtype, 'Pow')  # refused if x's dtype cannot hold c
        try:
            return x**c
        except ValueError:  # NumPy refuses integers to negative integer powers
            raise ValueError(
                f'Pow: {x.dtype} data to the negative integer power {c}, which has no '
                f'integer result; use a float exponent ({float(c)}) or float data'
            ) from None

    def backward(self, gy):
        c = self.c
        if c == 0:  # x ** 0 is 1 for every x (c * x ** -1 would be nan at 0)
            return np.zeros_like(gy)
        x = self.inputs[0].data
        if x.dtype.kind != 'f':  # integers to an integer power wrap round (int8 100 ** 2)
            x = x.astype(np.float64)
        return c * x ** (c - 1) * gy


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

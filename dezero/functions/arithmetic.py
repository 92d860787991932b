"""The arithmetic behind the operators ``+ - * / **`` and unary ``-``.

Binary operations broadcast like NumPy; in backward each input's gradient is summed back
to that input's own shape.  The functions of Variables with numbers (``x * 2.0``) keep
the number inside the function, so that only x is an input.
"""

import math
import weakref

import numpy as np

from dezero import cuda
from dezero.array_ops import FLOAT16_MAX, array_of, float_number, number_overflow, short_number
from dezero.core import Function, Variable, _StandIn, as_variable, kept_for_backward, plain_array
from dezero.functions.array import astype, sum_to
from dezero.functions.math import log


def _sum_to(g, shape):
    """The gradient ``g`` summed down to ``shape`` (None stays None)."""
    if g is None or g.shape == shape:
        return g
    return sum_to(g, shape)


def _unbroadcast(gx0, gx1, x0_shape, x1_shape):
    """Sum the two gradients of a broadcasting binary function back to the input
    shapes."""
    if x0_shape != x1_shape:
        gx0 = _sum_to(gx0, x0_shape)
        gx1 = _sum_to(gx1, x1_shape)
    return gx0, gx1


class Add(Function):
    """y = x0 + x1. Derivative: gy to both inputs."""

    elementwise = True

    retain_inputs = ()
    retain_outputs = ()

    def forward(self, x0, x1):
        self.x0_shape, self.x1_shape = x0.shape, x1.shape
        return x0 + x1

    def backward(self, gy):
        return _unbroadcast(gy, gy, self.x0_shape, self.x1_shape)


class Sub(Function):
    """y = x0 - x1. Derivative: gy to x0, -gy to x1."""

    elementwise = True

    retain_inputs = ()
    retain_outputs = ()

    def forward(self, x0, x1):
        self.x0_shape, self.x1_shape = x0.shape, x1.shape
        return x0 - x1

    def backward(self, gy, *, needs_input_grad):
        return _unbroadcast(gy, -gy if needs_input_grad[1] else None, self.x0_shape, self.x1_shape)


class Mul(Function):
    """y = x0 * x1. Derivative: gy * x1 to x0, gy * x0 to x1."""

    elementwise = True

    retain_inputs = (0, 1)
    retain_outputs = ()

    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy, *, needs_input_grad):
        x0, x1 = self.retained_inputs()
        return _unbroadcast(
            gy * x1 if needs_input_grad[0] else None,
            gy * x0 if needs_input_grad[1] else None,
            x0.shape,
            x1.shape,
        )


class Div(Function):
    """y = x0 / x1. Derivative: gy / x1 to x0, -gy * x0 / x1**2 to x1."""

    elementwise = True

    retain_inputs = (0, 1)
    retain_outputs = ()

    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy, *, needs_input_grad):
        x0, x1 = self.retained_inputs()
        gx0 = gy / x1
        # (x0 / x1 first: negating integer x0 would wrap around for unsigned types)
        gx1 = -(gx0 * (x0 / x1)) if needs_input_grad[1] else None
        return _unbroadcast(gx0, gx1, x0.shape, x1.shape)


class Neg(Function):
    """y = -x. Derivative: -gy."""

    elementwise = True

    retain_inputs = ()
    retain_outputs = ()

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """y = x ** c for a constant exponent c. Derivative: c * x ** (c - 1) * gy."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x**self.c

    def backward(self, gy):
        c = self.c
        (x,) = self.retained_inputs()
        # Computed from x even where the exponent makes it a constant (as the book's
        # and PyTorch's are), so that the book's loop of ever higher derivatives of a
        # polynomial goes on with zeros rather than stopping at a constant.
        if c == 0:  # 0 (not 0 * x ** -1, which is nan at x = 0); x ** 0 is 1 for every x
            return x**0 * gy * 0
        # a float exponent keeps integer x from integer powers, which overflow
        return (x ** (c - 1.0)) * c * gy


class PowVariable(Function):
    """y = x0 ** x1 with both sides Variables.
    Derivative: gy * x1 * x0 ** (x1 - 1) to x0, gy * y * log(x0) to x1."""

    elementwise = True

    retain_inputs = (0, 1)
    retain_outputs = (0,)

    def forward(self, x0, x1):
        return x0**x1

    def backward(self, gy, *, needs_input_grad):
        x0, x1 = self.retained_inputs()
        (y,) = self.retained_outputs()
        a0, a1 = array_of(x0), array_of(x1)
        gx0 = gx1 = None
        if needs_input_grad[0]:
            # x1 x0 ** (x1 - 1) is 0 where x1 = 0, also at x0 = 0 (not 0 * inf): the
            # exponent is nudged to 0 where both are 0, and only there, so that the
            # derivative of this gradient in x1 stays x0 ** (x1 - 1) (1 + x1 log(x0))
            gx0 = gy * x1 * x0 ** (x1 - 1.0 + ((a0 == 0) & (a1 == 0)))
        if needs_input_grad[1]:
            # y log(x0) is 0 where x0 = 0 and x1 >= 0 (y is 0 or 1): log(1) is taken there
            gx1 = gy * y * log(x0 + ((a0 == 0) & (a1 >= 0)))
        return _unbroadcast(gx0, gx1, x0.shape, x1.shape)


# ---- one Variable and a constant --------------------------------------------------------
# ``x * 2.0`` or ``x + np.ones(3)`` record the constant inside the function instead of as
# a second input, so backward computes one gradient, not two (one of them thrown away).
class _ConstantOp(Function):
    """Base of ``x op c`` with a constant array ``c`` (broadcasting); the gradient is
    summed back to x's shape (saved by ``forward``) when broadcasting widened it.

    Where backward reads c (``reads_c``), a recorded call keeps a copy of an array c,
    so that the caller changing theirs afterwards does not change the gradient.  Where
    it does not, the operator lets go of an array c after its call (see
    :class:`_LetsGoOfC`)."""

    elementwise = True

    retain_inputs = ()
    retain_outputs = ()
    reads_c = False

    def __init__(self, c):
        if self.reads_c and not isinstance(c, np.generic):  # (the usual c, a scalar, as is)
            c = kept_for_backward(c)
        self.c = c

    def _to_input_shape(self, gx):
        """``gx`` summed down to the shape of x."""
        return _sum_to(gx, self.x_shape)


class _LetsGoOfC:
    """For a function of a Variable and a constant whose backward does not read the
    constant: the operator that makes it for one call (``x + c``) lets go of an array
    c with dimensions after that call (:meth:`let_go_of_c`), so that the graph does not
    keep it alive; an object made by hand keeps its c, to be called again.  ``c``
    reads the array while the caller holds it (for pictures of the graph and
    detect_anomaly) and raises AttributeError once it is gone (``c_is_gone``;
    ``c_shape_dtype`` still tells its shape and dtype).  ``_c`` is the array itself
    or, once let go, a weak reference to it."""

    def __init__(self, c):
        self._c = c

    @property
    def c(self):
        """The constant operand; AttributeError once it is an array that was let go of
        and that its caller has dropped (``c_is_gone``): its values are gone."""
        c = self._c
        if type(c) is not weakref.ref:
            return c
        held = c()
        if held is None:
            raise AttributeError(
                f'{type(self).__name__}: its constant, an array of shape '
                f'{self._c_like[0]} and dtype {self._c_like[1]}, is gone: the graph let go '
                f'of it (its backward does not read it) and its caller dropped it'
            )
        return held

    @property
    def c_shape_dtype(self):
        """``(shape, dtype)`` of the constant operand as an array, also once it is gone."""
        c = self._c
        if type(c) is weakref.ref:
            return self._c_like
        c = np.asarray(c) if not cuda.is_array(c) else c
        return c.shape, c.dtype

    def __setstate__(self, state):
        """Restore a pickled function; one pickled while its constant was kept under
        the name ``c`` (before :class:`_LetsGoOfC`) holds it again as ``_c``."""
        if 'c' in state:
            state = dict(state)
            state['_c'] = state.pop('c')
        self.__dict__.update(state)

    @property
    def c_is_gone(self):
        """Whether the array c was let go of and its caller has dropped it since."""
        c = self._c
        return type(c) is weakref.ref and c() is None

    def let_go_of_c(self):
        """Hold an array c with dimensions only weakly from now on (numbers and 0-d
        arrays stay): called by the operator that made this function for one call."""
        c = self._c
        if type(c) is weakref.ref or not getattr(c, 'ndim', 0):
            return
        try:
            ref = weakref.ref(c)
        except TypeError:  # an array type without weak references: kept
            return
        self._c_like = (c.shape, c.dtype)
        self._c = ref

    def __copy__(self):
        """A copy in no graph (see Function.__copy__) holding c again, for a later call
        of this object, which runs on one (see :meth:`_holding_c`)."""
        copied = super().__copy__()
        self._holding_c(copied.__dict__)
        return copied

    def __getstate__(self):
        """What deep copies and pickles keep (see Function.__getstate__), holding c
        again (see :meth:`_holding_c`)."""
        return self._holding_c(super().__getstate__())

    def _holding_c(self, attributes):
        """The ``attributes`` of a copy of this function, changed to hold c again where
        forward let go of it; RuntimeError if the caller's array is gone, as the copy
        could not compute."""
        attributes.pop('_c_like', None)
        ref = attributes.get('_c')
        if type(ref) is weakref.ref:
            c = ref()
            if c is None:
                raise RuntimeError(
                    f'{type(self).__name__}: cannot copy or call again a function whose '
                    f'constant array is gone (its backward does not read it, so the graph '
                    f'let go of it); compute the operation anew'
                )
            attributes['_c'] = c
        return attributes


class AddConstant(_LetsGoOfC, _ConstantOp):
    """y = x + c. Derivative: gy."""

    def forward(self, x):
        self.x_shape = x.shape
        return x + self._c  # (the array itself: a call after let_go_of_c runs on a copy)

    def backward(self, gy):
        return self._to_input_shape(gy)


class SubConstant(_LetsGoOfC, _ConstantOp):
    """y = x - c. Derivative: gy."""

    def forward(self, x):
        self.x_shape = x.shape
        return x - self._c

    def backward(self, gy):
        return self._to_input_shape(gy)


class SubFromConstant(_LetsGoOfC, _ConstantOp):
    """y = c - x. Derivative: -gy."""

    def forward(self, x):
        self.x_shape = x.shape
        return self._c - x

    def backward(self, gy):
        return self._to_input_shape(-gy)


class MulConstant(_ConstantOp):
    """y = x * c. Derivative: gy * c."""

    reads_c = True

    def forward(self, x):
        self.x_shape = x.shape
        return x * self.c

    def backward(self, gy):
        return self._to_input_shape(gy * self.c)


class DivConstant(_ConstantOp):
    """y = x / c. Derivative: gy / c."""

    reads_c = True

    def forward(self, x):
        self.x_shape = x.shape
        return x / self.c

    def backward(self, gy):
        return self._to_input_shape(gy / self.c)


class DivFromConstant(_ConstantOp):
    """y = c / x. Derivative: -gy * c / x**2."""

    reads_c = True

    retain_inputs = (0,)

    def forward(self, x):
        self.x_shape = x.shape
        return self.c / x

    # (gy / x) * (-c / x), as Div computes it: the second factor is minus forward's
    # result, in range wherever that is, so that neither x * x (for |x| beyond the
    # square root of the largest float) nor gy / x / x (for c and x both tiny, as in
    # 1e-30 / x at x = 1e-30) overflows on the way to a finite gradient.  c is negated
    # in the gradient's dtype: -c would wrap around for an unsigned integer c
    def backward(self, gy):
        (x,) = self.retained_inputs()
        c = self.c
        minus_c = -(c.astype(gy.dtype, copy=False) if hasattr(c, 'astype') else c)
        return self._to_input_shape((gy / x) * (minus_c / x))


class PowFromConstant(_ConstantOp):
    """y = c ** x. Derivative: gy * y * log(c)."""

    reads_c = True

    retain_outputs = (0,)

    def forward(self, x):
        self.x_shape = x.shape
        return self.c**x

    def backward(self, gy):
        (y,) = self.retained_outputs()
        xp = cuda.get_array_module(self.c)
        # 0 ** x is 0 for every x > 0: its derivative is 0 there, not 0 * log(0) = nan;
        # the logarithm is taken in the gradient's dtype (NumPy's is float16 for uint8)
        log_c = xp.log(xp.where(self.c == 0, 1, self.c).astype(gy.dtype, copy=False))
        return self._to_input_shape(gy * y * log_c)


def _variables(x0, x1):
    """The operands of a binary function, x0 made a Variable unless x1 is one: the
    operator of the Variable then treats a number as a constant of its dtype, so that
    ``add(float32_variable, 2.5)`` stays float32, as ``float32_variable + 2.5`` does.
    Made so, x0 is a constant, as the arrays a function wraps are: a result of
    constants only has no gradient to compute."""
    if not isinstance(x0, Variable) and not isinstance(x1, Variable):
        x0 = as_variable(x0)
        x0.requires_grad = False  # a constant: no one can ask for its gradient
    return x0, x1


def add(x0, x1):
    """x0 + x1, broadcasting. Derivative: gy to both, summed to each input's shape."""
    x0, x1 = _variables(x0, x1)
    return x0 + x1


def sub(x0, x1):
    """x0 - x1, broadcasting. Derivative: gy and -gy, summed to each input's shape."""
    x0, x1 = _variables(x0, x1)
    return x0 - x1


def mul(x0, x1):
    """x0 * x1, broadcasting. Derivative: gy * x1 and gy * x0."""
    x0, x1 = _variables(x0, x1)
    return x0 * x1


def div(x0, x1):
    """x0 / x1, broadcasting. Derivative: gy / x1 and -gy * x0 / x1**2."""
    x0, x1 = _variables(x0, x1)
    return x0 / x1


def rsub(x0, x1):
    """x1 - x0 (the subtraction with its operands swapped, as ``x1 - x0`` computes it
    when only x0 is a Variable): x1 may be a Variable, an array or a scalar, and a
    Python scalar takes x0's dtype.  Derivative: -gy to x0 (and gy to a Variable x1)."""
    return x1 - as_variable(x0)


def rdiv(x0, x1):
    """x1 / x0 (the division with its operands swapped, as ``x1 / x0`` computes it when
    only x0 is a Variable): x1 may be a Variable, an array or a scalar, and a Python
    scalar takes x0's dtype.  Derivative: -gy * x1 / x0**2 to x0 (and gy / x0 to a
    Variable x1)."""
    return x1 / as_variable(x0)


def neg(x):
    """-x. Derivative: -gy."""
    return Neg()(x)


def pow(x, c):
    """x ** c, elementwise. With a constant c the derivative is c * x ** (c - 1);
    with a Variable c it is also differentiated in c: x ** c * log(x).

    A NumPy scalar exponent counts as a Python number, so that ``float32 ** np.float64(2)``
    stays float32, and so does a 0-d array where it counts as one (see
    :func:`counts_as_scalar`).  A number x is a constant, as in the other functions:
    ``pow(1.5, 2)`` is a float64 Variable; with a Variable c, an x that is not a
    Variable is taken as ``x ** c`` takes it (a number then has c's dtype).  A 0-d
    Variable (or number x) beside floating data with dimensions takes that dtype, as in
    the other functions (see :func:`zero_d_cast_to`).  Errors start with ``pow``."""
    if not isinstance(c, (Variable, int, float, np.generic) + cuda.array_types):
        raise TypeError(
            f'pow: unsupported exponent of type {type(c).__name__}; expected an int or a '
            f'float, a NumPy scalar or array, or a Variable'
        )
    if isinstance(c, Variable):
        if not isinstance(x, Variable):  # a constant base, as ``x ** c`` takes it
            x = constant_operand(x, c, 'pow')
            if x.ndim and c._data is not None:  # an array, whose dtype a 0-d c may take
                c = zero_d_cast_to(c, x.dtype)
            return PowFromConstant(x)(c)
        a0, a1 = x._data, c._data
        if a0 is not None and a1 is not None and a0.dtype is not a1.dtype:
            x, c = zero_d_cast(x, c)
        return PowVariable()(x, c)
    if cuda.is_gpu_array(c):  # a CuPy exponent: a constant input, 0-d ones too
        data = array_of(x)
        if c.ndim == 0 and counts_as_scalar(c, data) and getattr(data, 'dtype', None) is not None:
            if data.dtype.kind == 'f':  # as a number: cast on the device (see zero_d_cast_to)
                c = c.astype(data.dtype)
        if not isinstance(x, Variable):
            x = as_variable(x, 'pow')
            x.requires_grad = False
        if c.ndim and x._data is not None:
            x = zero_d_cast_to(x, c.dtype)
        return PowVariable()(x, c)
    if isinstance(c, np.ndarray) and c.ndim > 0:  # a constant input: no gradient, copied
        if not isinstance(x, Variable):  # a constant, as the other functions make it
            x = as_variable(x, 'pow')
            x.requires_grad = False
        if x._data is not None:
            x = zero_d_cast_to(x, c.dtype)
        return PowVariable()(x, c)
    data = array_of(x)
    if isinstance(data, (int, float)):  # the 0-d array the Function makes of it
        data = np.asarray(data)
    if type(c) is np.ndarray and counts_as_scalar(c, data):  # (0-d)
        c = c[()]
    number = c.item() if isinstance(c, np.generic) else c
    # refused if x's dtype cannot hold c (see float_number); a list, which has no
    # dtype, is refused by the Function, as the other functions refuse it
    if not isinstance(number, complex) and getattr(data, 'dtype', None) is not None:
        if data.dtype.kind == 'f':
            try:
                float_number(number, data.dtype, 'pow', 'x')
            except OverflowError as error:
                if c is number:  # a Python number: said rightly already
                    raise
                raise _numpy_number_refused(error, c, data.dtype, 'pow', 'x') from None
    return Pow(number)(x)


# ---- operands of different dtypes -------------------------------------------------------
def counts_as_scalar(array, other):
    """Whether the 0-d NumPy (or CuPy) ``array``, an operand beside the array ``other`` (None, or
    anything without a dtype, when there is none), counts as the scalar it holds, as a
    0-d tensor does in PyTorch: a float array always (``float32_variable *
    np.array(2.0)`` stays float32), an integer or bool array beside floating-point or
    complex data, whose dtype it then leaves alone (``float32_variable * np.array(2)``
    stays float32).  Beside integer data it stays an array, promoted as NumPy promotes
    it (``uint8_variable * np.array(300)`` holds 300, not a refused overflow)."""
    kind = array.dtype.kind
    if kind == 'f':
        return True
    dtype = getattr(other, 'dtype', None)
    return kind in 'biu' and dtype is not None and dtype.kind in 'fc'


def zero_d_cast(x0, x1):
    """The Variables ``x0`` and ``x1``, operands of dtypes that may differ, as a binary
    function takes them: where one is 0-d and the other, with dimensions, is floating
    point, the 0-d one is cast to that dtype (see :func:`zero_d_cast_to`).  Other pairs
    are left to NumPy's promotion."""
    a0, a1 = x0._data, x1._data
    if a1.ndim:
        return zero_d_cast_to(x0, a1.dtype), x1
    if a0.ndim:
        return x0, zero_d_cast_to(x1, a0.dtype)
    return x0, x1


def zero_d_cast_to(x, dtype):
    """The Variable ``x``, holding data, as an operand beside a Variable or an array
    of ``dtype`` with dimensions: cast to ``dtype`` where x is 0-d and holds floats or
    integers of another dtype, ``dtype`` is floating point and holds x's value, as a
    0-d tensor is in PyTorch (a float64 scalar Parameter leaves float32 data float32);
    else x itself.  The cast is a function of the graph: x's gradient comes back in x's
    own dtype (float64 for integers).  A value that ``dtype`` cannot hold, one that
    would become infinite or one other than 0 that would become 0 (1e300 or 1e-50
    beside float32, 1e-8 beside float16), is not cast: NumPy's promotion then computes
    in the wider dtype.  On a GPU the value is not read (reading it would wait for the
    device at every such operation): x is cast, as PyTorch casts."""
    data = x._data
    own = data.dtype
    if data.ndim or own == dtype or dtype.kind != 'f' or own.kind not in 'iuf':
        return x
    if type(data) is np.ndarray and not _holds(dtype, data.item()):
        return x
    return astype(x, dtype)


def _holds(dtype, number):
    """Whether the floating ``dtype`` holds the Python ``number``: a finite number stays
    finite and a number other than 0 stays other than 0 (a subnormal result holds)."""
    try:
        with np.errstate(over='ignore'):
            value = dtype.type(number)
    except OverflowError:  # an int beyond any float: 10**400
        return False
    return bool(value or not number) and (not math.isinf(value) or math.isinf(number))


# ---- a constant beside a Variable -------------------------------------------------------
#: how the errors of a number that does not fit a Variable's dtype name that Variable
_HOLDER = 'the Variable it is combined with'


def number_operand(number, like, where, true_division=False):
    """The Python int or float ``number``, the other operand of the Variable ``like``,
    as the constant of a Function: beside floating-point data a NumPy scalar of that
    dtype (``float32_variable * 2.0`` stays float32), else a 0-d array of the dtype the
    result would have if the number were weakly typed (``int_variable * 0.5`` is
    float).  OverflowError, starting with ``where``, if that dtype cannot hold it (see
    :func:`~dezero.array_ops.float_number`).  With ``true_division`` (the operand of
    ``/``) a number beside integer or bool data is taken as float64, the dtype of the
    quotient, so that ``int8_variable / 300`` is a float64 quotient, as in NumPy, not
    a number refused for not fitting int8."""
    data = like._data
    if true_division and data is not None and data.dtype.kind in 'biu':
        try:
            number = float_number(number, np.dtype(np.float64), where, _HOLDER)
        except OverflowError:
            raise OverflowError(
                f'{where}: the number {short_number(number)} is beyond float64, the dtype of '
                f'a quotient of the {data.dtype} Variable, and no dtype holds it; use a '
                f'smaller number'
            ) from None
        return cuda.get_array_module(data).asarray(number)
    if data is not None and data.dtype.kind == 'f':  # a float array and a number
        # a NumPy scalar of that dtype (cheaper than asarray); a number beyond float16's
        # largest, or one made 0, goes to float_number, which refuses it if the dtype
        # cannot hold it
        if -FLOAT16_MAX <= number <= FLOAT16_MAX:
            value = data.dtype.type(number)
            if value or not number:
                return value
        return float_number(number, data.dtype, where, _HOLDER)
    return _weak_number(number, like, where)


def _weak_number(number, like, where):
    """The Python int, float or complex ``number`` as a 0-d array of the dtype the
    result with the Variable ``like`` would have if the number were weakly typed;
    OverflowError starting with ``where`` if that dtype cannot hold it."""
    if like._data is None:  # the Function called next says that it holds no data
        return np.asarray(number)
    xp = cuda.get_array_module(like.data)
    dtype = np.result_type(like.dtype, number)
    if dtype.kind == 'f' and not isinstance(number, complex):
        return xp.asarray(float_number(number, dtype, where, _HOLDER))
    try:
        return xp.asarray(number, dtype=dtype)
    except OverflowError:
        raise number_overflow(where, number, like.dtype, _HOLDER) from None


def _numpy_number_refused(error, scalar, dtype, where, holder):
    """The error to raise for the NumPy scalar ``scalar`` (perhaps what a 0-d array
    held), which was taken as a Python number beside data of ``dtype`` (the words of
    ``holder``) and refused with ``error``.  A number too small is refused as a Python
    number is.  One too large is refused in words of its own: NumPy would compute it
    in the dtype it promotes the two to (float64 for ``float32_data *
    np.float64(1e300)``), which holds it, where dezero takes the number in ``dtype``
    (see :func:`counts_as_scalar`)."""
    number = scalar.item()
    if abs(number) < 1:  # too small, not too large: said rightly already
        return error
    promoted = np.result_type(dtype, scalar.dtype)
    return OverflowError(
        f'{where}: the number {number!r} does not fit the dtype {dtype} of {holder}; a '
        f'NumPy {scalar.dtype} scalar, or a 0-d array that counts as one, is taken as a '
        f'Python number, in {dtype}, where NumPy would promote the two to {promoted}; '
        f'use a smaller number, or convert {holder} to {promoted}'
    )


def constant_operand(other, like, where, true_division=False):
    """``other``, the other operand of the Variable ``like`` in a binary function, ready
    for a Function.

    Variables and arrays pass unchanged, except a 0-d NumPy array that counts as the
    scalar it holds (see :func:`counts_as_scalar`).  A Python or NumPy scalar is taken
    as :func:`number_operand` takes it (``true_division`` is passed on).  Errors
    start with ``where`` (``pow``, or ``unsupported operand for +``)."""
    if isinstance(other, Variable):
        return other
    if isinstance(other, cuda.array_types):
        if other.dtype.kind not in 'biufc':
            raise TypeError(
                f'{where}: a Variable and an array of dtype {other.dtype}; '
                f'expected numbers (bool, integer, floating point or complex)'
            )
        if type(other) is not np.ndarray and isinstance(other, np.ndarray):
            other = plain_array(other, where)
        if other.ndim or not counts_as_scalar(other, like._data):
            return other
        if type(other) is not np.ndarray:  # 0-d on a GPU: cast there, as a number is
            data = like._data
            return (
                other.astype(data.dtype) if data is not None and data.dtype.kind == 'f' else other
            )
        other = other[()]
    if isinstance(other, np.generic):
        value = other.item()
        if isinstance(value, (int, float)):
            try:
                return number_operand(value, like, where, true_division)
            except OverflowError as error:
                raise _numpy_number_refused(error, other, like.dtype, where, _HOLDER) from None
        other = value
    if isinstance(other, (int, float)):
        return number_operand(other, like, where, true_division)
    if isinstance(other, complex):
        return _weak_number(other, like, where)
    if isinstance(other, _StandIn):  # a backward reading what it did not declare
        other._refuse()
    raise TypeError(
        f'{where}: a Variable and an object of type '
        f'{type(other).__name__}; expected a Variable, an array or a scalar '
        f'(wrap lists with np.array(...))'
    )

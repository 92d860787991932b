"""Wires the operators and array methods of Variable to the functions.

:func:`setup_variable` runs once when ``dezero`` is imported; after it, ``x + y``,
``x[1:]``, ``x.reshape(2, 3)``, ``x.sum()`` and friends build graph nodes.
"""

import numpy as np

from dezero import cuda
from dezero.array_ops import FLOAT16_MAX, float_number, number_overflow
from dezero.core import Variable, _StandIn, plain_array
from dezero.functions import arithmetic, array, linalg, reduction
from dezero.functions.arithmetic import counts_as_scalar, zero_d_cast


def _operand(other, like, where):
    """The other side of a binary operator, ready for a Function.

    Variables and arrays pass unchanged, except a 0-d NumPy array that counts as the
    scalar it holds (see :func:`~dezero.functions.arithmetic.counts_as_scalar`). A
    Python or NumPy scalar becomes a NumPy scalar or 0-d array of the dtype the result
    would have if the scalar were weakly typed, so that ``float32_variable * 2.0``
    stays float32 (while ``int_variable * 0.5`` is float); OverflowError if that dtype
    cannot hold it, as infinite (``float16_variable * 1e5``) or as 0
    (``float16_variable / 1e-8``).
    Errors start with ``where`` (``unsupported operand for +``).
    """
    kind = type(other)
    if kind is float or kind is int:
        data = like._data
        if data is not None and data.dtype.kind == 'f':  # a float array and a number
            # a NumPy scalar of that dtype (cheaper than asarray); a number beyond
            # float16's largest, or one made 0, goes to float_number, which refuses
            # it if the dtype cannot hold it
            if -FLOAT16_MAX <= other <= FLOAT16_MAX:
                value = data.dtype.type(other)
                if value or not other:
                    return value
            return float_number(other, data.dtype, where, _HOLDER)
    elif isinstance(other, Variable):
        return other
    elif isinstance(other, cuda.array_types):
        if other.dtype.kind not in 'biufc':
            raise TypeError(
                f'{where}: a Variable and an array of dtype {other.dtype}; '
                f'expected numbers (bool, integer, floating point or complex)'
            )
        if type(other) is not np.ndarray and isinstance(other, np.ndarray):
            other = plain_array(other, where)
        if other.ndim or type(other) is not np.ndarray or not counts_as_scalar(other, like._data):
            return other
        other = other[()]
    if isinstance(other, np.generic):
        other = other.item()
    if isinstance(other, (int, float, complex)):
        if like._data is None:  # the Function called next says that it holds no data
            return np.asarray(other)
        xp = cuda.get_array_module(like.data)
        dtype = np.result_type(like.dtype, other)
        if dtype.kind == 'f' and not isinstance(other, complex):
            return xp.asarray(float_number(other, dtype, where, _HOLDER))
        try:
            return xp.asarray(other, dtype=dtype)
        except OverflowError:
            _too_large(other, like.dtype, where)
    if isinstance(other, _StandIn):  # a backward reading what it did not declare
        other._refuse()
    raise TypeError(
        f'{where}: a Variable and an object of type '
        f'{type(other).__name__}; expected a Variable, an array or a scalar '
        f'(wrap lists with np.array(...))'
    )


# how the errors of a number that does not fit the Variable's dtype start and say "it"
_OPERAND, _HOLDER = 'unsupported operand', 'the Variable it is combined with'


def _too_large(number, dtype, where):
    """Refuse the Python ``number`` as an operand of a Variable of ``dtype``; the
    error starts with ``where``."""
    raise number_overflow(where, number, dtype, _HOLDER) from None


def _operator(variable_function, constant_function, symbol, reflected=False):
    """An operator method. A Variable on the other side makes the Function class
    ``variable_function`` take both as inputs (in reflected order for ``__radd__`` and
    friends; a 0-d one beside floating data with dimensions takes that dtype, see
    :func:`~dezero.functions.arithmetic.zero_d_cast`); a scalar or array becomes the
    constant of ``constant_function``, which then has this Variable as its only
    input.  An operand refused is refused naming the operator ``symbol``."""

    where = f'{_OPERAND} for {symbol}'  # how its errors start

    def method(self, other):
        if type(other) is not Variable:  # a number, an array, a Parameter...
            other = _operand(other, self, where)
            if not isinstance(other, Variable):
                return constant_function(other)(self)
        a0, a1 = self._data, other._data
        # one comparison: operands of one dtype (the same dtype object) go on as they are
        if a0 is not None and a1 is not None and a0.dtype is not a1.dtype:
            self, other = zero_d_cast(self, other, where)
        if reflected:
            return variable_function()(other, self)
        return variable_function()(self, other)

    return method


def _pow(self, other):
    if isinstance(other, (Variable, int, float, np.generic) + cuda.array_types):
        return arithmetic.pow(self, other)
    raise TypeError(
        f'unsupported exponent for **: an object of type {type(other).__name__}; '
        f'expected an int or a float, a NumPy scalar or array, or a Variable'
    )


def _reshape(self, *shape):
    """x.reshape(2, 3), x.reshape((2, 3)) or x.reshape(np.array([2, 3]))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, np.ndarray)):
        shape = shape[0]
    return array.reshape(self, tuple(shape))


def _transpose(self, *axes):
    """x.transpose(), x.transpose(1, 0, 2), x.transpose((1, 0, 2)) or with an array."""
    if not axes:
        axes = None
    elif len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list, np.ndarray))):
        axes = axes[0]
    return array.transpose(self, axes)


def _no_numpy_extras(name, dtype, out, others):
    """Refuse the arguments that ``np.sum(v)`` and friends pass on to ``v.sum`` but
    that a Variable's reduction has no use for (dtype and out are None when not given;
    ``others``: NumPy's where=, initial=...)."""
    if others:
        raise TypeError(
            f'Variable.{name}: {", ".join(f"{k}=" for k in others)} is not supported; '
            f'compute it on the data (np.{name}(v.data, ...)) or with dezero functions'
        )
    if dtype is not None or out is not None:
        what = 'dtype' if dtype is not None else 'out'
        raise TypeError(
            f'Variable.{name}: {what}= is not supported; the result is a new Variable '
            f"of the data's dtype (cast with .astype(...) before or after)"
        )


def _sum(self, axis=None, keepdims=False, *, dtype=None, out=None, **others):
    _no_numpy_extras('sum', dtype, out, others)
    return reduction.sum(self, axis, keepdims)


def _max(self, axis=None, keepdims=False, *, out=None, **others):
    _no_numpy_extras('max', None, out, others)
    return reduction.max(self, axis, keepdims)


def _min(self, axis=None, keepdims=False, *, out=None, **others):
    _no_numpy_extras('min', None, out, others)
    return reduction.min(self, axis, keepdims)


def _matmul(self, other):
    return linalg.matmul(self, other)


def _rmatmul(self, other):
    return linalg.matmul(other, self)


def setup_variable():
    """Attach the operators ``+ - * / ** @``, unary ``-``, indexing and the methods
    ``reshape transpose T sum max min matmul dot astype`` to :class:`Variable` (and
    ``matmaul``, the book's misspelt name for ``matmul``)."""
    a = arithmetic
    Variable.__add__ = _operator(a.Add, a.AddConstant, '+')
    Variable.__radd__ = _operator(a.Add, a.AddConstant, '+', reflected=True)
    Variable.__sub__ = _operator(a.Sub, a.SubConstant, '-')
    Variable.__rsub__ = _operator(a.Sub, a.SubFromConstant, '-', reflected=True)
    Variable.__mul__ = _operator(a.Mul, a.MulConstant, '*')
    Variable.__rmul__ = _operator(a.Mul, a.MulConstant, '*', reflected=True)
    Variable.__truediv__ = _operator(a.Div, a.DivConstant, '/')
    Variable.__rtruediv__ = _operator(a.Div, a.DivFromConstant, '/', reflected=True)
    Variable.__pow__ = _pow
    Variable.__rpow__ = _operator(a.PowVariable, a.PowFromConstant, '**', reflected=True)
    Variable.__neg__ = arithmetic.neg
    Variable.__matmul__ = _matmul
    Variable.__rmatmul__ = _rmatmul
    Variable.__getitem__ = array.get_item
    Variable.reshape = _reshape
    Variable.transpose = _transpose
    Variable.T = property(array.transpose)
    Variable.sum = _sum
    Variable.max = _max
    Variable.min = _min
    Variable.matmul = _matmul
    Variable.matmaul = _matmul  # the book's spelling, which its setup_variable also sets
    Variable.dot = _matmul
    Variable.astype = array.astype

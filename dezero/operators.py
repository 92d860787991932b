"""Wires the operators and array methods of Variable to the functions.

:func:`setup_variable` runs once when ``dezero`` is imported; after it, ``x + y``,
``x[1:]``, ``x.reshape(2, 3)``, ``x.sum()`` and friends build graph nodes.
"""

import numpy as np

from dezero import cuda
from dezero.core import Variable
from dezero.functions import arithmetic, array, linalg, reduction
from dezero.functions.arithmetic import (
    constant_operand,
    number_operand,
    zero_d_cast,
    zero_d_cast_to,
)


def _operator(variable_function, constant_function, symbol, reflected=False):
    """An operator method. A Variable on the other side makes the Function class
    ``variable_function`` take both as inputs (in reflected order for ``__radd__`` and
    friends); a scalar or array becomes the constant of ``constant_function``, which
    then has this Variable as its only input (see
    :func:`~dezero.functions.arithmetic.constant_operand`).  A 0-d Variable beside
    floating data with dimensions, a Variable's or an array's, takes that dtype (see
    :func:`~dezero.functions.arithmetic.zero_d_cast_to`).  An operand refused is refused
    naming the operator ``symbol``."""

    where = f'unsupported operand for {symbol}'  # how its errors start
    divides = symbol == '/'  # integers divided give float64 (see number_operand)

    def method(self, other):
        kind = type(other)
        if kind is not Variable:  # a number, an array, a Parameter...
            if kind is float or kind is int:  # the usual case, first
                return constant_function(number_operand(other, self, where, divides))(self)
            other = constant_operand(other, self, where, divides)
            if not isinstance(other, Variable):
                # an array beside a 0-d self of another dtype, which may take the
                # array's (zero_d_cast_to)
                data = self._data
                if data is not None and not data.ndim and other.ndim:
                    if data.dtype is not other.dtype:
                        self = zero_d_cast_to(self, other.dtype)
                f = constant_function(other)
                y = f(self)
                if not f.reads_c:  # made for this one call: the graph need not keep c
                    f.let_go_of_c()
                return y
        a0, a1 = self._data, other._data
        # one comparison: operands of one dtype (the same dtype object) go on as they are
        if a0 is not None and a1 is not None and a0.dtype is not a1.dtype:
            self, other = zero_d_cast(self, other)
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
        if isinstance(shape, np.ndarray) and shape.ndim == 0:  # one size, as a 0-d array
            shape = (shape,)
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
    """The sum of the elements over ``axis`` (None: all), the summed axes kept as size 1
    with ``keepdims``: :func:`dezero.functions.sum`."""
    _no_numpy_extras('sum', dtype, out, others)
    return reduction.sum(self, axis, keepdims)


def _max(self, axis=None, keepdims=False, *, out=None, **others):
    """The largest element over ``axis`` (None: all), with ``keepdims`` as for sum:
    :func:`dezero.functions.max`."""
    _no_numpy_extras('max', None, out, others)
    return reduction.max(self, axis, keepdims)


def _min(self, axis=None, keepdims=False, *, out=None, **others):
    """The smallest element over ``axis`` (None: all), with ``keepdims`` as for sum:
    :func:`dezero.functions.min`."""
    _no_numpy_extras('min', None, out, others)
    return reduction.min(self, axis, keepdims)


def _matmul(self, other):
    """The matrix product ``self @ other``: :func:`dezero.functions.matmul`."""
    return linalg.matmul(self, other)


def _rmatmul(self, other):
    """The matrix product ``other @ self``."""
    return linalg.matmul(other, self)


def _reversed_axes(self):
    """The Variable with its axes in reverse order, as ``x.transpose()``."""
    return array.transpose(self)


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
    Variable.T = property(_reversed_axes)
    Variable.sum = _sum
    Variable.max = _max
    Variable.min = _min
    Variable.matmul = _matmul
    Variable.matmaul = _matmul  # the book's spelling, which its setup_variable also sets
    Variable.dot = _matmul
    Variable.astype = array.astype

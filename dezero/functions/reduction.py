"""Reductions: sum, mean (average), max, min and logsumexp over axes.

Each gradient is reshaped so that it broadcasts back over the reduced axes.
"""

import math

import numpy as np

from dezero import cuda
from dezero.array_ops import (
    array_of,
    logsumexp as _logsumexp_array,
    mean_beyond_the_sum,
    normalize_axis,
    reshape_sum_backward,
    sum_array,
    wide_sum,
)
from dezero.checks import check_flag
from dezero.core import Function
from dezero.functions.array import as_input, broadcast_to, checked_axes
from dezero.functions.math import exp
from dezero.functions.selection import Where


class Sum(Function):
    """y = sum of x over ``axis``. Derivative: gy broadcast back to x's shape."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = check_flag(type(self).__name__, 'keepdims', keepdims)

    def forward(self, x):
        self.x_shape = x.shape
        normalize_axis(self.axis, x.ndim)  # an error naming the axis, not NumPy's bare one
        return sum_array(x, self.axis, self.keepdims)

    def backward(self, gy):
        gy = reshape_sum_backward(gy, self.x_shape, self.axis, self.keepdims)
        return broadcast_to(gy, self.x_shape)


def sum(x, axis=None, keepdims=False):
    """Sum of the elements of ``x`` over ``axis`` (None: all; int or tuple), keeping
    the summed axes with size 1 when ``keepdims`` (True or False) is True.
    Derivative: gy broadcast back to x's shape."""
    x = as_input(x, 'sum')
    checked_axes('sum', axis, x.shape)
    keepdims = check_flag('sum', 'keepdims', keepdims)
    return Sum(axis, keepdims)(x)


class Mean(Sum):
    """y = sum of x over ``axis`` / n, for the n elements summed into each value of y.
    Derivative: gy / n broadcast back to x's shape."""

    def __init__(self, axis, keepdims, n):
        super().__init__(axis, keepdims)
        self.n = n
        # the mean of nothing is nan, as in NumPy (quietly: 0 * nan raises no flag)
        self.scale = 1.0 / n if n else math.nan

    def forward(self, x):
        self.x_shape = x.shape
        normalize_axis(self.axis, x.ndim)
        # summed as Sum sums (float16 in float32: the sum may exceed float16's range);
        # a sum beyond the range of float32 or float64 is taken again, as one of x / n
        y = wide_sum(x, self.axis, self.keepdims) * self.scale
        y = mean_beyond_the_sum(y, x, self.n, self.axis, self.keepdims)
        # NumPy 1 makes a float32 scalar times a Python float a float64
        return y.astype(x.dtype, copy=False) if x.dtype.kind == 'f' else y

    def backward(self, gy):
        return super().backward(gy * self.scale)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean of ``x`` over ``axis`` (nan over no elements; integers give
    float64), keeping the reduced axes with size 1 when ``keepdims`` (True or False) is
    True.  A float32 or float64 mean of every element (a 0-d result, on the CPU) within
    range is finite even where the sum is not (the mean of two float32 values of 3e38
    is 3e38; PyTorch gives inf); a mean over some axes is the sum divided, inf there.  float16
    is summed in float32.  Derivative: gy / n broadcast back, for the n elements
    averaged."""
    return _mean('mean', x, axis, keepdims)


def average(x, axis=None, keepdims=False):
    """:func:`mean`, under the other name the book's DeZero gives it; errors name
    ``average``."""
    return _mean('average', x, axis, keepdims)


def _mean(name, x, axis, keepdims):
    """:func:`mean` of x, its arguments checked in the name of the function ``name``."""
    x = as_input(x, name)
    axes = checked_axes(name, axis, x.shape)
    keepdims = check_flag(name, 'keepdims', keepdims)
    n = 1
    for a in axes:
        n *= x.shape[a]
    return Mean(axis, keepdims, n)(x)


# ---- max and min -----------------------------------------------------------------------
class Max(Function):
    """y = max of x over ``axis``.  Derivative: gy to the positions holding the
    maximum, shared equally between ties, and exactly 0 elsewhere (a selection, not a
    product with 0, so an infinite or nan gy gives 0 to the others, as PyTorch's max
    does).  In a slice holding NaN the maximum is NaN, and its NaNs are the positions
    holding it (one NaN gets all of gy, as in PyTorch; several share it, as ties do).
    The positions are constant away from ties, so the derivative of every order is gy
    routed the same way (:func:`_extremum_positions`)."""

    retain_inputs = (0,)
    retain_outputs = (0,)

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = check_flag(type(self).__name__, 'keepdims', keepdims)

    def forward(self, x):
        normalize_axis(self.axis, x.ndim)  # an error naming the axis, not NumPy's bare one
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        (y,) = self.retained_outputs()
        x, y = array_of(x), array_of(y)
        at, share = _extremum_positions(x, y, self.axis, self.keepdims)
        gy = reshape_sum_backward(gy, x.shape, self.axis, self.keepdims)
        if share is not None:
            gy = gy * share.astype(gy.dtype)
        zero = cuda.get_array_module(x).zeros((), gy.dtype)
        return Where(at)(gy, zero)


class Min(Max):
    """y = min of x over ``axis``.  Derivative: as :class:`Max`'s, at the positions
    holding the minimum (NaN in a slice holding NaN)."""

    def forward(self, x):
        normalize_axis(self.axis, x.ndim)
        return x.min(axis=self.axis, keepdims=self.keepdims)


def _extremum_positions(x, y, axis, keepdims):
    """Where the array ``x`` holds ``y``, its max or min over ``axis``, and each
    position's share of the gradient: a bool array of x's shape, and None when every
    slice holds its extremum once, else 1 / count for the count in each slice (an
    array of y's shape with the reduced axes kept, float64).  In a slice whose extremum
    is NaN (NumPy's max and min give NaN where a slice holds one) the NaNs hold it."""
    y = reshape_sum_backward(y, x.shape, axis, keepdims)
    xp = cuda.get_array_module(x)
    at = x == y
    if x.dtype.kind == 'f':
        nan = xp.isnan(y)
        if nan.any():
            at |= xp.isnan(x) & nan
    if int(xp.count_nonzero(at)) == y.size:  # one position in each slice: no ties
        return at, None
    return at, 1.0 / at.sum(axis=axis, keepdims=True)


def max(x, axis=None, keepdims=False):
    """Maximum of ``x`` over ``axis`` (NaN for a slice holding NaN), keeping the reduced
    axes with size 1 when ``keepdims`` (True or False) is True.  Derivative: gy at the
    argmax (ties share it; in a slice holding NaN, its NaNs), 0 elsewhere."""
    x = as_input(x, 'max')
    checked_axes('max', axis, x.shape)
    keepdims = check_flag('max', 'keepdims', keepdims)
    return Max(axis, keepdims)(x)


def min(x, axis=None, keepdims=False):
    """Minimum of ``x`` over ``axis`` (NaN for a slice holding NaN), keeping the reduced
    axes with size 1 when ``keepdims`` (True or False) is True.  Derivative: gy at the
    argmin (ties share it; in a slice holding NaN, its NaNs), 0 elsewhere."""
    x = as_input(x, 'min')
    checked_axes('min', axis, x.shape)
    keepdims = check_flag('min', 'keepdims', keepdims)
    return Min(axis, keepdims)(x)


# ---- logsumexp -------------------------------------------------------------------------
class LogSumExp(Function):
    """y = log(sum(exp(x), axis)), computed stably.
    Derivative: gy * softmax(x) = gy * exp(x - y)."""

    retain_inputs = (0,)
    retain_outputs = (0,)

    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = check_flag(type(self).__name__, 'keepdims', keepdims)

    def forward(self, x):
        self.x_shape = x.shape
        y = _logsumexp_array(x, axis=self.axis)
        if not self.keepdims:
            axes = normalize_axis(self.axis, x.ndim)
            y = y.reshape([n for i, n in enumerate(y.shape) if i not in axes])
        return y

    def backward(self, gy):
        (x,) = self.retained_inputs()
        (y,) = self.retained_outputs()
        y = reshape_sum_backward(y, self.x_shape, self.axis, self.keepdims)
        gy = reshape_sum_backward(gy, self.x_shape, self.axis, self.keepdims)
        # quietly, as in PyTorch: where y is infinite x - y is nan (inf - inf) or -inf,
        # and a difference beyond the dtype's range is -inf, whose exp rounds to 0
        with np.errstate(invalid='ignore', over='ignore', under='ignore'):
            return gy * exp(x - y)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, without overflow for large x; as in PyTorch, -inf
    where every x is -inf and inf where one is +inf.  ``keepdims`` (True or False)
    keeps the reduced axes with size 1.
    Derivative: gy * exp(x - y), the softmax of x over the same axes (nan where y is
    infinite and x equals it, as PyTorch gives)."""
    x = as_input(x, 'logsumexp')
    checked_axes('logsumexp', axis, x.shape)
    keepdims = check_flag('logsumexp', 'keepdims', keepdims)
    return LogSumExp(axis, keepdims)(x)

"""Reductions: sum, mean (average), max, min and logsumexp over axes.

Each gradient is reshaped so that it broadcasts back over the reduced axes.
"""
from dezero import cuda
from dezero.array_ops import (logsumexp as _logsumexp_array, normalize_axis,
                              reshape_sum_backward)
from dezero.core import Function, as_variable
from dezero.functions.array import broadcast_to
from dezero.functions.math import exp


def _check_axis(name, axis, ndim):
    try:
        return normalize_axis(axis, ndim)
    except ValueError as e:
        raise ValueError(f'{name}: {e}') from None


class Sum(Function):
    """y = sum of x over ``axis``. Derivative: gy broadcast back to x's shape."""
    needs_input_data = False
    needs_output_data = False

    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        self.x_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        gy = reshape_sum_backward(gy, self.x_shape, self.axis, self.keepdims)
        return broadcast_to(gy, self.x_shape)

    def backward_arrays(self, gy):
        gy = reshape_sum_backward(gy, self.x_shape, self.axis, self.keepdims)
        return cuda.get_array_module(gy).broadcast_to(gy, self.x_shape)


def sum(x, axis=None, keepdims=False):
    """Sum of the elements of ``x`` over ``axis`` (None: all; int or tuple).
    Derivative: gy broadcast back to x's shape."""
    x = as_variable(x)
    _check_axis('sum', axis, x.ndim)
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean of ``x`` over ``axis``. Derivative: gy / n broadcast back."""
    x = as_variable(x)
    axes = _check_axis('mean', axis, x.ndim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    y = sum(x, axis, keepdims)
    return y * (1.0 / n) if n else y


average = mean


class Max(Function):
    """y = max of x over ``axis``. Derivative: gy to the positions holding the maximum
    (shared equally between ties), 0 elsewhere."""
    needs_output_data = False

    def __init__(self, axis=None, keepdims=False):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        return self._reduce(x)

    def _reduce(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        weight = self._weight(gy.dtype)
        gy = reshape_sum_backward(gy, weight.shape, self.axis, self.keepdims)
        return broadcast_to(gy, weight.shape) * weight

    def backward_arrays(self, gy):
        weight = self._weight(gy.dtype)   # a fresh array of x's shape: scaled in place
        weight *= reshape_sum_backward(gy, weight.shape, self.axis, self.keepdims)
        return weight

    def _weight(self, dtype):
        """The share of gy each element of x gets, as an array of ``dtype``: 1 / count
        at the positions holding the extremum (count of them), 0 elsewhere."""
        x = self.inputs[0].data
        y = reshape_sum_backward(self._reduce(x), x.shape, self.axis, self.keepdims)
        mask = (x == y)
        count = mask.sum(axis=self.axis, keepdims=True)
        return (mask / count).astype(dtype, copy=False)


class Min(Max):
    """y = min of x over ``axis``. Derivative: gy to the positions holding the minimum
    (shared equally between ties), 0 elsewhere."""
    needs_output_data = False

    def _reduce(self, x):
        return x.min(axis=self.axis, keepdims=self.keepdims)


def max(x, axis=None, keepdims=False):
    """Maximum of ``x`` over ``axis``. Derivative: gy at the argmax (ties share it)."""
    x = as_variable(x)
    _check_axis('max', axis, x.ndim)
    return Max(axis, keepdims)(x)


def min(x, axis=None, keepdims=False):
    """Minimum of ``x`` over ``axis``. Derivative: gy at the argmin (ties share it)."""
    x = as_variable(x)
    _check_axis('min', axis, x.ndim)
    return Min(axis, keepdims)(x)


class LogSumExp(Function):
    """y = log(sum(exp(x), axis)), computed stably.
    Derivative: gy * softmax(x) = gy * exp(x - y)."""
    needs_output_data = True

    def __init__(self, axis, keepdims):
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x):
        self.x_shape = x.shape
        y = _logsumexp_array(x, axis=self.axis)
        if not self.keepdims:
            axes = normalize_axis(self.axis, x.ndim)
            y = y.reshape([n for i, n in enumerate(y.shape) if i not in axes])
        return y

    def backward(self, gy):
        x, = self.inputs
        y = self.outputs[0]()
        y = reshape_sum_backward(y, self.x_shape, self.axis, self.keepdims)
        gy = reshape_sum_backward(gy, self.x_shape, self.axis, self.keepdims)
        return gy * exp(x - y)

    def backward_arrays(self, gy):
        x = self.inputs[0].data
        y = reshape_sum_backward(self.outputs[0]().data, self.x_shape, self.axis,
                                 self.keepdims)
        gy = reshape_sum_backward(gy, self.x_shape, self.axis, self.keepdims)
        return gy * cuda.get_array_module(x).exp(x - y)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, without overflow for large x.
    Derivative: softmax of x over the same axes, times gy."""
    x = as_variable(x)
    _check_axis('logsumexp', axis, x.ndim)
    return LogSumExp(axis, keepdims)(x)


"""Activation functions: sigmoid, relu, leaky_relu, softmax, log_softmax.

All are stable for large inputs (no overflow at |x| = 1000; harmless underflow to 0 is
allowed without a floating-point warning) and differentiable to any order.  All but
leaky_relu read only their output in backward, never their input.  The derivatives of
sigmoid, softmax and log_softmax are functions of their own (:class:`SigmoidGrad`,
:class:`SoftmaxGrad`, :class:`LogSoftmaxGrad`), each one pass over the data on arrays
and one node in a recorded graph; relu and leaky_relu use
:class:`~dezero.functions.math.PiecewiseLinearGrad`.
"""

import numpy as np

from dezero import cuda
from dezero.array_ops import FLOAT16, normalize_axis
from dezero.core import Function
from dezero.functions.array import as_input
from dezero.functions.math import PiecewiseLinearGrad
from dezero.functions.rowwise import max_keepdims, sum_keepdims


def check_axis(name, axis, ndim):
    """Validate ``axis`` (an int or a tuple of ints) for an ``ndim``-dimensional input
    of the function ``name``; return it as a sorted tuple of non-negative axes."""
    parts = axis if isinstance(axis, tuple) else (axis,)
    if not parts or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in parts
    ):
        raise TypeError(f'{name}: axis must be an int or a non-empty tuple of ints, got {axis!r}')
    try:
        return normalize_axis(axis, ndim)
    except ValueError as e:
        raise ValueError(f'{name}: {e}') from None


def quiet_exp(x):
    """exp of the array ``x``, where results too small for the dtype become 0 without
    a warning.

    NumPy ignores underflow unless told otherwise, so the exponential is computed
    plainly; only when NumPy is set to raise on underflow (``np.seterr(under='raise')``)
    is it computed again with underflow ignored.  (Switching NumPy's error state on
    every call would cost more than the exponential itself on small arrays.)"""
    xp = np if type(x) is np.ndarray else cuda.get_array_module(x)
    try:
        return xp.exp(x)
    except FloatingPointError:
        with np.errstate(under='ignore'):
            return xp.exp(x)


def _to_float16(a):
    """The array ``a`` (computed in float32 for a float16 input) rounded to float16;
    values beyond its range become ±inf without a warning, as they do in float32."""
    with np.errstate(over='ignore'):
        return a.astype(FLOAT16)


def shifted_by_max(x, axes):
    """x - max(x, axes) for the array ``x``: at most 0, so that its exp cannot overflow.

    Quietly, as in PyTorch: a slice whose maximum is infinite gives nan (inf - inf), and
    a difference beyond the dtype's range gives -inf, whose exp is the 0 it rounds to."""
    m = max_keepdims(x, axes)
    with np.errstate(invalid='ignore', over='ignore'):
        return x - m


class QuietExp(Function):
    """y = exp(x), where results too small for the dtype become 0 without a warning.
    Derivative: y."""

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return quiet_exp(x)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return gy * y


# ---- sigmoid ---------------------------------------------------------------------------
@np.errstate(over='ignore', under='ignore')
def sigmoid_array(x):
    """1 / (1 + exp(-x)) of the array ``x``, as a fresh float array.

    For very negative x, exp(-x) overflows to inf and 1 / (1 + inf) is exactly the 0
    the true value rounds to (NumPy is told not to warn about it); short of that the
    tail keeps its relative accuracy.  In place on one fresh array: as fast as the
    plain formula."""
    xp = np if type(x) is np.ndarray else cuda.get_array_module(x)
    z = xp.empty(x.shape, x.dtype if x.dtype.kind == 'f' else xp.float64)
    xp.negative(x, out=z)
    xp.exp(z, out=z)
    z += 1
    return xp.reciprocal(z, out=z)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)). Derivative: y (1 - y) (computed by :class:`SigmoidGrad`)."""

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return sigmoid_array(x)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return SigmoidGrad()(y, gy)


class SigmoidGrad(Function):
    """gx = gy * y * (1 - y): the gradient of sigmoid given its output y and the
    gradient gy.  Derivatives: g gy (1 - 2y) to y, and SigmoidGrad(y, g) to gy."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def forward(self, y, gy):
        gx = gy * y  # a fresh array: finished in place
        gx *= 1 - y
        return gx

    def backward(self, g, *, needs_input_grad):
        y, gy = self.retained_inputs()
        return (
            g * gy * (1 - 2 * y) if needs_input_grad[0] else None,
            SigmoidGrad()(y, g) if needs_input_grad[1] else None,
        )


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e**-x), elementwise. Derivative: y (1 - y)."""
    return Sigmoid()(x)


# ---- relu ------------------------------------------------------------------------------
def _relu_times_slope(y, gy):
    """gy where relu's output y is positive (exactly where its input is), else 0."""
    return gy * (y > 0)


class ReLU(Function):
    """y = max(x, 0). Derivative: 1 where x > 0, else 0 (read from y: y > 0 exactly
    where x > 0)."""

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return cuda.get_array_module(x).maximum(x, 0)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return PiecewiseLinearGrad(_relu_times_slope)(y, gy)


def relu(x):
    """Rectified linear unit max(x, 0), elementwise. Derivative: 1 for x > 0, else 0
    (0 at x = 0)."""
    return ReLU()(x)


class LeakyReLU(Function):
    """y = x for x > 0, slope * x otherwise. Derivative: 1 or slope."""

    retain_inputs = (0,)
    retain_outputs = ()

    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        return cuda.get_array_module(x).where(x > 0, x, x * self.slope)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return PiecewiseLinearGrad(self._times_slope)(x, gy)

    def _times_slope(self, x, gy):
        """gy where x > 0, gy * slope elsewhere, on arrays."""
        return cuda.get_array_module(x).where(x > 0, gy, gy * self.slope)


def leaky_relu(x, slope=0.2):
    """Leaky ReLU: x where x > 0, ``slope * x`` elsewhere. Derivative: 1 for x > 0,
    ``slope`` otherwise."""
    if isinstance(slope, np.generic):
        slope = slope.item()
    if not isinstance(slope, (int, float)) or isinstance(slope, bool):
        raise TypeError(f'leaky_relu: slope must be a real number, got {slope!r}')
    return LeakyReLU(float(slope))(x)


# ---- softmax ---------------------------------------------------------------------------
def softmax_array(x, axis):
    """exp(x) / sum(exp(x), axis) of the array ``x``, stably, as a fresh array (float16
    computed in float32, as its row sums may exceed float16's range)."""
    if x.dtype is FLOAT16:
        return _to_float16(softmax_array(x.astype(np.float32), axis))
    e = quiet_exp(shifted_by_max(x, axis))
    e /= sum_keepdims(e, axis)
    return e


def log_softmax_array(x, axis):
    """x - log(sum(exp(x), axis)) of the array ``x``, stably, as a fresh array (float16
    computed in float32).  Computed as (x - m) - log(sum(exp(x - m))) with m the max:
    x - logsumexp(x) would lose the small log term where x is large (1e8 + log 2 rounds
    to 1e8 in float32)."""
    if x.dtype is FLOAT16:
        return _to_float16(log_softmax_array(x.astype(np.float32), axis))
    y = shifted_by_max(x, axis)
    return y - cuda.get_array_module(y).log(sum_keepdims(quiet_exp(y), axis))


class Softmax(Function):
    """y = exp(x) / sum(exp(x), axis). Derivative: y * gy - y * sum(y * gy, axis)
    (computed by :class:`SoftmaxGrad`)."""

    retain_inputs = ()
    retain_outputs = (0,)

    def __init__(self, axis=1):
        self.axis = axis

    def forward(self, x):
        return softmax_array(x, self.axis)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return SoftmaxGrad(self.axis)(y, gy)


class SoftmaxGrad(Function):
    """gx = y * gy - y * s with s = sum(y * gy, axis): the gradient of softmax given its
    output y and the gradient gy.  Derivatives: g * (gy - s) - gy * sum(g * y, axis) to
    y, and SoftmaxGrad(y, g) to gy."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, axis):
        self.axis = axis

    def forward(self, y, gy):
        gx = y * gy
        gx -= y * sum_keepdims(gx, self.axis)
        return gx

    def backward(self, g, *, needs_input_grad):
        y, gy = self.retained_inputs()
        y_grad = gy_grad = None
        if needs_input_grad[0]:
            s = (y * gy).sum(axis=self.axis, keepdims=True)
            y_grad = g * (gy - s) - gy * (g * y).sum(axis=self.axis, keepdims=True)
        if needs_input_grad[1]:
            gy_grad = SoftmaxGrad(self.axis)(y, g)
        return y_grad, gy_grad


def softmax(x, axis=1):
    """Softmax over ``axis`` (an int or a tuple of ints): exp(x) normalised to sum to 1,
    computed stably (nan for a slice holding +inf or nan, or all -inf, as in PyTorch).
    Derivative: y * gy - y * sum(y * gy, axis)."""
    x = as_input(x)
    return Softmax(check_axis('softmax', axis, x.ndim))(x)


class LogSoftmax(Function):
    """y = x - log(sum(exp(x), axis)). Derivative: gy - exp(y) * sum(gy, axis)
    (computed by :class:`LogSoftmaxGrad`)."""

    retain_inputs = ()
    retain_outputs = (0,)

    def __init__(self, axis=1):
        self.axis = axis

    def forward(self, x):
        return log_softmax_array(x, self.axis)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return LogSoftmaxGrad(self.axis)(y, gy)


class LogSoftmaxGrad(Function):
    """gx = gy - exp(y) * sum(gy, axis): the gradient of log_softmax given its output y
    and the gradient gy.  Derivatives: -g * exp(y) * sum(gy, axis) to y, and
    g - sum(g * exp(y), axis) to gy."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, axis):
        self.axis = axis

    def forward(self, y, gy):
        if gy.dtype is FLOAT16:  # in float32: the sum of gy may exceed float16's range
            return _to_float16(self.forward(y.astype(np.float32), gy.astype(np.float32)))
        gx = quiet_exp(y) * -sum_keepdims(gy, self.axis)
        gx += gy
        return gx

    def backward(self, g, *, needs_input_grad):
        y, gy = self.retained_inputs()
        g_times_p = g * QuietExp()(y)
        y_grad = gy_grad = None
        if needs_input_grad[0]:
            y_grad = -g_times_p * gy.sum(axis=self.axis, keepdims=True)
        if needs_input_grad[1]:
            gy_grad = g - g_times_p.sum(axis=self.axis, keepdims=True)
        return y_grad, gy_grad


def log_softmax(x, axis=1):
    """Logarithm of :func:`softmax` over ``axis``, computed stably as
    (x - max) - log(sum(exp(x - max))) (nan where softmax is nan).
    Derivative: gy - softmax(x) * sum(gy, axis)."""
    x = as_input(x)
    return LogSoftmax(check_axis('log_softmax', axis, x.ndim))(x)

"""Activation functions: sigmoid, relu, leaky_relu, softmax, log_softmax, gelu.

All are stable for large inputs (no overflow at |x| = 1000; harmless underflow to 0 is
allowed without a floating-point warning) and differentiable to any order.  All but
leaky_relu and gelu read only their output in backward, never their input.  The
derivatives of sigmoid, softmax, log_softmax and gelu are functions of their own
(:class:`SigmoidGrad`, :class:`SoftmaxGrad`, :class:`LogSoftmaxGrad`,
:class:`GELUGrad`), each one pass over the data on arrays and one node in a recorded
graph; relu and leaky_relu use :class:`~dezero.functions.math.PiecewiseLinearGrad`.
"""

import numpy as np

from dezero import cuda
from dezero.array_ops import (
    FLOAT16,
    float_data,
    is_float16,
    max_keepdims,
    normalize_axis,
    refuse_complex,
    sum_keepdims,
    zero_where,
)
from dezero.core import Function
from dezero.functions.array import as_input, astype
from dezero.functions.math import (
    PiecewiseLinearGrad,
    blockwise,
    clip,
    erf_central_kernel,
    erfcx_kernel,
)


def check_axis_type(name, axis):
    """``axis`` of the function ``name`` after checking that it is an int or a
    non-empty tuple of ints (not None, a bool or a list)."""
    parts = axis if isinstance(axis, tuple) else (axis,)
    if not parts or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in parts
    ):
        raise TypeError(f'{name}: axis must be an int or a non-empty tuple of ints, got {axis!r}')
    return axis


def check_axis(name, axis, ndim):
    """Validate ``axis`` (an int or a tuple of ints) for an ``ndim``-dimensional input
    of the function ``name``; return it as a sorted tuple of non-negative axes."""
    check_axis_type(name, axis)
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

    elementwise = True

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
    tail keeps its relative accuracy.  float16 is computed in float32 and rounded once:
    in float16, exp(-x) would overflow from x = -11.1 on, where sigmoid is still 1.5e-5.
    In place on one fresh array: as fast as the plain formula."""
    xp = np if type(x) is np.ndarray else cuda.get_array_module(x)
    x = float_data(x)  # -(-128) does not fit int8
    if is_float16(x.dtype):
        return sigmoid_array(x.astype(np.float32)).astype(FLOAT16)
    z = xp.empty(x.shape, x.dtype)
    xp.negative(x, out=z)
    xp.exp(z, out=z)
    z += 1
    return xp.reciprocal(z, out=z)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)). Derivative: y (1 - y) (computed by :class:`SigmoidGrad`)."""

    elementwise = True

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

    elementwise = True

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
    """gy, with 0 where relu's output y is at most 0 (exactly where its input is),
    whatever gy holds there."""
    return zero_where(y <= 0, gy)


class ReLU(Function):
    """y = max(x, 0). Derivative: 0 where x <= 0, else 1, so that a NaN input passes
    its gradient on, as in PyTorch (read from y: y <= 0 exactly where x <= 0, and y is
    NaN where x is)."""

    elementwise = True

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        refuse_complex(type(self).__name__, x)
        xp = cuda.get_array_module(x)
        if xp is np and x.ndim > 1:
            # NumPy's maximum against a scalar takes a loop about twice as slow as
            # against an array: one sample's worth of zeros, broadcast over the batch
            return np.maximum(x, np.zeros(x.shape[1:], dtype=x.dtype))
        return xp.maximum(x, 0)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return PiecewiseLinearGrad(_relu_times_slope)(y, gy)


def relu(x):
    """Rectified linear unit max(x, 0), elementwise (NaN stays NaN). Derivative: 0 for
    x <= 0 (0 at x = 0, and 0 there even for an infinite or NaN incoming gradient),
    else 1."""
    return ReLU()(x)


class LeakyReLU(Function):
    """y = x for x > 0, slope * x otherwise. Derivative: 1 or slope."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        refuse_complex(type(self).__name__, x)
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
    computed in float32, as its row sums may exceed float16's range; integers in
    float64)."""
    x = float_data(x)
    if x.size == 0:  # nothing to normalise, and an empty slice has no maximum
        return x.copy()
    if is_float16(x.dtype):
        return _to_float16(softmax_array(x.astype(np.float32), axis))
    e = quiet_exp(shifted_by_max(x, axis))
    e /= sum_keepdims(e, axis)
    return e


def log_softmax_array(x, axis):
    """x - log(sum(exp(x), axis)) of the array ``x``, stably, as a fresh array (float16
    computed in float32).  Computed as (x - m) - log(sum(exp(x - m))) with m the max:
    x - logsumexp(x) would lose the small log term where x is large (1e8 + log 2 rounds
    to 1e8 in float32).  Integers are taken in float64."""
    x = float_data(x)
    if x.size == 0:  # an empty slice has no maximum
        return x.copy()
    if is_float16(x.dtype):
        return _to_float16(log_softmax_array(x.astype(np.float32), axis))
    y = shifted_by_max(x, axis)
    return y - cuda.get_array_module(y).log(sum_keepdims(quiet_exp(y), axis))


class Softmax(Function):
    """y = exp(x) / sum(exp(x), axis) (``axis`` an int or a tuple of ints, checked as
    :func:`softmax` checks it). Derivative: y * gy - y * sum(y * gy, axis)
    (computed by :class:`SoftmaxGrad`)."""

    retain_inputs = ()
    retain_outputs = (0,)

    def __init__(self, axis=1):
        self.axis = check_axis_type(type(self).__name__, axis)

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
    x = as_input(x, 'softmax')
    return Softmax(check_axis('softmax', axis, x.ndim))(x)


class LogSoftmax(Function):
    """y = x - log(sum(exp(x), axis)) (``axis`` an int or a tuple of ints, checked as
    :func:`log_softmax` checks it). Derivative: gy - exp(y) * sum(gy, axis)
    (computed by :class:`LogSoftmaxGrad`)."""

    retain_inputs = ()
    retain_outputs = (0,)

    def __init__(self, axis=1):
        self.axis = check_axis_type(type(self).__name__, axis)

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
        if is_float16(gy.dtype):  # in float32: the sum of gy may exceed float16's range
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
    x = as_input(x, 'log_softmax')
    return LogSoftmax(check_axis('log_softmax', axis, x.ndim))(x)


# ---- gelu ------------------------------------------------------------------------------
#: the variants of gelu: x Φ(x) with the normal CDF Φ, or the tanh approximation of it
GELU_APPROXIMATIONS = ('none', 'tanh')
_SQRT_HALF = 0.7071067811865476  # 1 / sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi), the normal density at 0
_TANH_SCALE = 0.7978845608028654  # sqrt(2 / pi)
_TANH_CUBIC = 0.044715
#: x is clipped to ±40 before it is squared or cubed, so that no power of it overflows;
#: the clip changes no value: from |x| = 38.6 on, the normal density exp(-x**2 / 2) has
#: underflowed to 0 even in float64 (and tanh(u) is ±1, exp(-2|u|) is 0), so that
#: gelu's slope is exactly 0 or 1 there and its curvature exactly 0
_REACH = 40.0


def _times_x(xp, out, x, tmp):
    """``out *= x``, where 0 * -inf gives 0: gelu(-inf) is the limit 0, not nan."""
    xp.maximum(x, np.finfo(x.dtype).min, out=tmp)
    out *= tmp


# Φ(x) = (1 + erf(x / sqrt 2)) / 2 cancels for x < 0 (1 + erf rounds to 0 from x = -8.3
# in float64, -5.5 in float32), so the exact gelu takes Φ from its tail at a = |x|
# (Φ(x) = 1 - Φ(-a) for x > 0), by the kernels of erf of dezero.functions.math, which
# take z = a / sqrt 2 from a itself:
#   Φ(-a) = erfc(z) / 2 = erfcx(z) exp(-a²/2) / 2, exp(-a²/2) split in two factors;
#   Φ(-a) = 1/2 - erf(z) / 2 for a < 1/sqrt 2 in float64, where erfcx is not meant for it.
#: exp(-64), which the tail carries (with the a φ(a) beside it), so that the factor
#: exp(64 - h**2 / 2) of exp(-a**2 / 2) is normal wherever the result is
_TAIL_SCALE = 1.603810890548638e-28


def _split_exp_minus_half_square(xp, a, near, far, t):
    """exp(64 - a**2 / 2) for ``a`` in [0, 40] as the product of two factors, to a few
    units in the last place: ``near`` = exp((h - a) (a + h) / 2), between 0.7 and 1.4,
    and ``far`` = exp(64 - h**2 / 2), with h = a rounded to a multiple of 1/64, whose
    square is exact (``t``: scratch).  Rounding a**2 / 2 (up to 800) instead would cost
    up to 400 units of the exponential's.  ``far`` is multiplied in last: where the
    result is subnormal it is rounded once, there (e**64 keeps ``far`` normal down to
    there)."""
    xp.multiply(a, 64.0, out=t)  # 64 a, exactly
    xp.rint(t, out=far)  # 64 h, an integer up to 2560
    xp.subtract(far, t, out=near)  # 64 (h - a), exactly
    t += far  # 64 (a + h)
    near *= t
    near *= 1.0 / 8192  # (h - a) (a + h) / 2 (64**2 * 2 = 8192)
    xp.exp(near, out=near)
    xp.multiply(far, far, out=far)  # (64 h)**2, exactly
    xp.subtract(64.0 * 8192, far, out=far)
    far *= 1.0 / 8192  # 64 - h**2 / 2, exactly
    xp.exp(far, out=far)


def _normal_tail(xp, a, tail, near, far, t):
    """tail = Φ(-a) exp(a**2 / 2 - 64) = erfcx(a / sqrt 2) e**-64 / 2, and near, far
    with near * far = exp(64 - a**2 / 2) (:func:`_split_exp_minus_half_square`), for
    ``a`` in [0, 40] (``t``: scratch); in float64 the tail is meant from a = 1/sqrt 2
    on (see :func:`_central_tail`)."""
    erfcx_kernel(xp, tail, a, t, scale_squared=0.5, factor=0.5 * _TAIL_SCALE)
    _split_exp_minus_half_square(xp, a, near, far, t)


def _central_tail(xp, a, out, s, t, u):
    """out = Φ(-s) = 1/2 - erf(s / sqrt 2) / 2 with s = min(a, 1/sqrt 2) (``s`` is
    set, ``t`` and ``u`` are scratch)."""
    xp.clip(a, 0.0, _SQRT_HALF, out=s)
    erf_central_kernel(xp, out, s, t, u, scale_squared=0.5, factor=-0.5)
    out += 0.5
    return out


def _blend_central(xp, out, central, s, mask):
    """out = ``central`` where s < 1/sqrt 2 (s as :func:`_central_tail` sets it), else
    ``out`` as it is, with arithmetic (both finite or NaN; ``central`` and ``mask``
    are overwritten)."""
    xp.less(s, _SQRT_HALF, out=mask)
    central -= out
    central *= mask
    out += central


@np.errstate(under='ignore')
def _gelu_erf_kernel(xp, out, x, a, near, far, p, t):
    """out = x Φ(x) (see :func:`blockwise`) = max(x, 0) - a Φ(-a) with a = |x| (clipped
    to 40: Φ(-a) is 0 from 38.5 on, also in float64).  Exponentials that underflow
    give 0 quietly."""
    xp.abs(x, out=a)
    xp.clip(a, 0.0, _REACH, out=a)  # (NaN stays NaN)
    _normal_tail(xp, a, p, near, far, t)
    p *= a
    p *= near
    p *= far  # a Φ(-a): the exp(-64) of the tail times the exp(64) of far
    if p.dtype == np.float64:
        _central_tail(xp, a, out, near, far, t)
        out *= near
        _blend_central(xp, p, out, near, far)
    xp.clip(x, 0.0, np.inf, out=out)
    out -= p


@np.errstate(under='ignore')
def _gelu_erf_slope_kernel(xp, out, x, gy, a, near, far, p, t, u):
    """out = gy (Φ(x) + x φ(x)) with the normal density φ(x) = exp(-x**2 / 2) /
    sqrt(2 pi): m + (1 - 2m) (Φ(-a) - a φ(a)) with a = |x| (clipped to 40, where both
    are 0), m = 1 for x > 0 and 0 otherwise."""
    xp.abs(x, out=a)
    xp.clip(a, 0.0, _REACH, out=a)
    _normal_tail(xp, a, p, near, far, t)
    xp.multiply(a, _INV_SQRT_2PI * _TAIL_SCALE, out=t)
    p -= t
    p *= near
    p *= far  # Φ(-a) - a φ(a)
    if p.dtype == np.float64:
        near *= far
        near *= a
        near *= _INV_SQRT_2PI * _TAIL_SCALE  # a φ(a)
        _central_tail(xp, a, out, far, t, u)
        out -= near
        _blend_central(xp, p, out, far, t)
    xp.greater(x, 0.0, out=a)  # m
    xp.multiply(a, -2.0, out=t)
    t += 1.0
    p *= t
    xp.add(p, a, out=out)
    out *= gy


def _gelu_tanh_argument(xp, x, out):
    """out = u = sqrt(2/pi) (x + 0.044715 x**3), the argument of the tanh
    approximation (for x clipped to ±40)."""
    xp.multiply(x, x, out=out)
    out *= _TANH_CUBIC
    out += 1.0
    out *= x
    out *= _TANH_SCALE
    return out


def _gelu_tanh_kernel(xp, out, x, w):
    """out = x (1 + T) / 2 with T = tanh(u), u = sqrt(2/pi) (x + 0.044715 x**3)."""
    xp.clip(x, -_REACH, _REACH, out=w)
    xp.tanh(_gelu_tanh_argument(xp, w, out), out=out)
    out += 1.0
    out *= 0.5
    _times_x(xp, out, x, w)


def _logistic(xp, z, out):
    """out = 1 / (1 + exp(-z)), where exp(-z) may overflow to inf (giving 0) or
    underflow to 0 (giving 1), both exact (the caller tells NumPy not to warn)."""
    xp.negative(z, out=out)
    xp.exp(out, out=out)
    out += 1.0
    return xp.divide(1.0, out, out=out)


@np.errstate(over='ignore', under='ignore')
def _gelu_tanh_slope_kernel(xp, out, x, gy, c, w, z):
    """out = gy ((1 + T) / 2 + x (1 - T**2) u' / 2) with T = tanh(u) and
    u' = sqrt(2/pi) (1 + 3 * 0.044715 x**2) (x clipped to ±40): computed as
    gy p (1 + 2 x q u') with p = (1 + T) / 2 = 1 / (1 + exp(-2u)) and q = 1 - p =
    1 / (1 + exp(2u)), which keep their relative accuracy where T is near ±1 (1 - T**2
    = 4 p q; from T itself it would be lost to rounding), down to where they
    underflow to 0."""
    xp.clip(x, -_REACH, _REACH, out=c)
    _gelu_tanh_argument(xp, c, w)
    w *= 2.0  # 2u
    _logistic(xp, w, z)  # p
    xp.negative(w, out=w)
    _logistic(xp, w, w)  # q
    xp.multiply(c, c, out=out)
    out *= 3.0 * _TANH_CUBIC
    out += 1.0
    out *= 2.0 * _TANH_SCALE  # 2 u'
    out *= c
    out *= w
    out += 1.0
    out *= z
    out *= gy


_GELU_KERNELS = {
    'none': (_gelu_erf_kernel, 5, _gelu_erf_slope_kernel, 6),
    'tanh': (_gelu_tanh_kernel, 1, _gelu_tanh_slope_kernel, 3),
}


def _gelu_curvature(x, approximate):
    """gelu''(x) of ``x`` (an array or a Variable), with the operations of dezero, so
    that it is differentiable again: φ(x) (2 - x**2) for the exact gelu, and for the
    tanh approximation (1 - T**2) (u' + x u'' / 2 - x T u'**2), with T, u and u' as in
    :func:`gelu` and u'' = 6 * 0.044715 sqrt(2/pi) x, written with p = sigmoid(2u)
    and q = sigmoid(-2u) (T = p - q, 1 - T**2 = 4 p q) as the slope is.  On x clipped
    to ±40 as the slopes are (which changes no value), with exponentials that
    underflow to 0 quietly.  float16 is computed in float32: there p q rounds to 0
    from |x| = 4.2 on, far before the curvature does."""
    if is_float16(x.dtype):
        return astype(_gelu_curvature(astype(x, np.float32), approximate), FLOAT16)
    c = clip(x, -_REACH, _REACH)
    c2 = c * c
    if approximate == 'none':
        return QuietExp()(c2 * -0.5) * (2.0 - c2) * _INV_SQRT_2PI
    du = (c2 * (3.0 * _TANH_CUBIC) + 1.0) * _TANH_SCALE
    u2 = (c2 * _TANH_CUBIC + 1.0) * c * (2.0 * _TANH_SCALE)
    p, q = sigmoid(u2), sigmoid(-u2)
    pq4 = p * q * 4.0  # 1 - T**2, 0 far out: multiplied in first, so that no product
    # overflows float16 there (x du**2 does: 0 * inf would be nan)
    return pq4 * (du + c2 * (3.0 * _TANH_CUBIC * _TANH_SCALE)) - pq4 * c * (p - q) * du * du


class GELU(Function):
    """y = gelu(x) in the variant ``approximate`` (see :func:`gelu`); its derivative is
    computed by :class:`GELUGrad`."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def __init__(self, approximate='none'):
        self.approximate = approximate

    def forward(self, x):
        refuse_complex(type(self).__name__, x)
        kernel, scratch, _, _ = _GELU_KERNELS[self.approximate]
        return blockwise(kernel, scratch, x)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return GELUGrad(self.approximate)(x, gy)


class GELUGrad(Function):
    """gx = gy * gelu'(x): the gradient of gelu given x and the gradient gy, in one
    pass over the data (in blocks, as gelu itself).  Derivatives: g gy gelu''(x) to x,
    and GELUGrad(x, g) to gy."""

    elementwise = True

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, x, gy):
        _, _, kernel, scratch = _GELU_KERNELS[self.approximate]
        return blockwise(kernel, scratch, x, gy)

    def backward(self, g, *, needs_input_grad):
        x, gy = self.retained_inputs()
        return (
            g * gy * _gelu_curvature(x, self.approximate) if needs_input_grad[0] else None,
            GELUGrad(self.approximate)(x, g) if needs_input_grad[1] else None,
        )


def gelu(x, approximate='none'):
    """Gaussian error linear unit, elementwise: x Φ(x) = x (1 + erf(x / sqrt 2)) / 2 with
    Φ the standard normal CDF (``approximate='none'``), or its approximation
    x (1 + T) / 2 with T = tanh(u), u = sqrt(2/pi) (x + 0.044715 x**3)
    (``approximate='tanh'``), as in PyTorch.  At -inf it gives the limit 0 (PyTorch
    gives nan).  The exact gelu and its slope keep their relative accuracy (a few units
    in the last place) also in the left tail, where 1 + erf(x / sqrt 2) would cancel:
    Φ(x) is taken from erfc(-x / sqrt 2) / 2.
    Derivative: Φ(x) + x φ(x), φ the standard normal density; for 'tanh',
    (1 + T) / 2 + x (1 - T**2) u' / 2 with u' = sqrt(2/pi) (1 + 3 * 0.044715 x**2)."""
    if not isinstance(approximate, str) or approximate not in GELU_APPROXIMATIONS:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU(approximate)(x)

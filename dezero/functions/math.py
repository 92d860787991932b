"""Elementwise mathematical functions: sin, cos, tan, tanh, exp, log, sqrt, abs, square,
clip, erf.

The floating-point functions (all but abs, square and clip) compute integer and bool
data in float64 (:func:`as_floating`).

Each backward is written with operations that work on arrays and on Variables alike
(often reusing the forward output), so every function here is differentiable to any
order where the math allows.  Where a derivative is worth one pass over the data instead
of several, it is a function of its own: :class:`TanhGrad`, and
:class:`PiecewiseLinearGrad`, which abs and clip share with relu and leaky_relu.

NumPy has no error function, so :func:`erf_array` computes one from rational
approximations (:func:`erf_central_kernel` near 0, :func:`erfcx_kernel` for erfc
beyond), over a large array in blocks that stay in the processor's cache
(:func:`blockwise`); gelu takes the normal CDF from the same two kernels, in blocks too.
"""

import functools

import numpy as np

from dezero import cuda
from dezero.array_ops import (
    FLOAT16,
    broadcasts_to,
    cast_can_overflow,
    float_data,
    float_number,
    is_float16,
    refuse_complex,
    zero_where,
)
from dezero.core import Function, Variable, kept_for_backward
from dezero.functions.array import as_input, astype


def as_floating(x):
    """``x`` (an array or a Variable) with floating-point data: ``x`` itself unless it
    holds integers or bools, which are converted to float64, NumPy's default float (the
    one true division of integers gives).  The floating-point functions here compute on
    it, so that exp of a uint8 12 is 162754.79..., where NumPy's float16 gives inf."""
    if isinstance(x, Variable):
        return astype(x, np.float64) if x.dtype.kind in 'biu' else x
    return float_data(x)


class Sin(Function):
    """y = sin(x). Derivative: cos(x)."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return cuda.get_array_module(x).sin(as_floating(x))

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return gy * cos(x)


class Cos(Function):
    """y = cos(x). Derivative: -sin(x)."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return cuda.get_array_module(x).cos(as_floating(x))

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return -gy * sin(x)


class Tan(Function):
    """y = tan(x). Derivative: 1 + tan(x)**2."""

    elementwise = True

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return cuda.get_array_module(x).tan(as_floating(x))

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return gy * y * y + gy


class Tanh(Function):
    """y = tanh(x). Derivative: 1 - y**2 (computed by :class:`TanhGrad`)."""

    elementwise = True

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return cuda.get_array_module(x).tanh(as_floating(x))

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return TanhGrad()(y, gy)


class TanhGrad(Function):
    """gx = gy * (1 - y**2): the gradient of tanh given its output y and the gradient
    gy, in one pass over the data, and as one node rather than three, so that every
    further derivative of tanh records fewer operations.
    Derivatives: -2 y gy g to y, and TanhGrad(y, g) to gy."""

    elementwise = True

    retain_inputs = (0, 1)
    retain_outputs = ()

    def forward(self, y, gy):
        gx = -gy  # gy - gy y², in place on one fresh array
        gx *= y
        gx *= y
        gx += gy
        return gx

    def backward(self, g, *, needs_input_grad):
        y, gy = self.retained_inputs()
        return (
            g * y * gy * -2.0 if needs_input_grad[0] else None,
            TanhGrad()(y, g) if needs_input_grad[1] else None,
        )


class Exp(Function):
    """y = exp(x). Derivative: y."""

    elementwise = True

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return cuda.get_array_module(x).exp(as_floating(x))

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return gy * y


class Log(Function):
    """y = log(x) (natural). Derivative: 1 / x."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return cuda.get_array_module(x).log(as_floating(x))

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return gy / x


class Sqrt(Function):
    """y = sqrt(x). Derivative: 1 / (2 y)."""

    elementwise = True

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return cuda.get_array_module(x).sqrt(as_floating(x))

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return gy / (2 * y)


class Square(Function):
    """y = x**2. Derivative: 2x."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return gy * (2 * as_floating(x))  # 2 * x would wrap around for integers


# ---- the error function ------------------------------------------------------------------
# W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for
# the error function", Math. Comp. 23 (1969)), his tables for about 18 significant
# digits, highest power first:
#   erf(x)  = x P(x²) / Q(x²)                           for |x| <= 1/2,
#   erfc(x) = exp(-x²) R(x) / S(x)                      for 1/2 <= x <= 4,
#   erfc(x) = exp(-x²) (1/sqrt(pi) - y N(y) / D(y)) / x  for x >= 4, with y = 1 / x².
# erf takes R / S up to 6, beyond which erf is ±1 in float64 (from 4 on, erfc < 2e-8, and
# erf = 1 - erfc needs only its leading digits).  In float32 R / S keeps its relative
# accuracy far past 4, into the tail that gelu needs; in float64 the third formula
# takes over from 4 there.
_ERF_P = (
    1.85777706184603153e-1,
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
)
_ERF_Q = (
    1.0,
    2.36012909523441209e01,
    2.44024637934444173e02,
    1.28261652607737228e03,
    2.84423683343917062e03,
)
_ERFC_R = (
    2.15311535474403846e-8,
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
)
_ERFC_S = (
    1.0,
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
_ERFC_N = (
    1.63153871373020978e-2,
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
)
_ERFC_D = (
    1.0,
    2.56852019228982242e00,
    1.87295284992346725e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)
#: where the far-tail formula of erfc takes over from R / S in float64
_ERFC_FAR = 4.0
_INV_SQRT_PI = 0.5641895835477563  # 1 / sqrt(pi)
#: bytes of one block of a NumPy array in :func:`blockwise`: a block and the few
#: temporaries of a kernel stay in the processor's cache between its passes
BLOCK_BYTES = 1 << 18


def _polynomial(xp, z, coefficients, out):
    """``out`` = the polynomial with ``coefficients`` (highest power first) at ``z``,
    by Horner's rule, in place (``out`` is not ``z``)."""
    first, second, *rest = coefficients
    if first == 1.0:
        xp.add(z, second, out=out)
    else:
        xp.multiply(z, first, out=out)
        out += second
    for c in rest:
        out *= z
        out += c
    return out


@functools.lru_cache(maxsize=32)
def _rescaled(coefficients, scale_squared, per_power, times=1.0):
    """The ``coefficients`` (highest power first) of a polynomial p(w), rewritten for
    w = k u with k = scale_squared**per_power (per_power: 1/2 for a polynomial in
    z = scale t, 1 for one in z**2): those of p(k u) / k**degree in u, times
    ``times``, the i-th coefficient times k**-i.  Two polynomials of one degree
    rescaled alike keep their ratio, and a leading 1 stays 1.  The powers k**-i are
    taken from scale_squared, as powers of 2 and of sqrt(2) for 1/2, each rounded
    once (powers of 1/sqrt(2) rounded would drift by units in the last place)."""
    return tuple(c * scale_squared ** (-i * per_power) * times for i, c in enumerate(coefficients))


def erf_central_kernel(xp, out, t, u, v, scale_squared=1.0, factor=1.0):
    """``out`` = factor * erf(z) = factor z P(z**2) / Q(z**2) with z =
    sqrt(scale_squared) * t, for a 1-D float array ``t`` with |z| <= 1/2, to a few
    units in the last place (``u`` and ``v`` are scratch of its length; ``t`` is
    kept).  The scale (positive) and ``factor`` are folded into the coefficients
    (:func:`_rescaled`), so that they cost no rounding (see :func:`erfcx_kernel`)."""
    p = _rescaled(_ERF_P, scale_squared, 1, factor * scale_squared**0.5)
    q = _rescaled(_ERF_Q, scale_squared, 1)
    xp.multiply(t, t, out=u)
    _polynomial(xp, u, p, out)
    out /= _polynomial(xp, u, q, v)
    out *= t
    return out


def erfcx_kernel(xp, out, t, u, scale_squared=1.0, factor=1.0, far=True):
    """``out`` = factor * erfcx(z) with z = sqrt(scale_squared) * t, erfcx(z) =
    erfc(z) exp(z**2) the complementary error function without its Gaussian factor,
    for a 1-D float array ``t`` >= 0 (``u`` is scratch of its length; ``t`` is kept):
    R(z) / S(z), and in float64 beyond z = 4 the far-tail formula (see
    the comment above) unless ``far`` is False.  The scale (positive) and ``factor``
    (not 0) are folded into the coefficients (:func:`_rescaled`), so that they cost no
    rounding: gelu takes its normal tail Φ(-a) = erfcx(a / sqrt 2) exp(-a**2 / 2) / 2
    from a itself (scale_squared = 1/2), and erf its -2 erfc(x) with factor = -2.

    erfc(z) is then erfcx(z) exp(-z**2) with its relative accuracy (a few units in the
    last place) wherever that product is not subnormal, also far in the tail, where
    1 - erf(z) has rounded to 0.  In float32 that holds from z = 0 on; in float64 from
    z = 1/2 on (below, take 1 - erf(z) from :func:`erf_central_kernel`), and with
    ``far`` False up to z = 4 (beyond, R / S keeps the leading digits, all that
    1 - erfc(z) needs there).  NaN stays NaN."""
    _polynomial(xp, t, _rescaled(_ERFC_R, scale_squared, 0.5, factor), out)
    out /= _polynomial(xp, t, _rescaled(_ERFC_S, scale_squared, 0.5), u)
    if far and out.dtype == np.float64:
        beyond = xp.flatnonzero(t > _ERFC_FAR * scale_squared**-0.5)  # z > 4
        if beyond.size:
            out[beyond] = _erfcx_far(xp, t[beyond], scale_squared, factor)
    return out


def _erfcx_far(xp, t, scale_squared, factor):
    """factor * erfcx(z), z = sqrt(scale_squared) * t, of the float64 array ``t`` (z
    beyond 4) by the far-tail formula, as a fresh array."""
    y = (1.0 / scale_squared) / (t * t)  # 1 / z**2
    ratio = _polynomial(xp, y, _ERFC_N, xp.empty_like(y))
    ratio /= _polynomial(xp, y, _ERFC_D, xp.empty_like(y))
    ratio *= y
    return (_INV_SQRT_PI - ratio) / (t * (scale_squared**0.5 / factor))


def erf_kernel(xp, out, x, s, t, u, v):
    """``out`` = erf(``x``), 1-D float arrays of one length and dtype (``s``, ``t``,
    ``u``, ``v`` are scratch of that length).

    Without a branch: erf(s) on s = clip(x, -1/2, 1/2) (:func:`erf_central_kernel`),
    and sign(x) (1 - erfc(|x|)) with erfc from :func:`erfcx_kernel` on
    clip(|x|, 1/2, 6), blended as (1 - m) first + m second with m = 1 where
    |x| > 1/2, else 0: exactly one of the two, so erf is exactly ±1 far out (there
    erfc(6) = 2e-17 is below half a unit of 1 in float64).  NaN stays NaN, ±inf
    gives ±1, and nothing overflows or underflows."""
    xp.clip(x, -0.5, 0.5, out=s)
    erf_central_kernel(xp, out, s, t, u)
    xp.abs(x, out=t)
    xp.clip(t, 0.5, 6.0, out=t)
    erfcx_kernel(xp, u, t, v, factor=-2.0, far=False)  # (1 - erfc needs R / S alone)
    xp.multiply(t, t, out=v)
    xp.negative(v, out=v)
    xp.exp(v, out=v)
    u *= v  # -2 erfc(t)
    u += 2.0
    u *= s  # 2 s (1 - erfc(|x|)): sign(x) (1 - erfc(|x|)) where |x| >= 1/2
    xp.greater(t, 0.5, out=v)  # m
    u *= v
    xp.subtract(1.0, v, out=v)
    out *= v
    out += u  # (1 - m) erf(s) + m sign(x) (1 - erfc(|x|)), keeping the sign of -0.0
    return out


def blockwise(kernel, scratch, *arrays):
    """``kernel(xp, out, *flat_arrays, *scratch_arrays)`` applied to ``arrays`` (one
    shape; the first sets the array module ``xp``), returning ``out`` in their shape:
    a fresh array of their float dtype, float64 for integers and bools.  float16 is
    computed in float32 (approximations for float32 and float64 only) and rounded once.

    A NumPy array is taken in blocks of :data:`BLOCK_BYTES`, so that the dozens of
    passes of a kernel (each a NumPy call with ``out=``) run on data in the cache
    rather than in main memory; ``scratch`` arrays of a block's length are shared by
    the blocks.  A device array is one block."""
    x = arrays[0]
    xp = np if type(x) is np.ndarray else cuda.get_array_module(x)
    dtype = np.result_type(*(a.dtype for a in arrays))
    if dtype.kind != 'f':
        dtype = np.dtype(np.float64)
    float16 = is_float16(dtype)  # either byte order
    work = np.dtype(np.float32) if float16 else dtype
    flat = [a.astype(work, copy=False).reshape(-1) for a in arrays]
    size = x.size
    step = max(1, BLOCK_BYTES // work.itemsize if xp is np else size)
    out = xp.empty(size, work)
    buffers = [xp.empty(min(step, size), work) for _ in range(scratch)]
    for i in range(0, size, step):
        j = min(i + step, size)
        kernel(xp, out[i:j], *(a[i:j] for a in flat), *(b[: j - i] for b in buffers))
    out = out.reshape(x.shape)
    return out.astype(FLOAT16) if float16 else out


def erf_array(x):
    """erf of the array ``x`` as a fresh float array (float64 for integers; see
    :func:`blockwise`), within a few units in the last place of the dtype."""
    return blockwise(erf_kernel, 4, x)


#: 2 / sqrt(pi), the slope of erf at 0
TWO_OVER_SQRT_PI = 1.1283791670955126


class Erf(Function):
    """y = erf(x). Derivative: 2 / sqrt(pi) * exp(-x**2)."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        refuse_complex(type(self).__name__, x)
        return erf_array(x)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        x = as_floating(x)  # -(x * x) would wrap around for integers
        # exp(-x**2) is 0 far out: quietly, also where x**2 overflows to inf
        with np.errstate(over='ignore', under='ignore'):
            return gy * (exp(-(x * x)) * TWO_OVER_SQRT_PI)


# ---- piecewise-linear functions ----------------------------------------------------------
class PiecewiseLinearGrad(Function):
    """gx = gy * slope(x): the gradient of a piecewise-linear function (abs, clip, relu,
    leaky_relu) given x, or any array that tells its pieces apart (relu passes its
    output), and gy.  ``times_slope(x, gy)`` is that function's array code for the
    product.  The slope is constant on each piece, so the derivative in x is 0 (also
    taken as 0 at the kinks: None is returned) and the one in gy is the same product,
    ``PiecewiseLinearGrad(times_slope)(x, g)``."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def __init__(self, times_slope):
        self.times_slope = times_slope

    def forward(self, x, gy):
        return self.times_slope(x, gy)

    def backward(self, g, *, needs_input_grad):
        x, _ = self.retained_inputs()
        if not needs_input_grad[1]:
            return None, None
        return None, PiecewiseLinearGrad(self.times_slope)(x, g)


def _times_sign(x, gy):
    """gy * sign(x) on arrays: the gradient of |x|, with the sign of NaN taken as 0,
    as PyTorch takes it (NumPy's is NaN)."""
    xp = cuda.get_array_module(x)
    return gy * xp.nan_to_num(xp.sign(x), nan=0.0)


class Abs(Function):
    """y = |x|. Derivative: sign(x) (0 at x = 0 and at NaN)."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return cuda.get_array_module(x).abs(x)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return PiecewiseLinearGrad(_times_sign)(x, gy)


class Clip(Function):
    """y = x limited to [x_min, x_max]. Derivative: 1 inside the range (bounds
    included), 0 outside it and at NaN.

    The bounds are checked as :func:`clip` checks them (when the object is made, and
    against x when it is called).  Backward reads them again: an array bound is kept
    as a copy of its own (:func:`~dezero.core.kept_for_backward`), so that changing
    the caller's array afterwards does not change the gradient."""

    elementwise = True

    retain_inputs = (0,)
    retain_outputs = ()

    def __init__(self, x_min, x_max):
        x_min, x_max = _clip_bounds(type(self).__name__, x_min, x_max)
        self.x_min = kept_for_backward(x_min)
        self.x_max = kept_for_backward(x_max)

    def forward(self, x):
        refuse_complex(type(self).__name__, x)
        return self._clipped(x)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return PiecewiseLinearGrad(self._times_slope)(x, gy)

    def _clipped(self, x):
        """The array ``x`` clipped, each bound fitted to x (see :func:`_fitted_bound`)."""
        name = type(self).__name__
        x_min = _fitted_bound(name, self.x_min, 'x_min', x)
        x_max = _fitted_bound(name, self.x_max, 'x_max', x)
        return cuda.get_array_module(x).clip(x, x_min, x_max)

    def _times_slope(self, x, gy):
        """gy where x is inside the range, 0 where it is clipped (or NaN), whatever gy
        holds there, on arrays."""
        # inside the range means left unchanged by clipping (a bound may be None)
        return zero_where(x != self._clipped(x), gy)


def sin(x):
    """Elementwise sine. Derivative: cos(x)."""
    return Sin()(x)


def cos(x):
    """Elementwise cosine. Derivative: -sin(x)."""
    return Cos()(x)


def tan(x):
    """Elementwise tangent. Derivative: 1 + tan(x)**2."""
    return Tan()(x)


def tanh(x):
    """Elementwise hyperbolic tangent. Derivative: 1 - tanh(x)**2."""
    return Tanh()(x)


def exp(x):
    """Elementwise e**x. Derivative: e**x."""
    return Exp()(x)


def log(x):
    """Elementwise natural logarithm. Derivative: 1 / x."""
    return Log()(x)


def sqrt(x):
    """Elementwise square root. Derivative: 1 / (2 sqrt(x))."""
    return Sqrt()(x)


def abs(x):
    """Elementwise absolute value. Derivative: sign(x), taken as 0 at 0 and at NaN."""
    return Abs()(x)


def square(x):
    """Elementwise x**2. Derivative: 2x."""
    return Square()(x)


def clip(x, x_min, x_max):
    """Limit ``x`` to [x_min, x_max]; each bound is None (no limit on that side), a
    number, or an array that broadcasts to x's shape (a limit per element).
    Derivative: 1 where x is inside (bounds included), 0 where clipped or NaN (0 there
    even for an infinite or NaN incoming gradient).

    NumPy scalar bounds count as Python numbers.  Bounds take x's floating dtype, so
    that a float32 ``x`` stays float32; a number that dtype cannot hold (one that
    would become 0 or inf, as 1e-8 or 70000 would in float16) is refused with an
    OverflowError, as :func:`~dezero.functions.maximum` refuses it.  Array bounds
    are copied: changing them afterwards does not change the gradient."""
    x = as_input(x, 'clip')
    x_min, x_max = _clip_bounds('clip', x_min, x_max)
    x_min = _fitted_bound('clip', x_min, 'x_min', x)
    x_max = _fitted_bound('clip', x_max, 'x_max', x)
    return Clip(x_min, x_max)(x)


def _clip_bounds(owner, x_min, x_max):
    """The bounds of a clip (``owner``: clip or Clip, which the errors name) as it keeps
    them: each None, a Python number (NumPy scalars become one) or an array of real
    numbers; x_min no greater than x_max wherever both are given."""
    x_min, x_max = _clip_bound(owner, x_min, 'x_min'), _clip_bound(owner, x_max, 'x_max')
    if x_min is not None and x_max is not None:
        inverted = x_min > x_max
        if np.any(inverted):
            if np.ndim(inverted) == 0:
                raise ValueError(f'{owner}: x_min ({x_min}) is greater than x_max ({x_max})')
            raise ValueError(
                f'{owner}: x_min is greater than x_max at {int(inverted.sum())} of '
                f'{inverted.size} places (bounds of shapes {np.shape(x_min)} and '
                f'{np.shape(x_max)}); expected x_min <= x_max everywhere'
            )
    return x_min, x_max


def _clip_bound(owner, b, name):
    """The bound ``b`` (named ``name``) of a clip: None, a Python number, or an array
    of bools, integers or floats; anything else is refused naming ``owner``."""
    if isinstance(b, np.generic):
        b = b.item()
    if b is None or isinstance(b, (int, float)):
        return b
    if not cuda.is_array(b) or b.dtype.kind not in 'biuf':
        got = f'{type(b).__name__} of dtype {b.dtype}' if cuda.is_array(b) else type(b).__name__
        hint = '; a bound is a constant: pass its .data' if isinstance(b, Variable) else ''
        raise TypeError(
            f'{owner}: {name} must be None, a number or an array of numbers, got {got}{hint}'
        )
    return b


def _fitted_bound(owner, b, name, x):
    """The checked bound ``b`` of a clip of ``x`` (an array or a Variable), in x's
    dtype when that is floating point, so that a float32 x stays float32: a number is
    refused when that dtype cannot hold it (OverflowError from
    :func:`~dezero.array_ops.float_number`: 1e-8 or 70000 for float16), as the other
    functions refuse it, and so is an array bound holding such a value; an array bound
    must broadcast to x's shape (the result has x's shape)."""
    if b is None:
        return b
    if not cuda.is_array(b):
        return float_number(b, x.dtype, f'{owner}: {name}', 'x') if x.dtype.kind == 'f' else b
    if not broadcasts_to(b.shape, x.shape):
        raise ValueError(
            f'{owner}: {name} of shape {b.shape} does not broadcast to the shape {x.shape} of x'
        )
    if x.dtype.kind != 'f':
        return b
    if not cast_can_overflow(b.dtype, x.dtype):
        return b.astype(x.dtype, copy=False)
    with np.errstate(over='ignore', under='ignore'):
        fitted = b.astype(x.dtype)
    xp = cuda.get_array_module(b)
    lost = (xp.isinf(fitted) & xp.isfinite(b)) | ((fitted == 0) & (b != 0))
    if lost.any():  # as float_number refuses such a number
        float_number(b[lost].ravel()[0].item(), x.dtype, f'{owner}: {name}', 'x')
    return fitted


def erf(x):
    """The error function erf(x) = 2 / sqrt(pi) * integral of exp(-t**2) from 0 to x,
    elementwise, accurate to a few units in the last place (±1 at ±inf, nan at nan;
    integers give float64).  Derivative: 2 / sqrt(pi) * exp(-x**2)."""
    return Erf()(x)

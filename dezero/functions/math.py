"""Elementwise mathematical functions: sin, cos, tan, tanh, exp, log, sqrt, abs, square,
clip.

Each backward is written with operations that work on arrays and on Variables alike
(often reusing the forward output), so every function here is differentiable to any
order where the math allows.  Where a derivative is worth one pass over the data instead
of several, it is a function of its own: :class:`TanhGrad`, and
:class:`PiecewiseLinearGrad`, which abs and clip share with relu and leaky_relu.
"""

import numpy as np

from dezero import cuda
from dezero.core import Function


class Sin(Function):
    """y = sin(x). Derivative: cos(x)."""

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return cuda.get_array_module(x).sin(x)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return gy * cos(x)


class Cos(Function):
    """y = cos(x). Derivative: -sin(x)."""

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return cuda.get_array_module(x).cos(x)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return -gy * sin(x)


class Tan(Function):
    """y = tan(x). Derivative: 1 + tan(x)**2."""

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return cuda.get_array_module(x).tan(x)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return gy * y * y + gy


class Tanh(Function):
    """y = tanh(x). Derivative: 1 - y**2 (computed by :class:`TanhGrad`)."""

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return cuda.get_array_module(x).tanh(x)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return TanhGrad()(y, gy)


class TanhGrad(Function):
    """gx = gy * (1 - y**2): the gradient of tanh given its output y and the gradient
    gy, in one pass over the data, and as one node rather than three, so that every
    further derivative of tanh records fewer operations.
    Derivatives: -2 y gy g to y, and TanhGrad(y, g) to gy."""

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

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return cuda.get_array_module(x).exp(x)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return gy * y


class Log(Function):
    """y = log(x) (natural). Derivative: 1 / x."""

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return cuda.get_array_module(x).log(x)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return gy / x


class Sqrt(Function):
    """y = sqrt(x). Derivative: 1 / (2 y)."""

    retain_inputs = ()
    retain_outputs = (0,)

    def forward(self, x):
        return cuda.get_array_module(x).sqrt(x)

    def backward(self, gy):
        (y,) = self.retained_outputs()
        return gy / (2 * y)


class Square(Function):
    """y = x**2. Derivative: 2x."""

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return gy * (2 * x)


# ---- piecewise-linear functions ----------------------------------------------------------
class PiecewiseLinearGrad(Function):
    """gx = gy * slope(x): the gradient of a piecewise-linear function (abs, clip, relu,
    leaky_relu) given x, or any array that tells its pieces apart (relu passes its
    output), and gy.  ``times_slope(x, gy)`` is that function's array code for the
    product.  The slope is constant on each piece, so the derivative in x is 0 (also
    taken as 0 at the kinks: None is returned) and the one in gy is the same product,
    ``PiecewiseLinearGrad(times_slope)(x, g)``."""

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
    """gy * sign(x) on arrays: the gradient of |x|."""
    return gy * cuda.get_array_module(x).sign(x)


class Abs(Function):
    """y = |x|. Derivative: sign(x) (0 at x = 0)."""

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return cuda.get_array_module(x).abs(x)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return PiecewiseLinearGrad(_times_sign)(x, gy)


class Clip(Function):
    """y = x limited to [x_min, x_max]. Derivative: 1 inside the range, 0 outside."""

    retain_inputs = (0,)
    retain_outputs = ()

    def __init__(self, x_min, x_max):
        self.x_min = x_min
        self.x_max = x_max

    def forward(self, x):
        return cuda.get_array_module(x).clip(x, self.x_min, self.x_max)

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return PiecewiseLinearGrad(self._times_slope)(x, gy)

    def _times_slope(self, x, gy):
        """gy where x is inside the range, 0 where it is clipped, on arrays."""
        # inside the range means left unchanged by clipping (a bound may be None)
        inside = x == self.forward(x)
        return gy * inside.astype(gy.dtype)


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
    """Elementwise absolute value. Derivative: sign(x), taken as 0 at 0."""
    return Abs()(x)


def square(x):
    """Elementwise x**2. Derivative: 2x."""
    return Square()(x)


def clip(x, x_min, x_max):
    """Limit ``x`` to [x_min, x_max]; either bound may be None (no limit on that side).
    Derivative: 1 where x is inside, 0 where clipped.

    NumPy scalar bounds count as Python numbers, so that a float32 ``x`` stays float32."""
    x_min, x_max = (b.item() if isinstance(b, np.generic) else b for b in (x_min, x_max))
    if x_min is not None and x_max is not None and x_min > x_max:
        raise ValueError(f'clip: x_min ({x_min}) is greater than x_max ({x_max})')
    return Clip(x_min, x_max)(x)

"""Elementwise mathematical functions: sin, cos, tan, tanh, exp, log, sqrt, abs, square,
clip.

Each backward is written with Variable operations (often reusing the forward output),
so every function here is differentiable to any order where the math allows; each
``backward_arrays`` evaluates the same derivative on arrays, its temporaries starting
from gy so that the gradient gets the dtype ``backward`` would give.
"""
import numpy as np

from dezero import cuda
from dezero.core import Function


def _output(f):
    """The (still alive) output Variable of a single-output function."""
    return f.outputs[0]()


class Sin(Function):
    """y = sin(x). Derivative: cos(x)."""
    needs_output_data = False

    def forward(self, x):
        return cuda.get_array_module(x).sin(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * cos(x)

    def backward_arrays(self, gy):
        x = self.inputs[0].data
        return gy * cuda.get_array_module(x).cos(x)


class Cos(Function):
    """y = cos(x). Derivative: -sin(x)."""
    needs_output_data = False

    def forward(self, x):
        return cuda.get_array_module(x).cos(x)

    def backward(self, gy):
        x, = self.inputs
        return gy * -sin(x)

    def backward_arrays(self, gy):
        x = self.inputs[0].data
        gx = -gy
        gx *= cuda.get_array_module(x).sin(x)
        return gx


class Tan(Function):
    """y = tan(x). Derivative: 1 + tan(x)**2."""
    needs_input_data = False
    needs_output_data = True

    def forward(self, x):
        return cuda.get_array_module(x).tan(x)

    def backward(self, gy):
        y = _output(self)
        return gy * (1 + y * y)

    def backward_arrays(self, gy):
        y = _output(self).data
        gx = gy * y               # gy + gy y², in place
        gx *= y
        gx += gy
        return gx


class Tanh(Function):
    """y = tanh(x). Derivative: 1 - y**2 (computed by :class:`TanhGrad`)."""
    needs_input_data = False
    needs_output_data = True

    def forward(self, x):
        return cuda.get_array_module(x).tanh(x)

    def backward(self, gy):
        return TanhGrad()(_output(self), gy)

    def backward_arrays(self, gy):
        return _tanh_grad_array(_output(self).data, gy)


class TanhGrad(Function):
    """gx = gy * (1 - y**2): the gradient of tanh given its output y and the gradient
    gy, as one function rather than three, so that every further derivative of tanh
    records fewer operations.  Derivatives: -2 y gy g to y, and TanhGrad(y, g) to gy."""
    needs_output_data = False

    def forward(self, y, gy):
        return _tanh_grad_array(y, gy)

    def backward(self, g):
        y, gy = self.inputs
        wanted = self.needs_input_grad or (True, True)
        return (-2.0 * y * gy * g if wanted[0] else None,
                TanhGrad()(y, g) if wanted[1] else None)

    def backward_arrays(self, g):
        y, gy = self.inputs[0].data, self.inputs[1].data
        gy_of_y = g * y           # a fresh array: finished in place
        gy_of_y *= gy
        gy_of_y *= -2
        return gy_of_y, _tanh_grad_array(y, g)


def _tanh_grad_array(y, gy):
    """gy * (1 - y**2) on arrays: gy - gy y², in place on one fresh array."""
    gx = -gy
    gx *= y
    gx *= y
    gx += gy
    return gx


class Exp(Function):
    """y = exp(x). Derivative: y."""
    needs_input_data = False
    needs_output_data = True

    def forward(self, x):
        return cuda.get_array_module(x).exp(x)

    def backward(self, gy):
        return gy * _output(self)

    def backward_arrays(self, gy):
        return gy * _output(self).data


class Log(Function):
    """y = log(x) (natural). Derivative: 1 / x."""
    needs_output_data = False

    def forward(self, x):
        return cuda.get_array_module(x).log(x)

    def backward(self, gy):
        x, = self.inputs
        return gy / x

    def backward_arrays(self, gy):
        return gy / self.inputs[0].data


class Sqrt(Function):
    """y = sqrt(x). Derivative: 1 / (2 y)."""
    needs_input_data = False
    needs_output_data = True

    def forward(self, x):
        return cuda.get_array_module(x).sqrt(x)

    def backward(self, gy):
        return gy / (2 * _output(self))

    def backward_arrays(self, gy):
        return gy / (2 * _output(self).data)


class Abs(Function):
    """y = |x|. Derivative: sign(x) (0 at x = 0)."""
    needs_output_data = False

    def forward(self, x):
        return cuda.get_array_module(x).abs(x)

    def backward(self, gy):
        x, = self.inputs
        xp = cuda.get_array_module(x.data)
        return gy * xp.sign(x.data)

    backward_arrays = backward        # sign(x) is an array: the same code serves both


class Square(Function):
    """y = x**2. Derivative: 2x."""
    needs_output_data = False

    def forward(self, x):
        return x * x

    def backward(self, gy):
        x, = self.inputs
        return gy * (2 * x)

    def backward_arrays(self, gy):
        return gy * (2 * self.inputs[0].data)


class Clip(Function):
    """y = x limited to [x_min, x_max]. Derivative: 1 inside the range, 0 outside."""
    needs_output_data = False

    def __init__(self, x_min, x_max):
        self.x_min = x_min
        self.x_max = x_max

    def forward(self, x):
        return cuda.get_array_module(x).clip(x, self.x_min, self.x_max)

    def backward(self, gy):
        x, = self.inputs
        # inside the range means left unchanged by clipping (a bound may be None)
        mask = x.data == self.forward(x.data)
        return gy * mask.astype(gy.dtype)

    backward_arrays = backward        # the mask is an array: the same code serves both


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

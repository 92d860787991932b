"""Activation functions: sigmoid, relu, leaky_relu, softmax, log_softmax.

All are stable for large inputs (no overflow at |x| = 1000; harmless underflow to 0 is
allowed without a floating-point warning) and differentiable to second order: each
backward is written with Variable operations, mostly on the forward output, and each
``backward_arrays`` evaluates the same derivative on arrays.  All but leaky_relu read
only their output in backward, never their input.
"""
import numpy as np

from dezero import cuda
from dezero.array_ops import normalize_axis
from dezero.core import Function, as_variable
from dezero.functions.reduction import sum as _sum


def _output(f):
    """The (still alive) output Variable of a single-output function."""
    return f.outputs[0]()


def check_axis(name, axis, ndim):
    """Validate ``axis`` (an int or a tuple of ints) for an ``ndim``-dimensional input
    of the function ``name``; return it as a sorted tuple of non-negative axes."""
    parts = axis if isinstance(axis, tuple) else (axis,)
    if not parts or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                            for a in parts):
        raise TypeError(f'{name}: axis must be an int or a non-empty tuple of ints, got '
                        f'{axis!r}')
    try:
        return normalize_axis(axis, ndim)
    except ValueError as e:
        raise ValueError(f'{name}: {e}') from None


def quiet_exp(x):
    """exp of the array ``x``, where results too small for the dtype become 0 without
    a warning."""
    with np.errstate(under='ignore'):
        return cuda.get_array_module(x).exp(x)


def stable_logsumexp(x, axes):
    """log(sum(exp(x))) over ``axes`` with keepdims, for an array ``x``: shifted by the
    maximum, so nothing overflows; terms too small to matter underflow quietly to 0."""
    m = x.max(axis=axes, keepdims=True)
    s = quiet_exp(x - m).sum(axis=axes, keepdims=True)
    return m + cuda.get_array_module(x).log(s)


class QuietExp(Function):
    """y = exp(x), where results too small for the dtype become 0 without a warning.
    Derivative: y."""
    needs_input_data = False
    needs_output_data = True

    def forward(self, x):
        return quiet_exp(x)

    def backward(self, gy):
        return gy * _output(self)

    def backward_arrays(self, gy):
        return gy * _output(self).data


# ---- sigmoid ---------------------------------------------------------------------------
def sigmoid_array(x):
    """1 / (1 + exp(-x)) of the array ``x``, as a fresh float array."""
    xp = cuda.get_array_module(x)
    # For very negative x, exp(-x) overflows to inf and 1 / (1 + inf) is exactly
    # the 0 the true value rounds to; short of that the tail keeps its relative
    # accuracy.  In place on one fresh array: as fast as the plain formula.
    z = xp.empty(x.shape, x.dtype if x.dtype.kind == 'f' else xp.float64)
    xp.negative(x, out=z)
    with np.errstate(over='ignore', under='ignore'):
        xp.exp(z, out=z)
        z += 1
        return xp.reciprocal(z, out=z)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)). Derivative: y (1 - y)."""
    needs_input_data = False
    needs_output_data = True

    def forward(self, x):
        return sigmoid_array(x)

    def backward(self, gy):
        y = _output(self)
        return gy * y * (1 - y)

    def backward_arrays(self, gy):
        y = _output(self).data
        gx = gy * y               # a fresh array: finished in place
        gx *= 1 - y
        return gx


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + e**-x), elementwise. Derivative: y (1 - y)."""
    return Sigmoid()(x)


# ---- relu ------------------------------------------------------------------------------
class ReLU(Function):
    """y = max(x, 0). Derivative: 1 where x > 0, else 0 (read from y: y > 0 exactly
    where x > 0)."""
    needs_input_data = False
    needs_output_data = True

    def forward(self, x):
        return cuda.get_array_module(x).maximum(x, 0)

    def backward(self, gy):
        return gy * (_output(self).data > 0).astype(gy.dtype)

    def backward_arrays(self, gy):
        return gy * (_output(self).data > 0)


def relu(x):
    """Rectified linear unit max(x, 0), elementwise. Derivative: 1 for x > 0, else 0
    (0 at x = 0)."""
    return ReLU()(x)


class LeakyReLU(Function):
    """y = x for x > 0, slope * x otherwise. Derivative: 1 or slope."""
    needs_output_data = False

    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        return cuda.get_array_module(x).where(x > 0, x, x * self.slope)

    def backward(self, gy):
        x, = self.inputs
        xp = cuda.get_array_module(x.data)
        factor = xp.where(x.data > 0, 1.0, self.slope).astype(gy.dtype)
        return gy * factor

    backward_arrays = backward        # the factor is an array: the same code serves both


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
    """exp(x) / sum(exp(x), axis) of the array ``x``, stably, as a fresh array."""
    e = quiet_exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


class Softmax(Function):
    """y = exp(x) / sum(exp(x), axis). Derivative: y * gy - y * sum(y * gy, axis)."""
    needs_input_data = False
    needs_output_data = True

    def __init__(self, axis=1):
        self.axis = axis

    def forward(self, x):
        return softmax_array(x, self.axis)

    def backward(self, gy):
        y = _output(self)
        gx = y * gy
        return gx - y * _sum(gx, self.axis, keepdims=True)

    def backward_arrays(self, gy):
        y = _output(self).data
        gx = y * gy
        gx -= y * gx.sum(axis=self.axis, keepdims=True)
        return gx


def softmax(x, axis=1):
    """Softmax over ``axis`` (an int or a tuple of ints): exp(x) normalised to sum to 1,
    computed stably. Derivative: y * gy - y * sum(y * gy, axis)."""
    x = as_variable(x)
    return Softmax(check_axis('softmax', axis, x.ndim))(x)


class LogSoftmax(Function):
    """y = x - log(sum(exp(x), axis)). Derivative: gy - exp(y) * sum(gy, axis)."""
    needs_input_data = False
    needs_output_data = True

    def __init__(self, axis=1):
        self.axis = axis

    def forward(self, x):
        return x - stable_logsumexp(x, self.axis)

    def backward(self, gy):
        y = _output(self)
        return gy - QuietExp()(y) * _sum(gy, self.axis, keepdims=True)

    def backward_arrays(self, gy):
        gx = quiet_exp(_output(self).data) * -gy.sum(axis=self.axis, keepdims=True)
        gx += gy
        return gx


def log_softmax(x, axis=1):
    """Logarithm of :func:`softmax` over ``axis``, computed stably as
    x - logsumexp(x). Derivative: gy - softmax(x) * sum(gy, axis)."""
    x = as_variable(x)
    return LogSoftmax(check_axis('log_softmax', axis, x.ndim))(x)

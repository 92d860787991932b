"""The arithmetic behind the operators ``+ - * / **`` and unary ``-``.

Binary operations broadcast like NumPy; in backward each input's gradient is summed back
to that input's own shape.  Where ``backward`` is written with operators that arrays
have too, the same method serves as ``backward_arrays``.
"""
import numpy as np

from dezero import cuda
from dezero.array_ops import sum_to as _sum_to_array
from dezero.core import Function, Variable, as_variable
from dezero.functions.array import sum_to
from dezero.functions.math import log


def _sum_to(g, shape):
    """The gradient ``g`` (a Variable, or an array on the first-order pass) summed down
    to ``shape``; ``g`` itself when it has that shape (and None for None)."""
    if g is None:
        return None
    if isinstance(g, Variable):
        return sum_to(g, shape)
    return _sum_to_array(g, shape)


def _unbroadcast(gx0, gx1, x0_shape, x1_shape):
    """Sum the two gradients (Variables or arrays) of a broadcasting binary function
    back to the input shapes."""
    if x0_shape != x1_shape:
        gx0 = _sum_to(gx0, x0_shape)
        gx1 = _sum_to(gx1, x1_shape)
    return gx0, gx1


class Add(Function):
    """y = x0 + x1. Derivative: gy to both inputs."""
    needs_input_data = False
    needs_output_data = False

    def forward(self, x0, x1):
        self.x0_shape, self.x1_shape = x0.shape, x1.shape
        return x0 + x1

    def backward(self, gy):
        return _unbroadcast(gy, gy, self.x0_shape, self.x1_shape)

    backward_arrays = backward


class Sub(Function):
    """y = x0 - x1. Derivative: gy to x0, -gy to x1."""
    needs_input_data = False
    needs_output_data = False

    def forward(self, x0, x1):
        self.x0_shape, self.x1_shape = x0.shape, x1.shape
        return x0 - x1

    def backward(self, gy):
        return _unbroadcast(gy, -gy, self.x0_shape, self.x1_shape)

    backward_arrays = backward


class Mul(Function):
    """y = x0 * x1. Derivative: gy * x1 to x0, gy * x0 to x1."""
    needs_output_data = False

    def forward(self, x0, x1):
        return x0 * x1

    def backward(self, gy):
        x0, x1 = self.inputs
        wanted = self.needs_input_grad or (True, True)
        return _unbroadcast(gy * x1 if wanted[0] else None,
                            gy * x0 if wanted[1] else None, x0.shape, x1.shape)

    def backward_arrays(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        return _unbroadcast(gy * x1, gy * x0, x0.shape, x1.shape)


class Div(Function):
    """y = x0 / x1. Derivative: gy / x1 to x0, -gy * x0 / x1**2 to x1."""
    needs_output_data = False

    def forward(self, x0, x1):
        return x0 / x1

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = gy / x1
        gx1 = gx0 * (-x0 / x1)
        return _unbroadcast(gx0, gx1, x0.shape, x1.shape)

    def backward_arrays(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        gx0 = gy / x1
        gx1 = -gx0                # a fresh array of y's shape: finished in place
        gx1 *= x0
        gx1 /= x1
        return _unbroadcast(gx0, gx1, x0.shape, x1.shape)


class Neg(Function):
    """y = -x. Derivative: -gy."""
    needs_input_data = False
    needs_output_data = False

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy

    backward_arrays = backward


class Pow(Function):
    """y = x ** c for a constant exponent c. Derivative: c * x ** (c - 1) * gy."""
    needs_output_data = False

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        return self._derivative(self.inputs[0], gy)

    def backward_arrays(self, gy):
        return self._derivative(self.inputs[0].data, gy)

    def _derivative(self, x, gy):
        """c * x ** (c - 1) * gy for x and gy both Variables or both arrays."""
        c = self.c
        if c == 0:
            return gy * 0
        if c == 1:
            return gy
        return (x ** (c - 1)) * c * gy


class PowVariable(Function):
    """y = x0 ** x1 with both sides Variables.
    Derivative: gy * x1 * x0 ** (x1 - 1) to x0, gy * y * log(x0) to x1."""
    needs_output_data = True

    def forward(self, x0, x1):
        return x0 ** x1

    def backward(self, gy):
        x0, x1 = self.inputs
        y = self.outputs[0]()
        gx0 = gy * x1 * x0 ** (x1 - 1)
        gx1 = gy * y * log(x0)
        return _unbroadcast(gx0, gx1, x0.shape, x1.shape)

    def backward_arrays(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        gx0 = gy * x1
        gx0 *= x0 ** (x1 - 1)
        gx1 = gy * self.outputs[0]().data
        gx1 *= cuda.get_array_module(x0).log(x0)
        return _unbroadcast(gx0, gx1, x0.shape, x1.shape)


# ---- one Variable and a constant --------------------------------------------------------
# ``x * 2.0`` or ``x + np.ones(3)`` record the constant inside the function instead of as
# a second input, so backward computes one gradient, not two (one of them thrown away).
class _ConstantOp(Function):
    """Base of ``x op c`` with a constant array ``c`` (broadcasting); the gradient is
    summed back to x's shape when broadcasting widened it."""
    needs_output_data = False

    def __init__(self, c):
        self.c = c

    def _to_input_shape(self, gx):
        """``gx`` (a Variable or an array) summed down to the shape of x."""
        return _sum_to(gx, self.inputs[0].data.shape)


class AddConstant(_ConstantOp):
    """y = x + c. Derivative: gy."""
    needs_input_data = False
    needs_output_data = False

    def forward(self, x):
        return x + self.c

    def backward(self, gy):
        return self._to_input_shape(gy)

    backward_arrays = backward


class SubFromConstant(_ConstantOp):
    """y = c - x. Derivative: -gy."""
    needs_input_data = False
    needs_output_data = False

    def forward(self, x):
        return self.c - x

    def backward(self, gy):
        return self._to_input_shape(-gy)

    backward_arrays = backward


class MulConstant(_ConstantOp):
    """y = x * c. Derivative: gy * c."""
    needs_input_data = False
    needs_output_data = False

    def forward(self, x):
        return x * self.c

    def backward(self, gy):
        return self._to_input_shape(MulConstant(self.c)(gy))

    def backward_arrays(self, gy):
        return self._to_input_shape(gy * self.c)


class DivConstant(_ConstantOp):
    """y = x / c. Derivative: gy / c."""
    needs_input_data = False
    needs_output_data = False

    def forward(self, x):
        return x / self.c

    def backward(self, gy):
        return self._to_input_shape(DivConstant(self.c)(gy))

    def backward_arrays(self, gy):
        return self._to_input_shape(gy / self.c)


class DivFromConstant(_ConstantOp):
    """y = c / x. Derivative: -gy * c / x**2."""
    needs_output_data = False

    def forward(self, x):
        return self.c / x

    # gy / x / x rather than gy / (x * x): x * x overflows for |x| beyond the square
    # root of the largest float, where the gradient itself is tiny and finite
    def backward(self, gy):
        x, = self.inputs
        return self._to_input_shape(MulConstant(-self.c)(gy / x / x))

    def backward_arrays(self, gy):
        x = self.inputs[0].data
        gx = gy / x
        gx /= x
        gx *= -self.c
        return self._to_input_shape(gx)


class PowFromConstant(_ConstantOp):
    """y = c ** x. Derivative: gy * y * log(c)."""
    needs_input_data = False
    needs_output_data = True

    def forward(self, x):
        return self.c ** x

    def backward(self, gy):
        y = self.outputs[0]()
        log_c = cuda.get_array_module(self.c).log(self.c)
        return self._to_input_shape(MulConstant(log_c)(gy * y))

    def backward_arrays(self, gy):
        log_c = cuda.get_array_module(self.c).log(self.c)
        return self._to_input_shape(gy * self.outputs[0]().data * log_c)


def add(x0, x1):
    """x0 + x1, broadcasting. Derivative: gy to both, summed to each input's shape."""
    return Add()(x0, x1)


def sub(x0, x1):
    """x0 - x1, broadcasting. Derivative: gy and -gy, summed to each input's shape."""
    return Sub()(x0, x1)


def mul(x0, x1):
    """x0 * x1, broadcasting. Derivative: gy * x1 and gy * x0."""
    return Mul()(x0, x1)


def div(x0, x1):
    """x0 / x1, broadcasting. Derivative: gy / x1 and -gy * x0 / x1**2."""
    return Div()(x0, x1)


def rsub(x0, x1):
    """x1 - x0 (the subtraction with its operands swapped, as ``x1 - x0`` computes it
    when only x0 is a Variable): x1 may be a Variable, an array or a scalar, and a
    Python scalar takes x0's dtype.  Derivative: -gy to x0 (and gy to a Variable x1)."""
    return x1 - as_variable(x0)


def rdiv(x0, x1):
    """x1 / x0 (the division with its operands swapped, as ``x1 / x0`` computes it when
    only x0 is a Variable): x1 may be a Variable, an array or a scalar, and a Python
    scalar takes x0's dtype.  Derivative: -gy * x1 / x0**2 to x0 (and gy / x0 to a
    Variable x1)."""
    return x1 / as_variable(x0)


def neg(x):
    """-x. Derivative: -gy."""
    return Neg()(x)


def pow(x, c):
    """x ** c, elementwise. With a constant c the derivative is c * x ** (c - 1);
    with a Variable c it is also differentiated in c: x ** c * log(x).

    A NumPy scalar exponent counts as a Python number, so that ``float32 ** np.float64(2)``
    stays float32."""
    if isinstance(c, Variable):
        return PowVariable()(x, c)
    if isinstance(c, np.ndarray) and c.ndim > 0:
        return PowVariable()(x, as_variable(c))
    if isinstance(c, np.generic):
        c = c.item()
    return Pow(c)(x)

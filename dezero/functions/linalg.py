"""Linear algebra: matrix products, plain (2-D) and batched (leading axes broadcast).

Two integer (or bool) operands are multiplied in float64, as the convolutions do: in
their own dtype the sums of products would wrap round (int8: 100 * 100 * 3 is 48), and
a product of bools would be NumPy's logical one.  The result is exact while the sums
and products stay within 2**53, float64's integers.  An integer beside a floating-point
operand is promoted by NumPy's rules.  Two float16 operands are multiplied in float32
(see :func:`matmul_array`).
"""

import numpy as np

from dezero.array_ops import FLOAT16, float_data, is_float16
from dezero.core import Function, Variable
from dezero.functions.array import as_input, reshape, sum_to


def _swap_last(x):
    """x (an array or a Variable of two or more dimensions) with its last two axes
    swapped."""
    if x.ndim == 2:
        return x.T
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return x.transpose(axes)


def matmul_array(a, b):
    """``a @ b`` for two arrays, except that two float16 operands are multiplied in
    float32 and the product is rounded to float16 once: NumPy has no BLAS kernel for
    float16, and its own float16 product (which sums in float32 too) is some hundred
    times slower.  Other dtypes as NumPy multiplies them, and CuPy arrays as CuPy does
    (cuBLAS sums float16 products in float32, on the tensor cores)."""
    if type(a) is np.ndarray and is_float16(a.dtype) and is_float16(b.dtype):
        return (a.astype(np.float32) @ b.astype(np.float32)).astype(FLOAT16)
    return a @ b


def _sum_to(g, shape):
    """The gradient ``g`` summed down to ``shape`` over broadcast batch axes."""
    return g if g.shape == shape else sum_to(g, shape)


def backward_product(a, b, shape=None):
    """``a @ b`` as a backward computes it, summed down to ``shape`` (over broadcast
    batch axes) where given: of Variables (a recorded backward) by :class:`MatMul`;
    of two float16 NumPy arrays in float32, product and sum, rounded to float16 once;
    of other arrays by NumPy or CuPy."""
    if isinstance(a, Variable):
        y = a @ b
    elif type(a) is np.ndarray and is_float16(a.dtype) and is_float16(b.dtype):
        y = a.astype(np.float32) @ b.astype(np.float32)
        return (y if shape is None else _sum_to(y, shape)).astype(FLOAT16)
    else:
        y = a @ b
    return y if shape is None else _sum_to(y, shape)


class MatMul(Function):
    """y = x0 @ x1 for inputs of two or more dimensions (leading axes broadcast).
    Derivative: gy @ x1ᵀ to x0 and x0ᵀ @ gy to x1, summed over broadcast batch axes."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def forward(self, x0, x1):
        if x0.ndim < 2 or x1.ndim < 2:
            raise ValueError(
                f'expected inputs of two or more dimensions, got shapes {x0.shape} and '
                f'{x1.shape} (F.matmul takes 1-D operands too)'
            )
        if x0.shape[-1] != x1.shape[-2]:
            raise ValueError(
                f'shapes {x0.shape} and {x1.shape} are not aligned: the last axis of the '
                f'first ({x0.shape[-1]}) must equal the second-to-last axis of the second '
                f'({x1.shape[-2]})'
            )
        if x0.dtype.kind in 'biu' and x1.dtype.kind in 'biu':  # see the module docstring
            return float_data(x0) @ float_data(x1)
        return matmul_array(x0, x1)

    def backward(self, gy, *, needs_input_grad):
        x0, x1 = self.retained_inputs()
        gx0 = backward_product(gy, _swap_last(x1), x0.shape) if needs_input_grad[0] else None
        gx1 = backward_product(_swap_last(x0), gy, x1.shape) if needs_input_grad[1] else None
        return gx0, gx1


def matmul(x, W):
    """Matrix product ``x @ W`` as in NumPy: 2-D, batched (N-D, leading axes
    broadcast), and 1-D operands treated as a row (left) or column (right) vector;
    two integer (or bool) operands give a float64 product.
    The arguments keep the book's names (``matmul(x, W=w)`` works as in the book).
    Derivative: gy @ Wᵀ to x and xᵀ @ gy to W."""
    x = as_input(x, 'matmul', 0, numbers_only=True)
    W = as_input(W, 'matmul', 1, numbers_only=True)
    if x.ndim == 0 or W.ndim == 0:
        raise ValueError(
            f'matmul: operands must have at least one dimension, got shapes {x.shape} and {W.shape}'
        )
    if x.ndim >= 2 and W.ndim >= 2:
        return MatMul()(x, W)
    # (an array stays an array, which MatMul then copies as a constant it reads)
    a = x.reshape((1,) + x.shape) if x.ndim == 1 else x
    b = W.reshape(W.shape + (1,)) if W.ndim == 1 else W
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f'matmul: shapes {x.shape} and {W.shape} are not aligned '
            f'({x.shape[-1]} != {W.shape[0] if W.ndim == 1 else W.shape[-2]})'
        )
    y = MatMul()(a, b)
    shape = y.shape
    if x.ndim == 1:
        shape = shape[:-2] + shape[-1:]
    if W.ndim == 1:
        shape = shape[:-1]
    return reshape(y, shape)


dot = matmul

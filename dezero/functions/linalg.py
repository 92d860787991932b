"""Linear algebra: matrix products, plain (2-D) and batched (leading axes broadcast)."""
from dezero.array_ops import sum_to as _sum_to_array
from dezero.core import Function, as_variable
from dezero.functions.array import reshape, sum_to, transpose


def _swap_last(x):
    """Transpose the last two axes of a Variable with two or more dimensions."""
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(x, axes)


class MatMul(Function):
    """y = x0 @ x1 for inputs of two or more dimensions (leading axes broadcast).
    Derivative: gy @ x1ᵀ to x0 and x0ᵀ @ gy to x1, summed over broadcast batch axes."""
    needs_output_data = False

    def forward(self, x0, x1):
        if x0.ndim < 2 or x1.ndim < 2 or x0.shape[-1] != x1.shape[-2]:
            raise ValueError(f'shapes {x0.shape} and {x1.shape} are not aligned: the last '
                             f'axis of the first ({x0.shape[-1]}) must equal the '
                             f'second-to-last axis of the second '
                             f'({x1.shape[-2] if x1.ndim >= 2 else x1.shape[0]})')
        return x0 @ x1

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = matmul(gy, _swap_last(x1))
        gx1 = matmul(_swap_last(x0), gy)
        return sum_to(gx0, x0.shape), sum_to(gx1, x1.shape)

    def backward_arrays(self, gy):
        x0, x1 = self.inputs[0].data, self.inputs[1].data
        gx0 = gy @ x1.swapaxes(-1, -2)
        gx1 = x0.swapaxes(-1, -2) @ gy
        return _sum_to_array(gx0, x0.shape), _sum_to_array(gx1, x1.shape)


def matmul(x0, x1):
    """Matrix product ``x0 @ x1`` as in NumPy: 2-D, batched (N-D, leading axes
    broadcast), and 1-D operands treated as a row (left) or column (right) vector.
    Derivative: gy @ x1ᵀ and x0ᵀ @ gy."""
    x0, x1 = as_variable(x0), as_variable(x1)
    if x0.ndim == 0 or x1.ndim == 0:
        raise ValueError(f'matmul: operands must have at least one dimension, got shapes '
                         f'{x0.shape} and {x1.shape}')
    if x0.ndim >= 2 and x1.ndim >= 2:
        return MatMul()(x0, x1)
    a = reshape(x0, (1,) + x0.shape) if x0.ndim == 1 else x0
    b = reshape(x1, x1.shape + (1,)) if x1.ndim == 1 else x1
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f'matmul: shapes {x0.shape} and {x1.shape} are not aligned '
                         f'({x0.shape[-1]} != {x1.shape[0] if x1.ndim == 1 else x1.shape[-2]})')
    y = MatMul()(a, b)
    shape = y.shape
    if x0.ndim == 1:
        shape = shape[:-2] + shape[-1:]
    if x1.ndim == 1:
        shape = shape[:-1]
    return reshape(y, shape)


dot = matmul

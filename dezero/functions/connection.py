"""Connections between layers: the affine map ``linear`` (x @ W + b) in one step, and
``embed_id``, the lookup of rows of an embedding matrix by integer ids."""
import numpy as np

from dezero import cuda
from dezero.core import Function, Variable, as_variable
from dezero.functions.array import get_item, reshape, sum_to
from dezero.functions.linalg import matmul


class Linear(Function):
    """y = x @ W (+ b) for x of shape (N, in), W (in, out) and b (out,) or no b.

    The product and the bias are computed in one forward, so no intermediate x @ W
    stays alive in the graph.  Derivative: gy @ Wᵀ to x, xᵀ @ gy to W and gy summed
    over the batch to b.  ``Linear(input_grad=False)`` skips the gradient of x (the
    largest product when x is a batch of data nobody differentiates by).
    """
    needs_output_data = False

    def __init__(self, input_grad=True):
        self.input_grad = input_grad

    def __call__(self, x, W, b=None):
        # ``Linear()(x, W, None)`` as the book writes it: no bias means two inputs
        if b is None:
            return super().__call__(x, W)
        return super().__call__(x, W, b)

    def forward(self, x, W, b=None):
        y = x @ W
        if b is not None:
            if np.result_type(y.dtype, b.dtype) == y.dtype:
                y += b                       # y is a fresh array: add in place
            else:
                y = y + b
        return y

    def backward(self, gy):
        x, W = self.inputs[:2]
        gx = matmul(gy, W.T) if self.input_grad else None
        gW = matmul(x.T, gy)
        if len(self.inputs) == 2:
            return gx, gW
        return gx, gW, sum_to(gy, self.inputs[2].shape)

    def backward_arrays(self, gy):
        x, W = self.inputs[0].data, self.inputs[1].data
        gx = gy @ W.T if self.input_grad else None
        gW = x.T @ gy
        if len(self.inputs) == 2:
            return gx, gW
        return gx, gW, gy.sum(axis=0)


def linear(x, W, b=None):
    """The affine map ``x @ W + b`` (``b`` may be None) for a batch x of shape
    (N, in) or a single sample of shape (in,), W of shape (in, out), b of shape (out,).
    Derivative: gy @ Wᵀ to x, xᵀ @ gy to W, the sum of gy over the batch to b.

    When x is a plain array rather than a Variable, no one can ask for its gradient,
    so backward does not compute it."""
    input_grad = isinstance(x, Variable)
    x, W = as_variable(x), as_variable(W)
    if W.ndim != 2:
        raise ValueError(f'linear: W must be 2-D (in, out), got shape {W.shape}')
    if x.ndim not in (1, 2) or x.shape[-1] != W.shape[0]:
        raise ValueError(f'linear: x of shape {x.shape} does not fit W of shape '
                         f'{W.shape}; expected x of shape (N, {W.shape[0]}) or '
                         f'({W.shape[0]},)')
    if b is None:
        inputs = (x, W)
    else:
        b = as_variable(b)
        if b.shape != (W.shape[1],):
            raise ValueError(f'linear: b of shape {b.shape} does not fit W of shape '
                             f'{W.shape}; expected b of shape ({W.shape[1]},)')
        inputs = (x, W, b)
    if x.ndim == 1:
        y = Linear(input_grad)(reshape(x, (1, x.shape[0])), *inputs[1:])
        return reshape(y, (W.shape[1],))
    return Linear(input_grad)(*inputs)


def embed_id(x, W):
    """The rows of the embedding matrix ``W`` (vocab, dim) picked by the integer ids
    ``x`` (an array of any shape, or a Variable holding one): ``W[x]``, of shape
    ``x.shape + (dim,)``.
    Derivative: to W, gy scattered back into zeros of W's shape, the rows of an id that
    occurs several times adding up; the ids get no gradient.

    Ids must be integers in ``[0, vocab)``; negative ids are refused rather than counted
    from the end; with W on the GPU, ids given on the CPU are copied there.  The
    lookup is :func:`~dezero.functions.get_item`, whose backward is itself
    differentiable, so higher derivatives with respect to W work too.
    """
    ids = x.data if isinstance(x, Variable) else x
    if isinstance(ids, (list, tuple, int, np.integer)) and not isinstance(ids, bool):
        ids = np.asarray(ids)
    if not isinstance(ids, cuda.array_types) or ids.dtype.kind not in 'iu':
        what = (f'an array of dtype {ids.dtype}' if hasattr(ids, 'dtype')
                else type(ids).__name__)
        raise TypeError(f'embed_id: x must hold integer ids, got {what}')
    W = as_variable(W)
    if W.ndim != 2:
        raise ValueError(f'embed_id: W must be 2-D (vocab, dim), got shape {W.shape}')
    if cuda.is_gpu_array(W.data) and not cuda.is_gpu_array(ids):
        ids = cuda.as_cupy(ids)         # host ids (a list, a NumPy array) for a GPU table
    elif cuda.is_gpu_array(ids) and not cuda.is_gpu_array(W.data):
        raise TypeError('embed_id: the ids are on the GPU but W is on the CPU; move W '
                        'there (to_gpu() on it or its layer) or the ids to the CPU')
    vocab = W.shape[0]
    if ids.size:
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= vocab:
            bad = low if low < 0 else high
            raise ValueError(f'embed_id: id {bad} is out of range for W of shape '
                             f'{W.shape}; ids must be in [0, {vocab})')
    return get_item(W, ids)

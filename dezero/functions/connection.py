"""Connections between layers: the affine map ``linear`` (x @ W + b) in one step, and
``embed_id``, the lookup of rows of an embedding matrix by integer ids."""

import operator
import reprlib

import numpy as np

from dezero import cuda
from dezero.array_ops import FLOAT16, column_sums, float_data
from dezero.core import Function, Variable, as_variable
from dezero.functions.array import as_input, get_item
from dezero.functions.linalg import backward_product


_matmul = operator.matmul


class Linear(Function):
    """y = x @ W (+ b) for x of shape (N, in), W (in, out) and b (out,) or no b.

    The product and the bias are computed in one forward, so no intermediate x @ W
    stays alive in the graph.  Derivative: gy @ Wᵀ to x, xᵀ @ gy to W and gy summed
    over the batch to b; backward computes only the gradients the pass asks for (none
    to x when x is a constant, such as a batch of data, whose product is the largest).
    """

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __call__(self, x, W, b=None):
        # ``Linear()(x, W, None)`` as the book writes it: no bias means two inputs
        if b is None:
            return super().__call__(x, W)
        return super().__call__(x, W, b)

    def forward(self, x, W, b=None):
        # two float16 operands in float32, the product and the bias added to it, then
        # rounded once (to float16, or to b's dtype where that is wider, as NumPy would
        # promote): NumPy has no BLAS kernel for float16, and rounding the product
        # before adding the bias rounds twice
        # (either byte order; on a GPU cuBLAS sums float16 in float32 itself)
        half = x.dtype.char == 'e' and W.dtype.char == 'e' and type(x) is np.ndarray
        if half:
            x, W = x.astype(np.float32), W.astype(np.float32)
        elif x.dtype.kind in 'biu' and W.dtype.kind in 'biu':  # as in functions.linalg
            x, W = float_data(x), float_data(W)
        y = x @ W
        if b is not None:
            if b.dtype == y.dtype or np.result_type(y.dtype, b.dtype) == y.dtype:
                y += b  # y is a fresh array: add in place
            else:
                y = y + b
        if half:
            return y.astype(FLOAT16 if b is None else np.result_type(FLOAT16, b.dtype), copy=False)
        return y

    def backward(self, gy, *, needs_input_grad):
        inputs = self.retained_inputs()
        x, W = inputs[0], inputs[1]
        product = backward_product if gy.dtype.char == 'e' else _matmul  # float16: in float32
        gx = product(gy, W.T) if needs_input_grad[0] else None
        gW = product(x.T, gy) if needs_input_grad[1] else None
        if len(needs_input_grad) == 2:
            return gx, gW
        return gx, gW, column_sums(gy) if needs_input_grad[2] else None


def linear(x, W, b=None):
    """The affine map ``x @ W + b`` (``b`` may be None) for a batch x of shape
    (N, in) or a single sample of shape (in,), W of shape (in, out), b of shape (out,);
    x and W both of integers (or bools) give a float64 result.
    Derivative: gy @ Wᵀ to x, xᵀ @ gy to W, the sum of gy over the batch to b.

    An operand given as a plain array rather than a Variable is a constant: no one can
    ask for its gradient, so backward does not compute it."""
    x, W = as_input(x, 'linear'), as_input(W, 'linear', 1)
    if W.ndim != 2:
        raise ValueError(f'linear: W must be 2-D (in, out), got shape {W.shape}')
    if x.ndim not in (1, 2) or x.shape[-1] != W.shape[0]:
        raise ValueError(
            f'linear: x of shape {x.shape} does not fit W of shape '
            f'{W.shape}; expected x of shape (N, {W.shape[0]}) or '
            f'({W.shape[0]},)'
        )
    if b is not None:
        b = as_input(b, 'linear', 2)
        if b.shape != (W.shape[1],):
            raise ValueError(
                f'linear: b of shape {b.shape} does not fit W of shape '
                f'{W.shape}; expected b of shape ({W.shape[1]},)'
            )
    return fitting_linear(x, W, b)


def fitting_linear(x, W, b=None):
    """:func:`linear` for operands already known to fit: x of shape (N, in) or (in,),
    W a 2-D Variable or array of shape (in, out), b None or of shape (out,).  For
    callers that have checked the shapes themselves, as the Linear layer does."""
    if x.ndim == 1:
        y = Linear()(x.reshape(1, x.shape[0]), W, b)
        return y.reshape(W.shape[1])
    if b is None:
        return Linear()(x, W)
    return Function.__call__(Linear(), x, W, b)  # (Linear.__call__ only drops a None b)


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
        try:
            ids = np.asarray(ids)
        except ValueError:  # a ragged nesting of lists
            raise ValueError(
                f'embed_id: x must be an array of integer ids (rows of equal length), '
                f'got {reprlib.repr(ids)}'
            ) from None
    if not isinstance(ids, cuda.array_types) or ids.dtype.kind not in 'iu':
        what = f'an array of dtype {ids.dtype}' if hasattr(ids, 'dtype') else type(ids).__name__
        raise TypeError(f'embed_id: x must hold integer ids, got {what}')
    W = as_variable(as_input(W, 'embed_id', 1))
    if W.ndim != 2:
        raise ValueError(f'embed_id: W must be 2-D (vocab, dim), got shape {W.shape}')
    if cuda.is_gpu_array(W.data) and not cuda.is_gpu_array(ids):
        ids = cuda.as_cupy(ids)  # host ids (a list, a NumPy array) for a GPU table
    elif cuda.is_gpu_array(ids) and not cuda.is_gpu_array(W.data):
        raise TypeError(
            'embed_id: the ids are on the GPU but W is on the CPU; move W '
            'there (to_gpu() on it or its layer) or the ids to the CPU'
        )
    vocab = W.shape[0]
    if ids.size:
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= vocab:
            bad = low if low < 0 else high
            raise ValueError(
                f'embed_id: id {bad} is out of range for W of shape '
                f'{W.shape}; ids must be in [0, {vocab})'
            )
    return get_item(W, ids)

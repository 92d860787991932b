"""The tutorial's compositions: linear, sigmoid, softmax, the two classic losses, conv2d
and max pooling written as chains of functions that already exist.

The book builds each of these first from primitives it has (matmul, exp, sum, im2col,
reshape, transpose, max, ...) and only later as one Function with a backward of its
own.  The ``*_simple`` versions here are those compositions: a graph of one shows every
piece, and the gradient comes from the pieces, so none of them states a derivative.
They compute what the fused functions compute (:func:`~dezero.functions.linear`,
:func:`~dezero.functions.sigmoid`, ...) with more graph nodes and more memory; the fused
ones are the ones to train with.
"""

import math

import numpy as np

from dezero import cuda
from dezero.array_ops import is_float16
from dezero.conv_ops import conv_geometry
from dezero.core import Variable, as_variable
from dezero.functions.activation import check_axis, softmax
from dezero.functions.array import as_input, astype, get_item
from dezero.functions.connection import linear
from dezero.functions.conv import im2col
from dezero.functions.linalg import matmul
from dezero.functions.loss import _paired, check_class_labels, check_label_shape
from dezero.functions.math import as_floating, clip, exp, log
from dezero.functions.reduction import sum

__all__ = [
    'linear_simple',
    'sigmoid_simple',
    'softmax_simple',
    'mean_squared_error_simple',
    'softmax_cross_entropy_simple',
    'conv2d_simple',
    'pooling_simple',
]


def _float_variable(x, name):
    """``x``, the input of the function ``name``, as a Variable of floating-point data:
    integers and bools in float64, as the fused functions compute them (-x and
    x - max(x) would wrap round in uint8).  A Variable holding no data is refused,
    naming the function."""
    return as_floating(as_variable(as_input(x, name)))


def _float16_in_float32(chain, x):
    """``chain(x)`` (a composition of functions), except that a float16 ``x`` goes
    through it in float32 and the result is rounded to float16 once, at the end, as the
    fused functions compute float16: its range and precision are too small for the
    steps in between (a sum of 65505 ones, a clip bound of 1e-15)."""
    if not is_float16(x.dtype):
        return chain(x)
    return astype(chain(astype(x, np.float32)), x.dtype)


def linear_simple(x, W, b=None):
    """x @ W + b (``b`` may be None) as two nodes, a matmul and an add.

    Neither the add's backward nor the matmul's reads the product x @ W, so the graph
    keeps only its shape and dtype, and its data is freed as soon as nothing else holds
    it: the book sets ``t.data = None`` for that by hand."""
    # arrays stay arrays: constants, which matmul copies when it keeps them for backward
    x = as_input(x, 'linear_simple', 0, numbers_only=True)
    W = as_input(W, 'linear_simple', 1, numbers_only=True)
    t = matmul(x, W)
    if b is None:
        return t
    return t + b


def sigmoid_simple(x):
    """1 / (1 + exp(-x)) as a chain of neg, clip, exp, add and div.

    The clip holds -x to at most floor(log(largest float)) (88 in float32, 709 in
    float64), so that exp(-x) stays finite: an infinite one would give a NaN gradient.
    The sigmoid of those x is below exp(-88) = 6e-39 (exp(-709) = 1e-308 in float64)
    and its derivative no larger, so the clip changes neither noticeably.  Integers
    are computed in float64; float16 in float32 (float16's limit would be 11, and
    every x below -11 would give 1.7e-5), the result rounded to float16, as
    :func:`~dezero.functions.sigmoid` does."""
    x = _float_variable(x, 'sigmoid_simple')

    def chain(x):
        limit = math.floor(math.log(float(np.finfo(x.dtype).max)))
        return 1 / (1 + exp(clip(-x, None, limit)))

    return _float16_in_float32(chain, x)


def softmax_simple(x, axis=1):
    """exp(x) / sum(exp(x), axis) as a chain of exp, sum and div (``axis`` an int or a
    tuple of ints).

    x is first shifted by its maximum over ``axis``, taken as a constant: the result
    and its gradient are the same for any shift, and exp can no longer overflow.
    Integers are computed in float64; float16 in float32 (a sum of more than 65504
    terms of 1 overflows float16), the result rounded to float16, as
    :func:`~dezero.functions.softmax` does."""
    x = _float_variable(x, 'softmax_simple')
    axis = check_axis('softmax_simple', axis, x.ndim)

    def chain(x):
        if x.size:  # (an empty x has no maximum, nor anything to overflow)
            x = x - x.data.max(axis=axis, keepdims=True)
        y = exp(x)
        return y / sum(y, axis=axis, keepdims=True)

    return _float16_in_float32(chain, x)


def mean_squared_error_simple(x0, x1):
    """sum((x0 - x1) ** 2) / len(x0) as a chain of sub, pow, sum and div.

    x0 and x1 have the same shape, with at least one axis (its length is the batch
    size), or shapes that differ only in axes of size 1, as (N, 1) and (N,): then, as
    :func:`~dezero.functions.mean_squared_error` does, the one with fewer axes (x1 if
    both have as many) is reshaped to the other's shape rather than broadcast, which
    would compare every element of one with every element of the other.  When both
    hold integers, the difference is taken in float64 (it would wrap round).  A
    float16 difference is squared, summed and divided in float32 and the mean rounded
    to float16, as :func:`~dezero.functions.mean_squared_error` does: in float16 a
    square overflows past 256², and a batch of more than 65504 has no float16 length."""
    name = 'mean_squared_error_simple'
    x0, x1 = as_variable(as_input(x0, name)), as_variable(as_input(x1, name, 1))
    if x0.dtype.kind in 'biu' and x1.dtype.kind in 'biu':
        x0 = as_floating(x0)
    x0, x1 = _paired(name, x0, x1)
    return _float16_in_float32(lambda diff: sum(diff**2) / len(diff), x0 - x1)


def _class_labels(name, t, n, classes):
    """The labels ``t`` (a Variable, an array or a list) as an integer array of shape
    (n,) with values in [0, classes), from labels of shape (n,) or (n, 1) (see
    :func:`dezero.functions.loss.check_label_shape`)."""
    if isinstance(t, Variable):
        t = t.data
    if isinstance(t, (list, tuple)):
        t = np.asarray(t)
    if not isinstance(t, cuda.array_types) or t.dtype.kind not in 'iu':
        what = f'dtype {t.dtype}' if hasattr(t, 'dtype') else type(t).__name__
        raise TypeError(f'{name}: t must hold integer class labels, got {what}')
    check_label_shape(name, t, (n, classes))
    t = t.reshape(n)
    check_class_labels(name, t, classes)
    return t


def softmax_cross_entropy_simple(x, t):
    """-mean over the rows i of log(softmax(x)[i, t[i]]) for logits x (N, C) and
    integer labels t (N labels), as a chain of softmax, clip, log, get_item, sum and
    div.

    The probabilities are clipped to [1e-15, 1] before the log, so a row whose label's
    probability underflows to 0 costs -log(1e-15) = 34.5 (with gradient 0 to the
    softmax) instead of infinity.  float16 logits are computed in float32 (float16
    has no 1e-15, and no count of more than 65504 rows) and the loss rounded to
    float16."""
    name = 'softmax_cross_entropy_simple'
    x = as_variable(as_input(x, name))
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f'{name}: x must be 2-D logits (N, C) with N > 0, got shape {x.shape}')
    n, classes = x.shape
    t = _class_labels(name, t, n, classes)
    if cuda.is_gpu_array(x.data) and not cuda.is_gpu_array(t):
        t = cuda.as_cupy(t)  # labels given on the CPU for logits on a GPU

    def chain(x):
        p = clip(softmax(x), 1e-15, 1.0)
        log_p = get_item(log(p), (cuda.get_array_module(t).arange(n), t))
        return -1 * sum(log_p) / n

    return _float16_in_float32(chain, x)


def _check_conv_inputs(x, W):
    if x.ndim != 4:
        raise ValueError(f'conv2d_simple: x must be 4-D (N, C, H, W), got shape {x.shape}')
    if W.ndim != 4:
        raise ValueError(f'conv2d_simple: W must be 4-D (OC, C, KH, KW), got shape {W.shape}')
    if x.shape[1] != W.shape[1]:
        raise ValueError(
            f'conv2d_simple: x of shape {x.shape} has {x.shape[1]} channels '
            f'but W of shape {W.shape} expects {W.shape[1]}'
        )


def conv2d_simple(x, W, b=None, stride=1, pad=0):
    """The convolution of :func:`~dezero.functions.conv2d` (x (N, C, H, W), W (OC, C,
    KH, KW), b (OC,) or None) as a chain of im2col, reshape, transpose, linear,
    reshape and transpose: the windows of x become the rows of a matrix, which one
    matrix product with the flattened filters turns into the output pixels."""
    x = as_input(x, 'conv2d_simple', 0, numbers_only=True)
    W = as_input(W, 'conv2d_simple', 1, numbers_only=True)
    _check_conv_inputs(x, W)
    if x.dtype.kind in 'iu' and W.dtype.kind in 'iu':  # summed in float64, as conv2d does
        x = x.astype(np.float64)
    n = x.shape[0]
    oc, c, kh, kw = W.shape
    _, stride, pad, (oh, ow) = conv_geometry('conv2d_simple', x.shape, (kh, kw), stride, pad)
    col = im2col(x, (kh, kw), stride, pad, to_matrix=True)  # (N*OH*OW, C*KH*KW)
    t = linear(col, W.reshape(oc, c * kh * kw).transpose(), b)  # (N*OH*OW, OC)
    return t.reshape(n, oh, ow, oc).transpose(0, 3, 1, 2)


def pooling_simple(x, kernel_size, stride=1, pad=0):
    """Max pooling of x (N, C, H, W) as a chain of im2col, reshape, max, reshape and
    transpose: one row per window, and the maximum of each row.

    The padding comes from im2col and is zeros, which win a window whose values are
    all negative; :func:`~dezero.functions.pooling` pads with values that never win.
    Without padding the two give the same values; at a tie this one shares the
    gradient between the tied elements (as ``max`` does), where ``pooling`` gives it
    all to the first, as PyTorch does."""
    x = as_variable(as_input(x, 'pooling_simple'))
    kernel, stride, pad, (oh, ow) = conv_geometry(
        'pooling_simple', x.shape, kernel_size, stride, pad
    )
    n, c = x.shape[:2]
    col = im2col(x, kernel, stride, pad, to_matrix=True)  # (N*OH*OW, C*KH*KW)
    y = col.reshape(-1, kernel[0] * kernel[1]).max(axis=1)  # one value per window
    return y.reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

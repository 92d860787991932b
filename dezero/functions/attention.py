"""Attention: scaled dot-product attention, a composition of matmul, softmax and where
(no backward of its own)."""

import math

import numpy as np

from dezero import cuda
from dezero.array_ops import FLOAT16, array_of, broadcasts_to, is_float16
from dezero.checks import check_flag
from dezero.core import Variable
from dezero.functions.activation import softmax
from dezero.functions.array import as_input, astype, refuse_missing_data, transpose
from dezero.functions.linalg import matmul
from dezero.functions.selection import where

_NAME = 'scaled_dot_product_attention'


def _keys_transposed(k):
    """k (..., S, D) with its last two axes swapped: (..., D, S)."""
    axes = tuple(range(k.ndim - 2)) + (k.ndim - 1, k.ndim - 2)
    return transpose(k, axes)


def _check_shapes(q, k, v):
    """ValueError naming the function unless q (..., L, D), k (..., S, D) and
    v (..., S, Dv) fit together (the leading axes broadcast)."""
    shapes = f'q {q.shape}, k {k.shape}, v {v.shape}'
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ValueError(
            f'{_NAME}: q, k and v must have at least 2 axes, (..., L, D), (..., S, D) and '
            f'(..., S, Dv); got {shapes}'
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f'{_NAME}: q and k must have the same last axis D (the size of a query and a '
            f'key), got {shapes}'
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f'{_NAME}: k and v must have the same number S of positions (axis -2), got {shapes}'
        )
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f'{_NAME}: the leading (batch) axes do not broadcast: {shapes}') from None


def _bias(mask, is_causal, scores):
    """What is added to the scores (None for nothing): -inf where the bool ``mask`` is
    False (0 where True), the float ``mask`` itself (a Variable keeps its graph), or -inf
    above the diagonal for ``is_causal``; in the dtype of ``scores``."""
    data = array_of(scores)
    xp = cuda.get_array_module(data)
    length, size = data.shape[-2:]
    if is_causal:
        allowed = xp.tril(xp.ones((length, size), dtype=bool))
        return xp.where(allowed, 0.0, -np.inf).astype(data.dtype)
    if mask is None:
        return None
    m = array_of(mask)
    if not cuda.is_array(m):
        raise TypeError(
            f'{_NAME}: mask must be a bool or float array (or a Variable), got '
            f'{type(mask).__name__}'
        )
    if not broadcasts_to(m.shape, data.shape):
        raise ValueError(
            f'{_NAME}: mask of shape {m.shape} does not broadcast to the shape of the '
            f'attention weights {data.shape} (..., L, S)'
        )
    if m.dtype == np.bool_:
        if type(m) is np.ndarray and xp is not np:  # made with np.tril, for GPU data
            m = xp.asarray(m)
        return xp.where(m, 0.0, -np.inf).astype(data.dtype)
    if m.dtype.kind != 'f':
        raise TypeError(
            f'{_NAME}: mask must be bool (True where attending is allowed) or floating '
            f'point (added to the scores), got dtype {m.dtype}'
        )
    return (
        astype(mask, data.dtype) if isinstance(mask, Variable) else m.astype(data.dtype, copy=False)
    )


def scaled_dot_product_attention(q, k, v, mask=None, is_causal=False, scale=None):
    """Attention as PyTorch's ``scaled_dot_product_attention`` (without dropout):
    softmax(q kᵀ * scale + bias) v over the last axis, with ``scale`` = 1 / sqrt(D) by
    default, for queries q (..., L, D), keys k (..., S, D) and values v (..., S, Dv),
    whose leading axes broadcast as in matmul; the result has shape (..., L, Dv).

    ``mask`` (PyTorch's ``attn_mask``), of a shape that broadcasts to (..., L, S): bool,
    True where query i may attend to key j (the bias is -inf where False), or floating
    point, added to the scores as it is (cast to their dtype; a Variable gets its
    gradient).  ``is_causal=True`` lets query i attend to keys j <= i only (the top-left
    triangle, also when L != S); it excludes ``mask``, and is True or False (a string
    such as 'False' is refused, TypeError).  A query that may attend to no key (a row
    of scores all -inf, or no keys at all, S = 0) gets zeros, and zero gradients, as
    from PyTorch's math backend, rather than nan.

    Float16 q, k and v are taken in float32 and the result rounded to float16 once
    (their gradients too, through the casts): each float16 step between would round
    again, an error of many of its units in results near 0.

    The derivatives are those of its parts: matmul, softmax (and where, for the rows
    that attend to nothing)."""
    is_causal = check_flag(_NAME, 'is_causal', is_causal)
    q, k, v = (as_input(a, _NAME, i) for i, a in enumerate((q, k, v)))
    refuse_missing_data(_NAME, mask, 3)
    _check_shapes(q, k, v)
    if is_causal and mask is not None:
        raise ValueError(f'{_NAME}: give either mask or is_causal=True, not both')
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    elif isinstance(scale, np.generic):
        scale = scale.item()
    if not isinstance(scale, (int, float)) or isinstance(scale, bool):
        raise TypeError(f'{_NAME}: scale must be a real number or None, got {scale!r}')
    if all(is_float16(a.dtype) for a in (q, k, v)):
        q, k, v = (astype(a, np.float32) for a in (q, k, v))
        return astype(_attention(q, k, v, mask, is_causal, float(scale)), FLOAT16)
    return _attention(q, k, v, mask, is_causal, float(scale))


def _attention(q, k, v, mask, is_causal, scale):
    """:func:`scaled_dot_product_attention` of arguments it has checked."""
    scores = matmul(q * scale, _keys_transposed(k))
    bias = _bias(mask, is_causal, scores)
    if bias is not None:
        scores = scores + bias
    data = array_of(scores)
    dead = (data == -np.inf).all(axis=-1, keepdims=True)  # rows that attend to nothing
    if not dead.any():
        return matmul(softmax(scores, axis=-1), v)
    # their softmax would be nan (0 / 0): take it on zeros instead, and give zeros
    weights = where(dead, 0.0, softmax(where(dead, 0.0, scores), axis=-1))
    return matmul(weights, v)

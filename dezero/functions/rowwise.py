"""Maxima and sums along one axis of a 2-D array, quick for the shapes of a
classifier's logits (many rows, few classes) and of a batch's gradients.

NumPy reduces along a short last axis slowly: the maximum of each row of a (1000, 10)
float32 array takes about ten times as long as the maximum of the whole array, as
each row is a separate short loop.  Here the same results come by other routes:

- the maximum of each short row is taken over the columns of a transposed copy (long
  contiguous loops, and the same values, exactly);
- sums over rows or columns are a product with a vector of ones, which BLAS computes
  in a fraction of the time (the summation order differs from NumPy's only in the
  last bits).

These routes are taken for NumPy float32 and float64 arrays of two dimensions (four
for :func:`channel_sums`, a batch of images); for everything else (other dtypes, CuPy
arrays, other shapes) the functions fall back to NumPy's (or CuPy's) own reductions,
float16 summed in float32 (see :func:`~dezero.array_ops.sum_array`).  They are plain
array helpers: they record nothing and are not differentiated.
"""

import functools

import numpy as np

from dezero.array_ops import sum_array

#: rows up to this long have their maxima taken through a transposed copy
SHORT_ROW = 32
#: rows up to this long are summed by BLAS (longer ones keep NumPy's pairwise sum)
BLAS_ROW_SUM = 1024
_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@functools.lru_cache(maxsize=32)
def _ones(n, dtype):
    """A read-only vector of ``n`` ones of ``dtype``, made once per size."""
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def _blas_matrix(x):
    """Whether ``x`` is a 2-D NumPy array BLAS can multiply (float32 or float64)."""
    return type(x) is np.ndarray and x.ndim == 2 and x.dtype in _BLAS_DTYPES


def _axis_of_2d(x, axis):
    """0 or 1 when ``axis`` (an int or a one-element tuple) names one axis of the 2-D
    NumPy float array ``x`` that these routes handle, else None."""
    if not _blas_matrix(x):
        return None
    if type(axis) is tuple:
        if len(axis) != 1:
            return None
        (axis,) = axis
    return axis % 2 if axis in (0, 1, -1, -2) else None


def max_keepdims(x, axis):
    """``x.max(axis=axis, keepdims=True)`` for the array ``x``."""
    if _axis_of_2d(x, axis) == 1 and 0 < x.shape[1] <= SHORT_ROW:
        return np.maximum.reduce(np.ascontiguousarray(x.T), axis=0).reshape(-1, 1)
    return x.max(axis=axis, keepdims=True)


def sum_keepdims(x, axis):
    """``x.sum(axis=axis, keepdims=True)`` for the array ``x``."""
    along = _axis_of_2d(x, axis)
    if along == 1 and x.shape[1] <= BLAS_ROW_SUM:
        return (x @ _ones(x.shape[1], x.dtype)).reshape(-1, 1)
    if along == 0:
        return column_sums(x).reshape(1, -1)
    return sum_array(x, axis, keepdims=True)


def column_sums(x):
    """``x.sum(axis=0)`` for ``x``, an array or a Variable: for a batch of gradients
    (N, C), the sum over the batch, as a bias's gradient is."""
    if _blas_matrix(x):
        return _ones(x.shape[0], x.dtype) @ x
    return sum_array(x, 0)


def channel_sums(x):
    """``x.sum(axis=(0, 2, 3))`` for the array ``x``: for a batch of image gradients
    (N, C, H, W), each channel's sum over the batch and the image, as a convolution's
    bias gradient is.  Each image's channels are summed by one product with ones, then
    the (N, C) sums by :func:`column_sums` (about 3 times as fast as NumPy's sum)."""
    if type(x) is np.ndarray and x.ndim == 4 and x.dtype in _BLAS_DTYPES:
        n, c, h, w = x.shape
        per_image = x.reshape(n * c, h * w) @ _ones(h * w, x.dtype)
        return column_sums(per_image.reshape(n, c))
    return sum_array(x, (0, 2, 3))

"""Plain array helpers (arrays in, arrays out) shared by the functions and utils.

Nothing here records a graph; these are the array-level building blocks of gradients
that flow through broadcasting and reductions.

Maxima and sums along one axis of a 2-D array
---------------------------------------------
NumPy reduces along a short last axis slowly: the maximum of each row of a (1000, 10)
float32 array takes about ten times as long as the maximum of the whole array, as
each row is a separate short loop.  :func:`max_keepdims`, :func:`sum_keepdims`,
:func:`column_sums` and :func:`channel_sums` (the shapes of a classifier's logits and
of a batch's gradients) get the same results by other routes:

- the maximum of each short row is taken over the columns of a transposed copy (long
  contiguous loops, and the same values, exactly);
- sums over rows or columns are a product with a vector of ones, which BLAS computes
  in a fraction of the time (the summation order differs from NumPy's only in the
  last bits); a float32 column of more than :data:`PAIRWISE_ROWS` rows is summed as
  products over blocks of that many rows, the blocks' sums then pairwise (see below).

These routes are taken for NumPy float32 and float64 arrays of two dimensions (four
for :func:`channel_sums`, a batch of images); for everything else (other dtypes, CuPy
arrays, other shapes) the functions fall back to :func:`sum_array` and NumPy's (or
CuPy's) own maxima, float16 summed in float32.

Long sums
---------
NumPy sums pairwise (the rounding error grows with the logarithm of the count) only
the values its innermost loop runs over: those innermost in memory.  Along any other
axis, and along every axis of a slice, a transpose or a broadcast array, it adds one
row at a time, and the error grows with the count of rows: the float32 sum of a
million rows is off by about 1e-2 of its value when they are all equal.
:func:`sum_array` therefore sums float16 and float32 arrays so that no more than
:data:`PAIRWISE_ROWS` values are ever added one after another into a sum, whatever
the layout: the axes NumPy sums pairwise in one call, then each other summed axis in
turn, a long one pairwise (see :func:`_pairwise_row_sums`).  That is as accurate as
PyTorch's sums: about 1e-7 of the value, up to about 1e-6 when the values are all
equal (the worst case for additions one after another), at any length.  CuPy arrays
are summed by CuPy.
"""

import functools
import math

import numpy as np

from dezero import cuda
from dezero.core import Variable

#: float16 in the machine's byte order, the dtype float16 results are rounded to; test
#: a dtype with :func:`is_float16`, which knows float16 of the other byte order too
FLOAT16 = np.dtype(np.float16)


def is_float16(dtype):
    """Whether ``dtype`` is float16, in either byte order: a big-endian ``'>f2'`` (as
    read from a file) neither is nor equals ``np.float16`` on a little-endian machine,
    but needs the same care (sums in float32, functions computed in float32)."""
    return dtype.kind == 'f' and dtype.itemsize == 2


def array_of(x):
    """The array of ``x``: its data for a Variable, ``x`` itself otherwise."""
    return x.data if isinstance(x, Variable) else x


def sum_array(x, axis=None, keepdims=False):
    """``x.sum(axis=axis, keepdims=keepdims)`` for ``x``, an array or a Variable, except
    that a float16 array is summed in float32 and rounded to float16 once, at the end
    (float16 partial sums overflow past 65504 and, added one at a time along an axis,
    stop growing at 2048: 2048 + 1 rounds to 2048), and that float16 and float32 are
    summed pairwise wherever NumPy would add many values one after another (see the
    module docstring).  A Variable is summed by ``F.sum``, which does the same."""
    if isinstance(x, Variable):
        return x.sum(axis=axis, keepdims=keepdims)
    y = wide_sum(x, axis, keepdims)
    return y.astype(FLOAT16) if is_float16(x.dtype) else y


def wide_sum(x, axis=None, keepdims=False):
    """The sum of the array ``x`` over ``axis`` as :func:`sum_array` computes it, but a
    float16 sum left in float32 (for a caller that divides it before rounding: a mean
    whose sum exceeds float16's range)."""
    dtype = x.dtype
    if dtype.kind != 'f' or dtype.itemsize > 4:
        return x.sum(axis=axis, keepdims=keepdims)
    if type(x) is np.ndarray and _worth_a_closer_look(x, axis):
        if not dtype.isnative:  # NumPy would sum it through buffers of 8192 values
            x = x.astype(dtype.newbyteorder('='))
        axes = normalize_axis(axis, x.ndim)
        count = _count(x, axes)
        if count > PAIRWISE_ROWS:
            inner = _innermost_summed_axes(x, axes)
            if count > PAIRWISE_ROWS * _count(x, inner):
                return _sum_axis_by_axis(x, axes, inner, keepdims)
    return x.sum(axis=axis, keepdims=keepdims, dtype=np.float32)


def mean_beyond_the_sum(mean, x, n, axis=None, keepdims=False):
    """``mean``, the sum of the array ``x`` over ``axis`` (by :func:`wide_sum`) divided
    by ``n`` (the count summed; negative for minus the mean), taken again as the sum
    of x / n where the sum was infinite or nan: the float32 sum of two values of 3e38
    overflows, their mean does not.  An infinity or a nan in x gives an infinity or a
    nan again (a mean that is not finite costs a second sum).  NumPy's warning of the
    first sum's overflow shows all the same.

    Only a mean that is one number (0-d: over every axis, without keepdims) of a
    float32 or float64 NumPy array is checked, at the cost of one test of that number;
    an array of means is returned as it is, since testing each of its values would
    cost about a quarter of the mean of a small array, and so is a CuPy mean, whose
    test would wait for the device at every mean (a loss's at every step).  A float16
    sum, taken in float32, does not overflow; the mean of nothing (n = 0) is nan."""
    if mean.ndim or type(x) is not np.ndarray or x.dtype.kind != 'f' or x.dtype.itemsize < 4:
        return mean
    if not n or math.isfinite(mean):  # several times as quick as np.isfinite
        return mean
    with np.errstate(over='ignore', invalid='ignore'):
        return wide_sum(x / n, axis, keepdims)


def _worth_a_closer_look(x, axis):
    """False when NumPy's sum of the NumPy array ``x`` over ``axis`` surely adds no
    more than :data:`PAIRWISE_ROWS` values one after another (quick tests only): few
    values; a contiguous array summed whole (pairwise); a C-contiguous array of at
    most PAIRWISE_ROWS rows of its last axis (which is summed pairwise or kept, the
    rows added one at a time), and the same for a Fortran-ordered array and its first
    axis."""
    if x.size <= PAIRWISE_ROWS:
        return False
    if not x.dtype.isnative:
        return True
    if x.flags.c_contiguous:
        return axis is not None and x.size > PAIRWISE_ROWS * x.shape[-1]
    if x.flags.f_contiguous:
        return axis is not None and x.size > PAIRWISE_ROWS * x.shape[0]
    return True


#: the most values a float16 or float32 sum adds one after another
PAIRWISE_ROWS = 128
#: rows of at least this many elements are summed in blocks of NUMPY_BLOCK_ROWS rows by
#: NumPy first (one pass over memory), shorter ones halved directly (unless BLAS can
#: sum them in blocks)
WIDE_ROW = 256
#: the rows of a block that NumPy sums (see :func:`_pairwise_row_sums`)
NUMPY_BLOCK_ROWS = 32
#: float32 rows of at least this many elements are summed in blocks of PAIRWISE_ROWS
#: rows by BLAS first, when BLAS can multiply them; shorter ones are halved directly
BLAS_BLOCK_ROW = 8


def _count(x, axes):
    """How many elements of ``x`` lie along ``axes``: the count summed into each sum."""
    return math.prod(x.shape[a] for a in axes)


def _innermost_summed_axes(x, axes):
    """The axes among ``axes`` (summed) that NumPy sums pairwise in one call: when the
    NumPy array ``x`` is contiguous in some order of its axes (C order, Fortran order,
    any transpose of them), its innermost loop runs over the run of summed axes
    innermost in memory, pairwise, and only its outer loops add one row at a time.
    An empty tuple when the innermost axis is kept, or ``x`` is not contiguous (a
    slice, a broadcast array)."""
    if x.flags.c_contiguous:
        outermost_first = range(x.ndim)
    else:
        outermost_first = sorted(range(x.ndim), key=lambda a: x.strides[a], reverse=True)
        if not x.transpose(outermost_first).flags.c_contiguous:
            return ()
    inner = []
    for a in reversed(outermost_first):
        if x.shape[a] == 1:  # NumPy skips axes of one element
            continue
        if a not in axes:
            break
        inner.append(a)
    return tuple(inner)


def _sum_axis_by_axis(x, axes, inner, keepdims):
    """The float32 sum of the NumPy array ``x`` over ``axes`` (a sorted tuple), no more
    than :data:`PAIRWISE_ROWS` values added one after another: first the axes
    ``inner``, which NumPy sums pairwise, then each other summed axis in turn, the
    innermost in memory first (so that the first pass reads x in order): by NumPy
    when it is at most PAIRWISE_ROWS long, else pairwise."""
    y = x.sum(axis=inner, keepdims=True, dtype=np.float32) if inner else x
    for a in sorted(set(axes) - set(inner), key=lambda a: abs(x.strides[a])):
        if y.shape[a] <= PAIRWISE_ROWS:
            y = y.sum(axis=a, keepdims=True, dtype=np.float32)
        else:
            y = np.expand_dims(_pairwise_row_sums(np.moveaxis(y, a, 0)), a)
    if keepdims:
        return y
    return y.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


def _pairwise_row_sums(x):
    """The float32 sum over the first axis of the float16 or float32 NumPy array ``x``
    (of any strides), its rows added pairwise (see :func:`_halved_sums`).

    Where that is quicker, the rows are first summed in blocks (one pass over memory,
    rather than the halvings' two), the blocks' sums then halved: a float32 matrix
    that BLAS can multiply, of rows of at least :data:`BLAS_BLOCK_ROW` values, in
    blocks of :data:`PAIRWISE_ROWS` rows by products with a vector of ones; other
    arrays of rows of at least :data:`WIDE_ROW` values in blocks of
    :data:`NUMPY_BLOCK_ROWS` rows by NumPy, which adds them one after another (a
    broadcast array's equal values are the worst case for that, and short blocks keep
    its error small)."""
    n = len(x)
    width = x.size // n if n else 0
    by_blas = width >= BLAS_BLOCK_ROW and _blas_blocks(x)
    if not by_blas and width < WIDE_ROW:
        return _halved_sums(x)
    rows = PAIRWISE_ROWS if by_blas else NUMPY_BLOCK_ROWS
    whole = n - n % rows
    blocks = x[:whole].reshape((-1, rows) + x.shape[1:])  # a view
    if by_blas:
        ones = _ones(rows, x.dtype)
        return _halved_sums(ones @ blocks) + _ones(n - whole, x.dtype) @ x[whole:]
    block_sums = blocks.sum(axis=1, dtype=np.float32)
    return _halved_sums(block_sums) + x[whole:].sum(axis=0, dtype=np.float32)


def _blas_blocks(x):
    """Whether ``x`` is a float32 matrix whose blocks of rows BLAS can multiply: its
    rows, or its columns, contiguous (a slice of columns or a transpose, but not a
    reversed or broadcast array, which NumPy would multiply slowly, by loops of its
    own)."""
    if not _blas_matrix(x) or x.dtype.itemsize != 4:
        return False
    row_step, column_step = x.strides
    rows, columns = x.shape
    size = x.itemsize
    return (column_step == size and row_step >= size * columns) or (
        row_step == size and column_step >= size * rows
    )


def _halved_sums(x):
    """The float32 sum over the first axis of the NumPy array ``x`` by pairwise
    summation: the rows are halved again and again, the lower half added to the upper
    in place, so that each sum is a balanced tree of additions and its rounding error
    grows with the logarithm of the rows, not their count."""
    n = len(x)
    if n <= 8:
        return x.sum(axis=0, dtype=np.float32)
    half = n // 2
    y = np.add(x[:half], x[half : 2 * half], dtype=np.float32)
    if n % 2:  # an odd row left over
        y[0] += x[-1]
    n = half
    while n > 8:
        half = n // 2
        y[:half] += y[half : 2 * half]
        if n % 2:
            y[0] += y[n - 1]
        n = half
    return y[:n].sum(axis=0)


def sum_to(x, shape):
    """Sum the array ``x`` down to ``shape``, undoing NumPy broadcasting.

    Leading axes that broadcasting added are summed away, and axes where ``shape`` has
    size 1 are summed with ``keepdims``.
    """
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(
            f'sum_to: cannot sum an array of shape {x.shape} to the larger shape {shape}'
        )
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    y = sum_array(x, axes, keepdims=True)
    if lead > 0:
        y = y.reshape(y.shape[lead:])
    if y.shape != shape:
        raise ValueError(
            f'sum_to: an array of shape {x.shape} does not broadcast from shape {shape}'
        )
    return y


def normalize_axis(axis, ndim):
    """Return ``axis`` (None, an int or a sequence of ints) as a sorted tuple of
    non-negative axes of an ``ndim``-dimensional array (None means all axes)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_)):
        axis = (axis,)
    if isinstance(axis, list):
        axis = tuple(axis)
    if not isinstance(axis, tuple) or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) for a in axis
    ):
        raise TypeError(
            f'axis must be None, an int or a sequence of ints, got {type(axis).__name__} {axis!r}'
        )
    out = []
    for a in axis:
        if not -ndim <= a < ndim:
            raise ValueError(f'axis {a} is out of range for an array with {ndim} dimensions')
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f'repeated axis in {tuple(axis)}')
    return tuple(sorted(out))


def reshape_sum_backward(gy, x_shape, axis, keepdims):
    """Reshape the gradient ``gy`` of a sum over ``axis`` so that it broadcasts back to
    ``x_shape``: the summed axes are re-inserted with size 1 (a no-op with keepdims).

    ``gy`` may be an array or a Variable; the result is of the same kind.  With
    ``axis`` None (a sum of every element, whose gradient is a single value that
    broadcasts as it is) ``gy`` is returned unchanged, as the book's function does.
    """
    ndim = len(x_shape)
    if keepdims or ndim == 0 or axis is None:
        shape = gy.shape
    else:
        axes = normalize_axis(axis, ndim)
        shape = list(gy.shape)
        for a in axes:
            shape.insert(a, 1)
    if tuple(shape) == tuple(gy.shape):
        return gy
    return gy.reshape(tuple(shape))


def max_backward_shape(x, axis):
    """The shape of ``x`` (an array or a Variable) with the axes reduced by a max or min
    over ``axis`` (None for all, an int or a sequence; negative counts from the end)
    set to 1: the shape to which the gradient of the reduction is reshaped so that it
    broadcasts back to ``x``.

    >>> max_backward_shape(np.zeros((2, 3, 4)), axis=(0, -1))
    (1, 3, 1)
    """
    axes = normalize_axis(axis, x.ndim)
    return tuple(1 if i in axes else n for i, n in enumerate(x.shape))


def scatter_add(target, indices, values):
    """Add ``values`` into the array ``target`` at ``indices`` in place, a position
    selected several times receiving every addition (NumPy's ``np.add.at``).

    A float16 ``target`` accumulates in float32 and is rounded once, at the end:
    added one at a time in float16, the additions at one position would stop growing
    at 2048 (2048 + 1 rounds to 2048) and overflow past 65504.

    On the GPU this is ``cupy.add.at`` where CuPy has it (v13 on) and
    ``cupyx.scatter_add`` on older CuPy, which lacks ``add.at``."""
    xp = cuda.get_array_module(target)
    add_at = getattr(xp.add, 'at', None)
    if add_at is None:
        import cupyx

        add_at = cupyx.scatter_add
    if is_float16(target.dtype):
        wide = target.astype(np.float32)
        add_at(wide, indices, xp.asarray(values, dtype=np.float32))
        target[...] = wide
    else:
        add_at(target, indices, values)


#: the signed integer type of each float type's size, for selections on the bits
_SAME_SIZE_INT = {np.dtype(f): np.dtype(i) for f, i in [('f2', 'i2'), ('f4', 'i4'), ('f8', 'i8')]}


def zero_where(mask, a):
    """A fresh copy of the array ``a`` with 0 wherever the boolean array ``mask`` (of
    a's shape) is True.  A selection, not a product with 0: an infinite or NaN value
    of ``a`` under the mask gives 0 too, as the gradient of a unit that is off (relu
    below 0, a clipped value) is in PyTorch.

    ``np.where`` branches on every element, which costs several times a product
    when the mask is irregular.  For NumPy float arrays the selection is made on the
    bits instead: an integer that is 0 under the mask and all ones elsewhere (the mask
    minus 1), and-ed with a's bits."""
    bits = _SAME_SIZE_INT.get(a.dtype)
    if type(a) is not np.ndarray or bits is None or a.ndim == 0 or mask.shape != a.shape:
        xp = cuda.get_array_module(a)
        return xp.where(mask, xp.zeros((), dtype=a.dtype), a)
    kept = np.subtract(mask, 1, dtype=bits)
    kept &= a.view(bits)
    return kept.view(a.dtype)


def logsumexp(x, axis=1):
    """log(sum(exp(x), axis)) of the array ``x``, with keepdims.

    Computed stably, shifted by the maximum of each slice where that maximum is finite,
    so that nothing overflows.  As in PyTorch, a slice of -inf gives -inf, one holding
    +inf gives +inf and one holding nan gives nan, all without a warning.  float16 is
    summed in float32, whose range the sum of a long slice may need; integers in
    float64 (x - m could wrap round)."""
    xp = cuda.get_array_module(x)
    x = float_data(x)
    if x.size == 0:  # the log of sums of nothing, -inf as in PyTorch (max would raise)
        dtype = x.dtype if x.dtype.kind == 'f' else np.float64
        return xp.full(x.sum(axis=axis, keepdims=True).shape, -np.inf, dtype)
    m = x.max(axis=axis, keepdims=True)
    finite = xp.isfinite(m)
    if not finite.all():
        m = xp.where(finite, m, 0)
    float16 = is_float16(x.dtype)
    # x - m overflows to -inf for slices spanning more than the dtype's range, exp(x)
    # to inf where a slice holds +inf, and log(0) is -inf for a slice of -inf: each the
    # value wanted (underflow in exp is harmless too)
    with np.errstate(over='ignore', under='ignore', divide='ignore'):
        s = xp.exp(x - m).sum(axis=axis, keepdims=True, dtype=np.float32 if float16 else None)
        y = m + xp.log(s)
    # (an x of 0-d: NumPy's arithmetic on 0-d arrays gives a scalar)
    return xp.asarray(y.astype(FLOAT16) if float16 else y)


def float_data(x):
    """The array ``x`` itself, unless it holds bools or integers: then ``x`` as float64,
    NumPy's default float (the one true division of integers gives), for functions
    that integers would get wrong (x - max(x) of uint8 wraps round, NumPy computes exp
    of uint8 in float16)."""
    return x.astype(np.float64) if x.dtype.kind in 'biu' else x


def refuse_complex(name, x):
    """TypeError naming the function ``name`` when the array ``x`` holds complex
    numbers: functions defined on the real line (a comparison with 0, a clip, the
    error function) would drop the imaginary part or compare complex numbers."""
    if x.dtype.kind == 'c':
        raise TypeError(
            f'{name}: expected real numbers (bool, integer or floating point), got '
            f'{x.dtype} (shape {tuple(x.shape)}); it is defined for real numbers only '
            f'(apply it to x.real and x.imag if that is what you mean)'
        )


def number_overflow(where, number, dtype, holder):
    """The OverflowError for the Python ``number`` given with ``holder`` (its words
    for the array it is combined with), whose ``dtype`` cannot hold it: ``where``
    names the function or operator."""
    return OverflowError(
        f'{where}: the number {short_number(number)} does not fit the dtype {dtype} of '
        f'{holder}, nor any dtype NumPy would promote it to; use a smaller number, or '
        f'convert {holder} to a dtype that holds it'
    )


def attempted_array(x):
    """``x`` as the array a function that takes numbers would compute on: a
    Variable's data, a NumPy or CuPy array as it is, anything else through
    ``np.asarray``; None for a ragged sequence (and for a Variable holding none).  The
    caller checks the dtype and names itself in the error."""
    if isinstance(x, Variable):
        return x.data
    if cuda.is_array(x):
        return x
    try:
        return np.asarray(x)
    except ValueError:  # a ragged sequence
        return None


#: float16's largest value, which every floating dtype holds: a number within it needs
#: no check of overflow (see :func:`float_number`)
FLOAT16_MAX = 65504.0


def float_number(number, dtype, where, holder):
    """The Python ``number`` (an int or a float) as a NumPy scalar of the floating
    ``dtype``, as it is combined with an array of that dtype.  A number the dtype
    cannot hold is refused rather than changed (as NumPy would change it, with a
    warning or silently), naming ``where`` (the function or operator) and ``holder``
    (its words for the array):

    - OverflowError (:func:`number_overflow`) when a finite number would become
      infinite (70000.0 in float16, 1e39 in float32);
    - OverflowError (:func:`number_underflow`) when a number other than 0 would become
      0 (1e-8 in float16, 1e-50 in float32): ``x / 1e-8`` would divide by zero.

    A number that becomes subnormal but not 0 is kept, rounded to the dtype's
    subnormal spacing (1e-6 is 1.01e-6 in float16), as PyTorch keeps it.  Infinities
    and NaN stay what they are.  The test of underflow is one truth test of the
    converted number (and of the number, when that comes out 0)."""
    if -FLOAT16_MAX <= number <= FLOAT16_MAX:
        value = dtype.type(number)
        if value or not number:
            return value
        raise number_underflow(where, number, dtype, holder)
    try:
        with np.errstate(over='ignore'):
            value = dtype.type(number)
    except OverflowError:  # an int beyond any float: 10**400
        raise number_overflow(where, number, dtype, holder) from None
    if math.isinf(value) and not math.isinf(number):
        raise number_overflow(where, number, dtype, holder)
    return value


def number_underflow(where, number, dtype, holder):
    """The OverflowError for the Python ``number``, not 0, that the floating ``dtype``
    of ``holder`` (the caller's words for the array it is combined with) would turn
    into 0: ``where`` names the function or operator.  An OverflowError, as for a
    number too large, so that one ``except`` catches every number a dtype cannot
    hold."""
    smallest = float(np.finfo(dtype).smallest_subnormal)
    wider = 'float32' if dtype.itemsize < 4 else 'float64'
    return OverflowError(
        f'{where}: the number {short_number(number)} is too small for the dtype {dtype} of '
        f'{holder}: it would become 0 (the smallest positive {dtype} is {smallest:.3g}); '
        f'use a larger number, or convert {holder} to a wider dtype ({wider})'
    )


@functools.lru_cache(maxsize=64)
def cast_can_overflow(source, target):
    """Whether converting values of the dtype ``source`` to the floating dtype
    ``target`` can turn a finite value infinite: ``source`` a wider float (float64 to
    float32 or float16, float32 to float16), or integers beyond target's range (int32
    and wider, uint16 and wider, to float16)."""
    if source.kind == 'f':
        return source.itemsize > target.itemsize
    if source.kind in 'iu':
        return np.iinfo(source).max > float(np.finfo(target).max)
    return False


def overflowed(x, y):
    """Where the array ``x`` is finite but ``y``, x converted to another dtype, is
    infinite (1e39 in float32), as a bool array; None when nowhere (an input already
    infinite or NaN stays what it was)."""
    xp = cuda.get_array_module(y)
    if y.dtype.kind != 'f' or xp.isfinite(y).all():
        return None
    where = xp.isinf(y) & xp.isfinite(x)
    return where if where.any() else None


def first_overflow(x, y):
    """The first value of the array ``x`` that is finite but infinite in ``y`` (see
    :func:`overflowed`), as a Python number; None when there is none."""
    where = overflowed(x, y)
    return None if where is None else x[where][0].item()


def cast_with_overflow(array, dtype):
    """A copy of ``array`` in ``dtype`` and where the cast made finite values infinite
    (:func:`overflowed`: None when nowhere), for a caller that refuses such a cast,
    naming what it casts."""
    with np.errstate(over='ignore'):
        cast = array.astype(dtype)
    return cast, overflowed(array, cast)


def short_number(number):
    """A Python number as at most about 20 characters of text."""
    text = str(number)
    return text if len(text) <= 20 else f'{text[:8]}...({len(text)} digits)'


def broadcasts_to(shape, target):
    """Whether an array of ``shape`` broadcasts to ``target`` (NumPy's rule: aligned
    from the right, each axis of ``shape`` is 1 or equal to ``target``'s)."""
    lead = len(target) - len(shape)
    return lead >= 0 and all(n == 1 or n == m for n, m in zip(shape, target[lead:]))


def array_equal(a, b):
    """True when ``a`` and ``b`` (arrays or Variables) have the same shape and values."""
    return bool(np.array_equal(_plain('array_equal', a), _plain('array_equal', b)))


def array_allclose(a, b, rtol=1e-4, atol=1e-5):
    """True when ``a`` and ``b`` (arrays or Variables of numbers) have the same shape and
    close values."""
    a, b = _plain('array_allclose', a), _plain('array_allclose', b)
    for x in (a, b):
        if x.dtype.kind not in 'biufc':
            raise TypeError(f'array_allclose: expected numbers, got an array of dtype {x.dtype}')
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _plain(owner, a):
    """The NumPy array of ``a`` (an array, a number, a sequence of numbers or a
    Variable); TypeError naming ``owner`` for anything else (None, a Variable without
    data)."""
    data = a.data if isinstance(a, Variable) else a
    if data is None:
        what = 'a Variable holding no data' if isinstance(a, Variable) else 'None'
        raise TypeError(f'{owner}: expected arrays, numbers or Variables, got {what}')
    return np.asarray(cuda.as_numpy(data))


# ---- maxima and sums along one axis (see the module docstring) -------------------------
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
    (N, C), the sum over the batch, as a bias's gradient is.  A float32 batch of more
    than :data:`PAIRWISE_ROWS` rows is summed pairwise (:func:`_pairwise_row_sums`:
    products over blocks of that many rows, then the blocks' sums halved)."""
    if _blas_matrix(x):
        if len(x) <= PAIRWISE_ROWS or x.dtype.itemsize == 8:
            return _ones(x.shape[0], x.dtype) @ x
        return _pairwise_row_sums(x)
    return sum_array(x, 0)


def channel_sums(x):
    """``x.sum(axis=(0, 2, 3))`` for the array ``x``: for a batch of image gradients
    (N, C, H, W), each channel's sum over the batch and the image, as a convolution's
    bias gradient is.  Each image's channels are summed by one product with ones (by
    :func:`wide_sum` when they are longer than :data:`BLAS_ROW_SUM`), then the (N, C)
    sums by :func:`column_sums` (about 3 times as fast as NumPy's sum)."""
    if type(x) is np.ndarray and x.ndim == 4 and x.dtype in _BLAS_DTYPES:
        n, c, h, w = x.shape
        rows = x.reshape(n * c, h * w)
        if h * w <= BLAS_ROW_SUM:
            per_image = rows @ _ones(h * w, x.dtype)
        else:
            per_image = wide_sum(rows, 1)
        return column_sums(per_image.reshape(n, c))
    return sum_array(x, (0, 2, 3))

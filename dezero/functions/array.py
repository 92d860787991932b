"""Functions that move array elements around: reshape, transpose, indexing,
broadcasting and summing back, concatenation and stacking; and astype, which converts
them to another floating-point dtype.

Each backward is another function of this module (or the matching array method, which
Variables have too), so every one of them is differentiable to any order.  None of them
reads the values of its inputs or outputs in backward: they keep only shapes and
dtypes.
"""

import math
import operator
import warnings

import numpy as np

from dezero import cuda
from dezero.checks import is_int
from dezero.array_ops import (
    broadcasts_to,
    normalize_axis,
    scatter_add,
    sum_array,
    sum_to as _sum_to_array,
)
from dezero.core import Function, Variable, as_variable, missing_data_error


def as_input(x, name, index=0, numbers_only=False):
    """``x``, argument ``index`` of the function ``name``, as the functions of this
    package take it: a Variable or an array as it is (so that arrays stay arrays inside
    a first-order backward pass), anything else through
    :func:`~dezero.core.as_variable` (a number becomes a Variable, a list is refused).

    A Variable holding no data is refused (see :func:`refuse_missing_data`) before the
    function reads its shape.  With ``numbers_only``, an array that holds no numbers
    (strings, objects) is refused with a TypeError naming the function, where the
    function would pass it on to others before any of them refused it."""
    if isinstance(x, Variable):
        if x._data is None:
            refuse_missing_data(name, x, index)
        return x
    if cuda.is_array(x):
        if numbers_only and x.dtype.kind not in 'biufc':
            raise TypeError(f'{name}: expected arrays of numbers, got dtype {x.dtype}')
        return x
    return as_variable(x, f'{name} (input {index})')


def refuse_missing_data(name, x, index=0):
    """Raise a ValueError naming the function ``name`` when ``x``, its argument
    ``index``, is a Variable holding no data (as a lazy layer's parameter before the
    layer's first call), in the words the engine uses for a Function's input; a
    function that reads its inputs' shapes first would fail on None instead."""
    if isinstance(x, Variable) and x._data is None:
        raise missing_data_error(name, index)


def _as_shape(name, shape):
    """``shape`` (an int, a sequence of ints or an integer array, as NumPy takes) as a
    tuple of ints; TypeError naming the function ``name`` for anything else, a bool
    included (True is no size of 1)."""
    try:
        return (_size(shape),)
    except TypeError:
        pass
    try:
        return tuple(_size(n) for n in shape)
    except TypeError:
        raise TypeError(
            f'{name}: shape must be an int, a sequence of ints or an integer array (bools '
            f'are not sizes), got {shape!r}'
        ) from None


def _size(n):
    """``n`` as an int (a Python or NumPy integer); TypeError for anything else."""
    if isinstance(n, (bool, np.bool_)):
        raise TypeError('a bool is not a size')
    return operator.index(n)


def checked_axes(name, axis, shape):
    """``axis`` of the function ``name`` over an input of ``shape`` as a sorted tuple
    of non-negative axes (None: all of them).  It is None, an int or a tuple of ints,
    as NumPy's reductions and squeeze take it (not a list); TypeError or ValueError
    naming ``name``, the axis and the shape."""
    if not (
        axis is None or is_int(axis) or (isinstance(axis, tuple) and all(is_int(a) for a in axis))
    ):
        raise TypeError(
            f'{name}: axis must be None, an int or a tuple of ints, got '
            f'{type(axis).__name__} {axis!r}'
        )
    try:
        return normalize_axis(axis, len(shape))
    except ValueError as e:
        raise ValueError(f'{name}: {e} (x has shape {tuple(shape)})') from None


# ---- reshape ---------------------------------------------------------------------------
class Reshape(Function):
    """y = x viewed with another shape; the gradient is gy reshaped back to x's shape."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, shape):
        self.shape = _as_shape('Reshape', shape)

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f'cannot reshape an array of shape {x.shape} (size {x.size}) '
                f'into shape {self.shape}'
            ) from None

    def backward(self, gy):
        return gy.reshape(self.x_shape)


def reshape(x, shape):
    """Return ``x`` with a new ``shape`` (same size; an int, a sequence of ints or an
    integer array, one size may be -1). Derivative: reshape gy back."""
    shape = _as_shape('reshape', shape)
    x = as_input(x, 'reshape')
    if x.shape == shape and isinstance(x, Variable):  # (an array goes through the
        return x  # function, which copies it if a graph keeps it for backward)
    return Reshape(shape)(x)


def flatten(x):
    """Reshape ``x`` to (batch, rest): keep the first axis, flatten the others into one
    (of size 1 when there are none); a new Variable, also for an x that is already
    (batch, rest), as in the book. Derivative: reshape gy back."""
    x = as_input(x, 'flatten')
    if x.ndim == 0:
        raise ValueError(
            'flatten: expected x with a first (batch) axis, got a 0-d array of shape ()'
        )
    # the size of the rest, not -1, which cannot be resolved when the batch is empty;
    # always a new Variable, as the book's (x of shape (N, M) too: not x itself)
    return Reshape((x.shape[0], math.prod(x.shape[1:])))(x)


def expand_dims(x, axis):
    """Insert axes of size 1 at the positions ``axis`` (an int or a tuple or list of
    ints, counted in the result, as in NumPy). Derivative: remove them again."""
    x = as_input(x, 'expand_dims')
    if not (is_int(axis) or (isinstance(axis, (tuple, list)) and all(map(is_int, axis)))):
        raise TypeError(
            f'expand_dims: axis must be an int or a tuple (or list) of ints, got '
            f'{type(axis).__name__} {axis!r}'
        )
    ndim = x.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1)
    try:
        axes = normalize_axis(axis, ndim)
    except ValueError as e:
        raise ValueError(
            f'expand_dims: {e} (the result of adding axes to shape {x.shape})'
        ) from None
    sizes = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(sizes) for i in range(ndim)))


def squeeze(x, axis=None):
    """Remove axes of size 1: all of them, or those in ``axis`` (None, an int or a
    tuple of ints, as NumPy takes). Derivative: reshape back."""
    x = as_input(x, 'squeeze')
    if axis is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    else:
        axes = checked_axes('squeeze', axis, x.shape)
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(
                    f'squeeze: axis {a} of an array of shape {x.shape} has '
                    f'size {x.shape[a]}, expected 1'
                )
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


# ---- transpose -------------------------------------------------------------------------
class Transpose(Function):
    """y = x with its axes permuted; the gradient is gy with the inverse permutation."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, axes=None):
        self.axes = _as_axes_tuple(axes)

    def forward(self, x):
        if self.axes is not None:
            _check_permutation(self.axes, x.shape)
        return x.transpose(self.axes)

    def backward(self, gy):
        return gy.transpose(self._inverse())

    def _inverse(self):
        """The axes that undo the permutation (None again when it reversed them)."""
        if self.axes is None:
            return None
        n = len(self.axes)
        return tuple(int(i) for i in np.argsort([a % n for a in self.axes]))


def _as_axes_tuple(axes):
    """``axes`` as NumPy's transpose takes them (None, an int, a sequence or an array)
    as None or a tuple, its entries as given: :func:`_check_permutation` checks them.
    A 0-d array is one entry, as an int is (NumPy transposes a 1-d array by
    ``np.array(0)``)."""
    if axes is None:
        return None
    if cuda.is_array(axes):
        return (axes.item(),) if axes.ndim == 0 else tuple(axes.tolist())
    return tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)


def _check_permutation(axes, shape):
    """Check that the tuple ``axes`` is a permutation of the axes of an array of
    ``shape``: ints (NumPy's too, not bools), each axis once, counted from the end when
    negative; a TypeError or ValueError saying what is wrong."""
    n = len(shape)
    try:
        normalize_axis(axes, n)
    except TypeError:
        raise TypeError(
            f'axes must be None or a sequence of ints, one for each axis of x, got {axes!r}'
        ) from None
    except ValueError:
        pass
    else:
        if len(axes) == n:
            return
    expected = f'each of 0..{n - 1} (or -{n}..-1) once' if n else 'no axes'
    raise ValueError(
        f'axes {axes} are not a permutation of the {n} axes of an array of shape {shape}: '
        f'expected {expected}'
    )


def transpose(x, axes=None):
    """Permute the axes of ``x`` by ``axes`` (a sequence of ints, as NumPy takes them),
    or reverse them when ``axes`` is None.  Derivative: the inverse permutation of gy."""
    x = as_input(x, 'transpose')
    f = Transpose(axes)
    if f.axes is not None:
        try:
            _check_permutation(f.axes, x.shape)
        except (TypeError, ValueError) as e:
            raise type(e)(f'transpose: {e}') from None
    return f(x)


# ---- indexing --------------------------------------------------------------------------
class GetItem(Function):
    """y = x[slices]; the gradient scatters gy into zeros of x's shape (adding repeats)."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, slices):
        self.slices = _own_index(slices)

    def forward(self, x):
        self.x_shape = x.shape
        if type(x) is not np.ndarray:  # CuPy wraps an index out of range round
            _check_array_indexes(self.slices, x.shape)
        return x[self.slices]

    def backward(self, gy):
        return GetItemGrad(self.slices, self.x_shape)(gy)


def _check_array_indexes(index, shape):
    """IndexError, as NumPy raises it, when an integer array in ``index`` holds a
    position outside its axis of an array of ``shape``: CuPy takes such a position
    modulo the axis size instead, which would select (and give gradients to) other
    elements.  As in NumPy, a 0-d integer array is checked as an int is, and the
    others only when the arrays of the index broadcast to some positions.  One reading
    of each array's least and greatest values."""
    parts = index if isinstance(index, tuple) else (index,)
    masks = [
        isinstance(p, (bool, np.bool_)) or (cuda.is_array(p) and p.dtype == bool) for p in parts
    ]
    arrays = [cuda.is_array(p) and p.dtype.kind in 'iu' for p in parts]
    # how many axes of x each part takes: a bool mask its own ndim (0 for True), an
    # int, a slice or an integer array one, None and Ellipsis none
    spans = [
        np.ndim(p) if mask else 0 if p is None or p is Ellipsis else 1
        for p, mask in zip(parts, masks)
    ]
    positions = [p.shape for p, a in zip(parts, arrays) if a and p.ndim]
    positions += [
        (int(np.count_nonzero(p)) if np.ndim(p) else int(bool(p)),)
        for p, m in zip(parts, masks)
        if m
    ]
    try:
        some = not positions or 0 not in np.broadcast_shapes(*positions)
    except ValueError:  # they do not broadcast: indexing says so, after the 0-d ones
        some = False
    axis = 0
    for part, span, is_array in zip(parts, spans, arrays):
        if part is Ellipsis:
            axis += len(shape) - sum(spans)
        elif is_array and (some or not part.ndim) and axis < len(shape):
            size = shape[axis]
            for value in (int(part.min()), int(part.max())):
                if not -size <= value < size:
                    raise IndexError(
                        f'GetItem: index {value} is out of bounds for axis {axis} with size {size}'
                    )
        axis += span


class GetItemGrad(Function):
    """Scatter-add gy into zeros of ``in_shape`` at ``slices``; its gradient is ggx[slices]."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, slices, in_shape):
        self.slices = slices
        self.in_shape = in_shape

    def forward(self, gy):
        return _scatter_add(gy, self.slices, self.in_shape)

    def backward(self, ggx):
        return ggx[self.slices]


def _scatter_add(values, slices, shape):
    """Zeros of ``shape`` with the array ``values`` added at ``slices`` (repeats add up)."""
    xp = cuda.get_array_module(values)
    out = xp.zeros(shape, dtype=values.dtype)
    if _is_basic_index(slices):
        out[slices] = values  # a view: no position is selected twice
    else:
        scatter_add(out, slices, values)
    return out


def _own_index(index):
    """``index`` as GetItem keeps it until backward: integer and boolean arrays (also
    inside a tuple) are copied, so that changing the caller's afterwards changes
    nothing; lists become such arrays (an empty list an empty integer array, as in
    NumPy); a Variable gives its data, as an index has no gradient (one holding no
    data is refused: NumPy would read None as a new axis).  Ints, slices, None and
    Ellipsis are kept as they are."""
    if isinstance(index, tuple):
        return tuple(_own_index(part) for part in index)
    if isinstance(index, Variable):
        if index.data is None:
            raise ValueError(
                'GetItem: the index is a Variable holding no data, which would be read '
                'as None (a new axis); give it data first'
            )
        index = index.data
    if isinstance(index, list):
        index = np.array(index)
        return index.astype(np.intp) if index.size == 0 else index
    return index.copy() if cuda.is_array(index) else index


def _is_basic_index(index):
    """True for ints, slices, None and Ellipsis (alone or in a tuple): an index that
    selects every position at most once, unlike integer arrays that may repeat."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts
    ) and not any(isinstance(p, bool) for p in parts)


def get_item(x, slices):
    """Index ``x`` like a NumPy array (ints, slices, integer arrays, masks).
    Derivative: gy is added back at the selected positions, repeats accumulating.

    Index arrays, lists and Variables (whose data is used: the index is not
    differentiated) are copied, so that changing them afterwards does not change the
    gradient."""
    return GetItem(slices)(x)


# ---- broadcasting ----------------------------------------------------------------------
class BroadcastTo(Function):
    """y = x broadcast to ``shape``; the gradient is gy summed back to x's shape."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, shape):
        self.shape = _as_shape('BroadcastTo', shape)

    def forward(self, x):
        self.x_shape = x.shape
        xp = cuda.get_array_module(x)
        try:
            return xp.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(
                f'cannot broadcast an array of shape {x.shape} to shape {self.shape}'
            ) from None

    def backward(self, gy):
        return SumTo(self.x_shape)(gy)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (an int or a sequence of ints) as NumPy does.
    Derivative: sum gy back to x's shape."""
    x = as_input(x, 'broadcast_to')
    shape = _as_shape('broadcast_to', shape)
    if x.shape == shape and isinstance(x, Variable):  # (an array: as in reshape)
        return x
    return BroadcastTo(shape)(x)


class SumTo(Function):
    """y = x summed down to ``shape``; the gradient is gy broadcast back to x's shape."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, shape):
        self.shape = _as_shape('SumTo', shape)

    def forward(self, x):
        self.x_shape = x.shape
        if not broadcasts_to(self.shape, x.shape):
            return _sum_to_as_the_book(x, self.shape)
        y = _sum_to_array(x, self.shape)
        return x.view() if y is x else y  # a view, which the graph notes, not x itself

    def backward(self, gy):
        return BroadcastTo(self.x_shape)(gy)


def _sum_to_as_the_book(x, shape):
    """The book's DeZero's answer for a ``shape`` that ``x`` does not broadcast from:
    the leading axes are summed away, then the axes where ``shape`` has size 1, so the
    result has the shape of x's trailing axes, not ``shape``.  Code written for the book
    relies on it (its own tests ask for ``sum_to((10, 20, 20) array, (10,))``, which
    gives (20,)), so it is kept, with a warning naming both shapes."""
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(
            f'sum_to: cannot sum an array of shape {x.shape} to the larger shape {shape}'
        )
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1)
    y = sum_array(x, axes, keepdims=True)
    y = y.reshape(y.shape[lead:])
    warnings.warn(
        f'sum_to: an array of shape {x.shape} does not broadcast from shape '
        f"{shape}; summing its leading axes as the book's DeZero does gives "
        f'shape {y.shape}',
        UserWarning,
        stacklevel=5,
    )
    return y


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (an int or a sequence of ints), the reverse of
    broadcasting.  Derivative: broadcast gy back to x's shape.

    A ``shape`` that x does not broadcast from gets the book's answer with a warning
    (see :func:`_sum_to_as_the_book`)."""
    x = as_input(x, 'sum_to')
    shape = _as_shape('sum_to', shape)
    if x.shape == shape and isinstance(x, Variable):  # (an array: as in reshape)
        return x
    return SumTo(shape)(x)


# ---- dtype -----------------------------------------------------------------------------
class AsType(Function):
    """y = x converted to ``dtype``; the gradient is gy converted back to x's dtype."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.x_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        # integer and bool inputs keep the floating gradient as it comes
        if self.x_dtype.kind != 'f' or gy.dtype == self.x_dtype:
            return gy
        return AsType(self.x_dtype)(gy)


def astype(x, dtype):
    """Return ``x`` converted to the floating-point ``dtype`` (``x`` itself when it is a
    Variable of that dtype already).
    Derivative: gy converted back to x's dtype; an integer x receives gy in float64,
    the dtype of every integer Variable's gradient, never an integer gradient."""
    x = as_input(x, 'astype')
    dtype = np.dtype(dtype)
    if dtype.kind != 'f':
        raise TypeError(
            f'astype: dtype must be a floating-point type, got {dtype} (a cast to it '
            f'would have no gradient); convert the array itself, x.data.astype(...)'
        )
    if x.dtype == dtype and isinstance(x, Variable):
        return x  # (an array goes through the function, which copies it)
    if x.dtype.kind not in 'biuf':
        raise TypeError(
            f'astype: expected x of a real dtype (bool, integer or floating-point), got '
            f'{x.dtype} (shape {x.shape})'
        )
    return AsType(dtype)(x)


# ---- joining ---------------------------------------------------------------------------
class Concat(Function):
    """y = the inputs joined along ``axis``; each gradient is its slice of gy."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        axis, ndim = self.axis, xs[0].ndim
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, (bool, np.bool_)):
            raise TypeError(f'axis must be an int, got {axis!r}')
        if ndim == 0:
            raise ValueError('0-d inputs have no axis to join along (stack makes one)')
        if not -ndim <= axis < ndim:
            raise ValueError(f'axis {axis} is out of range for inputs of {ndim} dimensions')
        y = cuda.get_array_module(xs[0]).concatenate(xs, axis=axis)
        self.sizes = [x.shape[axis] for x in xs]  # all of ndim dimensions, as y was made
        return y

    def backward(self, gy, *, needs_input_grad):
        return tuple(
            gy[index] if needed else None
            for index, needed in zip(self._pieces(gy.ndim), needs_input_grad)
        )

    def _pieces(self, ndim):
        """The index of each input's slice of an ``ndim``-dimensional output."""
        start = 0
        index = [slice(None)] * ndim
        for n in self.sizes:
            index[self.axis] = slice(start, start + n)
            yield tuple(index)
            start += n


def concat(xs, axis=0):
    """Join the sequence of Variables/arrays ``xs`` along an existing ``axis``.
    Derivative: each input receives its own slice of gy."""
    xs = list(xs)
    if not xs:
        raise ValueError('concat: expected at least one input, got an empty sequence')
    return Concat(axis)(*xs)


def stack(xs, axis=0):
    """Join ``xs`` (all of one shape) along a new ``axis``, an int counted in the
    result, as in NumPy.  Derivative: each input receives its own slice of gy."""
    xs = [as_input(x, 'stack', i, numbers_only=True) for i, x in enumerate(xs)]
    if not xs:
        raise ValueError('stack: expected at least one input, got an empty sequence')
    shapes = {x.shape for x in xs}
    if len(shapes) != 1:
        raise ValueError(f'stack: all inputs must have the same shape, got {[x.shape for x in xs]}')
    if not is_int(axis):
        raise TypeError(f'stack: axis must be an int, got {type(axis).__name__} {axis!r}')
    ndim = xs[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(
            f'stack: axis {axis} is out of range for stacking inputs of shape '
            f'{xs[0].shape}: expected an int from {-ndim} to {ndim - 1}'
        )
    axis = int(axis)
    return concat([expand_dims(x, axis) for x in xs], axis=axis)

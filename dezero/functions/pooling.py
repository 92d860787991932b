"""Pooling over the spatial windows of an NCHW batch: max pooling and average pooling.

Both read the windows through a strided view of the padded input (no loop over
pixels).  Max pooling remembers which element of each window won; its gradient sends
gy there, and the gradient of that scatter is the matching gather, so both directions
stay differentiable.  Average pooling is linear: its gradient spreads gy evenly over
each window, and the gradient of that is average pooling again.  Each backward is one
call of such a gradient function, whose forward is the array kernel: a first-order pass
runs the kernel on arrays, a recorded one (``create_graph``) records the function.
"""

import numpy as np

from dezero import cuda
from dezero.array_ops import float_data, is_float16
from dezero.checks import given_once
from dezero.conv_ops import add_windows, conv_geometry, pad_image, window_view
from dezero.core import Config, Function
from dezero.functions.array import as_input

__all__ = [
    'pooling',
    'max_pooling',
    'average_pooling',
    'Pooling',
    'Pooling2DGrad',
    'Pooling2DWithIndexes',
    'AveragePooling',
]


def _lowest(dtype):
    """The value that never wins a max: -inf for floats, the minimum for integers."""
    if dtype == np.bool_:
        return False
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    return np.iinfo(dtype).min


class _Windows:
    """The geometry shared by a pooling function and its gradient functions."""

    def __init__(self, kernel, stride, pad, out):
        self.kernel = kernel
        self.stride = stride
        self.pad = pad
        self.out = out

    def view(self, x, fill=0):
        """The windows of x, padded with ``fill``: a (N, C, KH, KW, OH, OW) view."""
        return window_view(pad_image(x, self.pad, fill), self.kernel, self.stride, self.out)

    def fold(self, x, name, fill=0):
        """The ufunc ``name`` ('maximum', 'add') of x's array module folded over each
        window of x padded with ``fill``: one elementwise step per kernel offset over a
        strided slice, which is faster than NumPy's reduction over the window axes."""
        ufunc = getattr(cuda.get_array_module(x), name)
        v = self.view(x, fill)
        y = v[:, :, 0, 0].copy()
        kh, kw = self.kernel
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    ufunc(y, v[:, :, i, j], out=y)
        return y

    def flat_columns(self, x, fill=0):
        """The windows of x as a C-contiguous (N, C, KH*KW, OH, OW) array."""
        n, c = x.shape[:2]
        (kh, kw), (oh, ow) = self.kernel, self.out
        return self.view(x, fill).reshape(n, c, kh * kw, oh, ow)

    def add_back(self, col, x_shape):
        """Add the (N, C, KH, KW, OH, OW) values ``col`` onto an image of ``x_shape``."""
        return add_windows(col, x_shape, self.stride, self.pad)

    def max_and_argmax(self, x, fill):
        """The maximum of each window of x (padded with ``fill``) and the offset
        k = i*KW + j of the element that holds it: the first one on a tie, never the
        padding, and in a window holding NaN (whose maximum is NaN) its last NaN, as
        PyTorch picks.  Returns (maximum, offsets), the offsets small integers of shape
        (N, C, OH, OW)."""
        xp = cuda.get_array_module(x)
        v = self.view(x, fill)
        kh, kw = self.kernel
        size = kh * kw
        y = v[:, :, 0, 0].copy()
        offsets = xp.zeros(y.shape, dtype=np.int8 if size < 128 else np.int32)
        for k in range(1, size):
            element = v[:, :, k // kw, k % kw]
            larger = element > y  # strictly: a tie keeps the earlier offset
            xp.maximum(y, element, out=y)
            offsets += larger * (k - offsets)  # k where larger, unchanged elsewhere
        nan = xp.isnan(y) if y.dtype.kind == 'f' else None
        if nan is not None and nan.any():  # rare: find each such window's last NaN
            for k in range(size):
                offsets[nan & xp.isnan(v[:, :, k // kw, k % kw])] = k
        if self.pad != (0, 0):
            low = y == fill  # rare: the padding may have won the tie (every x is -inf)
            if low.any():
                real = self.view(xp.ones((1, 1) + x.shape[2:], dtype=bool), False)
                for k in range(size - 1, -1, -1):  # the first element that is not padding
                    offsets[low & real[:, :, k // kw, k % kw]] = k
        return y, offsets

    def scatter(self, values, offsets, x_shape):
        """An image of ``x_shape`` holding zeros plus each of ``values`` (N, C, OH,
        OW) added at the element its window's offset points at (overlapping windows
        add up; integers in float64, where their sums do not wrap round)."""
        values = float_data(values)
        xp = cuda.get_array_module(values)
        n, c = values.shape[:2]
        (kh, kw), (oh, ow) = self.kernel, self.out
        # multiplying by a 0/1 mask is exact for finite values only (0 * inf is nan)
        finite = bool(xp.isfinite(values).all())

        def route(hit, out):
            """Write into ``out`` the values whose window's maximum is where ``hit``
            is True, and zeros elsewhere."""
            if finite:
                xp.multiply(values, hit, out=out)
            else:
                out[...] = xp.where(hit, values, 0)

        if self.stride == self.kernel and self.pad == (0, 0):
            # the windows tile the image's top-left (OH*KH, OW*KW) corner, which is
            # then an (N, C, OH, KH, OW, KW) array: write each offset's slice of it
            tiles = xp.empty((n, c, oh, kh, ow, kw), dtype=values.dtype)
            for k in range(kh * kw):
                route(offsets == k, tiles[:, :, :, k // kw, :, k % kw])
            tiles = tiles.reshape(n, c, oh * kh, ow * kw)
            if tiles.shape == tuple(x_shape):
                return tiles
            img = xp.zeros(x_shape, dtype=values.dtype)
            img[:, :, : oh * kh, : ow * kw] = tiles
            return img
        col = xp.empty((n, c, kh, kw, oh, ow), dtype=values.dtype)
        for k in range(kh * kw):
            route(offsets == k, col[:, :, k // kw, k % kw])
        return self.add_back(col, x_shape)

    def gather(self, x, offsets):
        """The element of each window of x (zero-padded) at its offset."""
        xp = cuda.get_array_module(x)
        col = self.flat_columns(x)
        return xp.take_along_axis(col, offsets[:, :, None].astype(np.intp), axis=2)[:, :, 0]

    def average(self, x):
        """The mean of each window of x, zero padding included: float16 summed in
        float32 and integers in float64, whose sums would overflow their own dtype."""
        kh, kw = self.kernel
        x = float_data(x)
        if is_float16(x.dtype):  # either byte order
            return self.average(x.astype(np.float32)).astype(np.float16)
        y = self.fold(x, 'add')
        y *= 1.0 / (kh * kw)  # a Python float keeps float32
        return y

    def spread_average(self, gy, x_shape):
        """An image of ``x_shape`` with gy / (KH*KW) added over every window (the
        adjoint of :meth:`average`)."""
        n, c = gy.shape[:2]
        (kh, kw), (oh, ow) = self.kernel, self.out
        xp = cuda.get_array_module(gy)
        share = gy * (1.0 / (kh * kw))  # a Python float keeps float32
        col = xp.broadcast_to(share[:, :, None, None], (n, c, kh, kw, oh, ow))
        return self.add_back(col, x_shape)


# --------------------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------------------
def _windows(name, x_shape, kernel_size, stride, pad):
    """The checked geometry of a pooling (``name``, which errors name) of an input of
    shape ``x_shape``.  The padding must leave every window a real element, so pad is
    smaller than the kernel: a window of padding alone would have no maximum to send
    gy to, and its average would be a made-up 0."""
    kernel, stride, pad, out = conv_geometry(name, x_shape, kernel_size, stride, pad)
    if pad[0] >= kernel[0] or pad[1] >= kernel[1]:
        raise ValueError(
            f'{name}: pad {pad} must be smaller than the kernel {kernel}, else a '
            f'window may hold padding only'
        )
    return _Windows(kernel, stride, pad, out)


class Pooling(Function):
    """y = the maximum of each window of x (padding never wins); ``kernel_size``,
    ``stride`` and ``pad`` are ints or (height, width) pairs.
    Derivative: gy to the first position of each window that holds the maximum.

    After a call that records a graph, ``indexes`` (the book's name) holds the offset
    i*KW + j of that position in each window, an (N, C, OH, OW) array.  A subclass
    whose forward is the book's assigns ``indexes`` itself (offsets in the windows of
    x zero-padded, so they may point at the padding); its gradient functions then use
    those, as the book's do (see :func:`_book_argmax`)."""

    retain_inputs = ()
    retain_outputs = ()
    _assigned_indexes = None  # the indexes a forward written as in the book assigned

    def __init__(self, kernel_size, stride=1, pad=0):
        self.kernel_size = kernel_size
        self.stride = stride
        self.pad = pad

    def forward(self, x):
        self._assigned_indexes = None  # this call finds its own offsets
        self.windows = _windows('pooling', x.shape, self.kernel_size, self.stride, self.pad)
        fill = _lowest(x.dtype)
        if not Config.enable_backprop:  # no graph: the argmax is never needed
            self.offsets = None
            return self.windows.fold(x, 'maximum', fill)
        self.x_shape = x.shape
        y, self.offsets = self.windows.max_and_argmax(x, fill)
        return y

    def backward(self, gy):
        return Pooling2DGrad(self)(gy)

    @property
    def indexes(self):
        """The argmax offsets of the last recorded call, or those assigned since (see
        the class docstring)."""
        if self._assigned_indexes is not None:
            return self._assigned_indexes
        if getattr(self, 'offsets', None) is None:
            raise AttributeError(
                'Pooling.indexes: this Pooling has not run forward while recording a '
                "graph, so it did not keep where each window's maximum is"
            )
        return self.offsets

    @indexes.setter
    def indexes(self, value):
        """Keep ``value`` as the offsets of the maxima in the zero-padded windows, as
        the book's forward does, in place of any this Pooling's forward found."""
        self._assigned_indexes = value
        self.offsets = None


def _recorded_argmax(name, pooling):
    """The geometry, the argmax offsets and the input shape of the max pooling
    ``pooling`` (a :class:`Pooling` call, a Pooling2DGrad or Pooling2DWithIndexes made
    from one, or a max pooling written as in the book, a Pooling subclass whose forward
    assigned ``indexes`` included: see :func:`_book_argmax`), for the function
    ``name`` that moves values to or from them."""
    if not isinstance(pooling, (Pooling, Pooling2DGrad, Pooling2DWithIndexes)):
        return _book_argmax(name, pooling)
    if isinstance(pooling, Pooling) and pooling._assigned_indexes is not None:
        return _book_argmax(name, pooling)  # a forward written as in the book
    if getattr(pooling, 'offsets', None) is None:
        raise TypeError(
            f'{name}: expected a Pooling that has run forward while '
            f"recording a graph (it then knows where each window's maximum "
            f'is), got {pooling!r}'
        )
    return pooling.windows, pooling.offsets, pooling.x_shape


def _book_attributes(f, pooling):
    """Set on ``f`` (a Pooling2DGrad or Pooling2DWithIndexes) what the book's have,
    for code that reads them: the max pooling call ``mpool2d``, its ``kernel_size``,
    ``stride``, ``pad`` and ``indexes``, and the ``input_shape`` and ``dtype`` of its
    input."""
    f.mpool2d = pooling
    f.kernel_size, f.stride, f.pad = pooling.kernel_size, pooling.stride, pooling.pad
    f.indexes = pooling.indexes
    f.input_shape = f.x_shape
    if isinstance(pooling, (Pooling2DGrad, Pooling2DWithIndexes)):
        f.dtype = pooling.dtype
    else:
        f.dtype = pooling.inputs[0].dtype


def _book_argmax(name, pooling):
    """The geometry, the argmax offsets and the input shape of ``pooling``, a called
    max pooling written as in the book: a Function with ``kernel_size``, ``stride``,
    ``pad``, its input x as ``inputs[0]``, and ``indexes``, the offset i*KW + j of
    the maximum in each window of x zero-padded.  An offset may point at the padding:
    a gradient sent there is dropped and a value read there is 0, as in the book.
    TypeError naming what ``pooling`` lacks, ValueError for indexes that do not fit."""
    what = type(pooling).__name__
    missing = [
        a for a in ('kernel_size', 'stride', 'pad', 'indexes') if getattr(pooling, a, None) is None
    ]
    inputs = getattr(pooling, 'inputs', None)
    if inputs is None:
        missing.append('inputs (it has not been called)')
    elif len(inputs) < 1 or getattr(inputs[0], 'shape', None) is None:
        missing.append('inputs[0] (the x of its call)')
    if missing:
        raise TypeError(
            f'{name}: expected a Pooling that has run forward while recording a graph, '
            f'or another called max pooling with kernel_size, stride, pad, indexes and '
            f'its x as inputs[0]; {what} lacks {", ".join(missing)}'
        )
    x_shape = tuple(inputs[0].shape)
    kernel, stride, pad, out = conv_geometry(
        name, x_shape, pooling.kernel_size, pooling.stride, pooling.pad
    )
    indexes = pooling.indexes
    shape = getattr(indexes, 'shape', None)
    dtype = getattr(indexes, 'dtype', None)
    if shape != x_shape[:2] + out or getattr(dtype, 'kind', None) not in ('i', 'u'):
        raise ValueError(
            f'{name}: the indexes of {what} must be an integer array of shape '
            f'{x_shape[:2] + out}, one offset per window of its input of shape '
            f'{x_shape}; got {_describe(indexes)}'
        )
    size = kernel[0] * kernel[1]
    if indexes.size and (indexes.min() < 0 or indexes.max() >= size):
        raise ValueError(
            f'{name}: the indexes of {what} must be offsets i*KW + j in a {kernel} '
            f'window, from 0 to {size - 1}; got values from {indexes.min()} to '
            f'{indexes.max()}'
        )
    return _Windows(kernel, stride, pad, out), indexes, x_shape


def _describe(a):
    """The type of ``a``, with its dtype and shape when it has them, for an error."""
    what = type(a).__name__
    if getattr(a, 'dtype', None) is None or getattr(a, 'shape', None) is None:
        return what
    return f'{what} of dtype {a.dtype} and shape {tuple(a.shape)}'


def _refuse_misfit(name, arg, shape, expected, windows, x_shape):
    """ValueError naming the gradient function ``name`` when its input ``arg`` has a
    ``shape`` other than the ``expected`` one that the max pooling of an input of
    shape ``x_shape`` with the geometry ``windows`` implies."""
    if shape != expected:
        raise ValueError(
            f'{name}: {arg} of shape {tuple(shape)} does not fit the max pooling of an '
            f'input of shape {tuple(x_shape)} with kernel {windows.kernel}, stride '
            f'{windows.stride} and pad {windows.pad}; expected {arg} of shape '
            f'{tuple(expected)}'
        )


class Pooling2DGrad(Function):
    """gx = gy scattered to the recorded argmax of each window of the max pooling
    ``pooling`` (adding where windows overlap; an integer gy in float64).  Linear in
    gy; derivative: the gather Pooling2DWithIndexes of ggx.

    ``pooling`` (or ``mpool2d``, the book's name for it) is a called Pooling, or
    another called max pooling Function written as in the book: with ``kernel_size``,
    ``stride``, ``pad``, its x as ``inputs[0]`` and ``indexes``, the offset i*KW + j
    of each window's maximum, which may point at the zero padding (a gradient sent
    there is dropped).  gy must have the shape (N, C, OH, OW) of that call's output
    (ValueError otherwise)."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, pooling=None, *, mpool2d=None):
        pooling = given_once(
            'Pooling2DGrad', 'the max pooling call', ('pooling', pooling), ('mpool2d', mpool2d)
        )
        self.windows, self.offsets, self.x_shape = _recorded_argmax('Pooling2DGrad', pooling)
        _book_attributes(self, pooling)

    def forward(self, gy):
        _refuse_misfit(
            'Pooling2DGrad', 'gy', gy.shape, self.offsets.shape, self.windows, self.x_shape
        )
        return self.windows.scatter(gy, self.offsets, self.x_shape)

    def backward(self, ggx):
        return Pooling2DWithIndexes(self)(ggx)


class Pooling2DWithIndexes(Function):
    """y = x read at the recorded argmax of each window of the max pooling ``pooling``
    (the adjoint of Pooling2DGrad).  Linear in x; derivative: the scatter Pooling2DGrad
    of gy.  ``pooling`` (or ``mpool2d``) is given as to :class:`Pooling2DGrad`; x must
    have the shape of that call's input (ValueError otherwise)."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, pooling=None, *, mpool2d=None):
        pooling = given_once(
            'Pooling2DWithIndexes',
            'the max pooling call',
            ('pooling', pooling),
            ('mpool2d', mpool2d),
        )
        self.windows, self.offsets, self.x_shape = _recorded_argmax('Pooling2DWithIndexes', pooling)
        _book_attributes(self, pooling)
        self.input_shpae = self.input_shape  # as the book spells it in this class

    def forward(self, x):
        _refuse_misfit(
            'Pooling2DWithIndexes', 'x', x.shape, self.x_shape, self.windows, self.x_shape
        )
        return self.windows.gather(x, self.offsets)

    def backward(self, gy):
        return Pooling2DGrad(self)(gy)


# --------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------
class AveragePooling(Function):
    """y = the mean of each window of x, zero padding included (every window divides
    by KH*KW); ``kernel_size``, ``stride`` and ``pad`` are ints or (height, width)
    pairs.  Derivative: gy / (KH*KW) spread over the window."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, kernel_size, stride=1, pad=0):
        self.kernel_size = kernel_size
        self.stride = stride
        self.pad = pad

    def forward(self, x):
        self.windows = _windows('average_pooling', x.shape, self.kernel_size, self.stride, self.pad)
        self.x_shape = self.input_shape = x.shape  # (the book's name)
        return self.windows.average(x)

    def backward(self, gy):
        return AveragePoolingGrad(self.windows, self.x_shape)(gy)


class AveragePoolingGrad(Function):
    """gx = gy / (KH*KW) added over every window it pooled.  Linear in gy;
    derivative: average pooling of ggx."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, windows, x_shape):
        self.windows = windows
        self.x_shape = x_shape

    def forward(self, gy):
        return self.windows.spread_average(gy, self.x_shape)

    def backward(self, ggx):
        w = self.windows
        return AveragePooling(w.kernel, w.stride, w.pad)(ggx)


# --------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------
def pooling(x, kernel_size, stride=1, pad=0):
    """Max pooling of the batch ``x`` (N, C, H, W): the maximum of each window of size
    ``kernel_size`` taken every ``stride`` pixels; the input is padded by ``pad`` with
    values that never win (so pad must be smaller than the kernel, else a window
    could hold padding only).  Kernel, stride and pad are ints or (height, width)
    pairs; the output has shape (N, C, OH, OW) with OH = (H + 2*ph - KH) // sh + 1.
    Derivative: gy goes to the maximum of each window (to the first one on a tie)."""
    x = as_input(x, 'pooling')  # an array stays one: a constant, given no gradient
    # checked here as well as in forward, so that an error names pooling without the
    # prefix 'Pooling:' and the input shapes that an error raised in forward gets
    _windows('pooling', x.shape, kernel_size, stride, pad)
    return Pooling(kernel_size, stride, pad)(x)


max_pooling = pooling


def average_pooling(x, kernel_size, stride=1, pad=0):
    """Average pooling of the batch ``x`` (N, C, H, W): the mean of each window of size
    ``kernel_size`` taken every ``stride`` pixels, over the input zero-padded by
    ``pad`` (padding counts: every window divides by KH*KW; pad must be smaller than
    the kernel, so that no window holds padding only).  The output has shape
    (N, C, OH, OW) with OH = (H + 2*ph - KH) // sh + 1.
    Derivative: gy / (KH*KW) to every element of its window (overlaps add up)."""
    x = as_input(x, 'average_pooling')
    _windows('average_pooling', x.shape, kernel_size, stride, pad)  # as in pooling
    return AveragePooling(kernel_size, stride, pad)(x)

"""Array kernels for convolution and pooling (NCHW layout): sizes, im2col and col2im,
and convolution, its filter gradient and transposed convolution as matrix products.

``im2col`` lays every kernel-sized window of an image batch out as a column, so that
a convolution becomes a matrix product; ``col2im`` is its adjoint: it adds every
window's values back onto the positions of the image they came from (overlapping
windows add up).  All of this works on plain arrays; the differentiable versions live
in :mod:`dezero.functions.conv`.

How the convolution kernels lay out their work
----------------------------------------------
For one image, the windows of C channels form a matrix ``col`` of shape
(C*KH*KW, OH*OW), and the convolution is one matrix product,
``y[n] = W.reshape(OC, -1) @ col``.  Written out for a whole batch, ``col`` is KH*KW
times larger than the input (75 MB for 64 images of 32 channels at 32x32 with 3x3
kernels): writing it and reading it back costs as much time as the product itself.
So the kernels take the batch in *blocks* of a few images, sized so that a block's
columns (about :data:`BLOCK_BYTES`) stay in the processor's cache between the copy
that writes them and the product that reads them.  One column buffer is reused by
every block; it is the only large temporary, and it is freed when the call returns.
On a GPU the whole batch is one block: there the cost is in launching kernels.

The rows of a column buffer are one cache line longer than the data they hold
(:func:`_matrices`).  A row of a 32x32 image is 4 KiB of float32 numbers, and
addresses 4 KiB apart share the same few sets of the processor's caches: the library
reading down such a column evicts what it has just read, and its products ran at
about 75% of their speed on padded rows.  Writing such rows is slow as well: the
stacked products of the kernel-rows layout (below), when their rows are a multiple
of 4 KiB, are written with zero image rows between one row and the next
(:class:`_StackedProducts`), which the sum of the kernel rows reads as the image's
border; these products run about 10% faster.  A bias rides in the products too: the
filter matrix gets one more column, holding it, and the columns one more row, of ones
(:func:`_with_bias`), so that no pass of its own over the output adds it.

Two layouts of the columns serve different cases; :func:`conv2d_array` and
:func:`conv2d_grad_w_array` pick one.

*Windows* (any stride): every window is a column, as above.  Per block, the kernel
copies the block into a zero-bordered buffer when there is padding, then:

- the convolution copies the block's columns, shape (B, C*KH*KW, OH*OW), and
  multiplies each image's columns, writing the product straight into the output;
- the filter gradient (at strides above 1) copies a block's columns as one
  (C*KH*KW, B*OH*OW) matrix and the block's ``gy`` as one (OC, B*OH*OW) matrix, so
  that the block is one product with a long inner dimension;
- :func:`deconv2d_array` (the gradient of a convolution with respect to its input)
  multiplies ``W.T @ x[n]`` into a block of columns and adds each window back onto
  the output (col2im).

*Kernel rows* (stride 1): only the KW horizontal shifts of each image row are copied,
``rows[(c, j), (r, q)] = x[c, r, q + j - pw]``, a (C*KW, H*OW) matrix per image, a
third of the windows' columns for 3x3 kernels.  The KH kernel rows go into the filters
instead: W as a (KH*OC, C*KW) matrix, row (i, o) and column (c, j) holding W[o, c, i,
j], times ``rows`` gives for every kernel row i its contribution at every input row,
and output row r adds up the contributions of kernel row i at input row ``r + i -
ph``.  In the flattened (H*OW) axis a shift by whole rows is a shift by a multiple of
OW, so each kernel row is added as one contiguous slice (:func:`_add_kernel_rows`).
The product is KH times taller and its inner dimension KH times shorter than with
windows; the library runs these shapes faster (for 32 channels, a (96, 96) by (96, N)
product runs at about 1.4 times the speed of a (32, 288) by (288, N) one), and there
are two thirds fewer copies, against one pass that adds the kernel rows together.
That pays unless the output has many more channels than the input, when the stacked
products are mostly to be added back (:func:`stacks_kernel_rows`).  The filter
gradient at stride 1 takes this layout on the same rule: gy shifted by each kernel
row, stacked, times the kernel rows of x.

The kernel rows are taken at every input row, and as wide as the output: about KH
or KW times the image when the output is about as large as the input.  A kernel
nearly as tall or wide as the image leaves few outputs, and the rows then grow with
the product of the image's size and the kernel's (for a 1x100000 kernel on a
1x100000 image, the kernel rows of gy hold 10**10 numbers for one output).  So the
kernel rows are taken only where :func:`kernel_rows_fit` holds, and the windows or
separate gradients otherwise, whose columns stay near the windows' own size.

With stride 1 a transposed convolution is also a convolution, of its input padded by
KH-1-ph (KW-1-pw) with the filters flipped in both spatial axes and their two channel
axes swapped; :func:`deconv2d_array` takes that when its columns are no larger (see
:func:`transposed_by_gathering`).  :func:`conv2d_grads_array` computes both gradients
of a stride-1 convolution from one set of kernel rows of gy: the input gradient as
that flipped convolution, and the filter gradient as the same rows times x shifted by
each kernel row.

Infinities and NaN
------------------
A convolution has no term for a kernel tap that falls in the padding: the padding is
not a value that is multiplied, it is a sum that leaves the term out.  The layouts
above do multiply zeros, the padding of x and the borders of gy's shifted rows: the
same for finite numbers, but NaN for an infinite or NaN one (0 * inf).  So where such
a product can meet one, the
kernels take the taps one by one instead, each on the slices that lie inside the
image (:func:`_conv2d_by_taps`, :func:`_grad_w_by_taps`), or add windows back
(:func:`_deconv2d_by_adding`), which multiplies no padding either: the output and
the input gradient when the filters are not all finite (zeros of x or gy meet them),
the filter gradient when it comes out with an infinity or NaN (zeros met x or gy; a
filter gradient that is finite was exact).  Both tries of the filter gradient run
without NumPy's warnings of invalid or overflowing operations: the first try's are not
about the result, and NumPy can report them late, from a later product.  Every
product is a matmul: NumPy's dot (and tensordot) takes a 1x1 matrix as a number, and
the library skips a multiplication by the number 0, so that 0 * inf would give 0.

Integers, float16 and empty axes
--------------------------------
NumPy sums integers in their own dtype, where they wrap round (int8: 100 + 100 is
-56).  So when the two arrays a kernel multiplies both hold integers (or bools), it
takes them as float64, as :func:`dezero.array_ops.float_data` does, and so does
col2im, which adds integers up; the result is float64, exact for small integers.
Integers beside float data (NumPy promotes those to the float) are not copied, nor
is float32 or float64 data.

NumPy adds float16 up in float16 too, where a sum stops growing (8192 + 4 is 8192)
and a partial sum overflows where the whole does not (two kernel rows of 80000 and
-80000 make inf - inf, NaN, not 0); nor does it give float16 products to the BLAS
library.  So on the CPU every kernel, col2im included, takes a float16 array as
float32 (:func:`_computing_dtype`), computes in float32 and rounds its result once, at
the end (:func:`_rounded`): a float16 result is its float32 one rounded, ±inf beyond
float16's range (NumPy warns of the overflow).  The results keep their dtypes,
NumPy's promotion of the arrays as given (float16 beside float32 gives float32), and
the rules for infinities and NaN above hold as they are: a float16 infinity is one
in float32.  On a GPU float16 stays float16, its products accumulating in float32
already; only :func:`conv2d_grads_array` sums its filter and bias gradients over the
batch in float32 there.

The batch and channel axes may be empty: a sum over no terms is zero, so a
convolution over no input channels is its bias; an image of height or width 0 is
refused, as PyTorch does.
"""

import numbers

import numpy as np

from dezero import cuda
from dezero.array_ops import channel_sums, float_data, is_float16
from dezero.checks import check_flag


def pair(x):
    """Return ``x`` as a pair of ints: an int ``n`` gives ``(n, n)``, a pair (tuple or
    list of two ints) is returned as a tuple.  Anything else raises TypeError or
    ValueError."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return (int(x), int(x))
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise ValueError(
                f'pair: expected an int or a pair of ints, got {x!r} of length {len(x)}'
            )
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in x):
            raise TypeError(f'pair: expected an int or a pair of ints, got {x!r}')
        return (int(x[0]), int(x[1]))
    raise TypeError(
        f'pair: expected an int or a pair of ints, got {x!r} of type {type(x).__name__}'
    )


def get_conv_outsize(input_size, kernel_size, stride, pad):
    """The output length of a convolution along one axis:
    ``(input_size + 2*pad - kernel_size) // stride + 1``.

    The four are ints (NumPy's too, computed with as Python ints): TypeError for
    anything else, ValueError for a negative size, kernel or pad, a stride under 1 and
    a kernel longer than the padded input (where no window fits)."""
    input_size, kernel_size, stride, pad = _sizes(
        'get_conv_outsize',
        (
            ('input_size', input_size, 0),
            ('kernel_size', kernel_size, 0),
            ('stride', stride, 1),
            ('pad', pad, 0),
        ),
    )
    if kernel_size > input_size + 2 * pad:
        raise ValueError(
            f'get_conv_outsize: kernel_size {kernel_size} is longer than the padded input, '
            f'input_size + 2*pad = {input_size + 2 * pad}: no window fits'
        )
    return (input_size + 2 * pad - kernel_size) // stride + 1


def get_deconv_outsize(size, k, s, p):
    """The output length of a transposed convolution along one axis (the smallest input
    length whose convolution has length ``size``): ``s*(size - 1) + k - 2*p``, which is
    below 1 when the pad ``p`` leaves nothing.

    The four are ints (NumPy's too, computed with as Python ints): TypeError for
    anything else, ValueError for a negative size, kernel ``k`` or pad ``p`` and a
    stride ``s`` under 1."""
    size, k, s, p = _sizes(
        'get_deconv_outsize', (('size', size, 0), ('k', k, 0), ('s', s, 1), ('p', p, 0))
    )
    return s * (size - 1) + k - 2 * p


def _sizes(owner, triples):
    """The values of the ``(name, value, least)`` triples as Python ints, each checked
    to be an int (TypeError naming ``owner`` and the argument) of at least ``least``
    (ValueError): NumPy's small ints would wrap round in the arithmetic."""
    sizes = []
    for arg, value, least in triples:
        if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
            raise TypeError(f'{owner}: {arg} must be an int, got {value!r:.60}')
        if value < least:
            raise ValueError(f'{owner}: {arg} must be at least {least}, got {value}')
        sizes.append(int(value))
    return sizes


def conv_geometry(name, img_shape, kernel_size, stride, pad):
    """Check the arguments of a windowed operation on an NCHW batch of shape
    ``img_shape``; return ``(kh, kw), (sh, sw), (ph, pw), (oh, ow)`` as pairs of ints.

    Raises ValueError, naming ``name``, for a shape that is not 4-D, an image of height
    or width 0 (N and C may be 0), a kernel or stride under 1, a negative pad, or a
    kernel larger than the padded image."""
    if len(img_shape) != 4:
        raise ValueError(f'{name}: expected a 4-D (N, C, H, W) input, got shape {tuple(img_shape)}')
    kh, kw = check_pair(name, 'kernel_size', kernel_size)
    sh, sw = check_pair(name, 'stride', stride)
    ph, pw = check_pair(name, 'pad', pad)
    check_image_size(name, img_shape)
    if kh < 1 or kw < 1:
        raise ValueError(f'{name}: kernel_size must be at least 1, got {(kh, kw)}')
    if sh < 1 or sw < 1:
        raise ValueError(f'{name}: stride must be at least 1, got {(sh, sw)}')
    if ph < 0 or pw < 0:
        raise ValueError(f'{name}: pad must not be negative, got {(ph, pw)}')
    h, w = img_shape[2], img_shape[3]
    if kh > h + 2 * ph or kw > w + 2 * pw:
        raise ValueError(
            f'{name}: kernel {(kh, kw)} is larger than the padded input '
            f'{(h + 2 * ph, w + 2 * pw)} (input shape {tuple(img_shape)}, '
            f'pad {(ph, pw)})'
        )
    oh = get_conv_outsize(h, kh, sh, ph)
    ow = get_conv_outsize(w, kw, sw, pw)
    return (kh, kw), (sh, sw), (ph, pw), (oh, ow)


def check_image_size(name, img_shape):
    """ValueError naming ``name`` when the NCHW shape ``img_shape`` has an image of
    height or width 0: the batch and the channels may be empty, the image may not."""
    if img_shape[2] < 1 or img_shape[3] < 1:
        raise ValueError(
            f'{name}: the input of shape {tuple(img_shape)} has an image of height or '
            f'width 0; only the batch (N) and channel (C) axes may be 0'
        )


def check_pair(name, arg, value):
    """``value`` as a pair of ints (see :func:`pair`); the error names the function
    ``name`` and its argument ``arg``."""
    try:
        return pair(value)
    except (TypeError, ValueError) as e:
        raise type(e)(f'{name}: {arg} must be an int or a pair of ints, got {value!r}') from None


def pad_image(img, pad, value=0):
    """``img`` (N, C, H, W) with ``pad = (ph, pw)`` rows/columns of ``value`` added on
    each side of H and W; ``img`` itself (no copy) when both pads are 0."""
    ph, pw = pad
    if ph == 0 and pw == 0:
        return img
    xp = cuda.get_array_module(img)
    n, c, h, w = img.shape
    out = xp.empty((n, c, h + 2 * ph, w + 2 * pw), dtype=img.dtype)
    out[...] = value
    out[:, :, ph : ph + h, pw : pw + w] = img
    return out


def window_view(img, kernel, stride, out):
    """A strided view of shape (N, C, KH, KW, OH, OW) of the (already padded) ``img``:
    ``view[n, c, i, j, y, x] = img[n, c, y*sh + i, x*sw + j]``.  No copy; read-only on
    the CPU (CuPy has no read-only arrays)."""
    kh, kw = kernel
    sh, sw = stride
    oh, ow = out
    n, c = img.shape[:2]
    s0, s1, s2, s3 = img.strides
    shape, strides = (n, c, kh, kw, oh, ow), (s0, s1, s2, s3, s2 * sh, s3 * sw)
    xp = cuda.get_array_module(img)
    if xp is np:
        return np.lib.stride_tricks.as_strided(img, shape=shape, strides=strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(img, shape=shape, strides=strides)


def im2col_array(img, kernel_size, stride, pad, to_matrix=True):
    """The windows of the image batch ``img`` (N, C, H, W), zero-padded by ``pad``, as
    columns: an array of shape (N, C, KH, KW, OH, OW) with
    ``col[n, c, i, j, y, x] = padded[n, c, y*SH + i, x*SW + j]``, or with ``to_matrix``
    the book's matrix of shape (N*OH*OW, C*KH*KW), one row per output pixel.

    ``kernel_size``, ``stride`` and ``pad`` are ints or (height, width) pairs.  Built
    from a strided view in one copy, without a loop over pixels; the result is always
    an array of its own, never sharing memory with ``img``."""
    to_matrix = check_flag('im2col', 'to_matrix', to_matrix)
    _check_array('im2col_array', 'img', img)
    kernel, stride, pad, out = conv_geometry('im2col', img.shape, kernel_size, stride, pad)
    view = window_view(pad_image(img, pad), kernel, stride, out)
    if not to_matrix:
        return view.copy()
    n, c, kh, kw, oh, ow = view.shape
    col = view.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)
    # The reshape copies, except where the windows lie in img's own order (a 1x1
    # kernel, or one as large as the image, for a single image or channel): then col
    # is img's memory, which a caller changing img in place would change too.
    if cuda.get_array_module(img).may_share_memory(col, img):
        col = col.copy()
    return col


def _check_array(name, what, a):
    """TypeError naming the function ``name`` and its argument ``what`` unless ``a``
    is a NumPy or CuPy array."""
    if not cuda.is_array(a):
        raise TypeError(f'{name}: {what} must be a NumPy or CuPy array, got {type(a).__name__}')


def col2im_array(col, img_shape, kernel_size, stride, pad, to_matrix=True):
    """The adjoint of :func:`im2col_array`: add every window of ``col`` back onto the
    image positions it was taken from (overlaps add up) and return an image of shape
    ``img_shape`` (N, C, H, W); the padding is cut off.

    ``col`` has shape (N, C, KH, KW, OH, OW), or (N*OH*OW, C*KH*KW) with ``to_matrix``;
    integers (and bools) are added up in float64, where they do not wrap round.  The
    scatter-add loops over the KH*KW kernel offsets (each step adds a whole strided
    slice), or over the OH*OW windows when they are fewer, never over pixels."""
    to_matrix = check_flag('col2im', 'to_matrix', to_matrix)
    _check_array('col2im_array', 'col', col)
    kernel, stride, pad, out = conv_geometry('col2im', img_shape, kernel_size, stride, pad)
    n, c, h, w = img_shape
    (kh, kw), (oh, ow) = kernel, out
    full = (n, c, kh, kw, oh, ow)
    if to_matrix:
        if col.shape != (n * oh * ow, c * kh * kw):
            raise ValueError(
                f'col2im: col of shape {col.shape} does not fit image shape '
                f'{tuple(img_shape)}; expected {(n * oh * ow, c * kh * kw)}'
            )
        col = col.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    elif col.shape != full:
        raise ValueError(
            f'col2im: col of shape {col.shape} does not fit image shape '
            f'{tuple(img_shape)}; expected {full}'
        )
    return add_windows(float_data(col), img_shape, stride, pad)


def add_windows(col, img_shape, stride, pad, out=None):
    """col2im on a (N, C, KH, KW, OH, OW) array ``col`` (any strides, broadcast views
    included) for an image of shape ``img_shape`` and ``stride``, ``pad`` pairs whose
    geometry has already been checked; returns a new C-contiguous image of col's
    dtype (float16 added up in float32 on the CPU, see :func:`_computing_dtype`), or
    fills the given array ``out`` of that shape, adding up in its dtype, and returns
    it.

    Adds straight into the unpadded image: for each kernel offset only the window
    positions that land inside the image are added, so no padded buffer is cut down.
    With fewer windows than kernel offsets (a kernel about as large as the image),
    each window's part inside the image is added at once instead."""
    xp = cuda.get_array_module(col)
    n, c, h, w = img_shape
    _, _, kh, kw, oh, ow = col.shape
    sh, sw = stride
    ph, pw = pad
    if out is None:
        img = xp.zeros((n, c, h, w), dtype=_computing_dtype(xp, col.dtype))
    else:
        img = out
        img[...] = 0
    if oh * ow < kh * kw:
        _add_each_window(col, img, stride, pad)
        return img if out is not None else _rounded(img, col.dtype)
    for i in range(kh):
        y0, y1, r0 = _inside(i - ph, sh, oh, h)
        if y0 >= y1:
            continue
        for j in range(kw):
            x0, x1, c0 = _inside(j - pw, sw, ow, w)
            if x0 >= x1:
                continue
            img[:, :, r0 : r0 + sh * (y1 - y0) : sh, c0 : c0 + sw * (x1 - x0) : sw] += col[
                :, :, i, j, y0:y1, x0:x1
            ]
    return img if out is not None else _rounded(img, col.dtype)


def _add_each_window(col, img, stride, pad):
    """:func:`add_windows` of col (N, C, KH, KW, OH, OW) into img, one window at a
    time: window (p, q) covers rows ``p*sh - ph`` to that plus KH, columns ``q*sw -
    pw`` to that plus KW, and its kernel offsets inside the image are added."""
    h, w = img.shape[2:]
    kh, kw, oh, ow = col.shape[2:]
    (sh, sw), (ph, pw) = stride, pad
    for p in range(oh):
        r = p * sh - ph
        i0, i1 = max(0, -r), min(kh, h - r)
        for q in range(ow):
            s = q * sw - pw
            j0, j1 = max(0, -s), min(kw, w - s)
            if i0 < i1 and j0 < j1:
                img[:, :, r + i0 : r + i1, s + j0 : s + j1] += col[:, :, i0:i1, j0:j1, p, q]


def _inside(offset, stride, out, size):
    """For window positions ``y`` in [0, out) reading row ``y*stride + offset``, the
    range [y0, y1) of those that fall inside [0, size), and the first row read."""
    y0 = max(0, (stride - 1 - offset) // stride)  # ceil(-offset / stride)
    y1 = min(out, (size - 1 - offset) // stride + 1)
    return y0, y1, y0 * stride + offset


# --------------------------------------------------------------------------------------
# Convolution as matrix products, block by block (see the module's docstring)
# --------------------------------------------------------------------------------------
#: The size in bytes a block's columns aim at: a few images' worth that stays in cache.
BLOCK_BYTES = 1 << 20


#: The bytes added to every row of a column buffer (one cache line; none on a GPU).
ROW_PADDING = 64

#: Rows a multiple of this many bytes apart share the processor's cache sets: the
#: stacked products of the kernel-rows layout then get zero rows between channels.
ALIASED_ROW_BYTES = 4096


def _matrices(xp, shape, dtype):
    """An uninitialised array of ``shape`` whose last axis holds the rows of matrices
    for the library's products.  On the CPU consecutive rows start
    :data:`ROW_PADDING` bytes further apart than their length (see the module's
    docstring); the array is a view that leaves those bytes out.  Rows shorter than
    that are not padded: they are too close together to share cache sets, and the
    padding would make a buffer of one-number rows 9 times its size."""
    dtype = np.dtype(dtype)
    long_rows = shape[-1] * dtype.itemsize >= ROW_PADDING
    pad = ROW_PADDING // dtype.itemsize if xp is np and long_rows else 0
    return xp.empty(tuple(shape[:-1]) + (shape[-1] + pad,), dtype=dtype)[..., : shape[-1]]


def _block_size(xp, n, bytes_per_image):
    """How many of the ``n`` images one block takes: as many as fit in
    :data:`BLOCK_BYTES` (at least one); the whole batch on a GPU."""
    if xp is not np:
        return max(n, 1)
    return max(1, min(n, BLOCK_BYTES // max(bytes_per_image, 1)))


def _add_bias(y, b):
    """y + b over the channel axis of the fresh array y, in place when the dtype allows."""
    b = b.reshape(1, -1, 1, 1)
    if np.result_type(y.dtype, b.dtype) == y.dtype:
        y += b
        return y
    return y + b


def _operands(a, b, c=None):
    """``(a, b, c), dtype``: the arrays ``a`` and ``b`` that a kernel multiplies and
    ``c`` that it adds (a bias, or None) as the kernel computes with them, and the
    dtype to round its result to (:func:`_rounded`); see "Integers, float16 and empty
    axes" in the module's docstring.  a and b are taken as float64 when both hold
    integers (or bools).  When one of the arrays holds float16, they are taken as
    :func:`_widened` gives them and dtype is NumPy's result type of the arrays as
    given; otherwise nothing is copied and dtype is None."""
    if a.dtype.kind in 'biu' and b.dtype.kind in 'biu':
        a, b = float_data(a), float_data(b)
    if not _any_float16(a, b, c):
        return (a, b, c), None
    dtype = np.result_type(a, b) if c is None else np.result_type(a, b, c)
    return _widened(a, b, c), dtype


def _any_float16(*arrays):
    """Whether one of the arrays (None among them is no array) holds float16."""
    for a in arrays:
        if a is not None and is_float16(a.dtype):
            return True
    return False


def _computing_dtype(xp, dtype):
    """The dtype the kernels compute in for data of ``dtype`` in the array module
    ``xp``: float32 for float16 on the CPU, where NumPy would add float16 up in float16
    (see "Integers, float16 and empty axes" in the module's docstring); dtype itself
    otherwise."""
    return np.dtype(np.float32) if xp is np and is_float16(dtype) else dtype


def _widened(*arrays):
    """The arrays (of one array module; None stays None) in their
    :func:`_computing_dtype`: float16 on the CPU as float32."""
    xp = cuda.get_array_module(arrays[0])
    return tuple(
        a if a is None else a.astype(_computing_dtype(xp, a.dtype), copy=False) for a in arrays
    )


def _rounded(y, dtype):
    """A kernel's result ``y``, computed in float32 for float16 data (:func:`_operands`),
    rounded once to ``dtype`` when that is float16, the dtype of its result for the
    arrays as given; y itself otherwise (a result beside float32 or float64 data has its
    dtype already)."""
    if dtype is None or not is_float16(dtype) or y.dtype == dtype:
        return y
    return y.astype(dtype)


def _output_size(x_shape, w_shape, stride, pad):
    """(OH, OW) of the convolution of an input of shape ``x_shape`` with filters of
    shape ``w_shape`` (OC, C, KH, KW)."""
    return tuple(
        get_conv_outsize(size, k, s, p)
        for size, k, s, p in zip(x_shape[2:], w_shape[2:], stride, pad)
    )


def conv2d_array(x, W, b, stride, pad):
    """The convolution of x (N, C, H, W) with W (OC, C, KH, KW) plus b (OC,) or None,
    for ``stride`` and ``pad`` pairs already checked against the shapes:
    ``y[n, o, p, q] = b[o] + sum over c, i, j of W[o, c, i, j] * padded x[n, c,
    p*sh + i, q*sw + j]``, shape (N, OC, OH, OW); float64 when x and W both hold
    integers."""
    (x, W, b), dtype = _operands(x, W, b)
    if not _all_finite(W):  # see "Infinities and NaN" in the module's docstring
        y = _conv2d_by_taps(x, W, stride, pad)
        y = y if b is None else _add_bias(y, b)
    elif _by_rows(x.shape, W.shape, stride, pad):
        y = _conv2d_by_rows(x, W, b, pad)
    else:
        y = _conv2d_by_windows(x, W, b, stride, pad)
    return _rounded(y, dtype)


def _with_bias(weights, b, rows, x_dtype):
    """``(filters, True)``: the filter matrix ``weights`` (M, K) with one more column,
    holding b at ``rows`` (a slice) and zeros elsewhere; times columns with one more
    row, of ones, the product has b added to those rows, with no pass of its own over
    the output.  ``(weights, False)`` when there is no bias, no ``rows`` for it
    (None), or x, W and b are not all of one dtype: then the bias is added after,
    with NumPy's promotion."""
    if b is None or rows is None or not (b.dtype == weights.dtype == x_dtype):
        return weights, False
    xp = cuda.get_array_module(weights)
    column = xp.zeros((weights.shape[0], 1), dtype=weights.dtype)
    column[rows, 0] = b
    return xp.concatenate([weights, column], axis=1), True


def conv2d_grad_w_array(x, gy, kernel, stride, pad):
    """The gradient of :func:`conv2d_array` with respect to W, for the output gradient
    gy (N, OC, OH, OW): ``gW[o, c, i, j] = sum over n, p, q of gy[n, o, p, q] *
    padded x[n, c, p*sh + i, q*sw + j]``, shape (OC, C, KH, KW); float64 when x and gy
    both hold integers."""
    (x, gy, _), dtype = _operands(x, gy)
    by_rows = _by_rows(x.shape, (gy.shape[1], x.shape[1]) + tuple(kernel), stride, pad)
    with np.errstate(invalid='ignore', over='ignore'):  # see "Infinities and NaN" above
        if by_rows:
            gW = _grad_w_by_rows(x, gy, kernel, pad)
        else:
            gW = _grad_w_by_windows(x, gy, kernel, stride, pad)
    return _rounded(_exact_grad_w(gW, x, gy, kernel, stride, pad), dtype)


def _slices(a, block):
    """Yield ``(start, stop, a[start:stop])`` for consecutive blocks of ``block`` items
    of the first axis of ``a``: the blocks of a kernel that needs no copy."""
    n = len(a)
    for start in range(0, n, block):
        stop = min(n, start + block)
        yield start, stop, a[start:stop]


# ---- windows ---------------------------------------------------------------------------
def _window_blocks(x, kernel, stride, pad, out, block):
    """Yield ``(start, stop, windows)`` for consecutive blocks of ``block`` images of
    the batch x: ``windows`` is the (B, C, KH, KW, OH, OW) window view (see
    :func:`window_view`) of images start to stop, zero-padded by ``pad``.  With
    padding, the images are copied into one buffer whose border stays zero and whose
    inside each block overwrites; the view of that buffer is made once."""
    xp = cuda.get_array_module(x)
    n, c, h, w = x.shape
    ph, pw = pad
    if not (ph or pw):
        yield from _slices(window_view(x, kernel, stride, out), block)
        return
    buffer = xp.zeros((min(block, n), c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    inside = buffer[:, :, ph : ph + h, pw : pw + w]
    windows = window_view(buffer, kernel, stride, out)
    for start in range(0, n, block):
        stop = min(n, start + block)
        inside[: stop - start] = x[start:stop]
        yield start, stop, windows[: stop - start]


def _conv2d_by_windows(x, W, b, stride, pad):
    """:func:`conv2d_array`, one product per image of its windows (and of a row of
    ones, for the bias: see :func:`_with_bias`)."""
    xp = cuda.get_array_module(x)
    oc, c, kh, kw = W.shape
    n = x.shape[0]
    out = _output_size(x.shape, W.shape, stride, pad)
    k, p = c * kh * kw, out[0] * out[1]
    block = _block_size(xp, n, k * p * x.itemsize)
    weights, folded = _with_bias(W.reshape(oc, k), b, slice(None), x.dtype)
    y = xp.empty((n, oc, p), dtype=np.result_type(x.dtype, W.dtype))
    cols = _matrices(xp, (block, k + folded, p), x.dtype)
    if folded:
        cols[:, k] = 1
    for start, stop, view in _window_blocks(x, (kh, kw), stride, pad, out, block):
        block_cols = cols[: stop - start]
        xp.copyto(block_cols[:, :k].reshape(view.shape), view)
        xp.matmul(weights, block_cols, out=y[start:stop])
    y = y.reshape(n, oc, out[0], out[1])
    return y if b is None or folded else _add_bias(y, b)


def _grad_w_by_windows(x, gy, kernel, stride, pad):
    """:func:`conv2d_grad_w_array` as one product per block of its windows, laid side
    by side, with the block's gy.  When an image has fewer window columns than gy has
    channels (the first layer of an image network), a block is one image, whose gy is
    already a matrix: the larger of the two copies is not made."""
    xp = cuda.get_array_module(x)
    n, c = x.shape[:2]
    oc, oh, ow = gy.shape[1:]
    kh, kw = kernel
    k, p = c * kh * kw, oh * ow
    block = _block_size(xp, n, k * p * x.itemsize)
    if k < oc and xp is np:
        block = 1
    dtype = np.result_type(x.dtype, gy.dtype)
    cols = _matrices(xp, (k, min(block, n) * p), x.dtype)
    gys = _matrices(xp, (oc, min(block, n) * p), gy.dtype) if block > 1 else None
    gw_t = xp.zeros((k, oc), dtype=dtype)
    part = xp.empty((k, oc), dtype=dtype)
    for start, stop, view in _window_blocks(x, kernel, stride, pad, (oh, ow), block):
        m = stop - start
        block_cols = cols[:, : m * p]
        xp.copyto(block_cols.reshape(c, kh, kw, m, oh, ow), view.transpose(1, 2, 3, 0, 4, 5))
        if m == 1:  # one image's gy is already an (OC, OH*OW) matrix
            block_gy = gy[start].reshape(oc, p)
        else:
            block_gy = gys[:, : m * p]
            xp.copyto(block_gy.reshape(oc, m, oh, ow), gy[start:stop].transpose(1, 0, 2, 3))
        product = block_cols, block_gy.T
        if start == 0:
            xp.matmul(*product, out=gw_t)
        else:
            xp.matmul(*product, out=part)
            gw_t += part
    return xp.ascontiguousarray(gw_t.T).reshape(oc, c, kh, kw)


# ---- kernel rows (stride 1) --------------------------------------------------------------
def stacks_kernel_rows(w_shape):
    """Whether a stride-1 convolution with filters of shape ``w_shape`` (OC, C, KH, KW)
    stacks its kernel rows (see the module's docstring) rather than taking every
    window as a column, for its output and for its filter gradient: unless the output
    has more than twice the input's channels, or the stacked product has fewer than 16
    rows (both measured: then the rows to add back, or a product too short for the
    library's kernels, cost more than the copies saved)."""
    oc, c, kh, kw = w_shape
    return oc <= 2 * c and kh * oc >= 16


#: How many times the largest of a convolution's windows' columns, input and output
#: (per image) the buffers of its kernel-rows layouts may hold (:func:`kernel_rows_fit`).
KERNEL_ROWS_ROOM = 16


def kernel_rows_fit(x_shape, w_shape, pad):
    """Whether the buffers of the kernel-rows layouts of the stride-1 convolution of
    an input of shape ``x_shape`` (N, C, H, W) with filters of shape ``w_shape`` (OC,
    C, KH, KW) and ``pad`` stay near the size of its operands: whether each image's
    buffers hold at most :data:`KERNEL_ROWS_ROOM` times the largest of its windows'
    columns (C*KH*KW*OH*OW numbers, what the windows and adding windows back take),
    its input and its output.

    The kernel rows of x (for the convolution and its filter gradient) are C*KW rows,
    and the stacked products or gy shifted by each kernel row KH*OC, of H*OW numbers:
    one per input row and output column.  Those of gy (for both gradients together,
    and a transposed convolution by gathering) are OC*KW and KH*C rows of OH*W.  (A
    row of stacked products is ph image rows longer when OH = H, see
    :class:`_StackedProducts`.)  With an output about as large as the input they are
    about KH or KW times x or y, 3 times for 3x3 kernels with pad 1; where a kernel
    about as tall (wide) as the image leaves OH << H (OW << W), they hold about KH*H
    (KW*W) numbers per output row (column), while the windows' columns hold KH*KW per
    output pixel.  Under this rule convolutions that keep the image's size, with
    kernels up to 11x11 on images at least as large, take the kernel rows whatever
    their channels, and so do 3x3 and 5x5 ones without padding on images at least
    twice the kernel's size."""
    oc, c, kh, kw = w_shape
    h, w = x_shape[2:]
    ph, pw = pad
    oh, ow = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
    gap = ph if oh == h else 0  # the rows between stacked products (_stacked_scratch)
    of_x = max(c * kw, kh * oc) * (h + gap) * ow
    of_gy = max(oc * kw, kh * c) * (oh + gap) * w
    return _in_room((of_x, of_gy), c, oc, (kh, kw), (h, w), (oh, ow))


def _in_room(buffers, c, oc, kernel, size, out):
    """Whether the ``buffers`` (numbers per image) each hold at most
    :data:`KERNEL_ROWS_ROOM` times the largest of the windows' columns, the input and
    the output of a convolution of C channels of ``size`` (H, W) into OC of ``out``
    (OH, OW) with a ``kernel`` (KH, KW) (see :func:`kernel_rows_fit`)."""
    (kh, kw), (h, w), (oh, ow) = kernel, size, out
    return max(buffers) <= KERNEL_ROWS_ROOM * max(c * kh * kw * oh * ow, c * h * w, oc * oh * ow)


def _by_rows(x_shape, w_shape, stride, pad):
    """Whether a convolution (or its filter gradient) of an input of shape ``x_shape``
    with filters of shape ``w_shape`` takes the kernel-rows layout: at stride 1, when
    :func:`stacks_kernel_rows` and :func:`kernel_rows_fit` hold."""
    return (
        tuple(stride) == (1, 1)
        and stacks_kernel_rows(w_shape)
        and kernel_rows_fit(x_shape, w_shape, pad)
    )


def _row_blocks(x, kw, pw, out_w, block, ones=False):
    """Yield ``(start, stop, rows)`` for consecutive blocks of ``block`` images of x
    (N, C, H, W): ``rows`` has shape (B, C*KW, H*OW) and holds the KW horizontal
    shifts of every image row, ``rows[b, c*KW + j, r*OW + q] = x[start + b, c, r,
    q + j - pw]`` (zero outside the image); with ``ones``, one more row of ones below
    them (for a bias: see :func:`_with_bias`).  They are copied into one buffer whose
    zero border (the same for every block) is written once; with KW = 1, no padding
    and no row of ones, the block of x is its own rows.

    When the rows are as long as the image's (OW = W), a shift is one flat copy per
    channel, whose first or last columns wrap round onto the neighbouring row and are
    zeroed after: much faster than a copy per image row, which for a 16x16 image
    moves 64 bytes at a time."""
    xp = cuda.get_array_module(x)
    n, c, h, w = x.shape
    if kw == 1 and pw == 0 and not ones:
        yield from _slices(x.reshape(n, c, h * w), block)
        return
    matrices = _matrices(xp, (min(block, n), c * kw + ones, h * out_w), x.dtype)
    matrices[...] = 0
    if ones:
        matrices[:, -1] = 1
    buffer = matrices[:, : c * kw].reshape(min(block, n), c, kw, h * out_w)
    images = buffer.reshape(buffer.shape[:3] + (h, out_w))
    flat = x.reshape(n, c, h * w)
    shifts = [(j,) + _inside(j - pw, 1, out_w, w) for j in range(kw)]
    for start in range(0, n, block):
        m = min(n, start + block) - start
        for j, q0, q1, first in shifts:
            if q0 >= q1:
                continue
            if out_w != w:
                images[:m, :, j, :, q0:q1] = x[start : start + m, :, :, first : first + q1 - q0]
                continue
            size = h * w - q0 - (w - q1)
            buffer[:m, :, j, q0 : q0 + size] = flat[start : start + m, :, first : first + size]
            if q0 > 0:
                images[:m, :, j, :, :q0] = 0
            if q1 < w:
                images[:m, :, j, :, q1:] = 0
        yield start, start + m, matrices[:m]


def _row_shift_blocks(a, offsets, out_rows, block):
    """Yield ``(start, stop, shifted)`` for consecutive blocks of ``block`` images of
    a (N, C, H, W): ``shifted`` has shape (B, len(offsets)*C, out_rows*W) and holds a
    shifted by whole rows, ``shifted[b, i*C + c, r*W + q] = a[start + b, c, r +
    offsets[i], q]`` (zero outside a).  A row is W contiguous numbers, so each shift is
    one slice; with no shift and as many rows, the block of a is its own shift."""
    xp = cuda.get_array_module(a)
    n, c, h, w = a.shape
    flat = a.reshape(n, c, h * w)
    if list(offsets) == [0] and out_rows == h:
        yield from _slices(flat, block)
        return
    buffer = _matrices(xp, (min(block, n), len(offsets), c, out_rows * w), a.dtype)
    buffer[...] = 0
    spans = [(i,) + _inside(d, 1, out_rows, h) for i, d in enumerate(offsets)]
    for start in range(0, n, block):
        stop = min(n, start + block)
        for i, r0, r1, first in spans:
            if r0 < r1:
                rows = (first * w, (first + r1 - r0) * w)
                buffer[: stop - start, i, :, r0 * w : r1 * w] = flat[
                    start:stop, :, rows[0] : rows[1]
                ]
        m = stop - start
        yield start, stop, buffer[:m].reshape(m, len(offsets) * c, out_rows * w)


class _StackedProducts:
    """Scratch for the stacked products of a block of images in the kernel-rows
    layout: per image KH*OC rows (kernel row i, channel o) of H*OW numbers, each
    followed by ``gap`` image rows of zeros, with as many zeros before the first.
    The products never write the gaps, so they stay zero: a row read up to ``gap``
    image rows before its start or past its end reads zeros, not its neighbour.  (The
    sum of the kernel rows writes into the centre kernel row's gaps, which no such
    read reaches.)  The gaps also keep the rows from starting a multiple of 4 KiB
    apart (see the module's docstring).  Without gaps every number read is written
    by the products first, so the buffer is not zeroed."""

    def __init__(self, xp, block, kh, oc, h, ow, gap, dtype):
        self.kh, self.oc, self.h, self.ow, self.gap = kh, oc, h, ow, gap
        self.length = (h + gap) * ow  # from the start of one row to the next
        self.lead = gap * ow
        # with gaps, one image more than the block: room for the last one's shifted rows
        size = self.lead + (block + bool(gap)) * kh * oc * self.length
        self.flat = (xp.zeros if gap else xp.empty)(size, dtype=dtype)

    def _images(self, m, offset):
        """Each of m images' stretch of the buffer (its KH*OC rows and their gaps),
        starting ``offset`` numbers after its own: shape (m, KH*OC*L), L the distance
        from one row to the next."""
        start = self.lead + offset
        return self.flat[start : start + m * self.kh * self.oc * self.length].reshape(m, -1)

    def _rows(self, m, offset, count):
        """The first ``count`` rows of each of m images, every one starting
        ``offset`` numbers after its own: shape (m, count, H*OW)."""
        rows = self._images(m, offset).reshape(m, self.kh * self.oc, self.length)
        return rows[:, :count, : self.h * self.ow]

    def products(self, m):
        """Where the products of m images go: shape (m, KH*OC, H*OW)."""
        return self._rows(m, 0, self.kh * self.oc)

    def kernel_row(self, m, i, shift):
        """Kernel row i's contributions (m, OC, H*OW), read ``shift`` image rows on:
        ``[b, o, r*OW + q]`` holds the product at row (i, o), input row r + shift."""
        return self._rows(m, i * self.oc * self.length + shift * self.ow, self.oc)

    def flat_kernel_row(self, m, i, shift):
        """:meth:`kernel_row` with each image's OC rows and the gaps after them as one
        flat row: shape (m, OC*L)."""
        run = self.oc * self.length  # one kernel row's rows and gaps, in each image
        return self._images(m, i * run + shift * self.ow)[:, :run]


def _add_kernel_rows(z, y, ph):
    """Add up the kernel rows' contributions into y (B, OC, OH, OW): ``y[b, o, r] =
    sum over i of z[b, i, o, r + i - ph]``, for z the stacked products over the H
    input rows (a :class:`_StackedProducts`; rows outside them count as zero).

    When the output has as many rows as the input (pad (KH-1)/2), kernel row i's
    contribution is its products shifted by d = i - ph image rows.  With zero rows
    between the channels' rows, each image's rows of a kernel row, gaps and all, are
    one flat row: the shifted rows are added into the centre kernel row's in place,
    a long contiguous pass each, and its rows copied out into y.  Without, each image
    is one flat slice (:func:`_add_flat_slices`)."""
    m, oc, oh, ow = y.shape
    kh, h = z.kh, z.h
    if oh != h:  # the general case: row ranges
        products = z.products(m).reshape(m, kh, oc, h, ow)
        y[...] = 0
        for i in range(kh):
            r0, r1, first = _inside(i - ph, 1, oh, h)
            if r0 < r1:
                y[:, :, r0:r1] += products[:, i, :, first : first + r1 - r0]
        return
    shifts = [i - ph for i in range(kh) if 0 < abs(i - ph) < h]
    if not z.gap:
        _add_flat_slices(z.products(m).reshape(m, kh, oc, h, ow), y, ph, shifts)
        return
    centre = z.flat_kernel_row(m, ph, 0)
    for d in shifts:  # in place, gaps and all: the centre row's gaps are never read
        centre += z.flat_kernel_row(m, ph + d, d)
    y.reshape(m, oc, h * ow)[...] = z.kernel_row(m, ph, 0)


def _add_flat_slices(products, y, ph, shifts):
    """:func:`_add_kernel_rows` for products (B, KH, OC, H, OW) without rows between
    channels, one flat slice per image and kernel row: the rows a shift would carry
    into the neighbouring channel are the ones that land outside the output, so
    they are zeroed first (``products`` is scratch).  The centre row and the first
    shifted one are added in one pass that writes y."""
    m, oc, h, ow = y.shape
    size = oc * h * ow
    flat_y = y.reshape(m, size)
    centre = products[:, ph].reshape(m, size)
    if not shifts:
        flat_y[...] = centre
        return
    shifted = []  # (target, source) slices of a kernel row shifted by d rows
    for d in shifts:
        row = products[:, ph + d]
        if d < 0:
            row[:, :, h + d :] = 0  # would land below the last output row
        else:
            row[:, :, :d] = 0  # would land above the first output row
        target, source = _shifted_slices(size, d * ow)
        shifted.append((target, row.reshape(m, size)[:, source]))
    target, first = shifted[0]
    rest = slice(target.stop, size) if target.start == 0 else slice(0, target.start)
    cuda.get_array_module(y).add(centre[:, target], first, out=flat_y[:, target])
    flat_y[:, rest] = centre[:, rest]
    for target, source in shifted[1:]:
        flat_y[:, target] += source


def _shifted_slices(size, shift):
    """The slices ``(target, source)`` of an axis of length ``size`` for ``y[p] +=
    z[p + shift]`` over every p where both lie inside (see :func:`_inside`)."""
    p0, p1, first = _inside(shift, 1, size, size)
    return slice(p0, p1), slice(first, first + p1 - p0)


def _stacked_product(weights, rows, y, ph, scratch):
    """Write into y (B, OC, OH, OW) the convolution whose stacked filters ``weights``
    (KH*OC, C*KW) multiply the block's ``rows`` (B, C*KW, H*OW): one product into
    ``scratch`` (a :class:`_StackedProducts`), then the kernel rows added up; with
    one kernel row and no padding the product is y."""
    xp = cuda.get_array_module(y)
    m, oc, oh, ow = y.shape
    if scratch is None:  # one kernel row and no padding (see _stacked_scratch)
        xp.matmul(weights, rows, out=y.reshape(m, oc, oh * ow))
        return
    xp.matmul(weights, rows, out=scratch.products(m))
    _add_kernel_rows(scratch, y, ph)


def _stacked_scratch(xp, block, kh, oc, h, out_shape, ph, dtype):
    """The :class:`_StackedProducts` for :func:`_stacked_product` of blocks of
    ``block`` images over H input rows into outputs of shape (OH, OW): with ph zero
    rows between the channels' rows when OH = H and the rows (H*OW numbers) are a
    multiple of :data:`ALIASED_ROW_BYTES` long (see :func:`_add_kernel_rows`).  None
    with one kernel row and no padding, when the products are written straight into
    the output."""
    if kh == 1 and ph == 0:
        return None
    oh, ow = out_shape
    aliased = xp is np and (h * ow * np.dtype(dtype).itemsize) % ALIASED_ROW_BYTES == 0
    return _StackedProducts(xp, block, kh, oc, h, ow, ph if oh == h and aliased else 0, dtype)


def _stacked_filters(W):
    """W (OC, C, KH, KW) as the (KH*OC, C*KW) matrix of the kernel-rows layout: row
    i*OC + o, column c*KW + j holds W[o, c, i, j]."""
    oc, c, kh, kw = W.shape
    return W.transpose(2, 0, 1, 3).reshape(kh * oc, c * kw)


def _conv2d_by_rows(x, W, b, pad):
    """:func:`conv2d_array` at stride 1, in the kernel-rows layout.  The bias rides in
    the product (:func:`_with_bias`) with a kernel row that reaches every output row,
    once each, unless there is none or x is its own rows."""
    xp = cuda.get_array_module(x)
    oc, c, kh, kw = W.shape
    n, _, h, w = x.shape
    oh, ow = _output_size(x.shape, W.shape, (1, 1), pad)
    dtype = np.result_type(x.dtype, W.dtype)
    block = _block_size(xp, n, c * kw * h * ow * x.itemsize)
    whole = [i for i in range(kh) if _inside(i - pad[0], 1, oh, h)[:2] == (0, oh)]
    bias_rows = None  # x as its own rows (KW = 1, no padding) has no row of ones
    if whole and not (kw == 1 and pad[1] == 0):
        bias_rows = slice(whole[0] * oc, (whole[0] + 1) * oc)
    weights, folded = _with_bias(_stacked_filters(W), b, bias_rows, x.dtype)
    y = xp.empty((n, oc, oh, ow), dtype=dtype)
    scratch = _stacked_scratch(xp, min(block, n), kh, oc, h, (oh, ow), pad[0], dtype)
    for start, stop, rows in _row_blocks(x, kw, pad[1], ow, block, ones=folded):
        _stacked_product(weights, rows, y[start:stop], pad[0], scratch)
    return y if b is None or folded else _add_bias(y, b)


def _grad_w_by_rows(x, gy, kernel, pad):
    """:func:`conv2d_grad_w_array` at stride 1: ``gW[o, c, i, j]`` sums gy at output row
    r - i + ph times the rows of x at input row r, so it is gy shifted by each kernel
    row, stacked, times the kernel rows of x: one (KH*OC, C*KW) product per image."""
    xp = cuda.get_array_module(x)
    kh, kw = kernel
    n, c, h, w = x.shape
    oc, oh, ow = gy.shape[1:]
    block = _block_size(xp, n, (c * kw + kh * oc) * h * ow * x.itemsize)
    total = xp.zeros((kh * oc, c * kw), dtype=np.result_type(x.dtype, gy.dtype))
    shifts = [pad[0] - i for i in range(kh)]
    for (start, stop, rows), (_, _, shifted) in zip(
        _row_blocks(x, kw, pad[1], ow, block), _row_shift_blocks(gy, shifts, h, block)
    ):
        total += xp.matmul(shifted, rows.transpose(0, 2, 1)).sum(axis=0)
    return xp.ascontiguousarray(total.reshape(kh, oc, c, kw).transpose(1, 2, 0, 3))


def gradients_together(w_shape, stride, pad):
    """Whether :func:`conv2d_grads_array` takes both gradients of a convolution with
    filters of shape ``w_shape`` (OC, C, KH, KW): at stride 1 with a pad below the
    kernel.  (It takes them from one set of kernel rows of gy where those fit, see
    :func:`kernel_rows_fit`, and one after the other otherwise.)"""
    kh, kw = w_shape[2:]
    return tuple(stride) == (1, 1) and pad[0] < kh and pad[1] < kw


def conv2d_grads_array(x, W, gy, pad, bias=False):
    """Both gradients of the stride-1 convolution of x (N, C, H, W) with W (OC, C,
    KH, KW) for the output gradient gy (N, OC, OH, OW): ``(gx, gW)``, equal to
    ``deconv2d_array(gy, W, ...)`` and ``conv2d_grad_w_array(x, gy, ...)``; with
    ``bias``, ``(gx, gW, gb)``, gb the gradient of a bias, gy summed over N, OH and
    OW.  pad must be below the kernel (see :func:`gradients_together`).

    One set of kernel rows of gy serves both.  gx is the convolution of gy, padded by
    (KH-1-ph, KW-1-pw), with the flipped filters.  Row (o, j) of gy's rows at output
    row r holds gy[o, r, q + j - (KW-1-pw)], so ``gW[o, c, i, KW-1-j]`` is that row
    times x at input row ``r + i - ph``: the rows times x shifted by each kernel row,
    flipped back.  The kernel rows of x are never made.  gb is summed block by block
    from gy's rows while they are in the cache: row (o, KW-1-pw) is gy unshifted, and
    holds all of it when OW <= W (2*pw < KW); otherwise gb is summed from gy.  An
    integer gy is taken as float64 (it multiplies both x and W).

    Where the filters are not all finite or the kernel rows do not fit
    (:func:`kernel_rows_fit`), the two gradients are taken one after the other, as
    :func:`deconv2d_array` and :func:`conv2d_grad_w_array` take them."""
    gy = float_data(gy)
    dtypes = None  # of gx, gW and gb, to round them to (see _operands)
    if _any_float16(x, W, gy):
        dtypes = np.result_type(gy, W), np.result_type(x, gy), np.result_type(gy)
        x, W, gy = _widened(x, W, gy)
    if _all_finite(W) and kernel_rows_fit(x.shape, W.shape, pad):
        grads = _grads_by_rows(x, W, gy, pad, bias)
    else:  # see "Infinities and NaN" in the module's docstring, and kernel_rows_fit
        # (deconv2d_array would take the same path: its gathering needs both checks)
        gx = _deconv2d_by_adding(gy, W, None, (1, 1), pad, x.shape[2:])
        gW = conv2d_grad_w_array(x, gy, W.shape[2:], (1, 1), pad)
        grads = (gx, gW, channel_sums(gy)) if bias else (gx, gW)
    if dtypes is None:
        return grads
    return tuple(_rounded(g, dtype) for g, dtype in zip(grads, dtypes))


def _grads_by_rows(x, W, gy, pad, bias):
    """:func:`conv2d_grads_array` for finite filters W, from the kernel rows of gy.  A
    float16 gy (only on a GPU: see the module's docstring) is summed into gW and gb
    in float32, which the caller rounds."""
    xp = cuda.get_array_module(x)
    oc, c, kh, kw = W.shape
    n, _, h, w = x.shape
    oh = gy.shape[2]
    flip_pad = (kh - 1 - pad[0], kw - 1 - pad[1])
    dtype = np.result_type(gy.dtype, W.dtype)
    block = _block_size(xp, n, oc * kw * oh * w * gy.itemsize)
    weights = _stacked_filters(_flipped_filters(W))
    gx = xp.empty((n, c, h, w), dtype=dtype)
    scratch = _stacked_scratch(xp, min(block, n), kh, c, oh, (h, w), flip_pad[0], dtype)
    wide = is_float16(gy.dtype)
    sums = np.float32 if wide else gy.dtype  # the dtype gy's rows are summed in
    total = xp.zeros((oc * kw, kh * c), dtype=np.result_type(x.dtype, sums))
    from_rows = bias and 2 * pad[1] < kw
    gb = xp.zeros(oc, dtype=sums) if from_rows else None
    ones = xp.ones(oh * w, dtype=sums) if from_rows else None
    shifts = [i - pad[0] for i in range(kh)]
    for (start, stop, rows), (_, _, shifted) in zip(
        _row_blocks(gy, kw, flip_pad[1], w, block), _row_shift_blocks(x, shifts, oh, block)
    ):
        _stacked_product(weights, rows, gx[start:stop], flip_pad[0], scratch)
        if wide:
            rows = rows.astype(np.float32)
        with np.errstate(invalid='ignore', over='ignore'):  # see "Infinities and NaN" above
            total += xp.matmul(rows, shifted.transpose(0, 2, 1)).sum(axis=0)
        if from_rows:  # each image's unshifted rows of gy, summed by a product with ones
            gb += (rows[:, flip_pad[1] :: kw] @ ones).sum(axis=0)
    gW = xp.ascontiguousarray(total.reshape(oc, kw, kh, c)[:, ::-1].transpose(0, 3, 2, 1))
    gW = _exact_grad_w(gW, x, gy, (kh, kw), (1, 1), pad)
    if not bias:
        return gx, gW
    return gx, gW, gb if from_rows else channel_sums(gy)


# ---- kernel taps (for infinities and NaN) -----------------------------------------------
def _all_finite(a):
    """Whether every number of the array ``a`` is finite."""
    return bool(cuda.get_array_module(a).isfinite(a).all())


def _taps(x_shape, kernel, stride, pad, out):
    """Yield ``(i, j, at_out, at_x)`` for every kernel tap (i, j) of a convolution of
    an input of shape ``x_shape`` (N, C, H, W) into outputs (OH, OW) = ``out`` that
    reads inside the image somewhere: ``at_out`` indexes the outputs whose tap reads
    inside the image, ``at_x`` the pixels they read (strided slices of the last two
    axes)."""
    axes = []
    for k, s, p, o, size in zip(kernel, stride, pad, out, x_shape[2:]):
        spans = []
        for i in range(k):
            q0, q1, first = _inside(i - p, s, o, size)
            if q0 < q1:
                spans.append((i, slice(q0, q1), slice(first, first + s * (q1 - q0 - 1) + 1, s)))
        axes.append(spans)
    every = slice(None)
    for i, rows_out, rows_x in axes[0]:
        for j, cols_out, cols_x in axes[1]:
            yield i, j, (every, every, rows_out, cols_out), (every, every, rows_x, cols_x)


def _conv2d_by_taps(x, W, stride, pad):
    """:func:`conv2d_array` without its bias, one kernel tap at a time: tap (i, j)
    adds ``W[:, :, i, j]`` times the pixels it reads inside the image to the outputs
    that read them, and nothing is multiplied by padding."""
    xp = cuda.get_array_module(x)
    out = _output_size(x.shape, W.shape, stride, pad)
    n, oc = x.shape[0], W.shape[0]
    y = xp.zeros((n, oc) + out, dtype=np.result_type(x.dtype, W.dtype))
    for i, j, at_out, at_x in _taps(x.shape, W.shape[2:], stride, pad, out):
        part = y[at_out]  # (N, OC, P, Q): (OC, C) times (C, N*P*Q)
        product = xp.matmul(W[:, :, i, j], _channels_first(x[at_x]))
        part += product.reshape((oc, n) + part.shape[2:]).transpose(1, 0, 2, 3)
    return y


def _channels_first(a):
    """a (N, C, P, Q) as the (C, N*P*Q) matrix whose row c holds channel c of every
    image: for a product over the batch and the pixels."""
    n, c, p, q = a.shape
    return a.transpose(1, 0, 2, 3).reshape(c, n * p * q)


def _exact_grad_w(gW, x, gy, kernel, stride, pad):
    """The filter gradient gW of x and gy from the fast layouts when it is finite
    (then it was exact), else taken again tap by tap (:func:`_grad_w_by_taps`), without
    NumPy's floating-point warnings (see "Infinities and NaN" in the module's
    docstring)."""
    if _all_finite(gW):
        return gW
    with np.errstate(invalid='ignore', over='ignore'):
        return _grad_w_by_taps(x, gy, kernel, stride, pad)


def _grad_w_by_taps(x, gy, kernel, stride, pad):
    """:func:`conv2d_grad_w_array` one kernel tap at a time: ``gW[:, :, i, j]`` sums
    gy at the outputs whose tap (i, j) reads inside the image times the pixels read,
    over the batch and those outputs; nothing is multiplied by padding."""
    xp = cuda.get_array_module(x)
    dtype = np.result_type(x.dtype, gy.dtype)
    gW = xp.zeros((gy.shape[1], x.shape[1]) + tuple(kernel), dtype=dtype)
    for i, j, at_out, at_x in _taps(x.shape, kernel, stride, pad, gy.shape[2:]):
        gW[:, :, i, j] = xp.matmul(_channels_first(gy[at_out]), _channels_first(x[at_x]).T)
    return gW


# ---- transposed convolution ---------------------------------------------------------------
def _flipped_filters(W):
    """The filters of a stride-1 transposed convolution taken as a convolution: W (A,
    B, KH, KW) reversed in both spatial axes, its channel axes swapped: (B, A, KH, KW)."""
    return W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)


def transposed_by_gathering(x_shape, w_shape, stride, pad, outsize):
    """Whether :func:`deconv2d_array` of an input of shape ``x_shape`` (N, C, H, W)
    with filters of shape ``w_shape`` (C, OC, KH, KW) into outputs of size
    ``outsize`` (OH, OW) takes its output as a convolution (gathering windows) rather
    than by adding windows back: at stride 1, with a pad below the kernel and the
    smallest outsize, when the convolution's columns are no larger per pixel (C*KH*KW
    per output pixel against OC*KH*KW per input pixel), and when its buffers fit the
    room of the convolution it is the transpose of (of the output by W into the
    input, see :func:`kernel_rows_fit`): its kernel rows, and its windows, C*KH*KW
    numbers for each of the OH*OW output pixels, which a kernel about as large as
    the image makes many more than the input's."""
    c, oc, kh, kw = w_shape
    h, w = x_shape[2:]
    oh, ow = outsize
    if not (tuple(stride) == (1, 1) and c <= oc and pad[0] < kh and pad[1] < kw):
        return False
    if (oh, ow) != (h + kh - 1 - 2 * pad[0], w + kw - 1 - 2 * pad[1]):
        return False
    windows = c * kh * kw * oh * ow
    return _in_room((windows,), oc, c, (kh, kw), (oh, ow), (h, w)) and kernel_rows_fit(
        (x_shape[0], oc, oh, ow), w_shape, pad
    )


def deconv2d_array(x, W, b, stride, pad, outsize):
    """The transposed convolution of x (N, C, H, W) with W (C, OC, KH, KW) plus b
    (OC,) or None, of output size ``outsize`` (OH, OW), for pairs already checked: each
    input pixel adds ``x[n, c, p, q] * W[c]`` onto the output window at
    (p*sh - ph, q*sw - pw); overlapping windows add up.  Shape (N, OC, OH, OW); float64
    when x and W both hold integers."""
    (x, W, b), dtype = _operands(x, W, b)
    kh, kw = W.shape[2:]
    # the gathering multiplies the filters by padding (see "Infinities and NaN" in the
    # module's docstring); adding windows back multiplies none
    if transposed_by_gathering(x.shape, W.shape, stride, pad, outsize) and _all_finite(W):
        flip_pad = (kh - 1 - pad[0], kw - 1 - pad[1])
        y = conv2d_array(x, _flipped_filters(W), b, (1, 1), flip_pad)
    else:
        y = _deconv2d_by_adding(x, W, b, stride, pad, outsize)
    return _rounded(y, dtype)


def _deconv2d_by_adding(x, W, b, stride, pad, outsize):
    """:func:`deconv2d_array` by adding windows back: per block of images, the
    product ``W.T @ x[n]`` gives every input pixel's window of the output, and
    :func:`add_windows` adds the parts that land inside the output onto it."""
    xp = cuda.get_array_module(x)
    c, oc, kh, kw = W.shape
    n, _, h, w = x.shape
    k = oc * kh * kw
    dtype = np.result_type(x.dtype, W.dtype)
    block = _block_size(xp, n, k * h * w * dtype.itemsize)
    weights_t = W.reshape(c, k).T
    y = xp.empty((n, oc) + tuple(outsize), dtype=dtype)
    cols = xp.empty((min(block, n), k, h * w), dtype=dtype)
    for start in range(0, n, block):
        stop = min(n, start + block)
        block_cols = cols[: stop - start]
        xp.matmul(weights_t, x[start:stop].reshape(stop - start, c, h * w), out=block_cols)
        add_windows(
            block_cols.reshape(stop - start, oc, kh, kw, h, w),
            (stop - start, oc) + tuple(outsize),
            stride,
            pad,
            out=y[start:stop],
        )
    return y if b is None else _add_bias(y, b)

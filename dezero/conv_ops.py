"""Array helpers for convolution and pooling (NCHW layout): sizes, im2col and col2im.

``im2col`` lays every kernel-sized window of an image batch out as a column, so that
a convolution becomes one matrix product; ``col2im`` is its adjoint: it adds every
window's values back onto the positions of the image they came from (overlapping
windows add up).  Both work on plain arrays; the differentiable versions live in
:mod:`dezero.functions.conv`.
"""

import numbers

import numpy as np

from dezero import cuda


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
    ``(input_size + 2*pad - kernel_size) // stride + 1``."""
    return (input_size + 2 * pad - kernel_size) // stride + 1


def get_deconv_outsize(size, k, s, p):
    """The output length of a transposed convolution along one axis (the smallest input
    length whose convolution has length ``size``): ``s*(size - 1) + k - 2*p``."""
    return s * (size - 1) + k - 2 * p


def conv_geometry(name, img_shape, kernel_size, stride, pad):
    """Check the arguments of a windowed operation on an NCHW batch of shape
    ``img_shape``; return ``(kh, kw), (sh, sw), (ph, pw), (oh, ow)`` as pairs of ints.

    Raises ValueError, naming ``name``, for a shape that is not 4-D, a kernel or stride
    under 1, a negative pad, or a kernel larger than the padded image."""
    if len(img_shape) != 4:
        raise ValueError(f'{name}: expected a 4-D (N, C, H, W) input, got shape {tuple(img_shape)}')
    kh, kw = check_pair(name, 'kernel_size', kernel_size)
    sh, sw = check_pair(name, 'stride', stride)
    ph, pw = check_pair(name, 'pad', pad)
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
    from a strided view in one copy, without a loop over pixels."""
    kernel, stride, pad, out = conv_geometry('im2col', img.shape, kernel_size, stride, pad)
    view = window_view(pad_image(img, pad), kernel, stride, out)
    if to_matrix:
        n, c, kh, kw, oh, ow = view.shape
        return view.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)
    return view.copy()


def col2im_array(col, img_shape, kernel_size, stride, pad, to_matrix=True):
    """The adjoint of :func:`im2col_array`: add every window of ``col`` back onto the
    image positions it was taken from (overlaps add up) and return an image of shape
    ``img_shape`` (N, C, H, W); the padding is cut off.

    ``col`` has shape (N, C, KH, KW, OH, OW), or (N*OH*OW, C*KH*KW) with ``to_matrix``.
    The scatter-add loops over the KH*KW kernel offsets (each step adds a whole strided
    slice), never over pixels."""
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
    return add_windows(col, img_shape, stride, pad)


def add_windows(col, img_shape, stride, pad):
    """col2im on a (N, C, KH, KW, OH, OW) array ``col`` (any strides, broadcast views
    included) for an image of shape ``img_shape`` and ``stride``, ``pad`` pairs whose
    geometry has already been checked; returns a new C-contiguous image.

    Adds straight into the unpadded image: for each kernel offset only the window
    positions that land inside the image are added, so no padded buffer is cut down."""
    xp = cuda.get_array_module(col)
    n, c, h, w = img_shape
    _, _, kh, kw, oh, ow = col.shape
    sh, sw = stride
    ph, pw = pad
    img = xp.zeros((n, c, h, w), dtype=col.dtype)
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
    return img


def _inside(offset, stride, out, size):
    """For window positions ``y`` in [0, out) reading row ``y*stride + offset``, the
    range [y0, y1) of those that fall inside [0, size), and the first row read."""
    y0 = max(0, (stride - 1 - offset) // stride)  # ceil(-offset / stride)
    y1 = min(out, (size - 1 - offset) // stride + 1)
    return y0, y1, y0 * stride + offset

"""Convolution: im2col and col2im, conv2d and deconv2d (transposed convolution).

All in NCHW layout.  ``conv2d`` multiplies the windows of its input by the filters;
``deconv2d`` is its transpose.  The two are each other's gradient with respect to the
input, and both get the filter gradient from :class:`Conv2DGradW`, whose own gradient
is again a conv2d and a deconv2d, so every function here is differentiable to any
order.  When a stride-1 conv2d needs both gradients, :class:`Conv2DGrads` usually
computes the two together, from one set of kernel rows of gy.  The array
kernels, and how they lay the work out as matrix products, are in
:mod:`dezero.conv_ops`.

Each backward calls the Function classes of this module, so a first-order pass (on
arrays) goes straight to the array kernels, and a recorded one (``create_graph``)
builds a graph of the same functions.  A backward computes only the gradients the pass
asks for: none for an input given as a plain array, and no filter gradient when only
the input's gradient is wanted.
"""

import numpy as np

from dezero.array_ops import channel_sums
from dezero.checks import check_flag, given_once
from dezero.conv_ops import (
    check_image_size,
    check_pair,
    col2im_array,
    conv2d_array,
    conv2d_grad_w_array,
    conv2d_grads_array,
    conv_geometry,
    deconv2d_array,
    get_conv_outsize,
    get_deconv_outsize,
    im2col_array,
    pair,
    gradients_together,
)
from dezero.core import Function
from dezero.functions.array import as_input, broadcast_to, reshape
from dezero.functions.reduction import Sum

__all__ = [
    'im2col',
    'col2im',
    'conv2d',
    'deconv2d',
    'Im2col',
    'Col2im',
    'Conv2d',
    'Deconv2d',
    'Conv2DGradW',
]


# --------------------------------------------------------------------------------------
# im2col / col2im
# --------------------------------------------------------------------------------------
class Im2col(Function):
    """y = the windows of x as columns (see :func:`dezero.conv_ops.im2col_array`).
    Derivative: Col2im of gy (the adjoint scatter-add)."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, kernel_size, stride, pad, to_matrix):
        self.kernel_size = kernel_size
        self.stride = stride
        self.pad = pad
        self.to_matrix = check_flag('Im2col', 'to_matrix', to_matrix)

    def forward(self, x):
        self.input_shape = x.shape
        return im2col_array(x, self.kernel_size, self.stride, self.pad, self.to_matrix)

    def backward(self, gy):
        return Col2im(self.input_shape, self.kernel_size, self.stride, self.pad, self.to_matrix)(gy)


class Col2im(Function):
    """y = the columns of x added back onto an image of shape ``input_shape`` (see
    :func:`dezero.conv_ops.col2im_array`).  Derivative: Im2col of gy."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, input_shape, kernel_size, stride, pad, to_matrix):
        self.input_shape = tuple(input_shape)
        self.kernel_size = kernel_size
        self.stride = stride
        self.pad = pad
        self.to_matrix = check_flag('Col2im', 'to_matrix', to_matrix)

    def forward(self, x):
        return col2im_array(
            x, self.input_shape, self.kernel_size, self.stride, self.pad, self.to_matrix
        )

    def backward(self, gy):
        return Im2col(self.kernel_size, self.stride, self.pad, self.to_matrix)(gy)


def im2col(x, kernel_size, stride=1, pad=0, to_matrix=True):
    """The kernel-sized windows of the image batch ``x`` (N, C, H, W), zero-padded by
    ``pad``, as columns: shape (N, C, KH, KW, OH, OW), or (N*OH*OW, C*KH*KW) with
    ``to_matrix`` (True or False).  Derivative: :func:`col2im` of gy (overlapping
    windows add up)."""
    to_matrix = check_flag('im2col', 'to_matrix', to_matrix)
    x = as_input(x, 'im2col')
    kernel, stride, pad, _ = conv_geometry('im2col', x.shape, kernel_size, stride, pad)
    return Im2col(kernel, stride, pad, to_matrix)(x)


def col2im(x, input_shape, kernel_size, stride=1, pad=0, to_matrix=True):
    """The adjoint of :func:`im2col`: add the columns ``x`` back onto an image of shape
    ``input_shape`` (N, C, H, W); integers are added up in float64, where they do not
    wrap round.  ``to_matrix`` (True or False) says which of im2col's two shapes ``x``
    has.  Derivative: :func:`im2col` of gy."""
    to_matrix = check_flag('col2im', 'to_matrix', to_matrix)
    x = as_input(x, 'col2im')
    input_shape = tuple(input_shape)
    kernel, stride, pad, (oh, ow) = conv_geometry('col2im', input_shape, kernel_size, stride, pad)
    n, c = input_shape[:2]
    kh, kw = kernel
    expected = (n * oh * ow, c * kh * kw) if to_matrix else (n, c, kh, kw, oh, ow)
    if x.shape != expected:
        raise ValueError(
            f'col2im: x of shape {x.shape} does not fit input_shape '
            f'{input_shape} with kernel {kernel}, stride {stride}, pad '
            f'{pad}; expected shape {expected}'
        )
    return Col2im(input_shape, kernel, stride, pad, to_matrix)(x)


# --------------------------------------------------------------------------------------
# conv2d / deconv2d and the filter gradient
# --------------------------------------------------------------------------------------
class ChannelSums(Sum):
    """y = x (N, C, H, W) summed over N, H and W, a convolution's bias gradient (a
    :class:`~dezero.functions.reduction.Sum`, quicker on NumPy arrays: see
    :func:`~dezero.array_ops.channel_sums`).  Derivative: gy broadcast back to
    x's shape."""

    def __init__(self):
        super().__init__((0, 2, 3), False)

    def forward(self, x):
        self.x_shape = x.shape
        return channel_sums(x)


def _wants_bias_gradient(needs_input_grad):
    """Whether a convolution has a bias (a third input) whose gradient is wanted."""
    return len(needs_input_grad) == 3 and needs_input_grad[2]


def _bias_gradient(gy, needs_input_grad):
    """The gradient of the bias b (OC,) of a convolution, gy summed over N, H and W;
    None when the function has no bias or its gradient is not wanted."""
    if not _wants_bias_gradient(needs_input_grad):
        return None
    return ChannelSums()(gy)


class Conv2d(Function):
    """y = conv2d(x, W) (+ b) for x (N, C, H, W), W (OC, C, KH, KW), b (OC,) or None;
    ``stride`` and ``pad`` are ints or (height, width) pairs.
    Derivative: Deconv2d(gy, W) to x, Conv2DGradW(x, gy) to W, gy summed over N, H, W
    to b."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, stride=1, pad=0):
        self.stride = check_pair('Conv2d', 'stride', stride)
        self.pad = check_pair('Conv2d', 'pad', pad)

    def __call__(self, x, W, b=None):
        # ``Conv2d(stride, pad)(x, W, None)`` as the book writes it: no bias, two inputs
        if b is None:
            return super().__call__(x, W)
        return super().__call__(x, W, b)

    def forward(self, x, W, b=None):
        _check_conv('Conv2d', x.shape, W.shape, _shape(b), self.stride, self.pad)
        return conv2d_array(x, W, b, self.stride, self.pad)

    def backward(self, gy, *, needs_input_grad):
        x, W = self.retained_inputs()[:2]
        if needs_input_grad[0] and needs_input_grad[1] and self._together(W.shape):
            bias = _wants_bias_gradient(needs_input_grad)
            gx, gW, *gb = Conv2DGrads(self, bias)(x, W, gy)  # gb too, when wanted
            return (gx, gW, gb[0] if gb else None)[: len(needs_input_grad)]
        gx = Deconv2d(self.stride, self.pad, x.shape[2:])(gy, W) if needs_input_grad[0] else None
        gW = Conv2DGradW(self)(x, gy) if needs_input_grad[1] else None
        return (gx, gW, _bias_gradient(gy, needs_input_grad))[: len(needs_input_grad)]

    def _together(self, w_shape):
        """Whether both gradients are taken at once, by :class:`Conv2DGrads` (see
        :func:`dezero.conv_ops.gradients_together`)."""
        return gradients_together(w_shape, self.stride, self.pad)


class Conv2DGrads(Function):
    """(gx, gW) = both gradients of the stride-1 ``conv`` (a Conv2d call) of x and W
    for the output gradient gy: Deconv2d(gy, W) and Conv2DGradW(x, gy), from one set
    of kernel rows of gy (see :func:`dezero.conv_ops.conv2d_grads_array`); with
    ``bias``, (gx, gW, gb), gb the bias's gradient, gy summed over N, H and W, taken
    from the same rows.  Conv2d's backward takes it when gx and gW are both wanted and
    :func:`~dezero.conv_ops.gradients_together` holds.
    Derivative, for ggx, ggW (and ggb): Deconv2d(gy, ggW) to x, Conv2DGradW(ggx, gy)
    to W, Conv2d(ggx, W) + Conv2d(x, ggW) (+ ggb broadcast) to gy (those of its
    parts)."""

    retain_inputs = (0, 1, 2)
    retain_outputs = ()

    def __init__(self, conv, bias=False):
        self.conv = conv
        self.bias = bias

    def forward(self, x, W, gy):
        return conv2d_grads_array(x, W, gy, self.conv.pad, self.bias)

    def backward(self, ggx, ggW, ggb=None, *, needs_input_grad):
        x, W, gy = self.retained_inputs()
        stride, pad = self.conv.stride, self.conv.pad
        gx = gW = ggy = None
        if ggW is not None:
            gx = Deconv2d(stride, pad, x.shape[2:])(gy, ggW) if needs_input_grad[0] else None
            ggy = Conv2d(stride, pad)(x, ggW) if needs_input_grad[2] else None
        if ggx is not None:
            gW = Conv2DGradW(self.conv)(ggx, gy) if needs_input_grad[1] else None
            if needs_input_grad[2]:
                from_gx = Conv2d(stride, pad)(ggx, W)
                ggy = from_gx if ggy is None else ggy + from_gx
        if ggb is not None and needs_input_grad[2]:
            from_gb = broadcast_to(reshape(ggb, (1, -1, 1, 1)), gy.shape)
            ggy = from_gb if ggy is None else ggy + from_gb
        return gx, gW, ggy


class Deconv2d(Function):
    """y = deconv2d(x, W) (+ b) for x (N, C, H, W), W (C, OC, KH, KW), b (OC,) or None,
    with output spatial size ``outsize`` (a pair; None: the smallest that fits, see
    :func:`deconv2d`).  Derivative: Conv2d(gy, W) to x, Conv2DGradW(gy, x) to W, gy
    summed over N, H, W to b."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, stride=1, pad=0, outsize=None):
        self.stride = check_pair('Deconv2d', 'stride', stride)
        self.pad = check_pair('Deconv2d', 'pad', pad)
        self.outsize = None if outsize is None else check_pair('Deconv2d', 'outsize', outsize)

    def __call__(self, x, W, b=None):
        # ``Deconv2d(stride, pad, outsize)(x, W, None)`` as the book writes it
        if b is None:
            return super().__call__(x, W)
        return super().__call__(x, W, b)

    def forward(self, x, W, b=None):
        outsize = _check_deconv(
            'Deconv2d', x.shape, W.shape, _shape(b), self.stride, self.pad, self.outsize
        )[2]
        return deconv2d_array(x, W, b, self.stride, self.pad, outsize)

    def backward(self, gy, *, needs_input_grad):
        x, W = self.retained_inputs()[:2]
        gx = Conv2d(self.stride, self.pad)(gy, W) if needs_input_grad[0] else None
        gW = Conv2DGradW(self)(gy, x) if needs_input_grad[1] else None
        return (gx, gW, _bias_gradient(gy, needs_input_grad))[: len(needs_input_grad)]


class Conv2DGradW(Function):
    """gW = the gradient of conv2d(x, W) with respect to W for output gradient gy:
    gW[o, c, i, j] = sum over n and pixels of gy[n, o] * window (c, i, j) of x.
    It is bilinear; derivative: Deconv2d(gy, ggW) to x and Conv2d(x, ggW) to gy.

    ``conv`` (or ``conv2d``, the book's name for it) is the convolution call whose
    filter gradient this is: a Conv2d or Deconv2d, or any other called Function that
    keeps, as the book's convolution does, its W as ``inputs[1]`` and its ``stride``
    and ``pad``.  Its stride, its pad and the shape of its W are used: x must have
    the C channels of W, and gy the shape (N, OC, OH, OW) that the convolution gives
    x, so that gW has the shape of W (ValueError otherwise)."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, conv=None, *, conv2d=None):
        conv = given_once('Conv2DGradW', 'the convolution call', ('conv', conv), ('conv2d', conv2d))
        self.w_shape, self.stride, self.pad = _filter_geometry(conv)
        self.kernel = self.kernel_size = self.w_shape[2:]  # (kernel_size: the book's name)

    def forward(self, x, gy):
        self._check_shapes(x.shape, gy.shape)
        return conv2d_grad_w_array(x, gy, self.kernel, self.stride, self.pad)

    def _check_shapes(self, x_shape, gy_shape):
        """ValueError unless x and gy are an input and an output gradient of a
        convolution with the filter shape, stride and pad of the recorded call: x
        (N, C, H, W) with the C of W, gy (N, OC, OH, OW) with the OC of W and the
        output size that H and W give (so gW has the shape of W)."""
        oc, c, kh, kw = self.w_shape
        if len(x_shape) != 4 or x_shape[1] != c:
            raise ValueError(
                f'Conv2DGradW: x of shape {tuple(x_shape)} does not fit the filter of '
                f'shape {self.w_shape}; expected x of shape (N, {c}, H, W)'
            )
        n, _, h, w = x_shape
        (sh, sw), (ph, pw) = self.stride, self.pad
        expected = (n, oc, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
        if expected[2] < 1 or expected[3] < 1:
            raise ValueError(
                f'Conv2DGradW: x of shape {tuple(x_shape)} is smaller than the kernel '
                f'{self.kernel} with pad {self.pad}; expected H + 2*{ph} >= {kh} and '
                f'W + 2*{pw} >= {kw}'
            )
        if tuple(gy_shape) != expected:
            raise ValueError(
                f'Conv2DGradW: gy of shape {tuple(gy_shape)} does not fit x of shape '
                f'{tuple(x_shape)} and the filter of shape {self.w_shape} with stride '
                f'{self.stride} and pad {self.pad}; expected gy of shape {expected}'
            )

    def backward(self, ggW, *, needs_input_grad):
        x, gy = self.retained_inputs()
        gx = Deconv2d(self.stride, self.pad, x.shape[2:])(gy, ggW) if needs_input_grad[0] else None
        ggy = Conv2d(self.stride, self.pad)(x, ggW) if needs_input_grad[1] else None
        return gx, ggy


def _filter_geometry(conv):
    """The shape of W (a 4-tuple), the stride and the pad (pairs) of ``conv``, the convolution call whose
    filter gradient Conv2DGradW takes: a Conv2d or Deconv2d, or another called Function
    with its W as ``inputs[1]`` and ``stride`` and ``pad`` attributes (ints or pairs).
    TypeError naming what it lacks, ValueError for values that do not fit."""
    if isinstance(conv, (Conv2d, Deconv2d)) and conv.inputs is not None:
        return tuple(conv.inputs[1].shape), conv.stride, conv.pad  # checked by its call
    inputs = getattr(conv, 'inputs', None)
    missing = [name for name in ('stride', 'pad') if getattr(conv, name, None) is None]
    if inputs is None:
        missing.insert(0, 'inputs (it has not been called)')
    elif len(inputs) < 2 or getattr(inputs[1], 'shape', None) is None:
        missing.insert(0, 'inputs[1] (the W of its call)')
    if missing:
        raise TypeError(
            f'Conv2DGradW: expected a Conv2d or Deconv2d that has been called, or another '
            f'called convolution with its W as inputs[1], a stride and a pad; '
            f'{type(conv).__name__} lacks {", ".join(missing)}'
        )
    w_shape = tuple(inputs[1].shape)
    if len(w_shape) != 4:
        raise ValueError(
            f'Conv2DGradW: the W of {type(conv).__name__} (its inputs[1]) must be 4-D, '
            f'got shape {w_shape}'
        )
    stride = check_pair('Conv2DGradW', 'stride', conv.stride)
    pad = check_pair('Conv2DGradW', 'pad', conv.pad)
    if min(stride) < 1 or min(pad) < 0:
        raise ValueError(
            f'Conv2DGradW: {type(conv).__name__} has stride {stride} and pad {pad}; '
            f'expected a stride of at least 1 and a pad of at least 0'
        )
    return w_shape, stride, pad


def _check_bias(name, b_shape, channels, w_shape):
    if b_shape is not None and tuple(b_shape) != (channels,):
        raise ValueError(
            f'{name}: b of shape {tuple(b_shape)} does not fit W of shape '
            f'{tuple(w_shape)}; expected b of shape ({channels},)'
        )


def _check_4d(name, x_shape, w_shape, x_layout, w_layout):
    if len(x_shape) != 4:
        raise ValueError(f'{name}: x must be 4-D {x_layout}, got shape {tuple(x_shape)}')
    if len(w_shape) != 4:
        raise ValueError(f'{name}: W must be 4-D {w_layout}, got shape {tuple(w_shape)}')


def _check_conv(name, x_shape, w_shape, b_shape, stride, pad):
    """Check the shapes of a convolution's x, W and b (None without a bias) and its
    ``stride`` and ``pad``; return those two as pairs.  ValueError naming ``name``."""
    _check_4d(name, x_shape, w_shape, '(N, C, H, W)', '(OC, C, KH, KW)')
    if x_shape[1] != w_shape[1]:
        raise ValueError(
            f'{name}: x of shape {tuple(x_shape)} has {x_shape[1]} channels but W '
            f'of shape {tuple(w_shape)} expects {w_shape[1]}'
        )
    _, stride, pad, _ = conv_geometry(name, x_shape, w_shape[2:], stride, pad)
    _check_bias(name, b_shape, w_shape[0], w_shape)
    return stride, pad


def _check_deconv(name, x_shape, w_shape, b_shape, stride, pad, outsize):
    """Check the shapes of a transposed convolution's x, W and b (None without a
    bias), its ``stride``, ``pad`` and ``outsize`` (None: the smallest that fits);
    return the three as pairs.  ValueError naming ``name``."""
    _check_4d(name, x_shape, w_shape, '(N, C, H, W)', '(C, OC, KH, KW)')
    if x_shape[1] != w_shape[0]:
        raise ValueError(
            f'{name}: x of shape {tuple(x_shape)} has {x_shape[1]} channels but '
            f'W of shape {tuple(w_shape)} expects {w_shape[0]}'
        )
    check_image_size(name, x_shape)
    n, _, h, w = x_shape
    oc, kh, kw = w_shape[1:]
    # validate stride and pad on a dummy geometry first (kernel 1 fits any image)
    _, stride, pad, _ = conv_geometry(name, (n, oc, 1, 1), 1, stride, pad)
    smallest = (
        get_deconv_outsize(h, kh, stride[0], pad[0]),
        get_deconv_outsize(w, kw, stride[1], pad[1]),
    )
    if outsize is None:
        outsize = smallest
        if outsize[0] < 1 or outsize[1] < 1:
            raise ValueError(
                f'{name}: the output size {outsize} for x of shape {tuple(x_shape)}, '
                f'kernel {(kh, kw)}, stride {stride}, pad {pad} is not positive; use a '
                f'smaller pad'
            )
    else:
        try:
            outsize = pair(outsize)
        except (TypeError, ValueError):
            raise TypeError(
                f'{name}: outsize must be an int or a pair of ints, got {outsize!r}'
            ) from None
        fits = all(
            o >= 1 and o + 2 * p >= k and get_conv_outsize(o, k, s, p) == i
            for o, k, s, p, i in zip(outsize, (kh, kw), stride, pad, (h, w))
        )
        if not fits:
            largest = (smallest[0] + stride[0] - 1, smallest[1] + stride[1] - 1)
            raise ValueError(
                f'{name}: outsize {outsize} does not fit x of shape {tuple(x_shape)} '
                f'with kernel {(kh, kw)}, stride {stride}, pad {pad}; expected from '
                f'{smallest} to {largest}'
            )
    _check_bias(name, b_shape, oc, w_shape)
    return stride, pad, outsize


def _shape(b):
    return None if b is None else b.shape


def _refuse_bool(name, *arrays):
    """TypeError naming ``name`` for bool data, whose products NumPy takes as logical
    ANDs and sums as ORs: no convolution, and no derivative."""
    for what, a in zip(('x', 'W', 'b'), arrays):
        if a is not None and a.dtype == np.bool_:
            raise TypeError(
                f'{name}: {what} holds bool data; convert it to a floating-point dtype, '
                f'e.g. {what}.astype(np.float32)'
            )


def conv2d(x, W, b=None, stride=1, pad=0):
    """2-D convolution (cross-correlation, as in every deep-learning library) of the
    batch ``x`` (N, C, H, W) with the filters ``W`` (OC, C, KH, KW), plus the bias
    ``b`` (OC,) or no bias.  ``stride`` and ``pad`` (zeros) are ints or (height, width)
    pairs; the output has shape (N, OC, OH, OW) with OH = (H + 2*ph - KH) // sh + 1.

    ``y[n, o, p, q] = b[o] + sum over c, i, j of W[o, c, i, j] * x[n, c, p*sh + i - ph,
    q*sw + j - pw]``.  Derivative: deconv2d(gy, W) to x, the correlation of x with gy
    to W, gy summed over N, OH, OW to b.  A plain array (x, W or b) is a constant: no
    one can ask for its gradient, so backward does not compute it.

    When x and W both hold integers, the products are summed in float64 (in their own
    dtype they would wrap round) and y is float64.  N, C and OC may be 0 (with C = 0,
    y is b broadcast: a sum over no channels is zero); H and W may not."""
    x, W = as_input(x, 'conv2d'), as_input(W, 'conv2d', 1)
    b = None if b is None else as_input(b, 'conv2d', 2)
    _refuse_bool('conv2d', x, W, b)
    stride, pad = _check_conv('conv2d', x.shape, W.shape, _shape(b), stride, pad)
    return Conv2d(stride, pad)(x, W, b)


def deconv2d(x, W, b=None, stride=1, pad=0, outsize=None):
    """2-D transposed convolution ("deconvolution") of the batch ``x`` (N, C, H, W)
    with the filters ``W`` (C, OC, KH, KW), plus the bias ``b`` (OC,) or no bias: the
    gradient of conv2d with respect to its input, so each input pixel adds
    ``x[n, c, p, q] * W[c, :]`` onto the output window at (p*sh - ph, q*sw - pw).

    The output has shape (N, OC, OH, OW); ``outsize`` (an int or a pair) defaults to
    ``get_deconv_outsize(H, KH, sh, ph)`` = sh*(H - 1) + KH - 2*ph per axis and may be
    any size whose convolution gives back H (up to sh - 1 more).  Derivative: conv2d(gy,
    W) to x, the correlation of gy with x to W, gy summed over N, OH, OW to b.  A plain
    array (x, W or b) is a constant and gets no gradient.

    When x and W both hold integers, the sums are taken in float64 (in their own dtype
    they would wrap round) and y is float64.  N, C and OC may be 0; H and W may not."""
    x, W = as_input(x, 'deconv2d'), as_input(W, 'deconv2d', 1)
    b = None if b is None else as_input(b, 'deconv2d', 2)
    _refuse_bool('deconv2d', x, W, b)
    stride, pad, outsize = _check_deconv(
        'deconv2d', x.shape, W.shape, _shape(b), stride, pad, outsize
    )
    return Deconv2d(stride, pad, outsize)(x, W, b)

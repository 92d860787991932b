"""Array helpers of convolution: pair, output sizes, im2col_array and col2im_array."""

import warnings

import numpy as np
import pytest

import dezero.utils
from dezero.conv_ops import col2im_array, get_conv_outsize, get_deconv_outsize, im2col_array, pair


# ---- pair and sizes --------------------------------------------------------------------
@pytest.mark.parametrize(
    'value, expected',
    [
        (3, (3, 3)),
        (np.int64(2), (2, 2)),
        ((1, 2), (1, 2)),
        ([4, 0], (4, 0)),
        ((np.int32(5), 6), (5, 6)),
    ],
)
def test_pair_accepts_an_int_or_two(value, expected):
    result = pair(value)
    assert result == expected and type(result) is tuple
    assert all(type(v) is int for v in result)


@pytest.mark.parametrize(
    'value, error, words',
    [
        (2.0, TypeError, 'got 2.0 of type float'),
        (True, TypeError, 'got True'),
        ('3', TypeError, "got '3'"),
        (None, TypeError, 'got None'),
        ((1, 2, 3), ValueError, r'got \(1, 2, 3\) of length 3'),
        ((1,), ValueError, r'got \(1,\) of length 1'),
        ((1, 2.5), TypeError, r'got \(1, 2.5\)'),
        ((1, False), TypeError, r'got \(1, False\)'),
    ],
)
def test_pair_refuses_anything_else(value, error, words):
    with pytest.raises(error, match='pair: expected an int or a pair of ints, ' + words):
        pair(value)


@pytest.mark.parametrize(
    'size, k, s, p, expected',
    [
        (32, 3, 1, 1, 32),
        (5, 3, 1, 0, 3),
        (5, 3, 2, 0, 2),
        (6, 3, 2, 0, 2),
        (7, 3, 2, 1, 4),
        (4, 4, 1, 0, 1),
        (1, 1, 3, 0, 1),
    ],
)
def test_conv_outsize(size, k, s, p, expected):
    assert get_conv_outsize(size, k, s, p) == expected


@pytest.mark.parametrize(
    'size, k, s, p, expected',
    [
        (32, 3, 1, 1, 32),
        (3, 3, 1, 0, 5),
        (2, 3, 2, 0, 5),
        (4, 3, 2, 1, 7),
        (1, 4, 1, 0, 4),
    ],
)
def test_deconv_outsize_inverts_the_conv_outsize(size, k, s, p, expected):
    out = get_deconv_outsize(size, k, s, p)
    assert out == expected
    assert get_conv_outsize(out, k, s, p) == size


@pytest.mark.parametrize(
    'args, error, words',
    [
        ((4, 3, 0, 0), ValueError, 'stride must be at least 1, got 0'),
        ((4, 3, -1, 0), ValueError, 'stride must be at least 1, got -1'),
        ((-4, 3, 1, 0), ValueError, 'input_size must be at least 0, got -4'),
        ((4, -3, 1, 0), ValueError, 'kernel_size must be at least 0, got -3'),
        ((4, 3, 1, -1), ValueError, 'pad must be at least 0, got -1'),
        ((2, 5, 1, 1), ValueError, r'kernel_size 5 is longer than the padded input, .* = 4'),
        ((4.0, 3, 1, 0), TypeError, 'input_size must be an int, got 4.0'),
        ((4, 3, None, 0), TypeError, 'stride must be an int, got None'),
        ((4, 3, 1, True), TypeError, 'pad must be an int, got True'),
    ],
)
def test_conv_outsize_refuses_what_no_convolution_has(args, error, words):
    with pytest.raises(error, match='get_conv_outsize: ' + words):
        get_conv_outsize(*args)


@pytest.mark.parametrize(
    'args, error, words',
    [
        ((3, 3, 0, 0), ValueError, 's must be at least 1, got 0'),
        ((-1, 3, 1, 0), ValueError, 'size must be at least 0, got -1'),
        ((3, -3, 1, 0), ValueError, 'k must be at least 0, got -3'),
        ((3, 3, 1, -2), ValueError, 'p must be at least 0, got -2'),
        ((3, '3', 1, 0), TypeError, "k must be an int, got '3'"),
    ],
)
def test_deconv_outsize_refuses_what_no_convolution_has(args, error, words):
    with pytest.raises(error, match='get_deconv_outsize: ' + words):
        get_deconv_outsize(*args)


def test_outsizes_take_numpy_ints_and_the_edge_cases_the_book_allows():
    assert get_conv_outsize(np.int64(5), np.int32(3), np.int8(2), np.int16(0)) == 2
    assert get_conv_outsize(2, 4, 1, 1) == 1  # the kernel just fits the padded input
    assert get_conv_outsize(0, 1, 1, 1) == 2  # an empty input, padded
    assert get_deconv_outsize(1, 1, 1, 1) == -1  # the pad leaves nothing: deconv2d says so
    assert get_deconv_outsize(np.int64(2), 3, 2, 0) == 5


def test_utils_reexports_the_helpers():
    assert dezero.utils.pair is pair
    assert dezero.utils.get_conv_outsize is get_conv_outsize
    assert dezero.utils.get_deconv_outsize is get_deconv_outsize
    assert dezero.utils.im2col_array is im2col_array
    assert dezero.utils.col2im_array is col2im_array
    for name in ('pair', 'get_conv_outsize', 'get_deconv_outsize', 'im2col_array', 'col2im_array'):
        assert name in dezero.utils.__all__


# ---- im2col by hand ----------------------------------------------------------------------
IMG = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # 1 2 3 / 4 5 6 / 7 8 9


def test_im2col_of_a_small_image_by_hand():
    col = im2col_array(IMG, 2, 1, 0)
    # one row per output pixel (row-major), one column per kernel offset (row-major)
    np.testing.assert_array_equal(col, [[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]])


def test_im2col_with_padding_and_stride_by_hand():
    col = im2col_array(IMG, 2, 2, 1)  # padded 5x5, windows at 0 and 2
    np.testing.assert_array_equal(col, [[0, 0, 0, 1], [0, 0, 2, 3], [0, 4, 0, 7], [5, 6, 8, 9]])


def test_im2col_unshaped_layout_and_the_book_matrix_agree():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 5, 4))
    col = im2col_array(x, (3, 2), (2, 1), (1, 0), to_matrix=False)
    n, c, kh, kw, oh, ow = col.shape
    assert col.shape == (2, 3, 3, 2, 3, 3)
    for y in range(oh):  # spot the definition element by element
        for i in range(kh):
            row = 2 * y + i - 1
            expected = x[:, :, row, :] if 0 <= row < 5 else np.zeros((2, 3, 4))
            for q in range(ow):
                for j in range(kw):
                    np.testing.assert_array_equal(col[:, :, i, j, y, q], expected[:, :, q + j])
    matrix = im2col_array(x, (3, 2), (2, 1), (1, 0))
    np.testing.assert_array_equal(
        matrix, col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)
    )


def test_im2col_returns_a_fresh_array_and_keeps_the_dtype():
    x = np.ones((1, 2, 4, 4), dtype=np.float32)
    for to_matrix in (True, False):
        col = im2col_array(x, 3, 1, 1, to_matrix)
        assert col.dtype == np.float32
        col[...] = 7.0  # writable, and not a view of x
        assert (x == 1.0).all()


@pytest.mark.parametrize(
    'shape, k',
    [((1, 1, 1, 2), 1), ((1, 3, 3, 3), 1), ((2, 1, 3, 3), 1), ((2, 3, 4, 4), 4)],
    ids=['1x1-one-pixel-row', '1x1-one-image', '1x1-one-channel', 'kernel-of-the-image'],
)
def test_im2col_never_returns_the_images_own_memory(shape, k):
    # windows in the image's own order: a reshape alone would give a view of it
    img = np.arange(float(np.prod(shape))).reshape(shape)
    expected = im2col_array(img.copy(), k, 1, 0)
    col = im2col_array(img, k, 1, 0)
    assert not np.shares_memory(col, img)
    img -= 1
    np.testing.assert_array_equal(col, expected)


def test_im2col_of_a_non_contiguous_image():
    x = np.arange(2.0 * 3 * 6 * 5).reshape(2, 3, 6, 5)
    view = x.transpose(0, 1, 3, 2)  # (2, 3, 5, 6), not contiguous
    np.testing.assert_array_equal(
        im2col_array(view, 3, 2, 1), im2col_array(np.ascontiguousarray(view), 3, 2, 1)
    )


# ---- col2im ------------------------------------------------------------------------------
def test_col2im_counts_how_many_windows_cover_each_pixel():
    shape = (1, 1, 3, 3)
    ones = np.ones_like(im2col_array(np.zeros(shape), 2, 1, 0))
    np.testing.assert_array_equal(
        col2im_array(ones, shape, 2, 1, 0)[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    )
    ones = np.ones_like(im2col_array(np.zeros(shape), 3, 2, 1, to_matrix=False))
    np.testing.assert_array_equal(
        col2im_array(ones, shape, 3, 2, 1, False)[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    )


def test_col2im_gathers_back_what_non_overlapping_windows_took():
    x = np.arange(2.0 * 2 * 4 * 6).reshape(2, 2, 4, 6)
    for to_matrix in (True, False):
        col = im2col_array(x, (2, 3), (2, 3), 0, to_matrix)
        np.testing.assert_array_equal(col2im_array(col, x.shape, (2, 3), (2, 3), 0, to_matrix), x)


CONFIGS = [  # (image shape, kernel, stride, pad)
    ((2, 3, 5, 7), 3, 1, 1),
    ((2, 3, 5, 7), (2, 3), 2, (1, 0)),
    ((1, 2, 6, 6), 3, 3, 2),
    ((1, 2, 7, 5), (3, 1), (2, 3), (0, 2)),
    ((3, 1, 4, 4), 1, 2, 0),
    ((1, 1, 3, 3), 5, 1, 1),  # the kernel covers the padded image
    ((1, 1, 5, 5), 3, 2, 3),  # pad wider than the kernel
    ((2, 2, 6, 5), 2, 1, 0),
]


@pytest.mark.parametrize('shape, k, s, p', CONFIGS)
@pytest.mark.parametrize('to_matrix', [True, False])
def test_im2col_and_col2im_are_adjoint(shape, k, s, p, to_matrix):
    """<im2col(x), y> == <x, col2im(y)> for random x and y."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    col = im2col_array(x, k, s, p, to_matrix)
    y = rng.standard_normal(col.shape)
    img = col2im_array(y, shape, k, s, p, to_matrix)
    assert img.shape == shape and img.flags.c_contiguous
    np.testing.assert_allclose(np.sum(col * y), np.sum(x * img), rtol=1e-12)


@pytest.mark.parametrize(
    'shape, k, s, p',
    [
        ((2, 3, 5, 7), (4, 6), (2, 3), (1, 2)),
        ((1, 2, 4, 4), 5, 1, 1),
        ((1, 1, 2, 9), (3, 8), (1, 4), (1, 3)),
        ((1, 1, 1, 1000), (1, 999), 1, 0),
    ],
)
def test_col2im_with_fewer_windows_than_kernel_offsets_adds_each_window(shape, k, s, p):
    rng = np.random.default_rng(1)
    kernel, stride, pad, (oh, ow) = dezero.conv_ops.conv_geometry('test', shape, k, s, p)
    col = rng.standard_normal(shape[:2] + kernel + (oh, ow))
    assert oh * ow < kernel[0] * kernel[1]
    want = np.zeros(shape)
    for i, j, y, x in np.ndindex(kernel + (oh, ow)):
        r, c = y * stride[0] + i - pad[0], x * stride[1] + j - pad[1]
        if 0 <= r < shape[2] and 0 <= c < shape[3]:
            want[:, :, r, c] += col[:, :, i, j, y, x]
    got = col2im_array(col, shape, k, s, p, to_matrix=False)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_col2im_keeps_float32_and_reads_broadcast_views():
    shape = (1, 2, 4, 4)
    col = np.broadcast_to(np.float32(0.5), (1, 2, 3, 3, 2, 2))  # read-only, zero strides
    img = col2im_array(col, shape, 3, 1, 0, to_matrix=False)
    assert img.dtype == np.float32
    expected = col2im_array(np.full(col.shape, 0.5, np.float32), shape, 3, 1, 0, False)
    np.testing.assert_array_equal(img, expected)


# ---- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'shape, k, s, p, words',
    [
        (
            (3, 4, 4),
            2,
            1,
            0,
            r'im2col: expected a 4-D \(N, C, H, W\) input, got shape '
            r'\(3, 4, 4\)',
        ),
        (
            (1, 1, 4, 4),
            5,
            1,
            0,
            r'im2col: kernel \(5, 5\) is larger than the padded input '
            r'\(4, 4\)',
        ),
        (
            (1, 1, 4, 4),
            (2, 7),
            1,
            1,
            r'kernel \(2, 7\) is larger than the padded input '
            r'\(6, 6\)',
        ),
        ((1, 1, 4, 4), 0, 1, 0, r'im2col: kernel_size must be at least 1, got \(0, 0\)'),
        ((1, 1, 4, 4), 2, (1, 0), 0, r'im2col: stride must be at least 1, got \(1, 0\)'),
        ((1, 1, 4, 4), 2, 1, -1, r'im2col: pad must not be negative, got \(-1, -1\)'),
    ],
)
def test_im2col_refuses_bad_geometry(shape, k, s, p, words):
    with pytest.raises(ValueError, match=words):
        im2col_array(np.zeros(shape), k, s, p)


def test_im2col_refuses_a_kernel_that_is_not_an_int_or_pair():
    with pytest.raises(
        TypeError,
        match=r'im2col: kernel_size must be an int or a pair '
        r'of ints, got 2.5',
    ):
        im2col_array(np.zeros((1, 1, 4, 4)), 2.5, 1, 0)
    with pytest.raises(
        ValueError,
        match=r'im2col: stride must be an int or a pair of '
        r'ints, got \(1, 1, 1\)',
    ):
        im2col_array(np.zeros((1, 1, 4, 4)), 2, (1, 1, 1), 0)


@pytest.mark.parametrize(
    'col_shape, to_matrix, expected',
    [
        ((9, 8), True, r'\(4, 4\)'),
        ((4, 5), True, r'\(4, 4\)'),
        ((1, 1, 2, 2, 3, 2), False, r'\(1, 1, 2, 2, 2, 2\)'),
    ],
)
def test_col2im_refuses_columns_of_the_wrong_shape(col_shape, to_matrix, expected):
    with pytest.raises(
        ValueError,
        match=r'col2im: col of shape .* does not fit image '
        r'shape \(1, 1, 3, 3\); expected ' + expected,
    ):
        col2im_array(np.zeros(col_shape), (1, 1, 3, 3), 2, 1, 0, to_matrix)


# ---- the convolution kernels, block by block ----------------------------------------------
from dezero import conv_ops  # noqa: E402


def padded(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad[0],) * 2, (pad[1],) * 2))


def reference_conv(x, W, stride, pad):
    """A sum over kernel offsets of channel products of strided slices."""
    (sh, sw), (kh, kw) = stride, W.shape[2:]
    oh = get_conv_outsize(x.shape[2], kh, sh, pad[0])
    ow = get_conv_outsize(x.shape[3], kw, sw, pad[1])
    xp = padded(x, pad)
    return sum(
        np.einsum(
            'oc,ncpq->nopq', W[:, :, i, j], xp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
        )
        for i in range(kh)
        for j in range(kw)
    )


def reference_grad_w(x, gy, kernel, stride, pad):
    (sh, sw), (oh, ow) = stride, gy.shape[2:]
    xp = padded(x, pad)
    gW = np.empty((gy.shape[1], x.shape[1]) + tuple(kernel))
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            window = xp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
            gW[:, :, i, j] = np.einsum('nopq,ncpq->oc', gy, window)
    return gW


def reference_deconv(x, W, stride, pad, outsize):
    (sh, sw), (kh, kw), (h, w) = stride, W.shape[2:], x.shape[2:]
    big = (outsize[0] + 2 * pad[0] + kh, outsize[1] + 2 * pad[1] + kw)
    y = np.zeros((x.shape[0], W.shape[1]) + big)
    for i in range(kh):
        for j in range(kw):
            y[:, :, i : i + sh * h : sh, j : j + sw * w : sw] += np.einsum(
                'co,ncpq->nopq', W[:, :, i, j], x
            )
    return y[:, :, pad[0] : pad[0] + outsize[0], pad[1] : pad[1] + outsize[1]]


@pytest.fixture(params=[1, 3000, 1 << 20], ids=['one image a block', 'a few', 'all'])
def block_bytes(request, monkeypatch):
    """Runs a test with blocks of one image, of a few (the last one shorter) and of
    the whole batch."""
    monkeypatch.setattr(conv_ops, 'BLOCK_BYTES', request.param)
    return request.param


@pytest.fixture(params=[1, 1 << 40], ids=['zero rows between channels', 'none'])
def gaps(request, monkeypatch):
    """Runs a test with the stacked products of the kernel-rows layout spaced by zero
    rows (whatever their length) and packed together."""
    monkeypatch.setattr(conv_ops, 'ALIASED_ROW_BYTES', request.param)
    return request.param


@pytest.fixture(params=['kernel rows', 'windows'])
def layout(request, monkeypatch):
    """Runs a test with the stride-1 convolutions in each layout, whichever the rule
    would pick."""
    rows = request.param == 'kernel rows'
    monkeypatch.setattr(conv_ops, 'stacks_kernel_rows', lambda w_shape: rows)
    return request.param


# (x shape, W shape (OC, C, KH, KW), stride, pad)
KERNEL_CASES = [
    ((7, 3, 6, 5), (4, 3, 3, 3), (1, 1), (1, 1)),
    ((5, 2, 7, 6), (3, 2, 3, 2), (2, 1), (0, 1)),
    ((6, 4, 5, 5), (2, 4, 1, 1), (1, 1), (0, 0)),
    ((3, 2, 4, 4), (5, 2, 4, 4), (1, 1), (0, 0)),
    ((5, 1, 6, 6), (2, 1, 2, 2), (3, 3), (2, 1)),
    # stride 1, for the ways the kernel rows add up
    ((4, 3, 5, 6), (3, 3, 3, 3), (1, 1), (0, 1)),  # fewer output rows than input rows
    ((3, 2, 4, 4), (2, 2, 3, 3), (1, 1), (2, 2)),  # more
    ((2, 2, 2, 3), (3, 2, 5, 5), (1, 1), (2, 2)),  # kernel rows that miss the image
    ((2, 2, 1, 4), (2, 2, 7, 3), (1, 1), (3, 1)),  # ... by more than a channel's rows
    ((3, 4, 5, 5), (6, 4, 1, 1), (1, 1), (1, 0)),  # one kernel row, padded
    ((2, 3, 6, 4), (4, 3, 5, 1), (1, 1), (2, 0)),  # a tall kernel
    ((2, 3, 4, 6), (4, 3, 1, 3), (1, 1), (0, 1)),  # a wide one
    ((2, 2, 3, 3), (2, 2, 1, 9), (1, 1), (0, 4)),  # kernel columns that miss the image
]


@pytest.mark.parametrize('x_shape, w_shape, stride, pad', KERNEL_CASES)
def test_conv2d_array_and_its_filter_gradient_match_the_references(
    x_shape, w_shape, stride, pad, block_bytes, layout, gaps
):
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    y = conv_ops.conv2d_array(x, W, b, stride, pad)
    expected = reference_conv(x, W, stride, pad) + b.reshape(1, -1, 1, 1)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    gy = rng.normal(size=y.shape)
    gW = conv_ops.conv2d_grad_w_array(x, gy, w_shape[2:], stride, pad)
    np.testing.assert_allclose(gW, reference_grad_w(x, gy, w_shape[2:], stride, pad), rtol=1e-12)
    assert gW.flags.c_contiguous


# (x shape, W shape (C, OC, KH, KW), stride, pad, outsize): the first three are taken as
# convolutions of the flipped filters, the others by adding windows back
DECONV_KERNEL_CASES = [
    ((7, 2, 4, 5), (2, 5, 3, 3), (1, 1), (1, 1), (4, 5)),
    ((5, 3, 3, 3), (3, 3, 2, 3), (1, 1), (0, 2), (4, 1)),
    ((4, 1, 2, 3), (1, 2, 3, 3), (1, 1), (0, 0), (4, 5)),
    ((7, 5, 4, 5), (5, 2, 3, 3), (1, 1), (1, 1), (4, 5)),  # more in than out
    ((6, 2, 3, 2), (2, 3, 2, 2), (1, 1), (2, 1), None),  # pad beyond the kernel
    ((5, 2, 3, 4), (2, 3, 3, 2), (2, 3), (1, 0), (6, 12)),  # outsize above the default
]


@pytest.mark.parametrize('x_shape, w_shape, stride, pad, outsize', DECONV_KERNEL_CASES)
def test_deconv2d_array_matches_the_reference(
    x_shape, w_shape, stride, pad, outsize, block_bytes, layout, gaps
):
    rng = np.random.default_rng(1)
    x, W = rng.normal(size=x_shape), rng.normal(size=w_shape)
    if outsize is None:  # the smallest size that fits
        outsize = tuple(
            get_deconv_outsize(s, k, st, p)
            for s, k, st, p in zip(x_shape[2:], w_shape[2:], stride, pad)
        )
    y = conv_ops.deconv2d_array(x, W, None, stride, pad, outsize)
    np.testing.assert_allclose(
        y, reference_deconv(x, W, stride, pad, outsize), rtol=1e-12, atol=1e-12
    )


def test_the_kernels_keep_float32_and_take_an_empty_batch():
    x = np.ones((0, 2, 5, 5), np.float32)
    W = np.ones((3, 2, 3, 3), np.float32)
    y = conv_ops.conv2d_array(x, W, None, (1, 1), (1, 1))
    assert y.shape == (0, 3, 5, 5) and y.dtype == np.float32
    gW = conv_ops.conv2d_grad_w_array(x, y, (3, 3), (1, 1), (1, 1))
    np.testing.assert_array_equal(gW, np.zeros((3, 2, 3, 3)))
    assert gW.dtype == np.float32
    for stride in ((1, 1), (2, 2)):
        back = conv_ops.deconv2d_array(
            np.ones((0, 3, 5, 5), np.float32), W, None, stride, (1, 1), (5, 5)
        )
        assert back.shape == (0, 2, 5, 5) and back.dtype == np.float32
    gx, gW = conv_ops.conv2d_grads_array(x, W, y, (1, 1))
    assert gx.shape == x.shape and gx.dtype == gW.dtype == np.float32
    np.testing.assert_array_equal(gW, np.zeros((3, 2, 3, 3)))


@pytest.mark.parametrize('c, oc', [(0, 3), (2, 0), (0, 0)])
def test_the_kernels_take_no_input_or_no_output_channels(c, oc, layout, gaps):
    """A sum over no channels is zero: y is the bias, and the gradients are zeros."""
    x = np.ones((2, c, 5, 5))
    W = np.ones((oc, c, 3, 3))
    b = np.arange(1.0, oc + 1)
    for stride in ((1, 1), (2, 2)):
        y = conv_ops.conv2d_array(x, W, b, stride, (1, 1))
        np.testing.assert_array_equal(y, np.broadcast_to(b.reshape(1, -1, 1, 1), y.shape))
        gy = np.ones(y.shape)
        gW = conv_ops.conv2d_grad_w_array(x, gy, (3, 3), stride, (1, 1))
        np.testing.assert_array_equal(gW, np.zeros(W.shape))
        gx = conv_ops.deconv2d_array(gy, W, None, stride, (1, 1), (5, 5))
        np.testing.assert_array_equal(gx, np.zeros(x.shape))
    gy = np.ones((2, oc, 5, 5))  # stride 1
    gx, gW, gb = conv_ops.conv2d_grads_array(x, W, gy, (1, 1), bias=True)
    np.testing.assert_array_equal(gx, np.zeros(x.shape))
    np.testing.assert_array_equal(gW, np.zeros(W.shape))
    np.testing.assert_array_equal(gb, np.full(oc, 50.0))


@pytest.mark.parametrize('dtype', [np.int8, np.uint8])
@pytest.mark.parametrize('stride', [(1, 1), (2, 2)])
def test_integer_kernels_sum_in_float64(dtype, stride, layout):
    """Sums of up to 8*3*3 products of 4 to 9 (int8 and uint8 wrap round past 127 and
    255)."""
    rng = np.random.default_rng(8)
    x = rng.integers(2, 4, (2, 8, 5, 5)).astype(dtype)
    W = rng.integers(2, 4, (8, 8, 3, 3)).astype(dtype)
    xf, Wf = x.astype(float), W.astype(float)
    y = conv_ops.conv2d_array(x, W, None, stride, (1, 1))
    assert y.dtype == np.float64 and y.max() > 255
    np.testing.assert_array_equal(y, reference_conv(xf, Wf, stride, (1, 1)))
    gy = rng.integers(2, 4, y.shape).astype(dtype)
    gW = conv_ops.conv2d_grad_w_array(x, gy, (3, 3), stride, (1, 1))
    assert gW.dtype == np.float64
    np.testing.assert_array_equal(
        gW, reference_grad_w(xf, gy.astype(float), (3, 3), stride, (1, 1))
    )
    back = conv_ops.deconv2d_array(gy, W, None, stride, (1, 1), (5, 5))
    assert back.dtype == np.float64
    np.testing.assert_array_equal(
        back, reference_deconv(gy.astype(float), Wf, stride, (1, 1), (5, 5))
    )
    if stride == (1, 1):
        gx, gW_too = conv_ops.conv2d_grads_array(x, W, gy, (1, 1))
        np.testing.assert_array_equal(gx, back)
        np.testing.assert_array_equal(gW_too, gW)
    col = im2col_array(x, 3, 1, 1, to_matrix=False)
    assert col2im_array(col, x.shape, 3, 1, 1, to_matrix=False).dtype == np.float64


def test_float_data_and_integers_beside_it_are_not_copied():
    x8 = np.ones((1, 2, 4, 4), np.uint8)
    x32, W32 = x8.astype(np.float32), np.ones((3, 2, 3, 3), np.float32)
    for a, b in [(x32, W32), (x8, W32), (x32, W32.astype(np.int8))]:
        (same_a, same_b, _), _ = conv_ops._operands(a, b)
        assert same_a is a and same_b is b
    assert conv_ops.conv2d_array(x8, W32, None, (1, 1), (1, 1)).dtype == np.float32


def test_a_large_batch_never_holds_all_its_columns():
    """The columns of all 64 images would take 9 times the input (18 MiB); a block
    takes about BLOCK_BYTES."""
    import tracemalloc

    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 8, 32, 32)).astype(np.float32)  # 2 MiB
    W = rng.normal(size=(8, 8, 3, 3)).astype(np.float32)
    gy = rng.normal(size=(64, 8, 32, 32)).astype(np.float32)
    calls = [
        lambda: conv_ops.conv2d_array(x, W, None, (1, 1), (1, 1)),
        lambda: conv_ops.conv2d_grad_w_array(x, gy, (3, 3), (1, 1), (1, 1)),
        lambda: conv_ops.deconv2d_array(gy, W, None, (1, 1), (1, 1), (32, 32)),
        lambda: conv_ops.deconv2d_array(gy, W[:, :4], None, (1, 1), (1, 1), (32, 32)),
        lambda: conv_ops.conv2d_grads_array(x, W, gy, (1, 1)),
    ]
    for call in calls:
        tracemalloc.start()
        call()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 2 * x.nbytes + 3 * conv_ops.BLOCK_BYTES, peak  # output(s) + blocks


@pytest.mark.parametrize(
    'w_shape, pad',
    [((4, 3, 3, 3), (1, 1)), ((4, 3, 1, 1), (0, 0)), ((4, 3, 3, 3), (2, 2))],
    ids=['bias in the product', 'x its own rows', 'no kernel row reaches every row'],
)
def test_the_bias_keeps_its_dtype_or_promotes_as_numpy_does(w_shape, pad, layout):
    """A bias of the inputs' dtype is folded into the product (float32 stays float32);
    one of another dtype is added after, with NumPy's promotion."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 3, 5, 6)).astype(np.float32)
    W = rng.normal(size=w_shape).astype(np.float32)
    b = rng.normal(size=w_shape[0])
    expected = reference_conv(x.astype(float), W.astype(float), (1, 1), pad)
    expected += b.reshape(1, -1, 1, 1)
    y32 = conv_ops.conv2d_array(x, W, b.astype(np.float32), (1, 1), pad)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, expected, rtol=1e-5, atol=1e-5)
    y64 = conv_ops.conv2d_array(x, W, b, (1, 1), pad)
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y64, expected, rtol=1e-5, atol=1e-5)
    (_, _, rows), *_ = conv_ops._row_blocks(x, 3, 1, 6, 3, ones=True)
    assert rows.shape == (3, 10, 30)
    np.testing.assert_array_equal(rows[:, -1], 1)


def test_column_buffers_space_their_rows_a_cache_line_apart():
    """Rows of a 32x32 image are 4 KiB long; the buffers the products read start each
    row ROW_PADDING bytes further on, and hold the same numbers as unpadded ones."""
    x = np.arange(2 * 3 * 32 * 32, dtype=np.float32).reshape(2, 3, 32, 32)
    ((_, _, rows),) = conv_ops._row_blocks(x, 3, 1, 32, 2)
    assert rows.shape == (2, 9, 1024)
    assert rows.strides[1] == 1024 * 4 + conv_ops.ROW_PADDING
    np.testing.assert_array_equal(rows[:, 1::3], x.reshape(2, 3, 1024))  # the unshifted rows
    ((_, _, shifted),) = conv_ops._row_shift_blocks(x, [-1, 0, 1], 32, 2)
    assert shifted.strides[1] == 1024 * 4 + conv_ops.ROW_PADDING
    np.testing.assert_array_equal(shifted[:, 3:6], x.reshape(2, 3, 1024))


def test_stacked_products_of_4_kib_rows_are_spaced_by_zero_rows():
    """The products of a 32x32 float32 image are 4 KiB rows: they are written one
    image row (plus the pad) further apart, and the rows between stay zero, so that
    a shifted read of one channel's rows finds zeros, not the next channel's."""
    z = conv_ops._stacked_scratch(np, 2, 3, 4, 32, (32, 32), 1, np.float32)
    products = z.products(2)
    assert products.shape == (2, 12, 1024)
    assert products.strides[1] == 33 * 32 * 4
    products[...] = 1
    below = z.kernel_row(2, 0, -1)  # every row read one image row earlier
    np.testing.assert_array_equal(below[:, :, :32], 0)
    np.testing.assert_array_equal(below[:, :, 32:], 1)
    above = z.kernel_row(2, 2, 1)
    np.testing.assert_array_equal(above[:, :, -32:], 0)
    np.testing.assert_array_equal(above[:, :, :-32], 1)
    unaliased = conv_ops._stacked_scratch(np, 2, 3, 4, 16, (16, 16), 1, np.float32)
    assert unaliased.products(2).strides[1] == 16 * 16 * 4  # 1 KiB rows: packed


def test_the_kernels_agree_with_pytorch_in_float32(block_bytes, layout, gaps):
    torch = pytest.importorskip('torch')
    tf = torch.nn.functional
    rng = np.random.default_rng(3)
    for stride, pad in (((1, 1), (1, 1)), ((2, 1), (1, 0))):
        x = rng.normal(size=(6, 4, 9, 8)).astype(np.float32)
        W = rng.normal(size=(5, 4, 3, 3)).astype(np.float32)
        y = conv_ops.conv2d_array(x, W, None, stride, pad)
        tx = torch.tensor(x, requires_grad=True)
        tW = torch.tensor(W, requires_grad=True)
        ty = tf.conv2d(tx, tW, stride=stride, padding=pad)
        gy = rng.normal(size=y.shape).astype(np.float32)
        ty.backward(torch.tensor(gy))
        # every output sums 36 products of normal numbers: float32 rounding is near 1e-5
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-4, atol=1e-4)
        gW = conv_ops.conv2d_grad_w_array(x, gy, (3, 3), stride, pad)
        np.testing.assert_allclose(gW, tW.grad.numpy(), rtol=1e-4, atol=1e-3)
        gx = conv_ops.deconv2d_array(gy, W, None, stride, pad, x.shape[2:])
        np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
        assert y.dtype == gW.dtype == gx.dtype == np.float32


# (x shape, W shape (OC, C, KH, KW), pad): stride 1, pad below the kernel
GRADS_CASES = [
    ((7, 4, 6, 5), (3, 4, 3, 3), (1, 1)),
    ((5, 2, 5, 4), (8, 2, 3, 3), (1, 0)),
    ((5, 3, 5, 6), (3, 3, 2, 3), (0, 2)),
    ((6, 2, 4, 4), (2, 2, 1, 1), (0, 0)),
    ((2, 2, 2, 3), (3, 2, 5, 5), (2, 2)),  # kernel rows that miss the image
    ((2, 2, 1, 4), (2, 2, 7, 3), (3, 1)),  # ... by more than a channel's rows
    ((2, 3, 6, 4), (4, 3, 5, 1), (2, 0)),
    ((3, 1, 5, 5), (7, 1, 3, 3), (1, 1)),  # many more filters than channels
]


@pytest.mark.parametrize('rows_fit', [True, False], ids=['from kernel rows', 'one by one'])
@pytest.mark.parametrize('x_shape, w_shape, pad', GRADS_CASES)
def test_both_gradients_from_one_set_of_columns_match_the_references(
    x_shape, w_shape, pad, rows_fit, block_bytes, gaps, monkeypatch
):
    assert conv_ops.gradients_together(w_shape, (1, 1), pad)
    assert conv_ops.kernel_rows_fit(x_shape, w_shape, pad)
    if not rows_fit:  # as for a kernel about as large as the image
        monkeypatch.setattr(conv_ops, 'kernel_rows_fit', lambda *shapes: False)
    rng = np.random.default_rng(4)
    x, W = rng.normal(size=x_shape), rng.normal(size=w_shape)
    gy = rng.normal(size=reference_conv(x, W, (1, 1), pad).shape)
    gx, gW = conv_ops.conv2d_grads_array(x, W, gy, pad)
    expected_gx = reference_deconv(gy, W, (1, 1), pad, x_shape[2:])
    np.testing.assert_allclose(gx, expected_gx, rtol=1e-12, atol=1e-12)
    expected_gW = reference_grad_w(x, gy, w_shape[2:], (1, 1), pad)
    np.testing.assert_allclose(gW, expected_gW, rtol=1e-12, atol=1e-12)
    assert gx.flags.c_contiguous and gW.flags.c_contiguous
    gx_too, gW_too, gb = conv_ops.conv2d_grads_array(x, W, gy, pad, bias=True)
    np.testing.assert_array_equal(gx_too, gx)
    np.testing.assert_array_equal(gW_too, gW)
    np.testing.assert_allclose(gb, gy.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)
    assert gb.shape == (w_shape[0],) and gb.flags.c_contiguous


@pytest.mark.parametrize('x_dtype, gy_dtype', [(np.float32, np.float32), (np.float64, np.float32)])
@pytest.mark.parametrize('pad', [(1, 1), (1, 2)], ids=['from the rows', 'summed from gy'])
def test_the_bias_gradient_keeps_the_dtype_of_gy(x_dtype, gy_dtype, pad):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 2, 5, 6)).astype(x_dtype)
    W = rng.normal(size=(4, 2, 3, 3)).astype(x_dtype)
    gy = rng.normal(size=reference_conv(x, W, (1, 1), pad).shape).astype(gy_dtype)
    _, _, gb = conv_ops.conv2d_grads_array(x, W, gy, pad, bias=True)
    assert gb.dtype == gy_dtype
    np.testing.assert_allclose(gb, gy.astype(float).sum(axis=(0, 2, 3)), rtol=1e-5)


# ---- infinities and NaN: no product with padding -------------------------------------------
def _tap_reads(x_shape, w_shape, stride, pad):
    """Yield (n, o, p, q, c, i, j, r, s) for every term of a convolution: output
    (n, o, p, q) reads x[n, c, r, s] through the tap W[o, c, i, j]; taps that fall in
    the padding are no terms at all."""
    n, c, h, w = x_shape
    oc, _, kh, kw = w_shape
    (sh, sw), (ph, pw) = stride, pad
    oh, ow = get_conv_outsize(h, kh, sh, ph), get_conv_outsize(w, kw, sw, pw)
    for b, o, p, q, ch, i, j in np.ndindex(n, oc, oh, ow, c, kh, kw):
        r, s = p * sh + i - ph, q * sw + j - pw
        if 0 <= r < h and 0 <= s < w:
            yield b, o, p, q, ch, i, j, r, s


def loop_conv_and_gradients(x, W, gy, stride, pad):
    """y, gx and gW of a convolution, term by term in Python floats."""
    y, gx, gW = np.zeros(gy.shape), np.zeros(x.shape), np.zeros(W.shape)
    for n, o, p, q, c, i, j, r, s in _tap_reads(x.shape, W.shape, stride, pad):
        y[n, o, p, q] += float(W[o, c, i, j]) * float(x[n, c, r, s])
        gx[n, c, r, s] += float(W[o, c, i, j]) * float(gy[n, o, p, q])
        gW[o, c, i, j] += float(gy[n, o, p, q]) * float(x[n, c, r, s])
    return y, gx, gW


# (x shape, W shape, stride, pad): both layouts, and the gradients taken together
HOSTILE_CASES = [
    ((2, 2, 4, 5), (3, 2, 3, 3), (1, 1), (1, 1)),
    ((2, 3, 4, 4), (2, 3, 3, 3), (1, 1), (0, 0)),
    ((2, 2, 5, 5), (3, 2, 3, 3), (2, 2), (1, 1)),
    ((1, 2, 3, 4), (2, 2, 3, 3), (1, 1), (2, 2)),
    ((2, 1, 4, 4), (4, 1, 3, 3), (1, 1), (1, 1)),
]


@pytest.mark.parametrize('value', [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize('where', ['x', 'W', 'gy'])
@pytest.mark.parametrize('x_shape, w_shape, stride, pad', HOSTILE_CASES)
def test_an_infinity_or_nan_never_meets_the_padding(
    x_shape, w_shape, stride, pad, where, value, layout, gaps
):
    rng = np.random.default_rng(8)
    x, W = rng.normal(size=x_shape), rng.normal(size=w_shape)
    y_shape = reference_conv(x, W, stride, pad).shape
    gy = rng.normal(size=y_shape)
    # at a corner and on an edge, where the layouts multiply zeros of padding
    bad = {'x': x, 'W': W, 'gy': gy}[where]
    bad[0, 0, 0, 0] = value
    bad[-1, -1, -1, 1] = value
    with np.errstate(invalid='ignore'):
        want_y, want_gx, want_gW = loop_conv_and_gradients(x, W, gy, stride, pad)
        y = conv_ops.conv2d_array(x, W, None, stride, pad)
        gW = conv_ops.conv2d_grad_w_array(x, gy, w_shape[2:], stride, pad)
        gx = conv_ops.deconv2d_array(gy, W, None, stride, pad, x_shape[2:])
        both = conv_ops.conv2d_grads_array(x, W, gy, pad) if stride == (1, 1) else (gx, gW)
    for got, want in [
        (y, want_y),
        (gx, want_gx),
        (gW, want_gW),
        (both[0], want_gx),
        (both[1], want_gW),
    ]:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('where', ['x', 'W', 'gy'])
@pytest.mark.parametrize('x_shape, w_shape, stride, pad', HOSTILE_CASES[:3])
def test_the_term_by_term_reference_is_pytorchs_in_float32(x_shape, w_shape, stride, pad, where):
    # PyTorch's float32 kernels (oneDNN) leave the padding out; its float64 ones on the
    # CPU multiply it, as these layouts would without the taps
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(9)
    x, W = rng.normal(size=x_shape).astype(np.float32), rng.normal(size=w_shape).astype(np.float32)
    gy = rng.normal(size=reference_conv(x, W, stride, pad).shape).astype(np.float32)
    bad = {'x': x, 'W': W, 'gy': gy}[where]
    bad[0, 0, 0, 0], bad[-1, -1, -1, 1] = np.inf, np.nan
    tx, tW = torch.tensor(x, requires_grad=True), torch.tensor(W, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tW, stride=stride, padding=pad)
    ty.backward(torch.tensor(gy))
    with np.errstate(invalid='ignore'):
        want = loop_conv_and_gradients(x, W, gy, stride, pad)
    for got, expected in zip((ty.detach(), tx.grad, tW.grad), want):
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('stride', [(1, 1), (2, 2)])
def test_an_infinity_that_meets_no_other_warns_of_nothing(stride, layout):
    # every term holding the infinity is +inf, so the filter gradient is inf there and
    # finite elsewhere, with no invalid operation, though the padding met it
    rng = np.random.default_rng(10)
    x = rng.uniform(1, 2, size=(2, 2, 5, 5))
    W = rng.normal(size=(3, 2, 3, 3))
    gy = rng.uniform(1, 2, size=reference_conv(x, W, stride, (1, 1)).shape)
    gy[0, 1, 0, 0] = np.inf
    want = loop_conv_and_gradients(x, W, gy, stride, (1, 1))[2]
    assert np.isinf(want).any() and not np.isnan(want).any()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        gW = conv_ops.conv2d_grad_w_array(x, gy, (3, 3), stride, (1, 1))
        if stride == (1, 1):
            np.testing.assert_array_equal(conv_ops.conv2d_grads_array(x, W, gy, (1, 1))[1], gW)
    np.testing.assert_allclose(gW, want, rtol=1e-12)


@pytest.mark.parametrize('bad', [None, [[1.0, 2.0]], 3.0])
def test_im2col_and_col2im_arrays_name_themselves_for_what_is_no_array(bad):
    with pytest.raises(TypeError, match='im2col_array: img must be a NumPy or CuPy array'):
        im2col_array(bad, 2, 1, 0)
    with pytest.raises(TypeError, match='col2im_array: col must be a NumPy or CuPy array'):
        col2im_array(bad, (1, 1, 3, 3), 2, 1, 0)


# ---- float16: computed in float32, rounded once ----------------------------------------------
def test_float16_kernel_rows_add_up_in_float32(layout, gaps):
    # each kernel row's sum, 80000 or -80000, was kept in float16, and inf - inf is NaN;
    # PyTorch gives 0 too
    x = np.ones((1, 8, 3, 1), np.float16)
    W = np.zeros((8, 8, 2, 1), np.float16)
    W[:, :, 0], W[:, :, 1] = 10000, -10000
    y = conv_ops.conv2d_array(x, W, None, (1, 1), (0, 0))
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, np.zeros((1, 8, 2, 1)))
    gy = np.ones(y.shape, np.float16)
    with pytest.warns(RuntimeWarning, match='overflow'):  # -80000, 80000: beyond float16
        gx = conv_ops.deconv2d_array(gy, W, None, (1, 1), (0, 0), (3, 1))
    np.testing.assert_array_equal(gx, np.broadcast_to([[[np.inf], [0], [-np.inf]]], x.shape))
    with pytest.warns(RuntimeWarning, match='overflow'):
        gx_too, gW = conv_ops.conv2d_grads_array(x, W, gy, (0, 0))
    np.testing.assert_array_equal(gx_too, gx)
    np.testing.assert_array_equal(gW, np.full(W.shape, 2))


@pytest.mark.parametrize('stride', [(1, 1), (2, 2)])
def test_float16_filter_gradients_are_summed_in_float32(stride, layout, monkeypatch):
    # one image a block: the first adds 2048 for each output, every other one 1 for each;
    # the blocks' sums were added up in float16, where 32768 + 16 (8192 + 4) stays put
    monkeypatch.setattr(conv_ops, 'BLOCK_BYTES', 1)
    x = np.ones((64, 1, 4, 4), np.float16)
    gy = np.ones((64, 1, 4 // stride[0], 4 // stride[1]), np.float16)
    gy[0] = 2048
    expected = reference_grad_w(x.astype(float), gy.astype(float), (1, 1), stride, (0, 0))
    assert expected.item() in (32768 + 63 * 16, 8192 + 63 * 4)
    gW = conv_ops.conv2d_grad_w_array(x, gy, (1, 1), stride, (0, 0))
    assert gW.dtype == np.float16
    np.testing.assert_array_equal(gW, expected.astype(np.float16))
    if stride == (1, 1):
        W = np.ones((1, 1, 1, 1), np.float16)
        np.testing.assert_array_equal(conv_ops.conv2d_grads_array(x, W, gy, (0, 0))[1], gW)


def every_kernel(x, W, b, gy, stride, pad):
    """The results of every kernel for a convolution of x with W (and b) whose output
    gradient is gy: y (with the first OC numbers of b as its bias), gW, gx (with the
    first C as its bias), conv2d_grads_array's
    (gx, gW, gb) where it applies, and col2im of x's windows."""
    kernel = W.shape[2:]
    results = [
        conv_ops.conv2d_array(x, W, b[: W.shape[0]], stride, pad),
        conv_ops.conv2d_grad_w_array(x, gy, kernel, stride, pad),
        conv_ops.deconv2d_array(gy, W, b[: x.shape[1]], stride, pad, x.shape[2:]),
    ]
    if stride == (1, 1) and conv_ops.gradients_together(W.shape, stride, pad):
        results += conv_ops.conv2d_grads_array(x, W, gy, pad, bias=True)
    col = im2col_array(x, kernel, stride, pad, to_matrix=False)
    return results + [col2im_array(col, x.shape, kernel, stride, pad, to_matrix=False)]


def float16_operands(x_shape, w_shape, stride, pad, seed):
    """x, W, b (as long as the larger channel axis) and gy of normal numbers, as
    float16."""
    rng = np.random.default_rng(seed)
    y_shape = reference_conv(np.zeros(x_shape), np.zeros(w_shape), stride, pad).shape
    shapes = x_shape, w_shape, (max(w_shape[:2]),), y_shape
    return [rng.normal(size=shape).astype(np.float16) for shape in shapes]


def assert_float32_results_rounded(x, W, b, gy, stride, pad):
    """Every kernel gives for float16 data its float32 result rounded to float16."""
    single = every_kernel(*(a.astype(np.float32) for a in (x, W, b, gy)), stride, pad)
    half = every_kernel(x, W, b, gy, stride, pad)
    for got, wanted in zip(half, single, strict=True):
        assert got.dtype == np.float16
        np.testing.assert_array_equal(got, wanted.astype(np.float16))


@pytest.mark.parametrize('x_shape, w_shape, stride, pad', KERNEL_CASES)
def test_float16_kernels_give_their_float32_results_rounded(
    x_shape, w_shape, stride, pad, layout, gaps
):
    x, W, b, gy = float16_operands(x_shape, w_shape, stride, pad, 11)
    assert_float32_results_rounded(x, W, b, gy, stride, pad)


@pytest.mark.parametrize('where', ['x', 'W', 'gy'])
@pytest.mark.parametrize('x_shape, w_shape, stride, pad', HOSTILE_CASES)
def test_float16_infinities_and_nan_follow_the_float32_rules(
    x_shape, w_shape, stride, pad, where, layout
):
    x, W, b, gy = float16_operands(x_shape, w_shape, stride, pad, 12)
    bad = {'x': x, 'W': W, 'gy': gy}[where]
    bad[0, 0, 0, 0], bad[-1, -1, -1, 1] = np.inf, np.nan
    with np.errstate(invalid='ignore'):
        assert_float32_results_rounded(x, W, b, gy, stride, pad)


F16, F32 = np.float16, np.float32


@pytest.mark.parametrize(
    'x_dtype, w_dtype, b_dtype, gy_dtype',
    [(F16, F32, F32, F16), (F32, F16, F16, F16), (F16, F16, F32, F16), (F16, F16, F16, F32)],
)
@pytest.mark.parametrize('stride', [(1, 1), (2, 2)])
def test_float16_beside_float32_keeps_the_dtypes_numpy_promotes_to(
    x_dtype, w_dtype, b_dtype, gy_dtype, stride, layout
):
    x, W, b, gy = float16_operands((3, 2, 5, 6), (4, 2, 3, 3), stride, (1, 1), 13)
    x, W, b, gy = x.astype(x_dtype), W.astype(w_dtype), b.astype(b_dtype), gy.astype(gy_dtype)
    results = every_kernel(x, W, b, gy, stride, (1, 1))
    promoted = np.result_type
    dtypes = [promoted(x, W, b), promoted(x, gy), promoted(gy, W, b)]  # y, gW, gx
    if stride == (1, 1):
        dtypes += [promoted(gy, W), promoted(x, gy), gy.dtype]
    dtypes.append(x.dtype)
    assert [r.dtype for r in results] == dtypes
    single = every_kernel(*(a.astype(np.float32) for a in (x, W, b, gy)), stride, (1, 1))
    for got, wanted in zip(results, single, strict=True):
        np.testing.assert_array_equal(got, wanted.astype(got.dtype))


# ---- one channel: products by a 1x1 matrix -------------------------------------------------
# (x shape, W shape, stride, pad): C = 1 or OC = 1, and taps that reach one output pixel,
# where a product of the tap-by-tap paths has a 1x1 operand
ONE_CHANNEL_CASES = [
    ((1, 1, 1, 3), (1, 1, 1, 2), (1, 1), (0, 0)),
    ((1, 1, 1, 1), (2, 1, 1, 2), (1, 1), (0, 1)),
    ((1, 1, 2, 2), (1, 1, 2, 2), (1, 1), (1, 1)),
    ((1, 1, 3, 3), (1, 1, 3, 3), (2, 2), (1, 1)),
    ((1, 2, 1, 2), (1, 2, 1, 2), (1, 1), (0, 0)),
    ((2, 1, 2, 1), (3, 1, 2, 1), (1, 1), (1, 0)),
]


@pytest.mark.parametrize('x_shape, w_shape, stride, pad', ONE_CHANNEL_CASES)
def test_one_channel_products_keep_zero_times_infinity_nan(x_shape, w_shape, stride, pad):
    # NumPy's dot takes a 1x1 matrix as a number and skips a product by 0, so that
    # 0 * inf came out 0; operands drawn from zeros, infinities and NaN meet that often
    rng = np.random.default_rng(14)
    values = np.array([0.0, 0.0, 1.0, -2.0, np.inf, -np.inf, np.nan])
    y_shape = reference_conv(np.zeros(x_shape), np.zeros(w_shape), stride, pad).shape
    for _ in range(40):
        x, W, gy = (rng.choice(values, size=shape) for shape in (x_shape, w_shape, y_shape))
        with np.errstate(invalid='ignore', over='ignore'):
            want_y, want_gx, want_gW = loop_conv_and_gradients(x, W, gy, stride, pad)
            y = conv_ops.conv2d_array(x, W, None, stride, pad)
            gW = conv_ops.conv2d_grad_w_array(x, gy, w_shape[2:], stride, pad)
            gx = conv_ops.deconv2d_array(gy, W, None, stride, pad, x_shape[2:])
            both = conv_ops.conv2d_grads_array(x, W, gy, pad) if stride == (1, 1) else (gx, gW)
        for got, want in [(y, want_y), (gx, want_gx), (gW, want_gW)] + list(
            zip(both, (want_gx, want_gW))
        ):
            np.testing.assert_array_equal(got, want)


def test_a_zero_filter_tap_times_an_infinity_is_nan():
    x = np.array([[[[-np.inf, 1.0, 1.0]]]])
    W = np.array([[[[0.0, np.inf]]]])
    with np.errstate(invalid='ignore'):
        y = conv_ops.conv2d_array(x, W, None, (1, 1), (0, 0))
    np.testing.assert_array_equal(y.ravel(), [np.nan, np.inf])


def test_an_infinite_gradient_times_a_zero_pixel_is_nan():
    # each tap reaches one output pixel, which reads the one pixel of x
    x, W = np.zeros((1, 1, 1, 1)), np.ones((2, 1, 1, 2))
    gy = np.array([[[[1.0, np.inf]], [[1.0, 1.0]]]])
    with np.errstate(invalid='ignore'):
        gW = conv_ops.conv2d_grad_w_array(x, gy, (1, 2), (1, 1), (0, 1))
        gW_too = conv_ops.conv2d_grads_array(x, W, gy, (0, 1))[1]
    for got in (gW, gW_too):
        np.testing.assert_array_equal(got.reshape(2, 2), [[np.nan, 0.0], [0.0, 0.0]])


# ---- kernels about as large as the image ------------------------------------------------------
@pytest.mark.parametrize(
    'x_shape, w_shape',
    [((1, 1, 1, 100000), (1, 1, 1, 100000)), ((1, 1, 100000, 1), (1, 1, 100000, 1))],
    ids=['wide', 'tall'],
)
def test_a_kernel_as_large_as_the_image_makes_no_quadratic_buffers(x_shape, w_shape):
    # the kernel rows of gy (wide) or the stacked products (tall) would hold 10**10
    # numbers for an output of one
    import tracemalloc

    rng = np.random.default_rng(15)
    x, W = rng.normal(size=x_shape), rng.normal(size=w_shape)
    gy = np.full((1, 1, 1, 1), 2.5)
    assert not conv_ops.kernel_rows_fit(x_shape, w_shape, (0, 0))
    calls = [
        (lambda: conv_ops.conv2d_array(x, W, None, (1, 1), (0, 0)), [x.ravel() @ W.ravel()]),
        (lambda: conv_ops.conv2d_grads_array(x, W, gy, (0, 0)), (2.5 * W, 2.5 * x)),
        (lambda: conv_ops.conv2d_grad_w_array(x, gy, w_shape[2:], (1, 1), (0, 0)), 2.5 * x),
        (lambda: conv_ops.deconv2d_array(gy, W, None, (1, 1), (0, 0), x_shape[2:]), 2.5 * W),
    ]
    for call, want in calls:
        tracemalloc.start()
        got = call()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 5 * x.nbytes, peak  # the results and a column buffer or two
        np.testing.assert_allclose(np.ravel(got), np.ravel(want), rtol=1e-10)


def test_kernel_rows_fit_an_image_of_about_the_outputs_size():
    assert conv_ops.kernel_rows_fit((1, 3, 32, 32), (64, 3, 5, 5), (2, 2))
    assert conv_ops.kernel_rows_fit((1, 8, 1, 1000), (8, 8, 1, 3), (0, 0))  # 1-d, no pad
    assert conv_ops.kernel_rows_fit((1, 4, 40, 40), (4, 4, 20, 20), (0, 0))  # 21x21 out
    assert not conv_ops.kernel_rows_fit((1, 4, 1, 1000), (4, 4, 1, 990), (0, 0))  # 1x11 out
    assert not conv_ops.kernel_rows_fit((1, 4, 1000, 1), (4, 4, 990, 1), (0, 0))
    # a wide transposed convolution of a small image adds its windows back
    assert not conv_ops.transposed_by_gathering(
        (1, 4, 1, 11), (4, 4, 1, 990), (1, 1), (0, 0), (1, 1000)
    )
    assert conv_ops.transposed_by_gathering((1, 4, 4, 4), (4, 4, 3, 3), (1, 1), (0, 0), (6, 6))


# (x shape, W shape, pad) of the CIFAR and MNIST networks of the benchmarks, one image
USUAL_SHAPES = [
    ((1, 3, 32, 32), (32, 3, 3, 3), (1, 1)),
    ((1, 32, 32, 32), (32, 32, 3, 3), (1, 1)),
    ((1, 32, 16, 16), (64, 32, 3, 3), (1, 1)),
    ((1, 64, 16, 16), (64, 64, 3, 3), (1, 1)),
    ((1, 64, 8, 8), (64, 64, 3, 3), (1, 1)),
    ((1, 256, 8, 8), (64, 256, 1, 1), (0, 0)),
    ((1, 64, 8, 8), (256, 64, 1, 1), (0, 0)),
    ((1, 1, 28, 28), (8, 1, 3, 3), (1, 1)),
    ((1, 8, 14, 14), (16, 8, 3, 3), (1, 1)),
]


@pytest.mark.parametrize('x_shape, w_shape, pad', USUAL_SHAPES)
def test_the_usual_shapes_keep_the_fast_paths(x_shape, w_shape, pad, monkeypatch):
    called = []
    for name in ('_conv2d_by_rows', '_grad_w_by_rows', '_grads_by_rows', '_deconv2d_by_adding'):

        def spy(*args, _name=name, _kernel=getattr(conv_ops, name)):
            called.append(_name)
            return _kernel(*args)

        monkeypatch.setattr(conv_ops, name, spy)
    rng = np.random.default_rng(16)
    x, W = rng.normal(size=x_shape).astype(np.float32), rng.normal(size=w_shape).astype(np.float32)
    y = conv_ops.conv2d_array(x, W, None, (1, 1), pad)
    conv_ops.conv2d_grad_w_array(x, y, w_shape[2:], (1, 1), pad)
    stacked = conv_ops.stacks_kernel_rows(w_shape)
    assert called == ['_conv2d_by_rows', '_grad_w_by_rows'] * stacked
    called.clear()
    conv_ops.conv2d_grads_array(x, W, y, pad)
    assert called == ['_grads_by_rows']
    called.clear()
    conv_ops.deconv2d_array(y, W, None, (1, 1), pad, x_shape[2:])
    gathers = w_shape[0] <= w_shape[1]
    assert ('_deconv2d_by_adding' in called) == (not gathers)
    assert ('_conv2d_by_rows' in called) == (
        gathers and conv_ops.stacks_kernel_rows((w_shape[1], w_shape[0]) + w_shape[2:])
    )


def test_out_sizes_of_small_numpy_ints_do_not_wrap_round():
    # computed in uint8 / int8 they wrapped: 200 + 2 * 30 - 3 + 1 gave 2
    assert get_conv_outsize(np.uint8(200), 3, 1, np.uint8(30)) == 258
    assert get_conv_outsize(np.int8(100), np.int8(3), 1, np.int8(100)) == 298
    assert get_deconv_outsize(np.uint8(1), np.uint8(1), np.uint8(1), np.uint8(1)) == -1
    assert type(get_conv_outsize(np.int64(5), 3, 1, 0)) is int

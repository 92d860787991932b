"""Array helpers of convolution: pair, output sizes, im2col_array and col2im_array."""

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

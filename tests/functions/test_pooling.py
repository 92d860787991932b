"""pooling (max) and average_pooling: values against naive loops, gradients of first and
second order, ties, padding, dtypes and errors."""

import re
import weakref

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable, no_grad


# ---- naive references: explicit loops over every index -----------------------------------
def naive_pool(x, kernel, stride, pad, reduce, fill):
    n_, c_, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, pad
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n_, c_, oh, ow))
    for n in range(n_):
        for c in range(c_):
            for p in range(oh):
                for q in range(ow):
                    window = []
                    for i in range(kh):
                        for j in range(kw):
                            r, s = p * sh + i - ph, q * sw + j - pw
                            inside = 0 <= r < h and 0 <= s < w
                            window.append(x[n, c, r, s] if inside else fill)
                    y[n, c, p, q] = reduce(window)
    return y


def naive_max_pool(x, kernel, stride, pad):
    return naive_pool(x, kernel, stride, pad, max, -np.inf)


def naive_average_pool(x, kernel, stride, pad):
    return naive_pool(x, kernel, stride, pad, lambda v: sum(v) / len(v), 0.0)


def as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# (x shape, kernel, stride, pad): odd and non-square inputs and kernels, overlaps
CASES = [
    ((2, 3, 4, 4), 2, 2, 0),
    ((2, 2, 5, 5), 3, 2, 1),
    ((1, 2, 5, 7), (2, 3), (1, 2), (1, 0)),
    ((2, 1, 6, 5), 3, 1, 1),
    ((1, 2, 7, 6), (3, 2), 3, (2, 1)),
    ((1, 1, 3, 3), 3, 1, 0),
    ((2, 2, 5, 4), 1, 2, 0),
    ((2, 2, 5, 7), 2, 2, 0),  # windows tiling the image, a last row and column left out
    ((1, 2, 6, 6), (3, 2), (3, 2), 0),  # tiling it exactly
]


@pytest.mark.parametrize('shape, kernel, stride, pad', CASES)
def test_max_pooling_matches_naive_loops(shape, kernel, stride, pad, sample):
    x = sample(shape)
    args = (as_pair(kernel), as_pair(stride), as_pair(pad))
    y = F.pooling(x, kernel, stride, pad)
    np.testing.assert_array_equal(y.data, naive_max_pool(x, *args))
    with no_grad():  # the path that skips the argmax
        np.testing.assert_array_equal(F.pooling(x, kernel, stride, pad).data, y.data)


@pytest.mark.parametrize('shape, kernel, stride, pad', CASES)
def test_average_pooling_matches_naive_loops(shape, kernel, stride, pad, sample):
    x = sample(shape)
    args = (as_pair(kernel), as_pair(stride), as_pair(pad))
    y = F.average_pooling(x, kernel, stride, pad)
    np.testing.assert_allclose(y.data, naive_average_pool(x, *args), rtol=1e-12)


X = np.array([[[[1.0, 5.0, 2.0], [4.0, 3.0, 0.0], [7.0, 7.0, 9.0]]]])


def test_max_pooling_by_hand():
    y = F.pooling(X, 2, stride=1)
    np.testing.assert_array_equal(y.data, [[[[5.0, 5.0], [7.0, 9.0]]]])


def test_average_pooling_by_hand_counts_the_zero_padding():
    y = F.average_pooling(X, 2, stride=2, pad=1)
    # windows: {pad, pad, pad, 1}, {pad, pad, 5, 2}, {pad, 4, pad, 7}, {3, 0, 7, 9}
    np.testing.assert_array_equal(y.data, [[[[0.25, 1.75], [2.75, 4.75]]]])


def test_max_pooling_padding_never_wins():
    x = -1.0 - np.arange(9.0).reshape(1, 1, 3, 3)  # all negative: zeros would win
    y = F.pooling(x, 2, stride=2, pad=1)
    np.testing.assert_array_equal(y.data, [[[[-1.0, -2.0], [-4.0, -5.0]]]])
    xi = -1 - np.arange(9).reshape(1, 1, 3, 3)  # integers: no -inf, the minimum
    np.testing.assert_array_equal(F.pooling(xi, 2, stride=2, pad=1).data, y.data)


def test_max_pooling_gradient_goes_to_the_argmax_and_adds_up_over_overlaps():
    x = Variable(X)
    y = F.pooling(x, 2, stride=1)
    y.grad = Variable(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]))
    y.backward()
    # 5 wins the two top windows, the 7 at (2, 0) the bottom-left one (first of the
    # tie), 9 the last
    np.testing.assert_array_equal(
        x.grad.data, [[[[0.0, 11.0, 0.0], [0.0, 0.0, 0.0], [100.0, 0.0, 1000.0]]]]
    )


def test_max_pooling_tie_goes_to_the_first_position():
    x = Variable(np.full((1, 1, 2, 2), 3.0))
    F.pooling(x, 2, stride=2).backward()
    np.testing.assert_array_equal(x.grad.data, [[[[1.0, 0.0], [0.0, 0.0]]]])
    x = Variable(np.array([[[[0.0, 2.0], [2.0, 2.0]]]]))
    F.pooling(x, 2, stride=2).backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 1.0], [0.0, 0.0]]]])


@pytest.mark.parametrize('stride', [2, 1])
def test_max_pooling_sends_infinite_and_nan_gradients_to_the_argmax_only(stride):
    x = Variable(np.array([[[[1.0, 4.0, 0.0], [2.0, 3.0, 5.0], [0.0, 0.0, 0.0]]]]))
    y = F.pooling(x, 2, stride=stride)
    y.grad = Variable(np.full(y.shape, np.inf))
    y.grad.data.flat[0] = np.nan
    y.backward()
    expected = np.zeros((3, 3))
    if stride == 2:  # one window: 4 at (0, 1)
        expected[0, 1] = np.nan
    else:  # 4 wins the first window, 3 the bottom-left one, 5 the other two
        expected[0, 1], expected[1, 1], expected[1, 2] = np.nan, np.inf, np.inf
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)


def test_max_pooling_of_a_window_holding_nan_gives_nan_and_a_gradient():
    x = Variable(np.array([[[[1.0, np.nan, 0.0, 2.0], [2.0, 3.0, 1.0, 0.0]]]]))
    y = F.pooling(x, 2, stride=2)
    np.testing.assert_array_equal(y.data, [[[[np.nan, 2.0]]]])
    y.backward()
    # the NaN is the maximum of its window, so it gets the gradient, as in PyTorch
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]]])


@pytest.mark.parametrize('stride', [2, 1])
def test_max_pooling_routes_gradients_as_pytorch_does_with_ties_and_nan(stride):
    """Ties go to the first maximal element; a window holding NaN sends its gradient
    to its last NaN."""
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (2, 3, 6, 6)).astype(np.float64)  # many ties
    x[rng.random(x.shape) < 0.1] = np.nan
    v = Variable(x.copy())
    y = F.pooling(v, 2, stride=stride)
    gy = rng.normal(size=y.shape)
    y.grad = Variable(gy)
    y.backward()
    t = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(t, 2, stride=stride)
    ty.backward(torch.tensor(gy))
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    np.testing.assert_allclose(v.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_average_pooling_gradient_by_hand():
    x = Variable(np.zeros((1, 1, 3, 3)))
    F.average_pooling(x, 2, stride=1).backward()  # each window shares 1 / 4
    np.testing.assert_array_equal(
        x.grad.data, [[[[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]]]
    )


# ---- numerical gradients -----------------------------------------------------------------
GRAD_CASES = [
    ((1, 2, 4, 4), 2, 2, 0),
    ((2, 1, 5, 5), 3, 2, 1),
    ((1, 2, 4, 5), (2, 3), (1, 2), (1, 0)),
    ((1, 1, 5, 4), 3, 1, 1),
]


@pytest.mark.parametrize('shape, kernel, stride, pad', GRAD_CASES)
def test_max_pooling_gradients(shape, kernel, stride, pad, sample, check_grads):
    # distinct values: no ties, even after a ±eps probe
    check_grads(lambda x: F.pooling(x, kernel, stride, pad), sample(shape, 'distinct'))


@pytest.mark.parametrize('shape, kernel, stride, pad', GRAD_CASES)
def test_average_pooling_gradients(shape, kernel, stride, pad, sample, check_grads):
    check_grads(lambda x: F.average_pooling(x, kernel, stride, pad), sample(shape))


def test_max_pooling_second_order_through_the_scatter_and_gather():
    """y = sum(pool(x)**2) with the centre c winning all four windows: y = 4 c**2,
    dy/dc = 8c and d²y/dc² = 8; every other element gets nothing."""
    x = Variable(np.array([[[[0.0, 1.0, 0.5], [2.0, 9.0, 3.0], [0.1, 4.0, 0.2]]]]))
    F.sum(F.pooling(x, 2, stride=1) ** 2).backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 0, 0], [0, 72.0, 0], [0, 0, 0]])
    gx = x.grad
    x.cleargrad()
    F.sum(gx).backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 0, 0], [0, 8.0, 0], [0, 0, 0]])


@pytest.mark.parametrize('fn', [F.pooling, F.average_pooling])
def test_pooling_keeps_no_input_alive(fn):
    """Neither pooling reads x in backward, so the graph does not keep x's values: an
    input made by a function is freed once the caller lets go of it."""
    x = Variable(X.copy())
    h = x * 1.0
    kept = weakref.ref(h)
    y = fn(h, 2, stride=1)
    del h
    assert kept() is None
    y.backward()
    expected = Variable(X.copy())
    fn(expected, 2, stride=1).backward()
    np.testing.assert_array_equal(x.grad.data, expected.grad.data)


@pytest.mark.parametrize('fn, domain', [(F.pooling, 'distinct'), (F.average_pooling, 'real')])
def test_gradients_of_an_input_made_by_a_function(fn, domain, sample, check_grads):
    """To second order, through the scatter and gather (or spread and average) of
    inputs that the graph holds without their values."""
    check_grads(lambda x: fn(x * 1.0, 3, 2, 1), sample((1, 2, 5, 5), domain))


# ---- dtypes and errors -------------------------------------------------------------------
@pytest.mark.parametrize('fn', [F.pooling, F.average_pooling])
def test_keeps_float32(fn, sample, assert_keeps_float32):
    assert_keeps_float32(lambda x: fn(x, 3, 2, 1), sample((2, 2, 5, 5), 'distinct'))
    assert_keeps_float32(lambda x: fn(x, 2, 1), sample((1, 2, 4, 3), 'distinct'))


@pytest.mark.parametrize('fn', [F.pooling, F.average_pooling])
def test_second_order_keeps_float32(fn, sample):
    x = Variable(sample((1, 2, 4, 4), 'distinct', dtype=np.float32))
    F.sum(fn(x, 2, 1) ** 2).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    F.sum(gx * gx).backward()
    assert gx.dtype == np.float32 and x.grad.dtype == np.float32


def test_max_pooling_alias():
    assert F.max_pooling is F.pooling


@pytest.mark.parametrize(
    'fn, name', [(F.pooling, 'pooling'), (F.average_pooling, 'average_pooling')]
)
@pytest.mark.parametrize(
    'shape, kwargs, error, words',
    [
        (
            (2, 4, 4),
            {'kernel_size': 2},
            ValueError,
            r'expected a 4-D \(N, C, H, W\) input, got shape \(2, 4, 4\)',
        ),
        (
            (1, 1, 3, 3),
            {'kernel_size': 4},
            ValueError,
            r'kernel \(4, 4\) is larger than the padded input \(3, 3\)',
        ),
        (
            (1, 1, 3, 3),
            {'kernel_size': 2, 'stride': 0},
            ValueError,
            r'stride must be at least 1, got \(0, 0\)',
        ),
        ((1, 1, 3, 3), {'kernel_size': 2, 'pad': -1}, ValueError, 'pad must not be negative'),
        (
            (1, 1, 3, 3),
            {'kernel_size': 2.0},
            TypeError,
            'kernel_size must be an int or a pair of ints, got 2.0',
        ),
    ],
)
def test_bad_geometry_is_refused(fn, name, shape, kwargs, error, words):
    with pytest.raises(error, match=f'{name}: {words}'):
        fn(np.zeros(shape), **kwargs)


@pytest.mark.parametrize(
    'pool, name',
    [
        (F.pooling, 'pooling'),
        (F.average_pooling, 'average_pooling'),
        (lambda x, *args: F.Pooling(*args)(x), 'pooling'),
        (lambda x, *args: F.AveragePooling(*args)(x), 'average_pooling'),
    ],
)
def test_pooling_refuses_a_pad_as_large_as_the_kernel(pool, name):
    # a window of padding alone has no maximum, and its average would be a made-up 0
    with pytest.raises(
        ValueError,
        match=rf'{name}: pad \(1, 2\) must be smaller than the kernel \(2, 2\), else a '
        r'window may hold padding only',
    ):
        pool(np.ones((1, 1, 4, 4)), 2, 1, (1, 2))
    with pytest.raises(ValueError, match=rf'{name}: pad \(3, 3\) must be smaller'):
        pool(np.ones((1, 1, 4, 4)), 2, 1, 3)
    assert pool(np.ones((1, 1, 4, 4)), 2, 1, 1).shape == (1, 1, 5, 5)  # pad < kernel


@pytest.mark.parametrize(
    'x, args, expected',
    [
        # every real element is -inf: the padding, also -inf, must not win the tie
        (np.full((1, 1, 1, 1), -np.inf), (2, 1, 1), [[[[4.0]]]]),
        (np.array([[[[-np.inf, 1.0]]]]), ((1, 2), 1, (0, 1)), [[[[1.0, 2.0]]]]),
        (np.full((1, 1, 1, 2), np.iinfo(np.int64).min), (2, 1, 1), [[[[4.0, 2.0]]]]),
    ],
)
def test_max_pooling_gives_the_gradient_to_a_real_element_never_to_padding(x, args, expected):
    # the expected values are PyTorch's max_pool2d gradients
    v = Variable(x)
    F.sum(F.pooling(v, *args)).backward()
    np.testing.assert_array_equal(v.grad.data, expected)


def test_average_pooling_sums_without_overflowing_the_inputs_dtype():
    y = F.average_pooling(np.full((1, 1, 2, 2), 100, np.int8), 2)
    assert y.dtype == np.float64 and y.data.item() == 100.0
    y = F.average_pooling(np.full((1, 1, 2, 2), 60000, np.float16), 2)
    assert y.dtype == np.float16 and y.data.item() == 60000.0


# ---- empty axes: N and C may be 0, H and W may not ---------------------------------------
@pytest.mark.parametrize('fn', [F.pooling, F.average_pooling])
@pytest.mark.parametrize('shape', [(0, 2, 5, 5), (2, 0, 5, 5), (0, 0, 5, 5)])
@pytest.mark.parametrize('stride, pad', [(1, 0), (1, 1), (2, 0), (2, 1)])
def test_an_empty_batch_or_no_channels_give_empty_outputs_and_gradients(fn, shape, stride, pad):
    x = Variable(np.ones(shape))
    y = fn(x, 3, stride, pad)
    out = (5 + 2 * pad - 3) // stride + 1
    assert y.shape == shape[:2] + (out, out)
    F.sum(y * y).backward(create_graph=True)
    gx = x.grad
    assert gx.shape == shape and gx.dtype == np.float64
    x.cleargrad()
    F.sum(gx * gx).backward()
    assert x.grad.shape == shape


@pytest.mark.parametrize('fn', [F.pooling, F.average_pooling])
@pytest.mark.parametrize('shape', [(1, 1, 0, 2), (1, 1, 2, 0)])
def test_an_image_of_height_or_width_0_is_refused(fn, shape):
    """Padded, it would have windows of padding alone: -inf for max pooling."""
    name = 'pooling' if fn is F.pooling else 'average_pooling'
    with pytest.raises(
        ValueError,
        match=rf'^{name}: the input of shape {re.escape(str(shape))} has an image of height ',
    ):
        fn(np.ones(shape), 2, 1, 1)


def test_the_max_pooling_gradient_adds_integers_in_float64():
    """Every 3x3 window of the 4x4 image has its maximum at (1, 1): four windows send
    100 there, 400 in all, past int8."""
    from dezero.functions.pooling import Pooling, Pooling2DGrad

    pooling = Pooling(3, 1)
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = 1
    pooling(x)
    gx = Pooling2DGrad(pooling)(np.full((1, 1, 2, 2), 100, np.int8))
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 1, 1] = 400
    assert gx.dtype == np.float64
    np.testing.assert_array_equal(gx.data, expected)


@pytest.mark.parametrize(
    'cls, shape, arg, expected',
    [
        (F.Pooling2DGrad, (2, 3, 1, 1), 'gy', (2, 3, 2, 2)),
        (F.Pooling2DGrad, (2, 3, 2, 3), 'gy', (2, 3, 2, 2)),
        (F.Pooling2DGrad, (3, 2, 2, 2), 'gy', (2, 3, 2, 2)),
        (F.Pooling2DGrad, (2, 3, 2), 'gy', (2, 3, 2, 2)),
        (F.Pooling2DWithIndexes, (2, 3, 9, 9), 'x', (2, 3, 5, 5)),
        (F.Pooling2DWithIndexes, (2, 3, 4, 4), 'x', (2, 3, 5, 5)),
        (F.Pooling2DWithIndexes, (1, 3, 5, 5), 'x', (2, 3, 5, 5)),
    ],
)
def test_the_max_pooling_gradients_refuse_a_shape_their_pooling_does_not_imply(
    cls, shape, arg, expected
):
    """Pooling x (2, 3, 5, 5) by 2x2 windows every 2 pixels gives y (2, 3, 2, 2): the
    scatter takes a gy of y's shape, the gather an input of x's."""
    p = F.pooling(Variable(np.ones((2, 3, 5, 5))), 2, 2)
    with pytest.raises(
        ValueError,
        match=rf'^{cls.__name__}: {arg} of shape {re.escape(str(shape))} does not fit the '
        r'max pooling of an input of shape \(2, 3, 5, 5\) with kernel \(2, 2\), stride '
        rf'\(2, 2\) and pad \(0, 0\); expected {arg} of shape {re.escape(str(expected))}$',
    ):
        cls(p.creator)(np.ones(shape))
    assert cls(p.creator)(np.ones(expected)).shape == (
        (2, 3, 5, 5) if arg == 'gy' else (2, 3, 2, 2)
    )


def test_average_pooling_of_big_endian_float16_sums_in_float32():
    # '>f2' is float16 too: its window sums overflowed to inf in float16
    x = np.full((1, 1, 4, 4), 30000, dtype='>f2')
    y = F.average_pooling(x, 2, 2).data
    np.testing.assert_array_equal(y, np.full((1, 1, 2, 2), 30000, dtype=np.float16))


def test_the_gradient_functions_carry_the_attributes_the_books_set():
    # code written for the book reads them (AttributeError before)
    from dezero.functions_conv import AveragePooling, Pooling, Pooling2DGrad, Pooling2DWithIndexes

    x = Variable(np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32))
    pooling = Pooling(2, 2)
    pooling(x)
    grad = Pooling2DGrad(pooling)
    assert grad.mpool2d is pooling
    assert (grad.kernel_size, grad.stride, grad.pad) == (2, 2, 0)
    assert grad.input_shape == (1, 2, 5, 5) and grad.dtype == np.float32
    np.testing.assert_array_equal(grad.indexes, pooling.indexes)
    gather = Pooling2DWithIndexes(pooling)
    assert gather.input_shpae == gather.input_shape == (1, 2, 5, 5)  # the book's spelling
    assert (gather.kernel_size, gather.dtype) == (2, np.float32)
    average = AveragePooling(2, 2)
    average(x)
    assert average.input_shape == (1, 2, 5, 5)

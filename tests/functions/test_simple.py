"""The book's compositions (linear_simple, sigmoid_simple, softmax_simple,
mean_squared_error_simple, softmax_cross_entropy_simple, conv2d_simple, pooling_simple):
exact values on small inputs, the same values as the fused functions, graphs made of
the primitives, finite results at extreme inputs, float32 and errors.  Their gradients
of first and second order are checked by the registry."""

import math
import warnings

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.graph import functions_behind


def _kinds(y):
    """The names of the function classes in the graph behind ``y``."""
    return {type(f).__name__ for f in functions_behind(y)}


# ---- small cases by hand -------------------------------------------------------------------
def test_linear_simple_by_hand():
    x = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    np.testing.assert_array_equal(F.linear_simple(x, W).data, [[5.0, 2.0, 0.0]])
    y = F.linear_simple(x, W, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(y.data, [[6.0, 4.0, 3.0]])


def test_linear_simple_frees_the_product():
    x, W, b = Variable(np.array([[1.0, 2.0]])), Variable(np.ones((2, 3))), Variable(np.ones(3))
    y = F.linear_simple(x, W, b)
    (matmul,) = [f for f in functions_behind(y) if type(f).__name__ == 'MatMul']
    assert matmul.outputs[0]() is None  # nothing holds x @ W any more
    y.backward()
    np.testing.assert_array_equal(W.grad.data, [[1.0] * 3, [2.0] * 3])
    np.testing.assert_array_equal(b.grad.data, [1.0] * 3)


def test_sigmoid_simple_by_hand():
    y = F.sigmoid_simple(np.array([0.0, np.log(3.0)]))
    np.testing.assert_allclose(y.data, [0.5, 0.75], rtol=1e-15)


@pytest.mark.parametrize('shape, axis', [((0,), -1), ((2, 0), 1), ((0, 3), 1)])
def test_softmax_simple_of_an_empty_array_is_empty_as_softmax(shape, axis):
    # the shift by the maximum raised NumPy's error for a reduction of nothing
    x = Variable(np.zeros(shape))
    y = F.softmax_simple(x, axis=axis)
    assert y.shape == shape and y.shape == F.softmax(x, axis=axis).shape
    F.sum(y).backward()
    assert x.grad.shape == shape


def test_softmax_simple_by_hand():
    x = np.log(np.array([[1.0, 3.0], [2.0, 2.0]]))
    np.testing.assert_allclose(F.softmax_simple(x).data, [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(
        F.softmax_simple(x, axis=0).data, [[1 / 3, 0.6], [2 / 3, 0.4]], rtol=1e-15
    )


def test_mean_squared_error_simple_by_hand():
    y = F.mean_squared_error_simple(
        np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    )
    assert y.shape == () and float(y.data) == (4 + 9 + 16) / 2


def test_softmax_cross_entropy_simple_by_hand():
    x = np.log(np.array([[1.0, 3.0], [2.0, 2.0]]))
    y = F.softmax_cross_entropy_simple(x, np.array([1, 0]))
    np.testing.assert_allclose(y.data, -(np.log(0.75) + np.log(0.5)) / 2, rtol=1e-14)


def test_conv2d_simple_by_hand():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    W = np.array([[[[1.0, 0.0], [0.0, -1.0]]], [[[1.0, 1.0], [1.0, 1.0]]]])
    y = F.conv2d_simple(x, W, np.array([0.0, 1.0]))
    # x[i, j] - x[i + 1, j + 1] is always -4; the sum of each window plus 1
    np.testing.assert_array_equal(y.data, [[[[-4, -4], [-4, -4]], [[9, 13], [21, 25]]]])


def test_pooling_simple_by_hand():
    x = np.array(
        [
            [
                [
                    [1.0, 9.0, 2.0, 0.0],
                    [3.0, 4.0, 8.0, 7.0],
                    [5.0, 6.0, -1.0, -2.0],
                    [0.5, 0.0, -3.0, -4.0],
                ]
            ]
        ]
    )
    np.testing.assert_array_equal(F.pooling_simple(x, 2, 2).data, [[[[9.0, 8.0], [6.0, -1.0]]]])
    # the padding is zeros: it wins the bottom-right window, whose values are negative
    np.testing.assert_array_equal(
        F.pooling_simple(x, 2, 2, 1).data, [[[[1, 9, 0], [5, 8, 7], [0.5, 0, 0]]]]
    )
    np.testing.assert_array_equal(
        F.pooling(x, 2, 2, 1).data, [[[[1, 9, 0], [5, 8, 7], [0.5, 0, -4]]]]
    )


# ---- the same values as the fused functions, from the primitives -------------------------
def _conv_inputs(rng):
    return rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((4, 3, 3, 2))


COMPARISONS = {
    'linear': (
        lambda rng: (
            rng.standard_normal((4, 3)),
            rng.standard_normal((3, 2)),
            rng.standard_normal(2),
        ),
        F.linear_simple,
        F.linear,
        {'MatMul', 'Add'},
    ),
    'sigmoid': (
        lambda rng: (rng.standard_normal((3, 4)),),
        F.sigmoid_simple,
        F.sigmoid,
        {'Exp', 'DivFromConstant'},
    ),
    'softmax': (
        lambda rng: (rng.standard_normal((3, 4)),),
        F.softmax_simple,
        F.softmax,
        {'Exp', 'Sum', 'Div'},
    ),
    'mean_squared_error': (
        lambda rng: (rng.standard_normal((3, 2)), rng.standard_normal((3, 2))),
        F.mean_squared_error_simple,
        F.mean_squared_error,
        {'Sub', 'Pow', 'Sum'},
    ),
    'softmax_cross_entropy': (
        lambda rng: (rng.standard_normal((3, 4)),),
        lambda x: F.softmax_cross_entropy_simple(x, [3, 0, 1]),
        lambda x: F.softmax_cross_entropy(x, np.array([3, 0, 1])),
        {'Softmax', 'Clip', 'Log', 'GetItem', 'Sum'},
    ),
    'conv2d': (
        lambda rng: _conv_inputs(rng) + (rng.standard_normal(4),),
        lambda x, W, b: F.conv2d_simple(x, W, b, stride=(2, 1), pad=1),
        lambda x, W, b: F.conv2d(x, W, b, stride=(2, 1), pad=1),
        {'Im2col', 'Reshape', 'Transpose', 'Linear'},
    ),
    'pooling': (
        lambda rng: (rng.standard_normal((2, 3, 5, 4)),),
        lambda x: F.pooling_simple(x, (3, 2), stride=(1, 2)),
        lambda x: F.pooling(x, (3, 2), stride=(1, 2)),
        {'Im2col', 'Reshape', 'Max', 'Transpose'},
    ),
}


@pytest.mark.parametrize('name', COMPARISONS)
def test_same_values_and_gradients_as_the_fused_function(name):
    draw, simple, fused, pieces = COMPARISONS[name]
    inputs = draw(np.random.default_rng(0))
    results = []
    for f in (simple, fused):
        xs = [Variable(x.copy()) for x in inputs]
        y = f(*xs)
        y.backward()
        results.append((y, [x.grad.data for x in xs]))
    (y, grads), (y_fused, grads_fused) = results
    np.testing.assert_allclose(y.data, y_fused.data, rtol=1e-12, atol=1e-14)
    for g, g_fused in zip(grads, grads_fused):
        np.testing.assert_allclose(g, g_fused, rtol=1e-10, atol=1e-14)
    assert pieces <= _kinds(y), _kinds(y)


# ---- extreme inputs --------------------------------------------------------------------------
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_sigmoid_simple_is_finite_far_out(dtype):
    x = Variable(np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=dtype))
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no overflow warning either
        y = F.sigmoid_simple(x)
        F.sum(y).backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(y.data, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-37)
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 0.25, 0.0, 0.0], atol=1e-37)


def test_softmax_simple_and_cross_entropy_are_finite_for_large_logits():
    x = Variable(np.array([[1000.0, 0.0, -1000.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(F.softmax_simple(x).data, [[1, 0, 0], [1 / 3] * 3])
    loss = F.softmax_cross_entropy_simple(x, np.array([2, 0]))
    loss.backward()
    # the label's probability of row 0 underflows to 0 and is clipped to 1e-15
    np.testing.assert_allclose(loss.data, (-np.log(1e-15) - np.log(1 / 3)) / 2)
    assert np.all(np.isfinite(x.grad.data))


# ---- float32 and errors ---------------------------------------------------------------------
@pytest.mark.parametrize('name', COMPARISONS)
def test_keeps_float32(name, assert_keeps_float32):
    draw, simple, _, _ = COMPARISONS[name]
    assert_keeps_float32(simple, *draw(np.random.default_rng(1)))


@pytest.mark.parametrize(
    'call, error, words',
    [
        (
            lambda: F.softmax_simple(np.ones((2, 3)), axis=2),
            ValueError,
            r'softmax_simple: axis 2 is out of range',
        ),
        (
            lambda: F.mean_squared_error_simple(np.ones((3, 2)), np.ones(3)),
            ValueError,
            r'mean_squared_error_simple: x0 of shape \(3, 2\) and x1 of shape \(3,\) must have '
            r'the same shape or differ only in axes of size 1',
        ),
        (
            lambda: F.mean_squared_error_simple(np.array(1.0), np.array(2.0)),
            ValueError,
            r'mean_squared_error_simple: expected a non-empty batch',
        ),
        (
            lambda: F.softmax_cross_entropy_simple(np.ones(3), np.array([0])),
            ValueError,
            r'softmax_cross_entropy_simple: x must be 2-D logits',
        ),
        (
            lambda: F.softmax_cross_entropy_simple(np.ones((2, 3)), np.array([0.0, 1.0])),
            TypeError,
            r'softmax_cross_entropy_simple: t must hold integer class labels, got '
            r'dtype float64',
        ),
        (
            lambda: F.softmax_cross_entropy_simple(np.ones((2, 3)), np.array([0, 1, 2])),
            ValueError,
            r't has shape \(3,\), expected \(2,\) or \(2, 1\): one integer label per row of x',
        ),
        (
            lambda: F.softmax_cross_entropy_simple(np.ones((4, 3)), np.zeros((2, 2), int)),
            ValueError,
            r't has shape \(2, 2\), expected \(4,\) or \(4, 1\): one integer label per row of x',
        ),
        (
            lambda: F.softmax_cross_entropy_simple(np.ones((2, 3)), np.array([0, 3])),
            ValueError,
            r'label 3 is outside \[0, 3\)',
        ),
        (
            lambda: F.conv2d_simple(np.ones((1, 2, 4, 4)), np.ones((3, 1, 2, 2))),
            ValueError,
            r'conv2d_simple: x of shape \(1, 2, 4, 4\) has 2 channels but W of shape '
            r'\(3, 1, 2, 2\) expects 1',
        ),
        (
            lambda: F.conv2d_simple(np.ones((2, 4, 4)), np.ones((3, 2, 2, 2))),
            ValueError,
            r'conv2d_simple: x must be 4-D',
        ),
        (
            lambda: F.pooling_simple(np.ones((1, 1, 2, 2)), 3),
            ValueError,
            r'pooling_simple: kernel \(3, 3\) is larger than the padded input',
        ),
    ],
)
def test_bad_input_is_refused_with_the_function_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_labels_may_be_a_variable_or_a_column():
    x = np.random.default_rng(0).standard_normal((3, 4))
    expected = F.softmax_cross_entropy_simple(x, np.array([3, 0, 1])).data
    for t in (Variable(np.array([3, 0, 1])), np.array([[3], [0], [1]]), [3, 0, 1]):
        np.testing.assert_array_equal(F.softmax_cross_entropy_simple(x, t).data, expected)


def test_labels_in_a_row_are_refused_as_softmax_cross_entropy_refuses_them():
    # (1, N) says one row of labels, not one label per row
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r'softmax_cross_entropy_simple: t has shape \(1, 3\)'):
        F.softmax_cross_entropy_simple(x, np.array([[3, 0, 1]]))


def test_mean_squared_error_simple_reshapes_a_column_against_a_vector():
    # (N, 1) against (N,) compares element by element, as mean_squared_error does
    y = F.mean_squared_error_simple(np.array([[1.0], [2.0], [4.0]]), np.array([1.0, 0.0, 2.0]))
    assert float(y.data) == (0 + 4 + 4) / 3
    y = F.mean_squared_error_simple(np.array([1.0, 0.0, 2.0]), np.array([[1.0], [2.0], [4.0]]))
    assert float(y.data) == 8 / 3


def test_conv2d_simple_sums_integers_in_float64_as_conv2d_does():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (2, 8, 9, 9)).astype(np.int8)
    W = rng.integers(0, 4, (8, 8, 3, 3)).astype(np.int8)
    y = F.conv2d_simple(x, W, None, 1, 1)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, F.conv2d(x, W, None, 1, 1).data)
    assert y.data.max() > 127  # sums that int8 would have wrapped round


def test_conv2d_simple_takes_filters_with_no_output_channels():
    x = Variable(np.ones((1, 2, 5, 5)))
    W = Variable(np.ones((0, 2, 3, 3)))
    y = F.conv2d_simple(x, W, None, 1, 1)
    assert y.shape == (1, 0, 5, 5)
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((1, 2, 5, 5)))
    assert W.grad.shape == (0, 2, 3, 3)


@pytest.mark.parametrize('dtype', [np.uint8, np.int8, np.int64, np.bool_])
def test_sigmoid_and_softmax_simple_compute_integers_in_float64(dtype):
    # -x and x - max(x) wrap round in uint8: sigmoid_simple(3) was 1.3e-110
    x = np.array([[1, 0]], dtype)
    y = F.sigmoid_simple(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, F.sigmoid(x).data, rtol=1e-15)
    np.testing.assert_allclose(F.sigmoid_simple(np.array([3], np.uint8)).data, [0.9525741268224334])
    y = F.softmax_simple(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, F.softmax(x).data, rtol=1e-15)
    np.testing.assert_allclose(
        F.softmax_simple(np.array([[1, 2]], np.uint8)).data,
        [[0.2689414213699951, 0.7310585786300049]],
    )


def test_mean_squared_error_simple_takes_integer_differences_in_float64():
    # 0 - 1 in uint8 is 255
    x0, x1 = np.array([0, 2], np.uint8), np.array([1, 0], np.uint8)
    y = F.mean_squared_error_simple(x0, x1)
    assert y.dtype == np.float64 and y.data == 2.5 == F.mean_squared_error(x0, x1).data


# ---- float16, in either byte order ------------------------------------------------------------
FLOAT16_ORDERS = pytest.mark.parametrize('dtype', ['<f2', '>f2'])


def _is_float16(dtype):
    return dtype.kind == 'f' and dtype.itemsize == 2


@FLOAT16_ORDERS
def test_sigmoid_simple_float16_is_computed_in_float32(dtype):
    # float16's clip at floor(log(65504)) = 11 gave every x below -11 the sigmoid 1.67e-5
    xs = [-11.0, -12.0, -16.0, -20.0, 0.0, 3.0, 12.0]
    x = Variable(np.array(xs, dtype))
    y = F.sigmoid_simple(x)
    F.sum(y).backward()
    assert _is_float16(y.dtype) and y.dtype == x.grad.dtype == x.dtype
    true = [1 / (1 + math.exp(-v)) for v in xs]  # rounded once, to float16
    np.testing.assert_array_equal(y.data, np.array(true).astype(np.float16))
    np.testing.assert_array_equal(y.data[1:3], [np.float16(6.139e-6), np.float16(1.192e-7)])
    np.testing.assert_array_equal(
        x.grad.data, np.array([p * (1 - p) for p in true]).astype(np.float16)
    )


@pytest.mark.parametrize('dtype, limit', [(np.float32, 88), (np.float64, 709)])
def test_sigmoid_simple_float32_and_float64_clip_at_the_log_of_the_largest(dtype, limit):
    x = np.array([-1e4, -limit - 0.5, -limit + 0.5, -12.0, 0.0, 0.75, 40.0], dtype)
    one = dtype(1)
    expected = one / (one + np.exp(np.minimum(-x, dtype(limit))))
    y = F.sigmoid_simple(Variable(x))
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, expected)


@FLOAT16_ORDERS
def test_softmax_cross_entropy_simple_float16_clips_as_its_docstring_says(dtype):
    # 1e-15 is 0 in float16: the loss was inf and its gradient nan
    x = Variable(np.array([[-20.0, 0.0], [-200.0, 0.0]], dtype))
    loss = F.softmax_cross_entropy_simple(x, np.array([0, 0]))
    loss.backward()
    assert _is_float16(loss.dtype) and x.grad.dtype == x.dtype
    # row 0: -log(softmax) = 20.0; row 1: its probability underflows, clipped to 1e-15
    assert float(loss.data) == pytest.approx((20.0 - np.log(1e-15)) / 2, rel=1e-3)
    np.testing.assert_array_equal(x.grad.data, [[-0.5, 0.5], [0.0, 0.0]])


@FLOAT16_ORDERS
def test_simple_losses_of_more_rows_than_float16_counts(dtype):
    # len(x) = 70,000 does not fit float16: an OverflowError about an "operand" was raised
    n = 70_000
    x = Variable(np.full(n, 2.0, dtype))
    y = F.mean_squared_error_simple(x, np.zeros(n, dtype))
    y.backward()
    assert _is_float16(y.dtype) and x.grad.dtype == x.dtype
    assert float(y.data) == 4.0
    np.testing.assert_allclose(x.grad.data.astype(np.float64), 4.0 / n, rtol=1e-2)
    x = Variable(np.zeros((n, 2), dtype))
    y = F.softmax_cross_entropy_simple(x, np.zeros(n, np.int64))
    y.backward()
    assert _is_float16(y.dtype) and float(y.data) == pytest.approx(np.log(2.0), rel=1e-3)
    np.testing.assert_allclose(x.grad.data[0].astype(np.float64), [-0.5 / n, 0.5 / n], rtol=1e-2)


@FLOAT16_ORDERS
def test_mean_squared_error_simple_float16_squares_beyond_the_range(dtype):
    # 300² overflows float16, the mean 300² / 1000 does not (it was inf)
    x0 = np.zeros(1000, dtype)
    x0[0] = 300.0
    y = F.mean_squared_error_simple(x0, np.zeros(1000, dtype))
    assert float(y.data) == 90.0 == float(F.mean_squared_error(x0, np.zeros(1000, dtype)).data)


def test_softmax_simple_float16_sums_in_float32():
    # the sum of 100,000 terms of 1 overflows float16: every probability was 0
    x = Variable(np.zeros((1, 100_000), np.float16))
    y = F.softmax_simple(x)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.data, F.softmax(x).data)
    np.testing.assert_allclose(y.data.astype(np.float64), 1e-5, rtol=1e-2)

"""Losses: mean_squared_error softmax_cross_entropy sigmoid_cross_entropy
binary_cross_entropy."""

import re
import warnings

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.functions.loss import SoftmaxCrossEntropyGrad


def _loss_and_grad(f, x, *args):
    x = Variable(np.asarray(x))
    y = f(x, *args)
    y.backward()
    return y, x.grad.data


def _ref_log_softmax(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def _ref_bce(p, t):
    return -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)) / len(p)


# ---- mean squared error ----------------------------------------------------------------
def test_mse_value_and_gradients_by_hand():
    x0 = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    x1 = Variable(np.array([[0.0, 0.0], [1.0, 1.0]]))
    y = F.mean_squared_error(x0, x1)
    assert y.shape == () and y.data == (1 + 4 + 4 + 9) / 2  # divided by len = 2
    y.backward()
    np.testing.assert_array_equal(x0.grad.data, [[1.0, 2.0], [2.0, 3.0]])  # 2 d / 2
    np.testing.assert_array_equal(x1.grad.data, [[-1.0, -2.0], [-2.0, -3.0]])


def test_mse_computes_no_gradient_for_a_target_given_as_an_array():
    x0 = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = F.mean_squared_error(x0, np.zeros((2, 2)))
    calls = _spy_on_backward(y)
    y.backward()
    assert calls == [((True, False), None)]
    np.testing.assert_array_equal(x0.grad.data, [[1.0, 2.0], [3.0, 4.0]])


def test_mse_of_vectors_divides_by_length():
    assert F.mean_squared_error(np.array([1.0, 2.0, 3.0]), np.zeros(3)).data == 14 / 3


@pytest.mark.parametrize('shape', [(4,), (3, 2)])
def test_mse_gradients(shape, sample, check_grads):
    check_grads(F.mean_squared_error, sample(shape), sample(shape))


def test_mse_keeps_float32(sample, assert_keeps_float32):
    assert_keeps_float32(F.mean_squared_error, sample((3, 2)), sample((3, 2)))


@pytest.mark.parametrize(
    'shape0, shape1', [((3, 1), (3,)), ((3,), (3, 1)), ((1, 1), (1,)), ((1, 3), (3,))]
)
def test_mse_pairs_elements_of_shapes_that_differ_in_axes_of_size_one(shape0, shape1):
    x0 = Variable(np.array([1.0, 2.0, 3.0])[: np.prod(shape0)].reshape(shape0))
    x1 = Variable(np.array([0.0, 4.0, 1.0])[: np.prod(shape1)].reshape(shape1))
    y = F.mean_squared_error(x0, x1)
    n = len(x0 if x0.ndim >= x1.ndim else x1)  # the batch of the operand with more axes
    squares = np.array([1.0, 4.0, 4.0])[: x0.size]
    assert y.shape == () and y.data == squares.sum() / n
    y.backward()
    assert x0.grad.shape == shape0 and x1.grad.shape == shape1
    d = np.array([1.0, -2.0, 2.0])[: x0.size] * 2 / n
    np.testing.assert_array_equal(x0.grad.data.ravel(), d)
    np.testing.assert_array_equal(x1.grad.data.ravel(), -d)


def test_mse_of_a_row_against_a_vector_is_one_sample():
    # (1, 3) against (3,): the vector is reshaped to (1, 3), a batch of one
    y = F.mean_squared_error(np.array([[1.0, 2.0, 3.0]]), np.zeros(3))
    assert y.data == 14.0


def test_mse_keeps_float32_across_reshaped_shapes():
    y = F.mean_squared_error(Variable(np.ones((2, 1), np.float32)), np.zeros(2, np.float32))
    assert y.dtype == np.float32 and y.data == 1.0


@pytest.mark.parametrize(
    'shape0, shape1', [((3, 2), (2,)), ((2, 3), (3, 2)), ((3, 1), (2,)), ((2, 2), (4,))]
)
def test_mse_refuses_other_shape_differences(shape0, shape1):
    with pytest.raises(
        ValueError,
        match=rf'mean_squared_error: x0 of shape '
        rf'{re.escape(str(shape0))} and x1 of shape '
        rf'{re.escape(str(shape1))} must have the same '
        rf'shape or differ only in axes of size 1',
    ):
        F.mean_squared_error(np.zeros(shape0), np.zeros(shape1))


def test_mse_refuses_scalars():
    with pytest.raises(ValueError, match='mean_squared_error: expected a non-empty'):
        F.mean_squared_error(np.array(1.0), np.array(2.0))


def test_mean_squared_error_class_refuses_different_shapes():
    y = F.MeanSquaredError()(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    assert y.data == 2.0
    with pytest.raises(
        ValueError,
        match=r'MeanSquaredError: x0 of shape \(2, 1\) and x1 '
        r'of shape \(2,\) differ',
    ):
        F.MeanSquaredError()(np.zeros((2, 1)), np.zeros(2))


# ---- softmax cross entropy -------------------------------------------------------------
def test_softmax_cross_entropy_value_and_gradient_by_hand():
    x = np.array([[0.0, np.log(3.0)], [np.log(3.0), 0.0]])  # softmax rows .25 .75
    t = np.array([1, 1])
    y, gx = _loss_and_grad(F.softmax_cross_entropy, x, t)
    assert y.shape == ()
    assert y.data == pytest.approx((-np.log(0.75) - np.log(0.25)) / 2, rel=1e-14)
    np.testing.assert_allclose(gx, [[0.25 / 2, -0.25 / 2], [0.75 / 2, -0.75 / 2]], rtol=1e-14)


def test_softmax_cross_entropy_matches_reference(sample):
    x = sample((5, 4))
    t = np.array([0, 3, 1, 1, 2])
    y, gx = _loss_and_grad(F.softmax_cross_entropy, x, t)
    log_p = _ref_log_softmax(x)
    assert y.data == pytest.approx(-log_p[np.arange(5), t].mean(), rel=1e-13)
    onehot = np.eye(4)[t]
    np.testing.assert_allclose(gx, (np.exp(log_p) - onehot) / 5, rtol=1e-12)


def test_softmax_cross_entropy_accepts_variable_and_unsigned_labels():
    x = np.array([[0.0, 0.0]])
    for t in (Variable(np.array([0])), np.array([1], dtype=np.uint8)):
        assert F.softmax_cross_entropy(x, t).data == pytest.approx(np.log(2.0))


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_softmax_cross_entropy_is_stable_at_large_logits(dtype):
    x = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=dtype)
    with np.errstate(all='raise'):
        y, gx = _loss_and_grad(F.softmax_cross_entropy, x, np.array([0, 0]))
    assert y.data == 1000.0  # (0 + 2000) / 2
    np.testing.assert_array_equal(gx, [[0.0, 0.0], [-0.5, 0.5]])  # (p - onehot) / 2


def test_softmax_cross_entropy_gradients(sample, check_grads):
    t = np.array([2, 0, 1])
    check_grads(lambda x: F.softmax_cross_entropy(x, t), sample((3, 4)))


def test_softmax_cross_entropy_keeps_float32(sample, assert_keeps_float32):
    t = np.array([2, 0, 1], dtype=np.int32)
    assert_keeps_float32(lambda x: F.softmax_cross_entropy(x, t), sample((3, 4)))


@pytest.mark.parametrize(
    't',
    [
        np.array([[2], [0], [1]]),
        np.array([[[2]], [[0]], [[1]]]),
        Variable(np.array([[2], [0], [1]], np.int32)),
    ],
)
def test_softmax_cross_entropy_accepts_labels_of_shape_n_by_one(sample, t):
    x = sample((3, 4))
    y, gx = _loss_and_grad(F.softmax_cross_entropy, x, t)
    y_flat, gx_flat = _loss_and_grad(F.softmax_cross_entropy, x, np.array([2, 0, 1]))
    assert y.data == y_flat.data
    np.testing.assert_array_equal(gx, gx_flat)


def test_softmax_cross_entropy_class_takes_the_labels_as_second_argument(sample):
    x = sample((3, 4))
    t = np.array([2, 0, 1])
    y, gx = _loss_and_grad(lambda v, t: F.SoftmaxCrossEntropy()(v, t), x, t)
    y_ref, gx_ref = _loss_and_grad(F.softmax_cross_entropy, x, t)
    assert y.data == y_ref.data
    np.testing.assert_array_equal(gx, gx_ref)


def test_softmax_cross_entropy_object_called_twice_keeps_each_calls_labels():
    f = F.SoftmaxCrossEntropy()
    x = Variable(np.array([[0.0, np.log(3.0)]]))
    y0, y1 = f(x, np.array([0])), f(x, np.array([1]))
    assert y0.data == pytest.approx(np.log(4.0)) and y1.data == pytest.approx(np.log(4 / 3))
    y0.backward()
    np.testing.assert_allclose(x.grad.data, [[0.25 - 1, 0.75]])
    x.cleargrad()
    y1.backward()
    np.testing.assert_allclose(x.grad.data, [[0.25, 0.75 - 1]])


def test_softmax_cross_entropy_second_derivative_by_hand():
    # the Hessian of each row's loss is (diag(p) - p pᵀ) / N
    x = Variable(np.array([[0.0, np.log(3.0)], [np.log(3.0), 0.0]]))
    v = np.array([[1.0, 2.0], [3.0, -1.0]])
    F.softmax_cross_entropy(x, np.array([1, 0])).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    F.sum(gx * v).backward()
    p = np.array([[0.25, 0.75], [0.75, 0.25]])
    expected = [(np.diag(row) - np.outer(row, row)) @ vi / 2 for row, vi in zip(p, v)]
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-14)


def test_softmax_cross_entropy_grad_values_by_hand():
    p = np.array([[0.25, 0.75], [0.5, 0.5]])
    gx = SoftmaxCrossEntropyGrad(np.array([1, 0]))(p, np.array(4.0))
    np.testing.assert_array_equal(gx.data, [[0.5, -0.5], [-1.0, 1.0]])  # (p - onehot) * 4 / 2


def test_softmax_cross_entropy_grad_derivatives_in_both_inputs(sample, check_grads):
    t = np.array([2, 0, 1])
    check_grads(lambda p, gy: SoftmaxCrossEntropyGrad(t)(p, gy), sample((3, 4)), sample(()))


def test_softmax_cross_entropy_grad_keeps_float32(sample, assert_keeps_float32):
    t = np.array([2, 0, 1])
    assert_keeps_float32(
        lambda p, gy: SoftmaxCrossEntropyGrad(t)(p, gy), sample((3, 4)), sample(())
    )


@pytest.mark.parametrize(
    'x, t, message',
    [
        (np.zeros((2, 3)), np.array([0.0, 1.0]), 'integer class labels, got dtype float64'),
        (np.zeros((2, 3)), np.array([[0, 1], [1, 0]]), r'expected \(2,\) or \(2, 1\)'),
        (np.zeros((2, 3)), np.array([[0, 1]]), r't has shape \(1, 2\), expected \(2,\) or'),
        (np.zeros((2, 3)), np.array([0, 1, 2]), r't has shape \(3,\)'),
        (np.zeros((2, 3)), np.array([0, 3]), r'label 3 is outside \[0, 3\)'),
        (np.zeros((2, 3)), np.array([-1, 0]), r'label -1 is outside \[0, 3\)'),
        (Variable(np.zeros((2, 3), np.float32)), np.array([0, 7], np.uint8), r'label 7 is'),
        (np.zeros((2, 3)), np.array([[0], [3]]), r'label 3 is outside \[0, 3\)'),
        (np.zeros((2, 3)), np.array([-4, 0]), r'label -4 is outside \[0, 3\)'),
        (np.zeros(3), np.array([0]), r'x must be 2-D logits \(N, C\), got shape \(3,\)'),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), 'non-empty batch'),
    ],
)
def test_softmax_cross_entropy_refuses_bad_labels(x, t, message):
    with pytest.raises(ValueError, match='^softmax_cross_entropy: .*' + message):
        F.softmax_cross_entropy(x, t)


# ---- sigmoid cross entropy -------------------------------------------------------------
def test_sigmoid_cross_entropy_value_and_gradient_by_hand():
    # sigmoid(log 3) = 0.75
    x = np.array([[0.0, np.log(3.0)], [np.log(3.0), 0.0]])
    t = np.array([[1, 1], [0, 0]])
    y, gx = _loss_and_grad(F.sigmoid_cross_entropy, x, t)
    expected = -(np.log(0.5) + np.log(0.75) + np.log(0.25) + np.log(0.5)) / 2
    assert y.shape == () and y.data == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(gx, [[-0.25, -0.125], [0.375, 0.25]], rtol=1e-14)


def test_sigmoid_cross_entropy_matches_reference_with_soft_targets(sample):
    x = sample((4, 3))
    t = sample((4, 3), 'narrow') * 0.5 + 0.5  # targets in [0, 1]
    y, gx = _loss_and_grad(F.sigmoid_cross_entropy, x, t)
    p = 1 / (1 + np.exp(-x))
    assert y.data == pytest.approx(_ref_bce(p, t), rel=1e-13)
    np.testing.assert_allclose(gx, (p - t) / 4, rtol=1e-12)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_sigmoid_cross_entropy_is_stable_at_large_logits(dtype):
    x = np.array([[1000.0, -1000.0, 1000.0]], dtype=dtype)
    with np.errstate(all='raise'):
        y, gx = _loss_and_grad(F.sigmoid_cross_entropy, x, np.array([[0, 0, 1]]))
    assert y.data == 1000.0  # only the first one is wrong
    np.testing.assert_array_equal(gx, [[1.0, 0.0, 0.0]])


def test_sigmoid_cross_entropy_gradients(sample, check_grads):
    t = np.array([[1, 0, 1], [0, 0, 1]])
    check_grads(lambda x: F.sigmoid_cross_entropy(x, t), sample((2, 3)))


def test_sigmoid_cross_entropy_keeps_float32(sample, assert_keeps_float32):
    t = np.array([[1, 0, 1], [0, 0, 1]])  # integer targets do not upcast
    assert_keeps_float32(lambda x: F.sigmoid_cross_entropy(x, t), sample((2, 3)))


def test_sigmoid_cross_entropy_of_a_column_against_a_vector_of_labels():
    x = np.array([[0.0], [np.log(3.0)]])
    y, gx = _loss_and_grad(F.sigmoid_cross_entropy, x, np.array([1, 0]))
    assert y.data == pytest.approx(-(np.log(0.5) + np.log(0.25)) / 2, rel=1e-14)
    np.testing.assert_allclose(gx, [[-0.25], [0.375]], rtol=1e-14)  # (p - t) / 2


def test_sigmoid_cross_entropy_refuses_bad_targets():
    with pytest.raises(
        ValueError,
        match=r'sigmoid_cross_entropy: x of shape \(2, 3\) and '
        r't of shape \(2, 1\)',
    ):
        F.sigmoid_cross_entropy(np.zeros((2, 3)), np.zeros((2, 1)))
    with pytest.raises(
        ValueError,
        match=r'sigmoid_cross_entropy: targets t must lie in '
        r'\[0, 1\], got values from -1',
    ):
        F.sigmoid_cross_entropy(np.zeros(2), np.array([-1, 1]))
    with pytest.raises(TypeError, match='sigmoid_cross_entropy: x must hold floating'):
        F.sigmoid_cross_entropy(np.array([1, 0]), np.array([1, 0]))


# ---- binary cross entropy --------------------------------------------------------------
def test_binary_cross_entropy_value_and_gradient_by_hand():
    p = np.array([[0.25, 0.75], [0.5, 0.5]])
    t = np.array([[0.0, 1.0], [1.0, 0.0]])
    y, gp = _loss_and_grad(F.binary_cross_entropy, p, t)
    expected = -(2 * np.log(0.75) + 2 * np.log(0.5)) / 2
    assert y.shape == () and y.data == pytest.approx(expected, rel=1e-14)
    # (p - t) / (p (1 - p)) / N
    np.testing.assert_allclose(gp, [[1 / 0.75 / 2, -1 / 0.75 / 2], [-1.0, 1.0]], rtol=1e-14)


def test_binary_cross_entropy_of_sigmoid_equals_sigmoid_cross_entropy(sample):
    x, t = sample((3, 4), 'narrow'), (sample((3, 4)) > 0).astype(np.float64)
    a = F.binary_cross_entropy(F.sigmoid(x), t).data
    assert a == pytest.approx(F.sigmoid_cross_entropy(x, t).data, rel=1e-12)


@pytest.mark.parametrize('dtype, eps', [(np.float64, 1e-15), (np.float32, 1e-7)])
def test_binary_cross_entropy_is_finite_at_zero_and_one(dtype, eps):
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    with np.errstate(all='raise'):
        y, gp = _loss_and_grad(F.binary_cross_entropy, p, t)
    assert y.dtype == dtype
    # two confident mistakes cost -log(eps) each; the right answers almost nothing
    assert float(y.data) == pytest.approx(-2 * np.log(eps) / 4, rel=1e-2)
    np.testing.assert_array_equal(gp, np.zeros(4))  # clipped: no gradient


def test_binary_cross_entropy_recorded_gradient_is_zero_where_p_was_clipped():
    p = Variable(np.array([0.0, 0.25, 1.0, 0.5]))
    t = np.array([1.0, 0.0, 0.0, 1.0])
    F.binary_cross_entropy(p, t).backward(create_graph=True)
    gp = p.grad
    np.testing.assert_allclose(gp.data, [0.0, 1 / 0.75 / 4, 0.0, -2.0 / 4], rtol=1e-14)
    p.cleargrad()
    F.sum(gp).backward()
    # d/dp of (p - t) / (p (1 - p)) / N: (p² - 2 p t + t) / (p (1 - p))² / N, 0 if clipped
    second = [
        (q * q - 2 * q * u + u) / (q * (1 - q)) ** 2 / 4 for q, u in ((0.25, 0.0), (0.5, 1.0))
    ]
    np.testing.assert_allclose(p.grad.data, [0.0, second[0], 0.0, second[1]], rtol=1e-12)


def test_binary_cross_entropy_gradients(sample, check_grads):
    p = sample((2, 3), 'narrow') * 0.4 + 0.5  # in [0.1, 0.9]
    t = np.array([[1.0, 0.0, 0.3], [0.0, 1.0, 1.0]])
    check_grads(lambda p: F.binary_cross_entropy(p, t), p)


def test_binary_cross_entropy_keeps_float32(sample, assert_keeps_float32):
    p = sample((2, 3), 'narrow') * 0.4 + 0.5
    assert_keeps_float32(lambda p: F.binary_cross_entropy(p, np.ones((2, 3))), p)


def test_binary_cross_entropy_of_a_column_against_integer_labels_keeps_float32():
    # a discriminator's (N, 1) output against labels np.ones(N).astype(int)
    p = Variable(np.array([[0.25], [0.5]], np.float32))
    y = F.binary_cross_entropy(p, np.array([1, 0]))
    assert y.dtype == np.float32
    assert y.data == pytest.approx(-(np.log(0.25) + np.log(0.5)) / 2, rel=1e-6)
    y.backward()
    assert p.grad.dtype == np.float32 and p.grad.shape == (2, 1)
    np.testing.assert_allclose(p.grad.data, [[-2.0], [1.0]], rtol=1e-6)  # (p - t)/(p(1-p))/2


def test_binary_cross_entropy_refuses_bad_input():
    with pytest.raises(
        ValueError,
        match=r'binary_cross_entropy: p of shape \(2,\) and t '
        r'of shape \(3,\)',
    ):
        F.binary_cross_entropy(np.full(2, 0.5), np.ones(3))
    with pytest.raises(ValueError, match='binary_cross_entropy: targets t must lie'):
        F.binary_cross_entropy(np.full(2, 0.5), np.array([0.0, 2.0]))
    with pytest.raises(TypeError, match='binary_cross_entropy: p must hold floating'):
        F.binary_cross_entropy(np.array([0, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match='binary_cross_entropy: eps'):
        F.binary_cross_entropy(np.full(2, 0.5), np.ones(2), eps=0.0)


# ---- float16: losses summed in float32 ----------------------------------------------------
# The sum of 70,000 float16 losses exceeds float16's largest value, 65504, though their
# mean does not.  Each test runs on float16 in both byte orders: big-endian float16 (read
# from a file) is not np.float16, and was computed in float16.
N16 = 70_000
FLOAT16_ORDERS = pytest.mark.parametrize('dtype', ['<f2', '>f2'])


def _float16_loss_and_grad(f, x, *args, dtype=np.float16):
    x = Variable(np.asarray(x, dtype))
    y = f(x, *args)
    y.backward()
    assert y.dtype.kind == 'f' and y.dtype.itemsize == 2 and x.grad.dtype == x.dtype
    return float(y.data), x.grad.data.astype(np.float64)


@FLOAT16_ORDERS
def test_float16_mean_squared_error_of_many_values(dtype):
    y, gx = _float16_loss_and_grad(
        F.mean_squared_error, np.full(N16, 2.0), np.zeros(N16, dtype), dtype=dtype
    )
    assert y == 4.0
    np.testing.assert_allclose(gx, 4.0 / N16, rtol=1e-2)  # 2 * 2 / N, near float16's least


@FLOAT16_ORDERS
def test_float16_mean_squared_error_squares_beyond_the_range(dtype):
    # 300² overflows float16, 300² / 1000 does not
    x0 = np.zeros(1000)
    x0[0] = 300.0
    y, gx = _float16_loss_and_grad(F.mean_squared_error, x0, np.zeros(1000, dtype), dtype=dtype)
    assert y == 90.0
    assert gx[0] == pytest.approx(0.6, rel=1e-3) and not gx[1:].any()


@FLOAT16_ORDERS
def test_float16_softmax_cross_entropy_of_many_rows(dtype):
    y, gx = _float16_loss_and_grad(
        F.softmax_cross_entropy, np.zeros((N16, 10)), np.zeros(N16, np.int64), dtype=dtype
    )
    assert y == pytest.approx(np.log(10.0), rel=1e-3)
    np.testing.assert_allclose(gx[0], [-0.9 / N16] + [0.1 / N16] * 9, rtol=1e-2)


@FLOAT16_ORDERS
def test_float16_softmax_cross_entropy_of_many_classes(dtype):
    # the softmax's row sum, 100,000, exceeds float16's range; log(100,000) does not
    y, gx = _float16_loss_and_grad(
        F.softmax_cross_entropy, np.zeros((2, 100_000)), np.array([0, 1]), dtype=dtype
    )
    assert y == pytest.approx(np.log(100_000), rel=1e-3)
    np.testing.assert_allclose(gx[0, 1:], 1e-5 / 2, rtol=1e-2)


@FLOAT16_ORDERS
def test_float16_sigmoid_cross_entropy_of_many_values(dtype):
    y, gx = _float16_loss_and_grad(
        F.sigmoid_cross_entropy, np.full(N16, -3.0), np.ones(N16), dtype=dtype
    )
    assert y == pytest.approx(np.log1p(np.exp(3.0)), rel=1e-3)


@FLOAT16_ORDERS
def test_float16_binary_cross_entropy_of_many_values(dtype):
    y, gx = _float16_loss_and_grad(
        F.binary_cross_entropy, np.full(N16, 0.1), np.ones(N16), dtype=dtype
    )
    assert y == pytest.approx(-np.log(0.1), rel=1e-3)


# ---- empty batches --------------------------------------------------------------------------
@pytest.mark.parametrize('shape', [(0,), (0, 3)])
def test_mean_squared_error_of_an_empty_batch_is_nan(shape):
    x0 = Variable(np.zeros(shape, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        y = F.mean_squared_error(x0, np.zeros(shape, np.float32))
        y.backward()
    assert y.dtype == np.float32 and np.isnan(y.data)
    assert x0.grad.shape == shape and x0.grad.dtype == np.float32


@pytest.mark.parametrize('dtype', [np.int64, np.int8, np.uint8])
def test_softmax_cross_entropy_takes_integer_logits_in_float64_as_the_book_does(dtype):
    x = Variable(np.array([[1, 0, 100], [0, 1, 3]], dtype=dtype))
    x64 = Variable(x.data.astype(np.float64))
    loss, loss64 = F.softmax_cross_entropy(x, [2, 0]), F.softmax_cross_entropy(x64, [2, 0])
    assert loss.dtype == np.float64 and loss.data == loss64.data
    loss.backward()
    loss64.backward()
    np.testing.assert_array_equal(x.grad.data, x64.grad.data)


def test_softmax_cross_entropy_refuses_bool_logits():
    x = Variable(np.array([[1, 0], [0, 1]], dtype=np.bool_))
    with pytest.raises(TypeError, match='softmax_cross_entropy: x must hold floating-point logits'):
        F.softmax_cross_entropy(x, np.array([0, 1]))


@pytest.mark.parametrize('p', [[[1.5], [0.5]], [[-0.5], [0.5]], [[np.nan], [0.5]]])
def test_binary_cross_entropy_refuses_values_that_are_not_probabilities(p):
    with pytest.raises(
        ValueError, match=r'binary_cross_entropy: p must hold probabilities in \[0, 1\]'
    ):
        F.binary_cross_entropy(Variable(np.array(p)), np.array([[1.0], [0.0]]))


def test_a_float64_target_keeps_a_float32_mean_squared_error_float32():
    x = Variable(np.ones((4, 3), np.float32))
    loss = F.mean_squared_error(x * 2, np.zeros((4, 3)))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    loss = F.mean_squared_error(np.zeros((4, 3)), x)  # the target first
    assert loss.dtype == np.float32


# ---- integer targets, targets changed after the call -------------------------------------
@pytest.mark.parametrize('target', [np.array([1, 2]), np.array([True, False])], ids=['int', 'bool'])
def test_an_integer_or_bool_target_keeps_a_float32_mean_squared_error_float32(target):
    x = Variable(np.array([0.5, 1.0], np.float32))
    for loss in (F.mean_squared_error(x, target), F.mean_squared_error(target, x)):
        assert loss.dtype == np.float32
        assert loss.data == pytest.approx(np.sum((x.data - target) ** 2) / 2)
        x.cleargrad()
        loss.backward()
        assert x.grad.dtype == np.float32


def _change(t):
    t[...] = t[::-1].copy()  # in place: the targets in the opposite order


@pytest.mark.parametrize(
    'f, x, t',
    [
        (F.softmax_cross_entropy, [[0.0, 1.0], [2.0, 0.5]], [0, 1]),
        (F.softmax_cross_entropy, [[0.0, 1.0], [2.0, 0.5]], [[0], [1]]),
        (F.sigmoid_cross_entropy, [0.5, -1.0], [0.0, 1.0]),
        (F.sigmoid_cross_entropy, [0.5, -1.0], [0, 1]),
        (F.binary_cross_entropy, [0.25, 0.5], [0.0, 1.0]),
        (F.mean_squared_error, [0.25, 0.5], [0.0, 1.0]),
        (F.mean_squared_error, [0.25, 0.5], [0, 1]),
        (lambda x, t: F.mean_squared_error(t, x), [0.25, 0.5], [0.0, 1.0]),
    ],
    ids=[
        'softmax',
        'softmax-column',
        'sigmoid',
        'sigmoid-int',
        'binary',
        'mse',
        'mse-int',
        'mse-target-first',
    ],
)
def test_targets_changed_in_place_after_the_call_do_not_change_the_gradient(f, x, t):
    expected = _loss_and_grad(f, x, np.array(t))[1]
    v, t = Variable(np.array(x)), np.array(t)
    loss = f(v, t)
    _change(t)
    loss.backward()
    np.testing.assert_array_equal(v.grad.data, expected)
    # and in a recorded backward
    v.cleargrad()
    loss = f(v, t)
    _change(t)
    loss.backward(create_graph=True)
    np.testing.assert_array_equal(v.grad.data, _loss_and_grad(f, x, t[::-1].copy())[1])


# ---- non-finite values ----------------------------------------------------------------------
@pytest.mark.parametrize('dtype', [np.float64, np.float32, np.float16])
@pytest.mark.parametrize(
    'x, t, loss, grad',
    [
        (np.inf, 0.0, np.inf, 1.0),
        (-np.inf, 0.0, 0.0, 0.0),
        (np.inf, 1.0, 0.0, 0.0),
        (-np.inf, 1.0, np.inf, -1.0),
        (np.inf, 0.5, np.inf, 0.5),
        (-np.inf, 0.5, np.inf, -0.5),
    ],
)
def test_sigmoid_cross_entropy_of_infinite_logits_is_exact(x, t, loss, grad, dtype):
    v = Variable(np.array([x], dtype))
    with np.errstate(all='raise'):
        y = F.sigmoid_cross_entropy(v, np.array([t]))
        y.backward()
    assert y.dtype == dtype and y.data == loss
    assert v.grad.data[0] == grad


def test_sigmoid_cross_entropy_with_one_infinite_logit_among_finite_ones():
    x = np.array([[np.inf, 0.0], [np.log(3.0), -np.inf]])
    t = np.array([[1, 1], [0, 0]])
    y, gx = _loss_and_grad(F.sigmoid_cross_entropy, x, t)
    assert y.data == pytest.approx((np.log(2.0) + np.log(4.0)) / 2, rel=1e-14)
    np.testing.assert_allclose(gx, [[0.0, -0.25], [0.375, 0.0]], rtol=1e-14)


def test_sigmoid_cross_entropy_soft_target_gradients(sample, check_grads):
    t = np.array([[1.0, 0.0, 0.3], [0.0, 0.7, 1.0]])
    check_grads(lambda x: F.sigmoid_cross_entropy(x, t), sample((2, 3)))


@pytest.mark.parametrize(
    'f, x', [(F.sigmoid_cross_entropy, [0.5, 0.5]), (F.binary_cross_entropy, [0.5, 0.5])]
)
def test_nan_targets_are_refused(f, x):
    name = f.__name__
    for t in ([np.nan, 1.0], [0.0, np.nan], [np.nan, np.nan]):
        with pytest.raises(ValueError, match=rf'^{name}: targets t must lie in \[0, 1\]'):
            f(np.array(x), np.array(t))


# ---- no classes -------------------------------------------------------------------------------
@pytest.mark.parametrize('t', [np.array([0, 0]), np.array([], int).reshape(2, 0)])
def test_softmax_cross_entropy_refuses_logits_with_no_classes(t):
    with pytest.raises(
        ValueError, match=r'^softmax_cross_entropy: x of shape \(2, 0\) has no classes'
    ):
        F.softmax_cross_entropy(Variable(np.zeros((2, 0), np.float32)), t)


# ---- a batch whose sum overflows, whose mean does not -----------------------------------------
@pytest.mark.parametrize('dtype, big', [(np.float32, 3e38), (np.float64, 1.7e308)])
def test_a_batch_mean_within_range_is_kept_where_the_sum_overflows(dtype, big):
    # the sum 2 * 3e38 overflows float32, and the loss was inf (PyTorch's is inf too)
    x = Variable(np.full((2, 1), big, dtype))
    with np.errstate(over='ignore'):  # NumPy's warning of the first sum
        y = F.sigmoid_cross_entropy(x, np.zeros((2, 1), np.int64))
    assert y.dtype == dtype and float(y.data) == float(dtype(big))
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[0.5], [0.5]])  # sigmoid(x) / 2
    x = Variable(np.array([[big, -big], [big, np.inf]], dtype))
    with np.errstate(over='ignore'):  # an infinite loss stays infinite
        y = F.sigmoid_cross_entropy(x, np.zeros((2, 2), np.int64))
    assert float(y.data) == np.inf


@pytest.mark.parametrize('dtype, eps', [(np.float16, 1e-8), (np.float32, 1e-46)])
def test_binary_cross_entropy_refuses_an_eps_its_dtype_makes_0_before_the_forward(dtype, eps):
    # the forward clipped with eps made 0 quietly, then the backward's clip refused it
    p = Variable(np.array([0.2, 0.7], dtype))
    with pytest.raises(OverflowError, match=r'binary_cross_entropy: the number .* too small'):
        F.binary_cross_entropy(p, np.array([0.0, 1.0], dtype), eps=eps)


# ---- targets given as Variables are differentiated -------------------------------------------
def _spy_on_backward(y):
    """The (needs_input_grad, target gradient) of each backward call of y's creator."""
    node, calls = y.creator, []
    backward = node.backward

    def spy(gy, *, needs_input_grad):
        grads = backward(gy, needs_input_grad=needs_input_grad)
        calls.append((needs_input_grad, grads[1]))
        return grads

    node.backward = spy
    return calls


def test_sigmoid_cross_entropy_differentiates_a_target_made_by_a_function():
    z = Variable(np.array([0.0, np.log(3.0)]))  # sigmoid: 0.5, 0.75
    x = np.array([2.0, -1.0])
    F.sigmoid_cross_entropy(x, F.sigmoid(z)).backward()
    # d/dt = -x / N, times sigmoid'(z) = 0.25, 0.1875
    np.testing.assert_allclose(z.grad.data, [-2.0 / 2 * 0.25, 1.0 / 2 * 0.1875], rtol=1e-15)


def test_sigmoid_cross_entropy_gradient_of_a_variable_target_by_hand():
    x = Variable(np.array([[0.0, np.log(3.0)], [np.log(3.0), -2.0]]))
    t = Variable(np.array([[0.5, 1.0], [0.0, 0.25]]))
    y = F.sigmoid_cross_entropy(x, t)
    y.backward()
    np.testing.assert_array_equal(t.grad.data, -x.data / 2)
    p = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(x.grad.data, (p - t.data) / 2, rtol=1e-14)


@pytest.mark.parametrize('shape', [(4,), (2, 3)])
def test_sigmoid_cross_entropy_gradients_in_both_inputs(shape, sample, check_grads):
    t = sample(shape, 'narrow') * 0.4 + 0.5  # in [0.1, 0.9]
    check_grads(F.sigmoid_cross_entropy, sample(shape), t)


def test_sigmoid_cross_entropy_of_a_column_against_a_variable_vector_of_targets():
    x = Variable(np.array([[1.0], [-3.0]]))
    t = Variable(np.array([0.25, 1.0]))
    F.sigmoid_cross_entropy(x, t).backward()
    assert t.grad.shape == (2,)
    np.testing.assert_array_equal(t.grad.data, [-0.5, 1.5])  # -x / 2


def test_binary_cross_entropy_differentiates_a_target_made_by_a_function():
    z = Variable(np.array([0.0, np.log(3.0)]))  # sigmoid: 0.5, 0.75
    p = np.array([0.25, 0.5])
    F.binary_cross_entropy(p, F.sigmoid(z)).backward()
    # d/dt = (log(1 - p) - log(p)) / N, times sigmoid'(z) = 0.25, 0.1875
    expected = [np.log(3.0) / 2 * 0.25, 0.0]
    np.testing.assert_allclose(z.grad.data, expected, rtol=1e-15, atol=1e-300)


def test_binary_cross_entropy_gradient_of_a_variable_target_clips_as_the_forward():
    p = Variable(np.array([0.25, 0.0, 1.0, 0.5]))
    t = Variable(np.array([0.5, 1.0, 0.0, 0.0]))
    y = F.binary_cross_entropy(p, t)
    y.backward()
    low, high = 1e-15, 1 - 1e-15  # the clip bounds (1 - high is 1e-15 rounded)
    logit = [np.log(0.25 / 0.75), np.log(low / (1 - low)), np.log(high / (1 - high)), 0.0]
    np.testing.assert_allclose(t.grad.data, -np.array(logit) / 4, rtol=1e-14)
    np.testing.assert_allclose(
        p.grad.data, [(0.25 - 0.5) / 0.1875 / 4, 0.0, 0.0, 0.5 / 0.25 / 4], rtol=1e-14
    )


def test_binary_cross_entropy_gradients_in_both_inputs(sample, check_grads):
    p = sample((2, 3), 'narrow') * 0.4 + 0.5  # in [0.1, 0.9]
    t = sample((2, 3), 'narrow') * 0.4 + 0.5
    check_grads(F.binary_cross_entropy, p, t)


def test_the_mixed_second_derivative_of_each_loss_by_hand():
    # d/dt of the gradient to x: -1 / N (sigmoid), -1 / (p (1 - p)) / N (binary)
    for f, x, expected in (
        (F.sigmoid_cross_entropy, [0.5, -1.0], [-0.5, -0.5]),
        (F.binary_cross_entropy, [0.25, 0.5], [-1 / 0.1875 / 2, -2.0]),
    ):
        x, t = Variable(np.array(x)), Variable(np.array([0.0, 1.0]))
        f(x, t).backward(create_graph=True)
        gx = x.grad
        t.cleargrad()
        F.sum(gx).backward()
        np.testing.assert_allclose(t.grad.data, expected, rtol=1e-14)


@pytest.mark.parametrize('f', [F.sigmoid_cross_entropy, F.binary_cross_entropy])
def test_a_target_given_as_an_array_gets_no_gradient_work(f):
    x = Variable(np.array([0.25, 0.5]))
    for create_graph in (False, True):
        y = f(x, np.array([0.0, 1.0]))
        calls = _spy_on_backward(y)
        y.backward(create_graph=create_graph)
        assert calls == [((True, False), None)]


@pytest.mark.parametrize('f', [F.sigmoid_cross_entropy, F.binary_cross_entropy])
def test_a_variable_target_keeps_float32(f, sample, assert_keeps_float32):
    p = sample((2, 3), 'narrow') * 0.4 + 0.5
    assert_keeps_float32(f, p, p[::-1].copy())


@pytest.mark.parametrize('f', [F.sigmoid_cross_entropy, F.binary_cross_entropy])
@pytest.mark.parametrize('dtype', [np.float16, np.float64])
def test_a_variable_target_of_another_dtype_is_taken_in_x_dtype(f, dtype):
    # as an array target is: the loss has the prediction's dtype, each gradient its input's
    x = Variable(np.array([0.25, 0.5], np.float32))
    t = Variable(np.array([0.0, 0.5], dtype))
    y = f(x, t)
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32 and t.grad.dtype == dtype
    expected = {
        F.sigmoid_cross_entropy: [-0.125, -0.25],
        F.binary_cross_entropy: [np.log(3.0) / 2, 0],
    }
    np.testing.assert_allclose(t.grad.data, expected[f], rtol=1e-3, atol=1e-7)


@FLOAT16_ORDERS
@pytest.mark.parametrize('f', [F.sigmoid_cross_entropy, F.binary_cross_entropy])
def test_float16_variable_targets_of_many_values(f, dtype):
    x = Variable(np.full(N16, 0.25, dtype))
    t = Variable(np.full(N16, 0.5, dtype))
    y = f(x, t)
    y.backward()
    assert y.dtype.itemsize == 2 and t.grad.dtype == t.dtype
    expected = -0.25 if f is F.sigmoid_cross_entropy else np.log(3.0)
    np.testing.assert_allclose(t.grad.data.astype(np.float64), expected / N16, rtol=1e-2)


@pytest.mark.parametrize('f', [F.sigmoid_cross_entropy, F.binary_cross_entropy])
def test_a_variable_target_outside_0_1_is_refused(f):
    with pytest.raises(ValueError, match=rf'^{f.__name__}: targets t must lie in \[0, 1\]'):
        f(np.array([0.5, 0.5]), Variable(np.array([0.5, 1.5])))


@pytest.mark.parametrize('f', [F.sigmoid_cross_entropy, F.binary_cross_entropy])
def test_a_variable_target_holding_no_data_is_refused(f):
    with pytest.raises(ValueError, match=rf'^{f.__name__}: input 1 is None'):
        f(np.array([0.5, 0.5]), Variable(None))


# ---- binary cross entropy: eps ----------------------------------------------------------------
@pytest.mark.parametrize('eps', ['a', '1e-7', [1e-7], np.array([1e-7])])
def test_binary_cross_entropy_refuses_an_eps_that_is_not_a_number(eps):
    with pytest.raises(
        TypeError, match=r'^binary_cross_entropy: eps must be a number in \(0, 0.5\), got '
    ):
        F.binary_cross_entropy(np.full(2, 0.5), np.ones(2), eps=eps)


@pytest.mark.parametrize('eps', [1e-3, np.float32(1e-3), np.float64(1e-3)])
def test_binary_cross_entropy_takes_eps_as_any_real_number(eps):
    y = F.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 1.0]), eps=eps)
    assert y.data == pytest.approx(-(np.log(1e-3) + np.log1p(-1e-3)) / 2, rel=1e-6)


# ---- mean squared error: a result independent of the order of the arguments ------------------
@pytest.mark.parametrize(
    'shape0, shape1', [((1, 3), (3, 1)), ((1, 2, 1), (2, 1, 1)), ((1, 1, 4), (4, 1, 1))]
)
def test_mse_refuses_shapes_of_as_many_axes_with_different_batch_sizes(shape0, shape1):
    # (1, 3) is one sample of three values, (3, 1) three samples of one: the loss was
    # 3.0 one way round and 1.0 the other
    a = np.arange(np.prod(shape0), dtype=float).reshape(shape0)
    b = np.zeros(shape1)
    for x0, x1 in ((a, b), (b, a)):
        with pytest.raises(
            ValueError,
            match=rf'^mean_squared_error: x0 of shape {re.escape(str(x0.shape))} and x1 of '
            rf'shape {re.escape(str(x1.shape))} have as many axes but different batch sizes',
        ):
            F.mean_squared_error(Variable(x0), x1)


@pytest.mark.parametrize(
    'shape0, shape1',
    [((3,), (3,)), ((3, 1), (3,)), ((1, 3), (3,)), ((1, 1), (1,)), ((2, 1, 3), (2, 3, 1))],
)
def test_mse_does_not_depend_on_the_order_of_its_arguments(shape0, shape1):
    a = np.array([1.0, 2.0, 3.0, -1.0, 0.5, 4.0])[: np.prod(shape0)].reshape(shape0)
    b = np.array([0.0, 4.0, 1.0, 2.0, 2.0, 1.0])[: np.prod(shape1)].reshape(shape1)
    assert F.mean_squared_error(a, b).data == F.mean_squared_error(b, a).data


def test_mse_of_the_books_shapes():
    # the book's steps 42-46 compare (100, 1) with (100, 1); step 59 (1, 1) with (1,)
    y, t = np.random.default_rng(0).random((2, 100, 1))
    assert F.mean_squared_error(y, t).data == pytest.approx(np.sum((y - t) ** 2) / 100)
    assert F.mean_squared_error(np.array([[2.0]]), np.array([0.5])).data == 2.25

"""batch_norm: batch statistics in training, running statistics in test mode; and
layer_norm: statistics of each row (the last axis), against PyTorch."""

import re
import warnings

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Variable
from dezero.functions.normalization import LayerNorm
from float16_units import float16_ulps

EPS = 2e-5


def _reference(x, gamma, beta, mean, var, eps=EPS):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return gamma.reshape(shape) * (x - mean.reshape(shape)) / np.sqrt(
        var.reshape(shape) + eps
    ) + beta.reshape(shape)


# ---- values ------------------------------------------------------------------------------
def test_training_output_and_running_statistics_by_hand():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])  # batch means [2, 4], biased vars [1, 4]
    gamma, beta = np.array([1.0, 2.0]), np.array([0.0, 1.0])
    mean, var = np.zeros(2), np.ones(2)
    y = F.batch_norm(x, gamma, beta, mean, var)
    np.testing.assert_allclose(
        y.data,
        [
            [-1 / np.sqrt(1 + EPS), 2 * -2 / np.sqrt(4 + EPS) + 1],
            [1 / np.sqrt(1 + EPS), 2 * 2 / np.sqrt(4 + EPS) + 1],
        ],
        rtol=1e-14,
    )
    # unbiased variances (m = 2): [2, 8]
    np.testing.assert_allclose(mean, [0.2, 0.4], rtol=1e-14)
    np.testing.assert_allclose(var, [0.9 + 0.2, 0.9 + 0.8], rtol=1e-14)

    F.batch_norm(np.array([[0.0, 0.0], [2.0, 2.0]]), gamma, beta, mean, var)
    # batch means [1, 1], unbiased variances [2, 2]
    np.testing.assert_allclose(mean, [0.9 * 0.2 + 0.1, 0.9 * 0.4 + 0.1], rtol=1e-14)
    np.testing.assert_allclose(var, [0.9 * 1.1 + 0.2, 0.9 * 1.7 + 0.2], rtol=1e-14)


def test_decay_and_eps_are_used():
    mean, var = np.zeros(1), np.zeros(1)
    y = F.batch_norm(
        np.array([[0.0], [2.0]]), np.ones(1), np.zeros(1), mean, var, decay=0.5, eps=1.0
    )
    np.testing.assert_allclose(y.data, [[-1 / np.sqrt(2)], [1 / np.sqrt(2)]], rtol=1e-14)
    np.testing.assert_allclose(mean, [0.5], rtol=1e-14)
    np.testing.assert_allclose(var, [1.0], rtol=1e-14)  # 0.5 * 2 (unbiased)


def test_four_dimensional_statistics_are_per_channel_over_n_h_w(sample):
    x = sample((2, 3, 2, 2))
    gamma, beta = sample((3,)), sample((3,))
    mean, var = np.zeros(3), np.zeros(3)
    y = F.batch_norm(x, gamma, beta, mean, var, decay=0.0)
    batch_mean = x.mean(axis=(0, 2, 3))
    batch_var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(
        y.data, _reference(x, gamma, beta, batch_mean, batch_var), rtol=1e-12
    )
    np.testing.assert_allclose(mean, batch_mean, rtol=1e-13)
    np.testing.assert_allclose(var, batch_var * 8 / 7, rtol=1e-13)  # m = 2 * 2 * 2


@pytest.mark.parametrize('shape', [(1, 2), (1, 2, 1, 1)])
def test_one_value_per_channel_in_training_gives_beta_with_a_warning(shape):
    # as in the book (and Chainer): its batch statistics normalise every value to 0
    mean, var = np.zeros(2), np.ones(2)
    x = np.arange(2.0).reshape(shape) + 3
    beta = np.array([0.5, -0.5])
    pattern = r'batch_norm: one value per channel when training \(x of shape '
    with pytest.warns(RuntimeWarning, match=pattern + re.escape(str(shape))):
        y = F.batch_norm(x, np.ones(2), beta, mean, var)
    np.testing.assert_array_equal(y.data, beta.reshape((1, 2) + (1,) * (len(shape) - 2)))
    with dezero.test_mode():  # the running statistics serve a batch of one
        y = F.batch_norm(x, np.ones(2), np.zeros(2), mean, var)
    assert np.all(y.data != 0)


def test_two_values_per_channel_are_enough():
    mean, var = np.zeros(2), np.ones(2)
    y = F.batch_norm(np.array([[[[3.0, 5.0]], [[4.0, 4.0]]]]), np.ones(2), np.zeros(2), mean, var)
    np.testing.assert_allclose(y.data[0, 0, 0], [-1 / np.sqrt(1 + EPS), 1 / np.sqrt(1 + EPS)])
    np.testing.assert_allclose(var, [0.9 + 0.1 * 2, 0.9], rtol=1e-14)  # unbiased, m = 2


@pytest.mark.parametrize('shape', [(4, 3), (2, 3, 2, 2)])
def test_test_mode_uses_the_running_statistics_unchanged(shape, sample):
    x = sample(shape)
    gamma, beta = sample((3,)), sample((3,))
    mean, var = sample((3,)), sample((3,), 'positive')
    saved = mean.copy(), var.copy()
    with dezero.test_mode():
        y = F.batch_norm(x, gamma, beta, mean, var)
    np.testing.assert_allclose(y.data, _reference(x, gamma, beta, mean, var), rtol=1e-13)
    np.testing.assert_array_equal(mean, saved[0])
    np.testing.assert_array_equal(var, saved[1])


def test_statistics_may_be_given_as_variables():
    mean, var = Variable(np.zeros(2)), Variable(np.ones(2))
    F.batch_norm(np.array([[1.0, 2.0], [3.0, 6.0]]), np.ones(2), np.zeros(2), mean, var)
    np.testing.assert_allclose(mean.data, [0.2, 0.4], rtol=1e-14)


# ---- gradients ---------------------------------------------------------------------------
@pytest.mark.parametrize('train', [True, False], ids=['train', 'test'])
@pytest.mark.parametrize('shape', [(5, 3), (2, 3, 2, 2)])
def test_gradients_first_and_second_order(shape, train, sample, check_grads):
    mean, var = sample((3,)), sample((3,), 'positive')

    def f(x, gamma, beta):
        return F.batch_norm(x, gamma, beta, mean, var)

    with dezero.using_config('train', train):
        check_grads(f, sample(shape), sample((3,)), sample((3,)))


def test_training_gradient_by_hand():
    # each channel of y sums to N * beta whatever x is, so sum(y) has no x gradient;
    # and xhat sums to 0 per channel, so neither has gamma
    x = Variable(np.array([[1.0, 2.0], [3.0, 6.0], [2.0, -1.0]]))
    gamma, beta = Variable(np.array([1.5, 2.0])), Variable(np.array([0.0, 1.0]))
    y = F.batch_norm(x, gamma, beta, np.zeros(2), np.ones(2))
    y.backward()
    np.testing.assert_allclose(x.grad.data, np.zeros((3, 2)), atol=1e-14)
    np.testing.assert_allclose(gamma.grad.data, [0.0, 0.0], atol=1e-14)  # sum of xhat
    np.testing.assert_array_equal(beta.grad.data, [3.0, 3.0])


def test_test_mode_gradient_by_hand():
    x = Variable(np.array([[1.0, 2.0], [3.0, 6.0]]))
    gamma, beta = Variable(np.array([1.5, 2.0])), Variable(np.array([0.0, 1.0]))
    mean, var = np.array([1.0, 2.0]), np.array([4.0, 1.0])
    with dezero.test_mode():
        y = F.batch_norm(x, gamma, beta, mean, var, eps=1e-300)
    y.backward()
    np.testing.assert_allclose(x.grad.data, [[0.75, 2.0], [0.75, 2.0]], rtol=1e-14)
    np.testing.assert_allclose(gamma.grad.data, [0.0 + 1.0, 0.0 + 4.0], rtol=1e-14)
    np.testing.assert_array_equal(beta.grad.data, [2.0, 2.0])


@pytest.mark.parametrize('train', [True, False], ids=['train', 'test'])
def test_backward_leaves_the_running_statistics_alone(train, sample):
    """Backward reads the statistics of its own forward: neither the first-order pass
    nor a recorded one updates the running statistics again."""
    mean, var = np.zeros(3), np.ones(3)
    x = Variable(sample((4, 3)))
    with dezero.using_config('train', train):
        y = F.batch_norm(x, np.ones(3), np.zeros(3), mean, var)
    saved = mean.copy(), var.copy()
    F.sum(y * y).backward()
    F.sum(y * y).backward(create_graph=True)
    np.testing.assert_array_equal(mean, saved[0])
    np.testing.assert_array_equal(var, saved[1])


@pytest.mark.parametrize('train', [True, False], ids=['train', 'test'])
def test_a_constant_input_gets_no_gradient_but_gamma_and_beta_do(train, sample):
    x = sample((4, 3))
    gamma, beta = Variable(sample((3,))), Variable(sample((3,)))
    with dezero.using_config('train', train):
        y = F.batch_norm(x, gamma, beta, np.zeros(3), np.ones(3))
    node = y.creator
    calls = []
    backward = node.backward

    def spy(gy, *, needs_input_grad):
        grads = backward(gy, needs_input_grad=needs_input_grad)
        calls.append((needs_input_grad, grads[0]))
        return grads

    node.backward = spy
    F.sum(y * y).backward()
    assert calls == [((False, True, True), None)]
    x2 = Variable(x)
    gamma2, beta2 = Variable(gamma.data), Variable(beta.data)
    with dezero.using_config('train', train):
        y2 = F.batch_norm(x2, gamma2, beta2, np.zeros(3), np.ones(3))
    F.sum(y2 * y2).backward()
    np.testing.assert_array_equal(gamma.grad.data, gamma2.grad.data)
    np.testing.assert_array_equal(beta.grad.data, beta2.grad.data)


def test_second_derivative_in_test_mode_is_zero_for_x():
    # in test mode y is affine in x, so the gradient of x does not depend on x
    x = Variable(np.array([[1.0, 2.0], [3.0, 6.0]]))
    gamma = Variable(np.array([1.5, 2.0]))
    with dezero.test_mode():
        y = F.batch_norm(x, gamma, np.zeros(2), np.zeros(2), np.full(2, 4.0), eps=1e-300)
    F.sum(y).backward(create_graph=True)
    gx = x.grad
    np.testing.assert_allclose(gx.data, [[0.75, 1.0], [0.75, 1.0]], rtol=1e-14)
    x.cleargrad()
    gamma.cleargrad()
    F.sum(gx).backward()
    assert x.grad is None or not np.any(x.grad.data)
    np.testing.assert_allclose(gamma.grad.data, [1.0, 1.0], rtol=1e-14)  # 2 rows / std 2


@pytest.mark.parametrize('train', [True, False], ids=['train', 'test'])
@pytest.mark.parametrize('shape', [(5, 3), (2, 3, 2, 2)])
def test_keeps_float32(shape, train, sample, assert_keeps_float32):
    mean = np.zeros(3, dtype=np.float32)
    var = np.ones(3, dtype=np.float32)

    def f(x, gamma, beta):
        return F.batch_norm(x, gamma, beta, mean, var)

    with dezero.using_config('train', train):
        assert_keeps_float32(f, sample(shape), sample((3,)), sample((3,)))
        # and the recorded (second-order) backward too
        x = Variable(sample(shape, dtype=np.float32))
        y = f(x, np.ones(3, np.float32), np.zeros(3, np.float32))
        (y * y).sum().backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        (gx * gx).sum().backward()
        assert gx.dtype == np.float32 and x.grad.dtype == np.float32
    assert mean.dtype == np.float32 and var.dtype == np.float32


# ---- float16: statistics in float32 ----------------------------------------------------------
def test_float16_batch_statistics_of_large_values():
    # squares of deviations beyond 256 overflow float16: the statistics are computed
    # in float32, and the result is float16
    rng = np.random.default_rng(0)
    x = Variable((rng.standard_normal((64, 3)) * 1000 + 500).astype(np.float16))
    gamma, beta = Variable(np.ones(3, np.float16)), Variable(np.zeros(3, np.float16))
    mean, var = np.zeros(3, np.float32), np.zeros(3, np.float32)
    y = F.batch_norm(x, gamma, beta, mean, var, decay=0.0)
    assert y.dtype == np.float16
    x64 = x.data.astype(np.float64)
    expected = (x64 - x64.mean(axis=0)) / np.sqrt(x64.var(axis=0) + EPS)
    np.testing.assert_allclose(y.data, expected, atol=1e-2)
    np.testing.assert_allclose(var, x64.var(axis=0, ddof=1), rtol=1e-3)
    y.backward()
    for p in (x, gamma, beta):
        assert p.grad.dtype == np.float16


def test_float16_gradients_over_a_big_batch():
    # beta's gradient sums 10,000 rows, in float32 (float16 stops growing at 2048)
    x = Variable(np.tile(np.array([[-1.0], [1.0]], np.float16), (5000, 2)))
    gamma, beta = Variable(np.ones(2, np.float16)), Variable(np.zeros(2, np.float16))
    y = F.batch_norm(x, gamma, beta, np.zeros(2, np.float16), np.ones(2, np.float16))
    y.backward()
    assert beta.grad.dtype == np.float16
    np.testing.assert_array_equal(beta.grad.data, [10_000.0] * 2)


# ---- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'x_shape, gamma_shape, stat_shape, message',
    [
        (
            (2, 3, 4),
            (3,),
            (3,),
            r'x must be 2-D \(N, C\) or 4-D \(N, C, H, W\), got shape '
            r'\(2, 3, 4\)',
        ),
        ((3,), (3,), (3,), r'x must be 2-D'),
        ((2, 3), (2,), (3,), r'gamma has shape \(2,\), expected \(3,\)'),
        ((2, 3, 4, 4), (1, 3), (3,), r'gamma has shape \(1, 3\), expected \(3,\)'),
        ((2, 3), (3,), (4,), r'mean has shape \(4,\), expected \(3,\)'),
        ((0, 3), (3,), (3,), r'cannot compute batch statistics of an empty batch'),
    ],
)
def test_bad_shapes_are_refused(x_shape, gamma_shape, stat_shape, message):
    with pytest.raises(ValueError, match='batch_norm: ' + message):
        F.batch_norm(
            np.zeros(x_shape), np.ones(gamma_shape), np.zeros(3), np.zeros(stat_shape), np.ones(3)
        )


def test_bad_arguments_are_refused():
    x, g, b = np.zeros((2, 3)), np.ones(3), np.zeros(3)
    with pytest.raises(ValueError, match=r'batch_norm: beta has shape \(2,\)'):
        F.batch_norm(x, g, np.zeros(2), np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match='batch_norm: var must be a float array'):
        F.batch_norm(x, g, b, np.zeros(3), [1.0, 1.0, 1.0])
    with pytest.raises(TypeError, match='batch_norm: mean must be a float array'):
        F.batch_norm(x, g, b, np.zeros(3, dtype=int), np.ones(3))
    with pytest.raises(ValueError, match=r'batch_norm: decay must be in \[0, 1\]'):
        F.batch_norm(x, g, b, np.zeros(3), np.ones(3), decay=1.5)
    with pytest.raises(ValueError, match='batch_norm: eps must be positive'):
        F.batch_norm(x, g, b, np.zeros(3), np.ones(3), eps=0.0)


@pytest.mark.parametrize(
    'decay, eps, error, words',
    [
        (float('nan'), 2e-5, ValueError, r'decay must be in \[0, 1\], got nan'),
        (5, 2e-5, ValueError, r'decay must be in \[0, 1\], got 5\.0'),
        (0.9, -1, ValueError, r'eps must be positive and finite, got -1\.0'),
        (0.9, float('inf'), ValueError, r'eps must be positive and finite, got inf'),
        (0.9, 'small', TypeError, r"eps must be a real number, got 'small'"),
    ],
)
def test_the_batch_norm_class_checks_decay_and_eps_as_batch_norm_does(decay, eps, error, words):
    # BatchNorm(mean, var, nan, eps) wrote nan into the caller's running mean
    x, g, b = np.array([[1.0, 2.0, 3.0], [3.0, 6.0, 7.0]]), np.ones(3), np.zeros(3)
    mean, var = np.zeros(3), np.ones(3)
    with pytest.raises(error, match='BatchNorm: ' + words):
        F.BatchNorm(mean, var, decay, eps)(x, g, b)
    with pytest.raises(error, match='batch_norm: ' + words):
        F.batch_norm(x, g, b, mean, var, decay, eps)
    np.testing.assert_array_equal(mean, np.zeros(3))


def test_the_batch_norm_class_checks_shapes_and_statistics_as_batch_norm_does():
    x, g, b = np.zeros((2, 3)), np.ones(3), np.zeros(3)
    with pytest.raises(TypeError, match='BatchNorm: mean must be a float array'):
        F.BatchNorm(np.zeros(3, int), np.ones(3), 0.9, 2e-5)
    with pytest.raises(ValueError, match=r'BatchNorm: var has shape \(4,\), expected \(3,\)'):
        F.BatchNorm(np.zeros(3), np.ones(4), 0.9, 2e-5)(x, g, b)
    with pytest.raises(ValueError, match=r'BatchNorm: gamma has shape \(2,\), expected \(3,\)'):
        F.BatchNorm(np.zeros(3), np.ones(3), 0.9, 2e-5)(x, np.ones(2), b)
    with pytest.raises(ValueError, match=r'BatchNorm: x must be 2-D \(N, C\) or 4-D'):
        F.BatchNorm(np.zeros(3), np.ones(3), 0.9, 2e-5)(np.zeros((2, 3, 4)), g, b)


def test_the_books_spelling_batch_nrom_is_batch_norm():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    stats = [(np.zeros(2), np.ones(2)) for _ in range(2)]
    y1 = F.batch_norm(x, np.ones(2), np.zeros(2), *stats[0], decay=0.5, eps=1e-3)
    y2 = F.batch_nrom(x, np.ones(2), np.zeros(2), *stats[1], 0.5, 1e-3)
    np.testing.assert_array_equal(y1.data, y2.data)
    for a, b in zip(*stats):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(stats[1][0], [1.0, 2.0])


# ---- layer_norm ------------------------------------------------------------------------
def _layer_norm_reference(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def test_layer_norm_by_hand():
    # the row [1, 2, 3]: mean 2, biased variance 2/3, so xhat = [-1, 0, 1] sqrt(3/2)
    x = Variable(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 4.0]]))
    gamma = Variable(np.array([1.0, 2.0, -1.0]))
    beta = Variable(np.array([0.5, 0.0, 0.0]))
    y = F.layer_norm(x, gamma, beta, eps=0.0)
    r = np.sqrt(1.5)
    # the row [0, 0, 4]: mean 4/3, variance 32/9, xhat = [-1, -1, 2] / sqrt(2)
    np.testing.assert_allclose(
        y.data, [[0.5 - r, 0.0, -r], [0.5 - 1 / np.sqrt(2), -np.sqrt(2), -np.sqrt(2)]], rtol=1e-15
    )
    y.grad = Variable(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    y.backward()
    # g = gamma * gy = [1, 0, 0]; (g - mean(g) - xhat mean(g xhat)) / std
    # = ([1, 0, 0] - 1/3 + [-1/2, 0, 1/2]) sqrt(3/2) = [1/6, -1/3, 1/6] sqrt(3/2)
    np.testing.assert_allclose(x.grad.data, [[r / 6, -r / 3, r / 6], [0.0, 0.0, 0.0]], atol=1e-15)
    np.testing.assert_allclose(gamma.grad.data, [-r, 0.0, 0.0], rtol=1e-15)  # sum(gy xhat)
    np.testing.assert_allclose(beta.grad.data, [1.0, 0.0, 0.0])  # sum(gy)


def test_layer_norm_of_two_values_is_their_sign_and_has_no_gradient_in_x():
    # (x - mean) / std of two values is ±1, whatever they are
    x = Variable(np.array([[3.0, 7.0], [-1.0, -5.0]]))
    gamma, beta = Variable(np.array([2.0, 3.0])), Variable(np.array([0.0, 1.0]))
    y = F.layer_norm(x, gamma, beta, eps=0.0)
    np.testing.assert_allclose(y.data, [[-2.0, 4.0], [2.0, -2.0]], rtol=1e-15)
    (y * np.array([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_allclose(x.grad.data, 0.0, atol=1e-15)
    np.testing.assert_allclose(gamma.grad.data, [-1.0 + 3.0, 2.0 - 4.0])
    np.testing.assert_allclose(beta.grad.data, [4.0, 6.0])


@pytest.mark.parametrize('shape', [(5,), (3, 4), (2, 3, 5)])
def test_layer_norm_matches_the_formula_and_is_the_same_in_test_mode(shape, sample):
    x, gamma, beta = sample(shape), sample(shape[-1:]), sample(shape[-1:])
    expected = _layer_norm_reference(x, gamma, beta)
    np.testing.assert_allclose(F.layer_norm(x, gamma, beta).data, expected, rtol=1e-13)
    with dezero.test_mode():
        np.testing.assert_allclose(F.layer_norm(x, gamma, beta).data, expected, rtol=1e-13)
    np.testing.assert_allclose(
        F.layer_norm(x, gamma, beta, eps=0.5).data,
        _layer_norm_reference(x, gamma, beta, 0.5),
        rtol=1e-13,
    )


@pytest.mark.parametrize('shape', [(5,), (3, 4), (2, 3, 4)])
def test_layer_norm_gradients_first_and_second_order(shape, sample, check_grads):
    check_grads(F.layer_norm, sample(shape), sample(shape[-1:], 'positive'), sample(shape[-1:]))
    # intermediate inputs: the graph keeps only what backward reads
    check_grads(
        lambda x, g, b: F.layer_norm(x + 0.0, g * 1.0, b * 1.0) * 1.0,
        sample(shape),
        sample(shape[-1:], 'positive'),
        sample(shape[-1:]),
    )


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
@pytest.mark.parametrize('shape', [(7,), (4, 6), (2, 3, 5)])
def test_layer_norm_agrees_with_pytorch_to_second_order(shape, dtype, sample):
    pytest.importorskip('torch')
    import torch

    from oracle import assert_agree

    inputs = [sample(shape) * 3 + 1, sample(shape[-1:], 'positive'), sample(shape[-1:])]
    inputs = [a.astype(dtype) for a in inputs]
    for eps in (1e-5, 0.1):
        assert_agree(
            lambda x, g, b: F.layer_norm(x, g, b, eps=eps),
            lambda x, g, b: torch.nn.functional.layer_norm(x, shape[-1:], g, b, eps=eps),
            inputs,
            second=True,
        )


def test_layer_norm_keeps_float32(sample, assert_keeps_float32):
    assert_keeps_float32(F.layer_norm, sample((3, 4)), sample((4,)), sample((4,)))
    xs = [Variable(sample(s, dtype=np.float32)) for s in [(3, 4), (4,), (4,)]]
    y = F.layer_norm(*xs)
    (y * y).sum().backward(create_graph=True)
    g = xs[0].grad
    for v in xs:
        v.cleargrad()
    (g * g).sum().backward()
    assert all(v.grad.dtype == np.float32 for v in xs)


def test_layer_norm_float16_statistics_in_float32():
    # squares of deviations beyond 256 overflow float16
    x = np.array([[-1000.0, 0.0, 1000.0]], np.float16)
    y = F.layer_norm(x, np.ones(3, np.float16), np.zeros(3, np.float16))
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.data, [[-np.sqrt(1.5), 0.0, np.sqrt(1.5)]], rtol=1e-3)


def test_layer_norm_reads_x_and_gamma_but_not_beta_in_backward():
    import weakref

    x, gamma, beta = (Variable(np.array(a)) for a in ([1.0, 2.0, 4.0], [1.0, 2.0, 3.0], [0.0] * 3))
    hs = [x * 1.0, gamma * 1.0, beta * 1.0]
    alive = [weakref.ref(h) for h in hs]
    y = F.layer_norm(*hs)
    del hs
    assert [a() is not None for a in alive] == [True, True, False]
    y.backward()
    assert beta.grad is not None


@pytest.mark.parametrize(
    'x_shape, gamma_shape, beta_shape, message',
    [
        ((2, 3), (2,), (3,), 'layer_norm: gamma has shape (2,), expected (3,)'),
        ((2, 3), (3,), (1, 3), 'layer_norm: beta has shape (1, 3), expected (3,)'),
        ((2, 3), (2, 3), (3,), 'layer_norm: gamma has shape (2, 3), expected (3,)'),
        ((), (1,), (1,), 'layer_norm: x must have at least one axis'),
    ],
)
def test_layer_norm_refuses_bad_shapes(x_shape, gamma_shape, beta_shape, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        F.layer_norm(np.ones(x_shape), np.ones(gamma_shape), np.ones(beta_shape))


@pytest.mark.parametrize('eps', [-1e-5, np.inf, np.nan, np.float32(-1.0)])
@pytest.mark.parametrize('f', [F.layer_norm, lambda x, g, b, eps: LayerNorm(eps)(x, g, b)])
def test_layer_norm_refuses_an_eps_out_of_range(f, eps):
    owner = 'layer_norm' if f is F.layer_norm else 'LayerNorm'
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones(3), np.zeros(3), eps=eps)
    assert str(info.value) == (
        f'{owner}: eps must be a non-negative finite number, got {float(eps)!r}'
    )


@pytest.mark.parametrize('eps', ['a', '1e-5', None, True, np.bool_(False), 1e-5j, [1e-5]])
@pytest.mark.parametrize('f', [F.layer_norm, lambda x, g, b, eps: LayerNorm(eps)(x, g, b)])
def test_layer_norm_refuses_an_eps_that_is_no_real_number_with_a_type_error(f, eps):
    owner = 'layer_norm' if f is F.layer_norm else 'LayerNorm'
    shown = eps.item() if isinstance(eps, np.generic) else eps
    with pytest.raises(TypeError) as info:
        f(np.ones((2, 3)), np.ones(3), np.zeros(3), eps=eps)
    assert str(info.value) == f'{owner}: eps must be a real number, got {shown!r}'


@pytest.mark.parametrize('eps', ['a', None, True, 1e-5j])
def test_batch_norm_refuses_an_eps_that_is_no_real_number_with_a_type_error(eps):
    x, g, b = np.ones((2, 3)), np.ones(3), np.zeros(3)
    with pytest.raises(
        TypeError, match=re.escape(f'batch_norm: eps must be a real number, got {eps!r}')
    ):
        F.batch_norm(x, g, b, np.zeros(3), np.ones(3), eps=eps)


def test_layer_norm_takes_numpy_numbers_and_zero_as_eps():
    x, g, b = np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3)
    expected = F.layer_norm(x, g, b, eps=0.5).data
    np.testing.assert_array_equal(F.layer_norm(x, g, b, eps=np.float64(0.5)).data, expected)
    np.testing.assert_array_equal(LayerNorm(0.5)(x, g, b).data, expected)
    assert np.isfinite(F.layer_norm(x, g, b, eps=0).data).all()


def test_the_registry_checks_catch_a_broken_layer_norm_derivative(monkeypatch):
    from registry import CASES
    from test_gradient_registry import check_case

    from dezero.functions import normalization

    c = next(c for c in CASES if c.id == 'layer_norm-2d')
    # means over the rows off by 1% in backward fail the first-order check
    row_mean = normalization._row_mean
    with monkeypatch.context() as m:
        m.setattr(normalization, '_row_mean', lambda a: row_mean(a) * 1.01)
        with pytest.raises(AssertionError, match='first order'):
            check_case(c)
    # cached statistics used in a recorded backward too: no second derivative through
    # them, which fails the second-order check
    monkeypatch.setattr(normalization, 'Variable', type(None))
    with pytest.raises(AssertionError, match='second order'):
        check_case(c)


# ---- deviations whose squares overflow ---------------------------------------------------
def _value_slope_and_curvature(f, x, dtype):
    """f(x), the gradient of sum(w f(x)) and the gradient of sum(u g) in x (g that
    gradient), for fixed weights w and u, on x of ``dtype``, quietly (warnings raise)."""
    rng = np.random.default_rng(3)
    w, u = (rng.uniform(-1, 1, x.shape).astype(dtype) for _ in range(2))
    xv = Variable(x.astype(dtype))
    y = f(xv)
    F.sum(y * w).backward(create_graph=True)
    g = xv.grad
    xv.cleargrad()
    F.sum(g * u).backward()
    return y.data, g.data, xv.grad.data


def _assert_like_float32_rounding(f, x, axes):
    """f on float32 x is finite and agrees with f on that x in float64 (value, slope
    and curvature) to its rounding: 1e-6 (the curvature 1e-5) of the largest of each
    slice normalised over ``axes``, or a few subnormal steps (curvatures of 1e-41)."""
    ours = _value_slope_and_curvature(f, x, np.float32)
    exact = _value_slope_and_curvature(f, x.astype(np.float32).astype(np.float64), np.float64)
    subnormal_steps = 8 * np.finfo(np.float32).smallest_subnormal
    for what, rtol, a, b in zip(('value', 'slope', 'curvature'), (1e-6, 1e-6, 1e-5), ours, exact):
        assert a.dtype == np.float32 and np.isfinite(a).all(), what
        largest = np.abs(b).max(axis=axes, keepdims=True)
        tolerance = np.maximum(rtol * largest, subnormal_steps)
        assert np.all(np.abs(a - b) <= tolerance), f'{what}: {a} against {b}'


def _layer_norm_of(x):
    n = x.shape[-1]
    return F.layer_norm(x, np.linspace(0.5, 2, n).astype(x.dtype), np.full(n, 0.25, x.dtype))


def _batch_norm_of(x):
    c = x.shape[1]
    ones = np.ones(c, x.dtype)
    # running statistics in float64: a float32 variance of 1e40 is inf, with a warning
    return F.batch_norm(x, ones * 1.5, ones * 0.25, np.zeros(c), np.ones(c))


@pytest.mark.filterwarnings('error')  # the overflow is made good, without a warning
def test_layer_norm_of_deviations_whose_squares_overflow_float32():
    # |x - mean| = 1e20: its square overflows float32, std and xhat do not
    x = np.array([[2e20, 0.0, 1e20]], np.float32)
    y = F.layer_norm(x, np.ones(3, np.float32), np.zeros(3, np.float32))
    r = np.sqrt(1.5)  # xhat of [1, -1, 0]: (x - mean) / std with std = 1e20 sqrt(2/3)
    np.testing.assert_allclose(y.data, [[r, -r, 0.0]], rtol=1e-6)
    rows = np.array(
        [
            [2e20, -3e19, 1e20, 5e19],
            [1.0, 2.0, 3.0, 5.0],  # an ordinary row beside them
            [3e38, 3e38, -3e38, 1e38],  # x - mean overflows too
        ]
    )
    _assert_like_float32_rounding(_layer_norm_of, rows[:2], -1)
    y, slope, _ = _value_slope_and_curvature(_layer_norm_of, rows, np.float32)
    np.testing.assert_array_equal(y[1], _layer_norm_of(rows[1:2].astype(np.float32)).data[0])
    # the last row: the same function of x / 2**120 (the slopes 2**120 times as large)
    rows[2] /= 2.0**120
    exact = _value_slope_and_curvature(_layer_norm_of, rows, np.float64)
    np.testing.assert_allclose(y[2], exact[0][2], rtol=1e-6)
    np.testing.assert_allclose(slope[2], exact[1][2] / 2.0**120, rtol=1e-5)


@pytest.mark.filterwarnings('error')
def test_layer_norm_of_deviations_whose_squares_overflow_float64():
    x = np.array([[2e160, 0.0, 1e160, -5e159]])
    y, slope, curvature = _value_slope_and_curvature(_layer_norm_of, x, np.float64)
    # the same function of x / 2**500 (eps is negligible beside its variance, 1e19)
    scaled = _value_slope_and_curvature(_layer_norm_of, x / 2.0**500, np.float64)
    np.testing.assert_allclose(y, scaled[0], rtol=1e-14)
    np.testing.assert_allclose(slope, scaled[1] / 2.0**500, rtol=1e-14)
    np.testing.assert_allclose(curvature, scaled[2] / 2.0**1000, rtol=1e-13)


@pytest.mark.filterwarnings('error')
@pytest.mark.parametrize(
    'x',
    [
        np.array([[2e20, 1.0], [0.0, 2.0], [1e20, 4.0]]),
        np.random.default_rng(4).standard_normal((3, 2, 2, 2))
        * np.array([1e20, 1.0]).reshape(1, 2, 1, 1),
    ],
    ids=['2-D', '4-D'],
)
def test_batch_norm_of_deviations_whose_squares_overflow_float32(x):
    _assert_like_float32_rounding(_batch_norm_of, x, (0, 2, 3) if x.ndim == 4 else 0)


def test_batch_norm_running_variance_beyond_the_squares_range():
    # batch variance 1.25e38 (m / (m - 1) = 4/3): finite, where the squares are not
    x = np.array([[2e19], [0.0], [1e19], [-1e19]])
    for stat_dtype in (np.float32, np.float64):
        mean, var = np.zeros(1, stat_dtype), np.ones(1, stat_dtype)
        F.batch_norm(
            x.astype(np.float32), np.ones(1, np.float32), np.zeros(1, np.float32), mean, var
        )
        np.testing.assert_allclose(mean, [0.1 * x.mean()], rtol=1e-6)
        np.testing.assert_allclose(var, [0.9 + 0.1 * x.var() * 4 / 3], rtol=1e-6)
    # a variance of 9e76 is finite in float64 statistics; in float32 ones it is inf
    x = np.array([[3e38], [-3e38]], np.float32)
    mean, var = np.zeros(1), np.ones(1)
    F.batch_norm(x, np.ones(1, np.float32), np.zeros(1, np.float32), mean, var)
    np.testing.assert_allclose([mean[0], var[0]], [0.0, 0.9 + 0.1 * 9e76 * 2], rtol=1e-6)
    mean, var = np.zeros(1, np.float32), np.ones(1, np.float32)
    with pytest.warns(RuntimeWarning, match='batch_norm: a batch variance of about 1e77 .*float32'):
        F.batch_norm(x, np.ones(1, np.float32), np.zeros(1, np.float32), mean, var)
    assert var[0] == np.inf


def test_batch_norm_running_variance_beyond_float64_says_so():
    # a variance of 6.9e319 is beyond float64 itself: keeping the statistics in
    # float64, as the warning for float32 statistics advises, cannot help
    x = np.array([[1e160], [-1e160], [3e159]])
    mean, var = np.zeros(1), np.ones(1)
    with pytest.warns(RuntimeWarning) as caught:
        F.batch_norm(x, np.ones(1), np.zeros(1), mean, var)
    (message,) = [str(w.message) for w in caught]
    assert message.startswith('batch_norm: a batch variance of about 1e320 exceeds ')
    assert "float64's range" in message and 'in float64:' not in message
    assert var[0] == np.inf


@pytest.mark.parametrize('f', [_layer_norm_of, _batch_norm_of], ids=['layer_norm', 'batch_norm'])
def test_float16_second_order_with_deviations_beyond_256(f):
    # a recorded backward computes the statistics again, in float32 as forward does
    x = np.array([[600.0, 0.0, 300.0, 100.0]])
    x = x if f is _layer_norm_of else x.T
    ours = _value_slope_and_curvature(f, x, np.float16)
    exact = _value_slope_and_curvature(f, x, np.float64)
    for a, b in zip(ours, exact):  # (curvatures of 1e-6 are float16 subnormals)
        assert a.dtype == np.float16
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=max(1e-3 * np.abs(b).max(), 2**-22))


# ---- float16 in the other byte order -------------------------------------------------------
#: float16 not in the machine's byte order (as read from a file written elsewhere)
OTHER_FLOAT16 = np.dtype(np.float16).newbyteorder('S')
#: (x - mean) / sqrt(var + eps) of [1024, 1025, 1026, 1028] (mean 1025.75, var 2.1875),
#: rounded to float16; computed in float16, x - mean lost its quarters
ROW = [1024.0, 1025.0, 1026.0, 1028.0]
ROW_NORMALISED = [-1.184, -0.5073, 0.1691, 1.521]


def test_layer_norm_of_float16_in_the_other_byte_order_takes_statistics_in_float32():
    x = np.array([ROW], OTHER_FLOAT16)
    ones, zeros = np.ones(4, OTHER_FLOAT16), np.zeros(4, OTHER_FLOAT16)
    y = F.layer_norm(x, ones, zeros)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.data, np.array([ROW_NORMALISED], np.float16))


def test_batch_norm_of_float16_in_the_other_byte_order_takes_statistics_in_float32():
    x = np.array([ROW], OTHER_FLOAT16).T  # one channel, four values
    ones, zeros = np.ones(1, OTHER_FLOAT16), np.zeros(1, OTHER_FLOAT16)
    y = F.batch_norm(x, ones, zeros, np.zeros(1, np.float32), np.ones(1, np.float32))
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.data, np.array([ROW_NORMALISED], np.float16).T)


@pytest.mark.parametrize('f', [_layer_norm_of, _batch_norm_of], ids=['layer_norm', 'batch_norm'])
def test_float16_in_the_other_byte_order_second_order_as_native_float16(f):
    # a recorded backward computes the statistics again, in float32 for either order
    x = np.array([ROW])
    x = x if f is _layer_norm_of else x.T
    native = _value_slope_and_curvature(f, x, np.float16)
    other = _value_slope_and_curvature(f, x, OTHER_FLOAT16)
    for a, b in zip(other, native):
        np.testing.assert_array_equal(a, b)


# ---- float16 in test mode ----------------------------------------------------------------
@pytest.mark.parametrize('dtype', [np.float16, OTHER_FLOAT16])
def test_float16_batch_norm_in_test_mode_adds_eps_in_float32(dtype):
    # eps = 1e-8 is 0 in float16: a zero running variance gave 0 / 0 = nan (PyTorch: 0)
    x = np.array([[1.0], [1.0]], dtype)
    one, zero = np.ones(1, dtype), np.zeros(1, dtype)
    with dezero.test_mode():
        y = F.batch_norm(x, one, zero, one.copy(), zero.copy(), eps=1e-8)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.data, [[0.0], [0.0]])
    # and (x - mean) / sqrt(var + eps) is rounded once: 1 / sqrt(1e-4 + 1e-8) = 99.99995
    x = Variable(np.array([[1.0], [1.01]], dtype))
    with dezero.test_mode():
        y = F.batch_norm(x, one, zero, np.ones(1), np.full(1, 1e-4), eps=1e-8)
        y.backward()
    expected = (np.array([[1.0], [1.01]], np.float16).astype(np.float64) - 1) / np.sqrt(1e-4 + 1e-8)
    np.testing.assert_array_equal(y.data, expected.astype(np.float16))
    np.testing.assert_array_equal(
        x.grad.data, np.full((2, 1), 1 / np.sqrt(1e-4 + 1e-8), np.float16)
    )


# ---- warnings name the user's line ---------------------------------------------------------
def _warning_sites(call):
    with pytest.warns(RuntimeWarning) as caught:
        call()
    return [(w.filename, str(w.message)[:40]) for w in caught]


def test_running_variance_overflow_warning_names_the_users_line_through_the_layer():
    import dezero.layers as L

    x = np.array([[3e38], [-3e38]], np.float32)
    bn = L.BatchNorm()
    bn(np.ones((2, 1), np.float32))  # the parameters, in float32

    class Net(dezero.Model):
        def __init__(self):
            super().__init__()
            self.bn = bn

        def forward(self, x):
            return self.bn(x)

    for call in (
        lambda: F.batch_norm(
            x,
            np.ones(1, np.float32),
            np.zeros(1, np.float32),
            np.zeros(1, np.float32),
            np.ones(1, np.float32),
        ),
        lambda: bn(x),
        lambda: Net()(x),
    ):
        sites = _warning_sites(call)
        assert sites == [(__file__, 'batch_norm: a batch variance of about 1e')]


def test_one_value_per_channel_warning_names_the_users_line_through_the_layer():
    import dezero.layers as L

    sites = _warning_sites(lambda: L.BatchNorm()(np.ones((1, 3), np.float32)))
    assert sites == [(__file__, 'batch_norm: one value per channel when t')]


# ---- running statistics that cannot be written -----------------------------------------
@pytest.mark.parametrize('frozen', ['mean', 'var'])
def test_a_read_only_running_statistic_is_refused_before_anything_changes(frozen):
    # the mean was updated in place before the read-only var raised, so a failed call
    # moved it, and every retry moved it again
    x = np.arange(12.0).reshape(4, 3)
    stats = {'mean': np.zeros(3), 'var': np.ones(3)}
    stats[frozen].flags.writeable = False
    for call, owner in (
        (
            lambda: F.batch_norm(x, np.ones(3), np.zeros(3), stats['mean'], stats['var']),
            'batch_norm',
        ),
        (
            lambda: F.BatchNorm(stats['mean'], stats['var'], 0.9, 2e-5)(x, np.ones(3), np.zeros(3)),
            'BatchNorm',
        ),
    ):
        with pytest.raises(
            ValueError, match=rf'{owner}: {frozen} is read-only; training updates it in place'
        ):
            call()
        np.testing.assert_array_equal(stats['mean'], np.zeros(3))
        np.testing.assert_array_equal(stats['var'], np.ones(3))


def test_read_only_running_statistics_serve_in_test_mode():
    x = np.arange(12.0).reshape(4, 3)
    mean, var = np.broadcast_to(1.0, (3,)), np.broadcast_to(4.0, (3,))
    with dezero.test_mode():
        y = F.batch_norm(x, np.ones(3), np.zeros(3), mean, var, eps=1e-300)
    np.testing.assert_allclose(y.data, (x - 1.0) / 2.0)


# ---- empty inputs -----------------------------------------------------------------------
@pytest.mark.parametrize(
    'shape, message',
    [
        ((0, 3), r' of an empty batch \(x of shape \(0, 3\) has no samples\)'),
        ((0, 3, 2, 2), r' of an empty batch \(x of shape \(0, 3, 2, 2\) has no samples\)'),
        ((2, 3, 0, 4), r': x of shape \(2, 3, 0, 4\) has no positions \(H \* W = 0\)'),
        ((2, 3, 4, 0), r': x of shape \(2, 3, 4, 0\) has no positions \(H \* W = 0\)'),
    ],
)
def test_training_on_no_values_per_channel_says_what_is_empty(shape, message):
    c = shape[1]
    stats = np.zeros(c), np.ones(c)
    with pytest.raises(ValueError, match='batch_norm: cannot compute batch statistics' + message):
        F.batch_norm(np.zeros(shape), np.ones(c), np.zeros(c), *stats)
    with pytest.raises(ValueError, match='BatchNorm: cannot compute batch statistics' + message):
        F.BatchNorm(*stats, 0.9, 2e-5)(np.zeros(shape), np.ones(c), np.zeros(c))
    np.testing.assert_array_equal(stats, [np.zeros(c), np.ones(c)])


@pytest.mark.parametrize('shape', [(2, 0), (0, 0), (2, 0, 3, 3)])
@pytest.mark.parametrize('train', [True, False])
def test_no_channels_leave_nothing_to_normalise(shape, train):
    # (2, 0) was refused as "an empty batch", though it has two samples
    x = Variable(np.zeros(shape, np.float32))
    gamma, beta = Variable(np.ones(0, np.float32)), Variable(np.zeros(0, np.float32))
    mean, var = np.zeros(0, np.float32), np.ones(0, np.float32)
    with dezero.using_config('train', train), warnings.catch_warnings():
        warnings.simplefilter('error')
        y = F.batch_norm(x, gamma, beta, mean, var)
    assert y.shape == shape and y.dtype == np.float32
    y.backward()
    assert x.grad.shape == shape and gamma.grad.shape == (0,) and beta.grad.shape == (0,)


@pytest.mark.filterwarnings('error')  # NumPy's mean warned of each empty row
@pytest.mark.parametrize('shape', [(3, 0), (0, 0), (0,), (2, 3, 0)])
@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64, np.int64])
@pytest.mark.parametrize('create_graph', [False, True])
def test_layer_norm_of_an_empty_last_axis_is_empty_and_quiet(shape, dtype, create_graph):
    x = Variable(np.zeros(shape, dtype))
    floats = np.float64 if dtype == np.int64 else dtype
    gamma, beta = Variable(np.ones(0, floats)), Variable(np.zeros(0, floats))
    y = F.layer_norm(x, gamma, beta)
    assert y.shape == shape and y.dtype == floats
    y.backward(create_graph=create_graph)
    assert gamma.grad.shape == (0,) and beta.grad.shape == (0,)
    if dtype != np.int64:  # (integer x gets no gradient)
        assert x.grad.shape == shape and x.grad.dtype == dtype


# ---- integer x in test mode ----------------------------------------------------------------
BOOK_X = np.array([[3, -2, 1], [5, 7, -9]])
BOOK_MEAN, BOOK_VAR = np.array([0.3, -0.2, 0.1]), np.array([0.8, 1.5, 1.2])


@pytest.mark.parametrize('f', [F.batch_norm, F.batch_nrom])
@pytest.mark.parametrize('dtype', [np.int64, np.int8, np.uint8, np.bool_])
def test_integer_x_in_test_mode_is_normalised_in_float64(f, dtype):
    # the running statistics were cast to x's integer dtype: [670.8, -2.0, 1.0] for
    # [3.0187, -1.4697, 0.8216], and bool x failed on NumPy's bool subtraction
    x = np.abs(BOOK_X) if dtype == np.uint8 else BOOK_X
    x = x.astype(dtype)
    xv = Variable(x)
    mean, var = BOOK_MEAN.copy(), BOOK_VAR.copy()
    with dezero.test_mode():
        y = f(xv, np.ones(3), np.zeros(3), mean, var)
    assert y.dtype == np.float64
    ones, zeros = np.ones(3), np.zeros(3)
    np.testing.assert_allclose(
        y.data, _reference(x.astype(float), ones, zeros, BOOK_MEAN, BOOK_VAR)
    )
    if dtype == np.int64:
        np.testing.assert_allclose(y.data[0], [3.0187, -1.4697, 0.8216], atol=1e-4)
    np.testing.assert_array_equal(mean, BOOK_MEAN)  # test mode leaves them alone
    if dtype != np.bool_:  # (bool data has no gradient)
        y.backward()
        assert xv.grad.dtype == np.float64
        np.testing.assert_allclose(xv.grad.data, np.tile(1 / np.sqrt(BOOK_VAR + EPS), (2, 1)))


def test_integer_x_in_test_mode_second_order_as_float64_x():
    # a recorded backward takes x - mean with the running mean in float64 too
    def slope_and_curvature(x):
        xv = Variable(x)
        gamma = Variable(np.array([1.0, 2.0, 0.5]))
        with dezero.test_mode():
            y = F.batch_norm(xv, gamma, np.zeros(3), BOOK_MEAN.copy(), BOOK_VAR.copy())
        F.sum(y * y).backward(create_graph=True)
        g = xv.grad
        xv.cleargrad(), gamma.cleargrad()
        F.sum(g * g).backward()
        return g.data, gamma.grad.data

    for a, b in zip(slope_and_curvature(BOOK_X), slope_and_curvature(BOOK_X.astype(float))):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# ---- float16: one rounding to the result -------------------------------------------------------
def test_float16_layer_norm_is_rounded_once():
    # xhat, gamma * xhat and the sum were each rounded to float16: element 1 was
    # 4.883e-4 for 2.098e-4 (PyTorch: 2.098e-4)
    x = np.array([[1.3154296875, -0.04864501953125, -1.5341796875, -1.4521484375]], np.float16)
    gamma = np.array([1.197265625, 0.6611328125, 0.703125, 1.0966796875], np.float16)
    beta = np.array([0.35595703125, -0.6953125, 0.6650390625, -2.08203125], np.float16)
    y = F.layer_norm(x, gamma, beta)
    exact = F.layer_norm(*(a.astype(np.float64) for a in (x, gamma, beta)))
    assert y.dtype == np.float16
    assert y.data[0, 2] == np.float16(2.098e-4)
    np.testing.assert_array_equal(y.data, exact.data.astype(np.float16))


def _float16_and_exact(f, arrays):
    """f of Variables of the float16 ``arrays`` and of their float64 values: the
    outputs and the gradients of each for the same float16 output gradient."""
    gy = np.random.default_rng(7).standard_normal(f(*arrays).shape).astype(np.float16)
    results = []
    for dtype in (np.float16, np.float64):
        xs = [Variable(a.astype(dtype)) for a in arrays]
        y = f(*xs)
        y.grad = Variable(gy.astype(dtype))
        y.backward()
        results.append([y.data] + [x.grad.data for x in xs])
    return results


def test_float16_layer_norm_output_and_gradients_within_a_unit():
    # computed in float16, errors near 0 were hundreds to thousands of its units
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float16) for s in ((16, 64), (64,), (64,))]
    half, exact = _float16_and_exact(F.layer_norm, arrays)
    for a, b in zip(half, exact):
        assert a.dtype == np.float16
        assert float16_ulps(a, b) <= 1


@pytest.mark.parametrize('train', [False, True], ids=['test', 'train'])
def test_float16_batch_norm_output_and_gradients_within_a_unit(train):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float16) for s in ((32, 8), (8,), (8,))]
    mean, var = rng.standard_normal(8), rng.uniform(0.5, 2, 8)

    def f(x, gamma, beta):
        with dezero.using_config('train', train):
            return F.batch_norm(x, gamma, beta, mean.astype(np.float32), var.astype(np.float32))

    half, exact = _float16_and_exact(f, arrays)
    for a, b in zip(half, exact):
        assert a.dtype == np.float16
        assert float16_ulps(a, b) <= 1

"""dropout: inverted dropout in training, the identity in test mode."""

import weakref

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Variable


@pytest.mark.parametrize('ratio', [0.2, 0.5, 0.8])
def test_statistics_on_a_big_array(ratio):
    np.random.seed(0)
    x = np.full((400, 500), 3.0)
    y = F.dropout(x, ratio).data
    kept = y != 0
    assert kept.mean() == pytest.approx(1 - ratio, abs=0.005)
    np.testing.assert_allclose(y[kept], 3.0 / (1 - ratio), rtol=1e-15)
    assert y.mean() == pytest.approx(3.0, rel=0.02)  # expectation preserved


def test_default_ratio_is_one_half():
    np.random.seed(1)
    y = F.dropout(np.ones(100_000)).data
    assert (y != 0).mean() == pytest.approx(0.5, abs=0.01)
    assert set(np.unique(y)) == {0.0, 2.0}


def test_seed_reproduces_the_mask():
    x = np.ones((5, 6))
    np.random.seed(3)
    a = F.dropout(x, 0.4).data
    np.random.seed(3)
    b = F.dropout(x, 0.4).data
    c = F.dropout(x, 0.4).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_ratio_zero_keeps_everything(sample):
    x = sample((3, 4))
    np.testing.assert_array_equal(F.dropout(x, 0.0).data, x)


def test_identity_in_test_mode(sample):
    x = Variable(sample((3, 4)))
    with dezero.test_mode():
        assert F.dropout(x, 0.5) is x
        y = F.dropout(x.data, 0.9)
    assert isinstance(y, Variable)
    np.testing.assert_array_equal(y.data, x.data)


@pytest.mark.parametrize('create_graph', [False, True])
def test_gradient_is_the_same_mask_and_scale(sample, create_graph):
    np.random.seed(0)
    x = Variable(sample((20, 30), 'nonzero'))
    y = F.dropout(x, 0.25)
    y.backward(create_graph=create_graph)
    mask = y.data != 0
    assert 0 < mask.mean() < 1
    np.testing.assert_array_equal(x.grad.data, mask / 0.75)


def test_the_graph_keeps_neither_the_input_nor_the_output():
    np.random.seed(0)
    x = Variable(np.ones((3, 4)))
    h = x * 2.0
    y = F.dropout(h, 0.5)
    h_data, y_data = weakref.ref(h.data), weakref.ref(y.data)
    loss = F.sum(y)
    mask = y.data != 0
    del h, y
    assert h_data() is None and y_data() is None
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, 2.0 * mask / 0.5)


def test_gradients_first_and_second_order(sample, check_grads):
    def f(x):
        np.random.seed(5)  # the same mask at every probe
        return F.dropout(x, 0.4)

    check_grads(f, sample((3, 4)))


def test_keeps_float32(sample, assert_keeps_float32):
    assert_keeps_float32(lambda x: F.dropout(x, 0.3), sample((3, 4)))


@pytest.mark.parametrize('ratio', [1.0, -0.1, 1.5])
def test_ratio_out_of_range_is_refused(ratio):
    with pytest.raises(ValueError, match=r'dropout: dropout_ratio must be in \[0, 1\)'):
        F.dropout(np.ones(3), ratio)


@pytest.mark.parametrize('ratio', ['0.5', None, True])
def test_non_numeric_ratio_is_refused(ratio):
    with pytest.raises(TypeError, match='dropout: dropout_ratio must be a number'):
        F.dropout(np.ones(3), ratio)


# ---- float16 -----------------------------------------------------------------------------
@pytest.mark.parametrize('ratio', [0.5, 0.99999])
def test_float16_drops_to_zero_and_scales_kept_values_rounded_once(ratio):
    # a scale of 1e5 (ratio 0.99999) is inf in float16: 0 * inf gave nan, x * inf inf
    x = Variable(np.random.default_rng(0).uniform(1e-3, 0.5, 400_000).astype(np.float16))
    np.random.seed(1)
    y = F.dropout(x, ratio)
    np.random.seed(1)
    keep = np.random.random_sample(x.shape) >= ratio  # the draw of the float64 path
    assert y.dtype == np.float16 and 0 < keep.sum() < keep.size
    scale = 1 / (1 - ratio)
    expected = np.where(keep, x.data.astype(np.float64) * scale, 0).astype(np.float16)
    np.testing.assert_array_equal(y.data, expected)
    y.grad = Variable(np.full(x.shape, 0.25, np.float16))
    y.backward()
    assert x.grad.dtype == np.float16
    once = np.float16(0.25 * scale)  # (0.25 * scale is exact in float64)
    np.testing.assert_array_equal(x.grad.data, np.where(keep, once, 0))


def test_float16_takes_the_same_mask_as_float64():
    # and scales in float64, rounding to float16 once
    x = np.random.default_rng(1).uniform(0.5, 1.0, (40, 50)).astype(np.float16)
    np.random.seed(2)
    wide = F.dropout(x.astype(np.float64), 0.3).data
    np.random.seed(2)
    half = F.dropout(x, 0.3).data
    np.testing.assert_array_equal(half != 0, wide != 0)
    np.testing.assert_array_equal(half, wide.astype(np.float16))


@pytest.mark.filterwarnings('error')
def test_float16_second_order_applies_the_mask_again():
    x = Variable(np.full((1000, 1000), 0.25, np.float16))
    np.random.seed(4)
    y = F.dropout(x, 0.99999)  # a scale of 1e5, beyond float16's range
    keep = y.data != 0
    assert 0 < keep.sum() < keep.size
    scale = 1 / (1 - 0.99999)  # 100000.0000008: 0.25 * scale rounds up to 25008
    np.testing.assert_array_equal(y.data[keep], 25008.0)
    gy = Variable(np.full(x.shape, 1e-3, np.float16))
    y.grad = gy
    y.backward(create_graph=True)
    gx = x.grad
    assert gx.dtype == np.float16
    once = (np.float64(np.float16(1e-3)) * scale).astype(np.float16)
    np.testing.assert_array_equal(gx.data, np.where(keep, once, 0))
    # gx is linear in gy: its gradient is the mask and scale applied again
    F.sum(gx * np.float16(1e-4)).backward()
    once = (np.float64(np.float16(1e-4)) * scale).astype(np.float16)
    np.testing.assert_array_equal(gy.grad.data, np.where(keep, once, 0))

"""linear: x @ W + b as one function."""

import re

import numpy as np
import pytest

import dezero.functions as F
import dezero.layers as L
from dezero import Variable
from dezero.core import backprop
from dezero.functions.connection import Linear, embed_id
from dezero.graph import functions_behind
from float16_units import float16_ulps

X = np.array([[1.0, 2.0], [0.0, -1.0]])
W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
B = np.array([1.0, 0.0, -1.0])


def test_values_and_gradients_by_hand():
    x, w, b = Variable(X), Variable(W), Variable(B)
    y = F.linear(x, w, b)
    np.testing.assert_array_equal(y.data, [[10.0, 12.0, 14.0], [-3.0, -5.0, -7.0]])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[6.0, 15.0], [6.0, 15.0]])  # 1 @ Wᵀ
    np.testing.assert_array_equal(w.grad.data, [[1.0] * 3, [1.0] * 3])  # xᵀ @ 1
    np.testing.assert_array_equal(b.grad.data, [2.0, 2.0, 2.0])  # N rows


def test_without_bias():
    x, w = Variable(X), Variable(W)
    y = F.linear(x, w)
    np.testing.assert_array_equal(y.data, X @ W)
    assert len(y.creator.inputs) == 2
    y.backward()
    np.testing.assert_array_equal(w.grad.data, [[1.0] * 3, [1.0] * 3])


def test_one_function_and_no_intermediate_product():
    x, w, b = Variable(X), Variable(W), Variable(B)
    y = F.linear(x, w, b)
    assert isinstance(y.creator, Linear)
    assert y.creator.inputs == [x, w, b]  # straight from the leaves: no x @ W node


def test_single_sample_of_one_dimension():
    x, w, b = Variable(X[0]), Variable(W), Variable(B)
    y = F.linear(x, w, b)
    np.testing.assert_array_equal(y.data, [10.0, 12.0, 14.0])
    y.backward()
    assert x.grad.shape == (2,) and b.grad.shape == (3,)
    np.testing.assert_array_equal(x.grad.data, [6.0, 15.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0, 1.0])


def test_plain_arrays_are_accepted():
    np.testing.assert_array_equal(F.linear(X, W, B).data, X @ W + B)


def _spy_on_backward(y):
    """Record, for the Linear node behind ``y``, what each backward call is told it
    needs and the gradients it returns."""
    (node,) = [f for f in functions_behind(y) if isinstance(f, Linear)]
    calls = []
    backward = node.backward

    def spy(gy, *, needs_input_grad):
        gxs = backward(gy, needs_input_grad=needs_input_grad)
        calls.append((needs_input_grad, gxs))
        return gxs

    node.backward = spy
    return calls


@pytest.mark.parametrize('x_data', [X, X[0]])
def test_plain_array_input_gets_no_gradient_but_the_weights_do(x_data):
    """A batch passed as an array cannot have its gradient read, so none is computed;
    W and b get the same gradients as when x is a Variable."""
    w, b = Variable(W), Variable(B)
    y = F.linear(x_data, w, b)
    calls = _spy_on_backward(y)
    y.backward()
    ((needs, (gx, gw, gb)),) = calls
    assert needs == (False, True, True) and gx is None
    x2, w2, b2 = Variable(x_data), Variable(W), Variable(B)
    F.linear(x2, w2, b2).backward()
    assert x2.grad is not None
    np.testing.assert_array_equal(w.grad.data, w2.grad.data)
    np.testing.assert_array_equal(b.grad.data, b2.grad.data)


def test_a_pass_for_x_alone_computes_only_the_gradient_of_x():
    x, w, b = Variable(X), Variable(W), Variable(B)
    y = F.linear(x, w, b)
    calls = _spy_on_backward(y)
    grads = backprop([y], [np.ones((2, 3))], targets=[x])
    ((needs, (gx, gw, gb)),) = calls
    assert needs == (True, False, False) and gw is None and gb is None
    np.testing.assert_array_equal(grads[x], [[6.0, 15.0], [6.0, 15.0]])


def test_constant_weights_and_bias_get_no_gradient_computed():
    x = Variable(X)
    y = F.linear(x, W, B)  # W and b given as arrays: constants
    calls = _spy_on_backward(y)
    y.backward()
    ((needs, (gx, gw, gb)),) = calls
    assert needs == (True, False, False) and gw is None and gb is None
    np.testing.assert_array_equal(x.grad.data, [[6.0, 15.0], [6.0, 15.0]])


@pytest.mark.parametrize('x_shape', [(4, 3), (3,)])
def test_gradients_with_bias(x_shape, sample, check_grads):
    check_grads(F.linear, sample(x_shape), sample((3, 2)), sample((2,)))


def test_gradients_without_bias(sample, check_grads):
    check_grads(F.linear, sample((4, 3)), sample((3, 2)))


def test_keeps_float32(sample, assert_keeps_float32):
    assert_keeps_float32(F.linear, sample((4, 3)), sample((3, 2)), sample((2,)))
    assert_keeps_float32(F.linear, sample((4, 3)), sample((3, 2)))


def test_float64_bias_on_float32_product_is_not_rounded_down():
    y = F.linear(np.ones((1, 1), np.float32), np.ones((1, 1), np.float32), np.array([1e-12]))
    assert y.dtype == np.float64 and y.data[0, 0] == 1.0 + 1e-12


def test_float16_bias_gradient_over_a_big_batch_is_exact():
    # the bias's gradient sums 10,000 rows: in float32, rounded to float16 once (float16
    # sums along the batch axis stop growing at 2048); the products are NumPy's
    x = Variable(np.ones((10_000, 3), np.float16))
    W, b = Variable(np.ones((3, 2), np.float16)), Variable(np.zeros(2, np.float16))
    y = F.linear(x, W, b)
    y.backward()
    assert b.grad.dtype == np.float16 and W.grad.dtype == np.float16
    np.testing.assert_array_equal(b.grad.data, [10_000.0] * 2)
    np.testing.assert_array_equal(W.grad.data, np.full((3, 2), 10_000.0))


@pytest.mark.parametrize(
    'x_shape, w_shape, b_shape, words',
    [
        ((4, 3), (2, 5), None, [r'linear: x of shape \(4, 3\)', r'W of shape \(2, 5\)']),
        ((3,), (2, 5), None, [r'linear: x of shape \(3,\)', r'\(2, 5\)']),
        ((2, 4, 3), (3, 5), None, [r'linear: x of shape \(2, 4, 3\)']),
        ((4, 3), (3,), None, [r'linear: W must be 2-D', r'\(3,\)']),
        ((4, 3), (3, 5), (3,), [r'linear: b of shape \(3,\)', r'\(5,\)']),
        ((4, 3), (3, 5), (1, 5), [r'linear: b of shape \(1, 5\)']),
    ],
)
def test_shape_mismatch_is_refused(x_shape, w_shape, b_shape, words):
    b = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(ValueError) as info:
        F.linear(np.zeros(x_shape), np.zeros(w_shape), b)
    for w in words:
        assert re.search(w, str(info.value)), (w, str(info.value))


# ---- embed_id --------------------------------------------------------------------------
E = np.arange(12.0).reshape(4, 3)  # 4 ids, vectors of length 3
IDS = np.array([[0, 2], [2, 3]])  # id 2 twice, id 1 never


def test_embed_id_picks_rows_by_id():
    y = embed_id(IDS, Variable(E))
    assert y.shape == (2, 2, 3)
    np.testing.assert_array_equal(y.data, [[[0, 1, 2], [6, 7, 8]], [[6, 7, 8], [9, 10, 11]]])


def test_embed_id_gradient_adds_up_repeated_ids():
    w = Variable(E)
    weights = np.array([[1.0, 10.0], [100.0, 1000.0]])[..., None]  # one per position
    F.sum(embed_id(IDS, w) * weights).backward()
    np.testing.assert_array_equal(w.grad.data, [[1.0] * 3, [0.0] * 3, [110.0] * 3, [1000.0] * 3])


@pytest.mark.parametrize(
    'ids, shape',
    [
        (np.array(2), (3,)),
        (2, (3,)),
        ([3, 3, 0], (3, 3)),
        (np.zeros(0, np.int64), (0, 3)),
        (np.array([[1], [0]], np.uint8), (2, 1, 3)),
        (Variable(np.array([1, 2])), (2, 3)),
    ],
)
def test_embed_id_accepts_ids_of_any_shape_and_integer_type(ids, shape):
    w = Variable(E)
    y = embed_id(ids, w)
    assert y.shape == shape
    np.testing.assert_array_equal(y.data, E[np.asarray(getattr(ids, 'data', ids))])
    F.sum(y).backward()
    assert w.grad.shape == E.shape
    assert w.grad.data.sum() == 3 * np.size(getattr(ids, 'data', ids))


def test_embed_id_gradients(sample, check_grads):
    ids = np.array([[4, 1, 4], [0, 4, 2]])
    check_grads(lambda w: embed_id(ids, w), sample((5, 3)))


def test_embed_id_keeps_float32(sample, assert_keeps_float32):
    assert_keeps_float32(lambda w: embed_id(np.array([1, 1, 0]), w), sample((2, 4)))


@pytest.mark.parametrize(
    'ids, w_shape, error, pattern',
    [
        (
            np.array([0.0, 1.0]),
            (4, 3),
            TypeError,
            'x must hold integer ids, got an array of dtype float64',
        ),
        (np.array([True, False]), (4, 3), TypeError, 'dtype bool'),
        (1.0, (4, 3), TypeError, 'got float'),
        (
            np.array([0, -1]),
            (4, 3),
            ValueError,
            r'id -1 is out of range for W of shape '
            r'\(4, 3\); ids must be in \[0, 4\)',
        ),
        (np.array([[4, 0]]), (4, 3), ValueError, r'id 4 is out of range .* \[0, 4\)'),
        (np.array([0]), (4,), ValueError, r'W must be 2-D \(vocab, dim\), got shape \(4,\)'),
        (np.array([0]), (4, 3, 2), ValueError, r'W must be 2-D .*\(4, 3, 2\)'),
    ],
)
def test_embed_id_refuses_bad_ids_and_weights(ids, w_shape, error, pattern):
    with pytest.raises(error, match='embed_id: .*' + pattern):
        embed_id(ids, np.zeros(w_shape))


@pytest.mark.parametrize('ids', [[[1], [1, 2]], ((0, 1), (2,))], ids=['lists', 'tuples'])
def test_embed_id_refuses_ragged_ids_naming_them(ids):
    match = r'embed_id: x must be an array of integer ids .*, got ' + re.escape(repr(ids))
    with pytest.raises(ValueError, match=match):
        embed_id(ids, np.zeros((4, 3)))


@pytest.mark.parametrize('wrap', [np.asarray, Variable], ids=['array', 'Variable'])
def test_embed_id_ids_changed_after_the_lookup_do_not_change_the_gradient(wrap):
    w = Variable(E)
    ids = np.array([0, 0])
    y = embed_id(wrap(ids), w)
    ids[:] = [1, 2]
    F.sum(y).backward()
    np.testing.assert_array_equal(w.grad.data, [[2.0] * 3, [0.0] * 3, [0.0] * 3, [0.0] * 3])


def test_linear_refuses_a_lazy_layers_parameter_naming_its_position():
    layer = L.Linear(3)  # W holds no data before the first call
    message = 'input {} is None, or a Variable holding no data; give it data first'
    with pytest.raises(ValueError, match=re.escape('linear: ' + message.format(1))):
        F.linear(np.ones((2, 4)), layer.W)
    with pytest.raises(ValueError, match=re.escape('linear: ' + message.format(2))):
        F.linear(np.ones((2, 4)), np.ones((4, 3)), Variable(None))
    with pytest.raises(ValueError, match=re.escape('embed_id: ' + message.format(1))):
        F.embed_id(np.array([0, 1]), layer.W)


# ---- long batches and float16 ------------------------------------------------------------------
def test_linear_bias_gradient_over_a_million_rows_is_accurate():
    # the bias's gradient, a sum over the batch, was one BLAS product adding row after
    # row: 0.5045 for the mean over a million rows (PyTorch: 0.5000001)
    W, b = Variable(np.zeros((3, 2), np.float32)), Variable(np.zeros(2, np.float32))
    F.mean(F.linear(np.zeros((10**6, 3), np.float32), W, b)).backward()
    assert b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.data, [0.5, 0.5], rtol=1e-6)
    layer = L.Linear(2)
    F.mean(layer(np.zeros((10**6, 3), np.float32))).backward()
    np.testing.assert_allclose(layer.b.grad.data, [0.5, 0.5], rtol=1e-6)


@pytest.mark.parametrize('dtype', ['<f2', '>f2'])
def test_embed_id_float16_gradient_accumulates_in_float32(dtype):
    # 50,000 rows of 0.1 added into one row of W: in float16 they stopped at 256
    W = Variable(np.zeros((2, 2), dtype))
    F.sum(embed_id(np.zeros(50_000, np.int64), W) * np.float16(0.1)).backward()
    assert W.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(W.grad.data[0], 50_000 * float(np.float16(0.1)), atol=8)
    assert not W.grad.data[1].any()


@pytest.mark.parametrize('b_dtype', [np.int8, np.float32, np.float64])
def test_integer_x_and_w_are_multiplied_in_float64(b_dtype):
    # int8: 100 * 100 * 3 = 30000 wrapped round to 48 in the operands' own dtype
    x = Variable(np.full((2, 3), 100, np.int8))
    w = Variable(np.full((3, 2), 100, np.int8))
    b = Variable(np.array([1, -1], b_dtype))
    y = F.linear(x, w, b)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, [[30001.0, 29999.0]] * 2)
    y.backward()
    assert x.grad.dtype == w.grad.dtype == np.float64
    np.testing.assert_array_equal(w.grad.data, np.full((3, 2), 200.0))
    np.testing.assert_array_equal(b.grad.data, [2.0, 2.0])


def test_a_single_integer_sample_is_multiplied_in_float64():
    y = F.linear(np.full(3, 100, np.int16), np.full((3, 2), 200, np.int16))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, [60000.0, 60000.0])


# ---- float16: the product and the bias in float32, rounded once --------------------------------
def test_float16_linear_adds_the_bias_before_rounding():
    # x @ W was rounded to float16, then x @ W + b again: hundreds of units near 0
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32)).astype(np.float16)
    W = (rng.standard_normal((32, 16)) * 0.2).astype(np.float16)
    b = rng.standard_normal(16).astype(np.float16)
    y = F.linear(x, W, b)
    assert y.dtype == np.float16
    f32 = [a.astype(np.float32) for a in (x, W, b)]
    np.testing.assert_array_equal(y.data, (f32[0] @ f32[1] + f32[2]).astype(np.float16))
    exact = x.astype(np.float64) @ W.astype(np.float64) + b.astype(np.float64)
    assert float16_ulps(y.data, exact) <= 1


def test_float16_linear_gradients_are_float32_products_rounded_once():
    rng = np.random.default_rng(1)
    x, W, b = (Variable(rng.standard_normal(s).astype(np.float16)) for s in ((8, 5), (5, 3), (3,)))
    y = F.linear(x, W, b)
    gy = rng.standard_normal((8, 3)).astype(np.float16)
    y.grad = Variable(gy)
    y.backward()
    f32 = {n: a.data.astype(np.float32) for n, a in (('x', x), ('W', W))}
    g32 = gy.astype(np.float32)
    for a in (x, W, b):
        assert a.grad.dtype == np.float16
    np.testing.assert_array_equal(x.grad.data, (g32 @ f32['W'].T).astype(np.float16))
    np.testing.assert_array_equal(W.grad.data, (f32['x'].T @ g32).astype(np.float16))
    np.testing.assert_array_equal(b.grad.data, g32.sum(axis=0).astype(np.float16))


@pytest.mark.parametrize(
    'b_dtype, expected', [(np.float32, np.float32), (np.float64, np.float64), (None, np.float16)]
)
def test_float16_linear_with_a_wider_bias_or_none_keeps_numpys_result_dtype(b_dtype, expected):
    x, W = np.full((2, 3), 0.5, np.float16), np.full((3, 2), 0.25, np.float16)
    b = None if b_dtype is None else np.full(2, 1e-4, b_dtype)
    y = F.linear(x, W, b)
    assert y.dtype == expected
    np.testing.assert_allclose(y.data, 0.375 + (0 if b is None else 1e-4), rtol=1e-6)

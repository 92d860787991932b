"""scaled_dot_product_attention: values and gradients by hand, masks (bool, float, causal,
rows that attend to nothing), against PyTorch's math backend, float32, and the errors."""

import math
import re

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.functions import activation
from float16_units import float16_ulps

sdpa = F.scaled_dot_product_attention


def _softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _reference(q, k, v, bias=0.0, scale=None):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    return _softmax(q @ np.swapaxes(k, -1, -2) * scale + bias) @ v


# ---- by hand -----------------------------------------------------------------------------
def test_one_query_two_keys_by_hand():
    # scores [1, 0] / sqrt 2, so the weights are p = sigmoid(1 / sqrt 2) and 1 - p
    q = Variable(np.array([[1.0, 0.0]]))
    k = Variable(np.array([[1.0, 0.0], [0.0, 1.0]]))
    v = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = sdpa(q, k, v)
    p = 1 / (1 + math.exp(-1 / math.sqrt(2)))
    np.testing.assert_allclose(y.data, [[3 - 2 * p, 4 - 2 * p]], rtol=1e-15)
    y.backward()
    np.testing.assert_allclose(v.grad.data, [[p, p], [1 - p, 1 - p]], rtol=1e-15)
    # the gradient of the weights is v @ [1, 1] = [3, 7]; through softmax that is
    # [-4, 4] p (1 - p) on the scores, times 1 / sqrt 2 and k (the identity) to q
    s = 4 * p * (1 - p) / math.sqrt(2)
    np.testing.assert_allclose(q.grad.data, [[-s, s]], rtol=1e-14)
    np.testing.assert_allclose(k.grad.data, [[-s, 0.0], [s, 0.0]], rtol=1e-14)


def test_a_mask_that_leaves_one_key_picks_its_value():
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    mask = np.array([[False, True, False], [True, False, False], [False, False, True]])
    np.testing.assert_allclose(sdpa(q, k, v, mask=mask).data, v[[1, 0, 2]], rtol=1e-15)


def test_causal_attention_by_hand():
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    y = sdpa(q, k, v, is_causal=True).data
    np.testing.assert_allclose(y[0], v[0], rtol=1e-15)  # the first query sees the first key
    w = _softmax(q[1] @ k[:2].T / math.sqrt(2))
    np.testing.assert_allclose(y[1], w @ v[:2], rtol=1e-14)
    np.testing.assert_allclose(y[2], _reference(q[2:], k, v)[0], rtol=1e-14)
    # more queries than keys: the triangle starts at the top left, so queries past the
    # last key see them all
    y = sdpa(q, k[:2], v[:2], is_causal=True).data
    np.testing.assert_allclose(y[0], v[0], rtol=1e-15)
    np.testing.assert_allclose(y[1:], _reference(q[1:], k[:2], v[:2]), rtol=1e-14)


def test_a_float_mask_is_added_to_the_scores():
    rng = np.random.default_rng(2)
    q, k, v = (
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((2, 5, 4)),
        rng.standard_normal((2, 5, 3)),
    )
    bias = rng.standard_normal((3, 5))
    np.testing.assert_allclose(sdpa(q, k, v, mask=bias).data, _reference(q, k, v, bias), rtol=1e-14)
    # a constant added to a row changes nothing (softmax is shift-invariant)
    shifted = bias + np.array([[100.0], [-3.0], [0.5]])
    np.testing.assert_allclose(
        sdpa(q, k, v, mask=shifted).data, _reference(q, k, v, bias), rtol=1e-12
    )
    # a bool mask is a float mask of 0 and -inf
    allowed = rng.random((3, 5)) < 0.7
    allowed[:, 0] = True
    np.testing.assert_allclose(
        sdpa(q, k, v, mask=allowed).data,
        sdpa(q, k, v, mask=np.where(allowed, 0.0, -np.inf)).data,
        rtol=1e-15,
    )


def test_scale_replaces_one_over_the_square_root_of_d():
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(
        sdpa(q, k, v, scale=0.3).data, _reference(q, k, v, scale=0.3), rtol=1e-14
    )
    np.testing.assert_allclose(
        sdpa(q, k, v, scale=np.float32(1)).data, _reference(q, k, v, scale=1.0)
    )


@pytest.mark.parametrize(
    'mask',
    [
        np.array([[True, True, False], [False, False, False]]),
        np.array([[0.0, 1.0, -np.inf], [-np.inf, -np.inf, -np.inf]]),
    ],
    ids=['bool', 'float'],
)
def test_a_query_that_may_attend_to_nothing_gets_zeros_and_zero_gradients(mask):
    # as PyTorch's math backend: not the nan of 0 / 0, and no nan in other gradients
    rng = np.random.default_rng(4)
    q, k, v = (Variable(rng.standard_normal(s)) for s in [(2, 2), (3, 2), (3, 2)])
    with np.errstate(all='raise'):
        y = sdpa(q, k, v, mask=mask)
        y.backward()
    np.testing.assert_array_equal(y.data[1], [0.0, 0.0])
    bias = np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask
    np.testing.assert_allclose(y.data[0], _reference(q.data[:1], k.data, v.data, bias[0])[0])
    np.testing.assert_array_equal(q.grad.data[1], [0.0, 0.0])
    alone = [Variable(a.data.copy()) for a in (q, k, v)]
    sdpa(alone[0][:1], alone[1], alone[2], mask=mask[:1]).backward()
    np.testing.assert_allclose(k.grad.data, alone[1].grad.data, rtol=1e-15)  # row 1: nothing
    np.testing.assert_allclose(v.grad.data, alone[2].grad.data, rtol=1e-15)


@pytest.mark.parametrize(
    'kwargs', [{}, {'is_causal': True}, {'mask': np.ones((3, 0), bool)}, {'mask': np.ones((3, 0))}]
)
def test_no_keys_give_zeros_and_zero_gradients(kwargs):
    # S = 0: every query attends to nothing, as in PyTorch (zeros of shape (..., L, Dv))
    q, k, v = (
        Variable(np.ones((2, 3, 4))),
        Variable(np.ones((2, 0, 4))),
        Variable(np.ones((2, 0, 5))),
    )
    with np.errstate(all='raise'):
        y = sdpa(q, k, v, **kwargs)
        F.sum(y * y + y).backward(create_graph=True)
    np.testing.assert_array_equal(y.data, np.zeros((2, 3, 5)))
    np.testing.assert_array_equal(q.grad.data, np.zeros((2, 3, 4)))
    assert k.grad.shape == (2, 0, 4) and v.grad.shape == (2, 0, 5)
    gq = q.grad
    q.cleargrad()
    F.sum(gq * gq).backward()
    np.testing.assert_array_equal(q.grad.data, np.zeros((2, 3, 4)))


# ---- gradients ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    'shapes, kwargs',
    [
        (((3, 2), (4, 2), (4, 3)), {}),
        (((2, 3, 2), (2, 4, 2), (2, 4, 1)), {'is_causal': True}),
        (((2, 1, 2, 3), (3, 4, 3), (2, 3, 4, 2)), {}),  # batch axes broadcast
        (((2, 3), (3, 3), (3, 2)), {'mask': np.array([[True, False, True]] * 2)}),
    ],
    ids=['plain', 'causal', 'broadcast', 'bool-mask'],
)
def test_gradients_first_and_second_order(shapes, kwargs, sample, check_grads):
    check_grads(lambda q, k, v: sdpa(q, k, v, **kwargs), *(sample(s) for s in shapes))


def test_a_float_mask_gets_its_gradient(sample, check_grads):
    q, k, v, m = sample((2, 3)), sample((4, 3)), sample((4, 2)), sample((2, 4))
    check_grads(lambda q, k, v, m: sdpa(q, k, v, mask=m), q, k, v, m)
    # one mask for a batch: its gradient summed over the batch
    q, k, v = (Variable(sample(s)) for s in [(2, 3, 3), (2, 4, 3), (2, 4, 2)])
    check_grads(lambda m: sdpa(q, k, v, mask=m), sample((1, 4)))


def test_keeps_float32(sample, assert_keeps_float32):
    assert_keeps_float32(sdpa, sample((2, 3)), sample((4, 3)), sample((4, 2)))
    assert_keeps_float32(
        lambda q, k, v: sdpa(q, k, v, is_causal=True),
        sample((3, 3)),
        sample((3, 3)),
        sample((3, 2)),
    )
    # a float64 mask is cast to the dtype of the scores; a float32 Variable mask keeps
    # its gradient in float32
    assert_keeps_float32(
        lambda q, k, v, m: sdpa(q, k, v, mask=m),
        sample((2, 3)),
        sample((4, 3)),
        sample((4, 2)),
        sample((2, 4)),
    )
    q = Variable(sample((2, 3), dtype=np.float32))
    assert sdpa(q, q, q, mask=np.zeros((2, 2))).dtype == np.float32
    assert sdpa(q, q, q, mask=np.array([[True, False], [True, True]])).dtype == np.float32


# ---- against PyTorch ---------------------------------------------------------------------
def _torch_sdpa(**kwargs):
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    def f(q, k, v, *mask):
        shape = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        q, k, v = (t.expand(*shape, *t.shape[-2:]) for t in (q, k, v))
        with sdpa_kernel(SDPBackend.MATH):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, *mask, **kwargs)

    return f


TORCH_CASES = {
    'plain': ([(2, 3, 4), (2, 5, 4), (2, 5, 3)], {}, {}),
    'broadcast-batch': ([(2, 1, 3, 4), (3, 5, 4), (2, 3, 5, 2)], {}, {}),
    'bool-mask': ([(2, 3, 4), (2, 5, 4), (2, 5, 3)], 'bool', None),
    'float-mask': ([(2, 3, 4), (2, 5, 4), (2, 5, 3)], 'float', None),
    'causal': ([(2, 4, 3), (2, 4, 3), (2, 4, 2)], {'is_causal': True}, {'is_causal': True}),
    'causal-L-ne-S': ([(5, 3), (3, 3), (3, 2)], {'is_causal': True}, {'is_causal': True}),
    'scale': ([(3, 4), (5, 4), (5, 2)], {'scale': 0.25}, {'scale': 0.25}),
    'no-keys': ([(2, 3, 4), (2, 0, 4), (2, 0, 3)], {}, {}),
}
BOOL_MASK = np.array(
    [
        [True, False, True, True, False],
        [False, False, False, False, False],  # attends to nothing
        [True, True, True, True, True],
    ]
)


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
@pytest.mark.parametrize('name', TORCH_CASES)
def test_agrees_with_pytorch(name, dtype, sample):
    torch = pytest.importorskip('torch')
    from oracle import assert_agree

    shapes, ours, theirs = TORCH_CASES[name]
    inputs = [sample(s).astype(dtype) for s in shapes]
    if ours == 'bool':
        f = lambda q, k, v: sdpa(q, k, v, mask=BOOL_MASK)  # noqa: E731
        torch_f = lambda q, k, v: _torch_sdpa()(q, k, v, torch.from_numpy(BOOL_MASK))  # noqa: E731
    elif ours == 'float':  # differentiated, with -inf in places
        bias = sample((3, 5)).astype(dtype)
        bias[0, 1] = -np.inf
        inputs.append(bias)
        f = lambda q, k, v, m: sdpa(q, k, v, mask=m)  # noqa: E731
        torch_f = _torch_sdpa()
    else:
        f = lambda q, k, v: sdpa(q, k, v, **ours)  # noqa: E731
        torch_f = _torch_sdpa(**theirs)
    assert_agree(f, torch_f, inputs)


def test_batched_matmul_agrees_with_pytorch(sample):
    # attention's products: (..., L, D) @ (..., D, S) with the batch axes broadcast
    torch = pytest.importorskip('torch')
    from oracle import assert_agree

    for shapes in [((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 3, 4, 5)), ((2, 3, 4), (2, 4, 5))]:
        assert_agree(F.matmul, torch.matmul, [sample(s) for s in shapes], second=True)


# ---- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'shapes, message',
    [
        (((3,), (4, 3), (4, 2)), 'q, k and v must have at least 2 axes'),
        (((2, 3), (4, 2), (4, 2)), 'q and k must have the same last axis D'),
        (((2, 3), (4, 3), (5, 2)), 'k and v must have the same number S of positions'),
        (((2, 2, 3), (3, 4, 3), (4, 2)), 'the leading (batch) axes do not broadcast'),
    ],
)
def test_bad_shapes_are_refused_naming_them(shapes, message):
    q, k, v = (np.ones(s) for s in shapes)
    listed = f'q {shapes[0]}, k {shapes[1]}, v {shapes[2]}'
    with pytest.raises(
        ValueError,
        match=re.escape(f'scaled_dot_product_attention: {message}') + '.*' + re.escape(listed),
    ):
        sdpa(q, k, v)


def test_bad_masks_are_refused():
    q, k, v = np.ones((2, 3)), np.ones((4, 3)), np.ones((4, 2))
    with pytest.raises(
        ValueError, match='scaled_dot_product_attention: give either mask or is_causal'
    ):
        sdpa(q, k, v, mask=np.ones((2, 4), bool), is_causal=True)
    with pytest.raises(TypeError, match='mask must be bool .* got dtype int64'):
        sdpa(q, k, v, mask=np.ones((2, 4), np.int64))
    message = 'mask of shape (3, 4) does not broadcast to the shape of the attention weights (2, 4)'
    with pytest.raises(ValueError, match=re.escape(message)):
        sdpa(q, k, v, mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match=re.escape('mask of shape (2, 2, 4)')):
        sdpa(q, k, v, mask=np.ones((2, 2, 4), bool))  # would grow the result
    with pytest.raises(TypeError, match='mask must be a bool or float array .* got list'):
        sdpa(q, k, v, mask=[[True] * 4] * 2)
    with pytest.raises(
        TypeError, match=re.escape("scale must be a real number or None, got '0.5'")
    ):
        sdpa(q, k, v, scale='0.5')


@pytest.mark.parametrize('flag', ['False', 'True', 1, None, np.array([True, False])])
def test_is_causal_must_be_true_or_false(flag):
    q = np.ones((3, 2))
    with pytest.raises(
        TypeError, match='scaled_dot_product_attention: is_causal must be True or False, got'
    ):
        sdpa(q, q, q, is_causal=flag)


def test_is_causal_takes_a_numpy_bool():
    q = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(
        sdpa(q, q, q, is_causal=np.False_).data, sdpa(q, q, q, is_causal=False).data
    )
    np.testing.assert_array_equal(sdpa(q, q, q, is_causal=np.True_).data[0], q[0])


def test_the_registry_checks_catch_a_broken_softmax_derivative_in_attention(monkeypatch):
    from registry import CASES
    from test_gradient_registry import check_case

    forward = activation.SoftmaxGrad.forward

    def wrong(self, y, gy):  # 1% off
        return forward(self, y, gy) * 1.01

    monkeypatch.setattr(activation.SoftmaxGrad, 'forward', wrong)
    c = next(c for c in CASES if c.id == 'scaled_dot_product_attention-plain')
    with pytest.raises(AssertionError, match='first order'):
        check_case(c)


# ---- float16: one rounding to the result -------------------------------------------------------
@pytest.mark.parametrize('mask', [None, 'bool', 'float'])
def test_float16_attention_is_computed_in_float32_and_rounded_once(mask):
    # each step rounded to float16 (the scaled q, the scores, the softmax, the
    # product) gave errors of thousands of its units near 0
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3, 8, 16)).astype(np.float16) for _ in range(3)]
    masks = {
        'bool': rng.uniform(size=(8, 8)) < 0.8,
        'float': rng.standard_normal((8, 8)).astype(np.float16),
    }
    gy = rng.standard_normal((2, 3, 8, 16)).astype(np.float16)
    results = []
    for dtype in (np.float16, np.float64):
        xs = [Variable(a.astype(dtype)) for a in arrays]
        m = masks.get(mask)
        m = m.astype(dtype) if mask == 'float' else m
        y = F.scaled_dot_product_attention(*xs, mask=m)
        y.grad = Variable(gy.astype(dtype))
        y.backward()
        results.append([y.data] + [x.grad.data for x in xs])
    for a, b in zip(*results):
        assert a.dtype == np.float16
        assert float16_ulps(a, b) <= 1


def test_float16_mask_variable_gets_a_float16_gradient():
    rng = np.random.default_rng(1)
    q, k, v = (Variable(rng.standard_normal((4, 8)).astype(np.float16)) for _ in range(3))
    mask = Variable(np.zeros((4, 4), np.float16))
    F.sum(F.scaled_dot_product_attention(q, k, v, mask=mask)).backward()
    assert mask.grad.dtype == np.float16 and q.grad.dtype == np.float16

"""LayerNorm and MultiHeadAttention: values and gradients against torch.nn.LayerNorm and
torch.nn.MultiheadAttention holding the same weights, central differences, lazy sizes,
float32 throughout, errors, and a small transformer-style block that learns."""

import re

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Variable
from dezero.layers import Layer, LayerNorm, Linear, MultiHeadAttention
from dezero.optimizers import Adam
from dezero.utils import gradient_check

from test_layers_conv_rnn import assert_param_grads


def names(layer):
    return [name for name, _ in layer.named_params()]


# --------------------------------------------------------------------------------------
# LayerNorm
# --------------------------------------------------------------------------------------
def test_layer_norm_creates_float32_ones_and_zeros_from_the_last_axis():
    ln = LayerNorm()
    assert names(ln) == ['gamma', 'beta'] and ln.gamma.data is None
    assert repr(ln) == 'LayerNorm(size=?)'
    y = ln(np.arange(24.0).reshape(2, 3, 4))
    assert y.shape == (2, 3, 4) and y.dtype == np.float32
    np.testing.assert_array_equal(ln.gamma.data, np.ones(4, np.float32))
    np.testing.assert_array_equal(ln.beta.data, np.zeros(4, np.float32))
    assert ln.gamma.dtype == ln.beta.dtype == np.float32
    assert repr(ln) == 'LayerNorm(size=4)'
    assert (
        repr(LayerNorm(eps=1e-6, dtype=np.float64)) == 'LayerNorm(size=?, eps=1e-06, dtype=float64)'
    )


def test_layer_norm_values_by_hand():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 5)) * 4 + 7
    ln = LayerNorm(eps=1e-3, dtype=np.float64)
    ln(x)
    ln.gamma.data = rng.standard_normal(5)
    ln.beta.data = rng.standard_normal(5)
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)  # biased: divided by the number of features
    expected = (x - mean) / np.sqrt(var + 1e-3) * ln.gamma.data + ln.beta.data
    np.testing.assert_allclose(ln(x).data, expected, rtol=1e-12, atol=1e-12)
    with dezero.test_mode():  # no running statistics: the same in test mode
        np.testing.assert_allclose(ln(x).data, expected, rtol=1e-12, atol=1e-12)
    one = ln(x[:1, :1])  # a batch of one is fine
    np.testing.assert_allclose(one.data, expected[:1, :1], rtol=1e-12, atol=1e-12)


def test_layer_norm_agrees_with_torch_in_values_and_gradients():
    torch = pytest.importorskip('torch')
    torch.manual_seed(0)
    t_ln = torch.nn.LayerNorm(6, eps=1e-4).double()
    with torch.no_grad():
        t_ln.weight.normal_()
        t_ln.bias.normal_()
    x = np.random.RandomState(0).randn(2, 3, 6) * 3
    w = np.random.RandomState(1).randn(2, 3, 6)
    tx = torch.tensor(x, requires_grad=True)
    t_y = t_ln(tx)
    (t_y * torch.tensor(w)).sum().backward()

    ln = LayerNorm(eps=1e-4, dtype=np.float64)
    ln(x)
    ln.gamma.data = t_ln.weight.detach().numpy().copy()
    ln.beta.data = t_ln.bias.detach().numpy().copy()
    vx = Variable(x)
    y = ln(vx)
    F.sum(y * w).backward()
    close = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.data, t_y.detach().numpy(), **close)
    np.testing.assert_allclose(vx.grad.data, tx.grad.numpy(), **close)
    np.testing.assert_allclose(ln.gamma.grad.data, t_ln.weight.grad.numpy(), **close)
    np.testing.assert_allclose(ln.beta.grad.data, t_ln.bias.grad.numpy(), **close)


def test_layer_norm_gradients_against_central_differences():
    rng = np.random.default_rng(1)
    ln = LayerNorm(dtype=np.float64)
    x = rng.standard_normal((2, 3, 4))
    ln(x)
    ln.gamma.data = rng.standard_normal(4)
    ln.beta.data = rng.standard_normal(4)
    assert gradient_check(lambda v: F.tanh(ln(v)), x)
    weights = rng.standard_normal(x.shape)
    assert assert_param_grads(ln, lambda: F.sum(F.tanh(ln(x)) * weights)) == 2


@pytest.mark.parametrize('dtype', [np.int64, np.float64])
def test_layer_norm_casts_its_input_to_float32(dtype):
    ln = LayerNorm()
    x = Variable((np.arange(12).reshape(3, 4) % 5).astype(dtype))
    y = ln(x)
    assert y.dtype == np.float32
    F.sum(y * np.arange(4, dtype=np.float32)).backward()
    assert ln.gamma.grad.dtype == ln.beta.grad.dtype == np.float32
    # float64 data gets its gradient back in float64, and so does integer data, whose
    # gradients are float64 (never integer); the layer itself stays float32
    assert x.grad.dtype == np.float64


def test_layer_norm_errors_name_the_layer_and_the_shapes():
    ln = LayerNorm()
    ln(np.zeros((2, 4), np.float32))
    with pytest.raises(
        ValueError,
        match=r'LayerNorm: the input has 5 features in its last axis \(shape \(2, 5\)\) '
        r'but gamma has shape \(4,\)',
    ):
        ln(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match='LayerNorm: expected an input of shape'):
        LayerNorm()(np.float32(1.0))
    with pytest.raises(ValueError, match="LayerNorm: the size of the input's last axis must"):
        LayerNorm()(np.zeros((2, 0), np.float32))
    for eps, error in ((0, ValueError), (-1e-5, ValueError), (float('nan'), ValueError)):
        with pytest.raises(error, match=f'LayerNorm: eps must be a positive number, got {eps}'):
            LayerNorm(eps=eps)
    with pytest.raises(TypeError, match='LayerNorm: eps must be a positive number'):
        LayerNorm(eps='1e-5')
    with pytest.raises(ValueError, match='LayerNorm: dtype must be a floating-point type'):
        LayerNorm(dtype=np.int32)


def test_layer_norm_round_trips_through_a_file(tmp_path):
    ln = LayerNorm()
    x = np.random.RandomState(2).randn(2, 3).astype(np.float32)
    ln(x)
    ln.gamma.data[...] = [1.0, 2.0, 3.0]
    ln.save_weights(tmp_path / 'ln.npz')
    fresh = LayerNorm()
    fresh.load_weights(tmp_path / 'ln.npz')
    np.testing.assert_array_equal(fresh(x).data, ln(x).data)


# --------------------------------------------------------------------------------------
# MultiHeadAttention
# --------------------------------------------------------------------------------------
def test_attention_parameters_in_order_and_float32():
    mha = MultiHeadAttention(8, 2)
    assert names(mha) == [f'{p}/{w}' for p in ('query', 'key', 'value', 'out') for w in 'Wb']
    assert all(p.shape in ((8, 8), (8,)) and p.dtype == np.float32 for p in mha.params())
    assert repr(mha).splitlines()[0] == 'MultiHeadAttention(embed=8, heads=2)'
    x = Variable(np.random.RandomState(0).randn(3, 5, 8).astype(np.float32))
    y = mha(x)
    assert y.shape == (3, 5, 8) and y.dtype == np.float32
    F.sum(y * y).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in mha.params())
    f64 = MultiHeadAttention(4, 4, dtype=np.float64)
    assert all(p.dtype == np.float64 for p in f64.params())


def torch_attention_and_copy(torch, embed_size, num_heads):
    """A torch.nn.MultiheadAttention (float64, random biases) and a MultiHeadAttention
    holding the same weights."""
    t_mha = torch.nn.MultiheadAttention(embed_size, num_heads, batch_first=True).double()
    with torch.no_grad():  # PyTorch starts the biases at zero
        t_mha.in_proj_bias.normal_()
        t_mha.out_proj.bias.normal_()
    W = t_mha.in_proj_weight.detach().numpy()  # [W_q; W_k; W_v], each (out, in)
    b = t_mha.in_proj_bias.detach().numpy()
    mha = MultiHeadAttention(embed_size, num_heads, dtype=np.float64)
    E = embed_size
    for i, name in enumerate(('query', 'key', 'value')):
        getattr(mha, name).W.data = W[i * E : (i + 1) * E].T.copy()
        getattr(mha, name).b.data = b[i * E : (i + 1) * E].copy()
    mha.out.W.data = t_mha.out_proj.weight.detach().numpy().T.copy()
    mha.out.b.data = t_mha.out_proj.bias.detach().numpy().copy()
    return t_mha, mha


def masks(kind, N, heads, L, rng):
    """(keyword arguments for MultiHeadAttention.forward, for the torch module)."""
    import torch

    if kind == 'none':
        return {}, {}
    if kind == 'causal':  # PyTorch's float mask: -inf above the diagonal
        return {'is_causal': True}, {
            'attn_mask': torch.nn.Transformer.generate_square_subsequent_mask(
                L, dtype=torch.float64
            )
        }
    if kind == 'bool':  # one (L, L) mask for all; the diagonal kept so no row is empty
        allowed = (rng.random((L, L)) < 0.5) | np.eye(L, dtype=bool)
        return {'mask': allowed}, {'attn_mask': torch.from_numpy(~allowed)}
    if kind == 'per_head':  # PyTorch wants (N * heads, L, L), sample-major
        allowed = (rng.random((N, heads, L, L)) < 0.5) | np.eye(L, dtype=bool)
        return {'mask': allowed}, {'attn_mask': torch.from_numpy(~allowed.reshape(-1, L, L))}
    if kind == 'padding':  # sample n sees only its first lengths[n] positions
        keep = np.arange(L) < np.array([L, 2])[:, None]
        return {'mask': keep[:, None, None, :]}, {'key_padding_mask': torch.from_numpy(~keep)}
    raise AssertionError(kind)


@pytest.mark.parametrize('embed_size, num_heads', [(6, 3), (4, 1)])
@pytest.mark.parametrize('kind', ['none', 'causal', 'bool', 'per_head', 'padding'])
def test_attention_agrees_with_torch_in_values_and_gradients(kind, embed_size, num_heads):
    torch = pytest.importorskip('torch')
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    N, L, E = 2, 5, embed_size
    t_mha, mha = torch_attention_and_copy(torch, E, num_heads)
    ours, theirs = masks(kind, N, num_heads, L, rng)
    x = rng.standard_normal((N, L, E))
    w = rng.standard_normal((N, L, E))

    tx = torch.tensor(x, requires_grad=True)
    t_y, _ = t_mha(tx, tx, tx, need_weights=False, **theirs)
    (t_y * torch.tensor(w)).sum().backward()
    vx = Variable(x)
    y = mha(vx, **ours)
    F.sum(y * w).backward()

    close = dict(rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(y.data, t_y.detach().numpy(), **close)
    np.testing.assert_allclose(vx.grad.data, tx.grad.numpy(), **close)
    gW, gb = t_mha.in_proj_weight.grad.numpy(), t_mha.in_proj_bias.grad.numpy()
    for i, name in enumerate(('query', 'key', 'value')):
        rows = slice(i * E, (i + 1) * E)
        np.testing.assert_allclose(getattr(mha, name).W.grad.data, gW[rows].T, **close)
        np.testing.assert_allclose(getattr(mha, name).b.grad.data, gb[rows], **close)
    np.testing.assert_allclose(mha.out.W.grad.data, t_mha.out_proj.weight.grad.numpy().T, **close)
    np.testing.assert_allclose(mha.out.b.grad.data, t_mha.out_proj.bias.grad.numpy(), **close)


@pytest.mark.parametrize('kwargs', [{}, {'is_causal': True}])
def test_attention_on_an_empty_sequence_agrees_with_torch(kwargs):
    # length 0: an empty output, and zero gradients to the weights
    torch = pytest.importorskip('torch')
    torch.manual_seed(0)
    t_mha, mha = torch_attention_and_copy(torch, 4, 2)
    x = np.zeros((2, 0, 4))
    tx = torch.tensor(x, requires_grad=True)
    t_y, _ = t_mha(tx, tx, tx, need_weights=False)
    t_y.sum().backward()
    vx = Variable(x)
    y = mha(vx, **kwargs)
    F.sum(y).backward()
    assert y.shape == tuple(t_y.shape) == (2, 0, 4)
    assert vx.grad.shape == (2, 0, 4)
    for name in ('query', 'key', 'value'):
        np.testing.assert_array_equal(getattr(mha, name).W.grad.data, np.zeros((4, 4)))
    np.testing.assert_array_equal(mha.out.b.grad.data, t_mha.out_proj.bias.grad.numpy())


def test_causal_attention_does_not_look_ahead():
    """Changing the last position changes only the last output; without the causal
    mask every output changes."""
    np.random.seed(3)
    mha = MultiHeadAttention(4, 2)
    x = np.random.randn(1, 4, 4).astype(np.float32)
    x2 = x.copy()
    x2[0, -1] += 1.0
    before, after = mha(x, is_causal=True).data, mha(x2, is_causal=True).data
    np.testing.assert_array_equal(before[0, :-1], after[0, :-1])
    assert not np.allclose(before[0, -1], after[0, -1])
    changed = np.abs(mha(x).data - mha(x2).data).max(axis=-1)
    assert (changed > 1e-4).all()


@pytest.mark.parametrize('causal', [False, True])
def test_attention_gradients_against_central_differences(causal):
    np.random.seed(4)
    mha = MultiHeadAttention(4, 2, dtype=np.float64)
    for p in mha.params():
        p.data[...] = np.random.randn(*p.shape) * 0.5
    x = np.random.randn(2, 3, 4)
    assert gradient_check(lambda v: mha(v, is_causal=causal), x)
    weights = np.random.randn(2, 3, 4)
    loss = lambda: F.sum(mha(x, is_causal=causal) * weights)  # noqa: E731
    assert assert_param_grads(mha, loss) == 8


@pytest.mark.parametrize('dtype', [np.int64, np.float64])
def test_attention_casts_its_input_to_float32(dtype):
    mha = MultiHeadAttention(4, 2)
    x = Variable((np.arange(24).reshape(2, 3, 4) % 5).astype(dtype))
    y = mha(x, mask=np.tril(np.ones((3, 3), bool)))
    assert y.dtype == np.float32
    F.sum(y).backward()
    assert all(p.grad.dtype == np.float32 for p in mha.params())
    # float64 data gets its gradient back in float64, and so does integer data, whose
    # gradients are float64 (never integer); the layer itself stays float32
    assert x.grad.dtype == np.float64


def test_attention_errors_name_the_layer_and_what_was_expected():
    with pytest.raises(
        ValueError, match='MultiHeadAttention: embed_size 10 is not divisible by num_heads 3'
    ):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match='MultiHeadAttention: num_heads must be a positive'):
        MultiHeadAttention(4, 0)
    with pytest.raises(TypeError, match='MultiHeadAttention: embed_size must be a positive'):
        MultiHeadAttention(4.0, 2)
    with pytest.raises(ValueError, match='MultiHeadAttention: dtype must be a floating-point'):
        MultiHeadAttention(4, 2, dtype=np.int64)
    mha = MultiHeadAttention(4, 2)
    for shape in ((3, 4), (2, 3, 5), (1, 2, 3, 4)):
        with pytest.raises(
            ValueError,
            match=rf'MultiHeadAttention: expected an input of shape \(batch, length, 4\), '
            rf'got shape {re_shape(shape)}',
        ):
            mha(np.zeros(shape, np.float32))
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(TypeError, match='MultiHeadAttention: mask must be a bool array'):
        mha(x, mask=np.ones((3, 3), np.float32))
    with pytest.raises(TypeError, match='MultiHeadAttention: mask must be a bool array'):
        mha(x, mask=[[True] * 3] * 3)
    with pytest.raises(
        ValueError,
        match=r'MultiHeadAttention: the mask of shape \(4, 4\) does not broadcast to the '
        r'attention scores of shape \(2, 2, 3, 3\)',
    ):
        mha(x, mask=np.ones((4, 4), bool))
    with pytest.raises(ValueError, match='MultiHeadAttention: give either mask or is_causal'):
        mha(x, is_causal=True, mask=np.ones((3, 3), bool))


@pytest.mark.parametrize('flag', ['False', 1, None, np.array([True, False])])
def test_multi_head_attention_is_causal_must_be_true_or_false(flag):
    mha = MultiHeadAttention(4, 2)
    with pytest.raises(TypeError, match='MultiHeadAttention: is_causal must be True or False'):
        mha(np.zeros((2, 3, 4), np.float32), is_causal=flag)


def re_shape(shape):
    return str(shape).replace('(', r'\(').replace(')', r'\)')


# --------------------------------------------------------------------------------------
# Training: a pre-norm attention block learns a causal running mean
# --------------------------------------------------------------------------------------
class Block(Layer):
    def __init__(self):
        super().__init__()
        self.norm = LayerNorm()
        self.attention = MultiHeadAttention(8, 2)
        self.head = Linear(8)

    def forward(self, x):
        N, L, E = x.shape
        h = x + self.attention(self.norm(x), is_causal=True)
        return F.reshape(self.head(F.reshape(h, (N * L, E))), (N, L, E))


def test_attention_block_learns_a_causal_running_mean():
    """The target at position t is the mean of the inputs at positions 0..t: attention
    spread evenly over the allowed positions.  The loss of the last 10 updates is under
    a fifth of that of the first 10."""
    rng = np.random.RandomState(0)
    np.random.seed(0)
    model = Block()
    optimizer = Adam(0.01).setup(model)
    counts = np.arange(1, 7, dtype=np.float32)[None, :, None]
    losses = []
    for _ in range(150):
        x = rng.randn(16, 6, 8).astype(np.float32)
        target = np.cumsum(x, axis=1) / counts
        loss = F.mean_squared_error(model(x), target)
        model.cleargrads()
        loss.backward()
        optimizer.update()
        losses.append(float(loss.data))
    assert all(p.dtype == np.float32 for p in model.params())
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) / 5, losses[::15]


def test_multi_head_attention_refuses_a_mask_that_broadcasts_only_both_ways():
    # a (batch, L, L) mask with one head broadcast with the scores (2, 1, 3, 3) to
    # (2, 2, 3, 3), so it passed the layer's check and failed deep in the attention
    mha = MultiHeadAttention(4, 1)
    x = np.zeros((2, 3, 4), np.float32)
    for shape in ((2, 3, 3), (1, 2, 2, 3, 3), (2, 2, 3, 3)):
        with pytest.raises(
            ValueError,
            match=rf'MultiHeadAttention: the mask of shape {re.escape(str(shape))} does not '
            r'broadcast to the attention scores of shape \(2, 1, 3, 3\) .*'
            r'one mask per sample as \(batch, 1, length, length\)',
        ):
            mha(x, mask=np.ones(shape, bool))
    assert mha(x, mask=np.ones((2, 1, 3, 3), bool)).shape == (2, 3, 4)


def test_multi_head_attention_takes_a_three_dimensional_mask_as_heads_length_length():
    # as the docstring says (and PyTorch's scaled_dot_product_attention does): the
    # axes of the mask line up with the last axes of (batch, heads, L, L)
    rng = np.random.default_rng(0)
    mha = MultiHeadAttention(4, 2)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    mask = rng.random((2, 3, 3)) > 0.4
    mask[..., 0] = True
    y = mha(x, mask=mask).data
    np.testing.assert_array_equal(y, mha(x, mask=mask[None]).data)
    assert not np.allclose(y, mha(x, mask=mask[:, None]).data)

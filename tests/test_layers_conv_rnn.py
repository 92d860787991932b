"""The layers beyond Linear: Conv2d and Deconv2d, BatchNorm on images, the recurrent
RNN, LSTM and GRU, and EmbedID.  Values by hand (NumPy), gradients against central
differences, lazy initialisation, state handling, errors, and small training runs; the
GRU also against torch.nn.GRUCell with the same weights."""

from pathlib import Path

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Parameter, Variable, cuda
from dezero.dataloaders import SeqDataLoader
from dezero.models import Model
from dezero.layers import GRU, LSTM, RNN, BatchNorm, Conv2d, Deconv2d, EmbedID, Layer, Linear
from dezero.optimizers import Adam
from dezero.utils import gradgrad_check, gradient_check, pair
from test_layers import (
    assert_a_failed_first_call_changes_nothing,
    failing_in,
    raising,
    random_state_now,
)


def names(layer):
    return [name for name, _ in layer.named_params()]


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def assert_param_grads(layer, loss_fn, only=None, eps=1e-6, rtol=1e-5, atol=1e-8):
    """The backprop gradient of ``loss_fn()`` (a scalar Variable computed with
    ``layer``) with respect to each of the layer's parameters (or those named in
    ``only``) matches central differences, taken by moving each element in place.
    Returns how many parameters were checked."""
    layer.cleargrads()
    loss_fn().backward()
    checked = 0
    for name, p in layer.named_params():
        if only is not None and name not in only:
            continue
        assert p.grad is not None, f'{name} got no gradient'
        numeric = np.zeros_like(p.data)
        flat = p.data.reshape(-1)  # a view: edits reach p.data
        for k in range(flat.size):
            original = flat[k]
            flat[k] = original + eps
            plus = float(loss_fn().data)
            flat[k] = original - eps
            minus = float(loss_fn().data)
            flat[k] = original
            numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(p.grad.data, numeric, rtol=rtol, atol=atol, err_msg=name)
        checked += 1
    return checked


# --------------------------------------------------------------------------------------
# Conv2d and Deconv2d
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('cls, w_shape', [(Conv2d, (8, 3, 3, 2)), (Deconv2d, (3, 8, 3, 2))])
def test_conv_weights_are_lazy_he_scaled_and_reproducible(cls, w_shape):
    layer = cls(8, (3, 2))
    assert names(layer) == ['W', 'b'] and layer.W.data is None
    assert layer.in_channels is None
    np.random.seed(7)
    layer(np.zeros((2, 3, 6, 6), np.float32))
    np.random.seed(7)
    expected = (np.random.randn(*w_shape) * np.sqrt(2 / (3 * 3 * 2))).astype(np.float32)
    np.testing.assert_array_equal(layer.W.data, expected)  # fan_in = C * KH * KW
    assert layer.W.dtype == np.float32 and layer.in_channels == 3
    np.testing.assert_array_equal(layer.b.data, np.zeros(8, np.float32))
    assert layer.b.dtype == np.float32


@pytest.mark.parametrize('cls', [Conv2d, Deconv2d])
def test_conv_eager_weights_dtype_and_nobias(cls):
    layer = cls(64, 3, in_channels=16, nobias=True, dtype=np.float64)
    assert names(layer) == ['W'] and layer.b is None and layer.in_channels == 16
    assert layer.W.dtype == np.float64 and layer.W.size == 64 * 16 * 9
    assert abs(layer.W.data.std() / np.sqrt(2 / (16 * 9)) - 1) < 0.05
    assert abs(layer.W.data.mean()) < 0.01


@pytest.mark.parametrize(
    'hw, kernel, stride, pad, out',
    [
        ((7, 7), 3, 1, 0, (5, 5)),
        ((7, 7), 3, 1, 1, (7, 7)),
        ((7, 7), 3, 2, 1, (4, 4)),
        ((8, 6), (3, 2), (2, 1), (1, 0), (4, 5)),
        ((5, 5), 5, 1, 2, (5, 5)),
        ((4, 4), 1, 3, 0, (2, 2)),
    ],
)
def test_conv_output_shapes(hw, kernel, stride, pad, out):
    layer = Conv2d(5, kernel, stride, pad)
    assert layer(np.zeros((2, 3) + hw, np.float32)).shape == (2, 5) + out


@pytest.mark.parametrize(
    'hw, kernel, stride, pad, out',
    [
        ((5, 5), 3, 1, 0, (7, 7)),
        ((5, 5), 3, 1, 1, (5, 5)),
        ((4, 4), 4, 2, 1, (8, 8)),
        ((4, 3), (3, 2), (2, 1), (1, 0), (7, 4)),
    ],
)
def test_deconv_output_shapes(hw, kernel, stride, pad, out):
    layer = Deconv2d(5, kernel, stride, pad)
    assert layer(np.zeros((2, 3) + hw, np.float32)).shape == (2, 5) + out


def test_conv_values_by_hand():
    layer = Conv2d(1, 2, in_channels=1, dtype=np.float64)
    layer.W.data = np.ones((1, 1, 2, 2))
    layer.b.data = np.array([1.0])
    y = layer(np.arange(9.0).reshape(1, 1, 3, 3))  # sums of 2x2 windows, + 1
    np.testing.assert_array_equal(y.data, [[[[9.0, 13.0], [21.0, 25.0]]]])


def test_deconv_values_by_hand():
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    layer = Deconv2d(1, 2, in_channels=1, nobias=True, dtype=np.float64)
    layer.W.data = np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(
        layer(x).data,  # overlapping 2x2 stamps
        [[[[1, 3, 2], [4, 10, 6], [3, 7, 4]]]],
    )
    layer.stride = (2, 2)  # stamps side by side
    np.testing.assert_array_equal(
        layer(x).data, [[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]
    )


@pytest.mark.parametrize('cls, func', [(Conv2d, 'conv2d'), (Deconv2d, 'deconv2d')])
def test_conv_layer_equals_the_function_with_its_weights(cls, func):
    np.random.seed(8)
    layer = cls(4, (3, 2), stride=(2, 1), pad=1)
    x = np.random.randn(2, 3, 5, 6).astype(np.float32)
    layer(x)
    layer.b.data = np.random.randn(4).astype(np.float32)
    expected = getattr(F, func)(x, layer.W.data, layer.b.data, stride=(2, 1), pad=1)
    y = layer(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, expected.data)


@pytest.mark.parametrize('cls', [Conv2d, Deconv2d])
def test_conv_gradients_reach_weights_bias_and_input(cls):
    np.random.seed(9)
    layer = cls(2, 2, stride=2, pad=1, in_channels=2, dtype=np.float64)
    layer.b.data = np.array([0.3, -0.4])
    x = np.random.randn(2, 2, 3, 3)
    weights = np.random.randn(*layer(x).shape)
    assert assert_param_grads(layer, lambda: F.sum(F.tanh(layer(x)) * weights)) == 2
    assert gradient_check(lambda v: F.tanh(layer(v)), x)
    assert gradgrad_check(lambda v: F.tanh(layer(v)), x)


@pytest.mark.parametrize('cls', [Conv2d, Deconv2d])
def test_conv_plain_array_input_stays_plain_and_keeps_float32(cls):
    layer = cls(3, 3, pad=1)
    x = np.random.randn(2, 2, 4, 4).astype(np.float32)
    y = layer(x)
    assert y.creator.inputs[0].requires_grad is False  # a constant: no gradient for x
    F.sum(y).backward()
    gW = layer.W.grad.data.copy()
    layer.cleargrads()
    v = Variable(x)
    y = layer(v)
    F.sum(y).backward()
    # with x's gradient wanted too, the filter gradient may be summed in another order
    np.testing.assert_allclose(layer.W.grad.data, gW, rtol=1e-5, atol=1e-5)
    assert y.dtype == v.grad.dtype == layer.W.grad.dtype == layer.b.grad.dtype == np.float32


@pytest.mark.parametrize(
    'cls, w_shape', [(Conv2d, r'\(4, 3, 3, 3\)'), (Deconv2d, r'\(3, 4, 3, 3\)')]
)
def test_conv_wrong_channel_count_names_layer_and_shapes(cls, w_shape):
    name = cls.__name__
    for layer in (cls(4, 3), cls(4, 3, in_channels=3)):
        layer(np.zeros((1, 3, 5, 5), np.float32))
        with pytest.raises(
            ValueError,
            match=rf'{name}: the input has 5 channels \(shape '
            rf'\(1, 5, 5, 5\)\) but this layer expects '
            rf'3 \(W has shape {w_shape}\)',
        ):
            layer(np.zeros((1, 5, 5, 5), np.float32))
    with pytest.raises(
        ValueError,
        match=rf'{name}: expected an input of shape '
        r'\(batch, channels, height, width\), got '
        r'shape \(3, 5, 5\)',
    ):
        cls(4, 3)(np.zeros((3, 5, 5), np.float32))


@pytest.mark.parametrize('cls', [Conv2d, Deconv2d])
@pytest.mark.parametrize(
    'kwargs, error, pattern',
    [
        (dict(out_channels=0), ValueError, 'out_channels must be a positive integer, got 0'),
        (dict(kernel_size=0), ValueError, 'kernel_size must be at least 1, got 0'),
        (dict(kernel_size=(3, 0)), ValueError, r'kernel_size must be at least 1, got \(3, 0\)'),
        (dict(kernel_size=(3,)), TypeError, r'kernel_size must be an integer or a pair'),
        (dict(kernel_size=2.5), TypeError, 'kernel_size must be an integer or a pair'),
        (dict(stride=0), ValueError, 'stride must be at least 1'),
        (dict(pad=-1), ValueError, 'pad must be at least 0, got -1'),
        (dict(pad=True), TypeError, 'pad must be an integer or a pair'),
        (dict(in_channels=0), ValueError, 'in_channels must be a positive integer'),
        (dict(dtype=np.int64), ValueError, 'dtype must be a floating-point type, got int64'),
    ],
)
def test_conv_bad_arguments(cls, kwargs, error, pattern):
    args = dict(out_channels=4, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(error, match=f'{cls.__name__}: {pattern}'):
        cls(**args)


@pytest.mark.parametrize('cls', [Conv2d, Deconv2d])
def test_conv_save_and_load_round_trip(cls, tmp_path):
    np.random.seed(10)
    layer = cls(4, 3, stride=2, pad=1)
    x = np.random.randn(2, 3, 6, 6).astype(np.float32)
    layer(x)
    layer.b.data = np.random.randn(4).astype(np.float32)
    path = tmp_path / 'conv.npz'
    layer.save_weights(path)
    with np.load(path) as f:
        assert f.files == ['W', 'b']
    fresh = cls(4, 3, stride=2, pad=1)  # lazy: takes the file's W
    fresh.load_weights(path)
    assert fresh.in_channels == 3 and fresh.W.dtype == np.float32
    np.testing.assert_array_equal(fresh(x).data, layer(x).data)


class ConvBlock(Layer):
    """Conv2d -> BatchNorm -> relu -> Deconv2d: back to the input's height and width."""

    def __init__(self):
        super().__init__()
        self.conv = Conv2d(4, 3, stride=2, pad=1)
        self.bn = BatchNorm()
        self.deconv = Deconv2d(2, 4, stride=2, pad=1)

    def forward(self, x):
        return self.deconv(F.relu(self.bn(self.conv(x))))


def test_conv_batch_norm_deconv_block_trains_in_float32():
    np.random.seed(11)
    block = ConvBlock()
    x = np.random.randn(3, 2, 8, 8).astype(np.float32)
    y = block(x)
    assert y.shape == (3, 2, 8, 8) and y.dtype == np.float32
    assert block.bn.gamma.shape == (4,)
    optimizer = Adam(0.03).setup(block)
    losses = []
    for _ in range(30):  # learn to copy the input
        loss = F.mean_squared_error(block(x), x)
        block.cleargrads()
        loss.backward()
        optimizer.update()
        losses.append(float(loss.data))
    assert all(p.dtype == np.float32 for p in block.params())
    assert losses[-1] < losses[0] / 2, losses


# --------------------------------------------------------------------------------------
# _init_W: the book's hook for creating W
# --------------------------------------------------------------------------------------
def ramp(shape, xp, dtype):
    return (xp.arange(int(np.prod(shape))).reshape(shape) / 100).astype(dtype)


class RampConv2d(Conv2d):
    """The book's way to choose the initial weights: override ``_init_W(self, xp)``,
    read the sizes and dtype from the layer, and assign ``self.W.data``."""

    def _init_W(self, xp=np):
        C, OC = self.in_channels, self.out_channels
        KH, KW = pair(self.kernel_size)
        self.seen = (C, xp)
        self.W.data = ramp((OC, C, KH, KW), xp, self.dtype)


class RampDeconv2d(Deconv2d):
    def _init_W(self, xp=np):
        C, OC = self.in_channels, self.out_channels
        KH, KW = pair(self.kernel_size)
        self.seen = (C, xp)
        self.W.data = ramp((C, OC, KH, KW), xp, self.dtype)


RAMPS = [(RampConv2d, F.conv2d, (4, 2, 3, 3)), (RampDeconv2d, F.deconv2d, (2, 4, 3, 3))]


@pytest.mark.parametrize('eager', [False, True])
@pytest.mark.parametrize('cls, func, w_shape', RAMPS)
def test_a_books_conv_subclass_creates_its_own_W(cls, func, w_shape, eager):
    state = np.random.get_state()[1].copy()
    layer = cls(4, 3, pad=1, in_channels=2 if eager else None)
    assert (layer.W.data is not None) == eager
    x = np.arange(2 * 2 * 4 * 4, dtype=np.float32).reshape(2, 2, 4, 4) / 10
    y = layer(x)
    assert layer.seen == (2, np) and layer.in_channels == 2
    np.testing.assert_array_equal(layer.W.data, ramp(w_shape, np, np.float32))
    np.testing.assert_array_equal(y.data, func(x, layer.W.data, layer.b.data, 1, 1).data)
    # only the subclass's _init_W ran: nothing was drawn from the random generator
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize('eager', [False, True])
@pytest.mark.parametrize('cls, func, w_shape', RAMPS)
def test_a_books_conv_subclass_trains_from_its_own_W(cls, func, w_shape, eager):
    layer = cls(4, 3, pad=1, in_channels=2 if eager else None)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 5, 5)).astype(np.float32)
    t = func(x, rng.standard_normal(w_shape).astype(np.float32) / 5, None, 1, 1).data
    optimizer = Adam(0.05).setup(layer)
    losses = []
    for _ in range(30):
        loss = F.mean_squared_error(layer(x), t)
        layer.cleargrads()
        loss.backward()
        optimizer.update()
        losses.append(float(loss.data))
        if len(losses) == 1:  # the first loss is that of the subclass's W
            y0 = func(x, ramp(w_shape, np, np.float32), None, 1, 1).data
            np.testing.assert_allclose(losses[0], np.sum((y0 - t) ** 2) / len(t), rtol=1e-5)
    assert losses[-1] < losses[0] / 10, losses


@pytest.mark.parametrize('cls, w_shape', [(Conv2d, (8, 3, 3, 2)), (Deconv2d, (3, 8, 3, 2))])
def test_conv_seeded_weights_are_the_same_eagerly_and_lazily(cls, w_shape):
    np.random.seed(7)
    expected = (np.random.randn(*w_shape) * np.sqrt(2 / (3 * 3 * 2))).astype(np.float32)
    np.random.seed(7)
    np.testing.assert_array_equal(cls(8, (3, 2), in_channels=3).W.data, expected)
    layer = cls(8, (3, 2))
    layer(np.zeros((1, 3, 4, 4), np.float32))
    np.random.seed(7)
    layer._init_W()  # as the book allows: a new W for the known channels
    np.testing.assert_array_equal(layer.W.data, expected)


@pytest.mark.parametrize('cls', [Conv2d, Deconv2d])
def test_conv_init_W_before_the_channels_are_known_says_so(cls):
    layer = cls(8, 3)
    with pytest.raises(
        ValueError, match=rf'^{cls.__name__}\._init_W: in_channels is not known yet \(None\)'
    ):
        layer._init_W()
    assert layer.W.data is None


@pytest.mark.parametrize(
    'cls, w_shape', [(Conv2d, r'\(8, 2, 3, 3\)'), (Deconv2d, r'\(2, 8, 3, 3\)')]
)
def test_a_conv_init_W_that_gives_a_W_of_another_shape_is_refused(cls, w_shape):
    class Bad(cls):
        def _init_W(self, xp=np):  # (8, 3, 3, 3) whatever the input's channels
            self.W.data = xp.zeros((8, 3, 3, 3), self.dtype)

    layer = Bad(8, 3)
    with pytest.raises(
        ValueError,
        match=rf'^Bad\._init_W assigned W\.data of shape \(8, 3, 3, 3\); expected shape '
        rf'{w_shape} for the input size 2',
    ):
        layer(np.ones((1, 2, 4, 4), np.float32))
    # the refused W is not left behind (the next call took it for the layer's weights)
    assert layer.W.data is None and layer.in_channels is None


@pytest.mark.parametrize(
    'cls, args, x_shape',
    [(Linear, (3,), (2, 4)), (Conv2d, (3, 2), (1, 4, 3, 3)), (Deconv2d, (3, 2), (1, 4, 3, 3))],
)
def test_init_W_gets_the_module_of_the_first_input(cls, args, x_shape, monkeypatch):
    # a GPU input: the NumPy-backed stand-in for CuPy (tests/gpu/fake_cupy.py)
    monkeypatch.syspath_prepend(str(Path(__file__).parent / 'gpu'))
    import fake_cupy

    cp = fake_cupy.install(monkeypatch)
    seen = []

    class Recording(cls):
        def _init_W(self, xp=np):
            seen.append(xp)
            super()._init_W(xp)

    np.random.seed(0)
    cpu = cls(*args)
    cpu(np.ones(x_shape, np.float32))
    np.random.seed(0)
    gpu = Recording(*args)
    gpu.to_gpu()  # moves b; W, not made yet, is made on the device of the first input
    y = gpu(cp.ones(x_shape, np.float32))
    assert seen == [cp] and isinstance(gpu.W.data, cp.ndarray) and isinstance(y.data, cp.ndarray)
    np.testing.assert_array_equal(gpu.W.data.get(), cpu.W.data)  # drawn by NumPy, seeded


# --------------------------------------------------------------------------------------
# RNN
# --------------------------------------------------------------------------------------
def test_rnn_parameters_are_lazy_and_in_order():
    rnn = RNN(4)
    assert names(rnn) == ['x2h/W', 'x2h/b', 'h2h/W']
    assert rnn.x2h.W.data is None and rnn.h2h.W.data is None and rnn.h is None
    h = rnn(np.zeros((5, 3), np.float32))
    assert h.shape == (5, 4) and h.dtype == np.float32
    assert rnn.x2h.W.shape == (3, 4) and rnn.h2h.W.data is None  # the first step needs no h2h
    assert rnn.h is h
    rnn(np.zeros((5, 3), np.float32))
    assert rnn.h2h.W.shape == (4, 4)
    assert all(p.dtype == np.float32 for p in rnn.params())
    given = RNN(2, in_size=7)
    assert given.x2h.W.shape == (7, 2) and given.h2h.W.shape == (2, 2)
    assert all(p.dtype == np.float64 for p in RNN(2, 3, dtype=np.float64).params())


@pytest.mark.parametrize('in_size', [None, 1])
def test_rnn_draws_its_weights_in_the_books_order(in_size):
    # dezero drew h2h's W when the layer was made, the book's RNN (steps 59 and 60) on
    # the second step: seeded book code got other weights (x2h.W [1.8676, -0.9773]
    # instead of [1.7641, 0.4002])
    np.random.seed(0)
    draws = np.random.randn(1, 2), np.random.randn(2, 2)  # x2h.W, then h2h.W
    x2h_W = draws[0].astype(np.float32)  # in_size 1: scale sqrt(1 / 1)
    h2h_W = (draws[1] * np.sqrt(1 / 2)).astype(np.float32)  # hidden_size 2
    np.testing.assert_allclose(x2h_W, [[1.7640524, 0.4001572]], rtol=1e-6)
    np.random.seed(0)
    rnn = RNN(2, in_size=in_size)
    x = np.ones((1, 1), np.float32)
    h1 = rnn(x)
    h2 = rnn(x)
    np.testing.assert_allclose(rnn.x2h.W.data, x2h_W, rtol=1e-6)
    np.testing.assert_allclose(rnn.h2h.W.data, h2h_W, rtol=1e-6)
    expected = np.tanh(x @ x2h_W)
    np.testing.assert_allclose(h1.data, expected, rtol=1e-6)
    np.testing.assert_allclose(h2.data, np.tanh(x @ x2h_W + expected @ h2h_W), rtol=1e-6)


def test_rnn_draws_h2h_after_the_layers_its_first_step_feeds():
    # the book's SimpleRNN (step 59): x2h.W, then fc.W, on the first call; h2h.W on the
    # second
    np.random.seed(0)
    rnn, fc = RNN(3), Linear(1)
    x = np.ones((1, 1), np.float32)
    fc(rnn(x))
    fc(rnn(x))
    np.random.seed(0)
    x2h_W, fc_W, h2h_W = np.random.randn(1, 3), np.random.randn(3, 1), np.random.randn(3, 3)
    np.testing.assert_allclose(rnn.x2h.W.data, x2h_W, rtol=1e-6)
    np.testing.assert_allclose(fc.W.data, fc_W * np.sqrt(1 / 3), rtol=1e-6)
    np.testing.assert_allclose(rnn.h2h.W.data, h2h_W * np.sqrt(1 / 3), rtol=1e-6)


def test_a_lazy_rnn_describes_loads_and_summarises_its_h2h(tmp_path):
    import io

    rnn = RNN(3)
    assert rnn.param_specs() == {'h2h/W': ((3, 3), np.float32)}
    text = io.StringIO()
    rnn.summary(np.ones((2, 5), np.float32), file=text)
    assert '  h2h: Linear(in=?, out=3, nobias=True)  not called             ?' in text.getvalue()
    assert text.getvalue().endswith(
        'Trainable parameters: at least 18 (1 Parameters are created on a later call, such '
        'as the second step of an RNN)\n'
    )
    # a file with h2h's W: taken by a lazy RNN, cast to its dtype, of (hidden, hidden) only
    arrays = {'x2h/W': np.ones((5, 3)), 'x2h/b': np.zeros(3), 'h2h/W': np.full((3, 3), 0.5)}
    np.savez(tmp_path / 'all.npz', **arrays)
    lazy = RNN(3)
    lazy.load_weights(tmp_path / 'all.npz')
    assert lazy.h2h.W.data.dtype == np.float32
    np.testing.assert_array_equal(lazy.h2h.W.data, np.full((3, 3), 0.5, np.float32))
    np.savez(tmp_path / 'wide.npz', **{**arrays, 'h2h/W': np.ones((5, 3))})
    with pytest.raises(
        ValueError,
        match=r"^load_weights: the parameter 'h2h/W' \(not created yet\) expects shape "
        r'\(3, 3\) but .*wide\.npz holds shape \(5, 3\)',
    ):
        RNN(3).load_weights(tmp_path / 'wide.npz')
    # a file saved after one step has no h2h/W: the loaded RNN draws it on its second step
    del arrays['h2h/W']
    np.savez(tmp_path / 'first.npz', **arrays)
    lazy = RNN(3)
    lazy.load_weights(tmp_path / 'first.npz')
    assert lazy.h2h.W.data is None
    lazy(np.ones((2, 5), np.float32))
    lazy(np.ones((2, 5), np.float32))
    assert lazy.h2h.W.shape == (3, 3)


def test_rnn_steps_by_hand_and_reset_state():
    np.random.seed(0)
    rnn = RNN(3, in_size=2, dtype=np.float64)
    rnn.x2h.b.data = np.array([0.1, -0.2, 0.3])
    Wx, b, Wh = rnn.x2h.W.data, rnn.x2h.b.data, rnn.h2h.W.data
    x1, x2 = np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([[0.0, 1.0], [-1.0, 3.0]])
    h1 = np.tanh(x1 @ Wx + b)  # no previous state
    h2 = np.tanh(x2 @ Wx + b + h1 @ Wh)
    np.testing.assert_allclose(rnn(x1).data, h1, rtol=1e-12)
    np.testing.assert_allclose(rnn(x2).data, h2, rtol=1e-12)
    rnn.reset_state()
    assert rnn.h is None
    np.testing.assert_allclose(rnn(x2).data, np.tanh(x2 @ Wx + b), rtol=1e-12)


def unrolled(layer, steps):
    """``f(xs)``: the sum over time of the states of ``layer`` fed xs[0], xs[1], ...
    from a fresh state (xs of shape (steps, batch, width))."""

    def f(xs):
        layer.reset_state()
        total = 0
        for t in range(steps):
            total = total + F.sum(layer(xs[t]) * (t + 1.0))
        return total

    return f


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_gradient_with_respect_to_the_inputs_of_every_step(cls):
    np.random.seed(1)
    layer = cls(3, in_size=2, dtype=np.float64)
    xs = np.random.randn(3, 2, 2)
    f = unrolled(layer, 3)
    assert gradient_check(f, xs)
    assert gradgrad_check(f, xs)


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_gradient_with_respect_to_the_parameters(cls):
    np.random.seed(2)
    layer = cls(3, in_size=2, dtype=np.float64)
    for p in layer.params():  # non-zero biases too
        p.data[...] = np.random.randn(*p.shape) * 0.7
    xs = np.random.randn(3, 2, 2)
    f = unrolled(layer, 3)
    assert assert_param_grads(layer, lambda: f(xs)) == len(list(layer.params()))


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_single_sample_steps_and_float32(cls):
    layer = cls(4)
    x = Variable(np.ones((2, 3), np.float32))
    h = None
    for t in range(3):
        h = layer(x[t % 2])  # shape (3,): one sample
    assert h.shape == (4,) and h.dtype == np.float32
    F.sum(h).backward()
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.params())


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_a_new_batch_size_needs_reset_state(cls):
    layer = cls(3)
    layer(np.zeros((4, 2), np.float32))
    with pytest.raises(
        ValueError,
        match=rf'{cls.__name__}: the input of shape \(5, 2\) '
        rf'does not fit the state h of shape \(4, 3\).*'
        r'reset_state\(\)',
    ):
        layer(np.zeros((5, 2), np.float32))
    layer.reset_state()
    assert layer(np.zeros((5, 2), np.float32)).shape == (5, 3)


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_bad_arguments_and_inputs_name_the_layer(cls):
    name = cls.__name__
    with pytest.raises(ValueError, match=f'{name}: hidden_size must be a positive'):
        cls(0)
    with pytest.raises(TypeError, match=f'{name}: in_size must be a positive'):
        cls(3, in_size=2.0)
    with pytest.raises(ValueError, match=f'{name}: dtype must be a floating-point'):
        cls(3, dtype=np.int32)
    with pytest.raises(ValueError, match=rf'{name}: expected one time step .*\(2, 3, 4\)'):
        cls(3)(np.zeros((2, 3, 4), np.float32))


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_truncated_backprop_stops_at_the_cut(cls):
    """After ``loss.backward(); loss.unchain_backward()`` the kept state is a leaf: the
    next loss back-propagates only through the steps after the cut, and gives the
    same gradients as a run that starts from a constant copy of that state."""
    np.random.seed(3)
    layer = cls(3, in_size=2, dtype=np.float64)
    xs = [Variable(x) for x in np.random.randn(6, 2, 2)]
    loss = sum(F.sum(layer(x)) for x in xs[:3])
    loss.backward()
    loss.unchain_backward()
    assert layer.h.creator is None
    if cls is LSTM:
        assert layer.c.creator is None
    kept = {k: getattr(layer, k).data.copy() for k in ('h', 'c') if hasattr(layer, k)}
    layer.cleargrads()
    for x in xs:
        x.cleargrad()
    loss = sum(F.sum(layer(x)) for x in xs[3:])
    loss.backward()
    assert all(x.grad is None for x in xs[:3]) and all(x.grad is not None for x in xs[3:])
    truncated = [p.grad.data.copy() for p in layer.params()]

    layer.cleargrads()  # the same steps from a constant state
    for k, v in kept.items():
        setattr(layer, k, Variable(v))
    loss = sum(F.sum(layer(Variable(x.data))) for x in xs[3:])
    loss.backward()
    for g, p in zip(truncated, layer.params()):
        np.testing.assert_allclose(g, p.grad.data, rtol=1e-12)


def test_recurrent_layers_round_trip_through_a_file(tmp_path):
    np.random.seed(4)
    x = np.random.randn(2, 3).astype(np.float32)
    for cls in (RNN, LSTM, GRU):
        layer = cls(4)
        layer(x)
        layer(x)  # RNN's h2h is made on the second step
        path = tmp_path / f'{cls.__name__}.npz'
        layer.save_weights(path)
        other = cls(4)
        other.load_weights(path)
        layer.reset_state()
        for _ in range(2):
            np.testing.assert_array_equal(other(x).data, layer(x).data)


# --------------------------------------------------------------------------------------
# LSTM
# --------------------------------------------------------------------------------------
def test_lstm_parameters_are_lazy_and_in_order():
    lstm = LSTM(3)
    assert names(lstm) == [
        'x2f/W',
        'x2f/b',
        'x2i/W',
        'x2i/b',
        'x2o/W',
        'x2o/b',
        'x2u/W',
        'x2u/b',
        'h2f/W',
        'h2i/W',
        'h2o/W',
        'h2u/W',
    ]
    lstm(np.zeros((1, 5), np.float32))  # every x2* is created at once
    assert all(getattr(lstm, f'x2{g}').W.shape == (5, 3) for g in 'fiou')
    assert all(getattr(lstm, f'h2{g}').W.shape == (3, 3) for g in 'fiou')
    assert lstm.h.shape == lstm.c.shape == (1, 3)


def test_lstm_steps_by_hand_and_reset_state():
    np.random.seed(5)
    lstm = LSTM(2, in_size=3, dtype=np.float64)
    for g in 'fiou':
        getattr(lstm, f'x2{g}').b.data = np.random.randn(2)
    Wx = {g: getattr(lstm, f'x2{g}').W.data for g in 'fiou'}
    b = {g: getattr(lstm, f'x2{g}').b.data for g in 'fiou'}
    Wh = {g: getattr(lstm, f'h2{g}').W.data for g in 'fiou'}
    x1, x2 = np.random.randn(4, 3), np.random.randn(4, 3)

    a = {g: x1 @ Wx[g] + b[g] for g in 'fiou'}  # first step: no h, no c
    c1 = sigmoid(a['i']) * np.tanh(a['u'])
    h1 = sigmoid(a['o']) * np.tanh(c1)
    a = {g: x2 @ Wx[g] + b[g] + h1 @ Wh[g] for g in 'fiou'}
    c2 = sigmoid(a['f']) * c1 + sigmoid(a['i']) * np.tanh(a['u'])
    h2 = sigmoid(a['o']) * np.tanh(c2)

    np.testing.assert_allclose(lstm(x1).data, h1, rtol=1e-12)
    np.testing.assert_allclose(lstm.c.data, c1, rtol=1e-12)
    np.testing.assert_allclose(lstm(x2).data, h2, rtol=1e-12)
    np.testing.assert_allclose(lstm.c.data, c2, rtol=1e-12)
    lstm.reset_state()
    assert lstm.h is None and lstm.c is None
    np.testing.assert_allclose(lstm(x1).data, h1, rtol=1e-12)


class SineNet(Layer):
    def __init__(self):
        super().__init__()
        self.rnn = LSTM(8)
        self.fc = Linear(1)

    def forward(self, x):
        return self.fc(self.rnn(x))


def test_lstm_learns_to_continue_a_sine_wave():
    """Truncated BPTT (10 steps) over 4 parallel streams of a sine wave of period 20,
    as SeqDataLoader serves them: the prediction error of the next value drops 5x."""
    np.random.seed(0)
    wave = np.sin(2 * np.pi * np.arange(201) / 20).astype(np.float32)[:, None]
    loader = SeqDataLoader((wave[:-1], wave[1:]), batch_size=4)
    model = SineNet()
    optimizer = Adam(0.02).setup(model)
    epoch_losses = []
    for epoch in range(10):
        model.rnn.reset_state()
        total, loss = 0.0, 0
        for step, (x, t) in enumerate(loader, 1):
            loss = loss + F.mean_squared_error(model(x), t)
            if step % 10 == 0:
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                optimizer.update()
                total += float(loss.data)
                loss = 0
        epoch_losses.append(total)
    assert model.fc.W.dtype == np.float32
    assert epoch_losses[-1] < epoch_losses[0] / 5, epoch_losses


# --------------------------------------------------------------------------------------
# GRU
# --------------------------------------------------------------------------------------
def test_gru_parameters_are_lazy_and_in_order():
    gru = GRU(3)
    assert names(gru) == [
        'x2r/W',
        'x2r/b',
        'x2z/W',
        'x2z/b',
        'x2n/W',
        'x2n/b',
        'h2r/W',
        'h2z/W',
        'h2n/W',
        'h2n/b',
    ]
    assert gru.x2r.W.data is None and gru.h is None
    h = gru(np.zeros((2, 5), np.float32))
    assert h.shape == (2, 3) and h.dtype == np.float32 and gru.h is h
    assert all(getattr(gru, f'x2{g}').W.shape == (5, 3) for g in 'rzn')
    assert all(getattr(gru, f'h2{g}').W.shape == (3, 3) for g in 'rzn')
    assert all(p.dtype == np.float32 for p in gru.params())
    assert GRU(2, in_size=7).x2n.W.shape == (7, 2)
    assert all(p.dtype == np.float64 for p in GRU(2, 3, dtype=np.float64).params())
    assert repr(GRU(4, in_size=2)).splitlines()[0] == 'GRU(in=2, hidden=4)'


def test_gru_steps_by_hand_and_reset_state():
    np.random.seed(5)
    gru = GRU(2, in_size=3, dtype=np.float64)
    for p in gru.params():  # non-zero biases, h2n's included
        p.data[...] = np.random.randn(*p.shape)
    Wx = {g: getattr(gru, f'x2{g}').W.data for g in 'rzn'}
    b = {g: getattr(gru, f'x2{g}').b.data for g in 'rzn'}
    Wh = {g: getattr(gru, f'h2{g}').W.data for g in 'rzn'}
    bhn = gru.h2n.b.data
    x1, x2 = np.random.randn(4, 3), np.random.randn(4, 3)

    def step(x, h):
        r = sigmoid(x @ Wx['r'] + b['r'] + h @ Wh['r'])
        z = sigmoid(x @ Wx['z'] + b['z'] + h @ Wh['z'])
        n = np.tanh(x @ Wx['n'] + b['n'] + r * (h @ Wh['n'] + bhn))
        return (1 - z) * n + z * h

    h1 = step(x1, np.zeros((4, 2)))  # the first step starts from h = 0
    h2 = step(x2, h1)
    np.testing.assert_allclose(gru(x1).data, h1, rtol=1e-12)
    np.testing.assert_allclose(gru(x2).data, h2, rtol=1e-12)
    gru.reset_state()
    assert gru.h is None
    np.testing.assert_allclose(gru(x1).data, h1, rtol=1e-12)
    np.testing.assert_allclose(gru(x2).data, h2, rtol=1e-12)


def test_gru_agrees_with_torch_gru_cell_in_values_and_gradients():
    """Four steps of torch.nn.GRUCell and of a GRU holding its weights: the states, and
    the gradients of a weighted sum of them with respect to every weight and input."""
    torch = pytest.importorskip('torch')
    torch.manual_seed(0)
    in_size, H, batch, steps = 3, 4, 2, 4
    cell = torch.nn.GRUCell(in_size, H).double()
    xs = np.random.RandomState(0).randn(steps, batch, in_size)
    weights = np.random.RandomState(1).randn(steps, batch, H)

    W_i, W_h = cell.weight_ih.detach().numpy(), cell.weight_hh.detach().numpy()
    b_i, b_h = cell.bias_ih.detach().numpy(), cell.bias_hh.detach().numpy()
    gate = {g: slice(k * H, (k + 1) * H) for k, g in enumerate('rzn')}  # rows r, z, n
    gru = GRU(H, dtype=np.float64)
    gru(np.zeros((1, in_size)))  # create the weights, then overwrite them
    gru.reset_state()
    for g, rows in gate.items():
        getattr(gru, f'x2{g}').W.data = W_i[rows].T.copy()
        getattr(gru, f'h2{g}').W.data = W_h[rows].T.copy()
    gru.x2r.b.data = b_i[gate['r']] + b_h[gate['r']]  # the two biases of a sum
    gru.x2z.b.data = b_i[gate['z']] + b_h[gate['z']]
    gru.x2n.b.data = b_i[gate['n']].copy()
    gru.h2n.b.data = b_h[gate['n']].copy()  # scaled by r: kept apart

    txs = [torch.tensor(x, requires_grad=True) for x in xs]
    h, t_states, t_loss = None, [], 0
    for t in range(steps):
        h = cell(txs[t]) if h is None else cell(txs[t], h)  # no hx: zeros
        t_states.append(h.detach().numpy())
        t_loss = t_loss + (h * torch.tensor(weights[t])).sum()
    t_loss.backward()

    vxs = [Variable(x) for x in xs]
    loss = 0
    for t in range(steps):
        h = gru(vxs[t])
        np.testing.assert_allclose(h.data, t_states[t], rtol=1e-10, atol=1e-12)
        loss = loss + F.sum(h * weights[t])
    loss.backward()

    close = dict(rtol=1e-9, atol=1e-12)
    for x, tx in zip(vxs, txs):
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), **close)
    gW_i, gW_h = cell.weight_ih.grad.numpy(), cell.weight_hh.grad.numpy()
    gb_i, gb_h = cell.bias_ih.grad.numpy(), cell.bias_hh.grad.numpy()
    for g, rows in gate.items():
        np.testing.assert_allclose(getattr(gru, f'x2{g}').W.grad.data, gW_i[rows].T, **close)
        np.testing.assert_allclose(getattr(gru, f'h2{g}').W.grad.data, gW_h[rows].T, **close)
        np.testing.assert_allclose(getattr(gru, f'x2{g}').b.grad.data, gb_i[rows], **close)
    for g in 'rz':  # b_i and b_h enter r and z as one sum: the same gradient
        np.testing.assert_allclose(getattr(gru, f'x2{g}').b.grad.data, gb_h[gate[g]], **close)
    np.testing.assert_allclose(gru.h2n.b.grad.data, gb_h[gate['n']], **close)


class EchoNet(Layer):
    def __init__(self):
        super().__init__()
        self.gru = GRU(8)
        self.fc = Linear(1)

    def forward(self, x):
        return self.fc(self.gru(x))


def test_gru_learns_to_echo_its_input_two_steps_late():
    """Random +-1 sequences; the target at step t is the input at step t - 2, which the
    GRU must hold in its state.  The loss over the last 20 updates is under a fifth of
    that over the first 20."""
    rng = np.random.RandomState(0)
    np.random.seed(0)
    model = EchoNet()
    optimizer = Adam(0.03).setup(model)
    losses = []
    for _ in range(120):
        xs = rng.choice([-1.0, 1.0], size=(8, 16, 1)).astype(np.float32)
        model.gru.reset_state()
        loss = 0
        for t in range(8):
            y = model(xs[t])
            if t >= 2:
                loss = loss + F.mean_squared_error(y, xs[t - 2])
        model.cleargrads()
        loss.backward()
        optimizer.update()
        losses.append(float(loss.data) / 6)
    assert all(p.dtype == np.float32 for p in model.params())
    assert np.mean(losses[-20:]) < np.mean(losses[:20]) / 5, losses[::10]


# --------------------------------------------------------------------------------------
# EmbedID
# --------------------------------------------------------------------------------------
def test_embed_id_layer_shapes_init_and_lookup():
    np.random.seed(6)
    embed = EmbedID(5, 3)
    np.random.seed(6)
    np.testing.assert_array_equal(embed.W.data, np.random.randn(5, 3).astype(np.float32))
    assert names(embed) == ['W'] and embed.W.dtype == np.float32
    ids = np.array([[4, 0, 4], [1, 1, 1]])
    y = embed(ids)
    assert y.shape == (2, 3, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y.data, embed.W.data[ids])
    assert EmbedID(2, 2, dtype=np.float64).W.dtype == np.float64


def test_embed_id_layer_gradient_accumulates_over_repeated_ids():
    embed = EmbedID(5, 2)
    y = embed(np.array([[4, 0, 4], [1, 1, 1]]))
    F.sum(y * np.array([1.0, 2.0, 4.0], np.float32)[:, None]).backward()
    # id 4 at positions 0 and 2 (1 + 4), id 0 at 1 (2), id 1 at all three (1 + 2 + 4)
    np.testing.assert_array_equal(embed.W.grad.data, [[2, 2], [7, 7], [0, 0], [0, 0], [5, 5]])
    assert embed.W.grad.dtype == np.float32


def test_embed_id_layer_errors():
    with pytest.raises(ValueError, match='EmbedID: in_size must be a positive integer'):
        EmbedID(0, 3)
    with pytest.raises(TypeError, match='EmbedID: out_size must be a positive integer'):
        EmbedID(3, '3')
    with pytest.raises(ValueError, match=r'embed_id: id 5 is out of range .*\[0, 5\)'):
        EmbedID(5, 2)(np.array([5]))


# --------------------------------------------------------------------------------------
# BatchNorm after a convolution: (N, C, H, W), statistics per channel
# --------------------------------------------------------------------------------------
def images(seed=0):
    """(4, 3, 2, 2) float64, channel c centred on 10 c with spread c + 1."""
    rng = np.random.default_rng(seed)
    c = np.arange(3)[None, :, None, None]
    return rng.standard_normal((4, 3, 2, 2)) * (c + 1) + 10 * c


def test_batch_norm_on_images_normalises_each_channel_over_batch_and_pixels():
    bn = BatchNorm()
    x = images()
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), var / (var + 2e-5), rtol=1e-12)
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(
        y, (x - mean) / np.sqrt(var[:, None, None] + 2e-5), rtol=1e-10, atol=1e-12
    )
    # running statistics: decay 0.9 from (0, 1), unbiased variance over m = 16 values
    np.testing.assert_allclose(bn.avg_mean.data, 0.1 * mean.reshape(-1), rtol=1e-12)
    np.testing.assert_allclose(bn.avg_var.data, 0.9 + 0.1 * var * 16 / 15, rtol=1e-12)


def test_batch_norm_on_images_in_test_mode_uses_running_statistics():
    bn = BatchNorm()
    bn(images())
    bn.avg_mean.data = np.array([0.0, 10.0, 20.0])
    bn.avg_var.data = np.array([1.0, 4.0, 9.0])
    bn.gamma.data = np.array([1.0, 2.0, 0.5])
    bn.beta.data = np.array([0.0, -1.0, 1.0])
    x = images(seed=1)[:1]  # one image: no batch statistics
    with dezero.test_mode():
        y = bn(x).data
    std = np.sqrt(np.array([1.0, 4.0, 9.0]) + 2e-5)[:, None, None]
    expected = (x[0] - np.array([0.0, 10.0, 20.0])[:, None, None]) / std * np.array(
        [1.0, 2.0, 0.5]
    )[:, None, None] + np.array([0.0, -1.0, 1.0])[:, None, None]
    np.testing.assert_allclose(y[0], expected, rtol=1e-12)
    np.testing.assert_array_equal(bn.avg_mean.data, [0.0, 10.0, 20.0])  # untouched


def test_batch_norm_on_images_gradients():
    bn = BatchNorm()
    x = images()[:2] / 10
    bn(x)
    bn.gamma.data = np.array([0.5, 1.0, 2.0])
    bn.beta.data = np.array([0.1, -0.2, 0.3])
    f = lambda v: F.tanh(bn(v))  # noqa: E731
    assert gradient_check(f, x)
    assert gradgrad_check(f, x)
    with dezero.test_mode():
        assert gradient_check(f, x)
    loss = lambda: F.sum(F.tanh(bn(x)) * x)  # noqa: E731
    assert assert_param_grads(bn, loss, only=('gamma', 'beta')) == 2


# --------------------------------------------------------------------------------------
# Input dtypes: cast to the dtype of the layer's parameters
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('cls', [Conv2d, Deconv2d])
@pytest.mark.parametrize('dtype', [np.int64, np.float64])
def test_conv_casts_its_input_to_float32(cls, dtype):
    np.random.seed(0)
    layer = cls(2, 3, pad=1)
    x = Variable((np.arange(2 * 2 * 4 * 4).reshape(2, 2, 4, 4) % 5).astype(dtype))
    y = layer(x)
    assert y.dtype == np.float32
    F.sum(y * y).backward()
    assert layer.W.dtype == layer.W.grad.dtype == layer.b.grad.dtype == np.float32
    # float64 data gets its gradient back in float64, and so does integer data, whose
    # gradients are float64 (never integer); the layer itself stays float32
    assert x.grad.dtype == np.float64
    expected = layer(x.data.astype(np.float32)).data
    np.testing.assert_array_equal(y.data, expected)


@pytest.mark.parametrize('cls', [Conv2d, Deconv2d])
def test_conv_with_float64_weights_stays_float64(cls):
    layer = cls(2, 3, pad=1, dtype=np.float64)
    y = layer(np.ones((1, 2, 4, 4), np.int32))
    assert y.dtype == layer.W.dtype == layer.b.dtype == np.float64


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
@pytest.mark.parametrize('dtype', [np.int64, np.float64])
def test_recurrent_layers_cast_their_input_to_float32(cls, dtype):
    np.random.seed(0)
    layer = cls(4)
    x = Variable(np.arange(6).reshape(2, 3).astype(dtype))
    h = layer(x)
    h = layer(x)
    assert h.dtype == np.float32
    F.sum(h).backward()
    # float64 data gets its gradient back in float64, and so does integer data, whose
    # gradients are float64 (never integer); the layer itself stays float32
    assert x.grad.dtype == np.float64
    assert all(p.dtype == p.grad.dtype == np.float32 for p in layer.params())


def test_embed_id_takes_integer_ids_as_they_are():
    layer = EmbedID(5, 2)
    np.testing.assert_array_equal(layer(np.array([4, 0], np.uint8)).data, layer.W.data[[4, 0]])
    with pytest.raises(TypeError, match='embed_id: x must hold integer ids'):
        layer(np.array([1.0, 2.0]))


@pytest.mark.parametrize('layer', ['RNN', 'LSTM', 'GRU'])
@pytest.mark.parametrize('given', [True, False])
def test_a_recurrent_layer_names_itself_for_an_input_of_another_width(layer, given):
    rnn = {'RNN': RNN, 'LSTM': LSTM, 'GRU': GRU}[layer](3, in_size=4 if given else None)
    if not given:
        rnn(np.ones((2, 4), np.float32))  # in_size inferred here
        rnn.reset_state()
    with pytest.raises(
        ValueError, match=rf'{layer}: the input has width 5 \(shape \(2, 5\)\).*in_size 4'
    ):
        rnn(np.ones((2, 5), np.float32))


@pytest.mark.parametrize('cls, func', [(Conv2d, 'conv2d'), (Deconv2d, 'deconv2d')])
def test_a_deleted_conv_bias_is_no_bias(cls, func):
    # forward and repr raised AttributeError after del layer.b
    np.random.seed(3)
    layer = cls(2, 3, pad=1, in_channels=3)
    layer.b.data[...] = 5.0
    del layer.b
    x = np.random.randn(1, 3, 4, 4).astype(np.float32)
    expected = getattr(F, func)(x, layer.W.data, pad=1).data
    np.testing.assert_array_equal(layer(x).data, expected)
    assert layer.b is None and names(layer) == ['W']
    assert repr(layer) == f'{cls.__name__}(in=3, out=2, kernel=3, pad=1, nobias=True)'


def test_a_gru_whose_h2n_bias_is_deleted_steps_as_with_a_zero_bias():
    np.random.seed(4)
    x = np.random.randn(2, 3).astype(np.float32)
    zero, deleted = GRU(4, in_size=3), GRU(4, in_size=3)
    for a, b in zip(zero.params(), deleted.params()):
        b.data[...] = a.data
    zero.h2n.b.data[...] = 0
    del deleted.h2n.b
    for _ in range(2):  # the first step (no h) and the next
        np.testing.assert_allclose(deleted(x).data, zero(x).data, rtol=1e-6)


class Recurrent(Layer):
    def __init__(self, cls):
        super().__init__()
        self.rnn = cls(4)
        self.fc = Linear(1)

    def forward(self, x):
        return self.fc(self.rnn(x))


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_summary_leaves_the_recurrent_state_as_it_found_it(cls):
    # summary(x[:5]) left a state of batch 5: the next call of batch 2 raised, and one
    # of batch 5 went on from the summary's step
    import io

    np.random.seed(5)
    x = np.random.randn(5, 3).astype(np.float32)
    net = Recurrent(cls)
    net.summary(x, file=io.StringIO())
    assert net.rnn.h is None and getattr(net.rnn, 'c', None) is None
    first = net(x[:2]).data
    net.rnn.reset_state()
    np.testing.assert_array_equal(first, net(x[:2]).data)
    # in the middle of a sequence: the state of the sequence is kept
    expected = net(x[:2] * 2).data
    net.rnn.reset_state()
    net(x[:2])
    h = net.rnn.h
    net.summary(x[:2] * 3, file=io.StringIO())  # a step of this batch
    assert net.rnn.h is h
    np.testing.assert_array_equal(net(x[:2] * 2).data, expected)


# --------------------------------------------------------------------------------------
# Sizes no NumPy array can have
# --------------------------------------------------------------------------------------
BIG = 10**20  # more than the longest axis of a NumPy array, 2**63 - 1


@pytest.mark.parametrize(
    'make, pattern',
    [
        (
            lambda: Linear(BIG),
            f'Linear: out_size must be a positive integer of at most {2**63 - 1}',
        ),
        (lambda: Linear(2, in_size=BIG), 'Linear: in_size must be a positive integer of at most'),
        (lambda: Conv2d(2, BIG), f'Conv2d: kernel_size must be at most {2**63 - 1}'),
        (lambda: Deconv2d(2, 3, pad=(0, BIG)), 'Deconv2d: pad must be at most'),
        (lambda: EmbedID(BIG, 2), 'EmbedID: in_size must be a positive integer of at most'),
        (lambda: RNN(BIG), 'RNN: hidden_size must be a positive integer of at most'),
    ],
)
def test_sizes_longer_than_an_array_axis_are_refused_by_name(make, pattern):
    # NumPy said only "Maximum allowed dimension exceeded"
    with pytest.raises(ValueError, match=f'^{pattern}.*the longest axis of a NumPy array.*{BIG}'):
        make()


@pytest.mark.parametrize(
    'make, pattern',
    [
        (
            lambda: Linear(10**10, in_size=10**10),
            r'Linear: W would have shape \(10000000000, 10000000000\), 8e\+20 bytes in float64',
        ),
        (
            lambda: Linear(2**62),
            r'Linear: b would have shape \(4611686018427387904,\), 1\.84e\+19 ',
        ),
        (
            lambda: Deconv2d(2, 10**9)(np.zeros((1, 1, 3, 3), np.float32)),
            r'Deconv2d: W would have shape \(1, 2, 1000000000, 1000000000\), 1\.6e\+19 bytes',
        ),
        (
            lambda: EmbedID(10**10, 10**9),
            r'EmbedID: W would have shape \(10000000000, 1000000000\)',
        ),
    ],
)
def test_parameters_larger_than_an_array_can_be_are_refused_by_name(make, pattern):
    # NumPy said only "array is too big; `arr.size * arr.dtype.itemsize` is larger than
    # the maximum possible size"
    with pytest.raises(ValueError, match=f'^{pattern}.*a NumPy array holds at most 9.22e\\+18'):
        make()


# --------------------------------------------------------------------------------------
# Loading a lazy LSTM or GRU: one input width
# --------------------------------------------------------------------------------------
def _recurrent_file(path, layer, widths, hidden=4):
    """The weights file of ``layer`` (LSTM or GRU) whose x2* layers take ``widths``."""
    arrays = {}
    inputs = [n for n in layer._params if n.startswith('x2')]
    for name, width in zip(inputs, widths):
        arrays[f'{name}/W'] = np.ones((width, hidden), np.float32)
        arrays[f'{name}/b'] = np.zeros(hidden, np.float32)
    for name in layer._params:
        if name.startswith('h2'):
            arrays[f'{name}/W'] = np.ones((hidden, hidden), np.float32)
            if getattr(layer, name).b is not None:
                arrays[f'{name}/b'] = np.zeros(hidden, np.float32)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize('cls, widths', [(LSTM, (3, 5, 3, 3)), (GRU, (3, 3, 5))])
def test_a_lazy_recurrent_layer_refuses_input_layers_of_different_widths(cls, widths, tmp_path):
    # each x2* took its own width: accepted, and the layer could never be called
    layer = cls(4)
    bad = widths.index(5)
    other = [n for n in layer._params if n.startswith('x2')][bad]
    path = _recurrent_file(tmp_path / 'w.npz', layer, widths)
    with pytest.raises(
        ValueError,
        match=rf"^load_weights: the parameter '{other}/W' \(not created yet\) expects shape "
        rf"\(in, 4\) with in = 3 as in 'x2\w/W', but .*w\.npz holds shape \(5, 4\) for it",
    ):
        layer.load_weights(path)
    assert all(getattr(layer, n).W.data is None for n in layer._params if n.startswith('x2'))
    good = cls(4)
    good.load_weights(_recurrent_file(tmp_path / 'ok.npz', good, (3,) * len(widths)))
    assert good(np.ones((2, 3), np.float32)).shape == (2, 4)


# --------------------------------------------------------------------------------------
# Pickling and copying a recurrent layer in the middle of a sequence
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_a_recurrent_layer_pickled_mid_sequence_goes_on_from_its_state(cls):
    import pickle

    np.random.seed(0)
    layer = cls(3)
    xs = np.random.randn(8, 2, 4).astype(np.float32)
    for x in xs[:5]:
        layer(x)
    kept = layer.__getstate__()  # what pickle and deepcopy take: the state's data alone
    for name in ('h', 'c') if cls is LSTM else ('h',):
        assert kept[name].creator is None and kept[name].data is getattr(layer, name).data
    copy = pickle.loads(pickle.dumps(layer))  # the state's graph held weak references
    assert copy.h.creator is None and layer.h.creator is not None
    np.testing.assert_array_equal(copy.h.data, layer.h.data)
    for x in xs[5:]:
        np.testing.assert_array_equal(copy(x).data, layer(x).data)
    F.sum(copy.h).backward()  # through the copy's own steps, back to the pickled state
    assert next(copy.params()).grad is not None


@pytest.mark.parametrize('cls', [RNN, LSTM])
def test_a_recurrent_layer_deep_copied_after_many_steps_has_no_history(cls):
    import copy

    np.random.seed(0)
    layer = cls(3)
    x = np.ones((1, 2), np.float32)
    for _ in range(200):  # copying the graph of every step recursed too deep
        layer(x)
    twin = copy.deepcopy(layer)
    for name in ('h', 'c') if cls is LSTM else ('h',):
        mine, its = getattr(twin, name), getattr(layer, name)
        assert mine.creator is None and mine.data is not its.data
        np.testing.assert_array_equal(mine.data, its.data)
    assert not any(p.data is q.data for p, q in zip(twin.params(), layer.params()))
    np.testing.assert_array_equal(twin(x).data, layer(x).data)


class BooksForwardConv(Conv2d):
    def forward(self, x):  # the book's Conv2d.forward
        if self.W.data is None:
            self.in_channels = x.shape[1]
            self._init_W(cuda.get_array_module(x))
        return F.conv2d(x, self.W, self.b, self.stride, self.pad)


def test_a_conv_subclass_with_the_books_forward_sets_in_channels_and_draws_the_same_W():
    x = np.ones((1, 2, 4, 4), np.float32)
    np.random.seed(0)
    ours = BooksForwardConv(3, 3, pad=1)(x).data
    np.random.seed(0)
    np.testing.assert_array_equal(ours, Conv2d(3, 3, pad=1)(x).data)


class BooksInitConv(Conv2d):
    def __init__(  # the book's Conv2d.__init__
        self,
        out_channels,
        kernel_size,
        stride=1,
        pad=0,
        nobias=False,
        dtype=np.float32,
        in_channels=None,
    ):
        Layer.__init__(self)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.pad = pad
        self.dtype = dtype
        self.W = dezero.Parameter(None, name='W')
        if in_channels is not None:
            self._init_W()
        if nobias:
            self.b = None
        else:
            self.b = dezero.Parameter(np.zeros(out_channels, dtype=dtype), name='b')


def test_a_conv_subclass_with_the_books_init_sets_in_channels_before_W_exists():
    # assigning in_channels read W (AttributeError before W existed); None was refused
    np.random.seed(0)
    given = BooksInitConv(3, (3, 3), in_channels=2)
    np.random.seed(0)
    np.testing.assert_array_equal(given.W.data, Conv2d(3, 3, in_channels=2).W.data)
    x = np.ones((1, 2, 4, 4), np.float32)
    lazy = BooksInitConv(3, (3, 3), pad=(1, 1))
    assert lazy.in_channels is None
    np.random.seed(0)
    y = lazy(x).data
    np.random.seed(0)
    np.testing.assert_array_equal(y, Conv2d(3, 3, pad=1)(x).data)
    assert lazy.in_channels == 2


@pytest.mark.parametrize('cls, w_shape', [(Conv2d, (3, 5, 1, 1)), (Deconv2d, (5, 3, 1, 1))])
def test_conv_channels_assigned_before_W_exists_are_read_by_init_W_then_forgotten(cls, w_shape):
    layer = cls(3, 1)
    layer.in_channels = 7
    assert layer.in_channels == 7 and layer.W.data is None
    layer.in_channels = None  # not known after all
    assert layer.in_channels is None
    layer.in_channels = 5
    layer._init_W()  # called directly, as the book's code does: W for the count assigned
    assert layer.W.shape == w_shape and layer.in_channels == 5
    x = np.ones((1, 2, 2, 2), np.float32)
    layer, plain = cls(3, 1), cls(3, 1)
    layer.in_channels = 7
    assert layer(x).shape == (1, 3, 2, 2) and layer.in_channels == 2  # the input's, as the book
    plain(x)
    assert set(vars(layer)) == set(vars(plain))  # nothing of the 7 stays behind
    assert set(layer.__getstate__()) == set(plain.__getstate__())
    with pytest.raises(
        ValueError, match=rf'^{cls.__name__}: in_channels cannot become None: W exists, made for 2'
    ):
        layer.in_channels = None


# --------------------------------------------------------------------------------------
# A first call that raises leaves the layer as it was
# --------------------------------------------------------------------------------------
IMAGES = np.arange(2 * 3 * 12 * 12, dtype=np.float32).reshape(2, 3, 12, 12) / 1000
STEP = np.arange(10, dtype=np.float32).reshape(2, 5) / 10


@pytest.mark.parametrize(
    'make, failing_call, x',
    [
        # refused by checks of the input that the convolution makes after W is drawn
        (lambda: Conv2d(4, 5), raising(ValueError, 'kernel', np.zeros((1, 2, 3, 3))), IMAGES),
        (
            lambda: Deconv2d(4, 3, pad=5),
            raising(ValueError, 'smaller pad', np.zeros((1, 2, 3, 3))),
            IMAGES,
        ),
        # refused by the layer's own checks, made before W is drawn
        (
            lambda: Conv2d(4, 3),
            raising(TypeError, 'real numbers', np.full((1, 2, 4, 4), 'a')),
            IMAGES,
        ),
        (
            lambda: Deconv2d(4, 3, dtype=np.float16),
            raising(OverflowError, 'float16', np.full((1, 2, 4, 4), 1e5)),
            IMAGES,
        ),
        # failing after the parameters were made
        (lambda: Conv2d(4, 3), failing_in(F, 'conv2d', IMAGES), IMAGES),
        (lambda: Deconv2d(4, 3, stride=2), failing_in(F, 'deconv2d', IMAGES), IMAGES),
        (lambda: BatchNorm(), failing_in(F, 'batch_norm', IMAGES), IMAGES),
        (lambda: RNN(3), failing_in(F, 'tanh', STEP), STEP),
        (lambda: LSTM(3), failing_in(F, 'sigmoid', STEP), STEP),
        (lambda: LSTM(3), failing_in(F, 'tanh', STEP), STEP),
        (lambda: GRU(3), failing_in(F, 'sigmoid', STEP), STEP),
    ],
    ids=[
        'Conv2d-kernel-too-large',
        'Deconv2d-pad-too-large',
        'Conv2d-text',
        'Deconv2d-float16-overflow',
        'Conv2d-after-W',
        'Deconv2d-after-W',
        'BatchNorm-images-after-gamma',
        'RNN-after-x2h',
        'LSTM-at-the-gates',
        'LSTM-at-the-candidate',
        'GRU-at-the-gates',
    ],
)
def test_a_first_call_that_raises_leaves_a_lazy_layer_as_it_was(make, failing_call, x):
    # W was drawn before the input was refused: the layer then refused inputs with
    # other channels, and the draw moved NumPy's generator, so seeded runs changed
    assert_a_failed_first_call_changes_nothing(make, failing_call, x)


def test_a_second_rnn_step_that_raises_leaves_h2h_and_the_state_as_they_were():
    np.random.seed(0)
    fresh = RNN(3)
    fresh(STEP)
    expected = fresh(STEP)
    np.random.seed(0)
    rnn = RNN(3)
    rnn(STEP)
    h, state = rnn.h, random_state_now()
    failing_in(F, 'tanh', STEP)(rnn)  # h2h's W, made on this step, goes again
    assert rnn.h2h.W.data is None and rnn.h is h and random_state_now() == state
    np.testing.assert_array_equal(rnn(STEP).data, expected.data)
    np.testing.assert_array_equal(rnn.h2h.W.data, fresh.h2h.W.data)


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_a_zero_state_gives_the_h2_weights_zero_gradients_on_the_first_step(cls):
    # as the docstrings say: the first step after reset_state leaves the h2* weights
    # without a gradient (optimizers then skip them); starting from a zero state, as
    # PyTorch does, gives the same output and exact zero gradients instead
    x = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    layer = cls(3, in_size=2)
    y = layer(x)
    y.backward()
    h2 = [(name, p) for name, p in layer.named_params() if name.startswith('h2')]
    assert all(p.grad is None for name, p in h2 if name.endswith('/W'))
    layer.cleargrads()
    layer.reset_state()
    layer.h = np.zeros((4, 3), np.float32)
    if cls is LSTM:
        layer.c = np.zeros((4, 3), np.float32)
    y0 = layer(x)
    y0.backward()
    np.testing.assert_allclose(y0.data, y.data, rtol=1e-6, atol=1e-7)
    for name, p in h2:
        if name.endswith('/W'):
            np.testing.assert_array_equal(p.grad.data, np.zeros((3, 3), np.float32))


# --------------------------------------------------------------------------------------
# The state: h (and LSTM's c)
# --------------------------------------------------------------------------------------
class WithInitialState(Model):
    """A recurrent layer whose initial state is a Parameter of the model, learnt."""

    def __init__(self, cls):
        super().__init__()
        self.rnn = cls(3, in_size=2)
        self.h0 = Parameter(np.full((1, 3), 0.5, np.float32))
        if cls is LSTM:
            self.c0 = Parameter(np.full((1, 3), 0.25, np.float32))
        self.fc = Linear(1, in_size=3)

    def reset_state(self):
        self.rnn.h = self.h0
        if isinstance(self.rnn, LSTM):
            self.rnn.c = self.c0

    def forward(self, x):
        return self.fc(self.rnn(x))


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_a_parameter_as_the_initial_state_is_learnt_by_the_model_that_holds_it(cls):
    # the layer registered the Parameter assigned to h as its own, then refused to
    # replace it with the next state (TypeError), and reset_state() too
    from dezero.optimizers import SGD

    np.random.seed(0)
    model = WithInitialState(cls)
    optimizer = SGD(0.1).setup(model)
    model.reset_state()
    states = ['h0', 'c0'] if cls is LSTM else ['h0']
    assert names(model) == ['rnn/' + n for n in names(model.rnn)] + states + ['fc/W', 'fc/b']
    assert names(model.rnn) == names(cls(3, in_size=2))
    x = np.random.randn(2, 1, 2).astype(np.float32)
    loss = F.sum(model(x[0]) + model(x[1]))
    assert model.rnn.h is not model.h0
    loss.backward()
    before = [getattr(model, name).data.copy() for name in states]
    optimizer.update()
    for name, old in zip(states, before):
        grad = getattr(model, name).grad
        assert grad.shape == (1, 3) and np.all(grad.data != 0)
        np.testing.assert_allclose(getattr(model, name).data, old - 0.1 * grad.data)
    model.rnn.reset_state()
    assert model.rnn.h is None and getattr(model.rnn, 'c', None) is None
    model.reset_state()
    model.rnn.h = np.zeros((1, 3), np.float32)  # replaced freely
    del model.rnn.h
    assert names(model) == ['rnn/' + n for n in names(model.rnn)] + states + ['fc/W', 'fc/b']


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_the_initial_state_gets_the_gradient_of_central_differences(cls):
    np.random.seed(1)
    layer = cls(3, in_size=2, dtype=np.float64)
    x = np.random.randn(2, 2)
    h0 = Parameter(np.random.randn(2, 3))
    c0 = Parameter(np.random.randn(2, 3))

    def loss():
        layer.reset_state()
        layer.h = h0
        if cls is LSTM:
            layer.c = c0
        return F.sum(layer(x) * layer(x))

    for state in [h0, c0] if cls is LSTM else [h0]:
        state.cleargrad()
        loss().backward()
        numeric = np.zeros_like(state.data)
        for i in np.ndindex(state.data.shape):
            kept = state.data[i]
            state.data[i] = kept + 1e-6
            up = loss().data
            state.data[i] = kept - 1e-6
            down = loss().data
            state.data[i] = kept
            numeric[i] = (up - down) / 2e-6
        np.testing.assert_allclose(state.grad.data, numeric, rtol=1e-5, atol=1e-8)


def test_lstm_checks_its_cell_as_it_checks_its_hidden_state():
    # a cell of shape (2, 1) was broadcast silently; one of (2, 4) failed in
    # MulConstant, naming neither LSTM nor c
    x = np.ones((2, 2), np.float32)
    lstm = LSTM(3, in_size=2)
    lstm.h, lstm.c = np.zeros((2, 3), np.float32), np.zeros((2, 1), np.float32)
    with pytest.raises(ValueError, match=r'LSTM: the state c has shape \(2, 1\).*\(2, 3\)'):
        lstm(x)
    lstm.c = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match=r'LSTM: the state c has shape \(2, 4\).*\(2, 3\)'):
        lstm(x)
    lstm.h, lstm.c = None, np.zeros((2, 4), np.float32)  # no h: (batch, hidden_size)
    with pytest.raises(ValueError, match=r'LSTM: the state c has shape \(2, 4\).*\(2, 3\)'):
        lstm(x)
    lstm.c = np.zeros((5, 3), np.float32)
    with pytest.raises(
        ValueError, match=r'LSTM: the input of shape \(2, 2\) does not fit the state c'
    ):
        lstm(x)
    lstm.c = [[0.0] * 3] * 2
    with pytest.raises(TypeError, match=r'LSTM: the state c must be None, a Variable or an array'):
        lstm(x)
    lstm.c = np.zeros((2, 3), np.float32)  # a cell without h is fine
    assert lstm(x).shape == (2, 3)


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_a_hidden_state_of_another_width_names_the_layer_and_h(cls):
    layer = cls(3, in_size=2)
    layer.h = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match=rf'{cls.__name__}: the state h has shape \(2, 4\)'):
        layer(np.ones((2, 2), np.float32))


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_a_float64_state_is_converted_to_the_layers_dtype(cls):
    # LSTM's c and GRU's h in float64 made the outputs float64 for good
    x = np.ones((2, 2), np.float32)
    layer = cls(3, in_size=2)
    layer.h = np.zeros((2, 3))
    if cls is LSTM:
        layer.c = np.zeros((2, 3))
    ys = [layer(x), layer(x)]
    assert [y.dtype for y in ys] == [np.float32, np.float32]
    assert all(s.dtype == np.float32 for s in (layer.h, getattr(layer, 'c', layer.h)))
    h0 = Variable(np.ones((2, 3)))  # a Variable's gradient comes back in its dtype
    layer.reset_state()
    layer.h = h0
    if cls is LSTM:
        layer.c = Variable(np.ones((2, 3)))
    F.sum(layer(x)).backward()
    assert h0.grad.dtype == np.float64
    assert all(p.grad is None or p.grad.dtype == np.float32 for p in layer.params())


class Tagger(Model):
    def __init__(self, cls):
        super().__init__()
        self.rnn, self.fc = cls(8), Linear(3)

    def forward(self, x, t):
        return F.softmax_cross_entropy(self.fc(self.rnn(x)), t)


@pytest.mark.parametrize('cls', [RNN, LSTM, GRU])
def test_a_models_failed_first_call_puts_the_recurrent_state_back(cls):
    # the state h of the failed call, computed with the W taken back, stayed: every
    # backward after the retry raised (W was assigned after the forward pass used it)
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    t = np.array([0, 1, 2, 0])
    np.random.seed(0)
    fresh = Tagger(cls)
    expected = fresh(x, t)
    expected.backward()
    np.random.seed(0)
    model = Tagger(cls)
    with pytest.raises(ValueError, match='softmax_cross_entropy'):
        model(x, t[:3])  # fails after the recurrent layer ran
    assert model.rnn.h is None and getattr(model.rnn, 'c', None) is None
    loss = model(x, t)
    loss.backward()
    np.testing.assert_array_equal(loss.data, expected.data)
    for (name, p), (_, q) in zip(model.named_params(), fresh.named_params()):
        if q.grad is not None:
            np.testing.assert_array_equal(p.grad.data, q.grad.data, err_msg=name)


def test_a_failed_first_call_gives_back_a_state_set_beforehand():
    x, t = np.ones((2, 5), np.float32), np.array([0, 1, 2])
    model = Tagger(LSTM)
    h0, c0 = Variable(np.zeros((2, 8), np.float32)), Variable(np.ones((2, 8), np.float32))
    model.rnn.h, model.rnn.c = h0, c0
    with pytest.raises(ValueError, match='softmax_cross_entropy'):
        model(x, t)
    assert model.rnn.h is h0 and model.rnn.c is c0
    assert model.rnn.x2f.W.data is None


@pytest.mark.parametrize('make, name', [(RNN, 'h'), (LSTM, 'h'), (LSTM, 'c')])
def test_a_state_that_does_not_fit_the_dtype_is_named_as_the_state(make, name):
    layer = make(4, in_size=3, dtype=np.float16)
    layer.reset_state()
    setattr(layer, name, np.full((1, 4), 1e6))
    with pytest.raises(OverflowError, match=rf'the state {name} holds 1000000\.0'):
        layer(np.ones((1, 3), np.float32))


def test_a_pickle_that_registered_the_state_as_a_member_steps_on():
    import pickle

    rnn = RNN(3, in_size=2)
    rnn.h = Parameter(np.zeros((1, 3), np.float32))
    state = rnn.__getstate__()
    state['_dezero_names'] = dict(state['_dezero_names'], h=None)  # as earlier versions kept it
    old = RNN.__new__(RNN)
    old.__setstate__(state)
    copy = pickle.loads(pickle.dumps(old))
    copy(np.ones((1, 2), np.float32))
    copy(np.ones((1, 2), np.float32))
    paths = [path for path, _ in copy.named_params()]  # refused 'h' before
    assert 'h' not in paths and len(paths) == len(list(copy.params())) == 3


class _Averaging(LSTM):
    """An LSTM that keeps one more state of its own: the sum of its outputs."""

    _state_names = LSTM._state_names + ('total',)

    def reset_state(self):
        super().reset_state()
        self.total = None

    def forward(self, x):
        h = super().forward(x)
        self.total = h if self.total is None else self.total + h
        return h


def test_a_subclass_keeps_a_state_of_its_own_and_gets_it_back_after_a_failed_call():
    layer = _Averaging(3)
    layer.reset_state()
    layer(np.ones((2, 2), np.float32))  # a state name of its own: forward still works
    assert layer.total.shape == (2, 3)

    class Failing(Model):
        def __init__(self):
            super().__init__()
            self.rnn = _Averaging(3)
            self.rnn.reset_state()

        def forward(self, x):
            self.rnn(x)
            self.rnn(x)
            raise RuntimeError('after the steps')

    model = Failing()
    with pytest.raises(RuntimeError, match='after the steps'):
        model(np.ones((2, 2), np.float32))
    assert model.rnn.h is None and model.rnn.c is None and model.rnn.total is None


def test_a_state_that_did_not_exist_is_deleted_again_after_a_failed_call():
    model = Tagger(RNN)
    del model.rnn.h
    with pytest.raises(ValueError, match='softmax_cross_entropy'):
        model(np.ones((2, 5), np.float32), np.array([0, 1, 2]))
    assert 'h' not in vars(model.rnn)


def test_a_first_call_over_many_steps_keeps_only_the_first_state_to_put_back():
    class Loop(Model):
        def __init__(self):
            super().__init__()
            self.rnn = LSTM(4)

        def forward(self, xs):
            self.rnn.reset_state()
            for x in xs:
                h = self.rnn(x)
            return h

    from dezero.layers import _watch

    seen = []

    class Watching(LSTM):
        def forward(self, x):
            seen.append(len(_watch.created or ()))
            return super().forward(x)

    model = Loop()
    model.rnn = Watching(4)
    with dezero.no_grad():
        model(np.ones((50, 2, 3), np.float32))
    # the creations of the first two steps and one noted value per state attribute,
    # however many steps the loop takes (two more per step before)
    assert seen[10] == seen[-1]


@pytest.mark.parametrize(
    'state, message',
    [
        (Parameter(None), 'the state h is a Parameter holding no data'),
        (np.zeros((1, 4), np.float32), r'a state set by hand must have the shape \(2, 4\)'),
    ],
)
def test_a_state_set_by_hand_that_does_not_fit_says_what_it_must_be(state, message):
    rnn = RNN(4, in_size=3)
    rnn.h = state
    with pytest.raises((TypeError, ValueError), match=message):
        rnn(np.ones((2, 3), np.float32))


def test_a_failed_call_caught_inside_a_forward_puts_back_the_state_it_computed():
    class Wrap(Layer):
        def __init__(self, rnn):
            super().__init__()
            self.rnn = rnn

        def forward(self, x):
            self.rnn(x)  # the second step: creates h2h, then the call raises
            raise ValueError('inner')

    class Outer(Model):
        def __init__(self):
            super().__init__()
            self.rnn = RNN(3)
            self.wrap = Wrap(self.rnn)

        def forward(self, x):
            h1 = self.rnn(x)
            with pytest.raises(ValueError, match='inner'):
                self.wrap(x)
            assert self.rnn.h is h1  # the step of the taken-back h2h is undone
            return self.rnn.h

    model = Outer()
    out = model(np.ones((1, 2), np.float32))
    assert model.rnn.h2h.W.data is None
    F.sum(out).backward()  # refused before: W was assigned after the forward used it
    assert model.rnn.x2h.W.grad is not None

"""Layers, optimizers, the DataLoader, weight files and a short training run on the
device, each compared with the same work on the CPU."""

import numpy as np
import pytest

import dezero
import dezero.functions as F
import dezero.layers as L
from dezero import cuda, optimizers
from dezero.dataloaders import DataLoader
from dezero.models import MLP

#: (layer factory, input shape, input kind) for each layer
LAYERS = {
    'Linear': (lambda: L.Linear(4), (3, 5), 'real'),
    'Conv2d': (lambda: L.Conv2d(3, 3, stride=1, pad=1), (2, 2, 5, 5), 'real'),
    'Deconv2d': (lambda: L.Deconv2d(2, 3, stride=2, pad=1), (2, 3, 3, 3), 'real'),
    'BatchNorm': (L.BatchNorm, (4, 3), 'real'),
    'RNN': (lambda: L.RNN(4), (2, 3), 'real'),
    'LSTM': (lambda: L.LSTM(4), (2, 3), 'real'),
    'EmbedID': (lambda: L.EmbedID(5, 3), (2, 3), 'ids'),
}


def _input(shape, kind):
    rng = np.random.default_rng(0)
    if kind == 'ids':
        return rng.integers(0, 5, shape)
    return rng.standard_normal(shape).astype(np.float32)


def _run(layer, x, steps=2):
    """Two forward steps (recurrent layers keep state) and a backward; the output and
    the parameters' gradients by name."""
    y = None
    for _ in range(steps):
        y = layer(x)
    F.sum(y * y).backward()
    return y, {name: p.grad for name, p in layer.named_params() if p.grad is not None}


@pytest.mark.parametrize('name', LAYERS)
def test_layer_on_device_matches_cpu(name, xp_device):
    dev = xp_device
    make, shape, kind = LAYERS[name]
    x = _input(shape, kind)
    np.random.seed(0)
    cpu = make()
    y_cpu, g_cpu = _run(cpu, x)
    np.random.seed(0)
    gpu = make()
    gpu.to_gpu()  # before the first call: W is created lazily
    y_gpu, g_gpu = _run(gpu, dev.put(x))
    dev.assert_close(y_gpu.data, y_cpu.data, f'{name}: output', rtol=1e-5, atol=1e-6)
    for pname, param in gpu.named_params():
        assert dev.is_device(param.data), f'{name}: {pname} is not on the device'
    assert g_gpu.keys() == g_cpu.keys()
    for pname in g_cpu:
        dev.assert_close(
            g_gpu[pname].data, g_cpu[pname].data, f'{name}: grad of {pname}', rtol=1e-4, atol=1e-5
        )
    gpu.to_cpu()
    for pname, param in gpu.named_params():
        assert type(param.data) is np.ndarray, f'{name}: {pname} did not come back'
        assert param.grad is None or type(param.grad.data) is np.ndarray


def test_lazy_weights_follow_the_input_device(xp_device):
    dev = xp_device
    layer = L.Linear(2)  # never moved: W is created where the input is
    layer.b.to_gpu()
    y = layer(dev.put(np.ones((1, 3), np.float32)))
    assert dev.is_device(layer.W.data) and dev.is_device(y.data)


def _with_hook(opt, hook):
    opt.add_hook(hook)
    return opt


OPTIMIZERS = {
    'SGD': lambda: optimizers.SGD(0.1),
    'MomentumSGD': lambda: optimizers.MomentumSGD(0.1),
    'AdaGrad': lambda: optimizers.AdaGrad(0.1),
    'AdaDelta': lambda: optimizers.AdaDelta(),
    'Adam': lambda: optimizers.Adam(0.01),
    'SGD+WeightDecay': lambda: _with_hook(optimizers.SGD(0.1), optimizers.WeightDecay(0.1)),
    'SGD+ClipGrad': lambda: _with_hook(optimizers.SGD(0.1), optimizers.ClipGrad(0.5)),
}


def _model_and_step(make_opt, put, steps=3, freeze=False):
    """A seeded MLP trained ``steps`` updates on a fixed batch on the device of ``put``;
    returns the model and its optimizer."""
    np.random.seed(0)
    model = MLP((5, 3))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    t = rng.integers(0, 3, 6)
    model(x)  # create the weights on the CPU
    if put is not None:
        model.to_gpu()
        x, t = put(x), put(t)
    opt = make_opt().setup(model)
    if freeze:
        opt.add_hook(optimizers.FreezeParam(model.l0))
    for _ in range(steps):
        model.cleargrads()
        F.softmax_cross_entropy(model(x), t).backward()
        opt.update()
    return model, opt


@pytest.mark.parametrize('name', OPTIMIZERS)
def test_optimizer_update_on_device_matches_cpu(name, xp_device):
    dev = xp_device
    cpu, _ = _model_and_step(OPTIMIZERS[name], None)
    gpu, _ = _model_and_step(OPTIMIZERS[name], dev.put)
    for (pname, pc), (_, pg) in zip(cpu.named_params(), gpu.named_params()):
        dev.assert_close(pg.data, pc.data, f'{name}: {pname}', rtol=1e-5, atol=1e-6)


def test_freeze_param_on_device(xp_device):
    dev = xp_device
    gpu, _ = _model_and_step(lambda: optimizers.SGD(0.1), dev.put, freeze=True)
    cpu, _ = _model_and_step(lambda: optimizers.SGD(0.1), None, freeze=True)
    for (pname, pc), (_, pg) in zip(cpu.named_params(), gpu.named_params()):
        dev.assert_close(pg.data, pc.data, f'FreezeParam: {pname}', rtol=1e-5, atol=1e-6)
    np.random.seed(0)
    untrained = MLP((5, 3))
    untrained(np.ones((1, 4), np.float32))
    np.testing.assert_array_equal(cuda.as_numpy(gpu.l0.W.data), untrained.l0.W.data)


@pytest.mark.parametrize('name', ['MomentumSGD', 'Adam'])
def test_optimizer_state_follows_the_parameters(name, xp_device):
    dev = xp_device
    model, opt = _model_and_step(OPTIMIZERS[name], dev.put, steps=1)
    model.to_cpu()
    x = np.ones((2, 4), np.float32)
    model.cleargrads()
    F.sum(model(x)).backward()
    opt.update()  # state moves to the CPU with the parameters
    assert all(type(p.data) is np.ndarray for p in model.params())
    model.to_gpu()
    model.cleargrads()
    F.sum(model(dev.put(x))).backward()
    opt.update()
    assert all(dev.is_device(p.data) for p in model.params())


def test_dataloader_yields_device_batches(xp_device):
    dev = xp_device
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    t = np.arange(10)
    loader = DataLoader((x, t), 4, shuffle=False, gpu=True)
    batches = list(loader)
    assert len(batches) == 3
    for xb, tb in batches:
        assert dev.is_device(xb) and dev.is_device(tb)
    np.testing.assert_array_equal(cuda.as_numpy(batches[0][0]), x[:4])
    loader.to_cpu()
    assert all(type(xb) is np.ndarray for xb, _ in loader)


def test_save_weights_from_device_and_load_onto_device(xp_device, tmp_path):
    dev = xp_device
    np.random.seed(0)
    model = MLP((3, 2))
    model.to_gpu()
    model(dev.put(np.ones((1, 4), np.float32)))
    path = tmp_path / 'w.npz'
    model.save_weights(path)
    with np.load(path) as saved:
        assert all(type(saved[k]) is np.ndarray for k in saved.files)
        want = {k: saved[k] for k in saved.files}
    np.random.seed(1)
    other = MLP((3, 2))
    other(np.ones((1, 4), np.float32))
    other.to_gpu()
    other.load_weights(path)
    for name, param in other.named_params():
        dev.assert_close(param.data, want[name], f'load_weights: {name}')


def _spiral_run(put, epochs=5):
    """Losses of a few epochs of a seeded MLP on the spiral data set, on the CPU
    (``put`` None) or the device."""
    np.random.seed(0)
    train = dezero.datasets.Spiral(train=True)
    loader = DataLoader(train, 30, gpu=put is not None)
    model = MLP((10, 3))
    if put is not None:
        model.to_gpu()
    opt = optimizers.SGD(1.0).setup(model)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for x, t in loader:
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            opt.update()
            total += float(cuda.as_numpy(loss.data)) * len(t)
        losses.append(total / len(train))
    return losses


def test_short_training_run_on_device_matches_cpu(xp_device):
    cpu = _spiral_run(None)
    gpu = _spiral_run(xp_device.put)
    assert gpu[-1] < gpu[0]
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4)


# ---- misuse on the device -----------------------------------------------------------
def test_a_seed_on_the_other_device_is_refused(xp_device):
    x = dezero.Variable(xp_device.put(np.ones(3)))
    y = F.sin(x)
    y.grad = dezero.Variable(np.ones(3))  # on the CPU
    with pytest.raises(TypeError, match='backward: the gradient set in .grad is on the CPU'):
        y.backward()


def test_integer_data_on_the_device_gets_floating_gradients(xp_device):
    x = dezero.Variable(xp_device.put(np.array([3], np.uint8)))
    (10 - x).backward()
    assert xp_device.is_device(x.grad.data)
    np.testing.assert_array_equal(cuda.as_numpy(x.grad.data), [-1.0])


def test_an_update_on_the_device_between_forward_and_backward_is_refused(xp_device):
    model = L.Linear(2, in_size=3)
    model.to_gpu()
    optimizer = optimizers.SGD(0.1).setup(model)
    x = xp_device.put(np.ones((4, 3), np.float32))
    F.sum(model(x)).backward()
    loss = F.sum(model(x))
    optimizer.update()
    with pytest.raises(RuntimeError, match="'W'"):
        loss.backward()

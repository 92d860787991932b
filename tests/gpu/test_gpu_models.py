"""Models, the Trainer and its callbacks, the sequence loader with truncated BPTT, the
functions that draw random numbers or take ids, the second-order gradient check and the
scatter-add of old CuPy on the device, each compared with the same work on the CPU
from the same weights."""

import sys
import types

import numpy as np
import pytest

import dezero
import dezero.functions as F
import dezero.layers as L
import fake_cupy
from dezero import Config, Variable, cuda, optimizers
from dezero.array_ops import scatter_add
from dezero.dataloaders import DataLoader, SeqDataLoader
from dezero.gradcheck import gradgrad_check, gradient_check
from dezero.models import MLP, VGG16, ResNet50, Sequential, SqueezeNet
from dezero.trainer import BestWeights, EarlyStopping, Trainer, plot_history


def _tol(dev):
    """Tolerances for a float32 network: the stand-in computes as the CPU does, a real
    GPU sums in another order."""
    return {'rtol': 1e-6, 'atol': 1e-7} if dev.exact else {'rtol': 1e-3, 'atol': 1e-4}


def _images(n, size):
    return np.random.default_rng(3).standard_normal((n, 3, size, size)).astype(np.float32)


# ---- gradient checks -----------------------------------------------------------------
GRADGRAD = {
    'tanh': lambda dev: F.tanh,
    'softmax': lambda dev: lambda x: F.softmax(x, axis=1),
    'linear': lambda dev: (
        lambda x: F.linear(
            x, dev.put(np.linspace(-1, 1, 8).reshape(4, 2)), dev.put(np.array([0.5, -0.5]))
        )
    ),
    'square-of-repeated-rows': lambda dev: (
        lambda x: F.square(F.get_item(x, dev.put(np.array([0, 2, 0]))))
    ),
}


@pytest.mark.parametrize('name', GRADGRAD)
@pytest.mark.parametrize('as_variable', [False, True])
def test_gradient_checks_take_device_inputs(name, as_variable, xp_device):
    dev = xp_device
    f = GRADGRAD[name](dev)
    x = dev.put(np.random.default_rng(0).standard_normal((3, 4)))
    if as_variable:
        x = Variable(x)
    assert gradient_check(f, x)
    assert gradgrad_check(f, x)
    assert dev.is_device(x.data if as_variable else x)


def test_gradgrad_check_on_device_finds_a_wrong_second_derivative(xp_device, capsys):
    class Cube(dezero.Function):  # a right gradient 3 x**2, computed outside the graph
        def forward(self, x):
            return x**3

        def backward(self, gy):
            (x,) = self.inputs
            return gy * Variable(3 * x.data**2)

    x = xp_device.put(np.array([0.5, -1.0, 2.0]))
    assert gradient_check(Cube(), x)
    assert not gradgrad_check(Cube(), x)
    assert 'gradgrad_check: worst mismatch' in capsys.readouterr().out


# ---- models ----------------------------------------------------------------------------
def _twins(make, x, dev, train=True):
    """The same seeded model run on the CPU and, moved with to_gpu(), on the device;
    outputs and parameter gradients (after backward of sum(y**2)) of both."""
    results = []
    for put in (None, dev.put):
        np.random.seed(0)
        model = make()
        if put is not None:
            model.to_gpu()
        with dezero.using_config('train', train):
            y = model(x if put is None else put(x))
        model.cleargrads()
        F.sum(y * y).backward()
        results.append((model, y))
    return results


@pytest.mark.parametrize(
    'name, make',
    [
        ('MLP', lambda: MLP((6, 3))),
        ('MLP-relu', lambda: MLP((6, 5, 2), activation=F.relu)),
        ('Sequential', lambda: Sequential(L.Linear(6), F.relu, L.Linear(2))),
    ],
)
def test_dense_models_on_device_match_cpu(name, make, xp_device):
    dev = xp_device
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    (cpu, y_cpu), (gpu, y_gpu) = _twins(make, x, dev)
    dev.assert_close(y_gpu.data, y_cpu.data, f'{name}: output', **_tol(dev))
    for (pname, pc), (_, pg) in zip(cpu.named_params(), gpu.named_params()):
        assert dev.is_device(pg.data), f'{name}: {pname}'
        dev.assert_close(pg.grad.data, pc.grad.data, f'{name}: grad of {pname}', **_tol(dev))


def test_squeezenet_on_device_matches_cpu(xp_device):
    dev = xp_device
    x = _images(1, 32)
    (cpu, y_cpu), (gpu, y_gpu) = _twins(SqueezeNet, x, dev, train=False)
    dev.assert_close(y_gpu.data, y_cpu.data, 'SqueezeNet: output', **_tol(dev))
    for (pname, pc), (_, pg) in zip(cpu.named_params(), gpu.named_params()):
        dev.assert_close(
            pg.grad.data, pc.grad.data, f'SqueezeNet: grad of {pname}', rtol=1e-3, atol=1e-5
        )
    y = gpu(dev.put(x))  # training mode: dropout's mask on the device
    assert dev.is_device(y.data) and y.shape == (1, 1000)


@pytest.fixture(scope='module')
def resnet50():
    np.random.seed(0)
    return ResNet50()


def test_resnet50_forward_on_device_matches_cpu(resnet50, xp_device):
    """The forward in test mode (batch norm on its running statistics) of one small
    image: a few hundredths of a second on the CPU."""
    dev = xp_device
    x = _images(1, 32)
    with dezero.test_mode(), dezero.no_grad():
        y_cpu = resnet50(x)
        resnet50.to_gpu()
        try:
            y_gpu = resnet50(dev.put(x))
            assert all(dev.is_device(p.data) for p in resnet50.params())
        finally:
            resnet50.to_cpu()
    dev.assert_close(y_gpu.data, y_cpu.data, 'ResNet50: output', **_tol(dev))


@pytest.fixture(scope='module')
def vgg16():
    np.random.seed(0)
    return VGG16()


@pytest.mark.slow
def test_vgg16_moves_to_the_device_and_back(vgg16, xp_device):
    """Only the structure: a 224x224 forward of 138M parameters is left to the CPU
    tests."""
    dev = xp_device
    shapes = {name: p.data.shape for name, p in vgg16.named_params()}
    first = vgg16.conv1_1.W.data.copy()
    vgg16.to_gpu()
    try:
        moved = dict(vgg16.named_params())
        assert list(moved) == list(shapes)
        for name, param in moved.items():
            assert dev.is_device(param.data), name
            assert param.data.shape == shapes[name] and param.data.dtype == np.float32
        with pytest.raises(ValueError, match=r'VGG16: fc6 takes 7x7'):
            vgg16(dev.put(_images(1, 32)))
    finally:
        vgg16.to_cpu()
    assert all(type(p.data) is np.ndarray for p in vgg16.params())
    np.testing.assert_array_equal(vgg16.conv1_1.W.data, first)


def test_vgg16_preprocess_stays_on_the_cpu(xp_device):
    image = np.random.default_rng(0).integers(0, 256, (224, 224, 3)).astype(np.uint8)
    x = VGG16.preprocess(image)
    assert type(x) is np.ndarray and x.shape == (3, 224, 224)
    assert xp_device.is_device(cuda.as_cupy(x[np.newaxis]))
    with pytest.raises(TypeError, match=r'VGG16.preprocess: .*GPU.*image.get\(\)'):
        VGG16.preprocess(xp_device.put(image))


# ---- the Trainer -------------------------------------------------------------------------
def _fit_spiral(gpu, epochs=3, callbacks=(), metrics=None):
    """A seeded MLP fitted on the spiral with validation; the model and the history."""
    np.random.seed(0)
    train = dezero.datasets.Spiral(train=True)
    test = dezero.datasets.Spiral(train=False)
    model = MLP((10, 3))
    if gpu:
        model.to_gpu()
    trainer = Trainer(model, optimizers.SGD(1.0), metrics=metrics)
    history = trainer.fit(
        DataLoader(train, 30, gpu=gpu),
        epochs,
        progress=False,
        val_loader=DataLoader(test, 100, shuffle=False, gpu=gpu),
        callbacks=callbacks,
    )
    return trainer, history


def test_trainer_fit_and_evaluate_on_device_match_cpu(xp_device, tmp_path):
    dev = xp_device
    _, h_cpu = _fit_spiral(gpu=False)
    trainer, h_gpu = _fit_spiral(gpu=True)
    assert h_gpu.keys() == {'loss', 'acc', 'val_loss', 'val_acc'}
    for name, values in h_gpu.items():
        assert all(type(v) is float for v in values), name
        np.testing.assert_allclose(values, h_cpu[name], rtol=1e-4, err_msg=name)
    assert h_gpu['loss'][-1] < h_gpu['loss'][0]
    assert all(dev.is_device(p.data) for p in trainer.model.params())
    logs = trainer.evaluate(DataLoader(dezero.datasets.Spiral(train=False), 50, gpu=True))
    assert logs['loss'] == pytest.approx(h_gpu['val_loss'][-1], rel=1e-5)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return  # the plot needs matplotlib (an examples extra)
    plot_history(h_gpu, tmp_path / 'history.png')
    assert (tmp_path / 'history.png').stat().st_size > 0


class _Snapshots:
    """A callback keeping a host copy of the weights at the end of every epoch."""

    def __init__(self):
        self.weights = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.weights[epoch] = [cuda.as_numpy(p.data).copy() for p in trainer.model.params()]


def test_early_stopping_and_best_weights_on_device(xp_device, tmp_path):
    """A scripted training score peaks at epoch 2: EarlyStopping stops at epoch 4 and
    BestWeights puts the weights of epoch 2 back, on the device."""
    dev = xp_device
    scores = iter([1.0] * 10 + [3.0] * 10 + [2.0] * 100)  # 10 batches an epoch

    def score(y, t):
        return next(scores) if Config.train else 0.0

    snapshots = _Snapshots()
    early = EarlyStopping('score', patience=2, mode='max')
    best = BestWeights(tmp_path / 'best.npz', 'score', mode='max')
    trainer, history = _fit_spiral(
        True, epochs=10, callbacks=[snapshots, early, best], metrics={'score': score}
    )
    assert early.stopped_epoch == 4 and best.best_epoch == 2
    assert history['score'] == [1.0, 3.0, 2.0, 2.0]
    assert not np.array_equal(snapshots.weights[2][0], snapshots.weights[4][0])
    for param, want in zip(trainer.model.params(), snapshots.weights[2]):
        dev.assert_close(param.data, want, 'BestWeights: restored')


# ---- sequences -------------------------------------------------------------------------
def test_seq_dataloader_yields_device_batches(xp_device):
    dev = xp_device
    series = dezero.datasets.SinCurve(train=True)
    cpu = list(SeqDataLoader(series, 5))
    gpu = list(SeqDataLoader(series, 5, gpu=True))
    assert len(gpu) == len(cpu) == -(-len(series) // 5)  # ceil, as in the book
    for (xc, tc), (xg, tg) in zip(cpu[:3] + cpu[-1:], gpu[:3] + gpu[-1:]):
        dev.assert_close(xg, xc, 'x')
        dev.assert_close(tg, tc, 't')


class _Recurrent(dezero.Model):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell
        self.fc = L.Linear(1)

    def forward(self, x):
        return self.fc(self.cell(x))


def _bptt(cell, gpu, bptt_length=4):
    """Truncated BPTT over 40 steps of the sine series, 2 sequences a batch."""
    np.random.seed(0)
    series = dezero.datasets.SinCurve(train=True)
    x, t = series.data[:80], series.label[:80]
    model = _Recurrent(cell())
    if gpu:
        model.to_gpu()
    opt = optimizers.Adam(0.01).setup(model)
    loss, count, losses = 0, 0, []
    for xb, tb in SeqDataLoader((x, t), 2, gpu=gpu):
        loss = loss + F.mean_squared_error(model(xb), tb)
        count += 1
        if count % bptt_length == 0:
            model.cleargrads()
            loss.backward()
            loss.unchain_backward()
            opt.update()
            losses.append(float(cuda.as_numpy(loss.data)))
            loss = 0
    return model, losses


@pytest.mark.parametrize('cell', [lambda: L.RNN(6), lambda: L.LSTM(6)], ids=['RNN', 'LSTM'])
def test_truncated_bptt_on_device_matches_cpu(cell, xp_device):
    dev = xp_device
    cpu, losses_cpu = _bptt(cell, gpu=False)
    gpu, losses_gpu = _bptt(cell, gpu=True)
    np.testing.assert_allclose(losses_gpu, losses_cpu, rtol=1e-4)
    assert len(losses_gpu) == 10
    for (pname, pc), (_, pg) in zip(cpu.named_params(), gpu.named_params()):
        dev.assert_close(pg.data, pc.data, pname, rtol=1e-4, atol=1e-5)
    # the last step ended a truncation: the kept state is on the device, cut loose
    assert dev.is_device(gpu.cell.h.data) and gpu.cell.h.creator is None


# ---- randomness, ids, labels, batch norm ----------------------------------------------
def test_dropout_mask_on_device(xp_device):
    dev = xp_device
    x = Variable(dev.put(np.arange(1.0, 201.0).reshape(10, 20)))
    y = F.dropout(x, 0.25)
    factor = y.creator.factor
    assert dev.is_device(y.data) and dev.is_device(factor)
    kept = cuda.as_numpy(factor) != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(cuda.as_numpy(factor)[kept], 1 / 0.75)
    np.testing.assert_allclose(cuda.as_numpy(y.data), cuda.as_numpy(x.data * factor))
    y.backward()
    dev.assert_close(x.grad.data, cuda.as_numpy(factor), 'dropout: gradient')
    with dezero.test_mode():
        assert F.dropout(x, 0.25).data is x.data


@pytest.mark.parametrize(
    'ids', [np.array([[0, 2], [2, 4]]), np.array(3)], ids=['repeated', 'scalar']
)
@pytest.mark.parametrize('where', ['device', 'device-variable', 'host'])
def test_embed_id_on_device_matches_cpu(ids, where, xp_device):
    dev = xp_device
    W = np.random.default_rng(0).standard_normal((5, 3))
    Wc, Wg = Variable(W.copy()), Variable(dev.put(W))
    ids_g = {'device': dev.put(ids), 'device-variable': Variable(dev.put(ids)), 'host': ids}[where]
    y_cpu, y_gpu = F.embed_id(ids, Wc), F.embed_id(ids_g, Wg)
    F.sum(y_cpu * y_cpu).backward()
    F.sum(y_gpu * y_gpu).backward()
    dev.assert_close(y_gpu.data, y_cpu.data, 'embed_id: output')
    dev.assert_close(Wg.grad.data, Wc.grad.data, 'embed_id: gradient of W')
    with pytest.raises(TypeError, match=r'embed_id: the ids are on the GPU but W is on'):
        F.embed_id(dev.put(ids), Wc)


def test_accuracy_with_device_labels(xp_device):
    dev = xp_device
    y = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    t = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    want = F.accuracy(y, t)
    got = F.accuracy(Variable(dev.put(y)), Variable(dev.put(t)))
    dev.assert_close(got.data, want.data, 'accuracy')
    assert got.creator is None
    with pytest.raises(TypeError, match=r'accuracy: y is on the GPU but t on the CPU'):
        F.accuracy(dev.put(y), t)


def test_batch_norm_test_mode_on_device_matches_cpu(xp_device):
    """Two training steps (the running statistics move), then test mode."""
    dev = xp_device
    x = np.random.default_rng(0).standard_normal((6, 3, 2, 2)).astype(np.float32)
    outputs = []
    for put in (None, dev.put):
        layer = L.BatchNorm()
        xs = x if put is None else put(x)
        for _ in range(2):
            layer(xs * 2.0 + 1.0)
        with dezero.test_mode():
            outputs.append((layer, layer(xs)))
    (cpu, y_cpu), (gpu, y_gpu) = outputs
    dev.assert_close(y_gpu.data, y_cpu.data, 'BatchNorm test mode: output', rtol=1e-5, atol=1e-6)
    for (pname, pc), (_, pg) in zip(cpu.named_params(), gpu.named_params()):
        dev.assert_close(pg.data, pc.data, f'BatchNorm: {pname}', rtol=1e-5, atol=1e-6)


# ---- scatter-add without add.at (CuPy before v13) -----------------------------------
class _UfuncWithoutAt:
    """``cupy.add`` of CuPy before v13: callable, but without ``at``."""

    def __init__(self, ufunc):
        self._ufunc = ufunc

    def __call__(self, *args, **kwargs):
        return self._ufunc(*args, **kwargs)


@pytest.fixture
def old_cupy(xp_device, monkeypatch):
    """The device with ``add.at`` hidden; on the stand-in, a fake ``cupyx`` whose
    ``scatter_add`` counts its calls (``old_cupy.calls``); on real CuPy, cupyx itself."""
    dev = xp_device
    monkeypatch.setattr(dev.xp, 'add', _UfuncWithoutAt(dev.xp.add), raising=False)
    assert not hasattr(dev.xp.add, 'at')
    dev.calls = []
    if not dev.exact:
        return dev

    def fake_scatter_add(a, slices, value):
        dev.calls.append(slices)
        np.add.at(
            fake_cupy._unwrap(a, True, 'scatter_add'),
            fake_cupy._unwrap(slices, True, 'scatter_add'),
            fake_cupy._unwrap(value, True, 'scatter_add'),
        )

    cupyx = types.ModuleType('cupyx')
    cupyx.scatter_add = fake_scatter_add
    monkeypatch.setitem(sys.modules, 'cupyx', cupyx)
    return dev


def test_scatter_add_adds_repeats_on_either_device():
    target = np.zeros(4)
    scatter_add(target, np.array([1, 3, 1]), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(target, [0.0, 4.0, 0.0, 2.0])


def test_scatter_add_falls_back_to_cupyx(old_cupy):
    dev = old_cupy
    target = dev.put(np.zeros((4, 2)))
    scatter_add(target, dev.put(np.array([1, 3, 1])), dev.put(np.ones((3, 2))))
    dev.assert_close(target, np.array([[0, 0], [2, 2], [0, 0], [1, 1.0]]), 'scatter_add')
    assert len(dev.calls) == int(dev.exact)


def test_gradients_of_indexing_without_add_at(old_cupy):
    dev = old_cupy
    W = np.random.default_rng(0).standard_normal((5, 3))
    ids = np.array([0, 2, 0, 4])
    Wc, Wg = Variable(W.copy()), Variable(dev.put(W))
    for Wv, put in ((Wc, None), (Wg, dev.put)):
        i = ids if put is None else put(ids)
        y = F.embed_id(i, Wv) + F.get_item(Wv, i) * 2.0
        F.sum(y * y).backward(create_graph=True)
    dev.assert_close(Wg.grad.data, Wc.grad.data, 'gradient through scatter_add')
    assert len(dev.calls) >= 2 * int(dev.exact)

"""AdamW, RMSprop, optimizer state files and Checkpoint with the model on the device,
each compared with the same work on the CPU."""

import numpy as np
import pytest

import dezero.functions as F
from dezero import cuda, optimizers
from dezero.dataloaders import DataLoader
from dezero.models import MLP
from dezero.trainer import Checkpoint, Trainer

OPTIMIZERS = {
    'AdamW': lambda: optimizers.AdamW(0.01, weight_decay=0.1),
    'RMSprop': lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True, weight_decay=0.1),
}


def _model(put):
    np.random.seed(0)
    model = MLP((5, 3))
    if put is not None:
        model.to_gpu()
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    model(x if put is None else put(x))
    return model, (x if put is None else put(x))


def _steps(model, opt, x, n):
    for _ in range(n):
        model.cleargrads()
        F.sum(model(x) ** 2).backward()
        opt.update()


@pytest.mark.parametrize('name', list(OPTIMIZERS))
def test_new_optimizers_on_device_match_cpu(name, xp_device):
    dev = xp_device
    gpu, xg = _model(dev.put)
    cpu, xc = _model(None)
    opt_g, opt_c = OPTIMIZERS[name]().setup(gpu), OPTIMIZERS[name]().setup(cpu)
    _steps(gpu, opt_g, xg, 3)
    _steps(cpu, opt_c, xc, 3)
    for (path, p), q in zip(gpu.named_params(), cpu.params()):
        dev.assert_close(p.data, q.data, path, rtol=1e-5, atol=1e-6)
        for key, array in opt_g.state_of(p).items():
            if key == 'step':  # AdamW's count of the parameter's steps: a Python int
                assert array == opt_c.state_of(q)['step']
                continue
            assert dev.is_device(array), f'{path} {key}'


@pytest.mark.parametrize('name', list(OPTIMIZERS))
def test_optimizer_state_saved_from_and_loaded_onto_the_device(name, xp_device, tmp_path):
    dev = xp_device
    model, x = _model(dev.put)
    opt = OPTIMIZERS[name]().setup(model)
    _steps(model, opt, x, 2)
    opt.save(tmp_path / 'opt.npz')
    with np.load(tmp_path / 'opt.npz', allow_pickle=False) as f:
        assert all(type(f[k]) is np.ndarray for k in f.files)
    other, _ = _model(dev.put)
    opt2 = OPTIMIZERS[name]().setup(other)
    opt2.load(tmp_path / 'opt.npz')
    for p, q in zip(model.params(), other.params()):
        for key, array in opt2.state_of(q).items():
            if key == 'step':  # AdamW's count of the parameter's steps: a Python int
                assert array == opt.state_of(p)['step'] == 2
                continue
            assert dev.is_device(array)
            dev.assert_close(array, cuda.as_numpy(opt.state_of(p)[key]), key)


def _fit(put, path, epochs):
    np.random.seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 4)).astype(np.float32)
    t = rng.integers(0, 3, size=24)
    model = MLP((5, 3))
    if put is not None:
        model.to_gpu()
    trainer = Trainer(model, optimizers.Adam(0.01))
    loader = DataLoader((x, t), 8, gpu=put is not None)
    history = trainer.fit(loader, epochs, progress=False, callbacks=[Checkpoint(path)])
    return model, history


def test_checkpoint_resumes_a_run_on_the_device(xp_device, tmp_path):
    dev = xp_device
    whole, whole_history = _fit(dev.put, tmp_path / 'whole.npz', 4)
    _fit(dev.put, tmp_path / 'cut.npz', 2)
    resumed, history = _fit(dev.put, tmp_path / 'cut.npz', 4)
    assert len(history['loss']) == 4
    if dev.exact:
        assert history == whole_history
    else:
        assert history == pytest.approx(whole_history, rel=1e-5)
    for (path, p), q in zip(resumed.named_params(), whole.params()):
        assert dev.is_device(p.data), path
        dev.assert_close(p.data, cuda.as_numpy(q.data), path, rtol=0 if dev.exact else 1e-5)

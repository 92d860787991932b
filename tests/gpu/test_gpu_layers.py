"""Layers held in lists and dicts, and Variables converted to numbers and arrays, on the
device: moved, trained, saved and loaded like the CPU ones."""

import numpy as np
import pytest

import dezero.functions as F
import dezero.layers as L
from dezero import Variable, cuda, optimizers


class Heads(L.Layer):
    """Two Linear layers in a list and one in a dict."""

    def __init__(self):
        super().__init__()
        self.blocks = [L.Linear(4, in_size=3), L.Linear(4, in_size=4)]
        self.heads = {'out': L.Linear(2, in_size=4)}

    def forward(self, x):
        for block in self.blocks:
            x = F.tanh(block(x))
        return self.heads['out'](x)


def _train(gpu, steps=5):
    np.random.seed(0)
    model = Heads()
    if gpu:
        model.to_gpu()
    opt = optimizers.Adam(lr=0.05).setup(model)
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    if gpu:
        x = cuda.as_cupy(x)
    for _ in range(steps):
        loss = F.sum(model(x) ** 2)
        model.cleargrads()
        loss.backward()
        opt.update()
    return model


def test_layers_in_containers_move_and_train_on_the_device(xp_device, tmp_path):
    dev = xp_device
    cpu, gpu = _train(gpu=False), _train(gpu=True)
    names = [name for name, _ in gpu.named_params()]
    assert names == [
        'blocks/0/W',
        'blocks/0/b',
        'blocks/1/W',
        'blocks/1/b',
        'heads/out/W',
        'heads/out/b',
    ]
    for (name, pc), (_, pg) in zip(cpu.named_params(), gpu.named_params()):
        dev.assert_close(pg.data, pc.data, name, rtol=1e-4, atol=1e-6)
    gpu.blocks.append(L.Linear(4, in_size=4))  # appended on the CPU, moved later
    gpu.to_gpu()
    assert all(dev.is_device(p.data) for p in gpu.params())
    path = str(tmp_path / 'heads.npz')
    gpu.save_weights(path)
    gpu.to_cpu()
    assert all(isinstance(p.data, np.ndarray) for p in gpu.params())
    gpu.to_gpu()
    gpu.load_weights(path)
    assert all(dev.is_device(p.data) for p in gpu.params())


def test_device_variables_convert_to_numbers_but_not_silently_to_numpy(xp_device):
    dev = xp_device
    v = Variable(dev.put(np.array([[2.5]], np.float32)))
    assert float(v) == 2.5 and int(v) == 2 and v.item() == 2.5
    with pytest.raises(TypeError, match=r'GPU array.*to_cpu\(\)'):
        np.asarray(v)
    v.to_cpu()
    assert np.asarray(v).tolist() == [[2.5]]


def test_the_book_finds_the_cupy_module_as_dezero_cuda_cupy(xp_device):
    # the book's GAN and VAE write ``xp = dezero.cuda.cupy`` when gpu_enable is True
    assert cuda.gpu_enable is True
    assert cuda.cupy is xp_device.xp

"""examples/mnist.py --gpu: its training function on a device (the stand-in here) learns
as on the CPU."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from example_runner import load_example  # noqa: E402


def test_mnist_example_trains_on_the_device_as_on_the_cpu(xp_device):
    mnist = load_example('mnist.py')
    data = load_example('mnist_data.py')
    x, t = data.synthetic_digits(300, seed=0)
    train_set, test_set = (x[:200], t[:200]), (x[200:], t[200:])
    runs = {}
    for gpu in (False, True):
        model, history = mnist.train(
            train_set,
            test_set,
            epochs=2,
            hidden=(32,),
            batch_size=50,
            seed=0,
            progress=False,
            gpu=gpu,
        )
        runs[gpu] = history
        on_device = all(xp_device.is_device(p.data) for p in model.params())
        assert on_device == gpu
    assert runs[True]['loss'][-1] < runs[True]['loss'][0]
    np.testing.assert_allclose(runs[True]['loss'], runs[False]['loss'], rtol=1e-4)
    np.testing.assert_allclose(runs[True]['val_acc'], runs[False]['val_acc'], atol=0.02)

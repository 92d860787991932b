"""Keeps benchmarks/bench_cnn.py working: the network's shapes, a tiny run, and the same
training as PyTorch when PyTorch is installed."""

import json

import numpy as np
import pytest

from bench_support import frozen_gc, load  # noqa: F401  (frozen_gc: autouse fixture)


@pytest.fixture(scope='module')
def bench():
    return load('bench_cnn')


def test_training_step_gives_logits_of_every_class_in_float32(bench):
    model, optimizer = bench.make_model()
    ((x, t),) = bench.make_batches(1)
    assert x.shape == (32, 1, 28, 28) and x.dtype == np.float32
    assert model(x).shape == (32, 10)
    before = model.conv1.W.data.copy()
    loss = bench.training_step(model, optimizer, x, t)
    assert loss.dtype == np.float32 and np.isfinite(float(loss.data))
    assert not np.array_equal(before, model.conv1.W.data)  # SGD moved it
    assert bench.check_same_training(None, steps=1) == (None, ['float32'])


def test_run_tiny_configuration_without_torch(bench):
    result = bench.run(repeat=1, steps=1, use_torch=False)
    assert result['torch'] is None and result['ratio_dezero_torch'] is None
    assert result['dezero']['median_s'] > 0
    speed, same, float32 = result['targets']
    assert speed['passed'] is None and same['passed'] is None
    assert float32['passed']
    json.dumps(result)
    assert 'SKIP: cnn: dezero <= 1.5 x PyTorch' in bench.report(result)


def test_same_training_as_pytorch(bench):
    torch = pytest.importorskip('torch')
    difference, dtypes = bench.check_same_training(torch)
    assert difference < 1e-5 and dtypes == ['float32']
    result = bench.run(repeat=1, steps=1, torch=torch)
    assert result['ratio_dezero_torch'] > 0
    assert all(t['passed'] in (True, False) for t in result['targets'])

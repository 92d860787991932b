"""Keeps benchmarks/bench_cifar.py working: the networks' shapes and work, a tiny run,
and the same training as PyTorch when PyTorch is installed."""

import json
import statistics

import numpy as np
import pytest

from bench_support import frozen_gc, load  # noqa: F401  (frozen_gc: autouse fixture)


@pytest.fixture(scope='module')
def bench():
    return load('bench_cifar')


@pytest.mark.parametrize('name', ['cifar', 'bottleneck'])
def test_a_training_step_gives_logits_of_every_class_in_float32(bench, name):
    model, optimizer = bench.make_model(name)
    ((x, t),) = bench.make_batches(name, 1)
    assert model(x).shape == (len(x), 10)
    loss = bench.training_step(model, optimizer, x, t)
    assert loss.dtype == np.float32 and np.isfinite(float(loss.data))


def test_the_work_of_a_step_is_counted_layer_by_layer(bench):
    # bottleneck, batch 16 at 16x16: 1x1 256->64, 3x3 64->64, 1x1 64->256, linear 256->10
    pixels = 16 * 16 * 16
    forward = [
        2 * pixels * 64 * 256,
        2 * pixels * 64 * 64 * 9,
        2 * pixels * 256 * 64,
        2 * 16 * 256 * 10,
    ]
    assert bench.step_flops('bottleneck') == 3 * sum(forward) - forward[0]
    assert 9e9 < bench.step_flops('cifar') < 1.1e10  # about 10 GFLOP


def test_run_tiny_configuration_without_torch(bench):
    result = bench.run(repeat=1, steps=1, use_torch=False, names=('bottleneck',))
    case = result['cases']['bottleneck']
    assert case['torch'] is None and case['dezero']['median_s'] > 0
    assert case['ratio_dezero_torch'] is None and case['paired_ratio_median'] is None
    assert 0 < case['dezero_peak_fraction'] < 2 and result['gemm_peak_gflops'] > 0
    json.dumps(result)
    table = bench.report(result)
    assert 'bottleneck: float32 only' in table
    faults = case['page_faults_per_step']
    assert set(faults) == {'dezero'}
    if faults['dezero'] is not None:  # counted where the resource module exists
        assert faults['dezero'] >= 0
        assert 'bottleneck: page faults per step (median): dezero' in table


def test_same_training_as_pytorch(bench):
    torch = pytest.importorskip('torch')
    for name in ('cifar', 'bottleneck'):
        difference, dtypes = bench.check_same_training(torch, name, steps=2)
        assert difference < 1e-4 and dtypes == ['float32']


def test_each_block_is_also_paired_with_the_pytorch_block_next_to_it(bench):
    torch = pytest.importorskip('torch')
    result = bench.run(repeat=3, steps=1, torch=torch, names=('bottleneck',))
    case = result['cases']['bottleneck']
    ours, theirs = case['dezero']['times_s'], case['torch']['times_s']
    assert len(ours) == len(theirs) == 3
    expected = statistics.median(a / b for a, b in zip(ours, theirs))
    assert case['paired_ratio_median'] == pytest.approx(expected)
    assert f"paired blocks' ratios dezero / torch {expected:.2f}x" in bench.report(result)

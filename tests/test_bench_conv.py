"""Keeps benchmarks/bench_conv.py working: tiny run, and the same math as PyTorch when
PyTorch is installed."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

_PATH = pathlib.Path(__file__).resolve().parents[1] / 'benchmarks' / 'bench_conv.py'


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('bench_conv', _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dezero_side_gives_shapes_and_float32(bench):
    x, W, b = bench.make_data()
    y, gx, gW, gb = bench.conv_dezero(x, W, b)
    assert y.shape == (32, 16, 32, 32) and y.dtype == np.float32
    assert gx.shape == x.shape and gW.shape == W.shape and gb.shape == b.shape
    np.testing.assert_allclose(gb, np.full(16, 32 * 32 * 32), rtol=1e-6)
    p, gh = bench.pool_dezero(y)
    assert p.shape == (32, 16, 16, 16)
    assert gh.sum() == p.size  # one winner per window


def test_run_tiny_configuration_without_torch(bench):
    result = bench.run(repeat=1, steps=1, use_torch=False)
    assert set(result['cases']) == {'conv2d', 'max_pooling'}
    assert result['targets'] == [] and result['max_relative_difference'] is None
    assert all(c['dezero']['median_s'] > 0 for c in result['cases'].values())
    json.dumps(result)
    assert 'conv2d' in bench.report(result)


def test_same_results_as_pytorch(bench):
    torch = pytest.importorskip('torch')
    x, W, b = bench.make_data()
    h = bench.conv_dezero(x, W, b)[0]
    assert bench.check_same_results(torch, x, W, b, h) < 1e-4

"""Keeps benchmarks/bench_engine.py working: its cases in a tiny configuration."""
import importlib.util
import json
import math
import pathlib

import pytest

_PATH = pathlib.Path(__file__).resolve().parents[1] / 'benchmarks' / 'bench_engine.py'


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('bench_engine', _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('n_leaves', [1, 2, 64, 100, 129])
def test_tree_backward_gives_every_leaf_gradient_one(bench, n_leaves):
    leaves, root = bench.tree_dezero(n_leaves)
    assert len(leaves) == n_leaves
    assert float(root.data) == sum(range(n_leaves))
    root.backward()
    assert all(float(x.grad.data) == 1.0 for x in leaves)


@pytest.mark.parametrize('n_ops', [1, 200, 201])
def test_chain_gradient_is_exact(bench, n_ops):
    x0, y = bench.chain_dezero(n_ops)
    assert y.generation == n_ops
    y.backward()
    assert math.isclose(float(x0.grad.data), bench.chain_grad(n_ops), rel_tol=1e-12)


def test_run_tiny_configuration_without_torch(bench):
    result = bench.run(chain_ops=200, tree_leaves=(64, 128), repeat=1, use_torch=False)
    assert set(result) == {'config', 'environment', 'chain', 'tree', 'targets'}
    assert result['config'] == {'chain_ops': 200, 'tree_leaves': [64, 128], 'repeat': 1}

    chain = result['chain']
    assert chain['torch'] is None and chain['ratio_dezero_torch'] is None
    assert chain['paired_ratio_median'] is None
    assert len(chain['dezero']['times_s']) == 1
    assert chain['dezero']['median_s'] > 0
    assert chain['dezero']['per_item_us'] == pytest.approx(
        chain['dezero']['median_s'] / 200 * 1e6)

    tree = result['tree']
    assert tree['torch'] is None and tree['ratio_dezero_torch'] is None
    assert set(tree['dezero']['sizes']) == {'64', '128'}
    assert all(s['median_s'] > 0 for s in tree['dezero']['sizes'].values())
    (ratio,) = tree['dezero']['doubling_ratios']
    assert ratio == pytest.approx(tree['dezero']['sizes']['128']['median_s']
                                  / tree['dezero']['sizes']['64']['median_s'])

    (target,) = result['targets']          # without torch only the doubling target
    assert target['value'] == ratio
    assert target['passed'] == (ratio <= bench.MAX_DOUBLING_RATIO)

    json.dumps(result)                      # --json must be able to write it
    text = bench.report(result)
    assert 'chain of 200 scalar ops' in text
    assert ('PASS: tree backward' in text) or ('FAIL: tree backward' in text)

"""Keeps benchmarks/bench_engine.py working: its cases in a tiny configuration."""

import json
import math

import pytest

from bench_support import frozen_gc, load  # noqa: F401  (frozen_gc: autouse fixture)


@pytest.fixture(scope='module')
def bench():
    return load('bench_engine')


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
    result = bench.run(
        chain_ops=200, tree_leaves=(64, 128), repeat=1, use_torch=False, use_autograd=False
    )
    assert set(result) == {'config', 'environment', 'chain', 'tree', 'targets'}
    assert result['config'] == {'chain_ops': 200, 'tree_leaves': [64, 128], 'repeat': 1}

    chain = result['chain']
    assert chain['torch'] is None and chain['ratio_dezero_torch'] is None
    assert chain['autograd'] is None and chain['ratio_dezero_autograd'] is None
    assert chain['paired_ratio_median'] is None
    assert chain['ops'] == 200 and list(chain['sizes']) == ['200']
    assert len(chain['dezero']['times_s']) == 1
    assert chain['dezero']['median_s'] > 0
    assert chain['dezero']['per_item_us'] == pytest.approx(chain['dezero']['median_s'] / 200 * 1e6)

    tree = result['tree']
    assert tree['torch'] is None and tree['ratio_dezero_torch'] is None
    assert tree['autograd'] is None
    assert set(tree['dezero']['sizes']) == {'64', '128'}
    assert all(s['median_s'] > 0 for s in tree['dezero']['sizes'].values())
    (ratio,) = tree['dezero']['doubling_ratios']
    assert ratio == pytest.approx(
        tree['dezero']['sizes']['128']['median_s'] / tree['dezero']['sizes']['64']['median_s']
    )

    doubling, tree_vs_torch, chain_vs_torch = result['targets']
    assert doubling['value'] == ratio
    assert doubling['passed'] == (ratio <= bench.MAX_DOUBLING_RATIO)
    for target in (tree_vs_torch, chain_vs_torch):  # without PyTorch: skipped
        assert target['passed'] is None and target['value'] is None
        assert 'PyTorch' in target['why_skipped']

    json.dumps(result)  # --json must be able to write it
    text = bench.report(result)
    assert 'chain of scalar ops' in text
    assert ('PASS: tree backward' in text) or ('FAIL: tree backward' in text)
    assert 'SKIP: chain: dezero time per op' in text


def test_run_chain_keeps_every_length_and_reports_the_longest(bench):
    chain = bench.run_chain((100, 50), repeat=2)
    assert chain['ops'] == 100 and list(chain['sizes']) == ['50', '100']
    assert chain['dezero'] == chain['sizes']['100']['dezero']
    assert all(len(e['dezero']['times_s']) == 2 for e in chain['sizes'].values())
    assert any('100' in line for line in bench.report_chain(chain))


def test_autograd_side_gives_the_exact_gradient_and_times_the_tree(bench):
    autograd = pytest.importorskip('autograd')
    import autograd.numpy  # noqa: F401,F811

    assert math.isclose(bench.chain_autograd(autograd, 201), bench.chain_grad(201), rel_tol=1e-12)
    leaves, root = bench.tree_autograd(100)
    assert len(leaves) == 100 and root._value == sum(range(100))
    tree = bench.run_tree((32, 64), repeat=1, autograd=autograd)
    assert set(tree['autograd']['sizes']) == {'32', '64'}
    assert tree['ratio_dezero_autograd']['64'] > 0 and tree['torch'] is None


def test_torch_side_gives_every_target(bench):
    torch = pytest.importorskip('torch')
    chain = bench.run_chain((200,), repeat=1, torch=torch)
    tree = bench.run_tree((32, 64), repeat=1, torch=torch)
    assert chain['ratio_dezero_torch'] > 0 and chain['paired_ratio_median'] > 0
    targets = bench.chain_targets(chain) + bench.tree_targets(tree)
    assert all(t['passed'] in (True, False) for t in targets)

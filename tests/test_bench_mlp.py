"""Keeps benchmarks/bench_mlp.py honest: the hand-written baseline does the same math as
dezero, and the script runs in a tiny configuration."""

import json

import numpy as np
import pytest

from bench_support import frozen_gc, load  # noqa: F401  (frozen_gc: autouse fixture)


@pytest.fixture(scope='module')
def bench():
    return load('bench_mlp')


def test_both_sides_compute_the_same_losses_in_float32(bench):
    worst, dtypes = bench.check_same_math(hidden=20, steps=4)
    assert worst < 1e-5
    assert dtypes == ['float32']


def test_both_sides_end_with_the_same_weights(bench):
    model, optimizer, net = bench.make_pair(hidden=8)
    for x, t in bench.make_batches(3):
        bench.training_step(model, optimizer, x, t)
        net.step(x, t, bench.LR)
    ours = [p.data for p in model.params()]
    assert [a.shape for a in ours] == [a.shape for a in net.params]
    for a, b in zip(ours, net.params):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_hand_written_gradients_match_central_differences(bench):
    """The baseline is itself right: its weight gradient against a numerical one."""
    rng = np.random.default_rng(1)
    W1, b1 = rng.standard_normal((5, 4)), rng.standard_normal(4)
    W2, b2 = rng.standard_normal((4, 3)), rng.standard_normal(3)
    x, t = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    net = bench.HandWrittenNet(W1.copy(), b1.copy(), W2.copy(), b2.copy())
    net.step(x, t, lr=0.0)
    analytic = net.layers[0].dW

    def loss(W):
        h = bench.HandWrittenNet(W, b1.copy(), W2.copy(), b2.copy())
        return h.step(x, t, lr=0.0)

    numeric = np.zeros_like(W1)
    eps = 1e-6
    for idx in np.ndindex(W1.shape):
        up, down = W1.copy(), W1.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (loss(up) - loss(down)) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_run_tiny_configuration(bench):
    result = bench.run(hidden_sizes=(16,), repeat=1, steps={16: 2}, use_torch=False)
    case = result['cases']['16']
    assert case['dezero_median_s'] > 0 and case['numpy_median_s'] > 0
    assert case['ratio'] == pytest.approx(case['dezero_median_s'] / case['numpy_median_s'])
    assert case['ratio_torch'] is None and 'torch_s' not in case
    assert case['dtypes'] == ['float32']
    (float32_target,) = result['targets']  # 16 has no speed target
    assert float32_target['passed']
    json.dumps(result)
    assert 'hidden 16: float32 only' in bench.report(result)


def test_hidden_50_without_torch_skips_only_the_pytorch_target(bench):
    result = bench.run(hidden_sizes=(50,), repeat=1, steps={50: 1}, use_torch=False)
    numpy_target, torch_target, float32_target = result['targets']
    assert numpy_target['passed'] in (True, False) and numpy_target['limit'] == 1.3
    assert torch_target['passed'] is None and torch_target['limit'] == 0.8
    assert float32_target['passed']


def test_pytorch_side_computes_the_same_losses(bench):
    torch = pytest.importorskip('torch')
    assert bench.check_same_as_torch(torch, hidden=20, steps=4) < 1e-5
    result = bench.run(hidden_sizes=(50,), repeat=1, steps={50: 1})
    assert result['cases']['50']['ratio_torch'] > 0
    assert all(t['passed'] in (True, False) for t in result['targets'])


def test_main_writes_json_and_check_sets_the_exit_status(bench, tmp_path, capsys):
    path = tmp_path / 'result.json'
    assert (
        bench.main(['--hidden', '8', '--repeat', '1', '--json', str(path), '--no-torch', '--check'])
        == 0
    )  # only the float32 target: passes
    result = json.loads(path.read_text())
    assert list(result['cases']) == ['8']
    assert 'hidden 8: float32 only' in capsys.readouterr().out

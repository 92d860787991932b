"""benchmarks/bench_memory.py: the minimum it compares with, a tiny run, and dezero's
memory behaviour in a small network (these two are real tests of the engine)."""

import json

import pytest

from bench_support import frozen_gc, load  # noqa: F401  (frozen_gc: autouse fixture)

LAYERS, WIDTH, BATCH = 4, 64, 64


@pytest.fixture(scope='module')
def bench():
    return load('bench_memory')


@pytest.fixture(scope='module')
def setup(bench):
    return bench.make_setup(LAYERS, WIDTH, BATCH)


def test_minimum_of_the_benchmark_network(bench):
    m = bench.minimum_bytes()  # 20 layers, 512 wide, batch 512
    MiB = 2**20
    assert m['hidden_outputs'] == 19 * MiB and m['network_output'] == MiB
    assert m['working_set'] == 2 * MiB
    assert m['parameter_gradients'] == 20 * (512 * 512 + 512) * 4
    assert m['total'] == 22 * MiB + 20 * (512 * 512 + 512) * 4


def test_nothing_stays_alive_once_the_graph_is_dropped(bench, setup):
    """After ``del loss, y`` (garbage collector disabled) only the parameter gradients
    remain, give or take their few hundred bytes of Python objects each."""
    model, x, t = setup
    measured = bench.traced_pass(model, x, t)
    n_params = len(list(model.params()))
    assert measured['gradients'] == LAYERS * (WIDTH * WIDTH + WIDTH) * 4
    assert measured['after'] >= measured['gradients']
    assert measured['leftover'] <= 1024 * n_params


def test_intermediate_gradients_are_released_during_backward(bench, setup):
    model, x, t = setup
    plain = bench.traced_pass(model, x, t)
    kept = bench.traced_pass(model, x, t, retain_grad=True)
    activation = BATCH * WIDTH * 4
    assert kept['peak'] - plain['peak'] >= 0.5 * LAYERS * activation


def test_run_small_configuration(bench):
    result = bench.run(LAYERS, WIDTH, BATCH)
    names = [t['name'] for t in result['targets']]
    assert len(names) == 3 and all(n.startswith('memory: ') for n in names)
    assert result['peak_ratio'] == pytest.approx(
        result['retain_grad_false']['peak'] / result['minimum']['total']
    )
    assert result['targets'][1]['passed'] and result['targets'][2]['passed']
    json.dumps(result)
    assert 'peak, retain_grad=True' in bench.report(result)

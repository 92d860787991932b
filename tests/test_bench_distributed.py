"""Keeps benchmarks/bench_distributed.py working: a tiny run on 1 and 2 processes, and a
clean skip without mpiexec."""

import json

import pytest

from bench_support import load


@pytest.fixture(scope='module')
def bench():
    return load('bench_distributed')


def test_without_mpiexec_nothing_is_timed_and_the_report_says_why(bench, monkeypatch):
    monkeypatch.setattr(bench, 'mpiexec', lambda: (None, 'no mpiexec found (pip install mpich)'))
    result = bench.run(processes=(1, 2), hidden=8, batch=4, samples=8, repeat=1)
    assert result['cases'] == {} and 'mpich' in result['skipped']
    assert 'nothing timed: no mpiexec found' in bench.report(result)


def test_tiny_run_on_one_and_two_processes(bench, tmp_path, capsys):
    if bench.mpiexec()[0] is None:
        pytest.skip(f'needs mpiexec: {bench.mpiexec()[1]}')
    path = tmp_path / 'result.json'
    args = ['--hidden', '8', '--batch', '8', '--samples', '32', '--repeat', '1']
    assert bench.main([*args, '--json', str(path)]) == 0
    result = json.loads(path.read_text())
    assert list(result['cases']) == ['1', '2'] and result['skipped'] is None
    one, two = result['cases']['1'], result['cases']['2']
    assert one['steps'] == two['steps'] == 4
    assert one['reduce_s_per_step'] == 0.0 < two['reduce_s_per_step']  # one process: no reduction
    assert one['speedup'] == 1.0 and two['speedup'] > 0
    out = capsys.readouterr().out
    assert 'processes' in out and 'allreduce ms' in out

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


@pytest.mark.parametrize(
    'args, message',
    [
        (['--processes', '0'], 'argument --processes: must be a whole number of 1 or more, got 0'),
        (
            ['--processes', '1', '-2'],
            'argument --processes: must be a whole number of 1 or more, got -2',
        ),
        (['--repeat', '0'], '--repeat must be at least 1'),
        (['--repeat', '-1'], '--repeat must be at least 1'),
        (['--samples', '0'], 'argument --samples: must be a whole number of 1 or more, got 0'),
        (['--samples', '-5'], 'argument --samples: must be a whole number of 1 or more, got -5'),
        (['--batch', '0'], 'argument --batch: must be a whole number of 1 or more, got 0'),
        (['--hidden', '0'], 'argument --hidden: must be a whole number of 1 or more, got 0'),
        (['--hidden', '1.5'], "argument --hidden: expected a whole number, got '1.5'"),
    ],
)
def test_bad_numbers_are_refused_before_anything_runs(bench, monkeypatch, capsys, args, message):
    def no_run(*args, **kwargs):
        raise AssertionError('run() was called')

    monkeypatch.setattr(bench, 'run', no_run)
    with pytest.raises(SystemExit) as exit_info:
        bench.main(args)
    assert exit_info.value.code == 2
    assert f'error: {message}' in capsys.readouterr().err


@pytest.mark.parametrize(
    'args, expected',
    [
        ([], {'samples': 6000, 'repeat': 5}),
        (['--quick'], {'samples': 2000, 'repeat': 2}),
        (['--quick', '--samples', '7', '--repeat', '1'], {'samples': 7, 'repeat': 1}),
        (['--processes', '3', '1', '--hidden', '4', '--batch', '2'], {'processes': [3, 1]}),
    ],
)
def test_the_numbers_given_are_the_numbers_run(bench, monkeypatch, capsys, args, expected):
    """Explicit values reach run() as given; the defaults only fill in the rest."""
    calls = []

    def recorded_run(processes, hidden, batch, samples, repeat, log):
        config = {'hidden': hidden, 'batch': batch, 'samples': samples, 'repeat': repeat}
        calls.append({'processes': processes, **config})
        return {'config': config, 'cpus': 1, 'skipped': 'not run here', 'cases': {}}

    monkeypatch.setattr(bench, 'run', recorded_run)
    assert bench.main(args) == 0
    (call,) = calls
    assert {key: call[key] for key in expected} == expected

"""The benchmark suite (``python -m benchmarks``) runs every case in a tiny
configuration, writes all results and targets as JSON, and keeps tables on stdout and
progress on stderr."""

import json
import pathlib
import subprocess
import sys

import pytest

from bench_support import frozen_gc  # noqa: F401  (autouse: main() freezes it too)

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from benchmarks import common, run_all  # noqa: E402

#: how many targets each case reports, measured or skipped
TARGETS_PER_CASE = {'chain': 1, 'tree': 2, 'mlp': 5, 'cnn': 3, 'cifar': 4, 'higher': 3, 'memory': 3}


def test_every_case_has_a_target_count():
    assert list(TARGETS_PER_CASE) == list(run_all.CASES)
    assert set(run_all.PROFILES) == {'full', 'quick', 'tiny'}
    assert all(p.keys() == run_all.PROFILES['full'].keys() for p in run_all.PROFILES.values())


def test_tiny_run_without_baselines_writes_every_case_and_target(tmp_path, capsys):
    path, out, copy = tmp_path / 'all.json', tmp_path / 'out', tmp_path / 'img' / 'ct.png'
    assert (
        run_all.main(
            [
                '--tiny',
                '--no-torch',
                '--no-autograd',
                '--json',
                str(path),
                '--out',
                str(out),
                '--plot',
                str(copy),
            ]
        )
        == 0
    )
    result = json.loads(path.read_text())
    assert result['profile'] == 'tiny'
    assert list(result['cases']) == list(run_all.CASES)
    assert result['baselines'] == {
        'torch': 'disabled (--no-torch)',
        'autograd': 'disabled (--no-autograd)',
    }
    for name, count in TARGETS_PER_CASE.items():
        assert len(result['cases'][name]['targets']) == count
    targets = result['targets']
    assert [t['case'] for t in targets] == [
        n for n, c in TARGETS_PER_CASE.items() for _ in range(c)
    ]
    assert len({t['name'] for t in targets}) == len(targets)
    # without PyTorch, exactly the targets against it are skipped
    skipped = {t['name'] for t in targets if t['status'] == 'skipped'}
    assert skipped == {t['name'] for t in targets if 'PyTorch' in t['name']}
    assert len(skipped) == 9
    assert all(t['status'] in ('PASS', 'FAIL') for t in targets if t['name'] not in skipped)

    captured = capsys.readouterr()
    assert 'baselines: PyTorch disabled (--no-torch)' in captured.out
    for i, name in enumerate(run_all.CASES, 1):
        assert (
            f'({i}) {name}:' in captured.out
            and f'[{i}/{len(TARGETS_PER_CASE)}] {name}' in captured.err
        )
    assert 'summary: ' in captured.out and 'repeat 1/1' not in captured.out
    summary = captured.out[captured.out.index('summary: ') :]
    assert all(t['name'] in summary for t in targets)
    if result['plot'] is not None:  # matplotlib is optional
        assert (out / run_all.PLOT_NAME).stat().st_size > 0
        assert copy.read_bytes() == (out / run_all.PLOT_NAME).read_bytes()


def test_check_exit_status_follows_the_targets(tmp_path, capsys):
    path = tmp_path / 'memory.json'
    status = run_all.main(
        [
            '--tiny',
            '--only',
            'memory',
            '--no-torch',
            '--no-autograd',
            '--check',
            '--json',
            str(path),
            '--out',
            str(tmp_path),
        ]
    )
    result = json.loads(path.read_text())
    assert list(result['cases']) == ['memory'] and result['plot'] is None
    assert status == (1 if any(t['status'] == 'FAIL' for t in result['targets']) else 0)


def test_entry_points_run_as_a_user_would(tmp_path):
    path = tmp_path / 'higher.json'
    args = ['--tiny', '--only', 'higher', '--no-torch', '--no-autograd']
    done = subprocess.run(
        [sys.executable, '-m', 'benchmarks', *args, '--json', str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert '(1) higher:' in done.stdout and '[1/1] higher' in done.stderr
    assert list(json.loads(path.read_text())['cases']) == ['higher']
    done = subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'run_all.py'), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert 'summary: ' in done.stdout


def test_with_the_baselines_their_targets_are_measured():
    torch = pytest.importorskip('torch')
    try:
        autograd = run_all.load_autograd()
    except Exception:  # pragma: no cover - a broken install is no baseline
        autograd = None
    result = run_all.run(
        ['chain', 'tree', 'higher'],
        'tiny',
        torch,
        autograd,
        log=lambda msg: None,
        show=lambda text: None,
    )
    assert all(t['status'] in ('PASS', 'FAIL') for t in result['targets'])
    assert result['cases']['chain']['result']['torch'] is not None
    assert (result['cases']['tree']['result']['autograd'] is not None) == (autograd is not None)


def test_a_run_records_which_blas_kernels_it_used():
    """OPENBLAS_CORETYPE picks OpenBLAS's kernels; the environment of a run says which
    ones ran, so that figures from one machine can be read against each other."""
    import os
    import platform

    def core(**env):
        done = subprocess.run(
            [sys.executable, '-c', 'from benchmarks.common import blas_core; print(blas_core())'],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    if core() == 'None' or platform.machine() not in ('x86_64', 'AMD64'):
        pytest.skip("NumPy's BLAS here is not an x86-64 OpenBLAS that names its kernels")
    assert core(OPENBLAS_CORETYPE='Haswell') == 'Haswell'
    header = run_all.header('quick', {'torch': None, 'autograd': None})
    assert header.count('OpenBLAS kernels: ') == 1


@pytest.mark.parametrize(
    'value, limit, passed, shown',
    [
        (1.2046, 1.2, False, 'FAIL: r (measured 1.205)'),  # not "1.20", the limit itself
        (1.1996, 1.2, True, 'PASS: r (measured 1.1996)'),
        (1.17, 1.2, True, 'PASS: r (measured 1.17)'),
        (1.2, 1.2, True, 'PASS: r (measured 1.20)'),
        (0.004, 1.2, True, 'PASS: r (measured 4.00e-03)'),
    ],
)
def test_a_measured_value_never_reads_as_its_limit_when_it_missed_or_met_it(
    value, limit, passed, shown
):
    target = common.make_target('r', value, limit)
    assert target['passed'] is passed
    assert common.target_line(target) == shown


def test_a_json_path_that_cannot_be_written_is_refused_before_anything_runs(tmp_path):
    script = ROOT / 'benchmarks' / 'bench_cifar.py'
    done = subprocess.run(
        [sys.executable, str(script), '--json', str(tmp_path / 'missing' / 'x.json')],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert 'argument --json: the folder' in done.stderr and 'does not exist' in done.stderr
    assert 'repeat 1/' not in done.stderr  # refused before any measurement


def test_help_and_readme_agree_on_the_quick_run_and_the_cases(capsys):
    # README.md and docs/performance.md give the quick run as about 20 s
    with pytest.raises(SystemExit):
        run_all.main(['--help'])
    help_text = ' '.join(capsys.readouterr().out.split())
    assert 'shorter chains (about 20 s)' in help_text
    assert 'about a minute' not in run_all.__doc__
    readme = (ROOT / 'benchmarks' / 'README.md').read_text()
    listed = readme.split('`--only NAME [NAME ...]` (cases `', 1)[1].split('`', 1)[0]
    assert listed.split() == list(run_all.CASES)

"""The examples run as a user runs them, and the README's Quick start matches CI."""
import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / 'examples'


def run_example(name, *args, cwd):
    """Run ``examples/<name>`` with this interpreter from ``cwd``; return its stdout."""
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f'{name} failed:\n{result.stdout}\n{result.stderr}'
    return result.stdout


def has_module(name):
    return importlib.util.find_spec(name) is not None


# ---- examples/newton.py ----------------------------------------------------------------
def test_newton_reaches_the_minimum_faster_than_gradient_descent(tmp_path):
    out = run_example('newton.py', cwd=tmp_path)
    newton = re.search(r'^newton: (\d+) iterations, x = (\S+)$', out, re.M)
    gd = re.search(r'^gradient descent \(lr=0\.01\): (\d+) iterations, x = (\S+)$', out,
                   re.M)
    assert newton and gd, out
    n_newton, x_newton = int(newton[1]), float(newton[2])
    n_gd, x_gd = int(gd[1]), float(gd[2])
    assert x_newton == pytest.approx(1.0, abs=1e-9)
    assert x_gd == pytest.approx(1.0, abs=1e-6)
    assert n_newton <= 10
    assert n_gd > 100 > n_newton
    assert 'did not converge' not in out


def test_newton_options(tmp_path):
    out = run_example('newton.py', '--x0', '-2', '--lr', '0.02', cwd=tmp_path)
    assert re.search(r'^newton: \d+ iterations, x = -1\.0000000000$', out, re.M), out
    assert 'gradient descent (lr=0.02)' in out


# ---- examples/tanh.py ------------------------------------------------------------------
def test_tanh_third_derivative(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example('tanh.py', '--order', '3', '--out', str(out_dir), cwd=tmp_path)

    # tanh''' at 0 is -2, and every value matches the closed form
    assert re.search(r'^\s+0\.00\s+-2\.00000000$', out, re.M), out
    error = float(re.search(r'max \|error\| against the closed form: (\S+)', out)[1])
    assert error < 1e-10

    size = re.search(r'graph of the order-3 derivative: (\d+) functions, (\d+) variables',
                     out)
    assert size, out
    n_funcs, n_vars = int(size[1]), int(size[2])
    dot = (out_dir / 'tanh_order3.dot').read_text()
    assert dot.startswith('digraph')
    assert dot.count('shape=box') == n_funcs
    assert dot.count('shape=ellipse') == n_vars
    assert f'saved the graph as DOT: {out_dir / "tanh_order3.dot"}' in out

    graph_png = out_dir / 'tanh_order3.png'
    if shutil.which('dot') and has_module('graphviz'):
        assert graph_png.read_bytes().startswith(b'\x89PNG')
        assert f'saved the graph as PNG: {graph_png}' in out
    else:
        assert not graph_png.exists()
        assert 'no PNG of the graph' in out

    plot_png = out_dir / 'tanh_derivatives.png'
    if has_module('matplotlib'):
        assert plot_png.read_bytes().startswith(b'\x89PNG')
        assert f'saved the plot of the derivatives: {plot_png}' in out
    else:
        assert not plot_png.exists()
        assert 'matplotlib is not installed' in out


def test_tanh_graph_grows_with_the_order(tmp_path):
    sizes = []
    for order in (0, 1, 2):
        out = run_example('tanh.py', '--order', str(order), '--out', str(tmp_path),
                          cwd=tmp_path)
        size = re.search(r'(\d+) functions, (\d+) variables', out)
        sizes.append((int(size[1]), int(size[2])))
    assert sizes[0] == (1, 2)              # x -> Tanh -> y
    assert sizes[0] < sizes[1] < sizes[2]


@pytest.mark.parametrize('name', ['tanh.py', 'newton.py'])
def test_examples_have_help(name, tmp_path):
    out = run_example(name, '--help', cwd=tmp_path)
    assert out.startswith('usage:')


# ---- README and CI ---------------------------------------------------------------------
def quick_start_commands():
    """The command lines in the fenced code blocks of the README's Quick start."""
    section = re.search(r'^## Quick start[ \t]*\n(.*?)(?=^## |\Z)',
                        (ROOT / 'README.md').read_text(), re.M | re.S)
    assert section, 'README.md has no "## Quick start" section'
    commands = []
    for block in re.findall(r'^```[^\n]*\n(.*?)^```', section[1], re.M | re.S):
        commands += [line for line in block.splitlines()
                     if line.strip() and not line.lstrip().startswith('#')]
    return commands


def test_quick_start_has_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    main, tests = commands
    assert "'.[examples]'" in main and 'examples/tanh.py' in main
    assert "'.[test]'" in tests and 'pytest' in tests
    for command in commands:      # each sets up its own environment from scratch
        assert command.startswith('python3 -m venv ')


@pytest.mark.skipif(shutil.which('bash') is None, reason='needs bash')
def test_ci_runs_the_readme_test_command():
    ci = ROOT / '.ci' / 'run'
    assert os.access(ci, os.X_OK), '.ci/run must be executable'
    result = subprocess.run(['bash', str(ci), '--print-command'], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == quick_start_commands()[1]

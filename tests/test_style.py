"""The code style the project keeps: ruff's lint rules and its formatter, as set in
pyproject.toml, over the whole tree (the package, tests, examples, benchmarks, steps)."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def ruff(*args):
    """Run ruff from this environment (or the PATH) in the repository root."""
    exe = shutil.which('ruff', path=str(pathlib.Path(sys.executable).parent)) or shutil.which(
        'ruff'
    )
    if exe is None:
        pytest.skip('ruff is not installed (it comes with the test extra)')
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing_to_complain_about():
    result = ruff('check', '--no-cache', '.')
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_formatted_as_ruff_formats_it():
    result = ruff('format', '--check', '--no-cache', '.')
    assert result.returncode == 0, result.stdout + result.stderr + '\nrun `ruff format .` to fix'

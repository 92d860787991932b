"""Running the examples as a user runs them, for the example tests."""

import importlib.util
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / 'examples'
HAS_MATPLOTLIB = importlib.util.find_spec('matplotlib') is not None


def has_module(name):
    return importlib.util.find_spec(name) is not None


#: For examples run side by side: one thread each for the linear-algebra library, so
#: that two processes do not fight over the same cores.
ONE_THREAD = dict(os.environ, OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1', MKL_NUM_THREADS='1')


def run_example(name, *args, cwd, status=0, timeout=120, env=None, stderr=False):
    """Run ``examples/<name>`` with this interpreter from ``cwd`` (and ``env``, by
    default this process's environment); check its exit status, return its stdout (and
    its stderr with ``stderr``: a pair)."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert result.returncode == status, (
        f'{name} exited {result.returncode}:\n{result.stdout}\n{result.stderr}'
    )
    return (result.stdout, result.stderr) if stderr else result.stdout


def load_example(name):
    """Import ``examples/<name>`` as a module (its ``main`` does not run)."""
    if str(EXAMPLES) not in sys.path:  # for the examples' shared helpers
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f'example_{name[:-3]}', EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_pictures(out, paths):
    """With matplotlib, every PNG in ``paths`` was written and announced ("saved
    PATH"); without it, the example said so and wrote none of them.  An example that
    draws nothing with matplotlib (``paths`` empty) has nothing to check."""
    if not paths:
        return
    if HAS_MATPLOTLIB:
        for path in paths:
            assert pathlib.Path(path).read_bytes().startswith(b'\x89PNG'), path
            assert f'saved {path}' in out, f'no "saved {path}" in:\n{out}'
    else:
        assert 'matplotlib is not installed' in out
        assert not any(pathlib.Path(p).exists() for p in paths)


def assert_png(path):
    """``path`` holds a PNG picture."""
    assert pathlib.Path(path).read_bytes().startswith(b'\x89PNG'), path

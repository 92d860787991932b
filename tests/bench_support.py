"""What the tests of the benchmark scripts share: loading a script as a module, and a
garbage collector frozen the way the scripts freeze it."""

import gc
import importlib.util
import pathlib

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / 'benchmarks'


def load(name):
    """``benchmarks/<name>.py`` as a module of its own, the way the script runs."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def frozen_gc():
    """Freeze the objects alive now, as the scripts do after their imports, and give
    them back to the collector after the test.  Every timed run starts with a
    gc.collect(), which would otherwise walk all of pytest's (and PyTorch's) objects
    each time: about 0.1 s a call."""
    gc.freeze()
    yield
    gc.unfreeze()

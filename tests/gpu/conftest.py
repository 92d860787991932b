"""Fixtures for the GPU tests: ``xp_device`` runs each test on the real CuPy (skipped
unless CuPy imports and finds a CUDA device) and on the NumPy-backed stand-in of
:mod:`fake_cupy`, which checks that dezero keeps device arrays on the device and never
mixes them with NumPy arrays, on any machine."""

import sys
from pathlib import Path

import numpy as np
import pytest

from dezero import cuda

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # fake_cupy
sys.path.insert(0, str(HERE.parent / 'functions'))  # the gradient registry

import fake_cupy  # noqa: E402


class Device:
    """One way to run on a GPU: ``xp`` (the CuPy module), ``put(a)`` (a NumPy array
    or a structure of them, moved to the device), ``is_device(a)`` and ``exact``
    (whether device results equal the CPU's to the last bit, as with the stand-in)."""

    def __init__(self, name, xp, exact):
        self.name = name
        self.xp = xp
        self.exact = exact

    def put(self, a):
        if isinstance(a, np.ndarray):
            return cuda.as_cupy(a)
        if isinstance(a, (tuple, list)):
            return type(a)(self.put(x) for x in a)
        return a

    def is_device(self, a):
        return isinstance(a, self.xp.ndarray)

    def assert_close(self, got, want, what='', rtol=1e-9, atol=1e-12):
        """``got`` (a device array) equals the CPU result ``want``."""
        assert self.is_device(got), f'{what}: not on the device ({type(got).__name__})'
        got = cuda.as_numpy(got)
        assert got.shape == np.shape(want), f'{what}: shape {got.shape} != {np.shape(want)}'
        assert got.dtype == np.asarray(want).dtype, f'{what}: dtype {got.dtype}'
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


def _real_cupy():
    """CuPy when it imports and a CUDA device is usable, else skip with the reason."""
    cupy = cuda._load_cupy()
    if cupy is None:
        pytest.skip(f'real CuPy not usable: {cuda._cupy_problem}')
    return cupy


@pytest.fixture(params=['cupy', 'fake'])
def xp_device(request, monkeypatch):
    """The device to run on: the real CuPy on a GPU, or the fake CuPy on NumPy."""
    if request.param == 'cupy':
        return Device('cupy', _real_cupy(), exact=False)
    return Device('fake', fake_cupy.install(monkeypatch), exact=True)

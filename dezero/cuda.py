"""The array-module switch: NumPy arrays on the CPU, CuPy arrays on an NVIDIA GPU.

CuPy is optional.  It is imported only when GPU data is asked for (:func:`as_cupy`,
``to_gpu()``, :data:`gpu_enable`), so importing dezero and working on the CPU never
loads it.  Code that creates arrays asks :func:`get_array_module` for the module of its
inputs (``xp = cuda.get_array_module(x)``) and calls ``xp.zeros(...)`` and the like, so
the same code runs on either device.  This module imports nothing from dezero, so every
other module may use it.

``gpu_enable`` is True when CuPy imports and a CUDA device is usable (read at first use).
"""

import sys

import numpy as np

#: The array types a Variable may hold: NumPy's ndarray, and CuPy's once CuPy is loaded.
array_types = (np.ndarray,)

INSTALL_HINT = (
    'install CuPy for your CUDA version, e.g. `pip install cupy-cuda12x` '
    '(see https://docs.cupy.dev/en/stable/install.html)'
)

_cupy = None  # the CuPy module, once imported and found usable
_cupy_problem = None  # why CuPy cannot be used, once that is known


def _load_cupy():
    """Import CuPy and check that a device is usable; return the module or None (then
    ``_cupy_problem`` says why).  The answer is kept."""
    global _cupy, _cupy_problem, array_types
    if _cupy is not None or _cupy_problem is not None:
        return _cupy
    try:
        import cupy
    except ImportError as e:
        _cupy_problem = f'CuPy is not installed ({e}); {INSTALL_HINT}'
        return None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver or runtime errors of every kind
        count, reason = 0, f'{type(e).__name__}: {e}'
    else:
        reason = 'no CUDA device was found'
    if count < 1:
        _cupy_problem = f'CuPy is installed but no GPU can be used ({reason})'
        return None
    _cupy = cupy
    array_types = (np.ndarray, cupy.ndarray)
    return cupy


def __getattr__(name):
    if name == 'gpu_enable':
        return _load_cupy() is not None
    if name == 'Variable':  # the book's cuda module imports it (here late: core imports cuda)
        from dezero.core import Variable

        return Variable
    if name == 'cupy':  # the book's scripts write dezero.cuda.cupy for the module
        cupy = _load_cupy()
        if cupy is None:
            raise AttributeError(f'dezero.cuda.cupy: {_cupy_problem}')
        return cupy
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def _loaded_cupy():
    """CuPy if some code has imported it already (without importing it here)."""
    cupy = sys.modules.get('cupy')
    return cupy if cupy is not None and hasattr(cupy, 'ndarray') else None


def is_array(x):
    """Whether ``x`` is a NumPy or a CuPy array."""
    if isinstance(x, array_types):
        return True
    cupy = _loaded_cupy()  # a CuPy array made before dezero saw CuPy
    if cupy is not None and isinstance(x, cupy.ndarray):
        _load_cupy()
        return True
    return False


def is_gpu_array(x):
    """Whether ``x`` is a CuPy array (it lives on a GPU)."""
    cupy = _loaded_cupy()
    return cupy is not None and isinstance(x, cupy.ndarray)


def get_array_module(x):
    """The module with the functions for ``x`` (an array, a scalar or a Variable):
    ``cupy`` for CuPy data, ``numpy`` for anything else."""
    if type(x) is np.ndarray:
        return np
    cupy = _loaded_cupy()
    if cupy is None:
        return np
    if not isinstance(x, (np.ndarray, cupy.ndarray)) and hasattr(x, 'data'):
        x = x.data  # a Variable
    return cupy if isinstance(x, cupy.ndarray) else np


def device_name(x):
    """'GPU' for a CuPy array, 'CPU' otherwise: for error messages."""
    return 'GPU' if is_gpu_array(x) else 'CPU'


def _array_of(x, who):
    """The array of ``x``: its data for a Variable (anything with ``creator`` and
    ``data``), ``x`` itself otherwise; TypeError naming ``who`` for None."""
    if x is None:
        raise TypeError(f'{who}: expected an array, a number or a Variable, got None')
    if hasattr(x, 'creator') and hasattr(x, 'data'):  # a Variable (not imported here)
        x = x.data
        if x is None:
            raise TypeError(f'{who}: the Variable holds no data (None)')
    return x


def as_numpy(x):
    """``x`` as a NumPy array: a CuPy array is copied to the CPU, a scalar becomes a
    0-d array, a NumPy array is returned as it is (for a Variable, its data)."""
    if isinstance(x, np.ndarray):
        return x
    x = _array_of(x, 'as_numpy')
    if is_gpu_array(x):
        return x.get()
    return np.asarray(x)


def require_gpu(who):
    """Return CuPy, or raise a RuntimeError naming ``who`` and saying how to install
    CuPy when it is missing, or why no GPU can be used."""
    cupy = _load_cupy()
    if cupy is None:
        raise RuntimeError(f'{who}: cannot move data to a GPU: {_cupy_problem}')
    return cupy


def as_cupy(x):
    """``x`` as a CuPy array on the current GPU (a CuPy array is returned as it is; for
    a Variable, its data).

    Raises RuntimeError saying how to install CuPy when it is missing, or why no GPU
    can be used."""
    cupy = require_gpu('as_cupy')
    if isinstance(x, cupy.ndarray):
        return x
    x = _array_of(x, 'as_cupy')
    return x if isinstance(x, cupy.ndarray) else cupy.asarray(x)

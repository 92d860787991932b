"""The array-module switch: which of NumPy or CuPy holds an array.

CuPy support is not available yet: every array is a NumPy array, and asking to move
data to a GPU raises an error that says so.  This module imports nothing from dezero,
so every other module may use it.
"""
import numpy as np

gpu_enable = False

#: The array types a Variable may hold.
array_types = (np.ndarray,)


def get_array_module(x):
    """Return the module (``numpy``) that provides functions for the array ``x``."""
    return np


def as_numpy(x):
    """Return ``x`` as a NumPy array (scalars become 0-d arrays)."""
    if isinstance(x, np.ndarray):
        return x
    return np.asarray(x)


def as_cupy(x):
    """Move ``x`` to the GPU; always raises, as CuPy support is not available yet."""
    raise RuntimeError(
        'as_cupy: CuPy support is not available in this version of dezero; '
        'arrays stay on the CPU as NumPy arrays')

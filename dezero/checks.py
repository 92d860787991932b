"""Checks of arguments that several parts of dezero share (layers, models,
optimizers, data loaders, the trainer): each returns the value in the form the caller
keeps, or raises an error that names the caller, the argument and what it got."""

import numpy as np


def check_flag(owner, name, value):
    """``value`` as a Python bool, after checking that it is True or False (a NumPy
    bool too): a string such as 'False' would otherwise count as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f'{owner}: {name} must be True or False, got {value!r:.60}')
    return bool(value)

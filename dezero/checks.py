"""Checks of arguments that several parts of dezero share (layers, models,
optimizers, data loaders, the trainer): each returns the value in the form the caller
keeps, or raises an error that names the caller, the argument and what it got."""

import numbers

import numpy as np


def is_int(n):
    """Whether ``n`` is an int: a Python or NumPy integer, not a bool."""
    return isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_))


def check_flag(owner, name, value):
    """``value`` as a Python bool, after checking that it is True or False (a NumPy
    bool too): a string such as 'False' would otherwise count as true."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f'{owner}: {name} must be True or False, got {value!r:.60}')
    return bool(value)


def same_elements(shape0, shape1):
    """Whether arrays of the shapes ``shape0`` and ``shape1`` hold the same elements
    in the same order: the shapes are equal or differ only in axes of size 1, as
    (N, 1) and (N,) do."""
    shape0, shape1 = tuple(shape0), tuple(shape1)
    return shape0 == shape1 or _without_ones(shape0) == _without_ones(shape1)


def check_same_elements(owner, shape0, shape1, names=('x', 't')):
    """Refuse, naming ``owner`` and the two arrays ``names``, two shapes that do not
    hold the same elements (:func:`same_elements`): such arrays are compared element
    by element, never broadcast against each other."""
    if not same_elements(shape0, shape1):
        raise ValueError(
            f'{owner}: {names[0]} of shape {tuple(shape0)} and {names[1]} of '
            f'shape {tuple(shape1)} must have the same shape or differ only '
            f'in axes of size 1, such as (N, 1) and (N,); they are not '
            f'broadcast against each other'
        )


def _without_ones(shape):
    return tuple(n for n in shape if n != 1)


def given_once(name, what, own, book):
    """The function object given to ``name`` (a gradient Function made from the call
    it differentiates) under one of two keyword arguments: ``own`` and ``book``, each
    a pair (the argument's name, the value given), ``book`` under the book's name.
    ``what`` describes the object for the error.  TypeError when both or neither are
    given."""
    (own_name, own_value), (book_name, book_value) = own, book
    if own_value is not None and book_value is not None:
        raise TypeError(
            f"{name}: got both {own_name} and {book_name} (the book's name for it); give one"
        )
    if own_value is None and book_value is None:
        raise TypeError(
            f"{name}: missing {what}; give {own_name} (or {book_name}, the book's name for it)"
        )
    return book_value if own_value is None else own_value

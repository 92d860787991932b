"""A dataset's arrays kept as an ``.npz`` file beside its download, so that the next
load skips decoding the download.

For the download ``name`` (a file name or its URL) the training split is kept as
``name.train.npz`` and the test split as ``name.test.npz``, in the download folder
(:func:`dezero.download.downloads_dir`, ``dezero_home()/downloads``).
"""

import os
import posixpath
import zipfile

import numpy as np

from dezero.atomic import atomic_open
from dezero.download import downloads_dir


def cache_path(filename, train=False):
    """Where the arrays of the ``train`` (or test) split of the download ``filename``
    are kept; only the part of ``filename`` after its last ``/`` counts, so a URL
    serves as well as a file name."""
    name = posixpath.basename(str(filename))
    if not name:
        raise ValueError(f'cache_path: cannot tell a file name from {filename!r}')
    return os.path.join(downloads_dir(), name + ('.train.npz' if train else '.test.npz'))


def load_cache_npz(filename, train=False):
    """The arrays ``(data, label)`` that :func:`save_cache_npz` kept for ``filename``
    and the split, or ``(None, None)`` when there are none.

    A file there that is not such a cache (not an npz, no ``data`` or ``label``, or
    arrays of Python objects, which are never unpickled) raises ValueError naming it.
    """
    path = cache_path(filename, train)
    if not os.path.exists(path):
        return None, None
    try:
        loaded = np.load(path)  # allow_pickle=False: plain arrays only
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError('it holds a single array, not an npz archive')
        with loaded:
            return loaded['data'], loaded['label']
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(
            f'load_cache_npz: {path} is not a dataset cache holding the '
            f'arrays data and label ({e}); delete it and it will be made '
            f'again'
        ) from None


def save_cache_npz(data, label, filename, train=False):
    """Keep the arrays ``data`` and ``label`` of the ``train`` (or test) split of the
    download ``filename`` for :func:`load_cache_npz`; return the path of the cache.

    The file is an uncompressed npz, so that loading it costs no more than reading it,
    and it is written atomically: it appears whole or not at all.  An existing cache is
    left as it is.  Arrays of Python objects are refused (TypeError), and so are
    ``data`` and ``label`` of different lengths (ValueError): one label per item.
    """
    path = cache_path(filename, train)
    if os.path.exists(path):
        return path
    arrays = {'data': np.asarray(data), 'label': np.asarray(label)}
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise TypeError(
                f'save_cache_npz: {name} must be an array of numbers, got dtype {array.dtype}'
            )
    lengths = [array.shape[0] if array.ndim else None for array in arrays.values()]
    if None in lengths or lengths[0] != lengths[1]:
        raise ValueError(
            f'save_cache_npz: data and label must hold one item per example, got data of '
            f'shape {arrays["data"].shape} and label of shape {arrays["label"].shape}'
        )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_open(path, 'wb') as f:
        np.savez(f, **arrays)
    return path

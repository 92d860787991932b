"""A dataset's arrays kept as an ``.npz`` file beside its download, so that the next
load skips decoding the download.

For the download ``name`` (a file name or its URL) the training split is kept as
``name.train.npz`` and the test split as ``name.test.npz``, in the download folder
(:func:`dezero.download.downloads_dir`, ``dezero_home()/downloads``).
"""

import errno
import os
import posixpath

import numpy as np

from dezero.atomic import atomic_open
from dezero.download import check_folder, downloads_dir
from dezero.serialization import read_npz


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

    A file there that is not such a cache (not an npz, an entry that is not an array,
    no ``data`` or ``label``, arrays of Python objects, which are never unpickled, or
    a folder) raises ValueError naming it and saying to delete it; an error of reading
    it (no permission, say) passes through.
    """
    path = cache_path(filename, train)
    if not os.path.exists(path):
        return None, None
    try:
        arrays = read_npz(path, 'load_cache_npz')
    except (OSError, ValueError) as e:
        if isinstance(e, OSError) and e.errno not in (None, errno.EISDIR):
            raise  # no permission to read it, say: deleting it would not help
        raise ValueError(
            f'{e}; so it is not a dataset cache: delete it and it will be made again'
        ) from None
    if 'data' not in arrays or 'label' not in arrays:
        raise ValueError(
            f'load_cache_npz: {path} is not a dataset cache holding the arrays data and '
            f'label (it holds {", ".join(map(repr, arrays)) or "nothing"}); delete it and '
            f'it will be made again'
        )
    return arrays['data'], arrays['label']


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
    folder = os.path.dirname(path)
    check_folder('save_cache_npz', folder, 'set DEZERO_HOME to another folder')
    os.makedirs(folder, exist_ok=True)
    with atomic_open(path, 'wb') as f:
        np.savez(f, **arrays)
    return path

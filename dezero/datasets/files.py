"""A dataset too large for memory, read one sample at a time from files: the book's
``BigData``."""

import os

import numpy as np

from dezero.atomic import readable_path
from dezero.datasets.base import Dataset, folder_path

# The dtype kinds of arrays of real numbers: bool, signed and unsigned integers, floats.
_REAL_KINDS = frozenset('biuf')


class BigData(Dataset):
    """Sample ``i`` is read when it is asked for: its input from ``<root>/data/<i>.npy``
    and its label from ``<root>/label/<i>.npy`` (both written with ``np.save``).

    ``size`` is the number of samples; by default, the number of ``.npy`` files in
    ``<root>/data``.  The split (``train``) is the caller's to choose, by ``root``.
    Errors name the file and the sample.  A missing file raises FileNotFoundError, a
    folder IsADirectoryError and a special file (a FIFO, a device, a socket) OSError,
    before it is opened.  A damaged file (cut short, empty, not one array of real
    numbers) raises ValueError: the arrays must hold bool, integer or floating-point
    numbers, what a network computes with; complex numbers, dates, strings, records and
    Python objects are refused (the file is never unpickled)."""

    def __init__(self, root='.', size=None, train=True, transform=None, target_transform=None):
        self.root = folder_path('BigData', root)
        if size is None:
            folder = os.path.join(self.root, 'data')
            if not os.path.isdir(folder):
                raise FileNotFoundError(
                    f'BigData: no folder {folder}; save sample i as {folder}/<i>.npy '
                    f'and its label as {os.path.join(self.root, "label")}/<i>.npy'
                )
            size = sum(name.endswith('.npy') for name in os.listdir(folder))
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
            raise ValueError(f'BigData: size must be an int >= 0, got {size!r}')
        self.size = int(size)
        super().__init__(train, transform, target_transform)

    def __getitem__(self, index):
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f'BigData: index must be an integer, got {type(index).__name__}')
        if not -self.size <= index < self.size:
            raise IndexError(f'BigData: index {index} is out of range for {self.size} items')
        index = int(index) % self.size
        x = self._load('data', index)
        t = self._load('label', index)
        return self.transform(x), self.target_transform(t)

    def _load(self, folder, index):
        """The array in ``<root>/<folder>/<index>.npy``."""
        path = readable_path(
            os.path.join(self.root, folder, f'{index}.npy'),
            'BigData',
            f' (the {folder} of sample {index}); save it with np.save',
        )
        try:
            array = np.load(path, allow_pickle=False)  # never unpickle Python objects
        except (ValueError, EOFError) as e:
            raise ValueError(
                f'BigData: the file {path} of sample {index} is damaged ({e}); '
                f'save it again with np.save'
            ) from e
        if not isinstance(array, np.ndarray):  # an .npz archive
            array.close()
            raise ValueError(
                f'BigData: the file {path} of sample {index} is an .npz archive, '
                f'expected one array saved with np.save'
            )
        if array.dtype.kind not in _REAL_KINDS:
            raise ValueError(
                f'BigData: the file {path} of sample {index} holds a {array.dtype} array, '
                f'expected real numbers (bool, integer or floating point); save it again '
                f'with np.save'
            )
        return array

    def __len__(self):
        return self.size

"""The Dataset protocol, and what the datasets that download their files share: fetching
a file into the download cache with a clear offline error, and showing a grid of
images."""

import os

import numpy as np

from dezero.download import (
    DownloadError,
    check_folder,
    downloads_dir,
    failed_for,
    get_file,
    path_text,
)


def _identity(x):
    return x


class Dataset:
    """Base of the datasets: ``dataset[i]`` is ``(transform(data[i]),
    target_transform(label[i]))``, or ``(transform(data[i]), None)`` without labels.

    Subclasses fill ``self.data`` (and ``self.label``, if any) in ``prepare()``, which
    the constructor calls.  ``label`` must then hold one label per item of ``data``
    (ValueError otherwise), unless the subclass defines its own ``__getitem__``, which
    may keep its labels in any form (a tuple of label arrays, a whole series).
    ``train`` selects the split and must be True or False (a NumPy bool too; a string
    such as 'False' is refused).  The transforms default to the identity.  Indexes are
    integers, negative ones counting from the end.
    """

    def __init__(self, train=True, transform=None, target_transform=None):
        if not isinstance(train, (bool, np.bool_)):
            raise TypeError(
                f'{type(self).__name__}: train must be True (the training split) or '
                f'False (the test split), got {train!r}'
            )
        for name, f in (('transform', transform), ('target_transform', target_transform)):
            if f is not None and not callable(f):
                raise TypeError(
                    f'{type(self).__name__}: {name} must be callable or None, got {f!r}'
                )
        self.train = bool(train)
        self.transform = _identity if transform is None else transform
        self.target_transform = _identity if target_transform is None else target_transform
        self.data = None
        self.label = None
        self.prepare()
        # One label per item only where this class's __getitem__ pairs data[i] with
        # label[i]: a subclass with its own may keep its labels in another form.
        if (
            type(self).__getitem__ is Dataset.__getitem__
            and self.label is not None
            and self.data is not None
            and len(self.label) != len(self.data)
        ):
            raise ValueError(
                f'{type(self).__name__}: {len(self.data)} data items but {len(self.label)} labels'
            )

    def prepare(self):
        """Fill ``self.data`` and ``self.label`` (subclasses override this)."""

    def __getitem__(self, index):
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(
                f'{type(self).__name__}: index must be an integer, got '
                f'{type(index).__name__} ({index!r:.40}); use a DataLoader '
                f'for batches'
            )
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f'{type(self).__name__}: index {index} is out of range for {n} items')
        x = self.transform(self.data[index])
        if self.label is None:
            return x, None
        return x, self.target_transform(self.label[index])

    def __len__(self):
        if self.data is None:
            raise TypeError(f'{type(self).__name__} has no data: prepare() must set self.data')
        return len(self.data)


def folder_path(owner, root):
    """``root``, the path of a dataset's folder given as a str, bytes or path object,
    as a str; TypeError naming ``owner`` and ``root`` for anything else."""
    return path_text(owner, 'root', root, 'the path of a folder (a str, bytes or path object)')


def fetch(owner, url, file_name=None, md5=None, validate=None, progress=False):
    """The path of ``file_name`` (default: the last part of ``url``) in
    :func:`dezero.download.downloads_dir`, downloaded from ``url`` first if it is not there
    (nor where the book's DeZero keeps its downloads: see :func:`~dezero.download.get_file`).

    ``md5``, ``validate`` and ``progress`` are those of :func:`dezero.download.get_file`.
    When the download fails the DownloadError (a ChecksumError stays one) names
    ``owner``, the file, the URL and the folder to put the file into by hand (a good
    copy, when the file there is damaged).  A folder in the file's place raises
    IsADirectoryError naming ``owner`` and the folder; a file in the place of the
    download folder (or of ``DEZERO_HOME``) NotADirectoryError naming ``owner`` and the
    file.
    """
    folder = downloads_dir()
    try:
        path = get_file(
            url,
            file_name=file_name,
            md5=md5,
            cache_dir=None,  # the default folder: a file the book's DeZero fetched counts
            validate=validate,
            progress=progress,
        )
    except IsADirectoryError as e:  # found while checking its MD5
        raise IsADirectoryError(f'{owner}: {e.filename} is a folder, expected a file') from None
    except NotADirectoryError:  # a file where the download folder, or one above it, belongs
        check_folder(owner, folder, 'set DEZERO_HOME to another folder')
        raise
    except DownloadError as e:
        raise failed_for(owner, e, url, folder) from e
    if os.path.isdir(path):
        raise IsADirectoryError(f'{owner}: {path} is a folder, expected a file')
    return path


def show_images(owner, images, row, col):
    """Show ``row`` x ``col`` images picked at random from ``images`` (N, C, H, W)
    with one channel (grey) or three (RGB), as one grid in a matplotlib window."""
    for name, n in (('row', row), ('col', col)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f'{owner}.show: {name} must be a positive integer, got {n!r}')
    if len(images) == 0:
        raise ValueError(f'{owner}.show: the dataset holds no images to show')
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            f'{owner}.show needs matplotlib, which is not installed: pip install matplotlib'
        ) from None
    picks = np.random.randint(0, len(images), size=row * col)
    _, channels, height, width = images.shape
    # (row, col, C, H, W) -> (row, H, col, W, C): image (r, c) fills one tile of the grid
    grid = images[picks].reshape(row, col, channels, height, width)
    grid = grid.transpose(0, 3, 1, 4, 2).reshape(row * height, col * width, channels)
    if channels == 1:
        plt.imshow(grid[:, :, 0], cmap='gray', interpolation='nearest')
    else:
        plt.imshow(grid, interpolation='nearest')
    plt.axis('off')
    plt.show()

"""Datasets: indexable collections of (input, label) pairs.

A :class:`Dataset` keeps its inputs in ``data`` and its labels in ``label`` (or None),
both filled by ``prepare()``; ``dataset[i]`` returns the i-th pair after the transforms.
Here: the toy :class:`Spiral` (3 interleaved spiral arms), :class:`SinCurve` (a sine
series for sequence models) and :class:`MNIST` (handwritten digits, read from the
original IDX files and downloaded once into ``dezero_home()/datasets/mnist``).
"""
import gzip
import os
import struct
import zlib

import numpy as np

from dezero.download import DownloadError, dezero_home, get_file
from dezero.transforms import Compose, Flatten, Normalize, ToFloat


def _identity(x):
    return x


class Dataset:
    """Base of the datasets: ``dataset[i]`` is ``(transform(data[i]),
    target_transform(label[i]))``, or ``(transform(data[i]), None)`` without labels.

    Subclasses fill ``self.data`` (and ``self.label``, if any) in ``prepare()``, which
    the constructor calls; ``train`` selects the split.  The transforms default to the
    identity.  Indexes are integers, negative ones counting from the end.
    """

    def __init__(self, train=True, transform=None, target_transform=None):
        for name, f in (('transform', transform), ('target_transform', target_transform)):
            if f is not None and not callable(f):
                raise TypeError(f'{type(self).__name__}: {name} must be callable or None, '
                                f'got {f!r}')
        self.train = train
        self.transform = _identity if transform is None else transform
        self.target_transform = _identity if target_transform is None else target_transform
        self.data = None
        self.label = None
        self.prepare()
        if self.label is not None and self.data is not None and \
                len(self.label) != len(self.data):
            raise ValueError(f'{type(self).__name__}: {len(self.data)} data items but '
                             f'{len(self.label)} labels')

    def prepare(self):
        """Fill ``self.data`` and ``self.label`` (subclasses override this)."""

    def __getitem__(self, index):
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f'{type(self).__name__}: index must be an integer, got '
                            f'{type(index).__name__} ({index!r:.40}); use a DataLoader '
                            f'for batches')
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f'{type(self).__name__}: index {index} is out of range for '
                             f'{n} items')
        x = self.transform(self.data[index])
        if self.label is None:
            return x, None
        return x, self.target_transform(self.label[index])

    def __len__(self):
        if self.data is None:
            raise TypeError(f'{type(self).__name__} has no data: prepare() must set '
                            f'self.data')
        return len(self.data)


# --------------------------------------------------------------------------------------
# Toy datasets
# --------------------------------------------------------------------------------------
def get_spiral(train=True):
    """Three spiral arms of 100 points each, shuffled: ``x`` float32 (300, 2), ``t``
    int64 (300,) with class j for arm j.

    Point i of arm j lies at radius r = i/100 and angle 4j + 4r + 0.2*noise (standard
    normal noise), as ``(r sin(angle), r cos(angle))``.  The noise and the shuffle come
    from a private generator seeded with 1984 (train) or 2020 (test), the seeds of the
    book, so every call gives the same points and the global NumPy random state is left
    alone.
    """
    rng = np.random.RandomState(1984 if train else 2020)
    num_class, num_data = 3, 100
    rate = np.arange(num_data) / num_data
    noise = rng.randn(num_class, num_data)          # drawn arm by arm, point by point
    theta = 4.0 * np.arange(num_class)[:, None] + 4.0 * rate + 0.2 * noise
    x = np.stack([rate * np.sin(theta), rate * np.cos(theta)], axis=-1)
    x = x.reshape(num_class * num_data, 2).astype(np.float32)
    t = np.repeat(np.arange(num_class, dtype=np.int64), num_data)
    order = rng.permutation(num_class * num_data)
    return x[order], t[order]


class Spiral(Dataset):
    """The spiral toy data of :func:`get_spiral` (300 points in 2-D, 3 classes)."""

    def prepare(self):
        self.data, self.label = get_spiral(self.train)


class SinCurve(Dataset):
    """A sine series for sequence models: 1000 points over one period [0, 2 pi].

    Train: sin(x) plus uniform noise in [-0.05, 0.05] (seeded, the same every time);
    test: cos(x), without noise.  Each item is one value, shape (1,), and its label the
    next value of the series: ``data`` and ``label`` are (999, 1).  The values are
    float32 (the book used float64) so that a float32 model stays float32.
    """

    def prepare(self):
        x = np.linspace(0, 2 * np.pi, 1000)
        if self.train:
            noise = np.random.RandomState(1984).uniform(-0.05, 0.05, size=x.shape)
            y = np.sin(x) + noise
        else:
            y = np.cos(x)
        y = y.astype(np.float32)[:, None]
        self.data, self.label = y[:-1], y[1:]


# --------------------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------------------
_IDX_IMAGES, _IDX_LABELS = 2051, 2049     # magic numbers: unsigned bytes, 3 or 1 dims


def _read_idx(path, magic, what):
    """The array stored in the gzip-compressed IDX file ``path`` (uint8, read-only).

    ``magic`` is the expected magic number (2051 for images, 2049 for labels); the
    number of dimensions is its last byte.  A file that is not gzip, has another magic
    number, or whose size does not match its header raises ValueError naming the file.
    """
    try:
        with gzip.open(path, 'rb') as f:
            raw = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(f'MNIST: {path} is not a complete gzip file ({e}); delete it '
                         f'and try again') from None
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f'MNIST: {path} is too short ({len(raw)} bytes) to be an IDX '
                         f'{what} file')
    found, *dims = struct.unpack(f'>{1 + ndim}I', raw[:header])
    if found != magic:
        raise ValueError(f'MNIST: {path} is not an IDX {what} file: magic number '
                         f'{found}, expected {magic}')
    size = int(np.prod(dims))
    if len(raw) - header != size:
        raise ValueError(f'MNIST: {path} holds {len(raw) - header} bytes of {what} but '
                         f'its header announces {" x ".join(map(str, dims))} = {size}')
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


class MNIST(Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28
    grey pixels, labels 0 to 9.

    ``data`` is uint8 (N, 1, 28, 28) and ``label`` int64 (N,).  The default transform
    turns an image into a (784,) float32 vector with values in [0, 1].  The two IDX
    gzip files of the chosen split (``train-*`` or ``t10k-*``) are read from ``root``,
    by default ``dezero_home()/datasets/mnist``; missing ones are downloaded there first
    from ``MNIST.mirror`` and verified by MD5.  Offline, put the files there by hand:
    the error names them and the folder.  Either split loads without the other's files.
    """

    mirror = 'https://ossci-datasets.s3.amazonaws.com/mnist/'
    files = {True: ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
             False: ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')}
    md5 = {'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
           'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
           't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
           't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c'}

    def __init__(self, train=True,
                 transform=Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)]),
                 target_transform=None, root=None):
        self.root = os.path.join(dezero_home(), 'datasets', 'mnist') if root is None \
            else os.fspath(root)
        super().__init__(bool(train), transform, target_transform)

    def prepare(self):
        image_path, label_path = self._fetch(self.files[self.train])
        images = _read_idx(image_path, _IDX_IMAGES, 'images')
        labels = _read_idx(label_path, _IDX_LABELS, 'labels')
        if images.shape[1:] != (28, 28):
            raise ValueError(f'MNIST: {image_path} holds images of '
                             f'{images.shape[1]}x{images.shape[2]} pixels, expected 28x28')
        if len(images) != len(labels):
            raise ValueError(f'MNIST: {image_path} holds {len(images)} images but '
                             f'{label_path} {len(labels)} labels')
        if labels.size and labels.max() > 9:
            raise ValueError(f'MNIST: {label_path} holds the label {labels.max()}, '
                             f'expected 0 to 9')
        self.data = images.reshape(-1, 1, 28, 28).copy()
        self.label = labels.astype(np.int64)

    def _fetch(self, names):
        """The paths of the files ``names`` in ``self.root``, downloading missing ones."""
        missing = [n for n in names if not os.path.exists(os.path.join(self.root, n))]
        for i, name in enumerate(missing):
            try:
                get_file(self.mirror + name, md5=self.md5.get(name), cache_dir=self.root)
            except DownloadError as e:     # ChecksumError stays a ChecksumError
                raise type(e)(
                    f'MNIST: the file(s) {", ".join(missing[i:])} of the '
                    f'{"training" if self.train else "test"} split are not in '
                    f'{self.root} and could not be downloaded from {self.mirror} '
                    f'({name}: {e.reason or e}). Put them into that folder by hand, or '
                    f'pass root= a folder that holds them',
                    url=e.url, file_name=name, folder=self.root, reason=e.reason) from e
        return [os.path.join(self.root, n) for n in names]

    @staticmethod
    def labels():
        """The class names: {0: '0', 1: '1', ..., 9: '9'}."""
        return {i: str(i) for i in range(10)}

"""Tiny MNIST files in the original IDX gzip format, written by the tests, and where
the real test split lives when a checkout has it beside it."""
import gzip
import pathlib
import struct

import numpy as np

TRAIN_FILES = ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz')
TEST_FILES = ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')

#: The real MNIST test split, when it sits next to the repository (never required).
REAL_MNIST = pathlib.Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'mnist'


def has_real_mnist():
    return all((REAL_MNIST / name).exists() for name in TEST_FILES)


def idx_bytes(magic, dims, payload):
    """An IDX file: the magic number, the big-endian dimensions, then the payload."""
    return struct.pack(f'>{1 + len(dims)}I', magic, *dims) + bytes(payload)


def write_gz(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, 'wb') as f:
        f.write(content)


def write_split(folder, images, labels, train=False):
    """Write uint8 ``images`` (N, 28, 28) and ``labels`` (N,) as one MNIST split."""
    image_name, label_name = TRAIN_FILES if train else TEST_FILES
    images = np.asarray(images, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.uint8)
    write_gz(pathlib.Path(folder) / image_name,
             idx_bytes(2051, images.shape, images.tobytes()))
    write_gz(pathlib.Path(folder) / label_name,
             idx_bytes(2049, labels.shape, labels.tobytes()))


def block_digits(n, seed=0):
    """``n`` learnable fake digits: class k is a bright 7x7 block at one of ten
    positions, on faint noise.  Returns (images uint8 (n, 28, 28), labels (n,))."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 60, (n, 28, 28))
    for i, k in enumerate(labels):
        row, col = divmod(int(k), 5)
        images[i, 3 + 12 * row:10 + 12 * row, 1 + 5 * col:6 + 5 * col] = 255
    return images.astype(np.uint8), labels

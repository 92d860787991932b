"""Tiny MNIST files in the original IDX gzip format, written by the tests, and where
the real test split lives when a checkout has it beside it."""

import gzip
import hashlib
import pathlib
import struct
import sys

import numpy as np

_EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / 'examples'
if str(_EXAMPLES) not in sys.path:
    sys.path.insert(0, str(_EXAMPLES))
from mnist_data import synthetic_digits  # noqa: E402  (the examples' generated digits)

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


def write_split(folder, images, labels, train=False, md5sums=True):
    """Write uint8 ``images`` (N, 28, 28) and ``labels`` (N,) as one MNIST split.

    With ``md5sums`` their checksums are listed in the folder's MD5SUMS, which is how
    MNIST and FashionMNIST are told to take files other than the published ones (they
    refuse those as damaged or as another dataset's files otherwise)."""
    folder = pathlib.Path(folder)
    image_name, label_name = TRAIN_FILES if train else TEST_FILES
    images = np.asarray(images, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.uint8)
    write_gz(folder / image_name, idx_bytes(2051, images.shape, images.tobytes()))
    write_gz(folder / label_name, idx_bytes(2049, labels.shape, labels.tobytes()))
    if md5sums:
        list_md5(folder, (image_name, label_name))


def list_md5(folder, names):
    """Add the files ``names`` of ``folder``, with their MD5 checksums, to the folder's
    MD5SUMS (written as ``md5sum`` writes it), replacing their earlier lines."""
    path = pathlib.Path(folder) / 'MD5SUMS'
    sums = {}
    if path.exists():
        for line in path.read_text().splitlines():
            digest, name = line.split(maxsplit=1)
            sums[name] = digest
    for name in names:
        sums[name] = hashlib.md5((pathlib.Path(folder) / name).read_bytes()).hexdigest()
    path.write_text(''.join(f'{digest}  {name}\n' for name, digest in sums.items()))


def block_digits(n, seed=0):
    """``n`` learnable fake digits as MNIST stores them: the generated digits of the
    examples' ``--smoke`` runs (class k is a bright block at one of ten places, on
    faint noise) as uint8 pixels.  Returns (images uint8 (n, 28, 28), labels (n,))."""
    x, t = synthetic_digits(n, seed=seed, flat=False)
    return np.round(x[:, 0] * 255).astype(np.uint8), t

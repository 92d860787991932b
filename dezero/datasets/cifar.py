"""CIFAR-10 and CIFAR-100: 32x32 colour images, read from the published binary archives.

Each archive is a gzip-compressed tar of ``.bin`` files made of fixed-size records: the
label byte(s), then 3072 pixel bytes, the red, green and blue 32x32 planes one after
the other, each row by row.  A record is 1 + 3072 bytes in CIFAR-10 and 2 + 3072 bytes
(coarse label, fine label) in CIFAR-100.  Reading these records takes no unpickling,
unlike the archives of the Python version, so a tampered archive cannot run code.
"""

import copy
import gzip
import posixpath
import tarfile
import warnings
import zlib

import numpy as np

from dezero.anomaly import user_stacklevel
from dezero.datasets.base import Dataset, fetch, show_images
from dezero.datasets.cache import cache_path, load_cache_npz, save_cache_npz
from dezero.transforms import Compose, Normalize, ToFloat

_PIXELS = 3 * 32 * 32

#: The default transform of the signatures, as in the book; a dataset given it keeps a
#: copy of its own, so that changing one dataset's transform changes no other's.
_DEFAULT_TRANSFORM = Compose([ToFloat(), Normalize(mean=127.5, std=127.5)])

_CIFAR10_LABELS = (
    'airplane',
    'automobile',
    'bird',
    'cat',
    'deer',
    'dog',
    'frog',
    'horse',
    'ship',
    'truck',
)

# The superclasses as the book names them (the archive's file spells them with '_').
_CIFAR100_COARSE = (
    'aquatic mammals',
    'fish',
    'flowers',
    'food containers',
    'fruit and vegetables',
    'household electrical device',
    'household furniture',
    'insects',
    'large carnivores',
    'large man-made outdoor things',
    'large natural outdoor scenes',
    'large omnivores and herbivores',
    'medium-sized mammals',
    'non-insect invertebrates',
    'people',
    'reptiles',
    'small mammals',
    'trees',
    'vehicles 1',
    'vehicles 2',
)

# The classes in label order, as in the archive's fine_label_names.txt with '_' as ' '.
_CIFAR100_FINE = (
    'apple',
    'aquarium fish',
    'baby',
    'bear',
    'beaver',
    'bed',
    'bee',
    'beetle',
    'bicycle',
    'bottle',
    'bowl',
    'boy',
    'bridge',
    'bus',
    'butterfly',
    'camel',
    'can',
    'castle',
    'caterpillar',
    'cattle',
    'chair',
    'chimpanzee',
    'clock',
    'cloud',
    'cockroach',
    'couch',
    'crab',
    'crocodile',
    'cup',
    'dinosaur',
    'dolphin',
    'elephant',
    'flatfish',
    'forest',
    'fox',
    'girl',
    'hamster',
    'house',
    'kangaroo',
    'keyboard',
    'lamp',
    'lawn mower',
    'leopard',
    'lion',
    'lizard',
    'lobster',
    'man',
    'maple tree',
    'motorcycle',
    'mountain',
    'mouse',
    'mushroom',
    'oak tree',
    'orange',
    'orchid',
    'otter',
    'palm tree',
    'pear',
    'pickup truck',
    'pine tree',
    'plain',
    'plate',
    'poppy',
    'porcupine',
    'possum',
    'rabbit',
    'raccoon',
    'ray',
    'road',
    'rocket',
    'rose',
    'sea',
    'seal',
    'shark',
    'shrew',
    'skunk',
    'skyscraper',
    'snail',
    'snake',
    'spider',
    'squirrel',
    'streetcar',
    'sunflower',
    'sweet pepper',
    'table',
    'tank',
    'telephone',
    'television',
    'tiger',
    'tractor',
    'train',
    'trout',
    'tulip',
    'turtle',
    'wardrobe',
    'whale',
    'willow tree',
    'wolf',
    'woman',
    'worm',
)


def read_tar_members(owner, path, names):
    """The contents (bytes) of the members ``names`` of the gzip-compressed tar archive
    at ``path``, read in one pass to the end; ValueError naming ``path`` if it is not
    such an archive, is cut short or corrupt, or lacks one of the members."""
    wanted, found = set(names), {}
    try:
        with gzip.open(path, 'rb') as stream, tarfile.open(fileobj=stream, mode='r|') as archive:
            for member in archive:
                name = posixpath.normpath(member.name)
                if name in wanted and member.isfile():
                    found[name] = archive.extractfile(member).read()
            while stream.read(1 << 20):  # to the end, where gzip checks its CRC-32
                pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise ValueError(
            f'{owner}: {path} is not an intact gzip-compressed tar archive '
            f'({e}); delete it and try again'
        ) from None
    missing = [n for n in names if n not in found]
    if missing:
        raise ValueError(
            f'{owner}: {path} lacks the member(s) {", ".join(missing)}; delete it and try again'
        )
    return [found[n] for n in names]


class CIFAR10(Dataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images of 32x32 pixels in 10
    classes (:meth:`labels`).

    ``data`` is uint8 (N, 3, 32, 32), RGB planes, and ``label`` int64 (N,).  The
    default transform makes an image float32 with values in [-1, 1] (``(x - 127.5) /
    127.5``); every dataset gets its own copy of it, so changing ``train.transform``
    leaves ``test.transform`` as it was.  The data come from the binary version of the archive,
    ``cifar-10-binary.tar.gz`` (checked by its published MD5), downloaded once into
    ``downloads_dir()`` (``dezero_home()/downloads``); offline, put it there by hand: the
    error names the file and the folder.  The decoded arrays are then kept beside it
    with :func:`save_cache_npz` and read from there on later loads; where that cache
    cannot be written (a read-only or full folder), a RuntimeWarning says so and the
    decoded arrays are used all the same.
    """

    url = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'
    md5 = 'c32a1d4ab5d03f1284b67883e8d87530'
    members = {
        True: tuple(f'cifar-10-batches-bin/data_batch_{i}.bin' for i in range(1, 6)),
        False: ('cifar-10-batches-bin/test_batch.bin',),
    }
    label_bytes = 1  # bytes of labels in front of each record's pixels

    def __init__(
        self,
        train=True,
        transform=_DEFAULT_TRANSFORM,
        target_transform=None,
    ):
        if transform is _DEFAULT_TRANSFORM:
            transform = copy.deepcopy(transform)
        super().__init__(train, transform, target_transform)

    def _label_column(self):
        """Which of a record's label bytes is the label, and how many classes it has."""
        return 0, 10

    def _cache_name(self):
        """The name under which the decoded arrays are cached."""
        return posixpath.basename(self.url)

    def prepare(self):
        """Load the images and labels of the split from the cache, or else decode them
        from the archive (downloaded if missing) and cache them."""
        owner = type(self).__name__
        data, label = load_cache_npz(self._cache_name(), self.train)
        if data is None:
            path = fetch(owner, self.url, md5=self.md5, progress=True)
            data, label = self._read(path)
            try:
                save_cache_npz(data, label, self._cache_name(), self.train)
            except OSError as e:  # a read-only or full folder: the arrays are good still
                warnings.warn(
                    f'{owner}: cannot write the cache '
                    f'{cache_path(self._cache_name(), self.train)} ({e}); the data is used '
                    f'without a cache, and will be decoded from the archive again at the '
                    f'next load',
                    RuntimeWarning,
                    stacklevel=user_stacklevel(),
                )
        else:
            if data.dtype != np.uint8 or data.shape[1:] != (3, 32, 32):
                problem = f'data {data.dtype} {data.shape}, expected uint8 (N, 3, 32, 32)'
            else:
                problem = _label_problem(label, len(data), self._label_column()[1])
            if problem is not None:
                raise ValueError(
                    f'{owner}: the cache {cache_path(self._cache_name(), self.train)} '
                    f'holds {problem}; delete it and it will be made again from the archive'
                )
            label = label.astype(np.int64, copy=False)
        self.data, self.label = data, label

    def _read(self, path):
        """Images uint8 (N, 3, 32, 32) and labels int64 (N,) of the split, from the
        archive at ``path``."""
        owner = type(self).__name__
        names = self.members[self.train]
        record = self.label_bytes + _PIXELS
        records = []
        for name, raw in zip(names, read_tar_members(owner, path, names)):
            if not raw or len(raw) % record:
                raise ValueError(
                    f'{owner}: {name} in {path} holds {len(raw)} bytes, not '
                    f'a whole number of {record}-byte records; delete the '
                    f'archive and try again'
                )
            records.append(np.frombuffer(raw, dtype=np.uint8).reshape(-1, record))
        records = np.concatenate(records)
        column, classes = self._label_column()
        label = records[:, column].astype(np.int64)
        problem = _label_problem(label, len(records), classes)
        if problem is not None:
            raise ValueError(f'{owner}: {path} holds {problem}')
        data = np.ascontiguousarray(records[:, self.label_bytes :]).reshape(-1, 3, 32, 32)
        return data, label

    def show(self, row=10, col=10):
        """Show ``row`` x ``col`` images picked at random, as one grid (needs
        matplotlib)."""
        show_images(type(self).__name__, self.data, row, col)

    @staticmethod
    def labels():
        """The class names: {0: 'airplane', 1: 'automobile', ..., 9: 'truck'}."""
        return dict(enumerate(_CIFAR10_LABELS))


class CIFAR100(CIFAR10):
    """CIFAR-100: 50,000 training and 10,000 test colour images of 32x32 pixels in 100
    classes grouped into 20 superclasses.

    ``label_type`` chooses the labels: ``'fine'`` (the 100 classes) or ``'coarse'`` (the
    20 superclasses); :meth:`labels` names them.  Otherwise as :class:`CIFAR10`, from
    the binary archive ``cifar-100-binary.tar.gz``; each label type has its own cache.
    """

    url = 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz'
    md5 = '03b5dce01913d631647c71ecec9e9cb8'
    members = {True: ('cifar-100-binary/train.bin',), False: ('cifar-100-binary/test.bin',)}
    label_bytes = 2  # the coarse label, then the fine one

    def __init__(
        self,
        train=True,
        transform=_DEFAULT_TRANSFORM,
        target_transform=None,
        label_type='fine',
    ):
        self.label_type = _check_label_type('CIFAR100', label_type)
        super().__init__(train, transform, target_transform)

    def _label_column(self):
        return (1, 100) if self.label_type == 'fine' else (0, 20)

    def _cache_name(self):
        return f'{posixpath.basename(self.url)}.{self.label_type}'

    @staticmethod
    def labels(label_type='fine'):
        """The names of the 100 classes ({0: 'apple', ..., 99: 'worm'}) or, with
        ``label_type='coarse'``, of the 20 superclasses ({0: 'aquatic mammals', ...})."""
        names = (
            _CIFAR100_FINE
            if _check_label_type('CIFAR100.labels', label_type) == 'fine'
            else _CIFAR100_COARSE
        )
        return dict(enumerate(names))


def _label_problem(label, n, classes):
    """What keeps ``label`` from being the labels of ``n`` images in ``classes`` classes
    (one integer from 0 to classes - 1 per image), in a few words; None if nothing."""
    if not np.issubdtype(label.dtype, np.integer):
        return f'labels of dtype {label.dtype}, expected integers'
    if label.shape != (n,):
        return f'labels of shape {label.shape} for {n} images, expected ({n},): one per image'
    if n and (label.min() < 0 or label.max() >= classes):
        bad = label.min() if label.min() < 0 else label.max()
        return f'the label {bad}, expected 0 to {classes - 1}'
    return None


def _check_label_type(owner, label_type):
    if label_type not in ('fine', 'coarse'):
        raise ValueError(f"{owner}: label_type must be 'fine' or 'coarse', got {label_type!r}")
    return label_type

"""Datasets: indexable collections of (input, label) pairs.

A :class:`Dataset` keeps its inputs in ``data`` and its labels in ``label`` (or None),
both filled by ``prepare()``; ``dataset[i]`` returns the i-th pair after the transforms.

- generated on the spot: :class:`Spiral` (:func:`get_spiral`) and :class:`SinCurve`;
- images: :class:`MNIST`, :class:`FashionMNIST`, :class:`CIFAR10`, :class:`CIFAR100`,
  and the class names of :class:`ImageNet`;
- text: :class:`Shakespeare` (also spelled ``Shakespear``, as in the book);
- read from files one sample at a time: :class:`BigData`.

Downloaded files are kept under ``dezero_home()`` (the environment variable
``DEZERO_HOME``, else ``~/.dezero``); :func:`load_cache_npz` and :func:`save_cache_npz`
keep decoded arrays beside them.
"""

from dezero.datasets.base import Dataset
from dezero.datasets.cache import load_cache_npz, save_cache_npz
from dezero.datasets.cifar import CIFAR10, CIFAR100
from dezero.datasets.files import BigData
from dezero.datasets.imagenet import ImageNet
from dezero.datasets.mnist import MNIST, FashionMNIST
from dezero.datasets.shakespeare import Shakespear, Shakespeare
from dezero.datasets.toy import SinCurve, Spiral, get_spiral

# The book's module also offers these, which it imports from elsewhere.
from dezero.download import get_file  # noqa: F401
from dezero.transforms import Compose, Flatten, Normalize, ToFloat  # noqa: F401

__all__ = [
    'Dataset',
    'get_spiral',
    'Spiral',
    'SinCurve',
    'MNIST',
    'FashionMNIST',
    'CIFAR10',
    'CIFAR100',
    'ImageNet',
    'Shakespear',
    'Shakespeare',
    'BigData',
    'load_cache_npz',
    'save_cache_npz',
]


def __getattr__(name):
    # cache_dir follows DEZERO_HOME, so it is looked up in dezero.download at each access
    if name == 'cache_dir':
        from dezero import download

        return download.cache_dir
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

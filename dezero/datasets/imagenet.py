"""ImageNet: the names of its 1000 classes, for reading the predictions of the
pretrained models."""

import ast

from dezero.datasets.base import Dataset, fetch

_CLASSES = 1000


def parse_labels(text):
    """The class names ``{0: ..., 999: ...}`` written in ``text`` as a Python dict
    literal (the format of the label file).

    The text is parsed with :func:`ast.literal_eval`, which reads literals and runs
    nothing; anything but a dict of the keys 0 to 999 with string values raises
    ValueError.
    """
    try:
        labels = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as e:
        raise ValueError(f'not a Python dict literal ({type(e).__name__}: {e})') from None
    if not isinstance(labels, dict):
        raise ValueError(f'expected a dict of class names, got a {type(labels).__name__}')
    bad_keys = [k for k in labels if type(k) is not int or not 0 <= k < _CLASSES]
    if bad_keys or len(labels) != _CLASSES:
        raise ValueError(
            f'expected the keys 0 to {_CLASSES - 1}, got {len(labels)} keys'
            + (f' including {bad_keys[0]!r}' if bad_keys else '')
        )
    for k, name in labels.items():
        if not isinstance(name, str):
            raise ValueError(f'the name of class {k} is a {type(name).__name__}, not a string')
    return {k: labels[k] for k in range(_CLASSES)}


def _read_labels(path):
    with open(path, encoding='utf-8') as f:
        return parse_labels(f.read())


class ImageNet(Dataset):
    """ImageNet (ILSVRC 2012), of which dezero provides only the class names
    (:meth:`labels`): its images are not freely downloadable, so constructing the
    dataset raises NotImplementedError."""

    labels_url = (
        'https://gist.githubusercontent.com/yrevar/942d3a0ac09ec9e5eb3a/raw/'
        '238f720ff059c1f82f368259d1ca4ffa5dd8f9f5/'
        'imagenet1000_clsidx_to_labels.txt'
    )

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            'ImageNet: the images are not available through dezero '
            '(ImageNet is distributed only after registration at '
            'image-net.org); ImageNet.labels() gives the class names'
        )

    @classmethod
    def labels(cls):
        """The 1000 class names, ``{0: 'tench, Tinca tinca', 1: 'goldfish, Carassius
        auratus', ..., 999: 'toilet tissue, toilet paper, bathroom tissue'}``.

        They are read from a text file holding the dict as a Python literal, downloaded
        once from ``labels_url`` into ``downloads_dir()`` (offline, the error names the
        file and the folder to put it into).  The file is parsed without evaluating it
        (:func:`parse_labels`); a download that does not parse is discarded, and a bad
        file in the folder raises ValueError naming it.
        """
        path = fetch('ImageNet.labels', cls.labels_url, validate=_read_labels)
        try:
            return _read_labels(path)
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError(
                f'ImageNet.labels: {path} does not hold the class names '
                f'({e}); delete it and try again'
            ) from None

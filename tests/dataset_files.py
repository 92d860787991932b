"""Helpers for the dataset tests: no network, and small files in the published formats
(gzip-compressed tar archives of CIFAR records)."""

import io
import tarfile
import urllib.request

import numpy as np


def block_network(monkeypatch, home):
    """Let only file:// URLs open and point DEZERO_HOME at ``home``."""
    real_urlopen = urllib.request.urlopen

    def file_only(url, *args, **kwargs):
        assert url.startswith('file:'), f'a test tried to reach the network: {url}'
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, 'urlopen', file_only)
    monkeypatch.setenv('DEZERO_HOME', str(home))


def write_tar_gz(path, members):
    """A gzip-compressed tar archive at ``path`` holding ``members`` {name: bytes}."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, 'w:gz') as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))


def cifar_records(images, *label_columns):
    """CIFAR binary records: for each image its label bytes (one per column, in the
    given order), then its 3072 pixels (uint8 (N, 3, 32, 32))."""
    labels = np.stack(label_columns, axis=1).astype(np.uint8)
    pixels = np.asarray(images, dtype=np.uint8).reshape(len(images), -1)
    return np.concatenate([labels, pixels], axis=1).tobytes()


def random_images(n, seed):
    return np.random.RandomState(seed).randint(0, 256, size=(n, 3, 32, 32)).astype(np.uint8)

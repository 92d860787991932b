"""load_cache_npz / save_cache_npz: file names and folder, exact round trips, atomic
writes, and clear errors for files that are not caches (never unpickled)."""

import errno
import io
import os
import pickle
import re
import warnings
import zipfile

import numpy as np
import pytest

import dezero.datasets.cache as cache
from dezero.datasets import load_cache_npz, save_cache_npz

URL = 'https://example.org/data/archive.tar.gz'


@pytest.fixture(autouse=True)
def home(monkeypatch, tmp_path):
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'home'))
    return tmp_path / 'home'


def test_round_trip_keeps_values_and_dtypes(home):
    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 2, 2)
    label = np.array([7, 1], dtype=np.int64)
    path = save_cache_npz(data, label, URL, train=True)
    assert path == str(home / 'downloads' / 'archive.tar.gz.train.npz')
    loaded_data, loaded_label = load_cache_npz(URL, train=True)
    assert loaded_data.dtype == np.uint8 and loaded_label.dtype == np.int64
    np.testing.assert_array_equal(loaded_data, data)
    np.testing.assert_array_equal(loaded_label, label)
    f32 = np.array([0.1, 0.2], dtype=np.float32)
    save_cache_npz(f32, f32, 'values')
    assert load_cache_npz('values')[0].dtype == np.float32


def test_names_follow_the_last_part_of_the_name_and_the_split(home):
    save_cache_npz(np.zeros(1), np.zeros(1), URL)  # train=False by default
    save_cache_npz(np.ones(1), np.ones(1), 'archive.tar.gz', train=True)
    assert sorted(os.listdir(home / 'downloads')) == [
        'archive.tar.gz.test.npz',
        'archive.tar.gz.train.npz',
    ]
    assert load_cache_npz('archive.tar.gz')[0][0] == 0.0  # a URL or a name
    assert load_cache_npz(URL, train=True)[0][0] == 1.0


def test_missing_cache_gives_none_none():
    assert load_cache_npz(URL) == (None, None)
    assert load_cache_npz(URL, train=True) == (None, None)


def test_an_existing_cache_is_kept(home):
    save_cache_npz(np.zeros(2), np.zeros(2), URL)
    path = save_cache_npz(np.ones(2), np.ones(2), URL)
    np.testing.assert_array_equal(load_cache_npz(URL)[0], [0.0, 0.0])
    assert path == str(home / 'downloads' / 'archive.tar.gz.test.npz')


def test_object_arrays_are_refused(home):
    with pytest.raises(TypeError, match='label must be an array of numbers, got dtype object'):
        save_cache_npz(np.zeros(2), [1, None], URL)
    with pytest.raises(TypeError, match='data must be an array'):
        save_cache_npz(None, np.zeros(2), URL)
    assert not (home / 'downloads' / 'archive.tar.gz.test.npz').exists()


@pytest.mark.parametrize(
    'data, label',
    [
        (np.zeros((3, 2)), np.zeros(2)),
        (np.zeros(2), np.zeros((3, 1))),
        (np.zeros(()), np.zeros(1)),
        (np.zeros(1), np.zeros(())),
    ],
)
def test_data_and_labels_of_different_lengths_are_refused(home, data, label):
    with pytest.raises(
        ValueError,
        match=rf'save_cache_npz: data and label must hold one item per example, got data of '
        rf'shape {re.escape(str(data.shape))} and label of shape {re.escape(str(label.shape))}',
    ):
        save_cache_npz(data, label, URL)
    assert not (home / 'downloads').exists()


def test_a_failed_write_leaves_nothing(monkeypatch, home):
    def broken_savez(f, **arrays):
        f.write(b'PK partial')
        raise OSError('disk full')

    monkeypatch.setattr(cache.np, 'savez', broken_savez)
    with pytest.raises(OSError, match='disk full'):
        save_cache_npz(np.zeros(2), np.zeros(2), URL)
    assert os.listdir(home / 'downloads') == []


class _Hostile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


@pytest.mark.parametrize(
    'content',
    [
        b'garbage',
        'pickle',  # a pickle is refused, not run
        'npy',  # one array, not an npz
        'no-label',
        'objects',
    ],
)
def test_files_that_are_not_caches_are_clear_errors(home, tmp_path, content):
    path = home / 'downloads' / 'archive.tar.gz.test.npz'
    path.parent.mkdir(parents=True)
    marker = tmp_path / 'unpickled'
    if content == 'pickle':
        path.write_bytes(pickle.dumps(_Hostile(str(marker))))
    elif content == 'npy':
        with open(path, 'wb') as f:
            np.save(f, np.zeros(3))
    elif content == 'no-label':
        with open(path, 'wb') as f:
            np.savez(f, data=np.zeros(3))
    elif content == 'objects':
        with open(path, 'wb') as f:
            np.savez(f, data=np.array([_Hostile(str(marker))], dtype=object), label=np.zeros(1))
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match='is not a dataset cache') as info:
        load_cache_npz(URL)
    assert str(path) in str(info.value) and 'delete it' in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    'entries, problem',
    [
        ({'data.npy': b'raw', 'label.npy': b'raw'}, "its entry 'data' is not an array"),
        ({'data': b'raw', 'label': b'raw'}, "its entry 'data' is not an array"),
        ({'data.npy': 'npy', 'label.npy': 'npy', 'data': 'npy'}, "the entry 'data' more than"),
        ({'label.npy': 'npy'}, "holding the arrays data and label (it holds 'label')"),
        ({}, 'holding the arrays data and label (it holds nothing)'),
    ],
)
def test_a_cache_whose_entries_are_not_arrays_says_to_delete_it(home, entries, problem):
    # np.load gave the raw bytes, and CIFAR10 failed with AttributeError: 'bytes' object
    # has no attribute 'dtype'
    path = home / 'downloads' / 'archive.tar.gz.test.npz'
    path.parent.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # zipfile warns of a repeated name
        with zipfile.ZipFile(path, 'w') as archive:
            for name, content in entries.items():
                if content == 'npy':
                    buffer = io.BytesIO()
                    np.save(buffer, np.zeros(2))
                    content = buffer.getvalue()
                archive.writestr(name, content)
    with pytest.raises(ValueError) as info:
        load_cache_npz(URL)
    message = str(info.value)
    assert message.startswith(f'load_cache_npz: {path}') or message.startswith(
        f'load_cache_npz: cannot read {path}'
    )
    assert problem in message
    assert message.endswith('delete it and it will be made again')


def test_a_folder_in_place_of_the_cache_says_to_delete_it(home):
    path = home / 'downloads' / 'archive.tar.gz.test.npz'
    path.mkdir(parents=True)
    with pytest.raises(ValueError, match=f'^load_cache_npz: {re.escape(str(path))} is a folder'):
        load_cache_npz(URL)


def test_a_cache_that_cannot_be_read_is_no_reason_to_delete_it(home, monkeypatch):
    path = save_cache_npz(np.zeros(2), np.zeros(2), URL)
    error = PermissionError(errno.EACCES, 'Permission denied', path)

    def refused(path, owner):
        raise error

    monkeypatch.setattr(cache, 'read_npz', refused)
    with pytest.raises(PermissionError) as info:
        load_cache_npz(URL)
    assert info.value is error


def test_a_name_without_a_file_part_is_refused():
    with pytest.raises(ValueError, match="cannot tell a file name from 'https://x.org/'"):
        load_cache_npz('https://x.org/')


def test_a_file_where_the_download_folder_belongs_is_named(home):
    home.mkdir()
    (home / 'downloads').write_text('x')
    with pytest.raises(NotADirectoryError) as info:
        save_cache_npz(np.zeros((1, 2)), np.zeros(1), URL, train=True)
    assert str(info.value) == (
        f'save_cache_npz: {home / "downloads"} is a file, where a folder was expected; '
        f'remove the file, or set DEZERO_HOME to another folder'
    )
    assert load_cache_npz(URL, train=True) == (None, None)

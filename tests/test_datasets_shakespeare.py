"""Shakespear / Shakespeare on a tiny text, offline."""

import os

import numpy as np
import pytest

from dezero.datasets import Shakespear, Shakespeare
from dezero.download import DownloadError

from dataset_files import block_network

TEXT = 'First Citizen:\nBefore we proceed, hear me.\n'


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    block_network(monkeypatch, tmp_path / 'home')
    monkeypatch.setattr(Shakespeare, 'url', (tmp_path / 'no-mirror' / 'input.txt').as_uri())


@pytest.fixture
def downloads(tmp_path):
    folder = tmp_path / 'home' / 'downloads'
    folder.mkdir(parents=True)
    return folder


def test_the_book_spelling_is_the_same_class():
    assert Shakespear is Shakespeare


def test_characters_numbered_in_order_of_first_appearance(downloads):
    (downloads / 'shakespear.txt').write_text('abca b', encoding='utf-8')
    ds = Shakespear()
    assert ds.char_to_id == {'a': 0, 'b': 1, 'c': 2, ' ': 3}
    assert ds.id_to_char == {0: 'a', 1: 'b', 2: 'c', 3: ' '}
    assert ds.data.dtype == np.int64 and ds.label.dtype == np.int64
    np.testing.assert_array_equal(ds.data, [0, 1, 2, 0, 3])
    np.testing.assert_array_equal(ds.label, [1, 2, 0, 3, 1])  # the next character
    assert len(ds) == 5 and ds[2] == (2, 0)


def test_ids_decode_back_to_the_text(downloads):
    (downloads / 'shakespear.txt').write_text(TEXT, encoding='utf-8')
    ds = Shakespeare(train=False)  # one text: the split changes nothing
    decoded = ''.join(ds.id_to_char[int(i)] for i in ds.data) + ds.id_to_char[ds.label[-1]]
    assert decoded == TEXT
    assert len(ds.char_to_id) == len(set(TEXT))


def test_the_text_is_downloaded_under_the_book_file_name(monkeypatch, tmp_path, downloads):
    source = tmp_path / 'mirror' / 'input.txt'
    source.parent.mkdir()
    source.write_text(TEXT, encoding='utf-8')
    monkeypatch.setattr(Shakespeare, 'url', source.as_uri())
    assert len(Shakespeare()) == len(TEXT) - 1
    assert os.listdir(downloads) == ['shakespear.txt']


def test_offline_error_names_the_file_and_the_folder(downloads):
    with pytest.raises(DownloadError) as info:
        Shakespear()
    message = str(info.value)
    assert message.startswith('Shakespeare: ')
    assert 'shakespear.txt' in message and str(downloads) in message and 'by hand' in message


@pytest.mark.parametrize('content, pattern', [(b'\xff\xfe\x00bad', 'utf-8'), (b'a', '1 character')])
def test_unusable_text_is_a_clear_error(downloads, content, pattern):
    (downloads / 'shakespear.txt').write_bytes(content)
    with pytest.raises(ValueError, match=pattern) as info:
        Shakespeare()
    assert str(downloads / 'shakespear.txt') in str(info.value)


def test_train_must_be_a_bool_though_it_selects_nothing(downloads):
    (downloads / 'shakespear.txt').write_text(TEXT, encoding='utf-8')
    with pytest.raises(TypeError, match="Shakespeare: train must be True .*, got 'False'"):
        Shakespeare(train='False')
    assert len(Shakespear(train=True)) == len(Shakespeare(train=np.bool_(False))) == len(TEXT) - 1

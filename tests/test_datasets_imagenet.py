"""ImageNet: the class names, parsed safely from a tiny label file in the published
format (a Python dict literal), offline."""

import os

import numpy as np
import pytest

from dezero.datasets import ImageNet
from dezero.datasets.imagenet import parse_labels
from dezero.download import ChecksumError, DownloadError

from dataset_files import block_network

FILE_NAME = 'imagenet1000_clsidx_to_labels.txt'
NAMES = {i: f'class {i}' for i in range(1000)}
NAMES.update(
    {
        0: 'tench, Tinca tinca',
        1: 'goldfish, Carassius auratus',
        607: "jack-o'-lantern",
        999: 'toilet tissue, toilet paper, bathroom tissue',
    }
)


def label_text(names=NAMES):
    """The dict written as the published file writes it: one entry a line, no final
    newline."""
    lines = [f' {k!r}: {v!r}' for k, v in names.items()]
    return '{' + ',\n'.join(lines)[1:] + '}'


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    block_network(monkeypatch, tmp_path / 'home')
    monkeypatch.setattr(ImageNet, 'labels_url', (tmp_path / 'no-mirror' / FILE_NAME).as_uri())


@pytest.fixture
def downloads(tmp_path):
    folder = tmp_path / 'home' / 'downloads'
    folder.mkdir(parents=True)
    return folder


def test_labels_from_the_file_in_the_cache(downloads):
    (downloads / FILE_NAME).write_text(label_text(), encoding='utf-8')
    labels = ImageNet.labels()
    assert labels == NAMES and list(labels) == list(range(1000))
    assert labels[0] == 'tench, Tinca tinca' and labels[607] == "jack-o'-lantern"
    assert labels[np.argmax(np.eye(1000)[999])] == NAMES[999]  # as the book indexes it


def test_labels_from_the_file_the_books_dezero_fetched(tmp_path):
    # the book's get_file keeps it in ~/.dezero itself (here DEZERO_HOME)
    home = tmp_path / 'home'
    home.mkdir(exist_ok=True)
    (home / FILE_NAME).write_text(label_text(), encoding='utf-8')
    assert ImageNet.labels() == NAMES
    assert not (home / 'downloads' / FILE_NAME).exists()  # read where it lies


def test_labels_are_downloaded_once(monkeypatch, tmp_path, downloads):
    source = tmp_path / 'mirror' / FILE_NAME
    source.parent.mkdir()
    source.write_text(label_text(), encoding='utf-8')
    monkeypatch.setattr(ImageNet, 'labels_url', source.as_uri())
    assert ImageNet.labels()[1] == 'goldfish, Carassius auratus'
    source.unlink()
    assert ImageNet.labels() == NAMES


def test_offline_error_names_the_file_and_the_folder(downloads):
    with pytest.raises(DownloadError) as info:
        ImageNet.labels()
    message = str(info.value)
    assert message.startswith('ImageNet.labels: ')
    assert FILE_NAME in message and str(downloads) in message and 'by hand' in message


def test_a_download_that_does_not_parse_is_discarded(monkeypatch, tmp_path, downloads):
    source = tmp_path / 'mirror' / FILE_NAME
    source.parent.mkdir()
    source.write_text(label_text()[:-30], encoding='utf-8')  # cut short
    monkeypatch.setattr(ImageNet, 'labels_url', source.as_uri())
    with pytest.raises(ChecksumError, match='not a Python dict literal'):
        ImageNet.labels()
    assert os.listdir(downloads) == []


def test_code_in_the_label_file_is_not_run(downloads, tmp_path):
    marker = tmp_path / 'ran'
    (downloads / FILE_NAME).write_text(
        f'__import__("pathlib").Path({str(marker)!r}).touch() or {{}}', encoding='utf-8'
    )
    with pytest.raises(ValueError, match=f'{FILE_NAME} does not hold the class names') as info:
        ImageNet.labels()
    assert str(downloads) in str(info.value) and 'delete it' in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    'text, pattern',
    [
        ('[1, 2]', 'expected a dict of class names, got a list'),
        (label_text({k: v for k, v in NAMES.items() if k != 5}), 'got 999 keys'),
        (label_text({**NAMES, 1000: 'extra'}), 'got 1001 keys including 1000'),
        (label_text({**NAMES, 3: 3.5}), 'the name of class 3 is a float'),
        (label_text({**{k: v for k, v in NAMES.items() if k != 0}, '0': 'x'}), "including '0'"),
        ('{0: ', 'not a Python dict literal'),
    ],
)
def test_parse_labels_refuses_anything_but_the_thousand_names(text, pattern):
    with pytest.raises(ValueError, match=pattern):
        parse_labels(text)


def test_the_dataset_itself_is_not_available():
    with pytest.raises(NotImplementedError, match='ImageNet.labels\\(\\) gives the class names'):
        ImageNet()

import os
import stat
import sys

import pytest

from dezero.atomic import atomic_open, atomic_write_bytes, atomic_write_text

posix_only = pytest.mark.skipif(sys.platform == 'win32', reason='POSIX permissions')


@pytest.fixture
def old_file(tmp_path):
    path = tmp_path / 'weights.bin'
    path.write_bytes(b'old content')
    return path


def test_write_bytes_creates_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / 'a.bin'
    atomic_write_bytes(path, b'\x00\x01data')
    assert path.read_bytes() == b'\x00\x01data'
    assert os.listdir(tmp_path) == ['a.bin']


def test_write_replaces_existing_file(old_file):
    atomic_write_bytes(str(old_file), b'new')
    assert old_file.read_bytes() == b'new'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_write_text_round_trips_unicode(tmp_path):
    path = tmp_path / 'a.txt'
    atomic_write_text(path, 'x\u2080 \u2192 y\n')
    assert path.read_text(encoding='utf-8') == 'x\u2080 \u2192 y\n'


def test_relative_path_is_written_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    atomic_write_text('rel.txt', 'hi')
    assert (tmp_path / 'rel.txt').read_text() == 'hi'
    assert os.listdir(tmp_path) == ['rel.txt']


def test_old_content_stays_visible_until_the_block_ends(old_file):
    with atomic_open(old_file) as f:
        f.write(b'new content')
        f.flush()
        assert old_file.read_bytes() == b'old content'
    assert old_file.read_bytes() == b'new content'


def test_exception_in_block_keeps_old_file_and_removes_temp(old_file):
    with pytest.raises(RuntimeError, match='boom'):
        with atomic_open(old_file) as f:
            f.write(b'partial')
            raise RuntimeError('boom')
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_keyboard_interrupt_also_cleans_up(old_file):
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(old_file, 'w') as f:
            f.write('partial')
            raise KeyboardInterrupt
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_failing_replace_keeps_old_file_and_removes_temp(old_file, monkeypatch):
    def broken_replace(src, dst):
        raise OSError('disk went away')

    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk went away'):
        atomic_write_bytes(old_file, b'new content')
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_data_that_fails_to_encode_keeps_old_file(old_file):
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(old_file, 'caf\u00e9', encoding='ascii')
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_wrong_data_type_keeps_old_file(old_file):
    with pytest.raises(TypeError):
        atomic_write_bytes(old_file, 'text, not bytes')
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_temp_file_is_in_the_destination_folder(tmp_path, monkeypatch):
    sources = []
    real_replace = os.replace

    def recording_replace(src, dst):
        sources.append(src)
        real_replace(src, dst)

    monkeypatch.setattr(os, 'replace', recording_replace)
    atomic_write_bytes(tmp_path / 'a.bin', b'x')
    assert len(sources) == 1
    assert os.path.dirname(sources[0]) == str(tmp_path)
    assert os.path.basename(sources[0]) != 'a.bin'


def test_bad_mode_is_refused_without_creating_anything(tmp_path):
    with pytest.raises(ValueError, match='mode'):
        with atomic_open(tmp_path / 'a.bin', 'ab'):
            pass
    assert os.listdir(tmp_path) == []


def test_missing_folder_raises_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / 'missing' / 'a.bin', b'x')
    assert os.listdir(tmp_path) == []


@posix_only
def test_new_file_gets_default_permissions(tmp_path):
    old_umask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / 'a.bin', b'x')
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(tmp_path / 'a.bin').st_mode) == 0o644


@posix_only
def test_replaced_file_keeps_its_permissions(old_file):
    os.chmod(old_file, 0o640)
    atomic_write_bytes(old_file, b'new')
    assert stat.S_IMODE(os.stat(old_file).st_mode) == 0o640

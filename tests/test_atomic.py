import errno
import io
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import traceback

import pytest
from fifo_files import refusal, waiting_fifo

import dezero.atomic
from dezero.atomic import (
    atomic_open,
    atomic_write_bytes,
    atomic_write_text,
    check_writable,
    file_path,
    readable_path,
    writable_file,
)

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


# ---- errors name the operation and the user's path ---------------------------------------
def _no_temp_named(error):
    """The error, its message and its whole traceback never mention a temporary file."""
    text = ''.join(traceback.format_exception(error))
    assert '.tmp' not in text, text


def test_missing_folder_error_names_operation_path_and_folder(tmp_path):
    path = tmp_path / 'missing' / 'w.npz'
    with pytest.raises(FileNotFoundError) as info:
        atomic_write_bytes(path, b'x', operation='save_weights')
    message = str(info.value)
    assert message.startswith(f'save_weights: cannot write {path}: ')
    assert f'the folder {tmp_path / "missing"} does not exist' in message
    assert info.value.errno == errno.ENOENT
    _no_temp_named(info.value)
    assert os.listdir(tmp_path) == []


def test_save_weights_error_names_save_weights_not_a_temporary_file(tmp_path):
    import dezero.layers as L

    path = tmp_path / 'missing' / 'w.npz'
    with pytest.raises(FileNotFoundError, match=r'save_weights: cannot write .*w\.npz') as info:
        L.Linear(2, in_size=2).save_weights(path)
    _no_temp_named(info.value)


def test_operation_defaults_to_the_calling_function(tmp_path):
    def plot_this(path):
        with atomic_open(path, 'w') as f:
            f.write('x')

    with pytest.raises(FileNotFoundError, match='^plot_this: cannot write'):
        plot_this(tmp_path / 'missing' / 'a.txt')

    def draw(path):
        atomic_write_text(path, 'x')

    with pytest.raises(FileNotFoundError, match='^draw: cannot write'):
        draw(tmp_path / 'missing' / 'a.txt')


def test_parent_that_is_a_file_is_named(tmp_path):
    (tmp_path / 'notes').write_text('a file')
    with pytest.raises(NotADirectoryError) as info:
        atomic_write_bytes(tmp_path / 'notes' / 'sub' / 'w.npz', b'x', operation='save_weights')
    assert f'{tmp_path / "notes"} is a file, not a folder' in str(info.value)
    _no_temp_named(info.value)
    assert os.listdir(tmp_path) == ['notes']
    assert (tmp_path / 'notes').read_text() == 'a file'


def test_target_that_is_a_folder_is_refused_and_left_alone(tmp_path):
    target = tmp_path / 'w.npz'
    target.mkdir()
    (target / 'inside').write_bytes(b'kept')
    with pytest.raises(IsADirectoryError) as info:
        atomic_write_bytes(target, b'x' * 1000, operation='save_weights')
    assert f'save_weights: cannot write {target}: it is a folder' in str(info.value)
    _no_temp_named(info.value)
    assert os.listdir(tmp_path) == ['w.npz']
    assert os.listdir(target) == ['inside'] and (target / 'inside').read_bytes() == b'kept'


@posix_only
@pytest.mark.skipif(
    sys.platform != 'win32' and os.geteuid() == 0, reason='root writes into read-only folders'
)
def test_read_only_folder_keeps_old_file(old_file):
    folder = old_file.parent
    os.chmod(folder, 0o500)
    try:
        with pytest.raises(PermissionError) as info:
            atomic_write_bytes(old_file, b'new', operation='save_weights')
    finally:
        os.chmod(folder, 0o700)
    assert f'no permission to write in the folder {folder}' in str(info.value)
    _no_temp_named(info.value)
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(folder) == [old_file.name]


def test_permission_denied_at_the_rename_keeps_old_file(old_file, monkeypatch):
    def refused(src, dst):
        raise PermissionError(errno.EACCES, 'Permission denied', src, dst)

    monkeypatch.setattr(os, 'replace', refused)
    with pytest.raises(PermissionError) as info:
        atomic_write_bytes(old_file, b'new', operation='save_weights')
    message = str(info.value)
    assert f'no permission to write in the folder {old_file.parent}' in message
    assert f'the file already at {old_file} is unchanged' in message
    _no_temp_named(info.value)
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_disk_full_while_writing_keeps_old_file(old_file):
    with pytest.raises(OSError) as info:
        with atomic_open(old_file, operation='save_weights') as f:
            f.write(b'new')
            raise OSError(errno.ENOSPC, 'No space left on device')
    assert info.value.errno == errno.ENOSPC
    assert f'save_weights: cannot write {old_file}: the disk holding' in str(info.value)
    assert 'free some space' in str(info.value)
    _no_temp_named(info.value)
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_disk_full_at_the_sync_keeps_old_file(old_file, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full)
    with pytest.raises(OSError, match='the disk holding .* is full') as info:
        atomic_write_bytes(old_file, b'new', operation='save_weights')
    _no_temp_named(info.value)
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


class _FullDisk(io.FileIO):
    """A file on a disk with no space left: every write fails."""

    def write(self, data):
        raise OSError(errno.ENOSPC, 'No space left on device')


@pytest.fixture
def full_disk(monkeypatch):
    """Make atomic_open write its temporary files on a full disk, through the buffers
    that open() gives, which keep what could not be written."""

    def opened(name, mode, encoding=None):
        buffered = io.BufferedWriter(_FullDisk(name, mode.replace('b', '').replace('t', '')))
        return buffered if 'b' in mode else io.TextIOWrapper(buffered, encoding=encoding)

    monkeypatch.setattr(dezero.atomic, 'open', opened, raising=False)


@pytest.mark.parametrize('mode', ['wb', 'w'])
@pytest.mark.parametrize('raised', [KeyboardInterrupt(), ValueError('a bad value')])
def test_the_error_of_the_block_is_raised_though_its_data_cannot_be_written(
    old_file, full_disk, mode, raised
):
    # closing the file flushed its buffer, which failed, and that bare OSError (errno 28,
    # no file named) took the place of the block's error
    with pytest.raises(type(raised)) as info:
        with atomic_open(old_file, mode) as f:
            f.write(b'new' if mode == 'wb' else 'new')  # held in the buffer
            raise raised
    assert info.value is raised
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


@pytest.mark.parametrize('size', [3, 100_000], ids=['buffered', 'written'])
@pytest.mark.parametrize('text', [False, True], ids=['bytes', 'text'])
def test_a_full_disk_is_named_though_the_buffered_data_cannot_be_written(
    old_file, full_disk, size, text
):
    with pytest.raises(OSError) as info:
        if text:
            atomic_write_text(old_file, 'x' * size, operation='save_weights')
        else:
            atomic_write_bytes(old_file, b'x' * size, operation='save_weights')
    assert info.value.errno == errno.ENOSPC
    assert str(info.value) == (
        f'save_weights: cannot write {old_file}: the disk holding {old_file.parent} is '
        f'full; free some space and try again (the file already at {old_file} is unchanged)'
    )
    _no_temp_named(info.value)
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


# Saves weights over the file given in a process whose files may not grow past 100 kB.
_OVER_THE_SIZE_LIMIT = """
import resource, signal, sys
import numpy as np
import dezero.layers as L
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
layer = L.Linear(300)
layer(np.ones((1, 300), np.float32))  # 90,300 float32 weights
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
try:
    layer.save_weights(sys.argv[1])
except OSError as e:
    print(e.errno, e)
"""


@pytest.mark.skipif(not hasattr(signal, 'SIGXFSZ'), reason='no limit on the size of files')
def test_a_file_over_the_size_limit_is_named_and_the_old_file_kept(tmp_path):
    # the save raised a bare "OSError: [Errno 27] File too large", naming no file
    old_file = tmp_path / 'w.npz'
    old_file.write_bytes(b'old content')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([_ROOT, os.environ.get('PYTHONPATH', '')]))
    args = [sys.executable, '-c', _OVER_THE_SIZE_LIMIT, str(old_file)]
    child = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert child.returncode == 0, child.stderr
    assert child.stdout == (
        f'{errno.EFBIG} save_weights: cannot write {old_file}: the file is larger than the '
        f'file system allows; choose another folder (the file already at {old_file} is '
        f'unchanged)\n'
    )
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def synced_files(monkeypatch):
    """Make os.fsync record, then do, each sync: a list of (is a folder, inode)."""
    synced, real_fsync = [], os.fsync

    def fsync(fd):
        status = os.fstat(fd)
        synced.append((stat.S_ISDIR(status.st_mode), status.st_ino))
        real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', fsync)
    return synced


@pytest.mark.skipif(sys.platform == 'win32', reason='Windows cannot open a folder')
@pytest.mark.parametrize('replacing', [False, True])
def test_the_folder_is_synced_after_the_rename(tmp_path, monkeypatch, replacing):
    # only the temporary file was synced: after a power loss the rename could be lost
    path = tmp_path / 'w.bin'
    if replacing:
        path.write_bytes(b'old')
    synced = synced_files(monkeypatch)
    atomic_write_bytes(path, b'new')
    assert synced == [(False, path.stat().st_ino), (True, tmp_path.stat().st_ino)]
    assert path.read_bytes() == b'new'


def test_a_folder_that_cannot_be_opened_or_synced_does_not_fail_the_save(tmp_path, monkeypatch):
    real_open = os.open

    def no_folders(path, flags, *args, **kwargs):
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, 'Permission denied', path)  # as on Windows
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, 'open', no_folders)
    atomic_write_bytes(tmp_path / 'a.bin', b'a')
    assert (tmp_path / 'a.bin').read_bytes() == b'a'
    monkeypatch.setattr(os, 'open', real_open)
    real_fsync = os.fsync

    def folders_refuse(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, 'Invalid argument')  # some network file systems
        real_fsync(fd)

    monkeypatch.setattr(os, 'fsync', folders_refuse)
    atomic_write_bytes(tmp_path / 'b.bin', b'b')
    assert (tmp_path / 'b.bin').read_bytes() == b'b'
    assert sorted(os.listdir(tmp_path)) == ['a.bin', 'b.bin']


def test_a_failed_save_syncs_no_folder(old_file, monkeypatch):
    synced = synced_files(monkeypatch)
    with pytest.raises(RuntimeError):
        with atomic_open(old_file) as f:
            f.write(b'new')
            raise RuntimeError('stop')
    assert synced == []


def test_a_given_file_object_is_written_directly_and_left_open(tmp_path):
    with open(tmp_path / 'mine.bin', 'wb') as f:
        with atomic_open(writable_file(f, 'save_weights'), 'wb') as written:
            assert written is f
            written.write(b'data')
        assert not f.closed
    assert (tmp_path / 'mine.bin').read_bytes() == b'data'
    assert os.listdir(tmp_path) == ['mine.bin']  # no temporary file


def test_a_file_object_is_no_path(tmp_path):
    with pytest.raises(TypeError, match='^save: path must be a file path, got BytesIO$'):
        atomic_write_bytes(io.BytesIO(), b'x', operation='save')
    with pytest.raises(TypeError, match='^save: path must be a file path, got BytesIO$'):
        file_path(writable_file(io.BytesIO(), 'save'), 'save')


def test_other_errors_of_the_block_pass_through_unchanged(old_file):
    error = FileNotFoundError(errno.ENOENT, 'No such file or directory', 'input.bin')
    with pytest.raises(FileNotFoundError) as info:
        with atomic_open(old_file) as f:
            f.write(b'new')
            raise error
    assert info.value is error
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_bad_encoding_leaves_no_file(tmp_path):
    with pytest.raises(LookupError):
        atomic_write_text(tmp_path / 'a.txt', 'x', encoding='no-such-encoding')
    assert os.listdir(tmp_path) == []


# ---- temporary files of killed writers -----------------------------------------------------
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # for the children

# A writer that stops in the middle of a save until the file ``go`` appears.
_CHILD = """
import sys, os, time
from dezero.atomic import atomic_open
path, ready, go = sys.argv[1:]
with atomic_open(path) as f:
    f.write(b'child ' * 100000)
    f.flush()
    open(ready, 'w').close()
    while not os.path.exists(go):  # killed here, or told to finish
        time.sleep(0.01)
"""


def _start_writers(path, count, tmp_path):
    """Start ``count`` processes that each save ``path`` through atomic_open and stop in
    the middle of writing; return them with the file each waits for to finish."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([_ROOT, os.environ.get('PYTHONPATH', '')]))
    children = []
    for i in range(count):
        ready, go = tmp_path / f'ready{i}', tmp_path / f'go{i}'
        args = [sys.executable, '-c', _CHILD, str(path), str(ready), str(go)]
        children.append((subprocess.Popen(args, env=env), ready, go))
    deadline = time.monotonic() + 30
    for child, ready, _ in children:
        while not ready.exists():
            assert child.poll() is None, 'a writer ended before it was told to'
            assert time.monotonic() < deadline, 'a writer never started writing'
            time.sleep(0.01)
    return children


@posix_only
def test_writers_killed_mid_save_leave_nothing_behind_the_next_save(tmp_path):
    folder = tmp_path / 'out'
    folder.mkdir()
    path = folder / 'w.npz'
    path.write_bytes(b'old content')
    children = _start_writers(path, 4, tmp_path)
    for child, _, _ in children[:3]:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert path.read_bytes() == b'old content'  # kill -9 mid-save: the old file is intact
    assert len(os.listdir(folder)) == 5  # the file and four temporary files

    atomic_write_bytes(path, b'new content')  # removes the three dead writers' files
    assert path.read_bytes() == b'new content'
    left = sorted(os.listdir(folder))
    assert len(left) == 2 and left[-1] == 'w.npz'  # the live writer's file is still there

    live, _, go = children[3]
    go.touch()
    assert live.wait(timeout=30) == 0  # and it finishes its save undisturbed
    assert path.read_bytes() == b'child ' * 100000
    assert os.listdir(folder) == ['w.npz']


def test_a_save_does_not_disturb_another_save_of_the_same_file_in_progress(old_file):
    with atomic_open(old_file) as f:
        f.write(b'outer')
        atomic_write_bytes(old_file, b'inner')
        assert old_file.read_bytes() == b'inner'
        assert len(os.listdir(old_file.parent)) == 2
        f.write(b' save')
    assert old_file.read_bytes() == b'outer save'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_stale_files_of_other_targets_and_other_names_are_left_alone(tmp_path):
    for name in ('.other.npz.0123abcd.tmp', '.w.npz.backup.tmp', 'w.npz.tmp'):
        (tmp_path / name).write_bytes(b'someone else')
    atomic_write_bytes(tmp_path / 'w.npz', b'x')
    assert sorted(os.listdir(tmp_path)) == sorted(
        ['.other.npz.0123abcd.tmp', '.w.npz.backup.tmp', 'w.npz.tmp', 'w.npz']
    )


# ---- names up to the file system's limit ---------------------------------------------------
# 255 bytes: the longest file name most file systems allow; the temporary file's name was
# the name and 14 bytes more, too long from 242 bytes on
LONG_NAMES = ['w' * 251 + '.npz', 'w' * 238 + '.npz', 'é' * 125 + '.npz', 'w' * 237 + '.npz']


def _temp_file_while_writing(path):
    """The name of the temporary file of a save of ``path``, seen while it is written."""
    there = set(os.listdir(path.parent)) | {path.name}
    with atomic_open(path) as f:
        f.write(b'new')
        (name,) = set(os.listdir(path.parent)) - there
    return name


@pytest.mark.parametrize('name', LONG_NAMES, ids=lambda n: f'{len(n.encode())} bytes')
def test_a_name_of_up_to_255_bytes_is_written(tmp_path, name):
    path = tmp_path / name
    atomic_write_bytes(path, b'data')
    assert path.read_bytes() == b'data'
    atomic_write_text(path, 'text')  # replacing it too
    assert path.read_text() == 'text'
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize('name', LONG_NAMES, ids=lambda n: f'{len(n.encode())} bytes')
def test_the_temporary_file_of_a_long_name_is_hidden_and_recognisable(tmp_path, name):
    temp = _temp_file_while_writing(tmp_path / name)
    assert len(os.fsencode(temp)) <= 255
    assert temp.startswith('.' + name[:100]) and temp.endswith('.tmp')
    assert os.listdir(tmp_path) == [name]


def test_the_temporary_file_of_a_short_name_keeps_the_whole_name(tmp_path):
    # 241 bytes: the longest name whose temporary file's name stays within 255 bytes
    name = 'w' * 237 + '.npz'
    temp = _temp_file_while_writing(tmp_path / name)
    assert temp.startswith(f'.{name}.') and len(temp) == 255


@posix_only
@pytest.mark.parametrize('name', ['w.npz', 'w' * 251 + '.npz', 'é' * 125 + '.npz'])
def test_stale_temporary_files_of_long_and_short_names_are_removed(tmp_path, name):
    path = tmp_path / name
    temp = _temp_file_while_writing(path)
    stale = temp[:-12] + '0123abcd.tmp'  # as a killed writer leaves it: unlocked
    (tmp_path / stale).write_bytes(b'dead writer')
    atomic_write_bytes(path, b'x')
    assert os.listdir(tmp_path) == [name]


@posix_only
def test_long_names_that_differ_after_the_cut_keep_their_temporary_files_apart(tmp_path):
    a, b = tmp_path / ('w' * 250 + 'a.npz'), tmp_path / ('w' * 250 + 'b.npz')
    temp_of_b = _temp_file_while_writing(b)
    assert _temp_file_while_writing(a)[:-12] != temp_of_b[:-12]
    stale_of_b = temp_of_b[:-12] + '0123abcd.tmp'
    (tmp_path / stale_of_b).write_bytes(b'dead writer')
    atomic_write_bytes(a, b'x')  # removes the stale files of a only
    assert sorted(os.listdir(tmp_path)) == sorted([a.name, b.name, stale_of_b])


# ---- what the destination is: links, special files, read-only files, odd paths ------------
@posix_only
def test_writing_through_a_symbolic_link_replaces_its_file_and_keeps_the_link(old_file):
    link = old_file.parent / 'link.bin'
    link.symlink_to(old_file.name)  # relative, as links often are
    atomic_write_bytes(link, b'new')
    assert link.is_symlink() and os.readlink(link) == old_file.name
    assert old_file.read_bytes() == b'new'
    assert sorted(os.listdir(old_file.parent)) == ['link.bin', old_file.name]


@posix_only
def test_a_link_to_a_link_in_another_folder_is_followed_to_the_end(tmp_path):
    (tmp_path / 'real').mkdir()
    target = tmp_path / 'real' / 'w.npz'
    target.write_bytes(b'old')
    (tmp_path / 'hop').symlink_to(target)
    (tmp_path / 'link').symlink_to(tmp_path / 'hop')
    atomic_write_bytes(tmp_path / 'link', b'new')
    assert target.read_bytes() == b'new'
    assert (tmp_path / 'link').is_symlink() and (tmp_path / 'hop').is_symlink()
    assert os.listdir(tmp_path / 'real') == ['w.npz']


@posix_only
def test_a_dangling_link_gets_its_file_created_as_open_would(tmp_path):
    (tmp_path / 'link').symlink_to('new.bin')
    atomic_write_bytes(tmp_path / 'link', b'x')
    assert (tmp_path / 'link').is_symlink() and (tmp_path / 'new.bin').read_bytes() == b'x'


@posix_only
def test_a_link_into_a_missing_folder_names_that_folder(tmp_path):
    (tmp_path / 'link').symlink_to(tmp_path / 'gone' / 'w.npz')
    with pytest.raises(FileNotFoundError) as info:
        atomic_write_bytes(tmp_path / 'link', b'x', operation='save_weights')
    message = str(info.value)
    assert message.startswith(f'save_weights: cannot write {tmp_path / "link"}: ')
    assert f'the folder {tmp_path / "gone"} does not exist' in message
    assert (tmp_path / 'link').is_symlink() and os.listdir(tmp_path) == ['link']


@posix_only
def test_check_writable_refuses_a_link_into_a_missing_folder(tmp_path):
    # the link's own folder exists, so a caller writing several files wrote the others
    # before the write through the link failed
    (tmp_path / 'link.png').symlink_to('nowhere/x.png')
    with pytest.raises(FileNotFoundError) as info:
        check_writable(tmp_path / 'link.png', operation='plot')
    assert str(info.value) == (
        f'plot: cannot write {tmp_path / "link.png"}: it is a symbolic link to '
        f'{tmp_path / "nowhere" / "x.png"}, and the folder {tmp_path / "nowhere"} does not '
        f'exist; create that folder first or choose another path (nothing was written)'
    )
    assert info.value.errno == errno.ENOENT
    check_writable(tmp_path / 'missing' / 'x.png')  # a folder of the path itself may be made
    (tmp_path / 'nowhere').mkdir()
    check_writable(tmp_path / 'link.png')
    assert sorted(os.listdir(tmp_path)) == ['link.png', 'nowhere']


def test_a_folder_that_exists_but_takes_no_new_file_is_not_said_to_be_missing(
    tmp_path, monkeypatch
):
    # creating a file in /proc fails with ENOENT: "the folder /proc does not exist"
    def no_such_entry(path, *args, **kwargs):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)

    monkeypatch.setattr('builtins.open', no_such_entry)
    with pytest.raises(FileNotFoundError) as info:
        atomic_write_bytes(tmp_path / 'w.npz', b'x', operation='save_weights')
    monkeypatch.undo()
    assert str(info.value) == (
        f'save_weights: cannot write {tmp_path / "w.npz"}: no file can be created in the '
        f'folder {tmp_path}: No such file or directory; choose another folder (nothing was '
        f'written)'
    )
    assert info.value.errno == errno.ENOENT and os.listdir(tmp_path) == []


@posix_only
def test_a_loop_of_links_is_refused_and_left_alone(tmp_path):
    (tmp_path / 'a').symlink_to('b')
    (tmp_path / 'b').symlink_to('a')
    with pytest.raises(OSError, match=r'save_weights: cannot write .*a: ') as info:
        atomic_write_bytes(tmp_path / 'a', b'x', operation='save_weights')
    assert info.value.errno == errno.ELOOP
    assert (tmp_path / 'a').is_symlink() and (tmp_path / 'b').is_symlink()
    assert sorted(os.listdir(tmp_path)) == ['a', 'b']


@posix_only
def test_a_hard_link_keeps_the_old_content(old_file):
    other = old_file.parent / 'other.bin'
    os.link(old_file, other)
    atomic_write_bytes(old_file, b'new')
    assert old_file.read_bytes() == b'new' and other.read_bytes() == b'old content'


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='needs FIFOs')
def test_a_fifo_is_refused_and_left_alone(tmp_path):
    fifo = tmp_path / 'w.npz'
    os.mkfifo(fifo)
    with pytest.raises(OSError) as info:
        atomic_write_bytes(fifo, b'x', operation='save_weights')
    assert str(info.value) == (
        f'save_weights: cannot write {fifo}: it is a FIFO (named pipe), not a regular '
        f'file; give the path of a file (nothing was written)'
    )
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ['w.npz']


@pytest.mark.skipif(not hasattr(socket, 'AF_UNIX'), reason='needs Unix sockets')
def test_a_socket_is_refused_and_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short relative name: socket paths have a length limit
    with socket.socket(socket.AF_UNIX) as server:
        server.bind('s')
        with pytest.raises(OSError, match=r'^plot: cannot write s: it is a socket, not a'):
            atomic_write_text('s', 'x', operation='plot')
        assert stat.S_ISSOCK(os.lstat('s').st_mode) and os.listdir(tmp_path) == ['s']


@posix_only
@pytest.mark.skipif(
    sys.platform != 'win32' and os.geteuid() == 0, reason='root writes to read-only files'
)
def test_a_read_only_file_is_refused_and_kept(old_file):
    os.chmod(old_file, 0o444)
    with pytest.raises(PermissionError) as info:
        atomic_write_bytes(old_file, b'new', operation='save_weights')
    assert str(info.value) == (
        f'save_weights: cannot write {old_file}: the file is read-only; make it writable '
        f'or choose another path (the file already at {old_file} is unchanged)'
    )
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_a_file_the_process_may_not_write_is_refused_and_kept(old_file, monkeypatch):
    # what os.access says for a read-only file to any user but root
    monkeypatch.setattr(os, 'access', lambda path, mode: path != str(old_file))
    with pytest.raises(PermissionError, match='the file is read-only') as info:
        atomic_write_bytes(old_file, b'new', operation='save_weights')
    assert info.value.errno == errno.EACCES
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


@pytest.mark.skipif(not hasattr(os, 'statvfs'), reason='no os.statvfs')
def test_a_file_on_a_read_only_file_system_is_refused_as_such(old_file, monkeypatch):
    # os.access fails there for every user: the message said the file was read-only
    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(os, 'access', lambda path, mode: path != str(old_file))
    monkeypatch.setattr(os, 'statvfs', lambda path: ReadOnly)
    for check in (atomic_write_bytes, check_writable):
        with pytest.raises(OSError) as info:
            if check is atomic_write_bytes:
                atomic_write_bytes(old_file, b'new', operation='save_weights')
            else:
                check_writable(old_file, operation='save_weights')
        assert type(info.value) is OSError and info.value.errno == errno.EROFS
        assert str(info.value) == (
            f'save_weights: cannot write {old_file}: the folder {old_file.parent} is on a '
            f'read-only file system; choose another folder (the file already at '
            f'{old_file} is unchanged)'
        )
    assert old_file.read_bytes() == b'old content'
    assert os.listdir(old_file.parent) == [old_file.name]


def test_an_empty_path_is_refused_up_front(tmp_path, monkeypatch):
    (tmp_path / 'cwd').mkdir()
    monkeypatch.chdir(tmp_path / 'cwd')
    for path in ('', b''):
        with pytest.raises(ValueError, match='^save_weights: the path is empty; give the path'):
            atomic_write_bytes(path, b'x', operation='save_weights')
    assert os.listdir(tmp_path / 'cwd') == [] and os.listdir(tmp_path) == ['cwd']


def test_a_path_ending_with_a_separator_is_refused_as_a_folder_name(tmp_path):
    # the system's error blamed the folder above: 'tmp is a file, not a folder'
    path = str(tmp_path / 'w.npz') + os.sep
    with pytest.raises(ValueError, match=r"^save_weights: the path .*w\.npz/ ends with '/'"):
        atomic_write_bytes(path, b'x', operation='save_weights')
    assert os.listdir(tmp_path) == []


def test_a_bytes_path_is_written_and_named_as_text_in_errors(tmp_path):
    atomic_write_bytes(os.fsencode(tmp_path / 'a.bin'), b'x')
    assert (tmp_path / 'a.bin').read_bytes() == b'x'
    missing = tmp_path / 'missing' / 'a.bin'
    with pytest.raises(FileNotFoundError, match=f'^draw: cannot write {missing}: '):
        atomic_write_text(os.fsencode(missing), 'x', operation='draw')


def test_check_writable_refuses_what_atomic_open_refuses_and_writes_nothing(tmp_path):
    check_writable(tmp_path / 'new.bin')  # a missing file is fine
    (tmp_path / 'old.bin').write_bytes(b'old')
    check_writable(os.fsencode(tmp_path / 'old.bin'))
    (tmp_path / 'folder').mkdir()

    def plot(path):
        check_writable(path)

    with pytest.raises(IsADirectoryError, match=r'^plot: cannot write .*folder: it is a folder'):
        plot(tmp_path / 'folder')
    with pytest.raises(NotADirectoryError, match=r'old\.bin is a file, not a folder'):
        check_writable(tmp_path / 'old.bin' / 'x.png', operation='plot')
    with pytest.raises(ValueError, match='^plot: the path is empty'):
        check_writable('', operation='plot')
    assert sorted(os.listdir(tmp_path)) == ['folder', 'old.bin']


# --------------------------------------------------------------------------------------
# Paths: what file_path takes, and what readable_path refuses before anything is opened
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('path', ['a\0b', b'a\0b'])
def test_a_path_with_a_null_character_is_refused_by_name(tmp_path, path):
    with pytest.raises(ValueError) as info:
        atomic_write_bytes(path, b'x', operation='save_weights')
    assert str(info.value) == (
        "save_weights: the path 'a\\x00b' holds a null character (\\0), which no file "
        'name may hold; give the path of a file'
    )
    with pytest.raises(ValueError, match=r'^load_weights: the path .* holds a null character'):
        file_path(path, 'load_weights')


@pytest.mark.parametrize('path, kind', [(2, 'int'), (None, 'NoneType'), (1.5, 'float')])
def test_a_path_that_is_no_path_is_refused_by_name(path, kind):
    # an int would be taken by open() for a file descriptor, and closed after reading
    with pytest.raises(TypeError, match=f'^load_weights: path must be a file path, got {kind}$'):
        readable_path(path, 'load_weights')


def test_readable_path_gives_the_path_of_a_regular_file_or_a_link_to_one(tmp_path):
    (tmp_path / 'w.npz').write_bytes(b'x')
    os.symlink(tmp_path / 'w.npz', tmp_path / 'link.npz')
    assert readable_path(os.fsencode(tmp_path / 'w.npz'), 'load') == str(tmp_path / 'w.npz')
    assert readable_path(tmp_path / 'link.npz', 'load') == str(tmp_path / 'link.npz')


def test_readable_path_refuses_what_a_reader_cannot_take_whole(tmp_path):
    (tmp_path / 'folder').mkdir()
    (tmp_path / 'file').write_bytes(b'x')
    with pytest.raises(FileNotFoundError) as info:
        readable_path(tmp_path / 'none.npz', 'load_weights', '; did you mean x?')
    assert str(info.value) == f'load_weights: no such file: {tmp_path}/none.npz; did you mean x?'
    assert info.value.errno == errno.ENOENT
    with pytest.raises(IsADirectoryError) as info:
        readable_path(tmp_path / 'folder', 'load_weights')
    assert (
        str(info.value) == f'load_weights: {tmp_path}/folder is a folder; give the path of a file'
    )
    with pytest.raises(NotADirectoryError, match=r'^load_weights: cannot read .*file/x: Not a'):
        readable_path(tmp_path / 'file' / 'x', 'load_weights')
    with pytest.raises(OSError, match=r'^load_weights: cannot read /dev/null: it is a character '):
        readable_path('/dev/null', 'load_weights')


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='needs FIFOs')
def test_readable_path_refuses_a_fifo_without_reading_it(tmp_path):
    fifo = tmp_path / 'w.npz'
    with waiting_fifo(fifo), pytest.raises(OSError) as info:
        readable_path(fifo, 'load_weights')
    assert str(info.value) == refusal(fifo, 'load_weights')

"""Files that appear whole or not at all.

Every writer here puts the content into a temporary file in the destination's folder,
flushes it to disk and only then renames it over the destination with ``os.replace``
(atomic on POSIX and Windows), then syncs the folder, where the system allows, so that
a save that returned survives a power loss.  A reader therefore sees either the
previous file or the complete new one; if writing fails or is interrupted, the
temporary file is removed and the previous file is left as it was.  Errors name the operation and the destination,
never the temporary file.

Writing through a symbolic link replaces the file it leads to and keeps the link.  A
destination that a plain ``open(path, 'w')`` would not replace either is refused before
anything is written: a folder, a special file (a device, a FIFO, a socket), a file
this process may not write to, and a symbolic link into a folder that does not exist.

A process killed in the middle of a write (``kill -9``, a crash) cannot remove its
temporary file.  So each writer holds an exclusive ``flock`` on its temporary file until
the rename, and every write first deletes the temporary files of the same destination
that no one holds: those of writers that died (the kernel drops a dead process's locks).
Live writers of the same destination, in this process or others, are left alone.  Where
``flock`` is missing (Windows) nothing is cleaned up.

The paths given to writers and readers are checked here as well (:func:`file_path`),
and :func:`readable_path` refuses, before anything is opened, a path that a reader
could not take whole: a folder or a special file.
"""

import contextlib
import errno
import hashlib
import io
import os
import re
import secrets
import stat
import sys

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

_MODES = {'w': 'x', 'wt': 'xt', 'wb': 'xb'}  # write mode -> exclusive-create mode

# Errors of writing to a file, as opposed to the errors of other work in a with block.
_WRITE_ERRNOS = {
    getattr(errno, name)
    for name in ('ENOSPC', 'EDQUOT', 'EFBIG', 'EIO', 'EROFS')
    if hasattr(errno, name)
}

# Temporary files being written by this process: never stale, even where locks taken by
# one process do not exclude each other (POSIX record locks stand in for flock on NFS).
_writing = set()


def atomic_open(path, mode='wb', *, operation=None, **kwargs):
    """Open a file for writing that replaces ``path`` only when the block succeeds.

    ``mode`` is ``'wb'`` (bytes) or ``'w'``/``'wt'`` (text; ``encoding`` and other
    keyword arguments go to :func:`open`).  On leaving the ``with`` block normally the
    data is flushed, synced to disk and moved to ``path``; on an exception (including
    KeyboardInterrupt) the temporary file is deleted, ``path`` is untouched and the
    exception propagates.  A new file gets the usual permissions (0o666 less the umask);
    a replaced file keeps its own.  ``path`` is a str, bytes or path-like object; when
    it is a symbolic link, the file the link leads to is the one replaced.  A hard link
    to the old file keeps the old content, since the replace gives ``path`` a new file.

    When the file cannot be written (missing folder, no permission, disk full, ``path``
    is a folder, a special file such as a device or a FIFO, or a read-only file) the
    OSError raised is of the original type (FileNotFoundError, PermissionError, ...;
    plain OSError for a special file) and its message names ``operation`` (by default
    the function calling this one), ``path``, the reason and what to do.  An empty
    ``path`` raises ValueError.

    ``path`` may also be a :class:`GivenFile`, the caller's own binary file object
    checked by :func:`writable_file`: the block then writes into that file directly,
    which is not atomic (the caller's open file cannot be swapped for a new one), and
    leaves it open.  An OSError of the block that names no file (as those of writing
    the file object do not: ``OSError: Negative seek in write mode``) is raised again,
    of the same type and errno, with a message that names ``operation`` and the file
    object.

    For example::

        with atomic_open('weights.npz') as f:
            np.savez(f, w=w)
    """
    if mode not in _MODES:
        raise ValueError(f'atomic_open: mode must be one of {", ".join(_MODES)}, got {mode!r}')
    operation = operation or _caller()
    if isinstance(path, GivenFile):
        return _write_given(path.file, operation)
    return _atomic_open(file_path(path, operation), _MODES[mode], operation, kwargs)


def check_writable(path, *, operation=None):
    """Raise, without writing anything, the error that :func:`atomic_open` raises for
    ``path`` before it writes: an empty path, a folder, a special file, a read-only
    file, a file in place of a folder on the way, a symbolic link leading into a
    folder that does not exist (the link is followed: ``os.path.realpath``).  A
    missing folder of ``path`` itself passes (the caller may create it).  For a caller
    that writes several files and refuses before the first."""
    operation = operation or _caller()
    path = file_path(path, operation)
    _check_target(operation, path, _resolve(path))


def atomic_write_bytes(path, data, *, operation=None):
    """Write ``data`` (bytes-like) to ``path`` atomically; see :func:`atomic_open`."""
    with atomic_open(path, 'wb', operation=operation or _caller()) as f:
        f.write(data)


def atomic_write_text(path, text, encoding='utf-8', *, operation=None):
    """Write the string ``text`` to ``path`` atomically; see :func:`atomic_open`."""
    with atomic_open(path, 'w', encoding=encoding, operation=operation or _caller()) as f:
        f.write(text)


def file_path(path, operation):
    """``path`` (a str, bytes or path-like object) as a str; TypeError for anything
    else (an int would be taken for an open file's descriptor) and ValueError, naming
    ``operation``, for an empty path, for one holding a null character and for one
    that ends with a separator (``'w.npz/'`` names a folder: the system's error would
    blame the folder above it)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        given = path.file if isinstance(path, GivenFile) else path
        raise TypeError(f'{operation}: path must be a file path, got {type(given).__name__}')
    path = os.fsdecode(path)
    if not path:
        raise ValueError(f'{operation}: the path is empty; give the path of a file')
    if '\0' in path:
        raise ValueError(
            f'{operation}: the path {path!r} holds a null character (\\0), which no file '
            f'name may hold; give the path of a file'
        )
    if path.endswith(os.sep) or (os.altsep and path.endswith(os.altsep)):
        raise ValueError(
            f'{operation}: the path {path} ends with {path[-1]!r}, so it names a folder; '
            f'give the path of a file'
        )
    return path


class GivenFile:
    """A binary file object that a caller gave in place of a path, checked by
    :func:`writable_file`; :func:`atomic_open` writes into it directly."""

    __slots__ = ('file',)

    def __init__(self, file):
        self.file = file


def is_file_object(value):
    """Whether ``value`` is an open file object (it has ``read`` or ``write``) rather
    than a path."""
    return not isinstance(value, (str, bytes, os.PathLike)) and (
        hasattr(value, 'read') or hasattr(value, 'write')
    )


def writable_file(file, operation):
    """The file object ``file`` wrapped as a :class:`GivenFile` for
    :func:`atomic_open`, after checking that it is open, binary and writable; the
    errors (ValueError for a closed file, TypeError otherwise) name ``operation``."""
    _check_file_object(file, operation, 'writable', 'wb')
    return GivenFile(file)


def readable_file(file, operation):
    """The file object ``file``, after checking that it is open, binary, readable and
    seekable, with the methods that reading a zip archive, which jumps about in it,
    calls: ``read``, ``seek``, ``tell`` and ``seekable``.  The errors (ValueError for
    a closed file, TypeError otherwise) name ``operation`` and the missing methods."""
    _check_file_object(file, operation, 'readable', 'rb')
    missing = [f'{name}()' for name in _ZIP_READER_NEEDS if not callable(getattr(file, name, None))]
    if missing:
        listed = missing[0] if len(missing) == 1 else f'{", ".join(missing[:-1])} and {missing[-1]}'
        raise TypeError(
            f'{operation}: the {type(file).__name__} file object has no {listed}, which '
            f'reading an .npz archive (a zip file) needs; read it whole into '
            f'io.BytesIO(f.read()) first'
        )
    if not file.seekable():
        raise TypeError(
            f'{operation}: the {type(file).__name__} file object cannot seek, which '
            f'reading an .npz archive needs; read it whole into io.BytesIO(f.read()) first'
        )
    return file


# The methods of a file object that zipfile calls when it reads an archive.
_ZIP_READER_NEEDS = ('read', 'seek', 'tell', 'seekable')


def file_object_name(file):
    """The file object ``file`` as messages name it: by its file's name, or as ``the
    BytesIO file object`` when it has none."""
    name = getattr(file, 'name', None)
    if isinstance(name, (str, bytes)):
        return os.fsdecode(name)
    return f'the {type(file).__name__} file object'


@contextlib.contextmanager
def _write_given(file, operation):
    """The work of :func:`atomic_open` for the caller's file object ``file``."""
    try:
        yield file
    except OSError as e:
        if e.filename is not None:
            raise  # an error of another file
        reason = e.strerror or str(e)
        raise _read_error(
            type(e), e.errno, f'{operation}: cannot write to {file_object_name(file)}: {reason}'
        ) from None


def _check_file_object(file, operation, able, mode):
    """Refuse ``file`` unless it is an open binary file object that is ``able``
    (``'readable'`` or ``'writable'``, as opened with ``mode``)."""
    kind = type(file).__name__
    if getattr(file, 'closed', False):
        raise ValueError(f'{operation}: the {kind} file object is closed; give an open one')
    # a text file, or a wrapper of one (tempfile's): text files have an encoding
    if isinstance(file, io.TextIOBase) or getattr(file, 'encoding', None) is not None:
        raise TypeError(
            f'{operation}: the {kind} file object is open in text mode; an .npz archive '
            f'is binary: open the file with {mode!r} (or use io.BytesIO)'
        )
    check = getattr(file, able, None)
    if check is not None and not check():
        raise TypeError(
            f'{operation}: the {kind} file object is not {able}; open the file with {mode!r}'
        )


def readable_path(path, operation, missing=''):
    """``path`` (see :func:`file_path`) as a str, after checking with ``os.stat``,
    without opening it, that it is a regular file (or a link to one) that reading can
    take whole.  Messages start with ``operation`` and name ``path``: a missing file
    raises FileNotFoundError (its message ends with ``missing``, a hint), a folder
    IsADirectoryError and a special file OSError (opening a FIFO to read it waits for a
    writer, forever if none comes); other errors of ``os.stat`` (no permission to
    enter a folder on the way, say) keep their type."""
    path = file_path(path, operation)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise _read_error(
            FileNotFoundError, errno.ENOENT, f'{operation}: no such file: {path}{missing}'
        ) from None
    except OSError as e:  # a file in place of a folder on the way, a loop of links, ...
        reason = e.strerror or str(e)
        raise _read_error(type(e), e.errno, f'{operation}: cannot read {path}: {reason}') from None
    if stat.S_ISDIR(mode):
        raise _read_error(
            IsADirectoryError,
            errno.EISDIR,
            f'{operation}: {path} is a folder; give the path of a file',
        )
    if not stat.S_ISREG(mode):
        kind = _SPECIAL_FILES.get(stat.S_IFMT(mode), 'a special file')
        raise _read_error(
            OSError,
            None,
            f'{operation}: cannot read {path}: it is {kind}, not a regular file; give the '
            f'path of a file',
        )
    return path


def _read_error(kind, code, message):
    """The OSError ``kind`` with errno ``code`` and ``message``."""
    error = kind(message)
    error.errno = code
    return error


def _resolve(path):
    """The file that writing ``path`` replaces: the one a symbolic link leads to, else
    ``path`` itself."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _caller():
    """The name of the function that called the caller of this one, for error messages
    ('atomic_open' for code outside a function)."""
    name = sys._getframe(2).f_code.co_name
    return 'atomic_open' if name.startswith('<') else name


@contextlib.contextmanager
def _atomic_open(path, xmode, operation, kwargs):
    """The work of :func:`atomic_open`, whose arguments are checked; errors name
    ``path``, and the file written is ``target``, where ``path`` leads."""
    target = _resolve(path)
    _check_target(operation, path, target)
    _remove_stale_temps(target)
    with _naming_errors(operation, path, target):
        f, tmp = _create_temp(target, xmode, kwargs)
    _writing.add(tmp)
    try:
        try:
            yield f
        except OSError as e:
            if e.errno not in _WRITE_ERRNOS or e.filename not in (None, tmp):
                raise  # not a failure to write this file
            raise _write_error(e, operation, path, target) from None
        with _naming_errors(operation, path, target):
            f.flush()
            os.fsync(f.fileno())
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, os.stat(target).st_mode & 0o7777)
            if fcntl:  # renamed while locked, so that no writer takes it for stale
                os.replace(tmp, target)
            f.close()
            if not fcntl:  # Windows renames only closed files
                os.replace(tmp, target)
        _sync_folder(target)
    except BaseException:
        # Closing flushes what the buffer still holds, which fails again after a
        # failed write; the error to raise is the first one, so this one is dropped
        # (the descriptor is closed all the same).
        with contextlib.suppress(Exception):
            f.close()
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        _writing.discard(tmp)


def _sync_folder(path):
    """Sync to disk the folder holding ``path``, so that a rename into it survives a
    power loss; skipped quietly where a folder cannot be opened or synced (Windows,
    some network file systems): the file is in place already."""
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _check_target(operation, path, target):
    """Refuse, before anything is written, a ``target`` that a plain ``open(target,
    'w')`` would not replace with a file either: a folder, a special file or a file
    that this process may not write to.  A missing ``target`` is fine, unless ``path``
    is a symbolic link to it (``target`` is not ``path``) in a folder that does not
    exist: no writer creates the folders a link leads into."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(target))
        if target != path and not os.path.isdir(folder):
            raise _error(
                FileNotFoundError,
                errno.ENOENT,
                operation,
                path,
                f'it is a symbolic link to {target}, and the folder {folder} does not exist',
                'create that folder first or choose another path',
            ) from None
        return
    except OSError as e:  # a file in place of a folder on the way, a loop of links, ...
        raise _write_error(e, operation, path, target) from None
    if stat.S_ISDIR(mode):
        raise _error(IsADirectoryError, errno.EISDIR, operation, path, 'it is a folder')
    if not stat.S_ISREG(mode):
        kind = _SPECIAL_FILES.get(stat.S_IFMT(mode), 'a special file')
        raise _error(OSError, None, operation, path, f'it is {kind}, not a regular file')
    if not os.access(target, os.W_OK):
        if _on_read_only_file_system(target):
            read_only = OSError(errno.EROFS, os.strerror(errno.EROFS))
            raise _write_error(read_only, operation, path, target)
        advice = 'make it writable or choose another path'
        raise _error(
            PermissionError, errno.EACCES, operation, path, 'the file is read-only', advice
        )


def _on_read_only_file_system(path):
    """Whether ``path`` is on a file system mounted read-only (False where the system
    cannot tell: Windows has no ``os.statvfs``)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):
        return False


_SPECIAL_FILES = {
    stat.S_IFCHR: 'a character device',
    stat.S_IFBLK: 'a block device',
    stat.S_IFIFO: 'a FIFO (named pipe)',
    stat.S_IFSOCK: 'a socket',
}


def _create_temp(path, xmode, kwargs):
    """Create, open and lock a new hidden file beside ``path``; return it and its name."""
    folder = os.path.dirname(os.path.abspath(path))
    prefix = _temp_prefix(path)
    for _ in range(100):
        tmp = os.path.join(folder, f'{prefix}{secrets.token_hex(4)}.tmp')
        try:
            f = open(tmp, xmode, **kwargs)
        except FileExistsError:
            continue
        except BaseException:  # e.g. an unknown encoding, noticed after the file was made
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if _lock(f):
            return f, tmp
        f.close()
    raise FileExistsError(errno.EEXIST, f'no free name for a temporary file in {folder}')


#: the bytes a temporary file's name adds to its prefix: 8 hex digits and '.tmp'
_TEMP_SUFFIX_BYTES = 12
#: the bytes that stand for the cut end of a long name: '~' and 8 hex digits
_HASH_BYTES = 9


def _temp_prefix(path):
    """The start of the names of the temporary files of ``path``: '.', the file's name
    and '.'; a random part and '.tmp' follow.  A name too long for that within the file
    system's limit on names (255 bytes on most) is cut, and ends with '~' and 8 hex
    digits of a hash of the whole name instead, so that files whose names differ only
    after the cut still have temporary files of their own."""
    folder, name = os.path.split(os.path.abspath(path))
    room = _name_max(folder) - _TEMP_SUFFIX_BYTES - 2  # the two dots
    if len(os.fsencode(name)) <= room:
        return f'.{name}.'
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
    cut = name
    while cut and len(os.fsencode(cut)) > room - _HASH_BYTES:  # whole characters only
        cut = cut[:-1]
    return f'.{cut}~{digest}.'


def _name_max(folder):
    """The longest file name, in bytes, that the file system of ``folder`` allows (255
    where it does not say, or the folder does not exist)."""
    try:
        limit = os.pathconf(folder, 'PC_NAME_MAX')
    except (AttributeError, ValueError, OSError):  # Windows has no pathconf
        return 255
    return limit if limit > 0 else 255  # -1: no limit it could tell


def _temp_names(path):
    """The pattern of the names of the temporary files of ``path``."""
    return re.compile(re.escape(_temp_prefix(path)) + r'[0-9a-f]{8}\.tmp')


def _lock(f):
    """Lock the new temporary file ``f`` so that no writer takes it for stale; False
    when a writer removing stale files got to it first (and deletes it)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks: no writer can take the file for stale
        return True
    return os.fstat(f.fileno()).st_nlink > 0  # still there, not deleted before the lock


def _remove_stale_temps(path):
    """Delete the temporary files of ``path`` left by writers that died: the ones that no
    process holds locked.  Never fails: a problem with the folder shows up when the new
    temporary file is created."""
    if fcntl is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    pattern = _temp_names(path)
    try:
        names = [e.name for e in os.scandir(folder) if pattern.fullmatch(e.name)]
    except OSError:
        return
    for name in names:
        stale = os.path.join(folder, name)
        if stale in _writing:
            continue
        # opened for writing: over NFS an exclusive lock needs a writable descriptor
        with contextlib.suppress(OSError), open(stale, 'r+b') as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails if its writer lives
            os.unlink(stale)


@contextlib.contextmanager
def _naming_errors(operation, path, target):
    """Re-raise an OSError of the file operations in the block as :func:`_write_error`."""
    try:
        yield
    except OSError as e:
        raise _write_error(e, operation, path, target) from None


def _write_error(e, operation, path, target):
    """An OSError of the type of ``e`` saying that ``operation`` could not write ``path``
    (the file ``target``, where it leads), why and what to do, without naming the
    temporary file."""
    return _error(type(e), e.errno, operation, path, *_explain(e, target))


def _error(kind, code, operation, path, reason, advice='give the path of a file'):
    """The OSError ``kind`` with errno ``code`` saying that ``operation`` could not write
    ``path``, why (``reason``) and what to do (``advice``)."""
    kept = (
        f'the file already at {path} is unchanged'
        if os.path.isfile(path)
        else 'nothing was written'
    )
    error = kind(f'{operation}: cannot write {path}: {reason}; {advice} ({kept})')
    error.errno = code
    return error


def _explain(e, path):
    """Why writing ``path`` failed with ``e``, and what to do: two phrases."""
    folder = os.path.dirname(os.path.abspath(path))
    code = e.errno
    if code == errno.ENOENT:
        if os.path.isdir(folder):  # a folder that takes no new files (/proc)
            return (
                f'no file can be created in the folder {folder}: {e.strerror or e}',
                'choose another folder',
            )
        return f'the folder {folder} does not exist', 'create it first or choose another path'
    if code == errno.ENOTDIR:
        return f'{_blocking_file(folder)} is a file, not a folder', 'choose another path'
    if code == errno.EISDIR:
        return 'it is a folder', 'give the path of a file'
    if code in (errno.EACCES, errno.EPERM):
        return (
            f'no permission to write in the folder {folder}',
            'choose a folder you may write to or change its permissions',
        )
    if code == errno.EROFS:
        return f'the folder {folder} is on a read-only file system', 'choose another folder'
    if code in (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC)):
        return f'the disk holding {folder} is full', 'free some space and try again'
    if code == errno.EFBIG:
        return 'the file is larger than the file system allows', 'choose another folder'
    return e.strerror or str(e), 'check the folder and the disk'


def _blocking_file(folder):
    """The nearest existing ancestor of ``folder`` (a file, when a folder was expected)."""
    while not os.path.exists(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    return folder

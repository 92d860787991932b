"""Files that appear whole or not at all.

Every writer here puts the content into a temporary file in the destination's folder,
flushes it to disk and only then renames it over the destination with ``os.replace``
(atomic on POSIX and Windows).  A reader therefore sees either the previous file or the
complete new one; if writing fails or is interrupted, the temporary file is removed and
the previous file is left as it was.
"""

import contextlib
import os
import secrets

_MODES = {'w': 'x', 'wt': 'xt', 'wb': 'xb'}  # write mode -> exclusive-create mode


@contextlib.contextmanager
def atomic_open(path, mode='wb', **kwargs):
    """Open a file for writing that replaces ``path`` only when the block succeeds.

    ``mode`` is ``'wb'`` (bytes) or ``'w'``/``'wt'`` (text; ``encoding`` and other
    keyword arguments go to :func:`open`).  On leaving the ``with`` block normally the
    data is flushed, synced to disk and moved to ``path``; on an exception (including
    KeyboardInterrupt) the temporary file is deleted, ``path`` is untouched and the
    exception propagates.  A new file gets the usual permissions (0o666 less the umask);
    a replaced file keeps its own.

    For example::

        with atomic_open('weights.npz') as f:
            np.savez(f, w=w)
    """
    if mode not in _MODES:
        raise ValueError(f'atomic_open: mode must be one of {", ".join(_MODES)}, got {mode!r}')
    path = os.fspath(path)
    f, tmp = _open_temp(path, _MODES[mode], kwargs)
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path, data):
    """Write ``data`` (bytes-like) to ``path`` atomically; see :func:`atomic_open`."""
    with atomic_open(path, 'wb') as f:
        f.write(data)


def atomic_write_text(path, text, encoding='utf-8'):
    """Write the string ``text`` to ``path`` atomically; see :func:`atomic_open`."""
    with atomic_open(path, 'w', encoding=encoding) as f:
        f.write(text)


def _open_temp(path, xmode, kwargs):
    """Create and open a fresh hidden file next to ``path``; return it and its name."""
    folder, name = os.path.split(os.path.abspath(path))
    for _ in range(100):
        tmp = os.path.join(folder, f'.{name}.{secrets.token_hex(4)}.tmp')
        try:
            return open(tmp, xmode, **kwargs), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f'atomic_open: could not create a temporary file in {folder}')

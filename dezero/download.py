"""Files fetched once from the web and kept in a local cache.

:func:`get_file` returns the path of a cached file, downloading it first if it is not
there.  A download is written to a temporary file in the cache folder and renamed to its
real name only once it is complete and, when a checksum is given, verified; so a file
under the real name is always whole, and an interrupted or corrupt download leaves
nothing behind.  With a checksum, a file found in the cache is verified too (once per
process while it stays the same file) and fetched again when it does not match.  The
cache is ``$DEZERO_HOME/downloads`` (``~/.dezero/downloads`` when ``DEZERO_HOME`` is not
set) unless a folder is given; the module attribute ``cache_dir`` names it, worked out
anew at each access so that it follows ``DEZERO_HOME``.  A file missing there but found
where the book's DeZero keeps its downloads (``$DEZERO_HOME`` itself) is taken from
there when its checksum is given and verified, or, without a checksum, when no folder
was given.
:func:`show_progress` draws a progress bar for ``urllib.request.urlretrieve``.
"""

import errno
import hashlib
import http.client
import os
import posixpath
import re
import sys
import urllib.parse
import urllib.request

from dezero.atomic import atomic_open
from dezero.checks import check_flag

_CHUNK = 1 << 16
_MD5 = re.compile(r'[0-9a-fA-F]{32}')

# path -> (_stamp(path), MD5) of the cached files hashed by this process, so that a
# large file is hashed again only when it has been replaced or changed.
_hashed = {}


class DownloadError(OSError):
    """A file could not be downloaded (no network, unknown URL, incomplete transfer).

    ``url``, ``file_name`` and ``folder`` say what was asked for and where it belongs,
    so the file can be fetched by other means and put there by hand; ``reason`` says
    what went wrong, in a few words.
    """

    def __init__(self, message, *, url=None, file_name=None, folder=None, reason=None):
        super().__init__(message)
        self.url = url
        self.file_name = file_name
        self.folder = folder
        self.reason = reason


class ChecksumError(DownloadError):
    """A downloaded file failed its check: its MD5 checksum differs from the expected
    one, or the ``validate`` function given to :func:`get_file` refused it."""


def failed_for(owner, e, url, folder, what='the file', advice=''):
    """The DownloadError ``e`` of :func:`get_file` (a ChecksumError stays one) told
    for ``owner``, the dataset or model that asked for the file (``what``): whether it
    is missing from ``folder`` or there but damaged (get_file fails with the file in
    place only when it failed its checksum), the URL, the reason, and what to do, with
    ``advice`` added."""
    if os.path.exists(os.path.join(folder, e.file_name)):
        state, fix = 'is damaged in', 'a good copy'
    else:
        state, fix = 'is not in', 'it'
    return type(e)(
        f'{owner}: {what} {e.file_name} {state} {folder} and could not be downloaded '
        f'from {url} ({e.reason or e}). Put {fix} into that folder by hand{advice}',
        url=url,
        file_name=e.file_name,
        folder=folder,
        reason=e.reason,
    )


def dezero_home():
    """The folder where dezero keeps downloads and datasets: the environment variable
    ``DEZERO_HOME`` (read at each call), else ``~/.dezero``."""
    home = os.environ.get('DEZERO_HOME') or os.path.join('~', '.dezero')
    return os.path.expanduser(home)


def downloads_dir():
    """The folder where :func:`get_file` caches files unless given another:
    ``dezero_home()/downloads``."""
    return os.path.join(dezero_home(), 'downloads')


def __getattr__(name):
    # ``cache_dir``, the book's name for the download folder, is computed at each access
    # (``from dezero.download import cache_dir`` gets the folder of that moment).
    if name == 'cache_dir':
        return downloads_dir()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def _assigned_cache_dir():
    """The folder a program assigned to ``dezero.utils.cache_dir`` (the book's
    ``get_file`` downloads into that module global), or None: unassigned, that name
    follows ``DEZERO_HOME`` (see ``dezero.utils.__getattr__``)."""
    utils = sys.modules.get('dezero.utils')
    return None if utils is None else vars(utils).get('cache_dir')


def get_file(
    url, file_name=None, md5=None, cache_dir=None, progress=False, timeout=60, validate=None
):
    """Return the local path of the file at ``url``, downloading it if not cached yet.

    ``file_name`` is the name in the cache (default: the last part of the URL's path),
    a plain file name (not empty, no folder); ``cache_dir`` the folder (default: the
    folder a program assigned to ``dezero.utils.cache_dir``, as the book's get_file
    reads that name, else :func:`downloads_dir`; created if needed); both may be given
    as str or bytes.
    A file missing there but found, under the same name, in the folder where the book's
    DeZero keeps its downloads (:func:`dezero_home` itself) is returned from there when
    ``md5`` is given and matches it, or, for the default folder only, when no ``md5``
    is given (a folder given by the caller is never overruled by a mere name).
    A file already there is returned as it is, unless ``md5`` is given and the file's
    checksum differs: then it is downloaded again and replaced by the new download
    once that has been verified.  Otherwise the file is downloaded with urllib
    (``file://`` URLs work too); with ``md5`` its checksum is verified before it is
    saved.  ``validate``, if given, is called with the path of the complete download
    (still under a temporary name) and raises ValueError to refuse it, for checks of the
    content such as the CRC-32 checksums inside a zip archive.  ``progress=True`` prints
    the progress on stderr.

    Raises :class:`DownloadError` (an OSError) when the download fails, e.g. without a
    network; its message names the file, the URL and the folder to put the file in by
    hand (and the damaged cached file and its checksum, if there is one).  Raises
    :class:`ChecksumError` (a DownloadError) when the checksum differs or ``validate``
    refuses the file; nothing is saved in either case: a damaged cached file stays as
    it was.  Raises IsADirectoryError naming the path when a folder stands where the
    file belongs, and NotADirectoryError naming the file when a file stands where the
    folder (or a folder above it, such as ``DEZERO_HOME``) belongs.
    """
    progress = check_flag('get_file', 'progress', progress)
    if not isinstance(url, str):
        raise TypeError(f"get_file: url must be a string such as 'https://...', got {url!r}")
    if file_name is None:
        url_path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        file_name = posixpath.basename(url_path)
        if not file_name:
            raise ValueError(
                f'get_file: cannot tell a file name from the URL {url!r}; pass file_name'
            )
    file_name = path_text('get_file', 'file_name', file_name)
    if file_name in ('', '.', '..') or '/' in file_name or os.sep in file_name:
        raise ValueError(
            f'get_file: file_name must be a plain file name (not empty, . or .., and '
            f'with no folder in it), got {file_name!r}'
        )
    if md5 is not None and not (isinstance(md5, str) and _MD5.fullmatch(md5)):
        raise ValueError(f'get_file: md5 must be 32 hex digits, got {md5!r}')
    if cache_dir is None:
        cache_dir = _assigned_cache_dir()
    folder = (
        path_text('get_file', 'cache_dir', cache_dir) if cache_dir is not None else downloads_dir()
    )
    path = os.path.join(folder, file_name)
    _check_not_a_folder(path)
    if not os.path.exists(path):
        earlier = _in_books_cache(file_name, md5) if cache_dir is None or md5 else None
        if earlier is not None:
            return earlier
        advice = (
            'pass another cache_dir'
            if cache_dir is not None
            else 'set DEZERO_HOME to another folder'
        )
        check_folder('get_file', folder, advice)
        os.makedirs(folder, exist_ok=True)
        _remember(path, _download(url, path, md5, validate, progress, timeout))
        return path
    if md5 is None:
        return path
    cached = _file_md5(path)
    if cached == md5.lower():
        return path
    damage = f'the cached file {path} is damaged (MD5 {cached}, expected {md5.lower()})'
    try:
        digest = _download(url, path, md5, validate, progress, timeout)
    except DownloadError as e:
        again = 'a new download' if isinstance(e, ChecksumError) else 'downloading it again'
        raise type(e)(
            f'get_file: {damage} and {again} from {url} failed: {e.reason}. The damaged '
            f'file was left as it is; fetch the file by other means and put it in its place',
            url=url,
            file_name=file_name,
            folder=folder,
            reason=f'{damage}; {again} failed: {e.reason}',
        ) from e
    _remember(path, digest)
    return path


def _in_books_cache(file_name, md5):
    """The path of ``file_name`` in the folder where the book's DeZero keeps its
    downloads (:func:`dezero_home` itself, ``~/.dezero``), when a file of that name is
    there and, if ``md5`` is given, has that checksum; else None.  So files the book's
    package fetched (the MNIST archives, ``vgg16.npz``) are not fetched again."""
    path = os.path.join(dezero_home(), file_name)
    if not os.path.isfile(path):
        return None
    if md5 is not None and _file_md5(path) != md5.lower():
        return None
    return path


class _FolderInTheWay(IsADirectoryError):
    """A folder stands where a file belongs: an IsADirectoryError whose ``filename``
    is that path and whose text is ``message`` alone (an OSError with a filename would
    print itself as ``[Errno 21] None: 'path'``)."""

    def __init__(self, message, path):
        super().__init__(message)
        self.errno, self.filename = errno.EISDIR, path

    def __str__(self):
        return self.args[0]

    def __reduce__(self):
        # for pickle and copy, which would call __init__(message) alone; the state,
        # the instance's __dict__, carries __notes__ and any attribute set since
        return type(self), (self.args[0], self.filename), self.__dict__


def _check_not_a_folder(path):
    """Raise IsADirectoryError naming get_file and ``path`` if a folder stands where
    the cached file belongs."""
    if os.path.isdir(path):
        raise _FolderInTheWay(
            f'get_file: {path} is a folder, where the downloaded file belongs; remove '
            f'the folder, or pass another file_name or cache_dir',
            path,
        )


class _FileInTheWay(NotADirectoryError):
    """A file stands where a folder belongs: a NotADirectoryError whose ``filename``
    is that file's path and whose text is ``message`` alone."""

    def __init__(self, message, path):
        super().__init__(message)
        self.errno, self.filename = errno.ENOTDIR, path

    __str__ = _FolderInTheWay.__str__
    __reduce__ = _FolderInTheWay.__reduce__


def check_folder(owner, folder, advice):
    """Raise NotADirectoryError if something other than a folder (a file, a broken
    link) stands at ``folder`` or at a folder above it, where ``os.makedirs(folder)``
    needs a folder; its message names ``owner`` (the function or dataset that wants the
    folder), that path and ``folder``, and ends with ``advice`` (what else to pass).
    Missing folders and errors of reading (no permission) are left to the caller."""
    path = os.path.abspath(folder)
    while not os.path.isdir(path):
        if os.path.lexists(path):
            within = '' if path == os.path.abspath(folder) else f' (on the way to {folder})'
            raise _FileInTheWay(
                f'{owner}: {path} is a file, where a folder was expected{within}; remove '
                f'the file, or {advice}',
                path,
            )
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def path_text(owner, name, path, what='a str, bytes or path object'):
    """``path`` (a str, bytes or path object) as a str, or TypeError saying that the
    argument ``name`` of ``owner`` must be ``what``."""
    try:
        return os.fsdecode(path)
    except TypeError:
        raise TypeError(f'{owner}: {name} must be {what}, got {path!r:.60}') from None


def _file_md5(path):
    """The MD5 checksum (hex) of the file ``path``; taken from :data:`_hashed` while the
    file there has the :func:`_stamp` it had when hashed."""
    key, stamp = os.path.abspath(path), _stamp(path)
    known = _hashed.get(key)
    if known is not None and known[0] == stamp:
        return known[1]
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, 'rb') as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    _hashed[key] = (stamp, digest.hexdigest())
    return digest.hexdigest()


def _remember(path, md5):
    """Record ``md5`` as the checksum of the file just saved at ``path``."""
    _hashed[os.path.abspath(path)] = (_stamp(path), md5)


def _stamp(path):
    """What changes when the file ``path`` is replaced or written to: its size, inode,
    time of modification and time of change.  The time of change (``st_ctime_ns``) is
    set by the system at every write, rename or ``os.utime``, so a file edited in place
    whose time of modification was set back still gets a new stamp."""
    stat = os.stat(path)
    return stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns


def _download(url, path, md5, validate, progress, timeout):
    """Fetch ``url`` into ``path`` atomically, verifying its MD5 if one is given and
    passing it to ``validate`` if that is given; return its MD5 checksum (hex)."""
    folder, file_name = os.path.split(path)
    where = dict(url=url, file_name=file_name, folder=folder)

    def failed(reason):
        return DownloadError(
            f'get_file: could not download {file_name!r} from {url} ({reason}). '
            f'Without a network connection, fetch the file by other means and put it '
            f'into the folder {folder}',
            reason=str(reason),
            **where,
        )

    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except OSError as e:  # URLError, HTTPError, timeouts are all OSErrors
        raise failed(getattr(e, 'reason', None) or e) from e
    with response, atomic_open(path, 'wb', operation='get_file') as f:
        total = response.headers.get('Content-Length')
        total = int(total) if total and total.isdigit() else None
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        while True:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as e:
                raise failed(f'transfer broken after {received} bytes: {e!r}') from e
            if not chunk:
                break
            f.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            if progress:
                _show_progress(file_name, received, total)
        if progress:
            print(file=sys.stderr)
        if total is not None and received != total:
            raise failed(f'received {received} of {total} bytes')
        actual = digest.hexdigest()
        reason = None
        if md5 is not None and actual != md5.lower():
            reason = f'checksum mismatch: expected MD5 {md5.lower()}, got {actual}'
        elif validate is not None:
            f.flush()
            try:
                validate(f.name)
            except ValueError as e:
                reason = f'the downloaded file is not valid: {e}'
        if reason is not None:
            raise ChecksumError(
                f'get_file: {reason} for {file_name!r} downloaded from {url}; the '
                f'download was discarded and nothing was saved in {folder}',
                reason=reason,
                **where,
            )
    return actual


def _show_progress(file_name, received, total):
    """One self-overwriting line on stderr: the file's name and its progress."""
    print(f'\r{file_name}: {_progress_text(received, total)}', end='', file=sys.stderr, flush=True)


def show_progress(block_num, block_size, total_size):
    """Draw a download's progress on one self-overwriting line of stderr.

    A report hook for ``urllib.request.urlretrieve(url, path, show_progress)``, which
    calls it once before the first block and after every block with the number of
    blocks so far, the block size and the total size in bytes (-1, or 0, when the
    server does not say).  The line is a bar with the percentage, ``[###....] 10.00%``,
    or the amount received when the total is unknown; the caller ends it.
    """
    print(
        f'\r{_progress_text(block_num * block_size, total_size)}',
        end='',
        file=sys.stderr,
        flush=True,
    )


_BAR_WIDTH = 30


def _progress_text(received, total):
    """``[#########.....................] 30.00% of 1.2 MiB``; ``0.5 MiB`` when the
    total (in bytes) is unknown: None or not positive."""
    if not total or total <= 0:
        return f'{received / (1 << 20):.1f} MiB'
    fraction = min(received / total, 1.0)  # the last block may overshoot
    filled = int(fraction * _BAR_WIDTH)
    bar = '#' * filled + '.' * (_BAR_WIDTH - filled)
    return f'[{bar}] {100 * fraction:.2f}% of {total / (1 << 20):.1f} MiB'

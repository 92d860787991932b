"""Files of named arrays: how weights, optimizer state and checkpoints are written and
read back.

Every such file is an ``.npz`` archive of plain arrays (never pickled objects); the
settings that are not arrays travel as one JSON text in a 0-d string array.  Reading
checks the shape and dtype of each entry, from its header, before its data are read,
and everything against the model before anything is assigned, so a file that does
not fit raises an error naming the file and leaves the model as it was.  Writing goes
through :mod:`dezero.atomic`, so a file appears whole or not at all.
"""

import contextlib
import errno
import io
import json
import math
import os
import pickle
import pickletools
import zipfile
from typing import NamedTuple

import numpy as np

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from dezero import cuda
from dezero.array_ops import cast_with_overflow
from dezero.atomic import (
    file_object_name,
    file_path,
    is_file_object,
    readable_file,
    readable_path,
    writable_file,
)


def npz_path(path, owner):
    """``path`` (a str, bytes or path-like object) as a str that ends with ``.npz``:
    the path itself when it ends so, else the path with ``.npz`` added, the file that
    ``np.savez`` and :meth:`~dezero.layers.Layer.save_weights` write.  An empty path,
    or one that names a folder (``'w/'``), raises ValueError naming ``owner``.

    A binary file object open for writing (``io.BytesIO``, ``open(name, 'wb')``), which
    ``np.savez`` takes too, comes back as a :class:`~dezero.atomic.GivenFile` that
    :func:`~dezero.atomic.atomic_open` writes into directly: writing into the caller's
    own file cannot be atomic.  A file object open in text mode, not for writing, or in
    append mode (``'ab'``, where no write can go back) raises TypeError naming
    ``owner``."""
    if is_file_object(path):
        given = writable_file(path, owner)
        if _appends(path):
            raise TypeError(
                f'{owner}: {file_object_name(path)} is open in append mode, where every '
                f'write goes to the end of the file, but writing an .npz archive (a zip '
                f"file) goes back to fill in sizes; open the file with 'wb' (a file "
                f'holding archives one after another cannot be read back: give each '
                f'archive a file of its own)'
            )
        return given
    path = file_path(path, owner)
    return path if path.endswith('.npz') else path + '.npz'


def write_npz(f, arrays):
    """Write ``arrays`` (name -> array) to the open binary file ``f`` as an ``.npz``
    archive, the format of ``np.savez`` (done by hand so that any name is a valid key,
    even ``file``).

    Writing a zip archive seeks back to fill in sizes, which a file on disk and an
    ``io.BytesIO`` allow; into any other file object (a ``gzip.GzipFile``, which can
    only seek forward, a pipe, a file in append mode, whose writes all go to its end)
    the archive is built in memory first and then written with one ``write``, so that
    a failure leaves no part of an archive there."""
    if isinstance(f, _SEEKING_FILES) and f.seekable() and not _appends(f):
        _write_zip(f, arrays)
        return
    buffer = io.BytesIO()
    _write_zip(buffer, arrays)
    with buffer.getbuffer() as data:
        _write_all(f, data)


# File objects whose seek(), when seekable() says so, goes anywhere, as zipfile expects.
_SEEKING_FILES = (io.BytesIO, io.FileIO, io.BufferedWriter, io.BufferedRandom)


def _appends(f):
    """Whether every write to the file object ``f`` goes to the end of its file,
    wherever it seeks: a file opened in append mode (``'ab'``), or one whose
    descriptor was opened so (``O_APPEND``, as the shell's ``>>`` opens standard
    output)."""
    mode = getattr(f, 'mode', None)
    if isinstance(mode, str) and 'a' in mode:
        return True
    try:
        return bool(fcntl.fcntl(f.fileno(), fcntl.F_GETFL) & os.O_APPEND)
    except (AttributeError, TypeError, ValueError, OSError):  # no descriptor, or no fcntl
        return False


def _write_zip(f, arrays):
    """The work of :func:`write_npz`, writing into ``f`` directly."""
    with zipfile.ZipFile(f, mode='w', compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + '.npy', mode='w', force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asarray(array), allow_pickle=False)


def _write_all(f, data):
    """Write the bytes ``data`` (a memoryview) to ``f``, again while its ``write`` (a
    raw stream's may) takes only part of them."""
    while data:
        written = f.write(data)
        if not isinstance(written, int) or written >= len(data):
            return  # None: a write that tells nothing of what it took took it all
        if written <= 0:
            raise OSError(errno.EIO, f'write() took none of the {len(data)} bytes left')
        data = data[written:]


# How a zip archive (b'PK\x05\x06' when empty) and an .npy file start.
_NPY_MAGIC = b'\x93NUMPY'
_NPZ_MAGICS = (b'PK\x03\x04', b'PK\x05\x06', _NPY_MAGIC)


class _Header(NamedTuple):
    """What the ``.npy`` header of an entry says of its array: enough to check the
    array against what a reader expects before its data is read."""

    shape: tuple
    dtype: np.dtype

    @property
    def ndim(self):
        """The number of axes, as an array's ``ndim``."""
        return len(self.shape)

    @property
    def nbytes(self):
        """The bytes of data the header claims (a Python int, never overflowing)."""
        return math.prod(self.shape) * self.dtype.itemsize


#: The most bytes of data that the entry of JSON text of a file (``'__optimizer__'``,
#: ``'__checkpoint__'``) may claim in its header: 16 Mi characters, as NumPy holds 4
#: bytes per character.  The settings it holds (a checkpoint's history of every epoch,
#: the path of every parameter) take far less; the bound keeps a small damaged file
#: from making a reader allocate more than this before the text is decoded.
MAX_TEXT_BYTES = 64 << 20


def read_npz(path, owner, check=None, text_entry=None):
    """Every array of the ``.npz`` file at ``path``, as a dict (name -> array).

    ``path`` is a str, bytes or path-like object, never an int (which ``open`` would
    take for a file descriptor).  A missing file raises FileNotFoundError (asking
    whether ``path`` + ``.npz`` was meant, when that file exists), a folder
    IsADirectoryError, a special file such as a FIFO OSError, before it is opened (see
    :func:`~dezero.atomic.readable_path`), and a file that is not an ``.npz`` archive
    of plain arrays (or a damaged one) ValueError; the messages start with ``owner``
    and name ``path``.  An entry that is not an ``.npy`` array (which ``np.load``
    would give as raw bytes), one whose header claims more data than the entry holds,
    and two entries of one name are refused too, naming the entry.  The entry that
    the book's ``save_weights`` writes for a parameter with no data yet (a 0-d array
    holding None) is left out, as dezero's own files leave such a parameter out; any
    other array of Python objects is refused, naming the entry, as reading it would
    mean unpickling.  A file that starts neither as a zip archive nor as an ``.npy``
    array is refused without being parsed, so that NumPy never takes it for a pickle.
    An error of opening the file (no permission, say) keeps its type and errno, its
    message naming ``owner`` and ``path``; other errors of reading it (EIO) pass
    through as they are.

    The archive is found as zipfile and ``np.load`` find it, from the end of the file,
    and must begin where reading starts: a file holding other bytes before it, such
    as archives appended one after another (of which the last would be found), raises
    ValueError saying to save each archive into a file of its own.

    ``check``, when given, is called with the entries' :class:`_Header` (a dict, name
    -> _Header) before the data of any entry is read, and raises to refuse the file:
    an entry far larger than anything the caller takes is then refused without being
    decompressed or allocated.  ``text_entry`` names the entry of JSON text, if any,
    whose header may claim at most :data:`MAX_TEXT_BYTES` (ValueError otherwise).

    ``path`` may also be a binary file object open for reading that can seek
    (``io.BytesIO``, ``open(name, 'rb')``), as ``np.load`` takes; the archive must
    begin at its current position and be the last in it.  The file is left open: at
    its end after a successful read, where it stood after a failed one.  One that
    lacks a method that reading a zip archive needs raises TypeError (see
    :func:`~dezero.atomic.readable_file`), and one standing at its end (just written
    into, not yet sought back) ValueError saying to call ``f.seek(0)`` first."""
    if is_file_object(path):
        with _rewound_on_error(path, owner) as f:
            arrays = _read_arrays(f, owner, file_object_name(path), check, text_entry)
            f.seek(0, os.SEEK_END)
            return arrays
    path = file_path(path, owner)
    path = readable_path(path, owner, _npz_hint(path))
    try:
        f = open(path, 'rb')
    except OSError as e:  # no permission to read it, say
        raise _unreadable(owner, path, e) from None
    with f:
        return _read_arrays(f, owner, path, check, text_entry)


@contextlib.contextmanager
def _rewound_on_error(path, owner):
    """For a file object ``path``: check it as :func:`read_npz` does, give it to the
    block, and seek it back to where it stands now if the block raises, so that a
    failed read leaves it as it was.  For a path: nothing to do (None is given)."""
    if not is_file_object(path):
        yield None
        return
    f = readable_file(path, owner)
    start = f.tell()
    try:
        yield f
    except BaseException:
        f.seek(start)
        raise


def _read_arrays(f, owner, path, check, text_entry):
    """The arrays of the ``.npz`` archive that begins at the current position of the
    binary file ``f``, for :func:`read_npz`; ``path`` names it in errors."""
    start = f.tell()
    head = f.read(len(_NPY_MAGIC))
    if not head and start > 0:
        raise ValueError(
            f'{owner}: nothing is left to read from {path} at its current position (byte '
            f'{start}, its end); if the archive was just written into it, call f.seek(0) '
            f'(or seek to where the archive starts) first'
        )
    if not head.startswith(_NPZ_MAGICS):
        raise ValueError(
            f'{owner}: cannot read {path} as an .npz archive: the file is not an .npz '
            f'archive (it does not start as a zip file)'
        )
    if head.startswith(_NPY_MAGIC):
        raise ValueError(f'{owner}: {path} holds a single .npy array, not an .npz archive')
    with _reading(owner, path):
        archive = zipfile.ZipFile(f)
    with archive:
        _check_archive_start(archive, start, owner, path)
        entries = _entries(archive, owner, path)
        headers = {name: header for name, (_, header, _) in entries.items()}
        if text_entry in headers:
            _check_text(headers[text_entry], text_entry, owner, path)
        if check is not None:
            check(headers)
        arrays = {}
        for name, (info, header, where) in entries.items():
            with _reading(owner, path):
                arrays[name] = _read_data(archive, info, header, where)
    return arrays


def _check_archive_start(archive, start, owner, path):
    """Refuse the ``archive`` that zipfile found in the file ``path`` unless it begins
    at byte ``start``, where reading started.  zipfile finds an archive from the end of
    its file, so in a file of archives appended one after another it finds the last;
    where each of the others ends can be told for certain only from the end of a file.
    An archive begins with its first entry or, when it has none, with its central
    directory, whose places zipfile gives from the start of the file
    (``header_offset``, ``start_dir``): it adds the bytes it finds before the archive
    to the offsets that the archive records."""
    begins = min((info.header_offset for info in archive.infolist()), default=archive.start_dir)
    # records that put an entry before the file's start are damage, which reading says
    if 0 <= begins < start:
        raise ValueError(
            f'{owner}: cannot read {path} from byte {start}, inside the .npz archive that '
            f'begins at byte {begins}; seek to where the archive begins first'
        )
    if begins > start:
        where = 'its start' if start == 0 else f'its position when reading started (byte {start})'
        raise ValueError(
            f'{owner}: cannot read {path}: it holds {begins - start} bytes at {where} before '
            f'the .npz archive at its end, the one a zip reader finds (another archive, '
            f'say); archives appended one after another cannot be read back; save each '
            f'into a file or stream of its own'
        )


def _check_text(header, name, owner, path):
    """Refuse the entry ``name`` of JSON text when its :class:`_Header` claims more
    than :data:`MAX_TEXT_BYTES`."""
    if header.nbytes > MAX_TEXT_BYTES:
        raise ValueError(
            f'{owner}: the entry {name!r} of {path} claims {header.nbytes} bytes (shape '
            f'{header.shape}, dtype {header.dtype}), more than the JSON text of settings '
            f'that it holds may take (at most {MAX_TEXT_BYTES} bytes); the file is damaged'
        )


@contextlib.contextmanager
def _reading(owner, path):
    """Turn the errors of reading the archive ``path`` (those of zipfile, of its
    decompressors and of NumPy's ``.npy`` format) into the ValueError that it is
    damaged; an OSError with an errno is a real error of reading the file (EIO, say),
    which passes through as it is, except EINVAL: a seek before its start, where a
    damaged record points."""
    try:
        yield
    except OSError as e:
        if e.errno not in (None, errno.EINVAL):
            raise
        raise _damaged(owner, path, e) from None
    except Exception as e:
        raise _damaged(owner, path, e) from None


def _entries(archive, owner, path):
    """``{name: (ZipInfo, _Header, where)}`` for the entries of the open
    ``archive``, from their headers alone, as NumPy names them (``'W.npy'`` as
    ``'W'``), ``where`` being the offset of the data in the entry and whether they are
    in Fortran order; the entry the book writes for a parameter without data is left
    out, and what no reader takes is refused (see :func:`read_npz`)."""
    infos = archive.infolist()
    names = [info.filename.removesuffix('.npy') for info in infos]
    seen = set()
    for name in names:
        if name in seen:  # a zip archive may hold two entries of one name
            raise ValueError(
                f'{owner}: cannot read {path} as an .npz archive: it holds the entry '
                f'{name!r} more than once'
            )
        seen.add(name)
    entries = {}
    for name, info in zip(names, infos):
        with _reading(owner, path), archive.open(info.filename) as entry:
            shape, fortran, dtype = _header(entry)
            offset = entry.tell()  # where the data start
            unset = dtype is not None and _holds_none(entry, shape, dtype)
        if dtype is None:
            raise ValueError(
                f'{owner}: cannot read {path} as an .npz archive: its entry {name!r} is '
                f'not an array in the .npy format'
            )
        if unset:  # the book's parameter without data
            continue
        if dtype.hasobject:
            raise ValueError(
                f'{owner}: cannot read the entry {name!r} of {path}: it holds Python '
                f'objects, which would have to be unpickled; expected an array of numbers'
            )
        header = _Header(shape, dtype)
        if offset + header.nbytes > info.file_size:
            raise ValueError(
                f'{owner}: cannot read {path} as an .npz archive: its entry {name!r} claims '
                f'an array of shape {shape} and dtype {dtype} ({header.nbytes} bytes) but '
                f'holds {info.file_size - offset} bytes of data'
            )
        entries[name] = (info, header, (offset, fortran))
    return entries


def _header(entry):
    """``(shape, fortran_order, dtype)`` from the ``.npy`` header at the start of the
    open file ``entry``, which is left just after it; ``((), False, None)`` for an
    entry that is no ``.npy`` array.  A header of version 3 differs from one of
    version 2 only in being UTF-8, which matters for the names of fields alone."""
    try:
        version = np.lib.format.read_magic(entry)
    except ValueError:  # not an .npy array: refused by name (see _entries)
        return (), False, None
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(entry)
    if version in ((2, 0), (3, 0)):
        return np.lib.format.read_array_header_2_0(entry)
    raise ValueError(f'an .npy array of format version {version[0]}.{version[1]}')


def _read_data(archive, info, header, where):
    """The array of the entry ``info`` of the open ``archive``, whose header
    (:class:`_Header`) was checked; ``where``: the offset of its data in the entry and
    whether it is in Fortran order.  Read in chunks into the array, as NumPy reads
    an ``.npy`` file that is not on disk."""
    offset, fortran = where
    array = np.empty(header.shape[::-1] if fortran else header.shape, header.dtype)
    if array.nbytes:
        data = memoryview(array.reshape(-1).view(np.uint8))
        with archive.open(info.filename) as entry:
            entry.seek(offset)
            done = 0
            while done < len(data):
                count = entry.readinto(data[done : done + _CHUNK])
                if not count:
                    raise EOFError(f'the data of {info.filename} end after {done} bytes')
                done += count
    return array.T if fortran else array


#: The most bytes read from a compressed entry at once.
_CHUNK = 1 << 20


def _holds_none(entry, shape, dtype):
    """Whether the entry ``entry`` (an open file just after its ``.npy`` header, of
    ``shape`` and ``dtype``), an array of Python objects, is a 0-d array holding None,
    which the book's ``save_weights`` writes for a parameter with no data yet, told
    from its bytes alone: they must be one of the pickles NumPy writes for
    ``np.array(None, dtype=object)`` (see :data:`_NONE_PICKLES`).  Nothing is
    unpickled: even a pickle of NumPy dtypes and arrays alone can make NumPy take
    bytes of the file for pointers to objects."""
    if shape != () or dtype != np.dtype(object):
        return False
    pickled = entry.read(_PICKLE_LIMIT + 1)
    return len(pickled) <= _PICKLE_LIMIT and _opcodes(pickled) in _NONE_PICKLES


def _opcodes(pickled):
    """The opcodes of the pickle ``pickled`` with their arguments, as a tuple of (name,
    argument) pairs that ``pickletools.genops`` reads, running nothing; None when
    ``pickled`` is not one whole pickle.  What differs between the pickles of one
    object by NumPy 1 and 2 is made alike: the length of the frame (checked to hold
    the rest), the module of ``_reconstruct`` (``numpy.core`` became ``numpy._core``),
    False and True, which older NumPy wrote as 0 and 1 in a dtype's arguments, and the
    object dtype's name, ``O4`` on a 32-bit NumPy and ``O8`` on a 64-bit one."""
    ops, pos = [], -1
    try:
        for op, arg, pos in pickletools.genops(pickled):
            name = op.name
            if name == 'FRAME':  # the one frame holds the rest (after its 9 bytes)
                arg = arg == len(pickled) - pos - 9
            elif name in ('NEWFALSE', 'NEWTRUE'):
                name, arg = 'BININT1', int(name == 'NEWTRUE')
            elif arg == 'O4':  # the object dtype of a 32-bit NumPy (pointers of 4 bytes)
                arg = 'O8'
            elif isinstance(arg, str):
                arg = arg.replace('numpy._core.multiarray', 'numpy.core.multiarray')
            ops.append((name, arg))
    except ValueError:  # not a pickle, or a damaged one
        return None
    return tuple(ops) if pos == len(pickled) - 1 else None  # STOP ends the entry


#: The opcodes (see :func:`_opcodes`) of the pickles that NumPy writes for the book's
#: entry of a parameter with no data, ``np.array(None, dtype=object)``, in every
#: protocol from 2 on (NumPy has written 2, 3 and 4).
_NONE_PICKLES = frozenset(
    _opcodes(pickle.dumps(np.array(None, dtype=object), protocol=protocol))
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1)
)

#: The most bytes read of an entry that may be such a pickle (they take about 200).
_PICKLE_LIMIT = 4096


def _unreadable(owner, path, e):
    """The OSError ``e`` of opening or reading ``path`` again, of its type and errno,
    its message naming ``owner`` and ``path``."""
    kind = type(e) if type(e).__module__ == 'builtins' else OSError
    error = kind(f'{owner}: cannot read {path}: {e.strerror or e}')
    error.errno = e.errno
    return error


def size_check(max_values, text_entry, owner, source):
    """A ``check`` for :func:`read_npz` refusing, before any data is read, an entry
    whose data take more bytes than ``max_values`` values of the widest number NumPy
    has (a ``clongdouble``): more than any array that the reader takes can hold, when
    ``max_values`` is the size of the largest (a parameter's, say).  The entry named
    ``text_entry``, of JSON text, is left out: :func:`read_npz` bounds it on its own."""
    max_values = max(max_values, 1)
    most = max_values * _WIDEST_NUMBER

    def check(headers):
        for name, header in headers.items():
            if name != text_entry and header.nbytes > most:
                raise ValueError(
                    f'{owner}: the entry {name!r} of {shown(source)} claims '
                    f'{header.nbytes} bytes (shape {header.shape}, dtype {header.dtype}), '
                    f'more than any array read from it may take (at most {most} bytes, '
                    f'{max_values} values); it was saved for another model, or is damaged'
                )

    return check


#: The bytes of the widest number NumPy holds, a complex of two long doubles.
_WIDEST_NUMBER = np.dtype(np.clongdouble).itemsize


def state_check(named, owner, source):
    """The ``check`` of :func:`read_npz` for a file of optimizer state for the
    parameters ``named`` ((path, Parameter) pairs; see :func:`size_check`): no entry
    but ``'__optimizer__'`` may be larger than the largest parameter that has data,
    and an entry for one that has none yet (a layer never called; entries are named
    ``<parameter path>/<state name>``) is refused by its name, before any is read."""
    lazy = [path for path, param in named if param.data is None]
    largest = max((param.data.size for _, param in named if param.data is not None), default=1)
    bounded = size_check(largest, '__optimizer__', owner, source)

    def check(headers):
        for name in headers:
            for path in lazy:
                if name.startswith(path + '/'):
                    raise ValueError(
                        f'{owner}: the parameter {path!r} has no data yet (a layer never '
                        f'called); load the weights or run the model once before the state'
                    )
        bounded(headers)

    return check


def shown(path):
    """``path`` as error messages name it: a file object by its file's name, or as
    ``the BytesIO file object`` when it has none; a path as it is."""
    return file_object_name(path) if is_file_object(path) else path


def npz_beside(path):
    """``path + '.npz'``, the file that ``np.savez`` and ``save_weights`` write for
    ``path``, when ``path`` (a str, bytes or path-like object) lacks ``.npz`` and that
    file exists; else None."""
    text = os.fsdecode(os.fspath(path))
    if text.endswith('.npz') or not os.path.isfile(text + '.npz'):
        return None
    return text + '.npz'


def _npz_hint(path):
    """``'; did you mean <path>.npz? ...'`` when ``path`` lacks the ``.npz`` that
    save_weights adds and ``<path>.npz`` is a file; else ``''``."""
    beside = npz_beside(path)
    if beside is None:
        return ''
    return f'; did you mean {beside}? (np.savez and save_weights add .npz to a path without it)'


def _damaged(owner, path, e):
    """The ValueError saying that ``owner`` cannot read ``path`` as an archive, and why."""
    return ValueError(f'{owner}: cannot read {path} as an .npz archive ({type(e).__name__}: {e})')


def _method(model, name):
    """The method ``name`` of the class of ``model``, to call with ``model`` first, or
    None.  It is looked up on the class, so that data a layer keeps under that name
    (a layer written for the book may hold ``self.hyperparameters = {...}``, a name
    the book's Layer has no method for) does not hide it."""
    return getattr(type(model), name, None)


def named_params(model, owner):
    """``model.named_params()`` as a list of (path, Parameter), refusing a model that
    has no named_params() and two parameters with one path (dict keys 1 and '1' side
    by side, say), since a file keys the arrays by path."""
    named = _method(model, 'named_params')
    if not callable(named):
        raise TypeError(
            f'{owner}: the arrays are keyed by parameter paths, so the model must have '
            f'named_params() (a Layer or Model); got {type(model).__name__}'
        )
    return _one_param_per_path(named(model), owner)


def param_paths(model, owner):
    """``{id(parameter): (parameter, paths)}`` for the parameters of ``model``, in the
    order of named_params(), ``paths`` being every path by which the model reaches the
    parameter, its named_params() path first: a parameter shared by several layers or
    attributes (tied weights) has several, as the book's weight files name it under
    each (see :meth:`dezero.layers.Layer._param_paths`).  A model without
    ``_param_paths()`` gives one path per parameter.  Two parameters with one path
    are refused, as by :func:`named_params`."""
    every = _method(model, '_param_paths')
    if every is None:
        pairs = named_params(model, owner)
    else:
        pairs = _one_param_per_path(every(model), owner)
    found = {}
    for path, param in pairs:
        entry = found.setdefault(id(param), (param, []))
        if path not in entry[1]:
            entry[1].append(path)
    return found


#: The most paths a weights file may name per parameter, on average: layers that hold
#: links to each other (``self.prev``, ``self.next``) give every parameter a path through each
#: link, as many as the layers or, through two attributes holding one layer at every
#: level, twice as many at each level.
MAX_PATHS_PER_PARAM = 64


def _one_param_per_path(pairs, owner):
    """``pairs`` ((path, Parameter)) as a list, refusing two parameters with one
    path, and more than :data:`MAX_PATHS_PER_PARAM` paths per parameter on average
    (and more than 1,000 in all; counted as they come, so that an exponential number
    of them is refused at once); a parameter met again under one of its paths is
    kept."""
    checked, held, params = [], {}, set()
    for path, param in pairs:
        if held.setdefault(path, param) is not param:
            raise ValueError(
                f'{owner}: two parameters have the path {path!r}; rename the attribute '
                f'or dict key that repeats it'
            )
        checked.append((path, param))
        params.add(id(param))
        if len(checked) > max(MAX_PATHS_PER_PARAM * len(params), 1000):
            raise ValueError(
                f'{owner}: the model reaches its parameters by more than '
                f'{MAX_PATHS_PER_PARAM} paths each ({len(checked)} paths to '
                f'{len(params)} parameters so far, {path!r} among them): its layers hold '
                f'links to each other; hold such a link as weakref.ref(layer), which is '
                f'not a member, so that each layer has few paths'
            )
    return checked


def weight_arrays(model, owner):
    """``{parameter path: NumPy array}`` of the parameters of ``model`` that have data
    (a lazy layer never called has none), as a weights file holds them: a shared
    parameter under each of its paths (:func:`param_paths`), as the book writes it; GPU
    arrays are copied to the CPU, NumPy ones are the parameters' own."""
    arrays = {}
    for param, paths in param_paths(model, owner).values():
        if param.data is not None:
            array = cuda.as_numpy(param.data)
            arrays.update((path, array) for path in paths)
    return arrays


def read_weights(model, owner, path):
    """:func:`planned_weights` of the ``.npz`` file at ``path`` (a path or a file
    object, as :func:`read_npz` takes) for ``model``: every entry's shape and dtype,
    told by its header, is checked against the model before the data of any entry is
    read, so that a small file claiming a huge array is refused without that array
    being decompressed or allocated.  A file object that fails any check is sought
    back to where it stood (see :func:`read_npz`)."""
    source = shown(path)
    with _rewound_on_error(path, owner):
        stored = read_npz(path, owner, lambda headers: _weight_plan(model, headers, owner, source))
        return planned_weights(model, stored, owner, path)


def planned_weights(model, stored, owner, path):
    """``[(param, array)]``: what each parameter of ``model`` is to receive from
    ``stored`` (parameter path -> array, read from the file ``path``), checked before
    anything changes.

    A parameter shared by several layers or attributes may have an entry under any of
    its paths (the book writes one under each, :func:`weight_arrays` too), which must
    then hold equal arrays.  A parameter the file lacks, an array the model has no
    parameter for, entries of one parameter that differ, a shape that differs or an
    array that is not of numbers raises ValueError, and so does an array of complex
    numbers for a parameter of real numbers (the imaginary parts would be lost).
    Initialised parameters get copies cast to their dtype.  A parameter with no data
    yet (a lazy layer never called) that its layer describes in
    :meth:`~dezero.layers.Layer.param_specs` gets a copy cast to the dtype planned
    for it, once the shape fits the plan (the lengths named alike in one layer equal);
    such a layer's described parameters come from the file all together or not at
    all.  Any other parameter with no data takes a copy of the file's array.  A
    parameter with no data that the file lacks stays without data.  A cast that would
    change a value raises ValueError (see :func:`_cast`): a finite value that would
    become infinite (1e39 into float32), and, into integers or booleans, a value the
    dtype does not hold exactly (2.7, NaN or 300 into int8, 0.5 into bool).

    Last, a model with ``_fit_planned`` (a Layer) lets each of its layers check, and
    perhaps cast, the arrays of its own parameters (see
    :meth:`~dezero.layers.Layer._fit_loaded`: a BatchNorm refuses a negative or NaN
    ``avg_var``), so that every reader of weights (``load_weights``, a Trainer's
    Checkpoint) applies the same checks."""
    path = shown(path)
    planned = []
    for param, name, keys, dtype in _weight_plan(model, stored, owner, path):
        array = _entry(stored, keys, owner, path)
        cast = array.copy() if dtype is None else _cast(array, dtype, name, owner, path)
        planned.append((param, cast))
    fit = _method(model, '_fit_planned')
    return planned if fit is None else fit(model, planned, owner, path)


def _weight_plan(model, entries, owner, path):
    """``[(param, name, keys, dtype)]`` for the parameters of ``model`` that the file
    ``path`` has entries for: the parameter's path, the keys of its entries in
    ``entries`` (name -> an array or a :class:`_Header`, of which the shape and dtype
    alone are looked at) and the dtype its array is cast to (None: it takes the array
    as it is); after every check of :func:`planned_weights` that needs no values."""
    specs = lazy_specs(model)
    lengths = {}  # (id(layer), length name) -> (length, the path of the array that set it)
    loaded, left = {}, {}  # id(layer) -> the paths of its described parameters
    unknown = dict.fromkeys(entries)
    plan = []
    lazy = False  # whether the model has a parameter with no data yet
    for param, paths in param_paths(model, owner).values():
        name = paths[0]
        lazy = lazy or param.data is None
        keys = [key for key in paths if key in entries]
        spec = specs.get(id(param))
        if spec is not None:
            (loaded if keys else left).setdefault(id(spec[0]), []).append(name)
        if not keys:
            if param.data is None:
                continue
            raise ValueError(
                f'{owner}: {path} has no entry for the parameter {name!r} (shape '
                f'{param.data.shape}); it was saved for another model'
            )
        # every entry is checked, by its own key; the first decides a lazy parameter's dtype
        dtypes = [_planned_dtype(param, spec, entries[k], k, lengths, owner, path) for k in keys]
        plan.append((param, name, keys, dtypes[0]))
        for key in keys:
            del unknown[key]
    if unknown:
        raise ValueError(
            f'{owner}: {path} has entries for which the model has no parameter: '
            f'{", ".join(repr(k) for k in unknown)}; {_why_unknown(model, lazy)}'
        )
    for layer_id, names in loaded.items():
        if layer_id in left:
            raise ValueError(
                f'{owner}: {path} holds {", ".join(map(repr, names))} but not '
                f'{", ".join(map(repr, left[layer_id]))}; the parameters of a layer not '
                f'called yet are created together, so the file must hold all or none'
            )
    return plan


def _why_unknown(model, lazy):
    """Why ``model`` may have no parameter for some entries of a file, for a message:
    a model that was never called (a Layer called keeps ``outputs``) or that has
    parameters with no data yet (``lazy``) may create them in forward; else the file
    was saved for another model."""
    if lazy or 'outputs' not in getattr(model, '__dict__', {'outputs': None}):
        state = 'has parameters not created yet' if lazy else 'has not been called yet'
        return (
            f'the model {state}, and the parameters that forward creates exist only '
            f'after the call that creates them: call the model once on a batch before '
            f'loading; otherwise, the file was saved for another model'
        )
    return 'it was saved for another model'


def _planned_dtype(param, spec, entry, name, lengths, owner, path):
    """The dtype that the file's ``entry`` (an array or a :class:`_Header`) for
    ``param`` is cast to, None for a parameter without data that its layer does not
    describe (``spec``, see :func:`lazy_specs`), which takes the array as it is; after
    checking the entry's shape and dtype.  ``name``, the entry's key (one of the
    parameter's paths), names it in errors."""
    if entry.dtype.kind not in 'biufc':
        raise ValueError(
            f'{owner}: the entry for the parameter {name!r} in {path} has dtype '
            f'{entry.dtype}; expected real or complex numbers'
        )
    if param.data is not None:
        if entry.shape != param.data.shape:
            raise ValueError(
                f'{owner}: the parameter {name!r} has shape {param.data.shape} but '
                f'{path} holds shape {entry.shape} for it; it was saved for another model'
            )
        dtype = np.dtype(param.data.dtype)
    elif spec is not None:
        layer, shape, dtype = spec
        _check_planned_shape(entry, shape, lengths, layer, name, owner, path)
        if dtype is None:  # any floating-point dtype: integers become float32
            dtype = entry.dtype if entry.dtype.kind == 'f' else np.float32
        dtype = np.dtype(dtype)
    else:
        return None
    if entry.dtype.kind == 'c' and dtype.kind != 'c':
        raise ValueError(
            f'{owner}: the entry for the parameter {name!r} in {path} holds complex '
            f'numbers ({entry.dtype}) but the parameter holds real ones ({dtype}): their '
            f'imaginary parts would be lost'
        )
    return dtype


def _entry(stored, keys, owner, path):
    """The array that ``stored`` (read from the file ``path``) holds under ``keys``,
    the paths of one parameter, whose arrays must be equal (ValueError naming two
    that differ)."""
    key, array = keys[0], stored[keys[0]]
    for other in keys[1:]:
        if not _equal_arrays(array, stored[other]):
            raise ValueError(
                f'{owner}: {path} holds different arrays under {key!r} and {other!r}, '
                f'which name one parameter of the model (shared by several layers or '
                f'attributes); it was saved for another model, where they are two'
            )
    return array


def _equal_arrays(a, b):
    """Whether the arrays of numbers ``a`` and ``b`` hold the same numbers, in one
    shape (NaN equal to NaN)."""
    nan = a.dtype.kind in 'fc' or b.dtype.kind in 'fc'
    return bool(np.array_equal(a, b, equal_nan=nan))


def lazy_specs(model):
    """``{id(parameter): (layer, shape, dtype)}`` for the parameters of ``model``
    that have no data yet and that their layer describes in its ``param_specs()``
    (see :meth:`dezero.layers.Layer.param_specs`); empty for a model without
    ``_lazy_specs()``."""
    collect = _method(model, '_lazy_specs')
    return {} if collect is None else collect(model)


def _shape_text(shape):
    """A planned shape as shown in messages: ``(in, 4)``, ``(channels,)``."""
    items = [str(n) for n in shape]
    return f'({items[0]},)' if len(items) == 1 else f'({", ".join(items)})'


def _check_planned_shape(array, shape, lengths, layer, name, owner, path):
    """Raise ValueError unless ``array`` (for the parameter ``name``) has the planned
    ``shape``: its ints as they are, its names (``'in'``) any positive length, the same
    for every array of ``layer`` that names it (``lengths`` records them)."""
    if array.ndim != len(shape):
        _refuse_shape(array, shape, layer, name, owner, path)
    for want, got in zip(shape, array.shape):
        if not isinstance(want, str):
            if want != got:
                _refuse_shape(array, shape, layer, name, owner, path)
            continue
        if got < 1:
            _refuse_shape(array, shape, layer, name, owner, path, f' with {want} at least 1,')
        length, first = lengths.setdefault((id(layer), want), (got, name))
        if length != got:
            why = f' with {want} = {length} as in {first!r},'
            _refuse_shape(array, shape, layer, name, owner, path, why)


def _refuse_shape(array, shape, layer, name, owner, path, why=''):
    """Raise the ValueError saying that ``array`` does not have the ``shape`` that
    ``layer``'s param_specs() plans (``why``: what else it breaks, if anything).  A
    layer of a class of one's own that inherits param_specs() may keep the parameter
    in another shape: the message then names where the shape comes from."""
    cls = type(layer)
    source = next((k for k in cls.__mro__ if 'param_specs' in vars(k)), cls)
    if source is cls or cls.__module__.startswith('dezero.'):
        cause = 'it was saved for another model'
    else:
        cause = (
            f'{cls.__name__} has that shape from the param_specs() it inherits from '
            f'{source.__name__}: if it keeps the parameter in another shape, override '
            f'param_specs() in {cls.__name__} to describe it; otherwise, the file was '
            f'saved for another model'
        )
    raise ValueError(
        f'{owner}: the parameter {name!r} (not created yet) expects shape '
        f'{_shape_text(shape)}{why} but {path} holds shape {array.shape} for it; {cause}'
    )


def _cast(array, dtype, name, owner, path):
    """A copy of ``array`` (the file's entry for the parameter ``name``) in ``dtype``;
    ValueError when the cast would change a value: turn a finite value into infinity,
    as 1e39 becomes in float32 (in a complex dtype, a real or an imaginary part), or,
    into integers or booleans, a value that ``dtype`` does not hold exactly (2.7, NaN,
    1e20 or 300 into int8, -1 into uint8, 0.5 into bool)."""
    dtype = np.dtype(dtype)
    if dtype.kind == 'c':  # each part as a float of the parts' precision
        for part in (array.real, array.imag):
            _cast(part, np.finfo(dtype).dtype, name, owner, path)
        return array.astype(dtype)
    if dtype.kind in 'biu':
        where = _not_held(array, dtype)
        if where is not None:
            if dtype.kind == 'b':
                held = 'only 0 and 1'
            else:
                held = f'integers from {np.iinfo(dtype).min} to {np.iinfo(dtype).max}'
            raise ValueError(
                f'{owner}: the entry for the parameter {name!r} in {path} holds '
                f'{np.count_nonzero(where)} value(s) that {dtype} cannot hold exactly '
                f'(the first: {array[where][0].item()!r}); {dtype} holds {held}'
            )
        return array.astype(dtype)
    cast, overflow = cast_with_overflow(array, dtype)
    if overflow is not None:
        raise ValueError(
            f'{owner}: the entry for the parameter {name!r} in {path} holds '
            f'{np.count_nonzero(overflow)} value(s) too large for {cast.dtype} (up to '
            f'{np.abs(array[overflow]).max():g}): cast to {cast.dtype} they would '
            f'become infinite'
        )
    return cast


def _not_held(array, dtype):
    """Where the array ``array`` of real numbers holds a value that the integer or
    bool ``dtype`` cannot hold exactly, as a bool array; None when nowhere."""
    kind = array.dtype.kind
    if kind == 'b':
        return None
    if dtype.kind == 'b':
        where = (array != 0) & (array != 1)
    elif kind in 'iu':  # the bounds of dtype that the array's own dtype holds
        wanted, own = np.iinfo(dtype), np.iinfo(array.dtype)
        low = np.array(max(wanted.min, own.min), array.dtype)
        high = np.array(min(wanted.max, own.max), array.dtype)
        where = (array < low) | (array > high)
    else:  # floats: integral and in range; the bounds are powers of two, held exactly
        wanted = np.iinfo(dtype)
        low, high = np.float64(wanted.min), np.float64(wanted.max + 1)
        where = ~((array >= low) & (array < high) & (np.trunc(array) == array))
    return where if where.any() else None


def assign_weights(planned, new_on_gpu=False):
    """Give each parameter of ``planned`` (from :func:`planned_weights`) its array, on
    the device the parameter is on; a parameter with no data yet goes to the GPU with
    ``new_on_gpu`` and stays on the CPU otherwise."""
    for param, array in planned:
        on_gpu = new_on_gpu if param.data is None else cuda.is_gpu_array(param.data)
        param.data = cuda.as_cupy(array) if on_gpu else array


def json_array(value):
    """``value`` (dicts, lists, numbers, strings) as JSON text in a 0-d string array."""
    return np.array(json.dumps(value))


def read_json(arrays, key, expected, owner, source):
    """Take the JSON text ``arrays[key]`` out of ``arrays`` and return it decoded,
    after checking that its ``format`` and ``version`` are those of ``expected`` (a
    dict of the two), which are left out of the result.  Text that is not JSON, or
    is nested too deeply to decode, raises ValueError naming ``owner`` and ``source``."""
    array = arrays.pop(key, None)
    if array is None:
        raise ValueError(
            f'{owner}: {source} is not a file of {expected["format"]} (it has no {key!r} entry)'
        )
    if array.dtype.kind != 'U' or array.shape != ():
        raise ValueError(
            f'{owner}: {source} is not a file of {expected["format"]}: its {key!r} entry '
            f'is an array of dtype {array.dtype} and shape {array.shape}; expected JSON '
            f'text in a 0-d string array'
        )
    try:
        value = json.loads(str(array))
    except (ValueError, RecursionError) as e:  # RecursionError: lists nested too deep
        raise ValueError(f'{owner}: cannot read the {key!r} entry of {source} ({e})') from None
    if not isinstance(value, dict) or value.get('format') != expected['format']:
        raise ValueError(f'{owner}: {source} is not a file of {expected["format"]}')
    if value.get('version') != expected['version']:
        raise ValueError(
            f'{owner}: {source} is version {value.get("version")!r} of '
            f'{expected["format"]}; this dezero reads version {expected["version"]}'
        )
    return {k: v for k, v in value.items() if k not in expected}


def split_state(state):
    """An optimizer's ``state_dict()`` as ``(meta, arrays)``: the plain values, and
    the arrays flat under ``'<parameter path>/<state name>'``, as files hold them."""
    meta = {k: v for k, v in state.items() if k != 'state'}
    arrays = {
        f'{path}/{name}': array
        for path, named in state['state'].items()
        for name, array in named.items()
    }
    return meta, arrays


def join_state(meta, arrays, owner, source):
    """The inverse of :func:`split_state`."""
    state = {}
    for key, array in arrays.items():
        path, _, name = key.rpartition('/')
        if not path or not name:
            raise ValueError(
                f'{owner}: {source} holds an array named {key!r}; expected '
                f"'<parameter path>/<state name>'"
            )
        state.setdefault(path, {})[name] = array
    return {**meta, 'state': state}

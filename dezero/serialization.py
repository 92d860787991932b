"""Files of named arrays: how weights, optimizer state and checkpoints are written and
read back.

Every such file is an ``.npz`` archive of plain arrays (never pickled objects); the
settings that are not arrays travel as one JSON text in a 0-d string array.  Reading
checks everything against the model before anything is assigned, so a file that does
not fit raises an error naming the file and leaves the model as it was.  Writing goes
through :mod:`dezero.atomic`, so a file appears whole or not at all.
"""

import errno
import io
import json
import os
import pickle
import pickletools
import zipfile

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
                f"file) goes back to fill in sizes; open the file with 'wb' (or write "
                f'into io.BytesIO and append its bytes)'
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


def read_npz(path, owner):
    """Every array of the ``.npz`` file at ``path``, as a dict (name -> array).

    ``path`` is a str, bytes or path-like object, never an int (which ``open`` would
    take for a file descriptor).  A missing file raises FileNotFoundError (asking
    whether ``path`` + ``.npz`` was meant, when that file exists), a folder
    IsADirectoryError, a special file such as a FIFO OSError, before it is opened (see
    :func:`~dezero.atomic.readable_path`), and a file that is not an ``.npz`` archive
    of plain arrays (or a damaged one) ValueError; the messages start with ``owner``
    and name ``path``.  An entry that is not an ``.npy`` array (which ``np.load``
    would give as raw bytes) and two entries of one name are refused too, naming the
    entry.  The entry that the book's ``save_weights`` writes for a parameter with no
    data yet (a 0-d array holding None) is left out, as dezero's own files leave such a
    parameter out; any other array of Python objects is refused, naming the entry, as
    reading it would mean unpickling.  A file that starts neither as a zip archive nor as an ``.npy`` array is
    refused without being parsed, so that NumPy never takes it for a pickle.  Other
    errors of opening or reading the file (no permission, say) pass through as they
    are.

    ``path`` may also be a binary file object open for reading that can seek
    (``io.BytesIO``, ``open(name, 'rb')``), as ``np.load`` takes; the archive is read
    from its current position, and the file is left open.  One that lacks a method
    that reading a zip archive needs raises TypeError (see
    :func:`~dezero.atomic.readable_file`), and one standing at its end (just written
    into, not yet sought back) ValueError saying to call ``f.seek(0)`` first."""
    if is_file_object(path):
        return _read_arrays(readable_file(path, owner), owner, file_object_name(path))
    path = file_path(path, owner)
    with open(readable_path(path, owner, _npz_hint(path)), 'rb') as f:
        return _read_arrays(f, owner, path)


def _read_arrays(f, owner, path):
    """The arrays of the ``.npz`` archive in the binary file ``f`` (read from its
    current position), for :func:`read_npz`; ``path`` names it in errors."""
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
    f.seek(start)
    try:
        loaded = np.load(f, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            names = None
        else:
            with loaded:
                names = loaded.files
                arrays, unset, objects = {}, 0, None
                for name in names:
                    try:
                        arrays[name] = loaded[name]
                    except ValueError:  # NumPy unpickles no array of objects
                        if not _holds_objects(loaded, name):
                            raise
                        if _holds_none(loaded, name):  # the book's parameter without data
                            unset += 1
                        elif objects is None:
                            objects = name
    except OSError as e:
        # an errno is a real error of reading the file (EIO, say), except EINVAL:
        # a seek before its start, to where a damaged header points
        if e.errno not in (None, errno.EINVAL):
            raise
        raise _damaged(owner, path, e) from None
    except Exception as e:  # the many errors of zipfile, its decompressors and NumPy
        raise _damaged(owner, path, e) from None
    if names is None:
        raise ValueError(f'{owner}: {path} holds a single .npy array, not an .npz archive')
    if objects is not None:
        raise ValueError(
            f'{owner}: cannot read the entry {objects!r} of {path}: it holds Python '
            f'objects, which would have to be unpickled; expected an array of numbers'
        )
    if len(arrays) + unset != len(names):  # a zip archive may hold two entries of one name
        repeated = next(name for name in names if names.count(name) > 1)
        raise ValueError(
            f'{owner}: cannot read {path} as an .npz archive: it holds the entry '
            f'{repeated!r} more than once'
        )
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray):  # np.load gives such an entry's raw bytes
            raise ValueError(
                f'{owner}: cannot read {path} as an .npz archive: its entry {name!r} is '
                f'not an array in the .npy format'
            )
    return arrays


def _holds_objects(archive, name):
    """Whether the entry ``name`` of the opened ``.npz`` ``archive`` (an ``NpzFile``)
    is an array of Python objects, told from its ``.npy`` header alone.  The book's
    ``save_weights`` writes one, a 0-d array holding None, for a parameter that has no
    data yet (see :func:`_holds_none`): :func:`read_npz` leaves it out, as dezero's
    own files leave such a parameter out; any other is refused."""
    with _entry_file(archive, name) as entry:
        return _header(entry)[2] == np.dtype(object)


def _holds_none(archive, name):
    """Whether the entry ``name``, an array of Python objects, is a 0-d array holding
    None, told from its bytes alone: after the ``.npy`` header they must be one of the
    pickles NumPy writes for ``np.array(None, dtype=object)`` (see
    :data:`_NONE_PICKLES`).  Nothing is unpickled: even a pickle of NumPy dtypes and
    arrays alone can make NumPy take bytes of the file for pointers to objects."""
    with _entry_file(archive, name) as entry:
        shape, _, dtype = _header(entry)
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


def _entry_file(archive, name):
    """The open zip member of the entry ``name``, the one NumPy reads for it: a member
    of that very name, else ``name + '.npy'``."""
    names = archive.zip.namelist()
    return archive.zip.open(name if name in names else name + '.npy')


def _header(entry):
    """``(shape, fortran_order, dtype)`` from the ``.npy`` header at the start of the
    open file ``entry``, which is left just after it; ``((), False, None)`` for an
    entry that is no ``.npy`` array or has a header of a later version (which NumPy
    reads as it reads any other)."""
    try:
        version = np.lib.format.read_magic(entry)
    except ValueError:  # not an .npy array: refused once read (see _read_arrays)
        return (), False, None
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(entry)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(entry)
    return (), False, None


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


def named_params(model, owner):
    """``model.named_params()`` as a list of (path, Parameter), refusing a model that
    has no named_params() and two parameters with one path (dict keys 1 and '1' side
    by side, say), since a file keys the arrays by path."""
    named = getattr(model, 'named_params', None)
    if not callable(named):
        raise TypeError(
            f'{owner}: the arrays are keyed by parameter paths, so the model must have '
            f'named_params() (a Layer or Model); got {type(model).__name__}'
        )
    return _one_param_per_path(named(), owner)


def param_paths(model, owner):
    """``{id(parameter): (parameter, paths)}`` for the parameters of ``model``, in the
    order of named_params(), ``paths`` being every path by which the model reaches the
    parameter, its named_params() path first: a parameter shared by several layers or
    attributes (tied weights) has several, as the book's weight files name it under
    each (see :meth:`dezero.layers.Layer._param_paths`).  A model without
    ``_param_paths()`` gives one path per parameter.  Two parameters with one path
    are refused, as by :func:`named_params`."""
    every = getattr(model, '_param_paths', None)
    pairs = named_params(model, owner) if every is None else _one_param_per_path(every(), owner)
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


def planned_weights(model, stored, owner, path):
    """``[(param, array)]``: what each parameter of ``model`` is to receive from
    ``stored`` (parameter path -> array, read from the file ``path``), checked before
    anything changes.

    A parameter shared by several layers or attributes may have an entry under any of
    its paths (the book writes one under each, :func:`weight_arrays` too), which must
    then hold equal arrays.  A parameter the file lacks, an array the model has no
    parameter for, entries of one parameter that differ, a shape that differs or an
    array that is not of real numbers raises ValueError.  Initialised
    parameters get copies cast to their dtype.  A parameter with no data yet (a lazy
    layer never called) that its layer describes in
    :meth:`~dezero.layers.Layer.param_specs` gets a copy cast to the dtype planned
    for it, once the shape fits the plan (the lengths named alike in one layer equal);
    such a layer's described parameters come from the file all together or not at
    all.  Any other parameter with no data takes a copy of the file's array.  A
    parameter with no data that the file lacks stays without data.  A cast that would
    turn a finite value into infinity (1e39 into float32) raises ValueError.

    Last, a model with ``_fit_planned`` (a Layer) lets each of its layers check, and
    perhaps cast, the arrays of its own parameters (see
    :meth:`~dezero.layers.Layer._fit_loaded`: a BatchNorm refuses a negative or NaN
    ``avg_var``), so that every reader of weights (``load_weights``, a Trainer's
    Checkpoint) applies the same checks."""
    stored, path = dict(stored), shown(path)
    specs = lazy_specs(model)
    lengths = {}  # (id(layer), length name) -> (length, the path of the array that set it)
    loaded, left = {}, {}  # id(layer) -> the paths of its described parameters
    planned = []
    for param, paths in param_paths(model, owner).values():
        name = paths[0]
        array = _entry(stored, paths, owner, path)
        spec = specs.get(id(param))
        if spec is not None:
            (left if array is None else loaded).setdefault(id(spec[0]), []).append(name)
        if array is None:
            if param.data is None:
                continue
            raise ValueError(
                f'{owner}: {path} has no entry for the parameter {name!r} (shape '
                f'{param.data.shape}); it was saved for another model'
            )
        if array.dtype.kind not in 'biuf':
            raise ValueError(
                f'{owner}: the entry for the parameter {name!r} in {path} has dtype '
                f'{array.dtype}; expected real numbers'
            )
        if param.data is not None:
            if array.shape != param.data.shape:
                raise ValueError(
                    f'{owner}: the parameter {name!r} has shape {param.data.shape} but '
                    f'{path} holds shape {array.shape} for it; it was saved for another model'
                )
            dtype = param.data.dtype
        elif spec is not None:
            layer, shape, dtype = spec
            _check_planned_shape(array, shape, lengths, layer, name, owner, path)
            if dtype is None:  # any floating-point dtype: integers become float32
                dtype = array.dtype if array.dtype.kind == 'f' else np.dtype(np.float32)
        else:
            planned.append((param, array.copy()))
            continue
        planned.append((param, _cast(array, dtype, name, owner, path)))
    if stored:
        raise ValueError(
            f'{owner}: {path} has entries for which the model has no parameter: '
            f'{", ".join(repr(k) for k in stored)}; it was saved for another model'
        )
    for layer_id, names in loaded.items():
        if layer_id in left:
            raise ValueError(
                f'{owner}: {path} holds {", ".join(map(repr, names))} but not '
                f'{", ".join(map(repr, left[layer_id]))}; the parameters of a layer not '
                f'called yet are created together, so the file must hold all or none'
            )
    fit = getattr(model, '_fit_planned', None)
    return planned if fit is None else fit(planned, owner, path)


def _entry(stored, paths, owner, path):
    """The array that ``stored`` (read from the file ``path``) holds for the parameter
    reached by ``paths``, taken out of ``stored`` with its entries under the other
    paths, which must hold an equal array (ValueError naming both); None if it has
    none."""
    found = [(key, stored.pop(key)) for key in paths if key in stored]
    if not found:
        return None
    key, array = found[0]
    for other, copy in found[1:]:
        if not _equal_arrays(array, copy):
            raise ValueError(
                f'{owner}: {path} holds different arrays under {key!r} and {other!r}, '
                f'which name one parameter of the model (shared by several layers or '
                f'attributes); it was saved for another model, where they are two'
            )
    return array


def _equal_arrays(a, b):
    """Whether the arrays ``a`` and ``b`` hold the same real numbers, in one shape
    (NaN equal to NaN)."""
    if a.shape != b.shape or a.dtype.kind not in 'biuf' or b.dtype.kind not in 'biuf':
        return False
    nan = a.dtype.kind == 'f' or b.dtype.kind == 'f'
    return bool(np.array_equal(a, b, equal_nan=nan))


def lazy_specs(model):
    """``{id(parameter): (layer, shape, dtype)}`` for the parameters of ``model``
    that have no data yet and that their layer describes in its ``param_specs()``
    (see :meth:`dezero.layers.Layer.param_specs`); empty for a model without
    ``_lazy_specs()``."""
    collect = getattr(model, '_lazy_specs', None)
    return {} if collect is None else collect()


def _shape_text(shape):
    """A planned shape as shown in messages: ``(in, 4)``, ``(channels,)``."""
    items = [str(n) for n in shape]
    return f'({items[0]},)' if len(items) == 1 else f'({", ".join(items)})'


def _check_planned_shape(array, shape, lengths, layer, name, owner, path):
    """Raise ValueError unless ``array`` (for the parameter ``name``) has the planned
    ``shape``: its ints as they are, its names (``'in'``) any positive length, the same
    for every array of ``layer`` that names it (``lengths`` records them)."""
    if array.ndim != len(shape):
        _refuse_shape(array, shape, name, owner, path)
    for want, got in zip(shape, array.shape):
        if not isinstance(want, str):
            if want != got:
                _refuse_shape(array, shape, name, owner, path)
            continue
        if got < 1:
            _refuse_shape(array, shape, name, owner, path, f' with {want} at least 1,')
        length, first = lengths.setdefault((id(layer), want), (got, name))
        if length != got:
            _refuse_shape(
                array, shape, name, owner, path, f' with {want} = {length} as in {first!r},'
            )


def _refuse_shape(array, shape, name, owner, path, why=''):
    """Raise the ValueError saying that ``array`` does not have the planned ``shape``
    (``why``: what else it breaks, if anything)."""
    raise ValueError(
        f'{owner}: the parameter {name!r} (not created yet) expects shape '
        f'{_shape_text(shape)}{why} but {path} holds shape {array.shape} for it; it was '
        f'saved for another model'
    )


def _cast(array, dtype, name, owner, path):
    """A copy of ``array`` (the file's entry for the parameter ``name``) in ``dtype``;
    ValueError when the cast would turn a finite value into infinity, as 1e39 becomes in
    float32."""
    cast, overflow = cast_with_overflow(array, dtype)
    if overflow is not None:
        raise ValueError(
            f'{owner}: the entry for the parameter {name!r} in {path} holds '
            f'{np.count_nonzero(overflow)} value(s) too large for {cast.dtype} (up to '
            f'{np.abs(array[overflow]).max():g}): cast to {cast.dtype} they would '
            f'become infinite'
        )
    return cast


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

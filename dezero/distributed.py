"""Data-parallel training over MPI: every process holds a copy of the model, trains on
its own share of each batch, and the gradients are averaged before every update.

A script written for one process needs four changes::

    comm = distributed.init()                                   # rank and size
    loader = DataLoader(train_set, 100, seed=0, shard=comm)     # this process's share
    model(x_first_batch)                                        # create lazy weights
    distributed.broadcast_parameters(model)                     # everyone from rank 0
    optimizer = distributed.DistributedOptimizer(optimizers.SGD(lr=0.1)).setup(model)

and runs as ``mpiexec -n 4 python script.py``.  Run as ``python script.py`` it is one
process and trains as before.  A :class:`~dezero.Trainer` given a DistributedOptimizer
does the rest: it reduces its epoch figures over all processes, prints and writes files
(BestWeights, Checkpoint) on rank 0 only, and keeps the processes agreeing on when to
stop.  A loop of one's own gives the size of its share to every update, since the
shares of a batch may differ by one sample, or be empty (a batch smaller than the
number of processes), and updates in every process for every batch::

    for x, t in loader:
        model.cleargrads()
        if len(t):  # an empty share has no loss, and no gradients
            F.softmax_cross_entropy(model(x), t).backward()
        optimizer.update(batch_size=len(t))

Every update is a collective operation: all the processes must call it the same number
of times, so each must have the same number of batches (``shard=comm`` sees to it;
data shared out by hand, as ``x[rank::size]``, may not: the Trainer refuses loaders
of different lengths).  At every update the processes also compare their parameters'
shapes and their optimizers (class, hyperparameters with the learning rate of the
moment, step counts, hooks) and raise in every process when they differ; at the
first update, and again when parameters get data (a lazy layer first used later),
their weights.

mpi4py is imported by :func:`init` only, so importing this module costs nothing.  In a
run of several processes :func:`init` also makes an uncaught exception abort every
process (``MPI_Abort``), as ``python -m mpi4py`` does, so that an error on one process
ends the job instead of leaving the others waiting in a collective operation.
``sys.exit()`` is no uncaught exception: a process that leaves early that way leaves
the others waiting, unless the script's work runs inside :func:`abort_on_exit`, which
aborts the job on a non-zero exit status (or the script runs as ``python -m mpi4py
script.py``, which does the same).  Every process must call this module's functions in
the same order: one that some processes skip (``broadcast_parameters`` on rank 0 only)
meets another collective call of the others, and the job ends with the MPI library's
own error text (MPICH: ``Fatal error in internal_Allgather_c: Message truncated``) or
waits forever.

A model's BatchNorm layers keep running statistics that each process's forward pass
moves on its own share: :class:`DistributedOptimizer` averages them at every update
(weighted as the gradients are), so every process evaluates and saves the same ones.
The average of the means is that of the whole batch; the average of the variances
leaves out how the shares' means differ.  (PyTorch's DistributedDataParallel gives
every process rank 0's statistics instead.)
"""

import contextlib
import numbers
import os
import sys
import zlib

import numpy as np

from dezero import cuda
from dezero.core import Variable
from dezero.layers import Layer, running_statistics
from dezero.optimizers import Optimizer
from dezero.serialization import _method, named_params

#: Environment variables through which MPI launchers tell a process how many were
#: started (MPICH and Intel MPI, Open MPI, MVAPICH, PMIx).
SIZE_VARIABLES = ('PMI_SIZE', 'OMPI_COMM_WORLD_SIZE', 'MV2_COMM_WORLD_SIZE', 'PMIX_SIZE')

_INSTALL_HINT = 'pip install mpi4py mpich (or pip install -e ".[distributed]")'
_world = None  # the communicator init() made


def launched_size():
    """The number of processes the MPI launcher (mpiexec) says it started, from its
    environment variables; 1 when the program was not started by one."""
    for name in SIZE_VARIABLES:
        value = os.environ.get(name, '')
        if value.strip().isdigit() and int(value) > 0:
            return int(value)
    return 1


class Communicator:
    """The processes of one run: ``rank`` (0 .. size-1) and ``size``, and the few
    collective operations data parallelism needs.  Made by :func:`init`; ``comm`` is an
    ``mpi4py`` communicator, or None for a run of one process (every operation then
    returns its input)."""

    def __init__(self, comm=None):
        self.mpi_comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()

    def __repr__(self):
        return f'Communicator(rank={self.rank}, size={self.size})'

    def allreduce_sum(self, buffer):
        """Replace the NumPy array ``buffer`` (contiguous, the same shape and dtype in
        every process) by its sum over all processes, in place; returns it."""
        if self.mpi_comm is not None and self.size > 1:
            from mpi4py import MPI

            self.mpi_comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        return buffer

    def allgather_array(self, array):
        """The 1-d NumPy arrays of all processes (same length and dtype everywhere)
        stacked into one array of ``size`` rows, row r from rank r."""
        array = np.ascontiguousarray(array)
        if self.mpi_comm is None or self.size == 1:
            return array[None].copy()
        out = np.empty((self.size, *array.shape), array.dtype)
        self.mpi_comm.Allgather(array, out)
        return out

    def allgather(self, obj):
        """The list of ``obj`` of every process (any picklable object), in rank order."""
        if self.mpi_comm is None or self.size == 1:
            return [obj]
        return self.mpi_comm.allgather(obj)

    def bcast(self, obj, root=0):
        """Rank ``root``'s ``obj`` (any picklable object), in every process."""
        if self.mpi_comm is None or self.size == 1:
            return obj
        return self.mpi_comm.bcast(obj, root=root)

    def bcast_array(self, array, root=0):
        """Fill the NumPy array ``array`` (same shape and dtype in every process) with
        rank ``root``'s, in place; returns it."""
        if self.mpi_comm is not None and self.size > 1:
            self.mpi_comm.Bcast(array, root=root)
        return array


def init():
    """The communicator of this run (the same object on later calls): all the processes
    mpiexec started, or one process when the program runs on its own.

    Without mpi4py a program started alone gets a one-process communicator; one started
    by mpiexec with several processes (seen in its environment: ``PMI_SIZE``,
    ``OMPI_COMM_WORLD_SIZE``, ...) raises RuntimeError saying how to install mpi4py,
    as does mpi4py finding one process where the launcher started several (mpiexec of
    another MPI than mpi4py's)."""
    global _world
    if _world is not None:
        return _world
    expected = launched_size()
    try:
        from mpi4py import MPI
    except ImportError as e:
        if expected > 1:
            raise RuntimeError(
                f'dezero.distributed.init: this program was started by mpiexec as one of '
                f'{expected} processes, but mpi4py cannot be imported ({e}); {_INSTALL_HINT}'
            ) from None
        _world = Communicator(None)
        return _world
    world = Communicator(MPI.COMM_WORLD)
    if expected > 1 and world.size == 1:
        raise RuntimeError(
            f'dezero.distributed.init: mpiexec started {expected} processes, but MPI '
            f'sees one: the mpiexec used belongs to another MPI than the one mpi4py was '
            f'built with; run the mpiexec installed with mpi4py (e.g. the mpich package)'
        )
    if world.size > 1:
        _abort_on_uncaught_exceptions(MPI.COMM_WORLD)
    _world = world
    return world


def _abort_on_uncaught_exceptions(comm):
    """Make an uncaught exception print its traceback and abort all the processes."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.flush()
        comm.Abort(1)

    sys.excepthook = hook


@contextlib.contextmanager
def abort_on_exit():
    """Run the ``with`` block (a script's work) so that a ``sys.exit()`` with a non-zero
    status, or a ``SystemExit`` raised in it, ends every process of a run of several:
    it prints its message, as Python would, and aborts the job (``MPI_Abort`` with that
    status) instead of leaving the others waiting in a collective operation.  An exit
    with status 0, and any exit of a program run alone, goes on as usual.  Uncaught
    exceptions abort the job anyway (see :func:`init`)::

        if __name__ == '__main__':
            with distributed.abort_on_exit():
                sys.exit(main())
    """
    try:
        yield
    except SystemExit as leaving:
        code = leaving.code
        if code is None or code == 0 or launched_size() <= 1:
            raise
        try:
            world = init()  # (the exit may come before the script called it)
        except RuntimeError:
            raise leaving from None
        if world.mpi_comm is None or world.size <= 1:
            raise
        if not isinstance(code, int):  # a message: Python prints it and exits with 1
            print(code, file=sys.stderr)
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        world.mpi_comm.Abort(code)


def _communicator(comm, owner):
    """``comm``, or the run's communicator from :func:`init` when None."""
    if comm is None:
        return init()
    needed = (
        'rank',
        'size',
        'allgather',
        'bcast',
        'allgather_array',
        'allreduce_sum',
        'bcast_array',
    )
    if not all(hasattr(comm, name) for name in needed):
        raise TypeError(
            f'{owner}: comm must be a communicator from dezero.distributed.init(), got '
            f'{type(comm).__name__} (an mpi4py communicator is wrapped by init())'
        )
    return comm


def _raise_everywhere(comm, problem, owner):
    """Agree on whether any process met a problem (an exception or None); if one did,
    raise it in that process and an error of its kind naming its rank in the others, so
    that no process goes on to wait for the others in the next collective."""
    problems = comm.allgather(None if problem is None else (type(problem).__name__, str(problem)))
    if problem is not None:
        raise problem
    for rank, found in enumerate(problems):
        if found is not None:
            kind = {'ValueError': ValueError, 'TypeError': TypeError}.get(found[0], RuntimeError)
            raise kind(f'{owner}: rank {rank} failed: {found[1]}')


def broadcast_parameters(model, root=0, comm=None):
    """Give every process rank ``root``'s weights: each parameter of ``model`` gets a
    copy of the root's array, in place.  Call it once after building the model and
    before training.

    Lazily created weights (a ``Linear`` without ``in_size``) are broadcast with their
    shapes: a parameter that has no data yet in some process is created there with
    the root's shape and dtype (on the GPU when the model's other parameters are
    there), so only the root needs to have run a forward pass.  A parameter the root
    has no data for must have none anywhere.  The models must have the same parameter
    paths, and their layers the same settings other than the input sizes
    (``out_size``, ``out_channels``, ``kernel_size``, ``stride``, ``pad``,
    ``hidden_size``, ``embed_size``, ``num_heads`` and ``dtype``, those a layer holds),
    which a layer whose weights are all lazy shows in no shape; otherwise every process
    raises ValueError naming the first difference."""
    owner = 'broadcast_parameters'
    comm = _communicator(comm, owner)
    if (
        isinstance(root, bool)
        or not isinstance(root, (int, np.integer))
        or not 0 <= root < comm.size
    ):
        raise ValueError(f'{owner}: root must be a rank in 0..{comm.size - 1}, got {root!r}')
    root = int(root)
    pairs = named_params(model, owner)
    layout = [
        (path, None if p.data is None else (tuple(p.data.shape), p.data.dtype.str))
        for path, p in pairs
    ]
    settings = _layer_settings(model)
    root_layout, root_settings = comm.bcast((layout, settings), root)
    problem = None
    mine = dict(layout)
    if [path for path, _ in root_layout] != [path for path, _ in layout]:
        missing = [path for path, _ in root_layout if path not in mine]
        extra = sorted(set(mine) - {path for path, _ in root_layout})
        problem = ValueError(
            f'{owner}: the model of rank {comm.rank} does not have the parameters of rank '
            f"{root}'s (missing: {missing or 'none'}, extra: {extra or 'none'}, or another order)"
        )
    else:
        for path, spec in root_layout:
            if spec is None and mine[path] is not None:
                problem = ValueError(
                    f'{owner}: parameter {path!r} has no data on rank {root} (the root) but '
                    f'has on rank {comm.rank}; run the forward pass that creates it on the '
                    f'root too'
                )
                break
            if spec is not None and mine[path] is not None and spec != mine[path]:
                problem = ValueError(
                    f'{owner}: parameter {path!r} has shape {mine[path][0]} and dtype '
                    f'{np.dtype(mine[path][1])} on rank {comm.rank}, but shape {spec[0]} and '
                    f'dtype {np.dtype(spec[1])} on rank {root}; build the same model everywhere'
                )
                break
    if problem is None:
        problem = _settings_difference_from_root(settings, root_settings, comm.rank, root)
    _raise_everywhere(comm, problem, owner)
    on_gpu = any(p.data is not None and cuda.is_gpu_array(p.data) for _, p in pairs)
    for (path, param), (_, spec) in zip(pairs, root_layout):
        if spec is None:
            continue
        if param.data is None:
            host = np.empty(spec[0], np.dtype(spec[1]))
        else:
            host = np.ascontiguousarray(cuda.as_numpy(param.data))
        comm.bcast_array(host, root)
        if param.data is None:
            param.data = cuda.as_cupy(host) if on_gpu else host
        elif cuda.is_gpu_array(param.data):
            param.data[...] = cuda.as_cupy(host)
        elif host is not param.data:
            param.data[...] = host
    return model


# The settings from which dezero's layers make their parameters and compute with them,
# besides the input sizes, which a lazy layer learns from the root's forward pass: a
# layer whose weights are all lazy shows none of them in its parameters' shapes.
_LAYER_SETTINGS = (
    'out_size',
    'out_channels',
    'kernel_size',
    'stride',
    'pad',
    'hidden_size',
    'embed_size',
    'num_heads',
    'dtype',
)


def _layer_settings(model):
    """``[(layer path, setting, value)]`` for the settings of :data:`_LAYER_SETTINGS`
    that ``model`` and its sub-layers hold as attributes of their own, the model's
    path being ``''``; empty for a model that is not a Layer."""
    if not isinstance(model, Layer):
        return []
    layers = [('', model), *type(model)._named_sublayers(model)]
    return [
        (path, name, _setting(layer.__dict__[name]))
        for path, layer in layers
        for name in _LAYER_SETTINGS
        if name in layer.__dict__
    ]


def _setting(value):
    """``value`` in a form to compare between processes: a dtype (or a NumPy scalar
    type, as ``np.float32``) as its name, anything else as :func:`_plain` gives it."""
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    return _plain(value)


def _settings_difference_from_root(mine, roots, rank, root):
    """The ValueError for the first setting (see :func:`_layer_settings`) that a layer
    of this process (``rank``) holds with another value than the same layer of the
    root's, or None when all that both hold agree."""
    theirs = {(path, name): value for path, name, value in roots}
    for path, name, value in mine:
        other = theirs.get((path, name), value)
        if repr(other) != repr(value):  # (NaN equals nothing, not even itself)
            layer = f'layer {path!r}' if path else 'the model'
            return ValueError(
                f'broadcast_parameters: {layer} has {name} {value!r} on rank {rank}, but '
                f'{other!r} on rank {root} (the root); build the same model everywhere'
            )
    return None


class DistributedOptimizer(Optimizer):
    """``optimizer`` (any dezero optimizer) whose :meth:`update` first replaces every
    parameter's gradient by the average of the gradients of all processes, so that
    each process makes the same step.

    The gradients go into one flat buffer (in the widest dtype of the parameters), which
    one allreduce sums; the buffer also counts, per parameter, the processes that have
    a gradient.  A gradient that is None in one process counts as zeros there (its
    samples did not reach that parameter); a parameter with no gradient anywhere keeps
    None and is skipped, as by the wrapped optimizer.  CuPy gradients are copied to the
    host, reduced and copied back: this works with any MPI build, CUDA-aware or not.

    Everything else is the wrapped optimizer's: ``lr`` and the other hyperparameters
    read and assign its own, hooks (``add_hook``) run on the averaged gradients,
    schedules, ``state_dict``/``save``/``load`` and checkpoints see it.  Before the
    reduction the processes compare (with one small allgather) their parameters'
    shapes and dtypes, their optimizers' settings (the class, the hyperparameters
    with the learning rate as a schedule left it, the step counts such as Adam's
    ``t``, the hooks with their settings) and, at the first update and whenever
    parameters get data (a lazy layer first used later), their weights: a
    difference raises ValueError (shapes, settings) or RuntimeError (weights: call
    :func:`broadcast_parameters`) in every process, naming what differs, instead of
    hanging or training diverging copies.
    """

    _own = frozenset(
        {
            'optimizer',
            'comm',
            '_signature',
            '_signature_crc',
            '_settings',
            '_settings_crc',
            '_weights_checked',
            '_found',
        }
    )

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, optimizer, comm=None):
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, DistributedOptimizer):
            raise TypeError(
                f'DistributedOptimizer: expected a dezero optimizer (such as SGD(lr=0.1)) '
                f'to wrap, got {type(optimizer).__name__}'
            )
        self.optimizer = optimizer
        self.comm = _communicator(comm, 'DistributedOptimizer')
        self._signature = None
        self._signature_crc = 0
        self._settings = None
        self._settings_crc = 0
        self._weights_checked = None  # the signature checksum the weights were compared at
        self._found = (None, set())  # (the parameter list, its running statistics' ids)

    def __getattr__(self, name):  # everything not the wrapper's own: the wrapped optimizer's
        if name in DistributedOptimizer._own:
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def __setattr__(self, name, value):
        if name in DistributedOptimizer._own:
            object.__setattr__(self, name, value)
        else:
            setattr(self.optimizer, name, value)

    def __repr__(self):
        return f'DistributedOptimizer({type(self.optimizer).__name__}, {self.comm!r})'

    _lr_attribute = property(lambda self: self.optimizer._lr_attribute)
    _counters = property(lambda self: self.optimizer._counters)

    def setup(self, target):
        """Set up the wrapped optimizer on ``target``; returns this wrapper.  The
        processes check their weights agree again at the next update."""
        self.optimizer.setup(target)
        self._signature = None
        self._weights_checked = None
        return self

    def update(self, batch_size=None):
        """Average the gradients over all processes, then let the wrapped optimizer
        update (hooks included).

        ``batch_size``: the number of samples this process's loss is the mean over.
        Given in every process, the average is weighted by it, which keeps the step
        that of one process on the whole batch when the shares differ in size (the
        Trainer passes it; 0 for a process whose share is empty, with no gradients).
        Without it every process counts the same, which is right for equal shares.
        When the batch sizes add up to 0 (an empty batch everywhere) there is no step:
        the wrapped optimizer does not update, as a Trainer skips an empty batch.

        This is a collective operation: every process must call it, as many times as
        the others (one update per batch, and the same number of batches in each
        process), or the processes wait for each other forever."""
        owner = 'DistributedOptimizer.update'
        inner = self.optimizer
        if inner.target is None:
            raise RuntimeError(f'{owner}: no target; call setup(model) before update()')
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
        ):
            raise TypeError(f'{owner}: batch_size must be an int, got {batch_size!r}')
        if batch_size is not None and batch_size < 0:
            raise ValueError(f'{owner}: batch_size must be >= 0, got {batch_size!r}')
        count = batch_size
        if self.comm.size > 1:
            count = self._average(inner._unique_params(), batch_size, owner)
        if count == 0:  # no samples in any process: no step, as a Trainer skips one
            return
        inner.update()

    def _average(self, params, batch_size, owner):
        """Replace the gradients of ``params`` by their (weighted) average over the
        processes, after checking that the processes agree; returns the sum of the
        processes' batch sizes (None when they are not given or nothing is averaged)."""
        comm = self.comm
        signature = tuple(
            None if p.data is None else (p.data.shape, p.data.dtype.str) for p in params
        )
        if signature != self._signature:
            self._signature = signature
            self._signature_crc = zlib.crc32(repr(signature).encode())
        settings = _settings(self.optimizer)
        if settings != self._settings:
            self._settings = settings
            self._settings_crc = zlib.crc32(repr(settings).encode())
        problem = None
        try:
            self.optimizer._check_params(params)
        except (TypeError, ValueError) as e:
            problem = e
        statistics = self._statistics(params)
        weights_crc = 0
        # the weights are compared at the first update and again whenever parameters
        # get data (a lazy layer first used later, initialised by each process alone)
        checked = self._weights_checked
        check_weights = checked != self._signature_crc
        if check_weights:  # the running statistics differ after a forward pass
            weights_crc = _weights_crc([p for p in params if id(p) not in statistics])
        mine = np.array(
            [
                self._signature_crc,
                len(params),
                weights_crc,
                batch_size is None,
                problem is not None,
                self._settings_crc,
            ],
            np.int64,
        )
        everyone = comm.allgather_array(mine)
        if everyone[:, 4].any():
            _raise_everywhere(comm, problem, owner)
        if (everyone[:, :2] != everyone[0, :2]).any():
            signatures = comm.allgather(signature)
            target = self.optimizer.target
            named = _method(target, 'named_params')
            paths = {id(p): path for path, p in named(target)} if callable(named) else {}
            raise ValueError(f'{owner}: {_first_difference(signatures, params, paths)}')
        if (everyone[:, 3] != everyone[0, 3]).any():
            raise ValueError(
                f'{owner}: batch_size is given on ranks {np.flatnonzero(everyone[:, 3] == 0)}'
                f' only; give it in every process or in none'
            )
        if (everyone[:, 5] != everyone[0, 5]).any():
            raise ValueError(f'{owner}: {_settings_difference(comm.allgather(settings))}')
        if check_weights:
            if (everyone[:, 2] != everyone[0, 2]).any():
                differ = np.flatnonzero(everyone[:, 2] != everyone[0, 2]).tolist()
                when = (
                    'first update'
                    if not checked  # (None, or False from a pickle of an earlier version)
                    else 'first update after new weights were created'
                )
                raise RuntimeError(
                    f"{owner}: the weights of ranks {differ} differ from rank 0's at the "
                    f'{when}; call dezero.distributed.broadcast_parameters(model) '
                    f'(after a forward pass that creates lazy weights) before training'
                )
            self._weights_checked = self._signature_crc

        with_data = [p for p in params if p.data is not None]
        if not with_data:
            return None
        # float32 at least: float16 overflows when multiplied by a share's size
        dtype = np.result_type(np.float32, *(p.data.dtype for p in with_data))
        sizes = [0 if p.data is None else p.data.size for p in params]
        total = sum(sizes)
        kept = [p for p in params if id(p) in statistics and p.data is not None]
        kept_total = sum(p.data.size for p in kept)
        buffer = np.zeros(total + kept_total + len(params) + 1, dtype)
        offset = 0
        for i, (p, size) in enumerate(zip(params, sizes)):
            if p.grad is not None:
                buffer[offset : offset + size] = cuda.as_numpy(p.grad.data).reshape(-1)
                buffer[total + kept_total + i] = 1
            offset += size
        for p in kept:  # the running statistics, averaged as the gradients are
            buffer[offset : offset + p.data.size] = cuda.as_numpy(p.data).reshape(-1)
            offset += p.data.size
        weight = 1 if batch_size is None else batch_size
        if weight != 1:
            buffer[: total + kept_total] *= weight
        buffer[-1] = weight
        comm.allreduce_sum(buffer)
        count = buffer[-1]
        if count > 0:
            buffer[: total + kept_total] /= count
        offset = 0
        for i, (p, size) in enumerate(zip(params, sizes)):
            if buffer[total + kept_total + i] == 0 or count == 0:
                p.grad = None
            else:
                g = buffer[offset : offset + size].reshape(p.data.shape)
                g = g.astype(p.data.dtype, copy=False)
                p.grad = Variable(cuda.as_cupy(g) if cuda.is_gpu_array(p.data) else g)
            offset += size
        if count > 0:
            for p in kept:
                average = buffer[offset : offset + p.data.size].reshape(p.data.shape)
                p.data[...] = cuda.as_cupy(average) if cuda.is_gpu_array(p.data) else average
                offset += p.data.size
        return None if batch_size is None else int(count)

    def __getstate__(self):
        """As an optimizer's (see :meth:`dezero.optimizers.Optimizer.__getstate__`),
        without the running statistics found in the target, which are known by
        ``id``: a copy finds its own."""
        attributes = super().__getstate__()
        attributes['_found'] = (None, set())
        return attributes

    def _statistics(self, params):
        """The ids of the target's running statistics (BatchNorm's), which each
        process's forward pass moves on its own share: left out of the check that the
        weights agree, and averaged at every update.  Looked up again only when the
        target gives another list of parameters (``params``, the wrapped optimizer's)."""
        found, ids = self._found
        if found is not params:
            target = self.optimizer.target
            ids = (
                {id(p) for p in running_statistics(target)} if isinstance(target, Layer) else set()
            )
            self._found = (params, ids)
        return ids


def _delegate(name):
    def method(self, *args, **kwargs):
        return getattr(self.optimizer, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = getattr(Optimizer, name).__doc__
    return method


# every other method of Optimizer (add_hook, state_dict, save, load, ...) runs on the
# wrapped optimizer, so that the wrapper behaves as it does
for _name, _value in list(vars(Optimizer).items()):
    if callable(_value) and not _name.startswith('__') and _name not in vars(DistributedOptimizer):
        setattr(DistributedOptimizer, _name, _delegate(_name))


def _settings(optimizer):
    """What the processes' optimizers must agree on, as (name, value) pairs: the class,
    the hyperparameters (the learning rate as it is now), the step counts, arrays kept
    as attributes, and each hook's class (or function name) with its attributes
    (WeightDecay's rate; see :func:`_attributes`)."""
    lr_name = optimizer._lr_attribute
    pairs = [('the optimizer', type(optimizer).__qualname__)]
    for name in (*optimizer._hyperparameters(), *optimizer._counters):
        label = f'{name} (the learning rate)' if name == lr_name and name != 'lr' else name
        pairs.append((label, _plain(getattr(optimizer, name, None))))
    for name, value in vars(optimizer).items():  # arrays, as a book-style self.lr may be
        if cuda.is_array(value) and name not in optimizer._hyperparameters():
            pairs.append((name, _plain(value)))
    for i, hook in enumerate(optimizer.hooks):
        kind = getattr(hook, '__qualname__', None) or type(hook).__qualname__
        own = tuple((k, _plain(v)) for k, v in _attributes(hook).items())
        pairs.append((f'hook {i}', (kind, *own) if own else kind))
    return tuple(pairs)


def _attributes(hook):
    """The attributes of the hook object ``hook``: those of its ``__dict__`` and of
    its class's ``__slots__``.  (What a function captures, in a closure or a
    ``functools.partial``, is not among them: it may rightly differ between processes,
    as a rank kept for logging does.)"""
    values = dict(getattr(hook, '__dict__', {}))
    for cls in type(hook).__mro__:
        slots = cls.__dict__.get('__slots__', ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot not in ('__dict__', '__weakref__') and hasattr(hook, slot):
                values[slot] = getattr(hook, slot)
    return values


def _plain(value):
    """``value`` when it is a number, a string or None, or a tuple or list of them (as
    a tuple); an array as its values (up to 64 of them) or as its dtype, shape and a
    checksum of its bytes; else the name of its type (``'<Linear>'``): a layer is not
    compared, as its repr names its place in memory."""
    if value is None or isinstance(value, (numbers.Number, str)):
        return value
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if cuda.is_array(value):
        array = np.asarray(cuda.as_numpy(value))
        if array.size <= 64:
            return (str(array.dtype), array.shape, *array.ravel().tolist())
        return (str(array.dtype), array.shape, zlib.crc32(np.ascontiguousarray(array).tobytes()))
    return f'<{type(value).__name__}>'


def _settings_difference(everyone):
    """Words for the optimizer settings (from :func:`_settings`, one tuple per rank)
    that differ between the processes, with each rank's value."""
    tables = [dict(pairs) for pairs in everyone]
    names = list(dict.fromkeys(name for table in tables for name in table))
    differences = []
    for name in names:
        values = [repr(table[name]) if name in table else 'none' for table in tables]
        if len(set(values)) > 1:
            ranks = ', '.join(f'rank {r}: {v}' for r, v in enumerate(values))
            differences.append(f'{name} ({ranks})')
    return (
        f"the processes' optimizers differ: {'; '.join(differences)}; every process must "
        f'make the same optimizer, with the same hooks, and step the same schedules'
    )


def _weights_crc(params):
    """A checksum of the weights of ``params``, to compare between processes."""
    crc = 0
    for p in params:
        if p.data is not None:
            crc = zlib.crc32(np.ascontiguousarray(cuda.as_numpy(p.data)).tobytes(), crc)
    return crc


def _first_difference(signatures, params, paths):
    """Words for the first parameter whose shape or dtype differs between processes,
    named by its path in the model (``paths``: id -> path) when it has one."""
    if len({len(s) for s in signatures}) > 1:
        counts = ', '.join(f'rank {r}: {len(s)}' for r, s in enumerate(signatures))
        return (
            f'the processes have different numbers of parameters ({counts}); every '
            f'process must build the same model'
        )
    for i in range(len(signatures[0])):
        column = [s[i] for s in signatures]
        if len(set(column)) > 1:
            name = paths.get(id(params[i])) or getattr(params[i], 'name', None) or f'number {i}'
            shapes = ', '.join(
                f'rank {r}: ' + ('no data' if c is None else f'{c[0]} {np.dtype(c[1])}')
                for r, c in enumerate(column)
            )
            return (
                f'parameter {name} differs between the processes ({shapes}); every '
                f'process must build the same model'
            )
    return 'the processes disagree on the parameters'


def reduce_totals(totals, count, comm):
    """Sums over all processes of ``totals`` (a dict of per-process sums of a figure
    times the batch size) and ``count`` (samples), as ``(totals, count)``: what makes
    an epoch's averages those of the whole data, each process weighted by its number
    of samples."""
    if not isinstance(totals, dict):
        raise TypeError(
            f'reduce_totals: totals must be a dict of sums, got {type(totals).__name__}'
        )
    if comm is None:  # (the callers have theirs; None is no default here)
        raise TypeError('reduce_totals: comm must be a communicator from dezero.distributed.init()')
    comm = _communicator(comm, 'reduce_totals')
    names = list(totals)
    buffer = np.array([*(totals[n] for n in names), count], np.float64)
    comm.allreduce_sum(buffer)
    return dict(zip(names, buffer[:-1].tolist())), float(buffer[-1])

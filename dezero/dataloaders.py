"""Mini-batches from a dataset, one epoch per ``for`` loop.

>>> from dezero.datasets import Spiral
>>> loader = DataLoader(Spiral(), batch_size=30)
>>> for epoch in range(2):
...     for x, t in loader:        # x float32 (30, 2), t int64 (30,); 10 batches
...         pass
>>> x.shape, x.dtype, t.shape, t.dtype
((30, 2), dtype('float32'), (30,), dtype('int64'))

:class:`DataLoader` stacks dataset items into batches, in a fresh random order each
epoch; :class:`SeqDataLoader` keeps time order, for truncated backprop through time.
"""

import collections.abc
import importlib.util
import math
import numbers

import numpy as np

from dezero import cuda
from dezero.checks import check_flag
from dezero.core import Variable
from dezero.transforms import _is_pil_image

#: Whether Pillow (the package PIL) is installed, for the image transforms.  Found
#: without importing it, so that ``import dezero`` does not pay for loading Pillow.
pil_available = importlib.util.find_spec('PIL') is not None


def _check_batch_size(owner, batch_size):
    """``batch_size`` as a Python int: TypeError unless it is an int (a NumPy integer
    too, not a bool), ValueError unless it is 1 or more."""
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(
            f'{owner}: batch_size must be a positive integer, got '
            f'{type(batch_size).__name__} {batch_size!r:.60}'
        )
    if batch_size <= 0:
        raise ValueError(f'{owner}: batch_size must be a positive integer, got {batch_size!r}')
    return int(batch_size)


#: The settings a loader's state records, which a loader continuing from it must share.
_SETTINGS = {'batch_size', 'shuffle'}

#: The kinds of loader a state names under ``'loader'``: each orders its batches its own
#: way, so a state continues a loader of its kind only.
_KINDS = ('DataLoader', 'SeqDataLoader')


def _same_setting(value, mine, kind):
    """Whether a saved setting ``value`` is ``mine``, a bool or an int by ``kind``
    (NumPy's bools and integers too; an int is no bool, nor a bool an int)."""
    is_bool = isinstance(value, (bool, np.bool_))
    if kind is bool:
        return is_bool and bool(value) == mine
    return not is_bool and isinstance(value, (int, np.integer)) and int(value) == mine


def _check_seed(owner, seed):
    """``seed`` (None, an int >= 0, or what ``np.random.default_rng`` takes besides: a
    SeedSequence, a BitGenerator or a Generator) as a Python int, or as it is."""
    if seed is None or isinstance(
        seed, (np.random.SeedSequence, np.random.BitGenerator, np.random.Generator)
    ):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f'{owner}: seed must be None or an int >= 0, got {seed!r:.60}')
    if seed < 0:
        raise ValueError(f'{owner}: seed must be None or an int >= 0, got {seed!r}')
    return int(seed)


def _array_pair(owner, dataset):
    """``(x, t)`` if ``dataset`` is a tuple of arrays (t may be None), else None."""
    if not (
        isinstance(dataset, tuple) and len(dataset) == 2 and isinstance(dataset[0], np.ndarray)
    ):
        return None
    x, t = dataset
    if x.ndim == 0:
        raise ValueError(
            f'{owner}: the inputs x of an (x, t) pair must have at least '
            f'one dimension (one row per sample), got a 0-d array'
        )
    if t is not None:
        if not isinstance(t, np.ndarray):
            raise TypeError(
                f'{owner}: the labels t of an (x, t) pair must be a NumPy '
                f'array or None, got {type(t).__name__}'
            )
        if t.ndim == 0 or len(t) != len(x):
            rows_t = f'{len(t)} of t' if t.ndim else 'a 0-d t'
            raise ValueError(
                f'{owner}: x and t must have the same first length (one row per '
                f'sample), got {len(x)} rows of x and {rows_t} (shapes {x.shape} '
                f'and {t.shape})'
            )
    return x, t


def _describe(value):
    """A value's type and its shape or length, for errors."""
    if hasattr(value, 'shape') and hasattr(value, 'dtype'):  # NumPy or CuPy arrays, scalars
        return f'{type(value).__name__} of shape {value.shape}'
    if isinstance(value, (list, tuple)):
        return f'{type(value).__name__} of length {len(value)}'
    return type(value).__name__


def _pair_hint(dataset):
    """How to pass the arrays that a ``dataset`` whose items are not pairs probably
    holds, or '' when it does not look like such arrays."""
    if isinstance(dataset, np.ndarray):
        return (
            f'. The dataset is one array of shape {dataset.shape}: pass the tuple '
            f'(x, None) for inputs without labels, or a tuple (x, t) of arrays'
        )
    if (
        isinstance(dataset, (list, tuple))
        and len(dataset) == 2
        and all(isinstance(v, (list, tuple)) or np.ndim(v) > 0 for v in dataset)
    ):
        return (
            f'. The dataset is a {type(dataset).__name__} of two sequences of lengths '
            f'{len(dataset[0])} and {len(dataset[1])}: to use them as inputs x and '
            f'labels t, one row per sample, pass them as a tuple (x, t) of NumPy arrays'
        )
    return ''


def _check_not_columns(owner, dataset):
    """Refuse a tuple of two lists or tuples that reads both as a pair ``(x, t)`` of
    inputs and labels of two samples and as two items ``(x, t)``: that happens when the
    first holds two values.  It is taken for items when both start with an array
    input and are tuples ``(x, t)``, as the items of a Dataset are, or end with a
    label that is no array (``[x0, 0]``); two lists of arrays only are refused."""
    if not (
        isinstance(dataset, tuple)
        and len(dataset) == 2
        and all(isinstance(v, (list, tuple)) for v in dataset)
        and len(dataset[0]) == 2
    ):
        return
    if all(
        len(item) == 2
        and isinstance(item[0], np.ndarray)
        and (isinstance(item, tuple) or not isinstance(item[1], np.ndarray))
        for item in dataset
    ):
        return  # two items (x, t) with array inputs
    raise TypeError(
        f'{owner}: the dataset is a tuple of two sequences of lengths {len(dataset[0])} '
        f'and {len(dataset[1])}, which could be inputs x and labels t or two items '
        f'(x, t): to use them as inputs x and labels t, one row per sample, pass them as '
        f'a tuple (x, t) of NumPy arrays; to give two items, put them in a list'
    )


def _is_pair(item):
    """Whether a dataset's ``item`` is a pair ``(x, t)``: a tuple or list of two."""
    return isinstance(item, (tuple, list)) and len(item) == 2


def _check_shard(owner, shard):
    """``(rank, size)`` of a communicator or a pair, checked."""
    pair = (shard.rank, shard.size) if hasattr(shard, 'rank') else shard
    if (
        not isinstance(pair, tuple)
        or len(pair) != 2
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in pair)
        or not 0 <= pair[0] < pair[1]
    ):
        raise ValueError(
            f'{owner}: shard must be a communicator from dezero.distributed.init() or a '
            f'pair (rank, size) with 0 <= rank < size, got {shard!r}'
        )
    return int(pair[0]), int(pair[1])


def _keyed_by_position(mapping):
    """Whether the keys of ``mapping`` are exactly the positions 0, 1, ..., len - 1
    (Python or NumPy ints), so that its items can be taken by position as a
    sequence's are."""
    keys = list(mapping.keys())
    if not all(isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in keys):
        return False
    return {int(k) for k in keys} == set(range(len(mapping)))


def _pair_item(owner, dataset, i):
    """Item ``i`` of ``dataset``, checked to be a pair ``(x, t)``."""
    item = dataset[i]
    if not _is_pair(item):
        raise TypeError(
            f'{owner}: item {i} of the dataset ({_describe(item)}) is '
            f'not a pair: expected (x, t), with t None for an item without a label'
            f'{_pair_hint(dataset)}'
        )
    return item


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``: each ``for`` pass is one
    epoch and yields ``(x, t)`` NumPy arrays, the last batch holding what is left.

    ``dataset`` is a :class:`dezero.datasets.Dataset` (or any sequence whose items are
    pairs ``(x, t)``, tuples or lists; ``t`` is None for an item without a label) whose
    items are stacked, or a tuple ``(x, t)`` of NumPy arrays with one row per sample
    (``t`` may be None), which is sliced directly; a list is always a sequence of
    items, and a dict (any mapping, whose items are taken by key) is refused
    (TypeError) unless its keys are the positions 0, 1, ..., len - 1 (an empty dict
    too).  An empty list or Dataset gives no batches, as in the book.  A tuple of two
    lists or tuples, the first of two values, reads both as inputs and labels of two
    samples and as two items: it is refused (TypeError) unless
    both are items whose input is a NumPy array.  An item that is not a pair (a bare
    array, a row of an array, a sequence of another length) raises TypeError naming
    its index, type and shape: when the loader is made for a list or tuple (every item
    is checked) or an array, else on the first batch that takes it.  Items are
    arrays or numbers: a PIL image (stacked by NumPy as (H, W, C)) or a Variable
    raises TypeError naming its index.  Dtypes are kept.
    With ``shuffle`` every epoch takes a new random permutation, drawn from the global
    ``np.random`` (so ``np.random.seed`` reproduces it) or, with ``seed`` (an int >= 0),
    from the loader's own generator.  ``gpu=True`` moves batches with
    ``dezero.cuda.as_cupy``; ``shuffle`` and ``gpu`` are True or False.  As in the
    book, an epoch goes on until its last batch, whether its batches are taken by
    ``for`` loops or by ``next(loader)``: a loop left early (``break``) is continued by
    the next loop or call, and so is the position :meth:`load_state_dict` loads; a
    loop begun after the last batch was taken gives none and ends the epoch, and the
    next starts a new one; :meth:`reset` starts a new epoch at once.

    Each epoch is planned as it starts, from the dataset's length and ``batch_size``
    as they are then: ``batch_size`` and ``dataset`` may be assigned between epochs
    (checked as here; part-way through an epoch RuntimeError), and a dataset that
    grows or shrinks in place is served whole from the next epoch on.  A dataset whose
    length changes part-way through an epoch raises ValueError at the next batch.

    ``shard`` splits every batch among the processes of a data-parallel run
    (:mod:`dezero.distributed`): a communicator from ``dezero.distributed.init()``, or a
    pair ``(rank, size)``.  ``batch_size`` stays the size of the whole batch; each epoch
    has one order of the samples, the same in every process, and process ``rank`` gets
    the ``rank``-th of ``size`` contiguous parts of each batch (parts of equal size when
    the batch size is a multiple of ``size``, else differing by one sample), so that
    together the processes see every sample once per epoch.  Shuffling then draws from
    the loader's own generator seeded with ``seed``, which with a communicator and no
    ``seed`` is drawn by rank 0 and sent to the others; a ``(rank, size)`` pair needs
    ``seed`` to shuffle.
    """

    #: The kind of loader its state names: how it orders its batches.
    _kind = 'DataLoader'

    def __init__(self, dataset, batch_size, shuffle=True, gpu=False, seed=None, shard=None):
        owner = type(self).__name__
        self._dataset, self._arrays = dataset, self._checked_dataset(dataset)
        self._batch_size = _check_batch_size(owner, batch_size)
        self.shuffle = check_flag(owner, 'shuffle', shuffle)
        self.gpu = check_flag(owner, 'gpu', gpu)
        seed = _check_seed(owner, seed)
        self.shard = None
        if shard is not None:
            self.shard = _check_shard(owner, shard)
            if seed is None and self.shuffle:
                if not hasattr(shard, 'bcast'):
                    raise ValueError(
                        f'{owner}: shard={shard!r} with shuffle needs a seed, '
                        f'so that every process draws the same order (or pass the '
                        f'communicator from dezero.distributed.init())'
                    )
                seed = shard.bcast(int(np.random.randint(2**31)), 0)
        self._random = np.random if seed is None else np.random.default_rng(seed)
        self.reset()

    def _checked_dataset(self, dataset):
        """The pair ``(x, t)`` of arrays that ``dataset`` is, or None for a dataset of
        items, once checked: TypeError or ValueError saying what does not fit."""
        owner = type(self).__name__
        arrays = _array_pair(owner, dataset)
        if arrays is not None:
            return arrays
        if isinstance(dataset, collections.abc.Mapping) and not (
            dataset and _keyed_by_position(dataset)  # ({} holds no positions)
        ):
            what = 'a' if dataset else 'an empty'
            raise TypeError(
                f'{owner}: dataset must have items by position 0, 1, ..., len - 1 (a '
                f'Dataset, a list of (x, t) pairs or a tuple (x, t) of arrays), got '
                f'{what} {type(dataset).__name__}, whose items are taken by key; pass '
                f'list(d.values()) if its values are the (x, t) pairs'
            )
        if not (hasattr(dataset, '__len__') and hasattr(dataset, '__getitem__')):
            raise TypeError(
                f'{owner}: dataset must have a length and items by index (a Dataset, '
                f'a list of (x, t) pairs or a tuple (x, t) of arrays), got '
                f'{type(dataset).__name__} (make a list of its items first)'
            )
        _check_not_columns(owner, dataset)
        # A container: indexing it has no side effects, so it fails early.  The items
        # of a plain list or tuple are all checked; the rows of an array are all alike,
        # and a subclass may make its items in __getitem__, so there the first one is.
        if type(dataset) in (list, tuple):
            bad = next((i for i, item in enumerate(dataset) if not _is_pair(item)), None)
            if bad is not None:
                _pair_item(owner, dataset, bad)
        elif isinstance(dataset, (list, tuple, np.ndarray)) and len(dataset):
            _pair_item(owner, dataset, 0)
        return None

    # ---- the plan of an epoch: the dataset's length and batch_size as it starts -------
    @property
    def dataset(self):
        """The dataset the batches come from.  Another one may be assigned between
        epochs (checked as the loader checks it when made); the epoch then at its start
        takes it at once (a new order of its samples when their number differs).
        Part-way through an epoch the assignment is refused (RuntimeError)."""
        return self._dataset

    @dataset.setter
    def dataset(self, dataset):
        arrays = self._checked_dataset(dataset)
        self._check_at_epoch_start('dataset')
        self._check_plan(len(dataset) if arrays is None else len(arrays[0]), self._batch_size)
        self._dataset, self._arrays = dataset, arrays
        self._replan()

    @property
    def batch_size(self):
        """The number of samples in a batch.  Another one may be assigned between
        epochs (checked as the loader checks it when made), which the epoch then at its
        start takes at once; part-way through an epoch the assignment is refused
        (RuntimeError)."""
        return self._batch_size

    @batch_size.setter
    def batch_size(self, batch_size):
        batch_size = _check_batch_size(type(self).__name__, batch_size)
        self._check_at_epoch_start('batch_size')
        self._check_plan(self._size(), batch_size)
        self._batch_size = batch_size
        self._replan()

    def _check_at_epoch_start(self, name):
        """RuntimeError, naming the attribute ``name``, unless no batch of this epoch
        has been given yet."""
        if self.iteration:
            raise RuntimeError(
                f'{type(self).__name__}: cannot assign {name} part-way through an epoch '
                f'({self.iteration} of its {self.max_iter} batches given), which keeps the '
                f'dataset and batch_size it began with; assign {name} between epochs, or '
                f'call reset() first to start a new epoch'
            )

    def _size(self):
        """The number of samples of the dataset as it is now."""
        return len(self._dataset) if self._arrays is None else len(self._arrays[0])

    def _check_plan(self, size, batch_size):
        """ValueError when ``size`` samples cannot be served in batches of
        ``batch_size``; a DataLoader serves any number."""

    def _set_plan(self):
        """Take the number of samples ``data_size`` and of batches ``max_iter`` of the
        epoch from the dataset and ``batch_size`` as they are now."""
        size = self._size()
        self._check_plan(size, self._batch_size)
        self.data_size = size
        self.max_iter = self._batches(size)

    def _batches(self, size):
        """The number of batches of ``batch_size`` that ``size`` samples make."""
        return math.ceil(size / self._batch_size)

    def _replan(self):
        """At the start of an epoch, plan it anew: with a new order when the number of
        samples changed, else keeping the order drawn for it."""
        if self._size() != self.data_size:
            self.reset()
        else:
            self._set_plan()

    def _follow_length(self):
        """Follow a dataset whose length changed in place (a Dataset or a list grown or
        cut): at the start of an epoch, plan it anew; part-way through one, ValueError,
        as its batches would miss samples or take ones that are gone."""
        size = self._size()
        if size == self.data_size:
            return
        if self.iteration == 0:
            self.reset()
        elif self.iteration < self.max_iter:
            raise ValueError(
                f'{type(self).__name__}: the dataset has {size} samples, but it had '
                f'{self.data_size} when this epoch began ({self.iteration} of its '
                f'{self.max_iter} batches given); a dataset must keep its length during an '
                f'epoch: change it between epochs, or call reset() to start a new epoch'
            )

    def reset(self):
        """Start a new epoch: back to the first batch, with a new order if shuffling,
        planned from the dataset's length and ``batch_size`` as they are now."""
        self._set_plan()
        self.iteration = 0
        if self.shuffle:
            self.index = self._random.permutation(self.data_size)
        else:
            self.index = np.arange(self.data_size)

    def __len__(self):
        """The number of batches in an epoch: in this one, or, before its first batch,
        in the one the dataset and ``batch_size`` now give."""
        if self.iteration == 0:
            return self._batches(self._size())
        return self.max_iter

    def __iter__(self):
        """The loader itself, going on with the epoch, as in the book: from the batch
        after the last one given, by a loop left early or by ``next(loader)``; after
        the last batch, a loop gives none and ends the epoch."""
        return self

    def __next__(self):
        self._follow_length()
        if self.iteration >= self.max_iter:
            self.reset()
            raise StopIteration
        batch = self._batch(self._batch_index(self.iteration))
        self.iteration += 1
        return batch

    def next(self):
        """The next batch (as ``next(loader)``); StopIteration ends the epoch."""
        return self.__next__()

    def _batch_index(self, i):
        """The sample indexes of the ``i``-th batch of the epoch (this process's part of
        it with ``shard``)."""
        index = self.index[i * self._batch_size : (i + 1) * self._batch_size]
        if self.shard is not None:
            rank, size = self.shard
            index = index[len(index) * rank // size : len(index) * (rank + 1) // size]
        return index

    def _batch(self, index):
        """The samples at ``index`` as stacked arrays ``(x, t)``."""
        if self._arrays is not None:
            x, t = self._arrays
            x, t = x[index], None if t is None else t[index]
        else:
            positions = index.tolist() or [0]
            owner, dataset = type(self).__name__, self._dataset
            items = [_pair_item(owner, dataset, i) for i in positions]
            x = self._stack([item[0] for item in items], 'inputs', positions)
            labels = [item[1] for item in items]
            n_none = sum(label is None for label in labels)
            if 0 < n_none < len(labels):
                raise ValueError(
                    f'{type(self).__name__}: {n_none} of the {len(labels)} items of a '
                    f'batch have no label (None); give every item a label '
                    f'or none'
                )
            t = None if n_none else self._stack(labels, 'labels', positions)
            if len(index) == 0:  # an empty share of a small last batch: no rows
                x, t = x[:0], None if t is None else t[:0]
        if self.gpu:
            x = cuda.as_cupy(x)
            t = None if t is None else cuda.as_cupy(t)
        return x, t

    def _stack(self, values, what, positions):
        """``values``, the ``what`` (inputs or labels) of the items at ``positions``,
        stacked into one array.  Arrays and numbers go straight to NumPy; otherwise
        every value is checked first, as NumPy stacks a PIL image without complaint."""
        if not isinstance(values[0], (np.ndarray, np.generic, numbers.Number)):
            self._check_stackable(values, what, positions)
        try:
            return np.stack(values)
        except (TypeError, ValueError) as e:
            self._check_stackable(values, what, positions)
            if isinstance(e, TypeError):
                raise
            raise ValueError(
                f'{type(self).__name__}: cannot stack the {what} of a batch into one '
                f'array ({e}); every item must have the same shape'
            ) from None

    def _check_stackable(self, values, what, positions):
        """TypeError naming the first of ``values`` (of the items at ``positions``)
        that is a PIL image or a Variable, which a batch of arrays cannot hold."""
        owner = type(self).__name__
        for value, i in zip(values, positions, strict=True):
            if _is_pil_image(value):
                raise TypeError(
                    f'{owner}: the {what} of a batch must be arrays, and item {i} of the '
                    f'dataset gives a PIL image (mode {value.mode}, {value.width}x'
                    f'{value.height}), which NumPy would stack as (H, W, C) where the '
                    f'layers take (C, H, W); turn it into an array (C, H, W) with '
                    f"ToArray() first (as the last step of the dataset's transform)"
                )
            if isinstance(value, Variable):
                raise TypeError(
                    f'{owner}: the {what} of a batch must be arrays, and item {i} of the '
                    f'dataset gives a Variable ({_describe(value)}); put arrays in the '
                    f'dataset (v.data for a Variable v): the batches are arrays, which the '
                    f'model takes as they are'
                )

    # ---- where the loader stands ------------------------------------------------------
    def state_dict(self):
        """Where the loader stands, to continue from later (a Checkpoint keeps it): a
        dict of the kind of loader ``loader`` (``'DataLoader'`` or ``'SeqDataLoader'``,
        whose batches differ), its number of samples ``size``, its ``batch_size`` and
        ``shuffle``, the
        batches of this epoch already given ``iteration``, the sample order ``index``
        (a copy) and ``generator``, the state of its own generator (``seed=``), or None
        when it draws from ``np.random``, whose state is the program's.  At the start
        of an epoch, a dataset whose length changed is planned for first."""
        if self.iteration == 0:
            self._follow_length()
        return {
            'loader': self._kind,
            'size': int(self.data_size),
            'batch_size': int(self._batch_size),
            'shuffle': bool(self.shuffle),
            'iteration': int(self.iteration),
            'index': np.asarray(self.index).copy(),
            'generator': self._random.bit_generator.state if self._own_generator() else None,
        }

    def load_state_dict(self, state):
        """Continue from ``state`` (from :meth:`state_dict` of this loader, or of one
        of the same kind, DataLoader or SeqDataLoader, over as many samples, in batches
        of the same size, shuffling or not as this one, with a generator of its own
        exactly when this one has one): the next
        batch is the one that came next then, and so are the orders of later epochs.
        That holds for ``next(loader)`` and for the next ``for`` loop alike, which
        finishes the loaded epoch (and later loops start new ones).
        A state that does not fit raises ValueError saying what, and nothing changes.
        (A state saved before ``batch_size`` and ``shuffle`` were kept is checked
        without them, and one saved before the kind of loader was kept as of this
        loader's kind.)"""
        self._prepare_load(state, f'{type(self).__name__}.load_state_dict', 'the state')()

    def __getstate__(self):
        """What pickle and copy keep of the loader: its attributes, with None for the
        module ``np.random`` (where a loader made without ``seed=`` draws), which
        pickle cannot carry; the copy draws from NumPy's global generator too."""
        state = dict(self.__dict__)
        if not self._own_generator():
            state['_random'] = None
        return state

    def __setstate__(self, state):
        """Take the attributes ``state`` (from :meth:`__getstate__`); TypeError for a
        loader pickled by the book's DeZero, which holds its dataset instead."""
        if '_arrays' not in state:
            raise TypeError(
                f"{type(self).__name__}: this pickle holds a loader of the book's DeZero "
                f'(or of another program), whose state this one does not take; make a '
                f'new {type(self).__name__} of the dataset'
            )
        state = dict(state)
        for name in ('dataset', 'batch_size'):  # as kept by a loader of plain attributes
            if name in state:
                state[f'_{name}'] = state.pop(name)
        self.__dict__.update(state)
        if self._random is None:
            self._random = np.random

    def _own_generator(self):
        """Whether the loader shuffles with a generator of its own (``seed=``)."""
        return self._random is not np.random

    def _prepare_load(self, state, owner, source):
        """Check ``state`` against this loader; return a function of no arguments that
        loads it (``source`` names where the state came from in errors)."""
        keys = {'size', 'iteration', 'index', 'generator'}
        if not isinstance(state, dict) or set(state) not in (
            keys,
            keys | _SETTINGS,
            keys | _SETTINGS | {'loader'},
        ):
            raise ValueError(
                f'{owner}: {source} is not the state of a DataLoader (expected the '
                f'keys loader, size, batch_size, shuffle, iteration, index and generator)'
            )
        size, iteration, generator = state['size'], state['iteration'], state['generator']
        current = self._size()  # the dataset as it is now, which the loaded epoch serves
        if size != current:
            raise ValueError(
                f'{owner}: {source} is of a loader of {size!r} samples; this one has {current}'
            )
        self._check_plan(current, self._batch_size)
        max_iter = self._batches(current)
        index = np.asarray(state['index'])
        if (
            index.shape != (size,)
            or index.dtype.kind not in 'iu'
            or not np.array_equal(np.sort(index), np.arange(size))
        ):
            raise ValueError(
                f'{owner}: {source} holds a sample order that is not an order of '
                f'{size} samples (shape {index.shape}, dtype {index.dtype})'
            )
        self._check_kind(state, owner, source)
        for name in _SETTINGS & set(state):  # a run resumed goes on as it started
            value, kind = state[name], bool if name == 'shuffle' else int
            if not _same_setting(value, getattr(self, name), kind):
                raise ValueError(
                    f'{owner}: {source} is of a loader with {name}={state[name]!r}; this '
                    f'one has {name}={getattr(self, name)!r} (give the loader of the run '
                    f'that saved it)'
                )
        if (
            isinstance(iteration, bool)
            or not isinstance(iteration, (int, np.integer))
            or not 0 <= iteration <= max_iter
        ):
            raise ValueError(
                f'{owner}: {source} holds iteration={iteration!r}; expected an int from 0 '
                f'to {max_iter}, the batches of an epoch'
            )
        own = self._own_generator()
        if (generator is not None) != own:
            theirs = (
                'has its own generator (seed=)' if generator is not None else 'draws from np.random'
            )
            mine = 'has its own' if own else 'draws from np.random'
            raise ValueError(f'{owner}: {source} is of a loader that {theirs}; this one {mine}')
        if own:
            try:  # a trial on a scratch generator of the same kind
                type(self._random.bit_generator)().state = generator
            except (TypeError, ValueError, KeyError, OverflowError) as e:
                # OverflowError: an int outside the generator's range (-5 for a uint64)
                raise ValueError(
                    f"{owner}: {source} holds a state of the loader's generator that "
                    f'does not fit it ({e})'
                ) from None

        def load():
            self._set_plan()
            self.index = index.copy()
            self.iteration = int(iteration)
            if own:
                self._random.bit_generator.state = generator

        return load

    def _check_kind(self, state, owner, source):
        """ValueError unless ``state`` (keys checked) comes from a loader of this one's
        kind; a state saved before the kind was kept is taken as it is (the settings
        checks refuse a shuffling loader's state in a SeqDataLoader)."""
        theirs = state.get('loader', self._kind)
        if not (isinstance(theirs, str) and theirs in _KINDS):
            raise ValueError(
                f'{owner}: {source} holds loader={theirs!r:.60}; expected '
                f"'DataLoader' or 'SeqDataLoader'"
            )
        if theirs == self._kind:
            return
        mine = type(self).__name__
        if mine != self._kind:
            mine = f'{mine} (a {self._kind})'
        raise ValueError(
            f'{owner}: {source} is of a {theirs}, and this '
            f'loader is a {mine}: the two give their batches in different orders, so the '
            f'run would not go on as it started; give a {theirs} like the one of the run '
            f'that saved it'
        )

    def to_cpu(self):
        """Yield NumPy batches from now on."""
        self.gpu = False

    def to_gpu(self):
        """Yield GPU (CuPy) batches from now on."""
        self.gpu = True


class SeqDataLoader(DataLoader):
    """Batches for truncated backprop through time over one long series.

    As in the book: with N items and ``jump = N // batch_size``, row r of batch k is
    item ``(r * jump + k) % N``, and an epoch has ``ceil(N / batch_size)`` batches.  So
    row r walks the series in time order from item ``r * jump``.  When N is not a
    multiple of ``batch_size``, the last batch takes each row one item past its
    ``jump`` items: the first item of the next row's stretch, or for the last row the
    first item left over (the other items left over are never used).  Never shuffled.
    For example, items 0..10 with ``batch_size=3`` (jump 3) give 4 batches holding
    items [0, 3, 6], [1, 4, 7], [2, 5, 8] and [3, 6, 9].

    ``dataset`` is a dataset or an ``(x, t)`` pair of arrays, as for
    :class:`DataLoader`; with a series whose label is its next value, a recurrent model
    keeps its state from one batch to the next, row by row.
    """

    _kind = 'SeqDataLoader'

    def __init__(self, dataset, batch_size, gpu=False):
        super().__init__(dataset, batch_size, shuffle=False, gpu=gpu)

    @property
    def jump(self):
        """The items from the start of one row to the next's, ``data_size //
        batch_size``, of the epoch's plan."""
        return self.data_size // self._batch_size

    def _check_plan(self, size, batch_size):
        """ValueError when ``batch_size`` is larger than the ``size`` items, which
        leaves no rows to walk (a jump of 0)."""
        if size < batch_size:
            raise ValueError(
                f'SeqDataLoader: batch_size {batch_size} is larger than '
                f'the {size} items of the dataset'
            )

    def _batch_index(self, i):
        """The items of batch ``i``: row r holds item ``(r * jump + i) % data_size``."""
        return (np.arange(self._batch_size) * self.jump + i) % self.data_size

"""A training loop to reuse: fit, evaluate, callbacks and a picture of the history.

The loop is the one a learner writes by hand (and the tutorial steps still do):

    for x, t in loader:
        loss = loss_fn(model(x), t)
        model.cleargrads()
        loss.backward()
        optimizer.update()

:class:`Trainer` runs it for a number of epochs, averages the loss and the metrics over
each epoch (weighted by batch size), evaluates on validation data under ``test_mode()``
and ``no_grad()``, reports progress, lets callbacks stop early or keep the best
weights, steps learning-rate schedules (:mod:`dezero.schedules`) and, with a
:class:`Checkpoint`, makes training resumable.

>>> import numpy as np
>>> from dezero import DataLoader, optimizers
>>> from dezero.datasets import Spiral
>>> from dezero.models import MLP
>>> train_loader = DataLoader(Spiral(train=True), batch_size=30)
>>> test_loader = DataLoader(Spiral(train=False), batch_size=30, shuffle=False)
>>> np.random.seed(0)  # after the data, which seeds NumPy's generator as in the book
>>> trainer = Trainer(MLP((10, 3)), optimizers.SGD(lr=1.0))
>>> history = trainer.fit(train_loader, epochs=5, val_loader=test_loader, progress=False,
...                       callbacks=[EarlyStopping('val_loss', patience=3)])
>>> sorted(history), len(history['loss'])
(['acc', 'loss', 'val_acc', 'val_loss'], 5)
>>> history['loss'][-1] < history['loss'][0]
True
"""

import collections.abc
import contextlib
import copy
import inspect
import json
import math
import numbers
import os
import sys
import zlib

import numpy as np

import dezero.functions as F
from dezero import cuda
from dezero.atomic import atomic_open, check_writable, file_path
from dezero.checks import check_flag, check_same_elements, is_int
from dezero.core import Function, Variable, no_grad, test_mode, using_config
from dezero.dataloaders import DataLoader, SeqDataLoader
from dezero.datasets.base import Dataset
from dezero.layers import Layer, keeping_statistics, running_statistics
from dezero.distributed import (
    DistributedOptimizer,
    _raise_everywhere,
    broadcast_parameters,
    reduce_totals,
)
from dezero.progress import EpochProgress, format_metrics
from dezero.schedules import LRSchedule
from dezero.serialization import (
    MAX_TEXT_BYTES,
    _method,
    assign_weights,
    join_state,
    json_array,
    npz_path,
    param_paths,
    planned_weights,
    read_json,
    read_npz,
    size_check,
    split_state,
    weight_arrays,
    write_npz,
)

_HOOKS = ('on_train_begin', 'on_epoch_end', 'on_train_end')
# the arguments the Trainer passes to each hook (after the trainer itself)
_HOOK_ARGS = {'on_train_begin': (), 'on_epoch_end': ('epoch', 'logs'), 'on_train_end': ()}


def _value(v, what):
    """A loss or metric (Variable, array or number, on either device) of one element as
    a Python float."""
    if not isinstance(v, (Variable, numbers.Number, np.generic) + cuda.array_types):
        raise TypeError(
            f'Trainer: {what} must give one number per batch (a Variable, an array or a '
            f'number), got {type(v).__name__} {v!r:.60}'
        )
    a = cuda.as_numpy(v.data if isinstance(v, Variable) else v)
    if a.size != 1 or a.dtype.kind not in 'biuf':
        raise ValueError(
            f'Trainer: {what} must give one number per batch, got '
            f'{type(v).__name__} with shape {a.shape} and dtype {a.dtype}'
        )
    return float(a.reshape(()))


def _is_int(v, low=0):
    """Whether ``v`` is an int (not a bool) >= ``low``, as a checkpoint must hold it."""
    return is_int(v) and v >= low


def _is_number(v):
    """Whether ``v`` is a real number (not a bool) that a float holds, as a checkpoint
    must hold it: NaN and infinities are (a loss may diverge), an int too large for a
    float (10**400, valid JSON) is not."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return False
    try:
        float(v)
    except OverflowError:
        return False
    return True


def _check_fields(values, fields, owner, source):
    """ValueError naming ``source`` and the first entry of the dict ``values`` that is
    not what ``fields`` (name -> (what it must be, test)) asks."""
    for name, (expected, fits) in fields.items():
        if not fits(values[name]):
            raise ValueError(
                f'{owner}: {source} holds {name}={values[name]!r}; expected {expected}'
            )


class Trainer:
    """Trains ``model`` with ``optimizer``, minimising ``loss(y, t)``.

    ``metrics`` maps names to functions ``f(y, t)`` computed on every batch, before
    the update it makes, so that a loss or metric that fails leaves the weights as
    they were; at the first batch of a fit, where one that does not fit the model's
    outputs fails, the running statistics of BatchNorm layers are put back too (at a
    later batch they have taken in that batch).  ``{}`` for none.  The loss and each
    metric must take ``(y, t)``: a function whose signature cannot (``lambda y:``)
    raises TypeError here.  By default the metrics depend on the loss:
    ``{'acc': F.accuracy}`` for ``F.softmax_cross_entropy``; for
    ``F.sigmoid_cross_entropy`` (logits) and ``F.binary_cross_entropy``
    (probabilities), ``'acc'`` is the fraction of outputs on the side of the decision
    threshold (logit 0, probability 0.5) that their target is on; other losses, such
    as ``F.mean_squared_error``, get no metric, as accuracy means nothing for them.
    'loss' and names starting with 'val_' are reserved for the history.  ``optimizer`` is an optimizer instance, such as
    ``optimizers.SGD(lr=0.01)`` (TypeError for None or a class), set up on the model
    if it has no target yet.  Loaders are :class:`dezero.DataLoader` objects or any
    iterable of ``(x, t)`` batches of NumPy (or CuPy) arrays (TypeError at a batch of
    another library's arrays, such as torch tensors; an x the model takes, a dict of
    inputs say, passes to it); ``len(t)`` is the batch size (empty batches
    are skipped), and the loss and metrics are taken to be batch means, so an epoch's
    figure is their average weighted by batch size.  Before each update the gradients
    of the model are cleared, and those of the optimizer's target when it is another
    (a bigger model holding ``model``).

    Each batch is a step of its own: the Trainer has no per-batch hook, so truncated
    backpropagation through time (a recurrent model fed by a
    :class:`dezero.SeqDataLoader`, whose state carries the graph of the batches before)
    needs a loop written by hand that calls ``loss.unchain_backward()`` after each
    update, as the book's steps 59 and 60 do.

    With a :class:`dezero.distributed.DistributedOptimizer` the trainer runs in every
    process of a data-parallel run: each gradient average is weighted by the processes'
    batch sizes, the epoch figures are averaged over all the processes' samples, only
    rank 0 shows progress and writes files (:class:`BestWeights`,
    :class:`Checkpoint`), and training stops in every process when a callback stops it
    in any.
    """

    def __init__(self, model, optimizer, loss=F.softmax_cross_entropy, metrics=None):
        if isinstance(model, type):
            raise TypeError(
                f'Trainer: model must be a model instance, got the class {model.__name__}; '
                f'make one, e.g. {model.__name__}(...), and pass it'
            )
        if not callable(loss):
            raise TypeError(f'Trainer: loss must be a function f(y, t), got {type(loss).__name__}')
        _refuse_function_class(loss, 'loss')
        _check_figure_arguments(loss, 'the loss')
        if metrics is not None and not isinstance(metrics, collections.abc.Mapping):
            raise TypeError(
                f'Trainer: metrics must be a dict of names and functions f(y, t), such as '
                f"{{'acc': F.accuracy}}, got {type(metrics).__name__} {metrics!r:.60}"
            )
        metrics = _default_metrics(loss) if metrics is None else dict(metrics)
        for name, f in metrics.items():
            if not isinstance(name, str):
                raise TypeError(f'Trainer: metric names must be strings, got {name!r}')
            if name == 'loss' or name.startswith('val_'):
                raise ValueError(
                    f"Trainer: metric name {name!r} is reserved ('loss' and "
                    f"names starting with 'val_')"
                )
            if not callable(f):
                raise TypeError(
                    f'Trainer: metric {name!r} must be a function f(y, t), got {type(f).__name__}'
                )
            _refuse_function_class(f, f'metric {name!r}')
            _check_figure_arguments(f, f'the metric {name!r}')
        _check_optimizer(optimizer)
        if getattr(optimizer, 'target', None) is None:
            optimizer.setup(model)
        elif optimizer.target is not model:
            _check_target(model, optimizer.target)
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.stop_training = False
        self.epoch = 0
        self._run = None  # what the running fit works with, for Checkpoint

    @property
    def comm(self):
        """The communicator of a data-parallel run (that of the optimizer, a
        :class:`~dezero.distributed.DistributedOptimizer`), None otherwise."""
        optimizer = self.optimizer
        return optimizer.comm if isinstance(optimizer, DistributedOptimizer) else None

    # ---- one pass -------------------------------------------------------------------
    def _run_epoch(self, loader, train, caller, name='the loader', alone=False):
        """Average loss and metrics over one full pass through ``loader`` (over all the
        processes' passes in a data-parallel run, unless ``alone``: this process's
        figures, with no communication).  Empty batches are skipped.  Errors name
        ``caller`` and ``name``, the argument that gave the loader; an error raised
        by the model, the loss or a metric gets a note saying at which batch."""
        totals = {'loss': 0.0, **{metric: 0.0 for metric in self.metrics}}
        count = 0
        comm = None if alone else self.comm
        run = self._run if train else None
        _check_loader(loader, caller, name)
        if isinstance(loader, DataLoader):
            # part-way through an epoch (a loop left early, next(loader), an error):
            # start a new one.  At 0 the order drawn for the epoch (which a resumed
            # Checkpoint loads) is kept
            _start_epoch(loader, comm, caller)
        at = 0  # the batch being taken from the loader or computed
        try:
            for i, batch in enumerate(loader):
                at = i
                x, t = _batch(batch, caller, i, name)
                n = len(t)
                if n == 0:  # an empty batch, or an empty share of one: no figures
                    if comm is not None and train:  # every process takes part in the update
                        self._cleargrads()
                        self.optimizer.update(batch_size=0)
                    at = i + 1
                    continue
                if run is not None and not run.stepped:
                    loss = self._first_figures(x, t, n, totals, train, caller)
                    run.stepped = True
                else:
                    loss = self._figures(x, t, n, totals, train, caller)
                if train:
                    self._cleargrads()
                    _backward(loss, loader, i, caller)
                    if run is not None and not run.gradients_reached:  # in the first epoch
                        run.gradients_reached = _gradients_reached(self.optimizer)
                    if comm is None:
                        self.optimizer.update()
                    else:
                        self.optimizer.update(batch_size=n)
                count += n
                at = i + 1
        except Exception as e:
            if hasattr(e, 'add_note') and not str(e).startswith(f'{caller}:'):
                where = ''
                if caller == 'Trainer.fit':
                    where = f' {"in" if train else "after"} epoch {self.epoch}'
                e.add_note(f'{caller}: raised at batch {at} of {name}{where}')
            raise
        if comm is not None:
            totals, count = reduce_totals(totals, count, comm)
        if count == 0:
            raise ValueError(f'{caller}: {name} gave no samples')
        if run is not None and not run.gradients_checked:  # the first epoch of a fit
            _check_gradients_reached(run.gradients_reached, self.model, comm, caller)
            run.gradients_checked = True
        return {metric: total / count for metric, total in totals.items()}

    def _figures(self, x, t, n, totals, train, caller):
        """The forward pass of a batch ``(x, t)`` of ``n`` samples: add its loss and
        metrics, times ``n``, to ``totals``, and return the loss.  They are computed
        before the update, so that a loss or metric that fails leaves the weights
        alone."""
        y = self.model(x)
        loss = self.loss(y, t)
        if train or loss is None:
            _check_loss_is_variable(loss, caller)
        totals['loss'] += _value(loss, 'the loss') * n
        with no_grad():  # metrics are never differentiated
            for name, f in self.metrics.items():
                totals[name] += _value(f(y, t), f'the metric {name!r}') * n
        return loss

    def _first_figures(self, x, t, n, totals, train, caller):
        """:meth:`_figures` for the first batch of a fit, where a loss or metric that
        does not fit the model's outputs fails: should it raise, the running
        statistics (BatchNorm's) that the forward pass moved are put back as they
        were (those it created hold a new layer's values), so that a failed fit
        leaves the parameters as they were."""
        target = getattr(self.optimizer, 'target', None)  # a head applied in the loss, say
        models = [m for m in (self.model, target) if isinstance(m, Layer)]
        if len(models) == 2 and models[0] is models[1]:
            models.pop()
        with contextlib.ExitStack() as stack:
            for model in models:  # (they put the statistics back on leaving the block)
                stack.enter_context(keeping_statistics(model))
            loss = self._figures(x, t, n, totals, train, caller)
            moved = [
                (param, param.data.copy())
                for model in models
                for param in running_statistics(model)
                if param.data is not None
            ]
        for param, array in moved:  # the step succeeded: they keep the batch's values
            param.data[...] = array
        return loss

    def _cleargrads(self):
        """Forget the gradients of the model and, when the optimizer trains another
        (a bigger model holding this one), of the parameters it trains, whose old
        gradients it would otherwise apply again at every update."""
        self.model.cleargrads()
        target = getattr(self.optimizer, 'target', None)
        if target is not None and target is not self.model:
            if callable(getattr(target, 'cleargrads', None)):
                target.cleargrads()
            else:
                for param in target.params():
                    param.grad = None

    def evaluate(self, loader):
        """The average loss and metrics over ``loader`` (a dict ``{'loss': ..,
        <metric>: ..}``), computed in test mode (dropout off, batch norm on running
        statistics) without recording a graph; the parameters are not changed.

        It is a full pass: a :class:`DataLoader` part-way through an epoch (after
        ``next(loader)``, a loop left early or an error) starts a new one
        (``loader.reset()``); one at the start of an epoch keeps the order drawn for
        it.

        In a data-parallel run a :class:`DataLoader` without ``shard`` gives this
        process's figures on the data it holds (the whole data, say), with no
        communication, so one process may evaluate alone.  Any other loader (one made
        with ``shard=comm``, a list) is taken as this process's share: the figures are
        those of all the processes' shares together, and the call is a collective one
        that every process must make, or the others wait forever."""
        _check_labelled(loader, 'Trainer.evaluate', 'the loader')
        return self._evaluate(loader, alone=isinstance(loader, DataLoader) and loader.shard is None)

    def _evaluate(self, loader, alone=False, caller='Trainer.evaluate', name='the loader'):
        """:meth:`evaluate`; ``alone``: this process's figures, with no communication
        (fit's validation, made by every process, reduces them, shares by hand too).
        Errors name ``caller`` and the argument ``name`` that gave the loader."""
        with test_mode(), no_grad():
            return self._run_epoch(loader, False, caller, name, alone)

    # ---- fit --------------------------------------------------------------------------
    def fit(self, train_loader, epochs, val_loader=None, progress=True, callbacks=(), schedules=()):
        """Train for ``epochs`` epochs (fewer if a callback stops it) and return the
        history: a dict of per-epoch lists, ``loss`` and each metric for the training
        passes and, with ``val_loader``, ``val_loss`` and ``val_<metric>``.

        The training batches run in training mode with the graph recorded
        (``Config.train`` and ``Config.enable_backprop`` True, even when fit is called
        inside ``test_mode()`` or ``no_grad()``), as :meth:`evaluate` runs the
        validation batches in test mode.  The loss must be a Variable computed from the
        outputs: a fit whose first epoch brought no gradient to any parameter the
        optimizer trains (so that nothing was updated) stops there with an error; a
        batch whose loss reaches none (its labels all masked out), and parameters
        without a gradient (frozen or unused), are fine.

        Every epoch is a full pass over ``train_loader``, and every validation a full
        pass over ``val_loader``: a :class:`DataLoader` part-way through an epoch (after
        ``next(loader)``, a loop left early, or an earlier fit stopped by an error)
        starts a new one (``loader.reset()``).  One at the start of an epoch keeps the
        sample order drawn for it, which a resumed :class:`Checkpoint` loads.

        ``progress``: True for a tqdm bar when tqdm is installed and a line every tenth
        of the run (and one for the epoch where a callback stopped it), False for
        silence.  ``callbacks``: a list (None for none) of distinct objects with any
        of the methods ``on_train_begin(trainer)``, ``on_epoch_end(trainer, epoch,
        logs)`` (``logs``: this epoch's figures; set ``trainer.stop_training = True``
        to stop) and ``on_train_end(trainer)``, called in the order of the list.

        ``schedules``: a list (None for none) of learning-rate schedules
        (:mod:`dezero.schedules`) made on this trainer's optimizer, each stepped once
        at the end of every epoch, after the callbacks, in the order of the list.  With schedules the history (and the
        logs) also hold ``'lr'``: the learning rate each epoch trained with.

        A :class:`Checkpoint` among the callbacks saves the whole training state at
        the end of every epoch, after the other callbacks and the schedules; when its
        file exists, fit first restores that state and goes on from the epoch after
        the saved one, returning the history of all the epochs.

        What would fail only after an epoch is refused before the first one: loaders
        that are no loaders of batches or give none (a length of 0), a DataLoader
        whose data have no labels, callback or schedule classes given for instances,
        a callback or schedule given twice, a callback whose methods cannot take the
        arguments above, a callback watching a figure the history will not have, a
        train_loader sharded among several processes without a DistributedOptimizer,
        and, in a data-parallel run, training loaders whose numbers of batches differ
        between the processes (which would wait for each other forever).  The
        val_loader is not read before training (a shuffling one would draw another
        order): what only its batches show is found at the validation after the
        first epoch, and the error names ``Trainer.fit`` and ``val_loader``, or gets
        a note saying at which batch of it the model, the loss or a metric raised.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f'Trainer.fit: epochs must be a positive int, got {epochs!r}')
        epochs = int(epochs)
        progress = check_flag('Trainer.fit', 'progress', progress)
        _check_loader(train_loader, 'Trainer.fit', 'train_loader')
        _check_labelled(train_loader, 'Trainer.fit', 'train_loader')
        if val_loader is not None:
            _check_loader(val_loader, 'Trainer.fit', 'val_loader')
            _check_labelled(val_loader, 'Trainer.fit', 'val_loader')
        for name, loader in (('train_loader', train_loader), ('val_loader', val_loader)):
            if epochs > 1 and _read_once(loader):
                raise TypeError(
                    f'Trainer.fit: {name} is a {type(loader).__name__}, an iterator that '
                    f'gives its batches once, but fit runs {epochs} epochs; give a list of '
                    f'(x, t) pairs or a DataLoader, which start again every epoch'
                )
        self._check_shards(train_loader)
        self._check_batch_counts(train_loader)
        callbacks = _check_callbacks(() if callbacks is None else callbacks)
        schedules = self._check_schedules(() if schedules is None else schedules)
        checkpoints = [cb for cb in callbacks if isinstance(cb, Checkpoint)]
        if len(checkpoints) > 1:
            raise ValueError(
                f'Trainer.fit: got {len(checkpoints)} Checkpoint callbacks; give one '
                f'(it saves the whole training state)'
            )
        _check_distinct_files(callbacks)
        callbacks = [cb for cb in callbacks if not isinstance(cb, Checkpoint)]
        names = ['loss', *self.metrics]
        history = {name: [] for name in names}
        if val_loader is not None:
            history.update({'val_' + name: [] for name in names})
        if schedules:
            history['lr'] = []
        self.stop_training = False
        self._run = _Run(history, epochs, schedules, callbacks, train_loader, val_loader)
        try:
            self._call(callbacks, 'on_train_begin')
            self._call(checkpoints, 'on_train_begin')  # may resume: sets run.done, history
            self._epochs(epochs, progress, callbacks + checkpoints, len(callbacks))
            self._call(callbacks + checkpoints, 'on_train_end')
        finally:
            self._run = None
        return history

    def _check_shards(self, train_loader):
        """Refuse a training loader that gives each of several processes its own share
        of every batch (``DataLoader(..., shard=comm)``) with an optimizer that does not
        average the processes' gradients: each process would train a model of its own,
        and their weights drift apart without an error."""
        shard = getattr(train_loader, 'shard', None)  # (rank, size) for a DataLoader
        if not isinstance(train_loader, DataLoader) or shard is None:
            return
        if shard[1] <= 1 or isinstance(self.optimizer, DistributedOptimizer):
            return
        raise ValueError(
            f'Trainer.fit: the train_loader shares each batch out among {shard[1]} '
            f'processes, but the optimizer {type(self.optimizer).__name__} does not '
            f'average their gradients, so each process would train a model of its own; '
            f'wrap it: Trainer(model, DistributedOptimizer(optimizer, comm))'
        )

    def _check_batch_counts(self, train_loader):
        """In a run of several processes, refuse training loaders that give the
        processes different numbers of batches (compared with one allgather): each
        batch ends in an update that waits for every process, so the process with
        fewer batches would go on while the others waited for it forever.  Loaders
        without a length are not compared."""
        comm = self.comm
        if comm is None or comm.size <= 1:
            return
        counts = comm.allgather(_known_length(train_loader))
        if None in counts or len(set(counts)) == 1:
            return
        listed = ', '.join(f'rank {r}: {n}' for r, n in enumerate(counts))
        raise ValueError(
            f'Trainer.fit: the processes have different numbers of training batches '
            f'({listed}), but every batch ends in an update that all the processes make '
            f'together; give every process the whole dataset and a '
            f'DataLoader(..., shard=comm), which shares out every batch, or give each '
            f"process a share that makes as many batches as the others'"
        )

    def _epochs(self, epochs, progress, callbacks, n_before_schedules):
        """The epochs of :meth:`fit` after the ``run.done`` done already (by the run
        resumed), unless stopped already.  ``callbacks[:n_before_schedules]`` are
        called before the schedules step, the rest (the Checkpoint) after."""
        run = self._run
        done = run.done
        comm = self.comm
        if comm is not None and comm.rank != 0:
            progress = False  # rank 0 reports for all
        progress_bar = EpochProgress(epochs, desc='fit') if progress else None
        if progress_bar is not None and done:  # resumed: the bar starts where it was
            progress_bar.epoch = done
            if getattr(progress_bar, '_bar', None) is not None:
                progress_bar._bar.update(done)
        stopped_line = None
        try:
            for epoch in range(done + 1, epochs + 1):
                if self.stop_training:  # resumed from a run that a callback stopped
                    break
                self.epoch = epoch
                lr = self.optimizer.lr if run.schedules else None
                with using_config('train', True), using_config('enable_backprop', True):
                    logs = self._run_epoch(run.train_loader, True, 'Trainer.fit', 'train_loader')
                if run.val_loader is not None:
                    figures = self._evaluate(run.val_loader, False, 'Trainer.fit', 'val_loader')
                    logs.update({'val_' + k: v for k, v in figures.items()})
                if run.schedules:
                    logs['lr'] = lr
                for name, value in logs.items():
                    run.history[name].append(value)
                if progress_bar is not None:
                    progress_bar.update({k: v for k, v in logs.items() if k != 'lr'})
                self._call(callbacks[:n_before_schedules], 'on_epoch_end', epoch, logs)
                if comm is not None:  # every process stops when one does
                    self.stop_training = any(comm.allgather(bool(self.stop_training)))
                for schedule in run.schedules:
                    schedule.step()
                self._call(callbacks[n_before_schedules:], 'on_epoch_end', epoch, logs)
                if self.stop_training:
                    if (
                        progress_bar is not None
                        and epoch < epochs
                        and epoch % progress_bar.every != 0
                    ):
                        stopped_line = f'stopped at epoch {epoch}/{epochs}  {format_metrics(logs)}'
                    break
        finally:
            if progress_bar is not None:
                progress_bar.close()
        if stopped_line is not None:  # the bar printed no line for this epoch
            print(stopped_line, file=sys.stdout, flush=True)

    def _check_schedules(self, schedules):
        """``schedules`` as a list of distinct schedules of this trainer's optimizer."""
        if isinstance(schedules, LRSchedule):
            raise TypeError(
                f'Trainer.fit: schedules must be a list of schedules, got a single '
                f'{type(schedules).__name__}; pass [schedule]'
            )
        try:
            schedules = list(schedules)
        except TypeError:
            raise TypeError(
                f'Trainer.fit: schedules must be a list of learning-rate schedules, got '
                f'{type(schedules).__name__}'
            ) from None
        for i, schedule in enumerate(schedules):
            _refuse_class(schedule, 'schedule')
            if not isinstance(schedule, LRSchedule):
                raise TypeError(
                    f'Trainer.fit: schedules must be learning-rate schedules '
                    f'(dezero.schedules), got {type(schedule).__name__}'
                )
            if schedule.optimizer is not self.optimizer:
                raise ValueError(
                    f'Trainer.fit: the {type(schedule).__name__} was made on another '
                    f"optimizer than the trainer's; make it on trainer.optimizer"
                )
            if any(schedule is other for other in schedules[:i]):
                raise ValueError(
                    f'Trainer.fit: the same {type(schedule).__name__} is given twice; '
                    f'it would step twice per epoch'
                )
        if schedules and 'lr' in self.metrics:
            raise ValueError(
                "Trainer.fit: with schedules the history records 'lr', the learning "
                "rate; rename the metric 'lr'"
            )
        return schedules

    def _call(self, callbacks, method, *args):
        for cb in callbacks:
            f = getattr(cb, method, None)
            if f is not None:
                f(self, *args)


class _Run:
    """What one call of :meth:`Trainer.fit` works with: the history being filled, the
    number of epochs asked for, the schedules, the callbacks other than the Checkpoint,
    the loaders, and the number of epochs done before it started."""

    def __init__(self, history, epochs, schedules, callbacks, train_loader, val_loader):
        self.history = history
        self.epochs = epochs
        self.schedules = schedules
        self.callbacks = callbacks
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.done = 0  # the epochs done before this fit (by a run that it resumes)
        self.gradients_reached = False  # whether a backward of this fit reached a parameter
        self.gradients_checked = False  # whether that was checked (after the first epoch)
        self.stepped = False  # whether the forward pass of a training batch succeeded


def _default_metrics(loss):
    """The metrics of a Trainer given none: accuracy for the classification losses,
    none for the others."""
    if loss is F.softmax_cross_entropy or loss is getattr(F, 'softmax_cross_entropy_simple', None):
        return {'acc': F.accuracy}
    if loss is F.sigmoid_cross_entropy:
        return {'acc': _logit_accuracy}
    if loss is F.binary_cross_entropy:
        return {'acc': _probability_accuracy}
    return {}


def _binary_accuracy(who, y, t, threshold):
    """The fraction of the entries of ``y`` that lie above ``threshold`` exactly where
    the target ``t`` (values in [0, 1]) is at least 0.5.  As in the losses, ``t`` has
    the shape of ``y`` or one that differs from it only in axes of size 1 ((N,) for
    outputs (N, 1)), and is compared element by element, never broadcast."""
    y, t = (a.data if isinstance(a, Variable) else a for a in (y, t))
    check_same_elements(who, y.shape, t.shape, ('the outputs', 'the targets'))
    return float(((y > threshold) == (t.reshape(y.shape) >= 0.5)).mean())


def _logit_accuracy(y, t):
    """Accuracy of the logits ``y`` against binary targets ``t`` (positive: y > 0)."""
    return _binary_accuracy('the accuracy of sigmoid_cross_entropy', y, t, 0.0)


def _probability_accuracy(p, t):
    """Accuracy of the probabilities ``p`` against binary targets ``t`` (positive:
    p > 0.5)."""
    return _binary_accuracy('the accuracy of binary_cross_entropy', p, t, 0.5)


def _refuse_function_class(f, what):
    """TypeError, naming ``what`` (the loss, a metric), when ``f`` is a class, such as
    ``F.SoftmaxCrossEntropy``: calling it on ``(y, t)`` would make an instance, not
    compute the figure."""
    if not isinstance(f, type):
        return
    name = f.__name__
    function = ''.join('_' + c.lower() if c.isupper() else c for c in name).lstrip('_')
    if issubclass(f, Function) and callable(getattr(F, function, None)):
        hint = f'pass the function F.{function} or an instance {name}()'
    else:
        hint = f'pass a function f(y, t) or an instance {name}(...)'
    raise TypeError(f'Trainer: {what} must be a function f(y, t), got the class {name}; {hint}')


def _check_target(model, target):
    """Refuse an optimizer set up on another model: it would train the wrong weights."""
    own = {id(p) for p in model.params()}
    if own and own.isdisjoint(id(p) for p in target.params()):
        raise ValueError(
            f'Trainer: the optimizer is set up on another model '
            f'({type(target).__name__}) that holds none of the parameters of '
            f'the model to train ({type(model).__name__})'
        )


def _check_loader(loader, caller, name='the loader'):
    """Refuse, naming ``caller`` and the argument ``name``, what is no loader of
    batches: data (a dataset, an array, a dict, or a pair of arrays or lists rather
    than a list of (x, t) pairs) and what cannot be iterated."""
    if isinstance(loader, (dict,) + cuda.array_types):
        raise TypeError(
            f'{caller}: {name} must be a loader of (x, t) batches, got '
            f'{type(loader).__name__}; wrap the data in DataLoader((x, t), batch_size)'
        )
    pair = (
        isinstance(loader, tuple)
        and len(loader) == 2
        and (hasattr(loader[0], 'shape') or not _is_pair(loader[0]))
    )
    if pair or (hasattr(loader, '__getitem__') and hasattr(loader, 'prepare')):
        what = 'a pair (x, t) of all the data' if pair else f'the dataset {type(loader).__name__}'
        raise TypeError(
            f'{caller}: {name} must be a loader of (x, t) batches, got {what}; wrap it '
            f'in DataLoader(..., batch_size)'
        )
    if not isinstance(loader, collections.abc.Iterable) and not hasattr(loader, '__getitem__'):
        raise TypeError(
            f'{caller}: {name} must be a loader of (x, t) batches (a DataLoader, or a '
            f'list of (x, t) pairs), got {type(loader).__name__} {loader!r:.60}'
        )
    if isinstance(loader, collections.abc.Sized) and _known_length(loader) == 0:
        raise ValueError(
            f'{caller}: {name} gives no batches (its length is 0); give it data, or leave it out'
        )
    if isinstance(loader, list) and loader and cuda.is_array(loader[0]):  # [X, T]
        raise TypeError(
            f'{caller}: {name} must be a loader of (x, t) batches, but its first item '
            f'is not an (x, t) pair: got a {type(loader[0]).__name__}; wrap the data in '
            f'DataLoader((x, t), batch_size)'
        )


def _check_labelled(loader, caller, name):
    """TypeError, naming ``caller`` and the argument ``name``, when the DataLoader
    ``loader`` can be seen without taking a batch to give batches without labels t,
    which the loss needs: its dataset is ``(x, None)``, a list of pairs one of which
    is ``(x, None)``, or a :class:`~dezero.datasets.Dataset` without labels (one
    whose items its own ``__getitem__`` gives is not looked into).  Other loaders
    are checked at each batch."""
    if not isinstance(loader, DataLoader):
        return
    dataset = loader.dataset
    if loader._arrays is not None:
        missing = loader._arrays[1] is None
        what = 'the pair (x, None)'
    elif type(dataset) in (list, tuple):
        missing = any(item[1] is None for item in dataset)
        what = f'a {type(dataset).__name__} holding a pair (x, None)'
    else:
        missing = (
            isinstance(dataset, Dataset)
            and type(dataset).__getitem__ is Dataset.__getitem__
            and dataset.label is None
        )
        what = f'{type(dataset).__name__}, whose label is None'
    if missing:
        raise TypeError(
            f'{caller}: {name} gives batches without labels t (its dataset is {what}), '
            f'but the loss and the metrics are computed as f(y, t); give it the labels, '
            f'DataLoader((x, t), batch_size)'
        )


def _start_epoch(loader, comm, caller):
    """Reset the DataLoader ``loader`` when it is part-way through an epoch.  With a
    loader sharded among several processes (``comm``) the processes decide together:
    all reset when any is part-way (one peeked a batch with ``next(loader)``), so that
    their generators stay in step; then they check that they share out the same
    batches in the same order, and raise ValueError in every process when not."""
    sharded = comm is not None and comm.size > 1 and loader.shard is not None
    if not sharded:
        if loader.iteration != 0:
            loader.reset()
        return
    if any(comm.allgather(loader.iteration != 0)):
        loader.reset()
    mine = (loader.shard, zlib.crc32(np.ascontiguousarray(loader.index).tobytes()))
    everyone = comm.allgather(mine)
    shards = [shard for shard, _ in everyone]
    expected = [(rank, comm.size) for rank in range(comm.size)]
    if shards != expected:
        raise ValueError(
            f'{caller}: the processes shard their loader as {shards}, but a run of '
            f'{comm.size} processes needs {expected} (rank r takes (r, {comm.size})); '
            f'make it with DataLoader(..., shard=comm)'
        )
    if len({crc for _, crc in everyone}) > 1:
        differ = [rank for rank, (_, crc) in enumerate(everyone) if crc != everyone[0][1]]
        raise ValueError(
            f'{caller}: the sample order of the sharded loader on ranks {differ} differs '
            f"from rank 0's, so the processes' shares overlap and miss samples; give "
            f'every process the same data and the same seed (or shard=comm without a '
            f'seed, which rank 0 draws for all)'
        )


def _read_once(loader):
    """Whether ``loader`` is an iterator that cannot start again (a generator, what
    ``iter(list)`` gives): unlike a DataLoader, which is its own iterator too, it has
    no ``reset()``."""
    return isinstance(loader, collections.abc.Iterator) and not callable(
        getattr(loader, 'reset', None)
    )


def _known_length(loader):
    """``len(loader)``, or None when the loader cannot tell it (its ``__len__``
    raises TypeError, as some iterables' do)."""
    try:
        return len(loader)
    except TypeError:
        return None


def _is_pair(item):
    """Whether ``item`` is an (x, t) pair, as a batch of a loader is."""
    return isinstance(item, (tuple, list)) and len(item) == 2


def _backward(loss, loader, i, caller):
    """``loss.backward()`` for the ``i``-th batch of ``loader``.  A recurrent model fed
    by a SeqDataLoader keeps the graph of the batches before in its state, which the
    Trainer never cuts: its RuntimeError then says to write the loop by hand."""
    try:
        loss.backward()
    except RuntimeError as e:
        if i == 0 or not isinstance(loader, SeqDataLoader):
            raise
        raise RuntimeError(
            f'{caller}: backward failed at batch {i} of a SeqDataLoader: a recurrent '
            f'model keeps the graph of the batches before in its state, and the Trainer '
            f'has no step to cut it; truncated backpropagation through time needs a loop '
            f'of its own that calls loss.unchain_backward() (see the Trainer docstring). '
            f'{type(e).__name__}: {e}'
        ) from e


def _check_loss_is_variable(loss, caller):
    """TypeError, naming ``caller``, unless the loss is a Variable (a number or an
    array has no graph for backward to go through)."""
    if not isinstance(loss, Variable):
        raise TypeError(
            f'{caller}: the loss must be a Variable computed from the outputs y (as '
            f'F.softmax_cross_entropy(y, t) gives), so that backward reaches the '
            f'parameters; loss(y, t) returned {type(loss).__name__} {loss!r:.60}'
        )


def _gradients_reached(optimizer):
    """Whether a parameter that ``optimizer`` trains has a gradient."""
    return any(p.grad is not None for p in optimizer.target.params())


def _check_gradients_reached(reached, model, comm, caller):
    """ValueError, naming ``caller``, at the end of the first epoch of a fit in which
    no backward ``reached`` a parameter the optimizer trains (in any process of a
    data-parallel run, which all decide alike): the loss does not depend on them (it
    was computed from ``y.data``, or wrapped in a new Variable), and training changed
    nothing.  A batch whose loss reaches none (all its labels masked out), and some
    parameters without a gradient (frozen or unused ones), are fine."""
    if comm is not None:
        reached = any(comm.allgather(bool(reached)))
    if reached:
        return
    raise ValueError(
        f'{caller}: the loss does not depend on the parameters the optimizer trains '
        f'(of the model {type(model).__name__}): after the first epoch none of them '
        f'has had a gradient, so training changed nothing.  Compute the loss with '
        f'dezero functions of the outputs y (not of y.data, and not wrapped in a new '
        f'Variable)'
    )


def _check_optimizer(optimizer):
    """TypeError unless ``optimizer`` is an optimizer instance, one with ``setup`` and
    ``update`` methods (such as ``optimizers.SGD(lr=0.01)``), not None nor a class."""
    if isinstance(optimizer, type):
        got = (
            f'the class {optimizer.__name__}, not an instance: make one, e.g. '
            f'{optimizer.__name__}(...), and pass it'
        )
    elif callable(getattr(optimizer, 'setup', None)) and callable(
        getattr(optimizer, 'update', None)
    ):
        return
    else:
        got = f'{type(optimizer).__name__} {optimizer!r:.60}'
    raise TypeError(
        f'Trainer: optimizer must be an optimizer instance such as '
        f'optimizers.SGD(lr=0.01); got {got}'
    )


def _refuse_class(obj, kind):
    """TypeError when ``obj`` is a class (``EarlyStopping``) where fit expects an
    instance of it (``EarlyStopping(...)``)."""
    if isinstance(obj, type):
        raise TypeError(
            f'Trainer.fit: got the class {obj.__name__}, not an instance: make one, '
            f'e.g. {obj.__name__}(...), and pass it as the {kind}'
        )


def _is_foreign_tensor(a):
    """Whether ``a`` is an array of another library (a torch tensor, say): one that
    exchanges its data by DLPack but is neither a NumPy nor a CuPy array nor a
    Variable.  Anything else (a dict of inputs, a list) is the model's to take."""
    return hasattr(a, '__dlpack__') and not cuda.is_array(a)


def _batch(batch, caller, i, name='the loader'):
    """The ``i``-th batch of the loader ``name`` as ``(x, t)``, after checking that it
    is a pair of arrays (or Variables) whose labels t have one row per sample."""
    if _is_pair(batch) and hasattr(batch[1], '__len__') and getattr(batch[1], 'ndim', 1) != 0:
        for part, a in zip('xt', batch):
            if _is_foreign_tensor(a):
                raise TypeError(
                    f'{caller}: batch {i} of {name}: {part} is a {type(a).__name__} '
                    f'(from {type(a).__module__}); batches must be NumPy (or CuPy) arrays: '
                    f'convert them (np.asarray(a), tensor.numpy()), or use a dezero '
                    f'DataLoader'
                )
        return batch
    if _is_pair(batch) and getattr(batch[1], 'ndim', None) == 0:
        got = 'labels t of shape () (one label, not a row of labels)'
    elif _is_pair(batch):
        got = f'labels t of type {type(batch[1]).__name__}'
    else:
        got = f'a {type(batch).__name__}' + (
            f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''
        )
    raise TypeError(
        f'{caller}: each batch of {name} must be a pair (x, t) with labels, one row '
        f'per sample; got {got} at batch {i}'
    )


def _check_distinct_files(callbacks):
    """Refuse two callbacks of ``fit`` that write the same file (a BestWeights and a
    Checkpoint overwriting each other's file every epoch)."""
    writers = {}
    for cb in callbacks:
        if isinstance(cb, (Checkpoint, BestWeights)):
            key = os.path.realpath(cb.path)
            other = writers.setdefault(key, cb)
            if other is not cb:
                raise ValueError(
                    f'Trainer.fit: the {type(other).__name__} and the {type(cb).__name__} '
                    f'both write {cb.path}; give each its own file'
                )


def _check_callbacks(callbacks):
    """``callbacks`` as a list of distinct callbacks, each one having at least one of
    the hook methods, all of which take the arguments the Trainer passes."""
    _refuse_class(callbacks, 'callback')
    if any(hasattr(callbacks, hook) for hook in _HOOKS):
        raise TypeError(
            f'Trainer.fit: callbacks must be a list of callbacks, got a '
            f'single {type(callbacks).__name__}; pass [callback]'
        )
    try:
        callbacks = list(callbacks)
    except TypeError:
        raise TypeError(
            f'Trainer.fit: callbacks must be a list of callbacks, got {type(callbacks).__name__}'
        ) from None
    for i, cb in enumerate(callbacks):
        _refuse_class(cb, 'callback')
        if isinstance(cb, LRSchedule):
            raise TypeError(
                f'Trainer.fit: the {type(cb).__name__} is a learning-rate schedule, not '
                f'a callback; pass it as fit(..., schedules=[...])'
            )
        if not any(callable(getattr(cb, hook, None)) for hook in _HOOKS):
            raise TypeError(
                f'Trainer.fit: the callback {cb!r} has none of the methods {", ".join(_HOOKS)}'
            )
        if any(cb is other for other in callbacks[:i]):
            raise ValueError(
                f'Trainer.fit: the same {type(cb).__name__} is given twice; it would be '
                f'called twice per epoch'
            )
        _check_hook_arguments(cb)
    return callbacks


def _check_hook_arguments(cb):
    """TypeError naming the method when a hook of the callback ``cb`` cannot take the
    arguments the Trainer passes it (a Keras-style ``on_epoch_end(epoch, logs)``)."""
    for hook, args in _HOOK_ARGS.items():
        method = getattr(cb, hook, None)
        if not callable(method):
            continue
        signature = _refused_signature(method, (None, *args))
        if signature is not None:
            expected = ', '.join(('trainer', *args))
            raise TypeError(
                f'Trainer.fit: the callback {type(cb).__name__} has {hook}{signature}, '
                f'but the Trainer calls {hook}({expected}); give it that signature'
            )


def _refused_signature(f, args):
    """The signature of the callable ``f`` when it cannot take the positional
    arguments ``args``; None when it can, or when its signature cannot be read (some
    built-in callables tell nothing: they are left to fail when called)."""
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*args)
    except TypeError:
        return signature
    return None


def _check_figure_arguments(f, what):
    """TypeError, naming ``what`` (``the loss``, ``the metric 'acc'``), when the
    callable ``f`` cannot be called as ``f(y, t)``, as the Trainer calls the loss and
    the metrics on every batch."""
    signature = _refused_signature(f, (None, None))
    if signature is not None:
        shown = getattr(f, '__name__', type(f).__name__)
        raise TypeError(
            f'Trainer: {what} is called as f(y, t), with the outputs y and the labels t, '
            f'but {shown}{signature} cannot take them; give it the parameters (y, t)'
        )


# --------------------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------------------
class _Monitor:
    """Tracks the best value of one figure of the logs: lower is better with mode
    'min', higher with 'max'; 'auto' picks 'min' for names containing 'loss' and 'max'
    for names containing 'acc', and refuses other names."""

    def __init__(self, owner, monitor, mode, min_delta):
        if not isinstance(monitor, str):
            raise TypeError(
                f'{owner}: monitor must be the name of a figure of the logs '
                f"(such as 'val_loss'), got {monitor!r}"
            )
        if mode == 'auto':
            if 'loss' in monitor:
                mode = 'min'
            elif 'acc' in monitor:
                mode = 'max'
            else:
                raise ValueError(
                    f"{owner}: mode='auto' cannot tell whether {monitor!r} "
                    f"should fall or rise; pass mode='min' or mode='max'"
                )
        if mode not in ('min', 'max'):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if (
            isinstance(min_delta, bool)
            or not isinstance(min_delta, numbers.Real)
            or not min_delta >= 0
            or math.isinf(min_delta)
        ):
            raise ValueError(f'{owner}: min_delta must be a finite number >= 0, got {min_delta!r}')
        # the text as a plain str (that of an enum member or a np.str_, whose str() may
        # differ), as a saved state holds it
        self.owner, self.monitor = owner, str.__str__(monitor)
        self.mode = 'min' if mode == 'min' else 'max'
        self.min_delta = float(min_delta)
        self.best = None
        self.best_epoch = None

    def reset(self):
        self.best = None
        self.best_epoch = None

    def check_figures(self, trainer, callback):
        """ValueError, before the first epoch of a fit, when the monitored figure is
        not one the history will have (the check at the end of an epoch would come
        only after training it): a validation figure without a val_loader, or a
        figure that is neither in the history nor can be added to the epoch's figures
        by a callback of one's own called before ``callback`` (the one watching)."""
        run = getattr(trainer, '_run', None)
        if run is None or self.monitor in run.history:
            return
        figures = ', '.join(run.history)
        if self.monitor.startswith('val_') and run.val_loader is None:
            raise ValueError(
                f'{self.owner}: it watches {self.monitor!r}, a validation figure, but '
                f'fit was given no val_loader; pass val_loader=..., or watch one of '
                f'{figures}'
            )
        callbacks = list(run.callbacks)
        before = callbacks[: callbacks.index(callback)] if callback in callbacks else callbacks
        if any(not type(cb).__module__.startswith('dezero.') for cb in before):
            return  # one of them may add the figure to the logs: checked at the epoch's end
        raise ValueError(
            f'{self.owner}: it watches {self.monitor!r}, which this fit does not '
            f'record; its history will have {figures} (the loss, the metrics of '
            f"Trainer(metrics=...), their 'val_' figures with a val_loader, and 'lr' "
            f'with schedules)'
        )

    def is_better(self, epoch, logs):
        """The value of ``logs[monitor]`` if it beats the best so far by more than
        ``min_delta`` (the first value always does, NaN never), else None."""
        if self.monitor not in logs:
            raise KeyError(
                f'{self.owner}: no {self.monitor!r} in the logs of epoch '
                f'{epoch}; they have {", ".join(logs)} (validation figures '
                f'need a val_loader)'
            )
        value = float(logs[self.monitor])
        if math.isnan(value):
            return None
        if self.best is None:
            return value
        if self.mode == 'min':
            return value if value < self.best - self.min_delta else None
        return value if value > self.best + self.min_delta else None

    def record(self, epoch, value):
        self.best, self.best_epoch = value, epoch


class _Watching:
    """What the callbacks that watch one figure share: its best value so far and the
    epoch it came from (None before the first epoch)."""

    @property
    def best(self):
        """The best value of the watched figure so far (None before the first epoch)."""
        return self._monitor.best

    @property
    def best_epoch(self):
        """The epoch that gave ``best`` (None before the first epoch)."""
        return self._monitor.best_epoch

    def _settings(self):
        """What the best value means, which a resumed state must have been saved with:
        the watched figure, its direction ('min' or 'max', 'auto' resolved) and the
        improvement that counts (``min_delta``)."""
        monitor = self._monitor
        return {'monitor': monitor.monitor, 'mode': monitor.mode, 'min_delta': monitor.min_delta}

    def _check_state(self, state, owner, source):
        """ValueError unless ``state`` fits this callback as :meth:`state_dict` gives
        it (``source`` names where the state came from in errors).  Its settings must
        be this callback's: the best value of another figure, or of the same one
        ranked otherwise, is no best value here.  A state without settings is taken
        to have this callback's."""
        keys = list(self.state_dict())
        unset = [key for key in keys if key != 'settings']
        if not isinstance(state, dict) or set(state) not in (set(keys), set(unset)):
            raise ValueError(
                f'{owner}: {source} is not the state of a {type(self).__name__} '
                f'(expected the keys {", ".join(keys)})'
            )
        if 'settings' in state:
            self._check_settings(state['settings'], owner, source)
        _check_fields(
            state, {k: v for k, v in _CALLBACK_FIELDS.items() if k in state}, owner, source
        )
        if (state['best'] is None) != (state['best_epoch'] is None):
            raise ValueError(
                f'{owner}: {source} holds best={state["best"]!r} and best_epoch='
                f'{state["best_epoch"]!r}; expected both None or neither'
            )

    def _check_settings(self, saved, owner, source):
        """ValueError naming the first setting in which ``saved`` (the settings of a
        state from ``source``) differs from this callback's."""
        mine, name = self._settings(), type(self).__name__
        if not isinstance(saved, dict) or set(saved) != set(mine):
            raise ValueError(
                f'{owner}: {source} holds settings={saved!r:.80}; expected a dict of '
                f'the settings of a {name} ({", ".join(mine)})'
            )
        for key, value in mine.items():
            if saved[key] != value or type(saved[key]) is not type(value):
                raise ValueError(
                    f'{owner}: {source} was saved with {key}={saved[key]!r}; '
                    f'this {name} has {key}={value!r} (give it the settings of the run '
                    f'that saved the state)'
                )


# What each entry of the state of EarlyStopping and BestWeights must be.
_CALLBACK_FIELDS = {
    'best': ('a number that a float holds, or None', lambda v: v is None or _is_number(v)),
    'best_epoch': ('an int >= 1 or None', lambda v: v is None or _is_int(v, 1)),
    'wait': ('an int >= 0', _is_int),
    'stopped_epoch': ('an int >= 1 or None', lambda v: v is None or _is_int(v, 1)),
}


class EarlyStopping(_Watching):
    """Stop training when ``monitor`` (default ``'val_loss'``) has not improved by more
    than ``min_delta`` for ``patience`` epochs in a row (0 stops at the first such epoch,
    as 1 does, as in Keras).  ``mode``: 'min', 'max' or
    'auto' (min for names with 'loss', max for names with 'acc').  ``stopped_epoch``
    tells when it stopped (None if it did not), ``best`` and ``best_epoch`` the best
    value seen."""

    def __init__(self, monitor='val_loss', patience=5, mode='auto', min_delta=0.0):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
            raise ValueError(f'EarlyStopping: patience must be an int >= 0, got {patience!r}')
        self._monitor = _Monitor('EarlyStopping', monitor, mode, min_delta)
        self.patience = int(patience)
        self.wait = 0
        self.stopped_epoch = None

    def on_train_begin(self, trainer):
        """Check that the watched figure is one this fit records (ValueError if not),
        and start afresh: no best value, no epoch waited, not stopped."""
        self._monitor.check_figures(trainer, self)
        self._monitor.reset()
        self.wait = 0
        self.stopped_epoch = None

    def state_dict(self):
        """What a :class:`Checkpoint` keeps of this callback: its settings (monitor,
        mode, min_delta), the best value, its epoch, the epochs waited since and the
        epoch where it stopped."""
        return {
            'settings': self._settings(),
            'best': self.best,
            'best_epoch': self.best_epoch,
            'wait': self.wait,
            'stopped_epoch': self.stopped_epoch,
        }

    def load_state_dict(self, state):
        """Continue from ``state``, given by :meth:`state_dict`.  A state that does not
        fit, or was saved with other settings (another monitor, mode or min_delta),
        raises ValueError saying what, and nothing changes; a state without settings
        is taken to have this callback's."""
        self._check_state(state, 'EarlyStopping.load_state_dict', 'the state')
        self._monitor.record(state['best_epoch'], state['best'])
        self.wait = state['wait']
        self.stopped_epoch = state['stopped_epoch']

    def on_epoch_end(self, trainer, epoch, logs):
        """Record ``logs[monitor]`` as the best if it beats it by more than ``min_delta``
        (the wait goes back to 0); otherwise, NaN included, count one more epoch
        waited, and once ``patience`` epochs (at least one) are waited set
        ``trainer.stop_training`` and ``stopped_epoch``.  KeyError when the logs have
        no such figure."""
        value = self._monitor.is_better(epoch, logs)
        if value is not None:
            self._monitor.record(epoch, value)
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop_training = True
            self.stopped_epoch = epoch


class BestWeights(_Watching):
    """Keep the weights of the epoch with the best ``monitor`` (default ``'val_loss'``)
    in the ``.npz`` file ``path`` (``.npz`` added when it lacks it, as
    :meth:`~dezero.layers.Layer.save_weights` adds it), saved atomically each time the
    figure improves by more than ``min_delta`` (a crash mid-save leaves the previous
    best intact, and the
    best is recorded only once saved).  With ``restore`` (default) the model gets those
    weights back when training ends.  When the optimizer trains a bigger model holding
    the model (a head applied in the loss, say), the file keeps the weights of that
    model, as its ``save_weights`` writes them, so that the parameters restored
    belong together.  In a data-parallel run rank 0 alone writes and reads the file
    and sends the weights to the other processes."""

    def __init__(self, path, monitor='val_loss', mode='auto', min_delta=0.0, restore=True):
        # the file save_weights writes: a path, not a file object, which the callback
        # writes and reads again many times
        self.path = npz_path(file_path(path, 'BestWeights'), 'BestWeights')
        self._monitor = _Monitor('BestWeights', monitor, mode, min_delta)
        self.restore = check_flag('BestWeights', 'restore', restore)

    def on_train_begin(self, trainer):
        """Check that ``path`` can be written (its folder exists), that the weights to
        keep are those of one model (see :func:`_kept_model`) and that the watched
        figure is one this fit records, and forget any best value."""
        _check_folder('BestWeights', self.path, trainer)
        _kept_model(trainer, 'BestWeights')
        self._monitor.check_figures(trainer, self)
        self._monitor.reset()

    def state_dict(self):
        """What a :class:`Checkpoint` keeps of this callback: its settings (monitor,
        mode, min_delta), the best value and its epoch (the weights are in the file
        ``path``)."""
        return {'settings': self._settings(), 'best': self.best, 'best_epoch': self.best_epoch}

    def load_state_dict(self, state):
        """Continue from ``state``, given by :meth:`state_dict`.  A state that does not
        fit, or was saved with other settings (another monitor, mode or min_delta),
        raises ValueError saying what, and nothing changes; a state without settings
        is taken to have this callback's."""
        self._check_state(state, 'BestWeights.load_state_dict', 'the state')
        self._monitor.record(state['best_epoch'], state['best'])

    def on_epoch_end(self, trainer, epoch, logs):
        """When ``logs[monitor]`` beats the best by more than ``min_delta``, save the
        weights (the model's, or those of the bigger model the optimizer trains) to
        ``path`` (rank 0 alone in a data-parallel run), then record the value as the
        best.  KeyError when the logs have no such figure."""
        value = self._monitor.is_better(epoch, logs)
        if value is not None:
            if _writes(trainer):
                _kept_model(trainer, 'BestWeights').save_weights(self.path)
            self._monitor.record(epoch, value)

    def on_train_end(self, trainer):
        """With ``restore``, load the weights of the best epoch back into the model
        (rank 0 reads the file and sends them to the other processes of a
        data-parallel run); nothing when no epoch was recorded."""
        if self.restore and self.best_epoch is not None:
            model = _kept_model(trainer, 'BestWeights')
            if _writes(trainer):
                model.load_weights(self.path)
            comm = getattr(trainer, 'comm', None)
            if comm is not None:  # the others get rank 0's copy of the file's weights
                broadcast_parameters(model, 0, comm)


def _kept_model(trainer, owner):
    """The model whose weights ``owner`` keeps: the optimizer's target when it trains
    parameters besides the model's (a bigger model holding the model), the model
    otherwise.  ValueError when that target lacks some of the model's parameters, as
    no one model then holds all the parameters trained."""
    others = _other_params(trainer, owner)
    if not others:
        return trainer.model
    target = trainer.optimizer.target
    held = param_paths(target, owner)
    missing = [
        paths[0] for key, (_, paths) in param_paths(trainer.model, owner).items() if key not in held
    ]
    if missing:
        raise ValueError(
            f'{owner}: the optimizer trains parameters besides the model '
            f'({_listed([paths[0] for _, paths in others])}), but its target '
            f"({type(target).__name__}) lacks some of the model's ({_listed(missing)}), "
            f'so no one model holds the weights to keep; set the optimizer up on a model '
            f'that holds the model'
        )
    return target


def _writes(trainer):
    """Whether this process writes the files and output of ``trainer``: always, except
    in a data-parallel run, where rank 0 alone does."""
    comm = getattr(trainer, 'comm', None)
    return comm is None or comm.rank == 0


def _check_folder(owner, path, trainer):
    """Where this process writes the files of ``trainer`` (see :func:`_writes`), refuse
    before training what a save at the end of an epoch would refuse after it: a
    missing folder (FileNotFoundError naming ``owner``), and a path that is a folder,
    a special or read-only file, or lies below a file (see
    :func:`~dezero.atomic.check_writable`)."""
    if not _writes(trainer):
        return
    check_writable(path, operation=owner)  # (a missing folder passes: said below)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'{owner}: the folder {folder} for {path} does not exist')


# --------------------------------------------------------------------------------------
# Checkpoint: resumable training
# --------------------------------------------------------------------------------------
_CHECKPOINT_FORMAT = {'format': 'dezero training checkpoint', 'version': 1}


class Checkpoint:
    """Save the whole training state to the ``.npz`` file ``path`` at the end of every
    epoch, and resume from it: a :meth:`Trainer.fit` given a Checkpoint whose file
    exists restores that state and goes on at the next epoch, so that a run stopped
    at any point (killed, even mid-save) and started again with the same code, data
    and arguments ends with the weights and history, bit for bit on the CPU, of a run
    never interrupted.

    The file is one archive, written atomically (a failed or interrupted save leaves
    the previous checkpoint), of plain arrays and one JSON text, no pickled objects:
    the weights (``'model/<path>'``, as :meth:`~dezero.layers.Layer.save_weights`
    keys them; when the optimizer trains a bigger model holding the model, a head
    applied in the loss say, its other parameters too, as ``'target/<path>'`` by
    their paths in that model), the optimizer's :meth:`~dezero.optimizers.Optimizer.state_dict`
    (``'optimizer/<path>/<name>'``, its hyperparameters and step count), the state of
    the schedules and of the callbacks that have ``state_dict()`` (EarlyStopping,
    BestWeights), the epoch, whether a callback stopped training, the history,
    NumPy's global random state (weight initialisation, dropout, shuffling) and, for
    each :class:`~dezero.DataLoader`, its sample order for the next epoch and its
    own generator (``seed=``).  CuPy's random state is not saved.  On resuming, a
    parameter that has no data yet (a lazy layer) gets its weights on the GPU when
    the model's other parameters or the training batches (``DataLoader(gpu=True)``)
    are there.

    Resuming checks everything first: a file that does not fit (another model, a
    parameter of another shape, another optimizer, other schedules, metrics or
    loaders, more epochs than asked for) raises ValueError naming the file and what
    differs, and nothing changes.  A callback with ``state_dict()`` needs
    ``load_state_dict(state)``, and its state must be what JSON holds (dicts with
    string keys, lists, strings, numbers, booleans and None; NumPy scalars are
    converted): both are checked before training, the state again at each save.  On
    resuming, the callbacks load their state before anything else is, so one whose
    ``load_state_dict`` raises leaves the model, the optimizer, the schedules, the
    loaders, the random state and the other callbacks as they were; the error is
    re-raised as ValueError naming the callback and the file.  ``resumed_epoch`` is
    the epoch the last fit resumed from, None when it started afresh.  The
    optimizer's hyperparameters (its learning rate among them) are part of the saved
    state, as in PyTorch's ``load_state_dict``: a value changed in the script before
    the run is started again gives way to the saved one.  Hooks such as WeightDecay
    keep the script's settings; a schedule whose settings differ is refused.

    In a data-parallel run (:mod:`dezero.distributed`) rank 0 writes the file and
    decides whether to resume; every process then reads it, so it must be where all
    of them see it (one machine, or a shared file system).  The file holds every
    process's NumPy random state (their dropout draws differ with their shares) and
    the state of its loaders (each may hold a share of its own, of its own size), and
    each goes on with its own; it resumes with as many processes as saved it.
    """

    def __init__(self, path):
        self.path = file_path(path, 'Checkpoint')
        self.resumed_epoch = None

    def on_train_begin(self, trainer):
        """Check the folder of ``path`` and the state of the callbacks, then, when the
        file exists (as rank 0 sees it), restore the training state from it and set
        ``resumed_epoch``; RuntimeError when not called by :meth:`Trainer.fit`."""
        if getattr(trainer, '_run', None) is None:
            raise RuntimeError(
                'Checkpoint: a Checkpoint works from inside Trainer.fit; pass it to '
                'fit(..., callbacks=[checkpoint])'
            )
        _check_folder('Checkpoint', self.path, trainer)
        _check_stateful_callbacks(trainer._run, 'Checkpoint', self.path)
        self.resumed_epoch = None
        exists = os.path.exists(self.path)
        comm = getattr(trainer, 'comm', None)
        if comm is not None:  # rank 0's file decides, for every process
            exists = comm.bcast(exists, 0)
        if exists:
            self._restore(trainer)
            self.resumed_epoch = trainer._run.done

    def on_epoch_end(self, trainer, epoch, logs):
        """Save the whole training state to ``path`` (rank 0 writes it, with the random
        state and the loaders' states of every process)."""
        comm = getattr(trainer, 'comm', None)
        run = trainer._run
        loaders = (run.train_loader, run.val_loader) if run is not None else (None, None)
        states = [(np.random.get_state(), [_loader_state(loader) for loader in loaders])]
        if comm is not None and comm.size > 1:  # each process's draws and shares its own
            states = comm.allgather(states[0])
        if _writes(trainer):
            self._save(trainer, states)

    # ---- saving --------------------------------------------------------------------
    def _save(self, trainer, states):
        """Write the file; ``states``: by rank, NumPy's random state of every process
        and the ``(meta, index)`` of its train and val loaders (see :func:`_loader_state`)."""
        run = trainer._run
        owner = 'Checkpoint'
        if run is None:
            raise RuntimeError(
                f'{owner}: a Checkpoint saves from inside Trainer.fit; pass it to '
                f'fit(..., callbacks=[checkpoint])'
            )
        arrays = {'model/' + path: a for path, a in weight_arrays(trainer.model, owner).items()}
        others = _other_params(trainer, owner)
        for param, paths in others:
            if param.data is not None:
                arrays.update(('target/' + path, cuda.as_numpy(param.data)) for path in paths)
        optimizer_meta, optimizer_arrays = split_state(trainer.optimizer.state_dict())
        arrays.update({'optimizer/' + k: v for k, v in optimizer_arrays.items()})
        randoms, loaders = [], []
        for rank, (random, loader_states) in enumerate(states):
            kind, keys, pos, has_gauss, cached = random
            suffix = '' if rank == 0 else str(rank)
            arrays[f'random/keys{suffix}'] = keys
            randoms.append(
                {
                    'kind': kind,
                    'pos': int(pos),
                    'has_gauss': int(has_gauss),
                    'cached_gaussian': float(cached),
                }
            )
            loaders.append({})
            for name, (meta, index) in zip(('train', 'val'), loader_states):
                loaders[rank][name] = meta
                if index is not None:
                    arrays[f'loaders/{name}/index{suffix}'] = index
        meta = {
            **_CHECKPOINT_FORMAT,
            'epoch': trainer.epoch,
            'stopped': bool(trainer.stop_training),
            'history': run.history,
            'optimizer': optimizer_meta,
            'schedules': [s.state_dict() for s in run.schedules],
            'callbacks': [
                [type(cb).__name__, _json_state(cb, cb.state_dict(), owner, self.path)]
                for cb in _stateful(run)
            ],
            'random': randoms[0],
            'loaders': loaders[0],
            'parameters': _parameter_names(trainer.model, owner),
        }
        if others:  # (only then: the optimizer trains parameters besides the model's)
            meta['target_parameters'] = [paths[0] for _, paths in others]
        if len(randoms) > 1:  # the other processes of a data-parallel run, rank 1 on
            meta['random_of_ranks'] = randoms[1:]
            meta['loaders_of_ranks'] = loaders[1:]
        arrays['__checkpoint__'] = text = json_array(meta)
        if text.nbytes > MAX_TEXT_BYTES:  # a file that could not be read back
            raise _text_too_large(meta, text.nbytes, owner, self.path)
        with atomic_open(self.path, 'wb', operation=owner) as f:
            write_npz(f, arrays)

    # ---- resuming ------------------------------------------------------------------
    @staticmethod
    def _exists(trainer):
        """A function telling whether a file of the callbacks is there, as rank 0, which
        writes them, sees it; the other processes of a data-parallel run take it to be
        there, with no communication: rank 0's refusal reaches them when the processes
        agree on the outcome of the checks (see :meth:`_restore`)."""

        def exists(path):
            return os.path.isfile(path) if _writes(trainer) else True

        return exists

    def _restore(self, trainer):
        """Check the file against the trainer and the running fit, then load it all.
        In a data-parallel run the processes agree on the outcome of the checks before
        any loads: when one refuses the file, every one raises (the others naming the
        rank that refused and why) instead of leaving it alone while they wait for it."""
        comm = getattr(trainer, 'comm', None)
        together = comm is not None and comm.size > 1
        problem = load = None
        try:
            load = self._prepare_restore(trainer)
        except Exception as e:
            if not together:
                raise
            problem = e
        if together:
            _raise_everywhere(comm, problem, 'Checkpoint')
        load()

    def _prepare_restore(self, trainer):
        """Check the file against the trainer and the running fit, with no
        communication between processes; return a function that loads it all."""
        owner, path, run = 'Checkpoint', self.path, trainer._run
        check = _size_check(trainer, owner, path)
        arrays = read_npz(path, owner, check, text_entry='__checkpoint__')
        meta = read_json(arrays, '__checkpoint__', _CHECKPOINT_FORMAT, owner, path)
        parts = {'model': {}, 'target': {}, 'optimizer': {}, 'random': {}, 'loaders': {}}
        for key, array in arrays.items():
            part, _, rest = key.partition('/')
            if part not in parts or not rest:
                raise ValueError(f'{owner}: {path} holds an unexpected entry {key!r}')
            parts[part][rest] = array
        try:
            epoch, stopped, history = meta['epoch'], meta['stopped'], meta['history']
            optimizer_meta, schedules = meta['optimizer'], meta['schedules']
            callbacks, random, loaders = meta['callbacks'], meta['random'], meta['loaders']
        except KeyError as e:
            raise ValueError(f'{owner}: {path} lacks the entry {e} of a checkpoint') from None
        for key in ('optimizer', 'loaders'):
            if not isinstance(meta[key], dict):
                raise ValueError(f'{owner}: {path} holds {key}={meta[key]!r}; expected a dict')

        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
            raise ValueError(f'{owner}: {path} holds epoch={epoch!r}; expected an int >= 1')
        if epoch > run.epochs:
            raise ValueError(
                f'{owner}: {path} was saved after epoch {epoch}, past the {run.epochs} '
                f'epochs asked for; ask for more epochs, or remove the file to start afresh'
            )
        if not isinstance(history, dict) or list(history) != list(run.history):
            saved = ', '.join(history) if isinstance(history, dict) else repr(history)
            raise ValueError(
                f'{owner}: {path} has a history of {saved}; this fit records '
                f'{", ".join(run.history)} (the metrics, the val_loader and the '
                f'schedules must be those of the run that saved it)'
            )
        if any(not isinstance(v, list) or len(v) != epoch for v in history.values()):
            raise ValueError(f'{owner}: {path} holds a history that is not {epoch} epochs long')
        for name, values in history.items():
            for i, value in enumerate(values):
                if not _is_number(value):
                    raise ValueError(
                        f'{owner}: {path} holds {value!r} as the {name} of epoch {i + 1} '
                        f'in its history; expected a number that a float holds'
                    )
        weights = planned_weights(trainer.model, parts['model'], owner, path)
        _check_parameter_names(meta.get('parameters'), trainer.model, owner, path)
        weights += _planned_other_weights(
            trainer, weights, parts['target'], meta.get('target_parameters'), owner, path
        )
        planned = {id(param): array for param, array in weights}
        loads = [
            trainer.optimizer._prepare_load(
                join_state(optimizer_meta, parts['optimizer'], owner, path),
                owner,
                path,
                planned,
            )
        ]
        if not isinstance(schedules, list) or len(schedules) != len(run.schedules):
            count = len(schedules) if isinstance(schedules, list) else repr(schedules)
            raise ValueError(
                f'{owner}: {path} holds {count} schedules; this fit has {len(run.schedules)}'
            )
        # the schedules first: they set the learning rate, which the optimizer's
        # hyperparameters then set again (to the same value)
        loads[:0] = [s._prepare_load(st, owner, path) for s, st in zip(run.schedules, schedules)]
        load_callbacks = _prepare_callbacks(
            _stateful(run), callbacks, epoch, owner, path, self._exists(trainer)
        )
        random_state = _random_state(random, parts['random'].get('keys'), owner, path)
        comm = getattr(trainer, 'comm', None)
        others = meta.get('random_of_ranks')
        suffix = ''  # of the arrays of this process's loaders: rank 0's unless its own
        if comm is not None:  # every process sees the file
            saved_by = len(others) + 1 if isinstance(others, list) else 1
            if saved_by != comm.size:
                raise ValueError(
                    f'{owner}: {path} was saved by {saved_by} process'
                    f'{"es" if saved_by > 1 else ""}; this run has {comm.size} (each '
                    f'process goes on with its own random state)'
                )
            if comm.rank > 0:
                keys = parts['random'].get(f'keys{comm.rank}')
                random_state = _random_state(others[comm.rank - 1], keys, owner, path)
                # a file saved before each process's loaders were kept: rank 0's for all
                of_ranks = meta.get('loaders_of_ranks')
                if of_ranks is not None:
                    if not isinstance(of_ranks, list) or len(of_ranks) != len(others):
                        raise ValueError(
                            f'{owner}: {path} holds loaders_of_ranks={of_ranks!r:.80}; '
                            f'expected a list of the loaders of the {len(others)} processes '
                            f'after rank 0'
                        )
                    loaders, suffix = of_ranks[comm.rank - 1], str(comm.rank)
                    if not isinstance(loaders, dict):
                        raise ValueError(
                            f'{owner}: {path} holds loaders={loaders!r:.80} for rank '
                            f'{comm.rank}; expected a dict'
                        )
        for name, loader in (('train', run.train_loader), ('val', run.val_loader)):
            index = parts['loaders'].get(f'{name}/index{suffix}')
            loads.append(_prepare_loader(loader, loaders.get(name), index, name, owner, path))
        if not isinstance(stopped, bool):
            raise ValueError(f'{owner}: {path} holds stopped={stopped!r}; expected True or False')

        def load_all():
            # everything fits: load it.  The callbacks first, as they alone may refuse
            # (their load_state_dict is theirs); all the rest was checked above.  A
            # parameter without data yet (a lazy layer) goes where the model runs: the
            # GPU if its other parameters or the batches are there
            load_callbacks()
            gpu = getattr(run.train_loader, 'gpu', False) is True or any(
                p.data is not None and cuda.is_gpu_array(p.data) for p in trainer.model.params()
            )
            assign_weights(weights, new_on_gpu=gpu)
            for load in loads:
                load()
            for name, values in history.items():
                run.history[name][:] = [float(v) for v in values]
            np.random.set_state(random_state)
            trainer.epoch = run.done = epoch
            trainer.stop_training = stopped

        return load_all


def _size_check(trainer, owner, path):
    """The ``check`` of :func:`~dezero.serialization.read_npz` for the checkpoint
    ``path`` (see :func:`~dezero.serialization.size_check`): no array in it may be
    larger than the largest that this fit keeps, a parameter's (of the model, frozen
    ones included, as the checkpoint saves them, or of the optimizer's target), a
    loader's order of samples or the 624 keys of NumPy's random state.  None (no
    check) while a parameter has no data yet: its array, of a size not known, comes
    from the file."""
    run = trainer._run
    loaders = (run.train_loader, run.val_loader)
    sizes = [624] + [loader.data_size for loader in loaders if isinstance(loader, DataLoader)]
    params = [param for param, _ in param_paths(trainer.model, owner).values()]
    params += [param for param, _ in _other_params(trainer, owner)]
    if any(param.data is None for param in params):
        return None
    sizes += [param.data.size for param in params]
    return size_check(max(sizes), '__checkpoint__', owner, path)


def _parameter_names(model, owner):
    """The path of every parameter of ``model``, those without data too, in order."""
    return [paths[0] for _, paths in param_paths(model, owner).values()]


def _check_parameter_names(saved, model, owner, path):
    """ValueError unless ``model`` has the parameters, by path, of the model that saved
    the checkpoint ``path`` (``saved``; None in a file written before they were kept).
    Its weights alone cannot tell: a layer added since, that has no weights yet (a
    BatchNorm, a Linear without bias), has no entry to miss."""
    if saved is None:
        return
    if not isinstance(saved, list) or not all(isinstance(name, str) for name in saved):
        raise ValueError(
            f'{owner}: {path} holds parameters={saved!r:.80}; expected a list of paths'
        )
    saved, now = set(saved), set(_parameter_names(model, owner))
    if saved != now:
        added, gone = sorted(now - saved), sorted(saved - now)
        differences = [
            f'{what}: {_listed(names)}'
            for what, names in (('not in the saved model', added), ('not in this model', gone))
            if names
        ]
        raise ValueError(
            f'{owner}: {path} was saved for a model with other parameters '
            f'({"; ".join(differences)}); resume with the model that saved it, or remove '
            f'the file to start afresh'
        )


def _other_params(trainer, owner):
    """``[(parameter, paths)]`` for the parameters that the optimizer of ``trainer``
    trains besides those of the model: those of its target, a bigger model holding the
    model (a head applied in the loss, say), that the model has not, each with its
    paths in the target (see :func:`param_paths`); empty when the target is the model
    or holds none but the model's."""
    model = trainer.model
    target = getattr(getattr(trainer, 'optimizer', None), 'target', None)
    if target is None or target is model:
        return []
    own = param_paths(model, owner)
    if not callable(_method(target, 'named_params')):
        if all(id(p) in own for p in target.params()):
            return []
        raise TypeError(
            f"{owner}: the optimizer trains parameters besides the model's, and its "
            f'target ({type(target).__name__}) has no named_params(), so they have no '
            f'paths to be saved under; set the optimizer up on a Layer or Model that '
            f'holds the model and the other layers'
        )
    return [(p, paths) for key, (p, paths) in param_paths(target, owner).items() if key not in own]


def _planned_other_weights(trainer, planned, stored, saved, owner, path):
    """``[(param, array)]`` for the parameters that the optimizer trains besides the
    model's (see :func:`_other_params`), from ``stored`` (their ``'target/'`` entries
    in the checkpoint ``path``, by their paths in the target) and ``saved`` (the
    paths listed there, None in a file saved without them), checked as
    :func:`planned_weights` checks the model's; ``planned``: the model's, which the
    target's layers check with them (a lazy layer's shapes)."""
    others = _other_params(trainer, owner)
    names = [paths[0] for _, paths in others]
    if saved is None:
        if others:
            raise ValueError(
                f'{owner}: {path} holds no weights for the parameters that the optimizer '
                f'trains besides the model ({_listed(names)}), so they would start from '
                f'their initial values; resume with the optimizer of the run that saved '
                f'it, or remove the file to start afresh'
            )
        saved = []
    if not isinstance(saved, list) or not all(isinstance(name, str) for name in saved):
        raise ValueError(
            f'{owner}: {path} holds target_parameters={saved!r:.80}; expected a list of paths'
        )
    if set(saved) != set(names):
        raise ValueError(
            f'{owner}: {path} was saved with an optimizer that trains '
            f'{_listed(saved) if saved else "nothing"} besides the model; this one trains '
            f'{_listed(names) if names else "nothing"} besides it (resume with the '
            f'optimizer of the run that saved it, or remove the file to start afresh)'
        )
    if not others:
        if stored:
            raise ValueError(
                f'{owner}: {path} holds unexpected entries '
                f'{_listed(["target/" + key for key in stored])}'
            )
        return []
    # the whole target is checked, the model's parameters with what they are to get
    target = trainer.optimizer.target
    arrays = {id(param): array for param, array in planned}
    whole = {}
    for key, (param, paths) in param_paths(target, owner).items():
        if key in arrays:
            whole[paths[0]] = arrays[key]
    clash = [key for key in stored if key in whole]
    if clash:
        raise ValueError(
            f'{owner}: {path} holds {_listed(["target/" + key for key in clash])}, '
            f"parameters of the model, which the model's entries hold"
        )
    others = {id(param) for param, _ in others}
    return [
        (param, array)
        for param, array in planned_weights(target, {**whole, **stored}, owner, path)
        if id(param) in others
    ]


def _listed(names):
    """Up to five ``names`` as the errors show them: ``'a', 'b' ...``."""
    return ', '.join(map(repr, names[:5])) + (' ...' if len(names) > 5 else '')


# What each field of NumPy's global random state (np.random.get_state()) must be.  NumPy
# takes any number for the integers, and a position past the 624 keys crashes the
# process at the next draw.
_RANDOM_FIELDS = {
    'kind': ("'MT19937'", lambda v: v == 'MT19937'),
    'pos': ('an int from 0 to 624', lambda v: _is_int(v) and v <= 624),
    'has_gauss': ('0 or 1', lambda v: _is_int(v) and v <= 1),
    'cached_gaussian': ('a number that a float holds', _is_number),
}


def _random_state(random, keys, owner, path):
    """NumPy's global random state, as ``np.random.set_state`` takes it, from the
    ``random`` entry of the checkpoint ``path`` and its array ``keys``, checked."""
    if not isinstance(random, dict) or set(random) != set(_RANDOM_FIELDS):
        raise ValueError(
            f'{owner}: {path} holds no valid NumPy random state (expected the fields '
            f'{", ".join(_RANDOM_FIELDS)})'
        )
    _check_fields(random, _RANDOM_FIELDS, owner, f'the random state in {path}')
    if keys is None or keys.dtype != np.uint32 or keys.shape != (624,):
        held = 'none' if keys is None else f'shape {keys.shape} and dtype {keys.dtype}'
        raise ValueError(
            f'{owner}: the random state in {path} holds keys of {held}; expected 624 uint32'
        )
    return (random['kind'], keys, random['pos'], random['has_gauss'], random['cached_gaussian'])


def _stateful(run):
    """The callbacks of ``run`` whose state a Checkpoint keeps."""
    return [cb for cb in run.callbacks if callable(getattr(cb, 'state_dict', None))]


def _prepare_callbacks(callbacks, saved, epoch, owner, path, file_exists):
    """Check the saved ``[[class name, state], ...]`` against ``callbacks``; return a
    function that loads them.  ``epoch``: the last epoch the checkpoint saved, which
    no epoch a state names may pass.  ``file_exists(path)`` tells whether a
    callback's file is there, as the process that reads it sees it."""
    mine = [type(cb).__name__ for cb in callbacks]
    shaped = isinstance(saved, list) and all(
        isinstance(entry, list) and len(entry) == 2 for entry in saved
    )
    theirs = [entry[0] for entry in saved] if shaped else None
    if theirs != mine:
        raise ValueError(
            f'{owner}: {path} holds the state of the callbacks {theirs}; this fit has '
            f'{mine} (give the callbacks of the run that saved it)'
        )
    for cb, (name, state) in zip(callbacks, saved):
        if isinstance(cb, _Watching):
            cb._check_state(state, owner, f'the {name} state in {path}')
            _check_epochs(state, epoch, owner, f'the {name} state in {path}')
        elif not isinstance(state, dict) or set(state) != set(cb.state_dict()):
            raise ValueError(f'{owner}: {path} holds a state of {name} that does not fit it')
        if (
            isinstance(cb, BestWeights)
            and cb.restore
            and state['best_epoch'] is not None
            and not file_exists(cb.path)
        ):
            raise FileNotFoundError(
                f'{owner}: {path} goes on from the best weights of epoch '
                f'{state["best_epoch"]} in {cb.path}, which is gone (the run would '
                f'end by loading it); put it back, or remove {path} to start afresh'
            )

    def load():
        # a callback that refuses its state leaves the callbacks before it as they were
        before = [copy.deepcopy(cb.state_dict()) for cb in callbacks]  # not live lists
        for i, (cb, (name, state)) in enumerate(zip(callbacks, saved)):
            try:
                cb.load_state_dict(state)
            except Exception as e:
                for loaded, old_state in zip(callbacks[:i], before):
                    loaded.load_state_dict(old_state)
                raise ValueError(
                    f'{owner}: the callback {name} refused its state in {path}, so '
                    f'nothing was resumed: {type(e).__name__}: {e}'
                ) from e

    return load


def _check_epochs(state, epoch, owner, source):
    """ValueError when the state of a watching callback (checked by its
    ``_check_state``), from ``source``, names an epoch past ``epoch``, the last that
    the checkpoint saved: a best epoch, or an epoch it stopped in, that never ran."""
    for key in ('best_epoch', 'stopped_epoch'):
        if state.get(key) is not None and state[key] > epoch:
            raise ValueError(
                f'{owner}: {source} holds {key}={state[key]!r}, past epoch {epoch}, the '
                f'last that the checkpoint saved'
            )


def _check_stateful_callbacks(run, owner, path):
    """Before training, refuse the callbacks whose state a Checkpoint at ``path``
    could save but not give back: those with ``state_dict()`` but no
    ``load_state_dict(state)`` (TypeError), and those whose state, read now, JSON
    cannot hold (ValueError, see :func:`_json_state`).  A state that cannot be read
    before training is checked at each save."""
    for cb in _stateful(run):
        name = type(cb).__name__
        if not callable(getattr(cb, 'load_state_dict', None)):
            raise TypeError(
                f'{owner}: the callback {name} has state_dict() but no '
                f'load_state_dict(state), so {path} could save its state but never '
                f'give it back; give it load_state_dict, or remove its state_dict'
            )
        try:
            state = cb.state_dict()
        except Exception:  # not readable before training: checked when saved
            continue
        _json_state(cb, state, owner, path)


def _text_too_large(meta, nbytes, owner, path):
    """The ValueError for a checkpoint's text ``meta`` taking ``nbytes`` bytes, more
    than :data:`~dezero.serialization.MAX_TEXT_BYTES`, which a read of the file would
    refuse: naming its largest part, a callback's state or another entry."""
    parts = {f'the state of {name}': state for name, state in meta['callbacks']}
    parts.update({f'the {key}': value for key, value in meta.items() if key != 'callbacks'})
    largest = max(parts, key=lambda part: len(json.dumps(parts[part])))
    return ValueError(
        f'{owner}: cannot write {path}: its text would take {nbytes} bytes (NumPy keeps '
        f'4 per character), more than a checkpoint may hold, {MAX_TEXT_BYTES}, so it could '
        f'not be read back; the largest part is {largest}: keep less in it'
    )


def _json_state(cb, state, owner, path):
    """The ``state_dict()`` of the callback ``cb`` as the JSON text of the checkpoint
    ``path`` holds it: a dict with string keys, of None, booleans, numbers, strings,
    lists (tuples become lists) and such dicts.  NumPy scalars become Python numbers;
    anything else raises ValueError naming the callback and the key."""
    name = type(cb).__name__
    if not isinstance(state, dict):
        raise ValueError(
            f'{owner}: the state_dict() of the callback {name} is a '
            f'{type(state).__name__}; {path} keeps a dict of names and values'
        )
    return _json_value(state, name, '', owner, path)


def _json_value(value, name, key, owner, path):
    """``value``, found at ``key`` (such as ``['n']``) in the state of the callback
    ``name``, as JSON holds it (see :func:`_json_state`)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v, name, f'{key}[{i}]', owner, path) for i, v in enumerate(value)]
    if isinstance(value, dict):
        plain = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(
                    f'{owner}: the state of the callback {name} has the key {k!r} at '
                    f'{key or "its top"}; {path} keeps string keys only (JSON)'
                )
            plain[k] = _json_value(v, name, f'{key}[{k!r}]', owner, path)
        return plain
    raise ValueError(
        f'{owner}: the state of the callback {name} holds a {type(value).__name__} at '
        f'{key}; {path} keeps None, booleans, numbers, strings, lists and dicts '
        f'(JSON): convert it (array.tolist(), float(x))'
    )


def _loader_state(loader):
    """``(meta, index)`` of a :class:`DataLoader` for a checkpoint: its
    :meth:`~DataLoader.state_dict` without the sample order, and the order (stored as
    an array of its own); ``(None, None)`` for other loaders."""
    if not isinstance(loader, DataLoader):
        return None, None
    state = loader.state_dict()
    return state, state.pop('index')


def _prepare_loader(loader, meta, index, name, owner, path):
    """Check the saved state of the ``name`` loader against ``loader``; return a
    function that loads it."""
    if not isinstance(loader, DataLoader):
        if meta is not None:
            raise ValueError(
                f'{owner}: {path} was saved with a DataLoader as the {name} loader; '
                f'this fit has {type(loader).__name__}'
            )
        return lambda: None
    if not isinstance(meta, dict) or index is None:
        raise ValueError(
            f'{owner}: {path} holds no state for a DataLoader as the {name} loader; '
            f'give the loaders of the run that saved it'
        )
    return loader._prepare_load({**meta, 'index': index}, owner, f'the {name} loader in {path}')


# --------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------
def plot_history(history, to_file, title=None):
    """Draw the history of :meth:`Trainer.fit` into the picture ``to_file`` (format from
    the extension, PNG without one): one panel for the loss and one per metric,
    training and validation curves together, and one for the learning rate when the
    history has ``'lr'``.  The file is written atomically.  Needs
    matplotlib; the global pyplot state (backend, open figures) is left alone.
    Returns ``to_file``."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plot_history needs matplotlib (pip install matplotlib)') from None
    if not isinstance(history, dict):
        raise TypeError(
            f'plot_history: history must be the dict returned by '
            f'Trainer.fit, got {type(history).__name__}'
        )
    for name, values in history.items():
        if (
            not isinstance(name, str)
            or isinstance(values, (str, bytes))
            or not hasattr(values, '__len__')
        ):
            raise TypeError(
                f'plot_history: history must map names to lists of numbers, one per '
                f'epoch, as Trainer.fit returns; got {name!r}: {values!r:.60}'
            )
    if not isinstance(to_file, (str, bytes, os.PathLike)):
        raise TypeError(
            f'plot_history: to_file must be a path (str, bytes or os.PathLike), got '
            f'{type(to_file).__name__}'
        )
    names = [k for k in history if not k.startswith('val_')]
    if not names or not any(len(history[k]) for k in names):
        raise ValueError('plot_history: the history is empty (no training epochs)')
    fig = Figure(figsize=(4.5 * len(names), 3.6))
    fmt = (os.path.splitext(os.fsdecode(to_file))[1].lstrip('.') or 'png').lower()
    if fmt not in fig.canvas.get_supported_filetypes():
        raise ValueError(
            f'plot_history: cannot write {fmt!r} pictures; use one of '
            f'{", ".join(sorted(fig.canvas.get_supported_filetypes()))}'
        )
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names):
        if name == 'lr':  # the learning rate of the schedules: one curve, no legend
            ax.plot(np.arange(1, len(history[name]) + 1), history[name])
            ax.set_title('learning rate')
        else:
            ax.plot(np.arange(1, len(history[name]) + 1), history[name], label='train')
            val = history.get('val_' + name)
            if val is not None and len(val):
                ax.plot(np.arange(1, len(val) + 1), val, label='validation')
            ax.set_title(name)
            ax.legend()
        ax.set_xlabel('epoch')
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_open(to_file, 'wb') as f:
        fig.savefig(f, format=fmt, dpi=100)
    return to_file

"""A training loop to reuse: fit, evaluate, callbacks and a picture of the history.

The loop is the one a learner writes by hand (and the tutorial steps still do):

    for x, t in loader:
        loss = loss_fn(model(x), t)
        model.cleargrads()
        loss.backward()
        optimizer.update()

:class:`Trainer` runs it for a number of epochs, averages the loss and the metrics over
each epoch (weighted by batch size), evaluates on validation data under ``test_mode()``
and ``no_grad()``, reports progress, and lets callbacks stop early or keep the best
weights.

>>> import numpy as np
>>> from dezero import DataLoader, optimizers
>>> from dezero.datasets import Spiral
>>> from dezero.models import MLP
>>> np.random.seed(0)
>>> train_loader = DataLoader(Spiral(train=True), batch_size=30)
>>> test_loader = DataLoader(Spiral(train=False), batch_size=30, shuffle=False)
>>> trainer = Trainer(MLP((10, 3)), optimizers.SGD(lr=1.0))
>>> history = trainer.fit(train_loader, epochs=5, val_loader=test_loader, progress=False,
...                       callbacks=[EarlyStopping('val_loss', patience=3)])
>>> sorted(history), len(history['loss'])
(['acc', 'loss', 'val_acc', 'val_loss'], 5)
>>> history['loss'][-1] < history['loss'][0]
True
"""

import math
import numbers
import os
import sys

import numpy as np

import dezero.functions as F
from dezero import cuda
from dezero.atomic import atomic_open
from dezero.core import Variable, no_grad, test_mode
from dezero.progress import EpochProgress, format_metrics

_HOOKS = ('on_train_begin', 'on_epoch_end', 'on_train_end')


def _value(v, what):
    """A loss or metric (Variable, array or number, on either device) of one element as
    a Python float."""
    a = cuda.as_numpy(v.data if isinstance(v, Variable) else v)
    if a.size != 1 or a.dtype.kind not in 'biuf':
        raise ValueError(
            f'Trainer: {what} must give one number per batch, got '
            f'{type(v).__name__} with shape {a.shape} and dtype {a.dtype}'
        )
    return float(a.reshape(()))


class Trainer:
    """Trains ``model`` with ``optimizer``, minimising ``loss(y, t)``.

    ``metrics`` maps names to functions ``f(y, t)`` computed on every batch; ``{}`` for
    none.  By default it depends on the loss: ``{'acc': F.accuracy}`` for
    ``F.softmax_cross_entropy``; for ``F.sigmoid_cross_entropy`` (logits) and
    ``F.binary_cross_entropy`` (probabilities), ``'acc'`` is the fraction of outputs on
    the side of the decision threshold (logit 0, probability 0.5) that their target is
    on; other losses, such as ``F.mean_squared_error``, get no metric, as accuracy
    means nothing for them.  'loss' and names starting with 'val_' are reserved for
    the history.  The optimizer is set up on the model if it has no
    target yet.  Loaders are :class:`dezero.DataLoader` objects or any iterable of
    ``(x, t)`` batches; ``len(t)`` is the batch size, and the loss and metrics are taken
    to be batch means, so an epoch's figure is their average weighted by batch size.
    """

    def __init__(self, model, optimizer, loss=F.softmax_cross_entropy, metrics=None):
        if not callable(loss):
            raise TypeError(f'Trainer: loss must be a function f(y, t), got {type(loss).__name__}')
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

    # ---- one pass -------------------------------------------------------------------
    def _run_epoch(self, loader, train, caller):
        """Average loss and metrics over one pass through ``loader``."""
        totals = {'loss': 0.0, **{name: 0.0 for name in self.metrics}}
        count = 0
        for x, t in loader:
            y = self.model(x)
            loss = self.loss(y, t)
            if train:
                self.model.cleargrads()
                loss.backward()
                self.optimizer.update()
            n = len(t)
            totals['loss'] += _value(loss, 'the loss') * n
            with no_grad():  # metrics are never differentiated
                for name, f in self.metrics.items():
                    totals[name] += _value(f(y, t), f'the metric {name!r}') * n
            count += n
        if count == 0:
            raise ValueError(f'{caller}: the loader gave no samples')
        return {name: total / count for name, total in totals.items()}

    def evaluate(self, loader):
        """The average loss and metrics over ``loader`` (a dict ``{'loss': ..,
        <metric>: ..}``), computed in test mode (dropout off, batch norm on running
        statistics) without recording a graph; the parameters are not changed."""
        with test_mode(), no_grad():
            return self._run_epoch(loader, train=False, caller='Trainer.evaluate')

    # ---- fit --------------------------------------------------------------------------
    def fit(self, train_loader, epochs, val_loader=None, progress=True, callbacks=()):
        """Train for ``epochs`` epochs (fewer if a callback stops it) and return the
        history: a dict of per-epoch lists, ``loss`` and each metric for the training
        passes and, with ``val_loader``, ``val_loss`` and ``val_<metric>``.

        ``progress``: True for a tqdm bar when tqdm is installed and a line every tenth
        of the run (and one for the epoch where a callback stopped it), False for
        silence.  ``callbacks``: a list of objects with any of the methods
        ``on_train_begin(trainer)``, ``on_epoch_end(trainer, epoch, logs)`` (``logs``:
        this epoch's figures; set ``trainer.stop_training = True`` to stop) and
        ``on_train_end(trainer)``, called in the order of the list.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f'Trainer.fit: epochs must be a positive int, got {epochs!r}')
        epochs = int(epochs)
        callbacks = _check_callbacks(callbacks)
        names = ['loss', *self.metrics]
        history = {name: [] for name in names}
        if val_loader is not None:
            history.update({'val_' + name: [] for name in names})
        self.stop_training = False
        self._call(callbacks, 'on_train_begin')
        progress_bar = EpochProgress(epochs, desc='fit') if progress else None
        stopped_line = None
        try:
            for epoch in range(1, epochs + 1):
                self.epoch = epoch
                logs = self._run_epoch(train_loader, train=True, caller='Trainer.fit')
                if val_loader is not None:
                    logs.update({'val_' + k: v for k, v in self.evaluate(val_loader).items()})
                for name, value in logs.items():
                    history[name].append(value)
                if progress_bar is not None:
                    progress_bar.update(**logs)
                self._call(callbacks, 'on_epoch_end', epoch, logs)
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
        self._call(callbacks, 'on_train_end')
        return history

    def _call(self, callbacks, method, *args):
        for cb in callbacks:
            f = getattr(cb, method, None)
            if f is not None:
                f(self, *args)


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
    the target ``t`` (same shape, values in [0, 1]) is at least 0.5."""
    y, t = (a.data if isinstance(a, Variable) else a for a in (y, t))
    if y.shape != t.shape:
        raise ValueError(
            f'{who}: the outputs have shape {y.shape} but the targets '
            f'{t.shape}; expected the same shape'
        )
    return float(((y > threshold) == (t >= 0.5)).mean())


def _logit_accuracy(y, t):
    """Accuracy of the logits ``y`` against binary targets ``t`` (positive: y > 0)."""
    return _binary_accuracy('the accuracy of sigmoid_cross_entropy', y, t, 0.0)


def _probability_accuracy(p, t):
    """Accuracy of the probabilities ``p`` against binary targets ``t`` (positive:
    p > 0.5)."""
    return _binary_accuracy('the accuracy of binary_cross_entropy', p, t, 0.5)


def _check_target(model, target):
    """Refuse an optimizer set up on another model: it would train the wrong weights."""
    own = {id(p) for p in model.params()}
    if own and own.isdisjoint(id(p) for p in target.params()):
        raise ValueError(
            f'Trainer: the optimizer is set up on another model '
            f'({type(target).__name__}) that holds none of the parameters of '
            f'the model to train ({type(model).__name__})'
        )


def _check_callbacks(callbacks):
    """``callbacks`` as a list, each one having at least one of the hook methods."""
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
    for cb in callbacks:
        if not any(callable(getattr(cb, hook, None)) for hook in _HOOKS):
            raise TypeError(
                f'Trainer.fit: the callback {cb!r} has none of the methods {", ".join(_HOOKS)}'
            )
    return callbacks


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
        self.owner, self.monitor, self.mode = owner, monitor, mode
        self.min_delta = float(min_delta)
        self.best = None
        self.best_epoch = None

    def reset(self):
        self.best = None
        self.best_epoch = None

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
        return self._monitor.best

    @property
    def best_epoch(self):
        return self._monitor.best_epoch


class EarlyStopping(_Watching):
    """Stop training when ``monitor`` (default ``'val_loss'``) has not improved by more
    than ``min_delta`` for ``patience`` epochs in a row.  ``mode``: 'min', 'max' or
    'auto' (min for names with 'loss', max for names with 'acc').  ``stopped_epoch``
    tells when it stopped (None if it did not), ``best`` and ``best_epoch`` the best
    value seen."""

    def __init__(self, monitor='val_loss', patience=5, mode='auto', min_delta=0.0):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 1:
            raise ValueError(f'EarlyStopping: patience must be a positive int, got {patience!r}')
        self._monitor = _Monitor('EarlyStopping', monitor, mode, min_delta)
        self.patience = int(patience)
        self.wait = 0
        self.stopped_epoch = None

    def on_train_begin(self, trainer):
        self._monitor.reset()
        self.wait = 0
        self.stopped_epoch = None

    def on_epoch_end(self, trainer, epoch, logs):
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
    in the ``.npz`` file ``path``, saved atomically each time the figure improves by
    more than ``min_delta`` (a crash mid-save leaves the previous best intact, and the
    best is recorded only once saved).  With ``restore`` (default) the model gets those
    weights back when training ends."""

    def __init__(self, path, monitor='val_loss', mode='auto', min_delta=0.0, restore=True):
        self.path = os.fspath(path)
        self._monitor = _Monitor('BestWeights', monitor, mode, min_delta)
        self.restore = restore

    def on_train_begin(self, trainer):
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f'BestWeights: the folder {folder} for {self.path} does not exist'
            )
        self._monitor.reset()

    def on_epoch_end(self, trainer, epoch, logs):
        value = self._monitor.is_better(epoch, logs)
        if value is not None:
            trainer.model.save_weights(self.path)
            self._monitor.record(epoch, value)

    def on_train_end(self, trainer):
        if self.restore and self.best_epoch is not None:
            trainer.model.load_weights(self.path)


# --------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------
def plot_history(history, to_file, title=None):
    """Draw the history of :meth:`Trainer.fit` into the picture ``to_file`` (format from
    the extension, PNG without one): one panel for the loss and one per metric,
    training and validation curves together.  The file is written atomically.  Needs
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
    names = [k for k in history if not k.startswith('val_')]
    if not names or not any(len(history[k]) for k in names):
        raise ValueError('plot_history: the history is empty (no training epochs)')
    fig = Figure(figsize=(4.5 * len(names), 3.6))
    fmt = (os.path.splitext(os.fspath(to_file))[1].lstrip('.') or 'png').lower()
    if fmt not in fig.canvas.get_supported_filetypes():
        raise ValueError(
            f'plot_history: cannot write {fmt!r} pictures; use one of '
            f'{", ".join(sorted(fig.canvas.get_supported_filetypes()))}'
        )
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot(np.arange(1, len(history[name]) + 1), history[name], label='train')
        val = history.get('val_' + name)
        if val is not None and len(val):
            ax.plot(np.arange(1, len(val) + 1), val, label='validation')
        ax.set_xlabel('epoch')
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_open(to_file, 'wb') as f:
        fig.savefig(f, format=fmt, dpi=100)
    return to_file

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

>>> trainer = Trainer(model, optimizers.Adam().setup(model))       # doctest: +SKIP
>>> history = trainer.fit(train_loader, epochs=10, val_loader=test_loader,
...                       callbacks=[EarlyStopping('val_loss', patience=3)])
>>> history['val_acc'][-1]                                            # doctest: +SKIP
0.97
"""
import math
import os

import numpy as np

import dezero.functions as F
from dezero.atomic import atomic_open
from dezero.core import no_grad, test_mode
from dezero.progress import EpochProgress


def _value(v):
    """A loss or metric (Variable, array or number) as a Python float."""
    return float(getattr(v, 'data', v))


class Trainer:
    """Trains ``model`` with ``optimizer``, minimising ``loss(y, t)``.

    ``metrics`` maps names to functions ``f(y, t)`` computed on every batch (default
    ``{'acc': F.accuracy}``; ``{}`` for none).  The optimizer is set up on the model if
    it has no target yet.  Loaders are :class:`dezero.DataLoader` objects or any
    iterable of ``(x, t)`` batches; ``len(t)`` is the batch size.
    """

    def __init__(self, model, optimizer, loss=F.softmax_cross_entropy, metrics=None):
        if not callable(loss):
            raise TypeError(f'Trainer: loss must be a function f(y, t), got '
                            f'{type(loss).__name__}')
        metrics = {'acc': F.accuracy} if metrics is None else dict(metrics)
        for name, f in metrics.items():
            if not callable(f):
                raise TypeError(f'Trainer: metric {name!r} must be a function f(y, t), got '
                                f'{type(f).__name__}')
            if name == 'loss' or name.startswith('val_'):
                raise ValueError(f"Trainer: metric name {name!r} is reserved ('loss' and "
                                 f"names starting with 'val_')")
        if getattr(optimizer, 'target', None) is None:
            optimizer.setup(model)
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.stop_training = False
        self.epoch = 0

    # ---- one pass -------------------------------------------------------------------
    def _run_epoch(self, loader, train):
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
            totals['loss'] += _value(loss) * n
            for name, f in self.metrics.items():
                totals[name] += _value(f(y, t)) * n
            count += n
        if count == 0:
            raise ValueError('Trainer: the loader gave no batches')
        return {name: total / count for name, total in totals.items()}

    def evaluate(self, loader):
        """The average loss and metrics over ``loader``, computed in test mode (dropout
        off, batch norm on running statistics) without recording a graph."""
        with test_mode(), no_grad():
            return self._run_epoch(loader, train=False)

    # ---- fit --------------------------------------------------------------------------
    def fit(self, train_loader, epochs, val_loader=None, progress=True, callbacks=()):
        """Train for ``epochs`` epochs (fewer if a callback stops it) and return the
        history: a dict of per-epoch lists, ``loss`` and each metric for the training
        passes and, with ``val_loader``, ``val_loss`` and ``val_<metric>``.

        ``progress``: True for a tqdm bar when tqdm is installed and a line every tenth
        of the run, False for silence.  ``callbacks``: objects with any of the methods
        ``on_train_begin(trainer)``, ``on_epoch_end(trainer, epoch, logs)`` (``logs``:
        this epoch's figures; set ``trainer.stop_training = True`` to stop) and
        ``on_train_end(trainer)``.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f'Trainer.fit: epochs must be a positive int, got {epochs!r}')
        callbacks = list(callbacks)
        names = ['loss', *self.metrics]
        history = {name: [] for name in names}
        if val_loader is not None:
            history.update({'val_' + name: [] for name in names})
        self.stop_training = False
        self._call(callbacks, 'on_train_begin')
        progress_bar = EpochProgress(epochs, desc='fit') if progress else None
        try:
            for epoch in range(1, epochs + 1):
                self.epoch = epoch
                logs = self._run_epoch(train_loader, train=True)
                if val_loader is not None:
                    logs.update({'val_' + k: v for k, v in self.evaluate(val_loader).items()})
                for name, value in logs.items():
                    history[name].append(value)
                if progress_bar is not None:
                    progress_bar.update(**logs)
                self._call(callbacks, 'on_epoch_end', epoch, logs)
                if self.stop_training:
                    break
        finally:
            if progress_bar is not None:
                progress_bar.close()
        self._call(callbacks, 'on_train_end')
        return history

    def _call(self, callbacks, method, *args):
        for cb in callbacks:
            f = getattr(cb, method, None)
            if f is not None:
                f(self, *args)


# --------------------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------------------
class _Monitor:
    """Tracks the best value of one figure of the logs (lower for names containing
    'loss', higher otherwise, unless ``mode`` is 'min' or 'max')."""

    def __init__(self, owner, monitor, mode, min_delta):
        if mode == 'auto':
            mode = 'min' if 'loss' in monitor else 'max'
        if mode not in ('min', 'max'):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if not min_delta >= 0:
            raise ValueError(f'{owner}: min_delta must be >= 0, got {min_delta!r}')
        self.owner, self.monitor, self.mode, self.min_delta = owner, monitor, mode, min_delta
        self.best = None
        self.best_epoch = None

    def reset(self):
        self.best = None
        self.best_epoch = None

    def improved(self, epoch, logs):
        """Whether ``logs[monitor]`` beats the best so far (recording it if so)."""
        if self.monitor not in logs:
            raise KeyError(f'{self.owner}: no {self.monitor!r} in the logs of epoch '
                           f'{epoch}; they have {", ".join(logs)} (validation figures '
                           f'need a val_loader)')
        value = logs[self.monitor]
        if math.isnan(value):
            return False
        if self.best is None or (value < self.best - self.min_delta if self.mode == 'min'
                                 else value > self.best + self.min_delta):
            self.best, self.best_epoch = value, epoch
            return True
        return False


class EarlyStopping:
    """Stop training when ``monitor`` (default ``'val_loss'``) has not improved by more
    than ``min_delta`` for ``patience`` epochs.  ``stopped_epoch`` tells when it
    stopped (None if it did not), ``best`` and ``best_epoch`` the best value seen."""

    def __init__(self, monitor='val_loss', patience=5, mode='auto', min_delta=0.0):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f'EarlyStopping: patience must be a positive int, got '
                             f'{patience!r}')
        self._monitor = _Monitor('EarlyStopping', monitor, mode, min_delta)
        self.patience = patience
        self.wait = 0
        self.stopped_epoch = None

    @property
    def best(self):
        return self._monitor.best

    @property
    def best_epoch(self):
        return self._monitor.best_epoch

    def on_train_begin(self, trainer):
        self._monitor.reset()
        self.wait = 0
        self.stopped_epoch = None

    def on_epoch_end(self, trainer, epoch, logs):
        if self._monitor.improved(epoch, logs):
            self.wait = 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop_training = True
            self.stopped_epoch = epoch


class BestWeights:
    """Keep the weights of the epoch with the best ``monitor`` (default ``'val_loss'``)
    in the ``.npz`` file ``path``, saved atomically each time the figure improves (a
    crash mid-save leaves the previous best intact).  With ``restore`` (default) the
    model gets those weights back when training ends."""

    def __init__(self, path, monitor='val_loss', mode='auto', min_delta=0.0, restore=True):
        self.path = os.fspath(path)
        self._monitor = _Monitor('BestWeights', monitor, mode, min_delta)
        self.restore = restore

    @property
    def best(self):
        return self._monitor.best

    @property
    def best_epoch(self):
        return self._monitor.best_epoch

    def on_train_begin(self, trainer):
        self._monitor.reset()

    def on_epoch_end(self, trainer, epoch, logs):
        if self._monitor.improved(epoch, logs):
            trainer.model.save_weights(self.path)

    def on_train_end(self, trainer):
        if self.restore and self.best_epoch is not None:
            trainer.model.load_weights(self.path)


# --------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------
def plot_history(history, to_file, title=None):
    """Draw the history of :meth:`Trainer.fit` into the picture ``to_file`` (format from
    the extension): one panel for the loss and one per metric, training and validation
    curves together.  The file is written atomically.  Needs matplotlib."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError('plot_history needs matplotlib (pip install matplotlib)') from None
    names = [k for k in history if not k.startswith('val_')]
    if not names or not any(history[k] for k in names):
        raise ValueError('plot_history: the history is empty')
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], label='train')
        if history.get('val_' + name):
            ax.plot(epochs[:len(history['val_' + name])], history['val_' + name],
                    label='validation')
        ax.set_xlabel('epoch')
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fmt = os.path.splitext(os.fspath(to_file))[1].lstrip('.') or 'png'
    try:
        with atomic_open(to_file, 'wb') as f:
            fig.savefig(f, format=fmt, dpi=100)
    finally:
        plt.close(fig)
    return to_file

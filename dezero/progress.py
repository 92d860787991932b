"""Progress reports for training loops: a tqdm bar when tqdm is installed, plain lines
otherwise.  For example::

    with EpochProgress(300, every=30) as progress:
        for epoch in range(300):
            ...
            progress.update(loss=avg_loss, acc=avg_acc)  # or update({'loss': ...})

A line ``epoch 30/300  loss 0.8123  acc 0.5467`` is printed every ``every`` epochs and
after the last one.  With tqdm there is also a bar (on stderr) showing the latest
metrics, and the lines are printed above it.
"""

import numbers
import sys

import numpy as np

from dezero.checks import check_flag, is_int


def _tqdm():
    """The ``tqdm`` class when the package is installed, else None."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _is_number(value):
    """Whether ``value`` is a number the lines print with 4 decimals: a real number
    (a NumPy bool too), or a 0-d NumPy array of one, that formats as a float does."""
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in 'biuf'
    if not isinstance(value, (numbers.Real, np.bool_)):
        return False
    try:
        format(value, '.4f')
    except (TypeError, ValueError):  # a Real without a float's format (a Fraction)
        return False
    return True


def format_metrics(metrics):
    """``{'loss': 0.81234, 'acc': 0.5}`` -> ``'loss 0.8123  acc 0.5000'``."""
    return '  '.join(f'{name} {value:.4f}' for name, value in metrics.items())


class EpochProgress:
    """Reports the progress of ``epochs`` epochs, one :meth:`update` per epoch.

    ``epochs``: an int >= 0 (a NumPy integer too, not a bool).  ``bar``: True for a
    tqdm bar, False for none, None (default) for a bar when tqdm is installed.
    ``every``: interval of the printed lines in epochs, an int >= 1 (default: about
    ten lines in all).  ``file``: where the lines go (default ``sys.stdout``).
    """

    def __init__(self, epochs, every=None, bar=None, desc='train', file=None):
        if not (is_int(epochs) and epochs >= 0):
            raise ValueError(f'EpochProgress: epochs must be an int >= 0, got {epochs!r}')
        if every is not None and not (is_int(every) and every >= 1):
            raise ValueError(f'EpochProgress: every must be an int >= 1, got {every!r}')
        if bar is not None:
            bar = check_flag('EpochProgress', 'bar', bar)
        self.epochs = int(epochs)
        self.every = int(every) if every is not None else max(1, self.epochs // 10)
        self.epoch = 0
        self.file = file
        tqdm = _tqdm() if bar is not False else None
        if bar and tqdm is None:
            raise ImportError('EpochProgress: bar=True needs tqdm (pip install tqdm)')
        self._bar = tqdm(total=epochs, desc=desc, unit='epoch') if tqdm else None

    def update(self, figures=None, /, **metrics):
        """Record the end of one epoch with its metrics, shown with 4 decimals: a dict
        ``figures`` of names and values, or ``name=value`` arguments, or both.  Any
        name works, ``self`` and ``figures`` included (the dict takes every name).  A
        value that is not a number (a Variable, an array of several values, None, a
        string) raises TypeError naming it, and no epoch is counted."""
        if figures is not None and not isinstance(figures, dict):
            raise TypeError(
                f'EpochProgress.update: figures must be a dict of names and values, got '
                f'{type(figures).__name__} {figures!r:.60}'
            )
        figures = {**(figures or {}), **metrics}
        for name, value in figures.items():
            if not _is_number(value):
                raise TypeError(
                    f'EpochProgress.update: the figure {name!r} is a {type(value).__name__} '
                    f'{value!r:.60}; expected a number (float(v), or v.item() for a '
                    f'Variable or an array of one value)'
                )
        text = format_metrics(figures)
        self.epoch += 1
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)
            self._bar.update(1)
        if self.epoch % self.every == 0 or self.epoch == self.epochs:
            width = len(str(self.epochs))
            line = f'epoch {self.epoch:>{width}}/{self.epochs}  {text}'
            if self._bar is not None:
                self._bar.write(line, file=self.file or sys.stdout)
            else:
                print(line, file=self.file or sys.stdout, flush=True)

    def close(self):
        """Finish the bar (plain lines need nothing)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

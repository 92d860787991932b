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

import sys


def _tqdm():
    """The ``tqdm`` class when the package is installed, else None."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def format_metrics(metrics):
    """``{'loss': 0.81234, 'acc': 0.5}`` -> ``'loss 0.8123  acc 0.5000'``."""
    return '  '.join(f'{name} {value:.4f}' for name, value in metrics.items())


class EpochProgress:
    """Reports the progress of ``epochs`` epochs, one :meth:`update` per epoch.

    ``bar``: True for a tqdm bar, False for none, None (default) for a bar when tqdm is
    installed.  ``every``: interval of the printed lines in epochs (default: about ten
    lines in all).  ``file``: where the lines go (default ``sys.stdout``).
    """

    def __init__(self, epochs, every=None, bar=None, desc='train', file=None):
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f'EpochProgress: epochs must be an int >= 0, got {epochs!r}')
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ValueError(f'EpochProgress: every must be an int >= 1, got {every!r}')
        self.epochs = epochs
        self.every = every or max(1, epochs // 10)
        self.epoch = 0
        self.file = file
        tqdm = _tqdm() if bar is not False else None
        if bar and tqdm is None:
            raise ImportError('EpochProgress: bar=True needs tqdm (pip install tqdm)')
        self._bar = tqdm(total=epochs, desc=desc, unit='epoch') if tqdm else None

    def update(self, figures=None, /, **metrics):
        """Record the end of one epoch with its metrics, shown with 4 decimals: a dict
        ``figures`` of names and values, or ``name=value`` arguments, or both.  Any
        name works, ``self`` and ``figures`` included (the dict takes every name)."""
        if figures is not None and not isinstance(figures, dict):
            raise TypeError(
                f'EpochProgress.update: figures must be a dict of names and values, got '
                f'{type(figures).__name__} {figures!r:.60}'
            )
        self.epoch += 1
        text = format_metrics({**(figures or {}), **metrics})
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

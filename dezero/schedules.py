"""Learning-rate schedules: change an optimizer's learning rate as training goes on.

A schedule is made on an optimizer and sets its learning rate (``lr``; for Adam the
same value, ``alpha``) at once and at every call of :meth:`~LRSchedule.step`, with the
rules and the ``step()`` semantics of ``torch.optim.lr_scheduler``: after ``k`` calls
of ``step()`` the learning rate is the one PyTorch's scheduler gives after ``k``
calls.  Like PyTorch's, each step starts from the optimizer's current learning rate,
so that schedules on one optimizer combine (a warm-up :class:`LinearLR` and a
:class:`CosineAnnealingLR`, say, each stepped once per step).

Call ``step()`` once per epoch, as :meth:`dezero.Trainer.fit` does with
``fit(..., schedules=[...])``, or once per iteration after ``optimizer.update()`` in a
hand-written loop, counting ``step_size``, ``T_max`` and ``total_iters`` in iterations:

>>> import numpy as np
>>> from dezero.models import MLP
>>> from dezero.optimizers import SGD
>>> optimizer = SGD(lr=0.1).setup(MLP((4, 1)))
>>> schedule = StepLR(optimizer, step_size=2, gamma=0.5)
>>> lrs = []
>>> for epoch in range(5):
...     lrs.append(optimizer.lr)    # ... train one epoch with this learning rate ...
...     schedule.step()
>>> lrs
[0.1, 0.1, 0.05, 0.05, 0.025]

``state_dict()``/``load_state_dict()`` and ``save(path)``/``load(path)`` (a JSON
file, written atomically) keep the step count and the learning rates, to resume:
loading gives the optimizer back the learning rate it had when the state was saved,
so schedules combined on one optimizer may be loaded in any order.
Optimizers without a learning rate (AdaDelta) cannot be scheduled, nor those that
compute theirs (``lr`` a property without a setter, as in the book's Adam).
"""

import json
import math
import numbers

from dezero.atomic import atomic_write_text, readable_path
from dezero.optimizers import Optimizer, _is_step_count, _real

_FORMAT = 'dezero learning-rate schedule'


def _count(owner, name, value):
    """``value`` as an int, after checking that it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f'{owner}: {name} must be a positive int, got {value!r:.60}')
    return int(value)


class LRSchedule:
    """Base of the schedules: holds the optimizer, the step count ``last_epoch`` (0
    when made, +1 per :meth:`step`) and ``base_lr``, the learning rate the optimizer
    had before the first schedule was made on it (kept as ``optimizer.initial_lr``,
    PyTorch's ``initial_lr``).

    Subclasses define ``_first(lr)``, the learning rate set when the schedule is made,
    and ``_next(lr)``, the one set by a step given the current one (``last_epoch``
    already counts that step), and list their settings in ``_settings``.
    """

    _settings = ()

    def __init__(self, optimizer):
        owner = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f'{owner}: expected a dezero optimizer (such as SGD or Adam), got '
                f'{type(optimizer).__name__}'
            )
        name = optimizer._lr_attribute
        if name is not None and _read_only(getattr(type(optimizer), name, None)):
            # checked before lr is read: the book's Adam divides by 0 at t = 0
            raise TypeError(
                f'{owner}: {type(optimizer).__name__} computes its learning rate (its '
                f'lr is a property without a setter), but a schedule assigns lr at each '
                f"step; change what it computes lr from yourself (the book's Adam "
                f'computes it from alpha and t: set alpha at each step), or use an optimizer '
                f'whose lr can be assigned, such as dezero.optimizers.Adam'
            )
        if optimizer._lr_attribute is None or not hasattr(optimizer, 'lr'):
            raise TypeError(
                f'{owner}: {type(optimizer).__name__} has no learning rate (lr) to '
                f'schedule; use an optimizer that has one, such as SGD or Adam'
            )
        self.optimizer = optimizer
        if getattr(optimizer, 'initial_lr', None) is None:
            optimizer.initial_lr = optimizer.lr
        self.base_lr = optimizer.initial_lr
        self.last_epoch = 0
        self._set(self._first(optimizer.lr))

    def step(self):
        """Count one more step (an epoch, or an iteration) and set the learning rate
        of the optimizer for the next one.

        A step whose rule, applied to the optimizer's current learning rate, gives a
        negative one (a CosineAnnealingLR's, when another schedule or an assignment
        has taken the learning rate below its ``eta_min``) raises ValueError and
        leaves this schedule and the optimizer as they were.  The other schedules of
        the optimizer stepped before it in the same round are not undone: they have
        counted their step and changed the learning rate."""
        lr = self.optimizer.lr
        self.last_epoch += 1
        try:
            new = self._next(lr)
            if isinstance(new, (int, float)) and new < 0:
                raise ValueError(self._negative_rate(lr, new))
            self._set(new)
        except Exception:
            self.last_epoch -= 1  # a step that set nothing is not counted
            raise

    def _negative_rate(self, lr, new):
        """The message for a step from ``lr`` whose rule gives ``new`` < 0 (which a
        schedule alone never does: its rule keeps the learning rates it sets >= 0)."""
        name = type(self).__name__
        settings = ', '.join(f'{k}={getattr(self, k)!r}' for k in self._settings)
        return (
            f'{name}.step: step {self.last_epoch} of {name}({settings}) would set the '
            f'learning rate to {new!r}, below 0: its rule, applied to the learning rate '
            f'{lr!r} that another schedule on this optimizer (or an assignment to its '
            f'lr) had set, gives a negative value.  The step is refused, and this '
            f'schedule and the learning rate are left as they were.  Schedules on one '
            f'optimizer each work from the learning rate the others set: give each '
            f'schedule its own part of the run, or combine them so that none takes the '
            f"learning rate out of another's range (below a CosineAnnealingLR's eta_min)"
        )

    def get_last_lr(self):
        """The learning rate this schedule set last, a float (PyTorch gives a list, one
        per parameter group; a dezero optimizer has one)."""
        return self._last_lr

    def _set(self, lr):
        self.optimizer._set_lr(lr, type(self).__name__)
        self._last_lr = self.optimizer.lr

    def _first(self, lr):
        return lr

    def _next(self, lr):
        raise NotImplementedError(f'{type(self).__name__} does not define _next()')

    # ---- state -----------------------------------------------------------------------
    def state_dict(self):
        """The state to resume from, a dict of plain values: the class name, the
        settings, ``last_epoch``, ``base_lr``, ``last_lr`` (the learning rate this
        schedule set last) and ``optimizer_lr``, the optimizer's learning rate now
        (another schedule on the optimizer may have changed it since)."""
        return {
            'schedule': type(self).__name__,
            'settings': {name: getattr(self, name) for name in self._settings},
            'last_epoch': self.last_epoch,
            'base_lr': self.base_lr,
            'last_lr': self._last_lr,
            'optimizer_lr': self.optimizer.lr,
        }

    def load_state_dict(self, state):
        """Continue from ``state`` (from :meth:`state_dict`): the step count, the base
        learning rate and the last learning rate are restored, and the optimizer gets
        back the learning rate it had when the state was saved (``optimizer_lr``; in a
        state without it, from before it was kept, ``last_lr``), whatever the order
        in which the schedules of one optimizer are loaded.  The class and the
        settings must be this schedule's; otherwise ValueError says what differs, and
        nothing changes."""
        self._prepare_load(state, f'{type(self).__name__}.load_state_dict', 'the state')()

    def save(self, path):
        """Write :meth:`state_dict` as JSON to the file at exactly ``path``; it appears
        whole or not at all."""
        text = json.dumps({'format': _FORMAT, 'version': 1, **self.state_dict()}, indent=1)
        atomic_write_text(path, text + '\n', operation=f'{type(self).__name__}.save')

    def load(self, path):
        """Continue from the file at ``path`` written by :meth:`save`, as
        :meth:`load_state_dict` does; errors name ``path``.  ``path`` is a str, bytes
        or path-like object naming a regular file (a FIFO is refused before it is
        opened, see :func:`~dezero.atomic.readable_path`); a file that is not JSON,
        or nests too deeply to decode, raises ValueError."""
        owner = f'{type(self).__name__}.load'
        path = readable_path(path, owner)
        try:
            with open(path, encoding='utf-8') as f:
                state = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f'{owner}: no such file: {path}') from None
        except (ValueError, RecursionError) as e:  # RecursionError: lists nested too deep
            raise ValueError(f'{owner}: cannot read {path} as JSON ({e})') from None
        except OSError as e:  # a file it may not read, ...
            error = type(e)(f'{owner}: cannot read {path}: {e.strerror or e}')
            error.errno = e.errno
            raise error from None
        if not isinstance(state, dict) or state.pop('format', None) != _FORMAT:
            raise ValueError(f'{owner}: {path} is not a file of a {_FORMAT}')
        if state.pop('version', None) != 1:
            raise ValueError(f'{owner}: {path} is of a version this dezero cannot read')
        self._prepare_load(state, owner, path)()

    def _prepare_load(self, state, owner, source):
        """Check ``state`` against this schedule and return a function of no arguments
        that loads it (``source`` names where it came from in errors)."""
        mine = type(self).__name__
        if not isinstance(state, dict) or not {
            'schedule',
            'settings',
            'last_epoch',
            'base_lr',
            'last_lr',
        } <= set(state):
            raise ValueError(f'{owner}: {source} is not the state of a learning-rate schedule')
        if state['schedule'] != mine:
            raise ValueError(
                f'{owner}: {source} holds the state of a {state["schedule"]}, not a {mine}'
            )
        settings = {name: getattr(self, name) for name in self._settings}
        if not isinstance(state['settings'], dict):
            raise ValueError(
                f'{owner}: {source} holds settings={state["settings"]!r:.60}; expected a '
                f'dict of the settings of a {mine} ({", ".join(settings)})'
            )
        if state['settings'] != settings:
            saved = ', '.join(f'{k}={v!r}' for k, v in state['settings'].items())
            own = ', '.join(f'{k}={v!r}' for k, v in settings.items())
            raise ValueError(
                f'{owner}: {source} was saved by a {mine} with {saved}; this one has {own}'
            )
        last_epoch = state['last_epoch']
        if not (isinstance(last_epoch, int) and _is_step_count(last_epoch)):
            # a float takes every count below 2**53 exactly; a larger one would
            # overflow the rules' arithmetic at the next step
            shown = repr(last_epoch)
            if isinstance(last_epoch, int) and last_epoch.bit_length() > 64:
                shown = f'an int of {last_epoch.bit_length()} bits'  # 10**400: not all digits
            raise ValueError(
                f'{owner}: {source} holds last_epoch={shown:.60} for the {mine}; expected '
                f'an int >= 0 and below 2**53'
            )
        base_lr, last_lr = (
            _saved_rate(state, name, owner, source) for name in ('base_lr', 'last_lr')
        )
        # a state saved before the optimizer's learning rate was kept has last_lr only
        optimizer_lr = _saved_rate(
            state, 'optimizer_lr' if 'optimizer_lr' in state else 'last_lr', owner, source
        )

        def load():
            self.last_epoch = last_epoch
            self.base_lr = base_lr
            self.optimizer._set_lr(optimizer_lr, mine)
            self._last_lr = last_lr

        return load


def _read_only(attribute):
    """Whether ``attribute``, found on an optimizer's class, is a property that cannot
    be assigned (one without a setter)."""
    return isinstance(attribute, property) and attribute.fset is None


def _saved_rate(state, name, owner, source):
    """The learning rate ``state[name]`` as a float, after checking that it is a
    number >= 0 that a float holds: an int too large for one (10**400) is refused, not
    turned into infinity or an OverflowError later."""
    value = state[name]
    if not isinstance(value, bool) and isinstance(value, (int, float)):
        try:
            rate = float(value)
        except OverflowError:  # an int beyond the largest float
            rate = math.inf
        if 0 <= rate < math.inf:
            return rate
    raise ValueError(
        f'{owner}: {source} holds {name}={value!r}; expected a number >= 0 that a '
        f'float holds (finite)'
    )


class StepLR(LRSchedule):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps: after k steps
    it is base_lr * gamma**(k // step_size) (each step multiplies the current learning
    rate by gamma when k is a multiple of step_size, as PyTorch's ``StepLR``)."""

    _settings = ('step_size', 'gamma')

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = _count('StepLR', 'step_size', step_size)
        self.gamma = _real('StepLR', 'gamma', gamma, lambda v: v > 0, 'positive (> 0)')
        super().__init__(optimizer)

    def _next(self, lr):
        return lr * self.gamma if self.last_epoch % self.step_size == 0 else lr


class CosineAnnealingLR(LRSchedule):
    """Cosine annealing from base_lr to ``eta_min`` over ``T_max`` steps: after k steps
    the learning rate is eta_min + (base_lr - eta_min) * (1 + cos(pi * k / T_max)) / 2,
    reaching eta_min at k = T_max and rising again after it (period 2 T_max).  Each step
    gets there from the current learning rate lr, as PyTorch's ``CosineAnnealingLR``:
    eta_min + (lr - eta_min) * (1 + cos(pi k / T_max)) / (1 + cos(pi (k - 1) / T_max)),
    and lr + (base_lr - eta_min) * (1 - cos(pi / T_max)) / 2 on the step after each
    minimum, where that ratio would divide by zero."""

    _settings = ('T_max', 'eta_min')

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = _count('CosineAnnealingLR', 'T_max', T_max)
        self.eta_min = _real(
            'CosineAnnealingLR', 'eta_min', eta_min, lambda v: v >= 0, 'non-negative (>= 0)'
        )
        super().__init__(optimizer)

    def _next(self, lr):
        k, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (k - 1 - T) % (2 * T) == 0:
            return lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
        ratio = (1 + math.cos(math.pi * k / T)) / (1 + math.cos(math.pi * (k - 1) / T))
        return ratio * (lr - eta_min) + eta_min


class LinearLR(LRSchedule):
    """Scale the learning rate by a factor going linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps, then constant: after k steps it is
    base_lr * (start_factor + (end_factor - start_factor) * min(k, total_iters) /
    total_iters).  Making the schedule multiplies the learning rate by start_factor;
    step k <= total_iters multiplies the current one by
    1 + (end_factor - start_factor) / (total_iters * start_factor + (k - 1) *
    (end_factor - start_factor)), as PyTorch's ``LinearLR``."""

    _settings = ('start_factor', 'end_factor', 'total_iters')

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        self.start_factor = _real(
            'LinearLR', 'start_factor', start_factor, lambda v: 0 < v <= 1, 'in (0, 1]'
        )
        self.end_factor = _real(
            'LinearLR', 'end_factor', end_factor, lambda v: 0 <= v <= 1, 'in [0, 1]'
        )
        self.total_iters = _count('LinearLR', 'total_iters', total_iters)
        super().__init__(optimizer)

    def _first(self, lr):
        return lr * self.start_factor

    def _next(self, lr):
        k = self.last_epoch
        if k > self.total_iters:
            return lr
        if k == self.total_iters and self.end_factor == 0:
            return 0.0  # the factor is 0, which rounding leaves a hair off, or below 0
        change = self.end_factor - self.start_factor
        return lr * (1.0 + change / (self.total_iters * self.start_factor + (k - 1) * change))

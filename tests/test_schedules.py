"""Learning-rate schedules: hand-computed values, PyTorch's lr_scheduler, state, misuse."""

import contextlib
import errno
import json
import math
import os
import signal

import numpy as np
import pytest
from fifo_files import refusal, waiting_fifo

from dezero import Parameter, Variable
from dezero.models import MLP
from dezero.optimizers import SGD, AdaDelta, Adam, AdamW, MomentumSGD, Optimizer, RMSprop
from dezero.schedules import CosineAnnealingLR, LinearLR, LRSchedule, StepLR


def sgd(lr=0.1):
    return SGD(lr=lr).setup(MLP((3,)))


def lrs_of(optimizer, schedules, steps):
    """The learning rate when made, then after each of ``steps`` rounds of steps."""
    values = [optimizer.lr]
    for _ in range(steps):
        for schedule in schedules:
            schedule.step()
        values.append(optimizer.lr)
    return values


# --------------------------------------------------------------------------------------
# Hand-computed values
# --------------------------------------------------------------------------------------
def test_step_lr_by_hand():
    opt = sgd(1.0)
    schedule = StepLR(opt, step_size=3, gamma=0.5)
    assert lrs_of(opt, [schedule], 7) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert schedule.get_last_lr() == 0.25 and schedule.last_epoch == 7


def test_cosine_annealing_by_hand():
    opt = sgd(1.0)
    schedule = CosineAnnealingLR(opt, T_max=4, eta_min=0.2)
    got = lrs_of(opt, [schedule], 9)
    # eta_min + (1 - eta_min) (1 + cos(pi k / 4)) / 2; back up after k = 4 (period 8)
    c = math.sqrt(0.5)
    half = [1.0, 0.2 + 0.4 * (1 + c), 0.6, 0.2 + 0.4 * (1 - c), 0.2]
    expected = half + half[-2::-1] + [half[1]]
    assert got == pytest.approx(expected, rel=1e-13, abs=1e-15)
    assert got[4] == 0.2  # exactly eta_min at T_max


def test_cosine_annealing_reaches_zero_by_default():
    opt = sgd(0.5)
    schedule = CosineAnnealingLR(opt, T_max=2)
    assert lrs_of(opt, [schedule], 3) == pytest.approx([0.5, 0.25, 0.0, 0.25], abs=1e-15)
    assert schedule.get_last_lr() == pytest.approx(0.25)


def test_linear_lr_by_hand():
    opt = sgd(0.9)
    schedule = LinearLR(opt, start_factor=1 / 3, end_factor=1.0, total_iters=4)
    # 0.9 * (1/3 + (2/3) min(k, 4) / 4)
    expected = [0.3, 0.45, 0.6, 0.75, 0.9, 0.9, 0.9]
    assert lrs_of(opt, [schedule], 6) == pytest.approx(expected, rel=1e-14)


def test_linear_lr_can_decay_to_zero():
    opt = sgd(1.0)
    schedule = LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=2)
    assert lrs_of(opt, [schedule], 3) == pytest.approx([1.0, 0.5, 0.0, 0.0], abs=1e-16)


@pytest.mark.parametrize('start_factor', [0.1, 0.2, 0.3, 1 / 3, 0.7])
@pytest.mark.parametrize('total_iters', [3, 5, 7, 13])
def test_linear_lr_reaches_exactly_zero_whatever_the_rounding(start_factor, total_iters):
    # multiplying step by step left 0.1 * 0.2 a hair below 0 at the last step (which
    # the optimizer refused, half-way through the schedule) or a hair above it
    opt = sgd(0.1)
    schedule = LinearLR(opt, start_factor=start_factor, end_factor=0.0, total_iters=total_iters)
    lrs = lrs_of(opt, [schedule], total_iters + 2)
    assert lrs[-3:] == [0.0, 0.0, 0.0]
    assert all(a > b for a, b in zip(lrs[:total_iters], lrs[1 : total_iters + 1]))


def test_a_step_the_optimizer_refuses_is_not_counted():
    opt = sgd(0.1)
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    opt._set_lr = lambda lr, name: (_ for _ in ()).throw(ValueError('refused'))
    with pytest.raises(ValueError, match='refused'):
        schedule.step()
    assert schedule.last_epoch == 0


def _warmup_cosine_and_steps():
    """An Adam with a warm-up, a cosine annealing to 0.001 and a halving every 7 steps,
    whose cosine rule is taken below 0 at step 23 by the halvings."""
    opt = Adam(lr=0.1).setup(MLP((3, 2)))
    schedules = [
        LinearLR(opt, 0.2, 1.0, 5),
        CosineAnnealingLR(opt, T_max=20, eta_min=0.001),
        StepLR(opt, 7, 0.5),
    ]
    for _ in range(22):
        for schedule in schedules:
            schedule.step()
    return opt, schedules


def test_a_rule_taken_below_zero_by_another_schedule_is_refused_and_explained():
    opt, (warmup, cosine, halving) = _warmup_cosine_and_steps()
    warmup.step()
    lr = opt.lr
    before = (cosine.state_dict(), cosine.get_last_lr(), opt.lr, opt.alpha)
    with pytest.raises(ValueError) as info:
        cosine.step()
    message = str(info.value)
    assert message.startswith(
        'CosineAnnealingLR.step: step 23 of CosineAnnealingLR(T_max=20, eta_min=0.001) '
        'would set the learning rate to -0.00072'
    )
    assert f'applied to the learning rate {lr!r} that another schedule' in message
    assert 'its own part of the run' in message
    # the refused step left this schedule and the optimizer exactly as they were
    assert (cosine.state_dict(), cosine.get_last_lr(), opt.lr, opt.alpha) == before
    assert (warmup.last_epoch, cosine.last_epoch, halving.last_epoch) == (23, 22, 22)


def test_a_rule_taken_below_zero_by_an_assignment_is_refused():
    opt = sgd(0.1)
    cosine = CosineAnnealingLR(opt, T_max=4, eta_min=0.05)
    for _ in range(5):  # past the minimum: the rule rises again from eta_min
        cosine.step()
    opt.lr = 0.001  # below eta_min
    with pytest.raises(ValueError, match=r'^CosineAnnealingLR\.step: step 6 of .* would set'):
        cosine.step()
    assert (cosine.last_epoch, opt.lr) == (5, 0.001)


def test_adam_schedules_its_alpha():
    opt = Adam(alpha=0.01).setup(MLP((3,)))
    StepLR(opt, step_size=1, gamma=0.5).step()
    assert opt.alpha == opt.lr == 0.005


def test_rmsprop_schedules_lr_not_its_alpha():
    opt = RMSprop(lr=0.01, alpha=0.9).setup(MLP((3,)))
    StepLR(opt, step_size=1, gamma=0.5).step()
    assert (opt.lr, opt.alpha) == (0.005, 0.9)


def test_the_scheduled_learning_rate_drives_the_steps():
    p = Parameter(np.array([0.0]))
    opt = SGD(lr=1.0).setup(type('T', (), {'params': lambda self: iter([p])})())
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):  # one update per iteration, each followed by a step of the schedule
        p.grad = Variable(np.array([1.0]))
        opt.update()
        schedule.step()
    assert p.data[0] == -(1.0 + 0.5 + 0.25)


def test_schedules_on_one_optimizer_combine():
    opt = sgd(1.0)
    warmup = LinearLR(opt, start_factor=0.5, end_factor=1.0, total_iters=2)
    decay = StepLR(opt, step_size=2, gamma=0.1)
    # warm-up factors 0.5, 0.75, 1 then 1; decay 1, 1, 0.1, 0.1, 0.01
    got = lrs_of(opt, [warmup, decay], 4)
    assert got == pytest.approx([0.5, 0.75, 0.1, 0.1, 0.01], rel=1e-14)
    assert decay.base_lr == warmup.base_lr == opt.initial_lr == 1.0


# --------------------------------------------------------------------------------------
# PyTorch's lr_scheduler
# --------------------------------------------------------------------------------------
CASES = {
    'StepLR': (lambda o: StepLR(o, 3), lambda S, o: S.StepLR(o, 3)),
    'StepLR-gamma': (lambda o: StepLR(o, 2, gamma=0.7), lambda S, o: S.StepLR(o, 2, gamma=0.7)),
    'Cosine': (lambda o: CosineAnnealingLR(o, 5), lambda S, o: S.CosineAnnealingLR(o, 5)),
    'Cosine-eta_min': (
        lambda o: CosineAnnealingLR(o, 4, eta_min=0.01),
        lambda S, o: S.CosineAnnealingLR(o, 4, eta_min=0.01),
    ),
    'LinearLR': (lambda o: LinearLR(o), lambda S, o: S.LinearLR(o)),
    'LinearLR-down': (
        lambda o: LinearLR(o, 1.0, 0.1, 7),
        lambda S, o: S.LinearLR(o, 1.0, 0.1, 7),
    ),
}


@pytest.mark.filterwarnings('ignore::UserWarning')
@pytest.mark.parametrize('case', list(CASES))
def test_schedules_follow_torch_lr_scheduler(case):
    torch = pytest.importorskip('torch')
    ours, theirs = CASES[case]
    opt = sgd(0.1)
    schedule = ours(opt)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    tschedule = theirs(torch.optim.lr_scheduler, topt)
    for _ in range(14):
        assert opt.lr == pytest.approx(topt.param_groups[0]['lr'], rel=1e-13, abs=1e-16)
        assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr()[0], rel=1e-13)
        topt.step()
        schedule.step()
        tschedule.step()


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_combined_schedules_follow_torch():
    torch = pytest.importorskip('torch')
    S = torch.optim.lr_scheduler
    opt = Adam(alpha=0.01).setup(MLP((3,)))
    ours = [LinearLR(opt, 0.1, 1.0, 3), CosineAnnealingLR(opt, 8)]
    topt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.01)
    theirs = [S.LinearLR(topt, 0.1, 1.0, 3), S.CosineAnnealingLR(topt, 8)]
    for _ in range(12):
        assert opt.lr == pytest.approx(topt.param_groups[0]['lr'], rel=1e-13, abs=1e-16)
        topt.step()
        for s in ours + theirs:
            s.step()


# --------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'make',
    [
        lambda o: StepLR(o, 2, 0.5),
        lambda o: CosineAnnealingLR(o, 5, 0.001),
        lambda o: LinearLR(o, 0.2, 0.9, 4),
    ],
    ids=['StepLR', 'CosineAnnealingLR', 'LinearLR'],
)
def test_save_and_load_resume_the_same_learning_rates(make, tmp_path):
    opt = sgd(0.1)
    schedule = make(opt)
    lrs_of(opt, [schedule], 3)
    schedule.save(tmp_path / 'schedule.json')
    later = lrs_of(opt, [schedule], 6)
    # a new optimizer and schedule, as a new process makes them
    opt2 = sgd(0.1)
    schedule2 = make(opt2)
    schedule2.load(tmp_path / 'schedule.json')
    assert schedule2.last_epoch == 3 and opt2.lr == later[0]
    assert lrs_of(opt2, [schedule2], 6) == later  # exactly
    state = json.loads((tmp_path / 'schedule.json').read_text())
    assert state['schedule'] == type(schedule).__name__ and state['last_epoch'] == 3


def test_state_dict_round_trip():
    opt = sgd(0.1)
    schedule = StepLR(opt, 1, 0.5)
    schedule.step()
    state = schedule.state_dict()
    assert state == {
        'schedule': 'StepLR',
        'settings': {'step_size': 1, 'gamma': 0.5},
        'last_epoch': 1,
        'base_lr': 0.1,
        'last_lr': 0.05,
        'optimizer_lr': 0.05,
    }
    schedule.step()
    schedule.load_state_dict(state)
    assert (schedule.last_epoch, opt.lr, schedule.get_last_lr()) == (1, 0.05, 0.05)


def chained(lr=0.1):
    opt = sgd(lr)
    return opt, [LinearLR(opt, 0.1, 1.0, 4), CosineAnnealingLR(opt, 20)]


@pytest.mark.parametrize('order', [(0, 1), (1, 0)], ids=['in-order', 'reversed'])
def test_chained_schedules_load_in_any_order_to_the_saved_learning_rate(order, tmp_path):
    opt, schedules = chained()
    lrs_of(opt, schedules, 10)
    assert opt.lr == pytest.approx(0.05, rel=1e-14)
    saved_lr = opt.lr
    states = [s.state_dict() for s in schedules]
    schedules[1].save(tmp_path / 'cosine.json')
    later = lrs_of(opt, schedules, 6)
    for load in ('load_state_dict', 'load'):
        opt2, schedules2 = chained()
        for i in order:
            if load == 'load' and i == 1:
                schedules2[i].load(tmp_path / 'cosine.json')
            else:
                schedules2[i].load_state_dict(states[i])
        assert opt2.lr == saved_lr  # not the 0.0578 that LinearLR itself set last
        assert schedules2[0].get_last_lr() == states[0]['last_lr'] != saved_lr
        assert schedules2[1].get_last_lr() == saved_lr
        assert lrs_of(opt2, schedules2, 6) == later  # exactly


def test_a_state_without_the_optimizer_lr_loads_its_last_lr_as_before():
    opt, schedules = chained()
    lrs_of(opt, schedules, 3)
    state = schedules[0].state_dict()
    del state['optimizer_lr']  # a state saved before the optimizer's lr was kept
    opt2, schedules2 = chained()
    schedules2[0].load_state_dict(state)
    assert opt2.lr == state['last_lr'] == schedules2[0].get_last_lr()
    assert schedules2[0].last_epoch == 3


@pytest.mark.parametrize('value', [-0.1, math.inf, '0.1', True])
def test_a_bad_optimizer_lr_is_refused_and_changes_nothing(value):
    opt = sgd(0.1)
    schedule = StepLR(opt, 1, 0.5)
    state = schedule.state_dict()
    state['optimizer_lr'] = value
    schedule.step()
    with pytest.raises(
        ValueError,
        match=r'StepLR\.load_state_dict: the state holds optimizer_lr=.*; expected a number >= 0',
    ):
        schedule.load_state_dict(state)
    assert (schedule.last_epoch, opt.lr) == (1, 0.05)


def test_a_state_of_another_schedule_is_refused_and_changes_nothing(tmp_path):
    opt = sgd(0.1)
    StepLR(opt, 2, 0.5).save(tmp_path / 'step.json')
    schedule = StepLR(opt, 3, 0.5)
    schedule.step()
    with pytest.raises(ValueError, match=r'StepLR\.load: .*step\.json was saved by a StepLR '):
        schedule.load(tmp_path / 'step.json')
    cosine = CosineAnnealingLR(opt, 3)
    with pytest.raises(
        ValueError, match=r'CosineAnnealingLR\.load: .*step\.json holds the state of a StepLR'
    ):
        cosine.load(tmp_path / 'step.json')
    assert (schedule.last_epoch, cosine.last_epoch, opt.lr) == (1, 0, 0.1)
    with pytest.raises(FileNotFoundError, match=r'StepLR\.load: no such file: .*none\.json'):
        schedule.load(tmp_path / 'none.json')
    (tmp_path / 'bad.json').write_text('{')
    with pytest.raises(ValueError, match=r'StepLR\.load: cannot read .*bad\.json as JSON'):
        schedule.load(tmp_path / 'bad.json')


def test_save_is_atomic(tmp_path, monkeypatch):
    opt = sgd(0.1)
    schedule = StepLR(opt, 2)
    schedule.save(tmp_path / 's.json')
    before = (tmp_path / 's.json').read_text()
    schedule.step()
    monkeypatch.setattr(json, 'dumps', lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        schedule.save(tmp_path / 's.json')
    assert (tmp_path / 's.json').read_text() == before
    assert os.listdir(tmp_path) == ['s.json']


def test_loading_a_folder_names_the_schedule_and_the_path(tmp_path):
    schedule = StepLR(sgd(0.1), step_size=2)
    with pytest.raises(
        IsADirectoryError, match=r'^StepLR\.load: .* is a folder; give the path of a file$'
    ) as info:
        schedule.load(tmp_path)
    assert info.value.errno == errno.EISDIR and schedule.last_epoch == 0


@pytest.mark.parametrize('path, kind', [(1, 'int'), (None, 'NoneType')])
def test_load_refuses_what_is_no_path_by_name(path, kind):
    # open() takes an int for a descriptor: 1 would read from standard output, then close it
    schedule = StepLR(sgd(0.1), step_size=2)
    with pytest.raises(TypeError, match=f'^StepLR\\.load: path must be a file path, got {kind}$'):
        schedule.load(path)
    with pytest.raises(ValueError, match=r"^StepLR\.load: the path 'a\\x00b' holds a null"):
        schedule.load('a\0b')


@contextlib.contextmanager
def failing_after(seconds):
    """Raise TimeoutError in the block after ``seconds``, rather than wait forever."""

    def fail(signum, frame):
        raise TimeoutError(f'still waiting after {seconds} s')

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='needs FIFOs')
@pytest.mark.skipif(not hasattr(signal, 'SIGALRM'), reason='needs SIGALRM')
def test_load_refuses_a_fifo_without_reading_it(tmp_path):
    fifo = tmp_path / 's.json'
    schedule = StepLR(sgd(0.1), step_size=2)
    with waiting_fifo(fifo), pytest.raises(OSError) as info, failing_after(5):
        schedule.load(fifo)  # (reading it would wait for the writer to close)
    assert str(info.value) == refusal(fifo, 'StepLR.load')


def test_json_nested_too_deeply_is_refused_by_name(tmp_path):
    schedule = StepLR(sgd(0.1), step_size=2)
    (tmp_path / 'deep.json').write_text('[' * 200000 + ']' * 200000)
    with pytest.raises(
        ValueError, match=r'^StepLR\.load: cannot read .*deep\.json as JSON \(maximum recursion'
    ):
        schedule.load(tmp_path / 'deep.json')
    assert schedule.last_epoch == 0


def saved_state(edit):
    """The state of a StepLR(step_size=2, gamma=0.1) after 4 steps, with ``edit`` made."""
    schedule = StepLR(sgd(0.1), step_size=2)
    for _ in range(4):
        schedule.step()
    state = schedule.state_dict()
    edit(state)
    return state


@pytest.mark.parametrize(
    'edit, message',
    [
        (
            lambda state: state.update(settings=None),
            r'holds settings=None; expected a dict of the settings of a StepLR '
            r'\(step_size, gamma\)$',
        ),
        (lambda state: state.update(settings='abc'), r"holds settings='abc'; expected a dict"),
        (lambda state: state.update(settings=[1, 2]), r'holds settings=\[1, 2\]; expected a'),
        (
            lambda state: state.update(base_lr=10**400),
            r'holds base_lr=10{400}; expected a number >= 0 that a float holds \(finite\)$',
        ),
        (lambda state: state.update(last_lr=10**400), r'holds last_lr=10{400}; expected a'),
        (lambda state: state.update(optimizer_lr=10**400), r'holds optimizer_lr=10{400}; '),
        (
            lambda state: state.update(last_epoch=10**400),
            r'holds last_epoch=an int of 1329 bits for the StepLR; expected an int >= 0 '
            r'and below 2\*\*53$',
        ),
        (
            lambda state: state.update(last_epoch=2**53),
            r'holds last_epoch=9007199254740992 for the StepLR; expected an int >= 0 ',
        ),
        (lambda state: state.update(last_epoch=-1), r'holds last_epoch=-1 for the StepLR; '),
        (  # a state saved before the optimizer's lr was kept
            lambda state: (state.pop('optimizer_lr'), state.update(last_lr=10**400)),
            r'holds last_lr=10{400}; ',
        ),
    ],
)
def test_a_bad_state_is_refused_by_name_and_changes_nothing(tmp_path, edit, message):
    state = saved_state(edit)
    opt = sgd(0.1)
    schedule = StepLR(opt, step_size=2)
    schedule.step()
    with pytest.raises(ValueError, match=r'^StepLR\.load_state_dict: the state ' + message):
        schedule.load_state_dict(state)
    (tmp_path / 's.json').write_text(
        json.dumps({'format': 'dezero learning-rate schedule', 'version': 1, **state})
    )
    with pytest.raises(ValueError, match=r'^StepLR\.load: .*s\.json ' + message):
        schedule.load(tmp_path / 's.json')
    assert (schedule.last_epoch, schedule.base_lr, schedule.get_last_lr(), opt.lr) == (
        1,
        0.1,
        0.1,
        0.1,
    )


def test_an_annealed_lr_of_zero_is_saved_and_loaded_with_the_optimizer(tmp_path):
    opt = AdamW(lr=0.1).setup(MLP((3,)))
    schedule = CosineAnnealingLR(opt, 1)
    schedule.step()
    assert opt.lr == 0.0
    opt.save(tmp_path / 'opt.npz')
    opt2 = AdamW(lr=0.1).setup(MLP((3,)))
    opt2.load(tmp_path / 'opt.npz')
    assert opt2.lr == 0.0


# --------------------------------------------------------------------------------------
# Misuse
# --------------------------------------------------------------------------------------
def test_adadelta_has_no_learning_rate_to_schedule():
    with pytest.raises(TypeError, match='StepLR: AdaDelta has no learning rate'):
        StepLR(AdaDelta(), 2)


class BookAdam(Optimizer):
    """The book's Adam as far as its learning rate goes: lr computed from alpha and t."""

    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999):
        super().__init__()
        self.t = 0
        self.alpha, self.beta1, self.beta2 = alpha, beta1, beta2

    @property
    def lr(self):
        fix1 = 1.0 - math.pow(self.beta1, self.t)
        fix2 = 1.0 - math.pow(self.beta2, self.t)
        return self.alpha * math.sqrt(fix2) / fix1


@pytest.mark.parametrize('t', [0, 3])
@pytest.mark.parametrize(
    'make', [lambda opt: CosineAnnealingLR(opt, T_max=10), lambda opt: StepLR(opt, 1)]
)
def test_a_schedule_refuses_an_optimizer_that_computes_its_lr_before_reading_it(make, t):
    # ZeroDivisionError from the book's lr at t = 0; at t = 3, "property 'lr' has no
    # setter", after initial_lr had been set to the bias-corrected step size
    opt = BookAdam(alpha=0.05).setup(MLP((3,)))
    opt.t = t
    with pytest.raises(
        TypeError,
        match=r'^(CosineAnnealingLR|StepLR): BookAdam computes its learning rate \(its lr '
        r'is a property without a setter\), but a schedule assigns lr at each step; .*'
        r"the book's Adam computes it from alpha and t: set alpha at each step\), or use an "
        r'optimizer whose lr can be assigned, such as dezero\.optimizers\.Adam$',
    ):
        make(opt)
    assert 'initial_lr' not in vars(opt) and opt.alpha == 0.05


def test_a_schedule_takes_an_lr_property_that_has_a_setter():
    class Scaled(BookAdam):
        @property
        def lr(self):
            return self.alpha

        @lr.setter
        def lr(self, value):
            self.alpha = value

    opt = Scaled(alpha=1.0)
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    schedule.step()
    assert opt.alpha == 0.5 and opt.initial_lr == 1.0


def test_a_schedule_needs_an_optimizer():
    with pytest.raises(TypeError, match='LinearLR: expected a dezero optimizer.*got dict'):
        LinearLR({'lr': 0.1})


@pytest.mark.parametrize(
    'make_bad, message',
    [
        (lambda o: StepLR(o, 0), 'StepLR: step_size must be a positive int, got 0'),
        (lambda o: StepLR(o, 2.0), 'StepLR: step_size must be a positive int, got 2.0'),
        (lambda o: StepLR(o, 2, gamma=0), 'StepLR: gamma must be positive (> 0), got 0'),
        (lambda o: StepLR(o, 2, gamma='0.1'), 'StepLR: gamma must be a real number'),
        (lambda o: CosineAnnealingLR(o, 0), 'CosineAnnealingLR: T_max must be a positive int'),
        (
            lambda o: CosineAnnealingLR(o, 5, eta_min=-0.1),
            'CosineAnnealingLR: eta_min must be non-negative (>= 0), got -0.1',
        ),
        (lambda o: LinearLR(o, start_factor=0), 'LinearLR: start_factor must be in (0, 1]'),
        (lambda o: LinearLR(o, start_factor=1.5), 'LinearLR: start_factor must be in (0, 1]'),
        (lambda o: LinearLR(o, end_factor=1.1), 'LinearLR: end_factor must be in [0, 1], got'),
        (lambda o: LinearLR(o, total_iters=True), 'LinearLR: total_iters must be a positive int'),
    ],
)
def test_bad_settings_are_refused_before_the_optimizer_changes(make_bad, message):
    opt = MomentumSGD(lr=0.1)
    with pytest.raises((ValueError, TypeError)) as info:
        make_bad(opt)
    assert message in str(info.value)
    assert opt.lr == 0.1 and not hasattr(opt, 'initial_lr')


def test_the_base_class_needs_a_rule():
    with pytest.raises(NotImplementedError, match='LRSchedule does not define _next'):
        LRSchedule(sgd()).step()


def test_the_largest_step_count_loaded_steps_on():
    opt = sgd(0.1)
    cosine = CosineAnnealingLR(opt, T_max=3)
    state = cosine.state_dict()
    state['last_epoch'] = 2**53 - 2  # an even number of periods: at the maximum again
    cosine.load_state_dict(state)
    cosine.step()
    assert cosine.last_epoch == 2**53 - 1 and math.isfinite(opt.lr)

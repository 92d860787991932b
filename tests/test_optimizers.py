"""Optimizers and gradient hooks: hand-computed steps, state handling, dtypes, hooks,
and training a small model."""

import copy
import gc
import json
import os
import pickle
import math
import re
import warnings
import weakref
from fractions import Fraction

import numpy as np
import pytest

import dezero.functions as F
import dezero.optimizers
import dezero.layers as L
from dezero import Parameter, Variable
from dezero.models import MLP, Model
from dezero.optimizers import (
    SGD,
    AdaDelta,
    AdaGrad,
    Adam,
    AdamW,
    ClipGrad,
    FreezeParam,
    MomentumSGD,
    Optimizer,
    RMSprop,
    WeightDecay,
)
from dezero.schedules import StepLR


class Target:
    """The smallest optimizer target: ``params()`` yields the given parameters as is
    (repeats included)."""

    def __init__(self, *params):
        self.items = list(params)

    def params(self):
        yield from self.items


def param(values, dtype=np.float64):
    return Parameter(np.array(values, dtype=dtype))


def set_grad(p, values, dtype=None):
    p.grad = Variable(np.array(values, dtype=dtype or p.data.dtype))


def pickled(value):
    """``value`` after a round trip through pickle."""
    return pickle.loads(pickle.dumps(value))


def make(name):
    """Each optimizer with hyperparameters giving sizeable steps."""
    return {
        'SGD': lambda: SGD(lr=0.1),
        'MomentumSGD': lambda: MomentumSGD(lr=0.1, momentum=0.9),
        'AdaGrad': lambda: AdaGrad(lr=0.1),
        'AdaDelta': lambda: AdaDelta(rho=0.9, eps=1e-2),
        'Adam': lambda: Adam(alpha=0.1),
        'AdamW': lambda: AdamW(lr=0.1, weight_decay=0.1),
        'RMSprop': lambda: RMSprop(lr=0.1, weight_decay=0.1, momentum=0.5, centered=True),
    }[name]()


ALL = ['SGD', 'MomentumSGD', 'AdaGrad', 'AdaDelta', 'Adam', 'AdamW', 'RMSprop']
STATEFUL = ['MomentumSGD', 'AdaGrad', 'AdaDelta', 'Adam', 'AdamW', 'RMSprop']


# --------------------------------------------------------------------------------------
# Construction
# --------------------------------------------------------------------------------------
def test_defaults_are_the_book_values():
    assert SGD().lr == 0.01
    m = MomentumSGD()
    assert (m.lr, m.momentum) == (0.01, 0.9)
    a = AdaGrad()
    assert (a.lr, a.eps) == (0.001, 1e-8)
    d = AdaDelta()
    assert (d.rho, d.eps) == (0.95, 1e-6)
    adam = Adam()
    assert (adam.alpha, adam.beta1, adam.beta2, adam.eps, adam.t) == (0.001, 0.9, 0.999, 1e-8, 0)


@pytest.mark.parametrize(
    'make_bad, name, value',
    [
        (lambda: SGD(lr=-0.1), 'SGD', '-0.1'),
        (lambda: SGD(lr=float('nan')), 'SGD', 'nan'),
        (lambda: MomentumSGD(lr=float('inf')), 'MomentumSGD', 'inf'),
        (lambda: MomentumSGD(momentum=1.5), 'MomentumSGD', '1.5'),
        (lambda: MomentumSGD(momentum=-0.5), 'MomentumSGD', '-0.5'),
        (lambda: MomentumSGD(momentum=np.array(np.nan)), 'MomentumSGD', 'nan'),
        (lambda: AdaGrad(lr=-1), 'AdaGrad', '-1'),
        (lambda: AdaGrad(eps=0.0), 'AdaGrad', '0.0'),
        (lambda: AdaDelta(rho=1.5), 'AdaDelta', '1.5'),
        (lambda: AdaDelta(eps=-1e-6), 'AdaDelta', '-1e-06'),
        (lambda: Adam(alpha=-1e-3), 'Adam', '-0.001'),
        (lambda: Adam(beta1=1), 'Adam', '1'),
        (lambda: Adam(beta2=-0.1), 'Adam', '-0.1'),
        (lambda: Adam(eps=-1e-8), 'Adam', '-1e-08'),
        (lambda: Adam(eps=float('inf')), 'Adam', 'inf'),
        (lambda: AdaDelta(rho=1.0000001), 'AdaDelta', '1.0000001'),
        (lambda: SGD(lr=np.array(-0.1)), 'SGD', '-0.1'),
        (lambda: Adam(alpha=10**400), 'Adam', 'within the range of a float'),  # OverflowError
        (lambda: SGD(lr=Fraction(10**400)), 'SGD', 'within the range of a float'),
        (lambda: WeightDecay(-0.1), 'WeightDecay', '-0.1'),
        (lambda: ClipGrad(0.0), 'ClipGrad', '0.0'),
    ],
)
def test_bad_hyperparameter_values_are_refused(make_bad, name, value):
    with pytest.raises(ValueError) as info:
        make_bad()
    assert name in str(info.value) and value in str(info.value)


@pytest.mark.parametrize(
    'make_bad',
    [
        lambda: SGD(lr='0.1'),
        lambda: SGD(lr=None),
        lambda: Adam(beta1=True),
        lambda: MomentumSGD(momentum=np.array([0.9])),
        lambda: SGD(lr=np.array(True)),
        lambda: SGD(lr=np.array(0.1 + 0j)),
    ],
)
def test_non_numeric_hyperparameters_are_refused(make_bad):
    with pytest.raises(TypeError, match='must be a real number'):
        make_bad()


def test_numpy_scalar_hyperparameters_become_python_floats():
    opt = Adam(alpha=np.float64(0.1), beta1=np.float32(0.5))
    assert type(opt.alpha) is float and type(opt.beta1) is float
    assert type(SGD(lr=np.float64(0.1)).lr) is float


def test_zero_dim_arrays_are_taken_as_the_python_floats_they_hold():
    # SGD(np.array(0.1)) was refused: "lr must be a real number, got ndarray"
    opt = SGD(np.array(0.1))
    assert type(opt.lr) is float and opt.lr == 0.1
    opt.lr = np.array(0.2, np.float32)
    assert type(opt.lr) is float and opt.lr == float(np.float32(0.2))
    adam = Adam(alpha=np.array(0.01), beta1=np.array(0.5), eps=np.array(0))
    assert (adam.alpha, adam.beta1, adam.eps) == (0.01, 0.5, 0.0)
    assert all(type(v) is float for v in (adam.alpha, adam.beta1, adam.eps))
    momentum = MomentumSGD(lr=np.int64(1), momentum=np.array(0.5, np.float16))
    assert (momentum.lr, momentum.momentum) == (1.0, 0.5) and type(momentum.lr) is float
    assert WeightDecay(np.array(1e-4)).rate == 1e-4 and ClipGrad(np.array(2)).max_norm == 2.0
    p = param([1.0, 2.0], np.float32)
    set_grad(p, [1.0, 1.0])
    opt.setup(Target(p)).update()
    assert p.data.dtype == np.float32


def test_the_limits_that_the_book_and_pytorch_take_step_as_the_rules_say():
    # momentum=1.0 and rho=1.0 were refused as outside [0, 1)
    p = param([1.0])
    opt = MomentumSGD(lr=0.1, momentum=1.0).setup(Target(p))
    for _ in range(3):  # v = -0.1, -0.2, -0.3: no decay of the velocity
        set_grad(p, [1.0])
        opt.update()
    np.testing.assert_allclose(opt.vs[id(p)], [-0.3], rtol=1e-15)
    np.testing.assert_allclose(p.data, [0.4], rtol=1e-15)
    p = param([1.0])
    opt = AdaDelta(rho=1.0, eps=1e-6).setup(Target(p))
    for g in (0.5, 0.25):  # msg and msdx stay 0: dx = sqrt(eps / eps) * g = g
        set_grad(p, [g])
        opt.update()
    np.testing.assert_allclose(p.data, [0.25], rtol=1e-15)
    assert opt.msg[id(p)] == 0 and opt.msdx[id(p)] == 0
    assert MomentumSGD(momentum=0.0).momentum == 0.0 and AdaDelta(rho=0).rho == 0.0


def test_adam_with_eps_zero_steps_as_pytorchs_nan_where_every_gradient_was_zero():
    # eps=0 was refused; PyTorch takes it, and so does the book
    torch = pytest.importorskip('torch')
    grads = [[0.0, 0.5, -2.0], [0.0, 0.0, 1.0], [0.0, -0.3, 0.0]]
    p = param([1.0, 2.0, 3.0])
    opt = Adam(alpha=0.1, eps=0).setup(Target(p))
    q = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([q], lr=0.1, eps=0)
    for step, g in enumerate(grads):
        set_grad(p, g)
        # the first element: m = v = 0, 0 / 0; NumPy says so once
        with pytest.warns(RuntimeWarning, match='invalid value'):
            opt.update()
        q.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12)
    assert np.isnan(p.data[0]) and np.isfinite(p.data[1:]).all()


# --------------------------------------------------------------------------------------
# Learning-rate names, assignment and unknown arguments
# --------------------------------------------------------------------------------------
def test_adam_takes_lr_or_alpha_for_the_same_learning_rate():
    assert Adam(lr=0.02).alpha == 0.02 and Adam(alpha=0.02).lr == 0.02
    assert Adam(0.02).lr == 0.02  # positional: alpha, as in DeZero
    assert Adam().lr == Adam().alpha == 0.001
    with pytest.raises(TypeError, match=r'Adam: got both alpha=0.1 and lr=0.2.*one of'):
        Adam(alpha=0.1, lr=0.2)
    with pytest.raises(TypeError, match='both'):
        Adam(0.1, lr=0.2)
    with pytest.raises(ValueError, match=r'Adam: lr must be non-negative \(>= 0\), got -1'):
        Adam(lr=-1)


def test_adam_lr_and_alpha_give_the_same_steps():
    steps = []
    for opt in (Adam(lr=0.1), Adam(alpha=0.1)):
        p = param([1.0, -2.0])
        opt.setup(Target(p))
        for g in ([0.5, 1.0], [-1.0, 3.0]):
            set_grad(p, g)
            opt.update()
        steps.append(p.data)
    np.testing.assert_array_equal(steps[0], steps[1])


@pytest.mark.parametrize('name', ['SGD', 'MomentumSGD', 'AdaGrad', 'Adam'])
def test_lr_is_readable_and_assignable_and_used_by_the_next_step(name):
    p = param([1.0])
    opt = make(name).setup(Target(p))
    opt.lr = 0.5
    assert opt.lr == 0.5 and type(opt.lr) is float
    if name == 'Adam':
        assert opt.alpha == 0.5
    set_grad(p, [1.0])
    opt.update()
    # the first step of each moves p by 0.5 (AdaGrad: 0.5 g / sqrt(g^2); Adam: about
    # alpha sign(g)); MomentumSGD's velocity starts at 0, so it also moves by lr g
    np.testing.assert_allclose(p.data, [0.5], rtol=1e-6)


@pytest.mark.parametrize(
    'name, attribute, bad, error',
    [
        ('SGD', 'lr', -0.5, ValueError),
        ('SGD', 'lr', '0.1', TypeError),
        ('Adam', 'lr', -1.0, ValueError),
        ('Adam', 'alpha', float('nan'), ValueError),
        ('Adam', 'beta1', 1.0, ValueError),
        ('MomentumSGD', 'momentum', 1.5, ValueError),
        ('AdaDelta', 'rho', None, TypeError),
    ],
)
def test_assigned_hyperparameters_are_checked_and_left_unchanged(name, attribute, bad, error):
    opt = make(name)
    before = getattr(opt, attribute)
    with pytest.raises(error, match=f'{name}: {attribute} must be'):
        setattr(opt, attribute, bad)
    assert getattr(opt, attribute) == before


def test_adadelta_has_no_learning_rate():
    opt = AdaDelta()
    assert not hasattr(opt, 'lr')
    with pytest.raises(AttributeError, match='AdaDelta has no learning rate'):
        opt.lr = 0.1
    with pytest.raises(TypeError, match="AdaDelta: unknown argument 'lr'; AdaDelta takes rho, eps"):
        AdaDelta(lr=0.1)


class ScaledAdaDelta(AdaDelta):
    """AdaDelta with steps scaled by a learning rate of its own."""

    def __init__(self, lr=1.0, rho=0.95, eps=1e-6):
        super().__init__(rho, eps)
        self.lr = lr

    def update_one(self, param):
        before = param.data.copy()
        super().update_one(param)
        param.data[...] = before + self.lr * (param.data - before)


def test_a_subclass_of_adadelta_may_give_lr_a_use_of_its_own():
    # its own __init__ raised "AdaDelta has no learning rate (lr)"
    p, q = param([1.0, -2.0]), param([1.0, -2.0])
    half = ScaledAdaDelta(lr=0.5).setup(Target(p))
    full = AdaDelta().setup(Target(q))
    for g in ([0.5, 1.0], [0.25, -3.0], [1.0, 1.0]):  # AdaDelta's steps do not depend on p
        set_grad(p, g)
        set_grad(q, g)
        half.update()
        full.update()
    np.testing.assert_allclose(p.data - [1.0, -2.0], 0.5 * (q.data - [1.0, -2.0]), rtol=1e-12)
    half.lr = 0.25
    assert half.lr == 0.25 and copy.deepcopy(half).lr == 0.25
    model, x, t = mlp_problem()
    opt = ScaledAdaDelta(lr=0.5).setup(model)
    train_steps(model, opt, x, t, 1)
    assert opt.state_dict()['hyperparameters'] == {'rho': 0.95, 'eps': 1e-6, 'lr': 0.5}
    again = ScaledAdaDelta().setup(model)
    again.load_state_dict(opt.state_dict())
    assert again.lr == 0.5
    del again.lr
    assert not hasattr(again, 'lr')

    class Plain(AdaDelta):  # a subclass that sets none has none
        pass

    with pytest.raises(AttributeError, match='^Plain has no learning rate'):
        Plain().lr
    with pytest.raises(AttributeError, match='AdaDelta has no learning rate'):
        del AdaDelta().lr


@pytest.mark.parametrize(
    'make_bad, message',
    [
        (lambda: SGD(learning_rate=0.1), "SGD: unknown argument 'learning_rate'; SGD takes lr"),
        (
            lambda: MomentumSGD(lr=0.1, mu=0.9),
            "MomentumSGD: unknown argument 'mu'; MomentumSGD takes lr, momentum",
        ),
        (
            lambda: AdaGrad(epsilon=1e-8),
            "AdaGrad: unknown argument 'epsilon'; AdaGrad takes lr, eps",
        ),
        (
            lambda: Adam(learning_rate=0.1),
            "Adam: unknown argument 'learning_rate'; Adam takes alpha, beta1, beta2, eps, lr",
        ),
    ],
)
def test_unknown_keyword_arguments_name_the_ones_that_exist(make_bad, message):
    with pytest.raises(TypeError) as info:
        make_bad()
    assert str(info.value) == message


def test_a_subclass_gets_the_same_check_of_its_keywords():
    class Plain(Optimizer):
        def __init__(self, rate=0.1):
            super().__init__()
            self.rate = rate

        def update_one(self, param):
            param.data -= self.rate * param.grad.data

    assert Plain(rate=0.5).rate == 0.5
    with pytest.raises(TypeError, match="Plain: unknown argument 'lr'; Plain takes rate"):
        Plain(lr=0.5)


# --------------------------------------------------------------------------------------
# One and two steps against hand-computed values
# --------------------------------------------------------------------------------------
def test_sgd_one_step():
    p = param([1.0, 2.0])
    set_grad(p, [0.5, -1.0])
    SGD(lr=0.1).setup(Target(p)).update()
    np.testing.assert_allclose(p.data, [1.0 - 0.05, 2.0 + 0.1], rtol=1e-15)


def test_momentum_sgd_two_steps():
    p = param([1.0, -2.0])
    opt = MomentumSGD(lr=0.1, momentum=0.9).setup(Target(p))
    set_grad(p, [1.0, 2.0])
    opt.update()  # v = -0.1 g = [-0.1, -0.2]
    np.testing.assert_allclose(p.data, [0.9, -2.2], rtol=1e-15)
    set_grad(p, [0.5, -1.0])
    opt.update()  # v = 0.9 [-0.1, -0.2] - 0.1 [0.5, -1] = [-0.14, -0.08]
    np.testing.assert_allclose(opt.state_of(p)['v'], [-0.14, -0.08], rtol=1e-14)
    np.testing.assert_allclose(p.data, [0.76, -2.28], rtol=1e-14)


def test_adagrad_two_steps():
    p = param([1.0, 1.0])
    opt = AdaGrad(lr=0.1).setup(Target(p))
    set_grad(p, [3.0, -4.0])
    opt.update()  # h = [9, 16]; p -= 0.1 [3/3, -4/4]
    np.testing.assert_allclose(p.data, [0.9, 1.1], rtol=1e-8)
    set_grad(p, [4.0, 3.0])
    opt.update()  # h = [25, 25]; p -= 0.1 [4/5, 3/5]
    np.testing.assert_allclose(opt.state_of(p)['h'], [25.0, 25.0], rtol=1e-15)
    np.testing.assert_allclose(p.data, [0.82, 1.04], rtol=1e-8)


def test_adagrad_squares_integer_gradients_without_wrapping_round():
    # 100 * 100 in int8 is 16: the step was 0.1 * 100 / 4 = 2.5, not 0.1 * 100 / 100
    p = Parameter(np.zeros(1, np.float32))
    p.grad = np.array([100], np.int8)
    opt = AdaGrad(lr=0.1).setup(Target(p))
    opt.update()
    assert opt.state_of(p)['h'][0] == 10000.0
    np.testing.assert_allclose(p.data, [-0.1], rtol=1e-6)


@pytest.mark.parametrize('name', ALL)
@pytest.mark.parametrize('dtype', [np.int8, np.uint8, np.int16])
def test_integer_gradients_step_as_the_same_float_gradients(name, dtype):
    values = [100, 3, 0] if dtype == np.uint8 else [100, -3, 0]
    steps = []
    for grad_dtype in (dtype, np.float64):
        p = param([0.5, -0.5, 2.0])
        opt = make(name).setup(Target(p))
        for _ in range(2):
            p.grad = Variable(np.array(values, dtype=grad_dtype))
            opt.update()
        steps.append(p.data.copy())
    np.testing.assert_array_equal(steps[0], steps[1])


@pytest.mark.parametrize('name', ALL)
def test_float16_gradients_step_as_in_the_parameters_dtype(name):
    # (1 - beta2) * g * g in float16 overflowed to inf for g = 60000: Adam did not move
    steps = []
    for grad_dtype in (np.float16, np.float32):
        p = Parameter(np.array([0.5, -0.5], np.float32))
        opt = make(name).setup(Target(p))
        for _ in range(2):
            p.grad = Variable(np.array([60000.0, -3.0], dtype=grad_dtype))
            opt.update()
        assert p.grad.dtype == np.float32
        steps.append(p.data.copy())
    np.testing.assert_array_equal(steps[0], steps[1])
    assert np.isfinite(steps[0]).all()


@pytest.mark.parametrize('hook', [WeightDecay(0.1), ClipGrad(1.0)])
def test_hooks_take_integer_gradients_without_wrapping_round(hook):
    p = param([1.0, 2.0])
    p.grad = Variable(np.array([100, 100], np.int8))
    q = param([1.0, 2.0])
    q.grad = Variable(np.array([100.0, 100.0]))
    hook([p])
    hook([q])
    np.testing.assert_array_equal(p.grad.data, q.grad.data)


def test_adadelta_two_steps():
    eps = 2.0 / 3.0
    p = param([1.0, 1.0])
    opt = AdaDelta(rho=0.5, eps=eps).setup(Target(p))
    set_grad(p, [2.0, -2.0])
    opt.update()
    # msg = 0.5 * 4 = 2;  dx = sqrt((0 + 2/3) / (2 + 2/3)) * g = g / 2;  msdx = 0.5 * 1
    np.testing.assert_allclose(p.data, [0.0, 2.0], atol=1e-15)
    np.testing.assert_allclose(opt.state_of(p)['msg'], [2.0, 2.0], rtol=1e-15)
    np.testing.assert_allclose(opt.state_of(p)['msdx'], [0.5, 0.5], rtol=1e-15)
    set_grad(p, [2.0, 0.0])
    opt.update()
    # msg = 0.5 * 2 + 0.5 * [4, 0] = [3, 1]
    # dx = sqrt((0.5 + 2/3) / ([3, 1] + 2/3)) * [2, 0] = [2 sqrt(7/22), 0]
    # msdx = 0.5 * 0.5 + 0.5 * dx**2 = [0.25 + 2 * 7/22, 0.25]
    dx = 2.0 * math.sqrt(7.0 / 22.0)
    np.testing.assert_allclose(opt.state_of(p)['msg'], [3.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(opt.state_of(p)['msdx'], [0.25 + 14.0 / 22.0, 0.25], rtol=1e-14)
    np.testing.assert_allclose(p.data, [-dx, 2.0], rtol=1e-14)


def test_adam_two_steps():
    p = param([1.0, 1.0])
    opt = Adam(alpha=0.1, beta1=0.5, beta2=0.75, eps=1e-12).setup(Target(p))
    set_grad(p, [2.0, -4.0])
    opt.update()
    # m = 0.5 g = [1, -2];  v = 0.25 g^2 = [1, 4];  lr_1 = 0.1 sqrt(0.25) / 0.5 = 0.1
    assert opt.t == 1
    assert opt.step_size == pytest.approx(0.1, rel=1e-15)
    np.testing.assert_allclose(p.data, [0.9, 1.1], rtol=1e-12)
    set_grad(p, [4.0, 0.0])
    opt.update()
    # m = 0.5 [1, -2] + 0.5 [4, 0] = [2.5, -1];  v = 0.75 [1, 4] + 0.25 [16, 0] = [4.75, 3]
    # lr_2 = 0.1 sqrt(1 - 0.75**2) / (1 - 0.5**2)
    lr2 = 0.1 * math.sqrt(1 - 0.5625) / 0.75
    assert opt.t == 2
    assert opt.step_size == pytest.approx(lr2, rel=1e-15)
    np.testing.assert_allclose(opt.state_of(p)['m'], [2.5, -1.0], rtol=1e-15)
    np.testing.assert_allclose(opt.state_of(p)['v'], [4.75, 3.0], rtol=1e-15)
    np.testing.assert_allclose(
        p.data, [0.9 - lr2 * 2.5 / math.sqrt(4.75), 1.1 + lr2 / math.sqrt(3.0)], rtol=1e-12
    )


def test_adam_first_step_moves_each_parameter_by_alpha_times_sign_of_grad():
    p = param([0.0, 0.0, 0.0, 0.0, 0.0])
    g = np.array([0.1, -2.0, 30.0, -400.0, 5e3])
    opt = Adam().setup(Target(p))
    assert opt.step_size == pytest.approx(0.001 * math.sqrt(0.001) / 0.1)  # step 1
    p.grad = Variable(g)
    opt.update()
    np.testing.assert_allclose(p.data, -0.001 * np.sign(g), rtol=1e-5)


def test_adam_t_counts_update_calls():
    p = param([1.0])
    opt = Adam().setup(Target(p))
    opt.update()  # no gradient yet: nothing moves, the step counts
    set_grad(p, [1.0])
    opt.update()
    assert opt.t == 2
    # step 2 from zero moments: m = 0.1 g, v = 0.001 g^2 -> move lr_2 * 0.1 / sqrt(0.001)
    lr2 = 0.001 * math.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    np.testing.assert_allclose(p.data, [1.0 - lr2 * 0.1 / math.sqrt(0.001)], rtol=1e-6)


# --------------------------------------------------------------------------------------
# Which parameters are updated, and the state kept for them
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', ALL)
def test_parameters_without_grad_are_skipped_and_keep_no_state(name):
    a, b, lazy = param([1.0, 2.0]), param([3.0, 4.0]), Parameter(None)
    opt = make(name).setup(Target(a, b, lazy))
    set_grad(a, [1.0, -1.0])
    opt.update()
    assert not np.array_equal(a.data, [1.0, 2.0])
    np.testing.assert_array_equal(b.data, [3.0, 4.0])
    assert opt.state_of(b) == {} and opt.state_of(lazy) == {}
    assert lazy.data is None
    if name in STATEFUL:
        assert opt.state_of(a) != {}


def test_update_one_is_called_only_for_parameters_with_grad():
    class Recorder(Optimizer):
        def __init__(self):
            super().__init__()
            self.seen = []

        def update_one(self, param):
            self.seen.append(param)

    a, b, c = param([1.0]), param([2.0]), param([3.0])
    set_grad(a, [1.0])
    set_grad(c, [1.0])
    opt = Recorder().setup(Target(a, b, c))
    opt.update()
    assert opt.seen == [a, c] and opt.seen[0] is a and opt.seen[1] is c


@pytest.mark.parametrize('name', ALL)
def test_shared_parameter_is_updated_once_per_step(name):
    shared, other = param([1.0, -1.0]), param([1.0, -1.0])
    set_grad(shared, [0.5, 0.25])
    set_grad(other, [0.5, 0.25])
    opt = make(name).setup(Target(shared, other, shared))
    opt.update()
    opt.update()
    # the parameter listed twice moves exactly as far as the one listed once
    assert not np.array_equal(shared.data, [1.0, -1.0])
    np.testing.assert_array_equal(shared.data, other.data)


def test_setup_and_update_order_follows_params():
    a, b = param([1.0]), param([2.0])
    seen = []
    opt = SGD().setup(Target(b, a, b))
    set_grad(a, [1.0])
    set_grad(b, [1.0])
    opt.add_hook(lambda params: seen.extend(params))
    opt.update()
    assert len(seen) == 2 and seen[0] is b and seen[1] is a


class FrozenLinear(L.Linear):
    def params(self):
        return iter(())  # frozen, as the book freezes a layer


class WithFrozen(Model):
    def __init__(self):
        super().__init__()
        self.body = FrozenLinear(3, in_size=2)
        self.head = L.Linear(1, in_size=3)

    def forward(self, x):
        return self.head(self.body(x))


class HeadOnly(WithFrozen):
    def __init__(self):
        super().__init__()
        self.body = L.Linear(3, in_size=2)

    def params(self):  # only the head is trained
        yield from self.head.params()


@pytest.mark.parametrize('name', ALL)
@pytest.mark.parametrize('make_model', [WithFrozen, HeadOnly])
def test_layers_that_params_leaves_out_are_not_trained(name, make_model):
    # the optimizer read the layers' attributes, bypassing the params() overrides
    model = make_model()
    body, head = model.body.W.data.copy(), model.head.W.data.copy()
    opt = make(name).setup(model)
    for _ in range(2):
        model.cleargrads()
        F.sum(model(np.ones((4, 2), np.float32))).backward()
        opt.update()
    np.testing.assert_array_equal(model.body.W.data, body)
    assert not np.array_equal(model.head.W.data, head)


def test_the_state_file_of_a_tied_model_has_one_entry_per_parameter(tmp_path):
    model = Model()
    model.enc = L.Linear(2, in_size=2)
    model.dec = model.enc
    opt = Adam().setup(model)
    F.sum(model.dec(model.enc(np.ones((1, 2), np.float32)))).backward()
    opt.update()
    opt.save(tmp_path / 'opt.npz')
    with np.load(tmp_path / 'opt.npz') as f:
        assert sorted(f.files) == ['__optimizer__', 'enc/W/m', 'enc/W/v', 'enc/b/m', 'enc/b/v']
    Adam().setup(model).load(tmp_path / 'opt.npz')


@pytest.mark.parametrize('name', ALL)
def test_float32_stays_float32_in_place_and_state(name):
    p = param([1.0, -2.0, 3.0], dtype=np.float32)
    alias = p.data
    opt = make(name).setup(Target(p))
    opt.add_hook(WeightDecay(np.float64(0.01)))
    opt.add_hook(ClipGrad(np.float64(1.0)))
    for g in ([0.5, 1.0, -2.0], [1.0, -0.5, 0.25]):
        set_grad(p, g, np.float32)
        opt.update()
        assert p.grad.dtype == np.float32
    assert p.data is alias and p.data.dtype == np.float32
    assert not np.array_equal(alias, np.array([1.0, -2.0, 3.0], np.float32))
    for name, array in opt.state_of(p).items():
        if name != 'step':  # AdamW's count of the parameter's steps, an int
            assert array.dtype == np.float32 and array.shape == (3,)


def test_float32_numpy_scalar_hyperparameters_do_not_upcast():
    p = param([1.0, 2.0], dtype=np.float32)
    opt = MomentumSGD(lr=np.float64(0.1), momentum=np.float64(0.5)).setup(Target(p))
    set_grad(p, [1.0, 1.0], np.float32)
    opt.update()
    assert p.data.dtype == np.float32 and opt.state_of(p)['v'].dtype == np.float32
    np.testing.assert_allclose(p.data, [0.9, 1.9], rtol=1e-6)


@pytest.mark.parametrize('name', ALL)
def test_update_keeps_zero_dim_parameters_in_place(name):
    p = param(2.0)
    alias = p.data
    set_grad(p, 1.0)
    make(name).setup(Target(p)).update()
    assert p.data is alias and p.data.shape == () and float(alias) < 2.0


@pytest.mark.parametrize('name', ALL)
def test_read_only_and_shared_gradients_are_not_modified(name):
    a, b = param([[1.0, 2.0], [3.0, 4.0]]), param([0.0, 0.0])
    row = np.array([1.0, -2.0])
    a.grad = Variable(np.broadcast_to(row, (2, 2)))  # read-only view
    frozen = np.array([0.5, 0.5])
    frozen.flags.writeable = False
    b.grad = Variable(frozen)
    opt = make(name).setup(Target(a, b))
    opt.add_hook(WeightDecay(0.1))
    opt.add_hook(ClipGrad(0.5))
    opt.update()
    opt.update()
    np.testing.assert_array_equal(row, [1.0, -2.0])
    np.testing.assert_array_equal(frozen, [0.5, 0.5])


def test_gradient_shared_between_parameters_is_not_modified():
    g = Variable(np.array([1.0, 2.0]))
    a, b = param([0.0, 0.0]), param([10.0, 10.0])
    a.grad = b.grad = g
    MomentumSGD(lr=0.5).setup(Target(a, b)).update()
    np.testing.assert_array_equal(g.data, [1.0, 2.0])
    np.testing.assert_allclose(a.data, [-0.5, -1.0])
    np.testing.assert_allclose(b.data, [9.5, 9.0])


def test_update_is_not_recorded_in_a_graph():
    p = param([1.0, 2.0])
    set_grad(p, [1.0, 1.0])
    Adam().setup(Target(p)).update()
    assert p.creator is None and p.generation == 0


def test_state_does_not_keep_a_parameter_alive_nor_pass_to_a_newcomer():
    opt = MomentumSGD(lr=0.5, momentum=0.5)
    p = param([1.0, 1.0])
    set_grad(p, [1.0, 1.0])
    opt.setup(Target(p)).update()
    ref, old_id = weakref.ref(p), id(p)
    opt.setup(Target())
    del p
    gc.collect()
    assert ref() is None
    newcomers = []  # find a new parameter at the recycled address
    for _ in range(1000):
        q = param([1.0, 1.0])
        if id(q) == old_id:
            break
        newcomers.append(q)
    else:
        pytest.skip('no new object took the address of the old parameter')
    assert opt.state_of(q) == {}
    set_grad(q, [1.0, 1.0])
    opt.setup(Target(q)).update()  # fresh velocity: v = -0.5 g
    np.testing.assert_allclose(q.data, [0.5, 0.5])


def test_state_restarts_when_a_parameter_changes_shape():
    p = param([1.0, 1.0])
    opt = MomentumSGD(lr=0.5, momentum=0.5).setup(Target(p))
    set_grad(p, [1.0, 1.0])
    opt.update()
    p.data = np.zeros(3)
    set_grad(p, [1.0, 2.0, 4.0])
    opt.update()
    np.testing.assert_allclose(p.data, [-0.5, -1.0, -2.0])
    assert opt.state_of(p)['v'].shape == (3,)


# --------------------------------------------------------------------------------------
# Misuse
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('name', ALL)
def test_update_before_setup_is_refused(name):
    with pytest.raises(RuntimeError, match=f'{name}.update: .*setup'):
        make(name).update()


def test_setup_returns_the_optimizer_and_needs_params():
    opt = SGD()
    assert opt.setup(Target()) is opt
    with pytest.raises(TypeError, match=r'SGD.setup: .*params\(\).*list'):
        opt.setup([param([1.0])])


def test_params_must_be_variables():
    with pytest.raises(TypeError, match=r'SGD.update: .*ndarray'):
        SGD().setup(Target(np.zeros(2))).update()


def test_add_hook_needs_a_callable():
    with pytest.raises(TypeError, match='Adam.add_hook: .*callable.*int'):
        Adam().add_hook(3)


def test_freeze_param_lists_its_parameters_as_the_books_freeze_params():
    layer = L.Linear(3, in_size=2)
    extra = Parameter(np.zeros(2))
    hook = FreezeParam(layer, extra)
    assert [id(p) for p in hook.freeze_params] == [id(p) for p in [*layer.params(), extra]]
    # the book's code may add to the list: those are frozen too
    other = Parameter(np.ones(2))
    other.grad = Variable(np.ones(2))
    hook.freeze_params.append(other)
    hook([other])
    assert other.grad is None


def test_freeze_param_needs_layers_or_parameters():
    with pytest.raises(ValueError, match='FreezeParam'):
        FreezeParam()
    with pytest.raises(TypeError, match='FreezeParam: .*ndarray'):
        FreezeParam(np.zeros(2))


@pytest.mark.parametrize('name', ALL)
@pytest.mark.parametrize('dtype', [np.int64, np.int32, np.bool_])
def test_non_floating_parameters_are_refused_by_name(name, dtype):
    p = Parameter(np.array([1, 0, 1], dtype=dtype), name='counts')
    set_grad(p, [0.5, 0.5, 0.5], np.float64)
    opt = make(name).setup(Target(p))
    dtype_name = np.dtype(dtype).name
    with pytest.raises(
        TypeError,
        match=rf"{name}.update: the parameter 'counts' \(shape \(3,\)\) has dtype "
        rf'{dtype_name}.*floating point.*Parameter\(np.array\(.*float32',
    ):
        opt.update()
    np.testing.assert_array_equal(p.data, np.array([1, 0, 1], dtype=dtype))
    assert opt.state_of(p) == {}


def test_refused_parameters_are_named_by_their_path_in_the_model():
    model = MLP((3, 2))
    model(np.ones((1, 4), np.float32))
    model.l1.W.data = model.l1.W.data.astype(np.int64)
    for p in model.params():
        p.grad = Variable(np.ones(p.shape, np.float32))
    opt = SGD().setup(model)
    with pytest.raises(TypeError, match=r"SGD.update: the parameter 'l1/W' \(shape \(3, 2\)\)"):
        opt.update()


@pytest.mark.parametrize('name', ALL)
@pytest.mark.parametrize('grad_shape', [(1,), (2, 3), ()])
def test_a_gradient_of_another_shape_is_refused(name, grad_shape):
    p = param([1.0, 2.0, 3.0])
    p.grad = Variable(np.ones(grad_shape))
    opt = make(name).setup(Target(p))
    opt.add_hook(WeightDecay(0.1))  # would broadcast the gradient to the right shape
    with pytest.raises(
        ValueError,
        match=rf'{name}.update: the gradient of the parameter .*shape \(3,\).* has shape '
        rf'{re.escape(str(grad_shape))}',
    ):
        opt.update()
    np.testing.assert_array_equal(p.data, [1.0, 2.0, 3.0])


def test_a_hook_that_gives_a_gradient_of_another_shape_is_caught():
    p = param([1.0, 2.0, 3.0])
    set_grad(p, [1.0, 1.0, 1.0])
    opt = SGD().setup(Target(p))
    opt.add_hook(lambda params: setattr(params[0], 'grad', Variable(np.ones(1))))
    with pytest.raises(ValueError, match=r'SGD.update: the gradient .* has shape \(1,\)'):
        opt.update()
    np.testing.assert_array_equal(p.data, [1.0, 2.0, 3.0])


@pytest.mark.parametrize('name', ALL)
def test_a_gradient_without_data_is_refused(name):
    p = Parameter(None, name='W')
    p.grad = Variable(np.ones(3))
    with pytest.raises(
        ValueError, match=rf"{name}.update: the parameter 'W' has a gradient.*no data"
    ):
        make(name).setup(Target(p)).update()


@pytest.mark.parametrize('name', ALL)
def test_a_gradient_set_as_an_array_is_used_as_backward_would(name):
    ours, reference = param([1.0, -2.0]), param([1.0, -2.0])
    opt_ours, opt_reference = make(name).setup(Target(ours)), make(name).setup(Target(reference))
    for g in ([0.5, 1.0], [-1.0, 0.25]):
        ours.grad = np.array(g)
        set_grad(reference, g)
        opt_ours.update()
        opt_reference.update()
        assert isinstance(ours.grad, Variable)
        np.testing.assert_array_equal(ours.data, reference.data)


def a_good_and_a_bad_parameter(bad_grad=None, bad_data=None):
    good, bad = Parameter(np.ones(2), name='good'), Parameter(np.ones(2), name='bad')
    set_grad(good, [1.0, 1.0])
    if bad_data is not None:
        bad.data = bad_data
    bad.grad = Variable(np.ones(2)) if bad_grad is None else bad_grad
    return good, bad


@pytest.mark.parametrize('name', ALL)
@pytest.mark.parametrize(
    'make_bad, error, message',
    [
        (
            lambda: a_good_and_a_bad_parameter(bad_grad=np.array([1 + 1j, 2])),
            TypeError,
            r"the gradient of the parameter 'bad' \(shape \(2,\)\) has dtype complex128; "
            r'expected real numbers',
        ),
        (
            lambda: a_good_and_a_bad_parameter(bad_grad=Variable(None)),
            ValueError,
            r"the gradient of the parameter 'bad' \(shape \(2,\)\) has no data",
        ),
        (
            lambda: a_good_and_a_bad_parameter(bad_grad=[1.0, 2.0]),
            TypeError,
            r"the gradient of the parameter 'bad' \(shape \(2,\)\) is a list; expected a "
            r'Variable or an array',
        ),
        (
            lambda: a_good_and_a_bad_parameter(bad_data=np.broadcast_to(np.ones(1), (2,))),
            ValueError,
            r"the data of the parameter 'bad' \(shape \(2,\)\) is read-only.*copy\(\)",
        ),
    ],
)
def test_a_bad_gradient_or_read_only_data_is_refused_before_anything_changes(
    name, make_bad, error, message
):
    good, bad = make_bad()
    opt = make(name).setup(Target(good, bad))
    counters = {n: getattr(opt, n) for n in opt._counters}
    with pytest.raises(error, match=rf'{name}.update: {message}'):
        opt.update()
    np.testing.assert_array_equal(good.data, [1.0, 1.0])
    assert opt.state_of(good) == {}
    assert {n: getattr(opt, n) for n in opt._counters} == counters


def test_add_hook_refuses_a_hook_class():
    with pytest.raises(
        TypeError, match=r'SGD.add_hook: got the class WeightDecay; .*WeightDecay\('
    ):
        SGD().add_hook(WeightDecay)


@pytest.mark.parametrize('name', [n for n in ALL if n != 'AdaDelta'])
def test_a_learning_rate_of_zero_is_taken_and_leaves_the_parameters(name):
    p = param([1.0, -2.0])
    opt = make(name).setup(Target(p))
    opt.lr = 0
    opt.lr = opt.lr  # as a schedule that reached 0 may do
    set_grad(p, [0.5, 1.0])
    opt.update()  # AdamW's weight decay is scaled by the learning rate too
    np.testing.assert_array_equal(p.data, [1.0, -2.0])
    assert type(opt)(**({'alpha': 0} if name == 'Adam' else {'lr': 0})).lr == 0


# --------------------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------------------
def test_weight_decay_adds_rate_times_param_to_a_new_grad():
    p = param([1.0, 2.0])
    old = Variable(np.array([0.5, 0.5]))
    p.grad = old
    opt = SGD(lr=1.0).setup(Target(p))
    opt.add_hook(WeightDecay(0.1))
    opt.update()
    # grad = [0.5 + 0.1, 0.5 + 0.2];  p = [1 - 0.6, 2 - 0.7]
    assert p.grad is not old
    np.testing.assert_array_equal(old.data, [0.5, 0.5])
    np.testing.assert_allclose(p.grad.data, [0.6, 0.7], rtol=1e-15)
    np.testing.assert_allclose(p.data, [0.4, 1.3], rtol=1e-15)


def test_clip_grad_scales_all_grads_by_the_global_norm():
    a, b = param([0.0, 0.0]), param([[0.0, 0.0]])
    set_grad(a, [3.0, 0.0])
    b.grad = Variable(np.broadcast_to(np.array([[0.0, -4.0]]), (1, 2)))  # read-only
    old_a, old_b = a.grad, b.grad  # global norm 5
    ClipGrad(1.0)([a, b])
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_array_equal(old_a.data, [3.0, 0.0])  # new Variables
    np.testing.assert_array_equal(old_b.data, [[0.0, -4.0]])
    np.testing.assert_allclose(a.grad.data, [3.0 * scale, 0.0], rtol=1e-15)
    np.testing.assert_allclose(b.grad.data, [[0.0, -4.0 * scale]], rtol=1e-15)


@pytest.mark.parametrize(
    'dtype, values',
    [(np.float16, [300.0, 400.0]), (np.int16, [300, 400]), (np.int8, [100, 100])],
)
def test_clip_grad_takes_the_norm_of_small_dtypes_without_overflow(dtype, values):
    # 300**2 overflows float16 and wraps round in int16: the norm was inf (every
    # gradient scaled to 0) or a math domain error
    a = Parameter(np.zeros(2, dtype=np.float16 if dtype == np.float16 else np.float64))
    a.grad = Variable(np.array(values, dtype=dtype))
    ClipGrad(1.0)([a])
    norm = np.hypot(*values)
    expected = np.array(values) / (norm + 1e-6)
    np.testing.assert_allclose(a.grad.data, expected, rtol=1e-3 if dtype == np.float16 else 1e-12)


def test_clip_grad_leaves_grads_within_the_norm_alone():
    a, b = param([0.0, 0.0]), param([0.0])
    set_grad(a, [0.3, 0.0])
    set_grad(b, [0.39])  # global norm 0.4924: 0.5 / (norm + 1e-6) >= 1
    ga, gb = a.grad, b.grad
    ClipGrad(0.5)([a, b])
    assert a.grad is ga and b.grad is gb
    np.testing.assert_array_equal(a.grad.data, [0.3, 0.0])


@pytest.mark.parametrize('values, max_norm', [([0.6, 0.8], 1.0), ([6e-7, 8e-7], 1e-6)])
def test_clip_grad_scales_a_norm_at_max_norm_as_the_book_and_pytorch_do(values, max_norm):
    # only a norm above max_norm was scaled: at max_norm 1e-6 the gradient was left
    # twice as large as the book's and clip_grad_norm_'s
    a = param([0.0, 0.0])
    set_grad(a, values)
    ClipGrad(max_norm)([a])
    expected = np.array(values) * (max_norm / (max_norm + 1e-6))
    np.testing.assert_allclose(a.grad.data, expected, rtol=1e-15)


def test_clip_grad_in_an_optimizer():
    p = param([1.0, 1.0])
    set_grad(p, [6.0, 8.0])  # norm 10 -> grad ~ [0.6, 0.8]
    opt = SGD(lr=1.0).setup(Target(p))
    opt.add_hook(ClipGrad(1.0))
    opt.update()
    np.testing.assert_allclose(p.data, [0.4, 0.2], rtol=1e-6)


def test_freeze_param_freezes_layers_and_single_parameters():
    class Layer:
        def __init__(self, *ps):
            self.ps = ps

        def params(self):
            yield from self.ps

    a, b, c, d = param([1.0]), param([2.0]), param([3.0]), param([4.0])
    layer = Layer(a, b)
    for p in (a, b, c, d):
        set_grad(p, [1.0])
    opt = Adam(alpha=0.5).setup(Target(a, b, c, d))
    opt.add_hook(FreezeParam(layer, c))
    opt.update()
    np.testing.assert_array_equal([a.data[0], b.data[0], c.data[0]], [1.0, 2.0, 3.0])
    assert a.grad is None and b.grad is None and c.grad is None
    assert opt.state_of(a) == {} and opt.state_of(c) == {}
    np.testing.assert_allclose(d.data, [3.5])  # Adam's first step: alpha


def test_hooks_run_in_order_on_the_parameters_that_still_have_a_grad():
    a, b, c = param([1.0]), param([2.0]), param([3.0])
    set_grad(a, [1.0])
    set_grad(c, [1.0])
    calls = []
    opt = SGD().setup(Target(a, b, c))
    opt.add_hook(lambda ps: calls.append(('first', [id(p) for p in ps])))
    opt.add_hook(FreezeParam(a))
    opt.add_hook(lambda ps: calls.append(('second', [id(p) for p in ps])))
    opt.update()
    assert calls == [('first', [id(a), id(c)]), ('second', [id(c)])]


def test_a_hook_that_takes_parameters_out_of_its_list_leaves_them_alone():
    # each hook got a copy of the list, and the step went over the target's
    # parameters: the book's "do not train the biases" hook changed nothing
    model, x, t = mlp_problem()
    opt = MomentumSGD(lr=0.1).setup(model)

    def skip_biases(params):
        params[:] = [p for p in params if p.ndim > 1]

    opt.add_hook(skip_biases)
    opt.add_hook(WeightDecay(0.01))  # the next hook gets the same list
    biases = [model.l0.b.data.copy(), model.l1.b.data.copy()]
    W = model.l0.W.data.copy()
    train_steps(model, opt, x, t, 2)
    np.testing.assert_array_equal(model.l0.b.data, biases[0])
    np.testing.assert_array_equal(model.l1.b.data, biases[1])
    assert not np.array_equal(model.l0.W.data, W)
    assert id(model.l0.b) not in opt.vs and id(model.l0.W) in opt.vs


def test_a_hook_may_add_parameters_and_gets_a_list_of_its_own_each_step():
    layer = L.Linear(1, in_size=1, dtype=np.float64)  # a Layer: its list is cached
    layer.W.data[...] = 1.0
    extra = param([5.0])
    opt = SGD(lr=0.5).setup(layer)
    seen = []

    def hook(params):
        seen.append(len(params))
        if len(seen) == 1:
            params.clear()  # this step updates nothing
        else:
            params.append(extra)
            params.append(params[0])  # twice: still updated once

    opt.add_hook(hook)
    for p, g in ((layer.W, [[1.0]]), (layer.b, [1.0]), (extra, [1.0])):
        set_grad(p, g)
    opt.update()
    assert (layer.W.data[0, 0], layer.b.data[0], extra.data[0]) == (1.0, 0.0, 5.0)
    opt.update()  # the cleared list was the first step's, not the layer's
    assert (layer.W.data[0, 0], layer.b.data[0], extra.data[0]) == (0.5, -0.5, 4.5)
    assert seen == [2, 2]
    opt.hooks = [lambda params: params.append(3)]
    with pytest.raises(
        TypeError,
        match=r'^SGD\.update: a hook left in its list of parameters a int; expected Parameters$',
    ):
        opt.update()


@pytest.mark.parametrize(
    'hooks, expected_grad',
    [
        # decay first: [3, 4] + [3, 4] = [6, 8], norm 10 > 5 -> scaled to about [3, 4]
        ([WeightDecay(1.0), ClipGrad(5.0)], [6.0 * 5 / (10 + 1e-6), 8.0 * 5 / (10 + 1e-6)]),
        # clip first: norm 5 -> scaled by 5 / (5 + 1e-6), about [3, 4]; then decay adds [3, 4]
        ([ClipGrad(5.0), WeightDecay(1.0)], [3.0 * 5 / (5 + 1e-6) + 3, 4.0 * 5 / (5 + 1e-6) + 4]),
    ],
)
def test_hook_order_changes_the_result(hooks, expected_grad):
    p = param([3.0, 4.0])
    set_grad(p, [3.0, 4.0])
    opt = SGD(lr=1.0).setup(Target(p))
    for hook in hooks:
        opt.add_hook(hook)
    opt.update()
    np.testing.assert_allclose(p.grad.data, expected_grad, rtol=1e-15)
    np.testing.assert_allclose(p.data, np.array([3.0, 4.0]) - expected_grad, rtol=1e-15)


def test_clip_grad_makes_a_nan_norm_show_in_every_gradient():
    a, b = param([0.0, 0.0]), param([0.0])
    set_grad(a, [np.nan, 1.0])
    set_grad(b, [2.0])
    ClipGrad(1.0)([a, b])
    assert np.isnan(a.grad.data).all() and np.isnan(b.grad.data).all()


def test_clip_grad_with_an_infinite_gradient_gives_zeros_and_nan_without_warnings():
    a, b = param([0.0, 0.0]), param([0.0])
    set_grad(a, [np.inf, 1.0])
    set_grad(b, [2.0])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ClipGrad(1.0)([a, b])
    np.testing.assert_array_equal(a.grad.data, [np.nan, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.0])


# --------------------------------------------------------------------------------------
# Training a small model
# --------------------------------------------------------------------------------------
def sine_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2.0, 2.0, (100, 1)).astype(np.float32)
    return x, np.sin(x)


@pytest.mark.parametrize(
    'make_opt',
    [
        lambda: SGD(lr=0.2),
        lambda: MomentumSGD(lr=0.1),
        lambda: AdaGrad(lr=0.3),
        lambda: AdaDelta(),
        lambda: Adam(alpha=0.05),
        lambda: AdamW(lr=0.05),
        lambda: RMSprop(lr=0.01),
    ],
    ids=ALL,
)
def test_each_optimizer_trains_an_mlp(make_opt):
    x, y = sine_data()
    np.random.seed(0)
    model = MLP((10, 1))
    opt = make_opt().setup(model)
    losses = []
    for _ in range(300):
        loss = F.mean_squared_error(model(x), y)
        model.cleargrads()
        loss.backward()
        opt.update()
        losses.append(float(loss.data))
    # far better than the best constant prediction (whose loss is y's variance)
    assert losses[-1] < 0.05 * float(y.var())
    assert losses[-1] < losses[0] / 10
    assert loss.dtype == np.float32
    assert all(p.data.dtype == np.float32 for p in model.params())


def test_freeze_param_on_a_layer_of_an_mlp():
    x, y = sine_data()
    np.random.seed(0)
    model = MLP((10, 1))
    model(x)  # create the lazily shaped weights
    frozen = [p.data.copy() for p in model.l0.params()]
    trained = [p.data.copy() for p in model.l1.params()]
    opt = Adam(alpha=0.05).setup(model)
    opt.add_hook(FreezeParam(model.l0))
    for _ in range(3):
        loss = F.mean_squared_error(model(x), y)
        model.cleargrads()
        loss.backward()
        opt.update()
    for p, before in zip(model.l0.params(), frozen):
        np.testing.assert_array_equal(p.data, before)
    for p, before in zip(model.l1.params(), trained):
        assert not np.array_equal(p.data, before)


@pytest.mark.parametrize('name', ALL)
def test_a_refused_step_changes_no_parameter(name):
    good, bad = param([1.0, 2.0]), param([1.0, 2.0])
    set_grad(good, [1.0, 1.0])
    bad.grad = Variable(np.ones(1))
    opt = make(name).setup(Target(good, bad))
    with pytest.raises(ValueError, match=rf'{name}.update: the gradient'):
        opt.update()
    np.testing.assert_array_equal(good.data, [1.0, 2.0])
    assert opt.state_of(good) == {} and getattr(opt, 't', 0) == 0


# --------------------------------------------------------------------------------------
# AdamW and RMSprop: hand-computed steps, PyTorch's updates, arguments
# --------------------------------------------------------------------------------------
def test_adamw_two_steps():
    p = param([1.0, 1.0])
    opt = AdamW(lr=0.1, betas=(0.5, 0.75), eps=1e-12, weight_decay=0.5).setup(Target(p))
    set_grad(p, [2.0, -4.0])
    opt.update()
    # p *= 1 - 0.1 * 0.5 -> 0.95;  m = [1, -2];  v = [1, 4];  1 - 0.5 = 0.5, 1 - 0.75 = 0.25
    # p -= 0.1 / 0.5 * m / (sqrt(v) / sqrt(0.25)) = 0.2 * [1/2, -2/4]
    assert opt.t == 1
    np.testing.assert_allclose(p.data, [0.85, 1.05], rtol=1e-12)
    set_grad(p, [4.0, 0.0])
    opt.update()
    # p *= 0.95;  m = [2.5, -1];  v = [4.75, 3];  corrections 1 - 0.25 and 1 - 0.5625
    np.testing.assert_allclose(opt.state_of(p)['m'], [2.5, -1.0], rtol=1e-15)
    np.testing.assert_allclose(opt.state_of(p)['v'], [4.75, 3.0], rtol=1e-15)
    step = 0.1 / 0.75
    expected = [
        0.85 * 0.95 - step * 2.5 / math.sqrt(4.75 / 0.4375),
        1.05 * 0.95 + step * 1.0 / math.sqrt(3.0 / 0.4375),
    ]
    np.testing.assert_allclose(p.data, expected, rtol=1e-12)


def test_adamw_adds_eps_to_the_bias_corrected_root():
    # t = 1, beta1 = 0.5, beta2 = 0.75: m = 1, v = 1 for g = 2.  AdamW divides by
    # sqrt(v) / sqrt(0.25) + eps = 3; Adam's rule (eps on sqrt(v)) would give 2.
    p = param([1.0])
    opt = AdamW(lr=0.1, betas=(0.5, 0.75), eps=1.0, weight_decay=0.0).setup(Target(p))
    set_grad(p, [2.0])
    opt.update()
    np.testing.assert_allclose(p.data, [1.0 - 0.2 / 3.0], rtol=1e-15)


def test_adamw_weight_decay_is_decoupled_from_the_gradient():
    # a zero gradient leaves m and v at 0: only the decay moves p, by lr * wd * p
    p = param([2.0, -4.0])
    opt = AdamW(lr=0.1, weight_decay=0.25).setup(Target(p))
    set_grad(p, [0.0, 0.0])
    opt.update()
    np.testing.assert_allclose(p.data, [2.0 * 0.975, -4.0 * 0.975], rtol=1e-15)


def test_rmsprop_two_steps():
    p = param([1.0, 1.0])
    opt = RMSprop(lr=0.1, alpha=0.75, eps=1.0).setup(Target(p))
    set_grad(p, [2.0, -4.0])
    opt.update()
    # s = 0.25 g^2 = [1, 4];  d = sqrt(s) + 1 = [2, 3];  p -= 0.1 g / d
    np.testing.assert_allclose(p.data, [0.9, 1.0 + 0.4 / 3.0], rtol=1e-15)
    set_grad(p, [4.0, 0.0])
    opt.update()
    # s = 0.75 [1, 4] + 0.25 [16, 0] = [4.75, 3]
    np.testing.assert_allclose(opt.state_of(p)['square_avg'], [4.75, 3.0], rtol=1e-15)
    expected = [0.9 - 0.1 * 4.0 / (math.sqrt(4.75) + 1.0), 1.0 + 0.4 / 3.0]
    np.testing.assert_allclose(p.data, expected, rtol=1e-15)
    assert set(opt.state_of(p)) == {'square_avg'}


def test_rmsprop_centered_with_momentum_and_weight_decay_two_steps():
    lr, alpha, eps, wd, mu = 0.1, 0.75, 1.0, 0.5, 0.5
    p = param([1.0])
    opt = RMSprop(lr=lr, alpha=alpha, eps=eps, weight_decay=wd, momentum=mu, centered=True)
    opt.setup(Target(p))
    expected, s, a, b = 1.0, 0.0, 0.0, 0.0
    for g in (2.0, 1.0):
        set_grad(p, [g])
        opt.update()
        g = g + wd * expected  # the decay enters the gradient
        s = alpha * s + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g
        b = mu * b + g / (math.sqrt(s - a * a) + eps)
        expected -= lr * b
        np.testing.assert_allclose(p.data, [expected], rtol=1e-14)
    state = opt.state_of(p)
    assert set(state) == {'square_avg', 'grad_avg', 'momentum_buffer'}
    np.testing.assert_allclose(state['grad_avg'], [a], rtol=1e-14)
    np.testing.assert_allclose(state['momentum_buffer'], [b], rtol=1e-14)
    # the first step by hand: g = 2.5, s = 1.5625, a = 0.625, d = sqrt(1.171875) + 1
    assert b != 0 and 1.0 - lr * 2.5 / (math.sqrt(1.171875) + 1.0) > expected


def test_adamw_and_rmsprop_defaults_are_pytorch_values():
    w = AdamW()
    assert (w.lr, w.betas, w.eps, w.weight_decay, w.t) == (0.001, (0.9, 0.999), 1e-8, 0.01, 0)
    r = RMSprop()
    assert (r.lr, r.alpha, r.eps, r.weight_decay, r.momentum, r.centered) == (
        0.01,
        0.99,
        1e-8,
        0.0,
        0.0,
        False,
    )


@pytest.mark.parametrize(
    'make_bad, error, message',
    [
        (lambda: AdamW(lr=-1), ValueError, 'AdamW: lr must be non-negative (>= 0), got -1'),
        (lambda: AdamW(betas=(1.0, 0.9)), ValueError, 'AdamW: beta1 must be in [0, 1), got 1.0'),
        (lambda: AdamW(betas=(0.9, -0.1)), ValueError, 'AdamW: beta2 must be in [0, 1), got -0.1'),
        (lambda: AdamW(betas=0.9), TypeError, 'AdamW: betas must be a pair (beta1, beta2)'),
        (lambda: AdamW(betas=(0.9,)), TypeError, 'AdamW: betas must be a pair'),
        (lambda: AdamW(weight_decay=-1), ValueError, 'AdamW: weight_decay must be non-negative'),
        (lambda: AdamW(eps=0.0), ValueError, 'AdamW: eps must be positive (> 0), got 0.0'),
        (lambda: RMSprop(lr=-0.1), ValueError, 'RMSprop: lr must be non-negative (>= 0), got -0.1'),
        (lambda: RMSprop(alpha=1.0), ValueError, 'RMSprop: alpha must be in [0, 1), got 1.0'),
        (lambda: RMSprop(momentum=1.5), ValueError, 'RMSprop: momentum must be in [0, 1)'),
        (lambda: RMSprop(weight_decay=float('nan')), ValueError, 'RMSprop: weight_decay'),
        (lambda: RMSprop(centered=1), TypeError, 'RMSprop: centered must be True or False, got 1'),
        (lambda: RMSprop(rho=0.9), TypeError, "RMSprop: unknown argument 'rho'; RMSprop takes"),
        (
            lambda: AdamW(beta1=0.9),
            TypeError,
            "AdamW: unknown argument 'beta1'; AdamW takes lr, betas, eps, weight_decay",
        ),
    ],
)
def test_adamw_and_rmsprop_bad_arguments(make_bad, error, message):
    with pytest.raises(error) as info:
        make_bad()
    assert message in str(info.value)


def test_adamw_betas_are_assigned_together_or_not_at_all():
    opt = AdamW(betas=(0.8, 0.9))
    opt.betas = [0.5, 0.6]
    assert (opt.beta1, opt.beta2) == (0.5, 0.6)
    with pytest.raises(ValueError, match='beta2'):
        opt.betas = (0.1, 2.0)
    assert opt.betas == (0.5, 0.6)


def test_rmsprop_momentum_turned_on_later_starts_from_zero():
    p = param([1.0])
    opt = RMSprop(lr=0.1, alpha=0.5, eps=1.0).setup(Target(p))
    set_grad(p, [2.0])
    opt.update()  # s = 2, p = 1 - 0.1 * 2 / (sqrt(2) + 1)
    opt.momentum = 0.9
    opt.update()  # s = 0.5 * 2 + 0.5 * 4 = 3; b = 0 * 0.9 + 2 / (sqrt(3) + 1)
    b = 2.0 / (math.sqrt(3.0) + 1.0)
    np.testing.assert_allclose(opt.state_of(p)['momentum_buffer'], [b], rtol=1e-15)
    np.testing.assert_allclose(p.data, [1.0 - 0.2 / (math.sqrt(2.0) + 1.0) - 0.1 * b], rtol=1e-14)


TORCH_CASES = {
    'AdamW': (
        lambda: AdamW(lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.2),
        lambda torch, ps: torch.optim.AdamW(
            ps, lr=0.05, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.2
        ),
    ),
    'AdamW-defaults': (lambda: AdamW(), lambda torch, ps: torch.optim.AdamW(ps)),
    'RMSprop': (lambda: RMSprop(lr=0.02), lambda torch, ps: torch.optim.RMSprop(ps, lr=0.02)),
    'RMSprop-all-options': (
        lambda: RMSprop(
            lr=0.02, alpha=0.9, eps=1e-3, weight_decay=0.1, momentum=0.7, centered=True
        ),
        lambda torch, ps: torch.optim.RMSprop(
            ps, lr=0.02, alpha=0.9, eps=1e-3, weight_decay=0.1, momentum=0.7, centered=True
        ),
    ),
    'RMSprop-momentum': (
        lambda: RMSprop(lr=0.01, momentum=0.9),
        lambda torch, ps: torch.optim.RMSprop(ps, lr=0.01, momentum=0.9),
    ),
}


@pytest.mark.parametrize('case', list(TORCH_CASES))
@pytest.mark.parametrize('dtype, rtol', [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_adamw_and_rmsprop_follow_torch_optim(case, dtype, rtol):
    torch = pytest.importorskip('torch')
    ours, theirs = TORCH_CASES[case]
    rng = np.random.default_rng(7)
    starts = [rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=(5,)).astype(dtype)]
    params = [Parameter(a.copy()) for a in starts]
    tensors = [torch.tensor(a.copy(), requires_grad=True) for a in starts]
    opt = ours().setup(Target(*params))
    topt = theirs(torch, tensors)
    for step in range(8):
        for p, t in zip(params, tensors):
            g = rng.normal(size=p.shape).astype(dtype) * (step + 1)
            p.grad = Variable(g)
            t.grad = torch.tensor(g.copy())
        opt.update()
        topt.step()
        for p, t in zip(params, tensors):
            assert p.data.dtype == dtype
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize('dtype, rtol', [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_adamw_counts_the_steps_of_each_parameter_as_pytorch_does(dtype, rtol):
    # b has no gradient in the first five updates (frozen, say): its first step must
    # be corrected as a first step, not as a sixth
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(3)
    starts = [rng.normal(size=(4,)).astype(dtype), rng.normal(size=(2, 3)).astype(dtype)]
    params = [Parameter(a.copy()) for a in starts]
    tensors = [torch.tensor(a.copy(), requires_grad=True) for a in starts]
    opt = AdamW(lr=0.1, weight_decay=0.05).setup(Target(*params))
    topt = torch.optim.AdamW(tensors, lr=0.1, weight_decay=0.05)
    for step in range(9):
        for i, (p, t) in enumerate(zip(params, tensors)):
            if i == 1 and step < 5:
                p.grad, t.grad = None, None
                continue
            g = rng.normal(size=p.shape).astype(dtype)
            p.grad = Variable(g)
            t.grad = torch.tensor(g.copy())
        opt.update()
        topt.step()
        for p, t in zip(params, tensors):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=rtol, atol=rtol * 1e-2)
    assert opt.t == 9
    assert [opt.state_of(p)['step'] for p in params] == [9, 4]


# --------------------------------------------------------------------------------------
# The optimizer's state: state_dict, save and load
# --------------------------------------------------------------------------------------
def mlp_problem(seed=0, sizes=(6, 3), dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(20, 4)).astype(dtype)
    t = rng.integers(0, 3, size=20)
    np.random.seed(seed)
    model = MLP(sizes)
    model(x)  # create the weights
    return model, x, t


def train_steps(model, opt, x, t, n):
    for _ in range(n):
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.update()


SAVABLE = {
    'SGD': lambda: SGD(lr=0.1),
    'MomentumSGD': lambda: MomentumSGD(lr=0.1, momentum=0.8),
    'AdaGrad': lambda: AdaGrad(lr=0.1),
    'AdaDelta': lambda: AdaDelta(rho=0.9),
    'Adam': lambda: Adam(alpha=0.01),
    'AdamW': lambda: AdamW(lr=0.01, weight_decay=0.1),
    'RMSprop': lambda: RMSprop(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
}


@pytest.mark.parametrize('name', list(SAVABLE))
def test_save_and_load_continue_training_bit_for_bit(name, tmp_path):
    model, x, t = mlp_problem()
    opt = SAVABLE[name]().setup(model)
    train_steps(model, opt, x, t, 3)
    model.save_weights(tmp_path / 'w.npz')
    opt.save(tmp_path / 'opt.npz')
    train_steps(model, opt, x, t, 4)
    # a new model and optimizer, made with other hyperparameters, as a new process would
    other, _, _ = mlp_problem(seed=1)
    other.load_weights(tmp_path / 'w.npz')
    opt2 = SAVABLE[name]()
    if hasattr(opt2, 'lr'):
        opt2.lr = 0.5
    opt2.setup(other)
    opt2.load(tmp_path / 'opt.npz')
    assert opt2.state_dict()['hyperparameters'] == opt.state_dict()['hyperparameters']
    train_steps(other, opt2, x, t, 4)
    for (path, p), (path2, q) in zip(model.named_params(), other.named_params()):
        assert path == path2
        np.testing.assert_array_equal(p.data, q.data)
    assert getattr(opt2, 't', None) == getattr(opt, 't', None)


def test_the_file_is_a_plain_npz_keyed_by_parameter_paths(tmp_path):
    import json

    model, x, t = mlp_problem()
    opt = Adam(alpha=0.01).setup(model)
    train_steps(model, opt, x, t, 2)
    opt.save(tmp_path / 'opt.npz')
    with np.load(tmp_path / 'opt.npz', allow_pickle=False) as f:
        names = set(f.files)
        meta = json.loads(str(f['__optimizer__']))
        m = f['l0/W/m']
    assert names == {'__optimizer__'} | {
        f'{path}/{s}' for path in ('l0/W', 'l0/b', 'l1/W', 'l1/b') for s in 'mv'
    }
    assert meta['optimizer'] == 'Adam' and meta['counters'] == {'t': 2}
    assert meta['hyperparameters'] == {'alpha': 0.01, 'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-8}
    np.testing.assert_array_equal(m, opt.state_of(model.l0.W)['m'])
    assert m.dtype == np.float32


def test_state_dict_is_a_copy_and_load_state_dict_round_trips():
    model, x, t = mlp_problem()
    opt = MomentumSGD(lr=0.1).setup(model)
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    assert state['optimizer'] == 'MomentumSGD' and state['counters'] == {}
    assert state['hyperparameters'] == {'lr': 0.1, 'momentum': 0.9}
    v = opt.state_of(model.l1.b)['v'].copy()
    state['state']['l1/b']['v'][...] = 99.0  # changes the copy only
    np.testing.assert_array_equal(opt.state_of(model.l1.b)['v'], v)
    opt2 = MomentumSGD().setup(model)
    opt2.load_state_dict(opt.state_dict())
    for p in model.params():
        np.testing.assert_array_equal(opt2.state_of(p)['v'], opt.state_of(p)['v'])
        assert opt2.state_of(p)['v'] is not opt.state_of(p)['v']
    assert opt2.lr == 0.1


def test_loading_replaces_the_whole_state(tmp_path):
    model, x, t = mlp_problem()
    opt = Adam().setup(model)
    opt.save(tmp_path / 'fresh.npz')  # before any step: no state, t = 0
    train_steps(model, opt, x, t, 2)
    opt.load(tmp_path / 'fresh.npz')
    assert opt.t == 0 and all(opt.state_of(p) == {} for p in model.params())


def _copied_by(how, model, opt):
    if how == 'deepcopy of both':
        return copy.deepcopy((model, opt))
    if how == 'pickle of both':
        return pickle.loads(pickle.dumps((model, opt)))
    opt2 = copy.deepcopy(opt)  # its target, the model, is copied with it
    return opt2.target, opt2


@pytest.mark.parametrize('how', ['deepcopy of both', 'pickle of both', 'deepcopy of the optimizer'])
@pytest.mark.parametrize('name', sorted(SAVABLE))
def test_a_copied_optimizer_goes_on_as_the_original_with_its_own_state(name, how):
    # the state was kept by id: a deepcopy kept none for the copied parameters (Adam
    # restarted its moments silently) and pickle raised on the weak references
    model, x, t = mlp_problem()
    opt = SAVABLE[name]()
    opt.setup(model)
    train_steps(model, opt, x, t, 2)
    model2, opt2 = _copied_by(how, model, opt)
    assert opt2.target is model2
    for p, p2 in zip(model.params(), model2.params()):
        assert opt2.state_of(p2).keys() == opt.state_of(p).keys()
        assert opt2.state_of(p) == {}  # the copy keeps none for the original's
    before = {path: dict(opt.state_of(p)) for path, p in model.named_params()}
    before = {path: {k: np.copy(a) for k, a in s.items()} for path, s in before.items()}
    train_steps(model2, opt2, x, t, 2)
    for path, p in model.named_params():  # the original is untouched by the copy's steps
        for k, a in opt.state_of(p).items():
            np.testing.assert_array_equal(a, before[path][k])
    train_steps(model, opt, x, t, 2)
    for p, p2 in zip(model.params(), model2.params()):
        np.testing.assert_array_equal(p2.data, p.data)


class TwoLayers(Model):
    def __init__(self, dtype):
        super().__init__()
        self.l0 = L.Linear(6, dtype=dtype)
        self.l1 = L.Linear(3, dtype=dtype)

    def forward(self, x):
        return self.l1(F.relu(self.l0(x)))


def test_loading_casts_to_the_dtype_of_the_parameters(tmp_path):
    x = np.ones((2, 4), dtype=np.float32)
    t = np.array([0, 2])
    model = TwoLayers(np.float32)
    opt = AdaGrad().setup(model)
    train_steps(model, opt, x, t, 1)
    assert opt.state_of(model.l0.W)['h'].dtype == np.float32
    opt.save(tmp_path / 'opt.npz')
    other = TwoLayers(np.float64)
    other(x.astype(np.float64))
    opt2 = AdaGrad().setup(other)
    opt2.load(tmp_path / 'opt.npz')
    h = opt2.state_of(other.l0.W)['h']
    assert h.dtype == np.float64
    np.testing.assert_array_equal(h, opt.state_of(model.l0.W)['h'].astype(np.float64))


def snapshot(opt, model):
    return (
        opt.state_dict()['hyperparameters'],
        getattr(opt, 't', None),
        [{k: np.copy(v) for k, v in opt.state_of(p).items()} for p in model.params()],
    )


def assert_same_snapshot(a, b):
    assert a[0] == b[0] and a[1] == b[1]
    for x, y in zip(a[2], b[2]):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])


@pytest.mark.parametrize(
    'make_other, message',
    [
        (
            lambda: (mlp_problem(sizes=(7, 3))[0], Adam),
            r"Adam\.load: the parameter 'l0/W' has shape \(4, 7\) but .*opt\.npz holds 'm' "
            r'state of shape \(4, 6\)',
        ),
        (
            lambda: (mlp_problem(sizes=(6,))[0], Adam),
            r"Adam\.load: .*opt\.npz holds state for the parameter 'l1/W', which the target "
            r"\(MLP\) does not have; it has 'l0/W', 'l0/b'",
        ),
        (
            lambda: (mlp_problem()[0], AdamW),
            r'AdamW\.load: .*opt\.npz holds the state of a Adam optimizer, not of a AdamW',
        ),
    ],
)
def test_a_state_that_does_not_fit_is_refused_and_changes_nothing(make_other, message, tmp_path):
    model, x, t = mlp_problem()
    opt = Adam(alpha=0.01).setup(model)
    train_steps(model, opt, x, t, 2)
    opt.save(tmp_path / 'opt.npz')
    other, kind = make_other()
    opt2 = kind(lr=0.5).setup(other)
    train_steps(other, opt2, x, t, 1)
    before = snapshot(opt2, other)
    with pytest.raises(ValueError, match=message):
        opt2.load(tmp_path / 'opt.npz')
    assert_same_snapshot(snapshot(opt2, other), before)


def test_a_state_of_the_right_shape_but_an_integer_dtype_is_refused_for_its_dtype():
    # the message said the shapes differed, and gave two equal shapes
    model, x, t = mlp_problem()
    opt = Adam(alpha=0.01).setup(model)
    train_steps(model, opt, x, t, 1)
    state = opt.state_dict()
    state['state']['l0/W']['m'] = state['state']['l0/W']['m'].astype(np.int32)
    before = snapshot(opt, model)
    with pytest.raises(
        ValueError,
        match=r"Adam\.load_state_dict: the state holds 'm' state of dtype int32 for the "
        r"parameter 'l0/W'; expected floating point",
    ):
        opt.load_state_dict(state)
    assert_same_snapshot(snapshot(opt, model), before)


def test_load_names_the_file_that_is_missing_or_unreadable(tmp_path):
    opt = Adam().setup(MLP((3,)))
    with pytest.raises(FileNotFoundError, match=r'Adam\.load: no such file: .*nothing\.npz'):
        opt.load(tmp_path / 'nothing.npz')
    (tmp_path / 'junk.npz').write_bytes(b'not an archive')
    with pytest.raises(ValueError, match=r'Adam\.load: cannot read .*junk\.npz'):
        opt.load(tmp_path / 'junk.npz')
    model = MLP((3,))
    model.save_weights(tmp_path / 'weights.npz')
    with pytest.raises(ValueError, match=r'weights\.npz is not a file of dezero optimizer state'):
        opt.load(tmp_path / 'weights.npz')


def test_a_bad_hyperparameter_in_the_file_is_refused(tmp_path):
    model, x, t = mlp_problem()
    opt = SGD(lr=0.1).setup(model)
    state = opt.state_dict()
    state['hyperparameters']['lr'] = -1.0
    with pytest.raises(ValueError, match=r'SGD\.load_state_dict: the state holds a bad value'):
        opt.load_state_dict(state)
    assert opt.lr == 0.1
    state['hyperparameters'] = {'lr': 0.1, 'momentum': 0.9}
    with pytest.raises(ValueError, match='has the hyperparameters lr, momentum; SGD has lr'):
        opt.load_state_dict(state)


def test_save_and_load_need_a_target_with_named_params(tmp_path):
    with pytest.raises(RuntimeError, match=r'Adam\.save.*setup\(model\)'):
        Adam().save(tmp_path / 'a.npz')
    opt = Adam().setup(Target(param([1.0])))
    with pytest.raises(TypeError, match=r'Adam\.save.*named_params\(\).*got Target'):
        opt.save(tmp_path / 'a.npz')
    assert not (tmp_path / 'a.npz').exists()


def test_a_failed_save_leaves_the_previous_file(tmp_path, monkeypatch):
    model, x, t = mlp_problem()
    opt = Adam().setup(model)
    train_steps(model, opt, x, t, 1)
    opt.save(tmp_path / 'opt.npz')
    before = (tmp_path / 'opt.npz').read_bytes()
    train_steps(model, opt, x, t, 1)

    def failing_write(f, arrays):
        f.write(b'PK\x03\x04 half an archive')
        raise OSError('disk full')

    monkeypatch.setattr(dezero.optimizers, 'write_npz', failing_write)
    with pytest.raises(OSError, match='disk full'):
        opt.save(tmp_path / 'opt.npz')
    assert (tmp_path / 'opt.npz').read_bytes() == before
    assert os.listdir(tmp_path) == ['opt.npz']


def test_adamw_keeps_each_parameters_step_count_in_its_saved_state(tmp_path):
    model, x, t = mlp_problem()
    opt = AdamW(lr=0.01).setup(model)
    opt.add_hook(FreezeParam(model.l1))
    train_steps(model, opt, x, t, 2)
    opt.hooks.clear()
    train_steps(model, opt, x, t, 3)
    state = opt.state_dict()['state']
    assert int(state['l0/W']['step']) == 5 and int(state['l1/W']['step']) == 3
    opt.save(tmp_path / 'opt.npz')
    again = AdamW(lr=0.01).setup(model)
    again.load(tmp_path / 'opt.npz')
    assert again.state_of(model.l1.W)['step'] == 3 and again.t == 5


def test_adamw_state_without_step_counts_takes_the_update_count():
    # the state of a file written when every parameter counted every update() call
    model, x, t = mlp_problem()
    opt = AdamW(lr=0.01).setup(model)
    train_steps(model, opt, x, t, 4)
    state = opt.state_dict()
    for arrays in state['state'].values():
        del arrays['step']
    again = AdamW(lr=0.01).setup(model)
    again.load_state_dict(state)
    assert all(again.state_of(p)['step'] == 4 for p in model.params())


def test_adamw_refuses_a_bad_step_count_and_changes_nothing():
    model, x, t = mlp_problem()
    opt = AdamW(lr=0.01).setup(model)
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    state['state']['l0/W']['step'] = np.array(-1)
    before = opt.state_of(model.l0.W)['step']
    with pytest.raises(ValueError, match=r"AdamW.load_state_dict: .*step count 'step'.*'l0/W'"):
        opt.load_state_dict(state)
    assert opt.state_of(model.l0.W)['step'] == before


@pytest.mark.parametrize(
    'damage, message',
    [
        (lambda s: s.update(hyperparameters=[('lr', 0.1)]), 'hyperparameters of type list'),
        (lambda s: s.update(counters=3), 'counters of type int'),
        (lambda s: s.update(state=[]), 'state of type list'),
        (lambda s: s['state'].update({'l0/W': [1.0]}), "no arrays for 'l0/W'"),
        (lambda s: s['state']['l0/W'].update(m=[1.0]), "'m' state of type list"),
    ],
)
def test_a_malformed_state_is_refused_by_name_and_changes_nothing(damage, message):
    model, x, t = mlp_problem()
    opt = Adam(alpha=0.01).setup(model)
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    before = snapshot(opt, model)
    damage(state)
    with pytest.raises(ValueError, match=f'Adam.load_state_dict: the state .*{message}'):
        opt.load_state_dict(state)
    assert_same_snapshot(snapshot(opt, model), before)


# --------------------------------------------------------------------------------------
# The names of the state arrays and their values are checked before loading
# --------------------------------------------------------------------------------------
KEPT = {
    'SGD': [],
    'MomentumSGD': ['v'],
    'AdaGrad': ['h'],
    'AdaDelta': ['msg', 'msdx'],
    'Adam': ['m', 'v'],
    'AdamW': ['m', 'v', 'step'],
    'RMSprop': ['square_avg', 'momentum_buffer', 'grad_avg'],  # momentum and centered
}


@pytest.mark.parametrize('name', list(SAVABLE))
def test_each_optimizer_saves_the_state_arrays_it_keeps(name):
    model, x, t = mlp_problem()
    opt = SAVABLE[name]().setup(model)
    train_steps(model, opt, x, t, 1)
    state = opt.state_dict()['state']
    assert all(list(arrays) == KEPT[name] for arrays in state.values())
    assert len(state) == (0 if name == 'SGD' else 4)


@pytest.mark.parametrize('name', [n for n in SAVABLE if KEPT[n]])
def test_a_state_with_a_renamed_array_is_refused_by_name_and_changes_nothing(name):
    model, x, t = mlp_problem()
    opt = SAVABLE[name]().setup(model)
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    dropped = KEPT[name][-1] if name != 'AdamW' else 'v'
    arrays = state['state']['l1/W']
    arrays['old_' + dropped] = arrays.pop(dropped)  # renamed: one missing, one unknown
    before = snapshot(opt, model)
    kept = ', '.join(repr(n) for n in KEPT[name] if n != 'step')
    with pytest.raises(
        ValueError,
        match=f'{name}.load_state_dict: the state holds the state arrays .* for the '
        f"parameter 'l1/W' \\(missing '{dropped}'; unknown 'old_{dropped}'\\); "
        f'{name} keeps {re.escape(kept)}$',
    ):
        opt.load_state_dict(state)
    assert_same_snapshot(snapshot(opt, model), before)


@pytest.mark.parametrize('name', list(SAVABLE))
def test_a_state_with_an_unknown_array_is_refused_by_name_and_changes_nothing(name):
    model, x, t = mlp_problem()
    opt = SAVABLE[name]().setup(model)
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    state['state'].setdefault('l0/b', {})['bogus'] = np.zeros(6, np.float32)
    before = snapshot(opt, model)
    with pytest.raises(
        ValueError,
        match=f"{name}.load_state_dict: the state holds the state arrays .*'bogus' for the "
        f"parameter 'l0/b' \\(unknown 'bogus'\\)",
    ):
        opt.load_state_dict(state)
    assert_same_snapshot(snapshot(opt, model), before)


def test_the_first_repro_missing_v_and_an_unknown_entry_name_both():
    model = MLP((3, 2))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    opt = Adam(0.01).setup(model)
    train_steps(model, opt, x, np.array([0, 1, 0, 1, 1]), 3)
    state = opt.state_dict()
    del state['state']['l0/W']['v']
    state['state']['l0/b']['bogus'] = np.zeros(3, np.float32)
    fresh = Adam(0.01).setup(model)
    with pytest.raises(ValueError, match=r"'l0/W' \(missing 'v'\); Adam keeps 'm', 'v'"):
        fresh.load_state_dict(state)
    assert fresh.t == 0 and all(fresh.state_of(p) == {} for p in model.params())
    del state['state']['l0/W']
    with pytest.raises(ValueError, match=r"'l0/b' \(unknown 'bogus'\)"):
        fresh.load_state_dict(state)


def test_a_file_missing_an_array_is_refused_naming_the_file(tmp_path):
    model, x, t = mlp_problem()
    opt = Adam(alpha=0.01).setup(model)
    train_steps(model, opt, x, t, 3)
    opt.save(tmp_path / 'opt.npz')
    with np.load(tmp_path / 'opt.npz', allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files if k != 'l0/W/v'}
    np.savez(tmp_path / 'opt.npz', **arrays)
    before = snapshot(opt, model)
    with pytest.raises(
        ValueError,
        match=r"Adam\.load: .*opt\.npz holds the state arrays 'm' for the parameter 'l0/W' "
        r"\(missing 'v'\); Adam keeps 'm', 'v'",
    ):
        opt.load(tmp_path / 'opt.npz')
    assert_same_snapshot(snapshot(opt, model), before)


def test_parameters_without_state_are_still_taken():
    model, x, t = mlp_problem()
    opt = Adam(alpha=0.01).setup(model)
    opt.add_hook(FreezeParam(model.l1))  # l1 never updated: it has no state
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    assert sorted(state['state']) == ['l0/W', 'l0/b']
    again = Adam().setup(model)
    again.load_state_dict(state)
    assert again.state_of(model.l1.W) == {} and list(again.state_of(model.l0.W)) == ['m', 'v']


@pytest.mark.parametrize(
    'make_opt, name',
    [
        (lambda: Adam(alpha=0.01), 'v'),
        (lambda: AdamW(lr=0.01), 'v'),
        (lambda: AdaGrad(lr=0.1), 'h'),
        (lambda: AdaDelta(rho=0.9), 'msg'),
        (lambda: AdaDelta(rho=0.9), 'msdx'),
        (lambda: RMSprop(lr=0.01), 'square_avg'),
    ],
)
def test_a_negative_average_of_squares_is_refused_and_changes_nothing(make_opt, name):
    model, x, t = mlp_problem()
    opt = make_opt().setup(model)
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    state['state']['l0/b'][name][2] = -0.5
    before = snapshot(opt, model)
    with pytest.raises(
        ValueError,
        match=f"load_state_dict: the state holds '{name}' state with the negative value -0.5 "
        f"for the parameter 'l0/b'; it is an average of squares, never below 0",
    ):
        opt.load_state_dict(state)
    assert_same_snapshot(snapshot(opt, model), before)
    state['state']['l0/b'][name][2] = 0.0  # zero is a possible average of squares
    opt.load_state_dict(state)


def test_rmsprop_keeps_the_buffers_of_the_options_on():
    model, x, t = mlp_problem()
    opt = RMSprop(lr=0.01, centered=True).setup(model)
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    assert list(state['state']['l0/W']) == ['square_avg', 'grad_avg']
    del state['state']['l0/W']['grad_avg']
    with pytest.raises(ValueError, match=r"'l0/W' \(missing 'grad_avg'\); RMSprop keeps "):
        opt.load_state_dict(state)
    state = opt.state_dict()
    state['hyperparameters']['momentum'] = 0.5  # a buffer for momentum is needed now
    with pytest.raises(ValueError, match=r"\(missing 'momentum_buffer'\); RMSprop keeps "):
        opt.load_state_dict(state)
    for arrays in state['state'].values():
        arrays['momentum_buffer'] = np.zeros_like(arrays['square_avg'])
    opt.load_state_dict(state)
    assert opt.momentum == 0.5 and list(opt.state_of(model.l0.W))[-1] == 'momentum_buffer'


def test_rmsprop_state_of_options_turned_on_or_off_round_trips():
    model, x, t = mlp_problem()
    opt = RMSprop(lr=0.01, momentum=0.5).setup(model)
    train_steps(model, opt, x, t, 2)
    opt.momentum = 0  # the buffer stays, unused; it is used again if momentum comes back
    opt.centered = True  # the average of g starts at 0 at the next step
    state = opt.state_dict()
    assert list(state['state']['l0/W']) == ['square_avg', 'momentum_buffer', 'grad_avg']
    np.testing.assert_array_equal(state['state']['l0/W']['grad_avg'], 0.0)
    other, _, _ = mlp_problem()
    for (_, p), (_, q) in zip(model.named_params(), other.named_params()):
        q.data[...] = p.data
    again = RMSprop().setup(other)
    again.load_state_dict(state)
    train_steps(model, opt, x, t, 2)
    train_steps(other, again, x, t, 2)
    for p, q in zip(model.params(), other.params()):
        np.testing.assert_array_equal(p.data, q.data)


def _one_parameter_layer(values):
    from dezero.layers import Layer

    layer = Layer()
    layer.p = param(values)
    return layer


def test_an_optimizer_of_ones_own_that_keeps_state_reloads_its_state():
    class MyMomentum(Optimizer):
        def update_one(self, param):
            (v,) = self._state(param, 'v')
            v *= 0.9
            v -= 0.1 * param.grad.data
            param.data += v

    layer = _one_parameter_layer([1.0, 2.0])
    opt = MyMomentum().setup(layer)
    layer.p.grad = Variable(np.array([1.0, 1.0]))
    opt.update()
    again = MyMomentum().setup(layer)
    again.load_state_dict(opt.state_dict())
    np.testing.assert_array_equal(again.state_of(layer.p)['v'], [-0.1, -0.1])


def test_sgd_keeps_no_state_and_refuses_a_state_that_has_some():
    layer = _one_parameter_layer([1.0])
    layer.p.grad = Variable(np.array([1.0]))
    momentum = MomentumSGD().setup(layer)
    momentum.update()
    state = momentum.state_dict()
    state['optimizer'] = 'SGD'
    state['hyperparameters'] = {'lr': 0.01}
    with pytest.raises(ValueError, match=r"unknown 'v'.*SGD keeps none"):
        SGD().setup(layer).load_state_dict(state)


# --------------------------------------------------------------------------------------
# float16 parameters: AdaGrad, Adam, AdamW and RMSprop keep float32 state
# --------------------------------------------------------------------------------------
WIDENED = {
    'AdaGrad': lambda: AdaGrad(),
    'Adam': lambda: Adam(),
    'AdamW': lambda: AdamW(weight_decay=0),
    'RMSprop': lambda: RMSprop(lr=0.001, momentum=0.5, centered=True),
}


@pytest.mark.parametrize('name', sorted(WIDENED))
def test_float16_parameters_step_as_float32_ones_rounded(name):
    # eps = 1e-8 is 0 in float16 and 0.001 ** 2 * (1 - beta2) underflows: the zero
    # gradients gave 0 / 0 = NaN, the small ones -inf
    start = np.array([[0.5, -0.5], [1.0, 2.0]], np.float16)
    grads = [[[1e-3, -2e-3], [0.0, 0.0]], [[2e-3, 1e-3], [0.0, 0.0]]]
    half = Parameter(start.copy())
    single = Parameter(start.astype(np.float32))
    for p in (half, single):
        opt = WIDENED[name]().setup(Target(p))
        for g in grads:
            p.grad = Variable(np.array(g, p.data.dtype))
            opt.update()
        arrays = [a for n, a in opt.state_of(p).items() if n != 'step']  # AdamW's count
        assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    assert half.data.dtype == np.float16
    np.testing.assert_array_equal(half.data[1], start[1])  # no gradient, no change
    assert (half.data[0] != start[0]).all()
    np.testing.assert_array_equal(half.data, single.data.astype(np.float16))


@pytest.mark.parametrize('grad_dtype', [np.float32, np.float64, np.int32])
def test_a_gradient_beyond_float16_for_a_float16_parameter_steps_in_float32(grad_dtype):
    # the gradient was cast to the parameter's float16 first: 70000 became inf, and
    # Adam's step inf / inf = NaN
    p = Parameter(np.array([1.0, 1.0], np.float16))
    opt = Adam(alpha=0.25).setup(Target(p))
    p.grad = Variable(np.array([70000, -3], grad_dtype))
    opt.update()
    assert p.grad.dtype == np.float32
    np.testing.assert_array_equal(p.data, np.array([0.75, 1.25], np.float16))


def test_the_embedding_of_the_report_keeps_its_unused_rows_in_float16():
    np.random.seed(0)
    emb = L.EmbedID(3, 2, dtype=np.float16)
    rows = emb.W.data.copy()
    opt = Adam().setup(emb)
    F.sum(emb(np.array([0]))).backward()
    opt.update()
    np.testing.assert_array_equal(emb.W.data[1:], rows[1:])
    np.testing.assert_array_equal(
        emb.W.data[0], (rows[0].astype(np.float32) - 0.001).astype(np.float16)
    )


@pytest.mark.parametrize('name', ['MomentumSGD'])
def test_the_other_optimizers_keep_float16_state_for_float16_parameters(name):
    p = Parameter(np.array([0.5, -0.5], np.float16))
    opt = make(name).setup(Target(p))
    set_grad(p, [1.0, -1.0])
    opt.update()
    assert {a.dtype for a in opt.state_of(p).values()} == {np.dtype(np.float16)}
    assert opt.state_dtype(np.float16) == np.float16


def test_float32_state_of_a_float16_parameter_is_saved_and_loaded(tmp_path):
    def run(save_between):
        np.random.seed(0)
        layer = L.Linear(2, in_size=3, dtype=np.float16)
        opt = Adam(alpha=0.01).setup(layer)
        for step in range(3):
            if step == 2 and save_between:
                opt.save(tmp_path / 'adam.npz')
                opt = Adam().setup(layer)
                opt.load(tmp_path / 'adam.npz')
                assert opt.state_of(layer.W)['v'].dtype == np.float32
            layer.cleargrads()
            F.sum(layer(np.arange(3, dtype=np.float16)[None] * (step + 1)) ** 2).backward()
            opt.update()
        return layer.W.data, opt.state_dict()['state']['W']

    saved, saved_state = run(True)
    straight, straight_state = run(False)
    np.testing.assert_array_equal(saved, straight)
    for name in ('m', 'v'):
        assert saved_state[name].dtype == np.float32
        np.testing.assert_array_equal(saved_state[name], straight_state[name])


def test_float16_state_of_an_older_file_is_loaded_as_float32():
    layer = L.Linear(2, in_size=1, nobias=True, dtype=np.float16)
    opt = Adam().setup(layer)
    half = np.array([[0.25, 1e-3]], np.float16)
    state = {
        'optimizer': 'Adam',
        'hyperparameters': {'alpha': 0.001, 'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-8},
        'counters': {'t': 1},
        'state': {'W': {'m': half, 'v': half * half}},
    }
    opt.load_state_dict(state)
    m, v = opt.state_of(layer.W)['m'], opt.state_of(layer.W)['v']
    assert m.dtype == v.dtype == np.float32
    np.testing.assert_array_equal(m, half.astype(np.float32))
    layer.W.grad = Variable(np.zeros((1, 2), np.float16))
    opt.update()  # the loaded moments are used, not dropped as not fitting
    np.testing.assert_array_equal(opt.state_of(layer.W)['m'], half.astype(np.float32) * 0.9)


# --------------------------------------------------------------------------------------
# ClipGrad: the norm of large finite gradients
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'dtype, scale', [(np.float32, 1e19), (np.float64, 1e200), (np.float32, 1.0)]
)
def test_clip_grad_norm_of_gradients_whose_squares_overflow(dtype, scale):
    # (3e19) ** 2 is inf in float32: the norm was inf and every gradient became 0
    p = Parameter(np.array([1.0, 1.0], dtype))
    p.grad = Variable(np.array([3.0, 4.0], dtype) * scale)
    ClipGrad(scale)([p])
    np.testing.assert_allclose(p.grad.data / scale, [0.6, 0.8], rtol=1e-6)
    assert p.grad.dtype == dtype


def test_clip_grad_norm_over_several_parameters_is_exact():
    a = Parameter(np.zeros(2, np.float32))
    b = Parameter(np.zeros(1, np.float64))
    a.grad = Variable(np.array([3e30, 4e30], np.float32))
    b.grad = Variable(np.array([12e30]))
    ClipGrad(1.3)([a, b])  # norm 13e30
    np.testing.assert_allclose(a.grad.data, [0.3, 0.4], rtol=1e-6)
    np.testing.assert_allclose(b.grad.data, [1.2], rtol=1e-6)
    c = Parameter(np.zeros(2))
    c.grad = Variable(np.array([1e300, np.inf]))
    ClipGrad(1.0)([c])
    assert c.grad.data[0] == 0 and np.isnan(c.grad.data[1])  # inf norm, as before


# --------------------------------------------------------------------------------------
# Loaded state: values that do not fit the dtype, NaN and infinity
# --------------------------------------------------------------------------------------
def _stepped(opt, dtype=np.float32):
    np.random.seed(0)
    model = MLP((3, 2))
    opt.setup(model)
    F.sum(model(np.ones((1, 2), dtype))).backward()
    opt.update()
    return model


def test_state_too_large_for_the_parameters_dtype_is_refused():
    opt = MomentumSGD()
    _stepped(opt)
    state = opt.state_dict()
    before = state['state']['l0/W']['v'].copy()
    state['state']['l0/W']['v'] = np.full((2, 3), 1e39)
    with pytest.raises(
        ValueError,
        match=r"^MomentumSGD.load_state_dict: the entry for the parameter 'l0/W/v' in the "
        r'state holds 6 value\(s\) too large for float32 \(up to 1e\+39\): cast to float32 '
        r'they would become infinite$',
    ):
        opt.load_state_dict(state)
    np.testing.assert_array_equal(opt.state_of(opt.target.l0.W)['v'], before)


@pytest.mark.parametrize(
    'name, entry, value',
    [
        ('MomentumSGD', 'v', np.nan),
        ('MomentumSGD', 'v', -np.inf),
        ('Adam', 'm', np.inf),
        ('Adam', 'v', np.nan),
        ('AdaGrad', 'h', np.nan),
        ('RMSprop', 'momentum_buffer', np.nan),
    ],
)
def test_nan_or_infinite_state_is_refused_by_name(name, entry, value, tmp_path):
    opt = make(name)
    model = _stepped(opt)
    state = opt.state_dict()
    state['state']['l1/b'][entry][1] = value
    kind = 'NaN' if entry in ('v', 'h') and name != 'MomentumSGD' else 'NaN or infinite'
    message = (
        f"holds '{entry}' state with 1 {kind} value\\(s\\) for the parameter 'l1/b'; "
        f'training with finite gradients never leaves them there'
    )
    with pytest.raises(ValueError, match=f'^{name}.load_state_dict: the state {message}$'):
        opt.load_state_dict(state)
    opt.load_state_dict(opt.state_dict())  # a saved file holding the same is refused too
    opt.save(tmp_path / 'o.npz')
    with np.load(tmp_path / 'o.npz') as f:
        arrays = dict(f)
    arrays[f'l1/b/{entry}'][1] = value
    np.savez(tmp_path / 'bad.npz', **arrays)
    with pytest.raises(ValueError, match=f'bad.npz {message}$'):
        make(name).setup(model).load(tmp_path / 'bad.npz')


def test_an_infinite_average_of_squares_from_a_finite_gradient_is_loaded_back():
    # (1 - beta2) * g * g overflows float32 for g = 1e30: training leaves v = inf, and
    # what it saves must load
    p = L.Linear(1, in_size=1, nobias=True)
    opt = Adam().setup(p)
    p.W.grad = Variable(np.array([[1e30]], np.float32))
    with np.errstate(over='ignore'):
        opt.update()
    state = opt.state_dict()
    assert np.isinf(state['state']['W']['v']).all() and np.isfinite(state['state']['W']['m']).all()
    again = Adam().setup(p)
    again.load_state_dict(state)
    assert np.isinf(again.state_of(p.W)['v']).all()


def test_centered_rmsprop_takes_a_variance_rounded_below_zero_as_zero():
    # constant gradients: s - a * a is 0 in theory, -5.6e-17 after 54 steps; its sqrt
    # was NaN, and the parameter and momentum buffer NaN for good
    p = param([1.0])
    opt = RMSprop(lr=1e-10, alpha=0.5, momentum=0.5, centered=True).setup(Target(p))
    for _ in range(60):
        set_grad(p, [0.7])
        opt.update()
    assert np.isfinite(p.data).all()
    assert all(np.isfinite(a).all() for a in opt.state_of(p).values())


# --------------------------------------------------------------------------------------
# RMSProp: lr, rho, eps (a dezero addition; the book's DeZero has none)
# --------------------------------------------------------------------------------------
def test_rmsprop_lr_rho_eps_three_steps_by_hand():
    from dezero.optimizers import RMSProp

    # ms = rho * ms + (1 - rho) * g * g;  p -= lr * g / (sqrt(ms) + eps)
    # g = 4: ms = 4, step 0.3 * 4 / 3 = 0.4;  g = 2: ms = 3 + 1 = 4, step 0.2;
    # g = -2: ms = 4, step -0.2.  The second value has g = 0 throughout.
    p = param([1.0, 5.0])
    opt = RMSProp(lr=0.3, rho=0.75, eps=1.0).setup(Target(p))
    for g, expected in (([4.0, 0.0], 0.6), ([2.0, 0.0], 0.4), ([-2.0, 0.0], 0.6)):
        set_grad(p, g)
        opt.update()
        np.testing.assert_allclose(p.data, [expected, 5.0], rtol=1e-15)
        np.testing.assert_allclose(opt.state_of(p)['square_avg'], [4.0, 0.0], rtol=1e-15)


def test_rmsprop_lr_rho_eps_arguments_and_state():
    from dezero.optimizers import RMSProp

    opt = RMSProp()
    assert (opt.lr, opt.rho, opt.eps) == (0.001, 0.9, 1e-8)
    assert isinstance(opt, RMSprop) and opt.alpha == 0.9
    assert (opt.weight_decay, opt.momentum, opt.centered) == (0, 0, False)
    assert RMSProp(0.1, 0.5, 1e-6).rho == 0.5
    opt.rho = 0.5
    assert opt.alpha == 0.5
    with pytest.raises(ValueError, match=r'^RMSProp: rho must be in \[0, 1\), got 1.0$'):
        RMSProp(rho=1.0)
    with pytest.raises(ValueError, match=r'^RMSProp: rho must be in \[0, 1\), got -0.5$'):
        opt.rho = -0.5
    with pytest.raises(
        TypeError, match=r"^RMSProp: unknown argument 'alpha'; RMSProp takes lr, rho, eps$"
    ):
        RMSProp(alpha=0.9)
    layer = _one_parameter_layer([1.0, 2.0])
    opt = RMSProp(lr=0.1).setup(layer)
    layer.p.grad = Variable(np.array([1.0, -1.0]))
    opt.update()
    state = opt.state_dict()
    assert state['optimizer'] == 'RMSProp'
    again = RMSProp().setup(layer)
    again.load_state_dict(state)
    assert (again.lr, again.rho) == (0.1, 0.9)
    np.testing.assert_allclose(again.state_of(layer.p)['square_avg'], [0.1, 0.1], rtol=1e-15)
    with pytest.raises(
        ValueError, match='holds the state of a RMSProp optimizer, not of a RMSprop'
    ):
        RMSprop().setup(layer).load_state_dict(state)


# --------------------------------------------------------------------------------------
# Paths and numbers that a state file cannot hold
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('path', [None, 3, 2.5])
def test_load_names_itself_for_a_path_that_is_not_a_path(path):
    # os.fspath raised "expected str, bytes or os.PathLike object, not NoneType"
    opt = Adam().setup(MLP((3,)))
    with pytest.raises(
        TypeError, match=rf'^Adam\.load: path must be a file path, got {type(path).__name__}$'
    ):
        opt.load(path)


def rewritten_state_file(path, edit):
    """Rewrite the optimizer file ``path`` after ``edit(meta)`` changed its JSON text."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays['__optimizer__']))
    edit(meta)
    arrays['__optimizer__'] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    'edit, message',
    [
        # float(10**400) raised a raw OverflowError
        (
            lambda meta: meta['hyperparameters'].update(alpha=10**400),
            r'holds a bad value: Adam: alpha must be non-negative \(>= 0\) and '
            r'within the range of a float, got 10{400}$',
        ),
        (
            lambda meta: meta['hyperparameters'].update(eps=-(10**400)),
            r'holds a bad value: Adam: eps must be non-negative \(>= 0\) and within the '
            r'range of a float, got -10{400}$',
        ),
        # accepted, and 0.999 ** t overflowed at the first update
        (
            lambda meta: meta['counters'].update(t=10**400),
            r'holds the counter t=10{400}; expected an int >= 0 and below 2\*\*53$',
        ),
        (lambda meta: meta['counters'].update(t=2**53), r'holds the counter t=9007199254740992;'),
    ],
)
def test_a_state_file_with_numbers_beyond_a_float_is_refused_by_name(tmp_path, edit, message):
    model, x, t = mlp_problem()
    opt = Adam(alpha=0.01).setup(model)
    train_steps(model, opt, x, t, 2)
    opt.save(tmp_path / 'opt.npz')
    path = rewritten_state_file(tmp_path / 'opt.npz', edit)
    before = snapshot(opt, model)
    with pytest.raises(ValueError, match=rf'^Adam\.load: .*opt\.npz {message}'):
        opt.load(path)
    assert_same_snapshot(snapshot(opt, model), before)
    train_steps(model, opt, x, t, 1)  # and the optimizer goes on


def test_the_largest_step_count_loads_and_steps():
    model, x, t = mlp_problem()
    opt = Adam(alpha=0.01).setup(model)
    train_steps(model, opt, x, t, 1)
    state = opt.state_dict()
    state['counters']['t'] = 2**53 - 1
    opt.load_state_dict(state)
    assert opt.t == 2**53 - 1
    train_steps(model, opt, x, t, 1)
    assert all(np.isfinite(p.data).all() for p in model.params())


def test_adamw_refuses_a_step_count_of_2_to_the_53_and_changes_nothing():
    model, x, t = mlp_problem()
    opt = AdamW(lr=0.01).setup(model)
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    state['state']['l0/W']['step'] = np.array(2**53)
    before = snapshot(opt, model)
    with pytest.raises(
        ValueError,
        match=r"^AdamW\.load_state_dict: the state holds the step count 'step' = "
        r"array\(9007199254740992\) for the parameter 'l0/W'; expected an int >= 0 and "
        r'below 2\*\*53$',
    ):
        opt.load_state_dict(state)
    assert_same_snapshot(snapshot(opt, model), before)


# ---- subclasses written as in the book: state in dicts keyed by id(param) ------------
class BookMomentumSGD(MomentumSGD):
    def update_one(self, param):
        key = id(param)
        if key not in self.vs:
            self.vs[key] = np.zeros_like(param.data)
        v = self.vs[key]
        v *= self.momentum
        v -= self.lr * param.grad.data
        param.data += v


class BookAdaGrad(AdaGrad):
    def update_one(self, param):
        key = id(param)
        if key not in self.hs:
            self.hs[key] = np.zeros_like(param.data)
        h, grad = self.hs[key], param.grad.data
        h += grad * grad
        param.data -= self.lr * grad / (np.sqrt(h) + self.eps)


class BookAdaDelta(AdaDelta):
    def update_one(self, param):
        key = id(param)
        if key not in self.msg:
            self.msg[key] = np.zeros_like(param.data)
            self.msdx[key] = np.zeros_like(param.data)
        msg, msdx, grad, rho, eps = (
            self.msg[key],
            self.msdx[key],
            param.grad.data,
            self.rho,
            self.eps,
        )
        msg *= rho
        msg += (1 - rho) * grad * grad
        dx = np.sqrt((msdx + eps) / (msg + eps)) * grad
        msdx *= rho
        msdx += (1 - rho) * dx * dx
        param.data -= dx


class BookAdam(Adam):
    def update_one(self, param):  # the book's, with its lr read as step_size
        key = id(param)
        if key not in self.ms:
            self.ms[key] = np.zeros_like(param.data)
            self.vs[key] = np.zeros_like(param.data)
        m, v, grad = self.ms[key], self.vs[key], param.grad.data
        m += (1 - self.beta1) * (grad - m)
        v += (1 - self.beta2) * (grad * grad - v)
        param.data -= self.step_size * m / (np.sqrt(v) + self.eps)


@pytest.mark.parametrize(
    'book, ours',
    [
        (BookMomentumSGD, MomentumSGD),
        (BookAdaGrad, AdaGrad),
        (BookAdaDelta, AdaDelta),
        (BookAdam, Adam),
    ],
)
def test_a_subclass_with_the_books_update_one_trains_as_the_optimizer_and_keeps_its_state(
    book, ours
):
    # the book's dicts (Adam's ms and vs...) were gone: AttributeError at the first step
    results = []
    for cls in (ours, book):
        model, x, t = (
            mlp_problem()
        )  # float32 weights: the two orders of Adam's sums differ by rounding
        opt = cls().setup(model)
        train_steps(model, opt, x, t, 4)
        results.append((model, opt))
    (model, opt), (book_model, book_opt) = results
    for p, q in zip(model.params(), book_model.params()):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-6, atol=1e-9)
    state, book_state = opt.state_dict(), book_opt.state_dict()
    assert book_state['state'].keys() == state['state'].keys()
    for path, arrays in state['state'].items():
        for name, array in arrays.items():
            np.testing.assert_allclose(book_state['state'][path][name], array, rtol=1e-6, atol=1e-9)
    first = next(book_model.params())
    views = {
        name: getattr(book_opt, name)
        for name in ('vs', 'hs', 'msg', 'msdx', 'ms')
        if hasattr(book_opt, name)
    }
    for view in views.values():
        assert id(first) in view and len(view) == len(list(book_model.params()))


def test_the_books_state_dicts_refuse_a_key_that_is_no_parameters_id():
    model, x, t = mlp_problem()
    opt = Adam().setup(model)
    with pytest.raises(KeyError, match=r'Adam.ms: 12 is not the id of a parameter of the target'):
        opt.ms[12] = np.zeros(3)


def test_float16_of_either_byte_order_keeps_float32_state():
    assert Adam().state_dtype(np.dtype('>f2')) == np.float32
    assert Adam().state_dtype(np.float16) == np.float32
    assert SGD().state_dtype(np.dtype('>f2')) == np.dtype('>f2')


def linear_with_state(opt, dtype=np.float32):
    """A Linear layer (W of shape (2, 3), b of shape (3,)) after one step of ``opt``."""
    np.random.seed(0)
    layer = L.Linear(3, in_size=2, dtype=dtype)
    opt.setup(layer)
    layer.cleargrads()
    F.sum(layer(np.array([[1.0, -2.0]], dtype)) ** 2).backward()
    opt.update()
    return layer


def held_state(opt, layer):
    """Each parameter's state as (name, the array object, a copy of its values)."""
    return [sorted((n, a, a.copy()) for n, a in opt.state_of(p).items()) for p in layer.params()]


def assert_state_held(opt, layer, before):
    after = held_state(opt, layer)
    assert [[n for n, _, _ in s] for s in after] == [[n for n, _, _ in s] for s in before]
    for s, t in zip(after, before):
        for (_, a, _), (_, b, values) in zip(s, t):
            assert a is b
            np.testing.assert_array_equal(a, values)


def test_the_books_state_dicts_hold_only_the_parameters_that_have_their_array():
    # the views listed every parameter with any state: after del, the key was still
    # listed and dict(view) raised KeyError
    opt = Adam()
    layer = linear_with_state(opt)
    W, b = layer.W, layer.b
    del opt.ms[id(W)]  # W's whole state: no state, as before the first step
    assert id(W) not in opt.ms and id(W) not in list(opt.ms) and opt.state_of(W) == {}
    assert dict(opt.ms) == {id(b): opt.state_of(b)['m']} and len(opt.ms) == 1
    assert set(opt.vs) == {id(b)} and len(opt.vs) == 1
    opt.ms[id(W)] = np.zeros((2, 3), np.float32)  # m alone: v is made at the next step
    assert list(opt.ms) == [id(b), id(W)] and list(opt.vs) == [id(b)]
    for key in opt.ms:  # deleting while iterating, as over a list of the keys
        del opt.ms[key]
    assert len(opt.ms) == len(opt.vs) == 0 and opt.state_dict()['state'] == {}
    with pytest.raises(KeyError):
        del opt.vs[id(W)]


def test_the_books_state_dicts_of_adadelta_count_their_own_array():
    layer = L.Linear(3, in_size=2)
    opt = AdaDelta().setup(layer)
    opt.msg[id(layer.W)] = np.zeros((2, 3), np.float32)
    assert len(opt.msg) == 1 and list(opt.msg) == [id(layer.W)]
    assert len(opt.msdx) == 0 and list(opt.msdx) == [] and dict(opt.msdx) == {}
    assert id(layer.W) not in opt.msdx


class BookInitMomentumSGD(BookMomentumSGD):
    def __init__(self, lr=0.01, momentum=0.9):  # the book's
        super().__init__()
        self.lr = lr
        self.momentum = momentum
        self.vs = {}


class BookInitAdam(BookAdam):
    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-8):  # the book's
        super().__init__()
        self.t = 0
        self.alpha = alpha
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.ms = {}
        self.vs = {}


@pytest.mark.parametrize('book, ours', [(BookInitMomentumSGD, MomentumSGD), (BookInitAdam, Adam)])
def test_a_subclass_with_the_books_init_keeps_its_state_in_the_optimizer(book, ours):
    # self.vs = {} replaced the view by a plain dict: nothing saved, copies lost it
    results = []
    for cls in (ours, book):
        model, x, t = mlp_problem()
        opt = cls().setup(model)
        train_steps(model, opt, x, t, 3)
        results.append((model, opt))
    (model, opt), (book_model, book_opt) = results
    assert 'vs' not in vars(book_opt) and 'ms' not in vars(book_opt)
    state, book_state = opt.state_dict()['state'], book_opt.state_dict()['state']
    assert book_state.keys() == state.keys() == {'l0/W', 'l0/b', 'l1/W', 'l1/b'}
    for path, arrays in state.items():
        assert book_state[path].keys() == arrays.keys()
        for name, array in arrays.items():
            np.testing.assert_allclose(book_state[path][name], array, rtol=1e-5, atol=1e-8)
    copied_model, copied_opt = copy.deepcopy((book_model, book_opt))
    assert len(copied_opt.vs) == 4 and id(next(copied_model.params())) in copied_opt.vs
    train_steps(book_model, book_opt, x, t, 2)
    train_steps(copied_model, copied_opt, x, t, 2)
    for p, q in zip(book_model.params(), copied_model.params()):
        np.testing.assert_array_equal(q.data, p.data)


def test_assigning_a_dict_to_the_books_state_dict_sets_the_state_through_it():
    opt = MomentumSGD()
    layer = linear_with_state(opt)
    W, b = layer.W, layer.b
    v = np.full((2, 3), 0.5, np.float32)
    opt.vs = {id(W): v}
    assert opt.vs[id(W)] is v and opt.state_of(W) == {'v': v} and opt.state_of(b) == {}
    opt.vs = opt.vs  # the view itself: nothing changes
    assert dict(opt.vs) == {id(W): v}
    opt.vs = {}
    assert len(opt.vs) == 0 and opt.state_dict()['state'] == {}


@pytest.mark.parametrize(
    'value, message',
    [
        (None, r'got NoneType None'),
        ([np.zeros((2, 3))], r'got list \[array'),
        (np.zeros((2, 3)), r'got ndarray array'),
    ],
)
def test_the_books_state_dict_refuses_to_be_replaced_by_anything_but_a_dict(value, message):
    opt = MomentumSGD()
    layer = linear_with_state(opt)
    before = held_state(opt, layer)
    with pytest.raises(
        TypeError,
        match=r'^MomentumSGD\.vs: expected a dict of state arrays keyed by id\(param\) '
        r'\(the book assigns \{\}\), ' + message,
    ):
        opt.vs = value
    assert_state_held(opt, layer, before)


W_IN_ADAM_MS = r"^Adam\.ms\[id\(param\)\] for the parameter 'W' \(shape \(2, 3\)\): "


@pytest.mark.parametrize(
    'value, error, message',
    [
        (
            np.full(5, 7.0),
            ValueError,
            r'expected an array of the shape of the parameter, \(2, 3\), got shape \(5,\)$',
        ),
        (
            np.zeros((3, 2), np.float32),
            ValueError,
            r'expected an array of the shape of the parameter, \(2, 3\), got shape \(3, 2\)$',
        ),
        (
            None,
            TypeError,
            r'expected an array of shape \(2, 3\) \(xp\.zeros_like\(param\.data\)\), '
            r'got NoneType None$',
        ),
        (
            [[0.0] * 3] * 2,
            TypeError,
            r'expected an array of shape \(2, 3\) .*got list \[\[0\.0, 0\.0, 0\.0\]',
        ),
        (np.zeros((2, 3), bool), TypeError, r'expected real numbers, got an array of dtype bool$'),
        (
            np.full((2, 3), 1e39),
            TypeError,
            r'got an array of dtype float64, but the state of this parameter is float32: '
            r'a copy in float32 would be kept, and the array given, updated in place '
            r'later, would not be the state; store an array of the parameter\'s dtype, '
            r'float32 \(np\.zeros_like\(param\.data\)\)$',
        ),
        (np.zeros((2, 3), np.int32), TypeError, r'got an array of dtype int32, but the state'),
    ],
)
def test_a_write_that_is_no_state_of_the_parameter_is_refused_and_changes_nothing(
    value, error, message
):
    # a wrong shape was kept, then left out of state_dict() and reset by update();
    # None made save() fail with AttributeError
    opt = Adam()
    layer = linear_with_state(opt)
    before = held_state(opt, layer)
    with pytest.raises(error, match=W_IN_ADAM_MS + message):
        opt.ms[id(layer.W)] = value
    assert_state_held(opt, layer, before)
    with pytest.raises(error, match=W_IN_ADAM_MS + message):  # within a dict, the same
        opt.ms = {id(layer.b): np.zeros(3, np.float32), id(layer.W): value}
    assert_state_held(opt, layer, before)
    assert opt.state_dict()['state'].keys() == {'W', 'b'}


def test_a_write_for_a_parameter_without_data_is_refused_by_name():
    layer = L.Linear(3)  # W is made at the first call
    opt = Adam().setup(layer)
    with pytest.raises(
        ValueError,
        match=r"^Adam\.ms\[id\(param\)\] for the parameter 'W': the parameter has no data "
        r'yet, so it can have no state$',
    ):
        opt.ms[id(layer.W)] = np.zeros(3)
    assert len(opt.ms) == 0


def test_the_books_state_dict_keeps_a_writable_array_of_the_state_dtype():
    # a read-only broadcast array was kept, and update() failed: "output array is read-only"
    opt = Adam()
    layer = linear_with_state(opt)
    W = layer.W
    opt.ms[id(W)] = np.broadcast_to(np.float32(0.5), (2, 3))
    m = opt.ms[id(W)]
    assert m.flags.writeable and m.dtype == np.float32 and opt.ms[id(W)] is m
    np.testing.assert_array_equal(m, np.full((2, 3), 0.5, np.float32))
    v = opt.vs[id(W)]
    with pytest.raises(TypeError, match=r'dtype float64, but the state .* is float32'):
        opt.vs[id(W)] = np.ones((2, 3))  # float64 for float32 data: a copy, not the array
    assert opt.vs[id(W)] is v and opt.state_of(W)['v'] is v
    opt.vs[id(W)] = np.ones((2, 3), np.float32)
    own = np.zeros((2, 3), np.float32)
    opt.ms[id(W)] = own  # already fit: kept as it is, for the book to update in place
    assert opt.ms[id(W)] is own
    opt.ms[id(W)] = np.broadcast_to(np.float32(0.5), (2, 3))
    layer.cleargrads()
    W.grad = Variable(np.full((2, 3), 1.0, np.float32))
    before = W.data.copy()
    opt.update()  # m = 0.9 * 0.5 + 0.1 * 1, v = 0.999 + 0.001: step_size * 0.55 / 1
    np.testing.assert_allclose(opt.ms[id(W)], np.full((2, 3), 0.55), rtol=1e-6)
    np.testing.assert_allclose(before - W.data, np.full((2, 3), opt.step_size * 0.55), atol=1e-7)


def test_state_written_through_the_books_dicts_is_saved_and_loaded(tmp_path):
    opt = MomentumSGD()
    layer = linear_with_state(opt)
    opt.vs[id(layer.W)] = np.arange(6, dtype=np.float32).reshape(2, 3)
    opt.save(tmp_path / 'opt.npz')
    other = MomentumSGD().setup(layer)
    other.load(tmp_path / 'opt.npz')
    np.testing.assert_array_equal(
        other.vs[id(layer.W)], np.arange(6, dtype=np.float32).reshape(2, 3)
    )
    assert other.vs[id(layer.W)].dtype == np.float32
    np.testing.assert_array_equal(other.vs[id(layer.b)], opt.vs[id(layer.b)])


class KeepsItsArrayMomentumSGD(MomentumSGD):
    def __init__(self, lr=0.1, momentum=0.9, zeros=np.zeros_like):
        super().__init__(lr, momentum)
        self.zeros = zeros

    def update_one(self, param):  # the book's, updating the array it stored
        key = id(param)
        v = self.vs.get(key)
        if v is None:
            v = self.vs[key] = self.zeros(param.data)
        v *= self.momentum
        v -= self.lr * param.grad.data
        param.data += v


def test_an_array_stored_in_a_books_dict_is_the_state_or_is_refused():
    # np.zeros(shape), float64 for float32 weights, was kept as a float32 copy: the
    # subclass went on updating its own array, not the state, and trained otherwise
    results = []
    for opt in (MomentumSGD(lr=0.1), KeepsItsArrayMomentumSGD()):
        model, x, t = mlp_problem()
        opt.setup(model)
        train_steps(model, opt, x, t, 5)
        results.append((model, opt))
    (model, opt), (own_model, own_opt) = results
    for p, q in zip(model.params(), own_model.params()):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(own_opt.vs[id(q)], opt.vs[id(p)], rtol=1e-6, atol=1e-7)
    model, x, t = mlp_problem()
    opt = KeepsItsArrayMomentumSGD(zeros=lambda data: np.zeros(data.shape)).setup(model)
    with pytest.raises(
        TypeError,
        match=r"^KeepsItsArrayMomentumSGD\.vs\[id\(param\)\] for the parameter 'l0/W' "
        r'\(shape \(4, 6\)\): got an array of dtype float64, but the state of this '
        r'parameter is float32: .*store an array of the parameter\'s dtype, float32 '
        r'\(np\.zeros_like\(param\.data\)\)$',
    ):
        train_steps(model, opt, x, t, 1)
    # a float16 parameter of Adam: its own dtype is taken, as float32 state, and no other
    layer = L.Linear(2, in_size=3, dtype=np.float16)
    opt = Adam().setup(layer)
    opt.ms[id(layer.W)] = np.zeros((3, 2), np.float16)
    assert opt.ms[id(layer.W)].dtype == np.float32
    with pytest.raises(TypeError, match=r'is float32: .*dtype, float16 \(np\.zeros_like'):
        opt.vs[id(layer.W)] = np.zeros((3, 2))


@pytest.mark.parametrize('name, view', [('Adam', 'ms'), ('Adam', 'vs'), ('AdaDelta', 'msg')])
def test_deleting_an_entry_of_a_books_dict_restarts_the_parameters_whole_state(name, view):
    # del opt.ms[id(p)] dropped m alone, and v went on, where the book's update_one,
    # finding no entry, makes both anew
    runs = []
    for how in ('del', 'emptied state'):
        model, x, t = mlp_problem()
        opt = make(name).setup(model)
        train_steps(model, opt, x, t, 3)
        if how == 'del':
            for p in model.params():
                del getattr(opt, view)[id(p)]
        else:
            state = opt.state_dict()
            state['state'] = {}
            opt.load_state_dict(state)
        assert all(opt.state_of(p) == {} for p in model.params())
        train_steps(model, opt, x, t, 3)
        runs.append([p.data.copy() for p in model.params()])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_assigning_a_dict_to_one_of_adams_dicts_restarts_the_parameters_it_leaves_out():
    opt = Adam()
    layer = linear_with_state(opt)
    W, b = layer.W, layer.b
    m, v = opt.ms[id(W)], np.ones((2, 3), np.float32)
    opt.vs = {id(W): v}  # W's m stays; b, left out, starts again
    assert opt.state_of(W) == {'m': m, 'v': v} and opt.state_of(b) == {}
    opt.ms = {}  # as the book's __init__: every parameter starts again
    assert len(opt.ms) == len(opt.vs) == 0 and opt.state_dict()['state'] == {}


BOOK_DICTS = {
    'MomentumSGD': ['vs'],
    'AdaGrad': ['hs'],
    'Adam': ['ms', 'vs'],
    'AdaDelta': ['msg', 'msdx'],
}


@pytest.mark.parametrize(
    'take',
    [lambda view: view.copy(), copy.copy, copy.deepcopy, pickled],
    ids=['copy()', 'copy.copy', 'copy.deepcopy', 'pickle'],
)
@pytest.mark.parametrize('name', sorted(BOOK_DICTS))
def test_a_books_dict_copies_as_a_plain_dict_of_copies_of_its_arrays(name, take):
    # copy() raised AttributeError; deepcopy copied the optimizer and the model and
    # gave a view keyed by the copies' ids; pickle carried the whole model
    model, x, t = mlp_problem()
    opt = make(name).setup(model)
    train_steps(model, opt, x, t, 2)
    for view in BOOK_DICTS[name]:
        snapshot = take(getattr(opt, view))
        assert type(snapshot) is dict
        assert list(snapshot) == [id(p) for p in model.params()]
        for p in model.params():
            array = getattr(opt, view)[id(p)]
            assert type(snapshot[id(p)]) is np.ndarray and snapshot[id(p)] is not array
            np.testing.assert_array_equal(snapshot[id(p)], array)


@pytest.mark.parametrize('name', sorted(BOOK_DICTS))
def test_the_books_snapshot_of_its_dicts_restores_and_replays_exactly(name):
    model, x, t = mlp_problem()
    opt = make(name).setup(model)
    train_steps(model, opt, x, t, 2)
    snapshots = {view: copy.deepcopy(getattr(opt, view)) for view in BOOK_DICTS[name]}
    weights = [p.data.copy() for p in model.params()]
    steps = getattr(opt, 't', None)
    train_steps(model, opt, x, t, 2)
    after = [p.data.copy() for p in model.params()]
    for p, w in zip(model.params(), weights):
        p.data[...] = w
    for view, snapshot in snapshots.items():
        setattr(opt, view, snapshot)
    if steps is not None:
        opt.t = steps
    train_steps(model, opt, x, t, 2)
    for p, a in zip(model.params(), after):
        np.testing.assert_array_equal(p.data, a)


def test_the_books_dicts_answer_as_dicts_do():
    opt = Adam()
    layer = linear_with_state(opt)
    W, b = layer.W, layer.b
    ms = opt.ms
    assert len(ms) == 2 and id(W) in ms and 12 not in ms and 'W' not in ms
    assert list(ms) == list(ms.keys()) == [id(W), id(b)]
    assert all(a is opt.state_of(p)['m'] for a, p in zip(ms.values(), (W, b)))
    assert [(k, a is opt.state_of(p)['m']) for (k, a), p in zip(ms.items(), (W, b))] == [
        (id(W), True),
        (id(b), True),
    ]
    assert ms.get(id(W)) is opt.state_of(W)['m'] and ms.get(12) is None and ms.get(12, 0) == 0
    assert dict(ms).keys() == {id(W), id(b)}


def test_the_books_adam_trains_float16_parameters_and_saves_their_float32_state(tmp_path):
    # the book's float16 zeros were kept: state_dict() left them out, as not float32,
    # and the zero gradients of W's first row gave 0 / (0 + 0) = NaN in float16
    def run(cls, reload_at=None):
        np.random.seed(0)
        layer = L.Linear(2, in_size=3, dtype=np.float16)
        opt = cls(alpha=0.01).setup(layer)
        for step in range(4):
            if step == reload_at:
                opt.save(tmp_path / 'book.npz')
                opt = cls().setup(layer)
                opt.load(tmp_path / 'book.npz')
            layer.cleargrads()
            x = np.array([[0.0, 1.0, 2.0]], np.float16) * (step + 1)
            F.sum(layer(x) ** 2).backward()
            opt.update()
        return layer, opt

    layer, opt = run(Adam)
    book_layer, book_opt = run(BookAdam)
    for p, q in zip(layer.params(), book_layer.params()):
        assert q.data.dtype == np.float16 and np.isfinite(q.data).all()
        np.testing.assert_allclose(q.data, p.data, rtol=2e-3)
    state = book_opt.state_dict()['state']
    assert state.keys() == {'W', 'b'}
    for path, arrays in state.items():
        assert arrays.keys() == {'m', 'v'}
        for name, array in arrays.items():
            assert array.dtype == np.float32
            # from float16 weights that rounded apart by a unit in the last place
            np.testing.assert_allclose(array, opt.state_dict()['state'][path][name], rtol=1e-3)
    reloaded_layer, reloaded_opt = run(BookAdam, reload_at=2)
    for p, q in zip(book_layer.params(), reloaded_layer.params()):
        np.testing.assert_array_equal(q.data, p.data)


# ---- subclasses of Optimizer written as in the book: state in plain dicts by id(param)
class OwnMomentumSGD(Optimizer):  # the book's step 46
    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__()
        self.lr = lr
        self.momentum = momentum
        self.vs = {}

    def update_one(self, param):
        v_key = id(param)
        if v_key not in self.vs:
            self.vs[v_key] = np.zeros_like(param.data)
        v = self.vs[v_key]
        v *= self.momentum
        v -= self.lr * param.grad.data
        param.data += v


class OwnAdam(Optimizer):  # the book's Adam, with its counter t and two dicts
    def __init__(self, alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__()
        self.t = 0
        self.alpha = alpha
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.ms = {}
        self.vs = {}

    def update(self, *args, **kwargs):
        self.t += 1
        super().update(*args, **kwargs)

    @property
    def lr(self):
        fix1 = 1.0 - math.pow(self.beta1, self.t)
        fix2 = 1.0 - math.pow(self.beta2, self.t)
        return self.alpha * math.sqrt(fix2) / fix1

    def update_one(self, param):
        key = id(param)
        if key not in self.ms:
            self.ms[key] = np.zeros_like(param.data)
            self.vs[key] = np.zeros_like(param.data)
        m, v = self.ms[key], self.vs[key]
        beta1, beta2, eps = self.beta1, self.beta2, self.eps
        grad = param.grad.data
        m += (1 - beta1) * (grad - m)
        v += (1 - beta2) * (grad * grad - v)
        param.data -= self.lr * m / (np.sqrt(v) + eps)


OWN = {
    'OwnMomentumSGD': (lambda: OwnMomentumSGD(lr=0.1, momentum=0.5), lambda: OwnMomentumSGD()),
    'OwnAdam': (lambda: OwnAdam(alpha=0.01, beta1=0.8), lambda: OwnAdam()),
}


@pytest.mark.parametrize('how', ['file', 'state_dict'])
@pytest.mark.parametrize('name', sorted(OWN))
def test_an_optimizer_of_ones_own_as_in_the_book_resumes_bit_for_bit(name, how, tmp_path):
    # its dicts and its momentum (or Adam's t, beta1) were not saved: the resumed run
    # restarted the velocities from 0 with the default momentum, without an error
    make, make_fresh = OWN[name]
    model, x, t = mlp_problem()
    opt = make().setup(model)
    train_steps(model, opt, x, t, 3)
    model.save_weights(tmp_path / 'w.npz')
    if how == 'file':
        opt.save(tmp_path / 'opt.npz')
    else:
        state = opt.state_dict()
    train_steps(model, opt, x, t, 4)
    other, _, _ = mlp_problem(seed=1)  # a new process: other ids, other defaults
    again = make_fresh().setup(other)
    train_steps(other, again, x, t, 1)  # state of its own, which the load replaces
    other.load_weights(tmp_path / 'w.npz')
    if how == 'file':
        again.load(tmp_path / 'opt.npz')
    else:
        again.load_state_dict(state)
    assert sorted(again.vs) == sorted(id(p) for p in other.params())
    train_steps(other, again, x, t, 4)
    for (path, p), (path2, q) in zip(model.named_params(), other.named_params()):
        assert path == path2
        np.testing.assert_array_equal(q.data, p.data, err_msg=path)
    assert again.state_dict()['hyperparameters'] == opt.state_dict()['hyperparameters']


def test_the_books_momentum_sgd_saves_its_momentum_and_velocities_by_path(tmp_path):
    model, x, t = mlp_problem()
    opt = OwnMomentumSGD(lr=0.1, momentum=0.5).setup(model)
    assert 'dicts' not in opt.state_dict() and opt.state_dict()['state'] == {}  # vs is empty
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    assert state['hyperparameters'] == {'lr': 0.1, 'momentum': 0.5}
    assert state['counters'] == {} and state['dicts'] == ['vs']
    assert list(state['state']) == ['l0/W', 'l0/b', 'l1/W', 'l1/b']
    for path, p in model.named_params():
        assert list(state['state'][path]) == ['vs']
        np.testing.assert_array_equal(state['state'][path]['vs'], opt.vs[id(p)])
        assert state['state'][path]['vs'] is not opt.vs[id(p)]
    opt.save(tmp_path / 'opt.npz')
    with np.load(tmp_path / 'opt.npz', allow_pickle=False) as f:
        assert set(f.files) == {'__optimizer__', 'l0/W/vs', 'l0/b/vs', 'l1/W/vs', 'l1/b/vs'}
        meta = json.loads(str(f['__optimizer__']))
    assert meta['dicts'] == ['vs'] and meta['hyperparameters'] == state['hyperparameters']
    book_adam = OwnAdam(alpha=0.01).setup(model)
    train_steps(model, book_adam, x, t, 3)
    state = book_adam.state_dict()  # its lr, a property, is no hyperparameter of its own
    assert state['hyperparameters'] == {
        't': 3,
        'alpha': 0.01,
        'beta1': 0.9,
        'beta2': 0.999,
        'eps': 1e-8,
    }
    assert state['dicts'] == ['ms', 'vs'] and state['state']['l1/b'].keys() == {'ms', 'vs'}
    OwnAdam().setup(model).state_dict()  # before a step: t = 0 and lr divides by 0


def test_the_built_in_optimizers_keep_their_state_format():
    for name in ALL:
        model, x, t = mlp_problem()
        opt = make(name).setup(model)
        opt.add_hook(WeightDecay(0.01))
        train_steps(model, opt, x, t, 2)
        state = opt.state_dict()
        assert list(state) == ['optimizer', 'hyperparameters', 'counters', 'state']
        names = set(opt._state_names) | set(opt._step_counts)
        assert all(set(arrays) <= names for arrays in state['state'].values())


@pytest.mark.parametrize('how', ['deepcopy of both', 'pickle of both', 'deepcopy of the optimizer'])
@pytest.mark.parametrize('name', sorted(OWN))
def test_a_copy_of_an_optimizer_of_ones_own_goes_on_as_the_original(name, how):
    # the copied dicts kept the original parameters' ids: the copy restarted its
    # velocities and moments from 0
    model, x, t = mlp_problem()
    opt = OWN[name][0]().setup(model)
    train_steps(model, opt, x, t, 2)
    model2, opt2 = _copied_by(how, model, opt)
    assert opt2.target is model2 and type(opt2.vs) is dict
    assert sorted(opt2.vs) == sorted(id(p) for p in model2.params())
    for p, p2 in zip(model.params(), model2.params()):
        np.testing.assert_array_equal(opt2.vs[id(p2)], opt.vs[id(p)])
        assert opt2.vs[id(p2)] is not opt.vs[id(p)]
    train_steps(model2, opt2, x, t, 3)
    train_steps(model, opt, x, t, 3)
    for p, p2 in zip(model.params(), model2.params()):
        np.testing.assert_array_equal(p2.data, p.data)


def test_a_default_dict_by_id_is_copied_and_loaded_as_one():
    import collections

    class DefaultMomentum(OwnMomentumSGD):
        def __init__(self):
            super().__init__(lr=0.1)
            self.vs = collections.defaultdict(lambda: None)

    model, x, t = mlp_problem()
    opt = DefaultMomentum().setup(model)
    opt.vs.update({id(p): np.zeros_like(p.data) for p in model.params()})
    train_steps(model, opt, x, t, 2)
    model2, opt2 = copy.deepcopy((model, opt))
    assert type(opt2.vs) is collections.defaultdict and opt2.vs['missing'] is None
    del opt2.vs['missing']
    again = DefaultMomentum().setup(model2)
    again.load_state_dict(opt.state_dict())
    assert type(again.vs) is collections.defaultdict
    for p, p2 in zip(model.params(), model2.params()):
        np.testing.assert_array_equal(again.vs[id(p2)], opt.vs[id(p)])
        np.testing.assert_array_equal(opt2.vs[id(p2)], opt.vs[id(p)])


def test_hooks_and_the_base_attributes_are_no_state_of_ones_own(tmp_path):
    model, x, t = mlp_problem()
    opt = OwnMomentumSGD(lr=0.1).setup(model)
    calls = []
    opt.add_hook(WeightDecay(0.01))
    opt.add_hook(ClipGrad(1.0))
    opt.add_hook(lambda params: calls.append(len(params)))
    opt.name = 'momentum'  # a setting, holding no array: taken as given by __init__
    opt.sizes = (6, 3)
    schedule = StepLR(opt, step_size=1, gamma=0.5)  # keeps opt.initial_lr
    train_steps(model, opt, x, t, 2)
    schedule.step()
    state = opt.state_dict()
    assert opt.initial_lr == 0.1
    assert state['hyperparameters'] == {'lr': 0.05, 'momentum': 0.9}
    assert state['dicts'] == ['vs'] and calls == [4, 4]
    opt.save(tmp_path / 'opt.npz')
    again = OwnMomentumSGD().setup(model)  # no hooks, no schedule
    again.load(tmp_path / 'opt.npz')
    assert again.hooks == [] and again.target is model and again.lr == 0.05


def test_a_dict_by_id_left_from_another_model_is_filled_anew_by_a_load():
    model, x, t = mlp_problem()
    opt = OwnMomentumSGD(lr=0.1).setup(model)
    train_steps(model, opt, x, t, 2)
    state = opt.state_dict()
    other, _, _ = mlp_problem(seed=1)
    again = OwnMomentumSGD().setup(other)
    train_steps(other, again, x, t, 1)
    again.setup(model)  # its velocities are other's
    again.load_state_dict(state)
    assert sorted(again.vs) == sorted(id(p) for p in model.params())
    for p in model.params():
        np.testing.assert_array_equal(again.vs[id(p)], opt.vs[id(p)])


class KeepsMore(OwnMomentumSGD):
    """The book's momentum SGD and one more attribute, set by each case."""


def _own_with(value_of):
    model, x, t = mlp_problem()
    opt = KeepsMore(lr=0.1).setup(model)
    train_steps(model, opt, x, t, 1)
    opt.extra = value_of(model, opt)
    return model, opt


@pytest.mark.parametrize(
    'value_of, message',
    [
        (
            lambda model, opt: [np.zeros(3)],
            r'^KeepsMore\.save: KeepsMore\.extra \(of type list\) holds arrays that the saved '
            r'state cannot give back: .*from dicts keyed by id\(param\) with one array',
        ),
        (
            lambda model, opt: np.zeros(3),
            r'^KeepsMore\.save: KeepsMore\.extra \(of type ndarray\) holds arrays',
        ),
        (
            lambda model, opt: {0: np.zeros(3)},
            r'^KeepsMore\.save: KeepsMore\.extra \(a dict none of whose keys is the id of '
            r'a parameter of the target\) holds arrays',
        ),
        (
            lambda model, opt: {id(p): {'m': np.zeros_like(p.data)} for p in model.params()},
            r"^KeepsMore\.save: KeepsMore\.extra\[id\(param\)\] for the parameter 'l0/W' "
            r'is of type dict; only arrays can be saved from a dict keyed by id\(param\)',
        ),
        (
            lambda model, opt: {id(p): 0 for p in model.params()},
            r"^KeepsMore\.save: KeepsMore\.extra\[id\(param\)\] for the parameter 'l0/W' "
            r'is of type int; only arrays',
        ),
        (
            lambda model, opt: {id(model.l0.b): np.zeros(2, np.float32)},
            r"^KeepsMore\.save: KeepsMore\.extra\[id\(param\)\] for the parameter 'l0/b' "
            r'is an array of shape \(2,\); expected the shape of the parameter, \(6,\)$',
        ),
        (
            lambda model, opt: {id(model.l0.b): np.zeros(6, np.float64)},
            r"^KeepsMore\.save: KeepsMore\.extra\[id\(param\)\] for the parameter 'l0/b' "
            r'is an array of dtype float64, but a loaded state takes the dtype of the '
            r"parameter's state, float32 .*; keep it in float32",
        ),
        (
            lambda model, opt: {id(model.l0.b): np.zeros(6, np.float32), 12: np.zeros(6)},
            r'^KeepsMore\.save: KeepsMore\.extra is a dict keyed by id\(param\), but its '
            r'key 12 is the id of no parameter of the target',
        ),
    ],
)
def test_state_of_ones_own_that_a_load_could_not_give_back_is_refused_by_name(
    value_of, message, tmp_path
):
    # such state was left out of the file without a word
    model, opt = _own_with(value_of)
    with pytest.raises(ValueError, match=message):
        opt.save(tmp_path / 'opt.npz')
    assert not os.path.exists(tmp_path / 'opt.npz')
    with pytest.raises(ValueError, match=message.replace('save', 'state_dict', 1)):
        opt.state_dict()


def test_a_dict_by_id_with_the_name_of_a_kept_state_array_is_refused():
    class Clash(MomentumSGD):
        def __init__(self):
            super().__init__()
            self.__dict__['v'] = {}  # beside the state array 'v' that MomentumSGD keeps

    model, x, t = mlp_problem()
    opt = Clash().setup(model)
    opt.__dict__['v'][id(model.l0.W)] = np.zeros_like(model.l0.W.data)
    with pytest.raises(ValueError, match=r'^Clash\.state_dict: Clash\.v is a dict keyed by id'):
        opt.state_dict()


def test_a_copy_leaves_out_the_entries_of_a_dict_by_id_that_are_no_parameters():
    # copy, deepcopy and pickle raised ValueError for such a key; a save still does
    model, opt = _own_with(lambda model, opt: {id(model.l0.b): np.zeros(6), 12: np.zeros(6)})
    model2, opt2 = copy.deepcopy((model, opt))
    assert list(opt2.extra) == [id(model2.l0.b)]
    np.testing.assert_array_equal(opt2.extra[id(model2.l0.b)], np.zeros(6))
    shallow = copy.copy(opt)  # as it is: the same keys, the same arrays, a dict of its own
    assert shallow.extra is not opt.extra and list(shallow.extra) == [id(model.l0.b), 12]
    assert shallow.extra[12] is opt.extra[12]
    with pytest.raises(
        ValueError,
        match=r'^KeepsMore\.state_dict: KeepsMore\.extra is a dict keyed by id\(param\), '
        r'but its key 12 is the id of no parameter of the target',
    ):
        opt.state_dict()


@pytest.mark.parametrize(
    'how', ['copy', 'deepcopy', 'deepcopy of both', 'pickle', 'pickle of both']
)
def test_an_optimizer_of_ones_own_is_copied_after_setup_on_another_model(how):
    # its dict by id(param) still held the first model's velocities: copy.copy,
    # deepcopy and pickle raised ValueError, where the book's is copied
    model1, x, t = mlp_problem()
    model, _, _ = mlp_problem(seed=1)
    opt = OwnMomentumSGD(lr=0.1, momentum=0.8).setup(model1)
    train_steps(model1, opt, x, t, 2)
    opt.setup(model)
    train_steps(model, opt, x, t, 2)
    assert len(opt.vs) == 8
    if how == 'copy':
        twin_opt = copy.copy(opt)
        assert twin_opt.target is model and twin_opt.vs.keys() == opt.vs.keys()
        assert all(twin_opt.vs[key] is opt.vs[key] for key in opt.vs)
        return
    if how.endswith('of both'):
        copier = copy.deepcopy if how.startswith('deepcopy') else pickled
        twin, twin_opt = copier((model, opt))
    else:
        twin_opt = copy.deepcopy(opt) if how == 'deepcopy' else pickled(opt)
        twin = twin_opt.target
    # the entries of model1's parameters are left out: the copy never sees them
    assert sorted(twin_opt.vs) == sorted(id(p) for p in twin.params())
    train_steps(model, opt, x, t, 2)
    train_steps(twin, twin_opt, x, t, 2)
    for p, q in zip(model.params(), twin.params()):
        np.testing.assert_array_equal(q.data, p.data)


def test_an_optimizer_of_ones_own_is_copied_after_a_layer_it_trained_is_replaced():
    model, x, t = mlp_problem()
    opt = OwnMomentumSGD(lr=0.1).setup(model)
    train_steps(model, opt, x, t, 2)
    old = model.l0  # kept alive, so that its parameters' ids stay theirs
    model.l0 = L.Linear(6)
    model.layers[0] = model.l0
    train_steps(model, opt, x, t, 2)
    assert len(opt.vs) == 6
    twin, twin_opt = copy.deepcopy((model, opt))
    assert sorted(twin_opt.vs) == sorted(id(p) for p in twin.params())
    assert id(old.W) in opt.vs  # the original keeps its dict as it is


def _own_state():
    model, x, t = mlp_problem()
    opt = OwnMomentumSGD(lr=0.1, momentum=0.5).setup(model)
    train_steps(model, opt, x, t, 2)
    return model, opt, opt.state_dict()


def _damaged_own_state(state, damage):
    damage(state)
    return state


@pytest.mark.parametrize(
    'damage, message',
    [
        (
            lambda s: s['state']['l0/b'].update(vs=np.zeros(5, np.float32)),
            r"the parameter 'l0/b' has shape \(6,\) but the state holds 'vs' state of "
            r'shape \(5,\)',
        ),
        (
            lambda s: s['state']['l0/b']['vs'].__setitem__(0, np.nan),
            r"the state holds 'vs' state with 1 NaN or infinite value\(s\) for the "
            r"parameter 'l0/b'",
        ),
        (
            lambda s: s['state']['l0/b'].update(vs=np.full(6, 1e39)),
            r"the entry for the parameter 'l0/b/vs' in the state holds 6 value\(s\) too "
            r'large for float32',
        ),
        (
            lambda s: s['state']['l0/b'].update(vs=np.zeros(6, np.int32)),
            r"the state holds 'vs' state of dtype int32 for the parameter 'l0/b'; "
            r'expected floating point',
        ),
        (
            lambda s: s.pop('dicts'),  # as before such dicts were saved
            r"the state holds no dict by id\(param\); OwnMomentumSGD keeps 'vs'$",
        ),
        (
            lambda s: s['hyperparameters'].pop('momentum'),
            r'the state has the hyperparameters lr; OwnMomentumSGD has lr, momentum$',
        ),
        (
            lambda s: s['hyperparameters'].update(momentum='0.5'),
            r'the state holds a bad value: OwnMomentumSGD: momentum must be a real number',
        ),
        (
            lambda s: s.update(dicts='vs'),
            r"the state holds dicts='vs'; expected a list of the names of attributes",
        ),
    ],
)
def test_a_state_of_ones_own_that_does_not_fit_is_refused_and_changes_nothing(damage, message):
    model, opt, state = _own_state()
    again = OwnMomentumSGD(lr=0.3).setup(model)
    train_steps(model, again, *mlp_problem()[1:], 1)
    before = {key: value.copy() for key, value in again.vs.items()}
    with pytest.raises(ValueError, match=r'^OwnMomentumSGD\.load_state_dict: ' + message):
        again.load_state_dict(_damaged_own_state(state, damage))
    assert again.lr == 0.3 and again.momentum == 0.9 and again.vs.keys() == before.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(again.vs[key], value)


def test_a_numpy_scalar_of_ones_own_comes_back_as_one(tmp_path):
    model, x, t = mlp_problem()
    opt = OwnMomentumSGD(lr=0.1, momentum=np.float32(0.5)).setup(model)
    train_steps(model, opt, x, t, 1)
    opt.save(tmp_path / 'opt.npz')
    again = OwnMomentumSGD(momentum=np.float32(0.9)).setup(model)
    again.load(tmp_path / 'opt.npz')
    assert type(again.momentum) is np.float32 and again.momentum == np.float32(0.5)


def test_a_dict_by_id_with_the_name_of_an_array_kept_by_state_is_refused():
    class Both(OwnMomentumSGD):
        def update_one(self, param):
            super().update_one(param)
            self._state(param, 'vs')  # the optimizer's own state, under the same name

    model, x, t = mlp_problem()
    opt = Both().setup(model)
    train_steps(model, opt, x, t, 1)
    with pytest.raises(
        ValueError,
        match=r'^Both\.state_dict: Both\.vs is a dict keyed by id\(param\), and the '
        r"parameter 'l0/W' also has a state array 'vs'",
    ):
        opt.state_dict()


def test_an_empty_dict_of_settings_is_no_state_and_survives_a_load():
    # a dict of one's own that is empty when saved is a setting, not per-parameter
    # state: a load must neither empty it nor refuse it
    class ScaledSGD(Optimizer):
        def __init__(self, lr=0.1, per_name=None):
            super().__init__()
            self.lr = lr
            self.per_name = dict(per_name or {})

        def update_one(self, param):
            param.data -= self.lr * self.per_name.get(param.name, 1.0) * param.grad.data

    model, x, t = mlp_problem()
    state = ScaledSGD().setup(model).state_dict()
    assert 'dicts' not in state
    again = ScaledSGD(per_name={'W': 0.5}).setup(model)
    again.load_state_dict(state)
    assert again.per_name == {'W': 0.5}
    state = again.state_dict()
    ScaledSGD().setup(model).load_state_dict(state)  # and the other way round


def test_a_book_style_optimizer_is_copied_after_a_layer_it_trained_is_frozen():
    # its dict by id(param) still holds the frozen layer's velocity: the copy took only
    # the parameters params() gives, and refused that entry as no parameter's
    model, x, t = mlp_problem()
    opt = OwnMomentumSGD(lr=0.1).setup(model)
    train_steps(model, opt, x, t, 1)
    model.l0.params = lambda: iter(())
    twin, twin_opt = copy.deepcopy((model, opt))
    assert {id(p) for _, p in twin.named_params()} == set(twin_opt.vs)
    np.testing.assert_array_equal(twin_opt.vs[id(twin.l0.W)], opt.vs[id(model.l0.W)])


# ---- AdaDelta on float16 parameters ------------------------------------------------------
def _adadelta_on_a_steep_bowl(dtype, steps=50):
    """p = 0.1 after ``steps`` AdaDelta steps on sum(1000 p**2), and the optimizer."""
    p = Parameter(np.array([0.1], dtype))
    opt = AdaDelta().setup(Target(p))
    for _ in range(steps):
        p.cleargrad()
        F.sum(p * p * np.asarray(1000, dtype)).backward()
        opt.update()
    return p, opt


def test_adadelta_keeps_moving_a_float16_parameter():
    # in float16 (msdx + eps) / (msg + eps) was 0 from the first gradient (200) on, so
    # p stayed 0.1; PyTorch's Adadelta (rho=0.95) reaches 0.0054 in float16
    half, opt = _adadelta_on_a_steep_bowl(np.float16)
    single, _ = _adadelta_on_a_steep_bowl(np.float32)
    assert half.data.dtype == np.float16
    assert {a.dtype for a in opt.state_of(half).values()} == {np.dtype(np.float32)}
    assert opt.state_dtype(np.float16) == np.float32
    np.testing.assert_allclose(half.data, single.data, rtol=5e-3)
    np.testing.assert_allclose(half.data, [0.0054], rtol=0.05)


def test_adadelta_float32_state_of_a_float16_parameter_is_saved_loaded_and_copied(tmp_path):
    def run(between):
        np.random.seed(0)
        layer = L.Linear(2, in_size=3, dtype=np.float16)
        opt = AdaDelta().setup(layer)
        for step in range(3):
            if step == 2 and between == 'save':
                opt.save(tmp_path / 'adadelta.npz')
                opt = AdaDelta().setup(layer)
                opt.load(tmp_path / 'adadelta.npz')
            elif step == 2 and between == 'copy':
                layer, opt = copy.deepcopy((layer, opt))
            if step == 2 and between:
                assert opt.state_of(layer.W)['msdx'].dtype == np.float32
            layer.cleargrads()
            F.sum(layer(np.arange(3, dtype=np.float16)[None] * (step + 1)) ** 2).backward()
            opt.update()
        return layer.W.data, opt.state_dict()['state']['W']

    straight, straight_state = run(None)
    for between in ('save', 'copy'):
        weights, state = run(between)
        np.testing.assert_array_equal(weights, straight)
        for name in ('msg', 'msdx'):
            assert state[name].dtype == np.float32
            np.testing.assert_array_equal(state[name], straight_state[name])


def test_adadelta_of_float32_and_float64_parameters_keeps_their_dtype():
    for dtype in (np.float32, np.float64):
        p, opt = _adadelta_on_a_steep_bowl(dtype, steps=2)
        assert p.data.dtype == dtype
        assert {a.dtype for a in opt.state_of(p).values()} == {np.dtype(dtype)}


def test_rmsprop_with_rho_is_not_said_to_be_the_books():
    from dezero.optimizers import RMSProp

    doc = RMSProp.__doc__
    assert "the book's DeZero defines" not in doc
    assert 'has none' in doc and 'ms = rho * ms + (1 - rho) * g * g' in doc


# --------------------------------------------------------------------------------------
# Documentation of the update rules and of setup
# --------------------------------------------------------------------------------------
def test_every_update_one_states_its_update():
    classes = [
        cls
        for cls in vars(dezero.optimizers).values()
        if isinstance(cls, type) and issubclass(cls, Optimizer) and 'update_one' in vars(cls)
    ]
    classes.remove(Optimizer)  # the base: its update_one raises
    assert {SGD, MomentumSGD, AdaGrad, AdaDelta, Adam, AdamW, RMSprop} <= set(classes)
    for cls in classes:
        doc = vars(cls)['update_one'].__doc__
        assert doc and ('=' in doc), cls.__name__


def test_setup_on_another_model_keeps_adams_step_count_as_the_book_and_says_so():
    first, second = param([1.0]), param([1.0])
    opt = Adam(alpha=0.1).setup(Target(first))
    for _ in range(3):
        set_grad(first, [1.0])
        opt.update()
    opt.setup(Target(second))
    set_grad(second, [1.0])
    opt.update()
    assert opt.t == 4  # the book's Adam keeps counting: the first step here is not alpha
    assert abs(1.0 - second.data[0]) < 0.1 * 0.7
    for doc in (Optimizer.setup.__doc__, Adam.__doc__):
        assert 'new optimizer' in doc and ' t ' in doc

"""Trainer (fit, evaluate), the callbacks EarlyStopping and BestWeights, plot_history."""

import os
import re
import types

import numpy as np
import pytest

import dezero.functions as F
import dezero.progress
from dezero import layers
from dezero.core import Config, Parameter, Variable, using_config
from dezero.dataloaders import DataLoader
from dezero.datasets import Dataset, get_spiral
from dezero.models import MLP, Model
from dezero.optimizers import SGD, Adam
from dezero.schedules import CosineAnnealingLR, StepLR
from dezero.trainer import BestWeights, EarlyStopping, Trainer, plot_history


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------
class Scale(Model):
    """y = w * x with one scalar weight w (starting at 1): small enough to follow by
    hand."""

    def __init__(self, w=1.0):
        super().__init__()
        self.w = Parameter(np.array(w))

    def forward(self, x):
        return x * self.w


def mean_y(y, t):
    """The batch mean of y: its gradient with respect to w of Scale is mean(x)."""
    return F.sum(y) * (1.0 / len(y))


def max_y(y, t):
    return float(y.data.max())


# Two batches of unequal size: 3 samples, then 1.
BATCHES = [
    (np.array([1.0, 2.0, 3.0]), np.zeros(3, dtype=np.int64)),
    (np.array([10.0]), np.zeros(1, dtype=np.int64)),
]


def scripted(values):
    """A metric returning the next of ``values`` at each call (one batch per epoch)."""
    it = iter(values)
    return lambda y, t: next(it)


def one_batch():
    return [(np.array([1.0]), np.zeros(1, dtype=np.int64))]


def fake_trainer():
    return types.SimpleNamespace(stop_training=False)


def drive(callback, values, monitor='val_loss'):
    """Feed ``values`` of ``monitor`` to ``callback`` epoch by epoch as fit would, until
    it asks to stop; return the fake trainer and the number of epochs run."""
    trainer = fake_trainer()
    callback.on_train_begin(trainer)
    epoch = 0
    for epoch, v in enumerate(values, start=1):
        callback.on_epoch_end(trainer, epoch, {'loss': 0.0, monitor: v})
        if trainer.stop_training:
            break
    return trainer, epoch


def param_arrays(model):
    return [p.data.copy() for p in model.params()]


@pytest.fixture(scope='module')
def spiral():
    return get_spiral(train=True)


# --------------------------------------------------------------------------------------
# Trainer: construction and bad arguments
# --------------------------------------------------------------------------------------
def test_sets_up_the_optimizer_and_defaults_to_accuracy():
    model = Scale()
    opt = SGD(0.1)
    trainer = Trainer(model, opt)
    assert opt.target is model
    assert trainer.loss is F.softmax_cross_entropy
    assert trainer.metrics == {'acc': F.accuracy}
    assert Trainer(model, opt, metrics={}).metrics == {}


def test_optimizer_set_up_on_another_model_is_refused():
    with pytest.raises(ValueError, match='another model'):
        Trainer(Scale(), SGD(0.1).setup(Scale()))
    model = Scale()
    opt = SGD(0.1).setup(model)
    assert Trainer(model, opt).optimizer is opt


@pytest.mark.parametrize('epochs', [0, -1, 2.5, True, '3', None])
def test_fit_refuses_bad_epochs(epochs):
    model = Scale()
    w = model.w.data.copy()
    with pytest.raises(ValueError, match=r'Trainer\.fit: epochs must be a positive int'):
        Trainer(model, SGD(0.1), loss=mean_y, metrics={}).fit(BATCHES, epochs, progress=False)
    assert model.w.data == w  # refused before any training


def test_fit_accepts_numpy_int_epochs():
    history = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={}).fit(
        BATCHES, np.int64(2), progress=False
    )
    assert len(history['loss']) == 2


def test_bad_loss_and_metrics():
    with pytest.raises(TypeError, match='loss must be a function'):
        Trainer(Scale(), SGD(), loss='mse')
    with pytest.raises(TypeError, match="metric 'acc' must be a function"):
        Trainer(Scale(), SGD(), metrics={'acc': 0.5})
    with pytest.raises(TypeError, match='metric names must be strings'):
        Trainer(Scale(), SGD(), metrics={1: max_y})
    for name in ('loss', 'val_acc', 'val_'):
        with pytest.raises(ValueError, match=f'{name!r} is reserved'):
            Trainer(Scale(), SGD(), metrics={name: max_y})


def test_bad_callbacks():
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(TypeError, match=r'single EarlyStopping; pass \[callback\]'):
        trainer.fit(BATCHES, 1, progress=False, callbacks=EarlyStopping('loss'))
    with pytest.raises(TypeError, match='has none of the methods'):
        trainer.fit(BATCHES, 1, progress=False, callbacks=[object()])
    with pytest.raises(TypeError, match='must be a list of callbacks'):
        trainer.fit(BATCHES, 1, progress=False, callbacks=3)


def test_empty_loader_is_refused():
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(ValueError, match=r'Trainer\.fit: train_loader gives no batches'):
        trainer.fit([], 1, progress=False)
    with pytest.raises(ValueError, match=r'Trainer\.evaluate: the loader gives no batches'):
        trainer.evaluate([])
    with pytest.raises(ValueError, match=r'Trainer\.fit: train_loader gave no samples'):
        trainer.fit(iter([]), 1, progress=False)  # (an iterator: no length to tell)


def test_a_loss_that_is_not_one_number_is_refused():
    trainer = Trainer(Scale(), SGD(0.1), loss=lambda y, t: y * 1.0, metrics={})
    with pytest.raises(
        ValueError,
        match=r'the loss must give one number per batch.*'
        r'shape \(3,\)',
    ):
        trainer.evaluate(BATCHES)


# --------------------------------------------------------------------------------------
# Trainer: averages and history
# --------------------------------------------------------------------------------------
def test_evaluate_weights_the_average_by_batch_size():
    # batch means of y = x: 2 (3 samples) and 10 (1 sample) -> (3*2 + 1*10) / 4 = 4,
    # not (2 + 10) / 2 = 6; batch maxima 3 and 10 -> (3*3 + 10) / 4 = 4.75
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={'max': max_y})
    assert trainer.evaluate(BATCHES) == {'loss': 4.0, 'max': 4.75}


def test_fit_averages_the_losses_of_the_batches_before_each_update():
    # w = 1: batch 1 loss 2*w = 2, grad mean(x) = 2, w -> 1 - 0.1*2 = 0.8;
    #        batch 2 loss 10*w = 8, grad 10, w -> 0.8 - 0.1*10 = -0.2.
    # epoch loss (3*2 + 1*8) / 4 = 3.5; epoch 2 starts at w = -0.2:
    #        batch 1 loss -0.4, w -> -0.4; batch 2 loss -4, w -> -1.4; (3*-0.4 - 4)/4 = -1.3
    model = Scale()
    history = Trainer(model, SGD(0.1), loss=mean_y, metrics={}).fit(BATCHES, 2, progress=False)
    assert history['loss'] == pytest.approx([3.5, -1.3], rel=1e-12)
    assert model.w.data == pytest.approx(-1.4, rel=1e-12)


def test_history_keys_and_lengths():
    trainer = Trainer(Scale(), SGD(0.01), loss=mean_y, metrics={'max': max_y})
    history = trainer.fit(BATCHES, 3, progress=False)
    assert list(history) == ['loss', 'max']
    assert all(len(v) == 3 for v in history.values())
    assert trainer.epoch == 3

    history = trainer.fit(BATCHES, 2, val_loader=BATCHES, progress=False)
    assert list(history) == ['loss', 'max', 'val_loss', 'val_max']
    assert all(len(v) == 2 and all(isinstance(x, float) for x in v) for v in history.values())

    history = Trainer(Scale(), SGD(0.01), loss=mean_y, metrics={}).fit(BATCHES, 1, progress=False)
    assert list(history) == ['loss']


def test_validation_figures_are_those_of_evaluate_after_the_epoch():
    model = Scale()
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={'max': max_y})
    history = trainer.fit(BATCHES, 1, val_loader=BATCHES, progress=False)
    # after the epoch w = -0.2: loss -0.2 * 4 = -0.8, max of batch maxima -0.2 and -2
    assert history['val_loss'] == [pytest.approx(-0.8, rel=1e-12)]
    assert history['val_max'] == [pytest.approx((3 * -0.2 + -2.0) / 4, rel=1e-12)]
    assert trainer.evaluate(BATCHES) == {
        'loss': history['val_loss'][0],
        'max': history['val_max'][0],
    }


def test_fit_trains_an_mlp_on_the_spiral(spiral):
    np.random.seed(0)
    model = MLP((10, 3))
    trainer = Trainer(model, SGD(1.0))
    loader = DataLoader(spiral, 30, shuffle=True)
    history = trainer.fit(
        loader, 30, val_loader=DataLoader(spiral, 100, shuffle=False), progress=False
    )
    assert history['loss'][0] > 1.0  # chance level is ln 3 = 1.0986
    assert history['loss'][-1] < 0.8 * history['loss'][0]
    assert history['val_loss'][-1] < 0.8 * history['val_loss'][0]
    assert history['val_acc'][-1] > 0.5  # chance level is 1/3
    # evaluate agrees with a hand-written pass over the whole set in one batch
    x, t = spiral
    got = trainer.evaluate([(x, t)])
    assert got['loss'] == pytest.approx(float(F.softmax_cross_entropy(model(x), t).data))
    assert got['acc'] == pytest.approx(float(F.accuracy(model(x), t).data))
    assert got['loss'] == pytest.approx(history['val_loss'][-1], rel=1e-5)


# --------------------------------------------------------------------------------------
# Trainer: the default metrics follow the loss
# --------------------------------------------------------------------------------------
def test_default_metrics_follow_the_loss():
    model = Scale()
    assert Trainer(model, SGD(0.1)).metrics == {'acc': F.accuracy}
    assert Trainer(model, SGD(0.1), loss=F.mean_squared_error).metrics == {}
    assert Trainer(model, SGD(0.1), loss=mean_y).metrics == {}
    assert list(Trainer(model, SGD(0.1), loss=F.sigmoid_cross_entropy).metrics) == ['acc']
    assert list(Trainer(model, SGD(0.1), loss=F.binary_cross_entropy).metrics) == ['acc']
    given = {'mae': max_y}
    assert Trainer(model, SGD(0.1), loss=F.mean_squared_error, metrics=given).metrics == given


def test_fit_trains_a_regression_model_with_the_default_metrics():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 1)).astype(np.float32)
    t = (2 * x + 0.5 + 0.05 * rng.standard_normal((64, 1))).astype(np.float32)
    np.random.seed(0)
    model = MLP((16, 1))
    trainer = Trainer(model, SGD(0.2), loss=F.mean_squared_error)
    history = trainer.fit(DataLoader((x, t), 16), 60, val_loader=[(x, t)], progress=False)
    assert set(history) == {'loss', 'val_loss'}
    assert history['loss'][-1] < 0.05 * history['loss'][0]
    assert history['val_loss'][-1] < 0.01


@pytest.mark.parametrize(
    'loss, output, threshold',
    [(F.sigmoid_cross_entropy, lambda h: h, 0.0), (F.binary_cross_entropy, F.sigmoid, 0.5)],
)
def test_binary_losses_report_the_fraction_on_the_right_side(loss, output, threshold):
    y = np.array([[2.0], [-1.0], [0.5], [-3.0]])
    t = np.array([[1.0], [1.0], [0.0], [0.0]])
    acc = Trainer(Scale(), SGD(0.1), loss=loss).metrics['acc']
    assert acc(output(Variable(y)), t) == 0.5  # rows 0 and 3 are right


@pytest.mark.parametrize(
    'loss, output', [(F.sigmoid_cross_entropy, lambda h: h), (F.binary_cross_entropy, F.sigmoid)]
)
def test_binary_accuracy_takes_the_target_shapes_the_loss_takes(loss, output):
    # outputs (N, 1) against targets (N,), as the loss compares them: element by element
    y = Variable(np.array([[2.0], [-1.0], [0.5], [-3.0]]))
    t = np.array([1.0, 1.0, 0.0, 0.0])
    acc = Trainer(Scale(), SGD(0.1), loss=loss).metrics['acc']
    loss(output(y), t)  # the loss takes these shapes; so does its accuracy
    assert acc(output(y), t) == 0.5
    assert acc(output(y), Variable(t.reshape(1, 4))) == 0.5
    assert acc(output(Variable(y.data[:, 0])), t.reshape(4, 1)) == 0.5
    with pytest.raises(
        ValueError,
        match=r'the outputs of shape \(4, 1\) and the targets of shape \(2, 2\) must have '
        r'the same shape or differ only in axes of size 1',
    ):
        acc(output(y), t.reshape(2, 2))


def test_fit_with_targets_of_shape_n_against_outputs_n_1():
    x = np.array([[1.0], [-2.0], [3.0], [-0.5]])
    t = np.array([1.0, 0.0, 0.0, 0.0])  # (N,) targets for the outputs (N, 1) of Scale
    trainer = Trainer(Scale(), SGD(0.1), loss=F.sigmoid_cross_entropy)
    history = trainer.fit([(x, t)], 1, progress=False)
    assert history['acc'] == [0.75]  # w = 1 before the update: only x = 3 is wrong


def test_a_failing_metric_fails_before_the_first_update_changes_the_weights():
    def failing(y, t):
        raise ValueError('this metric cannot be computed')

    model = Scale()
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={'bad': failing})
    with pytest.raises(ValueError, match='this metric cannot be computed'):
        trainer.fit(BATCHES, 1, progress=False)
    assert model.w.data == 1.0 and model.w.grad is None
    with pytest.raises(ValueError, match=r"the metric 'bad' must give one number per batch"):
        Trainer(model, SGD(0.1), loss=mean_y, metrics={'bad': lambda y, t: y}).fit(
            BATCHES, 1, progress=False
        )
    assert model.w.data == 1.0


def test_a_loss_or_metric_that_cannot_take_y_and_t_is_refused_when_made():
    with pytest.raises(
        TypeError,
        match=r'^Trainer: the loss is called as f\(y, t\), with the outputs y and the '
        r'labels t, but <lambda>\(y, t, z\) cannot take them; give it the parameters',
    ):
        Trainer(Scale(), SGD(0.1), loss=lambda y, t, z: y, metrics={})
    with pytest.raises(
        TypeError, match=r"^Trainer: the metric 'f' is called as f\(y, t\), .* <lambda>\(y\) "
    ):
        Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={'acc': F.accuracy, 'f': lambda y: 0})
    # what takes (y, t) passes, and so does what tells no signature (max, a builtin)
    metrics = {'acc': F.accuracy, 'max': max, 'any': lambda *args: 0, 'w': lambda y, t, w=1: 0}
    assert Trainer(Scale(), SGD(0.1), loss=lambda y, t, w=1: y, metrics=metrics).metrics == metrics


class LazyNorm(Model):
    """A Linear and a BatchNorm, both made at the first call."""

    def __init__(self):
        super().__init__()
        self.l = layers.Linear(3)
        self.bn = layers.BatchNorm()

    def forward(self, x):
        return self.bn(self.l(x))


def norm_batches():
    x = np.random.RandomState(0).randn(8, 4).astype(np.float32)
    return [(x, (x[:, 0] > 0).astype(np.int32))]


def failing(y, t):
    raise ValueError('this metric cannot be computed')


def test_a_failing_metric_leaves_the_running_statistics_as_they_were():
    model = LazyNorm()
    with using_config('train', False):
        model(norm_batches()[0][0])
    model.bn.avg_mean.data[...] = 0.5
    before = {path: p.data.copy() for path, p in model.named_params()}
    with pytest.raises(ValueError, match='this metric cannot be computed'):
        Trainer(model, SGD(0.1), metrics={'bad': failing}).fit(norm_batches(), 1, progress=False)
    for path, p in model.named_params():
        np.testing.assert_array_equal(p.data, before[path], err_msg=path)


def test_running_statistics_made_by_a_failed_first_batch_hold_a_new_layers_values():
    model = LazyNorm()
    with pytest.raises(ValueError, match='this metric cannot be computed'):
        Trainer(model, SGD(0.1), metrics={'bad': failing}).fit(norm_batches(), 1, progress=False)
    np.testing.assert_array_equal(model.bn.avg_mean.data, np.zeros(3, np.float32))
    np.testing.assert_array_equal(model.bn.avg_var.data, np.ones(3, np.float32))


def test_the_first_batch_of_a_fit_moves_the_running_statistics_as_a_training_call_does():
    trained, called = LazyNorm(), LazyNorm()
    np.random.seed(0)  # the Linear layers draw their weights at the first call
    Trainer(trained, SGD(0.1)).fit(norm_batches(), 1, progress=False)
    np.random.seed(0)
    with using_config('train', True):
        called(norm_batches()[0][0])
    for name in ('avg_mean', 'avg_var'):
        moved = getattr(trained.bn, name).data
        np.testing.assert_array_equal(moved, getattr(called.bn, name).data)
    assert not np.array_equal(trained.bn.avg_mean.data, np.zeros(3))


def test_the_training_metrics_are_those_of_the_weights_before_each_update():
    # w = 1: batch 1 max 3, w -> 0.8; batch 2 max 10 * 0.8 = 8: (3*3 + 1*8) / 4 = 4.25
    history = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={'max': max_y}).fit(
        BATCHES, 1, progress=False
    )
    assert history['max'] == [4.25]


def test_fit_trains_a_binary_classifier_with_sigmoid_cross_entropy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((80, 2)).astype(np.float32)
    t = (x[:, :1] + x[:, 1:] > 0).astype(np.float32)
    np.random.seed(0)
    trainer = Trainer(MLP((8, 1)), SGD(0.5), loss=F.sigmoid_cross_entropy)
    history = trainer.fit(DataLoader((x, t), 20), 40, progress=False)
    assert history['acc'][0] < 0.9 and history['acc'][-1] >= 0.95
    assert history['loss'][-1] < 0.5 * history['loss'][0]


# The README's Trainer example, with the lines that define its data and model first.
def readme_trainer_example():
    """The code block of the README that follows "`dezero.Trainer` runs that loop"."""
    readme = open(
        os.path.join(os.path.dirname(__file__), '..', 'README.md'), encoding='utf-8'
    ).read()
    after = readme[readme.index('`dezero.Trainer` runs that loop') :]
    start = after.index('```python\n') + len('```python\n')
    return after[start : after.index('```', start)]


def test_the_readme_trainer_example_runs_and_learns(tmp_path, monkeypatch, capsys):
    pytest.importorskip('matplotlib')
    monkeypatch.chdir(tmp_path)
    names = {}
    exec(compile(readme_trainer_example(), 'README.md', 'exec'), names)
    history, trainer = names['history'], names['trainer']
    assert os.path.getsize('best.npz') > 0 and os.path.getsize('history.png') > 0
    assert history['loss'][0] > 1.0  # chance level is ln 3 = 1.0986
    assert history['val_acc'][0] < 0.6
    final = trainer.evaluate(names['test_loader'])
    assert final['acc'] > 0.85 and final['loss'] < 0.5
    assert final['loss'] == pytest.approx(min(history['val_loss']), rel=1e-6)  # best kept


# --------------------------------------------------------------------------------------
# Trainer: evaluate is test mode without a graph
# --------------------------------------------------------------------------------------
class DropoutScale(Scale):
    def forward(self, x):
        return F.dropout(x * self.w, 0.5)


def test_evaluate_turns_dropout_off():
    np.random.seed(0)
    x = np.arange(1.0, 101.0)
    trainer = Trainer(DropoutScale(), SGD(0.1), loss=mean_y, metrics={})
    first = trainer.evaluate([(x, np.zeros(100, dtype=np.int64))])
    second = trainer.evaluate([(x, np.zeros(100, dtype=np.int64))])
    assert first == second == {'loss': 50.5}  # the plain mean of 1..100


def test_modes_seen_by_loss_and_metrics():
    seen = {'loss': [], 'metric': []}

    def loss(y, t):
        seen['loss'].append((Config.train, Config.enable_backprop))
        return mean_y(y, t)

    def metric(y, t):
        seen['metric'].append((Config.train, Config.enable_backprop))
        return 0.0

    trainer = Trainer(Scale(), SGD(0.1), loss=loss, metrics={'m': metric})
    trainer.evaluate(BATCHES)
    assert seen == {'loss': [(False, False)] * 2, 'metric': [(False, False)] * 2}
    assert (Config.train, Config.enable_backprop) == (True, True)  # restored

    seen = {'loss': [], 'metric': []}
    trainer.fit(BATCHES, 1, val_loader=BATCHES, progress=False)
    # training batches (the metric needs no graph), then the validation batches
    assert seen['loss'] == [(True, True)] * 2 + [(False, False)] * 2
    assert seen['metric'] == [(True, False)] * 2 + [(False, False)] * 2
    assert (Config.train, Config.enable_backprop) == (True, True)


def test_evaluate_changes_no_parameter(spiral):
    np.random.seed(1)
    model = MLP((8, 3))
    trainer = Trainer(model, SGD(1.0))
    trainer.fit(DataLoader(spiral, 100), 1, progress=False)  # gradients are set
    before = param_arrays(model)
    grads = [p.grad.data.copy() for p in model.params()]
    result = trainer.evaluate(DataLoader(spiral, 100, shuffle=False))
    assert set(result) == {'loss', 'acc'}
    for p, b, g in zip(model.params(), before, grads):
        np.testing.assert_array_equal(p.data, b)
        np.testing.assert_array_equal(p.grad.data, g)


# --------------------------------------------------------------------------------------
# Trainer: callbacks
# --------------------------------------------------------------------------------------
class Recorder:
    def __init__(self, name, events, stop_at=None):
        self.name, self.events, self.stop_at = name, events, stop_at

    def on_train_begin(self, trainer):
        self.events.append((self.name, 'begin', trainer.stop_training))

    def on_epoch_end(self, trainer, epoch, logs):
        self.events.append((self.name, 'epoch', epoch, logs))
        if epoch == self.stop_at:
            trainer.stop_training = True

    def on_train_end(self, trainer):
        self.events.append((self.name, 'end'))


def test_callback_hooks_are_called_in_order():
    events = []
    only_epoch = types.SimpleNamespace(
        on_epoch_end=lambda trainer, epoch, logs: events.append(('C', 'epoch', epoch))
    )
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={'max': max_y})
    history = trainer.fit(
        BATCHES,
        2,
        val_loader=BATCHES,
        progress=False,
        callbacks=[Recorder('A', events), Recorder('B', events), only_epoch],
    )
    logs = [{k: v[i] for k, v in history.items()} for i in range(2)]
    assert events == [
        ('A', 'begin', False),
        ('B', 'begin', False),
        ('A', 'epoch', 1, logs[0]),
        ('B', 'epoch', 1, logs[0]),
        ('C', 'epoch', 1),
        ('A', 'epoch', 2, logs[1]),
        ('B', 'epoch', 2, logs[1]),
        ('C', 'epoch', 2),
        ('A', 'end'),
        ('B', 'end'),
    ]
    assert list(logs[0]) == ['loss', 'max', 'val_loss', 'val_max']


def test_a_callback_stops_training_after_the_epoch():
    events = []
    trainer = Trainer(Scale(), SGD(0.01), loss=mean_y, metrics={})
    history = trainer.fit(
        BATCHES,
        10,
        progress=False,
        callbacks=[Recorder('A', events, stop_at=3), Recorder('B', events)],
    )
    assert len(history['loss']) == 3 and trainer.epoch == 3
    # the other callbacks still see the last epoch, and the end of training
    assert [e[:3] for e in events[-4:]] == [
        ('A', 'epoch', 3),
        ('B', 'epoch', 3),
        ('A', 'end'),
        ('B', 'end'),
    ]
    assert len(events) == 2 + 2 * 3 + 2
    # a new fit starts afresh
    events.clear()
    history = trainer.fit(BATCHES, 2, progress=False, callbacks=[Recorder('B', events)])
    assert len(history['loss']) == 2 and events[0] == ('B', 'begin', False)


# --------------------------------------------------------------------------------------
# Trainer: learning-rate schedules
# --------------------------------------------------------------------------------------
def test_schedules_step_once_per_epoch_and_the_history_has_the_lr():
    # one batch with x = 1: each epoch moves w by -lr
    model = Scale()
    opt = SGD(0.1)
    trainer = Trainer(model, opt, loss=mean_y, metrics={})
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    history = trainer.fit(one_batch(), 3, progress=False, schedules=[schedule])
    assert list(history) == ['loss', 'lr']
    assert history['lr'] == [0.1, 0.05, 0.025]  # the rate each epoch trained with
    assert float(model.w.data) == pytest.approx(1.0 - 0.175, rel=1e-14)
    assert opt.lr == 0.0125 and schedule.last_epoch == 3
    # a second fit goes on with the schedule where it was
    history = trainer.fit(one_batch(), 1, progress=False, schedules=[schedule])
    assert history['lr'] == [0.0125]


def test_the_lr_is_in_the_logs_and_last_in_the_history(capsys):
    events = []
    opt = Adam(alpha=0.01)
    trainer = Trainer(Scale(), opt, loss=mean_y, metrics={'max': max_y})
    history = trainer.fit(
        one_batch(),
        2,
        val_loader=one_batch(),
        callbacks=[Recorder('A', events)],
        schedules=[CosineAnnealingLR(opt, T_max=2)],
    )
    assert list(history) == ['loss', 'max', 'val_loss', 'val_max', 'lr']
    assert history['lr'] == [0.01, pytest.approx(0.005)]
    assert [e[3]['lr'] for e in events if e[1] == 'epoch'] == history['lr']
    assert 'lr' not in capsys.readouterr().out  # the progress lines leave it out
    assert opt.lr == 0.0  # annealed to eta_min = 0


def test_the_callbacks_see_the_lr_of_the_epoch_and_the_schedules_step_after_them():
    opt = SGD(0.1)
    seen = []
    spy = types.SimpleNamespace(
        on_epoch_end=lambda trainer, epoch, logs: seen.append((logs['lr'], opt.lr))
    )
    Trainer(Scale(), opt, loss=mean_y, metrics={}).fit(
        one_batch(), 2, progress=False, callbacks=[spy], schedules=[StepLR(opt, 1)]
    )
    assert seen == [(0.1, 0.1), (pytest.approx(0.01), pytest.approx(0.01))]


def test_bad_schedules_are_refused_before_training():
    model = Scale()
    opt = SGD(0.1)
    trainer = Trainer(model, opt, loss=mean_y, metrics={})
    schedule = StepLR(opt, 2)
    with pytest.raises(TypeError, match=r'StepLR is a learning-rate schedule, not a callback'):
        trainer.fit(BATCHES, 1, progress=False, callbacks=[schedule])
    with pytest.raises(TypeError, match=r'single StepLR; pass \[schedule\]'):
        trainer.fit(BATCHES, 1, progress=False, schedules=schedule)
    with pytest.raises(TypeError, match=r'must be learning-rate schedules .*got EarlyStopping'):
        trainer.fit(BATCHES, 1, progress=False, schedules=[EarlyStopping()])
    with pytest.raises(TypeError, match=r'schedules must be a list .*got int'):
        trainer.fit(BATCHES, 1, progress=False, schedules=3)
    with pytest.raises(ValueError, match=r'StepLR was made on another optimizer than the trainer'):
        trainer.fit(BATCHES, 1, progress=False, schedules=[StepLR(SGD(0.1), 2)])
    with pytest.raises(ValueError, match='the same StepLR is given twice'):
        trainer.fit(BATCHES, 1, progress=False, schedules=[schedule, schedule])
    lr_metric = Trainer(model, opt, loss=mean_y, metrics={'lr': max_y})
    with pytest.raises(ValueError, match="rename the metric 'lr'"):
        lr_metric.fit(BATCHES, 1, progress=False, schedules=[schedule])
    assert float(model.w.data) == 1.0 and schedule.last_epoch == 0 and opt.lr == 0.1


# --------------------------------------------------------------------------------------
# EarlyStopping
# --------------------------------------------------------------------------------------
def test_early_stopping_waits_exactly_patience_epochs():
    es = EarlyStopping(patience=3)
    # best 0.8 at epoch 2, then three epochs without improvement: stop at epoch 5
    trainer, epochs = drive(es, [1.0, 0.8, 0.9, 0.85, 0.81, 0.1, 0.1])
    assert trainer.stop_training and epochs == 5
    assert (es.stopped_epoch, es.best, es.best_epoch, es.wait) == (5, 0.8, 2, 3)


def test_early_stopping_with_patience_0_stops_at_the_first_epoch_without_improvement():
    es = EarlyStopping(patience=0)  # as Keras allows, the same as 1
    trainer, epochs = drive(es, [1.0, 0.9, 0.95, 0.5])
    assert trainer.stop_training and epochs == 3 and es.stopped_epoch == 3


def test_early_stopping_improvement_resets_the_wait():
    es = EarlyStopping(patience=2)
    trainer, epochs = drive(es, [1.0, 1.1, 0.9, 1.2, 0.8, 0.8, 0.8, 0.1])
    assert epochs == 7 and es.stopped_epoch == 7
    assert (es.best, es.best_epoch) == (0.8, 5)  # an equal value is no improvement


def test_early_stopping_does_not_stop_while_improving():
    es = EarlyStopping(patience=1)
    trainer, epochs = drive(es, [5.0, 4.0, 3.0, 2.0])
    assert not trainer.stop_training and epochs == 4
    assert es.stopped_epoch is None and es.wait == 0 and es.best_epoch == 4


def test_early_stopping_min_delta():
    es = EarlyStopping(patience=2, min_delta=0.25)
    # 0.75 is not below 1 - 0.25: no improvement; 0.5 is; then 0.3 and 0.25 are not
    trainer, epochs = drive(es, [1.0, 0.75, 0.5, 0.3, 0.25, 0.0])
    assert epochs == 5 and es.stopped_epoch == 5
    assert (es.best, es.best_epoch) == (0.5, 3)


@pytest.mark.parametrize(
    'monitor, mode, values, stop',
    [
        ('val_loss', 'auto', [1.0, 2.0, 3.0], 2),  # loss: lower is better
        ('val_acc', 'auto', [0.5, 0.4, 0.3], 2),  # acc: higher is better
        ('val_acc', 'auto', [0.3, 0.4, 0.5], None),
        ('val_loss', 'max', [1.0, 2.0, 3.0], None),  # explicit modes override the name
        ('val_acc', 'min', [0.5, 0.4, 0.3], None),
        ('mse', 'min', [0.5, 0.6, 0.3], 2),
        ('score', 'max', [0.5, 0.6, 0.3], 3),
    ],
)
def test_early_stopping_modes(monitor, mode, values, stop):
    es = EarlyStopping(monitor, patience=1, mode=mode)
    trainer, epochs = drive(es, values, monitor)
    assert es.stopped_epoch == stop
    assert epochs == (stop or len(values))


def test_auto_mode_refuses_a_name_it_cannot_read():
    with pytest.raises(ValueError, match="cannot tell whether 'val_mse' should fall or rise"):
        EarlyStopping('val_mse')
    with pytest.raises(ValueError, match="cannot tell whether 'score'"):
        BestWeights('w.npz', monitor='score')


def test_nan_is_never_an_improvement():
    es = EarlyStopping(patience=2)
    trainer, epochs = drive(es, [float('nan'), float('nan'), 0.0])
    assert epochs == 2 and es.best is None and es.best_epoch is None
    es = EarlyStopping(patience=2)
    trainer, epochs = drive(es, [1.0, float('nan'), 0.5, float('nan'), float('nan')])
    assert epochs == 5 and (es.best, es.best_epoch) == (0.5, 3)


def test_missing_monitor_names_the_available_keys():
    es = EarlyStopping()
    es.on_train_begin(fake_trainer())
    with pytest.raises(KeyError) as info:
        es.on_epoch_end(fake_trainer(), 1, {'loss': 1.0, 'acc': 0.5})
    message = str(info.value)
    assert "no 'val_loss' in the logs of epoch 1" in message
    assert 'they have loss, acc' in message and 'val_loader' in message


@pytest.mark.parametrize('callback', [EarlyStopping, lambda: BestWeights('best.npz')])
def test_a_validation_monitor_without_a_val_loader_is_refused_before_training(
    callback, tmp_path, monkeypatch
):
    # the figure was found missing only at the end of the first epoch, after training it
    monkeypatch.chdir(tmp_path)
    model = Scale()
    before = [p.data.copy() for p in model.params()]
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(ValueError, match="watches 'val_loss'.*no val_loader.*one of loss"):
        trainer.fit(BATCHES, 3, progress=False, callbacks=[callback()])
    assert trainer.epoch == 0 and not os.listdir(tmp_path)
    for old, p in zip(before, model.params()):
        np.testing.assert_array_equal(old, p.data)


def _best_weights_where_a_folder_is(folder):
    (folder / 'best.npz').mkdir()
    return BestWeights(str(folder / 'best.npz'))


@pytest.mark.parametrize(
    'make, pattern',
    [
        (_best_weights_where_a_folder_is, 'it is a folder'),
        (lambda d: BestWeights(str(d / 'best.npz') + os.sep), 'names a folder'),
    ],
)
def test_a_best_weights_path_that_is_no_file_is_refused_before_training(make, pattern, tmp_path):
    model = Scale()
    before = [p.data.copy() for p in model.params()]
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises((OSError, ValueError), match=pattern):
        trainer.fit(BATCHES, 3, val_loader=BATCHES, progress=False, callbacks=[make(tmp_path)])
    for old, p in zip(before, model.params()):
        np.testing.assert_array_equal(old, p.data)


def test_best_weights_adds_npz_to_its_path_as_save_weights_does(tmp_path):
    assert BestWeights(str(tmp_path / 'best')).path == str(tmp_path / 'best.npz')
    assert BestWeights(str(tmp_path / 'best.npz')).path == str(tmp_path / 'best.npz')


def test_best_weights_refuses_a_file_object_when_made():
    import io

    with pytest.raises(TypeError, match='BestWeights: path must be a file path, got BytesIO'):
        BestWeights(io.BytesIO())


@pytest.mark.parametrize('value', ['False', 'no', 0, None])
def test_on_off_arguments_of_the_trainer_must_be_true_or_false(value, tmp_path):
    # any truthy value counted as True: restore='False' restored the weights
    with pytest.raises(TypeError, match='BestWeights: restore must be True or False'):
        BestWeights(str(tmp_path / 'b.npz'), restore=value)
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(TypeError, match='Trainer.fit: progress must be True or False'):
        trainer.fit(BATCHES, 1, progress=value)


def test_metrics_given_as_a_list_are_refused_naming_what_is_expected():
    with pytest.raises(TypeError, match=r"Trainer: metrics must be a dict .*got list \['acc'\]"):
        Trainer(Scale(), SGD(0.1), loss=mean_y, metrics=['acc'])


@pytest.mark.parametrize(
    'optimizer, got',
    [
        (None, 'NoneType None'),
        (SGD, r'the class SGD, not an instance: make one, e\.g\. SGD\(\.\.\.\), and pass it'),
        (Adam, 'the class Adam, not an instance'),
        ('sgd', "str 'sgd'"),
    ],
)
def test_an_optimizer_that_is_no_instance_is_refused_naming_what_is_expected(optimizer, got):
    # None gave "'NoneType' object has no attribute 'setup'", the class SGD "setup()
    # missing 1 required positional argument"
    message = (
        r'^Trainer: optimizer must be an optimizer instance such as '
        rf'optimizers\.SGD\(lr=0\.01\); got {got}'
    )
    with pytest.raises(TypeError, match=message):
        Trainer(Scale(), optimizer, loss=mean_y, metrics={})


def test_a_monitor_missing_from_the_history_is_refused_before_training():
    # found only at the end of epoch 1 (a KeyError after training it)
    model = Scale()
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(ValueError, match="EarlyStopping: it watches 'score', which this fit"):
        trainer.fit(BATCHES, 3, progress=False, callbacks=[EarlyStopping('score', mode='max')])
    assert model.w.data == 1.0 and trainer.epoch == 0


@pytest.mark.parametrize(
    'make, fit_args, metrics, listed',
    [
        (
            lambda: EarlyStopping('val_accuracy'),
            {'val_loader': BATCHES},
            {'max': max_y},
            'loss, max, val_loss, val_max',
        ),
        (lambda: EarlyStopping('acc'), {}, {}, 'loss'),
        (lambda: EarlyStopping('acc'), {'val_loader': BATCHES}, {}, 'loss, val_loss'),
        (lambda: BestWeights('b.npz', monitor='val_acc'), {'val_loader': BATCHES}, {}, 'loss'),
        (lambda: BestWeights('b.npz', monitor='lr', mode='min'), {}, {'max': max_y}, 'loss, max'),
    ],
)
def test_a_monitor_the_history_will_not_have_is_refused_listing_its_figures(
    make, fit_args, metrics, listed, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    model = Scale()
    callback = make()
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics=metrics)
    with pytest.raises(ValueError) as info:
        trainer.fit(BATCHES, 3, progress=False, callbacks=[callback], **fit_args)
    message = str(info.value)
    owner = type(callback).__name__
    assert message.startswith(f'{owner}: it watches {callback._monitor.monitor!r}, which this fit')
    assert f'its history will have {listed}' in message
    assert model.w.data == 1.0 and trainer.epoch == 0 and not os.listdir(tmp_path)


def test_the_lr_and_validation_figures_can_be_watched():
    trainer = Trainer(Scale(), SGD(0.01), loss=mean_y, metrics={'max': max_y})
    watch = [EarlyStopping('lr', mode='max', patience=1), EarlyStopping('val_max', mode='max')]
    history = trainer.fit(
        BATCHES,
        3,
        val_loader=BATCHES,
        progress=False,
        callbacks=watch,
        schedules=[StepLR(trainer.optimizer, 1, 0.5)],
    )
    assert history['lr'] == [0.01, 0.005]  # the lr falls: stopped after epoch 2
    assert watch[0].stopped_epoch == 2


def test_early_stopping_in_fit_with_a_scripted_metric():
    es = EarlyStopping('score', patience=2, mode='max')
    trainer = Trainer(
        Scale(), SGD(0.1), loss=mean_y, metrics={'score': scripted([1, 3, 2, 3, 1, 9, 9])}
    )
    history = trainer.fit(one_batch(), 7, progress=False, callbacks=[es])
    assert history['score'] == [1, 3, 2, 3]
    assert len(history['loss']) == 4 and trainer.epoch == 4
    assert (es.stopped_epoch, es.best, es.best_epoch) == (4, 3, 2)
    # state is reset by a new fit
    trainer.metrics = {'score': scripted([5, 6])}
    trainer.fit(one_batch(), 2, progress=False, callbacks=[es])
    assert (es.stopped_epoch, es.best, es.best_epoch, es.wait) == (None, 6, 2, 0)


@pytest.mark.parametrize(
    'kwargs, match',
    [
        ({'patience': -1}, 'patience must be an int >= 0'),
        ({'patience': 1.5}, 'patience must be an int >= 0'),
        ({'patience': True}, 'patience must be an int >= 0'),
        ({'min_delta': -0.1}, 'min_delta must be a finite number >= 0'),
        ({'min_delta': float('nan')}, 'min_delta must be a finite number >= 0'),
        ({'min_delta': '0.1'}, 'min_delta must be a finite number >= 0'),
        ({'mode': 'up'}, "mode must be 'auto', 'min' or 'max', got 'up'"),
    ],
)
def test_early_stopping_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        EarlyStopping(**kwargs)


def test_early_stopping_state_round_trips_and_a_bad_one_changes_nothing():
    es = EarlyStopping('loss', patience=3)
    settings = {'monitor': 'loss', 'mode': 'min', 'min_delta': 0.0}
    state = {'settings': settings, 'best': 0.5, 'best_epoch': 2, 'wait': 1, 'stopped_epoch': None}
    es.load_state_dict(state)
    assert es.state_dict() == state
    for change, message in [
        ({'wait': 1.5}, r'holds wait=1\.5; expected an int >= 0'),
        ({'wait': -1}, r'holds wait=-1; expected an int >= 0'),
        ({'best_epoch': True}, r'holds best_epoch=True; expected an int >= 1 or None'),
        ({'stopped_epoch': 'x'}, r"holds stopped_epoch='x'; expected an int >= 1 or None"),
        ({'best': [1]}, r'holds best=\[1\]; expected a number that a float holds, or None'),
        ({'best_epoch': None}, r'holds best=0\.5 and best_epoch=None; expected both None'),
        ({'extra': 1}, r'is not the state of a EarlyStopping \(expected the keys settings, '),
    ]:
        with pytest.raises(
            ValueError, match=r'^EarlyStopping.load_state_dict: the state ' + message
        ):
            es.load_state_dict({**state, **change})
        assert es.state_dict() == state


def test_best_weights_state_is_checked(tmp_path):
    bw = BestWeights(tmp_path / 'best.npz', monitor='loss')
    bw.load_state_dict({'best': None, 'best_epoch': None})
    with pytest.raises(ValueError, match=r'^BestWeights.load_state_dict: the state holds best='):
        bw.load_state_dict({'best': 'low', 'best_epoch': 1})
    assert (bw.best, bw.best_epoch) == (None, None)


@pytest.mark.parametrize('kind', ['EarlyStopping', 'BestWeights'])
@pytest.mark.parametrize(
    'given, message',
    [
        ({'monitor': 'val_acc'}, "monitor='val_loss'; this {} has monitor='val_acc'"),
        ({'mode': 'max'}, "mode='min'; this {} has mode='max'"),
        ({'min_delta': 0.1}, 'min_delta=0.0; this {} has min_delta=0.1'),
    ],
)
def test_a_state_saved_with_other_settings_is_refused_and_changes_nothing(
    tmp_path, kind, given, message
):
    # the best value of another figure, or of the same one ranked otherwise, is none
    def make(**settings):
        if kind == 'EarlyStopping':
            return EarlyStopping(**{'monitor': 'val_loss', **settings})
        return BestWeights(tmp_path / 'best.npz', **{'monitor': 'val_loss', **settings})

    state = {**make().state_dict(), 'best': 1.04, 'best_epoch': 1}
    callback = make(**given)
    before = callback.state_dict()
    with pytest.raises(
        ValueError,
        match=f'^{kind}.load_state_dict: the state was saved with '
        + re.escape(message.format(kind)),
    ):
        callback.load_state_dict(state)
    assert callback.state_dict() == before
    with pytest.raises(ValueError, match=r'holds settings=\[1\]; expected a dict of the settings'):
        callback.load_state_dict({**state, 'settings': [1]})


def test_a_state_saved_without_settings_is_taken_with_the_callbacks_own(tmp_path):
    es = EarlyStopping('val_acc')
    es.load_state_dict({'best': 0.9, 'best_epoch': 2, 'wait': 1, 'stopped_epoch': None})
    assert (es.best, es.best_epoch, es.wait) == (0.9, 2, 1)
    assert es.state_dict()['settings'] == {'monitor': 'val_acc', 'mode': 'max', 'min_delta': 0.0}
    bw = BestWeights(tmp_path / 'best.npz', monitor='loss', min_delta=0.5)
    bw.load_state_dict({'best': 0.25, 'best_epoch': 3})
    assert (bw.best, bw.best_epoch) == (0.25, 3)


def test_best_weights_path_must_be_a_file_path(tmp_path):
    with pytest.raises(ValueError, match='^BestWeights: the path is empty; give the path'):
        BestWeights('')
    assert BestWeights(os.fsencode(tmp_path / 'b.npz')).path == str(tmp_path / 'b.npz')


def test_monitor_must_be_a_name():
    with pytest.raises(TypeError, match='monitor must be the name'):
        EarlyStopping(monitor=None)


# --------------------------------------------------------------------------------------
# BestWeights
# --------------------------------------------------------------------------------------
class WeightLog:
    """Records, at the end of every epoch, w and what the file at ``path`` holds."""

    def __init__(self, path):
        self.path, self.w, self.saved = path, [], []

    def on_epoch_end(self, trainer, epoch, logs):
        self.w.append(float(trainer.model.w.data))
        with np.load(self.path) as f:
            self.saved.append(float(f['w']))


def count_saves(model):
    calls = []
    original = model.save_weights

    def save_weights(path):
        calls.append(path)
        original(path)

    model.save_weights = save_weights
    return calls


def test_best_weights_saves_on_improvement_only_and_restores(tmp_path):
    path = tmp_path / 'best.npz'
    model = Scale()
    saves = count_saves(model)
    bw = BestWeights(path, monitor='score', mode='max')
    log = WeightLog(str(path))
    trainer = Trainer(
        model, SGD(0.1), loss=mean_y, metrics={'score': scripted([1.0, 3.0, 2.0, 3.0, 2.5])}
    )
    trainer.fit(one_batch(), 5, progress=False, callbacks=[bw, log])
    # w falls by 0.1 every epoch (gradient mean(x) = 1)
    assert log.w == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5])
    assert log.saved == [log.w[0], log.w[1], log.w[1], log.w[1], log.w[1]]
    assert saves == [str(path)] * 2
    assert (bw.best, bw.best_epoch) == (3.0, 2)
    assert float(model.w.data) == log.w[1]  # restored at the end
    assert model.w.data.dtype == np.float64
    assert os.listdir(tmp_path) == ['best.npz']  # no temporary files left


def test_best_weights_without_restore_keeps_the_last_weights(tmp_path):
    path = tmp_path / 'best.npz'
    model = Scale()
    bw = BestWeights(path, monitor='score', mode='max', restore=False)
    Trainer(model, SGD(0.1), loss=mean_y, metrics={'score': scripted([2, 1, 0])}).fit(
        one_batch(), 3, progress=False, callbacks=[bw]
    )
    assert float(model.w.data) == pytest.approx(0.7)
    with np.load(path) as f:
        assert float(f['w']) == pytest.approx(0.9)
    assert bw.best_epoch == 1


def test_best_weights_restores_an_mlp_at_its_best_validation_loss(tmp_path, spiral):
    np.random.seed(3)
    model = MLP((10, 3))
    snapshots = []
    snap = types.SimpleNamespace(
        on_epoch_end=lambda trainer, epoch, logs: snapshots.append(param_arrays(model))
    )
    bw = BestWeights(tmp_path / 'mlp.npz')
    # a learning rate large enough that the validation loss goes up and down
    history = Trainer(model, SGD(5.0)).fit(
        DataLoader(spiral, 30),
        8,
        val_loader=DataLoader(spiral, 300, shuffle=False),
        progress=False,
        callbacks=[snap, bw],
    )
    best = int(np.argmin(history['val_loss']))
    assert bw.best_epoch == best + 1 and bw.best == history['val_loss'][best]
    for p, expected in zip(model.params(), snapshots[best]):
        np.testing.assert_array_equal(p.data, expected)
    assert best + 1 < len(snapshots)  # the restore really changed something
    assert any(not np.array_equal(a, b) for a, b in zip(snapshots[-1], snapshots[best]))


def test_a_failing_save_leaves_the_previous_best_intact(tmp_path, monkeypatch):
    path = tmp_path / 'best.npz'
    model = Scale()
    bw = BestWeights(path, monitor='score', mode='max')
    original = layers.write_npz
    calls = []

    def failing_write(f, arrays):
        calls.append(1)
        if len(calls) == 1:
            return original(f, arrays)
        f.write(b'PK\x03\x04 half an archive')
        raise OSError('disk full')

    monkeypatch.setattr(layers, 'write_npz', failing_write)
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={'score': scripted([1, 2])})
    with pytest.raises(OSError, match='disk full'):
        trainer.fit(one_batch(), 2, progress=False, callbacks=[bw])
    with np.load(path) as f:
        assert float(f['w']) == pytest.approx(0.9)  # epoch 1's weights
    assert os.listdir(tmp_path) == ['best.npz']
    assert (bw.best, bw.best_epoch) == (1, 1)  # the failed save is not the best


def test_best_weights_needs_an_existing_folder(tmp_path):
    model = Scale()
    bw = BestWeights(tmp_path / 'nowhere' / 'best.npz', monitor='loss')
    with pytest.raises(FileNotFoundError, match='BestWeights: the folder'):
        Trainer(model, SGD(0.1), loss=mean_y, metrics={}).fit(
            BATCHES, 2, progress=False, callbacks=[bw]
        )
    assert float(model.w.data) == 1.0  # checked before training


def test_best_weights_with_only_nan_saves_and_restores_nothing(tmp_path):
    path = tmp_path / 'best.npz'
    model = Scale()
    bw = BestWeights(path, monitor='score', mode='max')
    Trainer(model, SGD(0.1), loss=mean_y, metrics={'score': scripted([np.nan] * 2)}).fit(
        one_batch(), 2, progress=False, callbacks=[bw]
    )
    assert not path.exists() and bw.best_epoch is None
    assert float(model.w.data) == pytest.approx(0.8)


# --------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------
class Headed(Model):
    """A body, the model given to the Trainer, and a head made at its first call that
    the loss applies: the optimizer trains both."""

    def __init__(self):
        super().__init__()
        self.body = MLP((8, 6))
        self.head = layers.Linear(2)


def headed_trainer(whole):
    opt = Adam(0.05).setup(whole)

    def loss(y, t):
        return F.softmax_cross_entropy(whole.head(y), t)

    return Trainer(whole.body, opt, loss=loss, metrics={})


def test_best_weights_keeps_the_weights_of_the_bigger_model_the_optimizer_trains(tmp_path):
    rng = np.random.RandomState(0)
    x, vx = rng.randn(40, 4).astype(np.float32), rng.randn(40, 4).astype(np.float32)
    t, vt = (x[:, 0] > 0).astype(np.int32), (vx[:, 1] > 0).astype(np.int32)  # unrelated
    np.random.seed(1)
    whole = Headed()
    trainer = headed_trainer(whole)
    best = BestWeights(tmp_path / 'best.npz')
    val_loader = DataLoader((vx, vt), 40, shuffle=False)
    history = trainer.fit(
        DataLoader((x, t), 8), 8, val_loader=val_loader, progress=False, callbacks=[best]
    )
    assert best.best_epoch < 8 and best.best == min(history['val_loss'])
    # the body and the head restored are those of one epoch
    assert trainer.evaluate(val_loader)['loss'] == best.best
    with np.load(tmp_path / 'best.npz') as f:
        assert sorted(f.files) == sorted(path for path, _ in whole.named_params())


def test_best_weights_refuses_an_optimizer_training_a_part_of_the_model_and_more(tmp_path):
    whole = Headed()

    class Part(Model):  # the head and the first layer of the body only
        def __init__(self):
            super().__init__()
            self.first = whole.body.l0
            self.head = whole.head

    trainer = Trainer(whole.body, Adam().setup(Part()), loss=mean_y, metrics={})
    with pytest.raises(
        ValueError,
        match=r"^BestWeights: the optimizer trains parameters besides the model \('head/W', "
        r"'head/b'\), but its target \(Part\) lacks some of the model's \('l1/W', 'l1/b'\)",
    ):
        trainer.fit(norm_batches(), 1, progress=False, callbacks=[BestWeights(tmp_path / 'b')])


def test_best_weights_refuses_a_bigger_target_without_paths_naming_it(tmp_path):
    whole = Headed()

    class Both:  # the book's optimizers need params() alone
        def params(self):
            yield from whole.body.params()
            yield from whole.head.params()

    trainer = Trainer(whole.body, Adam().setup(Both()), loss=mean_y, metrics={})
    with pytest.raises(
        TypeError,
        match=r"^BestWeights: the optimizer trains parameters besides the model's, and its "
        r'target \(Both\) has no named_params\(\)',
    ):
        trainer.fit(norm_batches(), 1, progress=False, callbacks=[BestWeights(tmp_path / 'b')])


def test_progress_false_prints_nothing(capsys):
    Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={}).fit(BATCHES, 3, progress=False)
    assert capsys.readouterr() == ('', '')


def test_progress_prints_lines_without_tqdm(capsys, monkeypatch):
    monkeypatch.setattr(dezero.progress, '_tqdm', lambda: None)
    Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={'max': max_y}).fit(BATCHES, 3)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 3 and err == ''
    # max of y = w x per batch, before each update: 3 (w = 1), then 8 (w = 0.8)
    assert lines[0] == 'epoch 1/3  loss 3.5000  max 4.2500'  # (3*3 + 8) / 4
    assert all(
        re.fullmatch(rf'epoch {i}/3  loss -?\d+\.\d{{4}}  max -?\d+\.\d{{4}}', line)
        for i, line in enumerate(lines, start=1)
    )


def test_progress_tells_where_a_callback_stopped(capsys, monkeypatch):
    monkeypatch.setattr(dezero.progress, '_tqdm', lambda: None)
    stop = EarlyStopping('score', patience=1, mode='max')
    Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={'score': scripted([0, 1, 1])}).fit(
        one_batch(), 20, callbacks=[stop]
    )  # a line every 2 epochs
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        'epoch  2/20  loss 0.9000  score 1.0000',
        'stopped at epoch 3/20  loss 0.8000  score 1.0000',
    ]


def test_progress_shows_a_tqdm_bar(capsys):
    pytest.importorskip('tqdm')
    Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={}).fit(BATCHES, 2)
    out, err = capsys.readouterr()
    assert 'fit' in err and '2/2' in err  # the bar, on stderr
    assert re.findall(r'epoch \d/2  loss', out) == ['epoch 1/2  loss', 'epoch 2/2  loss']


# --------------------------------------------------------------------------------------
# plot_history
# --------------------------------------------------------------------------------------
HISTORY = {
    'loss': [1.0, 0.7, 0.5],
    'acc': [0.3, 0.6, 0.8],
    'val_loss': [1.1, 0.8, 0.7],
    'val_acc': [0.3, 0.5, 0.7],
}


def test_plot_history_writes_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    path = tmp_path / 'history.png'
    assert plot_history(HISTORY, path, title='spiral') == path
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    plot_history({'loss': [1.0]}, tmp_path / 'one.svg')  # format from the extension
    assert b'<svg' in (tmp_path / 'one.svg').read_bytes()


def test_plot_history_draws_the_learning_rate_in_a_panel_of_its_own(tmp_path):
    pytest.importorskip('matplotlib')
    plot_history({**HISTORY, 'lr': [0.1, 0.05, 0.025]}, tmp_path / 'h.svg')
    svg = (tmp_path / 'h.svg').read_text()
    assert 'learning rate' in svg  # the panel's title


@pytest.mark.parametrize(
    'history', [{}, {'loss': []}, {'loss': [], 'acc': []}, {'val_loss': [1.0]}]
)
def test_plot_history_refuses_an_empty_history(tmp_path, history):
    pytest.importorskip('matplotlib')
    with pytest.raises(ValueError, match='the history is empty'):
        plot_history(history, tmp_path / 'h.png')
    assert os.listdir(tmp_path) == []


def test_plot_history_bad_arguments(tmp_path):
    pytest.importorskip('matplotlib')
    with pytest.raises(TypeError, match='history must be the dict'):
        plot_history([1.0, 0.5], tmp_path / 'h.png')
    with pytest.raises(ValueError, match="cannot write 'xyz' pictures"):
        plot_history(HISTORY, tmp_path / 'h.xyz')
    with pytest.raises(
        TypeError, match=r"plot_history: history must map names to lists .*'loss': 1\.0"
    ):
        plot_history({'loss': 1.0}, tmp_path / 'h.png')
    with pytest.raises(TypeError, match='plot_history: to_file must be a path .* got NoneType'):
        plot_history(HISTORY, None)
    assert os.listdir(tmp_path) == []


def test_plot_history_takes_a_bytes_path_as_plot_dot_graph_does(tmp_path):
    pytest.importorskip('matplotlib')
    path = os.fsencode(tmp_path / 'h.png')
    assert plot_history(HISTORY, path) == path
    assert (tmp_path / 'h.png').read_bytes()[:4] == b'\x89PNG'


def test_plot_history_is_atomic(tmp_path, monkeypatch):
    pytest.importorskip('matplotlib')
    from matplotlib.figure import Figure

    path = tmp_path / 'history.png'
    path.write_bytes(b'old picture')

    def failing_savefig(self, f, **kwargs):
        f.write(b'\x89PNG half')
        raise RuntimeError('renderer crashed')

    monkeypatch.setattr(Figure, 'savefig', failing_savefig)
    with pytest.raises(RuntimeError, match='renderer crashed'):
        plot_history(HISTORY, path)
    assert path.read_bytes() == b'old picture'
    assert os.listdir(tmp_path) == ['history.png']
    with pytest.raises(RuntimeError):
        plot_history(HISTORY, tmp_path / 'new.png')
    assert os.listdir(tmp_path) == ['history.png']  # no partial new file


def test_plot_history_without_matplotlib(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, 'matplotlib', None)
    monkeypatch.setitem(sys.modules, 'matplotlib.figure', None)
    with pytest.raises(ImportError, match='plot_history needs matplotlib'):
        plot_history(HISTORY, tmp_path / 'h.png')


def readme_block_after(marker):
    readme = open(
        os.path.join(os.path.dirname(__file__), '..', 'README.md'), encoding='utf-8'
    ).read()
    after = readme[readme.index(marker) :]
    start = after.index('```python\n') + len('```python\n')
    return after[start : after.index('```', start)]


def test_the_readme_resumable_example_records_the_rate_and_resumes(tmp_path, monkeypatch, capsys):
    """The README's schedules-and-checkpoint block, run after the Trainer example's
    data and model; run again, it finds its checkpoint and trains no further."""
    pytest.importorskip('matplotlib')
    monkeypatch.chdir(tmp_path)
    names = {}
    exec(compile(readme_trainer_example(), 'README.md', 'exec'), names)
    block = readme_block_after('Schedules and a checkpoint make a long run resumable')
    exec(compile(block, 'README.md', 'exec'), names)
    history = names['history']
    lrs = history['lr']
    assert len(lrs) == 50 and lrs[0] == pytest.approx(0.003)
    assert lrs[25] == pytest.approx(0.0015)  # half way down the cosine
    assert os.path.getsize('run.npz') > 0
    weights = {path: p.data.copy() for path, p in names['model'].named_params()}
    exec(compile(block, 'README.md', 'exec'), names)  # resumes after epoch 50: nothing to do
    assert names['history'] == history
    for path, p in names['model'].named_params():
        np.testing.assert_array_equal(p.data, weights[path])


def _small_trainer():
    np.random.seed(0)
    return Trainer(MLP((5, 3)), SGD(lr=0.1))


@pytest.mark.parametrize(
    'make_data, message',
    [
        (lambda x, t: __import__('dezero').datasets.Spiral(), 'got the dataset Spiral; wrap it'),
        (lambda x, t: (x, t), r'got a pair \(x, t\) of all the data; wrap it in DataLoader'),
        (lambda x, t: [(x, None)], 'got labels t of type NoneType'),
        (lambda x, t: [x], 'got a ndarray'),
        (lambda x, t: [(x, t, t)], 'got a tuple of length 3'),
    ],
)
def test_fit_names_data_that_is_not_a_loader_of_labelled_batches(make_data, message):
    x, t = get_spiral()
    with pytest.raises(TypeError, match=rf'Trainer.fit: .*{message}'):
        _small_trainer().fit(make_data(x[:6], t[:6]), 1, progress=False)


def test_fit_refuses_two_callbacks_writing_one_file_before_training(tmp_path):
    from dezero.trainer import Checkpoint

    trainer = _small_trainer()
    x, t = get_spiral()
    path = str(tmp_path / 'run.npz')
    callbacks = [BestWeights(path, monitor='loss'), Checkpoint(path)]
    with pytest.raises(
        ValueError, match=r'the BestWeights and the Checkpoint both write .*run\.npz'
    ):
        trainer.fit(DataLoader((x, t), 30), 2, progress=False, callbacks=callbacks)
    assert not os.path.exists(path)
    assert trainer.epoch == 0  # refused before the first epoch


# --------------------------------------------------------------------------------------
# Trainer: mistakes refused before training
# --------------------------------------------------------------------------------------
def detached_mean_y(y, t):
    """mean_y computed on the values: a new Variable, outside the graph."""
    return Variable(np.array(mean_y(y, t).data))


def test_a_loss_that_does_not_reach_the_parameters_is_refused_after_the_first_epoch():
    # fit trained nothing: the history flat, the weights unchanged, no error
    model = Scale()
    trainer = Trainer(model, SGD(0.1), loss=detached_mean_y, metrics={})
    with pytest.raises(
        ValueError,
        match=r'Trainer\.fit: the loss does not depend on the parameters the optimizer '
        r'trains \(of the model Scale\): after the first epoch none of them',
    ):
        trainer.fit(BATCHES, 3, progress=False)
    assert model.w.data == 1.0 and trainer.epoch == 1
    with pytest.raises(ValueError, match='the loss does not depend on the parameters'):
        Trainer(Scale(), SGD(0.1), loss=lambda y, t: Variable(np.array(1.0)), metrics={}).fit(
            BATCHES, 1, progress=False
        )


def test_a_batch_whose_loss_reaches_no_parameter_is_fine_when_others_do():
    # a batch with all its labels masked out: its loss is a constant
    calls = []

    def sometimes_constant(y, t):
        calls.append(1)
        return Variable(np.array(0.0)) if len(calls) == 1 else mean_y(y, t)

    model = Scale()
    Trainer(model, SGD(0.1), loss=sometimes_constant, metrics={}).fit(BATCHES, 1, progress=False)
    assert model.w.data != 1.0


def test_the_gradient_check_looks_at_what_the_optimizer_trains():
    body = Scale()

    class Holder(Model):  # owns no parameter: the optimizer trains another layer's
        def forward(self, x):
            return body(x)

    Trainer(Holder(), SGD(0.1).setup(body), loss=mean_y, metrics={}).fit(BATCHES, 1, progress=False)
    assert body.w.data != 1.0


class ScaleAndUnused(Scale):
    def __init__(self):
        super().__init__()
        self.unused = Parameter(np.array(5.0))


def test_parameters_without_a_gradient_are_fine_when_others_have_one():
    from dezero.optimizers import FreezeParam

    model = ScaleAndUnused()
    history = Trainer(model, SGD(0.1), loss=mean_y, metrics={}).fit(BATCHES, 2, progress=False)
    assert history['loss'] == pytest.approx([3.5, -1.3], rel=1e-12)  # as Scale alone
    assert model.unused.data == 5.0 and model.unused.grad is None
    frozen = ScaleAndUnused()
    opt = SGD(0.1).setup(frozen)
    opt.add_hook(FreezeParam(frozen.w))
    Trainer(frozen, opt, loss=mean_y, metrics={}).fit(BATCHES, 1, progress=False)
    assert frozen.w.data == 1.0  # frozen by the hook, after the gradients were seen


@pytest.mark.parametrize(
    'loss',
    [
        lambda y, t: float(mean_y(y, t).data),
        lambda y, t: np.float64(mean_y(y, t).data),
        lambda y, t: mean_y(y, t).data,
    ],
)
def test_a_loss_that_is_a_number_or_an_array_is_refused_naming_the_trainer(loss):
    model = Scale()
    with pytest.raises(
        TypeError,
        match=r'Trainer\.fit: the loss must be a Variable computed from the outputs y .*'
        r'returned (float|float64|ndarray)',
    ):
        Trainer(model, SGD(0.1), loss=loss, metrics={}).fit(BATCHES, 1, progress=False)
    assert model.w.data == 1.0


@pytest.mark.parametrize(
    'val_loader, message',
    [
        (
            (np.array([1.0, 2.0]), np.zeros(2, dtype=np.int64)),
            r'Trainer\.fit: val_loader must be a loader of \(x, t\) batches, got a pair '
            r'\(x, t\) of all the data; wrap it in DataLoader',
        ),
        (5, r'Trainer\.fit: val_loader must be a loader of \(x, t\) batches .*got int 5'),
    ],
)
def test_a_val_loader_that_is_no_loader_is_refused_before_training(val_loader, message):
    model = Scale()
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(TypeError, match=message):
        trainer.fit(BATCHES, 2, val_loader=val_loader, progress=False)
    assert model.w.data == 1.0 and trainer.epoch == 0
    with pytest.raises(TypeError, match=r'Trainer\.fit: train_loader must be a loader .*int'):
        trainer.fit(3, 1, progress=False)


class Counter:
    def on_epoch_end(self, trainer, epoch, logs):
        pass


@pytest.mark.parametrize('cls', [EarlyStopping, BestWeights, Counter, 'Checkpoint'])
def test_a_callback_class_is_refused_asking_for_an_instance(cls):
    if cls == 'Checkpoint':
        from dezero.trainer import Checkpoint as cls
    model = Scale()
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={})
    name = cls.__name__
    message = rf'Trainer\.fit: got the class {name}, not an instance: make one, e\.g\. {name}\('
    with pytest.raises(TypeError, match=message):
        trainer.fit(BATCHES, 2, progress=False, callbacks=[cls])
    with pytest.raises(TypeError, match=message):
        trainer.fit(BATCHES, 2, progress=False, callbacks=cls)
    assert model.w.data == 1.0


def test_a_schedule_class_is_refused_asking_for_an_instance():
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(TypeError, match=r'got the class StepLR, not an instance: make one'):
        trainer.fit(BATCHES, 2, progress=False, schedules=[StepLR])


class NormScale(Model):
    """BatchNorm, then times w."""

    def __init__(self):
        super().__init__()
        self.bn = layers.BatchNorm()
        self.w = Parameter(np.array(1.0))

    def forward(self, x):
        return self.bn(x) * self.w


def test_fit_trains_in_training_mode_inside_test_mode_and_no_grad():
    # under test_mode() BatchNorm's running statistics never moved; under no_grad()
    # nothing trained
    from dezero import no_grad, test_mode

    seen = []

    def loss(y, t):
        seen.append((Config.train, Config.enable_backprop))
        return mean_y(y, t)

    model = NormScale()
    x = np.array([[1.0], [2.0], [3.0], [6.0]])
    with test_mode(), no_grad():
        history = Trainer(model, SGD(0.1), loss=loss, metrics={}).fit(
            [(x, np.zeros(4))], 1, val_loader=[(x, np.zeros(4))], progress=False
        )
        assert (Config.train, Config.enable_backprop) == (False, False)  # given back
    assert seen == [(True, True), (False, False)]  # the training batch, then validation
    # the batch mean is 3: the running mean moves from 0 to 0.1 * 3 by decay 0.9
    np.testing.assert_allclose(model.bn.avg_mean.data, [0.3], rtol=1e-12)
    # the training output is normalised: its mean is 0, and so is the gradient of w
    assert history['loss'] == [pytest.approx(0.0, abs=1e-12)]


def test_a_metric_named_self_reaches_the_progress_lines(capsys, monkeypatch):
    # the progress bar got 'self' twice: update(**logs)
    monkeypatch.setattr(dezero.progress, '_tqdm', lambda: None)
    history = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={'self': max_y}).fit(
        BATCHES, 2, progress=True
    )
    assert history['self'] == pytest.approx([4.25, -1.15], rel=1e-12)
    lines = capsys.readouterr().out.split('\n')
    assert lines[0] == 'epoch 1/2  loss 3.5000  self 4.2500'


def test_a_figure_a_callback_of_ones_own_adds_may_be_watched():
    class Score:
        def on_epoch_end(self, trainer, epoch, logs):
            logs['score'] = float(epoch % 3)

    stopper = EarlyStopping('score', patience=1, mode='max')
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={})
    trainer.fit(BATCHES, 6, progress=False, callbacks=[Score(), stopper])
    assert stopper.stopped_epoch == 3  # scores 1, 2, 0: no gain at epoch 3, patience 1
    with pytest.raises(ValueError, match="EarlyStopping: it watches 'score', which this fit"):
        Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={}).fit(
            BATCHES, 6, progress=False, callbacks=[EarlyStopping('score', mode='max'), Score()]
        )


@pytest.mark.parametrize(
    'make',
    [
        lambda x, t: x,
        lambda x, t: {'x': x, 't': t},
        lambda x, t: (x.tolist(), t.tolist()),
    ],
)
def test_a_val_loader_of_whole_data_is_refused_before_training(make):
    x, t = np.ones((4, 1)), np.ones(4)
    model = Scale()
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(TypeError, match='Trainer.fit: val_loader must be a loader of'):
        trainer.fit(BATCHES, 2, val_loader=make(x, t), progress=False)
    assert trainer.epoch == 0 and model.w.data == 1.0


def test_a_val_loader_that_is_a_list_of_two_arrays_is_refused_before_training():
    x, t = np.ones((4, 1)), np.ones(4)
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(TypeError, match=r'val_loader must be a loader .*got a ndarray'):
        trainer.fit(BATCHES, 2, val_loader=[x, t], progress=False)
    assert trainer.epoch == 0


def test_a_sharded_train_loader_needs_an_optimizer_that_averages_the_gradients():
    # each process would otherwise train a model of its own, drifting apart silently
    x, t = np.random.randn(8, 2).astype(np.float32), np.arange(8) % 2
    model = MLP((4, 2))
    model(x)
    before = [p.data.copy() for p in model.params()]
    with pytest.raises(
        ValueError, match='shares each batch out among 2 processes.*DistributedOptimizer'
    ):
        Trainer(model, SGD(0.1)).fit(DataLoader((x, t), 4, seed=0, shard=(0, 2)), 1, progress=False)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.params()))
    history = Trainer(model, SGD(0.1)).fit(
        DataLoader((x, t), 4, seed=0, shard=(0, 1)), 1, progress=False
    )
    assert len(history['loss']) == 1  # one process: nothing to average


@pytest.mark.parametrize('which', ['train_loader', 'val_loader'])
def test_an_empty_loader_is_refused_before_the_first_epoch(which):
    x, t = np.random.randn(8, 2).astype(np.float32), np.arange(8) % 2
    model = MLP((4, 2))
    model(x)
    before = [p.data.copy() for p in model.params()]
    loaders = {'train_loader': DataLoader((x, t), 4), 'val_loader': None, which: []}
    with pytest.raises(ValueError, match=f'Trainer.fit: {which} gives no batches'):
        Trainer(model, SGD(0.1)).fit(epochs=2, progress=False, **loaders)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.params()))


class Unlabelled(Dataset):
    def __init__(self, x):
        self.x = x
        super().__init__()

    def prepare(self):
        self.data = self.x


@pytest.mark.parametrize(
    'make, what',
    [
        (lambda x, t: DataLoader((x, None), 4), r'the pair \(x, None\)'),
        (
            lambda x, t: DataLoader([(x[i], t[i]) for i in range(7)] + [(x[7], None)], 4),
            r'a list holding a pair \(x, None\)',
        ),
        (lambda x, t: DataLoader(Unlabelled(x), 4), 'Unlabelled, whose label is None'),
    ],
)
def test_a_val_loader_without_labels_is_refused_before_training(make, what):
    # found before, at the end of the first epoch, as a loader of Trainer.evaluate's
    x, t = np.random.randn(8, 2).astype(np.float32), np.arange(8) % 2
    model = MLP((4, 2))
    model(x)
    before = [p.data.copy() for p in model.params()]
    val_loader = make(x, t)
    order, random = val_loader.index.copy(), np.random.get_state()[1].copy()
    with pytest.raises(
        TypeError,
        match=r'^Trainer\.fit: val_loader gives batches without labels t \(its dataset '
        f'is {what}',
    ):
        Trainer(model, SGD(0.1)).fit(
            DataLoader((x, t), 4), 2, val_loader=val_loader, progress=False
        )
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.params()))
    np.testing.assert_array_equal(val_loader.index, order)  # not read: no order drawn
    np.testing.assert_array_equal(np.random.get_state()[1], random)
    with pytest.raises(TypeError, match=r'^Trainer\.evaluate: the loader gives batches without'):
        Trainer(model, SGD(0.1)).evaluate(val_loader)


def test_errors_of_the_validation_in_fit_name_fit_and_the_val_loader():
    x, t = np.random.randn(8, 2).astype(np.float32), np.arange(8) % 2
    trainer = Trainer(MLP((4, 2)), SGD(0.1))
    train_loader = DataLoader((x, t), 4)
    with pytest.raises(ValueError, match=r'^Trainer\.fit: val_loader gave no samples$'):
        trainer.fit(train_loader, 1, val_loader=[(x[:0], t[:0])], progress=False)
    with pytest.raises(
        TypeError,
        match=r'^Trainer\.fit: each batch of val_loader must be a pair \(x, t\) with labels, '
        r'one row per sample; got labels t of type NoneType at batch 1$',
    ):
        trainer.fit(train_loader, 1, val_loader=[(x, t), (x, None)], progress=False)
    # an error of the model gets a note saying where
    with pytest.raises(ValueError, match=r'^Linear: the input has width 3') as info:
        trainer.fit(train_loader, 1, val_loader=[(x, t), (np.ones((2, 3)), t[:2])], progress=False)
    if hasattr(info.value, 'add_note'):
        assert info.value.__notes__ == [
            'Trainer.fit: raised at batch 1 of val_loader after epoch 1'
        ]


def test_loaders_that_cannot_tell_their_length_or_hold_another_shard_train_as_before():
    x, t = np.random.randn(6, 2).astype(np.float32), np.arange(6) % 2

    class Unsized:
        def __len__(self):
            raise TypeError('length not known')

        def __iter__(self):
            return iter([(x, t)])

    class WithShard(list):
        def shard(self, n):  # a method of that name, not a DataLoader's (rank, size)
            pass

    for loader in (Unsized(), WithShard([(x, t)])):
        history = Trainer(MLP((4, 2)), SGD(0.1)).fit(loader, 1, progress=False)
        assert len(history['loss']) == 1


@pytest.mark.parametrize('which', ['train_loader', 'val_loader'])
def test_an_iterator_read_once_is_refused_for_several_epochs_before_the_first(which):
    # a generator trained its first epoch, then fit said it "gave no samples"
    x, t = np.random.randn(8, 2).astype(np.float32), np.arange(8) % 2
    model = MLP((4, 2))
    model(x)
    before = [p.data.copy() for p in model.params()]
    once = (batch for batch in [(x[:4], t[:4]), (x[4:], t[4:])])
    loaders = {'train_loader': DataLoader((x, t), 4), 'val_loader': None, which: once}
    with pytest.raises(TypeError, match=f'Trainer.fit: {which} is a generator, an iterator'):
        Trainer(model, SGD(0.1)).fit(epochs=2, progress=False, **loaders)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.params()))
    one_epoch = Trainer(model, SGD(0.1)).fit(iter([(x, t)]), 1, progress=False)
    assert len(one_epoch['loss']) == 1  # one epoch reads it once: fine


def test_labels_of_shape_0d_are_refused_by_name():
    # len() of unsized object, from inside the Trainer
    x = np.random.randn(1, 3).astype(np.float32)
    trainer = Trainer(MLP((3,)), SGD(0.1))
    message = r'Trainer.fit: each batch .* labels t of shape \(\) \(one label'
    with pytest.raises(TypeError, match=message):
        trainer.fit([(x, np.array(1))], 1, progress=False)
    with pytest.raises(TypeError, match=message.replace('fit', 'evaluate')):
        trainer.evaluate([(x, np.array(1))])


# --------------------------------------------------------------------------------------
# Full passes, gradients of the optimizer's target, and arguments refused before training
# --------------------------------------------------------------------------------------
def count_batches():
    """A metric counting the samples of the batches it sees, and the counts."""
    seen = []

    def metric(y, t):
        seen.append(len(t))
        return 0.0

    return metric, seen


@pytest.mark.parametrize('how', ['next', 'break', 'error'])
def test_fit_and_evaluate_make_full_passes_over_a_loader_part_way_through(how):
    x, t = np.arange(8, dtype=np.float64), np.zeros(8, dtype=np.int64)
    loader = DataLoader((x, t), 2, shuffle=False)
    if how == 'next':
        next(iter(loader))
    elif how == 'break':
        for _ in loader:
            break
    else:
        bad = Trainer(Scale(), SGD(0.1), loss=lambda y, t: 1 / 0, metrics={})
        with pytest.raises(ZeroDivisionError):
            bad.fit(loader, 1, progress=False)
    assert loader.iteration == 1
    metric, seen = count_batches()
    trainer = Trainer(Scale(), SGD(0.0), loss=mean_y, metrics={'n': metric})
    trainer.evaluate(loader)
    assert seen == [2, 2, 2, 2]
    next(iter(loader))
    seen.clear()
    trainer.fit(loader, 2, progress=False)
    assert seen == [2] * 8  # each epoch a full pass


def test_a_full_pass_does_not_redraw_a_loader_at_the_start_of_its_epoch():
    x, t = np.arange(8, dtype=np.float64), np.zeros(8, dtype=np.int64)
    loader = DataLoader((x, t), 2, seed=0)
    order = loader.index.copy()
    firsts = []
    trainer = Trainer(Scale(), SGD(0.0), loss=mean_y, metrics={'x0': lambda y, t: 0.0})
    trainer.model.forward = lambda x: firsts.append(x.copy()) or x * trainer.model.w
    trainer.evaluate(loader)
    assert np.array_equal(np.concatenate(firsts), order)  # the order already drawn


class Pair(Model):
    def __init__(self):
        super().__init__()
        self.a = Scale(1.0)
        self.b = Scale(1.0)

    def forward(self, x):
        return self.b(self.a(x))


def test_gradients_of_parameters_the_optimizer_trains_outside_the_model_are_cleared():
    # the optimizer trains a bigger model; the trainer is given a part of it
    whole = Pair()
    opt = SGD(0.1).setup(whole)
    whole.b.w.grad = Variable(np.array(5.0))  # an old gradient of a parameter outside
    trainer = Trainer(whole.a, opt, loss=mean_y, metrics={})
    trainer.fit([(np.array([1.0]), np.zeros(1, dtype=np.int64))], 3, progress=False)
    assert whole.b.w.data == 1.0  # was 1 - 3 * 0.1 * 5: the old gradient applied each time
    assert whole.a.w.data == pytest.approx(1.0 - 3 * 0.1)


def test_the_same_callback_given_twice_is_refused_before_training():
    model = Scale()
    es = EarlyStopping('loss', patience=1)
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={})
    with pytest.raises(
        ValueError, match='Trainer.fit: the same EarlyStopping is given twice; it would'
    ):
        trainer.fit(BATCHES, 3, progress=False, callbacks=[es, es])
    assert model.w.data == 1.0


def test_empty_batches_are_skipped_in_fit_and_evaluate():
    # they made the figures of the epoch NaN, as a data-parallel run never did
    batches = [*BATCHES, (np.zeros(0), np.zeros(0))]
    trainer = Trainer(Scale(), SGD(0.0), loss=F.mean_squared_error, metrics={})
    expected = (1 + 4 + 9 + 100) / 4
    assert trainer.evaluate(batches) == {'loss': pytest.approx(expected)}
    assert trainer.fit(batches, 1, progress=False)['loss'] == [pytest.approx(expected)]


def test_a_model_given_as_a_class_is_refused():
    with pytest.raises(TypeError, match=r'Trainer: model must be a model instance.*class MLP'):
        Trainer(MLP, SGD(0.1))


def test_a_loss_or_metric_given_as_a_function_class_is_refused():
    message = r'Trainer: loss .*class SoftmaxCrossEntropy.*F\.softmax_cross_entropy'
    with pytest.raises(TypeError, match=message):
        Trainer(Scale(), SGD(0.1), loss=F.SoftmaxCrossEntropy)
    with pytest.raises(TypeError, match=r"Trainer: metric 'acc' .*class SoftmaxCrossEntropy"):
        Trainer(Scale(), SGD(0.1), metrics={'acc': F.SoftmaxCrossEntropy})


class KerasStyle:
    def on_epoch_end(self, epoch, logs=None):
        pass


def test_a_callback_whose_methods_take_other_arguments_is_refused_before_training():
    model = Scale()
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={})
    message = r'Trainer\.fit: .*KerasStyle.*on_epoch_end.*on_epoch_end\(trainer, epoch, logs\)'
    with pytest.raises(TypeError, match=message):
        trainer.fit(BATCHES, 2, progress=False, callbacks=[KerasStyle()])
    assert model.w.data == 1.0


def test_none_callbacks_and_schedules_are_empty():
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={})
    history = trainer.fit(BATCHES, 1, progress=False, callbacks=None, schedules=None)
    assert list(history) == ['loss']


def test_a_loss_or_metric_returning_none_in_evaluate_is_named():
    trainer = Trainer(Scale(), SGD(0.1), loss=lambda y, t: None, metrics={})
    with pytest.raises(TypeError, match=r'Trainer\.evaluate: the loss must be a Variable'):
        trainer.evaluate(BATCHES)
    trainer = Trainer(Scale(), SGD(0.1), loss=mean_y, metrics={'m': lambda y, t: None})
    for run in (trainer.evaluate, lambda b: trainer.fit(b, 1, progress=False)):
        with pytest.raises(TypeError, match=r"Trainer: the metric 'm' .*got NoneType"):
            run(BATCHES)


class FakeTensor:
    """An array of another framework, as a torch tensor is: its data goes by DLPack."""

    def __init__(self, a):
        self.a = a

    def __len__(self):
        return len(self.a)

    def __dlpack__(self, stream=None):
        return self.a.__dlpack__()


def test_batches_that_are_not_arrays_are_refused_at_the_batch():
    model = Scale()
    trainer = Trainer(model, SGD(0.1), loss=mean_y, metrics={})
    x, t = BATCHES[1]
    message = r'Trainer.fit: batch 1 .*x is a FakeTensor.*NumPy'
    with pytest.raises(TypeError, match=message):
        trainer.fit([BATCHES[0], (FakeTensor(x), t)], 1, progress=False)
    with pytest.raises(TypeError, match=r'Trainer.evaluate: batch 0 .*t is a FakeTensor'):
        trainer.evaluate([(x, FakeTensor(t))])


def test_truncated_backprop_through_time_is_pointed_to_a_loop_of_ones_own():
    from dezero.dataloaders import SeqDataLoader

    class Recurrent(Model):
        def __init__(self):
            super().__init__()
            self.rnn = layers.RNN(3)
            self.fc = layers.Linear(1)

        def forward(self, x):
            return self.fc(self.rnn(x))

    assert 'unchain_backward' in Trainer.__doc__
    series = np.sin(np.linspace(0, 6, 21)).astype(np.float32).reshape(-1, 1)
    loader = SeqDataLoader((series[:-1], series[1:]), 4)
    trainer = Trainer(Recurrent(), SGD(0.01), loss=F.mean_squared_error)
    with pytest.raises(RuntimeError, match='truncated backpropagation through time'):
        trainer.fit(loader, 1, progress=False)


def test_a_batch_of_named_inputs_passes_to_the_model_that_takes_it():
    class Named(Model):
        def __init__(self):
            super().__init__()
            self.l = layers.Linear(2)

        def forward(self, inputs):
            return self.l(inputs['a'])

    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    t = np.array([0, 1, 0, 1, 1])
    history = Trainer(Named(), SGD(0.1)).fit([({'a': x}, t)], 1, progress=False)
    assert len(history['loss']) == 1

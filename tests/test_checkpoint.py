"""Checkpoint: resumable training, across processes and within one; what the file holds;
checkpoints that do not fit."""

import enum
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

import dezero
import dezero.functions as F
import dezero.layers
import dezero.trainer
from dezero import DataLoader
from dezero.models import MLP
from dezero.optimizers import SGD, Adam
from dezero.schedules import StepLR
from dezero.trainer import BestWeights, Checkpoint, EarlyStopping, Trainer
from test_optimizers import OwnMomentumSGD  # the book's step 46, on the base Optimizer

ROOT = pathlib.Path(__file__).resolve().parents[1]

# A small training run that uses every kind of state a checkpoint keeps: weights created
# lazily from np.random, dropout and shuffling drawing from np.random, a validation
# loader with its own generator, AdamW's moments and step count, two schedules on one
# optimizer, EarlyStopping and BestWeights.  Run as a script it can kill itself (SIGKILL,
# no clean-up) at the first batch of an epoch, and saves what it ends with.
SCRIPT = """
import json, os, signal, sys

import numpy as np

import dezero
import dezero.functions as F
import dezero.layers
import dezero.layers as L
from dezero import DataLoader, Model
from dezero.optimizers import AdamW
from dezero.schedules import LinearLR, StepLR
from dezero.trainer import BestWeights, Checkpoint, EarlyStopping, Trainer


class Net(Model):
    def __init__(self, hidden):
        super().__init__()
        self.l1 = L.Linear(hidden)
        self.l2 = L.Linear(2)

    def forward(self, x):
        return self.l2(F.dropout(F.relu(self.l1(x)), 0.2))


def run(folder, name, epochs, die_in_epoch=0, hidden=16):
    np.random.seed(0)
    x = np.random.randn(90, 2).astype(np.float32)
    t = (x[:, 0] * x[:, 1] > 0).astype(np.int64)

    def loss(y, t):
        if trainer.epoch == die_in_epoch:
            os.kill(os.getpid(), signal.SIGKILL)
        return F.softmax_cross_entropy(y, t)

    opt = AdamW(lr=0.05)
    trainer = Trainer(Net(hidden), opt, loss=loss, metrics={'acc': F.accuracy})
    callbacks = [
        Checkpoint(os.path.join(folder, name + '.ckpt.npz')),
        EarlyStopping(patience=10),
        BestWeights(os.path.join(folder, name + '.best.npz'), restore=False),
    ]
    history = trainer.fit(
        DataLoader((x, t), 16),
        epochs,
        val_loader=DataLoader((x[:30], t[:30]), 8, seed=3),
        progress=False,
        callbacks=callbacks,
        schedules=[LinearLR(opt, 0.5, 1.0, 2), StepLR(opt, 2, 0.5)],
    )
    return trainer, history


if __name__ == '__main__':
    folder, name, epochs, die = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    trainer, history = run(folder, name, epochs, die)
    trainer.model.save_weights(os.path.join(folder, name + '.weights.npz'))
    trainer.optimizer.save(os.path.join(folder, name + '.optimizer.npz'))
    with open(os.path.join(folder, name + '.history.json'), 'w') as f:
        json.dump(history, f)
"""


def script(tmp_path):
    path = tmp_path / 'train.py'
    path.write_text(SCRIPT)
    return path


def launch(tmp_path, name, epochs, die_in_epoch=0):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [
            sys.executable,
            str(script(tmp_path)),
            str(tmp_path),
            name,
            str(epochs),
            str(die_in_epoch),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def finished(tmp_path, name, epochs, die_in_epoch=0):
    result = launch(tmp_path, name, epochs, die_in_epoch)
    assert result.returncode == 0, result.stderr


def results(folder, name):
    """The weights, the optimizer's state file and the history a run ended with."""
    arrays = {}
    for part in ('weights', 'optimizer', 'best'):
        with np.load(folder / f'{name}.{part}.npz', allow_pickle=False) as f:
            arrays.update({f'{part}:{k}': f[k] for k in f.files})
    return arrays, json.loads((folder / f'{name}.history.json').read_text())


def assert_same_results(a, b):
    arrays_a, history_a = a
    arrays_b, history_b = b
    assert sorted(arrays_a) == sorted(arrays_b)
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)
    assert history_a == history_b


def checkpoint_meta(path):
    with np.load(path, allow_pickle=False) as f:
        return json.loads(str(f['__checkpoint__']))


def in_process():
    """The functions of SCRIPT, to run in this process."""
    namespace = {'__name__': 'checkpoint_script'}
    exec(compile(SCRIPT, 'train.py', 'exec'), namespace)
    return namespace


# --------------------------------------------------------------------------------------
# Resuming in a new process gives exactly the uninterrupted run
# --------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(signal, 'SIGKILL'), reason='needs SIGKILL')
def test_a_run_killed_in_epoch_3_resumes_in_a_new_process_bit_for_bit(tmp_path):
    finished(tmp_path, 'whole', 5)
    killed = launch(tmp_path, 'cut', 5, die_in_epoch=3)
    assert killed.returncode == -signal.SIGKILL
    assert checkpoint_meta(tmp_path / 'cut.ckpt.npz')['epoch'] == 2
    assert not (tmp_path / 'cut.weights.npz').exists()
    finished(tmp_path, 'cut', 5)  # a new process, resuming at epoch 3
    assert_same_results(results(tmp_path, 'cut'), results(tmp_path, 'whole'))
    history = results(tmp_path, 'whole')[1]
    assert len(history['loss']) == 5
    assert history['lr'] == pytest.approx([0.025, 0.0375, 0.025, 0.025, 0.0125])
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith('.')) == []


def test_a_run_that_exits_after_epoch_2_resumes_in_a_new_process_bit_for_bit(tmp_path):
    finished(tmp_path, 'whole', 4)
    finished(tmp_path, 'cut', 2)
    assert checkpoint_meta(tmp_path / 'cut.ckpt.npz')['epoch'] == 2
    partial = results(tmp_path, 'cut')[1]
    assert len(partial['loss']) == 2
    finished(tmp_path, 'cut', 4)
    assert_same_results(results(tmp_path, 'cut'), results(tmp_path, 'whole'))
    assert results(tmp_path, 'cut')[1]['loss'][:2] == partial['loss']


# --------------------------------------------------------------------------------------
# Resuming within one process
# --------------------------------------------------------------------------------------
def params_of(trainer):
    return {
        path: None if p.data is None else p.data.copy() for path, p in trainer.model.named_params()
    }


def test_resuming_restores_the_random_state_and_the_loaders(tmp_path):
    run = in_process()['run']
    whole, whole_history = run(str(tmp_path), 'whole', 4)
    run(str(tmp_path), 'cut', 2)
    np.random.seed(12345)  # whatever happened meanwhile to the global generator
    resumed, history = run(str(tmp_path), 'cut', 4)
    assert history == whole_history
    for (path, a), b in zip(params_of(whole).items(), params_of(resumed).values()):
        np.testing.assert_array_equal(a, b, err_msg=path)
    assert resumed.optimizer.t == whole.optimizer.t
    assert resumed.optimizer.lr == whole.optimizer.lr
    assert resumed._run is None  # the trainer keeps nothing of the fit once it is over


def test_the_file_holds_plain_arrays_and_json(tmp_path):
    run = in_process()['run']
    trainer, history = run(str(tmp_path), 'one', 2)
    with np.load(tmp_path / 'one.ckpt.npz', allow_pickle=False) as f:
        files = set(f.files)
        np.testing.assert_array_equal(f['model/l1/W'], trainer.model.l1.W.data)
        state = trainer.optimizer.state_of(trainer.model.l2.b)
        np.testing.assert_array_equal(f['optimizer/l2/b/v'], state['v'])
        index = f['loaders/train/index']
    assert {'model/l1/W', 'model/l2/b', 'optimizer/l1/W/m', 'random/keys'} <= files
    assert {'loaders/train/index', 'loaders/val/index', '__checkpoint__'} <= files
    assert sorted(index) == list(range(90))  # the order of the next epoch
    meta = checkpoint_meta(tmp_path / 'one.ckpt.npz')
    assert meta['epoch'] == 2 and meta['stopped'] is False
    assert meta['history'] == history
    assert meta['optimizer']['optimizer'] == 'AdamW' and meta['optimizer']['counters'] == {'t': 12}
    assert [s['schedule'] for s in meta['schedules']] == ['LinearLR', 'StepLR']
    assert [c[0] for c in meta['callbacks']] == ['EarlyStopping', 'BestWeights']
    assert meta['loaders']['train']['generator'] is None
    assert meta['loaders']['val']['generator']['bit_generator'] == 'PCG64'
    # an optimizer that trains the model alone: nothing else
    assert 'target_parameters' not in meta and not any(k.startswith('target/') for k in files)


def scale_trainer(lr=0.1):
    model = MLP((3,))
    return Trainer(model, SGD(lr), loss=F.mean_squared_error, metrics={})


def batches(n=1):
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    return [(x, np.zeros((2, 3)))] * n


def test_a_finished_run_resumes_to_its_end_without_training(tmp_path):
    np.random.seed(0)
    trainer = scale_trainer()
    ckpt = Checkpoint(tmp_path / 'c.npz')
    history = trainer.fit(batches(), 3, progress=False, callbacks=[ckpt])
    assert ckpt.resumed_epoch is None
    weights = params_of(trainer)
    again = trainer.fit(batches(), 3, progress=False, callbacks=[ckpt])
    assert again == history and ckpt.resumed_epoch == 3 and trainer.epoch == 3
    for path, w in params_of(trainer).items():
        np.testing.assert_array_equal(w, weights[path])


def test_a_run_stopped_by_a_callback_stays_stopped(tmp_path):
    np.random.seed(0)
    trainer = scale_trainer(0.01)
    stop = EarlyStopping('loss', patience=1, mode='max')  # the loss falls: stops at epoch 2
    history = trainer.fit(
        batches(), 6, progress=False, callbacks=[stop, Checkpoint(tmp_path / 'c.npz')]
    )
    assert history['loss'][1] < history['loss'][0]
    assert len(history['loss']) == 2 and stop.stopped_epoch == 2
    stop2 = EarlyStopping('loss', patience=1, mode='max')
    again = scale_trainer(0.01).fit(
        batches(), 6, progress=False, callbacks=[stop2, Checkpoint(tmp_path / 'c.npz')]
    )
    assert again == history
    assert (stop2.stopped_epoch, stop2.best_epoch, stop2.wait) == (2, 1, 1)


def test_resuming_without_the_best_weights_file_is_refused_before_training(tmp_path):
    # the resumed run trained to its end and then failed to load the file, and every
    # later resume failed the same way, as the checkpoint had moved on
    np.random.seed(0)
    best, ckpt = tmp_path / 'best.npz', tmp_path / 'c.npz'

    class Interrupt(Exception):
        pass

    class StopAfter:
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                raise Interrupt

    callbacks = [BestWeights(best, monitor='loss'), Checkpoint(ckpt)]
    with pytest.raises(Interrupt):
        scale_trainer().fit(batches(), 4, progress=False, callbacks=[*callbacks, StopAfter()])
    saved = ckpt.read_bytes()
    best.unlink()
    trainer = scale_trainer()
    with pytest.raises(FileNotFoundError, match=r'best weights of epoch \d in .*best.npz.*gone'):
        trainer.fit(
            batches(),
            4,
            progress=False,
            callbacks=[BestWeights(best, monitor='loss'), Checkpoint(ckpt)],
        )
    assert trainer.epoch == 0 and ckpt.read_bytes() == saved
    # with restore=False the run never reads the file, and goes on
    history = scale_trainer().fit(
        batches(),
        4,
        progress=False,
        callbacks=[BestWeights(best, monitor='loss', restore=False), Checkpoint(ckpt)],
    )
    assert len(history['loss']) == 4


def test_the_progress_bar_resumes_at_the_saved_epoch(tmp_path, capsys, monkeypatch):
    import dezero.progress

    monkeypatch.setattr(dezero.progress, '_tqdm', lambda: None)
    np.random.seed(0)
    scale_trainer().fit(batches(), 2, progress=False, callbacks=[Checkpoint(tmp_path / 'c.npz')])
    scale_trainer().fit(batches(), 4, progress=True, callbacks=[Checkpoint(tmp_path / 'c.npz')])
    lines = capsys.readouterr().out.split('\n')
    assert [line.split('  ')[0] for line in lines if line] == ['epoch 3/4', 'epoch 4/4']


# --------------------------------------------------------------------------------------
# Checkpoints that do not fit
# --------------------------------------------------------------------------------------
def everything(trainer):
    """What a refused resume must leave as it was."""
    opt = trainer.optimizer
    return (
        params_of(trainer),
        {k: {n: a.copy() for n, a in v.items()} for k, v in opt.state_dict()['state'].items()},
        opt.lr,
        getattr(opt, 't', None),
        trainer.epoch,
        np.random.get_state()[1].copy(),
    )


def assert_unchanged(before, after):
    for x, y in zip(before[0].values(), after[0].values()):
        np.testing.assert_array_equal(x, y)
    assert before[1].keys() == after[1].keys()
    for path in before[1]:
        for name in before[1][path]:
            np.testing.assert_array_equal(before[1][path][name], after[1][path][name])
    assert before[2:5] == after[2:5]
    np.testing.assert_array_equal(before[5], after[5])


def adam_trainer(sizes=(5, 3)):
    model = MLP(sizes)
    return Trainer(model, Adam(alpha=0.01))


def spiral_like():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    return x, rng.integers(0, 3, size=40)


def saved_checkpoint(tmp_path, epochs=2):
    np.random.seed(0)
    x, t = spiral_like()
    trainer = adam_trainer()
    schedule = StepLR(trainer.optimizer, 1, 0.5)
    trainer.fit(
        DataLoader((x, t), 10),
        epochs,
        progress=False,
        callbacks=[Checkpoint(tmp_path / 'c.npz')],
        schedules=[schedule],
    )
    return tmp_path / 'c.npz'


def started_trainer(sizes=(5, 3)):
    """A trainer with weights and optimizer state of its own, as a refused resume finds
    it."""
    np.random.seed(1)
    x, t = spiral_like()
    trainer = adam_trainer(sizes)
    trainer.fit(DataLoader((x, t), 10), 1, progress=False)
    return trainer


@pytest.mark.parametrize(
    'change, message',
    [
        (
            {'sizes': (6, 3)},
            r"Checkpoint: the parameter 'l0/W' has shape \(2, 6\) but .*c\.npz holds shape "
            r'\(2, 5\) for it; it was saved for another model',
        ),
        (
            {'sizes': (5,)},
            r"Checkpoint: .*c\.npz has entries for which the model has no parameter: 'l1/W'",
        ),
        (
            {'sizes': (5, 3, 3)},
            r"Checkpoint: .*c\.npz has no entry for the parameter 'l2/W'",
        ),
        ({'epochs': 1}, r'Checkpoint: .*c\.npz was saved after epoch 2, past the 1 epochs'),
        ({'schedules': 0}, r'Checkpoint: .*c\.npz has a history of loss, acc, lr; this fit'),
        ({'metrics': {}}, r'Checkpoint: .*c\.npz has a history of loss, acc, lr; this fit'),
        ({'loader': 12}, r'Checkpoint: the train loader in .*c\.npz is of a loader of 40 samples'),
        ({'loader': 'list'}, r'Checkpoint: .*c\.npz was saved with a DataLoader as the train'),
        (
            {'loader': 'batch 7'},
            r'Checkpoint: the train loader in .*c\.npz is of a loader with batch_size=10; '
            r'this one has batch_size=7',
        ),
        (
            {'loader': 'seeded'},
            r'Checkpoint: the train loader in .*c\.npz is of a loader that draws',
        ),
        ({'callbacks': True}, r'Checkpoint: .*c\.npz holds the state of the callbacks \[\]'),
        ({'optimizer': SGD}, r'Checkpoint: .*c\.npz holds the state of a Adam optimizer, not'),
        ({'gamma': 0.1}, r'Checkpoint: .*c\.npz was saved by a StepLR with step_size=1, gamma=0.5'),
    ],
)
def test_a_checkpoint_that_does_not_fit_is_refused_and_changes_nothing(tmp_path, change, message):
    path = saved_checkpoint(tmp_path)
    saved = path.read_bytes()
    trainer = started_trainer(change.get('sizes', (5, 3)))
    if 'optimizer' in change:
        trainer = Trainer(trainer.model, change['optimizer'](0.1))
    x, t = spiral_like()
    loader = {
        None: DataLoader((x, t), 10),
        12: DataLoader((x[:12], t[:12]), 10),
        'list': [(x, t)],
        'seeded': DataLoader((x, t), 10, seed=0),
        'batch 7': DataLoader((x, t), 7),
    }[change.get('loader')]
    schedules = [StepLR(trainer.optimizer, 1, change.get('gamma', 0.5))]
    schedules = schedules[: change.get('schedules', 1)]
    callbacks = [EarlyStopping('loss')] if change.get('callbacks') else []
    fitter = Trainer(trainer.model, trainer.optimizer, metrics=change.get('metrics'))
    before = everything(trainer)
    with pytest.raises(ValueError, match=message):
        fitter.fit(
            loader,
            change.get('epochs', 4),
            progress=False,
            callbacks=[*callbacks, Checkpoint(path)],
            schedules=schedules,
        )
    assert_unchanged(before, everything(trainer))
    assert path.read_bytes() == saved


def test_a_model_with_a_layer_added_since_the_save_is_refused_though_it_has_no_weights(tmp_path):
    # the new layer has no data yet, so no entry of the file is missing for it
    path = saved_checkpoint(tmp_path)
    trainer = started_trainer()
    trainer.model.extra = dezero.layers.Linear(4, nobias=True)
    x, t = spiral_like()
    before = everything(trainer)
    with pytest.raises(
        ValueError,
        match=r'Checkpoint: .*c\.npz was saved for a model with other parameters \(not in '
        r"the saved model: 'extra/W'\)",
    ):
        trainer.fit(
            DataLoader((x, t), 10),
            4,
            progress=False,
            callbacks=[Checkpoint(path)],
            schedules=[StepLR(trainer.optimizer, 1, 0.5)],
        )
    assert_unchanged(before, everything(trainer))
    assert trainer.model.extra.W.data is None


def edited(path, meta_edit=None, arrays_edit=None):
    """Rewrite the checkpoint ``path`` after ``meta_edit(meta)`` changed its JSON text
    and ``arrays_edit(arrays)`` its arrays, in place."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays['__checkpoint__']))
    if meta_edit:
        meta_edit(meta)
    if arrays_edit:
        arrays_edit(arrays)
    arrays['__checkpoint__'] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    return path


def set_entry(*keys, value):
    """An edit of the checkpoint's JSON text: the entry at ``keys`` becomes ``value``."""

    def edit(meta):
        for key in keys[:-1]:
            meta = meta[key]
        meta[keys[-1]] = value

    return edit


@pytest.mark.parametrize(
    'meta_edit, arrays_edit, message',
    [
        (
            set_entry('history', 'loss', 1, value='abc'),
            None,
            r"c\.npz holds 'abc' as the loss of epoch 2 in its history; expected a number",
        ),
        (set_entry('history', 'acc', 0, value=None), None, r'holds None as the acc of epoch 1'),
        (set_entry('history', 'lr', 0, value=True), None, r'holds True as the lr of epoch 1'),
        (
            set_entry('random', 'pos', value=3.5),
            None,
            r'the random state in .*c\.npz holds pos=3\.5; expected an int from 0 to 624',
        ),
        (set_entry('random', 'pos', value=625), None, r'holds pos=625; expected an int from 0'),
        (set_entry('random', 'pos', value=-1), None, r'holds pos=-1; expected an int from 0'),
        (set_entry('random', 'has_gauss', value=2), None, r'holds has_gauss=2; expected 0 or 1'),
        (set_entry('random', 'cached_gaussian', value='x'), None, r"cached_gaussian='x'"),
        # ints too large for a float, which JSON holds: an OverflowError once all the
        # rest was loaded
        (
            set_entry('random', 'cached_gaussian', value=10**400),
            None,
            r'the random state in .*c\.npz holds cached_gaussian=10{400}; expected a number '
            r'that a float holds$',
        ),
        (
            set_entry('history', 'loss', 0, value=10**400),
            None,
            r'c\.npz holds 10{400} as the loss of epoch 1 in its history; expected a number '
            r'that a float holds$',
        ),
        (
            set_entry('schedules', 0, 'base_lr', value=10**400),
            None,
            r'c\.npz holds base_lr=10{400}; expected a number >= 0 that a float holds',
        ),
        (set_entry('schedules', 0, 'last_lr', value=10**400), None, r'holds last_lr=10{400};'),
        (
            set_entry('schedules', 0, 'settings', value=[1, 2]),
            None,
            r'c\.npz holds settings=\[1, 2\]; expected a dict of the settings of a StepLR',
        ),
        (
            set_entry('callbacks', 0, 1, 'best', value=10**400),
            None,
            r'holds best=10{400}; expected a number that a float holds, or None',
        ),
        (set_entry('random', 'kind', value='PCG64'), None, r"kind='PCG64'; expected 'MT19937'"),
        (
            lambda meta: meta['random'].pop('pos'),
            None,
            r'c\.npz holds no valid NumPy random state \(expected the fields kind, pos',
        ),
        (
            None,
            lambda arrays: arrays.update({'random/keys': arrays['random/keys'] / 2}),
            r'the random state in .*c\.npz holds keys of shape \(624,\) and dtype float64',
        ),
        (set_entry('optimizer', value='x'), None, r"c\.npz holds optimizer='x'; expected a dict"),
        (
            None,
            lambda arrays: arrays.pop('optimizer/l1/W/v'),
            r"c\.npz holds the state arrays 'm' for the parameter 'l1/W' \(missing 'v'\); "
            r"Adam keeps 'm', 'v'",
        ),
        (
            None,
            lambda arrays: arrays.update({'optimizer/l1/b/bogus': arrays['optimizer/l1/b/m']}),
            r"c\.npz holds the state arrays 'm', 'v', 'bogus' for the parameter 'l1/b' "
            r"\(unknown 'bogus'\)",
        ),
        (
            None,
            lambda arrays: arrays.update({'optimizer/l1/b/v': -arrays['optimizer/l1/b/v'] - 1}),
            r"c\.npz holds 'v' state with the negative value .* for the parameter 'l1/b'",
        ),
        (set_entry('loaders', value=None), None, r'c\.npz holds loaders=None; expected a dict'),
        (
            set_entry('callbacks', 0, 1, 'wait', value='x'),
            None,
            r"the EarlyStopping state in .*c\.npz holds wait='x'; expected an int >= 0",
        ),
        (
            set_entry('callbacks', 0, 1, 'best_epoch', value=0),
            None,
            r'holds best_epoch=0; expected an int >= 1 or None',
        ),
        (set_entry('callbacks', 0, 1, 'best', value='x'), None, r"holds best='x'; expected a"),
        (
            set_entry('callbacks', 0, 1, 'best', value=None),
            None,
            r'holds best=None and best_epoch=2; expected both None or neither',
        ),
        (
            set_entry('callbacks', 0, 1, 'stopped_epoch', value=1.5),
            None,
            r'holds stopped_epoch=1\.5; expected an int >= 1 or None',
        ),
        (
            set_entry('callbacks', 0, 1, 'best_epoch', value=3),
            None,
            r'the EarlyStopping state in .*c\.npz holds best_epoch=3, past epoch 2, the last '
            r'that the checkpoint saved$',
        ),
        (
            set_entry('callbacks', 0, 1, 'stopped_epoch', value=3),
            None,
            r'holds stopped_epoch=3, past epoch 2, the last that the checkpoint saved$',
        ),
    ],
)
def test_a_checkpoint_with_a_bad_value_is_refused_by_name_and_changes_nothing(
    tmp_path, meta_edit, arrays_edit, message
):
    np.random.seed(0)
    x, t = spiral_like()
    trainer = adam_trainer()
    trainer.fit(
        DataLoader((x, t), 10),
        2,
        progress=False,
        callbacks=[EarlyStopping('loss', patience=5), Checkpoint(tmp_path / 'c.npz')],
        schedules=[StepLR(trainer.optimizer, 1, 0.5)],
    )
    path = edited(tmp_path / 'c.npz', meta_edit, arrays_edit)
    saved = path.read_bytes()
    trainer = started_trainer()
    before = everything(trainer)
    with pytest.raises(ValueError, match=f'^Checkpoint: .*{message}'):
        trainer.fit(
            DataLoader((x, t), 10),
            4,
            progress=False,
            callbacks=[EarlyStopping('loss', patience=5), Checkpoint(path)],
            schedules=[StepLR(trainer.optimizer, 1, 0.5)],
        )
    assert_unchanged(before, everything(trainer))
    assert path.read_bytes() == saved


@pytest.mark.parametrize('value', [-5, 2**200])
def test_a_bad_state_of_a_loaders_generator_is_refused_by_name_and_changes_nothing(tmp_path, value):
    np.random.seed(0)
    x, t = spiral_like()
    trainer = adam_trainer()
    trainer.fit(
        DataLoader((x, t), 10, seed=1),
        2,
        progress=False,
        callbacks=[Checkpoint(tmp_path / 'c.npz')],
    )
    path = edited(
        tmp_path / 'c.npz',
        set_entry('loaders', 'train', 'generator', 'state', 'state', value=value),
    )
    trainer = started_trainer()
    before = everything(trainer)
    loader = DataLoader((x, t), 10, seed=1)
    with pytest.raises(
        ValueError,
        match=r"^Checkpoint: the train loader in .*c\.npz holds a state of the loader's "
        r'generator that does not fit it',
    ):
        trainer.fit(loader, 4, progress=False, callbacks=[Checkpoint(path)])
    assert_unchanged(before, everything(trainer))
    assert loader.iteration == 0


def test_a_checkpoint_nested_too_deeply_is_refused_by_name(tmp_path):
    np.random.seed(0)
    x, t = spiral_like()
    trainer = adam_trainer()
    trainer.fit(
        DataLoader((x, t), 10), 2, progress=False, callbacks=[Checkpoint(tmp_path / 'c.npz')]
    )
    with np.load(tmp_path / 'c.npz', allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays['__checkpoint__'] = np.array('[' * 200000 + ']' * 200000)
    np.savez(tmp_path / 'c.npz', **arrays)
    trainer = started_trainer()
    before = everything(trainer)
    with pytest.raises(
        ValueError,
        match=r"^Checkpoint: cannot read the '__checkpoint__' entry of .*c\.npz \(maximum "
        r'recursion',
    ):
        trainer.fit(
            DataLoader((x, t), 10), 4, progress=False, callbacks=[Checkpoint(tmp_path / 'c.npz')]
        )
    assert_unchanged(before, everything(trainer))


def test_a_nan_in_the_history_is_a_number_and_resumes(tmp_path):
    np.random.seed(0)
    ckpt = Checkpoint(tmp_path / 'c.npz')
    scale_trainer().fit(batches(), 2, progress=False, callbacks=[ckpt])
    edited(tmp_path / 'c.npz', set_entry('history', 'loss', 0, value=float('nan')))
    history = scale_trainer().fit(batches(), 3, progress=False, callbacks=[ckpt])
    assert ckpt.resumed_epoch == 2 and np.isnan(history['loss'][0]) and len(history['loss']) == 3


def test_an_unreadable_checkpoint_is_refused_by_name(tmp_path):
    (tmp_path / 'c.npz').write_bytes(b'garbage')
    trainer = started_trainer()
    before = everything(trainer)
    x, t = spiral_like()
    with pytest.raises(ValueError, match=r'Checkpoint: cannot read .*c\.npz as an \.npz'):
        trainer.fit([(x, t)], 2, progress=False, callbacks=[Checkpoint(tmp_path / 'c.npz')])
    trainer.model.save_weights(tmp_path / 'w.npz')
    with pytest.raises(ValueError, match=r'w\.npz is not a file of dezero training checkpoint'):
        trainer.fit([(x, t)], 2, progress=False, callbacks=[Checkpoint(tmp_path / 'w.npz')])
    assert_unchanged(before, everything(trainer))


def test_a_checkpoint_text_of_the_wrong_type_is_refused_as_such(tmp_path):
    # it said "it has no '__checkpoint__' entry", which it has
    path = saved_checkpoint(tmp_path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays['__checkpoint__'] = np.frombuffer(b'abcd', np.uint8)
    np.savez(path, **arrays)
    trainer = started_trainer()
    before = everything(trainer)
    x, t = spiral_like()
    with pytest.raises(
        ValueError,
        match=r'^Checkpoint: .*c\.npz is not a file of dezero training checkpoint: its '
        r"'__checkpoint__' entry is an array of dtype uint8 and shape \(4,\); expected JSON "
        r'text in a 0-d string array$',
    ):
        trainer.fit(DataLoader((x, t), 10), 4, progress=False, callbacks=[Checkpoint(path)])
    assert_unchanged(before, everything(trainer))


@pytest.mark.parametrize('name', ['__checkpoint__', '__checkpoint__.npy'])
def test_a_checkpoint_entry_that_is_no_array_is_refused_by_name(tmp_path, name):
    # np.load gave the raw bytes: AttributeError: 'bytes' object has no attribute 'dtype'
    path = saved_checkpoint(tmp_path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    text = str(arrays.pop('__checkpoint__'))
    with zipfile.ZipFile(path, 'w') as archive:
        for key, array in arrays.items():
            with archive.open(key + '.npy', 'w') as entry:
                np.save(entry, array)
        archive.writestr(name, text)
    trainer = started_trainer()
    before = everything(trainer)
    x, t = spiral_like()
    with pytest.raises(
        ValueError,
        match=r'^Checkpoint: cannot read .*c\.npz as an \.npz archive: its entry '
        r"'__checkpoint__' is not an array in the \.npy format$",
    ):
        trainer.fit(DataLoader((x, t), 10), 4, progress=False, callbacks=[Checkpoint(path)])
    assert_unchanged(before, everything(trainer))


def test_a_failed_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    np.random.seed(0)
    trainer = scale_trainer()
    calls = []
    original = dezero.trainer.write_npz

    def failing_write(f, arrays):
        calls.append(1)
        if len(calls) == 1:
            return original(f, arrays)
        f.write(b'PK\x03\x04 half an archive')
        raise OSError('disk full')

    monkeypatch.setattr(dezero.trainer, 'write_npz', failing_write)
    with pytest.raises(OSError, match='disk full'):
        trainer.fit(batches(), 3, progress=False, callbacks=[Checkpoint(tmp_path / 'c.npz')])
    assert checkpoint_meta(tmp_path / 'c.npz')['epoch'] == 1
    assert os.listdir(tmp_path) == ['c.npz']


def test_checkpoint_arguments():
    with pytest.raises(TypeError, match='Checkpoint: path must be a file path, got int'):
        Checkpoint(3)
    with pytest.raises(ValueError, match='^Checkpoint: the path is empty; give the path'):
        Checkpoint('')
    assert Checkpoint(b'c.npz').path == 'c.npz'
    trainer = scale_trainer()
    with pytest.raises(FileNotFoundError, match='Checkpoint: the folder .*nowhere'):
        trainer.fit(batches(), 1, progress=False, callbacks=[Checkpoint('/nowhere/c.npz')])
    with pytest.raises(ValueError, match='got 2 Checkpoint callbacks; give one'):
        trainer.fit(batches(), 1, progress=False, callbacks=[Checkpoint('a'), Checkpoint('b')])


# --------------------------------------------------------------------------------------
# The state of callbacks of one's own
# --------------------------------------------------------------------------------------
class NumpyCounter:
    """Counts the epochs in a NumPy integer."""

    def __init__(self):
        self.n = np.int64(0)

    def on_epoch_end(self, trainer, epoch, logs):
        self.n += 1

    def state_dict(self):
        return {'n': self.n, 'mean': np.float32(0.5), 'flags': (np.bool_(True),)}

    def load_state_dict(self, state):
        self.n, self.loaded = state['n'], state


def test_numpy_scalars_in_a_callback_state_are_saved_as_numbers_and_resume(tmp_path):
    # the save after epoch 1 failed: "Object of type int64 is not JSON serializable"
    np.random.seed(0)
    path = tmp_path / 'c.npz'
    scale_trainer().fit(batches(), 2, progress=False, callbacks=[NumpyCounter(), Checkpoint(path)])
    saved = {'n': 2, 'mean': 0.5, 'flags': [True]}
    assert checkpoint_meta(path)['callbacks'] == [['NumpyCounter', saved]]
    counter = NumpyCounter()
    scale_trainer().fit(batches(), 3, progress=False, callbacks=[counter, Checkpoint(path)])
    assert counter.loaded == saved and counter.n == 3


class Holding:
    """A callback whose state holds ``value``; from epoch ``change_at`` on, ``later``."""

    def __init__(self, value, later=None, change_at=None):
        self.value, self.later, self.change_at = value, later, change_at

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.change_at:
            self.value = self.later

    def state_dict(self):
        return {'kept': {'value': self.value}}

    def load_state_dict(self, state):
        pass


@pytest.mark.parametrize(
    'value, message',
    [
        (np.zeros(2), r"holds a ndarray at \['kept'\]\['value'\]; .*c\.npz keeps None, booleans"),
        ({1: 2.0}, r"has the key 1 at \['kept'\]\['value'\]; .*c\.npz keeps string keys only"),
        ([0, 1j], r"holds a complex at \['kept'\]\['value'\]\[1\]"),
    ],
)
def test_a_callback_state_json_cannot_hold_is_refused_before_training(tmp_path, value, message):
    trainer = started_trainer()
    before = everything(trainer)
    x, t = spiral_like()
    with pytest.raises(
        ValueError, match=rf'^Checkpoint: the state of the callback Holding {message}'
    ):
        trainer.fit(
            DataLoader((x, t), 10),
            3,
            progress=False,
            callbacks=[Holding(value), Checkpoint(tmp_path / 'c.npz')],
        )
    assert_unchanged(before, everything(trainer))
    assert not os.listdir(tmp_path)


def test_a_callback_state_json_cannot_hold_later_is_refused_at_the_save_writing_nothing(tmp_path):
    np.random.seed(0)
    holding = Holding(1.0, later=np.arange(3), change_at=2)
    with pytest.raises(ValueError, match=r"Holding holds a ndarray at \['kept'\]\['value'\]"):
        scale_trainer().fit(
            batches(), 3, progress=False, callbacks=[holding, Checkpoint(tmp_path / 'c.npz')]
        )
    assert checkpoint_meta(tmp_path / 'c.npz')['epoch'] == 1  # that of the last save
    assert checkpoint_meta(tmp_path / 'c.npz')['callbacks'] == [
        ['Holding', {'kept': {'value': 1.0}}]
    ]
    assert os.listdir(tmp_path) == ['c.npz']


def stateful_callback(loads, refuses=False):
    """A callback named Kept with state_dict, and load_state_dict when ``loads`` (which
    refuses every state when ``refuses``)."""

    class Kept:
        def on_epoch_end(self, trainer, epoch, logs):
            pass

        def state_dict(self):
            return {'k': 1}

    if loads:

        def load_state_dict(self, state):
            if refuses:
                raise ValueError('Kept: this state is not mine')

        Kept.load_state_dict = load_state_dict
    return Kept()


def test_a_callback_with_state_but_no_load_state_dict_is_refused_before_anything(tmp_path):
    # resuming raised a bare AttributeError naming nothing; a first run saved a state
    # that no resume could take back
    path = tmp_path / 'c.npz'
    message = (
        r'^Checkpoint: the callback Kept has state_dict\(\) but no load_state_dict\(state\), '
        r'so .*c\.npz could save its state but never give it back'
    )
    trainer = started_trainer()
    x, t = spiral_like()
    with pytest.raises(TypeError, match=message):
        trainer.fit(
            DataLoader((x, t), 10),
            2,
            progress=False,
            callbacks=[stateful_callback(False), Checkpoint(path)],
        )
    assert not os.listdir(tmp_path)
    np.random.seed(0)
    adam_trainer().fit(
        DataLoader((x, t), 10),
        2,
        progress=False,
        callbacks=[stateful_callback(True), Checkpoint(path)],
    )
    saved = path.read_bytes()
    trainer = started_trainer()
    before = everything(trainer)
    with pytest.raises(TypeError, match=message):
        trainer.fit(
            DataLoader((x, t), 10),
            4,
            progress=False,
            callbacks=[stateful_callback(False), Checkpoint(path)],
        )
    assert_unchanged(before, everything(trainer))
    assert path.read_bytes() == saved


def test_a_callback_refusing_its_state_leaves_everything_as_it_was(tmp_path):
    # the weights, the optimizer and the schedules had been loaded before the
    # callbacks, and stayed changed
    path = tmp_path / 'c.npz'
    x, t = spiral_like()

    def fit(trainer, epochs, kept, stopping=None, loader=None):
        return trainer.fit(
            loader or DataLoader((x, t), 10),
            epochs,
            progress=False,
            callbacks=[stopping or EarlyStopping('loss'), kept, Checkpoint(path)],
            schedules=[StepLR(trainer.optimizer, 1, 0.5)],
        )

    np.random.seed(0)
    fit(adam_trainer(), 2, stateful_callback(True))
    saved = path.read_bytes()
    trainer = started_trainer()
    loader = DataLoader((x, t), 10)
    index = loader.index.copy()
    stopping = EarlyStopping('loss')
    before = everything(trainer)
    with pytest.raises(
        ValueError,
        match=r'^Checkpoint: the callback Kept refused its state in .*c\.npz, so nothing '
        r'was resumed: ValueError: Kept: this state is not mine',
    ):
        fit(trainer, 4, stateful_callback(True, refuses=True), stopping, loader)
    assert_unchanged(before, everything(trainer))
    np.testing.assert_array_equal(loader.index, index)
    assert (stopping.best, stopping.best_epoch, stopping.wait) == (None, None, 0)
    assert path.read_bytes() == saved


def test_a_refused_resume_gives_back_a_state_loaded_in_place(tmp_path):
    # the rollback took the callback's own list as the old state, and loaded it onto
    # itself after it had been overwritten in place
    class Losses:
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, trainer, epoch, logs):
            self.seen.append(logs['loss'])

        def state_dict(self):
            return {'seen': self.seen}

        def load_state_dict(self, state):
            self.seen[:] = state['seen']

    class Picky:
        def __init__(self, refuses=False):
            self.refuses = refuses

        def on_epoch_end(self, trainer, epoch, logs):
            pass

        def state_dict(self):
            return {'n': 1}

        def load_state_dict(self, state):
            if self.refuses:
                raise ValueError('Picky: not mine')

    path = tmp_path / 'c.npz'
    x, t = spiral_like()
    adam_trainer().fit(
        DataLoader((x, t), 10), 2, progress=False, callbacks=[Losses(), Picky(), Checkpoint(path)]
    )
    losses = Losses()
    losses.seen.append('mine before')
    with pytest.raises(ValueError, match='the callback Picky refused its state'):
        started_trainer().fit(
            DataLoader((x, t), 10),
            4,
            progress=False,
            callbacks=[losses, Picky(refuses=True), Checkpoint(path)],
        )
    assert losses.seen == ['mine before']


# --------------------------------------------------------------------------------------
# The checks of the layers themselves (BatchNorm's running variance)
# --------------------------------------------------------------------------------------
class NormNet(dezero.Model):
    def __init__(self):
        super().__init__()
        self.l0 = dezero.layers.Linear(4)
        self.bn = dezero.layers.BatchNorm()
        self.l1 = dezero.layers.Linear(3)

    def forward(self, x):
        return self.l1(F.relu(self.bn(self.l0(x))))


def norm_checkpoint(tmp_path, arrays_edit):
    """A checkpoint of NormNet after 2 epochs, its arrays edited by ``arrays_edit``."""
    np.random.seed(0)
    x, t = spiral_like()
    trainer = Trainer(NormNet(), Adam(alpha=0.01))
    trainer.fit(
        DataLoader((x, t), 10), 2, progress=False, callbacks=[Checkpoint(tmp_path / 'c.npz')]
    )
    return edited(tmp_path / 'c.npz', arrays_edit=arrays_edit)


def test_a_checkpoint_with_a_negative_running_variance_is_refused_by_name(tmp_path):
    # load_weights refused it, but Checkpoint loaded it, and test mode gave NaN
    def negative(arrays):
        arrays['model/bn/avg_var'] = arrays['model/bn/avg_var'].copy()
        arrays['model/bn/avg_var'][1] = -0.5

    path = norm_checkpoint(tmp_path, negative)
    saved = path.read_bytes()
    np.random.seed(1)
    x, t = spiral_like()
    trainer = Trainer(NormNet(), Adam(alpha=0.01))
    trainer.fit(DataLoader((x, t), 10), 1, progress=False)
    before = everything(trainer)
    with pytest.raises(
        ValueError,
        match=r'^Checkpoint: .*c\.npz holds 1 negative or NaN value\(s\), such as -0\.5, for '
        r"the parameter 'bn/avg_var', the running variance of a BatchNorm",
    ):
        trainer.fit(DataLoader((x, t), 10), 4, progress=False, callbacks=[Checkpoint(path)])
    assert_unchanged(before, everything(trainer))
    assert path.read_bytes() == saved


def test_a_lazy_batch_norm_resumes_with_its_four_arrays_in_gammas_dtype(tmp_path):
    # Checkpoint gave a BatchNorm not called yet avg_mean in float64 beside a float32 gamma
    def float64_statistics(arrays):
        for name in ('avg_mean', 'avg_var'):
            arrays[f'model/bn/{name}'] = arrays[f'model/bn/{name}'].astype(np.float64)

    path = norm_checkpoint(tmp_path, float64_statistics)
    x, t = spiral_like()
    trainer = Trainer(NormNet(), Adam(alpha=0.01))
    trainer.fit(DataLoader((x, t), 10), 2, progress=False, callbacks=[Checkpoint(path)])
    bn = trainer.model.bn
    assert [p.data.dtype for p in (bn.avg_mean, bn.avg_var, bn.gamma, bn.beta)] == [np.float32] * 4
    with np.load(path) as f:
        np.testing.assert_array_equal(bn.avg_var.data, f['model/bn/avg_var'].astype(np.float32))


def test_an_optimizer_of_ones_own_as_in_the_book_resumes_bit_for_bit(tmp_path):
    # its velocities and momentum were not in the checkpoint: the resumed run
    # restarted them from 0 and the default, and silently went elsewhere
    def run(epochs, path, momentum=0.5):
        np.random.seed(0)
        model = MLP((4, 3))
        trainer = Trainer(model, OwnMomentumSGD(0.05, momentum), F.mean_squared_error, {})
        trainer.fit(batches(3), epochs, progress=False, callbacks=[Checkpoint(path)])
        return trainer

    whole = run(4, tmp_path / 'whole.npz')
    run(2, tmp_path / 'cut.npz')
    resumed = run(4, tmp_path / 'cut.npz', momentum=0.9)  # the file's 0.5 counts
    assert resumed.optimizer.momentum == 0.5
    assert sorted(resumed.optimizer.vs) == sorted(id(p) for p in resumed.model.params())
    for (path, a), b in zip(params_of(whole).items(), params_of(resumed).values()):
        np.testing.assert_array_equal(b, a, err_msg=path)


# --------------------------------------------------------------------------------------
# The settings of the callbacks that watch a figure
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('kind', [EarlyStopping, BestWeights])
@pytest.mark.parametrize(
    'given, message',
    [
        ({'monitor': 'acc'}, "monitor='loss'; this {} has monitor='acc'"),
        ({'mode': 'max'}, "mode='min'; this {} has mode='max'"),
        ({'min_delta': 0.5}, 'min_delta=0.0; this {} has min_delta=0.5'),
    ],
)
def test_callbacks_resumed_with_other_settings_are_refused_and_change_nothing(
    tmp_path, kind, given, message
):
    # a resumed EarlyStopping('acc') kept the best loss as its best accuracy, and a
    # BestWeights the weights of that epoch
    def make(**settings):
        settings = {'monitor': 'loss', **settings}
        if kind is BestWeights:
            return BestWeights(tmp_path / 'best.npz', **settings)
        return EarlyStopping(**settings)

    x, t = spiral_like()
    np.random.seed(0)
    path = tmp_path / 'c.npz'
    adam_trainer().fit(
        DataLoader((x, t), 10), 1, progress=False, callbacks=[make(), Checkpoint(path)]
    )
    saved = path.read_bytes()
    trainer = started_trainer()
    callback = make(**given)
    before = everything(trainer)
    name = kind.__name__
    with pytest.raises(
        ValueError,
        match=rf'^Checkpoint: the {name} state in .*c\.npz was saved with '
        + re.escape(message.format(name)),
    ):
        trainer.fit(
            DataLoader((x, t), 10), 3, progress=False, callbacks=[callback, Checkpoint(path)]
        )
    assert_unchanged(before, everything(trainer))
    assert path.read_bytes() == saved
    assert callback.best is None


@pytest.mark.parametrize('kind', [EarlyStopping, BestWeights])
def test_callbacks_whose_settings_are_str_subclasses_resume(tmp_path, kind):
    # the settings come back from the file as plain strs: an enum member or a np.str_
    # was refused as another setting
    class Figure(str, enum.Enum):
        LOSS = 'loss'

    def make(monitor, epochs):
        settings = {'monitor': monitor, 'mode': np.str_('min') if epochs < 3 else np.array('min')}
        if kind is BestWeights:
            return BestWeights(tmp_path / 'best.npz', **settings)
        return EarlyStopping(**settings)

    x, t = spiral_like()
    path = tmp_path / 'c.npz'
    for monitor, epochs in ((Figure.LOSS, 1), (np.str_('loss'), 2), (Figure.LOSS, 3)):
        np.random.seed(0)
        callback = make(monitor, epochs)
        adam_trainer().fit(
            DataLoader((x, t), 10), epochs, progress=False, callbacks=[callback, Checkpoint(path)]
        )
        assert callback.best_epoch is not None
    assert checkpoint_meta(path)['epoch'] == 3


def test_a_checkpoint_saved_without_the_callbacks_settings_resumes_with_their_own(tmp_path):
    run = in_process()['run']
    whole, whole_history = run(str(tmp_path), 'whole', 4)
    run(str(tmp_path), 'cut', 2)

    def without_settings(meta):
        for _, state in meta['callbacks']:
            del state['settings']

    edited(tmp_path / 'cut.ckpt.npz', without_settings)
    resumed, history = run(str(tmp_path), 'cut', 4)
    assert history == whole_history
    states = [state for _, state in checkpoint_meta(tmp_path / 'cut.ckpt.npz')['callbacks']]
    assert [state['settings']['monitor'] for state in states] == ['val_loss', 'val_loss']


# --------------------------------------------------------------------------------------
# An optimizer that trains a bigger model than the trainer's
# --------------------------------------------------------------------------------------
class Headed(dezero.Model):
    """A body, the model given to the Trainer, and a head made at its first call that
    the loss applies."""

    def __init__(self):
        super().__init__()
        self.body = MLP((5, 6))
        self.head = dezero.layers.Linear(2)


def headed_run(path, epochs, train_the_head=True):
    np.random.seed(1)
    whole = Headed()
    optimizer = Adam(alpha=0.01).setup(whole if train_the_head else whole.body)

    def loss(y, t):
        return F.softmax_cross_entropy(whole.head(y), t)

    x, t = spiral_like()
    trainer = Trainer(whole.body, optimizer, loss=loss, metrics={})
    history = trainer.fit(
        DataLoader((x, t % 2), 10), epochs, progress=False, callbacks=[Checkpoint(path)]
    )
    return whole, history


def test_a_bigger_model_that_the_optimizer_trains_resumes_bit_for_bit(tmp_path):
    # the head started again from new weights (with the Adam moments of the old
    # ones); a head not called yet was refused as having no data
    whole, history = headed_run(tmp_path / 'whole.npz', 4)
    headed_run(tmp_path / 'cut.npz', 2)
    resumed, resumed_history = headed_run(tmp_path / 'cut.npz', 4)
    assert resumed_history == history
    for (path, a), (_, b) in zip(whole.named_params(), resumed.named_params()):
        np.testing.assert_array_equal(b.data, a.data, err_msg=path)
    with np.load(tmp_path / 'cut.npz') as f:
        files = set(f.files)
    assert {'model/l0/W', 'target/head/W', 'target/head/b', 'optimizer/head/W/m'} <= files
    assert not any(key.startswith('target/body') for key in files)  # once, as model/
    assert checkpoint_meta(tmp_path / 'cut.npz')['target_parameters'] == ['head/W', 'head/b']


def test_a_checkpoint_without_the_weights_of_the_bigger_model_is_refused(tmp_path):
    path = tmp_path / 'c.npz'
    headed_run(path, 2)

    def without_target(arrays):
        for key in [key for key in arrays if key.startswith('target/')]:
            del arrays[key]

    edited(path, lambda meta: meta.pop('target_parameters'), without_target)
    with pytest.raises(
        ValueError,
        match=r'^Checkpoint: .*c\.npz holds no weights for the parameters that the optimizer '
        r"trains besides the model \('head/W', 'head/b'\), so they would start from",
    ):
        headed_run(path, 4)


def test_a_checkpoint_of_a_bigger_model_resumed_with_the_model_alone_is_refused(tmp_path):
    path = tmp_path / 'c.npz'
    headed_run(path, 2)
    saved = path.read_bytes()
    with pytest.raises(
        ValueError,
        match=r"^Checkpoint: .*c\.npz was saved with an optimizer that trains 'head/W', "
        r"'head/b' besides the model; this one trains nothing besides it",
    ):
        headed_run(path, 4, train_the_head=False)
    assert path.read_bytes() == saved


# --------------------------------------------------------------------------------------
# States that name epochs never run, arrays claimed far larger than the fit's, complex
# parameters
# --------------------------------------------------------------------------------------
def test_a_best_epoch_past_the_saved_epoch_is_refused_naming_the_checkpoint(tmp_path):
    # BestWeights went on from epoch 99 of a run saved after epoch 2
    np.random.seed(0)
    best, ckpt = tmp_path / 'best.npz', tmp_path / 'c.npz'
    callbacks = [BestWeights(best, monitor='loss'), Checkpoint(ckpt)]
    scale_trainer().fit(batches(), 2, progress=False, callbacks=callbacks)
    edited(ckpt, set_entry('callbacks', 0, 1, 'best_epoch', value=99))
    saved = ckpt.read_bytes()
    trainer = scale_trainer()
    watcher = BestWeights(best, monitor='loss')
    with pytest.raises(
        ValueError,
        match=r'^Checkpoint: the BestWeights state in .*c\.npz holds best_epoch=99, past '
        r'epoch 2, the last that the checkpoint saved$',
    ):
        trainer.fit(batches(), 4, progress=False, callbacks=[watcher, Checkpoint(ckpt)])
    assert trainer.epoch == 0 and watcher.best_epoch is None
    assert ckpt.read_bytes() == saved


def with_a_huge_entry(path, key):
    """Rewrite the checkpoint ``path`` with its entry ``key`` replaced by one whose
    header claims 2**25 float32 (128 MB), zeros that deflate to about 0.5 MB."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files if k != key}
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(name + '.npy', 'w') as entry:
                np.lib.format.write_array(entry, array)
        with archive.open(key + '.npy', 'w', force_zip64=True) as entry:
            header = {'descr': '<f4', 'fortran_order': False, 'shape': (1 << 25,)}
            np.lib.format.write_array_header_1_0(entry, header)
            for _ in range(128):
                entry.write(bytes(1 << 20))
    return path


@pytest.mark.parametrize('key', ['optimizer/l0/W/m', 'random/keys', 'model/l1/b'])
def test_an_entry_larger_than_any_array_of_the_fit_is_refused_before_it_is_read(tmp_path, key):
    # the whole file was read (and 128 MB allocated) before anything was checked
    path = with_a_huge_entry(saved_checkpoint(tmp_path), key)
    assert path.stat().st_size < 1 << 20
    assert_refused_before_reading(
        started_trainer(),
        path,
        rf"^Checkpoint: the entry '{key}' of .*c\.npz claims 134217728 bytes "
        r'\(shape \(33554432,\), dtype float32\), more than any array read from it',
    )


def assert_refused_before_reading(trainer, path, match):
    """Check that resuming ``trainer`` from the checkpoint ``path`` raises ValueError
    matching ``match`` with little memory taken (nothing decompressed) and the
    trainer unchanged."""
    before = everything(trainer)
    x, t = spiral_like()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            trainer.fit(DataLoader((x, t), 10), 4, progress=False, callbacks=[Checkpoint(path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 22
    assert_unchanged(before, everything(trainer))


@pytest.mark.parametrize('started', [True, False])
def test_a_checkpoint_text_claiming_huge_text_is_refused_before_it_is_read(tmp_path, started):
    # the JSON text entry had no bound: the whole file was read (and 128 MB allocated)
    path = with_a_huge_entry(saved_checkpoint(tmp_path), '__checkpoint__')
    assert path.stat().st_size < 1 << 20
    assert_refused_before_reading(
        started_trainer() if started else adam_trainer(),  # its layers not called yet
        path,
        r"^Checkpoint: the entry '__checkpoint__' of .*c\.npz claims 134217728 bytes "
        r'\(shape \(33554432,\), dtype float32\), more than the JSON text of settings '
        r'that it holds may take \(at most 67108864 bytes\); the file is damaged$',
    )


def test_a_checkpoint_whose_text_could_not_be_read_back_is_refused_when_written(
    tmp_path, monkeypatch
):
    # a callback's large state was written, and then refused as damaged on resuming
    monkeypatch.setattr(dezero.trainer, 'MAX_TEXT_BYTES', 40_000)  # 10,000 characters

    class Log:
        def __init__(self):
            self.log = ''

        def on_epoch_end(self, trainer, *args, **kwargs):
            self.log += 'x' * 20_000

        def state_dict(self):
            return {'log': self.log}

        def load_state_dict(self, state):
            self.log = state['log']

    path = tmp_path / 'c.npz'
    x, t = spiral_like()
    with pytest.raises(ValueError) as info:
        adam_trainer().fit(
            DataLoader((x, t), 10), 2, progress=False, callbacks=[Log(), Checkpoint(path)]
        )
    message = str(info.value)
    assert message.startswith(f'Checkpoint: cannot write {path}: its text would take ')
    assert 'the largest part is the state of Log: keep less in it' in message
    assert not path.exists()


class Filtered(dezero.Model):
    """A model holding a complex Parameter that it never trains."""

    def __init__(self):
        super().__init__()
        self.l0 = dezero.layers.Linear(3)
        self.filt = dezero.Parameter(np.array([1 + 0j, 0.5j]), name='filt')

    def forward(self, x):
        return self.l0(x)


def test_a_model_with_a_complex_parameter_resumes(tmp_path):
    # every epoch was saved, and no resume could read the file: "has dtype complex128;
    # expected real numbers"
    x, t = spiral_like()
    path = tmp_path / 'c.npz'
    for epochs in (1, 2):
        np.random.seed(0)
        model = Filtered()
        checkpoint = Checkpoint(path)
        Trainer(model, SGD(0.1)).fit(
            DataLoader((x, t), 10), epochs, progress=False, callbacks=[checkpoint]
        )
    assert checkpoint.resumed_epoch == 1
    assert model.filt.data.dtype == np.complex128 and model.filt.data.tolist() == [1, 0.5j]


class FrozenLinear(dezero.layers.Linear):
    """A Linear frozen the book's way: its params() gives nothing to train."""

    def params(self):
        return iter(())


class WithAFrozenBody(dezero.models.Model):
    def __init__(self):
        super().__init__()
        self.body = FrozenLinear(200, in_size=200)  # 40,000 values, more than any other
        self.head = dezero.layers.Linear(2, in_size=200)

    def forward(self, x):
        return self.head(self.body(x))


def test_a_checkpoint_of_a_model_with_a_large_frozen_layer_resumes(tmp_path):
    # the size bound came from params(), which leaves frozen layers out, though the
    # checkpoint saves them: the file written was refused as damaged on resuming
    rng = np.random.default_rng(0)
    x, t = rng.random((20, 200)).astype(np.float32), rng.integers(0, 2, 20)
    path = tmp_path / 'run.npz'
    for epochs in (1, 2):
        trainer = Trainer(WithAFrozenBody(), SGD(0.1), F.softmax_cross_entropy)
        history = trainer.fit(
            DataLoader((x, t), 10), epochs, progress=False, callbacks=[Checkpoint(path)]
        )
        assert len(history['loss']) == epochs

"""dezero.distributed: data-parallel training over MPI.

The checks that need several processes run in one ``mpiexec -n 2`` job of this very
file (``python tests/test_distributed.py OUT_DIR``; see :func:`worker`): each rank
writes what it saw to ``OUT_DIR/rank<r>.json`` and the tests compare the two.  They are
skipped when mpi4py or its ``mpiexec`` is missing.  The rest runs in one process."""

import contextlib
import copy
import importlib.util
import io
import json
import os
import pathlib
import pickle
import re
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import dezero.functions as F
from dezero import distributed
from dezero.dataloaders import DataLoader
from dezero.core import Parameter, Variable
from dezero.layers import BatchNorm, Conv2d, Layer, Linear
from dezero.models import MLP, Sequential
from dezero.optimizers import SGD, Adam, AdamW, ClipGrad, MomentumSGD, Optimizer, WeightDecay
from dezero.schedules import StepLR
from dezero.trainer import BestWeights, Checkpoint, EarlyStopping, Trainer

ROOT = pathlib.Path(__file__).resolve().parents[1]
N_SAMPLES, N_IN, N_OUT = 24, 5, 3


def data(n=N_SAMPLES, seed=0):
    """A small classification set: float32 inputs, int labels."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, N_IN)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)


def weights(model):
    return [p.data.copy() for p in model.params()]


# --------------------------------------------------------------------------------------
# The MPI job: every check that needs two processes
# --------------------------------------------------------------------------------------
def _train(model, optimizer, loader, steps):
    done = 0
    while done < steps:
        for x, t in loader:
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            done += 1
            if done == steps:
                break


def _check_same_weights(comm, report):
    """N processes on 1/N of each batch against one process on the whole batch."""
    x, t = data()
    makers = {
        'sgd': lambda: SGD(lr=0.5),
        'momentum_clip': lambda: MomentumSGD(lr=0.1),
        'adam': lambda: Adam(alpha=0.01),
        'adamw': lambda: AdamW(lr=0.01, weight_decay=0.1),
    }
    for name, make in makers.items():
        np.random.seed(100 + comm.rank)  # different weights everywhere until broadcast
        model = MLP((7, N_OUT))
        if comm.rank == 0:  # only the root creates its lazy weights before the broadcast
            model(x[:1])
        distributed.broadcast_parameters(model)
        start = weights(model)
        optimizer = distributed.DistributedOptimizer(make()).setup(model)
        if name == 'momentum_clip':
            optimizer.add_hook(ClipGrad(0.5))
        schedule = StepLR(optimizer, step_size=1, gamma=0.5) if name == 'adam' else None
        loader = DataLoader((x, t), 8, seed=3, shard=comm)
        for _ in range(2):
            _train(model, optimizer, loader, 3)
            if schedule is not None:
                schedule.step()

        reference = MLP((7, N_OUT))
        reference(x[:1])
        for p, w in zip(reference.params(), start):
            p.data[...] = w
        single = make().setup(reference)
        if name == 'momentum_clip':
            single.add_hook(ClipGrad(0.5))
        single_schedule = StepLR(single, step_size=1, gamma=0.5) if name == 'adam' else None
        single_loader = DataLoader((x, t), 8, seed=3)
        for _ in range(2):
            _train(reference, single, single_loader, 3)
            if single_schedule is not None:
                single_schedule.step()
        report[f'same_{name}'] = max(
            float(np.abs(a - b).max()) for a, b in zip(weights(model), weights(reference))
        )
        report[f'moved_{name}'] = max(
            float(np.abs(a - b).max()) for a, b in zip(weights(model), start)
        )
        report[f'weights_{name}'] = [w.ravel()[:5].tolist() for w in weights(model)]
        report[f'lr_{name}'] = optimizer.lr


def _check_gradient_none(comm, report):
    """A gradient missing in one process counts as zeros; missing everywhere stays None."""
    model = MLP((2,))
    model(np.ones((1, 2), np.float32))
    distributed.broadcast_parameters(model)
    optimizer = distributed.DistributedOptimizer(SGD(lr=1.0)).setup(model)
    W, b = model.l0.W, model.l0.b
    before = W.data.copy()
    model.cleargrads()
    if comm.rank == 0:
        W.grad = distributed.Variable(np.full(W.shape, 2.0, np.float32))
    optimizer.update()
    report['none_W_step'] = float((before - W.data).mean())  # (2 + 0) / 2 = 1
    report['none_b_grad'] = b.grad is None


def _check_sharding(comm, report):
    ids = np.arange(15)
    loader = DataLoader((ids[:, None].astype(np.float32), ids), 6, shard=comm)
    epochs = []
    for _ in range(2):
        epochs.append(
            {
                'order': loader.index.tolist(),
                'batches': [t.tolist() for _, t in loader],
            }
        )
    report['sharding'] = epochs


def _check_trainer(comm, report, out):
    x, t = data(30, seed=1)
    vx, vt = data(15, seed=2)
    np.random.seed(7)
    model = MLP((6, N_OUT))
    model(x[:1])
    distributed.broadcast_parameters(model)
    start = weights(model)

    class StopOnRankOne:  # a callback that asks to stop in one process only
        def on_epoch_end(self, trainer, epoch, logs):
            if comm.rank == 1 and epoch == 3:
                trainer.stop_training = True

    trainer = Trainer(model, distributed.DistributedOptimizer(SGD(lr=0.2)))
    printed = io.StringIO()
    best = out / f'best_rank{comm.rank}.npz'
    checkpoint = out / f'checkpoint_rank{comm.rank}.npz'
    with contextlib.redirect_stdout(printed):
        history = trainer.fit(
            DataLoader((x, t), 7, seed=5, shard=comm),  # shares of 3 and 4, last 1 + 1
            5,
            val_loader=DataLoader((vx, vt), 4, shuffle=False, shard=comm),  # shares of 2, 1..
            callbacks=[
                EarlyStopping('val_loss', patience=50),
                StopOnRankOne(),
                BestWeights(best, restore=False),
                Checkpoint(checkpoint),
            ],
            progress=True,
        )
    report['trainer_printed'] = printed.getvalue()
    report['trainer_history'] = history
    report['trainer_files'] = sorted(p.name for p in out.iterdir() if p.suffix == '.npz')
    report['trainer_weights'] = [w.ravel()[:5].tolist() for w in weights(model)]
    report['trainer_eval'] = trainer.evaluate(DataLoader((vx, vt), 4, shuffle=False, shard=comm))

    # the same run in one process, on whole batches
    reference = MLP((6, N_OUT))
    reference(x[:1])
    for p, w in zip(reference.params(), start):
        p.data[...] = w
    single = Trainer(reference, SGD(lr=0.2))
    single_history = single.fit(
        DataLoader((x, t), 7, seed=5),
        3,
        val_loader=DataLoader((vx, vt), 4, shuffle=False),
        progress=False,
    )
    report['single_history'] = single_history
    report['single_eval'] = single.evaluate(DataLoader((vx, vt), 4, shuffle=False))
    report['trainer_vs_single'] = max(
        float(np.abs(a - b).max()) for a, b in zip(weights(model), weights(reference))
    )


def _check_mismatches(comm, report):
    """Models of different shapes, or weights never broadcast: an error everywhere."""
    np.random.seed(comm.rank)
    model = MLP((4 + comm.rank, N_OUT))
    x, t = data(4)
    model(x)
    try:
        distributed.broadcast_parameters(model)
    except ValueError as e:
        report['broadcast_mismatch'] = str(e)
    optimizer = distributed.DistributedOptimizer(SGD()).setup(model)
    loss = F.softmax_cross_entropy(model(x), t)
    loss.backward()
    try:
        optimizer.update()
    except ValueError as e:
        report['update_mismatch'] = str(e)

    model = MLP((4, N_OUT))
    model(x)  # rank-dependent weights: the seed differs
    optimizer = distributed.DistributedOptimizer(SGD()).setup(model)
    F.softmax_cross_entropy(model(x), t).backward()
    try:
        optimizer.update()
    except RuntimeError as e:
        report['not_broadcast'] = str(e)


def _check_lazy_layers_that_differ(comm, report):
    """Layers whose weights are all lazy and that only the root has called: their
    settings are compared, as their weights' shapes cannot be."""
    one = comm.rank == 1
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
    makers = {
        'out_channels': lambda: Conv2d(8 if one else 4, kernel_size=3, nobias=True),
        'dtype': lambda: Linear(3, nobias=True, dtype=np.float32 if one else np.float64),
        'stride': lambda: Sequential(Conv2d(4, 3, stride=2 if one else 1, nobias=True)),
    }
    for case, make in makers.items():
        layer = make()
        if comm.rank == 0:
            layer(x if case != 'dtype' else x.reshape(2, 25))
        try:
            distributed.broadcast_parameters(layer)
            report[f'lazy_{case}'] = 'broadcast'
        except ValueError as e:
            report[f'lazy_{case}'] = str(e)
        report[f'lazy_{case}_W'] = next(layer.params()).data is None
    np.random.seed(comm.rank)
    model = Sequential(Linear(4, nobias=True), Linear(3, nobias=True))
    if comm.rank == 0:
        model(x.reshape(2, 25))
    distributed.broadcast_parameters(model)  # the same settings: lazily created
    report['lazy_same'] = [(p.data.shape, str(p.data.dtype)) for p in model.params()]
    report['lazy_same_sum'] = float(sum(p.data.sum() for p in model.params()))


def _check_resume_with_dropout(comm, report, out):
    """A run with dropout on unequal shares, stopped after epoch 2 and resumed, against
    the same run never stopped: each process's random state must come back."""
    x, t = data()

    def run(path, epochs):
        np.random.seed(11)
        model = Sequential(Linear(8), F.relu, F.dropout, Linear(N_OUT))
        model(x[:1])
        distributed.broadcast_parameters(model)
        trainer = Trainer(model, distributed.DistributedOptimizer(Adam(alpha=0.01)))
        loader = DataLoader((x, t), 9, seed=2, shard=comm)  # shares of 4 and 5
        trainer.fit(loader, epochs, progress=False, callbacks=[Checkpoint(path)])
        return model

    straight = run(out / 'straight.npz', 4)
    run(out / 'resumed.npz', 2)
    resumed = run(out / 'resumed.npz', 4)
    report['dropout_resume'] = max(
        float(np.abs(a - b).max()) for a, b in zip(weights(straight), weights(resumed))
    )


def _check_resume_of_one_process(comm, report, out):
    """A checkpoint saved by one process, resumed by two: refused (both would go on
    with the one random state the file holds)."""
    x, t = data()
    path = out / 'one_process.npz'
    if comm.rank == 0:
        model = Sequential(Linear(N_OUT))
        Trainer(model, SGD(lr=0.1)).fit(
            DataLoader((x, t), 8, seed=1), 1, progress=False, callbacks=[Checkpoint(path)]
        )
    comm.allgather(None)  # the file is there before either process reads it
    model = Sequential(Linear(N_OUT))
    model(x[:1])
    distributed.broadcast_parameters(model)
    trainer = Trainer(model, distributed.DistributedOptimizer(SGD(lr=0.1)))
    try:
        trainer.fit(
            DataLoader((x, t), 8, seed=1, shard=comm),
            2,
            progress=False,
            callbacks=[Checkpoint(path)],
        )
        report['one_process_resume'] = 'accepted'
    except ValueError as e:
        report['one_process_resume'] = str(e)


def _check_resume_of_own_shares(comm, report, out):
    """Each process holds its own share of the data by hand, stopped after epoch 2 and
    resumed to 3, against the same run never stopped: each process's loaders must
    come back, not rank 0's.  ``'equal'``: shares of 20 shuffled by ``np.random``
    (seeded apart); ``'unequal'``: shares of 21 and 20 with generators of their own,
    and validation shares of 6 and 5."""
    x, t = data(41)
    v, vt = data(11, seed=1)
    r, n = comm.rank, comm.size

    def run(case, path, epochs):
        np.random.seed(11)
        model = Sequential(Linear(N_OUT))
        model(x[:1])
        distributed.broadcast_parameters(model)
        np.random.seed(50 + r)  # each process shuffles its share its own way
        trainer = Trainer(model, distributed.DistributedOptimizer(Adam(alpha=0.01)))
        if case == 'equal':
            loader, val_loader = DataLoader((x[r:40:n], t[r:40:n]), 4), None
        else:
            loader = DataLoader((x[r::n], t[r::n]), 7, seed=10 + r)
            val_loader = DataLoader((v[r::n], vt[r::n]), 4, shuffle=False)
        history = trainer.fit(
            loader, epochs, val_loader=val_loader, progress=False, callbacks=[Checkpoint(path)]
        )
        return model, history

    for case in ('equal', 'unequal'):
        try:
            straight, straight_history = run(case, out / f'own_{case}_straight.npz', 3)
            run(case, out / f'own_{case}.npz', 2)
            resumed, resumed_history = run(case, out / f'own_{case}.npz', 3)
            same = all(np.array_equal(a, b) for a, b in zip(weights(straight), weights(resumed)))
            report[f'own_shares_{case}'] = [same, straight_history == resumed_history]
        except ValueError as e:
            report[f'own_shares_{case}'] = str(e)


def _check_resume_of_one_loader_state(comm, report, out):
    """A checkpoint of two processes that holds one state per loader (as saved before
    each process's were kept) resumes with it in every process: sharded loaders,
    whose states are equal everywhere, go on as in the run never stopped."""
    x, t = data()

    def run(path, epochs):
        np.random.seed(11)
        model = Sequential(Linear(N_OUT))
        model(x[:1])
        distributed.broadcast_parameters(model)
        trainer = Trainer(model, distributed.DistributedOptimizer(Adam(alpha=0.01)))
        loader = DataLoader((x, t), 9, seed=2, shard=comm)
        trainer.fit(loader, epochs, progress=False, callbacks=[Checkpoint(path)])
        return model

    path = out / 'one_loader_state.npz'
    straight = run(out / 'one_loader_state_straight.npz', 3)
    run(path, 2)
    if comm.rank == 0:  # take out the loader states of rank 1
        with np.load(path) as saved:
            arrays = {k: v for k, v in saved.items() if not k.startswith('loaders/train/index1')}
        meta = json.loads(str(arrays['__checkpoint__']))
        assert meta.pop('loaders_of_ranks')
        arrays['__checkpoint__'] = np.array(json.dumps(meta))
        np.savez(path, **arrays)
    comm.allgather(None)  # the file is rewritten before either process reads it
    resumed = run(path, 3)
    report['one_loader_state'] = all(
        np.array_equal(a, b) for a, b in zip(weights(straight), weights(resumed))
    )


def _pickled(obj):
    return pickle.loads(pickle.dumps(obj))


def _check_batch_norm(comm, report):
    """A model with BatchNorm: each process's forward moves the running statistics on
    its own share; they are averaged at every update, and left out of the check that
    the weights agree."""
    x, t = data()
    np.random.seed(200 + comm.rank)
    model = Sequential(Linear(6), BatchNorm(), F.relu, Linear(N_OUT))
    model(x[:4])  # every process: lazy weights and statistics of its own
    distributed.broadcast_parameters(model)
    start = weights(model)
    optimizer = distributed.DistributedOptimizer(SGD(lr=0.1)).setup(model)
    _train(model, optimizer, DataLoader((x, t), 8, seed=3, shard=comm), 3)
    bn = model.l1
    report['bn_stats'] = [bn.avg_mean.data.tolist(), bn.avg_var.data.tolist()]
    report['bn_weights'] = [w.ravel()[:4].tolist() for w in weights(model)]
    report['bn_moved'] = max(float(np.abs(a - b).max()) for a, b in zip(weights(model), start))
    # a copy of both goes on averaging the copy's own statistics (it looked up the
    # original's by id), and pickled ones too
    for how, copier in (('deepcopy', copy.deepcopy), ('pickle', _pickled)):
        twin, twin_optimizer = copier((model, optimizer))
        _train(twin, twin_optimizer, DataLoader((x, t), 8, seed=4, shard=comm), 2)
        report[f'bn_stats_{how}'] = twin.l1.avg_mean.data.tolist()


class _SlottedScale:
    """A hook scaling the gradients, its setting in a slot."""

    __slots__ = ('rate',)

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, params):
        for p in params:
            p.grad.data *= self.rate


class _ArrayScale:
    """A hook scaling the gradients by the second of its array of rates."""

    def __init__(self, rates):
        self.rates = rates

    def __call__(self, params):
        for p in params:
            p.grad.data *= self.rates[1]


class _ArrayRateSGD(Optimizer):
    """SGD written as in the book, with its learning rate held in a 0-d array."""

    def __init__(self, lr):
        super().__init__()
        self.lr = lr

    def update_one(self, param):
        param.data -= self.lr * param.grad.data


def _check_optimizer_settings(comm, report):
    """Optimizers that differ between the processes: an error in every process at the
    update, naming what differs, instead of models that drift apart."""
    x, t = data(8)
    cases = {
        'lr': lambda: SGD(lr=0.1 * (1 + comm.rank)),
        'class': lambda: SGD(lr=0.1) if comm.rank == 0 else MomentumSGD(lr=0.1),
        'beta1': lambda: Adam(alpha=0.01, beta1=0.9 if comm.rank == 0 else 0.8),
        'hook': lambda: SGD(lr=0.1),
        'hook_setting': lambda: SGD(lr=0.1),
        'schedule': lambda: Adam(alpha=0.01),
        'slotted_hook': lambda: SGD(lr=0.1),
        'array_hook': lambda: SGD(lr=0.1),
        'array_lr': lambda: _ArrayRateSGD(np.array(0.1 * (1 + comm.rank))),
    }
    for name, make in cases.items():
        np.random.seed(0)
        model = MLP((4, N_OUT))
        model(x[:1])
        optimizer = distributed.DistributedOptimizer(make()).setup(model)
        if name == 'hook' and comm.rank == 0:
            optimizer.add_hook(ClipGrad(1.0))
        if name == 'hook_setting':
            optimizer.add_hook(WeightDecay(1e-4 * (1 + comm.rank)))
        if name == 'slotted_hook':
            optimizer.add_hook(_SlottedScale(1.0 + comm.rank))
        if name == 'array_hook':
            optimizer.add_hook(_ArrayScale(np.array([1.0, 1.0 + comm.rank])))
        schedule = StepLR(optimizer, step_size=1, gamma=0.5) if name == 'schedule' else None
        steps = 0
        try:
            for step in range(3):
                model.cleargrads()
                F.softmax_cross_entropy(model(x), t).backward()
                optimizer.update()
                steps += 1
                if name == 'schedule' and comm.rank == 1:
                    schedule.step()  # the learning rate changes on rank 1 only
            report[f'settings_{name}'] = 'trained'
        except ValueError as e:
            report[f'settings_{name}'] = str(e)
        report[f'settings_{name}_steps'] = steps


def _check_unequal_batch_counts(comm, report):
    """Data shared out by hand into shares of 5 and 4 samples, batches of 2: 3 batches
    on rank 0, 2 on rank 1.  The Trainer refuses them in every process (rank 1 used to
    go on to the epoch's figures while rank 0 waited in its third update).  Validation
    shares of different numbers of batches are fine: evaluating has no update."""
    x, t = data(9)
    mine = (x[comm.rank :: comm.size], t[comm.rank :: comm.size])
    np.random.seed(0)
    model = MLP((4, N_OUT))
    model(x[:1])
    trainer = Trainer(model, distributed.DistributedOptimizer(SGD(lr=0.1)))
    try:
        trainer.fit(DataLoader(mine, 2, seed=0), 2, progress=False)
        report['unequal_batches'] = 'trained'
    except ValueError as e:
        report['unequal_batches'] = str(e)
    vx, vt = data(9, seed=4)
    history = trainer.fit(
        DataLoader((x, t), 4, seed=0, shard=comm),
        1,
        val_loader=DataLoader((vx[comm.rank :: 2], vt[comm.rank :: 2]), 2, shuffle=False),
        progress=False,
    )
    whole = Trainer(model, SGD(lr=0.1)).evaluate(DataLoader((vx, vt), 9, shuffle=False))
    report['unequal_val'] = [history['val_loss'][-1], whole['loss']]


def recipe_loop():
    """The loop of one's own in the module's docstring, as code."""
    block = distributed.__doc__.split('::\n\n')[2].split('\n\n')[0]
    assert block.lstrip().startswith('for x, t in loader:'), block
    return compile(textwrap.dedent(block), 'the docstring of dezero.distributed', 'exec')


def _check_recipe(comm, report):
    """The docstring's loop, on shares of 3 and 4 and an empty one (15 samples in
    batches of 7: 7, 7, 1), trains as one process on the whole batches."""
    x, t = data(15)
    np.random.seed(0)
    model = MLP((5, N_OUT))
    model(x[:1])
    start = weights(model)
    optimizer = distributed.DistributedOptimizer(MomentumSGD(lr=0.2)).setup(model)
    loader = DataLoader((x, t), 7, seed=1, shard=comm)
    for _ in range(2):
        exec(recipe_loop(), {'F': F, 'loader': loader, 'model': model, 'optimizer': optimizer})
    report['recipe_shares'] = [len(b) for _, b in loader]
    reference = MLP((5, N_OUT))
    reference(x[:1])
    for p, w in zip(reference.params(), start):
        p.data[...] = w
    single = MomentumSGD(lr=0.2).setup(reference)
    _train(reference, single, DataLoader((x, t), 7, seed=1), 6)
    report['recipe_vs_single'] = max(
        float(np.abs(a - b).max()) for a, b in zip(weights(model), weights(reference))
    )


def _check_peeked_loader(comm, report):
    """Rank 0 peeks a batch with next(loader) to create lazy weights: every process
    resets its loader at the first epoch, so all keep one order (rank 0 alone used to
    reset, drawing one permutation more, and the shares overlapped for the run)."""
    x, t = data(20)
    np.random.seed(0)
    model = MLP((4, N_OUT))
    loader = DataLoader((x, t), 5, seed=1, shard=comm)
    if comm.rank == 0:
        model(next(loader)[0])
    distributed.broadcast_parameters(model)
    seen = []
    original = loader._batch_index

    def spy(i):
        index = original(i)
        seen.extend(index.tolist())
        return index

    loader._batch_index = spy
    Trainer(model, distributed.DistributedOptimizer(SGD(lr=0.1))).fit(loader, 2, progress=False)
    report['peeked_seen'] = seen


def _check_shard_mismatch(comm, report):
    """Shards that are not (rank, size) of the run, or seeds that differ, raise in
    every process instead of training on overlapping shares."""
    x, t = data(20)
    cases = {
        'size4': dict(seed=0, shard=(comm.rank, 4)),
        'rank0': dict(seed=0, shard=(0, 2)),
        'seedrank': dict(seed=comm.rank, shard=comm),
    }
    for name, options in cases.items():
        np.random.seed(0)
        model = MLP((4, N_OUT))
        model(x[:1])
        trainer = Trainer(model, distributed.DistributedOptimizer(SGD(lr=0.1)))
        try:
            trainer.fit(DataLoader((x, t), 5, **options), 1, progress=False)
            report[f'shard_{name}'] = 'trained'
        except ValueError as e:
            report[f'shard_{name}'] = str(e)


def _check_empty_batch_everywhere(comm, report):
    """An empty batch on every process makes no step (Adam's t stays), as the
    Trainer of one process skips it."""
    x, t = data(12)
    batches = [(x[:6], t[:6]), (x[:0], t[:0]), (x[6:], t[6:])]
    np.random.seed(0)
    model = MLP((4, N_OUT))
    model(x[:1])
    optimizer = distributed.DistributedOptimizer(Adam(alpha=0.01))
    Trainer(model, optimizer).fit(batches, 2, progress=False)
    report['empty_everywhere_t'] = optimizer.optimizer.t


def _check_lazy_layer_later(comm, report):
    """A lazy layer first used after the first update gets each process's own random
    weights: the weights are compared again then, and every process raises."""
    np.random.seed(comm.rank)
    body, head = Linear(4, in_size=3), Linear(2)
    model = Sequential(body, head)
    distributed.broadcast_parameters(model)
    optimizer = distributed.DistributedOptimizer(SGD(lr=0.01)).setup(model)
    x = np.ones((2, 3), np.float32)
    try:
        for step in range(4):
            model.cleargrads()
            (F.sum(body(x)) if step < 2 else F.sum(head(body(x)))).backward()
            optimizer.update(batch_size=2)
        report['lazy_later'] = 'trained'
    except RuntimeError as e:
        report['lazy_later'] = str(e)


def _check_one_rank_refuses_checkpoint(comm, report, out):
    """A checkpoint that only rank 1 refuses (its model has an extra layer) raises in
    both processes instead of leaving rank 0 waiting."""
    x, t = data(10)
    path = out / 'refused.npz'

    def run(epochs, extra):
        np.random.seed(0)
        layers = [Linear(4, in_size=N_IN), Linear(N_OUT, in_size=4)]
        if extra:
            layers.append(Linear(N_OUT, in_size=N_OUT))
        model = Sequential(*layers)
        trainer = Trainer(model, distributed.DistributedOptimizer(SGD(lr=0.1)))
        loader = DataLoader((x, t), 5, seed=3, shard=comm)
        trainer.fit(loader, epochs, progress=False, callbacks=[Checkpoint(path)])

    run(1, False)
    try:
        run(2, comm.rank == 1)
        report['one_refuses'] = 'trained'
    except (ValueError, RuntimeError) as e:
        report['one_refuses'] = f'{type(e).__name__}: {e}'


def _check_evaluate_on_rank_0_alone(comm, report):
    """Rank 0 evaluates a whole, unsharded test set by itself (it used to wait in the
    reduction of the figures for the others)."""
    x, t = data(10)
    np.random.seed(0)
    model = MLP((4, N_OUT))
    model(x[:1])
    trainer = Trainer(model, distributed.DistributedOptimizer(SGD(lr=0.1)))
    if comm.rank == 0:
        alone = trainer.evaluate(DataLoader((x, t), 4, shuffle=False))
        whole = Trainer(model, SGD(lr=0.1)).evaluate(DataLoader((x, t), 10, shuffle=False))
        report['eval_alone'] = [alone['loss'], whole['loss']]
    comm.bcast(0)


def worker(out):
    """The body of the mpiexec job: run every check, write ``rank<r>.json``."""
    out = pathlib.Path(out)
    comm = distributed.init()
    report = {'rank': comm.rank, 'size': comm.size}
    _check_same_weights(comm, report)
    _check_gradient_none(comm, report)
    _check_sharding(comm, report)
    _check_trainer(comm, report, out)
    _check_mismatches(comm, report)
    _check_lazy_layers_that_differ(comm, report)
    _check_batch_norm(comm, report)
    _check_resume_with_dropout(comm, report, out)
    _check_resume_of_one_process(comm, report, out)
    _check_resume_of_own_shares(comm, report, out)
    _check_resume_of_one_loader_state(comm, report, out)
    _check_optimizer_settings(comm, report)
    _check_unequal_batch_counts(comm, report)
    _check_recipe(comm, report)
    _check_peeked_loader(comm, report)
    _check_shard_mismatch(comm, report)
    _check_empty_batch_everywhere(comm, report)
    _check_lazy_layer_later(comm, report)
    _check_one_rank_refuses_checkpoint(comm, report, out)
    _check_evaluate_on_rank_0_alone(comm, report)
    (out / f'rank{comm.rank}.json').write_text(json.dumps(report))


# --------------------------------------------------------------------------------------
# Running the job
# --------------------------------------------------------------------------------------
def mpiexec_command():
    """The mpiexec installed beside this interpreter (that of mpi4py's MPI), else the
    one on PATH; None when there is none or mpi4py is missing."""
    if importlib.util.find_spec('mpi4py') is None:
        return None
    beside = pathlib.Path(sys.executable).parent / 'mpiexec'
    return str(beside) if beside.exists() else shutil.which('mpiexec')


needs_mpi = pytest.mark.skipif(
    mpiexec_command() is None,
    reason='needs mpi4py and its mpiexec (pip install mpi4py mpich)',
)


@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    out = tmp_path_factory.mktemp('mpi')
    env = dict(os.environ, OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT), env.get('PYTHONPATH', '')])
    done = subprocess.run(
        [mpiexec_command(), '-n', '2', sys.executable, __file__, str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    reports = [json.loads((out / f'rank{r}.json').read_text()) for r in range(2)]
    assert [r['rank'] for r in reports] == [0, 1] and reports[0]['size'] == 2
    return reports


@needs_mpi
@pytest.mark.parametrize('name', ['sgd', 'momentum_clip', 'adam', 'adamw'])
def test_two_processes_on_half_batches_end_as_one_on_whole_batches(ranks, name):
    for report in ranks:
        assert report[f'moved_{name}'] > 1e-3  # training did change the weights
        assert report[f'same_{name}'] < 1e-5, report[f'same_{name}']
    assert ranks[0][f'weights_{name}'] == ranks[1][f'weights_{name}']  # bit for bit
    assert ranks[0]['lr_adam'] == pytest.approx(0.01 * 0.5**2)  # the schedule stepped twice


@needs_mpi
def test_a_model_with_batch_norm_trains_with_its_statistics_averaged(ranks):
    # the weights check counted the running statistics, which each process's forward
    # had moved: every model with BatchNorm was refused at its first update
    for report in ranks:
        assert report['bn_moved'] > 1e-3
    assert ranks[0]['bn_stats'] == ranks[1]['bn_stats']  # averaged: equal everywhere
    for how in ('deepcopy', 'pickle'):
        assert ranks[0][f'bn_stats_{how}'] == ranks[1][f'bn_stats_{how}'], how
        assert ranks[0][f'bn_stats_{how}'] != ranks[0]['bn_stats']  # trained on
    assert ranks[0]['bn_weights'] == ranks[1]['bn_weights']


@needs_mpi
def test_a_checkpoint_of_one_process_is_refused_by_two(ranks):
    for report in ranks:
        assert (
            'one_process.npz was saved by 1 process; this run has 2'
            in (report['one_process_resume'])
        )


@needs_mpi
def test_a_resumed_run_with_dropout_on_unequal_shares_is_the_run_never_stopped(ranks):
    # only rank 0's random state was saved, and restored in every process
    for report in ranks:
        assert report['dropout_resume'] == 0.0


@needs_mpi
@pytest.mark.parametrize('case', ['equal', 'unequal'])
def test_a_resumed_run_on_shares_held_by_hand_is_the_run_never_stopped(ranks, case):
    # only rank 0's loader states were saved and loaded by every process: rank 1 went
    # on with rank 0's order and generator, and shares of 21 and 20 were refused
    for report in ranks:
        assert report[f'own_shares_{case}'] == [True, True]


@needs_mpi
def test_a_checkpoint_with_one_state_per_loader_resumes_every_process_with_it(ranks):
    for report in ranks:
        assert report['one_loader_state'] is True


@needs_mpi
def test_a_gradient_missing_in_one_process_counts_as_zeros(ranks):
    for report in ranks:
        assert report['none_W_step'] == pytest.approx(1.0)
        assert report['none_b_grad'] is True


@needs_mpi
def test_sharding_covers_every_sample_once_in_the_same_order(ranks):
    epochs0, epochs1 = ranks[0]['sharding'], ranks[1]['sharding']
    assert [e['order'] for e in epochs0] == [e['order'] for e in epochs1]
    assert epochs0[0]['order'] != epochs0[1]['order']  # a new permutation each epoch
    for e0, e1 in zip(epochs0, epochs1):
        assert len(e0['batches']) == len(e1['batches']) == 3
        seen = [i for b in e0['batches'] + e1['batches'] for i in b]
        assert sorted(seen) == list(range(15))
        for k, (b0, b1) in enumerate(zip(e0['batches'], e1['batches'])):
            assert b0 + b1 == e0['order'][6 * k : 6 * k + 6]  # rank 0 the first part
        assert [len(b) for b in e0['batches']] == [3, 3, 1]  # the last batch of 3: 1 + 2


@needs_mpi
def test_trainer_reduces_its_figures_and_writes_on_rank_0_only(ranks):
    r0, r1 = ranks
    assert r0['trainer_files'] == r1['trainer_files'] == ['best_rank0.npz', 'checkpoint_rank0.npz']
    assert 'epoch' in r0['trainer_printed'] and r1['trainer_printed'] == ''
    # rank 1 alone asked to stop at epoch 3: both stopped there
    assert len(r0['trainer_history']['loss']) == len(r1['trainer_history']['loss']) == 3
    assert r0['trainer_history'] == r1['trainer_history']
    for name, values in r0['single_history'].items():  # the one-process run's figures
        np.testing.assert_allclose(r0['trainer_history'][name], values, rtol=1e-5, atol=1e-6)
    for name, value in r0['single_eval'].items():
        assert r0['trainer_eval'][name] == pytest.approx(value, rel=1e-5)
        assert r1['trainer_eval'][name] == pytest.approx(value, rel=1e-5)
    assert r0['trainer_weights'] == r1['trainer_weights']


@needs_mpi
def test_trainer_with_unequal_shares_trains_as_one_process(ranks):
    """30 samples in batches of 7 split 3 + 4 (the last batch, of 2, 1 + 1): the
    gradient average is weighted by the shares' sizes."""
    for report in ranks:
        assert report['trainer_vs_single'] < 1e-5


@needs_mpi
def test_different_models_raise_in_every_process_instead_of_hanging(ranks):
    for report in ranks:
        assert 'broadcast_parameters' in report['broadcast_mismatch']
        assert 'l0/W' in report['broadcast_mismatch']
        assert 'DistributedOptimizer.update' in report['update_mismatch']
        assert 'rank 0: (5, 4) float32, rank 1: (5, 5) float32' in report['update_mismatch']
        assert 'parameter l0/W differs' in report['update_mismatch']
        assert 'broadcast_parameters' in report['not_broadcast']


@needs_mpi
@pytest.mark.parametrize(
    'case, expected',
    [
        ('out_channels', 'the model has out_channels 8 on rank 1, but 4 on rank 0 (the root)'),
        ('dtype', "the model has dtype 'float32' on rank 1, but 'float64' on rank 0 (the root)"),
        ('stride', "layer 'l0' has stride (2, 2) on rank 1, but (1, 1) on rank 0 (the root)"),
    ],
)
def test_lazy_layers_built_differently_raise_in_every_process(ranks, case, expected):
    # a layer whose weights were all lazy took the root's shape and dtype whatever its
    # own out_channels, dtype or stride said, and nothing raised then or later
    rank0, rank1 = (report[f'lazy_{case}'] for report in ranks)
    assert rank1 == f'broadcast_parameters: {expected}; build the same model everywhere'
    assert rank0 == f'broadcast_parameters: rank 1 failed: {rank1}'
    assert ranks[1][f'lazy_{case}_W']  # rank 1's weights were not created


@needs_mpi
def test_lazy_layers_built_alike_are_created_with_the_roots_weights(ranks):
    assert (
        ranks[0]['lazy_same']
        == ranks[1]['lazy_same']
        == [
            [[25, 4], 'float32'],
            [[4, 3], 'float32'],
        ]
    )
    assert ranks[0]['lazy_same_sum'] == ranks[1]['lazy_same_sum']


@needs_mpi
@pytest.mark.parametrize(
    'case, expected',
    [
        ('lr', 'lr (rank 0: 0.1, rank 1: 0.2)'),
        ('class', "the optimizer (rank 0: 'SGD', rank 1: 'MomentumSGD'); momentum (rank 0: none"),
        ('beta1', 'beta1 (rank 0: 0.9, rank 1: 0.8)'),
        ('hook', "hook 0 (rank 0: ('ClipGrad', ('max_norm', 1.0)), rank 1: none)"),
        ('hook_setting', "rank 0: ('WeightDecay', ('rate', 0.0001)), rank 1: ('WeightDecay'"),
        ('schedule', 'alpha (the learning rate) (rank 0: 0.01, rank 1: 0.005)'),
        ('slotted_hook', "rank 0: ('_SlottedScale', ('rate', 1.0)), rank 1: ('_SlottedScale'"),
        ('array_hook', "('rates', ('float64', (2,), 1.0, 1.0))), rank 1: ('_ArrayScale'"),
        ('array_lr', "lr (rank 0: ('float64', (), 0.1), rank 1: ('float64', (), 0.2))"),
    ],
)
def test_optimizers_that_differ_between_processes_raise_in_every_process(ranks, case, expected):
    # the weights were compared at the first update only, the optimizers never: ranks
    # with different learning rates trained different models without an error
    for report in ranks:
        message = report[f'settings_{case}']
        assert message.startswith("DistributedOptimizer.update: the processes' optimizers differ")
        assert expected in message, message
        assert report[f'settings_{case}_steps'] == (1 if case == 'schedule' else 0)
    assert ranks[0][f'settings_{case}'] == ranks[1][f'settings_{case}']


@needs_mpi
def test_training_loaders_of_different_lengths_are_refused_in_every_process(ranks):
    # rank 1, with 2 batches, went on to the epoch's figures while rank 0 waited in the
    # update of its third batch: the job hung without a word
    for report in ranks:
        message = report['unequal_batches']
        assert 'Trainer.fit: the processes have different numbers of training batches' in message
        assert '(rank 0: 3, rank 1: 2)' in message and 'shard=comm' in message
        validation, whole = report['unequal_val']  # 5 and 4 samples: 3 and 2 batches
        assert validation == pytest.approx(whole, rel=1e-5)


@needs_mpi
def test_the_docstring_loop_trains_unequal_and_empty_shares_as_one_process(ranks):
    # the recipe had no loop: one that called update() without batch_size weighted a
    # share of 3 as one of 4, and an empty share crashed in its forward pass
    assert ranks[0]['recipe_shares'] == [3, 3, 0] and ranks[1]['recipe_shares'] == [4, 4, 1]
    for report in ranks:
        assert report['recipe_vs_single'] < 1e-5


EXITING = """
import sys
from dezero import distributed

with distributed.abort_on_exit():
    if sys.argv[1] == 'before-init':
        sys.exit(2)  # an option refused, say, before the script called init()
    comm = distributed.init()
    if comm.rank == 1:
        sys.exit('rank 1: no data')
    comm.allgather(None)  # rank 0 waits for rank 1 here
"""


@needs_mpi
@pytest.mark.parametrize('when, status', [('after-init', 1), ('before-init', 2)])
def test_an_exit_with_an_error_in_one_process_ends_the_job(tmp_path, when, status):
    # sys.exit() is no uncaught exception: the other process waited forever
    script = tmp_path / 'exiting.py'
    script.write_text(EXITING)
    command = [mpiexec_command(), '-n', '1', sys.executable, str(script), 'after-init']
    command += [':', '-n', '1', sys.executable, str(script), when]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')])
    )
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert time.perf_counter() - start < 30
    assert done.returncode == status, done.stdout + done.stderr
    if when == 'after-init':
        assert 'rank 1: no data' in done.stderr
    # (MPICH's own line about the abort is not asserted: on a loaded machine mpiexec
    # may end the job before it forwards that line; the status and the time tell)


def test_abort_on_exit_alone_lets_the_exit_go_on(monkeypatch):
    for code in (0, None, 3, 'a message'):
        with pytest.raises(SystemExit) as exit_info:
            with distributed.abort_on_exit():
                sys.exit(code)
        assert exit_info.value.code == code
    with pytest.raises(KeyError):  # other exceptions pass through
        with distributed.abort_on_exit():
            raise KeyError('x')


# --------------------------------------------------------------------------------------
# One process, no mpiexec
# --------------------------------------------------------------------------------------
def test_init_alone_is_one_process():
    comm = distributed.init()
    assert (comm.rank, comm.size) == (0, 1)
    assert distributed.init() is comm
    buffer = np.arange(3.0)
    assert comm.allreduce_sum(buffer) is buffer and buffer.tolist() == [0, 1, 2]
    assert comm.allgather('a') == ['a'] and comm.bcast(5) == 5


def test_launched_size_reads_the_launcher_environment(monkeypatch):
    for name in distributed.SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert distributed.launched_size() == 1
    monkeypatch.setenv('OMPI_COMM_WORLD_SIZE', '4')
    assert distributed.launched_size() == 4


def run_python(code, **env):
    return subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **env},
    )


def test_nothing_imports_mpi4py_until_init():
    done = run_python(
        'import sys, dezero, dezero.trainer, dezero.distributed, dezero.dataloaders\n'
        'print("mpi4py" in sys.modules)'
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'False'


def test_without_mpi4py_one_process_works_and_mpiexec_gets_a_clear_error():
    hide = 'import sys; sys.modules["mpi4py"] = None\nfrom dezero import distributed\n'
    done = run_python(hide + 'print(distributed.init())', PMI_SIZE='1')
    assert done.returncode == 0, done.stderr
    assert 'Communicator(rank=0, size=1)' in done.stdout
    done = run_python(hide + 'distributed.init()', PMI_SIZE='2')
    assert done.returncode != 0
    assert 'one of 2 processes' in done.stderr and 'pip install mpi4py mpich' in done.stderr


def test_distributed_optimizer_alone_is_the_wrapped_optimizer():
    x, t = data()
    np.random.seed(0)
    a, b = MLP((6, N_OUT)), MLP((6, N_OUT))
    a(x[:1]), b(x[:1])
    for p, q in zip(a.params(), b.params()):
        q.data[...] = p.data
    plain = Adam(alpha=0.05).setup(a)
    wrapped = distributed.DistributedOptimizer(Adam(alpha=0.05)).setup(b)
    plain.add_hook(WeightDecay(0.01))
    wrapped.add_hook(WeightDecay(0.01))
    assert isinstance(wrapped, distributed.Optimizer) and wrapped.target is b
    for _ in range(3):
        for model, opt in ((a, plain), (b, wrapped)):
            loss = F.softmax_cross_entropy(model(x), t)
            model.cleargrads()
            loss.backward()
            opt.update()
    for p, q in zip(a.params(), b.params()):
        np.testing.assert_array_equal(p.data, q.data)
    assert wrapped.t == 3 and wrapped.lr == wrapped.optimizer.alpha == 0.05
    wrapped.lr = 0.02
    assert wrapped.optimizer.alpha == 0.02
    with pytest.raises(ValueError, match='lr'):
        wrapped.lr = -1
    assert wrapped.state_dict()['optimizer'] == 'Adam'
    assert len(wrapped.hooks) == 1


def test_distributed_optimizer_saves_loads_and_schedules(tmp_path):
    model = MLP((3,))
    model(np.ones((2, 4), np.float32))
    wrapped = distributed.DistributedOptimizer(SGD(lr=0.4)).setup(model)
    schedule = StepLR(wrapped, step_size=1, gamma=0.5)
    schedule.step()
    assert wrapped.lr == wrapped.optimizer.lr == 0.2
    wrapped.save(tmp_path / 'opt.npz')
    other = SGD(lr=0.1).setup(model)
    other.load(tmp_path / 'opt.npz')  # the file is the wrapped optimizer's own
    assert other.lr == 0.2
    wrapped.lr = 0.3
    wrapped.load(tmp_path / 'opt.npz')
    assert wrapped.lr == 0.2


def test_distributed_optimizer_refuses_bad_input():
    with pytest.raises(TypeError, match='DistributedOptimizer: expected a dezero optimizer'):
        distributed.DistributedOptimizer('sgd')
    wrapped = distributed.DistributedOptimizer(SGD())
    with pytest.raises(TypeError, match='DistributedOptimizer: expected'):
        distributed.DistributedOptimizer(wrapped)
    with pytest.raises(RuntimeError, match='setup'):
        wrapped.update()
    wrapped.setup(MLP((2,)))
    with pytest.raises(ValueError, match='batch_size must be >= 0, got -1'):
        wrapped.update(batch_size=-1)
    with pytest.raises(TypeError, match='comm must be a communicator'):
        distributed.DistributedOptimizer(SGD(), comm=3)


def test_broadcast_alone_keeps_the_weights_and_refuses_a_bad_root():
    model = MLP((3,))
    model(np.ones((2, 4), np.float32))
    before = weights(model)
    assert distributed.broadcast_parameters(model) is model
    for a, b in zip(before, weights(model)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match='root must be a rank in 0..0, got 1'):
        distributed.broadcast_parameters(model, root=1)


@pytest.mark.parametrize('n, batch', [(15, 6), (16, 4), (5, 8), (3, 2)])
def test_shards_of_three_processes_cover_each_sample_once(n, batch):
    ids = np.arange(n)
    loaders = [DataLoader((ids, ids), batch, seed=4, shard=(r, 3)) for r in range(3)]
    for _ in range(2):
        orders = [loader.index.tolist() for loader in loaders]
        batches = [list(loader) for loader in loaders]
        assert orders[0] == orders[1] == orders[2]
        assert [len(b) for b in batches] == [len(loaders[0])] * 3
        seen = [int(i) for b in batches for x, _ in b for i in x]
        assert sorted(seen) == list(range(n))
        for k in range(len(loaders[0])):
            together = [int(i) for b in batches for i in b[k][0]]
            assert together == orders[0][k * batch : (k + 1) * batch]
            sizes = [len(b[k][0]) for b in batches]
            assert max(sizes) - min(sizes) <= 1


def test_shard_of_a_dataset_of_items_may_be_empty():
    items = [(np.full(2, i, np.float32), i) for i in range(3)]
    loader = DataLoader(items, 2, shuffle=False, shard=(0, 2))
    (x0, t0), (x1, t1) = list(loader)
    assert t0.tolist() == [0] and t1.tolist() == [] and x1.shape == (0, 2)


def test_shard_refuses_bad_input():
    with pytest.raises(ValueError, match=r'DataLoader: shard must be .* got \(2, 2\)'):
        DataLoader((np.zeros((4, 1)), None), 2, shard=(2, 2))
    with pytest.raises(ValueError, match='needs a seed'):
        DataLoader((np.zeros((4, 1)), None), 2, shard=(0, 2))
    loader = DataLoader((np.zeros((4, 1)), None), 2, shard=distributed.init())
    assert loader.shard == (0, 1) and len(loader) == 2


if __name__ == '__main__':
    worker(sys.argv[1])


class TwinComm(distributed.Communicator):
    """Rank 0 of two processes that hold the same arrays: what the reduction sees when
    the other process is this one's twin."""

    def __init__(self):
        super().__init__(None)
        self.size = 2

    def allreduce_sum(self, buffer):
        buffer *= 2
        return buffer

    def allgather_array(self, array):
        return np.stack([array, array])

    def allgather(self, obj):
        return [obj, obj]


class SkewedComm(TwinComm):
    """Rank 0 of two, whose twin has one batch more."""

    def allgather(self, obj):
        return [obj, obj + 1 if type(obj) is int else obj]


def test_a_trainer_refuses_loaders_of_different_lengths_before_the_first_batch():
    x, t = data(8)
    model = MLP((4, N_OUT))
    model(x[:1])
    before = weights(model)
    trainer = Trainer(model, distributed.DistributedOptimizer(SGD(lr=0.1), comm=SkewedComm()))
    with pytest.raises(
        ValueError, match=r'different numbers of training batches \(rank 0: 2, rank 1: 3\)'
    ):
        trainer.fit(DataLoader((x, t), 4, seed=0), 1, progress=False)
    assert all((a == b).all() for a, b in zip(weights(model), before))
    batches = iter([(x, t)])  # no length: nothing to compare
    trainer.fit(batches, 1, progress=False)


def test_gpu_gradients_are_reduced_on_the_host_and_come_back_to_the_device(monkeypatch):
    sys.path.insert(0, str(ROOT / 'tests' / 'gpu'))
    try:
        import fake_cupy
    finally:
        sys.path.remove(str(ROOT / 'tests' / 'gpu'))
    fake = fake_cupy.install(monkeypatch)
    x, t = data()
    model = MLP((4, N_OUT))
    model(x[:1])
    model.to_gpu()
    optimizer = distributed.DistributedOptimizer(SGD(lr=0.1), comm=TwinComm()).setup(model)
    loss = F.softmax_cross_entropy(model(fake.asarray(x)), fake.asarray(t))
    loss.backward()
    grads = [fake.asnumpy(p.grad.data).copy() for p in model.params()]
    before = [fake.asnumpy(p.data).copy() for p in model.params()]
    optimizer.update(batch_size=len(t))
    for p, g, w in zip(model.params(), grads, before):
        assert isinstance(p.grad.data, fake.ndarray) and isinstance(p.data, fake.ndarray)
        np.testing.assert_allclose(fake.asnumpy(p.grad.data), g, rtol=1e-6)  # twin average
        np.testing.assert_allclose(fake.asnumpy(p.data), w - 0.1 * g, rtol=1e-5, atol=1e-7)


def test_float16_gradients_are_averaged_without_overflow():
    # the buffer took the parameters' float16: 100 times a share of 1000 is inf there
    p = Parameter(np.zeros(3, np.float16))
    p.grad = Variable(np.full(3, 100.0, np.float16))
    layer = Layer()
    layer.p = p
    optimizer = distributed.DistributedOptimizer(SGD(lr=0.001), comm=TwinComm()).setup(layer)
    optimizer.update(batch_size=1000)
    np.testing.assert_allclose(p.data, np.full(3, -0.1), rtol=1e-3)


def test_an_mpi4py_communicator_is_refused_until_init_wraps_it():
    class Intracomm:  # what mpi4py's COMM_WORLD offers: no array collectives of dezero
        rank, size = 0, 2

        def allgather(self, obj):
            return [obj, obj]

        def bcast(self, obj, root=0):
            return obj

    for use in (
        lambda c: distributed.broadcast_parameters(MLP((3,)), comm=c),
        lambda c: distributed.DistributedOptimizer(SGD(), comm=c),
    ):
        with pytest.raises(TypeError, match=r'comm must be a communicator .*Intracomm.*init\(\)'):
            use(Intracomm())
    model = MLP((3,))
    model(np.ones((1, 2), np.float32))
    distributed.broadcast_parameters(model, root=np.int64(0))  # a NumPy int is a rank too


@needs_mpi
def test_a_batch_peeked_on_rank_0_leaves_the_processes_in_one_order(ranks):
    # rank 0 alone reset its loader part-way, drew one permutation more, and the
    # processes' shares overlapped: epochs repeated some samples and skipped others
    first, second = ranks[0]['peeked_seen'], ranks[1]['peeked_seen']
    assert len(first) == 16 and len(second) == 24  # batches of 5 shared out 2 + 3
    for epoch in range(2):
        share = first[epoch * 8 : epoch * 8 + 8] + second[epoch * 12 : epoch * 12 + 12]
        assert sorted(share) == list(range(20)), epoch


@needs_mpi
@pytest.mark.parametrize(
    'case, expected',
    [
        ('size4', r'shard their loader as \[\(0, 4\), \(1, 4\)\].*needs \[\(0, 2\), \(1, 2\)\]'),
        ('rank0', r'shard their loader as \[\(0, 2\), \(0, 2\)\]'),
        ('seedrank', r'sample order of the sharded loader on ranks \[1\] differs'),
    ],
)
def test_shards_or_seeds_that_disagree_raise_in_every_process(ranks, case, expected):
    for report in ranks:
        assert re.search(expected, report[f'shard_{case}']), report[f'shard_{case}']


@needs_mpi
def test_an_empty_batch_on_every_process_makes_no_step(ranks):
    for report in ranks:  # 2 epochs of 2 batches with samples: Adam's t was 6
        assert report['empty_everywhere_t'] == 4


@needs_mpi
def test_a_lazy_layer_created_after_the_first_update_is_compared_too(ranks):
    for report in ranks:
        assert (
            "differ from rank 0's at the first update after new weights" in (report['lazy_later'])
        )


@needs_mpi
def test_a_checkpoint_one_process_refuses_raises_in_every_process(ranks):
    assert ranks[1]['one_refuses'].startswith('ValueError: Checkpoint')
    assert ranks[0]['one_refuses'].startswith('ValueError: Checkpoint: rank 1 failed: ')


@needs_mpi
def test_rank_0_evaluates_an_unsharded_loader_alone(ranks):
    alone, whole = ranks[0]['eval_alone']
    assert alone == pytest.approx(whole, rel=1e-6)


def test_an_empty_batch_of_one_process_makes_no_step():
    model = MLP((3,))
    model(np.ones((1, 2), np.float32))
    optimizer = distributed.DistributedOptimizer(Adam(alpha=0.01)).setup(model)
    before = weights(model)
    model.cleargrads()
    optimizer.update(batch_size=0)
    assert optimizer.optimizer.t == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, weights(model)))


def test_layer_settings_holding_nan_are_equal_to_themselves():
    # NaN != NaN: identical models were refused, the root even against itself
    nan = float('nan')
    same = [('', 'pad', nan), ('l0', 'out_size', 3)]
    assert distributed._settings_difference_from_root(same, list(same), 1, 0) is None
    other = [('', 'pad', nan), ('l0', 'out_size', 4)]
    error = distributed._settings_difference_from_root(other, same, 1, 0)
    assert "layer 'l0' has out_size 4 on rank 1, but 3 on rank 0" in str(error)

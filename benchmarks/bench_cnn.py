"""Time per training step of a small convolutional network in dezero against the same
network in PyTorch.

Run from anywhere:  ``python benchmarks/bench_cnn.py [--quick] [--repeat N]
[--json PATH] [--check] [--no-torch]``.

The network, on batches of 32 single-channel 28x28 float32 images with 10 classes:

    conv 1 -> 8, 3x3, pad 1; relu; 2x2 max pooling     (32, 8, 14, 14)
    conv 8 -> 16, 3x3, pad 1; relu; 2x2 max pooling    (32, 16, 7, 7)
    linear 16*7*7 -> 10; softmax cross entropy; SGD (lr 0.01)

One step is forward, ``cleargrads``, ``backward`` and the parameter update.  The
PyTorch side is the same ``nn.Sequential`` (``Conv2d``, ``ReLU``, ``MaxPool2d``,
``Flatten``, ``Linear``), ``F.cross_entropy`` and ``torch.optim.SGD``, on the CPU with
one thread, starting from the same float32 weights; the script first trains a copy of
each side for three steps and reports the largest relative difference of their losses
and of their weights after those steps.  Steps are
timed in blocks of ``STEPS``; the sides alternate and the ratio of the medians is
reported.  Target (issue 8): dezero at most 1.5x PyTorch.  Without PyTorch only dezero's
time is printed.
"""

import os
import sys

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import numpy as np

import dezero.functions as F
from dezero import Model, optimizers
from dezero.layers import Conv2d, Linear
from benchmarks.common import (
    alternate,
    environment,
    format_spread,
    load_torch,
    make_target,
    report_table,
    spread,
    time_steps,
    torch_case_main,
    TorchClassifier,
    training_step,
)

BATCH, SIZE, CLASSES, LR = 32, 28, 10, 0.01
CHANNELS = (8, 16)
STEPS, QUICK_STEPS = 10, 5
REPEAT, QUICK_REPEAT = 9, 3
N_BATCHES = 5
MAX_RATIO = 1.5
MAX_RELATIVE_DIFFERENCE = 1e-4  # relative; float32 rounding is about 1e-7


class SmallCNN(Model):
    """Two conv + relu + 2x2 max pooling blocks and a linear classifier."""

    def __init__(self):
        super().__init__()
        c1, c2 = CHANNELS
        self.conv1 = Conv2d(c1, 3, pad=1, in_channels=1)
        self.conv2 = Conv2d(c2, 3, pad=1, in_channels=c1)
        self.fc = Linear(CLASSES, in_size=c2 * (SIZE // 4) ** 2)

    def forward(self, x):
        h = F.pooling(F.relu(self.conv1(x)), 2, stride=2)
        h = F.pooling(F.relu(self.conv2(h)), 2, stride=2)
        return self.fc(F.reshape(h, (len(h), -1)))


class TorchCNN(TorchClassifier):
    """The same network in PyTorch, holding copies of a :class:`SmallCNN`'s weights."""

    def __init__(self, torch, model):
        nn = torch.nn
        c1, c2 = CHANNELS
        self.torch = torch
        self.net = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c2 * (SIZE // 4) ** 2, CLASSES),
        )
        pairs = (
            (self.net[0], model.conv1.W.data, model.conv1.b.data),
            (self.net[3], model.conv2.W.data, model.conv2.b.data),
            (self.net[7], model.fc.W.data.T, model.fc.b.data),
        )
        with torch.no_grad():
            for layer, W, b in pairs:
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
                layer.bias.copy_(torch.from_numpy(b))
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=LR)


def make_batches(n_batches=N_BATCHES, seed=0):
    """Float32 images in [0, 1) of shape (BATCH, 1, SIZE, SIZE) with integer labels."""
    rng = np.random.default_rng(seed)
    return [
        (rng.random((BATCH, 1, SIZE, SIZE), dtype=np.float32), rng.integers(0, CLASSES, BATCH))
        for _ in range(n_batches)
    ]


def make_model(seed=0):
    """A :class:`SmallCNN` and its SGD optimizer; the weights come from ``seed``."""
    np.random.seed(seed)
    model = SmallCNN()
    return model, optimizers.SGD(LR).setup(model)


def check_same_training(torch, steps=3):
    """Train a copy of each side for ``steps`` steps on the same batches; return the
    largest relative difference of their losses and of their weights after the steps
    (None without ``torch``), and the dtypes seen on dezero's side."""
    model, optimizer = make_model()
    dtypes = set()
    batches = make_batches(steps)
    tnet = TorchCNN(torch, model) if torch is not None else None
    losses = []
    for x, t in batches:
        losses.append(float(training_step(model, optimizer, x, t).data))
        dtypes.update(str(p.dtype) for p in model.params())
    if tnet is None:
        return None, sorted(dtypes)
    worst = 0.0
    for ours, (xt, tt) in zip(losses, tnet.tensors(batches)):
        theirs = tnet.step(xt, tt).item()
        worst = max(worst, abs(ours - theirs) / abs(theirs))
    torch_weights = [tnet.net[i].weight.detach().numpy() for i in (0, 3, 7)]
    for W, theirs in zip(
        (model.conv1.W.data, model.conv2.W.data, model.fc.W.data.T), torch_weights
    ):
        worst = max(worst, float(np.abs(W - theirs).max() / np.abs(theirs).max()))
    return worst, sorted(dtypes)


def run(repeat=REPEAT, steps=STEPS, use_torch=True, log=None, torch=None):
    """Time both sides; return a JSON-ready dict.  ``torch`` may be given (the module)
    instead of ``use_torch``."""
    log = log or (lambda msg: None)
    torch = torch or (load_torch() if use_torch else None)
    loss_diff, dtypes = check_same_training(torch)
    batches = make_batches()
    model, optimizer = make_model()
    sides = {'dezero': (lambda x, t: training_step(model, optimizer, x, t), batches)}
    if torch is not None:
        tnet = TorchCNN(torch, model)
        sides['torch'] = (tnet.step, tnet.tensors(batches))
    for step, data in sides.values():  # untimed warm-up
        time_steps(step, data, 2)
    times = alternate(
        {name: (lambda s=s: time_steps(*s, steps)) for name, s in sides.items()},
        repeat,
        log,
        'cnn: ',
    )
    result = {
        'config': {
            'batch': BATCH,
            'size': SIZE,
            'channels': list(CHANNELS),
            'classes': CLASSES,
            'repeat': repeat,
            'steps': steps,
        },
        'environment': environment(torch),
        'relative_difference': loss_diff,
        'dtypes': dtypes,
        'dezero': spread(times['dezero']),
        'torch': spread(times['torch']) if torch is not None else None,
    }
    result['ratio_dezero_torch'] = (
        result['dezero']['median_s'] / result['torch']['median_s'] if torch is not None else None
    )
    result['targets'] = [
        make_target(
            f'cnn: dezero <= {MAX_RATIO} x PyTorch',
            result['ratio_dezero_torch'],
            MAX_RATIO,
            why_skipped='no PyTorch baseline',
        ),
        make_target(
            f'cnn: losses and weights agree with PyTorch (relative difference '
            f'<= {MAX_RELATIVE_DIFFERENCE:g})',
            loss_diff,
            MAX_RELATIVE_DIFFERENCE,
            why_skipped='no PyTorch baseline',
        ),
        make_target('cnn: float32 only', dtypes, ['float32'], op='=='),
    ]
    return result


def report_case(result):
    """Table lines: time per step of each side, median [min .. max], and the ratio."""
    lines = [f'    {"side":<8}{"ms per step, median [min .. max]":>36}']
    for side in ('dezero', 'torch'):
        if result[side] is not None:
            lines.append(f'    {side:<8}{format_spread(result[side], digits=3):>36}')
    if result['ratio_dezero_torch'] is not None:
        lines.append(
            f'    dezero / torch: {result["ratio_dezero_torch"]:.2f}x; after 3 '
            f'steps, losses and weights agree within '
            f'{result["relative_difference"]:.1e} (relative)'
        )
    return lines


def report(result):
    env, cfg = result['environment'], result['config']
    lines = [
        f'dezero {env["dezero"]} CNN training step vs PyTorch  ({env["date"]}; '
        f'Python {env["python"]}, NumPy {env["numpy"]}, PyTorch '
        f'{env["torch"] or "not used"}; {env["cpus"]} CPUs)',
        f'conv {cfg["channels"][0]} / {cfg["channels"][1]} channels 3x3 + relu + '
        f'max pool, linear to {cfg["classes"]}; batch {cfg["batch"]} of '
        f'{cfg["size"]}x{cfg["size"]}, float32, SGD; {cfg["repeat"]} blocks of '
        f'{cfg["steps"]} steps',
    ]
    return report_table(lines, report_case(result), result['targets'])


def main(argv=None):
    return torch_case_main(argv, __doc__, run, report, REPEAT, QUICK_REPEAT, STEPS, QUICK_STEPS)


if __name__ == '__main__':
    sys.exit(main())

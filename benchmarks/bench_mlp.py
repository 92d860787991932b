"""Time per training step of dezero's MLP against the same network written by hand in
NumPy, and in PyTorch.

Run from anywhere:  ``python benchmarks/bench_mlp.py [--quick] [--repeat N]
[--json PATH] [--check] [--no-torch] [--hidden N [N ...]]``.

The network is ``MLP((hidden, 10))`` with sigmoid: 784 float32 inputs, a hidden layer
of ``hidden`` units (1000 and 50), 10 classes, softmax cross entropy, plain SGD
(lr 0.1), mini-batches of 100.  One step is forward, backward and the parameter update:

    y = model(x); loss = F.softmax_cross_entropy(y, t)
    model.cleargrads(); loss.backward(); optimizer.update()

The baseline does the same math with the Affine / Sigmoid / SoftmaxWithLoss layers
people write by hand in NumPy, each with a ``forward`` that keeps what its ``backward``
needs, and in-place SGD.  It is a lean baseline: like dezero given a plain array as
input, it does not compute the gradient of the input images.  When PyTorch is
installed, the same network is also written the way a PyTorch user would
(``nn.Sequential`` of ``nn.Linear`` and ``nn.Sigmoid``, ``F.cross_entropy``,
``torch.optim.SGD``; float32, one thread; the batches converted to tensors once,
outside the timed region).

All sides start from the same float32 weights and see the same batches; the script
checks that their losses agree and that nothing on the dezero side turned into float64.
Steps are timed in blocks, the sides alternate, and the medians of the per-step times
are reported with the ratios dezero / baseline.  Targets (issue 8): at most 1.1x NumPy
at hidden 1000, 1.3x NumPy at hidden 50, and 0.8x PyTorch at hidden 50.  The PASS/FAIL
lines are informational unless ``--check`` is given.
"""

import argparse
import os
import sys

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import numpy as np

import dezero
from dezero import optimizers
from dezero.models import MLP
from benchmarks.common import (
    add_standard_options,
    environment,
    finish,
    freeze_gc,
    load_torch,
    log,
    make_target,
    repeat_count,
    report_table,
    rotated,
    spread,
    time_steps,
    TorchClassifier,
    training_step,
)

IN_SIZE, OUT_SIZE, BATCH, LR = 784, 10, 100, 0.1
HIDDEN = (1000, 50)
#: hidden size -> the largest ratio dezero / baseline allowed
TARGETS = {1000: 1.1, 50: 1.3}
TORCH_TARGETS = {50: 0.8}
#: steps per timed block, chosen so that a block takes tens of milliseconds
STEPS = {1000: 10, 50: 100}
REPEAT, QUICK_REPEAT = 9, 3
N_BATCHES = 10


# --------------------------------------------------------------------------------------
# The hand-written network
# --------------------------------------------------------------------------------------
class Affine:
    """y = x W + b; backward gives the gradients of W and b (and of x when asked)."""

    def __init__(self, W, b, input_grad=True):
        self.W, self.b, self.input_grad = W, b, input_grad
        self.x = self.dW = self.db = None

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dy):
        self.dW = self.x.T @ dy
        self.db = dy.sum(axis=0)
        return dy @ self.W.T if self.input_grad else None


class Sigmoid:
    """y = 1 / (1 + exp(-x)); dy/dx = y (1 - y)."""

    def forward(self, x):
        self.y = 1 / (1 + np.exp(-x))
        return self.y

    def backward(self, dy):
        return dy * self.y * (1 - self.y)


class SoftmaxWithLoss:
    """Mean cross entropy of softmax(x) against integer labels; dx = (p - onehot) / N."""

    def forward(self, x, t):
        shifted = x - x.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        self.p = e / e.sum(axis=1, keepdims=True)
        self.t = t
        n = len(t)
        return -np.log(self.p[np.arange(n), t]).mean()

    def backward(self):
        n = len(self.t)
        dx = self.p.copy()
        dx[np.arange(n), self.t] -= 1
        return dx / n


class HandWrittenNet:
    """The two-layer network written by hand, sharing nothing with dezero."""

    def __init__(self, W1, b1, W2, b2):
        self.params = [W1, b1, W2, b2]
        self.layers = [Affine(W1, b1, input_grad=False), Sigmoid(), Affine(W2, b2)]
        self.last = SoftmaxWithLoss()

    def step(self, x, t, lr):
        """One SGD step; returns the loss before the update."""
        h = x
        for layer in self.layers:
            h = layer.forward(h)
        loss = self.last.forward(h, t)
        d = self.last.backward()
        for layer in reversed(self.layers):
            d = layer.backward(d)
        first, _, second = self.layers
        for p, g in zip(self.params, (first.dW, first.db, second.dW, second.db)):
            p -= lr * g
        return loss


# --------------------------------------------------------------------------------------
# The two sides, built from the same weights
# --------------------------------------------------------------------------------------
def make_batches(n_batches=N_BATCHES, seed=0):
    """``n_batches`` float32 image batches in [0, 1) with random integer labels."""
    rng = np.random.default_rng(seed)
    return [
        (rng.random((BATCH, IN_SIZE), dtype=np.float32), rng.integers(0, OUT_SIZE, BATCH))
        for _ in range(n_batches)
    ]


def make_pair(hidden, seed=0):
    """A dezero MLP and a hand-written network holding equal copies of one set of
    float32 weights; returns (model, optimizer, net)."""
    np.random.seed(seed)
    model = MLP((hidden, OUT_SIZE))
    with dezero.no_grad():
        model(np.zeros((1, IN_SIZE), dtype=np.float32))  # create the lazy weights
    l0, l1 = model.l0, model.l1
    net = HandWrittenNet(l0.W.data.copy(), l0.b.data.copy(), l1.W.data.copy(), l1.b.data.copy())
    return model, optimizers.SGD(LR).setup(model), net


class TorchNet(TorchClassifier):
    """The same network in PyTorch, from the dezero model's weights (copied, float32),
    trained the usual PyTorch way."""

    def __init__(self, torch, model):
        nn = torch.nn
        self.torch = torch
        self.net = nn.Sequential(
            nn.Linear(IN_SIZE, model.l0.out_size),
            nn.Sigmoid(),
            nn.Linear(model.l0.out_size, OUT_SIZE),
        )
        with torch.no_grad():
            for layer, ours in ((self.net[0], model.l0), (self.net[2], model.l1)):
                layer.weight.copy_(torch.from_numpy(ours.W.data.T.copy()))
                layer.bias.copy_(torch.from_numpy(ours.b.data))
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=LR)


def check_same_math(hidden, steps=3):
    """Run a few steps on both sides; return the largest loss difference and the dtypes
    seen on the dezero side (parameters, gradients, loss)."""
    model, optimizer, net = make_pair(hidden)
    worst = 0.0
    dtypes = set()
    for x, t in make_batches(steps):
        loss = training_step(model, optimizer, x, t)
        expected = net.step(x, t, LR)
        worst = max(worst, abs(float(loss.data) - float(expected)))
        dtypes.add(loss.dtype)
        for p in model.params():
            dtypes.add(p.dtype)
            if p.grad is not None:
                dtypes.add(p.grad.dtype)
    return worst, sorted(str(d) for d in dtypes)


def check_same_as_torch(torch, hidden, steps=3):
    """Run a few steps of dezero and of PyTorch from the same weights; return the
    largest loss difference."""
    model, optimizer, _ = make_pair(hidden)
    tnet = TorchNet(torch, model)
    batches = make_batches(steps)
    worst = 0.0
    for (x, t), (xt, tt) in zip(batches, tnet.tensors(batches)):
        ours = float(training_step(model, optimizer, x, t).data)
        worst = max(worst, abs(ours - tnet.step(xt, tt).item()))
    return worst


# --------------------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------------------
def run(hidden_sizes=HIDDEN, repeat=REPEAT, steps=None, log=None, use_torch=True):
    """Time every side for each hidden size; return a JSON-ready dict."""
    log = log or (lambda msg: None)
    torch = load_torch() if use_torch else None
    steps = steps or STEPS
    batches = make_batches()
    result = {
        'config': {
            'hidden': list(hidden_sizes),
            'batch': BATCH,
            'repeat': repeat,
            'steps_per_block': {str(h): steps.get(h, 20) for h in hidden_sizes},
        },
        'environment': environment(torch),
        'cases': {},
        'targets': [],
    }
    for hidden in hidden_sizes:
        n = steps.get(hidden, 20)
        loss_diff, dtypes = check_same_math(hidden)
        loss_diff_torch = check_same_as_torch(torch, hidden) if torch is not None else None
        model, optimizer, net = make_pair(hidden)
        sides = {
            'dezero': (lambda x, t: training_step(model, optimizer, x, t), batches),
            'numpy': (lambda x, t: net.step(x, t, LR), batches),
        }
        if torch is not None:
            tnet = TorchNet(torch, model)
            sides['torch'] = (tnet.step, tnet.tensors(batches))
        for step, data in sides.values():  # untimed warm-up
            time_steps(step, data, max(1, n // 5))
        times = {name: [] for name in sides}
        for r in range(repeat):
            log(f'  hidden {hidden}: repeat {r + 1}/{repeat}')
            for name in rotated(list(sides), r):
                times[name].append(time_steps(*sides[name], n))
        case = {f'{name}_s': ts for name, ts in times.items()}
        case.update({f'{name}_median_s': spread(ts)['median_s'] for name, ts in times.items()})
        case['spread'] = {
            name: {k: v for k, v in spread(ts).items() if k != 'times_s'}
            for name, ts in times.items()
        }
        case['ratio'] = case['dezero_median_s'] / case['numpy_median_s']
        case['ratio_torch'] = (
            case['dezero_median_s'] / case['torch_median_s'] if torch is not None else None
        )
        case.update(
            {
                'loss_difference': loss_diff,
                'loss_difference_torch': loss_diff_torch,
                'dtypes': dtypes,
            }
        )
        result['cases'][str(hidden)] = case
        result['targets'] += targets(hidden, case)
    return result


def targets(hidden, case):
    """The targets of one hidden size: speed against each baseline where issue 8 sets
    one, and float32 throughout."""
    found = []
    if hidden in TARGETS:
        limit = TARGETS[hidden]
        found.append(
            make_target(
                f'mlp hidden {hidden}: dezero <= {limit} x hand-written NumPy', case['ratio'], limit
            )
        )
    if hidden in TORCH_TARGETS:
        limit = TORCH_TARGETS[hidden]
        found.append(
            make_target(
                f'mlp hidden {hidden}: dezero <= {limit} x PyTorch',
                case['ratio_torch'],
                limit,
                why_skipped='no PyTorch baseline',
            )
        )
    found.append(
        make_target(f'mlp hidden {hidden}: float32 only', case['dtypes'], ['float32'], op='==')
    )
    return found


def report_cases(result):
    """Table lines: median [min .. max] time per step of each side, and the ratios."""
    cases = result['cases']
    with_torch = any(c['ratio_torch'] is not None for c in cases.values())
    sides = ('dezero', 'numpy', 'torch') if with_torch else ('dezero', 'numpy')
    lines = [
        f'    {"hidden":>6}'
        + ''.join(f'{s:>26}' for s in sides)
        + f'{"dezero/numpy":>14}'
        + (f'{"dezero/torch":>14}' if with_torch else '')
        + f'{"|loss diff|":>13}'
    ]
    for hidden, case in cases.items():
        row = f'    {hidden:>6}'
        for side in sides:
            sp = case['spread'][side]
            row += (
                f'{sp["median_s"] * 1e3:8.3f} [{sp["min_s"] * 1e3:.3f} .. '
                f'{sp["max_s"] * 1e3:.3f}]'.rjust(26)
            )
        row += f'{case["ratio"]:13.2f}x'
        if with_torch:
            row += f'{case["ratio_torch"]:13.2f}x'
        diff = max(case['loss_difference'], case['loss_difference_torch'] or 0.0)
        row += f'{diff:13.2e}'
        lines.append(row)
    return lines


def report(result):
    """The result as a printable table."""
    env, cfg = result['environment'], result['config']
    lines = [
        f'dezero {env["dezero"]} MLP training step vs hand-written NumPy and PyTorch '
        f'({env["date"]}; Python {env["python"]}, NumPy {env["numpy"]}, PyTorch '
        f'{env["torch"] or "not used"}; {env["cpus"]} CPUs)',
        f'MLP((hidden, 10)), sigmoid, SGD, batch {cfg["batch"]}, float32; ms per '
        f'step, median [min .. max] of {cfg["repeat"]} blocks',
    ]
    return report_table(lines, report_cases(result), result['targets'])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_standard_options(p, REPEAT, QUICK_REPEAT, 'short version: 3 timed blocks per side')
    p.add_argument(
        '--hidden',
        type=int,
        nargs='+',
        default=list(HIDDEN),
        help='hidden sizes (default: 1000 50)',
    )
    p.add_argument('--no-torch', action='store_true', help='skip the PyTorch baseline')
    args = p.parse_args(argv)
    repeat = repeat_count(p, args, REPEAT, QUICK_REPEAT)
    if not args.no_torch:
        load_torch()
    freeze_gc()
    result = run(args.hidden, repeat, log=log, use_torch=not args.no_torch)
    return finish(result, report(result), args)


if __name__ == '__main__':
    sys.exit(main())

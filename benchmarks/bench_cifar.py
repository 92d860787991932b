"""Convolutional networks at the sizes people train: a CIFAR-style training step and a
ResNet-style bottleneck block step in dezero against the same networks in PyTorch, and
the fraction of the machine's matrix-product peak each side reaches.

Run from anywhere:  ``python benchmarks/bench_cifar.py [--quick] [--repeat N]
[--json PATH] [--check] [--no-torch]``.

``cifar``, on batches of 64 float32 images 3x32x32 with 10 classes (3x3 kernels, pad 1):

    conv 3 -> 32, relu; conv 32 -> 32, relu; 2x2 max pooling      (64, 32, 16, 16)
    conv 32 -> 64, relu; conv 64 -> 64, relu; 2x2 max pooling     (64, 64, 8, 8)
    linear 4096 -> 256, relu; linear 256 -> 10; softmax cross entropy

``bottleneck``, on batches of 16 float32 maps 256x16x16: the block of ResNet-50 without
batch normalisation (1x1 conv 256 -> 64, relu; 3x3 conv 64 -> 64, relu; 1x1 conv
64 -> 256; plus the input; relu), then the mean over the map and linear 256 -> 10.

Both train with momentum SGD (lr 0.01, momentum 0.9).  The PyTorch side starts from
the same float32 weights, on the CPU with one thread; ``python -m benchmarks --only
cifar`` gives NumPy's BLAS one thread too (run alone, this script keeps the library's
default, as the other scripts do).  The
script first trains a copy of each side for three steps and reports the largest
relative difference of the losses.  The floating-point work of a step (forward, and
the gradients of the weights and of every input but the images) over its time, against
a 1024x1024 float32 matrix product timed in the same run, is the fraction of the peak.
Target: the CIFAR-style step at most 1.2x PyTorch; the bottleneck is reported.
"""

import os
import sys

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import statistics
import time

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
    minor_page_faults,
    paired_ratio_median,
    report_table,
    settle_allocator,
    spread,
    time_steps,
    torch_case_main,
    TorchClassifier,
    training_step,
)

CLASSES, LR, MOMENTUM = 10, 0.01, 0.9
STEPS, QUICK_STEPS = 3, 2
REPEAT, QUICK_REPEAT = 15, 3
N_BATCHES = 3
MAX_RATIO = 1.2
MAX_RELATIVE_DIFFERENCE = 1e-3  # relative; float32 sums in other orders

#: (batch, channels, size) of the input of each network
SHAPES = {'cifar': (64, 3, 32), 'bottleneck': (16, 256, 16)}


# ---- the networks -----------------------------------------------------------------------
class CifarNet(Model):
    """Two blocks of two 3x3 convolutions and a 2x2 max pooling, two linear layers."""

    def __init__(self):
        super().__init__()
        self.c1 = Conv2d(32, 3, pad=1, in_channels=3)
        self.c2 = Conv2d(32, 3, pad=1, in_channels=32)
        self.c3 = Conv2d(64, 3, pad=1, in_channels=32)
        self.c4 = Conv2d(64, 3, pad=1, in_channels=64)
        self.fc1 = Linear(256, in_size=64 * 8 * 8)
        self.fc2 = Linear(CLASSES, in_size=256)

    def forward(self, x):
        h = F.pooling(F.relu(self.c2(F.relu(self.c1(x)))), 2, stride=2)
        h = F.pooling(F.relu(self.c4(F.relu(self.c3(h)))), 2, stride=2)
        return self.fc2(F.relu(self.fc1(F.reshape(h, (len(h), -1)))))

    def layers_in_order(self):
        return [self.c1, self.c2, self.c3, self.c4, self.fc1, self.fc2]


class Bottleneck(Model):
    """ResNet's bottleneck block (no batch normalisation) and a linear read-out."""

    def __init__(self):
        super().__init__()
        self.reduce = Conv2d(64, 1, in_channels=256)
        self.conv = Conv2d(64, 3, pad=1, in_channels=64)
        self.expand = Conv2d(256, 1, in_channels=64)
        self.fc = Linear(CLASSES, in_size=256)

    def forward(self, x):
        h = F.relu(self.conv(F.relu(self.reduce(x))))
        h = F.relu(self.expand(h) + x)
        return self.fc(F.mean(h, axis=(2, 3)))

    def layers_in_order(self):
        return [self.reduce, self.conv, self.expand, self.fc]


MODELS = {'cifar': CifarNet, 'bottleneck': Bottleneck}


def _torch_net(torch, name):
    nn = torch.nn
    if name == 'cifar':
        return nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 8 * 8, 256),
            nn.ReLU(),
            nn.Linear(256, CLASSES),
        )

    class TorchBottleneck(nn.Module):
        def __init__(self):
            super().__init__()
            self.reduce = nn.Conv2d(256, 64, 1)
            self.conv = nn.Conv2d(64, 64, 3, padding=1)
            self.expand = nn.Conv2d(64, 256, 1)
            self.fc = nn.Linear(256, CLASSES)

        def forward(self, x):
            h = torch.relu(self.conv(torch.relu(self.reduce(x))))
            h = torch.relu(self.expand(h) + x)
            return self.fc(h.mean((2, 3)))

    return TorchBottleneck()


class TorchNet(TorchClassifier):
    """A network in PyTorch holding copies of a dezero model's weights."""

    def __init__(self, torch, name, model):
        self.torch = torch
        self.net = _torch_net(torch, name)
        theirs = [
            m for m in self.net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))
        ]
        with torch.no_grad():
            for layer, ours in zip(theirs, model.layers_in_order()):
                W = ours.W.data.T if isinstance(ours, Linear) else ours.W.data
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
                layer.bias.copy_(torch.from_numpy(ours.b.data))
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=LR, momentum=MOMENTUM)


def make_batches(name, n_batches=N_BATCHES, seed=0):
    """Float32 inputs in [0, 1) of the network's shape with integer labels."""
    batch, channels, size = SHAPES[name]
    rng = np.random.default_rng(seed)
    return [
        (
            rng.random((batch, channels, size, size), dtype=np.float32),
            rng.integers(0, CLASSES, batch),
        )
        for _ in range(n_batches)
    ]


def make_model(name, seed=0):
    """The dezero network ``name`` and its momentum SGD; the weights come from ``seed``."""
    np.random.seed(seed)
    model = MODELS[name]()
    return model, optimizers.MomentumSGD(LR, MOMENTUM).setup(model)


# ---- work and peak ----------------------------------------------------------------------
def step_flops(name):
    """Floating-point operations of one training step: the products of the forward
    pass, of the weights' gradients, and of the gradients of every layer's input but
    the first one's (the images need none)."""
    batch, channels, size = SHAPES[name]
    model = MODELS[name]()
    forward = []
    h, c = size, channels
    for layer in model.layers_in_order():
        if isinstance(layer, Linear):
            forward.append(2 * batch * layer.W.data.shape[0] * layer.W.data.shape[1])
            continue
        out, _, kh, kw = layer.W.data.shape
        forward.append(2 * batch * out * h * h * c * kh * kw)
        c = out
        if name == 'cifar' and layer in (model.c2, model.c4):
            h //= 2  # the pooling after it
    return 3 * sum(forward) - forward[0]


def gemm_peak(n=1024, repeat=5):
    """GFLOP/s of NumPy's float32 matrix product of two n x n matrices (best of
    ``repeat``), with the BLAS threads this process has."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    a @ b  # warm-up
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * n**3 / best / 1e9


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def check_same_training(torch, name, steps=3):
    """Train a copy of each side for ``steps`` steps on the same batches; return the
    largest relative difference of their losses (None without ``torch``) and the
    dtypes of dezero's parameters."""
    model, optimizer = make_model(name)
    batches = make_batches(name, steps)
    tnet = TorchNet(torch, name, model) if torch is not None else None
    losses = [float(training_step(model, optimizer, x, t).data) for x, t in batches]
    dtypes = sorted({str(p.dtype) for p in model.params()})
    if tnet is None:
        return None, dtypes
    worst = 0.0
    for ours, (xt, tt) in zip(losses, tnet.tensors(batches)):
        theirs = tnet.step(xt, tt).item()
        worst = max(worst, abs(ours - theirs) / abs(theirs))
    return worst, dtypes


# ---- running and reporting -------------------------------------------------------------
def run(repeat=REPEAT, steps=STEPS, use_torch=True, log=None, torch=None, names=tuple(SHAPES)):
    """Time both sides of each network; return a JSON-ready dict.  ``torch`` may be
    given (the module) instead of ``use_torch``."""
    log = log or (lambda msg: None)
    torch = torch or (load_torch() if use_torch else None)
    peak = gemm_peak()
    settle_allocator()
    result = {
        'config': {'repeat': repeat, 'steps': steps, 'shapes': SHAPES, 'lr': LR},
        'environment': environment(torch),
        'gemm_peak_gflops': peak,
        'cases': {},
    }
    for name in names:
        difference, dtypes = check_same_training(torch, name)
        batches = make_batches(name)
        model, optimizer = make_model(name)
        sides = {'dezero': (lambda x, t, m=model, o=optimizer: training_step(m, o, x, t), batches)}
        if torch is not None:
            tnet = TorchNet(torch, name, model)
            sides['torch'] = (tnet.step, tnet.tensors(batches))
        for step, data in sides.values():  # untimed warm-up
            time_steps(step, data, 1)
        faults = {side: [] for side in sides}

        def timed(side, step, data):
            before = minor_page_faults()
            seconds = time_steps(step, data, steps)
            if before is not None:
                faults[side].append((minor_page_faults() - before) / steps)
            return seconds

        times = alternate(
            {side: (lambda side=side, s=s: timed(side, *s)) for side, s in sides.items()},
            repeat,
            log,
            f'{name}: ',
        )
        flops = step_flops(name)
        case = {
            'flops': flops,
            'relative_difference': difference,
            'dtypes': dtypes,
            'dezero': spread(times['dezero']),
            'torch': spread(times['torch']) if torch is not None else None,
            'page_faults_per_step': {
                side: statistics.median(counts) if counts else None
                for side, counts in faults.items()
            },
        }
        for side in ('dezero', 'torch'):
            if case[side] is not None:
                case[f'{side}_peak_fraction'] = flops / case[side]['median_s'] / 1e9 / peak
        case['ratio_dezero_torch'] = (
            case['dezero']['median_s'] / case['torch']['median_s'] if torch is not None else None
        )
        case['paired_ratio_median'] = (
            paired_ratio_median(times['dezero'], times['torch']) if torch is not None else None
        )
        result['cases'][name] = case
    result['targets'] = targets(result)
    return result


def targets(result):
    found = []
    cifar = result['cases'].get('cifar')
    if cifar is not None:
        found += [
            make_target(
                f'cifar: dezero <= {MAX_RATIO} x PyTorch',
                cifar['ratio_dezero_torch'],
                MAX_RATIO,
                why_skipped='no PyTorch baseline',
            ),
            make_target(
                f'cifar: losses agree with PyTorch (relative difference '
                f'<= {MAX_RELATIVE_DIFFERENCE:g})',
                cifar['relative_difference'],
                MAX_RELATIVE_DIFFERENCE,
                why_skipped='no PyTorch baseline',
            ),
        ]
    for name, case in result['cases'].items():
        found.append(make_target(f'{name}: float32 only', case['dtypes'], ['float32'], op='=='))
    return found


def report_case(result):
    """Table lines: time per step of each side, median [min .. max], the ratio and
    the fraction of the matrix-product peak."""
    env = result['environment']
    blas = env['blas_threads'] or 'BLAS default threads'
    if env.get('blas_core'):
        blas += f', OpenBLAS {env["blas_core"]} kernels'
    lines = [
        f'    float32 matrix product 1024x1024 ({blas}): {result["gemm_peak_gflops"]:.1f} GFLOP/s',
        f'    {"network":<12}{"side":<8}{"ms per step, median [min .. max]":>36}'
        f'{"GFLOP/s":>10}{"of peak":>9}',
    ]
    for name, case in result['cases'].items():
        for side in ('dezero', 'torch'):
            if case[side] is None:
                continue
            rate = case['flops'] / case[side]['median_s'] / 1e9
            lines.append(
                f'    {name:<12}{side:<8}{format_spread(case[side], digits=1):>36}'
                f'{rate:>10.1f}{case[f"{side}_peak_fraction"]:>9.0%}'
            )
        if case['ratio_dezero_torch'] is not None:
            lines.append(
                f'    {name}: dezero / torch {case["ratio_dezero_torch"]:.2f}x; '
                f'{case["flops"] / 1e9:.2f} GFLOP a step; losses agree within '
                f'{case["relative_difference"]:.1e} (relative) after 3 steps'
            )
            lines.append(
                f"    {name}: median of the paired blocks' ratios dezero / torch "
                f'{case["paired_ratio_median"]:.2f}x'
            )
        counts = {k: v for k, v in case['page_faults_per_step'].items() if v is not None}
        if counts:
            lines.append(
                f'    {name}: page faults per step (median): '
                + ', '.join(f'{side} {count:,.0f}' for side, count in counts.items())
            )
    return lines


def report(result):
    env, cfg = result['environment'], result['config']
    lines = [
        f'dezero {env["dezero"]} convolutional networks at real sizes vs PyTorch  '
        f'({env["date"]}; Python {env["python"]}, NumPy {env["numpy"]}, PyTorch '
        f'{env["torch"] or "not used"}; {env["cpus"]} CPUs)',
        f'momentum SGD; {cfg["repeat"]} blocks of {cfg["steps"]} steps',
    ]
    return report_table(lines, report_case(result), result['targets'])


def main(argv=None):
    return torch_case_main(argv, __doc__, run, report, REPEAT, QUICK_REPEAT, STEPS, QUICK_STEPS)


if __name__ == '__main__':
    sys.exit(main())

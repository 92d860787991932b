"""Forward + backward time of dezero's conv2d and max pooling against PyTorch's CPU
kernels.

Run from anywhere:  ``python benchmarks/bench_conv.py [--quick] [--repeat N]
[--json PATH] [--check]``.

Cases (float32, NCHW, every input requires its gradient on both sides):

- conv2d: a batch of 32 images of 3 channels, 32x32, through 16 filters of 3x3 with
  padding 1 and a bias, then ``backward`` from a gradient of ones;
- max pooling: 2x2 windows with stride 2 over the (32, 16, 32, 32) conv output, then
  ``backward``.

Each measurement times ``--steps`` forward+backward passes; dezero and PyTorch
alternate, the medians of the per-pass times are reported with the ratio dezero /
PyTorch (PyTorch limited to one thread, as dezero's NumPy mostly is; its import is
followed by ``gc.freeze()`` so its objects do not slow dezero's garbage collections).
The script first checks that both sides compute the same outputs and gradients.
Target: dezero at most 2x PyTorch.  Without PyTorch only dezero's times are printed.
"""

import argparse
import gc
import os
import statistics
import sys
import time

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import numpy as np

import dezero.functions as F
from dezero import Variable
from benchmarks.common import (
    add_standard_options,
    environment,
    finish,
    load_torch,
    log,
    repeat_count,
    target_line,
)

BATCH, IN_CH, OUT_CH, SIZE, KERNEL, PAD = 32, 3, 16, 32, 3, 1
POOL = 2
STEPS, QUICK_STEPS = 10, 3
REPEAT, QUICK_REPEAT = 7, 3
MAX_RATIO = 2.0


def make_data(seed=0):
    """The input images, the filters and the bias (float32)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, IN_CH, SIZE, SIZE), dtype=np.float32)
    W = rng.standard_normal((OUT_CH, IN_CH, KERNEL, KERNEL), dtype=np.float32) * 0.2
    b = rng.standard_normal(OUT_CH, dtype=np.float32)
    return x, W, b


# --------------------------------------------------------------------------------------
# One forward + backward pass on each side; each returns what the check compares.
# --------------------------------------------------------------------------------------
def conv_dezero(x, W, b):
    xv, Wv, bv = Variable(x), Variable(W), Variable(b)
    y = F.conv2d(xv, Wv, bv, stride=1, pad=PAD)
    y.backward()
    return y.data, xv.grad.data, Wv.grad.data, bv.grad.data


def pool_dezero(h):
    hv = Variable(h)
    y = F.pooling(hv, POOL, stride=POOL)
    y.backward()
    return y.data, hv.grad.data


def conv_torch(torch, x, W, b):
    xt, Wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    y = torch.nn.functional.conv2d(xt, Wt, bt, stride=1, padding=PAD)
    y.backward(torch.ones_like(y))
    return y.detach().numpy(), xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


def pool_torch(torch, h):
    ht = torch.tensor(h, requires_grad=True)
    y = torch.nn.functional.max_pool2d(ht, POOL, stride=POOL)
    y.backward(torch.ones_like(y))
    return y.detach().numpy(), ht.grad.numpy()


def check_same_results(torch, x, W, b, h):
    """The largest relative difference between the two sides' outputs and gradients."""
    worst = 0.0
    pairs = list(zip(conv_dezero(x, W, b), conv_torch(torch, x, W, b)))
    pairs += list(zip(pool_dezero(h), pool_torch(torch, h)))
    for ours, theirs in pairs:
        scale = max(float(np.abs(theirs).max()), 1e-12)
        worst = max(worst, float(np.abs(ours - theirs).max()) / scale)
    return worst


def time_passes(fn, args, steps):
    """Mean seconds per pass over ``steps`` consecutive passes."""
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn(*args)
    return (time.perf_counter() - t0) / steps


# --------------------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------------------
def run(repeat=REPEAT, steps=STEPS, use_torch=True, log=None):
    """Time both cases on both sides; return a JSON-ready dict."""
    log = log or (lambda msg: None)
    torch = load_torch() if use_torch else None
    x, W, b = make_data()
    h = conv_dezero(x, W, b)[0]  # the pooling input: the conv output
    cases = {
        'conv2d': {'dezero': (conv_dezero, (x, W, b))},
        'max_pooling': {'dezero': (pool_dezero, (h,))},
    }
    if torch is not None:
        cases['conv2d']['torch'] = (conv_torch, (torch, x, W, b))
        cases['max_pooling']['torch'] = (pool_torch, (torch, h))
    result = {
        'config': {
            'batch': BATCH,
            'in_channels': IN_CH,
            'out_channels': OUT_CH,
            'size': SIZE,
            'kernel': KERNEL,
            'pad': PAD,
            'pool': POOL,
            'repeat': repeat,
            'steps': steps,
        },
        'environment': environment(torch),
        'max_relative_difference': (
            check_same_results(torch, x, W, b, h) if torch is not None else None
        ),
        'cases': {},
        'targets': [],
    }
    for name, sides in cases.items():
        for fn, args in sides.values():  # untimed warm-up
            fn(*args)
        times = {side: [] for side in sides}
        for r in range(repeat):
            log(f'  {name}: repeat {r + 1}/{repeat}')
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for side in order:
                fn, args = sides[side]
                times[side].append(time_passes(fn, args, steps))
        case = {
            side: {'times_s': ts, 'median_s': statistics.median(ts)} for side, ts in times.items()
        }
        if 'torch' in case:
            ratio = case['dezero']['median_s'] / case['torch']['median_s']
            case['ratio'] = ratio
            result['targets'].append(
                {
                    'name': f'{name}: dezero <= {MAX_RATIO} x PyTorch',
                    'value': ratio,
                    'passed': ratio <= MAX_RATIO,
                }
            )
        result['cases'][name] = case
    return result


def report(result):
    env, cfg = result['environment'], result['config']
    lines = [
        f'dezero {env["dezero"]} conv2d / max pooling, forward + backward  '
        f'({env["date"]}; Python {env["python"]}, NumPy {env["numpy"]}, PyTorch '
        f'{env["torch"] or "not installed"}; {env["cpus"]} CPUs)',
        f'x ({cfg["batch"]}, {cfg["in_channels"]}, {cfg["size"]}, {cfg["size"]}) '
        f'float32, {cfg["out_channels"]} filters {cfg["kernel"]}x{cfg["kernel"]} pad '
        f'{cfg["pad"]}; pooling {cfg["pool"]}x{cfg["pool"]} stride {cfg["pool"]}; '
        f'medians of {cfg["repeat"]} x {cfg["steps"]} passes',
        '',
    ]
    if result['max_relative_difference'] is not None:
        lines.append(
            f'largest relative difference from PyTorch (outputs and gradients): '
            f'{result["max_relative_difference"]:.1e}'
        )
        lines.append('')
    lines.append(f'    {"case":<12} {"dezero":>10}   {"torch":>10}   {"ratio":>6}')
    for name, case in result['cases'].items():
        torch_col = (
            f'{case["torch"]["median_s"] * 1e3:7.2f} ms' if 'torch' in case else f'{"-":>10}'
        )
        ratio = f'{case["ratio"]:5.2f}x' if 'ratio' in case else f'{"-":>6}'
        lines.append(
            f'    {name:<12} {case["dezero"]["median_s"] * 1e3:7.2f} ms   {torch_col}   {ratio}'
        )
    lines.append('')
    lines += [target_line(t) for t in result['targets']]
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_standard_options(p, REPEAT, QUICK_REPEAT, 'short version: 3 x 3 passes')
    p.add_argument('--no-torch', action='store_true', help='skip the PyTorch baseline')
    args = p.parse_args(argv)
    repeat = repeat_count(p, args, REPEAT, QUICK_REPEAT)
    steps = QUICK_STEPS if args.quick else STEPS
    if not args.no_torch:
        load_torch()
    gc.collect()
    gc.freeze()
    result = run(repeat, steps, use_torch=not args.no_torch, log=log)
    return finish(result, report(result), args)


if __name__ == '__main__':
    sys.exit(main())

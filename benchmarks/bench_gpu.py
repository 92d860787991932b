"""Time per training step of a large MLP on the CPU (NumPy) and on the GPU (CuPy).

Run from anywhere:  ``python benchmarks/bench_gpu.py [--quick] [--repeat N]
[--hidden N] [--batch N] [--json PATH]``.

The network is ``MLP((hidden, hidden, 10))`` with ReLU on 784 float32 inputs, softmax
cross entropy and plain SGD; one step is forward, ``cleargrads``, backward and the
update, as in ``examples/mnist.py``.  Both sides start from the same weights and see the
same batches (already on their device: moving the data is not timed).  GPU steps end
with a device synchronisation, so the time is the work done, not the work queued.  The
sides alternate; the medians are reported with the ratio CPU / GPU (how many times
faster the GPU is).  Without CuPy or a usable GPU the script says why and exits 0.

Defaults: hidden 4096, batch 1000 (``--quick``: hidden 1024, batch 250).
"""

import argparse
import os
import sys
import time

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import numpy as np

import dezero.functions as F
from dezero import cuda, optimizers
from dezero.models import MLP
from benchmarks.common import (
    add_standard_options,
    alternate,
    environment,
    finish,
    format_spread,
    log,
    repeat_count,
    spread,
    training_step,
)

IN_SIZE, OUT_SIZE, LR = 784, 10, 0.01
HIDDEN, BATCH, QUICK_HIDDEN, QUICK_BATCH = 4096, 1000, 1024, 250
STEPS = 5  # steps per timed block
REPEAT, QUICK_REPEAT = 7, 3


def make_side(hidden, batch, xp, seed=0):
    """A model, its optimizer and a batch on the device of the array module ``xp``
    (NumPy or CuPy), from weights and data drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch, IN_SIZE), dtype=np.float32)
    t = rng.integers(0, OUT_SIZE, batch)
    np.random.seed(seed)
    model = MLP((hidden, hidden, OUT_SIZE), activation=F.relu)
    model(x[:1])  # create the weights on the CPU
    if xp is not np:
        model.to_gpu()
        x, t = cuda.as_cupy(x), cuda.as_cupy(t)
    return model, optimizers.SGD(LR).setup(model), x, t


def synchronize(xp):
    """Wait for the GPU to finish what it was given (nothing to do for NumPy)."""
    if xp is not np:
        xp.cuda.Device().synchronize()


def time_block(side, xp, steps=STEPS):
    """Seconds per step over ``steps`` steps in a row."""
    synchronize(xp)
    start = time.perf_counter()
    for _ in range(steps):
        training_step(*side)
    synchronize(xp)
    return (time.perf_counter() - start) / steps


def run(hidden, batch, repeat, xp, steps=STEPS, log=None):
    """Check that the two sides compute the same loss, then time them; a JSON-ready
    dict."""
    log = log or (lambda message: None)
    cpu, gpu = make_side(hidden, batch, np), make_side(hidden, batch, xp)
    losses = [float(cuda.as_numpy(training_step(*side).data)) for side in (cpu, gpu)]
    times = alternate(
        {'cpu': lambda: time_block(cpu, np, steps), 'gpu': lambda: time_block(gpu, xp, steps)},
        repeat,
        log,
        'gpu: ',
    )
    result = {
        'config': {'hidden': hidden, 'batch': batch, 'repeat': repeat, 'steps': steps},
        'first_losses': losses,
        'cpu': spread(times['cpu']),
        'gpu': spread(times['gpu']),
    }
    result['ratio_cpu_gpu'] = result['cpu']['median_s'] / result['gpu']['median_s']
    return result


def report(result):
    """The table of one run."""
    c = result['config']
    return '\n'.join(
        [
            f'MLP(({c["hidden"]}, {c["hidden"]}, 10)), ReLU, batch {c["batch"]}, float32, '
            f'SGD; ms per training step ({c["repeat"]} blocks of {c["steps"]})',
            f'    CPU (NumPy)   {format_spread(result["cpu"])}',
            f'    GPU (CuPy)    {format_spread(result["gpu"])}',
            f'    CPU / GPU: {result["ratio_cpu_gpu"]:.1f}x  (first losses '
            f'{result["first_losses"][0]:.6f} and {result["first_losses"][1]:.6f})',
        ]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_standard_options(
        parser, REPEAT, QUICK_REPEAT, f'hidden {QUICK_HIDDEN}, batch {QUICK_BATCH}, fewer repeats'
    )
    parser.add_argument('--hidden', type=int, default=None)
    parser.add_argument('--batch', type=int, default=None)
    args = parser.parse_args(argv)
    repeat = repeat_count(parser, args, REPEAT, QUICK_REPEAT)
    try:
        xp = cuda.require_gpu('bench_gpu')
    except RuntimeError as e:
        print(f'{e}; nothing was timed')
        return 0
    hidden = args.hidden or (QUICK_HIDDEN if args.quick else HIDDEN)
    batch = args.batch or (QUICK_BATCH if args.quick else BATCH)
    result = run(hidden, batch, repeat, xp, log=log)
    result['environment'] = environment()
    result['targets'] = []
    return finish(result, report(result), args)


if __name__ == '__main__':
    sys.exit(main())

"""Peak memory of one forward + backward pass of a deep MLP, against the least that a
backward pass needs; and two checks that the engine lets go of what it no longer uses.

Run from anywhere:  ``python benchmarks/bench_memory.py [--quick] [--json PATH]
[--check]``.

The network is ``MLP([512] * 20)`` (20 ``Linear`` layers 512 wide, the default sigmoid
between them), float32, on a batch x of 512 x 512 with a target t of the same shape and
the loss ``F.mean_squared_error(y, t)``.  After one warm-up step (so every weight
exists), ``model.cleargrads()``; then ``tracemalloc`` (which sees NumPy's allocations)
is reset and started and the garbage collector disabled, the forward pass and
``loss.backward()`` run, and the peak of traced memory is read above what was traced
just before the forward.

The minimum, from the shapes (B = batch = 512, W = width = 512, L = layers = 20,
4 bytes per float32; one activation A = B W 4 bytes = 1 MiB):

    (L - 1) A     the hidden sigmoid outputs: the inputs of Linear 1 .. L-1, which
                  their backward reads (the gradient of W is xᵀ gy), and what each
                  sigmoid's backward reads (its derivative is y (1 - y))
    + A           the network's output y, which the loss backward reads (with t)
    + L (W² + W) 4 B   the parameter gradients the pass must produce
    + 2 A         a working set: the gradient flowing into a layer and the one
                  flowing out of it
    = (L + 2) A + L (W² + W) 4 B  = 22 MiB + 20.04 MiB = 42.04 MiB

The batch x (the first Linear's input) and t exist before the forward, so they are not
part of the increase and not counted.  Sigmoid's input, the pre-activation, is not
needed by any backward.  Target (issue 8): peak / minimum <= 1.3.

Two more checks, each a target:

(a) after ``del loss, y`` (the user drops the graph; the collector still disabled), the
    traced memory is back to what it was before the forward plus the parameter
    gradients: the leftover (above the gradients' array bytes) is at most 1% of the
    peak or 8 KiB, whichever is larger — nothing else stays alive, and nothing waits
    for the garbage collector;
(b) intermediate gradients are released during backward: the peak with
    ``backward(retain_grad=False)`` is below that with ``retain_grad=True`` by at least
    half the size of L activation-sized gradients (one per layer).
"""

import argparse
import gc
import os
import sys
import tracemalloc

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import numpy as np

import dezero.functions as F
from dezero.models import MLP
from benchmarks.common import (
    environment,
    finish,
    json_path,
    make_target,
    report_table,
)

LAYERS, WIDTH, BATCH = 20, 512, 512
MAX_PEAK_RATIO = 1.3
LEFTOVER_FRACTION, LEFTOVER_BYTES = 0.01, 8 * 1024
MIN_RETAIN_SAVING = 0.5  # in activation-sized gradients per layer
MiB = 2**20


def minimum_bytes(layers=LAYERS, width=WIDTH, batch=BATCH, itemsize=4):
    """The least memory one forward + backward must hold at its peak (see the module's
    docstring): a dict of the parts and their ``total``, in bytes."""
    activation = batch * width * itemsize
    parts = {
        'hidden_outputs': (layers - 1) * activation,
        'network_output': activation,
        'parameter_gradients': layers * (width * width + width) * itemsize,
        'working_set': 2 * activation,
    }
    parts['total'] = sum(parts.values())
    return parts


def make_setup(layers=LAYERS, width=WIDTH, batch=BATCH, seed=0):
    """The model after one warm-up step (all weights exist), the batch and the target."""
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    model = MLP([width] * layers)
    x = rng.random((batch, width), dtype=np.float32)
    t = rng.random((batch, width), dtype=np.float32)
    loss = F.mean_squared_error(model(x), t)
    loss.backward()
    return model, x, t


def traced_pass(model, x, t, retain_grad=False):
    """One forward + backward under tracemalloc with the garbage collector disabled.

    Returns bytes above what was traced just before the forward: ``peak``, ``after``
    (once ``loss`` and ``y`` are deleted), ``gradients`` (the parameter gradients' array
    bytes) and ``leftover`` (``after`` minus ``gradients``)."""
    model.cleargrads()
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        y = model(x)
        loss = F.mean_squared_error(y, t)
        loss.backward(retain_grad=retain_grad)
        peak = tracemalloc.get_traced_memory()[1] - base
        del loss, y
        after = tracemalloc.get_traced_memory()[0] - base
    finally:
        if not tracing:
            tracemalloc.stop()
        if collecting:
            gc.enable()
    gradients = sum(p.grad.data.nbytes for p in model.params() if p.grad is not None)
    return {'peak': peak, 'after': after, 'gradients': gradients, 'leftover': after - gradients}


def run(layers=LAYERS, width=WIDTH, batch=BATCH, log=None):
    """Measure; return a JSON-ready dict with ``targets``."""
    log = log or (lambda msg: None)
    log(f'  memory: MLP([{width}] * {layers}), batch {batch}')
    model, x, t = make_setup(layers, width, batch)
    plain = traced_pass(model, x, t)
    retained = traced_pass(model, x, t, retain_grad=True)
    minimum = minimum_bytes(layers, width, batch, x.itemsize)
    activation = batch * width * x.itemsize
    ratio = plain['peak'] / minimum['total']
    leftover_limit = max(LEFTOVER_FRACTION * plain['peak'], LEFTOVER_BYTES)
    saving = (retained['peak'] - plain['peak']) / (layers * activation)
    return {
        'config': {'layers': layers, 'width': width, 'batch': batch, 'dtype': 'float32'},
        'environment': environment(),
        'minimum': minimum,
        'retain_grad_false': plain,
        'retain_grad_true': retained,
        'peak_ratio': ratio,
        'leftover_limit': leftover_limit,
        'retain_saving_in_layer_gradients': saving,
        'targets': [
            make_target(f'memory: peak / minimum <= {MAX_PEAK_RATIO}', ratio, MAX_PEAK_RATIO),
            make_target(
                f'memory: KiB left after del loss, y <= max('
                f'{LEFTOVER_FRACTION:.0%} of the peak, '
                f'{LEFTOVER_BYTES // 1024} KiB)',
                plain['leftover'] / 1024,
                leftover_limit / 1024,
            ),
            make_target(
                f'memory: peak with retain_grad=True above the default by >= '
                f'{MIN_RETAIN_SAVING} x {layers} activation gradients',
                saving,
                MIN_RETAIN_SAVING,
                op='>=',
            ),
        ],
    }


def report_case(result):
    """Table lines: the minimum's parts, the two peaks and the leftover."""
    m, plain = result['minimum'], result['retain_grad_false']
    kept = result['retain_grad_true']
    return [
        f'    minimum: {m["hidden_outputs"] / MiB:.2f} MiB hidden outputs + '
        f'{m["network_output"] / MiB:.2f} network output + '
        f'{m["parameter_gradients"] / MiB:.2f} parameter gradients + '
        f'{m["working_set"] / MiB:.2f} working set = {m["total"] / MiB:.2f} MiB',
        f'    peak, retain_grad=False: {plain["peak"] / MiB:8.2f} MiB   '
        f'({result["peak_ratio"]:.2f} x the minimum)',
        f'    peak, retain_grad=True:  {kept["peak"] / MiB:8.2f} MiB   '
        f'(+{(kept["peak"] - plain["peak"]) / MiB:.2f} MiB = '
        f'{result["retain_saving_in_layer_gradients"]:.2f} x {result["config"]["layers"]} '
        f'activation gradients)',
        f'    after del loss, y:       {plain["after"] / MiB:8.2f} MiB   (parameter '
        f'gradients {plain["gradients"] / MiB:.2f} MiB; leftover '
        f'{plain["leftover"] / 1024:.1f} KiB, limit {result["leftover_limit"] / 1024:.1f} '
        f'KiB)',
    ]


def report(result):
    env, cfg = result['environment'], result['config']
    lines = [
        f'dezero {env["dezero"]} memory of one forward + backward  ({env["date"]}; '
        f'Python {env["python"]}, NumPy {env["numpy"]})',
        f'MLP([{cfg["width"]}] * {cfg["layers"]}), sigmoid, {cfg["dtype"]}, batch '
        f'{cfg["batch"]}, mean squared error; traced by tracemalloc',
    ]
    return report_table(lines, report_case(result), result['targets'])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument(
        '--quick', action='store_true', help='accepted for symmetry: the run takes a second anyway'
    )
    p.add_argument('--json', metavar='PATH', type=json_path, help='also write the results as JSON')
    p.add_argument(
        '--check', action='store_true', help='exit with status 1 when a target is missed'
    )
    args = p.parse_args(argv)
    result = run()
    return finish(result, report(result), args)


if __name__ == '__main__':
    sys.exit(main())

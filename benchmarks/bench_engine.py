"""Speed of dezero's backward engine, and the same cases in PyTorch and HIPS autograd
for scale.

Run from anywhere:  ``python benchmarks/bench_engine.py [--quick] [--repeat N]
[--json PATH] [--check] [--no-torch] [--no-autograd]``.

Three figures, all taken in one run on one machine:

(a) chain: forward + backward of a chain of scalar operations (alternately
    ``x = x * 0.999`` and ``x = x + 0.001`` on a 0-d float64 Variable, then
    ``y.backward()``), reported as time per operation;
(b) tree:  backward only (the graph is built outside the timed region) of a
    pairwise-sum tree over 4,096, 8,192 and 16,384 leaves, and the ratio of the times
    per doubling of the leaves (linear cost means about 2);
(c) the same two cases with PyTorch scalar tensors that require gradients
    (``torch.set_num_threads(1)``) and with HIPS autograd (``pip install autograd``),
    each when installed, and the ratios dezero / baseline.  autograd's chain is
    ``autograd.grad`` of the chain function (trace + backward); its tree is built from
    one root node per leaf with autograd's tracer, and only its ``backward_pass`` over
    the tree is timed, as on the other two sides.

Targets (issue 8): doubling ratio <= 2.2; tree backward <= 2x PyTorch's time at every
size; chain time per operation <= 1.0x PyTorch's.  Every measurement is repeated
(``--repeat``, default 7), the sides alternate in a rotating order, and medians are
reported; shared machines are noisy, so look at ratios rather than absolute times.  The
PASS/FAIL lines are informational: the exit status is 0 unless ``--check`` is given.
"""

import argparse
import gc
import os
import sys
import time

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import numpy as np

from dezero import Variable
from benchmarks.common import (
    add_standard_options,
    environment,
    finish,
    freeze_gc,
    load_autograd,
    load_torch,
    log,
    make_target,
    paired_ratio_median,
    repeat_count,
    rotated,
    spread,
    target_line,
)

CHAIN_OPS = 20_000
QUICK_CHAIN_OPS = 4_000
TREE_LEAVES = (4_096, 8_192, 16_384)
REPEAT = 7
QUICK_REPEAT = 3
MUL, ADD = 0.999, 0.001  # chain constants: values stay bounded, grads finite
MAX_DOUBLING_RATIO = 2.2
MAX_TREE_RATIO_VS_TORCH = 2.0
MAX_CHAIN_RATIO_VS_TORCH = 1.0
SIDES = ('dezero', 'torch', 'autograd')


# --------------------------------------------------------------------------------------
# The cases.  Each ``time_*`` function builds a fresh graph and returns seconds.
# --------------------------------------------------------------------------------------
def apply_chain(x, n_ops):
    """``n_ops`` operations on ``x``, alternately ``* MUL`` and ``+ ADD`` (any type with
    those operators: a Variable, a tensor, an autograd box)."""
    for i in range(n_ops):
        x = x * MUL if i % 2 == 0 else x + ADD
    return x


def chain_dezero(n_ops):
    """Build a chain of ``n_ops`` scalar operations; return (input, output)."""
    x0 = Variable(np.array(1.0))
    return x0, apply_chain(x0, n_ops)


def chain_grad(n_ops):
    """The exact derivative of the chain's output with respect to its input."""
    return MUL ** ((n_ops + 1) // 2)


def time_chain_dezero(n_ops):
    """Forward + backward of the chain; the graph is dropped after the timed region."""
    gc.collect()
    t0 = time.perf_counter()
    x0, y = chain_dezero(n_ops)
    y.backward()
    t = time.perf_counter() - t0
    del x0, y
    return t


def pairwise_sum(leaves):
    """Sum adjacent pairs level by level until one value remains (works for any type
    with ``+``: dezero Variables and PyTorch tensors alike)."""
    level = leaves
    while len(level) > 1:
        nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def tree_dezero(n_leaves):
    """Leaves as Variables summed pairwise. Return (leaves, root)."""
    leaves = [Variable(np.array(float(i))) for i in range(n_leaves)]
    return leaves, pairwise_sum(leaves)


def time_tree_dezero(n_leaves):
    """Backward only of the pairwise-sum tree."""
    leaves, root = tree_dezero(n_leaves)
    gc.collect()
    t0 = time.perf_counter()
    root.backward()
    t = time.perf_counter() - t0
    del leaves, root
    return t


def time_chain_torch(torch, n_ops):
    gc.collect()
    t0 = time.perf_counter()
    x0 = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    x = apply_chain(x0, n_ops)
    x.backward()
    t = time.perf_counter() - t0
    del x0, x
    return t


def time_tree_torch(torch, n_leaves):
    leaves = [
        torch.tensor(float(i), dtype=torch.float64, requires_grad=True) for i in range(n_leaves)
    ]
    root = pairwise_sum(leaves)
    gc.collect()
    t0 = time.perf_counter()
    root.backward()
    t = time.perf_counter() - t0
    del leaves, root
    return t


def chain_autograd(autograd, n_ops):
    """d(chain)/dx at x = 1 with ``autograd.grad`` (traces and back-propagates)."""
    return autograd.grad(lambda x: apply_chain(x, n_ops))(1.0)


def time_chain_autograd(autograd, n_ops):
    gc.collect()
    t0 = time.perf_counter()
    chain_autograd(autograd, n_ops)
    return time.perf_counter() - t0


def tree_autograd(n_leaves):
    """The pairwise-sum tree traced by autograd, every leaf a root node of its own (a
    function of one list argument would add an indexing node per leaf, whose backward
    fills a whole list: quadratic).  Returns (leaves, root); ``backward_pass(g,
    root._node)`` then visits the whole tree, as ``backward`` does on the other sides."""
    from autograd.core import VJPNode
    from autograd.tracer import new_box, trace_stack

    with trace_stack.new_trace() as trace:
        leaves = [new_box(float(i), trace, VJPNode.new_root()) for i in range(n_leaves)]
        root = pairwise_sum(leaves)
    return leaves, root


def time_tree_autograd(autograd, n_leaves):
    from autograd.core import backward_pass

    leaves, root = tree_autograd(n_leaves)
    gc.collect()
    t0 = time.perf_counter()
    backward_pass(1.0, root._node)
    t = time.perf_counter() - t0
    del leaves, root
    return t


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------
def _timers(kind, torch, autograd):
    """side -> function of the graph size returning seconds, for the sides given."""
    timers = {'dezero': {'chain': time_chain_dezero, 'tree': time_tree_dezero}[kind]}
    if torch is not None:
        fn = {'chain': time_chain_torch, 'tree': time_tree_torch}[kind]
        timers['torch'] = lambda n, fn=fn: fn(torch, n)
    if autograd is not None:
        fn = {'chain': time_chain_autograd, 'tree': time_tree_autograd}[kind]
        timers['autograd'] = lambda n, fn=fn: fn(autograd, n)
    return timers


def _measure(timers, sizes, repeat, warmup_size, log, label):
    """One untimed warm-up of each side, then ``repeat`` rounds over the sizes, the
    sides in a rotating order; returns side -> size -> list of seconds."""
    for fn in timers.values():
        fn(warmup_size)
    times = {side: {n: [] for n in sizes} for side in timers}
    for r in range(repeat):
        log(f'  {label}: repeat {r + 1}/{repeat}')
        for n in sizes:
            for side in rotated(list(timers), r):
                times[side][n].append(timers[side](n))
    return times


def _with_per_item(times, n):
    s = spread(times)
    s['per_item_us'] = s['median_s'] / n * 1e6
    return s


def run_chain(sizes=(CHAIN_OPS,), repeat=REPEAT, torch=None, autograd=None, log=None):
    """Forward + backward of chains of each length in ``sizes`` on every side given.

    Returns a dict: ``sizes`` (length -> each side's timings, per op in ``per_item_us``,
    and the ratios dezero / baseline), and the same entries for the longest chain at
    the top level, with ``ops``, its length (the one the target uses)."""
    log = log or (lambda msg: None)
    sizes = sorted(sizes)
    timers = _timers('chain', torch, autograd)
    times = _measure(timers, sizes, repeat, min(sizes[0], 1000), log, 'chain')
    per_size = {}
    for n in sizes:
        entry = {
            side: (_with_per_item(times[side][n], n) if side in times else None) for side in SIDES
        }
        for base in ('torch', 'autograd'):
            entry[f'ratio_dezero_{base}'] = (
                entry['dezero']['median_s'] / entry[base]['median_s'] if entry[base] else None
            )
        entry['paired_ratio_median'] = (
            paired_ratio_median(times['dezero'][n], times['torch'][n]) if 'torch' in times else None
        )
        per_size[str(n)] = entry
    return {'ops': sizes[-1], **per_size[str(sizes[-1])], 'sizes': per_size}


def run_tree(leaves=TREE_LEAVES, repeat=REPEAT, torch=None, autograd=None, log=None):
    """Backward only of the pairwise-sum tree over each number of ``leaves``.

    Returns side -> {``sizes``: leaves -> timings, ``doubling_ratios``} (None for a
    baseline not given) and ``ratio_dezero_<baseline>``: leaves -> ratio of medians."""
    log = log or (lambda msg: None)
    leaves = sorted(leaves)
    timers = _timers('tree', torch, autograd)
    times = _measure(timers, leaves, repeat, leaves[0], log, 'tree')
    result = {}
    for side in SIDES:
        if side not in times:
            result[side] = None
            continue
        per_size = {str(n): _with_per_item(times[side][n], n) for n in leaves}
        medians = [per_size[str(n)]['median_s'] for n in leaves]
        result[side] = {
            'sizes': per_size,
            'doubling_ratios': [b / a for a, b in zip(medians, medians[1:])],
        }
    for base in ('torch', 'autograd'):
        result[f'ratio_dezero_{base}'] = (
            {
                str(n): result['dezero']['sizes'][str(n)]['median_s']
                / result[base]['sizes'][str(n)]['median_s']
                for n in leaves
            }
            if result[base]
            else None
        )
    return result


def chain_targets(chain):
    """The chain's target: time per op at most MAX_CHAIN_RATIO_VS_TORCH x PyTorch's."""
    return [
        make_target(
            f'chain: dezero time per op <= {MAX_CHAIN_RATIO_VS_TORCH} x PyTorch',
            chain['ratio_dezero_torch'],
            MAX_CHAIN_RATIO_VS_TORCH,
            why_skipped='no PyTorch baseline',
        )
    ]


def tree_targets(tree):
    """The tree's targets: the worst doubling ratio, and the worst ratio to PyTorch."""
    doubling = tree['dezero']['doubling_ratios']
    vs_torch = tree['ratio_dezero_torch']
    return [
        make_target(
            f'tree backward: doubling ratio <= {MAX_DOUBLING_RATIO}',
            max(doubling) if doubling else None,
            MAX_DOUBLING_RATIO,
            why_skipped='needs two sizes',
        ),
        make_target(
            f'tree backward: dezero <= {MAX_TREE_RATIO_VS_TORCH} x PyTorch (worst size)',
            max(vs_torch.values()) if vs_torch else None,
            MAX_TREE_RATIO_VS_TORCH,
            why_skipped='no PyTorch baseline',
        ),
    ]


def run(
    chain_ops=CHAIN_OPS,
    tree_leaves=TREE_LEAVES,
    repeat=REPEAT,
    use_torch=True,
    use_autograd=True,
    log=None,
):
    """Run both cases, alternating dezero and the baselines; return a dict.

    Keys: ``config``, ``environment``, ``chain`` (see :func:`run_chain`), ``tree`` (see
    :func:`run_tree`) and ``targets`` (list of checks)."""
    torch = load_torch() if use_torch else None
    autograd = load_autograd() if use_autograd else None
    chain = run_chain((chain_ops,), repeat, torch, autograd, log)
    tree = run_tree(tree_leaves, repeat, torch, autograd, log)
    return {
        'config': {'chain_ops': chain_ops, 'tree_leaves': list(tree_leaves), 'repeat': repeat},
        'environment': environment(torch, autograd),
        'chain': chain,
        'tree': tree,
        'targets': tree_targets(tree) + chain_targets(chain),
    }


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------
def _us_spread(s, n):
    """Per-item median [min .. max] in microseconds."""
    return (
        f'{s["median_s"] / n * 1e6:6.2f} [{s["min_s"] / n * 1e6:.2f} .. {s["max_s"] / n * 1e6:.2f}]'
    )


def _ms_spread(s):
    return f'{s["median_s"] * 1e3:7.2f} [{s["min_s"] * 1e3:.2f} .. {s["max_s"] * 1e3:.2f}]'


def _ratio(r):
    return f'{r:5.2f}x' if r is not None else f'{"-":>6}'


def report_chain(chain):
    """Table lines of :func:`run_chain`'s result: per op, median [min .. max], and the
    ratios of the medians."""
    sides = [s for s in SIDES if chain[s] is not None]
    lines = [
        'time per op in us, median [min .. max]',
        f'    {"ops":>8}  '
        + ''.join(f'{s:>24}' for s in sides)
        + ''.join(f'{"dezero/" + s:>17}' for s in sides[1:]),
    ]
    for n, entry in chain['sizes'].items():
        lines.append(
            f'    {int(n):>8,}  '
            + ''.join(f'{_us_spread(entry[s], int(n)):>24}' for s in sides)
            + ''.join(f'{_ratio(entry["ratio_dezero_" + s]):>17}' for s in sides[1:])
        )
    if chain['paired_ratio_median'] is not None:
        lines.append(
            f"    {chain['ops']:,} ops: median of the paired runs' ratios "
            f'dezero / torch {chain["paired_ratio_median"]:.2f}x'
        )
    return lines


def report_tree(tree):
    """Table lines of :func:`run_tree`'s result: backward time, median [min .. max],
    and the ratio to the time at half as many leaves (``x prev``)."""
    sides = [s for s in SIDES if tree[s] is not None]
    lines = [
        'ms, median [min .. max]; x prev = time over that of half as many leaves',
        f'    {"leaves":>8}  '
        + ''.join(f'{s:>24}{"x prev":>8}' for s in sides)
        + ''.join(f'{"dezero/" + s:>17}' for s in sides[1:]),
    ]
    sizes = list(tree['dezero']['sizes'])
    for i, n in enumerate(sizes):
        row = f'    {int(n):>8,}  '
        for s in sides:
            dbl = f'{tree[s]["doubling_ratios"][i - 1]:8.2f}' if i else f'{"":>8}'
            row += f'{_ms_spread(tree[s]["sizes"][n]):>24}{dbl}'
        row += ''.join(f'{_ratio(tree["ratio_dezero_" + s][n]):>17}' for s in sides[1:])
        lines.append(row)
    return lines


def report(result):
    """The result as a printable table."""
    env, cfg = result['environment'], result['config']
    lines = [
        f'dezero {env["dezero"]} engine benchmark  ({env["date"]}; Python '
        f'{env["python"]}, NumPy {env["numpy"]}, PyTorch '
        f'{env["torch"] or "not used"}, autograd {env["autograd"] or "not used"}; '
        f'{env["cpus"]} CPUs)',
        f'{cfg["repeat"]} runs of each measurement',
        '',
    ]
    lines.append('(a) chain of scalar ops, forward + backward')
    lines += report_chain(result['chain'])
    lines.append('')
    lines.append('(b, c) pairwise-sum tree, backward only')
    lines += report_tree(result['tree'])
    lines.append('')
    lines += [target_line(t) for t in result['targets']]
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_standard_options(
        p,
        REPEAT,
        QUICK_REPEAT,
        f'short version: chain of {QUICK_CHAIN_OPS:,} ops, {QUICK_REPEAT} repeats',
    )
    p.add_argument('--no-torch', action='store_true', help='skip the PyTorch baseline')
    p.add_argument('--no-autograd', action='store_true', help='skip the HIPS autograd baseline')
    args = p.parse_args(argv)
    repeat = repeat_count(p, args, REPEAT, QUICK_REPEAT)
    chain_ops = QUICK_CHAIN_OPS if args.quick else CHAIN_OPS
    if not args.no_torch:
        load_torch()
    if not args.no_autograd:
        load_autograd()
    freeze_gc()  # each side is then timed on its own garbage (see common.py)
    result = run(
        chain_ops=chain_ops,
        repeat=repeat,
        use_torch=not args.no_torch,
        use_autograd=not args.no_autograd,
        log=log,
    )
    return finish(result, report(result), args)


if __name__ == '__main__':
    sys.exit(main())

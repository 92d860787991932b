"""Speed of dezero's backward engine, and the same cases in PyTorch for scale.

Run from anywhere:  ``python benchmarks/bench_engine.py [--quick] [--repeat N]
[--json PATH] [--check] [--no-torch]``.

Three figures, all taken in one run on one machine:

(a) chain: forward + backward of a chain of scalar operations (alternately
    ``x = x * 0.999`` and ``x = x + 0.001`` on a 0-d float64 Variable, then
    ``y.backward()``), reported as time per operation;
(b) tree:  backward only (the graph is built outside the timed region) of a
    pairwise-sum tree over 4,096, 8,192 and 16,384 leaves, and the ratio of the times
    per doubling of the leaves (linear cost means about 2);
(c) when PyTorch is installed, the same two cases with scalar tensors that require
    gradients (``torch.set_num_threads(1)``), and the ratios dezero / PyTorch.

Targets (from the design issue): doubling ratio <= 2.3; chain time per operation
<= 1.5 x PyTorch's.  Every measurement is repeated (``--repeat``, default 7), dezero
and PyTorch runs alternate, and medians are reported; shared machines are noisy, so look
at ratios rather than absolute times.  The PASS/FAIL lines are informational: the exit
status is 0 unless ``--check`` is given.
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

import numpy as np  # noqa: E402

from dezero import Variable  # noqa: E402
from benchmarks.common import (add_standard_options, environment, finish,  # noqa: E402
                               load_torch, log, repeat_count, target_line)

CHAIN_OPS = 20_000
QUICK_CHAIN_OPS = 4_000
TREE_LEAVES = (4_096, 8_192, 16_384)
REPEAT = 7
QUICK_REPEAT = 3
MUL, ADD = 0.999, 0.001             # chain constants: values stay bounded, grads finite
MAX_DOUBLING_RATIO = 2.3
MAX_CHAIN_RATIO_VS_TORCH = 1.5


# --------------------------------------------------------------------------------------
# The cases.  Each ``time_*`` function builds a fresh graph and returns seconds.
# --------------------------------------------------------------------------------------
def chain_dezero(n_ops):
    """Build a chain of ``n_ops`` scalar operations; return (input, output)."""
    x0 = Variable(np.array(1.0))
    x = x0
    for i in range(n_ops):
        x = x * MUL if i % 2 == 0 else x + ADD
    return x0, x


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
    x = x0
    for i in range(n_ops):
        x = x * MUL if i % 2 == 0 else x + ADD
    x.backward()
    t = time.perf_counter() - t0
    del x0, x
    return t


def time_tree_torch(torch, n_leaves):
    leaves = [torch.tensor(float(i), dtype=torch.float64, requires_grad=True)
              for i in range(n_leaves)]
    root = pairwise_sum(leaves)
    gc.collect()
    t0 = time.perf_counter()
    root.backward()
    t = time.perf_counter() - t0
    del leaves, root
    return t


# --------------------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------------------
def _summary(times, per=1):
    return {'times_s': times, 'median_s': statistics.median(times), 'min_s': min(times),
            'max_s': max(times), 'per_item_us': statistics.median(times) / per * 1e6}


def run(chain_ops=CHAIN_OPS, tree_leaves=TREE_LEAVES, repeat=REPEAT, use_torch=True,
        log=None):
    """Run every case ``repeat`` times, alternating dezero and PyTorch; return a dict.

    Keys: ``config``, ``environment``, ``chain`` and ``tree`` (each with ``dezero``,
    ``torch`` (None without PyTorch) and ratios), and ``targets`` (list of checks).
    """
    torch = load_torch() if use_torch else None
    log = log or (lambda msg: None)

    # One untimed warm-up of each side (imports, caches, allocator).
    time_chain_dezero(min(chain_ops, 1000))
    time_tree_dezero(min(tree_leaves))
    if torch is not None:
        time_chain_torch(torch, min(chain_ops, 1000))
        time_tree_torch(torch, min(tree_leaves))

    chain = {'dezero': [], 'torch': []}
    tree = {n: {'dezero': [], 'torch': []} for n in tree_leaves}
    for r in range(repeat):
        log(f'  repeat {r + 1}/{repeat}')
        # Alternate the order too, so neither side always runs right after the other.
        sides = ['dezero', 'torch'] if r % 2 == 0 else ['torch', 'dezero']
        for side in sides:
            if side == 'dezero':
                chain['dezero'].append(time_chain_dezero(chain_ops))
            elif torch is not None:
                chain['torch'].append(time_chain_torch(torch, chain_ops))
        for n in tree_leaves:
            for side in sides:
                if side == 'dezero':
                    tree[n]['dezero'].append(time_tree_dezero(n))
                elif torch is not None:
                    tree[n]['torch'].append(time_tree_torch(torch, n))

    result = {
        'config': {'chain_ops': chain_ops, 'tree_leaves': list(tree_leaves),
                   'repeat': repeat},
        'environment': environment(torch),
    }
    c_dz = _summary(chain['dezero'], chain_ops)
    c_pt = _summary(chain['torch'], chain_ops) if torch is not None else None
    result['chain'] = {
        'dezero': c_dz, 'torch': c_pt,
        'ratio_dezero_torch': c_dz['median_s'] / c_pt['median_s'] if c_pt else None,
        # Each dezero run next to its PyTorch partner: less sensitive to slow phases of
        # a shared machine than the ratio of the medians (which the target uses).
        'paired_ratio_median': (statistics.median(
            a / b for a, b in zip(chain['dezero'], chain['torch'])) if c_pt else None)}

    tree_result = {}
    for side in ('dezero', 'torch'):
        if side == 'torch' and torch is None:
            tree_result[side] = None
            continue
        per_size = {str(n): _summary(tree[n][side], n) for n in tree_leaves}
        medians = [per_size[str(n)]['median_s'] for n in tree_leaves]
        doubling = [b / a for a, b in zip(medians, medians[1:])]
        tree_result[side] = {'sizes': per_size, 'doubling_ratios': doubling}
    if torch is not None:
        tree_result['ratio_dezero_torch'] = {
            str(n): tree_result['dezero']['sizes'][str(n)]['median_s']
            / tree_result['torch']['sizes'][str(n)]['median_s'] for n in tree_leaves}
    else:
        tree_result['ratio_dezero_torch'] = None
    result['tree'] = tree_result

    targets = []
    dz_doubling = tree_result['dezero']['doubling_ratios']
    if dz_doubling:
        worst = max(dz_doubling)
        targets.append({'name': f'tree backward: doubling ratio <= {MAX_DOUBLING_RATIO}',
                        'value': worst, 'passed': worst <= MAX_DOUBLING_RATIO})
    if c_pt is not None:
        ratio = result['chain']['ratio_dezero_torch']
        targets.append({'name': f'chain time per op <= {MAX_CHAIN_RATIO_VS_TORCH} x '
                                f'PyTorch', 'value': ratio,
                        'passed': ratio <= MAX_CHAIN_RATIO_VS_TORCH})
    result['targets'] = targets
    return result


def _fmt_ms(s):
    return f'{s * 1e3:9.2f} ms'


def report(result):
    """The result as a printable table."""
    env, cfg = result['environment'], result['config']
    lines = []
    add = lines.append
    add(f"dezero {env['dezero']} engine benchmark  ({env['date']}; Python {env['python']}, "
        f"NumPy {env['numpy']}, PyTorch {env['torch'] or 'not installed'}; "
        f"{env['cpus']} CPUs)")
    add(f"medians of {cfg['repeat']} runs; [min .. max] in brackets")
    add('')
    ch = result['chain']
    add(f"(a) chain of {cfg['chain_ops']:,} scalar ops, forward + backward")
    add(f"    {'':8}{'total':>12}   {'per op':>10}   spread")
    for side in ('dezero', 'torch'):
        s = ch[side]
        if s is None:
            continue
        add(f"    {side:8}{_fmt_ms(s['median_s'])}   {s['per_item_us']:7.2f} us   "
            f"[{s['min_s'] * 1e3:.1f} .. {s['max_s'] * 1e3:.1f} ms]")
    if ch['ratio_dezero_torch'] is not None:
        add(f"    dezero / torch: {ch['ratio_dezero_torch']:.2f}x  (median of the "
            f"paired runs' ratios: {ch['paired_ratio_median']:.2f}x)")
    add('')
    tr = result['tree']
    add('(b, c) pairwise-sum tree, backward only')
    head = f"    {'leaves':>8}   {'dezero':>12}  {'x prev':>6}"
    if tr['torch'] is not None:
        head += f"   {'torch':>12}  {'x prev':>6}   {'dezero/torch':>12}"
    add(head)
    sizes = cfg['tree_leaves']
    for i, n in enumerate(sizes):
        row = f'    {n:>8,}   '
        for side in ('dezero', 'torch'):
            if tr[side] is None:
                continue
            s = tr[side]['sizes'][str(n)]
            dbl = f"{tr[side]['doubling_ratios'][i - 1]:6.2f}" if i else f"{'':>6}"
            row += f"{_fmt_ms(s['median_s'])}  {dbl}   "
        if tr['ratio_dezero_torch'] is not None:
            row += f"{tr['ratio_dezero_torch'][str(n)]:11.2f}x"
        add(row.rstrip())
    add('')
    for t in result['targets']:
        add(target_line(t))
    if result['chain']['torch'] is None:
        add('(PyTorch not installed or disabled: chain target vs PyTorch not checked)')
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_standard_options(p, REPEAT, QUICK_REPEAT,
                         f'short version: chain of {QUICK_CHAIN_OPS:,} ops, '
                         f'{QUICK_REPEAT} repeats')
    p.add_argument('--no-torch', action='store_true', help='skip the PyTorch baseline')
    args = p.parse_args(argv)
    repeat = repeat_count(p, args, REPEAT, QUICK_REPEAT)
    chain_ops = QUICK_CHAIN_OPS if args.quick else CHAIN_OPS

    if not args.no_torch:
        load_torch()
    # Importing PyTorch adds ~10^5 long-lived objects to the garbage collector's
    # generations, and every full collection then walks them; dezero allocates many
    # Python objects per operation and so triggers collections, paying for PyTorch's
    # objects.  Collect once and move everything alive now into the permanent
    # generation, so that each side is timed on its own garbage (each timed run also
    # starts after a gc.collect()).
    gc.collect()
    gc.freeze()

    result = run(chain_ops=chain_ops, repeat=repeat, use_torch=not args.no_torch, log=log)
    return finish(result, report(result), args)


if __name__ == '__main__':
    sys.exit(main())

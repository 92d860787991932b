"""The whole benchmark suite in one command: every case, its table, and a summary of
all targets.

Run from the repository root:  ``python -m benchmarks [options]``, or from anywhere:
``python benchmarks/run_all.py [options]``.  Options: ``--quick`` (short version,
about 20 s), ``--json PATH``, ``--check`` (exit status 1 when a target is missed),
``--only NAME [NAME ...]``, ``--no-torch``, ``--no-autograd``, ``--plot PATH`` (also
copy the chain/tree plot there), ``--out DIR`` (where the plot goes; default
``benchmarks/out``) and ``--tiny`` (a smoke test for the tests: tiny sizes, one run,
numbers meaningless).

Cases (see README.md in this folder for what each one times and why):

    chain   forward + backward of a chain of scalar ops, vs PyTorch and HIPS autograd
    tree    backward of a pairwise-sum tree over 4,096 .. 16,384 leaves, same baselines
    mlp     MLP training step (784-1000-10, 784-50-10) vs hand-written NumPy and PyTorch
    cnn     small CNN training step vs PyTorch
    cifar   CIFAR-style CNN and ResNet bottleneck training steps vs PyTorch, with the
            fraction of the machine's matrix-product peak
    higher  6th derivative of tanh by repeated backward, vs PyTorch
    memory  peak memory of a 20-layer MLP's forward + backward vs the minimum

Baselines are optional: without PyTorch or HIPS autograd (or with ``--no-torch``,
``--no-autograd``) their columns are left out and their targets are reported as
skipped.  They are imported once, before anything is timed, and followed by
``gc.collect(); gc.freeze()`` so that their objects do not slow dezero's garbage
collections.  Progress goes to stderr, the tables to stdout.
"""

import os

# One BLAS thread for NumPy, as PyTorch gets one: the comparison is then thread for
# thread, and a core taken by another process does not stall NumPy's second thread.
# Set before NumPy is imported; a value in the environment wins.
for _name in ('OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'OMP_NUM_THREADS'):
    os.environ.setdefault(_name, '1')

import argparse
import math
import shutil
import sys
import traceback

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from benchmarks import (
    bench_cifar,
    bench_cnn,
    bench_engine,
    bench_higher,
    bench_memory,
    bench_mlp,
)
from benchmarks.common import (
    environment,
    format_measured,
    freeze_gc,
    json_path,
    load_autograd,
    load_torch,
    log,
    make_target,
    package_version,
    target_line,
    write_json,
)

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out')
PLOT_NAME = 'chain_tree.png'

#: sizes and repeats of each profile; the targets are the same in all three
PROFILES = {
    'full': {
        'chain_ops': (2_500, 5_000, 10_000, 20_000),
        'tree_leaves': (4_096, 8_192, 16_384),
        'engine_repeat': 7,
        'tree_repeat': 15,
        'mlp_hidden': (1000, 50),
        'mlp_steps': {1000: 10, 50: 100},
        'mlp_repeat': 15,
        'cnn_steps': 10,
        'cnn_repeat': 9,
        'cifar_steps': 3,
        'cifar_repeat': 15,
        'higher_steps': 10,
        'higher_repeat': 9,
        'memory': (20, 512, 512),
    },
    'quick': {
        'chain_ops': (1_000, 2_000, 4_000),
        'tree_leaves': (4_096, 8_192, 16_384),
        'engine_repeat': 3,
        'tree_repeat': 5,
        'mlp_hidden': (1000, 50),
        'mlp_steps': {1000: 5, 50: 50},
        'mlp_repeat': 3,
        'cnn_steps': 5,
        'cnn_repeat': 3,
        'cifar_steps': 2,
        'cifar_repeat': 3,
        'higher_steps': 5,
        'higher_repeat': 3,
        'memory': (20, 512, 512),
    },
    'tiny': {
        'chain_ops': (100, 200),
        'tree_leaves': (64, 128),
        'engine_repeat': 1,
        'tree_repeat': 1,
        'mlp_hidden': (1000, 50),
        'mlp_steps': {1000: 1, 50: 1},
        'mlp_repeat': 1,
        'cnn_steps': 1,
        'cnn_repeat': 1,
        'cifar_steps': 1,
        'cifar_repeat': 1,
        'higher_steps': 1,
        'higher_repeat': 1,
        'memory': (4, 64, 64),
    },
}


# --------------------------------------------------------------------------------------
# The cases: each takes (profile, torch, autograd, log) and returns a dict with
# ``title``, ``result`` (JSON-ready), ``table`` (lines) and ``targets``.
# --------------------------------------------------------------------------------------
def case_chain(p, torch, autograd, log):
    r = bench_engine.run_chain(p['chain_ops'], p['engine_repeat'], torch, autograd, log)
    sizes = sorted(p['chain_ops'])
    return {
        'title': f'chain: {sizes[0]:,} .. {sizes[-1]:,} scalar ops, forward + '
        f'backward ({p["engine_repeat"]} runs; the target is at '
        f'{r["ops"]:,})',
        'result': r,
        'table': bench_engine.report_chain(r),
        'targets': bench_engine.chain_targets(r),
    }


def case_tree(p, torch, autograd, log):
    # more runs than the chain: each is short, and the target is a ratio of two medians
    r = bench_engine.run_tree(p['tree_leaves'], p['tree_repeat'], torch, autograd, log)
    return {
        'title': f'tree: pairwise sum over {p["tree_leaves"][0]:,} .. '
        f'{p["tree_leaves"][-1]:,} leaves, backward only '
        f'({p["tree_repeat"]} runs)',
        'result': r,
        'table': bench_engine.report_tree(r),
        'targets': bench_engine.tree_targets(r),
    }


def case_mlp(p, torch, autograd, log):
    r = bench_mlp.run(
        p['mlp_hidden'], p['mlp_repeat'], p['mlp_steps'], log, use_torch=torch is not None
    )
    return {
        'title': f'mlp: training step of MLP((hidden, 10)), 784 inputs, batch '
        f'{bench_mlp.BATCH}, float32, sigmoid, SGD; ms per step '
        f'({p["mlp_repeat"]} blocks)',
        'result': r,
        'table': bench_mlp.report_cases(r),
        'targets': r['targets'],
    }


def case_cnn(p, torch, autograd, log):
    r = bench_cnn.run(p['cnn_repeat'], p['cnn_steps'], use_torch=torch is not None, log=log)
    c1, c2 = bench_cnn.CHANNELS
    return {
        'title': f'cnn: training step, conv {c1} / {c2} channels 3x3 + relu + 2x2 '
        f'max pool, linear; batch {bench_cnn.BATCH} of {bench_cnn.SIZE}x'
        f'{bench_cnn.SIZE}, float32, SGD ({p["cnn_repeat"]} blocks of '
        f'{p["cnn_steps"]} steps)',
        'result': r,
        'table': bench_cnn.report_case(r),
        'targets': r['targets'],
    }


def case_cifar(p, torch, autograd, log):
    r = bench_cifar.run(p['cifar_repeat'], p['cifar_steps'], use_torch=torch is not None, log=log)
    return {
        'title': f'cifar: training steps of a CIFAR-style CNN (batch 64 of 3x32x32) and '
        f'a ResNet bottleneck block (batch 16 of 256x16x16), float32, momentum SGD '
        f'({p["cifar_repeat"]} blocks of {p["cifar_steps"]} steps)',
        'result': r,
        'table': bench_cifar.report_case(r),
        'targets': r['targets'],
    }


def case_higher(p, torch, autograd, log):
    r = bench_higher.run(
        p['higher_repeat'], p['higher_steps'], use_torch=torch is not None, log=log
    )
    return {
        'title': f'higher: 6th derivative of tanh on {bench_higher.POINTS:,} float64 '
        f'points by repeated backward ({p["higher_repeat"]} blocks of '
        f'{p["higher_steps"]})',
        'result': r,
        'table': bench_higher.report_case(r),
        'targets': r['targets'],
    }


def case_memory(p, torch, autograd, log):
    layers, width, batch = p['memory']
    r = bench_memory.run(layers, width, batch, log)
    return {
        'title': f'memory: MLP([{width}] * {layers}), sigmoid, float32, batch '
        f'{batch}, forward + backward under tracemalloc',
        'result': r,
        'table': bench_memory.report_case(r),
        'targets': r['targets'],
    }


CASES = {
    'chain': case_chain,
    'tree': case_tree,
    'mlp': case_mlp,
    'cnn': case_cnn,
    'cifar': case_cifar,
    'higher': case_higher,
    'memory': case_memory,
}


# --------------------------------------------------------------------------------------
# Running, reporting, plotting
# --------------------------------------------------------------------------------------
def status(target):
    return {True: 'PASS', False: 'FAIL', None: 'skipped'}[target['passed']]


def run(names=tuple(CASES), profile='full', torch=None, autograd=None, log=log, show=print):
    """Run the named cases in order with the given baselines (modules or None); call
    ``show`` with each case's table as soon as it is done.  Returns a JSON-ready dict:
    ``profile``, ``environment``, ``cases`` (name -> title, result, targets) and
    ``targets`` (all of them, each with its ``case`` and ``status``)."""
    p = PROFILES[profile]
    result = {
        'profile': profile,
        'environment': environment(torch, autograd),
        'cases': {},
        'targets': [],
    }
    for i, name in enumerate(names, 1):
        log(f'[{i}/{len(names)}] {name}')
        try:
            case = CASES[name](p, torch, autograd, log)
        except Exception as e:  # one broken case must not hide the others' results
            log(traceback.format_exc())
            case = {
                'title': f'{name}: raised {type(e).__name__}',
                'result': None,
                'table': [f'    {type(e).__name__}: {e}'],
                'targets': [
                    make_target(
                        f'{name}: runs without an error',
                        f'{type(e).__name__}: {e}',
                        'no error',
                        op='==',
                    )
                ],
            }
        for t in case['targets']:
            result['targets'].append({'case': name, **t, 'status': status(t)})
        result['cases'][name] = {
            'title': case['title'],
            'result': case['result'],
            'targets': case['targets'],
        }
        show(case_table(i, case))
    return result


def case_table(number, case):
    lines = [f'({number}) {case["title"]}'] + case['table'] + ['']
    lines += ['    ' + target_line(t) for t in case['targets']]
    return '\n'.join(lines) + '\n'


def header(profile, baselines):
    env = environment()
    return (
        f'dezero {env["dezero"]} benchmark suite, {profile} run  ({env["date"]}; '
        f'Python {env["python"]}, NumPy {env["numpy"]}; {env["cpus"]} CPUs, '
        f'{env["machine"]} {env["system"]})\n'
        f"NumPy's BLAS threads: {env['blas_threads'] or 'library default'}"
        f'{"; OpenBLAS kernels: " + env["blas_core"] if env["blas_core"] else ""}'
        f'; baselines: PyTorch {baselines["torch"]}; HIPS autograd '
        f'{baselines["autograd"]}\n'
    )


def summary(result):
    """The final table: every target with its status and measured value."""
    width = max([len(t['name']) for t in result['targets']] + [20])
    lines = [
        f'summary: {sum(t["status"] == "PASS" for t in result["targets"])} PASS, '
        f'{sum(t["status"] == "FAIL" for t in result["targets"])} FAIL, '
        f'{sum(t["status"] == "skipped" for t in result["targets"])} skipped',
        f'    {"result":<8} {"target":<{width}}  measured',
    ]
    for t in result['targets']:
        measured = format_measured(t) if t['passed'] is not None else f'({t["why_skipped"]})'
        lines.append(f'    {t["status"]:<8} {t["name"]:<{width}}  {measured}')
    return '\n'.join(lines)


def _series(name, r, side):
    """(sizes, median seconds) of one side of the chain or tree result ``r``."""
    if name == 'chain':
        per_size = {n: e[side] for n, e in r['sizes'].items() if e[side] is not None}
    else:
        per_size = r[side]['sizes'] if r[side] is not None else {}
    return [int(n) for n in per_size], [s['median_s'] for s in per_size.values()]


def plot(result, path):
    """Draw time against graph size for the chain and the tree (the cases that ran),
    log-log, one line per side; return ``path``, or None when neither case ran or
    matplotlib is missing (saying so on stderr)."""
    panels = [
        name
        for name in ('chain', 'tree')
        if name in result['cases'] and result['cases'][name]['result'] is not None
    ]
    if not panels:
        return None
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, NullFormatter
    except ImportError:
        log('matplotlib is not installed: no plot (pip install matplotlib)')
        return None
    plain = FuncFormatter(lambda v, _: f'{v:,.4g}')
    whole = FuncFormatter(lambda v, _: f'{v:,.0f}')
    # minor ticks of a log axis: label only 2x and 5x a power of ten
    some = FuncFormatter(
        lambda v, _: (
            f'{v:,.4g}' if v > 0 and round(v / 10 ** math.floor(math.log10(v))) in (2, 5) else ''
        )
    )
    styles = {
        'dezero': ('C0', 'o', 'dezero'),
        'torch': ('C1', 's', 'PyTorch (eager, 1 thread)'),
        'autograd': ('C2', '^', 'HIPS autograd'),
    }
    texts = {
        'chain': ('Chain of scalar ops: forward + backward', 'operations'),
        'tree': ('Pairwise-sum tree: backward only', 'leaves'),
    }
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, name in zip(axes[0], panels):
        r = result['cases'][name]['result']
        for side in bench_engine.SIDES:
            sizes, times = _series(name, r, side)
            if sizes:
                color, marker, label = styles[side]
                ax.plot(sizes, [t * 1e3 for t in times], color=color, marker=marker, label=label)
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xticks(_series(name, r, 'dezero')[0])
        ax.xaxis.set_major_formatter(whole)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(some)
        title, xlabel = texts[name]
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel('time (ms, median)')
        ax.grid(True, which='both', alpha=0.3)
        ax.legend()
    env = result['environment']
    fig.suptitle(
        f'dezero {env["dezero"]} engine, {env["date"]} (Python {env["python"]}, '
        f'{env["cpus"]} CPUs)',
        fontsize=10,
    )
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def baseline_status(module, disabled, distribution, flag):
    if disabled:
        return f'disabled ({flag})'
    if module is None:
        return 'not installed'
    return package_version(distribution) or 'installed'


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        '--quick',
        action='store_true',
        help='short version: fewer repeats, shorter chains (about 20 s)',
    )
    size.add_argument(
        '--tiny',
        action='store_true',
        help='smoke test: tiny sizes, one run each (numbers meaningless)',
    )
    p.add_argument('--json', metavar='PATH', type=json_path, help='also write every result as JSON')
    p.add_argument(
        '--check', action='store_true', help='exit with status 1 when a target is missed'
    )
    p.add_argument(
        '--only',
        nargs='+',
        metavar='NAME',
        choices=list(CASES),
        help=f'run only these cases ({", ".join(CASES)})',
    )
    p.add_argument('--no-torch', action='store_true', help='skip the PyTorch baseline')
    p.add_argument('--no-autograd', action='store_true', help='skip the HIPS autograd baseline')
    p.add_argument(
        '--out',
        metavar='DIR',
        default=OUT_DIR,
        help=f'where the plot {PLOT_NAME} goes (default: benchmarks/out)',
    )
    p.add_argument('--plot', metavar='PATH', help='also copy the plot to PATH')
    args = p.parse_args(argv)
    profile = 'quick' if args.quick else 'tiny' if args.tiny else 'full'
    names = [n for n in CASES if n in args.only] if args.only else list(CASES)

    torch = None if args.no_torch else load_torch()
    autograd = None if args.no_autograd else load_autograd()
    freeze_gc()  # after the baselines' imports, before any timing
    baselines = {
        'torch': baseline_status(torch, args.no_torch, 'torch', '--no-torch'),
        'autograd': baseline_status(autograd, args.no_autograd, 'autograd', '--no-autograd'),
    }
    if torch is not None:
        baselines['torch'] += f', {torch.get_num_threads()} thread'
    print(header(profile, baselines), flush=True)

    result = run(names, profile, torch, autograd, log, show=lambda text: print(text, flush=True))
    result['baselines'] = baselines
    print(summary(result))

    path = plot(result, os.path.join(args.out, PLOT_NAME))
    if path is not None:
        log(f'plot: {path}')
        if args.plot:
            os.makedirs(os.path.dirname(os.path.abspath(args.plot)), exist_ok=True)
            shutil.copyfile(path, args.plot)
            log(f'plot copied to {args.plot}')
    elif args.plot:
        log('no plot to copy (it needs matplotlib and the chain or tree case)')
    result['plot'] = path
    if args.json:
        write_json(args.json, result)
    if args.check and any(t['status'] == 'FAIL' for t in result['targets']):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

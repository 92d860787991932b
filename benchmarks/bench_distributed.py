"""Time one epoch of data-parallel MLP training on 1 and on 2 processes, and the share
of a step that the gradient allreduce takes.

Run from anywhere:  ``python benchmarks/bench_distributed.py [--quick] [--repeat N]
[--json PATH] [--processes N [N ...]]``.  It starts ``mpiexec -n N`` itself for each
process count (the mpiexec beside this interpreter, that of mpi4py's MPI), and says
why it timed nothing when mpi4py or mpiexec is missing.

The case: ``MLP((hidden, 10))`` with ReLU, 784 float32 inputs, Adam, softmax cross
entropy, an epoch of ``samples`` generated images in whole batches of ``batch`` (each
of N processes computes 1/N of every batch), through :class:`dezero.Trainer` with
:class:`dezero.distributed.DistributedOptimizer`.  Each process runs with one BLAS
thread.  Reported per process count: the median epoch time over ``repeat`` epochs
(after one untimed warm-up epoch), the speed-up over one process, and the median time
of the allreduce (with its agreement check) per step against the whole step.

``python benchmarks/bench_distributed.py --worker ...`` is the process mpiexec runs.
"""

import argparse
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from benchmarks.common import (  # noqa: E402  (after the path)
    json_path,
    positive_int,
    repeat_count,
    write_json,
)

HIDDEN, BATCH, SAMPLES, QUICK_SAMPLES = 1000, 100, 6000, 2000
REPEAT, QUICK_REPEAT = 5, 2
PROCESSES = (1, 2)


def mpiexec():
    """The mpiexec to start workers with, or None (then why not, as a second value)."""
    if importlib.util.find_spec('mpi4py') is None:
        return None, 'mpi4py is not installed (pip install mpi4py mpich)'
    beside = pathlib.Path(sys.executable).parent / 'mpiexec'
    found = str(beside) if beside.exists() else shutil.which('mpiexec')
    return (found, None) if found else (None, 'no mpiexec found (pip install mpich)')


# --------------------------------------------------------------------------------------
# The worker: runs under mpiexec, rank 0 writes the timings as JSON
# --------------------------------------------------------------------------------------
def worker(hidden, batch, samples, repeat, out):
    import numpy as np

    import dezero.functions as F
    from dezero import DataLoader, Trainer, distributed, optimizers
    from dezero.models import MLP

    comm = distributed.init()
    rng = np.random.default_rng(0)
    x = rng.random((samples, 784), dtype=np.float32)
    t = rng.integers(0, 10, samples)
    np.random.seed(0)
    model = MLP((hidden, 10), activation=F.relu)
    model(x[:1])
    distributed.broadcast_parameters(model, comm=comm)
    optimizer = distributed.DistributedOptimizer(optimizers.Adam(), comm=comm)
    reduce_times = []
    average = optimizer._average

    def timed_average(*args):  # the allreduce and its agreement check, timed
        start = time.perf_counter()
        average(*args)
        reduce_times.append(time.perf_counter() - start)

    object.__setattr__(optimizer, '_average', timed_average)
    trainer = Trainer(model, optimizer)
    loader = DataLoader((x, t), batch, seed=0, shard=comm)
    trainer.fit(loader, 1, progress=False)  # warm-up
    epochs = []
    for _ in range(repeat):
        reduce_times.clear()
        start = time.perf_counter()
        trainer.fit(loader, 1, progress=False)
        epochs.append(time.perf_counter() - start)
        steps = len(loader)
    if comm.rank == 0:
        result = {
            'processes': comm.size,
            'epoch_s': epochs,
            'steps': steps,
            'reduce_s_per_step': (
                sorted(reduce_times)[len(reduce_times) // 2] if reduce_times else 0.0
            ),
        }
        pathlib.Path(out).write_text(json.dumps(result))


# --------------------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------------------
def run(processes=PROCESSES, hidden=HIDDEN, batch=BATCH, samples=SAMPLES, repeat=REPEAT, log=None):
    """Time an epoch for each process count; a JSON-ready dict (``skipped`` says why
    nothing was timed when mpiexec is missing)."""
    log = log or (lambda msg: None)
    command, why = mpiexec()
    result = {
        'config': {'hidden': hidden, 'batch': batch, 'samples': samples, 'repeat': repeat},
        'cpus': os.cpu_count(),
        'skipped': why,
        'cases': {},
    }
    if command is None:
        return result
    env = dict(os.environ, OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join([_REPO_ROOT, env.get('PYTHONPATH', '')])
    with tempfile.TemporaryDirectory() as folder:
        for n in processes:
            log(f'  {n} process(es)')
            out = os.path.join(folder, f'{n}.json')
            args = [str(a) for a in (hidden, batch, samples, repeat, out)]
            done = subprocess.run(
                [
                    command,
                    '-n',
                    str(n),
                    sys.executable,
                    os.path.abspath(__file__),
                    '--worker',
                    *args,
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            if done.returncode != 0:
                raise RuntimeError(f'bench_distributed: mpiexec -n {n} failed:\n{done.stderr}')
            case = json.loads(pathlib.Path(out).read_text())
            epochs = sorted(case['epoch_s'])
            case['epoch_median_s'] = epochs[len(epochs) // 2]
            case['step_s'] = case['epoch_median_s'] / case['steps']
            case['reduce_share'] = case['reduce_s_per_step'] / case['step_s']
            result['cases'][str(n)] = case
    first = result['cases'].get('1')
    for case in result['cases'].values():
        case['speedup'] = first['epoch_median_s'] / case['epoch_median_s'] if first else None
    return result


def report(result):
    """The result as a printable table."""
    cfg = result['config']
    lines = [
        f'data-parallel MLP((hidden {cfg["hidden"]}, 10)), Adam, one epoch of '
        f'{cfg["samples"]} samples in batches of {cfg["batch"]} (split among the '
        f'processes); {result["cpus"]} CPUs, one BLAS thread per process; median of '
        f'{cfg["repeat"]} epochs',
        '',
    ]
    if result['skipped']:
        return '\n'.join(lines + [f'nothing timed: {result["skipped"]}'])
    lines.append(
        f'{"processes":>10}{"epoch s":>10}{"speed-up":>10}{"step ms":>10}'
        f'{"allreduce ms":>14}{"share":>8}'
    )
    for n, case in result['cases'].items():
        speedup = f'{case["speedup"]:.2f}x' if case['speedup'] else '-'
        lines.append(
            f'{n:>10}{case["epoch_median_s"]:10.3f}{speedup:>10}{case["step_s"] * 1e3:10.2f}'
            f'{case["reduce_s_per_step"] * 1e3:14.3f}{case["reduce_share"] * 100:7.1f}%'
        )
    return '\n'.join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--worker']:
        hidden, batch, samples, repeat, out = argv[1:]
        worker(int(hidden), int(batch), int(samples), int(repeat), out)
        return 0
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument(
        '--quick',
        action='store_true',
        help=f'{QUICK_REPEAT} timed epochs of {QUICK_SAMPLES} samples',
    )
    p.add_argument(
        '--repeat', type=int, default=None, help=f'timed epochs, 1 or more (default {REPEAT})'
    )
    p.add_argument('--hidden', type=positive_int, default=HIDDEN, help=f'default {HIDDEN}')
    p.add_argument(
        '--batch', type=positive_int, default=BATCH, help=f'whole batch (default {BATCH})'
    )
    p.add_argument(
        '--samples', type=positive_int, default=None, help=f'per epoch (default {SAMPLES})'
    )
    p.add_argument('--processes', type=positive_int, nargs='+', default=list(PROCESSES))
    p.add_argument('--json', default=None, type=json_path, help='write the result to this file')
    args = p.parse_args(argv)
    repeat = repeat_count(p, args, REPEAT, QUICK_REPEAT)
    if args.samples is not None:
        samples = args.samples
    else:
        samples = QUICK_SAMPLES if args.quick else SAMPLES

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    result = run(args.processes, args.hidden, args.batch, samples, repeat, log)
    print(report(result))
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == '__main__':
    sys.exit(main())

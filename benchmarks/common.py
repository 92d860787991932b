"""What every benchmark script shares: its standard options, the progress log, the
optional baselines, the alternating timer, the targets and the end of a run (table,
optional JSON, exit status)."""

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

import dezero
from dezero.atomic import atomic_write_text, check_writable


def json_path(value):
    """The argparse type of ``--json``: a path a JSON file can be written to, checked
    before anything runs: a file (new or not) in a folder that exists, or a stream
    such as ``/dev/stdout``."""
    if _is_stream(value):
        return value
    try:
        check_writable(value, operation='--json')
    except (OSError, ValueError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    folder = os.path.dirname(os.path.abspath(value))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f'the folder {folder} does not exist; create it first')
    return value


def positive_int(value):
    """The argparse type of a count or a size that must be at least 1 (``--hidden``,
    ``--batch``, ``--processes``): a whole number of 1 or more, refused while the
    options are read."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a whole number, got {value!r}') from None
    if number < 1:
        raise argparse.ArgumentTypeError(f'must be a whole number of 1 or more, got {value}')
    return number


def _is_stream(path):
    """Whether ``path`` exists and is neither a regular file nor a folder (a device,
    a pipe, ``/dev/stdout``): written to as it is, not replaced."""
    return os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path)


def write_json(path, result):
    """Write ``result`` to ``path`` as indented JSON: atomically to a file, straight
    into a stream (``/dev/stdout``)."""
    text = json.dumps(result, indent=2) + '\n'
    if _is_stream(path):
        with open(path, 'w') as f:
            f.write(text)
        return
    atomic_write_text(path, text, operation='--json')


def add_standard_options(parser, repeat, quick_repeat, quick_help):
    """Add ``--repeat``, ``--quick``, ``--json`` and ``--check`` to ``parser``."""
    parser.add_argument(
        '--repeat',
        type=int,
        default=None,
        help=f'runs per measurement (default {repeat}; {quick_repeat} with --quick)',
    )
    parser.add_argument('--quick', action='store_true', help=quick_help)
    parser.add_argument(
        '--json', metavar='PATH', type=json_path, help='also write the results as JSON'
    )
    parser.add_argument(
        '--check', action='store_true', help='exit with status 1 when a target is missed'
    )


def repeat_count(parser, args, repeat, quick_repeat):
    """The number of repeats the options ask for (``--repeat`` must be at least 1)."""
    if args.repeat is not None and args.repeat < 1:
        parser.error('--repeat must be at least 1')
    return args.repeat or (quick_repeat if args.quick else repeat)


def log(message):
    """A progress message, on stderr so that stdout holds only the table."""
    print(message, file=sys.stderr, flush=True)


def finish(result, table, args):
    """Print ``table``, write ``result`` as JSON if ``--json`` asked for it, and return
    the exit status: 1 when ``--check`` is given and a target was missed, else 0."""
    print(table)
    if args.json:
        write_json(args.json, result)
    if args.check and any(t['passed'] is False for t in result['targets']):
        return 1
    return 0


def load_torch():
    """PyTorch limited to one thread (as dezero's NumPy mostly is), or None when it is
    not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def load_autograd():
    """HIPS autograd (``pip install autograd``; not a dependency of dezero), with its
    NumPy wrapper imported so that scalars and arrays can be traced, or None when it is
    not installed."""
    try:
        import autograd
        import autograd.numpy  # noqa: F401  (registers the array and float boxes)
    except ImportError:
        return None
    return autograd


def freeze_gc():
    """Collect, then move every object alive now into the permanent generation.

    Importing PyTorch adds about 10^5 long-lived objects to the garbage collector, and
    every full collection would then walk them; dezero allocates many small Python
    objects per operation and so triggers collections, paying for PyTorch's objects.
    Call this after the baselines are imported, before anything is timed."""
    gc.collect()
    gc.freeze()


def package_version(name):
    """The installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def rotated(names, r):
    """``names`` starting at position ``r`` (mod its length): run ``r`` of an
    alternating measurement uses this order, so no side always follows the same one."""
    k = r % len(names)
    return list(names[k:]) + list(names[:k])


def alternate(sides, repeat, log=None, label=''):
    """Call every side (name -> callable returning seconds) ``repeat`` times, the sides
    taking turns in a rotating order; return name -> list of seconds."""
    times = {name: [] for name in sides}
    for r in range(repeat):
        if log is not None:
            log(f'  {label}repeat {r + 1}/{repeat}')
        for name in rotated(list(sides), r):
            times[name].append(sides[name]())
    return times


def paired_ratio_median(times, baseline):
    """The median over the runs of ``times[i] / baseline[i]``: each run against the
    baseline run taken next to it.  A slow phase of a shared machine then slows both
    sides of a pair, so this is steadier than the ratio of the two medians."""
    return statistics.median(a / b for a, b in zip(times, baseline))


def spread(times):
    """Median, min and max of a list of seconds (with the list itself)."""
    return {
        'times_s': list(times),
        'median_s': statistics.median(times),
        'min_s': min(times),
        'max_s': max(times),
    }


def format_spread(s, scale=1e3, unit='ms', digits=2):
    """``median [min .. max] unit`` of a :func:`spread`, the times multiplied by
    ``scale``."""
    f = f'{{:.{digits}f}}'
    return (
        f'{f.format(s["median_s"] * scale)} [{f.format(s["min_s"] * scale)} .. '
        f'{f.format(s["max_s"] * scale)}] {unit}'
    )


def make_target(name, value, limit, op='<=', why_skipped=None):
    """One target, ``value op limit``: ``passed`` is True or False when ``value`` was
    measured, None (the target is skipped) when it is None, ``why_skipped`` saying
    why."""
    if value is None:
        passed = None
    elif op == '<=':
        passed = value <= limit
    elif op == '>=':
        passed = value >= limit
    elif op == '==':
        passed = value == limit
    else:
        raise ValueError(f'make_target: op must be <=, >= or ==, got {op!r}')
    return {
        'name': name,
        'value': value,
        'limit': limit,
        'op': op,
        'passed': passed,
        'why_skipped': why_skipped if passed is None else None,
    }


def environment(torch=None, autograd=None):
    """Where a result was measured: date, versions (of the baselines given) and the
    machine."""
    return {
        'date': time.strftime('%Y-%m-%d'),
        'python': platform.python_version(),
        'numpy': np.__version__,
        'dezero': dezero.__version__,
        'torch': torch.__version__ if torch is not None else None,
        'autograd': package_version('autograd') if autograd is not None else None,
        'machine': platform.machine(),
        'system': platform.system(),
        'cpus': os.cpu_count(),
        'blas_threads': blas_threads(),
        'blas_core': blas_core(),
    }


def blas_threads():
    """The thread count asked of NumPy's BLAS through the environment (the first of
    OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, OMP_NUM_THREADS that is set), or None: the
    library's default, usually one thread per CPU."""
    for name in ('OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'OMP_NUM_THREADS'):
        if os.environ.get(name):
            return f'{name}={os.environ[name]}'
    return None


def blas_core():
    """The processor kernels NumPy's OpenBLAS picked on this machine (such as
    'SkylakeX' or 'Haswell'; the environment variable OPENBLAS_CORETYPE overrides the
    choice), or None where it cannot be told: another BLAS, or no ``/proc/self/maps``
    to find the loaded library in.  The same machine can run products at quite
    different speeds with different kernels, so a run records which it used."""
    import ctypes

    try:
        with open('/proc/self/maps') as maps:
            paths = {line.split()[-1] for line in maps if 'openblas' in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in (
            'scipy_openblas_get_corename64_',
            'scipy_openblas_get_corename',
            'openblas_get_corename64_',
            'openblas_get_corename',
        ):
            function = getattr(library, name, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                return function().decode()
    return None


def format_value(value):
    """A measured value for a table: floats with two decimals (or in e-notation when
    tiny), anything else as it is."""
    if isinstance(value, float):
        return f'{value:.2e}' if value != 0 and abs(value) < 0.01 else f'{value:.2f}'
    return str(value)


def format_measured(target):
    """A target's measured value as :func:`format_value` writes it, with as many more
    decimals as it takes not to look equal to the limit it missed or met: 1.2046
    against a limit of 1.2 reads 1.205, not 1.20."""
    value, limit = target['value'], target.get('limit')
    text = format_value(value)
    if not isinstance(value, float) or not isinstance(limit, (int, float)) or value == limit:
        return text
    digits = 2
    while text == f'{limit:.{digits}f}' and digits < 6:
        digits += 1
        text = f'{value:.{digits}f}'
    return text


def target_line(target):
    """``PASS: name (measured value)``, ``FAIL: ...`` or ``SKIP: name (why)`` for one
    entry of ``result['targets']``."""
    if target['passed'] is None:
        return f'SKIP: {target["name"]} ({target.get("why_skipped") or "not measured"})'
    return (
        f'{"PASS" if target["passed"] else "FAIL"}: {target["name"]} '
        f'(measured {format_measured(target)})'
    )


def report_table(header, body, targets):
    """A script's printable result: its ``header`` lines, a blank line, the case's
    ``body`` lines, a blank line and a PASS/FAIL line per target."""
    return '\n'.join(list(header) + [''] + list(body) + [''] + [target_line(t) for t in targets])


# --------------------------------------------------------------------------------------
# Training steps: the dezero side and the PyTorch side of a classifier
# --------------------------------------------------------------------------------------
def training_step(model, optimizer, x, t):
    """One SGD step of a dezero classifier on (x, t) with softmax cross entropy:
    forward, cleargrads, backward, update.  Returns the loss Variable."""
    import dezero.functions as F

    loss = F.softmax_cross_entropy(model(x), t)
    model.cleargrads()
    loss.backward()
    optimizer.update()
    return loss


def minor_page_faults():
    """The minor page faults this process has taken so far (a fresh page of memory
    touched for the first time, about 2 µs each on a virtual machine), or None where
    the ``resource`` module is missing (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def settle_allocator(nbytes=30 << 20):
    """Free one ``nbytes`` block, as a program that has loaded its data has done.  The
    C library's allocator (glibc) then keeps freed blocks up to that size for reuse
    instead of returning them to the system, so a step's large arrays stop costing
    fresh pages (page faults), whichever cases ran earlier in the process."""
    block = np.empty(nbytes, dtype=np.uint8)
    del block


def time_steps(step, batches, steps):
    """Seconds per call of ``step(x, t)`` over ``steps`` calls cycling through
    ``batches``, after a ``gc.collect()``."""
    gc.collect()
    t0 = time.perf_counter()
    for i in range(steps):
        step(*batches[i % len(batches)])
    return (time.perf_counter() - t0) / steps


class TorchClassifier:
    """The PyTorch side of a training benchmark: a subclass sets ``self.torch``,
    ``self.net`` (with the dezero model's weights copied in) and ``self.optimizer``."""

    def tensors(self, batches):
        """The batches as tensors (no copy for the arrays), converted once."""
        return [(self.torch.from_numpy(x), self.torch.from_numpy(t)) for x, t in batches]

    def step(self, x, t):
        """One SGD step on tensors with cross entropy; returns the loss tensor."""
        loss = self.torch.nn.functional.cross_entropy(self.net(x), t)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss


def torch_case_main(argv, doc, run, report, repeat, quick_repeat, steps, quick_steps):
    """The ``main`` of a script timing one case against an optional PyTorch (the CNN
    step, the 6th derivative): the standard options and ``--no-torch``; PyTorch is
    imported and the collector frozen before anything is timed.  Returns the exit
    status."""
    import argparse

    p = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    add_standard_options(
        p, repeat, quick_repeat, f'short version: {quick_repeat} blocks of {quick_steps}'
    )
    p.add_argument('--no-torch', action='store_true', help='skip the PyTorch baseline')
    args = p.parse_args(argv)
    n_repeat = repeat_count(p, args, repeat, quick_repeat)
    if not args.no_torch:
        load_torch()
    freeze_gc()
    result = run(
        n_repeat, quick_steps if args.quick else steps, use_torch=not args.no_torch, log=log
    )
    return finish(result, report(result), args)

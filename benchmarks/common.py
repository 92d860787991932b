"""What every benchmark script shares: its standard options, the progress log and the
end of a run (table, optional JSON, exit status)."""
import json
import os
import platform
import sys
import time

import numpy as np

import dezero


def add_standard_options(parser, repeat, quick_repeat, quick_help):
    """Add ``--repeat``, ``--quick``, ``--json`` and ``--check`` to ``parser``."""
    parser.add_argument('--repeat', type=int, default=None,
                        help=f'runs per measurement (default {repeat}; {quick_repeat} '
                             f'with --quick)')
    parser.add_argument('--quick', action='store_true', help=quick_help)
    parser.add_argument('--json', metavar='PATH', help='also write the results as JSON')
    parser.add_argument('--check', action='store_true',
                        help='exit with status 1 when a target is missed')


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
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
            f.write('\n')
    if args.check and not all(t['passed'] for t in result['targets']):
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


def environment(torch=None):
    """Where a result was measured: date, versions and the machine."""
    return {'date': time.strftime('%Y-%m-%d'), 'python': platform.python_version(),
            'numpy': np.__version__, 'dezero': dezero.__version__,
            'torch': torch.__version__ if torch is not None else None,
            'machine': platform.machine(), 'system': platform.system(),
            'cpus': os.cpu_count()}


def target_line(target):
    """``PASS: name (measured value)`` or ``FAIL: ...`` for one entry of
    ``result['targets']`` (numbers shown with two decimals)."""
    value = target['value']
    shown = f'{value:.2f}' if isinstance(value, float) else value
    return f"{'PASS' if target['passed'] else 'FAIL'}: {target['name']} (measured {shown})"

"""Time to take the 6th derivative of tanh by repeated backward passes, in dezero and in
PyTorch.

Run from anywhere:  ``python benchmarks/bench_higher.py [--quick] [--repeat N]
[--json PATH] [--check] [--no-torch]``.

On 1,000 float64 points x evenly spaced in [-2, 2], dezero goes the way of the book:

    y = F.tanh(x); y.backward(create_graph=True)
    5 times: gx = x.grad; x.cleargrad(); gx.backward(create_graph=True)

after which ``x.grad`` holds the 6th derivative (each backward seeds ones, so every
pass differentiates the sum of the previous derivative, elementwise the same thing).
PyTorch repeats ``g, = torch.autograd.grad(g.sum(), x, create_graph=True)`` six times
from ``g = torch.tanh(x)`` (one thread).  One measurement times the whole computation,
forward included, ``STEPS`` times in a row; the sides alternate and the ratio of the
medians is reported.  Both results are compared with each other and with the closed
form (the derivatives of tanh are polynomials in t = tanh x: P0(t) = t and
P(k+1) = P(k)'(t) (1 - t^2)).  Target (issue 8): dezero at most 2x PyTorch.
"""

import gc
import os
import sys
import time

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import numpy as np
from numpy.polynomial import polynomial as P

import dezero.functions as F
from dezero import Variable
from benchmarks.common import (
    alternate,
    environment,
    format_spread,
    load_torch,
    make_target,
    report_table,
    spread,
    torch_case_main,
)

POINTS, ORDER = 1000, 6
STEPS, QUICK_STEPS = 10, 5
REPEAT, QUICK_REPEAT = 9, 3
MAX_RATIO = 2.0
MAX_DIFFERENCE = 1e-10  # relative to the largest value; float64 gives ~1e-15


def make_points(n=POINTS):
    return np.linspace(-2.0, 2.0, n)


def derivative_dezero(x0, order=ORDER):
    """The ``order``-th derivative of tanh at the points ``x0``, book style."""
    x = Variable(x0)
    y = F.tanh(x)
    y.backward(create_graph=True)
    for _ in range(order - 1):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
    return x.grad.data


def derivative_torch(torch, x0, order=ORDER):
    """The same with ``torch.autograd.grad``, recording every pass."""
    x = torch.tensor(x0, requires_grad=True)
    g = torch.tanh(x)
    for _ in range(order):
        (g,) = torch.autograd.grad(g.sum(), x, create_graph=True)
    return g.detach().numpy()


def derivative_closed_form(x0, order=ORDER):
    """d^order/dx^order tanh(x) = P_order(tanh x), with P_0(t) = t and
    P_(k+1)(t) = P_k'(t) (1 - t^2)."""
    coef = np.array([0.0, 1.0])
    for _ in range(order):
        coef = P.polymul(P.polyder(coef), [1.0, 0.0, -1.0])
    return P.polyval(np.tanh(x0), coef)


def relative_difference(a, b):
    """The largest absolute difference over the largest absolute value of ``b``."""
    return float(np.abs(a - b).max() / np.abs(b).max())


def time_block(fn, steps):
    """Mean seconds per call of ``fn`` over ``steps`` calls in a row."""
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps


def run(repeat=REPEAT, steps=STEPS, use_torch=True, log=None, torch=None, points=POINTS):
    """Check the values, then time both sides; return a JSON-ready dict.  ``torch`` may
    be given (the module) instead of ``use_torch``."""
    log = log or (lambda msg: None)
    torch = torch or (load_torch() if use_torch else None)
    x0 = make_points(points)
    exact = derivative_closed_form(x0)
    ours = derivative_dezero(x0)
    diffs = {'dezero_closed_form': relative_difference(ours, exact)}
    sides = {'dezero': lambda: derivative_dezero(x0)}
    if torch is not None:
        theirs = derivative_torch(torch, x0)
        diffs['torch_closed_form'] = relative_difference(theirs, exact)
        diffs['dezero_torch'] = relative_difference(ours, theirs)
        sides['torch'] = lambda: derivative_torch(torch, x0)
    for fn in sides.values():  # untimed warm-up
        fn()
    times = alternate(
        {name: (lambda fn=fn: time_block(fn, steps)) for name, fn in sides.items()},
        repeat,
        log,
        'higher: ',
    )
    result = {
        'config': {'points': points, 'order': ORDER, 'repeat': repeat, 'steps': steps},
        'environment': environment(torch),
        'relative_differences': diffs,
        'dezero': spread(times['dezero']),
        'torch': spread(times['torch']) if torch is not None else None,
    }
    result['ratio_dezero_torch'] = (
        result['dezero']['median_s'] / result['torch']['median_s'] if torch is not None else None
    )
    result['targets'] = [
        make_target(
            f'higher: dezero <= {MAX_RATIO} x PyTorch',
            result['ratio_dezero_torch'],
            MAX_RATIO,
            why_skipped='no PyTorch baseline',
        ),
        make_target(
            f'higher: dezero agrees with the closed form (relative difference '
            f'<= {MAX_DIFFERENCE:g})',
            diffs['dezero_closed_form'],
            MAX_DIFFERENCE,
        ),
        make_target(
            f'higher: dezero agrees with PyTorch (relative difference <= {MAX_DIFFERENCE:g})',
            diffs.get('dezero_torch'),
            MAX_DIFFERENCE,
            why_skipped='no PyTorch baseline',
        ),
    ]
    return result


def report_case(result):
    """Table lines: time of the whole computation on each side, and the ratio."""
    lines = [f'    {"side":<8}{"ms per 6th derivative, median [min .. max]":>46}']
    for side in ('dezero', 'torch'):
        if result[side] is not None:
            lines.append(f'    {side:<8}{format_spread(result[side], digits=3):>46}')
    diffs = result['relative_differences']
    if result['ratio_dezero_torch'] is not None:
        lines.append(f'    dezero / torch: {result["ratio_dezero_torch"]:.2f}x')
    lines.append(
        '    relative difference from the closed form: dezero '
        f'{diffs["dezero_closed_form"]:.1e}'
        + (f', torch {diffs["torch_closed_form"]:.1e}' if 'torch_closed_form' in diffs else '')
    )
    return lines


def report(result):
    env, cfg = result['environment'], result['config']
    lines = [
        f'dezero {env["dezero"]} 6th derivative of tanh vs PyTorch  ({env["date"]}; '
        f'Python {env["python"]}, NumPy {env["numpy"]}, PyTorch '
        f'{env["torch"] or "not used"}; {env["cpus"]} CPUs)',
        f'{cfg["points"]:,} float64 points, derivative order {cfg["order"]}; '
        f'{cfg["repeat"]} blocks of {cfg["steps"]} computations',
    ]
    return report_table(lines, report_case(result), result['targets'])


def main(argv=None):
    return torch_case_main(argv, __doc__, run, report, REPEAT, QUICK_REPEAT, STEPS, QUICK_STEPS)


if __name__ == '__main__':
    sys.exit(main())

"""Newton's method with an automatic second derivative, against gradient descent.

Minimises f(x) = x⁴ − 2x² (minima at x = ±1, a maximum at 0) from x = 2.  Newton's
method steps by x ← x − f'(x) / f''(x); both derivatives come from dezero: f' from
``backward(create_graph=True)``, which records the backward pass, and f'' from
differentiating f' once more (double backprop).  Gradient descent steps by
x ← x − lr·f'(x).  The script prints Newton's iterates and both counts, and saves a
picture into ``--out``: the iterates of both methods on the curve of f, and their
distance to the stationary point they reach, iteration by iteration (Newton's error
is squared at every step, gradient descent's shrinks by a constant factor).

Newton's method looks for f'(x) = 0, not for a minimum: where f'' < 0 (|x| < 1/√3) it
steps towards the maximum at 0, and from near 0 it stops there (the script says so).
``--random-start`` draws the start from [−2, 2] with ``--seed``.

    python examples/newton.py [--x0 2.0] [--random-start] [--seed 0] [--lr 0.01]
                              [--tol 1e-10] [--max-iter 10000] [--out out]
"""

import argparse
import os
import sys

import numpy as np

try:
    import dezero  # noqa: F401  (is it installed?)
except ImportError:  # run from a checkout without installing: use the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import dezero  # noqa: F401

from dezero import Variable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from options import (
    check_at_least_one,
    check_output_files,
    finite_float,
    likely_cause,
    output_folder,
    parse_options,
    positive_float,
    random_seed,
    remove_stale_files,
    run_main,
    training_diverged,
)
from plotting import pyplot, save_figure

STATIONARY_POINTS = (-1.0, 0.0, 1.0)


def f(x):
    """x⁴ − 2x², of a Variable or of an array."""
    return x**4 - 2 * x**2


def first_and_second_derivative(x):
    """f'(x) and f''(x) at the Variable ``x``, by backprop and double backprop."""
    x.cleargrad()
    y = f(x)
    y.backward(create_graph=True)
    gx = x.grad  # f'(x), a Variable with its own graph
    x.cleargrad()  # otherwise the next backward would add to f'(x)
    gx.backward()
    gx2 = x.grad  # f''(x)
    return float(gx.data), float(gx2.data)


def newton(x0, tol, max_iter, trace=False):
    """Iterate until a step is smaller than ``tol``; return (path, converged), the path
    being the start and every iterate."""
    x = Variable(np.array(x0, dtype=np.float64))
    path = [float(x0)]
    for i in range(1, max_iter + 1):
        with np.errstate(over='ignore', invalid='ignore'):  # an overflow is said below
            g, h = first_and_second_derivative(x)
        if h == 0.0:
            print(f"  newton {i:3d}: f''(x) = 0 at x = {float(x.data)}; cannot step")
            return path, False
        step = g / h
        if not np.isfinite(step):  # x so large that x**4 or its derivatives overflow
            print(f"  newton {i:3d}: f'(x) / f''(x) overflows at x = {float(x.data)}; cannot step")
            return path, False
        x.data = x.data - step
        path.append(float(x.data))
        if trace:
            print(f'  newton {i:3d}: x = {path[-1]:.12f}')
        if abs(step) < tol:
            return path, True
    return path, False


def gradient_descent(x0, lr, tol, max_iter):
    """Iterate until a step is smaller than ``tol``; return (path, converged)."""
    x = Variable(np.array(x0, dtype=np.float64))
    path = [float(x0)]
    for _ in range(max_iter):
        x.cleargrad()
        with np.errstate(over='ignore', invalid='ignore'):  # divergence is said below
            y = f(x)
            y.backward()
        step = lr * float(x.grad.data)
        x.data = x.data - step
        path.append(float(x.data))
        if not np.isfinite(path[-1]):  # a learning rate too large for this start
            return path, False
        if abs(step) < tol:
            return path, True
    return path, False


def nearest_stationary_point(x):
    return min(STATIONARY_POINTS, key=lambda s: abs(s - x))


def save_picture(newton_path, gd_path, lr, path):
    """f with both methods' iterates, and their distance to the stationary point each
    reaches; returns True when the picture was saved."""
    plt = pyplot('picture')
    if plt is None:
        return False
    newton_path, gd_path = np.array(newton_path), np.array(gd_path)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))

    near = np.concatenate([newton_path, gd_path])
    near = near[np.isfinite(near) & (np.abs(near) < 10)]  # far-off iterates stay off the chart
    low, high = -2.0, 2.0
    if len(near):
        low, high = min(low, near.min() - 0.2), max(high, near.max() + 0.2)
    xs = np.linspace(low, high, 400)
    left.plot(xs, f(xs), color='gray', lw=1, label='f(x) = x⁴ − 2x²')

    def in_view(p):
        return p[(p >= low) & (p <= high)]  # NaN and far-off points are left out

    shown = in_view(gd_path)
    left.plot(
        shown,
        f(shown),
        '.',
        color='tab:orange',
        ms=4,
        label=f'gradient descent, lr {lr} ({len(gd_path) - 1} steps)',
    )
    shown = in_view(newton_path)
    left.plot(
        shown,
        f(shown),
        'o-',
        color='tab:red',
        ms=5,
        lw=1,
        label=f'Newton ({len(newton_path) - 1} steps)',
    )
    left.set_ylim(-1.5, max(3.0, f(np.clip(newton_path[0], low, high)) + 1.0))
    left.set_xlabel('x')
    left.set_title('the iterates on f', fontsize=10)
    left.legend(fontsize=8, loc='upper center')

    for name, p, style, color in (
        ('Newton', newton_path, 'o-', 'tab:red'),
        (f'gradient descent, lr {lr}', gd_path, '-', 'tab:orange'),
    ):
        reached = np.isfinite(p[-1])
        target = nearest_stationary_point(p[-1]) if reached else 0.0
        error = np.abs(p - target)
        steps = np.arange(len(p))
        # log scale: an exact hit is off the chart, and so are the errors of a run
        # that diverged beyond 1e100: matplotlib's ticks overflow near the largest
        # float, and it cannot place infinities and NaN at all
        keep = (error > 0) & (error < 1e100)
        label = f'{name} (to x = {target:g})' if reached else f'{name} (diverged: |x|)'
        right.semilogy(steps[keep], error[keep], style, color=color, ms=4, label=label)
    right.set_xlabel('iteration')
    right.set_ylabel('|x − stationary point reached|')
    right.set_title('distance to the stationary point', fontsize=10)
    right.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    return True


def describe(x):
    """' (a maximum: ...)' when Newton's method stopped at the maximum x = 0."""
    if nearest_stationary_point(x) == 0.0:
        return " (a maximum: Newton's method finds where f'(x) = 0, not only minima)"
    return ''


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Minimise f(x) = x^4 - 2x^2 with Newton's method (second derivative "
        'by double backprop) and with gradient descent, compare the number '
        'of iterations, and draw both.'
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument('--x0', type=finite_float, default=2.0, help='starting point (default: 2.0)')
    start.add_argument(
        '--random-start',
        action='store_true',
        help='start from a random point of [-2, 2] drawn with --seed instead of --x0',
    )
    parser.add_argument(
        '--seed', type=random_seed, default=0, help='random seed for --random-start (default: 0)'
    )
    parser.add_argument(
        '--lr',
        type=positive_float,
        default=0.01,
        help='learning rate of gradient descent (default: 0.01)',
    )
    parser.add_argument(
        '--tol',
        type=positive_float,
        default=1e-10,
        help='stop when a step is smaller than this (default: 1e-10)',
    )
    parser.add_argument(
        '--max-iter',
        type=int,
        default=10000,
        help='give up after this many iterations (default: 10000)',
    )
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the picture (default: out)'
    )
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='accepted for uniformity with the other examples (this one '
        'takes about a second anyway)',
    )
    args = parse_options(parser, argv)
    check_at_least_one(parser, args, 'max_iter')
    picture = os.path.join(args.out, 'newton.png')
    check_output_files(parser, [picture])
    x0 = args.x0
    if args.random_start:
        x0 = float(np.random.default_rng(args.seed).uniform(-2.0, 2.0))

    print(f'minimising f(x) = x^4 - 2x^2 from x = {x0}')
    newton_path, ok_newton = newton(x0, args.tol, args.max_iter, trace=True)
    gd_path, ok_gd = gradient_descent(x0, args.lr, args.tol, args.max_iter)
    print(
        f'newton: {len(newton_path) - 1} iterations, x = {newton_path[-1]:.10f}'
        + (describe(newton_path[-1]) if ok_newton else ' (did not converge)')
    )
    print(
        f'gradient descent (lr={args.lr}): {len(gd_path) - 1} iterations, '
        f'x = {gd_path[-1]:.10f}' + ('' if ok_gd else ' (did not converge)')
    )

    os.makedirs(args.out, exist_ok=True)
    if save_picture(newton_path, gd_path, args.lr, picture):
        print(f'saved {picture}')
    else:  # no matplotlib: an earlier run's picture is not of this one
        remove_stale_files([picture])
    with np.errstate(over='ignore', invalid='ignore'):
        slope = first_and_second_derivative(Variable(np.array(x0, dtype=np.float64)))[0]
    if not np.isfinite(slope):  # no learning rate helps: the start is too far out
        print(
            f"{os.path.basename(sys.argv[0])}: gradient descent cannot start: f'(x) "
            f'overflows at x = {x0:g}; give a smaller --x0',
            file=sys.stderr,
        )
        return 1
    cause = None
    if abs(x0) > abs(parser.get_default('x0')):  # farther out than where --lr's default works
        cause = likely_cause(parser, args, 'x0', 'the start', verdict='too far out')
    at = dict(unit='iteration', steps=range(len(gd_path)), run='gradient descent')
    diverged = training_diverged(
        {'x': gd_path}, args.lr, parser.get_default('lr'), cause=cause, **at
    )
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

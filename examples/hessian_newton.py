"""Newton's method in two dimensions with dezero's ``hessian`` and ``grad``.

Minimises Rosenbrock's banana function f(x, y) = (1 − x)² + 100 (y − x²)², whose
minimum (1, 1) lies at the bottom of a long, curved, flat valley, from the classic start
(−1.2, 1).  Newton's method solves H(x) dx = ∇f(x) for the step and sets x ← x − dx;
both ∇f and the Hessian H come from the function transforms:

    gradient = dezero.grad(rosenbrock)        # x -> array of shape (2,)
    hess = dezero.hessian(rosenbrock)         # x -> array of shape (2, 2)

It gets there in a handful of steps, where gradient descent (x ← x − lr ∇f(x)) crawls
along the valley for tens of thousands.  The script prints every Newton iterate, then
both counts, and saves a contour plot with both paths into ``--out``.  Too large a
learning rate makes gradient descent diverge (above about 0.006 from the classic
start): it stops at the first iterate that is no longer a number, the script says
where, still draws the picture, and exits with status 1.

    python examples/hessian_newton.py [--start -1.2 1.0] [--lr 0.001] [--out out]
"""

import argparse
import os
import sys

import numpy as np

try:
    import dezero
except ImportError:  # run from a checkout without installing: use the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import dezero

from dezero import grad, hessian

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

CLASSIC_START = (-1.2, 1.0)
#: The part of the plane the picture always shows, (x_low, y_low), (x_high, y_high),
#: and how far out an iterate can lie and still widen it.
VIEW = np.array([[-2.0, -1.0], [2.0, 3.0]])
FAR = 10.0


def rosenbrock(p):
    """(1 − x)² + 100 (y − x²)² at p = (x, y); p may also be a stack of grids."""
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def newton(start, tol, max_iter):
    """Newton's method from ``start`` until |∇f| <= ``tol``; returns the path (one
    point per row, the start first) and whether it converged.  It stops, saying so,
    where the Hessian is singular or the step is no longer a number."""
    gradient, hess = grad(rosenbrock), hessian(rosenbrock)
    path = [np.array(start, dtype=np.float64)]
    with np.errstate(over='ignore', invalid='ignore'):  # overflows are looked for below
        for _ in range(max_iter):
            p = path[-1]
            g = gradient(p)
            if np.linalg.norm(g) <= tol:
                return np.array(path), True
            try:
                step = np.linalg.solve(hess(p), g)
            except np.linalg.LinAlgError:
                print(f'  the Hessian at {p} is singular: cannot take a Newton step')
                return np.array(path), False
            if not np.isfinite(p - step).all():  # p so large that f's derivatives overflow
                print(f'  the Newton step at {p} overflows: cannot take it')
                return np.array(path), False
            path.append(p - step)
        return np.array(path), np.linalg.norm(gradient(path[-1])) <= tol


def gradient_descent(start, lr, tol, max_iter):
    """Gradient descent from ``start`` until |∇f| <= ``tol`` or ``max_iter`` steps,
    or until an iterate is no longer a number (too large a learning rate: the path
    then ends with it); returns the path and whether it converged."""
    gradient = grad(rosenbrock)
    p = np.array(start, dtype=np.float64)
    path = [p]
    with np.errstate(over='ignore', invalid='ignore'):  # overflows are looked for below
        for _ in range(max_iter):
            g = gradient(p)
            if np.linalg.norm(g) <= tol:
                return np.array(path), True
            p = p - lr * g
            path.append(p)
            if not np.isfinite(p).all():
                return np.array(path), False
        return np.array(path), np.linalg.norm(gradient(p)) <= tol


def save_picture(newton_path, gd_path, path):
    """A contour plot of log10 f with both paths; returns True when it was saved."""
    plt = pyplot('contour plot')
    if plt is None:
        return False
    points = np.concatenate([newton_path, gd_path, VIEW])
    near = np.isfinite(points).all(axis=1) & (np.abs(points) <= FAR).all(axis=1)
    points = points[near]  # far-off iterates (a diverging path) stay off the picture
    (x_low, y_low), (x_high, y_high) = points.min(axis=0) - 0.2, points.max(axis=0) + 0.2

    def in_view(iterates):  # points outside, NaN among them, break the line there
        shown = np.array(iterates, dtype=np.float64)
        inside = (shown >= [x_low, y_low]) & (shown <= [x_high, y_high])
        shown[~inside.all(axis=1)] = np.nan
        return shown

    xx, yy = np.meshgrid(np.linspace(x_low, x_high, 300), np.linspace(y_low, y_high, 300))
    with dezero.no_grad():
        zz = rosenbrock(dezero.Variable(np.stack([xx, yy]))).data
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.contour(xx, yy, np.log10(zz + 1e-3), levels=25, cmap='viridis', linewidths=0.8)
    every = max(1, len(gd_path) // 400)
    diverged = '' if np.isfinite(gd_path[-1]).all() else ', diverged'
    gd_shown, newton_shown = in_view(gd_path[::every]), in_view(newton_path)
    ax.plot(
        gd_shown[:, 0],
        gd_shown[:, 1],
        '-',
        color='tab:orange',
        lw=1.5,
        label=f'gradient descent ({len(gd_path) - 1} steps{diverged})',
    )
    ax.plot(
        newton_shown[:, 0],
        newton_shown[:, 1],
        'o-',
        color='tab:red',
        ms=4,
        lw=1.5,
        label=f'Newton ({len(newton_path) - 1} steps)',
    )
    ax.plot([1.0], [1.0], '*', color='black', ms=12, label='minimum (1, 1)')
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel('x')
    ax.set_ylabel('y')
    ax.set_title('Rosenbrock: Newton (dezero.hessian) and gradient descent', fontsize=10)
    ax.legend(loc='lower left', fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    return True


def distance_to_minimum(p):
    """How far the point ``p`` lies from the minimum (1, 1).  From the classic start,
    gradient descent with the default learning rate converges; from a start farther
    out, the start rather than ``--lr`` is the likely cause of a divergence."""
    return float(np.linalg.norm(np.asarray(p, dtype=np.float64) - 1.0))


def format_point(p):
    return f'({p[0]:.10f}, {p[1]:.10f})'


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Minimise Rosenbrock's function with Newton's method (gradient and "
        'Hessian from dezero.grad and dezero.hessian) and with gradient '
        'descent, and compare the number of iterations.'
    )
    starts = parser.add_mutually_exclusive_group()
    starts.add_argument(
        '--start',
        type=finite_float,
        nargs=2,
        default=CLASSIC_START,
        metavar=('X', 'Y'),
        help='starting point (default: -1.2 1.0)',
    )
    starts.add_argument(
        '--random-start',
        action='store_true',
        help='start from a random point of [-2, 2] x [-1, 3] drawn with --seed instead',
    )
    parser.add_argument(
        '--seed', type=random_seed, default=0, help='random seed for --random-start (default: 0)'
    )
    parser.add_argument(
        '--lr',
        type=positive_float,
        default=0.001,
        help='learning rate of gradient descent (default: 0.001; above about 0.006 it diverges)',
    )
    parser.add_argument(
        '--tol',
        type=positive_float,
        default=1e-6,
        help='stop when |grad f| is at most this (default: 1e-6)',
    )
    parser.add_argument(
        '--max-iter', type=int, default=50, help='Newton iterations at most (default: 50)'
    )
    parser.add_argument(
        '--gd-max-iter',
        type=int,
        default=None,
        help='gradient descent iterations at most (default: 50000, --smoke: 2000)',
    )
    parser.add_argument(
        '--out',
        type=output_folder,
        default='out',
        help='folder for the contour plot (default: out)',
    )
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='a quick run: gradient descent stops after 2000 iterations, unless '
        '--gd-max-iter says otherwise',
    )
    args = parse_options(parser, argv)
    if args.gd_max_iter is None:
        args.gd_max_iter = 2000 if args.smoke else 50000
    check_at_least_one(parser, args, 'max_iter', 'gd_max_iter')
    picture = os.path.join(args.out, 'hessian_newton.png')
    check_output_files(parser, [picture])
    start = np.array(args.start)
    if args.random_start:
        rng = np.random.default_rng(args.seed)
        start = rng.uniform([-2.0, -1.0], [2.0, 3.0])

    print(f"minimising Rosenbrock's function from {format_point(start)}")
    newton_path, newton_ok = newton(start, args.tol, args.max_iter)
    for i, p in enumerate(newton_path[1:], 1):
        f = float(rosenbrock(p))
        print(f'  newton {i:2d}: x = {format_point(p)}  f = {f:.3e}')
    gd_path, gd_ok = gradient_descent(start, args.lr, args.tol, args.gd_max_iter)
    n_newton, n_gd = len(newton_path) - 1, len(gd_path) - 1
    print(
        f'newton: {n_newton} iterations, x = {format_point(newton_path[-1])}'
        + ('' if newton_ok else ' (did not converge)')
    )
    history = {'x': list(gd_path[:, 0]), 'y': list(gd_path[:, 1])}
    at = dict(unit='iteration', steps=range(len(gd_path)), run='gradient descent')
    with np.errstate(over='ignore', invalid='ignore'):
        slope = grad(rosenbrock)(np.array(start, dtype=np.float64))
    if not np.isfinite(slope).all():  # no learning rate helps: the start is too far out
        print(
            f'{os.path.basename(sys.argv[0])}: gradient descent cannot start: the '
            f'gradient overflows at --start {start[0]:g} {start[1]:g}; give a start '
            f'nearer (1, 1)',
            file=sys.stderr,
        )
        diverged = True
    else:
        cause = None
        far = distance_to_minimum(start) > distance_to_minimum(CLASSIC_START)
        if far and not args.random_start:  # a start given, and not --lr, likely to blame
            cause = likely_cause(parser, args, 'start', 'the start', verdict='too far out')
        diverged = training_diverged(history, args.lr, parser.get_default('lr'), cause=cause, **at)
    if not diverged:
        distance = np.linalg.norm(gd_path[-1] - 1.0)
        print(
            f'gradient descent (lr={args.lr}): {n_gd} iterations, '
            f'x = {format_point(gd_path[-1])}'
            + ('' if gd_ok else f' (did not converge: still {distance:.3g} from (1, 1))')
        )

    os.makedirs(args.out, exist_ok=True)
    if save_picture(newton_path, gd_path, picture):
        print(f'saved {picture}')
    else:  # no matplotlib: an earlier run's picture is not of this one
        remove_stale_files([picture])
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

"""Newton's method with an automatic second derivative, against gradient descent.

Minimises f(x) = x⁴ − 2x² (minima at x = ±1) from x = 2.  Newton's method steps by
x ← x − f'(x) / f''(x); both derivatives come from dezero: f' from ``backward
(create_graph=True)``, which records the backward pass, and f'' from differentiating
f' once more (double backprop).  Gradient descent steps by x ← x − lr·f'(x).

    python examples/newton.py [--x0 2.0] [--lr 0.01] [--tol 1e-10] [--max-iter 10000]
"""
import argparse
import os
import sys

import numpy as np

try:
    import dezero  # noqa: F401  (is it installed?)
except ImportError:          # run from a checkout without installing: use the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import dezero  # noqa: F401

from dezero import Variable


def f(x):
    return x ** 4 - 2 * x ** 2


def first_and_second_derivative(x):
    """f'(x) and f''(x) at the Variable ``x``, by backprop and double backprop."""
    x.cleargrad()
    y = f(x)
    y.backward(create_graph=True)
    gx = x.grad                  # f'(x), a Variable with its own graph
    x.cleargrad()                # otherwise the next backward would add to f'(x)
    gx.backward()
    gx2 = x.grad                 # f''(x)
    return float(gx.data), float(gx2.data)


def newton(x0, tol, max_iter, trace=False):
    """Iterate until a step is smaller than ``tol``; return (iterations, x, converged)."""
    x = Variable(np.array(x0, dtype=np.float64))
    for i in range(1, max_iter + 1):
        g, h = first_and_second_derivative(x)
        if h == 0.0:
            print(f"  newton {i:3d}: f''(x) = 0 at x = {float(x.data)}; cannot step")
            return i, float(x.data), False
        step = g / h
        x.data = x.data - step
        if trace:
            print(f'  newton {i:3d}: x = {float(x.data):.12f}')
        if abs(step) < tol:
            return i, float(x.data), True
    return max_iter, float(x.data), False


def gradient_descent(x0, lr, tol, max_iter):
    """Iterate until a step is smaller than ``tol``; return (iterations, x, converged)."""
    x = Variable(np.array(x0, dtype=np.float64))
    for i in range(1, max_iter + 1):
        x.cleargrad()
        y = f(x)
        y.backward()
        step = lr * float(x.grad.data)
        x.data = x.data - step
        if abs(step) < tol:
            return i, float(x.data), True
    return max_iter, float(x.data), False


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Minimise f(x) = x^4 - 2x^2 with Newton's method (second derivative "
                    "by double backprop) and with gradient descent, and compare the "
                    "number of iterations.")
    parser.add_argument('--x0', type=float, default=2.0,
                        help='starting point (default: 2.0)')
    parser.add_argument('--lr', type=float, default=0.01,
                        help='learning rate of gradient descent (default: 0.01)')
    parser.add_argument('--tol', type=float, default=1e-10,
                        help='stop when a step is smaller than this (default: 1e-10)')
    parser.add_argument('--max-iter', type=int, default=10000,
                        help='give up after this many iterations (default: 10000)')
    parser.add_argument('--smoke', action='store_true',
                        help='accepted for uniformity with the other examples (this one '
                             'takes well under a second anyway)')
    args = parser.parse_args(argv)

    print(f'minimising f(x) = x^4 - 2x^2 from x = {args.x0}')
    n_newton, x_newton, ok_newton = newton(args.x0, args.tol, args.max_iter, trace=True)
    n_gd, x_gd, ok_gd = gradient_descent(args.x0, args.lr, args.tol, args.max_iter)
    print(f'newton: {n_newton} iterations, x = {x_newton:.10f}'
          + ('' if ok_newton else ' (did not converge)'))
    print(f'gradient descent (lr={args.lr}): {n_gd} iterations, x = {x_gd:.10f}'
          + ('' if ok_gd else ' (did not converge)'))
    return 0


if __name__ == '__main__':
    sys.exit(main())

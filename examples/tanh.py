"""Derivatives of tanh of any order, by differentiating the backward pass again.

Each ``backward(create_graph=True)`` records the computation of the gradient as a new
graph, so the gradient is itself a function of x that can be differentiated:

    y = F.tanh(x)
    y.backward(create_graph=True)        # x.grad is dy/dx, with its own graph
    for _ in range(order - 1):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)   # x.grad is now one order higher

The script prints the n-th derivative at a few points (checked against its closed form),
the size of the n-th derivative's graph, writes that graph as DOT (and PNG when
Graphviz's ``dot`` program is installed), and plots tanh with its first derivatives
(PNG, when matplotlib is installed).

The graph grows about 2.7-fold with each order (1,469 functions for the 8th
derivative, and Graphviz then takes minutes to draw it), so ``--order`` goes up to
``MAX_ORDER``, 8.

    python examples/tanh.py --order 6 --out out
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

import dezero.functions as F
from dezero import Variable
from dezero.graph import GraphvizNotFoundError, functions_behind, operands
from dezero.utils import plot_dot_graph

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from options import (
    check_output_files,
    output_folder,
    parse_options,
    remove_stale_files,
    run_main,
)
from plotting import pyplot, save_figure

POINTS = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0])
MAX_PLOTTED_ORDER = 4
#: The highest ``--order``: its graph has 1,469 functions, the next one about 4,000.
MAX_ORDER = 8


def derivatives(x_data, order):
    """tanh and its derivatives of orders 1..order at ``x_data``.

    Returns a list of Variables, item k being the k-th derivative; the last one keeps
    the graph that computed it.
    """
    x = Variable(np.asarray(x_data, dtype=np.float64), name='x')
    y = F.tanh(x)
    y.name = 'y'
    results = [y]
    if order == 0:
        return results
    y.backward(create_graph=True)
    for _ in range(order - 1):
        gx = x.grad
        results.append(gx)
        x.cleargrad()
        gx.backward(create_graph=True)
    gx = x.grad
    gx.name = f'gx{order}'
    results.append(gx)
    return results


def closed_form(x, order):
    """The order-th derivative of tanh from its polynomial in t = tanh(x).

    d/dx tanh = 1 - t², so if the k-th derivative is P_k(t), the next one is
    P_k'(t) (1 - t²).
    """
    p = np.polynomial.Polynomial([0.0, 1.0])  # P_0(t) = t
    one_minus_t2 = np.polynomial.Polynomial([1.0, 0.0, -1.0])
    for _ in range(order):
        p = p.deriv() * one_minus_t2
    return p(np.tanh(x))


def graph_size(output):
    """The number of function nodes and of variables in the graph behind ``output``,
    as the drawing shows them: a constant operand (the 1 of 1 - y * y) is a variable,
    as in the book."""
    functions = functions_behind(output)
    variables = {id(output)}
    constants = 0
    for f in functions:
        variables.update(id(x) for x in f.inputs)
        variables.update(id(ref()) for ref in f.outputs if ref() is not None)
        constants += len(operands(f)) - len(f.inputs)
    return len(functions), len(variables) + constants


def write_graph(output, path_png, verbose):
    """Write the graph behind ``output`` as DOT text and, when Graphviz's ``dot``
    program is installed, as a PNG picture (plot_dot_graph always writes the DOT);
    returns whether the PNG was written."""
    path_dot = os.path.splitext(path_png)[0] + '.dot'
    try:
        plot_dot_graph(output, verbose=verbose, to_file=path_png)
    except GraphvizNotFoundError as e:
        print(f'saved the graph as DOT: {path_dot}')
        print(f'no PNG of the graph: {e}')
        return False
    print(f'saved the graph as DOT: {path_dot}')
    print(f'saved the graph as PNG: {path_png}')
    return True


def plot_derivatives(order, path_png):
    """Plot tanh and its derivatives up to ``min(order, MAX_PLOTTED_ORDER)``; returns
    False without matplotlib."""
    plt = pyplot('plot of the derivatives')
    if plt is None:
        return False
    top = min(order, MAX_PLOTTED_ORDER)
    x = np.linspace(-4.0, 4.0, 401)
    ys = derivatives(x, top)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, y in enumerate(ys):
        ax.plot(x, y.data, label='tanh(x)' if k == 0 else f'order {k}')
    ax.set_xlabel('x')
    ax.set_title(f'tanh and its derivatives up to order {top}')
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path_png, dpi=100)
    print(f'saved {path_png}')
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Compute the n-th derivative of tanh by repeated '
        'backward(create_graph=True), print its graph size, and save the '
        'graph (DOT, PNG) and a plot of the derivatives (PNG).'
    )
    parser.add_argument(
        '--order',
        type=int,
        default=None,
        help=f'which derivative to compute, 0 to {MAX_ORDER} (default: 6, --smoke: 3)',
    )
    parser.add_argument(
        '--out',
        type=output_folder,
        default='out',
        help='folder for the output files (default: out)',
    )
    parser.add_argument(
        '--verbose-graph',
        action='store_true',
        help='label the graph variables with their shape and dtype',
    )
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='a quick run: the 3rd derivative, unless --order says otherwise',
    )
    args = parse_options(parser, argv)
    if args.order is None:
        args.order = 3 if args.smoke else 6
    if not 0 <= args.order <= MAX_ORDER:
        parser.error(f'--order must be from 0 to {MAX_ORDER}, got {args.order}')
    graph_png = os.path.join(args.out, f'tanh_order{args.order}.png')
    plot_png = os.path.join(args.out, 'tanh_derivatives.png')
    graph_dot = os.path.splitext(graph_png)[0] + '.dot'  # what write_graph writes beside
    check_output_files(parser, [graph_dot, graph_png, plot_png])
    os.makedirs(args.out, exist_ok=True)

    ys = derivatives(POINTS, args.order)
    gx = ys[-1]
    expected = closed_form(POINTS, args.order)
    error = float(np.max(np.abs(gx.data - expected)))
    print(f'order-{args.order} derivative of tanh')
    print(f'{"x":>6}  {"value":>14}')
    for x, v in zip(POINTS, gx.data):
        print(f'{x:>6.2f}  {v:>14.8f}')
    print(f'max |error| against the closed form: {error:.3g}')

    n_funcs, n_vars = graph_size(gx)
    print(f'graph of the order-{args.order} derivative: {n_funcs} functions, {n_vars} variables')

    skipped = []  # pictures this run cannot draw: an earlier run's are not of this one
    if not write_graph(gx, graph_png, verbose=args.verbose_graph):
        skipped.append(graph_png)
    if not plot_derivatives(args.order, plot_png):
        skipped.append(plot_png)
    remove_stale_files(skipped)
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))

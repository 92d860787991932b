"""Buying apples and oranges: backpropagation on a computational graph you can read.

The warm-up of every course on backpropagation.  Two apples at 100 each and three
oranges at 150 each, with 10% tax:

    price = (apple * apple_num + orange * orange_num) * tax     = 715

Each quantity is a named ``dezero.Variable``, so the sum is recorded as a graph of
``Mul`` and ``Add`` functions.  ``price.backward(retain_grad=True)`` then gives how much
the price moves per unit of each input:

    dprice/dapple = 2.2        dprice/dapple_num = 110
    dprice/dorange = 3.3       dprice/dorange_num = 165       dprice/dtax = 650

(and, kept by ``retain_grad``, the derivatives with respect to the intermediate sums).

The script prints them and draws the graph the way the textbooks do, with the values
on the edges: one picture of the forward pass (each edge labelled with the value
flowing along it) above one of the backward pass (the same edges, pointing back,
labelled with the derivative of the price with respect to that value).  The DOT text
is written by the script itself and always saved as ``shopping.dot``; ``shopping.png``
is rendered too when Graphviz (its ``dot`` program and the ``graphviz`` Python
package) is installed.

    python examples/shopping.py --out out
    python examples/shopping.py --apple-num 5 --tax 1.08
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
from dezero.atomic import atomic_write_bytes, atomic_write_text
from dezero.graph import functions_behind, live_variable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from options import (
    check_output_files,
    finite_float,
    output_folder,
    parse_options,
    random_seed,
    remove_stale_files,
    run_main,
)

#: How the functions of the graph are drawn: the operator's symbol, else the class name.
SYMBOLS = {'Add': '+', 'Sub': '-', 'Mul': '×', 'Div': '÷', 'Neg': '-'}

#: The names of the inputs, in the order they are printed.
INPUTS = ('apple', 'apple_num', 'orange', 'orange_num', 'tax')


def number(value):
    """A scalar as text with at most 10 significant digits, which rounds away float
    noise: 715.0000000000001 -> '715', 2.2000000000000002 -> '2.2'."""
    return f'{float(np.asarray(value)):.10g}'


def shopping(apple=100.0, apple_num=2.0, orange=150.0, orange_num=3.0, tax=1.1):
    """Compute the price with named Variables and back-propagate through it.

    Returns ``(price, variables)``: ``price`` is the output Variable (its graph kept),
    ``variables`` a dict name -> Variable of the inputs (``INPUTS``) followed by the
    intermediate results ``apple_price``, ``orange_price`` and ``all_price``.  Every
    variable's ``grad`` holds d price / d variable (``retain_grad=True``)."""

    def var(value, name):
        return Variable(np.array(float(value)), name=name)

    v = {
        name: var(value, name)
        for name, value in zip(INPUTS, (apple, apple_num, orange, orange_num, tax))
    }
    v['apple_price'] = v['apple'] * v['apple_num']
    v['orange_price'] = v['orange'] * v['orange_num']
    v['all_price'] = v['apple_price'] + v['orange_price']
    price = v['all_price'] * v['tax']
    for name in ('apple_price', 'orange_price', 'all_price'):
        v[name].name = name
    price.name = 'price'
    price.backward(retain_grad=True)
    return price, v


def _quote(text):
    return '"' + str(text).replace('\\', '\\\\').replace('"', '\\"') + '"'


def _cluster(output, prefix, title, backward):
    """DOT lines of one picture of the graph behind ``output``: functions as circles,
    input and output variables as plain names, every edge labelled with the value
    flowing along it (``backward=False``) or with d output / d that value, the edge
    pointing back (``backward=True``; a variable feeding several functions shows its
    total derivative on each of its edges)."""
    colour = 'firebrick' if backward else 'black'
    lines = [
        f'subgraph cluster_{prefix} {{',
        f'  label={_quote(title)}; labeljust=l; fontname=Helvetica; color=grey;',
    ]
    ids = {}  # id(object) -> node name in this cluster

    def node(obj, label, shape):
        if id(obj) not in ids:
            ids[id(obj)] = f'{prefix}{len(ids)}'
            lines.append(f'  {ids[id(obj)]} [label={_quote(label)}, shape={shape}];')
        return ids[id(obj)]

    def edge(tail, head, v):
        if v is None:  # gone: its values are not in the graph
            text, attrs = '?', 'dir=back' if backward else ''
        elif backward:
            text = '?' if v.grad is None else number(v.grad.data)
            attrs = 'dir=back'
        else:
            text, attrs = number(v.data), ''
        lines.append(
            f'  {tail} -> {head} [label={_quote(text)}, color={colour}, '
            f'fontcolor={colour}{", " + attrs if attrs else ""}];'
        )

    def function(f):
        name = type(f).__name__
        return node(f, SYMBOLS.get(name, name), 'circle')

    # functions_behind lists a generation's functions in the order its walk found
    # them, last input first; reversed, the inputs are drawn top to bottom as written
    for f in sorted(reversed(functions_behind(output)), key=lambda f: f.generation):
        head = function(f)
        for x in f.inputs:
            tail = (
                function(x.creator) if x.creator is not None else node(x, x.name or '', 'plaintext')
            )
            edge(tail, head, live_variable(x))  # the graph may hold a stand-in
    if output.creator is not None:
        edge(function(output.creator), node(output, output.name or '', 'plaintext'), output)
    lines.append('}')
    return lines


def value_graph_dot(output):
    """The DOT text of two pictures of the graph behind ``output`` (which must have
    been back-propagated with ``retain_grad=True`` for the inner edges to show their
    derivatives): the forward pass with values on the edges, then the backward pass
    with derivatives."""
    name = output.name or 'output'
    forward = _cluster(output, 'f', 'forward: the values', backward=False)
    backward = _cluster(output, 'b', f'backward: d{name}/d(value on each edge)', backward=True)
    body = [
        'rankdir=LR;',
        'node [fontname=Helvetica];',
        'edge [fontname=Helvetica];',
        *backward,
        *forward,
    ]  # Graphviz stacks the clusters bottom up
    return 'digraph shopping {\n' + ''.join(f'  {line}\n' for line in body) + '}\n'


def render_png(dot_text, path):
    """Render ``dot_text`` into the PNG file ``path`` with Graphviz; return None on
    success, else the reason there is no picture."""
    try:
        import graphviz
    except ImportError:
        return 'the graphviz Python package is not installed (pip install graphviz)'
    try:
        picture = graphviz.Source(dot_text).pipe(format='png')
    except graphviz.ExecutableNotFound:
        return (
            "Graphviz's dot program was not found (install Graphviz, e.g. "
            'apt-get install graphviz, and put dot on the PATH)'
        )
    atomic_write_bytes(path, picture)
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Backpropagation on the shopping example: print the price and its '
        'derivatives, and draw the graph with values and gradients on the '
        'edges (shopping.dot, and shopping.png with Graphviz).'
    )
    parser.add_argument(
        '--apple', type=finite_float, default=100.0, help='price of an apple (default: 100)'
    )
    parser.add_argument('--apple-num', type=finite_float, default=2.0, help='default: 2')
    parser.add_argument(
        '--orange', type=finite_float, default=150.0, help='price of an orange (default: 150)'
    )
    parser.add_argument('--orange-num', type=finite_float, default=3.0, help='default: 3')
    parser.add_argument('--tax', type=finite_float, default=1.1, help='tax factor (default: 1.1)')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the pictures (default: out)'
    )
    parser.add_argument(
        '--seed',
        type=random_seed,
        default=0,
        help='accepted like in every example; nothing here is random',
    )
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='accepted like in every example; this one is instant anyway',
    )
    args = parse_options(parser, argv)
    dot_path = os.path.join(args.out, 'shopping.dot')
    png_path = os.path.join(args.out, 'shopping.png')
    check_output_files(parser, [dot_path, png_path])

    price, v = shopping(args.apple, args.apple_num, args.orange, args.orange_num, args.tax)
    print(f'price = {number(price.data)}')
    for name in INPUTS:
        print(f'dprice/d{name} = {number(v[name].grad.data)}')
    print('intermediate results (kept by retain_grad=True):')
    for name in ('apple_price', 'orange_price', 'all_price'):
        print(f'  {name} = {number(v[name].data)}   dprice/d{name} = {number(v[name].grad.data)}')

    os.makedirs(args.out, exist_ok=True)
    text = value_graph_dot(price)
    atomic_write_text(dot_path, text)
    print(f'saved {dot_path}')
    why_not = render_png(text, png_path)
    if why_not is None:
        print(f'saved {png_path}')
    else:
        print(f'no PNG: {why_not}; the DOT text is in {dot_path}')
        remove_stale_files([png_path])  # an earlier run's picture is not of this graph
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))

"""Step 35: higher derivatives of tanh, and the graphs that compute them.

The loop of step 34 applied to tanh(x) = (e^x - e^-x) / (e^x + e^-x): each pass
differentiates the previous derivative, whose graph contains everything that computed
it, so the graphs grow fast.  The loop runs twice, up to the 8th derivative at x = 1:

- with the book's Tanh, defined below, whose backward is gy * (1 - y * y), three
  recorded functions (y * y, 1 - ..., gy * ...);
- with dezero's F.tanh, whose backward is one fused function, TanhGrad, computing
  gy * (1 - y * y) in a single node (its own backward is TanhGrad again and a few
  multiplications).

Look at the table: both give the same values, checked against a closed form, but the
graphs of the 1st to 8th derivatives have 4, 9, 21, 51, 129, 339, 921 and 2,571
functions with the book's Tanh (the book's counts), and 2, 5, 13, 33, 83, 211, 549 and
1,469 with F.tanh: each differentiation records the backward of every function in the
graph, so the saving of the fused node compounds, to 43% fewer functions at the 8th
derivative.

The picture of the book, the graph of the 2nd derivative with the book's Tanh (9
functions), is saved as tanh.dot and tanh.png; the same derivative with F.tanh (5
functions) as tanh_fused.dot and tanh_fused.png (the PNGs need Graphviz's `dot` program
and are skipped without it).  One detail differs from the book's figure: the constant 1
of 1 - y * y feeds a box labelled SubFromConstant, where the book's says Sub (dezero keeps
the number inside the function; the picture draws it as the book's variable).  The graph of
the 6th derivative with the book's Tanh (339 functions), which takes Graphviz several
seconds to lay out, is saved as tanh_order6.dot only.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Function, Variable
from dezero.graph import GraphvizNotFoundError
from dezero.utils import graph_stats, plot_dot_graph

MAX_ORDER = 8


class Tanh(Function):
    """The book's tanh: y = tanh(x), with the derivative 1 - y² written out in backward."""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, gy):
        y = self.outputs[0]()  # the output (held weakly by the function)
        return gy * (1 - y * y)


def book_tanh(x):
    """tanh(x), recorded as the book's Tanh."""
    return Tanh()(x)


def derivatives(tanh, max_order):
    """The 1st to max_order-th derivatives of ``tanh`` at x = 1, each a Variable that
    keeps the graph computing it (item k - 1 is the k-th derivative)."""
    x = Variable(np.array(1.0), name='x')
    y = tanh(x)
    y.name = 'y'
    y.backward(create_graph=True)  # x.grad = the first derivative
    found = []
    for order in range(1, max_order + 1):
        gx = x.grad
        found.append(gx)
        if order < max_order:
            x.cleargrad()
            gx.backward(create_graph=True)  # x.grad becomes the next order
    return found


def closed_form(x, order):
    """The order-th derivative of tanh, from its derivative 1 - tanh^2: each derivative
    is a polynomial P(t) in t = tanh(x), and the next one is P'(t) * (1 - t^2)."""
    p = np.polynomial.Polynomial([0.0, 1.0])  # P(t) = t
    for _ in range(order):
        p = p.deriv() * np.polynomial.Polynomial([1.0, 0.0, -1.0])
    return p(np.tanh(x))


book = derivatives(book_tanh, MAX_ORDER)
fused = derivatives(F.tanh, MAX_ORDER)

print(f'{"":>39}functions in the graph')
print(
    f'{"order":>5}  {"value at x = 1":>16}  {"closed form":>16}  {"book Tanh":>10}  {"F.tanh":>8}'
)
for order, (gx_book, gx_fused) in enumerate(zip(book, fused), start=1):
    print(
        f'{order:>5}  {float(gx_book.data):>16.10f}  {closed_form(1.0, order):>16.10f}  '
        f'{graph_stats(gx_book).functions:>10}  {graph_stats(gx_fused).functions:>8}'
    )
agree = all(np.isclose(a.data, b.data, rtol=1e-12, atol=0) for a, b in zip(book, fused))
print(f'the two versions agree to 12 digits at every order: {agree}')

n_book = graph_stats(book[-1]).functions
n_fused = graph_stats(fused[-1]).functions
print(
    f'8th derivative: {n_fused} functions with the fused TanhGrad instead of {n_book}, '
    f'{1 - n_fused / n_book:.0%} fewer'
)

# The book's figure (the 2nd derivative), and the same derivative with F.tanh.
for gx, name in ((book[1], 'tanh'), (fused[1], 'tanh_fused')):
    gx.name = 'gx2'
    try:
        plot_dot_graph(gx, verbose=False, to_file=f'{name}.png')
    except GraphvizNotFoundError as e:
        print(f'wrote {name}.dot; skipped {name}.png: {e}')
    else:
        print(f'wrote {name}.dot and {name}.png ({graph_stats(gx).functions} functions)')

# The 6th derivative's graph as DOT text only: a .dot to_file skips the rendering.
book[5].name = 'gx6'
plot_dot_graph(book[5], verbose=False, to_file='tanh_order6.dot')
print('wrote tanh_order6.dot (to see it: dot tanh_order6.dot -T png -o tanh_order6.png)')

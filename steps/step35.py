"""Step 35: higher derivatives of tanh, and how big their graphs get.

The loop of step 34 applied to tanh(x) = (e^x - e^-x) / (e^x + e^-x): each pass
differentiates the previous derivative, whose graph contains everything that computed
it, so the graphs grow fast. Look at the values at x = 1 (checked against a closed
form), and at the number of functions and variables in the graph of each derivative.
The graph of the 4th derivative is saved as tanh_order4.dot and tanh_order4.png (the
PNG needs Graphviz's `dot` program and is skipped without it); the graph of the 6th,
which takes Graphviz several seconds to lay out, is saved as tanh_order6.dot only.
"""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable
from dezero.graph import GraphvizNotFoundError
from dezero.utils import plot_dot_graph

MAX_ORDER = 8


def graph_size(output):
    """Count the functions and variables behind `output`, walking creator links."""
    functions, variables = set(), {output}
    todo = [output.creator]
    while todo:
        f = todo.pop()
        if f is None or f in functions:
            continue
        functions.add(f)
        for x in f.inputs:
            variables.add(x)
            todo.append(x.creator)
    return len(functions), len(variables)


def closed_form(x, order):
    """The order-th derivative of tanh, from its derivative 1 - tanh^2: each derivative
    is a polynomial P(t) in t = tanh(x), and the next one is P'(t) * (1 - t^2)."""
    p = np.polynomial.Polynomial([0.0, 1.0])            # P(t) = t
    for _ in range(order):
        p = p.deriv() * np.polynomial.Polynomial([1.0, 0.0, -1.0])
    return p(np.tanh(x))


x = Variable(np.array(1.0), name='x')
y = F.tanh(x)
y.name = 'y'
y.backward(create_graph=True)           # x.grad = first derivative

print(f'{"order":>5}  {"value at x = 1":>16}  {"closed form":>16}  graph size')
derivatives = {}
for order in range(1, MAX_ORDER + 1):
    gx = x.grad                          # the derivative of this order
    gx.name = f'gx{order}'
    derivatives[order] = gx              # keeps gx and the graph behind it alive
    n_functions, n_variables = graph_size(gx)
    print(f'{order:>5}  {float(gx.data):>16.10f}  {closed_form(1.0, order):>16.10f}  '
          f'{n_functions} functions, {n_variables} variables')
    if order < MAX_ORDER:
        x.cleargrad()
        gx.backward(create_graph=True)   # x.grad becomes the next order

# A picture of the 4th derivative's graph (the DOT file is written even without dot).
try:
    plot_dot_graph(derivatives[4], verbose=False, to_file='tanh_order4.png')
except GraphvizNotFoundError as e:
    print('wrote tanh_order4.dot')
    print(f'skipped tanh_order4.png: {e}')
else:
    print('wrote tanh_order4.dot and tanh_order4.png')

# The 6th derivative's graph as DOT text only: a .dot to_file skips the rendering.
plot_dot_graph(derivatives[6], verbose=False, to_file='tanh_order6.dot')
print('wrote tanh_order6.dot '
      '(to see it: dot tanh_order6.dot -T png -o tanh_order6.png)')

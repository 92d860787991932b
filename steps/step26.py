"""Step 26: drawing the graph of any computation.

Every output knows its creator, every function its inputs: walking these links back
from an output visits the whole graph, and writing one DOT line per node and per edge
on the way gives a picture of it. dezero does this in `dezero.utils.get_dot_graph`
(the text) and `plot_dot_graph` (the text plus a picture rendered by Graphviz).
This step walks the graph of the Goldstein-Price function by hand to count its nodes,
then saves goldstein.dot and goldstein.png. Without Graphviz's `dot` program the PNG
is skipped with a message, and the DOT file is still written.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

from dezero import Variable
from dezero.graph import GraphvizNotFoundError
from dezero.utils import get_dot_graph, plot_dot_graph


def goldstein(x, y):
    return (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)) * (
        30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    )


def walk(output):
    """Collect the functions and variables behind `output`, following creator links
    (a function's inputs lead to their creators, and so on back to the leaves)."""
    functions, variables = [], {id(output)}
    todo = [output.creator]
    while todo:
        f = todo.pop()
        if f is None or f in functions:  # a leaf, or a function already visited
            continue
        functions.append(f)
        for x in f.inputs:
            variables.add(id(x))
            todo.append(x.creator)
    return functions, variables


x = Variable(np.array(1.0), name='x')
y = Variable(np.array(1.0), name='y')
z = goldstein(x, y)
z.name = 'z'  # names become the labels of the ellipses

functions, variables = walk(z)
print(f'graph of goldstein(x, y): {len(functions)} functions, {len(variables)} variables')
kinds = sorted({type(f).__name__ for f in functions})
print(f'kinds of function in it: {", ".join(kinds)}')

# With verbose=True each variable's label also shows its shape and dtype.
text = get_dot_graph(z, verbose=True)
print(f'the DOT text has {len(text.splitlines())} lines; the first ones are:')
print('\n'.join(text.splitlines()[:6]))

# plot_dot_graph writes goldstein.dot first, then asks Graphviz for the picture.
try:
    plot_dot_graph(z, verbose=False, to_file='goldstein.png')
except GraphvizNotFoundError as e:
    print('wrote goldstein.dot')
    print(f'skipped goldstein.png: {e}')
else:
    print('wrote goldstein.dot')
    print('wrote goldstein.png')

"""Step 27: the sin function, then sin from its Taylor series, and the graph of a loop.

First sin as a Function of its own, written as the earlier steps wrote square and exp:
forward computes np.sin, backward multiplies the incoming gradient by cos(x). Then
sin(x) = x - x^3/3! + x^5/5! - ... : `my_sin` adds terms until one is smaller than a
threshold. The loop is ordinary Python, yet dezero records every term it computes, so
backward() differentiates the whole sum and gives (nearly) cos(x). Look at how the
value and the gradient at pi/4 approach sin and cos as the threshold shrinks, and at
the size of the graph, which grows with the number of terms. The graph for the
threshold 1e-4 is saved as my_sin_1e-04.dot and my_sin_1e-04.png (the PNG needs
Graphviz's `dot` program, and is skipped without it); the much bigger one for 1e-150
is saved as my_sin_1e-150.dot only.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import math

import numpy as np

from dezero import Function, Variable
from dezero.graph import GraphvizNotFoundError
from dezero.utils import get_dot_graph, plot_dot_graph


class Sin(Function):
    """y = sin(x). Derivative: cos(x)."""

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        x = self.inputs[0].data
        return gy * np.cos(x)


def sin(x):
    return Sin()(x)


def my_sin(x, threshold=1e-4):
    """sin(x) by its Taylor series around 0, stopping at the first term below threshold.
    Returns the sum and the number of terms used."""
    y = 0
    for i in range(100000):
        c = (-1) ** i / math.factorial(2 * i + 1)
        t = c * x ** (2 * i + 1)
        y = y + t
        if abs(t.data) < threshold:
            return y, i + 1
    return y, i + 1


def count_functions(output):
    """The number of function nodes (boxes) in the DOT text of output's graph."""
    return get_dot_graph(output, verbose=False).count('shape=box')


x0 = np.pi / 4

# The Function Sin: one node in the graph, its derivative exact.
x = Variable(np.array(x0))
y = sin(x)
y.backward()
print(f'sin at pi/4:     y = {float(y.data):.16f}, dy/dx = {float(x.grad.data):.16f}')

for threshold in (1e-4, 1e-8, 1e-150):
    x = Variable(np.array(x0), name='x')
    y, terms = my_sin(x, threshold)
    y.name = 'y'
    y.backward()
    print(
        f'my_sin threshold {threshold:g}: {terms} terms, '
        f'y = {float(y.data):.16f}, dy/dx = {float(x.grad.data):.16f}, '
        f'graph of {count_functions(y)} functions'
    )

    if threshold == 1e-4:
        # A small graph: save its DOT text and, with Graphviz, a picture.
        try:
            plot_dot_graph(y, verbose=False, to_file='my_sin_1e-04.png')
        except GraphvizNotFoundError as e:
            print('  wrote my_sin_1e-04.dot')
            print(f'  skipped my_sin_1e-04.png: {e}')
        else:
            print('  wrote my_sin_1e-04.dot and my_sin_1e-04.png')
    elif threshold == 1e-150:
        # A big graph: Graphviz needs several seconds to lay it out, so only the DOT
        # text is saved (render it yourself: dot my_sin_1e-150.dot -T png -o big.png).
        plot_dot_graph(y, verbose=False, to_file='my_sin_1e-150.dot')
        print('  wrote my_sin_1e-150.dot')

print(f'exact:           sin = {np.sin(x0):.16f}, cos = {np.cos(x0):.16f}')

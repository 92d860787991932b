"""Step 31: the backward pass can build a graph of its own.

Because backward() computes gradients with Variable operations (step 30), those
operations can be recorded like any other: the gradient then comes with a graph that
says how it was computed from x. dezero records it when asked,
y.backward(create_graph=True); by default (create_graph=False) backward runs with
recording switched off, since a first derivative is usually all that is needed.
For y = sin(x), look at the creator of x.grad in both cases, and at the graph of the
gradient: the Cos and Mul of Sin's backward, gy * cos(x).
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable
from dezero.utils import get_dot_graph

# Default: the gradient is a plain leaf Variable.
x = Variable(np.array(1.0), name='x')
y = F.sin(x)
y.backward()
print(f'create_graph=False: x.grad = {float(x.grad.data):.10f}, x.grad.creator = {x.grad.creator}')

# create_graph=True: the same value, but now it is the output of a recorded graph.
x = Variable(np.array(1.0), name='x')
y = F.sin(x)
y.backward(create_graph=True)
gx = x.grad
gx.name = 'gx'
print(
    f'create_graph=True:  x.grad = {float(gx.data):.10f}, '
    f'x.grad.creator = {type(gx.creator).__name__}'
)

# Walk the gradient's graph back to x: Sin's backward computed gx = gy * cos(x).
gy, c = gx.creator.inputs
gy.name, c.name = 'gy', 'cos(x)'  # names show up in the DOT text below
print(f'  gx = gy * c with gy = {gy} (the seed gradient, a leaf: creator {gy.creator})')
print(
    f'  and c = {float(c.data):.10f}, made by {type(c.creator).__name__} '
    f'from x: {c.creator.inputs[0] is x}'
)
print('the graph of gx, as DOT text:')
print(get_dot_graph(gx, verbose=False), end='')

"""Step 25: describing a computation graph in the DOT language.

Graphviz draws graphs described in a small text language, DOT: a `digraph { ... }`
block lists nodes (with a label, a shape and a colour) and edges written `a -> b`.
This step writes by hand the DOT text of the graph of z = x * y + x, in the style
dezero will use (variables as orange ellipses, functions as blue boxes), saves it as
sample.dot and, when Graphviz's `dot` program is installed, turns it into sample.png
exactly as you would on the command line: dot sample.dot -T png -o sample.png.
Look at the printed DOT text and compare it with the picture; at the end, the same
graph is built with dezero and its DOT text, generated from the graph itself, is printed
for comparison (step 26 shows how that is done).
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import shutil
import subprocess

import numpy as np

from dezero import Variable
from dezero.utils import get_dot_graph

# Every node has an id (1, 2, ...) and attributes in brackets; an edge joins two ids.
# Variables are ellipses, functions are boxes; arrows follow the data.
DOT_TEXT = """\
digraph g {
  1 [label="x", color=orange, style=filled]
  2 [label="y", color=orange, style=filled]
  3 [label="Mul", color=lightblue, style=filled, shape=box]
  4 [label="a", color=orange, style=filled]
  5 [label="Add", color=lightblue, style=filled, shape=box]
  6 [label="z", color=orange, style=filled]
  1 -> 3
  2 -> 3
  3 -> 4
  4 -> 5
  1 -> 5
  5 -> 6
}
"""

print(DOT_TEXT, end='')
with open('sample.dot', 'w') as f:
    f.write(DOT_TEXT)
print('wrote sample.dot')

# Render with Graphviz if it is there; otherwise say so and carry on.
dot = shutil.which('dot')
if dot is None:
    print(
        "skipped sample.png: Graphviz's `dot` program is not installed "
        '(e.g. apt-get install graphviz)'
    )
else:
    subprocess.run([dot, 'sample.dot', '-T', 'png', '-o', 'sample.png'], check=True)
    print('wrote sample.png')

# The same graph, this time recorded by dezero while computing z = x * y + x. Naming
# the variables gives the ellipses their labels; the node ids (v0, f2, ...) differ,
# but the nodes and the edges are those written by hand above.
x = Variable(np.array(1.0), name='x')
y = Variable(np.array(2.0), name='y')
a = x * y
a.name = 'a'
z = a + x
z.name = 'z'
print('the DOT text dezero generates for z = x * y + x:')
print(get_dot_graph(z, verbose=False), end='')

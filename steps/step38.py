"""Step 38: reshape and transpose.

Functions that only move elements around are differentiable too: the gradient
travels back through the same move, undone. reshape's backward reshapes the
gradient to the input's shape; transpose's backward transposes it back.
Variables also get NumPy-like methods: x.reshape(3, 2), x.reshape((3, 2)),
x.transpose() and the property x.T. In the output, check that every gradient
has x's shape (2, 3) and that the weights land at the right positions.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable

x = Variable(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), name='x')

# --- reshape ---------------------------------------------------------------------
# Flatten x to six elements and weight each element by its position 0..5.
# The gradient of element k is its weight k, put back into x's 2x3 layout.
y = F.reshape(x, (6,)) * np.arange(6.0)
print('F.reshape(x, (6,)) * [0 1 2 3 4 5] =', y)
y.backward()
print('x.grad, shape', x.grad.shape)
print(x.grad)

# The method form takes the shape as separate numbers or as one tuple.
print('x.reshape(3, 2) shape  :', x.reshape(3, 2).shape)
print('x.reshape((3, 2)) shape:', x.reshape((3, 2)).shape)

# --- transpose -------------------------------------------------------------------
# Weight the 3x2 transpose of x by w; the gradient reaching x is w transposed.
x.cleargrad()
w = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
y = F.transpose(x) * w
print('F.transpose(x) shape:', y.shape)
y.backward()
print('x.grad = w.T, shape', x.grad.shape)
print(x.grad)

# The method and the property give the same result.
print('x.transpose() shape:', x.transpose().shape)
print('x.T shape          :', x.T.shape)

# Several axes: transpose(1, 0, 2) swaps the first two axes of a 3-D tensor,
# and the gradient is swapped back to the input's shape.
a = Variable(np.arange(24.0).reshape(2, 3, 4))
b = a.transpose(1, 0, 2)
b.backward()
print('a.shape', a.shape, '-> a.transpose(1, 0, 2).shape', b.shape, '-> a.grad.shape', a.grad.shape)

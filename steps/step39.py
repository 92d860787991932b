"""Step 39: sum.

F.sum adds up the elements of a tensor: all of them, or only along the axes
given by axis. With keepdims=True the summed axes stay, with length 1, so the
result still lines up with the input. Each element of the input contributes
once to its sum, so backward copies (broadcasts) the output gradient back to
every element of the input. Check the printed sums and that each x.grad has
x's shape (2, 3), its columns carrying the weights 1, 2, 3.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable

# Summing a vector: the gradient of a total with respect to each term is 1.
v = Variable(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))
y = F.sum(v)
y.backward()
print('sum of [1 2 3 4 5 6] =', y)
print('its gradient:', v.grad)

# Summing a matrix: everything, or along one axis.
x = Variable(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), name='x')
print('F.sum(x)         =', F.sum(x))
print('F.sum(x, axis=0) =', F.sum(x, axis=0), 'shape', F.sum(x, axis=0).shape)
print('F.sum(x, axis=1) =', F.sum(x, axis=1), 'shape', F.sum(x, axis=1).shape)

# keepdims=True keeps the summed axis with length 1: shape (1, 3) instead of (3,).
s = x.sum(axis=0, keepdims=True)  # the method form
print('x.sum(axis=0, keepdims=True) =', s, 'shape', s.shape)

# Backward through a sum along axis 0: weight the three column sums by 1, 2, 3.
# Every element of a column receives that column's weight.
y = F.sum(x, axis=0) * np.array([1.0, 2.0, 3.0])
y.backward()
print('gradient of sum(x, axis=0) * [1 2 3], shape', x.grad.shape)
print(x.grad)

# The same with keepdims: the gradient (1, 3) is spread back over the 2 rows.
x.cleargrad()
y = x.sum(axis=0, keepdims=True) * np.array([[1.0, 2.0, 3.0]])
y.backward()
print('gradient of sum(x, axis=0, keepdims=True) * [[1 2 3]], shape', x.grad.shape)
print(x.grad)

# Summing along axis 1 of a 3-D tensor of shape (2, 3, 4) gives (2, 4); the
# gradient has the full (2, 3, 4) shape again.
a = Variable(np.arange(24.0).reshape(2, 3, 4))
b = a.sum(axis=1)
b.backward()
print('a.shape', a.shape, '-> a.sum(axis=1).shape', b.shape, '-> a.grad.shape', a.grad.shape)

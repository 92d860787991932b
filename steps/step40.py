"""Step 40: broadcast_to, sum_to and broadcasting in arithmetic.

broadcast_to copies a tensor along new or length-1 axes; sum_to does the
opposite, adding elements up until a smaller shape is reached. Each is the
other's backward: a value copied n times collects the sum of the n gradients.
That is what makes NumPy-style broadcasting in x0 + x1 differentiable: the
gradient of the smaller operand is summed back to its own shape. Check that
x1.grad for the one-element x1 below is [3.], one per element it was added to.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable
from dezero.utils import sum_to

# --- broadcast_to: copy a row onto two rows --------------------------------------
x = Variable(np.array([1.0, 2.0, 3.0]))
y = F.broadcast_to(x, (2, 3))
print('broadcast_to([1 2 3], (2, 3)) =')
print(y)
y.backward()
print('x.grad (each element was used twice):', x.grad)

# --- sum_to on plain arrays (a helper in dezero.utils) -----------------------------
a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print('sum_to(a, (1, 3)) =', sum_to(a, (1, 3)).tolist())
print('sum_to(a, (2, 1)) =', sum_to(a, (2, 1)).tolist())

# --- F.sum_to as a function: its gradient is broadcast back ------------------------
x = Variable(a.copy())
y = F.sum_to(x, (1, 3)) * np.array([[1.0, 2.0, 3.0]])
y.backward()
print('gradient of sum_to(x, (1, 3)) * [[1 2 3]], shape', x.grad.shape)
print(x.grad)

# --- broadcasting inside + ---------------------------------------------------------
# x1 has one element; NumPy adds it to every element of x0. In the backward pass
# the three gradients that reach the copies of x1 are summed back into one.
x0 = Variable(np.array([1.0, 2.0, 3.0]))
x1 = Variable(np.array([10.0]))
y = x0 + x1
print('[1 2 3] + [10] =', y)
y.backward()
print('x0.grad:', x0.grad, 'shape', x0.grad.shape)
print('x1.grad:', x1.grad, 'shape', x1.grad.shape)

# A row b added to every row of a 2x3 matrix m, as a bias is: y = (m + b) * m.
# The derivative of each y element with respect to b is m there; b was copied
# onto both rows, so b.grad is m summed over its rows.
m = Variable(a.copy())
b = Variable(np.array([0.5, 0.5, 0.5]))
y = (m + b) * m
y.backward()
print('y = (m + b) * m with m of shape', m.shape, 'and b of shape', b.shape)
print('b.grad = m summed over its rows:', b.grad)
print('m.grad = 2 m + b:')
print(m.grad)

"""Step 41: matrix multiplication.

F.matmul(x, W) (also written x @ W) multiplies a (2, 3) matrix by a (3, 4)
one. Its backward is two more matrix products: gy @ W.T for x and x.T @ gy for
W, and the shapes tell which product is which: each gradient must have the
shape of its input. The output prints those shapes and checks the two formulas
against what backward() computed.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable

np.random.seed(0)
np.set_printoptions(precision=4, suppress=True)

# Vectors: the inner product of a and b is a single number.
a = np.array([1.0, 2.0, 3.0])
b = np.array([4.0, 5.0, 6.0])
print('inner product [1 2 3] . [4 5 6] =', np.dot(a, b))

# Matrices: (2, 3) @ (3, 4) -> (2, 4). The inner sizes (3 and 3) must agree.
x = Variable(np.random.randn(2, 3), name='x')
W = Variable(np.random.randn(3, 4), name='W')
y = F.matmul(x, W)
print('x', x.shape, '@ W', W.shape, '->', y.shape)

# backward() seeds y.grad with ones of shape (2, 4).
y.backward()
print('x.grad.shape:', x.grad.shape, ' W.grad.shape:', W.grad.shape)

# The two formulas, written with plain NumPy arrays:
#   dL/dx = gy @ W.T : (2, 4) @ (4, 3) -> (2, 3), like x
#   dL/dW = x.T @ gy : (3, 2) @ (2, 4) -> (3, 4), like W
gy = np.ones((2, 4))
print('x.grad == gy @ W.T :', np.allclose(x.grad.data, gy @ W.data.T))
print('W.grad == x.T @ gy :', np.allclose(W.grad.data, x.data.T @ gy))

# x @ W is shorthand for F.matmul(x, W). Summing y to one number and going back:
x.cleargrad()
W.cleargrad()
y = (x @ W).sum()
y.backward()
print('(x @ W).sum() =', round(float(y.data), 6))
print('x.grad (every row holds the row sums of W):')
print(x.grad)
print('W.grad (every column holds x summed over its rows):')
print(W.grad)

# A matrix times a vector: (2, 3) @ (3,) -> (2,); the vector's gradient is (3,).
v = Variable(np.array([1.0, 0.0, -1.0]), name='v')
z = x.matmul(v)
z.backward()
print('x', x.shape, '@ v', v.shape, '->', z.shape, ' v.grad:', v.grad)

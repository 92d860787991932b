"""Step 37: tensors flowing through elementwise functions.

Until now every Variable held a single number. Here the same functions receive
whole arrays (tensors): sin, +, * and the others act on each element separately,
so the output has the shape of the input. Backpropagation works unchanged, and
each gradient comes out with the shape of the variable it belongs to.
Look at the shapes printed for x.grad and c.grad, and check x.grad against cos(x).
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable

# A 2x3 tensor goes through sin: each of the six elements is handled on its own.
x = Variable(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), name='x')
y = F.sin(x)
print('y = sin(x), shape', y.shape)
print(y)

# backward() on a non-scalar y seeds its gradient with ones of y's shape, which
# is the same as differentiating the sum of all the elements of y.
y.backward()
print('x.grad, shape', x.grad.shape)
print(x.grad)
print('x.grad equals cos(x):', np.allclose(x.grad.data, np.cos(x.data)))

# Two tensors of the same shape combined elementwise with + and *.
# For y = x * c + x the gradients are c + 1 (with respect to x) and x (to c).
x.cleargrad()
c = Variable(np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]]), name='c')
t = x * c
y = t + x
y.backward(retain_grad=True)  # keep t.grad too, to look at it
print('y = x * c + x, shape', y.shape)
print('t.grad (ones, from y = t + x):')
print(t.grad)
print('x.grad = c + 1, shape', x.grad.shape)
print(x.grad)
print('c.grad = x, shape', c.grad.shape)
print(c.grad)

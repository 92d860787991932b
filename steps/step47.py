"""Step 47: softmax and cross entropy, the tools for multi-class classification.

A classifier outputs one score per class; softmax turns each row of scores into
probabilities, and the cross entropy measures how little probability the correct class
received. On the way we need to pick elements out of a Variable, so indexing
(``F.get_item``, or simply ``x[...]``) becomes a differentiable function too.
Look at: the gradients of indexing (ones where elements were picked, 2 where a row was
picked twice), rows of softmax that sum to 1, and the same loss computed by
``F.softmax_cross_entropy`` and by hand with NumPy logarithms.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable
from dezero.models import MLP

np.random.seed(0)

# --- 1. Indexing is a function: its backward puts the gradient back in place --------
x = Variable(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
y = F.get_item(x, 1)  # the second row, the same as x[1]
y.backward()
print('x[1] =', y.data)
print('grad of x after x[1]:')
print(x.grad.data)  # ones in the picked row, zeros elsewhere

x.cleargrad()
y = x[:, 2]  # the last column; Variables support NumPy slicing
y.backward()
print('x[:, 2] =', y.data)
print('grad of x after x[:, 2]:')
print(x.grad.data)

x.cleargrad()
y = x[[0, 0, 1]]  # row 0 twice, then row 1
y.backward()
print('grad of x after x[[0, 0, 1]] (row 0 used twice):')
print(x.grad.data)  # gradients of repeated picks add up

# --- 2. Scores from a model, turned into probabilities -------------------------------
# Four 2-D points and a network with 3 outputs: one score per class.
x = np.array([[0.2, -0.4], [0.3, 0.5], [1.3, -3.2], [2.1, 0.3]])
t = np.array([2, 0, 1, 0])  # the correct class of each point
model = MLP((10, 3))
scores = model(x)
print('scores (4 points x 3 classes):')
print(np.round(scores.data, 4))


def softmax_by_hand(s):
    """Softmax of each row, written with dezero functions: exp(s) / sum of exp(s)."""
    e = F.exp(s)
    return e / F.sum(e, axis=1, keepdims=True)


p = F.softmax(scores)  # the library version subtracts the row maximum first
print('softmax probabilities:')
print(np.round(p.data, 4))
print('each row sums to', np.round(p.data.sum(axis=1), 6))
print('hand-written softmax agrees:', np.allclose(softmax_by_hand(scores).data, p.data))

# --- 3. Cross entropy: -log of the probability given to the correct class -----------
loss = F.softmax_cross_entropy(scores, t)
picked = p.data[np.arange(len(t)), t]  # probability of the correct class, per row
by_hand = -np.log(picked).mean()
print('probability of the correct class:', np.round(picked, 4))
print(f'softmax_cross_entropy = {float(loss.data):.6f}')
print(f'by hand -mean(log p)  = {by_hand:.6f}')

# The loss is differentiable like everything else: gradients reach the weights.
model.cleargrads()
loss.backward()
print('gradient of the first layer weights, shape', model.l0.W.grad.shape)

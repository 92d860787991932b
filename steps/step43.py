"""Step 43: a two-layer neural network fitting a sine.

A straight line cannot follow y = sin(2 pi x), so the model becomes a small
neural network: a linear layer from 1 input to 10 hidden units, a sigmoid,
and a linear layer from 10 units to 1 output. F.linear(x, W, b) computes
x @ W + b in one function. The four parameters are plain Variables created by
hand and trained by gradient descent on the mean squared error. Watch the
printed loss: it sits near 0.25 for a while, then drops once the network
finds the shape of the wave. The fit is saved as step43.png.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable

# DEZERO_STEPS_QUICK=1 runs a few iterations only (for automated checks).
QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

# Data: 100 points of a sine wave over [0, 1), with noise uniform in [0, 1).
np.random.seed(0)
x = np.random.rand(100, 1)
y = np.sin(2 * np.pi * x) + np.random.rand(100, 1)

# Parameters: small random weights (so the hidden units start out different
# from each other) and zero biases. I, H, O: input, hidden and output sizes.
I, H, O = 1, 10, 1
W1 = Variable(0.01 * np.random.randn(I, H), name='W1')
b1 = Variable(np.zeros(H), name='b1')
W2 = Variable(0.01 * np.random.randn(H, O), name='W2')
b2 = Variable(np.zeros(O), name='b2')
params = [W1, b1, W2, b2]


def predict(x):
    h = F.linear(x, W1, b1)  # (100, 1) -> (100, 10)
    h = F.sigmoid(h)  # the non-linearity that lets the network bend
    return F.linear(h, W2, b2)  # (100, 10) -> (100, 1)


lr = 0.2
iters = 1000 if QUICK else 10000

for i in range(iters):
    y_pred = predict(x)
    loss = F.mean_squared_error(y, y_pred)

    for p in params:
        p.cleargrad()
    loss.backward()

    for p in params:
        p.data -= lr * p.grad.data

    if i % (iters // 10) == 0 or i == iters - 1:
        print(f'iter {i:5d}  loss {float(loss.data):.6f}')

print(f'final loss after {iters} iterations: {float(loss.data):.6f}')

# --- picture: the data and the network's curve ----------------------------------------
try:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
except ImportError:
    print('skipped the picture step43.png: matplotlib is not installed')
else:
    grid = np.linspace(0, 1, 200).reshape(-1, 1)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(x, y, s=10, label='data')
    ax.plot(grid, predict(grid).data, color='tab:red', label='network')
    ax.set_xlabel('x')
    ax.set_ylabel('y')
    ax.legend()
    fig.savefig('step43.png', dpi=80)
    plt.close(fig)
    print('saved step43.png')

"""Step 42: linear regression.

The first real learning problem: 100 noisy points scattered around the line
y = 5 + 2x, and a model y = x @ W + b with a (1, 1) weight W and a bias b.
The loss is the mean squared error, written by hand from sum and **, and
gradient descent moves W and b a small step against their gradients, over and
over. Look at the loss going down and at the learned W and b ending close to
2 and 5; the data and the fitted line are saved as step42.png.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable

# DEZERO_STEPS_QUICK=1 runs a few iterations only (for automated checks).
QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

# Toy data: x in [0, 1), y = 5 + 2x plus Gaussian noise (standard deviation 0.1).
np.random.seed(0)
x = np.random.rand(100, 1)
y = 5 + 2 * x + 0.1 * np.random.randn(100, 1)

# The parameters start at zero; they are Variables so that they receive gradients.
W = Variable(np.zeros((1, 1)), name='W')
b = Variable(np.zeros(1), name='b')


def predict(x):
    # (100, 1) @ (1, 1) -> (100, 1); b (shape (1,)) is broadcast to every row.
    return F.matmul(x, W) + b


def mean_squared_error(x0, x1):
    # The average of the squared differences over the 100 points.
    diff = x0 - x1
    return F.sum(diff**2) / len(diff)


lr = 0.1  # learning rate: the size of each step
iters = 200 if QUICK else 500

for i in range(iters):
    y_pred = predict(x)
    loss = mean_squared_error(y, y_pred)

    W.cleargrad()  # gradients accumulate: clear them first
    b.cleargrad()
    loss.backward()

    # Gradient descent on the raw arrays (the update itself is not differentiated).
    W.data -= lr * W.grad.data
    b.data -= lr * b.grad.data

    if i % (iters // 10) == 0 or i == iters - 1:
        print(f'iter {i:4d}  loss {float(loss.data):.6f}')

print(f'learned W = {W.data.item():.4f} (true slope 2)')
print(f'learned b = {b.data.item():.4f} (true intercept 5)')

# The package ships the same loss as F.mean_squared_error; it agrees with ours.
print(
    'F.mean_squared_error agrees with ours:',
    np.isclose(F.mean_squared_error(y, predict(x)).data, mean_squared_error(y, predict(x)).data),
)

# --- picture: the data and the learned line ------------------------------------------
try:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
except ImportError:
    print('skipped the picture step42.png: matplotlib is not installed')
else:
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(x, y, s=10, label='data')
    line_x = np.array([[0.0], [1.0]])
    ax.plot(
        line_x,
        predict(line_x).data,
        color='tab:red',
        label=f'y = {W.data.item():.2f} x + {b.data.item():.2f}',
    )
    ax.set_xlabel('x')
    ax.set_ylabel('y')
    ax.legend()
    fig.savefig('step42.png', dpi=80)
    plt.close(fig)
    print('saved step42.png')

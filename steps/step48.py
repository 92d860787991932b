"""Step 48: classifying the spiral data with mini-batches.

The spiral data set has 300 points in the plane, 100 on each of three interleaved arms;
the task is to tell which arm a point belongs to. We train ``MLP((10, 3))`` with
softmax cross entropy and SGD (learning rate 1.0), writing the mini-batch loop by hand:
every epoch shuffles the indexes and walks through them 30 at a time.
Look at the average loss per epoch, printed every 30 epochs, falling from about 1.1
towards 0.1, at the training accuracy at the end (``F.accuracy``, the fraction of
points whose highest score is the right class, which step 50 looks at more closely),
and at the decision-boundary picture saved into the current directory.
With DEZERO_STEPS_QUICK=1 only 3 epochs are run (each one printed).
"""

import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero
import dezero.functions as F
from dezero import optimizers
from dezero.datasets import get_spiral
from dezero.models import MLP

QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

# Hyperparameters: the classic recipe for this data set.
max_epoch = 3 if QUICK else 300
print_every = 1 if QUICK else 30
batch_size = 30
hidden_size = 10
lr = 1.0

x, t = get_spiral(train=True)  # x: (300, 2) float32, t: (300,) class labels
# get_spiral seeds NumPy's generator itself, as the book's does; seeding after it
# picks the initial weights and the shuffling
np.random.seed(0)
print('data:', x.shape, 'labels:', t.shape, 'classes:', np.unique(t))

model = MLP((hidden_size, 3))
optimizer = optimizers.SGD(lr).setup(model)

data_size = len(x)
max_iter = math.ceil(data_size / batch_size)  # 10 mini-batches per epoch

for epoch in range(max_epoch):
    index = np.random.permutation(data_size)  # a new order every epoch
    sum_loss = 0.0

    for i in range(max_iter):
        # Take the next batch_size indexes and gather those points.
        batch_index = index[i * batch_size : (i + 1) * batch_size]
        batch_x = x[batch_index]
        batch_t = t[batch_index]

        y = model(batch_x)
        loss = F.softmax_cross_entropy(y, batch_t)
        model.cleargrads()
        loss.backward()
        optimizer.update()

        sum_loss += float(loss.data) * len(batch_t)  # undo the batch mean

    avg_loss = sum_loss / data_size
    if (epoch + 1) % print_every == 0:
        print(f'epoch {epoch + 1}, loss {avg_loss:.4f}')

# How well does the trained model classify the training points?
with dezero.no_grad():
    acc = float(F.accuracy(model(x), t).data)
print(f'training accuracy after {max_epoch} epochs: {acc:.4f}')

# --- The decision boundary: the predicted class at every point of a grid ------------
try:
    import matplotlib

    matplotlib.use('Agg')  # draw into files, never open a window
    import matplotlib.pyplot as plt
except ImportError:
    print('skipped the decision-boundary plot: matplotlib is not installed')
else:
    ticks = np.linspace(-1.0, 1.0, 200, dtype=np.float32)
    xx, yy = np.meshgrid(ticks, ticks)
    grid = np.stack([xx.ravel(), yy.ravel()], axis=1)  # (40000, 2) points
    with dezero.no_grad():
        predicted = model(grid).data.argmax(axis=1).reshape(xx.shape)

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(
        xx,
        yy,
        predicted,
        levels=[-0.5, 0.5, 1.5, 2.5],
        colors=['tab:blue', 'tab:orange', 'tab:green'],
        alpha=0.3,
    )
    for c, (colour, marker) in enumerate(
        zip(['tab:blue', 'tab:orange', 'tab:green'], ['o', 'x', '^'])
    ):
        ax.scatter(x[t == c, 0], x[t == c, 1], s=20, c=colour, marker=marker)
    ax.set_title(f'spiral: decision boundary after {max_epoch} epochs')
    ax.set_aspect('equal')
    fig.tight_layout()
    file_name = 'step48_spiral.png'
    fig.savefig(file_name, dpi=80)
    plt.close(fig)
    print('saved', file_name)

"""Step 50: DataLoader, accuracy, and a test loop.

``DataLoader`` takes over the bookkeeping of steps 48-49: each ``for`` loop over it is
one epoch of shuffled mini-batches ``(x, t)``. ``F.accuracy`` counts how often the
highest score is the correct class. After every epoch of training we also measure loss
and accuracy on the separate test split, inside ``no_grad()`` since nothing is learned
there. Look at the accuracy of the small hand-made example (2 of 3 rows right), then at
training and test figures that improve together, printed every 30 epochs.
With DEZERO_STEPS_QUICK=1 only 3 epochs are run (each one printed).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero
import dezero.functions as F
from dezero import DataLoader, optimizers
from dezero.datasets import Spiral
from dezero.models import MLP

QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

# --- 1. Accuracy: the fraction of rows whose largest score is the right class -------
scores = np.array(
    [
        [0.1, 0.7, 0.2],  # predicts class 1
        [0.5, 0.1, 0.4],  # predicts class 0
        [0.3, 0.3, 0.4],
    ]
)  # predicts class 2
labels = np.array([1, 2, 2])  # the middle row is wrong
acc = F.accuracy(scores, labels)
print(f'accuracy of the example: {float(acc.data):.4f}')

# --- 2. Loaders for the training and the test split ----------------------------------
max_epoch = 3 if QUICK else 300
print_every = 1 if QUICK else 30
batch_size = 30

train_set = Spiral(train=True)
test_set = Spiral(train=False)
np.random.seed(0)  # after the data, which seeds NumPy's generator as in the book
train_loader = DataLoader(train_set, batch_size)  # shuffled each epoch
test_loader = DataLoader(test_set, batch_size, shuffle=False)  # order does not matter
print('batches per epoch:', len(train_loader))

model = MLP((10, 3))
optimizer = optimizers.SGD(1.0).setup(model)

# --- 3. Train, then evaluate, once per epoch -----------------------------------------
for epoch in range(max_epoch):
    sum_loss, sum_acc = 0.0, 0.0
    for x, t in train_loader:
        y = model(x)
        loss = F.softmax_cross_entropy(y, t)
        acc = F.accuracy(y, t)
        model.cleargrads()
        loss.backward()
        optimizer.update()
        sum_loss += float(loss.data) * len(t)
        sum_acc += float(acc.data) * len(t)
    train_loss, train_acc = sum_loss / len(train_set), sum_acc / len(train_set)

    sum_loss, sum_acc = 0.0, 0.0
    with dezero.no_grad():  # no graph, no gradients: just measure
        for x, t in test_loader:
            y = model(x)
            sum_loss += float(F.softmax_cross_entropy(y, t).data) * len(t)
            sum_acc += float(F.accuracy(y, t).data) * len(t)
    test_loss, test_acc = sum_loss / len(test_set), sum_acc / len(test_set)

    if (epoch + 1) % print_every == 0:
        print(
            f'epoch {epoch + 1}: train loss {train_loss:.4f}, '
            f'accuracy {train_acc:.4f} | test loss {test_loss:.4f}, '
            f'accuracy {test_acc:.4f}'
        )

"""Step 51: handwritten digits, MNIST.

The same training loop as step 50 now meets real data: 28x28 grey images of the digits
0 to 9 (60,000 for training, 10,000 for testing). ``dezero.datasets.MNIST`` reads the
original files (downloading them into the dezero home folder the first time), and its
default transform flattens each image into 784 values between 0 and 1. The network is
an MLP with one hidden layer of 100 ReLU units, trained with Adam.
Look at the shape and label of the first image, then at the test accuracy per epoch
(above 0.9 after the first epoch on the full data, and rising). If the files are
missing and cannot be downloaded, the error says which files to put where (exit
status 1).
With DEZERO_STEPS_QUICK=1 one epoch is run on the first 300 training images and
evaluated on the first 300 test images.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero
import dezero.functions as F
from dezero import DataLoader, optimizers
from dezero.datasets import MNIST
from dezero.models import MLP

QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

max_epoch = 1 if QUICK else 5
batch_size = 100
hidden_size = 100

# --- 1. The data ---------------------------------------------------------------------
splits, missing = {}, []
for train in (True, False):  # both, so that one run names every file that is missing
    try:
        splits[train] = MNIST(train=train)
    except OSError as e:  # not on disk and no download possible
        missing.append(str(e))
if missing:
    for message in missing:
        print(f'step51: {message}', file=sys.stderr)
    print(
        'step51: (this step reads the folder of $DEZERO_HOME; set it to use another)',
        file=sys.stderr,
    )
    sys.exit(1)
train_set, test_set = splits[True], splits[False]

if QUICK:
    # Keep only the first few hundred items: a Dataset reads from .data and .label.
    for dataset in (train_set, test_set):
        dataset.data = dataset.data[:300]
        dataset.label = dataset.label[:300]

print('training images:', len(train_set), ' test images:', len(test_set))
print('stored image shape:', train_set.data[0].shape, train_set.data.dtype)
x0, t0 = train_set[0]  # after the default transform
print(f'item 0: x shape {x0.shape} {x0.dtype}, values in [{x0.min()}, {x0.max()}], label {t0}')

# --- 2. Model, optimizer, loaders ----------------------------------------------------
np.random.seed(0)
train_loader = DataLoader(train_set, batch_size)
test_loader = DataLoader(test_set, batch_size, shuffle=False)

model = MLP((hidden_size, 10), activation=F.relu)  # 784 -> 100 -> 10
optimizer = optimizers.Adam().setup(model)

# --- 3. Train and test ---------------------------------------------------------------
for epoch in range(max_epoch):
    sum_loss, sum_acc = 0.0, 0.0
    for x, t in train_loader:
        y = model(x)
        loss = F.softmax_cross_entropy(y, t)
        model.cleargrads()
        loss.backward()
        optimizer.update()
        sum_loss += float(loss.data) * len(t)
        sum_acc += float(F.accuracy(y, t).data) * len(t)
    train_loss, train_acc = sum_loss / len(train_set), sum_acc / len(train_set)

    sum_acc = 0.0
    with dezero.no_grad():
        for x, t in test_loader:
            sum_acc += float(F.accuracy(model(x), t).data) * len(t)
    test_acc = sum_acc / len(test_set)

    print(
        f'epoch {epoch + 1}: train loss {train_loss:.4f}, accuracy {train_acc:.4f}'
        f' | test accuracy {test_acc:.4f}'
    )

"""Step 49: the Dataset class and preprocessing with transforms.

A ``Dataset`` packs inputs and labels behind one interface: ``len(dataset)`` and
``dataset[i]``, which returns the pair ``(x, t)`` of item i. Preprocessing is attached
as a ``transform`` (applied to each input when it is read) and a ``target_transform``
(applied to each label), so the stored data never changes. The training loop of step 48
is then rewritten to build its mini-batches from dataset items.
Look at the first item with and without a transform, and at the losses: the same
numbers as step 48, because the batches hold exactly the same points.
With DEZERO_STEPS_QUICK=1 only 3 epochs are run.
"""

import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import optimizers, transforms
from dezero.datasets import Spiral
from dezero.models import MLP

QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

# --- 1. A dataset is indexable: one (input, label) pair per item --------------------
train_set = Spiral(train=True)
print('number of items:', len(train_set))
x0, t0 = train_set[0]
print('item 0: x =', x0, x0.dtype, ' t =', t0)


# --- 2. Preprocessing: a transform runs on every input as it is read ----------------
# Any callable works: here a plain function that halves the coordinates...
def halve(x):
    return x / 2.0


halved_set = Spiral(train=True, transform=halve)
print('item 0 with transform=halve:', halved_set[0][0])

# ...and the same with the ready-made transforms, chained by Compose:
# Normalize computes (x - mean) / std, AsType changes the dtype.
f = transforms.Compose([transforms.Normalize(mean=0.0, std=2.0), transforms.AsType(np.float64)])
normalized_set = Spiral(train=True, transform=f)
x0n, _ = normalized_set[0]
print('item 0 with Normalize(0, 2) and AsType(float64):', x0n, x0n.dtype)
print('the stored data is unchanged:', train_set.data[0])

# --- 3. Training from a Dataset ------------------------------------------------------
max_epoch = 3 if QUICK else 300
print_every = 1 if QUICK else 30
batch_size = 30

np.random.seed(0)  # the same seed as step 48
model = MLP((10, 3))
optimizer = optimizers.SGD(1.0).setup(model)

data_size = len(train_set)
max_iter = math.ceil(data_size / batch_size)

for epoch in range(max_epoch):
    index = np.random.permutation(data_size)
    sum_loss = 0.0

    for i in range(max_iter):
        batch_index = index[i * batch_size : (i + 1) * batch_size]
        # Read the items one by one, then stack inputs and labels into two arrays.
        batch = [train_set[j] for j in batch_index]
        batch_x = np.array([item[0] for item in batch])
        batch_t = np.array([item[1] for item in batch])

        y = model(batch_x)
        loss = F.softmax_cross_entropy(y, batch_t)
        model.cleargrads()
        loss.backward()
        optimizer.update()
        sum_loss += float(loss.data) * len(batch_t)

    if (epoch + 1) % print_every == 0:
        print(f'epoch {epoch + 1}, loss {sum_loss / data_size:.4f}')

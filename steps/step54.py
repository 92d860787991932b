"""Step 54: dropout, and telling training from testing.

Dropout fights overfitting: during training it zeroes each value at random with
probability ``dropout_ratio`` and multiplies the survivors by 1 / (1 - ratio), so the
average stays what it was ("inverted dropout"). At test time it must do nothing, so
dezero keeps a global switch, ``Config.train``, turned off inside
``with dezero.test_mode():``. Look at the share of zeros (close to the ratio), the
surviving values (2.0 for a ratio of 0.5), a mean that stays near 1 in training mode,
and an output equal to the input in test mode.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero
import dezero.functions as F
from dezero import Variable

np.random.seed(0)

# --- 1. A small example: which values survive? ----------------------------------------
x = np.ones(10)
y = F.dropout(x)  # dropout_ratio=0.5 by default
print('training mode, 10 ones ->', y.data)

# --- 2. Statistics over many values ------------------------------------------------
x = np.ones(100_000)
for ratio in (0.5, 0.2):
    y = F.dropout(x, dropout_ratio=ratio).data
    kept = y[y != 0]
    print(
        f'ratio {ratio}: zeroed {np.mean(y == 0):.4f} of the values, '
        f'survivors = {np.unique(kept)}, mean {y.mean():.4f}'
    )

# --- 3. Test mode: dropout lets everything through unchanged -------------------------
print('Config.train before:', dezero.Config.train)
with dezero.test_mode():
    print('Config.train inside test_mode():', dezero.Config.train)
    y = F.dropout(x)
    print(
        f'test mode: zeroed {np.mean(y.data == 0):.4f}, mean {y.data.mean():.4f}, '
        f'output equals input: {np.array_equal(y.data, x)}'
    )
print('Config.train after:', dezero.Config.train)

# --- 4. The gradient goes back only through the values that survived ----------------
v = Variable(np.ones(8))
y = F.dropout(v)
y.backward()
print('dropout output:', y.data)
print('its gradient:  ', v.grad.data)  # the same mask, scaled by 1 / (1 - 0.5)

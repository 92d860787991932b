"""Step 53: saving the learned weights and loading them back.

Training can take hours, so its result must outlive the program. A model's parameters
are NumPy arrays with names that follow the layers (``l0/W``, ``l0/b``, ``l1/W``...);
``model.save_weights(path)`` writes them all into one ``.npz`` file, and
``model.load_weights(path)`` puts them into another model of the same structure.
We train the spiral classifier briefly, save it into the current directory, load the
file into a brand-new model and compare the two models' outputs.
Look at the list of saved arrays, the outputs of a fresh model (different) and of the
loaded one (identical: largest difference 0.0000).
With DEZERO_STEPS_QUICK=1 the training is 3 epochs instead of 20.
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
max_epoch = 3 if QUICK else 20

# --- 1. Train briefly ----------------------------------------------------------------
train_set = Spiral(train=True)
np.random.seed(0)  # after the data, which seeds NumPy's generator as in the book
loader = DataLoader(train_set, batch_size=30)
model = MLP((10, 3))
optimizer = optimizers.SGD(1.0).setup(model)

for epoch in range(max_epoch):
    for x, t in loader:
        loss = F.softmax_cross_entropy(model(x), t)
        model.cleargrads()
        loss.backward()
        optimizer.update()
print(f'trained {max_epoch} epochs, last batch loss {float(loss.data):.4f}')

# --- 2. Save: one file holding every parameter ---------------------------------------
file_name = 'step53_mlp.npz'
model.save_weights(file_name)
print('saved', file_name)
with np.load(file_name) as stored:  # an ordinary NumPy archive
    for name in stored.files:
        print(f'  {name}: shape {stored[name].shape}, {stored[name].dtype}')

# --- 3. Load into a new model --------------------------------------------------------
x = train_set.data[:5]  # a few points to compare outputs on
with dezero.no_grad():
    y_trained = model(x).data

    fresh = MLP((10, 3))  # same structure, random weights
    y_fresh = fresh(x).data
    print(f'fresh model vs trained, largest difference: {np.abs(y_fresh - y_trained).max():.4f}')

    loaded = MLP((10, 3))
    loaded.load_weights(file_name)  # weights come from the file
    y_loaded = loaded(x).data
    print(f'loaded model vs trained, largest difference: {np.abs(y_loaded - y_trained).max():.4f}')

print('outputs identical:', np.array_equal(y_loaded, y_trained))

"""Step 60: an LSTM trained on mini-batches of a time series.

Two improvements over step 59. ``L.LSTM`` replaces the simple RNN: besides h it keeps a
cell c, and gates (forget, input, output) decide what the cell forgets, stores and
shows, which lets information and gradients survive many more steps. And
``SeqDataLoader`` makes mini-batches out of one long series: it cuts the series into
30 consecutive pieces and each batch holds the next value of every piece, so row r of
successive batches walks piece r in time order and the state of each row stays
meaningful (the last batch takes each row one value past its piece, as in the book).
Training uses truncated backpropagation every 30 steps, as before, and once more at
the end of the epoch for the steps left over. (The book's script takes the end of the
epoch to be len(train_set), 999 steps, where an epoch of this loader is len(loader), 34
batches: it never updates on the last 4 batches of an epoch, so its losses differ from
these from the second epoch on.)
Look at how a batch is laid out, at the average loss per epoch falling, at the cosine
predicted one value at a time, and at the picture saved into the current directory.
With DEZERO_STEPS_QUICK=1 only 3 epochs are run instead of 100 (each one printed).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero
import dezero.functions as F
import dezero.layers as L
from dezero import Model, SeqDataLoader, optimizers
from dezero.datasets import SinCurve

QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

# Hyperparameters
max_epoch = 3 if QUICK else 100
print_every = 1 if QUICK else 10
batch_size = 30
hidden_size = 100
bptt_length = 30

np.random.seed(0)
train_set = SinCurve(train=True)  # 999 (value, next value) pairs
loader = SeqDataLoader(train_set, batch_size=batch_size)
seqlen = len(loader)  # batches (time steps) per epoch

# --- 1. What SeqDataLoader hands out --------------------------------------------------
jump = len(train_set) // batch_size  # 33 items per piece
print(f'{len(train_set)} items in {batch_size} pieces of {jump}: {seqlen} batches per epoch')
batches = iter(loader)
x0, t0 = next(batches)  # batch 0
x1, t1 = next(batches)  # batch 1: one step later per row
print('batch shapes: x', x0.shape, 't', t0.shape)
print(f'  rows 0-2 of batch 0 are items {[0, jump, 2 * jump]}: x = {x0[:3, 0].round(4)}')
print(f'  rows 0-2 of batch 1 are items {[1, jump + 1, 2 * jump + 1]}: x = {x1[:3, 0].round(4)}')
print('  each label is the next input of its row:', bool(np.all(t0 == x1)))
loader.reset()  # back to batch 0: as in the book, the next loop would go on from batch 2


# --- 2. The model and the training loop --------------------------------------------------
class BetterRNN(Model):
    """An LSTM layer followed by a Linear read-out of one value."""

    def __init__(self, hidden_size, out_size):
        super().__init__()
        self.rnn = L.LSTM(hidden_size)
        self.fc = L.Linear(out_size)

    def reset_state(self):
        self.rnn.reset_state()

    def forward(self, x):
        h = self.rnn(x)
        return self.fc(h)


model = BetterRNN(hidden_size, 1)
optimizer = optimizers.Adam().setup(model)

for epoch in range(max_epoch):
    model.reset_state()
    loss, count = 0, 0
    sum_loss = 0.0

    for x, t in loader:  # x, t: (30, 1), one time step of every piece
        y = model(x)
        loss += F.mean_squared_error(y, t)
        count += 1

        if count % bptt_length == 0 or count == seqlen:
            model.cleargrads()
            loss.backward()
            loss.unchain_backward()  # cut the graph; h and c stay
            optimizer.update()
            sum_loss += float(loss.data)
            loss = 0

    if (epoch + 1) % print_every == 0:
        print(f'epoch {epoch + 1}: loss {sum_loss / count:.6f}')

# --- 3. Predict a cosine, one value at a time (a batch of one) ---------------------------
xs = SinCurve(train=False).data[:, 0]
model.reset_state()
predictions = []
with dezero.no_grad():
    for x in xs:
        y = model(np.array(x).reshape(1, 1))
        predictions.append(float(y.data[0, 0]))
predictions = np.array(predictions)
mse = np.mean((predictions[:-1] - xs[1:]) ** 2)  # predictions[i] guesses xs[i + 1]
print(f'cosine: mean squared error of the next-value prediction {mse:.6f}')
for i in (0, 250, 500, 750):
    print(f'  step {i:3d}: next value {xs[i + 1]:+.4f}, predicted {predictions[i]:+.4f}')

try:
    import matplotlib

    matplotlib.use('Agg')  # draw into files, never open a window
    import matplotlib.pyplot as plt
except ImportError:
    print('skipped the prediction plot: matplotlib is not installed')
else:
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = np.arange(1, len(xs))
    ax.plot(steps, xs[1:], label='cosine (next value)')
    ax.plot(steps, predictions[:-1], '--', label='LSTM prediction')
    ax.set_xlabel('time step')
    ax.set_title(f'LSTM after {max_epoch} epochs on a noisy sine (batches of {batch_size})')
    ax.legend()
    fig.tight_layout()
    file_name = 'step60_lstm.png'
    fig.savefig(file_name, dpi=80)
    plt.close(fig)
    print('saved', file_name)

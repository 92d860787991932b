"""Step 59: a recurrent network learns a sine wave.

A recurrent layer (``L.RNN``) keeps a hidden state h and updates it at each time step
from the new input: ``h = tanh(x2h(x) + h2h(h))``, so its output depends on everything
seen so far. We feed a noisy sine (``dezero.datasets.SinCurve``) one value at a time and
train the model to predict the next value. The graph grows with every step, so after
every 30 steps we backpropagate through those 30 and cut the graph behind us with
``loss.unchain_backward()`` (truncated backpropagation through time); the hidden state
itself is kept. Look at the average loss per epoch: it falls a hundredfold after the
first epoch and then stays low, with the odd spike (the training of a recurrent
network is not always smooth); then at the prediction of
a cosine, which the model has never seen, compared with the true next values, and at
the picture saved into the current directory.
With DEZERO_STEPS_QUICK=1 only 2 epochs are run instead of 100 (each one printed).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero
import dezero.functions as F
import dezero.layers as L
from dezero import Model, optimizers
from dezero.datasets import SinCurve

QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

# Hyperparameters
max_epoch = 2 if QUICK else 100
print_every = 1 if QUICK else 10
hidden_size = 100
bptt_length = 30  # backpropagate every 30 time steps

np.random.seed(0)
train_set = SinCurve(train=True)  # 999 (value, next value) pairs
seqlen = len(train_set)
x0, t0 = train_set[0]
print(f'series of {seqlen} steps; item 0: x = {x0}, t = {t0} (the next value)')


class SimpleRNN(Model):
    """An RNN layer followed by a Linear read-out of one value."""

    def __init__(self, hidden_size, out_size):
        super().__init__()
        self.rnn = L.RNN(hidden_size)
        self.fc = L.Linear(out_size)

    def reset_state(self):
        self.rnn.reset_state()

    def forward(self, x):
        h = self.rnn(x)
        return self.fc(h)


model = SimpleRNN(hidden_size, 1)
optimizer = optimizers.Adam().setup(model)

for epoch in range(max_epoch):
    model.reset_state()  # every epoch starts a new sequence
    loss, count = 0, 0
    sum_loss = 0.0

    for x, t in train_set:
        x = x.reshape(1, 1)  # a batch of one value
        y = model(x)
        loss += F.mean_squared_error(y, t.reshape(1, 1))  # add up over the steps
        count += 1

        if count % bptt_length == 0 or count == seqlen:
            model.cleargrads()
            loss.backward()  # through the last bptt_length steps
            loss.unchain_backward()  # cut the graph; the state h stays
            optimizer.update()
            sum_loss += float(loss.data)
            loss = 0

    if epoch == 0 or (epoch + 1) % print_every == 0:  # the first epoch, then every tenth
        print(f'epoch {epoch + 1}: loss {sum_loss / count:.6f}')

# --- Predict a cosine, one value at a time ---------------------------------------------
xs = SinCurve(train=False).data[:, 0]  # cos over one period, without noise
model.reset_state()
predictions = []
with dezero.no_grad():
    for x in xs:
        y = model(np.array(x).reshape(1, 1))
        predictions.append(float(y.data[0, 0]))
predictions = np.array(predictions)
# predictions[i] is the guess for xs[i + 1]
mse = np.mean((predictions[:-1] - xs[1:]) ** 2)
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
    ax.plot(steps, predictions[:-1], '--', label='RNN prediction')
    ax.set_xlabel('time step')
    ax.set_title(f'SimpleRNN after {max_epoch} epochs on a noisy sine')
    ax.legend()
    fig.tight_layout()
    file_name = 'step59_rnn.png'
    fig.savefig(file_name, dpi=80)
    plt.close(fig)
    print('saved', file_name)

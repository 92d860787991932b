"""Teach an LSTM to continue a sine wave, with truncated backpropagation through time.

The training series is a noisy sine (``dezero.datasets.SinCurve``): each item is one
value and its label the next one.  A ``SeqDataLoader`` cuts the series into 30
parallel streams, so one batch holds the next value of every stream.  The model, an
``LSTM`` followed by a ``Linear`` read-out, sees one batch per time step and keeps its
state between steps; every ``--bptt`` steps the summed loss is back-propagated, and
``loss.unchain_backward()`` cuts the graph behind it so the next stretch of the series
starts a fresh graph while the LSTM keeps its state.

After training, the model is reset and fed the clean cosine of the test split one
value at a time: its predictions of the next value should follow the cosine.  The
script prints the average loss per epoch (it falls by well over 10x), the mean squared
error of the cosine prediction, and saves ``sin_lstm.png`` into ``--out``.

    python examples/sin_lstm.py --epochs 100 --out out
"""

import argparse
import os
import sys
import time

import numpy as np

try:
    import dezero
except ImportError:  # run from a checkout without installing: use the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import dezero

import dezero.functions as F
import dezero.layers as L
from dezero import Model, SeqDataLoader, optimizers
from dezero.datasets import SinCurve
from dezero.progress import EpochProgress

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from options import (
    check_at_least_one,
    check_output_files,
    exit_unless_memory_fits,
    model_size,
    out_of_memory_exits,
    output_folder,
    parse_options,
    positive_float,
    random_seed,
    remove_stale_files,
    run_main,
    training_diverged,
    training_memory,
)
from plotting import pyplot, save_figure


class SinLSTM(Model):
    """An LSTM of ``hidden_size`` units and a linear read-out of one value."""

    def __init__(self, hidden_size, out_size=1):
        super().__init__()
        self.rnn = L.LSTM(hidden_size)
        self.fc = L.Linear(out_size)

    def reset_state(self):
        self.rnn.reset_state()

    def forward(self, x):
        return self.fc(self.rnn(x))


def train(epochs=100, hidden=100, batch_size=30, bptt=30, lr=0.001, seed=0, progress_bar=None):
    """Train on the noisy sine; return the model and the average loss per epoch."""
    np.random.seed(seed)
    dataset = SinCurve(train=True)
    loader = SeqDataLoader(dataset, batch_size=batch_size)
    model = SinLSTM(hidden)
    optimizer = optimizers.Adam(lr).setup(model)

    history = []
    with EpochProgress(epochs, bar=progress_bar, desc='sin_lstm') as progress:
        for _ in range(epochs):
            model.reset_state()
            loss, count, total = 0, 0, 0.0
            for x, t in loader:
                loss += F.mean_squared_error(model(x), t)
                count += 1
                if count % bptt == 0 or count == len(loader):
                    model.cleargrads()
                    loss.backward()
                    loss.unchain_backward()  # keep the state, forget the graph
                    optimizer.update()
                    total += float(loss.data)
                    loss = 0
            history.append(total / count)
            progress.update(loss=history[-1])
    return model, history


def predict_cosine(model):
    """Feed the test cosine one value at a time; return (inputs, predictions)."""
    xs = SinCurve(train=False).data
    model.reset_state()
    predictions = []
    with dezero.no_grad():
        for x in xs:
            y = model(x.reshape(1, 1))
            predictions.append(float(y.data[0, 0]))
    return xs[:, 0], np.array(predictions)


def save_plot(inputs, predictions, path):
    plt = pyplot('plot')
    if plt is None:
        return False
    steps = np.arange(len(inputs))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps[1:], inputs[1:], label='cosine (next value)')
    ax.plot(steps[1:], predictions[:-1], '--', label='LSTM prediction')
    ax.set_xlabel('time step')
    ax.set_title('LSTM trained on a noisy sine, run on a cosine')
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train an LSTM on a noisy sine with truncated BPTT, then predict a '
        'cosine; save the plot.'
    )
    parser.add_argument('--epochs', type=int, default=None, help='default: 100 (--smoke: 10)')
    parser.add_argument(
        '--hidden', type=model_size, default=None, help='LSTM units (default: 100, --smoke: 20)'
    )
    parser.add_argument(
        '--bptt', type=int, default=30, help='time steps per backward pass (default: 30)'
    )
    parser.add_argument(
        '--lr',
        type=positive_float,
        default=None,
        help='Adam alpha (default: 0.001, --smoke: 0.01)',
    )
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the plot (default: out)'
    )
    parser.add_argument('--no-bar', action='store_true', help='no tqdm bar, only lines')
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='a seconds-long run: 10 epochs of a 20-unit LSTM, Adam 0.01 (unless '
        '--epochs, --hidden or --lr say otherwise)',
    )
    args = parse_options(parser, argv)
    smoke_or_default = {'epochs': (10, 100), 'hidden': (20, 100), 'lr': (0.01, 0.001)}
    for name, (smoke, default) in smoke_or_default.items():
        if getattr(args, name) is None:
            setattr(args, name, smoke if args.smoke else default)
    check_at_least_one(parser, args, 'epochs', 'bptt')
    plot_path = os.path.join(args.out, 'sin_lstm.png')
    check_output_files(parser, [plot_path])
    # the 4 gates' weights, and the graph of --bptt steps (at most the steps of an
    # epoch) of 30 sequences, some 30 numbers per unit, step and sequence
    hidden, steps = args.hidden, min(args.bptt, len(SinCurve(train=True)) // 30)
    needed = training_memory(4 * hidden * hidden + 9 * hidden + 1, 30 * steps * 30 * hidden)
    exit_unless_memory_fits(args, needed, 'hidden')
    os.makedirs(args.out, exist_ok=True)

    start = time.perf_counter()
    with out_of_memory_exits(args, 'hidden'):
        model, history = train(
            args.epochs,
            args.hidden,
            bptt=args.bptt,
            lr=args.lr,
            seed=args.seed,
            progress_bar=False if args.no_bar else None,
        )
        print(f'trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s')
        default_lr = smoke_or_default['lr'][0 if args.smoke else 1]
        skipped = 'no plot of the cosine prediction: the weights are no longer numbers'
        if training_diverged({'loss': history}, args.lr, default_lr, skipped=skipped):
            remove_stale_files([plot_path])  # an earlier run's plot is not of this one
            return 1
        print(
            f'loss: first epoch {history[0]:.6f}, last epoch {history[-1]:.6f} '
            f'({history[0] / history[-1]:.1f}x lower)'
        )
        inputs, predictions = predict_cosine(model)
    mse = float(np.mean((predictions[:-1] - inputs[1:]) ** 2))
    print(f'cosine: mean squared error of the next-value prediction {mse:.6f}')
    if save_plot(inputs, predictions, plot_path):
        print(f'saved {plot_path}')
    else:  # no matplotlib: an earlier run's plot is not of this one either
        remove_stale_files([plot_path])
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))

"""Overfitting on purpose, and two cures: weight decay and dropout.

The textbook study: a network far too big for its data.  Only 300 MNIST training
images feed a network of six hidden layers of 100 ReLU units (and a linear read-out
of the 10 classes), trained with plain SGD (learning rate 0.01, mini-batches of 100)
for 200 epochs.  The training accuracy climbs to 100% while the test accuracy stalls
far below it: the gap between the two curves is the overfitting.

Two remedies, each shrinking the gap:

* ``--weight-decay 0.1``: the ``optimizers.WeightDecay(0.1)`` hook adds 0.1 * w to
  every gradient before the update, i.e. the penalty 0.05 * ||w||^2 on the loss (on the
  biases too, where the book penalises the weights only);
* ``--dropout 0.2``: ``F.dropout(h, 0.2)`` after each hidden activation, in training
  only (``F.dropout`` does nothing in test mode, which is how accuracies are measured).

By default (or with ``--compare``) the script trains the three settings (plain, weight
decay, dropout) from the same initial weights, prints the final training and test
accuracy and their gap for each, and draws the three pairs of curves in one figure,
``overfitting.png``.  With ``--weight-decay`` and/or ``--dropout`` alone it trains that
one setting (``--weight-decay 0`` for the plain network alone).

Initialisation: ReLU layers want He initialisation (standard deviation sqrt(2 / fan_in),
as in the book); ``dezero.layers.Linear`` draws with sqrt(1 / fan_in), so each hidden
layer's weights are multiplied by sqrt(2) after creation.  Training accuracy is
measured after each epoch on the 300 images in test mode (no dropout), like the test
accuracy.

    python examples/overfitting.py --data-dir DIR
    python examples/overfitting.py --data-dir DIR --holdout 2000    # t10k files only

With ``--holdout N`` the 300 training images are the first 300 of the training part
(the first 10000-N images of the test split) and the test accuracy is measured on the
held-out N.  ``--smoke`` uses 300 generated digits and 20 epochs.
"""

import argparse
import os
import sys
import time

import numpy as np

try:
    import dezero  # noqa: F401  (is it installed?)
except ImportError:  # run from a checkout without installing: use the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import dezero  # noqa: F401

import dezero.functions as F
import dezero.layers as L
from dezero import DataLoader, Model, Trainer, optimizers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_data import add_data_options, load_or_generate
from options import (
    check_at_least_one,
    check_output_files,
    likely_cause,
    non_negative_float,
    output_folder,
    parse_options,
    positive_float,
    random_seed,
    remove_stale_files,
    run_main,
    training_diverged,
)
from plotting import pyplot, save_figure

TRAIN_IMAGES = 300
DEFAULT_WEIGHT_DECAY = 0.1
DEFAULT_DROPOUT = 0.2


class DeepNet(Model):
    """``hidden_layers`` fully connected ReLU layers of ``hidden`` units, each followed
    by dropout of ``dropout`` in training when ``dropout`` > 0, and a linear read-out
    of ``out_size`` classes.  Every layer is its own :class:`~dezero.layers.Linear`
    (``self.layers``, registered as ``l0, l1, ...``), and each hidden layer calls
    ``F.relu`` and ``F.dropout`` afresh, so no function or layer is shared between
    layers.  Hidden weights get He initialisation (std sqrt(2 / fan_in))."""

    def __init__(self, in_size=784, hidden=100, hidden_layers=6, out_size=10, dropout=0.0):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'DeepNet: dropout must be in [0, 1), got {dropout}')
        self.dropout = float(dropout)
        self.layers = []
        fan_in = in_size
        for i in range(hidden_layers + 1):
            is_hidden = i < hidden_layers
            layer = L.Linear(hidden if is_hidden else out_size, in_size=fan_in)
            if is_hidden:
                layer.W.data = layer.W.data * 2.0**0.5  # He: sqrt(2 / fan_in)
            setattr(self, f'l{i}', layer)
            self.layers.append(layer)
            fan_in = hidden
        assert len({id(layer) for layer in self.layers}) == len(self.layers), (
            'every layer must be its own Linear object'
        )

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
            if self.dropout:
                x = F.dropout(x, self.dropout)
        return self.layers[-1](x)


class TrainAccuracy:
    """Trainer callback: after each epoch, the accuracy on ``loader`` in test mode
    (dropout off), appended to ``self.acc``.  Every ``every`` epochs (0: never) it
    prints that accuracy next to the test accuracy (the trainer's ``val_acc``)."""

    def __init__(self, loader, epochs, every=0):
        self.loader = loader
        self.epochs = epochs
        self.every = every
        self.acc = []

    def on_epoch_end(self, trainer, epoch, logs):
        self.acc.append(trainer.evaluate(self.loader)['acc'])
        if self.every and (epoch % self.every == 0 or epoch == self.epochs):
            width = len(str(self.epochs))
            print(
                f'epoch {epoch:{width}d}/{self.epochs}  train acc {self.acc[-1]:.4f}  '
                f'test acc {logs["val_acc"]:.4f}',
                flush=True,
            )


def setting_name(weight_decay, dropout):
    """'plain', 'weight decay 0.1', 'dropout 0.2' or both joined with ' + '."""
    parts = ([f'weight decay {weight_decay:g}'] if weight_decay else []) + (
        [f'dropout {dropout:g}'] if dropout else []
    )
    return ' + '.join(parts) or 'plain'


def train(
    train_data,
    test_data,
    epochs=200,
    weight_decay=0.0,
    dropout=0.0,
    lr=0.01,
    batch_size=100,
    seed=0,
    progress=True,
):
    """Train a :class:`DeepNet` with SGD (and the WeightDecay hook when
    ``weight_decay`` > 0) on ``train_data``; return a dict with the per-epoch lists
    ``train_acc`` (on the training images, test mode), ``test_acc``, ``loss`` (the
    training loss) and ``test_loss``, and the ``model``.  ``progress``: print both accuracies ten times in the run.  The seed
    fixes the initial weights, so settings start alike."""
    np.random.seed(seed)
    model = DeepNet(in_size=train_data[0].shape[1], dropout=dropout)
    optimizer = optimizers.SGD(lr).setup(model)
    if weight_decay:
        optimizer.add_hook(optimizers.WeightDecay(weight_decay))
    train_acc = TrainAccuracy(
        DataLoader(train_data, 1000, shuffle=False),
        epochs,
        every=max(1, epochs // 10) if progress else 0,
    )
    history = Trainer(model, optimizer).fit(
        DataLoader(train_data, batch_size, shuffle=True),
        epochs,
        val_loader=DataLoader(test_data, 1000, shuffle=False),
        progress=False,
        callbacks=[train_acc],
    )
    return {
        'train_acc': train_acc.acc,
        'test_acc': history['val_acc'],
        'loss': history['loss'],
        'test_loss': history['val_loss'],
        'model': model,
    }


def save_curves(runs, path):
    """One panel per setting (``runs``: name -> result of :func:`train`) with its
    training and test accuracy per epoch; False without matplotlib."""
    plt = pyplot('figure')
    if plt is None:
        return False
    fig, axes = plt.subplots(
        1, len(runs), figsize=(3.6 * len(runs) + 0.6, 3.4), sharey=True, squeeze=False
    )
    for ax, (name, run) in zip(axes[0], runs.items()):
        epochs = np.arange(1, len(run['train_acc']) + 1)
        ax.plot(epochs, run['train_acc'], label='train')
        ax.plot(epochs, run['test_acc'], label='test')
        ax.fill_between(
            epochs, run['test_acc'], run['train_acc'], color='tab:red', alpha=0.12, label='gap'
        )
        gap = run['train_acc'][-1] - run['test_acc'][-1]
        ax.set_title(f'{name}\n(final gap {gap:.3f})', fontsize=10)
        ax.set_xlabel('epoch')
        ax.set_ylim(0.0, 1.02)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel('accuracy')
    axes[0][0].legend(loc='lower right')
    fig.suptitle(f'{TRAIN_IMAGES} training images, 6 x 100 ReLU layers', fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Overfit a 6x100 ReLU network to 300 MNIST images and compare '
        'weight decay and dropout; print final accuracies and gaps, save '
        'one figure of the accuracy curves.'
    )
    add_data_options(parser)
    parser.add_argument('--epochs', type=int, default=None, help='default: 200 (20 with --smoke)')
    parser.add_argument(
        '--weight-decay',
        type=non_negative_float,
        default=None,
        metavar='RATE',
        help='train one setting with this WeightDecay rate (in the '
        f'comparison: the rate of its run, default '
        f'{DEFAULT_WEIGHT_DECAY:g})',
    )
    parser.add_argument(
        '--dropout',
        type=float,
        default=None,
        metavar='RATIO',
        help='train one setting with dropout of this ratio after each '
        'hidden layer (in the comparison: the ratio of its run, '
        f'default {DEFAULT_DROPOUT:g})',
    )
    parser.add_argument(
        '--compare',
        action='store_true',
        help='train plain, weight decay and dropout and compare them '
        '(the default when neither --weight-decay nor --dropout '
        'is given)',
    )
    parser.add_argument(
        '--lr', type=positive_float, default=0.01, help='SGD learning rate (default: 0.01)'
    )
    parser.add_argument('--batch-size', type=int, default=100, help='default: 100')
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the figure (default: out)'
    )
    parser.add_argument(
        '--quiet', action='store_true', help='no progress lines while training, only the results'
    )
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    if args.epochs is None:
        args.epochs = 20 if args.smoke else 200
    check_at_least_one(parser, args, 'epochs', 'batch_size')
    if args.dropout is not None and not 0 <= args.dropout < 1:
        parser.error(f'--dropout must be in [0, 1), got {args.dropout:g}')
    figure_path = os.path.join(args.out, 'overfitting.png')
    check_output_files(parser, [figure_path])

    if args.compare or (args.weight_decay is None and args.dropout is None):
        wd = DEFAULT_WEIGHT_DECAY if args.weight_decay is None else args.weight_decay
        ratio = DEFAULT_DROPOUT if args.dropout is None else args.dropout
        settings = [(0.0, 0.0), (wd, 0.0), (0.0, ratio)]
    else:
        settings = [(args.weight_decay or 0.0, args.dropout or 0.0)]

    (x_train, t_train), test_data = load_or_generate(args, smoke_sizes=(TRAIN_IMAGES, 500))
    if len(t_train) < TRAIN_IMAGES:
        print(
            f'overfitting: need {TRAIN_IMAGES} training images, got {len(t_train)}', file=sys.stderr
        )
        return 1
    train_data = (x_train[:TRAIN_IMAGES], t_train[:TRAIN_IMAGES])
    print(
        f'training on {TRAIN_IMAGES} images for {args.epochs} epochs, testing on '
        f'{len(test_data[1])}'
    )

    runs = {}
    for weight_decay, dropout in settings:
        name = setting_name(weight_decay, dropout)
        print(f'--- {name}', flush=True)
        start = time.perf_counter()
        runs[name] = train(
            train_data,
            test_data,
            args.epochs,
            weight_decay,
            dropout,
            args.lr,
            args.batch_size,
            args.seed,
            progress=not args.quiet,
        )
        print(f'{name}: trained in {time.perf_counter() - start:.1f} s', flush=True)

    width = max(len(name) for name in runs)
    print(f'{"setting":{width}s}  train acc  test acc  gap')
    for name, run in runs.items():
        train_acc, test_acc = run['train_acc'][-1], run['test_acc'][-1]
        print(f'{name:{width}s}  {train_acc:9.4f}  {test_acc:8.4f}  {train_acc - test_acc:.4f}')
    losses = {
        f'{name}: {key.replace("_", " ")}': run[key]
        for name, run in runs.items()
        for key in ('loss', 'test_loss')
    }
    cause = None
    undecayed = [runs[setting_name(wd, ratio)] for wd, ratio in settings if not wd]
    if (args.weight_decay or 0) > DEFAULT_WEIGHT_DECAY and all(
        np.isfinite(run['loss'] + run['test_loss']).all() for run in undecayed
    ):  # the decay given, not --lr, made the run diverge
        cause = likely_cause(
            parser, args, 'weight_decay', 'the weight decay', default=DEFAULT_WEIGHT_DECAY
        )
    diverged = training_diverged(losses, args.lr, parser.get_default('lr'), cause=cause)

    os.makedirs(args.out, exist_ok=True)
    if save_curves(runs, figure_path):
        print(f'saved {figure_path}')
    else:  # no matplotlib: an earlier run's figure is not of this one
        remove_stale_files([figure_path])
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

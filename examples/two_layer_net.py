"""The classic two-layer network on MNIST, with the gradient check learners do by hand.

The network is the textbook one: 784 inputs, 50 sigmoid hidden units, 10 outputs,
softmax cross entropy, plain SGD with a learning rate of 0.1 on mini-batches of 100:

    y = l2(sigmoid(l1(x)))

Before training, the script checks backpropagation the way one does when writing it
for the first time: on three images, in float64, it compares the gradient of the loss
with respect to every parameter (``l1.W``, ``l1.b``, ``l2.W``, ``l2.b``) computed by
``backward()`` with central differences, (L(w + h) - L(w - h)) / 2h for each entry in
turn.  It prints, per parameter, the largest absolute difference and that difference
relative to the largest gradient entry (about 1e-9 when backprop is right) and stops
with exit status 1 when a relative difference exceeds ``--tolerance``.

Then it trains with :class:`dezero.Trainer`, printing the training accuracy (the
average over the epoch's batches) and the test accuracy after every epoch, and saves
the loss and accuracy curves as ``two_layer_net.png``.

    python examples/two_layer_net.py --data-dir DIR --epochs 10
    python examples/two_layer_net.py --data-dir DIR --holdout 2000   # t10k files only
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
from dezero import DataLoader, Model, Trainer, optimizers
from dezero.trainer import plot_history

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_data import add_data_options, load_or_generate
from options import (
    check_at_least_one,
    check_output_files,
    exit_unless_memory_fits,
    mlp_memory,
    model_size,
    out_of_memory_exits,
    output_folder,
    parse_options,
    positive_float,
    random_seed,
    remove_stale_files,
    run_main,
    training_diverged,
)
from plotting import pyplot


class TwoLayerNet(Model):
    """``l2(sigmoid(l1(x)))``: ``hidden`` sigmoid units, ``out_size`` scores, weights
    of ``dtype`` (created on the first call from the input width)."""

    def __init__(self, hidden=50, out_size=10, dtype=np.float32):
        super().__init__()
        self.l1 = L.Linear(hidden, dtype=dtype)
        self.l2 = L.Linear(out_size, dtype=dtype)

    def forward(self, x):
        return self.l2(F.sigmoid(self.l1(x)))


def make_model(hidden, dtype=np.float32):
    """The network this script trains and checks (a function so tests can swap it)."""
    return TwoLayerNet(hidden, dtype=dtype)


def backprop_gradients(model, x, t):
    """Gradient of the loss ``softmax_cross_entropy(model(x), t)`` with respect to
    each parameter, by ``backward()``: a dict name -> array."""
    model.cleargrads()
    loss = F.softmax_cross_entropy(model(x), t)
    loss.backward()
    return {name: p.grad.data.copy() for name, p in model.named_params()}


def numerical_gradient(loss_of, param, indices, h=1e-4):
    """Central differences of the scalar ``loss_of()`` with respect to the entries
    ``indices`` (flat positions) of the Parameter ``param``: each entry is moved to
    w + h and w - h in turn and put back.  Returns an array of param's shape holding
    (L(w + h) - L(w - h)) / 2h at those entries and 0 elsewhere."""
    grad = np.zeros_like(param.data)
    for flat in indices:
        i = np.unravel_index(int(flat), param.data.shape)
        keep = param.data[i]
        param.data[i] = keep + h
        up = loss_of()
        param.data[i] = keep - h
        down = loss_of()
        param.data[i] = keep
        grad[i] = (up - down) / (2 * h)
    return grad


def check_gradients(model, x, t, max_entries=None, seed=0):
    """Compare backprop with central differences for every parameter of ``model`` on
    the batch (x, t).  ``max_entries``: check at most that many entries per parameter
    (chosen at random with ``seed``; None for all of them).

    Returns a dict name -> (largest absolute difference, that difference relative to
    the largest gradient entry, number of entries checked).  Use float64 parameters
    and inputs: in float32 the differences are rounding noise of about 1e-3."""
    analytic = backprop_gradients(model, x, t)

    def loss_of():
        with dezero.no_grad():
            return float(F.softmax_cross_entropy(model(x), t).data)

    rng = np.random.default_rng(seed)
    report = {}
    for name, p in model.named_params():
        size = p.data.size
        if max_entries is None or max_entries >= size:
            indices = np.arange(size)
        else:
            indices = np.sort(rng.choice(size, max_entries, replace=False))
        numeric = numerical_gradient(loss_of, p, indices).reshape(-1)[indices]
        backprop = analytic[name].reshape(-1)[indices]
        abs_diff = float(np.max(np.abs(backprop - numeric)))
        scale = max(float(np.max(np.abs(numeric))), float(np.max(np.abs(backprop))))
        report[name] = (abs_diff, abs_diff / scale if scale > 0 else abs_diff, len(indices))
    return report


def gradient_check(hidden, x, t, max_entries=None, seed=0):
    """Run :func:`check_gradients` on a fresh float64 network of ``hidden`` units and
    the float64 copy of the batch (x, t); print one line per parameter and return the
    report."""
    np.random.seed(seed)
    model = make_model(hidden, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    report = check_gradients(model, x, t, max_entries, seed)
    print(f'gradient check on {len(t)} images (float64, central differences, h=1e-4):')
    for name, (abs_diff, rel_diff, n) in report.items():
        print(
            f'  {name:5s} max abs diff {abs_diff:.2e}  max rel diff {rel_diff:.2e}  ({n} entries)'
        )
    return report


def memory_needed(args, check_images, train_size, test_size):
    """An estimate of the bytes a run holds at most (training on ``train_size`` images,
    testing on ``test_size``, the gradient check on ``check_images`` in float64), and
    the size options to name when it does not fit: ``--hidden``, and ``--check-images``
    too where the check's images hold more than all the rest."""
    sizes = (784, args.hidden, 10)
    batch = max(min(args.batch_size, train_size), min(1000, test_size))
    training = mlp_memory(sizes, batch, optimizer_state=0)  # SGD keeps nothing
    check = mlp_memory(sizes, check_images, optimizer_state=0, itemsize=8)
    images = check - mlp_memory(sizes, 0, optimizer_state=0, itemsize=8)
    needed = training + check
    return needed, ('hidden', 'check_images') if images > needed - images else ('hidden',)


class PrintEpoch:
    """Trainer callback: one line per epoch with the training and test accuracy."""

    def __init__(self, epochs):
        self.width = len(str(epochs))
        self.epochs = epochs

    def on_epoch_end(self, trainer, epoch, logs):
        print(
            f'epoch {epoch:{self.width}d}/{self.epochs}  loss {logs["loss"]:.4f}  '
            f'train acc {logs["acc"]:.4f}  test acc {logs["val_acc"]:.4f}',
            flush=True,
        )


def train(train_data, test_data, epochs=10, hidden=50, lr=0.1, batch_size=100, seed=0):
    """Train ``TwoLayerNet(hidden)`` with SGD through a :class:`dezero.Trainer`,
    evaluating on ``test_data`` after every epoch; return the model and the history
    (``loss``, ``acc``, ``val_loss``, ``val_acc`` per epoch)."""
    np.random.seed(seed)
    model = make_model(hidden)
    trainer = Trainer(model, optimizers.SGD(lr))
    history = trainer.fit(
        DataLoader(train_data, batch_size, shuffle=True),
        epochs,
        val_loader=DataLoader(test_data, 1000, shuffle=False),
        progress=False,
        callbacks=[PrintEpoch(epochs)],
    )
    return model, history


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Check the gradients of a 784-50-10 sigmoid network numerically, '
        'then train it on MNIST with SGD; print train/test accuracy per '
        'epoch and save the curves.'
    )
    add_data_options(parser)
    parser.add_argument('--epochs', type=int, default=10, help='default: 10')
    parser.add_argument('--hidden', type=model_size, default=50, help='hidden units (default: 50)')
    parser.add_argument(
        '--lr', type=positive_float, default=0.1, help='SGD learning rate (default: 0.1)'
    )
    parser.add_argument('--batch-size', type=int, default=100, help='default: 100')
    parser.add_argument(
        '--check-images', type=int, default=3, help='images in the gradient check (default: 3)'
    )
    parser.add_argument(
        '--check-entries',
        type=int,
        default=None,
        help='entries checked per parameter, chosen at random (default: '
        'all of them; 100 with --smoke)',
    )
    parser.add_argument(
        '--tolerance',
        type=positive_float,
        default=1e-6,
        help='largest relative difference accepted in the gradient check (default: 1e-6)',
    )
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the pictures (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    check_at_least_one(parser, args, 'epochs', 'batch_size', 'check_images', 'check_entries')
    if args.check_entries is None and args.smoke:
        args.check_entries = 100
    plot_path = os.path.join(args.out, 'two_layer_net.png')
    check_output_files(parser, [plot_path])

    train_data, test_data = load_or_generate(args)
    n = min(args.check_images, len(train_data[1]))  # the check takes training images
    needed, sizes = memory_needed(args, n, len(train_data[1]), len(test_data[1]))
    exit_unless_memory_fits(args, needed, *sizes)
    print(f'training on {len(train_data[1])} images, testing on {len(test_data[1])}')

    start = time.perf_counter()
    with out_of_memory_exits(args, 'hidden', 'check_images'):
        report = gradient_check(
            args.hidden, train_data[0][:n], train_data[1][:n], args.check_entries, args.seed
        )
    worst = max(rel for _, rel, _ in report.values())
    print(
        f'largest relative difference {worst:.2e} '
        f'(tolerance {args.tolerance:g}; {time.perf_counter() - start:.1f} s)'
    )
    if not worst <= args.tolerance:
        print('gradient check FAILED: backprop and numerical gradients disagree', file=sys.stderr)
        return 1

    start = time.perf_counter()
    with out_of_memory_exits(args, 'hidden'):
        model, history = train(
            train_data, test_data, args.epochs, args.hidden, args.lr, args.batch_size, args.seed
        )
    diverged = training_diverged(history, args.lr, parser.get_default('lr'))
    if not diverged:
        print(
            f'trained in {time.perf_counter() - start:.1f} s; final train accuracy '
            f'{history["acc"][-1]:.4f}, test accuracy {history["val_acc"][-1]:.4f}'
        )

    os.makedirs(args.out, exist_ok=True)
    if pyplot('plot') is not None:
        title = (
            f'784-{args.hidden}-10 sigmoid network, SGD lr {args.lr:g} '
            f'(validation = the test images)'
        )
        path = plot_history(history, plot_path, title)
        print(f'saved {path}')
    else:  # no matplotlib: an earlier run's plot is not of this one
        remove_stale_files([plot_path])
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

"""Train a two-layer network to tell apart the three arms of a spiral.

The recipe is the classic one: ``MLP((10, 3))`` with sigmoid, plain SGD with a learning
rate of 1.0, mini-batches of 30 drawn from the 300 spiral points, 300 epochs.  A
:class:`dezero.Trainer` runs each epoch as the loop a learner writes by hand (the
tutorial's step 48 writes it out):

    for x, t in loader:
        y = model(x)
        loss = F.softmax_cross_entropy(y, t)
        model.cleargrads()
        loss.backward()
        optimizer.update()

The script shows a progress bar when tqdm is installed, prints the loss and accuracy
every tenth of the run (every 30 epochs), then the final loss and accuracy over the
training set, and saves two pictures into ``--out``: the loss curve and the decision
boundary over the plane.

    python examples/spiral.py --out out
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
from dezero import DataLoader, Trainer, optimizers
from dezero.datasets import get_spiral
from dezero.models import MLP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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
    report_outputs,
    run_main,
    training_diverged,
)
from plotting import pyplot, save_figure

CLASS_COLOURS = ('tab:blue', 'tab:orange', 'tab:green')
#: The points per side of the grid the decision boundary is drawn on.
GRID_STEPS = 300
#: The pictures saved into --out: the loss curve and the decision boundary.
PICTURES = ('spiral_loss.png', 'spiral_boundary.png')


def train(epochs=300, batch_size=30, hidden=10, lr=1.0, seed=0, progress=True):
    """Train ``MLP((hidden, 3))`` on the spiral with a :class:`dezero.Trainer`; return
    the model and the per-epoch history ``{'loss': [...], 'acc': [...]}`` (averages
    over each epoch's batches)."""
    data = get_spiral(train=True)  # seeds NumPy's generator, as the book's does
    np.random.seed(seed)  # after it: the weights and the shuffling
    model = MLP((hidden, 3))
    trainer = Trainer(model, optimizers.SGD(lr))
    loader = DataLoader(data, batch_size, shuffle=True)
    return model, trainer.fit(loader, epochs, progress=progress)


def evaluate(model):
    """Loss and accuracy of ``model`` over the whole training set, in test mode."""
    x, t = get_spiral(train=True)
    with dezero.no_grad(), dezero.test_mode():
        y = model(x)
        return (float(F.softmax_cross_entropy(y, t).data), float(F.accuracy(y, t).data))


def predict_grid(model, low=-1.0, high=1.0, steps=GRID_STEPS):
    """The predicted class at every point of a ``steps`` x ``steps`` grid over the
    square [low, high]²; returns (xx, yy, classes) ready for a contour plot."""
    ticks = np.linspace(low, high, steps, dtype=np.float32)
    xx, yy = np.meshgrid(ticks, ticks)
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)
    with dezero.no_grad(), dezero.test_mode():
        scores = model(points)
    return xx, yy, scores.data.argmax(axis=1).reshape(xx.shape)


def save_pictures(model, history, out):
    """Save the loss curve and the decision boundary as PNG files into ``out`` (the
    loss curve only when ``model`` is None); return their paths (empty when
    matplotlib is not installed)."""
    plt = pyplot('pictures')
    if plt is None:
        return []
    paths = [os.path.join(out, name) for name in PICTURES]

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(1, len(history['loss']) + 1), history['loss'])
    ax.set_xlabel('epoch')
    ax.set_ylabel('loss (softmax cross entropy)')
    ax.set_title('spiral: training loss')
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    save_figure(fig, paths[0], dpi=100)
    if model is None:
        return paths[:1]

    x, t = get_spiral(train=True)
    xx, yy, classes = predict_grid(model)
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.contourf(xx, yy, classes, levels=[-0.5, 0.5, 1.5, 2.5], colors=CLASS_COLOURS, alpha=0.25)
    for c, colour in enumerate(CLASS_COLOURS):
        ax.scatter(x[t == c, 0], x[t == c, 1], s=14, color=colour, label=f'class {c}')
    ax.set_xlabel('x1')
    ax.set_ylabel('x2')
    ax.set_title('spiral: decision boundary')
    ax.set_aspect('equal')
    ax.legend(loc='upper right')
    fig.tight_layout()
    save_figure(fig, paths[1], dpi=100)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train MLP((10, 3)) on the spiral data with SGD and save the loss '
        'curve and the decision boundary as PNG files.'
    )
    parser.add_argument('--epochs', type=int, default=None, help='default: 300 (--smoke: 30)')
    parser.add_argument('--batch-size', type=int, default=30, help='default: 30')
    parser.add_argument('--hidden', type=model_size, default=10, help='hidden units (default: 10)')
    parser.add_argument(
        '--lr', type=positive_float, default=1.0, help='learning rate (default: 1.0)'
    )
    parser.add_argument('--seed', type=random_seed, default=0, help='random seed (default: 0)')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the pictures (default: out)'
    )
    parser.add_argument(
        '--smoke', action='store_true', help='a quick run: 30 epochs unless --epochs is given'
    )
    args = parse_options(parser, argv)
    if args.epochs is None:
        args.epochs = 30 if args.smoke else 300
    check_at_least_one(parser, args, 'epochs', 'batch_size')
    check_output_files(parser, [os.path.join(args.out, name) for name in PICTURES])
    # SGD on batches of at most the 300 points; the picture classifies the whole grid
    # at once, the largest batch of all
    needed = mlp_memory((2, args.hidden, 3), GRID_STEPS**2, optimizer_state=0)
    exit_unless_memory_fits(args, needed, 'hidden')
    os.makedirs(args.out, exist_ok=True)

    with out_of_memory_exits(args, 'hidden'):  # the pictures need (90000, hidden) too
        start = time.perf_counter()
        model, history = train(args.epochs, args.batch_size, args.hidden, args.lr, args.seed)
        seconds = time.perf_counter() - start
        skipped = 'no decision boundary drawn: the weights are no longer numbers'
        diverged = training_diverged(history, args.lr, parser.get_default('lr'), skipped=skipped)
        if not diverged:
            loss, acc = evaluate(model)
            print(f'trained {args.epochs} epochs in {seconds:.1f} s')
            print(f'final loss {loss:.4f}  accuracy {acc:.4f}')
        written = save_pictures(None if diverged else model, history, args.out)
    report_outputs(written, args.out, PICTURES)  # and removes an earlier run's others
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

"""Train a multi-layer perceptron on MNIST digits and report the test accuracy.

    python examples/mnist.py --data-dir DIR --epochs 10 --hidden 100 --optimizer adam

The four MNIST files (``train-images-idx3-ubyte.gz`` and friends) are read from
``--data-dir``, else from ``$DEZERO_HOME/datasets/mnist`` (``~/.dezero`` by default),
where they are downloaded when missing.  With only the test split at hand
(``t10k-*.gz``), ``--holdout N`` trains on the first 10000-N test images and evaluates
on the last N.

Training runs through :class:`dezero.Trainer`: each epoch prints the training loss and
accuracy and the held-out loss and accuracy (``val_loss``, ``val_acc``); at the end the
script saves a plot of the accuracies and the trained weights into ``--out``.
``--smoke`` trains for seconds on generated digits instead (no files needed).
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
from dezero import DataLoader, Trainer, optimizers
from dezero.models import MLP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_data import add_data_options, load_or_generate
from options import (
    check_at_least_one,
    check_output_files,
    exit_unless_memory_fits,
    mlp_memory,
    model_size,
    note_earlier_weights,
    out_of_memory_exits,
    output_folder,
    parse_options,
    positive_float,
    random_seed,
    remove_stale_files,
    run_main,
    save_trained_weights,
    training_diverged,
)
from plotting import pyplot, save_figure

OPTIMIZERS = {
    'sgd': (optimizers.SGD, 0.1),
    'momentum': (optimizers.MomentumSGD, 0.05),
    'adagrad': (optimizers.AdaGrad, 0.01),
    'adam': (optimizers.Adam, 0.001),
}
ACTIVATIONS = {'relu': F.relu, 'sigmoid': F.sigmoid, 'tanh': F.tanh}


def train(
    train_data,
    test_data,
    epochs=10,
    hidden=(100,),
    optimizer='adam',
    lr=None,
    batch_size=100,
    activation='relu',
    seed=0,
    progress=True,
    gpu=False,
):
    """Train ``MLP((*hidden, 10))`` with a :class:`dezero.Trainer`, evaluating on
    ``test_data`` after every epoch; return the model and the history (``loss``,
    ``acc``, ``val_loss``, ``val_acc`` per epoch).  With ``gpu`` the batches go to the
    GPU, and with them the weights (created on the device of the first batch)."""
    np.random.seed(seed)
    model = MLP((*hidden, 10), activation=ACTIVATIONS[activation])
    if gpu:
        model.to_gpu()  # says how to install CuPy when it is missing
    cls, default_lr = OPTIMIZERS[optimizer]
    trainer = Trainer(model, cls(lr if lr is not None else default_lr))
    history = trainer.fit(
        DataLoader(train_data, batch_size, shuffle=True, gpu=gpu),
        epochs,
        val_loader=DataLoader(test_data, 1000, shuffle=False, gpu=gpu),
        progress=progress,
    )
    return model, history


def save_plot(history, path):
    """Plot the training and held-out accuracy per epoch; False without matplotlib."""
    plt = pyplot('plot')
    if plt is None:
        return False
    epochs = np.arange(1, len(history['loss']) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, history['acc'], marker='o', label='train')
    ax.plot(epochs, history['val_acc'], marker='o', label='held out')
    ax.set_xlabel('epoch')
    ax.set_ylabel('accuracy')
    ax.set_title('MNIST: accuracy per epoch')
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train an MLP on MNIST; print accuracy per epoch, save an accuracy '
        'plot and the weights.'
    )
    add_data_options(parser)
    parser.add_argument('--epochs', type=int, default=10, help='default: 10')
    parser.add_argument(
        '--hidden',
        type=model_size,
        nargs='+',
        default=[100],
        help='hidden layer sizes (default: 100)',
    )
    parser.add_argument(
        '--activation', choices=sorted(ACTIVATIONS), default='relu', help='default: relu'
    )
    parser.add_argument(
        '--optimizer', choices=sorted(OPTIMIZERS), default='adam', help='default: adam'
    )
    parser.add_argument(
        '--lr',
        type=positive_float,
        default=None,
        help='learning rate (default: per optimizer, '
        + ', '.join(f'{k} {v[1]}' for k, v in OPTIMIZERS.items())
        + ')',
    )
    parser.add_argument('--batch-size', type=int, default=100, help='default: 100')
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--gpu', action='store_true', help='train on the GPU (needs CuPy and a CUDA device)'
    )
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the outputs (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    check_at_least_one(parser, args, 'epochs', 'batch_size')
    weights = os.path.join(args.out, 'mnist_mlp.npz')
    plot = os.path.join(args.out, 'mnist_accuracy.png')
    check_output_files(parser, [weights, plot])

    train_data, test_data = load_or_generate(args)
    batch = max(min(args.batch_size, len(train_data[1])), min(1000, len(test_data[1])))
    exit_unless_memory_fits(args, mlp_memory((784, *args.hidden, 10), batch), 'hidden')
    print(f'training on {len(train_data[1])} images, evaluating on {len(test_data[1])}')
    os.makedirs(args.out, exist_ok=True)

    start = time.perf_counter()
    with out_of_memory_exits(args, 'hidden'):
        model, history = train(
            train_data,
            test_data,
            args.epochs,
            tuple(args.hidden),
            args.optimizer,
            args.lr,
            args.batch_size,
            args.activation,
            args.seed,
            gpu=args.gpu,
        )
    seconds = time.perf_counter() - start
    default_lr = OPTIMIZERS[args.optimizer][1]
    skipped = 'no weights saved: they are no longer numbers'
    diverged = training_diverged(history, args.lr or default_lr, default_lr, skipped=skipped)
    if not diverged:
        print(f'trained in {seconds:.1f} s; final held-out accuracy {history["val_acc"][-1]:.4f}')
        if save_trained_weights(model, weights, args.smoke):
            print(f'saved {weights}')
    if save_plot(history, plot):
        print(f'saved {plot}')
    else:  # an earlier run's plot would lie beside the weights of this one; its weights stay
        remove_stale_files([plot])
    if diverged:
        note_earlier_weights([weights])
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

"""Train a multi-layer perceptron on MNIST digits and report the test accuracy.

    python examples/mnist.py --data-dir DIR --epochs 10 --hidden 100 --optimizer adam

The four MNIST files (``train-images-idx3-ubyte.gz`` and friends) are read from
``--data-dir``, else from ``$DEZERO_HOME/datasets/mnist`` (``~/.dezero`` by default),
where they are downloaded when missing.  With only the test split at hand
(``t10k-*.gz``), ``--holdout N`` trains on the first 10000-N test images and evaluates
on the last N.

Each epoch prints the training loss and accuracy and the held-out accuracy; at the end
the script saves a plot of the accuracies and the trained weights into ``--out``.
"""
import argparse
import os
import sys
import time

import numpy as np

try:
    import dezero
except ImportError:          # run from a checkout without installing: use the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import dezero

import dezero.functions as F
from dezero import DataLoader, optimizers
from dezero.datasets import MNIST
from dezero.models import MLP
from dezero.progress import EpochProgress

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plotting import pyplot  # noqa: E402  (shared by the examples)

OPTIMIZERS = {
    'sgd': (optimizers.SGD, 0.1),
    'momentum': (optimizers.MomentumSGD, 0.05),
    'adagrad': (optimizers.AdaGrad, 0.01),
    'adam': (optimizers.Adam, 0.001),
}
ACTIVATIONS = {'relu': F.relu, 'sigmoid': F.sigmoid, 'tanh': F.tanh}


def as_arrays(dataset, indices=None):
    """Stack the (transformed) items of ``dataset`` into two arrays (x, t)."""
    indices = range(len(dataset)) if indices is None else indices
    items = [dataset[i] for i in indices]
    return np.stack([x for x, _ in items]), np.array([t for _, t in items])


def load_data(data_dir, holdout, transform=None):
    """(x_train, t_train), (x_test, t_test) as stacked arrays and int labels; images
    are flat float32 vectors in [0, 1] unless ``transform`` says otherwise.  With
    ``holdout`` the test split alone is divided in two."""
    kwargs = {'root': data_dir}
    if transform is not None:
        kwargs['transform'] = transform
    if holdout:
        test = MNIST(train=False, **kwargs)
        if not 0 < holdout < len(test):
            raise SystemExit(f'{os.path.basename(sys.argv[0])}: --holdout must be between '
                             f'1 and {len(test) - 1}, got {holdout}')
        cut = len(test) - holdout
        return as_arrays(test, range(cut)), as_arrays(test, range(cut, len(test)))
    return as_arrays(MNIST(train=True, **kwargs)), as_arrays(MNIST(train=False, **kwargs))


def accuracy_of(model, x, t, batch_size=1000):
    """Accuracy of ``model`` on (x, t), computed in test mode without a graph."""
    correct = 0
    with dezero.no_grad(), dezero.test_mode():
        for i in range(0, len(x), batch_size):
            y = model(x[i:i + batch_size])
            correct += int((y.data.argmax(axis=1) == t[i:i + batch_size]).sum())
    return correct / len(x)


def train(train_data, test_data, epochs=10, hidden=(100,), optimizer='adam', lr=None,
          batch_size=100, activation='relu', seed=0, progress_bar=None):
    """Train ``MLP((*hidden, 10))``; return the model and the per-epoch history."""
    np.random.seed(seed)
    x, t = train_data
    loader = DataLoader((x, t), batch_size, shuffle=True)
    model = MLP((*hidden, 10), activation=ACTIVATIONS[activation])
    cls, default_lr = OPTIMIZERS[optimizer]
    opt = cls(lr if lr is not None else default_lr).setup(model)

    history = {'loss': [], 'train_acc': [], 'test_acc': []}
    with EpochProgress(epochs, every=1, bar=progress_bar, desc='mnist') as progress:
        for _ in range(epochs):
            sum_loss = sum_acc = 0.0
            for xb, tb in loader:
                y = model(xb)
                loss = F.softmax_cross_entropy(y, tb)
                model.cleargrads()
                loss.backward()
                opt.update()
                sum_loss += float(loss.data) * len(tb)
                sum_acc += float(F.accuracy(y, tb).data) * len(tb)
            history['loss'].append(sum_loss / len(t))
            history['train_acc'].append(sum_acc / len(t))
            history['test_acc'].append(accuracy_of(model, *test_data))
            progress.update(loss=history['loss'][-1], train_acc=history['train_acc'][-1],
                            test_acc=history['test_acc'][-1])
    return model, history


def save_plot(history, path):
    """Plot the training and held-out accuracy per epoch; False without matplotlib."""
    plt = pyplot('plot')
    if plt is None:
        return False
    epochs = np.arange(1, len(history['loss']) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, history['train_acc'], marker='o', label='train')
    ax.plot(epochs, history['test_acc'], marker='o', label='held out')
    ax.set_xlabel('epoch')
    ax.set_ylabel('accuracy')
    ax.set_title('MNIST: accuracy per epoch')
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train an MLP on MNIST; print accuracy per epoch, save an accuracy '
                    'plot and the weights.')
    parser.add_argument('--data-dir', default=None,
                        help='folder holding the MNIST .gz files (default: '
                             '$DEZERO_HOME/datasets/mnist, downloaded when missing)')
    parser.add_argument('--epochs', type=int, default=10, help='default: 10')
    parser.add_argument('--hidden', type=int, nargs='+', default=[100],
                        help='hidden layer sizes (default: 100)')
    parser.add_argument('--activation', choices=sorted(ACTIVATIONS), default='relu',
                        help='default: relu')
    parser.add_argument('--optimizer', choices=sorted(OPTIMIZERS), default='adam',
                        help='default: adam')
    parser.add_argument('--lr', type=float, default=None,
                        help='learning rate (default: per optimizer, '
                             + ', '.join(f'{k} {v[1]}' for k, v in OPTIMIZERS.items())
                             + ')')
    parser.add_argument('--batch-size', type=int, default=100, help='default: 100')
    parser.add_argument('--holdout', type=int, default=0,
                        help='use only the test split: train on its first 10000-N '
                             'images, evaluate on the last N')
    parser.add_argument('--seed', type=int, default=0, help='default: 0')
    parser.add_argument('--out', default='out', help='folder for the outputs (default: out)')
    parser.add_argument('--no-bar', action='store_true',
                        help='print a line per epoch instead of a tqdm bar')
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or min(args.hidden) < 1:
        parser.error('--epochs, --batch-size and --hidden must be 1 or more')

    try:
        train_data, test_data = load_data(args.data_dir, args.holdout)
    except OSError as e:
        print(f'mnist: {e}', file=sys.stderr)
        return 1
    print(f'training on {len(train_data[1])} images, evaluating on {len(test_data[1])}')
    os.makedirs(args.out, exist_ok=True)

    start = time.perf_counter()
    model, history = train(train_data, test_data, args.epochs, tuple(args.hidden),
                           args.optimizer, args.lr, args.batch_size, args.activation,
                           args.seed, progress_bar=False if args.no_bar else None)
    seconds = time.perf_counter() - start
    print(f'trained in {seconds:.1f} s; final held-out accuracy {history["test_acc"][-1]:.4f}')

    weights = os.path.join(args.out, 'mnist_mlp.npz')
    model.save_weights(weights)
    print(f'saved {weights}')
    plot = os.path.join(args.out, 'mnist_accuracy.png')
    if save_plot(history, plot):
        print(f'saved {plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Train a small convolutional network on MNIST and look at what its first layer learnt.

    python examples/mnist_cnn.py --data-dir DIR --epochs 3

The network has two convolution blocks (3x3 convolution with padding 1, ReLU, 2x2 max
pooling: 28x28 -> 14x14 -> 7x7) and a linear read-out of the 10 classes.  The data
comes as in ``examples/mnist.py``: the four MNIST files from ``--data-dir`` (else from
``$DEZERO_HOME/datasets/mnist``, downloaded when missing), or with ``--holdout N`` the
test split alone, divided into its first 10000-N images for training and the last N
for evaluation.  Each epoch prints the training loss and the held-out accuracy; at the
end the script saves the accuracy plot and a picture of the first layer's filters
into ``--out``.  ``--smoke`` trains for seconds on generated digits (no files needed).
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
from dezero import DataLoader, Model, Trainer, optimizers, transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_data import add_data_options, load_or_generate
from options import (
    check_at_least_one,
    check_output_files,
    conv_numbers,
    exit_unless_memory_fits,
    output_folder,
    parse_options,
    positive_float,
    random_seed,
    report_outputs,
    run_main,
    training_diverged,
    training_memory,
)
from plotting import pyplot, save_figure

#: The pictures saved into --out: the accuracy per epoch and the first layer's filters.
PICTURES = ('mnist_cnn_accuracy.png', 'mnist_cnn_filters.png')
#: The channels of the two convolutions.
CHANNELS = (16, 32)

#: Images as (1, 28, 28) float32 in [0, 1]: the layout a convolution wants.
IMAGE_TRANSFORM = transforms.Compose([transforms.ToFloat(), transforms.Normalize(0.0, 255.0)])


class SmallCNN(Model):
    """conv(c1) - relu - pool - conv(c2) - relu - pool - linear(10)."""

    def __init__(self, channels=CHANNELS, n_classes=10):
        super().__init__()
        self.conv1 = L.Conv2d(channels[0], kernel_size=3, pad=1)
        self.conv2 = L.Conv2d(channels[1], kernel_size=3, pad=1)
        self.fc = L.Linear(n_classes)

    def forward(self, x):
        x = F.pooling(F.relu(self.conv1(x)), 2, stride=2)
        x = F.pooling(F.relu(self.conv2(x)), 2, stride=2)
        return self.fc(F.reshape(x, (x.shape[0], -1)))


def train(train_data, test_data, epochs=3, batch_size=100, lr=0.001, seed=0, progress=True):
    """Train SmallCNN with Adam through a :class:`dezero.Trainer`, evaluating on
    ``test_data`` after every epoch; return the model and the history."""
    np.random.seed(seed)
    model = SmallCNN()
    trainer = Trainer(model, optimizers.Adam(lr))
    history = trainer.fit(
        DataLoader(train_data, batch_size, shuffle=True),
        epochs,
        val_loader=DataLoader(test_data, 500, shuffle=False),
        progress=progress,
    )
    return model, history


def save_pictures(model, history, out):
    """The accuracy per epoch and the first layer's filters, as PNG files (the
    accuracy only when ``model`` is None)."""
    plt = pyplot('pictures')
    if plt is None:
        return []
    paths = [os.path.join(out, name) for name in PICTURES]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(1, len(history['val_acc']) + 1), history['val_acc'], marker='o')
    ax.set_xlabel('epoch')
    ax.set_ylabel('held-out accuracy')
    ax.set_title('MNIST CNN')
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    save_figure(fig, paths[0], dpi=100)
    if model is None:
        return paths[:1]

    filters = model.conv1.W.data[:, 0]  # (16, 3, 3): one input channel
    cols = 8
    rows = -(-len(filters) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.3))
    for i, ax in enumerate(np.ravel(axes)):
        ax.axis('off')
        if i < len(filters):
            ax.imshow(filters[i], cmap='gray', interpolation='nearest')
            ax.set_title(str(i), fontsize=8)
    fig.suptitle('first-layer filters (3x3)')
    fig.tight_layout()
    save_figure(fig, paths[1], dpi=100)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a two-block CNN on MNIST; print held-out accuracy per epoch, '
        'save the accuracy plot and a picture of the first-layer filters.'
    )
    add_data_options(parser)
    parser.add_argument('--epochs', type=int, default=3, help='default: 3')
    parser.add_argument('--batch-size', type=int, default=100, help='default: 100')
    parser.add_argument(
        '--lr', type=positive_float, default=0.001, help='Adam alpha (default: 0.001)'
    )
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the outputs (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    check_at_least_one(parser, args, 'epochs', 'batch_size')
    check_output_files(parser, [os.path.join(args.out, name) for name in PICTURES])
    train_data, test_data = load_or_generate(args, IMAGE_TRANSFORM, flat=False)
    # the held-out batches of 500 keep no graph: about half the numbers per image
    batch = max(min(args.batch_size, len(train_data[1])), min(500, len(test_data[1])) // 2)
    c1, c2 = CHANNELS
    per_image = conv_numbers([(1, c1, 28 * 28), (c1, c2, 14 * 14)]) + 3 * 10
    parameters = 9 * c1 + c1 + 9 * c1 * c2 + c2 + 7 * 7 * c2 * 10 + 10
    needed = training_memory(parameters, batch * per_image)
    exit_unless_memory_fits(args, needed, 'batch_size')
    print(f'training on {len(train_data[1])} images, evaluating on {len(test_data[1])}')
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    model, history = train(train_data, test_data, args.epochs, args.batch_size, args.lr, args.seed)
    skipped = 'no picture of the filters: the weights are no longer numbers'
    diverged = training_diverged(history, args.lr, parser.get_default('lr'), skipped=skipped)
    if not diverged:
        print(
            f'trained in {time.perf_counter() - start:.1f} s; final held-out accuracy '
            f'{history["val_acc"][-1]:.4f}'
        )
    written = save_pictures(None if diverged else model, history, args.out)
    report_outputs(written, args.out, PICTURES)  # and removes an earlier run's others
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

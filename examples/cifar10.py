"""Train a small convolutional network on CIFAR-10 and look at the test images it gets wrong.

    python examples/cifar10.py --epochs 10
    python examples/cifar10.py --data-dir DIR --epochs 10
    python examples/cifar10.py --smoke

The network has two convolution blocks (two 3x3 convolutions with padding 1 and ReLU,
then 2x2 max pooling: 32x32 -> 16x16 -> 8x8; 32 then 64 channels), a hidden linear
layer of 256 ReLU units and a linear read-out of the 10 classes, trained with momentum
SGD.  The images come from ``dezero.datasets.CIFAR10`` as float32 (3, 32, 32) with
values in [-1, 1]: the 50,000 training images for training, the 10,000 of the test
split for evaluation.  The dataset keeps its archive, ``cifar-10-binary.tar.gz``, in
``$DEZERO_HOME/downloads`` (``~/.dezero/downloads``) and downloads it there when
missing; ``--data-dir DIR`` uses ``DIR`` as ``DEZERO_HOME`` instead, so the archive
goes into ``DIR/downloads``.  On a CPU an epoch of the full data takes many minutes.

Each epoch shows a progress bar over its batches (when tqdm is installed) and prints
the training loss and accuracy and the held-out loss and accuracy.  At the end the
script saves the loss and accuracy curves and a grid of misclassified test images,
each titled with its true and predicted class, into ``--out``.  ``--smoke`` trains a
narrower network for seconds on generated coloured stripes (no files, no network).
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
from dezero import DataLoader, Model, Trainer, no_grad, optimizers, test_mode, transforms
from dezero.datasets import CIFAR10, Dataset
from dezero.progress import format_metrics

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from options import (
    check_at_least_one,
    check_output_files,
    conv_numbers,
    exit_unless_memory_fits,
    folder_path,
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

#: The pictures saved into --out: the curves and a grid of misclassified test images.
PICTURES = ('cifar10_curves.png', 'cifar10_mistakes.png')

#: The class names in label order: 'airplane', 'automobile', ..., 'truck'.
CLASSES = tuple(CIFAR10.labels().values())

#: uint8 pixels to float32 in [-1, 1], as CIFAR10 does by default.
IMAGE_TRANSFORM = transforms.Compose(
    [transforms.ToFloat(), transforms.Normalize(mean=127.5, std=127.5)]
)


class CifarCNN(Model):
    """[conv(c1) - relu] x 2 - pool - [conv(c2) - relu] x 2 - pool - linear(hidden) -
    relu - linear(10), every convolution 3x3 with padding 1."""

    def __init__(self, channels=(32, 64), hidden=256, n_classes=10):
        super().__init__()
        self.conv1a = L.Conv2d(channels[0], kernel_size=3, pad=1)
        self.conv1b = L.Conv2d(channels[0], kernel_size=3, pad=1)
        self.conv2a = L.Conv2d(channels[1], kernel_size=3, pad=1)
        self.conv2b = L.Conv2d(channels[1], kernel_size=3, pad=1)
        self.fc1 = L.Linear(hidden)
        self.fc2 = L.Linear(n_classes)

    def forward(self, x):
        x = F.relu(self.conv1b(F.relu(self.conv1a(x))))
        x = F.pooling(x, 2, stride=2)
        x = F.relu(self.conv2b(F.relu(self.conv2a(x))))
        x = F.pooling(x, 2, stride=2)
        x = F.relu(self.fc1(F.reshape(x, (x.shape[0], -1))))
        return self.fc2(x)


class ColourStripes(Dataset):
    """``n`` generated 32x32 RGB images in 10 classes that a small CNN learns in
    seconds, laid out as CIFAR10's (``data`` uint8 (n, 3, 32, 32), ``label`` int64):
    class k has stripes of one of five colours (k // 2), horizontal for even k and
    vertical for odd k, at a random phase on a dark noisy background.  Telling the
    pairs apart needs the orientation, which is what convolutions see."""

    COLOURS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1]], np.float64)

    def __init__(self, n, seed, transform=IMAGE_TRANSFORM):
        self.n, self.seed = n, seed
        super().__init__(train=True, transform=transform)

    def prepare(self):
        rng = np.random.default_rng(self.seed)
        label = rng.integers(0, 10, self.n)
        phase = rng.integers(0, 4, self.n)
        images = rng.uniform(0.0, 0.3, (self.n, 3, 32, 32))
        stripe = (np.arange(32) % 4) < 2  # 2 pixels on, 2 off
        for i, (k, p) in enumerate(zip(label, phase)):
            on = np.roll(stripe, p)
            mask = on[:, None] if k % 2 == 0 else on[None, :]  # rows or columns
            colour = self.COLOURS[k // 2][:, None, None] * rng.uniform(0.6, 1.0)
            images[i] = np.where(mask, np.maximum(images[i], colour), images[i])
        self.data = (images * 255).round().astype(np.uint8)
        self.label = label.astype(np.int64)


class BatchBar:
    """Iterates like ``loader``, one tqdm bar over the batches for each pass (when
    tqdm is installed and ``bar`` is true), so a Trainer shows progress within the
    epoch; the bar goes to stderr and disappears at the end of the pass."""

    def __init__(self, loader, epochs, bar=True):
        self.loader, self.epochs, self.epoch = loader, epochs, 0
        self.tqdm = None
        if bar:
            try:
                from tqdm import tqdm

                self.tqdm = tqdm
            except ImportError:
                pass

    def __iter__(self):
        self.epoch += 1
        if self.tqdm is None:
            return iter(self.loader)
        desc = f'epoch {self.epoch}/{self.epochs}'
        return iter(self.tqdm(self.loader, desc=desc, total=len(self.loader), leave=False))


class PrintEpoch:
    """A Trainer callback printing every epoch's figures on one line."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, trainer, epoch, logs):
        width = len(str(self.epochs))
        print(f'epoch {epoch:>{width}}/{self.epochs}  {format_metrics(logs)}', flush=True)


def load_data(args):
    """The (train, test) datasets: generated stripes with ``--smoke``, else CIFAR-10
    (from ``--data-dir`` used as DEZERO_HOME, if given).  Exits with status 1 and says
    how to get the data when the archive is missing and cannot be downloaded."""
    if args.smoke:
        return ColourStripes(600, seed=1), ColourStripes(200, seed=2)
    if args.data_dir is not None:
        os.environ['DEZERO_HOME'] = os.path.abspath(args.data_dir)  # read at each load
    try:
        return CIFAR10(train=True), CIFAR10(train=False)
    except (OSError, ValueError) as e:  # DownloadError is an OSError
        name = os.path.basename(sys.argv[0])
        print(
            f'{name}: {e}\n{name}: get {os.path.basename(CIFAR10.url)} from {CIFAR10.url} '
            f'by other means and put it into the folder named above, or run with --smoke '
            f'for a run on generated images',
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def memory_needed(channels, hidden, batch):
    """A rough upper estimate of the bytes that training :class:`CifarCNN` of
    ``channels`` and ``hidden`` units with momentum SGD on batches of ``batch`` images
    holds at once (see ``options.training_memory``)."""
    c1, c2 = channels
    convolutions = [(3, c1, 32 * 32), (c1, c1, 32 * 32), (c1, c2, 16 * 16), (c2, c2, 16 * 16)]
    parameters = sum(9 * c_in * c_out + c_out for c_in, c_out, _ in convolutions)
    parameters += (8 * 8 * c2 + 1) * hidden + (hidden + 1) * 10
    per_image = conv_numbers(convolutions) + 3 * (hidden + 10)
    return training_memory(parameters, batch * per_image, optimizer_state=1)


def train(model, train_set, test_set, epochs, batch_size, lr, bar=True):
    """Train ``model`` with momentum SGD through a :class:`dezero.Trainer`, evaluating
    on ``test_set`` after every epoch; return the history."""
    trainer = Trainer(model, optimizers.MomentumSGD(lr=lr, momentum=0.9))
    loader = BatchBar(DataLoader(train_set, batch_size, shuffle=True), epochs, bar)
    return trainer.fit(
        loader,
        epochs,
        val_loader=DataLoader(test_set, 500, shuffle=False),
        progress=False,  # PrintEpoch prints every epoch; BatchBar draws the bars
        callbacks=[PrintEpoch(epochs)],
    )


def predict(model, dataset):
    """The predicted class of every item of ``dataset``, in order."""
    predictions = []
    with test_mode(), no_grad():
        for x, _ in DataLoader(dataset, 500, shuffle=False):
            predictions.append(model(x).data.argmax(axis=1))
    return np.concatenate(predictions)


def save_pictures(history, test_set, predicted, out, n_wrong=24):
    """The loss and accuracy curves, and the first ``n_wrong`` misclassified test
    images with their true and predicted classes, as PNG files (the curves only when
    ``predicted`` is None)."""
    plt = pyplot('pictures')
    if plt is None:
        return []
    paths = [os.path.join(out, name) for name in PICTURES]
    epochs = np.arange(1, len(history['loss']) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, name in zip(axes, ('loss', 'acc')):
        ax.plot(epochs, history[name], marker='o', label='training')
        ax.plot(epochs, history['val_' + name], marker='o', label='held-out')
        ax.set_xlabel('epoch')
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # whole epochs only
        ax.set_ylabel('accuracy' if name == 'acc' else 'loss')
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle('CIFAR-10 CNN')
    fig.tight_layout()
    save_figure(fig, paths[0], dpi=100)
    if predicted is None:
        return paths[:1]

    wrong = np.flatnonzero(predicted != test_set.label)[:n_wrong]
    cols = 6
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.5, rows * 1.8))
    for ax, i in zip(np.ravel(axes), [*wrong, *[None] * (rows * cols)]):
        ax.axis('off')
        if i is not None:
            ax.imshow(test_set.data[i].transpose(1, 2, 0), interpolation='nearest')  # HWC
            true, pred = CLASSES[test_set.label[i]], CLASSES[predicted[i]]
            ax.set_title(f'{true}\nas {pred}', fontsize=8)
    fig.suptitle(f'misclassified test images ({len(wrong)} shown): true class, predicted')
    fig.tight_layout()
    save_figure(fig, paths[1], dpi=100)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a four-convolution CNN on CIFAR-10; print the losses and '
        'accuracies of every epoch, save the curves and a grid of misclassified test images.'
    )
    parser.add_argument(
        '--data-dir',
        type=folder_path,
        default=None,
        help='used as DEZERO_HOME: the archive is looked for, and downloaded, in '
        'DIR/downloads (default: $DEZERO_HOME/downloads, ~/.dezero/downloads)',
    )
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='a seconds-long run of a narrower network on generated images (no files needed)',
    )
    parser.add_argument('--epochs', type=int, default=None, help='default: 10 (--smoke: 2)')
    parser.add_argument('--batch-size', type=int, default=None, help='default: 100 (--smoke: 20)')
    parser.add_argument(
        '--lr', type=positive_float, default=0.01, help='SGD learning rate (default: 0.01)'
    )
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument('--no-bar', action='store_true', help='no tqdm bars, only lines')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the outputs (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    epochs = (2 if args.smoke else 10) if args.epochs is None else args.epochs
    if args.batch_size is None:
        args.batch_size = 20 if args.smoke else 100
    batch_size = args.batch_size
    check_at_least_one(parser, args, 'epochs', 'batch_size')
    check_output_files(parser, [os.path.join(args.out, name) for name in PICTURES])

    train_set, test_set = load_data(args)
    channels, hidden = ((8, 16), 64) if args.smoke else ((32, 64), 256)
    # the held-out batches of 500 keep no graph: about half the numbers per image
    batch = max(min(batch_size, len(train_set)), min(500, len(test_set)) // 2)
    exit_unless_memory_fits(args, memory_needed(channels, hidden, batch), 'batch_size')
    print(f'training on {len(train_set)} images, evaluating on {len(test_set)}')
    os.makedirs(args.out, exist_ok=True)
    np.random.seed(args.seed)  # the weights and the batch order
    model = CifarCNN(channels, hidden)
    start = time.perf_counter()
    history = train(model, train_set, test_set, epochs, batch_size, args.lr, not args.no_bar)
    skipped = 'no picture of misclassified images: the weights are no longer numbers'
    diverged = training_diverged(history, args.lr, parser.get_default('lr'), skipped=skipped)
    predicted = None
    if not diverged:
        predicted = predict(model, test_set)
        accuracy = float((predicted == test_set.label).mean())
        print(
            f'trained in {time.perf_counter() - start:.1f} s; final held-out accuracy '
            f'{accuracy:.4f} (chance: 0.1)'
        )
    written = save_pictures(history, test_set, predicted, args.out)
    report_outputs(written, args.out, PICTURES)  # and removes an earlier run's others
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

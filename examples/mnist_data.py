"""What the MNIST examples share: loading the digits as arrays, the ``--holdout``
split of the test set, and small generated digits for ``--smoke`` runs."""

import argparse
import os
import sys

import numpy as np

from dezero.datasets import MNIST
from options import folder_path

#: The images of MNIST's test split, which ``--holdout`` divides.
TEST_IMAGES = 10000


def holdout_size(value):
    """An argparse type for ``--holdout``: a whole number from 0 (no holdout: train on
    the training split, evaluate on the test split) to ``TEST_IMAGES - 1``.  Files
    with fewer test images (made by hand) are checked again once read."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a whole number, got {value!r}') from None
    if not 0 <= number < TEST_IMAGES:
        raise argparse.ArgumentTypeError(
            f'must be from 1 to {TEST_IMAGES - 1} (or 0: no holdout), got {value}'
        )
    return number


def add_data_options(parser):
    """Add ``--data-dir``, ``--holdout`` and ``--smoke`` to an example's parser
    (``--holdout`` and ``--smoke`` exclude each other: generated digits have no test
    split to hold images out of).  ``--holdout`` is None when not given, which
    :func:`load_data` takes as 0: argparse sees an exclusive option as given only when
    its value is not its default (compared by identity), and would let ``--holdout 0
    --smoke`` pass with a default of 0.  Read the options with
    :func:`options.parse_options` and ``smoke_replaces=['data_dir']``, which refuses
    ``--data-dir`` with ``--smoke``."""
    parser.add_argument(
        '--data-dir',
        type=folder_path,
        default=None,
        help='folder holding the MNIST .gz files (default: '
        '$DEZERO_HOME/datasets/mnist, downloaded when missing)',
    )
    exclusive = parser.add_mutually_exclusive_group()
    exclusive.add_argument(
        '--holdout',
        type=holdout_size,
        default=None,
        metavar='N',
        help='use only the test split: train on its first 10000-N images, evaluate on '
        'the last N (1 to 9999; default: 0, no holdout: the training and test splits)',
    )
    exclusive.add_argument(
        '--smoke',
        action='store_true',
        help='a seconds-long run on generated digits (no files needed)',
    )


def as_arrays(dataset, indices=None):
    """Stack the (transformed) items of ``dataset`` into two arrays (x, t)."""
    indices = range(len(dataset)) if indices is None else indices
    items = [dataset[i] for i in indices]
    return np.stack([x for x, _ in items]), np.array([t for _, t in items])


def load_data(data_dir, holdout, transform=None):
    """(x_train, t_train), (x_test, t_test) as stacked arrays and int labels; images
    are flat float32 vectors in [0, 1] unless ``transform`` says otherwise.  With
    ``holdout`` the test split alone is divided: its first 10000 - holdout images for
    training, the last ``holdout`` for evaluation (0 or None: no holdout)."""
    kwargs = {'root': data_dir}
    if transform is not None:
        kwargs['transform'] = transform
    if holdout:
        test = MNIST(train=False, **kwargs)
        if not 0 < holdout < len(test):
            raise SystemExit(
                f'{os.path.basename(sys.argv[0])}: --holdout must be between '
                f'1 and {len(test) - 1}, got {holdout}'
            )
        cut = len(test) - holdout
        return as_arrays(test, range(cut)), as_arrays(test, range(cut, len(test)))
    return as_arrays(MNIST(train=True, **kwargs)), as_arrays(MNIST(train=False, **kwargs))


def synthetic_digits(n, seed=0, flat=True):
    """``n`` generated 28x28 "digits" that a network can learn in seconds: class k is a
    bright 7x5 block at one of ten places, on faint noise.  Returns (x, t): x float32
    in [0, 1], of shape (n, 784) or, with ``flat=False``, (n, 1, 28, 28); t int64."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 10, n)
    images = rng.uniform(0.0, 0.25, (n, 28, 28))
    for i, k in enumerate(t):
        row, col = divmod(int(k), 5)
        images[i, 3 + 12 * row : 10 + 12 * row, 1 + 5 * col : 6 + 5 * col] = 1.0
    images = images.astype(np.float32)
    return (images.reshape(n, 784) if flat else images[:, None]), t


def load_or_generate(args, transform=None, smoke_sizes=(500, 200), flat=True):
    """The data an example asked for: generated digits with ``--smoke``, else MNIST
    (see :func:`load_data`).  Prints the error in one line and exits with status 1
    when the files are missing and cannot be downloaded (OSError, whose advice names
    ``--data-dir``), or are damaged: a truncated or corrupt file (ValueError, whose
    message names the file)."""
    if args.smoke:
        return (
            synthetic_digits(smoke_sizes[0], seed=1, flat=flat),
            synthetic_digits(smoke_sizes[1], seed=2, flat=flat),
        )
    try:
        return load_data(args.data_dir, args.holdout, transform)
    except (OSError, ValueError) as e:
        # the library's advice, in this script's words
        message = str(e).replace('pass root= a', 'pass --data-dir a')
        print(f'{os.path.basename(sys.argv[0])}: {message}', file=sys.stderr)
        raise SystemExit(1) from None

"""Step 52: running the training on a GPU.

Everything dezero computes goes through an array module: NumPy on the CPU, or CuPy,
which offers the same functions on an NVIDIA GPU. Moving the work to the GPU takes two
changes to the MNIST loop of step 51: ``model.to_gpu()`` moves the parameters, and
``DataLoader(..., gpu=True)`` hands out batches that already live on the GPU; the rest
of the code stays as it is. ``dezero.cuda.gpu_enable`` says whether this is possible.
Look at the first line: without CuPy support the step explains what it would do and
stops (exit status 0); with it, it prints the loss and test accuracy per epoch and the
time each epoch took. With DEZERO_STEPS_QUICK=1 the GPU run is one epoch on the first
300 images.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero
import dezero.functions as F
from dezero import DataLoader, cuda, optimizers
from dezero.datasets import MNIST
from dezero.models import MLP

QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'


def train_on_gpu(max_epoch, batch_size=100, hidden_size=100, limit=None):
    """Train the MNIST MLP of step 51 with its parameters and batches on the GPU."""
    try:
        train_set = MNIST(train=True)
        test_set = MNIST(train=False)
    except OSError as e:  # not on disk and no download possible
        print(f'step52: {e}', file=sys.stderr)
        sys.exit(1)
    if limit is not None:
        for dataset in (train_set, test_set):
            dataset.data = dataset.data[:limit]
            dataset.label = dataset.label[:limit]

    np.random.seed(0)
    # gpu=True: every batch (x, t) is copied to the GPU as it is handed out.
    train_loader = DataLoader(train_set, batch_size, gpu=True)
    test_loader = DataLoader(test_set, batch_size, shuffle=False, gpu=True)

    model = MLP((hidden_size, 10), activation=F.relu)
    # Linear layers create their weights on the first call; call the model once so
    # that there are parameters to move, then move them all to the GPU.
    with dezero.no_grad():
        model(train_set[0][0][None, :])
    model.to_gpu()
    optimizer = optimizers.Adam().setup(model)  # its state follows the parameters

    for epoch in range(max_epoch):
        start = time.perf_counter()
        sum_loss = 0.0
        for x, t in train_loader:  # CuPy arrays
            y = model(x)
            loss = F.softmax_cross_entropy(y, t)
            model.cleargrads()
            loss.backward()
            optimizer.update()
            sum_loss += float(loss.data) * len(t)  # float() copies one number back

        sum_acc = 0.0
        with dezero.no_grad():
            for x, t in test_loader:
                sum_acc += float(F.accuracy(model(x), t).data) * len(t)
        seconds = time.perf_counter() - start
        print(
            f'epoch {epoch + 1}: train loss {sum_loss / len(train_set):.4f} | '
            f'test accuracy {sum_acc / len(test_set):.4f} | {seconds:.2f} s'
        )

    model.to_cpu()  # back to NumPy, e.g. before save_weights
    return model


if not cuda.gpu_enable:
    print(
        'GPU not available: dezero.cuda.gpu_enable is False (CuPy is not installed, '
        'or no GPU can be used on this machine).'
    )
    print(
        'With a GPU this step would call model.to_gpu(), load MNIST batches with '
        'DataLoader(..., gpu=True),'
    )
    print('train the MLP of step 51 there and print the loss, test accuracy and seconds per epoch.')
    print('Nothing to do here: skipping.')
    sys.exit(0)

print('GPU available: training on the GPU')
train_on_gpu(max_epoch=1 if QUICK else 5, limit=300 if QUICK else None)

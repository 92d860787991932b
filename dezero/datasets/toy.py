"""Toy datasets generated on the spot: :class:`Spiral` (3 interleaved spiral arms) and
:class:`SinCurve` (a sine series for sequence models)."""

import numpy as np

from dezero.checks import check_flag
from dezero.datasets.base import Dataset


def get_spiral(train=True):
    """Three spiral arms of 100 points each, shuffled: ``x`` float32 (300, 2), ``t``
    int64 (300,) with class j for arm j.

    Point i of arm j lies at radius r = i/100 and angle 4j + 4r + 0.2*noise (standard
    normal noise), as ``(r sin(angle), r cos(angle))``.  As in the book, the function
    seeds NumPy's global random generator, ``np.random.seed(1984)`` for the training
    data and ``np.random.seed(2020)`` for the test data, then draws the noise and the
    shuffle from it: every call gives the same points, and leaves the generator in the
    same state as the book's function does.  The book's scripts (steps 48 to 50) rely
    on that: they create their model and shuffle their batches after this call, and so
    give the same losses at every run.  Call ``np.random.seed`` after it for other
    random numbers.  ``train`` is True or False (a string such as 'False' is refused).

    The numbers are drawn from a generator of the call's own, seeded alike, whose
    state is then given to the global one: the points stay the same while other
    threads draw from NumPy's global generator.
    """
    train = check_flag('get_spiral', 'train', train)
    rng = np.random.RandomState(1984 if train else 2020)
    num_class, num_data = 3, 100
    rate = np.arange(num_data) / num_data
    noise = rng.randn(num_class, num_data)  # drawn arm by arm, point by point
    theta = 4.0 * np.arange(num_class)[:, None] + 4.0 * rate + 0.2 * noise
    x = np.stack([rate * np.sin(theta), rate * np.cos(theta)], axis=-1)
    x = x.reshape(num_class * num_data, 2).astype(np.float32)
    t = np.repeat(np.arange(num_class, dtype=np.int64), num_data)
    order = rng.permutation(num_class * num_data)
    np.random.set_state(rng.get_state())
    return x[order], t[order]


class Spiral(Dataset):
    """The spiral toy data of :func:`get_spiral` (300 points in 2-D, 3 classes), which
    seeds NumPy's global random generator as in the book."""

    def prepare(self):
        """Generate the 300 points and their classes of the split with
        :func:`get_spiral`."""
        self.data, self.label = get_spiral(self.train)


class SinCurve(Dataset):
    """A sine series for sequence models: 1000 points over one period [0, 2 pi].

    Train: sin(x) plus uniform noise in [-0.05, 0.05]; test: cos(x), without noise.
    Each item is one value, shape (1,), and its label the next value of the series:
    ``data`` and ``label`` are float64 arrays of shape (999, 1).  As in the book, the
    noise comes from NumPy's global random generator, 1000 numbers for either split
    (so ``np.random.seed`` before it makes the series reproducible, and what is drawn
    after it is the same as with the book's class).  A float32 model still computes in
    float32: layers convert their input to their own dtype.
    """

    def prepare(self):
        """Generate the series of the split (noisy sine or clean cosine) and pair each
        value with the next one."""
        x = np.linspace(0, 2 * np.pi, 1000)
        noise = np.random.uniform(-0.05, 0.05, size=x.shape)  # drawn for both splits
        y = np.sin(x) + noise if self.train else np.cos(x)
        y = y[:, None]
        self.data, self.label = y[:-1], y[1:]

"""A generative adversarial network of two small MLPs that learns to draw MNIST digits.

    python examples/gan.py --data-dir DIR --holdout 2000 --epochs 25

The generator G maps a 64-d standard normal noise vector z through two hidden layers
(linear, batch norm, ReLU) to 784 sigmoid outputs, a 28x28 image; the discriminator D
maps an image through one hidden layer (linear, leaky ReLU, dropout) to one logit, its
belief that the image is real.  For every batch of real images:

1. D step: noise gives fakes G(z), computed without a graph and passed to D as plain
   arrays, so nothing flows back into G; D's loss is the binary cross entropy of its
   logits with label 1 for the real images plus that with label 0 for the fakes
   (``F.sigmoid_cross_entropy``), and D's own Adam optimizer updates D only.
2. G step: fresh noise goes through G and D with a graph; G's loss is the cross
   entropy of D's logits with label 1 (the "non-saturating" loss -log D(G(z)), which
   keeps a strong gradient while D easily spots the fakes), and G's own optimizer
   updates G only.  The gradients this backward pass leaves on D's parameters are
   cleared at once, so they never reach D's next step.

Both optimizers are Adam with alpha 2e-4 and beta1 0.5, as in DCGAN.  At the
equilibrium where D cannot tell fakes from real images, D's loss is 2 ln 2 = 1.386 and
G's loss ln 2 = 0.693; D's accuracy near 0.5 means a close game, near 1 that D wins.

Each epoch prints D's and G's average loss, D's accuracy on the real and fake images of
its step and the mean D(x) and D(G(z)), and saves an 8x8 grid of samples drawn from the
same 64 noise vectors as ``gan_epoch01.png``, ``gan_epoch02.png``...; at the end it
saves the loss curves as ``gan_losses.png``.  It first removes the pictures of these
names that an earlier run left in ``--out`` (epochs this run may not reach, or the
samples of a run that went well beside the curves of one that diverged), saying how
many.  With ``--holdout N`` it trains on the training part (the first 10000-N test
images).  On 8000 images an epoch takes about a second, and the samples look like
digits after fifteen to twenty epochs.
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
from dezero import DataLoader, Model, optimizers
import dezero.layers as L

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_data import add_data_options, load_or_generate
from options import (
    check_at_least_one,
    check_output_files,
    exit_unless_memory_fits,
    mlp_memory,
    model_size,
    numbered_files,
    out_of_memory_exits,
    output_folder,
    parse_options,
    positive_float,
    random_seed,
    remove_stale_files,
    run_main,
    training_diverged,
)
from plotting import pyplot, save_figure, save_samples, tile  # noqa: F401  (shared)


class Generator(Model):
    """Noise (N, latent) -> images (N, 784) in (0, 1): two layers of ``hidden`` units,
    each linear, batch-normalised and ReLU, then a linear layer of 784 and a sigmoid.
    Batch normalisation keeps the samples varied (without it G soon draws one blot)."""

    def __init__(self, hidden=256):
        super().__init__()
        self.l1, self.bn1 = L.Linear(hidden), L.BatchNorm()
        self.l2, self.bn2 = L.Linear(hidden), L.BatchNorm()
        self.l3 = L.Linear(784)

    def forward(self, z):
        h = F.relu(self.bn1(self.l1(z)))
        h = F.relu(self.bn2(self.l2(h)))
        return F.sigmoid(self.l3(h))


class Discriminator(Model):
    """Images (N, 784) -> one logit each (N, 1), positive for "real": a linear layer
    of ``hidden`` units, leaky ReLU (slope 0.2) and dropout (0.3), then a linear
    read-out."""

    def __init__(self, hidden=256, dropout=0.3):
        super().__init__()
        self.l1, self.l2 = L.Linear(hidden), L.Linear(1)
        self.dropout = dropout

    def forward(self, x):
        return self.l2(F.dropout(F.leaky_relu(self.l1(x)), self.dropout))


def noise(n, latent):
    """``n`` standard normal latent vectors (n, latent), float32, from ``np.random``."""
    return np.random.randn(n, latent).astype(np.float32)


def discriminator_step(D, opt_d, real, fake):
    """One update of D (through ``opt_d``, set up on D alone) on the arrays ``real``
    (label 1) and ``fake`` (label 0).  Returns D's loss, its accuracy (the share of
    logits on the right side of 0) and the mean D(real) and D(fake) probabilities."""
    y_real, y_fake = D(real), D(fake)
    ones = np.ones(y_real.shape, np.float32)
    zeros = np.zeros(y_fake.shape, np.float32)
    loss = F.sigmoid_cross_entropy(y_real, ones) + F.sigmoid_cross_entropy(y_fake, zeros)
    D.cleargrads()
    loss.backward()
    opt_d.update()
    hits = int((y_real.data > 0).sum()) + int((y_fake.data < 0).sum())
    return {
        'd_loss': float(loss.data),
        'd_acc': hits / (len(real) + len(fake)),
        'd_real': float(F.sigmoid(y_real).data.mean()),
        'd_fake': float(F.sigmoid(y_fake).data.mean()),
    }


def generator_step(G, D, opt_g, z):
    """One update of G (through ``opt_g``, set up on G alone) with the non-saturating
    loss -log D(G(z)), averaged over the batch.  D is not changed, and the gradients
    the backward pass leaves on D's parameters are cleared.  Returns G's loss."""
    y = D(G(z))
    loss = F.sigmoid_cross_entropy(y, np.ones(y.shape, np.float32))
    G.cleargrads()
    loss.backward()
    opt_g.update()
    D.cleargrads()
    return float(loss.data)


def train(
    x, epochs=25, batch_size=64, latent=64, hidden=256, lr=2e-4, beta1=0.5, seed=0, on_epoch=None
):
    """Train a GAN on the images ``x`` (N, 784) in [0, 1].  After each epoch
    ``on_epoch(epoch, G, figures)`` is called, if given, with that epoch's averages.
    Returns G, D and the history: per-epoch lists of ``d_loss``, ``g_loss``, ``d_acc``,
    ``d_real`` and ``d_fake``."""
    np.random.seed(seed)
    G, D = Generator(hidden), Discriminator(hidden)
    opt_g = optimizers.Adam(lr, beta1=beta1).setup(G)
    opt_d = optimizers.Adam(lr, beta1=beta1).setup(D)
    loader = DataLoader((x, None), batch_size, shuffle=True)
    names = ('d_loss', 'g_loss', 'd_acc', 'd_real', 'd_fake')
    history = {name: [] for name in names}
    for epoch in range(1, epochs + 1):
        sums = dict.fromkeys(names, 0.0)
        for real, _ in loader:
            n = len(real)
            with dezero.no_grad():
                fake = G(noise(n, latent)).data
            figures = discriminator_step(D, opt_d, real, fake)
            figures['g_loss'] = generator_step(G, D, opt_g, noise(n, latent))
            for name in names:
                sums[name] += figures[name] * n
        figures = {name: sums[name] / len(x) for name in names}
        for name in names:
            history[name].append(figures[name])
        if on_epoch is not None:
            on_epoch(epoch, G, figures)
    return G, D, history


def sample(G, z):
    """G's images for the latent vectors ``z``, as an array (N, 784), without a graph."""
    with dezero.no_grad(), dezero.test_mode():
        return G(z).data


def save_losses(plt, history, path):
    """Save D's and G's loss per epoch, with their values at the equilibrium, drawn
    with ``plt`` (matplotlib.pyplot)."""
    epochs = np.arange(1, len(history['d_loss']) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, history['d_loss'], marker='o', label='D loss')
    ax.plot(epochs, history['g_loss'], marker='o', label='G loss')
    ax.axhline(2 * np.log(2), color='tab:blue', linestyle=':', label='D at equilibrium')
    ax.axhline(np.log(2), color='tab:orange', linestyle=':', label='G at equilibrium')
    ax.set_xlabel('epoch')
    ax.set_ylabel('binary cross entropy')
    ax.set_title('GAN losses')
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=90)


#: The names of the pictures saved into --out: the samples after each epoch and the
#: loss curves.
SAMPLES_NAME = 'gan_epoch{:02d}.png'
LOSSES_NAME = 'gan_losses.png'


def sample_path(out, epoch):
    """Where the grid of samples after ``epoch`` is saved, in the folder ``out``."""
    return os.path.join(out, SAMPLES_NAME.format(epoch))


def memory_needed(latent, hidden, batch):
    """A rough upper estimate of the bytes that training G and D with Adam on
    batches of ``batch`` images holds at once (see ``options.training_memory``): G
    on a batch (or on the 64 fixed noise vectors), D on a batch of real and one of
    fake images, and those noise vectors, drawn in float64 and kept in float32."""
    generator = mlp_memory((latent, hidden, hidden, 784), max(batch, 64))
    discriminator = mlp_memory((784, hidden, 1), 2 * batch)
    return generator + discriminator + 64 * latent * (8 + 4)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a small MLP GAN on MNIST; print D and G losses per epoch and '
        'save a grid of samples per epoch.'
    )
    add_data_options(parser)
    parser.add_argument('--epochs', type=int, default=None, help='default: 25, or 3 with --smoke')
    parser.add_argument('--batch-size', type=int, default=64, help='default: 64')
    parser.add_argument(
        '--latent', type=model_size, default=64, help='size of the noise vector (default: 64)'
    )
    parser.add_argument(
        '--hidden', type=model_size, default=256, help='units per hidden layer (default: 256)'
    )
    parser.add_argument(
        '--lr',
        type=positive_float,
        default=2e-4,
        help='Adam alpha for both networks (default: 2e-4)',
    )
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the pictures (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    if args.epochs is None:
        args.epochs = 3 if args.smoke else 25
    check_at_least_one(parser, args, 'epochs', 'batch_size')
    losses_path = os.path.join(args.out, LOSSES_NAME)
    earlier = numbered_files(args.out, SAMPLES_NAME)  # every epoch's, read at once
    samples = [path for epoch, path in earlier.items() if epoch <= args.epochs]
    check_output_files(parser, samples + [losses_path])

    (x, _), _ = load_or_generate(args)
    needed = memory_needed(args.latent, args.hidden, min(args.batch_size, len(x)))
    exit_unless_memory_fits(args, needed, 'latent', 'hidden')
    print(f'training on {len(x)} images')
    os.makedirs(args.out, exist_ok=True)
    written = set()  # the pictures this run saves
    with out_of_memory_exits(args, 'latent'):  # the noise of the 64 samples drawn each epoch
        noise = np.random.default_rng(args.seed).standard_normal((64, args.latent))
        z_fixed = noise.astype(np.float32)
    width = len(str(args.epochs))
    plt = pyplot('pictures')
    unsaved = []  # the epochs whose samples are not numbers: the weights overflowed

    def report(epoch, G, f):
        print(
            f'epoch {epoch:{width}d}/{args.epochs}  D loss {f["d_loss"]:.4f}  '
            f'G loss {f["g_loss"]:.4f}  D acc {f["d_acc"]:.3f}  '
            f'D(x) {f["d_real"]:.3f}  D(G(z)) {f["d_fake"]:.3f}',
            flush=True,
        )
        path = sample_path(args.out, epoch)
        images = sample(G, z_fixed)
        if not np.isfinite(images).all():
            unsaved.append(epoch)
        elif plt is not None:
            save_samples(plt, images, path, f'GAN samples after epoch {epoch}')
            written.add(path)
            print(f'saved {path}')

    start = time.perf_counter()
    with out_of_memory_exits(args, 'latent', 'hidden'):
        _, _, history = train(
            x,
            args.epochs,
            args.batch_size,
            args.latent,
            args.hidden,
            args.lr,
            seed=args.seed,
            on_epoch=report,
        )
    print(f'trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s')
    skipped = None
    if unsaved:
        skipped = f'no samples from epoch {unsaved[0]} on: the weights are no longer numbers'
    diverged = training_diverged(history, args.lr, parser.get_default('lr'), skipped=skipped)
    if plt is not None:
        save_losses(plt, history, losses_path)
        written.add(losses_path)
        print(f'saved {losses_path}')
    # an earlier run's pictures would lie mixed with this run's: the samples of
    # epochs this run did not reach (or of a run that went well, beside the loss
    # curves of one that diverged)
    remove_stale_files([*earlier.values(), losses_path], written)
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

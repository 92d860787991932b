"""A variational autoencoder of small MLPs that learns a 2-d map of MNIST digits.

    python examples/vae.py --data-dir DIR --holdout 2000 --epochs 30

The encoder maps an image x through a ReLU layer to the mean mu and the log-variance
logvar of a Gaussian q(z|x) over the latent code z (``--latent``, 2 by default); the
decoder maps a code through a ReLU layer to 784 logits, one Bernoulli per pixel.  Each
training step:

* draws z = mu + exp(logvar / 2) * eps with eps ~ N(0, 1) from ``np.random`` (the
  reparameterisation trick: the randomness sits in eps, so the gradient flows through
  mu and logvar);
* reconstruction loss: the binary cross entropy of the decoded logits against the
  pixels, summed over the 784 pixels (``F.sigmoid_cross_entropy``, which is stable
  for large logits);
* KL loss: the divergence of q(z|x) from the prior N(0, I), in closed form
  0.5 * sum(exp(logvar) + mu**2 - 1 - logvar) over the latent dimensions;
* minimises their sum averaged over the images (the negative evidence lower bound,
  in nats per image) with Adam.

Each epoch prints the loss with its reconstruction and KL parts and saves an 8x8 grid
of images decoded from the same 64 draws of the prior as ``vae_epoch01.png``,
``vae_epoch02.png``...  At the end the script prints the loss on the held-out images
and saves ``vae_reconstructions.png`` (held-out originals above their reconstructions)
and, for a 2-d latent space, ``vae_latent.png``: where the encoder puts the held-out
digits, coloured by label, next to the images the decoder draws over that plane.
``--latent 16`` gives sharper samples but no map.  The script first removes the
pictures of these names that an earlier run left in ``--out``, saying how many, so
that the folder holds this run's pictures only.
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
from dezero import DataLoader, Model, optimizers

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


class VAE(Model):
    """Encoder x (N, 784) -> (mu, logvar), each (N, latent); decoder z -> 784 logits.
    Both have one ReLU layer of ``hidden`` units."""

    def __init__(self, latent=2, hidden=256):
        super().__init__()
        self.enc = L.Linear(hidden)
        self.enc_mu = L.Linear(latent)
        self.enc_logvar = L.Linear(latent)
        self.dec = L.Linear(hidden)
        self.dec_out = L.Linear(784)

    def encode(self, x):
        """The mean and log-variance of q(z|x)."""
        h = F.relu(self.enc(x))
        return self.enc_mu(h), self.enc_logvar(h)

    def decode(self, z):
        """The logits of the 784 pixels for the codes ``z``."""
        return self.dec_out(F.relu(self.dec(z)))

    def forward(self, x):
        """Decoded logits of a code drawn from q(z|x), with mu and logvar."""
        mu, logvar = self.encode(x)
        return self.decode(reparameterize(mu, logvar)), mu, logvar


def reparameterize(mu, logvar):
    """A draw z = mu + exp(logvar / 2) * eps, with eps ~ N(0, 1) from ``np.random``:
    differentiable in mu and logvar (dz/dmu = 1, dz/dlogvar = exp(logvar / 2) eps / 2)."""
    eps = np.random.randn(*mu.shape).astype(mu.dtype)
    return mu + F.exp(logvar * 0.5) * eps


def kl_divergence(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, 1)) summed over the latent dimensions and
    averaged over the batch: sum(exp(logvar) + mu**2 - 1 - logvar) / 2 / N."""
    return F.sum(F.exp(logvar) + mu * mu - 1.0 - logvar) * (0.5 / len(mu))


def losses(model, x):
    """The reconstruction loss (binary cross entropy summed over the pixels) and the KL
    loss of a batch, both averaged per image, as 0-d Variables."""
    logits, mu, logvar = model(x)
    return F.sigmoid_cross_entropy(logits, x), kl_divergence(mu, logvar)


def train(x, epochs=30, batch_size=100, latent=2, hidden=256, lr=1e-3, seed=0, on_epoch=None):
    """Train a VAE on the images ``x`` (N, 784) in [0, 1] with Adam.  After each epoch
    ``on_epoch(epoch, model, figures)`` is called, if given, with that epoch's averages.
    Returns the model and the history: per-epoch lists of ``loss``, ``rec`` and ``kl``."""
    np.random.seed(seed)
    model = VAE(latent, hidden)
    optimizer = optimizers.Adam(lr).setup(model)
    loader = DataLoader((x, None), batch_size, shuffle=True)
    history = {'loss': [], 'rec': [], 'kl': []}
    for epoch in range(1, epochs + 1):
        sum_rec = sum_kl = 0.0
        for xb, _ in loader:
            rec, kl = losses(model, xb)
            loss = rec + kl
            model.cleargrads()
            loss.backward()
            optimizer.update()
            sum_rec += float(rec.data) * len(xb)
            sum_kl += float(kl.data) * len(xb)
        figures = {
            'loss': (sum_rec + sum_kl) / len(x),
            'rec': sum_rec / len(x),
            'kl': sum_kl / len(x),
        }
        for name, value in figures.items():
            history[name].append(value)
        if on_epoch is not None:
            on_epoch(epoch, model, figures)
    return model, history


def evaluate(model, x, batch_size=1000):
    """The average reconstruction and KL losses per image over ``x``, without a graph
    (codes are drawn as in training): a dict ``{'loss', 'rec', 'kl'}``."""
    sum_rec = sum_kl = 0.0
    with dezero.no_grad(), dezero.test_mode():
        for i in range(0, len(x), batch_size):
            rec, kl = losses(model, x[i : i + batch_size])
            n = len(x[i : i + batch_size])
            sum_rec += float(rec.data) * n
            sum_kl += float(kl.data) * n
    return {'loss': (sum_rec + sum_kl) / len(x), 'rec': sum_rec / len(x), 'kl': sum_kl / len(x)}


def decode_images(model, z):
    """The decoder's images (pixel probabilities, N x 784) for the codes ``z``."""
    with dezero.no_grad(), dezero.test_mode():
        return F.sigmoid(model.decode(z)).data


def reconstruct(model, x):
    """Reconstructions of ``x`` from the mean codes mu (no sampling)."""
    with dezero.no_grad(), dezero.test_mode():
        mu, _ = model.encode(x)
        return F.sigmoid(model.decode(mu)).data


def latent_grid(steps=15, limit=2.5):
    """A ``steps`` x ``steps`` grid of 2-d codes over [-limit, limit]², row by row from
    the top (largest z2) and left to right (growing z1): shape (steps**2, 2), float32."""
    ticks = np.linspace(-limit, limit, steps, dtype=np.float32)
    z1, z2 = np.meshgrid(ticks, ticks[::-1])
    return np.stack([z1.ravel(), z2.ravel()], axis=1)


# ---- pictures (``plt`` is matplotlib.pyplot) ------------------------------------------


def save_reconstructions(plt, originals, reconstructions, path, cols=12):
    """Save rows of originals, each above the row of their reconstructions."""
    cols = min(cols, len(originals))
    n = len(originals) - len(originals) % cols
    pairs = np.concatenate(
        [
            np.stack([originals[i : i + cols], reconstructions[i : i + cols]])
            for i in range(0, n, cols)
        ]
    ).reshape(-1, 784)
    fig, ax = plt.subplots(figsize=(cols * 0.6, 0.6 + 0.6 * len(pairs) // cols))
    ax.imshow(tile(pairs, cols), cmap='gray', vmin=0, vmax=1, interpolation='nearest')
    ax.set_title('held-out digits (odd rows) and their reconstructions (even rows)', fontsize=10)
    ax.axis('off')
    fig.tight_layout()
    save_figure(fig, path, dpi=90)


def save_latent_map(plt, model, x, t, path, steps=15, limit=2.5):
    """Two panels: the mean codes of ``x`` coloured by the labels ``t``, and the
    decoder's images over a grid of codes covering [-limit, limit]²."""
    with dezero.no_grad(), dezero.test_mode():
        mu = model.encode(x)[0].data
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.8))
    points = left.scatter(mu[:, 0], mu[:, 1], c=t, cmap='tab10', vmin=-0.5, vmax=9.5, s=4)
    fig.colorbar(points, ax=left, ticks=range(10), label='digit')
    left.set_xlim(-limit * 1.2, limit * 1.2)
    left.set_ylim(-limit * 1.2, limit * 1.2)
    left.set_xlabel('z1')
    left.set_ylabel('z2')
    left.set_title('where the encoder puts held-out digits (mu)', fontsize=10)
    left.grid(True, alpha=0.3)
    images = decode_images(model, latent_grid(steps, limit))
    half = limit * (1 + 1 / (steps - 1))  # the grid's pixels centred on codes
    right.imshow(
        tile(images, steps, pad=0), cmap='gray', vmin=0, vmax=1, extent=(-half, half, -half, half)
    )
    right.set_xlabel('z1')
    right.set_ylabel('z2')
    right.set_title('what the decoder draws over the same plane', fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=72)


#: The names of the pictures saved into --out: the samples after each epoch, the
#: reconstructions and (with a 2-d latent space) the map of the latent space.
SAMPLES_NAME = 'vae_epoch{:02d}.png'
RECONSTRUCTIONS_NAME = 'vae_reconstructions.png'
LATENT_MAP_NAME = 'vae_latent.png'


def sample_path(out, epoch):
    """Where the grid of samples after ``epoch`` is saved, in the folder ``out``."""
    return os.path.join(out, SAMPLES_NAME.format(epoch))


def memory_needed(latent, hidden, batch):
    """A rough upper estimate of the bytes that training the VAE with Adam on
    batches of ``batch`` images holds at once (see ``options.training_memory``): the
    encoder, the decoder, and the 64 codes drawn from the prior, in float64 and kept
    in float32."""
    encoder = mlp_memory((784, hidden, 2 * latent), batch)
    decoder = mlp_memory((latent, hidden, 784), batch)
    return encoder + decoder + 64 * latent * (8 + 4)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a small MLP variational autoencoder on MNIST; print the '
        'reconstruction and KL losses per epoch, save samples per epoch, '
        'reconstructions and (2-d latent) a map of the latent space.'
    )
    add_data_options(parser)
    parser.add_argument('--epochs', type=int, default=None, help='default: 30, or 5 with --smoke')
    parser.add_argument('--batch-size', type=int, default=100, help='default: 100')
    parser.add_argument(
        '--latent',
        type=model_size,
        default=2,
        help='size of the latent code (default: 2, drawn as a map)',
    )
    parser.add_argument(
        '--hidden',
        type=model_size,
        default=256,
        help='units of the encoder and decoder layers (default: 256)',
    )
    parser.add_argument(
        '--lr', type=positive_float, default=1e-3, help='Adam alpha (default: 1e-3)'
    )
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the pictures (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    if args.epochs is None:
        args.epochs = 5 if args.smoke else 30
    check_at_least_one(parser, args, 'epochs', 'batch_size')
    reconstructions_path = os.path.join(args.out, RECONSTRUCTIONS_NAME)
    latent_map_path = os.path.join(args.out, LATENT_MAP_NAME)  # with a 2-d code only
    earlier = numbered_files(args.out, SAMPLES_NAME)  # every epoch's, read at once
    check_output_files(
        parser,
        [path for epoch, path in earlier.items() if epoch <= args.epochs]
        + [reconstructions_path]
        + ([latent_map_path] if args.latent == 2 else []),
    )

    (x, _), (x_test, t_test) = load_or_generate(args)
    # the held-out images are encoded all at once for the latent map
    batch = max(min(args.batch_size, len(x)), len(x_test))
    exit_unless_memory_fits(
        args, memory_needed(args.latent, args.hidden, batch), 'latent', 'hidden'
    )
    print(f'training on {len(x)} images, {len(x_test)} held out')
    os.makedirs(args.out, exist_ok=True)
    written = set()  # the pictures this run saves
    with out_of_memory_exits(args, 'latent'):  # the codes of the 64 samples drawn each epoch
        noise = np.random.default_rng(args.seed).standard_normal((64, args.latent))
        z_prior = noise.astype(np.float32)
    width = len(str(args.epochs))
    plt = pyplot('pictures')
    unsaved = []  # the epochs whose samples are not numbers: the weights overflowed

    def report(epoch, model, f):
        print(
            f'epoch {epoch:{width}d}/{args.epochs}  loss {f["loss"]:.2f}  '
            f'reconstruction {f["rec"]:.2f}  KL {f["kl"]:.2f}',
            flush=True,
        )
        images = decode_images(model, z_prior)
        if not np.isfinite(images).all():
            unsaved.append(epoch)
        elif plt is not None:
            path = sample_path(args.out, epoch)
            save_samples(plt, images, path, f'VAE: prior samples after epoch {epoch}')
            written.add(path)
            print(f'saved {path}')

    start = time.perf_counter()
    with out_of_memory_exits(args, 'latent', 'hidden'):
        model, history = train(
            x,
            args.epochs,
            args.batch_size,
            args.latent,
            args.hidden,
            args.lr,
            args.seed,
            on_epoch=report,
        )
        print(f'trained {args.epochs} epochs in {time.perf_counter() - start:.1f} s')
        skipped = 'no reconstructions, no latent map: the weights are no longer numbers'
        if unsaved:
            skipped = f'no samples from epoch {unsaved[0]} on, {skipped}'
        diverged = training_diverged(history, args.lr, parser.get_default('lr'), skipped=skipped)
        held_out = None if diverged else evaluate(model, x_test)
    if held_out is not None:
        print(
            f'held-out loss {held_out["loss"]:.2f}  reconstruction {held_out["rec"]:.2f}  '
            f'KL {held_out["kl"]:.2f}'
        )
    if held_out is not None and plt is not None:
        pairs = reconstruct(model, x_test[:24])
        save_reconstructions(plt, x_test[:24], pairs, reconstructions_path)
        written.add(reconstructions_path)
        print(f'saved {reconstructions_path}')
        if args.latent == 2:
            save_latent_map(plt, model, x_test, t_test, latent_map_path)
            written.add(latent_map_path)
            print(f'saved {latent_map_path}')
    # an earlier run's pictures would lie mixed with this run's: the samples of
    # epochs this run did not reach, a latent map this run did not draw (or the
    # pictures of a run that went well, beside those of one that diverged)
    outputs = [*earlier.values(), reconstructions_path, latent_map_path]
    remove_stale_files(outputs, written)
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

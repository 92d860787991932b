"""Train a small GPT-style transformer on the characters of a text, and let it write.

    python examples/char_transformer.py                 # Tiny Shakespeare, when downloaded
    python examples/char_transformer.py --text FILE --iters 3000
    python examples/char_transformer.py --smoke         # generated text, seconds

The model reads ``--block`` characters and predicts each next one.  Every character
id gets a learned embedding, every position another one; the sum goes through
``--layers`` blocks of

    x = x + MultiHeadAttention(LayerNorm(x), causal)     # each position sees the past only
    x = x + Linear(GELU(Linear(LayerNorm(x))))           # 4x wider in the middle

(GELU in its tanh approximation, as GPT-2 has it; it is faster than the exact one)

and a last LayerNorm and a linear read-out give the scores of the next character.
Training is AdamW (weight decay 0.1, betas 0.9 and 0.99) on random windows of the
first 90% of the text, with the global gradient norm clipped to 1, a linear warm-up of
the learning rate over the first ``--warmup`` iterations and a cosine decay to a tenth
of it over the rest.  The last 10% of the text is held out.

Every ``--every`` iterations the script prints the training loss (mean of the last
iterations), the held-out loss and the learning rate, and a sample the model writes
from a newline.  At the end it saves the loss curves (``char_transformer_loss.png``),
a longer sample (``char_transformer_sample.txt``) and the weights
(``char_transformer.npz``) into ``--out``.  Losses are in nats per character: a model
that guesses uniformly among V characters has log(V).  A loss that is no longer a
finite number (the usual sign of too large a ``--lr``) stops the training: the script
says so, saves the loss curves only, as the weights are no longer numbers either, and
exits with status 1.

By default the text is the book's Tiny Shakespeare (``dezero.datasets.Shakespeare``)
when its file is already in the downloads folder; ``--text FILE`` trains on any UTF-8
text.  ``--smoke`` trains a tiny model for seconds on generated sentences.
"""

import argparse
import math
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
from dezero import Model, Parameter, no_grad, test_mode
from dezero.atomic import atomic_write_text
from dezero.datasets import Shakespeare
from dezero.download import downloads_dir
from dezero.optimizers import AdamW, ClipGrad
from dezero.schedules import CosineAnnealingLR, LinearLR

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from options import (
    check_at_least_one,
    check_output_files,
    count_up_to,
    exit_unless_memory_fits,
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
    training_memory,
)
from plotting import pyplot, save_figure

#: The most blocks and attention heads the options take: already far more than a run of
#: this example on a CPU can train.
MAX_LAYERS = MAX_HEADS = 1000

#: The files saved into --out: a longer sample, the weights and the loss curves.
SAMPLE_FILE = 'char_transformer_sample.txt'
WEIGHTS_FILE = 'char_transformer.npz'
CURVE_FILE = 'char_transformer_loss.png'


# ---- the model ---------------------------------------------------------------------------
class Block(Model):
    """Pre-norm transformer block: causal self-attention, then a GELU MLP, each added
    to its input."""

    def __init__(self, embed, heads):
        super().__init__()
        self.ln1 = L.LayerNorm()
        self.attention = L.MultiHeadAttention(embed, heads)
        self.ln2 = L.LayerNorm()
        self.widen = L.Linear(4 * embed)
        self.narrow = L.Linear(embed)

    def forward(self, x):
        n, t, e = x.shape
        x = x + self.attention(self.ln1(x), is_causal=True)
        h = F.reshape(self.ln2(x), (n * t, e))  # Linear takes (rows, features)
        h = self.narrow(F.gelu(self.widen(h), approximate='tanh'))  # GPT-2's GELU
        return x + F.reshape(h, (n, t, e))


class CharTransformer(Model):
    """Character ids (N, T) -> scores of the next character (N*T, vocab)."""

    def __init__(self, vocab, block, embed, heads, layers):
        super().__init__()
        self.token = L.EmbedID(vocab, embed)
        position = np.random.randn(block, embed).astype(np.float32) * 0.02
        self.position = Parameter(position, name='position')
        self.blocks = [Block(embed, heads) for _ in range(layers)]
        self.ln = L.LayerNorm()
        self.head = L.Linear(vocab)

    def forward(self, ids):
        n, t = ids.shape
        x = self.token(ids) + self.position[:t]
        for block in self.blocks:
            x = block(x)
        return self.head(F.reshape(self.ln(x), (n * t, -1)))


# ---- the text ----------------------------------------------------------------------------
class Text:
    """A text as int64 character ids (``ids``), split into a training part (the first
    90%) and a held-out part, with ``chars`` the characters in id order."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        index = {c: i for i, c in enumerate(self.chars)}
        self.ids = np.array([index[c] for c in text], dtype=np.int64)
        cut = int(len(self.ids) * 0.9)
        self.train, self.held_out = self.ids[:cut], self.ids[cut:]

    def decode(self, ids):
        return ''.join(self.chars[i] for i in ids)

    def windows(self, part, batch, block, rng):
        """``batch`` random windows of ``block`` ids of ``part`` and, for each, the
        ids one position later: two int64 arrays (batch, block)."""
        starts = rng.integers(0, len(part) - block, batch)
        x = np.stack([part[s : s + block] for s in starts])
        t = np.stack([part[s + 1 : s + block + 1] for s in starts])
        return x, t


def generated_sentences(n_chars, seed=0):
    """Sentences of a tiny grammar ('the cat sees a red ball.'), ``n_chars`` long:
    regular enough that a small model learns them in seconds."""
    rng = np.random.default_rng(seed)
    nouns = ['cat', 'dog', 'bird', 'ball', 'tree', 'house']
    verbs = ['sees', 'likes', 'finds', 'wants']
    colours = ['red', 'green', 'blue', 'small', 'big']
    pieces, size = [], 0
    while size < n_chars:
        words = [
            'the',
            str(rng.choice(nouns)),
            str(rng.choice(verbs)),
            str(rng.choice(['a', 'the'])),
        ]
        words += [str(rng.choice(colours)), str(rng.choice(nouns))]
        sentence = ' '.join(words) + '.\n'
        pieces.append(sentence)
        size += len(sentence)
    return ''.join(pieces)[:n_chars]


def read_text(args):
    """The text to train on: generated with ``--smoke``, the file ``--text``, or Tiny
    Shakespeare from the downloads folder.  Exits with status 1 when there is none."""
    if args.smoke:
        return generated_sentences(20_000), 'generated sentences'
    path = args.text or os.path.join(downloads_dir(), Shakespeare.file_name)
    name = os.path.basename(sys.argv[0])
    if not os.path.isfile(path):
        problem = 'is a folder' if os.path.isdir(path) else 'does not exist'
        print(
            f'{name}: no text to train on: {path} {problem}. Give a UTF-8 text file '
            f'with --text FILE, download Tiny Shakespeare with '
            f'dezero.datasets.Shakespeare(), or run with --smoke',
            file=sys.stderr,
        )
        raise SystemExit(1)
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        print(f'{name}: cannot read {path} as UTF-8 text: {e}', file=sys.stderr)
        raise SystemExit(1) from None
    return text, path


# ---- training ----------------------------------------------------------------------------
def memory_needed(args, vocab):
    """A rough upper estimate of the bytes that training the model of the options
    ``args`` on a text of ``vocab`` characters holds at once (see
    ``options.training_memory``): per block the attention's four projections and the
    MLP's two layers, 12 embed² weights; per position of a batch and block some 60
    numbers per embedding unit, and the attention weights of every head over the
    context, with their gradients."""
    e, t = args.embed, args.block
    parameters = args.layers * (12 * e * e + 13 * e) + (2 * vocab + t + 2) * e + vocab
    per_position = args.layers * (60 * e + 4 * args.heads * t) + 3 * (vocab + e)
    return training_memory(parameters, args.batch * t * per_position)


def loss_of(model, x, t):
    return F.softmax_cross_entropy(model(x), t.reshape(-1))


def held_out_loss(model, text, args, rng, batches=4):
    """The mean loss over a few random windows of the held-out text."""
    with test_mode(), no_grad():
        losses = [
            float(loss_of(model, *text.windows(text.held_out, args.batch, args.block, rng)).data)
            for _ in range(batches)
        ]
    return sum(losses) / len(losses)


def sample(model, text, length, block, rng, temperature=0.8, start='\n'):
    """``length`` characters written by the model after ``start``, each drawn from the
    softmax of its scores divided by ``temperature``."""
    ids = [text.chars.index(start) if start in text.chars else 0]
    with test_mode(), no_grad():
        for _ in range(length):
            context = np.array([ids[-block:]])
            scores = model(context).data[-1].astype(np.float64) / temperature
            p = np.exp(scores - scores.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    return text.decode(ids[1:])


def train(model, text, args, history, log=print):
    """Train ``model`` for ``args.iters`` iterations, appending to the lists of
    ``history`` (``iteration``, ``loss``, ``val_loss``, ``lr``) the iteration, the mean
    training loss, the held-out loss and the learning rate of every report.  Training
    stops at the first loss that is not a finite number (too large a learning rate
    makes it overflow): the weights are then no longer finite either.  The last report
    is that iteration's: a training loss that is not finite (and a held-out loss of
    NaN, not measured), or a held-out loss that is not finite."""
    rng = np.random.default_rng(args.seed)
    optimizer = AdamW(lr=args.lr, betas=(0.9, 0.99), weight_decay=0.1).setup(model)
    optimizer.add_hook(ClipGrad(1.0))
    warmup = min(args.warmup, args.iters)
    schedule = LinearLR(optimizer, start_factor=1 / max(warmup, 1), total_iters=warmup)

    def report(it, *figures):  # the loss, the held-out loss and the learning rate
        history['iteration'].append(it)
        for key, value in zip(('loss', 'val_loss', 'lr'), figures):
            history[key].append(float(value))

    recent, start, lr = [], time.perf_counter(), optimizer.lr
    for it in range(1, args.iters + 1):
        loss = loss_of(model, *text.windows(text.train, args.batch, args.block, rng))
        value = float(loss.data)
        if not math.isfinite(value):
            report(it, value, math.nan, lr)
            return
        lr = optimizer.lr
        model.cleargrads()
        loss.backward()
        optimizer.update()
        recent.append(value)
        schedule.step()
        if it == warmup:  # from the peak down to a tenth of it
            schedule = CosineAnnealingLR(
                optimizer, T_max=max(args.iters - warmup, 1), eta_min=args.lr / 10
            )
        if it % args.every == 0 or it == args.iters:
            val = held_out_loss(model, text, args, rng)
            report(it, np.mean(recent), val if math.isfinite(val) else math.nan, lr)
            log(
                f'iter {it:>5}/{args.iters}  loss {np.mean(recent):.3f}  held-out {val:.3f}  '
                f'lr {lr:.2e}  {time.perf_counter() - start:6.1f} s'
            )
            if not math.isfinite(val):
                return
            recent = []
            if it % (args.every * 5) == 0 or it == args.iters:
                log('  | ' + sample(model, text, 160, args.block, rng).replace('\n', '\n  | '))


def save_outputs(model, text, history, args, rng):
    """A longer sample, the weights and the loss curves, in ``args.out``, each file
    written whole or not at all; returns their paths."""
    os.makedirs(args.out, exist_ok=True)
    sample_path = os.path.join(args.out, SAMPLE_FILE)
    atomic_write_text(sample_path, sample(model, text, 1000, args.block, rng))
    weights = os.path.join(args.out, WEIGHTS_FILE)
    saved = save_trained_weights(model, weights, args.smoke)
    curve = save_curve(text, history, args)
    return [sample_path] + ([weights] if saved else []) + ([curve] if curve else [])


def save_curve(text, history, args):
    """The training and held-out loss of every report, in ``args.out``; returns its
    path, or None without matplotlib."""
    plt = pyplot('loss curve')
    if plt is None:
        return None
    os.makedirs(args.out, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(history['iteration'], history['loss'], marker='.', label='training')
    ax.plot(history['iteration'], history['val_loss'], marker='.', label='held-out')
    ax.axhline(math.log(len(text.chars)), color='grey', ls=':', label='uniform guess')
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss (nats per character)')
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    curve = os.path.join(args.out, CURVE_FILE)
    save_figure(fig, curve, dpi=100)
    return curve


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a small character-level transformer on a text and print what it writes.'
    )
    parser.add_argument(
        '--text', default=None, help='a UTF-8 text file (default: Tiny Shakespeare)'
    )
    parser.add_argument('--smoke', action='store_true', help='a seconds-long run on generated text')
    parser.add_argument('--iters', type=int, default=None, help='default: 2000 (--smoke: 150)')
    parser.add_argument('--batch', type=model_size, default=None, help='default: 32 (--smoke: 16)')
    parser.add_argument(
        '--block',
        type=model_size,
        default=None,
        help='context length; default: 64 (--smoke: 32)',
    )
    parser.add_argument('--embed', type=model_size, default=None, help='default: 128 (--smoke: 32)')
    parser.add_argument(
        '--heads',
        type=count_up_to(MAX_HEADS),
        default=None,
        help=f'attention heads, up to {MAX_HEADS}; default: 4 (--smoke: 2)',
    )
    parser.add_argument(
        '--layers',
        type=count_up_to(MAX_LAYERS),
        default=None,
        help=f'transformer blocks, up to {MAX_LAYERS}; default: 4 (--smoke: 2)',
    )
    parser.add_argument('--lr', type=positive_float, default=3e-3, help='peak learning rate (3e-3)')
    parser.add_argument('--warmup', type=int, default=None, help='default: 100 (--smoke: 20)')
    parser.add_argument(
        '--every',
        type=int,
        default=None,
        help='report every N iterations; default: 100 (--smoke: 25)',
    )
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the outputs (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['text'])
    small = args.smoke
    defaults = dict(
        iters=150 if small else 2000,
        batch=16 if small else 32,
        block=32 if small else 64,
        embed=32 if small else 128,
        heads=2 if small else 4,
        layers=2 if small else 4,
        warmup=20 if small else 100,
        every=25 if small else 100,
    )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    check_at_least_one(parser, args, *defaults)
    if args.embed % args.heads:
        parser.error(f'--embed ({args.embed}) must be a multiple of --heads ({args.heads})')
    outputs = [os.path.join(args.out, name) for name in (SAMPLE_FILE, WEIGHTS_FILE, CURVE_FILE)]
    check_output_files(parser, outputs, {'--text': args.text})

    raw, source = read_text(args)
    text = Text(raw)
    if len(text.held_out) <= args.block + 1:
        parser.error(f'the text is too short for --block {args.block}: {len(raw)} characters')
    print(
        f'{source}: {len(raw):,} characters, {len(text.chars)} distinct '
        f'(a uniform guess has loss {math.log(len(text.chars)):.3f})'
    )
    sizes = ('embed', 'layers', 'block', 'batch')
    exit_unless_memory_fits(args, memory_needed(args, len(text.chars)), *sizes)
    np.random.seed(args.seed)  # the initial weights
    history = {'iteration': [], 'loss': [], 'val_loss': [], 'lr': []}
    with out_of_memory_exits(args, *sizes):
        model = CharTransformer(len(text.chars), args.block, args.embed, args.heads, args.layers)
        start = time.perf_counter()
        train(model, text, args, history)
    losses = {'loss': history['loss'], 'held-out loss': history['val_loss']}
    skipped = 'no sample written, no weights saved: they are no longer numbers'
    at = dict(unit='iteration', steps=history['iteration'])
    diverged = training_diverged(losses, args.lr, parser.get_default('lr'), **at, skipped=skipped)
    if diverged:
        curve = save_curve(text, history, args)
        written = [curve] if curve else []
    else:
        print(
            f'trained {args.iters} iterations in {time.perf_counter() - start:.1f} s: '
            f'training loss {history["loss"][-1]:.3f}, '
            f'held-out loss {history["val_loss"][-1]:.3f}'
        )
        rng = np.random.default_rng(args.seed + 1)
        written = save_outputs(model, text, history, args, rng)
    for path in written:
        print(f'saved {path}')
    # an earlier run's sample would lie beside the loss curve of this one; its weights stay
    weights = os.path.join(args.out, WEIGHTS_FILE)
    remove_stale_files(outputs, [*written, weights])
    if diverged:
        note_earlier_weights([weights])
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))

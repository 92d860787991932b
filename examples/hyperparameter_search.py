"""Choose the learning rate and the weight decay of an MLP by random or grid search,
scoring every trial on a validation split and touching the test split only once.

    python examples/hyperparameter_search.py --data-dir DIR --holdout 2000 --trials 20
    python examples/hyperparameter_search.py --data-dir DIR --holdout 2000 --grid

The model is ``MLP((100, 10))`` with ReLU, trained with Adam; weight decay is L2
regularisation added to the gradient (``optimizers.WeightDecay``).  Both are searched on
a log scale: ``--trials`` settings drawn log-uniformly from ``--lr-range`` and
``--wd-range`` (random search, the default), or with ``--grid`` every pair of
``--grid-size`` log-spaced values per axis (the default ranges and size give the
decades 1e-4 ... 1e-1 and 1e-5 ... 1e-2).

The data is split three ways and the script keeps them apart:

* the last ``--val-fraction`` (20%) of the training part is the validation split; every
  trial trains ``--epochs`` epochs on the rest and is scored by its validation accuracy;
* the best setting is then trained once more on the whole training part (training plus
  validation images);
* only that final model sees the test split, exactly once, in :func:`final_test`, the
  one function the test arrays are handed to.  Choosing by test accuracy would make the
  reported figure optimistic: it would no longer measure unseen data.

The script prints a line per trial, a table sorted by validation accuracy (best
first), the best setting and its test accuracy, and saves a picture of the validation
accuracy over the (learning rate, weight decay) plane into ``--out``: a scatter on log
axes for random search (``hyperparameter_search_random.png``) or a heat map for grid
search (``hyperparameter_search_grid.png``).
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
from dezero import DataLoader, Trainer, optimizers
from dezero.models import MLP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_data import add_data_options, load_or_generate
from options import (
    check_at_least_one,
    check_output_files,
    count_up_to,
    exit_unless_memory_fits,
    mlp_memory,
    model_size,
    out_of_memory_exits,
    output_folder,
    parse_options,
    positive_float,
    random_seed,
    remove_stale_files,
    run_main,
)
from plotting import pyplot, save_figure

LR_RANGE = (1e-4, 1e-1)
WD_RANGE = (1e-5, 1e-2)

#: The most trials of a random search, and values per axis of a grid (MAX_GRID_SIZE**2
#: trials): each trial trains a network, and this many already take hours.
MAX_TRIALS = 10_000
MAX_GRID_SIZE = 100


# ---- the settings to try ------------------------------------------------------------
def random_settings(n, lr_range=LR_RANGE, wd_range=WD_RANGE, seed=0):
    """``n`` settings ``{'lr': ..., 'weight_decay': ...}`` drawn log-uniformly: the
    logarithm of each value is uniform between the logarithms of its range's ends."""
    rng = np.random.default_rng(seed)
    lrs = np.exp(rng.uniform(np.log(lr_range[0]), np.log(lr_range[1]), n))
    wds = np.exp(rng.uniform(np.log(wd_range[0]), np.log(wd_range[1]), n))
    return [{'lr': float(lr), 'weight_decay': float(wd)} for lr, wd in zip(lrs, wds)]


def grid_settings(size, lr_range=LR_RANGE, wd_range=WD_RANGE):
    """Every pair of ``size`` log-spaced learning rates and ``size`` log-spaced weight
    decays, both ends included: ``size**2`` settings, learning rate varying fastest."""
    lrs = np.geomspace(lr_range[0], lr_range[1], size)
    wds = np.geomspace(wd_range[0], wd_range[1], size)
    return [{'lr': float(lr), 'weight_decay': float(wd)} for wd in wds for lr in lrs]


# ---- data -----------------------------------------------------------------------------
def split_validation(x, t, fraction=0.2):
    """Split the training part in two: the first images to train on and the last
    ``fraction`` of them (at least one) for validation.  Returns (x, t), (x_val, t_val)
    as views of the given arrays."""
    if not 0 < fraction < 1:
        raise ValueError(f'split_validation: fraction must be in (0, 1), got {fraction}')
    n_val = max(1, int(round(len(x) * fraction)))
    if n_val >= len(x):
        raise ValueError(
            f'split_validation: {len(x)} images are too few to keep {n_val} for validation'
        )
    cut = len(x) - n_val
    return (x[:cut], t[:cut]), (x[cut:], t[cut:])


# ---- training and scoring -------------------------------------------------------------
def train(setting, data, epochs=5, hidden=100, batch_size=100, seed=0):
    """Train ``MLP((hidden, 10))`` (ReLU) with Adam at ``setting['lr']`` and L2 weight
    decay ``setting['weight_decay']`` on ``data`` = (x, t); return the Trainer.  The
    same ``seed`` gives every setting the same initial weights and batch order."""
    np.random.seed(seed)
    model = MLP((hidden, 10), activation=F.relu)
    optimizer = optimizers.Adam(setting['lr']).setup(model)
    optimizer.add_hook(optimizers.WeightDecay(setting['weight_decay']))
    trainer = Trainer(model, optimizer)
    trainer.fit(DataLoader(data, batch_size, shuffle=True), epochs, progress=False)
    return trainer


def search(
    settings, train_data, val_data, epochs=5, hidden=100, batch_size=100, seed=0, report=print
):
    """Train one model per setting on ``train_data`` and score it on ``val_data``.
    Returns the results, best validation accuracy first (ties: lower validation loss),
    the trials that diverged (a validation loss that is no longer a number) last
    whatever their accuracy: dicts with the setting's ``lr`` and ``weight_decay`` and
    ``val_acc``, ``val_loss``."""
    results = []
    for i, setting in enumerate(settings, 1):
        trainer = train(setting, train_data, epochs, hidden, batch_size, seed)
        scores = trainer.evaluate(DataLoader(val_data, 1000, shuffle=False))
        results.append({**setting, 'val_acc': scores['acc'], 'val_loss': scores['loss']})
        if report:
            report(
                f'trial {i:{len(str(len(settings)))}d}/{len(settings)}  '
                f'lr {setting["lr"]:.2e}  weight decay {setting["weight_decay"]:.2e}  '
                f'val acc {scores["acc"]:.4f}'
            )
    return sorted(
        results, key=lambda r: (not math.isfinite(r['val_loss']), -r['val_acc'], r['val_loss'])
    )


def final_test(setting, train_data, test_data, epochs=5, hidden=100, batch_size=100, seed=0):
    """Train ``setting`` on all of ``train_data`` and evaluate it once on
    ``test_data``: the only place the test split is used.  Returns the test scores
    ``{'loss': ..., 'acc': ...}``."""
    trainer = train(setting, train_data, epochs, hidden, batch_size, seed)
    return trainer.evaluate(DataLoader(test_data, 1000, shuffle=False))


def format_table(results):
    """The results as a text table, one row per trial in the given order."""
    lines = ['rank  learning rate  weight decay  val acc  val loss']
    for rank, r in enumerate(results, 1):
        lines.append(
            f'{rank:4d}  {r["lr"]:13.2e}  {r["weight_decay"]:12.2e}  '
            f'{r["val_acc"]:7.4f}  {r["val_loss"]:8.4f}'
        )
    return '\n'.join(lines)


# ---- picture --------------------------------------------------------------------------
def save_map(results, path, grid):
    """Validation accuracy over the (learning rate, weight decay) plane: a heat map for
    a grid search (best cell framed in red), else a scatter on log axes (best setting
    starred).  Returns False without matplotlib."""
    plt = pyplot('heat map')
    if plt is None:
        return False
    best = results[0]
    fig, ax = plt.subplots(figsize=(6, 4.6))
    if grid:
        lrs = sorted({r['lr'] for r in results})
        wds = sorted({r['weight_decay'] for r in results})
        acc = np.full((len(wds), len(lrs)), np.nan)
        for r in results:
            acc[wds.index(r['weight_decay']), lrs.index(r['lr'])] = r['val_acc']
        image = ax.imshow(acc, origin='lower', cmap='viridis', aspect='auto')
        for (i, j), value in np.ndenumerate(acc):
            ax.text(
                j,
                i,
                f'{value:.3f}',
                ha='center',
                va='center',
                fontsize=8,
                color='white' if value < np.nanmean(acc) else 'black',
            )
        ax.set_xticks(range(len(lrs)))
        ax.set_xticklabels([f'{v:.0e}' for v in lrs])
        ax.set_yticks(range(len(wds)))
        ax.set_yticklabels([f'{v:.0e}' for v in wds])
        ax.add_patch(
            plt.Rectangle(
                (lrs.index(best['lr']) - 0.5, wds.index(best['weight_decay']) - 0.5),
                1,
                1,
                fill=False,
                edgecolor='red',
                linewidth=2.5,
            )
        )
        ax.set_title('grid search: validation accuracy')
    else:
        image = ax.scatter(
            [r['lr'] for r in results],
            [r['weight_decay'] for r in results],
            c=[r['val_acc'] for r in results],
            cmap='viridis',
            s=60,
            edgecolors='k',
            linewidths=0.5,
        )
        ax.scatter(
            [best['lr']],
            [best['weight_decay']],
            marker='*',
            s=300,
            facecolors='none',
            edgecolors='red',
            label='best',
        )
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.legend(loc='upper left')
        ax.grid(True, alpha=0.3)
        ax.set_title('random search: validation accuracy')
    ax.set_xlabel('learning rate (Adam)')
    ax.set_ylabel('weight decay (L2)')
    fig.colorbar(image, ax=ax, label='validation accuracy')
    fig.tight_layout()
    save_figure(fig, path, dpi=90)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Random or grid search over the learning rate and weight decay of an '
        'MLP on MNIST, scored on a validation split; the best setting is '
        'evaluated once on the test split.'
    )
    add_data_options(parser)
    parser.add_argument('--grid', action='store_true', help='grid search instead of random search')
    parser.add_argument(
        '--trials',
        type=count_up_to(MAX_TRIALS),
        default=20,
        help=f'random search: settings to try, up to {MAX_TRIALS} (default: 20)',
    )
    parser.add_argument(
        '--grid-size',
        type=count_up_to(MAX_GRID_SIZE),
        default=4,
        help=f'grid search: values per axis, up to {MAX_GRID_SIZE} (default: 4)',
    )
    parser.add_argument(
        '--lr-range',
        type=positive_float,
        nargs=2,
        default=LR_RANGE,
        metavar=('LOW', 'HIGH'),
        help='default: 1e-4 1e-1',
    )
    parser.add_argument(
        '--wd-range',
        type=positive_float,
        nargs=2,
        default=WD_RANGE,
        metavar=('LOW', 'HIGH'),
        help='default: 1e-5 1e-2',
    )
    parser.add_argument(
        '--val-fraction',
        type=float,
        default=0.2,
        help='share of the training part kept for validation (default: 0.2, the last 20%%)',
    )
    parser.add_argument('--epochs', type=int, default=5, help='per trial (default: 5)')
    parser.add_argument(
        '--hidden', type=model_size, default=100, help='hidden units (default: 100)'
    )
    parser.add_argument('--batch-size', type=int, default=100, help='default: 100')
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the picture (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    check_at_least_one(parser, args, 'epochs', 'batch_size')
    for name in ('lr_range', 'wd_range'):
        low, high = getattr(args, name)
        if not low < high:  # both positive and finite: see positive_float
            parser.error(f'--{name.replace("_", "-")} needs LOW < HIGH, got {low} {high}')
    if not 0 < args.val_fraction < 1:
        parser.error(f'--val-fraction must be between 0 and 1, got {args.val_fraction}')
    kind = 'grid' if args.grid else 'random'
    map_path = os.path.join(args.out, f'hyperparameter_search_{kind}.png')
    check_output_files(parser, [map_path])

    train_data, test_data = load_or_generate(args)
    batch = max(min(args.batch_size, len(train_data[1])), min(1000, len(test_data[1])))
    exit_unless_memory_fits(args, mlp_memory((784, args.hidden, 10), batch), 'hidden')
    try:
        fit_data, val_data = split_validation(*train_data, args.val_fraction)
    except ValueError:
        parser.error(
            f'--val-fraction {args.val_fraction} of {len(train_data[1])} training images '
            'leaves none to train on'
        )
    print(
        f'training on {len(fit_data[1])} images, validating on {len(val_data[1])}; '
        f'{len(test_data[1])} test images kept for the end'
    )
    if args.grid:
        settings = grid_settings(args.grid_size, args.lr_range, args.wd_range)
    else:
        settings = random_settings(args.trials, args.lr_range, args.wd_range, args.seed)
    hyper = dict(epochs=args.epochs, hidden=args.hidden, batch_size=args.batch_size, seed=args.seed)

    start = time.perf_counter()
    with out_of_memory_exits(args, 'hidden'):
        results = search(settings, fit_data, val_data, **hyper)
    print(
        f'{"grid" if args.grid else "random"} search: {len(results)} trials of '
        f'{args.epochs} epochs in {time.perf_counter() - start:.1f} s'
    )
    print(format_table(results))
    best = results[0]
    if not math.isfinite(best['val_loss']):  # the diverged trials come last
        print(
            f'{os.path.basename(sys.argv[0])}: every trial diverged (validation loss '
            f'{best["val_loss"]}); the learning rates of --lr-range '
            f'{args.lr_range[0]:g} {args.lr_range[1]:g} are likely too large '
            f'(default: {LR_RANGE[0]:g} {LR_RANGE[1]:g}); no best setting, no test',
            file=sys.stderr,
        )
        remove_stale_files([map_path])  # an earlier run's map is not of this one
        return 1
    print(
        f'best setting: lr {best["lr"]:.2e}  weight decay {best["weight_decay"]:.2e}  '
        f'(validation accuracy {best["val_acc"]:.4f})'
    )

    with out_of_memory_exits(args, 'hidden'):
        test_scores = final_test(best, train_data, test_data, **hyper)
    print(
        f'test accuracy of the best setting, retrained on all {len(train_data[1])} '
        f'training images: {test_scores["acc"]:.4f}'
    )

    os.makedirs(args.out, exist_ok=True)
    if save_map(results, map_path, args.grid):
        print(f'saved {map_path}')
    else:  # no matplotlib: an earlier run's map is not of this one either
        remove_stale_files([map_path])
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))

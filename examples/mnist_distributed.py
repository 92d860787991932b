"""Train the MNIST MLP data-parallel on several processes over MPI.

    mpiexec -n 2 python examples/mnist_distributed.py --epochs 5
    mpiexec -f hosts -n 8 python examples/mnist_distributed.py     # several machines
    python examples/mnist_distributed.py --smoke                   # one process works too

Every process holds a copy of ``MLP((hidden, 10))``, reads its own share of each batch
of ``--batch-size`` images (the whole batch: each of N processes gets 1/N of it), and
the gradients are averaged over the processes before every Adam step, so the run
trains as one process on whole batches would.  Rank 0 prints the progress and the
final held-out accuracy and saves the weights into ``--out``.  Needs mpi4py and an
MPI (``pip install -e '.[distributed]'``) for more than one process.  Data options as
in ``mnist.py``; ``--smoke`` trains for seconds on generated digits.  A process that
cannot load its data (or exits with any other error) ends the whole job.
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

from dezero import DataLoader, Trainer, distributed, optimizers
from dezero.models import MLP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_data import add_data_options, load_or_generate
from options import (
    check_at_least_one,
    check_output_files,
    exit_unless_memory_fits,
    mlp_memory,
    model_size,
    note_earlier_weights,
    out_of_memory_exits,
    output_folder,
    parse_options,
    positive_float,
    random_seed,
    run_main,
    save_trained_weights,
    training_diverged,
)


def train(train_data, test_data, comm, epochs=5, hidden=100, lr=0.001, batch_size=100, seed=0):
    """Train ``MLP((hidden, 10))`` with Adam on this process's shares of the batches;
    return the model and the history (figures over all processes)."""
    np.random.seed(seed)
    model = MLP((hidden, 10))
    model(train_data[0][:1])  # create the lazy weights, then take rank 0's
    distributed.broadcast_parameters(model, comm=comm)
    optimizer = distributed.DistributedOptimizer(optimizers.Adam(lr=lr), comm=comm)
    trainer = Trainer(model, optimizer)
    history = trainer.fit(
        DataLoader(train_data, batch_size, seed=seed, shard=comm),
        epochs,
        val_loader=DataLoader(test_data, 1000, shuffle=False, shard=comm),
        progress=True,
    )
    return model, history


def share_of_batch(batch_size, processes):
    """How many images of a batch of ``batch_size`` each of ``processes`` processes
    gets, as text: ``'50'`` for 100 on 2, ``'1 or 2'`` for 3 on 2, ``'0 or 1'`` for 1
    on 2 (the DataLoader cuts every batch into ``processes`` contiguous parts whose
    sizes differ by one image at most)."""
    fewest, left_over = divmod(batch_size, processes)
    return f'{fewest} or {fewest + 1}' if left_over else f'{fewest}'


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Train an MLP on MNIST on several processes (mpiexec -n N ...).'
    )
    add_data_options(parser)
    parser.add_argument('--epochs', type=int, default=5, help='default: 5')
    parser.add_argument(
        '--hidden', type=model_size, default=100, help='hidden units (default: 100)'
    )
    parser.add_argument(
        '--lr', type=positive_float, default=0.001, help='Adam learning rate (0.001)'
    )
    parser.add_argument(
        '--batch-size', type=int, default=100, help='whole batch, all processes (default: 100)'
    )
    parser.add_argument('--seed', type=random_seed, default=0, help='default: 0')
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the weights (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    check_at_least_one(parser, args, 'epochs', 'batch_size')
    weights = os.path.join(args.out, 'mnist_distributed_mlp.npz')
    check_output_files(parser, [weights])

    comm = distributed.init()
    root = comm.rank == 0
    train_data, test_data = load_or_generate(args)
    images = len(train_data[1])
    batch = min(args.batch_size, images)  # a DataLoader's batches hold the data at most
    needed = mlp_memory((784, args.hidden, 10), max(batch, min(1000, len(test_data[1]))))
    exit_unless_memory_fits(args, needed, 'hidden')
    if root:
        capped = ''
        if batch < args.batch_size:
            capped = f' (--batch-size {args.batch_size} capped at the {images} images)'
        print(
            f'{comm.size} process(es): training on {images} images, '
            f'{share_of_batch(batch, comm.size)} per process per batch of {batch}{capped}'
        )
    start = time.perf_counter()
    with out_of_memory_exits(args, 'hidden'):
        model, history = train(
            train_data,
            test_data,
            comm,
            args.epochs,
            args.hidden,
            args.lr,
            args.batch_size,
            args.seed,
        )
    seconds = time.perf_counter() - start
    if root:
        skipped = 'no weights saved: they are no longer numbers'
        if training_diverged(history, args.lr, parser.get_default('lr'), skipped=skipped):
            # an earlier run's weights stay (they may be the only copy): say so
            note_earlier_weights([weights])
            return 1
        print(f'trained in {seconds:.1f} s; final held-out accuracy {history["val_acc"][-1]:.4f}')
        os.makedirs(args.out, exist_ok=True)
        if save_trained_weights(model, weights, args.smoke):
            print(f'saved {weights}')
    return 0


if __name__ == '__main__':
    with distributed.abort_on_exit():  # a process that exits with an error ends the job
        sys.exit(run_main(main))

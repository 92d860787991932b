"""What the examples share for their command lines: argparse types that refuse a bad
value while the options are read, before any work, so that the error names the option
(``error: argument --lr: must be a positive number, got nan``) and the script exits with
status 2; the checks made once the options are read (``--gpu`` without a usable GPU,
an input file given with ``--smoke``); the check of the files a script will write into
``--out``, also before any work; a one-line exit, naming the sizes asked for, when they
do not fit into memory, estimated before the work and caught during it; the removal
of the pictures an earlier run left; the line that says where a training diverged; and
a one-line exit on Ctrl-C or SIGTERM and on a file that cannot be saved.

    parser.add_argument('--lr', type=positive_float, default=0.01)
    parser.add_argument('--seed', type=random_seed, default=0)
    parser.add_argument('--hidden', type=model_size, default=100)
    parser.add_argument('--layers', type=count_up_to(100), default=2)
    parser.add_argument('--out', type=output_folder, default='out')
    args = parse_options(parser, argv, smoke_replaces=['data_dir'])
    check_output_files(parser, [os.path.join(args.out, 'loss.png')])
    exit_unless_memory_fits(args, mlp_memory((784, args.hidden, 10), batch=100), 'hidden')
    with out_of_memory_exits(args, 'hidden'):
        ...  # build the model and train it
    if training_diverged(history, args.lr, 0.01, skipped='no decision boundary drawn'):
        ...  # save the loss curve
        return 1

    if __name__ == '__main__':
        sys.exit(run_main(main))
"""

import _thread
import argparse
import contextlib
import math
import os
import re
import signal
import sys
import tempfile
import threading

from dezero import cuda
from dezero.atomic import check_writable

#: NumPy's random seeds are 32-bit: 0 to 2**32 - 1.
SEED_LIMIT = 2**32

#: The largest size :func:`model_size` accepts.  A layer of 10**8 units on MNIST's 784
#: inputs already needs 300 GB; much larger sizes ask for arrays over NumPy's limit of
#: 2**63 bytes, which it refuses with errors other than MemoryError.
MAX_SIZE = 10**8


def _float(value):
    """``value`` as a float, or an argparse error saying it is not a number."""
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a number, got {value!r}') from None


def finite_float(value):
    """An argparse type: any number but infinity and NaN."""
    number = _float(value)
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f'must be a finite number, got {value}')
    return number


def positive_float(value):
    """An argparse type: a number above 0 and below infinity (a learning rate, a
    tolerance); NaN is refused too."""
    number = _float(value)
    if not 0 < number < math.inf:
        raise argparse.ArgumentTypeError(f'must be a positive number, got {value}')
    return number


def non_negative_float(value):
    """An argparse type: a finite number of 0 or more (a weight decay, a loss weight,
    where 0 turns the term off)."""
    number = _float(value)
    if not 0 <= number < math.inf:
        raise argparse.ArgumentTypeError(f'must be a finite number of 0 or more, got {value}')
    return number


def _int(value):
    """``value`` as an int, or an argparse error saying it is not a whole number."""
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a whole number, got {value!r}') from None


def random_seed(value):
    """An argparse type: a random seed, an integer from 0 to 2**32 - 1 (what
    ``np.random.seed`` accepts)."""
    number = _int(value)
    if not 0 <= number < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f'must be from 0 to {SEED_LIMIT - 1}, got {value}')
    return number


def _whole_number(value, limit):
    """``value`` as an int from 1 to ``limit``, or an argparse error saying so."""
    number = _int(value)
    if not 1 <= number <= limit:
        raise argparse.ArgumentTypeError(f'must be a whole number from 1 to {limit}, got {value}')
    return number


def model_size(value):
    """An argparse type for a size of a network or of its data (the units of a layer,
    the length of a code, the pixels of an image's side): a whole number from 1 to
    ``MAX_SIZE``.  A size that passes and still does not fit into memory is reported
    by :func:`out_of_memory_exits`."""
    return _whole_number(value, MAX_SIZE)


def count_up_to(limit):
    """An argparse type for a count of things to build or to run, one after another
    (layers, attention heads, trials): a whole number from 1 to ``limit``.  A count
    of billions asks for no large array that :func:`out_of_memory_exits` could report:
    the script would build or run one thing after another for days; the limit refuses
    it while the options are read."""

    def count(value):
        return _whole_number(value, limit)

    return count


def folder_path(value):
    """An argparse type for ``--data-dir``: a folder, or a path where one can be made
    (the scripts make it when they have something to write).  Refused: the empty
    string, a path that exists and is not a folder, and a path where no folder can be
    made: a file on the way (``notes.txt/out``), a folder without write permission on
    the way, a file system that takes no new folders (``/proc/out``).  To find that
    out, the missing folders are made and at once removed."""
    if not value:
        raise argparse.ArgumentTypeError('expected a folder, got an empty string')
    path = os.path.abspath(value)
    if os.path.lexists(path):
        if not os.path.isdir(path):
            raise argparse.ArgumentTypeError(f'{value} exists and is not a folder')
        return value
    above = os.path.dirname(path)
    while not os.path.lexists(above):  # the nearest part of the path that exists
        above = os.path.dirname(above)
    if not os.path.isdir(above):
        raise argparse.ArgumentTypeError(f'cannot make {value}: {above} is not a folder')
    try:
        os.makedirs(path, exist_ok=True)  # exists: made at once by another process
    except OSError as error:
        raise argparse.ArgumentTypeError(f'cannot make {value}: {error.strerror}') from None
    finally:
        _remove_folders(path, above)
    return value


def _remove_folders(path, above):
    """Remove the empty folder ``path`` and the ones above it, up to the folder
    ``above`` (kept): the folders :func:`folder_path` found missing and made to find
    out that it could: those of them that are there (a failed try makes only some),
    stopping at one that cannot be removed (something was put in it)."""
    while path != above:
        if os.path.isdir(path):
            try:
                os.rmdir(path)
            except OSError:
                return
        path = os.path.dirname(path)


def output_folder(value):
    """An argparse type for ``--out``: a :func:`folder_path` that can take files now.
    An existing folder must let a new folder be made in it (one is made and at once
    removed), so that a folder without write permission, or ``/proc``, is refused
    before the work rather than when its results are saved."""
    folder_path(value)
    if os.path.isdir(value):
        try:
            os.rmdir(tempfile.mkdtemp(prefix='.write-check-', dir=value))
        except OSError as error:
            raise argparse.ArgumentTypeError(
                f'cannot write into {value}: {error.strerror}'
            ) from None
    return value


def parse_options(parser, argv=None, smoke_replaces=()):
    """Read the options ``argv`` (by default the command line's) with ``parser``, then
    make the checks that need all of them, refusing through ``parser.error`` (exit
    status 2) before any work:

    * an option of ``smoke_replaces`` (attribute names: ``'data_dir'`` is
      ``--data-dir``) given together with ``--smoke``, whose run uses generated data
      in its place and would ignore it.  These options must default to None, so that
      every value given is seen;
    * ``--gpu``, where the parser has it, when no GPU can be used: the message says
      why (CuPy missing, no CUDA device) and how to install CuPy.

    Returns the namespace that ``parser.parse_args`` returns."""
    args = parser.parse_args(argv)
    if getattr(args, 'smoke', False):
        for name in smoke_replaces:
            if getattr(args, name) is not None:
                parser.error(
                    f'argument {_flag(name)}: not allowed with argument --smoke, which '
                    'runs on generated data in its place'
                )
    if getattr(args, 'gpu', False):
        try:
            cuda.require_gpu('--gpu')
        except RuntimeError as error:
            parser.error(str(error))
    return args


def check_at_least_one(parser, args, *names):
    """Refuse through ``parser.error`` (exit status 2) the first of the options
    ``names`` (attributes of ``args``, such as ``'batch_size'``) below 1, naming it and
    its value; an option left None passes."""
    for name in names:
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'{_flag(name)} must be 1 or more, got {value}')


def check_output_files(parser, paths, inputs=None):
    """Refuse through ``parser.error`` (exit status 2), before any work, when one of
    the files ``paths`` that a script will write (into its ``--out``) could not be
    written: a folder or a special file of that name, a read-only file (see
    :func:`dezero.atomic.check_writable`), or a file the script reads: ``inputs`` maps
    the options of its input files to the paths given (``{'--text': args.text}``;
    None for one not given), and writing one of them would replace the input by the
    output.  Call it right after the options are read, with the path of every file the
    run will save."""
    inputs = {option: path for option, path in (inputs or {}).items() if path is not None}
    for path in paths:
        for option, given in inputs.items():
            if same_file(path, given):
                parser.error(
                    f'--out: cannot write {path}: it is the file of {option} {given}, which '
                    f'this run reads; give another --out (nothing was written)'
                )
        try:
            check_writable(path, operation='--out')
        except (OSError, ValueError) as error:
            parser.error(str(error))


def same_file(path, other):
    """Whether the paths ``path`` and ``other`` lead to the same file: the same file
    on disk where both exist (links included), else the same absolute path once
    normalised."""
    try:
        return os.path.samefile(path, other)
    except (OSError, ValueError):  # one of them is missing (or no path at all)
        return os.path.normcase(os.path.realpath(path)) == os.path.normcase(os.path.realpath(other))


def numbered_files(folder, template):
    """``{number: path}`` of the entries of ``folder`` named ``template.format(number)``
    for a number of 1 or more: with ``'gan_epoch{:02d}.png'``, gan_epoch01.png and
    gan_epoch120.png, but not gan_epoch1.png nor gan_epoch00.png.  The folder is read
    once, whatever the numbers a run could reach; a folder that does not exist holds
    none."""
    before, _, rest = template.partition('{')
    after = rest.partition('}')[2]
    pattern = re.compile(re.escape(before) + r'(\d+)' + re.escape(after))
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    found = {}
    for name in names:
        match = pattern.fullmatch(name)
        if match and int(match[1]) >= 1 and template.format(int(match[1])) == name:
            found[int(match[1])] = os.path.join(folder, name)
    return dict(sorted(found.items()))


def remove_stale_files(paths, written=()):
    """Remove those of the files ``paths`` that exist and are not among ``written``
    (the files this run wrote): outputs an earlier run of a script left in its
    ``--out``, which would otherwise lie mixed with this run's.  Call it once the run
    has saved its own files, so that an interrupted run leaves the earlier run's set
    whole.  Folders and special files are left; a file that cannot be removed is named
    in a line of its own and left too.  Prints how many were removed, when any were."""
    removed = 0
    for path in paths:
        if path in written or not (os.path.islink(path) or os.path.isfile(path)):
            continue
        try:
            os.remove(path)
            removed += 1
        except OSError as error:
            print(f'left {path} of an earlier run: cannot remove it ({error.strerror})')
    if removed:
        files = 'file' if removed == 1 else 'files'
        folder = os.path.dirname(paths[0]) or '.'
        print(f'removed {removed} {files} of an earlier run from {folder}')


def report_outputs(written, folder, names):
    """Print ``saved PATH`` for each file of ``written``, then remove those of the
    files ``names`` in ``folder`` (the fixed set a script writes) that this run did not
    write (:func:`remove_stale_files`): an earlier run's, which would lie beside this
    run's as if they were its own."""
    for path in written:
        print(f'saved {path}')
    remove_stale_files([os.path.join(folder, name) for name in names], written)


def save_trained_weights(model, path, smoke):
    """Save ``model``'s weights to ``path`` and return True; but a ``--smoke`` run
    (``smoke``), trained for seconds on generated data, leaves a weights file already
    at ``path``, which may hold hours of training, and says so in a line (False)."""
    if smoke and os.path.lexists(path):
        print(f'kept {path} of an earlier run: a --smoke run does not replace weights')
        return False
    model.save_weights(path)
    return True


def note_earlier_weights(paths):
    """Print a line for each of the weights files ``paths`` that exists: saved by an
    earlier run, which this run did not replace.  Trained weights are not removed as
    the other outputs of an earlier run are (see :func:`remove_stale_files`): they may
    be the only copy of hours of training."""
    for path in paths:
        if os.path.isfile(path):
            print(f'kept {path} of an earlier run: this run saved no weights')


@contextlib.contextmanager
def out_of_memory_exits(args, *names):
    """Run the ``with`` block; when an array in it does not fit into memory
    (``MemoryError``), end the script with exit status 1 and one line on stderr that
    names the size options ``names`` (attributes of ``args``: ``'batch_size'`` is
    ``--batch-size``) with their values, instead of a traceback."""
    try:
        yield
    except MemoryError as error:
        sizes = ', '.join(_option_text(args, name) for name in names)
        raise SystemExit(
            f'{os.path.basename(sys.argv[0])}: not enough memory for {sizes}: {error}; '
            f'give smaller sizes'
        ) from None


def available_memory(meminfo='/proc/meminfo'):
    """The bytes of memory this machine can give a process now: ``MemAvailable`` of
    the file ``meminfo`` (Linux's), else the size of the physical memory
    (``os.sysconf``); None where neither can be read."""
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024  # given in KiB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (AttributeError, ValueError, OSError):  # no sysconf, or not these names
        return None


def training_memory(parameters, activations, optimizer_state=2, itemsize=4):
    """A rough upper estimate of the bytes a training run holds at once: the
    ``parameters`` weights, each with its gradient and the ``optimizer_state`` numbers
    its optimizer keeps (Adam 2, momentum SGD 1, SGD 0), and the ``activations``:
    the numbers the forward and backward pass of one batch hold (see
    :func:`mlp_memory` and :func:`conv_numbers`); ``itemsize`` bytes each (float32:
    4)."""
    return itemsize * (parameters * (2 + optimizer_state) + activations)


def mlp_memory(sizes, batch, optimizer_state=2, itemsize=4):
    """:func:`training_memory` of a stack of linear layers from ``sizes[0]`` inputs
    through ``sizes[1:]`` units, run on ``batch`` examples at once: the weights and
    biases of each layer, and three numbers per unit and example (a layer's output,
    its activation and a gradient)."""
    parameters = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))
    return training_memory(parameters, 3 * batch * sum(sizes), optimizer_state, itemsize)


def conv_numbers(layers):
    """The numbers that 3x3 convolutions hold per example while training:
    ``layers`` lists ``(in_channels, out_channels, pixels)``; each holds its output,
    its activation and a gradient.  (dezero's convolutions lay their inputs out as
    columns a block of about a MiB of images at a time, not a whole batch.)"""
    return sum(3 * c_out * pixels for _, c_out, pixels in layers)


def exit_unless_memory_fits(args, needed, *names):
    """End the script with exit status 1 and one line on stderr, as
    :func:`out_of_memory_exits` does, when ``needed`` bytes (an estimate of what the
    run will hold, see :func:`training_memory`) are more than :func:`available_memory`:
    the line names the size options ``names`` (attributes of ``args``) and both
    amounts.  Call it once the sizes are known and before the work: an allocation
    far beyond the memory may well succeed (the system promises more than it has)
    and the kernel then kills the process, without a word, when it touches the
    pages.  Nothing is checked where the available memory cannot be read."""
    available = available_memory()
    if available is not None and needed > available:
        sizes = ', '.join(_option_text(args, name) for name in names)
        raise SystemExit(
            f'{os.path.basename(sys.argv[0])}: not enough memory for {sizes}: the run '
            f'needs about {_bytes_text(needed)}, and {_bytes_text(available)} is '
            f'available; give smaller sizes'
        )


def _bytes_text(count):
    """``count`` bytes in the largest binary unit that keeps a number of 1 or more:
    ``'1.5 GiB'``."""
    units = ('bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB')
    power = 0
    while count >= 1024 ** (power + 1) and power < len(units) - 1:
        power += 1
    if power == 0:
        return f'{count} bytes'
    return f'{count / 1024**power:.1f} {units[power]}'


def _option_text(args, name):
    """``--batch-size 100`` for the attribute ``batch_size`` of ``args`` (a list of
    values, such as ``--hidden 100 50``, is written out)."""
    return f'{_flag(name)} {_value_text(getattr(args, name))}'


def _value_text(value):
    """An option's value as one writes it: ``100 50`` for a list, ``0.001`` and
    ``1e+30`` for floats."""
    if isinstance(value, (list, tuple)):
        return ' '.join(map(_value_text, value))
    return f'{value:g}' if isinstance(value, float) else str(value)


def _flag(name):
    """The option of the attribute ``name``: ``--batch-size`` for ``batch_size``."""
    return '--' + name.replace('_', '-')


def training_diverged(
    history,
    lr,
    default,
    unit='epoch',
    steps=None,
    skipped=None,
    option='--lr',
    what='the learning rate',
    run='training',
    cause=None,
):
    """Whether the figures recorded while training went non-finite: too large a
    learning rate makes the losses overflow, and the weights become NaN with them.
    ``history`` maps names to lists of numbers, the n-th of each list recorded at
    ``unit`` n (epoch n, as in the history :meth:`dezero.Trainer.fit` returns), or at
    ``unit`` ``steps[n - 1]`` when ``steps`` is given.  When one is not finite, print
    one line on stderr: where the first one is, that the learning rate ``--lr lr`` is
    likely too large, its ``default``, and ``skipped`` (what the script does not save
    of a model whose weights are no longer numbers); then return True.  Otherwise
    print nothing and return False.  Where another option than ``--lr`` is to blame
    (a loss weight), ``option`` and ``what`` name it in place of the learning rate, and
    ``lr`` and ``default`` are that option's value and default; ``cause``, where given,
    is the whole text naming what is to blame (see :func:`likely_cause`).  ``run``
    names what diverged (``'gradient descent'``) where it is not a training."""
    if cause is None:
        cause = f'{what} {option} {lr:g} is likely too large (default: {default:g})'
    for i in range(max(map(len, history.values()), default=0)):
        for name, values in history.items():
            if i < len(values) and not math.isfinite(values[i]):
                step = i + 1 if steps is None else steps[i]
                print(
                    f'{os.path.basename(sys.argv[0])}: {run} diverged at {unit} {step} '
                    f'({name} {values[i]}); {cause}' + (f'; {skipped}' if skipped else ''),
                    file=sys.stderr,
                )
                return True
    return False


def likely_cause(parser, args, suspect, what, verdict='too large', default=None):
    """The words of :func:`training_diverged` that blame a divergence on the option
    ``suspect`` (an attribute of ``args``, such as ``'weight_decay'``) rather than on
    the learning rate: a value the user gave that the script found likely to make the
    run diverge at the default ``--lr``.  ``what`` says what the option is,
    ``verdict`` what is wrong with its value, ``default`` is its default (by default
    ``parser``'s).  Where ``--lr`` too was raised above its default, both are named,
    each with its default::

        the weight decay --weight-decay 1000 is likely too large (default: 0.1)
        the start --x0 10 (default: 2) is likely too far out, or the learning rate
        --lr 0.05 (default: 0.01) too large
    """
    if default is None:
        default = parser.get_default(suspect)
    named = f'{what} {_option_text(args, suspect)}'
    lr_default = parser.get_default('lr')
    if args.lr <= lr_default:
        return f'{named} is likely {verdict} (default: {_value_text(default)})'
    return (
        f'{named} (default: {_value_text(default)}) is likely {verdict}, or the learning '
        f'rate {_option_text(args, "lr")} (default: {_value_text(lr_default)}) too large'
    )


class Interrupted(KeyboardInterrupt):
    """What Ctrl-C (SIGINT) and SIGTERM raise in a script run by :func:`run_main`: a
    KeyboardInterrupt, so that both get its cleanups (``finally`` blocks, and
    :func:`dezero.atomic.atomic_open` removing the temporary file of a save cut short);
    ``signal`` is the number of the signal."""

    def __init__(self, number):
        super().__init__(f'signal {number}')
        self.signal = number


#: The signals :func:`run_main` turns into :class:`Interrupted`.
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The number of the signal taken under :func:`run_main` (None before the first one),
#: and whether :func:`_interrupt_again` is raising it again.
_taken = None
_raising_again = False


def run_main(main):
    """Run ``main()``, an example's entry point, and return its exit status.  Ctrl-C
    (SIGINT) and SIGTERM end it with one line on stderr, saying that the files saved so
    far are whole, and the status a shell gives a process the signal ended: 130 and 143
    (128 + the signal's number), without a traceback.  Once a signal is taken, more of
    them (Ctrl-C pressed twice, a SIGTERM to a process group) are ignored while the
    script ends.  A signal the process was started to ignore (SIGINT for a job started
    with ``&``) stays ignored.  An OSError that reaches it (a file that cannot be saved:
    a full disk, a folder put where a picture goes during the run) ends it with the
    error's message, which names the file, in one line on stderr, and status 1.

        if __name__ == '__main__':
            sys.exit(run_main(main))
    """
    global _taken, _raising_again
    _taken, _raising_again = None, False
    for number in _SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _interrupt)
    sys.unraisablehook = _interrupt_again
    try:
        return main()
    except OSError as error:  # a file that could not be saved: a full disk, a folder
        print(f'{os.path.basename(sys.argv[0])}: {error}', file=sys.stderr)
        return 1
    except KeyboardInterrupt as interruption:
        for number in _SIGNALS:  # the script is ending: nothing more to interrupt
            signal.signal(number, signal.SIG_IGN)
        number = getattr(interruption, 'signal', signal.SIGINT)
        print(
            f'{os.path.basename(sys.argv[0])}: interrupted ({signal.Signals(number).name}): '
            'the pictures and files saved so far are complete; nothing is half-written',
            file=sys.stderr,
        )
        return 128 + number


def _interrupt(number, frame):
    """The handler of SIGINT and SIGTERM under :func:`run_main`.  The first signal
    raises :class:`Interrupted`; later ones do nothing, wherever they arrive (in the
    cleanups the first one runs, in :func:`_interrupt_again`), and the script ends as
    the first one asked.  Only :func:`_raise_again` makes it raise the first one once
    more.  (``_thread.interrupt_main``, which that uses, does nothing for a signal set
    to SIG_IGN: so the handler stays until :func:`run_main` reports the signal.)"""
    global _taken, _raising_again
    if _taken is not None and not _raising_again:
        return
    if _taken is None:
        _taken = number
    _raising_again = False
    raise Interrupted(_taken)


def _interrupt_again(unraisable):
    """``sys.unraisablehook`` under :func:`run_main`.  A signal's handler runs where
    the main thread happens to be, which may be a weakref callback or a ``__del__``
    method (the graphs of dezero have many); Python prints and ignores an exception
    raised there, and the script would go on.  The signal is raised again a moment
    later, from another thread, when the main thread has left this hook (a signal
    raised here would run its handler here, where its exception is ignored too).
    Other such exceptions are printed as usual."""
    if isinstance(unraisable.exc_value, Interrupted):
        again = threading.Timer(0.01, _raise_again, [unraisable.exc_value.signal])
        again.daemon = True
        again.start()
    else:
        sys.__unraisablehook__(unraisable)


def _raise_again(number):
    """Have the main thread run :func:`_interrupt` for the signal ``number`` once more,
    and raise it this time (run from :func:`_interrupt_again`'s timer)."""
    global _raising_again
    _raising_again = True
    _thread.interrupt_main(number)

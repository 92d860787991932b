"""What the examples share for their command lines: argparse types that refuse a bad
value while the options are read, before any work, so that the error names the option
(``error: argument --lr: must be a positive number, got nan``) and the script exits with
status 2.

    parser.add_argument('--lr', type=positive_float, default=0.01)
    parser.add_argument('--seed', type=random_seed, default=0)
    parser.add_argument('--out', type=output_folder, default='out')
"""

import argparse
import math
import os
import tempfile

#: NumPy's random seeds are 32-bit: 0 to 2**32 - 1.
SEED_LIMIT = 2**32


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


def random_seed(value):
    """An argparse type: a random seed, an integer from 0 to 2**32 - 1 (what
    ``np.random.seed`` accepts)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected a whole number, got {value!r}') from None
    if not 0 <= number < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f'must be from 0 to {SEED_LIMIT - 1}, got {value}')
    return number


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

"""MNIST (handwritten digits) and Fashion-MNIST (pictures of clothes), read from the
IDX files in which both are published."""

import codecs
import copy
import gzip
import math
import os
import re
import struct
import zlib

import numpy as np

from dezero.datasets.base import Dataset, folder_path, show_images
from dezero.download import (
    ChecksumError,
    DownloadError,
    _file_md5,
    check_folder,
    dezero_home,
    get_file,
)
from dezero.transforms import Compose, Flatten, Normalize, ToFloat

_IDX_IMAGES, _IDX_LABELS = 2051, 2049  # magic numbers: unsigned bytes, 3 or 1 dims

#: The list, in a dataset's folder, of the checksums of files other than the published
#: ones, as ``md5sum`` writes it: one ``<MD5>  <file name>`` line per file.
_SUMS = 'MD5SUMS'
_SUMS_LINE = re.compile(r'([0-9a-fA-F]{32}) [ *]?(\S.*)')

#: The default transform of the signature, as in the book; a dataset given it keeps a
#: copy of its own, so that changing one dataset's transform changes no other's.
_DEFAULT_TRANSFORM = Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)])


def _read_idx(owner, path, magic, what):
    """The array stored in the gzip-compressed IDX file ``path`` (uint8, read-only).

    ``magic`` is the expected magic number (2051 for images, 2049 for labels); the
    number of dimensions is its last byte.  A file that is not gzip, has another magic
    number, or whose size does not match its header raises ValueError naming ``owner``
    (the dataset) and the file; a folder in its place raises IsADirectoryError.
    """
    if os.path.isdir(path):
        raise IsADirectoryError(
            f'{owner}: {path} is a folder, expected the gzip-compressed IDX {what} file'
        )
    try:
        with gzip.open(path, 'rb') as f:
            raw = f.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(
            f'{owner}: {path} is not a complete gzip file ({e}); delete it and try again'
        ) from None
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f'{owner}: {path} is too short ({len(raw)} bytes) to be an IDX {what} file'
        )
    found, *dims = struct.unpack(f'>{1 + ndim}I', raw[:header])
    if found != magic:
        raise ValueError(
            f'{owner}: {path} is not an IDX {what} file: magic number {found}, expected {magic}'
        )
    size = math.prod(dims)  # exact; np.prod would wrap round in int64 on a damaged header
    if len(raw) - header != size:
        raise ValueError(
            f'{owner}: {path} holds {len(raw) - header} bytes of {what} but '
            f'its header announces {" x ".join(map(str, dims))} = {size}'
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _sums_text(owner, path):
    """The text of the MD5SUMS file ``path``: UTF-16 when it starts with a UTF-16 byte
    order mark (as Windows PowerShell 5 writes ``md5sum *.gz > MD5SUMS``), else UTF-8,
    with or without a BOM.  A folder raises IsADirectoryError, anything else that is not
    such text ValueError, both naming ``owner`` and ``path``."""
    if os.path.isdir(path):
        raise IsADirectoryError(
            f'{owner}: {path} is a folder, expected a file of '
            f"'<MD5>  <file name>' lines (as `md5sum *.gz > {_SUMS}` writes them)"
        )
    with open(path, 'rb') as f:
        raw = f.read()
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    try:
        text = raw.decode('utf-16' if utf16 else 'utf-8-sig')
    except UnicodeDecodeError as e:
        problem = f'it cannot be decoded ({e.reason} at byte {e.start})'
    else:
        if '\0' not in text:
            return text
        problem = 'it holds NUL characters'
    raise ValueError(
        f'{owner}: {path} is not a text file in UTF-8 or UTF-16 (with a byte order '
        f"mark): {problem}; expected '<MD5>  <file name>' lines, as "
        f'`md5sum *.gz > {_SUMS}` writes them'
    )


def _listed_md5(owner, folder):
    """{file name: MD5} from the file MD5SUMS in ``folder``; {} when there is none.

    The file is UTF-8 or UTF-16 with a byte order mark.  Blank lines and lines starting
    with ``#`` are skipped; any other line must be ``<32 hex digits>  <file name>`` (a
    ``*`` may stand for the second space, as in ``md5sum --binary``).  A name is a
    plain file name in ``folder``, optionally after ``./`` (as ``md5sum ./*.gz``
    writes it); a name in another folder (``sub/x.gz``, ``../x.gz``, an absolute path)
    is refused, as is a file listed twice with two different checksums.  Errors are
    ValueErrors naming ``owner``, the file and the line(s).
    """
    path = os.path.join(folder, _SUMS)
    if not os.path.exists(path):
        return {}
    sums, lines = {}, {}
    text = _sums_text(owner, path)
    for number, line in enumerate(re.split(r'\r\n|\r|\n', text), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        match = _SUMS_LINE.fullmatch(line)
        if match is None:
            raise ValueError(
                f"{owner}: line {number} of {path} is not '<MD5, 32 hex digits>  "
                f"<file name>': {line!r:.100}"
            )
        digest, listed = match[1].lower(), match[2]
        name = re.sub(r'^(\./)+', '', listed)
        if '/' in name or os.sep in name:
            raise ValueError(
                f'{owner}: line {number} of {path} names {listed!r:.100}, a file in '
                f'another folder; names must be plain file names in {folder} (or start '
                f'with ./), as `md5sum *.gz > {_SUMS}` run there writes them'
            )
        if sums.get(name, digest) != digest:
            raise ValueError(
                f'{owner}: {path} lists {name} twice with different checksums, on '
                f'lines {lines[name]} and {number}; keep one of them'
            )
        sums[name], lines[name] = digest, number
    return sums


def _same_folder(a, b):
    """Whether the paths ``a`` and ``b`` name one folder (links followed)."""
    return os.path.realpath(a) == os.path.realpath(b)


class _IDXImages(Dataset):
    """What MNIST and FashionMNIST share: 28x28 grey images and labels, one pair of
    IDX gzip files per split, fetched into ``root`` from ``mirror`` and verified
    against ``md5`` or the folder's MD5SUMS.  Subclasses set ``mirror``, ``md5`` ({file
    name: checksum}), ``folder`` (the default root under ``dezero_home()/datasets``)
    and ``class_names``."""

    mirror = None
    folder = None
    md5 = {}
    class_names = ()
    files = {
        True: ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
        False: ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
    }

    def __init__(
        self,
        train=True,
        transform=_DEFAULT_TRANSFORM,
        target_transform=None,
        root=None,
    ):
        if transform is _DEFAULT_TRANSFORM:
            transform = copy.deepcopy(transform)
        self.root = self._default_root() if root is None else folder_path(type(self).__name__, root)
        # the folder where downloads are kept, given or not, is verified (see _verify)
        self._in_default_root = _same_folder(self.root, self._default_root())
        super().__init__(train, transform, target_transform)

    def _default_root(self):
        """The folder of the files when no ``root`` is given."""
        return os.path.join(dezero_home(), 'datasets', self.folder)

    def prepare(self):
        """Read the split's two IDX files (found in ``root`` or the cache, or
        downloaded and checked against their published MD5 sums) into ``data``, (N, 1,
        28, 28) bytes, and ``label``, (N,) integers."""
        owner = type(self).__name__
        names = self.files[self.train]
        listed = _listed_md5(owner, self.root)
        expected = {n: listed.get(n, self.md5.get(n)) for n in names}
        image_path, label_path = self._fetch(names, expected)
        images = _read_idx(owner, image_path, _IDX_IMAGES, 'images')
        labels = _read_idx(owner, label_path, _IDX_LABELS, 'labels')
        if images.shape[1:] != (28, 28):
            raise ValueError(
                f'{owner}: {image_path} holds images of '
                f'{images.shape[1]}x{images.shape[2]} pixels, expected 28x28'
            )
        if len(images) != len(labels):
            raise ValueError(
                f'{owner}: {image_path} holds {len(images)} images but '
                f'{label_path} {len(labels)} labels'
            )
        last = len(self.class_names) - 1
        if labels.size and labels.max() > last:
            raise ValueError(
                f'{owner}: {label_path} holds the label {labels.max()}, expected 0 to {last}'
            )
        # after the checks of the content, whose messages say more about a damaged file
        self._verify((image_path, label_path), listed)
        self.data = images.reshape(-1, 1, 28, 28).copy()
        self.label = labels.astype(np.int64)

    def _fetch(self, names, expected):
        """The paths of the files ``names`` in ``self.root``, downloading missing ones
        and verifying them against ``expected`` ({name: MD5 or None})."""
        paths = {n: os.path.join(self.root, n) for n in names}
        missing = [n for n in names if not os.path.exists(paths[n])]
        for i, name in enumerate(missing):
            try:  # (a file the book's DeZero fetched is read where it lies)
                paths[name] = get_file(self.mirror + name, md5=expected[name], cache_dir=self.root)
            except NotADirectoryError:  # a file where root, or a folder above it, belongs
                advice = 'pass root= another folder'
                if self._in_default_root:
                    advice = f'set DEZERO_HOME to another folder, or {advice}'
                check_folder(type(self).__name__, self.root, advice)
                raise
            except DownloadError as e:  # ChecksumError stays a ChecksumError
                raise type(e)(
                    f'{type(self).__name__}: the file(s) {", ".join(missing[i:])} of the '
                    f'{"training" if self.train else "test"} split are not in '
                    f'{self.root} and could not be downloaded from {self.mirror} '
                    f'({name}: {e.reason or e}). Put them into that folder by hand, or '
                    f'pass root= a folder that holds them',
                    url=e.url,
                    file_name=name,
                    folder=self.root,
                    reason=e.reason,
                ) from e
        return [paths[n] for n in names]

    def _verify(self, paths, listed):
        """Raise ChecksumError for a file of ``paths`` that is the published file of
        another dataset of the same file names (Fashion-MNIST's in MNIST's place, or
        the reverse), or whose MD5 is not the one it should have: its line in the
        folder's MD5SUMS (``listed``, {name: MD5}) when there is one; else, in the
        default folder (where downloads are kept), the published one.  An unlisted
        file in a ``root`` of the user's is read as it is (its content has passed its
        checks)."""
        owner = type(self).__name__
        for path in paths:
            name = os.path.basename(path)
            folder = os.path.dirname(path)
            sums = os.path.join(self.root, _SUMS)
            found = _file_md5(path)  # hashed once per process while the file stays the same
            other = self._published_elsewhere(name, found)
            want = listed.get(name)
            if other is not None:
                want = self.md5.get(name)
                problem = (
                    f"is {other}'s file {name}, not {owner}'s (the two use the same file "
                    f"names): load it with {other}, or put {owner}'s file into {folder}"
                )
            elif want is not None:
                problem = (
                    f'does not match its checksum in {sums}: its MD5 is {found}, expected '
                    f'{want}; it was changed or damaged since it was listed. Put the '
                    f'listed file back, or update its line in {sums}'
                )
            elif self._in_default_root:
                want = self.md5.get(name)
                problem = (
                    f'is not the file {name} of {owner}: its MD5 is {found}, expected {want}; '
                    f"it is damaged, or another dataset's file (MNIST and Fashion-MNIST use "
                    f'the same file names). Delete it to have it downloaded again, or put the '
                    f'right file into {folder}; to use files of your own in this format, '
                    f'pass root= another folder that holds them, or list their checksums in '
                    f'{sums} (as `md5sum *.gz > {_SUMS}` writes them)'
                )
            else:
                continue
            if other is None and (want is None or found == want.lower()):
                continue
            raise ChecksumError(
                f'{owner}: {path} {problem}',
                url=self.mirror + name,
                file_name=name,
                folder=folder,
                reason=f'checksum mismatch: expected MD5 {want}, got {found}',
            )

    @classmethod
    def _published_elsewhere(cls, name, md5):
        """The name of another dataset of these files whose published file ``name`` has
        the checksum ``md5`` (and is not this dataset's own), or None."""
        if cls.md5.get(name) == md5:
            return None
        pending = list(_IDXImages.__subclasses__())
        while pending:
            other = pending.pop()
            pending.extend(other.__subclasses__())
            if other is not cls and other.files == cls.files and other.md5.get(name) == md5:
                return other.__name__
        return None

    @classmethod
    def labels(cls):
        """The class names by label: {0: name of class 0, ..., 9: name of class 9}."""
        return dict(enumerate(cls.class_names))

    def show(self, row=10, col=10):
        """Show ``row`` x ``col`` images picked at random, as one grid (needs
        matplotlib)."""
        show_images(type(self).__name__, self.data, row, col)


class MNIST(_IDXImages):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28
    grey pixels, labels 0 to 9 (``labels()`` names them '0' to '9').

    ``data`` is uint8 (N, 1, 28, 28) and ``label`` int64 (N,).  The default transform
    turns an image into a (784,) float32 vector with values in [0, 1]; every dataset
    gets its own copy of it, so changing ``train.transform`` leaves ``test.transform``
    as it was.  The two IDX gzip files of the chosen split (``train-*`` or ``t10k-*``)
    are read from ``root`` (a str, bytes or path object; a file in its place raises
    NotADirectoryError), by default ``dezero_home()/datasets/mnist``; missing ones are
    read where the book's DeZero keeps them (``dezero_home()`` itself) when their MD5
    is right, else downloaded into ``root`` first from ``MNIST.mirror``.  Offline, put
    the files there by hand: the error names them and the folder.  Either split loads
    without the other's files.

    A download is verified against its published MD5 (``MNIST.md5``) before it is
    kept, and so is every file in the default folder, where downloads are kept: a file
    there with another checksum (damaged, or Fashion-MNIST's, whose files have the same
    names) raises ChecksumError naming it, the folder and what to do; so it does when
    that folder is passed as ``root``.  Files in another ``root`` you pass are your own:
    they are read as they are once their content passes its checks (gzip's own
    checksum, the IDX headers and sizes, 28x28 images, labels 0 to 9), so files of your
    own in this format load.  Fashion-MNIST's published files are recognised by their
    checksums and refused wherever they are.  To guard files of your own against later
    changes, list their checksums in a file ``MD5SUMS`` beside them, one ``<MD5>  <file
    name>`` line per file as ``md5sum *.gz > MD5SUMS`` writes them (UTF-8 or UTF-16 with
    a byte order mark; a name is the file's name in the folder, ``./`` before it
    allowed): a listed file with another checksum is refused, and in the default folder
    a listed file is taken instead of the published one.  Each
    load computes the MD5 of its two files, after their content was read and checked:
    tens of milliseconds for the training split (a file this process has hashed
    already is not hashed again while it stays the same).
    """

    mirror = 'https://ossci-datasets.s3.amazonaws.com/mnist/'
    folder = 'mnist'
    md5 = {
        'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
        'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
        't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
        't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    }
    class_names = tuple(str(i) for i in range(10))


class FashionMNIST(_IDXImages):
    """Fashion-MNIST, Zalando's pictures of clothes: 60,000 training and 10,000 test
    images of 28x28 grey pixels in 10 classes, from 0 T-shirt/top to 9 Ankle boot
    (``labels()`` gives the names).

    Stored, read, verified and transformed as :class:`MNIST` is, with the same file
    names and options; the files are kept in ``dezero_home()/datasets/fashion-mnist``
    by default, and missing ones are downloaded from ``FashionMNIST.mirror``.  MNIST's
    published files, of the same names, are recognised by their checksums and not
    taken for Fashion-MNIST's.
    """

    mirror = 'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/'
    folder = 'fashion-mnist'
    md5 = {
        'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
        'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
        't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
        't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
    }
    class_names = (
        'T-shirt/top',
        'Trouser',
        'Pullover',
        'Dress',
        'Coat',
        'Sandal',
        'Shirt',
        'Sneaker',
        'Bag',
        'Ankle boot',
    )

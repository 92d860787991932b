"""Datasets: the Dataset protocol, Spiral, SinCurve, and MNIST and FashionMNIST (on tiny
IDX files that the tests write; one optional test reads the real MNIST test split when
it is present)."""

import hashlib
import inspect
import os
import re
import sys
import urllib.request

import numpy as np
import pytest

from dezero.datasets import MNIST, Dataset, FashionMNIST, SinCurve, Spiral, get_spiral
from dezero.download import ChecksumError, DownloadError
from dezero.transforms import Flatten

import mnist_files
from mnist_files import REAL_MNIST, TEST_FILES, TRAIN_FILES, idx_bytes, write_gz


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network: only file:// URLs open, the mirrors of MNIST and FashionMNIST are a
    folder that does not exist, and DEZERO_HOME points into the test's own folder."""
    real_urlopen = urllib.request.urlopen

    def file_only(url, *args, **kwargs):
        assert url.startswith('file:'), f'a test tried to reach the network: {url}'
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, 'urlopen', file_only)
    for cls in (MNIST, FashionMNIST):
        monkeypatch.setattr(cls, 'mirror', (tmp_path / 'no-mirror').as_uri() + '/')
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'home'))


# ---- Dataset ---------------------------------------------------------------------------
class Tiny(Dataset):
    def prepare(self):
        self.data = np.arange(5) * 10
        self.label = np.array([0, 1, 0, 1, 1])


class Unlabelled(Dataset):
    def prepare(self):
        self.data = np.arange(3)


def test_getitem_returns_transformed_pairs():
    ds = Tiny(transform=lambda x: x + 1, target_transform=lambda t: -t)
    assert len(ds) == 5
    assert ds[1] == (11, -1)
    assert ds[-1] == (41, -1)  # negative indexes count from the end
    assert ds[np.int64(2)] == (21, 0)
    assert Tiny()[3] == (30, 1)  # default transforms: identity
    assert ds.train is True and Tiny(train=False).train is False


def test_dataset_without_labels_gives_none():
    assert Unlabelled()[2] == (2, None)


def test_dataset_iterates_like_a_sequence():
    assert [x for x, _ in Tiny()] == [0, 10, 20, 30, 40]


@pytest.mark.parametrize('index', [5, -6])
def test_out_of_range_index(index):
    with pytest.raises(IndexError, match=f'index {index} is out of range for 5 items'):
        Tiny()[index]


@pytest.mark.parametrize('index', [slice(0, 2), 1.0, True, [0, 1], np.array([0])])
def test_non_integer_index_is_refused(index):
    with pytest.raises(TypeError, match='Tiny: index must be an integer'):
        Tiny()[index]


def test_bad_transform_and_missing_data_and_length_mismatch():
    with pytest.raises(TypeError, match='transform must be callable'):
        Tiny(transform=3)
    with pytest.raises(TypeError, match='prepare\\(\\) must set self.data'):
        len(Dataset())

    class Mismatch(Dataset):
        def prepare(self):
            self.data, self.label = np.zeros(3), np.zeros(2)

    with pytest.raises(ValueError, match='3 data items but 2 labels'):
        Mismatch()


def test_a_subclass_with_its_own_getitem_may_keep_labels_in_any_form():
    from dezero.dataloaders import DataLoader

    class MultiTask(Dataset):
        def prepare(self):
            self.data = np.arange(10.0).reshape(5, 2)
            self.label = (np.arange(5), np.arange(5) % 2)  # two label arrays

        def __getitem__(self, i):
            return self.data[i], self.label[0][i] * 10 + self.label[1][i]

    class Windows(Dataset):  # windows of a series, labelled with the value after each
        def prepare(self):
            self.data = np.arange(15)
            self.label = np.sin(np.arange(20.0))  # the whole series

        def __getitem__(self, i):
            start = self.data[i]
            return self.label[start : start + 4], self.label[start + 4]

    tasks = MultiTask()
    assert len(tasks) == 5
    batches = [t.tolist() for _, t in DataLoader(tasks, 5, shuffle=False)]
    assert batches == [[0, 11, 20, 31, 40]]
    windows = Windows()
    assert len(windows) == 15
    x, t = next(DataLoader(windows, 3, shuffle=False))
    assert x.shape == (3, 4) and t.tolist() == np.sin([4.0, 5.0, 6.0]).tolist()


@pytest.mark.parametrize('train', ['False', 'True', '', 0, 1, None, np.array([True])])
def test_train_that_is_not_a_bool_is_refused(train):
    with pytest.raises(TypeError, match=r'^Tiny: train must be True .* or False .*, got '):
        Tiny(train=train)
    with pytest.raises(TypeError, match='Spiral: train must be True'):
        Spiral(train=train)
    with pytest.raises(TypeError, match='SinCurve: train must be True'):
        SinCurve(train=train)


def test_train_may_be_a_numpy_bool_and_is_kept_as_a_bool():
    for train in (np.bool_(True), np.bool_(False)):
        ds = Tiny(train=train)
        assert type(ds.train) is bool and ds.train == train
    np.testing.assert_array_equal(Spiral(train=np.bool_(False)).data, get_spiral(False)[0])


# ---- Spiral ----------------------------------------------------------------------------
def book_spiral(seed):
    """The book's generator, point by point, on a private RandomState."""
    rs = np.random.RandomState(seed)
    x, t = np.zeros((300, 2), np.float32), np.zeros(300, np.int64)
    for j in range(3):
        for i in range(100):
            rate = i / 100
            theta = j * 4.0 + 4.0 * rate + rs.randn() * 0.2
            x[100 * j + i] = [rate * np.sin(theta), rate * np.cos(theta)]
            t[100 * j + i] = j
    order = rs.permutation(300)
    return x[order], t[order]


@pytest.mark.parametrize('train, seed', [(True, 1984), (False, 2020)])
def test_spiral_matches_the_book_generator(train, seed):
    x, t = get_spiral(train)
    assert x.shape == (300, 2) and x.dtype == np.float32
    assert t.shape == (300,) and t.dtype == np.int64
    expected_x, expected_t = book_spiral(seed)
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(t, expected_t)


def test_spiral_is_balanced_shuffled_deterministic_and_bounded():
    x, t = get_spiral()
    assert np.bincount(t).tolist() == [100, 100, 100]
    assert not np.array_equal(t, np.sort(t))  # shuffled
    x2, t2 = get_spiral()
    assert np.array_equal(x, x2) and np.array_equal(t, t2)  # same every call
    assert not np.array_equal(x, get_spiral(train=False)[0])  # test split differs
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius.min() < 0.01 and 0.98 < radius.max() < 1.0  # radius = i/100


@pytest.mark.parametrize('train, seed', [(True, 1984), (False, 2020)])
def test_spiral_seeds_the_global_random_generator_as_the_book_does(train, seed):
    # the book's steps 48-50 create the model and shuffle after get_spiral, and rely
    # on the state it leaves for the same losses at every run
    rs = np.random.RandomState(seed)  # what the book's function draws, one by one
    for _ in range(300):
        rs.randn()
    rs.permutation(300)
    expected = rs.randn(4)  # what the book's script draws next
    for make in (lambda: get_spiral(train), lambda: Spiral(train=train)):
        np.random.seed(7)
        make()
        np.testing.assert_array_equal(np.random.randn(4), expected)


@pytest.mark.parametrize('train', ['False', 'True', 0, None, np.array([True])])
def test_get_spiral_train_must_be_true_or_false(train):
    # 'False' would have given the training split
    with pytest.raises(TypeError, match='get_spiral: train must be True or False, got'):
        get_spiral(train=train)


def test_get_spiral_takes_a_numpy_bool():
    np.testing.assert_array_equal(get_spiral(np.False_)[0], get_spiral(False)[0])


def test_spiral_makes_what_follows_it_reproducible_whatever_came_before():
    draws = []
    for earlier in (1, 2):
        np.random.seed(earlier)
        np.random.rand(5)
        x, _ = get_spiral()
        draws.append((x, np.random.permutation(300)))
    np.testing.assert_array_equal(draws[0][0], draws[1][0])
    np.testing.assert_array_equal(draws[0][1], draws[1][1])


def test_get_spiral_gives_the_same_points_while_another_thread_draws_random_numbers():
    # the book's function seeds NumPy's global generator and draws from it: a draw of
    # another thread between the seed and the last draw changed the points
    import threading

    expected = get_spiral()
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            np.random.rand()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    other = threading.Thread(target=draw)
    other.start()
    try:
        results = [get_spiral() for _ in range(50)]
    finally:
        stop.set()
        other.join(10)
        sys.setswitchinterval(interval)
    for x, t in results:
        np.testing.assert_array_equal(x, expected[0])
        np.testing.assert_array_equal(t, expected[1])


def test_spiral_dataset_wraps_get_spiral():
    x, t = get_spiral(train=False)
    ds = Spiral(train=False, transform=lambda v: v * 2)
    assert len(ds) == 300
    xi, ti = ds[5]
    np.testing.assert_array_equal(xi, x[5] * 2)
    assert ti == t[5]


# ---- SinCurve --------------------------------------------------------------------------
def test_sin_curve_train_is_noisy_sine_shifted_by_one():
    ds = SinCurve()
    assert ds.data.shape == (999, 1) and ds.label.shape == (999, 1)
    assert ds.data.dtype == np.float64 and ds.label.dtype == np.float64  # as the book's
    np.testing.assert_array_equal(ds.data[1:], ds.label[:-1])  # label = next value
    x = np.linspace(0, 2 * np.pi, 1000)
    noise = np.concatenate([ds.data[:, 0], ds.label[-1:, 0]]) - np.sin(x)
    assert np.abs(noise).max() <= 0.05 and noise.std() > 0.02
    x0, t0 = ds[0]
    assert x0.shape == (1,) and t0.shape == (1,)


def test_sin_curve_test_is_clean_cosine():
    ds = SinCurve(train=False)
    x = np.linspace(0, 2 * np.pi, 1000)
    np.testing.assert_array_equal(ds.data[:, 0], np.cos(x[:-1]))
    np.testing.assert_array_equal(ds.label[:, 0], np.cos(x[1:]))
    assert ds.data[0, 0] == 1.0


@pytest.mark.parametrize('train', [True, False])
def test_sin_curve_draws_its_noise_from_the_global_generator_as_the_book(train):
    np.random.seed(3)
    first = SinCurve(train=train).data
    after = np.random.rand()  # the 1001st number: the series drew 1000 for either split
    np.random.seed(3)
    noise = np.random.uniform(-0.05, 0.05, size=1000)
    assert np.random.rand() == after
    if train:
        x = np.linspace(0, 2 * np.pi, 1000)
        np.testing.assert_array_equal(first[:, 0], (np.sin(x) + noise)[:-1])
    np.random.seed(3)
    np.testing.assert_array_equal(SinCurve(train=train).data, first)  # seeded: the same


# ---- MNIST and FashionMNIST on tiny files ----------------------------------------------
# The two read the same file names in the same format: every test runs on both.
both = pytest.mark.parametrize('cls', [MNIST, FashionMNIST])

IMAGES = (np.arange(3 * 28 * 28) * 7 % 256).astype(np.uint8).reshape(3, 28, 28)
LABELS = np.array([3, 0, 9], dtype=np.uint8)


def write_split(folder, train=False, images=IMAGES, labels=LABELS, md5sums=True):
    """One split of tiny files; with ``md5sums`` listed in the folder's MD5SUMS, so that
    MNIST and FashionMNIST take them although they are not the published files."""
    mnist_files.write_split(folder, images, labels, train=train, md5sums=md5sums)


@pytest.fixture
def test_only(tmp_path):
    """A folder with only the test-split files."""
    folder = tmp_path / 'mnist'
    write_split(folder, train=False)
    return folder


@both
def test_mnist_reads_data_and_labels(cls, test_only):
    ds = cls(train=False, root=test_only)
    assert len(ds) == 3
    assert ds.data.shape == (3, 1, 28, 28) and ds.data.dtype == np.uint8
    assert ds.label.dtype == np.int64
    np.testing.assert_array_equal(ds.data[:, 0], IMAGES)
    np.testing.assert_array_equal(ds.label, [3, 0, 9])
    ds.data[0, 0, 0, 0] = 1  # an ordinary, writable array


def test_mnist_reads_the_files_the_books_dezero_fetched(monkeypatch, tmp_path):
    # The book's DeZero keeps the archives in ~/.dezero itself (here DEZERO_HOME):
    # MNIST reads them there, offline, when their checksums are the real ones.
    home = tmp_path / 'home'
    write_split(home, train=False)
    sums = {n: hashlib.md5((home / n).read_bytes()).hexdigest() for n in TEST_FILES}
    monkeypatch.setattr(MNIST, 'md5', sums)
    ds = MNIST(train=False)
    np.testing.assert_array_equal(ds.label, [3, 0, 9])
    assert not (home / 'datasets').exists()  # nothing fetched, nothing copied
    # FashionMNIST's archives have the same names and other checksums: not taken
    with pytest.raises(DownloadError, match='t10k-images-idx3-ubyte.gz'):
        FashionMNIST(train=False)


@both
def test_mnist_default_transform_gives_784_floats_in_unit_range(cls, test_only):
    x, t = cls(train=False, root=str(test_only))[2]
    assert x.shape == (784,) and x.dtype == np.float32
    np.testing.assert_array_equal(x, IMAGES[2].ravel().astype(np.float32) / np.float32(255))
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.99
    assert t == 9


@both
def test_each_dataset_gets_its_own_default_transform(cls, tmp_path):
    write_split(tmp_path, train=True)
    write_split(tmp_path, train=False)
    train, test = cls(train=True, root=tmp_path), cls(train=False, root=tmp_path)
    assert train.transform is not test.transform
    assert train.transform.transforms is not test.transform.transforms
    train.transform.transforms.append(lambda x: x * 0)
    assert len(test.transform.transforms) == 3 and test[0][0].max() > 0.5
    assert cls(train=False, root=tmp_path)[0][0].max() > 0.5  # a later dataset too
    assert train[0][0].max() == 0
    default = inspect.signature(cls).parameters['transform'].default
    assert len(default.transforms) == 3  # the default of the signature is untouched
    shared = Flatten()
    assert cls(train=False, root=tmp_path, transform=shared).transform is shared  # as given


@both
def test_mnist_custom_transforms(cls, test_only):
    x, t = cls(train=False, root=test_only, transform=None, target_transform=lambda t: t + 100)[0]
    assert x.shape == (1, 28, 28) and x.dtype == np.uint8
    assert t == 103


@both
def test_train_split_loads_alone(cls, tmp_path):
    folder = tmp_path / 'mnist'
    write_split(folder, train=True, labels=np.array([1, 2, 3], dtype=np.uint8))
    ds = cls(train=True, root=folder)
    np.testing.assert_array_equal(ds.label, [1, 2, 3])


@pytest.mark.parametrize('cls, folder', [(MNIST, 'mnist'), (FashionMNIST, 'fashion-mnist')])
def test_default_root_is_under_dezero_home(cls, folder, tmp_path):
    write_split(tmp_path / 'home' / 'datasets' / folder, train=False)
    ds = cls(train=False)
    assert ds.root == os.path.join(str(tmp_path / 'home'), 'datasets', folder)
    assert len(ds) == 3


def test_the_two_datasets_keep_their_files_apart(tmp_path):
    """Same file names, other folders: MNIST's files are not taken for Fashion-MNIST."""
    write_split(tmp_path / 'home' / 'datasets' / 'mnist', train=False)
    assert len(MNIST(train=False)) == 3
    with pytest.raises(DownloadError, match='fashion-mnist'):
        FashionMNIST(train=False)


@both
def test_missing_train_files_offline_name_files_and_folder(cls, test_only):
    with pytest.raises(DownloadError) as info:
        cls(train=True, root=test_only)
    message = str(info.value)
    assert isinstance(info.value, OSError)
    for name in TRAIN_FILES:
        assert name in message
    assert str(test_only) in message and 'by hand' in message
    # nothing half-written
    assert sorted(os.listdir(test_only)) == sorted([*TEST_FILES, 'MD5SUMS'])


@both
def test_missing_test_files_in_an_empty_default_root(cls):
    with pytest.raises(DownloadError, match='t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz'):
        cls(train=False)


@both
def test_missing_files_are_downloaded_from_the_mirror(cls, monkeypatch, tmp_path):
    mirror = tmp_path / 'mirror'
    write_split(mirror, train=False)
    sums = {n: hashlib.md5((mirror / n).read_bytes()).hexdigest() for n in TEST_FILES}
    monkeypatch.setattr(cls, 'mirror', mirror.as_uri() + '/')
    monkeypatch.setattr(cls, 'md5', sums)
    root = tmp_path / 'data'
    ds = cls(train=False, root=root)
    np.testing.assert_array_equal(ds.label, LABELS)
    assert sorted(os.listdir(root)) == sorted(TEST_FILES)


@pytest.mark.parametrize(
    'cls, md5',  # the published checksums of the test images
    [
        (MNIST, '9fb629c4189551a2d022fa330f9573f3'),
        (FashionMNIST, 'bef4ecab320f06d8554ea6380940ec79'),
    ],
)
def test_download_with_wrong_checksum_keeps_nothing(cls, md5, monkeypatch, tmp_path):
    mirror = tmp_path / 'mirror'
    write_split(mirror, train=False)  # tiny files: not the real checksums
    monkeypatch.setattr(cls, 'mirror', mirror.as_uri() + '/')
    root = tmp_path / 'data'
    with pytest.raises(ChecksumError, match=md5):
        cls(train=False, root=root)
    assert os.listdir(root) == []


@pytest.mark.parametrize('cls, folder', [(MNIST, 'mnist'), (FashionMNIST, 'fashion-mnist')])
def test_a_file_already_in_the_default_folder_is_verified(cls, folder, tmp_path):
    # other content under the published name: refused, not read as the dataset
    folder = tmp_path / 'home' / 'datasets' / folder
    write_split(folder, train=False, md5sums=False)
    with pytest.raises(ChecksumError) as info:
        cls(train=False)
    message = str(info.value)
    path = folder / TEST_FILES[0]
    digest = hashlib.md5(path.read_bytes()).hexdigest()
    assert message.startswith(f'{cls.__name__}: {path} is not the file {TEST_FILES[0]} of ')
    assert f'its MD5 is {digest}, expected {cls.md5[TEST_FILES[0]]}' in message
    assert 'Delete it' in message and str(folder / 'MD5SUMS') in message
    assert 'pass root= another folder that holds them' in message
    assert info.value.file_name == TEST_FILES[0] and info.value.folder == str(folder)


def test_fashion_mnist_files_in_the_mnist_folder_are_refused(monkeypatch, tmp_path):
    # the two datasets use the same file names: only the checksums tell them apart
    fashion = tmp_path / 'home' / 'datasets' / 'fashion-mnist'
    write_split(fashion, train=False, md5sums=False)
    sums = {n: hashlib.md5((fashion / n).read_bytes()).hexdigest() for n in TEST_FILES}
    monkeypatch.setattr(FashionMNIST, 'md5', sums)
    np.testing.assert_array_equal(FashionMNIST(train=False).label, LABELS)
    mnist = tmp_path / 'home' / 'datasets' / 'mnist'
    mnist.mkdir()
    for name in TEST_FILES:
        (mnist / name).write_bytes((fashion / name).read_bytes())
    with pytest.raises(ChecksumError, match='^MNIST: .*use the same file names'):
        MNIST(train=False)


@both
def test_files_of_ones_own_in_a_root_load_without_md5sums(cls, tmp_path):
    write_split(tmp_path, train=False, md5sums=False)
    np.testing.assert_array_equal(cls(train=False, root=tmp_path).label, LABELS)
    assert sorted(os.listdir(tmp_path)) == sorted(TEST_FILES)  # nothing fetched or written


@pytest.mark.parametrize('cls, other', [(MNIST, FashionMNIST), (FashionMNIST, MNIST)])
def test_the_other_datasets_published_files_are_refused_in_a_root(
    cls, other, monkeypatch, tmp_path
):
    write_split(tmp_path, train=False, md5sums=False)
    sums = {n: hashlib.md5((tmp_path / n).read_bytes()).hexdigest() for n in TEST_FILES}
    monkeypatch.setattr(other, 'md5', sums)  # as if these were the other's real files
    with pytest.raises(ChecksumError) as info:
        cls(train=False, root=tmp_path)
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}: {tmp_path / TEST_FILES[0]} is {other.__name__}'s")
    assert f'load it with {other.__name__}' in message


@pytest.mark.parametrize('cls, other', [(MNIST, FashionMNIST), (FashionMNIST, MNIST)])
def test_the_other_datasets_published_files_are_refused_though_md5sums_lists_them(
    cls, other, monkeypatch, tmp_path
):
    write_split(tmp_path, train=False)  # MD5SUMS lists both files
    sums = {n: hashlib.md5((tmp_path / n).read_bytes()).hexdigest() for n in TEST_FILES}
    monkeypatch.setattr(other, 'md5', sums)  # as if these were the other's real files
    with pytest.raises(ChecksumError, match=f"is {other.__name__}'s file"):
        cls(train=False, root=tmp_path)


@pytest.mark.parametrize('cls, folder', [(MNIST, 'mnist'), (FashionMNIST, 'fashion-mnist')])
def test_the_default_folder_given_as_root_is_verified_as_the_default(cls, folder, tmp_path):
    folder = tmp_path / 'home' / 'datasets' / folder
    write_split(folder, train=False, md5sums=False)
    with pytest.raises(ChecksumError, match=f'{TEST_FILES[0]} is not the file'):
        cls(train=False, root=folder)
    with pytest.raises(ChecksumError, match=f'{TEST_FILES[0]} is not the file'):
        cls(train=False, root=tmp_path / 'home' / 'datasets' / '.' / folder.name)


def test_a_damaged_file_of_ones_own_is_refused(tmp_path):
    write_split(tmp_path, train=False, md5sums=False)
    path = tmp_path / TEST_FILES[0]
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # gzip's own checksum catches it
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=f'^MNIST: {path} is not a complete gzip file'):
        MNIST(train=False, root=tmp_path)


@both
def test_md5sums_lets_other_files_load_and_guards_them(cls, tmp_path):
    write_split(tmp_path, train=False)  # MD5SUMS lists both files
    np.testing.assert_array_equal(cls(train=False, root=tmp_path).label, LABELS)
    # an MD5SUMS as md5sum writes it in binary mode, with a comment, also works
    sums = tmp_path / 'MD5SUMS'
    lines = sums.read_text().splitlines()
    sums.write_text('# my digits\n\n' + ''.join(line.replace('  ', ' *') + '\n' for line in lines))
    assert len(cls(train=False, root=tmp_path)) == 3
    # a file changed after it was listed: refused, naming the list
    write_gz(tmp_path / TEST_FILES[1], idx_bytes(2049, (3,), bytes([1, 1, 1])))
    with pytest.raises(ChecksumError) as info:
        cls(train=False, root=tmp_path)
    assert str(info.value).startswith(f'{cls.__name__}: {tmp_path / TEST_FILES[1]} does not ')
    assert f'its checksum in {sums}' in str(info.value)


@both
def test_a_file_md5sums_does_not_list_is_read_as_it_is(cls, tmp_path):
    write_split(tmp_path, train=False, md5sums=False)
    mnist_files.list_md5(tmp_path, TEST_FILES[1:])  # the labels only
    np.testing.assert_array_equal(cls(train=False, root=tmp_path).data[:, 0], IMAGES)
    write_gz(tmp_path / TEST_FILES[1], idx_bytes(2049, (3,), bytes([1, 1, 1])))
    with pytest.raises(ChecksumError, match=f'{TEST_FILES[1]} does not match its checksum'):
        cls(train=False, root=tmp_path)


@pytest.mark.parametrize(
    'line', ['0123  t10k-images-idx3-ubyte.gz', 'f' * 32, f'{"g" * 32}  {TEST_FILES[0]}']
)
def test_a_malformed_md5sums_line_is_named(line, tmp_path):
    write_split(tmp_path, train=False)
    sums = tmp_path / 'MD5SUMS'
    sums.write_text(sums.read_text() + line + '\n')
    with pytest.raises(ValueError, match='^MNIST: line 3 of ') as info:
        MNIST(train=False, root=tmp_path)
    assert f'{sums} is not ' in str(info.value) and repr(line) in str(info.value)


def md5sums_text(folder, name=lambda n: n):
    """The MD5SUMS lines of the test split in ``folder``, each name passed to ``name``."""
    return ''.join(
        f'{hashlib.md5((folder / n).read_bytes()).hexdigest()}  {name(n)}\n' for n in TEST_FILES
    )


@both
@pytest.mark.parametrize('encoding', ['utf-16', 'utf-16-le', 'utf-16-be', 'utf-8-sig'])
def test_md5sums_with_a_byte_order_mark_is_read(cls, encoding, tmp_path):
    # PowerShell 5's `md5sum *.gz > MD5SUMS` writes UTF-16 with a BOM; Notepad UTF-8 with one
    write_split(tmp_path, train=False, md5sums=False)
    text = md5sums_text(tmp_path)
    bom = '' if encoding in ('utf-16', 'utf-8-sig') else '\ufeff'
    (tmp_path / 'MD5SUMS').write_bytes((bom + text).encode(encoding))
    np.testing.assert_array_equal(cls(train=False, root=tmp_path).label, LABELS)


@both
@pytest.mark.parametrize(
    'content',
    [b'\x80\x81 not text\n', b'\xff\xfe odd\n', '0123'.encode('utf-16-le'), b'ab\x00cd\n'],
)
def test_md5sums_that_is_not_text_is_named(cls, content, tmp_path):
    write_split(tmp_path, train=False)
    sums = tmp_path / 'MD5SUMS'
    sums.write_bytes(content)
    with pytest.raises(ValueError, match=f'^{cls.__name__}: ') as info:
        cls(train=False, root=tmp_path)
    assert str(sums) in str(info.value) and 'UTF-8 or UTF-16' in str(info.value)


@both
def test_md5sums_that_is_a_folder_is_named(cls, tmp_path):
    write_split(tmp_path, train=False, md5sums=False)
    (tmp_path / 'MD5SUMS').mkdir()
    with pytest.raises(IsADirectoryError, match=f'^{cls.__name__}: ') as info:
        cls(train=False, root=tmp_path)
    assert f'{tmp_path / "MD5SUMS"} is a folder' in str(info.value)


@both
def test_md5sums_names_starting_with_dot_slash_are_the_folders_files(cls, tmp_path):
    # as `md5sum ./*.gz > MD5SUMS` writes them
    write_split(tmp_path, train=False, md5sums=False)
    sums = tmp_path / 'MD5SUMS'
    sums.write_text(md5sums_text(tmp_path, lambda n: './' + n))
    np.testing.assert_array_equal(cls(train=False, root=tmp_path).label, LABELS)
    sums.write_text(md5sums_text(tmp_path, lambda n: '././' + n).replace('  ', ' *'))
    assert len(cls(train=False, root=tmp_path)) == 3
    # and the files they list are verified against them
    write_gz(tmp_path / TEST_FILES[1], idx_bytes(2049, (3,), bytes([1, 1, 1])))
    with pytest.raises(ChecksumError, match=f'its checksum in {sums}'):
        cls(train=False, root=tmp_path)


@pytest.mark.parametrize('prefix', ['sub/', '../', '/abs/', './sub/', 'sub/./'])
def test_md5sums_names_in_other_folders_are_refused(prefix, tmp_path):
    write_split(tmp_path, train=False)
    sums = tmp_path / 'MD5SUMS'
    line = f'{"0" * 32}  {prefix}{TEST_FILES[0]}'
    sums.write_text(sums.read_text() + line + '\n')
    with pytest.raises(ValueError, match=f'^MNIST: line 3 of {sums} names ') as info:
        MNIST(train=False, root=tmp_path)
    assert repr(f'{prefix}{TEST_FILES[0]}') in str(info.value)
    assert 'plain file names' in str(info.value)


def test_md5sums_listing_a_file_twice_with_two_checksums_is_refused(tmp_path):
    write_split(tmp_path, train=False)
    sums = tmp_path / 'MD5SUMS'
    first = sums.read_text()
    sums.write_text(first + '# again\n' + first)  # the same checksums twice: fine
    assert len(MNIST(train=False, root=tmp_path)) == 3
    sums.write_text(f'{first}\n{"0" * 32}  ./{TEST_FILES[1]}\n')
    with pytest.raises(ValueError, match=f'^MNIST: {sums} lists {TEST_FILES[1]} twice') as info:
        MNIST(train=False, root=tmp_path)
    assert 'lines 2 and 4' in str(info.value)


@pytest.mark.parametrize(
    'name, content, pattern',
    [
        (
            TEST_FILES[0],
            idx_bytes(2049, (3, 28, 28), IMAGES.tobytes()),
            'not an IDX images file: magic number 2049, expected 2051',
        ),
        (
            TEST_FILES[1],
            idx_bytes(2051, (3,), LABELS.tobytes()),
            'not an IDX labels file: magic number 2051, expected 2049',
        ),
        (
            TEST_FILES[0],
            idx_bytes(2051, (3, 28, 28), IMAGES.tobytes()[:-5]),
            'holds 2347 bytes of images but its header announces 3 x 28 x 28 = 2352',
        ),
        (
            TEST_FILES[0],  # 2**64 bytes, which an int64 product makes 0
            idx_bytes(2051, (2**31, 2**31, 4), b''),
            'holds 0 bytes of images but its header announces '
            '2147483648 x 2147483648 x 4 = 18446744073709551616',
        ),
        (
            TEST_FILES[0],
            idx_bytes(2051, (2**32 - 1,) * 3, IMAGES.tobytes()),
            'holds 2352 bytes of images but its header announces 4294967295 x '
            '4294967295 x 4294967295 = 79228162458924105385300197375$',
        ),
        (TEST_FILES[1], b'\x00\x00', 'too short'),
        (
            TEST_FILES[0],
            idx_bytes(2051, (1, 56, 42), IMAGES.tobytes()),
            'images of 56x42 pixels, expected 28x28',
        ),
        (TEST_FILES[1], idx_bytes(2049, (2,), bytes([1, 2])), '3 images but .* 2 labels'),
        (TEST_FILES[1], idx_bytes(2049, (3,), bytes([1, 2, 10])), 'label 10, expected 0 to 9'),
    ],
)
@both
def test_corrupt_files_give_clear_errors(cls, test_only, name, content, pattern):
    write_gz(test_only / name, content)
    with pytest.raises(ValueError, match=pattern) as info:
        cls(train=False, root=test_only)
    assert str(test_only) in str(info.value)


@pytest.mark.parametrize('content', [b'not gzip at all', None])
@both
def test_non_gzip_or_truncated_file(cls, test_only, content):
    path = test_only / TEST_FILES[0]
    if content is None:  # a cut-off gzip stream
        content = path.read_bytes()[:-20]
    path.write_bytes(content)
    with pytest.raises(ValueError, match='not a complete gzip file') as info:
        cls(train=False, root=test_only)
    assert TEST_FILES[0] in str(info.value)


@both
def test_a_folder_in_place_of_a_file_is_named(cls, test_only):
    path = test_only / TEST_FILES[1]
    path.unlink()
    path.mkdir()
    with pytest.raises(
        IsADirectoryError, match=f'^{cls.__name__}: .* is a folder, expected'
    ) as info:
        cls(train=False, root=test_only)
    assert str(path) in str(info.value)


def test_shakespeare_file_that_is_a_folder_is_named(tmp_path):
    from dezero.datasets import Shakespeare

    path = tmp_path / 'home' / 'downloads' / Shakespeare.file_name
    path.mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match='^Shakespeare: .* is a folder, expected a file'):
        Shakespeare()


def test_fetch_checking_the_md5_of_a_folder_names_it(tmp_path):
    from dezero.datasets.base import fetch

    path = tmp_path / 'home' / 'downloads' / 'data.bin'
    path.mkdir(parents=True)
    url = (tmp_path / 'no-mirror' / 'data.bin').as_uri()
    with pytest.raises(IsADirectoryError, match='^Owner: .*data.bin is a folder, expected a file'):
        fetch('Owner', url, md5='0' * 32)


def test_class_names():
    assert MNIST.labels() == {i: str(i) for i in range(10)}
    assert FashionMNIST.labels() == {
        0: 'T-shirt/top',
        1: 'Trouser',
        2: 'Pullover',
        3: 'Dress',
        4: 'Coat',
        5: 'Sandal',
        6: 'Shirt',
        7: 'Sneaker',
        8: 'Bag',
        9: 'Ankle boot',
    }
    assert FashionMNIST.labels() is not FashionMNIST.labels()  # a fresh dict each time


@pytest.mark.parametrize('cls', [MNIST, FashionMNIST])
def test_mnist_refuses_a_train_that_is_not_a_bool(cls, test_only):
    # 'False' would have been the training split, whose files are not there
    with pytest.raises(TypeError, match=f"{cls.__name__}: train must be True .*, got 'False'"):
        cls(train='False', root=test_only)
    ds = cls(train=np.bool_(False), root=test_only, transform=Flatten())  # the book's usage
    assert ds.train is False and ds[0][0].shape == (784,)


def test_errors_name_the_dataset(test_only):
    write_gz(test_only / TEST_FILES[1], idx_bytes(2049, (3,), bytes([1, 2, 10])))
    with pytest.raises(ValueError, match=r'^FashionMNIST: .*label 10, expected 0 to 9'):
        FashionMNIST(train=False, root=test_only)
    with pytest.raises(ValueError, match=r'^MNIST: .*label 10, expected 0 to 9'):
        MNIST(train=False, root=test_only)
    with pytest.raises(DownloadError, match='^FashionMNIST: the file'):
        FashionMNIST(train=True, root=test_only)


@both
def test_mnist_show_draws_a_grey_grid_of_random_images(cls, monkeypatch, test_only):
    matplotlib = pytest.importorskip('matplotlib')
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, 'show', lambda: None)
    np.random.seed(1)
    picks = np.random.randint(0, 3, size=4)
    np.random.seed(1)
    cls(train=False, root=test_only).show(row=1, col=4)
    shown = plt.gca().images[-1]
    grid = np.asarray(shown.get_array())
    cmap = shown.get_cmap().name
    plt.close('all')
    assert grid.shape == (28, 4 * 28) and cmap == 'gray'
    np.testing.assert_array_equal(grid[:, 28:56], IMAGES[picks[1]])


@both
def test_show_on_an_empty_dataset_says_so(cls, tmp_path):
    folder = tmp_path / 'empty'
    write_split(folder, images=np.zeros((0, 28, 28), np.uint8), labels=np.zeros(0, np.uint8))
    ds = cls(train=False, root=folder)
    assert len(ds) == 0
    with pytest.raises(ValueError, match=f'{cls.__name__}.show: the dataset holds no images'):
        ds.show()


# ---- the real test split, when this checkout has it -----------------------------------
@pytest.mark.skipif(
    not mnist_files.has_real_mnist(), reason='the real MNIST test split is not available here'
)
def test_real_mnist_test_split():
    ds = MNIST(train=False, root=REAL_MNIST)
    assert ds.data.shape == (10000, 1, 28, 28)
    assert np.bincount(ds.label).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert ds.label[:5].tolist() == [7, 2, 1, 0, 4]
    x, t = ds[0]
    assert x.shape == (784,) and x.dtype == np.float32 and x.max() == 1.0 and t == 7


def test_big_data_reads_each_sample_from_its_files(tmp_path):
    from dezero.dataloaders import DataLoader
    from dezero.datasets import BigData

    (tmp_path / 'data').mkdir()
    (tmp_path / 'label').mkdir()
    for i in range(5):
        np.save(tmp_path / 'data' / f'{i}.npy', np.full(3, i, np.float32))
        np.save(tmp_path / 'label' / f'{i}.npy', np.array(i % 2))
    data = BigData(tmp_path)
    assert len(data) == 5
    x, t = data[3]
    np.testing.assert_array_equal(x, [3.0, 3.0, 3.0])
    assert t == 1 and data[-1][1] == 0
    x, t = next(iter(DataLoader(data, 5, shuffle=False)))
    assert x.shape == (5, 3) and list(t) == [0, 1, 0, 1, 0]
    with pytest.raises(IndexError, match='BigData: index 5 is out of range for 5 items'):
        data[5]
    with pytest.raises(FileNotFoundError, match='BigData: no folder'):
        BigData(tmp_path / 'missing')
    with pytest.raises(FileNotFoundError):
        BigData(tmp_path, size=6)[5]


def big_data_folder(folder, n=4):
    """A BigData folder of ``n`` samples: data i is [i, i, i], label i % 2."""
    (folder / 'data').mkdir(parents=True)
    (folder / 'label').mkdir()
    for i in range(n):
        np.save(folder / 'data' / f'{i}.npy', np.full(3, i, np.float32))
        np.save(folder / 'label' / f'{i}.npy', np.array(i % 2))
    return folder


@pytest.mark.parametrize(
    'damage, cause',
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-4]), ValueError),  # cut short
        (lambda p: p.write_bytes(b''), EOFError),
        (lambda p: np.save(p, np.array([{'a': 1}], dtype=object)), ValueError),  # pickled
    ],
)
@pytest.mark.parametrize('folder', ['data', 'label'])
def test_big_data_names_a_damaged_file_and_its_sample(tmp_path, damage, cause, folder):
    from dezero.datasets import BigData

    data = BigData(big_data_folder(tmp_path))
    path = tmp_path / folder / '2.npy'
    damage(path)
    with pytest.raises(ValueError, match='^BigData: the file .* of sample 2 is damaged') as info:
        data[-2]
    assert str(path) in str(info.value)
    assert isinstance(info.value.__cause__, cause)
    assert data[1][1] == 1  # the other samples still load


def test_big_data_refuses_an_npz_archive_in_place_of_an_npy_file(tmp_path):
    from dezero.datasets import BigData

    data = BigData(big_data_folder(tmp_path))
    with open(tmp_path / 'data' / '0.npy', 'wb') as f:
        np.savez(f, x=np.zeros(3))
    with pytest.raises(ValueError, match='BigData: the file .*0.npy of sample 0 is an .npz'):
        data[0]


@both
def test_mnist_root_may_be_a_str_bytes_or_path_object(cls, test_only):
    for root in (str(test_only), os.fsencode(test_only), test_only):
        ds = cls(train=False, root=root)
        assert ds.root == str(test_only) and len(ds) == 3


@both
@pytest.mark.parametrize('root', [3, 2.5, ['a']])
def test_mnist_root_of_another_type_is_refused_by_name(cls, root):
    name = cls.__name__
    pattern = rf'^{name}: root must be the path of a folder \(a str, bytes or path object\)'
    with pytest.raises(TypeError, match=pattern + f', got {re.escape(repr(root))}$'):
        cls(root=root)


@both
def test_a_file_given_as_root_is_named_with_the_fix(cls, tmp_path):
    root = tmp_path / 'a-file'
    root.write_text('x')
    with pytest.raises(NotADirectoryError) as info:
        cls(train=False, root=root)
    assert str(info.value) == (
        f'{cls.__name__}: {root} is a file, where a folder was expected; remove the '
        f'file, or pass root= another folder'
    )
    assert info.value.filename == str(root) and root.read_text() == 'x'


@both
@pytest.mark.parametrize('where', ['datasets', ''])
def test_a_file_where_the_default_root_or_dezero_home_belongs_is_named(cls, where, tmp_path):
    home = tmp_path / 'home'
    home.parent.mkdir(exist_ok=True)
    if where:
        home.mkdir()
    blocking = home / where if where else home
    blocking.write_text('x')
    with pytest.raises(NotADirectoryError, match=f'^{cls.__name__}: ') as info:
        cls(train=False)
    root = home / 'datasets' / cls.folder
    assert str(info.value) == (
        f'{cls.__name__}: {blocking} is a file, where a folder was expected (on the way '
        f'to {root}); remove the file, or set DEZERO_HOME to another folder, or pass '
        f'root= another folder'
    )


def test_big_data_root_may_be_bytes(tmp_path):
    from dezero.datasets import BigData

    (tmp_path / 'data').mkdir()
    (tmp_path / 'label').mkdir()
    np.save(tmp_path / 'data' / '0.npy', np.ones(2))
    np.save(tmp_path / 'label' / '0.npy', np.array(1))
    data = BigData(os.fsencode(tmp_path))
    assert data.root == str(tmp_path) and len(data) == 1 and data[0][1] == 1


@pytest.mark.parametrize('root', [None, 3])
def test_big_data_root_must_be_a_path(root):
    from dezero.datasets import BigData

    with pytest.raises(TypeError, match=f'BigData: root must be the path of a folder .*got {root}'):
        BigData(root)


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='needs FIFOs')
@pytest.mark.parametrize('folder', ['data', 'label'])
def test_big_data_refuses_a_fifo_without_waiting_for_a_writer(tmp_path, folder):
    import threading

    from dezero.datasets import BigData

    data = BigData(big_data_folder(tmp_path))
    fifo = tmp_path / folder / '3.npy'
    fifo.unlink()
    os.mkfifo(fifo)
    outcome = []

    def read():
        try:
            data[3]
        except Exception as e:
            outcome.append(e)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # opening the FIFO waits for a writer: be one, to free the thread
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=10)
        pytest.fail('BigData waited for a writer of the FIFO instead of refusing it')
    (error,) = outcome
    assert isinstance(error, OSError)
    assert str(error).startswith('BigData: ') and str(fifo) in str(error)
    assert 'a FIFO (named pipe), not a regular file' in str(error)


@pytest.mark.parametrize('folder', ['data', 'label'])
def test_big_data_names_a_folder_in_place_of_a_file(tmp_path, folder):
    from dezero.datasets import BigData

    data = BigData(big_data_folder(tmp_path))
    path = tmp_path / folder / '1.npy'
    path.unlink()
    path.mkdir()
    with pytest.raises(IsADirectoryError, match='^BigData: .* is a folder') as info:
        data[1]
    assert str(path) in str(info.value)


def test_big_data_names_a_missing_file_and_its_sample(tmp_path):
    from dezero.datasets import BigData

    data = BigData(big_data_folder(tmp_path))
    path = tmp_path / 'label' / '2.npy'
    path.unlink()
    with pytest.raises(FileNotFoundError, match='^BigData: no such file: .*sample 2') as info:
        data[2]
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    'array',
    [
        np.array([1 + 2j, 3j], np.complex64),
        np.array(['2024-01-01'], 'datetime64[D]'),
        np.array([1, 2], 'timedelta64[s]'),
        np.zeros(2, dtype=[('x', np.float32), ('y', np.int64)]),
        np.array(['ab', 'cd'], '<U2'),
        np.array([b'ab'], 'S2'),
    ],
    ids=lambda a: str(a.dtype),
)
@pytest.mark.parametrize('folder', ['data', 'label'])
def test_big_data_refuses_arrays_that_are_not_real_numbers(tmp_path, array, folder):
    from dezero.datasets import BigData

    data = BigData(big_data_folder(tmp_path))
    path = tmp_path / folder / '2.npy'
    np.save(path, array)
    with pytest.raises(ValueError, match='^BigData: the file .* of sample 2 holds ') as info:
        data[2]
    message = str(info.value)
    assert str(path) in message and str(array.dtype) in message
    assert 'expected real numbers (bool, integer or floating point)' in message


@pytest.mark.parametrize('dtype', [np.bool_, np.int8, np.uint16, np.float16, np.float64])
def test_big_data_reads_bool_integer_and_floating_point_arrays(tmp_path, dtype):
    from dezero.datasets import BigData

    data = BigData(big_data_folder(tmp_path))
    np.save(tmp_path / 'data' / '1.npy', np.ones(3, dtype))
    x, t = data[1]
    assert x.dtype == dtype and t == 1
    np.testing.assert_array_equal(x, np.ones(3))

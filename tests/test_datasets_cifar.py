"""CIFAR10 and CIFAR100 on tiny archives in the published binary format, written by the
tests into DEZERO_HOME (a temporary folder) or served from file:// URLs."""

import errno
import hashlib
import inspect
import os
import pickle
import zipfile

import numpy as np
import pytest

import dezero.datasets.cache as cache
from dezero.datasets import CIFAR10, CIFAR100, load_cache_npz
from dezero.download import ChecksumError, DownloadError

from dataset_files import block_network, cifar_records, random_images, write_tar_gz

CIFAR10_TRAIN = [f'cifar-10-batches-bin/data_batch_{i}.bin' for i in range(1, 6)]
CIFAR10_TEST = 'cifar-10-batches-bin/test_batch.bin'

# Five training batches of 2 images each and a test batch of 3: labels 0 to 9 in turn.
TRAIN_IMAGES = random_images(10, seed=0)
TRAIN_LABELS = np.arange(10)
TEST_IMAGES = random_images(3, seed=1)
TEST_LABELS = np.array([9, 0, 4])


CIFAR10_MD5 = CIFAR10.md5  # the published archive's


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    block_network(monkeypatch, tmp_path / 'home')
    for cls in (CIFAR10, CIFAR100):  # a mirror that does not exist
        monkeypatch.setattr(
            cls, 'url', (tmp_path / 'no-mirror' / os.path.basename(cls.url)).as_uri()
        )
        monkeypatch.setattr(cls, 'md5', None)  # the tests' archives are not the published ones


@pytest.fixture
def downloads(tmp_path):
    return tmp_path / 'home' / 'downloads'


def cifar10_members():
    members = {
        name: cifar_records(TRAIN_IMAGES[2 * i : 2 * i + 2], TRAIN_LABELS[2 * i : 2 * i + 2])
        for i, name in enumerate(CIFAR10_TRAIN)
    }
    members[CIFAR10_TEST] = cifar_records(TEST_IMAGES, TEST_LABELS)
    return members


def write_cifar10(folder, members=None):
    path = folder / 'cifar-10-binary.tar.gz'
    write_tar_gz(path, cifar10_members() if members is None else members)
    return path


# ---- reading ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    'train, images, labels', [(True, TRAIN_IMAGES, TRAIN_LABELS), (False, TEST_IMAGES, TEST_LABELS)]
)
def test_cifar10_reads_images_and_labels_in_order(downloads, train, images, labels):
    write_cifar10(downloads)
    ds = CIFAR10(train=train, transform=None)
    assert ds.data.shape == (len(images), 3, 32, 32) and ds.data.dtype == np.uint8
    assert ds.label.dtype == np.int64
    np.testing.assert_array_equal(ds.data, images)
    np.testing.assert_array_equal(ds.label, labels)
    x, t = ds[1]
    np.testing.assert_array_equal(x, images[1])
    assert t == labels[1]


def test_record_pixels_are_red_green_blue_planes_row_by_row(downloads):
    image = np.zeros((1, 3, 32, 32), np.uint8)
    image[0, 0, 0, 1] = 11  # red, row 0, column 1: pixel byte 1
    image[0, 2, 1, 0] = 22  # blue, row 1, column 0: byte 2 * 1024 + 32
    raw = cifar_records(image, [5])
    assert raw[1 + 1] == 11 and raw[1 + 2 * 1024 + 32] == 22 and raw[0] == 5
    members = cifar10_members()
    members[CIFAR10_TEST] = raw
    write_cifar10(downloads, members)
    np.testing.assert_array_equal(CIFAR10(train=False, transform=None).data, image)


def test_default_transform_gives_float32_in_minus_one_to_one(downloads):
    image = np.zeros((1, 3, 32, 32), np.uint8)
    image[0, 0, 0, :3] = [0, 255, 51]
    members = cifar10_members()
    members[CIFAR10_TEST] = cifar_records(image, [3])
    write_cifar10(downloads, members)
    x, t = CIFAR10(train=False)[0]
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0, 0, :3], np.float32([-1.0, 1.0, -0.6]))
    assert x.min() == -1.0 and x.max() == 1.0 and t == 3


@pytest.mark.parametrize('cls', [CIFAR10, CIFAR100])
def test_each_dataset_gets_its_own_default_transform(downloads, cls):
    write_cifar10(downloads)
    write_cifar100(downloads)
    train, test = cls(train=True), cls(train=False)
    assert train.transform is not test.transform
    train.transform.transforms.append(lambda x: x * 0)
    assert len(test.transform.transforms) == 2 and test[0][0].any()
    assert cls(train=False)[0][0].any() and not train[0][0].any()
    default = inspect.signature(cls).parameters['transform'].default
    assert len(default.transforms) == 2  # the default of the signature is untouched


def test_labels():
    labels = CIFAR10.labels()
    assert labels[0] == 'airplane' and labels[9] == 'truck' and len(labels) == 10
    fine, coarse = CIFAR100.labels(), CIFAR100.labels('coarse')
    assert sorted(fine) == list(range(100)) and sorted(coarse) == list(range(20))
    assert (fine[0], fine[1], fine[99]) == ('apple', 'aquarium fish', 'worm')
    assert (coarse[0], coarse[19]) == ('aquatic mammals', 'vehicles 2')
    assert CIFAR100.labels(label_type='fine') == fine
    with pytest.raises(ValueError, match="label_type must be 'fine' or 'coarse', got 'x'"):
        CIFAR100.labels('x')


# ---- the cache of decoded arrays -------------------------------------------------------
def test_decoded_split_is_cached_beside_the_archive(downloads):
    archive = write_cifar10(downloads)
    CIFAR10(train=False)
    assert sorted(os.listdir(downloads)) == [
        'cifar-10-binary.tar.gz',
        'cifar-10-binary.tar.gz.test.npz',
    ]
    data, label = load_cache_npz('cifar-10-binary.tar.gz', train=False)
    np.testing.assert_array_equal(data, TEST_IMAGES)
    archive.unlink()  # the cache alone is enough now
    np.testing.assert_array_equal(CIFAR10(train=False, transform=None).data, TEST_IMAGES)


@pytest.mark.parametrize(
    'error',
    [
        PermissionError(errno.EACCES, 'Permission denied'),
        OSError(errno.ENOSPC, 'No space left on device'),
    ],
    ids=['read-only', 'full'],
)
@pytest.mark.parametrize('cls', [CIFAR10, CIFAR100])
def test_a_cache_that_cannot_be_written_is_warned_of_and_the_data_used(
    monkeypatch, downloads, cls, error
):
    write_cifar10(downloads)
    images, _, fine = write_cifar100(downloads)

    def cannot_write(*args, **kwargs):
        raise error

    monkeypatch.setattr(cache, 'atomic_open', cannot_write)
    with pytest.warns(RuntimeWarning) as caught:
        ds = cls(transform=None)
    assert len(caught) == 1 and caught[0].filename == __file__  # the user's line
    name = 'cifar-10-binary.tar.gz' if cls is CIFAR10 else 'cifar-100-binary.tar.gz.fine'
    path = downloads / f'{name}.train.npz'
    assert str(caught[0].message) == (
        f'{cls.__name__}: cannot write the cache {path} ({error}); the data is used '
        f'without a cache, and will be decoded from the archive again at the next load'
    )
    np.testing.assert_array_equal(ds.data, TRAIN_IMAGES if cls is CIFAR10 else images)
    np.testing.assert_array_equal(ds.label, TRAIN_LABELS if cls is CIFAR10 else fine)
    assert not path.exists()


def test_a_file_where_the_download_folder_belongs_is_named(downloads):
    downloads.parent.mkdir()
    downloads.write_text('x')
    with pytest.raises(NotADirectoryError) as info:
        CIFAR10()
    assert str(info.value) == (
        f'CIFAR10: {downloads} is a file, where a folder was expected; remove the file, '
        f'or set DEZERO_HOME to another folder'
    )
    # an archive where the book's DeZero keeps it is read, and only the cache is missed
    write_cifar10(downloads.parent)
    with pytest.warns(RuntimeWarning, match=r'CIFAR10: cannot write the cache .*save_cache_npz'):
        ds = CIFAR10(train=False, transform=None)
    np.testing.assert_array_equal(ds.data, TEST_IMAGES)


def test_a_cache_of_the_wrong_shape_is_an_error(downloads):
    from dezero.datasets import save_cache_npz

    save_cache_npz(np.zeros((2, 3, 16, 16), np.uint8), np.zeros(2), 'cifar-10-binary.tar.gz')
    with pytest.raises(ValueError, match=r'holds data uint8 \(2, 3, 16, 16\).*delete it'):
        CIFAR10(train=False)


def test_a_cache_holding_no_arrays_says_to_delete_it(downloads):
    # CIFAR10 failed with AttributeError: 'bytes' object has no attribute 'dtype'
    downloads.mkdir(parents=True)
    path = downloads / 'cifar-10-binary.tar.gz.test.npz'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('data.npy', 'raw')
        archive.writestr('label.npy', 'raw')
    with pytest.raises(
        ValueError,
        match=r"^load_cache_npz: cannot read .*test\.npz as an \.npz archive: its entry 'data' "
        r'is not an array in the \.npy format; so it is not a dataset cache: delete it and '
        r'it will be made again$',
    ):
        CIFAR10(train=False)


@pytest.mark.parametrize(
    'label, problem',
    [
        (np.array([0, 1, 2, 99]), 'the label 99, expected 0 to 9'),
        (np.array([0, -1, 2, 3]), 'the label -1, expected 0 to 9'),
        (np.array([0.0, 1.0, 2.0, 3.0]), 'labels of dtype float64, expected integers'),
        (np.array([True, False, True, True]), 'labels of dtype bool, expected integers'),
    ],
)
def test_a_cache_with_bad_labels_is_an_error(downloads, label, problem):
    from dezero.datasets import save_cache_npz

    path = save_cache_npz(random_images(4, seed=2), label, 'cifar-10-binary.tar.gz')
    write_cifar10(downloads)  # the archive is there, but the cache is read first
    with pytest.raises(ValueError) as info:
        CIFAR10(train=False)
    assert str(info.value) == (
        f'CIFAR10: the cache {path} holds {problem}; delete it and it will be made again '
        f'from the archive'
    )
    os.remove(path)
    np.testing.assert_array_equal(CIFAR10(train=False).label, TEST_LABELS)


def test_a_cache_with_one_label_too_many_is_an_error(downloads):
    path = downloads / 'cifar-10-binary.tar.gz.test.npz'
    downloads.mkdir(parents=True)
    with open(path, 'wb') as f:  # as save_cache_npz now refuses to write it
        np.savez(f, data=random_images(2, seed=2), label=np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r'labels of shape \(3,\) for 2 images, expected \(2,\)'):
        CIFAR10(train=False)


def test_cifar100_cache_labels_are_checked_against_the_label_type(downloads):
    from dezero.datasets import save_cache_npz

    images = random_images(2, seed=2)
    save_cache_npz(images, np.array([50, 99], np.int32), 'cifar-100-binary.tar.gz.fine')
    save_cache_npz(images, np.array([5, 50], np.int32), 'cifar-100-binary.tar.gz.coarse')
    ds = CIFAR100(train=False, label_type='fine')
    assert ds.label.dtype == np.int64 and ds.label.tolist() == [50, 99]  # int32 cache: int64
    with pytest.raises(ValueError, match='holds the label 50, expected 0 to 19'):
        CIFAR100(train=False, label_type='coarse')


def test_cifar_refuses_a_train_that_is_not_a_bool(downloads):
    write_cifar10(downloads)
    with pytest.raises(TypeError, match="CIFAR10: train must be True .*, got 'False'"):
        CIFAR10(train='False')
    with pytest.raises(TypeError, match='CIFAR100: train must be True .*, got 0'):
        CIFAR100(train=0)
    assert os.listdir(downloads) == ['cifar-10-binary.tar.gz']  # nothing decoded or cached
    np.testing.assert_array_equal(CIFAR10(train=np.bool_(False)).label, TEST_LABELS)


# ---- downloads -------------------------------------------------------------------------
def test_offline_error_names_the_archive_and_the_folder(downloads):
    with pytest.raises(DownloadError) as info:
        CIFAR10()
    message = str(info.value)
    assert message.startswith('CIFAR10: ')
    assert 'cifar-10-binary.tar.gz' in message and str(downloads) in message
    assert 'by hand' in message
    assert os.listdir(downloads) == []  # nothing half-written


def test_archive_is_downloaded_from_the_url_and_checked(monkeypatch, tmp_path, downloads):
    source = write_cifar10(tmp_path / 'mirror')
    monkeypatch.setattr(CIFAR10, 'url', source.as_uri())
    monkeypatch.setattr(CIFAR10, 'md5', hashlib.md5(source.read_bytes()).hexdigest())
    np.testing.assert_array_equal(CIFAR10(train=False).label, TEST_LABELS)
    assert (downloads / 'cifar-10-binary.tar.gz').read_bytes() == source.read_bytes()


def test_download_with_the_wrong_checksum_keeps_nothing(monkeypatch, tmp_path, downloads):
    source = write_cifar10(tmp_path / 'mirror')  # not the published archive
    monkeypatch.setattr(CIFAR10, 'url', source.as_uri())
    monkeypatch.setattr(CIFAR10, 'md5', CIFAR10_MD5)
    with pytest.raises(ChecksumError, match='c32a1d4ab5d03f1284b67883e8d87530'):
        CIFAR10()
    assert os.listdir(downloads) == []


def test_damaged_archive_in_the_cache_offline_is_an_error_naming_it(monkeypatch, downloads):
    archive = write_cifar10(downloads)  # not the published archive: damaged, as far as MD5 goes
    monkeypatch.setattr(CIFAR10, 'md5', CIFAR10_MD5)
    with pytest.raises(DownloadError) as info:
        CIFAR10()
    message = str(info.value)
    assert message.startswith(f'CIFAR10: the file cifar-10-binary.tar.gz is damaged in {downloads}')
    assert str(archive) in message and CIFAR10_MD5 in message
    assert os.listdir(downloads) == ['cifar-10-binary.tar.gz']  # left for inspection, no cache


# ---- corrupt archives ------------------------------------------------------------------
def truncated(path):
    path.write_bytes(path.read_bytes()[:-200])  # cut in the gzip trailer


def cut_in_half(path):
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def flipped_byte(path):
    content = bytearray(path.read_bytes())
    content[-8] ^= 0xFF  # the stored CRC-32
    path.write_bytes(bytes(content))


def not_gzip(path):
    path.write_bytes(b'this is not an archive')


@pytest.mark.parametrize(
    'spoil, pattern',
    [
        (not_gzip, 'not an intact gzip-compressed tar archive'),
        (truncated, 'not an intact gzip-compressed tar archive'),
        (cut_in_half, 'not an intact gzip-compressed tar archive'),
        (flipped_byte, 'CRC check failed'),
    ],
)
def test_corrupt_archive_gives_a_clear_error_and_no_cache(downloads, spoil, pattern):
    spoil(write_cifar10(downloads))
    with pytest.raises(ValueError, match=pattern) as info:
        CIFAR10()
    assert str(downloads / 'cifar-10-binary.tar.gz') in str(info.value)
    assert os.listdir(downloads) == ['cifar-10-binary.tar.gz']


@pytest.mark.parametrize(
    'change, pattern',
    [
        (lambda m: m.pop(CIFAR10_TRAIN[3]), r'lacks the member\(s\) .*data_batch_4.bin'),
        (
            lambda m: m.update({CIFAR10_TRAIN[0]: m[CIFAR10_TRAIN[0]][:-1]}),
            'data_batch_1.bin .* holds 6145 bytes, not a whole number of 3073-byte records',
        ),
        (lambda m: m.update({CIFAR10_TRAIN[0]: b''}), 'holds 0 bytes'),
        (
            lambda m: m.update({CIFAR10_TRAIN[1]: cifar_records(TRAIN_IMAGES[:1], [10])}),
            'the label 10, expected 0 to 9',
        ),
    ],
)
def test_wrong_content_gives_a_clear_error_and_no_cache(downloads, change, pattern):
    members = cifar10_members()
    change(members)
    write_cifar10(downloads, members)
    with pytest.raises(ValueError, match=pattern):
        CIFAR10(train=True)
    assert os.listdir(downloads) == ['cifar-10-binary.tar.gz']


class _Hostile:
    """Unpickling this would create the file ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


def test_python_version_archive_is_refused_without_unpickling(downloads, tmp_path):
    marker = tmp_path / 'unpickled'
    hostile = pickle.dumps({b'data': _Hostile(str(marker)), b'labels': [0]})
    write_cifar10(
        downloads,
        {'cifar-10-batches-py/test_batch': hostile, 'cifar-10-batches-py/data_batch_1': hostile},
    )
    with pytest.raises(ValueError, match='lacks the member'):
        CIFAR10(train=False)
    assert not marker.exists()


# ---- CIFAR100 --------------------------------------------------------------------------
def write_cifar100(folder):
    images = random_images(4, seed=2)
    coarse, fine = np.array([0, 19, 7, 3]), np.array([99, 0, 42, 15])
    write_tar_gz(
        folder / 'cifar-100-binary.tar.gz',
        {
            'cifar-100-binary/train.bin': cifar_records(images, coarse, fine),
            'cifar-100-binary/test.bin': cifar_records(images[:1], [5], [50]),
        },
    )
    return images, coarse, fine


def test_cifar100_fine_and_coarse_labels_each_with_its_own_cache(downloads):
    images, coarse, fine = write_cifar100(downloads)
    ds = CIFAR100(transform=None)
    assert ds.label_type == 'fine'
    np.testing.assert_array_equal(ds.data, images)
    np.testing.assert_array_equal(ds.label, fine)
    # the coarse labels do not come from the cache of the fine ones
    np.testing.assert_array_equal(CIFAR100(label_type='coarse').label, coarse)
    np.testing.assert_array_equal(CIFAR100(label_type='fine').label, fine)
    np.testing.assert_array_equal(CIFAR100(train=False, label_type='coarse').label, [5])
    assert sorted(os.listdir(downloads)) == [
        'cifar-100-binary.tar.gz',
        'cifar-100-binary.tar.gz.coarse.test.npz',
        'cifar-100-binary.tar.gz.coarse.train.npz',
        'cifar-100-binary.tar.gz.fine.train.npz',
    ]
    assert isinstance(ds, CIFAR10)


def test_cifar100_checks_label_type_and_label_range(downloads):
    with pytest.raises(ValueError, match="CIFAR100: label_type must be 'fine' or 'coarse'"):
        CIFAR100(label_type='medium')
    write_tar_gz(
        downloads / 'cifar-100-binary.tar.gz',
        {'cifar-100-binary/test.bin': cifar_records(random_images(1, 0), [20], [0])},
    )
    with pytest.raises(ValueError, match='the label 20, expected 0 to 19'):
        CIFAR100(train=False, label_type='coarse')


def test_cifar100_offline_error_names_its_archive(downloads):
    with pytest.raises(DownloadError, match='CIFAR100: the file cifar-100-binary.tar.gz is not in'):
        CIFAR100()


# ---- show ------------------------------------------------------------------------------
def test_show_draws_a_grid_of_random_images(monkeypatch, downloads):
    matplotlib = pytest.importorskip('matplotlib')
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, 'show', lambda: None)
    write_cifar10(downloads)
    ds = CIFAR10(train=False)
    np.random.seed(0)
    picks = np.random.randint(0, 3, size=6)
    np.random.seed(0)
    ds.show(row=2, col=3)
    grid = np.asarray(plt.gca().images[-1].get_array())
    plt.close('all')
    assert grid.shape == (64, 96, 3) and grid.dtype == np.uint8
    # tile (1, 2) is the sixth image drawn, as (H, W, RGB)
    np.testing.assert_array_equal(grid[32:, 64:], TEST_IMAGES[picks[5]].transpose(1, 2, 0))
    with pytest.raises(ValueError, match='CIFAR10.show: row must be a positive integer'):
        ds.show(row=0)

"""get_file: caching, checksums, atomic downloads and offline errors.

Nothing here touches the network: sources are file:// URLs to temporary files, or a
fake ``urlopen``; any other URL is refused by the autouse fixture below.
"""

import hashlib
import io
import os
import pickle
import time
import urllib.error
import urllib.request

import pytest

from dezero import download
from dezero.download import ChecksumError, DownloadError, dezero_home, get_file, show_progress

PAYLOAD = bytes(range(256)) * 1000  # 256 kB: several read chunks
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Refuse every URL but file://, and keep DEZERO_HOME inside the test's folder."""
    real_urlopen = urllib.request.urlopen

    def file_only(url, *args, **kwargs):
        assert url.startswith('file:'), f'a test tried to reach the network: {url}'
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, 'urlopen', file_only)
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'home'))


@pytest.fixture
def source(tmp_path):
    """A file to download, and its file:// URL."""
    path = tmp_path / 'src' / 'weights.npz'
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path, path.as_uri()


def test_dezero_home_reads_the_environment_at_each_call(monkeypatch, tmp_path):
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'a'))
    assert dezero_home() == str(tmp_path / 'a')
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'b'))
    assert dezero_home() == str(tmp_path / 'b')
    monkeypatch.delenv('DEZERO_HOME')
    monkeypatch.setenv('HOME', str(tmp_path / 'user'))
    assert dezero_home() == os.path.join(str(tmp_path / 'user'), '.dezero')


def test_downloads_into_cache_dir_and_then_uses_the_cache(source, tmp_path):
    src, url = source
    cache = tmp_path / 'cache'
    path = get_file(url, cache_dir=cache)
    assert path == str(cache / 'weights.npz')
    assert (cache / 'weights.npz').read_bytes() == PAYLOAD
    assert os.listdir(cache) == ['weights.npz']  # no temporary file left over
    src.unlink()  # the cache no longer needs it
    assert get_file(url, cache_dir=cache) == path


def test_default_folder_is_under_dezero_home_and_file_name_can_be_chosen(source, tmp_path):
    _, url = source
    path = get_file(url, file_name='w.bin', md5=PAYLOAD_MD5.upper())
    assert path == os.path.join(str(tmp_path / 'home'), 'downloads', 'w.bin')
    with open(path, 'rb') as f:
        assert f.read() == PAYLOAD


def test_checksum_mismatch_saves_nothing_and_names_both_checksums(source, tmp_path):
    _, url = source
    cache = tmp_path / 'cache'
    wrong = '0' * 32
    with pytest.raises(ChecksumError) as info:
        get_file(url, md5=wrong, cache_dir=cache)
    message = str(info.value)
    assert 'weights.npz' in message and wrong in message and PAYLOAD_MD5 in message
    assert isinstance(info.value, DownloadError) and isinstance(info.value, OSError)
    assert info.value.reason == f'checksum mismatch: expected MD5 {wrong}, got {PAYLOAD_MD5}'
    assert os.listdir(cache) == []  # neither the file nor a temp file


def test_validate_sees_the_whole_download_and_can_refuse_it(source, tmp_path):
    _, url = source
    cache = tmp_path / 'cache'
    seen = []

    def refuse(path):
        with open(path, 'rb') as f:
            seen.append(f.read())
        raise ValueError('no good')

    with pytest.raises(ChecksumError, match="not valid: no good for 'weights.npz'"):
        get_file(url, cache_dir=cache, validate=refuse)
    assert seen == [PAYLOAD]  # complete before it is judged
    assert os.listdir(cache) == []
    path = get_file(url, cache_dir=cache, validate=seen.append)
    assert seen[-1] != path and open(path, 'rb').read() == PAYLOAD  # a temporary name


def test_offline_error_names_file_url_and_folder(tmp_path):
    url = (tmp_path / 'nowhere' / 'data.gz').as_uri()
    cache = tmp_path / 'cache'
    with pytest.raises(DownloadError) as info:
        get_file(url, cache_dir=cache)
    e = info.value
    assert isinstance(e, OSError)
    assert "'data.gz'" in str(e) and url in str(e) and str(cache) in str(e)
    assert (e.url, e.file_name, e.folder) == (url, 'data.gz', str(cache))
    assert not (cache / 'data.gz').exists()


class _FakeResponse(io.BytesIO):
    """A urlopen result serving ``body``; reading past ``fail_after`` bytes raises
    ``error``; ``length`` is the announced Content-Length."""

    def __init__(self, body, length=None, fail_after=None, error=None):
        super().__init__(body)
        self.headers = {} if length is None else {'Content-Length': str(length)}
        self.fail_after, self.error = fail_after, error

    def read(self, n=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise self.error
        return super().read(n)


@pytest.mark.parametrize(
    'error, expected',
    [
        (ConnectionResetError('reset by peer'), DownloadError),
        (KeyboardInterrupt(), KeyboardInterrupt),
    ],
)
def test_interrupted_download_leaves_no_file(monkeypatch, tmp_path, error, expected):
    response = _FakeResponse(PAYLOAD, len(PAYLOAD), fail_after=100_000, error=error)
    monkeypatch.setattr(urllib.request, 'urlopen', lambda url, timeout: response)
    cache = tmp_path / 'cache'
    with pytest.raises(expected) as info:
        get_file('https://example.org/big.bin', cache_dir=cache)
    if expected is DownloadError:
        assert 'big.bin' in str(info.value) and 'transfer broken' in str(info.value)
    assert os.listdir(cache) == []


def test_short_transfer_is_an_error(monkeypatch, tmp_path):
    response = _FakeResponse(PAYLOAD[:1000], length=len(PAYLOAD))
    monkeypatch.setattr(urllib.request, 'urlopen', lambda url, timeout: response)
    with pytest.raises(DownloadError, match=f'received 1000 of {len(PAYLOAD)} bytes'):
        get_file('https://example.org/big.bin', cache_dir=tmp_path)
    assert os.listdir(tmp_path) == []


def test_http_error_becomes_download_error(monkeypatch, tmp_path):
    def not_found(url, timeout):
        raise urllib.error.HTTPError(url, 404, 'Not Found', {}, None)

    monkeypatch.setattr(urllib.request, 'urlopen', not_found)
    with pytest.raises(DownloadError, match='Not Found'):
        get_file('https://example.org/gone.bin', cache_dir=tmp_path)


def test_progress_only_when_asked(source, tmp_path, capsys):
    _, url = source
    get_file(url, cache_dir=tmp_path / 'quiet')
    assert capsys.readouterr() == ('', '')
    get_file(url, cache_dir=tmp_path / 'loud', progress=True)
    err = capsys.readouterr().err
    assert 'weights.npz' in err and '] 100.00% of 0.2 MiB' in err


def test_unsized_download_still_shows_progress(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(urllib.request, 'urlopen', lambda url, timeout: _FakeResponse(PAYLOAD))
    get_file('https://example.org/a.bin', cache_dir=tmp_path, progress=True)
    assert 'MiB' in capsys.readouterr().err
    assert (tmp_path / 'a.bin').read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    'kwargs, pattern',
    [
        (dict(url='https://example.org/'), 'cannot tell a file name'),
        (dict(url='https://example.org/a', file_name='../a'), 'plain file name'),
        (dict(url='https://example.org/a', md5='xyz'), 'md5 must be 32 hex digits'),
    ],
)
def test_bad_arguments(tmp_path, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        get_file(cache_dir=tmp_path, **kwargs)


@pytest.mark.parametrize('md5', [None, PAYLOAD_MD5])
def test_an_empty_file_name_is_refused_even_with_the_cache_folder_there(source, tmp_path, md5):
    _, url = source
    cache = tmp_path / 'cache'
    cache.mkdir()
    with pytest.raises(ValueError, match=r"get_file: file_name must be a plain file name.*got ''"):
        get_file(url, file_name='', md5=md5, cache_dir=cache)
    with pytest.raises(ValueError, match=r"get_file: file_name must be a plain file name.*got ''"):
        get_file(url, file_name=b'', md5=md5, cache_dir=tmp_path / 'new')
    assert os.listdir(cache) == [] and not (tmp_path / 'new').exists()


def test_file_name_and_cache_dir_may_be_bytes(source, tmp_path):
    _, url = source
    path = get_file(url, file_name=b'w.bin', cache_dir=os.fsencode(tmp_path / 'cache'))
    assert path == str(tmp_path / 'cache' / 'w.bin')
    assert (tmp_path / 'cache' / 'w.bin').read_bytes() == PAYLOAD
    with pytest.raises(ValueError, match='plain file name'):
        get_file(url, file_name=b'../w.bin', cache_dir=tmp_path)


@pytest.mark.parametrize(
    'kwargs, pattern',
    [
        (dict(url=123), r"get_file: url must be a string such as 'https://\.\.\.', got 123"),
        (dict(url=b'file:///a.txt'), "get_file: url must be a string.*got b'file:///a.txt'"),
        (dict(file_name=1.5), 'get_file: file_name must be a str, bytes or path object, got 1.5'),
        (dict(cache_dir=7), 'get_file: cache_dir must be a str, bytes or path object, got 7'),
    ],
)
def test_arguments_of_the_wrong_type_are_refused_by_name(source, tmp_path, kwargs, pattern):
    _, url = source
    with pytest.raises(TypeError, match=pattern):
        get_file(**{'url': url, 'cache_dir': tmp_path / 'cache', **kwargs})
    assert not (tmp_path / 'cache').exists()


def test_utils_reexports_get_file():
    from dezero import utils

    assert utils.get_file is get_file and 'get_file' in utils.__all__


def test_utils_reexports_show_progress_and_cache_dir():
    from dezero import utils

    assert utils.show_progress is show_progress and 'show_progress' in utils.__all__
    assert utils.cache_dir == download.cache_dir
    with pytest.raises(AttributeError, match="'dezero.utils' has no attribute 'cache_dirs'"):
        utils.cache_dirs


# ---- cache_dir and show_progress, the book's names ----------------------------------------
def test_cache_dir_is_where_get_file_caches_and_follows_dezero_home(source, monkeypatch, tmp_path):
    from dezero.utils import cache_dir

    assert cache_dir == os.path.join(str(tmp_path / 'home'), 'downloads')
    _, url = source
    assert get_file(url) == os.path.join(cache_dir, 'weights.npz')
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'elsewhere'))
    assert download.cache_dir == os.path.join(str(tmp_path / 'elsewhere'), 'downloads')
    assert download.downloads_dir() == download.cache_dir
    with pytest.raises(AttributeError, match="'dezero.download' has no attribute 'cachedir'"):
        download.cachedir


@pytest.mark.parametrize(
    'args, line',
    [
        ((0, 8192, 81920), '\r[..............................] 0.00% of 0.1 MiB'),
        ((3, 8192, 81920), '\r[#########.....................] 30.00% of 0.1 MiB'),
        ((11, 8192, 81920), '\r[##############################] 100.00% of 0.1 MiB'),
        ((64, 8192, -1), '\r0.5 MiB'),  # urlretrieve: -1 for an unknown size
        ((64, 8192, 0), '\r0.5 MiB'),
    ],
)
def test_show_progress_draws_one_line_on_stderr(args, line, capsys):
    show_progress(*args)
    assert capsys.readouterr() == ('', line)


def test_show_progress_as_urlretrieve_report_hook(source, tmp_path, capsys):
    _, url = source
    urllib.request.urlretrieve(url, tmp_path / 'copy.npz', show_progress)
    assert (tmp_path / 'copy.npz').read_bytes() == PAYLOAD
    err = capsys.readouterr().err
    assert err.startswith('\r[....')
    assert err.endswith('\r[' + '#' * 30 + '] 100.00% of 0.2 MiB')


# ---- a cached file with a known checksum is verified -----------------------------------------
CORRUPT = PAYLOAD[:-1] + b'\x00'
CORRUPT_MD5 = hashlib.md5(CORRUPT).hexdigest()


@pytest.fixture
def corrupt_cache(tmp_path):
    """A cache folder holding a damaged copy of the source's file, same size."""
    cache = tmp_path / 'cache'
    cache.mkdir()
    (cache / 'weights.npz').write_bytes(CORRUPT)
    return cache


def test_corrupt_cached_file_is_downloaded_again(source, corrupt_cache):
    _, url = source
    path = get_file(url, md5=PAYLOAD_MD5, cache_dir=corrupt_cache)
    assert path == str(corrupt_cache / 'weights.npz')
    assert (corrupt_cache / 'weights.npz').read_bytes() == PAYLOAD
    assert os.listdir(corrupt_cache) == ['weights.npz']


def test_corrupt_cached_file_and_bad_download_raise_and_keep_the_cache(source, corrupt_cache):
    src, url = source
    src.write_bytes(b'changed upstream')
    with pytest.raises(ChecksumError) as info:
        get_file(url, md5=PAYLOAD_MD5, cache_dir=corrupt_cache)
    message = str(info.value)
    assert 'weights.npz' in message and PAYLOAD_MD5 in message
    assert hashlib.md5(b'changed upstream').hexdigest() in message  # the new download's
    assert CORRUPT_MD5 in message  # and the cached copy's
    assert (corrupt_cache / 'weights.npz').read_bytes() == CORRUPT  # replaced only by a good file
    assert os.listdir(corrupt_cache) == ['weights.npz']


def test_corrupt_cached_file_offline_is_an_error_naming_it(tmp_path, corrupt_cache):
    url = (tmp_path / 'nowhere' / 'weights.npz').as_uri()
    with pytest.raises(DownloadError) as info:
        get_file(url, md5=PAYLOAD_MD5, cache_dir=corrupt_cache)
    message = str(info.value)
    assert str(corrupt_cache / 'weights.npz') in message
    assert PAYLOAD_MD5 in message and CORRUPT_MD5 in message and url in message
    assert (corrupt_cache / 'weights.npz').read_bytes() == CORRUPT
    assert os.listdir(corrupt_cache) == ['weights.npz']


def test_good_cached_file_is_used_offline(source, tmp_path):
    src, url = source
    cache = tmp_path / 'cache'
    cache.mkdir()
    (cache / 'weights.npz').write_bytes(PAYLOAD)
    src.unlink()
    assert get_file(url, md5=PAYLOAD_MD5.upper(), cache_dir=cache) == str(cache / 'weights.npz')


def test_cached_file_is_hashed_once_until_it_changes(source, tmp_path, monkeypatch):
    _, url = source
    cache = tmp_path / 'cache'
    get_file(url, md5=PAYLOAD_MD5, cache_dir=cache)
    hashed = []
    real_md5 = hashlib.md5

    def counting_md5(*args, **kwargs):
        hashed.append(1)
        return real_md5(*args, **kwargs)

    monkeypatch.setattr(hashlib, 'md5', counting_md5)
    for _ in range(3):
        get_file(url, md5=PAYLOAD_MD5, cache_dir=cache)
    assert hashed == []  # the download's own checksum stands for it
    (cache / 'weights.npz').write_bytes(CORRUPT)  # a new file (size, time or inode differ)
    os.utime(cache / 'weights.npz', ns=(1, 1))
    assert get_file(url, md5=PAYLOAD_MD5, cache_dir=cache) == str(cache / 'weights.npz')
    assert (cache / 'weights.npz').read_bytes() == PAYLOAD  # noticed and fetched again


def test_a_file_edited_in_place_with_its_time_set_back_is_hashed_again(source, tmp_path):
    _, url = source
    cache = tmp_path / 'cache'
    path = get_file(url, md5=PAYLOAD_MD5, cache_dir=cache)
    before = os.stat(path)
    time.sleep(0.05)  # past the granularity of the file system's clock
    with open(path, 'r+b') as f:  # the same file, the same size
        f.write(b'\xff')
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (
        before.st_size,
        before.st_ino,
        before.st_mtime_ns,
    )
    assert download._file_md5(path) == hashlib.md5(b'\xff' + PAYLOAD[1:]).hexdigest()
    assert get_file(url, md5=PAYLOAD_MD5, cache_dir=cache) == path
    assert (cache / 'weights.npz').read_bytes() == PAYLOAD  # noticed and fetched again


@pytest.mark.parametrize('md5', [None, PAYLOAD_MD5])
def test_a_folder_where_the_cached_file_belongs_is_named_with_the_fix(source, tmp_path, md5):
    _, url = source
    folder = tmp_path / 'cache' / 'weights.npz'
    folder.mkdir(parents=True)
    with pytest.raises(IsADirectoryError) as info:
        get_file(url, md5=md5, cache_dir=tmp_path / 'cache')
    assert str(info.value) == (
        f'get_file: {folder} is a folder, where the downloaded file belongs; remove the '
        f'folder, or pass another file_name or cache_dir'
    )
    assert info.value.filename == str(folder) and folder.is_dir()
    assert get_file(url, file_name='w.npz', md5=md5, cache_dir=tmp_path / 'cache') == str(
        tmp_path / 'cache' / 'w.npz'
    )


def test_a_file_the_books_dezero_fetched_is_used_where_it_lies(tmp_path):
    # The book's get_file keeps downloads in ~/.dezero itself: such a file is not
    # fetched again (the URL here could not be reached at all).
    home = tmp_path / 'home'
    home.mkdir()
    (home / 'vgg16.npz').write_bytes(PAYLOAD)
    url = 'https://example.invalid/vgg16.npz'
    assert get_file(url) == str(home / 'vgg16.npz')
    assert get_file(url, md5=PAYLOAD_MD5, cache_dir=tmp_path / 'models') == str(home / 'vgg16.npz')
    assert not (tmp_path / 'models').exists()  # nothing fetched, no folder made


def test_a_file_in_the_books_folder_with_another_checksum_is_not_used(source, tmp_path):
    _, url = source  # .../weights.npz
    home = tmp_path / 'home'
    home.mkdir()
    (home / 'weights.npz').write_bytes(b'something else')
    path = get_file(url, md5=PAYLOAD_MD5)
    assert path == os.path.join(str(home), 'downloads', 'weights.npz')
    assert (home / 'weights.npz').read_bytes() == b'something else'  # left alone


def test_get_file_takes_progress_as_true_or_false_only(source):
    _, url = source
    with pytest.raises(TypeError, match="^get_file: progress must be True or False, got 'False'"):
        get_file(url, progress='False')


def test_a_folder_given_without_a_checksum_is_never_overruled_by_the_books_file(source, tmp_path):
    _, url = source  # .../weights.npz
    home = tmp_path / 'home'
    home.mkdir()
    (home / 'weights.npz').write_bytes(b'another URL kept under this name')
    path = get_file(url, cache_dir=tmp_path / 'mine')
    assert path == str(tmp_path / 'mine' / 'weights.npz')
    assert (tmp_path / 'mine' / 'weights.npz').read_bytes() == PAYLOAD


@pytest.mark.parametrize('below', ['', 'sub'])
def test_a_file_where_the_cache_folder_belongs_is_named_with_the_fix(source, tmp_path, below):
    _, url = source
    blocking = tmp_path / 'a-file'
    blocking.write_text('x')
    folder = blocking / below if below else blocking
    with pytest.raises(NotADirectoryError) as info:
        get_file(url, cache_dir=folder)
    on_the_way = f' (on the way to {folder})' if below else ''
    assert str(info.value) == (
        f'get_file: {blocking} is a file, where a folder was expected{on_the_way}; '
        f'remove the file, or pass another cache_dir'
    )
    assert info.value.filename == str(blocking) and blocking.read_text() == 'x'
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is type(info.value) and str(again) == str(info.value)


@pytest.mark.parametrize('blocking', ['home', 'home/downloads'])
def test_a_file_where_dezero_home_or_its_downloads_belong_is_named(source, tmp_path, blocking):
    _, url = source
    if blocking != 'home':
        (tmp_path / 'home').mkdir()
    (tmp_path / blocking).write_text('x')
    with pytest.raises(NotADirectoryError, match=r'^get_file: ') as info:
        get_file(url)
    on_the_way = '' if blocking.endswith('downloads') else f' (on the way to {download.cache_dir})'
    assert str(info.value) == (
        f'get_file: {tmp_path / blocking} is a file, where a folder was expected'
        f'{on_the_way}; remove the file, or set DEZERO_HOME to another folder'
    )


def test_get_file_uses_a_cache_dir_assigned_to_dezero_utils_as_the_books_does(
    source, monkeypatch, tmp_path
):
    # the assignment was ignored: the book's get_file reads that module global
    from dezero import utils

    _, url = source
    mine = tmp_path / 'mine'
    monkeypatch.setattr(utils, 'cache_dir', str(mine), raising=False)
    assert utils.cache_dir == str(mine)
    assert get_file(url) == os.path.join(str(mine), 'weights.npz')
    assert os.path.exists(mine / 'weights.npz')
    monkeypatch.delattr(utils, 'cache_dir')
    assert utils.cache_dir == download.cache_dir  # follows DEZERO_HOME again

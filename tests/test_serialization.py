"""dezero.serialization through save_weights and load_weights: the ``.npz`` added to a
path without it, what a lazy layer's parameters may take from a file, and casts that
would overflow."""

import gzip
import io
import os
import pickle
import re
import subprocess
import sys
import tempfile
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from fifo_files import refusal, waiting_fifo

import dezero.functions as F
import dezero.layers as L
import dezero.serialization
from dezero import Model, Parameter
from dezero.atomic import check_writable
from dezero.models import Sequential
from dezero.optimizers import SGD, MomentumSGD
from dezero.serialization import npz_path, planned_weights, read_json, read_npz, write_npz


def snapshot(layer):
    return [(p, p.data) for p in layer.params()]


def expect_refused(model, path, pattern):
    """load_weights(path) raises ValueError matching ``pattern`` and changes nothing."""
    before = snapshot(model)
    with pytest.raises(ValueError, match=pattern):
        model.load_weights(path)
    assert all(p.data is data for p, data in before)


# --------------------------------------------------------------------------------------
# save_weights adds .npz as np.savez does; load_weights reads the exact path
# --------------------------------------------------------------------------------------
def test_save_weights_adds_npz_as_the_book_and_numpy_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = L.Linear(2, in_size=3)
    model.save_weights('my_mlp')  # the book's step 53
    assert os.listdir(tmp_path) == ['my_mlp.npz']
    other = L.Linear(2, in_size=3)
    other.load_weights('my_mlp.npz')
    np.testing.assert_array_equal(other.W.data, model.W.data)


@pytest.mark.parametrize(
    'given, written',
    [('w', 'w.npz'), ('w.npz', 'w.npz'), ('w.NPZ', 'w.NPZ.npz'), ('w.npz.bak', 'w.npz.bak.npz')],
)
def test_save_weights_names_the_file_as_np_savez_does(tmp_path, given, written):
    L.Linear(2, in_size=2).save_weights(tmp_path / given)
    np.savez(str(tmp_path / ('np_' + given)))  # what NumPy writes for the same name
    assert sorted(os.listdir(tmp_path)) == sorted([written, 'np_' + written])


def test_npz_path_takes_bytes_and_path_objects_and_refuses_folders(tmp_path):
    assert npz_path(os.fsencode(tmp_path / 'w'), 'save_weights') == str(tmp_path / 'w.npz')
    assert npz_path(tmp_path / 'w.npz', 'save_weights') == str(tmp_path / 'w.npz')
    with pytest.raises(ValueError, match=r"^save_weights: the path .*w/ ends with '/'"):
        npz_path(str(tmp_path / 'w') + '/', 'save_weights')
    with pytest.raises(ValueError, match='^save_weights: the path is empty'):
        L.Linear(2, in_size=2).save_weights('')


def test_load_weights_keeps_the_exact_path_and_suggests_the_npz_file(tmp_path):
    L.Linear(2, in_size=3).save_weights(tmp_path / 'my_mlp')
    missing = tmp_path / 'my_mlp'
    with pytest.raises(FileNotFoundError) as info:
        L.Linear(2, in_size=3).load_weights(missing)
    assert str(info.value) == (
        f'load_weights: no such file: {missing}; did you mean {missing}.npz? '
        f'(np.savez and save_weights add .npz to a path without it)'
    )
    with pytest.raises(FileNotFoundError, match=r'no such file: .*other$'):
        L.Linear(2, in_size=3).load_weights(tmp_path / 'other')


# --------------------------------------------------------------------------------------
# Paths that name no file to read
# --------------------------------------------------------------------------------------
def test_load_weights_refuses_an_int_and_leaves_that_file_descriptor_open(tmp_path):
    L.Linear(2, in_size=3).save_weights(tmp_path / 'w.npz')
    with open(tmp_path / 'w.npz', 'rb') as f:
        model = L.Linear(2, in_size=3)
        # open() takes an int for a descriptor, which it would read, then close
        with pytest.raises(TypeError, match='^load_weights: path must be a file path, got int$'):
            model.load_weights(f.fileno())
        assert f.read(2) == b'PK'  # the descriptor is open, and at the file's start


@pytest.mark.parametrize('path, kind', [(None, 'NoneType'), (2, 'int'), (['w.npz'], 'list')])
def test_read_npz_refuses_what_is_no_path_by_name(path, kind):
    with pytest.raises(TypeError, match=f'^Adam.load: path must be a file path, got {kind}$'):
        read_npz(path, 'Adam.load')


def test_a_path_with_a_null_character_is_refused_by_the_function_given_it(tmp_path):
    model = L.Linear(2, in_size=3)
    for method in (model.save_weights, model.load_weights):
        with pytest.raises(
            ValueError, match=rf"^{method.__name__}: the path 'a\\x00b' holds a null"
        ):
            method('a\0b')


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='needs FIFOs')
def test_load_weights_refuses_a_fifo_without_reading_it(tmp_path):
    fifo = tmp_path / 'ff.npz'
    with waiting_fifo(fifo), pytest.raises(OSError) as info:
        L.Linear(2, in_size=3).load_weights(fifo)
    assert str(info.value) == refusal(fifo, 'load_weights')


def test_load_weights_refuses_a_device_and_a_folder_by_name(tmp_path):
    model = L.Linear(2, in_size=3)
    with pytest.raises(
        OSError, match='^load_weights: cannot read /dev/null: it is a character device'
    ):
        model.load_weights('/dev/null')
    with pytest.raises(IsADirectoryError, match=f'^load_weights: {tmp_path} is a folder; give'):
        model.load_weights(tmp_path)


def test_json_nested_too_deeply_is_refused_by_name(tmp_path):
    opt = SGD(0.1).setup(L.Linear(2, in_size=3))
    opt.save(tmp_path / 'o.npz')
    with np.load(tmp_path / 'o.npz') as f:
        arrays = {k: f[k] for k in f.files}
    arrays['__optimizer__'] = np.array('[' * 200000 + ']' * 200000)
    np.savez(tmp_path / 'deep.npz', **arrays)
    with pytest.raises(
        ValueError,
        match=r"^SGD\.load: cannot read the '__optimizer__' entry of .*deep\.npz \(maximum "
        r'recursion depth exceeded',
    ):
        opt.load(tmp_path / 'deep.npz')
    text = {'__optimizer__': np.array('[' * 200000 + ']' * 200000)}
    with pytest.raises(
        ValueError, match=r"^Adam\.load: cannot read the '__optimizer__' entry of f"
    ):
        read_json(text, '__optimizer__', {'format': 'x', 'version': 1}, 'Adam.load', 'f')


# --------------------------------------------------------------------------------------
# Lazy layers: what the file's arrays must be
# --------------------------------------------------------------------------------------
def test_a_lazy_conv2d_refuses_another_kernel_size(tmp_path):
    a = Sequential(L.Conv2d(8, 3))
    a(np.ones((1, 2, 9, 9), np.float32))
    a.save_weights(tmp_path / 'c3.npz')
    b = Sequential(L.Conv2d(8, 5))
    expect_refused(
        b,
        tmp_path / 'c3.npz',
        r"^load_weights: the parameter 'l0/W' \(not created yet\) expects shape "
        r'\(8, in, 5, 5\) but .*c3\.npz holds shape \(8, 2, 3, 3\) for it',
    )
    c = Sequential(L.Conv2d(8, 3))
    c.load_weights(tmp_path / 'c3.npz')
    assert c.l0.in_channels == 2
    x = np.random.default_rng(0).standard_normal((1, 2, 9, 9)).astype(np.float32)
    np.testing.assert_array_equal(c(x).data, a(x).data)


def test_a_lazy_deconv2d_keeps_the_input_channels_first(tmp_path):
    np.savez(tmp_path / 'd.npz', W=np.ones((5, 8, 3, 3), np.float32), b=np.zeros(8, np.float32))
    d = L.Deconv2d(8, 3)
    d.load_weights(tmp_path / 'd.npz')
    assert d.in_channels == 5
    expect_refused(
        L.Deconv2d(4, 3),
        tmp_path / 'd.npz',
        r"'W' \(not created yet\) expects shape \(in, 4, 3, 3\) but .* holds shape \(5, 8, 3, 3\)",
    )


@pytest.mark.parametrize(
    'shape, expected',
    [((3, 5), r'\(in, 4\)'), ((4,), r'\(in, 4\)'), ((0, 4), r'\(in, 4\) with in at least 1,')],
)
def test_a_lazy_linear_refuses_another_output_size_or_rank(tmp_path, shape, expected):
    np.savez(tmp_path / 'w.npz', **{'l0/W': np.ones(shape, np.float32)})
    expect_refused(
        Sequential(L.Linear(4, nobias=True)),
        tmp_path / 'w.npz',
        rf"'l0/W' \(not created yet\) expects shape {expected} but .* holds shape "
        rf'{re.escape(str(shape))}',
    )


def test_a_lazy_linear_casts_integers_to_its_dtype(tmp_path):
    np.savez(tmp_path / 'i.npz', **{'l0/W': np.ones((3, 4), np.int32)})
    model = Sequential(L.Linear(4, nobias=True))
    model.load_weights(tmp_path / 'i.npz')
    assert model.l0.W.data.dtype == np.float32
    y = model(np.full((1, 3), 0.9, np.float32))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, np.full((1, 4), np.float32(0.9) * 3, np.float32))
    double = L.Linear(4, nobias=True, dtype=np.float64)
    np.savez(tmp_path / 'f32.npz', W=np.ones((3, 4), np.float32))
    double.load_weights(tmp_path / 'f32.npz')
    assert double.W.data.dtype == np.float64


def test_a_lazy_layer_norm_needs_equal_gamma_and_beta_together(tmp_path):
    np.savez(tmp_path / 'ln.npz', gamma=np.full(3, 2.0), beta=np.zeros(4))
    expect_refused(
        L.LayerNorm(),
        tmp_path / 'ln.npz',
        r"'beta' \(not created yet\) expects shape \(size,\) with size = 3 as in 'gamma', "
        r'but .*ln\.npz holds shape \(4,\)',
    )
    np.savez(tmp_path / 'half.npz', gamma=np.full(3, 2.0))
    expect_refused(
        L.LayerNorm(), tmp_path / 'half.npz', r"half\.npz holds 'gamma' but not 'beta'; the param"
    )
    np.savez(tmp_path / 'ok.npz', gamma=np.full(3, 2.0), beta=np.zeros(3))
    ln = L.LayerNorm()
    ln.load_weights(tmp_path / 'ok.npz')
    assert ln.gamma.data.dtype == np.float32 and ln.gamma.data.tolist() == [2.0, 2.0, 2.0]


def test_a_lazy_batch_norm_needs_four_equal_floating_arrays(tmp_path):
    names = ('avg_mean', 'avg_var', 'gamma', 'beta')
    np.savez(tmp_path / 'bn.npz', **{n: np.ones(3 if n != 'avg_var' else 2) for n in names})
    expect_refused(
        L.BatchNorm(),
        tmp_path / 'bn.npz',
        r"'avg_var' \(not created yet\) expects shape \(channels,\) with channels = 3 as in "
        r"'avg_mean', but .* holds shape \(2,\)",
    )
    np.savez(tmp_path / 'f64.npz', **{n: np.ones(3) for n in names})
    bn = L.BatchNorm()
    bn.load_weights(tmp_path / 'f64.npz')
    assert [p.data.dtype for p in bn.params()] == [np.float64] * 4
    np.savez(tmp_path / 'int.npz', **{n: np.ones(3, np.int64) for n in names})
    bn = L.BatchNorm()
    bn.load_weights(tmp_path / 'int.npz')
    assert [p.data.dtype for p in bn.params()] == [np.float32] * 4


def test_lazy_lengths_need_not_agree_across_layers(tmp_path):
    np.savez(
        tmp_path / 'w.npz',
        **{'l0/W': np.ones((3, 4), np.float32), 'l1/W': np.ones((4, 2), np.float32)},
    )
    model = Sequential(L.Linear(4, nobias=True), L.Linear(2, nobias=True))
    model.load_weights(tmp_path / 'w.npz')
    assert (model.l0.in_size, model.l1.in_size) == (3, 4)


def test_a_users_lazy_layer_without_specs_takes_the_files_array(tmp_path):
    class Lazy(L.Layer):
        def __init__(self):
            super().__init__()
            self.w = Parameter(None)

    np.savez(tmp_path / 'w.npz', w=np.arange(3, dtype=np.int16))
    layer = Lazy()
    layer.load_weights(tmp_path / 'w.npz')
    assert layer.w.data.dtype == np.int16 and layer.w.data.tolist() == [0, 1, 2]


def test_a_users_lazy_layer_may_describe_its_parameters(tmp_path):
    class Square(L.Layer):
        def __init__(self):
            super().__init__()
            self.w = Parameter(None)

        def param_specs(self):
            return {'w': (('n', 'n'), np.float64)}

    np.savez(tmp_path / 'bad.npz', w=np.ones((2, 3), np.float32))
    expect_refused(Square(), tmp_path / 'bad.npz', r"'w' .* expects shape \(n, n\) with n = 2")
    np.savez(tmp_path / 'ok.npz', w=np.ones((2, 2), np.float32))
    layer = Square()
    layer.load_weights(tmp_path / 'ok.npz')
    assert layer.w.data.dtype == np.float64


def test_param_specs_must_name_parameters(tmp_path):
    class Wrong(L.Layer):
        def param_specs(self):
            return {'w': (('n',), None)}

    np.savez(tmp_path / 'e.npz')
    with pytest.raises(TypeError, match=r"Wrong\.param_specs: describes 'w', which is not"):
        Wrong().load_weights(tmp_path / 'e.npz')


def test_a_checkpoint_resume_goes_through_the_same_checks():
    model = Sequential(L.Conv2d(8, 5))
    stored = {'l0/W': np.ones((8, 2, 3, 3), np.float32), 'l0/b': np.zeros(8, np.float32)}
    with pytest.raises(ValueError, match=r"^Checkpoint: the parameter 'l0/W' .*run\.npz holds"):
        planned_weights(model, stored, 'Checkpoint', 'run.npz')


def test_planned_weights_lets_the_layers_check_and_cast_their_arrays():
    # only load_weights asked the layers: a Checkpoint resume skipped BatchNorm's checks
    model = Sequential(L.BatchNorm())
    stored = {
        'l0/avg_mean': np.zeros(2),  # float64
        'l0/avg_var': np.array([1.0, np.nan]),
        'l0/gamma': np.ones(2, np.float32),
        'l0/beta': np.zeros(2, np.float32),
    }
    with pytest.raises(
        ValueError,
        match=r'^Checkpoint: run\.npz holds 1 negative or NaN value\(s\), such as nan, for '
        r"the parameter 'l0/avg_var', the running variance of a BatchNorm",
    ):
        planned_weights(model, stored, 'Checkpoint', 'run.npz')
    stored['l0/avg_var'] = np.array([1.0, 2.0])
    planned = planned_weights(model, stored, 'Checkpoint', 'run.npz')
    assert [array.dtype for _, array in planned] == [np.float32] * 4  # gamma's
    assert model.l0.gamma.data is None  # only planned


# --------------------------------------------------------------------------------------
# Casts that would overflow
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('lazy', [False, True])
def test_values_too_large_for_the_dtype_are_refused_without_a_warning(tmp_path, lazy):
    W = np.ones((3, 2))
    W[1, 0] = 1e39
    W[2, 1] = -4e38
    np.savez(tmp_path / 'big.npz', **{'l0/W': W, 'l0/b': np.zeros(2)})
    model = Sequential(L.Linear(2, in_size=None if lazy else 3))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        expect_refused(
            model,
            tmp_path / 'big.npz',
            r"^load_weights: the entry for the parameter 'l0/W' in .*big\.npz holds 2 "
            r'value\(s\) too large for float32 \(up to 1e\+39\): cast to float32 they would '
            r'become infinite$',
        )


def test_infinities_in_the_file_and_large_integers_that_fit_are_kept(tmp_path):
    W = np.array([[np.inf, -np.inf], [3e38, 1.0]])
    np.savez(tmp_path / 'inf.npz', W=W, b=np.array([2**40, -(2**40)], np.int64))
    layer = L.Linear(2, in_size=2)
    layer.load_weights(tmp_path / 'inf.npz')
    np.testing.assert_array_equal(layer.W.data, W.astype(np.float32))
    assert layer.b.data.tolist() == [2.0**40, -(2.0**40)]
    half = L.Linear(2, in_size=2, dtype=np.float16)
    np.savez(tmp_path / 'big_int.npz', W=np.ones((2, 2)), b=np.array([70000, 1]))
    expect_refused(half, tmp_path / 'big_int.npz', r"'b' .*1 value\(s\) too large for float16")


def test_loading_a_path_without_npz_warns_when_save_weights_wrote_the_npz_beside_it(tmp_path):
    old = tmp_path / 'weights.bin'
    L.Linear(2, in_size=3).save_weights(tmp_path / 'weights.bin.npz')
    old.write_bytes((tmp_path / 'weights.bin.npz').read_bytes())  # an older file, same name
    L.Linear(2, in_size=3).save_weights(old)  # writes weights.bin.npz
    with pytest.warns(
        UserWarning, match=r'reading .*weights\.bin, but .*weights\.bin\.npz is there'
    ):
        L.Linear(2, in_size=3).load_weights(old)


# --------------------------------------------------------------------------------------
# Archive entries that are not arrays
# --------------------------------------------------------------------------------------
def hand_made_npz(path, entries):
    """Write the zip archive ``path`` holding ``entries``, a list of (name, bytes) in
    which names may repeat, as no np.savez would."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # zipfile warns of a repeated name
        with zipfile.ZipFile(path, 'w') as archive:
            for name, content in entries:
                archive.writestr(name, content)
    return path


def npy_bytes(array):
    f = io.BytesIO()
    np.save(f, array)
    return f.getvalue()


@pytest.mark.parametrize(
    'name, content',
    [('b', b'garbage'), ('b.npy', b'garbage, not an .npy array'), ('b.npy', b'')],
)
def test_an_entry_that_is_not_an_array_is_refused_by_name(tmp_path, name, content):
    # np.load gave the entry's raw bytes, and load_weights failed with AttributeError:
    # 'bytes' object has no attribute 'dtype'
    model = L.Linear(2, in_size=3)
    W = npy_bytes(np.zeros((3, 2), np.float32))
    path = hand_made_npz(tmp_path / 'w.npz', [('W.npy', W), (name, content)])
    expect_refused(
        model,
        path,
        rf'^load_weights: cannot read {re.escape(str(path))} as an \.npz archive: its entry '
        r"'b' is not an array in the \.npy format$",
    )
    with pytest.raises(ValueError, match=r"^Adam\.load: .* its entry 'b' is not an array"):
        read_npz(path, 'Adam.load')


@pytest.mark.parametrize('second', ['W.npy', 'W'])
def test_an_archive_holding_one_name_twice_is_refused(tmp_path, second):
    # the last of the two was loaded, silently
    model = L.Linear(2, in_size=3)
    path = hand_made_npz(
        tmp_path / 'w.npz',
        [
            ('W.npy', npy_bytes(np.zeros((3, 2), np.float32))),
            ('b.npy', npy_bytes(np.zeros(2, np.float32))),
            (second, npy_bytes(np.ones((3, 2), np.float32))),
        ],
    )
    expect_refused(
        model,
        path,
        rf'^load_weights: cannot read {re.escape(str(path))} as an \.npz archive: it holds '
        r"the entry 'W' more than once$",
    )


@pytest.mark.parametrize(
    'entry, described',
    [
        (np.frombuffer(b'abcd', np.uint8), r'dtype uint8 and shape \(4,\)'),
        (np.array(['{}', '{}']), r'dtype <U2 and shape \(2,\)'),
        (np.array(b'{}'), r'dtype \|S2 and shape \(\)'),
    ],
)
def test_a_text_entry_of_the_wrong_type_is_told_apart_from_a_missing_one(
    tmp_path, entry, described
):
    # it said "it has no '__optimizer__' entry", which it has
    opt = SGD(0.1).setup(L.Linear(2, in_size=3))
    opt.save(tmp_path / 'o.npz')
    with np.load(tmp_path / 'o.npz') as f:
        arrays = {k: f[k] for k in f.files}
    arrays['__optimizer__'] = entry
    np.savez(tmp_path / 'bad.npz', **arrays)
    with pytest.raises(
        ValueError,
        match=rf'^SGD\.load: .*bad\.npz is not a file of dezero optimizer state: its '
        rf"'__optimizer__' entry is an array of {described}; expected JSON text in a 0-d "
        r'string array$',
    ):
        opt.load(tmp_path / 'bad.npz')
    del arrays['__optimizer__']
    np.savez(tmp_path / 'none.npz', **arrays)
    with pytest.raises(ValueError, match=r"\(it has no '__optimizer__' entry\)$"):
        opt.load(tmp_path / 'none.npz')


# --------------------------------------------------------------------------------------
# File objects, which np.savez and np.load (and so the book) take as well as paths
# --------------------------------------------------------------------------------------
def test_save_and_load_weights_take_a_bytes_io_as_the_book_does():
    # TypeError: save_weights: path must be a file path, got BytesIO
    np.random.seed(0)
    model = L.Linear(2, in_size=3)
    f = io.BytesIO()
    model.save_weights(f)
    f.seek(0)
    other = L.Linear(2, in_size=3)
    other.load_weights(f)
    np.testing.assert_array_equal(other.W.data, model.W.data)
    np.testing.assert_array_equal(other.b.data, model.b.data)
    with np.load(io.BytesIO(f.getvalue())) as loaded:  # the content np.savez would write
        assert sorted(loaded.files) == ['W', 'b']
        np.testing.assert_array_equal(loaded['W'], model.W.data)


def test_the_content_written_to_a_file_object_is_that_of_a_path(tmp_path):
    model = L.Linear(2, in_size=3)
    model.save_weights(tmp_path / 'w.npz')
    with open(tmp_path / 'by_object', 'wb') as f:  # no .npz added: it is the caller's file
        model.save_weights(f)
        assert not f.closed  # left open, as np.savez leaves it
    assert (tmp_path / 'by_object').read_bytes() == (tmp_path / 'w.npz').read_bytes()
    assert sorted(os.listdir(tmp_path)) == ['by_object', 'w.npz']
    other = L.Linear(2, in_size=3)
    with open(tmp_path / 'by_object', 'rb') as f:
        other.load_weights(f)
        assert not f.closed
    np.testing.assert_array_equal(other.W.data, model.W.data)


def test_a_file_object_is_read_from_where_it_stands():
    model = L.Linear(2, in_size=3)
    f = io.BytesIO()
    f.write(b'a header of the caller')
    start = f.tell()
    model.save_weights(f)
    f.seek(start)
    other = L.Linear(2, in_size=3)
    other.load_weights(f)
    np.testing.assert_array_equal(other.W.data, model.W.data)


def test_a_failed_load_from_a_file_object_changes_nothing_and_names_it(tmp_path):
    model = L.Linear(2, in_size=3)
    f = io.BytesIO()
    L.Linear(4, in_size=3).save_weights(f)
    f.seek(0)
    expect_refused(
        model,
        f,
        r"^load_weights: the parameter 'W' has shape \(3, 2\) but the BytesIO file object "
        r'holds shape \(3, 4\) for it',
    )
    expect_refused(
        model,
        io.BytesIO(b'garbage'),
        r'^load_weights: cannot read the BytesIO file object as an \.npz archive',
    )
    (tmp_path / 'bad.npz').write_bytes(b'PK\x03\x04 cut short')
    with open(tmp_path / 'bad.npz', 'rb') as opened:
        expect_refused(model, opened, rf'^load_weights: cannot read {re.escape(str(tmp_path))}')


def test_file_objects_in_text_mode_or_the_wrong_direction_are_refused(tmp_path):
    model = L.Linear(2, in_size=3)
    with open(tmp_path / 'w.txt', 'w') as f:
        with pytest.raises(
            TypeError,
            match=r'^save_weights: the TextIOWrapper file object is open in text mode; an '
            r"\.npz archive is binary: open the file with 'wb' \(or use io\.BytesIO\)$",
        ):
            model.save_weights(f)
    with open(tmp_path / 'w.txt') as f:
        with pytest.raises(TypeError, match="^load_weights: .* text mode; .*with 'rb'"):
            model.load_weights(f)
    with pytest.raises(TypeError, match='^load_weights: .* text mode'):
        model.load_weights(io.StringIO('text'))
    with tempfile.NamedTemporaryFile('w+') as f:  # a wrapper of a text file
        with pytest.raises(TypeError, match='^save_weights: .* text mode'):
            model.save_weights(f)
    with open(tmp_path / 'w.txt', 'rb') as f:
        with pytest.raises(
            TypeError,
            match='^save_weights: the BufferedReader file object is not writable; open the '
            "file with 'wb'$",
        ):
            model.save_weights(f)
    with open(tmp_path / 'out', 'wb') as f:
        with pytest.raises(TypeError, match='^load_weights: .* is not readable;'):
            model.load_weights(f)
    assert (tmp_path / 'out').read_bytes() == b'' and (tmp_path / 'w.txt').read_bytes() == b''


def test_a_closed_or_unseekable_file_object_is_refused():
    model = L.Linear(2, in_size=3)
    f = io.BytesIO()
    f.close()
    for method in (model.save_weights, model.load_weights):
        with pytest.raises(
            ValueError,
            match=f'^{method.__name__}: the BytesIO file object is closed; give an open one$',
        ):
            method(f)

    class Stream(io.RawIOBase):  # a pipe or a socket, say
        def readable(self):
            return True

        def readinto(self, buffer):
            return 0

    with pytest.raises(TypeError, match=r'^load_weights: the Stream file object cannot seek'):
        model.load_weights(Stream())


def test_a_stream_that_cannot_seek_can_be_written():
    model = L.Linear(2, in_size=3)
    sink = Unseekable()
    model.save_weights(sink)
    other = L.Linear(2, in_size=3)
    other.load_weights(io.BytesIO(bytes(sink.data)))
    np.testing.assert_array_equal(other.W.data, model.W.data)


def test_a_file_object_left_at_its_end_asks_for_a_seek_first():
    model = L.Linear(2, in_size=3)
    f = io.BytesIO()
    model.save_weights(f)  # f now stands at its end
    end = f.tell()
    expect_refused(
        L.Linear(2, in_size=3),
        f,
        rf'^load_weights: nothing is left to read from the BytesIO file object at its '
        rf'current position \(byte {end}, its end\); .*call f\.seek\(0\)',
    )
    assert f.tell() == end
    f.seek(0)
    L.Linear(2, in_size=3).load_weights(f)


class Reader:
    """A file-like object with only the methods given."""

    def __init__(self, data, methods):
        self._f = io.BytesIO(data)
        for name in methods:
            setattr(self, name, getattr(self._f, name))


@pytest.mark.parametrize(
    'methods, missing',
    [
        (('read', 'seek', 'seekable'), 'tell()'),
        (('read', 'seek', 'tell'), 'seekable()'),
        (('read',), 'seek(), tell() and seekable()'),
    ],
)
def test_a_file_object_lacking_what_a_zip_reader_needs_is_refused_up_front(methods, missing):
    f = io.BytesIO()
    L.Linear(2, in_size=3).save_weights(f)
    model = L.Linear(2, in_size=3)
    before = snapshot(model)
    with pytest.raises(
        TypeError,
        match=rf'^load_weights: the Reader file object has no {re.escape(missing)}, which '
        rf'reading an \.npz archive \(a zip file\) needs; read it whole into '
        rf'io\.BytesIO\(f\.read\(\)\) first$',
    ):
        model.load_weights(Reader(f.getvalue(), methods))
    assert all(p.data is data for p, data in before)
    complete = Reader(f.getvalue(), ('read', 'seek', 'tell', 'seekable'))
    L.Linear(2, in_size=3).load_weights(complete)


def test_save_weights_writes_into_a_file_object_that_cannot_seek_back():
    model = L.Linear(2, in_size=3)
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode='wb') as g:  # OSError: Negative seek in write mode
        model.save_weights(g)
    other = L.Linear(2, in_size=3)
    other.load_weights(io.BytesIO(gzip.decompress(raw.getvalue())))
    np.testing.assert_array_equal(other.W.data, model.W.data)


def test_a_file_object_gets_the_whole_archive_in_one_write_or_nothing():
    class Failing(io.RawIOBase):
        def __init__(self, fail):
            self.fail, self.writes = fail, []

        def writable(self):
            return True

        def write(self, data):
            if self.fail:
                raise OSError(28, 'No space left on device')
            self.writes.append(bytes(data))
            return len(data)

    model = L.Linear(2, in_size=3)
    ok = Failing(False)
    model.save_weights(ok)
    assert len(ok.writes) == 1
    expected = io.BytesIO()
    model.save_weights(expected)
    assert ok.writes[0] == expected.getvalue()
    with pytest.raises(OSError) as info:
        model.save_weights(Failing(True))
    assert info.value.errno == 28
    assert str(info.value) == (
        'save_weights: cannot write to the Failing file object: No space left on device'
    )

    class Trickle(Failing):  # a raw stream may take part of the bytes at a time
        def write(self, data):
            return super().write(bytes(data)[:100])

    trickle = Trickle(False)
    model.save_weights(trickle)
    assert b''.join(trickle.writes) == expected.getvalue()


def test_a_file_object_in_append_mode_is_refused_before_anything_is_written(tmp_path):
    # every write of an 'ab' file goes to its end: the archive written was unreadable
    model = L.Linear(2, in_size=3)
    path = tmp_path / 'w.npz'
    with open(path, 'ab') as f:
        with pytest.raises(
            TypeError,
            match=f'^save_weights: {re.escape(str(path))} is open in append mode, .* an '
            r".npz archive \(a zip file\) goes back to fill in sizes; open the file with 'wb' "
            r'\(a file holding archives one after another cannot be read back: give each '
            r'archive a file of its own\)$',
        ):
            model.save_weights(f)
    assert path.read_bytes() == b''
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)  # as the shell's >> opens one
    with open(descriptor, 'wb') as f, pytest.raises(TypeError, match='in append mode'):
        model.save_weights(f)


def test_write_npz_into_a_file_in_append_mode_writes_a_whole_archive(tmp_path):
    path = tmp_path / 'w.npz'
    with open(path, 'ab') as f:
        write_npz(f, {'W': np.arange(6.0).reshape(2, 3), 'b': np.zeros(3)})
    np.testing.assert_array_equal(read_npz(path, 'load')['W'], np.arange(6.0).reshape(2, 3))


def test_other_readers_and_writers_still_take_paths_only(tmp_path):
    opt = SGD(0.1).setup(L.Linear(2, in_size=3))
    with pytest.raises(TypeError, match='^SGD.load: path must be a file path, got BytesIO$'):
        opt.load(io.BytesIO())
    with pytest.raises(TypeError, match='^SGD.save: path must be a file path, got BytesIO$'):
        opt.save(io.BytesIO())
    assert npz_path(io.BytesIO(), 'save_weights').file is not None
    with pytest.raises(TypeError, match='^BestWeights: path must be a file path, got BytesIO$'):
        check_writable(npz_path(io.BytesIO(), 'BestWeights'), operation='BestWeights')


# --------------------------------------------------------------------------------------
# Shared (tied) layers and parameters: an entry under every path, as the book writes
# --------------------------------------------------------------------------------------
class Tied(L.Layer):
    def __init__(self):
        super().__init__()
        self.enc = L.Linear(2, in_size=2)
        self.dec = self.enc  # tied

    def forward(self, x):
        return self.dec(self.enc(x))


def test_a_shared_layer_is_saved_under_each_of_its_paths_as_the_book_does(tmp_path):
    # it was saved under its first path only: the book's load_weights raised KeyError
    model = Tied()
    model.save_weights(tmp_path / 'w.npz')
    with np.load(tmp_path / 'w.npz') as f:
        assert sorted(f.files) == ['dec/W', 'dec/b', 'enc/W', 'enc/b']
        np.testing.assert_array_equal(f['dec/W'], model.enc.W.data)
    params = {}
    model._flatten_params(params)  # the book's step 53: every path too
    assert list(params) == ['enc/W', 'enc/b', 'dec/W', 'dec/b'] and params['dec/W'] is model.enc.W
    assert [n for n, _ in model.named_params()] == ['enc/W', 'enc/b']  # once each


@pytest.mark.parametrize(
    'keys',
    [
        ['dec/W', 'dec/b', 'enc/W', 'enc/b'],  # as the book writes it
        ['enc/W', 'enc/b'],  # as earlier dezero wrote it
        ['dec/W', 'enc/b'],
    ],
)
def test_a_shared_parameter_loads_from_an_entry_under_any_of_its_paths(tmp_path, keys):
    # the book's file raised "entries for which the model has no parameter"
    W, b = np.arange(4, dtype=np.float32).reshape(2, 2), np.ones(2, np.float32)
    np.savez(tmp_path / 'w.npz', **{k: W if k.endswith('W') else b for k in keys})
    model = Tied()
    model.load_weights(tmp_path / 'w.npz')
    np.testing.assert_array_equal(model.dec.W.data, W)
    np.testing.assert_array_equal(model.enc.b.data, b)


def test_entries_of_one_shared_parameter_must_hold_equal_arrays(tmp_path):
    W = np.ones((2, 2), np.float32)
    arrays = {'enc/W': W, 'enc/b': np.zeros(2, np.float32), 'dec/W': W + 1}
    np.savez(tmp_path / 'w.npz', **arrays)
    expect_refused(
        Tied(),
        tmp_path / 'w.npz',
        r"^load_weights: .*w\.npz holds different arrays under 'enc/W' and 'dec/W', which "
        r'name one parameter of the model',
    )
    arrays['dec/W'] = W.astype(np.float64)  # equal values: one parameter
    np.savez(tmp_path / 'w.npz', **arrays)
    Tied().load_weights(tmp_path / 'w.npz')


def test_paths_through_cycles_and_shared_parts_are_each_saved_once(tmp_path):
    a, b, shared = L.Layer(), L.Layer(), L.Linear(1, in_size=1)
    a.p = Parameter(np.ones(1))
    a.b = b
    b.a = a  # a cycle: not followed again
    b.q = Parameter(np.ones(1))
    a.x = shared
    b.y = [shared]
    a.save_weights(tmp_path / 'w.npz')
    with np.load(tmp_path / 'w.npz') as f:
        assert sorted(f.files) == ['b/q', 'b/y/0/W', 'b/y/0/b', 'p', 'x/W', 'x/b']
    a.load_weights(tmp_path / 'w.npz')
    b.save_weights(tmp_path / 'b.npz')
    with np.load(tmp_path / 'b.npz') as f:
        assert sorted(f.files) == ['a/p', 'a/x/W', 'a/x/b', 'q', 'y/0/W', 'y/0/b']


def test_a_path_of_a_shared_parameter_may_not_be_that_of_another(tmp_path):
    model = Tied()
    setattr(model, 'dec/W', Parameter(np.ones(1)))  # the path of the shared enc.W too
    with pytest.raises(ValueError, match="two parameters have the path 'dec/W'"):
        model.save_weights(tmp_path / 'w.npz')


def test_a_model_whose_layers_link_to_each_other_at_every_level_is_refused_at_once():
    # two attributes holding one layer at each of 20 levels give 2**20 paths to the
    # last layer's parameters: writing them all took longer than any user would wait
    import io
    import time

    from dezero.layers import Layer, Linear

    class Level(Layer):
        def __init__(self, depth):
            super().__init__()
            self.fc = Linear(1, in_size=1)
            if depth:
                self.x = Level(depth - 1)
                self.y = self.x

    start = time.perf_counter()
    with pytest.raises(ValueError, match='more than 64 paths each .* weakref.ref'):
        Level(20).save_weights(io.BytesIO())
    assert time.perf_counter() - start < 5
    small, f = Level(3), io.BytesIO()  # a few paths are written, as the book writes them
    small.save_weights(f)
    f.seek(0)
    Level(3).load_weights(f)


# ---- the book's files: None for a parameter with no data yet ---------------------------
def test_the_books_entry_for_a_parameter_without_data_leaves_it_without_data(tmp_path):
    # the book's save_weights writes a 0-d object array holding None for such a
    # parameter (here a Linear never called); it cannot be read without unpickling
    path = tmp_path / 'book.npz'
    np.savez(path, W=np.array(None, dtype=object), b=np.arange(3, dtype=np.float32))
    layer = L.Linear(3)
    layer.load_weights(str(path))
    assert layer.W.data is None
    np.testing.assert_array_equal(layer.b.data, [0.0, 1.0, 2.0])
    layer(np.ones((2, 4), np.float32))  # W is made on the first call, as it would be
    assert layer.W.data.shape == (4, 3)


def _npz_with_an_object_entry(path, pickled, header_version=(1, 0)):
    """Write an .npz archive holding the 0-d array of objects ``pickled`` (the bytes
    after its .npy header) as ``W`` and np.arange(3) as ``b``."""
    header = io.BytesIO()
    write = getattr(np.lib.format, f'write_array_header_{header_version[0]}_0')
    write(header, {'descr': '|O', 'fortran_order': False, 'shape': ()})
    numbers = io.BytesIO()
    np.save(numbers, np.arange(3, dtype=np.float32))
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('W.npy', header.getvalue() + pickled)
        archive.writestr('b.npy', numbers.getvalue())
    return path


# What np.savez wrote for np.array(None, dtype=object) under NumPy 1: pickle protocol 3,
# and, in older NumPy, protocol 2 with the dtype's arguments False and True as 0 and 1.
_NUMPY1_NONE = {
    'protocol 3': (
        b'\x80\x03cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00'
        b'\x85q\x02C\x01bq\x03\x87q\x04Rq\x05(K\x01)cnumpy\ndtype\nq\x06X\x02\x00\x00\x00O8'
        b'q\x07\x89\x88\x87q\x08Rq\t(K\x03X\x01\x00\x00\x00|q\nNNNJ\xff\xff\xff\xffJ\xff\xff'
        b'\xff\xffK?tq\x0bb\x89]q\x0cNatq\rb.'
    ),
    'protocol 2': (
        b'\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00'
        b'\x85q\x02c_codecs\nencode\nq\x03X\x01\x00\x00\x00bq\x04X\x06\x00\x00\x00latin1'
        b'q\x05\x86q\x06Rq\x07\x87q\x08Rq\t(K\x01)cnumpy\ndtype\nq\nX\x02\x00\x00\x00O8q\x0b'
        b'K\x00K\x01\x87q\x0cRq\r(K\x03X\x01\x00\x00\x00|q\x0eNNNJ\xff\xff\xff\xffJ\xff\xff'
        b'\xff\xffK?tq\x0fb\x89]q\x10Natq\x11b.'
    ),
}


@pytest.mark.parametrize('written', sorted(_NUMPY1_NONE))
@pytest.mark.parametrize('header_version', [(1, 0), (2, 0)])
def test_the_books_entry_written_by_numpy_1_is_recognised(tmp_path, written, header_version):
    pickled = _NUMPY1_NONE[written]
    held = pickle.loads(pickled)  # the fixture is what it says it is
    assert held.shape == () and held.dtype == object and held[()] is None
    path = _npz_with_an_object_entry(tmp_path / 'book.npz', pickled, header_version)
    layer = L.Linear(3)
    layer.load_weights(path)
    assert layer.W.data is None
    np.testing.assert_array_equal(layer.b.data, [0.0, 1.0, 2.0])


@pytest.mark.parametrize('written', sorted(_NUMPY1_NONE))
def test_the_books_entry_written_by_a_32_bit_numpy_is_recognised(tmp_path, written):
    # a 32-bit NumPy names the object dtype O4 (pointers of 4 bytes), as 64-bit NumPy reads it
    pickled = _NUMPY1_NONE[written].replace(b'O8', b'O4')
    assert pickle.loads(pickled)[()] is None
    path = _npz_with_an_object_entry(tmp_path / 'book32.npz', pickled)
    layer = L.Linear(3)
    layer.load_weights(path)
    assert layer.W.data is None


@pytest.mark.parametrize('protocol', range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_the_books_entry_is_recognised_in_every_pickle_protocol(tmp_path, protocol):
    pickled = pickle.dumps(np.array(None, dtype=object), protocol=protocol)
    path = _npz_with_an_object_entry(tmp_path / 'book.npz', pickled)
    assert list(read_npz(path, 'load_weights')) == ['b']


def _pickled(value):
    """The pickle opcodes of ``value``, without the protocol and the stop."""
    return pickle.dumps(value, protocol=3)[2:-1]


def _global(module, name):
    return b'c' + f'{module}\n{name}\n'.encode()


# A pickle of NumPy's own classes alone, shaped like the book's entry, whose dtype has
# its object flags cleared: NumPy then takes the eight bytes b'AAAAAAAA' for a pointer
# to a Python object, and the process crashes when the array is looked at.
_CRAFTED = (
    b'\x80\x03'
    + _global('numpy.core.multiarray', '_reconstruct')
    + _global('numpy', 'ndarray')
    + _pickled((0,))
    + _pickled(b'b')
    + b'\x87R('  # TUPLE3, REDUCE, MARK
    + _pickled(1)
    + _pickled(())
    + _global('numpy', 'dtype')
    + _pickled(('O8', False, True))
    + b'R'  # REDUCE
    + _pickled((3, '|', None, None, None, 8, 8, 0))
    + b'b'  # BUILD
    + _pickled(False)
    + _pickled(b'A' * 8)
    + b'tb.'  # TUPLE, BUILD, STOP
)

# Loads the file given, printing the errors, in a child process: a crash is its end.
_LOAD_IN_A_CHILD = """
import sys
import dezero.layers as L
from dezero.optimizers import SGD
for load in (L.Linear(3).load_weights, SGD().setup(L.Linear(3)).load):
    try:
        load(sys.argv[1])
    except ValueError as e:
        print(e)
"""


def test_a_crafted_pickle_of_numpy_classes_is_refused_without_being_unpickled(tmp_path):
    # the entry was unpickled with NumPy's classes alone allowed: the process crashed
    path = _npz_with_an_object_entry(tmp_path / 'crafted.npz', _CRAFTED)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get('PYTHONPATH', '')]))
    child = subprocess.run(
        [sys.executable, '-c', _LOAD_IN_A_CHILD, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert child.returncode == 0, f'the loading process ended with {child.returncode}'
    refusal = f"cannot read the entry 'W' of {path}: it holds Python objects, which would "
    assert child.stdout.splitlines() == [
        f'load_weights: {refusal}have to be unpickled; expected an array of numbers',
        f'SGD.load: {refusal}have to be unpickled; expected an array of numbers',
    ]


_NONE_4 = pickle.dumps(np.array(None, dtype=object), protocol=4)


@pytest.mark.parametrize(
    'pickled',
    [
        _NUMPY1_NONE['protocol 3'] + b'.',  # more after the end
        _NUMPY1_NONE['protocol 3'][:-2] + b'.',  # a step short
        _NUMPY1_NONE['protocol 3'].replace(b'K?t', b'K\x00t'),  # object flags cleared
        _NUMPY1_NONE['protocol 3'].replace(b'Na', b'K\x01a'),  # 1 in place of None
        b'\x80\x03N.',  # None alone
        b'',
        _NONE_4[:3] + bytes([_NONE_4[3] + 1]) + _NONE_4[4:],  # a frame longer than the rest
    ],
    ids=['trailing', 'short', 'flags', 'one', 'bare None', 'empty', 'frame'],
)
def test_an_entry_like_the_books_but_not_it_is_refused(tmp_path, pickled):
    path = _npz_with_an_object_entry(tmp_path / 'like.npz', pickled)
    with pytest.raises(ValueError, match="cannot read the entry 'W' of .*: it holds Python"):
        read_npz(path, 'load_weights')


def test_an_entry_of_other_python_objects_is_refused_by_name(tmp_path):
    path = tmp_path / 'objects.npz'
    np.savez(path, W=np.array([1, 'x'], dtype=object), b=np.zeros(3, np.float32))
    layer = L.Linear(3)
    with pytest.raises(
        ValueError,
        match=r"load_weights: cannot read the entry 'W' of .*objects\.npz: it holds Python "
        r'objects, which would have to be unpickled',
    ):
        layer.load_weights(str(path))
    np.testing.assert_array_equal(layer.b.data, np.zeros(3))


_CALLS = []


def _called():
    _CALLS.append(1)
    return None


class _RunsOnUnpickling:
    def __reduce__(self):
        return _called, ()


@pytest.mark.parametrize('held', [{'a': 1}, _RunsOnUnpickling()], ids=['dict', 'a callable'])
def test_a_0d_entry_of_another_object_is_refused_and_nothing_it_names_runs(tmp_path, held):
    path = tmp_path / 'objects.npz'
    np.savez(path, W=np.ones((2, 3), np.float32), b=np.array(held, dtype=object))
    _CALLS.clear()
    with pytest.raises(
        ValueError, match=r"cannot read the entry 'b' of .*: it holds Python objects"
    ):
        read_npz(str(path), 'load_weights')
    assert _CALLS == []


# --------------------------------------------------------------------------------------
# Archives one after another in one file are refused, not read as one of them
# --------------------------------------------------------------------------------------
def two_layers():
    np.random.seed(0)
    return L.Linear(2, in_size=3), L.Linear(2, in_size=3)


APPENDED = r'archives appended one after another cannot be read back; save each into a file'


def test_archives_appended_one_after_another_are_refused_and_the_position_kept(tmp_path):
    # the first was loaded, where np.load and the book load the last: one file, two answers
    a, b = two_layers()
    f = io.BytesIO()
    a.save_weights(f)
    middle = f.tell()
    b.save_weights(f)
    f.seek(0)
    model = L.Linear(2, in_size=3)
    expect_refused(
        model,
        f,
        rf'^load_weights: cannot read the BytesIO file object: it holds {middle} bytes at '
        rf'its start before the \.npz archive at its end.*; {APPENDED} or stream of its '
        r'own$',
    )
    assert f.tell() == 0  # a failed read leaves the file object where it stood
    f.seek(middle)  # the last archive, read from where it begins
    model.load_weights(f)
    np.testing.assert_array_equal(model.W.data, b.W.data)
    assert f.tell() == len(f.getvalue())  # a successful read leaves it at its end
    (tmp_path / 'two.npz').write_bytes(f.getvalue())
    expect_refused(
        model,
        tmp_path / 'two.npz',
        rf'^load_weights: cannot read .*two\.npz: it holds {middle} bytes at its start before '
        rf'the \.npz archive at its end.*; {APPENDED}',
    )
    with open(tmp_path / 'two.npz', 'rb') as opened:
        expect_refused(model, opened, APPENDED)
        assert opened.tell() == 0


def test_archives_written_by_np_savez_one_after_another_are_refused():
    f = io.BytesIO(b'a header of the caller')
    start = f.seek(0, 2)
    np.savez(f, W=np.ones((3, 2)), b=np.ones(2))
    size = f.tell() - start
    np.savez(f, W=np.zeros((3, 2)), b=np.zeros(2))
    f.seek(start)
    with pytest.raises(
        ValueError,
        match=rf'^load_weights: cannot read the BytesIO file object: it holds {size} bytes at '
        rf'its position when reading started \(byte {start}\) before the \.npz archive at '
        rf'its end.*; {APPENDED}',
    ):
        read_npz(f, 'load_weights')
    assert f.tell() == start


class Unseekable(io.RawIOBase):
    """A stream that takes writes and cannot seek, as a pipe: zipfile writes each
    entry's sizes after its data there."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, data):
        self.data += data
        return len(data)


def archive_with_sizes_after_the_data(layer):
    sink = Unseekable()
    with zipfile.ZipFile(sink, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, param in layer.named_params():
            with archive.open(name + '.npy', 'w') as entry:
                np.lib.format.write_array(entry, param.data)
    assert sink.data[6] & 0x08  # a data descriptor follows each entry
    return bytes(sink.data)


def test_an_archive_with_its_sizes_after_its_data_reads_alone_and_is_refused_before_another():
    a, b = two_layers()
    alone = archive_with_sizes_after_the_data(a)
    model = L.Linear(2, in_size=3)
    model.load_weights(io.BytesIO(alone))  # alone in the file, it is read
    np.testing.assert_array_equal(model.W.data, a.W.data)
    f = io.BytesIO(alone)
    f.seek(0, 2)
    b.save_weights(f)
    f.seek(0)
    expect_refused(model, f, rf'it holds {len(alone)} bytes .*; {APPENDED}')


def test_an_archive_followed_by_an_empty_one_is_refused_not_read_as_empty():
    # read as {} without a word: the empty archive's end was found, and it has no entry
    f = io.BytesIO(archive_with_sizes_after_the_data(two_layers()[0]))
    f.seek(0, 2)
    np.savez(f)
    f.seek(0)
    with pytest.raises(ValueError, match=APPENDED):
        read_npz(f, 'load_weights')
    assert f.tell() == 0


def test_a_file_holding_an_archive_then_an_empty_one_is_refused(tmp_path):
    # the first archive was read, where np.load reads the empty one
    f = io.BytesIO()
    np.savez(f, W=np.ones((3, 2)), b=np.ones(2))
    size = f.tell()
    path = tmp_path / 'w.npz'
    path.write_bytes(f.getvalue() + b'PK\x05\x06' + bytes(18))  # an empty archive after it
    with pytest.raises(
        ValueError,
        match=rf'^load_weights: cannot read {re.escape(str(path))}: it holds {size} bytes at '
        rf'its start before the \.npz archive at its end.*; {APPENDED}',
    ):
        read_npz(path, 'load_weights')


def test_a_file_object_standing_inside_an_archive_is_told_to_seek_to_its_start():
    f = io.BytesIO()
    np.savez(f, a=np.ones(3), b=np.ones(2))
    with zipfile.ZipFile(f) as archive:
        second = archive.getinfo('b.npy').header_offset
    f.seek(second)
    with pytest.raises(
        ValueError,
        match=rf'^load_weights: cannot read the BytesIO file object from byte {second}, '
        r'inside the \.npz archive that begins at byte 0; seek to where the archive begins',
    ):
        read_npz(f, 'load_weights')
    assert f.tell() == second


@pytest.mark.parametrize(
    'stored, message',
    [
        ({'W': np.ones((3, 4)), 'b': np.ones(2)}, r"the parameter 'W' has shape \(3, 2\)"),
        ({'W': np.ones((3, 2)), 'b': np.ones(2), 'c': np.ones(1)}, r"no parameter: 'c'"),
        ({'W': np.full((3, 2), 1e39), 'b': np.ones(2)}, r'too large for float32'),
        (b'PK\x03\x04 cut short', r'cannot read the BytesIO file object as an \.npz'),
    ],
)
def test_a_failed_load_leaves_the_file_object_where_it_stood(stored, message):
    # it was left wherever the reading had stopped: a second try read from there
    f = io.BytesIO(b'a header of the caller')
    start = f.seek(0, 2)
    if isinstance(stored, bytes):
        f.write(stored)
    else:
        np.savez(f, **stored)
    f.seek(start)
    model = L.Linear(2, in_size=3)
    expect_refused(model, f, message)
    assert f.tell() == start


# --------------------------------------------------------------------------------------
# Complex parameters, and integer and bool ones, take exactly what the file holds
# --------------------------------------------------------------------------------------
class Holding(L.Layer):
    def __init__(self, value):
        super().__init__()
        self.p = Parameter(np.array(value))


def test_a_complex_parameter_loads_the_complex_entry_it_saved(tmp_path):
    # "has dtype complex128; expected real numbers", for the file it had written
    saved = Holding([1 + 2j, 3 - 1j])
    saved.save_weights(tmp_path / 'c.npz')
    model = Holding([0j, 0j])
    model.load_weights(tmp_path / 'c.npz')
    np.testing.assert_array_equal(model.p.data, [1 + 2j, 3 - 1j])
    np.savez(tmp_path / 'real.npz', p=np.array([1.0, 2.0]))  # real into complex: exact
    model.load_weights(tmp_path / 'real.npz')
    assert model.p.data.dtype == np.complex128 and model.p.data.tolist() == [1, 2]
    lazy = L.Layer()
    lazy.p = Parameter(None)
    lazy.load_weights(tmp_path / 'c.npz')  # no data yet: the array as it is
    assert lazy.p.data.dtype == np.complex128


def test_a_complex_entry_is_refused_for_a_real_parameter_and_overflow_for_a_complex_one(
    tmp_path,
):
    np.savez(tmp_path / 'c.npz', p=np.array([1 + 2j, 3.0]))
    expect_refused(
        Holding([0.0, 0.0]),
        tmp_path / 'c.npz',
        r"^load_weights: the entry for the parameter 'p' in .*c\.npz holds complex numbers "
        r'\(complex128\) but the parameter holds real ones \(float64\): their imaginary '
        r'parts would be lost$',
    )
    np.savez(tmp_path / 'big.npz', p=np.array([1 + 1e39j, 3.0]))
    expect_refused(
        Holding(np.zeros(2, np.complex64)),
        tmp_path / 'big.npz',
        r"'p' .*holds 1 value\(s\) too large for float32 \(up to 1e\+39\)",
    )


@pytest.mark.parametrize(
    'initial, stored, first',
    [
        (0, 2.7, '2.7'),
        (0, 1e20, '1e+20'),
        (0, np.nan, 'nan'),
        (0, np.inf, 'inf'),
        (0, 2.0**63, '9.223372036854776e+18'),  # just past int64: float(2**63 - 1) is 2**63
        (np.int8(0), 300, '300'),
        (np.int8(0), -129.0, '-129.0'),
        (np.uint8(0), -1, '-1'),
        (np.uint64(0), np.int64(-1), '-1'),
        (0, np.uint64(2**63), '9223372036854775808'),
        (True, 0.5, '0.5'),
        (True, 2, '2'),
        (True, np.nan, 'nan'),
    ],
)
def test_an_integer_or_bool_parameter_refuses_what_its_dtype_cannot_hold(
    tmp_path, initial, stored, first
):
    # cast with wrap-around or truncation: 2.7 became 2, 300 became 44 in int8, -1
    # became 255 in uint8, 0.5 became True, NaN became -9223372036854775808 (with a
    # RuntimeWarning)
    model = Holding(initial)
    np.savez(tmp_path / 'w.npz', p=np.array(stored))
    dtype = model.p.data.dtype
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        expect_refused(
            model,
            tmp_path / 'w.npz',
            rf"^load_weights: the entry for the parameter 'p' in .*w\.npz holds 1 value\(s\) "
            rf'that {dtype} cannot hold exactly \(the first: {re.escape(first)}\); {dtype} '
            rf'holds ',
        )


@pytest.mark.parametrize(
    'initial, stored, loaded',
    [
        (0, [2.0, -3.0], [2, -3]),
        (np.int8(0), [-128.0, 127.0], [-128, 127]),
        (np.uint8(0), np.array([0, 255], np.int64), [0, 255]),
        (0, np.array([0, 2**63 - 1], np.uint64), [0, 2**63 - 1]),
        (np.uint64(0), [2.0**63, 0.0], [2**63, 0]),
        (True, [1.0, 0.0], [True, False]),
        (True, np.array([0, 1], np.uint8), [False, True]),
        (0.0, [True, False], [1.0, 0.0]),
    ],
)
def test_an_integer_or_bool_parameter_takes_values_its_dtype_holds(
    tmp_path, initial, stored, loaded
):
    model = Holding([initial, initial])
    np.savez(tmp_path / 'w.npz', p=np.array(stored))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        model.load_weights(tmp_path / 'w.npz')
    assert model.p.data.dtype == np.array([initial]).dtype
    assert model.p.data.tolist() == loaded


# --------------------------------------------------------------------------------------
# A small file that claims huge arrays is refused before they are allocated
# --------------------------------------------------------------------------------------
def claiming(path, name, shape, data=None):
    """Write the .npz archive ``path`` whose entry ``name`` claims an array of float32
    of ``shape`` in its header; it holds ``data`` bytes after the header (the zeros
    the shape needs, deflated, when None)."""
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(name + '.npy', 'w', force_zip64=True) as entry:
            header = {'descr': '<f4', 'fortran_order': False, 'shape': shape}
            np.lib.format.write_array_header_1_0(entry, header)
            if data is not None:
                entry.write(data)
                return path
            chunk = bytes(1 << 20)
            for _ in range(int(np.prod(shape)) * 4 // len(chunk)):
                entry.write(chunk)
    return path


def peak_bytes(call):
    """The most bytes that ``call()`` had allocated at once (NumPy's arrays
    included); what it raised, or None."""
    tracemalloc.start()
    try:
        call()
    except Exception as e:
        raised = e
    else:
        raised = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, raised


def assert_refused_cheaply(call, pattern):
    """Check that ``call()`` raises ValueError matching ``pattern`` (``re.search``)
    having allocated less than 4 MB at any time: refused before reading the data."""
    peak, raised = peak_bytes(call)
    assert isinstance(raised, ValueError), raised
    assert re.search(pattern, str(raised)), str(raised)
    assert peak < 1 << 22


HUGE = (1 << 25,)  # 128 MB of float32, in a file of about 0.5 MB


@pytest.mark.parametrize(
    'name, message',
    [
        (
            'W',
            r"^load_weights: the parameter 'W' has shape \(3, 2\) but .*huge\.npz holds shape "
            r'\(33554432,\) for it',
        ),
        ('extra', r'^load_weights: .*huge\.npz has no entry for the parameter'),
    ],
)
def test_load_weights_checks_the_headers_before_reading_any_array(tmp_path, name, message):
    # the whole file was read (and 128 MB allocated) before the model was looked at
    path = claiming(tmp_path / 'huge.npz', name, HUGE)
    assert path.stat().st_size < 1 << 20
    model = L.Linear(2, in_size=3)
    before = snapshot(model)
    assert_refused_cheaply(lambda: model.load_weights(path), message)
    assert all(p.data is data for p, data in before)


def test_an_entry_claiming_more_data_than_it_holds_is_refused_before_allocation(tmp_path):
    # NumPy allocated the claimed shape, then found the data short
    path = claiming(tmp_path / 'short.npz', 'W', (1 << 28,), data=bytes(24))
    assert_refused_cheaply(
        lambda: read_npz(path, 'load_weights'),
        r"^load_weights: cannot read .*short\.npz as an \.npz archive: its entry 'W' claims "
        r'an array of shape \(268435456,\) and dtype float32 \(1073741824 bytes\) but holds '
        r'24 bytes of data$',
    )


def test_an_optimizer_state_far_larger_than_the_parameters_is_refused_before_reading(
    tmp_path,
):
    model = L.Linear(2, in_size=3)
    opt = SGD(0.1).setup(model)
    opt.save(tmp_path / 'o.npz')
    with np.load(tmp_path / 'o.npz') as f:
        text = str(f['__optimizer__'])
    path = claiming(tmp_path / 'huge.npz', 'W/v', HUGE)
    with zipfile.ZipFile(path, 'a') as archive:
        with archive.open('__optimizer__.npy', 'w') as entry:
            np.lib.format.write_array(entry, np.array(text))
    assert_refused_cheaply(
        lambda: opt.load(path),
        r"^SGD\.load: the entry 'W/v' of .*huge\.npz claims 134217728 bytes \(shape "
        r'\(33554432,\), dtype float32\), more than any array read from it may take',
    )


def text_claiming(path, name, characters):
    """Write the .npz archive ``path`` whose entry ``name`` claims, in its header, a 0-d
    string of ``characters`` characters (4 bytes each), all zeros, deflated."""
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(name + '.npy', 'w', force_zip64=True) as entry:
            header = {'descr': f'<U{characters}', 'fortran_order': False, 'shape': ()}
            np.lib.format.write_array_header_1_0(entry, header)
            chunk = bytes(1 << 20)
            for _ in range(characters * 4 // len(chunk)):
                entry.write(chunk)
    return path


@pytest.mark.parametrize('called', [True, False])
def test_an_optimizer_file_claiming_huge_text_is_refused_before_reading_it(tmp_path, called):
    # the JSON text entry had no bound: a file of 0.5 MB made load allocate 128 MB
    model = L.Linear(2, in_size=3) if called else L.Linear(2)
    opt = SGD(0.1).setup(model)
    path = text_claiming(tmp_path / 'huge.npz', '__optimizer__', 1 << 25)
    assert path.stat().st_size < 1 << 20
    assert_refused_cheaply(
        lambda: opt.load(path),
        r"^SGD\.load: the entry '__optimizer__' of .*huge\.npz claims 134217728 bytes "
        r'\(shape \(\), dtype <U33554432\), more than the JSON text of settings that it '
        r'holds may take \(at most 67108864 bytes\); the file is damaged$',
    )


def test_optimizer_state_for_a_layer_not_called_yet_names_the_parameter_without_data(
    tmp_path,
):
    # "the entry 'W/v' ... claims 4000 bytes ... it was saved for another model, or is
    # damaged": the bound came from b alone, the one parameter with data
    np.random.seed(0)
    model = L.Linear(10)
    opt = MomentumSGD(0.1).setup(model)
    model.cleargrads()
    F.sum(model(np.ones((2, 100), np.float32))).backward()
    opt.update()
    opt.save(tmp_path / 'o.npz')
    with pytest.raises(
        ValueError,
        match=r"^MomentumSGD\.load: the parameter 'W' has no data yet \(a layer never "
        r'called\); load the weights or run the model once before the state$',
    ):
        MomentumSGD(0.1).setup(L.Linear(10)).load(tmp_path / 'o.npz')


def test_huge_optimizer_state_for_a_partly_lazy_model_is_refused_before_it_is_read(tmp_path):
    # with one parameter without data the file had no bound: 262 KB allocated 256 MB
    np.random.seed(0)
    model = L.Linear(2, in_size=3)
    opt = MomentumSGD(0.1).setup(model)
    model.cleargrads()
    F.sum(model(np.ones((1, 3), np.float32))).backward()
    opt.update()
    opt.save(tmp_path / 'o.npz')
    big = tmp_path / 'big.npz'
    with zipfile.ZipFile(tmp_path / 'o.npz') as source:
        with zipfile.ZipFile(big, 'w', zipfile.ZIP_DEFLATED) as target:
            for name in source.namelist():
                if name == 'b/v.npy':  # under a parameter that has data
                    with target.open(name, 'w', force_zip64=True) as entry:
                        np.lib.format.write_array(entry, np.zeros(2**24))
                elif not name.startswith('W/'):  # (no state for W, which has no data)
                    target.writestr(name, source.read(name))
    lazy = L.Linear(2)  # W has no data yet, b has
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"entry 'b/v' of .* claims 134217728 bytes"):
            MomentumSGD(0.1).setup(lazy).load(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


class TiedLinear(Model):
    """One Linear under two attributes: each of its parameters has two paths."""

    def __init__(self, lazy):
        super().__init__()
        self.a = L.Linear(3) if lazy else L.Linear(3, in_size=2)
        self.b = self.a


@pytest.mark.parametrize('lazy', [False, True])
@pytest.mark.parametrize(
    'key, array, message',
    [
        (
            'b/W',
            np.ones((5, 3), np.float32),
            {
                False: r"the parameter 'b/W' has shape \(2, 3\) but .* holds shape \(5, 3\)",
                True: r"the parameter 'b/W' \(not created yet\) expects shape \(in, 3\) with "
                r"in = 2 as in 'a/W', but .* holds shape \(5, 3\)",
            },
        ),
        (
            'b/b',
            np.zeros(3, np.complex64),
            r"the entry for the parameter 'b/b' in .* holds complex numbers \(complex64\) but "
            r'the parameter holds real ones \(float32\)',
        ),
        (
            'b/b',
            np.zeros(3, 'U2'),
            r"the entry for the parameter 'b/b' in .* has dtype <U2; expected real or complex",
        ),
    ],
)
def test_an_entry_of_tied_weights_that_does_not_fit_is_named(lazy, key, array, message):
    # the first path was named ('a/W' has shape ... holds shape (5, 3)), for the entry
    # under the other ('a/W' holds (2, 3))
    stored = {
        'a/W': np.ones((2, 3), np.float32),
        'a/b': np.zeros(3, np.float32),
        'b/W': np.ones((2, 3), np.float32),
        'b/b': np.zeros(3, np.float32),
        key: array,
    }
    f = io.BytesIO()
    np.savez(f, **stored)
    f.seek(0)
    message = message[lazy] if isinstance(message, dict) else message
    expect_refused(TiedLinear(lazy), f, '^load_weights: ' + message)


# --------------------------------------------------------------------------------------
# A file that cannot be opened
# --------------------------------------------------------------------------------------
def test_a_file_that_cannot_be_opened_is_named_with_the_function(tmp_path, monkeypatch):
    # a bare "[Errno 13] Permission denied: '...'"
    model = L.Linear(2, in_size=3)
    model.save_weights(tmp_path / 'w.npz')
    opt = SGD(0.1).setup(model)
    opt.save(tmp_path / 'o.npz')

    def denied(path, *args, **kwargs):
        raise PermissionError(13, 'Permission denied', path)

    monkeypatch.setattr(dezero.serialization, 'open', denied, raising=False)
    for load, path in ((model.load_weights, 'w.npz'), (opt.load, 'o.npz')):
        with pytest.raises(PermissionError) as info:
            load(tmp_path / path)
        assert info.value.errno == 13
        owner = 'load_weights' if load == model.load_weights else 'SGD.load'
        assert str(info.value) == f'{owner}: cannot read {tmp_path / path}: Permission denied'


# --------------------------------------------------------------------------------------
# Parameters that forward creates, and shapes that param_specs gives
# --------------------------------------------------------------------------------------
class Affine(L.Layer):
    """A layer of one's own that creates its parameters in forward."""

    def __init__(self, out_size):
        super().__init__()
        self.out_size = out_size
        self.W = None

    def forward(self, x):
        if self.W is None:
            self.W = Parameter(np.ones((x.shape[1], self.out_size), np.float32), name='W')
            self.b = Parameter(np.zeros(self.out_size, np.float32), name='b')
        return F.linear(x, self.W, self.b)


def test_entries_for_parameters_that_forward_creates_say_to_call_the_model_first(tmp_path):
    # the message said only that the file was saved for another model
    x = np.ones((2, 4), np.float32)
    saved = Affine(3)
    saved(x)
    saved.save_weights(tmp_path / 'a.npz')
    new = Affine(3)
    with pytest.raises(ValueError) as info:
        new.load_weights(tmp_path / 'a.npz')
    message = str(info.value)
    assert "has entries for which the model has no parameter: 'W', 'b'; " in message
    assert 'has not been called yet' in message
    assert 'call the model once on a batch before loading' in message
    new(x)
    new.load_weights(tmp_path / 'a.npz')
    # a model that has been called and has no parameter without data: another model
    np.savez(tmp_path / 'c.npz', W=np.ones((4, 3), np.float32), b=np.zeros(3), c=np.ones(1))
    with pytest.raises(ValueError, match=r"no parameter: 'c'; it was saved for another model$"):
        new.load_weights(tmp_path / 'c.npz')


def test_entries_beside_parameters_not_created_yet_say_to_call_the_model_first(tmp_path):
    # a model that has been called, with a layer its call did not reach
    class Branch(Model):
        def __init__(self):
            super().__init__()
            self.a = L.Linear(2)
            self.late = L.Linear(2, nobias=True)
            self.extra = Affine(2)

        def forward(self, x):
            return self.a(x)

    model = Branch()
    model(np.ones((1, 3), np.float32))
    np.savez(
        tmp_path / 'e.npz',
        **{'a/W': np.ones((3, 2)), 'a/b': np.zeros(2), 'extra/W': np.ones((2, 2))},
    )
    with pytest.raises(ValueError) as info:
        model.load_weights(tmp_path / 'e.npz')
    message = str(info.value)
    assert "no parameter: 'extra/W'; " in message and 'not created yet' in message
    assert 'call the model once on a batch before loading' in message


class TransposedLinear(L.Linear):
    """A Linear that keeps W as (out, in), without its own param_specs."""

    def _init_W(self, xp=np):
        self.W.data = np.ones((self.out_size, self.in_size), self.dtype)

    def forward(self, x):
        if self.W.data is None:
            self.in_size = x.shape[1]
            self._init_W()
        return F.linear(x, self.W.T, self.b)


def test_a_shape_from_inherited_param_specs_names_them(tmp_path):
    # the message said only that the file was saved for another model
    saved = TransposedLinear(3)
    saved(np.ones((2, 5), np.float32))
    saved.save_weights(tmp_path / 't.npz')
    with pytest.raises(ValueError) as info:
        TransposedLinear(3).load_weights(tmp_path / 't.npz')
    message = str(info.value)
    assert re.match(
        r"load_weights: the parameter 'W' \(not created yet\) expects shape \(in, 3\) but "
        r'.*t\.npz holds shape \(3, 5\) for it; TransposedLinear has that shape from the '
        r'param_specs\(\) it inherits from Linear',
        message,
    )
    assert 'override param_specs() in TransposedLinear' in message
    assert 'otherwise, the file was saved for another model' in message
    # a Linear's own param_specs: another model
    with pytest.raises(ValueError, match=r'\(3, 5\) for it; it was saved for another model$'):
        L.Linear(3).load_weights(tmp_path / 't.npz')

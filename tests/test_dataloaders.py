"""DataLoader and SeqDataLoader: coverage of every sample, batch shapes and dtypes,
epochs and resets, reproducible shuffling, (x, t) array pairs, and errors."""

import re

import numpy as np
import pytest

from dezero.dataloaders import DataLoader, SeqDataLoader
from dezero.datasets import Dataset, SinCurve, Spiral


class Numbered(Dataset):
    """Item i is x = [i, -i] (float32) with label i (int64): batches tell their samples."""

    def __init__(self, n=10, **kwargs):
        self.n = n
        super().__init__(**kwargs)

    def prepare(self):
        i = np.arange(self.n)
        self.data = np.stack([i, -i], axis=1).astype(np.float32)
        self.label = i.astype(np.int64)


def epoch(loader):
    """The batches of one ``for`` pass."""
    return [(x, t) for x, t in loader]


def order(batches):
    return np.concatenate([t for _, t in batches]).tolist()


@pytest.mark.parametrize('shuffle', [False, True])
@pytest.mark.parametrize('source', ['dataset', 'arrays'])
def test_every_sample_once_per_epoch_with_a_partial_last_batch(shuffle, source):
    ds = Numbered(10)
    loader = DataLoader(
        ds if source == 'dataset' else (ds.data, ds.label), batch_size=4, shuffle=shuffle, seed=0
    )
    assert len(loader) == 3
    for _ in range(2):  # two epochs
        batches = epoch(loader)
        assert [len(t) for _, t in batches] == [4, 4, 2]
        for x, t in batches:
            assert x.dtype == np.float32 and t.dtype == np.int64 and x.shape[1:] == (2,)
            np.testing.assert_array_equal(x[:, 0], t)  # rows and labels stay paired
        assert sorted(order(batches)) == list(range(10))
        if not shuffle:
            assert order(batches) == list(range(10))


@pytest.mark.parametrize(
    'n, batch_size, batches',
    [(10, 5, 2), (10, 3, 4), (10, 10, 1), (10, 50, 1), (1, 1, 1), (0, 4, 0)],
)
def test_len_is_the_number_of_batches(n, batch_size, batches):
    loader = DataLoader(Numbered(n), batch_size)
    assert len(loader) == batches == len(epoch(loader))


def test_epochs_are_shuffled_differently():
    loader = DataLoader(Numbered(50), 10, seed=3)
    first, second = order(epoch(loader)), order(epoch(loader))
    assert sorted(first) == sorted(second) == list(range(50))
    assert first != second and first != list(range(50))


def test_same_seed_same_order_and_global_state_untouched():
    np.random.seed(11)
    state = np.random.get_state()[1].copy()
    a, b = DataLoader(Numbered(30), 7, seed=5), DataLoader(Numbered(30), 7, seed=5)
    orders_a = [order(epoch(a)) for _ in range(3)]
    assert orders_a == [order(epoch(b)) for _ in range(3)]
    assert orders_a != [order(epoch(DataLoader(Numbered(30), 7, seed=6))) for _ in range(3)]
    assert np.array_equal(np.random.get_state()[1], state)


def test_without_seed_the_global_numpy_seed_reproduces_the_order():
    def two_epochs():
        loader = DataLoader(Numbered(30), 8)
        return [order(epoch(loader)), order(epoch(loader))]

    np.random.seed(0)
    first = two_epochs()
    np.random.seed(0)
    assert two_epochs() == first and first[0] != first[1]


def test_next_raises_stop_iteration_at_the_end_then_starts_a_new_epoch():
    loader = DataLoader(Numbered(5), 2, shuffle=False)
    assert [t.tolist() for _, t in (loader.next(), next(loader), loader.__next__())] == [
        [0, 1],
        [2, 3],
        [4],
    ]
    with pytest.raises(StopIteration):
        next(loader)
    assert next(loader)[1].tolist() == [0, 1]  # the next epoch


def test_a_loop_after_batches_taken_with_next_goes_on_with_the_epoch_as_in_the_book():
    # the book's loader continues; a new epoch would also draw one more permutation
    # from np.random, changing every later draw of the script
    np.random.seed(0)
    loader = DataLoader(Numbered(10), 3)
    first = next(loader)[1].tolist()
    rest = [t.tolist() for _, t in loader]
    after = np.random.rand()
    np.random.seed(0)
    order = np.random.permutation(10).tolist()
    assert [first, *rest] == [order[0:3], order[3:6], order[6:9], order[9:]]
    np.random.permutation(10)  # the next epoch's, drawn as this one ends (in the book too)
    assert after == np.random.rand()


def test_reset_restarts_the_epoch_and_a_loop_left_early_is_continued_as_in_the_book():
    loader = DataLoader(Numbered(10), 3, shuffle=False)
    next(loader)
    next(loader)
    loader.reset()
    assert loader.iteration == 0 and next(loader)[1].tolist() == [0, 1, 2]
    for _ in loader:  # leave after one batch, [3, 4, 5]
        break
    assert next(loader)[1].tolist() == [6, 7, 8]
    for _ in loader:  # leave at once, after [9], the last batch
        break
    assert epoch(loader) == []  # a loop after the last batch ends the epoch, as in the book
    assert order(epoch(loader)) == list(range(10))  # then a whole epoch


def test_a_state_saved_after_a_loop_left_early_resumes_as_the_loader_goes_on():
    def run(resume):
        loader, seen = DataLoader(Numbered(12), 3, seed=0), []
        for e in range(3):
            for i, (_, t) in enumerate(loader):
                seen.append(t.tolist())
                if i == 1:
                    break
            if resume and e == 0:
                state = loader.state_dict()
                loader = DataLoader(Numbered(12), 3, seed=0)
                loader.load_state_dict(state)
        return seen

    assert run(resume=True) == run(resume=False)


def test_array_pair_keeps_dtypes_and_allows_no_labels():
    x = np.arange(12, dtype=np.float16).reshape(6, 2)
    t = np.arange(6, dtype=np.uint8)
    xb, tb = next(iter(DataLoader((x, t), 4, shuffle=False)))
    assert xb.dtype == np.float16 and tb.dtype == np.uint8
    np.testing.assert_array_equal(xb, x[:4])
    np.testing.assert_array_equal(tb, t[:4])
    batches = epoch(DataLoader((x, None), 4, shuffle=False))
    assert [b[1] for b in batches] == [None, None]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)


def test_array_pair_and_dataset_give_the_same_batches_for_the_same_seed():
    ds = Numbered(23)
    a = epoch(DataLoader(ds, 5, seed=9))
    b = epoch(DataLoader((ds.data, ds.label), 5, seed=9))
    for (xa, ta), (xb, tb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ta, tb)


@pytest.mark.parametrize(
    'pair, error, pattern',
    [
        ((np.zeros((3, 2)), np.zeros(4)), ValueError, r'same first length.*\(3, 2\).*\(4,\)'),
        ((np.zeros((3, 2)), np.array(1)), ValueError, 'same first length'),
        ((np.array(1.0), None), ValueError, 'at least one dimension'),
        ((np.zeros((3, 2)), [0, 1, 2]), TypeError, 'must be a NumPy array or None'),
    ],
)
def test_bad_array_pairs(pair, error, pattern):
    with pytest.raises(error, match=pattern):
        DataLoader(pair, 2)


def test_a_pair_of_different_lengths_names_both():
    with pytest.raises(ValueError, match=r'got 100 rows of x and 90 of t \(shapes \(100, 1\)'):
        DataLoader((np.zeros((100, 1)), np.zeros((90, 1))), 10)
    with pytest.raises(ValueError, match=r'got 3 rows of x and a 0-d t'):
        DataLoader((np.zeros((3, 2)), np.array(1)), 2)


X100 = np.linspace(0, 1, 100, dtype=np.float32)[:, None]


@pytest.mark.parametrize(
    'dataset, item, hint',
    [
        # a list is a sequence of items, not an (x, t) pair: say to pass a tuple
        (
            [X100, 2 * X100],
            r'ndarray of shape \(100, 1\)',
            'a list of two sequences of lengths 100 and 100',
        ),
        ([X100, X100[:, 0]], r'ndarray of shape \(100, 1\)', 'lengths 100 and 100'),
        ([X100, X100[:90]], r'ndarray of shape \(100, 1\)', 'lengths 100 and 90'),
        ((X100.tolist(), X100.tolist()), 'list of length 100', 'a tuple of two sequences'),
    ],
)
def test_two_arrays_in_a_list_or_two_lists_are_refused_with_the_fix(dataset, item, hint):
    with pytest.raises(
        TypeError,
        match=f'DataLoader: item 0 of the dataset .{item}. is not a pair.*{hint}'
        r'.*pass them as a tuple \(x, t\) of NumPy arrays',
    ):
        DataLoader(dataset, 10)


@pytest.mark.parametrize(
    'dataset',
    [
        ([[1, 2], [3, 4]], [[0, 1], [1, 0]]),  # x and t of two samples, as lists
        ([1, 2], [0, 1]),
        (((1, 2), (3, 4)), ((0, 1), (1, 0))),
        ([np.zeros(2), np.ones(2)], [0, 1]),  # inputs as arrays, labels as ints
        ([[1, 2], [3, 4]], [0, 1, 2]),
    ],
)
def test_a_tuple_of_two_lists_of_two_rows_is_refused_as_ambiguous(dataset):
    with pytest.raises(
        TypeError,
        match=r'DataLoader: the dataset is a tuple of two sequences of lengths 2 and \d, which '
        r'could be inputs x and labels t or two items.*pass them as a tuple \(x, t\) of '
        r'NumPy arrays; to give two items, put them in a list',
    ):
        DataLoader(dataset, 2, shuffle=False)


def test_two_items_with_array_inputs_in_a_tuple_or_any_two_in_a_list_still_work():
    x0, x1 = np.zeros(2, np.float32), np.ones(2, np.float32)
    for dataset in (((x0, 0), (x1, 1)), ([x0, 0], [x1, 1]), ((x0, None), (x1, None))):
        xb, tb = next(DataLoader(dataset, 2, shuffle=False))
        assert xb.tolist() == [[0, 0], [1, 1]]
        assert tb is None if dataset[0][1] is None else tb.tolist() == [0, 1]
    xb, tb = next(DataLoader([[1, 2], [3, 4]], 2, shuffle=False))  # a list: two items
    assert xb.tolist() == [1, 3] and tb.tolist() == [2, 4]


def test_one_array_as_dataset_is_refused_not_split_into_columns():
    with pytest.raises(
        TypeError,
        match=r'item 0 of the dataset \(ndarray of shape \(5,\)\) is not a pair.*one array of '
        r'shape \(100, 5\): pass the tuple \(x, None\)',
    ):
        DataLoader(np.random.randn(100, 5), 10)
    with pytest.raises(TypeError, match=r'SeqDataLoader: item 0 .*shape \(10, 2\)'):
        SeqDataLoader(np.zeros((10, 2)), 2)


@pytest.mark.parametrize(
    'item, words',
    [
        ([np.zeros(2), 1, 2], 'list of length 3'),
        ((np.zeros(2), 1, 2), 'tuple of length 3'),
        (np.zeros(2), r'ndarray of shape \(2,\)'),
        (np.float32(1), r'float32 of shape \(\)'),
        (None, 'NoneType'),
    ],
)
def test_an_item_that_is_not_a_tuple_of_two_is_refused_by_index(item, words):
    items = [(np.zeros(2), 0)] * 3 + [item]
    for dataset in (items, tuple(items)):  # every item is checked when the loader is made
        with pytest.raises(TypeError, match=rf'DataLoader: item 3 of the dataset \({words}\)'):
            DataLoader(dataset, 2, shuffle=False)


def test_the_first_item_that_is_not_a_pair_is_named_before_any_batch():
    x0, x1 = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    with pytest.raises(TypeError, match=r'item 1 of the dataset \(ndarray of shape \(2,\)\)'):
        DataLoader([(x0, 0), x1, x1], 1, shuffle=False)
    # inputs as a list beside an array of labels: item 0, [x0, x1], reads as a pair
    with pytest.raises(TypeError, match=r'item 1 of the dataset .*pass them as a tuple \(x, t\)'):
        DataLoader(([x0, x1], np.array([0, 1])), 1, shuffle=False)


def test_a_dataset_giving_bare_inputs_fails_on_the_first_batch_not_before():
    class BareInputs(Dataset):
        calls = 0

        def prepare(self):
            self.data = np.arange(12, dtype=np.float32).reshape(4, 3)

        def __getitem__(self, index):
            type(self).calls += 1
            return self.data[index]  # x alone: not a pair

    loader = DataLoader(BareInputs(), 2, shuffle=False)
    assert BareInputs.calls == 0  # items may draw random numbers: none taken early
    with pytest.raises(TypeError, match=r'item 0 of the dataset \(ndarray of shape \(3,\)\)'):
        next(loader)


def test_lists_of_pairs_and_tuples_of_pairs_still_work():
    items = [(np.full(2, i, np.float32), i) for i in range(5)]
    as_lists = [[x, t] for x, t in items]  # items as in the book, indexed [0] and [1]
    for dataset in (items, tuple(items), items[:2], tuple(items[:2]), as_lists):
        batches = epoch(DataLoader(dataset, 2, shuffle=False))
        assert order(batches) == list(range(len(dataset)))
        np.testing.assert_array_equal(batches[0][0][:, 0], batches[0][1])
    xb, tb = next(iter(DataLoader([(np.zeros(2), None)] * 3, 3)))
    assert tb is None and xb.shape == (3, 2)


@pytest.mark.parametrize('batch_size', [0, -1, np.int64(-2)])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(ValueError) as info:
        DataLoader(Numbered(), batch_size)
    assert (
        str(info.value) == f'DataLoader: batch_size must be a positive integer, got {batch_size!r}'
    )


@pytest.mark.parametrize('batch_size', [2.5, True, np.True_, '2', None, [2]])
@pytest.mark.parametrize('loader', [DataLoader, SeqDataLoader])
def test_a_batch_size_that_is_no_int_is_a_type_error(loader, batch_size):
    with pytest.raises(TypeError) as info:
        loader(Numbered(), batch_size)
    assert str(info.value) == (
        f'{loader.__name__}: batch_size must be a positive integer, got '
        f'{type(batch_size).__name__} {batch_size!r}'
    )


def test_an_empty_dict_is_refused_but_an_empty_list_gives_no_batches_as_in_the_book():
    with pytest.raises(TypeError) as info:
        DataLoader({}, 3)
    assert str(info.value) == (
        'DataLoader: dataset must have items by position 0, 1, ..., len - 1 (a Dataset, a '
        'list of (x, t) pairs or a tuple (x, t) of arrays), got an empty dict, whose items '
        'are taken by key; pass list(d.values()) if its values are the (x, t) pairs'
    )
    loader = DataLoader([], 3)
    assert len(loader) == 0 and list(loader) == []


@pytest.mark.parametrize('name', ['shuffle', 'gpu'])
@pytest.mark.parametrize('value', ['False', 'no', 0, None])
def test_on_off_arguments_must_be_true_or_false(name, value):
    # the string 'False' would shuffle, 'no' would move batches to the GPU
    with pytest.raises(TypeError, match=f'DataLoader: {name} must be True or False, got'):
        DataLoader(Numbered(), 2, **{name: value})


def test_seq_loader_checks_gpu_under_its_own_name():
    with pytest.raises(TypeError, match="SeqDataLoader: gpu must be True or False, got 'no'"):
        SeqDataLoader(Numbered(8), 2, gpu='no')
    assert DataLoader(Numbered(), 2, shuffle=np.bool_(False), gpu=np.bool_(False)).shuffle is False


@pytest.mark.parametrize(
    'seed, error',
    [(-1, ValueError), ('a', TypeError), (True, TypeError), (1.5, TypeError), ([1, 2], TypeError)],
)
def test_seed_must_be_none_or_a_non_negative_int(seed, error):
    with pytest.raises(
        error, match=re.escape(f'DataLoader: seed must be None or an int >= 0, got {seed!r}')
    ):
        DataLoader(Numbered(), 2, seed=seed)


def test_numpy_integer_seed_is_the_same_as_the_int():
    orders = [order(epoch(DataLoader(Numbered(20), 3, seed=s))) for s in (7, np.int64(7), 0)]
    assert orders[0] == orders[1] != orders[2]


def test_a_seed_sequence_or_generator_is_a_seed_too():
    # what np.random.default_rng takes, as the loader passes it on
    by_int = order(epoch(DataLoader(Numbered(20), 3, seed=7)))
    for seed in (np.random.SeedSequence(7), np.random.default_rng(7), np.random.PCG64(7)):
        assert order(epoch(DataLoader(Numbered(20), 3, seed=seed))) == by_int


def test_a_state_with_numpy_scalars_for_its_settings_loads():
    loader = DataLoader(Numbered(6), batch_size=4, seed=1)
    state = loader.state_dict()
    state.update(batch_size=np.int64(4), shuffle=np.True_)
    loader.load_state_dict(state)


def test_a_dataset_without_length_or_indexing_is_refused():
    items = ((np.zeros(2), i) for i in range(3))
    with pytest.raises(
        TypeError, match='DataLoader: dataset must have a length and items by index.*got generator'
    ):
        DataLoader(items, 3)
    with pytest.raises(TypeError, match='got set'):
        DataLoader({1, 2}, 1)


@pytest.mark.parametrize(
    'dataset', [{'a': 1}, {1: (np.zeros(2), 0), 2: (np.ones(2), 1)}, {True: 1}]
)
def test_a_dict_is_refused_as_it_takes_items_by_key(dataset):
    with pytest.raises(TypeError) as info:
        DataLoader(dataset, 2)
    assert str(info.value) == (
        'DataLoader: dataset must have items by position 0, 1, ..., len - 1 (a Dataset, a '
        'list of (x, t) pairs or a tuple (x, t) of arrays), got a dict, whose items are '
        'taken by key; pass list(d.values()) if its values are the (x, t) pairs'
    )


def test_a_dict_keyed_by_the_positions_is_taken_as_a_sequence():
    # as the book's DataLoader takes it: dataset[i] for i in 0..len-1
    d = {i: (np.full(2, float(i), np.float32), i % 2) for i in range(6)}
    batches = list(DataLoader(d, 4, shuffle=False))
    assert [t.tolist() for _, t in batches] == [[0, 1, 0, 1], [0, 1]]
    np.testing.assert_array_equal(batches[1][0], [[4, 4], [5, 5]])


def test_numpy_integer_batch_size_is_fine():
    assert len(DataLoader(Numbered(10), np.int64(5))) == 2


def test_unlabelled_dataset_gives_none_labels():
    class Unlabelled(Dataset):
        def prepare(self):
            self.data = np.arange(5, dtype=np.float32)

    batches = epoch(DataLoader(Unlabelled(), 2, shuffle=False))
    assert [t for _, t in batches] == [None, None, None]
    assert batches[0][0].dtype == np.float32 and batches[0][0].tolist() == [0.0, 1.0]


def test_items_that_cannot_be_stacked_or_half_labelled():
    ragged = [(np.zeros(2), 0), (np.zeros(3), 1)]  # any sequence of pairs works
    with pytest.raises(ValueError, match='cannot stack the inputs of a batch'):
        next(DataLoader(ragged, 2, shuffle=False))
    half = [(np.zeros(2), 0), (np.zeros(2), None)]
    with pytest.raises(ValueError, match='1 of the 2 items of a batch have no label'):
        next(DataLoader(half, 2, shuffle=False))


def test_gpu_batches_need_cupy():
    loader = DataLoader(Numbered(), 2, gpu=True)
    with pytest.raises(RuntimeError, match='CuPy'):
        next(loader)
    loader.to_cpu()
    assert next(loader)[0].shape == (2, 2)
    loader.to_gpu()
    with pytest.raises(RuntimeError, match='CuPy'):
        next(loader)


def test_spiral_batches():
    batches = epoch(DataLoader(Spiral(), 30, seed=0))
    assert len(batches) == 10
    assert all(
        x.shape == (30, 2) and x.dtype == np.float32 and t.shape == (30,) for x, t in batches
    )


# ---- SeqDataLoader ---------------------------------------------------------------------
def book_seq_batches(n, batch_size):
    """The items of the book's SeqDataLoader batches: ceil(n / batch_size) of them, row
    i of batch k being item (i * jump + k) % n with jump = n // batch_size."""
    jump = n // batch_size
    return [[(i * jump + k) % n for i in range(batch_size)] for k in range(-(-n // batch_size))]


def test_seq_loader_walks_the_rows_in_time_order_as_the_book():
    loader = SeqDataLoader(Numbered(11), batch_size=3)  # jump 3: rows from 0, 3 and 6
    assert len(loader) == 4  # ceil(11 / 3)
    batches = epoch(loader)
    assert [t.tolist() for _, t in batches] == [[0, 3, 6], [1, 4, 7], [2, 5, 8], [3, 6, 9]]
    assert batches[0][0].tolist() == [[0, 0], [3, -3], [6, -6]]
    assert [t.tolist() for _, t in epoch(loader)] == [[0, 3, 6], [1, 4, 7], [2, 5, 8], [3, 6, 9]]


def test_seq_loader_on_sin_curve_gives_the_books_34_batches():
    ds = SinCurve()
    batches = epoch(SeqDataLoader(ds, 30))
    assert len(batches) == 34  # ceil(999 / 30), as in the book
    assert [t.tolist() for t in (batches[0][1], batches[-1][1])] == [
        ds.label[[33 * r for r in range(30)]].tolist(),
        ds.label[[33 * (r + 1) for r in range(30)]].tolist(),  # one past each row's 33
    ]
    x, t = batches[0]
    assert x.shape == (30, 1) and x.dtype == np.float64
    np.testing.assert_array_equal(batches[1][0], t)  # next step's input = this label


def test_seq_loader_refuses_a_batch_larger_than_the_series():
    with pytest.raises(ValueError, match='batch_size 12 is larger than the 11 items'):
        SeqDataLoader(Numbered(11), 12)


def test_seq_loader_on_an_array_pair_gives_the_batches_by_hand():
    series = np.arange(10, dtype=np.float32) * 10  # 0, 10, ..., 90
    x, t = series[:-1, None], series[1:, None]  # 9 steps: predict the next
    loader = SeqDataLoader((x, t), batch_size=3)  # segments 0-2, 3-5, 6-8
    assert len(loader) == 3
    batches = epoch(loader)
    assert [xb[:, 0].tolist() for xb, _ in batches] == [[0, 30, 60], [10, 40, 70], [20, 50, 80]]
    assert [tb[:, 0].tolist() for _, tb in batches] == [[10, 40, 70], [20, 50, 80], [30, 60, 90]]
    assert all(xb.dtype == np.float32 and xb.shape == (3, 1) for xb, _ in batches)
    xb, tb = next(iter(SeqDataLoader((x, None), 9)))  # one step of every item
    assert tb is None and xb[:, 0].tolist() == series[:-1].tolist()


@pytest.mark.parametrize('n, batch_size', [(20, 4), (23, 4), (7, 7), (7, 1), (50, 6), (11, 5)])
def test_seq_loader_gives_the_books_batches_row_r_from_item_r_times_jump(n, batch_size):
    loader = SeqDataLoader(Numbered(n), batch_size)
    batches = [t.tolist() for _, t in epoch(loader)]
    assert batches == book_seq_batches(n, batch_size)
    jump, steps = n // batch_size, -(-n // batch_size)  # ceil(n / batch_size) steps
    rows = np.array(batches).T  # (batch_size, steps)
    assert rows.shape == (batch_size, steps) == (batch_size, len(loader))
    for r in range(batch_size):
        assert rows[r].tolist() == list(range(r * jump, r * jump + steps))


def test_seq_loader_23_items_in_batches_of_4_by_hand():
    # jump 5, ceil(23 / 4) = 6 batches: the last one is items 5, 10, 15 and 20
    loader = SeqDataLoader(Numbered(23), 4)
    assert [t.tolist() for _, t in epoch(loader)] == [
        [0, 5, 10, 15],
        [1, 6, 11, 16],
        [2, 7, 12, 17],
        [3, 8, 13, 18],
        [4, 9, 14, 19],
        [5, 10, 15, 20],
    ]


def test_seq_loader_is_never_shuffled_and_restarts_each_epoch():
    loader = SeqDataLoader(Numbered(8), 2)
    np.random.seed(0)
    first = [t.tolist() for _, t in epoch(loader)]
    assert first == [[0, 4], [1, 5], [2, 6], [3, 7]]
    next(loader)
    next(loader)
    for _ in loader:  # a loop goes on, as in the book
        break
    assert [t.tolist() for _, t in epoch(loader)] == first[3:]
    assert [t.tolist() for _, t in epoch(loader)] == first  # the next epoch: the same
    with pytest.raises(TypeError):
        SeqDataLoader(Numbered(8), 2, shuffle=True)


def test_seq_loader_checks_batch_size_under_its_own_name():
    with pytest.raises(
        ValueError, match='SeqDataLoader: batch_size must be a positive integer, got 0'
    ):
        SeqDataLoader(Numbered(8), 0)


# ---- where a loader stands: state_dict / load_state_dict -----------------------------------
def batches_from(loader, count):
    """The labels of the next ``count`` batches, across epoch ends."""
    out = []
    while len(out) < count:
        try:
            out.append(next(loader)[1].tolist())
        except StopIteration:
            pass
    return out


@pytest.mark.parametrize('seed', [0, None])
def test_a_loaded_state_gives_the_batches_that_came_next(seed):
    np.random.seed(5)
    loader = DataLoader(Numbered(10), batch_size=3, seed=seed)
    batches_from(loader, 2)  # into the first epoch
    state = loader.state_dict()
    random_state = np.random.get_state()
    expected = batches_from(loader, 9)  # the rest of this epoch and two more
    other = DataLoader(Numbered(10), batch_size=3, seed=None if seed is None else 99)
    other.load_state_dict(state)
    np.random.set_state(random_state)  # a loader without seed draws from np.random
    assert batches_from(other, 9) == expected


def test_a_for_loop_after_loading_a_state_finishes_the_loaded_epoch():
    x, t = np.arange(10.0)[:, None], np.arange(10)
    loader = DataLoader((x, t), 3, seed=5)
    next(loader)
    state = loader.state_dict()
    rest = [next(loader)[1].tolist() for _ in range(3)]
    assert rest == [[3, 2, 4], [0, 9, 5], [8]]
    assert epoch(loader) == []  # the end of the epoch, as in the book
    following = order(epoch(loader))  # the epoch after
    other = DataLoader((x, t), 3, seed=5)
    other.load_state_dict(state)
    assert [t.tolist() for _, t in other] == rest
    assert order(epoch(other)) == following  # later loops start new epochs


def test_after_loading_a_loop_left_early_is_continued():
    loader = DataLoader(Numbered(10), 3, shuffle=False)
    next(loader)
    state = loader.state_dict()
    loader.load_state_dict(state)
    next(loader)  # batch 1: the loop below goes on from batch 2
    for _, t in loader:
        assert t.tolist() == [6, 7, 8]
        break
    assert order(epoch(loader)) == [9]  # left early: the rest of the epoch
    assert order(epoch(loader)) == list(range(10))


def test_a_state_saved_after_the_last_batch_loads_at_the_end_of_the_epoch():
    a = DataLoader(Numbered(7), 3, seed=1)
    batches_from(a, 3)  # the whole first epoch, StopIteration not yet met
    state = a.state_dict()
    assert state['iteration'] == 3
    b = DataLoader(Numbered(7), 3, seed=1)
    b.load_state_dict(state)
    assert epoch(b) == epoch(a) == []  # the loop ends the epoch, as the book's would
    assert order(epoch(b)) == order(epoch(a))  # then the same next epoch


def test_a_seq_loader_resumed_in_a_for_loop_goes_on():
    loader = SeqDataLoader(Numbered(8), 2)
    next(loader)
    state = loader.state_dict()
    other = SeqDataLoader(Numbered(8), 2)
    other.load_state_dict(state)
    assert [t.tolist() for _, t in other] == [[1, 5], [2, 6], [3, 7]]
    assert [t.tolist() for _, t in other] == [[0, 4], [1, 5], [2, 6], [3, 7]]


def test_the_state_is_a_copy_in_plain_values():
    loader = DataLoader(Numbered(6), batch_size=4, seed=1)
    state = loader.state_dict()
    assert set(state) == {
        'size',
        'batch_size',
        'shuffle',
        'iteration',
        'index',
        'generator',
        'loader',
    }
    assert state['size'] == 6 and state['iteration'] == 0 and type(state['iteration']) is int
    assert (state['batch_size'], state['shuffle']) == (4, True)
    kept = state['index'].copy()
    epoch(loader)
    epoch(loader)
    np.testing.assert_array_equal(state['index'], kept)
    assert DataLoader(Numbered(6), batch_size=4).state_dict()['generator'] is None


def state_with(**changes):
    state = DataLoader(Numbered(6), batch_size=4, seed=1).state_dict()
    state.update(changes)
    return state


def generator_state_with(value):
    """A state whose generator (PCG64) holds ``value`` as its 128-bit state."""
    state = state_with()
    state['generator']['state']['state'] = value
    return state


@pytest.mark.parametrize(
    'state, words',
    [
        ([1, 2], 'is not the state of a DataLoader'),
        ({'size': 6}, 'is not the state of a DataLoader'),
        (state_with(size=7), 'is of a loader of 7 samples; this one has 6'),
        (state_with(index=np.arange(5)), 'not an order of 6 samples'),
        (state_with(index=np.array([0, 1, 2, 3, 4, 4])), 'not an order of 6 samples'),
        (state_with(index=np.arange(6.0)), 'not an order of 6 samples'),
        (state_with(iteration=3), r'iteration=3; expected an int from 0 to 2'),
        (state_with(iteration=-1), 'iteration=-1'),
        (state_with(iteration=True), 'iteration=True'),
        (state_with(generator=None), 'draws from np.random; this one has its own'),
        (state_with(generator={'bit_generator': 'MT19937'}), "the loader's generator"),
        (generator_state_with(-5), "a state of the loader's generator that does not fit it"),
        (generator_state_with(2**200), "a state of the loader's generator that does not fit"),
        (state_with(batch_size=3), r'loader with batch_size=3; this one has batch_size=4'),
        (state_with(shuffle=False), 'loader with shuffle=False; this one has shuffle=True'),
        (state_with(shuffle=1), 'loader with shuffle=1; this one has shuffle=True'),
    ],
)
def test_a_state_that_does_not_fit_is_refused_and_changes_nothing(state, words):
    loader = DataLoader(Numbered(6), batch_size=4, seed=2)
    next(loader)
    before = loader.state_dict()
    with pytest.raises(ValueError, match='DataLoader.load_state_dict: the state .*' + words):
        loader.load_state_dict(state)
    after = loader.state_dict()
    np.testing.assert_array_equal(after.pop('index'), before.pop('index'))
    assert after == before
    twin = DataLoader(Numbered(6), batch_size=4, seed=2)
    next(twin)
    assert [t.tolist() for _, t in loader] == [t.tolist() for _, t in twin]  # as before


def test_a_state_saved_before_batch_size_and_shuffle_were_kept_still_loads():
    state = DataLoader(Numbered(6), batch_size=4, seed=1).state_dict()
    del state['loader'], state['batch_size'], state['shuffle']
    loader = DataLoader(Numbered(6), batch_size=4, seed=1)
    loader.load_state_dict(state)
    np.testing.assert_array_equal(loader.index, state['index'])


def test_a_seeded_state_does_not_load_into_a_loader_without_seed():
    state = DataLoader(Numbered(6), batch_size=4, seed=1).state_dict()
    with pytest.raises(ValueError, match='has its own generator .seed=.; this one draws'):
        DataLoader(Numbered(6), batch_size=4).load_state_dict(state)


def test_a_tuple_of_two_lists_of_arrays_only_is_refused_as_ambiguous():
    a0, a1 = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    with pytest.raises(TypeError, match='which could be inputs x and labels t or two items'):
        DataLoader(([a0, a1], [a0, a1]), 2, shuffle=False)


def test_a_dict_keyed_by_numpy_ints_for_the_positions_is_taken_too():
    d = {np.int64(i): (np.full(2, float(i)), i) for i in range(3)}
    assert [t.tolist() for _, t in DataLoader(d, 2, shuffle=False)] == [[0, 1], [2]]


def test_a_loader_pickled_by_the_books_dezero_is_refused_by_name():
    import copyreg
    import pickle

    class PickledAs:
        def __reduce__(self):
            state = {'dataset': [(np.zeros(2), 0)], 'batch_size': 1, 'shuffle': True}
            state.update(data_size=1, max_iter=1, gpu=False, iteration=0, index=np.arange(1))
            return copyreg._reconstructor, (DataLoader, object, None), state

    with pytest.raises(TypeError, match=r"DataLoader: this pickle holds a loader of the book's"):
        pickle.loads(pickle.dumps(PickledAs()))


def test_a_loader_pickled_with_dataset_and_batch_size_as_plain_attributes_loads():
    import copyreg
    import pickle

    state = DataLoader([(np.zeros(2), i) for i in range(5)], 2, shuffle=False).__getstate__()
    state['dataset'], state['batch_size'] = state.pop('_dataset'), state.pop('_batch_size')

    class PickledAs:
        def __reduce__(self):
            return copyreg._reconstructor, (DataLoader, object, None), state

    loader = pickle.loads(pickle.dumps(PickledAs()))
    assert loader.batch_size == 2 and len(loader.dataset) == 5
    assert order(epoch(loader)) == [0, 1, 2, 3, 4]


# ---- the kind of loader a state comes from --------------------------------------------------
def seq_state(n=11, batch_size=3, taken=2):
    """The state of a SeqDataLoader over ``n`` items after ``taken`` batches."""
    loader = SeqDataLoader(Numbered(n), batch_size)
    batches_from(loader, taken)
    return loader.state_dict()


def test_the_state_records_the_kind_of_loader():
    assert DataLoader(Numbered(6), 4).state_dict()['loader'] == 'DataLoader'
    assert SeqDataLoader(Numbered(6), 2).state_dict()['loader'] == 'SeqDataLoader'


def test_a_seq_loader_state_does_not_load_into_a_data_loader():
    state = seq_state()  # next: items [2, 5, 8]; a DataLoader would give [6, 7, 8]
    loader = DataLoader(Numbered(11), 3, shuffle=False)
    with pytest.raises(
        ValueError,
        match=r'DataLoader.load_state_dict: the state is of a SeqDataLoader, and this '
        r'loader is a DataLoader: .* give a SeqDataLoader',
    ):
        loader.load_state_dict(state)
    assert loader.iteration == 0  # nothing changed


def test_a_data_loader_state_does_not_load_into_a_seq_loader():
    loader = DataLoader(Numbered(11), 3, shuffle=False)
    batches_from(loader, 2)
    seq = SeqDataLoader(Numbered(11), 3)
    with pytest.raises(
        ValueError,
        match=r'SeqDataLoader.load_state_dict: the state is of a DataLoader, and this '
        r'loader is a SeqDataLoader: .* give a DataLoader',
    ):
        seq.load_state_dict(loader.state_dict())
    assert seq.iteration == 0


def test_a_subclass_takes_the_state_of_the_kind_it_extends():
    class Seq(SeqDataLoader):
        pass

    loader = Seq(Numbered(11), 3)
    loader.load_state_dict(seq_state())
    assert next(loader)[1].tolist() == [2, 5, 8]
    with pytest.raises(ValueError, match=r'this loader is a Seq \(a SeqDataLoader\)'):
        loader.load_state_dict(DataLoader(Numbered(11), 3, shuffle=False).state_dict())


@pytest.mark.parametrize('make', [DataLoader, SeqDataLoader])
def test_a_state_saved_without_the_kind_of_loader_still_loads_when_it_cannot_be_told(make):
    state = seq_state()
    del state['loader']
    loader = make(Numbered(11), 3, **({'shuffle': False} if make is DataLoader else {}))
    loader.load_state_dict(state)  # an unshuffled order: it may come from either kind
    assert loader.iteration == 2
    state = DataLoader(Numbered(11), 3, shuffle=False).state_dict()
    del state['loader'], state['batch_size'], state['shuffle']
    loader.load_state_dict(state)
    assert loader.iteration == 0


@pytest.mark.parametrize(
    'settings', [{'seed': None}, {'shuffle': False, 'seed': 1}], ids=['shuffles', 'seeded']
)
def test_a_state_saved_without_the_kind_from_a_data_loader_of_its_own_is_still_refused(settings):
    state = DataLoader(Numbered(11), 3, **settings).state_dict()
    del state['loader']  # as saved before the kind was kept
    loader = SeqDataLoader(Numbered(11), 3)
    with pytest.raises(ValueError, match='shuffle=True|generator'):
        loader.load_state_dict(state)
    assert loader.iteration == 0


@pytest.mark.parametrize('value', ['Loader', None, 3, ['DataLoader']])
def test_a_state_naming_an_unknown_kind_of_loader_is_refused(value):
    state = DataLoader(Numbered(6), 4).state_dict()
    state['loader'] = value
    with pytest.raises(
        ValueError, match=r"holds loader=.*; expected 'DataLoader' or 'SeqDataLoader'"
    ):
        DataLoader(Numbered(6), 4).load_state_dict(state)


def test_a_state_with_the_kind_but_not_the_settings_is_refused():
    state = DataLoader(Numbered(6), 4).state_dict()
    del state['batch_size']
    with pytest.raises(ValueError, match='is not the state of a DataLoader'):
        DataLoader(Numbered(6), 4).load_state_dict(state)


# ---- the book's protocol of epochs: for, break, next and reset --------------------------------
class BookLoader:
    """The book's DataLoader and SeqDataLoader (DeZero 0.0.13) reduced to their protocol,
    giving the sample indexes of each batch: the epochs are planned once when made, the
    order of an epoch is drawn from np.random by reset() (when made, and by the
    StopIteration that ends an epoch), and __iter__ returns the loader as it stands."""

    def __init__(self, n, batch_size, shuffle, seq=False):
        self.n, self.batch_size, self.shuffle, self.seq = n, batch_size, shuffle, seq
        self.max_iter = -(-n // batch_size)
        self.reset()

    def reset(self):
        self.iteration = 0
        self.index = np.random.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __iter__(self):
        return self

    def __next__(self):
        if self.iteration >= self.max_iter:
            self.reset()
            raise StopIteration
        i, size = self.iteration, self.batch_size
        if self.seq:
            batch = [(r * (self.n // size) + i) % self.n for r in range(size)]
        else:
            batch = self.index[i * size : (i + 1) * size].tolist()
        self.iteration += 1
        return batch


def run_ops(loader, ops, labels):
    """What ``ops`` give on ``loader``: ('for', k) a loop left after batch k, ('next',)
    one next(loader), ('reset',) and ('all',) a whole loop; ``labels`` turns a batch
    into its sample indexes.  Ends with a draw from np.random, which tells its state."""
    out = []
    for op in ops:
        if op[0] == 'for':
            for i, batch in enumerate(loader):
                out.append(labels(batch))
                if i == op[1]:
                    break
            out.append('|')
        elif op[0] == 'next':
            try:
                out.append(labels(next(loader)))
            except StopIteration:
                out.append('stop')
        elif op[0] == 'reset':
            loader.reset()
        else:
            out.append([labels(batch) for batch in loader])
    out.append(np.random.randint(2**30))
    return out


def test_for_break_next_and_reset_give_the_books_batches_and_random_state():
    rs = np.random.RandomState(0)
    kinds = [('for',), ('next',), ('reset',), ('all',)]
    for case in range(300):
        n, batch_size = int(rs.randint(1, 15)), int(rs.randint(1, 18))
        seq, shuffle = rs.rand() < 0.25, rs.rand() < 0.6
        if seq:
            batch_size, shuffle = min(batch_size, n), False
        ops = [kinds[rs.randint(4)] + (int(rs.randint(6)),) for _ in range(8)]
        np.random.seed(case)
        if seq:
            loader = SeqDataLoader(Numbered(n), batch_size)
        else:
            loader = DataLoader(Numbered(n), batch_size, shuffle=shuffle)
        mine = run_ops(loader, ops, lambda batch: batch[1].tolist())
        np.random.seed(case)
        book = run_ops(BookLoader(n, batch_size, shuffle, seq), ops, lambda batch: batch)
        assert mine == book, (case, n, batch_size, seq, shuffle, ops)


def test_a_loop_after_the_last_batch_gives_none_and_draws_one_order_as_in_the_book():
    np.random.seed(0)
    loader = DataLoader(Spiral(), 100)  # 3 batches
    for i, _ in enumerate(loader):
        if i == 2:  # left after the last batch
            break
    assert len(list(loader)) == 0
    after = np.random.randint(1000)
    np.random.seed(0)
    Spiral()
    np.random.permutation(300)  # the order of the first epoch and of the next
    np.random.permutation(300)
    assert after == np.random.randint(1000)


# ---- each epoch planned as it starts: batch_size and dataset between epochs -------------------
def test_a_batch_size_assigned_between_epochs_serves_every_sample():
    x, t = np.arange(10.0)[:, None], np.arange(10)
    loader = DataLoader((x, t), 10, shuffle=False)
    loader.batch_size = 5
    assert loader.batch_size == 5 and len(loader) == 2
    assert [b.tolist() for _, b in loader] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    loader.batch_size = np.int64(64)  # after an epoch: no empty batches
    assert type(loader.batch_size) is int and len(loader) == 1
    assert [b.tolist() for _, b in loader] == [list(range(10))]
    loader.batch_size = 3
    assert [len(b) for _, b in loader] == [3, 3, 3, 1]


def test_a_batch_size_assigned_at_the_start_keeps_the_order_drawn_for_the_epoch():
    loader = DataLoader(Numbered(10), 10, seed=4)
    drawn = loader.index.copy()
    loader.batch_size = 4
    np.testing.assert_array_equal(loader.index, drawn)
    assert order(epoch(loader)) == drawn.tolist()


@pytest.mark.parametrize(
    'value, error, words',
    [
        (0, ValueError, 'DataLoader: batch_size must be a positive integer, got 0'),
        (2.5, TypeError, 'DataLoader: batch_size must be a positive integer, got float 2.5'),
        (True, TypeError, 'DataLoader: batch_size must be a positive integer, got bool True'),
    ],
)
def test_an_assigned_batch_size_is_checked_as_when_made(value, error, words):
    loader = DataLoader(Numbered(10), 4)
    with pytest.raises(error, match=re.escape(words)):
        loader.batch_size = value
    assert loader.batch_size == 4 and len(loader) == 3


@pytest.mark.parametrize('name', ['batch_size', 'dataset'])
def test_assigning_part_way_through_an_epoch_is_refused(name):
    loader = DataLoader(Numbered(10), 4, shuffle=False)
    value = 2 if name == 'batch_size' else Numbered(6)
    next(loader)
    with pytest.raises(
        RuntimeError,
        match=rf'DataLoader: cannot assign {name} part-way through an epoch \(1 of its 3 '
        rf'batches given\).*assign {name} between epochs, or call reset\(\) first',
    ):
        setattr(loader, name, value)
    assert [t.tolist() for _, t in loader] == [[4, 5, 6, 7], [8, 9]]  # as before
    setattr(loader, name, value)  # between epochs
    assert len(loader) == (5 if name == 'batch_size' else 2)
    next(loader)
    loader.reset()
    setattr(loader, name, value)


def test_an_assigned_pair_of_arrays_is_served_not_the_old_one():
    x, t = np.arange(4.0)[:, None], np.arange(4)
    loader = DataLoader((x, t), 4, shuffle=False)
    loader.dataset = (x + 100, t + 100)
    xb, tb = next(loader)
    assert xb[:, 0].tolist() == tb.tolist() == [100, 101, 102, 103]
    loader.reset()
    loader.dataset = (np.arange(6.0)[:, None], None)
    assert [xb[:, 0].tolist() for xb, _ in loader] == [[0, 1, 2, 3], [4, 5]]


def test_an_assigned_dataset_of_another_length_gets_a_new_order():
    loader = DataLoader(Numbered(4), 4, seed=0)
    loader.dataset = Numbered(8)
    assert len(loader) == 2 and sorted(order(epoch(loader))) == list(range(8))
    loader.dataset = [(np.zeros(2), 7)] * 3  # a list of pairs
    assert order(epoch(loader)) == [7, 7, 7]


@pytest.mark.parametrize(
    'dataset, error, words',
    [
        ({'a': 1}, TypeError, 'dataset must have items by position'),
        ((np.zeros((3, 2)), np.zeros(4)), ValueError, 'same first length'),
        ([np.zeros(2), np.zeros(2)], TypeError, r'item 0 of the dataset .* is not a pair'),
        (iter([]), TypeError, 'dataset must have a length and items by index'),
    ],
)
def test_an_assigned_dataset_is_checked_as_when_made(dataset, error, words):
    loader = DataLoader(Numbered(5), 2, shuffle=False)
    with pytest.raises(error, match='DataLoader: .*' + words):
        loader.dataset = dataset
    assert len(loader) == 3 and order(epoch(loader)) == list(range(5))


def grow(dataset, n):
    """Make the Numbered ``dataset`` one of ``n`` items, in place."""
    dataset.data, dataset.label = Numbered(n).data, Numbered(n).label


@pytest.mark.parametrize('shuffle', [False, True])
def test_a_dataset_grown_in_place_is_served_whole_from_the_next_epoch(shuffle):
    ds = Numbered(4)
    loader = DataLoader(ds, 2, shuffle=shuffle, seed=0)
    grow(ds, 8)  # before the first batch
    assert len(loader) == 4 and sorted(order(epoch(loader))) == list(range(8))
    grow(ds, 11)  # between epochs
    assert len(loader) == 6 and sorted(order(epoch(loader))) == list(range(11))
    items = [(np.zeros(2), i) for i in range(3)]  # a list of items grown too
    loader = DataLoader(items, 2, shuffle=shuffle, seed=0)
    epoch(loader)
    items.append((np.zeros(2), 3))
    assert sorted(order(epoch(loader))) == [0, 1, 2, 3]


@pytest.mark.parametrize('n', [3, 20])
def test_a_dataset_changing_length_part_way_through_an_epoch_is_refused(n):
    ds = Numbered(10)
    loader = DataLoader(ds, 4, shuffle=False)
    next(loader)
    grow(ds, n)
    with pytest.raises(
        ValueError,
        match=rf'DataLoader: the dataset has {n} samples, but it had 10 when this epoch '
        rf'began \(1 of its 3 batches given\); a dataset must keep its length',
    ):
        next(loader)
    loader.reset()  # a new epoch over the dataset as it is
    assert order(epoch(loader)) == list(range(n))


def test_a_state_saved_at_the_start_of_an_epoch_follows_a_grown_dataset():
    ds = Numbered(6)
    loader = DataLoader(ds, 4, seed=1)
    epoch(loader)
    grow(ds, 9)
    state = loader.state_dict()
    assert state['size'] == 9 and sorted(state['index'].tolist()) == list(range(9))
    other = DataLoader(Numbered(9), 4, seed=7)
    other.load_state_dict(state)
    assert order(epoch(other)) == order(epoch(loader)) == state['index'].tolist()


def test_a_seq_loader_plans_its_rows_from_the_batch_size_and_dataset_of_the_epoch():
    ds = Numbered(8)
    loader = SeqDataLoader(ds, 2)
    loader.batch_size = 4  # jump 2
    assert loader.jump == 2 and [t.tolist() for _, t in loader] == [[0, 2, 4, 6], [1, 3, 5, 7]]
    with pytest.raises(ValueError, match='SeqDataLoader: batch_size 9 is larger than the 8 items'):
        loader.batch_size = 9
    assert loader.batch_size == 4 and loader.jump == 2
    grow(ds, 12)  # jump 3
    assert [t.tolist() for _, t in loader][0] == [0, 3, 6, 9] and loader.jump == 3
    with pytest.raises(ValueError, match='SeqDataLoader: batch_size 4 is larger than the 3 items'):
        loader.dataset = Numbered(3)
    loader.dataset = (np.arange(6.0)[:, None], np.arange(6))
    assert loader.jump == 1 and [t.tolist() for _, t in loader] == [[0, 1, 2, 3], [1, 2, 3, 4]]


# ---- items that a batch of arrays cannot hold ---------------------------------------------
def test_pil_images_as_items_are_refused_with_the_advice_of_the_transforms():
    Image = pytest.importorskip('PIL.Image')
    items = [(Image.new('RGB', (32, 24)), i) for i in range(3)]
    with pytest.raises(
        TypeError,
        match=r'DataLoader: the inputs of a batch must be arrays, and item 0 of the dataset '
        r'gives a PIL image \(mode RGB, 32x24\), which NumPy would stack as \(H, W, C\) '
        r'where the layers take \(C, H, W\); turn it into an array \(C, H, W\) with '
        r'ToArray\(\) first',
    ):
        next(DataLoader(items, 3, shuffle=False))
    mixed = [(np.zeros((3, 24, 32)), 0), (Image.new('RGB', (32, 24)), 1)]
    with pytest.raises(TypeError, match='item 1 of the dataset gives a PIL image'):
        next(DataLoader(mixed, 2, shuffle=False))


def test_a_dataset_whose_transform_ends_with_a_pil_image_is_refused():
    pytest.importorskip('PIL.Image')
    from dezero.transforms import Compose, Resize, ToPIL

    class Images(Dataset):
        def prepare(self):
            self.data = np.zeros((4, 3, 40, 40), dtype=np.uint8)
            self.label = np.arange(4)

    loader = DataLoader(Images(transform=Compose([ToPIL(), Resize(32)])), 4)
    with pytest.raises(TypeError, match=r'gives a PIL image \(mode RGB, 32x32\)'):
        next(loader)


@pytest.mark.parametrize('where', ['inputs', 'labels'])
@pytest.mark.parametrize('first', [True, False])
def test_variables_as_items_are_refused_naming_the_part_and_the_fix(where, first):
    from dezero import Variable

    v = Variable(np.zeros(2))
    plain = (np.zeros(2), 0)
    odd = (v, 0) if where == 'inputs' else (np.zeros(2), Variable(np.array(1)))
    items = [odd, plain] if first else [plain, odd]
    shape = r'\(2,\)' if where == 'inputs' else r'\(\)'
    with pytest.raises(
        TypeError,
        match=rf'DataLoader: the {where} of a batch must be arrays, and item {1 - first} of '
        rf'the dataset gives a Variable \(Variable of shape {shape}\); put arrays in the '
        r'dataset \(v.data for a Variable v\)',
    ):
        next(DataLoader(items, 2, shuffle=False))

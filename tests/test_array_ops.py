"""Array helpers of dezero.array_ops (some re-exported from dezero.utils); the quick
row and column reductions give NumPy's results, whatever the route."""

import itertools

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.array_ops import (
    BLAS_ROW_SUM,
    PAIRWISE_ROWS,
    SHORT_ROW,
    WIDE_ROW,
    broadcasts_to,
    cast_can_overflow,
    channel_sums,
    first_overflow,
    float_data,
    float_number,
    column_sums,
    is_float16,
    max_keepdims,
    scatter_add,
    sum_array,
    sum_keepdims,
    sum_to,
    wide_sum,
    zero_where,
)
from dezero.utils import max_backward_shape


@pytest.mark.parametrize(
    'axis, shape',
    [
        (None, (1, 1, 1)),
        (0, (1, 3, 4)),
        (1, (2, 1, 4)),
        (-1, (2, 3, 1)),
        ((0, 2), (1, 3, 1)),
        ((-3, 1), (1, 1, 4)),
        ([2], (2, 3, 1)),
        ((), (2, 3, 4)),
    ],
)
def test_max_backward_shape_sets_the_reduced_axes_to_one(axis, shape):
    assert max_backward_shape(np.zeros((2, 3, 4)), axis) == shape
    assert max_backward_shape(Variable(np.zeros((2, 3, 4))), axis) == shape


def test_max_backward_shape_of_a_scalar_is_empty():
    assert max_backward_shape(np.array(1.0), None) == ()


@pytest.mark.parametrize('axis', [0, 1, (0, 1), None])
def test_max_backward_shape_lets_the_gradient_of_max_broadcast_back(axis):
    x = np.arange(12.0).reshape(3, 4)
    y = F.max(Variable(x), axis=axis)
    shape = max_backward_shape(x, axis)
    np.testing.assert_array_equal(y.data.reshape(shape), x.max(axis=axis, keepdims=True))


@pytest.mark.parametrize('axis', [3, -4, (0, 0)])
def test_max_backward_shape_refuses_bad_axes(axis):
    with pytest.raises(ValueError, match='axis'):
        max_backward_shape(np.zeros((2, 3, 4)), axis)


def _numpy_sum(x, axis, keepdims=False):
    """NumPy's sum, with float16 accumulated in float32 and rounded once, as here."""
    if x.dtype == np.float16:
        return x.sum(axis=axis, keepdims=keepdims, dtype=np.float32).astype(np.float16)
    return x.sum(axis=axis, keepdims=keepdims)


SHAPES = [(100, 10), (3, 1), (1, 7), (0, 4), (5, 0), (8, SHORT_ROW + 1), (4, BLAS_ROW_SUM + 1)]


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64, np.int64])
@pytest.mark.parametrize('axis', [1, -1, (1,), 0, -2, (0,), (0, 1), None])
def test_max_and_sums_equal_numpy(shape, dtype, axis):
    x = (np.random.default_rng(0).standard_normal(shape) * 10).astype(dtype)
    try:
        want = x.max(axis=axis, keepdims=True)
    except ValueError:  # the maximum of nothing: refused both ways
        with pytest.raises(ValueError):
            max_keepdims(x, axis)
    else:
        np.testing.assert_array_equal(max_keepdims(x, axis), want)
    got, want = sum_keepdims(x, axis), _numpy_sum(x, axis, keepdims=True)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-3 if dtype == np.float16 else 1e-5, atol=1e-4)
    got, want = column_sums(x), _numpy_sum(x, 0)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-3 if dtype == np.float16 else 1e-5, atol=1e-4)


@pytest.mark.parametrize(
    'shape', [(4, 3, 5, 6), (1, 2, 1, 1), (0, 3, 2, 2), (2, 0, 2, 2), (2, 3, 0, 4)]
)
@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64, np.int64])
def test_channel_sums_equal_numpy(shape, dtype):
    x = (np.random.default_rng(1).standard_normal(shape) * 10).astype(dtype)
    got, want = channel_sums(x), _numpy_sum(x, (0, 2, 3))
    assert got.shape == want.shape == (shape[1],) and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-3 if dtype == np.float16 else 1e-5, atol=1e-4)
    strided = np.repeat(x, 2, axis=3)[..., ::2]  # the same numbers, not contiguous
    np.testing.assert_allclose(channel_sums(strided), want, rtol=1e-3, atol=1e-4)


def test_channel_sums_keep_non_finite_values():
    x = np.ones((2, 4, 3, 3), np.float32)
    x[0, 1, 0, 0], x[1, 2, 2, 1], x[1, 3, 0, 0], x[0, 3, 1, 1] = np.nan, np.inf, np.inf, -np.inf
    with np.errstate(invalid='ignore'):
        np.testing.assert_array_equal(channel_sums(x), x.sum(axis=(0, 2, 3)))


def test_non_contiguous_and_non_finite_values():
    x = np.arange(60, dtype=np.float32).reshape(6, 10)[::2, ::3]  # a strided view
    np.testing.assert_array_equal(max_keepdims(x, 1), x.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(sum_keepdims(x, 1), x.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(column_sums(x.T), x.T.sum(axis=0))
    y = np.array([[1.0, np.nan, 2.0], [np.inf, 0.0, 1.0], [-np.inf, -np.inf, 3.0]], np.float32)
    with np.errstate(invalid='ignore'):  # inf - inf is nan on every route
        np.testing.assert_array_equal(max_keepdims(y, 1), y.max(axis=1, keepdims=True))
        np.testing.assert_array_equal(sum_keepdims(y, 1), y.sum(axis=1, keepdims=True))
        np.testing.assert_array_equal(column_sums(y), y.sum(axis=0))


def test_results_are_fresh_arrays():
    # the vector of ones behind the sums is shared: results must never be views of it
    x = np.ones((3, 2), np.float32)
    a, b = column_sums(x), column_sums(x)
    a += 1
    np.testing.assert_array_equal(b, [3.0, 3.0])
    np.testing.assert_array_equal(column_sums(x), [3.0, 3.0])


def test_float16_sums_are_accumulated_in_float32():
    # NumPy adds float16 along a strided axis one value at a time, in float16, and
    # stops growing at 2048 (2048 + 1 rounds to 2048)
    x = np.ones((10_000, 2), np.float16)
    for got in (sum_keepdims(x, 0), column_sums(x), sum_keepdims(x.T, 1)):
        assert got.dtype == np.float16
        np.testing.assert_array_equal(got, np.full(got.shape, 10_000.0))


@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64, np.int64])
def test_zero_where_selects_rather_than_multiplies(dtype):
    values = [1.0, -np.inf, np.inf, np.nan, -0.0, 2.5] if dtype != np.int64 else [1, -3, 4, 7, 0, 2]
    a = np.array(values, dtype)
    mask = np.array([False, True, True, True, False, False])
    got = zero_where(mask, a)
    want = np.array([values[0], 0, 0, 0, values[4], values[5]], dtype)
    assert got.dtype == a.dtype and not np.shares_memory(got, a)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(a, np.array(values, dtype))  # a is left alone
    # a strided view, a 0-d array, and a mask that broadcasts all give the same answer
    strided = np.repeat(a, 2)[::2]
    np.testing.assert_array_equal(zero_where(mask, strided), want)
    np.testing.assert_array_equal(zero_where(np.array(True), a[0]), np.zeros((), dtype))
    np.testing.assert_array_equal(zero_where(np.array([True]), a), np.zeros(6, dtype))


@pytest.mark.parametrize(
    'shape, target',
    [
        ((), (2, 3)),
        ((3,), (2, 3)),
        ((1, 3), (2, 3)),
        ((2, 1), (2, 3)),
        ((4,), (4,)),
        ((5,), (2, 3)),
        ((2,), (2, 3)),
        ((2, 3, 1), (2, 3)),
        ((3, 1), (2, 3)),
        ((0,), (2, 3)),
    ],
)
def test_broadcasts_to_follows_numpys_rule(shape, target):
    try:
        expected = np.broadcast_shapes(shape, target) == target
    except ValueError:
        expected = False
    assert broadcasts_to(shape, target) == expected


@pytest.mark.parametrize('dtype', [np.bool_, np.uint8, np.int64])
def test_float_data_takes_bools_and_integers_to_float64(dtype):
    x = np.array([0, 1], dtype)
    assert float_data(x).dtype == np.float64 and float_data(x).tolist() == [0.0, 1.0]


@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64, np.complex64])
def test_float_data_leaves_floating_and_complex_data_as_it_is(dtype):
    x = np.array([0, 1], dtype)
    assert float_data(x) is x


# ---- sums along leading axes ------------------------------------------------------------------
@pytest.mark.parametrize('width', [2, WIDE_ROW])  # rows halved, or summed in blocks first
def test_sums_over_many_rows_lose_no_small_terms(width):
    # NumPy adds row after row along a leading axis: 2**24 + 1 rounds to 2**24 in
    # float32, and every 1 after the first row was lost (an error of 1023)
    x = np.ones((1024, width), np.float32)
    x[0] = 2**24
    exact = 2**24 + 1023
    for got in (sum_array(x, 0), sum_array(x, (0,), keepdims=True)[0], sum_to(x, (width,))):
        assert got.dtype == np.float32
        assert np.abs(got - exact).max() <= PAIRWISE_ROWS


@pytest.mark.parametrize('shape', [(200_000, 2), (4000, 250), (3000, WIDE_ROW + 44)])
def test_float32_sums_along_a_leading_axis_are_as_accurate_as_pytorchs(shape):
    # NumPy's row-by-row sums were off by 6e-6, 2e-6 and 5e-6 of the value
    a = np.random.default_rng(0).random(shape).astype(np.float32)
    exact = a.astype(np.float64).sum(axis=0)
    for got in (
        sum_array(a, 0),
        F.sum(Variable(a), axis=0).data,
        F.mean(Variable(a), 0).data * len(a),
    ):
        assert got.dtype == np.float32
        assert np.abs(got - exact).max() / exact.max() < 3e-7


@pytest.mark.parametrize(
    'shape',
    [(PAIRWISE_ROWS + 1, 3), (300, 2, 5), (257, WIDE_ROW), (130, 4, 3), (3, 300, 2), (300, 0)],
)
@pytest.mark.parametrize('dtype', [np.float16, np.float32])
def test_sums_over_every_set_of_axes_equal_numpy(shape, dtype):
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    axes = [None] + [
        a for r in range(1, x.ndim + 1) for a in itertools.combinations(range(x.ndim), r)
    ]
    for axis in axes + [(-1, 0)]:
        for keepdims in (False, True):
            got, want = sum_array(x, axis, keepdims), _numpy_sum(x, axis, keepdims)
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(
                got, want, rtol=2e-3 if dtype == np.float16 else 1e-5, atol=1e-2
            )
    strided = np.repeat(x, 2, axis=0)[::2]  # not contiguous: summed as carefully
    np.testing.assert_allclose(
        sum_array(strided, 0),
        sum_array(x, 0),
        rtol=1e-3 if dtype == np.float16 else 1e-5,
        atol=1e-4,
    )


def test_reshape_sum_backward_keeps_the_books_shapes():
    from dezero.utils import reshape_sum_backward

    gy = np.ones((3,))
    assert reshape_sum_backward(gy, (2, 3, 4), (0, 2), False).shape == (1, 3, 1)
    assert reshape_sum_backward(np.ones((3, 4)), (2, 3, 4), -3, False).shape == (1, 3, 4)
    assert reshape_sum_backward(np.ones((1, 3, 1)), (2, 3, 4), (0, 2), True).shape == (1, 3, 1)
    # a sum of every element: the book returns gy unchanged
    assert reshape_sum_backward(np.ones(()), (2, 3, 4), None, False).shape == ()
    assert reshape_sum_backward(np.ones((1, 1)), (2, 3), None, True).shape == (1, 1)


@pytest.mark.parametrize(
    'gy_shape, x_shape, axis, keepdims',
    [
        ((4,), (4, 4), 1, True),
        ((5,), (3, 4), 1, False),
        ((3, 4), (3, 4), 1, False),
        ((4,), (4,), None, False),
    ],
)
def test_reshape_sum_backward_refuses_a_gy_that_is_not_the_sums(gy_shape, x_shape, axis, keepdims):
    # the book's reshapes it anyway: (4,) with keepdims broadcast back transposed
    from dezero.utils import reshape_sum_backward

    with pytest.raises(
        ValueError, match=r'reshape_sum_backward: gy of shape .* is not the gradient'
    ):
        reshape_sum_backward(np.ones(gy_shape), x_shape, axis, keepdims)


def test_array_equal_and_allclose_name_themselves_for_what_they_cannot_compare():
    from dezero.utils import array_allclose, array_equal

    assert array_equal(1.0, np.array(1.0)) and array_allclose([1, 2], np.array([1.0, 2.0]))
    with pytest.raises(
        TypeError, match='array_allclose: expected arrays, numbers or Variables, got None'
    ):
        array_allclose(np.ones(2), None)
    with pytest.raises(TypeError, match='array_equal: .*a Variable holding no data'):
        array_equal(Variable(None), np.ones(2))
    with pytest.raises(TypeError, match='array_allclose: expected numbers'):
        array_allclose(np.ones(2), np.array(['a', 'b']))


def test_utils_logsumexp_of_a_0d_array_is_a_0d_array():
    from dezero.utils import logsumexp

    y = logsumexp(np.array(3.0), axis=None)
    assert type(y) is np.ndarray and y.shape == () and y == 3.0


# ---- long sums in any layout ----------------------------------------------------------------
# NumPy sums pairwise only along the axis innermost in memory; along others, and along every
# axis of a slice, a transpose or a broadcast array, it adds one row at a time: the float32
# sum of 300,000 rows of 0.1 (equal values, the worst case) was off by 3e-3 of its value.
LONG = 300_000


def _tenths(shape, dtype=np.float32):
    return np.full(shape, 0.1, dtype)


LAYOUTS = {
    'contiguous': lambda: _tenths((LONG, 2)),
    'column slice': lambda: _tenths((LONG, 3))[:, :2],
    'row slice': lambda: _tenths((2 * LONG, 2))[::2],
    'transpose': lambda: _tenths((2, LONG)).T,
    'reversed': lambda: _tenths((LONG, 2))[::-1],
    'broadcast': lambda: np.broadcast_to(np.float32(0.1), (LONG, 2)),
    'big-endian': lambda: _tenths((LONG, 2), '>f4'),
}


def _assert_sums_of_tenths(got, rows):
    exact = rows * float(np.float32(0.1))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, exact, rtol=2e-6, atol=0)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_float32_column_sums_are_pairwise_in_any_layout(layout):
    x = LAYOUTS[layout]()
    for got in (
        sum_array(x, 0),
        sum_array(x, (0,), keepdims=True)[0],
        wide_sum(x, 0),
        sum_to(x, (2,)),
        column_sums(x),
        sum_keepdims(x, 0)[0],
        sum_keepdims(x.T, 1)[:, 0],
        F.sum(Variable(x), axis=0).data,
    ):
        _assert_sums_of_tenths(got, LONG)
    np.testing.assert_allclose(F.mean(Variable(x), axis=0).data, np.float32(0.1), rtol=2e-6)


@pytest.mark.parametrize(
    'shape, axis, make',
    [
        ((4, LONG // 4, 3), 1, lambda a: a),  # a middle axis
        ((3, LONG // 2, 2), (0, 1), lambda a: a),  # two leading axes
        ((LONG // 8, 2, 8), (0, 2), lambda a: a),  # a leading and the last axis
        ((LONG // 8, 2, 8), (0, 2), lambda a: a[:, :, ::2]),  # the same, strided
        ((2, LONG // 4, 3), 0, lambda a: a.transpose(1, 0, 2)),  # a transposed middle axis
        ((LONG // 25, 2, 10, 10), (0, 2, 3), lambda a: a[:, :, 1:, 1:]),  # windows of images
    ],
)
def test_float32_sums_over_long_axes_are_pairwise_in_any_layout(shape, axis, make):
    x = make(_tenths(shape))
    want = np.full(np.sum(np.zeros(x.shape), axis=axis).shape, np.nan)
    rows = x.size // want.size
    got = sum_array(x, axis)
    assert got.shape == want.shape
    _assert_sums_of_tenths(got, rows)


def test_channel_sums_over_many_images_are_pairwise():
    # the (N, C) sums of each image's channels over N = 20,000 images, and images of more
    # than BLAS_ROW_SUM pixels
    _assert_sums_of_tenths(channel_sums(_tenths((20_000, 2, 4, 4))), 20_000 * 16)
    _assert_sums_of_tenths(channel_sums(_tenths((2, 2, 400, 400))), 2 * 160_000)


def test_long_sums_keep_values_that_are_not_finite():
    x = np.ones((1000, 3), np.float32)
    x[10, 0], x[500, 1], x[999, 2], x[0, 2] = np.nan, np.inf, np.inf, -np.inf
    with np.errstate(invalid='ignore'):
        for got in (sum_array(x, 0), column_sums(x), sum_array(x[::-1], 0), sum_array(x.T, 1)):
            np.testing.assert_array_equal(got, [np.nan, np.inf, np.nan])


# ---- float16 in either byte order ------------------------------------------------------------
def test_is_float16_knows_both_byte_orders():
    assert is_float16(np.dtype('<f2')) and is_float16(np.dtype('>f2'))
    assert not any(is_float16(np.dtype(t)) for t in ('f4', '>f4', 'f8', 'i2', 'u2', 'c8'))


def test_big_endian_float16_is_summed_in_float32():
    # 4096 ones added one at a time in float16 stopped at 2048
    x = np.ones((4096, 2), '>f2')
    got = sum_array(x, 0)
    assert is_float16(got.dtype)
    np.testing.assert_array_equal(got, [4096.0, 4096.0])
    np.testing.assert_array_equal(sum_to(x, (1, 2)), [[4096.0, 4096.0]])
    np.testing.assert_array_equal(wide_sum(np.full(8, 10_000, '>f2')), 80_000.0)


def test_scatter_add_accumulates_float16_in_float32():
    # 50,000 additions of 0.1 at one position: in float16 they stopped growing at 256
    for dtype in ('<f2', '>f2'):
        target = np.zeros(2, dtype)
        scatter_add(target, np.zeros(50_000, np.int64), np.full(50_000, 0.1, np.float16))
        assert target.dtype == np.dtype(dtype)
        assert abs(float(target[0]) - 50_000 * float(np.float16(0.1))) <= 8  # 2 float16 steps
        assert target[1] == 0


# ---- casts that overflow ---------------------------------------------------------------------
@pytest.mark.parametrize(
    'source, target, overflows',
    [
        ('f8', 'f4', True),
        ('f8', 'f2', True),
        ('f4', 'f2', True),
        ('>f4', 'f2', True),
        ('f4', 'f8', False),
        ('f2', 'f4', False),
        ('i4', 'f2', True),
        ('u2', 'f2', True),
        ('i2', 'f2', False),
        ('u1', 'f2', False),
        ('i8', 'f4', False),
        ('?', 'f2', False),
    ],
)
def test_cast_can_overflow(source, target, overflows):
    assert cast_can_overflow(np.dtype(source), np.dtype(target)) is overflows


def test_first_overflow_names_the_first_finite_value_made_infinite():
    x = np.array([1.0, np.inf, -np.nan, -7e4, 8e4])
    with np.errstate(over='ignore'):
        y = x.astype(np.float16)
    assert first_overflow(x, y) == -70_000.0
    assert first_overflow(x[:3], y[:3]) is None  # already infinite or nan: not an overflow


# ---- a number beside a float array -----------------------------------------------------------
@pytest.mark.parametrize(
    'dtype, number, value',
    [
        ('float16', 0.5, 0.5),
        ('float16', -0.0, -0.0),
        ('float16', 1e-7, 2**-23),  # subnormal: kept, rounded to float16's spacing
        ('float16', 3e-8, 2**-24),  # just above half the smallest: rounds up to it
        ('float32', 1e-45, 2**-149),
        ('float64', 5e-324, 5e-324),
        ('float16', np.inf, np.inf),
    ],
)
def test_float_number_keeps_what_the_dtype_holds(dtype, number, value):
    got = float_number(number, np.dtype(dtype), 'maximum', 'the other input')
    assert got.dtype == np.dtype(dtype) and got == value
    assert np.signbit(got) == np.signbit(value)


@pytest.mark.parametrize(
    'dtype, number', [('float16', 1e-8), ('float16', -2.98e-8), ('>f2', 1e-9), ('float32', 1e-46)]
)
def test_float_number_refuses_a_number_made_0(dtype, number):
    with pytest.raises(
        OverflowError,
        match=rf'^maximum: the number {number} is too small for the dtype {np.dtype(dtype)} '
        rf'of the other input: it would become 0 \(the smallest positive',
    ):
        float_number(number, np.dtype(dtype), 'maximum', 'the other input')


@pytest.mark.parametrize(
    'call, name',
    [
        (lambda v: F.maximum(v, 1e-8), 'maximum'),
        (lambda v: F.minimum(-1e-9, v), 'minimum'),
        (lambda v: F.where(np.array([True, False]), v, 1e-8), 'where'),
    ],
)
def test_the_selections_refuse_a_number_made_0_as_the_operators_do(call, name):
    # F.maximum(float16, 1e-8) compared with 0 instead of 1e-8
    v = Variable(np.array([-1.0, 2.0], np.float16))
    with pytest.raises(
        OverflowError,
        match=rf'^{name}: the number -?1e-0\d is too small for the dtype float16 of the other '
        r'input: it would become 0 \(the smallest positive float16 is 5.96e-08\); use a '
        r'larger number, or convert the other input to a wider dtype \(float32\)$',
    ):
        call(v)
    assert F.maximum(v, 1e-7).data.tolist() == [2**-23, 2.0]  # subnormal, kept

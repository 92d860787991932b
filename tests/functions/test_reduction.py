"""Reductions: sum, mean/average, max, min, logsumexp over axes, with keepdims, and the
gradient of max and min as a function of the gradient arriving."""

import warnings
import weakref

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.functions.reduction import Max, Mean, Min, Sum


def np_logsumexp(a, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))


# name: (dezero function, NumPy reference, input domain; max/min away from ties)
REDUCTIONS = {
    'sum': (F.sum, np.sum, 'real'),
    'mean': (F.mean, np.mean, 'real'),
    'average': (F.average, np.mean, 'real'),
    'max': (F.max, np.max, 'distinct'),
    'min': (F.min, np.min, 'distinct'),
    'logsumexp': (F.logsumexp, np_logsumexp, 'real'),
}
AXES = [None, 1, -1, (0, 2)]


@pytest.mark.parametrize('keepdims', [False, True])
@pytest.mark.parametrize('axis', AXES, ids=str)
@pytest.mark.parametrize('name', REDUCTIONS)
def test_forward_matches_numpy(name, axis, keepdims, sample):
    f, ref, domain = REDUCTIONS[name]
    x = sample((2, 3, 4), domain)
    y = f(Variable(x), axis=axis, keepdims=keepdims)
    expected = ref(x, axis=axis, keepdims=keepdims)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)


@pytest.mark.parametrize('keepdims', [False, True])
@pytest.mark.parametrize('axis', AXES, ids=str)
@pytest.mark.parametrize('name', REDUCTIONS)
def test_gradients_first_and_second_order(name, axis, keepdims, sample, check_grads):
    f, _, domain = REDUCTIONS[name]
    check_grads(lambda x: f(x, axis=axis, keepdims=keepdims), sample((2, 3, 4), domain))


@pytest.mark.parametrize('name', REDUCTIONS)
def test_scalar_input(name, sample, check_grads):
    f, ref, domain = REDUCTIONS[name]
    x = sample((), domain)
    assert f(Variable(x)).data == pytest.approx(ref(x))
    check_grads(f, x)


@pytest.mark.parametrize('name', REDUCTIONS)
def test_float32_is_kept(name, sample, assert_keeps_float32):
    f, _, domain = REDUCTIONS[name]
    assert_keeps_float32(lambda x: f(x, axis=1), sample((2, 3), domain))


@pytest.mark.parametrize('method, f', [('sum', F.sum), ('max', F.max), ('min', F.min)])
def test_variable_methods_match_functions(method, f, sample):
    x = Variable(sample((2, 3, 4), 'distinct'))
    for args in [(), (1,), ((0, 2), True)]:
        np.testing.assert_array_equal(getattr(x, method)(*args).data, f(x, *args).data)


def test_mean_exact():
    x = Variable(np.array([[1.0, 2.0], [3.0, 5.0]]))
    y = F.mean(x, axis=0)
    y.backward()
    np.testing.assert_array_equal(y.data, [2.0, 3.5])
    np.testing.assert_array_equal(x.grad.data, np.full((2, 2), 0.5))


@pytest.mark.parametrize(
    'f, x, axis, keepdims, y, gx',
    [
        (F.max, [1.0, 3.0, 3.0], None, False, 3.0, [0.0, 0.5, 0.5]),
        (F.min, [2.0, 1.0, 1.0, 5.0], None, False, 1.0, [0.0, 0.5, 0.5, 0.0]),
        (F.max, [[1.0, 1.0], [0.0, 2.0]], 1, False, [1.0, 2.0], [[0.5, 0.5], [0.0, 1.0]]),
        (F.max, [[1.0, 1.0], [0.0, 2.0]], 1, True, [[1.0], [2.0]], [[0.5, 0.5], [0.0, 1.0]]),
        (F.min, [[4.0, 1.0], [4.0, 2.0]], 0, False, [4.0, 1.0], [[0.5, 1.0], [0.5, 0.0]]),
        (F.max, [[7.0, 7.0], [7.0, 7.0]], None, False, 7.0, np.full((2, 2), 0.25)),
    ],
)
def test_max_min_ties_share_the_gradient(f, x, axis, keepdims, y, gx):
    x = Variable(np.array(x))
    out = f(x, axis=axis, keepdims=keepdims)
    out.backward()
    np.testing.assert_array_equal(out.data, y)
    np.testing.assert_array_equal(x.grad.data, gx)


@pytest.mark.parametrize(
    'x, axis, y, gx',
    [
        ([1000.0, 1000.0, 1000.0], None, 1000.0 + np.log(3.0), np.full(3, 1 / 3)),
        ([-1000.0, -1000.0], None, -1000.0 + np.log(2.0), [0.5, 0.5]),
        (
            [[1000.0, 0.0], [-1000.0, -1000.0]],
            1,
            [1000.0, -1000.0 + np.log(2.0)],
            [[1.0, 0.0], [0.5, 0.5]],
        ),
    ],
)
def test_logsumexp_large_values_without_overflow(x, axis, y, gx):
    x = Variable(np.array(x))
    with np.errstate(over='raise', invalid='raise', divide='raise'):
        out = F.logsumexp(x, axis=axis)
        out.backward()
    np.testing.assert_allclose(out.data, y, rtol=1e-15)
    np.testing.assert_allclose(x.grad.data, gx, rtol=1e-12)


def test_logsumexp_gradient_at_large_values(sample, check_grads):
    check_grads(lambda x: F.logsumexp(x, axis=0), 1000.0 + sample((3, 2)), order=1)


@pytest.mark.parametrize('name', REDUCTIONS)
@pytest.mark.parametrize('axis', [2, -3, (0, 0)], ids=str)
def test_bad_axis_names_function_and_axis(name, axis):
    match = rf'{REDUCTIONS[name][0].__name__}: (repeated )?axis'
    with pytest.raises(ValueError, match=match):
        REDUCTIONS[name][0](Variable(np.ones((2, 3))), axis=axis)


@pytest.mark.parametrize(
    'f',
    [Sum(5, False), Mean(-3, False, 1), Max(5), Min((0, 2))],
    ids=['Sum', 'Mean', 'Max', 'Min'],
)
def test_a_class_called_directly_names_itself_and_the_bad_axis(f):
    match = rf'{type(f).__name__}: axis -?\d is out of range for an array with 2 dimensions'
    with pytest.raises(ValueError, match=match):
        f(Variable(np.ones((2, 3))))


# ---- what backward keeps, and the gradient function of max and min ------------------------
@pytest.mark.parametrize('axis', [None, 1, (0, 2)], ids=str)
@pytest.mark.parametrize('name', REDUCTIONS)
def test_gradients_of_an_intermediate_input(name, axis, sample, check_grads):
    # The input is made by a function and the output is used by one, so the graph holds
    # them only where the function declares that its backward reads them.
    f, _, domain = REDUCTIONS[name]
    check_grads(lambda x: f(x + 0.0, axis=axis) * 1.0, sample((2, 3, 2), domain))


@pytest.mark.parametrize(
    'name, keeps_input',
    [
        ('sum', False),
        ('mean', False),
        ('max', True),
        ('min', True),
        ('logsumexp', True),
    ],
)
def test_an_input_backward_does_not_read_is_freed(name, keeps_input):
    f = REDUCTIONS[name][0]
    x = Variable(np.array([[0.25, -0.5], [2.0, 1.0]]))
    h = x * 1.0
    alive = weakref.ref(h)
    y = f(h, axis=1)
    del h
    assert (alive() is not None) == keeps_input
    (y * np.array([1.0, 2.0])).sum().backward()
    expected = Variable(np.array([[0.25, -0.5], [2.0, 1.0]]))
    (f(expected, axis=1) * np.array([1.0, 2.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, expected.grad.data)


def _extremum_gradient(f, x, gy, axis=None, keepdims=False):
    """The gradient that ``f`` (F.max or F.min) of the Variable ``x`` over ``axis``
    sends back to x from the gradient ``gy`` of its result, recorded as a graph."""
    x.cleargrad()
    y = f(x, axis=axis, keepdims=keepdims)
    y.grad = gy
    y.backward(create_graph=True)
    return x.grad


@pytest.mark.parametrize('f', [F.max, F.min])
@pytest.mark.parametrize('axis, keepdims', [(None, False), (1, False), ((0, 2), True)], ids=str)
def test_the_extremum_gradient_in_the_gradient_arriving(f, axis, keepdims, sample, check_grads):
    # linear in gy; constant in x away from ties (x gets no gradient through it)
    x = Variable(sample((2, 3, 2), 'distinct'))
    y_shape = f(x, axis=axis, keepdims=keepdims).shape
    check_grads(lambda gy: _extremum_gradient(f, x, gy, axis, keepdims), sample(y_shape))


def test_the_gradient_of_the_gradient_of_a_tie_is_shared_too():
    x = Variable(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]))
    gy = Variable(np.array([4.0, 5.0]))
    gx = _extremum_gradient(F.max, x, gy, axis=1)
    np.testing.assert_array_equal(gx.data, [[0.0, 2.0, 2.0], [5.0, 0.0, 0.0]])
    x.cleargrad()
    (gx * np.array([[1.0, 2.0, 6.0], [7.0, 8.0, 9.0]])).sum().backward()
    np.testing.assert_array_equal(gy.grad.data, [4.0, 7.0])  # (2 + 6) / 2 and 7
    assert x.grad is None  # the positions are constant: no gradient in x


@pytest.mark.parametrize(
    'f, x, axis, gx',
    [
        (F.max, [np.nan, 1.0, 2.0], None, [1.0, 0.0, 0.0]),
        (F.min, [1.0, np.nan, -2.0], None, [0.0, 1.0, 0.0]),
        (F.max, [1.0, np.nan, np.nan], None, [0.0, 0.5, 0.5]),  # NaNs share, as ties do
        (F.max, [[np.nan, 1.0, 2.0], [3.0, 1.0, 2.0]], 1, [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
        (F.max, [[np.nan, 1.0, 2.0], [3.0, 1.0, 2.0]], None, [[1.0, 0.0, 0.0], [0.0] * 3]),
        (F.min, [[np.nan, 1.0], [1.0, 1.0]], 0, [[1.0, 0.5], [0.0, 0.5]]),
    ],
)
def test_in_a_slice_holding_nan_the_gradient_goes_to_the_nan(f, x, axis, gx):
    # the maximum of such a slice is NaN; x == y held nowhere, and 0 / 0 gave every
    # element a NaN gradient (torch.max gives the NaN element the gradient)
    x = Variable(np.array(x))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        y = f(x, axis=axis)
        y.backward()
    np.testing.assert_array_equal(x.grad.data, gx)


@pytest.mark.parametrize('gy', [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize(
    'f, x, gx_where_held',
    [
        (F.max, [1.0, 2.0, 3.0], [0.0, 0.0, 1.0]),
        (F.min, [1.0, 2.0, 3.0], [1.0, 0.0, 0.0]),
        (F.max, [3.0, 2.0, 3.0], [0.5, 0.0, 0.5]),
        (F.max, [np.nan, 2.0, 3.0], [1.0, 0.0, 0.0]),
    ],
)
def test_the_elements_not_holding_the_extremum_get_0_for_any_gradient(f, x, gx_where_held, gy):
    # a selection, not a product with 0: inf * 0 gave NaN to the others, as for relu
    x = Variable(np.array(x))
    y = f(x)
    y.grad = Variable(np.array(gy))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        y.backward()
    expected = [share * gy if share else 0.0 for share in gx_where_held]
    np.testing.assert_array_equal(x.grad.data, expected)


def test_float16_extremum_gradients_stay_float16_with_ties_and_nan():
    x = Variable(np.array([[2.0, 2.0, 1.0], [np.nan, 0.0, 1.0]], np.float16))
    y = F.max(x, axis=1)
    y.grad = Variable(np.array([np.inf, 3.0], np.float16))
    y.backward()
    assert x.grad.dtype == np.float16
    np.testing.assert_array_equal(x.grad.data, [[np.inf, np.inf, 0.0], [3.0, 0.0, 0.0]])


@pytest.mark.parametrize('name', ['max', 'min', 'logsumexp'])
def test_float32_second_order_stays_float32(name, sample):
    f, _, domain = REDUCTIONS[name]
    x = Variable(sample((2, 3), domain, np.float32))
    y = f(x, axis=1)
    (y * y).sum().backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    (gx * gx).sum().backward()
    assert gx.dtype == np.float32 and x.grad.dtype == np.float32


# ---- a sum beyond the range, a mean within it --------------------------------------------------
@pytest.mark.parametrize('dtype, big', [(np.float32, 3e38), (np.float64, 1.7e308)])
def test_a_mean_of_every_element_within_range_is_kept_where_the_sum_overflows(dtype, big):
    # the sum overflows, and the mean was inf (PyTorch's mean is inf too)
    for shape, axis in [((2,), None), ((2, 4), None), ((4, 2), (0, 1))]:  # x / n exact
        x = Variable(np.full(shape, big, dtype))
        with np.errstate(over='ignore'):  # NumPy's warning of the first sum
            y = F.mean(x, axis=axis)
        assert y.dtype == dtype and y.data == dtype(big)
        y.backward()
        np.testing.assert_array_equal(x.grad.data, np.full(shape, 1 / np.prod(shape), dtype))
    x = np.array([big, big, -big], dtype)
    with np.errstate(over='ignore'):
        assert F.mean(x).data == pytest.approx(big / 3, rel=1e-6)


@pytest.mark.parametrize(
    'x, mean',
    [([3e38, np.inf], np.inf), ([-np.inf, 3e38, 3e38], -np.inf), ([np.inf, -np.inf], np.nan)],
)
def test_a_mean_of_infinities_stays_infinite_or_nan(x, mean):
    with np.errstate(over='ignore', invalid='ignore'):
        y = F.mean(np.array(x, np.float32))
    np.testing.assert_array_equal(y.data, mean)


def test_a_mean_over_some_axes_is_the_sum_divided():
    # an array of means is not checked (a test of each would cost a quarter of a small
    # mean): a float32 sum beyond the range gives inf, as in NumPy and PyTorch
    with np.errstate(over='ignore'):
        y = F.mean(np.full((2, 2), 3e38, np.float32), axis=1)
    np.testing.assert_array_equal(y.data, [np.inf, np.inf])


# ---- float16: sums accumulate in float32 -------------------------------------------------
# float16 partial sums overflow past 65504, and added one at a time along an axis they
# stop growing at 2048 (2048 + 1 rounds to 2048)
def test_float16_mean_of_many_values_does_not_overflow():
    x = Variable(np.ones(100_000, np.float16))
    for f in (F.mean, F.average):
        y = f(x)
        assert y.dtype == np.float16 and y.data == 1.0
        x.cleargrad()
        y.backward()
        assert x.grad.dtype == np.float16
        np.testing.assert_array_equal(x.grad.data, np.float16(1e-5))


def test_float16_sums_and_means_along_an_axis_are_exact():
    x = Variable(np.ones((10_000, 2), np.float16))
    y = F.sum(x, axis=0)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.data, [10_000.0, 10_000.0])
    np.testing.assert_array_equal(F.mean(x, axis=0).data, [1.0, 1.0])
    np.testing.assert_array_equal(x.sum(axis=0).data, [10_000.0, 10_000.0])
    y.backward()
    assert x.grad.dtype == np.float16


def test_float16_sum_beyond_the_range_is_inf():
    with np.errstate(over='ignore'):
        y = F.sum(np.ones(100_000, np.float16))
    assert y.dtype == np.float16 and y.data == np.inf


def test_float16_logsumexp_of_many_values():
    y = F.logsumexp(np.zeros((2, 100_000), np.float16), axis=1)
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.data, np.log(100_000), rtol=1e-3)


# ---- empty inputs ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    'shape, axis, expected',
    [
        ((0,), None, np.nan),
        ((0, 3), None, np.nan),
        ((0, 3), 0, [np.nan] * 3),
        ((0, 3), 1, np.zeros(0)),
        ((3, 0), 0, np.zeros(0)),
        ((3, 0), 1, [np.nan] * 3),
    ],
)
def test_mean_of_nothing_is_nan_and_its_gradient_is_empty(shape, axis, expected):
    x = Variable(np.zeros(shape))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        y = F.mean(x, axis=axis)
        y.backward()
    assert y.shape == np.shape(expected)
    np.testing.assert_array_equal(y.data, expected)
    assert x.grad.shape == shape and x.grad.dtype == np.float64


@pytest.mark.parametrize('shape, axis', [((0,), None), ((0, 3), 0), ((0, 3), 1), ((3, 0), 1)])
def test_sum_of_nothing_is_zero_and_its_gradient_is_empty(shape, axis):
    x = Variable(np.zeros(shape, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        y = F.sum(x, axis=axis)
        y.backward()
    np.testing.assert_array_equal(y.data, np.zeros(shape, np.float32).sum(axis=axis))
    assert y.dtype == np.float32
    assert x.grad.shape == shape and x.grad.dtype == np.float32


@pytest.mark.parametrize('axis', [1.0, [0, 1], True, (0, 1.5)])
@pytest.mark.parametrize('f', [F.sum, F.mean, F.max, F.logsumexp])
def test_an_axis_that_is_not_ints_is_refused_by_name(f, axis):
    with pytest.raises(TypeError, match=r'axis must be None, an int or a (tuple|sequence) of ints'):
        f(Variable(np.ones((2, 3))), axis)


def test_logsumexp_over_nothing_is_minus_infinity_as_in_pytorch():
    x = Variable(np.zeros((2, 0)))
    y = F.logsumexp(x, axis=1)
    np.testing.assert_array_equal(y.data, [-np.inf, -np.inf])
    F.sum(y).backward()
    assert x.grad.shape == (2, 0)


@pytest.mark.parametrize(
    'values, dtype', [([[1, 3, 255]], np.uint8), ([[-128, -100, 100]], np.int8)]
)
def test_logsumexp_takes_integer_data_in_float64_without_wrapping_round(values, dtype):
    x, x64 = Variable(np.array(values, dtype)), Variable(np.array(values, np.float64))
    y, y64 = F.logsumexp(x, axis=1), F.logsumexp(x64, axis=1)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, y64.data, rtol=1e-15)
    y.backward()
    y64.backward()
    np.testing.assert_allclose(x.grad.data, x64.grad.data, rtol=1e-15)


def test_logsumexp_backward_underflows_quietly():
    x = Variable(np.array([[-1000.0, 0.0]]))
    with np.errstate(all='raise'):
        y = F.logsumexp(x, axis=1)
        y.backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 1.0]])


@pytest.mark.parametrize('keepdims', ['False', 'no', 1, 0, None])
@pytest.mark.parametrize('f', [F.sum, F.mean, F.average, F.max, F.min, F.logsumexp])
def test_keepdims_that_is_not_true_or_false_is_refused_by_name(f, keepdims):
    # 'no' was read as True by logsumexp, 'False' made NumPy fail naming nothing
    with pytest.raises(
        TypeError, match=rf'^{f.__name__}: keepdims must be True or False, got {keepdims!r}$'
    ):
        f(Variable(np.ones((2, 3))), axis=1, keepdims=keepdims)


@pytest.mark.parametrize('method', ['sum', 'max', 'min'])
def test_the_variable_reductions_refuse_a_keepdims_string(method):
    x = Variable(np.ones((2, 3)))
    with pytest.raises(
        TypeError, match=rf"^{method}: keepdims must be True or False, got 'False'$"
    ):
        getattr(x, method)(axis=1, keepdims='False')


@pytest.mark.parametrize('f', [F.sum, F.mean, F.max, F.min, F.logsumexp])
def test_keepdims_takes_numpy_bools(f):
    x = Variable(np.ones((2, 3)))
    assert f(x, axis=1, keepdims=np.True_).shape == (2, 1)
    assert f(x, axis=1, keepdims=np.False_).shape == (2,)


@pytest.mark.parametrize('cls', [F.Sum, F.Max, F.Min])
def test_the_books_reduction_classes_check_keepdims_too(cls):
    x = Variable(np.ones((2, 3)))
    with pytest.raises(TypeError, match=f'{cls.__name__}: keepdims must be True or False'):
        cls(0, 1)(x)
    assert cls(0, True)(x).shape == (1, 3)


# ---- long float32 sums in any layout, and float16 in either byte order -------------------------
def test_float32_mean_of_a_slice_over_a_million_rows_is_accurate():
    # the rows of a slice were added one at a time: 0.10096 for a mean of 0.1
    x = np.full((10**6, 3), 0.1, np.float32)[:, :2]
    for data in (x, x.T.T, np.broadcast_to(np.float32(0.1), (10**6, 2))):
        y = F.mean(Variable(data), axis=0)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y.data, np.float32(0.1), rtol=1e-6)
        np.testing.assert_allclose(F.sum(data, axis=0).data, 10**6 * 0.1, rtol=1e-6)


@pytest.mark.parametrize('dtype', ['<f2', '>f2'])
def test_float16_sums_and_means_in_either_byte_order(dtype):
    # big-endian float16 (read from a file) was summed in float16: 2048 and inf
    x = Variable(np.ones((4096, 2), dtype))
    y = F.sum(x, axis=0)
    assert y.dtype.kind == 'f' and y.dtype.itemsize == 2
    np.testing.assert_array_equal(y.data, [4096.0, 4096.0])
    y = F.mean(np.full(8, 10_000, dtype))
    assert y.dtype.itemsize == 2 and y.data == 10_000.0
    np.testing.assert_array_equal(F.sum(np.ones(4096, dtype)).data, 4096.0)


@pytest.mark.parametrize('f', [F.sum, F.mean, F.average, F.max, F.min, F.logsumexp])
def test_axis_errors_say_what_the_reductions_take_and_the_shape(f):
    x = Variable(np.ones((2, 3)))
    with pytest.raises(TypeError) as info:
        f(x, 1.0)
    assert str(info.value) == (
        f'{f.__name__}: axis must be None, an int or a tuple of ints, got float 1.0'
    )
    with pytest.raises(ValueError) as info:
        f(x, 2)
    assert str(info.value) == (
        f'{f.__name__}: axis 2 is out of range for an array with 2 dimensions (x has shape (2, 3))'
    )


@pytest.mark.parametrize(
    'call, error, message',
    [
        (lambda x: F.average(x, keepdims='False'), TypeError, ': keepdims must be True or'),
        (lambda x: F.average(x, axis=1.0), TypeError, ': axis must be None, an int or'),
        (lambda x: F.average(x, axis=2), ValueError, ': axis 2 is out of range'),
        (lambda x: F.average(x, axis=(0, 0)), ValueError, r': repeated axis in \(0, 0\)'),
        (lambda x: F.average(x.tolist()), TypeError, r' \(input 0\): cannot use an object'),
    ],
    ids=['keepdims', 'axis type', 'axis range', 'repeated axis', 'input'],
)
def test_average_errors_name_average(call, error, message):
    # they named mean, under which average computed
    with pytest.raises(error, match='^average' + message):
        call(np.ones((2, 3)))

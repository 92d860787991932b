"""Elementwise math: sin cos tan tanh exp log sqrt abs square clip erf, and the gradient
functions TanhGrad and PiecewiseLinearGrad; the accuracy of erf against math.erf and
PyTorch, in float64, float32 and float16, across the blocks of a large array, and of the
kernels of erf and erfc that gelu shares; the mean of a device array beyond its sum."""

import math
import weakref

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.autodiff import grad
from dezero.functions.math import PiecewiseLinearGrad, TanhGrad


def clip_half(x):
    return F.clip(x, -0.5, 0.5)


def erf_reference(a):
    """math.erf elementwise (correctly rounded but for a rare last bit)."""
    a = np.asarray(a, dtype=np.float64)
    return np.array([math.erf(v) for v in a.reshape(-1)]).reshape(a.shape)


# name: (dezero function, NumPy reference, input domain away from kinks and poles)
UNARY = {
    'sin': (F.sin, np.sin, 'real'),
    'cos': (F.cos, np.cos, 'real'),
    'tan': (F.tan, np.tan, 'narrow'),
    'tanh': (F.tanh, np.tanh, 'real'),
    'exp': (F.exp, np.exp, 'real'),
    'log': (F.log, np.log, 'positive'),
    'sqrt': (F.sqrt, np.sqrt, 'positive'),
    'abs': (F.abs, np.abs, 'nonzero'),
    'square': (F.square, np.square, 'real'),
    'clip': (clip_half, lambda a: np.clip(a, -0.5, 0.5), 'off_bounds'),
    'erf': (F.erf, erf_reference, 'real'),
    'clip numpy bounds': (
        lambda x: F.clip(x, np.float64(-0.5), np.float32(0.5)),
        lambda a: np.clip(a, -0.5, 0.5),
        'off_bounds',
    ),
}
SHAPES = [(), (5,), (2, 3)]


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', UNARY)
def test_forward_matches_numpy(name, shape, sample):
    f, ref, domain = UNARY[name]
    x = sample(shape, domain)
    y = f(Variable(x))
    assert isinstance(y, Variable) and y.shape == shape
    np.testing.assert_allclose(y.data, ref(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(f(x).data, ref(x), rtol=1e-12)  # plain arrays too


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', UNARY)
def test_gradients_first_and_second_order(name, shape, sample, check_grads):
    f, _, domain = UNARY[name]
    check_grads(f, sample(shape, domain))


@pytest.mark.parametrize(
    'f, x, y, gx, ggx',
    [
        (F.sin, np.pi / 2, 1.0, 0.0, -1.0),
        (F.cos, 0.0, 1.0, 0.0, -1.0),
        (F.tan, np.pi / 4, 1.0, 2.0, 4.0),
        (F.tanh, 0.0, 0.0, 1.0, 0.0),
        (F.exp, 1.0, np.e, np.e, np.e),
        (F.log, 2.0, np.log(2.0), 0.5, -0.25),
        (F.sqrt, 4.0, 2.0, 0.25, -1 / 32),
        (F.abs, -3.0, 3.0, -1.0, 0.0),
        (F.abs, 0.0, 0.0, 0.0, 0.0),  # the derivative at the kink is taken as 0
        (F.square, 3.0, 9.0, 6.0, 2.0),
        (clip_half, 2.0, 0.5, 0.0, 0.0),
        (clip_half, 0.25, 0.25, 1.0, 0.0),
        (F.erf, 0.0, 0.0, 2 / np.sqrt(np.pi), 0.0),
        # erf' = 2/sqrt(pi) exp(-x**2), erf'' = -2x erf'
        (F.erf, 1.0, math.erf(1.0), 2 / np.sqrt(np.pi) / np.e, -4 / np.sqrt(np.pi) / np.e),
        (F.erf, -1.0, -math.erf(1.0), 2 / np.sqrt(np.pi) / np.e, 4 / np.sqrt(np.pi) / np.e),
    ],
)
def test_exact_values_and_derivatives(f, x, y, gx, ggx):
    x = Variable(np.array(x))
    out = f(x)
    out.backward(create_graph=True)
    first = x.grad
    x.cleargrad()
    first.backward()
    assert out.data == pytest.approx(y)
    assert first.data == pytest.approx(gx, abs=1e-12)
    assert (0.0 if x.grad is None else x.grad.data) == pytest.approx(ggx, abs=1e-12)


@pytest.mark.parametrize(
    'x_min, x_max, y, gx',
    [
        (-1.0, 1.0, [-1.0, -0.5, 0.3, 1.0], [0, 1, 1, 0]),
        (None, 0.0, [-2.0, -0.5, 0.0, 0.0], [1, 1, 0, 0]),
        (0.0, None, [0.0, 0.0, 0.3, 2.0], [0, 0, 1, 1]),
    ],
)
def test_clip_values_and_gradient(x_min, x_max, y, gx):
    x = Variable(np.array([-2.0, -0.5, 0.3, 2.0]))
    out = F.clip(x, x_min, x_max)
    out.backward()
    np.testing.assert_array_equal(out.data, y)
    np.testing.assert_array_equal(x.grad.data, gx)


@pytest.mark.parametrize('name', UNARY)
def test_float32_is_kept(name, sample, assert_keeps_float32):
    f, _, domain = UNARY[name]
    assert_keeps_float32(f, sample((2, 3), domain))


def test_clip_refuses_inverted_bounds():
    with pytest.raises(ValueError, match=r'clip: x_min \(1\) is greater than x_max \(-1\)'):
        F.clip(Variable(np.zeros(3)), 1, -1)


@pytest.mark.parametrize(
    'x_min, x_max',
    [
        (np.array([-1.0, 0.0, 0.5]), np.array([1.0, 0.0, 2.0])),  # one per column
        (np.array([[-1.0], [0.5]]), 1.0),  # one per row, and a number
        (None, np.array([0.0, 0.5, 2.0])),
        (np.float32(-0.5), np.array([[1.0], [0.5]], np.float32)),
    ],
)
def test_clip_with_array_bounds_agrees_with_pytorch(x_min, x_max):
    # values at the bounds (the derivative is 1 there), beyond them and NaN (0 there)
    torch = pytest.importorskip('torch')
    data = np.array([[-2.0, 0.0, 0.5], [np.nan, 1.0, 3.0]])
    x = Variable(data)
    y = F.clip(x, x_min, x_max)
    F.sum(y * np.arange(1.0, 7.0).reshape(2, 3)).backward()
    t = torch.tensor(data, requires_grad=True)
    t_min, t_max = (None if b is None else torch.as_tensor(np.float64(b)) for b in (x_min, x_max))
    u = torch.clamp(t, t_min, t_max)
    (u * torch.arange(1.0, 7.0, dtype=torch.float64).reshape(2, 3)).sum().backward()
    np.testing.assert_array_equal(y.data, u.detach().numpy())
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_clip_array_bounds_take_the_dtype_of_x():
    x = Variable(np.array([-2.0, 0.25, 2.0], np.float32))
    y = F.clip(x, np.full(3, -1.0), np.ones(3))
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(y.data, [-1.0, 0.25, 1.0])


@pytest.mark.parametrize('create_graph', [False, True])
def test_clip_bounds_changed_after_the_call_do_not_change_the_gradient(create_graph):
    # backward reads the bounds again: they were read from the caller's arrays
    x = Variable(np.array([1.0, 5.0, 3.0]))
    lo, hi = np.array([2.0, 2.0, 2.0]), np.array([4.0, 4.0, 4.0])
    y = F.clip(x, lo, hi)
    lo[:] = 0.0
    hi[:] = 10.0
    y.backward(create_graph=create_graph)
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])


def test_the_clip_class_keeps_its_own_copy_of_array_bounds():
    from dezero.functions.math import Clip

    lo = np.array([2.0, 2.0])
    x = Variable(np.array([1.0, 5.0]))
    y = Clip(lo, 10.0)(x)
    lo[:] = 0.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0])


def test_clip_refuses_bounds_inverted_anywhere():
    with pytest.raises(ValueError, match=r'clip: x_min is greater than x_max at 1 of 3 places'):
        F.clip(Variable(np.zeros(3)), np.zeros(3), np.array([1.0, -1.0, 0.0]))


def test_clip_refuses_a_bound_that_does_not_broadcast_to_x():
    with pytest.raises(ValueError, match=r'clip: x_max of shape \(2, 3\) .* shape \(3,\) of x'):
        F.clip(Variable(np.zeros(3)), None, np.ones((2, 3)))


@pytest.mark.parametrize(
    'bound, name',
    [
        ('a', 'str'),
        (np.str_('a'), 'str'),
        ([0.0, 1.0, 2.0], 'list'),
        (Variable(np.zeros(3)), r'Variable; a bound is a constant: pass its \.data'),
        (np.array(['a', 'b', 'c']), 'ndarray of dtype <U1'),
    ],
)
def test_clip_refuses_bounds_of_other_types_naming_clip(bound, name):
    with pytest.raises(TypeError, match=rf'clip: x_min must be None, a number or an array.*{name}'):
        F.clip(Variable(np.zeros(3)), bound, 5.0)


@pytest.mark.parametrize('f', [F.sin, F.exp, F.log])
def test_non_array_input_is_refused_naming_the_type(f):
    with pytest.raises(TypeError, match='list'):
        f([1.0, 2.0])


# ---- what backward keeps, and the gradient functions ---------------------------------------
@pytest.mark.parametrize('name', UNARY)
def test_gradients_of_an_intermediate_input(name, sample, check_grads):
    # The input is made by a function and the output is used by one, so the graph holds
    # them only where the function declares that its backward reads them.
    f, _, domain = UNARY[name]
    check_grads(lambda x: f(x + 0.0) * 1.0, sample((2, 3), domain))


@pytest.mark.parametrize(
    'f, keeps_input',
    [
        (F.sin, True),
        (F.cos, True),
        (F.log, True),
        (F.abs, True),
        (F.square, True),
        (clip_half, True),
        (F.erf, True),
        (F.tan, False),
        (F.tanh, False),
        (F.exp, False),
        (F.sqrt, False),
    ],
)
def test_an_input_backward_does_not_read_is_freed(f, keeps_input):
    x = Variable(np.array([0.25, 0.5]))
    h = x * 1.0
    alive = weakref.ref(h)
    y = f(h)
    del h
    assert (alive() is not None) == keeps_input
    y.backward()
    expected = Variable(np.array([0.25, 0.5]))
    f(expected).backward()
    np.testing.assert_array_equal(x.grad.data, expected.grad.data)


def test_tanh_third_derivative_matches_the_closed_form():
    x = Variable(np.array([-1.5, 0.0, 0.3, 2.0]))
    F.tanh(x).backward(create_graph=True)
    for _ in range(2):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad.data, (1 - t**2) * (6 * t**2 - 2), rtol=1e-13)


@pytest.mark.parametrize('name', ['tan', 'tanh', 'exp', 'sqrt', 'erf'])
def test_third_derivatives(name, sample, check_grads):
    # the gradient of <f(x), w> checked to second order: f to third order
    f, _, domain = UNARY[name]
    w = Variable(sample((2, 3)))
    check_grads(grad(lambda v: (f(v) * w).sum(), create_graph=True), sample((2, 3), domain))


def _relu_slope(x, gy):
    return gy * (x > 0)


@pytest.mark.parametrize(
    'make',
    [TanhGrad, lambda: PiecewiseLinearGrad(_relu_slope)],
    ids=['TanhGrad', 'PiecewiseLinearGrad'],
)
def test_gradient_functions_in_both_inputs(make, sample, check_grads):
    check_grads(lambda y, gy: make()(y, gy), sample((2, 3), 'nonzero'), sample((2, 3)))


def test_tanh_grad_computes_only_the_gradients_asked_for():
    f = TanhGrad()
    y, gy = Variable(np.array([0.5, -0.25])), Variable(np.array([2.0, 3.0]))
    f(y, gy)
    g = Variable(np.array([1.0, 1.0]))
    g_y, g_gy = f.backward(g, needs_input_grad=(False, True))
    assert g_y is None
    np.testing.assert_allclose(g_gy.data, 1 - y.data**2)
    g_y, g_gy = f.backward(g, needs_input_grad=(True, False))
    assert g_gy is None
    np.testing.assert_allclose(g_y.data, -2 * y.data * gy.data)


@pytest.mark.parametrize('name', ['sin', 'cos', 'tan', 'tanh', 'exp', 'log', 'sqrt', 'erf'])
def test_float32_second_order_stays_float32(name, sample):
    f, _, domain = UNARY[name]
    x = Variable(sample((2, 3), domain, np.float32))
    f(x).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    (gx * gx).sum().backward()
    assert gx.dtype == np.float32 and x.grad.dtype == np.float32


# ---- erf: accuracy -------------------------------------------------------------------------
#: points where erf is hard: both sides of the switch between the formulas at 1/2, tiny
#: arguments (relative accuracy), the tail where erf rounds to 1, and a dense sweep
ERF_POINTS = np.concatenate(
    [
        np.linspace(-7.0, 7.0, 140001),
        np.geomspace(1e-300, 7.0, 3000),
        -np.geomspace(1e-300, 7.0, 3000),
        np.nextafter(0.5, [0.0, 1.0]),
        np.nextafter(-0.5, [0.0, -1.0]),
        [0.5, -0.5, 0.0, -0.0, 4.0, 5.9, 6.0, 6.1, 27.0, 1e300, -1e300],
    ]
)


def _ulps(got, exact, dtype):
    """|got - exact| in units in the last place of the dtype at the exact value."""
    exact_rounded = exact.astype(dtype)
    return np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact_rounded)).astype(
        np.float64
    )


def test_erf_is_accurate_to_float64_rounding():
    got = F.erf(ERF_POINTS).data
    exact = erf_reference(ERF_POINTS)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, exact, rtol=1e-15, atol=0)
    assert _ulps(got, exact, np.float64).max() <= 4
    np.testing.assert_array_equal(np.sign(got), np.sign(exact))  # -0.0 and 0.0 included


def test_erf_is_accurate_to_float32_rounding():
    x = ERF_POINTS[np.abs(ERF_POINTS) < 1e30].astype(np.float32)
    got = F.erf(x).data
    assert got.dtype == np.float32
    exact = erf_reference(x)
    tiny = np.abs(exact) < np.finfo(np.float32).tiny  # subnormal results: absolute
    assert _ulps(got[~tiny], exact[~tiny], np.float32).max() <= 4
    np.testing.assert_allclose(got[tiny], exact[tiny], rtol=0, atol=1e-44)


def test_erf_float16_is_computed_in_float32_and_rounded_once():
    x = np.linspace(-3.0, 3.0, 601).astype(np.float16)
    got = F.erf(x).data
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, erf_reference(x).astype(np.float16))


def test_erf_of_integers_and_bools_is_float64():
    y = F.erf(np.array([0, 1, -2]))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, [0.0, math.erf(1.0), -math.erf(2.0)], rtol=1e-15)
    assert F.erf(np.array([True, False])).dtype == np.float64


def test_erf_of_infinities_and_nan_without_a_warning():
    x = Variable(np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e300, -30.0]))
    with np.errstate(all='raise'):  # no overflow, underflow or invalid operation
        y = F.erf(x)
        y.backward()
    np.testing.assert_array_equal(y.data, [1.0, -1.0, np.nan, 0.0, -0.0, 1.0, -1.0])
    assert np.signbit(y.data[4])
    slope = 2 / np.sqrt(np.pi)
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, np.nan, slope, slope, 0.0, 0.0])


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_erf_is_the_same_across_the_blocks_of_a_large_array(dtype):
    # more than two blocks (and a partial last one), in a non-contiguous view
    from dezero.functions.math import BLOCK_BYTES

    n = 2 * BLOCK_BYTES // np.dtype(dtype).itemsize + 1234
    x = np.random.default_rng(3).uniform(-4, 4, (2, n)).astype(dtype)[:, ::2]
    got = F.erf(x).data
    assert got.shape == x.shape and got.dtype == dtype
    single = np.array([F.erf(x[:, i : i + 1]).data for i in range(0, x.shape[1], 997)])
    np.testing.assert_array_equal(got[:, ::997], single[:, :, 0].T)
    assert _ulps(got, erf_reference(x), dtype).max() <= 4


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_erf_agrees_with_pytorch(dtype):
    pytest.importorskip('torch')
    import torch

    from oracle import assert_agree

    x = np.random.default_rng(4).uniform(-5, 5, (4, 50)).astype(dtype)
    assert_agree(F.erf, torch.special.erf, [x], second=True)


# ---- integer and bool data ---------------------------------------------------------------
FLOATING = ['sin', 'cos', 'tan', 'tanh', 'exp', 'log', 'sqrt', 'erf']


@pytest.mark.parametrize('dtype', [np.uint8, np.int8, np.int16, np.int32, np.int64])
@pytest.mark.parametrize('name', FLOATING)
def test_integers_are_computed_in_float64(name, dtype):
    # as float64 data is, to the second derivative: NumPy gives float16 for 8-bit
    # integers (exp of 100 is inf there), and squaring an int8 12 wraps around
    f = UNARY[name][0]
    x, exact = Variable(np.array([1, 2, 12, 100], dtype)), Variable(np.array([1.0, 2, 12, 100]))
    results = []
    for v in (x, exact):
        y = f(v)
        F.sum(y).backward(create_graph=True)
        gx = v.grad
        v.cleargrad()
        F.sum(gx).backward()
        results.append((y, gx, v.grad))
    for got, expected in zip(*results):
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got.data, expected.data)


@pytest.mark.parametrize('name', FLOATING)
def test_bools_are_computed_in_float64(name):
    f = UNARY[name][0]
    with np.errstate(divide='ignore'):  # log(0)
        y, expected = f(np.array([True, False])), f(np.array([1.0, 0.0]))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, expected.data)


@pytest.mark.parametrize('name', FLOATING)
def test_float16_is_kept(name, sample):
    f, _, domain = UNARY[name]
    x = Variable(sample((2, 3), domain, np.float16))
    y = f(x)
    y.backward()
    assert y.dtype == np.float16 and x.grad.dtype == np.float16


@pytest.mark.parametrize('dtype, value', [(np.int8, 100), (np.int8, -100), (np.uint8, 200)])
def test_square_of_integers_has_the_exact_gradient(dtype, value):
    x = Variable(np.array([value], dtype))
    y = F.square(x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert y.dtype == dtype  # the square itself is NumPy's, in the integer dtype
    assert (gx.dtype, gx.data[0], x.grad.data[0]) == (np.float64, 2.0 * value, 2.0)


# ---- what the function forms check, their classes check too --------------------------------
@pytest.mark.parametrize(
    'make, error, words',
    [
        (
            lambda: F.Clip(1.0, 0.0),
            ValueError,
            r'Clip: x_min \(1\.0\) is greater than x_max \(0\.0\)',
        ),
        (
            lambda: F.Clip([0, 0, 0], 1.0),
            TypeError,
            'Clip: x_min must be None, a number or an array.*list',
        ),
        (
            lambda: F.Clip(np.zeros(2), np.array([1.0, -1.0])),
            ValueError,
            'Clip: x_min is greater than x_max at 1 of 2 places',
        ),
    ],
)
def test_the_clip_class_checks_its_bounds_as_clip_does(make, error, words):
    with pytest.raises(error, match=words):
        make()


def test_the_clip_class_fits_array_bounds_to_x_as_clip_does():
    x = Variable(np.array([-2.0, 0.5, 2.0], np.float32))
    y = F.Clip(np.zeros(3), 1.0)(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [0.0, 0.5, 1.0])
    with pytest.raises(
        ValueError, match=r'Clip: x_min of shape \(2, 1\) does not broadcast to .*\(3,\)'
    ):
        F.Clip(np.zeros((2, 1)), 2.5)(Variable(np.array([1.0, 2.0, 3.0])))


# ---- complex numbers -----------------------------------------------------------------------
@pytest.mark.parametrize(
    'f, name',
    [
        (F.erf, 'Erf'),
        (lambda x: F.clip(x, 0.0, 1.0), 'Clip'),
        (lambda x: F.Clip(0.0, 1.0)(x), 'Clip'),
    ],
)
def test_complex_data_is_refused_by_functions_of_the_real_line(f, name):
    # erf dropped the imaginary part (with only NumPy's ComplexWarning), clip compared
    # complex numbers
    with pytest.raises(TypeError, match=rf'{name}: expected real numbers .*got complex128'):
        f(np.array([0.5 + 2j]))


# ---- abs at NaN ----------------------------------------------------------------------------
def test_the_gradient_of_abs_at_nan_is_zero_as_in_pytorch():
    x = Variable(np.array([np.nan, 1.0, -2.0, 0.0]))
    F.sum(F.abs(x)).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, -1.0, 0.0])
    # recorded, and differentiated again in the incoming gradient: sign(x) summed
    x, s = Variable(np.array([np.nan, 1.0, 2.0])), Variable(np.array(3.0))
    F.sum(F.abs(x) * s).backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.data, [0.0, 3.0, 3.0])
    gx = x.grad
    s.cleargrad()
    F.sum(gx).backward()
    assert s.grad.data == 2.0


# ---- big-endian float16 ---------------------------------------------------------------------------
def test_erf_and_gelu_of_big_endian_float16_are_computed_in_float32():
    # float16 read from a big-endian file is not np.float16: it was computed in float16,
    # where the approximation overflows (nan from |x| = 2.15 on)
    x = np.array([-6.0, -2.5, 1.0, 3.0, 5.0])
    for f in (F.erf, F.gelu):
        want = f(x.astype(np.float16)).data
        got = f(x.astype('>f2')).data
        assert got.dtype.kind == 'f' and got.dtype.itemsize == 2
        np.testing.assert_array_equal(got, want)
        assert not np.isnan(got).any()


# ---- clip: numbers the dtype of x cannot hold ------------------------------------------------
@pytest.mark.parametrize(
    'dtype, x_min, x_max, name, words',
    [
        (np.float16, 1e-8, 1.0, 'x_min', r'the number 1e-08 is too small for the dtype float16'),
        (np.float16, 0.0, 70000.0, 'x_max', r'the number 70000.0 does not fit the dtype float16'),
        (np.float32, -1e39, None, 'x_min', r'the number -1e\+39 does not fit the dtype float32'),
    ],
)
def test_clip_refuses_a_number_bound_the_dtype_of_x_cannot_hold(dtype, x_min, x_max, name, words):
    # 1e-8 became 0 in float16 (a following log gave -inf), 70000 inf with a
    # RuntimeWarning; maximum(x, 1e-8) refuses such a number, and clip does alike
    from dezero.functions.math import Clip

    x = Variable(np.array([0.0, 0.5], dtype))
    with pytest.raises(OverflowError, match=rf'^clip: {name}: {words} of x'):
        F.clip(x, x_min, x_max)
    with pytest.raises(OverflowError, match=rf'^Clip: {name}: {words} of x'):
        Clip(x_min, x_max)(x)


def test_clip_keeps_number_bounds_the_dtype_of_x_holds():
    x = Variable(np.array([0.0, 0.5, 3.0], np.float16))
    y = F.clip(x, 1e-6, np.float64(2.0))  # 1e-6: a float16 subnormal, kept (rounded)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.data, np.array([1e-6, 0.5, 2.0], np.float16))
    assert y.data[0] > 0
    # infinite bounds stay infinite, and wider dtypes take what float16 cannot
    np.testing.assert_array_equal(F.clip(x, -np.inf, np.inf).data, x.data)
    np.testing.assert_array_equal(
        F.clip(np.array([0.0, 1.0], np.float32), 1e-8, 70000.0).data,
        np.array([1e-8, 1.0], np.float32),
    )


# ---- the kernels of erf and erfc, which gelu shares -----------------------------------------
def _kernel(kernel, t, scratch, **options):
    """``kernel`` applied to the 1-D array ``t`` with fresh scratch arrays."""
    out = np.empty_like(t)
    kernel(np, out, t, *(np.empty_like(t) for _ in range(scratch)), **options)
    return out


@pytest.mark.parametrize(
    'scale_squared, factor', [(1.0, 1.0), (0.5, 1.0), (0.5, 0.5 * math.exp(-64)), (1.0, -2.0)]
)
def test_erfcx_kernel_keeps_its_relative_accuracy_far_into_the_tail(scale_squared, factor):
    mpmath = pytest.importorskip('mpmath')
    from dezero.functions.math import erfcx_kernel

    z = np.concatenate([np.linspace(0.5, 28.0, 1101), [3.99, 4.0, 4.01, 6.0, 27.5]])
    t = z / math.sqrt(scale_squared)
    with mpmath.workdps(40):
        exact = np.array(
            [
                float(factor * mpmath.erfc(m) * mpmath.exp(m * m))
                for m in map(mpmath.mpf, z.tolist())
            ]
        )
    got = _kernel(erfcx_kernel, t, 1, scale_squared=scale_squared, factor=factor)
    # (t rounded: the argument error of half a unit adds about half a unit)
    np.testing.assert_allclose(got, exact, rtol=4 * np.finfo(np.float64).eps, atol=0)
    # float32: R / S alone, from 0 on
    z32 = np.linspace(0.0, 28.0, 1121).astype(np.float32)
    with mpmath.workdps(40):
        exact = np.array(
            [
                float(factor * mpmath.erfc(m) * mpmath.exp(m * m))
                for m in map(mpmath.mpf, z32.tolist())
            ]
        )
    got = _kernel(
        erfcx_kernel,
        (z32 / np.float32(math.sqrt(scale_squared))),
        1,
        scale_squared=scale_squared,
        factor=factor,
    )
    np.testing.assert_allclose(got, exact, rtol=4 * np.finfo(np.float32).eps, atol=0)


def test_erf_central_kernel_with_its_argument_scaled():
    from dezero.functions.math import erf_central_kernel

    t = np.linspace(-0.7071, 0.7071, 1001)
    got = _kernel(erf_central_kernel, t, 2, scale_squared=0.5, factor=-0.5)
    exact = np.array([-0.5 * math.erf(v / math.sqrt(2)) for v in t])
    np.testing.assert_allclose(got, exact, rtol=3 * np.finfo(np.float64).eps, atol=1e-300)
    np.testing.assert_allclose(
        _kernel(erf_central_kernel, t / 2, 2), erf_reference(t / 2), rtol=7e-16, atol=1e-300
    )


def test_gelu_takes_its_normal_tail_from_the_kernels_of_erf():
    # one approximation of the normal tail, in dezero.functions.math: the exact gelu is
    # x (1 - Φ(-x)) with Φ(-a) = erfcx(a / sqrt 2) exp(-a**2 / 2) / 2
    from dezero.functions import activation
    from dezero.functions.math import erfcx_kernel

    assert not [name for name in vars(activation) if name.startswith(('_ERF', '_CDF', '_FAR'))]
    a = np.array([1.0, 3.0, 8.0, 20.0])
    tail = _kernel(erfcx_kernel, a, 1, scale_squared=0.5, factor=0.5) * np.exp(-a * a / 2)
    np.testing.assert_allclose(F.gelu(-a).data, -a * tail, rtol=1e-14)


@pytest.mark.parametrize(
    'bound, message', [(np.array(70000.0), 'does not fit'), (np.array([1e-8, 0.1]), 'too small')]
)
def test_clip_refuses_an_array_bound_holding_a_value_x_dtype_cannot_hold(bound, message):
    # a number bound was refused, an array of the same values became inf or 0 quietly
    x = np.array([0.0, 0.5], np.float16)
    with pytest.raises(OverflowError, match=f'clip: x_min: the number .* {message}'):
        F.clip(x, bound, None)
    np.testing.assert_array_equal(
        F.clip(x, np.array([0.1, 0.2]), None).data, np.float16([0.1, 0.5])
    )

"""Activations: sigmoid relu leaky_relu softmax log_softmax gelu, the gradient functions
SigmoidGrad, SoftmaxGrad, LogSoftmaxGrad and GELUGrad, and QuietExp; gelu against
PyTorch."""

import math
import weakref

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.autodiff import grad
from dezero.functions import activation
from dezero.functions.activation import (
    GELUGrad,
    LogSoftmaxGrad,
    QuietExp,
    SigmoidGrad,
    SoftmaxGrad,
)


def _softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _first_and_second(f, x):
    """f(x), f'(x) and f''(x) for a scalar x, by backprop."""
    x = Variable(np.array(x))
    y = f(x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    return y.data, gx.data, (0.0 if x.grad is None else x.grad.data)


# ---- exact values ----------------------------------------------------------------------
@pytest.mark.parametrize(
    'f, x, y, gx, ggx',
    [
        (F.sigmoid, 0.0, 0.5, 0.25, 0.0),
        (F.sigmoid, np.log(3.0), 0.75, 0.1875, 0.1875 * (1 - 2 * 0.75)),
        (F.relu, 2.0, 2.0, 1.0, 0.0),
        (F.relu, -2.0, 0.0, 0.0, 0.0),
        (F.relu, 0.0, 0.0, 0.0, 0.0),  # the derivative at the kink is 0
        (F.leaky_relu, 3.0, 3.0, 1.0, 0.0),
        (F.leaky_relu, -2.0, -0.4, 0.2, 0.0),  # default slope 0.2
        (lambda x: F.leaky_relu(x, 0.1), -2.0, -0.2, 0.1, 0.0),
    ],
)
def test_scalar_values_and_derivatives(f, x, y, gx, ggx):
    out, first, second = _first_and_second(f, x)
    assert out == pytest.approx(y, abs=1e-15)
    assert first == pytest.approx(gx, abs=1e-15)
    assert second == pytest.approx(ggx, abs=1e-15)


def test_softmax_and_log_softmax_values():
    x = np.array([[0.0, np.log(3.0)], [np.log(4.0), 0.0]])
    np.testing.assert_allclose(F.softmax(x).data, [[0.25, 0.75], [0.8, 0.2]], rtol=1e-14)
    np.testing.assert_allclose(
        F.log_softmax(x).data, np.log([[0.25, 0.75], [0.8, 0.2]]), rtol=1e-14
    )
    # over axis 0 the columns sum to 1 instead
    np.testing.assert_allclose(
        F.softmax(x, axis=0).data, [[1 / 5, 3 / 4], [4 / 5, 1 / 4]], rtol=1e-14
    )


def test_softmax_gradient_by_hand():
    # d/dx_j of sum_i w_i y_i = y_j (w_j - sum_i w_i y_i)
    x = Variable(np.array([[0.0, np.log(3.0)]]))
    y = F.softmax(x)
    y.grad = Variable(np.array([[1.0, 0.0]]))
    y.backward()
    np.testing.assert_allclose(x.grad.data, [[0.25 * 0.75, -0.75 * 0.25]], rtol=1e-14)


@pytest.mark.parametrize('axis', [0, 1, -1, 2, (1, 2), (0, -1)])
def test_softmax_matches_reference_over_axes(axis, sample):
    x = sample((2, 3, 4))
    ref = _softmax_ref(x, axis)
    np.testing.assert_allclose(F.softmax(x, axis).data, ref, rtol=1e-13)
    np.testing.assert_allclose(F.log_softmax(x, axis).data, np.log(ref), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize('dtype', [np.float64, np.float32, np.float16])
@pytest.mark.parametrize('shape, axis', [((2, 0), 1), ((2, 0), -1), ((0, 3), 1), ((2, 3, 0), 2)])
def test_softmax_over_an_empty_axis_is_empty(shape, axis, dtype):
    x = Variable(np.zeros(shape, dtype))
    y = F.softmax(x, axis)
    assert y.shape == shape and y.dtype == dtype
    F.sum(y).backward(create_graph=True)
    assert x.grad.shape == shape and x.grad.dtype == dtype


def test_sigmoid_matches_reference_and_keeps_small_tail_accurate(sample):
    x = sample((3, 4))
    np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp(-x)), rtol=1e-14)
    # far in the negative tail the value is tiny but still relatively accurate
    assert F.sigmoid(np.array(-40.0)).data == pytest.approx(np.exp(-40.0), rel=1e-12)


def test_float16_sigmoid_keeps_its_tail_from_minus_11_to_minus_17():
    # exp(-x) overflows float16 from x = -11.1 on; sigmoid there (1.5e-5 down to 6e-8)
    # and its slope are still float16 numbers: the values rounded once from float64,
    # the slopes y (1 - y) to float16's precision (from y rounded to float16)
    x = np.array([-11.5, -12.0, -14.0, -16.0, -17.0, 2.0], np.float16)
    exact = np.array([1 / (1 + math.exp(-float(v))) for v in x])
    xv = Variable(x)
    y = F.sigmoid(xv)
    y.backward()
    assert y.dtype == xv.grad.dtype == np.float16
    np.testing.assert_array_equal(y.data, exact.astype(np.float16))
    np.testing.assert_allclose(xv.grad.data, exact * (1 - exact), rtol=2**-10, atol=2**-25)


def test_relu_and_leaky_relu_match_reference(sample):
    x = sample((4, 5), 'nonzero')
    np.testing.assert_array_equal(F.relu(x).data, np.maximum(x, 0))
    np.testing.assert_array_equal(F.leaky_relu(x, 0.3).data, np.where(x > 0, x, 0.3 * x))


@pytest.mark.parametrize('shape', [(7,), (2, 7), (2, 1, 7)])
@pytest.mark.parametrize('dtype', [np.float32, np.float64, np.int32])
def test_relu_keeps_nan_infinities_and_the_dtype_whatever_the_shape(shape, dtype):
    values = [np.nan, -np.inf, np.inf, -0.0, 0.0, -1.5, 2.5]
    if np.dtype(dtype).kind == 'i':
        values = [-3, -1, 0, 1, 2, 5, -7]
    x = np.broadcast_to(np.array(values, dtype=dtype), shape).copy()
    y = F.relu(x).data
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_array_equal(y, np.maximum(x, 0))  # nan where x is nan


# ---- gradients -------------------------------------------------------------------------
ELEMENTWISE = {
    'sigmoid': (F.sigmoid, 'real'),
    'relu': (F.relu, 'nonzero'),
    'leaky_relu': (F.leaky_relu, 'nonzero'),
    'leaky_relu slope 0.5': (lambda x: F.leaky_relu(x, 0.5), 'nonzero'),
}


@pytest.mark.parametrize('shape', [(), (5,), (2, 3)])
@pytest.mark.parametrize('name', ELEMENTWISE)
def test_elementwise_gradients(name, shape, sample, check_grads):
    f, domain = ELEMENTWISE[name]
    check_grads(f, sample(shape, domain))


@pytest.mark.parametrize('f', [F.softmax, F.log_softmax], ids=['softmax', 'log_softmax'])
@pytest.mark.parametrize(
    'shape, axis', [((2, 3), 1), ((2, 3), 0), ((4,), 0), ((2, 3, 2), -1), ((2, 3, 2), (1, 2))]
)
def test_softmax_gradients(f, shape, axis, sample, check_grads):
    check_grads(lambda x: f(x, axis), sample(shape))


@pytest.mark.parametrize('f', [F.sigmoid, F.relu, F.leaky_relu, F.softmax, F.log_softmax])
def test_keeps_float32(f, sample, assert_keeps_float32):
    assert_keeps_float32(f, sample((3, 4), 'nonzero'))


def test_float32_second_order_stays_float32():
    for f in (F.sigmoid, F.softmax, F.log_softmax):
        x = Variable(np.array([[0.5, -1.0, 2.0]], dtype=np.float32))
        y = f(x)
        y.grad = Variable(np.array([[1.0, 2.0, 3.0]], dtype=np.float32))
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        (gx * gx).sum().backward()
        assert gx.dtype == np.float32 and x.grad.dtype == np.float32, f


ALL = {
    **{name: (f, domain) for name, (f, domain) in ELEMENTWISE.items()},
    'softmax': (F.softmax, 'real'),
    'softmax axis 0': (lambda x: F.softmax(x, 0), 'real'),
    'log_softmax': (F.log_softmax, 'real'),
    'log_softmax axes': (lambda x: F.log_softmax(x, (0, 1)), 'real'),
}


@pytest.mark.parametrize('name', ALL)
def test_gradients_of_an_intermediate_input(name, sample, check_grads):
    # The input is made by a function and the output is used by one, so the graph holds
    # them only where the function declares that its backward reads them.
    f, domain = ALL[name]
    check_grads(lambda x: f(x + 0.0) * 1.0, sample((2, 3), domain))


@pytest.mark.parametrize(
    'f, keeps_input',
    [
        (F.sigmoid, False),
        (F.relu, False),
        (F.softmax, False),
        (F.log_softmax, False),
        (F.leaky_relu, True),
    ],
)
def test_an_input_backward_does_not_read_is_freed(f, keeps_input):
    x = Variable(np.array([[0.25, -0.5]]))
    h = x * 1.0
    alive = weakref.ref(h)
    y = f(h)
    del h
    assert (alive() is not None) == keeps_input
    (y * np.array([[1.0, 2.0]])).sum().backward()
    expected = Variable(np.array([[0.25, -0.5]]))
    (f(expected) * np.array([[1.0, 2.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, expected.grad.data)


def test_sigmoid_third_derivative_matches_the_closed_form():
    x = Variable(np.array([-3.0, -0.5, 0.0, 1.2]))
    F.sigmoid(x).backward(create_graph=True)
    for _ in range(2):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(
        x.grad.data, s * (1 - s) * (1 - 6 * s + 6 * s**2), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize('name', ['sigmoid', 'softmax', 'log_softmax axes'])
def test_third_derivatives(name, sample, check_grads):
    # the gradient of <f(x), w> checked to second order: f to third order, through the
    # backward of each gradient function (and of what that backward records)
    f, domain = ALL[name]
    x = sample((2, 3), domain)
    w = Variable(sample((2, 3)))
    check_grads(grad(lambda v: (f(v) * w).sum(), create_graph=True), x)


def test_quiet_exp_underflows_without_a_warning(sample, check_grads):
    with np.errstate(all='raise'):
        np.testing.assert_array_equal(QuietExp()(np.array([-1000.0, 0.0])).data, [0.0, 1.0])
    check_grads(lambda x: QuietExp()(x + 0.0) * 1.0, sample((2, 3)))


def _softmax_output(shape, axis, sample):
    return _softmax_ref(sample(shape), axis)


@pytest.mark.parametrize(
    'make, output',
    [
        (lambda: SigmoidGrad(), lambda s: 1 / (1 + np.exp(-s((2, 3))))),
        (lambda: SoftmaxGrad(1), lambda s: _softmax_output((2, 3), 1, s)),
        (lambda: SoftmaxGrad((0, 2)), lambda s: _softmax_output((2, 3, 2), (0, 2), s)),
        (lambda: LogSoftmaxGrad(1), lambda s: np.log(_softmax_output((2, 3), 1, s))),
        (lambda: LogSoftmaxGrad((0, 1)), lambda s: np.log(_softmax_output((2, 3), (0, 1), s))),
    ],
    ids=['SigmoidGrad', 'SoftmaxGrad', 'SoftmaxGrad-axes', 'LogSoftmaxGrad', 'LogSoftmaxGrad-axes'],
)
def test_gradient_functions_in_both_inputs(make, output, sample, check_grads):
    # each is a function of the forward output y and the gradient gy, differentiable
    # in both, so that the activations have derivatives of any order
    y = output(sample)
    check_grads(lambda y, gy: make()(y, gy), y, sample(y.shape))


@pytest.mark.parametrize(
    'make',
    [lambda: SigmoidGrad(), lambda: SoftmaxGrad(1), lambda: LogSoftmaxGrad(1)],
    ids=['SigmoidGrad', 'SoftmaxGrad', 'LogSoftmaxGrad'],
)
def test_gradient_functions_compute_only_the_gradients_asked_for(make):
    f = make()
    y, gy = Variable(np.array([[0.2, 0.8]])), Variable(np.array([[1.0, -2.0]]))
    f(y, gy)
    g = Variable(np.array([[0.5, 3.0]]))
    both = f.backward(g, needs_input_grad=(True, True))
    for needs in [(True, False), (False, True)]:
        grads = f.backward(g, needs_input_grad=needs)
        for needed, got, full in zip(needs, grads, both):
            if needed:
                np.testing.assert_array_equal(got.data, full.data)
            else:
                assert got is None


# ---- stability at large inputs ---------------------------------------------------------
def test_large_inputs_give_exact_results_without_warnings():
    big = np.array([[-1000.0, 1000.0]])
    with np.errstate(all='raise'):
        np.testing.assert_array_equal(F.sigmoid(big).data, [[0.0, 1.0]])
        np.testing.assert_array_equal(F.softmax(np.array([[1000.0, 0.0]])).data, [[1.0, 0.0]])
        np.testing.assert_array_equal(F.log_softmax(big).data, [[-2000.0, 0.0]])
        np.testing.assert_array_equal(F.relu(big).data, [[0.0, 1000.0]])


@pytest.mark.parametrize('f', [F.sigmoid, F.softmax, F.log_softmax])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_large_inputs_backward_twice_without_warnings(f, dtype):
    x = Variable(np.array([[-1000.0, 1000.0, 0.0]], dtype=dtype))
    with np.errstate(all='raise'):
        y = f(x)
        y.grad = Variable(np.array([[1.0, 2.0, 3.0]], dtype=dtype))
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        (gx * gx).sum().backward()
    assert np.all(np.isfinite(gx.data)) and np.all(np.isfinite(x.grad.data))
    if f is F.log_softmax:  # gy - softmax * sum(gy): the softmax is [0, 1, 0]
        np.testing.assert_allclose(gx.data, [[1.0, -4.0, 3.0]])


# ---- errors ----------------------------------------------------------------------------
@pytest.mark.parametrize('f', [F.softmax, F.log_softmax])
def test_bad_axis_is_refused(f):
    name = f.__name__
    with pytest.raises(ValueError, match=f'{name}: axis 2 is out of range'):
        f(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match=name):
        f(np.zeros(3))  # the default axis 1 needs two dimensions
    with pytest.raises(ValueError, match='repeated axis'):
        f(np.zeros((2, 3)), axis=(1, -1))
    for bad in ('1', 1.0, True, None, ()):
        with pytest.raises(TypeError, match=f'{name}: axis must be an int'):
            f(np.zeros((2, 3)), axis=bad)


def test_leaky_relu_refuses_a_non_numeric_slope():
    with pytest.raises(TypeError, match='leaky_relu: slope'):
        F.leaky_relu(np.zeros(2), slope='0.2')
    # a NumPy scalar slope is fine and does not upcast float32
    y = F.leaky_relu(np.array([-1.0], dtype=np.float32), np.float64(0.5))
    assert y.dtype == np.float32 and y.data[0] == -0.5


def test_log_softmax_of_large_values_is_exact():
    # x - logsumexp(x) would round logsumexp to x and give 0
    for dtype in (np.float32, np.float64):
        x = Variable(np.array([[1e8, 1e8], [1e8, -1e8]], dtype))
        y = F.log_softmax(x)
        y.grad = Variable(np.array([[1.0, 2.0], [1.0, 2.0]], dtype))
        y.backward()
        np.testing.assert_allclose(y.data, [[-np.log(2.0)] * 2, [0.0, -2e8]], rtol=1e-7)
        np.testing.assert_allclose(x.grad.data, [[-0.5, 0.5], [-2.0, 2.0]], rtol=1e-7)


# ---- float16: row sums in float32 ----------------------------------------------------------
def test_float16_softmax_over_a_long_axis():
    # float16 sums added one at a time along an axis stop growing at 2048, and a row
    # sum of 100,000 exceeds float16's range
    for shape, axis in [((5000, 2), 0), ((2, 100_000), 1)]:
        x = Variable(np.zeros(shape, np.float16))
        n = shape[axis]
        y = F.softmax(x, axis=axis)
        assert y.dtype == np.float16
        np.testing.assert_allclose(y.data, 1 / n, rtol=1e-2)
        y = F.log_softmax(x, axis=axis)
        assert y.dtype == np.float16
        np.testing.assert_allclose(y.data, -np.log(n), rtol=1e-3)
        y.backward()
        assert x.grad.dtype == np.float16
        np.testing.assert_allclose(x.grad.data, 0.0, atol=1e-2)  # 1 - n * (1 / n)


# ---- gelu ------------------------------------------------------------------------------
def gelu_tanh(x):
    return F.gelu(x, approximate='tanh')


GELUS = {'none': F.gelu, 'tanh': gelu_tanh}
PHI_1 = 0.24197072451914337  # the standard normal density at 1, exp(-1/2) / sqrt(2 pi)
CDF_1 = 0.8413447460685429  # the standard normal CDF at 1, (1 + erf(1 / sqrt 2)) / 2
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _tanh_gelu_by_hand(x):
    """The tanh approximation, its slope and its curvature at the float x, written out
    from u = c (x + k x**3), T = tanh(u): y = x (1 + T) / 2,
    y' = (1 + T) / 2 + x (1 - T**2) u' / 2, y'' = (1 - T**2) (u' + x u'' / 2 - x T u'**2)."""
    c, k = SQRT_2_OVER_PI, 0.044715
    t = math.tanh(c * (x + k * x**3))
    du, d2u = c * (1 + 3 * k * x**2), 6 * c * k * x
    y = x * (1 + t) / 2
    return (
        y,
        (1 + t) / 2 + x * (1 - t * t) * du / 2,
        (1 - t * t) * (du + x * d2u / 2 - x * t * du**2),
    )


@pytest.mark.parametrize(
    'f, x, y, gx, ggx',
    [
        # exact: x Φ(x); Φ(x) + x φ(x); φ(x) (2 - x**2)
        (F.gelu, 0.0, 0.0, 0.5, 2 / math.sqrt(2 * math.pi)),
        (F.gelu, 1.0, CDF_1, CDF_1 + PHI_1, PHI_1),
        (F.gelu, -1.0, -(1 - CDF_1), (1 - CDF_1) - PHI_1, PHI_1),
        (
            F.gelu,
            2.0,
            2 * 0.9772498680518208,
            0.9772498680518208 + 2 * 0.05399096651318806,
            -2 * 0.05399096651318806,
        ),
        # the tanh approximation: at 0 the same slope and curvature, sqrt(2/pi) = 2 φ(0)
        (gelu_tanh, 0.0, 0.0, 0.5, SQRT_2_OVER_PI),
        (gelu_tanh, 1.0, *_tanh_gelu_by_hand(1.0)),
        (gelu_tanh, -2.5, *_tanh_gelu_by_hand(-2.5)),
    ],
)
def test_gelu_values_and_derivatives_by_hand(f, x, y, gx, ggx):
    out, first, second = _first_and_second(f, x)
    assert out == pytest.approx(y, rel=1e-15, abs=1e-16)
    assert first == pytest.approx(gx, rel=1e-14, abs=1e-16)
    assert second == pytest.approx(ggx, rel=1e-14, abs=1e-16)


def test_gelu_by_the_erf_of_the_math_module():
    x = np.linspace(-8, 8, 1601)
    cdf = np.array([(1 + math.erf(v / math.sqrt(2))) / 2 for v in x])
    # to 1e-15 absolute in the tail, where 1 + erf(x / sqrt 2) cancels (in both)
    np.testing.assert_allclose(F.gelu(x).data, x * cdf, rtol=1e-15, atol=1e-15)
    xv = Variable(x)
    F.gelu(xv).backward()
    pdf = np.exp(-(x**2) / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(xv.grad.data, cdf + x * pdf, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_gelu_agrees_with_pytorch_to_second_order(approximate, dtype):
    pytest.importorskip('torch')
    import torch

    from oracle import assert_agree

    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-7, 7, 200), rng.standard_normal(200), [0.0, 0.5, 20.0, -20.0]])
    x = x.reshape(2, -1).astype(dtype)
    assert_agree(
        lambda v: F.gelu(v, approximate=approximate),
        lambda t: torch.nn.functional.gelu(t, approximate=approximate),
        [x],
        second=True,
    )


@pytest.mark.parametrize('f', GELUS.values(), ids=GELUS)
def test_gelu_gradients_and_third_derivatives(f, sample, check_grads):
    x = sample((2, 3))
    check_grads(f, x)
    check_grads(f, x * 3)  # out in the tails too
    w = Variable(sample((2, 3)))
    check_grads(grad(lambda v: (f(v) * w).sum(), create_graph=True), x)


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
def test_gelu_grad_in_both_inputs(approximate, sample, check_grads):
    check_grads(lambda x, gy: GELUGrad(approximate)(x, gy), sample((2, 3)), sample((2, 3)))


@pytest.mark.parametrize('f', GELUS.values(), ids=GELUS)
def test_gelu_keeps_float32(f, sample, assert_keeps_float32):
    assert_keeps_float32(f, sample((3, 4)))
    x = Variable(sample((2, 3), dtype=np.float32))
    f(x).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    (gx * gx).sum().backward()
    assert gx.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize('f', GELUS.values(), ids=GELUS)
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_gelu_at_infinities_gives_the_limits_without_warnings(f, dtype):
    # PyTorch gives nan at -inf; the limits are 0 and inf, the slopes 0 and 1
    x = Variable(np.array([-np.inf, np.inf, np.nan, -1e30, 1e30, -40.0, 40.0], dtype))
    with np.errstate(all='raise'):
        y = f(x)
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        gx.sum().backward()
    np.testing.assert_array_equal(y.data, [0.0, np.inf, np.nan, 0.0, x.data[4], 0.0, 40.0])
    np.testing.assert_allclose(gx.data, [0.0, 1.0, np.nan, 0.0, 1.0, 0.0, 1.0], atol=1e-18)
    np.testing.assert_allclose(x.grad.data, [0, 0, np.nan, 0, 0, 0, 0], atol=1e-18)


#: from -60 to 60 in steps of 0.5, and where the normal density is subnormal in float64
GELU_TAIL_GRID = np.concatenate([np.linspace(-60, 60, 241), [-38.5, -38.0, 38.0, 38.5]])


def _gelu_slope_and_curvature(x, approximate):
    """gelu'(x) and gelu''(x) of the array ``x`` by dezero, quietly (NumPy is set to
    raise on overflow, division by zero and invalid operations)."""
    xv = Variable(x)
    with np.errstate(over='raise', divide='raise', invalid='raise'):
        F.gelu(xv, approximate).backward(create_graph=True)
        gx = xv.grad
        xv.cleargrad()
        gx.sum().backward()
    return gx.data, xv.grad.data


def _tanh_gelu_slope_and_curvature_in_the_tails(x):
    """The slope and curvature of the tanh approximation at the float64 array ``x``,
    written with p = 1 / (1 + exp(-2u)) and q = 1 / (1 + exp(2u)) (1 - T**2 = 4 p q,
    1 + T = 2 p), which keep their relative accuracy where tanh(u) rounds to ±1."""
    c, k = SQRT_2_OVER_PI, 0.044715
    u = c * (x + k * x**3)
    du, d2u = c * (1 + 3 * k * x**2), 6 * c * k * x
    with np.errstate(over='ignore'):
        p, q = 1 / (1 + np.exp(-2 * u)), 1 / (1 + np.exp(2 * u))
    return p * (1 + 2 * x * q * du), 4 * p * q * (du + x * d2u / 2 - x * (p - q) * du**2)


def test_gelu_curvature_matches_pytorch_far_into_the_tails():
    # exact gelu in float64: every value to its last digits, subnormals included
    pytest.importorskip('torch')
    import torch

    t = torch.tensor(GELU_TAIL_GRID, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.gelu(t).sum(), t, create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), t)
    _, ggx = _gelu_slope_and_curvature(GELU_TAIL_GRID, 'none')
    np.testing.assert_allclose(ggx, tgg.numpy(), rtol=1e-13, atol=1e-320)


#: x, gelu(x) = x Φ(x) and gelu'(x) = Φ(x) + x φ(x), to 17 digits (by mpmath, with 50)
GELU_BY_MPMATH = np.array(
    [
        (-38, -1.096462776826138e-314, -4.1665545692687845e-313),
        (-30, -1.4720141781444561e-196, -4.4160316907084944e-195),
        (-20, -5.5072482372124674e-88, -1.1014360483133464e-86),
        (-10, -7.6198530241605261e-23, -7.6184000964648141e-22),
        (-9, -1.0157295653584566e-18, -9.1389373739066393e-18),
        (-8, -4.9767684594174273e-15, -3.979607261086796e-14),
        (-6, -5.9195258702261888e-9, -3.5468709453902015e-8),
        (-5, -1.4332578593959696e-6, -7.1469460017922946e-6),
        (-3, -4.0496940948902836e-3, -1.1945647204183927e-2),
        (-0.75, -1.6997051428265115e-1, 7.7427826076489563e-4),
        (-0.5, -1.5426876936299345e-1, 1.3250487534383716e-1),
        (0.25, 1.4967658142073093e-1, 6.9537335488363603e-1),
        (3, 2.9959503059051097, 1.0119456472041839),
        (6, 5.9999999940804741, 1.0000000354687095),
    ]
)


@pytest.mark.parametrize('dtype, rtol', [(np.float64, 4e-15), (np.float32, 5e-7)])
def test_gelu_and_its_slope_keep_their_relative_accuracy_in_the_left_tail(dtype, rtol):
    # Φ(x) = (1 + erf(x / sqrt 2)) / 2 would round to 0 from x = -8.3 in float64 and
    # -5.5 in float32 (and lose digits well before): gelu(x) = x Φ(x) and Φ(x) + x φ(x)
    # are taken from the tail erfc(-x / sqrt 2) / 2 instead
    x, value, slope = GELU_BY_MPMATH.T
    normal = np.abs(value) >= np.finfo(dtype).tiny  # (beyond: subnormal or 0 in float32)
    xv = Variable(x[normal].astype(dtype))
    y = F.gelu(xv)
    y.backward()
    np.testing.assert_allclose(y.data, value[normal], rtol=rtol, atol=0)
    # (not next to the slope's root at -0.7518, where Φ(x) and x φ(x) cancel)
    away = np.abs(x[normal] + 0.7518) > 0.1
    np.testing.assert_allclose(xv.grad.data[away], slope[normal][away], rtol=rtol, atol=0)
    # a subnormal result to a unit or two of the smallest
    x = Variable(np.array([-38.0]))
    F.gelu(x).backward()
    assert abs(x.grad.data[0] - GELU_BY_MPMATH[0, 2]) <= 2 * 5e-324


def _errors(got, expected, scale, unit):
    """|got - expected| in units of ``unit`` (an array of the dtype of ``got``) times
    |scale|, the smallest subnormal of that dtype if larger."""
    floor = np.finfo(got.dtype).smallest_subnormal
    return np.abs(got - expected) / np.maximum(unit * np.abs(scale), floor)


@pytest.mark.parametrize('dtype', [np.float64, np.float32, np.float16])
def test_gelu_and_its_slope_to_a_few_units_in_the_last_place(dtype):
    mpmath = pytest.importorskip('mpmath')
    rng = np.random.default_rng(8)
    x = np.concatenate([rng.uniform(-40, 40, 600), rng.uniform(-8, 3, 600)]).astype(dtype)
    with mpmath.workdps(40):
        exact = np.array(
            [
                (m * mpmath.ncdf(m), mpmath.ncdf(m), m * mpmath.npdf(m))
                for m in map(mpmath.mpf, x.tolist())
            ],
            dtype=np.float64,
        )
    value, cdf, x_pdf = exact.T
    slope = cdf + x_pdf
    xv = Variable(x)
    y = F.gelu(xv)
    y.backward()
    # the slope Φ + x φ loses its relative accuracy next to its root -0.7518, where the
    # two terms cancel: there it is accurate to a few units of |Φ| + |x φ|
    no_cancelling = (x <= -2) | (x >= 0)
    if dtype == np.float16:  # computed in float32 and rounded once: to half a unit
        assert (np.abs(y.data - value) <= 0.51 * np.spacing(value.astype(dtype))).all()
        in_ulps = np.abs(xv.grad.data - slope) / np.spacing(slope.astype(dtype))
        assert in_ulps[no_cancelling].max() <= 0.51
        return
    eps = np.finfo(dtype).eps
    assert _errors(y.data, value, value, eps).max() <= 6
    assert _errors(xv.grad.data, slope, np.abs(cdf) + np.abs(x_pdf), eps).max() <= 6
    assert _errors(xv.grad.data, slope, slope, eps)[no_cancelling].max() <= 6


def test_tanh_gelu_slope_and_curvature_keep_their_accuracy_far_into_the_tails():
    # PyTorch's 1 + tanh(u) rounds to 0 below x = -8; p = 1 / (1 + exp(-2u)) does not
    gx, ggx = _gelu_slope_and_curvature(GELU_TAIL_GRID, 'tanh')
    slope, curvature = _tanh_gelu_slope_and_curvature_in_the_tails(GELU_TAIL_GRID)
    np.testing.assert_allclose(gx, slope, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ggx, curvature, rtol=1e-12, atol=1e-300)
    (at_minus_20,) = gx[GELU_TAIL_GRID == -20.0]
    assert at_minus_20 == pytest.approx(-2.9424328724945e-259, rel=1e-12)


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
def test_gelu_slope_and_curvature_agree_with_pytorch_in_float32_from_minus_60_to_60(approximate):
    pytest.importorskip('torch')
    import torch

    from oracle import assert_agree

    x = np.linspace(-60, 60, 481).astype(np.float32).reshape(13, 37)
    assert_agree(
        lambda v: F.gelu(v, approximate=approximate),
        lambda t: torch.nn.functional.gelu(t, approximate=approximate),
        [x],
        second=True,
    )


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
def test_gelu_slope_and_curvature_vanish_in_the_float32_tails(approximate):
    # the normal density exp(-x**2 / 2) is 0 in float32 beyond |x| = 14.4, and
    # exp(-2|u|) of the tanh approximation beyond |x| = 10.5
    x = np.array([-60.0, -40.0, -20.0, -15.0, 15.0, 20.0, 40.0, 60.0], np.float32)
    gx, ggx = _gelu_slope_and_curvature(x, approximate)
    np.testing.assert_array_equal(gx, [0, 0, 0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(ggx, np.zeros(8))
    assert gx.dtype == ggx.dtype == np.float32


def test_gelu_slope_and_curvature_in_the_float32_tail_left_of_minus_9():
    # there 1 + erf(x / sqrt 2) has long rounded to 0, Φ(x) + x φ(x) has not (by mpmath)
    x = np.array([-12.0, -11.0, -10.0, -9.0])
    slope = [-2.557895662e-31, -2.311594583e-26, -7.618400096e-22, -9.138937374e-18]
    pdf = np.exp(-(x**2) / 2) / np.sqrt(2 * np.pi)
    gx, ggx = _gelu_slope_and_curvature(x.astype(np.float32), 'none')
    np.testing.assert_allclose(gx, slope, rtol=2e-6)
    np.testing.assert_allclose(ggx, pdf * (2 - x**2), rtol=2e-5)


def test_gelu_float16_and_integers():
    y = F.gelu(np.array([-1.0, 0.5, 2.0], np.float16))
    assert y.dtype == np.float16
    np.testing.assert_allclose(
        y.data, [-(1 - CDF_1), 0.5 * 0.6914624612740131, 1.9544997], rtol=1e-3
    )
    y = F.gelu(np.array([1, -1]))
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, [CDF_1, -(1 - CDF_1)], rtol=1e-15)


def test_gelu_of_a_large_array_matches_small_pieces():
    # the forward and GELUGrad work through the array in blocks
    from dezero.functions.math import BLOCK_BYTES

    for approximate in ('none', 'tanh'):
        x = np.random.default_rng(6).standard_normal(BLOCK_BYTES // 8 * 2 + 77) * 3
        xv = Variable(x)
        y = F.gelu(xv, approximate)
        y.backward()
        for i in range(0, x.size, 4999):
            part = Variable(x[i : i + 3])
            yp = F.gelu(part, approximate)
            yp.backward()
            np.testing.assert_array_equal(y.data[i : i + 3], yp.data)
            np.testing.assert_array_equal(xv.grad.data[i : i + 3], part.grad.data)


@pytest.mark.parametrize('bad', ['sigmoid', 'Tanh', None, True, 0, 'exact'])
def test_gelu_refuses_an_unknown_approximation(bad):
    with pytest.raises(
        ValueError, match=f"gelu: approximate must be 'none' or 'tanh', got {bad!r}"
    ):
        F.gelu(np.zeros(2), approximate=bad)


def test_gelu_keeps_its_input_for_backward():
    x = Variable(np.array([0.25, -0.5]))
    h = x * 1.0
    alive = weakref.ref(h)
    y = F.gelu(h)
    del h
    assert alive() is not None  # backward reads x
    y.backward()
    cdf = np.array([(1 + math.erf(v / math.sqrt(2))) / 2 for v in (0.25, -0.5)])
    pdf = np.exp(-(np.array([0.25, -0.5]) ** 2) / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(x.grad.data, cdf + np.array([0.25, -0.5]) * pdf, rtol=1e-15)


def test_the_registry_checks_catch_a_broken_gelu_derivative(monkeypatch):
    from registry import CASES
    from test_gradient_registry import check_case

    cases = [c for c in CASES if c.name == 'gelu' and c.label in ('erf', 'tanh')]
    # a slope with the normal density off by 0.3% fails the first-order check
    with monkeypatch.context() as m:
        m.setattr(activation, '_INV_SQRT_2PI', 0.4)
        with pytest.raises(AssertionError, match='first order'):
            check_case(cases[0])
    # a curvature off by 1% fails the second-order one, in both variants
    curvature = activation._gelu_curvature
    monkeypatch.setattr(activation, '_gelu_curvature', lambda x, a: curvature(x, a) * 1.01)
    for c in cases:
        with pytest.raises(AssertionError, match='second order'):
            check_case(c)


@pytest.mark.parametrize(
    'values, dtype',
    [([0, 1, 3, 200, 255], np.uint8), ([-128, -100, 0, 100, 127], np.int8)],
)
@pytest.mark.parametrize(
    'apply',
    [F.sigmoid, lambda x: F.softmax(x, axis=0), lambda x: F.log_softmax(x, axis=0)],
)
def test_integer_data_is_taken_in_float64_without_wrapping_round(values, dtype, apply):
    # -(-128) does not fit int8, and x - max(x) of uint8 wraps round
    x = Variable(np.array(values, dtype))
    expected = apply(Variable(np.array(values, np.float64)))
    y = apply(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.data, expected.data, rtol=1e-15)
    F.sum(y * np.arange(5.0)).backward()
    x64 = Variable(np.array(values, np.float64))
    F.sum(apply(x64) * np.arange(5.0)).backward()
    np.testing.assert_allclose(x.grad.data, x64.grad.data, rtol=1e-12)


@pytest.mark.parametrize('dtype', [np.float16, np.float32, np.float64])
def test_log_softmax_over_an_empty_axis_gives_an_empty_result(dtype):
    x = Variable(np.ones((2, 0), dtype))
    y = F.log_softmax(x, axis=1)
    assert y.shape == (2, 0) and y.dtype == dtype
    F.sum(y).backward()
    assert x.grad.shape == (2, 0) and x.grad.dtype == dtype


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
def test_gelu_curvature_in_float16_is_finite_far_out(approximate):
    # x (1 - T**2) u'**2 overflowed float16 at |x| >= 22.5 and times 0 gave nan
    x = Variable(np.array([-30.0, -22.5, -3.0, 0.0, 3.0, 22.5, 30.0], np.float16))
    F.gelu(x, approximate=approximate).sum().backward(create_graph=True)
    slope = x.grad
    x.cleargrad()
    slope.sum().backward()
    curvature = x.grad.data
    assert curvature.dtype == np.float16
    np.testing.assert_array_equal(curvature[[0, 1, 5, 6]], 0.0)
    np.testing.assert_allclose(
        curvature[[2, 4]], -0.0318 if approximate == 'tanh' else -0.0310, atol=2e-4
    )
    np.testing.assert_allclose(curvature[3], 0.798, atol=1e-3)


def test_tanh_gelu_curvature_in_float16_does_not_flush_to_zero_from_4_on():
    # 1 - T**2 rounded to 0 in float16 for 4.2 <= |x| <= 6, where the curvature is not
    x = Variable(np.array([-4.094, 4.5], np.float16))
    F.gelu(x, approximate='tanh').sum().backward(create_graph=True)
    slope = x.grad
    x.cleargrad()
    slope.sum().backward()
    np.testing.assert_allclose(x.grad.data, [-1.006e-3, -1.572e-4], rtol=2e-2)


# ---- what the function forms check, their classes check too --------------------------------
@pytest.mark.parametrize(
    'make, name, axis',
    [
        (lambda: F.LogSoftmax(None), 'LogSoftmax', 'None'),
        (lambda: F.Softmax(True), 'Softmax', 'True'),
        (lambda: F.Softmax([0, 1]), 'Softmax', r'\[0, 1\]'),
        (lambda: F.LogSoftmax(()), 'LogSoftmax', r'\(\)'),
    ],
)
def test_the_softmax_classes_check_the_axis_as_the_functions_do(make, name, axis):
    # LogSoftmax(None) normalised over all elements, which log_softmax(axis=None) refuses
    with pytest.raises(
        TypeError, match=rf'{name}: axis must be an int or a non-empty tuple of ints, got {axis}'
    ):
        make()


# ---- complex numbers -----------------------------------------------------------------------
@pytest.mark.parametrize(
    'f, name',
    [
        (F.gelu, 'GELU'),
        (lambda x: F.gelu(x, approximate='tanh'), 'GELU'),
        (F.relu, 'ReLU'),
        (F.leaky_relu, 'LeakyReLU'),
        (lambda x: F.ReLU()(x), 'ReLU'),
    ],
)
def test_complex_data_is_refused_by_functions_of_the_real_line(f, name):
    # gelu dropped the imaginary part (with only NumPy's ComplexWarning), relu compared
    # complex numbers and passed them through
    with pytest.raises(TypeError, match=rf'{name}: expected real numbers .*got complex128'):
        f(np.array([0.5 + 2j, -1.0]))


# ---- float16 in the other byte order ---------------------------------------------------------
#: float16 not in the machine's byte order (as read from a file written elsewhere):
#: neither ``is`` nor ``==`` np.float16, but needing the same float32 safeguards
OTHER_FLOAT16 = np.dtype(np.float16).newbyteorder('S')


def test_sigmoid_of_float16_in_the_other_byte_order_keeps_its_tail():
    # computed in float16, exp(-x) overflowed and sigmoid gave [0, 0]
    x = np.array([-12.0, -15.0], OTHER_FLOAT16)
    y = F.sigmoid(Variable(x))
    assert y.dtype == np.float16
    exact = np.array([1 / (1 + math.exp(12.0)), 1 / (1 + math.exp(15.0))])
    np.testing.assert_array_equal(y.data, exact.astype(np.float16))  # [6.14e-6, 3.0e-7]
    np.testing.assert_array_equal(y.data, F.sigmoid(x.astype(np.float16)).data)


def test_softmax_of_float16_in_the_other_byte_order_over_a_long_row():
    # the row sum of 70,000 exceeded float16's range: softmax summed to 0
    x = np.zeros((1, 70_000), OTHER_FLOAT16)
    y = F.softmax(x)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.data, np.full((1, 70_000), 1 / 70_000, np.float16))
    np.testing.assert_allclose(y.data.astype(np.float64).sum(), 1.0, rtol=2e-3)


def test_log_softmax_grad_of_float16_in_the_other_byte_order_sums_in_float32():
    # gx = gy - softmax * sum(gy): a sum of 70,000 overflowed float16, giving nan
    x = Variable(np.zeros((1, 70_000), OTHER_FLOAT16))
    y = F.log_softmax(x)
    np.testing.assert_allclose(y.data, -math.log(70_000), rtol=1e-3)
    y.backward()
    assert x.grad.dtype.itemsize == 2  # float16 (gradients take x's byte order)
    np.testing.assert_allclose(x.grad.data, 0.0, atol=1e-3)  # 1 - 70,000 / 70,000


@pytest.mark.parametrize('approximate', ['none', 'tanh'])
def test_gelu_curvature_of_float16_in_the_other_byte_order_as_of_native_float16(approximate):
    # computed in float16, x (1 - T**2) u'**2 overflowed and times 0 gave nan
    values = [-30.0, -22.5, -4.094, 0.0, 4.5, 22.5, 30.0]
    curvatures = []
    for dtype in (np.float16, OTHER_FLOAT16):
        x = Variable(np.array(values, dtype))
        F.gelu(x, approximate=approximate).sum().backward(create_graph=True)
        slope = x.grad
        x.cleargrad()
        slope.sum().backward()
        curvatures.append(x.grad.data)
    assert np.isfinite(curvatures[1]).all()
    np.testing.assert_array_equal(curvatures[1], curvatures[0])

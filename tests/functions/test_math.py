"""Elementwise math: sin cos tan tanh exp log sqrt abs square clip, and the gradient
functions TanhGrad and PiecewiseLinearGrad."""

import weakref

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.autodiff import grad
from dezero.functions.math import PiecewiseLinearGrad, TanhGrad


def clip_half(x):
    return F.clip(x, -0.5, 0.5)


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


@pytest.mark.parametrize('name', ['tan', 'tanh', 'exp', 'sqrt'])
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


@pytest.mark.parametrize('name', ['sin', 'cos', 'tan', 'tanh', 'exp', 'log', 'sqrt'])
def test_float32_second_order_stays_float32(name, sample):
    f, _, domain = UNARY[name]
    x = Variable(sample((2, 3), domain, np.float32))
    f(x).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    (gx * gx).sum().backward()
    assert gx.dtype == np.float32 and x.grad.dtype == np.float32

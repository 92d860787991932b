"""Elementwise math: sin cos tan tanh exp log sqrt abs square clip."""
import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable


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
    'clip numpy bounds': (lambda x: F.clip(x, np.float64(-0.5), np.float32(0.5)),
                          lambda a: np.clip(a, -0.5, 0.5), 'off_bounds'),
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
    np.testing.assert_allclose(f(x).data, ref(x), rtol=1e-12)     # plain arrays too


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', UNARY)
def test_gradients_first_and_second_order(name, shape, sample, check_grads):
    f, _, domain = UNARY[name]
    check_grads(f, sample(shape, domain))


@pytest.mark.parametrize('f, x, y, gx, ggx', [
    (F.sin, np.pi / 2, 1.0, 0.0, -1.0),
    (F.cos, 0.0, 1.0, 0.0, -1.0),
    (F.tan, np.pi / 4, 1.0, 2.0, 4.0),
    (F.tanh, 0.0, 0.0, 1.0, 0.0),
    (F.exp, 1.0, np.e, np.e, np.e),
    (F.log, 2.0, np.log(2.0), 0.5, -0.25),
    (F.sqrt, 4.0, 2.0, 0.25, -1 / 32),
    (F.abs, -3.0, 3.0, -1.0, 0.0),
    (F.abs, 0.0, 0.0, 0.0, 0.0),                 # the derivative at the kink is taken as 0
    (F.square, 3.0, 9.0, 6.0, 2.0),
    (clip_half, 2.0, 0.5, 0.0, 0.0),
    (clip_half, 0.25, 0.25, 1.0, 0.0),
])
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


@pytest.mark.parametrize('x_min, x_max, y, gx', [
    (-1.0, 1.0, [-1.0, -0.5, 0.3, 1.0], [0, 1, 1, 0]),
    (None, 0.0, [-2.0, -0.5, 0.0, 0.0], [1, 1, 0, 0]),
    (0.0, None, [0.0, 0.0, 0.3, 2.0], [0, 0, 1, 1]),
])
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

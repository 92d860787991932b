"""Shared fixtures for the tests of ``dezero.functions``: seeded random inputs drawn
from domains that avoid kinks and singularities, and the gradient checks."""

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.utils import gradgrad_check, gradient_check


def _signed(rng, magnitude):
    return rng.choice([-1.0, 1.0], np.shape(magnitude)) * magnitude


#: Where random inputs are drawn from, by name (each a function of rng and shape).
DOMAINS = {
    'real': lambda rng, shape: rng.standard_normal(shape),
    'narrow': lambda rng, shape: rng.uniform(-1.0, 1.0, shape),
    'positive': lambda rng, shape: rng.uniform(0.5, 2.0, shape),
    # |x| in [0.5, 2]: away from the kink of abs and the pole of 1/x
    'nonzero': lambda rng, shape: _signed(rng, rng.uniform(0.5, 2.0, shape)),
    # |x| in [0.1, 0.35] or [0.65, 0.9]: away from 0 and from the clip bounds ±0.5
    'off_bounds': lambda rng, shape: _signed(
        rng, rng.uniform(0.1, 0.35, shape) + 0.55 * (rng.random(shape) < 0.5)
    ),
    # all different, at least 0.1 apart: no ties for max/min, even after a ±eps probe
    'distinct': lambda rng, shape: rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0,
}


@pytest.fixture
def sample():
    """``sample(shape, domain='real', dtype=float64)``: a seeded random array."""
    rng = np.random.default_rng(0)

    def draw(shape, domain='real', dtype=np.float64):
        return np.asarray(DOMAINS[domain](rng, shape), dtype=dtype)

    return draw


def _partial(f, inputs, i):
    """``f`` as a function of its ``i``-th input alone; the others are fixed Variables."""
    fixed = [Variable(np.array(x)) for x in inputs]

    def g(x):
        return f(*fixed[:i], x, *fixed[i + 1 :])

    return g


def _check_grads(f, *inputs, order=2, rtol=1e-4, atol=1e-5):
    """Check the gradient of ``sum(w * f(*inputs))`` (``w`` random weights) with respect
    to each input against central differences.  With ``order=2`` also check second
    derivatives, of ``f`` and of ``f**2``: squaring gives even a linear ``f`` non-zero
    second derivatives, which come out right only if its backward is recorded as a graph."""
    rng = np.random.default_rng(1)
    for i in range(len(inputs)):
        g = _partial(f, inputs, i)
        # weigh the outputs at random: the gradient of a plain sum can vanish (the
        # outputs of softmax always add up to 1) and would then prove nothing
        w = rng.uniform(0.5, 1.5, g(Variable(np.array(inputs[i]))).shape)
        assert gradient_check(lambda x: g(x) * w, inputs[i], rtol=rtol, atol=atol), (
            f'input {i}: 1st order'
        )
        if order >= 2:
            assert gradgrad_check(g, inputs[i], rtol=rtol, atol=atol), f'input {i}: 2nd order'
            assert gradgrad_check(lambda x: F.square(g(x)), inputs[i], rtol=rtol, atol=atol), (
                f'input {i}: 2nd order of the square'
            )


@pytest.fixture
def check_grads():
    """``check_grads(f, *inputs, order=2)``: see :func:`_check_grads`."""
    return _check_grads


def _assert_keeps_float32(f, *inputs):
    """``f`` on float32 Variables gives float32 output, and float32 gradients."""
    xs = [Variable(np.asarray(x, dtype=np.float32)) for x in inputs]
    y = f(*xs)
    assert y.dtype == np.float32, f'output is {y.dtype}'
    y.backward()
    for i, x in enumerate(xs):
        assert x.grad is not None, f'input {i} got no gradient'
        assert x.grad.dtype == np.float32, f'gradient of input {i} is {x.grad.dtype}'


@pytest.fixture
def assert_keeps_float32():
    """``assert_keeps_float32(f, *inputs)``: see :func:`_assert_keeps_float32`."""
    return _assert_keeps_float32

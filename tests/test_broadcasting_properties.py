"""Property tests: binary operations on random broadcast-compatible shapes give each
input a gradient of that input's own shape, equal to the numerical gradient."""

import operator

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from dezero import Variable
from dezero.utils import numerical_grad


def real(rng, shape):
    return rng.uniform(-2.0, 2.0, shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def nonzero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * positive(rng, shape)


# operator: (function, sampler of x0, sampler of x1); pow has a Variable exponent
OPS = {
    '+': (operator.add, real, real),
    '-': (operator.sub, real, real),
    '*': (operator.mul, real, real),
    '/': (operator.truediv, real, nonzero),
    '**': (operator.pow, positive, real),
}


@pytest.mark.parametrize('name', OPS)
@settings(max_examples=30, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    seed=st.integers(0, 2**32 - 1),
)
def test_gradients_have_input_shapes_and_match_numerical(name, shapes, seed):
    op, *samplers = OPS[name]
    rng = np.random.default_rng(seed)
    a, b = (np.asarray(draw(rng, shape)) for draw, shape in zip(samplers, shapes.input_shapes))
    x0, x1 = Variable(a), Variable(b)
    y = op(x0, x1)
    assert y.shape == shapes.result_shape
    y.backward()
    # the reference differentiates the same operation on plain NumPy arrays
    for x, numeric in (
        (x0, numerical_grad(lambda v: op(v, b), a)),
        (x1, numerical_grad(lambda v: op(a, v), b)),
    ):
        assert x.grad.shape == x.shape
        np.testing.assert_allclose(x.grad.data, numeric, rtol=1e-5, atol=1e-6)

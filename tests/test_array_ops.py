"""Array helpers of dezero.array_ops (re-exported from dezero.utils)."""

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
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

"""Copies of Variables: ``copy.deepcopy`` and ``pickle`` copy the data, the name and the
gradient of a Variable as a leaf (no graph behind it, however long its history), keep
its class (a Parameter stays one), and still copy layers and models whole."""

import copy
import pickle

import numpy as np
import pytest

import dezero.functions as F
import dezero.layers as L
from dezero import Parameter, Variable
from dezero.models import MLP


def long_history(n=100):
    x = Variable(np.array([0.5, 1.0]), name='x')
    y = x
    for _ in range(n):
        y = F.sin(y)
    y.name = 'y'
    return x, y


def pickled(v):
    return pickle.loads(pickle.dumps(v))


@pytest.mark.parametrize('copier', [copy.deepcopy, pickled], ids=['deepcopy', 'pickle'])
def test_a_variable_with_a_long_history_is_copied_as_a_leaf(copier):
    x, y = long_history(2000)  # a chain deeper than Python's recursion limit
    y.grad = Variable(np.array([1.0, 2.0]))
    c = copier(y)
    assert type(c) is Variable and c.creator is None and c.generation == 0
    assert c.name == 'y' and c.requires_grad
    np.testing.assert_array_equal(c.data, y.data)
    assert not np.shares_memory(c.data, y.data)
    assert c.grad is not y.grad and c.grad.data.tolist() == [1.0, 2.0]
    c.data += 1  # the copy is independent
    assert not np.array_equal(c.data, y.data)
    (c * 2).sum().backward()  # and trains as a leaf
    assert c.grad.data.tolist() == [3.0, 4.0]


@pytest.mark.parametrize('copier', [copy.deepcopy, pickled], ids=['deepcopy', 'pickle'])
def test_a_recorded_gradient_is_copied_as_a_leaf_too(copier):
    x, y = long_history(50)
    y.sum().backward(create_graph=True)
    assert x.grad.creator is not None
    c = copier(x)
    assert c.grad.creator is None
    np.testing.assert_array_equal(c.grad.data, x.grad.data)


@pytest.mark.parametrize('copier', [copy.deepcopy, pickled], ids=['deepcopy', 'pickle'])
def test_a_parameter_stays_a_parameter(copier):
    W = Parameter(np.ones((2, 2), np.float32), name='W')
    c = copier(W)
    assert type(c) is Parameter and c.name == 'W' and c.dtype == np.float32
    assert c.grad is None and not np.shares_memory(c.data, W.data)


def test_a_deep_copy_of_a_model_has_independent_parameters_and_keeps_shared_ones_shared():
    model = MLP((5, 2))
    y = model(np.ones((1, 3)))
    y.sum().backward()
    twin = copy.deepcopy(model)
    for p, q in zip(model.params(), twin.params()):
        assert type(q) is Parameter and q is not p
        np.testing.assert_array_equal(q.data, p.data)
        np.testing.assert_array_equal(q.grad.data, p.grad.data)
        assert not np.shares_memory(q.data, p.data)
    shared = Parameter(np.zeros(3))
    pair = copy.deepcopy([shared, shared])
    assert pair[0] is pair[1] and pair[0] is not shared


def test_a_model_and_a_recurrent_layer_after_some_steps_can_be_pickled():
    model = MLP((5, 2))
    model(np.ones((1, 3)))
    again = pickled(model)
    assert [p.shape for p in again.params()] == [p.shape for p in model.params()]
    rnn = L.RNN(4)
    for _ in range(3):
        rnn(np.ones((1, 3)))
    assert rnn.h.creator is not None
    restored = pickled(rnn)
    assert restored.h.creator is None
    np.testing.assert_array_equal(restored.h.data, rnn.h.data)


def test_attributes_of_a_subclass_of_its_own_are_copied():
    class Tagged(Variable):
        pass

    v = Tagged(np.ones(2))
    v.tag = 'mine'
    c = copy.deepcopy(v)
    assert type(c) is Tagged and c.tag == 'mine'

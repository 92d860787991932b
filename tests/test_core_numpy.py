"""NumPy functions given Variables: those that would compute on the data and drop the
graph (the result silently carrying no gradient) are refused by name; those that NumPy
carries out by the Variable's own method give Variables of the graph; those that only
inspect or compare the data work on it; ``np.asarray`` gives the data."""

import numpy as np
import pytest

import dezero.functions as F
from dezero import Parameter, Variable


@pytest.fixture
def v():
    return Variable(np.arange(6.0).reshape(2, 3), name='v')


@pytest.mark.parametrize(
    'call, name, instead',
    [
        (lambda v: np.dot(np.ones((1, 2)), v), 'dot', r'F\.matmul'),
        (lambda v: np.tensordot(v, v, axes=([0, 1], [0, 1])), 'tensordot', r'F\.matmul'),
        (lambda v: np.inner(v, v), 'inner', r'F\.matmul'),
        (lambda v: np.outer(v, v), 'outer', r'F\.matmul'),
        (lambda v: np.einsum('ij,ij->', v, v), 'einsum', r'F\.matmul'),
        (lambda v: np.mean(v), 'mean', r'F\.mean'),
        (lambda v: np.var(v), 'var', 'dezero.functions'),
        (lambda v: np.reshape(v, (6,)), 'reshape', r'F\.reshape'),
        (lambda v: np.squeeze(v), 'squeeze', r'F\.squeeze'),
        (lambda v: np.expand_dims(v, 0), 'expand_dims', r'F\.expand_dims'),
        (lambda v: np.concatenate([v, v]), 'concatenate', r'F\.concat'),
        (lambda v: np.stack([v, v]), 'stack', r'F\.stack'),
        (lambda v: np.clip(v, 0, 1), 'clip', r'F\.clip'),
        (lambda v: np.where(v.data > 1, v, 0), 'where', r'F\.where'),
        (lambda v: np.cumsum(v), 'cumsum', 'dezero.functions'),
        (lambda v: np.diag(v), 'diag', 'dezero.functions'),
        (lambda v: np.linalg.norm(v), 'linalg.norm', 'dezero.functions'),
    ],
)
def test_numpy_functions_that_would_drop_the_graph_are_refused_by_name(v, call, name, instead):
    with pytest.raises(
        TypeError,
        match=rf"^numpy\.{name}: NumPy functions do not record dezero's graph, so the result "
        rf'would carry no gradient; use .*{instead}.*, or pass v\.data for a plain array '
        rf'\(as for a library that calls NumPy, such as plt\.bar\(x\.data, y\.data\)\)$',
    ):
        call(v)


def test_a_layer_written_with_np_dot_is_refused_instead_of_training_nothing():
    W = Parameter(np.ones((2, 3)))
    b = Parameter(np.zeros(3))
    x = np.ones((4, 2))
    with pytest.raises(TypeError, match=r'numpy\.dot: .*F\.matmul'):
        np.dot(x, W) + b
    y = F.sum(F.matmul(x, W) + b)  # what to write instead
    y.backward()
    np.testing.assert_array_equal(W.grad.data, np.full((2, 3), 4.0))
    np.testing.assert_array_equal(np.dot(x, W.data), np.full((4, 3), 2.0))  # or the data


def test_numpy_functions_carried_out_by_the_variables_methods_give_variables(v):
    results = {
        'sum': np.sum(v),
        'sum axis 0': np.sum(v, axis=0),
        'max': np.max(v),
        'amax': np.amax(v),
        'min': np.min(v, axis=1, keepdims=True),
        'amin': np.amin(v),
        'transpose': np.transpose(v),
    }
    for what, y in results.items():
        assert isinstance(y, Variable) and y.creator is not None, what
    assert float(results['sum'].data) == 15.0
    assert results['sum axis 0'].data.tolist() == [3.0, 5.0, 7.0]
    assert float(results['max'].data) == 5.0 and float(results['amin'].data) == 0.0
    assert results['min'].data.tolist() == [[0.0], [3.0]]
    assert results['transpose'].shape == (3, 2)
    np.sum(np.transpose(v) * 2).backward()
    np.testing.assert_array_equal(v.grad.data, np.full((2, 3), 2.0))


def test_numpy_functions_that_only_inspect_or_compare_read_the_data(v):
    same = Variable(np.arange(6.0).reshape(2, 3))
    assert np.shape(v) == (2, 3) and np.ndim(v) == 2 and np.size(v) == 6
    assert np.allclose(v, same) and np.array_equal(v, same) and np.array_equiv(v, same)
    assert np.isclose(v, v.data + 1e-12).all()
    assert not np.allclose(v, same + 1)
    np.testing.assert_allclose(v, same.data)
    np.testing.assert_array_equal(v, same.data)


def test_np_asarray_and_np_array_still_give_the_data(v):
    assert np.asarray(v) is v.data
    copied = np.array(v)
    assert copied is not v.data and copied.tolist() == v.data.tolist()
    assert np.asarray([v, v]).shape == (2, 2, 3)


def test_ufuncs_are_still_refused_and_operators_still_give_variables(v):
    with pytest.raises(TypeError, match='does not support ufuncs'):
        np.exp(v)
    y = np.ones(3) * v
    assert isinstance(y, Variable) and y.creator is not None


def test_numpy_functions_giving_positions_counts_or_truth_values_take_variables():
    # their results have no gradient, so nothing is lost by computing on the data
    v = Variable(np.array([[1.0, 3.0], [2.0, 0.0]]))
    assert np.argmax(v, axis=1).tolist() == [1, 0]
    assert np.argmin(v) == 3
    assert np.argsort(v).tolist() == [[0, 1], [1, 0]]
    assert [a.tolist() for a in np.nonzero(v)] == [[0, 0, 1], [0, 1, 0]]
    assert np.flatnonzero(v).tolist() == [0, 1, 2]
    assert np.count_nonzero(v) == 3
    assert np.any(v) and not np.all(v)
    assert np.allclose(v, [[1, 3], [2, 0]]) and np.array_equal([v, v], [v.data, v.data])


def test_numpy_functions_refuse_a_variable_holding_no_data():
    # a lazy layer's parameter: np.size gave 1 and np.shape () for it
    w = Parameter(None, name='W')
    for call in (np.size, np.shape, np.count_nonzero, np.any):
        with pytest.raises(ValueError, match='this Variable holds no data'):
            call(w)

"""Array functions: reshape transpose get_item expand_dims squeeze flatten broadcast_to
sum_to concat stack."""

import re
import weakref

import numpy as np
import pytest

import dezero.functions as F
import dezero.layers as L
from dezero import Variable
from dezero.functions.array import Concat

MASK = np.arange(12).reshape(3, 4) % 3 == 0

# name: (dezero function, NumPy reference, input shape)
UNARY = {
    'reshape': (lambda x: F.reshape(x, (4, 6)), lambda a: a.reshape(4, 6), (2, 3, 4)),
    'reshape -1': (lambda x: F.reshape(x, (-1, 2)), lambda a: a.reshape(-1, 2), (2, 3, 4)),
    'reshape varargs': (lambda x: x.reshape(6, 4), lambda a: a.reshape(6, 4), (2, 3, 4)),
    'reshape tuple': (lambda x: x.reshape((3, 8)), lambda a: a.reshape(3, 8), (2, 3, 4)),
    'transpose': (F.transpose, np.transpose, (2, 3, 4)),
    'transpose axes': (
        lambda x: F.transpose(x, (1, 0, 2)),
        lambda a: a.transpose(1, 0, 2),
        (2, 3, 4),
    ),
    'transpose negative axes': (
        lambda x: F.transpose(x, (-1, 0, 1)),
        lambda a: a.transpose(-1, 0, 1),
        (2, 3, 4),
    ),
    'transpose varargs': (
        lambda x: x.transpose(2, 0, 1),
        lambda a: a.transpose(2, 0, 1),
        (2, 3, 4),
    ),
    'T': (lambda x: x.T, lambda a: a.T, (2, 3)),
    'x[1]': (lambda x: x[1], lambda a: a[1], (3, 4)),
    'x[-1, 2]': (lambda x: x[-1, 2], lambda a: a[-1, 2], (3, 4)),
    'x[1:3]': (lambda x: x[1:3], lambda a: a[1:3], (4, 3)),
    'x[:, 2]': (lambda x: x[:, 2], lambda a: a[:, 2], (3, 4)),
    'x[..., ::-2]': (lambda x: x[..., ::-2], lambda a: a[..., ::-2], (2, 3, 4)),
    'x[[0, 0, 1]]': (lambda x: x[[0, 0, 1]], lambda a: a[[0, 0, 1]], (3, 4)),
    'x[[0, 2], [1, 1]]': (lambda x: x[[0, 2], [1, 1]], lambda a: a[[0, 2], [1, 1]], (3, 4)),
    'x[2d int array]': (
        lambda x: x[np.array([[0, 1], [1, 1]])],
        lambda a: a[np.array([[0, 1], [1, 1]])],
        (3, 4),
    ),
    'x[mask]': (lambda x: x[MASK], lambda a: a[MASK], (3, 4)),
    'x[row mask]': (
        lambda x: x[[True, False, True]],
        lambda a: a[np.array([True, False, True])],
        (3, 4),
    ),
    'get_item': (lambda x: F.get_item(x, (slice(None), 1)), lambda a: a[:, 1], (3, 4)),
    'x[[]]': (lambda x: x[[]], lambda a: a[np.array([], np.intp)], (3, 4)),
    'x[Variable]': (
        lambda x: x[Variable(np.array([0, 0, 2]))],
        lambda a: a[np.array([0, 0, 2])],
        (3, 4),
    ),
    'x[bool Variable]': (
        lambda x: x[Variable(np.array([True, False, True]))],
        lambda a: a[np.array([True, False, True])],
        (3, 4),
    ),
    'x[0-d Variable]': (lambda x: x[Variable(np.array(1))], lambda a: a[1], (3, 4)),
    'x[Variable, slice]': (
        lambda x: x[Variable(np.array([2, 2])), 1:],
        lambda a: a[np.array([2, 2]), 1:],
        (3, 4),
    ),
    'expand_dims 0': (lambda x: F.expand_dims(x, 0), lambda a: np.expand_dims(a, 0), (2, 3)),
    'expand_dims 1': (lambda x: F.expand_dims(x, 1), lambda a: np.expand_dims(a, 1), (2, 3)),
    'expand_dims -1': (lambda x: F.expand_dims(x, -1), lambda a: np.expand_dims(a, -1), (2, 3)),
    'expand_dims (0, 1)': (
        lambda x: F.expand_dims(x, (0, 1)),
        lambda a: np.expand_dims(a, (0, 1)),
        (2, 3),
    ),
    'expand_dims (-1, 1)': (
        lambda x: F.expand_dims(x, (-1, 1)),
        lambda a: np.expand_dims(a, (-1, 1)),
        (2, 3),
    ),
    'squeeze': (F.squeeze, np.squeeze, (1, 3, 1)),
    'squeeze axis': (lambda x: F.squeeze(x, 2), lambda a: a.squeeze(2), (1, 3, 1)),
    'flatten': (F.flatten, lambda a: a.reshape(2, 12), (2, 3, 4)),
    'flatten 1-d': (F.flatten, lambda a: a.reshape(3, 1), (3,)),
    'reshape int array': (
        lambda x: F.reshape(x, np.array([3, 2])),
        lambda a: a.reshape(3, 2),
        (2, 3),
    ),
    'reshape method int array': (
        lambda x: x.reshape(np.array([3, -1])),
        lambda a: a.reshape(3, 2),
        (2, 3),
    ),
    'transpose int array': (
        lambda x: F.transpose(x, np.array([2, 0, 1])),
        lambda a: a.transpose(2, 0, 1),
        (2, 3, 4),
    ),
    'transpose method int array': (
        lambda x: x.transpose(np.array([1, 0])),
        lambda a: a.transpose(1, 0),
        (2, 3),
    ),
    'broadcast_to': (
        lambda x: F.broadcast_to(x, (2, 3, 4)),
        lambda a: np.broadcast_to(a, (2, 3, 4)),
        (3, 1),
    ),
    'broadcast_to from scalar': (
        lambda x: F.broadcast_to(x, (2, 3)),
        lambda a: np.broadcast_to(a, (2, 3)),
        (),
    ),
    'sum_to': (lambda x: F.sum_to(x, (3, 1)), lambda a: a.sum(axis=(0, 2))[:, None], (2, 3, 4)),
    'sum_to trailing': (lambda x: F.sum_to(x, (4,)), lambda a: a.sum(axis=(0, 1)), (2, 3, 4)),
    'broadcast_to int': (lambda x: F.broadcast_to(x, 3), lambda a: np.broadcast_to(a, 3), (1,)),
    'sum_to scalar': (lambda x: F.sum_to(x, ()), np.sum, (2, 3)),
    'sum_to int': (lambda x: F.sum_to(x, 3), lambda a: a.sum(axis=0), (2, 3)),
}


@pytest.mark.parametrize('name', UNARY)
def test_forward_matches_numpy(name, sample):
    f, ref, shape = UNARY[name]
    x = sample(shape)
    y = f(Variable(x))
    assert isinstance(y, Variable)
    expected = ref(x)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)


@pytest.mark.parametrize('name', UNARY)
def test_gradients_first_and_second_order(name, sample, check_grads):
    f, _, shape = UNARY[name]
    check_grads(f, sample(shape))


@pytest.mark.parametrize('name', UNARY)
def test_float32_is_kept(name, sample, assert_keeps_float32):
    f, _, shape = UNARY[name]
    assert_keeps_float32(f, sample(shape))


@pytest.mark.parametrize(
    'index, weights, expected',
    [
        ([0, 0, 1], [1.0, 2.0, 3.0], [3.0, 3.0, 0.0]),  # repeats accumulate
        ([2, 2, 2], [1.0, 1.0, 1.0], [0.0, 0.0, 3.0]),
        ([True, False, True], [5.0, 7.0], [5.0, 0.0, 7.0]),  # boolean mask
        (slice(None, None, -1), [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]),
        (1, 4.0, [0.0, 4.0, 0.0]),
        (np.int64(-1), 4.0, [0.0, 0.0, 4.0]),
        ((Ellipsis, slice(1, None)), [2.0, 5.0], [0.0, 2.0, 5.0]),
        ((None, slice(0, 2)), [[2.0, 5.0]], [2.0, 5.0, 0.0]),
    ],
)
def test_get_item_scatters_gradient(index, weights, expected):
    x = Variable(np.array([1.0, 2.0, 3.0]))
    (x[index] * np.array(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, expected)


def test_mixed_basic_and_repeated_fancy_index_accumulates():
    x = Variable(np.arange(6.0).reshape(2, 3))
    (x[[1, 1, 0], 1:] * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 2.0, 2.0], [0.0, 4.0, 4.0]])


def test_repeated_fancy_index_second_order():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = (x[[0, 0, 1]] ** 3).sum()  # 2 x0**3 + x1**3
    y.backward(create_graph=True)
    gx = x.grad
    np.testing.assert_array_equal(gx.data, [6.0, 12.0, 0.0])
    x.cleargrad()
    gx.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [12.0, 12.0, 0.0])


@pytest.mark.parametrize(
    'make_index, change',
    [
        (lambda: np.array([0, 0]), lambda i: i.__setitem__(slice(None), [1, 2])),
        (lambda: np.array([True, False, False, False]), lambda i: i.fill(True)),
        (lambda: (np.array([0, 0]),), lambda i: i[0].__setitem__(slice(None), [1, 2])),
        (lambda: ([0, 0], Ellipsis), lambda i: i[0].__setitem__(slice(None), [1, 2])),
        (lambda: Variable(np.array([0, 0])), lambda i: i.data.__setitem__(slice(None), [1, 2])),
    ],
    ids=['int array', 'mask', 'array in a tuple', 'list in a tuple', 'Variable'],
)
def test_an_index_changed_after_indexing_does_not_change_the_gradient(make_index, change):
    x = Variable(np.arange(4.0))
    index = make_index()
    y = x[index]
    expected = np.zeros(4)
    np.add.at(expected, index.data if isinstance(index, Variable) else index, 1.0)
    change(index)
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, expected)


def test_an_index_variable_gets_no_gradient():
    x, index = Variable(np.arange(4.0)), Variable(np.array([0, 0, 3]))
    F.sum(x[index]).backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 0.0, 1.0])
    assert index.grad is None


def test_an_empty_list_index_selects_nothing():
    x = Variable(np.arange(6.0).reshape(2, 3))
    for y, shape in [(x[[]], (0, 3)), (x[[], 1], (0,)), (x[:, []], (2, 0))]:
        assert y.shape == shape
        y.backward()
        np.testing.assert_array_equal(x.grad.data, np.zeros((2, 3)))
        x.cleargrad()


def test_flatten_of_an_empty_batch():
    x = Variable(np.ones((0, 3, 2)))
    y = F.flatten(x)
    assert y.shape == (0, 6)
    assert F.flatten(np.ones((0, 3))).shape == (0, 3)
    F.sum(y).backward()
    assert x.grad.shape == (0, 3, 2)


def test_flatten_of_a_two_dimensional_x_is_a_new_variable_as_in_the_book():
    # the book's flatten reshapes to (N, -1), which records a Reshape for any x
    x = Variable(np.array([[1.0], [2.0]]), name='x')
    h = F.flatten(x)
    assert h is not x and h.creator is not None
    h.name = 'h'
    assert x.name == 'x'
    a = F.flatten(x)
    c = F.exp(a)
    d = c - a
    c.unchain_backward()  # cuts the graph behind c, a's creator included
    F.sum(d).backward()
    assert x.grad is None


# (function, NumPy reference, input shapes, axis)
JOINS = [
    (F.concat, np.concatenate, [(2, 3), (1, 3), (4, 3)], 0),
    (F.concat, np.concatenate, [(2, 3), (2, 1)], 1),
    (F.concat, np.concatenate, [(2, 1, 2), (2, 3, 2)], -2),
    (F.concat, np.concatenate, [(3,)], 0),
    (F.stack, np.stack, [(2, 3)] * 3, 0),
    (F.stack, np.stack, [(2, 3)] * 2, 1),
    (F.stack, np.stack, [(2, 3)] * 2, -1),
    (F.stack, np.stack, [()] * 3, 0),
]


@pytest.mark.parametrize('f, ref, shapes, axis', JOINS)
def test_join_forward_and_gradients(f, ref, shapes, axis, sample, check_grads):
    xs = [sample(shape) for shape in shapes]
    y = f([Variable(x) for x in xs], axis=axis)
    expected = ref(xs, axis=axis)
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.data, expected)
    check_grads(lambda *vs: f(vs, axis=axis), *xs)


@pytest.mark.parametrize('f', [F.concat, F.stack])
def test_join_mixes_arrays_and_variables(f, assert_keeps_float32):
    v = Variable(np.array([1.0, 2.0]))
    y = f([np.array([3.0, 4.0]), v])
    (y * np.arange(4.0).reshape(y.shape)).sum().backward()
    np.testing.assert_array_equal(v.grad.data, [2.0, 3.0])
    assert_keeps_float32(lambda a, b: f([a, b], axis=0), np.ones(2), np.zeros(2))


@pytest.mark.parametrize(
    'f, error, match',
    [
        (lambda x: F.reshape(x, (4, 2)), ValueError, r'Reshape.*\(2, 3\).*\(4, 2\)'),
        (lambda x: F.transpose(x, (0, 0)), ValueError, r'transpose: axes \(0, 0\).*\(2, 3\)'),
        (lambda x: x.transpose(0, 3), ValueError, r'transpose: axes \(0, 3\).*\(2, 3\)'),
        (lambda x: x.transpose(0, -3), ValueError, r'transpose: axes \(0, -3\).*\(2, 3\)'),
        (lambda x: x.transpose(2, 0), ValueError, r'transpose: axes \(2, 0\).*\(2, 3\)'),
        (lambda x: x.transpose(1, 0, 2), ValueError, r'transpose: axes \(1, 0, 2\).*\(2, 3\)'),
        (lambda x: x[5], IndexError, r'GetItem.*index 5.*\(2, 3\)'),
        (lambda x: x[[0, 3]], IndexError, r'GetItem.*index 3.*\(2, 3\)'),
        (lambda x: F.expand_dims(x, 4), ValueError, r'expand_dims.*axis 4.*\(2, 3\)'),
        (lambda x: F.expand_dims(x, (0, 4)), ValueError, r'expand_dims.*axis 4.*\(2, 3\)'),
        (lambda x: F.expand_dims(x, (1, -3)), ValueError, r'expand_dims: repeated axis'),
        (lambda x: F.expand_dims(x, 1.0), TypeError, r'expand_dims: axis must be .* 1\.0'),
        (lambda x: F.expand_dims(x, None), TypeError, r'expand_dims: axis must be .* None'),
        (lambda x: F.squeeze(x, 0), ValueError, r'squeeze.*axis 0.*\(2, 3\)'),
        (lambda x: F.squeeze(x, 5), ValueError, r'squeeze: axis 5 .*\(2, 3\)'),
        (lambda x: F.reshape(x, np.array([3.0, 2.0])), TypeError, r'reshape: shape .*3\., 2\.'),
        (lambda x: F.broadcast_to(x, 'a'), TypeError, r"broadcast_to: shape .*'a'"),
        (lambda x: F.flatten(x[0, 0]), ValueError, r'flatten: .*0-d.*\(\)'),
        (lambda x: F.broadcast_to(x, (3, 3)), ValueError, r'BroadcastTo.*\(2, 3\).*\(3, 3\)'),
        (lambda x: F.sum_to(x, (3, 2, 3)), ValueError, r'sum_to.*\(2, 3\).*\(3, 2, 3\)'),
        (lambda x: F.concat([x, np.ones((3, 2))]), ValueError, r'Concat.*\(2, 3\).*\(3, 2\)'),
        (lambda x: F.concat([x, x], axis=2), ValueError, r'Concat: axis 2 .* 2 dimensions'),
        (lambda x: F.concat([x, x], axis=-3), ValueError, r'Concat: axis -3 .* 2 dimensions'),
        (lambda x: F.concat([x, x], axis=None), TypeError, r'Concat: axis must be an int.*None'),
        (lambda x: F.concat([x[0, 0], x[0, 1]]), ValueError, r'Concat: 0-d inputs .*\(\)'),
        (lambda x: F.concat([x, np.ones(3)], axis=1), ValueError, r'Concat.*\(2, 3\).*\(3,\)'),
        (lambda x: F.stack([x, np.ones((3, 2))]), ValueError, r'stack.*\(2, 3\).*\(3, 2\)'),
        (lambda x: F.concat([]), ValueError, 'concat: expected at least one input'),
        (lambda x: F.stack([]), ValueError, 'stack: expected at least one input'),
    ],
)
def test_bad_input_errors_name_function_and_shapes(f, error, match):
    with pytest.raises(error, match=match):
        f(Variable(np.ones((2, 3))))


@pytest.mark.parametrize(
    'f, shown',
    [
        (lambda x: F.transpose(x, (0.5, 1)), r'\(0\.5, 1\)'),
        (lambda x: F.transpose(x, [1.0, 0.0]), r'\(1\.0, 0\.0\)'),
        (lambda x: F.transpose(x, np.array([1.0, 0.0])), r'\(1\.0, 0\.0\)'),
        (lambda x: F.transpose(x, (True, False)), r'\(True, False\)'),
        (lambda x: F.transpose(x, (np.True_, np.False_)), r'\(np\.True_, np\.False_\)'),
        (lambda x: F.transpose(x, '10'), r"\('10',\)"),
        (lambda x: x.transpose('1', '0'), r"\('1', '0'\)"),
        (lambda x: x.transpose(1.0, 0), r'\(1\.0, 0\)'),
    ],
)
def test_transpose_refuses_axes_that_are_not_ints(f, shown):
    # they were truncated by int(): (0.5, 1) gave shape (2, 3), ('1', '0') gave (3, 2)
    with pytest.raises(
        TypeError, match=rf'^transpose: axes must be None or a sequence of ints, .*got {shown}$'
    ):
        f(Variable(np.ones((2, 3))))


def test_transpose_names_itself_for_an_int_that_is_not_a_permutation():
    # NumPy takes one int as the axes of a 1-d array; for two axes it is too few
    with pytest.raises(
        ValueError,
        match=r'^transpose: axes \(1,\) are not a permutation of the 2 axes of an array of '
        r'shape \(2, 3\): expected each of 0\.\.1 \(or -2\.\.-1\) once$',
    ):
        F.transpose(Variable(np.ones((2, 3))), 1)
    with pytest.raises(ValueError, match=r'^transpose: .*\(2,\) .* shape \(\): expected no axes$'):
        F.transpose(np.float64(1.0), (2,))


def test_the_transpose_class_called_directly_names_itself():
    from dezero.functions.array import Transpose

    with pytest.raises(TypeError, match=r'^Transpose: axes must be .*got \(0\.5, 1\)'):
        Transpose((0.5, 1))(Variable(np.ones((2, 3))))


@pytest.mark.parametrize(
    'f',
    [
        lambda x: F.transpose(x, [2, 0, 1]),
        lambda x: F.transpose(x, (np.int64(2), np.int32(0), 1)),
        lambda x: F.transpose(x, np.array([2, 0, 1], np.int32)),
        lambda x: F.transpose(x, (-1, 0, -2)),
        lambda x: x.transpose(2, 0, 1),
        lambda x: x.transpose(np.int8(2), 0, 1),
        lambda x: x.transpose([2, 0, 1]),
        lambda x: x.transpose((2, 0, 1)),
    ],
)
def test_transpose_takes_the_axes_numpy_takes(f):
    x = Variable(np.arange(24.0).reshape(2, 3, 4))
    y = f(x)
    np.testing.assert_array_equal(y.data, x.data.transpose(2, 0, 1))
    (y * np.arange(24.0).reshape(4, 2, 3)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.arange(24.0).reshape(4, 2, 3).transpose(1, 2, 0))


def test_transpose_of_a_1d_array_takes_one_int_and_none_reverses():
    x = Variable(np.arange(3.0))
    np.testing.assert_array_equal(F.transpose(x, 0).data, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(x.transpose(0).data, [0.0, 1.0, 2.0])
    m = Variable(np.arange(6.0).reshape(2, 3))
    assert F.transpose(m, None).shape == m.transpose().shape == m.transpose(None).shape == (3, 2)


def test_sum_to_a_shape_that_does_not_broadcast_warns_and_sums_as_the_book():
    # The book's DeZero sums the leading axes away whatever the shape asked for, and
    # its own tests rely on it: the result is kept, and a warning names both shapes.
    x = Variable(np.arange(24.0).reshape(2, 3, 4))
    with pytest.warns(UserWarning, match=r'sum_to.*\(2, 3, 4\).*\(2,\).*\(4,\)'):
        y = F.sum_to(x, (2,))
    np.testing.assert_array_equal(y.data, x.data.sum(axis=(0, 1)))
    y.backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3, 4)))
    with pytest.warns(UserWarning, match=r'gives shape \(1, 4\)'):
        y = F.sum_to(x, (1, 2))
    np.testing.assert_array_equal(y.data, x.data.sum(axis=(0, 1))[None])


@pytest.mark.parametrize(
    'shape', [(), (4,), (1,), (3, 1), (3, 4), (1, 4), (1, 1, 1), (2, 1, 4), (2, 3, 4)], ids=str
)
def test_sum_to_every_shape_that_broadcasts_to_x(shape):
    a = np.arange(24.0).reshape(2, 3, 4)
    x = Variable(a)
    y = F.sum_to(x, shape)
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1)
    expected = a.sum(axis=axes, keepdims=True).reshape(shape)
    assert y.shape == shape
    np.testing.assert_array_equal(y.data, expected)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3, 4)))


def test_float16_sum_to_and_the_gradient_of_broadcasting_are_exact():
    # float16 sums added one at a time along an axis stop growing at 2048: a bias
    # broadcast over a batch of 10,000 gets the whole sum in float32, rounded once
    x = np.ones((10_000, 3), np.float16)
    y = F.sum_to(x, (1, 3))
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.data, [[10_000.0] * 3])
    b = Variable(np.zeros(3, np.float16))
    (Variable(x) + b).backward()
    assert b.grad.dtype == np.float16
    np.testing.assert_array_equal(b.grad.data, [10_000.0] * 3)


# ---- what backward keeps, and arrays in, Variables out -----------------------------------
@pytest.mark.parametrize('name', UNARY)
def test_gradients_of_an_intermediate_input(name, sample, check_grads):
    # None of these reads its input or output in backward: the graph holds neither
    f, _, shape = UNARY[name]
    check_grads(lambda x: f(x + 0.0) * 1.0, sample(shape))


@pytest.mark.parametrize('f, shapes', [(F.concat, [(2, 3), (1, 3)]), (F.stack, [(2,), (2,)])])
def test_join_gradients_of_intermediate_inputs(f, shapes, sample, check_grads):
    check_grads(lambda *xs: f([x + 0.0 for x in xs]) * 1.0, *(sample(s) for s in shapes))


@pytest.mark.parametrize(
    'f',
    [
        lambda x: F.reshape(x, (6,)),
        F.transpose,
        lambda x: x[1:],
        lambda x: F.sum_to(x, (3,)),
        lambda x: F.broadcast_to(x, (4, 2, 3)),
        lambda x: F.concat([x, x]),
    ],
)
def test_the_input_is_freed(f):
    x = Variable(np.ones((2, 3)))
    h = x * 1.0
    alive = weakref.ref(h)
    y = f(h)
    del h
    assert alive() is None
    y.backward()
    assert x.grad.shape == (2, 3)


@pytest.mark.parametrize(
    'f',
    [
        lambda a: F.reshape(a, a.shape),
        lambda a: F.broadcast_to(a, a.shape),
        lambda a: F.sum_to(a, a.shape),
    ],
    ids=['reshape', 'broadcast_to', 'sum_to'],
)
def test_an_array_left_unchanged_still_comes_back_as_a_variable(f):
    a = np.arange(6.0).reshape(2, 3)
    y = f(a)
    assert isinstance(y, Variable)
    np.testing.assert_array_equal(y.data, a)


@pytest.mark.parametrize(
    'f',
    [
        lambda v: F.reshape(v, (2,)),
        lambda v: F.sum_to(v, ()),
        lambda v: F.broadcast_to(v, (2, 2)),
        F.flatten,
        lambda v: F.stack([v, v]),
    ],
)
def test_a_list_is_refused_naming_its_type(f):
    with pytest.raises(TypeError, match='list'):
        f([1.0, 2.0])


def test_concat_computes_only_the_gradients_asked_for():
    f = Concat(0)
    a, b = Variable(np.ones((1, 2))), Variable(np.zeros((2, 2)))
    f(a, b)
    gy = Variable(np.arange(6.0).reshape(3, 2))
    ga, gb = f.backward(gy, needs_input_grad=(False, True))
    assert ga is None
    np.testing.assert_array_equal(gb.data, [[2.0, 3.0], [4.0, 5.0]])


# ---- astype --------------------------------------------------------------------------------
@pytest.mark.parametrize('dtype', [np.float32, np.float16, np.longdouble])
def test_astype_converts_and_gives_the_gradient_back_in_the_input_dtype(dtype):
    x = Variable(np.array([[0.1, -2.5, 3.0]]))
    y = F.astype(x, dtype)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.data, x.data.astype(dtype))
    (y * np.array([1.0, 2.0, 3.0], dtype)).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize('dtype', [np.int64, np.int8, np.uint16])
def test_astype_gives_integer_inputs_a_floating_gradient(dtype):
    x = Variable(np.array([1, 0, 1], dtype))
    y = F.astype(x, np.float32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 1.0])
    (y * np.array([2.0, 3.0, 4.0], np.float32)).sum().backward()
    assert x.grad.dtype == np.float64  # integer data gets float64 gradients
    np.testing.assert_array_equal(x.grad.data, [2.0, 3.0, 4.0])


def test_astype_of_bool_converts_but_gives_a_bool_variable_no_gradient():
    mask = np.array([True, False, True])
    y = F.astype(mask, np.float32)
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 1.0])
    x = Variable(mask)
    y = F.astype(x, np.float32)
    with pytest.raises(RuntimeError, match='does not require a gradient'):
        y.sum().backward()  # a bool Variable is a constant
    assert x.grad is None


def test_astype_to_the_same_dtype_returns_the_input_itself():
    v = Variable(np.ones(3, np.float32))
    assert F.astype(v, np.float32) is v
    assert F.astype(v, 'float32') is v
    a = np.ones(3)
    y = F.astype(a, np.float64)  # an array: a constant of its own, which needs no gradient
    assert isinstance(y, Variable) and y.data is not a and not y.requires_grad
    np.testing.assert_array_equal(y.data, a)


def test_astype_gradients_first_and_second_order(sample, check_grads):
    # longdouble is at least as precise as float64: the round trip loses nothing
    check_grads(lambda x: F.astype(x, np.longdouble), sample((2, 3)))
    check_grads(
        lambda x: F.astype(F.astype(x, np.float32), np.float64),
        sample((2, 3)) / 8,
        rtol=1e-2,
        atol=1e-3,
    )


def test_astype_second_order_casts_back_and_forth():
    x = Variable(np.array([1.5, -2.0]))
    y = F.astype(x, np.float32)
    (y**3).sum().backward(create_graph=True)
    gx = x.grad
    assert gx.dtype == np.float64
    np.testing.assert_allclose(gx.data, 3 * x.data**2)
    x.cleargrad()
    gx.sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, 6 * x.data)


@pytest.mark.parametrize('dtype', [np.int32, np.bool_, np.complex128, object])
def test_astype_refuses_a_dtype_that_is_not_floating(dtype):
    with pytest.raises(
        TypeError, match=rf'astype: dtype must be a floating-point type, got {np.dtype(dtype)} '
    ):
        F.astype(Variable(np.ones(2)), dtype)


def test_astype_refuses_an_input_that_is_not_real():
    with pytest.raises(TypeError, match='astype: .*complex128'):
        F.astype(Variable(np.ones(2, np.complex128)), np.float32)


# ---- inputs holding no data -----------------------------------------------------------------
def test_a_lazy_layers_parameter_is_refused_as_the_engine_refuses_it():
    W = L.Linear(3).W  # no data before the layer's first call
    message = "input 0 is None, or a Variable holding no data; give it data first (a layer's"
    for call, name in [
        (lambda: F.reshape(W, (3,)), 'reshape'),
        (lambda: F.transpose(W, (1, 0)), 'transpose'),
        (lambda: F.flatten(W), 'flatten'),
        (lambda: F.sum_to(W, (1,)), 'sum_to'),
        (lambda: F.astype(W, np.float64), 'astype'),
        (lambda: F.exp(W), 'Exp'),
    ]:
        with pytest.raises(ValueError, match=re.escape(f'{name}: {message}')):
            call()


def test_an_index_variable_holding_no_data_is_refused_rather_than_read_as_a_new_axis():
    x = Variable(np.ones((2, 3)))
    for index in (Variable(None), (0, Variable(None))):
        with pytest.raises(ValueError, match='GetItem: the index is a Variable holding no data'):
            x[index]


@pytest.mark.parametrize(
    'call, name',
    [
        (lambda: F.sum([1.0]), r'sum \(input 0\)'),
        (lambda: F.softmax([[1.0]]), r'softmax \(input 0\)'),
        (lambda: Variable(np.ones((1, 1))) @ [[1.0]], r'matmul \(input 1\)'),
    ],
)
def test_a_list_given_to_a_function_is_refused_naming_the_function(call, name):
    with pytest.raises(TypeError, match=rf'^{name}: cannot use an object of type list'):
        call()


# ---- transpose by a 0-d array ------------------------------------------------------------------
def test_transpose_takes_a_0d_integer_array_as_one_axis():
    # as an int, and as np.transpose(np.arange(3), np.array(0)) does
    x = Variable(np.arange(3.0))
    for y in (F.transpose(x, np.array(0)), x.transpose(np.array(0)), F.Transpose(np.array(-1))(x)):
        np.testing.assert_array_equal(y.data, [0.0, 1.0, 2.0])
    x = Variable(np.ones((2, 3)))
    for call in (
        lambda: F.transpose(x, np.array(1)),
        lambda: x.transpose(np.array(1)),
        lambda: F.transpose(x, 1),
    ):
        with pytest.raises(ValueError, match=r'transpose: axes \(1,\) are not a permutation'):
            call()
    with pytest.raises(ValueError, match=r'Transpose: axes \(1,\) are not a permutation'):
        F.Transpose(np.array(1))(x)
    with pytest.raises(TypeError, match=r'transpose: axes must be .* got \(1\.0,\)'):
        F.transpose(x, np.array(1.0))


# ---- long gradients and float16 ------------------------------------------------------------------
def test_broadcast_to_gradient_over_a_million_rows_is_accurate():
    # the gradient of the mean, a broadcast array of equal values, was summed row after
    # row: 1% off
    b = Variable(np.zeros(2, np.float32))
    F.mean(F.broadcast_to(b, (10**6, 2))).backward()
    assert b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.data, [0.5, 0.5], rtol=1e-6)


@pytest.mark.parametrize('dtype', ['<f2', '>f2'])
def test_float16_gradient_of_repeated_indices_accumulates_in_float32(dtype):
    # 50,000 gradients of 0.1 into one element: in float16 they stopped growing at 256
    x = Variable(np.zeros(2, dtype))
    F.sum(x[np.zeros(50_000, np.int64)] * np.float16(0.1)).backward()
    assert x.grad.dtype == np.dtype(dtype)
    assert abs(float(x.grad.data[0]) - 50_000 * float(np.float16(0.1))) <= 8
    assert x.grad.data[1] == 0


# ---- arguments of the wrong kind are refused by name ---------------------------------------
@pytest.mark.parametrize(
    'call, name, got',
    [
        (lambda x: F.reshape(x, (True, 24)), 'reshape', '(True, 24)'),
        (lambda x: F.reshape(x, True), 'reshape', 'True'),
        (lambda x: F.reshape(x, (np.bool_(True), 24)), 'reshape', '(np.True_, 24)'),
        (lambda x: x.reshape(True, 24), 'reshape', '(True, 24)'),
        (lambda x: F.broadcast_to(x, (True, 2, 3, 4)), 'broadcast_to', '(True, 2, 3, 4)'),
        (lambda x: F.sum_to(x, (True, 4)), 'sum_to', '(True, 4)'),
        (lambda x: F.Reshape((False, 24)), 'Reshape', '(False, 24)'),
    ],
)
def test_a_bool_is_no_size_in_a_shape(call, name, got):
    with pytest.raises(TypeError) as info:
        call(Variable(np.ones((2, 3, 4))))
    assert str(info.value) == (
        f'{name}: shape must be an int, a sequence of ints or an integer array (bools are '
        f'not sizes), got {got}'
    )


def test_squeeze_takes_axes_as_the_reductions_do():
    x = Variable(np.ones((1, 1, 3)))
    assert F.squeeze(x, (0, 1)).shape == (3,)
    assert F.squeeze(x, np.int64(0)).shape == (1, 3)
    for axis in ([0, 1], 1.0, True, (0, 1.5)):
        with pytest.raises(
            TypeError, match=r'squeeze: axis must be None, an int or a tuple of ints, got'
        ):
            F.squeeze(x, axis)
        with pytest.raises(TypeError, match=r'sum: axis must be None, an int or a tuple of ints'):
            F.sum(x, axis)


@pytest.mark.parametrize('axis', [2.0, None, 'a', (0, 1.0), True])
def test_expand_dims_says_which_axes_it_takes(axis):
    with pytest.raises(TypeError) as info:
        F.expand_dims(Variable(np.ones((2, 3))), axis)
    assert str(info.value) == (
        f'expand_dims: axis must be an int or a tuple (or list) of ints, got '
        f'{type(axis).__name__} {axis!r}'
    )


def test_expand_dims_takes_a_list_of_axes_as_numpy_does():
    assert (
        F.expand_dims(Variable(np.ones((2, 3))), [0, 3]).shape
        == np.expand_dims(np.ones((2, 3)), [0, 3]).shape
    )


@pytest.mark.parametrize(
    'axis, error, message',
    [
        ((0, 0), TypeError, 'stack: axis must be an int, got tuple (0, 0)'),
        ([0, 1], TypeError, 'stack: axis must be an int, got list [0, 1]'),
        (2.0, TypeError, 'stack: axis must be an int, got float 2.0'),
        (None, TypeError, 'stack: axis must be an int, got NoneType None'),
        (True, TypeError, 'stack: axis must be an int, got bool True'),
        (
            4,
            ValueError,
            'stack: axis 4 is out of range for stacking inputs of shape (2, 3): '
            'expected an int from -3 to 2',
        ),
        (
            -4,
            ValueError,
            'stack: axis -4 is out of range for stacking inputs of shape (2, 3): '
            'expected an int from -3 to 2',
        ),
    ],
)
def test_stack_names_itself_and_its_axis(axis, error, message):
    x = Variable(np.ones((2, 3)))
    with pytest.raises(error) as info:
        F.stack([x, x], axis=axis)
    assert str(info.value) == message


@pytest.mark.parametrize('axis', [2, -1, np.int64(-3)])
def test_stack_takes_every_axis_numpy_takes(axis):
    a, b = np.ones((2, 3)), np.zeros((2, 3))
    np.testing.assert_array_equal(F.stack([a, b], axis=axis).data, np.stack([a, b], axis=axis))


@pytest.mark.parametrize(
    'index, shape, message',
    [
        (np.array([1, 3]), (3,), 'index 3 is out of bounds for axis 0 with size 3'),
        (np.array([-4]), (3, 2), 'index -4 is out of bounds for axis 0 with size 3'),
        ((Ellipsis, np.array([2])), (4, 2), 'index 2 is out of bounds for axis 1 with size 2'),
        ((None, 0, np.array([5])), (3, 4), 'index 5 is out of bounds for axis 1 with size 4'),
        (
            (np.eye(2, 3, dtype=bool), np.array([0, 7])),
            (2, 3, 5),
            'index 7 is out of bounds for axis 2 with size 5',
        ),
        ((np.True_, np.array([-5])), (4, 5), 'index -5 is out of bounds for axis 0 with size 4'),
        (
            (np.array([], int), np.array(9)),
            (4, 5),
            'index 9 is out of bounds for axis 1 with size 5',
        ),
    ],
)
def test_integer_array_indexes_out_of_range_are_refused_before_cupy_wraps_them(
    index, shape, message
):
    # CuPy takes x[[1, 3]] of 3 elements as x[[1, 0]]: other values and gradients
    from dezero.functions.array import _check_array_indexes

    with pytest.raises(IndexError, match=rf'^GetItem: {message}$'):
        _check_array_indexes(index, shape)
    with pytest.raises(IndexError):
        np.zeros(shape)[index]  # as NumPy refuses it


def test_integer_array_indexes_within_range_pass_the_cupy_check():
    from dezero.functions.array import _check_array_indexes

    for index, shape in [
        (np.array([0, 2, -3]), (3,)),
        ((Ellipsis, np.array([1, -2])), (4, 2)),
        ((slice(None), None, np.array([3])), (2, 4)),
        (np.array([], int), (0,)),
        ((np.eye(2, 3, dtype=bool), np.array([0, 4])), (2, 3, 5)),
        ((True, np.array([4])), (5, 2)),  # a bool scalar takes no axis
        ((np.array([7]), np.array([], int)), (5, 2)),  # no positions: nothing checked
    ]:
        _check_array_indexes(index, shape)
        np.zeros(shape)[index]

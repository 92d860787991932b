"""Linear algebra: matmul (2-D, batched with broadcast batch axes, 1-D operands) / dot."""

import operator
import re
import weakref

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable

SHAPE_PAIRS = [
    ((2, 3), (3, 4)),
    ((1, 1), (1, 1)),
    ((5, 2, 3), (5, 3, 4)),  # batched
    ((5, 2, 3), (3, 4)),  # batch axes broadcast ...
    ((2, 3), (5, 3, 4)),
    ((4, 1, 2, 3), (5, 3, 2)),  # ... on both sides
    ((3,), (3, 4)),  # 1-D operands
    ((2, 3), (3,)),
    ((3,), (3,)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
]
MATMULS = [F.matmul, F.dot, operator.matmul, lambda a, b: a.matmul(b), lambda a, b: a.dot(b)]


@pytest.mark.parametrize('f', MATMULS, ids=['matmul', 'dot', '@', '.matmul', '.dot'])
@pytest.mark.parametrize('shapes', SHAPE_PAIRS, ids=str)
def test_forward_matches_numpy(shapes, f, sample):
    a, b = (sample(shape) for shape in shapes)
    y = f(Variable(a), Variable(b))
    expected = a @ b
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)


@pytest.mark.parametrize('shapes', SHAPE_PAIRS, ids=str)
def test_gradients_first_and_second_order(shapes, sample, check_grads):
    check_grads(F.matmul, *(sample(shape) for shape in shapes))


def test_exact_gradients_2d():
    a = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    b = Variable(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]]))
    y = F.matmul(a, b)
    y.backward()
    np.testing.assert_array_equal(y.data, [[1.0, 2.0, 4.0], [3.0, 4.0, 10.0]])
    np.testing.assert_array_equal(a.grad.data, [[3.0, 2.0], [3.0, 2.0]])  # ones @ b.T
    np.testing.assert_array_equal(b.grad.data, [[4.0] * 3, [6.0] * 3])  # a.T @ ones


def test_batch_broadcast_gradient_is_summed_over_the_batch():
    a = Variable(np.ones((5, 2, 3)))
    b = Variable(np.ones((3, 4)))
    F.matmul(a, b).backward()
    np.testing.assert_array_equal(b.grad.data, np.full((3, 4), 10.0))  # 5 batches x 2 rows
    np.testing.assert_array_equal(a.grad.data, np.full((5, 2, 3), 4.0))


@pytest.mark.parametrize('shapes', [((2, 3), (3, 4)), ((5, 2, 3), (3,)), ((3,), (3,))], ids=str)
def test_float32_is_kept(shapes, sample, assert_keeps_float32):
    assert_keeps_float32(F.matmul, *(sample(shape) for shape in shapes))


@pytest.mark.parametrize(
    'shapes',
    [
        ((2, 3), (2, 3)),
        ((2, 3), (4,)),
        ((4,), (2, 3)),
        ((3,), (4,)),
        ((2, 2, 3), (3, 3, 4)),  # batch axes that do not broadcast
        ((), (2, 3)),
    ],
)
def test_mismatch_error_names_both_shapes(shapes):
    a, b = (Variable(np.ones(shape)) for shape in shapes)
    match = r'(?i)matmul.*' + '.*'.join(re.escape(str(shape)) for shape in shapes)
    with pytest.raises(ValueError, match=match):
        F.matmul(a, b)


@pytest.mark.parametrize('shapes', [((4,), (4, 2)), ((2, 4), (4,)), ((3,), (3,))], ids=str)
def test_the_class_refuses_1d_operands_saying_why(shapes):
    # F.MatMul takes inputs of two or more dimensions; F.matmul handles 1-D ones
    a, b = (Variable(np.ones(shape)) for shape in shapes)
    match = r'MatMul: expected inputs of two or more dimensions, got shapes ' + re.escape(
        f'{shapes[0]} and {shapes[1]}'
    )
    with pytest.raises(ValueError, match=match):
        F.MatMul()(a, b)


@pytest.mark.parametrize('shapes', [((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((3,), (3,))], ids=str)
def test_gradients_of_intermediate_inputs(shapes, sample, check_grads):
    # the inputs are made by a function and the output is used by one: the graph
    # holds the inputs, which backward reads, but not the output
    check_grads(lambda a, b: F.matmul(a + 0.0, b + 0.0) * 1.0, *(sample(shape) for shape in shapes))


def test_the_output_is_freed():
    a, b = Variable(np.ones((2, 3))), Variable(np.ones((3, 4)))
    y = F.matmul(a, b)
    alive = weakref.ref(y)
    z = y * 1.0
    del y
    assert alive() is None
    z.backward()
    np.testing.assert_array_equal(b.grad.data, np.full((3, 4), 2.0))


def test_a_constant_operand_gets_no_gradient_computed():
    f = F.MatMul()
    a, b = Variable(np.array([[1.0, 2.0]])), Variable(np.array([[3.0], [4.0]]))
    f(a, b)
    gy = Variable(np.array([[2.0]]))
    ga, gb = f.backward(gy, needs_input_grad=(False, True))
    assert ga is None
    np.testing.assert_array_equal(gb.data, [[2.0], [4.0]])
    ga, gb = f.backward(gy, needs_input_grad=(True, False))
    assert gb is None
    np.testing.assert_array_equal(ga.data, [[6.0, 8.0]])
    # through the engine: an array operand is a constant, and only W gets a gradient
    W = Variable(np.array([[3.0], [4.0]]))
    F.matmul(np.array([[1.0, 2.0]]), W).backward()
    np.testing.assert_array_equal(W.grad.data, [[1.0], [2.0]])


# ---- integer operands --------------------------------------------------------------
INTEGER_PRODUCTS = {
    'matmul': F.matmul,
    'dot': F.dot,
    '@': operator.matmul,
    'linear': F.linear,
    'linear_simple': F.linear_simple,
}


@pytest.mark.parametrize('f', INTEGER_PRODUCTS.values(), ids=INTEGER_PRODUCTS)
@pytest.mark.parametrize('dtype', [np.int8, np.uint8, np.int16, np.int64, np.bool_])
def test_integer_products_are_computed_in_float64(f, dtype):
    # int8: 100 * 100 * 3 = 30000 wrapped round to 48; bool: NumPy's logical product
    value = 1 if dtype is np.bool_ else 100
    a, b = np.full((2, 3), value, dtype), np.full((3, 2), value, dtype)
    expected = np.full((2, 2), 3.0 * value * value)
    pairs = [(Variable(a), b), (a, Variable(b))]
    if f is not operator.matmul:  # (a @ b of two arrays is NumPy's)
        pairs.append((a, b))
    for left, right in pairs:
        y = f(left, right)
        assert y.dtype == np.float64
        np.testing.assert_array_equal(y.data, expected)


@pytest.mark.parametrize('f', INTEGER_PRODUCTS.values(), ids=INTEGER_PRODUCTS)
def test_integer_products_have_float64_gradients(f):
    a = Variable(np.full((2, 3), 100, np.int8))
    b = Variable(np.full((3, 2), 100, np.int8))
    y = f(a, b)
    y.backward()
    assert a.grad.dtype == b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.data, np.full((2, 3), 200.0))  # ones @ bᵀ
    np.testing.assert_array_equal(b.grad.data, np.full((3, 2), 200.0))  # aᵀ @ ones


@pytest.mark.parametrize(
    'shapes', [((5, 2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,))], ids=str
)
def test_batched_and_1d_integer_products_are_computed_in_float64(shapes):
    a, b = (np.full(shape, 100, np.int8) for shape in shapes)
    y = F.matmul(a, b)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, a.astype(np.float64) @ b.astype(np.float64))


@pytest.mark.parametrize(
    'dtypes, expected',
    [
        ((np.int8, np.float32), np.float32),  # NumPy's promotion, kept
        ((np.float32, np.int64), np.float64),
        ((np.float32, np.float32), np.float32),
        ((np.float16, np.uint8), np.float16),
    ],
)
def test_integers_beside_floats_are_promoted_as_numpy_promotes_them(dtypes, expected):
    a, b = np.ones((2, 3), dtypes[0]), np.ones((3, 2), dtypes[1])
    assert F.matmul(a, Variable(b)).dtype == expected
    assert F.linear(Variable(a), b).dtype == expected


# ---- float16: multiplied in float32 -----------------------------------------------------------
def test_float16_products_are_float32_products_rounded_once():
    rng = np.random.default_rng(0)
    a = Variable(rng.standard_normal((2, 6, 5)).astype(np.float16))
    b = Variable(rng.standard_normal((5, 4)).astype(np.float16))
    y = F.matmul(a, b)
    gy = rng.standard_normal(y.shape).astype(np.float16)
    y.grad = Variable(gy)
    y.backward()
    a32, b32, g32 = (c.astype(np.float32) for c in (a.data, b.data, gy))
    assert y.dtype == a.grad.dtype == b.grad.dtype == np.float16
    np.testing.assert_array_equal(y.data, (a32 @ b32).astype(np.float16))
    np.testing.assert_array_equal(a.grad.data, (g32 @ b32.T).astype(np.float16))
    np.testing.assert_array_equal(
        b.grad.data, (a32.transpose(0, 2, 1) @ g32).sum(axis=0).astype(np.float16)
    )


def test_float16_second_order_products_stay_float16():
    a = Variable(np.array([[1.0, 2.0], [3.0, 4.0]], np.float16))
    b = Variable(np.array([[0.5, -1.0], [2.0, 0.25]], np.float16))
    F.sum(F.matmul(a, b) ** 2).backward(create_graph=True)
    ga = a.grad
    a.cleargrad(), b.cleargrad()
    F.sum(ga * ga).backward()
    assert ga.dtype == a.grad.dtype == b.grad.dtype == np.float16
    a64, b64 = a.data.astype(np.float64), b.data.astype(np.float64)
    np.testing.assert_allclose(ga.data, 2 * (a64 @ b64) @ b64.T, rtol=1e-3)

"""Arithmetic: add sub mul div neg pow, as functions and as the operators + - * / ** -."""

import operator

import numpy as np
import pytest

import dezero.functions as F
from dezero import Parameter, Variable
from dezero.functions import arithmetic
from dezero.layers import Layer

# name: (dezero function, operator, NumPy reference, domain of x0, domain of x1)
BINARY = {
    'add': (F.add, operator.add, np.add, 'real', 'real'),
    'sub': (F.sub, operator.sub, np.subtract, 'real', 'real'),
    'mul': (F.mul, operator.mul, np.multiply, 'real', 'real'),
    'div': (F.div, operator.truediv, np.divide, 'real', 'nonzero'),
    'pow': (F.pow, operator.pow, np.power, 'positive', 'real'),  # Variable exponent
}
SHAPE_PAIRS = [
    ((2, 3), (2, 3)),
    ((3, 1), (1, 4)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 3, 4), (4,)),
    ((4,), (2, 3, 4)),
    ((2, 1, 4), (3, 1)),
]


def _inputs(sample, name, shapes):
    domains = BINARY[name][3:]
    return [sample(shape, domain) for shape, domain in zip(shapes, domains)]


@pytest.mark.parametrize('shapes', SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize('name', BINARY)
def test_forward_matches_numpy_as_function_and_operator(name, shapes, sample):
    f, op, ref, _, _ = BINARY[name]
    a, b = _inputs(sample, name, shapes)
    expected = ref(a, b)
    for y in (f(Variable(a), Variable(b)), op(Variable(a), Variable(b))):
        assert isinstance(y, Variable) and y.shape == np.broadcast_shapes(*shapes)
        np.testing.assert_allclose(y.data, expected, rtol=1e-12)


@pytest.mark.parametrize('shapes', SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize('name', BINARY)
def test_gradients_of_broadcasting_pairs(name, shapes, sample, check_grads):
    check_grads(BINARY[name][1], *_inputs(sample, name, shapes))


@pytest.mark.parametrize(
    'op, g0, g1',
    [
        (operator.add, 1.0, 1.0),
        (operator.sub, 1.0, -1.0),
        (operator.mul, 3.0, 2.0),
        (operator.truediv, 1 / 3, -2 / 9),
        (operator.pow, 12.0, 8 * np.log(2.0)),
    ],
)
def test_exact_gradients_at_2_and_3(op, g0, g1):
    x0, x1 = Variable(np.array(2.0)), Variable(np.array(3.0))
    op(x0, x1).backward()
    assert (x0.grad.data, x1.grad.data) == pytest.approx((g0, g1))


def test_broadcast_gradients_are_summed_to_each_input_shape():
    a, b = Variable(np.ones((3, 1))), Variable(np.arange(4.0).reshape(1, 4))
    (a * b).backward()
    np.testing.assert_array_equal(a.grad.data, np.full((3, 1), 6.0))  # 0+1+2+3
    np.testing.assert_array_equal(b.grad.data, np.full((1, 4), 3.0))
    c, d = Variable(np.arange(24.0).reshape(2, 3, 4)), Variable(np.ones(4))
    (c + 2 * d).backward()
    np.testing.assert_array_equal(d.grad.data, np.full(4, 12.0))


def test_neg(sample, check_grads):
    x = sample((2, 3))
    for y in (-Variable(x), F.neg(Variable(x))):
        np.testing.assert_array_equal(y.data, -x)
    check_grads(F.neg, x)


# (exponent, domain): integer exponents work on negative bases too
CONSTANT_EXPONENTS = [
    (0, 'real'),
    (1, 'real'),
    (2, 'real'),
    (3, 'real'),
    (-1, 'nonzero'),
    (0.5, 'positive'),
    (2.5, 'positive'),
    (-1.5, 'positive'),
]


@pytest.mark.parametrize('c, domain', CONSTANT_EXPONENTS)
def test_pow_with_constant_exponent(c, domain, sample, check_grads):
    x = sample((2, 3), domain)
    for y in (Variable(x) ** c, F.pow(Variable(x), c)):
        np.testing.assert_allclose(y.data, x**c, rtol=1e-12)
    check_grads(lambda v: v**c, x)


def test_pow_derivatives_at_2():
    x = Variable(np.array(2.0))
    y = x**3
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert (y.data, gx.data, x.grad.data) == (8.0, 12.0, 12.0)


@pytest.mark.parametrize(
    'f',
    [
        lambda x: 2.0**x,  # rpow with a Python scalar
        lambda x: np.array([[2.0], [0.5]]) ** x,  # rpow with an array, broadcasting
        lambda x: x ** np.array([1.0, 2.0, 3.0]),  # an array of exponents
        lambda x: x ** Variable(np.array(1.5)),
        lambda x: x**x,
    ],
    ids=['2.0**x', 'array**x', 'x**array', 'x**Variable', 'x**x'],
)
def test_pow_with_array_or_variable_exponent(f, sample, check_grads):
    check_grads(f, sample((3,), 'positive'))


def test_rpow_exact():
    x = Variable(np.array(3.0))
    y = 2.0**x
    y.backward()
    assert (y.data, x.grad.data) == pytest.approx((8.0, 8.0 * np.log(2.0)))


# ---- dtypes and mixed operands ---------------------------------------------------------
SCALAR_EXPRESSIONS = {
    'x*2.0': lambda x: x * 2.0,
    '2.0*x': lambda x: 2.0 * x,
    'x+1': lambda x: x + 1,
    '1+x': lambda x: 1 + x,
    'x-0.5': lambda x: x - 0.5,
    '2.0-x': lambda x: 2.0 - x,
    'x/3.0': lambda x: x / 3.0,
    '3.0/x': lambda x: 3.0 / x,
    'x**2': lambda x: x**2,
    'x**0.5': lambda x: x**0.5,
    '2.0**x': lambda x: 2.0**x,
    '-x': lambda x: -x,
    'x*f64': lambda x: x * np.float64(2),
    'f64*x': lambda x: np.float64(2) * x,
    'x+i64': lambda x: x + np.int64(1),
    'f64-x': lambda x: np.float64(1) - x,
    'x/f64': lambda x: x / np.float64(4),
    'f64/x': lambda x: np.float64(4) / x,
    'x**f64': lambda x: x ** np.float64(2),
    'x**i64': lambda x: x ** np.int64(3),
    'f64**x': lambda x: np.float64(2) ** x,
    'F.pow(x,f64)': lambda x: F.pow(x, np.float64(2)),
    'F.add(x,2.5)': lambda x: F.add(x, 2.5),
    'F.add(2.5,x)': lambda x: F.add(2.5, x),
    'F.sub(x,2.5)': lambda x: F.sub(x, 2.5),
    'F.mul(x,2.5)': lambda x: F.mul(x, 2.5),
    'F.div(x,2.5)': lambda x: F.div(x, 2.5),
    'F.div(2.5,x)': lambda x: F.div(2.5, x),
}


@pytest.mark.parametrize('expr', SCALAR_EXPRESSIONS.values(), ids=SCALAR_EXPRESSIONS)
def test_scalars_keep_float32(expr, assert_keeps_float32):
    x = np.array([0.5, 1.0, 2.0])
    assert_keeps_float32(expr, x)
    np.testing.assert_allclose(
        expr(Variable(x.astype(np.float32))).data, expr(Variable(x)).data, rtol=1e-6
    )


@pytest.mark.parametrize('name', BINARY)
def test_float32_pairs_stay_float32(name, sample, assert_keeps_float32):
    assert_keeps_float32(BINARY[name][1], *_inputs(sample, name, ((3, 1), (4,))))


@pytest.mark.parametrize(
    'op',
    [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, operator.matmul],
)
def test_ndarray_on_either_side_gives_a_variable(op):
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[0.5, 1.5], [2.0, 1.0]])
    for left, right in ((a, Variable(b)), (Variable(a), b)):
        y = op(left, right)
        assert isinstance(y, Variable)
        np.testing.assert_allclose(y.data, op(a, b))
        y.backward()
        v = left if isinstance(left, Variable) else right
        assert v.grad.shape == (2, 2)


@pytest.mark.parametrize(
    'op, name',
    [
        (operator.add, 'Add'),
        (operator.sub, 'Sub'),
        (operator.mul, 'Mul'),
        (operator.truediv, 'Div'),
        (operator.pow, 'PowVariable'),
    ],
)
def test_shape_mismatch_names_function_and_shapes(op, name):
    with pytest.raises(ValueError, match=rf'{name}.*\(2, 3\).*\(4,\)'):
        op(Variable(np.ones((2, 3))), Variable(np.ones(4)))


@pytest.mark.parametrize(
    'f, match',
    [
        (lambda x: x + [1.0, 2.0], 'list'),
        (lambda x: [1.0, 2.0] * x, 'list'),
        (lambda x: x ** 'a', 'str'),
        (lambda x: F.add(x, [1.0, 2.0]), 'list'),
        (lambda x: x ** [1.0, 2.0], 'list'),
        (lambda x: F.pow(x, [1.0, 2.0]), 'pow: .*list'),  # up front, as ** refuses it
        (lambda x: F.pow(x, (1.0, 2.0)), 'pow: .*tuple'),
    ],
)
def test_bad_operand_types_are_refused(f, match):
    with pytest.raises(TypeError, match=match):
        f(Variable(np.ones(2)))


@pytest.mark.parametrize(
    'c', [np.array([3, 4], np.uint8), np.array([True, False]), np.array([-128, 1], np.int8)]
)
def test_subtracting_an_unsigned_bool_or_int8_constant_is_exact(c):
    # x - c was x + (-c): -3 wraps to 253 in uint8, -(-128) to -128 in int8, and NumPy
    # refuses to negate bools
    x = Variable(np.array([10.0, 20.0]))
    y = x - c
    np.testing.assert_array_equal(y.data, x.data - c)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(F.sub(x, c).data, x.data - c)


# ---- a Variable and a constant (scalar or array) ----------------------------------------
CONSTANT_OPS = {
    'x + c': (lambda x, c: x + c, arithmetic.AddConstant),
    'c + x': (lambda x, c: c + x, arithmetic.AddConstant),
    'x - c': (lambda x, c: x - c, arithmetic.SubConstant),
    'c - x': (lambda x, c: c - x, arithmetic.SubFromConstant),
    'x * c': (lambda x, c: x * c, arithmetic.MulConstant),
    'c * x': (lambda x, c: c * x, arithmetic.MulConstant),
    'x / c': (lambda x, c: x / c, arithmetic.DivConstant),
    'c / x': (lambda x, c: c / x, arithmetic.DivFromConstant),
    'c ** x': (lambda x, c: c**x, arithmetic.PowFromConstant),
}


@pytest.mark.parametrize('name', CONSTANT_OPS)
@pytest.mark.parametrize(
    'x_shape, c',
    [
        ((3, 4), 1.7),
        ((3, 4), np.float64(0.6)),
        ((3, 1), np.linspace(0.5, 2.0, 4)),  # the constant widens the result
        ((2, 3, 4), np.full((1, 4), 1.3)),
    ],
)
def test_constant_operand_is_recorded_inside_the_function(name, x_shape, c, sample, check_grads):
    op, cls = CONSTANT_OPS[name]
    x_data = sample(x_shape, 'positive')
    y = op(Variable(x_data), c)
    assert type(y.creator) is cls and len(y.creator.inputs) == 1
    np.testing.assert_allclose(y.data, op(x_data, c), rtol=1e-12)
    check_grads(lambda x: op(x, c), x_data)


# ---- the book's reflected functions rsub and rdiv ----------------------------------------
def test_rsub_and_rdiv_swap_the_operands():
    x = Variable(np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(F.rsub(x, 10.0).data, [9.0, 8.0, 6.0])
    np.testing.assert_array_equal(F.rdiv(x, 8.0).data, [8.0, 4.0, 2.0])
    np.testing.assert_array_equal(F.rsub(x, np.array([1.0, 1.0, 1.0])).data, [0, -1, -3])
    other = Variable(np.array([2.0, 2.0, 2.0]))
    np.testing.assert_array_equal(F.rdiv(x, other).data, [2.0, 1.0, 0.5])
    y = F.rsub(x, other)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [-1, -1, -1])
    np.testing.assert_array_equal(other.grad.data, [1, 1, 1])


def test_rdiv_gradient_by_hand():
    x = Variable(np.array([1.0, 2.0, 4.0]))
    F.sum(F.rdiv(x, 8.0)).backward()
    np.testing.assert_array_equal(x.grad.data, [-8.0, -2.0, -0.5])  # -8 / x**2


def test_rsub_and_rdiv_keep_float32_with_a_python_scalar():
    x = Variable(np.array([1.0, 2.0], dtype=np.float32))
    assert F.rsub(x, 3.0).dtype == np.float32
    assert F.rdiv(x, 3.0).dtype == np.float32


@pytest.mark.filterwarnings('error')  # x * x would overflow, with a warning
def test_reciprocal_gradient_is_finite_where_x_squared_overflows():
    x = Variable(np.array([1e200, -1e200, 2.0]))
    F.sum(1.0 / x).backward()
    np.testing.assert_array_equal(x.grad.data, [-0.0, -0.0, -0.25])


@pytest.mark.filterwarnings('error')  # gy / x / x would overflow, with a warning
@pytest.mark.parametrize('dtype, tiny', [(np.float32, 1e-30), (np.float64, 1e-200)])
def test_gradient_of_a_tiny_constant_over_a_tiny_variable_is_finite(dtype, tiny):
    # -c / x**2 with c and x both tiny is about -1 / tiny, far inside the range
    c = dtype(tiny)
    x = Variable(np.array([tiny, 2 * tiny, -4 * tiny], dtype))
    F.sum(c / x).backward()
    assert x.grad.dtype == dtype
    x64, c64 = x.data.astype(np.float64), float(c)
    np.testing.assert_allclose(x.grad.data, -(c64 / x64) / x64, rtol=1e-6)


def test_constant_over_variable_second_derivative_by_hand():
    # y = c / x: y' = -c / x**2, y'' = 2 c / x**3, also for an unsigned array c
    for c in (3.0, np.array([3, 3], np.uint8)):
        x = Variable(np.array([0.5, -2.0]))
        F.sum(c / x).backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        F.sum(gx).backward()
        np.testing.assert_array_equal(gx.data, [-12.0, -0.75])
        np.testing.assert_array_equal(x.grad.data, [48.0, -0.75])


def test_powers_of_zero_have_the_gradients_pytorch_gives():
    x = Variable(np.array([0.5, 1.0, 2.0]))
    F.sum(0.0**x).backward()  # 0 ** x is 0 for x > 0
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])
    a = Variable(np.zeros(3))
    b = Variable(np.array([0.0, 1.0, 2.0]))
    F.sum(a**b).backward()
    np.testing.assert_array_equal(a.grad.data, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0, 0.0])


def test_pow_variable_mixed_second_derivatives_agree_at_exponent_0():
    # both are x ** (c - 1) (1 + c log(x)), 1 / x at c = 0: the exponent of dy/dx must
    # not be nudged there (only at x = 0, where x ** (c - 1) would be 0 * inf)
    x, c = Variable(np.array([2.0, 0.5, 3.0])), Variable(np.array([0.0, 0.0, 1.5]))
    expected = x.data ** (c.data - 1) * (1 + c.data * np.log(x.data))
    (x**c).sum().backward(create_graph=True)
    gx, gc = x.grad, c.grad
    x.cleargrad()
    c.cleargrad()
    gx.sum().backward()
    np.testing.assert_allclose(c.grad.data, expected, rtol=1e-15)  # d/dc of dy/dx
    x.cleargrad()
    gc.sum().backward()
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-15)  # d/dx of dy/dc


# ---- integer data: float gradients, computed without wrapping around ---------------------
@pytest.mark.parametrize(
    'f',
    [
        lambda x: 2 / x,
        lambda x: F.rdiv(x, 2),
        lambda x: F.div(2, x),
        lambda x: np.uint8(2) / x,
        lambda x: np.array([2], np.uint8) / x,
    ],
    ids=['2/x', 'rdiv(x,2)', 'div(2,x)', 'uint8(2)/x', 'uint8 array/x'],
)
def test_reciprocal_of_unsigned_integers_has_negative_gradients(f):
    x = Variable(np.array([1, 2], np.uint8))
    F.sum(f(x)).backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [-2.0, -0.5])


@pytest.mark.parametrize('dtype', [np.uint8, np.int8, np.int16])
@pytest.mark.parametrize(
    'f',
    [
        lambda x, c: 3**x,
        lambda x, c: c.data**x,
        lambda x, c: x**c,
        lambda x, c: x**x,
    ],
    ids=['3**x', 'array**x', 'x**Variable', 'x**x'],
)
def test_powers_of_integers_have_float64_gradients(f, dtype):
    # the logarithms of integers taken in float64, not in NumPy's float16 (or float32)
    x, c = Variable(np.array([1, 2, 3], dtype)), Variable(np.array([2, 1, 3], dtype))
    exact_x, exact_c = Variable(np.array([1.0, 2.0, 3.0])), Variable(np.array([2.0, 1.0, 3.0]))
    F.sum(f(x, c)).backward()
    F.sum(f(exact_x, exact_c)).backward()
    for v, exact in ((x, exact_x), (c, exact_c)):
        if exact.grad is not None:
            assert v.grad.dtype == np.float64
            np.testing.assert_allclose(v.grad.data, exact.grad.data, rtol=1e-15)


def test_powers_of_a_float32_variable_keep_float32_with_an_integer_base():
    x = Variable(np.array([0.5, 2.0], np.float32))
    F.sum(np.array([3, 5], np.uint8) ** x).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, [3**0.5 * np.log(3), 25 * np.log(5)], rtol=1e-6)


@pytest.mark.parametrize(
    'power, expected', [(2, [4.0, 2.0, 0.0, 0.0]), (3, [12.0, 12.0, 6.0, 0.0, 0.0])]
)
def test_the_books_loop_of_higher_derivatives_of_a_power_goes_on_with_zeros(power, expected):
    # steps 33-35 of the book: differentiate x.grad again and again; the derivative of
    # a constant derivative is 0, still computed from x (as in the book and PyTorch)
    x = Variable(np.array(2.0))
    y = x**power
    y.backward(create_graph=True)
    found = [x.grad.data.item()]
    for _ in range(len(expected) - 1):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        found.append(x.grad.data.item())
    assert found == expected


# ---- 0-d arrays as operands ------------------------------------------------------------------
@pytest.mark.parametrize(
    'other', [np.array(2), np.array(2, np.uint8), np.array(True), np.array(2.0)], ids=str
)
def test_a_0d_integer_or_bool_array_beside_floats_counts_as_a_scalar(other):
    # as a 0-d tensor in PyTorch: float32 * np.array(2) was float64
    x = Variable(np.array([1.0, 3.0], np.float32))
    for y in (x * other, other * x, x + other, other - x, x / other, other / x, x**other):
        assert y.dtype == np.float32
    y = x * np.array(2)
    y.backward()
    np.testing.assert_array_equal(y.data, [2.0, 6.0])
    assert x.grad.dtype == np.float32


def test_a_0d_integer_array_beside_integers_is_promoted_as_numpy_promotes_it():
    y = Variable(np.array([1, 2], np.uint8)) * np.array(300)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.data, [300, 600])


# ---- a bias added to a long batch ----------------------------------------------------------------
def test_gradient_of_a_bias_added_to_a_million_rows_is_accurate():
    # b's gradient sums a broadcast array of a million equal values: it was 1% off
    b = Variable(np.zeros(2, np.float32))
    F.mean(Variable(np.zeros((10**6, 2), np.float32)) + b).backward()
    assert b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.data, [0.5, 0.5], rtol=1e-6)


# ---- pow of a number ---------------------------------------------------------------
@pytest.mark.parametrize(
    'x, c, expected, dtype',
    [
        (1.5, 2, 2.25, np.float64),
        (3, 2, 9, np.int64),
        (4, 0.5, 2.0, np.float64),
        (np.float32(1.5), 2, 2.25, np.float32),
        (np.float32(2.0), np.float64(0.5), np.sqrt(2.0), np.float32),
    ],
)
def test_pow_takes_a_number_as_the_other_functions_do(x, c, expected, dtype):
    # as F.exp(1.5), F.square(1.5) and F.mul(1.5, 2): a constant 0-d Variable, of the
    # dtype NumPy gives the number
    y = F.pow(x, c)
    assert y.dtype == dtype and y.shape == () and not y.requires_grad
    np.testing.assert_allclose(y.data, expected, rtol=1e-7)
    assert F.square(x).dtype == F.pow(x, 2).dtype


def test_pow_of_a_number_and_a_variable_exponent():
    c = Variable(np.array([1.0, 2.0]))
    y = F.pow(2.0, c)
    np.testing.assert_allclose(y.data, [2.0, 4.0])
    y.backward()
    np.testing.assert_allclose(c.grad.data, np.array([2.0, 4.0]) * np.log(2.0))


@pytest.mark.parametrize('f', [F.pow, lambda x, c: F.exp(x), lambda x, c: F.mul(x, c)])
def test_pow_refuses_a_list_as_the_other_functions_do(f):
    with pytest.raises(TypeError, match=r'(?i)(pow|exp|as_variable).*list.*np\.array'):
        f([1.0, 2.0], 2)


@pytest.mark.parametrize('c', [1j, 'a', None, [1.0]], ids=['complex', 'str', 'None', 'list'])
def test_pow_says_which_exponents_it_takes(c):
    with pytest.raises(
        TypeError,
        match=r'pow: unsupported exponent of type \w+; expected an int or a float, a NumPy '
        r'scalar or array, or a Variable',
    ):
        F.pow(Variable(np.ones(2)), c)


# ---- a 0-d Variable beside floating data with dimensions --------------------------
# (PyTorch's rule for a 0-d tensor: it leaves the dtype of a floating operand with
# dimensions alone when it holds floats, integers or bools)
ZERO_D_BINARY = {
    '+': lambda x, s: x + s,
    'r+': lambda x, s: s + x,
    '-': lambda x, s: x - s,
    'r-': lambda x, s: s - x,
    '*': lambda x, s: x * s,
    'r*': lambda x, s: s * x,
    '/': lambda x, s: x / s,
    'r/': lambda x, s: s / x,
    '**': lambda x, s: x**s,
    'r**': lambda x, s: s**x,
    'F.add': F.add,
    'F.sub': F.sub,
    'F.mul': F.mul,
    'F.div': F.div,
    'F.rsub': F.rsub,
    'F.rdiv': F.rdiv,
    'F.pow': F.pow,
    'F.pow(s,x)': lambda x, s: F.pow(s, x),
}


@pytest.mark.parametrize(
    'x_dtype, s_dtype',
    [
        (np.float32, np.float64),
        (np.float16, np.float32),
        (np.float32, np.int64),
        (np.float16, np.int64),
    ],
)
@pytest.mark.parametrize('op', ZERO_D_BINARY.values(), ids=ZERO_D_BINARY)
def test_a_0d_variable_keeps_the_dtype_of_floating_data(op, x_dtype, s_dtype):
    x64 = np.array([0.5, 1.25, 2.0])
    s64 = np.array(3.0 if s_dtype is np.float64 or s_dtype is np.float32 else 2.0)
    x, s = Variable(x64.astype(x_dtype)), Variable(s64.astype(s_dtype))
    y = op(x, s)
    assert y.dtype == x_dtype
    F.sum(y).backward()
    assert x.grad.dtype == x_dtype
    assert s.grad.dtype == (s_dtype if s_dtype is not np.int64 else np.float64)
    # against the float64 computation
    x_ref, s_ref = Variable(x64), Variable(s64)
    y_ref = op(x_ref, s_ref)
    F.sum(y_ref).backward()
    rtol = 2e-3 if x_dtype is np.float16 else 1e-6
    np.testing.assert_allclose(y.data, y_ref.data, rtol=rtol)
    np.testing.assert_allclose(x.grad.data, x_ref.grad.data, rtol=rtol)
    np.testing.assert_allclose(s.grad.data, s_ref.grad.data, rtol=rtol)


def test_a_float64_scalar_parameter_keeps_a_float32_step_float32_to_second_order():
    x64, s64 = np.array([0.5, 1.25, 2.0]), np.array(1.5)
    x, s = Variable(x64.astype(np.float32)), Variable(s64)
    x_ref, s_ref = Variable(x64), Variable(s64.copy())
    ys = []
    for xv, sv in ((x, s), (x_ref, s_ref)):
        y = F.sum((xv * sv) ** 3 / (sv + 1.0) - sv * F.sin(xv))
        y.backward(create_graph=True)
        gs = sv.grad
        sv.cleargrad()
        xv.cleargrad()
        gs.backward()
        ys.append((y, gs))
    assert ys[0][0].dtype == np.float32 and ys[0][1].dtype == np.float64
    assert x.grad.dtype == np.float32 and s.grad.dtype == np.float64
    np.testing.assert_allclose(ys[0][0].data, ys[1][0].data, rtol=1e-6)
    np.testing.assert_allclose(ys[0][1].data, ys[1][1].data, rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, x_ref.grad.data, rtol=1e-6)
    np.testing.assert_allclose(s.grad.data, s_ref.grad.data, rtol=1e-6)


@pytest.mark.parametrize('x_dtype, s_dtype', [(np.int32, np.float32), (np.int8, np.float32)])
def test_a_0d_float_variable_beside_integer_data_is_promoted_as_numpy_does(x_dtype, s_dtype):
    x, s = Variable(np.array([1, 2, 3], x_dtype)), Variable(np.array(2.0, s_dtype))
    for y in (x * s, s * x, x + s, x**s):
        assert y.dtype == np.result_type(x_dtype, s_dtype)


@pytest.mark.parametrize('op', ['+', '*', '**'])
def test_a_0d_variable_of_the_same_dtype_or_two_with_dimensions_are_left_alone(op):
    f = ZERO_D_BINARY[op]
    a32, b64 = np.ones(3, np.float32), np.full(3, 2.0)
    assert f(Variable(a32), Variable(b64)).dtype == np.float64  # NumPy's promotion
    assert f(Variable(np.array(1.0)), Variable(np.array(2.0, np.float32))).dtype == np.float64
    y = f(Variable(a32), Variable(np.array(2.0, np.float32)))
    assert y.dtype == np.float32 and y.creator.inputs[1].creator is None  # no cast added


# ---- pow with a 0-d array exponent -------------------------------------------------
@pytest.mark.parametrize('c', [np.array(2.0), np.array(2), np.array(2.0, np.float16)])
@pytest.mark.parametrize('dtype', [np.float32, np.float16])
def test_pow_takes_a_0d_array_exponent_as_the_other_functions_do(c, dtype):
    x64 = np.array([0.5, 1.25, 2.0])
    x = Variable(x64.astype(dtype))
    y = F.pow(x, c)
    assert y.dtype == dtype == (x**c).dtype == F.mul(x, c).dtype
    y.backward()
    assert x.grad.dtype == dtype
    rtol = 2e-3 if dtype is np.float16 else 1e-6
    np.testing.assert_allclose(y.data, x64**2, rtol=rtol)
    np.testing.assert_allclose(x.grad.data, 2 * x64, rtol=rtol)


def test_pow_refuses_a_0d_array_exponent_the_dtype_cannot_hold():
    x = Variable(np.ones(3, np.float16))
    with pytest.raises(
        OverflowError, match=r'^pow: the number 100000\.0 does not fit the dtype float16'
    ):
        F.pow(x, np.array(1e5))


def test_pow_of_a_number_or_0d_array_and_a_float32_exponent_is_float32_as_with_the_operator():
    c = Variable(np.array([1.0, 2.0], np.float32))
    for base in (2.0, np.array(2.0), np.float64(2.0)):
        y = F.pow(base, c)
        assert y.dtype == np.float32 == (base**c).dtype
        np.testing.assert_allclose(y.data, [2.0, 4.0])


# ---- a 0-d Variable beside a NumPy array with dimensions ---------------------------
@pytest.mark.parametrize('x_dtype, s_dtype', [(np.float32, np.float64), (np.float16, np.int64)])
@pytest.mark.parametrize('op', ZERO_D_BINARY.values(), ids=ZERO_D_BINARY)
def test_a_0d_variable_beside_an_array_keeps_the_arrays_dtype(op, x_dtype, s_dtype):
    x64, s64 = np.array([0.5, 1.25, 2.0]), np.array(2.0)
    s, s_ref = Variable(s64.astype(s_dtype)), Variable(s64)
    y, y_ref = op(x64.astype(x_dtype), s), op(x64, s_ref)
    assert y.dtype == x_dtype
    F.sum(y).backward()
    F.sum(y_ref).backward()
    assert s.grad.dtype == (s_dtype if s_dtype is not np.int64 else np.float64)
    rtol = 2e-3 if x_dtype is np.float16 else 1e-6
    np.testing.assert_allclose(y.data, y_ref.data, rtol=rtol)
    np.testing.assert_allclose(s.grad.data, s_ref.grad.data, rtol=rtol)


def test_a_scalar_parameter_of_a_layer_keeps_a_float32_batch_float32():
    class Scale(Layer):
        def __init__(self):
            super().__init__()
            self.s = Parameter(np.array(2.0))

        def forward(self, x):
            return self.s * x

    layer = Scale()
    y = layer(np.ones(3, np.float32))
    assert y.dtype == np.float32
    F.sum(y).backward()
    assert layer.s.grad.dtype == np.float64 and layer.s.grad.data == 3.0


def test_a_number_beside_an_array_in_pow_is_taken_as_in_mul():
    c = np.array([1.0, 2.0], np.float32)
    for x in (2.0, 2, np.array(2.0)):
        y = F.pow(x, c)
        assert y.dtype == np.float32 == F.mul(x, c).dtype and not y.requires_grad
        np.testing.assert_allclose(y.data, [2.0, 4.0])


# a value the data's dtype cannot hold (infinite, or 0 for a value other than 0):
# no cast, NumPy's promotion computes in the wider dtype, as before the cast existed
UNFIT_0D = [
    (np.float32, np.array(1e300)),
    (np.float32, np.array(1e-50)),
    (np.float16, np.array(1e-8)),
    (np.float16, np.array(100000)),
    (np.float16, np.array(1e5, np.float32)),
]


@pytest.mark.parametrize('as_variable', [True, False], ids=['Variable', 'array'])
@pytest.mark.parametrize('x_dtype, s_data', UNFIT_0D)
@pytest.mark.parametrize('op', ZERO_D_BINARY.values(), ids=ZERO_D_BINARY)
def test_a_0d_variable_the_other_dtype_cannot_hold_is_promoted_as_numpy_does(
    op, x_dtype, s_data, as_variable
):
    x_data = np.array([0.5, 1.0, 2.0], x_dtype)
    x = Variable(x_data) if as_variable else x_data
    s = Variable(s_data)
    with np.errstate(all='ignore'):  # 1e300 ** 2 and friends are inf, as in NumPy
        y = op(x, s)
        expected = op(Variable(x_data.astype(np.float64)), Variable(s_data.astype(np.float64)))
        F.sum(y).backward()
    assert y.dtype == np.result_type(x_dtype, s_data.dtype)
    np.testing.assert_allclose(y.data, expected.data, rtol=1e-6)
    assert s.grad.dtype == (s_data.dtype if s_data.dtype.kind == 'f' else np.float64)


def test_pow_names_itself_when_a_variable_exponent_refuses_the_base():
    c = Variable(np.array(2.0))
    with pytest.raises(TypeError, match=r'^pow: a Variable and an object of type list'):
        F.pow([1.0, 2.0], c)
    with pytest.raises(TypeError, match=r'^pow: a Variable and an array of dtype <U1'):
        F.pow(np.array(['a']), c)
    with pytest.raises(OverflowError, match=r'^pow: the number 100000\.0 does not fit'):
        F.pow(1e5, Variable(np.ones(2, np.float16)))
    with pytest.raises(TypeError, match=r'^pow: cannot use an object of type list'):
        F.pow([1.0, 2.0], np.ones(2))

"""The simple core: Variable, Function, Config and backward with array gradients."""

import ast
import operator
import pathlib
import re
import threading

import numpy as np
import pytest

import dezero
from dezero import core_simple
from dezero.core_simple import (
    Config,
    Function,
    Mul,
    Pow,
    Variable,
    add,
    as_array,
    as_variable,
    div,
    mul,
    neg,
    no_grad,
    pow,
    rdiv,
    rsub,
    setup_variable,
    sub,
    using_config,
)


def var(value, dtype=np.float64):
    return Variable(np.array(value, dtype=dtype))


def numerical_grad(f, x, eps=1e-6):
    """Central differences of the scalar sum of f(x) with respect to the array x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = np.sum(f(x))
        x[i] = old - eps
        minus = np.sum(f(x))
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def backprop_grads(f, *arrays):
    """The gradients of sum(f(*Variables)) with respect to each input, by backward."""
    xs = [Variable(a.copy()) for a in arrays]
    _sum_all(f(*xs)).backward()
    return [x.grad for x in xs]


def _sum_all(y):
    """The sum of y's elements as a Variable, by a chain of Adds of its items."""
    total = None
    for i in np.ndindex(y.shape):
        item = _Pick(i)(y)
        total = item if total is None else total + item
    return total


class _Pick(Function):
    """y = x[index]; the gradient goes back to that element (for the tests' sums)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        gx = np.zeros(self.inputs[0].shape, gy.dtype)  # (float even for integer data)
        gx[self.index] = gy
        return gx


# ---- the book's names and the switch its steps 28 and 29 test -------------------------
BOOK_NAMES = [
    'Config',
    'using_config',
    'no_grad',
    'Variable',
    'as_variable',
    'as_array',
    'Function',
    'Add',
    'add',
    'Mul',
    'mul',
    'Neg',
    'neg',
    'Sub',
    'sub',
    'rsub',
    'Div',
    'div',
    'rdiv',
    'Pow',
    'pow',
    'setup_variable',
]


def test_the_book_names_are_there_and_dezero_is_not_the_simple_core():
    missing = [name for name in BOOK_NAMES if not hasattr(core_simple, name)]
    assert missing == []
    assert dezero.is_simple_core is False
    assert dezero.Variable is not Variable


def test_the_module_imports_nothing_but_numpy_and_the_standard_library():
    tree = ast.parse(pathlib.Path(core_simple.__file__).read_text(encoding='utf-8'))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported == {'contextlib', 'copy', 'threading', 'weakref', 'numpy'}


def test_setup_variable_leaves_the_package_variable_alone():
    setup_variable()
    setup_variable()  # again, as the book's steps do: no change
    assert Variable.__add__ is add
    assert dezero.Variable.__add__ is not add
    y = dezero.Variable(np.array(2.0)) * 3.0 + 1.0
    assert isinstance(y, dezero.Variable) and float(y.data) == 7.0


# ---- Variable --------------------------------------------------------------------------
@pytest.mark.parametrize('bad', [1.0, 3, [1.0, 2.0], 'abc', np.float64(1.0)])
def test_variable_refuses_non_arrays_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__) as info:
        Variable(bad)
    assert 'np.array' in str(info.value)


def test_variable_properties_and_repr():
    v = Variable(np.zeros((2, 3), np.float32), name='w')
    assert (v.shape, v.ndim, v.size, v.dtype, len(v), v.name) == ((2, 3), 2, 6, np.float32, 2, 'w')
    assert v.grad is None and v.creator is None and v.generation == 0
    assert Variable(None).data is None
    assert repr(Variable(None)) == 'variable(None)'
    assert repr(Variable(np.array([[1, 2], [3, 4]]))) == 'variable([[1 2]\n          [3 4]])'


def test_as_array_and_as_variable():
    assert isinstance(as_array(2.0), np.ndarray) and as_array(2.0).shape == ()
    a = np.ones(3)
    assert as_array(a) is a
    v = Variable(a)
    assert as_variable(v) is v
    assert as_variable(a).data is a
    assert float(as_variable(2.5).data) == 2.5
    with pytest.raises(TypeError, match='list'):
        as_variable([1, 2])


def test_a_list_as_operand_is_refused_naming_the_operator():
    with pytest.raises(TypeError, match=r'unsupported operand for \+: .* type list.*np.array'):
        var(1.0) + [1.0, 2.0]


# ---- values of the tutorial's steps 24, 28 and 29 ----------------------------------------
def sphere(x, y):
    return x**2 + y**2


def matyas(x, y):
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def goldstein(x, y):
    return (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)) * (
        30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    )


@pytest.mark.parametrize(
    'f, value, grad',
    [
        (sphere, 2.0, (2.0, 2.0)),
        (matyas, 0.040000000000000036, (0.040000000000000036, 0.040000000000000036)),
        (goldstein, 1876.0, (-5376.0, 8064.0)),
    ],
)
def test_step24_functions_at_one_one(f, value, grad):
    x, y = var(1.0), var(1.0)
    z = f(x, y)
    z.backward()
    assert float(z.data) == value
    assert (float(x.grad), float(y.grad)) == grad
    assert isinstance(x.grad, np.ndarray)  # gradients are plain arrays here


def rosenbrock(x0, x1):
    return 100 * (x1 - x0**2) ** 2 + (x0 - 1) ** 2


def descend_rosenbrock(iters, lr=0.001):
    """Step 28: gradient descent from (0, 2), as the book writes it."""
    x0, x1 = var(0.0), var(2.0)
    for _ in range(iters):
        y = rosenbrock(x0, x1)
        x0.cleargrad()
        x1.cleargrad()
        y.backward()
        x0.data -= lr * x0.grad
        x1.data -= lr * x1.grad
    return float(x0.data), float(x1.data)


def test_step28_rosenbrock_gradient_and_first_thousand_steps():
    x0, x1 = var(0.0), var(2.0)
    rosenbrock(x0, x1).backward()
    assert (float(x0.grad), float(x1.grad)) == (-2.0, 400.0)
    assert descend_rosenbrock(1000) == pytest.approx(
        (0.6837118569138317, 0.4659526837427042), rel=1e-12
    )


@pytest.mark.slow
def test_step28_rosenbrock_descent_reaches_the_minimum():
    assert descend_rosenbrock(50000) == pytest.approx((1.0, 1.0), abs=1e-8)


def test_step29_newton_iterates():
    x = var(2.0)
    seen = []
    for _ in range(7):
        y = x**4 - 2 * x**2
        x.cleargrad()
        y.backward()
        x.data -= x.grad / (12 * x.data**2 - 4)
        seen.append(float(x.data))
    assert seen == [
        1.4545454545454546,
        1.1510467893775467,
        1.0253259289766978,
        1.0009084519430513,
        1.0000012353089454,
        1.000000000002289,
        1.0,
    ]


# ---- every operator against central differences ------------------------------------------
SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2)), ((3,), ())]


@pytest.mark.parametrize('op', [add, sub, mul, div, rsub, rdiv])
@pytest.mark.parametrize('shape0, shape1', SHAPES)
def test_binary_operator_gradients_match_central_differences(op, shape0, shape1):
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 1.5, shape0)
    b = rng.uniform(0.5, 1.5, shape1)
    ga, gb = backprop_grads(op, a, b)
    assert ga.shape == a.shape and gb.shape == b.shape

    def on_arrays(x0, x1):
        return op(Variable(x0), Variable(x1)).data

    assert np.allclose(ga, numerical_grad(lambda t: on_arrays(t, b), a.copy()), atol=1e-7)
    assert np.allclose(gb, numerical_grad(lambda t: on_arrays(a, t), b.copy()), atol=1e-7)


@pytest.mark.parametrize(
    'f',
    [
        neg,
        lambda x: pow(x, 3),
        lambda x: x**0.5,
        lambda x: x**-2,
        lambda x: 2.0 - x,
        lambda x: 3.0 / x,
    ],
)
def test_unary_gradients_match_central_differences(f):
    a = np.random.default_rng(1).uniform(0.5, 1.5, (2, 3))
    (g,) = backprop_grads(f, a)
    assert np.allclose(g, numerical_grad(lambda t: f(Variable(t)).data, a.copy()), atol=1e-7)


def test_operators_with_numbers_and_arrays_on_either_side():
    x = var(2.0)
    assert [
        float(e.data) for e in (x + 1, 1 + x, x - 1, 1 - x, x * 3, 3 * x, x / 4, 4 / x, -x, x**3)
    ] == [3, 3, 1, -1, 6, 6, 0.5, 2, -2, 8]
    y = np.array([1.0, 2.0]) * x  # NumPy leaves the operator to Variable
    assert isinstance(y, Variable)
    y = np.array(3.0) - x
    assert isinstance(y, Variable) and float(y.data) == 1.0


def test_pow_takes_a_constant_exponent_only():
    with pytest.raises(TypeError, match='Pow: the exponent must be a number.*Variable'):
        var(2.0) ** var(3.0)
    assert Pow(np.float64(2.0)).c == 2.0 and type(Pow(np.float64(2.0)).c) is float


# ---- dtypes ----------------------------------------------------------------------------
def test_float32_stays_float32():
    x = var([1.0, 2.0], np.float32)
    y = (2 * x + 1) / 3 - x**2 + np.float64(0.5) * x - 1.5 / x
    assert y.dtype == np.float32
    _sum_all(y).backward()
    assert x.grad.dtype == np.float32


def test_integer_data_gets_float_gradients():
    x = Variable(np.array(3))
    y = x * x
    assert y.dtype.kind == 'i'
    y.backward()
    assert x.grad.dtype == np.float64 and float(x.grad) == 6.0
    assert (x * 0.5).dtype == np.float64  # a float constant makes a float result


# ---- backward ----------------------------------------------------------------------------
class Square(Function):
    """y = x²; counts the calls of its backward in the class attribute ``calls``."""

    calls = 0

    def forward(self, x):
        return x**2

    def backward(self, gy):
        Square.calls += 1
        return 2 * self.inputs[0].data * gy


def test_diamond_graph_generations_and_one_backward_per_function():
    Square.calls = 0
    x = var(2.0)
    a = Square()(x)
    b, c = Square()(a), Square()(a)
    y = b + c
    assert [v.generation for v in (x, a, b, c, y)] == [0, 1, 2, 2, 3]
    y.backward()
    assert float(y.data) == 32.0
    assert float(x.grad) == 64.0  # 8 x³: a's gradient summed before use
    assert Square.calls == 3


def test_a_long_chain_backprops_without_recursion():
    x = var(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0 + 0.0
    y.backward()
    assert float(x.grad) == 1.0


def test_gradients_accumulate_until_cleargrad():
    x = var(3.0)
    y = x * x
    y.backward()
    y.backward()
    assert float(x.grad) == 12.0
    x.cleargrad()
    (x * x).backward()
    assert float(x.grad) == 6.0


def test_retain_grad_keeps_intermediate_gradients():
    x = var(2.0)
    a = x * 3.0
    y = a * a
    y.backward()
    assert a.grad is None and y.grad is None and float(x.grad) == 36.0
    x.cleargrad()
    y.backward(retain_grad=True)
    assert (float(y.grad), float(a.grad), float(x.grad)) == (1.0, 12.0, 36.0)


def test_a_second_retaining_pass_propagates_only_its_own_gradients():
    x = var(2.0)
    a = x * 3.0
    y = a * 1.0
    y.backward(retain_grad=True)
    y.backward(retain_grad=True)
    assert float(a.grad) == 2.0  # retained gradients add up ...
    assert float(x.grad) == 6.0  # ... but are not propagated twice


def test_a_seed_set_on_grad_is_used_and_not_handed_on():
    x = var(2.0)
    y = x * x
    y.grad = np.array(0.5)
    y.backward()
    assert float(x.grad) == 2.0 and y.grad is None
    x = var([1.0, 2.0])
    y = x + 1.0  # Add passes its gradient on unchanged
    seed = np.array([1.0, 3.0])
    y.grad = seed
    y.backward()
    assert np.array_equal(x.grad, seed) and not np.shares_memory(x.grad, seed)


def test_backward_of_a_leaf_gives_ones():
    x = var([1.0, 2.0])
    x.backward()
    assert np.array_equal(x.grad, [1.0, 1.0])


def test_gradients_of_different_variables_never_share_memory():
    x0, x1 = var([1.0, 2.0]), var([3.0, 4.0])
    y = x0 + x1  # Add hands gy to both inputs
    z = y - 0.0
    z.backward(retain_grad=True)
    grads = [x0.grad, x1.grad, y.grad, z.grad]
    for i, g in enumerate(grads):
        for h in grads[i + 1 :]:
            assert not np.shares_memory(g, h)
    x0.grad *= 10  # an optimizer may update in place
    assert np.array_equal(x1.grad, [1.0, 1.0])


def test_a_variable_used_twice_by_one_function():
    x = var(3.0)
    (x + x).backward()
    assert float(x.grad) == 2.0
    x.cleargrad()
    (x * x).backward()
    assert float(x.grad) == 6.0


def test_a_function_object_called_twice_keeps_both_calls():
    f = Mul()
    x = var(2.0)
    y1 = f(x, np.array(3.0))
    y2 = f(x, np.array(5.0))
    y1.backward()
    assert float(x.grad) == 3.0
    x.cleargrad()
    y2.backward()
    assert float(x.grad) == 5.0


class Split(Function):
    """Two outputs: (x, 2x)."""

    def forward(self, x):
        return x, 2 * x

    def backward(self, g0, g1):
        self.seen = (g0, g1)
        return (0 if g0 is None else g0) + 2 * (0 if g1 is None else g1)


def test_an_unused_output_gets_zeros_and_a_freed_one_none():
    x = var([1.0, 2.0])
    first, second = Split()(x)
    f = first.creator
    (_sum_all(first)).backward()
    assert np.array_equal(f.seen[1], [0.0, 0.0]) and np.array_equal(x.grad, [1.0, 1.0])
    x.cleargrad()
    first, second = Split()(x)
    f = first.creator
    del first
    (_sum_all(second)).backward()
    assert f.seen[0] is None and np.array_equal(x.grad, [2.0, 2.0])


class Wrong(Function):
    def __init__(self, result):
        self.result = result

    def forward(self, x0, x1):
        return x0 + x1

    def backward(self, gy):
        return self.result


@pytest.mark.parametrize(
    'result, message',
    [
        (np.ones(2), r'Wrong\.backward returned 1 gradients for 2 inputs'),
        (
            (np.ones(2), np.ones(3)),
            r'Wrong\.backward returned a gradient of shape \(3,\) as '
            r'the gradient of an input of shape \(2,\)',
        ),
        ((np.ones(2), [1.0, 1.0]), r'Wrong\.backward returned an object of type list'),
    ],
)
def test_a_wrong_backward_is_named(result, message):
    y = Wrong(result)(var([1.0, 2.0]), var([3.0, 4.0]))
    with pytest.raises(ValueError, match=message):
        _sum_all(y).backward()


def test_backward_without_data_is_refused():
    with pytest.raises(ValueError, match='no data'):
        Variable(None).backward()


def test_function_without_forward_or_backward_names_itself():
    class Empty(Function):
        pass

    with pytest.raises(NotImplementedError, match='Empty does not define forward'):
        Empty()(var(1.0))


# ---- Config ----------------------------------------------------------------------------
def test_no_grad_records_nothing_and_restores():
    x = var(2.0)
    with no_grad():
        assert Config.enable_backprop is False
        y = x * 2
    assert y.creator is None and y.generation == 0
    assert Config.enable_backprop is True
    assert (x * 2).creator is not None


def test_config_reads_and_assigns_as_in_the_book():
    Config.enable_backprop = False
    try:
        assert (var(1.0) + 1).creator is None
    finally:
        Config.enable_backprop = True
    with using_config('enable_backprop', False):
        assert Config.enable_backprop is False
    assert Config.enable_backprop is True


def test_unknown_settings_are_refused():
    with pytest.raises(AttributeError, match="using_config: Config has no setting 'train'"):
        with using_config('train', False):
            pass
    with pytest.raises(AttributeError, match="Config has no setting 'enable_backpro'"):
        Config.enable_backpro = False


def test_config_is_per_thread():
    seen = {}

    def other_thread():
        seen['backprop'] = Config.enable_backprop
        seen['creator'] = (var(1.0) * 2).creator is not None
        Config.enable_backprop = False  # in this thread only

    with no_grad():
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert seen == {'backprop': True, 'creator': True}
    assert Config.enable_backprop is True
    assert div(var(1.0), 2.0).creator is not None


# ---- the refusals of dezero.core ---------------------------------------------------------
def test_config_refuses_reading_an_unknown_setting():
    with pytest.raises(
        AttributeError, match="^Config has no setting 'foo'; expected enable_backprop$"
    ):
        Config.foo


def test_assigning_an_input_after_forward_refuses_backward():
    x = var([1.0, 2.0])
    y = x * x
    x.data -= 1
    with pytest.raises(
        RuntimeError, match=r'\(shape \(2,\), float64\), input 0 of Mul, was assigned'
    ):
        y.backward()
    assert x.grad is None


def test_assigning_an_output_after_forward_refuses_backward():
    x = var(2.0)
    y = x * 3.0
    y.name = 'y'
    y.data = np.array(7.0)
    with pytest.raises(
        RuntimeError, match=r"'y' \(shape \(\), float64\), output 0 of Mul, was assigned"
    ):
        y.backward()


def test_updating_after_backward_and_recomputing_is_accepted():
    x = var(2.0)
    y = x * x
    y.backward()
    x.data -= 0.5 * x.grad  # the book's update: 2 - 0.5 * 4 = 0
    x.cleargrad()
    y = x * x + x
    y.backward()
    assert float(x.data) == 0.0 and float(x.grad) == 1.0


def test_backward_from_a_no_grad_result_is_refused_but_it_is_a_leaf_later():
    with no_grad():
        x = var(2.0)
        y = x * x
    with pytest.raises(
        RuntimeError, match=r'\(shape \(\), float64\) was computed under no_grad\(\)'
    ):
        y.backward()
    assert x.grad is None
    z = y * 3.0  # recorded: y is a leaf of this graph
    z.backward()
    assert float(y.grad) == 3.0


@pytest.mark.parametrize(
    'make',
    [
        lambda: add(np.array(1.0), 2.0),
        lambda: Mul()(np.array([1.0, 2.0]), np.array(3.0)),
        lambda: Variable(np.array([True, False])) * 2.0,
    ],
)
def test_backward_from_constants_only_is_refused(make):
    y = make()
    assert y.creator is None and y.requires_grad is False
    with pytest.raises(RuntimeError, match='does not require a gradient.*constants only'):
        y.backward()


def test_no_gradient_flows_into_bool_variables():
    mask = Variable(np.array([True, False]))
    x = var([3.0, 4.0])
    _sum_all(x * mask).backward()
    assert mask.grad is None
    assert np.array_equal(x.grad, [1.0, 0.0])


@pytest.mark.parametrize(
    'data, dtype',
    [(np.array([True]), 'bool'), (np.array([1j]), 'complex128')],
)
def test_backward_from_bool_or_complex_data_is_refused(data, dtype):
    with pytest.raises(
        TypeError, match=f'holds {dtype} data, which the simple core cannot differentiate'
    ):
        Variable(data).backward()


@pytest.mark.parametrize(
    'seed, error, message',
    [
        (
            np.ones((2, 3)),
            ValueError,
            r'\.grad has shape \(2, 3\), but this Variable \(shape \(3,\)',
        ),
        (1.0, TypeError, r'\.grad to start from is a float; expected an array of shape \(3,\)'),
        (
            np.ones(3, dtype=int),
            TypeError,
            r'\.grad is int64; a gradient must be real floating point',
        ),
    ],
)
def test_a_wrong_seed_is_refused(seed, error, message):
    x = var([1.0, 2.0, 3.0])
    y = x * 2.0
    y.grad = seed
    with pytest.raises(error, match=message):
        y.backward()
    assert x.grad is None


def test_a_seed_is_cast_to_the_variables_dtype():
    x = var(2.0, np.float32)
    y = x * 3.0
    y.grad = np.array(1.0)  # float64
    y.backward()
    assert x.grad.dtype == np.float32 and float(x.grad) == 3.0


@pytest.mark.parametrize('bad', [np.array(['a']), np.array([None, 1.0], dtype=object)])
def test_variable_refuses_arrays_of_non_numbers(bad):
    with pytest.raises(TypeError, match=f'Variable: data must hold numbers.*got dtype {bad.dtype}'):
        Variable(bad)
    with pytest.raises(TypeError, match='Variable.data: data must hold numbers'):
        var(1.0).data = bad


def test_assigning_data_is_checked_and_a_numpy_scalar_becomes_an_array():
    x = var(2.0)
    with pytest.raises(
        TypeError, match=r'Variable\.data: data must be a NumPy array or None, got float'
    ):
        x.data = 5.0
    x.data = x.data - np.float64(1.0)  # a NumPy scalar
    assert type(x.data) is np.ndarray and float(x.data) == 1.0


def test_a_backward_returning_an_integer_gradient_is_named():
    with pytest.raises(TypeError, match=r'Wrong\.backward returned a gradient of dtype int64'):
        _sum_all(Wrong((np.ones(2, int), np.ones(2)))(var([1.0, 2.0]), var([3.0, 4.0]))).backward()


class Returns(Function):
    def __init__(self, result):
        self.result = result

    def forward(self, x):
        return self.result


@pytest.mark.parametrize('result, name', [(None, 'NoneType'), ('abc', 'ndarray'), ([1.0], 'list')])
def test_a_forward_returning_no_array_of_numbers_is_named(result, name):
    with pytest.raises(
        TypeError, match=f'Returns.forward returned {name}.*expected an array of numbers'
    ):
        Returns(result)(var(1.0))


@pytest.mark.parametrize(
    'grad, message',
    [
        (np.ones(3), r'has \.grad of shape \(3,\), which its new gradient of shape \(2, 3\)'),
        (1.0, r'has \.grad set to a float'),
    ],
)
def test_adding_to_a_grad_of_another_shape_or_type_is_refused(grad, message):
    x = var(np.ones((2, 3)))
    x.grad = grad
    with pytest.raises(ValueError, match=message):
        (x * 2.0).backward()


class Promote(Function):
    """y = 2x computed in float64 whatever x's dtype; its backward gives float64."""

    def forward(self, x):
        return x.astype(np.float64) * 2

    def backward(self, gy):
        return gy * 2


def test_float32_data_gets_float32_gradients_from_a_float64_backward():
    x = var([1.0, 2.0], np.float32)
    _sum_all(Promote()(x)).backward()
    assert x.grad.dtype == np.float32 and np.array_equal(x.grad, [2.0, 2.0])


def test_an_unused_output_of_integer_data_gets_float_zeros():
    x = Variable(np.array([1, 2]))
    first, second = Split()(x)
    _sum_all(first).backward()
    assert first.creator.seen[1].dtype == np.float64
    assert x.grad.dtype == np.float64 and np.array_equal(x.grad, [1.0, 1.0])


@pytest.mark.filterwarnings('ignore::PendingDeprecationWarning')  # NumPy's, for np.matrix
def test_a_numpy_matrix_is_computed_on_as_a_plain_array():
    x = Variable(np.matrix([[1.0, 2.0], [3.0, 4.0]]))
    y = x * x  # elementwise, not a matrix product
    y.backward()
    assert type(x.data) is np.ndarray
    np.testing.assert_array_equal(x.grad, [[2.0, 4.0], [6.0, 8.0]])
    with pytest.raises(TypeError, match='masked array'):
        Variable(np.ma.masked_array([1.0, 2.0], mask=[0, 1]))


# ---- exponents, numbers and switches as dezero.core takes them ---------------------------
def full_core_grad(data, f):
    """The gradient of sum(f(x)) at x = Variable(data) in the full core, as an array."""
    x = dezero.Variable(data.copy())
    y = f(x)
    y.backward()
    return x.grad.data


@pytest.mark.parametrize(
    'data',
    [np.array([0.0, 2.0]), np.array([0.0, -3.0], np.float32), np.array([0, 3]), np.array([0])],
)
def test_the_power_zero_has_a_zero_gradient_everywhere(data):
    x = Variable(data.copy())
    y = x**0
    assert np.array_equal(y.data, np.ones_like(data))
    with np.errstate(all='raise'):  # no 0 * inf on the way
        y.backward()
    assert np.array_equal(x.grad, np.zeros(data.shape)) and x.grad.dtype.kind == 'f'
    assert np.array_equal(x.grad, full_core_grad(data, lambda v: v**0))


def test_integer_data_to_a_negative_integer_power_is_refused_naming_pow():
    with pytest.raises(ValueError, match=r'Pow: int64 data to the negative integer power -2'):
        Variable(np.array([3], np.int64)) ** -2
    with pytest.raises(ValueError, match=r'Pow: int64 data .* float exponent \(-1\.0\)'):
        pow(Variable(np.array([3], np.int64)), -1)
    x = Variable(np.array([2]))
    y = x**-1.0  # a float exponent, as the message says
    y.backward()
    assert np.array_equal(y.data, [0.5]) and np.array_equal(x.grad, [-0.25])


@pytest.mark.parametrize('c', [2, 3, 0.5, -1.0, 1])
@pytest.mark.parametrize('dtype', [np.int8, np.uint8, np.int64])
def test_integer_data_gets_the_gradient_of_the_power_without_wrapping_round(dtype, c):
    data = np.array([100, 2], dtype)
    x = Variable(data.copy())
    (x**c).backward()
    expected = c * data.astype(np.float64) ** (c - 1)  # 200 and 30000 do not fit int8
    assert x.grad.dtype == np.float64 and np.allclose(x.grad, expected)
    assert np.allclose(x.grad, full_core_grad(data, lambda v: v**c))


def _number_text(number):
    return re.escape(repr(number.item() if isinstance(number, np.generic) else number))


@pytest.mark.parametrize(
    'dtype, number, why',
    [
        (np.float16, 1e5, 'is out of its range'),
        (np.float16, 70000, 'is out of its range'),
        (np.float16, 1e-8, 'would become 0'),
        (np.float16, -1e-9, 'would become 0'),
        (np.float32, np.float64(1e300), 'is out of its range'),
        (np.float32, 1e-50, 'would become 0'),
        (np.int8, 128, 'is out of its range'),
        (np.uint8, -1, 'is out of its range'),
        (np.uint8, 300, 'is out of its range'),
        (np.int64, np.uint64(2**64 - 1), 'is out of its range'),
    ],
)
@pytest.mark.parametrize(
    'op, apply',
    [
        ('+', operator.add),
        ('*', operator.mul),
        ('-', lambda x, c: c - x),
        ('/', lambda x, c: c / x),
    ],
)
def test_a_number_the_variables_dtype_cannot_hold_is_refused_naming_the_operator(
    dtype, number, why, op, apply
):
    # except an integer quotient, float64 in NumPy, which holds the number
    x = Variable(np.array([1], dtype))
    if op == '/' and np.dtype(dtype).kind in 'iu':  # integers divided give float64
        expected = apply(np.array([1], dtype), number)
        for y in (apply(x, number), apply(dezero.Variable(np.array([1], dtype)), number)):
            assert y.data.dtype == expected.dtype == np.float64
            np.testing.assert_array_equal(y.data, expected)
        return
    message = (
        rf'^unsupported operand for {re.escape(op)}: the number {_number_text(number)} '
        rf'does not fit the dtype {np.dtype(dtype)} of the Variable: it {why}'
    )
    with pytest.raises(OverflowError, match=message):
        apply(x, number)
    with pytest.raises(OverflowError):  # as the full core refuses it
        apply(dezero.Variable(np.array([1], dtype)), number)


def test_a_0d_array_the_dtype_cannot_hold_and_a_huge_integer_are_refused():
    with pytest.raises(OverflowError, match=r'for \*: the number 1e\+300 .* float32'):
        var([1.0], np.float32) * np.array(1e300)
    with pytest.raises(OverflowError, match=r'for /: the number 10000000\.\.\.\(401 digits\)'):
        var([1.0]) / 10**400
    with pytest.raises(OverflowError, match=r'dtype int8 of the Variable: it is beyond float64'):
        Variable(np.array([1], np.int8)) / 10**400  # whose quotient would be float64
    with pytest.raises(OverflowError, match=r'dtype int32 of the Variable: it is beyond float64'):
        Variable(np.array([1], np.int32)) / (2**1024 - 1)  # 1024 bits, beyond float64 too
    with pytest.raises(OverflowError, match=r'^Pow: the number 100000\.0 .* float16'):
        var([1.0], np.float16) ** 1e5
    with pytest.raises(OverflowError, match=r'^Pow: the number 1e-08 .* would become 0'):
        var([0.0], np.float16) ** 1e-8  # (0 ** 0 would be 1, not 0)


@pytest.mark.parametrize(
    'dtype, number, expected',
    [
        (np.float16, 1e-6, np.float16(1e-6)),  # subnormal, not 0: kept
        (np.float16, float('inf'), np.inf),
        (np.float16, 65504, 65504.0),
        (np.float32, 1e38, np.float32(1e38)),
        (np.int8, 127, 127),
        (np.uint8, 0.5, 0.5),  # a float number makes a float64 result
    ],
)
def test_a_number_the_dtype_holds_is_taken(dtype, number, expected):
    y = Variable(np.array([1], dtype)) * number
    assert y.data[0] == expected
    assert y.dtype == (dezero.Variable(np.array([1], dtype)) * number).dtype


def test_nan_beside_float16_data_stays_nan():
    y = var([1.0], np.float16) + float('nan')
    assert y.dtype == np.float16 and np.isnan(y.data[0])


@pytest.mark.parametrize('value', ['False', 0, 1, None, np.array(False), 'True'])
def test_the_switches_take_true_or_false_only(value):
    with pytest.raises(TypeError, match='^using_config: enable_backprop must be True or False'):
        with using_config('enable_backprop', value):
            pass
    with pytest.raises(TypeError, match='^Config: enable_backprop must be True or False'):
        Config.enable_backprop = value
    assert Config.enable_backprop is True
    x = var(3.0)
    y = x * x * 2
    with pytest.raises(TypeError, match='^backward: retain_grad must be True or False'):
        y.backward(retain_grad=value)
    assert x.grad is None


def test_numpy_bools_are_taken_as_switches():
    with using_config('enable_backprop', np.False_):
        assert Config.enable_backprop is False
        assert (var(1.0) * 2).creator is None
    Config.enable_backprop = np.True_
    assert Config.enable_backprop is True
    x = var(3.0)
    a = x * x
    (a * 2).backward(retain_grad=np.True_)
    assert float(a.grad) == 2.0 and float(x.grad) == 12.0


@pytest.mark.parametrize(
    'make, got',
    [
        (lambda x: None + x, 'an object of type NoneType'),
        (lambda x: x - None, 'an object of type NoneType'),
        (lambda x: None / x, 'an object of type NoneType'),
        (lambda x: x * 'a', 'an object of type str'),
        (lambda x: x + np.array(['a']), 'an array of dtype <U1'),
    ],
)
def test_an_operand_that_is_no_number_is_refused_naming_the_operator(make, got):
    with pytest.raises(TypeError, match=r'^unsupported operand for [-+*/]: a Variable and ' + got):
        make(var([1.0]))


@pytest.mark.parametrize(
    'data, other',
    [
        (np.ones(2, np.float32), np.array(3.0)),  # a 0-d array counts as a number
        (np.ones(2, np.float32), np.array(3)),
        (np.ones(2, np.float32), np.array(True)),
        (np.ones(2, np.float16), np.array(3.0, np.float32)),
        (np.array(2.0, np.float32), np.array(3.0)),
        (np.ones(2, np.complex64), np.array(3.0)),
        (np.ones(2, np.float32), np.float64(3.0)),
        (np.ones(2, np.int8), np.array(300)),  # beside integers, an array promoted by NumPy
        (np.ones(2, np.uint8), np.array(3.5)),
        (np.ones(2, np.float16), np.array([3.0, 4.0], np.float32)),  # not 0-d: promoted
        (np.ones(2, np.float32), np.array(2j)),
        (np.ones(2, np.float32), 2j),
    ],
)
@pytest.mark.parametrize(
    'apply',
    [
        operator.add,
        operator.mul,
        operator.sub,
        operator.truediv,
        lambda x, c: c - x,
        lambda x, c: c / x,
    ],
)
def test_a_variable_and_a_constant_give_the_dtype_and_values_of_the_full_core(data, other, apply):
    y = apply(Variable(data.copy()), other)
    expected = apply(dezero.Variable(data.copy()), other).data
    assert y.dtype == expected.dtype
    np.testing.assert_allclose(y.data, expected, rtol=1e-6)


def test_a_0d_float64_array_leaves_float32_data_and_gradients_float32():
    x = var([1.0, 2.0], np.float32)
    y = np.array(3.0) * x - np.array(0.5)
    assert y.dtype == np.float32
    _sum_all(y).backward()
    assert x.grad.dtype == np.float32 and np.array_equal(x.grad, [3.0, 3.0])


@pytest.mark.parametrize('dtype', [np.float16, np.float32])
@pytest.mark.parametrize('operation', [operator.add, operator.pow])
def test_an_integer_beyond_int64_and_the_dtype_is_refused_by_name(dtype, operation):
    x = core_simple.Variable(np.array([1.0], dtype))
    with pytest.raises(OverflowError, match=r'does not fit the dtype'):
        operation(x, 2**200)

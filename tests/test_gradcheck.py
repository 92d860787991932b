"""The gradient checkers themselves: numerical_grad, gradient_check, gradgrad_check.

They must accept correct gradients and reject wrong ones, first and second order,
printing where the worst mismatch is, and refuse arguments they cannot judge by.  At
the end, the array helpers that dezero.utils exports beside them (sum_to, logsumexp).
"""

import re

import numpy as np
import pytest

import dezero.functions as F
from dezero import Function, Variable
from dezero.utils import gradgrad_check, gradient_check, numerical_grad


class Sine(Function):
    """sin with a configurable backward ``grad(gy, x)``: errors planted for the checkers."""

    def __init__(self, grad):
        self.grad = grad

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        return self.grad(gy, self.inputs[0])


def sine_with(derivative):
    """sin whose backward is ``gy * derivative(x)``."""
    return lambda x: Sine(lambda gy, x: gy * derivative(x))(x)


def plain(text):
    """``text`` with NumPy scalar reprs unwrapped: np.int64(1) -> 1."""
    return re.sub(r'np\.\w+\(([^()]*)\)', r'\1', text)


RIGHT = sine_with(F.cos)
# right values, but computed from raw data: nothing is recorded for the second order
UNRECORDED = sine_with(lambda x: Variable(np.cos(x.data)))


def off_by(k):
    """Right first derivative, but its recorded graph has an extra ``k * x`` (of value
    zero): the second derivative is off by ``k``."""
    return sine_with(lambda x: F.cos(x) + k * (x - Variable(x.data.copy())))


WRONG_FIRST = sine_with(lambda x: 2 * F.cos(x))
SLIGHTLY_WRONG_FIRST = sine_with(lambda x: F.cos(x) * 1.001)
# one element wrong (index (1, 2) of a (2, 3) input)
ONE_WRONG = sine_with(lambda x: F.cos(x) * np.where(np.arange(6).reshape(2, 3) == 5, -1, 1))


@pytest.fixture
def x():
    return np.random.default_rng(0).uniform(0.2, 1.2, (2, 3))


def test_numerical_grad_central_differences(x):
    np.testing.assert_allclose(numerical_grad(np.sin, x), np.cos(x), rtol=1e-7)
    np.testing.assert_allclose(numerical_grad(lambda v: v**3, Variable(x)), 3 * x**2, rtol=1e-7)
    np.testing.assert_allclose(
        numerical_grad(lambda v, c, k: (v * c) ** k, x, 2.0, k=2), 8 * x, rtol=1e-7
    )


@pytest.mark.parametrize('dtype', [np.float64, np.float32, np.int64])
def test_numerical_grad_of_a_transposed_array(dtype):
    x = np.arange(6).reshape(2, 3).T.astype(dtype)  # Fortran order
    np.testing.assert_allclose(numerical_grad(F.sin, x), np.cos(x.astype(np.float64)), rtol=1e-7)
    assert gradient_check(F.sin, x) and gradient_check(F.sin, x.astype(np.float64), dtype=None)


def test_numerical_grad_leaves_its_input_unchanged(x):
    v = Variable(x.copy())
    numerical_grad(F.sin, x)
    numerical_grad(F.sin, v)
    np.testing.assert_array_equal(v.data, x)
    np.testing.assert_array_equal(x, np.random.default_rng(0).uniform(0.2, 1.2, (2, 3)))


def test_numerical_grad_takes_integer_arrays_in_float64():
    grad = numerical_grad(lambda v: v**2, np.array([[1, 2], [3, 4]]))
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [[2.0, 4.0], [6.0, 8.0]], rtol=1e-9)


def test_numerical_grad_evaluates_float32_input_in_float64():
    seen = []

    def square(v):
        seen.append(v.dtype)
        return v**2

    x = np.array([300.0, -200.0], np.float32)
    grad = numerical_grad(square, x)
    assert set(seen) == {np.dtype(np.float64)} and x.dtype == np.float32
    np.testing.assert_allclose(grad, 2 * x.astype(np.float64), rtol=1e-9)


# ---- float64 evaluation ------------------------------------------------------------------
def square(v):
    return v**2


def cube(v):
    return v**3


#: float32 values in the hundreds: a probe of ±1e-4 would move v**2 by less than the
#: float32 spacing there, so differences taken in float32 with it were off by percents.
BIG32 = np.array([[312.5, -271.25, 198.75], [-450.5, 233.0, 389.25]], np.float32)


@pytest.mark.parametrize('check, f', [(gradient_check, square), (gradgrad_check, cube)])
def test_float32_input_is_checked_in_float64(check, f, capsys):
    assert check(f, BIG32) is True
    assert check(f, Variable(BIG32.copy())) is True
    assert capsys.readouterr().out == ''


@pytest.mark.parametrize('check, f', [(gradient_check, square), (gradgrad_check, cube)])
def test_dtype_none_probes_with_a_step_that_fits_the_dtype(check, f, capsys):
    # the cube root of float32's resolution, times |x|: a function right in float32
    # passes, where a step of 1e-4 drowned in its rounding and nothing could pass
    assert check(f, BIG32, dtype=None) is True
    assert check(f, BIG32, dtype=np.float32) is True
    assert check(f, BIG32.astype(np.float64), dtype=None) is True
    assert capsys.readouterr().out == ''


def test_dtype_none_shows_the_rounding_of_a_function_in_float32(capsys):
    def rounding(v):  # 1e4 + v keeps v to about 1e-3 in float32
        return (v + 1e4) - 1e4

    x = np.array([0.1, 0.2, 0.3], np.float32)
    assert gradient_check(rounding, x, dtype=None) is False
    assert 'worst mismatch' in capsys.readouterr().out
    assert gradient_check(rounding, x) is True  # in float64


def test_dtype_none_in_float16_can_pass():
    # 1 + 1e-4 is 1 in float16: the numerical gradient was 0, whatever the tolerance
    x = np.array([1.0, -2.0, 3.0], np.float16)
    assert gradient_check(lambda v: v * 3.0, x, dtype=None, rtol=1e-2, atol=1e-2) is True


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
def test_the_function_sees_float64_variables_in_both_parts(check):
    seen = set()

    def f(v):
        seen.add((type(v).__name__, v.dtype))
        return F.sin(v) * np.float32(2)

    assert check(f, Variable(np.array([0.5, 1.0], np.float32)))
    assert seen == {('Variable', np.dtype(np.float64))}
    seen.clear()
    assert check(f, np.array([0.5, 1.0], np.float32))
    assert {dtype for _, dtype in seen} == {np.dtype(np.float64)}
    assert ('Variable', np.dtype(np.float64)) in seen  # the backprop part


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
def test_integer_inputs_are_checked_as_float64(check, capsys):
    x = np.array([[1, 2], [3, 4]])
    assert check(F.sin, x) is True
    assert check(F.transpose, np.array([[1, 2, 3], [4, 5, 6]])) is True
    assert capsys.readouterr().out == ''
    assert x.dtype == np.int64


def test_the_checked_input_is_left_as_it_was():
    x = Variable(BIG32.copy())
    assert gradient_check(square, x) and gradgrad_check(cube, x)
    assert x.dtype == np.float32 and x.grad is None
    np.testing.assert_array_equal(x.data, BIG32)


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
def test_integer_dtypes_are_refused_clearly(check):
    name = check.__name__
    with pytest.raises(
        TypeError,
        match=f'{name}: with dtype=None x keeps its dtype, which must be floating point.*int64',
    ):
        check(F.sin, np.arange(3), dtype=None)
    with pytest.raises(TypeError, match=f'{name}: dtype must be a floating-point dtype.*int32'):
        check(F.sin, np.ones(3), dtype=np.int32)


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
@pytest.mark.parametrize(
    'f', [RIGHT, F.sin, F.tanh, lambda v: v**3, F.sum, lambda v: F.matmul(v, v.T)]
)
def test_correct_gradients_pass(check, f, x, capsys):
    assert check(f, x) is True
    assert capsys.readouterr().out == ''


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
def test_extra_arguments_reach_the_function(check, x):
    w = np.random.default_rng(1).standard_normal((3, 4))
    assert check(F.matmul, x, w)
    assert check(F.logsumexp, x, axis=1, keepdims=True)


def test_wrong_first_derivative_fails_and_prints_the_worst_mismatch(x, capsys):
    assert gradient_check(WRONG_FIRST, x) is False
    out = capsys.readouterr().out
    assert 'gradient_check: worst mismatch at index' in out
    assert 'backprop' in out and 'numerical' in out


def test_worst_mismatch_index_and_values_are_reported(x, capsys):
    assert gradient_check(ONE_WRONG, x) is False
    out = plain(capsys.readouterr().out)
    # the gradient checked is that of <sin(x), u> for random weights u: cos(x) * u
    found = re.search(r'index \(1, 2\): backprop (\S+), numerical (\S+) ', out)
    assert found, out
    backprop, numerical = float(found[1]), float(found[2])
    assert backprop == pytest.approx(-numerical, rel=1e-6)
    assert 0.5 * np.cos(x[1, 2]) <= abs(numerical) <= 1.5 * np.cos(x[1, 2])


@pytest.mark.parametrize('f', [UNRECORDED, off_by(1.0)], ids=['unrecorded', 'wrong_graph'])
def test_wrong_second_derivative_fails_only_at_second_order(f, x, capsys):
    assert gradient_check(f, x) is True
    assert gradgrad_check(f, x) is False
    assert 'gradgrad_check: worst mismatch at index' in capsys.readouterr().out


@pytest.mark.parametrize(
    'check, f', [(gradient_check, SLIGHTLY_WRONG_FIRST), (gradgrad_check, off_by(1e-3))]
)
def test_tolerances_are_applied(check, f, x):
    assert check(f, x) is False
    assert check(f, x, rtol=1e-2) is True


def test_keyword_arguments_reach_the_function_checked():
    def scaled(x, eps):
        return x * eps

    grad = numerical_grad(scaled, np.ones(3), eps=3.0)
    np.testing.assert_allclose(grad, [3.0, 3.0, 3.0])
    assert gradient_check(scaled, np.ones(3), eps=3.0)


def test_the_checks_leave_the_gradients_of_parameters_that_f_uses_alone():
    from dezero import Parameter

    W = Parameter(np.array([2.0]))
    W.grad = Variable(np.array([0.5]))  # a gradient of the training step under way
    assert gradient_check(lambda z: z**2 * W, np.array([1.0, 2.0]))
    assert gradgrad_check(lambda z: z**3 * W, np.array([1.0, 2.0]))
    np.testing.assert_array_equal(W.grad.data, [0.5])


# ---- arguments that are refused --------------------------------------------------------
ALL_CHECKS = [numerical_grad, gradient_check, gradgrad_check]


@pytest.mark.parametrize('check', ALL_CHECKS)
@pytest.mark.parametrize(
    'x, got',
    [
        (None, 'got None'),
        ('abc', "got str 'abc'"),
        (Variable(None), 'got a Variable holding None'),
        (np.array([1.0, None], object), 'got an array of object'),
        (np.ones(2, complex), 'got an array of complex128'),
        ([[1.0], [2.0, 3.0]], r'got list \[\[1.0\], \[2.0, 3.0\]\]'),
    ],
    ids=['None', 'str', 'empty Variable', 'objects', 'complex', 'ragged'],
)
def test_an_input_that_holds_no_real_numbers_is_refused(check, x, got):
    name = check.__name__
    with pytest.raises(
        TypeError, match=f'{name}: x must be an array, a number or a Variable .*{got}'
    ):
        check(F.sin, x)


@pytest.mark.parametrize('check', ALL_CHECKS)
def test_a_function_that_is_not_callable_is_refused(check):
    with pytest.raises(TypeError, match=f'{check.__name__}: f must be a function of x .*got str'):
        check('sin', np.ones(2))


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
@pytest.mark.parametrize('arg', ['rtol', 'atol'])
@pytest.mark.parametrize(
    'value, error, got',
    [
        (-1, ValueError, '-1'),
        (float('nan'), ValueError, 'nan'),
        ('1e-4', TypeError, "'1e-4'"),
        (None, TypeError, 'None'),
        (True, TypeError, 'True'),
    ],
)
def test_a_tolerance_that_is_negative_nan_or_no_number_is_refused(check, arg, value, error, got):
    x = np.ones(2) + 0.5  # F.sin passes here with any sound tolerance
    with pytest.raises(
        error, match=f'{check.__name__}: {arg} must be a number of 0 or more, got {got}'
    ):
        check(F.sin, x, **{arg: value})


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
def test_zero_tolerances_and_numpy_numbers_are_taken(check):
    assert check(F.sin, np.ones(2) + 0.5, rtol=np.float32(1e-3), atol=0) is True
    assert check(lambda v: 2 * v, [1.0, 2.0], rtol=0, atol=np.float64(1e-6)) is True


# ---- dezero.utils.sum_to and logsumexp, the array helpers the book's code calls -------
def test_utils_sum_to_and_logsumexp_take_lists_as_arrays():
    from dezero import utils

    np.testing.assert_array_equal(utils.sum_to([1, 2], (1,)), [3])
    np.testing.assert_array_equal(utils.sum_to([[1.0, 2.0], [3.0, 4.0]], 2), [4.0, 6.0])
    np.testing.assert_allclose(utils.logsumexp([[0.0, np.log(3.0)]]), [[np.log(4.0)]])
    np.testing.assert_allclose(utils.logsumexp([np.log(2.0), np.log(6.0)], axis=0), [np.log(8.0)])
    np.testing.assert_allclose(utils.logsumexp(np.zeros((2, 2)), axis=(0, -1)), [[np.log(4.0)]])
    s = utils.sum_to(Variable(np.ones((2, 3))), (1, 3))  # a Variable, as a book-style backward
    assert isinstance(s, Variable) and s.data.tolist() == [[2.0, 2.0, 2.0]]


@pytest.mark.parametrize(
    'call, error, words',
    [
        (
            lambda u: u.sum_to(None, (1,)),
            TypeError,
            'sum_to: x must be an array of numbers, got None',
        ),
        (lambda u: u.sum_to(['a'], (1,)), TypeError, r"sum_to: x must be .* got list \['a'\]"),
        (lambda u: u.sum_to([1, 2], None), TypeError, 'sum_to: shape must be a tuple of sizes'),
        (lambda u: u.sum_to([1, 2], (-1,)), TypeError, r'sum_to: shape .* got \(-1,\)'),
        (lambda u: u.sum_to(np.ones(2), (3, 2)), ValueError, 'sum_to: cannot sum an array'),
        (
            lambda u: u.logsumexp(None),
            TypeError,
            'logsumexp: x must be an array of real numbers, got None',
        ),
        (
            lambda u: u.logsumexp('abc'),
            TypeError,
            r"logsumexp: x must be .* got str 'abc' \(dtype <U3\)",
        ),
        (
            lambda u: u.logsumexp(np.ones(2, complex), 0),
            TypeError,
            'logsumexp: .*real numbers.*complex128',
        ),
        (
            lambda u: u.logsumexp(Variable(np.ones((2, 2)))),
            TypeError,
            r'logsumexp: x is a Variable.*F\.logsumexp',
        ),
        (
            lambda u: u.logsumexp(np.ones((2, 3)), axis=5),
            ValueError,
            r'logsumexp: axis 5 is out of range for an array with 2 dimensions \(x has shape \(2, 3\)\)',
        ),
        (
            lambda u: u.logsumexp([1.0, 2.0]),
            ValueError,
            r'logsumexp: axis 1 is out of range .* 1 dimension.*pass axis=0 or None',
        ),
        (
            lambda u: u.logsumexp(np.ones(2), axis='0'),
            TypeError,
            'logsumexp: axis must be None, an int or a sequence of ints',
        ),
    ],
    ids=[
        'sum_to None',
        'sum_to strings',
        'sum_to no shape',
        'sum_to negative size',
        'sum_to larger',
        'logsumexp None',
        'logsumexp str',
        'logsumexp complex',
        'logsumexp Variable',
        'logsumexp axis 5',
        'logsumexp vector default axis',
        'logsumexp axis str',
    ],
)
def test_utils_sum_to_and_logsumexp_name_themselves_in_their_errors(call, error, words):
    from dezero import utils

    with pytest.raises(error, match=words):
        call(utils)


@pytest.mark.parametrize(
    'call, error, message',
    [
        (
            lambda u: u.reshape_sum_backward(np.ones(3), (3, 4), 1, 'False'),
            TypeError,
            "reshape_sum_backward: keepdims must be True or False, got 'False'",
        ),
        (
            lambda u: u.reshape_sum_backward(np.ones(3), (3, 4), 5, False),
            ValueError,
            'reshape_sum_backward: axis 5 is out of range for an array with 2 dimensions '
            '(x has shape (3, 4))',
        ),
        (
            lambda u: u.reshape_sum_backward(np.ones(3), (3, 4), 1.0, False),
            TypeError,
            'reshape_sum_backward: axis must be None, an int or a sequence of ints, got float 1.0',
        ),
        (
            lambda u: u.reshape_sum_backward(None, (3, 4), 1, False),
            TypeError,
            'reshape_sum_backward: gy must be an array or a Variable, got None',
        ),
        (
            lambda u: u.reshape_sum_backward(np.ones(3), 'ab', 1, False),
            TypeError,
            "reshape_sum_backward: shape must be a tuple of sizes (ints of 0 or more), got 'ab'",
        ),
        (
            lambda u: u.max_backward_shape(np.ones((2, 3)), 5),
            ValueError,
            'max_backward_shape: axis 5 is out of range for an array with 2 dimensions '
            '(x has shape (2, 3))',
        ),
        (
            lambda u: u.max_backward_shape(np.ones((2, 3)), (0, 0)),
            ValueError,
            'max_backward_shape: repeated axis in (0, 0) (x has shape (2, 3))',
        ),
        (
            lambda u: u.max_backward_shape([1.0, 2.0], 0),
            TypeError,
            'max_backward_shape: x must be an array or a Variable, got list [1.0, 2.0]',
        ),
        (
            lambda u: u.graph_stats(None),
            TypeError,
            'graph_stats: output must be a Variable (the result whose graph is counted), '
            'got NoneType',
        ),
        (
            lambda u: u.graph_stats(np.ones(2)),
            TypeError,
            'graph_stats: output must be a Variable (the result whose graph is counted), '
            'got ndarray',
        ),
    ],
    ids=[
        'keepdims str',
        'reshape_sum_backward axis 5',
        'reshape_sum_backward axis float',
        'gy None',
        'x_shape str',
        'max_backward_shape axis 5',
        'max_backward_shape repeated',
        'max_backward_shape list',
        'graph_stats None',
        'graph_stats array',
    ],
)
def test_utils_helpers_name_themselves_and_the_bad_argument(call, error, message):
    from dezero import utils

    with pytest.raises(error) as info:
        call(utils)
    assert str(info.value) == message


def test_utils_reshape_sum_backward_reads_keepdims_as_a_flag():
    from dezero import core_simple, utils

    gy = np.ones(3)
    assert utils.reshape_sum_backward(gy, (3, 4), 1, False).shape == (3, 1)
    assert utils.reshape_sum_backward(gy, (3, 4), 1, np.False_).shape == (3, 1)
    assert utils.reshape_sum_backward(np.ones((3, 1)), (3, 4), 1, True).shape == (3, 1)
    v = utils.reshape_sum_backward(Variable(gy), [3, 4], -1, False)
    assert isinstance(v, Variable) and v.shape == (3, 1)
    assert utils.max_backward_shape(Variable(np.ones((2, 3))), [1]) == (2, 1)
    x = core_simple.Variable(np.ones(2))
    assert utils.graph_stats(x + x).functions == 1  # the simple core's Variables too


# ---- float32 layers are judged in float64 ----------------------------------------------
@pytest.mark.parametrize('seed', range(5))
def test_float32_layers_and_models_pass_the_checks_as_in_the_book(seed):
    # The checks evaluate in float64; a float32 layer, which converts its input to
    # float32 elsewhere, computes that input in float64 inside them: else the central
    # differences measure float32 rounding (the check failed for every seed).
    import dezero.layers as L
    from dezero.models import MLP

    np.random.seed(seed)
    model = MLP((5, 3))
    linear, conv, bn = L.Linear(3), L.Conv2d(2, 3, pad=1), L.BatchNorm()
    bn(np.random.randn(4, 3).astype(np.float32))  # built in float32
    assert gradient_check(lambda v: F.sum(model(v) ** 2), np.random.randn(2, 4))
    assert gradient_check(linear, np.random.randn(2, 4))
    assert gradient_check(conv, np.random.randn(2, 2, 5, 5))
    assert gradient_check(bn, np.random.randn(4, 3))
    assert gradgrad_check(lambda v: F.sum(F.tanh(linear(v))), np.random.randn(2, 4))
    assert linear.W.dtype == np.float32  # the layers' parameters are left as they were


def test_outside_the_checks_a_float32_layer_still_computes_in_float32():
    import dezero.layers as L
    from dezero.core import keeping_wide_inputs

    layer = L.Linear(3)
    assert layer(np.random.randn(2, 4)).dtype == np.float32
    with pytest.raises(RuntimeError, match='boom'):
        with keeping_wide_inputs():
            assert layer(np.random.randn(2, 4)).dtype == np.float64
            assert layer(np.arange(8).reshape(2, 4)).dtype == np.float32  # ints convert
            raise RuntimeError('boom')
    assert layer(np.random.randn(2, 4)).dtype == np.float32  # restored after the error


# ---- the incoming gradient is checked too -------------------------------------------
# Backwards that are right for a gradient of ones only, which a check of sum(f(x))
# (backward seeded with ones) would pass: the checks weigh f's outputs at random.
class ExpIgnoringGy(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        return F.exp(self.inputs[0])  # gy is not multiplied in


class ReversingGy(Function):
    def forward(self, x):
        return x * 3

    def backward(self, gy):
        return gy[::-1] * 3  # gy in the wrong order


class SumOfSquaresIgnoringGy(Function):
    def forward(self, x):
        return (x**2).sum(axis=1)

    def backward(self, gy):
        return 2 * self.inputs[0]  # no gy, broadcast over each row


GY_MISUSED = [
    lambda v: ExpIgnoringGy()(v),
    lambda v: ReversingGy()(v),
    lambda v: SumOfSquaresIgnoringGy()(v),
]


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
@pytest.mark.parametrize('f', GY_MISUSED, ids=['exp without gy', 'gy reversed', 'gy ignored'])
def test_a_backward_that_misuses_the_incoming_gradient_fails(check, f, x, capsys):
    assert check(f, x) is False
    assert 'worst mismatch at index' in capsys.readouterr().out


def test_gradgrad_check_names_the_order_that_is_wrong(x, capsys):
    assert gradgrad_check(WRONG_FIRST, x) is False
    assert 'gradgrad_check (first derivatives): worst mismatch' in capsys.readouterr().out


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
def test_the_random_weights_leave_numpys_global_generator_alone(check, x):
    np.random.seed(3)
    before = np.random.random()
    np.random.seed(3)
    assert check(F.sin, x)
    assert np.random.random() == before


class SineAndCosine(Function):
    """Two outputs, sin(x) and cos(x); with ``swapped`` the backward mixes them up."""

    def __init__(self, swapped=False):
        self.swapped = swapped

    def forward(self, x):
        return np.sin(x), np.cos(x)

    def backward(self, gs, gc):
        (x,) = self.inputs
        if self.swapped:
            gs, gc = gc, gs
        return gs * F.cos(x) - gc * F.sin(x)


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
def test_a_function_of_several_outputs_is_checked_on_all_of_them(check, x, capsys):
    assert check(lambda v: SineAndCosine()(v), x) is True
    assert check(lambda v: (F.sin(v), F.exp(v) * 2.0), x) is True
    assert capsys.readouterr().out == ''
    assert check(lambda v: SineAndCosine(swapped=True)(v), x) is False


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
@pytest.mark.parametrize(
    'result, got',
    [
        (None, 'got None'),
        ('abc', "got str 'abc'"),
        ((), r'got tuple \(\)'),
        ([None], 'list'),
        (Variable(None), 'got a Variable holding None'),
    ],
    ids=['None', 'str', 'empty tuple', 'list of None', 'empty Variable'],
)
def test_a_function_that_returns_no_variable_is_refused(check, result, got):
    name = check.__name__
    with pytest.raises(
        TypeError,
        match=f'{name}: f must return a Variable or an array, or a tuple or list of them .*{got}',
    ):
        check(lambda v: result, np.ones(2))


# ---- the second derivatives by the output weights -------------------------------------
class SineCutFromGy(Function):
    """sin whose backward is right in value but takes gy's data: its recorded graph
    does not lead back to gy, so the gradient's derivative by the weights is lost."""

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.inputs
        return Variable(gy.data.copy()) * F.cos(x)


def test_gradgrad_check_catches_a_backward_cut_off_from_its_incoming_gradient(x, capsys):
    f = lambda v: SineCutFromGy()(v)  # noqa: E731
    assert gradient_check(f, x) is True  # right to first order
    assert gradgrad_check(f, x) is False  # it passed
    out = capsys.readouterr().out
    assert 'gradgrad_check (derivatives by the output weights): worst mismatch' in out
    assert gradgrad_check(lambda v: (F.sin(v), f(v)), x) is False
    assert 'by the weights of output 1): worst mismatch' in capsys.readouterr().out


@pytest.mark.parametrize('dtype', [np.float32, np.float16])
def test_gradgrad_check_by_the_output_weights_in_a_narrow_dtype(dtype):
    # steps of the cube root of the dtype's resolution, times |x| (here 0.1 |x| in
    # float16), and the direction taken as the probes are stored
    x = np.array([1.5, -2.5, 3.0, 20.0], dtype)
    rtol = 1e-3 if dtype == np.float32 else 3e-2
    assert gradgrad_check(lambda v: v**3, x, dtype=None, rtol=rtol, atol=rtol)
    f = lambda v: SineCutFromGy()(v) * 1.0  # noqa: E731
    assert not gradgrad_check(f, x, dtype=None, rtol=rtol, atol=rtol)


# ---- under no_grad() and for functions that leave the graph ------------------------------
@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
def test_the_checks_work_under_no_grad(check, x, capsys):
    import dezero

    with dezero.no_grad():
        assert check(F.sin, x) is True  # backprop 0.0 against the numerical gradient
        assert dezero.Config.enable_backprop is False
    assert capsys.readouterr().out == ''


@pytest.mark.parametrize('check', [gradient_check, gradgrad_check])
def test_a_function_computed_outside_the_graph_is_named_as_such(check, x, capsys):
    assert check(lambda v: Variable(np.sin(v.data)), x) is False
    out = capsys.readouterr().out
    assert "f's output is not connected to x in the graph" in out, out
    assert 'backprop 0.0' not in out
    assert check(lambda v: Variable(np.ones(3)), x) is True  # constant: nothing to reach


# ---- numerical_grad: what f returns, and the shape of what it gives -----------------------
@pytest.mark.parametrize(
    'result, got',
    [(None, 'got None'), ('abc', "got str 'abc'"), (Variable(None), 'a Variable holding None')],
    ids=['None', 'str', 'empty Variable'],
)
def test_numerical_grad_refuses_a_function_that_returns_no_numbers(result, got):
    # None gave [nan, nan]
    with pytest.raises(TypeError, match=f'numerical_grad: f must return a Variable .*{got}'):
        numerical_grad(lambda v: result, np.array([0.3, 0.5]))


def test_numerical_grad_of_a_0d_input_is_a_0d_array():
    grad = numerical_grad(lambda v: v**2, np.array(3.0))
    assert isinstance(grad, np.ndarray) and grad.shape == ()  # was np.float64
    assert grad == pytest.approx(6.0)
    parts = numerical_grad(lambda v: (v**2, 3 * v), np.array([1.0, 2.0]))  # several summed
    np.testing.assert_allclose(parts, [5.0, 7.0], rtol=1e-9)


def test_the_earlier_name_check_backward_is_gradient_check():
    # the book repository's earlier unit tests import it: they failed to import
    from dezero.utils import check_backward, gradient_check

    assert check_backward is gradient_check
    assert check_backward(lambda x: x * x, np.array([1.0, 2.0]))


def test_numerical_grad_of_a_float32_layer_is_taken_in_float64():
    # the layer cast the float64 probe back to float32: a relative error of 3e-3
    import dezero.layers as L

    np.random.seed(0)
    layer = L.Linear(5, in_size=4)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    exact = np.ones((3, 5)) @ layer.W.data.astype(np.float64).T
    np.testing.assert_allclose(numerical_grad(layer, x), exact, rtol=1e-7)


@pytest.mark.filterwarnings('ignore::PendingDeprecationWarning')  # NumPy's, on np.matrix
def test_numerical_grad_takes_a_matrix_as_a_plain_array():
    # it indexed the matrix's rows where it meant elements: IndexError
    g = numerical_grad(lambda x: x * x, np.matrix([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(g, [[2.0, 4.0], [6.0, 8.0]], rtol=1e-7)

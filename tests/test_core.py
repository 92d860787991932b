"""The engine: Variable, Function, Config and backward."""

import copy
import gc
import pickle
import sys
import weakref

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Config, Function, Parameter, Variable, as_array, as_variable
from dezero.functions.math import Exp, Tanh
from dezero.functions.array import Reshape


def var(*values, dtype=np.float64):
    return Variable(np.array(values if len(values) > 1 else values[0], dtype=dtype))


# ---- Variable --------------------------------------------------------------------------
@pytest.mark.parametrize('bad', [1.0, 3, [1.0, 2.0], (1,), 'abc'])
def test_variable_refuses_non_arrays_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__) as info:
        Variable(bad)
    assert 'np.array' in str(info.value)


def test_variable_accepts_none_and_arrays():
    assert Variable(None).data is None
    v = Variable(np.zeros((2, 3), np.float32), name='w')
    assert (v.shape, v.ndim, v.size, v.dtype, len(v), v.name) == ((2, 3), 2, 6, np.float32, 2, 'w')
    assert v.grad is None and v.creator is None and v.generation == 0


def test_repr_single_and_multi_line():
    assert repr(var(1.0, 2.0)) == 'variable([1. 2.])'
    assert repr(Variable(None)) == 'variable(None)'
    assert repr(Variable(np.array([[1, 2], [3, 4]]))) == 'variable([[1 2]\n          [3 4]])'


def test_as_array_and_as_variable():
    assert isinstance(as_array(2.0), np.ndarray)
    a = np.ones(3)
    assert as_array(a) is a
    v = Variable(a)
    assert as_variable(v) is v
    assert as_variable(a).data is a
    with pytest.raises(TypeError, match='list'):
        as_variable([1, 2])


def test_parameter_is_a_variable():
    p = Parameter(np.ones(2))
    y = (p * 3.0).sum()
    y.backward()
    assert isinstance(p, Variable)
    assert np.array_equal(p.grad.data, [3.0, 3.0])


def test_to_cpu_is_a_noop_and_to_gpu_explains():
    v = var(1.0, 2.0)
    data = v.data
    v.to_cpu()
    assert v.data is data
    with pytest.raises(RuntimeError, match='CuPy'):
        v.to_gpu()


# ---- conversions to numbers and arrays ----------------------------------------------------
@pytest.mark.parametrize('shape', [(), (1,), (1, 1), (1, 1, 1)])
def test_one_element_variables_convert_to_python_numbers(shape):
    v = Variable(np.full(shape, 2.75, np.float32))
    assert float(v) == 2.75 and type(float(v)) is float
    assert int(v) == 2 and type(int(v)) is int
    assert v.item() == 2.75 and type(v.item()) is float
    assert int(Variable(np.full(shape, -3, np.int64))) == -3
    assert Variable(np.full(shape, 7, np.int32)).item() == 7


def test_conversion_of_a_variable_of_other_sizes_names_the_shape():
    v = Variable(np.zeros((2, 3)))
    for convert, error in ((float, TypeError), (int, TypeError), (lambda x: x.item(), ValueError)):
        with pytest.raises(error, match=r'one element.*got shape \(2, 3\)'):
            convert(v)
    with pytest.raises(TypeError, match=r'got shape \(0,\)'):
        float(Variable(np.zeros(0)))
    with pytest.raises(ValueError, match='no data'):
        Variable(None).item()


def test_np_asarray_and_np_array_give_the_data():
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    v = Variable(data)
    a = np.asarray(v)
    assert a is data  # no copy, as for an ndarray
    b = np.array(v)
    assert b is not data and b.dtype == np.float32
    np.testing.assert_array_equal(b, data)
    c = np.asarray(v, dtype=np.float64)
    assert c.dtype == np.float64 and c.shape == (2, 3)
    np.testing.assert_array_equal(c, data)
    assert np.asarray(v, dtype=np.float32) is data
    stacked = np.array([Variable(np.array(1.0)), Variable(np.array(2.5))])
    assert stacked.dtype == np.float64 and stacked.tolist() == [1.0, 2.5]
    assert v.__array__(copy=True) is not data  # the NumPy 2 signature
    np.testing.assert_array_equal(v.__array__(np.int64, copy=None), data.astype(np.int64))
    with pytest.raises(ValueError, match=r'float32; making it float64 needs a copy'):
        v.__array__(np.float64, copy=False)
    assert v.__array__(np.float32, copy=False) is data
    with pytest.raises(ValueError, match='no data'):
        np.asarray(Variable(None))


@pytest.mark.skipif(
    np.lib.NumpyVersion(np.__version__) < '2.0.0', reason='copy= reaches __array__ from NumPy 2 on'
)
def test_np_asarray_copy_keyword_reaches_the_variable():
    v = Variable(np.zeros(3, np.float32))
    assert np.asarray(v, copy=True) is not v.data
    with pytest.raises(ValueError, match='needs a copy'):
        np.asarray(v, dtype=np.float64, copy=False)


@pytest.mark.parametrize(
    'op',
    [
        lambda a, v: a + v,
        lambda a, v: a - v,
        lambda a, v: a * v,
        lambda a, v: a / v,
        lambda a, v: a**v,
        lambda a, v: a @ v,
        lambda a, v: np.float32(2.0) * v,
        lambda a, v: np.float64(2.0) + v,
        lambda a, v: np.int64(3) - v,
    ],
)
def test_arithmetic_with_arrays_still_gives_variables_and_gradients(op):
    a = np.full((2, 2), 2.0)
    v = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = op(a, v)
    assert isinstance(y, Variable) and y.creator is not None
    y.sum().backward()
    assert v.grad is not None and v.grad.shape == (2, 2)


def test_numpy_ufuncs_still_refuse_variables():
    v = Variable(np.ones(2))
    with pytest.raises(TypeError, match='ufunc'):
        np.exp(v)
    with pytest.raises(TypeError, match='ufunc'):
        np.add(np.ones(2), v)


# ---- operators -------------------------------------------------------------------------
@pytest.mark.parametrize(
    'op, expected',
    [
        (lambda x: x + 2.0, [3.0, 4.0]),
        (lambda x: 2.0 + x, [3.0, 4.0]),
        (lambda x: x - 2.0, [-1.0, 0.0]),
        (lambda x: 2.0 - x, [1.0, 0.0]),
        (lambda x: x * 2, [2.0, 4.0]),
        (lambda x: 2 * x, [2.0, 4.0]),
        (lambda x: x / 2.0, [0.5, 1.0]),
        (lambda x: 2.0 / x, [2.0, 1.0]),
        (lambda x: x**2, [1.0, 4.0]),
        (lambda x: 2.0**x, [2.0, 4.0]),
        (lambda x: -x, [-1.0, -2.0]),
        (lambda x: np.array([1.0, 1.0]) + x, [2.0, 3.0]),
        (lambda x: np.array([1.0, 1.0]) - x, [0.0, -1.0]),
        (lambda x: np.array([4.0, 4.0]) / x, [4.0, 2.0]),
        (lambda x: x * np.array([3.0, 3.0]), [3.0, 6.0]),
        (lambda x: np.float32(3.0) * x, [3.0, 6.0]),
        (lambda x: x + var(1.0, 1.0), [2.0, 3.0]),
    ],
)
def test_operators_with_every_kind_of_operand(op, expected):
    y = op(var(1.0, 2.0))
    assert isinstance(y, Variable)
    np.testing.assert_allclose(y.data, expected)


@pytest.mark.parametrize(
    'op',
    [
        lambda x: x * 2.0,
        lambda x: 2.0 * x,
        lambda x: x + 1,
        lambda x: 1.5 - x,
        lambda x: x / 3.0,
        lambda x: 1.0 / x,
        lambda x: x**2.0,
        lambda x: 2.0**x,
        lambda x: x * np.float64(2.0),
        lambda x: np.float64(2.0) + x,
    ],
)
def test_scalars_keep_the_variable_dtype(op):
    x = var(1.0, 2.0, dtype=np.float32)
    y = op(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_int_variable_with_float_scalar_becomes_float():
    y = Variable(np.array([1, 2])) * 0.5
    assert y.dtype.kind == 'f'
    np.testing.assert_allclose(y.data, [0.5, 1.0])


def test_array_methods():
    x = Variable(np.arange(6.0).reshape(2, 3))
    assert x.reshape(3, 2).shape == (3, 2)
    assert x.reshape((6,)).shape == (6,)
    assert x.transpose().shape == (3, 2) and x.T.shape == (3, 2)
    assert Variable(np.zeros((2, 3, 4))).transpose(1, 0, 2).shape == (3, 2, 4)
    assert Variable(np.zeros((2, 3, 4))).transpose((2, 0, 1)).shape == (4, 2, 3)
    assert float(x.sum().data) == 15.0
    np.testing.assert_array_equal(x.sum(axis=0).data, [3.0, 5.0, 7.0])
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert float(x.max().data) == 5.0 and float(x.min().data) == 0.0
    np.testing.assert_array_equal(x.matmul(x.T).data, x.data @ x.data.T)
    np.testing.assert_array_equal(x.dot(x.T).data, x.data @ x.data.T)
    np.testing.assert_array_equal((x @ x.T).data, x.data @ x.data.T)
    np.testing.assert_array_equal(x[1].data, [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(x[:, 2].data, [2.0, 5.0])
    np.testing.assert_array_equal(x[[0, 0, 1]].data, x.data[[0, 0, 1]])


def test_unsupported_operand_is_refused_clearly():
    with pytest.raises(TypeError, match='list'):
        var(1.0, 2.0) + [1.0, 2.0]


# ---- backward --------------------------------------------------------------------------
def test_backward_seeds_ones_and_chains():
    x = var(3.0)
    y = (x * x + x).sum()
    y.backward()
    assert float(x.grad.data) == 7.0  # 2x + 1


def test_backward_needs_data():
    with pytest.raises(ValueError, match='None'):
        Variable(None).backward()


def test_same_variable_twice():
    x = var(3.0)
    (x + x).backward()
    assert float(x.grad.data) == 2.0
    x.cleargrad()
    (x * x * x).backward()
    assert float(x.grad.data) == 27.0  # 3 x^2


def test_gradients_accumulate_until_cleared():
    x = var(3.0)
    (x * 2.0).backward()
    (x * 2.0).backward()
    assert float(x.grad.data) == 4.0
    x.cleargrad()
    assert x.grad is None


class CountingSquare(Function):
    """x**2 that counts how often backward runs (for checking the traversal)."""

    calls = 0

    def forward(self, x):
        return x**2

    def backward(self, gy):
        CountingSquare.calls += 1
        (x,) = self.inputs
        return 2 * x * gy


def test_diamond_visits_each_function_once_after_all_gradients_arrive():
    CountingSquare.calls = 0
    x = var(2.0)
    a = CountingSquare()(x)
    y = CountingSquare()(a) + CountingSquare()(a)  # 2 x^4
    y.backward()
    assert CountingSquare.calls == 3
    assert float(x.grad.data) == 64.0  # 8 x^3


def test_variable_used_in_many_places():
    x = var(1.5)
    ys = [x * float(k) for k in range(1, 11)]
    total = ys[0]
    for y in ys[1:]:
        total = total + y
    total.backward()
    assert float(x.grad.data) == pytest.approx(55.0)


def test_retain_grad():
    x = var(2.0)
    a = x * x
    y = a * 3.0
    y.backward()
    assert a.grad is None and y.grad is None
    x.cleargrad()
    a = x * x
    y = a * 3.0
    y.backward(retain_grad=True)
    assert float(a.grad.data) == 3.0 and float(y.grad.data) == 1.0


# An intermediate's .grad kept by a retain_grad pass does not outlive the next pass
# through it: without retain_grad the book sets .grad of every output of each function
# it runs to None; with retain_grad it adds the new gradient (and so does dezero).
@pytest.mark.parametrize('create_graph', [False, True])
@pytest.mark.parametrize('anomaly', [False, True])  # (the pass's general path)
def test_a_later_pass_without_retain_grad_clears_a_kept_intermediate_gradient(
    create_graph, anomaly
):
    with dezero.detect_anomaly(anomaly):
        x = var(2.0)
        a = x**2
        (a * 3.0).backward(retain_grad=True)
        assert float(a.grad.data) == 3.0
        x.cleargrad()
        (a * 5.0).backward(create_graph=create_graph)
    assert a.grad is None
    assert float(x.grad.data) == 20.0  # 5 * 2x: the kept 3 takes no part


def test_retain_grad_twice_accumulates_in_the_intermediate_as_in_the_book():
    x = var(2.0)
    a = x**2
    (a * 3.0).backward(retain_grad=True)
    x.cleargrad()
    (a * 5.0).backward(retain_grad=True)
    assert float(a.grad.data) == 8.0  # 3 + 5
    assert float(x.grad.data) == 20.0  # this pass's 5 * 2x only
    (a * 7.0).backward()
    assert a.grad is None


def test_the_output_a_pass_started_from_loses_its_kept_gradient_in_a_later_pass():
    x = var(2.0)
    y = x * 3.0
    y.backward(retain_grad=True)
    assert float(y.grad.data) == 1.0
    (y * 2.0).backward()
    assert y.grad is None
    assert float(x.grad.data) == 3.0 + 6.0


class _TwiceThrice(Function):
    """Two outputs, 2x and 3x, as in the book (retaining everything)."""

    def forward(self, x):
        return x * 2.0, x * 3.0

    def backward(self, gp, gq):
        return gp * 2.0 + gq * 3.0


def test_a_later_pass_clears_every_kept_output_of_a_function_it_runs():
    x = var(1.0)
    p, q = _TwiceThrice()(x)
    (p + q).backward(retain_grad=True)
    assert float(p.grad.data) == 1.0 and float(q.grad.data) == 1.0
    x.cleargrad()
    (p * 5.0).backward()  # runs _TwiceThrice, through p only
    assert p.grad is None and q.grad is None
    assert float(x.grad.data) == 10.0


def test_an_output_unchained_into_a_leaf_keeps_its_gradient_in_a_later_pass():
    x = var(1.0)
    p, q = _TwiceThrice()(x)
    p.unchain()  # a leaf now, summing its gradients over passes
    (p * 4.0).backward()
    assert float(p.grad.data) == 4.0
    (q * 5.0 + p).backward()  # runs _TwiceThrice, whose output p is no longer
    assert float(p.grad.data) == 5.0 and float(x.grad.data) == 15.0


def test_backprop_leaves_kept_gradients_alone():
    from dezero.core import backprop

    x = var(2.0)
    a = x**2
    (a * 3.0).backward(retain_grad=True)
    grads = backprop([a * 5.0], [np.array(1.0)])
    assert float(a.grad.data) == 3.0  # nothing stored, nothing cleared
    assert float(grads[x]) == 20.0


def test_no_grad_records_nothing_and_restores():
    x = var(2.0)
    with dezero.no_grad():
        y = x * x
        assert Config.enable_backprop is False
    assert y.creator is None
    assert Config.enable_backprop is True
    assert (x * x).creator is not None


def test_using_config_restores_after_an_error_and_rejects_unknown_names():
    with pytest.raises(KeyError):
        with dezero.test_mode():
            assert Config.train is False
            raise KeyError('boom')
    assert Config.train is True
    with pytest.raises(AttributeError, match='enable_backprp'):
        with dezero.using_config('enable_backprp', False):
            pass


@pytest.mark.parametrize('name', ['enable_backprop', 'train', 'detect_anomaly'])
def test_the_switches_are_true_or_false_and_a_string_is_refused(name):
    with pytest.raises(TypeError, match=f"using_config: {name} must be True or False, got 'False'"):
        with dezero.using_config(name, 'False'):
            pass
    with pytest.raises(TypeError, match=f'Config: {name} must be True or False, got 0'):
        setattr(Config, name, 0)
    assert Config.enable_backprop is True and Config.train is True
    assert Config.detect_anomaly is False
    with dezero.using_config(name, np.False_):  # a NumPy bool is a bool
        assert getattr(Config, name) is False
    assert getattr(Config, name) is (name != 'detect_anomaly')


def test_unchain_and_unchain_backward():
    x = var(2.0)
    a = x * 2.0
    b = a + 1.0
    y = b * 3.0
    b.unchain()
    assert b.creator is None
    y.backward(retain_grad=True)
    assert x.grad is None and float(b.grad.data) == 3.0

    x = var(2.0)
    a = x * 2.0
    b = a + 1.0
    y = b * 3.0
    y.unchain_backward()
    assert a.creator is None and b.creator is None and y.creator is not None
    y.backward()
    assert x.grad is None


def test_unchain_backward_truncates_the_graph_in_place():
    x = var(1.0)
    h = x
    for _ in range(5):
        h = h * 2.0
    h.unchain_backward()
    h2 = h * 2.0
    h2.backward(retain_grad=True)
    assert x.grad is None
    assert float(h.grad.data) == 2.0


def test_wrong_number_of_gradients_is_an_error():
    class Bad(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, gy):
            return gy

    y = Bad()(var(1.0), var(2.0))
    with pytest.raises(ValueError, match='Bad.backward returned 1 gradients for 2 inputs'):
        y.backward()


def test_several_outputs_return_a_list_and_unused_outputs_get_zero_gradient():
    class Split(Function):
        def forward(self, x):
            return x[:2], x[2:]

        def backward(self, g0, g1):
            return F.concat([g0, g1])

    x = var(1.0, 2.0, 3.0)
    outs = Split()(x)
    assert isinstance(outs, list) and len(outs) == 2
    a, b = outs
    (a * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 0.0])


def test_forward_errors_name_the_function_and_the_input_shapes():
    with pytest.raises(ValueError, match=r'Add: .*\(2, 3\).*\(4,\)'):
        Variable(np.ones((2, 3))) + Variable(np.ones(4))


def test_forward_errors_whose_message_numpy_builds_name_the_function_too():
    # NumPy's AxisError and UFuncTypeError make their messages from their attributes,
    # so the name must go into a new error of the same kind, not into args[0]
    with pytest.raises(np.exceptions.AxisError) as info:
        F.Softmax(3)(Variable(np.ones((3, 4))))  # the book's class, called directly
    assert str(info.value).startswith('Softmax: axis 3 is out of bounds')
    assert '(inputs: (3, 4) float64)' in str(info.value)

    class Mismatch(ValueError):  # made from two values, as UFuncTypeError is
        def __init__(self, got, wanted):
            super().__init__(got, wanted)
            self.got = got

        def __str__(self):
            return f'got {self.args[0]}, wanted {self.args[1]}'

    class Picky(Function):
        def forward(self, x):
            raise Mismatch(1, 2)

    # an error class of one's own keeps its class and attributes
    with pytest.raises(Mismatch) as info:
        Picky()(Variable(np.ones(3)))
    assert info.value.got == 1 and str(info.value) == 'got 1, wanted 2'
    if sys.version_info >= (3, 11):
        assert info.value.__notes__ == ['raised in Picky.forward (inputs: (3,) float64)']


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r'\(2, 3\).*\(4, 5\)'):
        F.matmul(Variable(np.ones((2, 3))), Variable(np.ones((4, 5))))


# ---- higher order ----------------------------------------------------------------------
def test_second_derivative_of_x4():
    x = var(2.0)
    y = x**4
    y.backward(create_graph=True)
    assert float(x.grad.data) == 32.0
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert float(x.grad.data) == 48.0


def test_a_plain_pass_adds_to_a_recorded_grad_without_dropping_its_graph():
    # the sum was a fresh Variable: x.grad's graph was gone, and differentiating it
    # again silently gave nothing
    x = var(3.0)
    y = x**3
    y.backward(create_graph=True)
    y.backward()
    assert float(x.grad.data) == 54.0 and x.grad.creator is not None
    g = x.grad
    x.cleargrad()
    g.backward()
    assert float(x.grad.data) == 18.0  # d(3x^2)/dx: the plain pass's 27 is a constant


@pytest.mark.parametrize('create_graph', [False, True])
def test_backprop_to_targets_one_behind_another_gives_whole_derivatives(create_graph):
    # with a and x both targets, the pass stopped at a: dy/dx came out as the partial
    # derivative with a held fixed, as if x reached y only directly
    from dezero.core import backprop

    x = var(3.0)
    a = x * 2
    y = a * x  # 2x^2: dy/da = x = 3, dy/dx = a + 2x = 12
    grads = backprop([y], [Variable(np.array(1.0))], create_graph=create_graph, targets=[a, x])
    value = (lambda g: g.data) if create_graph else (lambda g: g)
    assert float(value(grads[a])) == 3.0 and float(value(grads[x])) == 12.0
    b = a * a + 1  # through a alone: dy/da = 2a = 12, dy/dx = 8x = 24
    grads = backprop([b], [Variable(np.array(1.0))], create_graph=create_graph, targets=[a, x])
    assert float(value(grads[a])) == 12.0 and float(value(grads[x])) == 24.0
    assert x.grad is None and a.grad is None  # nothing stored


def test_first_four_derivatives_of_sin():
    values = np.linspace(-3, 3, 7)
    x = Variable(values.copy())
    y = F.sin(x)
    expected = [np.cos, lambda v: -np.sin(v), lambda v: -np.cos(v), np.sin]
    for derivative in expected:
        x.cleargrad()
        y.backward(create_graph=True)
        y = x.grad
        np.testing.assert_allclose(y.data, derivative(values), atol=1e-12)


def test_create_graph_false_records_nothing():
    x = var(2.0)
    (x**3).backward()
    assert x.grad.creator is None


def test_newton_step_with_automatic_second_derivative():
    x = var(2.0)
    for _ in range(10):
        y = x**4 - 2 * x**2
        x.cleargrad()
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        gx.backward()
        x.data -= gx.data / x.grad.data
    assert float(x.data) == pytest.approx(1.0)


# ---- memory and scale ------------------------------------------------------------------
def test_graph_is_freed_on_del_without_the_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        x = var(1.0, 2.0)
        a = x * 2.0
        y = F.exp(a) + a
        y.sum().backward()
        refs = [weakref.ref(a), weakref.ref(y), weakref.ref(y.creator)]
        del a, y
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_long_chain_backprop_and_free_without_recursion():
    gc.disable()
    try:
        x = var(0.5)
        y = x
        for _ in range(100_000):
            y = y + 1e-6
        ref = weakref.ref(y.creator)
        y.backward()
        assert float(x.grad.data) == 1.0
        del y
        assert ref() is None
    finally:
        gc.enable()


# ---- reused Function objects -----------------------------------------------------------
def test_reused_function_object_gives_correct_gradients_for_every_call():
    act = Tanh()
    x1, x2 = var(0.3, -1.0), var(2.0, 0.1)
    y = (act(x1) * 2.0 + act(x2)).sum()
    y.backward()
    np.testing.assert_allclose(x1.grad.data, 2 * (1 - np.tanh(x1.data) ** 2))
    np.testing.assert_allclose(x2.grad.data, 1 - np.tanh(x2.data) ** 2)


def test_reused_function_keeps_forward_state_per_call():
    flatten = Reshape((-1,))
    a = Variable(np.ones((2, 3)))
    b = Variable(np.ones((3, 1)))
    y = F.concat([flatten(a), flatten(b)]).sum()
    y.backward()
    assert a.grad.shape == (2, 3) and b.grad.shape == (3, 1)


def test_reused_function_after_a_no_grad_call_still_backprops_the_first():
    exp = Exp()
    x = var(1.0)
    y = exp(x)
    with dezero.no_grad():
        exp(var(5.0))
    y.backward()
    assert float(x.grad.data) == pytest.approx(np.e)


# ---- dtype -----------------------------------------------------------------------------
def test_float32_network_stays_float32():
    rng = np.random.default_rng(0)
    x = Variable(rng.standard_normal((4, 3)).astype(np.float32))
    w = Variable(rng.standard_normal((3, 2)).astype(np.float32))
    b = Variable(np.zeros(2, np.float32))
    y = F.tanh(x @ w + b) * 0.5 + 1.0
    loss = F.sum((y - 2.0) ** 2) / 8.0
    assert loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32


def _leaves(v):
    """The leaf Variables of the graph behind ``v``."""
    found, stack, seen = [], [v.creator], set()
    while stack:
        f = stack.pop()
        if f in seen:
            continue
        seen.add(f)
        for x in f.inputs:
            if x.creator is None:
                found.append(x)
            else:
                stack.append(x.creator)
    return found


def test_a_gradients_graph_does_not_propagate_into_the_seed_it_started_from():
    x = Variable(np.array([0.5, -1.0]))
    y = F.tanh(x) * 3.0
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    seeds = [v for v in _leaves(gx) if v is not x]
    # the ones of y: a constant, which the graph holds as a stand-in (no backward reads it)
    assert seeds and all(not s.requires_grad and s.shape == (2,) for s in seeds)
    gx.backward()
    t = np.tanh([0.5, -1.0])
    np.testing.assert_allclose(x.grad.data, 3 * -2 * t * (1 - t**2))
    assert all(s.grad is None for s in seeds)


def test_a_seed_the_user_gives_is_differentiated():
    x = Variable(np.array([0.5, -1.0]))
    y = x * x
    seed = Variable(np.array([2.0, 3.0]))
    y.grad = seed
    y.backward(create_graph=True)
    gx = x.grad  # 2 x seed
    x.cleargrad()
    F.sum(gx).backward()
    np.testing.assert_allclose(seed.grad.data, [1.0, -2.0])  # d/dseed = 2 x
    np.testing.assert_allclose(x.grad.data, [4.0, 6.0])  # d/dx = 2 seed


@pytest.mark.parametrize(
    'make',
    [
        lambda x: x + 0.0,  # passes the seed on as it is
        lambda x: F.reshape(x, (2,)),  # passes on a view of it
        lambda x: x,  # the leaf itself
    ],
    ids=['add', 'reshape', 'leaf'],
)
def test_a_recorded_pass_gives_no_grad_the_seed_variable_itself_and_still_differentiates_it(make):
    x = Variable(np.array([[1.0, 2.0]]))
    y = make(x)
    seed = Variable(np.array([5.0, 6.0]).reshape(y.shape))
    y.grad = seed
    y.backward(create_graph=True)
    gx = x.grad
    assert gx is not seed and not np.shares_memory(gx.data, seed.data)
    gx.data *= 0  # a .grad of its own, as the first-order pass gives
    np.testing.assert_array_equal(seed.data, np.array([5.0, 6.0]).reshape(y.shape))
    x.cleargrad()
    F.sum(gx).backward()
    np.testing.assert_array_equal(seed.grad.data, np.ones(y.shape))  # d sum(seed) / d seed


def test_a_seed_variable_passed_through_a_hook_is_still_differentiated():
    x = Variable(np.array([0.5, -1.0]))
    y = x * x
    y.register_hook(lambda g: g * 3.0)
    seed = Variable(np.array([2.0, 3.0]))
    y.grad = seed
    y.backward(create_graph=True)
    gx = x.grad  # 2 x (3 seed)
    x.cleargrad()
    F.sum(gx).backward()
    np.testing.assert_allclose(seed.grad.data, [3.0, -6.0])  # d/dseed = 6 x
    np.testing.assert_allclose(x.grad.data, [12.0, 18.0])  # d/dx = 6 seed


@pytest.mark.parametrize('create_graph', [False, True])
def test_a_generation_changed_by_hand_is_an_error_not_a_missing_gradient(create_graph):
    x = Variable(np.array(2.0))
    y = x * 3.0
    z = y * y
    y.creator.generation = z.creator.generation + 5  # claims to come after z
    with pytest.raises(RuntimeError, match=r'MulConstant has generation 6, not below 1'):
        z.backward(create_graph=create_graph)


def test_functions_of_many_generations_waiting_at_once_each_run_once():
    x = Variable(np.array(1.0))
    chain = [x]
    for _ in range(50):
        chain.append(chain[-1] * 1.5)
    total = chain[1]
    for v in chain[2:]:  # every link of the chain feeds the sum
        total = total + v
    total.backward()
    assert float(x.grad.data) == pytest.approx(sum(1.5**k for k in range(1, 51)))


def test_a_recorded_backward_tells_functions_which_gradients_are_wanted():
    seen = []

    class Spy(Function):
        """y = x0 * x1, recording needs_input_grad in backward."""

        def forward(self, x0, x1):
            return x0 * x1

        def backward(self, gy, *, needs_input_grad):
            seen.append(needs_input_grad)
            x0, x1 = self.inputs
            return gy * x1, gy * x0

    x = Variable(np.array(2.0))
    y = F.tanh(x)
    y.backward(create_graph=True)
    gx = x.grad  # its graph holds y's seed of ones
    x.cleargrad()
    seed = next(v for v in _leaves(gx) if v is not x)
    z = Spy()(gx, seed)  # the seed's side leads to no real leaf
    z.backward(create_graph=True)
    w = Spy()(gx, x)
    w.backward(create_graph=True)
    assert seen == [(True, False), (True, True)]
    assert 'needs_input_grad' not in vars(z.creator)  # handed over, not stored
    assert seed.grad is None


# --------------------------------------------------------------------------------------
# Functions written as in the book
# --------------------------------------------------------------------------------------
class BookSin(Function):
    """sin as the book writes it: backward reads self.inputs and returns a Variable."""

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * F.cos(x)


class BookSquare(Function):
    """x ** 2 as the book's early steps write it: backward reads gy.data and returns an
    array."""

    def forward(self, x):
        return x**2

    def backward(self, gy):
        x = self.inputs[0].data
        return 2 * x * gy.data


def test_a_book_style_function_works_in_both_passes_and_to_second_order():
    x = Variable(np.array([0.3, -1.2]))
    BookSin()(x).backward()  # first order, the pass on arrays
    np.testing.assert_allclose(x.grad.data, np.cos([0.3, -1.2]))
    x.cleargrad()
    F.sum(BookSin()(x)).backward(create_graph=True)  # recorded
    gx = x.grad
    np.testing.assert_allclose(gx.data, np.cos([0.3, -1.2]))
    x.cleargrad()
    F.sum(gx).backward()
    np.testing.assert_allclose(x.grad.data, -np.sin([0.3, -1.2]))
    assert dezero.utils.gradient_check(lambda v: BookSin()(v), np.array([0.1, 2.0]))
    assert dezero.utils.gradgrad_check(lambda v: BookSin()(v), np.array([0.1, 2.0]))


def test_a_book_style_backward_reading_gy_data_gets_a_variable_as_in_the_book():
    x = Variable(np.array([1.5, -2.0]))
    y = BookSquare()(x * 1.0)  # its input is made by another function
    F.sum(y * 3.0).backward()
    np.testing.assert_allclose(x.grad.data, [9.0, -12.0])
    assert isinstance(x.grad, Variable)


class BookTanh(Tanh):
    """A subclass of a built-in function whose backward is written as in the book:
    it reads self.outputs and multiplies gy in place."""

    def backward(self, gy):
        y = self.outputs[0]()
        gy *= 1 - y.data * y.data
        return gy


class BookExp(Exp):
    def backward(self, gy):
        return gy * F.exp(self.inputs[0])


class BookReLU(F.ReLU):
    def backward(self, gy):
        (x,) = self.inputs
        return gy * (x.data > 0)


def test_a_subclass_of_a_built_in_function_with_a_backward_as_in_the_book_works():
    # it inherited the built-in's declarations: its inputs were stand-ins, its outputs
    # were not kept, and gy came as an array shared with the other branch of the sum
    x, w = Variable(np.array([0.5, 1.0])), Variable(np.array([2.0, 3.0]))
    ((BookTanh()(x) + w) * 2.0).backward()
    np.testing.assert_allclose(w.grad.data, [2.0, 2.0])
    np.testing.assert_allclose(x.grad.data, 2 * (1 - np.tanh([0.5, 1.0]) ** 2))
    x = Variable(np.array([0.5, 1.0]))
    BookExp()(x * 2.0).backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp([1.0, 2.0]))
    x = Variable(np.array([-1.0, 1.0]))
    F.sum(BookReLU()(x * 2.0)).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0])
    assert not Tanh._book_style and BookTanh._book_style


class SlottedScale(Function):
    __slots__ = ('k',)

    def __init__(self, k):
        self.k = k

    def forward(self, x):
        return x * self.k

    def backward(self, gy):
        return gy * self.k


def test_a_function_with_slots_keeps_them_in_its_later_calls_and_copies():
    # a later call runs on a copy, which had only the instance dictionary
    f = SlottedScale(3.0)
    x = Variable(np.array([1.0, 2.0]))
    f(x)
    f(x).backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    assert copy.deepcopy(f).k == 3.0 and pickle.loads(pickle.dumps(f)).k == 3.0


class MatrixOut(Function):
    def forward(self, x):
        return np.asmatrix(x)

    def backward(self, gy):
        return np.asmatrix(gy.data * 2)


@pytest.mark.filterwarnings('ignore::PendingDeprecationWarning')  # NumPy's, on np.matrix
@pytest.mark.parametrize('record', [True, False])
def test_a_matrix_from_a_function_is_a_plain_array_and_a_masked_one_is_refused(record):
    # a matrix output computed x * x as a matrix product; its gradient made Adam's
    # grad * grad one too
    x = Variable(np.array([[1.0, -2.0], [3.0, 4.0]]))
    with dezero.using_config('enable_backprop', record):
        y = MatrixOut()(x)
    assert type(y.data) is np.ndarray
    np.testing.assert_array_equal((y * y).data, [[1.0, 4.0], [9.0, 16.0]])
    if record:
        F.sum(y).backward()
        assert type(x.grad.data) is np.ndarray
        np.testing.assert_array_equal(x.grad.data, np.full((2, 2), 2.0))

    class MaskedOut(Function):
        def forward(self, x):
            return np.ma.masked_array(x, mask=x < 0)

    with pytest.raises(TypeError, match=r'MaskedOut\.forward: got a masked array'):
        with dezero.using_config('enable_backprop', record):
            MaskedOut()(x)


@pytest.mark.parametrize('create_graph', [False, True])
def test_a_float32_variable_gets_a_float32_gradient_from_float64_arithmetic(create_graph):
    # NumPy promotes x * c to float64; the gradient is cast back, as PyTorch does
    x = Variable(np.array([1.0, 2.0, 3.0], np.float32))
    y = F.sum(x * np.array([1.0, 2.0, 3.0]) + Variable(np.ones(3)))
    assert y.dtype == np.float64
    y.backward(create_graph=create_graph)
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0, 3.0])
    y.backward(create_graph=create_graph)  # accumulated, still float32
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0])


# ---- the order of a recorded backward pass ----------------------------------------------
def test_the_order_of_a_pass_is_one_more_than_the_highest_order_it_runs():
    # a pass from a forward function (the Sum of a Hessian-vector product) that runs
    # the first pass's functions behind it took 1 + 0, the order of that Sum
    x = Variable(np.array([1.0, 2.0]))
    F.sum(F.sin(x) * x).backward(create_graph=True)
    gx = x.grad
    assert gx.creator.backward_order == 1
    x.cleargrad()
    F.sum(gx * np.array([1.0, 0.5])).backward(create_graph=True)
    assert x.grad.creator.backward_order == 2
    x.cleargrad()
    gx.backward(create_graph=True)  # from the first pass's output itself: 2 as well
    assert x.grad.creator.backward_order == 2


def test_a_first_order_pass_and_a_pass_through_forward_functions_only_keep_their_orders():
    x = Variable(np.array(1.0))
    y = F.exp(F.sin(x))
    y.backward()  # first order: marks nothing
    assert y.creator.backward_order == 0
    x.cleargrad()
    y.backward(create_graph=True)
    assert x.grad.creator.backward_order == 1

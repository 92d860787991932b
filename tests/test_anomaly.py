"""dezero.detect_anomaly(): the first NaN/Inf in forward or backward raises AnomalyError."""

import sys
import weakref

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import AnomalyError, Config, Function, Variable, detect_anomaly
from dezero import anomaly as anomaly_module

pytestmark = pytest.mark.filterwarnings('ignore::RuntimeWarning')  # NumPy's 'divide by zero'


def next_line():
    """The line number just after the caller's line (where the code under test is)."""
    return sys._getframe(1).f_lineno + 1


class RawGradient(Function):
    """y = x, whose backward returns the array ``bad`` as gradient, made without any
    Function call (so only the check of returned gradients can catch it)."""

    def __init__(self, bad):
        self.bad = bad

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return Variable(self.bad)


class Overflow(Function):
    """y = x * 1e30 in the input's dtype (overflows float32)."""

    def forward(self, x):
        return x * x.dtype.type(1e30)

    def backward(self, gy):
        return gy * 1e30


# ---- forward -------------------------------------------------------------------------
def test_forward_nan_or_inf_names_function_shapes_phase_and_source_line():
    x = Variable(np.array([1.0, 0.0, 2.0]))
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        line = next_line()
        F.log(x)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert err.function == 'Log' and err.phase == 'forward'
    assert err.inputs == [((3,), 'float64')]
    test_name = sys._getframe().f_code.co_name
    assert err.source == f'{__file__}:{line} in {test_name}: F.log(x)'
    message = str(err)
    for part in (
        'Log forward produced -inf (1 of 3 values) in output 0',
        '(3,) float64',
        f'test_anomaly.py:{line} in {test_name}: F.log(x)',
        'its inputs were all finite',
    ):
        assert part in message, (part, message)


def test_forward_reports_the_first_function_and_dtype():
    x = Variable(np.array([[1e9, 1e10]], dtype=np.float32))
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        y = Overflow()(x)  # 1e39 and 1e40 overflow float32 to inf
        F.exp(y)
    assert info.value.function == 'Overflow'
    assert info.value.inputs == [((1, 2), 'float32')]
    assert 'inf (2 of 2 values)' in str(info.value)


def test_forward_with_nan_input_blames_the_first_function_and_says_so():
    x = Variable(np.array([np.nan, 1.0]))
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        F.exp(F.sin(x))
    assert info.value.function == 'Sin'
    assert 'nan (1 of 2 values)' in str(info.value)
    assert 'inputs already held non-finite values' in str(info.value)


def test_complex_and_float16_outputs_are_checked():
    with detect_anomaly():
        with pytest.raises(AnomalyError, match='Mul forward'):
            Variable(np.array([1e300 + 1j])) * Variable(np.array([1e300 + 0j]))  # overflows
        with pytest.raises(AnomalyError, match=r'inf \(1 of 1 values\)'):
            Variable(np.array([60000.0], dtype=np.float16)) * 2.0


def test_source_line_is_the_innermost_frame_outside_dezero():
    def helper(v):
        return F.log(v)  # the line that calls into dezero

    helper_line = helper.__code__.co_firstlineno + 1
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        helper(Variable(np.array(0.0)))
    assert info.value.source.startswith(f'{__file__}:{helper_line} in helper: ')


def test_nothing_is_checked_or_recorded_without_the_context_manager(monkeypatch):
    def fail(*args):
        raise AssertionError('anomaly code ran while detection is off')

    monkeypatch.setattr(anomaly_module, 'check_forward', fail)
    monkeypatch.setattr(anomaly_module, 'record_site', fail)
    monkeypatch.setattr(anomaly_module, 'running_backward', fail)
    monkeypatch.setattr(anomaly_module, 'check_backward', fail)
    x = Variable(np.array([0.0, 1.0]))
    y = F.sum(F.sqrt(x) * F.log(x))  # nan and inf flow freely
    y.backward()
    assert np.isnan(y.data)
    assert '_created_at' not in vars(y.creator)


def test_flag_is_restored_after_the_block_even_after_an_error():
    assert Config.detect_anomaly is False
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            assert Config.detect_anomaly is True
            F.log(Variable(np.array(0.0)))
    assert Config.detect_anomaly is False
    with detect_anomaly():
        with detect_anomaly(False):
            y = F.log(Variable(np.array(0.0)))  # switched off inside: no error
        assert Config.detect_anomaly is True
    assert y.data == -np.inf


# ---- backward ------------------------------------------------------------------------
def test_backward_fault_inside_a_functions_backward_names_it_and_its_creation_line():
    x = Variable(np.array([4.0, 0.0, 1.0]))
    with detect_anomaly():
        line = next_line()
        y = F.sqrt(x)  # finite forward; its derivative 1 / (2 sqrt(x)) is inf at 0
        z = F.sum(y * 3.0)
        with pytest.raises(AnomalyError) as info:
            z.backward()
    err = info.value
    assert err.function == 'Sqrt' and err.phase == 'backward'
    assert err.inputs == [((3,), 'float64')]
    assert err.source.startswith(f'{__file__}:{line} ')
    assert err.source.endswith(
        'y = F.sqrt(x)  # finite forward; its derivative 1 / (2 sqrt(x)) is inf at 0'
    )
    message = str(err)
    for part in (
        'Sqrt backward produced inf (1 of 3 values)',
        'its inputs and the gradient flowing into it were all finite',
        f'test_anomaly.py:{line}',
    ):
        assert part in message, (part, message)


def test_backward_checks_every_returned_gradient():
    x = Variable(np.array([1.0, 2.0]))
    with detect_anomaly():
        y = F.sum(RawGradient(np.array([0.5, np.nan]))(x))
        with pytest.raises(AnomalyError) as info:
            y.backward()
    assert info.value.function == 'RawGradient' and info.value.phase == 'backward'
    assert 'nan (1 of 2 values) in the gradient for input 0' in str(info.value)


def test_backward_of_a_graph_made_outside_the_block_says_the_line_is_unknown():
    x = Variable(np.array([0.0]))
    z = F.sum(F.sqrt(x))
    with detect_anomaly(), pytest.raises(AnomalyError) as info:
        z.backward()
    assert info.value.function == 'Sqrt' and info.value.source is None
    assert 'created outside detect_anomaly()' in str(info.value)


def test_backward_fault_with_create_graph_and_in_second_order():
    x = Variable(np.array([1.0, 0.0]))
    with detect_anomaly():
        y = F.sum(x**3)
        y.backward(create_graph=True)  # 3 x**2: finite
        gx = x.grad
        x.cleargrad()
        g = F.sum(F.sqrt(gx))  # sqrt(3 x**2): finite, but not differentiable at 0
        with pytest.raises(AnomalyError) as info:
            g.backward()
    assert info.value.function == 'Sqrt' and info.value.phase == 'backward'


def test_a_hook_that_returns_nan_is_blamed_on_the_incoming_gradient():
    x = Variable(np.array([1.0, 2.0]))
    with detect_anomaly():
        h = F.exp(x)
        h.register_hook(lambda g: np.full(g.shape, np.nan))
        y = F.sum(h)
        with pytest.raises(AnomalyError) as info:
            y.backward()
    assert info.value.function == 'Exp' and info.value.phase == 'backward'
    assert 'the gradient flowing into it already held non-finite values' in str(info.value)


def test_a_hook_computing_nan_with_variables_is_caught_at_the_hook_line():
    x = Variable(np.array([1.0, 2.0]))
    with detect_anomaly():
        h = F.exp(x)
        line = next_line()
        h.register_hook(lambda g: g * np.nan)
        y = F.sum(h)
        with pytest.raises(AnomalyError) as info:
            y.backward()
    assert info.value.function == 'MulConstant'
    assert info.value.source.startswith(f'{__file__}:{line} in <lambda>: ')


def test_finite_training_step_gives_the_same_gradients_with_detection_on():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    t = np.array([0, 1, 2, 1, 0])
    arrays = [
        rng.standard_normal(shape).astype(np.float32) for shape in [(3, 4), (4,), (4, 3), (3,)]
    ]
    grads = []
    for on in (False, True):
        w1, b1, w2, b2 = params = [dezero.Parameter(a.copy()) for a in arrays]
        with detect_anomaly(on):
            h = F.tanh(F.linear(x, w1, b1))
            loss = F.softmax_cross_entropy(F.linear(h, w2, b2), t)
            loss.backward()
        grads.append([p.grad.data for p in params])
    for a, b in zip(*grads):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_detection_keeps_no_extra_references_to_the_graph():
    x = Variable(np.array([1.0, 2.0]))
    with detect_anomaly():
        y = F.sum(F.tanh(x))
        ref = weakref.ref(y.creator)
        y.backward()
    del y
    assert ref() is None
    assert anomaly_module._backward_stack() == []


@pytest.mark.parametrize('mask', ['causal', 'bool'])
def test_a_masked_attention_is_not_an_anomaly(mask):
    # the -inf of the mask is given to the scores, not produced by a fault
    q = Variable(np.random.default_rng(0).normal(size=(1, 3, 4)))
    with dezero.detect_anomaly():
        if mask == 'causal':
            y = F.scaled_dot_product_attention(q, q, q, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, q, q, mask=np.tril(np.ones((3, 3), bool)))
        F.sum(y).backward()
    assert np.isfinite(q.grad.data).all()


def test_infinities_passed_on_by_later_functions_are_not_an_anomaly():
    # a row that attends to nothing, and -inf put in by where(): the functions after
    # the one given the -inf (where, reshape, ...) only pass it on
    q = Variable(np.random.default_rng(0).normal(size=(1, 2, 4)))
    dead_row = np.array([[True, False], [False, False]])
    with dezero.detect_anomaly():
        y = F.scaled_dot_product_attention(q, q, q, mask=dead_row)
        F.sum(y).backward()
        masked = F.where(np.array([True, False]), Variable(np.ones(2)), np.full(2, -np.inf))
        assert F.reshape(masked, (2, 1)).data[1, 0] == -np.inf
    assert np.isfinite(y.data).all() and np.isfinite(q.grad.data).all()
    with dezero.detect_anomaly():  # NaN is reported even when an input holds -inf
        with pytest.raises(dezero.anomaly.AnomalyError, match='Add forward produced nan'):
            Variable(np.array([np.inf, 1.0])) + Variable(np.array([-np.inf, 1.0]))


def test_an_infinity_made_from_finite_values_is_still_an_anomaly():
    with dezero.detect_anomaly():
        with pytest.raises(dezero.anomaly.AnomalyError, match='Exp forward produced'):
            F.exp(Variable(np.array([1000.0])))


def test_an_overflow_beside_a_given_infinity_is_still_reported_by_an_elementwise_function():
    mask = np.array([0.0, -np.inf, np.inf, np.inf])  # infinities given, as in a mask
    with detect_anomaly():
        F.exp(Variable(np.array([1.0, 2.0, 3.0, 4.0])) + mask)  # all passed on
        made = r'inf \(1 of 4 values made where its inputs are finite, the first at index \(0,\)\)'
        with pytest.raises(AnomalyError, match=r'Exp forward produced ' + made):
            F.exp(Variable(np.array([800.0, 1.0, 2.0, 3.0])) + mask)  # exp(800): made here


def test_an_infinity_spread_by_a_function_that_is_not_elementwise_is_let_through():
    x = Variable(np.array([[np.inf, 1.0], [1.0, 1.0]]))
    with detect_anomaly():  # matmul spreads x's infinity to another position
        y = F.matmul(x, Variable(np.ones((2, 2))))
    assert np.isinf(y.data[0]).all()


@pytest.mark.parametrize('enabled', ['False', 0, None])
def test_detect_anomaly_takes_true_or_false_only(enabled):
    with pytest.raises(TypeError, match='detect_anomaly: enabled must be True or False, got'):
        detect_anomaly(enabled)
    assert Config.detect_anomaly is False
    with detect_anomaly(np.True_):
        assert Config.detect_anomaly is True

"""Elementwise selection: where, maximum, minimum; values and gradients by hand
(ties and nan included), against PyTorch, float32, and the errors."""

import re

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.functions import selection

COND = np.array([[True, False, True], [False, False, True]])


def _grads(f, *arrays, weights=None):
    """f on Variables of ``arrays``, and the gradients of sum(f * weights)."""
    xs = [Variable(np.asarray(a, dtype=float)) for a in arrays]
    y = f(*xs)
    (y * (1.0 if weights is None else weights)).sum().backward()
    return y.data, [x.grad.data for x in xs]


# ---- where -------------------------------------------------------------------------------
def test_where_by_hand():
    x = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    y, (gx, gy) = _grads(lambda a, b: F.where(COND, a, b), x, [-1.0, -2.0, -3.0], weights=2.0)
    np.testing.assert_array_equal(y, [[1.0, -2.0, 3.0], [-1.0, -2.0, 6.0]])
    np.testing.assert_array_equal(gx, [[2.0, 0.0, 2.0], [0.0, 0.0, 2.0]])
    # y (3,) broadcast over the two rows: its gradient summed over them
    np.testing.assert_array_equal(gy, [2.0, 4.0, 0.0])


def test_where_broadcasts_all_three():
    cond = np.array([[True], [False]])  # (2, 1)
    y, (gx, gy) = _grads(lambda a, b: F.where(cond, a, b), [1.0, 2.0, 3.0], 7.0)
    np.testing.assert_array_equal(y, [[1.0, 2.0, 3.0], [7.0, 7.0, 7.0]])
    np.testing.assert_array_equal(gx, [1.0, 1.0, 1.0])
    assert gy.shape == () and gy == 3.0


@pytest.mark.parametrize('wrap', [np.asarray, Variable], ids=['array', 'Variable'])
def test_where_condition_changed_after_the_call_does_not_change_the_gradient(wrap):
    x = Variable(np.array([1.0, -1.0, 2.0]))
    condition = x.data > 0
    y = F.where(wrap(condition), x, 0.0)
    condition[:] = False
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 1.0])


def test_where_takes_a_variable_condition_and_numbers_of_the_other_dtype():
    x = Variable(np.array([1.0, -2.0, 3.0], np.float32))
    y = F.where(Variable(x.data > 0), x, 0.0)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 3.0])
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 1.0])
    assert F.where(np.True_, 1.5, x).dtype == np.float32
    z = F.where(np.array([True, False]), 1.0, 2.0)  # no Variable: a constant
    np.testing.assert_array_equal(z.data, [1.0, 2.0])


def test_where_sends_no_nan_to_the_branch_not_taken():
    # gy * mask would give 0 * inf = nan; where gives 0, as PyTorch does
    x, y = Variable(np.array([1.0, 2.0])), Variable(np.array([3.0, 4.0]))
    out = F.where(np.array([True, False]), x, y)
    out.grad = Variable(np.array([np.inf, 1.0]))
    out.backward()
    np.testing.assert_array_equal(x.grad.data, [np.inf, 0.0])
    np.testing.assert_array_equal(y.grad.data, [0.0, 1.0])


@pytest.mark.parametrize(
    'x_shape, y_shape', [((2, 3), (2, 3)), ((3,), (2, 1)), ((2, 1), ()), ((), (1, 3))]
)
def test_where_gradients_first_and_second_order(x_shape, y_shape, sample, check_grads):
    check_grads(lambda a, b: F.where(COND, a, b), sample(x_shape), sample(y_shape))


@pytest.mark.parametrize('condition', [COND.astype(float), COND.astype(int)])
def test_where_refuses_a_condition_that_is_not_bool(condition):
    dtype = condition.dtype
    with pytest.raises(TypeError, match=f'where: condition must have dtype bool, got {dtype}'):
        F.where(condition, np.ones(3), np.zeros(3))


def test_where_refuses_bad_arguments():
    with pytest.raises(TypeError, match='where: condition must be a bool array.*list'):
        F.where([True, False], np.ones(2), np.zeros(2))
    with pytest.raises(TypeError, match='where: expected Variables, arrays or numbers, got list'):
        F.where(np.array([True]), [1.0], np.zeros(1))
    message = 'where: shapes (2, 3), (4,), (2, 3) do not broadcast together'
    with pytest.raises(ValueError, match=re.escape(message)):
        F.where(COND, np.ones(4), np.ones((2, 3)))


# ---- maximum and minimum -------------------------------------------------------------------
@pytest.mark.parametrize(
    'f, values, g0, g1',
    [
        (F.maximum, [3.0, 2.0, 2.0, 2.0], [1.0, 0.0, 0.5, 0.0], [0.0, 1.0, 0.5, 1.0]),
        (F.minimum, [1.0, 1.0, 2.0, 1.0], [0.0, 1.0, 0.5, 1.0], [1.0, 0.0, 0.5, 0.0]),
    ],
    ids=['maximum', 'minimum'],
)
def test_maximum_and_minimum_by_hand_with_a_tie(f, values, g0, g1):
    y, (gx0, gx1) = _grads(f, [3.0, 1.0, 2.0, 1.0], [1.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(y, values)
    np.testing.assert_array_equal(gx0, g0)  # at the tie (index 2) each gets half
    np.testing.assert_array_equal(gx1, g1)


def test_ties_share_gradients_across_broadcasting():
    # 1.0 ties with two elements of the row: the scalar gets 1/2 + 1/2 of their
    # gradients and all of the one it wins
    y, (gx, gs) = _grads(F.maximum, [1.0, 1.0, 0.0, 5.0], 1.0)
    np.testing.assert_array_equal(y, [1.0, 1.0, 1.0, 5.0])
    np.testing.assert_array_equal(gx, [0.5, 0.5, 0.0, 1.0])
    assert gs == 2.0


@pytest.mark.parametrize('f', [F.maximum, F.minimum])
def test_nan_propagates_and_both_get_the_gradient_as_in_pytorch(f):
    y, (g0, g1) = _grads(f, [np.nan, 1.0], [1.0, np.nan])
    np.testing.assert_array_equal(y, [np.nan, np.nan])
    np.testing.assert_array_equal(g0, [1.0, 1.0])
    np.testing.assert_array_equal(g1, [1.0, 1.0])


@pytest.mark.parametrize('f', [F.maximum, F.minimum])
@pytest.mark.parametrize('shapes', [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (4,))])
def test_maximum_and_minimum_gradients_first_and_second_order(f, shapes, sample, check_grads):
    # 'distinct' values 0.1 apart: no ties, even after the probes
    a, b = sample(shapes[0], 'distinct'), sample(shapes[1], 'distinct') + 0.05
    check_grads(f, a, b)


@pytest.mark.parametrize('f, grad', [(F.maximum, [0.0, 1.0]), (F.minimum, [1.0, 0.0])])
@pytest.mark.parametrize('create_graph', [False, True])
def test_a_constant_array_changed_after_the_call_does_not_change_the_gradient(
    f, grad, create_graph
):
    # backward compares x with the constant again
    x = Variable(np.array([1.0, 5.0]))
    c = np.array([2.0, 2.0])
    y = f(x, c)
    c[:] = 10.0 if f is F.maximum else 0.0
    y.sum().backward(create_graph=create_graph)
    np.testing.assert_array_equal(x.grad.data, grad)


def test_maximum_with_zero_is_relu_and_keeps_float32(sample, assert_keeps_float32):
    x = Variable(sample((2, 3), 'nonzero', np.float32))
    y = F.maximum(x, 0.0)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, F.relu(x).data)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, (x.data > 0).astype(np.float32))
    assert F.minimum(np.float64(1.0), x).dtype == np.float32
    for f in (F.maximum, F.minimum):
        assert_keeps_float32(f, sample((2, 3), 'distinct'), sample((3,), 'distinct') + 0.05)


@pytest.mark.parametrize('f', [F.maximum, F.minimum])
def test_maximum_and_minimum_refuse_bad_arguments(f):
    name = f.__name__
    message = f'{name}: shapes (2, 3), (2,) do not broadcast together'
    with pytest.raises(ValueError, match=re.escape(message)):
        f(np.ones((2, 3)), np.ones(2))
    with pytest.raises(TypeError, match=f'{name}: expected Variables, arrays or numbers, got list'):
        f(np.ones(2), [1.0, 2.0])


# ---- against PyTorch ---------------------------------------------------------------------
TIES = np.array([[1.0, 2.0, -0.5, 3.0], [0.25, 2.0, 2.0, -1.0]])


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
@pytest.mark.parametrize('name', ['maximum', 'minimum'])
def test_maximum_and_minimum_agree_with_pytorch_ties_included(name, dtype, sample):
    torch = pytest.importorskip('torch')
    from oracle import assert_agree

    other = np.array([1.0, 0.5, -0.5, 3.0])  # ties with TIES in three columns
    assert_agree(getattr(F, name), getattr(torch, name), [TIES.astype(dtype), other.astype(dtype)])
    a, b = sample((2, 3, 1)), sample((4,))
    assert_agree(getattr(F, name), getattr(torch, name), [a.astype(dtype), b.astype(dtype)])


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_where_agrees_with_pytorch(dtype, sample):
    torch = pytest.importorskip('torch')
    from oracle import assert_agree

    cond = np.array([[True], [False], [True]])
    x, y = sample((3, 4)).astype(dtype), sample((4,)).astype(dtype)
    assert_agree(
        lambda a, b: F.where(cond, a, b),
        lambda a, b: torch.where(torch.from_numpy(cond), a, b),
        [x, y],
    )


# ---- the checks catch a broken derivative ------------------------------------------------
def test_the_registry_checks_catch_broken_selection_derivatives(monkeypatch):
    from registry import CASES
    from test_gradient_registry import check_case

    def case(case_id):
        return next(c for c in CASES if c.id == case_id)

    with monkeypatch.context() as m:  # the gradient sent to the input that lost
        m.setattr(selection.Maximum, '_losers', lambda self, a0, a1: (a0 > a1, a0 < a1))
        with pytest.raises(AssertionError, match='first order'):
            check_case(case('maximum-broadcast'))

    def everywhere(self, gy, *, needs_input_grad):  # the condition ignored
        x_shape, y_shape = self.shapes
        return selection._sum_to(gy, x_shape), selection._sum_to(gy, y_shape)

    monkeypatch.setattr(selection.Where, 'backward', everywhere)
    with pytest.raises(AssertionError, match='first order'):
        check_case(case('where-broadcast'))


INT8 = Variable(np.array([1, 2], np.int8))
BOTH = np.array([True, False])


@pytest.mark.parametrize(
    'call, name, number, dtype',
    [
        (lambda: F.maximum(INT8, 300), 'maximum', '300', 'int8'),
        (lambda: F.minimum(np.ones(2, np.int16), 10**6), 'minimum', '1000000', 'int16'),
        (lambda: F.maximum(np.ones(2, np.uint8), -1), 'maximum', '-1', 'uint8'),
        (lambda: F.minimum(-1, Variable(np.ones(2, np.uint8))), 'minimum', '-1', 'uint8'),
        (lambda: F.where(BOTH, Variable(np.ones(2, np.uint8)), -5), 'where', '-5', 'uint8'),
        (lambda: F.maximum(np.ones(2, np.int64), 2**70), 'maximum', r'11805916\.\.\.', 'int64'),
        (lambda: F.minimum(np.ones(2), 10**400), 'minimum', r'10000000\.\.\.', 'float64'),
    ],
)
def test_a_number_the_other_side_cannot_hold_is_refused_as_the_operators_refuse_it(
    call, name, number, dtype
):
    # NumPy's own error ('Python integer 300 out of bounds for int8') named neither the
    # function nor the number's role
    with pytest.raises(
        OverflowError,
        match=rf'^{name}: the number {number}.* does not fit the dtype {dtype} of the other '
        r'input, nor any dtype NumPy would promote it to',
    ):
        call()


@pytest.mark.parametrize(
    'call', [lambda v: F.maximum(v, 70000.0), lambda v: F.where(np.array([True, False]), v, -1e6)]
)
def test_a_number_a_float_dtype_cannot_hold_is_refused_not_made_infinite(call):
    v = Variable(np.array([1.0, 2.0], np.float16))
    with pytest.raises(OverflowError, match='does not fit the dtype float16'):
        call(v)
    assert F.maximum(v, 65504.0).data.tolist() == [65504.0, 65504.0]
    assert np.isinf(F.maximum(v, np.inf).data).all()  # an infinity given stays one

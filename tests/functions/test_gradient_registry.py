"""Every public differentiable function of dezero.functions, checked to second order
from the registry in ``registry.py``; and the check that none is left out."""

import types

import numpy as np
import pytest

import dezero.functions as F
from dezero import Function, Variable
from dezero.utils import gradgrad_check, gradient_check
from registry import CASES, NOT_DIFFERENTIABLE, REGISTERED, GradCase


def _partial(f, inputs, i):
    """``f`` as a function of its ``i``-th input alone; the others are fixed Variables."""
    fixed = [Variable(np.array(x)) for x in inputs]

    def g(x):
        return f(*fixed[:i], x, *fixed[i + 1 :])

    return g


def _weighted(g, w):
    """x -> g(x) * w: a random weighting, so that the first-order check sees every
    output element (the plain sum of softmax, for one, is constant)."""
    return lambda x: g(x) * w


def check_case(c):
    """Check the derivatives of case ``c`` with respect to each differentiable input,
    raising AssertionError on the first failure:

    - first order: ``gradient_check`` of <f(x), w> for a random w, and the backprop
      gradient must not vanish everywhere (else the check proved nothing);
    - second order: ``gradgrad_check``, i.e. the gradient of <∇ₓ<f(x), u>, v> for random
      u and v against central differences of the first-order gradient, for f and for
      f**2 (squaring gives even a linear f non-zero second derivatives, which come out
      right only if its backward is recorded as a graph).
    """
    f = c.function()
    inputs = c.draw()
    rng = np.random.default_rng(0)
    for i, x in enumerate(inputs):
        where = f'{c.id}: input {i} (shape {x.shape})'
        g = _partial(f, inputs, i)
        w = Variable(rng.standard_normal(np.shape(g(Variable(x.copy())).data)))
        fw = _weighted(g, w)
        assert gradient_check(fw, x, rtol=c.rtol, atol=c.atol), f'{where}: first order'
        xv = Variable(x.copy())
        fw(xv).sum().backward()
        assert xv.grad is not None and np.any(xv.grad.data != 0), (
            f'{where}: the gradient is zero everywhere; the case checks nothing'
        )
        assert gradgrad_check(g, x, rtol=c.rtol, atol=c.atol), f'{where}: second order'
        assert gradgrad_check(lambda a: F.square(g(a)), x, rtol=c.rtol, atol=c.atol), (
            f'{where}: second order of the square'
        )


@pytest.mark.parametrize('c', CASES, ids=lambda c: c.id)
def test_derivatives_to_second_order(c):
    check_case(c)


@pytest.mark.parametrize('c', CASES, ids=lambda c: c.id)
def test_an_input_holding_no_data_is_refused_naming_the_function(c):
    # as a lazy layer's parameter is before the layer's first call (L.Linear(3).W): a
    # function that reads its inputs' shapes first refuses it as the engine does, rather
    # than failing on None ('NoneType' object has no attribute 'shape')
    inputs = [Variable(x) for x in c.draw()]
    for i in range(len(inputs)):
        given = inputs[:i] + [Variable(None)] + inputs[i + 1 :]
        with pytest.raises(
            ValueError,
            match=r'^\w+: input \d is None, or a Variable holding no data; give it data first',
        ):
            c.function()(*given)


def _public_names():
    """The public functions of dezero.functions: every public callable it exposes (the
    names in ``__all__`` and any other), submodules and classes aside.

    The Function classes it exports under the book's names need no cases of their own:
    each is the graph node that one of the functions records (``Sum`` for ``sum``,
    ``Conv2DGradW`` in the backward of ``conv2d``), so their derivatives are checked
    through those, and test_backward_arrays checks that some case reaches each."""
    assert set(F.__all__) <= set(vars(F))
    return {
        n
        for n, obj in vars(F).items()
        if not n.startswith('_') and callable(obj) and not isinstance(obj, (types.ModuleType, type))
    }


def test_every_public_function_is_registered():
    missing = _public_names() - REGISTERED - set(NOT_DIFFERENTIABLE)
    assert not missing, (
        f'public functions of dezero.functions without gradient checks: '
        f'{sorted(missing)}; add cases to tests/functions/registry.py '
        f'(or, with a reason, to NOT_DIFFERENTIABLE there)'
    )


def test_registry_lists_only_public_names_each_once():
    stale = (REGISTERED | set(NOT_DIFFERENTIABLE)) - _public_names()
    assert not stale, f'the registry names functions not in dezero.functions: {sorted(stale)}'
    both = REGISTERED & set(NOT_DIFFERENTIABLE)
    assert not both, f'registered and also marked not differentiable: {sorted(both)}'
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), 'two registry cases share an id'
    assert all(reason for reason in NOT_DIFFERENTIABLE.values())


def test_not_differentiable_functions_build_no_graph():
    y = F.accuracy(Variable(np.array([[0.1, 0.9], [0.8, 0.2]])), np.array([1, 1]))
    assert y.creator is None
    assert float(y.data) == 0.5


def test_seeded_dropout_is_deterministic_and_leaves_the_global_state():
    c = next(c for c in CASES if c.id == 'dropout-train')
    (x,) = c.draw()
    state = np.random.get_state()[1].copy()
    y1, y2 = c.function()(Variable(x)), c.function()(Variable(x))
    np.testing.assert_array_equal(y1.data, y2.data)
    assert np.any(y1.data == 0) and np.any(y1.data != 0)  # it does drop some
    np.testing.assert_array_equal(np.random.get_state()[1], state)


# ---- the checks themselves must be able to fail ------------------------------------------
class _WrongSquare(Function):
    """y = x**2 with the derivative x (should be 2x)."""

    def forward(self, x):
        return x**2

    def backward(self, gy):
        (x,) = self.inputs
        return gy * x


class _UnrecordedSquare(Function):
    """y = x**2 with a right first derivative computed on raw arrays: nothing of the
    backward pass is recorded, so second derivatives come out wrong."""

    def forward(self, x):
        return x**2

    def backward(self, gy):
        (x,) = self.inputs
        return Variable(gy.data * 2 * x.data)


@pytest.mark.parametrize(
    'fn, order',
    [
        (lambda x: _WrongSquare()(x), 'first order'),
        (lambda x: _UnrecordedSquare()(x), 'second order'),
    ],
)
def test_the_checks_catch_a_wrong_derivative(fn, order, capsys):
    bad = GradCase('square', (lambda rng: rng.uniform(0.5, 2.0, (2, 3)),), call=fn)
    with pytest.raises(AssertionError, match=order):
        check_case(bad)

"""The one ``backward`` of every function, run both ways: on arrays in a first-order
``backward()`` and on Variables in a recorded one (``create_graph=True``), for every
case of the gradient registry in float64 and float32; and the check that every function
declares honestly what its backward reads (``retain_inputs``, ``retain_outputs``): the
graph keeps nothing else, so a function reading an undeclared value fails here."""

import numpy as np
import pytest

import dezero.functions as F
from dezero import Function, Variable
from registry import CASES


def _gradients(c, dtype, create_graph, through_graph=False):
    """The output of case ``c`` on its inputs cast to ``dtype``, and the gradients of
    <output, w> for the inputs, with a random weighting w that is the same every call.

    ``through_graph``: the function gets its inputs as results of another function
    (so the graph keeps only what it declares), and nothing holds its output but the
    graph."""
    xs = [Variable(x.astype(dtype)) for x in c.draw()]
    args = [x * 1.0 for x in xs] if through_graph else xs
    y = c.function()(*args)
    w = Variable(np.asarray(np.random.default_rng(0).standard_normal(y.shape), dtype=y.dtype))
    shape, dtype_out = y.shape, y.dtype
    loss = F.sum(y * w)
    if through_graph:
        del y, args  # only the graph holds them now
    loss.backward(create_graph=create_graph)
    for i, x in enumerate(xs):
        assert x.grad is not None, f'{c.id}: input {i} got no gradient'
    return (shape, dtype_out), [x.grad.data for x in xs]


def _compare(c, dtype, rtol, atol, **first):
    """The gradients of case ``c`` with ``first`` against the recorded pass on plain
    inputs, in dtype and value; returns the output's (shape, dtype) and the gradients."""
    out, got = _gradients(c, dtype, **first)
    _, expected = _gradients(c, dtype, create_graph=True)
    for i, (a, v) in enumerate(zip(got, expected)):
        where = f'{c.id}: input {i}'
        assert a.dtype == v.dtype, f'{where}: {a.dtype} against {v.dtype}'
        np.testing.assert_allclose(a, v, rtol=rtol, atol=atol, err_msg=where)
    return out, got


@pytest.mark.parametrize('c', CASES, ids=lambda c: c.id)
def test_the_first_order_pass_on_arrays_matches_the_recorded_pass(c):
    _compare(c, np.float64, rtol=1e-10, atol=1e-12, create_graph=False)


@pytest.mark.parametrize('c', CASES, ids=lambda c: c.id)
def test_the_first_order_pass_keeps_float32(c):
    # also where a float64 constant made the output float64: the gradient of a float32
    # input is float32, as in PyTorch
    _, grads = _compare(c, np.float32, rtol=1e-5, atol=1e-6, create_graph=False)
    for i, g in enumerate(grads):
        assert g.dtype == np.float32, f'{c.id}: the gradient of input {i} is {g.dtype}'


@pytest.mark.parametrize('create_graph', [False, True], ids=['arrays', 'recorded'])
@pytest.mark.parametrize('c', CASES, ids=lambda c: c.id)
def test_every_function_declares_what_its_backward_reads(c, create_graph):
    # inputs made by another function, and an output held by the graph only: what a
    # function does not declare is then not kept, and reading it raises
    _compare(c, np.float64, rtol=1e-10, atol=1e-12, create_graph=create_graph, through_graph=True)


def _functions(*roots):
    """Every function in the graphs behind the Variables ``roots``."""
    seen, stack = [], [v.creator for v in roots if v.creator is not None]
    while stack:
        f = stack.pop()
        if any(f is g for g in seen):
            continue
        seen.append(f)
        stack += [x.creator for x in f.inputs if x.creator is not None]
    return seen


def _graph_functions(c):
    """The functions of case ``c``'s forward graph and of the recorded graphs of its
    first and second derivatives (where the gradient functions live: GetItemGrad, and
    Pooling2DWithIndexes, the gradient of a gradient); the Variables are returned too, to
    keep the graphs alive."""
    xs = [Variable(x) for x in c.draw()]
    y = c.function()(*xs)
    seed = y.grad = Variable(np.ones_like(y.data))
    y.backward(create_graph=True)
    gxs = [x.grad for x in xs]
    for x in xs:
        x.cleargrad()
    z = sum(F.sum(g * g) for g in gxs)
    z.backward(create_graph=True)
    ggs = [v.grad for v in xs + [seed] if v.grad is not None]
    return _functions(y, *gxs, *ggs), (y, xs, gxs, z)


def test_every_exported_function_class_is_reached():
    # the classes dezero.functions exports under the book's names have no registry
    # cases of their own: their derivatives are checked through the cases that record
    # them, in the forward graph or in that of a first or second derivative
    exported = {
        obj
        for obj in vars(F).values()
        if isinstance(obj, type) and issubclass(obj, Function) and obj is not Function
    }  # the base class, found there as in the book
    reached = set()
    for c in CASES:
        functions, _alive = _graph_functions(c)
        reached |= {type(f) for f in functions}
    assert len(exported) > 30
    assert not exported - reached, (
        f'no registry case reaches {sorted(k.__name__ for k in exported - reached)}'
    )


def test_the_declaration_check_finds_a_function_that_reads_more_than_it_declares():
    class Square(Function):
        """y = x ** 2, whose backward reads x but declares nothing."""

        retain_inputs = ()

        def forward(self, x):
            return x * x

        def backward(self, gy):
            (x,) = self.retained_inputs()
            return 2 * x * gy

    x = Variable(np.array([1.0, -2.0]))
    for create_graph in (False, True):
        with pytest.raises((RuntimeError, AttributeError), match='not kept'):
            F.sum(Square()(x * 1.0)).backward(create_graph=create_graph)

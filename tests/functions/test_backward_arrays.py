"""The first-order backward on arrays (``backward_arrays``, run by ``backward()``) against
the recorded one (``backward`` on Variables, run by ``backward(create_graph=True)``) for
every case of the gradient registry, in float64 and in float32; the check that every
function of ``dezero.functions`` has its own ``backward_arrays``; the checks that a
function declaring ``needs_input_data = False`` never reads its inputs' values and that
one not declaring ``needs_output_data = True`` never reads its output's; and, with arrays
large enough to be released, that nothing a backward reads is released."""
import importlib
import pkgutil

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Function, Variable, released
from registry import CASES


def _gradients(c, dtype, create_graph):
    """The output of case ``c`` on its inputs cast to ``dtype``, and the gradients of
    <output, w> for the inputs, from a random weighting w that is the same every call."""
    xs = [Variable(x.astype(dtype)) for x in c.draw()]
    y = c.function()(*xs)
    w = np.random.default_rng(0).standard_normal(y.shape)
    y.grad = Variable(np.asarray(w, dtype=y.dtype))
    y.backward(create_graph=create_graph)
    for i, x in enumerate(xs):
        assert x.grad is not None, f'{c.id}: input {i} got no gradient'
    return y, [x.grad.data for x in xs]


def _compare_passes(c, dtype, rtol, atol):
    """Both passes on case ``c``; return the output, the array pass's gradients, and
    check they match the Variable pass's in dtype and value."""
    y, array_grads = _gradients(c, dtype, create_graph=False)
    _, variable_grads = _gradients(c, dtype, create_graph=True)
    for i, (a, v) in enumerate(zip(array_grads, variable_grads)):
        where = f'{c.id}: input {i}'
        assert a.dtype == v.dtype, f'{where}: {a.dtype} on arrays, {v.dtype} on Variables'
        np.testing.assert_allclose(a, v, rtol=rtol, atol=atol, err_msg=where)
    return y, array_grads


@pytest.mark.parametrize('c', CASES, ids=lambda c: c.id)
def test_array_pass_matches_variable_pass(c):
    _compare_passes(c, np.float64, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('c', CASES, ids=lambda c: c.id)
def test_array_pass_keeps_float32(c):
    y, grads = _compare_passes(c, np.float32, rtol=1e-5, atol=1e-6)
    if y.dtype == np.float32:     # not where a float64 constant made the output float64
        for i, g in enumerate(grads):
            assert g.dtype == np.float32, f'{c.id}: the gradient of input {i} is {g.dtype}'


# ---- every function has its own backward_arrays -----------------------------------------
def _function_classes():
    """The Function subclasses defined in the modules of dezero.functions."""
    classes = []
    for info in pkgutil.iter_modules(F.__path__):
        module = importlib.import_module(f'{F.__name__}.{info.name}')
        classes += [obj for obj in vars(module).values()
                    if isinstance(obj, type) and issubclass(obj, Function)
                    and obj.__module__ == module.__name__]
    return classes


def _owner(cls, name):
    """The class in the MRO of ``cls`` that defines the attribute ``name``."""
    return next(k for k in cls.__mro__ if name in vars(k))


def _falls_back(cls):
    """Whether ``cls`` has a backward but runs a backward_arrays less specific than it:
    the slow default of Function, or the array formulas of a parent whose backward it
    redefines."""
    backward = _owner(cls, 'backward')
    return backward is not Function and not issubclass(_owner(cls, 'backward_arrays'),
                                                        backward)


def test_every_function_overrides_backward_arrays():
    classes = _function_classes()
    assert len(classes) > 40, [k.__name__ for k in classes]
    missing = sorted(k.__name__ for k in classes if _falls_back(k))
    assert not missing, f'functions without backward_arrays of their own: {missing}'


def test_the_check_finds_a_function_without_backward_arrays():
    from dezero.functions.math import Exp

    class Twice(Function):
        def forward(self, x):
            return 2 * x

        def backward(self, gy):
            return 2 * gy

    class ExpOtherBackward(Exp):
        def backward(self, gy):
            return gy * self.outputs[0]() * np.log(2.0)

    assert not _falls_back(Exp)
    assert _falls_back(Twice) and _falls_back(ExpOtherBackward)


# ---- needs_input_data = False and needs_output_data = False are honest -------------------
# A function with needs_input_data = False may have its inputs' data released after the
# forward pass, and one without needs_output_data = True its output's data (when that
# is the input of such a function), so their backwards must not read those values.
class _ShapeOnly:
    """Stands in for an array: only its shape, dtype, ndim and size."""
    __slots__ = ('shape', 'dtype', 'ndim', 'size')

    def __init__(self, a):
        self.shape, self.dtype, self.ndim, self.size = a.shape, a.dtype, a.ndim, a.size


def _reads_outputs(f):
    return f.needs_output_data


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


def _run_both(f, gys):
    """``f.backward_arrays`` and ``f.backward`` (recorded) on the same gradients, as
    lists of arrays (None where there is no gradient)."""
    def plain(gxs):
        gxs = gxs if isinstance(gxs, tuple) else (gxs,)
        return [None if g is None else np.asarray(getattr(g, 'data', g)) for g in gxs]
    with dezero.using_config('enable_backprop', True):
        recorded = plain(f.backward(*[Variable(g) for g in gys]))
    return plain(f.backward_arrays(*gys)), recorded


def _check_without_data(f, variables, rng):
    """``f``'s two backwards give the same gradients when the data of ``variables``
    (its inputs or its outputs) are replaced by stand-ins with only a shape and a
    dtype."""
    gys = [np.asarray(rng.standard_normal(y.shape), dtype=y.dtype)
           for y in (ref() for ref in f.outputs)]
    expected = _run_both(f, gys)
    saved = [v.data for v in variables]
    for v in variables:
        v.data = _ShapeOnly(v.data)
    try:
        got = _run_both(f, gys)
    finally:
        for v, data in zip(variables, saved):
            v.data = data
    name = type(f).__name__
    for which, e, g in zip(('backward_arrays', 'backward'), expected, got):
        assert len(e) == len(g)
        for a, b in zip(e, g):
            assert (a is None) == (b is None), f'{name}.{which}'
            if a is not None:
                np.testing.assert_array_equal(a, b, err_msg=f'{name}.{which}')


@pytest.mark.parametrize('c', CASES, ids=lambda c: c.id)
def test_functions_without_input_or_output_data_never_read_it(c):
    rng = np.random.default_rng(0)
    functions, _alive = _graph_functions(c)
    for f in functions:
        if not f.needs_input_data:
            _check_without_data(f, f.inputs, rng)
        if not _reads_outputs(f):
            _check_without_data(f, [ref() for ref in f.outputs], rng)


def test_every_function_without_input_data_is_checked():
    declared = {k for k in _function_classes() if not k.needs_input_data}
    checked = set()
    for c in CASES:
        functions, _alive = _graph_functions(c)
        checked |= {type(f) for f in functions if not f.needs_input_data}
    assert len(declared) > 20
    assert not declared - checked, (f'no registry case reaches '
                                    f'{sorted(k.__name__ for k in declared - checked)}')


def test_every_exported_function_class_is_reached():
    # the classes dezero.functions exports under the book's names have no registry
    # cases of their own: their derivatives are checked through the cases that record
    # them, in the forward graph or in that of a first or second derivative
    exported = {obj for obj in vars(F).values()
                if isinstance(obj, type) and issubclass(obj, Function)
                and obj is not Function}     # the base class, found there as in the book
    reached = set()
    for c in CASES:
        functions, _alive = _graph_functions(c)
        reached |= {type(f) for f in functions}
    assert len(exported) > 30
    assert not exported - reached, (f'no registry case reaches '
                                    f'{sorted(k.__name__ for k in exported - reached)}')


@pytest.mark.parametrize('reads', ['input', 'output'])
def test_a_function_that_reads_the_data_fails_the_check(reads):
    x = Variable(np.array([1.0, -2.0, 3.0]))
    if reads == 'input':
        y = F.sin(x)                       # sin' = cos(x) reads x
        variables = [x]
    else:
        y = F.exp(x)                       # exp' = y reads y
        variables = [y]
    with pytest.raises((TypeError, RuntimeError, AssertionError)):
        _check_without_data(y.creator, variables, np.random.default_rng(0))


# ---- with arrays large enough to be released ---------------------------------------------
_POOL = (2, 2, 64, 64)       # a (128, 128) array seen as an image batch


#: Chains of functions on one (128, 128) Variable, where an output that its creator's
#: backward reads is the input of a function that reads no input values, and the names
#: of the functions that may (and do) lose an input's data.
CHAINS = {
    'relu-max_pooling': (
        lambda x: F.sum(F.max_pooling(F.reshape(F.relu(x), _POOL), 2, stride=2)),
        {'Pooling'}),
    'linear-sigmoid': (lambda x: F.sum(F.sigmoid(F.linear(x, np.eye(128)))),
                       {'Sigmoid'}),
    'exp-sum': (lambda x: F.sum(F.exp(x) * 0.5), {'Sum'}),
    'sigmoid-sum': (lambda x: F.sum(F.sigmoid(x)), set()),
    'tanh-tanh': (lambda x: F.sum(F.tanh(F.tanh(x))), set()),
    'softmax-reshape': (lambda x: F.sum(F.reshape(F.softmax(x), (-1,)) ** 2),
                        {'Sum'}),
    'log_softmax-transpose': (lambda x: F.sum(F.log_softmax(x).T ** 2), {'Sum'}),
}


@pytest.mark.parametrize('create_graph', [False, True])
@pytest.mark.parametrize('name', sorted(CHAINS))
def test_outputs_that_backward_reads_are_not_released(name, create_graph, monkeypatch):
    f, releasing = CHAINS[name]
    x = np.random.default_rng(0).standard_normal((128, 128))
    assert x.nbytes >= released.MIN_BYTES
    a = Variable(x)
    y = f(a)
    y.backward(create_graph=create_graph)
    lost = {type(g).__name__ for g in _functions(y)
            if any(isinstance(v.data, released.ReleasedArray) for v in g.inputs)}
    assert lost == releasing
    monkeypatch.setattr(released, 'MIN_BYTES', 1 << 62)     # the same, releasing nothing
    b = Variable(x)
    f(b).backward(create_graph=create_graph)
    np.testing.assert_array_equal(a.grad.data, b.grad.data)

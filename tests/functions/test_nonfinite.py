"""logsumexp, softmax, log_softmax and softmax_cross_entropy on rows holding infinities,
nan or values near the largest of their dtype: the values and gradients PyTorch gives,
computed without a RuntimeWarning.  Likewise the gradients of the piecewise functions
that switch an input off (relu, clip, maximum, minimum) for inputs holding infinities
and nan and for infinite or nan incoming gradients: an input that is off gets 0.

Tables hold the expected answers, written by hand.  dezero is checked against it
without PyTorch; where PyTorch is installed, PyTorch is checked against it too, so that
the table is known to be PyTorch's."""

import warnings

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable

INF, NAN = np.inf, np.nan
LOG2 = float(np.log(2.0))
NANS = ([NAN, NAN], [NAN, NAN])
DTYPES = [np.float64, np.float32, np.float16]
#: a value near the largest of each dtype: a row [BIG, BIG] sums to infinity, and
#: [-BIG, BIG] spans more than the dtype's range
BIG = {np.float64: 1e308, np.float32: 3e38, np.float16: 60000.0}
#: the weights of the outputs: the gradients are those of sum(w * f(x))
WEIGHTS = {'logsumexp': [1.0], 'softmax': [1.0, 2.0], 'log_softmax': [1.0, 2.0]}


def table(big):
    """Row name -> (row, {function: (value, gradient)}), for the dtype of ``big``."""
    return {
        '-inf -inf': (
            [-INF, -INF],
            {'logsumexp': (-INF, [NAN, NAN]), 'softmax': NANS, 'log_softmax': NANS},
        ),
        'inf 1': (
            [INF, 1.0],
            {'logsumexp': (INF, [NAN, 0.0]), 'softmax': NANS, 'log_softmax': NANS},
        ),
        'inf inf': (
            [INF, INF],
            {'logsumexp': (INF, [NAN, NAN]), 'softmax': NANS, 'log_softmax': NANS},
        ),
        'inf -inf': (
            [INF, -INF],
            {'logsumexp': (INF, [NAN, 0.0]), 'softmax': NANS, 'log_softmax': NANS},
        ),
        '-inf 0': (
            [-INF, 0.0],
            {
                'logsumexp': (0.0, [0.0, 1.0]),
                'softmax': ([0.0, 1.0], [0.0, 0.0]),
                'log_softmax': ([-INF, 0.0], [1.0, -1.0]),
            },
        ),
        '0 -inf': (
            [0.0, -INF],
            {
                'logsumexp': (0.0, [1.0, 0.0]),
                'softmax': ([1.0, 0.0], [0.0, 0.0]),
                'log_softmax': ([0.0, -INF], [-2.0, 2.0]),
            },
        ),
        'nan 1': ([NAN, 1.0], {'logsumexp': (NAN, NANS[1]), 'softmax': NANS, 'log_softmax': NANS}),
        # logsumexp rounds to big, so its gradient exp(x - y) is 1, not 1/2 (as in PyTorch)
        'big big': (
            [big, big],
            {
                'logsumexp': (big, [1.0, 1.0]),
                'softmax': ([0.5, 0.5], [-0.25, 0.25]),
                'log_softmax': ([-LOG2, -LOG2], [-0.5, 0.5]),
            },
        ),
        '-big big': (
            [-big, big],
            {
                'logsumexp': (big, [0.0, 1.0]),
                'softmax': ([0.0, 1.0], [0.0, 0.0]),
                'log_softmax': ([-INF, 0.0], [1.0, -1.0]),
            },
        ),
    }


ROWS = list(table(1.0))

#: row name -> (row, label, loss, gradient) for softmax_cross_entropy on one row
SCE_TABLE = {
    '-inf -inf': ([-INF, -INF], 0, NAN, [NAN, NAN]),
    'inf 1': ([INF, 1.0], 1, NAN, [NAN, NAN]),
    '-inf 0, label 0': ([-INF, 0.0], 0, INF, [-1.0, 1.0]),
    '-inf 0, label 1': ([-INF, 0.0], 1, 0.0, [0.0, 0.0]),
    'nan 1': ([NAN, 1.0], 1, NAN, [NAN, NAN]),
    'big big': (['big', 'big'], 0, LOG2, [-0.5, 0.5]),
    '-big big, label 0': (['-big', 'big'], 0, INF, [-1.0, 1.0]),
}


def _assert_close(got, expected, dtype):
    """Equal values, nan where nan is expected, within the rounding of ``dtype``."""
    assert got.dtype == dtype
    rtol = {np.float64: 1e-15, np.float32: 1e-7, np.float16: 2e-3}[dtype]
    np.testing.assert_allclose(got, np.asarray(expected, np.float64), rtol=rtol, atol=rtol)


def _dezero(name, row, dtype, create_graph):
    """The value of F.<name> on the row and the gradient of sum(w * value), computed
    with every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        x = Variable(np.array([row], dtype))
        y = getattr(F, name)(x, axis=1)
        y.grad = Variable(np.array([WEIGHTS[name]] if y.ndim == 2 else WEIGHTS[name], dtype))
        y.backward(create_graph=create_graph)
    return y.data[0], x.grad.data[0]


def _torch(name, row, dtype):
    torch = pytest.importorskip('torch')
    tdtype = getattr(torch, np.dtype(dtype).name)
    x = torch.tensor([row], dtype=tdtype, requires_grad=True)
    y = getattr(torch, name)(x, 1)
    y.backward(torch.tensor([WEIGHTS[name]] if y.ndim == 2 else WEIGHTS[name], dtype=tdtype))
    return y.detach().numpy()[0], x.grad.numpy()[0]


@pytest.mark.parametrize('create_graph', [False, True])
@pytest.mark.parametrize('name', WEIGHTS)
@pytest.mark.parametrize('row', ROWS)
@pytest.mark.parametrize('dtype', DTYPES)
def test_dezero_gives_the_tables_values_and_gradients(dtype, row, name, create_graph):
    x, expected = table(BIG[dtype])[row]
    value, gradient = _dezero(name, x, dtype, create_graph)
    _assert_close(value, expected[name][0], dtype)
    _assert_close(gradient, expected[name][1], dtype)


@pytest.mark.parametrize('name', WEIGHTS)
@pytest.mark.parametrize('row', ROWS)
@pytest.mark.parametrize('dtype', DTYPES)
def test_the_table_holds_pytorchs_values_and_gradients(dtype, row, name):
    x, expected = table(BIG[dtype])[row]
    value, gradient = _torch(name, x, dtype)
    _assert_close(value, expected[name][0], dtype)
    _assert_close(gradient, expected[name][1], dtype)


def _sce_row(row, dtype):
    big = BIG[dtype]
    return [{'big': big, '-big': -big}.get(v, v) for v in row]


@pytest.mark.parametrize('create_graph', [False, True])
@pytest.mark.parametrize('case', SCE_TABLE)
@pytest.mark.parametrize('dtype', DTYPES)
def test_softmax_cross_entropy_gives_the_tables_values(dtype, case, create_graph):
    row, label, loss, gradient = SCE_TABLE[case]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        x = Variable(np.array([_sce_row(row, dtype)], dtype))
        y = F.softmax_cross_entropy(x, np.array([label]))
        y.backward(create_graph=create_graph)
    _assert_close(y.data, loss, dtype)
    _assert_close(x.grad.data[0], gradient, dtype)


@pytest.mark.parametrize('case', SCE_TABLE)
@pytest.mark.parametrize('dtype', DTYPES)
def test_the_cross_entropy_table_holds_pytorchs_values(dtype, case):
    torch = pytest.importorskip('torch')
    row, label, loss, gradient = SCE_TABLE[case]
    x = torch.tensor([_sce_row(row, dtype)], dtype=getattr(torch, np.dtype(dtype).name))
    x.requires_grad_(True)
    y = torch.nn.functional.cross_entropy(x, torch.tensor([label]))
    y.backward()
    _assert_close(y.detach().numpy(), loss, dtype)
    _assert_close(x.grad.numpy()[0], gradient, dtype)


def test_a_row_of_infinities_leaves_the_other_rows_alone():
    x = np.array([[-INF, -INF], [0.0, LOG2], [INF, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        np.testing.assert_allclose(F.logsumexp(x, axis=1).data, [-INF, np.log(3.0), INF])
        np.testing.assert_allclose(F.softmax(x).data[1], [1 / 3, 2 / 3])
        np.testing.assert_allclose(F.log_softmax(x).data[1], np.log([1 / 3, 2 / 3]))


# ---- piecewise functions: an input that is off gets 0, whatever the incoming gradient --
#: the inputs, and which of them pass their gradient on (1), half of it (0.5) or none
X = [-2.0, -0.0, 0.0, 1.5, INF, -INF, NAN, 3.0]
X1 = [1.0, 0.0, -1.0, 2.0, 5.0, 1.0, 1.0, NAN]
PASSED = {
    # relu: x <= 0 is off; nan passes, as in PyTorch
    'relu': ((X,), [[0, 0, 0, 1, 1, 0, 1, 1]]),
    # clip to [-1, 2]: the bounds included, nan and clipped values off
    'clip': ((X,), [[0, 1, 1, 1, 0, 0, 0, 0]]),
    # maximum / minimum of X and X1: the loser gets 0, a tie halves, nan passes to both
    'maximum': ((X, X1), [[0, 0.5, 1, 0, 1, 0, 1, 1], [1, 0.5, 0, 1, 0, 1, 1, 1]]),
    'minimum': ((X, X1), [[1, 0.5, 0, 1, 0, 1, 1, 1], [0, 0.5, 1, 0, 1, 0, 1, 1]]),
}
PIECEWISE = {
    'relu': (lambda x: F.relu(x), lambda torch, x: torch.relu(x)),
    'clip': (lambda x: F.clip(x, -1.0, 2.0), lambda torch, x: torch.clamp(x, -1.0, 2.0)),
    'maximum': (F.maximum, lambda torch, a, b: torch.maximum(a, b)),
    'minimum': (F.minimum, lambda torch, a, b: torch.minimum(a, b)),
}
SEEDS = [1.0, INF, -INF, NAN]


def _expected(name, seed):
    """The gradients of each input for the incoming gradient ``seed`` everywhere."""
    return [[seed * share if share else 0.0 for share in shares] for shares in PASSED[name][1]]


@pytest.mark.parametrize('create_graph', [False, True])
@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('name', PIECEWISE)
@pytest.mark.parametrize('dtype', DTYPES)
def test_an_input_that_is_off_gets_no_gradient(dtype, name, seed, create_graph):
    inputs = [Variable(np.array(x, dtype)) for x in PASSED[name][0]]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        y = PIECEWISE[name][0](*inputs)
        y.grad = Variable(np.full(y.shape, seed, dtype))
        y.backward(create_graph=create_graph)
    for x, expected in zip(inputs, _expected(name, seed)):
        _assert_close(x.grad.data, expected, dtype)


@pytest.mark.parametrize('seed', SEEDS)
@pytest.mark.parametrize('name', PIECEWISE)
def test_the_piecewise_table_holds_pytorchs_gradients(name, seed):
    torch = pytest.importorskip('torch')
    inputs = [torch.tensor(x, requires_grad=True) for x in PASSED[name][0]]
    y = PIECEWISE[name][1](torch, *inputs)
    y.backward(torch.full(y.shape, seed, dtype=y.dtype))
    for x, expected in zip(inputs, _expected(name, seed)):
        _assert_close(x.grad.numpy(), expected, np.float32)

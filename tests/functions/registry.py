"""The gradient registry: every public differentiable function of ``dezero.functions``,
with inputs on which to check its first and second derivatives.

Each :class:`GradCase` names the public function it covers, draws its differentiable
inputs (float64 arrays) from a domain where the function is smooth — away from kinks
(relu, abs, clip, max), poles (log, div, tan) and ties (max, pooling) — and fixes its
other arguments (axis, shape, labels ``t``, kernel size, stride, pad).  A function may
have several cases: broadcasting, other axes, with and without a bias, and so on.

``test_gradient_registry.py`` runs the checks on every case, and fails when a public
name of ``dezero.functions`` is neither registered here nor listed, with a reason, in
:data:`NOT_DIFFERENTIABLE`.  Adding a function to ``dezero.functions`` therefore means
adding a case here.

Dropout is random: its cases seed ``np.random`` before every call (and restore the
global state afterwards), so that each call draws the same mask and the function is
deterministic for the numerical differences, while the real dropout code runs.
"""

import zlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

import dezero
import dezero.functions as F

#: Public names of dezero.functions that have no derivative to check, with the reason.
NOT_DIFFERENTIABLE = {
    'accuracy': 'a step function of the scores (argmax); returns a Variable with no creator',
    'im2col_array': 'arrays in, an array out, no graph; im2col is its differentiable form',
    'col2im_array': 'arrays in, an array out, no graph; col2im is its differentiable form',
    'as_variable': 'wraps an array in a Variable (the core function, also found here as '
    'in the book); records nothing',
    'as_array': 'turns a number into an array (the core function, also found here as in '
    'the book); no Variable at all',
}


# ---- input generators: each returns a function of a NumPy Generator giving float64 ------
def real(*shape):
    """Standard normal values."""
    return lambda rng: rng.standard_normal(shape)


def uniform(low, high, *shape):
    """Values uniform in [low, high)."""
    return lambda rng: rng.uniform(low, high, shape)


def positive(*shape):
    """Values in [0.5, 2): away from the poles and kinks at 0 of log, sqrt, x ** c."""
    return uniform(0.5, 2.0, *shape)


def nonzero(*shape):
    """|x| in [0.5, 2) with random signs: away from the kink of relu/abs and the pole
    of 1/x."""
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)


def off_bounds(*shape):
    """|x| in [0.1, 0.35) or [0.65, 0.9) with random signs: away from 0 and from the
    clip bounds ±0.5 used below."""

    def draw(rng):
        magnitude = rng.uniform(0.1, 0.35, shape) + 0.55 * (rng.random(shape) < 0.5)
        return rng.choice([-1.0, 1.0], shape) * magnitude

    return draw


def distinct(*shape):
    """All values different and at least 0.1 apart (in random order): no ties for
    max, min and max pooling, even after a probe of ±1e-4."""
    size = int(np.prod(shape))
    return lambda rng: (rng.permutation(size).reshape(shape) - size / 2) * 0.1


# ---- the case record ---------------------------------------------------------------------
@dataclass(frozen=True)
class GradCase:
    """One check: ``call(*inputs, **fixed)`` (``call`` defaults to ``F.<name>``), with
    ``inputs`` the generators of the differentiable arguments and ``fixed`` the other
    keyword arguments.  ``label`` tells the cases of one function apart."""

    name: str
    inputs: tuple
    fixed: dict = field(default_factory=dict)
    call: Optional[Callable] = None
    label: str = ''
    rtol: float = 1e-4
    atol: float = 1e-5

    @property
    def id(self):
        return f'{self.name}-{self.label}' if self.label else self.name

    def function(self):
        """The function of the differentiable inputs alone."""
        f = self.call if self.call is not None else getattr(F, self.name)
        fixed = self.fixed
        return lambda *xs: f(*xs, **fixed)

    def draw(self):
        """The inputs, float64, seeded by the case id (so each case is reproducible and
        independent of the others and of their order)."""
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        return tuple(np.asarray(g(rng), dtype=np.float64) for g in self.inputs)


def case(name, *inputs, call=None, label='', **fixed):
    """Shorthand for ``GradCase(name, inputs, fixed, call, label)``."""
    return GradCase(name, tuple(inputs), fixed, call, label)


# ---- wrappers for functions that are not a plain call ------------------------------------
def seeded_dropout(x, dropout_ratio):
    """F.dropout with ``np.random`` seeded before the call, so every call draws the same
    mask; the global random state is restored afterwards."""
    state = np.random.get_state()
    np.random.seed(1)
    try:
        return F.dropout(x, dropout_ratio)
    finally:
        np.random.set_state(state)


def dropout_in_test_mode(x):
    """F.dropout in test mode: the identity."""
    with dezero.test_mode():
        return F.dropout(x, 0.5)


_RUNNING_MEAN = np.array([0.3, -0.2, 0.1])
_RUNNING_VAR = np.array([0.8, 1.5, 1.2])
_CHANNELS = 3  # of every batch_norm case (read from no input, which may hold no data)


def batch_norm_train(x, gamma, beta):
    """F.batch_norm in training mode (batch statistics); fresh running statistics per
    call, since batch_norm updates them in place."""
    return F.batch_norm(x, gamma, beta, np.zeros(_CHANNELS), np.ones(_CHANNELS))


def batch_nrom_train(x, gamma, beta):
    """F.batch_nrom (the book's spelling) in training mode, as batch_norm_train; the
    running statistics are made on x's device, so the device tests run it as it is."""
    xp = dezero.cuda.get_array_module(x)
    return F.batch_nrom(x, gamma, beta, xp.zeros(_CHANNELS), xp.ones(_CHANNELS))


def batch_norm_test(x, gamma, beta):
    """F.batch_norm in test mode (fixed running statistics)."""
    with dezero.test_mode():
        return F.batch_norm(x, gamma, beta, _RUNNING_MEAN.copy(), _RUNNING_VAR.copy())


def where_xy(x, y, condition):
    """F.where with the differentiable inputs first (the condition is fixed)."""
    return F.where(condition, x, y)


def where_x_or_number(x, condition):
    """F.where with a number on the other side: it takes x's dtype."""
    return F.where(condition, x, -0.5)


_CONDITION = np.array([[True, False, True], [False, False, True]])
#: a bool attention mask (L=3, S=5) whose middle query may attend to no key
_ATTENTION_MASK = np.array(
    [
        [True, False, True, True, False],
        [False, False, False, False, False],
        [False, True, True, False, True],
    ]
)
_ATTENTION_BIAS = np.array([[0.5, -1.0, 0.0, 2.0, -np.inf], [0.0, 1.0, -0.5, 0.3, 0.2]])

_IDS = np.array([[0, 3, 1], [3, 3, 2]])  # id 3 repeats: its rows add up
_LABELS = np.array([2, 0, 3])
_TARGETS = np.array([[0.0, 1.0, 0.3], [1.0, 0.5, 0.0]])


# ---- the registry ------------------------------------------------------------------------
CASES = [
    # arithmetic: same shapes, broadcasting both ways, and the operators with constants
    case('add', real(2, 3), real(2, 3), label='same-shape'),
    case('add', real(2, 3), real(3), label='broadcast'),
    case('add', real(2, 1), real(1, 3), label='broadcast-both'),
    case('add', real(2, 3), call=lambda x: 2.5 + x, label='operator-scalar'),
    case('sub', real(2, 3), real(2, 3), label='same-shape'),
    case('sub', real(3), real(2, 3), label='broadcast'),
    case('sub', real(2, 3), call=lambda x: 2.5 - x, label='operator-rsub-scalar'),
    case('sub', real(2, 3), call=lambda x: x - np.arange(3.0), label='operator-array'),
    case('mul', real(2, 3), real(2, 3), label='same-shape'),
    case('mul', real(2, 1), real(3), label='broadcast'),
    case('mul', real(2, 3), call=lambda x: x * -1.5, label='operator-scalar'),
    case('div', real(2, 3), nonzero(2, 3), label='same-shape'),
    case('div', real(2, 3), nonzero(3), label='broadcast'),
    case('div', nonzero(2, 3), nonzero(2, 1), label='broadcast-column'),
    case('div', nonzero(2, 3), call=lambda x: x / 2.0, label='operator-scalar'),
    case('div', nonzero(2, 3), call=lambda x: 3.0 / x, label='operator-rdiv-scalar'),
    case('rsub', real(2, 3), x1=2.5, label='scalar'),
    case('rsub', real(2, 3), real(3), label='variables-broadcast'),
    case('rdiv', nonzero(2, 3), x1=3.0, label='scalar'),
    case('rdiv', nonzero(2, 3), real(2, 3), label='variables'),
    case('neg', real(2, 3)),
    case('neg', real(2, 3), call=lambda x: -x, label='operator'),
    case('pow', positive(2, 3), c=3, label='int-exponent'),
    case('pow', positive(2, 3), c=-1.5, label='float-exponent'),
    case('pow', positive(2, 3), positive(2, 3), label='variable-exponent'),
    case('pow', positive(2, 3), positive(3), label='variable-exponent-broadcast'),
    case('pow', positive(2, 1), positive(1, 3), label='variable-exponent-broadcast-both'),
    case('pow', nonzero(2, 3), c=2, label='negative-base'),
    case('pow', real(2, 3), call=lambda x: 2.0**x, label='operator-rpow-scalar'),
    # elementwise math
    case('sin', real(2, 3)),
    case('cos', real(2, 3)),
    case('tan', uniform(-1.0, 1.0, 2, 3)),
    case('tanh', real(2, 3)),
    case('exp', real(2, 3)),
    case('log', positive(2, 3)),
    case('sqrt', positive(2, 3)),
    case('abs', nonzero(2, 3)),
    case('square', real(2, 3)),
    case('clip', off_bounds(2, 4), x_min=-0.5, x_max=0.5),
    case('clip', off_bounds(2, 4), x_min=None, x_max=0.5, label='upper-only'),
    case('clip', off_bounds(2, 4), x_min=-0.5, x_max=None, label='lower-only'),
    case(
        'clip',
        off_bounds(2, 4),
        x_min=np.array([-0.5, -1.0, -0.5, 0.5]),
        x_max=np.array([[0.5], [1.0]]),
        label='array-bounds',
    ),
    case('erf', uniform(-0.5, 0.5, 2, 3), label='small'),
    case('erf', uniform(-4.5, 4.5, 3, 4), label='wide'),
    # shapes and indexing
    case('reshape', real(2, 3), shape=(3, 2)),
    case('reshape', real(2, 3), shape=(6,), label='flat'),
    case('reshape', real(2, 3), shape=(-1, 2), label='inferred'),
    case('transpose', real(2, 3), label='reverse'),
    case('transpose', real(2, 3, 2), axes=(1, 2, 0), label='axes'),
    case('transpose', real(2, 3, 2), axes=(-1, 0, 1), label='negative-axes'),
    case('get_item', real(3, 4), slices=(slice(0, 2), 1), label='basic'),
    case('get_item', real(3, 4), slices=np.array([2, 0, 2]), label='repeated-ids'),
    case(
        'get_item',
        real(3, 4),
        slices=(np.array([0, 2, 2]), np.array([1, 1, 3])),
        label='fancy-pairs',
    ),
    case('get_item', real(2, 3), slices=(slice(None), np.array([-1, 0, -1])), label='negative-ids'),
    case('get_item', real(2, 3, 2), slices=(Ellipsis, None, 1), label='ellipsis-newaxis'),
    case(
        'get_item', real(2, 3), slices=(slice(None), slice(None, None, -2)), label='negative-step'
    ),
    case(
        'get_item',
        real(2, 3),
        label='mask',
        slices=np.array([[True, False, True], [False, True, True]]),
    ),
    case('expand_dims', real(2, 3), axis=1),
    case('expand_dims', real(2, 3), axis=-1, label='negative-axis'),
    case('squeeze', real(2, 1, 3, 1), label='all'),
    case('squeeze', real(2, 1, 3, 1), axis=1, label='axis'),
    case('squeeze', real(2, 1, 3, 1), axis=(-1, 1), label='negative-axes'),
    case('flatten', real(2, 3, 2)),
    case('broadcast_to', real(3), shape=(2, 3), label='new-axis'),
    case('broadcast_to', real(2, 1), shape=(2, 3), label='stretch'),
    case('broadcast_to', real(3, 1), shape=(2, 3, 2), label='new-and-stretch'),
    case('sum_to', real(2, 3), shape=(1, 3), label='keep-axis'),
    case('sum_to', real(2, 3), shape=(3,), label='drop-axis'),
    case('sum_to', real(2, 3, 2), shape=(3, 1), label='drop-and-keep'),
    case(
        'concat',
        real(2, 1),
        real(2, 3),
        real(2, 2),
        call=lambda *xs: F.concat(xs, axis=1),
        label='axis1',
    ),
    case(
        'concat',
        real(2, 1),
        real(2, 3),
        call=lambda *xs: F.concat(xs, axis=-1),
        label='negative-axis',
    ),
    case('stack', real(2, 3), real(2, 3), call=lambda *xs: F.stack(xs, axis=0), label='axis0'),
    case('stack', real(2, 3), real(2, 3), call=lambda *xs: F.stack(xs, axis=-1), label='last-axis'),
    # longdouble is at least as precise as float64: the checks lose nothing to rounding
    case('astype', real(2, 3), dtype=np.longdouble, label='longdouble'),
    GradCase(
        'astype',
        (real(2, 3),),
        {'dtype': np.float32},
        label='float32',  # float32 rounding of the ±1e-4 probes calls for looser tolerances
        rtol=1e-2,
        atol=1e-3,
    ),
    # reductions
    case('sum', real(2, 3), label='all'),
    case('sum', real(2, 3, 2), axis=(0, 2), label='axes'),
    case('sum', real(2, 3), axis=1, keepdims=True, label='keepdims'),
    case('sum', real(2, 3, 2), axis=(-1, 0), keepdims=True, label='negative-axes'),
    case('mean', real(2, 3), label='all'),
    case('mean', real(2, 3), axis=0, label='axis'),
    case('mean', real(2, 3, 2), axis=-2, keepdims=True, label='negative-axis'),
    case('average', real(2, 3), axis=1, keepdims=True, label='keepdims'),
    case('max', distinct(2, 3), label='all'),
    case('max', distinct(2, 3), axis=1, label='axis'),
    case('max', distinct(2, 3, 2), axis=(0, 2), keepdims=True, label='keepdims'),
    case('max', distinct(2, 3, 2), axis=(-1, 0), label='negative-axes'),
    case('min', distinct(2, 3), label='all'),
    case('min', distinct(3, 2), axis=0, label='axis'),
    case('min', distinct(2, 3, 2), axis=-2, keepdims=True, label='negative-axis'),
    case('logsumexp', real(2, 3), label='all'),
    case('logsumexp', real(2, 3), axis=1, label='axis'),
    case('logsumexp', real(2, 3, 2), axis=(0, 2), keepdims=True, label='keepdims'),
    case('logsumexp', real(2, 3, 2), axis=(-1, 0), label='negative-axes'),
    # linear algebra
    case('matmul', real(2, 3), real(3, 4), label='2d'),
    case('matmul', real(2, 2, 3), real(3, 2), label='batched-broadcast'),
    case('matmul', real(2, 1, 2, 3), real(2, 3, 2), label='batched-broadcast-both'),
    case('matmul', real(3), real(3, 2), label='vector-left'),
    case('matmul', real(2, 3), real(3), label='vector-right'),
    case('matmul', real(3), real(3), label='vector-vector'),
    case('matmul', real(3), real(2, 3, 2), label='vector-batched'),
    case('dot', real(2, 3), real(3, 2)),
    # elementwise selection: away from ties (x0 and x1 are drawn apart)
    case('where', real(2, 3), real(2, 3), call=where_xy, condition=_CONDITION, label='same-shape'),
    case('where', real(2, 1), real(3), call=where_xy, condition=_CONDITION, label='broadcast'),
    case(
        'where', real(3), real(2, 1, 1), call=where_xy, condition=_CONDITION, label='broadcast-all'
    ),
    case('where', real(2, 3), call=where_x_or_number, condition=_CONDITION, label='number'),
    case('maximum', real(2, 3), real(2, 3), label='same-shape'),
    case('maximum', real(2, 3), real(3), label='broadcast'),
    case('maximum', real(2, 1), real(1, 3), label='broadcast-both'),
    case('maximum', nonzero(2, 3), call=lambda x: F.maximum(x, 0.0), label='number'),
    case('minimum', real(2, 3), real(2, 3), label='same-shape'),
    case('minimum', real(3, 1), real(2, 1, 4), label='broadcast-both'),
    case('minimum', nonzero(2, 3), call=lambda x: F.minimum(0.0, x), label='number-first'),
    # activations
    case('sigmoid', real(2, 3)),
    case('relu', nonzero(2, 3)),
    case('leaky_relu', nonzero(2, 3)),
    case('leaky_relu', nonzero(2, 3), slope=0.05, label='slope'),
    case('leaky_relu', nonzero(2, 3), slope=-0.5, label='negative-slope'),
    case('softmax', real(2, 3), label='axis1'),
    case('softmax', real(2, 3, 2), axis=(1, 2), label='axes'),
    case('softmax', real(2, 3, 2), axis=-1, label='negative-axis'),
    case('log_softmax', real(2, 3), label='axis1'),
    case('log_softmax', real(3, 2), axis=0, label='axis0'),
    case('log_softmax', real(2, 3, 2), axis=(-1, 0), label='negative-axes'),
    case('gelu', real(2, 3), label='erf'),
    case('gelu', uniform(-6.0, 6.0, 3, 4), approximate='none', label='erf-wide'),
    case('gelu', real(2, 3), approximate='tanh', label='tanh'),
    case('gelu', uniform(-6.0, 6.0, 3, 4), approximate='tanh', label='tanh-wide'),
    # connections
    case('linear', real(2, 3), real(3, 2), real(2), label='bias'),
    case('linear', real(2, 3), real(3, 2), label='no-bias'),
    case('linear', real(3), real(3, 2), real(2), label='single-sample'),
    case('embed_id', real(4, 2), call=lambda W: F.embed_id(_IDS, W), label='repeated-ids'),
    case('embed_id', real(4, 2), call=lambda W: F.embed_id(np.array(2), W), label='scalar-id'),
    # losses
    case('mean_squared_error', real(2, 3), real(2, 3), label='2d'),
    case('mean_squared_error', real(3), real(3), label='1d'),
    # shapes that differ only in axes of size 1 are paired element by element
    case('mean_squared_error', real(3, 1), real(3), label='column-vs-vector'),
    case('mean_squared_error', real(1, 1), real(1), label='1x1-vs-1'),
    case('softmax_cross_entropy', real(3, 4), t=_LABELS),
    case('softmax_cross_entropy', real(3, 4), t=_LABELS.reshape(3, 1), label='column-labels'),
    case('sigmoid_cross_entropy', real(2, 3), t=_TARGETS),
    case('sigmoid_cross_entropy', real(3, 1), t=_TARGETS[0], label='column-vs-vector'),
    case('binary_cross_entropy', uniform(0.1, 0.9, 2, 3), t=_TARGETS),
    # a target given as a Variable is differentiated too
    case(
        'sigmoid_cross_entropy',
        real(2, 3),
        uniform(0.1, 0.9, 2, 3),
        label='variable-target',
    ),
    case(
        'sigmoid_cross_entropy',
        real(3, 1),
        uniform(0.1, 0.9, 3),
        label='column-vs-variable-vector',
    ),
    case(
        'binary_cross_entropy',
        uniform(0.1, 0.9, 2, 3),
        uniform(0.1, 0.9, 2, 3),
        label='variable-target',
    ),
    case(
        'binary_cross_entropy',
        uniform(0.1, 0.9, 3, 1),
        t=np.array([1, 0, 1]),
        label='column-vs-int-labels',
    ),
    # noise and normalisation
    case('dropout', real(2, 4), call=seeded_dropout, dropout_ratio=0.5, label='train'),
    case('dropout', real(2, 4), call=dropout_in_test_mode, label='test-mode'),
    case(
        'batch_norm',
        real(4, 3),
        uniform(0.5, 1.5, 3),
        real(3),
        call=batch_norm_train,
        label='train-2d',
    ),
    case(
        'batch_norm',
        real(2, 3, 2, 2),
        uniform(0.5, 1.5, 3),
        real(3),
        call=batch_norm_train,
        label='train-4d',
    ),
    case(
        'batch_norm',
        real(4, 3),
        uniform(0.5, 1.5, 3),
        real(3),
        call=batch_norm_test,
        label='test-mode-2d',
    ),
    case(
        'batch_nrom',
        real(2, 3, 2, 2),
        uniform(0.5, 1.5, 3),
        real(3),
        call=batch_nrom_train,
        label='train-4d',
    ),
    case(
        'batch_norm',
        real(2, 3, 1, 2),
        uniform(0.5, 1.5, 3),
        real(3),
        call=batch_norm_test,
        label='test-mode-4d',
    ),
    case('layer_norm', real(3, 4), uniform(0.5, 1.5, 4), real(4), label='2d'),
    case('layer_norm', real(2, 3, 4), uniform(0.5, 1.5, 4), real(4), eps=1e-3, label='3d-eps'),
    case('layer_norm', real(5), uniform(0.5, 1.5, 5), real(5), label='1d'),
    # attention: q (..., L, D), k (..., S, D), v (..., S, Dv)
    case(
        'scaled_dot_product_attention', real(2, 3, 4), real(2, 5, 4), real(2, 5, 2), label='plain'
    ),
    case(
        'scaled_dot_product_attention',
        real(2, 1, 3, 4),
        real(3, 5, 4),
        real(2, 1, 5, 2),
        label='broadcast-batch',
    ),
    case(
        'scaled_dot_product_attention',
        real(2, 3, 4),
        real(2, 5, 4),
        real(2, 5, 2),
        mask=_ATTENTION_MASK,
        label='bool-mask-with-empty-row',
    ),
    case(
        'scaled_dot_product_attention',
        real(2, 3, 4),
        real(2, 5, 4),
        real(2, 5, 2),
        real(3, 5),
        label='float-mask-differentiated',
    ),
    case(
        'scaled_dot_product_attention',
        real(2, 2, 4),
        real(2, 5, 4),
        real(2, 5, 3),
        mask=_ATTENTION_BIAS,
        label='float-mask-with-inf',
    ),
    case(
        'scaled_dot_product_attention',
        real(2, 4, 3),
        real(2, 4, 3),
        real(2, 4, 2),
        is_causal=True,
        label='causal',
    ),
    case(
        'scaled_dot_product_attention',
        real(3, 2),
        real(2, 2),
        real(2, 3),
        is_causal=True,
        scale=0.7,
        label='causal-more-queries-scale',
    ),
    # convolution: tiny images, with stride, pad and non-square kernels
    case('conv2d', real(1, 2, 4, 4), real(2, 2, 3, 3), real(2), label='bias'),
    case('conv2d', real(2, 1, 4, 3), real(2, 1, 2, 2), stride=2, pad=1, label='stride-pad-no-bias'),
    case(
        'conv2d',
        real(2, 2, 5, 4),
        real(3, 2, 3, 2),
        real(3),
        stride=(2, 1),
        pad=(1, 2),
        label='pairs',
    ),
    case('deconv2d', real(1, 2, 2, 2), real(2, 1, 3, 3), real(1), label='bias'),
    case(
        'deconv2d', real(1, 1, 2, 2), real(1, 2, 2, 3), stride=2, pad=1, label='stride-pad-no-bias'
    ),
    case('deconv2d', real(1, 1, 2, 2), real(1, 1, 3, 3), stride=2, outsize=(6, 5), label='outsize'),
    case(
        'deconv2d',
        real(2, 2, 2, 3),
        real(2, 3, 3, 2),
        real(3),
        stride=(2, 3),
        pad=(1, 0),
        label='pairs',
    ),
    case('im2col', real(1, 2, 3, 3), kernel_size=2, label='matrix'),
    case(
        'im2col',
        real(1, 1, 3, 4),
        kernel_size=(2, 3),
        stride=(1, 2),
        pad=1,
        to_matrix=False,
        label='tensor-stride-pad',
    ),
    case('col2im', real(4, 8), input_shape=(1, 2, 3, 3), kernel_size=2, label='matrix'),
    case(
        'col2im',
        real(1, 1, 2, 3, 4, 2),
        input_shape=(1, 1, 3, 4),
        kernel_size=(2, 3),
        stride=(1, 2),
        pad=1,
        to_matrix=False,
        label='tensor-stride-pad',
    ),
    # pooling
    case('pooling', distinct(1, 2, 4, 4), kernel_size=2, stride=2, label='disjoint'),
    case('pooling', distinct(1, 1, 3, 4), kernel_size=2, stride=1, pad=1, label='overlap-pad'),
    case('pooling', distinct(1, 1, 5, 5), kernel_size=2, stride=3, label='gaps'),
    case('max_pooling', distinct(1, 1, 4, 4), kernel_size=(2, 3), stride=(2, 1)),
    case('average_pooling', real(1, 2, 4, 4), kernel_size=2, stride=2, label='disjoint'),
    case('average_pooling', real(1, 1, 3, 4), kernel_size=2, stride=1, pad=1, label='overlap-pad'),
    case(
        'average_pooling',
        real(1, 1, 5, 5),
        kernel_size=(3, 2),
        stride=(2, 3),
        pad=(1, 0),
        label='pairs',
    ),
    # the book's compositions of primitives
    case('linear_simple', real(2, 3), real(3, 2), real(2), label='bias'),
    case('linear_simple', real(2, 3), real(3, 2), label='no-bias'),
    case('sigmoid_simple', real(2, 3)),
    case('softmax_simple', real(2, 3), label='axis1'),
    case('softmax_simple', real(3, 2), axis=0, label='axis0'),
    case('softmax_simple', real(2, 3, 2), axis=(1, 2), label='axes'),
    case('mean_squared_error_simple', real(2, 3), real(2, 3), label='2d'),
    case('mean_squared_error_simple', real(3), real(3), label='1d'),
    case('softmax_cross_entropy_simple', real(3, 4), t=_LABELS),
    case('conv2d_simple', real(1, 2, 4, 4), real(2, 2, 3, 3), real(2), label='bias'),
    case(
        'conv2d_simple',
        real(2, 1, 4, 3),
        real(2, 1, 2, 2),
        stride=2,
        pad=1,
        label='stride-pad-no-bias',
    ),
    case(
        'conv2d_simple',
        real(2, 2, 5, 4),
        real(3, 2, 3, 2),
        real(3),
        stride=(2, 1),
        pad=(1, 2),
        label='pairs',
    ),
    case('pooling_simple', distinct(1, 2, 4, 4), kernel_size=2, stride=2, label='disjoint'),
    case('pooling_simple', distinct(1, 1, 3, 4), kernel_size=2, stride=1, label='overlap'),
    case('pooling_simple', distinct(1, 1, 5, 5), kernel_size=(3, 2), stride=(2, 3), label='pairs'),
]

#: The public names covered by the registry.
REGISTERED = {c.name for c in CASES}

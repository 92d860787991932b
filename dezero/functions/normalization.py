"""Normalisation: batch normalisation with running statistics, and layer normalisation."""

import warnings

import numpy as np

from dezero import cuda
from dezero.anomaly import user_stacklevel
from dezero.array_ops import FLOAT16, float_data, is_float16, sum_array
from dezero.core import Config, Function, Variable
from dezero.functions.array import as_input, astype, sum_to
from dezero.functions.reduction import mean as _mean


# ---- statistics that do not overflow -----------------------------------------------------
def _statistics(x, axes, eps):
    """(xhat, mean, var, inv_std, exponent) of the float array ``x`` over ``axes``
    (kept, as the statistics are): its mean, biased variance var, inv_std =
    1 / sqrt(var + eps) and xhat = (x - mean) * inv_std.

    ``exponent`` is None, unless the squares of the deviations overflowed (from
    |x - mean| = 1.8e19 on in float32, 1.3e154 in float64) in some slice: then every
    such slice is computed again on x scaled by 2**-k, k (an int array, 0 for the other
    slices) the exponent of its largest |x|, which changes no xhat (eps taken as
    eps 2**-2k) and is exact (a power of two).  var is then the scaled variance, the
    true one var 2**2k (it may exceed the dtype's range, its inv_std does not)."""
    xp = cuda.get_array_module(x)
    if not x.size:  # (an empty last axis of layer_norm): no values, nothing to warn of
        return _empty_statistics(x, axes)
    with np.errstate(over='ignore'):  # an overflow is made good below
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
    if not xp.isfinite(var).all():  # overflowed, or x holds inf or nan
        k = _overflow_exponents(x, axes, var)
        if k is not None:
            return _scaled_statistics(x, axes, eps, k)
    inv_std = 1.0 / xp.sqrt(var + eps)
    xc *= inv_std
    return xc, mean, var, inv_std, None


def _empty_statistics(x, axes):
    """:func:`_statistics` of an ``x`` with no elements, without the warnings NumPy's
    mean gives for an empty slice: xhat is empty, and mean, var and inv_std are nan (as
    that mean is), of a float dtype and the shape of a reduction of x over ``axes``."""
    xp = cuda.get_array_module(x)
    dtype = x.dtype if x.dtype.kind == 'f' else np.float64
    nan = xp.full(x.sum(axis=axes, keepdims=True).shape, np.nan, dtype)
    return x - nan, nan, nan, nan, None


def _overflow_exponents(x, axes, var):
    """The exponents k (an int array of var's shape) of the largest |x| of the slices
    whose variance ``var`` is not finite although their x is, 0 for the other slices;
    None where there is no such slice (x holds inf or nan)."""
    xp = cuda.get_array_module(x)
    largest = xp.abs(x).max(axis=axes, keepdims=True)
    overflowed = ~xp.isfinite(var) & xp.isfinite(largest)
    if not overflowed.any():
        return None
    _, k = xp.frexp(largest)  # largest = f 2**k with f in [0.5, 1): below 2**k
    return xp.where(overflowed, k, 0)


def _scaled_statistics(x, axes, eps, k):
    """:func:`_statistics` of ``x`` with each slice scaled by 2**-k (its deviations
    are then below 2 in magnitude where k is that of its largest |x|)."""
    xp = cuda.get_array_module(x)
    with np.errstate(under='ignore'):  # (|x| far below the largest may round to 0)
        xs = xp.ldexp(x, -k)
        mean = xs.mean(axis=axes, keepdims=True)
        xc = xs - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + _scaled_eps(xp, eps, k, x.dtype))
        xc *= inv_std
        return xc, xp.ldexp(mean, k), var, xp.ldexp(inv_std, -k), k


def _scaled_eps(xp, eps, exponent, dtype):
    """eps 2**-2k for the exponents k of :func:`_statistics`, an array of ``dtype``."""
    with np.errstate(under='ignore'):
        return xp.ldexp(xp.asarray(eps, dtype), -2 * exponent)


def _recomputed_statistics(x, mean_of, eps, exponent):
    """(xhat, inv_std) of :func:`_statistics` computed from ``x`` (a Variable, or an
    array) with the operations of dezero, so that a recorded backward sees how they
    depend on x; ``mean_of`` takes the mean over the normalised axes, keeping them, and
    ``exponent`` is the one forward gave (the slices it scaled are scaled again).
    x is float32 or float64: backward takes float16 in float32 (:func:`_widened`)."""
    if exponent is not None:
        xp = cuda.get_array_module(exponent)
        down = xp.ldexp(xp.ones(exponent.shape, x.dtype), -exponent)  # 2**-k, exact
        x = x * down
        eps = _scaled_eps(xp, eps, exponent, x.dtype)
    xc = x - mean_of(x)
    inv_std = (mean_of(xc * xc) + eps) ** -0.5
    xhat = xc * inv_std
    return (xhat, inv_std) if exponent is None else (xhat, inv_std * down)


def _unscaled(factor, var, k, dtype):
    """factor * var * 4**k in ``dtype``, for the variances ``var`` of channels that
    :func:`_statistics` scaled by 2**-k (k = 0: not scaled); where that exceeds the
    range of ``dtype`` it is inf, with a RuntimeWarning."""
    xp = cuda.get_array_module(var)
    with np.errstate(over='ignore'):  # (said below)
        term = xp.ldexp(factor * var.astype(dtype), 2 * k)
    overflowed = xp.isinf(term) & (k != 0)
    if overflowed.any():
        # the largest such variance, var 4**k, as a power of ten
        power = xp.log10(var[overflowed].astype(np.float64)) + 2 * k[overflowed] * 0.30103
        message = f'batch_norm: a batch variance of about 1e{float(power.max()):.0f} exceeds'
        if dtype.itemsize < 8:  # a float64 running variance holds more
            message += (
                f' the range of the running variance, {dtype}; it becomes inf there (keep '
                f'the running statistics in float64: for an L.BatchNorm, assign float64 '
                f'arrays to its avg_mean.data and avg_var.data)'
            )
        else:
            message += f" {dtype}'s range, the running variance's dtype; it becomes inf there"
        warnings.warn(message, RuntimeWarning, stacklevel=user_stacklevel())
    return term


def _widened(arrays):
    """The arrays (or Variables) ``arrays`` in float32 where they are float16, through
    :func:`~dezero.functions.astype` (so that a recorded backward records the cast);
    the others as they are.  The normalisations compute float16 in float32: the
    squares of its deviations overflow float16 from 256 on, and each rounding to
    float16 near a result of 0 is an error of many of its units there."""
    return tuple(astype(a, np.float32) if is_float16(a.dtype) else a for a in arrays)


def _rounded(grads, dtypes):
    """``grads`` (None for a gradient not wanted) as they are where ``dtypes`` is None;
    else, with ``dtypes`` those of the inputs, the float32 gradient of each float16
    input rounded to float16, once."""
    if dtypes is None:
        return grads
    return tuple(
        astype(g, FLOAT16) if g is not None and is_float16(d) else g for g, d in zip(grads, dtypes)
    )


def _output_dtype(gamma, beta):
    """The dtype of the normalisation of float16 x with ``gamma`` and ``beta``: float16,
    unless they are wider (NumPy's promotion)."""
    return np.result_type(FLOAT16, gamma.dtype, beta.dtype)


class BatchNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta per channel (axis 1).

    In training, mean and var are the batch statistics (the biased variance) and the
    running statistics ``running_mean`` / ``running_var`` are updated in place; in test
    mode the running statistics are used and left alone.  The arguments and the
    inputs are checked as :func:`batch_norm` checks them.
    Derivative: with xhat the normalised x, gamma * gy / std to x in test mode, and
    gamma / std * (gy - mean(gy) - xhat * mean(gy * xhat)) in training (the means over
    the statistics' axes); sum(gy * xhat) to gamma, sum(gy) to beta.

    Forward keeps xhat and 1 / std, which the first-order backward uses as they are; a
    recorded backward computes them again from x, so that second derivatives see how
    they depend on x.
    """

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, mean, var, decay, eps):
        # (the book's argument names; the arrays are kept as running_mean/running_var,
        # which avg_mean/avg_var, the book's attribute names, also give)
        name = type(self).__name__
        self.running_mean = _statistic(name, 'mean', mean)
        self.running_var = _statistic(name, 'var', var)
        self.decay, self.eps = _decay_and_eps(name, decay, eps)

    @property
    def avg_mean(self):
        """The running mean, under the book's name (``self.avg_mean *= decay`` works)."""
        return self.running_mean

    @avg_mean.setter
    def avg_mean(self, value):
        self.running_mean = value

    @property
    def avg_var(self):
        """The running variance, under the book's name."""
        return self.running_var

    @avg_var.setter
    def avg_var(self, value):
        self.running_var = value

    def forward(self, x, gamma, beta):
        name = type(self).__name__
        _check_inputs(name, x.shape, gamma.shape, beta.shape)
        self.train = Config.train
        if self.train and not x.size:
            if x.shape[1]:
                raise ValueError(_no_values_message(name, x.shape))
            self.train = False  # no channels: nothing to normalise, no statistic to update
        _statistic(name, 'mean', self.running_mean, x.shape[1], self.train)
        _statistic(name, 'var', self.running_var, x.shape[1], self.train)
        self.axes = (0,) if x.ndim == 2 else (0, 2, 3)
        self.shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
        xp = cuda.get_array_module(x)
        self.exponent = None
        # float16 in float32 (to the result, rounded once): squares of deviations
        # beyond 256 overflow float16, its sums over a big batch lose the small terms,
        # and a small eps (1e-8) is 0 in it; integers and bools in float64, in test
        # mode as in training (where NumPy takes their mean in float64)
        half = is_float16(x.dtype)
        self.rounded_to = (x.dtype, gamma.dtype, beta.dtype) if half else None
        xs = x.astype(np.float32) if half else float_data(x)
        if self.train:
            xhat, mean, var, inv_std, self.exponent = _statistics(xs, self.axes, self.eps)
            self._update_running(mean.reshape(-1), var.reshape(-1), x.size // x.shape[1])
        else:
            mean = self.running_mean.reshape(self.shape).astype(xs.dtype)
            var = self.running_var.reshape(self.shape).astype(xs.dtype)
            inv_std = 1.0 / xp.sqrt(var + self.eps)
            xhat = (xs - mean) * inv_std
            self.mean = mean  # a recorded backward takes x - mean
        self.xhat = xhat
        self.inv_std = inv_std
        y = xhat * gamma.reshape(self.shape) + beta.reshape(self.shape)
        return y.astype(_output_dtype(gamma, beta), copy=False) if half else y

    def _update_running(self, mean, var, m):
        """Move the running statistics towards the batch's ``mean`` and ``var`` (of
        ``m`` values per channel; var scaled by 2**-2k where forward scaled x, the
        unbiased term then computed in the running variance's dtype and scaled back,
        so that it is finite wherever that dtype holds it)."""
        d = self.decay
        self.running_mean *= d
        self.running_mean += (1 - d) * mean
        self.running_var *= d
        unbias = (1 - d) * m / max(m - 1, 1)
        if self.exponent is None:
            self.running_var += unbias * var
        else:
            k = self.exponent.reshape(-1)
            self.running_var += _unscaled(unbias, var, k, self.running_var.dtype)

    def backward(self, gy, *, needs_input_grad):
        x, gamma, _ = self.retained_inputs()
        if self.rounded_to is not None:  # float16 in float32, as forward computes it
            gy, gamma = _widened((gy, gamma))
            if isinstance(x, Variable):  # (a first-order backward reads xhat instead)
                (x,) = _widened((x,))
        axes = self.axes
        m = x.size // x.shape[1] if self.train else None  # (training has channels)
        if not isinstance(x, Variable):
            xhat, inv_std = self.xhat, self.inv_std
        elif self.train:
            scale = 1.0 / m
            xhat, inv_std = _recomputed_statistics(
                x, lambda a: a.sum(axis=axes, keepdims=True) * scale, self.eps, self.exponent
            )
        else:  # the running statistics are constants
            inv_std = self.inv_std
            xhat = (x - self.mean) * inv_std
        gbeta = sum_array(gy, axes)
        ggamma = sum_array(gy * xhat, axes)
        if not needs_input_grad[0]:
            return _rounded((None, ggamma, gbeta), self.rounded_to)
        if self.train:  # xhat depends on x through the batch statistics
            scale = 1.0 / m
            gy = (
                gy - gbeta.reshape(self.shape) * scale - xhat * (ggamma.reshape(self.shape) * scale)
            )
        gx = gy * (gamma.reshape(self.shape) * inv_std)
        return _rounded((gx, ggamma, gbeta), self.rounded_to)


def _statistic(owner, name, a, channels=None, written=False):
    """A running statistic of a batch normalisation (``owner``, which errors name): a
    float array (a Variable's data), updated in place; of shape (channels,) when
    ``channels`` is given, and writeable when it is to be ``written`` (in training),
    so that a call refused leaves both statistics as they were."""
    if isinstance(a, Variable):
        a = a.data
    if written and isinstance(a, np.ndarray) and not a.flags.writeable:  # (CuPy's always are)
        raise ValueError(
            f'{owner}: {name} is read-only; training updates it in place, so it must be '
            f'a writeable array (such as {name}.copy()); test mode only reads it'
        )
    expected = 'a float array' if channels is None else f'a float array of shape ({channels},)'
    if not isinstance(a, cuda.array_types) or a.dtype.kind != 'f':
        raise TypeError(
            f'{owner}: {name} must be {expected} (it is updated in place), got '
            f'{getattr(a, "dtype", type(a).__name__)}'
        )
    if channels is not None and a.shape != (channels,):
        raise ValueError(
            f'{owner}: {name} has shape {a.shape}, expected '
            f'({channels},) (one value per channel of x)'
        )
    return a


def _decay_and_eps(owner, decay, eps):
    """``decay`` (in [0, 1]) and ``eps`` (positive and finite) of a batch
    normalisation as Python floats, checked; errors name ``owner``."""
    decay, eps = _real_number(owner, 'decay', decay), _real_number(owner, 'eps', eps)
    if not 0 <= decay <= 1:  # nan fails too
        raise ValueError(f'{owner}: decay must be in [0, 1], got {decay}')
    if not 0 < eps < np.inf:
        raise ValueError(f'{owner}: eps must be positive and finite, got {eps}')
    return decay, eps


def _real_number(owner, name, value):
    """``value``, the argument ``name`` of ``owner``, as a Python float; TypeError
    unless it is a real number (a Python or NumPy int or float, not a bool)."""
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f'{owner}: {name} must be a real number, got {value!r:.60}')
    return float(value)


def _check_inputs(owner, x_shape, gamma_shape, beta_shape):
    """Check the shapes of a batch normalisation's x ((N, C) or (N, C, H, W)), gamma
    and beta ((C,) each); ValueError naming ``owner``."""
    if len(x_shape) not in (2, 4):
        raise ValueError(
            f'{owner}: x must be 2-D (N, C) or 4-D (N, C, H, W), got shape {tuple(x_shape)}'
        )
    channels = x_shape[1]
    for name, shape in (('gamma', gamma_shape), ('beta', beta_shape)):
        if tuple(shape) != (channels,):
            raise ValueError(
                f'{owner}: {name} has shape {tuple(shape)}, expected '
                f'({channels},) for x of shape {tuple(x_shape)}'
            )


def batch_norm(x, gamma, beta, mean, var, decay=0.9, eps=2e-5):
    """Batch normalisation over the channel axis 1 of x, of shape (N, C) or (N, C, H, W).

    In training (``Config.train``) x is normalised with the mean and biased variance of
    the batch (per channel, over N or over N, H, W), and the running statistics ``mean``
    and ``var`` (arrays of shape (C,)) are updated in place:
    mean = decay * mean + (1 - decay) * batch_mean and
    var = decay * var + (1 - decay) * batch_var * m / (m - 1), m values per channel.
    In test mode they are used instead, unchanged.  The result is
    gamma * (x - mean) / sqrt(var + eps) + beta, right also where the squares of the
    deviations x - mean overflow the dtype (from 1.8e19 on in float32): such channels
    are computed on x scaled by a power of two.  Training on one value per channel
    (a batch (1, C)) gives beta, with a RuntimeWarning; test mode takes such a batch.
    Training on no values per channel (no samples, or images of no positions) is
    refused with a ValueError; an x with no channels gives an empty output.
    ``mean`` and ``var`` must be writeable in training (ValueError before either
    changes otherwise); test mode only reads them.
    Derivative: to gamma sum(gy * xhat), to beta sum(gy), to x gamma * gy / std in test
    mode and gamma / std * (gy - mean(gy) - xhat * mean(gy * xhat)) in training.
    """
    name = 'batch_norm'
    x, gamma, beta = (as_input(a, name, i) for i, a in enumerate((x, gamma, beta)))
    _check_inputs(name, x.shape, gamma.shape, beta.shape)
    channels = x.shape[1]
    train = Config.train and x.size != 0  # (no channels: nothing to normalise or update)
    mean = _statistic(name, 'mean', mean, channels, train)
    var = _statistic(name, 'var', var, channels, train)
    decay, eps = _decay_and_eps(name, decay, eps)
    if Config.train and not train and channels:
        raise ValueError(_no_values_message(name, x.shape))
    if train and x.size == channels:  # the book's function gives beta then
        warnings.warn(
            f'batch_norm: one value per channel when training (x of shape {x.shape}): '
            f'the batch statistics of one value normalise it to 0, so the result is '
            f'beta and x gets no gradient; use larger batches, or dezero.test_mode() for '
            f'the running statistics',
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
    return BatchNorm(mean, var, decay, eps)(x, gamma, beta)


def _no_values_message(owner, shape):
    """Why ``owner`` cannot train on an x of ``shape`` that has channels but no values
    in them: no samples, or no positions (an image of height or width 0)."""
    if shape[0] == 0:
        what = f' of an empty batch (x of shape {shape} has no samples)'
    else:
        what = f': x of shape {shape} has no positions (H * W = 0)'
    return (
        f'{owner}: cannot compute batch statistics{what}, so its channels have no '
        f'values to take a mean and variance of; test mode (dezero.test_mode()) '
        f'normalises with the running statistics instead'
    )


def batch_nrom(x, gamma, beta, mean, var, decay=0.9, eps=2e-5):
    """:func:`batch_norm` under the misspelt name the book's DeZero gives it, so that
    code written for the book runs unchanged."""
    return batch_norm(x, gamma, beta, mean, var, decay, eps)


# ---- layer normalisation ---------------------------------------------------------------
def _sum_to(g, shape):
    """The gradient ``g`` summed down to ``shape`` over its leading axes."""
    return g if g.shape == shape else sum_to(g, shape)


def _row_mean(a):
    """The mean of ``a`` (an array or a Variable) over its last axis, kept."""
    return _mean(a, axis=-1, keepdims=True)


class LayerNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, the mean and the biased variance
    taken over the last axis of x (see :func:`layer_norm` for the derivative).

    Forward keeps the mean and 1 / std of each row (one value per row), which the
    first-order backward uses as they are; a recorded backward computes them again from
    x, so that second derivatives see how they depend on x.
    """

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, eps):
        self.eps = _layer_norm_eps(type(self).__name__, eps)

    def forward(self, x, gamma, beta):
        # float16 in float32 to the result, rounded once, as in batch_norm
        half = is_float16(x.dtype)
        self.rounded_to = (x.dtype, gamma.dtype, beta.dtype) if half else None
        xs = x.astype(np.float32) if half else x
        xhat, self.mean, _, self.inv_std, self.exponent = _statistics(xs, -1, self.eps)
        y = xhat * gamma + beta
        return y.astype(_output_dtype(gamma, beta), copy=False) if half else y

    def backward(self, gy, *, needs_input_grad):
        x, gamma, _ = self.retained_inputs()
        recompute = isinstance(x, Variable) or self.exponent is not None
        if self.rounded_to is not None:  # float16 in float32, as forward computes it
            gy, gamma = _widened((gy, gamma))
            if recompute:  # (the first-order backward takes x - mean in float32 anyway)
                (x,) = _widened((x,))
        if recompute:
            # (from x scaled as forward scaled it: x - mean may overflow there)
            xhat, inv_std = _recomputed_statistics(x, _row_mean, self.eps, self.exponent)
        else:
            xhat = (x - self.mean) * self.inv_std
            inv_std = self.inv_std
        ggamma = _sum_to(gy * xhat, gamma.shape) if needs_input_grad[1] else None
        gbeta = _sum_to(gy, gamma.shape) if needs_input_grad[2] else None
        if not needs_input_grad[0]:
            return _rounded((None, ggamma, gbeta), self.rounded_to)
        g = gy * gamma
        g = g - _row_mean(g) - xhat * _row_mean(g * xhat)
        return _rounded((g * inv_std, ggamma, gbeta), self.rounded_to)


def layer_norm(x, gamma, beta, eps=1e-5):
    """Layer normalisation over the last axis of ``x``, as PyTorch's layer_norm with
    ``normalized_shape=x.shape[-1:]``: each row (the last axis) is normalised with its
    own mean and biased variance, xhat = (x - mean) / sqrt(var + eps), then scaled and
    shifted, gamma * xhat + beta, with gamma and beta of shape (x.shape[-1],).  The same
    in training and in test mode; there are no running statistics.  Rows whose squared
    deviations overflow the dtype (from 1.8e19 on in float32) are computed on x scaled
    by a power of two, so that they too are normalised right.
    Derivative: to gamma sum(gy * xhat), to beta sum(gy) (both over every axis but the
    last), to x (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps) with g = gamma *
    gy (the means over the last axis)."""
    x, gamma, beta = (as_input(a, 'layer_norm', i) for i, a in enumerate((x, gamma, beta)))
    if x.ndim == 0:
        raise ValueError(
            'layer_norm: x must have at least one axis (it is normalised over its last), '
            'got a 0-d array'
        )
    features = x.shape[-1]
    for name, p in (('gamma', gamma), ('beta', beta)):
        if p.shape != (features,):
            raise ValueError(
                f'layer_norm: {name} has shape {p.shape}, expected ({features},) (one '
                f'value per element of the last axis of x, of shape {x.shape})'
            )
    return LayerNorm(_layer_norm_eps('layer_norm', eps))(x, gamma, beta)


def _layer_norm_eps(owner, eps):
    """``eps`` of a layer normalisation (0 or more and finite, as PyTorch takes it) as
    a Python float, checked; errors name ``owner``."""
    eps = _real_number(owner, 'eps', eps)
    if not 0 <= eps < np.inf:  # nan fails too
        raise ValueError(f'{owner}: eps must be a non-negative finite number, got {eps!r}')
    return eps

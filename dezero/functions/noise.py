"""Noise for regularisation: (inverted) dropout."""

import numbers

from dezero import cuda
from dezero.array_ops import FLOAT16, is_float16
from dezero.core import Config, Function, as_variable
from dezero.functions.array import as_input


class Dropout(Function):
    """y = x * mask / (1 - ratio), with mask = (uniform random >= ratio) drawn once per
    call, or the bool array ``keep`` given.  Derivative: the same mask and scale applied
    to gy."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, ratio, keep=None):
        self.ratio = ratio
        self.given_keep = keep

    def forward(self, x):
        xp = cuda.get_array_module(x)
        keep = self.given_keep
        if keep is None:
            keep = xp.random.random_sample(x.shape) >= self.ratio
        scale = 1.0 / (1.0 - self.ratio)
        if is_float16(x.dtype):
            # in float64, rounded to float16 once: in float16 a scale beyond 65504 (a
            # ratio from 0.99999 on) is inf, and the dropped elements 0 * inf = nan
            self.keep, self.factor = keep, None
            return (x.astype(xp.float64) * scale * keep).astype(FLOAT16)
        dtype = x.dtype if x.dtype.kind == 'f' else xp.float64
        # mask and scale as one array of x's dtype: a float32 x stays float32
        self.factor = keep.astype(dtype) * scale
        return x * self.factor

    def backward(self, gy):
        if self.factor is None:  # float16: the mask applied as forward applies it
            return Dropout(self.ratio, self.keep)(gy)
        return gy * self.factor


def dropout(x, dropout_ratio=0.5):
    """Inverted dropout.  In training (``Config.train``) each element of x is zeroed
    with probability ``dropout_ratio`` and the rest are scaled by 1 / (1 - ratio), so
    the expectation is unchanged; the random draw uses ``np.random`` (seed it to
    reproduce), or on a GPU ``cupy.random`` (seeded with ``cupy.random.seed``).  float16 is scaled in float64 and rounded to float16 once, as its own
    range ends below the scale of a ratio from 0.99999 on.  In test mode x is returned
    unchanged, as a Variable.
    Derivative: the same mask times 1 / (1 - ratio)."""
    ratio = dropout_ratio
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real):
        raise TypeError(f'dropout: dropout_ratio must be a number, got {ratio!r}')
    ratio = float(ratio)
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f'dropout: dropout_ratio must be in [0, 1), got {ratio}')
    x = as_input(x, 'dropout')
    if not Config.train:
        return as_variable(x)
    return Dropout(ratio)(x)

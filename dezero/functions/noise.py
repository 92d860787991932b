"""Noise for regularisation: (inverted) dropout."""

import numbers

from dezero import cuda
from dezero.core import Config, Function, as_variable
from dezero.functions.array import as_input


class Dropout(Function):
    """y = x * mask / (1 - ratio), with mask = (uniform random >= ratio) drawn once per
    call.  Derivative: the same mask and scale applied to gy."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, ratio):
        self.ratio = ratio

    def forward(self, x):
        xp = cuda.get_array_module(x)
        keep = xp.random.random_sample(x.shape) >= self.ratio
        dtype = x.dtype if x.dtype.kind == 'f' else xp.float64
        # mask and scale as one array of x's dtype: a float32 x stays float32
        self.factor = keep.astype(dtype) * (1.0 / (1.0 - self.ratio))
        return x * self.factor

    def backward(self, gy):
        return gy * self.factor


def dropout(x, dropout_ratio=0.5):
    """Inverted dropout.  In training (``Config.train``) each element of x is zeroed
    with probability ``dropout_ratio`` and the rest are scaled by 1 / (1 - ratio), so
    the expectation is unchanged; the random draw uses ``np.random`` (seed it to
    reproduce).  In test mode x is returned unchanged, as a Variable.
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

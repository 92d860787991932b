"""How far apart two float16 results are, in float16's own units."""

import numpy as np


def float16_ulps(a, b):
    """The largest distance, in float16 units (steps between neighbouring float16
    numbers), between the float16 array ``a`` and the array ``b`` rounded to float16."""
    i, j = (np.asarray(c, np.float16).view(np.int16).astype(np.int32) for c in (a, b))
    i, j = (np.where(k < 0, -(k & 0x7FFF), k) for k in (i, j))
    return int(np.abs(i - j).max())

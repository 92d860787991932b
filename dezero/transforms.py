"""Preprocessing steps for dataset items: small callable objects, chained with Compose.

Each transform takes one array (an image, a feature vector, a label) and returns a new
array; none modifies its input.  Floating-point input keeps its precision: a float32
image stays float32 through Normalize and Flatten.

>>> import numpy as np
>>> f = Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)])
>>> f(np.array([[0, 51], [255, 102]], dtype=np.uint8))
array([0. , 0.2, 1. , 0.4], dtype=float32)
"""
import numpy as np


class Compose:
    """Apply ``transforms`` one after the other, in list order; an empty list (or
    None) gives the identity."""

    def __init__(self, transforms=None):
        transforms = [] if transforms is None else list(transforms)
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f'Compose: item {i} is not callable: {t!r}; expected '
                                f'transforms such as Flatten() or Normalize(0, 255)')
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return f'Compose([{", ".join(repr(t) for t in self.transforms)}])'


class Normalize:
    """``(x - mean) / std``.

    ``mean`` and ``std`` are scalars, or sequences with one value per channel that apply
    along the first axis of the input (C of a C,H,W image).  Floating-point input keeps
    its dtype; integer input becomes float64 as in NumPy (use ToFloat first for float32).
    """

    def __init__(self, mean=0, std=1):
        self.mean = self._as_values('mean', mean)
        self.std = self._as_values('std', std)
        if np.any(self.std == 0):
            raise ValueError(f'Normalize: std must not be zero, got {std!r}')

    @staticmethod
    def _as_values(name, value):
        try:
            v = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f'Normalize: {name} must be a number or a sequence of '
                            f'numbers, got {value!r}') from None
        if v.ndim > 1 or v.size == 0:
            raise ValueError(f'Normalize: {name} must be a number or a non-empty flat '
                             f'sequence (one value per channel), got shape {v.shape}')
        return v.reshape(()) if v.size == 1 else v

    def _broadcast(self, name, v, x, dtype):
        """``v`` cast to ``dtype``, shaped to apply along the first axis of ``x``."""
        v = v.astype(dtype)
        if v.ndim == 0:
            return v
        if x.ndim == 0 or x.shape[0] != v.size:
            raise ValueError(f'Normalize: {v.size} per-channel values of {name} do not '
                             f'fit an input of shape {x.shape} (expected {v.size} '
                             f'channels on the first axis)')
        return v.reshape((v.size,) + (1,) * (x.ndim - 1))

    def __call__(self, x):
        x = np.asarray(x)
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        mean = self._broadcast('mean', self.mean, x, dtype)
        std = self._broadcast('std', self.std, x, dtype)
        return (x - mean) / std

    def __repr__(self):
        return f'Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})'


class Flatten:
    """Flatten an array into one dimension (a copy, in C order): (1, 28, 28) -> (784,)."""

    def __call__(self, x):
        return np.asarray(x).flatten()

    def __repr__(self):
        return 'Flatten()'


class AsType:
    """Convert an array (or a NumPy scalar) to ``dtype``."""

    def __init__(self, dtype=np.float32):
        self.dtype = np.dtype(dtype)

    def __call__(self, x):
        if isinstance(x, (np.ndarray, np.generic)):
            return x.astype(self.dtype)
        return np.asarray(x, dtype=self.dtype)

    def __repr__(self):
        return f'{type(self).__name__}(dtype={self.dtype.name})'


class ToFloat(AsType):
    """Convert to a floating-point dtype (float32 by default)."""

    def __init__(self, dtype=np.float32):
        super().__init__(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise ValueError(f'ToFloat: dtype must be a floating-point type, got '
                             f'{self.dtype.name}')


class ToInt(AsType):
    """Convert to an integer dtype (int64 by default); floats are truncated toward 0."""

    def __init__(self, dtype=np.int64):
        super().__init__(dtype)
        if not np.issubdtype(self.dtype, np.integer):
            raise ValueError(f'ToInt: dtype must be an integer type, got '
                             f'{self.dtype.name}')

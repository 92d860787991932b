"""Evaluation metrics: not differentiable, they return Variables outside any graph."""

import numpy as np

from dezero import cuda
from dezero.array_ops import array_of
from dezero.core import Variable
from dezero.functions.loss import check_class_labels, check_label_shape


def accuracy(y, t):
    """The fraction of rows of the scores ``y`` (N, C) whose largest entry (argmax over
    axis 1) is at the integer label of that row in ``t`` (labels in [0, C), of shape
    (N,) or (N, 1), as softmax_cross_entropy takes: a row (1, N) is refused).
    Returns a 0-d float64 Variable with no creator, as the book's does (the fraction
    of hits to float64's precision, whatever y's dtype): accuracy has no useful
    derivative."""
    y, t = array_of(y), array_of(t)
    for name, a in (('y', y), ('t', t)):
        if not isinstance(a, cuda.array_types):
            raise TypeError(
                f'accuracy: {name} must be an array or a Variable, got {type(a).__name__}'
            )
    if cuda.is_gpu_array(y) != cuda.is_gpu_array(t):
        raise TypeError(
            f'accuracy: y is on the {cuda.device_name(y)} but t on the '
            f'{cuda.device_name(t)}; put both on one device (to_gpu() or '
            f'dezero.cuda.as_cupy, or to_cpu())'
        )
    if y.ndim != 2:
        raise ValueError(f'accuracy: y must be 2-D scores (N, C), got shape {y.shape}')
    n = y.shape[0]
    check_label_shape('accuracy', t, y.shape, 'y')
    if t.dtype.kind not in 'iu':
        raise ValueError(f'accuracy: t must hold integer class labels, got dtype {t.dtype}')
    if n == 0:
        raise ValueError(f'accuracy: y is an empty batch (shape {y.shape})')
    check_class_labels('accuracy', t, y.shape[1], 'y')
    hits = y.argmax(axis=1) == t.reshape(n)
    xp = cuda.get_array_module(y)
    return Variable(xp.asarray(hits.mean(), dtype=np.float64))

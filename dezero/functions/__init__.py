"""Differentiable functions, one module per family; use as ``import dezero.functions as F``.

- :mod:`.arithmetic`: add, sub, mul, div, neg, pow (the operators)
- :mod:`.math`: sin, cos, tan, tanh, exp, log, sqrt, abs, square, clip
- :mod:`.array`: reshape, transpose, get_item, expand_dims, squeeze, flatten,
  broadcast_to, sum_to, concat, stack
- :mod:`.reduction`: sum, mean/average, max, min, logsumexp
- :mod:`.linalg`: matmul/dot
"""
from dezero.functions.arithmetic import add, div, mul, neg, pow, sub
from dezero.functions.array import (broadcast_to, concat, expand_dims, flatten, get_item,
                                    reshape, squeeze, stack, sum_to, transpose)
from dezero.functions.linalg import dot, matmul
from dezero.functions.math import abs, clip, cos, exp, log, sin, sqrt, square, tan, tanh
from dezero.functions.reduction import average, logsumexp, max, mean, min, sum

__all__ = [
    'add', 'sub', 'mul', 'div', 'neg', 'pow',
    'sin', 'cos', 'tan', 'tanh', 'exp', 'log', 'sqrt', 'abs', 'square', 'clip',
    'reshape', 'transpose', 'get_item', 'expand_dims', 'squeeze', 'flatten',
    'broadcast_to', 'sum_to', 'concat', 'stack',
    'sum', 'mean', 'average', 'max', 'min', 'logsumexp',
    'matmul', 'dot',
]

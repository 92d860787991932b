"""Differentiable functions, one module per family; use as ``import dezero.functions as F``.

Each is a :class:`~dezero.core.Function` with ``forward`` (arrays), ``backward``
(Variables, so it can be differentiated again) and ``backward_arrays`` (the same gradient
on arrays, for a first-order ``backward()``).  ``needs_input_data = False`` says that
neither backward reads the input values, and ``needs_output_data = False`` that neither
reads the output values (see :mod:`dezero.released`).

- :mod:`.arithmetic`: add, sub, mul, div, neg, pow (the operators)
- :mod:`.math`: sin, cos, tan, tanh, exp, log, sqrt, abs, square, clip
- :mod:`.array`: reshape, transpose, get_item, expand_dims, squeeze, flatten,
  broadcast_to, sum_to, concat, stack
- :mod:`.reduction`: sum, mean/average, max, min, logsumexp
- :mod:`.linalg`: matmul/dot
- :mod:`.activation`: sigmoid, relu, leaky_relu, softmax, log_softmax
- :mod:`.connection`: linear, embed_id
- :mod:`.loss`: mean_squared_error, softmax_cross_entropy, sigmoid_cross_entropy,
  binary_cross_entropy
- :mod:`.evaluation`: accuracy (not differentiable)
- :mod:`.noise`: dropout
- :mod:`.normalization`: batch_norm
- :mod:`.conv`: conv2d, deconv2d, im2col, col2im
- :mod:`.pooling`: pooling (max_pooling), average_pooling
"""
from dezero.functions.activation import leaky_relu, log_softmax, relu, sigmoid, softmax
from dezero.functions.arithmetic import add, div, mul, neg, pow, sub
from dezero.functions.array import (broadcast_to, concat, expand_dims, flatten, get_item,
                                    reshape, squeeze, stack, sum_to, transpose)
from dezero.functions.connection import embed_id, linear
from dezero.functions.conv import col2im, conv2d, deconv2d, im2col
from dezero.functions.evaluation import accuracy
from dezero.functions.linalg import dot, matmul
from dezero.functions.loss import (binary_cross_entropy, mean_squared_error,
                                   sigmoid_cross_entropy, softmax_cross_entropy)
from dezero.functions.math import abs, clip, cos, exp, log, sin, sqrt, square, tan, tanh
from dezero.functions.noise import dropout
from dezero.functions.normalization import batch_norm
from dezero.functions.pooling import average_pooling, max_pooling, pooling
from dezero.functions.reduction import average, logsumexp, max, mean, min, sum

__all__ = [
    'add', 'sub', 'mul', 'div', 'neg', 'pow',
    'sin', 'cos', 'tan', 'tanh', 'exp', 'log', 'sqrt', 'abs', 'square', 'clip',
    'reshape', 'transpose', 'get_item', 'expand_dims', 'squeeze', 'flatten',
    'broadcast_to', 'sum_to', 'concat', 'stack',
    'sum', 'mean', 'average', 'max', 'min', 'logsumexp',
    'matmul', 'dot',
    'sigmoid', 'relu', 'leaky_relu', 'softmax', 'log_softmax',
    'linear', 'embed_id',
    'mean_squared_error', 'softmax_cross_entropy', 'sigmoid_cross_entropy',
    'binary_cross_entropy',
    'accuracy',
    'dropout',
    'batch_norm',
    'conv2d', 'deconv2d', 'im2col', 'col2im',
    'pooling', 'max_pooling', 'average_pooling',
]

"""Differentiable functions, one module per family; use as ``import dezero.functions as F``.

Each is a :class:`~dezero.core.Function` with ``forward`` (arrays) and one ``backward``,
which runs on arrays in a first-order ``backward()`` and on Variables when the pass is
recorded (so it can be differentiated again).  ``retain_inputs`` and ``retain_outputs``
declare the values that backward reads; the graph keeps no others.  Where speed needs
it, a derivative's array code is the ``forward`` of a gradient Function of its own
(``TanhGrad``, ``SigmoidGrad``, ``Conv2DGradW``, ...), which the one ``backward`` calls.

- :mod:`.arithmetic`: add, sub, rsub, mul, div, rdiv, neg, pow (the operators)
- :mod:`.math`: sin, cos, tan, tanh, exp, log, sqrt, abs, square, clip, erf
- :mod:`.array`: reshape, transpose, get_item, expand_dims, squeeze, flatten,
  broadcast_to, sum_to, concat, stack, astype
- :mod:`.reduction`: sum, mean/average, max, min, logsumexp
- :mod:`.linalg`: matmul/dot
- :mod:`.selection`: where, maximum, minimum
- :mod:`.activation`: sigmoid, relu, leaky_relu, softmax, log_softmax, gelu
- :mod:`.connection`: linear, embed_id
- :mod:`.loss`: mean_squared_error, softmax_cross_entropy, sigmoid_cross_entropy,
  binary_cross_entropy
- :mod:`.evaluation`: accuracy (not differentiable)
- :mod:`.noise`: dropout
- :mod:`.normalization`: batch_norm (also under the book's spelling batch_nrom), layer_norm
- :mod:`.attention`: scaled_dot_product_attention
- :mod:`.conv`: conv2d, deconv2d, im2col, col2im (and the array versions
  im2col_array, col2im_array of :mod:`dezero.conv_ops`)
- :mod:`.pooling`: pooling (max_pooling), average_pooling
- :mod:`.simple`: the book's compositions linear_simple, sigmoid_simple, softmax_simple,
  mean_squared_error_simple, softmax_cross_entropy_simple, conv2d_simple, pooling_simple

The book's Function classes are exported under its names too (``F.Sum(axis,
keepdims)(x)``, ``F.Conv2d(stride, pad)(x, W, b)``, ...), each taking the book's
constructor arguments; those of the functions dezero adds are not (a result's
``creator`` shows them).
"""

from dezero import cuda  # noqa: F401  (the book's functions module imports it, and utils)
from dezero.conv_ops import col2im_array, im2col_array

# The book's module also offers these, which it imports from the core.
from dezero.core import Function, Variable, as_array, as_variable  # noqa: F401
from dezero.functions.activation import (
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
)
from dezero.functions.arithmetic import (
    Add,
    Div,
    Mul,
    Neg,
    Pow,
    Sub,
    add,
    div,
    mul,
    neg,
    pow,
    rdiv,
    rsub,
    sub,
)
from dezero.functions.array import (
    BroadcastTo,
    GetItem,
    GetItemGrad,
    Reshape,
    SumTo,
    Transpose,
    astype,
    broadcast_to,
    concat,
    expand_dims,
    flatten,
    get_item,
    reshape,
    squeeze,
    stack,
    sum_to,
    transpose,
)
from dezero.functions.attention import scaled_dot_product_attention
from dezero.functions.connection import Linear, embed_id, linear
from dezero.functions.conv import (
    Col2im,
    Conv2d,
    Conv2DGradW,
    Deconv2d,
    Im2col,
    col2im,
    conv2d,
    deconv2d,
    im2col,
)
from dezero.functions.evaluation import accuracy
from dezero.functions.linalg import MatMul, dot, matmul
from dezero.functions.loss import (
    MeanSquaredError,
    SoftmaxCrossEntropy,
    binary_cross_entropy,
    mean_squared_error,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
)
from dezero.functions.math import (
    Clip,
    Cos,
    Exp,
    Log,
    Sin,
    Tanh,
    abs,
    clip,
    cos,
    erf,
    exp,
    log,
    sin,
    sqrt,
    square,
    tan,
    tanh,
)
from dezero.functions.noise import dropout
from dezero.functions.normalization import BatchNorm, batch_norm, batch_nrom, layer_norm
from dezero.functions.pooling import (
    AveragePooling,
    Pooling,
    Pooling2DGrad,
    Pooling2DWithIndexes,
    average_pooling,
    max_pooling,
    pooling,
)
from dezero.functions.reduction import Max, Min, Sum, average, logsumexp, max, mean, min, sum
from dezero.functions.selection import maximum, minimum, where
from dezero.functions.simple import (
    conv2d_simple,
    linear_simple,
    mean_squared_error_simple,
    pooling_simple,
    sigmoid_simple,
    softmax_cross_entropy_simple,
    softmax_simple,
)

__all__ = [
    'add',
    'sub',
    'rsub',
    'mul',
    'div',
    'rdiv',
    'neg',
    'pow',
    'sin',
    'cos',
    'tan',
    'tanh',
    'exp',
    'log',
    'sqrt',
    'abs',
    'square',
    'clip',
    'erf',
    'reshape',
    'transpose',
    'get_item',
    'expand_dims',
    'squeeze',
    'flatten',
    'broadcast_to',
    'sum_to',
    'concat',
    'stack',
    'astype',
    'sum',
    'mean',
    'average',
    'max',
    'min',
    'logsumexp',
    'matmul',
    'dot',
    'where',
    'maximum',
    'minimum',
    'sigmoid',
    'relu',
    'leaky_relu',
    'softmax',
    'log_softmax',
    'gelu',
    'linear',
    'embed_id',
    'mean_squared_error',
    'softmax_cross_entropy',
    'sigmoid_cross_entropy',
    'binary_cross_entropy',
    'accuracy',
    'dropout',
    'batch_norm',
    'batch_nrom',
    'layer_norm',
    'scaled_dot_product_attention',
    'conv2d',
    'deconv2d',
    'im2col',
    'col2im',
    'im2col_array',
    'col2im_array',
    'pooling',
    'max_pooling',
    'average_pooling',
    'linear_simple',
    'sigmoid_simple',
    'softmax_simple',
    'mean_squared_error_simple',
    'softmax_cross_entropy_simple',
    'conv2d_simple',
    'pooling_simple',
    # the Function classes, under the book's names
    'Add',
    'Sub',
    'Mul',
    'Div',
    'Neg',
    'Pow',
    'Sin',
    'Cos',
    'Tanh',
    'Exp',
    'Log',
    'Clip',
    'Reshape',
    'Transpose',
    'GetItem',
    'GetItemGrad',
    'BroadcastTo',
    'SumTo',
    'Sum',
    'Max',
    'Min',
    'MatMul',
    'Linear',
    'Sigmoid',
    'ReLU',
    'LeakyReLU',
    'Softmax',
    'LogSoftmax',
    'MeanSquaredError',
    'SoftmaxCrossEntropy',
    'BatchNorm',
    'Conv2d',
    'Deconv2d',
    'Conv2DGradW',
    'Im2col',
    'Col2im',
    'Pooling',
    'Pooling2DGrad',
    'Pooling2DWithIndexes',
    'AveragePooling',
]


def __getattr__(name):
    # dezero.functions.utils, as in the book, looked up late: dezero.utils draws graphs,
    # whose code reads these functions' classes
    if name == 'utils':
        import dezero.utils

        return dezero.utils
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

"""The book's module name for the convolution and pooling functions.

The book's DeZero keeps conv2d, pooling and their helpers in ``dezero.functions_conv``;
here they live in :mod:`dezero.functions.conv`, :mod:`dezero.functions.pooling`,
:mod:`dezero.functions.simple` and :mod:`dezero.conv_ops`, and this module gives them
under the old path as well.
"""

from dezero.conv_ops import col2im_array, im2col_array

# The book's module also offers these, which it imports from elsewhere.
from dezero.conv_ops import get_conv_outsize, get_deconv_outsize, pair  # noqa: F401
from dezero.core import Function, as_variable  # noqa: F401
from dezero.functions.array import broadcast_to  # noqa: F401
from dezero.functions.connection import linear  # noqa: F401
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
from dezero.functions.pooling import (
    AveragePooling,
    Pooling,
    Pooling2DGrad,
    Pooling2DWithIndexes,
    average_pooling,
    pooling,
)
from dezero.functions.simple import conv2d_simple, pooling_simple

__all__ = [
    'conv2d',
    'deconv2d',
    'conv2d_simple',
    'pooling',
    'pooling_simple',
    'average_pooling',
    'im2col',
    'col2im',
    'im2col_array',
    'col2im_array',
    'Conv2d',
    'Deconv2d',
    'Conv2DGradW',
    'Pooling',
    'Pooling2DGrad',
    'Pooling2DWithIndexes',
    'AveragePooling',
    'Im2col',
    'Col2im',
]

"""Step 56: im2col, or how a convolution becomes one matrix product.

Computing a convolution with four nested loops is slow in Python. ``im2col`` ("image to
columns") copies every kernel-sized window of the input into one row of a matrix, so
that the whole convolution becomes a single matrix product with the flattened filters,
which NumPy does fast. The price is memory: overlapping windows are copied several
times. Look at the matrix of a tiny 3x3 image (one row per window of a 2x2 kernel),
at the matrix shapes for batches, and at our im2col + matmul convolution agreeing with
``F.conv2d`` in its output and in its gradients.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable
from dezero.utils import get_conv_outsize, pair

np.set_printoptions(precision=4, suppress=True)

# --- 1. The matrix of a tiny image -----------------------------------------------------
# One image (N=1) with one channel (C=1) of 3x3 pixels numbered 0 to 8.
x = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
print('image of shape', x.shape)
print(x[0, 0])
col = F.im2col(x, kernel_size=2, stride=1, pad=0, to_matrix=True)
print('im2col with a 2x2 kernel: shape', col.shape, '(4 windows, 4 pixels each)')
print(col.data)

# Convolving with a 2x2 filter of ones is now a matrix-vector product: each output
# pixel is the sum of its window.
ones = np.ones((2, 2), dtype=np.float32)
y = col.data @ ones.reshape(-1)
print('sum of each 2x2 window:', y.reshape(2, 2).tolist())

# --- 2. Shapes for batches -------------------------------------------------------------
# One row per output pixel of every image: N*OH*OW rows; C*KH*KW columns.
np.random.seed(0)
for shape in [(1, 3, 7, 7), (10, 3, 7, 7)]:
    col = F.im2col(np.random.rand(*shape), kernel_size=5, stride=1, pad=0)
    print(f'im2col of {shape}, kernel 5x5 -> {col.shape}')


# --- 3. conv2d from im2col and a matrix product ---------------------------------------
def conv2d_simple(x, W, b=None, stride=1, pad=0):
    """Convolution of x (N, C, H, W) with the filters W (OC, C, KH, KW)."""
    N, C, H, Wd = x.shape
    OC, C, KH, KW = W.shape
    SH, SW = pair(stride)
    PH, PW = pair(pad)
    OH = get_conv_outsize(H, KH, SH, PH)
    OW = get_conv_outsize(Wd, KW, SW, PW)

    col = F.im2col(x, (KH, KW), stride, pad, to_matrix=True)  # (N*OH*OW, C*KH*KW)
    W = W.reshape(OC, -1).transpose()  # (C*KH*KW, OC)
    t = F.linear(col, W, b)  # (N*OH*OW, OC)
    # The rows come pixel by pixel; put the channel axis second again: (N, OC, OH, OW).
    return t.reshape(N, OH, OW, OC).transpose(0, 3, 1, 2)


x_data = np.random.randn(2, 3, 7, 7)  # float64, for an exact comparison
W_data = np.random.randn(8, 3, 3, 3)
b_data = np.random.randn(8)

x1, W1, b1 = Variable(x_data), Variable(W_data), Variable(b_data)
y1 = conv2d_simple(x1, W1, b1, stride=2, pad=1)
y1.sum().backward()

x2, W2, b2 = Variable(x_data), Variable(W_data), Variable(b_data)
y2 = F.conv2d(x2, W2, b2, stride=2, pad=1)
y2.sum().backward()

print('output shape (im2col + matmul):', y1.shape, ' F.conv2d:', y2.shape)
print(
    'outputs agree:',
    np.allclose(y1.data, y2.data),
    f' (largest difference {np.abs(y1.data - y2.data).max():.1e})',
)
print(
    'gradients agree: x',
    np.allclose(x1.grad.data, x2.grad.data),
    ' W',
    np.allclose(W1.grad.data, W2.grad.data),
    ' b',
    np.allclose(b1.grad.data, b2.grad.data),
)

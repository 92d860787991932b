"""Step 55: how big is the output of a convolution?

A convolution slides a kernel of size K over an input of size H, moving S pixels at a
time (the stride) after P rows of zeros were added on each side (the padding). The
number of positions the kernel can take is ``(H + 2P - K) // S + 1``, which
``dezero.utils.get_conv_outsize`` computes; it is applied to the height and the width
separately. Look at the table: each row's OH from the formula equals the number of
windows counted one by one (in brackets); a 3x3 kernel with padding 1 and stride 1
keeps the size (first row: H=4, K=3, S=1, P=1 gives 4), while stride 2 about halves it.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from dezero.utils import get_conv_outsize, get_deconv_outsize, pair


def count_windows(H, K, S, P):
    """Count the kernel positions the slow way: start at 0 and step by S while the
    kernel still fits inside the padded input of length H + 2P."""
    count, start = 0, 0
    while start + K <= H + 2 * P:
        count += 1
        start += S
    return count


# --- 1. One axis: the formula against counting ------------------------------------
cases = [  # (H, K, S, P)
    (4, 3, 1, 1),  # "same" convolution: 3x3 kernel, padding 1
    (4, 3, 1, 0),  # no padding: the border is lost
    (7, 3, 2, 0),
    (7, 3, 2, 1),
    (28, 5, 1, 0),
    (224, 3, 1, 1),  # every convolution of VGG16 (step 58)
    (224, 2, 2, 0),  # its 2x2 pooling with stride 2 halves the size
]
print('   H   K   S   P  ->  OH   (windows counted)')
for H, K, S, P in cases:
    OH = get_conv_outsize(H, K, S, P)
    print(f'{H:4d}{K:4d}{S:4d}{P:4d}  -> {OH:3d}   ({count_windows(H, K, S, P)})')

# --- 2. Two axes: height and width are computed independently -----------------------
H, W = 4, 4
KH, KW = pair(3)  # an int means the same size on both axes
SH, SW = pair(1)
PH, PW = pair(1)
OH = get_conv_outsize(H, KH, SH, PH)
OW = get_conv_outsize(W, KW, SW, PW)
print(f'input {H}x{W}, kernel {KH}x{KW}, stride {SH}, pad {PH} -> output {OH}x{OW}')

H, W = 6, 10
KH, KW = pair((3, 5))  # a pair gives (height, width)
OH = get_conv_outsize(H, KH, 1, 0)
OW = get_conv_outsize(W, KW, 1, 0)
print(f'input {H}x{W}, kernel {KH}x{KW}, stride 1, pad 0 -> output {OH}x{OW}')

# --- 3. Going back: the transposed convolution's size -------------------------------
# get_deconv_outsize answers "which input size gives this output?"; with stride 1 the
# two functions undo each other.
for H, K, S, P in [(4, 3, 1, 1), (4, 3, 1, 0), (28, 5, 1, 0)]:
    OH = get_conv_outsize(H, K, S, P)
    back = get_deconv_outsize(OH, K, S, P)
    print(f'H={H} -> conv -> {OH} -> deconv -> {back}')

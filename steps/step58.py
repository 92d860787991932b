"""Step 58: VGG16, a famous image classifier built from the pieces of steps 55-57.

VGG16 stacks thirteen 3x3 convolutions (padding 1, so they keep the size) in five
stages of 64 to 512 channels, each stage ending in a 2x2 max pooling that halves the
image, then three fully connected layers; a 224x224 photo becomes 1000 class scores.
We first compute the size of every layer from its shape alone, which shows where its
138,357,544 parameters are (most in fc6), then look at ``VGG16.preprocess``, which turns
an RGB image into the network's input (BGR order, ImageNet mean subtracted, channels
first). Look at the table, the total, the preprocessed pixel values and, when the
pretrained weights are not on this computer, where to get them and where to put them
(nothing is downloaded here).
Building the real model takes a few seconds, so with DEZERO_STEPS_QUICK=1 it is skipped;
by default it is built with random weights, its parameters are counted and one image is
classified.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero
from dezero.models import VGG16, cached_weights, models_dir
from dezero.utils import get_conv_outsize

QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

# --- 1. The architecture, computed from the layer shapes -----------------------------
# Output channels of the convolutions in each of the five stages.
STAGES = [(64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)]

rows = []  # (layer name, output shape, W shape, parameters)
channels, size = 3, 224  # an RGB image of 224x224 pixels
for s, widths in enumerate(STAGES, 1):
    for i, width in enumerate(widths, 1):
        size = get_conv_outsize(size, 3, 1, 1)  # 3x3, stride 1, pad 1: same
        W_shape = (width, channels, 3, 3)
        rows.append(
            (f'conv{s}_{i}', (width, size, size), W_shape, int(np.prod(W_shape)) + width)
        )  # the weights and one bias each
        channels = width
    size = get_conv_outsize(size, 2, 2, 0)  # 2x2 pooling, stride 2: half
    rows.append((f'pool{s}', (channels, size, size), None, 0))

in_size = channels * size * size  # 512 * 7 * 7 = 25088
for name, out_size in [('fc6', 4096), ('fc7', 4096), ('fc8', 1000)]:
    rows.append((name, (out_size,), (in_size, out_size), in_size * out_size + out_size))
    in_size = out_size

print(f'{"layer":8s} {"output shape":16s} {"W shape":20s} {"parameters":>12s}')
for name, out_shape, W_shape, n in rows:
    print(f'{name:8s} {str(out_shape):16s} {str(W_shape or "-"):20s} {n:12,d}')
total = sum(row[3] for row in rows)
print(f'VGG16 parameters: {total:,}')
print(f'share of fc6: {rows[-3][3] / total:.1%}')

# --- 2. Preprocessing an image ----------------------------------------------------------
# A synthetic 224x224 RGB picture: a pure red top-left pixel on a grey ramp.
ramp = np.linspace(0, 255, 224).astype(np.uint8)
image = np.stack([np.tile(ramp, (224, 1))] * 3, axis=2)  # (height, width, 3) RGB
image[0, 0] = (255, 0, 0)
x = VGG16.preprocess(image)  # (3, 224, 224) BGR - mean
print('image', image.shape, image.dtype, '-> preprocess ->', x.shape, x.dtype)
print('ImageNet mean (B, G, R):', VGG16.MEAN_BGR)
print(
    'red pixel (255, 0, 0) becomes (B, G, R) =',
    '(' + ', '.join(f'{v:.3f}' for v in x[:, 0, 0]) + ')',
)

try:
    import PIL  # noqa: F401  (preprocess resizes other sizes with Pillow)
except ImportError:
    print('skipped resizing a 120x160 image: Pillow is not installed')
else:
    small = np.random.RandomState(0).randint(0, 256, size=(120, 160, 3)).astype(np.uint8)
    print('image', small.shape, '-> preprocess (resized) ->', VGG16.preprocess(small).shape)

# --- 3. The pretrained weights: on this computer or not? -------------------------------
folder = models_dir()  # $DEZERO_HOME/models
file_name = VGG16.WEIGHTS_PATH.rsplit('/', 1)[-1]
weights_path = cached_weights(VGG16.WEIGHTS_PATH)  # there, or where the book's DeZero put it
have_weights = weights_path is not None
if have_weights:
    print('pretrained weights found:', weights_path)
else:
    print(f'pretrained weights: {file_name} is not in {folder}')
    print(f'  to use them, download {VGG16.WEIGHTS_PATH} (about 550 MB)')
    print(f'  into {folder}, or call VGG16(pretrained=True) with a network connection')

# --- 4. The real model (skipped in quick mode) -----------------------------------------
if QUICK:
    print('quick mode: skipped building VGG16 (138M parameters, a few seconds)')
else:
    pretrained = have_weights
    np.random.seed(0)  # the random initial weights
    try:
        model = VGG16(pretrained=pretrained)
    except (OSError, ValueError) as e:  # a damaged weights file
        print(f'step58: {e}', file=sys.stderr)
        sys.exit(1)
    n_params = sum(p.data.size for p in model.params())
    print(
        f'VGG16(pretrained={pretrained}) built: {n_params:,} parameters, '
        f'as in the table: {n_params == total}'
    )
    with dezero.test_mode(), dezero.no_grad():  # no dropout, no graph
        scores = model(x[np.newaxis])  # add the batch axis
    print('scores shape:', scores.shape)
    top = np.argsort(scores.data[0])[::-1][:5]
    note = '' if pretrained else ' (random weights: meaningless)'
    print(f'five highest-scoring classes: {top.tolist()}{note}')

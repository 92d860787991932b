"""What the VGG16 examples (Grad-CAM, style transfer) share: the network with its
pretrained weights or random ones, a small stand-in for ``--smoke`` runs, the ReLU
feature maps of its convolutions by layer name, and images into and out of its input
format."""

import os
import posixpath
import sys

import numpy as np

import dezero.functions as F
import dezero.layers as L
from dezero.models import VGG16, Model, cached_weights, models_dir
from options import conv_numbers, random_seed, training_memory

#: VGG16's convolutions stage by stage; a 2x2 pooling of stride 2 ends every stage.
STAGES = (
    ('conv1_1', 'conv1_2'),
    ('conv2_1', 'conv2_2'),
    ('conv3_1', 'conv3_2', 'conv3_3'),
    ('conv4_1', 'conv4_2', 'conv4_3'),
    ('conv5_1', 'conv5_2', 'conv5_3'),
)
CONV_NAMES = tuple(name for stage in STAGES for name in stage)
#: The channels of the convolutions of each stage: VGG16's, and SmallVGG16's (a
#: sixteenth of them).
WIDTHS = (64, 128, 256, 512, 512)
SMALL_WIDTHS = tuple(width // 16 for width in WIDTHS)
#: VGG16's weights and biases, 138 million, 124 million of them in fc6, fc7 and fc8.
VGG16_PARAMETERS = 138_357_544
#: The name of the pretrained weights file in ``dezero.models.models_dir()``.
WEIGHTS_FILE = posixpath.basename(VGG16.WEIGHTS_PATH)


def fail(message):
    """Print ``message`` on stderr after the script's name and exit with status 1."""
    print(f'{os.path.basename(sys.argv[0])}: {message}', file=sys.stderr)
    raise SystemExit(1)


# ---- the network ---------------------------------------------------------------------
class SmallVGG16(Model):
    """VGG16's layers under VGG16's names with a sixteenth of its channels (4, 8, 16,
    32 and 32 per stage) and 64 units in fc6 and fc7, with random weights: it runs the
    examples' code in a fraction of a second, for ``--smoke`` runs and the tests.
    fc6 takes its input size from its first call, so the classifier works for images
    of any one size from 32x32 up (the convolutions alone take any size)."""

    def __init__(self):
        super().__init__()
        in_channels = 3
        for names, width in zip(STAGES, SMALL_WIDTHS):
            for name in names:
                setattr(self, name, L.Conv2d(width, 3, stride=1, pad=1, in_channels=in_channels))
                in_channels = width
        self.fc6 = L.Linear(64)
        self.fc7 = L.Linear(64, in_size=64)
        self.fc8 = L.Linear(1000, in_size=64)

    def forward(self, x):
        maps = dict(feature_maps(self, x))
        return class_scores(self, maps['conv5_3'])


def memory_needed(side, smoke=False):
    """A rough upper estimate of the bytes that backpropagating one image of at most
    ``side`` x ``side`` pixels through VGG16's thirteen convolutions holds at once
    (:class:`SmallVGG16`'s with ``smoke``): the weights with their gradients, and the
    feature maps and unfolded inputs of every convolution (see
    ``options.training_memory``)."""
    layers, in_channels = [], 3
    for s, (names, width) in enumerate(zip(STAGES, SMALL_WIDTHS if smoke else WIDTHS)):
        pixels = (-(-side // 2**s)) ** 2  # each stage after the first halves the sides
        for _ in names:
            layers.append((in_channels, width, pixels))
            in_channels = width
    parameters = VGG16_PARAMETERS
    if smoke:  # the convolutions, and fc7 and fc8 (fc6 is made for the input's size)
        parameters = sum(9 * c_in * c_out + c_out for c_in, c_out, _ in layers) + 69_160
    return training_memory(parameters, conv_numbers(layers), optimizer_state=0)


def feature_maps(model, x, pooling=F.pooling):
    """Yield ``(name, map)`` for VGG16's thirteen convolutions in order, ``map`` being
    the ReLU of the layer ``model.<name>`` applied to the previous map (to the images
    ``x``, (N, 3, H, W), for the first).  Between stages the maps go through
    ``pooling(map, 2, stride=2)``: VGG16's max pooling unless another is given.  Stop
    iterating once you have the maps you need: the deeper layers are then not run."""
    for s, names in enumerate(STAGES):
        if s:
            x = pooling(x, 2, stride=2)
        for name in names:
            x = F.relu(getattr(model, name)(x))
            yield name, x


def class_scores(model, last_map):
    """VGG16's classifier on the ReLU map of conv5_3, (N, 512, 14, 14) for 224x224
    images: the last 2x2 max pooling, fc6 and fc7 each followed by ReLU, and fc8, as
    ``VGG16.forward`` computes them in test mode (no dropout).  Class scores (N, 1000),
    before any softmax."""
    x = F.flatten(F.pooling(last_map, 2, stride=2))
    x = F.relu(model.fc6(x))
    x = F.relu(model.fc7(x))
    return model.fc8(x)


def add_model_options(parser):
    """Add ``--random-weights``, ``--smoke`` and ``--seed`` to an example's parser."""
    parser.add_argument(
        '--random-weights',
        action='store_true',
        help='use VGG16 with random weights instead of the pretrained '
        'ones (the pictures then show the method at work, not what '
        'a trained network sees)',
    )
    parser.add_argument(
        '--smoke',
        action='store_true',
        help='a seconds-long run on generated images with a small '
        'VGG16-shaped network of random weights (no files needed)',
    )
    parser.add_argument(
        '--seed',
        type=random_seed,
        default=0,
        help='seed of the random weights and generated images (default: 0)',
    )


def load_model(args):
    """The network the options ask for: :class:`SmallVGG16` with ``--smoke``, VGG16
    with random weights (seeded by ``--seed``) with ``--random-weights``, else VGG16
    with its pretrained weights, read from ``models_dir()`` and downloaded there first
    when missing.  Exits with a message naming the file and the folder it belongs in
    when the weights can be neither found nor downloaded."""
    np.random.seed(args.seed)
    if args.smoke:
        print('smoke run: generated images, a small VGG16-shaped network with random weights')
        return SmallVGG16()
    if args.random_weights:
        print(
            'VGG16 with random weights (--random-weights): the pictures show the '
            'method at work, not what a trained network sees'
        )
        return VGG16()
    path = cached_weights(VGG16.WEIGHTS_PATH)
    if path is not None:
        print(f'loading the pretrained VGG16 weights from {path}')
    else:
        path = os.path.join(models_dir(), WEIGHTS_FILE)
        print(
            f'{path} is missing: downloading it from {VGG16.WEIGHTS_PATH} (about 550 MB)',
            flush=True,
        )
    try:
        return VGG16(pretrained=True)
    except (OSError, ValueError) as e:
        # the library's advice to create the model with pretrained=False is for
        # code that calls it; a user of the script has --random-weights instead
        message = str(e).replace(', or create the model with pretrained=False', '')
        fail(
            f'{message}\nThe pretrained weights are the file {WEIGHTS_FILE} (about 550 MB, '
            f'from {VGG16.WEIGHTS_PATH}) in the folder {models_dir()} (set DEZERO_HOME '
            f'to use another folder); without them, run with --random-weights to see '
            f'the method work on an untrained network'
        )


# ---- images --------------------------------------------------------------------------
#: Pillow's modes of 16-bit greyscale pixels, read scaled to 8 bits.
SIXTEEN_BIT_MODES = ('I;16', 'I;16L', 'I;16B', 'I;16N')
#: Pillow's modes whose pixels have no one scale to 8 bits, refused.
WIDE_MODES = {'I': '32-bit integers beyond 0..65535', 'F': 'floating-point numbers'}


def read_image(path):
    """The image file at ``path`` as an RGB array (height, width, 3) of uint8, read
    with Pillow.  16-bit greyscale pixels are scaled to 8 bits (divided by 257 and
    rounded: 65535 becomes 255), where Pillow's own conversion would clip every value
    above 255.  Exits with a message naming the file when Pillow is not installed, the
    file cannot be read as an image, it has more pixels than Pillow's limit against
    decompression bombs, or its pixels are 32-bit integers beyond 16 bits or
    floating-point numbers (Pillow's modes 'I' and 'F'), which have no one scale to 8
    bits; 32-bit integers within 16 bits are scaled as 16-bit ones (Pillow opens 16-bit
    PGM files, and 16-bit PNG files before its version 10.3, in mode 'I')."""
    try:
        from PIL import Image
    except ImportError:
        fail(f'reading the image {path} needs Pillow, which is not installed (pip install pillow)')
    try:
        with Image.open(path) as image:
            wide = np.asarray(image) if image.mode == 'I' else None
            if image.mode in SIXTEEN_BIT_MODES or (
                # Pillow opens a 16-bit PGM, and before its version 10.3 a 16-bit PNG,
                # in mode 'I': values within 16 bits are taken as such
                wide is not None and wide.size and 0 <= wide.min() and wide.max() <= 65535
            ):
                grey = np.asarray(image).astype(np.uint32)
                grey = ((grey + 128) // 257).astype(np.uint8)  # 0..65535 rounded to 0..255
                return np.repeat(grey[:, :, np.newaxis], 3, axis=2)
            if image.mode in WIDE_MODES:
                fail(
                    f'cannot read the image {path}: its pixels are {WIDE_MODES[image.mode]} '
                    f"(Pillow's mode {image.mode}), which have no one scale to 8 bits; "
                    f'save it with 8 or 16 bits per channel'
                )
            return np.asarray(image.convert('RGB'))
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # a missing file, not an image Pillow can decode, or more pixels than
        # Pillow's limit (the message gives both numbers)
        fail(f'cannot read the image {path}: {e}')


def fit_size(height, width, longest):
    """(width, height), Pillow's order, of an image of ``height`` x ``width`` pixels
    scaled so that its longer side has ``longest`` pixels, the aspect ratio kept (each
    side at least 1)."""
    scale = longest / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def to_rgb(x):
    """An image in VGG16's input format ((1, 3, H, W) or (3, H, W): BGR with the
    ImageNet mean subtracted, see ``VGG16.preprocess``) back as an RGB array (H, W, 3)
    of uint8: the mean added back, the channels reversed, rounded and clipped to
    0..255."""
    x = np.asarray(x.data if hasattr(x, 'data') else x)
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 3 or x.shape[0] != 3:
        raise ValueError(
            f'to_rgb: expected an image of shape (1, 3, H, W) or (3, H, W), got shape {x.shape}'
        )
    bgr = x.transpose(1, 2, 0) + np.asarray(VGG16.MEAN_BGR, x.dtype)
    return np.clip(np.rint(bgr[:, :, ::-1]), 0, 255).astype(np.uint8)


def pixel_bounds(dtype=np.float32):
    """The lowest and highest values, (1, 3, 1, 1) each, that the pixels of an image
    in VGG16's input format can take: 0 and 255 minus the channel's mean."""
    mean = np.asarray(VGG16.MEAN_BGR, dtype).reshape(1, 3, 1, 1)
    return -mean, 255 - mean


def generated_photo(height, width, seed=0):
    """A made-up "photo" for smoke runs, an RGB array (height, width, 3) of uint8: a
    sky-blue to grass-green gradient with a red disc left of the centre and a yellow
    square to the right, plus a little noise."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height)[:, None, None]
    image = (1 - rows) * np.array([110.0, 160.0, 230.0]) + rows * np.array([70, 150, 60])
    image = np.broadcast_to(image, (height, width, 3)).copy()
    y, x = np.mgrid[0:height, 0:width]
    radius = min(height, width) / 5
    image[(y - height / 2) ** 2 + (x - width / 3) ** 2 < radius**2] = (220, 40, 30)
    side = radius * 0.8
    square = (abs(y - height / 2) < side) & (abs(x - 3 * width / 4) < side)
    image[square] = (240, 210, 40)
    image += rng.normal(0.0, 6.0, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def generated_pattern(height, width):
    """A made-up "painting" for smoke runs, an RGB array (height, width, 3) of uint8:
    dark-blue and orange diagonal stripes 6 pixels wide."""
    y, x = np.mgrid[0:height, 0:width]
    stripes = ((x + y) // 6) % 2 == 0
    image = np.where(stripes[:, :, None], np.array([20, 40, 120]), np.array([240, 150, 30]))
    return image.astype(np.uint8)

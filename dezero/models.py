"""Models: layers that can draw themselves, and ready-made networks.

:class:`Model` is a :class:`~dezero.layers.Layer` with :meth:`Model.plot`;
:class:`Sequential` chains layers and functions; :class:`MLP` is a multi-layer
perceptron of :class:`~dezero.layers.Linear` layers.

The published image classifiers (1000 ImageNet classes, float32): :class:`VGG16`,
:class:`ResNet` (:class:`ResNet50`, :class:`ResNet101`, :class:`ResNet152`, built of
:class:`BuildingBlock` stages of :class:`BottleneckA` and :class:`BottleneckB` blocks)
and :class:`SqueezeNet` (v1.1, built of :class:`Fire` modules).  Each creates all its
parameters at once, with the layer names of DeZero's published weight files, which
``pretrained=True`` downloads into :func:`models_dir` and loads.  Their URLs are the
book's ``WEIGHTS_PATH`` class attributes (``ResNet.WEIGHTS_PATH.format(50)``), which
the models read: a mirror is set there.
"""

import contextlib
import os
import posixpath
import urllib.parse
import zipfile

import numpy as np

import dezero.functions as F
import dezero.layers as L  # noqa: F401  (the book's models module imports it, and utils)
from dezero import cuda, utils  # noqa: F401
from dezero.core import no_grad, test_mode
from dezero.download import DownloadError, dezero_home, failed_for, get_file
from dezero.graph import _check_output, _picture_path, _save, draw_graph
from dezero.checks import check_flag
from dezero.layers import (
    BatchNorm,
    Conv2d,
    Layer,
    Linear,
    _check_size,
    as_one_call,
    keeping_state,
    keeping_statistics,
    watching_layers,
)


class Model(Layer):
    """A Layer meant as a whole network; it can draw its computation graph."""

    def plot(self, *inputs, to_file='model.png', **options):
        """Run ``forward(*inputs, **options)`` (``options``: the keyword arguments of
        forward, such as ``is_causal=True``; ``to_file`` is plot's own) and draw the
        graph of its output into ``to_file``
        (with shapes and dtypes), returning the picture's path.  The operations are
        grouped in boxes by the layer whose call made them, and the parameters named as
        in ``params()`` (``l0/W``); see :func:`dezero.graph.draw_graph`.  The DOT text
        is always written next to the picture (``model.dot``); drawing the picture needs
        Graphviz, and raises :class:`dezero.graph.GraphvizNotFoundError` without it.

        The forward pass is that of training (the graph drawn is the one training
        records), and drawing leaves the model as it was: the state that layers keep
        from one call to the next (the hidden state of RNN, LSTM and GRU: every layer
        with ``reset_state()``) and BatchNorm's running statistics are put back, and so
        is NumPy's random generator, from which dropout draws.  A model not called yet
        has its parameters created by this pass, as by a first call, and keeps them;
        running statistics created then hold a new layer's values (BatchNorm's zeros
        and ones), and the draws of the pass stand: the generator is not put back, so
        that the program's next draws do not repeat the numbers of the new weights.
        Drawing runs the model, so it must not run while another thread trains or
        draws the same model: that thread's changes to the layers' state would be
        undone when the state is put back.

        ``to_file`` is checked (a path of a file, in a format Graphviz renders, that can
        be written) before the forward pass, so that a bad one changes nothing.  A
        forward returning several outputs (a tuple, list or dict) is refused: draw the
        graph of one of them with :func:`dezero.graph.draw_graph` or
        :func:`dezero.graph.plot_dot_graph`."""
        _picture_path(to_file, 'Model.plot')  # refused before any lazy parameter is made
        random_state = np.random.get_state()
        made = {id(param) for _, param in type(self).named_params(self) if param.data is not None}
        try:
            with watching_layers(self), keeping_state(self), keeping_statistics(self):
                y = as_one_call(
                    self.forward, *inputs, **options
                )  # (created: taken back if it raises)
                if isinstance(y, tuple) and len(y) == 1:  # unwrapped, as calling the model does
                    y = y[0]
        finally:
            # put back unless the pass created parameters: their weights were drawn from
            # the generator, and putting it back would make the program draw them again
            if all(p.data is None or id(p) in made for _, p in type(self).named_params(self)):
                np.random.set_state(random_state)
        if isinstance(y, (tuple, list, dict)):
            first = f'[{next(iter(y))!r}]' if isinstance(y, dict) and y else '[0]'
            raise TypeError(
                f'Model.plot: it draws the graph of one output, but forward returned a '
                f'{type(y).__name__} of {len(y)}; draw one of them with '
                f'dezero.graph.draw_graph(y{first}, model=model).save(path) or '
                f'dezero.utils.plot_dot_graph(y{first}, to_file=path)'
            )
        _check_output('Model.plot', y)
        return _save(draw_graph(y, verbose=True, model=self).source, to_file, 'Model.plot')


class Sequential(Model):
    """Apply ``layers`` in order: ``Sequential(Linear(10), F.relu, Linear(1))(x)``.

    Each item is a Layer or any callable taking one input (such as ``F.relu``).
    Every item is the attribute ``l<i>``, ``i`` being its position in the sequence,
    as in the book (``seq.l1`` is ``F.relu`` in the example): the layers among them
    are registered under those names (``l0`` and ``l2``), so their parameters are
    found and saved as ``l0/W``...; the other items are plain attributes.
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(
                    f'Sequential: item {i} is a {type(layer).__name__}, not a layer or a function'
                )
            if isinstance(layer, type) and issubclass(layer, Layer):  # Linear, not Linear()
                raise TypeError(
                    f'Sequential: item {i} is the class {layer.__name__}, not a layer: '
                    f'make one, as in {layer.__name__}(...)'
                )
            setattr(self, f'l{i}', layer)
        self.layers = list(layers)

    def forward(self, x):
        """x passed through the items of ``layers`` in order: the last one's output."""
        for layer in self.layers:
            x = layer(x)
        return x


class MLP(Model):
    """A multi-layer perceptron: ``Linear`` layers ``l0, l1, ...`` of the output sizes
    ``fc_output_sizes``, with ``activation`` applied between them (not after the last).

    ``MLP((10, 1))`` maps ``(N, D)`` inputs to ``(N, 1)``: ``l1(sigmoid(l0(x)))``.
    """

    def __init__(self, fc_output_sizes, activation=F.sigmoid):
        super().__init__()
        sizes = _layer_sizes(fc_output_sizes)
        if not callable(activation):
            raise TypeError(f'MLP: activation must be a function, got {type(activation).__name__}')
        self.activation = activation
        self.layers = []
        for i, size in enumerate(sizes):
            layer = Linear(size)
            setattr(self, f'l{i}', layer)
            self.layers.append(layer)

    def hyperparameters(self):
        """``activation``: the name of the activation function (the Linear layers show
        their own sizes)."""
        return {'activation': getattr(self.activation, '__name__', type(self.activation).__name__)}

    def forward(self, x):
        """The Linear layers in order with ``activation`` between them (for three,
        ``l2(activation(l1(activation(l0(x)))))``): x of shape (N, D) gives
        (N, fc_output_sizes[-1])."""
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


def _layer_sizes(fc_output_sizes):
    """``fc_output_sizes`` of :class:`MLP` as a list of ints, after checking that it is a
    non-empty iterable (a list, a tuple, a 1-d array...) of positive integers."""
    try:
        sizes = None if isinstance(fc_output_sizes, (str, bytes)) else list(fc_output_sizes)
    except TypeError:  # not iterable: a number, a 0-d array
        sizes = None
    if sizes is None:
        raise TypeError(
            f'MLP: fc_output_sizes must be a list or tuple of layer sizes, such as '
            f'(100, 10), got {type(fc_output_sizes).__name__} {fc_output_sizes!r:.60}'
        )
    if not sizes:
        raise ValueError('MLP: fc_output_sizes is empty; give at least one output size')
    return [_check_size('MLP', f'fc_output_sizes[{i}]', size) for i, size in enumerate(sizes)]


# --------------------------------------------------------------------------------------
# Published CNN architectures
# --------------------------------------------------------------------------------------
_WEIGHTS_SITE = 'https://github.com/koki0702/dezero-models/releases/download/v0.1/'


def models_dir():
    """The folder where pretrained weight files are kept: ``dezero_home()/models``
    (read at each call, so it follows the ``DEZERO_HOME`` environment variable)."""
    return os.path.join(dezero_home(), 'models')


def cached_weights(url):
    """The local path of the weights file published at ``url`` when it is on this
    computer, else None: in :func:`models_dir`, or where the book's DeZero downloaded
    it (:func:`~dezero.download.dezero_home` itself), the two places
    ``pretrained=True`` reads it from before downloading it."""
    file_name = posixpath.basename(urllib.parse.urlsplit(url).path)
    for folder in (models_dir(), dezero_home()):
        path = os.path.join(folder, file_name)
        if os.path.isfile(path):
            return path
    return None


def _pretrained_file(model, url, md5):
    """The local path of the weights file at ``url`` for the model named ``model``,
    downloaded into :func:`models_dir` unless it is there already or where the book's
    DeZero put it (see :func:`cached_weights`; with no checksum known, a file there
    is taken as it is).

    A download is kept only if its MD5 matches ``md5`` (when one is known) and every
    array in the ``.npz`` archive matches the CRC-32 checksum stored beside it, so a
    truncated or damaged transfer never reaches the cache.

    Raises ValueError when ``url`` is None (no weights are published),
    :class:`dezero.download.DownloadError` (an OSError whose message starts with
    ``model`` and names the file, the URL and the folder to put it in by hand) when it
    is missing and cannot be downloaded, and its subclass
    :class:`dezero.download.ChecksumError` when the download fails a check.  A failed
    download leaves no folder behind that it created.
    """
    if url is None:
        raise ValueError(
            f'{model}: no pretrained weights are published for this model; '
            f'create it with pretrained=False and train it, or load your '
            f'own weights with load_weights(path)'
        )
    if md5 is None:
        cached = cached_weights(url)
        if cached is not None:
            return cached
    folder = models_dir()
    made = _missing_folders(folder)
    try:
        return get_file(url, md5=md5, cache_dir=folder, progress=True, validate=_check_npz_crcs)
    except DownloadError as e:
        raise failed_for(
            model, e, url, folder, 'the weights file', ', or create the model with pretrained=False'
        ) from e
    finally:
        for created in made:  # deepest first; left empty only by a failed download
            with contextlib.suppress(OSError):
                os.rmdir(created)


def _missing_folders(folder):
    """The folders that ``os.makedirs(folder)`` would create, deepest first."""
    missing = []
    folder = os.path.abspath(folder)
    while not os.path.exists(folder) and os.path.dirname(folder) != folder:
        missing.append(folder)
        folder = os.path.dirname(folder)
    return missing


def _load_pretrained(model, name, path):
    """Load the cached weights file ``path`` into ``model`` (named ``name``); a file
    that cannot be loaded (damaged, or not this model's) raises ValueError naming the
    model and the file and saying to delete it, so that it is downloaded again."""
    try:
        model.load_weights(path)
    except ValueError as e:
        raise ValueError(
            f'{name}: the cached weights file {path} cannot be loaded ({e}); delete it '
            f'and it will be downloaded again'
        ) from None


def _check_npz_crcs(path):
    """Raise ValueError unless ``path`` is a zip archive (an ``.npz`` file) whose
    members all match their stored CRC-32 checksums."""
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(f'not a readable .npz (zip) archive: {e}') from e
    if damaged is not None:
        raise ValueError(f'the array {damaged!r} in it fails its CRC-32 check')


def _check_images(model, x):
    """Raise unless ``x`` is a batch of RGB (or BGR) images of shape (N, 3, H, W)."""
    if not hasattr(x, 'shape'):
        raise TypeError(
            f'{model}: expected a batch of images, an array or Variable of '
            f'shape (N, 3, height, width), got {type(x).__name__}'
        )
    if len(x.shape) != 4 or x.shape[1] != 3:
        raise ValueError(
            f'{model}: expected a batch of images of shape (N, 3, height, '
            f'width), got shape {tuple(x.shape)}'
        )


def _global_average_pooling(x):
    """The mean of each feature map: (N, C, H, W) to (N, C)."""
    return F.mean(x, axis=(2, 3))


_global_average_pooling_2d = _global_average_pooling  # the book's name for it


def _caffe_max_pooling(x, kernel_size, stride):
    """Max pooling of x (N, C, H, W) as Caffe computes it: square windows of
    ``kernel_size`` at 0, ``stride``, 2 * ``stride``, ..., up to the one that covers
    the last row (and column), which may run past the bottom (and right) border; an
    output of at least 1x1.  x is extended there by values that never win (-inf),
    then pooled without padding.  Derivative: that of :func:`dezero.functions.pooling`,
    none reaching the extension."""
    xp = cuda.get_array_module(x)
    for axis in (2, 3):
        size = x.shape[axis]
        extra = max(kernel_size - size, (stride - (size - kernel_size) % stride) % stride)
        if extra:
            shape = list(x.shape)
            shape[axis] = extra
            x = F.concat([x, xp.full(shape, -xp.inf, x.dtype)], axis=axis)
    return F.pooling(x, kernel_size, stride=stride)


def _batch_norm(channels, dtype):
    """A BatchNorm layer whose parameters for ``channels`` channels exist already.

    BatchNorm creates them on its first call; calling it once on zeros in test mode
    (which leaves the running statistics alone) builds them with the layer's own
    initial values, so that the parameters can be counted and loaded before any
    forward pass.
    """
    layer = BatchNorm()
    with test_mode(), no_grad():
        layer(np.zeros((1, channels), dtype))
    return layer


class VGG16(Model):
    """VGG-16, configuration D of Simonyan & Zisserman (2014): thirteen 3x3
    convolutions (pad 1, each followed by ReLU) in five stages of 64, 128, 256, 512 and
    512 channels, each stage ending in a 2x2 max pooling of stride 2, then the fully
    connected layers fc6 (4096), fc7 (4096) and fc8 (1000 classes), with ReLU and
    dropout (ratio 0.5, in training only) after fc6 and fc7.  138,357,544 parameters.

    Input: float32 images (N, 3, 224, 224) in BGR order with the ImageNet mean
    subtracted (see :meth:`preprocess`); output: class scores (N, 1000), before any
    softmax.  fc6 takes the 7x7x512 feature maps of 224x224 images (up to 255x255, the
    pooling rounding down), so other sizes are refused.

    The layers are named as in DeZero (``conv1_1`` ... ``conv5_3``, ``fc6``, ``fc7``,
    ``fc8``), and every parameter exists once the model is created (float32).
    ``conv5_3`` keeps its outputs (``keep_outputs``; a layer assigned to ``conv5_3``
    later keeps them only if its own ``keep_outputs`` is set), so that the last
    feature maps and, after ``backward(retain_grad=True)``, their gradient can be read
    back through ``model.conv5_3.outputs[0]()`` for Grad-CAM.  With
    ``pretrained=True`` the weights DeZero publishes at :attr:`WEIGHTS_PATH` (about
    550 MB) are loaded from ``models_dir()`` (``$DEZERO_HOME/models``), downloading
    them there first if needed; offline, a :class:`dezero.download.DownloadError`
    starting ``VGG16:`` names the file, the URL and the folder to put it in.
    """

    WEIGHTS_PATH = _WEIGHTS_SITE + 'vgg16.npz'
    # The file's MD5 checksum is not published and could not be computed here (no
    # network); until it is set, a download is checked by the CRC-32 of every array in
    # the archive, and load_weights then checks every key and shape.
    md5 = None
    _STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
    # the names of each stage's convolutions (conv1_1, conv1_2, ...), which forward
    # looks up, so that a layer assigned to one of them is the one that runs
    _CONVS = tuple(
        tuple(f'conv{s}_{i}' for i in range(1, len(widths) + 1))
        for s, widths in enumerate(_STAGES, 1)
    )
    MEAN_BGR = (103.939, 116.779, 123.68)

    def __init__(self, pretrained=False):
        super().__init__()
        # fetch the file first: no need to build 138M parameters to learn it is missing
        pretrained = check_flag('VGG16', 'pretrained', pretrained)
        path = _pretrained_file('VGG16', self.WEIGHTS_PATH, self.md5) if pretrained else None
        in_channels = 3
        for widths, names in zip(self._STAGES, self._CONVS):
            for width, name in zip(widths, names):
                setattr(self, name, Conv2d(width, 3, stride=1, pad=1, in_channels=in_channels))
                in_channels = width
        self.fc6 = Linear(4096, in_size=in_channels * 7 * 7)
        self.fc7 = Linear(4096, in_size=4096)
        self.fc8 = Linear(1000, in_size=4096)
        # the last feature maps, which Grad-CAM reads back: model.conv5_3.outputs[0]()
        self.conv5_3.keep_outputs = True
        if path is not None:
            _load_pretrained(self, 'VGG16', path)

    def forward(self, x):
        """The class scores (N, 1000) of the images x (N, 3, H, W), H and W from 224 to
        255, through the layers of the class; dropout acts in training only."""
        _check_images('VGG16', x)
        if x.shape[2] // 32 != 7 or x.shape[3] // 32 != 7:
            raise ValueError(
                f'VGG16: fc6 takes 7x7 feature maps, which images of '
                f'224x224 (to 255x255) give; got images of shape '
                f'{tuple(x.shape)}'
            )
        for names in self._CONVS:
            for name in names:
                x = F.relu(getattr(self, name)(x))
            x = F.pooling(x, 2, stride=2)
        x = F.flatten(x)
        x = F.dropout(F.relu(self.fc6(x)))
        x = F.dropout(F.relu(self.fc7(x)))
        return self.fc8(x)

    @staticmethod
    def preprocess(image, size=(224, 224), dtype=np.float32):
        """An RGB image as VGG16's input: an array (3, height, width) of ``dtype``.

        ``image`` is a PIL image (of any mode; it is converted to RGB) or an array of
        shape (height, width, 3) holding RGB values on the 0-255 scale (uint8 or
        float).  It is resized to ``size`` = (width, height), Pillow's order, with
        Pillow's default filter, as in DeZero (``image.resize(size)``: bicubic for RGB
        images in current Pillow; an array is resized channel by channel as 32-bit
        float images, without rounding); ``size`` None keeps the image's size (a size
        of nothing, such as 0 or ``()``, is refused rather than read as None).  The
        image must be at least 1x1 pixels.  An array that needs no resizing needs no
        Pillow, one of another size needs it (ImportError otherwise).  Then the
        channels are reversed (RGB to BGR), the ImageNet mean (B, G, R) = (103.939,
        116.779, 123.68) is subtracted and the axes become (channels, height, width).
        Add the batch axis with ``x[np.newaxis]``.

        It works on the CPU and returns a NumPy array whatever device the model is on
        (decoding and resizing are Pillow's, on the host); for a model moved with
        ``to_gpu()``, move the batch too: ``dezero.cuda.as_cupy(x[np.newaxis])``.
        """
        dtype = np.dtype(dtype)
        if dtype.kind != 'f':
            raise ValueError(f'VGG16.preprocess: dtype must be a floating-point type, got {dtype}')
        array = _rgb_array(image, None if size is None else _image_size(size), dtype)
        array = array[:, :, ::-1] - np.asarray(VGG16.MEAN_BGR, dtype)
        return np.ascontiguousarray(array.transpose(2, 0, 1))


def _image_size(size):
    """``size`` checked as (width, height), two positive ints."""
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in size)
    ):
        raise ValueError(
            f'VGG16.preprocess: size must be (width, height), two positive integers, or '
            f'None to keep the size of the image; got {size!r}'
        )
    return int(size[0]), int(size[1])


def _rgb_array(image, size, dtype):
    """``image`` (a PIL image or an array (H, W, 3)) as an array (height, width, 3) of
    ``dtype``, resized to ``size`` = (width, height) with Pillow's default filter when
    needed; ``size`` None keeps the image's size."""
    if cuda.is_gpu_array(image):
        raise TypeError(
            'VGG16.preprocess: the image is a GPU (CuPy) array; it works on '
            'the CPU: pass image.get(), then move its result with '
            'dezero.cuda.as_cupy'
        )
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype.kind not in 'uif':
            raise ValueError(
                f'VGG16.preprocess: expected an RGB image array of shape '
                f'(height, width, 3) with numbers, got shape {image.shape} '
                f'of dtype {image.dtype}'
            )
        _check_not_empty(image.shape[1], image.shape[0])
        if size is None or image.shape[:2] == (size[1], size[0]):
            return image.astype(dtype)
        width, height = size
        try:
            from PIL import Image
        except ImportError:
            raise ImportError(
                f'VGG16.preprocess: resizing the image of shape {image.shape} to '
                f'{width}x{height} needs Pillow, which is not installed; install it '
                f'or pass an array of shape ({height}, {width}, 3)'
            ) from None
        # one 32-bit float image (Pillow's mode 'F') per channel: no rounding to uint8
        channels = [
            Image.fromarray(np.ascontiguousarray(image[:, :, c], np.float32)).resize(size)
            for c in range(3)
        ]
        return np.stack([np.asarray(c) for c in channels], axis=2).astype(dtype)
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is None or not isinstance(image, Image.Image):
        raise TypeError(
            f'VGG16.preprocess: expected a PIL image or an array of shape '
            f'(height, width, 3), got {type(image).__name__}'
        )
    _check_not_empty(*image.size)
    image = image.convert('RGB')
    if size is not None and image.size != size:
        image = image.resize(size)  # Pillow's default filter, as DeZero's preprocess
    return np.asarray(image).astype(dtype)


def _check_not_empty(width, height):
    """Refuse an image with no pixels, which resizing would fill with a constant."""
    if width < 1 or height < 1:
        raise ValueError(
            f'VGG16.preprocess: the image has height {height} and width {width}; it must '
            f'be at least 1 pixel high and wide'
        )


def _block_sizes(block, **sizes):
    """The ``sizes`` (channel counts, a number of blocks, a stride) given to the ResNet
    block ``block``, each checked as a positive integer and named in the error:
    TypeError for a non-integer (None: not given), ValueError for one below 1."""
    return [_check_size(block, name, value) for name, value in sizes.items()]


def _downsample_fb(block, value):
    """``downsample_fb`` of ``block`` as a bool: True or False (None, the book's
    default, is False); anything else, such as the string 'False', is refused."""
    return False if value is None else check_flag(block, 'downsample_fb', value)


def _conv_bn(in_channels, out_channels, kernel_size, stride, dtype):
    """A convolution without bias (pad keeping the size for stride 1) and the batch
    norm that follows it, both with all their parameters created; the sizes are
    checked by the caller."""
    conv = Conv2d(
        out_channels,
        kernel_size,
        stride,
        kernel_size // 2,
        nobias=True,
        dtype=dtype,
        in_channels=in_channels,
    )
    return conv, _batch_norm(out_channels, dtype)


class BottleneckA(Layer):
    """The first bottleneck block of a ResNet stage, which changes the channel count and
    (with ``stride`` 2) halves the height and width:
    ``relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + bn4(conv4(x)))``.

    conv1 is 1x1 to ``mid_channels``, conv2 3x3 (pad 1) to ``mid_channels``, conv3 1x1
    to ``out_channels``; the shortcut conv4 (1x1 with ``stride``) projects x to
    ``out_channels``.  None has a bias; each is followed by batch normalisation.  The
    stride sits on conv1, as in the original (MSRA) ResNet, or on conv2 with
    ``downsample_fb=True`` (the "Facebook" variant, later called ResNet v1.5; None
    counts as False).
    """

    def __init__(
        self,
        in_channels,
        mid_channels,
        out_channels,
        stride=2,
        downsample_fb=False,
        dtype=np.float32,
    ):
        super().__init__()
        in_channels, mid_channels, out_channels, stride = _block_sizes(
            'BottleneckA',
            in_channels=in_channels,
            mid_channels=mid_channels,
            out_channels=out_channels,
            stride=stride,
        )
        downsample_fb = _downsample_fb('BottleneckA', downsample_fb)
        stride_1x1, stride_3x3 = (1, stride) if downsample_fb else (stride, 1)
        self.conv1, self.bn1 = _conv_bn(in_channels, mid_channels, 1, stride_1x1, dtype)
        self.conv2, self.bn2 = _conv_bn(mid_channels, mid_channels, 3, stride_3x3, dtype)
        self.conv3, self.bn3 = _conv_bn(mid_channels, out_channels, 1, 1, dtype)
        self.conv4, self.bn4 = _conv_bn(in_channels, out_channels, 1, stride, dtype)

    def forward(self, x):
        """The block of the class: x of shape (N, in_channels, H, W) gives
        (N, out_channels, ceil(H / stride), ceil(W / stride))."""
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + self.bn4(self.conv4(x)))


class BottleneckB(Layer):
    """A bottleneck block that keeps the shape of its input (N, in_channels, H, W):
    ``relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + x)``, conv1 1x1 to
    ``mid_channels``, conv2 3x3 (pad 1), conv3 1x1 back to ``in_channels``; no bias,
    each followed by batch normalisation."""

    def __init__(self, in_channels, mid_channels, dtype=np.float32):
        super().__init__()
        in_channels, mid_channels = _block_sizes(
            'BottleneckB', in_channels=in_channels, mid_channels=mid_channels
        )
        self.conv1, self.bn1 = _conv_bn(in_channels, mid_channels, 1, 1, dtype)
        self.conv2, self.bn2 = _conv_bn(mid_channels, mid_channels, 3, 1, dtype)
        self.conv3, self.bn3 = _conv_bn(mid_channels, in_channels, 1, 1, dtype)

    def forward(self, x):
        """The block of the class: an output of x's shape (N, in_channels, H, W)."""
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + x)


class BuildingBlock(Layer):
    """One stage of a ResNet: ``n_layers`` bottleneck blocks in a row, ``a`` (a
    :class:`BottleneckA` from ``in_channels`` to ``out_channels`` with ``stride`` and
    ``downsample_fb``), then ``b1``, ``b2``, ... (:class:`BottleneckB` blocks that
    keep ``out_channels``).  Every argument but ``downsample_fb`` (True or False;
    None, the default, is False) must be given."""

    def __init__(
        self,
        n_layers=None,
        in_channels=None,
        mid_channels=None,
        out_channels=None,
        stride=None,
        downsample_fb=None,
        dtype=np.float32,
    ):
        super().__init__()
        n_layers, in_channels, mid_channels, out_channels, stride = _block_sizes(
            'BuildingBlock',
            n_layers=n_layers,
            in_channels=in_channels,
            mid_channels=mid_channels,
            out_channels=out_channels,
            stride=stride,
        )
        downsample_fb = _downsample_fb('BuildingBlock', downsample_fb)
        self.a = BottleneckA(in_channels, mid_channels, out_channels, stride, downsample_fb, dtype)
        for i in range(1, n_layers):
            setattr(self, f'b{i}', BottleneckB(out_channels, mid_channels, dtype))
        # the names of the blocks in the order they run, as the book keeps them (a
        # tuple: no member container): forward looks each one up, so that a block
        # assigned to ``b1`` is the one that runs
        self._forward = ('a',) + tuple(f'b{i}' for i in range(1, n_layers))

    @property
    def blocks(self):
        """The blocks ``a``, ``b1``, ``b2``, ... in the order they run."""
        return [getattr(self, name) for name in self._forward]

    def forward(self, x):
        """x through ``a``, ``b1``, ``b2``, ... in order: (N, in_channels, H, W) gives
        (N, out_channels, ceil(H / stride), ceil(W / stride))."""
        for block in self.blocks:
            x = block(x)
        return x


class ResNet(Model):
    """ResNet with ``n_layers`` = 50, 101 or 152 (the default, as in DeZero) layers
    (He et al. 2015, "Deep Residual Learning for Image Recognition", table 1).

    conv1 (7x7, stride 2, pad 3, 64 channels) + batch norm + ReLU and a 3x3 max pooling
    of stride 2 as Caffe's, which the published weights were trained with (no padding,
    windows at 0, 2, ..., the last one running past the border where the size asks
    for it: 224x224 images give the paper's 56x56 maps); then the stages
    ``res2`` to ``res5`` (:class:`BuildingBlock`) of bottleneck blocks (3, 4, 6, 3 for
    ResNet-50; 3, 4, 23, 3 for 101; 3, 8, 36, 3 for 152) with 64, 128, 256, 512 middle
    and 256, 512, 1024, 2048 output channels, stride 2 on the first block of res3 to
    res5 (on its first 1x1 convolution, as in the original model); a global average
    pooling; and ``fc6``, fully connected to 1000 classes.  Input: float32 images
    (N, 3, H, W), 224x224 as published (any size from 32x32 works thanks to the global
    pooling); output: class scores (N, 1000).

    Names follow DeZero's ResNet so that its weight files load; as there, conv1 has a
    bias (as in the original Caffe model) and the other convolutions have none, so
    ResNet-50 has 25,557,096 learnt parameters (W, b, gamma, beta): the 25,557,032 of
    torchvision's ResNet-50 plus those 64 biases.  Every parameter, including the batch
    norms' running statistics, exists once the model is created (float32).
    With ``pretrained=True`` DeZero's published weights (:attr:`WEIGHTS_PATH` with the
    number of layers filled in: ``WEIGHTS_PATH.format(50)``) are loaded from
    ``models_dir()``, downloaded there first if needed; offline, a DownloadError
    starting with the model's name (``ResNet50:``) names the file, the URL and the
    folder to put it in.
    """

    WEIGHTS_PATH = _WEIGHTS_SITE + 'resnet{}.npz'
    # The files' MD5 checksums are not published and could not be computed here (no
    # network); as for VGG16, the CRC-32s inside the archive and load_weights check
    # them meanwhile.
    md5 = None
    BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

    def __init__(self, n_layers=152, pretrained=False):
        super().__init__()
        if (
            isinstance(n_layers, bool)
            or not isinstance(n_layers, (int, np.integer))
            or n_layers not in self.BLOCKS
        ):
            raise ValueError(
                f'ResNet: n_layers must be one of '
                f'{", ".join(map(str, self.BLOCKS))}, got {n_layers!r}'
            )
        self.n_layers = int(n_layers)
        name = f'ResNet{self.n_layers}'
        pretrained = check_flag(name, 'pretrained', pretrained)
        path = (
            _pretrained_file(name, self.WEIGHTS_PATH.format(self.n_layers), self.md5)
            if pretrained
            else None
        )
        blocks = self.BLOCKS[self.n_layers]
        self.conv1 = Conv2d(64, 7, stride=2, pad=3, in_channels=3)
        self.bn1 = _batch_norm(64, np.float32)
        self.res2 = BuildingBlock(blocks[0], 64, 64, 256, 1)
        self.res3 = BuildingBlock(blocks[1], 256, 128, 512, 2)
        self.res4 = BuildingBlock(blocks[2], 512, 256, 1024, 2)
        self.res5 = BuildingBlock(blocks[3], 1024, 512, 2048, 2)
        self.fc6 = Linear(1000, in_size=2048)
        if path is not None:
            _load_pretrained(self, name, path)

    def forward(self, x):
        """The class scores (N, 1000) of the images x (N, 3, H, W) through the layers of
        the class."""
        _check_images(type(self).__name__, x)
        x = F.relu(self.bn1(self.conv1(x)))
        x = _caffe_max_pooling(x, 3, 2)
        for stage in (self.res2, self.res3, self.res4, self.res5):
            x = stage(x)
        return self.fc6(_global_average_pooling(x))


class ResNet50(ResNet):
    """ResNet-50 (see :class:`ResNet`): 25.6 million parameters."""

    def __init__(self, pretrained=False):
        super().__init__(50, pretrained)


class ResNet101(ResNet):
    """ResNet-101 (see :class:`ResNet`): 44.5 million parameters."""

    def __init__(self, pretrained=False):
        super().__init__(101, pretrained)


class ResNet152(ResNet):
    """ResNet-152 (see :class:`ResNet`): 60.2 million parameters."""

    def __init__(self, pretrained=False):
        super().__init__(152, pretrained)


class Fire(Layer):
    """SqueezeNet's fire module: ``s = relu(squeeze(x))`` (1x1 convolution to
    ``squeeze_channels``), then ``relu(expand1x1(s))`` and ``relu(expand3x3(s))``
    (1x1, and 3x3 with pad 1) joined along the channel axis: ``expand1x1_channels +
    expand3x3_channels`` output channels of the input's height and width."""

    def __init__(
        self,
        in_channels,
        squeeze_channels,
        expand1x1_channels,
        expand3x3_channels,
        dtype=np.float32,
    ):
        super().__init__()
        self.squeeze = Conv2d(squeeze_channels, 1, dtype=dtype, in_channels=in_channels)
        self.expand1x1 = Conv2d(expand1x1_channels, 1, dtype=dtype, in_channels=squeeze_channels)
        self.expand3x3 = Conv2d(
            expand3x3_channels, 3, pad=1, dtype=dtype, in_channels=squeeze_channels
        )

    def forward(self, x):
        """The module of the class: x of shape (N, in_channels, H, W) gives
        (N, expand1x1_channels + expand3x3_channels, H, W)."""
        s = F.relu(self.squeeze(x))
        return F.concat([F.relu(self.expand1x1(s)), F.relu(self.expand3x3(s))], axis=1)


class SqueezeNet(Model):
    """SqueezeNet v1.1 (Iandola et al. 2016; v1.1 from the authors' repository): the
    accuracy of v1.0 with 2.4 times less computation.  1,235,496 parameters.

    conv1 (3x3, stride 2, 64 channels) + ReLU; 3x3 max pooling of stride 2; fire2,
    fire3 (squeeze 16, expand 64 + 64); pooling; fire4, fire5 (32, 128 + 128);
    pooling; fire6, fire7 (48, 192 + 192), fire8, fire9 (64, 256 + 256); dropout 0.5
    (in training only); conv10 (1x1 to 1000 classes) + ReLU; global average pooling.
    (The pooling rounds down where Caffe rounds up; on 224x224 images both give the
    same 55, 27 and 13 sized maps.)  Input: float32 images (N, 3, H, W), 224x224 as
    published (any size from 31x31 works); output: class scores (N, 1000).

    Every parameter exists once the model is created (float32).  DeZero publishes no
    weights for SqueezeNet: ``pretrained=True`` raises ValueError (:attr:`WEIGHTS_PATH`
    is None).
    """

    WEIGHTS_PATH = None
    md5 = None
    MIN_SIZE = 31  # the smallest height and width that leave the last pooling a window
    # (in_channels, squeeze, expand) of each fire module, stage by stage; each stage
    # begins with a max pooling
    _STAGES = (
        ((64, 16, 64), (128, 16, 64)),
        ((128, 32, 128), (256, 32, 128)),
        ((256, 48, 192), (384, 48, 192), (384, 64, 256), (512, 64, 256)),
    )
    # their names, which forward looks up, so that a module assigned to one of them
    # is the one that runs
    _FIRES = (('fire2', 'fire3'), ('fire4', 'fire5'), ('fire6', 'fire7', 'fire8', 'fire9'))

    def __init__(self, pretrained=False):
        super().__init__()
        pretrained = check_flag('SqueezeNet', 'pretrained', pretrained)
        path = _pretrained_file('SqueezeNet', self.WEIGHTS_PATH, self.md5) if pretrained else None
        self.conv1 = Conv2d(64, 3, stride=2, in_channels=3)
        for fires, names in zip(self._STAGES, self._FIRES):
            for (in_channels, squeeze, expand), name in zip(fires, names):
                setattr(self, name, Fire(in_channels, squeeze, expand, expand))
        self.conv10 = Conv2d(1000, 1, in_channels=512)
        if path is not None:
            _load_pretrained(self, 'SqueezeNet', path)

    def forward(self, x):
        """The class scores (N, 1000) of the images x (N, 3, H, W) through the layers of
        the class; dropout acts in training only."""
        _check_images('SqueezeNet', x)
        if x.shape[2] < self.MIN_SIZE or x.shape[3] < self.MIN_SIZE:
            raise ValueError(
                f'SqueezeNet: images must be at least {self.MIN_SIZE}x{self.MIN_SIZE}, '
                f'for the last pooling to have a 3x3 window; got images of shape '
                f'{tuple(x.shape)}'
            )
        x = F.relu(self.conv1(x))
        for names in self._FIRES:
            x = F.pooling(x, 3, stride=2)
            for name in names:
                x = getattr(self, name)(x)
        x = F.relu(self.conv10(F.dropout(x, 0.5)))
        return _global_average_pooling(x)

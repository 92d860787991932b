"""Preprocessing steps for dataset items: small callable objects, chained with Compose.

The array transforms (Normalize, Flatten, AsType, ToFloat, ToInt) take one array (an
image, a feature vector, a label) and return a new array; floating-point input keeps
its precision, so a float32 image stays float32 through Normalize and Flatten.  The
image transforms (Convert, Resize, CenterCrop, ToArray, ToPIL, RandomHorizontalFlip)
work on PIL images, which need Pillow (``pip install pillow``); CenterCrop, ToArray and
RandomHorizontalFlip take arrays (C, H, W) as well.  This module imports Pillow only
when a transform needs it.  No transform modifies its input.

Every transform refuses what holds no numbers (None, text, an array of strings or of
other objects) with a TypeError that names the transform and what it got; an array of
Python objects that are all numbers is taken as the NumPy array of those numbers.

>>> import numpy as np

>>> f = Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)])
>>> f(np.array([[0, 51], [255, 102]], dtype=np.uint8))
array([0. , 0.2, 1. , 0.4], dtype=float32)
"""

import importlib
import numbers
import sys

import numpy as np

from dezero.conv_ops import pair  # noqa: F401  (the book's transforms module has it)


#: The kinds of NumPy dtypes that hold numbers: bool, int, unsigned, float, complex.
_NUMBER_KINDS = 'biufc'


def _numbers(owner, x):
    """``x`` (an array, a NumPy scalar, a number or a nested sequence of numbers) as a
    NumPy array or scalar of numbers; an object array whose items are all numbers
    becomes the array NumPy makes of them.  TypeError naming ``owner`` and what it got
    for anything else: None, text, an array of strings or of other objects, and a PIL
    image, whose array NumPy lays out (H, W, C) where these transforms expect (C, H,
    W)."""
    if x is None:
        raise TypeError(f'{owner}: expected an array or a number, got None')
    if _is_pil_image(x):
        raise TypeError(
            f'{owner}: expected an array, got a PIL image; turn it into an array (C, H, '
            f'W) with ToArray() first'
        )
    array = x if isinstance(x, (np.ndarray, np.generic)) else _as_array(owner, x)
    if array.dtype.kind == 'O':
        array = _object_numbers(owner, array)
    if array.dtype.kind not in _NUMBER_KINDS:
        raise TypeError(f'{owner}: expected numbers, got {_what(x)}, which holds no numbers')
    return array


def _as_array(owner, x):
    """``np.asarray(x)``; TypeError naming ``owner`` where NumPy cannot make one array
    of ``x`` (a ragged sequence)."""
    try:
        return np.asarray(x)
    except ValueError:
        raise TypeError(
            f'{owner}: expected numbers, got {_what(x)}, which is no array '
            f'(rows of different lengths?)'
        ) from None


def _object_numbers(owner, array):
    """The object array ``array`` as an array of numbers, when all its items are
    numbers NumPy has a dtype for; TypeError naming ``owner`` and the first item that
    is not one."""
    for index, item in np.ndenumerate(array):
        if not isinstance(item, (numbers.Number, np.bool_)):
            where = f' at index {index}' if array.ndim else ''
            raise TypeError(
                f'{owner}: expected numbers, got an object array holding '
                f'{item!r:.60} ({type(item).__name__}){where}, which is no number'
            )
    converted = np.array(array.tolist())
    if converted.dtype.kind not in _NUMBER_KINDS:  # ints beyond 64 bits, Decimals, ...
        raise TypeError(
            f'{owner}: the object array holds numbers that no NumPy number type holds '
            f'(Python ints beyond 64 bits, Decimals, Fractions); convert them first'
        )
    return converted


def _what(x):
    """What ``x`` is, for error messages: an array's dtype and shape, else the type and
    the start of the value."""
    if isinstance(x, (np.ndarray, np.generic)):
        return f'an array of dtype {x.dtype} and shape {x.shape}'
    return f'{type(x).__name__} {x!r:.60}'


class Compose:
    """Apply ``transforms`` one after the other, in list order; an empty list (or
    None) gives the identity."""

    def __init__(self, transforms=None):
        if callable(transforms) and not isinstance(transforms, (list, tuple)):
            name = (transforms if isinstance(transforms, type) else type(transforms)).__name__
            raise TypeError(
                f'Compose: expected a list of transforms, got one ({transforms!r}); '
                f'pass [{name}(...)]'
            )
        transforms = [] if transforms is None else list(transforms)
        for i, t in enumerate(transforms):
            if isinstance(t, type) and t.__module__ == __name__:  # Flatten, not Flatten()
                raise TypeError(
                    f'Compose: item {i} is the class {t.__name__}, not a transform: '
                    f'make one, as in {t.__name__}(...)'
                )
            if not callable(t):
                raise TypeError(
                    f'Compose: item {i} is not callable: {t!r}; expected '
                    f'transforms such as Flatten() or Normalize(0, 255)'
                )
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return f'Compose([{", ".join(repr(t) for t in self.transforms)}])'


class Normalize:
    """``(x - mean) / std``.

    ``mean`` and ``std`` are scalars, or sequences with one value per channel that apply
    along the first axis of the input (C of a C,H,W image), also as arrays of shape
    (C, 1, 1), as the book takes them.  Where a value does not fit the input's dtype
    (a mean of 1e5 for float16), the result is computed in float64 and rounded to it.  Floating-point input keeps
    its dtype; integer input becomes float64 as in NumPy (use ToFloat first for float32).
    """

    def __init__(self, mean=0, std=1):
        self.mean, self.std = self._checked(mean, std)

    @classmethod
    def _checked(cls, mean, std):
        """``mean`` and ``std`` as float64 arrays, once checked."""
        values = cls._as_values('mean', mean), cls._as_values('std', std)
        for name, given, v in zip(('mean', 'std'), (mean, std), values):
            if not np.all(np.isfinite(v)):
                raise ValueError(f'Normalize: {name} must be finite (no NaN or inf), got {given!r}')
        if np.any(values[1] == 0):
            raise ValueError(f'Normalize: std must not be zero, got {std!r}')
        return values

    @staticmethod
    def _as_values(name, value):
        try:
            v = np.array(value)
            # None, text and bools would otherwise pass for NaN or numbers
            numbers = value is not None and v.dtype.kind in 'iufO'
            v = v.astype(np.float64) if numbers else None
        except (TypeError, ValueError):  # a ragged sequence, objects that are no numbers
            v = None
        if v is None:
            raise TypeError(
                f'Normalize: {name} must be a number or a sequence of numbers, got {value!r:.60}'
            )
        if v.size == 0 or v.size != (v.shape[0] if v.ndim else 1):  # not (C,) nor (C, 1, 1)
            raise ValueError(
                f'Normalize: {name} must be a number or a non-empty flat '
                f'sequence (one value per channel), got shape {v.shape}'
            )
        return v.reshape(()) if v.size == 1 else v.reshape(-1)

    def _broadcast(self, name, v, x, dtype):
        """``v`` cast to ``dtype``, shaped to apply along the first axis of ``x``."""
        v = v.astype(dtype)
        if v.ndim == 0:
            return v
        if x.ndim == 0 or x.shape[0] != v.size:
            raise ValueError(
                f'Normalize: {v.size} per-channel values of {name} do not '
                f'fit an input of shape {x.shape} (expected {v.size} '
                f'channels on the first axis)'
            )
        return v.reshape((v.size,) + (1,) * (x.ndim - 1))

    def __call__(self, x):
        x = np.asarray(_numbers('Normalize', x))
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
        work = dtype if self._fit(dtype) else np.dtype(np.float64)  # where the values fit
        mean = self._broadcast('mean', self.mean, x, work)
        std = self._broadcast('std', self.std, x, work)
        y = (x.astype(work, copy=False) - mean) / std
        return y if work == dtype else y.astype(dtype)  # rounded once

    def _fit(self, dtype):
        """Whether every mean and std keeps its value's order in ``dtype``: none
        becomes infinite, and no std becomes 0 or subnormal."""
        info = np.finfo(dtype)
        return bool(
            np.all(np.abs(self.mean) <= info.max)
            and np.all(np.abs(self.std) <= info.max)
            and np.all(np.abs(self.std) >= info.tiny)
        )

    def __repr__(self):
        return f'Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})'

    def __setstate__(self, state):
        """Take the pickled attributes ``state``, ``mean`` and ``std`` through the
        checks of ``__init__``: the book's Normalize, pickled, holds them as it was
        given them (numbers, lists).  A subclass's own attributes are kept as they are."""
        self.__dict__.update(state)
        self.mean, self.std = self._checked(state.get('mean', 0), state.get('std', 1))


class Flatten:
    """Flatten an array into one dimension (a copy, in C order): (1, 28, 28) -> (784,)."""

    def __call__(self, x):
        return np.asarray(_numbers('Flatten', x)).flatten()

    def __repr__(self):
        return 'Flatten()'


def _dtype(owner, dtype):
    """``dtype`` as a NumPy dtype, or TypeError naming ``owner``."""
    if dtype is not None:  # np.dtype(None) would quietly be float64
        try:
            return np.dtype(dtype)
        except TypeError:
            pass
    raise TypeError(f'{owner}: dtype must be a NumPy dtype such as np.float32, got {dtype!r:.60}')


def _check_fits(owner, x, dtype):
    """Refuse, naming ``owner``, what converting the numbers ``x`` to ``dtype`` would
    turn into arbitrary integers: for an integer ``dtype``, complex data (TypeError) and
    NaN, infinity and values outside its range once truncated toward 0 (ValueError).
    Other dtypes take every value."""
    if dtype.kind not in 'iu':
        return
    if x.dtype.kind == 'c':
        raise TypeError(
            f'{owner}: cannot convert complex data ({x.dtype.name}) to {dtype.name}: a '
            f'complex number has no integer value; take its .real (or abs) first'
        )
    if x.size == 0 or np.can_cast(x.dtype, dtype):
        return
    info = np.iinfo(dtype)
    if x.dtype.kind == 'f':
        # at least float64, in which the bounds (powers of two) are exact
        t = np.trunc(x.astype(np.promote_types(x.dtype, np.float64)))
        bad = ~np.isfinite(t) | (t < info.min) | (t >= float(info.max) + 1)
        value = np.asarray(x)[bad].flat[0] if np.any(bad) else None
    else:  # integers and bools, compared as Python ints: exact whatever the two types
        low, high = int(np.min(x)), int(np.max(x))
        value = low if low < info.min else high if high > info.max else None
    if value is not None:
        raise ValueError(
            f'{owner}: cannot convert {value} to {dtype.name}, which holds whole numbers '
            f'from {info.min} to {info.max}'
        )


class AsType:
    """Convert an array (or a NumPy scalar) to ``dtype``.

    Converting to an integer dtype truncates floats toward 0 and raises ValueError for
    NaN, infinity and values outside the dtype's range, which NumPy would turn into
    arbitrary integers, and TypeError for complex data.  What holds no numbers (None,
    text, objects) is refused with TypeError: NumPy would read the string '7' as 7 and
    turn None into NaN.
    """

    def __init__(self, dtype=np.float32):
        self.dtype = _dtype(type(self).__name__, dtype)

    def __call__(self, x):
        x = _numbers(type(self).__name__, x)
        _check_fits(type(self).__name__, x, self.dtype)
        return x.astype(self.dtype)

    def __repr__(self):
        return f'{type(self).__name__}(dtype={self.dtype.name})'

    def __setstate__(self, state):
        """Take the pickled attributes ``state``, ``dtype`` through the check of
        ``__init__``: the book's AsType (and ToFloat, ToInt), pickled, hold the type
        they were given (``np.float32``) rather than a NumPy dtype."""
        self.__dict__.update(state)
        self.dtype = _dtype(type(self).__name__, state.get('dtype', np.float32))


class ToFloat(AsType):
    """Convert to a floating-point dtype (float32 by default)."""

    def __init__(self, dtype=np.float32):
        super().__init__(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise ValueError(f'ToFloat: dtype must be a floating-point type, got {self.dtype.name}')


class ToInt(AsType):
    """Convert to an integer dtype (int64 by default); floats are truncated toward 0,
    and NaN, infinity and values out of the dtype's range refused (ValueError), as is
    complex data (TypeError)."""

    def __init__(self, dtype=np.int64):
        super().__init__(dtype)
        if not np.issubdtype(self.dtype, np.integer):
            raise ValueError(f'ToInt: dtype must be an integer type, got {self.dtype.name}')


# --------------------------------------------------------------------------------------
# Image transforms
# --------------------------------------------------------------------------------------
def _pil(owner, module='Image'):
    """The module ``PIL.<module>``, or ImportError saying that ``owner`` needs Pillow."""
    try:
        return importlib.import_module(f'PIL.{module}')
    except ImportError:
        raise ImportError(
            f'{owner} needs Pillow, which is not installed: pip install '
            f"pillow (or pip install 'dezero[images]')"
        ) from None


def _is_pil_image(x):
    """Whether ``x`` is a PIL image; without importing PIL, since an image can only
    exist once PIL.Image has been imported."""
    image_module = sys.modules.get('PIL.Image')
    return image_module is not None and isinstance(x, image_module.Image)


def _check_pil_image(owner, img, hint=''):
    if not _is_pil_image(img):
        raise TypeError(f'{owner}: expected a PIL image, got {_describe(img)}{hint}')


def _describe(x):
    """``x``'s type, and its shape and dtype if it is an array, for error messages."""
    if isinstance(x, np.ndarray):
        return f'an array of shape {x.shape} and dtype {x.dtype}'
    return type(x).__name__


def _size_pair(owner, size):
    """``size`` as ``(width, height)``: an int n stands for (n, n)."""
    wh = (size, size) if isinstance(size, (int, np.integer)) else size
    try:
        width, height = wh
    except (TypeError, ValueError):
        width = height = None
    if not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0
        for n in (width, height)
    ):
        raise ValueError(
            f'{owner}: size must be a positive int or a pair (width, height) of them, got {size!r}'
        )
    return int(width), int(height)


def _known_mode(mode):
    """Whether Pillow knows the image mode named ``mode``."""
    try:
        _pil('Convert', 'ImageMode').getmode(mode)
    except KeyError:
        return False
    return True


class Convert:
    """Convert a PIL image to the PIL mode ``mode`` ('RGB', 'L', 'RGBA', ...).

    ``mode='BGR'`` gives an RGB-mode image whose red and blue channels are swapped, the
    channel order of models trained with OpenCV (Caffe's VGG16, for one).  A mode that
    Pillow does not know is refused (ValueError) when the transform is made; one that
    it knows but cannot convert a given image to, when it is called.
    """

    def __init__(self, mode='RGB'):
        image = _pil('Convert')
        if not isinstance(mode, str):
            raise TypeError(f'Convert: mode must be a PIL mode name such as "RGB", got {mode!r}')
        if mode != 'BGR' and not _known_mode(mode):
            examples = ', '.join(sorted(getattr(image, 'MODES', ('L', 'RGB', 'RGBA'))))
            raise ValueError(
                f"Convert: mode must be a PIL image mode (such as {examples}) or 'BGR', "
                f'got {mode!r:.60}'
            )
        self.mode = mode

    def __call__(self, img):
        _check_pil_image('Convert', img)
        if self.mode == 'BGR':
            red, green, blue = img.convert('RGB').split()
            return _pil('Convert').merge('RGB', (blue, green, red))
        try:
            return img.convert(self.mode)
        except ValueError as e:
            raise ValueError(
                f'Convert: cannot convert a {img.mode} image to mode {self.mode!r} ({e})'
            ) from None

    def __repr__(self):
        return f'Convert(mode={self.mode!r})'


class Resize:
    """Resize a PIL image to ``size``: ``(width, height)`` in pixels (PIL's order), or
    an int n for n x n.  The aspect ratio is not kept.

    ``mode`` is the PIL resampling filter (``PIL.Image.NEAREST``, ``BILINEAR``,
    ``BICUBIC``, ``LANCZOS``, ...); None means bilinear.
    """

    def __init__(self, size, mode=None):
        image = _pil('Resize')
        self.size = _size_pair('Resize', size)
        filters = {int(f) for f in image.Resampling} if hasattr(image, 'Resampling') else None
        if mode is not None and (
            isinstance(mode, (bool, np.bool_))
            or not isinstance(mode, numbers.Integral)
            or (filters is not None and int(mode) not in filters)
        ):
            raise ValueError(
                f'Resize: mode must be a PIL resampling filter such as '
                f'PIL.Image.BILINEAR, got {mode!r}'
            )
        self.mode = image.BILINEAR if mode is None else int(mode)

    def __call__(self, img):
        _check_pil_image('Resize', img, '; turn an array (C, H, W) into one with ToPIL()')
        return img.resize(self.size, self.mode)

    def __repr__(self):
        return f'Resize(size={self.size}, mode={self.mode!r})'


class CenterCrop:
    """Cut the central ``size`` region out of an image: ``(width, height)``, or an int
    n for n x n.

    Takes a PIL image or an array (..., H, W) such as (C, H, W).  When the excess is
    odd, the extra pixel is cut on the right (bottom).  A crop larger than the image
    raises ValueError (resize first).
    """

    def __init__(self, size):
        self.size = _size_pair('CenterCrop', size)

    def __call__(self, img):
        if _is_pil_image(img):
            width, height = img.size
        elif isinstance(img, np.ndarray) and img.ndim >= 2:
            img = _numbers('CenterCrop', img)
            height, width = img.shape[-2:]
        else:
            raise TypeError(
                f'CenterCrop: expected a PIL image or an array (C, H, W), got {_describe(img)}'
            )
        crop_width, crop_height = self.size
        if crop_width > width or crop_height > height:
            raise ValueError(
                f'CenterCrop: cannot cut {crop_width}x{crop_height} pixels '
                f'(width x height) out of an image of {width}x{height}; '
                f'resize it first'
            )
        left, top = (width - crop_width) // 2, (height - crop_height) // 2
        if isinstance(img, np.ndarray):
            return img[..., top : top + crop_height, left : left + crop_width].copy()
        return img.crop((left, top, left + crop_width, top + crop_height))

    def __repr__(self):
        return f'CenterCrop(size={self.size})'


# PIL modes whose bands are grey levels or red, green, blue (and alpha) values
_COLOUR_MODES = ('1', 'L', 'I', 'F', 'RGB', 'RGBA')
_ALPHA_MODES = ('LA', 'La', 'PA', 'RGBa')


def _colour_image(img):
    """``img`` in a mode whose bands are colours, as :class:`ToArray` describes."""
    if img.mode in _COLOUR_MODES or img.mode.startswith('I;'):  # I;16 and kin: grey
        return img
    alpha = img.mode in _ALPHA_MODES or (
        img.mode == 'P'
        and ('transparency' in img.info or getattr(img.palette, 'mode', None) == 'RGBA')
    )
    mode = 'RGBA' if alpha else 'RGB'
    try:
        return img.convert(mode)
    except ValueError as e:
        raise ValueError(
            f'ToArray: cannot convert a {img.mode} image to {mode} ({e}); convert it '
            f'first with Convert()'
        ) from None


class ToArray:
    """Turn a PIL image into an array (C, H, W) of ``dtype`` whose planes are colours:
    one plane for a grey image (modes 'L', '1', 'I', 'I;16', 'F'), three for 'RGB',
    four for 'RGBA'.

    Images of other modes are converted first, so that a plane never holds palette
    indices or other colour coordinates: to 'RGBA' if they have transparency ('LA',
    'PA', and 'P' with a transparent colour or an RGBA palette), else to 'RGB' ('P',
    'CMYK', 'YCbCr', 'LAB', 'HSV', 'RGBX').  The array thus always has 1, 3 or 4
    planes, as :class:`ToPIL` takes.

    An array is taken to be (C, H, W) already and only converted to ``dtype``.  As
    with :class:`AsType`, an integer ``dtype`` refuses values it has no integer for
    (ValueError naming the value): a 16-bit grey level of 1000 for uint8, a negative,
    NaN or too large value of a float image or array; floats are truncated toward 0.
    """

    def __init__(self, dtype=np.float32):
        self.dtype = _dtype('ToArray', dtype)

    def __call__(self, img):
        if isinstance(img, np.ndarray):
            array = _numbers('ToArray', img)
            _check_fits('ToArray', array, self.dtype)
            return array.astype(self.dtype, copy=False)
        if not _is_pil_image(img):
            raise TypeError(f'ToArray: expected a PIL image or an array, got {_describe(img)}')
        array = np.asarray(_colour_image(img))
        _check_fits('ToArray', array, self.dtype)
        array = array[np.newaxis] if array.ndim == 2 else array.transpose(2, 0, 1)
        return array.astype(self.dtype)

    def __repr__(self):
        return f'ToArray(dtype={self.dtype.name})'

    __setstate__ = AsType.__setstate__  # the book's holds the type it was given


class ToPIL:
    """Turn a uint8 array (C, H, W) with 1, 3 or 4 channels (or (H, W)) into a PIL
    image of mode 'L', 'RGB' or 'RGBA'.  A PIL image is returned as it is."""

    def __init__(self):
        _pil('ToPIL')

    def __call__(self, array):
        if _is_pil_image(array):
            return array
        if (
            not isinstance(array, np.ndarray)
            or array.ndim not in (2, 3)
            or (array.ndim == 3 and array.shape[0] not in (1, 3, 4))
        ):
            raise TypeError(
                f'ToPIL: expected a uint8 array (C, H, W) with C = 1, 3 or 4, '
                f'or (H, W), got {_describe(array)}'
            )
        if array.dtype != np.uint8:
            raise TypeError(
                f'ToPIL: expected uint8 pixels, got {array.dtype}; scale the '
                f'values to 0..255 and convert them with AsType(np.uint8)'
            )
        if array.ndim == 3:  # PIL takes (H, W) for one channel, (H, W, C) for more
            array = array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
        return _pil('ToPIL').fromarray(np.ascontiguousarray(array))

    def __repr__(self):
        return 'ToPIL()'


class RandomHorizontalFlip:
    """Mirror an image left to right with probability ``p``, else return it as it is.

    Takes a PIL image or an array (..., H, W) such as (C, H, W).  The coin is
    ``np.random.rand()``, so ``np.random.seed`` makes the flips reproducible.
    """

    def __init__(self, p=0.5):
        if (
            isinstance(p, bool)
            or not isinstance(p, (int, float, np.integer, np.floating))
            or not 0.0 <= p <= 1.0
        ):
            raise ValueError(f'RandomHorizontalFlip: p must be a probability in [0, 1], got {p!r}')
        self.p = float(p)

    def __call__(self, img):
        is_pil = _is_pil_image(img)
        if not is_pil and not (isinstance(img, np.ndarray) and img.ndim >= 2):
            raise TypeError(
                f'RandomHorizontalFlip: expected a PIL image or an array '
                f'(C, H, W), got {_describe(img)}'
            )
        if not is_pil:
            img = _numbers('RandomHorizontalFlip', img)
        if np.random.rand() >= self.p:
            return img
        if is_pil:
            return _pil('RandomHorizontalFlip', 'ImageOps').mirror(img)
        return img[..., ::-1].copy()

    def __repr__(self):
        return f'RandomHorizontalFlip(p={self.p})'

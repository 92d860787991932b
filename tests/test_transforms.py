"""Transforms: exact values, dtypes, per-channel normalisation, errors and reprs; the
image transforms on real Pillow images, and without Pillow."""

import copy
import copyreg
import importlib.util
import pathlib
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

import dezero.transforms as T
from dezero.transforms import (
    AsType,
    CenterCrop,
    Compose,
    Convert,
    Flatten,
    Normalize,
    RandomHorizontalFlip,
    Resize,
    ToArray,
    ToFloat,
    ToInt,
    ToPIL,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_compose_applies_in_order():
    f = Compose([lambda x: x + 1, lambda x: x * 10])
    assert f(np.array(2)) == 30  # (2 + 1) * 10, not 2 * 10 + 1


@pytest.mark.parametrize('empty', [[], None, ()])
def test_empty_compose_is_identity(empty):
    x = np.arange(3)
    assert Compose(empty)(x) is x


def test_compose_refuses_non_callables():
    with pytest.raises(TypeError, match='item 1 is not callable'):
        Compose([Flatten(), 3])


def test_compose_refuses_a_class_instead_of_a_transform():
    with pytest.raises(
        TypeError,
        match=r'Compose: item 1 is the class Flatten, not a transform: make one, as in Flatten\(',
    ):
        Compose([ToFloat(), Flatten])
    with pytest.raises(TypeError, match=r'pass \[Flatten\(\.\.\.\)\]'):
        Compose(Flatten)
    # a class that is itself a conversion, such as np.float32, is a transform
    assert Compose([np.float32])(np.array([1, 2])).dtype == np.float32


def test_normalize_scalar_exact_values():
    x = np.array([[1.0, 3.0], [5.0, 7.0]])
    np.testing.assert_array_equal(Normalize(mean=3.0, std=2.0)(x), [[-1.0, 0.0], [1.0, 2.0]])
    np.testing.assert_array_equal(Normalize()(x), x)


def test_normalize_keeps_float32():
    x = np.array([0.0, 51.0, 255.0], dtype=np.float32)
    y = Normalize(0.0, 255.0)(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.array([0.0, 0.2, 1.0], dtype=np.float32))
    assert Normalize(np.float64(0.5), np.float64(2.0))(x).dtype == np.float32


def test_normalize_integer_input_becomes_float64():
    y = Normalize(1, 2)(np.array([1, 3], dtype=np.uint8))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [0.0, 1.0])


def test_normalize_per_channel_over_first_axis():
    x = np.stack([np.full((2, 2), 10.0), np.full((2, 2), 20.0), np.full((2, 2), 30.0)])
    y = Normalize(mean=[10, 10, 10], std=[1, 2, 5])(x.astype(np.float32))
    assert y.shape == (3, 2, 2) and y.dtype == np.float32
    np.testing.assert_array_equal(y[:, 0, 0], [0.0, 5.0, 4.0])
    assert np.all(y == y[:, :1, :1])  # each channel uniform
    # a one-element sequence acts as a scalar
    np.testing.assert_array_equal(Normalize([1.0], [2.0])(np.array([3.0, 5.0])), [1.0, 2.0])


def test_normalize_per_channel_mismatch_is_clear():
    f = Normalize(mean=[0.5, 0.5, 0.5], std=1)
    with pytest.raises(ValueError, match=r'3 per-channel values of mean.*\(2, 4, 4\)'):
        f(np.zeros((2, 4, 4)))


@pytest.mark.parametrize(
    'kwargs, error, pattern',
    [
        (dict(std=0), ValueError, 'std must not be zero'),
        (dict(std=[1, 0, 1]), ValueError, 'std must not be zero'),
        (dict(mean=[[1, 2]]), ValueError, 'flat sequence'),
        (dict(mean='a'), TypeError, 'mean must be a number'),
        (dict(mean=None), TypeError, 'Normalize: mean must be a number .*got None'),
        (dict(std=None), TypeError, 'Normalize: std must be a number .*got None'),
        (dict(std='2'), TypeError, "Normalize: std must be a number .*got '2'"),
        (dict(mean=['0', '1']), TypeError, 'Normalize: mean must be a number'),
        (dict(std=True), TypeError, 'Normalize: std must be a number'),
        (dict(std=float('nan')), ValueError, r'std must be finite \(no NaN or inf\), got nan'),
        (dict(std=float('inf')), ValueError, 'std must be finite'),
        (dict(std=[1, np.nan]), ValueError, 'std must be finite'),
        (dict(mean=float('nan')), ValueError, 'mean must be finite'),
        (dict(mean=[0, -np.inf, 0]), ValueError, 'mean must be finite'),
    ],
)
def test_normalize_refuses_bad_parameters(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        Normalize(**kwargs)


def test_normalize_does_not_modify_input():
    x = np.array([2.0, 4.0])
    Normalize(1.0, 2.0)(x)
    np.testing.assert_array_equal(x, [2.0, 4.0])


def test_flatten_is_a_c_order_copy():
    x = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
    y = Flatten()(x)
    np.testing.assert_array_equal(y, [0, 1, 2, 3, 4, 5])
    assert y.dtype == np.uint8
    y[0] = 99
    assert x[0, 0, 0] == 0


def test_astype_tofloat_toint_values_and_dtypes():
    x = np.array([0, 128, 255], dtype=np.uint8)
    assert AsType()(x).dtype == np.float32
    assert AsType(np.int16)(x).dtype == np.int16
    f = ToFloat()(x)
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f, [0.0, 128.0, 255.0])
    assert ToFloat(np.float64)(x).dtype == np.float64
    i = ToInt()(np.array([1.9, -1.9, 3.0]))
    assert i.dtype == np.int64
    np.testing.assert_array_equal(i, [1, -1, 3])
    # NumPy scalars (labels) stay scalars; Python numbers become 0-d arrays
    assert isinstance(ToInt(np.int32)(np.uint8(7)), np.int32)
    assert ToFloat()(3).dtype == np.float32


def test_tofloat_and_toint_refuse_the_wrong_kind_of_dtype():
    with pytest.raises(ValueError, match='ToFloat.*floating-point.*int32'):
        ToFloat(np.int32)
    with pytest.raises(ValueError, match='ToInt.*integer.*float32'):
        ToInt(np.float32)


@pytest.mark.parametrize(
    'dtype, x, value',
    [
        (np.int64, np.array([1.0, np.nan, 1e30]), 'nan'),
        (np.int64, np.array([np.inf]), 'inf'),
        (np.int64, np.array([1e30]), '1e+30'),
        (np.int64, np.array([2.0**63]), '9.223372036854776e+18'),  # just past the top
        (np.int8, np.array([200, 300]), '300'),  # would wrap round to [-56, 44]
        (np.int8, [1, 300], '300'),
        (np.uint8, np.array([-1.0]), '-1.0'),
        (np.uint8, np.array([3, -2], dtype=np.int16), '-2'),
        (np.int64, np.array([2**64 - 1], dtype=np.uint64), '18446744073709551615'),
        (np.int32, np.float64('nan'), 'nan'),
    ],
)
def test_toint_refuses_values_without_an_integer_of_the_dtype(dtype, x, value):
    name = np.dtype(dtype).name
    with pytest.raises(ValueError, match=f'ToInt: cannot convert {re.escape(value)} to {name}'):
        ToInt(dtype)(x)
    with pytest.raises(ValueError, match=f'AsType: cannot convert .* to {name}'):
        AsType(dtype)(x)


@pytest.mark.parametrize(
    'dtype, x',
    [
        (np.int64, np.array([complex(np.nan, 0)])),  # was INT_MIN
        (np.uint8, np.array([300 + 0j])),  # was 44
        (np.int8, np.array([1 + 0j])),  # even a whole real part: no integer value
        (np.int32, np.complex64(2)),
        (np.int64, [1j]),
    ],
)
def test_toint_refuses_complex_data(dtype, x):
    name = np.dtype(dtype).name
    for transform in (ToInt(dtype), AsType(dtype)):
        with pytest.raises(
            TypeError,
            match=f'{type(transform).__name__}: cannot convert complex data '
            rf'\(complex\d+\) to {name}: a complex number has no integer value',
        ):
            transform(x)


def test_toint_keeps_values_at_the_edges_of_the_range():
    np.testing.assert_array_equal(ToInt(np.int8)(np.array([-128.9, 127.9])), [-128, 127])
    np.testing.assert_array_equal(ToInt(np.uint8)(np.array([-0.5, 255])), [0, 255])
    assert ToInt()(np.array([-(2.0**63)]))[0] == -(2**63)
    assert ToInt(np.int8)(np.zeros(0)).dtype == np.int8
    np.testing.assert_array_equal(ToInt(np.int8)(np.array([1, -3], dtype=np.int64)), [1, -3])


@pytest.mark.parametrize('transform', [AsType(), ToFloat(), ToInt()])
def test_array_transforms_refuse_none(transform):
    name = type(transform).__name__
    with pytest.raises(TypeError, match=f'{name}: expected an array or a number, got None'):
        transform(None)


@pytest.mark.parametrize('cls', [AsType, ToFloat, ToInt, ToArray])
@pytest.mark.parametrize('dtype', ['foo', None, 3.5])
def test_a_dtype_that_is_no_dtype_is_refused(cls, dtype):
    with pytest.raises(
        TypeError, match=f'{cls.__name__}: dtype must be a NumPy dtype such as np.float32, got'
    ):
        cls(dtype)


ARRAY_TRANSFORMS = [Normalize(0, 1), Flatten(), AsType(), ToFloat(), ToInt()]


@pytest.mark.parametrize('transform', [Normalize(0, 1), Flatten()])
def test_normalize_and_flatten_refuse_none(transform):
    name = type(transform).__name__
    with pytest.raises(TypeError, match=f'{name}: expected an array or a number, got None'):
        transform(None)


@pytest.mark.parametrize('transform', ARRAY_TRANSFORMS, ids=repr)
@pytest.mark.parametrize(
    'x, got',
    [
        ('abc', r"got str 'abc', which holds no numbers"),
        (['1', '2'], r"got list \['1', '2'\], which holds no numbers"),
        (np.array([b'7']), r'got an array of dtype \|S1 and shape \(1,\), which holds no numbers'),
        (
            np.array([1, None], object),
            r'got an object array holding None \(NoneType\) at index \(1,\)',
        ),
        (
            np.array([[1.5, 'a']], object),
            r"holding 'a' \(str\) at index \(0, 1\), which is no number",
        ),
        ([[1, 2], [3]], r'got list \[\[1, 2\], \[3\]\], which is no array'),
        (np.array([2**70], object), r'holds numbers that no NumPy number type holds'),
    ],
    ids=['str', 'list of str', 'bytes array', 'None item', 'str item', 'ragged', 'big int'],
)
def test_array_transforms_refuse_what_holds_no_numbers(transform, x, got):
    name = type(transform).__name__
    with pytest.raises(TypeError, match=f'{name}: .*{got}'):
        transform(x)


def test_array_transforms_take_an_object_array_of_numbers_as_those_numbers():
    x = np.array([[1, 2.5], [True, -4]], object)
    np.testing.assert_array_equal(Normalize(1, 2)(x), [[0.0, 0.75], [0.0, -2.5]])
    assert Normalize(1, 2)(x).dtype == np.float64
    assert Flatten()(x).tolist() == [1.0, 2.5, 1.0, -4.0] and Flatten()(x).dtype == np.float64
    assert ToInt()(np.array([3, 2.9, -1.5], object)).tolist() == [3, 2, -1]
    with pytest.raises(ValueError, match='ToInt: cannot convert nan to int64'):
        ToInt()(np.array([1, float('nan')], object))  # the range check applies as well


@pytest.mark.parametrize(
    'transform',
    [ToArray(), CenterCrop(1), RandomHorizontalFlip(1.0)],
    ids=['ToArray', 'CenterCrop', 'RandomHorizontalFlip'],
)
def test_array_inputs_of_image_transforms_must_hold_numbers(transform):
    name = type(transform).__name__
    with pytest.raises(TypeError, match=f'{name}: expected numbers, got an array of dtype <U1'):
        transform(np.array([['a', 'b']]))
    with pytest.raises(TypeError, match=f'{name}: .*holding None'):
        transform(np.array([[0.5, None]], object))


def test_mnist_style_pipeline_and_reprs():
    f = Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)])
    y = f(np.array([[[0, 51], [255, 102]]], dtype=np.uint8))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.array([0.0, 0.2, 1.0, 0.4], dtype=np.float32))
    assert repr(f) == (
        'Compose([Flatten(), ToFloat(dtype=float32), Normalize(mean=0.0, std=255.0)])'
    )
    assert repr(ToInt()) == 'ToInt(dtype=int64)'
    assert repr(AsType(np.float64)) == 'AsType(dtype=float64)'
    assert repr(Normalize([0.5, 0.25], 2)) == 'Normalize(mean=[0.5, 0.25], std=2.0)'


# ---- image transforms ------------------------------------------------------------------
def rgb_image(width, height):
    """A PIL RGB image whose pixel (x, y) is (x, y, x + 10 y)."""
    Image = pytest.importorskip('PIL.Image')
    y, x = np.mgrid[:height, :width]
    return Image.fromarray(np.stack([x, y, x + 10 * y], axis=-1).astype(np.uint8))


def test_to_array_gives_channels_first_in_the_chosen_dtype():
    img = rgb_image(4, 3)
    x = ToArray()(img)
    assert x.shape == (3, 3, 4) and x.dtype == np.float32
    assert x[:, 2, 1].tolist() == [1.0, 2.0, 21.0]  # pixel (x=1, y=2)
    assert ToArray(np.uint8)(img).dtype == np.uint8
    grey = ToArray()(img.convert('L'))
    assert grey.shape == (1, 3, 4)


def test_to_array_gives_colours_of_a_palette_image_not_its_indices():
    img = rgb_image(4, 3).quantize(colors=4)  # mode 'P': a palette of 4 colours
    assert img.mode == 'P' and 'transparency' not in img.info
    x = ToArray(np.uint8)(img)
    assert x.shape == (3, 3, 4)
    np.testing.assert_array_equal(x, np.asarray(img.convert('RGB')).transpose(2, 0, 1))
    img.info['transparency'] = 0  # palette entry 0 is transparent: an alpha plane
    x = ToArray(np.uint8)(img)
    assert x.shape == (4, 3, 4)
    np.testing.assert_array_equal(x[3], np.where(np.asarray(img) == 0, 0, 255))
    rgba = np.asarray(rgb_image(3, 2).convert('RGBA')).copy()
    rgba[..., 3] = [[0, 255, 128], [255, 0, 255]]
    img = ToPIL()(rgba.transpose(2, 0, 1)).quantize(colors=4)  # an RGBA palette
    assert img.mode == 'P' and img.palette.mode == 'RGBA' and 'transparency' not in img.info
    x = ToArray(np.uint8)(img)
    assert x.shape == (4, 2, 3)
    np.testing.assert_array_equal(x, np.asarray(img.convert('RGBA')).transpose(2, 0, 1))


@pytest.mark.parametrize(
    'mode, channels', [('CMYK', 3), ('YCbCr', 3), ('LAB', 3), ('HSV', 3), ('LA', 4), ('PA', 4)]
)
def test_to_array_turns_other_modes_into_rgb_or_rgba(mode, channels):
    img = rgb_image(4, 3)
    other = img.convert('RGBA').convert(mode) if channels == 4 else img.convert(mode)
    x = ToArray(np.uint8)(other)
    want = other.convert('RGBA' if channels == 4 else 'RGB')
    assert x.shape == (channels, 3, 4)
    np.testing.assert_array_equal(x, np.asarray(want).transpose(2, 0, 1))
    assert ToPIL()(x).mode == want.mode  # the array is an image ToPIL takes


def test_to_array_keeps_grey_rgb_and_rgba_modes():
    img = rgb_image(4, 3)
    for mode, channels, dtype in [
        ('1', 1, np.bool_),
        ('L', 1, np.uint8),
        ('I', 1, np.int32),
        ('I;16', 1, np.uint16),
        ('F', 1, np.float32),
        ('RGB', 3, np.uint8),
        ('RGBA', 4, np.uint8),
    ]:
        same = img.convert('L').convert(mode) if channels == 1 else img.convert(mode)
        x = ToArray(dtype)(same)
        assert x.shape == (channels, 3, 4), mode
        want = np.asarray(same)
        np.testing.assert_array_equal(x, want[None] if channels == 1 else want.transpose(2, 0, 1))


def test_to_array_names_a_mode_it_cannot_convert():
    Image = pytest.importorskip('PIL.Image')
    with pytest.raises(ValueError, match=r'ToArray: cannot convert a La image to RGBA'):
        ToArray()(Image.new('La', (2, 2)))


def test_to_array_converts_arrays_and_refuses_other_things():
    a = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    assert ToArray()(a).dtype == np.float32
    np.testing.assert_array_equal(ToArray()(a), a)
    f = np.zeros((3, 2, 2), np.float32)
    assert ToArray()(f) is f
    with pytest.raises(TypeError, match='ToArray: expected a PIL image or an array, got list'):
        ToArray()([[1, 2]])


def test_to_array_refuses_grey_levels_an_integer_dtype_has_no_value_for():
    Image = pytest.importorskip('PIL.Image')
    img = Image.fromarray(np.array([[0, 255, 1000]], dtype=np.uint16))
    assert img.mode == 'I;16'
    with pytest.raises(
        ValueError,
        match=r'ToArray: cannot convert 1000 to uint8, which holds whole numbers from 0 to 255',
    ):
        ToArray(np.uint8)(img)
    assert ToArray(np.int32)(img).tolist() == [[[0, 255, 1000]]]
    assert ToArray()(img).tolist() == [[[0.0, 255.0, 1000.0]]]  # float targets take all


@pytest.mark.parametrize('value', [-1.5, 300.0, np.nan, np.inf])
@pytest.mark.parametrize('as_image', [True, False], ids=['image', 'array'])
def test_to_array_refuses_floats_an_integer_dtype_has_no_value_for(value, as_image):
    pixels = np.array([[0.5, value]], dtype=np.float32)
    if as_image:
        Image = pytest.importorskip('PIL.Image')
        x = Image.fromarray(pixels)
        assert x.mode == 'F'
    else:
        x = pixels[None]
    with pytest.raises(ValueError, match=rf'ToArray: cannot convert {value} to uint8'):
        ToArray(np.uint8)(x)
    ok = ToArray(np.int16)(np.array([[[-1.5, 0.5, 300.0]]]))
    assert ok.dtype == np.int16 and ok.tolist() == [[[-1, 0, 300]]]  # truncated toward 0
    assert np.array_equal(ToArray()(x), x if not as_image else pixels[None], equal_nan=True)


def test_to_array_refuses_complex_arrays_for_an_integer_dtype():
    with pytest.raises(TypeError, match=r'ToArray: cannot convert complex data'):
        ToArray(np.int64)(np.array([[[1 + 2j]]]))


def test_to_pil_and_to_array_round_trip():
    img = rgb_image(5, 2)
    a = ToArray(np.uint8)(img)
    back = ToPIL()(a)
    assert back.mode == 'RGB' and back.size == (5, 2)
    np.testing.assert_array_equal(np.asarray(back), np.asarray(img))
    assert ToPIL()(a[:1]).mode == 'L' and ToPIL()(a[0]).mode == 'L'
    rgba = ToPIL()(np.zeros((4, 2, 3), np.uint8))
    assert rgba.mode == 'RGBA' and rgba.size == (3, 2)
    assert ToPIL()(img) is img


@pytest.mark.parametrize(
    'array, pattern',
    [
        (np.zeros((3, 2, 2), np.float32), 'expected uint8 pixels, got float32'),
        (np.zeros((2, 4, 4), np.uint8), r'C = 1, 3 or 4.*\(2, 4, 4\)'),
        (np.zeros(4, np.uint8), r'shape \(4,\)'),
    ],
)
def test_to_pil_refuses_what_is_not_an_image(array, pattern):
    pytest.importorskip('PIL.Image')
    with pytest.raises(TypeError, match=f'ToPIL: .*{pattern}'):
        ToPIL()(array)


@pytest.mark.parametrize('mode', ['XYZ', 'nonsense', 'bgr', ''])
def test_convert_refuses_an_unknown_mode_when_made(mode):
    Image = pytest.importorskip('PIL.Image')
    with pytest.raises(ValueError) as info:
        Convert(mode)
    message = str(info.value)
    assert message.startswith('Convert: mode must be a PIL image mode (such as ')
    assert message.endswith(f") or 'BGR', got {mode!r}")
    assert all(m in message for m in Image.MODES)


@pytest.mark.parametrize('mode', ['1', 'L', 'LA', 'P', 'RGB', 'RGBA', 'CMYK', 'YCbCr', 'I', 'F'])
def test_convert_takes_the_pil_modes(mode):
    pytest.importorskip('PIL.Image')
    assert Convert(mode)(rgb_image(3, 2)).mode == mode


def test_convert_modes_and_bgr():
    img = rgb_image(3, 2)
    assert Convert('L')(img).mode == 'L'
    assert Convert()(img.convert('L')).mode == 'RGB'
    bgr = Convert('BGR')(img)
    assert bgr.mode == 'RGB'
    np.testing.assert_array_equal(np.asarray(bgr), np.asarray(img)[:, :, ::-1])
    with pytest.raises(ValueError, match="Convert: cannot convert a L image to mode 'La'"):
        Convert('La')(img.convert('L'))  # a mode that PIL has, but not from L
    with pytest.raises(TypeError, match='Convert: expected a PIL image, got an array'):
        Convert()(np.zeros((3, 2, 2), np.uint8))


def test_resize_takes_width_then_height():
    Image = pytest.importorskip('PIL.Image')
    img = rgb_image(8, 6)
    assert Resize((4, 3))(img).size == (4, 3)  # PIL order: (width, height)
    assert Resize(5)(img).size == (5, 5)
    assert ToArray()(Resize((2, 5))(img)).shape == (3, 5, 2)
    # a uniform image stays uniform; NEAREST picks existing pixels
    flat = Image.new('RGB', (7, 7), (10, 20, 30))
    assert (np.asarray(Resize(3)(flat)) == (10, 20, 30)).all()
    nearest = np.asarray(Resize((4, 3), mode=Image.NEAREST)(img)).reshape(-1, 3)
    assert set(map(tuple, nearest)) <= set(map(tuple, np.asarray(img).reshape(-1, 3)))
    assert Resize(3).mode == Image.BILINEAR
    with pytest.raises(TypeError, match=r'Resize: expected a PIL image.*ToPIL\(\)'):
        Resize(3)(np.zeros((3, 4, 4), np.uint8))


@pytest.mark.parametrize('size', [0, -2, (3,), (3, 0), 2.5, 'ab', (True, 2)])
def test_sizes_are_checked(size):
    pytest.importorskip('PIL.Image')
    with pytest.raises(ValueError, match='Resize: size must be a positive int or a pair'):
        Resize(size)
    with pytest.raises(ValueError, match='CenterCrop: size must be a positive int'):
        CenterCrop(size)


def test_center_crop_on_images_and_arrays():
    img = rgb_image(7, 6)
    crop = CenterCrop((3, 2))(img)  # width 3, height 2
    assert crop.size == (3, 2)
    # left = (7 - 3) // 2 = 2, top = (6 - 2) // 2 = 2
    np.testing.assert_array_equal(np.asarray(crop), np.asarray(img)[2:4, 2:5])
    a = ToArray(np.uint8)(img)
    np.testing.assert_array_equal(CenterCrop((3, 2))(a), a[:, 2:4, 2:5])
    np.testing.assert_array_equal(CenterCrop(4)(a[0]), a[0, 1:5, 1:5])  # odd excess: 1 | 2
    out = CenterCrop(6)(a)
    out[...] = 0
    assert a.any()  # a copy, not a view
    with pytest.raises(ValueError, match=r'cannot cut 8x2 pixels .* image of 7x6'):
        CenterCrop((8, 2))(img)
    with pytest.raises(TypeError, match='CenterCrop: expected a PIL image or an array'):
        CenterCrop(2)([1, 2])


def test_random_horizontal_flip_on_images_and_arrays():
    img = rgb_image(4, 2)
    a = ToArray()(img)
    mirrored = np.asarray(img)[:, ::-1]
    np.testing.assert_array_equal(np.asarray(RandomHorizontalFlip(1.0)(img)), mirrored)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1)(a), a[:, :, ::-1])
    assert RandomHorizontalFlip(0.0)(img) is img and RandomHorizontalFlip(0)(a) is a
    flipped = RandomHorizontalFlip(1.0)(a)
    flipped[...] = 0
    assert a.any()  # the input is left alone


def test_random_horizontal_flip_follows_np_random():
    flip = RandomHorizontalFlip()
    assert flip.p == 0.5
    a = np.arange(6).reshape(1, 2, 3)
    np.random.seed(3)
    coins = np.random.rand(200) < 0.5
    np.random.seed(3)
    flips = [not np.array_equal(flip(a), a) for _ in range(200)]
    assert flips == coins.tolist() and 60 < sum(flips) < 140


@pytest.mark.parametrize('p', [-0.1, 1.5, '0.5', None, True])
def test_random_horizontal_flip_checks_p(p):
    with pytest.raises(ValueError, match='p must be a probability in \\[0, 1\\]'):
        RandomHorizontalFlip(p)


def test_image_pipeline_and_reprs():
    img = rgb_image(10, 8)
    f = Compose([Convert('RGB'), Resize((6, 6)), CenterCrop(4), ToArray(), Normalize(127.5, 127.5)])
    x = f(img)
    assert x.shape == (3, 4, 4) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert repr(CenterCrop(3)) == 'CenterCrop(size=(3, 3))'
    assert repr(ToArray()) == 'ToArray(dtype=float32)'
    assert repr(RandomHorizontalFlip()) == 'RandomHorizontalFlip(p=0.5)'
    assert repr(Convert('L')) == "Convert(mode='L')"


# ---- without Pillow ----------------------------------------------------------------------
@pytest.fixture
def no_pillow(monkeypatch):
    """Make ``import PIL`` (and its modules) fail, as when Pillow is not installed."""
    for name in ('PIL', 'PIL.Image', 'PIL.ImageOps'):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize(
    'name, make',
    [('Convert', lambda: Convert()), ('Resize', lambda: Resize(4)), ('ToPIL', lambda: ToPIL())],
)
def test_pil_transforms_without_pillow_say_how_to_install_it(no_pillow, name, make):
    with pytest.raises(
        ImportError,
        match=f'^{name} needs Pillow, which is not installed: '
        r'pip install pillow \(or pip install '
        r"'dezero\[images\]'\)",
    ):
        make()


def test_array_transforms_work_without_pillow(no_pillow):
    a = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    assert ToArray()(a).dtype == np.float32
    np.testing.assert_array_equal(CenterCrop((2, 1))(a), a[:, 1:2, 1:3])
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(a), a[:, :, ::-1])
    with pytest.raises(TypeError, match='ToArray: expected a PIL image or an array'):
        ToArray()('image.png')


def test_dezero_imports_without_pillow_and_reports_it():
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        'import dezero, dezero.transforms, dezero.dataloaders\n'
        'assert dezero.dataloaders.pil_available is False\n'
        'try:\n'
        '    dezero.transforms.Resize(3)\n'
        'except ImportError as e:\n'
        '    print(e)\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('Resize needs Pillow, which is not installed')


def test_pil_available_without_importing_pil():
    code = "import sys, dezero.dataloaders as d\nprint(d.pil_available, 'PIL' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    installed = importlib.util.find_spec('PIL') is not None
    assert result.stdout.split() == [str(installed), 'False']


def test_compose_given_one_transform_instead_of_a_list_says_so():
    with pytest.raises(TypeError, match=r'Compose: expected a list of transforms, got one'):
        Compose(Flatten())


@pytest.mark.parametrize('mode', ['foo', 99, 1.5, True])
def test_resize_refuses_a_mode_that_is_no_resampling_filter(mode):
    pytest.importorskip('PIL')
    with pytest.raises(ValueError, match='Resize: mode must be a PIL resampling filter'):
        Resize(4, mode=mode)


def test_normalize_takes_per_channel_values_of_shape_c_1_1_as_the_book_does():
    # refused: only flat sequences were taken (a mean from x.mean(axis=(1, 2), keepdims=True))
    mean = np.array([0.1, 0.2, 0.3]).reshape(3, 1, 1)
    y = T.Normalize(mean, 2.0)(np.zeros((3, 5, 7), np.float32))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y[:, 0, 0], [-0.05, -0.1, -0.15], rtol=1e-6)
    with pytest.raises(ValueError, match=r'one value per channel\), got shape \(1, 3\)'):
        T.Normalize(np.ones((1, 3)))


@pytest.mark.parametrize(
    'mean, std, x, expected',
    [
        (1e5, 1e5, np.array([0.0, 3e4], np.float16), [-1.0, -0.7]),
        (1e39, 1e39, np.array([0.0], np.float32), [-1.0]),
        (0.0, 1e-8, np.array([6e-8], np.float16), [5.96]),
    ],
)
def test_normalize_with_values_its_input_dtype_cannot_hold_computes_where_they_fit(
    mean, std, x, expected
):
    # the mean and std were cast to x's dtype: inf, or a std of 0, gave nan and inf
    y = T.Normalize(mean, std)(x)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y.astype(np.float64), expected, rtol=1e-3)


@pytest.mark.parametrize('name', ['ToFloat', 'AsType', 'Flatten', 'Normalize'])
def test_array_transforms_refuse_a_pil_image_and_point_to_to_array(name):
    # np.asarray lays a PIL image out (H, W, C): a per-channel Normalize normalised rows
    Image = pytest.importorskip('PIL.Image')
    image = Image.fromarray(np.full((3, 5, 3), 100, np.uint8))
    with pytest.raises(TypeError, match=rf'^{name}: expected an array, got a PIL image; .*ToArray'):
        getattr(T, name)()(image)


def test_resize_takes_a_numpy_integer_filter():
    pytest.importorskip('PIL')
    assert T.Resize(4, np.int64(0)).mode == 0


class _PickledAs:
    """Pickles as an object of ``cls`` with the attributes ``state``, as the default
    reduction pickles an object of another program's class of that name."""

    def __init__(self, cls, state):
        self.cls, self.state = cls, state

    def __reduce__(self):
        return copyreg._reconstructor, (self.cls, object, None), self.state


def test_a_normalize_pickled_with_plain_numbers_is_checked_and_works():
    # the book's Normalize keeps mean and std as it was given them
    t = pickle.loads(pickle.dumps(_PickledAs(Normalize, {'mean': 0.0, 'std': 255.0})))
    np.testing.assert_array_equal(t(np.array([255.0, 0.0])), [1.0, 0.0])
    with pytest.raises(ValueError, match='Normalize: std must not be zero'):
        pickle.loads(pickle.dumps(_PickledAs(Normalize, {'mean': 0.0, 'std': 0.0})))


def test_a_copy_of_a_normalize_subclass_keeps_its_own_settings():
    class Scaled(Normalize):
        def __init__(self, mean, std, factor=2.0):
            super().__init__(mean, std)
            self.factor = factor

    class Fixed(Normalize):
        def __init__(self):
            super().__init__(127.5, 127.5)

    assert copy.deepcopy(Scaled(0.0, 1.0, factor=5.0)).factor == 5.0
    assert copy.copy(Fixed()).mean == 127.5


def test_the_books_pickled_transforms_that_hold_a_type_for_their_dtype_work():
    # the book's AsType, ToFloat and ToInt keep the type they were given, np.float32
    pipeline = pickle.loads(
        pickle.dumps(
            _PickledAs(
                T.Compose,
                {
                    'transforms': [
                        _PickledAs(T.Flatten, {}),
                        _PickledAs(T.ToFloat, {'dtype': np.float32}),
                        _PickledAs(Normalize, {'mean': 0.0, 'std': 255.0}),
                    ]
                },
            )
        )
    )
    y = pipeline(np.full((1, 2, 2), 255, np.uint8))
    assert y.dtype == np.float32 and y.tolist() == [1.0, 1.0, 1.0, 1.0]

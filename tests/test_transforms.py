"""Transforms: exact values, dtypes, per-channel normalisation, errors and reprs."""
import numpy as np
import pytest

from dezero.transforms import AsType, Compose, Flatten, Normalize, ToFloat, ToInt


def test_compose_applies_in_order():
    f = Compose([lambda x: x + 1, lambda x: x * 10])
    assert f(np.array(2)) == 30          # (2 + 1) * 10, not 2 * 10 + 1


@pytest.mark.parametrize('empty', [[], None, ()])
def test_empty_compose_is_identity(empty):
    x = np.arange(3)
    assert Compose(empty)(x) is x


def test_compose_refuses_non_callables():
    with pytest.raises(TypeError, match='item 1 is not callable'):
        Compose([Flatten(), 3])


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
    assert np.all(y == y[:, :1, :1])     # each channel uniform
    # a one-element sequence acts as a scalar
    np.testing.assert_array_equal(Normalize([1.0], [2.0])(np.array([3.0, 5.0])), [1.0, 2.0])


def test_normalize_per_channel_mismatch_is_clear():
    f = Normalize(mean=[0.5, 0.5, 0.5], std=1)
    with pytest.raises(ValueError, match=r'3 per-channel values of mean.*\(2, 4, 4\)'):
        f(np.zeros((2, 4, 4)))


@pytest.mark.parametrize('kwargs, error, pattern', [
    (dict(std=0), ValueError, 'std must not be zero'),
    (dict(std=[1, 0, 1]), ValueError, 'std must not be zero'),
    (dict(mean=[[1, 2]]), ValueError, 'flat sequence'),
    (dict(mean='a'), TypeError, 'mean must be a number'),
])
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


def test_mnist_style_pipeline_and_reprs():
    f = Compose([Flatten(), ToFloat(), Normalize(0.0, 255.0)])
    y = f(np.array([[[0, 51], [255, 102]]], dtype=np.uint8))
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.array([0.0, 0.2, 1.0, 0.4], dtype=np.float32))
    assert repr(f) == ('Compose([Flatten(), ToFloat(dtype=float32), '
                       'Normalize(mean=0.0, std=255.0)])')
    assert repr(ToInt()) == 'ToInt(dtype=int64)'
    assert repr(AsType(np.float64)) == 'AsType(dtype=float64)'
    assert repr(Normalize([0.5, 0.25], 2)) == 'Normalize(mean=[0.5, 0.25], std=2.0)'

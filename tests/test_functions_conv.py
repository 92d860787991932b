"""dezero.functions_conv, the book's module name for the convolution and pooling
functions: every name it gives, the same objects as dezero.functions's, and the array
functions with the book's signatures."""

import numpy as np
import pytest

import dezero.functions as F
import dezero.functions_conv as FC

BOOK_NAMES = [
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


def test_every_name_of_the_book_is_the_one_of_dezero_functions():
    assert sorted(FC.__all__) == sorted(BOOK_NAMES)
    for name in BOOK_NAMES:
        assert getattr(FC, name) is getattr(F, name), name


def test_from_import_works():
    from dezero.functions_conv import Conv2DGradW, conv2d_simple, im2col_array  # noqa: F401


def test_array_functions_with_the_books_positional_arguments():
    img = np.arange(2 * 1 * 3 * 3, dtype=np.float64).reshape(2, 1, 3, 3)
    col = FC.im2col_array(img, 2, 1, 0)  # to_matrix defaults to True
    assert col.shape == (2 * 2 * 2, 1 * 2 * 2)
    np.testing.assert_array_equal(col[0], [0.0, 1.0, 3.0, 4.0])
    tensor = FC.im2col_array(img, (2, 2), (1, 1), (0, 0), False)
    assert tensor.shape == (2, 1, 2, 2, 2, 2)
    # col2im adds every window back: the centre pixel is in all four windows
    img_back = FC.col2im_array(col, img.shape, 2, 1, 0)
    np.testing.assert_array_equal(img_back[0, 0], [[0, 2, 2], [6, 16, 10], [6, 14, 8]])
    np.testing.assert_array_equal(FC.col2im_array(tensor, img.shape, 2, 1, 0, False), img_back)


def test_to_matrix_of_im2col_and_col2im_is_true_or_false():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    with pytest.raises(TypeError, match="im2col: to_matrix must be True or False, got 'False'"):
        F.im2col(x, 3, to_matrix='False')
    col = F.im2col(x, 3, to_matrix=np.False_)  # a NumPy bool is a bool
    assert col.shape == (1, 1, 3, 3, 2, 2)
    with pytest.raises(TypeError, match="col2im: to_matrix must be True or False, got 'False'"):
        F.col2im(col, x.shape, 3, to_matrix='False')
    assert F.col2im(col, x.shape, 3, to_matrix=False).shape == x.shape


def test_to_matrix_of_the_books_array_functions_and_classes_is_true_or_false():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    col = F.im2col_array(x, 2, 1, 0, to_matrix=False)
    for call, name in [
        (lambda: F.im2col_array(x, 2, 1, 0, to_matrix='False'), 'im2col'),
        (lambda: F.col2im_array(col, x.shape, 2, 1, 0, to_matrix='False'), 'col2im'),
        (lambda: F.Im2col(2, 1, 0, 'False'), 'Im2col'),
        (lambda: F.Col2im(x.shape, 2, 1, 0, 'False'), 'Col2im'),
    ]:
        with pytest.raises(TypeError, match=f'^{name}: to_matrix must be True or False'):
            call()
    assert F.Im2col(2, 1, 0, np.True_)(x).shape == (9, 4)


# ---- float16 through the book's functions ---------------------------------------------------
def test_conv2d_of_float16_gives_zero_where_its_kernel_rows_cancel():
    # each kernel row adds up to 80000 or -80000, beyond float16: kept in float16 they
    # made inf - inf, NaN; PyTorch gives 0
    x = np.ones((1, 8, 3, 1), np.float16)
    W = np.zeros((8, 8, 2, 1), np.float16)
    W[:, :, 0], W[:, :, 1] = 10000, -10000
    y = FC.conv2d(x, W)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y.data, np.zeros((1, 8, 2, 1)))


def test_the_float16_filter_gradient_alone_at_stride_2_is_summed_in_float32(monkeypatch):
    # x is no Variable, so Conv2DGradW takes W's gradient alone; with one image a
    # block, the blocks' sums were added up in float16, where 8192 + 4 is 8192
    from dezero import Variable, conv_ops

    monkeypatch.setattr(conv_ops, 'BLOCK_BYTES', 1)
    x = np.ones((64, 1, 4, 4), np.float16)
    W = Variable(np.ones((1, 1, 1, 1), np.float16))
    y = FC.conv2d(x, W, stride=2)
    gy = np.ones(y.shape, np.float16)
    gy[0] = 2048  # the first image gives 4 * 2048, the 63 others 4 each
    y.grad = Variable(gy)
    y.backward()
    assert W.grad.dtype == np.float16
    assert W.grad.data.item() == np.float16(8192 + 63 * 4)  # 8448, not 8192


# ---- infinities, and kernels as large as the image ------------------------------------------
def test_conv2d_of_one_channel_gives_nan_for_a_zero_tap_times_an_infinity():
    from dezero import Variable

    with np.errstate(invalid='ignore'):
        y = F.conv2d(np.array([[[[-np.inf, 1.0, 1.0]]]]), np.array([[[[0.0, np.inf]]]]))
        np.testing.assert_array_equal(y.data.ravel(), [np.nan, np.inf])
        x, W = Variable(np.zeros((1, 1, 1, 1))), Variable(np.ones((2, 1, 1, 2)))
        y = F.conv2d(x, W, pad=(0, 1))
        y.grad = Variable(np.array([[[[1.0, np.inf]], [[1.0, 1.0]]]]))
        y.backward()
    # gW[0, 0, 0, 0] = gy[0, 0, 0, 1] * x = inf * 0
    np.testing.assert_array_equal(W.grad.data.reshape(2, 2), [[np.nan, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize('shape', [(1, 1, 1, 100000), (1, 1, 100000, 1)], ids=['wide', 'tall'])
def test_a_kernel_as_large_as_the_image_takes_no_quadratic_memory(shape):
    from dezero import Variable

    rng = np.random.default_rng(0)
    x, W = Variable(rng.normal(size=shape)), Variable(rng.normal(size=shape))
    y = F.conv2d(x, W)
    assert y.shape == (1, 1, 1, 1)
    np.testing.assert_allclose(y.data.item(), x.data.ravel() @ W.data.ravel(), rtol=1e-10)
    y.grad = Variable(np.full((1, 1, 1, 1), 2.5))
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2.5 * W.data, rtol=1e-15)
    np.testing.assert_allclose(W.grad.data, 2.5 * x.data, rtol=1e-15)
    z = F.deconv2d(np.full((1, 1, 1, 1), 2.5), W)
    np.testing.assert_allclose(z.data, 2.5 * W.data, rtol=1e-15)


# ---- a 1x1 kernel: columns of their own ---------------------------------------------------
def test_im2col_with_a_1x1_kernel_gives_columns_of_their_own():
    from dezero import Variable

    x = Variable(np.array([[[[1.0, 2.0]]]]))
    col = F.im2col(x, 1)  # the image's pixels in its own order
    y = F.sum(col * col)  # Mul keeps col for its backward
    x.data -= 1
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [[[[2.0, 4.0]]]])  # 2 x, as in the forward


def test_conv2d_simple_with_a_1x1_kernel_after_the_input_changed_in_place():
    from dezero import Variable

    rng = np.random.default_rng(0)
    x0, W0 = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 2, 1, 1))
    W = Variable(W0.copy())
    F.sum(F.conv2d_simple(Variable(x0.copy()), W) ** 2).backward()
    expected = W.grad.data
    x, W = Variable(x0.copy()), Variable(W0.copy())
    y = F.sum(F.conv2d_simple(x, W) ** 2)
    x.data -= 1
    y.backward()
    np.testing.assert_allclose(W.grad.data, expected)

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

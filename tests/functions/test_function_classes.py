"""The Function classes of dezero.functions called as the book calls them: the book's
constructor arguments, in its order, then the inputs.  Exact values on small inputs and
gradients of first and second order; the classes that take another function object
(Conv2DGradW, Pooling2DGrad, Pooling2DWithIndexes), given dezero's own or one written
as in the book, and their errors."""

import numpy as np
import pytest

import dezero.functions as F
from dezero.checks import given_once
from dezero import Function, Variable, no_grad
from dezero.conv_ops import im2col_array

X = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
POSITIVE = np.array([[0.5, 1.0, 2.0], [3.0, 0.25, 4.0]])
W = np.array([[1.0, 0.5], [-1.0, 2.0], [0.0, 3.0]])
B = np.array([10.0, 20.0])


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# (id, a function making the object from the book's constructor arguments, inputs,
#  the expected output)
BOOK_CALLS = [
    ('Add', lambda: F.Add(), (X, POSITIVE), X + POSITIVE),
    ('Sub', lambda: F.Sub(), (X, POSITIVE), X - POSITIVE),
    ('Mul', lambda: F.Mul(), (X, POSITIVE), X * POSITIVE),
    ('Div', lambda: F.Div(), (X, POSITIVE), X / POSITIVE),
    ('Neg', lambda: F.Neg(), (X,), -X),
    ('Pow', lambda: F.Pow(3), (X,), [[1.0, -8.0, 27.0], [-64.0, 125.0, -216.0]]),
    ('Sin', lambda: F.Sin(), (X,), np.sin(X)),
    ('Cos', lambda: F.Cos(), (X,), np.cos(X)),
    ('Tanh', lambda: F.Tanh(), (X,), np.tanh(X)),
    ('Exp', lambda: F.Exp(), (X,), np.exp(X)),
    ('Log', lambda: F.Log(), (POSITIVE,), np.log(POSITIVE)),
    ('Clip', lambda: F.Clip(-3.5, 3.5), (X,), [[1.0, -2.0, 3.0], [-3.5, 3.5, -3.5]]),
    ('Reshape', lambda: F.Reshape((3, 2)), (X,), [[1.0, -2.0], [3.0, -4.0], [5.0, -6.0]]),
    ('Transpose', lambda: F.Transpose(), (X,), X.T),
    ('Transpose-axes', lambda: F.Transpose((1, 0)), (X,), X.T),
    ('GetItem', lambda: F.GetItem((1, slice(0, 2))), (X,), [-4.0, 5.0]),
    (
        'GetItemGrad',
        lambda: F.GetItemGrad((1, slice(0, 2)), (2, 3)),
        (np.array([7.0, 8.0]),),
        [[0.0, 0.0, 0.0], [7.0, 8.0, 0.0]],
    ),
    (
        'GetItemGrad-repeated',
        lambda: F.GetItemGrad(np.array([0, 0, 1]), (2,)),
        (np.array([1.0, 2.0, 4.0]),),
        [3.0, 4.0],
    ),
    (
        'BroadcastTo',
        lambda: F.BroadcastTo((2, 3)),
        (np.array([1.0, 2.0, 3.0]),),
        [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]],
    ),
    ('SumTo', lambda: F.SumTo((1, 3)), (X,), [[-3.0, 3.0, -3.0]]),
    ('Sum', lambda: F.Sum(1, False), (X,), [2.0, -5.0]),
    ('Sum-all-keepdims', lambda: F.Sum(None, True), (X,), [[-3.0]]),
    ('Max', lambda: F.Max(), (X,), 5.0),
    ('Max-axis', lambda: F.Max(1), (X,), [3.0, 5.0]),
    ('Max-keepdims', lambda: F.Max(0, True), (X,), [[1.0, 5.0, 3.0]]),
    ('Min', lambda: F.Min(1), (X,), [-2.0, -6.0]),
    ('MatMul', lambda: F.MatMul(), (X, W), [[3.0, 5.5], [-9.0, -10.0]]),
    ('Linear', lambda: F.Linear(), (X, W, B), [[13.0, 25.5], [1.0, 10.0]]),
    ('Sigmoid', lambda: F.Sigmoid(), (X,), 1 / (1 + np.exp(-X))),
    ('ReLU', lambda: F.ReLU(), (X,), [[1.0, 0.0, 3.0], [0.0, 5.0, 0.0]]),
    ('LeakyReLU', lambda: F.LeakyReLU(0.5), (X,), [[1.0, -1.0, 3.0], [-2.0, 5.0, -3.0]]),
    ('Softmax', lambda: F.Softmax(), (X,), _softmax(X, 1)),
    ('Softmax-axis0', lambda: F.Softmax(0), (X,), _softmax(X, 0)),
    ('LogSoftmax', lambda: F.LogSoftmax(), (X,), np.log(_softmax(X, 1))),
    (
        'MeanSquaredError',
        lambda: F.MeanSquaredError(),
        (X, np.zeros((2, 3))),
        (1 + 4 + 9 + 16 + 25 + 36) / 2,
    ),
]


@pytest.mark.parametrize(
    'make, inputs, expected', [c[1:] for c in BOOK_CALLS], ids=[c[0] for c in BOOK_CALLS]
)
def test_book_constructor_gives_the_values(make, inputs, expected):
    y = make()(*[Variable(x.copy()) for x in inputs])
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    'make, inputs', [c[1:3] for c in BOOK_CALLS], ids=[c[0] for c in BOOK_CALLS]
)
def test_book_constructor_gives_the_gradients(make, inputs, check_grads):
    check_grads(lambda *xs: make()(*xs), *inputs)


def test_linear_takes_none_for_no_bias():
    y = F.Linear()(Variable(X), Variable(W), None)
    assert len(y.creator.inputs) == 2
    np.testing.assert_allclose(y.data, [[3.0, 5.5], [-9.0, -10.0]])


def test_batch_norm_object_updates_the_statistics_it_was_given():
    mean, var = np.zeros(3), np.ones(3)
    x = np.array([[1.0, 2.0, 3.0], [3.0, 6.0, 7.0]])
    y = F.BatchNorm(mean, var, 0.5, 1e-300)(x, np.ones(3), np.zeros(3))  # eps changes nothing
    # batch mean (2, 4, 5), biased variance (1, 4, 4), unbiased (2, 8, 8)
    np.testing.assert_allclose(y.data, [[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(mean, [1.0, 2.0, 2.5])
    np.testing.assert_allclose(var, [1.5, 4.5, 4.5])


# ---- convolution ---------------------------------------------------------------------------
@pytest.fixture
def conv_inputs(sample):
    return sample((2, 2, 4, 5)), sample((3, 2, 3, 2)), sample((3,))


@pytest.mark.parametrize('with_bias', [True, False])
def test_conv2d_object_with_stride_and_pad(conv_inputs, with_bias):
    x, W, b = conv_inputs
    b = b if with_bias else None
    y = F.Conv2d(2, (1, 0))(x, W, b)
    np.testing.assert_allclose(y.data, F.conv2d(x, W, b, stride=2, pad=(1, 0)).data, rtol=1e-12)
    assert y.shape == (2, 3, 2, 2)


def test_conv2d_object_defaults_to_stride_1_pad_0(conv_inputs, check_grads):
    x, W, b = conv_inputs
    y = F.Conv2d()(x, W, b)
    np.testing.assert_allclose(y.data, F.conv2d(x, W, b).data, rtol=1e-12)
    check_grads(lambda x, W, b: F.Conv2d(1, 1)(x, W, b), x, W, b)


def test_deconv2d_object_finds_the_output_size(sample, check_grads):
    x, W, b = sample((1, 2, 2, 3)), sample((2, 3, 3, 2)), sample((3,))
    y = F.Deconv2d(2, 1)(x, W, b)
    expected = F.deconv2d(x, W, b, stride=2, pad=1)
    assert y.shape == expected.shape == (1, 3, 3, 4)
    np.testing.assert_allclose(y.data, expected.data, rtol=1e-12)
    y = F.Deconv2d(2, 1, (4, 5))(x, W, None)
    np.testing.assert_allclose(y.data, F.deconv2d(x, W, None, 2, 1, (4, 5)).data)
    check_grads(lambda x, W, b: F.Deconv2d(2, 1)(x, W, b), x, W, b)


def test_conv2d_grad_w_from_the_conv2d_object(conv_inputs):
    x, W, _ = conv_inputs
    conv = F.Conv2d(1, 1)
    xv, Wv = Variable(x), Variable(W)
    y = conv(xv, Wv)
    gy = np.random.default_rng(0).standard_normal(y.shape)
    y.grad = Variable(gy)
    y.backward()
    gW = F.Conv2DGradW(conv)(x, gy)
    np.testing.assert_allclose(gW.data, Wv.grad.data, rtol=1e-12)
    # gW[o, c, i, j] = sum over n, p, q of gy[n, o, p, q] * padded x[n, c, p + i, q + j]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = y.shape[2:]
    by_hand = np.einsum('nopq,ncpq->oc', gy, padded[:, :, 2 : 2 + oh, 1 : 1 + ow])
    np.testing.assert_allclose(gW.data[:, :, 2, 1], by_hand, rtol=1e-12)


@pytest.mark.parametrize(
    'conv, w_shape', [(F.Conv2d(2, 1), (3, 2, 3, 2)), (F.Deconv2d(1, (0, 1)), (2, 3, 2, 3))]
)
def test_conv2d_grad_w_object_is_differentiable_in_both_inputs(conv, w_shape, sample, check_grads):
    x = sample((2, 2, 4, 5))
    gy = sample(conv(Variable(x), Variable(sample(w_shape))).shape)
    if isinstance(conv, F.Deconv2d):  # its filter gradient correlates gy with x
        x, gy = gy, x
    gW = F.Conv2DGradW(conv)(x, gy)
    assert gW.shape == w_shape
    check_grads(lambda a, b: F.Conv2DGradW(conv)(a, b), x, gy)


def test_conv2d_grad_w_needs_a_called_conv():
    with pytest.raises(
        TypeError, match='Conv2DGradW: expected a Conv2d or Deconv2d that has been called'
    ):
        F.Conv2DGradW(F.Conv2d(1, 0))
    with pytest.raises(TypeError, match='Conv2DGradW'):
        F.Conv2DGradW(F.Sin())


class BookStyleConv(Function):
    """A convolution written by a user as the book's chapter 57 teaches: it keeps its
    inputs and its stride and pad (ints, unchecked), and its backward hands itself to
    Conv2DGradW."""

    def __init__(self, stride, pad):
        self.stride = stride
        self.pad = pad

    def forward(self, x, W, b):
        windows = im2col_array(x, W.shape[2:], self.stride, self.pad, to_matrix=False)
        return np.einsum('nckhpq,ockh->nopq', windows, W) + b.reshape(1, -1, 1, 1)

    def backward(self, gy):
        x, W, _ = self.inputs
        gx = F.deconv2d(gy, W, None, self.stride, self.pad, outsize=x.shape[2:])
        gW = F.Conv2DGradW(self)(x, gy)
        return gx, gW, F.sum(gy, axis=(0, 2, 3))


# x = 0..8 in a 3x3 image, W 2x2, stride 2, pad 1; the values are the book's DeZero's
CONV_X = np.arange(9.0).reshape(1, 1, 3, 3)
CONV_W = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
CONV_GY = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
CONV_GW = [[[[16.0, 29.0], [30.0, 54.0]]]]


def test_conv2d_grad_w_takes_a_convolution_written_as_in_the_book():
    x, W, b = Variable(CONV_X), Variable(CONV_W), Variable(np.array([0.5]))
    y = BookStyleConv(2, 1)(x, W, b)
    np.testing.assert_array_equal(y.data, [[[[0.5, 11.5], [30.5, 67.5]]]])
    y.grad = Variable(CONV_GY)
    y.backward()
    np.testing.assert_array_equal(W.grad.data, CONV_GW)
    np.testing.assert_array_equal(
        x.grad.data, [[[[4.0, 6.0, 8.0], [6.0, 4.0, 8.0], [12.0, 12.0, 16.0]]]]
    )
    np.testing.assert_array_equal(b.grad.data, [10.0])


def test_a_convolution_written_as_in_the_book_has_all_derivatives(sample, check_grads):
    x, W, b = sample((2, 2, 5, 4)), sample((3, 2, 3, 2)), sample((3,))
    check_grads(lambda x, W, b: BookStyleConv((2, 1), (1, 0))(x, W, b), x, W, b)


@pytest.mark.parametrize('book_style', [False, True])
def test_conv2d_grad_w_takes_the_books_keyword(book_style):
    conv = BookStyleConv(2, 1) if book_style else F.Conv2d(2, 1)
    conv(Variable(CONV_X), Variable(CONV_W), Variable(np.zeros(1)))
    np.testing.assert_array_equal(F.Conv2DGradW(conv2d=conv)(CONV_X, CONV_GY).data, CONV_GW)
    np.testing.assert_array_equal(F.Conv2DGradW(conv=conv)(CONV_X, CONV_GY).data, CONV_GW)


def test_conv2d_grad_w_takes_one_name_for_the_convolution():
    conv = F.Conv2d(2, 1)
    conv(Variable(CONV_X), Variable(CONV_W))
    with pytest.raises(TypeError, match=r"^Conv2DGradW: got both conv and conv2d \(the book's"):
        F.Conv2DGradW(conv, conv2d=conv)
    with pytest.raises(TypeError, match=r'^Conv2DGradW: missing the convolution call; give conv'):
        F.Conv2DGradW()


@pytest.mark.parametrize(
    'make, lacks',
    [
        (lambda: BookStyleConv(1, 0), r'BookStyleConv lacks inputs \(it has not been called\)$'),
        (lambda: F.Sin(), r'Sin lacks inputs \(it has not been called\), stride, pad$'),
        (lambda: _called(F.Sin()), r'Sin lacks inputs\[1\] \(the W of its call\), stride, pad$'),
        (lambda: _called(F.Linear()), r'Linear lacks stride, pad$'),
    ],
)
def test_conv2d_grad_w_names_what_the_object_lacks(make, lacks):
    with pytest.raises(TypeError, match=r'^Conv2DGradW: expected a Conv2d or Deconv2d .*' + lacks):
        F.Conv2DGradW(make())


def _called(f):
    """The function object ``f`` after a call on small inputs that fit it."""
    inputs = (X,) if isinstance(f, F.Sin) else (X, W, B)
    f(*[Variable(x) for x in inputs])
    return f


def test_conv2d_grad_w_checks_the_values_a_book_style_object_gives():
    conv = BookStyleConv(1, 0)
    conv(Variable(CONV_X), Variable(CONV_W), Variable(np.zeros(1)))
    conv.stride = 0
    with pytest.raises(
        ValueError, match=r'^Conv2DGradW: BookStyleConv has stride \(0, 0\) and pad \(0, 0\)'
    ):
        F.Conv2DGradW(conv)
    conv.stride = 'x'
    with pytest.raises(TypeError, match=r"^Conv2DGradW: stride must be an int or a pair .* 'x'"):
        F.Conv2DGradW(conv)


def test_conv_objects_name_a_bad_stride():
    with pytest.raises(
        TypeError,
        match=r'Conv2d: stride must be an int or a pair of '
        r"ints, got 'x'",
    ):
        F.Conv2d('x')
    with pytest.raises(ValueError, match=r'Deconv2d: outsize must be an int or a pair'):
        F.Deconv2d(1, 0, (1, 2, 3))


def test_im2col_and_col2im_objects(sample, check_grads):
    x = sample((1, 2, 3, 4))
    col = F.Im2col((2, 3), 1, (0, 1), True)(x)
    np.testing.assert_array_equal(col.data, im2col_array(x, (2, 3), 1, (0, 1)))
    back = F.Col2im((1, 2, 3, 4), (2, 3), 1, (0, 1), True)(col)
    np.testing.assert_allclose(back.data, F.col2im(col, (1, 2, 3, 4), (2, 3), 1, (0, 1)).data)
    check_grads(lambda x: F.Im2col(2, 1, 1, False)(x), x)


# ---- pooling -------------------------------------------------------------------------------
IMAGE = np.array(
    [[[[1.0, 9.0, 2.0, 0.0], [3.0, 4.0, 8.0, 7.0], [5.0, 6.0, -1.0, -2.0], [0.5, 0.0, -3.0, -4.0]]]]
)


def test_pooling_object_values_and_gradient():
    x = Variable(IMAGE.copy())
    pool = F.Pooling(2, 2, 0)
    y = pool(x)
    np.testing.assert_array_equal(y.data, [[[[9.0, 8.0], [6.0, -1.0]]]])
    y.grad = Variable(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    y.backward()
    np.testing.assert_array_equal(
        x.grad.data, [[[[0, 10, 0, 0], [0, 0, 20, 0], [0, 30, 40, 0], [0, 0, 0, 0]]]]
    )


def test_pooling_object_default_stride_is_1(check_grads):
    y = F.Pooling(2)(IMAGE)
    np.testing.assert_array_equal(y.data, [[[[9, 9, 8], [6, 8, 8], [6, 6, -1]]]])
    check_grads(lambda x: F.Pooling((2, 3), 1, 1)(x), IMAGE)


def test_pooling_grad_objects_from_the_pooling_object():
    pool = F.Pooling(2, 2)
    pool(Variable(IMAGE))
    gx = F.Pooling2DGrad(pool)(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(
        gx.data, [[[[0, 1, 0, 0], [0, 0, 2, 0], [0, 3, 4, 0], [0, 0, 0, 0]]]]
    )
    # the gather reads the positions where the maxima of IMAGE were
    other = np.arange(16.0).reshape(1, 1, 4, 4)
    y = F.Pooling2DWithIndexes(pool)(other)
    np.testing.assert_array_equal(y.data, [[[[1.0, 6.0], [9.0, 10.0]]]])
    # and each is the other's gradient
    g = Variable(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    scatter = F.Pooling2DGrad(pool)(g)
    scatter.grad = Variable(other)
    scatter.backward()
    np.testing.assert_array_equal(g.grad.data, y.data)


def test_pooling_grad_objects_are_differentiable(sample, check_grads):
    pool = F.Pooling(2, 1)
    pool(Variable(IMAGE))
    check_grads(lambda g: F.Pooling2DGrad(pool)(g), sample((1, 1, 3, 3)))
    check_grads(lambda x: F.Pooling2DWithIndexes(pool)(x), sample(IMAGE.shape))


def test_pooling_grad_needs_a_recorded_pooling():
    with pytest.raises(
        TypeError,
        match='Pooling2DGrad: expected a Pooling that has run forward while recording a graph',
    ):
        F.Pooling2DGrad(F.Pooling(2))
    pool = F.Pooling(2)
    with no_grad():
        pool(IMAGE)
    with pytest.raises(TypeError, match='Pooling2DWithIndexes: expected a Pooling'):
        F.Pooling2DWithIndexes(pool)


class BookStylePooling(Function):
    """A max pooling written by a user as the book's chapter 57 teaches: the windows of
    x zero-padded, the offset of each maximum kept as ``indexes`` (so a window whose
    elements are all negative picks the padding), and a backward that hands itself to
    Pooling2DGrad."""

    def __init__(self, kernel_size, stride=1, pad=0):
        self.kernel_size = kernel_size
        self.stride = stride
        self.pad = pad

    def forward(self, x):
        windows = im2col_array(x, self.kernel_size, self.stride, self.pad, to_matrix=False)
        n, c, kh, kw, oh, ow = windows.shape
        windows = windows.reshape(n, c, kh * kw, oh, ow)
        self.indexes = windows.argmax(axis=2)
        return windows.max(axis=2)

    def backward(self, gy):
        return F.Pooling2DGrad(self)(gy)


# 2x2 windows every 2 pixels over this image padded by 1: the top-left window holds
# three zeros of padding and -1, so the padding wins it (offset 0).  The values are
# the book's DeZero's.
SIGNED = np.array([[[[-1.0, 2.0, -3.0], [4.0, -5.0, -6.0], [-7.0, -8.0, 9.0]]]])


def test_pooling_grad_takes_a_max_pooling_written_as_in_the_book():
    x = Variable(SIGNED)
    y = BookStylePooling(2, 2, 1)(x)
    np.testing.assert_array_equal(y.data, [[[[0.0, 2.0], [4.0, 9.0]]]])
    np.testing.assert_array_equal(y.creator.indexes, [[[[0, 2], [1, 3]]]])
    y.grad = Variable(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]))
    y.backward()
    # the 10 sent to the padding is dropped
    np.testing.assert_array_equal(
        x.grad.data, [[[[0.0, 20.0, 0.0], [30.0, 0.0, 0.0], [0.0, 0.0, 40.0]]]]
    )


def test_pooling_with_indexes_takes_a_max_pooling_written_as_in_the_book():
    pool = BookStylePooling(2, 2, 1)
    pool(Variable(SIGNED))
    other = np.arange(9.0).reshape(1, 1, 3, 3)
    # the top-left window reads the padding: 0
    expected = [[[[0.0, 1.0], [3.0, 8.0]]]]
    np.testing.assert_array_equal(F.Pooling2DWithIndexes(pool)(other).data, expected)
    np.testing.assert_array_equal(F.Pooling2DWithIndexes(mpool2d=pool)(other).data, expected)
    # and it is the gradient of the scatter
    g = Variable(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    scatter = F.Pooling2DGrad(mpool2d=pool)(g)
    np.testing.assert_array_equal(
        scatter.data, [[[[0.0, 2.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 4.0]]]]
    )
    scatter.grad = Variable(other)
    scatter.backward()
    np.testing.assert_array_equal(g.grad.data, expected)


class BookForwardPooling(F.Pooling):
    """A subclass of F.Pooling whose forward is the book's (that of BookStylePooling):
    it assigns ``indexes``, the offsets in the zero-padded windows, and inherits
    Pooling's constructor and backward."""

    forward = BookStylePooling.forward


@pytest.mark.parametrize('cls', [BookStylePooling, BookForwardPooling])
def test_a_max_pooling_written_as_in_the_book_has_all_derivatives(cls, sample, check_grads):
    x = sample((2, 2, 5, 6), 'distinct')
    check_grads(lambda x: cls((3, 2), (2, 1), 1)(x), x)


# 3x3 windows every 2 pixels, padded by 1: in channel 0 the 9 at (1, 1) wins every
# window (the first of two 9s in the last one); in channel 1, all negative, the padding
# wins the three windows that hold some.  The expected values are the book's DeZero's.
TWO_CHANNELS = np.array(
    [
        [
            [
                [3.0, -1.0, 4.0, 1.0],
                [-5.0, 9.0, 2.0, -6.0],
                [5.0, 3.0, -5.0, 8.0],
                [-9.0, 7.0, 9.0, -3.0],
            ],
            [
                [-2.0, -7.0, -1.0, -8.0],
                [-2.0, -8.0, -4.0, -5.0],
                [-9.0, -4.0, -5.0, -2.0],
                [-3.0, -6.0, -10.0, -1.0],
            ],
        ]
    ]
)
BOOK_INDEXES = [[[[8, 6], [2, 0]], [[0, 0], [0, 8]]]]
BOOK_GX = np.zeros((1, 2, 4, 4))
BOOK_GX[0, 0, 1, 1] = 1.0 + 2.0 + 3.0 + 4.0
BOOK_GX[0, 1, 3, 3] = 8.0  # the only window of channel 1 that the padding does not win
# TWO_CHANNELS-shaped values, and what the gather reads of them at BOOK_INDEXES
OTHER = np.arange(0.0, 320.0, 10.0).reshape(1, 2, 4, 4)
BOOK_GATHER = [[[[50.0, 50.0], [50.0, 50.0]], [[0.0, 0.0], [0.0, 310.0]]]]


def test_a_pooling_subclass_with_the_books_forward_gets_the_books_gradients():
    x = Variable(TWO_CHANNELS)
    pool = BookForwardPooling(3, 2, 1)
    y = pool(x)
    np.testing.assert_array_equal(y.data, [[[[9.0, 9.0], [9.0, 9.0]], [[0.0, 0.0], [0.0, -1.0]]]])
    np.testing.assert_array_equal(pool.indexes, BOOK_INDEXES)
    gy = Variable(np.arange(1.0, 9.0).reshape(1, 2, 2, 2))
    y.grad = gy
    y.backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.data, BOOK_GX)
    # second order: the gradient of sum(gx * OTHER) with respect to gy is the gather
    F.sum(x.grad * OTHER).backward()
    np.testing.assert_array_equal(gy.grad.data, BOOK_GATHER)
    np.testing.assert_array_equal(F.Pooling2DWithIndexes(pool)(OTHER).data, BOOK_GATHER)
    np.testing.assert_array_equal(F.Pooling2DGrad(mpool2d=pool)(gy.data).data, BOOK_GX)


@pytest.mark.parametrize('cls', [BookStylePooling, BookForwardPooling])
def test_the_gradients_of_a_max_pooling_written_as_in_the_book_check_shapes(cls):
    y = cls(3, 2, 1)(Variable(TWO_CHANNELS))  # y (1, 2, 2, 2)
    with pytest.raises(
        ValueError,
        match=r'^Pooling2DGrad: gy of shape \(1, 2, 3, 3\) does not fit the max pooling of '
        r'an input of shape \(1, 2, 4, 4\) with kernel \(3, 3\), stride \(2, 2\) and pad '
        r'\(1, 1\); expected gy of shape \(1, 2, 2, 2\)$',
    ):
        F.Pooling2DGrad(y.creator)(np.ones((1, 2, 3, 3)))
    with pytest.raises(
        ValueError,
        match=r'^Pooling2DWithIndexes: x of shape \(1, 2, 5, 5\) .* expected x of shape '
        r'\(1, 2, 4, 4\)$',
    ):
        F.Pooling2DWithIndexes(y.creator)(np.ones((1, 2, 5, 5)))


def test_indexes_assigned_to_a_pooling_replace_the_offsets_its_forward_found():
    pool = F.Pooling(3, 2, 1)
    pool(Variable(TWO_CHANNELS))
    # its own forward never lets the padding win
    np.testing.assert_array_equal(pool.indexes, [[[[8, 6], [2, 0]], [[4, 4], [1, 8]]]])
    pool.indexes = np.array(BOOK_INDEXES)
    np.testing.assert_array_equal(pool.indexes, BOOK_INDEXES)
    gy = np.arange(1.0, 9.0).reshape(1, 2, 2, 2)
    np.testing.assert_array_equal(F.Pooling2DGrad(pool)(gy).data, BOOK_GX)
    # a new call (on a copy of pool, which holds the assigned ones) finds its own again
    y = pool(Variable(TWO_CHANNELS))
    np.testing.assert_array_equal(y.creator.indexes, [[[[8, 6], [2, 0]], [[4, 4], [1, 8]]]])
    np.testing.assert_array_equal(pool.indexes, BOOK_INDEXES)


def test_pooling_object_keeps_the_indexes_under_the_books_name():
    pool = F.Pooling(2, 2)
    with pytest.raises(AttributeError, match=r'^Pooling.indexes: this Pooling has not run'):
        pool.indexes
    pool(Variable(IMAGE))
    np.testing.assert_array_equal(pool.indexes, [[[[1, 2], [1, 0]]]])
    unrecorded = F.Pooling(2, 2)
    with no_grad():
        unrecorded(IMAGE)
    assert not hasattr(unrecorded, 'indexes')


@pytest.mark.parametrize('cls', [F.Pooling2DGrad, F.Pooling2DWithIndexes])
def test_pooling_grad_objects_take_one_name_for_the_pooling(cls):
    pool = F.Pooling(2, 2)
    pool(Variable(IMAGE))
    name = cls.__name__
    with pytest.raises(TypeError, match=rf"^{name}: got both pooling and mpool2d \(the book's"):
        cls(pool, mpool2d=pool)
    with pytest.raises(TypeError, match=rf'^{name}: missing the max pooling call; give pooling'):
        cls()


def test_conv2d_grad_w_and_the_pooling_grads_share_the_check_of_their_argument():
    with pytest.raises(
        TypeError, match=r"^G: got both a and b \(the book's name for it\); give one$"
    ):
        given_once('G', 'the call', ('a', 1), ('b', 2))
    with pytest.raises(TypeError, match=r"^G: missing the call; give a \(or b, the book's name"):
        given_once('G', 'the call', ('a', None), ('b', None))
    assert given_once('G', 'the call', ('a', None), ('b', 2)) == 2


def _called_average_pooling():
    pool = F.AveragePooling(2)
    pool(Variable(IMAGE))
    return pool


@pytest.mark.parametrize('cls', [F.Pooling2DGrad, F.Pooling2DWithIndexes])
@pytest.mark.parametrize(
    'make, lacks',
    [
        (
            lambda: BookStylePooling(2),
            r'BookStylePooling lacks indexes, inputs \(it has not been called\)$',
        ),
        (_called_average_pooling, r'AveragePooling lacks indexes$'),
        (
            lambda: F.Sin(),
            r'Sin lacks kernel_size, stride, pad, indexes, inputs \(it has not been called\)$',
        ),
    ],
)
def test_pooling_grad_objects_name_what_the_object_lacks(cls, make, lacks):
    with pytest.raises(
        TypeError,
        match=rf'^{cls.__name__}: expected a Pooling that has run forward .*' + lacks,
    ):
        cls(make())


@pytest.mark.parametrize(
    'indexes, words',
    [
        (np.zeros((1, 1, 2, 3), np.int64), r'must be an integer array of shape \(1, 1, 2, 2\)'),
        (
            np.zeros((1, 1, 2, 2)),
            r'must be an integer array .* got ndarray of dtype float64 and shape \(1, 1, 2, 2\)$',
        ),
        (
            np.zeros((1, 1, 2, 2), np.float32)[:, :, :1],
            r'must be an integer array .* got ndarray of dtype float32 and shape \(1, 1, 1, 2\)$',
        ),
        ([[[[0, 0], [0, 0]]]], r'must be an integer array .* got list$'),
        (
            np.full((1, 1, 2, 2), 4),
            r'must be offsets .* \(2, 2\) window, from 0 to 3; got .* 4 to 4',
        ),
        (np.full((1, 1, 2, 2), -1), r'must be offsets .* from 0 to 3; got values from -1 to -1'),
    ],
)
def test_pooling_grad_checks_the_indexes_of_a_book_style_object(indexes, words):
    pool = BookStylePooling(2, 2, 1)
    pool(Variable(SIGNED))
    pool.indexes = indexes
    with pytest.raises(
        ValueError, match=r'^Pooling2DGrad: the indexes of BookStylePooling ' + words
    ):
        F.Pooling2DGrad(pool)


def test_pooling_object_names_a_bad_pad():
    with pytest.raises(ValueError, match=r'pad \(2, 2\) must be smaller than the kernel'):
        F.Pooling(2, 1, 2)(IMAGE)


def test_average_pooling_object(check_grads):
    y = F.AveragePooling(2, 2, 0)(IMAGE)
    np.testing.assert_allclose(y.data, [[[[17 / 4, 17 / 4], [11.5 / 4, -10 / 4]]]])
    y = F.AveragePooling(2)(IMAGE)
    assert y.shape == (1, 1, 3, 3)
    check_grads(lambda x: F.AveragePooling(3, 1, 1)(x), IMAGE)


def test_function_objects_run_in_float32():
    x = Variable(IMAGE.astype(np.float32))
    for f in (F.Pooling(2), F.AveragePooling(2), F.Softmax(), F.Max(1), F.Sum(None, False)):
        y = f(x)
        assert y.dtype == np.float32, type(f).__name__

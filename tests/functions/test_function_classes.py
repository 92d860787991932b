"""The Function classes of dezero.functions called as the book calls them: the book's
constructor arguments, in its order, then the inputs.  Exact values on small inputs and
gradients of first and second order; the classes that take another function object
(Conv2DGradW, Pooling2DGrad, Pooling2DWithIndexes) and their errors."""

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable, no_grad
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

"""conv2d, deconv2d, im2col and col2im: values against naive loops, gradients of first
and second order (mixed x/W terms included), dtypes and errors."""

import collections
import re

import numpy as np
import pytest

import dezero.functions as F
import dezero.functions.conv as conv_module
from dezero import Variable, no_grad
from dezero.autodiff import grad
from dezero.functions.conv import Conv2d, Deconv2d
from dezero.utils import numerical_grad


# ---- naive references: explicit loops over every index -----------------------------------
def naive_conv2d(x, W, b, stride, pad):
    n_, c_, h, w = x.shape
    oc_, _, kh, kw = W.shape
    (sh, sw), (ph, pw) = stride, pad
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n_, oc_, oh, ow))
    for n in range(n_):
        for o in range(oc_):
            for p in range(oh):
                for q in range(ow):
                    total = 0.0 if b is None else b[o]
                    for c in range(c_):
                        for i in range(kh):
                            for j in range(kw):
                                r, s = p * sh + i - ph, q * sw + j - pw
                                if 0 <= r < h and 0 <= s < w:
                                    total += W[o, c, i, j] * x[n, c, r, s]
                    y[n, o, p, q] = total
    return y


def naive_deconv2d(x, W, b, stride, pad, outsize):
    n_, c_, h, w = x.shape
    _, oc_, kh, kw = W.shape
    (sh, sw), (ph, pw), (oh, ow) = stride, pad, outsize
    y = np.zeros((n_, oc_, oh, ow))
    for n in range(n_):
        for c in range(c_):
            for p in range(h):
                for q in range(w):
                    for o in range(oc_):
                        for i in range(kh):
                            for j in range(kw):
                                r, s = p * sh + i - ph, q * sw + j - pw
                                if 0 <= r < oh and 0 <= s < ow:
                                    y[n, o, r, s] += W[c, o, i, j] * x[n, c, p, q]
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# (x shape, kernel (KH, KW), stride, pad): odd and non-square sizes and kernels
CONV_CASES = [
    ((2, 3, 5, 5), (3, 3), 1, 0),
    ((2, 3, 5, 5), (3, 3), 1, 1),
    ((1, 2, 7, 6), (3, 2), 2, 1),
    ((2, 2, 6, 7), (2, 3), (2, 1), (0, 1)),
    ((1, 3, 5, 4), (1, 1), 2, 0),
    ((1, 1, 4, 5), (4, 5), 1, 0),  # one output pixel
    ((2, 2, 3, 3), (3, 3), 2, 1),
]


@pytest.mark.parametrize('shape, kernel, stride, pad', CONV_CASES)
@pytest.mark.parametrize('bias', [True, False])
def test_conv2d_matches_naive_loops(shape, kernel, stride, pad, bias, sample):
    x = sample(shape)
    W = sample((4, shape[1]) + kernel)
    b = sample((4,)) if bias else None
    y = F.conv2d(x, W, b, stride=stride, pad=pad)
    np.testing.assert_allclose(
        y.data, naive_conv2d(x, W, b, as_pair(stride), as_pair(pad)), rtol=1e-12, atol=1e-12
    )


def test_conv2d_by_hand():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # 1 2 3 / 4 5 6 / 7 8 9
    W = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # x[p, q] - x[p+1, q+1]
    y = F.conv2d(x, W, np.array([10.0]))
    np.testing.assert_array_equal(y.data, [[[[6.0, 6.0], [6.0, 6.0]]]])
    y = F.conv2d(x, W, stride=2, pad=1)  # windows at -1 and 1
    np.testing.assert_array_equal(y.data, [[[[-1.0, -3.0], [-7.0, -4.0]]]])


# (x shape, kernel, stride, pad, outsize)
DECONV_CASES = [
    ((2, 3, 3, 3), (3, 3), 1, 0, None),
    ((1, 2, 3, 4), (3, 2), 2, 1, None),
    ((2, 2, 4, 3), (2, 3), (2, 1), (1, 0), None),
    ((1, 2, 3, 3), (3, 3), 2, 1, (6, 6)),  # one more than the default 5
    ((1, 3, 2, 3), (4, 3), 3, (1, 0), (7, 10)),  # defaults 5 and 9 (up to +2)
    ((1, 1, 1, 1), (2, 3), 1, 0, None),
]


@pytest.mark.parametrize('shape, kernel, stride, pad, outsize', DECONV_CASES)
@pytest.mark.parametrize('bias', [True, False])
def test_deconv2d_matches_naive_loops(shape, kernel, stride, pad, outsize, bias, sample):
    x = sample(shape)
    W = sample((shape[1], 4) + kernel)
    b = sample((4,)) if bias else None
    s, p = as_pair(stride), as_pair(pad)
    y = F.deconv2d(x, W, b, stride=stride, pad=pad, outsize=outsize)
    if outsize is None:
        outsize = tuple(s[a] * (shape[2 + a] - 1) + kernel[a] - 2 * p[a] for a in (0, 1))
    assert y.shape == (shape[0], 4) + outsize
    np.testing.assert_allclose(
        y.data, naive_deconv2d(x, W, b, s, p, outsize), rtol=1e-12, atol=1e-12
    )


def test_deconv2d_by_hand():
    x = np.array([[[[1.0, 2.0]]]])  # (1, 1, 1, 2)
    W = np.ones((1, 1, 2, 2))
    y = F.deconv2d(x, W, stride=1)  # overlapping stamps
    np.testing.assert_array_equal(y.data, [[[[1.0, 3.0, 2.0], [1.0, 3.0, 2.0]]]])
    y = F.deconv2d(x, W, stride=2, outsize=(3, 5))  # apart, one row/col spare
    np.testing.assert_array_equal(y.data[0, 0], [[1, 1, 2, 2, 0], [1, 1, 2, 2, 0], [0, 0, 0, 0, 0]])


@pytest.mark.parametrize('shape, kernel, stride, pad', CONV_CASES)
def test_deconv2d_is_the_adjoint_of_conv2d_in_x(shape, kernel, stride, pad, sample):
    """<conv2d(x, W), g> == <x, deconv2d(g, W)> with outsize = x's size."""
    x, W = sample(shape), sample((4, shape[1]) + kernel)
    y = F.conv2d(x, W, stride=stride, pad=pad)
    g = sample(y.shape)
    back = F.deconv2d(g, W, stride=stride, pad=pad, outsize=shape[2:])
    np.testing.assert_allclose(np.sum(y.data * g), np.sum(x * back.data), rtol=1e-10)


# ---- gradients ---------------------------------------------------------------------------
GRAD_CASES = [
    ((2, 2, 4, 5), (3, 2), 1, 0),
    ((1, 2, 5, 4), (3, 3), 2, 1),
    ((2, 1, 4, 4), (2, 3), (1, 2), (1, 0)),
    ((3, 2, 3, 3), (2, 3), 2, 0),
]  # more filters (3) than output pixels (1)


@pytest.mark.parametrize('shape, kernel, stride, pad', GRAD_CASES)
def test_conv2d_gradients(shape, kernel, stride, pad, sample, check_grads):
    def f(x, W, b):
        return F.conv2d(x, W, b, stride=stride, pad=pad)

    check_grads(f, sample(shape), sample((3, shape[1]) + kernel), sample((3,)))


def test_conv2d_gradients_without_bias(sample, check_grads):
    check_grads(lambda x, W: F.conv2d(x, W, pad=1), sample((1, 2, 3, 4)), sample((2, 2, 2, 3)))


@pytest.mark.parametrize(
    'shape, kernel, stride, pad, outsize',
    [
        ((2, 2, 3, 2), (3, 2), 1, 0, None),
        ((1, 2, 3, 3), (3, 3), 2, 1, (6, 5)),
        ((1, 3, 2, 2), (2, 3), (2, 1), (0, 1), None),
    ],
)
def test_deconv2d_gradients(shape, kernel, stride, pad, outsize, sample, check_grads):
    def f(x, W, b):
        return F.deconv2d(x, W, b, stride=stride, pad=pad, outsize=outsize)

    check_grads(f, sample(shape), sample((shape[1], 2) + kernel), sample((2,)))


def _mixed_second_derivative(f, x, W, wrt_first, seed=0):
    """With u, v random: the gradient with respect to one input of
    <d<f(x, W), u>/d(other input), v>, by backprop (through the recorded backward) and
    by central differences.  Returns (analytic, numeric)."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(f(x, W).shape)
    v = rng.standard_normal(W.shape if wrt_first else x.shape)

    def g(a, b):
        xv, Wv = Variable(np.array(a)), Variable(np.array(b))
        y = f(xv, Wv)
        y.grad = Variable(u)
        y.backward(create_graph=True)
        other = Wv if wrt_first else xv
        result = F.sum(other.grad * v)
        xv.cleargrad()
        Wv.cleargrad()
        return result, (xv if wrt_first else Wv)

    if wrt_first:
        numeric = numerical_grad(lambda a: g(a, W)[0], x.copy())
    else:
        numeric = numerical_grad(lambda b: g(x, b)[0], W.copy())
    result, var = g(x, W)
    result.backward()
    return var.grad.data, numeric


@pytest.mark.parametrize('fn', ['conv2d', 'deconv2d'])
@pytest.mark.parametrize('wrt_first', [True, False])
def test_mixed_second_derivatives_of_x_and_W(fn, wrt_first, sample):
    """conv2d and deconv2d are bilinear: d²/dx dW is not zero, and comes out right only
    if every backward (the filter gradient's included) is recorded as a graph."""
    if fn == 'conv2d':
        x, W = sample((2, 2, 4, 5)), sample((3, 2, 3, 2))

        def f(a, b):
            return F.conv2d(a, b, stride=(2, 1), pad=1)
    else:
        x, W = sample((2, 2, 3, 2)), sample((2, 3, 3, 2))

        def f(a, b):
            return F.deconv2d(a, b, stride=2, pad=(1, 0))

    analytic, numeric = _mixed_second_derivative(f, x, W, wrt_first)
    assert np.abs(numeric).max() > 0.1
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


def test_third_order_through_conv2d():
    """d³/dW³ of sum(conv2d(x, W)**3) by backprop equals 6 * sum(cols**3) for a single
    weight, where cols are the inputs that weight multiplies."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3) / 10
    W = Variable(np.array([[[[0.5]]]]))
    y = F.sum(F.conv2d(x, W) ** 3)
    y.backward(create_graph=True)
    for _ in range(2):
        g = W.grad
        W.cleargrad()
        g.backward(create_graph=True)
    np.testing.assert_allclose(W.grad.data, [[[[6 * np.sum(x**3)]]]])


@pytest.mark.parametrize(
    'shape, kernel, stride, pad', [((1, 2, 4, 5), 3, 1, 1), ((2, 1, 5, 4), (2, 3), (2, 1), (1, 0))]
)
@pytest.mark.parametrize('to_matrix', [True, False])
def test_im2col_and_col2im_gradients(shape, kernel, stride, pad, to_matrix, sample, check_grads):
    x = sample(shape)
    check_grads(lambda a: F.im2col(a, kernel, stride, pad, to_matrix), x)
    col = F.im2col(x, kernel, stride, pad, to_matrix)
    check_grads(lambda a: F.col2im(a, shape, kernel, stride, pad, to_matrix), sample(col.shape))


def test_im2col_and_col2im_values_and_adjointness(sample):
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    col = F.im2col(x, 2)
    np.testing.assert_array_equal(
        col.data, [[1, 2, 4, 5], [2, 3, 5, 6], [4, 5, 7, 8], [5, 6, 8, 9]]
    )
    y = sample(col.shape)
    back = F.col2im(y, x.shape, 2)
    np.testing.assert_allclose(np.sum(col.data * y), np.sum(x * back.data))


def test_first_order_pass_equals_recorded_pass(sample):
    """The gradients of a plain backward (run on arrays) equal those of create_graph."""
    x0, W0, b0 = sample((2, 3, 5, 4)), sample((2, 3, 3, 2)), sample((2,))
    results = []
    for create_graph in (False, True):
        for fn, args in (
            (F.conv2d, dict(stride=(2, 1), pad=1)),
            (F.deconv2d, dict(stride=2, pad=(0, 1))),
        ):
            x, W, b = Variable(x0.copy()), Variable(W0.copy()), Variable(b0.copy())
            if fn is F.deconv2d:
                W = Variable(W0.transpose(1, 0, 2, 3).copy())
            y = fn(x, W, b, **args)
            F.sum(y * y).backward(create_graph=create_graph)
            results.append([v.grad.data for v in (x, W, b)])
    for plain, recorded in zip(results[:2], results[2:]):
        for a, r in zip(plain, recorded):
            np.testing.assert_allclose(a, r, rtol=1e-12)


# ---- which gradients are computed, what the graph keeps ---------------------------------
@pytest.fixture
def kernel_calls(monkeypatch):
    """Counts, by name, the calls of the array kernels of dezero.functions.conv."""
    calls = collections.Counter()
    for name in ('conv2d_array', 'deconv2d_array', 'conv2d_grad_w_array'):

        def counting(*args, _name=name, _kernel=getattr(conv_module, name)):
            calls[_name] += 1
            return _kernel(*args)

        monkeypatch.setattr(conv_module, name, counting)
    return calls


# (function, W's shape, the kernel of the gradient with respect to x)
WITH_INPUT_KERNEL = [
    (F.conv2d, (2, 3, 3, 3), 'deconv2d_array'),
    (F.deconv2d, (3, 2, 3, 3), 'conv2d_array'),
]


@pytest.mark.parametrize('fn, w_shape, input_kernel', WITH_INPUT_KERNEL)
def test_plain_array_input_gets_no_gradient_but_the_weights_do(
    fn, w_shape, input_kernel, sample, kernel_calls
):
    x0, W0, b0 = sample((2, 3, 4, 4)), sample(w_shape), sample((2,))
    W, b = Variable(W0), Variable(b0)
    y = fn(x0, W, b, pad=1)
    kernel_calls.clear()
    F.sum(y * y).backward()
    assert kernel_calls == {'conv2d_grad_w_array': 1}  # no gradient of x
    x2, W2, b2 = Variable(x0), Variable(W0), Variable(b0)
    F.sum(fn(x2, W2, b2, pad=1) ** 2).backward()
    assert x2.grad is not None
    np.testing.assert_allclose(W.grad.data, W2.grad.data, rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, b2.grad.data, rtol=1e-12)


@pytest.mark.parametrize('fn, w_shape, input_kernel', WITH_INPUT_KERNEL)
@pytest.mark.parametrize('constant_weights', [True, False])
def test_the_input_gradient_alone_skips_the_filter_gradient(
    fn, w_shape, input_kernel, constant_weights, sample, kernel_calls
):
    """No filter gradient is computed when W is a plain array, or when W is a Variable
    but only the gradient with respect to x is asked for."""
    x0, W0, b0 = sample((2, 3, 4, 4)), sample(w_shape), sample((2,))
    W, b = (W0, b0) if constant_weights else (Variable(W0), Variable(b0))
    gx = grad(lambda x: F.sum(fn(x, W, b, stride=2, pad=1) ** 2))(x0)
    assert kernel_calls['conv2d_grad_w_array'] == 0
    assert kernel_calls[input_kernel] == 1
    x = Variable(x0)
    F.sum(fn(x, Variable(W0), Variable(b0), stride=2, pad=1) ** 2).backward()
    np.testing.assert_allclose(gx, x.grad.data, rtol=1e-12)


def _made_by_a_function(f):
    """``f`` whose inputs are outputs of a function (x * 1.0) rather than leaves, so that
    the graph keeps of them only what f's own functions declare they read."""
    return lambda *xs: f(*[x * 1.0 for x in xs])


@pytest.mark.parametrize('fn, w_shape', [(F.conv2d, (2, 3, 3, 2)), (F.deconv2d, (3, 2, 3, 2))])
def test_backward_reads_only_what_it_retains(fn, w_shape, sample, check_grads):
    check_grads(
        _made_by_a_function(lambda x, W, b: fn(x, W, b, stride=2, pad=1)),
        sample((1, 3, 4, 3)),
        sample(w_shape),
        sample((2,)),
    )
    x = sample((1, 2, 4, 3))
    col = F.im2col(x, 2, 1, 1)
    check_grads(_made_by_a_function(lambda a: F.im2col(a, 2, 1, 1)), x)
    check_grads(_made_by_a_function(lambda a: F.col2im(a, x.shape, 2, 1, 1)), sample(col.shape))


# ---- plain-array inputs, dtypes, function objects ---------------------------------------
def test_plain_array_input_second_order_in_W(sample, check_grads):
    x = sample((2, 2, 4, 4))
    check_grads(lambda W: F.conv2d(x, W, pad=1), sample((2, 2, 3, 3)))


@pytest.mark.parametrize('fn, w_shape', [(F.conv2d, (2, 3, 3, 2)), (F.deconv2d, (3, 2, 3, 2))])
def test_keeps_float32(fn, w_shape, sample, assert_keeps_float32):
    def f(x, W, b):
        return fn(x, W, b, stride=2, pad=1)

    assert_keeps_float32(f, sample((2, 3, 5, 4)), sample(w_shape), sample((2,)))
    assert_keeps_float32(lambda x, W: fn(x, W, pad=1), sample((2, 3, 5, 4)), sample(w_shape))


def test_float32_second_order_stays_float32(sample):
    x = Variable(sample((1, 2, 4, 4), dtype=np.float32))
    W = Variable(sample((2, 2, 3, 3), dtype=np.float32))
    F.sum(F.conv2d(x, W, pad=1) ** 2).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    W.cleargrad()
    F.sum(gx * gx).backward()
    assert x.grad.dtype == np.float32 and W.grad.dtype == np.float32


def test_float64_bias_on_float32_product_is_not_rounded_down():
    y = F.conv2d(
        np.ones((1, 1, 1, 1), np.float32), np.ones((1, 1, 1, 1), np.float32), np.array([1e-12])
    )
    assert y.dtype == np.float64 and y.data[0, 0, 0, 0] == 1.0 + 1e-12


def test_no_grad_gives_the_same_values(sample):
    x, W, b = sample((2, 3, 5, 5)), sample((4, 3, 3, 3)), sample((4,))
    with no_grad():
        y = F.conv2d(x, W, b, stride=2, pad=1)
    assert y.creator is None
    np.testing.assert_array_equal(y.data, F.conv2d(x, W, b, stride=2, pad=1).data)


def test_a_function_object_called_twice_differentiates_both_calls(sample):
    f = Conv2d((1, 1), (1, 1))
    W = Variable(sample((2, 1, 3, 3)))
    x1, x2 = Variable(sample((1, 1, 3, 3))), Variable(sample((1, 1, 4, 4)))
    y = F.sum(f(x1, W)) + F.sum(f(x2, W))
    y.backward()
    W2 = Variable(W.data.copy())
    (F.sum(F.conv2d(x1.data, W2, pad=1)) + F.sum(F.conv2d(x2.data, W2, pad=1))).backward()
    np.testing.assert_allclose(W.grad.data, W2.grad.data)


# ---- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'x_shape, w_shape, b_shape, kwargs, error, words',
    [
        (
            (2, 3, 5, 5),
            (4, 2, 3, 3),
            None,
            {},
            ValueError,
            [
                r'conv2d: x of shape \(2, 3, 5, 5\) has 3 channels but W of shape '
                r'\(4, 2, 3, 3\) expects 2'
            ],
        ),
        (
            (3, 5, 5),
            (4, 3, 3, 3),
            None,
            {},
            ValueError,
            [r'conv2d: x must be 4-D \(N, C, H, W\), got shape \(3, 5, 5\)'],
        ),
        (
            (2, 3, 5, 5),
            (4, 3, 3),
            None,
            {},
            ValueError,
            [r'conv2d: W must be 4-D \(OC, C, KH, KW\), got shape \(4, 3, 3\)'],
        ),
        (
            (2, 3, 5, 5),
            (4, 3, 3, 3),
            (3,),
            {},
            ValueError,
            [
                r'conv2d: b of shape \(3,\) does not fit W of shape \(4, 3, 3, 3\); expected b of '
                r'shape \(4,\)'
            ],
        ),
        (
            (2, 3, 2, 5),
            (4, 3, 3, 3),
            None,
            {},
            ValueError,
            [
                r'conv2d: kernel \(3, 3\) is larger than the padded input \(2, 5\)',
                r'input shape \(2, 3, 2, 5\)',
            ],
        ),
        (
            (2, 3, 5, 5),
            (4, 3, 3, 3),
            None,
            {'stride': 0},
            ValueError,
            [r'conv2d: stride must be at least 1, got \(0, 0\)'],
        ),
        (
            (2, 3, 5, 5),
            (4, 3, 3, 3),
            None,
            {'pad': -1},
            ValueError,
            [r'conv2d: pad must not be negative'],
        ),
        (
            (2, 3, 5, 5),
            (4, 3, 3, 3),
            None,
            {'pad': 1.5},
            TypeError,
            [r'conv2d: pad must be an int or a pair of ints, got 1.5'],
        ),
    ],
)
def test_conv2d_refuses_bad_input(x_shape, w_shape, b_shape, kwargs, error, words):
    b = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(error) as info:
        F.conv2d(np.zeros(x_shape), np.zeros(w_shape), b, **kwargs)
    for w in words:
        assert re.search(w, str(info.value)), (w, str(info.value))


@pytest.mark.parametrize(
    'x_shape, w_shape, b_shape, kwargs, error, words',
    [
        (
            (2, 3, 4, 4),
            (2, 4, 3, 3),
            None,
            {},
            ValueError,
            [
                r'deconv2d: x of shape \(2, 3, 4, 4\) has 3 channels but W of shape '
                r'\(2, 4, 3, 3\) expects 2'
            ],
        ),
        ((2, 3, 4), (3, 4, 3, 3), None, {}, ValueError, [r'deconv2d: x must be 4-D']),
        (
            (2, 3, 4, 4),
            (3, 4, 3),
            None,
            {},
            ValueError,
            [r'deconv2d: W must be 4-D \(C, OC, KH, KW\)'],
        ),
        (
            (2, 3, 4, 4),
            (3, 4, 3, 3),
            (3,),
            {},
            ValueError,
            [r'deconv2d: b of shape \(3,\) .* expected b of shape \(4,\)'],
        ),
        (
            (2, 3, 4, 4),
            (3, 4, 3, 3),
            None,
            {'stride': 2, 'outsize': 11},
            ValueError,
            [
                r'deconv2d: outsize \(11, 11\) does not fit x of shape \(2, 3, 4, 4\)',
                r'stride \(2, 2\)',
                r'expected from \(9, 9\) to \(10, 10\)',
            ],
        ),
        (
            (2, 3, 4, 4),
            (3, 4, 3, 3),
            None,
            {'stride': 2, 'outsize': (8, 9)},
            ValueError,
            [r'outsize \(8, 9\) does not fit'],
        ),
        (
            (2, 3, 4, 4),
            (3, 4, 3, 3),
            None,
            {'outsize': 'big'},
            TypeError,
            [r"deconv2d: outsize must be an int or a pair of ints, got 'big'"],
        ),
        (
            (2, 3, 1, 1),
            (3, 4, 3, 3),
            None,
            {'pad': 2},
            ValueError,
            [r'deconv2d: the output size \(-1, -1\) .* is not positive'],
        ),
        (
            (2, 3, 4, 4),
            (3, 4, 3, 3),
            None,
            {'stride': (1, 0)},
            ValueError,
            [r'deconv2d: stride must be at least 1'],
        ),
    ],
)
def test_deconv2d_refuses_bad_input(x_shape, w_shape, b_shape, kwargs, error, words):
    b = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(error) as info:
        F.deconv2d(np.zeros(x_shape), np.zeros(w_shape), b, **kwargs)
    for w in words:
        assert re.search(w, str(info.value)), (w, str(info.value))


def test_im2col_and_col2im_refuse_bad_shapes():
    with pytest.raises(
        ValueError,
        match=r'im2col: expected a 4-D \(N, C, H, W\) input, '
        r'got shape \(3, 3\)',
    ):
        F.im2col(np.zeros((3, 3)), 2)
    with pytest.raises(
        ValueError,
        match=r'col2im: x of shape \(4, 3\) does not fit '
        r'input_shape \(1, 1, 3, 3\) .* expected shape '
        r'\(4, 4\)',
    ):
        F.col2im(np.zeros((4, 3)), (1, 1, 3, 3), 2)


# ---- both gradients from one set of columns (Conv2DGrads) -------------------------------
# (x shape, W shape, pad): stride 1, pad below the kernel
FUSED_CASES = [
    ((2, 3, 4, 5), (2, 3, 3, 3), 1),
    ((2, 2, 4, 4), (6, 2, 3, 3), 1),
    ((2, 1, 4, 4), (5, 1, 3, 3), 1),  # many more filters than channels
    ((2, 2, 5, 4), (2, 2, 3, 2), (0, 1)),
    ((1, 3, 3, 3), (1, 3, 1, 1), 0),
]


@pytest.fixture
def fused_calls(monkeypatch):
    calls = []
    kernel = conv_module.conv2d_grads_array

    def counting(*args):
        calls.append(1)
        return kernel(*args)

    monkeypatch.setattr(conv_module, 'conv2d_grads_array', counting)
    return calls


@pytest.mark.parametrize('bias', [False, True])
@pytest.mark.parametrize('x_shape, w_shape, pad', FUSED_CASES)
def test_both_gradients_at_once_equal_each_taken_alone(
    x_shape, w_shape, pad, bias, sample, fused_calls
):
    x0, W0, b0 = sample(x_shape), sample(w_shape), sample(w_shape[:1])
    gy = sample(F.conv2d(x0, W0, pad=pad).shape)
    x, W, b = Variable(x0), Variable(W0), Variable(b0) if bias else None
    y = F.conv2d(x, W, b, pad=pad)
    y.grad = Variable(gy)
    y.backward()
    assert len(fused_calls) == 1
    alone = []
    for inputs in ((Variable(x0), W0), (x0, Variable(W0))):  # one gradient wanted each
        y = F.conv2d(*inputs, pad=pad)
        y.grad = Variable(gy)
        y.backward()
        alone.append(next(v.grad.data for v in inputs if isinstance(v, Variable)))
    assert len(fused_calls) == 1
    np.testing.assert_allclose(x.grad.data, alone[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(W.grad.data, alone[1], rtol=1e-12, atol=1e-12)
    if bias:  # the bias's gradient, carried in the filter gradient's product or not
        np.testing.assert_allclose(b.grad.data, gy.sum(axis=(0, 2, 3)), rtol=1e-12)
        assert b.grad.shape == b0.shape and b.grad.data.flags.c_contiguous


@pytest.mark.parametrize('x_shape, w_shape, pad', FUSED_CASES)
def test_both_gradients_at_once_differentiate_in_x_W_and_gy(
    x_shape, w_shape, pad, sample, fused_calls
):
    """s = sum((a * gx)**2) + sum(b * gW) + sum((c * gb)**2), with gx, gW and the bias's
    gb from one recorded backward, differentiated in x, W, the bias and the seed gy:
    backprop against central differences."""
    x0, W0, bias0 = sample(x_shape), sample(w_shape), sample(w_shape[:1])
    gy0 = sample(F.conv2d(x0, W0, pad=pad).shape)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    c = rng.standard_normal(w_shape[:1])

    def s(x_data, W_data, bias_data, gy_data, keep=False):
        x, W = Variable(x_data.copy()), Variable(W_data.copy())
        bias, gy = Variable(bias_data.copy()), Variable(gy_data.copy())
        y = F.conv2d(x, W, bias, pad=pad)
        y.grad = gy
        y.backward(create_graph=True)
        result = F.sum(F.square(x.grad * a)) + F.sum(W.grad * b) + F.sum(F.square(bias.grad * c))
        for v in (x, W, bias):
            v.cleargrad()
        return (result, (x, W, bias, gy)) if keep else float(result.data)

    result, (x, W, bias, gy) = s(x0, W0, bias0, gy0, keep=True)
    assert fused_calls  # the recorded pass went through Conv2DGrads
    result.backward()
    assert bias.grad is None or not np.any(bias.grad.data)  # y is linear in the bias
    for v, numeric in [
        (x, numerical_grad(lambda v: s(v, W0, bias0, gy0), x0.copy())),
        (W, numerical_grad(lambda v: s(x0, v, bias0, gy0), W0.copy())),
        (gy, numerical_grad(lambda v: s(x0, W0, bias0, v), gy0.copy())),
    ]:
        np.testing.assert_allclose(v.grad.data, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    'x_shape, w_shape, kwargs',
    [
        ((2, 2, 5, 5), (2, 2, 3, 3), dict(stride=2)),
        ((1, 2, 4, 4), (2, 2, 2, 2), dict(pad=2)),  # pad as large as the kernel
    ],
)
def test_otherwise_the_two_gradients_are_taken_apart(x_shape, w_shape, kwargs, sample, fused_calls):
    x, W = Variable(sample(x_shape)), Variable(sample(w_shape))
    F.sum(F.conv2d(x, W, **kwargs)).backward()
    assert not fused_calls
    assert x.grad is not None and W.grad is not None


# ---- the book's classes called directly check what the functions check ------------------
@pytest.mark.parametrize(
    'call, message',
    [
        (lambda x, W, Wd: Conv2d(0, 0)(x, W), r'Conv2d: stride must be at least 1'),
        (lambda x, W, Wd: Conv2d(1, -1)(x, W), r'Conv2d: pad must not be negative'),
        (lambda x, W, Wd: Conv2d(1, 0)(x[:, :, :2], W), r'Conv2d: kernel \(3, 3\) is larger'),
        (lambda x, W, Wd: Conv2d(1, 0)(x, W[:, :2]), r'Conv2d: x of .* 3 channels but W'),
        (lambda x, W, Wd: Conv2d(1, 0)(x[0], W), r'Conv2d: x must be 4-D'),
        (lambda x, W, Wd: Conv2d(1, 0)(x, W, np.ones(1)), r'Conv2d: b of shape \(1,\)'),
        (lambda x, W, Wd: Deconv2d(1, 0, (3, 3))(x, Wd), r'Deconv2d: outsize \(3, 3\) does not'),
        (lambda x, W, Wd: Deconv2d(1, 0, (20, 20))(x, Wd), r'Deconv2d: outsize \(20, 20\)'),
    ],
)
def test_the_function_classes_called_directly_refuse_what_does_not_fit(call, message):
    x, W, Wd = np.ones((2, 3, 5, 6)), np.ones((4, 3, 3, 3)), np.ones((3, 4, 3, 3))
    with pytest.raises(ValueError, match=message) as info:
        call(x, W, Wd)
    assert not str(info.value).startswith('Conv2d: Conv2d')  # named once


# x (2, 3, 5, 5) and W (4, 3, 3, 3) with pad 1 give y (2, 4, 5, 5)
@pytest.mark.parametrize(
    'x_shape, gy_shape, message',
    [
        (
            (2, 3, 5, 5),
            (3, 4, 7, 7),
            r'gy of shape \(3, 4, 7, 7\) does not fit x of shape \(2, 3, 5, 5\) and the '
            r'filter of shape \(4, 3, 3, 3\) with stride \(1, 1\) and pad \(1, 1\); '
            r'expected gy of shape \(2, 4, 5, 5\)$',
        ),
        (
            (2, 3, 5, 5),
            (2, 2, 5, 5),
            r'gy of shape \(2, 2, 5, 5\) .* expected gy of shape \(2, 4, 5, 5\)$',
        ),
        (
            (2, 3, 5, 5),
            (2, 4, 5),
            r'gy of shape \(2, 4, 5\) .* expected gy of shape \(2, 4, 5, 5\)$',
        ),
        (
            (2, 2, 5, 5),
            (2, 4, 5, 5),
            r'x of shape \(2, 2, 5, 5\) does not fit the filter of shape \(4, 3, 3, 3\); '
            r'expected x of shape \(N, 3, H, W\)$',
        ),
        ((2, 3, 5), (2, 4, 5, 5), r'x of shape \(2, 3, 5\) does not fit the filter'),
        (
            (2, 3, 0, 5),
            (2, 4, 0, 5),
            r'x of shape \(2, 3, 0, 5\) is smaller than the kernel \(3, 3\) with pad '
            r'\(1, 1\); expected H \+ 2\*1 >= 3 and W \+ 2\*1 >= 3$',
        ),
    ],
)
def test_conv2d_grad_w_refuses_x_and_gy_that_its_convolution_does_not_make(
    x_shape, gy_shape, message
):
    x = Variable(np.ones((2, 3, 5, 5)))
    y = F.conv2d(x, Variable(np.ones((4, 3, 3, 3))), pad=1)
    with pytest.raises(ValueError, match=r'^Conv2DGradW: ' + message):
        F.Conv2DGradW(y.creator)(np.ones(x_shape), np.ones(gy_shape))


def test_conv2d_grad_w_takes_any_batch_that_fits_the_filter():
    """The filter gradient of another input (3 images of 4x3) for the same filter
    (OC 1, C 1, 2x2), stride 2 and pad 1: gy (3, 1, 3, 2)."""
    y = F.conv2d(Variable(np.ones((1, 1, 6, 6))), Variable(np.ones((1, 1, 2, 2))), None, 2, 1)
    x = np.arange(36.0).reshape(3, 1, 4, 3)
    gy = np.ones((3, 1, 3, 2))
    gW = F.Conv2DGradW(y.creator)(x, gy)
    # gW[i, j] = the sum of x padded by 1 at rows i, i+2, i+4 and columns j, j+2
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = [[padded[:, 0, i : i + 5 : 2, j : j + 3 : 2].sum() for j in (0, 1)] for i in (0, 1)]
    np.testing.assert_array_equal(gW.data, [[expected]])


def test_the_filter_gradient_of_a_deconvolution_checks_shapes_too():
    # deconv2d of x (1, 2, 3, 3) by W (2, 4, 3, 3), stride 2: y (1, 4, 7, 7); its filter
    # gradient correlates gy, shaped like y, with x
    x = Variable(np.ones((1, 2, 3, 3)))
    y = F.deconv2d(x, Variable(np.ones((2, 4, 3, 3))), stride=2)
    assert F.Conv2DGradW(y.creator)(np.ones((1, 4, 7, 7)), x.data).shape == (2, 4, 3, 3)
    with pytest.raises(
        ValueError,
        match=r'^Conv2DGradW: gy of shape \(1, 2, 4, 4\) does not fit x of shape '
        r'\(1, 4, 7, 7\) .* expected gy of shape \(1, 2, 3, 3\)$',
    ):
        F.Conv2DGradW(y.creator)(np.ones((1, 4, 7, 7)), np.ones((1, 2, 4, 4)))


@pytest.mark.parametrize('fn', ['conv2d', 'deconv2d'])
@pytest.mark.parametrize('which', [0, 1])
def test_bool_data_is_refused(fn, which):
    arrays = [np.ones((1, 2, 4, 4)), np.ones((2, 2, 3, 3))]
    arrays[which] = arrays[which].astype(bool)
    with pytest.raises(TypeError, match=rf'{fn}: {"xW"[which]} holds bool data'):
        getattr(F, fn)(*arrays)


# ---- empty axes: N, C and OC may be 0, H and W may not -----------------------------------
EMPTY_AXES = [(n, c, oc) for n in (0, 2) for c in (0, 2) for oc in (0, 3) if 0 in (n, c, oc)]


@pytest.mark.parametrize('fn', ['conv2d', 'deconv2d'])
@pytest.mark.parametrize('n, c, oc', EMPTY_AXES)
@pytest.mark.parametrize('stride, pad', [(1, 0), (1, 1), (2, 0), (2, 1)])
def test_empty_batch_and_channel_axes_give_exact_values_and_derivatives(fn, n, c, oc, stride, pad):
    """y is b broadcast (a sum over no terms is zero).  For s = sum(y**2): the bias's
    gradient is 2*M*b (M = N*OH*OW outputs per channel), the others are zeros; for
    t = sum(gx**2) + sum(gW**2) + sum(gb**2), differentiated again, it is 8*M**2*b."""
    w_shape = (oc, c, 3, 3) if fn == 'conv2d' else (c, oc, 3, 3)
    x, W = Variable(np.ones((n, c, 5, 5))), Variable(np.ones(w_shape))
    b = Variable(np.arange(1.0, oc + 1))
    y = getattr(F, fn)(x, W, b, stride=stride, pad=pad)
    assert y.shape[:2] == (n, oc)
    np.testing.assert_array_equal(y.data, np.broadcast_to(b.data.reshape(1, -1, 1, 1), y.shape))
    m = n * y.shape[2] * y.shape[3]
    F.sum(y * y).backward(create_graph=True)
    grads = [v.grad for v in (x, W, b)]
    for v, g in zip((x, W), grads):
        assert g.shape == v.shape and g.dtype == np.float64
        np.testing.assert_array_equal(g.data, np.zeros(v.shape))
    np.testing.assert_array_equal(b.grad.data, 2 * m * b.data)
    for v in (x, W, b):
        v.cleargrad()
    sum(F.sum(g * g) for g in grads).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(x.shape))
    np.testing.assert_array_equal(W.grad.data, np.zeros(W.shape))
    np.testing.assert_array_equal(b.grad.data, 8 * m * m * b.data)


def test_no_input_channels_at_stride_1_backpropagates():
    x, W = Variable(np.ones((1, 0, 5, 5))), Variable(np.ones((3, 0, 3, 3)))
    F.sum(F.conv2d(x, W, None, 1, 1)).backward()
    assert x.grad.shape == (1, 0, 5, 5) and W.grad.shape == (3, 0, 3, 3)


@pytest.mark.parametrize(
    'call, name',
    [
        (lambda: F.conv2d(np.ones((1, 1, 0, 3)), np.ones((2, 1, 2, 2)), pad=1), 'conv2d'),
        (lambda: F.deconv2d(np.ones((1, 1, 0, 2)), np.ones((1, 2, 3, 3))), 'deconv2d'),
        (lambda: F.deconv2d(np.ones((1, 1, 2, 0)), np.ones((1, 2, 3, 3))), 'deconv2d'),
        (lambda: Deconv2d()(np.ones((1, 1, 0, 2)), np.ones((1, 2, 3, 3))), 'Deconv2d'),
        (lambda: F.im2col(np.ones((1, 1, 0, 3)), 1, pad=1), 'im2col'),
    ],
)
def test_an_image_of_height_or_width_0_is_refused(call, name):
    with pytest.raises(
        ValueError, match=rf'^{name}: the input of shape \(1, 1, [02], [023]\) has an image of '
    ):
        call()


# ---- integers: summed in float64, where they do not wrap round ---------------------------
@pytest.mark.parametrize('dtype', [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize('stride, pad', [(1, 1), (2, 1), (1, 0)])
def test_integer_data_is_convolved_in_float64(dtype, stride, pad):
    """An output away from the border adds 72 products of 4 to 9: past int8 and uint8."""
    rng = np.random.default_rng(0)
    x = rng.integers(2, 4, (2, 8, 5, 5)).astype(dtype)
    W = rng.integers(2, 4, (8, 8, 3, 3)).astype(dtype)
    b = rng.integers(0, 4, 8).astype(dtype)
    xf, Wf, bf = x.astype(np.float64), W.astype(np.float64), b.astype(np.float64)
    y = F.conv2d(x, W, b, stride, pad)
    assert y.dtype == np.float64 and y.data.max() > 255
    np.testing.assert_array_equal(y.data, naive_conv2d(xf, Wf, bf, (stride,) * 2, (pad,) * 2))
    y = F.deconv2d(x, W, b, stride, pad)
    outsize = y.shape[2:]
    assert y.dtype == np.float64 and y.data.max() > 127
    np.testing.assert_array_equal(
        y.data, naive_deconv2d(xf, Wf, bf, (stride,) * 2, (pad,) * 2, outsize)
    )


def test_integer_convolution_agrees_with_pytorch_in_float64():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (2, 8, 9, 9)).astype(np.int8)
    W = rng.integers(0, 4, (8, 8, 3, 3)).astype(np.int8)
    tx, tW = torch.tensor(x.astype(np.float64)), torch.tensor(W.astype(np.float64))
    for stride in (1, 2):
        expected = torch.nn.functional.conv2d(tx, tW, None, stride, 1).numpy()
        np.testing.assert_array_equal(F.conv2d(x, W, None, stride, 1).data, expected)
        expected = torch.nn.functional.conv_transpose2d(tx, tW, None, stride, 1).numpy()
        np.testing.assert_array_equal(F.deconv2d(x, W, None, stride, 1).data, expected)


def test_integers_beside_float32_stay_float32():
    x = np.full((1, 2, 4, 4), 200, np.uint8)
    W = np.ones((3, 2, 3, 3), np.float32)
    assert F.conv2d(x, W, pad=1).dtype == np.float32
    assert F.deconv2d(x, W.transpose(1, 0, 2, 3).copy(), pad=1).dtype == np.float32


def test_col2im_adds_integers_in_float64():
    col = np.full((1, 1, 3, 3, 2, 2), 100, np.int8)  # the centre 2x2 pixels get 4 windows
    img = F.col2im(col, (1, 1, 4, 4), 3, 1, 0, to_matrix=False)
    assert img.dtype == np.float64
    edge, middle = [100, 200, 200, 100], [200, 400, 400, 200]
    np.testing.assert_array_equal(img.data, [[[edge, middle, middle, edge]]])


# ---- float16 gradients summed in float32 ---------------------------------------------------------
@pytest.mark.parametrize(
    'shape, kernel, pad', [((4096, 3, 2, 2), 1, 0), ((64, 3, 16, 16), 3, 1)], ids=['1x1', '3x3']
)
def test_float16_filter_and_bias_gradients_are_summed_in_float32(shape, kernel, pad):
    # summed block by block in float16, they stopped growing: b.grad was 8192 for
    # 16384 (8192 + 4 rounds to 8192), a corner of W.grad 14352 for 14400
    results = []
    for dtype in (np.float16, np.float64):
        x = Variable(np.ones(shape, dtype))
        W = Variable(np.ones((2, 3, kernel, kernel), dtype))
        b = Variable(np.zeros(2, dtype))
        y = F.conv2d(x, W, b, pad=pad)
        y.grad = Variable(np.ones(y.shape, dtype))
        y.backward()
        results.append((W.grad.data, b.grad.data))
    (gW, gb), (gW64, gb64) = results
    assert gW.dtype == gb.dtype == np.float16
    np.testing.assert_array_equal(gb, gb64.astype(np.float16))
    np.testing.assert_array_equal(gW, gW64.astype(np.float16))


def test_float32_filter_and_bias_gradients_stay_float32():
    x = Variable(np.ones((4, 3, 5, 5), np.float32))
    W, b = Variable(np.ones((2, 3, 3, 3), np.float32)), Variable(np.zeros(2, np.float32))
    F.sum(F.conv2d(x, W, b, pad=1)).backward()
    assert W.grad.dtype == b.grad.dtype == x.grad.dtype == np.float32
    np.testing.assert_array_equal(b.grad.data, [100.0, 100.0])


def test_the_filter_gradient_function_has_the_books_kernel_size():
    x = Variable(np.ones((1, 2, 5, 5)))
    y = F.conv2d(x, Variable(np.ones((3, 2, 3, 2))), pad=1)
    assert F.Conv2DGradW(y.creator).kernel_size == (3, 2)  # AttributeError before

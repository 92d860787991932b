"""Every case of the gradient registry on device arrays: the forward equals the CPU
result, outputs and gradients stay on the device, and the gradients (from ``backward()``
and from ``backward(create_graph=True)``) equal the CPU ones; second derivatives on a
handful of cases; and a CPU array mixed with a GPU one is refused clearly."""

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Parameter, Variable, cuda
import registry
from registry import CASES

#: Registry calls that hold NumPy constants, redone with the constants on the device.
DEVICE_CALLS = {
    'sub-operator-array': lambda dev: lambda x: x - dev.put(np.arange(3.0)),
    'embed_id-repeated-ids': lambda dev: lambda W: F.embed_id(dev.put(registry._IDS), W),
    'embed_id-scalar-id': lambda dev: lambda W: F.embed_id(dev.put(np.array(2)), W),
}


def _batch_norm_train(dev):
    def call(x, gamma, beta):
        return F.batch_norm(x, gamma, beta, dev.xp.zeros(gamma.shape), dev.xp.ones(gamma.shape))

    return call


def _batch_norm_test(dev):
    def call(x, gamma, beta):
        with dezero.test_mode():
            return F.batch_norm(
                x,
                gamma,
                beta,
                dev.put(registry._RUNNING_MEAN.copy()),
                dev.put(registry._RUNNING_VAR.copy()),
            )

    return call


def _seeded_dropout(dev):
    def call(x, dropout_ratio):
        np.random.seed(1)
        dev.xp.random.seed(1)
        return F.dropout(x, dropout_ratio)

    return call


WRAPPERS = {
    registry.batch_norm_train: _batch_norm_train,
    registry.batch_norm_test: _batch_norm_test,
    registry.seeded_dropout: _seeded_dropout,
}


def device_function(c, dev):
    """The function of case ``c`` with every constant it holds on the device."""
    fixed = {k: dev.put(v) for k, v in c.fixed.items()}
    if c.id in DEVICE_CALLS:
        f = DEVICE_CALLS[c.id](dev)
    elif c.call in WRAPPERS:
        f = WRAPPERS[c.call](dev)
    else:
        f = c.call if c.call is not None else getattr(F, c.name)
    return lambda *xs: f(*xs, **fixed)


def random_mask(c, dev):
    """Whether the device result depends on a random draw that differs from the CPU's
    (dropout on the real CuPy): then only devices and shapes are compared."""
    return c.call is registry.seeded_dropout and not dev.exact


def _grads(f, inputs, weights, create_graph):
    """The gradients of sum(f(*inputs) * weights) with respect to every input."""
    xs = [Variable(x) for x in inputs]
    y = f(*xs)
    (y * Variable(weights)).sum().backward(create_graph=create_graph)
    return y, [x.grad for x in xs]


@pytest.mark.parametrize('c', CASES, ids=lambda c: c.id)
def test_forward_and_gradients_match_cpu(c, xp_device):
    dev = xp_device
    inputs = c.draw()
    np.random.seed(1)
    y_cpu = c.function()(*inputs)
    w = np.random.default_rng(0).standard_normal(y_cpu.shape)
    f_dev = device_function(c, dev)
    for create_graph in (False, True):
        _, g_cpu = _grads(c.function(), [x.copy() for x in inputs], w, create_graph)
        y, g_dev = _grads(f_dev, dev.put([x.copy() for x in inputs]), dev.put(w), create_graph)
        if random_mask(c, dev):
            assert dev.is_device(y.data) and y.shape == y_cpu.shape
            assert all(dev.is_device(g.data) for g in g_dev)
            continue
        dev.assert_close(y.data, y_cpu.data, f'{c.id}: forward')
        for i, (gd, gc) in enumerate(zip(g_dev, g_cpu)):
            dev.assert_close(
                gd.data, gc.data, f'{c.id}: gradient of input {i} (create_graph={create_graph})'
            )


SECOND_ORDER = [
    'tanh',
    'div-broadcast',
    'matmul-2d',
    'softmax-axis1',
    'log_softmax-axis1',
    'softmax_cross_entropy',
    'sigmoid',
    'linear-bias',
    'conv2d-bias',
    'deconv2d-bias',
    'pooling-disjoint',
    'average_pooling-overlap-pad',
    'get_item-repeated-ids',
    'batch_norm-train-2d',
    'logsumexp-axis',
    'max-axis',
]


def _second(f, inputs, u, v):
    """The gradients with respect to every input of <grad_x0 <f(x)**2, u>, v> (x0 the
    first input): second derivatives, cross ones included (squaring gives even a linear
    f some)."""
    xs = [Variable(x) for x in inputs]
    y = F.square(f(*xs))
    (y * Variable(u)).sum().backward(create_graph=True)
    gx = xs[0].grad
    for x in xs:
        x.cleargrad()
    (gx * Variable(v)).sum().backward()
    return [x.grad for x in xs]


@pytest.mark.parametrize('c', [c for c in CASES if c.id in SECOND_ORDER], ids=lambda c: c.id)
def test_second_derivatives_match_cpu(c, xp_device):
    dev = xp_device
    inputs = c.draw()
    rng = np.random.default_rng(2)
    u = rng.standard_normal(c.function()(*inputs).shape)
    v = rng.standard_normal(inputs[0].shape)
    gg_cpu = _second(c.function(), inputs, u, v)
    gg_dev = _second(device_function(c, dev), dev.put(list(inputs)), dev.put(u), dev.put(v))
    assert any(g is not None for g in gg_cpu), f'{c.id}: no second derivative to compare'
    for i, (gd, gc) in enumerate(zip(gg_dev, gg_cpu)):
        assert (gd is None) == (gc is None), f'{c.id}: input {i}'
        if gc is not None:
            dev.assert_close(gd.data, gc.data, f'{c.id}: second derivative, input {i}')


def test_float32_stays_float32_on_device(xp_device):
    dev = xp_device
    x = Variable(dev.put(np.ones((2, 3), np.float32)))
    y = F.softmax_cross_entropy(
        F.linear(x, dev.put(np.ones((3, 4), np.float32))) * 2.0, dev.put(np.array([1, 2]))
    )
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert dev.is_device(y.data) and dev.is_device(x.grad.data)


def test_accuracy_on_device(xp_device):
    dev = xp_device
    y = dev.put(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]))
    acc = F.accuracy(y, dev.put(np.array([1, 0, 0])))
    assert dev.is_device(acc.data)
    assert float(cuda.as_numpy(acc.data)) == pytest.approx(2 / 3)


@pytest.mark.parametrize('gpu_first', [False, True])
def test_mixing_cpu_and_gpu_arrays_is_refused_clearly(xp_device, gpu_first):
    dev = xp_device
    a = Variable(np.ones(3))
    b = Variable(dev.put(np.ones(3)))
    with pytest.raises(TypeError) as e:
        F.add(b, a) if gpu_first else F.add(a, b)
    message = str(e.value)
    assert 'mixes CPU and GPU arrays' in message
    assert 'Add' in message or 'add' in message
    assert 'to_gpu()' in message or 'to_cpu()' in message


@pytest.mark.parametrize(
    'use, name',
    [
        (lambda gpu, cpu: gpu + cpu, 'AddConstant'),
        (lambda gpu, cpu: gpu * cpu, 'MulConstant'),
        (lambda gpu, cpu: cpu - gpu, 'SubFromConstant'),
        (lambda gpu, cpu: gpu / cpu, 'DivConstant'),
    ],
)
def test_a_constant_on_the_other_device_is_refused_clearly(xp_device, use, name):
    # the constant of x + c is no input: the device check did not see it
    dev = xp_device
    gpu, cpu = Variable(dev.put(np.ones((2, 3)))), np.ones((2, 3))
    with pytest.raises(
        TypeError, match=f'{name}: mixes CPU and GPU arrays.*its constant on the CPU'
    ):
        use(gpu, cpu)


def test_as_cupy_of_a_variable_on_either_device_gives_its_data_on_the_gpu(xp_device):
    # a Variable already on the GPU was refused with advice to copy it to the CPU
    dev = xp_device
    gpu = Variable(dev.put(np.ones(3)))
    assert cuda.as_cupy(gpu) is gpu.data
    assert dev.is_device(cuda.as_cupy(Variable(np.ones(3))))


@pytest.mark.parametrize('c', [c for c in CASES if c.id in SECOND_ORDER[:8]], ids=lambda c: c.id)
def test_gradient_check_on_device(c, xp_device):
    dev = xp_device
    inputs = dev.put(list(c.draw()))
    f = device_function(c, dev)
    for i in range(len(inputs)):

        def g(x, i=i):
            return f(*inputs[:i], x, *inputs[i + 1 :])

        assert dezero.utils.gradient_check(g, inputs[i], rtol=c.rtol, atol=c.atol), (
            f'{c.id}: input {i}'
        )


# ---- operands on the device: exponents, 0-d constants and scalar parameters -------------
def test_pow_takes_an_exponent_on_the_device(xp_device):
    dev = xp_device
    x = Variable(dev.put(np.array([1.5, 2.0, 3.0], np.float32)))
    for c in (np.array([2.0, 2.0, 2.0]), np.array(2.0)):
        for y in (x ** dev.put(c), F.pow(x, dev.put(c))):
            dev.assert_close(
                y.data, np.array([1.5, 2.0, 3.0], np.float32) ** c.astype(y.dtype), 'pow'
            )
    assert (x ** dev.put(np.array(2.0))).dtype == np.float32  # a 0-d exponent, as a number


def test_a_0d_constant_on_the_device_keeps_float32_as_on_the_cpu(xp_device):
    dev = xp_device
    x = Variable(dev.put(np.ones(3, np.float32)))
    for c in (np.array(0.5), np.array(2)):
        y = x * dev.put(c)
        assert y.dtype == np.float32 and dev.is_device(y.data)


def test_a_float64_scalar_parameter_keeps_a_float32_step_float32_on_the_device(xp_device):
    dev = xp_device
    s = Parameter(dev.put(np.array(2.0)))
    x = Variable(dev.put(np.ones(3, np.float32)))
    y = F.sum(s * x)
    assert (s * x).dtype == np.float32
    y.backward()
    assert s.grad.dtype == np.float64 and float(cuda.as_numpy(s.grad.data)) == 3.0


def test_float16_products_stay_float16_on_the_device(xp_device):
    dev = xp_device
    rng = np.random.default_rng(0)
    x = Variable(dev.put(rng.standard_normal((4, 3)).astype(np.float16)))
    W = Variable(dev.put(rng.standard_normal((3, 2)).astype(np.float16)))
    for y in (F.linear(x, W), F.matmul(x, W)):
        assert y.dtype == np.float16 and dev.is_device(y.data)
        x.cleargrad(), W.cleargrad()
        F.sum(y).backward()
        assert x.grad.dtype == W.grad.dtype == np.float16 and dev.is_device(W.grad.data)


def test_a_host_bool_mask_or_condition_goes_with_device_data(xp_device):
    # CuPy refused them inside cupy.where with its own words: a mask made with np.tril
    # (as MultiHeadAttention's errors advise) failed on a GPU model
    dev = xp_device
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 5, 4)).astype(np.float32)
    mask = np.tril(np.ones((5, 5), bool))
    on_device = F.scaled_dot_product_attention(
        Variable(dev.put(q)), Variable(dev.put(q)), Variable(dev.put(q)), mask=mask
    )
    on_cpu = F.scaled_dot_product_attention(Variable(q), Variable(q), Variable(q), mask=mask)
    assert dev.is_device(on_device.data)
    np.testing.assert_allclose(cuda.as_numpy(on_device.data), on_cpu.data, rtol=1e-6)
    condition = q > 0
    chosen = F.where(condition, Variable(dev.put(q)), Variable(dev.put(-q)))
    assert dev.is_device(chosen.data)
    np.testing.assert_array_equal(cuda.as_numpy(chosen.data), np.abs(q))
    chosen = F.where(condition, dev.put(q), 0.0)  # device arrays as constants
    assert dev.is_device(chosen.data)
    np.testing.assert_array_equal(cuda.as_numpy(chosen.data), np.maximum(q, 0))


def test_an_integer_index_out_of_range_is_refused_on_the_device(xp_device):
    # CuPy takes position 3 of 3 as position 0: other values, and gradients to them
    x = Variable(xp_device.put(np.arange(3.0)))
    with pytest.raises(IndexError, match=r'^GetItem: index 3 is out of bounds for axis 0'):
        x[np.array([1, 3])]

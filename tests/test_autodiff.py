"""The function transforms of dezero.autodiff against closed forms, against each other,
and for what they must leave alone (the caller's Variables, the config, the dtype)."""

import gc
import weakref

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Parameter, Variable
from dezero.autodiff import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp

ROSEN_HESSIAN_AT_ONE = np.array([[802.0, -400.0], [-400.0, 200.0]])
A = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])  # not symmetric, 2 x 3


def rosen(x):
    """Rosenbrock's function of a 2-vector."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def rosen2(a, b):
    """Rosenbrock's function of two scalars."""
    return (1 - a) ** 2 + 100 * (b - a**2) ** 2


def squash(x):
    """R^3 -> R^2, tanh(A x): a Jacobian that is neither square nor symmetric."""
    return F.tanh(F.matmul(A, F.reshape(x, (3, 1))).reshape(2))


def squash_jacobian(x):
    return (1 - np.tanh(A @ x) ** 2)[:, None] * A


def wiggle(x):
    """A scalar function of a 3-vector with a dense, non-constant Hessian."""
    return F.sum(F.tanh(x) * F.sin(x[::-1])) + F.sum(x) ** 3 / 10


# ---- closed forms ---------------------------------------------------------------------
def test_rosenbrock_gradient_and_hessian_of_a_vector():
    x0 = np.array([-1.2, 1.0])
    # df/dx0 = -2(1 - x0) - 400 x0 (x1 - x0^2), df/dx1 = 200 (x1 - x0^2)
    np.testing.assert_allclose(grad(rosen)(x0), [-215.6, -88.0], rtol=1e-12)
    np.testing.assert_allclose(grad(rosen)(np.ones(2)), [0.0, 0.0], atol=0)
    h = hessian(rosen)(np.array([1.0, 1.0]))
    assert isinstance(h, np.ndarray) and h.shape == (2, 2)
    np.testing.assert_allclose(h, ROSEN_HESSIAN_AT_ONE, rtol=1e-12)
    # and elsewhere: [[2 - 400 (x1 - 3 x0^2), -400 x0], [-400 x0, 200]]
    np.testing.assert_allclose(
        hessian(rosen)(x0), [[2 - 400 * (1 - 3 * 1.44), 480.0], [480.0, 200.0]], rtol=1e-12
    )


def test_rosenbrock_hessian_of_two_scalars_is_a_tuple_of_tuples():
    h = hessian(rosen2, argnums=(0, 1))(1.0, 1.0)
    assert isinstance(h, tuple) and all(isinstance(row, tuple) and len(row) == 2 for row in h)
    assert all(part.shape == () for row in h for part in row)
    np.testing.assert_allclose(np.array(h, dtype=float), ROSEN_HESSIAN_AT_ONE, rtol=1e-12)
    assert float(hessian(rosen2, argnums=1)(1.0, 1.0)) == 200.0


def test_softmax_jacobian_is_diag_s_minus_s_s_transposed():
    x = np.array([0.3, -1.2, 2.0, 0.1])
    s = np.exp(x) / np.exp(x).sum()
    j = jacobian(lambda v: F.softmax(v, axis=0))(x)
    np.testing.assert_allclose(j, np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-15)

    # a batch of rows: shape y.shape + x.shape, rows independent of each other
    xb = np.stack([x, -x])
    jb = jacobian(F.softmax)(xb)
    assert jb.shape == (2, 4, 2, 4)
    np.testing.assert_allclose(jb[0, :, 0, :], j, rtol=1e-12, atol=1e-15)
    assert np.all(jb[0, :, 1, :] == 0) and np.all(jb[1, :, 0, :] == 0)


def test_jacobian_of_a_nonsquare_map_several_arguments_and_outputs():
    x = np.array([0.2, -0.4, 0.9])
    np.testing.assert_allclose(jacobian(squash)(x), squash_jacobian(x), rtol=1e-12)

    def two(a, b):
        return a * b, F.sum(a) + 2 * b

    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    (da1, db1), (da2, db2) = jacobian(two, argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(da1, np.diag(b))
    np.testing.assert_array_equal(db1, np.diag(a))
    np.testing.assert_array_equal(da2, np.ones((2, 2)))
    np.testing.assert_array_equal(db2, 2 * np.eye(2))
    # an output that does not depend on the argument: zeros of the right shape
    assert jacobian(lambda a, b: b * 2.0)(a, b).tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_value_and_grad_and_argnums():
    def f(a, b, c):
        return a * b**2 + c

    a, b, c = np.array(3.0), np.array(2.0), np.array(7.0)
    value, g = value_and_grad(f)(a, b, c)
    assert float(value) == 19.0 and float(g) == 4.0
    value, (ga, gb) = value_and_grad(f, argnums=(0, 1))(a, b, c)
    assert (float(value), float(ga), float(gb)) == (19.0, 4.0, 12.0)
    assert float(grad(f, argnums=-1)(a, b, c)) == 1.0
    gb, ga = grad(f, argnums=(1, 0))(a, b, c)
    assert (float(ga), float(gb)) == (4.0, 12.0)
    # arguments not differentiated may be anything the function accepts
    assert float(grad(lambda x, n: x**n, argnums=0)(np.array(2.0), 3)) == 12.0
    # a function that ignores its argument has a zero gradient
    assert grad(lambda x: np.array(1.0))(np.array([1.0, 2.0])).tolist() == [0.0, 0.0]


def test_keyword_arguments_are_passed_through():
    assert float(grad(lambda x, power=2: x**power)(3.0, power=3)) == 27.0


def test_hessian_matches_finite_differences_of_the_gradient():
    x = np.array([0.3, -0.7, 1.1])
    eps = 1e-6
    g = grad(wiggle)
    numeric = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    h = hessian(wiggle)(x)
    np.testing.assert_allclose(h, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(h, h.T, rtol=1e-12)


# ---- the transforms agree with each other ---------------------------------------------
def test_hvp_equals_hessian_times_v():
    x = np.array([0.3, -0.7, 1.1])
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(hvp(wiggle, x, v), hessian(wiggle)(x) @ v, rtol=1e-12)
    np.testing.assert_allclose(
        hvp(rosen, np.ones(2), np.array([1.0, 2.0])), ROSEN_HESSIAN_AT_ONE @ [1.0, 2.0], rtol=1e-12
    )
    # several arguments: H v by blocks
    h = np.array(hessian(rosen2, argnums=(0, 1))(0.5, -0.3), dtype=float)
    parts = hvp(rosen2, (0.5, -0.3), (np.array(1.0), np.array(3.0)))
    assert isinstance(parts, tuple) and len(parts) == 2
    np.testing.assert_allclose(np.array(parts, dtype=float), h @ [1.0, 3.0], rtol=1e-12)


def test_vjp_and_jvp_are_products_with_the_jacobian():
    x = np.array([0.2, -0.4, 0.9])
    jac = squash_jacobian(x)
    y, pullback = vjp(squash, x)
    np.testing.assert_allclose(y, np.tanh(A @ x), rtol=1e-12)
    for u in (np.array([1.0, 0.0]), np.array([0.5, -3.0])):  # pullback reusable
        (gx,) = pullback(u)
        np.testing.assert_allclose(gx, u @ jac, rtol=1e-12)
    v = np.array([1.0, 2.0, -1.0])
    y2, jv = jvp(squash, x, v)
    np.testing.assert_allclose(y2, y, rtol=0)
    np.testing.assert_allclose(jv, jac @ v, rtol=1e-12)


def test_vjp_and_jvp_with_several_inputs_and_outputs():
    def f(a, b):
        return a * b, F.sum(F.sin(a))

    a, b = np.array([0.1, 0.2]), np.array([3.0, -1.0])
    (ja1, jb1), (ja2, jb2) = jacobian(f, argnums=(0, 1))(a, b)
    (y1, y2), pullback = vjp(f, a, b)
    np.testing.assert_allclose(y1, a * b)
    u1, u2 = np.array([1.0, 2.0]), np.array(-0.5)
    ga, gb = pullback((u1, u2))
    np.testing.assert_allclose(ga, u1 @ ja1 + u2 * ja2, rtol=1e-12)
    np.testing.assert_allclose(gb, u1 @ jb1 + u2 * jb2, rtol=1e-12)

    va, vb = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    (z1, z2), (t1, t2) = jvp(f, (a, b), (va, vb))
    np.testing.assert_allclose(t1, ja1 @ va + jb1 @ vb, rtol=1e-12)
    np.testing.assert_allclose(t2, ja2 @ va + jb2 @ vb, rtol=1e-12)
    # an output that does not depend on the inputs has a zero tangent
    _, t = jvp(lambda a: np.array([1.0, 2.0]), a, va)
    assert t.tolist() == [0.0, 0.0]


# ---- composition ----------------------------------------------------------------------
@pytest.mark.parametrize(
    'f, d2',
    [
        (F.sin, lambda x: -np.sin(x)),
        (F.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
        (lambda x: x**3, lambda x: 6 * x),
    ],
    ids=['sin', 'tanh', 'cube'],
)
def test_grad_of_grad_is_the_second_derivative(f, d2):
    for x in (-1.3, 0.4, 2.0):
        assert float(grad(grad(f))(np.array(x))) == pytest.approx(d2(x), rel=1e-12)


def test_third_derivative_and_closures_over_outer_variables():
    assert float(grad(grad(grad(lambda x: x**3)))(np.array(0.7))) == pytest.approx(6.0)
    # d/dx [x * d/dy (x + y)] = d/dx [x] = 1: the inner derivative must not see x
    assert float(grad(lambda x: x * grad(lambda y: x + y)(x))(3.0)) == 1.0
    # d/dx [d/dy (x y^2) at y = x] = d/dx [2 x^2] = 4x
    assert float(grad(lambda x: grad(lambda y: x * y * y)(x))(3.0)) == 12.0


def test_create_graph_gives_variables_that_reach_the_callers_variables():
    w = Parameter(np.array([[1.0, 2.0], [3.0, -4.0]]))

    def f(x):
        return F.sum(F.tanh(F.matmul(x, w)))

    x = Variable(np.array([[0.1, 0.2]]))
    g = grad(f, create_graph=True)(x)
    assert isinstance(g, Variable) and x.grad is None and w.grad is None
    F.sum(g**2).backward()  # a gradient penalty

    x2 = Variable(x.data.copy())
    w2 = Parameter(w.data.copy())
    F.sum(F.tanh(F.matmul(x2, w2))).backward(create_graph=True)
    g2 = x2.grad
    x2.cleargrad()
    w2.cleargrad()
    F.sum(g2**2).backward()
    np.testing.assert_allclose(g.data, g2.data, rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, x2.grad.data, rtol=1e-12)
    np.testing.assert_allclose(w.grad.data, w2.grad.data, rtol=1e-12)


def test_create_graph_for_each_transform_returns_variables():
    x = Variable(np.array([0.3, -0.7, 1.1]))
    v = np.array([1.0, 0.0, 2.0])
    assert isinstance(hessian(wiggle, create_graph=True)(x), Variable)
    assert isinstance(jacobian(squash, create_graph=True)(x), Variable)
    assert isinstance(hvp(wiggle, x, v, create_graph=True), Variable)
    y, pullback = vjp(squash, x, create_graph=True)
    assert isinstance(y, Variable) and isinstance(pullback(np.ones(2))[0], Variable)
    y, t = jvp(squash, x, v, create_graph=True)
    assert isinstance(y, Variable) and isinstance(t, Variable)
    # differentiating hvp once more: d/dx <H(x) v, v> against a difference quotient
    q = lambda x: F.sum(hvp(wiggle, x, v, create_graph=True) * v)  # noqa: E731
    eps, e = 1e-6, np.array([0.0, 1.0, 0.0])
    numeric = (float(q(x.data + eps * e).data) - float(q(x.data - eps * e).data)) / (2 * eps)
    assert grad(q)(x)[1] == pytest.approx(numeric, rel=1e-6)


# ---- what the transforms leave alone --------------------------------------------------
def test_no_trace_on_the_callers_variables():
    a = Variable(np.array([0.5, -1.0]))
    x = a * 2.0  # the caller's x has a history
    w = Parameter(np.array([1.5, 2.5]))
    w.grad = old_w_grad = Variable(np.array([9.0, 9.0]))
    creator, generation = x.creator, x.generation
    kept = []

    def f(x):
        h = F.tanh(x * w)
        kept.append(weakref.ref(h))
        return F.sum(h * h)

    for transform in (grad(f), hessian(f), jacobian(f), value_and_grad(f)):
        transform(x)
    hvp(f, x, np.ones(2))
    _, pullback = vjp(f, x)
    pullback(np.array(1.0))
    del pullback
    jvp(f, x, np.ones(2))
    assert x.grad is None and a.grad is None
    assert w.grad is old_w_grad and w.grad.data.tolist() == [9.0, 9.0]
    assert x.creator is creator and x.generation == generation
    gc.collect()
    assert kept and all(ref() is None for ref in kept)  # no graph kept alive


def test_results_are_fresh_writable_arrays():
    data = np.array([1.0, 2.0])
    value, g = value_and_grad(lambda x: F.sum(x))(data)
    g += 1.0  # not a read-only broadcast view
    assert g.tolist() == [2.0, 2.0]
    value, g = value_and_grad(lambda x: x)(np.array(3.0))
    value += 1.0
    assert float(grad(lambda x: x)(np.array(3.0))) == 1.0
    assert data.tolist() == [1.0, 2.0]


def test_works_under_no_grad():
    x = Variable(np.array([-1.2, 1.0]))
    with dezero.no_grad():
        g = grad(rosen)(x)
        h = hessian(rosen)(np.ones(2))
        t = hvp(rosen, np.ones(2), np.array([1.0, 0.0]))
        _, jv = jvp(squash, (np.ones(3),), (np.ones(3),))
        assert dezero.Config.enable_backprop is False
    np.testing.assert_allclose(g, [-215.6, -88.0], rtol=1e-12)
    np.testing.assert_allclose(h, ROSEN_HESSIAN_AT_ONE, rtol=1e-12)
    np.testing.assert_allclose(t, [802.0, -400.0], rtol=1e-12)
    np.testing.assert_allclose(jv, squash_jacobian(np.ones(3)) @ np.ones(3), rtol=1e-12)
    assert dezero.Config.enable_backprop is True


def test_float32_stays_float32():
    x = np.array([0.3, -0.7, 1.1], dtype=np.float32)
    v = np.array([1.0, 0.0, 2.0])  # float64 tangent: cast to x's dtype
    f = lambda x: F.sum(F.tanh(x) * 2.0) + F.sum(x**3)  # noqa: E731
    assert grad(f)(x).dtype == np.float32
    assert grad(grad(lambda x: F.tanh(x) * 0.5))(np.float32(0.2)).dtype == np.float32
    assert hessian(f)(x).dtype == np.float32
    assert hvp(f, x, v).dtype == np.float32
    assert jacobian(F.tanh)(x).dtype == np.float32
    y, pullback = vjp(F.tanh, x)
    assert y.dtype == np.float32 and pullback(np.ones(3))[0].dtype == np.float32
    y, t = jvp(F.tanh, x, v)
    assert y.dtype == t.dtype == np.float32


def test_detect_anomaly_checks_the_gradients_of_the_transforms():
    from dezero.anomaly import AnomalyError

    f = lambda x: F.sqrt(x)  # noqa: E731  (f'(0) = inf)
    with np.errstate(divide='ignore'):
        assert np.isinf(grad(f)(np.array(0.0)))  # no check outside the block
        with dezero.detect_anomaly(), pytest.raises(AnomalyError, match='(?s)Sqrt.*backward'):
            grad(f)(np.array(0.0))


# ---- errors ---------------------------------------------------------------------------
def test_grad_of_a_non_scalar_output_is_refused():
    with pytest.raises(
        ValueError,
        match=r'grad\(tanh\): the function must return a '
        r'scalar .*shape \(3,\).*jacobian',
    ):
        grad(F.tanh)(np.ones(3))
    with pytest.raises(ValueError, match='must return a scalar'):
        value_and_grad(lambda x: (F.sum(x), F.sum(x)))(np.ones(3))
    with pytest.raises(ValueError, match='must return a scalar'):
        hessian(F.tanh)(np.ones(3))


@pytest.mark.parametrize(
    'argnums, error, message',
    [
        (1.0, TypeError, 'argnums must be an int or a non-empty tuple of ints, got 1.0'),
        ([0, 1], TypeError, r'got \[0, 1\]'),
        ((), TypeError, r'got \(\)'),
        (True, TypeError, 'got True'),
    ],
)
def test_bad_argnums_are_refused_when_transforming(argnums, error, message):
    for transform in (grad, value_and_grad, jacobian, hessian):
        with pytest.raises(error, match=message):
            transform(rosen2, argnums=argnums)


@pytest.mark.parametrize(
    'argnums, message',
    [
        (2, 'asks for argument 2, but the function was called with 2 positional arguments'),
        ((0, -3), 'asks for argument -3'),
        ((0, -2), 'names an argument twice'),
    ],
)
def test_bad_argnums_are_refused_when_called(argnums, message):
    with pytest.raises(ValueError, match=message):
        grad(rosen2, argnums=argnums)(1.0, 1.0)


def test_bad_inputs_and_outputs_are_refused():
    with pytest.raises(
        TypeError,
        match=r'grad\(rosen\): argument 0 has dtype int64.*'
        r'floating-point',
    ):
        grad(rosen)(np.array([1, 2], dtype=np.int64))
    with pytest.raises(
        TypeError,
        match=r'argument 0 is of type list; expected a '
        r'Variable, a NumPy array',
    ):
        grad(rosen)([1.0, 2.0])
    with pytest.raises(ValueError, match='holding no data'):
        grad(rosen)(Variable(None))
    with pytest.raises(TypeError, match='returned an object of type str'):
        grad(lambda x: 'oops')(1.0)
    with pytest.raises(TypeError, match='expected a function, got int'):
        grad(3)


@pytest.mark.parametrize(
    'call, error, message',
    [
        (lambda: hessian(rosen2, argnums=2)(1.0, 1.0), ValueError, 'asks for argument 2'),
        (lambda: hessian(rosen2, argnums=(0, -2))(1.0, 1.0), ValueError, 'names an argument'),
        (lambda: hessian(rosen)(np.array([1, 2])), TypeError, 'argument 0 has dtype int64'),
        (lambda: hessian(rosen)([1.0, 2.0]), TypeError, 'argument 0 is of type list'),
        (lambda: hessian(F.tanh)(np.ones(3)), ValueError, r'must return a scalar .*\(3,\)'),
        (lambda: hessian(lambda x: (x, x))(1.0), ValueError, 'must return a scalar'),
        (lambda: hessian(lambda x: 'oops')(1.0), TypeError, 'returned an object of type str'),
        (lambda: hvp(F.tanh, np.ones(3), np.ones(3)), ValueError, 'must return a scalar'),
        (lambda: hvp(lambda x: 'oops', 1.0, 1.0), TypeError, 'returned an object of type'),
    ],
)
def test_errors_of_hessian_and_hvp_name_them_not_what_they_are_made_of(call, error, message):
    # they named jacobian(grad(f)) or grad(f)
    with pytest.raises(error, match=rf'^(hessian|hvp)\((rosen2?|tanh|<lambda>)\): .*{message}'):
        call()


def test_mismatched_tangents_and_cotangents_are_refused():
    x = np.ones(3)
    with pytest.raises(
        ValueError,
        match=r'hvp\(wiggle\): v has shape \(2,\); expected '
        r'shape \(3,\)',
    ):
        hvp(wiggle, x, np.ones(2))
    with pytest.raises(ValueError, match='v must match x'):
        hvp(rosen2, (1.0, 1.0), np.ones(2))
    _, pullback = vjp(squash, x)
    with pytest.raises(
        ValueError,
        match=r'pullback: u has shape \(3,\); expected shape '
        r'\(2,\)',
    ):
        pullback(np.ones(3))
    with pytest.raises(ValueError, match='u must match the output'):
        pullback((np.ones(2), np.ones(2)))
    with pytest.raises(ValueError, match=r'jvp\(squash\): vs has shape \(2,\)'):
        jvp(squash, x, np.ones(2))
    with pytest.raises(ValueError, match='vs must match xs'):
        jvp(squash, (x,), np.ones(3))
    with pytest.raises(ValueError, match='at least one argument'):
        vjp(squash)


def test_a_variable_made_under_no_grad_gets_a_gradient_from_a_connected_transform():
    # a value computed under no_grad() is a leaf no graph leads back from: a
    # transform whose result stays in a graph must still differentiate with respect
    # to it
    with dezero.no_grad():
        c = Variable(np.array([1.0, 2.0])) * 2
    g = grad(lambda a: F.sum(a**2), create_graph=True)(c)
    np.testing.assert_array_equal(g.data, [4.0, 8.0])
    outer = grad(lambda w: F.sum(w * grad(lambda a: F.sum(a**2))(c)))(np.ones(2))
    np.testing.assert_array_equal(outer, [4.0, 8.0])
    j = jacobian(lambda a: a**2, create_graph=True)(c)
    np.testing.assert_array_equal(j.data, np.diag([4.0, 8.0]))


def test_a_float32_argument_gets_float32_derivatives_from_float64_arithmetic():
    c = np.array([1.0, 2.0, 3.0])
    x = np.array([1.0, 2.0, 3.0], np.float32)
    g = grad(lambda a: F.sum(a * a * c))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * x * c)
    j = jacobian(lambda a: a * c)(x)
    assert j.dtype == np.float32
    np.testing.assert_array_equal(j, np.diag(c))
    # and so with create_graph, whose results are Variables (they were float64)
    g = grad(lambda a: F.sum(a * a * c), create_graph=True)(x)
    assert g.dtype == np.float32 and g.creator is not None
    j = jacobian(lambda a: a * c, create_graph=True)(x)
    assert j.dtype == np.float32
    np.testing.assert_array_equal(j.data, np.diag(c))
    assert hessian(lambda a: F.sum(a * a * c))(x).dtype == np.float32
    _, pullback = vjp(lambda a: a * c, x)
    (gx,) = pullback(np.ones(3))
    assert gx.dtype == np.float32


@pytest.mark.parametrize(
    'call, name',
    [
        (lambda f, flag: grad(f, create_graph=flag), 'grad'),
        (lambda f, flag: value_and_grad(f, create_graph=flag), 'value_and_grad'),
        (lambda f, flag: jacobian(f, create_graph=flag), 'jacobian'),
        (lambda f, flag: hessian(f, create_graph=flag), 'hessian'),
        (lambda f, flag: hvp(f, np.ones(2), np.ones(2), create_graph=flag), 'hvp'),
        (lambda f, flag: vjp(f, np.ones(2), create_graph=flag), 'vjp'),
        (lambda f, flag: jvp(f, np.ones(2), np.ones(2), create_graph=flag), 'jvp'),
    ],
)
def test_create_graph_of_every_transform_is_true_or_false(call, name):
    def f(x):
        return F.sum(x**3)

    with pytest.raises(
        TypeError, match=rf"{name}\(f\): create_graph must be True or False, got 'False'"
    ):
        call(f, 'False')
    result = call(f, np.False_)  # a NumPy bool is a bool: arrays, not Variables
    if name == 'vjp':
        result = result[1](np.array(1.0))
    parts = result if isinstance(result, tuple) else (result,)
    assert not any(isinstance(p, Variable) for p in parts)


# ---- a pullback decides when it is called ---------------------------------------------
def test_a_pullback_made_at_top_level_is_differentiable_inside_another_transform():
    # it returned arrays there, so the outer transform took it for a constant: zeros
    x0, u0 = np.array([0.3, -0.8]), np.array([1.0, 2.0])
    _, pullback = vjp(F.sin, x0)
    np.testing.assert_allclose(grad(lambda u: F.sum(pullback(u)[0]))(u0), np.cos(x0), rtol=1e-12)
    np.testing.assert_allclose(jacobian(lambda u: pullback(u)[0])(u0), np.diag(np.cos(x0)))
    (gx,) = pullback(u0)  # and at top level it still gives arrays
    assert isinstance(gx, np.ndarray)
    np.testing.assert_allclose(gx, u0 * np.cos(x0), rtol=1e-12)


def test_a_pullback_made_inside_a_transform_gives_arrays_when_called_at_top_level():
    kept = {}

    def f(x):
        _, kept['pullback'] = vjp(F.sin, x)
        return F.sum(x**2)

    grad(f)(np.array([0.5]))
    (gx,) = kept['pullback'](np.ones(1))  # it gave a Variable
    assert isinstance(gx, np.ndarray)
    np.testing.assert_allclose(gx, np.cos([0.5]), rtol=1e-12)


def test_a_pullback_works_under_no_grad():
    with dezero.no_grad():
        _, pullback = vjp(F.sin, np.array([0.3]))
        (gx,) = pullback(np.array([2.0]))
    np.testing.assert_allclose(gx, 2 * np.cos([0.3]), rtol=1e-12)
    with dezero.no_grad():
        _, pullback = vjp(F.sin, np.array([0.3]), create_graph=True)
        u = Variable(np.array([2.0]))
        (gx,) = pullback(u)
    assert isinstance(gx, Variable) and gx.creator is not None
    assert dezero.Config.enable_backprop is True


# ---- a function that returns a Variable without data -----------------------------------
@pytest.mark.parametrize(
    'call, name',
    [
        (lambda f: grad(f)(np.ones(2)), 'grad'),
        (lambda f: value_and_grad(f)(np.ones(2)), 'value_and_grad'),
        (lambda f: jacobian(f)(np.ones(2)), 'jacobian'),
        (lambda f: hessian(f)(np.ones(2)), 'hessian'),
        (lambda f: hvp(f, np.ones(2), np.ones(2)), 'hvp'),
        (lambda f: vjp(f, np.ones(2)), 'vjp'),
        (lambda f: jvp(f, np.ones(2), np.ones(2)), 'jvp'),
    ],
)
def test_a_function_returning_a_variable_without_data_is_refused(call, name):
    def empty(x):
        return Variable(None)

    with pytest.raises(
        TypeError, match=rf'^{name}\(empty\): the function returned a Variable holding no data'
    ):
        call(empty)
    with pytest.raises(TypeError, match=rf'^{name}\(<lambda>\): the function returned a Variable'):
        call(lambda x: (F.sum(x), Variable(None)))  # one of several outputs


# ---- data changed between the transform and a later backward -----------------------------
def sin_squared(q):
    return F.sum(F.sin(q) ** 2)


@pytest.mark.parametrize(
    'transform',
    [
        lambda x: grad(sin_squared, create_graph=True)(x),
        lambda x: value_and_grad(sin_squared, create_graph=True)(x)[1],
        lambda x: jacobian(lambda q: F.sin(q) ** 2, create_graph=True)(x),
        lambda x: hessian(lambda q: F.sum(F.sin(q) ** 3), create_graph=True)(x),
        lambda x: hvp(sin_squared, x, np.ones(2), create_graph=True),
    ],
    ids=['grad', 'value_and_grad', 'jacobian', 'hessian', 'hvp'],
)
def test_a_recorded_result_refuses_a_backward_after_the_data_changed_in_place(transform):
    x = Variable(np.array([0.0, 1.0]), name='x')
    g = transform(x)
    x.data -= 1  # the array g's graph reads, changed in place
    with pytest.raises(RuntimeError, match=r"the variable 'x' \(shape \(2,\), float64\), which"):
        F.sum(g).backward()


@pytest.mark.parametrize('create_graph', [False, True])
def test_a_pullback_refuses_data_changed_in_place_after_vjp(create_graph):
    x = Variable(np.array([0.0, 1.0]), name='x')
    _, pullback = vjp(F.sin, x, create_graph=create_graph)
    x.data -= 1
    with pytest.raises(RuntimeError, match=r"the variable 'x' .* changed in place"):
        pullback(np.ones(2))


def test_a_pullback_after_the_data_was_replaced_uses_the_values_of_the_forward_pass():
    x = Variable(np.array([0.0, 1.0]))
    _, pullback = vjp(F.sin, x)
    x.data = x.data - 1  # a new array: the one the forward pass used is unchanged
    np.testing.assert_allclose(pullback(np.ones(2))[0], np.cos([0.0, 1.0]))


def test_a_function_changing_its_argument_in_place_changes_the_callers_variable():
    x = Variable(np.array([1.0, 2.0]), name='x')
    loss = F.sum(x * x)  # reads x in its backward

    def shifted(q):
        q.data -= 1  # q views x's array: x's values change too
        return F.sum(q)

    grad(shifted)(x)
    np.testing.assert_array_equal(x.data, [0.0, 1.0])
    with pytest.raises(RuntimeError, match=r"the data of the variable 'x' .* was assigned"):
        loss.backward()


# ---- cotangents and tangents without data, or complex ---------------------------------
@pytest.mark.parametrize(
    'call, words',
    [
        (lambda v: hvp(wiggle, np.ones(3), v), r'hvp\(wiggle\): v is'),
        (lambda v: jvp(F.sin, np.ones(3), v), r'jvp\(sin\): vs is'),
        (lambda v: vjp(F.sin, np.ones(3))[1](v), r'vjp\(sin\) pullback: u is'),
    ],
    ids=['hvp', 'jvp', 'vjp'],
)
def test_a_cotangent_or_tangent_without_data_or_complex_is_named(call, words):
    with pytest.raises(ValueError, match=words + r' a Variable holding no data \(None\)'):
        call(Variable(None))
    with pytest.raises(TypeError, match=words + r' complex128; derivatives are taken of real'):
        call(Variable(np.array([1 + 1j, 1.0, 0.0])))

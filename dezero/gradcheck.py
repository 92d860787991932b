"""Numerical gradients and the checks that compare them with backprop.

``numerical_grad`` uses central differences, (f(x + h) - f(x - h)) / 2h per element;
``gradient_check`` compares it with ``backward()``; ``gradgrad_check`` does the same for
the gradient itself, so that second derivatives are checked against first ones.
"""
import numpy as np

from dezero import cuda
from dezero.core import Variable, as_variable


def _data(y):
    if isinstance(y, Variable):
        return y.data
    return y if cuda.is_array(y) else np.asarray(y)


#: The step of the central differences.  Not a keyword argument of numerical_grad, so
#: that every keyword (a function's own ``eps`` included) reaches the function checked.
EPS = 1e-4


def numerical_grad(f, x, *args, **kwargs):
    """The gradient of ``sum(f(x, *args, **kwargs))`` with respect to the array ``x`` by
    central differences (each element of x moved by ±EPS in turn).

    ``x`` may be an array or a Variable, on the CPU or the GPU (then ``f`` runs on the
    GPU); its data is restored after each probe.  The gradient is a NumPy array.
    """
    eps = EPS
    x_data = x.data if isinstance(x, Variable) else x
    if not cuda.is_array(x_data):
        x_data = np.asarray(x_data)
    if not np.issubdtype(x_data.dtype, np.floating):
        raise TypeError(f'numerical_grad: x must be a floating-point array, got dtype '
                        f'{x_data.dtype}')
    probe = Variable(x_data.copy()) if isinstance(x, Variable) else x_data.copy()
    values = probe.data if isinstance(probe, Variable) else probe
    grad = np.zeros(x_data.shape, x_data.dtype)
    flat = values.reshape(-1)
    for i in range(flat.size):
        original = flat[i].copy()      # CuPy gives a 0-d view, NumPy a scalar
        flat[i] = original + eps
        y_plus = _data(f(probe, *args, **kwargs)).astype(np.float64).sum()
        flat[i] = original - eps
        y_minus = _data(f(probe, *args, **kwargs)).astype(np.float64).sum()
        flat[i] = original
        grad.reshape(-1)[i] = float(y_plus - y_minus) / (2 * eps)
    return grad


def _backprop_grad(f, x, *args, **kwargs):
    """The gradient of sum(f(x)) with respect to x computed by backward(), as a NumPy
    array (x may be on the GPU)."""
    x = Variable(_data(x).copy())
    y = f(x, *args, **kwargs)
    y = as_variable(y)
    y.grad = Variable(cuda.get_array_module(y.data).ones_like(y.data))
    y.backward()
    if x.grad is None:
        return np.zeros(x.shape, x.dtype)
    return cuda.as_numpy(x.grad.data)


def _report(name, analytic, numeric, rtol, atol):
    analytic = cuda.as_numpy(analytic)
    if analytic.shape != numeric.shape:
        print(f'{name}: the backprop gradient has shape {analytic.shape}, expected '
              f'{numeric.shape} (the shape of x)')
        return False
    ok = np.allclose(analytic, numeric, rtol=rtol, atol=atol)
    if not ok:
        err = np.abs(analytic - numeric) - rtol * np.abs(numeric)
        i = np.unravel_index(int(np.argmax(err)), numeric.shape) if numeric.ndim else ()
        i = tuple(int(k) for k in i)
        print(f'{name}: worst mismatch at index {i}: backprop {analytic[i].item()!r}, '
              f'numerical {numeric[i].item()!r} (rtol={rtol}, atol={atol})')
    return bool(ok)


def gradient_check(f, x, *args, rtol=1e-4, atol=1e-5, **kwargs):
    """True when the backprop gradient of ``sum(f(x, *args, **kwargs))`` with respect
    to ``x`` matches the numerical one; on a mismatch the worst element is printed."""
    numeric = numerical_grad(f, x, *args, **kwargs)
    analytic = _backprop_grad(f, x, *args, **kwargs)
    return _report('gradient_check', analytic, numeric, rtol, atol)


def gradgrad_check(f, x, *args, rtol=1e-4, atol=1e-5, seed=0, **kwargs):
    """True when the second derivatives of ``f`` are right.

    With random ``u`` (shaped like f's output) and ``v`` (shaped like x), the scalar
    g(x) = <∇ₓ <f(x), u>, v> is differentiated by backward (through the recorded
    backward pass of f) and by central differences of the first-order gradient; the
    two must agree. ``f`` must itself pass :func:`gradient_check`.

    ``x`` may be on the CPU or the GPU; ``u`` and ``v`` are drawn with NumPy (the same
    for either device, given ``seed``) and moved to the device of ``x``.
    """
    rng = np.random.default_rng(seed)
    x_data = _data(x)
    xp = cuda.get_array_module(x_data)
    y0 = _data(f(Variable(x_data.copy()), *args, **kwargs))
    u = xp.asarray(rng.standard_normal(y0.shape).astype(y0.dtype))
    v = xp.asarray(rng.standard_normal(x_data.shape).astype(x_data.dtype))

    def directional_grad(xv):
        xv = as_variable(xv)
        y = as_variable(f(xv, *args, **kwargs))
        y.grad = Variable(u.copy())
        y.backward(create_graph=True)
        gx = xv.grad
        if gx is None:
            return Variable(xp.zeros((), dtype=x_data.dtype))
        xv.cleargrad()
        return (gx * v).sum()

    numeric = numerical_grad(directional_grad, x_data)
    xv = Variable(x_data.copy())
    g = directional_grad(xv)
    if g.creator is None:      # the gradient does not depend on x at all
        analytic = xp.zeros_like(x_data)
    else:
        g.backward()
        analytic = xp.zeros_like(x_data) if xv.grad is None else xv.grad.data
    return _report('gradgrad_check', analytic, numeric, rtol, atol)

"""PyTorch as a test oracle: the value of a function, its gradients and second
derivatives, from dezero and from PyTorch on the same inputs, to compare.

Both sides compute, for inputs x and fixed random weights w and u (one u per input),
- the value y = f(*x);
- the gradients of <y, w> with respect to every input;
- with ``second=True``, the gradients of sum_i <g_i, u_i> with respect to every input,
  g_i the first-order gradients (second derivatives, mixed ones included).

The tests that use this call ``pytest.importorskip('torch')`` first.
"""

import numpy as np

import dezero.functions as F
from dezero import Variable

#: the tolerances of an agreement with PyTorch, by dtype: float64 to about 1e-10, and
#: float32 to its rounding (a few units in the last place of each value)
TOLERANCES = {
    np.dtype(np.float64): {'rtol': 1e-10, 'atol': 1e-12},
    np.dtype(np.float32): {'rtol': 2e-6, 'atol': 2e-6},
}


def weights(shapes, dtype, seed=7):
    """Random weights, one array of ``dtype`` per shape."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def dezero_derivatives(f, inputs, second=False):
    """(value, first, second) of ``f`` on the arrays ``inputs`` by dezero (``second``
    is None unless asked for)."""
    xs = [Variable(np.array(a)) for a in inputs]
    y = f(*xs)
    (w,) = weights([y.shape], y.dtype)
    F.sum(y * w).backward(create_graph=second)
    first = [x.grad for x in xs]
    if not second:
        return y.data, [g.data for g in first], None
    us = weights([x.shape for x in xs], y.dtype, seed=8)
    for x in xs:
        x.cleargrad()
    sum(F.sum(g * u) for g, u in zip(first, us)).backward()
    grads2 = [np.zeros_like(x.data) if x.grad is None else x.grad.data for x in xs]
    return y.data, [g.data for g in first], grads2


def torch_derivatives(f, inputs, second=False):
    """(value, first, second) of the PyTorch function ``f`` (of tensors) on the arrays
    ``inputs``, as :func:`dezero_derivatives` computes them."""
    import torch

    xs = [torch.tensor(np.array(a), requires_grad=True) for a in inputs]
    y = f(*xs)
    dtype = np.dtype(str(y.dtype).replace('torch.', ''))
    (w,) = weights([tuple(y.shape)], dtype)
    first = torch.autograd.grad((y * torch.from_numpy(w)).sum(), xs, create_graph=second)
    if not second:
        return y.detach().numpy(), [g.detach().numpy() for g in first], None
    us = weights([tuple(x.shape) for x in xs], dtype, seed=8)
    total = sum((g * torch.from_numpy(u)).sum() for g, u in zip(first, us))
    grads2 = torch.autograd.grad(total, xs, allow_unused=True)
    grads2 = [
        np.zeros(tuple(x.shape), dtype) if g is None else g.numpy() for g, x in zip(grads2, xs)
    ]
    return y.detach().numpy(), [g.detach().numpy() for g in first], grads2


def assert_agree(f, torch_f, inputs, second=False, **tolerance):
    """dezero's ``f`` and PyTorch's ``torch_f`` agree on ``inputs`` in value, dtype,
    gradients and (with ``second``) second derivatives, within the tolerances of the
    inputs' dtype (or ``tolerance``)."""
    tol = {**TOLERANCES[np.asarray(inputs[0]).dtype], **tolerance}
    ours = dezero_derivatives(f, inputs, second)
    theirs = torch_derivatives(torch_f, inputs, second)
    for what, a, b in zip(('value', 'first order', 'second order'), ours, theirs):
        if a is None:
            continue
        for i, (u, v) in enumerate(zip(*(([a], [b]) if what == 'value' else (a, b)))):
            where = what if what == 'value' else f'{what}, input {i}'
            assert u.dtype == v.dtype, f'{where}: dtype {u.dtype}, PyTorch {v.dtype}'
            assert u.shape == v.shape, f'{where}: shape {u.shape}, PyTorch {v.shape}'
            np.testing.assert_allclose(u, v, err_msg=where, **tol)

"""Numerical gradients and the checks that compare them with backprop.

``numerical_grad`` uses central differences, (f(x + h) - f(x - h)) / 2h per element;
``gradient_check`` compares the gradient of <f(x), u> so computed, for random weights
u, with the one ``backward()`` gives from u; ``gradgrad_check`` does the same for the
gradient itself, so that second derivatives are checked against first ones.

The checks run the function under test in float64 by default: ``x`` (float32 and
integer arrays included) is converted before anything is evaluated, so a function is
judged by its formula rather than by float32 rounding, which the differences
amplify; a float32 layer then computes the float64 input in float64 as well, rather
than converting it to float32 (see :func:`dezero.core.keeping_wide_inputs`).
``dtype=None`` keeps the dtype of ``x`` instead, a stricter check of what the function
does in that precision; the differences then take a step that fits it
(see :func:`_central_differences`).

All three refuse, with an error naming the check and the argument, an ``f`` that is not
callable, an ``x`` that holds no real numbers (None, text, objects, complex numbers)
and a tolerance that is negative, NaN or no number.
"""

import contextlib
import numbers

import numpy as np

from dezero import cuda
from dezero.array_ops import attempted_array
from dezero.core import (
    Variable,
    as_variable,
    backprop,
    keeping_wide_inputs,
    plain_array,
    using_config,
)


def _data(y):
    if isinstance(y, Variable):
        return y.data
    return y if cuda.is_array(y) else np.asarray(y)


#: The step of the central differences.  Not a keyword argument of numerical_grad, so
#: that every keyword (a function's own ``eps`` included) reaches the function checked.
EPS = 1e-4


#: The kinds of NumPy dtypes whose values can be probed: bool, int, unsigned, float.
_REAL_KINDS = 'biuf'


def _real_data(name, x):
    """The array of ``x`` (an array, a number, a sequence of numbers or a Variable);
    TypeError naming the check ``name`` when it holds no real numbers."""
    data = attempted_array(x)
    if data is None or data.dtype.kind not in _REAL_KINDS:
        raise TypeError(
            f'{name}: x must be an array, a number or a Variable holding real numbers '
            f'(bool, int or float), got {_describe(x)}'
        )
    if isinstance(data, np.ndarray) and type(data) is not np.ndarray:
        data = plain_array(data, name)  # np.matrix indexes rows where a flat view is read
    return data


def _describe(x):
    """What ``x`` is, for error messages."""
    if isinstance(x, Variable):
        return 'a Variable holding None' if x.data is None else f'a Variable of {x.dtype}'
    if cuda.is_array(x):
        return f'an array of {x.dtype}'
    return 'None' if x is None else f'{type(x).__name__} {x!r:.60}'


def _check_function(name, f):
    """TypeError naming the check ``name`` unless ``f`` is callable."""
    if not callable(f):
        raise TypeError(
            f'{name}: f must be a function of x (a callable), got {type(f).__name__} {f!r:.60}'
        )


def _check_tolerances(name, rtol, atol):
    """TypeError or ValueError naming the check ``name`` unless ``rtol`` and ``atol``
    are real numbers of 0 or more: a negative or NaN tolerance would fail every
    gradient, a correct one included."""
    for arg, value in (('rtol', rtol), ('atol', atol)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f'{name}: {arg} must be a number of 0 or more, got {value!r:.60}')
        if not value >= 0:  # NaN fails this as well
            raise ValueError(f'{name}: {arg} must be a number of 0 or more, got {value!r}')


def _checked_input(name, x, dtype):
    """A fresh C-contiguous copy of the data of ``x`` (array or Variable, CPU or GPU)
    in ``dtype``; ``dtype=None`` keeps its own dtype, which must then be floating point.
    C order lets the probes write through a flat view.  TypeError naming the check
    ``name`` for an ``x`` that holds no real numbers."""
    data = _real_data(name, x)
    if dtype is None:
        if not np.issubdtype(data.dtype, np.floating):
            raise TypeError(
                f'{name}: with dtype=None x keeps its dtype, which must be '
                f'floating point to be probed by ±{EPS}; got {data.dtype}'
            )
        return data.copy(order='C')
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(
            f'{name}: dtype must be a floating-point dtype (or None for the '
            f'dtype of x), got {dtype}'
        )
    return data.astype(dtype, order='C')  # a copy, also when the dtype is the same


def _narrow_step(dtype):
    """The step of central differences in a floating ``dtype`` narrower than float64,
    before it is scaled by |x| above 1: the cube root of the dtype's resolution (see
    :func:`_central_differences`)."""
    return float(np.finfo(dtype).eps) ** (1 / 3)


def _central_differences(values, count, x_data, as_var):
    """The derivatives of the ``count`` numbers ``values(probe)`` returns (a sequence
    of floats) with respect to the floating-point array ``x_data``, by central
    differences, as a float64 array of shape ``(count,) + x_data.shape``.  ``x_data``
    is probed in its own dtype (in place; each element is restored); ``probe`` is a
    Variable holding it when ``as_var``, else the array itself.

    In float64 each element moves by ±:data:`EPS`.  A narrower dtype cannot hold such a
    step (1 + 1e-4 is 1 in float16, and in float32 the step's rounding swamps it), so
    there the step is the cube root of the dtype's resolution (about 5e-3 in float32,
    0.1 in float16), times |x| when that is above 1, and the difference is divided by
    the two points as stored."""
    probe = Variable(x_data) if as_var else x_data
    flat = x_data.reshape(-1)
    grad = np.zeros((count, flat.size), np.float64)
    dtype = flat.dtype
    narrow = dtype.itemsize < 8
    for i in range(flat.size):
        original = flat[i].copy()  # CuPy gives a 0-d view, NumPy a scalar
        if narrow:
            step = _narrow_step(dtype) * max(1.0, abs(float(original)))
            up, down = dtype.type(float(original) + step), dtype.type(float(original) - step)
            width = float(up) - float(down)
        else:
            up, down, width = original + EPS, original - EPS, 2 * EPS
        flat[i] = up
        plus = values(probe)
        flat[i] = down
        minus = values(probe)
        flat[i] = original
        grad[:, i] = [(p - m) / width for p, m in zip(plus, minus)]
    return grad.reshape((count,) + x_data.shape)


def numerical_grad(f, x, *args, **kwargs):
    """The gradient of ``sum(f(x, *args, **kwargs))`` with respect to ``x`` by central
    differences (each element of x moved by ±EPS in turn), as a float64 NumPy array.

    ``f`` is evaluated in float64: it receives a float64 copy of x (integer and float32
    arrays included), a Variable when x is one, else an array.  It returns a Variable,
    an array or a number, or a tuple or list of them (whose sums are added); anything
    else is refused with a TypeError.  x may be on the CPU or the GPU (then ``f`` runs
    on the GPU) and is never modified; the gradient has the shape of x (a 0-d array
    for a 0-d x).
    """
    name = 'numerical_grad'
    _check_function(name, f)
    x_data = _checked_input(name, x, np.float64)

    def total(probe):
        outputs = _outputs(name, f(probe, *args, **kwargs))
        return (sum(float(y.data.astype(np.float64).sum()) for y in outputs),)

    with keeping_wide_inputs():  # (a float32 layer would round the probe to float32)
        return _central_differences(total, 1, x_data, isinstance(x, Variable))[0, ...]


def _outputs(name, y):
    """The outputs of ``f``, given its result ``y``, as a list of Variables: ``y`` is
    one Variable, array or number, or a tuple or list of them (as a Function of several
    outputs returns them).  TypeError naming the check ``name`` otherwise."""
    items = list(y) if isinstance(y, (tuple, list)) else [y]
    try:
        outputs = [as_variable(item) for item in items]
    except TypeError:
        outputs = []
    if not outputs or any(v.data is None for v in outputs):
        raise TypeError(
            f'{name}: f must return a Variable or an array, or a tuple or list of them '
            f'(one per output of a function of several outputs), got {_describe(y)}'
        )
    return outputs


def _weights(rng, outputs):
    """Random weights ``u``, one array per output, of its shape and device, in its
    dtype (float64 for integer outputs).  Each is uniform in [0.5, 1.5] with a random
    sign: a backward that ignores its incoming gradient, or uses it in the wrong order
    or place, then gets the gradient of <f(x), u> wrong, where ones would hide that;
    and no element of an output is weighed by a value near 0, which would leave it
    unchecked."""
    weights = []
    for y in outputs:
        data = y.data
        dtype = data.dtype if data.dtype.kind == 'f' else np.float64
        u = rng.uniform(0.5, 1.5, data.shape) * rng.choice([-1.0, 1.0], data.shape)
        weights.append(cuda.get_array_module(data).asarray(u.astype(dtype)))
    return weights


def _arrays(name, outputs, like):
    """The arrays of ``outputs``, f's outputs near x, in float64.  ValueError naming
    the check ``name`` unless they have the shapes of the arrays ``like`` (those of the
    outputs at x)."""
    arrays = [_data(y) for y in outputs]
    if [a.shape for a in arrays] != [u.shape for u in like]:
        raise ValueError(
            f'{name}: f gave outputs of shapes {[tuple(u.shape) for u in like]} at '
            f'x but {[tuple(a.shape) for a in arrays]} near it; f must give outputs of '
            f'the same shapes for every x'
        )
    return [a.astype(np.float64) for a in arrays]


def _inner(name, outputs, weights64):
    """<outputs, weights> in float64 (``weights64``: the weights as float64 arrays):
    the sum over the outputs of f of their elements times their weights."""
    arrays = _arrays(name, outputs, weights64)
    return sum(float((a * u).sum()) for a, u in zip(arrays, weights64))


def _weighted_grad(outputs, weights, x, create_graph=False):
    """The gradient of <outputs, weights> with respect to ``x`` alone, by the engine's
    reverse pass seeded with copies of the weights, or None where none reaches x: no
    ``.grad`` is set, so parameters that ``f`` uses are left as they were."""
    seeds = [Variable(u.copy()) for u in weights]
    return backprop(outputs, seeds, create_graph=create_graph, targets=[x]).get(x)


def _first_derivatives(name, f, x_data, as_var, rng, args, kwargs):
    """The backprop and numerical gradients of <f(x), u> at ``x_data`` for random ``u``
    (see :func:`_weights`), as arrays (the backprop one on the device of x, None when
    no gradient reaches x)."""
    x = Variable(x_data)
    outputs = _outputs(name, f(x, *args, **kwargs))
    weights = _weights(rng, outputs)
    gx = _weighted_grad(outputs, weights, x)
    analytic = None if gx is None else _data(gx)
    weights64 = [u.astype(np.float64) for u in weights]

    def inner(probe):
        return (_inner(name, _outputs(name, f(probe, *args, **kwargs)), weights64),)

    numeric = _central_differences(inner, 1, x_data.copy(), as_var)[0]
    return analytic, numeric


def _report(name, analytic, numeric, rtol, atol):
    """True when the backprop derivatives ``analytic`` (None where no gradient
    reached x) match the numerical ones; else False, with the worst mismatch printed."""
    if analytic is None:
        if np.allclose(numeric, 0, rtol=rtol, atol=atol):
            return True  # f does not depend on x
        print(
            f"{name}: f's output is not connected to x in the graph: no gradient "
            f'reached x, but the numerical one is not zero (up to '
            f'{float(np.abs(numeric).max())!r}); does f compute with x.data or NumPy '
            f'functions, or under no_grad()?'
        )
        return False
    analytic = cuda.as_numpy(analytic)
    if analytic.shape != numeric.shape:
        print(
            f'{name}: the backprop gradient has shape {analytic.shape}, expected '
            f'{numeric.shape} (the shape of x)'
        )
        return False
    ok = np.allclose(analytic, numeric, rtol=rtol, atol=atol)
    if not ok:
        err = np.abs(analytic - numeric) - rtol * np.abs(numeric)
        i = np.unravel_index(int(np.argmax(err)), numeric.shape) if numeric.ndim else ()
        i = tuple(int(k) for k in i)
        print(
            f'{name}: worst mismatch at index {i}: backprop {analytic[i].item()!r}, '
            f'numerical {numeric[i].item()!r} (rtol={rtol}, atol={atol})'
        )
    return bool(ok)


def gradient_check(f, x, *args, rtol=1e-4, atol=1e-5, dtype=np.float64, **kwargs):
    """True when the backprop gradient of ``<f(x, *args, **kwargs), u>`` with respect
    to ``x`` matches the numerical one, ``u`` being random weights of a fixed seed
    (away from 0, of random signs), drawn by a generator of the check's own; on a
    mismatch the worst element is printed.  Weighing f's outputs, rather than summing
    them, checks how backward uses the gradient it is given, not only its value for
    a gradient of ones.  ``f`` returns a Variable or an array, or a tuple or list of
    them (a function of several outputs, each weighed).

    Both gradients are taken with ``f`` evaluated on a copy of x converted to ``dtype``
    (float64 by default, whatever the dtype of x, integers included); ``dtype=None``
    keeps the dtype of x, which then must be floating point and calls for tolerances
    that fit its precision.  x itself (an array or a Variable, on the CPU or the GPU)
    is never modified.  ``args`` and the other keywords are passed to f as they are
    (a keyword of f named ``dtype`` must be bound beforehand, e.g. with a lambda).
    Backprop is enabled while f runs, also under :func:`dezero.no_grad`.  When no
    gradient reaches x (f computes with ``x.data``, say) but the numerical one is not
    zero, the message says that f's output is not connected to x.

    A layer whose parameters are made on its first call, in the dtype of that call's
    input (``BatchNorm``), makes them in ``dtype`` if the check calls it first: a
    fresh float32 BatchNorm checked in float64 stays float64.  Call such a layer once
    on an input of its own dtype before checking it (Linear, Conv2d and LayerNorm take
    their dtype from their ``dtype`` argument, and are not concerned).
    """
    _check_function('gradient_check', f)
    _check_tolerances('gradient_check', rtol, atol)
    x_data = _checked_input('gradient_check', x, dtype)
    rng = np.random.default_rng(0)
    with using_config('enable_backprop', True), _in_the_checks_dtype(dtype):
        analytic, numeric = _first_derivatives(
            'gradient_check', f, x_data, isinstance(x, Variable), rng, args, kwargs
        )
    return _report('gradient_check', analytic, numeric, rtol, atol)


def _in_the_checks_dtype(dtype):
    """Where a check evaluates ``f``: with a ``dtype`` given (float64 by default),
    layers compute the wider input in its dtype rather than converting it to theirs
    (a float32 layer would round x + h to float32, and the differences would measure
    that rounding); with None, as they always do."""
    return contextlib.nullcontext() if dtype is None else keeping_wide_inputs()


def gradgrad_check(f, x, *args, rtol=1e-4, atol=1e-5, seed=0, dtype=np.float64, **kwargs):
    """True when the first and second derivatives of ``f`` are right.

    With random ``u`` (shaped like f's output) and ``v`` (shaped like x), drawn as in
    :func:`gradient_check` by a generator of the check's own seeded with ``seed``, the
    gradient ∇ₓ <f(x), u> is compared with central differences of <f(x), u> (the first
    derivatives), and the scalar g = <∇ₓ <f(x), u>, v> is differentiated by backward
    (through the recorded backward pass of f) with respect to x and to u.  By x it must
    match central differences of the first-order gradient (the second derivatives); by
    u it is J v, the derivative of f along v, and must match (f(x + h v) - f(x - h v)) / 2h
    (this catches a backward whose result is right but whose recorded graph does not
    lead back to the gradient it was given).  A mismatch prints its worst element,
    naming the part.  ``f`` returns what it returns for :func:`gradient_check`.

    As in :func:`gradient_check`, ``f`` is evaluated on x converted to ``dtype``
    (float64 by default; None keeps the floating dtype of x), with backprop enabled.
    ``x`` may be on the CPU or the GPU; ``u`` and ``v`` are drawn with NumPy (the same
    for either device, given ``seed``) and moved to the device of ``x``.
    """
    name = 'gradgrad_check'
    _check_function(name, f)
    _check_tolerances(name, rtol, atol)
    rng = np.random.default_rng(seed)
    x_data = _checked_input(name, x, dtype)
    with using_config('enable_backprop', True), _in_the_checks_dtype(dtype):
        first, second, by_weights = _second_derivatives(f, x_data, rng, args, kwargs)
    first_ok = _report(f'{name} (first derivatives)', *first, rtol, atol)
    if first[0] is None:  # no gradient reaches x: nothing more to differentiate
        return first_ok
    oks = [first_ok, _report(name, *second, rtol, atol)]
    for k, pair in enumerate(by_weights):
        part = f'by the weights of output {k}' if len(by_weights) > 1 else 'by the output weights'
        oks.append(_report(f'{name} (derivatives {part})', *pair, rtol, atol))
    return all(oks)


def _along(x_data, v):
    """Two points x ± h d in the dtype of ``x_data``, the direction d they lie along
    as stored, (x₊ - x₋) / 2h, in that dtype, and h.  In float64 h is :data:`EPS` and
    d is ``v`` (up to rounding); a narrower dtype takes the steps of
    :func:`_central_differences`: h is the cube root of its resolution and d is ``v``
    times max(1, |x|) element by element."""
    xp, dtype = cuda.get_array_module(x_data), x_data.dtype
    wide = x_data.astype(np.float64)
    step = v.astype(np.float64)
    if dtype.itemsize < 8:
        h = _narrow_step(dtype)
        step = step * xp.maximum(1.0, abs(wide))
    else:
        h = EPS
    step = h * step
    # (asarray: arithmetic on 0-d arrays gives NumPy scalars)
    up, down = xp.asarray(wide + step, dtype), xp.asarray(wide - step, dtype)
    direction = (up.astype(np.float64) - down.astype(np.float64)) / (2 * h)
    return up, down, xp.asarray(direction, dtype), h


def _second_derivatives(f, x_data, rng, args, kwargs):
    """The backprop and numerical derivatives, as pairs of arrays, of gradgrad_check's
    <f(x), u> (the first derivatives) and g by x (the second ones) at ``x_data``, and a
    list of pairs, one per output of f, of g by u.  One pass of central differences
    gives the numerical derivatives by x; the backprop ones are None when no gradient
    reaches x."""
    name = 'gradgrad_check'
    xp = cuda.get_array_module(x_data)
    x = Variable(x_data)
    outputs = _outputs(name, f(x, *args, **kwargs))
    u = _weights(rng, outputs)
    (v,) = _weights(rng, [x])
    up, down, v, h = _along(x_data, v)  # v made exactly the direction probed
    u64, v64 = [w.astype(np.float64) for w in u], v.astype(np.float64)

    def inner_and_g(probe):
        """<f(x), u> and g(x) at the array ``probe``, g through the recorded gradient."""
        xv = Variable(probe)
        ys = _outputs(name, f(xv, *args, **kwargs))
        gx = _weighted_grad(ys, u, xv, create_graph=True)
        g = 0.0 if gx is None else float((_data(gx).astype(np.float64) * v64).sum())
        return _inner(name, ys, u64), g

    numeric = _central_differences(inner_and_g, 2, x_data.copy(), False)
    ups = _arrays(name, _outputs(name, f(Variable(up), *args, **kwargs)), u)
    downs = _arrays(name, _outputs(name, f(Variable(down), *args, **kwargs)), u)
    along = [cuda.as_numpy(a - b) / (2 * h) for a, b in zip(ups, downs)]  # J v

    seeds = [Variable(w.copy()) for w in u]
    gx = backprop(outputs, seeds, create_graph=True, targets=[x]).get(x)
    if gx is None:
        return (None, numeric[0]), (None, numeric[1]), [(None, a) for a in along]
    g = (gx * v).sum()
    grads = {}
    if g.creator is not None:
        grads = backprop([g], [xp.ones_like(g.data)], targets=[x, *seeds])
    second = grads.get(x)
    by_weights = [grads.get(s) for s in seeds]
    return (
        (_data(gx), numeric[0]),
        (xp.zeros_like(x_data) if second is None else _data(second), numeric[1]),
        [(xp.zeros_like(w) if b is None else _data(b), a) for w, b, a in zip(u, by_weights, along)],
    )

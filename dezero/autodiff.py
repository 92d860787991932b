"""Derivatives as function transforms: grad, value_and_grad, jacobian, hessian, hvp,
vjp and jvp.

``grad(f)`` is a new function that returns the gradient of ``f`` where ``Variable.
backward()`` would leave it in ``.grad``.  The transforms never touch the caller's
Variables: the function runs on fresh Variables wrapping the caller's arrays, and the
gradients are gathered by a small reverse pass of this module's own, which keeps them
in a dictionary instead of ``.grad`` attributes.  So no ``.grad`` appears anywhere, not
even on Parameters that ``f`` uses, and no graph is left behind.  They also work under
``no_grad()``: backprop is switched on inside while they compute.

Results are arrays, unless

- ``create_graph=True`` is given (True or False; anything else, such as the string
  'False', raises TypeError): they are then Variables whose graph leads back to the
  caller's Variables (for example to put a gradient penalty into a loss), or
- the transform is called while another transform evaluates its function, as in
  ``grad(grad(f))`` or ``hessian``: the inner one returns Variables so that the outer
  one can differentiate through it.

>>> import numpy as np
>>> from dezero.autodiff import grad
>>> f = lambda x: x ** 3
>>> float(grad(f)(np.array(2.0))), float(grad(grad(f))(np.array(2.0)))
(12.0, 12.0)
"""

import contextlib
import threading

import numpy as np

from dezero import cuda
from dezero.checks import check_flag
from dezero.core import Function, Variable, _leaf_view, as_array, backprop, using_config
from dezero.functions.array import astype, reshape, stack
from dezero.functions.reduction import sum as _sum


# --------------------------------------------------------------------------------------
# Nesting
# --------------------------------------------------------------------------------------
class _Nesting(threading.local):
    """How many transforms are evaluating their function right now, in this thread."""

    depth = 0


_nesting = _Nesting()


@contextlib.contextmanager
def _evaluating():
    """Mark the evaluation of a transformed function: a transform called inside it
    must return Variables connected to the enclosing graph."""
    _nesting.depth += 1
    try:
        yield
    finally:
        _nesting.depth -= 1


def _connected(create_graph):
    """True when the results must be Variables recorded in a graph."""
    return create_graph or _nesting.depth > 0


class _Identity(Function):
    """y = x, as a new node; its gradient is gy.  It links the Variable a transform
    differentiates with respect to to the caller's Variable, without sharing it.  Its
    data is a view of x's, so that a backward reading it after x's data was changed in
    place raises, as one reading x does."""

    retain_inputs = ()
    retain_outputs = ()

    def forward(self, x):
        return x.view()

    def backward(self, gy):
        return gy


def _zeros_like(x):
    return Variable(cuda.get_array_module(x.data).zeros_like(x.data))


def _gradients(ys, gys, xs, connected):
    """The gradients of ``ys`` (seeded with ``gys``) with respect to each of ``xs``, by
    the engine's reverse pass restricted to the functions between them: a list with
    None where no path leads.  Nothing is stored in any ``.grad``."""
    grads = backprop(ys, gys, create_graph=connected, targets=xs)
    return [grads.get(x) for x in xs]


# --------------------------------------------------------------------------------------
# Arguments and results
# --------------------------------------------------------------------------------------
def _check_argnums(name, argnums):
    """``argnums`` as a tuple, and whether it was a single int."""

    def is_int(i):
        return isinstance(i, int) and not isinstance(i, bool)

    if is_int(argnums):
        return (argnums,), True
    if isinstance(argnums, tuple) and argnums and all(is_int(i) for i in argnums):
        return argnums, False
    raise TypeError(f'{name}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}')


def _resolve_argnums(name, argnums, n_args):
    """``argnums`` made non-negative and checked against ``n_args`` arguments."""
    resolved = []
    for i in argnums:
        if not -n_args <= i < n_args:
            raise ValueError(
                f'{name}: argnums {argnums!r} asks for argument {i}, but the '
                f'function was called with {n_args} positional arguments'
            )
        resolved.append(i % n_args)
    if len(set(resolved)) != len(resolved):
        raise ValueError(f'{name}: argnums {argnums!r} names an argument twice')
    return resolved


def _float_array(name, what, value):
    """The array behind ``value`` (a Variable, an array or a Python number), which
    must hold floating-point numbers."""
    data = value.data if isinstance(value, Variable) else value
    if data is None:
        raise ValueError(f'{name}: {what} is a Variable holding no data (None)')
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        data = cuda.as_numpy(float(data))
    elif isinstance(data, cuda.array_types):
        pass
    elif isinstance(data, np.generic):
        data = cuda.as_numpy(data)
    else:
        raise TypeError(
            f'{name}: {what} is of type {type(value).__name__}; expected a '
            f'Variable, a NumPy array or a Python float'
        )
    if data.dtype.kind != 'f':
        raise TypeError(
            f'{name}: {what} has dtype {data.dtype}; derivatives are taken '
            f'with respect to floating-point arrays (convert it with '
            f'.astype(float))'
        )
    return data


def _inputs(name, args, indices, connected):
    """Replace ``args[i]`` for ``i`` in ``indices`` by the Variables to differentiate
    with respect to: fresh ones wrapping the caller's data, or, when the results must
    stay connected, new nodes linked to the caller's Variables.  Either views the data
    of a caller's Variable as the engine's views do, so that a backward run after that
    data was changed in place (``x.data -= 1``) raises, naming it.  Returns the new
    argument list and those Variables."""
    args = list(args)
    xs = []
    for i in indices:
        data = _float_array(name, f'argument {i}', args[i])
        arg = args[i]
        if not isinstance(arg, Variable):
            x = Variable(data)
        elif connected and arg.requires_grad:
            x = _Identity()(arg)
        else:  # (not to stay connected, or a constant, which has nothing to link to)
            x = _leaf_view(arg)
        xs.append(x)
        args[i] = x
    return args, xs


def _outputs(name, result):
    """The function's result as a list of Variables, and whether it was a tuple."""
    several = isinstance(result, (tuple, list))
    items = list(result) if several else [result]
    if several and not items:
        raise ValueError(f'{name}: the function returned an empty {type(result).__name__}')
    ys = []
    for item in items:
        if isinstance(item, Variable):
            if item.data is None:
                raise TypeError(
                    f'{name}: the function returned a Variable holding no data (None); '
                    f'expected a Variable with an array (or a tuple of them)'
                )
            ys.append(item)
        elif isinstance(item, cuda.array_types):
            ys.append(Variable(item))
        elif isinstance(item, (int, float, np.generic)) and not isinstance(item, bool):
            ys.append(Variable(cuda.as_numpy(item)))
        else:
            raise TypeError(
                f'{name}: the function returned an object of type '
                f'{type(item).__name__}; expected a Variable or an array '
                f'(or a tuple of them)'
            )
    return ys, several


def _like(name, what, value, like):
    """``value`` as a cotangent/tangent Variable for ``like``: same shape; an array is
    cast to ``like``'s dtype (so float32 stays float32), a Variable is used as is, if it
    holds real numbers."""
    if isinstance(value, Variable):
        data = value.data
        if data is None:
            raise ValueError(f'{name}: {what} is a Variable holding no data (None)')
        if data.dtype.kind == 'c':
            raise TypeError(
                f'{name}: {what} is {data.dtype}; derivatives are taken of real-valued '
                f'functions only (give its real and imaginary parts as separate real '
                f'arrays)'
            )
    else:
        data = _float_array(name, what, value)
    if data.shape != like.shape:
        raise ValueError(
            f'{name}: {what} has shape {data.shape}; expected shape '
            f'{like.shape}, that of the value it goes with'
        )
    if isinstance(value, Variable):
        return value
    return Variable(data.astype(like.dtype, copy=False))


def _result(v, like, connected):
    """A gradient for ``like`` as the caller receives it, in like's floating dtype (a
    float32 argument gets float32 derivatives): a Variable when connected (cast by a
    recorded ``astype``), else a fresh array (zeros where no gradient flowed)."""
    if v is None:
        v = _zeros_like(like)
    dtype = like.data.dtype
    if connected:
        if v.dtype != dtype and v.dtype.kind == dtype.kind == 'f':
            return astype(v, dtype)
        return v
    array = as_array(v.data if isinstance(v, Variable) else v)
    if array.dtype != dtype and array.dtype.kind == dtype.kind == 'f':
        return array.astype(dtype)  # float32 arguments get float32 gradients
    return array.copy()


def _call(name, f, args, kwargs, indices, connected):
    """Call ``f`` with the arguments at ``indices`` replaced by fresh Variables (see
    :func:`_inputs`; backprop must be enabled); return those Variables, the outputs as
    a list of Variables, and whether ``f`` returned several."""
    args, xs = _inputs(name, args, indices, connected)
    with _evaluating():
        result = f(*args, **kwargs)
    ys, several = _outputs(name, result)
    return xs, ys, several


def _pack(items, several):
    return tuple(items) if several else items[0]


def _name(transform, f):
    return f'{transform}({getattr(f, "__name__", type(f).__name__)})'


def _check_callable(name, f):
    if not callable(f):
        raise TypeError(f'{name}: expected a function, got {type(f).__name__}')


# --------------------------------------------------------------------------------------
# The transforms
# --------------------------------------------------------------------------------------
def _value_and_grad(name, f, argnums, create_graph):
    """The function behind :func:`value_and_grad` and :func:`grad`, whose errors name
    ``name``."""
    _check_callable(name, f)
    argnums, single = _check_argnums(name, argnums)

    def transformed(*args, **kwargs):
        connected = _connected(create_graph)
        indices = _resolve_argnums(name, argnums, len(args))
        with using_config('enable_backprop', True):
            xs, ys, several = _call(name, f, args, kwargs, indices, connected)
            y = ys[0]
            if several or y.size != 1:
                shape = [v.shape for v in ys] if several else y.shape
                raise ValueError(
                    f'{name}: the function must return a scalar (one '
                    f'element), got shape {shape}; use jacobian for '
                    f'several outputs, or reduce them to one (e.g. sum)'
                )
            seed = Variable(cuda.get_array_module(y.data).ones_like(y.data))
            gxs = _gradients([y], [seed], xs, connected)
        value = y if connected else y.data.copy()
        grads = [_result(g, x, connected) for g, x in zip(gxs, xs)]
        return value, _pack(grads, not single)

    return transformed


def value_and_grad(f, argnums=0, create_graph=False):
    """The function ``(*args) -> (f(*args), gradient)`` for a scalar-valued ``f``.

    The gradient is taken with respect to argument ``argnums`` (an int), or is a tuple
    of gradients for a tuple of argument numbers; each has the shape and dtype of its
    argument.  Arguments may be Variables, arrays or Python floats; ``f`` must return
    one element (a Variable or an array of size 1).  Value and gradients are arrays,
    or Variables with ``create_graph=True`` (see the module's docstring).
    """
    name = _name('value_and_grad', f)
    create_graph = check_flag(name, 'create_graph', create_graph)
    transformed = _value_and_grad(name, f, argnums, create_graph)
    transformed.__name__ = transformed.__qualname__ = name
    return transformed


def grad(f, argnums=0, create_graph=False):
    """The function ``(*args) -> gradient of f`` for a scalar-valued ``f``.

    Like :func:`value_and_grad` without the value: the gradient with respect to
    argument ``argnums`` (or a tuple of them for a tuple of argument numbers), as arrays,
    or as Variables with ``create_graph=True``.  Transforms compose:
    ``grad(grad(f))(x)`` is f''(x) for a scalar x.
    """
    name = _name('grad', f)
    create_graph = check_flag(name, 'create_graph', create_graph)
    transformed = _grad(name, f, argnums, create_graph)
    transformed.__name__ = transformed.__qualname__ = name
    return transformed


def _grad(name, f, argnums, create_graph):
    """The function behind :func:`grad`, whose errors name ``name``."""
    both = _value_and_grad(name, f, argnums, create_graph)

    def transformed(*args, **kwargs):
        return both(*args, **kwargs)[1]

    return transformed


def jacobian(f, argnums=0, create_graph=False):
    """The function ``(*args) -> Jacobian of f`` by reverse mode, one backward pass per
    output element.

    For an output ``y`` and an argument ``x`` the Jacobian has shape
    ``y.shape + x.shape``: ``J[i..., j...] = dy[i...] / dx[j...]``.  A tuple of argument
    numbers gives a tuple of Jacobians, and a function returning a tuple gives a tuple
    (over the outputs) of those.  Arrays, or Variables with ``create_graph=True``.
    """
    name = _name('jacobian', f)
    create_graph = check_flag(name, 'create_graph', create_graph)
    transformed = _jacobian(name, f, argnums, create_graph)
    transformed.__name__ = transformed.__qualname__ = name
    return transformed


def _jacobian(name, f, argnums, create_graph):
    """The function behind :func:`jacobian`, whose errors name ``name``."""
    _check_callable(name, f)
    argnums, single = _check_argnums(name, argnums)

    def transformed(*args, **kwargs):
        connected = _connected(create_graph)
        indices = _resolve_argnums(name, argnums, len(args))
        with using_config('enable_backprop', True):
            xs, ys, several = _call(name, f, args, kwargs, indices, connected)
            jacobians = [_jacobian_of(y, xs, connected) for y in ys]
        return _pack([_pack(j, not single) for j in jacobians], several)

    return transformed


def _jacobian_of(y, xs, connected):
    """[dy/dx for x in xs], each of shape y.shape + x.shape."""
    xp = cuda.get_array_module(y.data)
    rows = [[] for _ in xs]
    for k in range(y.size):
        seed = xp.zeros(y.size, dtype=y.dtype)
        seed[k] = 1
        gxs = _gradients([y], [Variable(seed.reshape(y.shape))], xs, connected)
        for row, g, x in zip(rows, gxs, xs):
            row.append(_zeros_like(x) if g is None else g)
    jacobians = []
    for row, x in zip(rows, xs):
        shape = y.shape + x.shape
        if not row:  # y has no elements
            j = Variable(xp.zeros(shape, dtype=x.dtype))
            jacobians.append(j if connected else j.data)
        elif connected:  # in x's floating dtype too
            jacobians.append(reshape(stack([_result(g, x, True) for g in row]), shape))
        else:
            rows_of_x = [_result(g, x, False) for g in row]  # in x's floating dtype
            jacobians.append(xp.stack(rows_of_x).reshape(shape))
    return jacobians


def hessian(f, argnums=0, create_graph=False):
    """The function ``(*args) -> Hessian of the scalar-valued f``: the Jacobian of its
    gradient, of shape ``x.shape + x.shape``.

    With a tuple of argument numbers the result is a tuple of tuples ``H[i][j]`` of
    shape ``x_i.shape + x_j.shape`` (the second derivatives by arguments i and j).
    Arrays, or Variables with ``create_graph=True``.  Its errors name ``hessian(f)``,
    not the transforms it is made of.
    """
    name = _name('hessian', f)
    create_graph = check_flag(name, 'create_graph', create_graph)
    _check_callable(name, f)
    _check_argnums(name, argnums)
    transformed = _jacobian(name, _grad(name, f, argnums, False), argnums, create_graph)
    transformed.__name__ = transformed.__qualname__ = name
    return transformed


def _several(name, what, values):
    """``values`` as a list, and whether it was a tuple or list."""
    if isinstance(values, (tuple, list)):
        if not values:
            raise ValueError(f'{name}: {what} is empty')
        return list(values), True
    return [values], False


def hvp(f, x, v, create_graph=False):
    """The Hessian of the scalar-valued ``f`` at ``x`` times ``v``: ``H(x) @ v``,
    by double backprop (the gradient of ``<grad f(x), v>``), never forming ``H``.

    ``x`` and ``v`` are arrays/Variables of one shape, or tuples of them (then ``f``
    takes several arguments and the result is a tuple, one part per argument).
    Arrays, or Variables with ``create_graph=True``.
    """
    name = _name('hvp', f)
    create_graph = check_flag(name, 'create_graph', create_graph)
    _check_callable(name, f)
    xs, several = _several(name, 'x', x)
    vs, several_v = _several(name, 'v', v)
    if several_v != several or len(vs) != len(xs):
        raise ValueError(
            f'{name}: v must match x: {len(xs)} '
            f'{"arrays" if several else "array"} expected, got '
            f'{len(vs) if several_v else "one array"}'
        )
    vs = [
        _like(
            name,
            f'v[{i}]' if several else 'v',
            vi,
            Variable(_float_array(name, f'x[{i}]' if several else 'x', xi)),
        )
        for i, (xi, vi) in enumerate(zip(xs, vs))
    ]
    argnums = tuple(range(len(xs)))
    gradient = _grad(name, f, argnums, False)  # its errors name hvp(f) too

    def directional(*xs_in):
        gs = gradient(*xs_in)
        total = _sum(gs[0] * vs[0])
        for g, vi in zip(gs[1:], vs[1:]):
            total = total + _sum(g * vi)
        return total

    result = _grad(name, directional, argnums, create_graph)(*xs)
    return result if several else result[0]


def vjp(f, *xs, create_graph=False):
    """``(f(*xs), pullback)``: the value of ``f`` and the function taking a cotangent
    ``u`` (of the output's shape; a tuple for a function returning a tuple) to the
    vector-Jacobian products ``u @ J`` with respect to each of ``xs`` (always a tuple).

    The pullback may be called any number of times.  It returns arrays, or Variables
    with ``create_graph=True`` or when it is called while another transform evaluates
    its function (wherever the pullback was made), so that the outer transform can
    differentiate through it, with respect to ``u`` too.
    """
    name = _name('vjp', f)
    create_graph = check_flag(name, 'create_graph', create_graph)
    _check_callable(name, f)
    if not xs:
        raise ValueError(f'{name}: expected at least one argument to differentiate with respect to')
    connected = _connected(create_graph)
    with using_config('enable_backprop', True):  # recorded, for any later pullback
        inputs, ys, several = _call(name, f, xs, {}, range(len(xs)), connected)

    def pullback(u):
        us, several_u = _several(f'{name} pullback', 'u', u)
        if several_u != several or len(us) != len(ys):
            raise ValueError(
                f'{name} pullback: u must match the output: '
                f'{len(ys) if several else "one array"} expected, got '
                f'{len(us) if several_u else "one array"}'
            )
        gys = [_like(f'{name} pullback', 'u', ui, y) for ui, y in zip(us, ys)]
        now_connected = _connected(create_graph)  # where it is called, not made
        with using_config('enable_backprop', True):
            gxs = _gradients(ys, gys, inputs, now_connected)
            return tuple(_result(g, x, now_connected) for g, x in zip(gxs, inputs))

    values = [y if connected else y.data.copy() for y in ys]
    return _pack(values, several), pullback


def jvp(f, xs, vs, create_graph=False):
    """``(f(*xs), J @ vs)``: the value of ``f`` and its directional derivative along the
    tangents ``vs``, by the double-vjp trick (the gradient, with respect to a cotangent
    ``u``, of ``<u @ J, vs>``).

    ``xs`` and ``vs`` are tuples of matching arrays/Variables, or one array each; the
    tangent out has the output's shape (a tuple for a function returning a tuple).
    Arrays, or Variables with ``create_graph=True``.
    """
    name = _name('jvp', f)
    create_graph = check_flag(name, 'create_graph', create_graph)
    _check_callable(name, f)
    xs, several_x = _several(name, 'xs', xs)
    vs, several_v = _several(name, 'vs', vs)
    if several_v != several_x or len(vs) != len(xs):
        raise ValueError(
            f'{name}: vs must match xs: {len(xs)} '
            f'{"tangents" if several_x else "tangent"} expected, got '
            f'{len(vs) if several_v else "one"}'
        )
    connected = _connected(create_graph)
    with using_config('enable_backprop', True):
        inputs, ys, several = _call(name, f, xs, {}, range(len(xs)), connected)
        tangents = [
            _like(name, f'vs[{i}]' if several_x else 'vs', v, x)
            for i, (v, x) in enumerate(zip(vs, inputs))
        ]
        us = [_zeros_like(y) for y in ys]  # any value: u @ J is linear
        gxs = _gradients(ys, us, inputs, True)
        terms = [_sum(g * t) for g, t in zip(gxs, tangents) if g is not None]
        if terms:
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            one = Variable(cuda.get_array_module(total.data).ones_like(total.data))
            jv = _gradients([total], [one], us, connected)
        else:
            jv = [None] * len(us)
    values = [y if connected else y.data.copy() for y in ys]
    return (
        _pack(values, several),
        _pack([_result(t, y, connected) for t, y in zip(jv, ys)], several),
    )

"""Anomaly detection: find the operation that first produced a NaN or an infinity.

This module holds the checks; the switch is ``Config.detect_anomaly`` in
:mod:`dezero.core`, set by the context manager ``dezero.detect_anomaly()``.  While it is
on, every function call records the user's source line that created it and checks its
forward outputs, and ``backward()`` checks every gradient a function returns.  The first
non-finite value raises :class:`AnomalyError`.  While it is off the engine never calls
into this module, so anomaly detection costs nothing.

It sits below :mod:`dezero.core` (it imports nothing of dezero but :mod:`dezero.cuda`),
so the engine can call it without an import cycle.
"""

import contextlib
import linecache
import sys
import threading

from dezero import cuda

# Per thread, the functions whose ``backward`` is running with anomaly detection on,
# innermost last: an operation that goes wrong while computing a gradient is reported
# as that backward's.
_running = threading.local()


def _backward_stack():
    stack = getattr(_running, 'stack', None)
    if stack is None:
        stack = _running.stack = []
    return stack


class AnomalyError(FloatingPointError):
    """A function produced a NaN or an infinity under ``dezero.detect_anomaly()``.

    Attributes: ``function`` (the Function class name), ``phase`` (``'forward'`` or
    ``'backward'``), ``inputs`` (the ``(shape, dtype)`` of each of its inputs) and
    ``source`` (``'file:line in func: code'`` of the user's line that created the
    function, or None when it was not recorded).
    """

    def __init__(self, message, function, phase, inputs, source):
        super().__init__(message)
        self.function = function
        self.phase = phase
        self.inputs = inputs
        self.source = source

    def __reduce__(self):
        # for pickle and copy, which would call __init__(message) alone; the state,
        # the instance's __dict__, carries __notes__ and any attribute set since
        args = (self.args[0], self.function, self.phase, self.inputs, self.source)
        return type(self), args, self.__dict__


# --------------------------------------------------------------------------------------
# Where a function was created
# --------------------------------------------------------------------------------------
def _in_dezero(frame):
    """Whether the stack ``frame`` runs code of the dezero package."""
    name = frame.f_globals.get('__name__', '')
    return name == 'dezero' or name.startswith('dezero.')


def user_stacklevel():
    """The ``stacklevel`` of ``warnings.warn``, called in the function that calls this
    one, that names the user's line: the innermost caller outside the dezero package,
    however many frames of dezero lie between (F.batch_norm called directly, or
    through L.BatchNorm, a Model, a Trainer)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and _in_dezero(frame):
        frame, level = frame.f_back, level + 1
    return level


def user_site():
    """``(file, line, function)`` of the innermost caller outside the dezero package
    (the user's line of code), or None when the whole stack is inside dezero."""
    frame = sys._getframe(1)
    while frame is not None and _in_dezero(frame):
        frame = frame.f_back
    if frame is None:
        return None
    code = frame.f_code
    return code.co_filename, frame.f_lineno, code.co_name


def record_site(func):
    """Remember on ``func`` the user's source line that is creating it."""
    func._created_at = user_site()


def format_site(site):
    """``'file:line in func: code'`` for a site from :func:`user_site` (None stays None)."""
    if site is None:
        return None
    filename, lineno, funcname = site
    code = linecache.getline(filename, lineno).strip()
    text = f'{filename}:{lineno} in {funcname}'
    return f'{text}: {code}' if code else text


# --------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------
def _bad_values(a):
    """A description of the non-finite values in array ``a``, or None if all are
    finite (or ``a`` is not a floating-point or complex array, which cannot hold any)."""
    dtype = getattr(a, 'dtype', None)
    if dtype is None or dtype.kind not in 'fc':
        return None
    xp = cuda.get_array_module(a)
    finite = xp.isfinite(a)
    if finite.all():
        return None
    kinds = []
    if xp.isnan(a).any():
        kinds.append('nan')
    if dtype.kind == 'c':
        if xp.isinf(a).any():
            kinds.append('inf')
    else:
        if (a == xp.inf).any():
            kinds.append('inf')
        if (a == -xp.inf).any():
            kinds.append('-inf')
    count = int(a.size - finite.sum())
    return f'{"/".join(kinds)} ({count} of {a.size} values)'


def _values(a):
    """The array of ``a``, a Variable or an array (None for a Variable whose values the
    graph did not keep)."""
    if hasattr(a, 'creator'):  # a Variable
        a = a.data
    return a if hasattr(a, 'dtype') else None


def _has_infinity(a):
    """Whether the array (or Variable) ``a`` holds an infinity."""
    bad = _bad_values(_values(a))
    return bad is not None and 'inf' in bad


def _made_infinities(func, given, y):
    """For ``func`` computing each output element from the elements of its ``given``
    arrays at the same position (``Function.elementwise``): a description of the
    infinities of ``y`` it made where none of them (broadcast to y's shape) holds one
    (``exp(x + mask)`` overflowing where the mask is 0), or None when it made none.
    None for other functions, whose outputs do not follow their inputs position by
    position."""
    if not getattr(func, 'elementwise', False):
        return None
    xp = cuda.get_array_module(y)
    passed = xp.zeros(y.shape, dtype=bool)
    for a in given:
        values = _values(a)
        if getattr(values, 'dtype', None) is None or values.dtype.kind not in 'fc':
            continue  # no infinity to pass on
        try:
            passed |= xp.broadcast_to(xp.isinf(values), y.shape)
        except ValueError:  # not of y's shape after all: nothing can be told
            return None
    made = xp.isinf(y) & ~passed
    count = int(made.sum())
    if count == 0:
        return None
    first = tuple(int(i) for i in xp.argwhere(made)[0])
    return (
        f'inf ({count} of {y.size} values made where its inputs are finite, the first '
        f'at index {first})'
    )


def _all_finite(items):
    return all(_bad_values(_values(a)) is None for a in items)


def _describe_inputs(items):
    return [
        (tuple(a.shape), str(a.dtype)) if hasattr(a, 'shape') else (None, type(a).__name__)
        for a in items
    ]


def _raise(func, phase, what, inputs, site, extra='', grads=None):
    name = type(func).__name__
    described = _describe_inputs(inputs)
    shapes = ', '.join(f'{s} {d}' for s, d in described) or 'none'
    source = format_site(site)
    where = (
        f'created at {source}'
        if source is not None
        else 'created outside detect_anomaly(), so its source line was not recorded '
        '(run the forward pass inside the block too)'
    )
    if not _all_finite(inputs):
        origin = 'its inputs already held non-finite values'
    elif grads is not None and not _all_finite([g for g in grads if g is not None]):
        origin = 'the gradient flowing into it already held non-finite values'
    elif grads is not None:
        origin = 'its inputs and the gradient flowing into it were all finite'
    else:
        origin = 'its inputs were all finite'
    message = (
        f'{name} {phase} produced {what}{extra}; {origin}. '
        f'Inputs of {name}: {shapes}. {name} was {where}'
    )
    raise AnomalyError(message, name, phase, described, source)


def check_forward(func, xs, ys):
    """Raise :class:`AnomalyError` if an output array of ``func`` (inputs ``xs``) is not
    finite.  Infinities without NaN are let through when an input or the function's
    own constant operand (the ``c`` of ``x + c``) holds infinities: they may have been
    given, not produced (an attention mask's -inf, and every function it passes
    through, such as ``where`` or a reshape).  An elementwise function
    (``Function.elementwise``) is still reported when it makes an infinity where its
    inputs hold none (``exp(x + mask)`` overflowing); for the others, an overflow in an
    array that holds an infinity already goes unreported.  NaN always is.  Inside a
    backward pass the fault is that backward's, and is reported so."""
    for i, y in enumerate(ys):
        bad = _bad_values(y)
        if bad is None:
            continue
        if 'nan' not in bad:
            constant = getattr(func, 'c', None)
            given = list(xs) if constant is None else [*xs, constant]
            if any(_has_infinity(a) for a in given):
                made = _made_infinities(func, given, y)
                if made is None:
                    continue
                bad = made
        stack = _backward_stack()
        if stack:
            outer, gys = stack[-1]
            _raise(
                outer,
                'backward',
                bad,
                outer.inputs,
                getattr(outer, '_created_at', None),
                extra=f' in {type(func).__name__} (output {i}) while computing its gradients',
                grads=gys,
            )
        _raise(func, 'forward', f'{bad} in output {i}', xs, user_site())


@contextlib.contextmanager
def running_backward(func, gys):
    """Inside the block, ``func.backward`` runs on ``gys``: a non-finite value produced
    by any operation is reported as that backward's fault."""
    stack = _backward_stack()
    stack.append((func, gys))
    try:
        yield
    finally:
        stack.pop()


def check_backward(func, gxs, gys):
    """Raise :class:`AnomalyError` if a gradient ``func.backward`` returned (``gxs``,
    arrays or Variables, None where there is none) is not finite."""
    for i, gx in enumerate(gxs):
        if gx is None:
            continue
        bad = _bad_values(_values(gx))
        if bad is not None:
            _raise(
                func,
                'backward',
                f'{bad} in the gradient for input {i}',
                func.inputs,
                getattr(func, '_created_at', None),
                grads=gys,
            )

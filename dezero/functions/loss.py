"""Loss functions: mean_squared_error, softmax_cross_entropy, sigmoid_cross_entropy,
binary_cross_entropy.

Each returns a 0-d Variable of the input's dtype, averaged over the batch (the first
axis: divided by ``len(x)``); float16 losses are summed in float32, as their sum may
exceed float16's range where their mean does not.  A target given as a Variable gets
a gradient too, as in PyTorch (it may be the output of another model); one given as an
array is a constant, for which no gradient is computed.  Integer class labels get none.
Each backward is written with operations that run on arrays and on Variables alike, so
that derivatives of any order follow.

Two arrays compared element by element must hold the same elements in the same order:
their shapes are equal or differ only in axes of size 1, as predictions of shape (N, 1)
and labels of shape (N,), and then targets are reshaped to the prediction's shape.
Nothing is broadcast, since (N, 1) against (N,) would silently compare every prediction
with every label.
"""

import copy
import math
import numbers

import numpy as np

from dezero import cuda
from dezero.array_ops import (
    FLOAT16,
    array_of,
    float_number,
    is_float16,
    mean_beyond_the_sum,
    sum_keepdims,
    zero_where,
)
from dezero.checks import check_same_elements, same_elements
from dezero.core import Function, Variable
from dezero.functions.activation import quiet_exp, shifted_by_max, sigmoid, softmax
from dezero.functions.array import as_input, astype, reshape
from dezero.functions.math import clip, log


def _scalar(value, dtype):
    """A 0-d array of ``dtype`` (NumPy 1.x turns float32 scalar arithmetic into
    float64, so the result is cast back)."""
    return cuda.get_array_module(value).asarray(value, dtype=dtype)


def _target(name, t):
    """The target ``t`` as a plain array (a Variable's data: for integer labels, which
    have no gradient)."""
    if isinstance(t, Variable):
        t = t.data
    if not isinstance(t, cuda.array_types):
        if isinstance(t, (list, tuple)):
            t = np.asarray(t)
        else:
            raise TypeError(f'{name}: t must be an array or a Variable, got {type(t).__name__}')
    return t


def _batch_mean(loss, n, dtype):
    """sum(loss) / n as a 0-d array of ``dtype`` (nan for an empty batch, n = 0; n < 0
    gives the mean of -loss).  float16 is summed in float32, and the mean rounded to
    float16 without a warning (±inf beyond its range); a float32 or float64 sum beyond
    the range is taken again as the sum of loss / n (see :func:`mean_beyond_the_sum`),
    so that a mean within it is kept."""
    total = loss.sum(dtype=np.float32) if is_float16(loss.dtype) else loss.sum()
    mean = mean_beyond_the_sum(total / n, loss, n) if n else math.nan
    if is_float16(dtype):
        with np.errstate(over='ignore'):
            return _scalar(mean, dtype)
    return _scalar(mean, dtype)


def _batch_size(name, x, empty=False):
    """len(x); ValueError for a 0-d x, and for an empty batch unless ``empty``."""
    if x.ndim == 0 or (len(x) == 0 and not empty):
        raise ValueError(
            f'{name}: expected a non-empty batch (first axis), got x of shape {x.shape}'
        )
    return len(x)


def _float_target(t, x):
    """A copy of the targets ``t`` in x's dtype: float32 stays float32, and changing t
    in place after the call cannot change the gradient that backward computes from it."""
    return t.astype(x.dtype)


# ---- mean squared error ------------------------------------------------------------------
class MeanSquaredError(Function):
    """y = sum((x0 - x1)**2) / len(x0) for x0 and x1 of one shape (nan for len(x0) = 0).
    Derivative: ±2 (x0 - x1) gy / len(x0)."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def forward(self, x0, x1):
        if x0.shape != x1.shape:
            raise ValueError(
                f'x0 of shape {x0.shape} and x1 of shape {x1.shape} differ '
                f'(mean_squared_error reshapes (N, 1) against (N,))'
            )
        diff = _difference(x0, x1)
        dtype = diff.dtype
        if is_float16(dtype):  # squared in float32: float16 overflows past 256²
            diff = diff.astype(np.float32)
        return _batch_mean(diff * diff, len(x0), dtype)

    def backward(self, gy, *, needs_input_grad):
        x0, x1 = self.retained_inputs()
        n = len(x0)
        gx0 = _difference(x0, x1) * (gy * (2.0 / n if n else math.nan))  # empty when n = 0
        return gx0, -gx0 if needs_input_grad[1] else None


def _difference(x0, x1):
    """x0 - x1 (arrays or Variables), in float64 when both hold integers, whose
    difference could wrap around (and whose mean would be truncated)."""
    if x0.dtype.kind in 'fc' or x1.dtype.kind in 'fc':
        return x0 - x1
    return x0 * 1.0 - x1


def mean_squared_error(x0, x1):
    """Sum of squared differences divided by the batch size (the length of the first
    axis of the shape they are compared in).
    x0 and x1 have the same shape, or shapes that differ only in axes of size 1, as
    (N, 1) and (N,): the one with fewer axes is then reshaped to the other's shape,
    which gives the batch size, so (1, 1) against (1,) compares one value with one, and
    (3,) against (1, 3) is one sample of three values, as the book's function (which
    takes ``len`` of their difference) has it.  Two shapes of as many axes must have
    the same first axis, as (2, 1, 3) and (2, 3, 1) do: (1, 3) against (3, 1) is
    refused, as either could give the batch size (1 or 3), and so the loss would depend
    on the order of the arguments (the book broadcasts them to (3, 3)).
    An empty batch gives nan, as in PyTorch.
    Derivative: 2 (x0 - x1) / len(x0) to x0 and its negative to x1."""
    name = 'mean_squared_error'
    x0, x1 = as_input(x0, name), as_input(x1, name, 1)
    x0, x1 = _paired(name, *_same_float_dtype(x0, x1))
    return MeanSquaredError()(x0, x1)


def _same_float_dtype(x0, x1):
    """x0 and x1, a target among them converted to the floating dtype of the other: a
    plain array of integers or bools beside floating-point values, or a plain
    floating-point array beside a floating-point Variable.  Integer, bool and float64
    targets thus keep a float32 model's loss and gradients float32."""
    if _is_target_of(x1, x0):
        return x0, _float_target(x1, x0)
    if _is_target_of(x0, x1):
        return _float_target(x0, x1), x1
    return x0, x1


def _is_target_of(t, x):
    """Whether ``t`` is a plain array to convert to the floating dtype of ``x``."""
    if isinstance(t, Variable) or x.dtype.kind != 'f':
        return False
    return t.dtype.kind in 'iub' or (t.dtype.kind == 'f' and isinstance(x, Variable))


def _paired(name, x0, x1):
    """The two inputs of a mean squared error with one shape: equal shapes, or shapes
    that differ only in axes of size 1, where the one with fewer axes is reshaped to the
    other's (x1 to x0's if both have as many, which then have one batch size); checked
    to hold a batch (a first axis)."""
    check_same_elements(name, x0.shape, x1.shape, ('x0', 'x1'))
    if x0.shape != x1.shape:
        if x0.ndim == x1.ndim and x0.shape[0] != x1.shape[0]:
            raise ValueError(
                f'{name}: x0 of shape {x0.shape} and x1 of shape {x1.shape} have as many '
                f'axes but different batch sizes ({x0.shape[0]} and {x1.shape[0]}), so '
                f'the loss would depend on their order; reshape one to the shape of the other'
            )
        if x0.ndim < x1.ndim:
            x0 = reshape(x0, x1.shape)
        else:
            x1 = reshape(x1, x0.shape)
    _batch_size(name, x0, empty=True)
    return x0, x1


# ---- softmax cross entropy ---------------------------------------------------------------
class SoftmaxCrossEntropy(Function):
    """y = -mean over rows i of log softmax(x)[i, t_i], for logits x (N, C) and integer
    labels t, called as ``SoftmaxCrossEntropy()(x, t)``.  The labels are a constant
    of the call, checked and kept on the function rather than made an input (they get
    no gradient).  Derivative: (softmax(x) - onehot(t)) * gy / N, computed by
    :class:`SoftmaxCrossEntropyGrad`.

    Forward keeps softmax(x) (as large as the logits, which the graph holds anyway),
    and the first-order backward uses it instead of computing it again."""

    retain_inputs = (0,)
    retain_outputs = ()
    t = None

    def __call__(self, x, t):
        x = as_input(x, 'softmax_cross_entropy')
        if x.dtype.kind in 'iu':  # integer logits, as the book allows: in float64
            x = astype(x, np.float64)
        # an object already in a graph keeps its own labels: this call runs on a copy
        f = self
        if self.inputs is not None:
            f = copy.copy(self)
            f.inputs = f.outputs = None
        f.t = _class_labels('softmax_cross_entropy', x, t)
        return Function.__call__(f, x)

    def forward(self, x):
        xp = np if type(x) is np.ndarray else cuda.get_array_module(x)
        dtype = x.dtype
        float16 = is_float16(dtype)
        if float16:  # in float32: row sums and the loss's sum may need its range
            x = x.astype(np.float32)
        n = len(x)
        shifted = shifted_by_max(x, 1)
        e = quiet_exp(shifted)
        total = sum_keepdims(e, 1)
        rows = xp.arange(n)
        try:
            picked = shifted[rows, self.t]
        except IndexError:  # a label >= C (the others were checked on the call)
            raise _label_out_of_range('softmax_cross_entropy', self.t, x.shape[1]) from None
        picked -= xp.log(total[:, 0])
        e /= total
        self.p = e.astype(FLOAT16) if float16 else e
        return _batch_mean(picked, -n, dtype)

    def backward(self, gy):
        p = self.p  # on arrays: the softmax that forward kept
        if isinstance(gy, Variable):
            # a recorded pass computes softmax(x) again, as a function of x, so that the
            # gradient can be differentiated with respect to x
            (x,) = self.retained_inputs()
            p = softmax(x, axis=1)
        return SoftmaxCrossEntropyGrad(self.t)(p, gy)


class SoftmaxCrossEntropyGrad(Function):
    """gx = (p - onehot(t)) * gy / N, the gradient of softmax cross entropy, from the
    probabilities p = softmax(x) (N, C) and the loss's gradient gy (0-d), in place on
    one fresh array.  It is linear in each input.
    Derivatives: g * gy / N to p, sum(g * (p - onehot(t))) / N to gy."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, t):
        self.t = t

    def forward(self, p, gy):
        n = len(p)
        xp = np if type(p) is np.ndarray else cuda.get_array_module(p)
        self.rows = xp.arange(n)
        # on the CPU a Python float: quicker than arithmetic on a 0-d array
        scale = float(gy) / n if xp is np else gy * (1.0 / n)
        gx = p * scale  # a fresh array: the onehot is subtracted in place
        gx[self.rows, self.t] -= scale
        return gx

    def backward(self, g, *, needs_input_grad):
        p, gy = self.retained_inputs()
        g = g * (1.0 / len(p))
        gp = g * gy if needs_input_grad[0] else None
        ggy = (g * p).sum() - g[self.rows, self.t].sum() if needs_input_grad[1] else None
        return gp, ggy


def _class_labels(name, x, t):
    """A copy of the labels ``t`` for the logits ``x`` (N, C), an integer array of shape
    (N,), after checking that they fit x.  Backward reads the copy: labels changed in
    place after the call do not change the gradient."""
    if (
        type(t) is np.ndarray
        and t.dtype.kind in 'iu'
        and t.shape == x.shape[:1]
        and x.ndim == 2
        and t.size
        and x.shape[1]
        and type(x.data if isinstance(x, Variable) else x) is np.ndarray
        and x.dtype.kind == 'f'
    ):  # the usual case, quickly: NumPy's indexing in forward refuses labels >= C
        if t.dtype.kind == 'u' or np.minimum.reduce(t) >= 0:
            return t.copy()
    t = _target(name, t)
    if x.ndim != 2:
        raise ValueError(f'{name}: x must be 2-D logits (N, C), got shape {x.shape}')
    n, c = x.shape
    _batch_size(name, x)
    if c == 0:
        raise ValueError(
            f'{name}: x of shape {x.shape} has no classes; expected logits (N, C) with C >= 1'
        )
    if x.dtype.kind != 'f':
        raise TypeError(f'{name}: x must hold floating-point logits, got dtype {x.dtype}')
    check_label_shape(name, t, x.shape)
    if t.dtype.kind not in 'iu':
        raise ValueError(f'{name}: t must hold integer class labels, got dtype {t.dtype}')
    check_class_labels(name, t, c)
    return t.reshape(n).copy()


def check_label_shape(name, t, x_shape, x_name='x'):
    """ValueError naming the function ``name`` unless the labels ``t`` hold one label
    per row of its input ``x_name`` of shape ``x_shape`` (N, C): t of shape (N,) or
    (N, 1) (or (N, 1, 1)...), and one label of any shape when N = 1.  (1, N) is refused
    for N > 1: its first axis says one row."""
    n, shape = x_shape[0], t.shape
    if not (same_elements(shape, (n,)) and (n == 1 or shape[:1] == (n,))):
        raise ValueError(
            f'{name}: t has shape {shape}, expected ({n},) or ({n}, 1): '
            f'one integer label per row of {x_name} (shape {x_shape})'
        )


def check_class_labels(name, t, classes, x_name='x'):
    """ValueError naming the function ``name`` unless each integer label in ``t`` lies
    in [0, classes), the classes of its input ``x_name``."""
    if t.size and (int(t.min()) < 0 or int(t.max()) >= classes):
        raise _label_out_of_range(name, t, classes, x_name)


def _label_out_of_range(name, t, c, x_name='x'):
    """The ValueError for labels ``t`` of which one is outside [0, c)."""
    low, high = int(t.min()), int(t.max())
    bad = low if low < 0 else high
    error = ValueError(f'{name}: label {bad} is outside [0, {c}) for {x_name} with {c} classes')
    error._dezero_described = True  # it names the function: not prefixed again
    return error


def softmax_cross_entropy(x, t):
    """Cross entropy between softmax(x) and integer class labels: the mean over the
    batch of -log softmax(x)[i, t[i]], computed stably through log-sum-exp.
    x: logits of shape (N, C) (integers are taken in float64); t: integers in [0, C)
    of shape (N,) or (N, 1) (see :func:`check_label_shape`); they get no gradient.
    Derivative: (softmax(x) - onehot(t)) / N."""
    return SoftmaxCrossEntropy()(x, t)


# ---- sigmoid cross entropy ---------------------------------------------------------------
class SigmoidCrossEntropy(Function):
    """y = sum((1 - t) softplus(x) + t softplus(-x)) / len(x) for logits x and targets t
    of one shape, which equals -sum(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) / len(x).
    Derivatives: (sigmoid(x) - t) * gy / len(x) to x, -x * gy / len(x) to t."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def forward(self, x, t):
        _check_same_shape(self, x, t)
        xp = cuda.get_array_module(x)
        with np.errstate(under='ignore'):
            log_term = xp.log1p(xp.exp(-xp.abs(x)))
        # softplus(x) = max(x, 0) + log_term and softplus(-x) = max(-x, 0) + log_term,
        # so the loss is c x + log_term with c = 1 - t where x >= 0 and -t where x < 0.
        # Where c is exactly 0 that term is 0, also for x = ±inf (not inf * 0 = nan).
        c = (x >= 0) - t
        with np.errstate(invalid='ignore'):
            linear = zero_where(c == 0, c * x)
        return _batch_mean(linear + log_term, len(x), x.dtype)

    def backward(self, gy, *, needs_input_grad):
        x, t = self.retained_inputs()
        scale = gy * (1.0 / len(x))
        gx = (sigmoid(x) - t) * scale if needs_input_grad[0] else None
        gt = x * -scale if needs_input_grad[1] else None
        return gx, gt


def _check_same_shape(f, x, t, x_name='x'):
    """ValueError naming the function ``f`` unless its inputs ``x_name`` and t (the
    targets) have one shape."""
    if x.shape != t.shape:
        raise ValueError(
            f'{type(f).__name__}: {x_name} of shape {x.shape} and t of shape {t.shape} differ'
        )


def _probability_target(name, t, x, x_name='x'):
    """The targets ``t`` in x's dtype and shape (see the module's rule on shapes),
    checked to lie in [0, 1].  A Variable is converted by functions, so that it gets a
    gradient; an array is not copied here, since the call that keeps it copies it."""
    if isinstance(t, Variable):
        t = astype(as_input(t, name, 1), x.dtype)
        values = t.data
    else:
        t = values = _target(name, t).astype(x.dtype, copy=False)
    check_same_elements(name, x.shape, t.shape, (x_name, 't'))
    if values.size and not (0 <= values.min() and values.max() <= 1):  # nan fails too
        raise ValueError(
            f'{name}: targets t must lie in [0, 1], got values from {values.min()} to '
            f'{values.max()}'
        )
    return reshape(t, x.shape) if isinstance(t, Variable) else t.reshape(x.shape)


def sigmoid_cross_entropy(x, t):
    """Binary cross entropy of the logits x against targets t in [0, 1] (the shape of x,
    or one that differs from it only in axes of size 1, as (N,) for x of shape (N, 1)),
    summed and divided by len(x); computed stably as
    (1 - t) softplus(x) + t softplus(-x), exactly also for infinite x (loss(inf, 1) = 0,
    loss(inf, 0) = inf).  t is taken in x's dtype.
    Derivatives: (sigmoid(x) - t) / len(x) to x; -x / len(x) to t when t is a Variable
    (an array t is a constant)."""
    name = 'sigmoid_cross_entropy'
    x = as_input(x, name)
    _batch_size(name, x)
    if x.dtype.kind != 'f':
        raise TypeError(f'{name}: x must hold floating-point logits, got dtype {x.dtype}')
    return SigmoidCrossEntropy()(x, _probability_target(name, t, x))


# ---- binary cross entropy ----------------------------------------------------------------
#: How close to 0 and 1 probabilities are clipped, by float size in bytes.
_EPS = {8: 1e-15, 4: 1e-7, 2: 1e-3}


class BinaryCrossEntropy(Function):
    """y = -sum(t log p + (1 - t) log(1 - p)) / len(p) for probabilities p and targets t
    of one shape, with p clipped to [eps, 1 - eps].
    Derivatives: (p - t) / (p (1 - p)) * gy / len(p) to p inside the clip range, 0
    outside; (log(1 - p) - log(p)) * gy / len(p) to t, with p clipped."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def __init__(self, eps):
        self.eps = eps

    def forward(self, p, t):
        _check_same_shape(self, p, t, 'p')
        xp = cuda.get_array_module(p)
        eps = self.eps
        # the derivative of the clip, 1 inside [eps, 1 - eps] and 0 outside, as a
        # constant of backward (None when the clip cuts nothing)
        inside = (p >= eps) & (p <= 1 - eps)
        self.inside = None if inside.all() else inside.astype(p.dtype)
        p = xp.clip(p, eps, 1 - eps)
        loss = t * xp.log(p) + (1 - t) * xp.log1p(-p)
        return _batch_mean(loss, -len(p), p.dtype)

    def backward(self, gy, *, needs_input_grad):
        p, t = self.retained_inputs()
        pc = clip(p, self.eps, 1 - self.eps)
        scale = gy * (1.0 / len(p))
        gp = gt = None
        if needs_input_grad[0]:
            gp = (pc - t) / (pc * (1 - pc)) * scale
            if self.inside is not None:
                gp = gp * self.inside
        if needs_input_grad[1]:
            gt = (log(1 - pc) - log(pc)) * scale
        return gp, gt


def binary_cross_entropy(p, t, eps=None):
    """Cross entropy of probabilities p against targets t in [0, 1] (the shape of p, or
    one that differs from it only in axes of size 1, as (N,) for p of shape (N, 1)):
    -sum(t log p + (1 - t) log(1 - p)) / len(p).  p is clipped to [eps, 1 - eps] so that
    p = 0 or 1 gives a finite loss; eps defaults to 1e-15 for float64 and 1e-7 for
    float32 (a real number in (0, 0.5) if given).  t is taken in p's dtype.
    Derivatives: (p - t) / (p (1 - p)) / len(p) to p, 0 where p was clipped;
    (log(1 - p) - log(p)) / len(p) to t, with p clipped, when t is a Variable (an array
    t is a constant)."""
    name = 'binary_cross_entropy'
    p = as_input(p, name)
    _batch_size(name, p)
    if p.dtype.kind != 'f':
        raise TypeError(f'{name}: p must hold floating-point probabilities, got dtype {p.dtype}')
    values = array_of(p)
    if values.size and not (0 <= values.min() and values.max() <= 1):  # nan fails too
        raise ValueError(
            f'{name}: p must hold probabilities in [0, 1], got values from '
            f'{values.min()} to {values.max()}; for logits use sigmoid_cross_entropy'
        )
    if eps is None:
        eps = _EPS.get(p.dtype.itemsize, 1e-15)
    elif not isinstance(eps, numbers.Real):
        raise TypeError(
            f'{name}: eps must be a number in (0, 0.5), got {eps!r:.40} ({type(eps).__name__})'
        )
    if not 0 < eps < 0.5:
        raise ValueError(f'{name}: eps must be in (0, 0.5), got {eps}')
    float_number(float(eps), p.dtype, name, 'p')  # refused if p's dtype makes it 0
    return BinaryCrossEntropy(float(eps))(p, _probability_target(name, t, p, 'p'))

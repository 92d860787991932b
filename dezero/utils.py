"""Utilities: gradient checks, array helpers and computation-graph output.

Everything here is re-exported from the module that owns it, so that
``dezero.utils.gradient_check`` and friends keep the book's import paths.  The
helpers a user calls by hand whose owners trust their arguments (:func:`sum_to`,
:func:`logsumexp`, :func:`reshape_sum_backward`, :func:`max_backward_shape` of
``dezero.array_ops``) check them here first, with errors that name the helper, and
then run the owner's: ``sum_to`` and ``logsumexp`` take a list or a number as the
array NumPy makes of it.
"""

from dezero import array_ops, cuda
from dezero.array_ops import array_allclose, array_equal
from dezero.checks import check_flag, is_int
from dezero.conv_ops import col2im_array, get_conv_outsize, get_deconv_outsize, im2col_array, pair
from dezero import download as _download
from dezero.download import get_file, show_progress
from dezero.core import Variable, as_variable  # noqa: F401  (the book's utils has them)
from dezero.gradcheck import gradgrad_check, gradient_check, numerical_grad
from dezero.graph import (  # noqa: F401  (_dot_var and _dot_func: the book's steps 25-26)
    Graph,
    _dot_func,
    _dot_var,
    draw_graph,
    get_dot_graph,
    graph_stats,
    plot_dot_graph,
)

#: The name the book's repository used for :func:`gradient_check` in its earlier unit
#: tests (``from dezero.utils import check_backward``), kept so that they run.
check_backward = gradient_check

__all__ = [
    'array_allclose',
    'array_equal',
    'logsumexp',
    'max_backward_shape',
    'reshape_sum_backward',
    'sum_to',
    'gradgrad_check',
    'gradient_check',
    'check_backward',
    'numerical_grad',
    'Graph',
    'draw_graph',
    'get_dot_graph',
    'graph_stats',
    'plot_dot_graph',
    'get_file',
    'pair',
    'get_conv_outsize',
    'get_deconv_outsize',
    'im2col_array',
    'col2im_array',
    'show_progress',
]


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``, undoing NumPy broadcasting: the leading axes that
    broadcasting added are summed away, and the axes where ``shape`` has size 1 are
    summed with keepdims.  ``sum_to(np.ones((2, 3)), (1, 3))`` is ``[[2., 2., 2.]]``.

    ``x`` is an array (NumPy or CuPy), a Variable (summed with ``F.sum``), a number
    or a sequence of numbers; ``shape`` a tuple (or list) of sizes, or one int.
    TypeError for an ``x`` that holds no numbers or a ``shape`` that is no shape,
    ValueError for a shape that ``x`` does not broadcast from."""
    if not isinstance(x, Variable):
        x = _numeric_array('sum_to', x, 'biufc')
    return array_ops.sum_to(x, _shape('sum_to', shape))


def logsumexp(x, axis=1):
    """``log(sum(exp(x), axis))`` of the array ``x`` with keepdims, computed stably
    (see :func:`dezero.array_ops.logsumexp`).  The book's default ``axis=1`` reduces
    each row of a 2-D array; ``axis`` may also be None (every axis), a negative int or
    a tuple of ints.  ``logsumexp(np.log([[1., 3.]]))`` is ``[[log 4]]``.

    ``x`` is an array of real numbers (NumPy or CuPy), a number or a sequence of
    numbers; for a Variable, whose gradient you want, use ``F.logsumexp``.  TypeError
    for an ``x`` that holds no real numbers and for an axis that is no int, ValueError
    for an axis that ``x`` does not have."""
    if isinstance(x, Variable):
        raise TypeError(
            'logsumexp: x is a Variable; dezero.utils.logsumexp works on arrays: use '
            'F.logsumexp(x, axis) for a Variable, or logsumexp(x.data, axis)'
        )
    x = _numeric_array('logsumexp', x, 'biuf')
    return array_ops.logsumexp(x, _axes('logsumexp', axis, x))


def reshape_sum_backward(gy, x_shape, axis, keepdims):
    """The gradient ``gy`` of a sum over ``axis`` of an array of shape ``x_shape``,
    reshaped so that it broadcasts back to ``x_shape``: the summed axes are put back
    with size 1 (nothing changes with ``keepdims`` or ``axis`` None, as in the book).
    ``reshape_sum_backward(np.ones(3), (3, 4), 1, False)`` has shape (3, 1).

    ``gy`` is an array or a Variable (the result is of the same kind) of the sum's
    shape, ``axis`` None, an int or a sequence of ints, ``keepdims`` True or False.
    TypeError or ValueError naming the function for anything else, an axis that
    ``x_shape`` does not have, or a ``gy`` of another shape than the sum's (which
    would broadcast to a wrong gradient)."""
    name = 'reshape_sum_backward'
    keepdims = check_flag(name, 'keepdims', keepdims)
    _check_array_or_variable(name, 'gy', gy)
    x_shape = _shape(name, x_shape)
    axes = _axes_of_shape(name, axis, x_shape)
    if axis is None:
        fits = gy.size == 1
        expected = 'one element'
    else:
        kept = [1 if i in axes else n for i, n in enumerate(x_shape)]
        summed = (
            tuple(kept) if keepdims else tuple(n for i, n in enumerate(x_shape) if i not in axes)
        )
        fits = tuple(gy.shape) == summed
        expected = f'shape {summed}'
    if not fits:
        raise ValueError(
            f'{name}: gy of shape {tuple(gy.shape)} is not the gradient of a sum over axis '
            f'{axis!r} (keepdims={keepdims}) of an array of shape {x_shape}, which has '
            f'{expected}'
        )
    return array_ops.reshape_sum_backward(gy, x_shape, axis, keepdims)


def max_backward_shape(x, axis):
    """The shape of ``x`` (an array or a Variable) with the axes that a max or min
    over ``axis`` (None for all, an int or a sequence of ints) reduces set to 1: the
    shape that the gradient of the reduction is reshaped to, so that it broadcasts
    back to ``x``.  ``max_backward_shape(np.zeros((2, 3, 4)), (0, -1))`` is (1, 3, 1).
    TypeError or ValueError naming the function for anything else."""
    name = 'max_backward_shape'
    _check_array_or_variable(name, 'x', x)
    _axes_of_shape(name, axis, x.shape)
    return array_ops.max_backward_shape(x, axis)


def _check_array_or_variable(name, what, x):
    """TypeError naming the function ``name`` and its argument ``what`` unless ``x``
    is a Variable or an array (NumPy or CuPy)."""
    if not (isinstance(x, Variable) or cuda.is_array(x)):
        raise TypeError(f'{name}: {what} must be an array or a Variable, got {_describe(x, None)}')


def _axes_of_shape(name, axis, shape, hint=''):
    """``axis`` (None, an int or a sequence of ints) as the sorted tuple of the axes
    of an array of ``shape`` it names; TypeError or ValueError naming ``name``, the
    axis and the shape, with ``hint`` added to a ValueError."""
    try:
        return array_ops.normalize_axis(axis, len(shape))
    except TypeError as e:
        raise TypeError(f'{name}: {e}') from None
    except ValueError as e:
        raise ValueError(f'{name}: {e} (x has shape {tuple(shape)}){hint}') from None


def _numeric_array(name, x, kinds):
    """``x`` as an array (a NumPy or CuPy array as it is) whose dtype is of one of
    ``kinds`` (letters of NumPy's ``dtype.kind``); TypeError naming ``name`` else."""
    array = array_ops.attempted_array(x)
    if array is None or array.dtype.kind not in kinds:
        what = 'real numbers' if 'c' not in kinds else 'numbers'
        raise TypeError(f'{name}: x must be an array of {what}, got {_describe(x, array)}')
    return array


def _describe(x, array):
    """What ``x`` (made into ``array``, or None where it could not be) is, for error
    messages."""
    if x is None:
        return 'None'
    if cuda.is_array(x):
        return f'an array of dtype {x.dtype} and shape {x.shape}'
    got = f'{type(x).__name__} {x!r:.60}'
    return got if array is None else f'{got} (dtype {array.dtype})'


def _shape(name, shape):
    """``shape`` (a sequence of sizes, or one int) as a tuple of ints; TypeError naming
    ``name`` for anything else."""
    if is_int(shape):
        return (int(shape),)
    try:
        sizes = tuple(shape)
    except TypeError:
        sizes = None
    if sizes is None or not all(is_int(n) and n >= 0 for n in sizes):
        raise TypeError(
            f'{name}: shape must be a tuple of sizes (ints of 0 or more), got {shape!r:.60}'
        )
    return tuple(int(n) for n in sizes)


def _axes(name, axis, x):
    """``axis`` (None, an int or a sequence of ints) as None or a tuple of axes of the
    array ``x``; TypeError or ValueError naming ``name``, the axis and
    the number of dimensions of ``x``."""
    if axis is None:
        return None
    hint = ''
    if x.ndim == 1 and is_int(axis) and axis == 1:
        hint = '; the default axis=1 reduces the rows of a 2-D array: pass axis=0 or None'
    return _axes_of_shape(name, axis, x.shape, hint)


def __getattr__(name):
    # cache_dir follows DEZERO_HOME, so it is looked up in dezero.download at each access
    if name == 'cache_dir':
        return _download.cache_dir
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

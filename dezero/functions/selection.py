"""Elementwise selection between two inputs: where, maximum, minimum.

Each output element is one of its inputs' elements, so the gradient goes to the input
it came from (shared equally between the two where maximum or minimum meet a tie, as in
PyTorch), summed back to that input's shape where it was broadcast.  The choice itself
is constant where there are no ties, so the derivatives of every order are gy routed
the same way.
"""

import numpy as np

from dezero import cuda
from dezero.array_ops import array_of, float_number, number_overflow
from dezero.core import Function, Variable
from dezero.functions.array import as_input, refuse_missing_data, sum_to


def _sum_to(g, shape):
    """The gradient ``g`` summed down to ``shape`` over broadcast axes."""
    return g if g.shape == shape else sum_to(g, shape)


def _operands(name, a, b, first=0):
    """``a`` and ``b`` as inputs of a binary function ``name``, its arguments ``first``
    and ``first + 1``: Variables and arrays as they are (a Variable holding no data is
    refused); a Python or NumPy number becomes an array of the dtype of the other side
    (on its device) where that is a float array, so that ``maximum(x, 0.0)`` keeps x's
    float32, as PyTorch's does."""

    def is_number(v):
        return isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))

    for i, v in enumerate((a, b), first):
        if not (is_number(v) or isinstance(v, Variable) or cuda.is_array(v)):
            raise TypeError(
                f'{name}: expected Variables, arrays or numbers, got {type(v).__name__} '
                f'(wrap lists with np.array(...))'
            )
        refuse_missing_data(name, v, i)
    if is_number(a) and not is_number(b):
        a = _number_like(name, a, b)
    elif is_number(b) and not is_number(a):
        b = _number_like(name, b, a)
    return as_input(a, name, first), as_input(b, name, first + 1)


def _number_like(name, number, other):
    """The number as a 0-d array of ``other``'s float dtype, or else of the dtype NumPy
    gives an integer array and a Python number (OverflowError naming the function
    ``name`` when that dtype cannot hold the number, as the operators say)."""
    data = array_of(other)
    xp = cuda.get_array_module(data)
    if data.dtype.kind == 'f' and not isinstance(number, complex):
        return xp.asarray(float_number(number, data.dtype, name, 'the other input'))
    try:
        return xp.asarray(number, dtype=np.result_type(data.dtype, number))
    except OverflowError:
        raise number_overflow(name, number, data.dtype, 'the other input') from None


def _check_broadcast(name, *shapes):
    """The shape the ``shapes`` broadcast to; ValueError naming ``name`` if none."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ', '.join(str(s) for s in shapes)
        raise ValueError(f'{name}: shapes {listed} do not broadcast together') from None


# ---- where -------------------------------------------------------------------------------
class Where(Function):
    """y = x where ``condition`` holds, else y, elementwise, the three broadcast
    together.  Derivative: gy where the condition holds to x, gy elsewhere to y (0 in
    the other places), each summed back to its input's shape."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, condition):
        self.condition = condition

    def forward(self, x, y):
        self.shapes = x.shape, y.shape
        return cuda.get_array_module(x).where(self.condition, x, y)

    def backward(self, gy, *, needs_input_grad):
        x_shape, y_shape = self.shapes
        zero = cuda.get_array_module(array_of(gy)).zeros((), gy.dtype)
        gx = _sum_to(Where(self.condition)(gy, zero), x_shape) if needs_input_grad[0] else None
        gy_ = _sum_to(Where(self.condition)(zero, gy), y_shape) if needs_input_grad[1] else None
        return gx, gy_


def where(condition, x, y):
    """Elementwise choice: ``x`` where ``condition`` is True, ``y`` elsewhere, the three
    broadcast together as in NumPy and PyTorch.  ``condition`` is a bool array (or a
    Variable holding one), never differentiated and copied, so that changing it
    afterwards does not change the gradient; a number for x or y takes the dtype of the
    other.
    Derivative: gy where the condition holds to x, gy elsewhere to y, each summed over
    the axes it was broadcast along."""
    if isinstance(condition, Variable):
        condition = condition.data
    elif isinstance(condition, (bool, np.bool_)):
        condition = np.asarray(condition)
    if not cuda.is_array(condition):
        raise TypeError(
            f'where: condition must be a bool array or a Variable holding one, got '
            f'{type(condition).__name__}'
        )
    if condition.dtype != np.bool_:
        raise TypeError(
            f'where: condition must have dtype bool, got {condition.dtype} (compare to '
            f'make one, e.g. x > 0)'
        )
    x, y = _operands('where', x, y, first=1)  # x and y follow the condition
    _check_broadcast('where', condition.shape, x.shape, y.shape)
    arrays = [v.data if isinstance(v, Variable) else v for v in (x, y)]
    data = next((a for a in arrays if cuda.is_array(a) and type(a) is not np.ndarray), None)
    if type(condition) is np.ndarray and data is not None:
        condition = cuda.get_array_module(data).asarray(condition)  # a constant: to the GPU
    # a copy: backward reads the condition, which the caller may change meanwhile
    return Where(condition.copy())(x, y)


# ---- maximum and minimum -------------------------------------------------------------------
class Maximum(Function):
    """y = the larger of x0 and x1, elementwise (broadcast; nan if either is nan).
    Derivative: gy to the larger, half of it to each where they are equal, all of it to
    both where one is nan (as in PyTorch); summed back to each input's shape."""

    retain_inputs = (0, 1)
    retain_outputs = ()

    def forward(self, x0, x1):
        return cuda.get_array_module(x0).maximum(x0, x1)

    def _losers(self, a0, a1):
        """Where x0 loses to x1 (bool arrays), and where x1 loses to x0."""
        return a0 < a1, a0 > a1

    def backward(self, gy, *, needs_input_grad):
        x0, x1 = self.retained_inputs()
        a0, a1 = array_of(x0), array_of(x1)
        xp = cuda.get_array_module(a0)
        zero = xp.zeros((), gy.dtype)
        tie = a0 == a1
        halves = xp.where(tie, 0.5, 1.0).astype(gy.dtype, copy=False) if tie.any() else None
        grads = []
        for x, lost, needed in zip((x0, x1), self._losers(a0, a1), needs_input_grad):
            if not needed:
                grads.append(None)
                continue
            # gy, chosen away where this input lost (0 there even for an infinite gy),
            # and halved at a tie: constants, whose derivative is 0 off the ties
            g = Where(lost)(zero, gy)
            grads.append(_sum_to(g if halves is None else g * halves, x.shape))
        return tuple(grads)


class Minimum(Maximum):
    """y = the smaller of x0 and x1, elementwise (broadcast; nan if either is nan).
    Derivative: gy to the smaller, half of it to each where they are equal, all of it to
    both where one is nan (as in PyTorch); summed back to each input's shape."""

    def forward(self, x0, x1):
        return cuda.get_array_module(x0).minimum(x0, x1)

    def _losers(self, a0, a1):
        return a0 > a1, a0 < a1


def maximum(x0, x1):
    """The elementwise maximum of ``x0`` and ``x1``, broadcast together (nan where
    either is nan); a number takes the dtype of the other side.
    Derivative: gy to the larger input, split in halves where they are equal (as in
    PyTorch)."""
    x0, x1 = _operands('maximum', x0, x1)
    _check_broadcast('maximum', x0.shape, x1.shape)
    return Maximum()(x0, x1)


def minimum(x0, x1):
    """The elementwise minimum of ``x0`` and ``x1``, broadcast together (nan where
    either is nan); a number takes the dtype of the other side.
    Derivative: gy to the smaller input, split in halves where they are equal (as in
    PyTorch)."""
    x0, x1 = _operands('minimum', x0, x1)
    _check_broadcast('minimum', x0.shape, x1.shape)
    return Minimum()(x0, x1)

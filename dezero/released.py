"""Releasing input arrays that no backward will read.

After ``h = linear(x, W); y = sigmoid(h)`` the graph holds ``h`` (sigmoid's input), but
sigmoid's derivative is computed from its output ``y``: the values of ``h`` are never read
again.  When the user has not kept ``h`` either, its array is dead weight, as large as a
whole batch of activations, for as long as the graph lives.

A function whose backward reads no input values says so with ``needs_input_data =
False``.  :meth:`dezero.core.Function.__call__` then queues it here (weakly, and only
when an input array is large), and at the next recorded function call, or when
``backward()`` starts, every queued input that nothing but its function holds any more
gets its ``data`` replaced by a :class:`ReleasedArray`: the shape and dtype stay, the
memory is freed.  Whether anything else holds the Variable is read from its reference
count, compared with the count of an object known to be held once.  Variables that the
user still holds, that another function holds, or that have gradient hooks are never
touched, nor the output of a function whose backward reads its output's values: after
``y = relu(h); z = reshape(y, ...)`` reshape reads nothing of y, but relu does.  Only
functions that say ``needs_output_data = False`` (the default is True, so that a user's
function written as in the book keeps its output) have their outputs released.
"""
import sys
import weakref

#: Arrays smaller than this are not worth the bookkeeping of releasing them.
MIN_BYTES = 1 << 16

#: Weak references to functions whose inputs may be released at the next check.
pending = []


class ReleasedArray:
    """Stands in for an array that was released because no backward reads it: it keeps
    ``shape``, ``dtype``, ``ndim`` and ``size`` (so a graph can still be drawn) and
    raises a RuntimeError on any use of its values."""
    __slots__ = ('shape', 'dtype')
    nbytes = 0
    base = None
    # NumPy must not treat it as an object scalar: ufuncs and conversions raise.

    def __init__(self, array):
        self.shape = array.shape
        self.dtype = array.dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        size = 1
        for n in self.shape:
            size *= n
        return size

    def _refuse(self, *args, **kwargs):
        raise RuntimeError(
            f'the values of this intermediate Variable (shape {self.shape}, {self.dtype}) '
            f'were released after the forward pass, since no backward needs them and '
            f'nothing else held the Variable; keep a reference to the Variable to keep '
            f'its data')

    __array__ = __array_ufunc__ = __array_function__ = _refuse
    __getitem__ = __iter__ = __len__ = __float__ = __int__ = __bool__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = _refuse
    __matmul__ = __rmatmul__ = _refuse

    def __repr__(self):
        return f'<released array of shape {self.shape}, {self.dtype}>'

    __str__ = __repr__


def queue(f):
    """Remember ``f`` (weakly): its large inputs may be released at the next check."""
    for x in f.inputs:
        if x.data.nbytes >= MIN_BYTES:        # a ReleasedArray has nbytes 0
            pending.append(weakref.ref(f))
            return


def _count(holder, i):
    """The reference count of ``holder[i]``, seen from here."""
    return sys.getrefcount(holder[i])


# The count of an object held by one list and nothing else, measured the same way.
_HELD_ONCE = _count([object()], 0)


def _read_by_creator(x):
    """Whether the function that made ``x`` reads its output's values in backward."""
    f = x.creator
    return f is not None and f.needs_output_data


def release_pending():
    """Release the data of every queued function's input that only that function holds."""
    refs = pending[:]
    del pending[:]
    for ref in refs:
        f = ref()
        if f is None or f.inputs is None:
            continue
        inputs = f.inputs
        for i in range(len(inputs)):
            x = inputs[i]
            data = x.data
            if (type(data) is not ReleasedArray and data is not None
                    and data.nbytes >= MIN_BYTES and x._hooks is None
                    and not _read_by_creator(x)):
                del x
                if _count(inputs, i) == _HELD_ONCE:
                    inputs[i].data = ReleasedArray(data)
            del data

"""The define-by-run engine: Variable, Function and the reverse pass.

Read it top to bottom:

1. **Configuration.**  Switches such as ``Config.enable_backprop`` belong to the thread
   that sets them, so a ``no_grad()`` block in one thread leaves the others recording.
2. **Variable.**  A box for an array (``data``) that, after ``backward()``, also holds
   its gradient (``grad``, itself a Variable).  A Variable made by a function remembers
   it as its ``creator``.
3. **Function.**  ``forward`` computes on arrays; calling the function on Variables
   also records the call: the outputs point to the function, the function to its
   ``inputs``.  A function declares which inputs and outputs its ``backward`` reads
   (``retain_inputs``, ``retain_outputs``); the graph keeps the others only as
   stand-ins that know their shape but hold no data, so an intermediate array (or a
   constant one given with Variables) that nothing needs is freed as soon as the user
   lets go of it.
4. **The reverse pass.**  :func:`backprop` runs each function's ``backward`` once,
   newest first, after every gradient flowing into it has been summed.  Each function
   states its derivative once, in ``backward``.  The everyday first-order pass runs it on
   plain arrays (inside the pass a Function called on arrays returns arrays, and records
   nothing); with ``create_graph=True`` it runs on Variables and is recorded itself, so
   the gradient can be differentiated again.

The arithmetic operators and array methods of Variable (``+``, ``reshape``, ``sum``...)
are attached by :func:`dezero.operators.setup_variable`, which ``import dezero`` runs.
Two debugging aids cost nothing until used: gradient hooks
(:meth:`Variable.register_hook`) and :func:`detect_anomaly` (:mod:`dezero.anomaly`).
"""

import contextlib
import copy
import gc
import importlib
import inspect
import numbers
import operator
import sys
import threading
import time
import types
import weakref

import numpy as np

from dezero import anomaly as _anomaly
from dezero import cuda
from dezero.checks import check_flag


# ======================================================================================
# 1. Configuration
# ======================================================================================
class _Settings(threading.local):
    """The switches of the current thread; the class attributes are every new thread's
    starting values."""

    enable_backprop = True  # record the graph while computing
    train = True  # layers such as dropout behave as in training
    detect_anomaly = False  # check every value for NaN and infinity
    arrays_only = False  # inside a first-order backward: functions give arrays
    # inside the gradient checks: layers keep a wider floating input (float64 for a
    # float32 layer) instead of converting it to their dtype (see dezero.gradcheck)
    wide_inputs = False
    # Where new functions are being made, for pictures of the graph (dezero.graph): the
    # ``(backward_order, layer_path)`` they record while marking is on (see mark_origin)
    origin = None

    def __init__(self):  # run in each thread at its first use of dezero
        global _threads
        _threads += 1


_threads = 0  # how many threads have used dezero (see Function.__call__)
_settings = _Settings()
_SWITCHES = ('enable_backprop', 'train', 'detect_anomaly')


class _PerThread(type):
    """Makes ``Config.name`` read and assign the calling thread's switch."""

    def __getattr__(cls, name):
        if name in _SWITCHES:
            return getattr(_settings, name)
        raise AttributeError(
            f'Config has no setting {name!r}; expected one of {", ".join(_SWITCHES)}'
        )

    def __setattr__(cls, name, value):
        if name not in _SWITCHES:
            raise AttributeError(
                f'Config has no setting {name!r}; expected one of {", ".join(_SWITCHES)}'
            )
        setattr(_settings, name, check_flag('Config', name, value))


class Config(metaclass=_PerThread):
    """The switches, read and assigned as ``Config.enable_backprop = False``; each is
    True or False (a string such as 'False' is refused with a TypeError).

    ``enable_backprop``: record the graph while computing (off under :func:`no_grad`).
    ``train``: training behaviour of layers such as dropout (off under :func:`test_mode`).
    ``detect_anomaly``: check every value for NaN and infinity (on under
    :func:`detect_anomaly`).  Each thread has its own values, starting from True, True
    and False.
    """


@contextlib.contextmanager
def using_config(name, value):
    """Set ``Config.<name>`` to ``value`` (True or False) inside a ``with`` block (in
    this thread), restoring it after."""
    if name not in _SWITCHES:
        raise AttributeError(
            f'using_config: Config has no setting {name!r}; expected one of {", ".join(_SWITCHES)}'
        )
    value = check_flag('using_config', name, value)
    old = getattr(_settings, name)
    setattr(_settings, name, value)
    try:
        yield
    finally:
        setattr(_settings, name, old)


@contextlib.contextmanager
def keeping_wide_inputs():
    """Inside a ``with`` block (in this thread), layers compute a floating-point input
    wider than their parameters (float64 given to a float32 layer) in its own dtype
    rather than converting it to theirs: the gradient checks judge a layer by its
    formula in float64, not by float32 rounding."""
    old = _settings.wide_inputs
    _settings.wide_inputs = True
    try:
        yield
    finally:
        _settings.wide_inputs = old


def no_grad():
    """Context manager that computes without recording a graph (no backward possible)."""
    return using_config('enable_backprop', False)


def test_mode():
    """Context manager for inference: layers such as dropout behave as at test time."""
    return using_config('train', False)


def detect_anomaly(enabled=True):
    """Context manager that finds the operation which first produced a NaN or an infinity.

    Inside the block every function call remembers the user's source line that made it
    and checks its outputs, and ``backward()`` checks every gradient each function
    returns (and every operation its ``backward`` runs).  The first non-finite value
    raises :class:`dezero.anomaly.AnomalyError` (a FloatingPointError) naming the
    function, its input shapes and dtypes, ``forward`` or ``backward``, and that source
    line.  Integer arrays are not checked.  Run both the forward pass and ``backward()``
    inside the block to get the source line for backward faults.  Slow; off by default,
    and free when off.  ``detect_anomaly(False)`` switches it off inside a block;
    ``enabled`` must be True or False.
    """
    return using_config('detect_anomaly', check_flag('detect_anomaly', 'enabled', enabled))


# ======================================================================================
# 2. Variable
# ======================================================================================
def as_array(x, array_module=np):
    """Return ``x`` as an array: scalars (Python or NumPy) become 0-d arrays of
    ``array_module`` (NumPy by default); NumPy and CuPy arrays are returned as they are."""
    if isinstance(x, cuda.array_types):
        return x
    if not isinstance(x, np.generic) and cuda.is_array(x):  # CuPy not registered yet
        return x
    return array_module.asarray(x)


def as_variable(obj, owner='as_variable'):
    """Return ``obj`` as a Variable: Variables pass through, arrays and scalars are wrapped.

    Lists and other objects are refused with a TypeError, as a list has no single dtype;
    its message starts with ``owner`` (the function that was given ``obj``).
    """
    if isinstance(obj, Variable):
        return obj
    if isinstance(obj, cuda.array_types) or cuda.is_array(obj):
        return Variable(obj)
    if isinstance(obj, (int, float, complex, np.generic)) and not isinstance(obj, bool):
        return Variable(np.asarray(obj))
    raise TypeError(
        f'{owner}: cannot use an object of type {type(obj).__name__} as a '
        f'Variable; expected a Variable, a NumPy array or a scalar '
        f'(wrap lists with np.array(...))'
    )


def plain_array(data, where):
    """The NumPy array subclass ``data`` (``np.matrix``, ``np.memmap``...) as a plain
    ndarray over the same memory: a matrix's ``*`` is a matrix product, and its
    reductions keep two axes, so dezero computes on plain arrays only.  A masked array
    is refused with a TypeError naming ``where``: its mask cannot be kept."""
    if isinstance(data, np.ma.MaskedArray):
        raise TypeError(
            f'{where}: got a masked array, whose mask dezero cannot keep; pass '
            f'a.filled(value) (the masked entries replaced), or a.data to ignore the mask'
        )
    return np.asarray(data)


def _checked_data(data):
    """What ``Variable.data = data`` stores for something other than a NumPy array of
    real numbers: a 0-d array for a NumPy scalar (``x.data = x.data - 1`` on 0-d data
    gives one), an array of numbers or None as it is; TypeError for anything else."""
    if isinstance(data, np.generic):
        data = np.asarray(data)
    if data is None:
        return data
    if isinstance(data, np.ndarray) and type(data) is not np.ndarray:
        data = plain_array(data, 'Variable.data')
    if cuda.is_array(data):
        _refuse_non_numbers('Variable.data', data)
        return data
    raise TypeError(
        f'Variable.data: expected a NumPy (or CuPy) array or None, got '
        f'{type(data).__name__} ({data!r:.60}); wrap it with np.array(...)'
    )


def _refuse_non_numbers(where, data):
    """TypeError naming ``where`` unless the array ``data`` holds numbers."""
    if data.dtype.kind not in 'biufc':
        raise TypeError(
            f'{where}: data must hold numbers (bool, integer, floating point or complex), '
            f'got dtype {data.dtype}'
        )


# Counts assignments to Variable.data (see Variable._set_data).  Every recorded
# function notes its value, so that backward can tell a value changed since.
_data_clock = 0


class Variable:
    """A node of the computation graph: an array ``data`` and, after backprop, ``grad``.

    ``Variable(data, name=None)`` accepts a NumPy (or CuPy) array or ``None``; anything
    else (a float, a list) raises TypeError: wrap it with ``np.array(...)``.
    ``requires_grad`` says whether gradients flow into it: True for the Variables you
    make and for results computed under ``no_grad()`` (which, as in the book, are
    leaves of any graph that uses them later), but False for bool data, which has no
    derivative; False for constants (the arrays a function wraps, the seeds of
    ``backward``); and for a function's output, whether any of its inputs requires
    one.
    """

    __slots__ = (
        '_data',
        '_changed_at',
        '_name',
        'grad',
        'creator',
        'generation',
        'requires_grad',
        '_index',
        '_hooks',
        '_stand_in',
        '_view_of',  # set only on a view of an input's data (see _note_view)
        '_unrecorded',  # set only on a result computed under no_grad() (see _wrap)
        '_shape_before_none',  # set only once data is set to None (see _set_data)
        '__weakref__',
    )
    # NumPy leaves binary operators with a Variable to the Variable, so that
    # ``np.ones(3) * v`` runs ``v.__rmul__`` and gives a Variable.
    __array_priority__ = 200
    __array_ufunc__ = None

    def __init__(self, data, name=None):
        if type(data) is not np.ndarray and data is not None:
            if isinstance(data, np.ndarray):  # np.matrix, np.memmap...
                data = plain_array(data, 'Variable')
            elif not isinstance(data, cuda.array_types) and not cuda.is_array(data):
                raise TypeError(
                    f'Variable: data must be a NumPy (or CuPy) array or None, got '
                    f'{type(data).__name__} ({data!r:.60}); wrap it with np.array(...)'
                )
        self._data = data
        self._changed_at = 0
        self._name = name
        self.grad = None
        self.creator = None
        self.generation = 0
        if data is not None:
            _refuse_non_numbers('Variable', data)
        # bool data has no derivative: such a Variable is a constant, as in PyTorch
        self.requires_grad = data is None or data.dtype.kind != 'b'
        self._index = 0  # which output of its creator it is
        self._hooks = None  # {key: fn} once a hook is registered
        self._stand_in = None  # what the graph holds in its place, if anything

    # ---- the name ----------------------------------------------------------------------
    @property
    def name(self):
        """The variable's name (any value; None for none), shown in pictures of the
        graph and in error messages."""
        return self._name

    @name.setter
    def name(self, name):
        # A name given after the variable was used reaches the stand-in the graph holds
        # in its place (see _StandIn), so that pictures drawn once it is gone show it.
        self._name = name
        if self._stand_in is not None:
            self._stand_in.name = name

    # ---- the data, and when it changed -----------------------------------------------
    # Assigning ``data`` (``v.data = a``, and ``v.data -= a``, which assigns the updated
    # array back, as every optimizer does) notes the moment in ``_changed_at``: a tick
    # of the clock that every function reads when it is recorded.  A backward that
    # would read a value changed after its forward pass used it raises instead of
    # computing a gradient from the new value.  Setting it to None (the book's
    # ``t.data = None``, freeing an intermediate result that no backward reads) notes
    # the shape and dtype it had, the first time, which the reverse pass still checks
    # gradients against.  The engine reads ``_data`` directly.
    def _set_data(self, data):
        global _data_clock
        if type(data) is not np.ndarray or data.dtype.kind not in 'fiu':
            data = _checked_data(data)
            if data is None:
                old = self._data
                # the first data set to None is the forward pass's (an output is made
                # once; a later None would note data given after it)
                if old is not None and not hasattr(self, '_shape_before_none'):
                    self._shape_before_none = (old.shape, old.dtype)
            elif data.dtype.kind == 'b':
                self.requires_grad = False  # a constant now, as bool Variables are
        if not self.requires_grad and data is not None and data.dtype.kind != 'b':
            old = self._data  # numbers where bool data made it a constant: it takes
            if old is not None and old.dtype.kind == 'b':  # gradients again, as before
                creator = self.creator
                self.requires_grad = creator is None or any(x.requires_grad for x in creator.inputs)
        _data_clock += 1
        self._changed_at = _data_clock
        if data is not None and data.base is not None:  # a view, perhaps written through
            viewed = getattr(self, '_view_of', None)  # (set on views a function made)
            if viewed is not None:  # a view's data written in place changes what it views
                _note_change_through_view(viewed(), data, _data_clock)
        self._data = data

    data = property(
        operator.attrgetter('_data'),
        _set_data,
        doc='The array this Variable holds (NumPy or CuPy), or None.',
    )

    # ---- array-like properties -------------------------------------------------------
    # The array's own: v.shape is v.data.shape.  (An attrgetter reads them without a
    # Python call; the engine and the layers read shapes on every operation.  Nor does
    # Variable define __getattr__, which would cost every attribute read of every
    # Variable the interpreter's fast path: 2% of a small training step.)
    shape = property(operator.attrgetter('_data.shape'), doc='The shape of the data.')
    ndim = property(operator.attrgetter('_data.ndim'), doc='The number of dimensions.')
    size = property(operator.attrgetter('_data.size'), doc='The number of elements.')
    dtype = property(operator.attrgetter('_data.dtype'), doc='The dtype of the data.')

    def __contains__(self, value):
        """``value in v``: whether the data holds ``value`` (the data of a Variable),
        as ``value in array`` says.  (Iterating would compare Variables, which are
        equal only to themselves.)"""
        if self._data is None:
            raise TypeError("'in': this Variable holds no data (None)")
        return (value._data if isinstance(value, Variable) else value) in self._data

    def __len__(self):
        """The length of the first axis, as ``len(array)``; TypeError for 0-d data."""
        data = self._data
        if data is None or data.ndim == 0:
            raise TypeError(f'len() of {_no_axis(self)}')
        return len(data)

    def __iter__(self):
        """Iterate over the first axis: ``v[0]``, ``v[1]``, ... (each one a Variable
        of the graph, as indexing gives); TypeError for 0-d data, as NumPy raises."""
        if self._data is None or self._data.ndim == 0:
            raise TypeError(f'iteration over {_no_axis(self)}')
        return (self[i] for i in range(len(self._data)))

    def __bool__(self):
        """The truth of the single element, as ``bool(array)``; ValueError for data of
        another size, whose truth is ambiguous (use ``.any()`` or ``.all()`` of the
        data)."""
        return bool(self._single_element('bool()', ValueError))

    def __repr__(self):
        if self._data is None:
            return 'variable(None)'
        body = str(self._data).replace('\n', '\n' + ' ' * len('variable('))
        return f'variable({body})'

    # ---- conversions -----------------------------------------------------------------
    # They read the data and leave the graph: the results are plain numbers and arrays.
    def item(self):
        """The single element of the data as a Python number, whatever the shape
        (``()``, ``(1,)``, ``(1, 1)``...), as NumPy's ``item()``; ValueError naming
        the shape for data of another size."""
        return self._single_element('Variable.item()', ValueError)

    def __float__(self):
        return float(self._single_element('float()', TypeError))

    def __int__(self):
        return int(self._single_element('int()', TypeError))

    def __complex__(self):
        return complex(self._single_element('complex()', TypeError))

    def _single_element(self, what, error):
        data = self._data
        if data is None:
            raise error(f'{what}: this Variable holds no data (None)')
        if data.size != 1:
            raise error(
                f'{what}: only a Variable of one element converts to a Python '
                f'number, got shape {data.shape}; reduce it first (v.sum()) or '
                f'pick an element (v[0])'
            )
        return data.item()

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(v)`` and ``np.array(v)``: the NumPy array of the data, cast to
        ``dtype`` when given, copied when ``copy`` is True.  With ``copy=False``
        (NumPy 2) a cast that needs a copy raises ValueError.  Data on a GPU is
        refused (copy it with ``to_cpu()`` first), as is a Variable without data.

        Arithmetic is not affected: ``ndarray + v`` still calls the Variable's operator
        (``__array_ufunc__ = None``), and NumPy ufuncs (``np.exp(v)``) refuse
        Variables, as most other NumPy functions do (see :meth:`__array_function__`)."""
        data = self._data
        if data is None:
            raise ValueError('np.asarray: this Variable holds no data (None)')
        if not isinstance(data, np.ndarray) or cuda.is_gpu_array(data):
            raise TypeError(
                f'np.asarray: this Variable holds a {cuda.device_name(data)} '
                f'array of type {type(data).__name__}, which NumPy cannot read; '
                f'copy it to the CPU first with v.to_cpu() or '
                f'dezero.cuda.as_numpy(v.data)'
            )
        if dtype is not None and np.dtype(dtype) != data.dtype:
            if copy is False:
                raise ValueError(
                    f'np.asarray(copy=False): the data is {data.dtype}; '
                    f'making it {np.dtype(dtype)} needs a copy'
                )
            return data.astype(dtype)
        return data.copy() if copy else data

    def __array_function__(self, func, types, args, kwargs):
        """NumPy functions given a Variable (``np.dot(x, W)``).  A NumPy function
        computes on the data and records no graph, so its result would silently carry
        no gradient: it raises a TypeError naming the function and what to use
        instead.  Two kinds still work as NumPy has them work: those that NumPy
        carries out by the Variable's own method (``np.sum``, ``np.max``, ``np.min``,
        ``np.transpose``), which give Variables of the graph, and those that only
        inspect or compare the data (``np.shape``, ``np.ndim``, ``np.size``,
        ``np.allclose``, ``np.isclose``, ``np.array_equal``, ``np.array_equiv``) or
        give positions, counts, dtypes or truth values, which have no gradient
        (``np.argmax``, ``np.argsort``, ``np.nonzero``, ``np.count_nonzero``,
        ``np.any``, ``np.result_type``, ``np.iscomplexobj``, ``np.shares_memory``,
        ``np.array2string`` and the like; ``np.testing.assert_allclose`` and
        ``assert_array_equal`` work so).  A library that calls other NumPy functions
        on what it is given (``plt.bar``) needs ``v.data``, as PyTorch's need
        ``t.detach()``.  ``np.asarray(v)`` gives the
        data (see :meth:`__array__`)."""
        if func in _NUMPY_METHODS:
            return func._implementation(*args, **kwargs)
        if func in _NUMPY_ON_DATA:
            return func(*_data_of(args), **{k: _data_of(v) for k, v in kwargs.items()})
        raise TypeError(_numpy_refusal(func))

    # ---- graph -----------------------------------------------------------------------
    def set_creator(self, func):
        """Record ``func`` as the function that produced this variable (its only
        output)."""
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self):
        """Forget the gradient (set ``grad`` to None) before a new backward pass."""
        self.grad = None

    def unchain(self):
        """Cut the link to the creating function; this variable becomes a leaf (and so
        does the stand-in the graph may hold for it)."""
        self.creator = None
        if self._stand_in is not None:
            self._stand_in.cut(self)

    def unchain_backward(self):
        """Cut every link in the graph behind this variable (for truncated backprop):
        every variable behind it, and every output of the functions behind it that is
        still alive, becomes a leaf."""
        stack = [self.creator] if self.creator is not None else []
        seen = set()
        while stack:
            f = stack.pop()
            if f in seen:
                continue
            seen.add(f)
            if f is not self.creator:  # the outputs of functions behind this one
                for ref in f.outputs:
                    y = ref()
                    if y is not None:
                        y.unchain()
            for x in f.inputs:
                if x.creator is not None:
                    stack.append(x.creator)
                    x.creator = None

    def register_hook(self, fn):
        """Call ``fn(grad)`` with this variable's gradient (a Variable) during backward.

        When it runs: for a variable made by a function, once all gradients flowing
        into it have been summed, just before its creator's backward uses them; for a
        leaf, at the end of the backward pass, with the gradient that pass computed
        (before it is added to an existing ``.grad``); for the variable ``backward()``
        starts from, with the seed gradient.  If ``fn`` returns something other than
        None (a Variable or an array of the same shape), that replaces the gradient,
        e.g. to clip it.  Hooks run in the order they were registered; one that a
        hook removes does not run after it, and one that a hook registers on this
        variable while its hooks run waits for the next pass.  Returns a handle whose
        ``remove()`` unregisters the hook, also once the variable is gone.

        The graph holds a function's outputs weakly, so that intermediate results
        nobody holds are freed; the creator of a variable keeps its hooks too, so that
        they run even when the caller has dropped the variable (as in ``a = x * 2;
        a.register_hook(fn); return F.exp(a)``).
        """
        if not callable(fn):
            raise TypeError(f'register_hook: expected a callable fn(grad), got {type(fn).__name__}')
        if self._hooks is None:
            self._hooks = {}
            creator = self.creator
            if creator is not None:  # the same dict: the hooks, not the variable
                if creator._output_hooks is None:
                    creator._output_hooks = {}
                creator._output_hooks[self._index] = self._hooks
        handle = HookHandle(self)
        self._hooks[handle.key] = fn
        return handle

    def backward(self, retain_grad=False, create_graph=False):
        """Compute the gradient of this variable with respect to every variable behind it.

        The seed gradient is ``grad`` if set (a Variable or an array of this variable's
        shape, floating point, on its device; cast to its dtype), else ones of this
        variable's shape (the derivative of a scalar loss with respect to itself), in
        its dtype, or float64 for integer data.  Gradients accumulate into ``.grad`` of
        the leaves.  Those of intermediate variables (the outputs of the functions the
        pass runs) are dropped unless ``retain_grad`` is True: without it, as in the
        book, each such intermediate still alive ends with ``.grad`` None, even one
        that an earlier ``retain_grad`` pass gave a gradient.  With it, each gets this
        pass's gradient added to its ``.grad``, accumulating over ``retain_grad``
        passes as a leaf's does (as in the book); a temporary the caller never held is
        gone, and its gradient with it.  Either way the gradients passed on to the
        variables behind are this pass's alone, never one kept in ``.grad``.

        With ``create_graph=True`` the backward computation is itself recorded, so the
        gradients can be differentiated again; such a ``.grad`` is computed from the
        variable, so the two refer to each other until ``cleargrad()`` (or the garbage
        collector) parts them.  Gradient hooks get a copy of the gradient; with
        ``retain_grad`` this variable's ``.grad`` is the gradient the pass started from,
        not what its hooks made of it.

        A seed set as a Variable of this variable's dtype is, with ``create_graph=True``,
        an input of the gradients' graph: they can be differentiated with respect to it.
        No ``.grad`` is that Variable or shares its memory (one that would is a recorded
        copy).  A seed of a wider dtype that the cast makes infinite (1e40 for float32
        data) raises OverflowError.

        ``retain_grad`` and ``create_graph`` must be True or False: a seed is never an
        argument (``y.backward(seed)`` raises TypeError; set ``y.grad = Variable(seed)``
        first).

        Refused: a variable computed without a graph (under ``no_grad()``, or from
        constants only), bool data, and a backward that would read a value assigned
        (``v.data = ...``, ``v.data -= ...``, an optimizer's update) after the forward
        pass used it.
        """
        if retain_grad is not False or create_graph is not False:  # (else nothing to check)
            retain_grad, create_graph = _backward_flags(retain_grad, create_graph)
        data = self._data
        if data is None:
            raise ValueError('backward: this Variable holds no data (None)')
        unrecorded = getattr(self, '_unrecorded', False)
        if unrecorded or not self.requires_grad:
            _seed(self, None, False)  # (which refuses bool data as such)
            if unrecorded:
                raise RuntimeError(
                    f'backward: this Variable {_describe(self)} was computed under '
                    f'no_grad(), so no graph leads back from it; compute it with '
                    f'backprop enabled'
                )
            raise RuntimeError(
                f'backward: this Variable {_describe(self)} does not require a '
                f'gradient: it was computed from constants only (arrays, bool data, '
                f'arrays returned by a backward), so no graph leads back from it; '
                f'compute it from Variables'
            )
        seed = _seed(self, self.grad, create_graph)
        if not isinstance(seed, Variable) and (create_graph or self.creator is None):
            seed = _constant(seed)
        if self.creator is None:  # d(self)/d(self) is the seed
            if self._hooks is not None:
                with using_config('enable_backprop', create_graph):
                    seed = _run_hooks(self._hooks, self.shape, seed)
            elif seed is self.grad:  # the Variable set by hand (recorded): a copy, leading to it
                with using_config('enable_backprop', True):
                    seed = _Copy()(seed)
            self.grad = seed
            return
        given = self.grad
        self.grad = None  # the seed again afterwards with retain_grad (see below)
        try:
            if create_graph:  # the pass, and the recorded sums into .grad, are one backward
                order = _order_of_pass([self])
                with mark_origin(backward_order=order):
                    grads = _run_pass([self], [seed], retain_grad, True, None, True, order)
                    _store_gradients(grads, True, seed if seed is given else None)
            else:
                grads = _run_pass([self], [seed], retain_grad, False, None, clear=True)
                _store_gradients(grads, False)
        except BaseException:
            self.grad = given  # a failed pass leaves the seed set by hand in place
            raise
        if retain_grad and self._hooks is not None:  # the gradient the pass started
            # from, not what the hooks made of it, which the next call would take as its
            # seed and pass through them again (the book keeps the ones it started from)
            start = seed._data if isinstance(seed, Variable) else seed
            self.grad = _fresh_variable(start.copy(), True)

    # ---- copies ----------------------------------------------------------------------
    def __reduce_ex__(self, protocol):
        """How ``copy.deepcopy(v)``, ``copy.copy(v)`` and ``pickle`` copy a Variable:
        as a leaf of the same class (a Parameter stays one) with the data, the name,
        the gradient, ``requires_grad`` and the gradient hooks (the same functions, so
        that a copied model keeps its masks and clipping; pickling a hook that cannot
        be pickled, a lambda, fails), and none of the graph behind it, which holds
        functions and weak references (a deep copy copies the arrays too).  A
        :class:`HookHandle` copied or pickled with the variable removes the copy's
        hook."""
        own = getattr(self, '__dict__', None) or None  # a subclass's own attributes
        slots = {}  # and the slots subclasses add
        for cls in type(self).__mro__:
            if cls is Variable:
                break
            for slot in _slots_of(cls):
                if hasattr(self, slot):
                    slots[slot] = getattr(self, slot)
        hooks = None if self._hooks is None else dict(self._hooks)
        args = (type(self), self._data, self.name, self.grad, self.requires_grad, hooks)
        return _copied_leaf, args, (own, slots) if slots else own

    def __setstate__(self, state):
        """Take the state of a pickle: from :meth:`__reduce_ex__`, a subclass's own
        attributes and slots (and from pickles of earlier versions, every slot); or,
        from a Variable (or Parameter) pickled by the book's
        DeZero, whose default pickling gives its attributes, its ``data``, ``name`` and
        ``grad``, taken as a leaf, as dezero's copies are."""
        if isinstance(state, tuple):  # (attributes, slots): dezero's, this one or older
            own, slots = state
            if own:
                self.__dict__.update(own)
            for name, value in (slots or {}).items():  # (the name was a slot 'name')
                setattr(self, '_name' if name == 'name' else name, value)
            return
        try:
            self._data
        except AttributeError:  # not made by _copied_leaf: the book's pickle
            if not isinstance(state, dict) or 'data' not in state:
                raise TypeError(
                    f'{type(self).__name__}: cannot take the pickled state '
                    f'{state!r:.80}; expected that of a Variable'
                ) from None
            Variable.__init__(self, state['data'], state.get('name'))
            grad = state.get('grad')
            if grad is not None:
                self.grad = grad if isinstance(grad, Variable) else as_variable(grad)
            return
        self.__dict__.update(state)  # a subclass's own attributes

    # ---- device ----------------------------------------------------------------------
    def to_cpu(self):
        """Move the data (and the gradient, if any) to the CPU as NumPy arrays; a
        no-op for NumPy data."""
        moved = cuda.as_numpy(self._data) if self._data is not None else None
        if moved is not self._data:  # (a change of data only if it moved)
            self.data = moved
        if self.grad is not None:
            self.grad.to_cpu()

    def to_gpu(self):
        """Move the data (and the gradient, if any) to the current GPU as CuPy arrays.

        Raises RuntimeError, saying how to install CuPy, when CuPy is missing, or why
        no GPU can be used."""
        cuda.require_gpu('Variable.to_gpu')
        moved = cuda.as_cupy(self._data) if self._data is not None else None
        if moved is not self._data:
            self.data = moved
        if self.grad is not None:
            self.grad.to_gpu()


# The NumPy functions that take Variables (see Variable.__array_function__): those
# that call the Variable's method of the same name, those that only read the data, and
# those whose results are positions, counts or truth values, which have no gradient.
_NUMPY_METHODS = frozenset([np.sum, np.max, np.amax, np.min, np.amin, np.transpose])
_NUMPY_ON_DATA = frozenset(
    [np.shape, np.ndim, np.size, np.allclose, np.isclose, np.array_equal, np.array_equiv]
    + [np.argmax, np.argmin, np.argsort, np.nonzero, np.flatnonzero, np.count_nonzero]
    + [np.any, np.all, np.result_type, np.can_cast, np.min_scalar_type]
    + [np.iscomplexobj, np.isrealobj, np.iscomplex, np.isreal]
    + [np.shares_memory, np.may_share_memory, np.array_repr, np.array_str, np.array2string]
)


def _data_of(value):
    """A Variable's data as ``np.asarray`` gives it (see Variable.__array__, which
    refuses a Variable holding none), a list or tuple of them item by item; anything
    else as it is."""
    if isinstance(value, Variable):
        return value.__array__()
    if isinstance(value, (list, tuple)):
        return type(value)(_data_of(v) for v in value)
    return value


# NumPy functions whose dezero function has another name; the others go by their own
_DEZERO_NAMES = {
    'dot': 'matmul',
    'vdot': 'matmul',
    'inner': 'matmul',
    'outer': 'matmul',
    'tensordot': 'matmul',
    'einsum': 'matmul',
    'concatenate': 'concat',
    'amax': 'max',
    'amin': 'min',
}


def _numpy_refusal(func):
    """The message of the TypeError for the NumPy function ``func`` given a Variable,
    naming the dezero function to use where there is one."""
    name = getattr(func, '__name__', repr(func))
    where = f'{getattr(func, "__module__", None) or "numpy"}.{name}'
    functions = sys.modules.get('dezero.functions')  # (loaded by ``import dezero``)
    equivalent = _DEZERO_NAMES.get(name, name)
    if functions is not None and inspect.isfunction(getattr(functions, equivalent, None)):
        instead = f'the dezero.functions equivalent (F.{equivalent})'
    else:
        instead = 'dezero.functions (which record the graph)'
    return (
        f"{where}: NumPy functions do not record dezero's graph, so the result would "
        f'carry no gradient; use {instead}, or pass v.data for a plain array (as '
        f'for a library that calls NumPy, such as plt.bar(x.data, y.data))'
    )


class Parameter(Variable):
    """A Variable that a layer owns and an optimizer updates."""

    __slots__ = ()


_new_variable = object.__new__

# Function objects whose first call is running, by id: the thread that claimed each
# (see Function.__call__).
_claims = {}
_thread_id = threading.get_ident
_lone_call = None


def _fresh_variable(array, requires_grad):
    """A Variable of ``array``, made by no function: what ``Variable(array)`` makes,
    without the check of ``__init__``, for arrays the engine made itself."""
    v = _new_variable(Variable)
    v._data = array
    v._changed_at = 0
    v._name = v.grad = v.creator = v._hooks = v._stand_in = None
    v.generation = v._index = 0
    v.requires_grad = requires_grad
    return v


def _copied_leaf(cls, data, name, grad, requires_grad, hooks=None):
    """A Variable of class ``cls`` made by no function, with the gradient ``hooks``
    ({key: fn}, or None): what a copy of a Variable is (see Variable.__reduce_ex__;
    pickles of earlier versions carry no hooks)."""
    v = _new_variable(cls)
    v._data = data
    v._changed_at = 0
    v._name, v.grad = name, grad
    v.creator = v._stand_in = None
    v._hooks = hooks or None
    v.generation = v._index = 0
    v.requires_grad = requires_grad
    return v


def _constant(array):
    """A Variable that no gradient flows into (a seed, a wrapped array)."""
    return _fresh_variable(array, False)


# Why a complex gradient is refused: the derivatives here are those of real functions
# (a product's backward does not conjugate), which complex numbers would get wrong.
_REAL_ONLY = (
    'dezero differentiates real-valued functions only: its derivatives follow the '
    'rules of real calculus, which give complex numbers wrong gradients (compute '
    'with the real and imaginary parts as real Variables)'
)


def _describe(v):
    """How errors name a variable: its name, if any, with its shape and dtype."""
    data = v._data
    what = 'no data' if data is None else f'shape {tuple(data.shape)}, {data.dtype}'
    return f'{v.name!r} ({what})' if v.name else f'({what})'


def _backward_flags(retain_grad, create_graph):
    """The arguments of ``Variable.backward`` as Python bools, after checking them;
    an array or a Variable given as ``retain_grad`` is a seed passed as in PyTorch
    (``y.backward(seed)``), which dezero takes from ``y.grad`` instead."""
    seed_like = isinstance(retain_grad, (Variable, np.generic)) or cuda.is_array(retain_grad)
    if seed_like and not isinstance(retain_grad, np.bool_):
        raise TypeError(
            f'backward: retain_grad must be True or False, got '
            f'{type(retain_grad).__name__} {retain_grad!r:.60}; to start from a gradient '
            f'other than ones, set it before the call: y.grad = Variable(seed); '
            f'y.backward()'
        )
    return (
        check_flag('backward', 'retain_grad', retain_grad),
        check_flag('backward', 'create_graph', create_graph),
    )


def _no_axis(v):
    """The Variable ``v``, which holds no data or 0-d data, named as having no axis."""
    which = f'the Variable {v.name!r}' if v.name else 'a Variable'
    if v._data is None:
        return f'{which} that holds no data (None): it has no axis'
    return f'{which} of shape (), {v._data.dtype}: it has no axis'


def _seed(y, given, recorded):
    """The gradient a backward pass from ``y`` starts with, as an array of its own.

    Ones when ``given`` is None, of y's dtype (float64 for integer data).  Otherwise
    ``given`` (a Variable or an array) must match y's shape and device and be floating
    point; it is copied, cast to y's dtype when that is floating point, so that no
    gradient the pass stores shares memory with it; OverflowError if the cast to a
    narrower dtype makes a value of it infinite.  A recorded pass (``recorded``) keeps
    a given Variable of y's dtype as it is, so that the results can be differentiated
    with respect to it (a ``.grad`` that would be it, or share its memory, gets a
    recorded copy: see _add_to_grads).  Bool data has no derivative."""
    data = y._data
    kind = data.dtype.kind
    if kind == 'b':
        raise TypeError(
            f'backward: this Variable {_describe(y)} holds bool data, which has no '
            f'derivative (NumPy computes logically on bools); compute with floating '
            f'point data, e.g. x.astype(np.float32)'
        )
    if kind == 'c':
        raise TypeError(
            f'backward: this Variable {_describe(y)} holds complex numbers; {_REAL_ONLY}'
        )
    if given is None:
        xp = np if type(data) is np.ndarray else cuda.get_array_module(data)
        seed = xp.empty(data.shape, data.dtype if kind == 'f' else np.float64)
        seed.fill(1)
        return seed
    g = given._data if isinstance(given, Variable) else given
    if type(g) is not np.ndarray and isinstance(g, np.ndarray):  # np.matrix: as a plain array
        g = plain_array(g, f'backward: the gradient set in .grad of {_describe(y)}')
    if not (isinstance(g, cuda.array_types) or cuda.is_array(g)):
        raise TypeError(
            f'backward: the gradient set in .grad to start from is a '
            f'{type(g).__name__}; expected a Variable or an array of shape {data.shape}'
        )
    if cuda.device_name(g) != cuda.device_name(data):
        raise TypeError(
            f'backward: the gradient set in .grad is on the {cuda.device_name(g)}, but '
            f'this Variable {_describe(y)} is on the {cuda.device_name(data)}; move '
            f'one of them'
        )
    if g.shape != data.shape:
        raise ValueError(
            f'backward: the gradient set in .grad has shape {tuple(g.shape)}, but this '
            f'Variable {_describe(y)} needs one of its own shape; set .grad to an '
            f'array of shape {tuple(data.shape)}, or to None to start from ones'
        )
    if g.dtype.kind != 'f':
        raise TypeError(
            f'backward: the gradient set in .grad is {g.dtype}; a gradient must be '
            f'real floating point (this Variable is {_describe(y)})'
        )
    if recorded and isinstance(given, Variable) and g.dtype == data.dtype:
        return given
    if kind == 'f' and g.dtype.itemsize > data.dtype.itemsize:  # narrowing: may overflow
        return _narrowed_seed(y, g)
    return g.astype(data.dtype if kind == 'f' else g.dtype)  # (a copy)


def _narrowed_seed(y, g):
    """The seed ``g`` cast to the narrower floating dtype of ``y``'s data (float64 to
    float32); OverflowError if a finite value of it would become infinite there."""
    dtype = y._data.dtype
    with np.errstate(over='ignore'):
        seed = g.astype(dtype)
    xp = cuda.get_array_module(seed)
    if not xp.isfinite(seed).all():  # inf or nan: made so by the cast, or given so?
        lost = xp.isinf(seed) & xp.isfinite(g)
        if lost.any():
            value = g[lost].ravel()[0].item()
            raise OverflowError(
                f'backward: the gradient set in .grad holds {value!r}, which its dtype '
                f'{g.dtype} holds but the dtype {dtype} of this Variable {_describe(y)} '
                f'does not (it would become infinite); scale the seed down, or compute '
                f'this Variable in {g.dtype}'
            )
    return seed


# Adding a gradient to a ``.grad`` reads it, adds and writes the sum back: threads whose
# graphs share a leaf (a Parameter trained Hogwild-style) would lose each other's
# additions, so they take turns with _gradient_lock.  The lock is skipped while one
# thread uses dezero (see Function.__call__).  That thread sets _lone_store, then reads
# _threads again, and stores without the lock only if it is still alone; a thread that
# starts using dezero counts itself in _threads first, and waits, holding the lock,
# until _lone_store is clear.  So the two never store at the same time.
_gradient_lock = threading.Lock()
_lone_store = False


def _store_gradients(grads, recorded, seed=None):
    """Add each gradient of a pass to its variable's ``.grad`` (see _add_to_grads),
    one thread at a time."""
    global _lone_store
    if _threads == 1:
        _lone_store = True
        try:
            if _threads == 1:  # still alone: no other thread stores meanwhile
                _add_to_grads(grads, recorded, seed)
                return
        finally:
            _lone_store = False
    with _gradient_lock:
        while _lone_store:  # the lone thread's last store without the lock
            time.sleep(0)
        _add_to_grads(grads, recorded, seed)


def _add_to_grads(grads, recorded, seed=None):
    """Add each gradient of a pass ({variable: gradient}: arrays, or Variables when
    ``recorded``) to the variable's ``.grad``, a Variable.  A recorded sum is itself
    recorded, so that it can be differentiated too.

    Every ``.grad`` gets memory of its own: a gradient that shares its memory with one
    stored before (``a + b`` gives both the same array), with ``seed`` (the Variable
    set by hand that a recorded pass started from, passed on as it is by ``x + 0``) or
    that cannot be written (a broadcast view) is copied, so that changing one ``.grad``
    in place (weight decay, clipping) changes no other, nor the seed.  The recorded
    copy leads back to the seed, which stays differentiated.  Gradients are checked before any is stored: floating
    point, and shaped as a ``.grad`` already there.  A gradient takes the floating
    dtype of its variable's data, as in PyTorch: a float32 variable used with float64
    values (which NumPy promotes to float64) still gets a float32 gradient.  Integer
    data gets float64 gradients, whatever the dtype of the values it was used with."""
    stored = []
    for x, gx in grads.items():
        # (a stand-in here was cut by unchain() from a variable that is gone)
        if x.requires_grad and type(x) is not _StandIn:
            array = gx._data if recorded else gx
            if x.grad is not None or array.dtype.kind != 'f':
                _check_gradient(x, array)  # raises, unless adding to a .grad
            data = x._data
            given = array.dtype
            dtype = data.dtype if data is not None else x._shape_before_none[1]
            if given is not dtype and given != dtype:
                wanted = _gradient_dtype(dtype)
                if wanted is not None and given != wanted:
                    gx = gx.astype(wanted)  # float32 data: float32 gradient (recorded too)
            stored.append((x, gx))
    owners = set()  # the ids of the arrays whose memory the stored gradients use
    if seed is not None:  # (and the seed's, which no .grad may use)
        base = seed._data.base
        owners.add(id(seed._data if base is None else base))
    for x, gx in stored:
        old = x.grad
        if old is not None:  # a new array, or a new recorded sum
            if recorded:
                x.grad = old + gx
            elif old.creator is not None:  # a recorded .grad keeps its graph, as in PyTorch
                with using_config('enable_backprop', True):
                    x.grad = old + gx
            else:
                x.grad = _fresh_variable(as_array(old._data + gx), True)
            continue
        if not recorded and type(gx) is not np.ndarray:
            gx = as_array(gx)  # (a NumPy scalar becomes a 0-d array)
        array = gx._data if recorded else gx
        base = array.base  # the array owning the memory of a view
        owner = id(array if base is None else base)
        # a view that may not be written is copied (CuPy marks none read-only, not
        # even a broadcast one, so its views are copied too), as is memory another
        # gradient of this pass uses
        if owner in owners or (
            base is not None and (type(array) is not np.ndarray or not array.flags.writeable)
        ):
            gx = _Copy()(gx) if recorded else gx.copy()
        else:
            owners.add(owner)
        x.grad = gx if recorded else _fresh_variable(gx, True)


_FLOAT64 = np.dtype(np.float64)


def _gradient_dtype(dtype):
    """The dtype of the gradients of data of ``dtype``: a floating dtype itself, float64
    for integer data; None for other data (whose gradients are refused elsewhere)."""
    kind = dtype.kind
    if kind == 'f':
        return dtype
    return _FLOAT64 if kind in 'iu' else None


def _check_gradient(x, g):
    """Refuse the gradient array ``g`` computed for the variable ``x``, and what
    ``x.grad`` holds already, unless they can be stored (see _store_gradients)."""
    kind = g.dtype.kind
    if kind == 'c':
        raise TypeError(
            f'backward: the gradient computed for the variable {_describe(x)} is '
            f'{g.dtype}; {_REAL_ONLY}'
        )
    if kind != 'f':
        what = {'b': 'a bool array', 'i': 'an integer array', 'u': 'an integer array'}
        raise TypeError(
            f'backward: the gradient computed for the variable {_describe(x)} is '
            f'{g.dtype}; gradients must be floating point (a backward returned '
            f'{what.get(kind, "an array that does not hold numbers")})'
        )
    data = x._data
    if data is not None and data.dtype.kind == 'b':
        raise TypeError(
            f'backward: a gradient reached the variable {_describe(x)}, which holds '
            f'bool data and has no derivative (NumPy computes logically on bools); '
            f'make it floating point (x.astype(np.float32)), or pass the bool array '
            f'as an array rather than a Variable'
        )
    old = x.grad
    if old is None:
        return
    if not isinstance(old, Variable):
        if not (isinstance(old, cuda.array_types) or cuda.is_array(old)):
            raise TypeError(
                f'backward: the variable {_describe(x)} has .grad set to a '
                f'{type(old).__name__}; expected None, a Variable or an array'
            )
        x.grad = old = _fresh_variable(old, True)
    _check_given_grad(x, old)
    if old.shape != g.shape:
        raise ValueError(
            f'backward: the variable {_describe(x)} has .grad of shape '
            f'{tuple(old.shape)}, which its new gradient of shape {tuple(g.shape)} '
            f'cannot be added to; call cleargrad() (or cleargrads()) first'
        )


def _check_given_grad(x, grad):
    """Check the ``.grad`` Variable ``grad`` that the caller set on ``x`` before a pass
    adds to it, as a gradient computed is checked: real floating point (and given the
    dtype of x's gradients, see _gradient_dtype), a plain array (an ``np.matrix`` is
    viewed as one, a masked array refused)."""
    data = grad._data
    if data is None:
        raise TypeError(
            f'backward: the variable {_describe(x)} has .grad set to a Variable holding no '
            f'data (None), which its new gradient cannot be added to; set .grad to None '
            f'(cleargrad()) or to an array of its shape'
        )
    if type(data) is not np.ndarray and isinstance(data, np.ndarray):
        grad._data = data = plain_array(data, f'backward: .grad of the variable {_describe(x)}')
    kind = data.dtype.kind
    if kind == 'c':
        raise TypeError(f'backward: the variable {_describe(x)} has a complex .grad; {_REAL_ONLY}')
    if kind != 'f':
        raise TypeError(
            f'backward: the variable {_describe(x)} has .grad of dtype {data.dtype}; '
            f'gradients must be floating point (set it to None, or to floats)'
        )
    own = None if x._data is None else _gradient_dtype(x._data.dtype)
    if own is not None and data.dtype != own and grad.creator is None:
        grad._data = data.astype(own)


class _NotKept:
    """The ``data`` of a stand-in: any use of the values raises an error that says
    which declaration is missing (see :class:`_StandIn`)."""

    __slots__ = ()
    __array_ufunc__ = None  # NumPy leaves ``array * stand_in`` to us: refused

    def _refuse(self, *args, **kwargs):
        raise RuntimeError(
            'this input was not kept for the backward pass: the function whose backward '
            'reads it must list it in retain_inputs (or the function that made it, in '
            'retain_outputs)'
        )

    def __getattr__(self, name):
        raise AttributeError(
            f'{name!r}: this input was not kept for the backward pass; '
            f'the function whose backward reads it must list it in '
            f'retain_inputs'
        )

    __array__ = __getitem__ = __iter__ = __len__ = __float__ = __int__ = __bool__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = _refuse
    __matmul__ = __rmatmul__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse

    def __repr__(self):
        return '<not kept>'


_NOT_KEPT = _NotKept()


class _StandIn:
    """What the graph holds for an input whose value no backward reads: the place of
    the variable in the graph (its creator, which output it is, its generation), its
    name, shape and dtype, but not its data.  The variable itself, and its array, are
    freed when the user lets go of them.  A variable made by a function has at most
    one stand-in, which ``unchain()`` on the variable cuts too; a constant (made by no
    function, getting no gradient) gets one per use, a leaf from the start
    (``_leaf``)."""

    __slots__ = (
        'creator',
        'generation',
        'requires_grad',
        '_index',
        'name',
        'shape',
        'dtype',
        '_leaf',
    )
    data = _data = _NOT_KEPT
    grad = None
    _hooks = None
    _stand_in = None

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape))

    def cut(self, variable):
        """Make this stand-in a leaf, as ``variable`` (the one it stands for) became:
        gradients reaching it are that variable's."""
        if self.creator is not None:  # no longer an output of it in pictures
            self.creator._stood_in &= ~(1 << self._index)
        self.creator = None
        self._leaf = weakref.ref(variable)

    _refuse = _NotKept._refuse

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __neg__ = __getitem__ = _refuse
    __matmul__ = __rmatmul__ = __array__ = _refuse
    __array_ufunc__ = None  # NumPy leaves ``array * stand_in`` to us: refused

    def __repr__(self):
        return f'variable(<not kept: {self.shape} {self.dtype}>)'


def _constant_stand_in(x):
    """A :class:`_StandIn` for ``x``, a Variable made by no function that gets no
    gradient (a constant): a leaf, the node of ``x`` while it is alive."""
    s = _StandIn()
    s.creator = None
    s.generation = x.generation
    s.requires_grad = False
    s._index = 0
    s.name = x.name
    data = x._data
    s.shape = data.shape
    s.dtype = data.dtype
    s._leaf = weakref.ref(x)
    return s


def _stand_in(x):
    """The :class:`_StandIn` of the Variable ``x`` (made by a function)."""
    s = x._stand_in
    if s is None:
        s = x._stand_in = _StandIn()
        s.creator = creator = x.creator
        if creator._output_shapes:  # one of several outputs: noted for pictures
            creator._stood_in |= 1 << x._index
        s.generation = x.generation
        s.requires_grad = x.requires_grad
        s._index = x._index
        s.name = x.name
        data = x._data
        s.shape = data.shape
        s.dtype = data.dtype
        s._leaf = None
    return s


# --------------------------------------------------------------------------------------
# Gradient hooks
# --------------------------------------------------------------------------------------
def _run_hooks(hooks, shape, grad):
    """Pass ``grad`` (a Variable) through ``hooks`` (those of a variable of ``shape``:
    ``{key: fn}``) in order; a result other than None replaces it.  The hooks get a
    copy of the gradient (one array may be the gradient of several variables:
    ``a + b`` gives both the same) and run with dezero's operations giving Variables,
    as outside a pass."""
    settings = _settings
    if grad.creator is None and not grad.requires_grad:
        grad = _fresh_variable(grad._data.copy(), False)
    else:  # recorded (create_graph): a recorded copy, through which the graph goes on
        grad = _Copy()(grad)  # (to a seed set by hand too, a Variable made by no function)
    saved = settings.arrays_only
    settings.arrays_only = False
    try:
        return _hooks_on(hooks, shape, grad)
    finally:
        settings.arrays_only = saved


_HOOK_ADVICE = (
    'Return a Variable computed with dezero functions (g * 2, not g.data * 2) to '
    'differentiate through the hook'
)


def _hooks_on(hooks, shape, grad):
    """The work of :func:`_run_hooks`.  In a recorded pass, a hook's array result
    is a gradient without a derivative (see :class:`_Untraceable`)."""
    for key, fn in list(hooks.items()):
        if key not in hooks:  # removed by a hook that ran before it, in this pass
            continue
        new = fn(grad)
        if new is None:
            continue
        if not isinstance(new, Variable):
            try:
                new = as_variable(new)
            except TypeError:
                raise TypeError(
                    f'gradient hook {fn!r} returned {type(new).__name__}; '
                    f'expected None, a Variable or an array'
                ) from None
            if grad.requires_grad:  # a recorded pass: the array has no derivative
                new = _Untraceable(f'gradient hook {fn!r}', _HOOK_ADVICE, new.data)(grad)
        if new.shape != shape:
            raise ValueError(
                f'gradient hook {fn!r} returned a gradient of shape '
                f'{new.shape} for a variable of shape {shape}'
            )
        if new.dtype.kind != 'f':
            raise TypeError(
                f'gradient hook {fn!r} returned a gradient of dtype {new.dtype}; '
                f'gradients must be real floating point'
            )
        grad = new
    return grad


class HookHandle:
    """What :meth:`Variable.register_hook` returns: ``remove()`` unregisters the hook,
    whether the variable is alive or gone (the hooks of a variable the caller dropped
    still run, kept by its creator); removing twice does nothing.  Also a context
    manager that removes the hook at the end of the ``with`` block.

    The handle keeps nothing alive: it holds the variable and its creator weakly (and
    which output of the creator the variable is), and finds the hooks through the one
    that is still there."""

    __slots__ = ('_variable', '_creator', '_index', 'key')

    def __init__(self, variable):
        self._variable = weakref.ref(variable)
        creator = variable.creator
        self._creator = None if creator is None else weakref.ref(creator)
        self._index = variable._index
        self.key = _HookKey()

    def remove(self):
        """Unregister the hook, whether the variable is alive or gone; doing it again
        does nothing."""
        v = self._variable()
        hooks = None if v is None else v._hooks
        if hooks is None and self._creator is not None:  # the variable is gone
            creator = self._creator()
            kept = None if creator is None else creator._output_hooks
            hooks = None if kept is None else kept.get(self._index)
        if hooks is None:
            return
        hooks.pop(self.key, None)
        if not hooks and v is not None and v._hooks is hooks:
            v._hooks = None  # none left: the pass skips a variable whose _hooks is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()

    def __copy__(self):
        """A handle of the same hook (``copy.copy``)."""
        return _handle(self._variable, self._creator, self._index, self.key)

    def __reduce__(self):
        """How deep copies and pickles take the handle: with its variable, which a deep copy
        or a pickle copies along (the copy the object holding both gets), so that the
        copied handle removes the copied variable's hook and never the original's.
        A handle whose variable is gone is copied as one that removes nothing."""
        return _copied_handle, (self._variable(), self.key)


class _HookKey:
    """The key of one registered hook in its variable's ``{key: fn}``: an object of
    its own, so that the hooks of a copy or a pickle loaded in another process keep
    keys that no hook registered later can take."""

    __slots__ = ()


def _copied_handle(variable, key):
    """A :class:`HookHandle` of ``key`` for ``variable`` (a copy's, a leaf), or one
    that removes nothing when ``variable`` is None."""
    ref = (lambda: None) if variable is None else weakref.ref(variable)
    return _handle(ref, None, 0, key)


def _handle(variable_ref, creator_ref, index, key):
    """A :class:`HookHandle` of the fields given (see :meth:`HookHandle.__init__`)."""
    handle = HookHandle.__new__(HookHandle)
    handle._variable = variable_ref
    handle._creator = creator_ref
    handle._index = index
    handle.key = key
    return handle


# ======================================================================================
# 3. Function
# ======================================================================================
def _device_mix_error(func, arrays):
    """A TypeError for ``func`` called on both CPU (NumPy) and GPU (CuPy) arrays,
    naming the device of each input, and of the constant ``c`` it holds (``x + c``);
    None when the arrays are all on one device."""
    devices = {f'input {i}': cuda.device_name(a) for i, a in enumerate(arrays) if cuda.is_array(a)}
    constant = getattr(func, 'c', None)
    if constant is not None and cuda.is_array(constant) and getattr(constant, 'ndim', 0):
        devices['its constant'] = cuda.device_name(constant)
    if len(set(devices.values())) < 2:
        return None
    where = ', '.join(f'{what} on the {d}' for what, d in devices.items())
    return TypeError(
        f'{type(func).__name__}: mixes CPU and GPU arrays ({where}); move them to one '
        f'device first: .to_gpu() on the Variables or layers on the CPU, or .to_cpu() '
        f'on those on the GPU (a DataLoader takes gpu=True)'
    )


def _describe_error(err, func, arrays):
    """The error raised in ``func.forward``, to raise again with the function's name
    and the shapes and dtypes of its inputs before its message (once, however deeply
    it travels): ``err`` itself with its message rewritten, or, where the message is
    not the error's first argument (NumPy's AxisError and UFuncTypeError build theirs
    from their attributes), a new error of the same kind, or of the built-in kind it
    derives from, that carries the message.  An error class of another package keeps
    its class and attributes, with the function's name in a note (Python 3.11 on)."""
    if getattr(err, '_dezero_described', False) or not err.args:
        return err
    message = str(err)
    name = type(func).__name__
    if message.startswith(f'{name}: '):  # it names the function already
        err._dezero_described = True
        return err
    shapes = ', '.join(
        f'{tuple(a.shape)} {a.dtype}' if hasattr(a, 'shape') else repr(a) for a in arrays
    )
    described = f'{name}: {message} (inputs: {shapes})'
    if str(err.args[0]) == message:
        err.args = (described,) + err.args[1:]
    elif type(err).__module__.startswith('numpy'):
        err = _error_like(err, described)
    elif hasattr(err, 'add_note'):  # an error class of someone's own keeps its class
        err.add_note(f'raised in {name}.forward (inputs: {shapes})')
    err._dezero_described = True
    return err


# The errors of a forward (NumPy's mostly) that are raised again naming the function.
_FORWARD_ERRORS = (ValueError, TypeError, IndexError, OverflowError)


def _error_like(err, message):
    """A new error of ``err``'s class holding ``message``, or of the first built-in
    class among ValueError, IndexError and TypeError that ``err``'s derives from, where
    its class cannot be made from a message alone."""
    try:
        new = type(err)(message)
        if str(new) == message:
            return new
    except Exception:
        pass
    kind = next(k for k in type(err).__mro__ if k in (ValueError, IndexError, TypeError))
    return kind(message)


def missing_data_error(name, index):
    """The ValueError for input ``index`` of the function ``name`` being None or a
    Variable that holds no data (a lazy layer's parameter before the layer's first
    call)."""
    return ValueError(
        f'{name}: input {index} is None, or a Variable holding no data; give it data '
        f"first (a layer's parameters get theirs on its first call)"
    )


def _refuse_missing_data(func, arrays, err):
    """Raise a ValueError naming ``func`` and the input that is None or holds no data,
    if one does: what forward tripped over with ``err``.  An input a function may take
    as None on purpose (a ``forward`` parameter defaulting to None, as a missing bias;
    any input of a function written as in the book, whose ``Linear`` takes one so) is
    blamed only for an error about None itself (an operation on ``NoneType``)."""
    about_none = 'NoneType' in str(err)
    if func._book_style and not about_none:
        return
    for i, a in enumerate(arrays):
        if a is None and (about_none or not _takes_none(func, i)):
            raise missing_data_error(type(func).__name__, i) from err


def _takes_none(func, i):
    """Whether the parameter of ``func.forward`` for input ``i`` defaults to None."""
    try:
        parameters = list(inspect.signature(func.forward).parameters.values())
    except (TypeError, ValueError):
        return False
    return i < len(parameters) and parameters[i].default is None


def kept_for_backward(value):
    """``value``, a constant that a function keeps for its backward (the ``c`` of
    ``x * c``, clip's bounds), as the function keeps it: a copy of an array while a
    graph is recorded, so that the caller changing theirs afterwards changes no
    gradient; numbers (NumPy scalars included) and anything under ``no_grad()`` as
    they are."""
    if _settings.enable_backprop and cuda.is_array(value):
        return value.copy()
    return value


def _wrap_all(ys, inputs, f):
    """The arrays ``ys`` the function ``f`` computed without recording, as
    :func:`_wrap` makes them; a view of an input Variable's data (``x.reshape`` under
    ``no_grad()``) notes it, as a recorded one does, so that changing the view in place
    is seen."""
    outputs = [_wrap(y if type(y) is np.ndarray else f._output_array(y)) for y in ys]
    for v in outputs:
        base = v._data.base
        if base is not None:
            _note_view(v, base, [x for x in inputs if x.requires_grad])
    return outputs


def _wrap(y):
    """An output array computed without recording (under ``no_grad()``) as a Variable
    that no graph leads back from: a leaf, as in the book, which gets a gradient when
    a graph recorded later uses it (``W = W - lr * W.grad`` under ``no_grad()`` makes a
    new W to train), but ``backward()`` from it is refused (see ``_unrecorded``).
    ``y`` is an array already (see :meth:`Function._output_array`)."""
    v = _fresh_variable(y, y.dtype.kind != 'b')
    v._unrecorded = True
    return v


def _reads_graph_links(function):
    """Whether the code of ``function`` (a backward) reads attributes named ``inputs``
    or ``outputs`` (``self.inputs``), its nested code included."""
    codes = [function.__code__] if hasattr(function, '__code__') else []
    while codes:
        code = codes.pop()
        if 'inputs' in code.co_names or 'outputs' in code.co_names:
            return True
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    return False


def _slots_of(cls):
    """The names in the ``__slots__`` of the class ``cls`` itself that hold values."""
    names = cls.__dict__.get('__slots__', ())
    names = (names,) if isinstance(names, str) else names
    return [name for name in names if name not in ('__dict__', '__weakref__')]


#: what recording a call sets on a Function: its links into the graph, and the hooks
#: of its outputs.  Neither copies nor pickles of the function keep them.
_CALL_LINKS = frozenset(
    (
        'inputs',
        'outputs',
        'generation',
        '_recorded_at',
        '_output_hooks',
        '_output_shapes',
        '_stood_in',
    )
)
#: where a call was made (see mark_origin and detect_anomaly).  A deep copy or a pickle
#: of the function keeps it, with what forward stored; a later call of the same object
#: runs on a shallow copy (see Function.__copy__), which records its own.
_CALL_SITE = frozenset(('_origin', '_created_at'))
_PER_CALL = _CALL_LINKS | _CALL_SITE


class Function:
    """Base of every differentiable operation.

    A subclass defines ``forward(*arrays)`` (arrays in, an array or a tuple of arrays
    out) and ``backward(*grads)``: one gradient per output in (zeros for an output that
    got none, alive or gone), one per input out (None where there is none), each shaped
    like its input.
    ``backward`` states the derivative once, with Variable operations, so that it runs
    both in a first-order pass (on arrays) and in a recorded one (on Variables, for
    higher derivatives).  It reads the values it needs through
    :meth:`retained_inputs` and :meth:`retained_outputs`, or, as in the book, through
    ``self.inputs`` and ``self.outputs``.  A ``backward`` with a keyword-only parameter
    ``needs_input_grad`` is told which inputs' gradients will be used (a tuple of
    booleans) and may return None for the others.

    ``retain_inputs`` and ``retain_outputs`` declare what ``backward`` reads: True for
    all (the default, so that a function written as in the book keeps everything), or
    a tuple of indices.  The graph keeps only those values alive.  A function written
    as in the book (declaring neither) gets its gradients as Variables in both passes,
    since its backward may read ``gy.data``; so does a subclass whose own backward
    reads ``self.inputs`` or ``self.outputs`` without declaring what it retains,
    whatever its parent class declares.

    Calling the function returns one Variable, or a list of them when ``forward``
    returns several arrays (a subclass of ndarray, such as ``np.matrix``, becomes a
    plain array; a masked array is refused).  A function object may be called more
    than once: each recorded call after the first runs on a copy, with its own inputs
    and state, so that each call's backward reads what its own forward stored; an
    attribute that forward assigns (``self.count += 1``) is assigned on that copy, and
    state carried from call to call belongs in an array changed in place, or in a
    Layer.
    """

    inputs = None
    outputs = None
    generation = 0
    retain_inputs = True
    retain_outputs = True
    _origin = (0, None)  # where it was made, when marking was on (see mark_origin)
    _recorded_at = 0  # the data clock when it was recorded (see Variable._set_data)
    _created_at = None  # the user's source line, recorded under detect_anomaly()
    _output_hooks = None  # {output index: its hooks} once an output has hooks
    _output_shapes = ()  # (array module, shape, dtype) of each output, if several
    _stood_in = 0  # of several outputs, bit i set once the graph holds a stand-in for i
    _told_needs = False  # whether backward takes needs_input_grad (set per class)
    _book_style = True  # whether backward expects Variables (set per class)
    # Whether each output element is computed from the input elements at its position
    # (after broadcasting) alone: detect_anomaly then tells an infinity made from one
    # passed on (see dezero.anomaly.check_forward).
    elementwise = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        parameter = inspect.signature(cls.backward).parameters.get('needs_input_grad')
        cls._told_needs = parameter is not None and parameter.kind is parameter.KEYWORD_ONLY
        # A function that declares what it retains is written for this engine and gets
        # arrays in a first-order pass; one written as in the book gets Variables, as
        # its backward may read gy.data.  A subclass with a backward of its own that
        # reads self.inputs or self.outputs, as the book's do, without declaring what
        # it retains is one written as in the book, whatever its parent declares (a
        # subclass of a built-in function overriding its backward).
        own = cls.__dict__
        if (
            'backward' in own
            and 'retain_inputs' not in own
            and 'retain_outputs' not in own
            and not cls._told_needs
            and _reads_graph_links(own['backward'])
        ):
            cls.retain_inputs = cls.retain_outputs = True
        cls._book_style = cls.retain_inputs is True and cls.retain_outputs is True
        cls._slot_names = tuple(
            name
            for klass in cls.__mro__
            if klass is not Function and issubclass(klass, Function)
            for name in _slots_of(klass)
        )

    def __copy__(self):
        """A shallow copy for another call: the settings and whatever the last forward
        stored, without anything that call set (its links into the graph, the hooks
        of its outputs, where it was made).  A later call of a
        function object that is already in a graph runs on one (see ``__call__``),
        so that the two calls share no inputs, outputs or hooks."""
        copied = object.__new__(type(self))
        copied.__dict__.update({k: v for k, v in self.__dict__.items() if k not in _PER_CALL})
        for name in self._slot_names:  # a subclass's __slots__
            if hasattr(self, name):
                setattr(copied, name, getattr(self, name))
        return copied

    def __getstate__(self):
        """What ``copy.deepcopy`` and pickle keep of a function object (a model may
        hold one, ``self.act = F.Sigmoid()``): every attribute of its own, that is
        its settings and whatever its last forward stored on it (a Pooling's argmax
        offsets, geometry and input shape, for one) and where it was made, except
        the links of its last call into a graph (``_CALL_LINKS``): its inputs, its
        outputs (weak references, which pickle cannot carry), its generation, the
        data clock of its recording and the hooks of its outputs.
        The copy is in no graph (its inputs are None, so its next call runs on it),
        but it is not a function never called: what forward stored is kept.  The
        values of a subclass's ``__slots__`` go along (as pickle's second part of the
        state)."""
        state = {k: v for k, v in self.__dict__.items() if k not in _CALL_LINKS}
        slots = {name: getattr(self, name) for name in self._slot_names if hasattr(self, name)}
        return (state, slots) if slots else state

    def __call__(self, *inputs):
        settings = _settings
        if settings.arrays_only:  # inside a first-order backward
            return self._call_on_arrays(inputs)
        # The first call runs on this object.  Once several threads use dezero, it is
        # claimed in one step, as another thread may call it at the same time (then
        # that one runs on a copy), and checked again once claimed, in case a call
        # finished recording on it meanwhile.  The lone thread before them notes the
        # object it runs on in _lone_call, which a thread starting meanwhile respects,
        # and then reads _threads again: a thread that started before the note was made
        # may not have seen it, so then this one claims the object as the others do.
        global _lone_call
        mine = lone = False
        if self.inputs is None:
            if _threads == 1:
                _lone_call = self
                if _threads == 1:
                    mine = lone = True
                else:
                    _lone_call = None
            if not lone:
                key, thread = id(self), _thread_id()
                mine = _claims.setdefault(key, thread) == thread
                if mine and (self.inputs is not None or _lone_call is self):
                    _claims.pop(key, None)
                    mine = False
        f = self if mine else copy.copy(self)
        try:
            inputs = list(inputs)
            xs = []
            for x in inputs:
                if not isinstance(x, Variable):  # an array or a number among them
                    self._wrap_constants(inputs)
                    xs = [x._data for x in inputs]
                    break
                xs.append(x._data)
            try:
                ys = f.forward(*xs)
            except _FORWARD_ERRORS as e:
                mixed = _device_mix_error(f, xs)
                if mixed is not None:
                    raise mixed from e
                _refuse_missing_data(f, xs, e)
                described = _describe_error(e, f, xs)
                if described is e:
                    raise
                raise described from e
            except AttributeError as e:
                _refuse_missing_data(f, xs, e)
                raise
            recording = settings.enable_backprop
            if type(ys) is not tuple:
                ys = (ys,)
            outputs = f._record(inputs, ys) if recording else _wrap_all(ys, inputs, f)
        finally:
            if lone:
                _lone_call = None
            elif mine:
                _claims.pop(key, None)
        if recording:
            if _marking:  # some thread marks where functions are made: see mark_origin
                origin = settings.origin
                if origin is not None:
                    f._origin = origin
        if settings.detect_anomaly:
            _anomaly.check_forward(f, xs, [y._data for y in outputs])
            if recording:
                _anomaly.record_site(f)
        return outputs[0] if len(outputs) == 1 else outputs

    def _wrap_constants(self, inputs):
        """Replace, in the list ``inputs``, each array or number by a constant Variable
        (the caller cannot see its gradient, so none is computed); TypeError naming this
        function for what cannot be one.  An array that the graph keeps for backward
        (a recorded call with an input that needs a gradient, and the array one that
        backward reads) is copied, so that the caller changing theirs afterwards does
        not change the gradient."""
        if _settings.enable_backprop and any(
            isinstance(x, Variable) and x.requires_grad for x in inputs
        ):
            keep = self.retain_inputs
            for i, x in enumerate(inputs):
                if isinstance(x, cuda.array_types) and (keep is True or i in keep):
                    inputs[i] = x.copy()
        for i, x in enumerate(inputs):
            if isinstance(x, Variable):
                continue
            if type(x) is _StandIn:  # a backward reading an undeclared value
                x._refuse()
            if x is None:  # as in the book, whose linear passes a missing bias as None
                inputs[i] = _constant(None)
                continue
            if type(x) is np.ndarray:
                _refuse_non_numbers(f'{type(self).__name__}: input {i}', x)
                inputs[i] = _constant(x)
                continue
            try:
                inputs[i] = _constant(as_variable(x).data)
            except TypeError as e:
                raise TypeError(f'{type(self).__name__}: {e}') from None

    def _call_on_arrays(self, inputs):
        """Forward on the arrays of ``inputs`` (Variables or arrays), returning arrays
        and recording nothing: how a backward's operations run in a first-order pass."""
        xs = inputs
        for x in inputs:
            if type(x) is not np.ndarray:  # a Variable among them (or a number)
                xs = [x._data if isinstance(x, Variable) else x for x in inputs]
                break
        f = self if self.inputs is None else copy.copy(self)  # keep a node's state
        try:
            ys = f.forward(*xs)
        except _FORWARD_ERRORS as e:
            described = _describe_error(e, f, xs)
            if described is e:
                raise
            raise described from e
        if type(ys) is not np.ndarray:
            ys = (
                [y if type(y) is np.ndarray else f._output_array(y) for y in ys]
                if type(ys) is tuple
                else f._output_array(ys)
            )
        if _settings.detect_anomaly:
            _anomaly.check_forward(f, xs, ys if type(ys) is list else [ys])
        return ys

    def _record(self, inputs, arrays):
        """Link this call into the graph and return its outputs, Variables made of the
        ``arrays`` forward returned: they point to this function, which keeps its
        ``inputs`` (or stand-ins for those no backward reads: intermediate results
        their creator does not read either, and constants) and, weakly, its outputs;
        its generation is that of its newest input."""
        generation = 0
        requires_grad = False
        keep = self.retain_inputs
        given = inputs  # the input Variables themselves, before any stand-in
        i = -1
        for x in inputs:
            i += 1
            if x.generation > generation:
                generation = x.generation
            if x.requires_grad:
                requires_grad = True
            if keep is not True and i not in keep:  # this backward does not read x
                creator = x.creator
                if creator is not None:
                    kept_out = creator.retain_outputs  # does x's creator read x?
                    if kept_out is True or x._index in kept_out:
                        continue
                    s = _stand_in(x)
                elif x.requires_grad or x._data is None or isinstance(x, Parameter):
                    continue  # a leaf that gets a gradient, or a (frozen) parameter
                else:  # a constant (an array given with Variables, bool data...)
                    s = _constant_stand_in(x)
                if given is inputs:
                    given = list(inputs)
                inputs[i] = s
        self.generation = generation
        self.inputs = inputs
        self._recorded_at = _data_clock  # see Variable._set_data
        outputs, refs = [], []
        for y in arrays:
            if type(y) is not np.ndarray:  # NumPy arithmetic on 0-d arrays gives scalars
                y = np.asarray(y) if isinstance(y, np.generic) else self._output_array(y)
            v = _new_variable(Variable)  # every attribute set once: what __init__ does
            v._data = y
            v._changed_at = 0
            v._name = v.grad = v._hooks = v._stand_in = None
            if y.base is not None:  # a view, perhaps of an input's data (reshape, x[1:])
                _note_view(v, y.base, given)
            elif self._book_style:  # which may return an input's array itself
                for x in given:
                    if y is x._data:  # made a view, so that changes through it are seen
                        v._data = y = y.view()
                        _note_view(v, y.base, given)
                        break
            v.creator = self
            v.generation = generation + 1
            v.requires_grad = requires_grad
            v._index = len(outputs)
            outputs.append(v)
            refs.append(weakref.ref(v))
        self.outputs = refs
        if len(outputs) > 1:  # backward gets zeros for an output the caller dropped
            self._output_shapes = [
                (cuda.get_array_module(v._data), v._data.shape, v._data.dtype) for v in outputs
            ]
        return outputs

    def _output_array(self, y):
        """What forward returned that is not a plain NumPy array, as one: a NumPy
        scalar or a number as a 0-d array, a subclass of ndarray (``np.matrix``) as a
        plain array over its memory (see :func:`plain_array`; a masked array is
        refused), a CuPy array as it is; TypeError naming this function for anything
        else (None, a string)."""
        if isinstance(y, np.generic):
            return np.asarray(y)
        if isinstance(y, np.ndarray):
            return plain_array(y, f'{type(self).__name__}.forward')
        if not (isinstance(y, numbers.Number) or cuda.is_array(y)):
            raise TypeError(
                f'{type(self).__name__}.forward returned {type(y).__name__} {y!r:.40}; '
                f'expected an array (or a tuple of arrays)'
            )
        return as_array(y)

    def forward(self, *xs):
        """Compute the outputs from the input arrays ``xs`` (NumPy or CuPy): an array,
        or a tuple of arrays.  Every subclass defines it."""
        raise NotImplementedError(f'{type(self).__name__} does not define forward()')

    def backward(self, *gys):
        """Given one gradient per output (``gys``), return the gradient of each input:
        one, or a tuple of them, each shaped as its input (None for no gradient).  Every
        subclass that is differentiated defines it, with Variable operations."""
        raise NotImplementedError(f'{type(self).__name__} does not define backward()')

    @property
    def backward_order(self):
        """0 for a function made by the forward pass, n for one made by a recorded
        backward pass (``backward(create_graph=True)``) of order n: one more than the
        highest order among the functions that pass ran (1 for the first derivative,
        2 for a backward through the graph of that, ...)."""
        order = self._origin[0]
        return order if type(order) is int else order.value

    @property
    def layer_path(self):
        """The name of the layer whose call made this function, when the calls were
        watched (``Model.plot``); else None."""
        return self._origin[1]

    def retained_inputs(self):
        """The inputs, for ``backward`` to read (a list): arrays in a first-order pass,
        Variables in a recorded one.  Inputs not declared in ``retain_inputs`` give
        stand-ins whose values cannot be read."""
        if _settings.arrays_only:
            return [x._data for x in self.inputs]
        return list(self.inputs)

    def retained_outputs(self):
        """The outputs, for ``backward`` to read (a list): arrays in a first-order pass,
        Variables in a recorded one.  The graph holds outputs weakly: reading one the
        caller dropped before ``backward()`` ran raises RuntimeError naming this
        function and the output (a single output that backward runs for is alive, as
        the functions using it hold it)."""
        refs = self.outputs
        if len(refs) == 1:  # the usual case, quickly
            y = refs[0]()
            if y is not None:
                return [y._data] if _settings.arrays_only else [y]
        ys = [ref() for ref in refs]
        for i, y in enumerate(ys):
            if y is None:
                self._refuse_gone_output(i)
        if _settings.arrays_only:
            return [y._data for y in ys]
        return ys

    def _refuse_gone_output(self, i):
        """RuntimeError for backward reading output ``i``, a variable that is gone: one
        not declared in ``retain_outputs``, or one the caller dropped."""
        name = type(self).__name__
        keep = self.retain_outputs
        if keep is not True and i not in keep:
            raise RuntimeError(
                f'{name}.backward read its output {i}, which was not kept: list it in '
                f'retain_outputs'
            )
        raise RuntimeError(
            f'{name}.backward read its output {i}, which the caller dropped before '
            f'backward() ran; the graph holds outputs weakly, so keep a reference to '
            f'output {i} until then'
        )


class _Untraceable(Function):
    """A gradient that code outside the graph gave as an array in a recorded pass, as
    the output of a function of the Variables it may depend on: a value, but no
    derivative.  ``maker`` names that code (``'Sin.backward'``, a gradient hook) and
    ``advice`` says how to write it instead.  Differentiating through it raises,
    naming the maker, where taking the array as a constant would give a derivative
    of 0 (a Hessian, a ``jvp``)."""

    retain_inputs = ()
    retain_outputs = ()

    def __init__(self, maker, advice, array):
        self.maker, self.advice, self.array = maker, advice, array

    def forward(self, *xs):
        return self.array

    def backward(self, gy):
        raise TypeError(
            f'{self.maker} returned an array, not a Variable, in a pass recorded for '
            f'higher derivatives (backward(create_graph=True), a grad of a grad, jvp, '
            f'hessian): the derivative of that gradient is unknown.  {self.advice}'
        )


def _gradient_array(f, g):
    """The gradient ``g`` that ``f.backward`` returned, not a Variable, as an array:
    an array or a number (a subclass of ndarray as a plain array, see
    :func:`plain_array`); TypeError naming f for anything else (a string, a list)."""
    if isinstance(g, np.ndarray) and type(g) is not np.ndarray:
        return plain_array(g, f'{type(f).__name__}.backward')
    if isinstance(g, (np.ndarray, numbers.Number)) or cuda.is_array(g):
        return as_array(g)
    raise TypeError(
        f'{type(f).__name__}.backward returned {type(g).__name__} {g!r:.40} as a '
        f'gradient; expected None, a Variable or an array'
    )


def _gradient_of_arrays(f, g, inputs, gys):
    """The gradient ``g``, an array (or number) that ``f.backward`` returned in a
    recorded pass, as a Variable: a constant when nothing it could depend on is
    differentiated, else an output of :class:`_Untraceable`.  (Not a constant when it
    is zero: a gradient can be zero at one point and have a derivative there.)"""
    g = _gradient_array(f, g)
    sources = [v for v in (*inputs, *gys) if isinstance(v, Variable) and v.requires_grad]
    if not sources:
        return _constant(g)
    name = type(f).__name__
    advice = (
        f'Write {name}.backward with Variables and dezero functions (gy * 2 * x, not '
        f'gy.data * 2 * x.data) to differentiate it again, and return None for an '
        f'input that gets no gradient'
    )
    return _Untraceable(f'{name}.backward', advice, g)(*sources)


class _Copy(Function):
    """y = x in memory of its own; dy/dx = 1.  Gives a recorded gradient stored in
    two ``.grad`` its own array (see _store_gradients)."""

    retain_inputs = ()
    retain_outputs = ()

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


# ======================================================================================
# 4. The reverse pass
# ======================================================================================
def backprop(outputs, seeds, *, retain_grad=False, create_graph=False, targets=None):
    """The gradients of ``outputs`` (started with ``seeds``, one per output) with
    respect to the variables behind them: ``{variable: gradient}``.

    Without ``targets`` the result holds every leaf reached (a variable made by no
    function) whose ``requires_grad`` is set; with ``targets`` (a list of Variables,
    leaves or not) it holds those of them that are reached, and only the functions
    between ``outputs`` and ``targets`` run.  Nothing is stored in ``.grad`` except,
    with ``retain_grad``, the gradients of the intermediate variables still alive
    (added to their ``.grad``); no ``.grad`` is cleared.

    The gradients are arrays, or Variables recorded in the graph with ``create_graph``.
    ``retain_grad`` and ``create_graph`` are True or False.
    """
    if retain_grad is not False or create_graph is not False:
        retain_grad = check_flag('backprop', 'retain_grad', retain_grad)
        create_graph = check_flag('backprop', 'create_graph', create_graph)
    if create_graph:  # the functions it makes are marked as made by a backward pass
        order = _order_of_pass(outputs)
        with mark_origin(backward_order=order):
            return _run_pass(outputs, seeds, retain_grad, True, targets, order=order)
    return _run_pass(outputs, seeds, retain_grad, create_graph, targets)


def _run_pass(outputs, seeds, retain_grad, create_graph, targets, clear=False, order=None):
    """backprop, with the switches of a pass set: recording only with create_graph,
    and functions called on arrays returning arrays without it.  With ``clear`` (the
    pass of ``Variable.backward``) and without ``retain_grad``, the outputs of every
    function the pass runs are left with ``.grad`` None, as in the book.  ``order``,
    for a recorded pass, is the :class:`_PassOrder` of the functions it makes."""
    settings = _settings
    saved = settings.enable_backprop, settings.arrays_only
    settings.enable_backprop, settings.arrays_only = create_graph, not create_graph
    # The pass makes no reference cycles, but its allocations would trigger cyclic
    # collections that each walk the whole graph: the collector waits until the pass
    # ends.  (A pass that starts in another thread meanwhile finds it off, and leaves
    # it to this one to switch back on.)
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        return _ReversePass(retain_grad, create_graph, targets, clear, order).run(outputs, seeds)
    finally:
        settings.enable_backprop, settings.arrays_only = saved
        if collecting:
            gc.enable()


# ---- where functions are made -----------------------------------------------------------
# Pictures of a graph (dezero.graph) tell the functions made by a backward pass from the
# forward ones, and group a model's functions by the layer that made them.  Each
# function made while marking is on records that in ``_origin``: ``backward_order``
# (1 for a function made by the first recorded backward pass, 2 by a backward through
# that one's functions, ...) and ``layer_path``.  ``_marking`` counts the threads
# marking now; the everyday call pays only for reading it.
_marking = 0
_marking_lock = threading.Lock()


@contextlib.contextmanager
def mark_origin(backward_order=None, layer_path=None):
    """Inside the block, functions made in this thread record where they were made:
    ``backward_order`` (the order of the recorded backward pass making them, 0 for the
    forward pass: an int, or the pass's :class:`_PassOrder`, which the pass raises as
    it runs) and ``layer_path`` (the name of the layer whose call made them, as
    in ``params()``); an argument left None keeps what an enclosing block set.  Read
    them as ``f.backward_order`` and ``f.layer_path``, for pictures of the graph."""
    global _marking
    settings = _settings
    saved = settings.origin
    order, path = (0, None) if saved is None else saved
    settings.origin = (
        order if backward_order is None else backward_order,
        path if layer_path is None else layer_path,
    )
    with _marking_lock:
        _marking += 1
    try:
        yield
    finally:
        with _marking_lock:
            _marking -= 1
        settings.origin = saved


def _order_of_pass(outputs):
    """The :class:`_PassOrder` of a recorded pass from ``outputs``, starting at one
    more than the order of the functions that made them (0 for the forward pass)."""
    made = max((y.creator.backward_order for y in outputs if y.creator is not None), default=0)
    return _PassOrder(made + 1)


class _PassOrder:
    """The ``backward_order`` of the functions a recorded pass makes, which they
    share: one more than the highest order among the functions the pass runs.  The
    pass raises it as it reaches each of them (:meth:`reach`), and the functions it
    makes read it when asked, so that all of them have the pass's final order: a
    pass from ``z = F.sum(x.grad * v)`` runs the first pass's functions behind the
    forward ``Sum`` of z, and is of order 2."""

    __slots__ = ('value',)

    def __init__(self, value):
        self.value = value

    def reach(self, f):
        """Take into account ``f``, a function the pass runs."""
        made = f._origin[0]
        if type(made) is not int:
            made = made.value
        if made >= self.value:
            self.value = made + 1


class _ReversePass:
    """One run of the reverse pass (see :func:`backprop`).

    Gradients are kept per function until it runs: ``pending[f]`` lists the sums of
    the gradients flowing into each of f's outputs so far.  A function's outputs are
    used only by functions of newer generations, which run first (:class:`_Schedule`),
    so when f's turn comes its gradients are complete; they are taken out and freed as
    soon as f has used them.  Gradients of leaves are summed in ``leaves``.

    The outputs of a function the pass runs are intermediate variables: with
    ``retain_grad`` their gradients are added to their ``.grad``; with ``clear`` (and
    without ``retain_grad``) their ``.grad`` is set to None, so that none kept by an
    earlier pass outlives this one (see :meth:`_forget_grad`).
    """

    def __init__(self, retain_grad, create_graph, targets, clear=False, order=None):
        self.retain_grad = retain_grad
        self.create_graph = create_graph
        self.order = order  # the _PassOrder of a recorded pass, raised as it runs
        self.clear = clear and not retain_grad
        self.check = _settings.detect_anomaly
        self.pending = {}
        self.leaves = {}
        self.schedule = None
        self.plan = None if targets is None else _Plan(targets)

    def run(self, outputs, seeds):
        plan = self.plan
        starts = []
        for y, gy in zip(outputs, seeds):
            if type(gy) is not np.ndarray or self.create_graph:
                gy = self._as_gradient(gy)
            if (gy._data if isinstance(gy, Variable) else gy).dtype.kind == 'c':
                _refuse_complex_seed(y, gy)
            if plan is not None:
                plan.visit(y)
            self._add(y, gy)
            if y.creator is not None:
                starts.append(y.creator)
        if not starts:
            return self._result()
        schedule = self.schedule = _Schedule(starts)
        waiting = schedule._waiting
        pending, leaves = self.pending, self.leaves
        recording = self.create_graph
        order = self.order
        plain = plan is None and not self.check and not self.retain_grad
        clear = self.clear
        hooked_leaves = []
        clock = _data_clock  # a function recorded at this tick reads no changed data
        for generation in range(schedule._top - 1, -1, -1):  # newest first
            functions = waiting.pop(generation, None)
            if functions is None:
                continue
            schedule._top = generation  # what is added from now on is older
            for f in functions:
                refs = f.outputs
                slots = pending.pop(f, None)
                inputs = f.inputs
                if plain and len(refs) == 1:  # the usual case, written out
                    gy = None if slots is None else slots[0]
                    y = refs[0]()
                    if y is not None:
                        if y.grad is not None and clear:
                            self._forget_grad(f, y)
                        if gy is None:
                            gy = self._zeros(y)
                        if y._hooks is not None:
                            gy = self._as_gradient(
                                _run_hooks(y._hooks, gy.shape, self._variable(gy))
                            )
                            clock = _data_clock  # the hook may have assigned data
                    elif f._output_hooks is not None and gy is not None:
                        gy = self._dropped_hooks(f, 0, gy)
                        clock = _data_clock
                    if f._recorded_at != clock:  # data assigned since f's forward
                        _check_unchanged(f)
                    try:
                        if f._book_style and not recording:
                            gy = None if gy is None else self._variable(gy)
                            needs = tuple(map(_requires_grad, inputs))
                            gxs = _backward_on_variables(f, (gy,), needs)
                        elif f._told_needs:
                            needs = tuple(map(_requires_grad, inputs))
                            gxs = f.backward(gy, needs_input_grad=needs)
                        else:
                            gxs = f.backward(gy)
                    except Exception as e:  # (data set to None since, perhaps: say so)
                        _blame_missing_data(f, e)
                        raise
                    # (kept only when recording: a reference would keep gy alive through
                    # the next function's backward, one array more at the peak)
                    if recording:
                        gys = (gy,)
                        order.reach(f)
                    else:
                        gys = None
                else:
                    gys = self._output_grads(f, slots)
                    if plan is not None:
                        needs = tuple([x.requires_grad and plan.leads_to_target(x) for x in inputs])
                        if not any(needs):
                            continue
                    else:
                        needs = tuple(map(_requires_grad, inputs)) if f._told_needs else None
                    if recording:
                        order.reach(f)
                    elif f._book_style:
                        gys = tuple([None if g is None else self._variable(g) for g in gys])
                    clock = _data_clock  # the outputs' hooks may have assigned data
                    if f._recorded_at != clock:
                        _check_unchanged(f)
                    gxs = self._call_backward(f, gys, needs)
                if type(gxs) is not tuple:
                    gxs = tuple(gxs) if isinstance(gxs, list) else (gxs,)
                if len(gxs) != len(inputs):
                    gxs = _fewer_gradients(f, gxs)
                for x, gx in zip(inputs, gxs):
                    if gx is None or not x.requires_grad:
                        continue
                    if plan is not None and not plan.leads_to_target(x):
                        continue  # a gradient the pass was not asked for
                    if recording and not isinstance(gx, Variable):
                        gx = _gradient_of_arrays(f, gx, inputs, gys)
                    elif type(gx) is not np.ndarray and not isinstance(gx, np.generic):
                        # an array (a NumPy scalar, of 0-d, is one), or when recording a Variable
                        if isinstance(gx, Variable):
                            gx = self._as_gradient(gx)
                        else:
                            gx = _gradient_array(f, gx)
                    try:
                        if gx.shape != (x.shape if type(x) is _StandIn else x._data.shape):
                            _wrong_shape(f, gx, x)
                    except AttributeError:  # x.data = None after the forward pass
                        _check_shape_without_data(f, gx, x)
                    creator = x.creator
                    if creator is None and plan is None and type(x) is not _StandIn:
                        old = leaves.get(x)  # _add for a leaf, written out
                        if old is None:
                            leaves[x] = gx
                            if x._hooks is not None:
                                hooked_leaves.append(x)
                        else:
                            leaves[x] = old + gx
                        continue
                    if creator is None or plan is not None:
                        if self._add(x, gx) and x.creator is None:
                            leaf = _node(x)
                            if leaf._hooks is not None:
                                hooked_leaves.append(leaf)
                        continue
                    slots = pending.get(creator)  # _add for an output, written out
                    if slots is None:
                        slots = pending[creator] = [None] * len(creator.outputs)
                        older = creator.generation  # schedule.add, written out
                        if older >= schedule._top:
                            schedule.add(creator)  # (which raises)
                        later = waiting.get(older)
                        if later is None:
                            waiting[older] = [creator]
                        else:
                            later.append(creator)
                    index = x._index
                    old = slots[index]
                    slots[index] = gx if old is None else old + gx
        for x in hooked_leaves:  # hooks see this pass's sum
            gx = _run_hooks(x._hooks, x.shape, self._variable(self.leaves[x]))
            self.leaves[x] = self._as_gradient(gx)
        return self._result()

    # ---- where gradients go ----------------------------------------------------------
    def _add(self, x, gx):
        """Add ``gx`` to the gradient of ``x`` (a leaf, or an output of some function,
        scheduling that function); True when it is the first gradient ``x`` gets."""
        creator = x.creator
        plan = self.plan
        if creator is None or (plan is not None and plan.is_target(x)):
            key = _node(x)
            old = self.leaves.get(key)
            self.leaves[key] = gx if old is None else old + gx
            # a target made by a function stops here, unless another target lies
            # behind it: then its creator runs too, so that gradient is the whole one
            if creator is None or not any(plan.leads_to_target(v) for v in creator.inputs):
                return old is None
        slots = self.pending.get(creator)
        if slots is None:
            slots = self.pending[creator] = [None] * len(creator.outputs)
            if self.schedule is not None:
                self.schedule.add(creator)
        old = slots[x._index]
        slots[x._index] = gx if old is None else old + gx
        return old is None

    def _output_grads(self, f, slots):
        """The summed gradients of f's outputs (``slots``, taken out of ``pending``):
        zeros for an output that got none, alive or gone (its shape and dtype noted
        when it was made).  Hooks of the outputs still alive run here, and ``retain_grad``
        stores their gradients."""
        if slots is None:
            slots = [None] * len(f.outputs)
        gys = []
        for ref, gy in zip(f.outputs, slots):
            y = ref()
            if y is None:  # gone, perhaps standing in the graph: as summed
                if gy is None:  # gone unused: zeros, as for an output alive and unused
                    gy = self._zeros_like(f._output_shapes[len(gys)])
                elif f._output_hooks is not None:
                    gy = self._dropped_hooks(f, len(gys), gy)
                gys.append(gy)
                continue
            if gy is None:  # zeros (data set to None: as _record noted it, one of several)
                if y._data is None:
                    gy = self._zeros_like(f._output_shapes[len(gys)])
                else:
                    gy = self._zeros(y)
            if y._hooks is not None:
                gy = self._as_gradient(_run_hooks(y._hooks, gy.shape, self._variable(gy)))
            if self.retain_grad:  # a copy: backward may pass gy on to an input
                _store_gradients(
                    {y: _Copy()(gy) if self.create_graph else gy.copy()}, self.create_graph
                )
            elif self.clear and y.grad is not None:
                self._forget_grad(f, y)
            gys.append(gy)
        return gys

    @staticmethod
    def _forget_grad(f, y):
        """Set ``.grad`` of ``y``, an output of the function ``f`` that the pass runs,
        to None: a gradient kept there by an earlier ``retain_grad`` pass (or set by
        hand) is not this pass's.  An output that has become a leaf since (``unchain()``,
        or ``set_creator`` of another function) keeps its ``.grad``, where leaves sum
        their gradients."""
        if y.creator is f:
            y.grad = None

    def _dropped_hooks(self, f, i, gy):
        """``gy`` passed through the hooks of f's output ``i``, a variable the caller
        has dropped (its creator keeps them)."""
        hooks = f._output_hooks.get(i)
        if not hooks:
            return gy
        return self._as_gradient(_run_hooks(hooks, gy.shape, self._variable(gy)))

    # ---- running backward ------------------------------------------------------------
    def _call_backward(self, f, gys, needs):
        """``f.backward`` on ``gys``, told ``needs`` if it asks, under the checks of
        detect_anomaly if they are on."""
        try:
            with _anomaly.running_backward(f, gys) if self.check else contextlib.nullcontext():
                if f._book_style and not self.create_graph:
                    gxs = _backward_on_variables(f, gys, needs)
                elif f._told_needs:
                    gxs = f.backward(*gys, needs_input_grad=needs)
                else:
                    gxs = f.backward(*gys)
        except Exception as e:  # (data set to None since, perhaps: say so)
            _blame_missing_data(f, e)
            raise
        if self.check:
            _anomaly.check_backward(f, gxs if type(gxs) is tuple else (gxs,), gys)
        return gxs

    # ---- the two forms of a gradient -------------------------------------------------
    def _as_gradient(self, g):
        """A gradient as this pass carries it: an array, or a Variable when recording."""
        if self.create_graph:
            if isinstance(g, Variable):
                return g
            return _constant(as_array(g))
        if isinstance(g, Variable):
            return g.data
        return g if type(g) is np.ndarray or isinstance(g, np.generic) else as_array(g)

    def _variable(self, g):
        """A gradient as a Variable (what hooks and ``.grad`` see)."""
        return g if isinstance(g, Variable) else _constant(as_array(g))

    def _zeros(self, y):
        zeros = cuda.get_array_module(y._data).zeros(y.shape, y.dtype)
        return _constant(zeros) if self.create_graph else zeros

    def _zeros_like(self, output):
        """Zeros for an output of a function that is gone; ``output`` is what
        ``_record`` noted of it: ``(array module, shape, dtype)``."""
        xp, shape, dtype = output
        zeros = xp.zeros(shape, dtype)
        return _constant(zeros) if self.create_graph else zeros

    def _result(self):
        """``{variable: gradient}``: the leaves reached, or the targets reached."""
        leaves = self.leaves
        if self.plan is None:
            return leaves
        found = {t: leaves[_node(t)] for t in self.plan.targets if _node(t) in leaves}
        for t, g in found.items():  # (stored gradients are checked as they are stored)
            if (g._data if isinstance(g, Variable) else g).dtype.kind == 'c':
                raise TypeError(
                    f'backward: the gradient computed for the variable {_describe(t)} is '
                    f'complex; {_REAL_ONLY}'
                )
        return found


_requires_grad = operator.attrgetter('requires_grad')


def _note_view(v, base, inputs):
    """Note in the new output ``v`` which of the function's ``inputs`` its data is a
    view of (``base`` is that data's ``.base``): changing that input's data in place
    (``x.data -= ...``) changes the view's values too.  A view of a view notes the
    variable first viewed, as the views between are often temporaries.  A view of a
    constant (an array the caller gave, ``F.transpose(W)``) is copied instead: no
    Variable notes the changes the caller may make to their array, and a later
    function may keep the view for its backward."""
    for x in inputs:
        data = x._data
        if data is not None and (base is data or base is data.base):
            if x.creator is None and not x.requires_grad:
                v._data = v._data.copy()
                return
            first = getattr(x, '_view_of', None)
            v._view_of = first if first is not None and first() is not None else weakref.ref(x)
            return


def _leaf_view(x):
    """A new Variable made by no function whose data is a view of the data of the
    Variable ``x``, noted as a function's view is (see :func:`_note_view`): it gets
    gradients of its own, and a backward that reads it after x's data was changed in
    place (``x.data -= 1``) raises, naming ``x``, as it would reading ``x``.  What the
    transforms of :mod:`dezero.autodiff` differentiate with respect to in place of the
    caller's ``x`` when there is no graph to stay connected to."""
    v = Variable(x._data.view())
    _note_view(v, v._data.base, [x])
    return v


def _note_change_through_view(x, data, clock):
    """Note, at the tick ``clock``, that the data of the variable ``x`` changed, when
    ``data``, assigned to a view of x (``v = x.reshape(...); v.data -= 1``), still
    shares x's memory: the change was made in place, so x's values changed too."""
    if x is None or x._data is None or data is None:
        return
    owner = x._data if x._data.base is None else x._data.base
    if data is owner or data.base is owner:
        x._changed_at = clock


def _changed(v, since):
    """The variable whose data change after the clock read ``since`` makes the data
    of ``v`` new: ``v`` itself when its data was assigned, the variable it is a view
    of when that one's data was changed in place (its array still the one viewed);
    else None."""
    if v._changed_at > since:
        return v
    view = getattr(v, '_view_of', None)
    if view is None:
        return None
    x = view()
    if x is None or x._changed_at <= since or x._data is None:
        return None  # gone (nothing can change its data any more) or unchanged
    base = v._data.base
    return x if base is x._data or base is x._data.base else None


def _check_unchanged(f):
    """Raise if ``f.backward`` would read an input or output whose data was changed
    after ``f`` was recorded (see :func:`_changed`): its gradient would be computed
    from the new value."""
    since = f._recorded_at
    keep = f.retain_inputs
    for i, x in enumerate(f.inputs):
        if type(x) is not _StandIn and (keep is True or i in keep):
            _refuse_changed(f, x, _changed(x, since), f'input {i}')
    keep = f.retain_outputs
    for i, ref in enumerate(f.outputs):
        y = ref()
        if y is not None and (keep is True or i in keep):
            _refuse_changed(f, y, _changed(y, since), f'output {i}')


def _refuse_changed(f, v, changed, which):
    """Raise for ``v``, ``which`` input or output of ``f``, when ``changed`` (the
    variable whose data changed, from :func:`_changed`) is not None."""
    if changed is None:
        return
    if changed is v:
        if v._data is None:
            _refuse_none(f, v, which)
            return
        _changed_error(f, v, which)
    raise RuntimeError(
        f'backward: the variable {_describe(v)}, {which} of {type(f).__name__}, is a '
        f'view of the data of the variable {_describe(changed)}, which was changed in '
        f"place (v.data -= ..., or an optimizer's update) after the forward pass used "
        f'it, so its gradient would be computed from the new values; run the forward '
        f'pass again after changing data, or update after backward()'
    )


def _refuse_none(f, v, which):
    """Raise for ``v``, ``which`` input or output of ``f``, whose data was set to None
    after the forward pass (the book's ``t.data = None``), when f's ``backward`` is
    declared to read it.  A function written as in the book keeps every input and
    output, read or not: its backward runs, and one that reads the missing data fails
    with an error that says so (see :func:`_blame_missing_data`)."""
    if f._book_style:
        return
    name = type(f).__name__
    declared = 'retain_inputs' if which.startswith('input') else 'retain_outputs'
    raise RuntimeError(
        f'backward: the data of the variable {_describe(v)}, {which} of {name}, was set '
        f'to None after the forward pass used it, but {name}.backward reads it (it is '
        f'in {declared}); keep the data until backward() has run, or run the forward '
        f'pass again'
    )


def _blame_missing_data(f, err):
    """Raise a RuntimeError from ``err``, the error ``f.backward`` raised, when an
    input or output that it may read had its data set to None after the forward pass
    (``t.data = None``): most likely what it tripped over.  Else return."""
    since = f._recorded_at
    if since == _data_clock:
        return
    keep = f.retain_inputs
    suspects = [
        (x, f'input {i}')
        for i, x in enumerate(f.inputs)
        if type(x) is not _StandIn and (keep is True or i in keep)
    ]
    keep = f.retain_outputs
    suspects += [
        (ref(), f'output {i}') for i, ref in enumerate(f.outputs) if keep is True or i in keep
    ]
    for v, which in suspects:
        if v is not None and v._data is None and v._changed_at > since:
            name = type(f).__name__
            raise RuntimeError(
                f'backward: {name}.backward failed ({type(err).__name__}: {err}); the '
                f'data of the variable {_describe(v)}, {which} of {name}, was set to '
                f'None after the forward pass used it, and a backward that reads it '
                f'needs it: keep the data until backward() has run, or run the forward '
                f'pass again'
            ) from err


def _changed_error(f, v, which):
    raise RuntimeError(
        f'backward: the data of the variable {_describe(v)}, {which} of '
        f'{type(f).__name__}, was assigned (v.data = ..., v.data -= ..., an '
        f"optimizer's update, or one of those on a view of it) after the forward pass "
        f'used it, so its gradient would '
        f'be computed from the new values; run the forward pass again after changing '
        f'data, or update after backward()'
    )


def _backward_on_variables(f, gys, needs):
    """``f.backward(*gys)`` (told ``needs`` if it asks) for a function written as in
    the book, in a first-order pass: the operations it calls give Variables, recording
    nothing, as in the book, since such a backward may read ``.data`` of what they
    return or update a Variable in place (``gx *= w``)."""
    settings = _settings
    settings.arrays_only = False
    try:
        return f.backward(*gys, needs_input_grad=needs) if f._told_needs else f.backward(*gys)
    finally:
        settings.arrays_only = True


def _fewer_gradients(f, gxs):
    """The gradients ``gxs`` that ``f.backward`` returned, fewer than its inputs, with
    None for the inputs left out, when none of those needs a gradient: the book's
    softmax cross entropy returns one for its input and none for its labels.  Raises
    ValueError for more gradients than inputs, or fewer where one is needed."""
    inputs = f.inputs
    missing = inputs[len(gxs) :]
    if len(gxs) < len(inputs) and not any(x.requires_grad for x in missing):
        return gxs + (None,) * len(missing)
    raise ValueError(
        f'{type(f).__name__}.backward returned {len(gxs)} gradients for {len(inputs)} inputs'
    )


def _wrong_shape(f, gx, x):
    """Raise for the gradient ``gx`` that ``f.backward`` returned for its input ``x``
    and that does not fit x's data: because that data was set to None or to an array
    of another shape after the forward pass used it, or else because the backward is
    wrong."""
    name = type(f).__name__
    if type(x) is not _StandIn:
        which = next(i for i, v in enumerate(f.inputs) if v is x)
        about = f'the variable {_describe(x)}, input {which} of {name},'
        if x._data is None:
            raise RuntimeError(
                f'backward: the data of {about} was set to None after the forward pass '
                f'used it, so its gradient (of shape {tuple(gx.shape)}) has no data to '
                f'go with; keep the data until backward() has run, or run the forward '
                f'pass again'
            )
        if x._changed_at > f._recorded_at:
            raise RuntimeError(
                f'backward: the data of {about} was assigned an array of shape '
                f'{tuple(x._data.shape)} after the forward pass used one of shape '
                f'{tuple(gx.shape)}; run the forward pass again after changing data, '
                f'or change it after backward()'
            )
    raise ValueError(
        f'{name}.backward returned a gradient of shape {gx.shape} for an input of shape {x.shape}'
    )


def _refuse_complex_seed(y, gy):
    """Raise for the complex gradient ``gy`` that a pass from the output ``y`` was
    given to start from, naming which of the two is complex."""
    data = y._data
    if data is not None and data.dtype.kind == 'c':
        raise TypeError(f'backward: the output {_describe(y)} is complex; {_REAL_ONLY}')
    dtype = (gy._data if isinstance(gy, Variable) else gy).dtype
    raise TypeError(
        f'backward: the gradient given to start from for the output {_describe(y)} is '
        f'{dtype}; {_REAL_ONLY}'
    )


def _check_shape_without_data(f, gx, x):
    """Check the gradient ``gx`` that ``f.backward`` returned for its input ``x`` when
    one of them holds no data.  A variable made by a function whose data was set to
    None after the forward pass (the book's ``t.data = None``, freeing an intermediate
    result that no backward reads) is checked against the shape its data had, and its
    gradient passes on to its creator.  A leaf's gradient has no data to go with (see
    :func:`_wrong_shape`)."""
    name = type(f).__name__
    if (gx._data if isinstance(gx, Variable) else gx) is None:
        raise TypeError(
            f'{name}.backward returned a Variable holding no data (None) as a gradient; '
            f'expected None, a Variable or an array'
        )
    before = getattr(x, '_shape_before_none', None)
    if x._data is not None or x.creator is None or before is None:
        _wrong_shape(f, gx, x)
    if gx.shape != before[0]:
        raise ValueError(
            f'{name}.backward returned a gradient of shape {gx.shape} for an input of '
            f'shape {before[0]}'
        )


class _Schedule:
    """The functions waiting for their backward, in one list per generation
    (``_waiting``): the pass takes the lists newest generation first, and runs the
    functions of a list in the order they were added.

    A function's inputs were made by functions of lower generations, so the pass only
    ever adds functions behind the one it is running (below ``_top``, the generation
    it has reached); one list per generation makes adding and taking O(1), and the
    whole pass linear in the size of the graph."""

    __slots__ = ('_waiting', '_top')

    def __init__(self, starts):
        if len(starts) == 1:
            self._waiting = {starts[0].generation: [starts[0]]}
            self._top = starts[0].generation + 1
            return
        self._waiting = {}
        self._top = max(f.generation for f in starts) + 1
        for f in dict.fromkeys(starts):
            self.add(f)

    def add(self, f):
        generation = f.generation
        if generation >= self._top:
            raise RuntimeError(
                f'backward: {type(f).__name__} has generation {generation}, not below '
                f'{self._top} of a function that uses its output; was a generation '
                f'changed by hand?'
            )
        waiting = self._waiting.get(generation)
        if waiting is None:
            self._waiting[generation] = [f]
        else:
            waiting.append(f)


class _Plan:
    """Which variables lead to ``targets``: the one walk of the graph, made when a
    pass is asked for the gradients of some variables only (as the transforms of
    :mod:`dezero.autodiff` are).  A variable leads to a target if it is one, or if its
    creator has an input that leads to one; the walk stops at targets and below the
    oldest generation of a target, so a long history behind them is not visited."""

    def __init__(self, targets):
        self.targets = list(targets)
        self._targets = {_node(x) for x in targets}
        self._oldest = min(x.generation for x in targets)
        self._leads = {}  # node -> bool, for every variable visited

    def is_target(self, x):
        return _node(x) in self._targets

    def leads_to_target(self, x):
        return self._leads.get(_node(x), False)

    def visit(self, y):
        """Work out, for ``y`` and every variable behind it, whether it leads to a
        target (depth first, with an explicit stack, each function once)."""
        leads = self._leads
        stack = [y]
        while stack:
            x = stack[-1]
            key = _node(x)
            if key in leads:
                stack.pop()
                continue
            f = x.creator
            if key in self._targets:
                leads[key] = True
                stack.pop()  # and on below it: another target may lie behind this one
                if f is not None and x.generation > self._oldest:
                    stack.extend(v for v in f.inputs if _node(v) not in leads)
                continue
            if f is None or x.generation <= self._oldest:  # too old to depend on one
                leads[key] = False
            else:
                waiting = [v for v in f.inputs if _node(v) not in leads]
                if waiting:
                    stack.extend(waiting)
                    continue
                answer = any(leads[_node(v)] for v in f.inputs)
                for i in range(len(f.outputs)):  # every output of f: the same answer
                    leads[(f, i)] = answer
            stack.pop()


def _node(x):
    """What identifies the graph node of ``x``: the variable itself for a leaf, else
    its creator and which output it is (a stand-in and the variable it stands for
    are the same node)."""
    creator = x.creator
    if creator is not None:
        return creator, x._index
    if type(x) is _StandIn and x._leaf is not None:  # cut by unchain()
        leaf = x._leaf()
        return x if leaf is None else leaf
    return x


# --------------------------------------------------------------------------------------
# Names the book's dezero.core also defines
# --------------------------------------------------------------------------------------
# The book's core module holds the arithmetic functions and setup_variable as well.  Here
# they live in dezero.functions.arithmetic and dezero.operators, which import this module,
# so importing them at the top would be a cycle: they are looked up when first asked for
# (``dezero.core.add``, ``from dezero.core import Add``), by which time dezero is loaded.
_DEFINED_ELSEWHERE = {
    **dict.fromkeys(
        (
            'Add',
            'Sub',
            'Mul',
            'Div',
            'Neg',
            'Pow',
            'add',
            'sub',
            'rsub',
            'mul',
            'div',
            'rdiv',
            'neg',
            'pow',
        ),
        'dezero.functions.arithmetic',
    ),
    'setup_variable': 'dezero.operators',
    'array_types': 'dezero.cuda',  # NumPy's array type, and CuPy's once loaded
}


def __getattr__(name):
    module = _DEFINED_ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(module), name)


def __dir__():
    return sorted(set(globals()) | set(_DEFINED_ELSEWHERE))

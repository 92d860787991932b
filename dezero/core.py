"""The define-by-run engine: Variable, Function, configuration and backward.

A Variable holds an array and, after backprop, its gradient (itself a Variable).
Calling a Function on Variables runs ``forward`` on their arrays, wraps the results in
new Variables and, when backprop is enabled, links the two: every output remembers its
``creator`` and every function its ``inputs`` (strongly) and ``outputs`` (weakly, so a
graph is freed as soon as its last output is dropped).  A function's ``generation`` is one
past that of its newest input; ``backward()`` takes functions newest generation first and
calls each once, after every gradient flowing into it has been summed.

The arithmetic operators and array methods (``+``, ``reshape``, ``sum``, ...) are
attached to Variable by :func:`dezero.operators.setup_variable`, which the package's
``__init__`` runs; this module knows nothing of the individual functions.

Two debugging aids cost nothing until used: gradient hooks (:meth:`Variable.register_hook`)
and :func:`detect_anomaly`, whose checks live in :mod:`dezero.anomaly`.
"""
import contextlib
import copy
import gc
import itertools
import weakref

import numpy as np

from dezero import anomaly as _anomaly
from dezero import cuda
from dezero import released as _released


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------
class Config:
    """Global switches.

    ``enable_backprop``: record the graph while computing (off under :func:`no_grad`).
    ``train``: training behaviour of layers such as dropout (off under :func:`test_mode`).
    ``detect_anomaly``: check every forward output and backward gradient for NaN/Inf
    (on under :func:`detect_anomaly`).
    """
    enable_backprop = True
    train = True
    detect_anomaly = False


@contextlib.contextmanager
def using_config(name, value):
    """Set ``Config.<name>`` to ``value`` inside a ``with`` block, restoring it after."""
    if not hasattr(Config, name):
        raise AttributeError(f'using_config: Config has no setting {name!r}; '
                             f'expected one of enable_backprop, train, detect_anomaly')
    old = getattr(Config, name)
    setattr(Config, name, value)
    try:
        yield
    finally:
        setattr(Config, name, old)


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
    and free when off.  ``detect_anomaly(False)`` switches it off inside a block.
    """
    return using_config('detect_anomaly', bool(enabled))


# --------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------
def as_array(x, array_module=np):
    """Return ``x`` as an array: scalars (Python or NumPy) become 0-d arrays of
    ``array_module`` (NumPy by default); NumPy and CuPy arrays are returned as they are."""
    if isinstance(x, cuda.array_types):
        return x
    if not isinstance(x, np.generic) and cuda.is_array(x):   # CuPy not registered yet
        return x
    return array_module.asarray(x)


def as_variable(obj):
    """Return ``obj`` as a Variable: Variables pass through, arrays and scalars are wrapped.

    Lists and other objects are refused with a TypeError, as a list has no single dtype.
    """
    if isinstance(obj, Variable):
        return obj
    if isinstance(obj, cuda.array_types) or cuda.is_array(obj):
        return Variable(obj)
    if isinstance(obj, (int, float, complex, np.generic)) and not isinstance(obj, bool):
        return Variable(np.asarray(obj))
    raise TypeError(f'as_variable: cannot use an object of type {type(obj).__name__} as a '
                    f'Variable; expected a Variable, a NumPy array or a scalar '
                    f'(wrap lists with np.array(...))')


def _device_mix_error(func, arrays):
    """A TypeError for ``func`` called on both CPU (NumPy) and GPU (CuPy) arrays,
    naming the device of each input; None when the arrays are all on one device."""
    devices = {i: cuda.device_name(a) for i, a in enumerate(arrays) if cuda.is_array(a)}
    if len(set(devices.values())) < 2:
        return None
    where = ', '.join(f'input {i} on the {d}' for i, d in devices.items())
    return TypeError(
        f'{type(func).__name__}: mixes CPU and GPU arrays ({where}); move them to one '
        f'device first: .to_gpu() on the Variables or layers on the CPU, or .to_cpu() '
        f'on those on the GPU (a DataLoader takes gpu=True)')


def _describe_error(err, func, arrays):
    """Prefix an error raised in ``func.forward`` with the function's name and the
    shapes and dtypes of its inputs (once, however deeply the error travels)."""
    if getattr(err, '_dezero_described', False) or not err.args:
        return
    shapes = ', '.join(f'{tuple(a.shape)} {a.dtype}' if hasattr(a, 'shape') else repr(a)
                       for a in arrays)
    err.args = (f'{type(func).__name__}: {err.args[0]} (inputs: {shapes})',) + err.args[1:]
    err._dezero_described = True


# --------------------------------------------------------------------------------------
# Variable
# --------------------------------------------------------------------------------------
class Variable:
    """A node of the computation graph: an array ``data`` and, after backprop, ``grad``.

    ``Variable(data, name=None)`` accepts a NumPy array or ``None``; anything else
    (a float, a list) raises TypeError — wrap it with ``np.array(...)``.
    """
    __slots__ = ('data', 'name', 'grad', 'creator', 'generation', '_hooks', '__weakref__')
    # NumPy defers binary operators to Variable (np.ndarray + Variable -> Variable).
    __array_priority__ = 200
    __array_ufunc__ = None

    def __init__(self, data, name=None):
        if data is not None and not isinstance(data, cuda.array_types) \
                and not cuda.is_array(data):
            raise TypeError(
                f'Variable: data must be a NumPy (or CuPy) array or None, got '
                f'{type(data).__name__} ({data!r:.60}); wrap it with np.array(...)')
        self.data = data
        self.name = name
        self.grad = None
        self.creator = None
        self.generation = 0
        self._hooks = None         # {key: fn} once a hook is registered

    # ---- array-like properties -------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        if self.data is None:
            return 'variable(None)'
        body = str(self.data).replace('\n', '\n' + ' ' * len('variable('))
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

    def _single_element(self, what, error):
        data = self.data
        if data is None:
            raise error(f'{what}: this Variable holds no data (None)')
        if data.size != 1:
            raise error(f'{what}: only a Variable of one element converts to a Python '
                        f'number, got shape {data.shape}; reduce it first (v.sum()) or '
                        f'pick an element (v[0])')
        return data.item()

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(v)`` and ``np.array(v)``: the NumPy array of the data, cast to
        ``dtype`` when given, copied when ``copy`` is True.  With ``copy=False``
        (NumPy 2) a cast that needs a copy raises ValueError.  Data on a GPU is
        refused (copy it with ``to_cpu()`` first), as is a Variable without data.

        Arithmetic is not affected: ``ndarray + v`` still calls the Variable's operator
        (``__array_ufunc__ = None``), and NumPy ufuncs refuse Variables."""
        data = self.data
        if data is None:
            raise ValueError('np.asarray: this Variable holds no data (None)')
        if not isinstance(data, np.ndarray) or cuda.is_gpu_array(data):
            raise TypeError(f'np.asarray: this Variable holds a {cuda.device_name(data)} '
                            f'array of type {type(data).__name__}, which NumPy cannot read; '
                            f'copy it to the CPU first with v.to_cpu() or '
                            f'dezero.cuda.as_numpy(v.data)')
        if dtype is not None and np.dtype(dtype) != data.dtype:
            if copy is False:
                raise ValueError(f'np.asarray(copy=False): the data is {data.dtype}; '
                                 f'making it {np.dtype(dtype)} needs a copy')
            return data.astype(dtype)
        return data.copy() if copy else data

    # ---- graph -----------------------------------------------------------------------
    def set_creator(self, func):
        """Record ``func`` as the function that produced this variable."""
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self):
        """Forget the gradient (set ``grad`` to None) before a new backward pass."""
        self.grad = None

    def register_hook(self, fn):
        """Call ``fn(grad)`` with this variable's gradient (a Variable) during backward.

        When it runs: for a variable made by a function, once all gradients flowing
        into it have been summed, just before its creator's backward uses them; for a
        leaf, at the end of the backward pass, with the gradient that pass computed
        (before it is added to an existing ``.grad``); for the variable ``backward()``
        starts from, with the seed gradient.  If ``fn`` returns something other than
        None (a Variable or an array of the same shape), that replaces the gradient,
        e.g. to clip it.  Hooks run in the order they were registered.  Returns a
        handle whose ``remove()`` unregisters the hook.
        """
        if not callable(fn):
            raise TypeError(f'register_hook: expected a callable fn(grad), got '
                            f'{type(fn).__name__}')
        if self._hooks is None:
            self._hooks = {}
            _hooked_variables.add(self)
        handle = HookHandle(self)
        self._hooks[handle.key] = fn
        return handle

    def unchain(self):
        """Cut the link to the creating function; this variable becomes a leaf."""
        self.creator = None

    def unchain_backward(self):
        """Cut every link in the graph behind this variable (for truncated backprop)."""
        stack = [self.creator] if self.creator is not None else []
        seen = set()
        while stack:
            f = stack.pop()
            if f in seen:
                continue
            seen.add(f)
            for x in f.inputs:
                if x.creator is not None:
                    stack.append(x.creator)
                    x.unchain()

    def backward(self, retain_grad=False, create_graph=False):
        """Compute the gradient of this variable with respect to every variable behind it.

        The seed gradient is ones of this variable's shape (the derivative of a scalar
        loss with respect to itself). Gradients accumulate into ``.grad`` of the leaves;
        those of intermediate variables are dropped unless ``retain_grad`` is True.
        With ``create_graph=True`` the backward computation is itself recorded, so the
        gradients can be differentiated again.
        """
        if self.data is None:
            raise ValueError('backward: this Variable holds no data (None)')
        if self.grad is None:
            xp = cuda.get_array_module(self.data)
            self.grad = _Seed(xp.ones_like(self.data))
        if self.creator is None:
            if self._hooks is not None:
                with using_config('enable_backprop', create_graph):
                    self.grad = _run_hooks(self, self.grad)
            return
        if _released.pending:
            _released.release_pending()
        # The pass makes no reference cycles, but its allocations would trigger cyclic
        # collections that each walk the whole graph (the wider the graph, the more of
        # them): the collector waits until it is over.
        collecting = gc.isenabled()
        if collecting:
            gc.disable()
        try:
            if create_graph or Config.detect_anomaly or _hooked_variables:
                _backprop_variables(self, retain_grad, create_graph)
            else:
                _backprop_arrays(self, retain_grad)
        finally:
            if collecting:
                gc.enable()

    # ---- device ----------------------------------------------------------------------
    def to_cpu(self):
        """Move the data (and the gradient, if any) to the CPU as NumPy arrays; a
        no-op for NumPy data."""
        if self.data is not None:
            self.data = cuda.as_numpy(self.data)
        if self.grad is not None:
            self.grad.to_cpu()

    def to_gpu(self):
        """Move the data (and the gradient, if any) to the current GPU as CuPy arrays.

        Raises RuntimeError, saying how to install CuPy, when CuPy is missing, or why
        no GPU can be used."""
        cuda.require_gpu('Variable.to_gpu')
        if self.data is not None:
            self.data = cuda.as_cupy(self.data)
        if self.grad is not None:
            self.grad.to_gpu()


# --------------------------------------------------------------------------------------
# The backward engine
# --------------------------------------------------------------------------------------
# Both passes below take functions newest generation first (see _Schedule) and keep the
# gradients of this pass in a dictionary {Variable: gradient} rather than in ``.grad``:
# a variable's gradient is taken out (and so freed, unless ``retain_grad``) when its
# creator has used it, and a gradient left in ``.grad`` by an earlier pass is never
# propagated a second time.  Leaves get their gradient added to ``.grad`` at the end.
#
# _backprop_arrays is the everyday first-order pass: gradients are plain arrays and
# every function runs ``backward_arrays``, so no Variable or Function objects are made
# for the backward computation.  _backprop_variables runs ``backward`` on Variables: it
# is used when the pass is recorded (``create_graph``), under detect_anomaly, and while
# any variable has a gradient hook.

def _backprop_arrays(start, retain_grad):
    """First-order backward from ``start`` (whose ``.grad`` is the seed) on raw arrays."""
    grads = {start: start.grad.data}
    start.grad = None                             # given back below if retain_grad
    owned = set()        # variables whose summed gradient is an array made here
    schedule = _Schedule(start.creator)
    old_backprop = Config.enable_backprop
    Config.enable_backprop = False
    try:
        for f in schedule:
            refs = f.outputs
            if len(refs) == 1:
                # _take_array_grad inlined for the usual case (the chain benchmark
                # spends a tenth of its backward in that call otherwise)
                y = refs[0]()
                gy = grads.pop(y, None)
                if gy is None or retain_grad or (owned and y in owned):
                    if gy is not None:
                        grads[y] = gy
                    gy = _take_array_grad(y, grads, owned, retain_grad)
                gys = (gy,)
            else:
                gys = [None if y is None else _take_array_grad(y, grads, owned,
                                                               retain_grad)
                       for y in (ref() for ref in refs)]
            gxs = f.backward_arrays(*gys)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            inputs = f.inputs
            if len(gxs) != len(inputs):
                _wrong_count(f, gxs)
            for x, gx in zip(inputs, gxs):
                if gx is None:
                    continue
                if gx.shape != x.data.shape:
                    _wrong_shape(f, gx, x)
                old = grads.get(x)
                if old is None:
                    grads[x] = gx
                    creator = x.creator
                    if creator is not None:
                        schedule.add(creator)
                elif x in owned and old.dtype == gx.dtype:
                    old += gx                     # an array made here: add in place
                else:
                    total = old + gx
                    grads[x] = total
                    if total.ndim:                # 0-d sums are immutable NumPy scalars
                        owned.add(x)
        for x, gx in grads.items():               # only leaves are left
            if type(x) is not _Seed:
                x.grad = _grad_variable(x.grad, gx)
    finally:
        Config.enable_backprop = old_backprop


def _take_array_grad(y, grads, owned, retain_grad):
    """Remove and return the gradient of this pass for the output ``y`` (zeros when
    nothing flowed into it); with ``retain_grad`` also add it to ``y.grad``."""
    gy = grads.pop(y, None)
    if gy is None:
        gy = cuda.get_array_module(y.data).zeros(y.shape, y.dtype)
    elif owned:
        owned.discard(y)
    if retain_grad:
        y.grad = _grad_variable(y.grad, gy)
    return gy


def _grad_variable(old, g):
    """The Variable to store as ``.grad``: the array ``g`` (NumPy arithmetic on 0-d
    arrays gives scalars, made arrays again here), added to the ``old`` one if any."""
    if old is not None:
        g = old.data + g
    return Variable(g if type(g) is np.ndarray else as_array(g))


def _backprop_variables(start, retain_grad, create_graph):
    """Backward from ``start`` (whose ``.grad`` is the seed) on Variables, recorded
    when ``create_graph``; runs gradient hooks and the detect_anomaly checks.

    Gradients that could only reach seeds (the ones an earlier backward started from,
    which a gradient's graph contains) are not propagated, and functions are told which
    gradients are wanted (``needs_input_grad``): in a higher-order derivative that is
    about a fifth of all the work."""
    unwanted = _unwanted_gradients(start)
    grads = {start: start.grad}
    start.grad = None                             # given back below if retain_grad
    schedule = _Schedule(start.creator)
    anomaly = Config.detect_anomaly
    hooked_leaves = []
    old_backprop = Config.enable_backprop
    Config.enable_backprop = create_graph
    try:
        for f in schedule:
            refs = f.outputs
            if len(refs) == 1:
                gys = (_take_grad(refs[0](), grads, retain_grad),)
            else:
                gys = [_take_grad(ref(), grads, retain_grad) for ref in refs]
            wanted = unwanted.get(f)
            if wanted is None:
                gxs = input_grads(f, gys, anomaly)
            else:
                f.needs_input_grad = wanted
                try:
                    gxs = input_grads(f, gys, anomaly)
                finally:
                    del f.needs_input_grad
                gxs = [gx if use else None for gx, use in zip(gxs, wanted)]
            for x, gx in zip(f.inputs, gxs):
                if gx is None:
                    continue
                old = grads.get(x)
                if old is not None:
                    grads[x] = old + gx
                    continue
                grads[x] = gx
                if x.creator is not None:
                    schedule.add(x.creator)
                elif x._hooks is not None:
                    hooked_leaves.append(x)
        for x in hooked_leaves:                   # hooks see this pass's sum
            grads[x] = _run_hooks(x, grads[x])
        for x, gx in grads.items():               # only leaves are left
            x.grad = gx if x.grad is None else x.grad + gx
    finally:
        Config.enable_backprop = old_backprop


def _take_grad(y, grads, retain_grad):
    """Remove and return this pass's gradient (a Variable) of the output ``y``: zeros
    when nothing flowed into it, None when ``y`` is gone; hooks run on it, and with
    ``retain_grad`` it is added to ``y.grad``."""
    if y is None:
        return None
    gy = grads.pop(y, None)
    if gy is None:
        gy = _Seed(cuda.get_array_module(y.data).zeros(y.shape, y.dtype))
    elif y._hooks is not None:
        gy = _run_hooks(y, gy)
    if retain_grad:
        y.grad = gy if y.grad is None else y.grad + gy
    return gy


class _Schedule:
    """The functions waiting for their backward: iterating gives them newest
    generation first (in the order they were added within a generation), each once.

    A function's inputs were made by functions of lower generations, so the pass only
    ever adds functions behind the one it is running; keeping one list per generation
    makes adding and taking O(1), where a heap was O(log n)."""
    __slots__ = ('_waiting', '_seen', '_top')

    def __init__(self, first):
        self._waiting = {first.generation: [first]}
        self._seen = {first}               # functions of several outputs, added once
        self._top = first.generation

    def add(self, f):
        # A function is added when one of its outputs gets its first gradient; only
        # one with several outputs can be added twice.
        if len(f.outputs) > 1:
            if f in self._seen:
                return
            self._seen.add(f)
        generation = f.generation
        if generation >= self._top:
            raise RuntimeError(
                f'backward: {type(f).__name__} has generation {generation}, not below '
                f'{self._top} of a function that uses its output; was a generation '
                f'changed by hand?')
        waiting = self._waiting.get(generation)
        if waiting is None:
            self._waiting[generation] = [f]
        else:
            waiting.append(f)

    def __iter__(self):
        waiting = self._waiting
        for generation in range(self._top, -1, -1):   # O(longest path) in all
            functions = waiting.pop(generation, None)
            if functions is not None:
                self._top = generation
                yield from functions


class _Seed(Variable):
    """A gradient the engine makes up: the ones a backward starts from, the zeros of
    an unused output.  A constant: no backward propagates a gradient into it."""
    __slots__ = ()


def _unwanted_gradients(start):
    """For the functions behind ``start`` some of whose inputs lead to no leaf but
    seeds: ``{function: tuple of booleans, True for the inputs that lead to one}``.

    A depth-first walk that settles a function after all the creators of its inputs
    (it does not rely on generations, so a wrong one cannot hide a gradient)."""
    useful, unwanted = {}, {}                 # function -> whether it leads to a leaf
    stack = [start.creator]
    while stack:
        f = stack[-1]
        if f in useful:
            stack.pop()
            continue
        waiting = False
        for x in f.inputs:                    # settle the inputs' creators first
            creator = x.creator
            if creator is not None and creator not in useful:
                stack.append(creator)
                waiting = True
        if waiting:
            continue
        stack.pop()
        wanted = [type(x) is not _Seed if x.creator is None else useful[x.creator]
                  for x in f.inputs]
        if all(wanted):
            useful[f] = True
        else:
            useful[f] = any(wanted)
            unwanted[f] = tuple(wanted)
    return unwanted


def _wrong_count(f, gxs):
    raise ValueError(f'{type(f).__name__}.backward returned {len(gxs)} gradients for '
                     f'{len(f.inputs)} inputs')


def _wrong_shape(f, gx, x):
    raise ValueError(f'{type(f).__name__}.backward returned a gradient of shape '
                     f'{gx.shape} for an input of shape {x.data.shape}')


def input_grads(f, gys, check_anomaly=False):
    """Run ``f.backward`` on the output gradients ``gys`` and return one gradient per
    input of ``f`` (None where there is none), after checking that ``f`` returned one
    per input, each shaped like its input; with ``check_anomaly`` the gradients are
    also checked for NaN/Inf (see :func:`detect_anomaly`)."""
    gxs = _anomaly.run_backward(f, gys) if check_anomaly else f.backward(*gys)
    if type(gxs) is not tuple:
        gxs = (gxs,)
    if len(gxs) != len(f.inputs):
        _wrong_count(f, gxs)
    for x, gx in zip(f.inputs, gxs):
        if gx is not None and gx.data.shape != x.data.shape:
            _wrong_shape(f, gx.data, x)
    return gxs


# Variables that have hooks (weakly held): while there are none, backward takes the
# array pass.
_hooked_variables = weakref.WeakSet()


def _run_hooks(v, grad):
    """Pass ``grad`` through the hooks of ``v`` in order; a non-None result replaces it."""
    for fn in list(v._hooks.values()):
        new = fn(grad)
        if new is None:
            continue
        if not isinstance(new, Variable):
            try:
                new = as_variable(new)
            except TypeError:
                raise TypeError(f'gradient hook {fn!r} returned {type(new).__name__}; '
                                f'expected None, a Variable or an array') from None
        if new.data.shape != v.data.shape:
            raise ValueError(f'gradient hook {fn!r} returned a gradient of shape '
                             f'{new.data.shape} for a variable of shape {v.data.shape}')
        grad = new
    return grad


class HookHandle:
    """What :meth:`Variable.register_hook` returns: ``remove()`` unregisters the hook
    (removing twice, or after the variable is gone, does nothing).  Also a context
    manager that removes the hook at the end of the ``with`` block."""
    __slots__ = ('_variable', 'key')
    _keys = itertools.count()

    def __init__(self, variable):
        self._variable = weakref.ref(variable)
        self.key = next(HookHandle._keys)

    def remove(self):
        v = self._variable()
        if v is not None and v._hooks is not None:
            v._hooks.pop(self.key, None)
            if not v._hooks:
                v._hooks = None       # back to the hook-free fast path
                _hooked_variables.discard(v)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Parameter(Variable):
    """A Variable that a layer owns and an optimizer updates."""
    __slots__ = ()


# --------------------------------------------------------------------------------------
# Function
# --------------------------------------------------------------------------------------
class Function:
    """Base of every differentiable operation.

    Subclasses define ``forward(*arrays)`` (arrays in, an array or a tuple of arrays out)
    and ``backward(*grads)`` (Variables in, one Variable per input out, written with
    Variable operations so that it can be differentiated again).  Calling the function
    returns one Variable, or a list of them when ``forward`` returns several arrays.

    A function object may be called more than once: each call after the first that is
    recorded in a graph runs on a fresh copy, so every call keeps its own inputs and its
    own forward state and back-propagates correctly.
    """
    inputs = None
    outputs = None
    generation = 0
    _created_at = None      # the user's source line, recorded under detect_anomaly()
    #: Whether ``backward``/``backward_arrays`` read the values of the inputs (their
    #: shapes and dtypes do not count).  A function that does not (``y = x + c``,
    #: ``sigmoid``, which uses its output) sets it to False, and then a large input
    #: array that nothing but this function still holds is released during forward
    #: (see :mod:`dezero.released`) — unless its creator reads it:
    needs_input_data = True
    #: Whether they read the values of the outputs (as ``exp`` and ``sigmoid`` do
    #: through ``self.outputs``).  True by default, so that a function written as in
    #: the book never loses its output; the functions of dezero.functions that do not
    #: read theirs say False.
    needs_output_data = True
    #: During a recorded backward, which inputs' gradients will be used (a tuple of
    #: booleans; None: all).  A backward may return None for the others to save work.
    needs_input_grad = None

    def __call__(self, *inputs):
        # The hot path of the whole framework (a chain of scalar operations spends
        # about half its time here), hence the plain loops and the single-output case.
        if _released.pending:              # inputs the last calls' callers let go of
            _released.release_pending()
        f = self
        if self.inputs is not None:        # already a node of some graph: use a copy
            f = copy.copy(self)
        inputs = list(inputs)
        xs = []
        for i, x in enumerate(inputs):
            if type(x) is not Variable and not isinstance(x, Variable):
                try:
                    inputs[i] = x = as_variable(x)
                except TypeError as e:
                    raise TypeError(f'{type(self).__name__}: {e}') from None
            xs.append(x.data)
        try:
            ys = f.forward(*xs)
        except (ValueError, TypeError, IndexError) as e:
            mixed = _device_mix_error(f, xs)
            if mixed is not None:
                raise mixed from e
            _describe_error(e, f, xs)
            raise

        if type(ys) is tuple:
            outputs = [Variable(y if type(y) is np.ndarray else as_array(y)) for y in ys]
            if Config.enable_backprop:
                f._link(inputs, outputs)
        else:
            y = Variable(ys if type(ys) is np.ndarray else as_array(ys))
            outputs = (y,)
            if Config.enable_backprop:    # _link for one output, inlined: 10% faster
                generation = 0
                for x in inputs:
                    if x.generation > generation:
                        generation = x.generation
                f.generation = generation
                y.creator = f
                y.generation = generation + 1
                f.inputs = inputs
                f.outputs = [weakref.ref(y)]
                if not f.needs_input_data:            # _released.queue(f), inlined
                    for x in inputs:
                        if x.data.nbytes >= _released.MIN_BYTES:
                            _released.pending.append(weakref.ref(f))
                            break

        if Config.detect_anomaly:
            _anomaly.check_forward(f, xs, [y.data for y in outputs])
            if Config.enable_backprop:
                _anomaly.record_site(f)

        return outputs if len(outputs) > 1 else outputs[0]

    def _link(self, inputs, outputs):
        """Record this call in the graph: the inputs, the outputs (weakly), the
        generation one past the newest input."""
        generation = 0
        for x in inputs:
            if x.generation > generation:
                generation = x.generation
        self.generation = generation
        for y in outputs:
            y.creator = self
            y.generation = generation + 1
        self.inputs = inputs
        self.outputs = [weakref.ref(y) for y in outputs]
        if not self.needs_input_data:
            _released.queue(self)

    def forward(self, *xs):
        raise NotImplementedError(f'{type(self).__name__} does not define forward()')

    def backward(self, *gys):
        raise NotImplementedError(f'{type(self).__name__} does not define backward()')

    def backward_arrays(self, *gys):
        """The gradients of ``backward`` on raw arrays (None for an unused output in,
        an array or None per input out), for a first-order pass that records nothing.

        This default wraps the arrays in Variables and runs ``backward``.  A function
        that is called often overrides it with the same formulas written on arrays,
        which skips making a Variable and a Function object for every operation of its
        backward; the gradient checks run both versions."""
        gxs = self.backward(*[None if gy is None else Variable(as_array(gy))
                              for gy in gys])
        if type(gxs) is not tuple:
            return None if gxs is None else gxs.data
        return tuple(None if gx is None else gx.data for gx in gxs)


# --------------------------------------------------------------------------------------
# Names the book's dezero.core also defines
# --------------------------------------------------------------------------------------
# The book's core module holds the arithmetic functions and setup_variable as well.  Here
# they live in dezero.functions.arithmetic and dezero.operators, which import this module,
# so importing them at the top would be a cycle: they are looked up when first asked for
# (``dezero.core.add``, ``from dezero.core import Add``), by which time dezero is loaded.
_DEFINED_ELSEWHERE = {
    **dict.fromkeys(('Add', 'Sub', 'Mul', 'Div', 'Neg', 'Pow', 'add', 'sub', 'rsub', 'mul',
                     'div', 'rdiv', 'neg', 'pow'), 'dezero.functions.arithmetic'),
    'setup_variable': 'dezero.operators',
    'array_types': 'dezero.cuda',          # NumPy's array type, and CuPy's once loaded
}


def __getattr__(name):
    module = _DEFINED_ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    import importlib
    return getattr(importlib.import_module(module), name)


def __dir__():
    return sorted(set(globals()) | set(_DEFINED_ELSEWHERE))

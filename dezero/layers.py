"""Layers: objects that hold Parameters (and other layers) and compute with them.

A :class:`Layer` registers, when they are assigned, the attributes that hold
:class:`~dezero.core.Parameter` objects or other layers, directly or inside lists, tuples
and dicts, in the order of definition, so its parameters are always visited in the same
order.  It can save them to an ``.npz`` file, load them back, and describe itself
(``print(layer)`` and :meth:`Layer.summary`).

Concrete layers: :class:`Linear` (fully connected), :class:`Conv2d` and
:class:`Deconv2d` (2-D convolution and its transpose), :class:`BatchNorm` and
:class:`LayerNorm`, the recurrent :class:`RNN`, :class:`LSTM` and :class:`GRU`, which keep
a state from one call to the next, :class:`MultiHeadAttention` (self-attention), and
:class:`EmbedID` (a table of vectors looked up by integer ids).  Except for EmbedID and
MultiHeadAttention, whose sizes are given, they can create their weights lazily, on the
first call, from the shape of the input (a first call that raises creates none).
"""

import collections.abc
import contextlib
import math
import operator
import os
import sys
import threading
import types
import warnings
import weakref

import numpy as np

import dezero.functions as F
from dezero import cuda
from dezero.array_ops import array_of, cast_can_overflow, first_overflow
from dezero.atomic import atomic_open
from dezero.checks import check_flag
from dezero.conv_ops import pair  # noqa: F401  (the book's layers module has it)
from dezero.core import _settings as _thread_settings
from dezero.core import (
    Parameter,
    Variable,
    as_variable,
    mark_origin,
    no_grad,
    test_mode,
)
from dezero.functions.connection import embed_id, fitting_linear
from dezero.functions.normalization import _decay_and_eps
from dezero.serialization import (
    _cast,
    assign_weights,
    npz_beside,
    npz_path,
    read_weights,
    weight_arrays,
    write_npz,
)

# Containers whose Parameters and Layers belong to the layer that holds them.
_CONTAINERS = (list, tuple, dict)

# The descriptors that a class's ``__slots__`` makes: what is assigned to one of those
# attributes is kept in the slot, outside the instance dict where a layer's members are.
_SLOT = types.MemberDescriptorType

# The keys under which a layer keeps, in its ``__dict__``, the record of the names of
# its members ({name: None}, a dict used as an ordered set) and the list params()
# gives (a _KeptParams).  They are dezero's own: assigning them is refused.
_NAMES = '_dezero_names'
_KEPT = '_dezero_kept_params'
_RESERVED = frozenset((_NAMES, _KEPT))

# Counts the assignments and deletions of registered attributes, in any layer: a kept
# list of parameters (see _KeptParams) is read again after any of them.
_structure_changes = 0


class _Watch(threading.local):
    """What watches the layer calls of this thread, if anything: while
    :meth:`Layer.summary` runs its forward pass, ``shapes`` is {id(layer): output shape
    of its first call}; while :meth:`dezero.models.Model.plot` runs its own, ``paths``
    is {id(layer): its name in the model}, and the functions each layer call makes
    record that name (for the picture's boxes).  ``created`` lists, oldest first, the
    parameter creations (:class:`_Creation`) made by layer calls of this thread that
    may not have ended yet, and the changes of state made since
    (:class:`_StateChange`), to be undone if those calls raise (see
    :meth:`Layer.__call__`); None when there are none.  ``noted`` maps the (layer
    id, name) of a state attribute to the index in ``created`` of the last note of
    its value, and ``last_creation`` is the index of the last creation (see
    :func:`_set_state`).  ``active`` says whether any of the
    three is on: the one thing a layer call reads of them."""

    active = False
    shapes = None
    paths = None
    created = None
    noted = None
    last_creation = -1


_watch = _Watch()


def _recheck_watch():
    """Set ``_watch.active`` after one of the things it stands for changed."""
    _watch.active = (
        _watch.shapes is not None or _watch.paths is not None or _watch.created is not None
    )


@contextlib.contextmanager
def watching_layers(model):
    """Inside the block, the functions made by calls of ``model``'s layers (in this
    thread) record the layer's name as in ``params()`` (``l0``, ``blocks/0``), and
    those made by ``model`` itself the name ``''``: :func:`dezero.graph.draw_graph`
    then groups them by layer."""
    saved = _watch.paths
    _watch.paths, _watch.active = _layer_paths(model), True
    try:
        with mark_origin(layer_path=''):
            yield
    finally:
        _watch.paths = saved
        _recheck_watch()


@contextlib.contextmanager
def keeping_state(model):
    """Inside the block, calls of ``model`` may change the state that its layers keep
    from one call to the next; on leaving it, that state is put back.  The layers
    concerned are those with ``reset_state()`` (RNN, LSTM, GRU, and models that have
    one), ``model`` included; their state is what the calls left in their attributes
    as Variables or arrays (or tuples of them), such as ``h`` and ``c``: each such
    attribute gets its value of the start back, or is removed if it had none.
    Parameters and settings that the calls create (lazy layers) stay."""
    layers = [model] + [layer for _, layer in type(model)._named_sublayers(model)]
    stateful = [layer for layer in layers if callable(getattr(layer, 'reset_state', None))]
    saved = [(layer, dict(layer.__dict__)) for layer in stateful]
    try:
        yield
    finally:
        for layer, before in saved:
            values = layer.__dict__
            names = values.get(_NAMES) or ()
            for name, value in list(values.items()):
                if name in names or value is before.get(name) or not _is_state(value):
                    continue
                if name in before:
                    values[name] = before[name]
                else:
                    del values[name]


@contextlib.contextmanager
def keeping_statistics(model):
    """Inside the block, training calls of ``model`` may move the running statistics
    of its layers (BatchNorm's ``avg_mean`` and ``avg_var``: see
    :func:`running_statistics`); on leaving it, each one that held values holds them
    again, in the same array.  Statistics that the calls create (a lazy BatchNorm's
    first call) stay, holding the values a new layer gives them (its ``_statistics``:
    BatchNorm's zeros and ones), as though no call had moved them."""
    statistics = _owned_statistics(model)
    saved = [
        (param, param.data, param.data.copy())
        for _, _, param in statistics
        if param.data is not None
    ]
    missing = [(owner, name, param) for owner, name, param in statistics if param.data is None]
    try:
        yield
    finally:
        for param, array, values in saved:
            array[...] = values
            param.data = array
        for owner, name, param in missing:
            array = param.data
            if array is not None:  # created by the calls
                array[...] = type(owner)._statistics[name]
                param.data = array  # (noted as a change, as above)


def _is_state(value):
    """Whether ``value`` can be the state a layer keeps between calls: a Variable, an
    array (NumPy or CuPy), or a tuple of them."""
    if isinstance(value, tuple):
        return bool(value) and all(_is_state(v) for v in value)
    return isinstance(value, Variable) or (hasattr(value, 'shape') and hasattr(value, 'dtype'))


def _structure_changed():
    global _structure_changes
    _structure_changes += 1


def _overrides_params(layer):
    """Whether ``layer``'s ``params()`` is not :meth:`Layer.params`: its class
    overrides it, or a function was assigned to the layer's own ``params`` (the book
    calls ``params()`` of each layer, so either way freezes a layer there)."""
    return type(layer).params is not Layer.params or 'params' in layer.__dict__


def _may_hold_members(value):
    """Whether ``value`` is a Parameter or a Layer, or a container that holds one or
    may come to hold one (lists and dicts can be filled later; a tuple only through
    the lists and dicts inside it)."""
    if isinstance(value, (Parameter, Layer, list, dict)):
        return True
    return isinstance(value, tuple) and any(_may_hold_members(v) for v in value)


class Layer:
    """A container of Parameters and sub-layers with a ``forward`` computation.

    Assigning a Parameter or a Layer to an attribute registers it under that name.
    Assigning a list, tuple or dict registers it too: the Parameters and Layers in it,
    nested containers included, belong to this layer under the paths ``name/index``
    and ``name/key`` (``self.blocks = [Linear(10), Linear(10)]`` holds ``blocks/0/W``,
    ``blocks/0/b``, ``blocks/1/W``...), in list order and dict insertion order, and
    changes made to the container later (``self.blocks.append(...)``) are seen, with
    one exception: a list or dict of more than 64 items that holds no Parameter,
    Layer, list, dict or None (a vocabulary, a history of losses) is checked by its
    length alone, so that it costs nothing however long it is; a Layer or Parameter put into
    it in place of another item (``self.vocab[3] = layer``) is seen once its length
    changes or it is assigned again.  (A shorter one, such as ``[None]`` waiting for
    a layer, is watched item by item.)  Other items of a container, such as functions
    (``F.relu``) or numbers, are allowed and are not part of the model.  Only lists,
    tuples and dicts (their values) are looked into: a Layer or Parameter in a set, a
    deque, a dict view, a ``types.SimpleNamespace`` or a NumPy array of objects, or
    used as a dict key, is not a member (as in the book) and is neither trained nor
    saved unless something else makes it one; a set of them assigned to an attribute
    is refused with TypeError (a set has no order).  An object held both by an
    attribute and by a container of the same layer is named after the attribute, so
    ``self.layers = [self.l0, self.l1]`` keeps the names ``l0`` and ``l1``.
    Re-assigning a name keeps its place; assigning anything else (or deleting the
    attribute) unregisters it, except where that would silently take parameters out
    of the layer: an attribute holding a Parameter takes only another Parameter, one
    holding a Layer only another Layer, and one holding a list, tuple or dict with
    Parameters or Layers in it only another list, tuple or dict.
    Assigning anything else to them, None included, raises TypeError (change a
    parameter's values through ``.data``, or ``del`` the attribute to remove what it
    holds).  An assignment that raises (a property without a setter) registers
    nothing, and one that a property handles registers what its setter stores
    (``self._W``), not the property's name.  The names ``_dezero_names`` and
    ``_dezero_kept_params`` are the layer's own record and cannot be assigned.
    Members are kept in the instance dict: a slot of the class (``__slots__``) takes
    other values only, and assigning a Parameter or a Layer to one (or a list, tuple
    or dict holding one) raises TypeError.

    The attributes named in the class attribute ``_state_names`` (RNN's ``h``) hold
    the state the layer keeps from one call to the next: never members, whatever
    they hold, so a Parameter there is replaced freely (see :class:`RNN`).

    Calling the layer returns ``forward(*inputs, **options)`` (keyword arguments are
    settings, such as MultiHeadAttention's ``is_causal``), a tuple of one output
    unwrapped to that output as in DeZero, and keeps weak references to the positional
    inputs and the outputs of that call in ``inputs`` and ``outputs``
    (``layer.outputs[0]()`` is the last output while it is alive; a tuple returned by
    forward gives one reference per item).  The graph frees an intermediate result that
    no backward reads (the output of a layer followed by ReLU, which reads its own
    output), so such an output is gone once the forward pass has moved on; a layer
    whose ``keep_outputs`` is True holds its outputs instead, until its next call, so
    that their data, and their gradients after ``backward(retain_grad=True)``, can be
    read back through ``outputs``, as Grad-CAM does.  A layer has no derivative of its own: its
    forward is made of dezero functions, whose backward carries the gradients to its
    inputs and Parameters.  A call that raises takes back the parameters it created
    (the first call of a lazy layer, or of a model through its lazy layers): they have
    no data again, the input sizes are unknown again, and NumPy's random generator is
    put back where it was unless something drew from it since the weights were drawn;
    the state attributes (``_state_names``) that the layer calls changed after the
    first of those parameters was created get back their values of before (for a
    first call, usually None), since that state was computed with the parameters
    taken back.  State changed before any parameter was created stays, as after any
    call that raises.

    ``_params`` is the book's record of the names of the attributes that hold a
    Parameter or a Layer, for code that walks a layer the book's way (``for name in
    self._params: obj = self.__dict__[name]``) or registers names the book's way
    (``self._params.add(name)``; see :class:`_ParamNames`).
    """

    # The Parameters that are not learnt but kept and saved (running statistics),
    # {name: the value each of its entries has in a new layer}; summary counts them
    # apart, and Model.plot gives those its pass created their new layer's values.
    _statistics = {}

    # The attributes in which the layer keeps its state from one call to the next
    # (RNN's h): never members, whatever they hold (see the class).
    _state_names = ()

    #: Whether ``outputs`` holds the last call's outputs rather than weak references
    #: to them (see the class).
    keep_outputs = False

    def __init__(self):
        self.__dict__.setdefault(_NAMES, {})

    def __setattr__(self, name, value):
        values = self.__dict__
        if name in type(self)._state_names:  # state, not a member: see _set_state
            _set_state(self, name, value)
            return
        names = values.get(_NAMES)
        if names is None:  # a subclass whose __init__ does not call Layer.__init__
            names = values[_NAMES] = {}
        if name in _RESERVED:
            raise _reserved(self, name)
        if name in names:
            held = values.get(name)
            if _drops_members(held, value):
                _refuse_replacing(self, name, held, value)
        members = _may_hold_members(value)
        if members and isinstance(getattr(type(self), name, None), _SLOT):
            _refuse_slot(self, name, value)
        if not members and isinstance(value, (set, frozenset)):
            if any(isinstance(v, (Parameter, Layer)) for v in value):
                raise TypeError(
                    f'{type(self).__name__}: the attribute {name!r} is a set '
                    f'holding layers or parameters; a set has no order, so '
                    f'its parameters could not be named or saved: use a list'
                )
        super().__setattr__(name, value)  # first: an assignment that raises registers nothing
        if members and values.get(name) is value:  # (a property stores it elsewhere)
            names.setdefault(name, None)
            _structure_changed()
        elif name in names:
            del names[name]
            _structure_changed()
        elif name == 'params' or name == '__class__':  # see _overrides_params
            _structure_changed()

    def __delattr__(self, name):
        if name in _RESERVED:
            raise _reserved(self, name)
        super().__delattr__(name)
        if self.__dict__.get(_NAMES, {}).pop(name, 0) is None or name == 'params':
            _structure_changed()

    def __getstate__(self):
        """What pickling, ``copy.copy`` and ``copy.deepcopy`` keep of the layer: every
        attribute but the weak references of the last call (``inputs``, ``outputs``,
        unless those names are members), which cannot be pickled and are not needed,
        and the list :meth:`params` keeps, which is valid in this process only; the
        record of member names is the copy's own.  A Variable that a call left in an
        attribute, alone or in a tuple (the hidden state ``h`` and cell ``c`` of RNN,
        LSTM and GRU), is kept as a new Variable of its data and name, without the
        graph that computed it: the copy goes on with the sequence from the same
        state, but its backward stops there, and the copy does not hold (nor recurse
        through) that graph.  A weak link to a layer or a Variable,
        ``weakref.ref(layer)`` in an attribute (alone or in a tuple), which pickling
        cannot take, is kept as a :class:`_WeakLink`: the copy links weakly to the
        copy of that object, the one the rest of the copy holds, and never to the
        original (an object that the rest does not hold is copied for the link alone,
        and is gone once the copy is made: the link then gives None).

        The values of the slots (``__slots__``) of the layer's class that are set are
        kept too, likewise: the state is then ``(attributes, slots)``, two dicts, as
        Python's own pickling makes it for an object with both."""
        values = self.__dict__
        names = values.get(_NAMES, {})
        left_out = {_KEPT} | ({'inputs', 'outputs'} - set(names))
        state = {
            name: _without_history(value) for name, value in values.items() if name not in left_out
        }
        if _NAMES in state:
            state[_NAMES] = dict(names)
        slots = {}
        for name, slot in _slots(type(self)).items():
            try:
                slots[name] = _without_history(slot.__get__(self))
            except AttributeError:  # a slot not set
                pass
        return (state, slots) if slots else state

    def __setstate__(self, state):
        """Take the attributes ``state`` (from :meth:`__getstate__`).  A state that
        holds the record of member names as ``_names``, as pickles of earlier
        versions do, has it moved to its own name (and ``_params_cache`` dropped), and
        loses the state names (``_state_names``) that earlier versions recorded; one
        of the book's DeZero (names in a set ``_params``) is refused with TypeError.
        A state ``(attributes, slots)`` sets the slots too."""
        slots = {}
        if isinstance(state, tuple):
            state, slots = state
        if _NAMES not in state and isinstance(state.get('_names'), dict):
            state = dict(state)
            state[_NAMES] = state.pop('_names')
            state.pop('_params_cache', None)
        stale = [n for n in type(self)._state_names if n in state.get(_NAMES, ())]
        if stale:  # a state (RNN's h) that earlier versions registered as a member
            state = dict(state)
            state[_NAMES] = {k: v for k, v in state[_NAMES].items() if k not in stale}
        if _NAMES not in state and isinstance(state.get('_params'), (set, frozenset)):
            raise TypeError(
                f"{type(self).__name__}: this pickle holds a layer of the book's DeZero, "
                f"whose state dezero's layers do not take; save its weights there with "
                f'save_weights and load them into a dezero layer with load_weights'
            )
        self.__dict__.update({name: _relinked(value) for name, value in state.items()})
        for name, value in slots.items():
            object.__setattr__(self, name, _relinked(value))

    def __call__(self, *inputs, **options):
        # A layer's first call creates its lazy parameters (see _creating), which are
        # listed in _watch.created and turn _watch.active on.  A call that raises takes
        # back those created since it began (``mark``; a call begun with _watch.active
        # off began with none pending), and the outermost layer call of the thread,
        # finding no layer call below its own, keeps them when it ends well.  So a
        # first call that raises leaves its layers as they were, and a later step
        # costs nothing more.
        mark, watched = 0, False
        if _watch.active:  # watched, or parameters made by a call that may still run
            if _watch.created is not None:
                mark = len(_watch.created)
            watched = _watch.paths is not None or _watch.shapes is not None
        try:
            if watched:
                outputs = type(self)._watched_forward(self, inputs, options)
            else:
                outputs = self.forward(*inputs, **options)
        except BaseException:
            if _watch.created is not None:
                _undo_created(mark)
            raise
        if _watch.created is not None and _is_outermost_call(sys._getframe()):
            _keep_created()
        ys = outputs if isinstance(outputs, tuple) else (outputs,)
        state = self.__dict__  # not through __setattr__: these are not members
        names = state.get(_NAMES) or ()
        if 'outputs' not in names and 'inputs' not in names:
            try:  # Variables and arrays, the usual case
                state['inputs'] = list(map(weakref.ref, inputs))
                state['outputs'] = list(map(weakref.ref, ys))
            except TypeError:  # a number or a tuple among them
                state['inputs'] = [_weak(x) for x in inputs]
                state['outputs'] = [_weak(y) for y in ys]
            if self.keep_outputs:
                state['outputs'] = [_held(y) for y in ys]
        return ys[0] if len(ys) == 1 else outputs

    def _watched_forward(self, inputs, options):
        """forward, telling what watches the calls (see :class:`_Watch`)."""
        path = None if _watch.paths is None else _watch.paths.get(id(self))
        with mark_origin(layer_path=path) if path is not None else contextlib.nullcontext():
            outputs = self.forward(*inputs, **options)
        shapes = _watch.shapes
        if shapes is not None and id(self) not in shapes:
            shapes[id(self)] = _shape_of(outputs)
        return outputs

    def forward(self, *inputs):
        """The layer's computation, which each subclass defines: it takes the inputs
        and keyword settings the call was given and returns the output (a Variable,
        or a tuple of them).  The base class raises NotImplementedError."""
        raise NotImplementedError(f'{type(self).__name__} does not define forward()')

    # ---- parameters ------------------------------------------------------------------
    @property
    def _params(self):
        """The names of the attributes holding a Parameter or a Layer, in definition
        order, as a live set (see :class:`_ParamNames`): ``in``, iteration, ``len``,
        ``&``, ``|``, ``-``, and ``add``/``discard``/``remove`` to register and
        unregister names the book's way; lists, tuples and dicts of them are left out,
        as the book's set of names has no place for them."""
        return _ParamNames(self)

    @_params.setter
    def _params(self, names):
        """``self._params = set()``, as the book's ``Layer.__init__`` writes, is taken
        and changes nothing: the layer keeps the names itself; so is the layer's own
        ``_params`` (what ``self._params |= {...}`` assigns back).  Other values are
        refused, as they could only disagree with the attributes."""
        if isinstance(names, _ParamNames) and names.layer is self:
            return
        if names:
            raise AttributeError(
                f'{type(self).__name__}: _params lists the names of the Parameter and '
                f'Layer attributes, which the layer keeps itself; assign the attributes '
                f'instead, or use _params.add(name) and _params.discard(name) (only an '
                f'empty set may be assigned, as the book does)'
            )

    def param_specs(self):
        """What this layer knows, before its first call, of the Parameters that call
        creates: ``{name: (shape, dtype)}``, ``name`` being the attribute that holds
        the parameter, or a path of attributes through sub-layers (``'x2f/W'``).

        ``shape`` is a tuple of ints and of names of the lengths the first call decides
        (``('in', 4)``: any input width, 4 outputs); a name stands for the same length
        wherever it appears in this layer's shapes (LSTM thus makes the input widths
        of its four ``x2*`` layers one).  ``dtype`` is the dtype the parameter will
        have, or None for any floating-point one.  :meth:`load_weights` checks the
        file's arrays for such parameters against this before changing anything, and
        casts them to ``dtype``; a parameter not listed here takes the file's array as
        it is.  A parameter described by a layer and by a layer inside it follows the
        outer one.  The base class knows nothing (``{}``); the layers that create
        their parameters lazily override it, and so may yours."""
        return {}

    def _lazy_specs(self):
        """``{id(parameter): (layer, shape, dtype)}``, from :meth:`param_specs`, for
        the parameters of this layer and its sub-layers that have no data yet; the
        outermost layer that describes a parameter gives its entry."""
        specs = {}
        layers = [self] + [layer for _, layer in type(self)._named_sublayers(self)]
        for layer in layers:  # each before the layers inside it
            for name, (shape, dtype) in type(layer).param_specs(layer).items():
                param = _described_param(layer, name)
                if param.data is None and id(param) not in specs:
                    specs[id(param)] = (
                        layer,
                        tuple(shape),
                        None if dtype is None else np.dtype(dtype),
                    )
        return specs

    def _fit_planned(self, planned, owner, path):
        """``planned`` (``[(parameter, array)]``: what loading the file ``path`` is to
        give the parameters of this layer and its sub-layers) after each layer has
        checked, and perhaps cast, the arrays of its own Parameters
        (:meth:`_fit_loaded`); errors name ``owner`` and ``path``.
        :func:`~dezero.serialization.planned_weights` calls it last."""
        index = {id(param): i for i, (param, _) in enumerate(planned)}
        planned = list(planned)
        sublayers = type(self)._named_sublayers(self)
        layers = [('', self)] + [(p + '/', layer) for p, layer in sublayers]
        for prefix, layer in layers:
            cls = type(layer)
            if cls._fit_loaded is Layer._fit_loaded:
                continue  # the usual case: a layer that takes any values
            own = {
                name: param
                for name, param in cls._members(layer, '')
                if isinstance(param, Parameter) and id(param) in index
            }
            arrays = {name: planned[index[id(param)]][1] for name, param in own.items()}
            for name, array in cls._fit_loaded(layer, arrays, prefix, owner, path).items():
                planned[index[id(own[name])]] = (own[name], array)
        return planned

    def _fit_loaded(self, arrays, prefix, owner, path):
        """The arrays that this layer's own Parameters are to receive from the file
        ``path``: ``arrays`` maps their names to what :meth:`load_weights` planned
        (already of the parameters' shapes, and cast to their dtypes); the result maps
        the same names to the arrays to assign.  A layer that cannot compute with
        some values raises ValueError naming ``owner``, ``path`` and the parameter
        (``prefix`` + its name).  The base class takes any values as they are."""
        return arrays

    def named_params(self):
        """Yield ``(path, parameter)`` for every Parameter of this layer and its
        sub-layers, depth first in definition order; the path joins the attribute
        names, list indices and dict keys with ``/`` (``'l0/W'``, ``'blocks/0/W'``).
        A parameter or layer reachable by several paths is visited once, under the
        first path.  The layers whose class overrides :meth:`params` are looked into
        all the same: this lists what the model holds (and saves), not what it trains.
        """
        return type(self)._walk(self)

    def _param_paths(self):
        """Yield ``(path, parameter)`` for every path by which this layer reaches a
        Parameter, depth first in definition order: a parameter or layer that several
        attributes hold (tied weights) comes once under each of their paths, as the
        book's ``_flatten_params`` puts it, and so as weight files hold it.  A layer
        met again inside itself (a cycle) is not entered again.  The first path of
        each parameter is the one :meth:`named_params` gives."""
        stack = [(self, iter(type(self)._members(self, '')))]
        inside = {id(self)}  # the layers on the current path
        while stack:
            layer, members = stack[-1]
            for path, obj in members:
                if not isinstance(obj, Layer):
                    yield path, obj
                elif id(obj) not in inside:
                    inside.add(id(obj))
                    stack.append((obj, iter(type(obj)._members(obj, path + '/'))))
                    break
            else:
                stack.pop()
                inside.discard(id(layer))

    def _flatten_params(self, params_dict, parent_key=''):
        """Put every Parameter of this layer and its sub-layers into the dict
        ``params_dict`` under each of its paths (a shared one under several; see
        :meth:`_param_paths`), after ``parent_key`` and a ``/`` when given: the book's
        step 53, on which its save_weights stands."""
        prefix = f'{parent_key}/' if parent_key else ''
        for path, param in type(self)._param_paths(self):
            params_dict[prefix + path] = param

    def params(self):
        """Iterate over every Parameter of this layer and its sub-layers, each once, in
        the order of :meth:`named_params`; except that a sub-layer whose class
        overrides ``params()`` gives what its own ``params()`` yields, as in DeZero,
        where that is how layers are frozen (``def params(self): return iter(())``
        keeps an optimizer from changing them)."""
        return iter(type(self)._param_list(self))

    def _param_list(self):
        """The list behind :meth:`params`: the same list object for as long as the
        parameters stay the same (see :class:`_KeptParams`), so that an optimizer can
        tell it has seen it.  A model holding layers that override ``params()`` gets
        a new list each time, with what their ``params()`` yields then."""
        values = self.__dict__
        kept = values.get(_KEPT)
        if kept is None or not kept.holds(values):
            kept = _KeptParams()
            kept.items = [obj for _, obj in type(self)._walk(self, kept, calls_params=True)]
            kept.calls = any(isinstance(obj, Layer) for obj in kept.items)
            values[_KEPT] = kept
        return _params_of(kept.items) if kept.calls else kept.items

    def _walk(self, watch=None, layers=False, calls_params=False):
        """The traversal behind named_params and params: ``(path, parameter)`` pairs,
        and with ``layers`` the ``(path, layer)`` pairs of the sub-layers too, each
        before its own members.  With ``calls_params``, a sub-layer whose class
        overrides params() is given as ``(path, layer)`` and not looked into.  What is
        read is noted in ``watch`` (a :class:`_KeptParams`), when given."""
        seen = {id(self)}
        stack = [iter(type(self)._members(self, '', watch))]
        while stack:
            for path, obj in stack[-1]:
                if id(obj) in seen:
                    continue
                seen.add(id(obj))
                if isinstance(obj, Layer):
                    if watch is not None:
                        watch.met(obj)
                    if calls_params and _overrides_params(obj):
                        yield path, obj
                        continue
                    if layers:
                        yield path, obj
                    stack.append(iter(type(obj)._members(obj, path + '/', watch)))
                    break
                yield path, obj
            else:
                stack.pop()

    def _named_sublayers(self):
        """Yield ``(path, layer)`` for every layer inside this one, each once, under
        its first path (``l0``, ``blocks/0``), depth first."""
        for path, obj in type(self)._walk(self, layers=True):
            if isinstance(obj, Layer):
                yield path, obj

    def _members(self, prefix, watch=None):
        """``(prefix + path, value)`` for the Parameters and Layers this layer holds
        directly, in definition order; what is read is noted in ``watch`` (a
        :class:`_KeptParams`), when given."""
        values = self.__dict__
        names = values.get(_NAMES)
        try:
            members = [(name, values[name]) for name in names or ()]
        except KeyError as e:  # a name added to _params before its attribute was set
            raise _unset_member(self, e.args[0], None) from None
        if watch is not None:
            watch.layer(values, names, members)
        attributes = None  # ids of the objects held by attributes
        found = []
        for name, value in members:
            if not isinstance(value, _CONTAINERS):
                if not isinstance(value, _MEMBERS):  # only through _params.add
                    raise _unset_member(self, name, _holding(value))
                found.append((prefix + name, value))
                continue
            if attributes is None:
                attributes = {id(v) for _, v in members if not isinstance(v, _CONTAINERS)}
            _unpack(self, prefix + name, value, attributes, found, watch, ())
        return found

    def cleargrads(self):
        """Forget the gradients of the parameters that :meth:`params` gives (those
        of a layer that overrides it to be frozen are kept, as in DeZero)."""
        params = self.params() if _overrides_params(self) else type(self)._param_list(self)
        for param in params:
            param.grad = None

    def to_cpu(self):
        """Move every parameter (data and gradient) to the CPU as NumPy arrays, those
        that :meth:`params` leaves out (a frozen layer's) included."""
        for _, param in type(self).named_params(self):
            param.to_cpu()

    def to_gpu(self):
        """Move every parameter (data and gradient) to the current GPU as CuPy arrays,
        those that :meth:`params` leaves out (a frozen layer's) included; raises
        RuntimeError saying how to install CuPy when it is missing."""
        cuda.require_gpu(f'{type(self).__name__}.to_gpu')
        for _, param in type(self).named_params(self):
            param.to_gpu()

    # ---- files -----------------------------------------------------------------------
    def save_weights(self, path):
        """Write the initialised parameters to an ``.npz`` file: ``path``, with
        ``.npz`` added when it does not end so, as ``np.savez`` does (``'my_mlp'``
        writes ``my_mlp.npz``).

        Keys are the parameter paths of :meth:`named_params` (``'l0/W'``); a parameter
        shared by several layers or attributes (tied weights: ``self.dec = self.enc``)
        is written under each of its paths (``enc/W`` and ``dec/W``), as the book's
        save_weights writes it, so that either package reads the other's file.
        Parameters that have no data yet (a lazy layer never called) are left out.
        The file appears whole or not at all: if writing fails or is interrupted, a
        previous file of that name is left untouched.  GPU arrays are copied to the CPU: the
        file holds NumPy arrays whatever the device.  ``path`` may also be a binary
        file object open for writing (``io.BytesIO``), as ``np.savez`` takes: the
        archive is written into it (directly into a BytesIO or a real file, in one
        write into other streams), which cannot be atomic.
        """
        path = npz_path(path, 'save_weights')
        arrays = weight_arrays(self, 'save_weights')
        with atomic_open(path, 'wb', operation='save_weights') as f:
            write_npz(f, arrays)

    def load_weights(self, path):
        """Set the parameters from the ``.npz`` file at exactly ``path``, written by
        :meth:`save_weights` (which adds ``.npz`` to a path without it: load
        ``'my_mlp.npz'``), or from a readable, seekable binary file object
        (``io.BytesIO``), as ``np.load`` takes, whose archive must begin at its current
        position; the file object is left at its end after a successful load.  A file
        holding other bytes before its archive is refused (ValueError), archives
        appended one after another included, since only the last could be found: save
        each into a file or stream of its own.

        Every key and shape is checked before anything is assigned: a parameter missing
        from the file, a key the model has no parameter for, or a shape that differs
        raises ValueError, as do entries under two paths of one shared parameter that
        hold different arrays (an entry under any one of its paths is enough), and a
        file that is not a readable ``.npz`` archive (a missing file raises
        FileNotFoundError, which asks whether ``path + '.npz'`` was meant when that
        file exists); the model is then left exactly as it was, and a file object
        where it stood.  Initialised parameters keep their dtype (the values are cast):
        a complex entry loads into a complex parameter and is refused for a real one
        (its imaginary parts would be lost), and an integer or bool parameter refuses
        an entry holding a value its dtype cannot hold exactly (2.7, NaN or 300 for
        int8, 0.5 for bool) rather than truncating or wrapping it.  A parameter with no
        data yet (a lazy layer never called) takes the file's array once it fits what
        its layer knows of it (:meth:`param_specs`: Linear's W must have ``out_size``
        columns, say), cast to the layer's dtype; one with no data that the file lacks
        stays without data.  A value too large for the parameter's dtype (1e39 for
        float32) raises ValueError rather than becoming infinite, and so do values a
        layer cannot compute with (a negative or NaN ``avg_var`` of a BatchNorm, whose
        four arrays a BatchNorm not called yet takes in gamma's dtype).  The parameters
        receive copies independent of the file and of each other, on the device each
        parameter is on (the CPU for a parameter with no data yet).
        When ``path`` lacks ``.npz`` and both it and ``path + '.npz'`` are files, the
        exact path is read with a warning naming the other, which ``save_weights(path)``
        writes.
        """
        _warn_of_npz_beside(path)
        assign_weights(read_weights(self, 'load_weights', path))

    # ---- description -----------------------------------------------------------------
    def hyperparameters(self):
        """The main settings of this layer as a dict, shown by ``print(layer)`` and
        :meth:`summary` as ``Type(name=value, ...)``; a size not known yet (a lazy
        layer never called) is None, shown as ``?``.  The base class has none: a
        layer without settings shows its own Parameters instead.  Subclasses
        override it."""
        return {}

    def __repr__(self):
        """The tree of this layer: one line per sub-layer, indented by depth and
        named as in :meth:`named_params`, such as ``l0: Linear(in=2, out=10)``."""
        return '\n'.join('  ' * depth + text for depth, text, _, _ in _tree(self, True))

    def summary(self, *inputs, file=None, **options):
        """Print the tree of ``print(layer)`` as a table with, for each layer, the
        output shape of its first call and the number of values in the Parameters it
        holds itself (its sub-layers have rows of their own), then the total.

        Given ``inputs``, the layer is called once on them (with ``options``, the
        keyword arguments of forward, such as ``is_causal=True``; ``file`` is
        summary's own), under ``no_grad()`` and ``test_mode()``, to record the output
        shapes; that call also creates lazy parameters, drawing their initial values
        from NumPy's random generator.  The state that layers keep from one call to
        the next (the hidden state of RNN, LSTM and GRU: every layer with
        ``reset_state()``) is put back as it was before that call, so the next call
        goes on as if summary had not run.
        Without inputs the table has no shapes.  The counts of layers whose
        parameters are not created yet are ``?`` (with inputs too, for the layers
        that call does not reach and for RNN's ``h2h``, made on the second step).
        Running statistics (BatchNorm's ``avg_mean`` and ``avg_var``) are not learnt:
        they are counted apart, and so are the parameters that :meth:`params` (what
        optimizers train) leaves out, those of frozen layers, as "Frozen parameters".
        ``file``: where to print (an object with ``write()``, such as an open text
        file), standard output by default.
        """
        if file is not None and not callable(getattr(file, 'write', None)):
            raise TypeError(
                f'{type(self).__name__}.summary: file must be an object with write(), '
                f'such as an open text file or sys.stdout, got {type(file).__name__} '
                f'{file!r:.60}; for a path, use open(path, "w")'
            )
        if options and not inputs:
            raise TypeError(
                f'{type(self).__name__}.summary: keyword arguments for forward '
                f'({", ".join(options)}) were given without inputs; summary calls '
                f'forward only when given inputs'
            )
        shapes = None
        if inputs:
            if _watch.shapes is not None:
                raise RuntimeError(
                    f'{type(self).__name__}.summary: called while another '
                    f'summary runs its forward pass'
                )
            shapes = _watch.shapes = {}
            _watch.active = True
            try:
                with no_grad(), test_mode(), keeping_state(self):
                    self(*inputs, **options)
            finally:
                _watch.shapes = None
                _recheck_watch()
        print(_summary_text(self, shapes), file=file)


# What a layer's attributes register as its members, besides containers of them.
_MEMBERS = (Parameter, Layer)

# The code of a layer call, as found in a thread's stack (see _is_outermost_call).
_LAYER_CALL = Layer.__call__.__code__


class _ParamNames(collections.abc.MutableSet):
    """``layer._params``: the names of the attributes of ``layer`` that hold a
    Parameter or a Layer, in definition order, read from the layer each time (a view,
    not a copy).

    ``add(name)`` registers the attribute ``name``, as the book's
    ``Layer.__setattr__`` does (``self._params.add(name)``), for a layer that sets it
    past ``Layer.__setattr__`` (with ``object.__setattr__``).  As the book's
    ``__setattr__`` adds the name before setting the attribute, whatever the attribute
    holds then (nothing, None, an array) is taken; it must hold a Parameter or a Layer
    (or a list, tuple or dict of them) by the time the parameters are read
    (``params()`` raises otherwise).
    ``discard(name)`` and ``remove(name)`` unregister it: the attribute stays, but it
    is no longer part of the layer (``params()``, ``save_weights``) until it is
    assigned again.  ``&``, ``|``, ``-``, ``copy()``, ``union()`` and the other
    methods of a set that make a new one give plain sets, and so do ``copy.copy`` and
    ``copy.deepcopy``: a snapshot of the names, as a copy of the book's set is."""

    __slots__ = ('layer',)

    def __init__(self, layer):
        self.layer = layer

    @classmethod
    def _from_iterable(cls, names):
        return set(names)

    def __contains__(self, name):
        values = self.layer.__dict__
        return name in (values.get(_NAMES) or ()) and isinstance(values.get(name), _MEMBERS)

    def __iter__(self):
        values = self.layer.__dict__
        names = [n for n in values.get(_NAMES) or () if isinstance(values.get(n), _MEMBERS)]
        return iter(names)

    def __len__(self):
        return sum(1 for _ in self)

    def __repr__(self):
        return f'{type(self.layer).__name__}._params({list(self)!r})'

    def add(self, name):
        """Register the attribute ``name`` as a member of the layer (see the class)."""
        layer = self.layer
        if not isinstance(name, str):
            raise TypeError(
                f'{type(layer).__name__}._params.add: expected the name of an attribute '
                f'(a str), got {type(name).__name__} {name!r:.40}'
            )
        if name in _RESERVED:
            raise _reserved(layer, name)
        layer.__dict__.setdefault(_NAMES, {}).setdefault(name, None)
        _structure_changed()  # (a name registered already may hold a new value)

    def copy(self):
        """The names as a plain set (a snapshot, not a view)."""
        return set(self)

    __copy__ = copy

    def __deepcopy__(self, memo):
        return set(self)

    def union(self, *others):
        return set(self).union(*others)

    def intersection(self, *others):
        return set(self).intersection(*others)

    def difference(self, *others):
        return set(self).difference(*others)

    def symmetric_difference(self, other):
        return set(self).symmetric_difference(other)

    def issubset(self, other):
        return set(self).issubset(other)

    def issuperset(self, other):
        return set(self).issuperset(other)

    def update(self, *others):
        """Register every name of ``others`` (see :meth:`add`)."""
        for names in others:
            for name in names:
                self.add(name)

    def discard(self, name):
        """Unregister the attribute ``name`` if it is registered (see the class)."""
        values = self.layer.__dict__
        names = values.get(_NAMES) or {}
        # a registered list, tuple or dict is not in this set: it stays registered
        if name in names and not isinstance(values.get(name), _CONTAINERS):
            del names[name]
            _structure_changed()


def _holding(value):
    """``'holds None'``, ``'holds float 0.5'``: what an attribute holds, for messages."""
    return 'holds None' if value is None else f'holds {type(value).__name__} {value!r:.40}'


def _unset_member(layer, name, what):
    """The error for the name ``name``, added to ``layer._params``, whose attribute
    ``what`` (holds None, ...) instead of holding a Parameter or a Layer; ``what``
    None: the attribute is not in the layer's instance dict (not set, or a slot)."""
    label = type(layer).__name__
    if what is None and isinstance(getattr(type(layer), name, None), _SLOT):
        return TypeError(
            f'{label}: {name!r} was added to _params, but the attribute is a slot '
            f"(__slots__) of the class, and a layer's parameters and sub-layers are "
            f'those of its instance dict; remove {name!r} from __slots__, or take the '
            f'name out with _params.discard({name!r})'
        )
    kind = AttributeError if what is None else TypeError
    return kind(
        f'{label}: {name!r} was added to _params, but the attribute '
        f'{what or "is not set"}; set it to a Parameter or a Layer, or take the name '
        f'out with _params.discard({name!r})'
    )


# --------------------------------------------------------------------------------------
# Layer helpers: containers, weak references, descriptions
# --------------------------------------------------------------------------------------
def _unpack(layer, path, container, attributes, found, watch, open_ids):
    """Append to ``found`` the ``(path/key, value)`` of the Parameters and Layers in
    ``container`` and in the containers nested in it, except those whose id is in
    ``attributes`` (they are named after an attribute of ``layer``).  The lists and
    dicts looked into are noted in ``watch`` (a :class:`_KeptParams`), when given;
    ``open_ids`` holds the ids of the containers being unpacked, so that one that
    holds itself is not entered again."""
    if id(container) in open_ids:
        return
    kinds = _item_types(container)
    plain = _holds_nothing(container, kinds)
    if watch is not None and not isinstance(container, tuple):
        # a short one is watched item by item all the same (a slot [None] filled
        # with a layer later), and so is one holding None (slots waiting for layers);
        # only a long one of other data is watched by its length
        watch.container(container, plain and len(container) > _SHORT and type(None) not in kinds)
    if plain:
        return
    open_ids += (id(container),)
    items = container.items() if isinstance(container, dict) else enumerate(container)
    for key, value in items:
        if isinstance(value, (Parameter, Layer)):
            if id(value) not in attributes:
                found.append((_item_path(layer, path, key), value))
        elif isinstance(value, _CONTAINERS):
            _unpack(layer, _item_path(layer, path, key), value, attributes, found, watch, open_ids)


# What params() looks for, or into, among the items of a container (and in tuples).
_LOOKED_AT = (Parameter, Layer, list, dict)

# The length up to which a list or dict holding none of them is still watched item by
# item (see _KeptParams); a longer one, a vocabulary say, by its length alone.
_SHORT = 64


def _item_types(container):
    """The set of the types of the items of ``container`` (a dict's values), made in a
    loop that runs in C."""
    items = container.values() if isinstance(container, dict) else container
    return set(map(type, items))


def _holds_nothing(container, kinds=None):
    """Whether ``container`` holds no Parameter, Layer, list or dict, directly or in
    the tuples it holds: nothing that params() looks for or into.  The items are
    looked over by type (``kinds``, from :func:`_item_types`, when already made)."""
    if kinds is None:
        kinds = _item_types(container)
    if any(issubclass(kind, _LOOKED_AT) for kind in kinds):
        return False
    if any(issubclass(kind, tuple) for kind in kinds):
        items = container.values() if isinstance(container, dict) else container
        return all(_holds_nothing(item) for item in items if isinstance(item, tuple))
    return True


def _item_path(layer, path, key):
    """``path/key``, refusing keys that would make the path ambiguous."""
    key = str(key)
    if not key or '/' in key:
        wrong = 'an empty key names nothing' if not key else 'it holds "/"'
        raise ValueError(
            f'{type(layer).__name__}: the key {key!r} in {path!r} cannot '
            f'name a part of the model (paths join keys with "/", and {wrong}); use '
            f'a key that is not empty and has no "/"'
        )
    return f'{path}/{key}'


class _KeptParams:
    """The list that :meth:`Layer.params` gives, kept in the layer with what it was
    read from, so that the next call can tell at little cost that it still holds.
    ``items``: the Parameters, and, where ``calls``, the layers whose class overrides
    params(), whose own params() is called each time (see :func:`_params_of`).

    It holds while no registered attribute of any layer was assigned or deleted since
    (``_structure_changes``), and each object it was read from holds what it held
    then, one identity test each: every registered attribute of every layer met (so
    that an attribute set past ``__setattr__`` is seen, and a ``__dict__`` updated
    from another layer's brings no list of that layer) and every item of the lists
    and dicts that held a Parameter, a Layer, a list or a dict, or held none of these
    but had at most ``_SHORT`` items, whose lengths (and the dicts' order of keys) are
    unchanged too.  The longer lists and dicts that held none of these (a vocabulary,
    a history of losses) are checked by their length alone, as the :class:`Layer`
    docstring says: when it changed, they are looked over again (by
    :func:`_holds_nothing`), and the list still holds if they still hold nothing.
    The classes of the sub-layers met must also have the same ``params``, so that
    freezing layers by patching their class (``Encoder.params = lambda self:
    iter(())``) is seen; giving a layer another class (``layer.__class__ = Frozen``)
    counts as an assignment.

    The owner's own attributes (``own``) are compared with the ``__dict__`` that it
    passes to :meth:`holds`: keeping its ``__dict__`` here would make a reference
    cycle."""

    def __init__(self):
        self.changes = _structure_changes
        self.own = None  # (names, values) of the registered attributes of the owner
        self.places, self.keys, self.values = [], [], []  # places[i][keys[i]] is values[i]
        self.sized, self.lengths = [], []  # the lists and dicts among places, their lengths
        self.dicts, self.orders = [], []  # the dicts among them, their keys in order
        self.plain, self.plain_lengths = [], []  # the lists and dicts that held nothing
        self.classes, self.methods = [], []  # the classes of the sub-layers met, their params
        self.items, self.calls = [], False

    def layer(self, values, names, members):
        """Note a layer met: ``values`` its ``__dict__``, ``names`` its record of
        member names, ``members`` its ``(name, value)`` pairs.  The first is the
        owner."""
        keys = (_NAMES, *(name for name, _ in members))
        held = (names, *(value for _, value in members))
        if self.own is None:
            self.own = (keys, held)
            return
        self.places += [values] * len(keys)
        self.keys += keys
        self.values += held

    def met(self, layer):
        """Note a sub-layer met: its class, and that class's ``params``, so that
        whether such layers override params() (see :func:`_overrides_params`) is
        decided again when a class is patched to freeze its layers."""
        kind = type(layer)
        if kind not in self.classes:
            self.classes.append(kind)
            self.methods.append(kind.params)

    def container(self, container, plain):
        """Note a list or dict looked into; ``plain``: it holds nothing params()
        looks for or into."""
        if plain:
            self.plain.append(container)
            self.plain_lengths.append(len(container))
            return
        self.sized.append(container)
        self.lengths.append(len(container))
        self.places += [container] * len(container)
        if isinstance(container, dict):
            self.keys += container.keys()
            self.values += container.values()
            self.dicts.append(container)
            self.orders.append(tuple(container))
        else:
            self.keys += range(len(container))
            self.values += container

    def holds(self, own):
        """Whether the list still holds for the layer whose ``__dict__`` is ``own``."""
        if self.changes != _structure_changes:
            return False
        names, held = self.own
        if not all(map(operator.is_, map(own.get, names), held)):
            return False
        if self.sized and list(map(len, self.sized)) != self.lengths:
            return False
        if list(map(_class_params, self.classes)) != self.methods:  # a class patched
            return False
        if self.dicts and list(map(tuple, self.dicts)) != self.orders:  # reordered
            return False
        if self.plain and list(map(len, self.plain)) != self.plain_lengths:
            if not self._still_plain():
                return False
        try:
            now = map(operator.getitem, self.places, self.keys)
            return all(map(operator.is_, now, self.values))
        except (KeyError, IndexError):  # a dict key or a registered attribute is gone
            return False

    def _still_plain(self):
        """Whether the lists and dicts that held nothing, some of which changed length,
        still hold nothing; if so, their new lengths are noted."""
        for i, container in enumerate(self.plain):
            if len(container) != self.plain_lengths[i]:
                if not _holds_nothing(container):
                    return False
                self.plain_lengths[i] = len(container)
        return True


# A class's params, read in C (see _KeptParams.holds).
_class_params = operator.attrgetter('params')


def _params_of(items):
    """The Parameters of ``items`` and those that ``params()`` of its layers yields,
    each object once, in that order."""
    params, seen = [], set()
    for item in items:
        for param in item.params() if isinstance(item, Layer) else (item,):
            if id(param) not in seen:
                seen.add(id(param))
                params.append(param)
    return params


def _set_state(layer, name, value):
    """``layer.name = value`` for one of the layer's ``_state_names``: a plain
    attribute, never a member, so that a Parameter given as the state (a learnt
    initial state, which the model holding it under another name trains) is replaced
    by the next step like any other value.  While a call that created parameters may
    still raise (this thread's ``_watch.created``: see :meth:`Layer.__call__`), the
    value replaced is noted there, to be put back if that call raises: a state
    computed with parameters that are taken back must not outlive them.  A value is
    noted again only once parameters were created after its last note (a time loop
    replaces h at every step, but creates its parameters in the first steps: the
    states between are not kept alive), so that a call that raises, nested in one
    that goes on, puts back what its own creations computed; an attribute that did
    not exist is deleted again."""
    created = _watch.created
    if created is not None:
        noted = _watch.noted
        if noted is None:
            noted = _watch.noted = {}
        key = (id(layer), name)  # (the change noted keeps the layer, and so its id)
        if noted.get(key, -1) < _watch.last_creation:
            noted[key] = len(created)
            created.append(_StateChange(layer, name, layer.__dict__.get(name, _ABSENT)))
    object.__setattr__(layer, name, value)


_ABSENT = object()  # a state attribute that did not exist (see _set_state)


class _StateChange:
    """The value that the state attribute ``name`` of ``layer`` held before a call
    replaced it (see :func:`_set_state`)."""

    __slots__ = ('layer', 'name', 'value')

    def __init__(self, layer, name, value):
        self.layer, self.name, self.value = layer, name, value

    def undo(self):
        """Put the value back (past ``__setattr__``, which would note it again), or
        delete the attribute if it did not exist; the next change is noted again."""
        if self.value is _ABSENT:
            self.layer.__dict__.pop(self.name, None)
        else:
            object.__setattr__(self.layer, self.name, self.value)
        if _watch.noted is not None:
            _watch.noted.pop((id(self.layer), self.name), None)


def _reserved(layer, name):
    """The AttributeError for assigning or deleting ``name``, one of the names under
    which ``layer`` keeps its own record."""
    return AttributeError(
        f"{type(layer).__name__}: {name!r} is dezero's own attribute (the layer's record "
        f'of its parameters and sub-layers) and cannot be assigned or deleted; give '
        f'yours another name'
    )


def _layer_paths(root):
    """{id(layer): its name} for every layer inside ``root``, named as in ``params()``
    (``l0``, ``blocks/0``), each once, under its first name."""
    return {id(layer): path for path, layer in type(root)._named_sublayers(root)}


def _drops_members(held, value):
    """Whether assigning ``value`` to a registered attribute that holds ``held`` would
    silently take parameters out of the layer: each is replaced only by its own kind,
    a Parameter by a Parameter, a Layer by a Layer, and a list, tuple or dict that
    holds either (nested containers included) by a list, tuple or dict."""
    if isinstance(held, Parameter):
        return not isinstance(value, Parameter)
    if isinstance(held, Layer):
        return not isinstance(value, Layer)
    if isinstance(held, _CONTAINERS) and not isinstance(value, _CONTAINERS):
        return next(_members(held), None) is not None
    return False


def _members(container, open_ids=()):
    """The Parameters and Layers that the list, tuple or dict ``container`` holds,
    directly or in the containers nested in it (one that holds itself is looked into
    once)."""
    if id(container) in open_ids or _holds_nothing(container):
        return
    open_ids += (id(container),)
    for item in container.values() if isinstance(container, dict) else container:
        if isinstance(item, _MEMBERS):
            yield item
        elif isinstance(item, _CONTAINERS):
            yield from _members(item, open_ids)


def _refuse_replacing(layer, name, held, value):
    """Raise the TypeError for assigning ``value`` to the attribute ``name`` of
    ``layer``, which holds ``held``, a Parameter, a Layer or a container of them that
    ``value`` cannot replace (see :func:`_drops_members`): the parameters would
    silently leave params(), and with them training and saving."""
    label = type(layer).__name__
    own_name = layer.__dict__.get('name')
    if isinstance(own_name, str):
        label += f' {own_name!r}'
    kind = type(value).__name__
    given = 'None' if value is None else f'{"an" if kind[0] in "aeiou" else "a"} {kind}'
    if hasattr(value, 'shape') and hasattr(value, 'dtype'):
        given += f' of shape {value.shape} and dtype {value.dtype}'
    # a layer of dezero's works without a member only where its class says so (a
    # class attribute None, as Linear's b); a layer of one's own knows its forward,
    # and a Layer or Model without forward of its own needs none of its members
    cls = type(layer)
    optional = getattr(cls, name, 0) is None or cls.forward is Layer.forward
    if optional or not cls.__module__.startswith('dezero.'):
        removal = f'to remove it, use del layer.{name}'
    else:
        removal = (
            f'{cls.__name__} computes with it, so do not remove it (del layer.{name} '
            f'would leave a {cls.__name__} that fails or saves other names)'
        )
    if isinstance(held, Parameter):
        shape = 'no data yet' if held.data is None else f'shape {held.data.shape}'
        state = f'_state_names = ({name!r},)'
        others = _other_paths(layer, name, held)
        if others:  # a learnt initial state (h = h0), then each step's result
            raise TypeError(
                f'{label}: the attribute {name!r} holds the Parameter that {others[0]!r} '
                f'holds too ({shape}), and is being assigned {given}; it looks like '
                f'state kept from one call to the next: declare it in the class '
                f'attribute {state} (such attributes are never members, and take any '
                f'value), or del self.{name} before assigning.  Note that assigning to '
                f'{name}.data would change the values of {others[0]!r}: do that only to '
                f"change that parameter's values"
            )
        hint = ''
        if isinstance(value, Variable):
            hint = (
                f'; if {name!r} holds state kept from one call to the next, declare it in '
                f'the class attribute {state}, whose attributes are never members'
            )
        raise TypeError(
            f'{label}: the attribute {name!r} holds a Parameter ({shape}); assigning '
            f'{given} to it would remove it from params(), so that no optimizer trains '
            f'it and save_weights skips it.  To change its values, assign to {name}.data '
            f'(layer.{name}.data = array); to replace it, assign a Parameter; {removal}'
            f'{hint}'
        )
    if isinstance(held, Layer):
        what, takes = f'a layer ({type(held).__name__})', 'a Layer'
    else:
        what = f'a {type(held).__name__} of layers or parameters'
        takes = 'a list, tuple or dict'
    if _params_of([held] if isinstance(held, Layer) else _members(held)):
        loss = (
            'remove its parameters from params(), so that no optimizer trains them and '
            'save_weights skips them'
        )
    else:  # a layer without parameters (an activation of one's own, say)
        loss = 'take it out of the model (its sub-layers, device moves and summary)'
    raise TypeError(
        f'{label}: the attribute {name!r} holds {what}; assigning {given} to it would '
        f'{loss}.  To replace it, assign {takes}; {removal}'
    )


def _slots(cls):
    """``{name: descriptor}`` for the slots (``__slots__``) of the class ``cls`` and
    of its bases, the first of each name in the order of the MRO."""
    slots = {}
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, _SLOT):
                slots.setdefault(name, value)
    return slots


def _refuse_slot(layer, name, value):
    """Raise the TypeError for assigning ``value``, which may hold Parameters or
    Layers, to ``name``, a slot (``__slots__``) of ``layer``'s class, if it holds
    any: kept in the slot, they would be no members of the layer."""
    if isinstance(value, _MEMBERS):
        what = f'a {type(value).__name__}'
    elif next(_members(value), None) is not None:
        what = f'a {type(value).__name__} of layers or parameters'
    else:
        return
    raise TypeError(
        f'{type(layer).__name__}: the attribute {name!r} is a slot (__slots__) of the '
        f'class, and {what} kept in a slot would never be trained, cleared, saved or '
        f"counted, since a layer's parameters and sub-layers are those of its instance "
        f'dict; remove {name!r} from __slots__'
    )


def _other_paths(layer, name, param):
    """The paths other than ``name`` by which ``layer`` reaches ``param`` (see
    :meth:`Layer._param_paths`), for a message; empty when they cannot be read."""
    try:
        paths = type(layer)._param_paths(layer)
        return [path for path, obj in paths if obj is param and path != name]
    except (AttributeError, TypeError, ValueError):  # a member that _members refuses
        return []


def _described_param(layer, name):
    """The Parameter that ``layer``'s :meth:`~Layer.param_specs` names ``name``: an
    attribute of the layer, or a path of attributes through its sub-layers
    (``'x2f/W'``); TypeError when there is none."""
    obj = layer
    for part in name.split('/'):
        obj = obj.__dict__.get(part) if isinstance(obj, Layer) else None
    if not isinstance(obj, Parameter):
        raise TypeError(
            f'{type(layer).__name__}.param_specs: describes {name!r}, which is not a '
            f'Parameter attribute of the layer (nor a path such as "x2f/W" to one of a '
            f'sub-layer)'
        )
    return obj


def _without_history(value):
    """``value``, except that a Variable computed by a function (not a Parameter)
    becomes a new Variable of the same data and name, made by none, and a weak
    reference to a Layer or a Variable a :class:`_WeakLink`; in a tuple too."""
    if type(value) is tuple:
        return tuple(_without_history(v) for v in value)
    if isinstance(value, Variable) and value.creator is not None:
        return Variable(value.data, name=value.name)
    if type(value) is weakref.ref and isinstance(value(), (Layer, Variable)):
        return _WeakLink(value())
    return value


class _WeakLink:
    """``weakref.ref(target)`` as a layer's state keeps it for copies and pickles
    (see :meth:`Layer.__getstate__`): the target goes along with the rest, and
    :func:`_relinked` makes the weak reference again, to the target's copy."""

    __slots__ = ('target',)

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return _WeakLink, (self.target,)


def _relinked(value):
    """``value`` with each :class:`_WeakLink` in it (alone or in a tuple) made a weak
    reference again."""
    if type(value) is tuple:
        return tuple(_relinked(v) for v in value)
    if type(value) is _WeakLink:
        return weakref.ref(value.target)
    return value


def _weak(obj):
    """A weak reference to ``obj``; for an object that cannot have one (a number, a
    tuple), a function that returns it."""
    try:
        return weakref.ref(obj)
    except TypeError:
        return _held(obj)


def _held(obj):
    """A function that returns ``obj``, called as a weak reference is, and holding it."""
    return lambda: obj


def _shape_of(outputs):
    """The shape of an output as summary shows it, ``(2, 10)``; several outputs give
    their shapes joined by commas."""
    if isinstance(outputs, (tuple, list)):
        return ', '.join(_shape_of(y) for y in outputs)
    shape = getattr(outputs, 'shape', None)
    return type(outputs).__name__ if shape is None else str(tuple(shape))


def _title(layer):
    """``Type(name=value, ...)``, or just ``Type`` for a layer without settings."""
    settings = type(layer).hyperparameters(layer)
    if not settings:
        return type(layer).__name__
    text = ', '.join(
        f'{name}={"?" if value is None else value}' for name, value in settings.items()
    )
    return f'{type(layer).__name__}({text})'


def _warn_of_npz_beside(path):
    """Warn when ``path`` lacks ``.npz`` but ``path + '.npz'``, the file
    ``save_weights(path)`` writes, is there beside it: the file read may be an older
    one."""
    try:
        beside = npz_beside(path)
    except TypeError:
        return  # read_npz names what it cannot take
    text = os.fsdecode(os.fspath(path))
    if beside is not None and os.path.isfile(text):
        warnings.warn(
            f'load_weights: reading {text}, but {beside} is there too, and '
            f'save_weights({text!r}) writes that one; pass the path with .npz to read it',
            stacklevel=3,
        )


def _tree(root, list_params):
    """The rows that describe ``root``, depth first: ``(depth, text, layer, own)``.

    A layer's row has ``text`` such as ``'l0: Linear(in=2, out=10)'`` and ``own``, the
    ``(name, parameter)`` pairs it holds itself.  Other rows (``layer`` None) tell
    that a layer or parameter is the one met earlier under another path, and, with
    ``list_params``, show the Parameters of the layers that have no settings (the
    settings of the others imply their parameters).  The walk keeps its own stack,
    so layers nested however deep are described."""
    rows = []
    seen = {id(root): type(root).__name__}  # id -> the path it was met under

    def enter(layer, depth, label, path):  # the layer's row; its members still to walk
        own = []
        rows.append((depth, label + _title(layer), layer, own))
        cls = type(layer)
        show_params = list_params and not cls.hyperparameters(layer)
        return iter(cls._members(layer, '')), depth, path, own, show_params

    stack = [enter(root, 0, '', '')]
    while stack:
        members, depth, path, own, show_params = stack[-1]
        for name, obj in members:
            kind = 'layer' if isinstance(obj, Layer) else 'parameter'
            if id(obj) in seen:
                if kind == 'layer' or show_params:
                    rows.append((depth + 1, f'{name}: the {kind} {seen[id(obj)]}', None, ()))
                continue
            seen[id(obj)] = path + name
            if kind == 'layer':  # its rows come next, then this layer's other members
                stack.append(enter(obj, depth + 1, name + ': ', path + name + '/'))
                break
            own.append((name, obj))
            if show_params:
                described = (
                    'not created yet' if obj.data is None else f'{obj.data.shape} {obj.data.dtype}'
                )
                rows.append((depth + 1, f'{name}: Parameter {described}', None, ()))
        else:  # every member walked
            stack.pop()
    return rows


def running_statistics(layer):
    """The Parameters of ``layer`` and its sub-layers that hold running statistics
    (BatchNorm's ``avg_mean`` and ``avg_var``): no gradient reaches them; the forward
    pass of training updates them.  (What :meth:`Layer.summary` counts apart.)"""
    return [param for _, _, param in _owned_statistics(layer)]


def _owned_statistics(layer):
    """The running statistics of ``layer`` and its sub-layers as ``(owner, name,
    param)``: the layer that holds each, under the name ``name``."""
    return [
        (owner, name, param)
        for _, _, owner, own in _tree(layer, False)
        if owner is not None
        for name, param in own
        if name in type(owner)._statistics
    ]


def _summary_text(layer, shapes):
    """The table of Layer.summary; ``shapes``: {id(layer): output shape}, or None to
    leave the output shapes out."""
    header = ('Layer', 'Output shape', 'Parameters')
    table = []
    learnt = frozen = statistics = missing = 0
    trained = {id(p) for p in layer.params()}  # what optimizers train
    for depth, text, obj, own in _tree(layer, False):
        if obj is None:
            table.append(('  ' * depth + text, '', ''))
            continue
        count = '-'
        statistics_names = type(obj)._statistics
        params = [p for name, p in own if name not in statistics_names]
        if params:
            absent = sum(p.data is None for p in params)
            size = sum(p.data.size for p in params if p.data is not None)
            left_out = sum(
                p.data.size for p in params if p.data is not None and id(p) not in trained
            )
            missing += absent
            learnt += size - left_out
            frozen += left_out
            count = '?' if absent else f'{size:,}'
        statistics += sum(
            p.data.size for name, p in own if name in statistics_names and p.data is not None
        )
        shape = () if shapes is None else (shapes.get(id(obj), 'not called'),)
        table.append(('  ' * depth + text, *shape, count))
    if shapes is None:
        header = header[::2]
    table.insert(0, header)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    aligns = '<' * (len(header) - 1) + '>'
    lines = [
        '  '.join(f'{cell:{a}{w}}' for cell, a, w in zip(row, aligns, widths)) for row in table
    ]
    rule = '-' * len(lines[0])
    lines[1:1] = [rule]
    lines.append(rule)
    if missing and shapes is None:
        lines.append(
            f'Trainable parameters: at least {learnt:,} ({missing} Parameters are '
            f'created on the first call: summary(x) counts them)'
        )
    elif missing:  # layers not called, or RNN's h2h, made on the second step
        lines.append(
            f'Trainable parameters: at least {learnt:,} ({missing} Parameters are '
            f'created on a later call, such as the second step of an RNN)'
        )
    else:
        lines.append(f'Trainable parameters: {learnt:,}')
    if frozen:
        lines.append(f'Frozen parameters (left out of params()): {frozen:,}')
    if statistics:
        lines.append(f'Running statistics (not trained): {statistics:,}')
    return '\n'.join(lines)


def _in_module(array, xp):
    """The new NumPy ``array`` as an array of the module ``xp``: moved to the GPU when
    ``xp`` is CuPy.  Weights are drawn with NumPy's seeded random generator on either
    device, so a run on the GPU starts from the CPU run's weights."""
    return array if xp is np else cuda.as_cupy(array)


def _on_device_of(array, x):
    """The new NumPy ``array`` on the device of the input ``x`` (a Variable or an
    array)."""
    return _in_module(array, cuda.get_array_module(x))


def _settings(settings, nobias=False, dtype=np.float32):
    """The hyperparameters of a layer: the dict ``settings``, then ``nobias`` and the
    dtype only where they differ from the usual (a bias, float32)."""
    if nobias:
        settings['nobias'] = True
    if np.dtype(dtype) != np.float32:
        settings['dtype'] = np.dtype(dtype).name
    return settings


def _square(hw):
    """A (height, width) setting as shown: one number when both are equal."""
    return hw[0] if hw[0] == hw[1] else hw


# The longest axis, and the most bytes, that a NumPy array can have.
_MAX_LENGTH = int(np.iinfo(np.intp).max)


def _check_size(layer, what, value):
    """Return ``value`` as an int; raise unless it is a positive integer that a NumPy
    array axis can have (at most 2**63 - 1 on 64-bit machines)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f'{layer}: {what} must be a positive integer, got {type(value).__name__} {value!r}'
        )
    if value < 1:
        raise ValueError(f'{layer}: {what} must be a positive integer, got {value!r}')
    if value > _MAX_LENGTH:
        raise ValueError(
            f'{layer}: {what} must be a positive integer of at most {_MAX_LENGTH} (the '
            f'longest axis of a NumPy array), got {value!r}'
        )
    return int(value)


def _check_pair(layer, what, value, minimum):
    """Return ``value`` (an int, or a pair of ints for height and width) as a pair of
    ints; raise unless both are integers of at least ``minimum`` and at most the
    longest axis of a NumPy array."""
    hw = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(hw) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in hw):
        raise TypeError(f'{layer}: {what} must be an integer or a pair of integers, got {value!r}')
    if min(hw) < minimum:
        raise ValueError(f'{layer}: {what} must be at least {minimum}, got {value!r}')
    if max(hw) > _MAX_LENGTH:
        raise ValueError(
            f'{layer}: {what} must be at most {_MAX_LENGTH} (the longest axis of a NumPy '
            f'array), got {value!r}'
        )
    return int(hw[0]), int(hw[1])


def _check_room(layer, name, shape, dtype):
    """Raise ValueError, naming ``layer`` and its parameter ``name``, unless a NumPy
    array of ``shape`` and ``dtype`` can exist: at most 2**63 - 1 bytes (NumPy's own
    error names neither the layer nor the sizes)."""
    size = math.prod(shape) * np.dtype(dtype).itemsize
    if size > _MAX_LENGTH:
        raise ValueError(
            f'{layer}: {name} would have shape {tuple(shape)}, {size:.3g} bytes in '
            f'{np.dtype(dtype)}, but a NumPy array holds at most {_MAX_LENGTH:.3g} bytes; '
            f'choose smaller sizes'
        )


def _check_dtype(layer, dtype):
    """Return ``dtype`` as a NumPy dtype (None: the default, float32, as in PyTorch);
    raise unless it is a floating-point type."""
    if dtype is None:
        return np.dtype(np.float32)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f'{layer}: dtype must be a floating-point type such as np.float32, got {dtype!r:.60}'
        ) from None
    if dtype.kind != 'f':
        raise ValueError(f'{layer}: dtype must be a floating-point type, got {dtype}')
    return dtype


def _weight_dtype(layer):
    """The dtype a Linear layer computes in: that of its W, or before W exists, the
    layer's ``dtype``."""
    W = layer.W.data
    return layer.dtype if W is None else W.dtype


def _cast_input(layer, x, dtype, what='the input'):
    """``x`` converted to the layer's ``dtype``, as Keras does, so that integer, bool
    or float64 data give a float32 layer float32 activations and parameter gradients.
    A plain array stays a plain array (a constant); a Variable goes through
    :func:`~dezero.functions.astype`, which gives its gradient back in its own dtype
    (float64 for integer or bool data, which never get integer gradients).  ``x``
    itself when it has that dtype already, and, inside the gradient checks
    (:func:`dezero.core.keeping_wide_inputs`), when it is floating point and wider:
    the layer then computes in x's dtype, as NumPy promotes.

    An input with a finite value that ``dtype`` cannot hold (70000.0 in float16, 1e39
    in float32), which the conversion would make infinite, is refused with an
    OverflowError naming ``layer``; the check is made only for conversions that can
    overflow (to a narrower float; large integers to float16).  ``what`` names x in
    the errors (a recurrent layer's state: ``the state h``)."""
    if x.dtype == dtype:
        return x
    if x.dtype.kind not in 'biuf':
        raise TypeError(
            f'{layer}: expected {what} to hold real numbers (bool, integer or floating '
            f'point), got dtype {x.dtype} (shape {x.shape})'
        )
    if _thread_settings.wide_inputs and x.dtype.kind == 'f' and x.dtype.itemsize > dtype.itemsize:
        return x
    if not cast_can_overflow(x.dtype, dtype):
        return F.astype(x, dtype) if isinstance(x, Variable) else x.astype(dtype)
    with np.errstate(over='ignore'):  # a value that overflows is refused below
        y = F.astype(x, dtype) if isinstance(x, Variable) else x.astype(dtype)
    value = first_overflow(array_of(x), array_of(y))
    if value is not None:
        raise OverflowError(
            f"{layer}: {what} holds {value!r}, which does not fit the layer's dtype "
            f'{dtype} (largest {np.finfo(dtype).max}) and would become infinite; scale '
            f'{what} down, or make the layer with a wider dtype'
        )
    return y


def _known_size(layer, what):
    """The layer's ``what`` (``'in_size'`` or ``'in_channels'``), which ``_init_W``
    needs; raise while the first call has not told it yet."""
    size = getattr(layer, what)
    if size is None:
        raise ValueError(
            f'{type(layer).__name__}._init_W: {what} is not known yet (None); give '
            f'{what} when making the layer, or call the layer on an input first'
        )
    return size


class _SizesBeingCreated(threading.local):
    """The input sizes that this thread is creating W for: ``sizes`` is
    {id(layer): size} while :func:`_create_W` runs the layer's ``_init_W``.  Kept per
    thread, so that threads making a layer's first call together each read their own
    input's size."""

    def __init__(self):
        self.sizes = {}


_being_created = _SizesBeingCreated()


def _input_size(layer):
    """What ``in_size`` (Linear) and ``in_channels`` (the convolutions) read: the size
    that this thread is creating W for (while :func:`_create_W` runs); else W's
    length along ``layer._in_axis``; before W exists, the size assigned to the
    attribute (see :func:`_assign_size`), or else None (not known yet)."""
    size = _being_created.sizes.get(id(layer))
    if size is not None:
        return size
    size = _size_of_W(layer)
    return layer.__dict__.get('_size_assigned') if size is None else size


def _size_of_W(layer):
    """W's length along ``layer._in_axis`` (the input size it was made for), or None
    before W exists."""
    W = getattr(layer, 'W', None)
    return None if W is None or W.data is None else W.data.shape[layer._in_axis]


def _assign_size(layer, what, value):
    """``layer.in_size = n`` (or ``in_channels``), as the book writes it: its
    ``__init__`` before W exists (n may be None: not known), its ``forward`` before
    calling ``_init_W(xp)``.  Before W exists, the layer keeps n for ``_init_W`` to
    read; its first call creates W for the input's size all the same, and forgets n.
    Once W exists, only the size W has is taken."""
    held = _size_of_W(layer)
    size = None if value is None else _check_size(type(layer).__name__, what, value)
    if held is None:
        if size is None:
            layer.__dict__.pop('_size_assigned', None)
        else:
            layer.__dict__['_size_assigned'] = size
    elif size != held:
        raise ValueError(
            f'{type(layer).__name__}: {what} cannot become {size}: W exists, made for '
            f'{held}; make a new layer for another input size'
        )


def _create_W(layer, size, xp, shape, in_call=True):
    """W of ``shape`` for ``layer``, an input of ``size`` (width or channels) and the
    array module ``xp``, made the book's way: the layer's ``_init_W(xp)``, its own or
    a subclass's, reads the size from ``in_size`` / ``in_channels`` (which give
    ``size`` while it runs, in this thread) and assigns ``W.data``.  What it assigns
    must have ``shape`` and hold real numbers; it is cast to the layer's dtype.  Once
    W is made, a size assigned to ``in_size`` / ``in_channels`` beforehand is
    forgotten.  If ``_init_W`` raises, or what it assigned is refused, or (``in_call``:
    made by a layer call) that call raises later, all this is undone (see
    :func:`_creating`).

    Threads making a layer's first calls at once make one W: the first creates it,
    under a lock, and the others find it made (refused if for another input size)."""
    with _creating(layer, ('W',), in_call):
        if layer.W.data is not None:  # made by another thread meanwhile
            if layer.W.data.shape != shape:
                raise ValueError(
                    f'{type(layer).__name__}: another thread made W of shape '
                    f'{layer.W.data.shape} for its first call; this input needs {shape}'
                )
            return
        sizes = _being_created.sizes
        sizes[id(layer)] = size
        try:
            layer._init_W(xp)
            _check_created_W(layer, size, shape)
        finally:
            sizes.pop(id(layer), None)
        _forget_assigned_size(layer)


#: held while parameters are made (see _creating), and while their creation is undone
_creating_W = threading.RLock()

#: {id(layer): its _Creation} for the creations that layer calls may still undo
_pending = weakref.WeakValueDictionary()


@contextlib.contextmanager
def _creating(layer, names, in_call=True):
    """Run the block, which gives data to those of the Parameters ``names`` of
    ``layer`` that have none, under the lock ``_creating_W``.  If the block raises, the
    layer is put back as it was (:meth:`_Creation.undo`).  Otherwise, for a block run
    by a layer call (``in_call``), the creation is recorded in this thread's
    ``_watch.created``, so that the call, and the layer calls it is part of, undo it if
    they raise (:meth:`Layer.__call__`).

    When they all have data already, made meanwhile by another thread's first call,
    that call no longer undoes them: this thread computes with them too.  (A thread
    whose call begins once they are made uses them without coming here: should the
    call that made them raise, they go all the same, and are made anew.)"""
    with _creating_W:
        params = [layer.__dict__.get(name) for name in names]
        if all(isinstance(p, Parameter) and p.data is not None for p in params):
            pending = _pending.get(id(layer))
            if pending is not None:
                pending.shared = True
            yield
            return
        creation = _Creation(layer, names)
        try:
            yield
        except BaseException:
            creation.undo()
            raise
        if in_call:
            creation.record()


class _Creation:
    """What creating parameters of ``layer`` changes, as it was before: the
    Parameters ``names`` held (data, ``requires_grad``, gradient), the size assigned to
    ``in_size`` / ``in_channels`` (see :func:`_assign_size`), and NumPy's global random
    state, from which weights are drawn.  ``shared``: another thread computes with
    the parameters made, which must then stay."""

    def __init__(self, layer, names):
        self.layer = layer
        values = layer.__dict__
        self.params = [
            (name, p, p.data, p.requires_grad, p.grad)
            for name, p in ((name, values.get(name)) for name in names)
            if isinstance(p, Parameter)
        ]
        self.size = values.get('_size_assigned')
        self.random = np.random.get_state()
        self.drawn = None  # the random state right after the creation, once it ended
        self.shared = False

    def record(self):
        """Add this creation, which succeeded, to the thread's ``_watch.created``."""
        self.drawn = np.random.get_state()
        if _watch.created is None:
            _watch.created = []
            _watch.active = True
        _watch.last_creation = len(_watch.created)
        _watch.created.append(self)
        _pending[id(self.layer)] = self

    def undo(self):
        """Put the layer back as it was before the creation, unless ``shared``."""
        if self.shared:
            return
        layer = self.layer
        for name, param, data, requires_grad, grad in self.params:
            if layer.__dict__.get(name) is not param:  # replaced (by _init_W, say)
                setattr(layer, name, param)
            if param.data is not data:
                param.data = data
            param.requires_grad, param.grad = requires_grad, grad
        if self.size is None:
            layer.__dict__.pop('_size_assigned', None)
        else:
            layer.__dict__['_size_assigned'] = self.size
        # The generator goes back to its state before the draw only if it is still in
        # the state right after it (a creation that failed: in its state now).  If
        # anything drew since (another thread, or code later in the same call),
        # putting it back would make those numbers come again: it is left as it is.
        now = np.random.get_state()
        if self.drawn is None or _same_state(now, self.drawn):
            np.random.set_state(self.random)


def _same_state(a, b):
    """Whether two states of NumPy's random generator (tuples or dicts of numbers,
    strings and arrays, as ``np.random.get_state()`` gives them) are equal."""
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
        )
    if isinstance(a, (tuple, list)):
        return (
            isinstance(b, (tuple, list))
            and len(a) == len(b)
            and all(_same_state(u, v) for u, v in zip(a, b))
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def _undo_created(mark):
    """Undo the creations and changes of state of this thread's ``_watch.created``
    after the first ``mark``, newest first: the layer call that made them raised."""
    created = _watch.created
    with _creating_W:
        while len(created) > mark:
            created.pop().undo()
    if not created:
        _keep_created()


def _keep_created():
    """Forget this thread's ``_watch.created``: the layer calls that made them ended."""
    _watch.created = _watch.noted = None
    _watch.last_creation = -1
    _recheck_watch()


def as_one_call(function, *args, **kwargs):
    """``function(*args, **kwargs)`` (a model's forward, say) as one layer call: the
    parameters that the layer calls inside it create are taken back if it raises, and
    kept once it returns, as they are for ``layer(*args)``."""
    try:
        result = function(*args, **kwargs)
    except BaseException:
        if _watch.created is not None:
            _undo_created(0)
        raise
    if _watch.created is not None and _is_outermost_call(sys._getframe()):
        _keep_created()
    return result


# The code of the calls that scope parameter creations, as found in a thread's stack.
_CALL_CODES = frozenset((_LAYER_CALL, as_one_call.__code__))


def _is_outermost_call(frame):
    """Whether ``frame``, running ``Layer.__call__`` (or :func:`as_one_call`), has no
    other such call below it in its thread's stack."""
    frame = frame.f_back
    while frame is not None:
        if frame.f_code in _CALL_CODES:
            return False
        frame = frame.f_back
    return True


def _forget_assigned_size(layer):
    """Drop the size assigned to ``in_size`` / ``in_channels`` before W existed (see
    :func:`_assign_size`), once W is made: W's shape tells it from then on, and
    nothing stale stays in the layer (nor in its pickles)."""
    layer.__dict__.pop('_size_assigned', None)


def _check_created_W(layer, size, shape):
    """Check the ``W.data`` that ``layer._init_W`` assigned for an input of ``size``
    (see :func:`_create_W`), and cast it to the layer's dtype."""
    W = layer.W.data
    where = f'{type(layer).__name__}._init_W'
    if W is None:
        raise ValueError(f'{where} left W.data None; it must assign an array of shape {shape}')
    if W.shape != shape:
        raise ValueError(
            f'{where} assigned W.data of shape {W.shape}; expected shape {shape} for '
            f'the input size {size}'
        )
    if W.dtype.kind not in 'iuf':
        raise TypeError(
            f'{where} assigned W.data of dtype {W.dtype}; expected real numbers '
            f'(the layer computes in {layer.dtype})'
        )
    if W.dtype != layer.dtype:
        layer.W.data = W.astype(layer.dtype)


# the input types the layers' quick checks know (a CuPy array takes the longer way)
_ARRAY_OR_VARIABLE = (np.ndarray, Variable, Parameter)


class Linear(Layer):
    """A fully connected layer: ``y = x @ W + b`` (see :func:`dezero.functions.linear`).

    ``W`` has shape ``(in_size, out_size)``; when ``in_size`` is None it is created on
    the first call from the input's width (``x.shape[1]`` for a batch of shape
    ``(N, width)``; a single sample of shape ``(width,)`` works too), by
    :meth:`_init_W`, which a subclass may override as in the book.  ``b`` is
    ``zeros(out_size)`` of ``dtype``, or None when ``nobias``; ``del layer.b`` removes
    the bias, after which the layer is one without bias (b is None, ``nobias=True`` in
    its description, and no ``b`` in its saved weights).  The input is converted to W's
    dtype (integer, bool and float64 data give a float32 layer float32 results).
    """

    b = None  # what b reads after ``del layer.b``: no bias
    _in_axis = 0  # W's axis of the input width

    def __init__(self, out_size, nobias=False, dtype=np.float32, in_size=None):
        super().__init__()
        self.out_size = _check_size('Linear', 'out_size', out_size)
        self.dtype = _check_dtype('Linear', dtype)
        nobias = check_flag('Linear', 'nobias', nobias)
        self.W = Parameter(None, name='W')
        if in_size is not None:
            in_size = _check_size('Linear', 'in_size', in_size)
            _create_W(self, in_size, np, (in_size, self.out_size), in_call=False)
        if not nobias:
            _check_room('Linear', 'b', (self.out_size,), self.dtype)
        self.b = None if nobias else Parameter(np.zeros(self.out_size, self.dtype), name='b')

    @property
    def in_size(self):
        """The input width: W's first dimension; before W exists, the width it is
        being created for (while :meth:`_init_W` runs), or as assigned (the book's
        ``self.in_size = in_size``: see :func:`_assign_size`), and None otherwise."""
        return _input_size(self)

    @in_size.setter
    def in_size(self, value):
        _assign_size(self, 'in_size', value)

    def hyperparameters(self):
        """``in`` (None before W exists) and ``out``, then ``nobias`` and ``dtype`` where
        they are not the usual (a bias, float32)."""
        return _settings({'in': self.in_size, 'out': self.out_size}, self.b is None, self.dtype)

    def param_specs(self):
        """W is (in, out_size) of ``dtype``, ``in`` being the input width."""
        return {'W': (('in', self.out_size), self.dtype)}

    def _init_W(self, xp=np):
        """Assign ``W.data``: an array (in_size, out_size) of ``dtype`` in the module
        ``xp`` (NumPy, or CuPy for the GPU), drawn from a normal distribution with
        standard deviation ``sqrt(1 / in_size)`` by NumPy's global random generator on
        either device (so ``np.random.seed`` reproduces it).

        As in the book, the layer calls it when it is made with ``in_size``, and
        otherwise on its first call, with the input's module; a subclass may override
        it to create W another way, reading ``self.in_size``, ``self.out_size`` and
        ``self.dtype``; the layer then checks the shape of the W it assigns and casts
        it to ``dtype``.  Called again, it draws a new W."""
        in_size = _known_size(self, 'in_size')
        _check_room('Linear', 'W', (in_size, self.out_size), np.float64)  # drawn in float64
        scale = (1.0 / in_size) ** 0.5
        W = np.random.randn(in_size, self.out_size) * scale
        self.W.data = _in_module(W.astype(self.dtype), xp)
        _forget_assigned_size(self)

    def forward(self, x):
        """``x @ W + b`` (no b without bias): x of shape (N, in_size) gives (N, out_size),
        a single sample (in_size,) gives (out_size,).  A lazy layer's first call creates
        W for x's width; x is converted to W's dtype."""
        # a plain array x stays one: a constant, whose gradient is never computed
        W, b = self.W.data, self.b
        if (
            W is not None
            and type(x) in _ARRAY_OR_VARIABLE
            and x.ndim == 2
            and x.shape[1] == W.shape[0]
            and x.dtype == W.dtype
            and (b is None or b.data.shape == W.shape[1:])
        ):  # the usual case: a batch that fits, in W's dtype
            return fitting_linear(x, self.W, b)
        if not hasattr(x, 'ndim'):
            x = as_variable(x)
        if x.ndim not in (1, 2):
            raise ValueError(
                f'Linear: expected an input of shape (batch, width) or '
                f'(width,), got shape {x.shape}'
            )
        width = x.shape[-1]
        if W is None:
            width = _check_size('Linear', 'the input width', width)
            x = _cast_input('Linear', x, self.dtype)  # W's dtype: refused before W is made
            _create_W(self, width, cuda.get_array_module(x), (width, self.out_size))
            W = self.W.data
        elif width != W.shape[0]:
            raise ValueError(
                f'Linear: the input has width {width} (shape {x.shape}) but '
                f'this layer expects width {W.shape[0]} (W has shape {W.shape})'
            )
        if b is not None and b.data.shape != W.shape[1:]:
            raise ValueError(
                f'Linear: b has shape {b.data.shape} but W has shape {W.shape}; '
                f'expected b of shape ({W.shape[1]},)'
            )
        return fitting_linear(_cast_input('Linear', x, W.dtype), self.W, b)


class BatchNorm(Layer):
    """Batch normalisation over axis 1 of an input (N, C) or (N, C, H, W) (see
    :func:`dezero.functions.batch_norm`).

    ``gamma`` (ones) and ``beta`` (zeros) are learnt; ``avg_mean`` (zeros) and
    ``avg_var`` (ones) are the running statistics, updated during training and used
    under :func:`dezero.test_mode`.  All four are created on the first call by
    :meth:`_init_params` (which a subclass may override as in the book); later inputs
    are converted to gamma's dtype.  The running statistics are
    Parameters so that save/load_weights keep them; they never receive gradients, so
    optimizers leave them alone.

    In training, a channel with a single value (a batch of one, of vectors or of 1x1
    images) is normalised to 0 by its own statistics, so the output is ``beta`` and no
    gradient reaches x; as in the book (whose GAN example sets its layers up with a
    batch of one), it is computed, with :func:`~dezero.functions.batch_norm`'s
    RuntimeWarning.  Test mode, which uses the running statistics, takes a batch of
    one as it takes any other.

    The keyword arguments ``eps`` (added to the variance; positive and finite) and
    ``decay`` (in [0, 1]) are those of :func:`~dezero.functions.batch_norm`; their
    defaults are the book's.  In training the running statistics become
    ``decay * running + (1 - decay) * batch``, so PyTorch's ``momentum`` m is
    ``decay = 1 - m``: ``torch.nn.BatchNorm1d(C)`` and ``BatchNorm2d(C)``, with eps=1e-5
    and momentum=0.1, compute as ``BatchNorm(eps=1e-5, decay=0.9)`` (the running
    variance unbiased in both).  The running statistics are updated in place, so in
    training ``avg_mean.data`` and ``avg_var.data`` must be writeable arrays.
    """

    _statistics = {'avg_mean': 0.0, 'avg_var': 1.0}
    eps, decay = 2e-5, 0.9  # the book's, which F.batch_norm also takes by default

    def __init__(self, *, eps=2e-5, decay=0.9):
        super().__init__()
        self.decay, self.eps = _decay_and_eps('BatchNorm', decay, eps)
        self.avg_mean = Parameter(None, name='avg_mean')
        self.avg_var = Parameter(None, name='avg_var')
        self.gamma = Parameter(None, name='gamma')
        self.beta = Parameter(None, name='beta')

    def forward(self, x):
        """``gamma * (x - mean) / sqrt(var + eps) + beta`` per channel (axis 1) of x,
        (N, C) or (N, C, H, W), of x's shape: in training mean and var are the batch's
        and the running statistics move toward them; in test mode they are
        ``avg_mean`` and ``avg_var``.  The first call creates the four parameters for
        C channels; later inputs are converted to gamma's dtype."""
        x = as_variable(x)
        if x.ndim not in (2, 4):  # before any parameter is made for its channels
            raise ValueError(
                f'BatchNorm: expected an input of shape (N, C) or (N, C, H, W), got shape {x.shape}'
            )
        channels = x.shape[1]
        params = (self.avg_mean, self.avg_var, self.gamma, self.beta)
        if any(param.data is None for param in params):  # the first call
            with _creating(self, ('avg_mean', 'avg_var', 'gamma', 'beta')):
                self._init_params(x)
                for param in params:
                    if param.data is None:
                        raise ValueError(
                            f'{type(self).__name__}._init_params left {param.name} without '
                            f'data; it must assign an array of shape ({channels},) to each '
                            f'of avg_mean, avg_var, gamma and beta that has none'
                        )
        for param in params:
            if param.data.shape != (channels,):
                raise ValueError(
                    f'BatchNorm: the input has {channels} channels (shape '
                    f'{x.shape}) but {param.name} has shape '
                    f'{param.data.shape}'
                )
        if _thread_settings.train:  # refused before either statistic moves
            for param in params[:2]:
                if isinstance(param.data, np.ndarray) and not param.data.flags.writeable:
                    raise ValueError(
                        f'BatchNorm: {param.name} is read-only; training updates it in '
                        f'place, so {param.name}.data must be a writeable array (assign a '
                        f'copy: layer.{param.name}.data = layer.{param.name}.data.copy())'
                    )
        x = _cast_input('BatchNorm', x, self.gamma.data.dtype)
        return F.batch_norm(
            x, self.gamma, self.beta, self.avg_mean.data, self.avg_var.data, self.decay, self.eps
        )

    def _init_params(self, x):
        """Give each of ``avg_mean``, ``avg_var``, ``gamma`` and ``beta`` that has no data
        yet an array of the channel count ``x.shape[1]``, in x's dtype (float32 for
        integer or bool input) and on x's device: zeros, ones, ones and zeros.  As in
        the book, the first call calls it with its input."""
        channels = x.shape[1]
        dtype = x.dtype if x.dtype.kind == 'f' else np.dtype(np.float32)
        xp = cuda.get_array_module(x)
        fills = {**type(self)._statistics, 'gamma': 1.0, 'beta': 0.0}
        for name, fill in fills.items():
            param = getattr(self, name)
            if param.data is None:
                param.data = xp.full(channels, fill, dtype)

    def hyperparameters(self):
        """``channels`` (None before the first call), then ``eps`` and ``decay`` where
        they differ from the book's defaults."""
        settings = {'channels': None if self.gamma.data is None else self.gamma.data.shape[0]}
        if self.eps != BatchNorm.eps:
            settings['eps'] = self.eps
        if self.decay != BatchNorm.decay:
            settings['decay'] = self.decay
        return settings

    def param_specs(self):
        """All four are (channels,), of a floating-point dtype: loaded, they all take
        gamma's."""
        return {name: (('channels',), None) for name in ('avg_mean', 'avg_var', 'gamma', 'beta')}

    def _fit_loaded(self, arrays, prefix, owner, path):
        """The four arrays loaded into a BatchNorm not called yet are cast to gamma's
        dtype, as those of one already called are cast to its parameters' (which
        share one), so that the output keeps the input's dtype; and ``avg_var``, a
        variance, must not be negative or NaN, which test mode would turn into NaN
        outputs."""
        gamma = arrays.get('gamma')
        if gamma is not None and self.gamma.data is None:
            arrays = {
                name: array
                if array.dtype == gamma.dtype
                else _cast(array, gamma.dtype, prefix + name, owner, path)
                for name, array in arrays.items()
            }
        var = arrays.get('avg_var')
        if var is not None:
            bad = ~(var >= 0)  # NaN too
            if bad.any():
                raise ValueError(
                    f'{owner}: {path} holds {np.count_nonzero(bad)} negative or NaN '
                    f'value(s), such as {var[bad][0]}, for the parameter '
                    f'{prefix + "avg_var"!r}, the running variance of a BatchNorm, which '
                    f'is 0 or more (test mode would give NaN outputs)'
                )
        return arrays


class LayerNorm(Layer):
    """Layer normalisation over the last axis (see :func:`dezero.functions.layer_norm`):
    each vector ``x[..., :]`` is brought to mean 0 and variance 1 (``eps`` added to
    the variance), then scaled by ``gamma`` and shifted by ``beta``.

    ``gamma`` (ones) and ``beta`` (zeros) are learnt; both are created on the first
    call with the size of the input's last axis, in ``dtype``, to which the input is
    converted.  Unlike :class:`BatchNorm` it keeps no running statistics: training
    and test mode compute the same thing, and a batch of one is fine.
    """

    def __init__(self, eps=1e-5, dtype=np.float32):
        super().__init__()
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
            raise TypeError(f'LayerNorm: eps must be a positive number, got {eps!r}')
        if not 0 < eps < float('inf'):
            raise ValueError(f'LayerNorm: eps must be a positive number, got {eps!r}')
        self.eps = float(eps)
        self.dtype = _check_dtype('LayerNorm', dtype)
        self.gamma = Parameter(None, name='gamma')
        self.beta = Parameter(None, name='beta')

    def hyperparameters(self):
        """``size``, the length of the input's last axis (None before the first call),
        then ``eps`` where it is not 1e-5 and ``dtype`` where it is not float32."""
        size = None if self.gamma.data is None else self.gamma.data.shape[0]
        settings = {'size': size}
        if self.eps != 1e-5:
            settings['eps'] = self.eps
        return _settings(settings, dtype=self.dtype)

    def param_specs(self):
        """gamma and beta are (size,) of ``dtype``, size being the input's last axis."""
        return {'gamma': (('size',), self.dtype), 'beta': (('size',), self.dtype)}

    def forward(self, x):
        """``gamma * (x - mean) / sqrt(var + eps) + beta``, mean and (biased) var taken
        over the last axis of x (..., size): an output of x's shape.  The first call
        creates gamma and beta of that size; x is converted to their dtype."""
        if not hasattr(x, 'ndim'):
            x = as_variable(x)
        if x.ndim == 0:
            raise ValueError('LayerNorm: expected an input of shape (..., features), got a scalar')
        size = x.shape[-1]
        if self.gamma.data is None:
            size = _check_size('LayerNorm', "the size of the input's last axis", size)
            x = _cast_input('LayerNorm', x, self.dtype)  # refused before gamma is made
            with _creating(self, ('gamma', 'beta')):
                for param, fill in ((self.gamma, 1.0), (self.beta, 0.0)):
                    if param.data is None:
                        param.data = _on_device_of(np.full(size, fill, self.dtype), x)
        elif (size,) != self.gamma.data.shape or self.beta.data.shape != self.gamma.data.shape:
            raise ValueError(
                f'LayerNorm: the input has {size} features in its last axis (shape '
                f'{x.shape}) but gamma has shape {self.gamma.data.shape} and beta '
                f'{self.beta.data.shape}'
            )
        x = _cast_input('LayerNorm', x, self.gamma.data.dtype)
        return F.layer_norm(x, self.gamma, self.beta, self.eps)


# --------------------------------------------------------------------------------------
# Convolutions
# --------------------------------------------------------------------------------------
class _Conv(Layer):
    """What Conv2d and Deconv2d share: sizes, lazy He-scaled W, the bias and the checks
    of the input.  Subclasses say where W keeps the input channels (``_in_axis``) and
    which function computes the layer (``_apply``)."""

    _in_axis = None
    b = None  # what b reads after ``del layer.b``: no bias

    def __init__(
        self,
        out_channels,
        kernel_size,
        stride=1,
        pad=0,
        nobias=False,
        dtype=np.float32,
        in_channels=None,
    ):
        super().__init__()
        name = type(self).__name__
        self.out_channels = _check_size(name, 'out_channels', out_channels)
        self.kernel_size = _check_pair(name, 'kernel_size', kernel_size, 1)
        self.stride = _check_pair(name, 'stride', stride, 1)
        self.pad = _check_pair(name, 'pad', pad, 0)
        self.dtype = _check_dtype(name, dtype)
        nobias = check_flag(name, 'nobias', nobias)
        self.W = Parameter(None, name='W')
        if in_channels is not None:
            in_channels = _check_size(name, 'in_channels', in_channels)
            _create_W(self, in_channels, np, self._W_shape(in_channels), in_call=False)
        if not nobias:
            _check_room(name, 'b', (self.out_channels,), self.dtype)
        self.b = None if nobias else Parameter(np.zeros(self.out_channels, self.dtype), name='b')

    @property
    def in_channels(self):
        """The input's channel count, read from W; before W exists, the count it is
        being created for (while :meth:`_init_W` runs), or as assigned (the book's
        ``self.in_channels = in_channels``: see :func:`_assign_size`), and None
        otherwise."""
        return _input_size(self)

    @in_channels.setter
    def in_channels(self, value):
        _assign_size(self, 'in_channels', value)

    def hyperparameters(self):
        """``in`` (the input channels; None before W exists), ``out`` and ``kernel``,
        then ``stride`` and ``pad`` where they are not 1 and 0, and ``nobias`` and
        ``dtype`` where they are not the usual (a bias, float32); a (height, width)
        pair of equal sizes shows as one number."""
        settings = {
            'in': self.in_channels,
            'out': self.out_channels,
            'kernel': _square(self.kernel_size),
        }
        if self.stride != (1, 1):
            settings['stride'] = _square(self.stride)
        if self.pad != (0, 0):
            settings['pad'] = _square(self.pad)
        return _settings(settings, self.b is None, self.dtype)

    def param_specs(self):
        """W is ``_W_shape('in')`` of ``dtype``, ``in`` being the input's channels."""
        return {'W': (self._W_shape('in'), self.dtype)}

    def _W_shape(self, in_channels):
        raise NotImplementedError

    def _init_W(self, xp=np):
        """Assign ``W.data``: an array of ``_W_shape(in_channels)`` and ``dtype`` in the
        module ``xp`` (NumPy, or CuPy for the GPU), drawn from a normal distribution
        with standard deviation ``sqrt(2 / (in_channels * KH * KW))`` (He scaling,
        which keeps the activations' scale through ReLUs) by NumPy's global random
        generator on either device (so ``np.random.seed`` reproduces it).

        As in the book, the layer calls it when it is made with ``in_channels``, and
        otherwise on its first call, with the input's module; a subclass may override
        it to create W another way, reading ``self.in_channels``,
        ``self.out_channels``, ``self.kernel_size`` (a pair) and ``self.dtype``; the
        layer then checks the shape of the W it assigns and casts it to ``dtype``.
        Called again, it draws a new W."""
        in_channels = _known_size(self, 'in_channels')
        shape = self._W_shape(in_channels)
        _check_room(type(self).__name__, 'W', shape, np.float64)  # drawn in float64
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        W = np.random.randn(*shape) * (2.0 / fan_in) ** 0.5
        self.W.data = _in_module(W.astype(self.dtype), xp)
        _forget_assigned_size(self)

    def forward(self, x):
        """The convolution (Conv2d) or transposed convolution (Deconv2d) of x, of shape
        (N, C, H, W), with W, plus b: an output (N, out_channels, OH, OW).  A lazy
        layer's first call creates W for C input channels; x is converted to W's
        dtype."""
        # x stays as given: the convolution skips the gradient of a plain array
        if not hasattr(x, 'ndim'):
            x = as_variable(x)
        name = type(self).__name__
        if x.ndim != 4:
            raise ValueError(
                f'{name}: expected an input of shape (batch, channels, '
                f'height, width), got shape {x.shape}'
            )
        channels = x.shape[1]
        if self.W.data is None:
            channels = _check_size(name, 'the input channels', channels)
            x = _cast_input(name, x, self.dtype)  # W's dtype: refused before W is made
            _create_W(self, channels, cuda.get_array_module(x), self._W_shape(channels))
        elif channels != self.W.data.shape[self._in_axis]:  # (in_channels, read directly)
            raise ValueError(
                f'{name}: the input has {channels} channels (shape '
                f'{x.shape}) but this layer expects {self.in_channels} '
                f'(W has shape {self.W.data.shape})'
            )
        return self._apply(_cast_input(name, x, self.W.data.dtype))


class Conv2d(_Conv):
    """A 2-D convolution layer (see :func:`dezero.functions.conv2d`): input
    (N, C, H, W) to output (N, out_channels, OH, OW).

    ``kernel_size``, ``stride`` and ``pad`` are an int or a pair (height, width).
    ``W`` has shape (out_channels, C, KH, KW); when ``in_channels`` is None it is
    created on the first call from ``x.shape[1]``, by :meth:`_init_W` (which a subclass
    may override as in the book): drawn with standard deviation
    ``sqrt(2 / (C * KH * KW))`` (He scaling, suited to ReLU networks), in ``dtype``.
    ``b`` is ``zeros(out_channels)``, or None when ``nobias`` or after ``del layer.b``.
    The input is converted to W's dtype.
    """

    _in_axis = 1

    def _W_shape(self, in_channels):
        return (self.out_channels, in_channels) + self.kernel_size

    def _apply(self, x):
        return F.conv2d(x, self.W, self.b, self.stride, self.pad)


class Deconv2d(_Conv):
    """A 2-D transposed convolution layer (see :func:`dezero.functions.deconv2d`):
    input (N, C, H, W) to output (N, out_channels, OH, OW), each input pixel spreading
    a kernel-sized patch over the output (the gradient of a convolution).

    The arguments are those of :class:`Conv2d`.  ``W`` has shape
    (C, out_channels, KH, KW), created on the first call from ``x.shape[1]`` when
    ``in_channels`` is None, by :meth:`_init_W` as in Conv2d (the same He scaling, C
    being this layer's input channels).  ``b`` is ``zeros(out_channels)``, or None
    when ``nobias`` or after ``del layer.b``.  The input is converted to W's dtype.
    """

    _in_axis = 0

    def _W_shape(self, in_channels):
        return (in_channels, self.out_channels) + self.kernel_size

    def _apply(self, x):
        return F.deconv2d(x, self.W, self.b, self.stride, self.pad)


# --------------------------------------------------------------------------------------
# Recurrent layers
# --------------------------------------------------------------------------------------
def _step_input(layer, x, first, names):
    """``x``, then the state of ``layer`` (each of its attributes ``names``, h, and
    LSTM's c: a subclass may keep more state of its own), checked as
    one time step: ``x`` of shape (batch, width) or (width,), whose width is the input
    size of ``first``, the Linear layer it meets first (None before it is known); each
    state None or of shape (batch, hidden_size), the batch being x's.  All are
    converted to that Linear's dtype (see :func:`_cast_input`), so that a float64
    state given to a float32 layer gives float32 results too.  A plain array stays
    one."""
    name = type(layer).__name__
    in_size = first.in_size
    if not hasattr(x, 'ndim'):
        x = as_variable(x)
    if x.ndim not in (1, 2):
        raise ValueError(
            f'{name}: expected one time step of shape (batch, width) or '
            f'(width,), got shape {x.shape}'
        )
    if in_size is not None and x.shape[-1] != in_size:
        raise ValueError(
            f'{name}: the input has width {x.shape[-1]} (shape {x.shape}) but this layer '
            f'takes in_size {in_size}'
        )
    dtype = _weight_dtype(first)
    steps = [_cast_input(name, x, dtype)]
    for state_name in names:
        state = layer.__dict__.get(state_name)
        if state is not None:
            _check_state(layer, state_name, state, x.shape)
            state = _cast_input(name, state, dtype, f'the state {state_name}')
        steps.append(state)
    return steps


def _check_state(layer, name, state, x_shape):
    """Raise unless ``state``, the attribute ``name`` of ``layer``, is a Variable or an
    array of shape (batch, hidden_size) for the input of shape ``x_shape`` (its
    batch being x's)."""
    label = type(layer).__name__
    if isinstance(state, Variable) and state.data is None:
        raise TypeError(
            f'{label}: the state {name} is a {type(state).__name__} holding no data; '
            f'expected None, or values of shape (batch, hidden_size)'
        )
    shape = getattr(state, 'shape', None)
    if shape is None or not hasattr(state, 'dtype'):
        raise TypeError(
            f'{label}: the state {name} must be None, a Variable or an array of shape '
            f'(batch, hidden_size), got {type(state).__name__}'
        )
    if shape[:-1] != x_shape[:-1]:
        raise ValueError(
            f'{label}: the input of shape {x_shape} does not fit the state {name} of shape '
            f'{shape}: a state kept from the previous step holds its batch, so call '
            f'reset_state() before changing the batch size; a state set by hand must '
            f'have the shape {(*x_shape[:-1], layer.hidden_size)}'
        )
    expected = (*x_shape[:-1], layer.hidden_size)
    if shape != expected:
        raise ValueError(
            f'{label}: the state {name} has shape {shape}, but this layer has '
            f'hidden_size {layer.hidden_size}: expected shape {expected} for the input '
            f'of shape {x_shape}'
        )


class RNN(Layer):
    """A simple (Elman) recurrent layer: each call takes one time step x of shape
    (batch, in_size) and returns the new hidden state ``h = tanh(x2h(x) + h2h(h))``,
    which it also keeps for the next call; the first step, or the first after
    :meth:`reset_state`, has no previous state: ``h = tanh(x2h(x))``.

    ``x2h`` is a :class:`Linear` layer with bias and ``h2h`` one of (hidden_size,
    hidden_size) without bias; both use ``dtype``, to which the input is converted.
    Their weights are drawn from NumPy's random generator in the book's order: given
    ``in_size``, x2h's W then h2h's W when the layer is made; without it, x2h's W on
    the first call (its input size inferred from the input) and h2h's W on the first
    call that has a previous state, usually the second, so that seeded code written
    for the book draws the same numbers.  The graph through the kept states grows
    with every step: for truncated backprop, call ``unchain_backward()`` on the loss
    after its backward.

    As in the book, the first step leaves h2h out, so a backward that reaches no
    later step (a sequence of one step) leaves h2h's W without a gradient, and
    optimizers skip it; PyTorch, starting from h = 0, gives it a gradient of zeros,
    which momentum, Adam and weight decay still act on.  Where that matters, start
    each sequence from a zero state instead of reset_state():
    ``rnn.h = np.zeros((batch, hidden_size), dtype)``.

    The state ``h`` (LSTM's ``h`` and ``c``) may be set between calls: None, or a
    Variable or an array of shape (batch, hidden_size), converted to the layer's dtype
    for the step.  It is the layer's state, never one of its parameters: a Parameter
    set there (a learnt initial state, ``rnn.h = model.h0``) is trained by the model
    that holds it under another name, gets its gradient through the steps, and is
    replaced by the next state as any value is.
    """

    _state_names = ('h',)

    def __init__(self, hidden_size, in_size=None, dtype=np.float32):
        super().__init__()
        H = self.hidden_size = _check_size('RNN', 'hidden_size', hidden_size)
        if in_size is not None:
            in_size = _check_size('RNN', 'in_size', in_size)
        dtype = _check_dtype('RNN', dtype)
        self.x2h = Linear(H, in_size=in_size, dtype=dtype)
        # the book's h2h takes in_size, which is wrong for in_size != hidden_size; it
        # is lazy exactly when x2h is, which sets the order of the random draws
        self.h2h = Linear(H, in_size=None if in_size is None else H, nobias=True, dtype=dtype)
        self.h = None

    def hyperparameters(self):
        """``in`` (None before x2h's W exists) and ``hidden``, then ``dtype`` where it
        is not float32."""
        return _settings({'in': self.x2h.in_size, 'hidden': self.hidden_size}, dtype=self.x2h.dtype)

    def param_specs(self):
        """h2h's W is (hidden_size, hidden_size) of the layer's dtype (x2h describes its
        own W); loaded apart from x2h's, which a file saved after one step holds alone."""
        H = self.hidden_size
        return {'h2h/W': ((H, H), self.h2h.dtype)}

    def reset_state(self):
        """Forget the hidden state: the next call starts a new sequence."""
        self.h = None

    def forward(self, x):
        """One time step: the new hidden state ``tanh(x2h(x) + h2h(h))``, or
        ``tanh(x2h(x))`` when there is no previous h, kept as ``h`` for the next call.
        x of shape (batch, in_size) gives (batch, hidden_size); (in_size,) gives
        (hidden_size,)."""
        x, h = _step_input(self, x, self.x2h, ('h',))
        if h is None:
            h_new = F.tanh(self.x2h(x))
        else:
            h_new = F.tanh(self.x2h(x) + self.h2h(h))
        self.h = h_new
        return h_new


class LSTM(Layer):
    """A long short-term memory layer: each call takes one time step x of shape
    (batch, in_size) and returns the new hidden state h, keeping h and the cell c:

        f = sigmoid(x2f(x) + h2f(h))      forget gate
        i = sigmoid(x2i(x) + h2i(h))      input gate
        o = sigmoid(x2o(x) + h2o(h))      output gate
        u = tanh(x2u(x) + h2u(h))         candidate cell
        c = f * c + i * u
        h = o * tanh(c)

    On the first step (and the first after :meth:`reset_state`) there is no previous
    h or c: the ``h2*`` terms are left out and c = i * u.  The ``x2*`` layers are
    :class:`Linear` with bias (input size inferred on the first call when ``in_size``
    is None), the ``h2*`` ones (hidden_size, hidden_size) without bias; all use
    ``dtype``, to which the input is converted.  Parameters come in the order x2f,
    x2i, x2o, x2u, h2f, h2i, h2o, h2u.

    As the first step leaves the ``h2*`` layers out (the book's way), a backward that
    reaches no later step (a sequence of one step) leaves their W without a gradient,
    and optimizers skip them; PyTorch, starting from h = c = 0, gives them gradients
    of zeros, which momentum, Adam and weight decay still act on.  Where that matters,
    start each sequence from a zero state instead of reset_state(): ``lstm.h`` and
    ``lstm.c`` each ``np.zeros((batch, hidden_size), dtype)``.  Either may be set
    without the other, as :class:`RNN`'s ``h`` is (a Parameter included).
    """

    _state_names = ('h', 'c')

    def __init__(self, hidden_size, in_size=None, dtype=np.float32):
        super().__init__()
        H = self.hidden_size = _check_size('LSTM', 'hidden_size', hidden_size)
        if in_size is not None:
            in_size = _check_size('LSTM', 'in_size', in_size)
        dtype = _check_dtype('LSTM', dtype)
        self.x2f = Linear(H, in_size=in_size, dtype=dtype)
        self.x2i = Linear(H, in_size=in_size, dtype=dtype)
        self.x2o = Linear(H, in_size=in_size, dtype=dtype)
        self.x2u = Linear(H, in_size=in_size, dtype=dtype)
        self.h2f = Linear(H, in_size=H, nobias=True, dtype=dtype)
        self.h2i = Linear(H, in_size=H, nobias=True, dtype=dtype)
        self.h2o = Linear(H, in_size=H, nobias=True, dtype=dtype)
        self.h2u = Linear(H, in_size=H, nobias=True, dtype=dtype)
        self.reset_state()

    def hyperparameters(self):
        """``in`` (None before x2f's W exists) and ``hidden``, then ``dtype`` where it
        is not float32."""
        return _settings({'in': self.x2f.in_size, 'hidden': self.hidden_size}, dtype=self.x2f.dtype)

    def param_specs(self):
        """The W of x2f, x2i, x2o and x2u are (in, hidden_size) with one input width."""
        shape = ('in', self.hidden_size)
        return {f'{name}/W': (shape, self.x2f.dtype) for name in ('x2f', 'x2i', 'x2o', 'x2u')}

    def reset_state(self):
        """Forget the hidden state and the cell: the next call starts a new sequence."""
        self.h = None
        self.c = None

    def forward(self, x):
        """One time step by the equations of the class: the new hidden state h, kept
        with the new cell c for the next call.  x of shape (batch, in_size) gives
        (batch, hidden_size); (in_size,) gives (hidden_size,)."""
        x, h, c = _step_input(self, x, self.x2f, ('h', 'c'))
        f, i, o, u = self.x2f(x), self.x2i(x), self.x2o(x), self.x2u(x)
        if h is not None:
            f, i = f + self.h2f(h), i + self.h2i(h)
            o, u = o + self.h2o(h), u + self.h2u(h)
        f, i, o, u = F.sigmoid(f), F.sigmoid(i), F.sigmoid(o), F.tanh(u)
        c_new = i * u if c is None else f * c + i * u
        h_new = o * F.tanh(c_new)
        self.h, self.c = h_new, c_new
        return h_new


class GRU(Layer):
    """A gated recurrent unit layer (the equations of ``torch.nn.GRUCell``): each call
    takes one time step x of shape (batch, in_size) and returns the new hidden state,
    which it also keeps for the next call:

        r = sigmoid(x2r(x) + h2r(h))         reset gate
        z = sigmoid(x2z(x) + h2z(h))         update gate
        n = tanh(x2n(x) + r * h2n(h))        candidate state
        h = (1 - z) * n + z * h

    On the first step (and the first after :meth:`reset_state`) the previous h is
    zero: ``h2r`` and ``h2z`` add nothing, ``h2n(h)`` is its bias, and
    h = (1 - z) * n.  The ``x2*`` layers are :class:`Linear` with bias (input size
    inferred on the first call when ``in_size`` is None); ``h2r`` and ``h2z`` are
    (hidden_size, hidden_size) without bias, since theirs would only add to the
    biases of ``x2r`` and ``x2z`` (PyTorch's b_ir + b_hr is ``x2r.b``), while ``h2n``
    keeps its bias, which the reset gate scales.  All use ``dtype``, to which the
    input is converted.  Parameters come in the order x2r, x2z, x2n, h2r, h2z, h2n.

    As the first step leaves the W of the ``h2*`` layers out (the book's way), a
    backward that reaches no later step (a sequence of one step) leaves them without
    a gradient, and optimizers skip them; PyTorch, starting from h = 0, gives them
    gradients of zeros, which momentum, Adam and weight decay still act on.  Where
    that matters, start each sequence from a zero state instead of reset_state():
    ``gru.h = np.zeros((batch, hidden_size), dtype)``, as :class:`RNN`'s ``h`` is set
    (a Parameter included).
    """

    _state_names = ('h',)

    def __init__(self, hidden_size, in_size=None, dtype=np.float32):
        super().__init__()
        H = self.hidden_size = _check_size('GRU', 'hidden_size', hidden_size)
        if in_size is not None:
            in_size = _check_size('GRU', 'in_size', in_size)
        dtype = _check_dtype('GRU', dtype)
        self.x2r = Linear(H, in_size=in_size, dtype=dtype)
        self.x2z = Linear(H, in_size=in_size, dtype=dtype)
        self.x2n = Linear(H, in_size=in_size, dtype=dtype)
        self.h2r = Linear(H, in_size=H, nobias=True, dtype=dtype)
        self.h2z = Linear(H, in_size=H, nobias=True, dtype=dtype)
        self.h2n = Linear(H, in_size=H, dtype=dtype)
        self.h = None

    def hyperparameters(self):
        """``in`` (None before x2r's W exists) and ``hidden``, then ``dtype`` where it
        is not float32."""
        return _settings({'in': self.x2r.in_size, 'hidden': self.hidden_size}, dtype=self.x2r.dtype)

    def param_specs(self):
        """The W of x2r, x2z and x2n are (in, hidden_size) with one input width."""
        shape = ('in', self.hidden_size)
        return {f'{name}/W': (shape, self.x2r.dtype) for name in ('x2r', 'x2z', 'x2n')}

    def reset_state(self):
        """Forget the hidden state: the next call starts a new sequence."""
        self.h = None

    def forward(self, x):
        """One time step by the equations of the class: the new hidden state h, kept
        for the next call.  x of shape (batch, in_size) gives (batch, hidden_size);
        (in_size,) gives (hidden_size,)."""
        x, h = _step_input(self, x, self.x2r, ('h',))
        r, z, n = self.x2r(x), self.x2z(x), self.x2n(x)
        if h is None:  # h = 0: of the h2* layers only h2n's bias is left
            r, z = F.sigmoid(r), F.sigmoid(z)
            if self.h2n.b is not None:  # (None after del gru.h2n.b)
                n = n + r * self.h2n.b
            h_new = (1 - z) * F.tanh(n)
        else:
            r, z = F.sigmoid(r + self.h2r(h)), F.sigmoid(z + self.h2z(h))
            n = F.tanh(n + r * self.h2n(h))
            h_new = (1 - z) * n + z * h
        self.h = h_new
        return h_new


# --------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------
class MultiHeadAttention(Layer):
    """Multi-head self-attention over a batch of sequences, as
    ``torch.nn.MultiheadAttention(embed_size, num_heads, batch_first=True)`` computes
    it: an input x of shape (batch, length, embed_size) gives an output of that shape,

        q, k, v = query(x), key(x), value(x)       each split into num_heads heads
        head_i = scaled_dot_product_attention(q_i, k_i, v_i, mask, is_causal)
        y = out(concat(head_1, ..., head_num_heads))

    where each head holds ``embed_size / num_heads`` consecutive features of q, k and
    v and attends with the scale 1 / sqrt(embed_size / num_heads) (see
    :func:`dezero.functions.scaled_dot_product_attention`).  ``query``, ``key``,
    ``value`` and ``out`` are :class:`Linear` layers (embed_size, embed_size) with
    bias, in ``dtype``, to which the input is converted.  PyTorch's packed
    ``in_proj_weight`` is ``[query.W.T; key.W.T; value.W.T]``.

    :meth:`forward` takes ``is_causal=True`` (True or False only) to let each position
    attend only to itself and the positions before it, or ``mask``: a bool array, True
    where a query position may attend to a key position (the opposite of PyTorch's bool
    ``attn_mask``), of shape (length, length) or any shape that broadcasts to
    (batch, num_heads, length, length), such as (batch, 1, 1, length) for padding.
    A 3-D mask is taken as (num_heads, length, length) by the broadcasting rules, as in
    PyTorch's ``scaled_dot_product_attention`` (not as ``nn.MultiheadAttention``'s
    (batch * num_heads, length, length)), so a mask per sample must be given as
    (batch, 1, length, length).
    """

    def __init__(self, embed_size, num_heads, dtype=np.float32):
        super().__init__()
        E = self.embed_size = _check_size('MultiHeadAttention', 'embed_size', embed_size)
        self.num_heads = _check_size('MultiHeadAttention', 'num_heads', num_heads)
        if E % self.num_heads:
            raise ValueError(
                f'MultiHeadAttention: embed_size {E} is not divisible by num_heads '
                f'{self.num_heads}; each head takes embed_size / num_heads features'
            )
        dtype = _check_dtype('MultiHeadAttention', dtype)
        self.query = Linear(E, in_size=E, dtype=dtype)
        self.key = Linear(E, in_size=E, dtype=dtype)
        self.value = Linear(E, in_size=E, dtype=dtype)
        self.out = Linear(E, in_size=E, dtype=dtype)

    def hyperparameters(self):
        """``embed`` and ``heads``, then ``dtype`` where it is not float32."""
        settings = {'embed': self.embed_size, 'heads': self.num_heads}
        return _settings(settings, dtype=_weight_dtype(self.query))

    def forward(self, x, is_causal=False, mask=None):
        """Self-attention of ``x`` (batch, length, embed_size); see the class."""
        is_causal = check_flag('MultiHeadAttention', 'is_causal', is_causal)
        if not hasattr(x, 'ndim'):
            x = as_variable(x)
        E, heads = self.embed_size, self.num_heads
        if x.ndim != 3 or x.shape[2] != E:
            raise ValueError(
                f'MultiHeadAttention: expected an input of shape (batch, length, {E}), '
                f'got shape {x.shape}'
            )
        N, L, _ = x.shape
        if mask is not None:
            if is_causal:
                raise ValueError(
                    'MultiHeadAttention: give either mask or is_causal=True, not both; '
                    'for both, pass mask & np.tril(np.ones((length, length), bool))'
                )
            mask = _check_attention_mask(mask, (N, heads, L, L))
        x = _cast_input('MultiHeadAttention', x, _weight_dtype(self.query))
        rows = F.reshape(x, (N * L, E))

        def split(proj):  # (N * L, E) -> (N, heads, L, E / heads)
            return F.transpose(F.reshape(proj(rows), (N, L, heads, E // heads)), (0, 2, 1, 3))

        q, k, v = split(self.query), split(self.key), split(self.value)
        y = F.scaled_dot_product_attention(q, k, v, mask=mask, is_causal=is_causal)
        y = F.reshape(F.transpose(y, (0, 2, 1, 3)), (N * L, E))
        return F.reshape(self.out(y), (N, L, E))


def _check_attention_mask(mask, shape):
    """``mask`` (a bool array, True where a query may attend to a key) checked to
    broadcast to the attention scores' ``shape`` (batch, heads, length, length): its
    axes, lined up with the last axes of ``shape``, are each 1 or the size there."""
    if isinstance(mask, Variable):
        mask = mask.data
    dtype = getattr(mask, 'dtype', None)
    if dtype is None or dtype.kind != 'b':
        raise TypeError(
            f'MultiHeadAttention: mask must be a bool array (True where a query may '
            f'attend to a key), got {type(mask).__name__}'
            + ('' if dtype is None else f' of dtype {dtype}')
        )
    fits = mask.ndim <= len(shape) and all(
        size in (1, full) for size, full in zip(mask.shape[::-1], shape[::-1])
    )
    if not fits:
        raise ValueError(
            f'MultiHeadAttention: the mask of shape {mask.shape} does not broadcast to '
            f'the attention scores of shape {shape} (batch, heads, length, length); its '
            f'axes line up with the last ones there, so give one mask for all as '
            f'(length, length), one mask per sample as (batch, 1, length, length), or '
            f'a padding mask as (batch, 1, 1, length)'
        )
    return mask


# --------------------------------------------------------------------------------------
# Embedding
# --------------------------------------------------------------------------------------
class EmbedID(Layer):
    """A table of ``in_size`` learnt vectors of length ``out_size``, looked up by integer
    ids (see :func:`dezero.functions.embed_id`): ids of any shape give an output of
    shape ``ids.shape + (out_size,)``.

    ``W`` (in_size, out_size) is drawn from the standard normal distribution, as in
    DeZero, using NumPy's global random generator, and cast to ``dtype``.
    """

    def __init__(self, in_size, out_size, dtype=np.float32):
        super().__init__()
        in_size = _check_size('EmbedID', 'in_size', in_size)
        out_size = _check_size('EmbedID', 'out_size', out_size)
        dtype = _check_dtype('EmbedID', dtype)
        _check_room('EmbedID', 'W', (in_size, out_size), np.float64)  # drawn in float64
        self.W = Parameter(np.random.randn(in_size, out_size).astype(dtype), name='W')

    def hyperparameters(self):
        """``in`` (the number of ids) and ``out`` (the length of a vector), then
        ``dtype`` where it is not float32."""
        in_size, out_size = self.W.data.shape
        return _settings({'in': in_size, 'out': out_size}, dtype=self.W.data.dtype)

    def forward(self, x):
        """``W[x]``: the rows of W picked by the integer ids x (of any shape), an output
        of shape ``x.shape + (out_size,)``."""
        return embed_id(x, self.W)

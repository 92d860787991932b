"""Optimizers that update a model's parameters from their gradients, and gradient hooks.

Use: ``opt = SGD(lr=0.1).setup(model)``; after each ``loss.backward()`` call
``opt.update()``.  The target is anything with a ``params()`` method yielding Parameters
(a Layer or Model).  Each step:

1. collects the target's parameters, each object once, in the order ``params()`` gives;
2. runs the hooks (``add_hook``) in the order added on one list of the parameters that
   have a gradient, as the book does: a hook may replace ``param.grad`` or set it to
   None, and take parameters out of the list or add some (``params[:] = [p for p in
   params if p.ndim > 1]`` leaves the biases alone);
3. calls ``update_one(param)`` for every parameter of that list whose ``grad`` is not
   None.

A parameter that is to be updated must hold floating-point data and a gradient of the
same shape (NumPy would broadcast a smaller one silently); otherwise update() raises,
naming the optimizer and the parameter, before any parameter changes.

Updates work on the raw arrays, in place on ``param.data`` (an alias of the array sees
them), are never recorded in a graph, and keep the parameter's dtype: a float32 model
stays float32, state included.  The one exception: AdaGrad, AdaDelta, Adam, AdamW and
RMSprop keep the state of a float16 parameter in float32 and compute its step there,
rounding only the new value to float16, since float16 holds neither their eps (1e-8 is
0 there) nor small squares (0.001 ** 2 underflows), which made 0 / 0 = NaN (and made
AdaDelta's ratio (msdx + eps) / (msg + eps) 0, which stopped it).  Gradient arrays are
only read, never written, since they may be shared between variables or be read-only
broadcast views.

Per-parameter state (velocity, moment estimates...) belongs to the parameter object: it
is created as zeros of ``param.data``'s shape and array module, in its dtype (float32
for float16 in the five optimizers above), on the parameter's first update (AdamW also
counts each parameter's steps), and dropped when the parameter is garbage collected.
Each optimizer names the arrays it keeps (``_state_names``: Adam's ``m`` and ``v``), so
that a loaded state can be checked; the names of one that does not say (a subclass of
one's own) are not checked.  A subclass of one's own written as in the book, which keeps
its state in dicts keyed by ``id(param)`` (``self.vs = {}``) and in numbers
(``self.momentum``, Adam's ``self.t``), has them saved, loaded and copied as well (a
deep copy or a pickle leaves out the entries of parameters that the target no longer
holds: those of an earlier target given to ``setup``, or of a replaced layer).

Hyperparameters are checked when the optimizer is made and whenever they are assigned
later (``optimizer.lr = 0.01`` in a schedule); every optimizer that has a learning rate
calls it ``lr`` (Adam also ``alpha``, its name in DeZero and in the paper).  The
schedules of :mod:`dezero.schedules` change it as training goes on.

``save(path)``/``load(path)`` (and ``state_dict()``/``load_state_dict()``) keep the
state, hyperparameters and step count, keyed by the parameters' paths in the model, so
that training resumes exactly.
"""

import collections.abc
import copy
import inspect
import math
import numbers
import operator
import weakref

import numpy as np

from dezero import cuda
from dezero.array_ops import is_float16
from dezero.atomic import atomic_open, file_path
from dezero.core import Parameter, Variable, as_array  # noqa: F401  (Parameter: as the book's)
from dezero.layers import Layer, _overrides_params
from dezero.checks import check_flag
from dezero.serialization import (
    _cast,
    _method,
    join_state,
    json_array,
    named_params,
    read_json,
    read_npz,
    split_state,
    state_check,
    write_npz,
)


# --------------------------------------------------------------------------------------
# Hyperparameter checks
# --------------------------------------------------------------------------------------
# The bound on a loaded step count (Adam's t, AdamW's step): every count below it is a
# float exactly; a larger one (10**400, say) would overflow beta ** t at the first update.
_MAX_STEPS = 2**53


def _is_step_count(count):
    """Whether ``count``, a loaded step count, is an int (not a bool) from 0 to below
    :data:`_MAX_STEPS`."""
    return (
        not isinstance(count, bool)
        and isinstance(count, numbers.Integral)
        and 0 <= count < _MAX_STEPS
    )


def _real(owner, name, value, valid, expected):
    """``value`` as a Python float (so it cannot upcast float32 arrays), after checking
    that it is a finite real number (one a float holds: not 10**400) for which
    ``valid`` holds.  A NumPy scalar or a 0-d array of real numbers (``np.array(0.1)``)
    is taken as the number it holds."""
    if cuda.is_array(value) and value.ndim == 0 and value.dtype.kind in 'fiu':
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f'{owner}: {name} must be a real number, got {type(value).__name__} {value!r:.60}'
        )
    try:
        number = float(value)
    except OverflowError:  # an int (or Fraction) beyond a float's range, such as 10**400
        raise ValueError(
            f'{owner}: {name} must be {expected} and within the range of a float, got {value!r}'
        ) from None
    if not (math.isfinite(number) and valid(number)):
        raise ValueError(f'{owner}: {name} must be {expected}, got {value!r}')
    return number


def _positive(owner, name, value):
    return _real(owner, name, value, lambda v: v > 0, 'positive (> 0)')


def _non_negative(owner, name, value):
    return _real(owner, name, value, lambda v: v >= 0, 'non-negative (>= 0)')


def _learning_rate(owner, name, value):
    """A learning rate: finite and >= 0 (0 leaves the parameters where they are, as
    at the start of a warm-up or the end of a schedule that anneals to 0)."""
    return _real(owner, name, value, lambda v: v >= 0, 'non-negative (>= 0)')


def _fraction(owner, name, value):
    return _real(owner, name, value, lambda v: 0 <= v < 1, 'in [0, 1)')


def _closed_fraction(owner, name, value):
    return _real(owner, name, value, lambda v: 0 <= v <= 1, 'in [0, 1]')


class _Hyperparameter:
    """An optimizer attribute checked on every assignment, in ``__init__`` and later:
    ``check(owner, name, value)`` validates the value and gives the one stored.

    The checking is done by :meth:`Optimizer.__setattr__`; the value is stored in the
    optimizer's own ``__dict__``, where reading ``self.lr`` finds it directly (this
    object is reached only while the value is not set yet)."""

    def __init__(self, check):
        self.check = check

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, optimizer, owner=None):
        if optimizer is None:
            return self
        raise AttributeError(
            f'{type(optimizer).__name__} has no {self.name} yet: its __init__ did not set it'
        )


# --------------------------------------------------------------------------------------
# Optimizer
# --------------------------------------------------------------------------------------
class Optimizer:
    """Base of the optimizers: collects the parameters, runs the hooks, updates.

    Subclasses define ``update_one(param)``, which changes ``param.data`` in place using
    ``param.grad.data`` (never changed) and, if needed, state arrays from ``_state``.
    A keyword argument that the subclass's ``__init__`` does not take is refused with
    a TypeError that lists the ones it takes.
    """

    _params_seen = None  # the last list of a layer's parameters checked, and the result
    _params_checked = None
    _counters = ()  # integer attributes that update() counts (Adam's t), saved with the state
    _step_counts = ()  # per-parameter step counts kept in the state as ints (AdamW's step)
    # the arrays update_one keeps for each parameter (Adam: 'm', 'v'); None for an
    # optimizer that does not say (one of the user's own), whose names are not checked
    _state_names = None
    _non_negative_state = ()  # those of them never below 0 (averages of squares: Adam's v)
    _float32_for_float16 = False  # True: a float16 parameter's state and step are float32
    _lr_attribute = 'lr'  # where the learning rate is kept (Adam: alpha); None: it has none
    # the attributes that dezero keeps on every optimizer, never taken for a subclass's
    # state: the base class's, and the learning rate from before the first schedule
    # (initial_lr, set by dezero.schedules; the schedules' state holds it)
    _base_attributes = frozenset(
        {'target', 'hooks', '_states', '_params_seen', '_params_checked', 'initial_lr'}
    )

    def __new__(cls, *args, **kwargs):
        if kwargs:
            _check_keywords(cls, kwargs)
        return super().__new__(cls)

    def __init__(self):
        self.target = None
        self.hooks = []
        self._states = {}  # id(param) -> (weak reference to param, {name: array})

    def __setattr__(self, name, value):
        spec = getattr(type(self), name, None)
        if isinstance(spec, _Hyperparameter):  # lr, momentum...: checked, stored as float
            value = spec.check(type(self).__name__, name, value)
        super().__setattr__(name, value)

    def __getstate__(self):
        """The attributes that deepcopy and pickle carry, with the state of each
        parameter as a (parameter, arrays) pair: the state is kept by ``id`` with
        weak references, which pickle cannot carry and a copy must key anew, by the
        copied parameters (those of the copied model, when both are copied together,
        as in ``copy.deepcopy((model, optimizer))``).  A subclass's own dicts keyed by
        ``id(param)`` (the book's ``self.vs``) are carried as (parameter, value) pairs
        too, without their entries for parameters that the target does not hold (an
        earlier target's, a replaced layer's): no parameter of the copy has those
        ids, and in another process they could be the ids of other parameters."""
        attributes = dict(self.__dict__)
        attributes['_states'] = [
            (ref(), state) for ref, state in self._states.values() if ref() is not None
        ]
        # each as an emptied copy of the dict and its (parameter, value) pairs
        params = _params_by_id(self.target)
        for name, value in self._dicts_by_id(params).items():
            emptied = copy.copy(value)  # the same type (a defaultdict keeps its factory)
            emptied.clear()
            pairs = [(params[key], v) for key, v in value.items() if key in params]
            attributes.setdefault(_DICTS_BY_PARAM, {})[name] = (emptied, pairs)
            del attributes[name]
        return attributes

    def __setstate__(self, attributes):
        attributes = dict(attributes)
        kept = attributes.pop('_states', [])
        by_param = attributes.pop(_DICTS_BY_PARAM, {})
        self.__dict__.update(attributes)  # checked when they were set
        self._states = {}
        for param, state in kept:
            self._keep_state(param, state)
        for name, (emptied, pairs) in by_param.items():
            emptied.update((id(param), value) for param, value in pairs)
            self.__dict__[name] = emptied

    def __copy__(self):
        """A shallow copy, on the same target with the same hooks: the state of each
        parameter is shared with this optimizer's, and a subclass's own dicts keyed by
        ``id(param)`` are copied as they are (the same keys, the same arrays)."""
        cls = type(self)
        new = cls.__new__(cls)
        new.__dict__.update(self.__dict__)
        for name, value in self._dicts_by_id(_params_by_id(self.target)).items():
            new.__dict__[name] = copy.copy(value)
        if '_states' in self.__dict__:  # kept anew, with weak references of the copy's
            new.__dict__['_states'] = {}
            for ref, state in list(self._states.values()):
                param = ref()
                if param is not None:
                    new._keep_state(param, state)
        return new

    def _dicts_by_id(self, params):
        """``{attribute name: dict}``: the attributes of a subclass's own that are
        dicts keyed by the ids of ``params`` (``{id: param}``), as the book's
        ``self.vs``."""
        return {
            name: value
            for name, value in self.__dict__.items()
            if name not in self._base_attributes and _keyed_by_id(value, params)
        }

    def setup(self, target):
        """Use ``target`` (an object with a ``params()`` method); returns the optimizer.

        Calling it again with another target keeps, as the book's optimizers do,
        everything the optimizer holds: the hyperparameters (the learning rate as a
        schedule left it), the hooks, and the step count t of Adam and AdamW, which
        goes on counting; so Adam's first steps on the new target are bias-corrected
        as steps t + 1, t + 2, ... and come out smaller than a fresh start's.  The
        state of each parameter (moments, velocities) belongs to the parameter: the
        new target's parameters start from zeros, those shared with the old target
        go on with theirs.  To start fresh, make a new optimizer.
        """
        if not callable(getattr(target, 'params', None)):
            raise TypeError(
                f'{type(self).__name__}.setup: the target must have a params() '
                f'method (a Layer or Model), got {type(target).__name__}'
            )
        self.target = target
        return self

    def add_hook(self, f):
        """Append ``f`` to the hooks; ``f(params)`` runs before each update on the list
        of the parameters that have a gradient, the list that the update then goes
        through (see :meth:`update`)."""
        if not callable(f):
            raise TypeError(
                f'{type(self).__name__}.add_hook: a hook must be callable, got {type(f).__name__}'
            )
        if isinstance(f, type):  # WeightDecay rather than WeightDecay(1e-4)
            raise TypeError(
                f'{type(self).__name__}.add_hook: got the class {f.__name__}; give a hook '
                f'made from it, e.g. {f.__name__}(...)'
            )
        self.hooks.append(f)

    def update(self):
        """One optimization step: run the hooks, then update every parameter that has
        a gradient (those without one are skipped and keep no new state).  With
        hooks, the parameters updated are those of the list the hooks were given, as
        they left it (:meth:`_run_hooks`)."""
        if self.target is None:
            raise RuntimeError(
                f'{type(self).__name__}.update: no target; call setup(model) before update()'
            )
        params = self._unique_params()
        self._check_params(params)  # before a hook could broadcast a gradient to fit
        if self.hooks:
            params = self._run_hooks(params)
        self._begin_step()
        update_one = self.update_one
        for param in params:
            if param.grad is not None:
                update_one(param)

    def _run_hooks(self, params):
        """Run the hooks, in the order added, on one list of the parameters of
        ``params`` that have a gradient (a list of this step's own, never the cached
        one), as the book does: what a hook removes from that list or adds to it is
        what the step updates.  Before each hook after the first, the parameters
        whose gradient a hook set to None are taken out of the list.  Returns the
        parameters to update, checked as the target's are."""
        given = [p for p in params if p.grad is not None]
        handed = given.copy()
        for i, hook in enumerate(self.hooks):
            if i and any(p.grad is None for p in given):
                given[:] = [p for p in given if p.grad is not None]
            hook(given)
        if len(given) != len(handed) or not all(map(operator.is_, given, handed)):
            # a list the hooks changed: checked for its types and repeats
            given = self._checked(given, 'a hook left in its list of parameters')
        self._check_params(given)
        return given

    def update_one(self, param):
        """Update ``param.data`` in place from ``param.grad``."""
        raise NotImplementedError(f'{type(self).__name__} does not define update_one()')

    def state_dtype(self, dtype):
        """The dtype of the state kept for a parameter of ``dtype``, in which its step
        is computed: ``dtype`` itself, except float32 for float16 in AdaGrad, AdaDelta,
        Adam, AdamW and RMSprop (and their subclasses)."""
        dtype = np.dtype(dtype)
        if self._float32_for_float16 and is_float16(dtype):  # either byte order
            return np.dtype(np.float32)
        return dtype

    def state_of(self, param):
        """The state this optimizer keeps for ``param``: a dict of arrays, empty if none."""
        entry = self._states.get(id(param))
        if entry is None or entry[0]() is not param:
            return {}
        return entry[1]

    # ---- the state as a dict and in a file --------------------------------------------
    def state_dict(self):
        """What training needs to continue from here, as a dict of plain values:
        ``'optimizer'`` (the class name); ``'hyperparameters'`` (name -> value, the
        learning rate included); ``'counters'`` (the step count ``t`` of Adam and
        AdamW; empty for the others); and ``'state'``, mapping the path of each
        parameter that has state, as the target's ``named_params()`` gives it
        (``'l0/W'``, the keys of ``save_weights``), to ``{name: array}`` (NumPy
        copies; AdamW's per-parameter step count ``'step'`` as a 0-d int array).

        The target must have ``named_params()`` (a Layer or Model): state is keyed by
        where a parameter sits in the model, so that it can be loaded into another
        process's copy of the model.

        A subclass of one's own that keeps state in its attributes, as the book's
        optimizers do, has it included: the numbers (``self.momentum``, ``self.t``)
        among the hyperparameters, and each dict keyed by ``id(param)`` (``self.vs``,
        empty or with a parameter's id as a key) by its name: ``'dicts'`` lists the
        names, and each parameter's entry in ``'state'`` holds its array of each
        (``{'vs': array}``).  State that could not be given back raises ValueError
        naming the attribute, rather than being left out: an entry of such a dict that
        is not an array of its parameter's shape and state dtype (:meth:`state_dtype`),
        or whose key is no parameter's id, and any other attribute that holds arrays
        (a list of them, say).  Attributes holding no array (strings, flags, tuples of
        numbers) are settings that ``__init__`` gives again."""
        return self._state_dict(f'{type(self).__name__}.state_dict')

    def _state_dict(self, owner):
        """:meth:`state_dict`, naming ``owner`` in errors."""
        hyperparameters = {
            name: _plain_number(getattr(self, name)) for name in self._hyperparameters()
        }
        required, _ = self._expected_state(hyperparameters)
        named = self._named_params(owner)
        own = self._own_dicts(named, hyperparameters, owner)
        state = {}
        for path, param in named:
            arrays = {}
            entry = self._states.get(id(param))
            # state that no longer fits the parameter, left from before it changed, is
            # not saved: the next step drops it
            if (
                entry is not None
                and entry[0]() is param
                and param.data is not None
                and self._fits(entry[1], param.data)
            ):
                arrays = {name: cuda.as_numpy(a).copy() for name, a in entry[1].items()}
                for name in required:  # an option turned on since the last step (RMSprop's
                    if name not in arrays:  # momentum): its buffer starts at 0 at the next one
                        arrays[name] = np.zeros(
                            param.data.shape, self.state_dtype(param.data.dtype)
                        )
            for name, mapping in own.items():
                if id(param) not in mapping:
                    continue
                if name in arrays:  # a subclass of one's own that calls _state too
                    raise ValueError(
                        f'{owner}: {type(self).__name__}.{name} is a dict keyed by '
                        f'id(param), and the parameter {path!r} also has a state array '
                        f'{name!r} that the optimizer keeps itself; the saved state would '
                        f'hold both under one name: rename the attribute'
                    )
                arrays[name] = self._own_array(mapping[id(param)], name, path, param, owner)
            if arrays:
                state[path] = arrays
        result = {
            'optimizer': type(self).__name__,
            'hyperparameters': hyperparameters,
            'counters': {name: int(getattr(self, name)) for name in self._counters},
        }
        if own:
            result['dicts'] = list(own)
        result['state'] = state
        return result

    def _own_dicts(self, named, saved, owner):
        """``{attribute name: dict}``: the attributes in which this optimizer keeps
        state of its own by id(param), as the book's optimizers do (``self.vs = {}``
        in ``__init__``, ``self.vs[id(param)] = ...`` in ``update_one``): dicts that
        are empty or have a key that is the id of a parameter of ``named`` (the
        target's ``(path, param)`` pairs).  ``saved``: the names saved as
        hyperparameters.

        ValueError naming ``owner`` and the attribute for state that a load could not
        give back: such a dict with a key that is no parameter's id or with the name
        of a state array the optimizer keeps itself, and any other attribute that
        holds arrays (a list of them, an array, a dict keyed otherwise).  The
        attributes that hold no array (strings, flags, tuples of numbers) are taken
        for settings that ``__init__`` gives again."""
        mine = type(self).__name__
        params = {id(p): p for _, p in named}
        own = {}
        for name, value in self.__dict__.items():
            if name in self._base_attributes or name in saved or name in self._counters:
                continue
            attribute = f'{mine}.{name}'
            if _keyed_by_id(value, params):  # (an empty dict is a setting: it holds nothing)
                _check_keys(value, params, owner, attribute)
                if name in (self._state_names or ()) or name in self._step_counts:
                    raise ValueError(
                        f'{owner}: {attribute} is a dict keyed by id(param), and {name!r} '
                        f'is also the name of a state array {mine} keeps itself; the '
                        f'saved state would hold both under one name: rename the attribute'
                    )
                own[name] = value
            elif _holds_array(value):
                kind = (
                    'a dict none of whose keys is the id of a parameter of the target'
                    if isinstance(value, dict)
                    else f'of type {type(value).__name__}'
                )
                raise ValueError(
                    f'{owner}: {attribute} ({kind}) holds arrays that the saved state '
                    f'cannot give back: an optimizer saves its own state from numbers and '
                    f"from dicts keyed by id(param) with one array of the parameter's "
                    f'shape each (self.vs[id(param)] = np.zeros_like(param.data)); keep '
                    f'the state so'
                )
        return own

    def _own_array(self, value, name, path, param, owner):
        """A NumPy copy of ``value``, the entry for ``param`` (at ``path``) of the
        dict ``name`` from :meth:`_own_dicts`; ValueError naming ``owner``, the dict
        and the parameter unless it is an array that a load gives back as it is: of
        the parameter's shape and its state's dtype (:meth:`state_dtype`)."""
        data = param.data
        if not cuda.is_array(value):
            problem = (
                f'of type {type(value).__name__}; only arrays can be saved from a dict keyed '
                f'by id(param) (keep one such dict per array)'
            )
        elif data is None:
            problem = 'an array, but the parameter has no data'
        elif value.shape != data.shape:
            problem = (
                f'an array of shape {value.shape}; expected the shape of the parameter, '
                f'{data.shape}'
            )
        elif value.dtype != self.state_dtype(data.dtype):
            dtype = self.state_dtype(data.dtype)
            problem = (
                f'an array of dtype {value.dtype}, but a loaded state takes the dtype of '
                f"the parameter's state, {dtype} ({type(self).__name__}.state_dtype), so "
                f'it would not come back as it is; keep it in {dtype} '
                f'(np.zeros_like(param.data))'
            )
        else:
            return cuda.as_numpy(value).copy()
        raise ValueError(
            f'{owner}: {type(self).__name__}.{name}[id(param)] for the parameter '
            f'{path!r} is {problem}'
        )

    def load_state_dict(self, state):
        """Make this optimizer continue from ``state``, a dict from :meth:`state_dict` of
        an optimizer of the same class on a model of the same structure: the
        hyperparameters, the counters and the state of every parameter are replaced
        (a parameter absent from ``state`` has no state, as before its first step).

        Everything is checked first (the class, the hyperparameters, the step counts,
        ints from 0 to 2**53 - 1, the parameter paths, the names of each parameter's
        state arrays, which must be those this optimizer keeps, their shapes and dtypes,
        and their values: finite, as
        training with finite gradients leaves them, except that averages of squares,
        never negative, may be +inf, the square of a huge gradient); on a mismatch
        ValueError says what differs and the optimizer is left as it was.  The arrays
        are copied, cast to the dtype of each parameter's state (:meth:`state_dtype`:
        float32 for a float16 parameter of Adam, say; a file holding another float
        dtype is cast too) and put on its device; a value too large for that dtype
        (1e39 for float32) raises ValueError rather than becoming infinite.  The dicts
        of a subclass of one's own keyed by ``id(param)`` (see :meth:`state_dict`)
        must be those it has; they are filled anew, keyed by the ids of this
        optimizer's parameters."""
        self._prepare_load(state, f'{type(self).__name__}.load_state_dict', 'the state')()

    def save(self, path):
        """Write :meth:`state_dict` to the ``.npz`` file at exactly ``path``.

        The file holds one array per state entry, named ``'<parameter path>/<name>'``
        (``'l0/W/m'``), and ``'__optimizer__'``, a JSON text of the class,
        hyperparameters and counters; no pickled objects.  It appears whole or not at
        all: if writing fails, a previous file at ``path`` is left untouched."""
        meta, arrays = split_state(self._state_dict(f'{type(self).__name__}.save'))
        arrays['__optimizer__'] = json_array({**_OPTIMIZER_FORMAT, **meta})
        with atomic_open(path, 'wb', operation=f'{type(self).__name__}.save') as f:
            write_npz(f, arrays)

    def load(self, path):
        """Continue from the state in the file at ``path`` written by :meth:`save`, as
        :meth:`load_state_dict` does; errors name ``path``, and if anything does not
        match (the class, a parameter path, a state name or shape) nothing changes."""
        owner = f'{type(self).__name__}.load'
        path = file_path(path, owner)  # TypeError naming owner for None or an int
        check = state_check(self._named_params(owner), owner, path)
        arrays = read_npz(path, owner, check, text_entry='__optimizer__')
        meta = read_json(arrays, '__optimizer__', _OPTIMIZER_FORMAT, owner, path)
        self._prepare_load(join_state(meta, arrays, owner, path), owner, path)()

    def _hyperparameters(self):
        """The names of the hyperparameters that the state includes: the checked ones
        (``_Hyperparameter``) in definition order, then the other numbers among the
        instance's attributes, the counters aside: those of an optimizer of one's own
        (the book's ``self.lr`` and ``self.momentum``, or ``self.t`` of its Adam; not
        a value that a property computes, as the ``lr`` of the book's Adam)."""
        names = []
        for klass in reversed(type(self).__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, _Hyperparameter) and name not in names:
                    names.append(name)
        for name, value in self.__dict__.items():
            if (
                name not in names
                and name not in self._base_attributes
                and name not in self._counters
                and isinstance(value, numbers.Real)
                and not isinstance(value, bool)
            ):
                names.append(name)
        return names

    def _named_params(self, owner):
        """``named_params()`` of the target, refusing a target that has none."""
        if self.target is None:
            raise RuntimeError(f'{owner}: no target; call setup(model) first')
        return named_params(self.target, owner)

    def _prepare_load(self, state, owner, source, planned=None):
        """Check that ``state`` (as :meth:`state_dict` gives) fits this optimizer and its
        target, and return a function of no arguments that loads it.  ``source`` names
        where the state came from in errors.  ``planned`` maps ``id(param)`` to the
        array a parameter is about to receive (weights loaded in the same go), whose
        shape, dtype and device then count instead of the parameter's own."""
        mine = type(self).__name__
        if not isinstance(state, dict) or not {'optimizer', 'state'} <= set(state):
            raise ValueError(f'{owner}: {source} is not the state of an optimizer')
        if state['optimizer'] != mine:
            raise ValueError(
                f'{owner}: {source} holds the state of a {state["optimizer"]} optimizer, '
                f'not of a {mine}'
            )
        for part in ('hyperparameters', 'counters', 'state'):
            if not isinstance(state.get(part, {}), dict):
                raise ValueError(
                    f'{owner}: {source} holds {part} of type {type(state[part]).__name__}; '
                    f'expected a dict'
                )
        values = {}
        expected = self._hyperparameters()
        given = dict(state.get('hyperparameters', {}))
        if sorted(given) != sorted(expected):
            raise ValueError(
                f'{owner}: {source} has the hyperparameters {", ".join(sorted(given))}; '
                f'{mine} has {", ".join(sorted(expected))}'
            )
        for name in expected:
            spec = getattr(type(self), name, None)
            try:
                if name == self._lr_attribute:
                    values[name] = _learning_rate(mine, name, given[name])
                elif isinstance(spec, _Hyperparameter):
                    values[name] = spec.check(mine, name, given[name])
                else:  # a number of an optimizer of one's own
                    values[name] = _own_number(self.__dict__.get(name), mine, name, given[name])
            except (TypeError, ValueError) as e:
                raise ValueError(f'{owner}: {source} holds a bad value: {e}') from None
        counters = dict(state.get('counters', {}))
        if sorted(counters) != sorted(self._counters):
            raise ValueError(
                f'{owner}: {source} has the counters {sorted(counters)}; '
                f'{mine} has {sorted(self._counters)}'
            )
        for name, count in counters.items():
            if not _is_step_count(count):
                raise ValueError(
                    f'{owner}: {source} holds the counter {name}={count!r}; expected an '
                    f'int >= 0 and below 2**53'
                )
            values[name] = int(count)
        planned = planned or {}
        params = dict(self._named_params(owner))
        own_names = self._own_dict_names(state, params, owner, source)
        loads = []
        for path, arrays in state['state'].items():
            param = params.get(path)
            if param is None:
                raise ValueError(
                    f'{owner}: {source} holds state for the parameter {path!r}, which '
                    f'the target ({type(self.target).__name__}) does not have; it has '
                    f'{", ".join(repr(p) for p in params) or "no parameters"}'
                )
            data = planned.get(id(param), param.data)
            if data is None:
                raise ValueError(
                    f'{owner}: the parameter {path!r} has no data yet (a layer never '
                    f'called); load the weights or run the model once before the state'
                )
            if not isinstance(arrays, dict) or not arrays:
                raise ValueError(f'{owner}: {source} holds no arrays for {path!r}')
            kept = {n: a for n, a in arrays.items() if n not in own_names}  # in _states
            if kept:
                self._check_state_names(kept, values, path, owner, source)
            for name, array in arrays.items():
                if not isinstance(array, np.ndarray):
                    raise ValueError(
                        f'{owner}: {source} holds {name!r} state of type '
                        f'{type(array).__name__} for {path!r}; expected a NumPy array'
                    )
                if name in self._step_counts and name in kept:
                    if (
                        array.shape != ()
                        or array.dtype.kind not in 'iu'
                        or not 0 <= int(array) < _MAX_STEPS
                    ):
                        raise ValueError(
                            f'{owner}: {source} holds the step count {name!r} = {array!r} '
                            f'for the parameter {path!r}; expected an int >= 0 and below 2**53'
                        )
                elif array.shape != data.shape:
                    raise ValueError(
                        f'{owner}: the parameter {path!r} has shape {data.shape} but '
                        f'{source} holds {name!r} state of shape {array.shape} for it'
                    )
                elif array.dtype.kind != 'f':
                    raise ValueError(
                        f'{owner}: {source} holds {name!r} state of dtype {array.dtype} '
                        f'for the parameter {path!r}; expected floating point'
                    )
                else:
                    self._check_state_values(array, name, path, owner, source)
            dtype = self.state_dtype(data.dtype)
            arrays = {  # copies in the state's dtype, checked not to overflow there
                name: array
                if name in self._step_counts and name in kept
                else _cast(array, dtype, f'{path}/{name}', owner, source)
                for name, array in arrays.items()
            }
            kept = {n: a for n, a in arrays.items() if n in kept}
            for name in self._step_counts:
                if kept and name not in kept:  # a file from before steps were counted
                    # per parameter, when every parameter counted every update() call
                    kept[name] = np.asarray(values.get(self._counters[0], 0))
            own = {n: a for n, a in arrays.items() if n in own_names}
            loads.append((param, kept, own))

        def load():
            self.__dict__.update(values)
            self._states.clear()
            for name in own_names:
                self.__dict__[name].clear()
            for param, kept, own in loads:  # the state goes where the parameter is now
                on_gpu = param.data is not None and cuda.is_gpu_array(param.data)
                move = cuda.as_cupy if on_gpu else np.asarray
                if kept:
                    self._keep_state(
                        param,
                        {n: int(a) if n in self._step_counts else move(a) for n, a in kept.items()},
                    )
                for name, array in own.items():
                    self.__dict__[name][id(param)] = move(array)

        return load

    def _own_dict_names(self, state, params, owner, source):
        """The names of the dicts by id(param) (see :meth:`_own_dicts`) whose arrays
        ``state`` holds (its ``'dicts'``), after checking them against this optimizer,
        given the target's ``params`` (path -> parameter): each must be a dict among
        its attributes (one keyed otherwise, left from another model, is filled anew).
        Its dicts keyed by the ids of ``params`` that the state lists not are added:
        the load empties them (a state saved before the first step holds none), unless
        the state holds arrays of that name, which no dict would take.  An empty dict
        is a setting, which a load leaves alone."""
        listed = state.get('dicts', [])
        if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
            raise ValueError(
                f'{owner}: {source} holds dicts={listed!r:.60}; expected a list of the '
                f'names of attributes'
            )
        ids = {id(p): p for p in params.values()}
        own = {n: v for n, v in self.__dict__.items() if n not in self._base_attributes}
        unknown = [n for n in listed if not isinstance(own.get(n), dict)]
        if unknown:
            held = ', '.join(map(repr, listed))
            raise ValueError(
                f'{owner}: {source} holds the dicts by id(param) {held}; '
                f'{type(self).__name__} has no dict attribute {", ".join(map(repr, unknown))}'
            )
        mine = [n for n, v in own.items() if _keyed_by_id(v, ids)]
        entries = state.get('state')
        used = set()
        for arrays in entries.values() if isinstance(entries, dict) else ():
            if isinstance(arrays, dict):
                used.update(arrays)
        if any(n not in listed and n in used for n in mine):  # arrays under no dict
            held = ', '.join(map(repr, listed))
            held = f'the dicts by id(param) {held}' if listed else 'no dict by id(param)'
            raise ValueError(
                f'{owner}: {source} holds {held}; {type(self).__name__} keeps '
                f'{", ".join(map(repr, mine))}'
            )
        # a dict by id(param) that the state holds nothing for (saved before the first
        # step) is emptied by the load, as the optimizer's own state is
        return listed + [n for n in mine if n not in listed]

    def _check_state_values(self, array, name, path, owner, source):
        """ValueError naming ``source``, the state array ``name`` and the parameter
        ``path`` unless ``array`` holds values that training with finite gradients
        leaves there: finite ones, except in an average (or sum) of squares
        (``_non_negative_state``: Adam's v), which is 0 or more and may be +inf, the
        square of a finite gradient above 1.8e19 in float32.  (NaN is never left
        there: it would only come from a NaN or infinite gradient or weight.)"""
        if name in self._non_negative_state:
            if (array < 0).any():
                raise ValueError(
                    f'{owner}: {source} holds {name!r} state with the negative value '
                    f'{array[array < 0].min()} for the parameter {path!r}; it is an '
                    f'average of squares, never below 0'
                )
            bad, kind = np.isnan(array), 'NaN'
        else:
            bad, kind = ~np.isfinite(array), 'NaN or infinite'
        if bad.any():
            raise ValueError(
                f'{owner}: {source} holds {name!r} state with {np.count_nonzero(bad)} '
                f'{kind} value(s) for the parameter {path!r}; training with finite '
                f'gradients never leaves them there'
            )

    def _expected_state(self, hyperparameters):
        """``(required, optional)``: the names of the state arrays that a parameter
        with state must have under ``hyperparameters`` (name -> value, as
        :meth:`state_dict` holds them), and those it may have besides; the step
        counts (``_step_counts``) aside.  None said: nothing is required."""
        return self._state_names or (), ()

    def _check_state_names(self, arrays, hyperparameters, path, owner, source):
        """ValueError naming ``source`` and the parameter ``path`` unless the names of
        its state ``arrays`` are those :meth:`_expected_state` gives: a missing moment
        would start again at 0, and an unknown array would be kept for nothing."""
        if self._state_names is None:
            return
        required, optional = self._expected_state(hyperparameters)
        missing = [name for name in required if name not in arrays]
        allowed = (*required, *optional, *self._step_counts)
        unknown = [name for name in arrays if name not in allowed]
        if missing or unknown:
            problems = []
            if missing:
                problems.append('missing ' + ', '.join(map(repr, missing)))
            if unknown:
                problems.append('unknown ' + ', '.join(map(repr, unknown)))
            keeps = ', '.join(map(repr, required)) or 'none'
            raise ValueError(
                f'{owner}: {source} holds the state arrays {", ".join(map(repr, arrays))} '
                f'for the parameter {path!r} ({"; ".join(problems)}); '
                f'{type(self).__name__} keeps {keeps}'
            )

    def _set_lr(self, value, owner):
        """Set the learning rate to ``value`` (>= 0: a schedule may reach 0), checked
        on behalf of ``owner``."""
        name = self._lr_attribute
        value = _learning_rate(owner, 'the learning rate', value)
        if isinstance(getattr(type(self), name, None), _Hyperparameter):
            self.__dict__[name] = value
        else:
            setattr(self, name, value)

    def _check_params(self, params):
        """Raise unless every parameter of ``params`` that has a gradient can be
        updated: one quick test each, and :meth:`_check_fit` for the error.  A
        gradient assigned as an array (``param.grad = array``, which backward also
        takes) is wrapped in a Variable here, and one of another dtype than its
        parameter's (float16 or integers for float32 data) is cast to the parameter's,
        or to its state's (:meth:`state_dtype`), which it may have already."""
        for param in params:
            grad = param.grad
            if grad is None:
                continue
            if not isinstance(grad, Variable):
                param.grad = grad = self._gradient_variable(param, grad)
            data, g = param.data, grad.data
            if (
                data is None
                or g is None
                or data.dtype.kind != 'f'
                or g.dtype.kind not in 'fiu'
                or data.shape != g.shape
                or not _writeable(data)
            ):
                self._check_fit(param)
            if g.dtype != data.dtype and g.dtype != self.state_dtype(data.dtype):
                # the step is taken in the state's dtype: the squares of a float16 or
                # integer gradient would overflow or wrap round in its own, and a
                # float32 one for float16 data in Adam stays float32, as its state
                param.grad = Variable(g.astype(self.state_dtype(data.dtype)))

    def _gradient_variable(self, param, grad):
        """A gradient given as an array (NumPy or CuPy) or a number, as a Variable."""
        if isinstance(grad, numbers.Number) or cuda.is_array(grad):
            return Variable(as_array(grad))
        raise TypeError(
            f'{type(self).__name__}.update: the gradient of the parameter '
            f'{self._describe(param)} is a {type(grad).__name__}; expected a Variable '
            f'or an array'
        )

    def _check_fit(self, param):
        """Raise unless ``param`` (which has a gradient) can be updated: it must hold
        floating-point data that can be written in place, and its gradient real
        numbers of the data's shape (NumPy would broadcast a smaller one into the
        update)."""
        data, grad = param.data, param.grad.data
        owner = type(self).__name__
        if data is None:
            raise ValueError(
                f'{owner}.update: the parameter {self._describe(param)} has a gradient '
                f'but no data; give it data (param.data = array) or set its grad to None'
            )
        if data.dtype.kind != 'f':
            raise TypeError(
                f'{owner}.update: the parameter {self._describe(param)} has dtype '
                f'{data.dtype}; parameters must be floating point to take gradient steps '
                f'(e.g. Parameter(np.array(..., dtype=np.float32)))'
            )
        if not _writeable(data):
            raise ValueError(
                f'{owner}.update: the data of the parameter {self._describe(param)} is '
                f'read-only (a broadcast view?); updates write it in place: give the '
                f'parameter an array of its own (param.data = param.data.copy())'
            )
        if grad is not None and grad.dtype.kind not in 'fiu':
            raise TypeError(
                f'{owner}.update: the gradient of the parameter {self._describe(param)} '
                f'has dtype {grad.dtype}; expected real numbers'
            )
        if grad is None or grad.shape != data.shape:
            got = 'no data' if grad is None else f'shape {grad.shape}'
            raise ValueError(
                f'{owner}.update: the gradient of the parameter {self._describe(param)} '
                f'has {got}; expected the shape of the parameter, {data.shape}'
            )

    def _describe(self, param):
        """``param`` as errors name it: its path in the target (``'l1/W'``) when the
        target has named_params(), else its name; with its shape."""
        name = param.name
        named = _method(self.target, 'named_params')
        if callable(named):
            name = next((path for path, p in named(self.target) if p is param), name)
        text = 'without a name' if name is None else repr(name)
        return text if param.data is None else f'{text} (shape {param.data.shape})'

    # ---- helpers for subclasses ------------------------------------------------------
    def _begin_step(self):
        """Called once per update, after the hooks and before the first update_one."""

    def _unique_params(self):
        """The target's parameters, each object once, in the order params() gives.  A
        layer's list is checked once, and again only when the layer gives another;
        a target whose class overrides params() (to freeze some layers, say) is
        asked through its params()."""
        target = self.target
        if not isinstance(target, Layer) or _overrides_params(target):
            return self._checked(target.params())
        params = type(target)._param_list(target)
        if params is not self._params_seen:
            self._params_checked = self._checked(params)
            self._params_seen = params
        return self._params_checked

    def _checked(self, given, source='params() of the target yielded'):
        """The parameters ``given``, each object once, after checking their type
        (``source`` says where they came from in the error)."""
        params, seen = [], set()
        for p in given:
            if not isinstance(p, Variable):
                raise TypeError(
                    f'{type(self).__name__}.update: {source} a {type(p).__name__}; '
                    f'expected Parameters'
                )
            if id(p) not in seen:  # the list holds p, so its id stays unique
                seen.add(id(p))
                params.append(p)
        return params

    def _state(self, param, *names):
        """The state arrays ``names`` of ``param``, as a tuple; created as zeros of the
        shape of ``param.data``, in :meth:`state_dtype`, on first use, and again if
        ``param.data`` changed shape or dtype (the parameter was replaced, so its old
        statistics no longer apply); moved with the parameter when it went to the
        other device (``to_gpu``/``to_cpu``)."""
        entry = self._states.get(id(param))
        xp = cuda.get_array_module(param.data)
        dtype = self.state_dtype(param.data.dtype)
        if entry is not None and entry[0]() is param:
            state = entry[1]
            if self._fits(state, param.data, dtype):
                counts = self._step_counts
                first = next(a for n, a in state.items() if n not in counts)
                if type(first) is not type(param.data):  # the parameter moved device
                    move = cuda.as_numpy if type(param.data) is np.ndarray else cuda.as_cupy
                    for n, a in state.items():
                        if n not in counts:
                            state[n] = move(a)
                for n in names:  # an option turned on later (RMSprop's momentum, say)
                    if n not in state:
                        state[n] = xp.zeros_like(param.data, dtype=dtype)
                return tuple(state[n] for n in names)
        state = {n: xp.zeros_like(param.data, dtype=dtype) for n in names}
        self._keep_state(param, state)
        return tuple(state[n] for n in names)

    def _fits(self, state, data, dtype=None):
        """Whether the state arrays of a parameter (its step counts aside) are still
        those of its ``data``: its shape, and ``dtype``, by default the one
        :meth:`state_dtype` gives."""
        dtype = self.state_dtype(data.dtype) if dtype is None else dtype
        return all(
            a.shape == data.shape and a.dtype == dtype
            for n, a in state.items()
            if n not in self._step_counts
        )

    def _keep_state(self, param, state):
        """Record ``state`` (a dict of arrays) as the state of ``param``, for as long as
        ``param`` lives."""
        key = id(param)
        states = self._states

        def forget(_ref):  # runs when param dies, before its id is reused
            states.pop(key, None)

        states[key] = (weakref.ref(param, forget), state)


def _writeable(array):
    """Whether ``array`` can be written in place (CuPy arrays always can)."""
    flags = getattr(array, 'flags', None)
    return getattr(flags, 'writeable', True)


# --------------------------------------------------------------------------------------
# The state that an optimizer of one's own keeps in its attributes, as the book's do
# --------------------------------------------------------------------------------------
# The key under which __getstate__ carries such dicts keyed by id(param): not an
# identifier, so that it is the name of no attribute.
_DICTS_BY_PARAM = '<dicts by id(param)>'


def _params_by_id(target):
    """``{id(param): param}`` for every parameter of ``target`` (none without a
    target), as :meth:`Optimizer.state_dict` names them: those of a layer frozen by its
    ``params()`` too, whose state an optimizer may hold from before."""
    if target is None:
        return {}
    named = _method(target, 'named_params')
    params = (p for _, p in named(target)) if named is not None else target.params()
    return {id(p): p for p in params}


def _keyed_by_id(value, params):
    """Whether ``value`` is a dict with a key that is the id of a parameter of
    ``params`` (``{id: param}``): state that an optimizer keeps per parameter, as the
    book's do (``self.vs[id(param)] = ...``)."""
    return isinstance(value, dict) and any(key in params for key in value)


def _check_keys(mapping, params, owner, attribute):
    """ValueError naming ``owner`` and ``attribute`` unless every key of ``mapping``
    (a dict keyed by id(param)) is the id of a parameter of ``params``."""
    for key in mapping:
        if key not in params:
            raise ValueError(
                f'{owner}: {attribute} is a dict keyed by id(param), but its key {key!r} '
                f'is the id of no parameter of the target (of a parameter of an earlier '
                f'target given to setup(), or of one that no longer exists), so its entry '
                f'cannot follow a parameter: delete that entry'
            )


def _holds_array(value):
    """Whether ``value`` is an array or a Variable, or a list, tuple, set or dict
    holding one at any depth."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if cuda.is_array(item) or isinstance(item, Variable):
            return True
        if isinstance(item, (list, tuple, set, frozenset, dict)) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


def _own_number(current, owner, name, value):
    """``value``, loaded for the attribute ``name`` (a number of an optimizer of one's
    own, now ``current``), checked to be a real number other than a bool: an int or
    a float, or a NumPy scalar of the type of ``current`` when that is one."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f'{owner}: {name} must be a real number, got {type(value).__name__} {value!r:.60}'
        )
    value = int(value) if isinstance(value, numbers.Integral) else float(value)
    if not isinstance(current, np.generic):
        return value
    try:
        with np.errstate(over='ignore'):  # a float beyond the type's range: refused below
            cast = current.dtype.type(value)
    except OverflowError:  # an int beyond the type's range
        cast = None
    if cast is None or (isinstance(value, float) and math.isfinite(value) != np.isfinite(cast)):
        raise ValueError(f'{owner}: {name} = {value!r} does not fit in {current.dtype}')
    return cast


def _plain_number(value):
    """A number as JSON holds it: a NumPy scalar as the Python int or float it equals."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------------------
# State files: .npz archives of plain arrays plus one JSON text, no pickled objects
# --------------------------------------------------------------------------------------
_OPTIMIZER_FORMAT = {'format': 'dezero optimizer state', 'version': 1}


def _check_keywords(cls, kwargs):
    """Raise a TypeError naming ``cls``, the keyword and the keywords that ``cls``
    takes, unless its ``__init__`` takes every keyword of ``kwargs``."""
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return
    known = [
        p.name
        for p in params
        if p.name != 'self' and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    for name in kwargs:
        if name not in known:
            takes = ', '.join(known) if known else 'no arguments'
            raise TypeError(
                f'{cls.__name__}: unknown argument {name!r}; {cls.__name__} takes {takes}'
            )


# --------------------------------------------------------------------------------------
# The optimizers
# --------------------------------------------------------------------------------------
class _BookStateView(collections.abc.MutableMapping):
    """The book's dict of one state array per parameter, keyed by ``id(param)``
    (Adam's ``ms``: the first moments), as a view of the optimizer's own state, so
    that a subclass whose ``update_one`` is copied from the book runs: ``key not in
    self.ms``, ``self.ms[key] = xp.zeros_like(param.data)`` and ``m = self.ms[key]``
    read and write the state that :meth:`Optimizer.state_dict`, ``save`` and copies
    keep.

    The keys are the ids of the live parameters that hold this array.  A value
    written must be an array (NumPy or CuPy, on the parameter's device) of the
    parameter's shape and of the dtype of its state (:meth:`Optimizer.state_dtype`,
    the parameter's own), and is kept as it is, so that updating it in place, as
    the book does, updates the state.  An array of another dtype (``np.zeros(shape)``,
    float64, for a float32 parameter) is refused: a copy would be kept, and the array
    the caller goes on updating would not be the state.  Two writes are kept as
    copies, which are read back from the view before being updated (as the book's
    ``update_one`` does): a read-only array (a broadcast view), and the float16 array
    of a float16 parameter whose state is float32 (Adam's), in float32.  Anything
    else is refused before the state changes.

    Deleting a parameter's entry (``del self.ms[id(param)]``) drops its whole state
    (Adam's m and v both), as the book's ``update_one``, finding no entry, makes all
    its arrays anew.  ``copy()``, ``copy.deepcopy`` and pickle give a plain dict
    ``{id(param): a copy of the array}``, a snapshot that assigning to the view gives
    back (``opt.vs = snapshot``)."""

    def __init__(self, optimizer, name, attribute):
        self._optimizer = optimizer
        self._name = name
        self._attribute = attribute  # ms, as the book names it

    def _state(self, key):
        """The state dict of the live parameter whose id is ``key``, or None."""
        entry = getattr(self._optimizer, '_states', {}).get(key)
        if entry is None or entry[0]() is None:
            return None
        return entry[1]

    def __getitem__(self, key):
        state = self._state(key)
        if state is None or self._name not in state:
            raise KeyError(key)
        return state[self._name]

    def __setitem__(self, key, array):
        self._store(*self._prepare(key, array))

    def __delitem__(self, key):
        state = self._state(key)
        if state is None or self._name not in state:
            raise KeyError(key)
        del self._optimizer._states[key]  # all of its arrays: no state, as before a step

    def __iter__(self):
        keys = list(getattr(self._optimizer, '_states', {}))
        return iter([key for key in keys if self._name in (self._state(key) or ())])

    def __len__(self):
        return sum(1 for _ in self)

    def copy(self):
        """A plain dict ``{id(param): a copy of its array}``: a snapshot of this array
        of every parameter, which assigning to the view gives back."""
        return {key: array.copy() for key, array in self.items()}

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return dict, (self.copy(),)

    def _replace(self, mapping):
        """Make ``mapping`` (id(param) -> array) this array of every parameter (what
        assigning ``self.ms = mapping`` does): the values are checked as
        :meth:`__setitem__` checks them, all before anything changes; the parameters
        that have this array and that ``mapping`` leaves out lose their whole state,
        as by ``del``."""
        if not isinstance(mapping, collections.abc.Mapping):
            raise TypeError(
                f'{self._owner()}: expected a dict of state arrays keyed by id(param) '
                f'(the book assigns {{}}), got {type(mapping).__name__} {mapping!r:.60}'
            )
        prepared = [self._prepare(key, array) for key, array in list(mapping.items())]
        given = {id(param) for param, _ in prepared}
        for key in list(self):
            if key not in given:
                del self[key]
        for param, array in prepared:
            self._store(param, array)

    def _owner(self):
        """The view as errors name it: ``Adam.ms``."""
        return f'{type(self._optimizer).__name__}.{self._attribute}'

    def _param(self, key):
        """The live parameter whose id is ``key``: one with state, or one of the
        target's; KeyError otherwise."""
        entry = getattr(self._optimizer, '_states', {}).get(key)
        param = entry[0]() if entry is not None else None
        target = getattr(self._optimizer, 'target', None)
        if param is None and target is not None:
            param = next((p for p in target.params() if id(p) == key), None)
        if param is None:
            raise KeyError(
                f'{self._owner()}: {key!r} is not the id of a parameter of the target; '
                f'key the state by id(param)'
            )
        return param

    def _prepare(self, key, array):
        """``(param, stored)``: the parameter whose id is ``key`` and ``array`` as its
        state keeps it (see the class); TypeError or ValueError naming the view and
        the parameter when ``array`` does not fit it."""
        param = self._param(key)
        problem = self._problem(param.data, array)
        if problem is not None:
            error, text = problem
            raise error(
                f'{self._owner()}[id(param)] for the parameter '
                f'{self._optimizer._describe(param)}: {text}'
            )
        dtype = self._optimizer.state_dtype(param.data.dtype)
        if array.dtype == dtype:
            return param, array if _writeable(array) else array.copy()
        return param, array.astype(dtype)  # float16 data whose state is float32

    def _problem(self, data, array):
        """``(error class, text)`` saying why ``array`` cannot be state of a parameter
        holding ``data``, or None when it can."""
        if data is None:
            return ValueError, 'the parameter has no data yet, so it can have no state'
        if not cuda.is_array(array):
            return TypeError, (
                f'expected an array of shape {data.shape} (xp.zeros_like(param.data)), '
                f'got {type(array).__name__} {array!r:.60}'
            )
        if cuda.device_name(array) != cuda.device_name(data) or (
            cuda.is_gpu_array(data) and array.device != data.device
        ):
            return ValueError, (
                f'the array is on the {cuda.device_name(array)} but the parameter is on '
                f'the {cuda.device_name(data)} (make it with xp.zeros_like(param.data))'
            )
        if array.dtype.kind not in 'fiu':
            return TypeError, f'expected real numbers, got an array of dtype {array.dtype}'
        if array.shape != data.shape:
            return ValueError, (
                f'expected an array of the shape of the parameter, {data.shape}, '
                f'got shape {array.shape}'
            )
        dtype = self._optimizer.state_dtype(data.dtype)
        if array.dtype not in (dtype, data.dtype):
            return TypeError, (
                f'got an array of dtype {array.dtype}, but the state of this parameter '
                f'is {dtype}: a copy in {dtype} would be kept, and the array given, '
                f'updated in place later, would not be the state; store an array of the '
                f"parameter's dtype, {data.dtype} (np.zeros_like(param.data))"
            )
        return None

    def _store(self, param, array):
        """Keep ``array`` as this array of ``param``'s state."""
        state = self._optimizer.state_of(param)
        if not state:
            state = {}
            self._optimizer._keep_state(param, state)
        state[self._name] = array


class _BookState:
    """A class attribute giving each optimizer its :class:`_BookStateView` of the
    state array ``name`` (``ms = _BookState('m')``).  Assigning a dict to it, as the
    book's ``__init__`` does (``self.ms = {}``), sets that array of every parameter
    from the dict through the view (``{}`` drops the state); anything else is refused."""

    def __init__(self, name):
        self.name = name
        self.attribute = None

    def __set_name__(self, owner, attribute):
        self.attribute = attribute

    def __get__(self, optimizer, owner=None):
        if optimizer is None:
            return self
        return _BookStateView(optimizer, self.name, self.attribute)

    def __set__(self, optimizer, mapping):
        self.__get__(optimizer)._replace(mapping)


class SGD(Optimizer):
    """Stochastic gradient descent: p -= lr * g."""

    lr = _Hyperparameter(_learning_rate)
    _state_names = ()  # none

    def __init__(self, lr=0.01):
        super().__init__()
        self.lr = lr

    def update_one(self, param):
        """Step ``param`` against its gradient g: p -= lr * g."""
        param.data -= self.lr * param.grad.data


class MomentumSGD(Optimizer):
    """SGD with momentum: v = momentum * v - lr * g; p += v (v starts at 0), with
    momentum in [0, 1] (1 keeps every past step, as the book and PyTorch allow).

    The velocity holds the past steps with the learning rates they were taken with,
    so a new lr (a schedule) acts on the new gradients only.  PyTorch's
    ``torch.optim.SGD(momentum=...)`` keeps v = momentum * v + g and takes p -= lr * v,
    which scales the past steps by the new lr too; with a constant lr the two are
    the same."""

    lr = _Hyperparameter(_learning_rate)
    momentum = _Hyperparameter(_closed_fraction)
    _state_names = ('v',)
    vs = _BookState('v')  # the book's velocities by id(param)

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__()
        self.lr = lr
        self.momentum = momentum

    def update_one(self, param):
        """Step ``param`` by its velocity v: v = momentum * v - lr * g; p += v."""
        (v,) = self._state(param, 'v')
        v *= self.momentum
        v -= self.lr * param.grad.data
        param.data += v


class AdaGrad(Optimizer):
    """AdaGrad: h += g * g; p -= lr * g / (sqrt(h) + eps) (h starts at 0)."""

    lr = _Hyperparameter(_learning_rate)
    eps = _Hyperparameter(_positive)
    _state_names = ('h',)
    hs = _BookState('h')  # the book's sums of squares by id(param)
    _non_negative_state = ('h',)
    _float32_for_float16 = True

    def __init__(self, lr=0.001, eps=1e-8):
        super().__init__()
        self.lr = lr
        self.eps = eps

    def update_one(self, param):
        """Step ``param`` by its gradient g scaled by the root of its sum of squares h:
        h += g * g; p -= lr * g / (sqrt(h) + eps)."""
        (h,) = self._state(param, 'h')
        g = param.grad.data.astype(h.dtype, copy=False)
        h += g * g
        xp = cuda.get_array_module(h)
        param.data -= self.lr * g / (xp.sqrt(h) + self.eps)


class _NoLearningRate:
    """The ``lr`` of an optimizer class that has none (AdaDelta): reading or assigning
    it on an instance of that very class raises AttributeError (and
    ``hasattr(optimizer, 'lr')`` is False).  A subclass may give ``lr`` a use of its
    own: on its instances ``lr`` is a plain attribute, which ``__init__`` may set
    (until it is set, reading it raises AttributeError)."""

    def __set_name__(self, owner, name):
        self.owner = owner

    def _refuse(self, optimizer):
        raise AttributeError(
            f'{type(optimizer).__name__} has no learning rate (lr): its steps are scaled '
            f'by the running averages alone; tune rho and eps instead'
        )

    def __get__(self, optimizer, owner=None):
        if optimizer is None:
            return self
        if type(optimizer) is self.owner or 'lr' not in optimizer.__dict__:
            self._refuse(optimizer)
        return optimizer.__dict__['lr']

    def __set__(self, optimizer, value):
        if type(optimizer) is self.owner:
            self._refuse(optimizer)
        optimizer.__dict__['lr'] = value

    def __delete__(self, optimizer):
        if type(optimizer) is self.owner or 'lr' not in optimizer.__dict__:
            self._refuse(optimizer)
        del optimizer.__dict__['lr']


class AdaDelta(Optimizer):
    """AdaDelta (no learning rate):
    msg = rho * msg + (1 - rho) * g * g;  dx = sqrt((msdx + eps) / (msg + eps)) * g;
    msdx = rho * msdx + (1 - rho) * dx * dx;  p -= dx  (msg and msdx start at 0).
    ``rho`` is in [0, 1]; with rho = 1 the averages stay 0 and dx = g.

    ``optimizer.lr`` raises AttributeError; a subclass may set ``self.lr`` and give it
    a use of its own."""

    rho = _Hyperparameter(_closed_fraction)
    eps = _Hyperparameter(_positive)
    _lr_attribute = None
    _state_names = ('msg', 'msdx')
    msg = _BookState('msg')  # the book's dicts by id(param)
    msdx = _BookState('msdx')
    _non_negative_state = ('msg', 'msdx')
    # in float16, (msdx + eps) / (msg + eps) is 0 once msg is some 30 times msdx + eps
    # (the ratio below 3e-8): a gradient of 200 made every later step 0
    _float32_for_float16 = True

    def __init__(self, rho=0.95, eps=1e-6):
        super().__init__()
        self.rho = rho
        self.eps = eps

    lr = _NoLearningRate()

    def update_one(self, param):
        """Step ``param`` by dx = sqrt((msdx + eps) / (msg + eps)) * g, after updating
        the average msg of g * g; then msdx averages dx * dx (rates rho, 1 - rho)."""
        msg, msdx = self._state(param, 'msg', 'msdx')
        g = param.grad.data.astype(msg.dtype, copy=False)
        rho, eps = self.rho, self.eps
        msg *= rho
        msg += (1 - rho) * g * g
        xp = cuda.get_array_module(msg)
        dx = xp.sqrt((msdx + eps) / (msg + eps)) * g
        msdx *= rho
        msdx += (1 - rho) * dx * dx
        param.data -= dx


class Adam(Optimizer):
    """Adam with bias correction, as in DeZero.  With t the number of update() calls
    so far (also those in which a parameter had no gradient; :class:`AdamW` counts
    each parameter's own steps, as PyTorch does):
    m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g;
    step_size = alpha * sqrt(1 - beta2**t) / (1 - beta1**t);
    p -= step_size * m / (sqrt(v) + eps).
    The first step moves each parameter by about alpha * sign(g).

    The learning rate ``alpha`` (default 0.001) may be given as ``lr`` instead, not as
    both; ``optimizer.lr`` reads and assigns ``alpha``.

    ``eps`` may be 0, as in the book and in PyTorch; then an element whose gradients
    have all been 0 so far has m = v = 0, and its step 0 / 0 makes it NaN (NumPy warns
    "invalid value encountered"), as ``torch.optim.Adam(eps=0)`` makes it NaN too.

    The step count t belongs to the optimizer, not to the model: after
    ``setup(other_model)`` it goes on counting (as in the book), so the first steps
    on the other model are bias-corrected with a large t and are smaller than
    alpha * sign(g).  To train another model from the start, make a new optimizer.
    """

    alpha = _Hyperparameter(_learning_rate)
    beta1 = _Hyperparameter(_fraction)
    beta2 = _Hyperparameter(_fraction)
    eps = _Hyperparameter(_non_negative)
    _counters = ('t',)
    _lr_attribute = 'alpha'
    _state_names = ('m', 'v')
    ms = _BookState('m')  # the book's moments by id(param)
    vs = _BookState('v')
    _non_negative_state = ('v',)
    _float32_for_float16 = True

    def __init__(self, alpha=None, beta1=0.9, beta2=0.999, eps=1e-8, *, lr=None):
        super().__init__()
        if alpha is not None and lr is not None:
            raise TypeError(
                f'Adam: got both alpha={alpha!r} and lr={lr!r}; they name the '
                f'same learning rate: give one of them'
            )
        if lr is not None:
            self.lr = lr
        else:
            self.alpha = 0.001 if alpha is None else alpha
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.t = 0

    @property
    def lr(self):
        """The learning rate: the same value as ``alpha``."""
        return self.alpha

    @lr.setter
    def lr(self, value):
        self.__dict__['alpha'] = _learning_rate('Adam', 'lr', value)

    @property
    def step_size(self):
        """The bias-corrected step size of step t (before the first update, that of
        the first step): alpha * sqrt(1 - beta2**t) / (1 - beta1**t)."""
        t = max(self.t, 1)
        return self.alpha * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)

    def _begin_step(self):
        self.t += 1

    def update_one(self, param):
        """Update the moments m, v of ``param`` and step it:
        p -= step_size * m / (sqrt(v) + eps), with step_size bias-corrected for t."""
        m, v = self._state(param, 'm', 'v')
        g = param.grad.data.astype(m.dtype, copy=False)
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        xp = cuda.get_array_module(v)
        param.data -= self.step_size * m / (xp.sqrt(v) + self.eps)


class AdamW(Optimizer):
    """Adam with decoupled weight decay, the update of PyTorch's ``torch.optim.AdamW``
    (without amsgrad).  With t the number of steps this parameter has taken, this one
    included (``state_of(param)['step']``):
    p -= lr * weight_decay * p;  m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps).
    Unlike Adam's, eps is added to the bias-corrected sqrt(v), and the weight decay
    shrinks the parameter directly instead of entering the gradient.  A parameter
    that had no gradient in some updates (frozen for a while, or made later) has its
    own, smaller t, whose bias correction fits its moments; ``optimizer.t`` counts
    the update() calls.

    ``betas`` is the pair (beta1, beta2), each in [0, 1); ``optimizer.betas`` reads and
    assigns both, ``beta1`` and ``beta2`` each.
    """

    lr = _Hyperparameter(_learning_rate)
    beta1 = _Hyperparameter(_fraction)
    beta2 = _Hyperparameter(_fraction)
    eps = _Hyperparameter(_positive)
    weight_decay = _Hyperparameter(_non_negative)
    _counters = ('t',)
    _step_counts = ('step',)
    _state_names = ('m', 'v')
    _non_negative_state = ('v',)
    _float32_for_float16 = True

    def __init__(self, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__()
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.t = 0

    @property
    def betas(self):
        """The pair (beta1, beta2)."""
        return (self.beta1, self.beta2)

    @betas.setter
    def betas(self, value):
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(
                f'AdamW: betas must be a pair (beta1, beta2) of numbers in [0, 1), '
                f'got {value!r:.60}'
            )
        beta1 = _fraction('AdamW', 'beta1', value[0])  # both checked before either is set
        beta2 = _fraction('AdamW', 'beta2', value[1])
        self.beta1, self.beta2 = beta1, beta2

    def _begin_step(self):
        self.t += 1

    def update_one(self, param):
        """Shrink ``param`` by lr * weight_decay, update its moments m, v and step it:
        p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)."""
        m, v = self._state(param, 'm', 'v')
        state = self.state_of(param)
        t = state['step'] = state.get('step', 0) + 1
        g = param.grad.data.astype(m.dtype, copy=False)
        lr, beta1, beta2 = self.lr, self.beta1, self.beta2
        if self.weight_decay != 0:  # the factor in m's dtype: float32 for float16 data
            param.data *= m.dtype.type(1 - lr * self.weight_decay)
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        xp = cuda.get_array_module(v)
        denom = xp.sqrt(v) / math.sqrt(1 - beta2**t)
        denom += self.eps
        param.data -= lr / (1 - beta1**t) * m / denom


class RMSprop(Optimizer):
    """RMSprop, the update of PyTorch's ``torch.optim.RMSprop``:
    g = g + weight_decay * p;  s = alpha * s + (1 - alpha) * g * g;
    with ``centered``, a = alpha * a + (1 - alpha) * g and
    d = sqrt(max(s - a * a, 0)) + eps, else d = sqrt(s) + eps;  with ``momentum`` > 0,
    b = momentum * b + g / d and p -= lr * b, else p -= lr * g / d  (s, a and b start
    at 0).  The max(..., 0) keeps the variance that rounding makes slightly negative
    (after many equal gradients) from giving NaN; PyTorch's gives NaN there.
    """

    lr = _Hyperparameter(_learning_rate)
    alpha = _Hyperparameter(_fraction)
    eps = _Hyperparameter(_positive)
    weight_decay = _Hyperparameter(_non_negative)
    momentum = _Hyperparameter(_fraction)
    centered = _Hyperparameter(check_flag)
    _state_names = ('square_avg', 'momentum_buffer', 'grad_avg')
    _non_negative_state = ('square_avg',)
    _float32_for_float16 = True

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
        super().__init__()
        self.lr = lr
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.centered = centered

    @staticmethod
    def _buffers(momentum, centered):
        """The state arrays a step keeps with these options: s, then b with momentum,
        then a when centered."""
        names = ['square_avg']
        if momentum > 0:
            names.append('momentum_buffer')
        if centered:
            names.append('grad_avg')
        return tuple(names)

    def _expected_state(self, hyperparameters):
        """The buffers of the options on; those of an option turned off after it was
        used may stay (the option turned on again goes on with them)."""
        required = self._buffers(hyperparameters['momentum'], hyperparameters['centered'])
        return required, tuple(n for n in self._state_names if n not in required)

    def update_one(self, param):
        """Update the average of squares s of ``param`` (and a, b with the options on)
        and step it: p -= lr * g / d, or p -= lr * b with momentum."""
        names = self._buffers(self.momentum, self.centered)
        state = dict(zip(names, self._state(param, *names)))
        s = state['square_avg']
        g = param.grad.data.astype(s.dtype, copy=False)
        if self.weight_decay != 0:  # a new array: the gradient is only read
            g = g + self.weight_decay * param.data.astype(s.dtype, copy=False)
        alpha = self.alpha
        s *= alpha
        s += (1 - alpha) * g * g
        xp = cuda.get_array_module(s)
        if self.centered:
            a = state['grad_avg']
            a *= alpha
            a += (1 - alpha) * g
            # the variance s - a * a, which rounding can make slightly negative (after
            # many equal gradients), taken as 0 there rather than giving sqrt's NaN
            d = xp.sqrt(xp.maximum(s - a * a, 0))
        else:
            d = xp.sqrt(s)
        d += self.eps
        if self.momentum > 0:
            b = state['momentum_buffer']
            b *= self.momentum
            b += g / d
            param.data -= self.lr * b
        else:
            param.data -= self.lr * (g / d)


class RMSProp(RMSprop):
    """RMSProp with the arguments lr, rho and eps, a dezero addition (the book's DeZero
    has none): the update of Tieleman and Hinton's lecture,
    ms = rho * ms + (1 - rho) * g * g;  p -= lr * g / (sqrt(ms) + eps)  (ms starts at 0).

    It is :class:`RMSprop` with ``alpha`` = ``rho`` and neither weight decay nor
    momentum nor centering; ``optimizer.rho`` reads and assigns ``alpha``, and the
    average ms is kept (and saved) as ``square_avg``.
    """

    def __init__(self, lr=0.001, rho=0.9, eps=1e-8):
        super().__init__(lr=lr, alpha=_fraction('RMSProp', 'rho', rho), eps=eps)

    @property
    def rho(self):
        """The decay rate of the average of squares: the same value as ``alpha``."""
        return self.alpha

    @rho.setter
    def rho(self, value):
        self.__dict__['alpha'] = _fraction('RMSProp', 'rho', value)


# --------------------------------------------------------------------------------------
# Hooks: callables run on the list of parameters with a gradient before each update
# --------------------------------------------------------------------------------------
class WeightDecay:
    """L2 regularisation: grad <- grad + rate * param.data (a new gradient Variable)."""

    def __init__(self, rate):
        self.rate = _non_negative('WeightDecay', 'rate', rate)

    def __call__(self, params):
        for p in params:
            p.grad = Variable(as_array(p.grad.data + self.rate * p.data))


class ClipGrad:
    """Gradient clipping by global norm: every gradient is scaled by max_norm / (norm +
    1e-6) when that is below 1 (new gradient Variables), norm being the L2 norm of all
    the gradients together, as in the book and PyTorch's ``clip_grad_norm_``; so a norm
    just under ``max_norm`` is scaled too.  The norm is computed without overflow, however large the
    finite gradients (their squares are summed in float64).  A NaN or infinite gradient
    makes the norm NaN or infinite, and then every scaled gradient NaN, or 0 (NaN where
    it was infinite), as in PyTorch's ``clip_grad_norm_``: the step shows the problem
    rather than hiding it."""

    def __init__(self, max_norm):
        self.max_norm = _positive('ClipGrad', 'max_norm', max_norm)

    def __call__(self, params):
        norm = _global_norm([p.grad.data for p in params])
        scale = self.max_norm / (norm + 1e-6)
        if not scale >= 1:  # NaN too
            with np.errstate(invalid='ignore'):  # inf * 0
                for p in params:
                    p.grad = Variable(as_array(p.grad.data * scale))


def _global_norm(arrays):
    """The L2 norm of all the ``arrays`` together, sqrt(sum of every value squared), as
    a Python float.  The squares are summed in float64, where those of float16, float32
    and integer values cannot overflow (3e19 ** 2 is infinite in float32); when even
    float64 overflows (values above 1e154), each value is first divided by the largest
    magnitude, and the norm is that magnitude times the root of the sum.  A NaN makes
    the norm NaN; an infinite value (and no NaN) makes it infinite."""
    total = 0.0
    with np.errstate(over='ignore'):  # an overflow is dealt with below
        for a in arrays:
            a = a.astype(np.float64, copy=False)  # (a * a is a new array)
            total = total + (a * a).sum()  # on the arrays' device: one reading, below
        total = float(total)
    if not math.isinf(total):
        return math.sqrt(total)  # NaN too
    largest = max((float(abs(a).max()) for a in arrays if a.size), default=0.0)
    if not math.isfinite(largest):
        return largest  # an infinite value
    total = 0.0
    for a in arrays:
        a = a.astype(np.float64) / largest
        total += float((a * a).sum())
    return largest * math.sqrt(total)


class FreezeParam:
    """Keep the parameters of the given layers (or the given Parameters) unchanged:
    their gradient is set to None, so that this step skips them.  A layer's parameters
    are looked up at each step, so parameters it creates later are frozen too."""

    def __init__(self, *layers):
        if not layers:
            raise ValueError('FreezeParam: give at least one layer or Parameter to freeze')
        for layer in layers:
            if not isinstance(layer, Variable) and not callable(getattr(layer, 'params', None)):
                raise TypeError(
                    f'FreezeParam: expected layers (with params()) or '
                    f'Parameters, got {type(layer).__name__}'
                )
        self.layers = layers
        # the book's list of the Parameters to freeze, which code may add to
        self.freeze_params = [
            p
            for layer in layers
            for p in ([layer] if isinstance(layer, Variable) else layer.params())
        ]

    def __call__(self, params):
        frozen = {id(p) for p in self.freeze_params}
        for layer in self.layers:  # and those the layers have made since
            if not isinstance(layer, Variable):
                frozen.update(id(p) for p in layer.params())
        for p in params:
            if id(p) in frozen:
                p.grad = None

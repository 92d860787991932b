"""Optimizers that update a model's parameters from their gradients, and gradient hooks.

Use: ``opt = SGD(lr=0.1).setup(model)``; after each ``loss.backward()`` call
``opt.update()``.  The target is anything with a ``params()`` method yielding Parameters
(a Layer or Model).  Each step:

1. collects the target's parameters, each object once, in the order ``params()`` gives;
2. runs the hooks (``add_hook``) in the order added, each on the list of the parameters
   that still have a gradient (a hook may replace ``param.grad`` or set it to None);
3. calls ``update_one(param)`` for every parameter whose ``grad`` is not None.

A parameter that is to be updated must hold floating-point data and a gradient of the
same shape (NumPy would broadcast a smaller one silently); otherwise update() raises,
naming the optimizer and the parameter, before any parameter changes.

Updates work on the raw arrays, in place on ``param.data`` (an alias of the array sees
them), are never recorded in a graph, and keep the parameter's dtype: a float32 model
stays float32, state included.  Gradient arrays are only read, never written, since they
may be shared between variables or be read-only broadcast views.

Per-parameter state (velocity, moment estimates...) belongs to the parameter object: it
is created as zeros like ``param.data`` (same shape, dtype and array module) on the
parameter's first update, and dropped when the parameter is garbage collected.

Hyperparameters are checked when the optimizer is made and whenever they are assigned
later (``optimizer.lr = 0.01`` in a schedule); every optimizer that has a learning rate
calls it ``lr`` (Adam also ``alpha``, its name in DeZero and in the paper).
"""

import inspect
import math
import numbers
import weakref

import numpy as np

from dezero import cuda
from dezero.core import Parameter, Variable, as_array  # noqa: F401  (Parameter: as the book's)


# --------------------------------------------------------------------------------------
# Hyperparameter checks
# --------------------------------------------------------------------------------------
def _real(owner, name, value, valid, expected):
    """``value`` as a Python float (so it cannot upcast float32 arrays), after checking
    that it is a finite real number for which ``valid`` holds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f'{owner}: {name} must be a real number, got {type(value).__name__} {value!r:.60}'
        )
    number = float(value)
    if not (math.isfinite(number) and valid(number)):
        raise ValueError(f'{owner}: {name} must be {expected}, got {value!r}')
    return number


def _positive(owner, name, value):
    return _real(owner, name, value, lambda v: v > 0, 'positive (> 0)')


def _non_negative(owner, name, value):
    return _real(owner, name, value, lambda v: v >= 0, 'non-negative (>= 0)')


def _fraction(owner, name, value):
    return _real(owner, name, value, lambda v: 0 <= v < 1, 'in [0, 1)')


class _Hyperparameter:
    """An optimizer attribute checked on every assignment, in ``__init__`` and later:
    ``check(owner, name, value)`` validates the value and gives the float stored.

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

    def setup(self, target):
        """Use ``target`` (an object with a ``params()`` method); returns the optimizer."""
        if not callable(getattr(target, 'params', None)):
            raise TypeError(
                f'{type(self).__name__}.setup: the target must have a params() '
                f'method (a Layer or Model), got {type(target).__name__}'
            )
        self.target = target
        return self

    def add_hook(self, f):
        """Append ``f`` to the hooks; ``f(params)`` runs before each update on the list
        of the parameters that have a gradient."""
        if not callable(f):
            raise TypeError(
                f'{type(self).__name__}.add_hook: a hook must be callable, got {type(f).__name__}'
            )
        self.hooks.append(f)

    def update(self):
        """One optimization step: run the hooks, then update every parameter that has
        a gradient (those without one are skipped and keep no new state)."""
        if self.target is None:
            raise RuntimeError(
                f'{type(self).__name__}.update: no target; call setup(model) before update()'
            )
        params = self._unique_params()
        self._check_params(params)  # before a hook could broadcast a gradient to fit
        if self.hooks:
            for hook in self.hooks:
                hook([p for p in params if p.grad is not None])
            self._check_params(params)
        self._begin_step()
        update_one = self.update_one
        for param in params:
            if param.grad is not None:
                update_one(param)

    def update_one(self, param):
        """Update ``param.data`` in place from ``param.grad``."""
        raise NotImplementedError(f'{type(self).__name__} does not define update_one()')

    def state_of(self, param):
        """The state this optimizer keeps for ``param``: a dict of arrays, empty if none."""
        entry = self._states.get(id(param))
        if entry is None or entry[0]() is not param:
            return {}
        return entry[1]

    def _check_params(self, params):
        """Raise unless every parameter of ``params`` that has a gradient can be
        updated: one quick test each, and :meth:`_check_fit` for the error."""
        for param in params:
            grad = param.grad
            if grad is not None:
                data = param.data
                if data is None or data.dtype.kind != 'f' or data.shape != grad.data.shape:
                    self._check_fit(param)

    def _check_fit(self, param):
        """Raise unless ``param`` (which has a gradient) can be updated: it must hold
        floating-point data, and its gradient must have the data's shape (NumPy would
        broadcast a smaller one into the update)."""
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
        named = getattr(self.target, 'named_params', None)
        if callable(named):
            name = next((path for path, p in named() if p is param), name)
        text = 'without a name' if name is None else repr(name)
        return text if param.data is None else f'{text} (shape {param.data.shape})'

    # ---- helpers for subclasses ------------------------------------------------------
    def _begin_step(self):
        """Called once per update, after the hooks and before the first update_one."""

    def _unique_params(self):
        """The target's parameters, each object once, in the order params() gives.  A
        layer's list is checked once, and again only when the layer gives another."""
        listing = getattr(self.target, '_param_list', None)
        if listing is None:
            return self._checked(self.target.params())
        params = listing()
        if params is not self._params_seen:
            self._params_checked = self._checked(params)
            self._params_seen = params
        return self._params_checked

    def _checked(self, given):
        """The parameters ``given``, each object once, after checking their type."""
        params, seen = [], set()
        for p in given:
            if not isinstance(p, Variable):
                raise TypeError(
                    f'{type(self).__name__}.update: params() of the target '
                    f'yielded a {type(p).__name__}; expected Parameters'
                )
            if id(p) not in seen:  # the list holds p, so its id stays unique
                seen.add(id(p))
                params.append(p)
        return params

    def _state(self, param, *names):
        """The state arrays ``names`` of ``param``, as a tuple; created as zeros like
        ``param.data`` on first use, and again if ``param.data`` changed shape or dtype
        (the parameter was replaced, so its old statistics no longer apply); moved
        with the parameter when it went to the other device (``to_gpu``/``to_cpu``)."""
        key = id(param)
        entry = self._states.get(key)
        if entry is not None and entry[0]() is param:
            state = entry[1]
            first = state[names[0]]
            if first.shape == param.data.shape and first.dtype == param.data.dtype:
                if type(first) is not type(param.data):  # the parameter moved device
                    move = cuda.as_numpy if type(param.data) is np.ndarray else cuda.as_cupy
                    for n in state:
                        state[n] = move(state[n])
                return tuple(state[n] for n in names)
        xp = cuda.get_array_module(param.data)
        state = {n: xp.zeros_like(param.data) for n in names}
        states = self._states

        def forget(_ref):  # runs when param dies, before its id is reused
            states.pop(key, None)

        self._states[key] = (weakref.ref(param, forget), state)
        return tuple(state[n] for n in names)


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
class SGD(Optimizer):
    """Stochastic gradient descent: p -= lr * g."""

    lr = _Hyperparameter(_positive)

    def __init__(self, lr=0.01):
        super().__init__()
        self.lr = lr

    def update_one(self, param):
        param.data -= self.lr * param.grad.data


class MomentumSGD(Optimizer):
    """SGD with momentum: v = momentum * v - lr * g; p += v (v starts at 0)."""

    lr = _Hyperparameter(_positive)
    momentum = _Hyperparameter(_fraction)

    def __init__(self, lr=0.01, momentum=0.9):
        super().__init__()
        self.lr = lr
        self.momentum = momentum

    def update_one(self, param):
        (v,) = self._state(param, 'v')
        v *= self.momentum
        v -= self.lr * param.grad.data
        param.data += v


class AdaGrad(Optimizer):
    """AdaGrad: h += g * g; p -= lr * g / (sqrt(h) + eps) (h starts at 0)."""

    lr = _Hyperparameter(_positive)
    eps = _Hyperparameter(_positive)

    def __init__(self, lr=0.001, eps=1e-8):
        super().__init__()
        self.lr = lr
        self.eps = eps

    def update_one(self, param):
        (h,) = self._state(param, 'h')
        g = param.grad.data
        h += g * g
        xp = cuda.get_array_module(h)
        param.data -= self.lr * g / (xp.sqrt(h) + self.eps)


class AdaDelta(Optimizer):
    """AdaDelta (no learning rate):
    msg = rho * msg + (1 - rho) * g * g;  dx = sqrt((msdx + eps) / (msg + eps)) * g;
    msdx = rho * msdx + (1 - rho) * dx * dx;  p -= dx  (msg and msdx start at 0)."""

    rho = _Hyperparameter(_fraction)
    eps = _Hyperparameter(_positive)

    def __init__(self, rho=0.95, eps=1e-6):
        super().__init__()
        self.rho = rho
        self.eps = eps

    def _no_learning_rate(self, value=None):
        raise AttributeError(
            'AdaDelta has no learning rate (lr): its steps are scaled '
            'by the running averages alone; tune rho and eps instead'
        )

    lr = property(
        _no_learning_rate,
        _no_learning_rate,
        doc="""AdaDelta has no learning rate: reading or assigning ``lr``
                  raises AttributeError (and ``hasattr(optimizer, 'lr')`` is False).""",
    )

    def update_one(self, param):
        msg, msdx = self._state(param, 'msg', 'msdx')
        g = param.grad.data
        rho, eps = self.rho, self.eps
        msg *= rho
        msg += (1 - rho) * g * g
        xp = cuda.get_array_module(msg)
        dx = xp.sqrt((msdx + eps) / (msg + eps)) * g
        msdx *= rho
        msdx += (1 - rho) * dx * dx
        param.data -= dx


class Adam(Optimizer):
    """Adam with bias correction.  With t the number of update() calls so far:
    m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g;
    step_size = alpha * sqrt(1 - beta2**t) / (1 - beta1**t);
    p -= step_size * m / (sqrt(v) + eps).
    The first step moves each parameter by about alpha * sign(g).

    The learning rate ``alpha`` (default 0.001) may be given as ``lr`` instead, not as
    both; ``optimizer.lr`` reads and assigns ``alpha``.
    """

    alpha = _Hyperparameter(_positive)
    beta1 = _Hyperparameter(_fraction)
    beta2 = _Hyperparameter(_fraction)
    eps = _Hyperparameter(_positive)

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
        self.__dict__['alpha'] = _positive('Adam', 'lr', value)

    @property
    def step_size(self):
        """The bias-corrected step size of step t (before the first update, that of
        the first step): alpha * sqrt(1 - beta2**t) / (1 - beta1**t)."""
        t = max(self.t, 1)
        return self.alpha * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)

    def _begin_step(self):
        self.t += 1

    def update_one(self, param):
        m, v = self._state(param, 'm', 'v')
        g = param.grad.data
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        xp = cuda.get_array_module(v)
        param.data -= self.step_size * m / (xp.sqrt(v) + self.eps)


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
    """Gradient clipping by global norm: if the L2 norm of all the gradients together
    exceeds ``max_norm``, every gradient is scaled by max_norm / (norm + 1e-6)
    (new gradient Variables)."""

    def __init__(self, max_norm):
        self.max_norm = _positive('ClipGrad', 'max_norm', max_norm)

    def __call__(self, params):
        total = 0.0
        for p in params:
            g = p.grad.data
            total += float((g * g).sum())
        norm = math.sqrt(total)
        if norm > self.max_norm:
            scale = self.max_norm / (norm + 1e-6)
            for p in params:
                p.grad = Variable(as_array(p.grad.data * scale))


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

    def __call__(self, params):
        frozen = set()
        for layer in self.layers:
            members = [layer] if isinstance(layer, Variable) else layer.params()
            frozen.update(id(p) for p in members)
        for p in params:
            if id(p) in frozen:
                p.grad = None

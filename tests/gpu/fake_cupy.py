"""A NumPy-backed stand-in for CuPy, so that dezero's GPU paths run in tests on a
machine without a GPU.

:func:`make_module` builds a module object that can be installed as
``sys.modules['cupy']``.  Its :class:`ndarray` wraps a NumPy array but is not a
``numpy.ndarray`` subclass, so it behaves towards dezero like a CuPy array:

- NumPy ufuncs and array functions called on it (NEP 13/18) compute on the wrapped
  arrays and wrap the results, as CuPy's do;
- mixing it with a plain ``numpy.ndarray`` in one operation raises TypeError, as CuPy
  does (NumPy scalars and Python numbers are fine);
- ``numpy.asarray(x)`` and every other implicit conversion to NumPy raise TypeError
  ("Implicit conversion to a NumPy array is not allowed"), so a silent device-to-host
  copy inside dezero is caught; ``x.get()`` is the explicit copy;
- reductions and full integer indexing give 0-d arrays, not NumPy scalars, as CuPy does.

Module-level names (``cupy.zeros``, ``cupy.exp``, ``cupy.add.at``, ``cupy.random.randn``,
``cupy.lib.stride_tricks.as_strided``...) forward to NumPy and wrap array results;
``cupy.cuda.runtime.getDeviceCount()`` returns 1.

Where the real CuPy is installed (it imports without a GPU), every name dezero reaches
through the stand-in (``cupy.exp``, ``cupy.add.at``, ``ndarray.fill``, a NumPy function
dispatched to it...) must exist in the real CuPy too, or the stand-in raises
AttributeError: so a NumPy function CuPy lacks is caught on such a machine.

What it cannot catch: a CuPy function that differs from NumPy's in its arguments or in
corner cases, device memory, streams and synchronisation, and speed.  It accepts NumPy
index arrays and NumPy values in ``x[...] = value`` as CuPy does.
"""

import sys
import types

import numpy as np

try:  # only to look up names: needs no GPU
    import cupy as _real_cupy
except Exception:  # not installed, or broken: no name checks
    _real_cupy = None

#: Functions that copy host data to the device: they accept NumPy arrays.
_TRANSFERS = {'asarray', 'array', 'asanyarray', 'ascontiguousarray'}


def _unwrap(obj, strict, who):
    """``obj`` with every fake array replaced by its NumPy array (inside tuples, lists
    and dicts too).  With ``strict``, a plain NumPy array raises TypeError."""
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, np.ndarray):
        if strict:
            raise TypeError(
                f'{who}: unsupported type {type(obj)} (a NumPy array mixed with device arrays)'
            )
        return obj
    if isinstance(obj, (tuple, list)):
        return type(obj)(_unwrap(o, strict, who) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, strict, who) for k, v in obj.items()}
    return obj


def _wrap(obj):
    """NumPy arrays and scalars in ``obj`` (inside tuples and lists too) wrapped as
    fake device arrays; everything else as it is."""
    if isinstance(obj, (np.ndarray, np.generic)):
        return ndarray._of(np.asarray(obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_wrap(o) for o in obj)
    return obj


def _require(path):
    """Raise AttributeError when the real CuPy is installed and has no ``cupy.<path>``
    (``'exp'``, ``'random.randn'``, ``'add.at'``, ``'ndarray.fill'``)."""
    if _real_cupy is None:
        return
    obj = _real_cupy
    for part in path.split('.'):
        if not hasattr(obj, part):
            raise AttributeError(f'the real CuPy ({_real_cupy.__version__}) has no cupy.{path}')
        obj = getattr(obj, part)


def _forward(fn, who, strict=True):
    """``fn`` taking and giving fake device arrays, computing with NumPy."""

    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args, strict, who), **_unwrap(kwargs, strict, who)))

    call.__name__ = getattr(fn, '__name__', who)
    return call


class ndarray(np.lib.mixins.NDArrayOperatorsMixin):
    """A device array: a NumPy array behind CuPy's rules (see the module docstring).
    The operators come from NumPy's mixin, through :meth:`__array_ufunc__`."""

    __slots__ = ('_a',)
    __hash__ = None

    def __init__(self, shape, dtype=float, order='C'):
        self._a = np.empty(shape, dtype, order=order)

    @classmethod
    def _of(cls, a):
        x = object.__new__(cls)
        x._a = a
        return x

    # ---- NEP 13 / 18 -----------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for x in inputs + tuple(kwargs.get('out', ())):
            if not isinstance(
                x,
                (
                    ndarray,
                    np.ndarray,
                    np.generic,
                    int,
                    float,
                    complex,
                    bool,
                    tuple,
                    list,
                    slice,
                    type(None),
                ),
            ):
                return NotImplemented  # e.g. a Variable: let it handle this
        who = f'{ufunc.__name__}.{method}' if method != '__call__' else ufunc.__name__
        out = kwargs.get('out')
        args = _unwrap(inputs, True, who)
        kwargs = _unwrap(kwargs, True, who)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return None if method == 'at' else _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        who = func.__name__
        module = func.__module__ or 'numpy'
        if module.startswith('numpy'):
            _require('.'.join(module.split('.')[1:] + [who]))
        return _wrap(func(*_unwrap(args, True, who), **_unwrap(kwargs, True, who)))

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            'Implicit conversion to a NumPy array is not allowed. '
            'Please use `.get()` to construct a NumPy array explicitly.'
        )

    # ---- explicit transfers ----------------------------------------------------------
    def get(self, stream=None, order='C', out=None):
        """A NumPy copy of the data (CuPy's device-to-host copy)."""
        return self._a.copy()

    def set(self, arr):
        self._a[...] = arr

    # ---- attributes, methods, indexing -----------------------------------------------
    def __getattr__(self, name):
        if name.startswith('__'):  # __array_interface__ and the like
            raise AttributeError(name)
        _require(f'ndarray.{name}')
        value = getattr(self._a, name)
        if callable(value):
            return _forward(value, f'ndarray.{name}')
        return _wrap(value)

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key, False, 'ndarray.__getitem__')])

    def __setitem__(self, key, value):
        self._a[_unwrap(key, False, '__setitem__')] = _unwrap(value, False, '__setitem__')

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (ndarray._of(np.asarray(row)) for row in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __repr__(self):
        return repr(self._a).replace('array', 'fake_cupy.array', 1)

    __str__ = __repr__

    def __copy__(self):
        return ndarray._of(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray._of(self._a.copy())

    def __reduce__(self):  # pickling goes through the host
        return (_from_host, (self._a,))


def _from_host(a):
    return ndarray._of(np.array(a))


class _Ufunc:
    """A NumPy ufunc whose calls and methods (``at``, ``reduce``...) take and give fake
    device arrays and refuse NumPy arrays."""

    def __init__(self, ufunc):
        self._u = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return getattr(np, self.__name__)(*_check_device(args, self.__name__), **kwargs)

    def __getattr__(self, name):
        _require(f'{self.__name__}.{name}')
        method = getattr(self._u, name)
        if not callable(method):
            return method
        return lambda *args, **kwargs: method(*_check_device(args, self.__name__), **kwargs)


def _check_device(args, who):
    """``args``, as they are, after checking that no NumPy array is among them (a cupy
    ufunc refuses them); Python and NumPy scalars alone give a 0-d device array."""
    _unwrap(args, True, who)
    if not any(isinstance(a, ndarray) for a in args):
        args = (_wrap(np.asarray(args[0])),) + tuple(args[1:])
    return args


class _Namespace(types.ModuleType):
    """A submodule (``random``, ``lib.stride_tricks``) forwarding to a NumPy one."""

    def __init__(self, name, target):
        super().__init__(name)
        self._target = target

    def __getattr__(self, name):
        _require(f'{self.__name__[len("cupy.") :]}.{name}')
        value = getattr(self._target, name)
        if isinstance(value, types.ModuleType):
            return _Namespace(f'{self.__name__}.{name}', value)
        if callable(value) and not isinstance(value, type):
            return _forward(value, f'{self.__name__}.{name}')
        return value


class _FakeCupy(types.ModuleType):
    """The module: ``cupy.<name>`` forwards to ``numpy.<name>``."""

    def __getattr__(self, name):
        _require(name)
        value = getattr(np, name)
        if isinstance(value, np.ufunc):
            return _Ufunc(value)
        if isinstance(value, types.ModuleType):
            return _Namespace(f'cupy.{name}', value)
        if callable(value) and not isinstance(value, type):
            return _forward(value, f'cupy.{name}', strict=name not in _TRANSFERS)
        return value


def _as_strided(x, shape=None, strides=None):
    """cupy.lib.stride_tricks.as_strided: CuPy's takes no ``writeable`` or ``subok``."""
    _check_device((x,), 'as_strided')
    return _wrap(np.lib.stride_tricks.as_strided(x._a, shape=shape, strides=strides))


def make_module():
    """A fresh fake ``cupy`` module."""
    cp = _FakeCupy('cupy')
    cp.__doc__ = __doc__
    cp.ndarray = ndarray
    cp.random = _Namespace('cupy.random', np.random)
    cp.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))
    cp.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    cp.asnumpy = lambda x: x.get() if isinstance(x, ndarray) else np.asarray(x)
    cp.get_array_module = lambda *xs: cp if any(isinstance(x, ndarray) for x in xs) else np
    return cp


def install(monkeypatch):
    """Install a fresh fake as ``sys.modules['cupy']`` for one test (``monkeypatch``
    restores everything afterwards) and make ``dezero.cuda`` load it; return it."""
    from dezero import cuda

    cp = make_module()
    monkeypatch.setitem(sys.modules, 'cupy', cp)
    monkeypatch.setattr(cuda, '_cupy', None)
    monkeypatch.setattr(cuda, '_cupy_problem', None)
    monkeypatch.setattr(cuda, 'array_types', (np.ndarray,))
    assert cuda.require_gpu('fake_cupy.install') is cp
    return cp

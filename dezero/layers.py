"""Layers: objects that hold Parameters (and other layers) and compute with them.

A :class:`Layer` registers every attribute that is a :class:`~dezero.core.Parameter` or
a Layer when it is assigned, in the order of definition, so its parameters are always
visited in the same order.  It can save them to an ``.npz`` file and load them back.

Concrete layers: :class:`Linear` (fully connected) and :class:`BatchNorm`.  Both create
their parameters lazily, on the first call, from the shape of the input.
"""
import zipfile
import zlib

import numpy as np

import dezero.functions as F
from dezero.atomic import atomic_open
from dezero.core import Parameter, as_variable


class Layer:
    """A container of Parameters and sub-layers with a ``forward`` computation.

    Assigning a Parameter or a Layer to an attribute registers it under that name;
    re-assigning the name keeps its place, and assigning anything else (or deleting the
    attribute) unregisters it.  Calling the layer calls ``forward(*inputs)``.
    """

    def __init__(self):
        self.__dict__.setdefault('_names', {})

    def __setattr__(self, name, value):
        names = self.__dict__.setdefault('_names', {})   # ordered: a dict used as a set
        if isinstance(value, (Parameter, Layer)):
            names.setdefault(name, None)
        else:
            names.pop(name, None)
        super().__setattr__(name, value)

    def __delattr__(self, name):
        self.__dict__.get('_names', {}).pop(name, None)
        super().__delattr__(name)

    def __call__(self, *inputs):
        return self.forward(*inputs)

    def forward(self, *inputs):
        raise NotImplementedError(f'{type(self).__name__} does not define forward()')

    # ---- parameters ------------------------------------------------------------------
    def named_params(self):
        """Yield ``(path, parameter)`` for every Parameter of this layer and its
        sub-layers, depth first in definition order; the path joins the attribute
        names with ``/`` (``'l0/W'``).  A parameter or layer reachable by several paths
        is visited once, under the first path.
        """
        seen = {id(self)}
        stack = [self._members('')]
        while stack:
            for path, obj in stack[-1]:
                if id(obj) in seen:
                    continue
                seen.add(id(obj))
                if isinstance(obj, Layer):
                    stack.append(obj._members(path + '/'))
                    break
                yield path, obj
            else:
                stack.pop()

    def _members(self, prefix):
        """An iterator over ``(prefix + name, value)`` of the registered attributes."""
        return iter([(prefix + name, self.__dict__[name]) for name in self._names])

    def params(self):
        """Yield every Parameter of this layer and its sub-layers, each once, in
        definition order: the order of :meth:`named_params`, without building the
        paths (optimizers call this every step)."""
        seen = {id(self)}
        stack = [iter([self.__dict__[name] for name in self._names])]
        while stack:
            for obj in stack[-1]:
                if id(obj) in seen:
                    continue
                seen.add(id(obj))
                if isinstance(obj, Layer):
                    stack.append(iter([obj.__dict__[name] for name in obj._names]))
                    break
                yield obj
            else:
                stack.pop()

    def cleargrads(self):
        """Forget the gradients of every parameter."""
        for param in self.params():
            param.cleargrad()

    def to_cpu(self):
        """Move every parameter's data to the CPU (a no-op for NumPy data)."""
        for param in self.params():
            param.to_cpu()

    def to_gpu(self):
        """Move every parameter's data to the GPU; raises while CuPy is unsupported."""
        for param in self.params():
            param.to_gpu()

    # ---- files -----------------------------------------------------------------------
    def save_weights(self, path):
        """Write the initialised parameters to the ``.npz`` file at exactly ``path``.

        Keys are the parameter paths of :meth:`named_params` (``'l0/W'``).  Parameters
        that have no data yet (a lazy layer never called) are left out.  The file
        appears whole or not at all: if writing fails or is interrupted, a previous
        file at ``path`` is left untouched.
        """
        arrays = {name: param.data for name, param in self.named_params()
                  if param.data is not None}
        with atomic_open(path, 'wb') as f:
            _write_npz(f, arrays)

    def load_weights(self, path):
        """Set the parameters from an ``.npz`` file written by :meth:`save_weights`.

        Every key and shape is checked before anything is assigned: a parameter missing
        from the file, a key the model has no parameter for, or a shape that differs
        raises ValueError, as does a file that is not a readable ``.npz`` archive (a
        missing file raises FileNotFoundError); the model is then left exactly as it
        was.  Initialised parameters keep their dtype (the values are cast); a
        parameter with no data yet takes the file's array, and one with no data that
        the file lacks stays without data.  The parameters receive copies independent
        of the file and of each other.
        """
        stored = _read_npz(path)
        updates = []
        for name, param in self.named_params():
            if name not in stored:
                if param.data is None:
                    continue
                raise ValueError(
                    f'load_weights: {path} has no entry for the parameter {name!r} '
                    f'(shape {param.data.shape})')
            array = stored.pop(name)
            if array.dtype.kind not in 'biuf':
                raise ValueError(
                    f'load_weights: the entry for the parameter {name!r} in {path} has '
                    f'dtype {array.dtype}; expected real numbers')
            if param.data is None:
                updates.append((param, array.copy()))
                continue
            if array.shape != param.data.shape:
                raise ValueError(
                    f'load_weights: the parameter {name!r} has shape {param.data.shape} '
                    f'but {path} holds shape {array.shape} for it')
            updates.append((param, array.astype(param.data.dtype)))
        if stored:
            raise ValueError(
                f'load_weights: {path} has entries for which the model has no parameter: '
                f'{", ".join(repr(k) for k in stored)}')
        for param, array in updates:
            param.data = array


def _write_npz(f, arrays):
    """Write ``arrays`` (name -> array) to the open binary file ``f`` as an ``.npz``
    archive, the format of ``np.savez`` (done by hand so that any name is a valid key,
    even ``file``)."""
    with zipfile.ZipFile(f, mode='w', compression=zipfile.ZIP_STORED,
                         allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + '.npy', mode='w', force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asarray(array), allow_pickle=False)


def _read_npz(path):
    """Read every array of the ``.npz`` file at ``path`` into a dict (name -> array).

    A file that cannot be read as an ``.npz`` archive of plain arrays raises ValueError;
    a missing file raises FileNotFoundError.
    """
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f'load_weights: no such file: {path}') from None
    except (ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f'load_weights: cannot read {path} as an .npz archive of '
                         f'weights ({type(e).__name__}: {e})') from e
    if isinstance(loaded, np.ndarray):
        raise ValueError(f'load_weights: {path} holds a single .npy array, not an .npz '
                         f'archive of weights')
    try:
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise ValueError(f'load_weights: cannot read {path} as an .npz archive of '
                         f'weights ({type(e).__name__}: {e})') from e


def _check_size(layer, what, value):
    """Return ``value`` as an int; raise unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f'{layer}: {what} must be a positive integer, got '
                        f'{type(value).__name__} {value!r}')
    if value < 1:
        raise ValueError(f'{layer}: {what} must be a positive integer, got {value!r}')
    return int(value)


class Linear(Layer):
    """A fully connected layer: ``y = x @ W + b`` (see :func:`dezero.functions.linear`).

    ``W`` has shape ``(in_size, out_size)``; when ``in_size`` is None it is created on
    the first call from the input's width (``x.shape[1]`` for a batch of shape
    ``(N, width)``; a single sample of shape ``(width,)`` works too).  It is drawn from
    a normal distribution with standard deviation ``sqrt(1 / in_size)`` using NumPy's
    global random generator (so ``np.random.seed`` makes it reproducible) and cast to
    ``dtype``.  ``b`` is ``zeros(out_size)`` of ``dtype``, or absent when ``nobias``.
    """

    def __init__(self, out_size, nobias=False, dtype=np.float32, in_size=None):
        super().__init__()
        self.out_size = _check_size('Linear', 'out_size', out_size)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != 'f':
            raise ValueError(f'Linear: dtype must be a floating-point type, got '
                             f'{self.dtype}')
        self.W = Parameter(None, name='W')
        if in_size is not None:
            self._init_W(_check_size('Linear', 'in_size', in_size))
        self.b = None if nobias else Parameter(np.zeros(self.out_size, self.dtype),
                                               name='b')

    @property
    def in_size(self):
        """The input width: W's first dimension, or None before W is created."""
        return None if self.W.data is None else self.W.data.shape[0]

    def _init_W(self, in_size):
        scale = (1.0 / in_size) ** 0.5
        W = np.random.randn(in_size, self.out_size) * scale
        self.W.data = W.astype(self.dtype)

    def forward(self, x):
        # x stays as given: F.linear skips the gradient of a plain array
        if not hasattr(x, 'ndim'):
            x = as_variable(x)
        if x.ndim not in (1, 2):
            raise ValueError(f'Linear: expected an input of shape (batch, width) or '
                             f'(width,), got shape {x.shape}')
        width = x.shape[-1]
        if self.W.data is None:
            self._init_W(width)
        elif width != self.W.data.shape[0]:
            raise ValueError(f'Linear: the input has width {width} (shape {x.shape}) but '
                             f'this layer expects width {self.W.data.shape[0]} '
                             f'(W has shape {self.W.data.shape})')
        return F.linear(x, self.W, self.b)


class BatchNorm(Layer):
    """Batch normalisation over axis 1 (see :func:`dezero.functions.batch_norm`).

    ``gamma`` (ones) and ``beta`` (zeros) are learnt; ``avg_mean`` (zeros) and
    ``avg_var`` (ones) are the running statistics, updated during training and used
    under :func:`dezero.test_mode`.  All four are created on the first call with the
    input's channel count ``x.shape[1]`` and dtype.  The running statistics are
    Parameters so that save/load_weights keep them; they never receive gradients, so
    optimizers leave them alone.
    """

    def __init__(self):
        super().__init__()
        self.avg_mean = Parameter(None, name='avg_mean')
        self.avg_var = Parameter(None, name='avg_var')
        self.gamma = Parameter(None, name='gamma')
        self.beta = Parameter(None, name='beta')

    def forward(self, x):
        x = as_variable(x)
        if x.ndim < 2:
            raise ValueError(f'BatchNorm: expected an input of shape (batch, channels, '
                             f'...), got shape {x.shape}')
        channels = x.shape[1]
        for param, fill in ((self.avg_mean, 0.0), (self.avg_var, 1.0),
                            (self.gamma, 1.0), (self.beta, 0.0)):
            if param.data is None:
                param.data = np.full(channels, fill, x.dtype)
            elif param.data.shape != (channels,):
                raise ValueError(f'BatchNorm: the input has {channels} channels (shape '
                                 f'{x.shape}) but {param.name} has shape '
                                 f'{param.data.shape}')
        return F.batch_norm(x, self.gamma, self.beta, self.avg_mean.data,
                            self.avg_var.data)

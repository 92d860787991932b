import collections
import copy
import io
import os
import pickle
import re
import subprocess
import sys
import textwrap
import threading
import types
import warnings
import weakref
import zipfile

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Parameter, Variable, cuda
import dezero.layers
from dezero.layers import BatchNorm, Layer, LayerNorm, Linear
from dezero.optimizers import SGD
from dezero.utils import gradient_check


def param(*values, name=None):
    return Parameter(np.array(values, dtype=np.float64), name=name)


class Two(Layer):
    """Two Linear layers, l0 then l1, with fixed in_size so every weight exists."""

    def __init__(self, sizes=(3, 4, 2), dtype=np.float32):
        super().__init__()
        self.l0 = Linear(sizes[1], in_size=sizes[0], dtype=dtype)
        self.l1 = Linear(sizes[2], in_size=sizes[1], dtype=dtype)

    def forward(self, x):
        return self.l1(F.sigmoid(self.l0(x)))


def names(layer):
    return [name for name, _ in layer.named_params()]


def snapshot(layer):
    """(parameter object, its data object, a copy of the values) for every parameter."""
    return [(p, p.data, None if p.data is None else p.data.copy()) for p in layer.params()]


def assert_unchanged(layer, snap):
    now = list(layer.params())
    assert now == [p for p, _, _ in snap]
    for p, data, values in snap:
        assert p.data is data
        if values is not None:
            assert p.data.dtype == values.dtype
            np.testing.assert_array_equal(p.data, values)


# --------------------------------------------------------------------------------------
# Layer: registration and parameter order
# --------------------------------------------------------------------------------------
def test_params_come_in_definition_order():
    layer = Layer()
    defined = [f'p{i}' for i in (7, 3, 11, 0, 5, 9, 1, 12, 4, 8, 2, 10, 6)]
    for name in defined:
        setattr(layer, name, param(0.0))
    assert names(layer) == defined
    assert [p for p in layer.params()] == [getattr(layer, n) for n in defined]


def test_sub_layers_are_visited_depth_first_with_slash_paths():
    inner = Layer()
    inner.W = param(1.0)
    inner.b = param(2.0)
    outer = Layer()
    outer.a = param(0.0)
    outer.inner = inner
    outer.z = param(3.0)
    assert names(outer) == ['a', 'inner/W', 'inner/b', 'z']
    assert [float(p.data[0]) for p in outer.params()] == [0.0, 1.0, 2.0, 3.0]


def test_reassigning_keeps_place_and_deleting_unregisters():
    layer = Layer()
    layer.a, layer.b, layer.c = param(1.0), param(2.0), param(3.0)
    new_a = param(4.0)
    layer.a = new_a
    assert names(layer) == ['a', 'b', 'c']
    assert next(layer.params()) is new_a
    del layer.b
    assert names(layer) == ['a', 'c']
    layer.b = param(5.0)  # comes back, now at the end
    assert names(layer) == ['a', 'c', 'b']
    del layer.c
    assert names(layer) == ['a', 'b']
    layer.x = Variable(np.array(1.0))  # a plain Variable is not a parameter
    layer.n = 3
    assert names(layer) == ['a', 'b']


def test_order_is_the_same_in_fresh_processes():
    script = textwrap.dedent("""
        import numpy as np
        from dezero import Parameter
        from dezero.layers import Layer, Linear
        layer = Layer()
        for i in range(30):
            setattr(layer, 'p%d' % ((i * 7) % 30), Parameter(np.zeros(1)))
            if i % 10 == 0:
                setattr(layer, 'l%d' % i, Linear(2, in_size=1))
        print(' '.join(name for name, _ in layer.named_params()))
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outputs = []
    for seed in ('1', '2'):
        path = os.pathsep.join(filter(None, [root, os.environ.get('PYTHONPATH')]))
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=path)
        out = subprocess.run(
            [sys.executable, '-c', script],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        outputs.append(out)
    expected = []
    for i in range(30):
        expected.append(f'p{(i * 7) % 30}')
        if i % 10 == 0:
            expected += [f'l{i}/W', f'l{i}/b']
    assert outputs[0] == outputs[1] == expected


def test_shared_parameter_and_layer_are_listed_once():
    shared = Linear(2, in_size=2)
    w = param(1.0)
    outer = Layer()
    outer.first = shared
    outer.w = w
    outer.second = shared
    outer.alias = w
    inner = Layer()
    inner.again = shared
    inner.w = w
    outer.inner = inner
    assert names(outer) == ['first/W', 'first/b', 'w']
    assert list(outer.params()) == [shared.W, shared.b, w]


def test_params_and_named_params_agree_on_a_nested_model():
    inner = Layer()
    inner.a = param(1.0)
    inner.deep = Linear(2, in_size=3)
    inner.b = param(2.0)
    outer = Layer()
    outer.x = param(3.0)
    outer.inner = inner
    outer.again = inner.deep
    outer.y = param(4.0)
    assert names(outer) == ['x', 'inner/a', 'inner/deep/W', 'inner/deep/b', 'inner/b', 'y']
    assert list(outer.params()) == [p for _, p in outer.named_params()]


def test_layer_that_contains_itself_does_not_loop():
    layer = Layer()
    layer.p = param(1.0)
    layer.me = layer
    assert names(layer) == ['p']


def test_shared_layer_accumulates_gradients_from_both_uses():
    np.random.seed(0)
    shared = Linear(2, in_size=2, dtype=np.float64)

    class Twice(Layer):
        def __init__(self):
            super().__init__()
            self.a = shared
            self.b = shared

        def forward(self, x):
            return self.b(self.a(x))

    model = Twice()
    assert names(model) == ['a/W', 'a/b']
    W = shared.W.data.copy()
    shared.b.data = np.array([0.5, -1.0])
    x = np.array([[1.0, 2.0]])
    y = model(x)
    F.sum(y).backward()
    h = x @ W + shared.b.data  # first use
    gy = np.ones((1, 2))
    gh = gy @ W.T
    np.testing.assert_allclose(shared.W.grad.data, x.T @ gh + h.T @ gy, rtol=1e-12)
    np.testing.assert_allclose(shared.b.grad.data, gh.sum(0) + gy.sum(0), rtol=1e-12)


def test_call_returns_what_forward_returns():
    class Pair(Layer):
        def forward(self, a, b):
            return a + b, a * b

    out = Pair()(2, 3)
    assert out == (5, 6)
    with pytest.raises(NotImplementedError, match='Layer'):
        Layer()(1)


def test_call_unwraps_a_tuple_of_one_output_as_the_book_does():
    class One(Layer):
        def forward(self, x):
            return (x * 2,)

    class Three(Layer):
        def forward(self, x):
            return x, x + 1, x + 2

    layer = One()
    x = Variable(np.array([1.0, 2.0]))
    y = layer(x)
    assert isinstance(y, Variable) and y.data.tolist() == [2.0, 4.0]
    assert len(layer.outputs) == 1 and layer.outputs[0]() is y
    three = Three()
    ys = three(x)
    assert type(ys) is tuple and [v.data.tolist() for v in ys] == [[1, 2], [2, 3], [3, 4]]
    assert [ref() for ref in three.outputs] == list(ys)


def test_call_passes_keyword_arguments_to_forward():
    class Scale(Layer):
        def forward(self, x, factor=1.0):
            return x * factor

    layer = Scale()
    x = Variable(np.ones(2))
    assert layer(x, factor=3.0).data.tolist() == [3.0, 3.0]
    assert [ref() for ref in layer.inputs] == [x]  # the positional inputs only
    with pytest.raises(TypeError, match='unexpected keyword'):
        layer(x, size=2)


def test_subclass_that_skips_init_still_registers():
    class NoInit(Layer):
        def __init__(self):
            self.w = param(1.0)

    assert names(NoInit()) == ['w']


def test_cleargrads_clears_every_parameter():
    model = Two()
    F.sum(model(np.ones((2, 3), np.float32))).backward()
    assert all(p.grad is not None for p in model.params())
    model.cleargrads()
    assert all(p.grad is None for p in model.params())


def test_to_cpu_keeps_data_and_to_gpu_raises_cuda_error():
    model = Two()
    snap = snapshot(model)
    model.to_cpu()
    assert_unchanged(model, snap)
    with pytest.raises(RuntimeError, match='CuPy'):
        model.to_gpu()
    assert_unchanged(model, snap)


# --------------------------------------------------------------------------------------
# Linear
# --------------------------------------------------------------------------------------
def test_linear_creates_W_lazily_from_input_width():
    layer = Linear(5)
    assert layer.W.data is None and layer.in_size is None
    assert layer.b.data.dtype == np.float32
    np.testing.assert_array_equal(layer.b.data, np.zeros(5))
    y = layer(np.ones((4, 3), np.float32))
    assert layer.W.shape == (3, 5) and layer.W.dtype == np.float32
    assert layer.in_size == 3
    assert y.shape == (4, 5) and y.dtype == np.float32
    assert names(layer) == ['W', 'b']


def test_linear_initial_weights_are_seeded_and_scaled():
    np.random.seed(3)
    layer = Linear(300)
    layer(np.zeros((1, 400)))
    np.random.seed(3)
    expected = (np.random.randn(400, 300) * np.sqrt(1 / 400)).astype(np.float32)
    np.testing.assert_array_equal(layer.W.data, expected)
    std = float(layer.W.data.std())
    assert abs(std - np.sqrt(1 / 400)) < 0.01 * np.sqrt(1 / 400)
    assert abs(float(layer.W.data.mean())) < 0.01 * np.sqrt(1 / 400)


def test_linear_in_size_creates_W_at_once():
    np.random.seed(1)
    layer = Linear(2, in_size=3, dtype=np.float64)
    assert layer.W.shape == (3, 2) and layer.W.dtype == np.float64
    assert layer.in_size == 3


def test_linear_forward_values_and_gradients():
    layer = Linear(2, in_size=3, dtype=np.float64)
    layer.W.data = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    layer.b.data = np.array([0.5, -0.5])
    x = Variable(np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]))
    y = layer(x)
    np.testing.assert_array_equal(y.data, [[-3.5, -4.5], [5.5, 7.5]])
    F.sum(y).backward()
    np.testing.assert_array_equal(layer.W.grad.data, [[3.0, 3.0], [1.0, 1.0], [-1.0, -1.0]])
    np.testing.assert_array_equal(layer.b.grad.data, [2.0, 2.0])
    np.testing.assert_array_equal(x.grad.data, [[3.0, 7.0, 11.0]] * 2)


def test_linear_gradient_check():
    np.random.seed(0)
    layer = Linear(3, in_size=4, dtype=np.float64)
    layer.b.data = np.random.randn(3)
    x = np.random.randn(5, 4)
    assert gradient_check(lambda v: F.sigmoid(layer(v)), x)


def test_linear_nobias():
    layer = Linear(2, nobias=True, in_size=2, dtype=np.float64)
    assert layer.b is None
    assert names(layer) == ['W']
    layer.W.data = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(layer(np.array([[1.0, 1.0]])).data, [[4.0, 6.0]])


def test_linear_single_sample():
    layer = Linear(2, in_size=2, dtype=np.float64)
    layer.W.data = np.array([[1.0, 2.0], [3.0, 4.0]])
    layer.b.data = np.array([1.0, 1.0])
    np.testing.assert_array_equal(layer(np.array([1.0, 1.0])).data, [5.0, 7.0])


def test_linear_keeps_float32_end_to_end():
    model = Two(dtype=np.float32)
    x = Variable(np.ones((2, 3), np.float32))
    y = model(x)
    assert y.dtype == np.float32
    F.sum(y * 2.0).backward()
    assert x.grad.dtype == np.float32
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.params())


@pytest.mark.parametrize(
    'bad, error',
    [
        (0, ValueError),
        (-2, ValueError),
        (2.5, TypeError),
        (True, TypeError),
        ('3', TypeError),
        (None, TypeError),
    ],
)
def test_linear_rejects_bad_out_size(bad, error):
    with pytest.raises(error, match=r'Linear: out_size must be a positive integer'):
        Linear(bad)


def test_linear_rejects_bad_in_size_and_dtype():
    with pytest.raises(ValueError, match='in_size'):
        Linear(2, in_size=0)
    with pytest.raises(ValueError, match='floating-point.*int32'):
        Linear(2, dtype=np.int32)
    assert Linear(np.int64(2)).out_size == 2


def test_layers_refuse_a_misspelt_dtype_by_name_and_take_none_as_the_default():
    with pytest.raises(TypeError, match=r"Linear: dtype must be a floating-point type .*'flaot32'"):
        Linear(2, dtype='flaot32')
    with pytest.raises(TypeError, match=r'Conv2d: dtype'):
        dezero.layers.Conv2d(2, 3, dtype='half precision')
    assert Linear(2, dtype=None).dtype == np.float32  # as PyTorch's dtype=None


@pytest.mark.parametrize('make', [Linear, lambda **k: dezero.layers.Conv2d(2, 3, **k)])
def test_nobias_must_be_true_or_false(make):
    # any truthy value used to drop the bias, the string 'False' included
    with pytest.raises(TypeError, match=r"nobias must be True or False, got 'False'"):
        make(2, nobias='False') if make is Linear else make(nobias='False')
    layer = make(2, nobias=np.True_) if make is Linear else make(nobias=np.True_)
    assert layer.b is None


# --------------------------------------------------------------------------------------
# _init_W: the book's hook for creating W
# --------------------------------------------------------------------------------------
# W of Linear(3, in_size=4) after np.random.seed(0), as drawn before _init_W took the
# book's signature: seeded code must keep getting these weights.
SEED_0_W = np.array(
    [
        [0.8820262, 0.2000786, 0.489369],
        [1.1204466, 0.933779, -0.48863894],
        [0.47504422, -0.0756786, -0.051609427],
        [0.20529926, 0.07202178, 0.72713673],
    ],
    np.float32,
)


class RampLinear(Linear):
    """The book's way to choose the initial weights: override ``_init_W(self, xp)``,
    read the sizes and dtype from the layer, and assign ``self.W.data``."""

    def _init_W(self, xp=np):
        in_size, out_size = self.in_size, self.out_size
        self.seen = (in_size, xp)
        self.W.data = (xp.arange(in_size * out_size).reshape(in_size, out_size) / 10).astype(
            self.dtype
        )


RAMP_3_2 = np.array([[0.0, 0.1], [0.2, 0.3], [0.4, 0.5]], np.float32)


@pytest.mark.parametrize('eager', [False, True])
def test_a_books_linear_subclass_creates_its_own_W(eager):
    state = np.random.get_state()[1].copy()
    layer = RampLinear(2, in_size=3 if eager else None)
    assert (layer.W.data is not None) == eager
    y = layer(np.ones((1, 3), np.float32))
    assert layer.seen == (3, np) and layer.in_size == 3
    np.testing.assert_array_equal(layer.W.data, RAMP_3_2)
    np.testing.assert_allclose(y.data, [[0.6, 0.9]], rtol=1e-6)
    # only the subclass's _init_W ran: nothing was drawn from the random generator
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize('eager', [False, True])
def test_a_books_linear_subclass_trains_from_its_own_W(eager):
    layer = RampLinear(2, in_size=3 if eager else None)
    optimizer = dezero.optimizers.SGD(lr=0.1).setup(layer)
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    F.sum(layer(x)).backward()  # dloss/dW = x.T @ ones((1, 2))
    optimizer.update()
    np.testing.assert_allclose(layer.W.data, RAMP_3_2 - 0.1 * np.repeat(x.T, 2, axis=1))
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((16, 3)).astype(np.float32)
    ts = xs @ np.array([[1.0, -1.0], [0.5, 2.0], [-2.0, 0.0]], np.float32)
    losses = []
    for _ in range(30):
        layer.cleargrads()
        loss = F.mean_squared_error(layer(xs), ts)
        loss.backward()
        optimizer.update()
        losses.append(float(loss.data))
    assert losses[-1] < losses[0] / 10


def test_a_subclass_may_change_the_default_W_through_super():
    class HalfLinear(Linear):
        def _init_W(self, xp=np):
            super()._init_W(xp)
            self.W.data = self.W.data * 0.5

    np.random.seed(0)
    np.testing.assert_array_equal(HalfLinear(3, in_size=4).W.data, SEED_0_W * 0.5)


def test_linear_seeded_weights_are_those_drawn_before_eagerly_and_lazily():
    np.random.seed(0)
    np.testing.assert_array_equal(Linear(3, in_size=4).W.data, SEED_0_W)
    np.random.seed(0)
    layer = Linear(3)
    layer(np.ones((2, 4), np.float32))
    np.testing.assert_array_equal(layer.W.data, SEED_0_W)


def test_init_W_called_on_a_layer_of_known_size_draws_W_again():
    eager = Linear(3, in_size=4)
    lazy = Linear(3)
    lazy(np.ones((1, 4)))
    for layer in (eager, lazy):
        np.random.seed(0)
        layer._init_W()  # as the book allows
        np.testing.assert_array_equal(layer.W.data, SEED_0_W)
        assert layer.W.dtype == np.float32 and layer.in_size == 4


def test_init_W_before_the_input_size_is_known_says_so():
    layer = Linear(3)
    with pytest.raises(ValueError, match=r'^Linear\._init_W: in_size is not known yet \(None\)'):
        layer._init_W()
    assert layer.W.data is None


def assigning(value):
    """A Linear class whose _init_W assigns ``value`` to W.data (None: assigns nothing)."""

    class Assigning(Linear):
        def _init_W(self, xp=np):
            if value is not None:
                self.W.data = value

    return Assigning


def test_an_init_W_that_leaves_no_W_or_a_wrong_one_is_refused():
    with pytest.raises(ValueError, match=r'^Assigning\._init_W left W\.data None; .*\(4, 3\)'):
        assigning(None)(3, in_size=4)
    with pytest.raises(
        ValueError,
        match=r'^Assigning\._init_W assigned W\.data of shape \(3, 4\); expected shape '
        r'\(4, 3\) for the input size 4',
    ):
        assigning(np.zeros((3, 4), np.float32))(3)(np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match=r'^Assigning\._init_W assigned W\.data of dtype complex64'):
        assigning(np.zeros((4, 3), np.complex64))(3, in_size=4)


def test_an_init_W_of_another_dtype_gives_a_W_of_the_layers_dtype():
    class Float64Linear(Linear):
        def _init_W(self, xp=np):  # the book's code often forgets the dtype
            self.W.data = xp.ones((self.in_size, self.out_size))

    for dtype in (np.float32, np.float16):
        layer = Float64Linear(2, dtype=dtype)
        y = layer(np.ones((1, 3), np.float32))
        assert layer.W.dtype == dtype and y.dtype == dtype
        np.testing.assert_array_equal(y.data, [[3.0, 3.0]])


def test_a_failing_init_W_leaves_the_layer_without_W_and_in_size():
    class Failing(Linear):
        def _init_W(self, xp=np):
            if self.fail:
                raise RuntimeError('no weights today')
            super()._init_W(xp)

    layer = Failing(2)
    layer.fail = True
    with pytest.raises(RuntimeError, match='no weights today'):
        layer(np.ones((1, 3)))
    assert layer.W.data is None and layer.in_size is None
    layer.fail = False
    assert layer(np.ones((1, 5))).shape == (1, 2) and layer.in_size == 5


class HalfDone(Linear):
    """A Linear class whose _init_W assigns W, then fails."""

    def _init_W(self, xp=np):
        super()._init_W(xp)
        raise RuntimeError('no weights today')


@pytest.mark.parametrize(
    'cls, error, message',
    [
        (assigning(np.full((3, 4), 2.0, np.float32)), ValueError, r'of shape \(3, 4\); expected'),
        (assigning(np.ones((4, 4), bool)), TypeError, r'of dtype bool; expected real numbers'),
        (HalfDone, RuntimeError, 'no weights today'),
    ],
)
def test_a_W_that_init_W_assigned_before_failing_is_not_left_on_the_layer(cls, error, message):
    # the refused W stayed: the next call took it for the layer's weights
    layer = cls(4, nobias=True)
    with pytest.raises(error, match=message):
        layer(np.ones((1, 4), np.float32))
    assert layer.W.data is None and layer.in_size is None
    assert layer.W.requires_grad  # (a bool W had made it a constant)


def test_a_W_refused_on_the_first_call_is_made_again_on_the_next():
    layer = assigning(np.full((3, 4), 2.0, np.float32))(4, nobias=True)
    with pytest.raises(ValueError, match=r'expected shape \(4, 4\) for the input size 4'):
        layer(np.ones((1, 4), np.float32))
    # the (3, 4) W assigned for width 4 was kept, and a width-4 call raised again
    with pytest.raises(ValueError, match=r'expected shape \(4, 4\) for the input size 4'):
        layer(np.ones((1, 4), np.float32))
    np.testing.assert_array_equal(layer(np.ones((1, 3), np.float32)).data, [[6.0] * 4])


# --------------------------------------------------------------------------------------
# A first call that raises leaves the layer as it was
# --------------------------------------------------------------------------------------
def random_state_now():
    """NumPy's global random state as (key, position, cached gaussian), comparable."""
    _, key, pos, has_gauss, gauss = np.random.get_state()
    return key.tolist(), pos, has_gauss, gauss


def input_sizes(layer):
    """{path: (in_size, in_channels, size assigned the book's way)} of a layer's tree."""
    layers = [('', layer)] + list(layer._named_sublayers())
    return {
        path: (
            getattr(sub, 'in_size', None),
            getattr(sub, 'in_channels', None),
            vars(sub).get('_size_assigned'),
        )
        for path, sub in layers
    }


def assert_a_failed_first_call_changes_nothing(make, failing_call, x, seed=7):
    """``failing_call(layer)``, which raises, on a new ``make()`` leaves it as it was:
    the parameters without data still without, the input sizes unknown, NumPy's random
    generator where it was; so that ``layer(x)`` then gives the output and the weights
    that a new layer gives after the same seed.  Returns the layer."""
    np.random.seed(seed)
    fresh = make()
    expected = fresh(x)
    np.random.seed(seed)
    layer = make()
    missing = [name for name, p in layer.named_params() if p.data is None]
    sizes, state = input_sizes(layer), random_state_now()
    assert missing  # a lazy layer
    failing_call(layer)
    assert [name for name, p in layer.named_params() if p.data is None] == missing
    assert input_sizes(layer) == sizes and random_state_now() == state
    y = layer(x)
    np.testing.assert_array_equal(y.data, expected.data)
    assert y.dtype == expected.dtype
    assert names(layer) == names(fresh)
    for (name, p), (_, q) in zip(layer.named_params(), fresh.named_params()):
        if q.data is None:  # made on a later call (RNN's h2h)
            assert p.data is None, name
            continue
        assert p.data.dtype == q.data.dtype, name
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    return layer


def raising(error, match, *args):
    """A failing call: ``layer(*args)`` must raise ``error`` matching ``match``."""

    def call(layer):
        with pytest.raises(error, match=match):
            layer(*args)

    return call


def failing_in(target, name, *args):
    """A failing call: ``layer(*args)`` with ``target.name`` (the function the layer
    computes with, after creating its parameters) raising RuntimeError."""

    def fail(*_, **__):
        raise RuntimeError('failed after the parameters were made')

    def call(layer):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(target, name, fail)
            with pytest.raises(RuntimeError, match='after the parameters were made'):
                layer(*args)

    return call


X = np.arange(10, dtype=np.float32).reshape(2, 5) / 10


@pytest.mark.parametrize(
    'make, failing_call',
    [
        # refused by the checks of the input, made before W is drawn
        (lambda: Linear(3), raising(TypeError, 'real numbers', np.array([['a', 'b']]))),
        (
            lambda: Linear(3, dtype=np.float16),
            raising(OverflowError, 'float16', np.array([[7e4, 1.0]])),
        ),
        (lambda: BatchNorm(), raising(ValueError, 'empty batch', np.zeros((0, 3)))),
        (lambda: LayerNorm(), raising(TypeError, 'real numbers', np.array([['a']]))),
        # failing after the parameters were made
        (lambda: Linear(3), failing_in(dezero.layers, 'fitting_linear', X)),
        (lambda: Linear(3, nobias=True), failing_in(dezero.layers, 'fitting_linear', X)),
        (lambda: BatchNorm(), failing_in(F, 'batch_norm', X)),
        (lambda: LayerNorm(), failing_in(F, 'layer_norm', X)),
    ],
    ids=[
        'Linear-text',
        'Linear-float16-overflow',
        'BatchNorm-empty-batch',
        'LayerNorm-text',
        'Linear-after-W',
        'Linear-nobias-after-W',
        'BatchNorm-after-gamma',
        'LayerNorm-after-gamma',
    ],
)
def test_a_first_call_that_raises_leaves_a_lazy_layer_as_it_was(make, failing_call):
    # W was drawn before the input was refused: the layer then refused every input of
    # another width, and the draw moved NumPy's generator, so seeded runs changed
    assert_a_failed_first_call_changes_nothing(make, failing_call, X)


class FailingAfter(Linear):
    """A Linear layer whose calls raise once their output is computed, while ``fail``."""

    fail = False

    def forward(self, x):
        y = super().forward(x)
        if self.fail:
            raise RuntimeError('failed after the output')
        return y


def failing_second_layer(layer):
    """A failing call of a Pair whose l1 is a FailingAfter."""
    layer.l1.fail = True
    with pytest.raises(RuntimeError, match='after the output'):
        layer(X)
    layer.l1.fail = False


class Pair(Layer):
    """Two lazy Linear layers, l0 then l1, with a ReLU between them, and perhaps a call
    of ``between`` after the ReLU."""

    def __init__(self, second=None, between=None):
        super().__init__()
        self.l0 = Linear(4)
        self.l1 = Linear(2) if second is None else second
        self.between = between

    def forward(self, x):
        h = F.relu(self.l0(x))
        if self.between is not None:
            self.between()
        return self.l1(h)


@pytest.mark.parametrize(
    'make, failing_call, x',
    [
        # l0's call ended well, but the model's call raised: l0's W goes too
        (lambda: Pair(), failing_in(F, 'relu', X), X),
        (
            lambda: Pair(Linear(2, dtype=np.float16)),
            raising(OverflowError, 'float16', np.full((2, 5), 1e6, np.float32)),
            X,
        ),
        (lambda: Pair(FailingAfter(2)), failing_second_layer, X),
    ],
    ids=['between-the-layers', 'second-layer-refuses', 'second-layer-fails-after-W'],
)
def test_a_models_first_call_that_raises_leaves_its_lazy_layers_as_they_were(make, failing_call, x):
    layer = assert_a_failed_first_call_changes_nothing(make, failing_call, x)
    assert layer.l0.W.shape == (5, 4) and layer.l1.W.shape == (4, 2)


def test_numbers_drawn_after_a_layers_weights_are_not_drawn_again():
    # putting the generator back to its state before W was drawn would make the
    # numbers drawn since then (here later in the call; or by another thread) come again
    states = []

    def draw():
        np.random.rand()
        states.append(random_state_now())
        raise RuntimeError('failed after a draw')

    model = Pair(between=draw)
    with pytest.raises(RuntimeError, match='after a draw'):
        model(X)
    assert model.l0.W.data is None and model.l0.in_size is None  # undone all the same
    assert random_state_now() == states[0]


def test_a_failed_call_inside_a_call_that_goes_on_undoes_its_own_W_only():
    class Fallback(Layer):
        def __init__(self):
            super().__init__()
            self.l0, self.l1 = Linear(3), FailingAfter(3)

        def forward(self, x):
            y = self.l0(x)
            try:
                return self.l1(x)
            except RuntimeError:
                return y

    np.random.seed(0)
    model = Fallback()
    model.l1.fail = True
    y = model(X)
    assert model.l1.W.data is None and model.l1.in_size is None
    model.l1.fail = False
    z = model.l1(X)  # draws what it would have drawn first
    np.random.seed(0)
    first, second = Linear(3), Linear(3)
    np.testing.assert_array_equal(y.data, first(X).data)
    np.testing.assert_array_equal(z.data, second(X).data)
    np.testing.assert_array_equal(model.l1.W.data, second.W.data)


def test_a_first_call_after_another_takes_the_quick_way_again():
    # the calls after a first call must not pay for what undoes a failed one
    layer = Pair()
    layer(X)
    layer(X)
    assert not dezero.layers._watch.active and dezero.layers._watch.created is None


def test_a_W_another_thread_computed_with_stays_when_the_call_that_made_it_raises():
    # the second thread waits for the W being made and computes with it: the first
    # call's failure must not take it away (the second's next call would draw another)
    inside, go_on, used = threading.Event(), threading.Event(), threading.Event()
    second_began = threading.Event()

    class WaitingLinear(Linear):
        def _init_W(self, xp=np):
            inside.set()
            go_on.wait(10)
            super()._init_W(xp)

        def forward(self, x):
            if threading.current_thread().name == 'second':
                second_began.set()  # W is not made yet: it goes to wait for it
            return super().forward(x)

    class Outer(Layer):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            self.inner(x)
            used.wait(10)
            raise RuntimeError('failed after W was made')

    layer, outputs, errors = WaitingLinear(3), {}, []

    def first():
        try:
            Outer(layer)(X)
        except RuntimeError as e:
            errors.append(e)

    def second():
        outputs['second'] = layer(X).data  # waits for the W being made, and uses it

    threads = [threading.Thread(target=first), threading.Thread(target=second, name='second')]
    threads[0].start()
    assert inside.wait(10)
    threads[1].start()
    assert second_began.wait(10)
    threads[1].join(0.05)
    assert threads[1].is_alive()  # waiting for the W being made
    go_on.set()
    threads[1].join(10)
    used.set()
    threads[0].join(10)
    assert len(errors) == 1 and layer.W.shape == (5, 3)
    np.testing.assert_allclose(outputs['second'], X @ layer.W.data + layer.b.data, rtol=1e-6)


# --------------------------------------------------------------------------------------
# Replacing a parameter: only by another Parameter
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    'value, given',
    [
        (Variable(np.ones((2, 3), np.float32)), 'Variable'),
        (np.ones((2, 3), np.float32), 'ndarray'),
        (None, 'None'),
        (Linear(3), 'Linear'),
        ([Parameter(np.ones((2, 3), np.float32))], 'list'),
    ],
)
def test_replacing_a_parameter_by_something_else_is_refused(value, given):
    layer = Linear(3, in_size=2)
    W = layer.W
    with pytest.raises(TypeError, match=rf"Linear: .*'W'.*{given}.*\.data.*Parameter") as info:
        layer.W = value
    assert 'Linear computes with it, so do not remove it' in str(info.value)  # (not del)
    assert layer.W is W and names(layer) == ['W', 'b']  # nothing changed
    assert list(layer.params()) == [W, layer.b]


def test_replacing_a_parameter_names_the_layer_class_and_attribute():
    model = Two()
    with pytest.raises(TypeError, match=r"Linear: the attribute 'b' holds a Parameter"):
        model.l1.b = np.zeros(2, np.float32)
    layer = Layer()
    layer.scale = param(1.0)
    with pytest.raises(TypeError, match=r"Layer: the attribute 'scale' holds a Parameter.*float"):
        layer.scale = 2.0


def test_a_parameter_may_be_replaced_by_a_parameter_or_deleted():
    layer = Linear(3, in_size=2)
    new_W = Parameter(np.zeros((2, 3), np.float32), name='W')
    layer.W = new_W
    assert names(layer) == ['W', 'b'] and layer.W is new_W
    layer.W.data = np.ones((2, 3), np.float32)  # its values: through .data
    np.testing.assert_array_equal(layer(np.ones((1, 2), np.float32)).data, [[2.0, 2.0, 2.0]])
    del layer.b
    assert names(layer) == ['W']
    layer.b = np.zeros(3)  # no longer a parameter's name: anything goes
    assert names(layer) == ['W']
    layer.b = Parameter(np.zeros(3, np.float32))
    assert names(layer) == ['W', 'b']


def test_other_attributes_take_any_value():
    layer = Layer()
    layer.x = Variable(np.array(1.0))
    layer.x = None
    layer.n = 3
    layer.n = np.zeros(2)
    layer.blocks = []
    layer.blocks = None  # a list holding no layer or parameter
    assert names(layer) == []


class OneLayerNet(dezero.Model):
    def __init__(self):
        super().__init__()
        self.fc = Linear(2)

    def forward(self, x):
        return self.fc(x)


@pytest.mark.parametrize(
    'value, given',
    [
        (np.ones(3), r'a ndarray of shape \(3,\) and dtype float64'),
        (None, 'None'),
        ([Linear(2)], 'a list'),
        (Parameter(np.ones(3)), r'a Parameter of shape \(3,\) and dtype float64'),
    ],
)
def test_replacing_a_layer_by_something_else_is_refused(value, given):
    # n.fc = np.ones(3) was taken: fc's W and b left params(), so no optimizer trained
    # them and save_weights skipped them, without a word
    net = OneLayerNet()
    net(np.ones((1, 3)))
    fc = net.fc
    with pytest.raises(
        TypeError,
        match=rf"OneLayerNet: the attribute 'fc' holds a layer \(Linear\); assigning {given} "
        rf'to it would remove its parameters from params\(\).*assign a Layer; to remove it, '
        rf'use del layer\.fc$',
    ):
        net.fc = value
    assert net.fc is fc and names(net) == ['fc/W', 'fc/b']  # nothing changed


def test_a_layer_may_be_replaced_by_a_layer_or_deleted():
    net = OneLayerNet()
    other = Linear(4)
    net.fc = other
    assert net.fc is other and list(net._params) == ['fc']
    net(np.ones((1, 3)))
    assert list(net.params()) == [other.W, other.b]
    del net.fc
    assert names(net) == []
    net.fc = None  # no longer a layer's name: anything goes
    assert names(net) == []


def test_a_layer_of_dezeros_says_that_it_needs_its_sub_layer():
    from dezero.layers import RNN

    rnn = RNN(3)
    with pytest.raises(TypeError, match=r"RNN: the attribute 'x2h' holds a layer \(Linear\); "):
        rnn.x2h = None
    with pytest.raises(
        TypeError, match=r'assigning an int .*RNN computes with it, so do not remove it'
    ):
        rnn.x2h = 3
    layer = Layer()  # a Layer without forward of its own needs none of its members
    layer.sub = Linear(2)
    with pytest.raises(TypeError, match=r'to remove it, use del layer\.sub$'):
        layer.sub = None


@pytest.mark.parametrize(
    'held, kind',
    [
        ([Linear(2), Linear(3)], 'list'),
        ((Linear(2),), 'tuple'),
        ({'a': Linear(2)}, 'dict'),
        ([[Linear(2)]], 'list'),  # nested
        ([None, (1, Linear(2))], 'list'),
        ([param(1.0)], 'list'),  # parameters too
    ],
)
def test_replacing_a_container_of_layers_by_something_else_is_refused(held, kind):
    layer = Layer()
    layer.blocks = held
    before = list(layer.params())
    for value in (None, np.zeros(2), 'blocks', F.relu, Linear(2)):
        with pytest.raises(
            TypeError,
            match=rf"Layer: the attribute 'blocks' holds a {kind} of layers or parameters; "
            rf'.*assign a list, tuple or dict; to remove it, use del layer\.blocks$',
        ):
            layer.blocks = value
        assert layer.blocks is held and list(layer.params()) == before


def test_a_container_of_layers_may_be_replaced_by_a_container_or_deleted():
    layer = Layer()
    layer.blocks = [Linear(2)]
    layer.blocks = (Linear(3, in_size=1),)
    assert names(layer) == ['blocks/0/W', 'blocks/0/b']
    layer.blocks = {}
    layer.blocks = Linear(4, in_size=1)  # (an empty dict: nothing to lose)
    assert names(layer) == ['blocks/W', 'blocks/b']
    del layer.blocks
    layer.blocks = [Linear(2)]
    del layer.blocks
    layer.blocks = None
    assert names(layer) == []
    cycle = [1]
    cycle.append(cycle)  # a list that holds itself, and no layer
    layer.loop = cycle
    layer.loop = None
    assert names(layer) == []


def test_the_books_ways_of_assigning_layers_keep_working():
    from dezero.layers import LSTM, RNN
    from dezero.models import MLP

    class BookMLP(dezero.Model):  # the book's MLP: setattr in a loop, and a list
        def __init__(self, sizes):
            super().__init__()
            self.layers = []
            for i, size in enumerate(sizes):
                layer = Linear(size)
                setattr(self, 'l' + str(i), layer)
                self.layers.append(layer)

        def forward(self, x):
            for layer in self.layers[:-1]:
                x = F.sigmoid(layer(x))
            return self.layers[-1](x)

    x = np.ones((2, 3), np.float32)
    for model in (BookMLP((4, 2)), MLP((4, 2))):
        assert model(x).shape == (2, 2) and len(list(model.params())) == 4
        model.layers = list(model.layers)  # a list for a list
    for rnn in (RNN(2), LSTM(2)):
        rnn(x)
        rnn(x)
        rnn.reset_state()  # the state: None again
        assert rnn.h is None and rnn(x).shape == (2, 2)


# --------------------------------------------------------------------------------------
# Input dtypes: a layer computes in the dtype of its parameters
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('dtype', [np.int64, np.int32, np.uint8, np.bool_, np.float64, np.float16])
def test_linear_casts_its_input_to_float32(dtype):
    np.random.seed(0)
    layer = Linear(3)
    x = (np.arange(8).reshape(2, 4) % 3).astype(dtype)
    y = layer(x)
    assert y.dtype == np.float32
    F.sum(y).backward()
    assert layer.W.dtype == layer.W.grad.dtype == layer.b.grad.dtype == np.float32
    expected = x.astype(np.float32) @ layer.W.data + layer.b.data
    np.testing.assert_allclose(y.data, expected, rtol=1e-6)


def test_linear_gives_a_float64_input_variable_a_float64_gradient():
    np.random.seed(0)
    layer = Linear(3, in_size=4)
    x = Variable(np.random.randn(2, 4))
    y = layer(x)
    assert y.dtype == np.float32
    F.sum(y * y).backward()
    assert x.grad.dtype == np.float64 and layer.W.grad.dtype == np.float32
    x32 = Variable(x.data.astype(np.float32))
    layer.cleargrads()
    F.sum(layer(x32) * layer(x32)).backward()  # the same computation in float32
    np.testing.assert_allclose(x.grad.data, x32.grad.data, rtol=1e-6)


def test_linear_gives_an_integer_input_variable_a_floating_gradient():
    layer = Linear(2, in_size=3)
    layer.W.data = np.arange(6, dtype=np.float32).reshape(3, 2)
    x = Variable(np.array([[1, 2, 3]]))
    y = layer(x)
    assert y.dtype == np.float32
    F.sum(y).backward()
    assert x.grad.dtype.kind == 'f'
    np.testing.assert_array_equal(x.grad.data, [[1.0, 5.0, 9.0]])


def test_linear_casts_a_single_sample_and_keeps_float64_parameters():
    layer = Linear(2, in_size=3, dtype=np.float64)
    layer.W.data = np.arange(6.0).reshape(3, 2)
    y = layer(np.array([1, 0, 1]))
    assert y.dtype == np.float64 and layer.W.dtype == layer.b.dtype == np.float64
    np.testing.assert_array_equal(y.data, [4.0, 6.0])
    y = layer(Variable(np.ones((2, 3), np.float32)))  # float32 input: up to float64
    assert y.dtype == np.float64 and layer.W.dtype == np.float64


def test_linear_refuses_complex_input():
    with pytest.raises(TypeError, match=r'Linear: .*complex128'):
        Linear(2)(np.ones((1, 3), np.complex128))


def test_float32_input_to_a_float32_layer_is_not_cast(monkeypatch):
    from dezero.functions.array import AsType

    calls = []
    monkeypatch.setattr(AsType, 'forward', lambda self, x: calls.append(x) or x.astype(self.dtype))
    model = Two()
    x = Variable(np.ones((2, 3), np.float32))
    F.sum(model(x)).backward()
    assert calls == []
    model(Variable(np.ones((2, 3))))
    assert len(calls) == 1  # the float64 input, once, at the first layer


def _float32_batch_norm():
    norm = BatchNorm()
    norm(np.ones((2, 3), np.float32))  # its parameters take the dtype of the first input
    return norm


@pytest.mark.parametrize(
    'make, x, words',
    [
        (
            lambda: Linear(2, dtype=np.float16),
            np.array([[70000.0, 1.0]]),
            r'Linear: .*70000\.0.*float16',
        ),
        (lambda: Linear(2), Variable(np.array([[1.0, -1e39]])), r'Linear: .*-1e\+39.*float32'),
        (
            lambda: Linear(2, dtype=np.float16),
            np.array([[1, 100_000]], np.int32),
            r'Linear: .*100000.*float16',
        ),
        (
            lambda: dezero.layers.LayerNorm(dtype=np.float16),
            np.full((2, 4), 1e6),
            r'LayerNorm: .*1000000\.0.*float16',
        ),
        (_float32_batch_norm, np.full((2, 3), 1e300), r'BatchNorm: .*1e\+300.*float32'),
    ],
)
def test_layers_refuse_an_input_that_their_dtype_cannot_hold(make, x, words):
    # the cast made it infinite, and the layer returned -inf and nan with only NumPy's
    # warning about a cast
    layer = make()
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # and no warning from NumPy's cast
        with pytest.raises(OverflowError, match=words):
            layer(x)


def test_layers_pass_infinite_and_nan_inputs_and_values_that_fit():
    layer = Linear(2, in_size=2, dtype=np.float16)
    with np.errstate(invalid='ignore'):
        y = layer(np.array([[np.inf, 1.0], [np.nan, 0.0]]))
    assert y.dtype == np.float16 and not np.isfinite(y.data).any()
    layer.W.data = np.ones((2, 2), np.float16)
    y = layer(np.array([[65504.0, -65519.0]]))  # -65519 rounds to -65504
    np.testing.assert_array_equal(y.data, [[0.0, 0.0]])
    y = Linear(2, in_size=2)(np.array([[1e38, np.nan]]))  # float64 that float32 holds
    assert y.dtype == np.float32


def test_batch_norm_casts_its_input_to_the_dtype_of_its_parameters():
    bn = BatchNorm()
    y = bn(np.arange(6).reshape(2, 3))  # integer input: float32 parameters
    assert y.dtype == np.float32 and all(p.dtype == np.float32 for p in bn.params())
    x = Variable(batch(dtype=np.float64))
    y = bn(x)
    assert y.dtype == np.float32
    F.sum(y * y).backward()
    assert x.grad.dtype == np.float64 and bn.gamma.grad.dtype == np.float32
    assert all(p.dtype == np.float32 for p in bn.params())


# --------------------------------------------------------------------------------------
# BatchNorm with one value per channel
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('shape', [(1, 3), (1, 3, 1, 1)])
def test_batch_norm_takes_one_value_per_channel_in_training_as_the_book_does(shape):
    # the book's GAN example sets its layers up with a batch of one: the values are
    # normalised to 0, the output is beta, x gets no gradient, and the running
    # statistics move as the book's do (the variance's unbiased factor m / (m - 1)
    # taken as 1)
    bn = BatchNorm()
    x = Variable(batch(shape) + 1)
    with pytest.warns(RuntimeWarning, match=r'batch_norm: one value per channel when training'):
        y = bn(x)
    np.testing.assert_array_equal(y.data, np.zeros(shape, np.float32))  # beta
    F.sum(y * batch(shape, seed=2)).backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(shape))
    np.testing.assert_allclose(bn.avg_mean.data, 0.1 * x.data.reshape(3), rtol=1e-6)
    np.testing.assert_allclose(bn.avg_var.data, np.full(3, 0.9), rtol=1e-6)


def test_a_books_gan_generator_sets_up_with_a_batch_of_one():
    gen = dezero.models.Sequential(Linear(8), BatchNorm(), Linear(4))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)
        out = gen(np.random.rand(1, 5))
    assert out.shape == (1, 4) and np.all(np.isfinite(out.data))


def test_batch_norm_on_a_batch_of_one_works_in_test_mode():
    bn = BatchNorm()
    bn(batch((8, 3)))
    x = batch((1, 3), seed=1)
    with dezero.test_mode():
        y = bn(x)
    std = np.sqrt(bn.avg_var.data + 2e-5)
    np.testing.assert_allclose(y.data, (x - bn.avg_mean.data) / std, rtol=1e-5)
    assert np.all(y.data != 0)
    assert bn(batch((1, 3, 2, 1))).shape == (1, 3, 2, 1)  # two values per channel: fine


def test_linear_rejects_input_of_other_width():
    layer = Linear(2)
    layer(np.zeros((1, 3)))
    with pytest.raises(
        ValueError,
        match=r'Linear: the input has width 4 .*expects '
        r'width 3',
    ):
        layer(np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r'Linear: expected an input .*\(2, 1, 3\)'):
        layer(np.zeros((2, 1, 3)))


def test_linear_rejects_a_bias_replaced_by_one_of_another_shape():
    layer = Linear(2)
    layer(np.zeros((1, 3)))
    layer.b.data = np.zeros(1)  # would broadcast silently
    for x in (np.zeros((4, 3)), np.zeros(3), Variable(np.zeros((4, 3)))):
        with pytest.raises(
            ValueError, match=r'Linear: b has shape \(1,\) but W has shape \(3, 2\)'
        ):
            layer(x)


def test_linear_gives_the_same_results_on_every_kind_of_input():
    layer = Linear(2)
    x = np.random.default_rng(0).standard_normal((4, 3))
    want = x.astype(np.float32) @ layer(x).creator.inputs[1].data + layer.b.data
    for given in (x, Variable(x), Parameter(x)):
        np.testing.assert_allclose(layer(given).data, want, rtol=1e-6)
    np.testing.assert_allclose(layer(x[0]).data, want[0], rtol=1e-6)  # one sample


# --------------------------------------------------------------------------------------
# save_weights / load_weights
# --------------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    """A trained-looking model (random weights, non-zero biases) saved to a file."""
    np.random.seed(0)
    model = Two()
    for p in model.params():
        p.data = np.random.randn(*p.shape).astype(np.float32)
    path = tmp_path / 'w.npz'
    model.save_weights(path)
    return model, path


def test_save_writes_slash_keys_in_order_adding_npz_as_numpy_does(tmp_path):
    model = Two()
    path = tmp_path / 'weights'  # no .npz suffix: added, as np.savez and the book do
    model.save_weights(str(path))
    assert os.listdir(tmp_path) == ['weights.npz']
    with np.load(tmp_path / 'weights.npz') as f:
        assert f.files == ['l0/W', 'l0/b', 'l1/W', 'l1/b']
        for name, p in model.named_params():
            np.testing.assert_array_equal(f[name], p.data)
            assert f[name].dtype == np.float32


def test_save_leaves_out_uninitialised_parameters(tmp_path):
    class Lazy(Layer):
        def __init__(self):
            super().__init__()
            self.l0 = Linear(3)
            self.l1 = Linear(1, nobias=True)

    path = tmp_path / 'lazy.npz'
    Lazy().save_weights(path)
    with np.load(path) as f:
        assert f.files == ['l0/b']


def test_round_trip_restores_outputs_exactly(saved):
    model, path = saved
    x = np.random.randn(5, 3).astype(np.float32)
    expected = model(x).data
    fresh = Two()  # different random weights
    assert not np.array_equal(fresh(x).data, expected)
    fresh.load_weights(path)
    np.testing.assert_array_equal(fresh(x).data, expected)
    for (n1, p1), (n2, p2) in zip(model.named_params(), fresh.named_params()):
        assert n1 == n2 and p2.data.dtype == np.float32
        np.testing.assert_array_equal(p1.data, p2.data)


def test_lazy_layers_take_the_files_arrays(saved):
    model, path = saved

    class LazyTwo(Two):
        def __init__(self):
            Layer.__init__(self)
            self.l0 = Linear(4)
            self.l1 = Linear(2)

    lazy = LazyTwo()
    lazy.load_weights(path)
    assert lazy.l0.in_size == 3
    x = np.random.randn(2, 3).astype(np.float32)
    np.testing.assert_array_equal(lazy(x).data, model(x).data)


def test_a_file_saved_before_first_call_loads_into_a_fresh_model(tmp_path):
    path = tmp_path / 'fresh.npz'
    Linear(3).save_weights(path)
    layer = Linear(3)
    layer.load_weights(path)
    assert layer.W.data is None
    np.testing.assert_array_equal(layer.b.data, np.zeros(3))


def test_load_casts_to_the_parameters_dtype_and_copies(saved, tmp_path):
    model, path = saved
    path64 = tmp_path / 'w64.npz'
    np.savez(path64, **{n: p.data.astype(np.float64) * 2 for n, p in model.named_params()})
    a, b = Two(), Two()
    a.load_weights(path64)
    b.load_weights(path64)
    for (name, pa), pb, p in zip(a.named_params(), b.params(), model.params()):
        assert pa.data.dtype == np.float32, name
        np.testing.assert_array_equal(pa.data, p.data * 2)
        assert pa.data.flags.writeable
        assert not np.shares_memory(pa.data, pb.data)
    a.l0.W.data[...] = 0  # changing one model leaves the other alone
    np.testing.assert_array_equal(b.l0.W.data, model.l0.W.data * 2)


def test_float64_model_round_trips(tmp_path):
    np.random.seed(2)
    model = Two(dtype=np.float64)
    path = tmp_path / 'w.npz'
    model.save_weights(path)
    other = Two(dtype=np.float64)
    other.load_weights(path)
    for p, q in zip(model.params(), other.params()):
        assert q.dtype == np.float64
        np.testing.assert_array_equal(p.data, q.data)


def test_save_and_load_take_bytes_paths(saved, tmp_path):
    model, _ = saved
    path = os.fsencode(tmp_path / 'bytes.npz')
    model.save_weights(path)
    other = Two()
    other.load_weights(path)
    for p, q in zip(model.params(), other.params()):
        np.testing.assert_array_equal(p.data, q.data)


def test_save_refuses_an_empty_path_and_writes_nothing(saved, tmp_path, monkeypatch):
    model, _ = saved
    (tmp_path / 'cwd').mkdir()
    monkeypatch.chdir(tmp_path / 'cwd')
    with pytest.raises(ValueError, match='^save_weights: the path is empty; give the path'):
        model.save_weights('')
    assert os.listdir(tmp_path / 'cwd') == [] and sorted(os.listdir(tmp_path)) == ['cwd', 'w.npz']


def test_save_overwrites_an_older_file(saved):
    model, path = saved
    model.l0.b.data = model.l0.b.data + 1
    model.save_weights(path)
    other = Two()
    other.load_weights(path)
    np.testing.assert_array_equal(other.l0.b.data, model.l0.b.data)


@pytest.mark.parametrize('exc', [KeyboardInterrupt, OSError])
def test_interrupted_save_keeps_the_old_file(saved, monkeypatch, exc):
    model, path = saved
    old = path.read_bytes()
    write_array = np.lib.format.write_array
    calls = []

    def fail_on_third(f, array, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            f.write(b'\x93NUMPY partial')
            raise exc('interrupted')
        write_array(f, array, **kwargs)

    monkeypatch.setattr(np.lib.format, 'write_array', fail_on_third)
    for p in model.params():
        p.data = p.data + 1
    with pytest.raises(exc):
        model.save_weights(path)
    assert len(calls) == 3
    assert path.read_bytes() == old
    assert os.listdir(path.parent) == [path.name]


def expect_load_error(model, path, error, pattern):
    snap = snapshot(model)
    with pytest.raises(error, match=pattern):
        model.load_weights(path)
    assert_unchanged(model, snap)


def test_load_rejects_wrong_shape_naming_both_shapes(saved, tmp_path):
    model, path = saved
    bad = tmp_path / 'bad.npz'
    arrays = {n: p.data for n, p in model.named_params()}
    arrays['l1/W'] = np.zeros((4, 3), np.float32)  # l0 comes first and would fit
    np.savez(bad, **arrays)
    expect_load_error(
        Two(), bad, ValueError, r"'l1/W' has shape \(4, 2\) but .* holds shape \(4, 3\)"
    )


def test_load_rejects_missing_key(saved, tmp_path):
    model, path = saved
    bad = tmp_path / 'bad.npz'
    np.savez(bad, **{n: p.data for n, p in model.named_params() if n != 'l1/b'})
    expect_load_error(Two(), bad, ValueError, r"no entry for the parameter 'l1/b'")


def test_load_rejects_extra_key(saved, tmp_path):
    model, path = saved
    bad = tmp_path / 'bad.npz'
    arrays = {n: p.data for n, p in model.named_params()}
    arrays['l2/W'] = np.zeros((2, 2), np.float32)
    np.savez(bad, **arrays)
    expect_load_error(Two(), bad, ValueError, r"no parameter: 'l2/W'")


def test_load_rejects_non_numeric_entry(saved, tmp_path):
    model, path = saved
    bad = tmp_path / 'bad.npz'
    arrays = {n: p.data for n, p in model.named_params()}
    arrays['l1/b'] = np.array(['a', 'b'])
    np.savez(bad, **arrays)
    expect_load_error(Two(), bad, ValueError, r"'l1/b'.*dtype <U1; expected real")


def test_load_of_a_lazy_layer_is_all_or_nothing(saved, tmp_path):
    model, path = saved
    bad = tmp_path / 'bad.npz'
    arrays = {n: p.data for n, p in model.named_params()}
    arrays['l1/b'] = np.zeros(5, np.float32)
    np.savez(bad, **arrays)

    class HalfLazy(Layer):
        def __init__(self):
            super().__init__()
            self.l0 = Linear(4)  # W lazy: would take the file's array
            self.l1 = Linear(2, in_size=4)

    half = HalfLazy()
    expect_load_error(half, bad, ValueError, r"'l1/b' has shape \(2,\)")
    assert half.l0.W.data is None


def test_load_rejects_files_that_are_not_weights(tmp_path):
    model = Two()
    text = tmp_path / 'notes.txt'
    text.write_text('not weights at all\n')
    expect_load_error(model, text, ValueError, r'cannot read .*notes\.txt')
    npy = tmp_path / 'one.npy'
    np.save(npy, np.zeros(3))
    expect_load_error(model, npy, ValueError, r'single \.npy array, not an \.npz')
    expect_load_error(
        model, tmp_path / 'missing.npz', FileNotFoundError, r'no such file: .*missing\.npz'
    )


@pytest.mark.parametrize(
    'content', [b'', b'garbage bytes', bytes(range(256)) * 4, b'\x80\x04\x95 a pickle?', b'PK']
)
def test_load_of_a_file_that_is_not_a_zip_says_so_without_pickle_advice(tmp_path, content):
    bad = tmp_path / 'resnet50.npz'
    bad.write_bytes(content)
    model = Two()
    snap = snapshot(model)
    with pytest.raises(ValueError) as info:
        model.load_weights(bad)
    assert str(info.value) == (
        f'load_weights: cannot read {bad} as an .npz archive: the file is not an .npz '
        f'archive (it does not start as a zip file)'
    )
    assert 'pickle' not in str(info.value)
    assert_unchanged(model, snap)


def test_read_npz_reads_an_empty_archive(tmp_path):
    from dezero.serialization import read_npz

    np.savez(tmp_path / 'empty.npz')
    assert (tmp_path / 'empty.npz').read_bytes().startswith(b'PK\x05\x06')
    assert read_npz(tmp_path / 'empty.npz', 'owner') == {}


def test_load_rejects_a_truncated_file(saved, tmp_path):
    model, path = saved
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        bad = tmp_path / f'cut{cut}.npz'
        bad.write_bytes(data[:cut])
        expect_load_error(Two(), bad, ValueError, r'cannot read .*as an \.npz archive')


def test_load_rejects_a_corrupted_entry(saved, tmp_path):
    model, path = saved
    bad = tmp_path / 'bad.npz'
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, 'w') as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data[:-4] if info.filename == 'l1/W.npy' else data)
    expect_load_error(Two(), bad, ValueError, r'cannot read')


def damaged(path, tmp_path, field, value):
    """A copy of the archive ``path`` whose central directory gives every entry
    ``value`` (2 bytes) for ``field``, or whose end record points its directory past
    the end ('directory')."""
    data = bytearray(path.read_bytes())
    if field == 'directory':  # the directory's offset, 16 bytes into the end record
        end = data.rindex(b'PK\x05\x06')
        data[end + 16 : end + 20] = (len(data) + 1000).to_bytes(4, 'little')
    else:
        offset = {'version needed': 6, 'flags': 8, 'compression': 10}[field]
        start = 0
        while (start := data.find(b'PK\x01\x02', start) + 1) > 0:
            data[start - 1 + offset : start + 1 + offset] = value.to_bytes(2, 'little')
    bad = tmp_path / 'damaged.npz'
    bad.write_bytes(data)
    return bad


@pytest.mark.parametrize(
    'field, value, cause',
    [
        ('version needed', 173, 'NotImplementedError: zip file version 17.3'),
        ('flags', 0x01, "RuntimeError: File 'l0/W.npy' is encrypted"),
        ('flags', 0x41, 'NotImplementedError: strong encryption'),
        ('compression', 99, 'NotImplementedError: That compression method is not supported'),
        ('compression', 12, 'OSError: Invalid data stream'),  # bzip2 that is not
        ('directory', None, 'OSError: [Errno 22] Invalid argument'),
    ],
)
def test_load_rejects_a_damaged_archive_naming_the_file(saved, tmp_path, field, value, cause):
    model, path = saved
    bad = damaged(path, tmp_path, field, value)
    other = Two()
    snap = snapshot(other)
    with pytest.raises(ValueError) as info:
        other.load_weights(bad)
    assert str(info.value).startswith(
        f'load_weights: cannot read {bad} as an .npz archive ({cause}'
    )
    assert_unchanged(other, snap)


def test_load_passes_errors_of_the_disk_through(saved, monkeypatch):
    model, path = saved

    def failing_open(self, name, *args, **kwargs):
        raise OSError(5, 'Input/output error')

    monkeypatch.setattr(zipfile.ZipFile, 'open', failing_open)
    expect_load_error(Two(), path, OSError, r'^\[Errno 5\] Input/output error$')


# --------------------------------------------------------------------------------------
# BatchNorm
# --------------------------------------------------------------------------------------
def batch(shape=(8, 3), dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 2 + 1).astype(dtype)


def test_batch_norm_creates_its_parameters_lazily():
    bn = BatchNorm()
    assert all(p.data is None for p in bn.params())
    assert names(bn) == ['avg_mean', 'avg_var', 'gamma', 'beta']
    y = bn(batch((8, 3, 2, 2)))
    assert y.shape == (8, 3, 2, 2) and y.dtype == np.float32
    for p in bn.params():
        assert p.shape == (3,) and p.dtype == np.float32
    np.testing.assert_array_equal(bn.gamma.data, np.ones(3))
    np.testing.assert_array_equal(bn.beta.data, np.zeros(3))


class HalfGammaBatchNorm(BatchNorm):
    """The book's BatchNorm._init_params, with gamma 0.5 instead of 1."""

    calls = 0

    def _init_params(self, x):
        HalfGammaBatchNorm.calls += 1
        xp = dezero.cuda.get_array_module(x)
        D = x.shape[1]
        if self.avg_mean.data is None:
            self.avg_mean.data = xp.zeros(D, dtype=x.dtype)
        if self.avg_var.data is None:
            self.avg_var.data = xp.ones(D, dtype=x.dtype)
        if self.gamma.data is None:
            self.gamma.data = xp.full(D, 0.5, dtype=x.dtype)
        if self.beta.data is None:
            self.beta.data = xp.zeros(D, dtype=x.dtype)


def test_a_books_batch_norm_subclass_creates_its_own_parameters_on_the_first_call():
    HalfGammaBatchNorm.calls = 0
    bn = HalfGammaBatchNorm()
    x = np.array([[0.0, 1.0], [2.0, 5.0]], np.float32)  # means 1, 3; variances 1, 4
    y = bn(x)
    np.testing.assert_array_equal(bn.gamma.data, [0.5, 0.5])
    np.testing.assert_allclose(y.data, [[-0.5, -0.5], [0.5, 0.5]], rtol=1e-4)
    bn(x)
    assert HalfGammaBatchNorm.calls == 1


def test_an_init_params_that_leaves_a_parameter_without_data_is_refused():
    class NoBeta(BatchNorm):
        def _init_params(self, x):
            super()._init_params(x)
            self.beta.data = None

    with pytest.raises(ValueError, match=r'^NoBeta\._init_params left beta without data; .*\(3,\)'):
        NoBeta()(batch())


def test_batch_norm_normalises_and_updates_running_statistics():
    bn = BatchNorm()
    x = batch(dtype=np.float64)
    y = bn(x)
    np.testing.assert_allclose(y.data.mean(axis=0), 0, atol=1e-7)
    np.testing.assert_allclose(y.data.std(axis=0), 1, rtol=1e-3)
    assert not np.array_equal(bn.avg_mean.data, np.zeros(3))
    F.sum(y * y).backward()
    assert bn.gamma.grad is not None and bn.beta.grad is not None
    assert bn.avg_mean.grad is None and bn.avg_var.grad is None


def test_batch_norm_test_mode_uses_running_statistics():
    bn = BatchNorm()
    bn(batch(dtype=np.float64))
    bn.avg_mean.data[...] = [1.0, 2.0, 3.0]
    bn.avg_var.data[...] = [4.0, 1.0, 0.25]
    bn.gamma.data = np.array([1.0, 2.0, 3.0])
    bn.beta.data = np.array([0.0, 1.0, -1.0])
    x = np.array([[3.0, 2.0, 3.5]])
    with dezero.test_mode():
        y = bn(x)
    expected = [2.0 / np.sqrt(4 + 2e-5), 1.0, 3 * 0.5 / np.sqrt(0.25 + 2e-5) - 1]
    np.testing.assert_allclose(y.data, [expected], rtol=1e-6)


def test_batch_norm_rejects_other_channel_count():
    bn = BatchNorm()
    bn(batch((4, 3)))
    with pytest.raises(ValueError, match=r'BatchNorm: the input has 5 channels'):
        bn(batch((4, 5)))
    with pytest.raises(ValueError, match=r'BatchNorm: expected .*\(3,\)'):
        bn(np.zeros(3, np.float32))


@pytest.mark.parametrize('shape', [(4, 3, 5), (4, 3, 2, 2, 2), (3,)])
def test_batch_norm_refuses_other_ranks_before_making_its_parameters(shape):
    bn = BatchNorm()
    with pytest.raises(
        ValueError,
        match=r'BatchNorm: expected an input of shape \(N, C\) or \(N, C, H, W\), '
        rf'got shape {re.escape(str(shape))}',
    ):
        bn(batch(shape))
    assert all(p.data is None for p in bn.params())
    y = bn(batch((4, 2)))  # a later call of the right rank decides the channels
    assert y.shape == (4, 2) and bn.gamma.shape == (2,)


def test_batch_norm_running_statistics_are_saved_and_loaded(tmp_path):
    bn = BatchNorm()
    for seed in range(3):
        bn(batch(seed=seed))
    path = tmp_path / 'bn.npz'
    bn.save_weights(path)
    with np.load(path) as f:
        assert f.files == ['avg_mean', 'avg_var', 'gamma', 'beta']
    fresh = BatchNorm()
    fresh.load_weights(path)
    for p, q in zip(bn.params(), fresh.params()):
        np.testing.assert_array_equal(p.data, q.data)
    x = batch(seed=9)
    with dezero.test_mode():
        np.testing.assert_array_equal(fresh(x).data, bn(x).data)
    before = fresh.avg_mean.data.copy()
    fresh(batch(seed=10))  # loaded statistics keep being updated
    assert not np.array_equal(fresh.avg_mean.data, before)
    np.testing.assert_array_equal(bn.avg_mean.data, before)


def _batch_norm_file(path, dtypes=('float32',) * 4, avg_var=(1.0, 4.0), prefix=''):
    """An .npz of a BatchNorm of two channels (avg_mean, avg_var, gamma, beta in
    ``dtypes``), its parameters' paths after ``prefix``."""
    values = {'avg_mean': [0.5, -0.5], 'avg_var': avg_var, 'gamma': [2.0, 1.0], 'beta': [0.0, 1.0]}
    np.savez(
        path,
        **{prefix + n: np.array(v, dtype) for (n, v), dtype in zip(values.items(), dtypes)},
    )
    return path


@pytest.mark.parametrize('built', [False, True])
@pytest.mark.parametrize('bad', [-1.0, np.nan])
def test_batch_norm_refuses_a_negative_or_nan_running_variance(tmp_path, built, bad):
    # test mode divided by sqrt(avg_var + eps): NaN outputs
    model = dezero.models.Sequential(Linear(2, in_size=2), BatchNorm())
    if built:
        model(np.ones((3, 2), np.float32))
    before = snapshot(model)
    np.savez(tmp_path / 'lin.npz', **{'l0/W': model.l0.W.data, 'l0/b': model.l0.b.data})
    path = _batch_norm_file(tmp_path / 'bn.npz', avg_var=(1.0, bad), prefix='l1/')
    with np.load(tmp_path / 'lin.npz') as lin, np.load(path) as bn:
        np.savez(tmp_path / 'all.npz', **dict(lin), **dict(bn))
    with pytest.raises(
        ValueError,
        match=rf'^load_weights: .*all\.npz holds 1 negative or NaN value\(s\), such as '
        rf"{bad}, for the parameter 'l1/avg_var', the running variance of a BatchNorm, "
        r'which is 0 or more \(test mode would give NaN outputs\)$',
    ):
        model.load_weights(tmp_path / 'all.npz')
    assert_unchanged(model, before)
    _batch_norm_file(tmp_path / 'zero.npz', avg_var=(0.0, np.inf))  # 0 and inf are variances
    BatchNorm().load_weights(tmp_path / 'zero.npz')


@pytest.mark.parametrize(
    'dtypes, expected, y',
    [
        (('float64', 'float16', 'float32', 'float64'), np.float32, [1.0, 1.75]),
        (('float32', 'float32', 'float64', 'float16'), np.float64, [1.0, 1.75]),
        # integers (the means 0.5 and -0.5 become 0): gamma float32, as the others
        (('int64', 'int64', 'int64', 'float64'), np.float32, [2.0, 1.5]),
    ],
)
def test_a_lazy_batch_norm_loads_its_four_arrays_in_gammas_dtype(tmp_path, dtypes, expected, y):
    # each kept its own dtype: float64 statistics made a float32 input's output float64
    bn = BatchNorm()
    bn.load_weights(_batch_norm_file(tmp_path / 'bn.npz', dtypes))
    assert [p.data.dtype for p in bn.params()] == [np.dtype(expected)] * 4
    np.testing.assert_array_equal(bn.avg_var.data, [1.0, 4.0])
    with dezero.test_mode():
        out = bn(np.ones((1, 2), expected))  # gamma * (1 - mean) / sqrt(var) + beta
    assert out.dtype == expected
    np.testing.assert_allclose(out.data, [y], rtol=1e-4)


def test_a_lazy_batch_norm_refuses_statistics_too_large_for_gammas_dtype(tmp_path):
    path = _batch_norm_file(tmp_path / 'bn.npz', ('float64', 'float64', 'float16', 'float16'))
    np.savez(
        path,
        avg_mean=np.array([0.0, 1e6]),
        avg_var=np.ones(2),
        gamma=np.ones(2, np.float16),
        beta=np.zeros(2, np.float16),
    )
    bn = BatchNorm()
    with pytest.raises(
        ValueError,
        match=r"^load_weights: the entry for the parameter 'avg_mean' in .*bn\.npz holds 1 "
        r'value\(s\) too large for float16 \(up to 1e\+06\): cast to float16 they would '
        r'become infinite$',
    ):
        bn.load_weights(path)
    assert all(p.data is None for p in bn.params())


def test_param_specs_may_name_the_parameters_of_sub_layers(tmp_path):
    class Pair(Layer):
        def __init__(self):
            super().__init__()
            self.a = Linear(2)
            self.b = Linear(2)

        def param_specs(self):
            return {'a/W': (('in', 2), np.float32), 'b/W': (('in', 2), np.float32)}

    pair = {'a/W': np.ones((3, 2)), 'a/b': np.zeros(2), 'b/W': np.ones((3, 2)), 'b/b': np.zeros(2)}
    np.savez(tmp_path / 'ok.npz', **pair)
    loaded = Pair()
    loaded.load_weights(tmp_path / 'ok.npz')
    assert loaded.a.in_size == loaded.b.in_size == 3 and loaded.a.W.dtype == np.float32
    np.savez(tmp_path / 'w.npz', **{**pair, 'b/W': np.ones((4, 2))})
    with pytest.raises(
        ValueError,
        match=r"^load_weights: the parameter 'b/W' \(not created yet\) expects shape "
        r"\(in, 2\) with in = 3 as in 'a/W', but .*w\.npz holds shape \(4, 2\)",
    ):
        Pair().load_weights(tmp_path / 'w.npz')

    class Wrong(Pair):
        def param_specs(self):
            return {'a/V': (('in', 2), None)}

    with pytest.raises(TypeError, match=r"^Wrong\.param_specs: describes 'a/V', which is not a"):
        Wrong().load_weights(tmp_path / 'w.npz')


def test_batch_norm_gradient_check():
    bn = BatchNorm()
    x = batch((6, 3), dtype=np.float64)
    bn(x)
    bn.gamma.data = np.array([0.5, 1.0, 2.0])
    bn.beta.data = np.array([0.1, -0.2, 0.3])
    assert gradient_check(lambda v: F.tanh(bn(v)), x)
    with dezero.test_mode():
        assert gradient_check(lambda v: F.tanh(bn(v)), x)


def test_batch_norm_keeps_float32():
    bn = BatchNorm()
    x = Variable(batch((5, 2, 3, 3)))
    y = bn(x)
    F.sum(y * y).backward()
    assert y.dtype == x.grad.dtype == bn.gamma.grad.dtype == np.float32
    assert all(p.dtype == np.float32 for p in bn.params())


def test_params_follow_layers_and_parameters_added_or_removed_later():
    from dezero.layers import Layer, Linear
    from dezero import Parameter

    outer = Layer()
    outer.inner = Layer()
    outer.inner.a = Parameter(np.zeros(1))
    assert [p.data.shape for p in outer.params()] == [(1,)]
    outer.inner.b = Parameter(np.zeros(2))  # deep inside: still seen
    assert [p.data.shape for p in outer.params()] == [(1,), (2,)]
    outer.inner.a = Parameter(np.zeros(3))  # replaced in place
    assert [p.data.shape for p in outer.params()] == [(3,), (2,)]
    del outer.inner.b
    outer.extra = Linear(4, in_size=2)
    assert [p.data.shape for p in outer.params()] == [(3,), (2, 4), (4,)]
    del outer.extra  # unregistered
    assert [p.data.shape for p in outer.params()] == [(3,)]


# --------------------------------------------------------------------------------------
# Layers and Parameters in lists, tuples and dicts
# --------------------------------------------------------------------------------------
class Stack(Layer):
    """Three Linear layers in a list, two heads in a dict: y = heads[key](blocks(x))."""

    def __init__(self):
        super().__init__()
        self.blocks = [Linear(4, in_size=3), Linear(4, in_size=4), Linear(4, in_size=4)]
        self.heads = {'a': Linear(2, in_size=4), 'b': Linear(1, in_size=4)}

    def forward(self, x, key='a'):
        for block in self.blocks:
            x = F.tanh(block(x))
        return self.heads[key](x)


def test_layers_in_lists_and_dicts_are_parameters_of_the_model():
    model = Stack()
    assert names(model) == [
        'blocks/0/W',
        'blocks/0/b',
        'blocks/1/W',
        'blocks/1/b',
        'blocks/2/W',
        'blocks/2/b',
        'heads/a/W',
        'heads/a/b',
        'heads/b/W',
        'heads/b/b',
    ]
    assert list(model.params()) == [p for _, p in model.named_params()]
    assert sum(p.data.size for p in model.params()) == 16 + 2 * 20 + (8 + 2) + (4 + 1)
    assert next(model.params()) is model.blocks[0].W


def test_nested_containers_tuples_and_parameters_in_containers():
    layer = Layer()
    layer.stages = [[Linear(2, in_size=1)], ({'x': Linear(3, in_size=1)},)]
    layer.weights = (param(1.0), param(2.0))
    layer.table = {'w': param(3.0), 'deep': {'v': [param(4.0)]}}
    assert names(layer) == [
        'stages/0/0/W',
        'stages/0/0/b',
        'stages/1/0/x/W',
        'stages/1/0/x/b',
        'weights/0',
        'weights/1',
        'table/w',
        'table/deep/v/0',
    ]


def test_dict_order_is_insertion_order_and_list_order_is_kept():
    layer = Layer()
    layer.heads = {k: Linear(1, in_size=1) for k in ('zeta', 'alpha', 'mid')}
    layer.blocks = [Linear(1, in_size=1, nobias=True) for _ in range(12)]
    assert names(layer)[:6] == [
        'heads/zeta/W',
        'heads/zeta/b',
        'heads/alpha/W',
        'heads/alpha/b',
        'heads/mid/W',
        'heads/mid/b',
    ]
    assert names(layer)[6:] == [f'blocks/{i}/W' for i in range(12)]
    assert [p for p in layer.params()][6:] == [b.W for b in layer.blocks]


def test_other_items_of_a_container_are_ignored():
    layer = Layer()
    layer.steps = [
        Linear(2, in_size=2),
        F.relu,
        3,
        'text',
        None,
        np.ones(2),
        Variable(np.ones(2)),
        Linear(1, in_size=2),
    ]
    layer.sizes = (3, 4)
    layer.notes = []
    assert names(layer) == ['steps/0/W', 'steps/0/b', 'steps/7/W', 'steps/7/b']


def test_attributes_name_what_a_container_of_the_same_layer_also_holds():
    class Book(Layer):  # the book's MLP: the list first, then the attributes
        def __init__(self):
            super().__init__()
            self.layers = []
            for i in range(2):
                layer = Linear(2, in_size=2)
                setattr(self, 'l' + str(i), layer)
                self.layers.append(layer)
            self.extra = [Linear(1, in_size=2)]

    model = Book()
    assert names(model) == ['l0/W', 'l0/b', 'l1/W', 'l1/b', 'extra/0/W', 'extra/0/b']


def test_a_container_that_holds_itself_or_its_layer_does_not_loop():
    layer = Layer()
    items = [param(1.0)]
    items.append(items)
    layer.items = items
    layer.me = [layer]
    assert names(layer) == ['items/0']


def test_sets_of_layers_and_ambiguous_keys_are_refused():
    layer = Layer()
    with pytest.raises(TypeError, match="Layer: the attribute 'group' is a set.*use a list"):
        layer.group = {Linear(2)}
    assert names(layer) == [] and not hasattr(layer, 'group')
    layer.tags = {'a', 'b'}  # a set of other things is fine
    layer.heads = {'a/b': Linear(1, in_size=1)}
    with pytest.raises(ValueError, match="the key 'a/b' in 'heads' cannot name.*it holds \"/\""):
        list(layer.params())
    layer.heads = {'': Linear(1, in_size=1)}
    with pytest.raises(ValueError, match="the key '' in 'heads' .*an empty key names nothing"):
        list(layer.params())


def test_layers_in_containers_params_does_not_look_into_are_not_members():
    # as in the book: only lists, tuples and dicts (their values) are looked into
    layer = Layer()
    layer.queue = collections.deque([Linear(2)])
    layer.space = types.SimpleNamespace(a=Linear(2))
    layer.route = {Linear(2): 'cat'}
    assert list(layer.params()) == []
    with pytest.raises(TypeError, match=r"'group' is a set holding layers or parameters"):
        layer.group = {Linear(2)}


def test_containers_of_other_things_params_does_not_walk_stay_allowed():
    layer = Layer()
    layer.losses = collections.deque([0.5, 0.25], maxlen=10)
    layer.table = np.array(['a', None], dtype=object)
    layer.keys = {'a': 1}.keys()
    layer.opts = types.SimpleNamespace(act=F.relu)
    layer.blocks = [{'a', 'b'}, frozenset([1]), collections.deque([2.0])]
    layer.pairs = ((1, {2.0}),)
    layer.arrays = [np.zeros(3)] * 80 + [np.array([1, None], dtype=object)]
    layer.steps = iter([Linear(2)])  # an iterator is not looked into (it would be used up)
    assert names(layer) == []


def test_containers_changed_after_assignment_are_seen():
    model = Stack()
    count = len(list(model.params()))
    extra = Linear(4, in_size=4)
    model.blocks.append(extra)  # list methods
    assert list(model.params())[6:8] == [extra.W, extra.b]
    assert len(list(model.params())) == count + 2
    model.blocks.pop(0)
    assert names(model)[:2] == ['blocks/0/W', 'blocks/0/b']
    assert list(model.params())[0] is model.blocks[0].W
    replacement = Linear(4, in_size=3)
    model.blocks[0] = replacement  # item assignment
    assert next(model.params()) is replacement.W
    model.heads['c'] = Linear(3, in_size=4)  # dicts
    assert names(model)[-2:] == ['heads/c/W', 'heads/c/b']
    del model.heads['a']
    assert 'heads/a/W' not in names(model)
    assert list(model.params()) == [p for _, p in model.named_params()]
    nested = []
    model.more = [nested]
    nested.append(param(5.0))  # a list inside a list
    assert list(model.params())[-1] is nested[0]
    del model.more  # unregistered
    assert nested[0] not in list(model.params())


def test_an_optimizer_trains_the_layers_in_containers():
    from dezero.optimizers import SGD

    np.random.seed(0)
    model = Stack()
    opt = SGD(lr=0.1).setup(model)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    before = [p.data.copy() for p in model.params()]
    losses = []
    for _ in range(20):
        loss = F.sum(model(x) ** 2)
        model.cleargrads()
        loss.backward()
        opt.update()
        losses.append(float(loss.data))
    assert losses[-1] < 0.5 * losses[0]
    for (name, p), old in zip(model.named_params(), before):
        if not name.startswith('heads/b'):  # head b takes no part in forward
            assert not np.array_equal(p.data, old), f'{name} was not trained'
    late = Linear(2, in_size=4)  # a layer appended later is trained too
    model.heads['a'] = late
    W = late.W.data.copy()
    loss = F.sum(model(x) ** 2)
    model.cleargrads()
    loss.backward()
    opt.update()
    assert not np.array_equal(late.W.data, W)


def test_cleargrads_reaches_the_layers_in_containers():
    model = Stack()
    F.sum(model(np.ones((2, 3), np.float32))).backward()
    assert model.blocks[2].W.grad is not None
    model.cleargrads()
    assert all(p.grad is None for p in model.params())


def test_containers_save_and_load_by_path(tmp_path):
    np.random.seed(0)
    model = Stack()
    path = str(tmp_path / 'stack.npz')
    model.save_weights(path)
    with np.load(path) as stored:
        assert stored.files == names(model)
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.random.seed(1)
    other = Stack()
    assert not np.array_equal(other(x).data, model(x).data)
    other.load_weights(path)
    np.testing.assert_array_equal(other(x).data, model(x).data)
    other.blocks.append(Linear(4, in_size=4))  # the file lacks the new block
    with pytest.raises(ValueError, match="no entry for the parameter 'blocks/3/W'"):
        other.load_weights(path)


def test_save_refuses_two_parameters_with_one_path(tmp_path):
    layer = Layer()
    layer.heads = {1: param(1.0), '1': param(2.0)}
    with pytest.raises(ValueError, match="two parameters have the path 'heads/1'"):
        layer.save_weights(str(tmp_path / 'w.npz'))
    assert not os.path.exists(tmp_path / 'w.npz')


# --------------------------------------------------------------------------------------
# Layer: the inputs and outputs of the last call
# --------------------------------------------------------------------------------------
def test_call_keeps_weak_references_to_its_inputs_and_outputs():
    layer = Linear(2, in_size=3)
    x = Variable(np.ones((1, 3), np.float32))
    y = layer(x)
    assert layer.inputs[0]() is x and layer.outputs[0]() is y
    assert names(layer) == ['W', 'b']
    del y
    assert layer.outputs[0]() is None  # weak: the output is not kept
    assert Two()(np.ones((1, 3), np.float32)).shape == (1, 2)


def test_a_layer_that_keeps_its_outputs_gives_their_data_and_gradients_back():
    # ReLU reads its own output, so the graph lets the layer's output go
    x = Variable(np.array([[1.0, -2.0, 3.0]], np.float32))
    layer = Linear(2, in_size=3)
    F.sum(F.relu(layer(x))).backward(retain_grad=True)
    assert layer.outputs[0]() is None
    layer.keep_outputs = True
    loss = F.sum(F.relu(layer(x)) * np.array([[2.0, 3.0]], np.float32))
    loss.backward(retain_grad=True)
    y = layer.outputs[0]()
    a = x.data @ layer.W.data + layer.b.data
    np.testing.assert_allclose(y.data, a, rtol=1e-6)
    np.testing.assert_allclose(y.grad.data, np.where(a > 0, [[2.0, 3.0]], 0.0))
    previous = weakref.ref(y)
    del y, loss
    layer(x)  # the next call holds its own output instead
    assert previous() is None
    copied = copy.deepcopy(layer)
    assert copied.keep_outputs is True and not hasattr(copied, 'outputs')


def test_a_model_that_was_called_can_be_pickled():
    import pickle

    model = Two()
    model(np.ones((1, 3), np.float32))
    copy = pickle.loads(pickle.dumps(model))
    assert names(copy) == names(model) and not hasattr(copy, 'outputs')


# --------------------------------------------------------------------------------------
# Describing a layer: print(layer) and summary()
# --------------------------------------------------------------------------------------
def test_print_shows_each_layer_with_its_settings():
    assert repr(Linear(10)) == 'Linear(in=?, out=10)'
    assert (
        repr(Linear(3, in_size=2, nobias=True, dtype=np.float64))
        == 'Linear(in=2, out=3, nobias=True, dtype=float64)'
    )
    assert repr(dezero.layers.Conv2d(8, 3, pad=1)) == 'Conv2d(in=?, out=8, kernel=3, pad=1)'
    assert (
        repr(dezero.layers.Conv2d(8, (3, 5), stride=2, in_channels=4))
        == 'Conv2d(in=4, out=8, kernel=(3, 5), stride=2)'
    )
    assert (
        repr(dezero.layers.Deconv2d(2, 4, stride=2)) == 'Deconv2d(in=?, out=2, kernel=4, stride=2)'
    )
    assert repr(BatchNorm()) == 'BatchNorm(channels=?)'
    assert repr(dezero.layers.EmbedID(100, 8)) == 'EmbedID(in=100, out=8)'
    assert repr(dezero.layers.RNN(5)).splitlines()[0] == 'RNN(in=?, hidden=5)'


def test_print_shows_the_tree_named_as_the_parameters():
    class Net(Layer):
        def __init__(self):
            super().__init__()
            self.scale = Parameter(np.ones((1, 4), np.float32))
            self.blocks = [Linear(4), Linear(4, in_size=4)]
            self.heads = {'a': Two()}
            self.again = self.heads['a'].l0
            self.lazy = Parameter(None)

    net = Net()
    assert str(net) == '\n'.join(
        [
            'Net',
            '  scale: Parameter (1, 4) float32',
            '  blocks/0: Linear(in=?, out=4)',
            '  blocks/1: Linear(in=4, out=4)',
            '  heads/a: Two',
            '    l0: Linear(in=3, out=4)',
            '    l1: Linear(in=4, out=2)',
            '  again: the layer heads/a/l0',
            '  lazy: Parameter not created yet',
        ]
    )
    assert repr(net) == str(net)


def test_summary_counts_parameters_and_records_output_shapes(capsys):
    np.random.seed(0)
    model = Two()
    model.norm = BatchNorm()
    model.summary()
    assert capsys.readouterr().out == '\n'.join(
        [
            'Layer                          Parameters',
            '-----------------------------------------',
            'Two                                     -',
            '  l0: Linear(in=3, out=4)              16',
            '  l1: Linear(in=4, out=2)              10',
            '  norm: BatchNorm(channels=?)           ?',
            '-----------------------------------------',
            'Trainable parameters: at least 26 (2 Parameters are created on the first call: '
            'summary(x) counts them)',
            '',
        ]
    )
    model.forward = lambda x: model.norm(model.l1(F.sigmoid(model.l0(x))))
    snap = [p.data.copy() for p in model.params() if p.data is not None]
    model.summary(np.ones((5, 3), np.float32))
    assert capsys.readouterr().out == '\n'.join(
        [
            'Layer                          Output shape  Parameters',
            '-------------------------------------------------------',
            'Two                            (5, 2)                 -',
            '  l0: Linear(in=3, out=4)      (5, 4)                16',
            '  l1: Linear(in=4, out=2)      (5, 2)                10',
            '  norm: BatchNorm(channels=2)  (5, 2)                 4',
            '-------------------------------------------------------',
            'Trainable parameters: 30',
            'Running statistics (not trained): 4',
            '',
        ]
    )
    assert all(np.array_equal(a, p.data) for a, p in zip(snap, model.params()))
    assert model.norm.avg_mean.data.tolist() == [0, 0]  # test mode: stats untouched
    assert dezero.Config.enable_backprop and dezero.Config.train


def test_summary_counts_the_parameters_of_frozen_layers_apart(capsys):
    # they were counted as trainable, though params() (what optimizers train) leaves
    # them out
    class Frozen(Linear):
        def params(self):
            return iter(())

    model = Layer()
    model.a = Linear(3, in_size=2)
    model.b = model.a
    model.f = Frozen(3, in_size=3)
    model.norm = BatchNorm()
    model.forward = lambda x: model.norm(model.f(model.a(x)))
    model.summary(np.ones((2, 2), np.float32))
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3:] == [
        'Trainable parameters: 15',
        'Frozen parameters (left out of params()): 12',
        'Running statistics (not trained): 6',
    ]
    trained = sum(p.data.size for p in model.params())
    assert trained == 15 + 6  # params() gives the running statistics too


def test_summary_marks_layers_not_called_and_survives_a_failing_forward(capsys):
    class Branches(Layer):
        def __init__(self):
            super().__init__()
            self.used = Linear(2, in_size=2)
            self.unused = Linear(2, in_size=2)

        def forward(self, x):
            return self.used(self.used(x))  # called twice: the first call counts

    model = Branches()
    model.summary(np.ones((1, 2), np.float32))
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].split() == ['used:', 'Linear(in=2,', 'out=2)', '(1,', '2)', '6']
    assert lines[4].split()[-3:] == ['not', 'called', '6']
    with pytest.raises(ValueError, match='width 3'):
        model.summary(np.ones((1, 3), np.float32))
    model.summary()  # no recording left behind
    assert 'Output shape' not in capsys.readouterr().out
    assert dezero.Config.enable_backprop and dezero.Config.train


def test_an_input_of_width_zero_is_refused_by_a_new_linear():
    with pytest.raises(
        ValueError, match='Linear: the input width must be a positive integer, got 0'
    ):
        Linear(2)(np.zeros((2, 0)))


def test_load_weights_from_a_folder_names_load_weights(tmp_path):
    with pytest.raises(IsADirectoryError, match='load_weights: .* is a folder'):
        Linear(2, in_size=2).load_weights(tmp_path)


def test_params_names_the_parameter_and_layer_attributes_as_the_book_does():
    class Net(Layer):
        def __init__(self):
            super().__init__()
            self.l1 = Linear(2, in_size=3)
            self.scale = param(2.0)
            self.blocks = [Linear(1, in_size=2)]  # a list: not in the book's _params
            self.rate = 0.5
            self.l2 = Linear(1, in_size=2)

    net = Net()
    assert list(net._params) == ['l1', 'scale', 'l2']
    assert 'l1' in net._params and 'blocks' not in net._params and len(net._params) == 3
    assert net._params - {'scale'} == {'l1', 'l2'}
    assert list(net.l1._params) == ['W', 'b'] and list(Linear(2, nobias=True)._params) == ['W']
    del net.scale
    del net.l1
    assert list(net._params) == ['l2']
    with pytest.raises(AttributeError, match='assign the attributes instead'):
        net._params = {'l3'}


def test_book_style_params_and_flatten_params_read_params():
    class BookLayer(Layer):
        # steps 45 and 53 of the book, written on top of _params
        def params(self):
            for name in self._params:
                obj = self.__dict__[name]
                if isinstance(obj, Layer):
                    yield from obj.params()
                else:
                    yield obj

        def _flatten_params(self, params_dict, parent_key=''):
            for name in self._params:
                obj = self.__dict__[name]
                key = parent_key + '/' + name if parent_key else name
                if isinstance(obj, Layer):
                    obj._flatten_params(params_dict, key)
                else:
                    params_dict[key] = obj

    net = BookLayer()
    net.l1 = Linear(2, in_size=3)
    net.p = param(1.0)
    inner = BookLayer()
    inner.q = param(2.0)
    net.inner = inner
    assert list(net.params()) == [net.l1.W, net.l1.b, net.p, inner.q]
    params_dict = {}
    net._flatten_params(params_dict)
    assert list(params_dict) == ['l1/W', 'l1/b', 'p', 'inner/q']
    assert params_dict['inner/q'] is inner.q


def test_flatten_params_fills_a_dict_by_path_as_the_book_does():
    layer = Layer()
    inner = Layer()
    inner.p1 = Parameter(np.array(1))
    layer.l1 = inner
    layer.p2 = Parameter(np.array(2))
    params_dict = {}
    layer._flatten_params(params_dict)
    assert params_dict == {'l1/p1': inner.p1, 'p2': layer.p2}
    more = {}
    inner._flatten_params(more, 'outer')
    assert list(more) == ['outer/p1'] and more['outer/p1'] is inner.p1


def test_params_may_be_set_to_an_empty_set_as_the_books_layer_does():
    class BookStyle(Layer):
        def __init__(self):
            super().__init__()
            self._params = set()  # the book's Layer.__init__ writes this
            self.W = Parameter(np.ones(2))

    layer = BookStyle()
    assert list(layer._params) == ['W']
    with pytest.raises(AttributeError, match='only an empty set may be assigned'):
        layer._params = {'V'}


def test_a_subclass_that_registers_names_the_books_way_works():
    # _params was a dict_keys: self._params.add(name) raised AttributeError
    class BookWay(Layer):
        def __setattr__(self, name, value):  # the book's Layer.__setattr__
            if isinstance(value, (Parameter, Layer)):
                self._params.add(name)  # before the attribute is set, as the book does
            super().__setattr__(name, value)

    class Net(BookWay):
        def __init__(self):
            super().__init__()
            self.l1 = Linear(2, in_size=3)
            self.scale = param(2.0)
            self.head = None  # set later
            self.head = Linear(1, in_size=2)

    net = Net()
    assert list(net._params) == ['l1', 'scale', 'head']
    assert list(net.params()) == [net.l1.W, net.l1.b, net.scale, net.head.W, net.head.b]


def test_params_add_registers_an_attribute_set_past_setattr():
    class Manual(Layer):
        def __init__(self):
            super().__init__()
            object.__setattr__(self, 'w', param([1.0, 2.0]))
            object.__setattr__(self, 'inner', Linear(1, in_size=2))
            self._params.add('inner')
            self._params.add('w')

    layer = Manual()
    assert list(layer._params) == ['inner', 'w']
    assert list(layer.params()) == [layer.inner.W, layer.inner.b, layer.w]
    assert [name for name, _ in layer.named_params()] == ['inner/W', 'inner/b', 'w']
    layer._params.add('w')  # twice: no change
    assert len(layer._params) == 2


def test_params_discard_and_remove_unregister_in_place():
    net = Two()
    names = net._params
    names.discard('l0')
    assert list(net._params) == ['l1'] and list(names) == ['l1']  # a live view
    assert list(net.params()) == [net.l1.W, net.l1.b]
    assert net.l0.W.data is not None  # the attribute stays
    names.discard('nothing')  # as a set's discard
    with pytest.raises(KeyError):
        names.remove('l0')
    names.remove('l1')
    assert list(net._params) == [] and list(net.params()) == []
    net._params |= {'l1', 'l0'}  # add both back; assigning its own _params is taken
    assert sorted(net._params) == ['l0', 'l1'] and len(list(net.params())) == 4
    net._params -= {'l1'}
    assert list(net._params) == ['l0']
    net._params = set()  # the book's Layer.__init__ writes this: changes nothing
    assert list(net._params) == ['l0']
    assert net._params & {'l0', 'x'} == {'l0'} and type(net._params | {'x'}) is set
    assert repr(net._params) == "Two._params(['l0'])"


def test_params_add_takes_any_value_and_params_refuses_what_cannot_be_part_of_the_layer():
    # add refused a name whose attribute held a number or an array, which the book's
    # __setattr__ adds before assigning the Parameter
    layer = Layer()
    layer.rate = 0.5
    layer._params.add('rate')
    with pytest.raises(
        TypeError,
        match=r"^Layer: 'rate' was added to _params, but the attribute holds float 0\.5; "
        r'set it to a Parameter or a Layer',
    ):
        list(layer.params())
    layer._params.discard('rate')
    with pytest.raises(TypeError, match=r'_params\.add: expected the name of an attribute'):
        layer._params.add(3)
    layer._params.add('w')  # not set yet: the book adds the name first
    with pytest.raises(
        AttributeError,
        match=r"^Layer: 'w' was added to _params, but the attribute is not set; set it to a "
        r"Parameter or a Layer, or take the name out with _params\.discard\('w'\)",
    ):
        list(layer.params())
    object.__setattr__(layer, 'w', 'oops')
    with pytest.raises(TypeError, match=r"'w' was added to _params, but the attribute holds str"):
        list(layer.params())
    object.__setattr__(layer, 'w', param(1.0))
    assert list(layer.params()) == [layer.w]
    layer.w = param(3.0)
    assert list(layer._params) == ['w'] and list(layer.params()) == [layer.w]
    layer._params.add('v')
    layer._params.discard('v')  # a name added but never set can be taken out
    assert list(layer.params()) == [layer.w]


def test_summary_refuses_a_file_without_write_before_running_the_forward_pass(capsys):
    # a path given as file failed with AttributeError after the forward pass
    layer = Linear(3)
    with pytest.raises(
        TypeError,
        match=r"Linear\.summary: file must be an object with write\(\), .*got str 'out\.txt'",
    ):
        layer.summary(np.ones((1, 2), np.float32), file='out.txt')
    assert layer.W.data is None  # checked first: the forward pass did not run
    assert capsys.readouterr().out == ''


def test_a_deleted_bias_is_no_bias(tmp_path):
    # the refusal of lin.b = None advises del lin.b, after which forward and repr
    # raised AttributeError
    np.random.seed(0)
    layer = Linear(3, in_size=2)
    layer.b.data[...] = 7.0
    del layer.b
    x = np.array([[1.0, 2.0]], np.float32)
    assert layer.b is None and names(layer) == ['W']
    np.testing.assert_array_equal(layer(x).data, x @ layer.W.data)
    assert repr(layer) == 'Linear(in=2, out=3, nobias=True)'
    layer.save_weights(tmp_path / 'w.npz')
    with np.load(tmp_path / 'w.npz') as f:
        assert f.files == ['W']
    other = Linear(3, in_size=2)
    del other.b
    other.load_weights(tmp_path / 'w.npz')
    np.testing.assert_array_equal(other(x).data, layer(x).data)
    with pytest.raises(ValueError, match="no entry for the parameter 'b'"):
        Linear(3, in_size=2).load_weights(tmp_path / 'w.npz')
    layer.b = Parameter(np.ones(3, np.float32))  # a bias again
    np.testing.assert_array_equal(layer(x).data, x @ layer.W.data + 1)


def test_the_refusal_of_none_advises_del_only_where_the_layer_works_without_it():
    from dezero.layers import BatchNorm

    norm = BatchNorm()
    norm(np.ones((2, 2), np.float32))
    with pytest.raises(TypeError, match='BatchNorm computes with it, so do not remove it'):
        norm.beta = None
    linear = Linear(3, in_size=2)
    with pytest.raises(TypeError, match=r'to remove it, use del layer\.b$'):
        linear.b = None
    with pytest.raises(TypeError, match='Linear computes with it, so do not remove it'):
        linear.W = None

    class Own(Layer):
        def __init__(self):
            super().__init__()
            self.p = Parameter(np.ones(1))

    with pytest.raises(TypeError, match=r'to remove it, use del layer\.p$'):
        Own().p = None


def test_params_add_of_a_name_set_again_past_setattr_updates_the_parameters():
    # the optimizer (params()) and save_weights (named_params()) must see the same W
    layer = Linear(2, in_size=3)
    list(layer.params())  # (the list of parameters is cached)
    new_w = Parameter(np.zeros((3, 2), np.float32), name='W')
    object.__setattr__(layer, 'W', new_w)
    layer._params.add('W')
    assert [p is new_w for p in layer.params()] == [True, False]
    assert [p is new_w for _, p in layer.named_params()] == [True, False]


class BooksForwardLinear(Linear):
    def forward(self, x):  # the book's Linear.forward
        if self.W.data is None:
            self.in_size = x.shape[1]
            self._init_W(cuda.get_array_module(x))
        return F.linear(x, self.W, self.b)


def test_a_subclass_with_the_books_forward_sets_in_size_and_draws_the_same_W():
    # in_size was a read-only property: assigning it raised AttributeError
    x = np.ones((2, 4), np.float32)
    np.random.seed(0)
    ours = BooksForwardLinear(3)(x).data
    np.random.seed(0)
    np.testing.assert_array_equal(ours, Linear(3)(x).data)
    layer = Linear(3, in_size=4)
    layer.in_size = 4  # the size it has: fine
    with pytest.raises(ValueError, match=r'Linear: in_size cannot become 5: W exists, made for 4'):
        layer.in_size = 5


class BooksInitLinear(Linear):
    def __init__(self, out_size, nobias=False, dtype=np.float32, in_size=None):  # the book's
        Layer.__init__(self)
        self.in_size = in_size
        self.out_size = out_size
        self.dtype = dtype
        self.W = Parameter(None, name='W')
        if self.in_size is not None:
            self._init_W()
        if nobias:
            self.b = None
        else:
            self.b = Parameter(np.zeros(out_size, dtype=dtype), name='b')


def test_a_subclass_with_the_books_init_sets_in_size_before_W_exists():
    # assigning in_size read W (AttributeError before W existed), and None was refused
    np.random.seed(0)
    given = BooksInitLinear(3, in_size=5)
    np.random.seed(0)
    np.testing.assert_array_equal(given.W.data, Linear(3, in_size=5).W.data)
    x = np.ones((2, 4), np.float32)
    lazy = BooksInitLinear(3)
    assert lazy.in_size is None
    np.random.seed(0)
    y = lazy(x).data
    np.random.seed(0)
    np.testing.assert_array_equal(y, Linear(3)(x).data)
    assert lazy.in_size == 4


def same_attributes_as_a_plain_call(layer, x):
    """Whether ``layer``, called on ``x``, holds the attributes (and pickles the state)
    of a Linear(3) called on x: no size assigned before W existed stays behind."""
    plain = Linear(3)
    plain(x)
    return set(vars(layer)) == set(vars(plain)) and set(layer.__getstate__()) == set(
        plain.__getstate__()
    )


def test_a_size_assigned_before_W_exists_is_read_by_init_W_then_forgotten():
    x = np.ones((2, 4), np.float32)
    layer = Linear(3)
    layer.in_size = 7
    assert layer.in_size == 7 and layer.W.data is None
    layer.in_size = None  # not known after all
    assert layer.in_size is None
    layer.in_size = 5
    layer._init_W()  # called directly, as the book's code does: W for the size assigned
    assert layer.W.shape == (5, 3) and layer.in_size == 5
    # the first call makes W for its input, as the book's forward does, and forgets 7
    layer = Linear(3)
    layer.in_size = 7
    assert layer(x).shape == (2, 3) and layer.in_size == 4
    assert same_attributes_as_a_plain_call(layer, x)
    layer = BooksForwardLinear(3)
    layer(x)
    assert same_attributes_as_a_plain_call(layer, x)
    with pytest.raises(
        ValueError, match=r'^Linear: in_size cannot become None: W exists, made for 4'
    ):
        Linear(3, in_size=4).in_size = None
    with pytest.raises(TypeError, match=r'^Linear: in_size must be a positive integer, got str'):
        Linear(3).in_size = '4'


def test_an_init_W_that_replaces_the_parameter_and_is_refused_leaves_the_first_one():
    # only the data of the first Parameter was put back: the refused one stayed
    class Replacing(Linear):
        def _init_W(self, xp=np):
            self.W = Parameter(np.zeros((self.in_size + 1, self.out_size), np.float32))

    layer = Replacing(3)
    first = layer.W
    with pytest.raises(ValueError, match=r'Replacing._init_W assigned W.data of shape \(5, 3\)'):
        layer(np.ones((2, 4), np.float32))
    assert layer.W is first and layer.W.data is None


# --------------------------------------------------------------------------------------
# params() overridden to freeze layers, as the book does
# --------------------------------------------------------------------------------------
class FrozenLinear(Linear):
    def params(self):
        return iter(())  # frozen: no trainable parameters


class WithFrozen(Layer):
    def __init__(self):
        super().__init__()
        self.body = FrozenLinear(3, in_size=2)
        self.head = Linear(1, in_size=3)

    def forward(self, x):
        return self.head(self.body(x))


def test_params_gives_what_the_params_of_a_sub_layer_that_overrides_it_yields():
    # the parent walked the child's attributes, bypassing its params()
    net = WithFrozen()
    assert list(net.params()) == [net.head.W, net.head.b]
    assert names(net) == ['body/W', 'body/b', 'head/W', 'head/b']  # what it holds (saves)

    class Switchable(Linear):
        frozen = True

        def params(self):
            return iter(()) if self.frozen else super().params()

    net.body = Switchable(3, in_size=2)
    assert list(net.params()) == [net.head.W, net.head.b]
    Switchable.frozen = False  # read again at every call
    assert list(net.params()) == [net.body.W, net.body.b, net.head.W, net.head.b]


def test_params_of_an_override_come_once_and_in_place():
    class HeadOnly(Layer):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def params(self):
            yield self.inner.W
            yield self.inner.W

    outer = Layer()
    outer.first = Linear(2, in_size=2)
    outer.part = HeadOnly(outer.first)
    outer.last = param(1.0)
    assert list(outer.params()) == [outer.first.W, outer.first.b, outer.last]


def test_cleargrads_leaves_the_gradients_of_frozen_layers_as_the_book_does():
    # cleargrads cleared every parameter, whatever params() said
    net = WithFrozen()
    F.sum(net(np.ones((4, 2), np.float32))).backward()
    net.cleargrads()
    assert net.body.W.grad is not None and net.head.W.grad is None

    class HeadOnly(WithFrozen):
        def params(self):  # an override on the model itself
            yield from self.head.params()

    model = HeadOnly()
    F.sum(model(np.ones((4, 2), np.float32))).backward()
    model.cleargrads()
    assert model.body.W.grad is not None and model.head.W.grad is None


def test_to_cpu_moves_the_parameters_of_frozen_layers_too(monkeypatch):
    moved = []
    monkeypatch.setattr(Parameter, 'to_cpu', lambda self: moved.append(self), raising=False)
    net = WithFrozen()
    net.to_cpu()
    assert moved == [net.body.W, net.body.b, net.head.W, net.head.b]


# --------------------------------------------------------------------------------------
# The kept list of parameters follows changes made past __setattr__
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('how', ['object.__setattr__', '__dict__'])
def test_params_sees_a_parameter_replaced_past_setattr(how):
    # params() must give the W that named_params (and so save_weights) gives
    model = Layer()
    model.inner = Linear(2, in_size=2)
    for layer in (model.inner, model):
        list(layer.params())  # (the list is kept)
        new = Parameter(np.zeros((2, 2), np.float32))
        if how == '__dict__':
            layer.__dict__['W'] = new
        else:
            object.__setattr__(layer, 'W', new)
        if layer is model:
            layer._params.add('W')
            assert list(model.params())[-1] is new
        else:
            assert list(model.params())[0] is new and list(layer.params())[0] is new
        assert dict(layer.named_params())['W'] is new


def test_a_dict_copied_from_another_layer_brings_no_list_of_that_layer():
    # the kept list came along with the other layer's attributes, and params() gave
    # the other layer's W
    src, dst = Linear(2, in_size=2), Linear(2, in_size=2)
    list(src.params())
    own_w = dst.W
    dst.__dict__.update({k: v for k, v in src.__dict__.items() if k != 'W'})
    assert list(dst.params()) == [p for _, p in dst.named_params()] == [own_w, src.b]


# --------------------------------------------------------------------------------------
# The record of members is under names of its own
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('labels', [{}, ['cat', 'dog'], ('cat', 'dog'), 5])
def test_attributes_named_names_or_params_cache_are_the_users_own(labels):
    # self._names = {} emptied the record of members; ['cat', 'dog'] gave a misleading
    # error, and _params_cache = 5 broke params()
    class Labelled(Layer):
        def __init__(self):
            super().__init__()
            if not isinstance(labels, tuple):
                self.l0 = Linear(2, in_size=2)
            self._names = labels
            self._params_cache = labels
            self.l1 = Linear(2, in_size=2)

    layer = Labelled()
    assert layer._names == labels and layer._params_cache == labels
    assert len(list(layer.params())) == (2 if isinstance(labels, tuple) else 4)


@pytest.mark.parametrize('name', ['_dezero_names', '_dezero_kept_params'])
def test_the_names_of_the_record_of_members_are_refused(name):
    layer = Linear(2, in_size=2)
    pattern = rf"^Linear: '{name}' is dezero's own attribute .* give yours another name"
    with pytest.raises(AttributeError, match=pattern):
        setattr(layer, name, {})
    with pytest.raises(AttributeError, match=pattern):
        delattr(layer, name)
    with pytest.raises(AttributeError, match=pattern):
        layer._params.add(name)
    assert names(layer) == ['W', 'b']


def test_a_layer_pickled_with_the_record_under_its_former_name_loads():
    layer = Linear(2, in_size=2)
    state = layer.__getstate__()
    state['_names'] = state.pop('_dezero_names')  # as an earlier dezero pickled it
    state['_params_cache'] = None
    other = Linear.__new__(Linear)
    other.__setstate__(state)
    assert names(other) == ['W', 'b'] and '_names' not in other.__dict__


# --------------------------------------------------------------------------------------
# Assignments that fail or that a property handles
# --------------------------------------------------------------------------------------
def test_an_assignment_that_raises_registers_nothing(tmp_path):
    # the name was registered first: params(), repr and save_weights then raised
    class ReadOnly(Layer):
        @property
        def W(self):
            return 1

    layer = ReadOnly()
    layer.b = param(1.0)
    with pytest.raises(AttributeError):
        layer.W = param(2.0)
    assert names(layer) == ['b'] and repr(layer) == 'ReadOnly\n  b: Parameter (1,) float64'
    layer.save_weights(tmp_path / 'w.npz')


def test_a_property_registers_what_its_setter_stores():
    # both W and _W were registered, and every params() raised
    class Wrapped(Layer):
        def __init__(self):
            super().__init__()
            self.W = param(1.0, 2.0)

        @property
        def W(self):
            return self._W

        @W.setter
        def W(self, value):
            self._W = value

    layer = Wrapped()
    assert names(layer) == ['_W'] and list(layer.params()) == [layer.W]
    layer.W = param(3.0)
    assert list(layer.params()) == [layer.W] and layer.W.data[0] == 3.0


def test_a_books_setattr_registers_a_name_that_held_an_array_or_a_number():
    # _params.add refused a name whose attribute held an array or a number
    class BookSet(Layer):
        def __setattr__(self, name, value):
            if isinstance(value, (Parameter, Layer)):
                self._params.add(name)
            super().__setattr__(name, value)

    layer = BookSet()
    layer.W = np.ones(2)
    layer.W = param(1.0, 1.0)
    layer.n = 3
    layer.n = Linear(2, in_size=2)
    assert names(layer) == ['W', 'n/W', 'n/b']


# --------------------------------------------------------------------------------------
# Containers of plain data cost nothing per step
# --------------------------------------------------------------------------------------
class CountingList(list):
    """A list that counts the loops over its items."""

    loops = 0

    def __iter__(self):
        CountingList.loops += 1
        return super().__iter__()


def test_params_does_not_look_over_a_list_of_plain_data_again():
    # every params() compared each item of every registered list: a model holding a
    # vocabulary of a million words was 300 times slower per step
    model = Two()
    model.vocab = CountingList(f'w{i}' for i in range(1000))
    first = model._param_list()
    CountingList.loops = 0
    for _ in range(3):
        assert model._param_list() is first
    assert CountingList.loops == 0
    model.vocab.append('more')  # looked over once, and the list still holds
    assert model._param_list() is first and CountingList.loops == 1
    model.vocab.append(Linear(2, in_size=2))
    assert names(model)[-2:] == ['vocab/1001/W', 'vocab/1001/b']
    assert list(model.params())[-1] is model.vocab[-1].b


def test_plain_containers_that_come_to_hold_layers_are_seen():
    model = Layer()
    model.groups = [[], {}, (1, [])]
    model.history = [0.5, 0.25]
    model.counts = {'a': 1}
    assert list(model.params()) == []
    model.groups[0].append(Linear(2, in_size=2))
    model.groups[1]['x'] = param(1.0)
    model.groups[2][1].append(param(2.0))
    model.history.append(param(3.0))
    model.counts['b'] = param(4.0)
    paths = 'groups/0/0/W groups/0/0/b groups/1/x groups/2/1/0 history/2 counts/b'
    assert names(model) == paths.split()
    assert [id(p) for p in model.params()] == [id(p) for _, p in model.named_params()]
    # a short list of plain data is watched item by item: a slot filled in place
    model.plain = [None, 2]
    list(model.params())
    model.plain[0] = param(5.0)
    assert len(list(model.params())) == 7
    # the rule's one hole: in place of an item of a long list of plain data
    model.vocab = [f'w{i}' for i in range(100)]
    list(model.params())
    model.vocab[0] = param(6.0)
    assert len(list(model.params())) == 7
    model.vocab = model.vocab  # assigned again: seen
    assert len(list(model.params())) == 8


def test_a_layer_put_into_a_slot_of_a_short_list_is_trained():
    # a layer made earlier and put into [None] by forward was in named_params() but
    # not in params(): the optimizer never updated it
    from dezero.models import Model

    class Net(Model):
        def __init__(self, make):
            super().__init__()
            self.make = make
            self.blocks = [None]

        def forward(self, x):
            if self.blocks[0] is None:
                self.blocks[0] = self.make()
            return self.blocks[0](x)

    spare = [Linear(2, in_size=2)]
    net = Net(spare.pop)
    assert list(net.params()) == []
    net(np.ones((1, 2), np.float32))
    assert [id(p) for p in net.params()] == [id(p) for _, p in net.named_params()]
    assert len(list(net.params())) == 2


def test_params_follow_the_order_of_a_reordered_dict():
    # a dict whose keys came back in another order kept giving the old order
    model = Layer()
    first, second = Linear(2, in_size=2), Linear(2, in_size=2)
    model.d = {'a': first, 'b': second}
    list(model.params())
    model.d['a'] = model.d.pop('a')  # now b, a
    assert [id(p) for p in model.params()] == [id(p) for _, p in model.named_params()]
    assert next(iter(model.params())) is second.W


def test_summary_passes_keyword_arguments_to_forward(capsys):
    # summary(*inputs) could not pass is_causal=True and the like
    class Scaled(Layer):
        def __init__(self):
            super().__init__()
            self.fc = Linear(2, in_size=3)

        def forward(self, x, scale=1.0, file=None):
            assert scale == 2.0 and file is None
            return self.fc(x) * scale

    layer = Scaled()
    layer.summary(np.ones((4, 3), np.float32), scale=2.0)
    assert '(4, 2)' in capsys.readouterr().out
    with pytest.raises(
        TypeError, match=r'Scaled\.summary: keyword arguments for forward \(scale\)'
    ):
        layer.summary(scale=2.0)


def test_a_layer_put_into_a_slot_of_a_long_list_of_placeholders_is_trained():
    # a list of more than 64 items is watched by its length only, unless it holds
    # None: slots waiting for layers, filled in place
    from dezero.models import Model

    made = [Linear(1, in_size=2) for _ in range(100)]  # made before: no new layer

    class Heads(Model):
        def __init__(self):
            super().__init__()
            self.heads = [None] * 100

        def forward(self, x, i):
            if self.heads[i] is None:
                self.heads[i] = made[i]
            return self.heads[i](x)

    model = Heads()
    assert list(model.params()) == []
    model(np.ones((1, 2), np.float32), 70)
    assert [id(p) for p in model.params()] == [id(made[70].W), id(made[70].b)]


def test_params_assigned_to_a_layer_freeze_it_as_in_the_book():
    # the book calls each layer's params(): a function assigned to a layer's own
    # params leaves it out of training, as a class's override does
    from dezero.optimizers import SGD

    model = Layer()
    model.l1, model.l2 = Linear(2, in_size=2), Linear(2, in_size=2)
    optimizer = SGD(0.1).setup(model)
    assert len(list(model.params())) == 4
    model.l1.params = lambda: iter(())
    assert [id(p) for p in model.params()] == [id(model.l2.W), id(model.l2.b)]
    before = model.l1.W.data.copy()
    F.sum(model.l2(model.l1(np.ones((1, 2), np.float32)))).backward()
    optimizer.update()
    np.testing.assert_array_equal(model.l1.W.data, before)
    del model.l1.params
    assert len(list(model.params())) == 4


def test_patching_a_layers_class_to_freeze_it_is_seen_by_params():
    # the kept list of parameters decided once whether a layer overrides params():
    # a class patched after the first step went on being trained
    from dezero.optimizers import SGD

    class Encoder(Linear):
        pass

    model = Layer()
    model.enc, model.head = Encoder(3, in_size=2), Linear(1, in_size=3)
    optimizer = SGD(0.1).setup(model)
    x = np.ones((4, 2), np.float32)
    F.sum(model.head(model.enc(x))).backward()
    optimizer.update()
    assert len(list(model.params())) == 4
    Encoder.params = lambda self: iter(())  # freezes every Encoder from now on
    assert [id(p) for p in model.params()] == [id(model.head.W), id(model.head.b)]
    before = model.enc.W.data.copy()
    model.cleargrads()
    F.sum(model.head(model.enc(x))).backward()
    optimizer.update()
    np.testing.assert_array_equal(model.enc.W.data, before)
    del Encoder.params
    assert len(list(model.params())) == 4

    class Frozen(Linear):
        def params(self):
            return iter(())

    model.enc.__class__ = Frozen  # a layer's class changed in place
    assert [id(p) for p in model.params()] == [id(model.head.W), id(model.head.b)]
    model.enc.__class__ = Encoder
    assert len(list(model.params())) == 4


def test_a_first_call_nests_as_deep_as_later_calls():
    # the first call of a lazy model took two more frames per level (to take back
    # what it creates if it raises), and ran out of stack at half the depth
    class Node(Layer):
        def __init__(self, child):
            super().__init__()
            self.fc = Linear(2)
            self.child = child

        def forward(self, x):
            y = self.fc(x)
            return y if self.child is None else self.child(y)

    node = None
    for _ in range(250):
        node = Node(node)
    assert node(np.ones((1, 2), np.float32)).shape == (1, 2)


@pytest.mark.parametrize('frozen', ['avg_mean', 'avg_var'])
def test_batch_norm_refuses_a_read_only_running_statistic_before_changing_either(frozen):
    # the layer's avg_mean moved before the read-only avg_var raised, on every retry
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    bn = BatchNorm()
    bn(x)
    getattr(bn, frozen).data = np.broadcast_to(getattr(bn, frozen).data.copy(), (3,))
    before = [bn.avg_mean.data.copy(), bn.avg_var.data.copy()]
    for _ in range(2):
        with pytest.raises(
            ValueError,
            match=rf'BatchNorm: {frozen} is read-only; training updates it in place, so '
            rf'{frozen}.data must be a writeable array',
        ):
            bn(x)
    np.testing.assert_array_equal(bn.avg_mean.data, before[0])
    np.testing.assert_array_equal(bn.avg_var.data, before[1])
    with dezero.test_mode():  # read, not written
        assert bn(x).shape == (4, 3)


def test_batch_norm_takes_eps_and_decay_as_keywords():
    x = np.arange(12, dtype=np.float32).reshape(4, 3) ** 1.5
    bn = BatchNorm(eps=1e-3, decay=0.5)
    y = bn(x)
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    expected = F.batch_norm(
        x, np.ones(3, np.float32), np.zeros(3, np.float32), mean, var, 0.5, 1e-3
    )
    np.testing.assert_array_equal(y.data, expected.data)
    np.testing.assert_array_equal(bn.avg_mean.data, mean)
    np.testing.assert_array_equal(bn.avg_var.data, var)
    assert repr(bn) == 'BatchNorm(channels=3, eps=0.001, decay=0.5)'
    assert repr(BatchNorm()) == 'BatchNorm(channels=?)'
    import copy

    twin = copy.deepcopy(bn)
    assert (twin.eps, twin.decay) == (1e-3, 0.5)


@pytest.mark.parametrize(
    'options, error, words',
    [
        ({'eps': 0.0}, ValueError, 'BatchNorm: eps must be positive and finite, got 0.0'),
        ({'eps': float('inf')}, ValueError, 'BatchNorm: eps must be positive and finite'),
        ({'eps': '1e-5'}, TypeError, 'BatchNorm: eps must be a real number'),
        ({'decay': 1.5}, ValueError, r'BatchNorm: decay must be in \[0, 1\], got 1.5'),
        ({'decay': float('nan')}, ValueError, r'BatchNorm: decay must be in \[0, 1\]'),
        ({'decay': True}, TypeError, 'BatchNorm: decay must be a real number'),
    ],
)
def test_batch_norm_refuses_bad_eps_and_decay(options, error, words):
    with pytest.raises(error, match=words):
        BatchNorm(**options)


def test_batch_norm_takes_no_positional_arguments():
    with pytest.raises(TypeError):
        BatchNorm(1e-5)


def test_batch_norm_with_pytorchs_eps_and_decay_matches_torch_batch_norm():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    t_bn = torch.nn.BatchNorm1d(3).double()  # eps=1e-5, momentum=0.1
    bn = BatchNorm(eps=t_bn.eps, decay=1 - t_bn.momentum)
    for _ in range(3):
        x = rng.standard_normal((5, 3)) * 0.01
        y = bn(x.astype(np.float64))
        np.testing.assert_allclose(y.data, t_bn(torch.from_numpy(x)).detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(bn.avg_mean.data, t_bn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.avg_var.data, t_bn.running_var.numpy(), rtol=1e-12)


def test_a_layer_pickled_by_the_books_dezero_is_refused_by_name():
    # the default reduction of an object of the book's Linear: its attributes, the
    # names of its parameters in the set _params
    import copyreg
    import pickle

    class PickledAs:
        def __reduce__(self):
            state = {'_params': {'W', 'b'}, 'in_size': None, 'out_size': 3, 'dtype': np.float32}
            return copyreg._reconstructor, (Linear, object, None), state

    with pytest.raises(TypeError, match=r"Linear: this pickle holds a layer of the book's DeZero"):
        pickle.loads(pickle.dumps(PickledAs()))


class _Endless(collections.abc.Sequence):
    """A Sequence of the user's own whose indexing never raises IndexError (a ring):
    iterating it would never end (here it stops, failing, after 100 items)."""

    def __len__(self):
        return 3

    def __getitem__(self, i):
        if i >= 100:
            raise AssertionError('the ring was iterated')
        return [1, 2, 3][i % 3]


class _Unconnected(collections.abc.Mapping):
    """A Mapping of the user's own that cannot be iterated yet (a closed connection)."""

    def __len__(self):
        return 1

    def __getitem__(self, key):
        raise RuntimeError('not connected')

    def __iter__(self):
        raise RuntimeError('not connected')


@pytest.mark.parametrize('container', [_Endless, _Unconnected])
def test_a_container_class_of_the_users_own_is_not_looked_into(container):
    layer = Layer()
    layer.data = container()  # runs none of its code (iterating _Endless never ends)
    assert layer.data.__class__ is container
    assert list(layer.params()) == []


# ---- layers nested deep ----------------------------------------------------------------------
def test_layers_nested_a_thousand_deep_are_described_without_recursion():
    # the walk of summary(), repr() and the running statistics (Model.plot) recursed
    class Node(Layer):
        def __init__(self, child):
            super().__init__()
            self.lin = Linear(2, in_size=2)
            self.child = child

    root = None
    for _ in range(1200):
        root = Node(root)
    root.norm = BatchNorm()
    found = dezero.layers.running_statistics(root)
    assert [id(p) for p in found] == [id(root.norm.avg_mean), id(root.norm.avg_var)]
    rows = dezero.layers._tree(root, False)
    assert len(rows) == 2 * 1200 + 1  # each node and its Linear, and the BatchNorm
    assert rows[-2][:2] == (1200, 'lin: Linear(in=2, out=2)')
    assert rows[-1][:2] == (1, 'norm: BatchNorm(channels=?)')  # after all inside child
    assert repr(root).splitlines()[2:4] == ['  child: Node', '    lin: Linear(in=2, out=2)']


def test_replacing_a_layer_without_parameters_says_what_is_lost():
    # the message said its parameters would leave params(): it has none
    class Act(Layer):
        def forward(self, x):
            return F.relu(x)

    class Net(dezero.Model):
        def __init__(self):
            super().__init__()
            self.act = Act()
            self.fc = Linear(2)

        def forward(self, x):
            return self.fc(self.act(x))

    net = Net()
    with pytest.raises(TypeError) as info:
        net.act = F.relu
    message = str(info.value)
    assert "the attribute 'act' holds a layer (Act)" in message
    assert 'take it out of the model' in message and 'parameters' not in message
    loop = []
    loop.append(loop)
    net.blocks = [Act(), loop]
    with pytest.raises(TypeError, match='take it out of the model'):
        net.blocks = 0


# --------------------------------------------------------------------------------------
# __slots__ in a layer's class
# --------------------------------------------------------------------------------------
class Slotted(Layer):
    __slots__ = ('g',)

    def forward(self, x):
        return x * self.g


class SlottedChild(Slotted):
    pass


@pytest.mark.parametrize(
    'make',
    [
        lambda: param(1.0),
        lambda: Linear(2),
        lambda: [Linear(2)],
        lambda: (1.0, param(1.0)),
        lambda: {'a': [param(1.0)]},
    ],
)
@pytest.mark.parametrize('cls', [Slotted, SlottedChild])
def test_a_member_assigned_to_a_slot_is_refused(cls, make):
    # it was stored in the slot, outside the record of members: never trained or saved
    layer = cls()
    pattern = (
        rf"^{cls.__name__}: the attribute 'g' is a slot \(__slots__\).*never be trained.*"
        r"remove 'g' from __slots__"
    )
    with pytest.raises(TypeError, match=pattern):
        layer.g = make()
    assert not hasattr(layer, 'g') and list(layer.params()) == []


def test_a_slot_takes_values_that_are_not_members():
    layer = SlottedChild()
    for value in (2.0, None, [1, 2], (3, 'a'), {}, np.ones(2)):
        layer.g = value
        assert layer.g is value and list(layer.params()) == []
    layer.g = 2.0
    assert layer(np.ones(2)).data.tolist() == [2.0, 2.0]


def test_a_slot_added_to_params_is_named_as_a_slot():
    # the message said that the attribute is not set, though it held 2.0
    layer = Slotted()
    layer.g = 2.0
    layer._params.add('g')
    pattern = r"^Slotted: 'g' was added to _params, but the attribute is a slot \(__slots__\)"
    with pytest.raises(TypeError, match=pattern) as info:
        list(layer.params())
    assert "remove 'g' from __slots__" in str(info.value)


class Tempered(dezero.Model):
    __slots__ = ('temperature', 'unset')

    def __init__(self):
        super().__init__()
        self.temperature = 0.5
        self.l = Linear(2)

    def forward(self, x):
        return self.l(x) / self.temperature


@pytest.mark.parametrize(
    'duplicate',
    [copy.copy, copy.deepcopy, lambda layer: pickle.loads(pickle.dumps(layer))],
    ids=['copy', 'deepcopy', 'pickle'],
)
def test_copies_and_pickles_keep_the_values_of_slots(duplicate):
    # the copy had no temperature: the state held the instance dict alone
    model = Tempered()
    x = np.ones((1, 3), np.float32)
    y = model(x).data
    other = duplicate(model)
    assert other.temperature == 0.5 and not hasattr(other, 'unset')
    np.testing.assert_array_equal(other(x).data, y)


def test_the_state_of_a_layer_without_slots_is_its_dict_as_before():
    state = Linear(2, in_size=2).__getstate__()
    assert type(state) is dict and '_dezero_names' in state


# --------------------------------------------------------------------------------------
# A layer's own data under the names of dezero's methods
# --------------------------------------------------------------------------------------
# The methods and class attributes of dezero's Layer that the book's Layer has not (a
# layer written for the book may hold data of its own under these names), and summary,
# which only its caller calls.
DEZERO_ONLY = [
    'hyperparameters',
    'named_params',
    'param_specs',
    '_members',
    '_walk',
    '_param_list',
    '_named_sublayers',
    '_param_paths',
    '_lazy_specs',
    '_fit_planned',
    '_fit_loaded',
    '_watched_forward',
    '_statistics',
]
BOOKS_LAYER = [
    '_flatten_params',
    '_params',
    'cleargrads',
    'forward',
    'load_weights',
    'params',
    'save_weights',
    'to_cpu',
    'to_gpu',
]


def test_every_method_that_the_books_layer_lacks_is_listed():
    own = {n for n in vars(Layer) if not n.startswith('__')} - {'summary', 'keep_outputs'}
    assert own - set(BOOKS_LAYER) - {'_state_names'} == set(DEZERO_ONLY)


class Shadowing(dezero.Model):
    """A model holding data of its own under the names ``shadow``."""

    def __init__(self, shadow=()):
        super().__init__()
        self.l0 = Linear(4)
        self.bn = BatchNorm()
        self.l1 = Linear(2)
        for name in shadow:
            setattr(self, name, {'hidden': 4} if name == 'hyperparameters' else ['a', 'b'])

    def forward(self, x):
        return self.l1(F.relu(self.bn(self.l0(x))))


def run_shadowing(shadow, tmp_path):
    """What printing, summary, save_weights, load_weights (into a model not called
    yet), cleargrads and one step of SGD give for a Shadowing(shadow)."""
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.random.seed(0)
    model = Shadowing(shadow)
    out = io.StringIO()
    model.summary(x, file=out)
    texts = [repr(model), out.getvalue()]
    model.save_weights(tmp_path / 'w.npz')
    with np.load(tmp_path / 'w.npz') as f:
        saved = {k: f[k] for k in f.files}
    other = Shadowing(shadow)
    other.load_weights(tmp_path / 'w.npz')
    loaded = [p.data for _, p in sorted(dezero.Model.named_params(other))]
    F.sum(model(x)).backward()
    model.cleargrads()
    cleared = [p.grad for p in model.params()]
    trained = Shadowing(shadow)
    trained.load_weights(tmp_path / 'w.npz')
    F.sum(trained(x)).backward()
    SGD(0.1).setup(trained).update()
    dezero.graph.draw_graph(F.sum(trained(x)), model=trained)
    after = [p.data for p in trained.params()]
    return texts, saved, loaded, cleared, after


def test_data_attributes_named_as_dezero_methods_leave_the_model_working(tmp_path):
    # print, summary, save/load_weights, cleargrads and the optimizer raised
    # "'list' object is not callable": they called the layer's attribute
    plain = run_shadowing((), tmp_path)
    texts, saved, loaded, cleared, after = run_shadowing(DEZERO_ONLY, tmp_path)
    assert texts == plain[0]
    assert saved.keys() == plain[1].keys()
    assert all(np.array_equal(saved[k], plain[1][k]) for k in saved)
    assert all(np.array_equal(a, b) for a, b in zip(loaded, plain[2], strict=True))
    assert cleared == plain[3] == [None] * 8
    assert all(np.array_equal(a, b) for a, b in zip(after, plain[4], strict=True))


def test_a_subclass_override_of_a_dezero_method_is_still_used():
    class Wide(Linear):
        def hyperparameters(self):
            return {'wide': True}

    assert repr(Wide(2)) == 'Wide(wide=True)'


# --------------------------------------------------------------------------------------
# A Parameter held as the first state of a recurrence
# --------------------------------------------------------------------------------------
class LearntStart(Layer):
    def __init__(self):
        super().__init__()
        self.h0 = Parameter(np.zeros((1, 3), np.float32), name='h0')
        self.h = None

    def forward(self, x):
        if self.h is None:
            self.h = self.h0
        self.h = F.tanh(self.h + x)
        return self.h


def test_a_parameter_replaced_by_state_is_told_to_be_declared_as_state():
    # the message advised assigning to h.data, which would overwrite h0
    layer = LearntStart()
    with pytest.raises(TypeError) as info:
        layer(np.ones((1, 3), np.float32))
    message = str(info.value)
    assert message.startswith(
        "LearntStart: the attribute 'h' holds the Parameter that 'h0' holds too"
    )
    assert 'state kept from one call to the next: declare it in the class attribute ' in message
    assert "_state_names = ('h',)" in message and 'del self.h' in message
    assert "assigning to h.data would change the values of 'h0'" in message
    assert np.all(layer.h0.data == 0)

    class Declared(LearntStart):
        _state_names = ('h',)

    layer = Declared()
    for _ in range(2):
        layer(np.ones((1, 3), np.float32))
    assert [n for n, _ in layer.named_params()] == ['h0']


def test_a_parameter_replaced_by_a_variable_mentions_state_names():
    layer = Layer()
    layer.s = param(1.0)
    with pytest.raises(TypeError) as info:
        layer.s = Variable(np.array(2.0))
    message = str(info.value)
    assert 'To change its values, assign to s.data' in message
    assert "if 's' holds state kept from one call to the next, declare it" in message
    assert "_state_names = ('s',)" in message

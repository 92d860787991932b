"""Variable.register_hook and dezero.utils.graph_stats."""

import gc
import weakref

import numpy as np
import pytest

import dezero.functions as F
from dezero import Function, Parameter, Variable
from dezero.utils import graph_stats


def recorder(calls, result=None):
    """A hook that appends the gradient array it sees to ``calls`` and returns ``result``."""

    def hook(g):
        assert isinstance(g, Variable)
        calls.append(g.data.copy())
        return result

    return hook


# ---- register_hook: when it runs and what it sees --------------------------------------
def test_leaf_hook_sees_the_gradient_summed_over_all_paths_once():
    x = Variable(np.array([1.0, 2.0]))
    calls = []
    x.register_hook(recorder(calls))
    y = F.sum(x * x + x * 3.0)  # dy/dx = 2x + 3
    y.backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [5.0, 7.0])
    np.testing.assert_array_equal(x.grad.data, [5.0, 7.0])


def test_intermediate_hook_runs_once_after_accumulation_and_its_result_flows_on():
    x = Variable(np.array([1.0, -2.0]))
    h = x * 2.0
    calls = []
    h.register_hook(recorder(calls, result=None))
    h.register_hook(lambda g: g * 10.0)  # replaces dy/dh
    y = F.sum(h * h + h)  # dy/dh = 2h + 1 = [5, -7]
    y.backward(retain_grad=True)
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [5.0, -7.0])
    np.testing.assert_array_equal(h.grad.data, [50.0, -70.0])
    np.testing.assert_array_equal(x.grad.data, [100.0, -140.0])  # 2 * replaced


def test_hooks_run_in_registration_order_and_each_sees_the_previous_result():
    x = Variable(np.array(3.0))
    seen = []
    x.register_hook(lambda g: g + 1.0)
    x.register_hook(recorder(seen, result=np.array(-1.0)))  # an array is accepted
    (x * 2.0).backward()
    assert seen == [np.array(3.0)]  # 2 + 1
    assert x.grad.data == -1.0


def test_leaf_hook_sees_this_pass_gradient_before_it_is_added_to_grad():
    x = Variable(np.array(1.5))
    calls = []
    x.register_hook(recorder(calls, result=None))
    for _ in range(2):  # no cleargrad: .grad accumulates, the hook does not
        (x * 4.0).backward()
    assert calls == [4.0, 4.0]
    assert x.grad.data == 8.0


def test_hook_on_the_output_sees_the_seed_and_scales_every_gradient():
    x = Variable(np.array([1.0, 2.0]))
    y = x * x
    calls = []
    y.register_hook(recorder(calls, result=Variable(np.array([3.0, 3.0]))))
    y.backward()
    np.testing.assert_array_equal(calls[0], [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [6.0, 12.0])
    leaf = Variable(np.array(2.0))  # backward() from a leaf runs its hooks too
    leaf.register_hook(lambda g: g * 5.0)
    leaf.backward()
    assert leaf.grad.data == 5.0


def test_hooks_on_each_output_of_a_two_output_function():
    class Split(Function):
        def forward(self, x):
            return x[:1].copy(), x[1:].copy()

        def backward(self, g0, g1):
            return F.concat([g0, g1], axis=0)

    x = Variable(np.array([1.0, 2.0, 3.0]))
    a, b = Split()(x)
    a.register_hook(lambda g: g * 100.0)
    b_calls = []
    b.register_hook(recorder(b_calls))
    y = F.sum(a * 2.0) + F.sum(b * 3.0)
    y.backward()
    np.testing.assert_array_equal(b_calls[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.data, [200.0, 3.0, 3.0])


def test_gradient_clipping_hook_on_a_parameter():
    w = Parameter(np.array([0.5, -4.0, 10.0], dtype=np.float32))
    w.register_hook(lambda g: F.clip(g, -1.0, 1.0))
    loss = F.sum(w * w)  # grad 2w = [1, -8, 20]
    loss.backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.data, [1.0, -1.0, 1.0])


def test_replacement_is_differentiable_with_create_graph():
    x = Variable(np.array(2.0))
    h = x * x  # dh/dx = 2x
    handle = h.register_hook(lambda g: g * h)  # replaces dy/dh = 1 by h = x**2
    y = h * 1.0
    y.backward(create_graph=True)
    gx = x.grad  # x**2 * 2x = 2 x**3 = 16
    assert gx.data == 16.0
    handle.remove()  # else it would act again where gx's graph passes through h
    x.cleargrad()
    gx.backward()  # 6 x**2 = 24
    assert x.grad.data == 24.0


@pytest.mark.parametrize('where', ['intermediate', 'leaf'])
def test_an_array_from_a_hook_in_a_recorded_pass_refuses_to_be_differentiated(where):
    # d/dx of dy/dx for y = sin(x)**2 with a hook doubling dy/dh (h = sin x), or
    # y = x**3 with a hook doubling dy/dx.  An array has no derivative: taken as a
    # constant, the second derivative would silently lose the path through the hook.
    x = Variable(np.array([0.7, -1.3]))
    if where == 'intermediate':
        h = F.sin(x)
        h.register_hook(lambda g: g.data * 2)
        y = h * h
    else:
        x.register_hook(lambda g: g.data * 2)
        y = x**3
    y.backward(create_graph=True)
    gx = x.grad
    expected = 4 * np.sin(x.data) * np.cos(x.data) if where == 'intermediate' else 6 * x.data**2
    np.testing.assert_allclose(gx.data, expected)  # the first derivative is right
    x.cleargrad()
    with pytest.raises(TypeError, match=r'gradient hook .* returned an array, not a Variable'):
        gx.backward()


def test_a_variable_from_a_hook_in_a_recorded_pass_is_differentiated_through():
    x = Variable(np.array([0.7, -1.3]))
    h = F.sin(x)
    h.register_hook(lambda g: g * 2)
    (h * h).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    gx.backward()  # gx = 4 h cos x; the hook doubles the path through h again, as in PyTorch
    c, s = np.cos(x.data), np.sin(x.data)
    np.testing.assert_allclose(x.grad.data, 2 * 4 * c * c - 4 * s * s)


# ---- handles ---------------------------------------------------------------------------
def test_handle_remove_stops_the_hook_and_is_idempotent():
    x = Variable(np.array(1.0))
    calls = []
    handle = x.register_hook(recorder(calls))
    other = x.register_hook(lambda g: g * 2.0)
    (x * 3.0).backward()
    handle.remove()
    handle.remove()
    x.cleargrad()
    (x * 3.0).backward()
    assert calls == [3.0]
    assert x.grad.data == 6.0  # the other hook still runs
    other.remove()
    x.cleargrad()
    (x * 3.0).backward()
    assert x.grad.data == 3.0
    assert x._hooks is None


def test_handle_as_context_manager():
    x = Variable(np.array(1.0))
    with x.register_hook(lambda g: g * 0.0):
        (x * 3.0).backward()
    assert x.grad.data == 0.0
    x.cleargrad()
    (x * 3.0).backward()
    assert x.grad.data == 3.0


def test_a_handle_does_not_keep_its_variable_alive():
    x = Variable(np.array(1.0))
    handle = x.register_hook(lambda g: g)
    ref = weakref.ref(x)
    del x
    gc.collect()
    assert ref() is None
    handle.remove()  # harmless once the variable is gone


def test_removing_a_hook_works_once_the_variable_is_gone():
    # the creator kept running the hook of the dropped variable: remove() did nothing
    x = Variable(np.array([0.5]))
    a = F.sin(x)
    handle = a.register_hook(lambda g: g * 0)
    y = F.sum(a * 3.0)
    del a
    handle.remove()
    handle.remove()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 3 * np.cos([0.5]))


def test_a_hook_registered_after_the_last_one_was_removed_runs():
    x = Variable(np.array([0.5]))
    a = F.sin(x)
    with a.register_hook(lambda g: g * 0):
        pass
    assert a._hooks is None  # none left: the pass skips the variable
    a.register_hook(lambda g: g * 2)
    y = F.sum(a * 3.0)
    del a
    y.backward()
    np.testing.assert_allclose(x.grad.data, 6 * np.cos([0.5]))


def test_a_hook_removed_by_an_earlier_hook_does_not_run_in_that_pass():
    # the pass ran every hook registered when it reached the variable, removed or not
    x = Variable(np.array([2.0]))
    calls = []
    handles = []
    x.register_hook(lambda g: handles[0].remove())
    handles.append(x.register_hook(recorder(calls, Variable(np.array([0.0])))))
    later = []
    x.register_hook(lambda g: x.register_hook(recorder(later)) and None)
    (x * 3.0).backward()
    assert calls == []
    assert x.grad.data == 3.0
    assert later == []  # a hook registered during the pass runs from the next one
    x.cleargrad()
    (x * 3.0).backward()
    assert len(later) == 1


@pytest.mark.parametrize('scales', [(0.0, None), (1.0, 100.0)], ids=['first', 'both'])
def test_hooks_on_the_outputs_of_a_function_object_called_twice_stay_with_their_call(scales):
    # the second call ran on a copy sharing the first call's hooks: a hook on one
    # dropped output ran on the other's gradient too
    sin = F.Sin()
    x1, x2 = Variable(np.array([0.5])), Variable(np.array([0.5]))
    a1 = sin(x1)
    a1.register_hook(lambda g: g * scales[0])
    a2 = sin(x2)
    if scales[1] is not None:
        a2.register_hook(lambda g: g * scales[1])
    loss = F.sum(a2 * 3.0) + F.sum(a1 * 3.0)
    del a1, a2
    loss.backward()
    expected = 3 * np.cos([0.5])
    np.testing.assert_allclose(x1.grad.data, scales[0] * expected)
    np.testing.assert_allclose(x2.grad.data, (scales[1] or 1.0) * expected)


def test_bad_hooks_and_bad_return_values_are_refused_clearly():
    x = Variable(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match='register_hook: expected a callable'):
        x.register_hook(3)
    handle = x.register_hook(lambda g: np.ones(3))
    with pytest.raises(ValueError, match=r'shape \(3,\) for a variable of shape \(2,\)'):
        F.sum(x * 2.0).backward()
    handle.remove()
    x.register_hook(lambda g: [1.0, 2.0])
    with pytest.raises(TypeError, match='returned list; expected None, a Variable'):
        F.sum(x * 2.0).backward()


# ---- graph_stats -----------------------------------------------------------------------
def test_graph_stats_of_a_leaf():
    x = Variable(np.zeros(3))
    stats = graph_stats(x)
    assert stats == (0, 1, 24, 0)
    assert (stats.functions, stats.variables, stats.nbytes, stats.grad_nbytes) == (0, 1, 24, 0)
    assert str(stats) == '0 functions, 1 variables, 24 bytes of data, 0 bytes of gradients'


def test_graph_stats_small_graph_by_hand_and_gradients():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = x * x + x  # Mul(x, x), Add(x*x, x); variables y, x, x*x
    # Add reads no values, so the graph keeps x*x as a stand-in without data
    assert graph_stats(y) == (2, 3, 2 * 24, 0)
    y.backward()  # only x keeps its gradient
    assert graph_stats(y) == (2, 3, 2 * 24, 24)


def test_graph_stats_counts_shared_memory_once():
    base = np.arange(6.0)
    a = Variable(base)
    b = Variable(base)  # same array, another Variable
    y = F.broadcast_to(a, (1000, 6)) + F.reshape(b, (1, 6))  # views of `base`, and a sum
    # variables: y, a, b, the broadcast (a view) and the reshape (a view);
    # memory: base (48 bytes) and y (1000 * 6 * 8 bytes)
    assert graph_stats(y) == (3, 5, 48 + 48_000, 0)


def test_graph_stats_counts_arrays_kept_by_functions():
    class KeepsMask(Function):
        def forward(self, x):
            self.mask = np.ones((10, 10), dtype=bool)
            return x * 1.0

        def backward(self, gy):
            return gy

    x = Variable(np.zeros(2, dtype=np.float32))
    assert graph_stats(KeepsMask()(x)) == (1, 2, 8 + 8 + 100, 0)


def test_graph_stats_shows_higher_order_derivatives_of_tanh_growing():
    x = Variable(np.linspace(-1.0, 1.0, 5))  # 5 float64 values: 40 bytes an array
    y = F.tanh(x)
    assert graph_stats(y) == (1, 2, 80, 0)
    y.backward(create_graph=True)
    stats = []
    for order in range(1, 9):
        gx = x.grad
        x.cleargrad()
        stats.append(graph_stats(gx))
        gx.backward(create_graph=True)
    # order 1: gx = TanhGrad(y, gy) = gy * (1 - y*y): functions Tanh and TanhGrad;
    # variables gx, x, y, gy (four 40-byte arrays).
    assert stats[0] == (2, 4, 4 * 40, 0)
    for lower, higher in zip(stats, stats[1:]):
        assert higher.functions > lower.functions
        assert higher.variables > lower.variables
        assert higher.nbytes > lower.nbytes
    assert stats[-1].functions > 500 * stats[0].functions  # it grows about 2.6x per order


# ---- hooks in a first-order pass, on shared gradients, with retain_grad ------------------
def test_a_hook_computes_with_variables_in_a_first_order_pass():
    x = Variable(np.array([3.0, 4.0]))
    y = x * 1.0
    kinds = []

    def clip_to_norm_one(g):
        norm = F.sqrt(F.sum(g * g))
        kinds.append(type(norm))
        return g * (1.0 / float(norm.data))

    y.register_hook(clip_to_norm_one)
    F.sum(y).backward()
    assert kinds == [Variable]
    np.testing.assert_allclose(x.grad.data, [2**-0.5, 2**-0.5])


def test_a_hook_changing_its_gradient_in_place_changes_no_other():
    p, q = Variable(np.array([1.0, 2.0])), Variable(np.array([3.0, 4.0]))
    y = p + q  # Add gives both inputs one array

    def times_ten(g):
        g.data *= 10

    p.register_hook(times_ten)
    y.grad = np.ones(2)
    y.backward()
    np.testing.assert_array_equal(p.grad.data, [10.0, 10.0])
    np.testing.assert_array_equal(q.grad.data, [1.0, 1.0])


def test_a_hook_changing_a_recorded_gradient_in_place_changes_no_other():
    # with create_graph the hook got the very Variable Add passes to both inputs
    x, y = Variable(np.array([1.0, 2.0])), Variable(np.array([3.0, 4.0]))
    x.register_hook(lambda g: g.data.__imul__(0))
    F.sum((x + y) * np.array([5.0, 6.0])).backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])
    np.testing.assert_array_equal(y.grad.data, [5.0, 6.0])


def test_a_hook_on_an_intermediate_the_caller_dropped_still_runs():
    # the graph holds outputs weakly: the hooked variable died with the function's
    # frame, and its hook with it
    def forward(x):
        a = x * 2.0
        a.register_hook(lambda g: g * 0)
        return F.sum(F.exp(a))

    x = Variable(np.array([1.0, 2.0]))
    loss = forward(x)
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])
    # the creator keeps the hooks, not the variable: no cycle, so the graph goes as
    # soon as nothing holds it, without the collector
    creator = weakref.ref(loss.creator.inputs[0].creator)
    gc.disable()
    try:
        del loss
        assert creator() is None
    finally:
        gc.enable()


def test_a_graph_with_a_hooked_variable_is_freed_without_the_collector():
    x = Variable(np.ones(3))
    a = x * 2.0
    handle = a.register_hook(lambda g: g * 3)
    y = F.sum(F.exp(a))
    y.backward()
    refs = [weakref.ref(a), weakref.ref(a.creator)]
    gc.disable()
    try:
        del a, y, handle
        assert [r() for r in refs] == [None, None]
    finally:
        gc.enable()
    np.testing.assert_allclose(x.grad.data, 6 * np.exp(2.0) * np.ones(3))


def test_retain_grad_with_a_hook_on_the_output_gives_the_same_result_each_call():
    x = Variable(np.array(1.0))
    y = x * 3
    y.register_hook(lambda g: g * 2)
    for _ in range(3):
        x.cleargrad()
        y.backward(retain_grad=True)
        assert x.grad.data == 6.0 and y.grad.data == 1.0


def test_a_handle_keeps_neither_the_hook_nor_what_it_holds_alive():
    # handles kept for a later remove() held the hooks, and each closure's objects
    class Held:
        pass

    refs, handles = [], []
    gc.disable()
    try:
        for _ in range(3):
            x = Variable(np.ones(4))
            y = F.tanh(x) * 2.0
            held = Held()
            refs.append(weakref.ref(held))
            handles.append(y.register_hook(lambda g, held=held: None))
            F.sum(y).backward()
            del x, y, held
        assert all(r() is None for r in refs)
    finally:
        gc.enable()
    for handle in handles:
        handle.remove()  # nothing left to remove: does nothing


def test_a_hook_runs_on_a_variable_whose_data_was_set_to_none():
    # the book's t.data = None with a hook on t failed with an AttributeError
    t = F.matmul(Variable(np.ones((2, 3))), Variable(np.ones((3, 2))))
    seen = []
    t.register_hook(lambda g: seen.append(g.shape) or g * 2)
    w = Variable(np.ones(2))
    y = t + w
    t.data = None
    F.sum(y).backward()
    assert seen == [(2, 2)]
    np.testing.assert_array_equal(w.grad.data, [2.0, 2.0])

"""What the backward engine keeps and frees: gradients of one pass, intermediate
gradients during backward, and input arrays that no backward reads."""
import gc
import tracemalloc

import numpy as np
import pytest

import dezero.functions as F
from dezero import Function, Variable
from dezero.graph import get_dot_graph
from dezero.released import MIN_BYTES, ReleasedArray

BIG = (256, 256)                 # 512 KiB of float64: above the release threshold


class Double(Function):
    """y = 2 x; its backward reads neither input nor output values."""
    needs_input_data = False
    needs_output_data = False

    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy * 2

    def backward_arrays(self, gy):
        return gy * 2


class Square(Function):
    """y = x ** 2; its backward reads x."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * 2 * self.inputs[0]

    def backward_arrays(self, gy):
        return gy * 2 * self.inputs[0].data


def big(value=1.0):
    return Variable(np.full(BIG, value))


# --------------------------------------------------------------------------------------
# Gradients of one pass
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('create_graph', [False, True])
def test_a_retained_intermediate_gradient_is_not_propagated_twice(create_graph):
    x = Variable(np.array(3.0))
    h = x * x                               # dh/dx = 6
    y = h * 2.0
    y.backward(retain_grad=True, create_graph=create_graph)
    assert float(h.grad.data) == 2.0 and float(x.grad.data) == 12.0
    y.backward(retain_grad=True, create_graph=create_graph)
    # a second pass adds its own gradient once: the book's engine gave x 36 here
    assert float(h.grad.data) == 4.0 and float(x.grad.data) == 24.0


def test_intermediate_gradients_are_dropped_without_retain_grad():
    x = Variable(np.array([1.0, 2.0]))
    h = F.exp(x)
    y = F.sum(h * 3.0)
    y.backward()
    assert h.grad is None and y.grad is None
    np.testing.assert_allclose(x.grad.data, 3 * np.exp([1.0, 2.0]))


def test_a_leaf_reached_twice_gets_the_sum_and_an_old_gradient_is_not_changed():
    x = Variable(np.array([1.0, 2.0]))
    y = F.sum(x * 2.0 + x * 3.0)
    y.backward()
    first = x.grad
    np.testing.assert_array_equal(first.data, [5.0, 5.0])
    y = F.sum(x * 2.0 + x * 3.0)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [10.0, 10.0])
    np.testing.assert_array_equal(first.data, [5.0, 5.0])     # a new array, not +=


def test_gradients_shared_between_inputs_are_not_summed_in_place():
    a, b = Variable(np.ones(3)), Variable(np.ones(3))
    s = a + b                           # Add passes the same gradient to a and b
    y = F.sum(s * 1.0 + s * 1.0 + s * 1.0)
    y.backward()
    np.testing.assert_array_equal(a.grad.data, [3.0] * 3)
    np.testing.assert_array_equal(b.grad.data, [3.0] * 3)


def test_intermediate_gradients_are_freed_during_backward():
    """The peak of a 20-deep chain's backward holds a few gradients, not all 20."""
    def peak(retain_grad):
        x = big()
        y = x
        for _ in range(20):
            y = Square()(y)             # Square keeps its inputs: same data either way
        loss = F.sum(y)
        gc.collect()
        tracemalloc.start()
        try:
            loss.backward(retain_grad=retain_grad)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    nbytes = np.full(BIG, 1.0).nbytes
    lean, retained = peak(False), peak(True)
    assert lean < 5 * nbytes
    assert retained > 19 * nbytes


# --------------------------------------------------------------------------------------
# Input arrays that no backward reads
# --------------------------------------------------------------------------------------
def test_an_input_nobody_else_holds_is_released_and_backward_still_works():
    x = big(3.0)
    y = Double()(Double()(x))           # the middle result is held by the graph only
    assert type(y.creator.inputs[0].data) is np.ndarray     # not yet: no call since
    z = Double()(y)
    middle = y.creator.inputs[0]
    assert type(middle.data) is ReleasedArray
    assert middle.shape == BIG and middle.dtype == np.float64 and middle.ndim == 2
    assert middle.size == 256 * 256
    assert type(y.data) is np.ndarray           # the user holds y
    assert type(x.data) is np.ndarray           # and x
    F.sum(z).backward()
    np.testing.assert_array_equal(x.grad.data, np.full(BIG, 8.0))


def test_backward_releases_what_the_last_calls_left():
    x = big()
    y = Double()(Double()(x))
    y.backward()                        # no function call came between
    assert type(y.creator.inputs[0].data) is ReleasedArray
    np.testing.assert_array_equal(x.grad.data, np.full(BIG, 4.0))


def test_inputs_that_someone_holds_are_kept():
    x = big()
    h = Double()(x)                     # the user holds h
    y = Double()(h)
    pair = [Double()(x)]                # a list holds this one
    Double()(pair[0])
    hooked = Double()(x)
    hooked.register_hook(lambda g: None)
    hooked_out = Double()(hooked)
    del hooked
    Square()(y)                          # needs its input: y is never released
    Double()(y)
    for v in (h, pair[0], hooked_out.creator.inputs[0], y):
        assert type(v.data) is np.ndarray


def test_inputs_of_functions_that_read_them_are_kept():
    x = big()
    y = Square()(Double()(x) * 1.0)     # Square reads its (temporary) input
    Double()(y)
    assert type(y.creator.inputs[0].data) is np.ndarray


def test_small_arrays_are_not_released():
    x = Variable(np.ones(MIN_BYTES // 8 - 1))
    y = Double()(Double()(x))
    Double()(y)
    assert type(y.creator.inputs[0].data) is np.ndarray


def test_using_released_values_is_a_clear_error():
    x = big()
    y = Double()(Double()(x))
    Double()(y)
    middle = y.creator.inputs[0]
    for use in (lambda d: d + 1, lambda d: np.exp(d), lambda d: np.asarray(d),
                lambda d: d[0], lambda d: float(d), lambda d: np.ones(BIG) * d):
        with pytest.raises(RuntimeError, match=r'values of this intermediate Variable '
                                               r'\(shape \(256, 256\), float64\) were '
                                               r'released'):
            use(middle.data)
    assert 'released array of shape (256, 256)' in repr(middle)


def test_a_graph_with_released_arrays_can_still_be_drawn():
    x = big()
    y = Double()(Double()(x))
    Double()(y)
    dot = get_dot_graph(y, verbose=True)
    assert dot.count('(256, 256) float64') == 3


def test_a_chain_keeps_one_array_alive_not_all():
    nbytes = np.full(BIG, 1.0).nbytes
    x = big()
    gc.collect()
    tracemalloc.start()
    try:
        y = x
        for _ in range(30):
            y = Double()(y)
        alive = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert alive < 4 * nbytes
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, np.full(BIG, 2.0 ** 30))


class BookExp(Function):
    """y = exp(x) as the book writes it: backward reads the output, and the class
    says nothing about it."""

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        return gy * self.outputs[0]()


def test_the_output_of_a_function_that_may_read_it_is_kept():
    x = big(0.5)
    y = Double()(BookExp()(x))          # Double reads nothing, BookExp its output
    Double()(y)
    assert type(y.creator.inputs[0].data) is np.ndarray
    F.sum(y).backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(np.full(BIG, 0.5)))


def test_backward_pauses_the_garbage_collector_and_restores_it():
    seen = []

    class Probe(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, gy):
            seen.append(gc.isenabled())
            return gy

        backward_arrays = backward

    class Fails(Probe):
        def backward(self, gy):
            raise RuntimeError('boom')

        backward_arrays = backward

    assert gc.isenabled()
    Probe()(Variable(np.ones(2))).backward()
    with pytest.raises(RuntimeError, match='boom'):
        Fails()(Variable(np.ones(2))).backward()
    assert gc.isenabled()                      # back on, even after the error
    gc.disable()
    try:
        Probe()(Variable(np.ones(2))).backward(create_graph=True)
        assert not gc.isenabled()              # a collector the user turned off stays off
    finally:
        gc.enable()
    assert seen == [False, False]

"""What the backward engine keeps and frees: gradients of one pass, intermediate
gradients during backward, and the values the graph keeps for backward (only those a
function declares in ``retain_inputs`` and ``retain_outputs``)."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import dezero.functions as F
from dezero import Function, Variable
from dezero.graph import get_dot_graph

BIG = (256, 256)  # 512 KiB of float64


class Double(Function):
    """y = 2 x; its backward reads neither input nor output values."""

    retain_inputs = ()
    retain_outputs = ()

    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy * 2


class Square(Function):
    """y = x ** 2; its backward reads x."""

    retain_inputs = (0,)
    retain_outputs = ()

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.retained_inputs()
        return gy * 2 * x


def big(value=1.0):
    return Variable(np.full(BIG, value))


# --------------------------------------------------------------------------------------
# Gradients of one pass
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize('create_graph', [False, True])
def test_a_retained_intermediate_gradient_is_not_propagated_twice(create_graph):
    x = Variable(np.array(3.0))
    h = x * x  # dh/dx = 6
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
    np.testing.assert_array_equal(first.data, [5.0, 5.0])  # a new array, not +=


def test_gradients_shared_between_inputs_are_not_summed_in_place():
    a, b = Variable(np.ones(3)), Variable(np.ones(3))
    s = a + b  # Add passes the same gradient to a and b
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
            y = Square()(y)  # Square keeps its inputs: same data either way
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


@pytest.mark.parametrize('function', [Square, Double])
def test_a_gradient_is_freed_once_the_next_function_has_used_it(function):
    # at most the gradient coming in and the one going out are alive at once: a third
    # array, the gradient of the function before, held through the next backward,
    # raised the peak of every pass by one output's size
    x = big()
    y = x
    for _ in range(20):
        y = function()(y)
    loss = F.sum(y)
    gc.collect()
    tracemalloc.start()
    try:
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.5 * np.full(BIG, 1.0).nbytes


# --------------------------------------------------------------------------------------
# Values the graph keeps
# --------------------------------------------------------------------------------------
def test_an_input_no_backward_reads_is_freed_when_the_user_drops_it():
    x = big(3.0)
    h = Double()(x)
    y = Double()(h)
    h_ref, array_ref = weakref.ref(h), weakref.ref(h.data)
    del h
    assert h_ref() is None and array_ref() is None  # the graph holds a stand-in
    standin = y.creator.inputs[0]
    assert standin.shape == BIG and standin.dtype == np.float64 and standin.ndim == 2
    assert standin.size == 256 * 256
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, np.full(BIG, 4.0))


def test_an_input_a_backward_reads_is_kept_exactly_as_long_as_the_graph():
    x = big(3.0)
    h = Double()(x)
    y = Square()(h)
    array_ref = weakref.ref(h.data)
    del h
    assert array_ref() is not None  # Square's backward needs it
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, np.full(BIG, 24.0))  # 2 * 2 * (2 x)
    del y
    assert array_ref() is None  # gone with the graph


def test_what_the_user_holds_is_kept_whatever_the_graph_needs():
    x = big()
    h = Double()(x)
    y = Double()(h)
    assert type(h.data) is np.ndarray and type(x.data) is np.ndarray
    F.sum(y).backward(retain_grad=True)
    np.testing.assert_array_equal(h.grad.data, np.full(BIG, 2.0))  # h is the node


def test_the_output_of_a_function_that_reads_it_is_kept():
    x = big(0.5)
    y = Double()(BookExp()(x))  # Double reads nothing, BookExp its output
    e_ref = weakref.ref(y.creator.inputs[0])
    assert e_ref() is not None and type(e_ref().data) is np.ndarray
    F.sum(y).backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(np.full(BIG, 0.5)))


def test_reading_a_value_that_was_not_declared_is_a_clear_error():
    class Undeclared(Function):
        """y = x ** 2, whose backward reads x though it declares nothing."""

        retain_inputs = ()

        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * 2 * self.inputs[0]

    x = Variable(np.ones(3))
    y = Undeclared()(x * 1.0)  # a function's output: held as a stand-in
    for create_graph in (False, True):
        with pytest.raises(
            (RuntimeError, AttributeError), match=r'not kept for the backward pass.*retain_inputs'
        ):
            F.sum(y).backward(create_graph=create_graph)


def test_a_graph_with_stand_ins_can_still_be_drawn():
    x = big()
    y = Double()(Double()(x))
    dot = get_dot_graph(y, verbose=True)
    assert dot.count('(256, 256) float64') == 3
    assert dot.count('->') == 4


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
    np.testing.assert_array_equal(x.grad.data, np.full(BIG, 2.0**30))


class BookExp(Function):
    """y = exp(x) as the book writes it: backward reads the output, and the class
    says nothing about it (so it keeps everything, as the book's functions do)."""

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        return gy * self.outputs[0]()


def test_unchain_cuts_the_graph_where_it_holds_a_stand_in():
    x = big()
    h = Double()(x)
    y = Double()(h)  # the graph holds a stand-in for h
    h.unchain()
    F.sum(y).backward()
    assert x.grad is None
    np.testing.assert_array_equal(h.grad.data, np.full(BIG, 2.0))


def test_backward_pauses_the_garbage_collector_and_restores_it():
    seen = []

    class Probe(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, gy):
            seen.append(gc.isenabled())
            return gy

    class Fails(Probe):
        def backward(self, gy):
            raise RuntimeError('boom')

    assert gc.isenabled()
    Probe()(Variable(np.ones(2))).backward()
    with pytest.raises(RuntimeError, match='boom'):
        Fails()(Variable(np.ones(2))).backward()
    assert gc.isenabled()  # back on, even after the error
    gc.disable()
    try:
        Probe()(Variable(np.ones(2))).backward(create_graph=True)
        assert not gc.isenabled()  # a collector the user turned off stays off
    finally:
        gc.enable()
    assert seen == [False, False]

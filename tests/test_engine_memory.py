"""What the backward engine keeps and frees: gradients of one pass, intermediate
gradients during backward, and the values the graph keeps for backward (only those a
function declares in ``retain_inputs`` and ``retain_outputs``)."""

import copy
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Function, Variable
from dezero.functions.arithmetic import AddConstant
from dezero.graph import get_dot_graph
from dezero.utils import draw_graph

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


CONSTANT_USES = {
    'x + c': (lambda x, c: x + c, 1.0),
    'x - c': (lambda x, c: x - c, 1.0),
    'c - x': (lambda x, c: c - x, -1.0),
    'F.add': (lambda x, c: F.add(x, c), 1.0),
    'concat': (lambda x, c: F.concat([x, c]), 1.0),
    'stack': (lambda x, c: F.stack([x, c]), 1.0),
}


@pytest.mark.parametrize('use', CONSTANT_USES)
def test_a_constant_no_backward_reads_is_freed_when_the_user_drops_it(use):
    # the graph kept the array given with x until the graph died
    compute, sign = CONSTANT_USES[use]
    x = big(2.0)
    c = np.full(BIG, 3.0)
    c_ref = weakref.ref(c)
    gc.disable()  # freed by reference counting alone
    try:
        y = compute(x, c)
        del c
        assert c_ref() is None
    finally:
        gc.enable()
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, np.full(BIG, sign))


def test_a_constant_the_graph_let_go_of_is_read_while_the_caller_holds_it():
    x = Variable(np.ones(3), name='x')
    mask = np.array([0.0, -np.inf, 0.0])
    with dezero.detect_anomaly():  # the mask's infinity is passed on, not made
        y = x + mask
    f = y.creator
    assert f.c is mask and copy.copy(f).c is mask  # another call runs on a copy
    np.testing.assert_array_equal(f(x * 2.0).data, [2.0, -np.inf, 2.0])
    del mask
    assert f.c_is_gone and f.c_shape_dtype == ((3,), np.float64)  # pictures draw its shape
    with pytest.raises(AttributeError, match=r'AddConstant: its constant, an array of shape'):
        f.c  # its values are gone: no made-up zeros
    assert '(3,) float64' in get_dot_graph(y)
    with pytest.raises(RuntimeError, match='AddConstant: cannot copy or call again'):
        f(x)
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, np.ones(3))


def test_a_constant_function_made_by_hand_keeps_its_constant_to_be_called_again():
    # only the operator's one-call function lets go: this object's array is its own
    add_ones = AddConstant(np.ones(3))
    x1, x2 = Variable(np.zeros(3)), Variable(np.full(3, 2.0))
    np.testing.assert_array_equal(add_ones(x1).data, np.ones(3))
    np.testing.assert_array_equal(add_ones(x2).data, np.full(3, 3.0))


def test_a_picture_shows_a_constant_let_go_of_and_dropped_as_not_kept():
    x = Variable(np.full(3, 5.0), name='x')
    c = np.arange(3.0)
    y = x + c
    assert 'data [0. 1. 2.]' in draw_graph(y, show_values=True).source
    del c
    source = draw_graph(y, show_values=True).source
    assert 'data not kept' in source and '[0. 0. 0.]' not in source


def test_a_constant_among_the_inputs_stands_in_as_a_leaf():
    x = Variable(np.ones((2, 3)), name='x')
    c = Variable(np.zeros((2, 3)), name='c')
    c.requires_grad = False
    y = F.concat([x, c])
    stand_in = y.creator.inputs[1]
    assert stand_in.creator is None and not stand_in.requires_grad
    assert stand_in.shape == (2, 3) and stand_in.name == 'c'
    assert 'c\\n(2, 3) float64' in get_dot_graph(y)  # the variable, while alive
    c_ref = weakref.ref(c)
    del c
    assert c_ref() is None
    assert get_dot_graph(y).count('(2, 3) float64') == 2  # x and the stand-in for c
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


class SinCos(Function):
    """(sin x, cos x), whose backward reads both outputs."""

    retain_inputs = ()
    retain_outputs = (0, 1)

    def forward(self, x):
        return np.sin(x), np.cos(x)

    def backward(self, gs, gc):
        s, c = self.retained_outputs()
        return gs * c - gc * s


@pytest.mark.parametrize('used', [0, 1])
def test_a_declared_output_the_caller_dropped_is_named_when_backward_reads_it(used):
    # it came back as None, and backward failed with a TypeError; keeping its value
    # for the graph instead gave silently wrong gradients when it had been changed in
    # place, or cut by unchain(), before it was dropped
    x = Variable(np.array([0.3, 1.2]))
    outputs = SinCos()(x)
    y = F.sum(outputs[used] * 3.0)
    del outputs
    with pytest.raises(RuntimeError) as info:
        y.backward()
    message = str(info.value)
    assert f'SinCos.backward read its output {1 - used}, which the caller dropped' in message
    assert 'keep a reference' in message


def test_a_declared_output_kept_alive_is_read():
    x = Variable(np.array([0.3, 1.2]))
    s, c = SinCos()(x)
    F.sum(s * 3.0).backward()
    np.testing.assert_allclose(x.grad.data, 3 * np.cos(x.data))


def test_an_output_not_declared_retained_is_refused_once_gone():
    class Undeclared(SinCos):
        retain_outputs = (0,)

    x = Variable(np.array([0.3]))
    s, c = Undeclared()(x)
    y = F.sum(s * 3.0)
    del s, c
    with pytest.raises(
        RuntimeError, match=r'Undeclared.backward read its output 1, which was not kept'
    ):
        y.backward()


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

"""Copies of Variables: ``copy.deepcopy`` and ``pickle`` copy the data, the name and the
gradient of a Variable as a leaf (no graph behind it, however long its history), keep
its class (a Parameter stays one), and still copy layers and models whole."""

import copy
import multiprocessing
import pickle
import weakref

import numpy as np
import pytest

import dezero
import dezero.functions as F
import dezero.layers as L
from dezero import DataLoader, Parameter, Variable
from dezero.anomaly import AnomalyError
from dezero.download import _FolderInTheWay
from dezero.models import MLP, Model
from dezero.optimizers import SGD


def long_history(n=100):
    x = Variable(np.array([0.5, 1.0]), name='x')
    y = x
    for _ in range(n):
        y = F.sin(y)
    y.name = 'y'
    return x, y


def pickled(v):
    return pickle.loads(pickle.dumps(v))


COPIERS = pytest.mark.parametrize('copier', [copy.deepcopy, pickled], ids=['deepcopy', 'pickle'])


@pytest.mark.parametrize('copier', [copy.deepcopy, pickled], ids=['deepcopy', 'pickle'])
def test_a_variable_with_a_long_history_is_copied_as_a_leaf(copier):
    x, y = long_history(2000)  # a chain deeper than Python's recursion limit
    y.grad = Variable(np.array([1.0, 2.0]))
    c = copier(y)
    assert type(c) is Variable and c.creator is None and c.generation == 0
    assert c.name == 'y' and c.requires_grad
    np.testing.assert_array_equal(c.data, y.data)
    assert not np.shares_memory(c.data, y.data)
    assert c.grad is not y.grad and c.grad.data.tolist() == [1.0, 2.0]
    c.data += 1  # the copy is independent
    assert not np.array_equal(c.data, y.data)
    (c * 2).sum().backward()  # and trains as a leaf
    assert c.grad.data.tolist() == [3.0, 4.0]


@pytest.mark.parametrize('copier', [copy.deepcopy, pickled], ids=['deepcopy', 'pickle'])
def test_a_recorded_gradient_is_copied_as_a_leaf_too(copier):
    x, y = long_history(50)
    y.sum().backward(create_graph=True)
    assert x.grad.creator is not None
    c = copier(x)
    assert c.grad.creator is None
    np.testing.assert_array_equal(c.grad.data, x.grad.data)


@pytest.mark.parametrize('copier', [copy.deepcopy, pickled], ids=['deepcopy', 'pickle'])
def test_a_parameter_stays_a_parameter(copier):
    W = Parameter(np.ones((2, 2), np.float32), name='W')
    c = copier(W)
    assert type(c) is Parameter and c.name == 'W' and c.dtype == np.float32
    assert c.grad is None and not np.shares_memory(c.data, W.data)


def test_a_deep_copy_of_a_model_has_independent_parameters_and_keeps_shared_ones_shared():
    model = MLP((5, 2))
    y = model(np.ones((1, 3)))
    y.sum().backward()
    twin = copy.deepcopy(model)
    for p, q in zip(model.params(), twin.params()):
        assert type(q) is Parameter and q is not p
        np.testing.assert_array_equal(q.data, p.data)
        np.testing.assert_array_equal(q.grad.data, p.grad.data)
        assert not np.shares_memory(q.data, p.data)
    shared = Parameter(np.zeros(3))
    pair = copy.deepcopy([shared, shared])
    assert pair[0] is pair[1] and pair[0] is not shared


def test_a_model_and_a_recurrent_layer_after_some_steps_can_be_pickled():
    model = MLP((5, 2))
    model(np.ones((1, 3)))
    again = pickled(model)
    assert [p.shape for p in again.params()] == [p.shape for p in model.params()]
    rnn = L.RNN(4)
    for _ in range(3):
        rnn(np.ones((1, 3)))
    assert rnn.h.creator is not None
    restored = pickled(rnn)
    assert restored.h.creator is None
    np.testing.assert_array_equal(restored.h.data, rnn.h.data)


def test_attributes_of_a_subclass_of_its_own_are_copied():
    class Tagged(Variable):
        pass

    v = Tagged(np.ones(2))
    v.tag = 'mine'
    c = copy.deepcopy(v)
    assert type(c) is Tagged and c.tag == 'mine'


class TwoPart(Model):
    def __init__(self):
        super().__init__()
        self.body = L.Linear(4)
        self.head = L.Linear(3)

    def forward(self, x):
        return self.head(self.body(x))


def _head_change_after_a_step(model, opt):
    """How far one SGD step moves the head's weights."""
    x = np.ones((2, 2), np.float32)
    model(x)
    before = model.head.W.data.copy()
    loss = F.sum(model(x) ** 2)
    model.cleargrads()
    loss.backward()
    opt.update()
    return float(np.abs(model.head.W.data - before).max())


@pytest.mark.skipif('fork' not in multiprocessing.get_all_start_methods(), reason='needs fork')
def test_a_model_sent_to_a_forked_worker_after_a_change_trains_its_new_parameters():
    # the list params() keeps was sent along and, in a process forked before the
    # change, looked current: the optimizer stepped the old head, the new one never
    model = TwoPart()
    opt = SGD(lr=0.1).setup(model)
    _head_change_after_a_step(model, opt)  # params() listed and kept
    with multiprocessing.get_context('fork').Pool(1) as pool:
        model.head = L.Linear(5, in_size=4)
        moved = pool.apply(_head_change_after_a_step, (model, opt))
    assert moved > 0
    assert moved == _head_change_after_a_step(model, opt)


class Named(Model):
    def __init__(self):
        super().__init__()
        self.hidden = L.Linear(8)
        self.outputs = L.Linear(2)  # a member named as the last call's references

    def forward(self, x):
        return self.outputs(F.relu(self.hidden(x)))


@pytest.mark.parametrize('copier', [copy.copy, copy.deepcopy, pickled])
def test_members_named_inputs_or_outputs_are_copied(copier):
    model = Named()
    x = np.ones((1, 3), np.float32)
    y = model(x)
    twin = copier(model)
    assert [n for n, _ in twin.named_params()] == [n for n, _ in model.named_params()]
    np.testing.assert_array_equal(twin(x).data, y.data)


def test_a_shallow_copy_of_a_model_has_its_own_record_of_members():
    # the copy shared the record: a member added to the copy broke the original
    model = MLP((4, 2))
    model(np.ones((1, 3), np.float32))
    names = [n for n, _ in model.named_params()]
    twin = copy.copy(model)
    twin.extra = L.Linear(3)
    del twin.l0
    assert [n for n, _ in model.named_params()] == names
    twin_names = [n for n, _ in twin.named_params()]
    assert 'l0/W' not in twin_names and twin_names[-2:] == ['extra/W', 'extra/b']


class WithFunction(Model):
    def __init__(self):
        super().__init__()
        self.fc = L.Linear(3)
        self.act = F.Sigmoid()  # a function object kept by the model, as the book allows

    def forward(self, x):
        return self.act(self.fc(x))


@pytest.mark.parametrize('copier', [copy.deepcopy, pickled])
def test_a_model_holding_a_function_object_that_was_called_copies(copier):
    # pickle raised on the weak references to the function's last outputs
    model = WithFunction()
    x = np.ones((2, 2), np.float32)
    y = model(x)
    twin = copier(model)
    assert twin.act.inputs is None and twin.act.outputs is None
    np.testing.assert_array_equal(twin(x).data, y.data)
    assert model.act.outputs[0]() is y  # the original keeps its links


@pytest.mark.parametrize('copier', [copy.copy, copy.deepcopy, pickled])
def test_a_copy_of_a_called_function_leaves_out_the_links_of_its_call(copier):
    # a shallow copy kept the call's links and hooks: a function object called again
    # runs on one, and shared the hooks of the first call's outputs
    x = Variable(np.array([0.5]))
    with dezero.detect_anomaly(), dezero.core.mark_origin(layer_path='block'):
        y = F.sin(x)
    y.register_hook(lambda g: g)
    f = y.creator
    assert f.layer_path == 'block' and f._created_at is not None and f._output_hooks
    twin = copier(f)
    assert twin.inputs is None and twin.outputs is None and twin.generation == 0
    assert twin._output_hooks is None and not set(vars(twin)) & dezero.core._CALL_LINKS
    assert f.outputs[0]() is y  # the original keeps its links
    # where the call was made: a deep copy keeps it, a copy for another call does not
    kept = copier is not copy.copy
    assert (twin.layer_path == 'block') is kept and (twin._created_at is not None) is kept


def test_a_function_object_called_again_records_where_that_call_was_made():
    sin = F.Sin()
    x = Variable(np.array([0.5]))
    with dezero.detect_anomaly(), dezero.core.mark_origin(layer_path='block'):
        first = sin(x)
    second = sin(x)
    assert first.creator.layer_path == 'block' and first.creator._created_at is not None
    assert second.creator.layer_path is None and second.creator._created_at is None


@pytest.mark.parametrize('copier', [copy.deepcopy, pickled])
def test_a_loader_without_a_seed_copies_and_draws_from_numpy_as_the_original(copier):
    # it kept the module np.random, which neither deepcopy nor pickle can carry
    loader = DataLoader((np.arange(20.0).reshape(10, 2), np.arange(10)), 3)
    next(iter(loader))
    twin = copier(loader)
    np.random.seed(3)
    ours = [t.tolist() for _, t in loader]
    np.random.seed(3)
    assert [t.tolist() for _, t in twin] == ours


def test_errors_with_details_of_their_own_survive_pickle_and_copy():
    # a worker's AnomalyError broke a process pool: it could not be unpickled
    with dezero.detect_anomaly(), np.errstate(divide='ignore'):
        with pytest.raises(AnomalyError) as info:
            F.log(Variable(np.array([0.0])))
    error = info.value
    for copier in (copy.deepcopy, pickled):
        again = copier(error)
        assert type(again) is AnomalyError and str(again) == str(error)
        assert (again.function, again.phase, again.inputs, again.source) == (
            error.function,
            error.phase,
            error.inputs,
            error.source,
        )
    in_the_way = _FolderInTheWay('get_file: a folder stands at /x', '/x')
    again = pickled(in_the_way)
    assert str(again) == str(in_the_way) and again.filename == '/x'


@pytest.mark.parametrize('copier', [copy.copy, copy.deepcopy, pickled])
@pytest.mark.parametrize(
    'make',
    [
        lambda: AnomalyError('Log produced -inf', 'Log', 'forward', [((1,), 'float64')], None),
        lambda: _FolderInTheWay('get_file: a folder stands at /x', '/x'),
    ],
    ids=['AnomalyError', '_FolderInTheWay'],
)
def test_errors_keep_their_notes_and_attributes_added_later_through_pickle_and_copy(make, copier):
    error = make()
    error.add_note('while loading batch 3')
    error.retries = 2
    again = copier(error)
    assert type(again) is type(error) and str(again) == str(error)
    assert again.__notes__ == ['while loading batch 3'] and again.retries == 2


@pytest.mark.parametrize('copier', [copy.deepcopy, pickled])
def test_a_copy_of_a_called_function_keeps_what_forward_stored_but_no_links(copier):
    pool = F.Pooling(2, 2)
    pool(Variable(np.array([[[[1.0, 9.0], [3.0, 4.0]]]])))
    twin = copier(pool)
    assert twin.inputs is None and twin.outputs is None and twin.generation == 0
    np.testing.assert_array_equal(twin.indexes, [[[[1]]]])  # what forward stored
    np.testing.assert_array_equal(twin(np.ones((1, 1, 2, 2))).data, [[[[1.0]]]])


def test_a_variable_pickled_by_the_books_dezero_loads_as_a_leaf():
    # the default pickling of the book's Variable and Parameter: their attributes
    import copyreg

    class PickledAs:
        def __init__(self, cls, state):
            self.cls, self.state = cls, state

        def __reduce__(self):
            return copyreg._reconstructor, (self.cls, object, None), self.state

    grad = PickledAs(Variable, {'data': np.ones(2), 'name': None, 'grad': None})
    state = {'data': np.arange(2.0), 'name': 'w', 'grad': grad, 'creator': None}
    for cls in (Variable, Parameter):
        v = pickle.loads(pickle.dumps(PickledAs(cls, dict(state, generation=0))))
        assert type(v) is cls and v.name == 'w' and v.creator is None
        np.testing.assert_array_equal(v.data, [0.0, 1.0])
        np.testing.assert_array_equal(v.grad.data, [1.0, 1.0])
        (v * v).backward()  # a leaf like any other
        np.testing.assert_array_equal(v.grad.data, [1.0, 3.0])


def test_a_variable_pickled_by_an_earlier_version_with_its_slots_loads():
    # earlier versions pickled a Variable as its slots, the name in a slot 'name'
    import copyreg

    slots = {'_data': np.array([1.0, 2.0]), '_changed_at': 0, 'name': 'x', 'grad': None}
    slots.update(creator=None, generation=0, requires_grad=True, _index=0)
    slots.update(_hooks=None, _stand_in=None)

    class PickledAs:
        def __reduce__(self):
            return copyreg._reconstructor, (Variable, object, None), (None, slots)

    v = pickle.loads(pickle.dumps(PickledAs()))
    assert v.name == 'x'
    np.testing.assert_array_equal(v.data, [1.0, 2.0])
    (v * v).backward()
    np.testing.assert_array_equal(v.grad.data, [2.0, 4.0])


def halve(g):
    """A gradient hook that can be pickled (a module-level function)."""
    return g * 0.5


def summed_grad(x, scale=3.0):
    x.cleargrad()
    F.sum(x * scale).backward()
    return x.grad.data


@COPIERS
def test_gradient_hooks_go_with_a_copied_variable(copier):
    # they were dropped: a copied model lost its gradient masks and clipping
    x = Variable(np.ones(2))
    x.register_hook(halve)
    twin = copier(x)
    np.testing.assert_array_equal(summed_grad(twin), [1.5, 1.5])
    twin.register_hook(halve)  # a hook registered later is one more, wherever
    np.testing.assert_array_equal(summed_grad(twin), [0.75, 0.75])
    np.testing.assert_array_equal(summed_grad(x), [1.5, 1.5])


def test_pickling_a_hook_that_cannot_be_pickled_fails_instead_of_dropping_it():
    x = Variable(np.ones(2))
    x.register_hook(lambda g: g * 0)
    with pytest.raises((pickle.PicklingError, AttributeError), match='lambda'):
        pickle.dumps(x)
    np.testing.assert_array_equal(summed_grad(copy.deepcopy(x)), [0.0, 0.0])


@COPIERS
def test_a_copied_hook_handle_removes_the_copys_hook_and_never_the_originals(copier):
    # a deep copy's handle held the original variable and removed its hook
    layer = L.Linear(2, in_size=2)
    layer.handle = layer.W.register_hook(halve)
    twin = copier(layer)
    twin.handle.remove()
    assert twin.W._hooks is None
    layer.cleargrads()
    F.sum(layer(np.ones((1, 2), np.float32))).backward()
    np.testing.assert_array_equal(layer.W.grad.data, np.full((2, 2), 0.5))
    layer.handle.remove()
    assert layer.W._hooks is None


def test_a_copied_handle_of_a_variable_outside_the_copy_removes_nothing():
    x = Variable(np.ones(2))
    handle = x.register_hook(halve)
    copy.deepcopy(handle).remove()  # its variable is a copy made for it alone
    np.testing.assert_array_equal(summed_grad(x), [1.5, 1.5])
    copy.copy(handle).remove()  # a shallow copy is the same handle
    np.testing.assert_array_equal(summed_grad(x), [3.0, 3.0])


class Tied(L.Layer):
    """A decoder using the transposed weights of an encoder it links to weakly."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = weakref.ref(encoder)

    def forward(self, h):
        return F.matmul(h, F.transpose(self.encoder().W))


class AutoEncoder(Model):
    def __init__(self):
        super().__init__()
        self.dec = None
        self.enc = L.Linear(2, in_size=4)
        self.dec = Tied(self.enc)

    def forward(self, x):
        return self.dec(self.enc(x))


@COPIERS
def test_a_weak_link_between_layers_links_the_copies(copier):
    # the copy's decoder used, and trained, the original's encoder
    model = AutoEncoder()
    twin = copier(model)
    assert twin.dec.encoder() is twin.enc
    F.sum(twin(np.ones((1, 4), np.float32))).backward()
    assert model.enc.W.grad is None and twin.enc.W.grad is not None

import os
import re
import shutil

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable
from dezero.graph import GraphvizNotFoundError
from dezero.layers import Layer, Linear
from dezero.models import MLP, Model, Sequential

needs_dot = pytest.mark.skipif(
    shutil.which('dot') is None, reason="Graphviz's dot program is not installed"
)


def names(layer):
    return [name for name, _ in layer.named_params()]


# --------------------------------------------------------------------------------------
# Model.plot
# --------------------------------------------------------------------------------------
class Affine(Model):
    def __init__(self):
        super().__init__()
        self.fc = Linear(2, in_size=3)

    def forward(self, x):
        return F.relu(self.fc(x))


def test_plot_takes_a_forward_returning_a_tuple_of_one_as_calling_the_model_does(tmp_path):
    class One(Affine):
        def forward(self, x):
            return (F.relu(self.fc(x)),)

    try:
        One().plot(np.ones((4, 3), np.float32), to_file=str(tmp_path / 'one.png'))
    except GraphvizNotFoundError:
        pass
    assert 'ReLU' in (tmp_path / 'one.dot').read_text()


def test_plot_writes_the_dot_file_with_shapes(tmp_path):
    target = tmp_path / 'out' / 'model.png'
    try:
        Affine().plot(np.ones((4, 3), np.float32), to_file=str(target))
    except GraphvizNotFoundError:
        pass  # the .dot file is written all the same
    text = (tmp_path / 'out' / 'model.dot').read_text()
    assert text.startswith('digraph g {')
    assert 'label="Linear"' in text and 'label="ReLU"' in text
    assert '(4, 3) float32' in text  # the input, drawn verbose
    assert 'W\\n(3, 2) float32' in text  # the named weight
    assert '(4, 2) float32' in text  # the output


@needs_dot
def test_plot_renders_a_png(tmp_path):
    target = tmp_path / 'model.png'
    assert str(Affine().plot(np.ones((1, 3)), to_file=target)) == str(target)
    assert target.read_bytes().startswith(b'\x89PNG\r\n\x1a\n')
    assert sorted(os.listdir(tmp_path)) == ['model.dot', 'model.png']


def test_plot_default_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        Affine().plot(np.ones((1, 3)))
    except GraphvizNotFoundError:
        pass
    assert (tmp_path / 'model.dot').exists()


class TwoHeads(Model):
    def __init__(self):
        super().__init__()
        self.fc = Linear(2)  # W is made by the first forward pass

    def forward(self, x):
        y = self.fc(x)
        return y, F.relu(y)


def test_plot_of_a_forward_with_several_outputs_says_how_to_draw_one(tmp_path):
    with pytest.raises(TypeError) as info:
        TwoHeads().plot(np.ones((1, 3)), to_file=tmp_path / 'model.png')
    assert str(info.value) == (
        'Model.plot: it draws the graph of one output, but forward returned a tuple of 2; '
        'draw one of them with dezero.graph.draw_graph(y[0], model=model).save(path) or '
        'dezero.utils.plot_dot_graph(y[0], to_file=path)'
    )
    assert list(tmp_path.iterdir()) == []


def test_plot_of_a_forward_returning_a_dict_or_no_variable_names_model_plot(tmp_path):
    # the error named draw_graph, which the user did not call
    class Named(Affine):
        def forward(self, x):
            return {'y': self.fc(x)}

    with pytest.raises(TypeError) as info:
        Named().plot(np.ones((1, 3)), to_file=tmp_path / 'model.png')
    assert str(info.value) == (
        'Model.plot: it draws the graph of one output, but forward returned a dict of 1; '
        "draw one of them with dezero.graph.draw_graph(y['y'], model=model).save(path) or "
        "dezero.utils.plot_dot_graph(y['y'], to_file=path)"
    )

    class Nothing(Affine):
        def forward(self, x):
            return None

    with pytest.raises(TypeError, match=r'^Model\.plot: output must be a Variable .*got NoneType'):
        Nothing().plot(np.ones((1, 3)), to_file=tmp_path / 'model.png')
    assert list(tmp_path.iterdir()) == []


def test_plot_passes_keyword_arguments_to_forward(tmp_path):
    # plot(*inputs) could not pass is_causal=True and the like
    class Scaled(Affine):
        def forward(self, x, scale=1.0):
            assert scale == 3.0
            return self.fc(x) * scale

    Scaled().plot(np.ones((2, 3), np.float32), to_file=tmp_path / 'model.dot', scale=3.0)
    assert 'Mul' in (tmp_path / 'model.dot').read_text()


@pytest.mark.parametrize(
    'name, error, message',
    [
        ('model.png/', ValueError, r"^Model\.plot: the path .*model\.png/ ends with '/'"),
        ('model', ValueError, r"^Model\.plot: to_file '.*model' has no extension"),
        ('folder.png', IsADirectoryError, r'^Model\.plot: cannot write .*folder\.png: it is a'),
        ('model.xyz', ValueError, r"^Model\.plot: Graphviz cannot render the format 'xyz'"),
    ],
)
def test_plot_checks_to_file_before_the_forward_pass(tmp_path, name, error, message):
    # the forward pass ran first: a bad to_file was refused after W was made
    if name == 'model.xyz':
        pytest.importorskip('graphviz')
    (tmp_path / 'folder.png').mkdir()
    model = TwoHeads()
    with pytest.raises(error, match=message):
        model.plot(np.ones((1, 3)), to_file=f'{tmp_path}{os.sep}{name}')
    assert model.fc.W.data is None
    assert [p.name for p in tmp_path.iterdir()] == ['folder.png']


def test_plot_errors_of_the_picture_name_model_plot(tmp_path, monkeypatch):
    pytest.importorskip('graphviz')
    empty = tmp_path / 'empty'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))
    with pytest.raises(GraphvizNotFoundError, match='^Model.plot: the `dot` program'):
        Affine().plot(np.ones((1, 3)), to_file=tmp_path / 'model.png')
    assert (tmp_path / 'model.dot').exists() and not (tmp_path / 'model.png').exists()


# --------------------------------------------------------------------------------------
# Sequential
# --------------------------------------------------------------------------------------
def test_sequential_applies_steps_in_order_and_registers_layers():
    a = Linear(3, in_size=2, dtype=np.float64)
    b = Linear(1, in_size=3, dtype=np.float64)
    model = Sequential(a, F.relu, b)
    assert isinstance(model, Model)
    assert names(model) == ['l0/W', 'l0/b', 'l2/W', 'l2/b']
    assert model.l0 is a and model.l2 is b
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_array_equal(model(x).data, b(F.relu(a(x))).data)


def test_sequential_of_callables_only_and_empty():
    model = Sequential(lambda x: x * 2, lambda x: x + 1)
    assert names(model) == []
    assert model(Variable(np.array(3.0))).data == 7.0
    assert Sequential()(5) == 5


def test_sequential_rejects_non_callables():
    with pytest.raises(TypeError, match=r'Sequential: item 1 is a int'):
        Sequential(F.relu, 3)


def test_sequential_rejects_a_layer_class_naming_it():
    with pytest.raises(TypeError, match=r'Sequential: item 0 is the class Linear, not a layer'):
        Sequential(Linear, F.relu)
    assert Sequential(np.float32)(np.array([1, 2])).dtype == np.float32  # a callable class


def test_sequential_shares_a_repeated_layer():
    layer = Linear(2, in_size=2)
    model = Sequential(layer, F.sigmoid, layer)
    assert names(model) == ['l0/W', 'l0/b']


def test_sequential_names_every_item_l_i_as_the_book_does():
    # the book sets l<i> for every item: seq.l1 was an AttributeError for a function
    seq = Sequential(Linear(2, in_size=3), F.relu, Linear(1, in_size=2))
    assert seq.l1 is F.relu and seq.l0 is seq.layers[0] and seq.l2 is seq.layers[2]
    assert names(seq) == ['l0/W', 'l0/b', 'l2/W', 'l2/b']
    assert list(seq.params()) == [seq.l0.W, seq.l0.b, seq.l2.W, seq.l2.b]
    assert seq(np.ones((4, 3), np.float32)).shape == (4, 1)


def test_sequential_save_and_load(tmp_path):
    np.random.seed(0)
    model = Sequential(Linear(4), F.relu, Linear(2))
    x = np.random.randn(3, 5).astype(np.float32)
    y = model(x).data
    model.save_weights(tmp_path / 's.npz')
    other = Sequential(Linear(4), F.relu, Linear(2))
    other.load_weights(tmp_path / 's.npz')
    np.testing.assert_array_equal(other(x).data, y)


# --------------------------------------------------------------------------------------
# MLP
# --------------------------------------------------------------------------------------
def test_mlp_structure_and_forward_shape():
    model = MLP((10, 5, 1))
    assert isinstance(model, Model)
    y = model(np.ones((7, 3), np.float32))
    assert y.shape == (7, 1) and y.dtype == np.float32
    assert names(model) == ['l0/W', 'l0/b', 'l1/W', 'l1/b', 'l2/W', 'l2/b']
    assert [p.shape for p in model.params()] == [(3, 10), (10,), (10, 5), (5,), (5, 1), (1,)]


def test_mlp_puts_the_activation_between_layers_only():
    model = MLP([2, 2], activation=F.relu)
    model(np.zeros((1, 2), np.float32))  # creates the weights, replaced below
    model.l0.W.data = np.array([[1.0, -1.0], [2.0, 1.0]], np.float32)
    model.l0.b.data = np.array([0.0, 0.5], np.float32)
    model.l1.W.data = np.array([[1.0, 2.0], [-3.0, -4.0]], np.float32)
    model.l1.b.data = np.array([0.0, 0.0], np.float32)
    x = np.array([[1.0, 1.0]], np.float32)
    # l0: [3, 0.5] -> relu [3, 0.5] -> l1: [3 - 1.5, 6 - 2] = [1.5, 4]
    np.testing.assert_array_equal(model(x).data, [[1.5, 4.0]])
    x = np.array([[-1.0, 0.0]], np.float32)
    # l0: [-1, 1.5] -> relu [0, 1.5] -> l1: [-4.5, -6] (negative: no relu at the end)
    np.testing.assert_array_equal(model(x).data, [[-4.5, -6.0]])


def test_mlp_default_activation_is_sigmoid():
    model = MLP([1, 1])
    model(np.zeros((1, 1)))
    model.l0.W.data[...] = 0
    model.l0.b.data[...] = 0
    model.l1.W.data[...] = 2
    model.l1.b.data[...] = 0
    np.testing.assert_allclose(model(np.zeros((1, 1))).data, [[1.0]])  # 2 * sigmoid(0)


def test_mlp_rejects_bad_arguments():
    with pytest.raises(ValueError, match='MLP: fc_output_sizes is empty'):
        MLP([])
    with pytest.raises(
        ValueError, match=r'^MLP: fc_output_sizes\[1\] must be a positive integer, got 0$'
    ):
        MLP([3, 0])
    with pytest.raises(TypeError, match='MLP: activation must be a function'):
        MLP([3], activation='relu')


@pytest.mark.parametrize(
    'sizes, shown',
    [(np.array(3), 'ndarray array(3)'), (3, 'int 3'), ('10', "str '10'"), (None, 'NoneType None')],
)
def test_mlp_refuses_sizes_that_are_not_a_sequence_by_name(sizes, shown):
    # a 0-d array has __iter__ but cannot be iterated: "iteration over a 0-d array"
    with pytest.raises(
        TypeError,
        match=r'^MLP: fc_output_sizes must be a list or tuple of layer sizes, such as '
        rf'\(100, 10\), got {re.escape(shown)}$',
    ):
        MLP(sizes)


def test_mlp_takes_any_iterable_of_sizes_and_names_a_bad_one():
    for sizes in ([3, 2], np.array([3, 2]), range(3, 1, -1), (n for n in (3, 2))):
        assert [layer.out_size for layer in MLP(sizes).layers] == [3, 2]
    with pytest.raises(
        ValueError, match=r'^MLP: fc_output_sizes\[1\] must be a positive integer of at most'
    ):
        MLP([3, 10**20])
    with pytest.raises(TypeError, match=r'^MLP: fc_output_sizes\[0\] must be a positive integer'):
        MLP([3.0])


def test_mlp_is_reproducible_with_a_seed():
    outputs = []
    for _ in range(2):
        np.random.seed(5)
        model = MLP((4, 1))
        outputs.append(model(np.ones((2, 3), np.float32)).data)
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_mlp_learns_a_tiny_regression():
    np.random.seed(0)
    x = np.random.rand(64, 1).astype(np.float32)
    t = x**2
    model = MLP((10, 1))
    losses = []
    for _ in range(500):
        loss = F.mean((model(x) - t) ** 2)
        model.cleargrads()
        loss.backward()
        for p in model.params():
            p.data = p.data - 0.2 * p.grad.data
        losses.append(float(loss.data))
    assert loss.dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.params())
    assert losses[-1] < losses[0] / 10, (losses[0], losses[-1])
    # better than the best constant prediction (the mean of t) by far: it fits the curve
    assert losses[-1] < t.var() / 5, (t.var(), losses[-1])


def test_model_subclasses_compose_with_layers():
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.body = MLP((4, 3))
            self.head = Linear(1)

        def forward(self, x):
            return self.head(F.relu(self.body(x)))

    net = Net()
    assert isinstance(net, Layer)
    assert net(np.ones((2, 5), np.float32)).shape == (2, 1)
    assert names(net) == ['body/l0/W', 'body/l0/b', 'body/l1/W', 'body/l1/b', 'head/W', 'head/b']


# --------------------------------------------------------------------------------------
# Describing a model
# --------------------------------------------------------------------------------------
def test_print_and_summary_of_an_mlp(capsys):
    np.random.seed(0)
    model = MLP((10, 3))
    assert str(model) == (
        'MLP(activation=sigmoid)\n  l0: Linear(in=?, out=10)\n  l1: Linear(in=?, out=3)'
    )
    model.summary(np.zeros((30, 2), np.float32))
    assert capsys.readouterr().out == (
        'Layer                       Output shape  Parameters\n'
        '----------------------------------------------------\n'
        'MLP(activation=sigmoid)     (30, 3)                -\n'
        '  l0: Linear(in=2, out=10)  (30, 10)              30\n'
        '  l1: Linear(in=10, out=3)  (30, 3)               33\n'
        '----------------------------------------------------\n'
        'Trainable parameters: 63\n'
    )
    assert str(MLP((4,), activation=F.relu)).splitlines()[0] == 'MLP(activation=relu)'


def test_print_of_a_sequential_names_its_layers_by_position():
    model = Sequential(Linear(4), F.relu, Linear(2, in_size=4))
    assert str(model) == ('Sequential\n  l0: Linear(in=?, out=4)\n  l2: Linear(in=4, out=2)')


@pytest.mark.parametrize('sizes', [5, '10'])
def test_mlp_refuses_sizes_that_are_not_a_sequence(sizes):
    with pytest.raises(TypeError, match='MLP: fc_output_sizes must be a list or tuple'):
        MLP(sizes)


class RecurrentNet(Model):
    def __init__(self):
        super().__init__()
        from dezero.layers import LSTM

        self.rnn = LSTM(4)
        self.fc = Linear(1)

    def forward(self, x):
        return self.fc(self.rnn(x))


def test_plot_leaves_the_recurrent_state_as_it_found_it(tmp_path):
    # plot(x[:5]) left a state of batch 5: the next call of batch 2 raised
    np.random.seed(0)
    x = np.random.randn(5, 3).astype(np.float32)
    net = RecurrentNet()
    try:
        net.plot(x, to_file=str(tmp_path / 'net.png'))
    except GraphvizNotFoundError:
        pass  # the forward pass ran all the same
    assert (tmp_path / 'net.dot').exists()
    assert net.rnn.h is None and net.rnn.c is None
    first = net(x[:2]).data
    net.rnn.reset_state()
    np.testing.assert_array_equal(first, net(x[:2]).data)


class NormalisedNet(Model):
    def __init__(self):
        super().__init__()
        from dezero.layers import BatchNorm

        self.fc = Linear(4)
        self.norm = BatchNorm()

    def forward(self, x):
        return F.dropout(self.norm(self.fc(x)), 0.5)


def test_plot_leaves_batch_norm_statistics_and_the_random_generator_as_it_found_them(
    tmp_path,
):
    # plot ran a training forward pass: the running statistics moved and dropout
    # drew from NumPy's generator, so drawing a model changed how it went on
    np.random.seed(0)
    x = np.random.randn(6, 3).astype(np.float32)
    net = NormalisedNet()
    net(x)  # the statistics exist and have moved once
    mean, var = net.norm.avg_mean.data, net.norm.avg_var.data
    saved = mean.copy(), var.copy()
    draws = np.random.get_state()
    try:
        net.plot(x * 10 + 3, to_file=str(tmp_path / 'net.png'))
    except GraphvizNotFoundError:
        pass  # the forward pass ran all the same
    assert (tmp_path / 'net.dot').exists()
    assert net.norm.avg_mean.data is mean and net.norm.avg_var.data is var
    np.testing.assert_array_equal(mean, saved[0])
    np.testing.assert_array_equal(var, saved[1])
    expected = np.random.rand(3)
    np.random.set_state(draws)
    np.testing.assert_array_equal(np.random.rand(3), expected)


def test_plot_of_a_model_not_called_yet_lets_the_draws_of_its_new_weights_stand(tmp_path):
    # the generator was put back after plot had drawn the new weights from it: the
    # next model made drew the same numbers, and got the same weights
    x = np.ones((2, 3), np.float32)
    np.random.seed(0)
    first, second = MLP((4, 2)), MLP((4, 2))
    first(x)
    second(x)  # what a program that does not draw gets
    np.random.seed(0)
    plotted = MLP((4, 2))
    plotted.plot(x, to_file=tmp_path / 'mlp.dot')
    after = MLP((4, 2))
    after(x)
    for mine, expected in zip(
        [*plotted.params(), *after.params()], [*first.params(), *second.params()]
    ):
        np.testing.assert_array_equal(mine.data, expected.data)


def test_plot_gives_batch_norm_statistics_it_created_the_values_of_a_new_layer(tmp_path):
    # a lazy BatchNorm kept the statistics that the drawing pass had moved
    np.random.seed(0)
    net = NormalisedNet()
    net.plot(np.random.randn(6, 3).astype(np.float32) * 10 + 3, to_file=tmp_path / 'net.dot')
    np.testing.assert_array_equal(net.norm.avg_mean.data, np.zeros(4, np.float32))
    np.testing.assert_array_equal(net.norm.avg_var.data, np.ones(4, np.float32))
    assert net.norm.avg_mean.dtype == net.norm.avg_var.dtype == np.float32


def test_plot_of_a_lazy_model_whose_forward_raises_takes_back_what_it_created(tmp_path):
    # plot ran forward outside any layer call: each layer kept the W it drew, from
    # the bad input, and refused the right one afterwards
    class Two(Model):
        def __init__(self):
            super().__init__()
            self.l1, self.l2 = Linear(4), Linear(5)
            self.fail = True

        def forward(self, x):
            y = self.l2(self.l1(x))
            if self.fail:
                raise RuntimeError('no')
            return y

    model = Two()
    np.random.seed(3)
    state = np.random.get_state()
    with pytest.raises(RuntimeError, match='no'):
        model.plot(np.ones((2, 7), np.float32), to_file=str(tmp_path / 'p.dot'))
    assert model.l1.W.data is None and model.l2.W.data is None
    assert np.array_equal(np.random.get_state()[1], state[1])
    model.fail = False
    assert model(np.ones((2, 3), np.float32)).shape == (2, 5)

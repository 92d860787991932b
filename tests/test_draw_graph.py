"""draw_graph: values, gradients, layers, backward passes and depth in the picture."""

import pickle
import re
import shutil
import threading
from collections import Counter

import numpy as np
import pytest

import dezero
import dezero.functions as F
import dezero.layers as L
from dezero import Function, Variable
from test_graph import Scale  # a function equal to any other of the same factor
from dezero.graph import Graph, GraphvizNotFoundError, PicturePath, draw_graph, get_dot_graph
from dezero.models import MLP, Model

needs_dot = pytest.mark.skipif(
    shutil.which('dot') is None, reason="Graphviz's dot program is not installed"
)

_DECLARATION = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$')


def declarations(source):
    """{node id: (label, attributes)} of every node declared in the DOT source."""
    found = {}
    for line in source.splitlines():
        m = _DECLARATION.match(line)
        if m:
            found[m[1]] = (m[2].replace('\\n', '\n'), m[3])
    return found


def labels(source):
    return [label for label, _ in declarations(source).values()]


def node_with(source, text):
    """The (label, attributes) of the one node whose label is ``text``, or else the one
    whose label contains it."""
    found = [(label, attrs) for label, attrs in declarations(source).values() if text == label]
    found = found or [
        (label, attrs) for label, attrs in declarations(source).values() if text in label
    ]
    assert len(found) == 1, f'{len(found)} nodes with {text!r} in\n{source}'
    return found[0]


def clusters(source):
    """{cluster label: the node ids declared directly inside it}."""
    result, stack = {}, []
    for line in source.splitlines():
        line = line.strip()
        if line.startswith('subgraph cluster_'):
            stack.append(None)
        elif line.startswith('label=') and stack and stack[-1] is None:
            stack[-1] = re.match(r'label="([^"]*)"', line)[1]
            result[stack[-1]] = []
        elif line == '}' and stack:
            stack.pop()
        elif stack and (m := _DECLARATION.match(line)):
            result[stack[-1]].append(m[1])
    return result


def mlp_loss(seed=0):
    np.random.seed(seed)
    model = MLP((4, 3))
    x = np.random.randn(5, 2).astype(np.float32)
    loss = F.softmax_cross_entropy(model(x), np.array([0, 1, 2, 0, 1]))
    return model, x, loss


# ---- the object -----------------------------------------------------------------------
def test_plain_forward_graph_is_the_books_picture():
    x = Variable(np.array([1.0, 2.0]), name='x')
    y = F.sin(x) * x
    g = draw_graph(y)
    assert isinstance(g, Graph)
    assert g.source == get_dot_graph(y, verbose=False) == str(g)
    assert draw_graph(y, verbose=True).source == get_dot_graph(y, verbose=True)
    assert 'Graph' in repr(g) and '.source' in repr(g)  # (with or without Graphviz)


@needs_dot
def test_inline_svg_and_save(tmp_path):
    x = Variable(np.array(1.0), name='x')
    g = draw_graph(F.exp(x))
    svg = g._repr_svg_()
    assert svg.lstrip().startswith('<?xml') or '<svg' in svg
    assert '>Exp<' in svg and '>x<' in svg
    path = g.save(tmp_path / 'pics' / 'exp.pdf')
    assert path == tmp_path / 'pics' / 'exp.pdf'
    assert path.read_bytes().startswith(b'%PDF')
    assert (tmp_path / 'pics' / 'exp.dot').read_text() == g.source


def test_without_dot_inline_display_falls_back_and_save_says_why(tmp_path, monkeypatch):
    pytest.importorskip('graphviz')
    empty = tmp_path / 'empty'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))
    g = draw_graph(F.exp(Variable(np.array(1.0))))
    assert g._repr_svg_() is None  # Jupyter then shows repr(), which says why
    assert repr(g).endswith(
        'no picture: the `dot` program of Graphviz is not on the PATH (install Graphviz)>'
    )
    with pytest.raises(GraphvizNotFoundError, match='Graph.save: the `dot` program'):
        g.save(tmp_path / 'g.png')
    assert (tmp_path / 'g.dot').read_text() == g.source
    assert not (tmp_path / 'g.png').exists()


@pytest.mark.parametrize('depth', [0, -1, 1.5, True, '2'])
def test_bad_depth_is_refused(depth):
    with pytest.raises(ValueError, match='draw_graph: max_depth'):
        draw_graph(Variable(np.array(1.0)), max_depth=depth)


def test_names_that_look_like_dot_syntax_stay_in_their_box():
    np.random.seed(0)
    model = MLP((2,))
    x = Variable(np.ones((1, 3), np.float32), name='v9 -> f3 [x]')
    source = draw_graph(model(x), model=model).source
    inside = [declarations(source)[n][0] for n in clusters(source)['l0']]
    assert sorted(inside) == ['', 'Linear', 'l0/W', 'l0/b']
    assert node_with(source, 'v9 -> f3 [x]')


@pytest.mark.parametrize('draw', [draw_graph, get_dot_graph, dezero.utils.plot_dot_graph])
def test_output_must_be_a_variable(draw):
    with pytest.raises(TypeError, match=f'{draw.__name__}: output must be a Variable'):
        draw(np.ones(3))


def test_large_arrays_with_nan_count_them_apart():
    v = Variable(np.array([np.nan, -np.inf, 1, 2, 3, 4, 5, 6, 7.0, np.nan]), name='v')
    source = draw_graph(v, show_values=True).source
    assert node_with(source, 'v')[0] == 'v\ndata (10,) min -inf mean -inf max 7 (2 nan)'
    assert 'all nan' in draw_graph(Variable(np.full(9, np.nan)), show_values=True).source


def test_model_must_be_a_layer():
    with pytest.raises(TypeError, match='draw_graph: model must be a Layer'):
        draw_graph(Variable(np.array(1.0)), model=object())


# ---- values and gradients ---------------------------------------------------------------
def test_values_small_arrays_whole_and_large_ones_summarised():
    x = Variable(np.array([1.0, -2.0, 3.5]), name='x')
    big = Variable(np.arange(100, dtype=np.float32).reshape(10, 10), name='big')
    y = F.sum(x * 2.0) + F.sum(big)
    source = draw_graph(y, show_values=True).source
    assert node_with(source, 'x\n')[0] == 'x\ndata [ 1.  -2.   3.5]'
    assert node_with(source, 'big')[0] == 'big\ndata (10, 10) min 0 mean 49.5 max 99'
    assert node_with(source, 'data 4955')  # the 0-d result: 4950 + 2 * 2.5


def test_values_not_kept_by_the_graph_say_so():
    x = Variable(np.ones(3), name='x')
    h = F.exp(x)  # Exp keeps its output, so h stays in the graph
    y = F.sum(F.sin(x) + h)  # the sum of Sin's output and h is read by no backward
    source = draw_graph(y, show_values=True, show_grads=True).source
    assert 'data not kept\ngrad not kept' in labels(source)


def test_values_of_variables_still_alive_are_shown_though_the_graph_lets_go():
    x = Variable(np.array([0.0, 1.0]), name='x')
    h = F.sin(x)  # Add reads neither input: the graph holds a stand-in for h
    h.name = 'h'
    y = F.sum(h + x)
    y.backward(retain_grad=True)
    source = draw_graph(y, show_values=True, show_grads=True).source
    assert node_with(source, 'h\n')[0] == 'h\ndata [0.     0.8415]\ngrad [1. 1.]'


def test_gradients_after_backward():
    x = Variable(np.array([1.0, 2.0]), name='x')
    w = Variable(np.array(3.0), name='w')
    y = F.sum(x * w)
    y.backward()
    source = draw_graph(y, show_grads=True).source
    assert node_with(source, 'x\n')[0] == 'x\ngrad [3. 3.]'
    assert node_with(source, 'w\n')[0] == 'w\ngrad 3'
    both = draw_graph(y, show_values=True, show_grads=True, verbose=True).source
    assert node_with(both, 'w\n')[0] == 'w\n() float64\ndata 3\ngrad 3'


def test_gradient_of_an_intermediate_variable_with_retain_grad():
    x = Variable(np.array([1.0, 2.0]), name='x')
    h = x * 2.0
    h.name = 'h'
    y = F.sum(h * h)
    y.backward(retain_grad=True)
    source = draw_graph(y, show_grads=True).source
    assert node_with(source, 'h\n')[0] == 'h\ngrad [4. 8.]'


# ---- models ----------------------------------------------------------------------------
def test_model_parameters_are_named_and_grouped_by_layer():
    model, _, loss = mlp_loss()
    source = draw_graph(loss, model=model).source
    groups = clusters(source)
    assert set(groups) == {'l0', 'l1'}
    nodes = declarations(source)
    for layer in ('l0', 'l1'):
        names = sorted(nodes[n][0] for n in groups[layer])
        assert names == ['', 'Linear', f'{layer}/W', f'{layer}/b']
    outside = [nodes[n][0] for n in nodes if all(n not in ids for ids in groups.values())]
    assert sorted(outside) == ['', '', '', 'Sigmoid', 'SoftmaxCrossEntropy']


class Block(L.Layer):
    def __init__(self):
        super().__init__()
        self.fc = L.Linear(3)

    def forward(self, x):
        return F.relu(self.fc(x)) + 1.0  # made by the block, reading no parameter


class Net(Model):
    def __init__(self):
        super().__init__()
        self.blocks = [Block(), Block()]
        self.out = L.Linear(2)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return F.tanh(self.out(x))


def test_model_plot_groups_what_each_layer_call_made(tmp_path):
    net = Net()
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    path = net.plot(x, to_file=tmp_path / 'net.dot')
    source = (tmp_path / 'net.dot').read_text()
    assert path == tmp_path / 'net.dot'
    groups = clusters(source)
    assert set(groups) == {'blocks', 'blocks/0', 'blocks/0/fc', 'blocks/1', 'blocks/1/fc', 'out'}
    nodes = declarations(source)
    for i in (0, 1):
        inside = sorted(nodes[n][0].split('\n')[0] for n in groups[f'blocks/{i}'])
        # the constant 1.0 of `+ 1.0` goes with its AddConstant
        assert inside == ['() float32', '(4, 3) float32', '(4, 3) float32', 'AddConstant', 'ReLU']
        fc = sorted(nodes[n][0].split('\n')[0] for n in groups[f'blocks/{i}/fc'])
        assert fc == ['(4, 3) float32', 'Linear', f'blocks/{i}/fc/W', f'blocks/{i}/fc/b']
    assert node_with(source, 'Tanh')[0] == 'Tanh'
    assert not any(nodes[n][0] == 'Tanh' for ids in groups.values() for n in ids)
    # outside plot() nothing is marked: the same graph drawn later groups by parameters
    y = net(x)
    later = clusters(draw_graph(y, model=net).source)
    assert 'blocks/0/fc' in later and later['blocks/0'] == []


@needs_dot
def test_model_plot_png(tmp_path):
    model, x, _ = mlp_loss()
    path = model.plot(x, to_file=tmp_path / 'model.png')
    assert path.read_bytes().startswith(b'\x89PNG')
    assert 'cluster' in (tmp_path / 'model.dot').read_text()


@needs_dot
def test_model_plot_and_graph_save_return_a_path_jupyter_shows_as_the_picture(tmp_path):
    model, x, _ = mlp_loss()
    path = model.plot(x, to_file=tmp_path / 'model.png')  # (the book returns an Image)
    assert isinstance(path, PicturePath) and path == tmp_path / 'model.png'
    assert path._repr_png_() == (tmp_path / 'model.png').read_bytes()
    saved = draw_graph(model(x)).save(tmp_path / 'g.svg')
    assert isinstance(saved, PicturePath) and saved == tmp_path / 'g.svg'
    assert saved._repr_svg_() == (tmp_path / 'g.svg').read_text(encoding='utf-8')


# ---- higher order ------------------------------------------------------------------------
def test_functions_made_by_backward_passes_are_coloured_with_a_legend():
    x = Variable(np.array(2.0), name='x')
    y = F.tanh(x)
    y.backward(create_graph=True)
    gx = x.grad
    gx.name = 'gx'
    source = draw_graph(gx).source
    assert 'color=lightblue' in node_with(source, 'Tanh')[1]
    assert 'color=palegreen' in node_with(source, 'TanhGrad')[1]
    assert 'fillcolor=' in node_with(source, 'gx')[1]  # a variable made by backward
    assert 'legend0 [label="forward"' in source and 'label="backward"' in source
    x.cleargrad()
    gx.backward(create_graph=True)
    second = draw_graph(x.grad).source
    assert 'label="backward of order 2"' in second
    assert any('color=plum' in attrs for _, attrs in declarations(second).values())
    # the book's pictures stay plain
    assert 'legend' not in get_dot_graph(x.grad) and 'plum' not in get_dot_graph(x.grad)


def test_forward_after_a_recorded_backward_is_forward_again():
    x = Variable(np.array(2.0))
    F.sin(x).backward(create_graph=True)
    y = F.cos(x)
    assert y.creator.backward_order == 0
    assert 'legend' not in draw_graph(y).source


def test_marking_in_one_thread_leaves_another_threads_functions_alone():
    started, finish = threading.Event(), threading.Event()
    made = []

    class Slow(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, gy):
            started.set()
            assert finish.wait(10)
            return gy * 1.0

    def other():
        assert started.wait(10)
        made.append(F.exp(Variable(np.array(1.0))).creator)
        finish.set()

    thread = threading.Thread(target=other)
    thread.start()
    x = Variable(np.array(1.0))
    Slow()(x).backward(create_graph=True)
    thread.join()
    assert x.grad.creator.backward_order == 1
    assert made[0].backward_order == 0


# ---- depth ---------------------------------------------------------------------------------
def test_depth_limit_draws_the_last_functions_and_marks_where_it_stops():
    x = Variable(np.array(1.0), name='x')
    y = x
    for _ in range(50):
        y = F.sin(y)
    source = draw_graph(y, max_depth=3).source
    assert labels(source).count('Sin') == 3
    cut = [attrs for label, attrs in declarations(source).values() if label == '...']
    assert len(cut) == 1 and 'dashed' in cut[0]
    assert 'x' not in labels(source)
    assert draw_graph(y, max_depth=100).source == draw_graph(y).source


def test_deep_graph_with_values_does_not_recurse():
    x = Variable(np.array(0.5), name='x')
    y = x
    for _ in range(20000):
        y = y * 1.0001
    source = draw_graph(y, show_values=True, max_depth=20000).source
    assert source.count('MulConstant') == 20000


def test_draw_graph_is_reexported():
    assert dezero.utils.draw_graph is draw_graph
    assert dezero.utils.Graph is Graph


# ---- statistics, colours, names and errors of the renderer ------------------------------
def test_float16_statistics_are_summed_in_float64():
    # a float16 sum overflows past 65504: the mean was shown as inf
    a = np.random.default_rng(0).uniform(50, 150, (32, 64)).astype(np.float16)
    source = draw_graph(Variable(a, name='a'), show_values=True).source
    assert node_with(source, 'a')[0] == 'a\ndata (32, 64) min 50.03 mean 99.77 max 150'
    thousands = Variable(np.full(100, 1000, np.float16), name='t')
    source = draw_graph(thousands, show_values=True).source
    assert node_with(source, 't')[0] == 't\ndata (100,) min 1000 mean 1000 max 1000'


@pytest.mark.parametrize(
    'values, shown',
    [
        (np.full(10, 1e308), 'min 1e+308 mean 1e+308 max 1e+308'),
        ([1.7e308] * 5 + [-1.7e308] * 4, 'min -1.7e+308 mean 1.889e+307 max 1.7e+308'),
        ([1e308] * 10 + [np.nan], 'min 1e+308 mean 1e+308 max 1e+308 (1 nan)'),
    ],
)
def test_the_mean_of_float64_near_its_largest_does_not_overflow(values, shown):
    v = Variable(np.array(values, dtype=np.float64), name='v')
    source = draw_graph(v, show_values=True).source
    assert node_with(source, 'v')[0] == f'v\ndata ({len(values)},) {shown}'


@pytest.mark.parametrize(
    'values, shown',
    [
        (np.array([np.inf, -np.inf] + [1.0] * 8), '(10,) min -inf mean nan max inf'),
        (np.array([np.inf] + [1.0] * 8), '(9,) min 1 mean inf max inf'),
        (np.arange(10), '(10,) min 0 mean 4.5 max 9'),
        (np.arange(10, dtype=np.uint8), '(10,) min 0 mean 4.5 max 9'),
        (np.ones(10, dtype=bool), '(10,) bool'),
        (np.ones((0, 3)), '[]'),
        (np.full(3, np.float16(60000)), '[6.e+04 6.e+04 6.e+04]'),
    ],
)
def test_statistics_of_other_arrays_stay_as_they_were(values, shown):
    source = draw_graph(Variable(values, name='v'), show_values=True).source
    assert node_with(source, 'v')[0] == f'v\ndata {shown}'


def derivatives_of_tanh(n):
    """x, and the first n derivatives of tanh at x, each made by the backward pass of
    the one before."""
    x = Variable(np.array(1.0), name='x')
    y, grads = F.tanh(x), []
    for _ in range(n):
        x.cleargrad()
        y.backward(create_graph=True)
        y = x.grad
        grads.append(y)
    return x, grads


def test_backward_orders_beyond_the_palette_share_its_last_colour_in_the_legend():
    _, grads = derivatives_of_tanh(7)
    total = grads[0]
    for g in grads[1:]:
        total = total + g  # a graph with the functions of every order from 0 to 7
    source = draw_graph(total).source
    colour_of = {}  # node id -> its colour
    for node, (_, attrs) in declarations(source).items():
        colour_of[node] = re.search(r'\bcolor=(\w+)', attrs)[1]
    legend = {
        label: colour_of[node]
        for node, (label, _) in declarations(source).items()
        if node.startswith('legend')
    }
    assert legend == {
        'forward': 'lightblue',
        'backward': 'palegreen',
        'backward of order 2': 'plum',
        'backward of order 3': 'khaki',
        'backward of order 4': 'lightpink',
        'backward of order 5 and above': 'aquamarine',
    }
    # each function has the colour of its order, orders 6 and 7 that of order 5
    functions = dezero.graph.functions_behind(total)
    assert {f.backward_order for f in functions} == set(range(8))
    palette = list(legend.values())
    expected = Counter(palette[min(f.backward_order, 5)] for f in functions)
    drawn = Counter(colour for node, colour in colour_of.items() if node.startswith('f'))
    assert drawn == expected


@needs_dot
def test_inline_svg_of_names_with_control_characters_is_well_formed_xml():
    import xml.dom.minidom

    for name in ('esc\x1bz', '\x01', '\ufffe', '\uffff'):
        svg = draw_graph(F.exp(Variable(np.ones(2), name=name)))._repr_svg_()
        xml.dom.minidom.parseString(svg.encode('utf-8'))  # ExpatError before
        assert f'>{ascii(name)[1:-1]}</text>' in svg


@needs_dot
@pytest.mark.parametrize('length', [20_000, 300_000])
def test_inline_svg_and_save_of_a_very_long_name(tmp_path, length):
    g = draw_graph(F.exp(Variable(np.ones(2), name='a' * length)))
    assert f'>{"a" * 1000}… ({length - 1000:,} more characters)</text>' in g._repr_svg_()
    assert g.save(tmp_path / 'long.png').read_bytes().startswith(b'\x89PNG')


def test_a_very_long_layer_name_is_cut_short_in_its_box():
    model = Model()
    setattr(model, 'l' * 3000, L.Linear(2))
    layer = getattr(model, 'l' * 3000)
    y = layer(np.ones((1, 3), np.float32))
    source = draw_graph(y, model=model).source
    assert list(clusters(source)) == ['l' * 2000 + '… (1,000 more characters)']
    # the paths of W and b, 3,002 characters each
    assert labels(source).count('l' * 1000 + '… (2,002 more characters)') == 2
    if shutil.which('dot') is not None:
        assert b'<svg' in Graph(source).pipe('svg')


@needs_dot
def test_graphviz_failing_is_reported_by_the_graph_that_asked():
    g = Graph('digraph g { a -> }')  # DOT that Graphviz refuses
    with pytest.raises(
        RuntimeError,
        match='Graph.pipe: Graphviz failed to render the graph as '
        'svg, so nothing was rendered: .*syntax error',
    ) as info:
        g.pipe('svg')
    assert not isinstance(info.value, GraphvizNotFoundError)
    with pytest.raises(
        RuntimeError, match=r'Graph._repr_svg_ \(the inline SVG picture\): Graphviz failed'
    ):
        g._repr_svg_()


@needs_dot
def test_graphviz_failing_is_reported_by_save(tmp_path):
    g = Graph('digraph g { a -> }')
    to_file = tmp_path / 'g.pdf'
    with pytest.raises(RuntimeError) as info:
        g.save(to_file)
    assert not isinstance(info.value, GraphvizNotFoundError)
    message = str(info.value)
    assert message.startswith(
        f'Graph.save: Graphviz failed to render the graph as pdf, so {to_file} was not rendered: '
    )
    assert 'syntax error' in message
    assert message.endswith(f'The DOT text was still written to {tmp_path / "g.dot"}.')
    assert (tmp_path / 'g.dot').read_text() == g.source and not to_file.exists()


# ---- nodes are told apart by identity --------------------------------------------------
def test_depth_limit_tells_functions_equal_by_value_apart():
    # both Scale(2.0) counted as one step behind y: the one left out was drawn too
    y = Scale(2.0)(Scale(2.0)(Variable(np.array(1.0), name='x')))
    y.name = 'y'
    assert labels(draw_graph(y, max_depth=1).source) == ['...', 'Scale', 'y']
    assert labels(draw_graph(y, max_depth=2).source) == ['x', 'Scale', '', 'Scale', 'y']


# ---- layer names are drawn as written ---------------------------------------------------
def test_layer_names_holding_html_entities_are_escaped_in_their_box():
    model = Model()
    setattr(model, 'R&amp;D', L.Linear(2))
    y = getattr(model, 'R&amp;D')(np.ones((1, 3), np.float32))
    source = draw_graph(y, model=model).source
    assert list(clusters(source)) == ['R&amp;amp;D']
    assert 'R&amp;amp;D/W' in labels(source)
    if shutil.which('dot') is not None:  # and Graphviz draws them as written
        import xml.dom.minidom

        svg = xml.dom.minidom.parseString(Graph(source).pipe('svg'))
        texts = [t.firstChild.data for t in svg.getElementsByTagName('text') if t.firstChild]
        assert {'R&amp;D', 'R&amp;D/W', 'R&amp;D/b'} <= set(texts)


# ---- the simple core --------------------------------------------------------------------
def test_draw_graph_refuses_a_simple_core_variable_and_says_what_draws_it():
    from dezero import core_simple

    x = core_simple.Variable(np.array(1.0))
    with pytest.raises(TypeError) as info:
        draw_graph(x)
    assert str(info.value) == (
        'draw_graph: output is a dezero.core_simple.Variable, which draw_graph does not '
        'draw (its values, gradients, layers and backward passes are those of '
        'dezero.Variable); draw it with get_dot_graph or plot_dot_graph'
    )


# ---- constants: drawn as the variables the book records ---------------------------------
_EDGE = re.compile(r'^\s*(\w+) -> (\w+)$')


def operands(source, function):
    """The (label, attributes) of the nodes with an edge into the one function labelled
    ``function``, in the order of the edges (the order of the operands)."""
    nodes = declarations(source)
    (f,) = [node for node, (label, _) in nodes.items() if label == function]
    edges = [_EDGE.match(line) for line in source.splitlines()]
    return [nodes[m[1]] for m in edges if m and m[2] == f]


def test_a_constant_shows_its_value_and_no_gradient():
    x = Variable(np.array([1.0, 2.0]), name='x')
    y = F.sum(3.0 - x)
    y.backward()
    source = draw_graph(y, show_values=True, show_grads=True, verbose=True).source
    labels_in = [label for label, _ in operands(source, 'SubFromConstant')]
    assert labels_in == [
        '() float64\ndata 3\ngrad None',
        'x\n(2,) float64\ndata [1. 2.]\ngrad [-1. -1.]',
    ]
    assert draw_graph(y).source == draw_graph(y).source


def test_a_constant_made_by_a_backward_pass_is_coloured_as_that_pass_variables():
    x = Variable(np.array(2.0), name='x')
    (x**3).backward(create_graph=True)  # Pow's backward: x ** 2.0 * 3 * gy
    source = draw_graph(x.grad).source
    (x_squared, (label, attributes)) = operands(source, 'MulConstant')
    assert label == '' and 'fillcolor="#e6f9e6"' in attributes
    assert 'fillcolor' not in node_with(source, 'x')[1]


class Scaled(L.Layer):
    def __init__(self):
        super().__init__()
        self.W = dezero.Parameter(np.ones((3, 2), np.float32), name='W')

    def forward(self, x):
        return F.matmul(x, self.W * 2.0)  # MulConstant reads W: it is drawn in W's layer


class ScaledNet(Model):
    def __init__(self):
        super().__init__()
        self.l0 = Scaled()

    def forward(self, x):
        return self.l0(x)


def test_a_constant_goes_in_the_box_of_the_layer_of_its_function():
    net = ScaledNet()
    source = draw_graph(net(np.ones((1, 3), np.float32)), model=net, verbose=True).source
    groups, nodes = clusters(source), declarations(source)
    inside = sorted(nodes[n][0].split('\n')[0] for n in groups['l0'])
    assert inside == ['() float32', '(3, 2) float32', 'MulConstant', 'l0/W']


def test_depth_limit_draws_the_constants_of_the_functions_it_draws():
    x = Variable(np.array(1.0), name='x')
    y = x
    for _ in range(50):
        y = y * 2.0
    found = labels(draw_graph(y, max_depth=3).source)
    assert found.count('MulConstant') == 3
    assert sorted(found) == [
        '',
        '',
        '',
        '',
        '',
        '',
        '...',
        'MulConstant',
        'MulConstant',
        'MulConstant',
    ]


# ---- the order of a backward pass: 1 + the highest order among the functions it runs -----
def test_a_hessian_vector_product_draws_its_second_pass_as_order_2():
    # the second pass starts at the forward Sum of z but runs the first pass's
    # functions behind it: it was drawn as order 1, as if it were a first derivative
    x = Variable(np.array([1.0, 2.0]), name='x')
    y = F.sum(F.sin(x) * x)
    y.backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    z = F.sum(gx * np.array([1.0, 0.5]))
    assert z.creator.backward_order == 0
    z.backward(create_graph=True)
    first = {id(f) for f in dezero.graph.functions_behind(gx)}
    made = [f for f in dezero.graph.functions_behind(x.grad) if id(f) not in first]
    assert made and {f.backward_order for f in made} == {2}
    source = draw_graph(x.grad).source
    assert 'label="backward of order 2"' in source
    assert 'label="backward"' in source  # the first pass's functions, which it reads


def test_a_pass_of_backprop_with_targets_through_a_backward_graph_is_of_order_2():
    x = Variable(np.array([1.0, 2.0]), name='x')
    F.sum(F.exp(x) * x).backward(create_graph=True)
    gx = x.grad
    z = F.sum(gx * 3.0)
    (g,) = dezero.core.backprop([z], [np.array(1.0)], create_graph=True, targets=[x]).values()
    assert g.creator.backward_order == 2
    # and the order of a function made by a pass is kept by its copies
    assert pickle.loads(pickle.dumps(g.creator)).backward_order == 2


# ---- models nested deep ----------------------------------------------------------------------
class _Node(dezero.Layer):
    """A Linear and, below it, the next node: layers nested as deep as the chain is long."""

    def __init__(self, child):
        super().__init__()
        self.lin = L.Linear(2, in_size=2)
        self.child = child


class _Chain(Model):
    def __init__(self, depth):
        super().__init__()
        node = None
        for _ in range(depth):
            node = _Node(node)
        self.root = node

    def forward(self, x):
        node = self.root
        while node is not None:
            x = node.lin(x)
            node = node.child
        return x


def test_a_model_of_layers_nested_a_thousand_deep_is_drawn_and_plotted(tmp_path):
    # the clusters were written, and Model.plot's walk of the layers made, by recursion
    model = _Chain(1000)
    x = np.ones((1, 2))
    source = draw_graph(model(x), model=model).source
    deepest = 'root' + '/child' * 999
    assert len(clusters(source)) == 2000  # every node and its lin
    assert clusters(source)[dezero.graph._shortened(deepest + '/lin', 2000)]
    indents = {len(line) - len(line.lstrip(' ')) for line in source.splitlines()}
    assert max(indents) == 2 + 2 * (dezero.graph._DEEPEST_INDENT + 1)  # capped
    plotted = model.plot(x, to_file=tmp_path / 'deep.dot').read_text()
    assert plotted.count('subgraph cluster_') == 2000


def test_indentation_of_clusters_of_an_ordinary_model_follows_their_depth():
    model = _Chain(3)
    source = draw_graph(model(np.ones((1, 2))), model=model).source
    opening = [line for line in source.splitlines() if 'subgraph cluster_' in line]
    assert [len(line) - len(line.lstrip(' ')) for line in opening] == [2, 4, 6, 8, 6, 4]


def test_frozen_parameters_are_drawn_in_their_layers_box():
    # a frozen bias that no backward reads was a stand-in, drawn outside its layer
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.l0 = L.Linear(3, in_size=2)
            self.l1 = L.Linear(1, in_size=3)

        def forward(self, x):
            return self.l1(F.tanh(self.l0(x)))

    model = Net()
    for p in model.l0.params():
        p.requires_grad = False
    source = draw_graph(model(Variable(np.ones((4, 2)))), model=model).source
    box = source[source.index('subgraph cluster_') :]
    box = box[: box.index('}')]
    assert 'l0/W' in box and 'l0/b' in box

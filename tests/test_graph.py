import dataclasses
import gc
import os
import pathlib
import re
import shutil
import sys
from collections import Counter

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Function, Variable
from dezero.graph import GraphvizNotFoundError, PicturePath, get_dot_graph, plot_dot_graph

needs_dot = pytest.mark.skipif(
    shutil.which('dot') is None, reason="Graphviz's dot program is not installed"
)

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
_NODE = re.compile(r'(\w+) \[label="((?:[^"\\]|\\.)*)", shape=(\w+)[^\]]*\]')
_EDGE = re.compile(r'(\w+) -> (\w+)')


def parse(text):
    """Nodes as {id: (label, shape)} in declaration order, and edges as (from, to) ids."""
    lines = text.splitlines()
    assert lines[0] == 'digraph g {' and lines[-1] == '}'
    nodes, edges = {}, []
    for line in lines[1:-1]:
        line = line.strip()
        if m := _NODE.fullmatch(line):
            assert m[1] not in nodes, f'node {m[1]} declared twice'
            nodes[m[1]] = (m[2], m[3])
        elif m := _EDGE.fullmatch(line):
            edges.append((m[1], m[2]))
        else:
            pytest.fail(f'unexpected DOT line: {line!r}')
    for a, b in edges:
        assert a in nodes and b in nodes, f'edge {a} -> {b} to an undeclared node'
    return nodes, edges


def labelled_edges(text):
    nodes, edges = parse(text)
    return Counter((nodes[a][0], nodes[b][0]) for a, b in edges)


def shapes(text):
    nodes, _ = parse(text)
    return Counter(shape for _, shape in nodes.values())


def named(data, name):
    return Variable(np.asarray(data, dtype=np.float64), name=name)


def add_graph():
    x0 = named(np.ones((2, 3)), 'x0')
    x1 = named(np.ones((2, 3)), 'x1')
    y = x0 + x1
    y.name = 'y'
    return y


# ---- structure ------------------------------------------------------------------------
def test_add_graph_structure():
    text = get_dot_graph(add_graph(), verbose=False)
    nodes, edges = parse(text)
    assert sorted(nodes.values()) == [
        ('Add', 'box'),
        ('x0', 'ellipse'),
        ('x1', 'ellipse'),
        ('y', 'ellipse'),
    ]
    assert labelled_edges(text) == Counter({('x0', 'Add'): 1, ('x1', 'Add'): 1, ('Add', 'y'): 1})
    assert len(edges) == 3


def test_verbose_labels_show_shape_and_dtype():
    text = get_dot_graph(add_graph(), verbose=True)
    labels = sorted(label for label, _ in parse(text)[0].values())
    assert labels == ['Add', r'x0\n(2, 3) float64', r'x1\n(2, 3) float64', r'y\n(2, 3) float64']


def test_unnamed_variables():
    x = Variable(np.zeros(4, dtype=np.float32))
    y = F.sin(x)
    verbose = sorted(label for label, _ in parse(get_dot_graph(y))[0].values())
    assert verbose == ['(4,) float32', '(4,) float32', 'Sin']
    quiet = sorted(label for label, _ in parse(get_dot_graph(y, verbose=False))[0].values())
    assert quiet == ['', '', 'Sin']


def test_leaf_alone_is_one_node():
    text = get_dot_graph(named(1.0, 'x'), verbose=False)
    assert parse(text) == ({'v0': ('x', 'ellipse')}, [])


def test_diamond_lists_each_function_and_variable_once():
    x = named(0.5, 'x')
    t = F.exp(x)
    t.name = 't'
    a, b = F.sin(t), F.cos(t)
    a.name, b.name = 'a', 'b'
    y = a + b
    y.name = 'y'
    text = get_dot_graph(y, verbose=False)
    nodes, _ = parse(text)
    assert sorted(label for label, _ in nodes.values()) == [
        'Add',
        'Cos',
        'Exp',
        'Sin',
        'a',
        'b',
        't',
        'x',
        'y',
    ]
    assert labelled_edges(text) == Counter(
        {
            ('x', 'Exp'): 1,
            ('Exp', 't'): 1,
            ('t', 'Sin'): 1,
            ('t', 'Cos'): 1,
            ('Sin', 'a'): 1,
            ('Cos', 'b'): 1,
            ('a', 'Add'): 1,
            ('b', 'Add'): 1,
            ('Add', 'y'): 1,
        }
    )


def test_same_variable_twice_gives_two_edges_into_one_function():
    x = named(2.0, 'x')
    y = x + x
    y.name = 'y'
    text = get_dot_graph(y, verbose=False)
    assert shapes(text) == Counter({'ellipse': 2, 'box': 1})
    assert labelled_edges(text) == Counter({('x', 'Add'): 2, ('Add', 'y'): 1})


def test_function_reached_twice_at_once_is_listed_once():
    x = named(2.0, 'x')
    t = F.exp(x)
    t.name = 't'
    y = t * t  # both inputs lead to Exp before it is visited
    y.name = 'y'
    text = get_dot_graph(y, verbose=False)
    assert labelled_edges(text) == Counter(
        {('x', 'Exp'): 1, ('Exp', 't'): 1, ('t', 'Mul'): 2, ('Mul', 'y'): 1}
    )


def test_nodes_are_declared_in_data_flow_order():
    x = named(0.5, 'x')
    t = F.exp(x)
    y = F.sin(t) * F.cos(t) + x
    nodes, edges = parse(get_dot_graph(y))
    order = {node: i for i, node in enumerate(nodes)}
    assert all(order[a] < order[b] for a, b in edges)


def test_same_graph_gives_same_text():
    assert get_dot_graph(add_graph()) == get_dot_graph(add_graph())


class Split(Function):
    """Two outputs, to check that a dropped output is left out of the graph."""

    def forward(self, x):
        return x[:1], x[1:]


def test_dropped_output_is_skipped():
    x = named([1.0, 2.0, 3.0], 'x')
    first, rest = Split()(x)
    first.name = 'first'
    del rest  # its weak reference in Split.outputs is now dead
    text = get_dot_graph(first, verbose=False)
    assert labelled_edges(text) == Counter({('x', 'Split'): 1, ('Split', 'first'): 1})


def test_living_sibling_output_is_drawn():
    x = named([1.0, 2.0, 3.0], 'x')
    first, rest = Split()(x)
    first.name, rest.name = 'first', 'rest'
    text = get_dot_graph(first, verbose=False)
    assert labelled_edges(text) == Counter(
        {('x', 'Split'): 1, ('Split', 'first'): 1, ('Split', 'rest'): 1}
    )


def test_names_are_escaped():
    name = 'say "hi"\\ back\nnow'
    y = F.sin(named(1.0, name))
    text = get_dot_graph(y, verbose=False)
    assert r'[label="say \"hi\"\\ back\nnow"' in text
    assert '\nnow' not in text  # no raw line break inside a label
    parse(text)


@needs_dot
def test_escaped_names_render_as_written():
    import graphviz

    y = F.sin(named(1.0, 'a"b\\c'))
    svg = graphviz.Source(get_dot_graph(y, verbose=False)).pipe(format='svg')
    assert b'a&quot;b\\c' in svg


# ---- higher order and size ------------------------------------------------------------
def test_graph_of_higher_order_derivative():
    x = named(2.0, 'x')
    y = F.sin(x) * x**3
    y.backward(create_graph=True)
    gx = x.grad
    forward = parse(get_dot_graph(y))[0]
    first = parse(get_dot_graph(gx))[0]
    assert len(first) > len(forward)

    x.cleargrad()
    gx.backward(create_graph=True)
    second = parse(get_dot_graph(x.grad))[0]
    assert len(second) > len(first)
    assert sum(1 for label, _ in second.values() if label.startswith('x\\n')) == 1


def test_long_chain_does_not_recurse():
    n = 20_000
    x = named(0.0, 'x')
    y = x
    for _ in range(n):
        y = y + 1.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        text = get_dot_graph(y, verbose=False)
    finally:
        sys.setrecursionlimit(limit)
    # each AddConstant has its constant 1.0 drawn as a node of its own, as in the book
    assert shapes(text) == Counter({'box': n, 'ellipse': 2 * n + 1})
    nodes, edges = parse(text)
    assert len(edges) == 3 * n
    assert next(iter(nodes.values())) == ('x', 'ellipse')


# ---- pictures -------------------------------------------------------------------------
@needs_dot
def test_plot_png_writes_picture_and_dot_file(tmp_path):
    y = add_graph()
    to_file = tmp_path / 'out' / 'graph.png'  # the folder does not exist yet
    result = plot_dot_graph(y, to_file=str(to_file))
    assert str(result) == str(to_file)
    assert to_file.read_bytes().startswith(PNG_MAGIC)
    assert (tmp_path / 'out' / 'graph.dot').read_text() == get_dot_graph(y)
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['graph.dot', 'graph.png']


@needs_dot
def test_plot_svg_of_higher_order_graph(tmp_path):
    x = named(1.0, 'x')
    y = F.tanh(x)
    y.backward(create_graph=True)
    to_file = tmp_path / 'grad.svg'
    plot_dot_graph(x.grad, verbose=False, to_file=to_file)
    svg = to_file.read_bytes()
    assert b'<svg' in svg and b'>x<' in svg
    assert (tmp_path / 'grad.dot').read_text() == get_dot_graph(x.grad, verbose=False)


# The book's plot_dot_graph returns an IPython Image, so that a graph plotted as the
# last line of a Jupyter cell shows inline; dezero's returns a path that Jupyter shows.
@needs_dot
def test_plot_png_returns_a_path_that_jupyter_shows_as_the_picture(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'IPython', None)  # no IPython needed
    to_file = tmp_path / 'graph.png'
    result = plot_dot_graph(add_graph(), to_file=str(to_file))
    assert isinstance(result, pathlib.Path) and isinstance(result, PicturePath)
    assert result == to_file and hash(result) == hash(to_file)
    assert str(result) == str(to_file) and os.fspath(result) == str(to_file)
    png = result._repr_png_()
    assert png == to_file.read_bytes() and png.startswith(PNG_MAGIC)
    assert result._repr_svg_() is None and result._repr_jpeg_() is None


@needs_dot
@pytest.mark.parametrize('name', ['graph.svg', 'G.SVG'])
def test_plot_svg_returns_a_path_that_jupyter_shows_as_svg_text(tmp_path, name):
    result = plot_dot_graph(add_graph(), to_file=tmp_path / name)
    svg = result._repr_svg_()
    assert svg == (tmp_path / name).read_text(encoding='utf-8') and '<svg' in svg
    assert result._repr_png_() is None and result._repr_jpeg_() is None


@needs_dot
@pytest.mark.parametrize('name', ['graph.jpg', 'graph.jpeg'])
def test_plot_jpeg_returns_a_path_that_jupyter_shows_as_jpeg(tmp_path, name):
    result = plot_dot_graph(add_graph(), to_file=tmp_path / name)
    jpeg = result._repr_jpeg_()
    assert jpeg == (tmp_path / name).read_bytes() and jpeg.startswith(b'\xff\xd8')
    assert result._repr_png_() is None and result._repr_svg_() is None


def test_a_dot_file_path_shows_as_a_path_only(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'graphviz', None)
    result = plot_dot_graph(add_graph(), to_file=tmp_path / 'g.dot')
    assert isinstance(result, PicturePath) and result == tmp_path / 'g.dot'
    assert (result._repr_png_(), result._repr_svg_(), result._repr_jpeg_()) == (None,) * 3


def test_a_picture_path_reads_its_file_when_shown(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'IPython', None)
    png = PicturePath(tmp_path / 'a.PNG')
    assert png._repr_png_() is None  # no file (yet): Jupyter shows the path
    png.write_bytes(PNG_MAGIC + b'rest')
    assert png._repr_png_() == PNG_MAGIC + b'rest'
    pdf = PicturePath(tmp_path / 'a.pdf')
    pdf.write_bytes(b'%PDF-1.4')
    assert (pdf._repr_png_(), pdf._repr_svg_(), pdf._repr_jpeg_()) == (None,) * 3
    assert isinstance(png.with_suffix('.svg'), pathlib.Path)


def test_missing_dot_program_raises_clear_error(tmp_path, monkeypatch):
    pytest.importorskip('graphviz')
    empty = tmp_path / 'empty'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))
    to_file = tmp_path / 'graph.png'
    with pytest.raises(GraphvizNotFoundError) as info:
        plot_dot_graph(add_graph(), to_file=to_file)
    message = str(info.value)
    for part in (
        'plot_dot_graph',
        '`dot`',
        'Graphviz',
        'apt-get install graphviz',
        'brew install graphviz',
        'conda install graphviz',
        str(tmp_path / 'graph.dot'),
    ):
        assert part in message
    assert isinstance(info.value, RuntimeError)
    assert (tmp_path / 'graph.dot').read_text() == get_dot_graph(add_graph())
    assert not to_file.exists()


def test_missing_graphviz_package_raises_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'graphviz', None)  # makes `import graphviz` fail
    with pytest.raises(GraphvizNotFoundError, match='pip install graphviz') as info:
        plot_dot_graph(add_graph(), to_file=tmp_path / 'graph.svg')
    assert str(tmp_path / 'graph.dot') in str(info.value)
    assert (tmp_path / 'graph.dot').exists()
    assert not (tmp_path / 'graph.svg').exists()


def test_dot_suffix_writes_only_the_dot_file(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'graphviz', None)  # not needed for DOT text
    result = plot_dot_graph(add_graph(), to_file=tmp_path / 'g.dot')
    assert str(result) == str(tmp_path / 'g.dot')
    assert (tmp_path / 'g.dot').read_text() == get_dot_graph(add_graph())


def test_an_upper_case_dot_suffix_writes_and_returns_that_file(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'graphviz', None)
    result = plot_dot_graph(add_graph(), to_file=tmp_path / 'G.DOT')
    assert result == tmp_path / 'G.DOT'
    assert result.read_text() == get_dot_graph(add_graph())
    assert [p.name for p in tmp_path.iterdir()] == ['G.DOT']


@needs_dot
def test_an_upper_case_picture_suffix_is_kept(tmp_path):
    result = plot_dot_graph(add_graph(), to_file=tmp_path / 'G.PNG')
    assert result == tmp_path / 'G.PNG' and result.read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['G.PNG', 'G.dot']


def test_a_bytes_path_is_taken(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'graphviz', None)
    result = plot_dot_graph(add_graph(), to_file=bytes(tmp_path / 'g.dot'))
    assert result == tmp_path / 'g.dot' and result.exists()


@pytest.mark.parametrize('under', ['afile', 'afile/sub'])
def test_a_file_in_place_of_a_folder_is_refused_by_name(tmp_path, under):
    (tmp_path / 'afile').write_text('a file')
    to_file = tmp_path / under / 'graph.png'
    with pytest.raises(NotADirectoryError) as info:
        plot_dot_graph(add_graph(), to_file=to_file)
    assert str(info.value) == (
        f'plot_dot_graph: cannot write {to_file}: {tmp_path / "afile"} is a file, not a '
        f'folder; choose another path (nothing was written)'
    )
    assert [p.name for p in tmp_path.iterdir()] == ['afile']
    assert (tmp_path / 'afile').read_text() == 'a file'


def test_a_folder_as_to_file_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / 'd.svg').mkdir()
    with pytest.raises(IsADirectoryError, match=r'plot_dot_graph: cannot write .*d\.svg: it is a'):
        plot_dot_graph(add_graph(), to_file=tmp_path / 'd.svg')
    assert [p.name for p in tmp_path.iterdir()] == ['d.svg']  # no d.dot
    assert list((tmp_path / 'd.svg').iterdir()) == []


@pytest.mark.parametrize('name', ['graph', 'graph.nosuchformat'])
def test_bad_picture_name_is_refused(tmp_path, name):
    pytest.importorskip('graphviz')
    with pytest.raises(ValueError, match='plot_dot_graph'):
        plot_dot_graph(add_graph(), to_file=tmp_path / name)
    assert not (tmp_path / name).exists()


def test_an_unknown_format_is_refused_before_the_dot_file_is_written(tmp_path):
    # the .dot file was written (over an existing one) before the format was refused
    pytest.importorskip('graphviz')
    (tmp_path / 'g.dot').write_text('kept')
    with pytest.raises(ValueError, match="plot_dot_graph: Graphviz cannot render the format 'xyz'"):
        plot_dot_graph(add_graph(), to_file=tmp_path / 'g.xyz')
    assert (tmp_path / 'g.dot').read_text() == 'kept'
    with pytest.raises(TypeError, match='plot_dot_graph: to_file must be the path of a file'):
        plot_dot_graph(add_graph(), to_file=None)


def test_a_name_with_a_lone_surrogate_is_drawn_escaped(tmp_path):
    # os.fsdecode gives such names for file names that are not UTF-8; UTF-8 cannot
    # hold them, and plot_dot_graph raised UnicodeEncodeError
    pytest.importorskip('graphviz')
    y = add_graph()
    y.name = 'run\udcff'
    assert 'run\\\\udcff' in get_dot_graph(y)
    assert plot_dot_graph(y, to_file=tmp_path / 'g.dot').read_text(encoding='utf-8')


def test_utils_reexports():
    assert dezero.utils.get_dot_graph is get_dot_graph
    assert dezero.utils.plot_dot_graph is plot_dot_graph


# ---- the book's _dot_var and _dot_func (steps 25 and 26) -------------------------------
def test_dot_var_writes_the_books_line():
    from dezero.utils import _dot_var

    x = Variable(np.random.randn(2, 3))
    x.name = 'x'
    assert _dot_var(x) == f'{id(x)} [label="x", color=orange, style=filled]\n'
    assert _dot_var(x, verbose=True) == (
        f'{id(x)} [label="x: (2, 3) float64", color=orange, style=filled]\n'
    )
    assert '[label="(2, 3) float64"' in _dot_var(Variable(np.ones((2, 3))), verbose=True)
    x.name = 'say "hi"'
    assert r'label="say \"hi\""' in _dot_var(x)


def test_dot_func_and_dot_var_make_one_graph_whatever_the_engine_keeps():
    # the middle variable is kept by the graph as a stand-in (Add reads no inputs):
    # the edges must still meet the node that _dot_var writes for it
    from dezero.utils import _dot_func, _dot_var

    x0, x1 = Variable(np.array(1.0)), Variable(np.array(1.0))
    y = x0 + x1
    z = y * 2
    text = _dot_func(y.creator) + _dot_func(z.creator)
    ids = {line.split(' [')[0] for line in (_dot_var(v) for v in (x0, x1, y, z))}
    ids.add(f'"{id(z.creator)}:c"')  # the constant 2, which _dot_func declares
    edges = [line.split(' -> ') for line in text.splitlines() if ' -> ' in line]
    functions = {str(id(y.creator)), str(id(z.creator))}
    assert len(edges) == 6
    for a, b in edges:
        assert {a, b} <= ids | functions and (a in functions) != (b in functions)
    dot = shutil.which('dot')
    if dot is not None:  # the whole text parses as DOT
        import subprocess

        body = ''.join(_dot_var(v) for v in (x0, x1, y, z)) + text
        subprocess.run(
            [dot, '-Tsvg'],
            input='digraph g {\n' + body + '}',
            text=True,
            check=True,
            capture_output=True,
        )


def test_a_nul_character_and_an_empty_name_still_make_valid_dot():
    x = Variable(np.ones(2), name='a\x00b')
    y = x * 2
    y.name = ''
    text = get_dot_graph(y, verbose=True)
    assert '\x00' not in text and r'label="a\\0b\n(2,) float64"' in text
    assert 'label="(2,) float64"' in text  # no blank line for the empty name
    dot = shutil.which('dot')
    if dot is not None:
        import subprocess

        subprocess.run([dot, '-Tsvg'], input=text, text=True, check=True, capture_output=True)


# ---- names that Graphviz or the SVG picture could not take -----------------------------
def svg_of(dot_text):
    """The SVG that Graphviz's dot program makes of ``dot_text``, checked to be
    well-formed XML."""
    import subprocess
    import xml.dom.minidom

    svg = subprocess.run(
        [shutil.which('dot'), '-Tsvg'], input=dot_text.encode(), check=True, capture_output=True
    ).stdout.decode('utf-8')
    xml.dom.minidom.parseString(svg.encode('utf-8'))  # ExpatError if not well-formed
    return svg


@pytest.mark.parametrize(
    'name, label, shown',
    [
        ('esc\x1bz', r'esc\\x1bz', r'esc\x1bz'),
        ('\x01', r'\\x01', r'\x01'),
        ('form\x0cfeed', r'form\\x0cfeed', r'form\x0cfeed'),
        ('del\x7f next\x85', r'del\\x7f next\\x85', r'del\x7f next\x85'),
        ('\ufffe and \uffff', r'\\ufffe and \\uffff', r'\ufffe and \uffff'),
        ('a\x00b', r'a\\0b', r'a\0b'),
        ('run\udcff', r'run\\udcff', r'run\udcff'),
        ('tab\there', 'tab\there', None),  # a tab and a line break keep their meaning
        ('two\nlines', r'two\nlines', None),
    ],
)
def test_characters_xml_cannot_hold_are_drawn_as_python_escapes(name, label, shown):
    text = get_dot_graph(F.sin(named(1.0, name)), verbose=False)
    assert f'[label="{label}"' in text
    parse(text)
    if shutil.which('dot') is not None:
        svg = svg_of(text)
        assert shown is None or f'>{shown}</text>' in svg


@pytest.mark.parametrize('length', [20_000, 300_000])
def test_a_very_long_name_is_cut_short_with_an_ellipsis(tmp_path, length):
    # Graphviz refuses quoted strings over 16,384 bytes: plot_dot_graph raised
    # CalledProcessError, and BrokenPipeError for the longest
    x = Variable(np.ones(2), name='a' * length)
    text = get_dot_graph(F.exp(x))
    label = f'{"a" * 1000}… ({length - 1000:,} more characters)\\n(2,) float64'
    assert f'[label="{label}"' in text
    if shutil.which('dot') is not None:
        path = plot_dot_graph(F.exp(x), to_file=tmp_path / 'long.png')
        assert path.read_bytes().startswith(PNG_MAGIC)
        assert (tmp_path / 'long.dot').read_text(encoding='utf-8') == text


def test_a_name_is_cut_only_past_a_thousand_characters():
    def label(name):
        return get_dot_graph(named(1.0, name), verbose=False).split('"')[1]

    assert label('b' * 1000) == 'b' * 1000
    assert label('b' * 1001) == 'b' * 1000 + '… (1 more character)'
    assert label('b' * 1002) == 'b' * 1000 + '… (2 more characters)'


@pytest.mark.parametrize('character', ['\ufffe', '\udcff', '"', '\x01'])
def test_a_long_name_of_characters_escaped_longest_still_renders(tmp_path, character):
    x = Variable(np.ones(2), name=character * 20_000)
    text = get_dot_graph(F.exp(x))
    assert '… (19,000 more characters)' in text
    if shutil.which('dot') is not None:
        svg_of(text)


def test_the_books_dot_var_cuts_a_long_name_short_too():
    from dezero.utils import _dot_var

    x = Variable(np.ones(2), name='b' * 5000)
    line = _dot_var(x, verbose=True)
    assert f'[label="{"b" * 1000}… (4,000 more characters): (2,) float64"' in line
    if shutil.which('dot') is not None:
        svg_of('digraph g {\n' + line + '}')


# ---- Graphviz failing ------------------------------------------------------------------
def fake_dot(tmp_path, monkeypatch, script):
    """Put a `dot` program that runs the shell ``script`` first on the PATH."""
    if sys.platform == 'win32':
        pytest.skip('the fake dot program is a shell script')
    pytest.importorskip('graphviz')
    folder = tmp_path / 'fake'
    folder.mkdir()
    dot = folder / 'dot'
    dot.write_text('#!/bin/sh\n' + script + '\n')
    dot.chmod(0o755)
    monkeypatch.setenv('PATH', str(folder) + os.pathsep + os.environ.get('PATH', ''))


def test_graphviz_failing_is_reported_by_plot_dot_graph(tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, 'cat > /dev/null; echo "Error: out of paper" >&2; exit 1')
    to_file = tmp_path / 'g.png'
    with pytest.raises(RuntimeError) as info:
        plot_dot_graph(add_graph(), to_file=to_file)
    assert not isinstance(info.value, GraphvizNotFoundError)
    assert str(info.value) == (
        f'plot_dot_graph: Graphviz failed to render the graph as png, so {to_file} was not '
        f'rendered: Error: out of paper. The DOT text was still written to '
        f'{tmp_path / "g.dot"}.'
    )
    assert (tmp_path / 'g.dot').read_text() == get_dot_graph(add_graph())
    assert not to_file.exists()


def test_graphviz_closing_the_pipe_is_reported_by_plot_dot_graph(tmp_path, monkeypatch):
    # dot leaves without reading the DOT text, far longer than a pipe holds
    fake_dot(tmp_path, monkeypatch, 'exit 1')
    y = named(0.0, 'x')
    for _ in range(5000):
        y = y + 1.0
    with pytest.raises(RuntimeError, match='plot_dot_graph: Graphviz failed to render') as info:
        plot_dot_graph(y, to_file=tmp_path / 'g.svg')
    assert not isinstance(info.value, GraphvizNotFoundError)
    assert 'non-zero exit status 1' in str(info.value)
    assert not (tmp_path / 'g.svg').exists()


def test_graphviz_writing_nothing_is_refused_and_the_old_picture_kept(tmp_path, monkeypatch):
    # a dot built without some format exits 0 with nothing on its output
    fake_dot(tmp_path, monkeypatch, 'cat > /dev/null; echo "Warning: no support" >&2; exit 0')
    to_file = tmp_path / 'g.png'
    to_file.write_bytes(b'the old picture')
    with pytest.raises(
        RuntimeError, match='plot_dot_graph: Graphviz wrote nothing for the format png'
    ):
        plot_dot_graph(add_graph(), to_file=to_file)
    assert to_file.read_bytes() == b'the old picture'
    with pytest.raises(RuntimeError, match='Graph.pipe: Graphviz wrote nothing for the format svg'):
        dezero.graph.draw_graph(add_graph()).pipe('svg')


def test_an_interrupted_plot_leaves_no_dot_running(tmp_path, monkeypatch):
    # the graphviz package's Popen left `dot` running, its parent gone, when an
    # exception (Ctrl-C, the SystemExit of a SIGTERM handler) interrupted the wait
    import signal

    if not hasattr(signal, 'setitimer'):
        pytest.skip('needs signal.setitimer')
    started = tmp_path / 'dot.pid'
    fake_dot(tmp_path, monkeypatch, f'echo $$ > {started}; exec sleep 30')

    class Stop(Exception):
        pass

    seen = []

    def stop_once_dot_runs(signum, frame):
        if seen:  # dot has run for a while: the wait for it is interrupted
            raise Stop
        if started.exists() and started.read_text().strip():
            seen.append(True)
        signal.setitimer(signal.ITIMER_REAL, 0.05)  # look again soon

    previous = signal.signal(signal.SIGALRM, stop_once_dot_runs)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Stop):
            plot_dot_graph(add_graph(), to_file=tmp_path / 'g.png')
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    pid = int(started.read_text())
    try:
        os.kill(pid, 0)  # raises once the process is gone, and waited for
    except ProcessLookupError:
        pass
    else:
        os.kill(pid, signal.SIGKILL)  # (the fake dot this test started)
        pytest.fail('dot was left running')
    assert not (tmp_path / 'g.png').exists()


def test_a_missing_dot_says_so_from_graph_pipe_too(tmp_path, monkeypatch):
    pytest.importorskip('graphviz')
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(GraphvizNotFoundError, match='Graph.pipe: the `dot` program of Graphviz'):
        dezero.graph.draw_graph(add_graph()).pipe('svg')


@needs_dot
def test_warnings_of_dot_are_passed_on(capfd):
    pytest.importorskip('graphviz')
    picture = dezero.graph.Graph('digraph g { a [shape=nosuchshape] }').pipe('svg')
    assert b'<svg' in picture
    assert 'nosuchshape' in capfd.readouterr().err


@pytest.mark.skipif(shutil.which('dot') is None, reason='needs Graphviz')
def test_graph_pipe_takes_a_format_in_any_letter_case():
    pytest.importorskip('graphviz')
    graph = dezero.graph.draw_graph(add_graph())
    assert graph.pipe('SVG') == graph.pipe('svg')
    with pytest.raises(
        TypeError, match=r"Graph.pipe: the format must be a string .*got list \['png'\]"
    ):
        graph.pipe(['png'])


# ---- flags ------------------------------------------------------------------------------
def test_verbose_is_true_or_false(tmp_path):
    y = add_graph()
    with pytest.raises(
        TypeError, match="get_dot_graph: verbose must be True or False, got 'False'"
    ):
        get_dot_graph(y, verbose='False')
    with pytest.raises(TypeError, match="plot_dot_graph: verbose must be True or False, got 'no'"):
        plot_dot_graph(y, verbose='no', to_file=str(tmp_path / 'g.dot'))
    assert not (tmp_path / 'g.dot').exists()
    assert get_dot_graph(y, verbose=np.False_) == get_dot_graph(y, verbose=False)
    for flag in ('verbose', 'show_values', 'show_grads'):
        with pytest.raises(TypeError, match=f'draw_graph: {flag} must be True or False, got 1'):
            dezero.graph.draw_graph(y, **{flag: 1})


# ---- nodes are told apart by identity --------------------------------------------------
@dataclasses.dataclass(unsafe_hash=True)
class Scale(Function):
    """A function equal to any other Scale of the same factor (a dataclass)."""

    c: float

    def forward(self, x):
        return x * self.c

    def backward(self, gy):
        return gy * self.c


@dataclasses.dataclass
class Shift(Function):
    """A dataclass function without a hash (eq=True sets __hash__ to None)."""

    c: float

    def forward(self, x):
        return x + self.c

    def backward(self, gy):
        return gy


CHAIN_OF_TWO = """digraph g {{
  v0 [label="x", shape=ellipse, color=orange, style=filled]
  f1 [label="{f}", shape=box, color=lightblue, style=filled]
  v0 -> f1
  v2 [label="", shape=ellipse, color=orange, style=filled]
  f3 [label="{f}", shape=box, color=lightblue, style=filled]
  v2 -> f3
  v4 [label="y", shape=ellipse, color=orange, style=filled]
  f1 -> v2
  f3 -> v4
}}
"""


@pytest.mark.parametrize('make', [Scale, Shift])
def test_functions_equal_by_value_are_two_nodes(make):
    # the two Scale(2.0) were one node: a cycle, and y's name lost
    assert make(2.0) == make(2.0)
    y = make(2.0)(make(2.0)(named(1.0, 'x')))
    y.name = 'y'
    assert get_dot_graph(y, verbose=False) == CHAIN_OF_TWO.format(f=make.__name__)
    assert tuple(dezero.graph.graph_stats(y)) == (2, 3, 3 * 8, 0)


# ---- names are drawn as written ---------------------------------------------------------
def svg_texts(dot_text):
    """The texts of the SVG picture that Graphviz makes of ``dot_text``, as read by an
    XML parser."""
    import xml.dom.minidom

    svg = xml.dom.minidom.parseString(svg_of(dot_text).encode('utf-8'))
    return [t.firstChild.data for t in svg.getElementsByTagName('text') if t.firstChild]


def test_what_reads_as_an_html_entity_is_escaped():
    name = 'R&amp;D &lt;b&gt; &#92; AT&T'
    text = get_dot_graph(F.exp(named(1.0, name)), verbose=False)
    assert '[label="R&amp;amp;D &amp;lt;b&amp;gt; &amp;#92; AT&amp;T"' in text


@needs_dot
def test_names_holding_html_entities_render_as_written():
    # Graphviz drew 'R&amp;D &lt;b&gt;' as 'R&D <b>'
    name = 'R&amp;D &lt;b&gt; &#92; AT&T'
    assert name in svg_texts(get_dot_graph(F.exp(named(1.0, name)), verbose=False))


# ---- the book's _dot_var and _dot_func, continued ---------------------------------------
def test_dot_func_escapes_the_class_name():
    from dezero.utils import _dot_func

    kind = type('E"]; pwn [label="x', (Function,), {'forward': lambda self, x: x})
    f = kind()(named(1.0, 'x')).creator
    assert _dot_func(f).splitlines()[0] == (
        f'{id(f)} [label="E\\"]; pwn [label=\\"x", color=lightblue, style=filled, shape=box]'
    )


def test_dot_var_of_a_stand_in_shows_the_variable_as_it_is_now():
    # Add keeps stand-ins of its inputs, made when a had no name yet
    from dezero.utils import _dot_var

    x, y = named(2.0, 'x'), named(3.0, 'y')
    a = x * y
    z = a + x
    a.name = 'a'
    stand_in = z.creator.inputs[0]
    node = f'"{id(a.creator)}:0"'
    assert _dot_var(stand_in, verbose=True) == (
        f'{node} [label="a: () float64", color=orange, style=filled]\n'
    )
    del a  # gone: the stand-in knows its shape, and the name given after it was used
    assert _dot_var(stand_in, verbose=True) == (
        f'{node} [label="a: () float64", color=orange, style=filled]\n'
    )


def test_a_name_given_after_use_shows_once_the_variable_is_gone():
    x = named(1.0, 'x')
    h = x + 1
    h.name = 'old'
    y = h * 2  # MulConstant reads no input: the graph holds a stand-in for h
    h.name = 'new'
    del h
    gc.collect()
    text = get_dot_graph(y)
    assert r'label="new\n() float64"' in text and 'old' not in text


def test_dot_func_draws_the_edge_to_an_output_that_is_gone_but_stands_in_the_graph():
    # the book's step-26 loop over f.inputs, written with _dot_var and _dot_func: the
    # middle variable x + 1 is gone, and its node must still get the edge from AddConstant
    from dezero.utils import _dot_func, _dot_var

    x = named(1.0, 'x')
    y = (x + 1) * 2
    text, functions = _dot_var(y), [y.creator]
    while functions:
        f = functions.pop()
        text += _dot_func(f)
        for v in f.inputs:
            text += _dot_var(v)
            if v.creator is not None:
                functions.append(v.creator)
    add = y.creator.inputs[0].creator
    assert f'{id(add)} -> "{id(add)}:0"' in text.splitlines()
    declared = {line.split(' [')[0] for line in text.splitlines() if ' [' in line}
    edges = [line.split(' -> ') for line in text.splitlines() if ' -> ' in line]
    # x and the constant 1 into AddConstant, on to x + 1, which goes with 2 into
    # MulConstant, on to y
    assert len(edges) == 6 and all(a in declared and b in declared for a, b in edges)


# ---- the simple core's Variables (the book's step 26 draws them) -----------------------
@pytest.fixture
def simple():
    """dezero.core_simple with its operators set up, as the book's steps 28 and 29 use it."""
    from dezero import core_simple

    core_simple.setup_variable()
    return core_simple


def test_graphs_of_simple_core_variables_are_drawn_as_dezeros(simple, tmp_path):
    def z_of(Var):
        x, y = Var(np.array(1.0), name='x'), Var(np.array(2.0), name='y')
        z = x * y + x
        z.name = 'z'
        return z

    expected = get_dot_graph(z_of(Variable))
    z = z_of(simple.Variable)
    assert get_dot_graph(z) == expected
    assert plot_dot_graph(z, to_file=tmp_path / 'z.dot').read_text() == expected


def test_simple_core_outputs_of_one_function_are_told_apart(simple):
    class Two(simple.Function):
        def forward(self, x):
            return x, 2 * x

    x = simple.Variable(np.array(1.0), name='x')
    p, q = Two()(x)
    p.name, q.name = 'p', 'q'
    r = q * q
    r.name = 'r'
    assert labelled_edges(get_dot_graph(r, verbose=False)) == Counter(
        {('x', 'Two'): 1, ('Two', 'p'): 1, ('Two', 'q'): 1, ('q', 'Mul'): 2, ('Mul', 'r'): 1}
    )


def test_dot_func_of_a_simple_core_function_with_an_output_gone(simple):
    # only dezero.Function notes which outputs stand in the graph: AttributeError
    from dezero.utils import _dot_func

    class Two(simple.Function):
        def forward(self, x):
            return x, 2 * x

        def backward(self, a, b):
            return a + 2 * b

    x = simple.Variable(np.array(1.0), name='x')
    a, b = Two()(x)
    y = a * 3
    f = a.creator
    del b
    gc.collect()
    edges = [line for line in _dot_func(f).splitlines() if ' -> ' in line]
    assert edges == [f'{id(x)} -> {id(f)}', f'{id(f)} -> "{id(f)}:0"']  # to a; b not drawn
    assert y is not None


def test_the_books_step_26_loop_labels_constants_as_the_book_by_default():
    # the book's get_dot_graph (verbose=True by default) draws the 2 of x * 2 with
    # _dot_var(x, verbose); a learner's loop calls _dot_func(f), which drew it unlabelled
    from dezero.utils import _dot_func, _dot_var

    def learners_graph(output, verbose=True):
        text, functions, seen = _dot_var(output, verbose), [output.creator], set()
        while functions:
            f = functions.pop()
            text += _dot_func(f)
            for x in f.inputs:
                text += _dot_var(x, verbose)
                if x.creator is not None and x.creator not in seen:
                    seen.add(x.creator)
                    functions.append(x.creator)
        return 'digraph g {\n' + text + '}'

    x = named(1.0, 'x')
    y = x * 2
    constant = f'"{id(y.creator)}:c" [label="() float64", color=orange, style=filled]'
    assert constant in learners_graph(y).splitlines()
    assert 'label="x: () float64"' in learners_graph(y)


def test_the_books_step_26_loop_draws_simple_core_variables(simple):
    # _dot_var raised AttributeError ('_index') for a variable made by a function
    from dezero.utils import _dot_func, _dot_var

    x, y = simple.Variable(np.array(1.0), name='x'), simple.Variable(np.array(2.0), name='y')
    a = x * y
    z = a + x
    text = _dot_func(a.creator) + _dot_func(z.creator)
    lines = {_dot_var(v, verbose=True) for v in (x, y, a, z)}
    assert f'{id(x)} [label="x: () float64", color=orange, style=filled]\n' in lines
    nodes = {line.split(' [')[0] for line in lines} | {str(id(a.creator)), str(id(z.creator))}
    edges = [line.split(' -> ') for line in text.splitlines() if ' -> ' in line]
    assert len(edges) == 6 and all(src in nodes and dst in nodes for src, dst in edges)


def test_a_variable_of_another_module_is_named_with_its_module():
    class Variable:  # as the tutorial's first steps define one
        pass

    with pytest.raises(TypeError) as info:
        get_dot_graph(Variable())
    assert str(info.value) == (
        'get_dot_graph: output must be a Variable (the result whose graph is drawn), got '
        f'{__name__}.test_a_variable_of_another_module_is_named_with_its_module.<locals>.'
        'Variable'
    )


# ---- to_file is checked as given ---------------------------------------------------------
@pytest.mark.parametrize('save', ['plot_dot_graph', 'Graph.save'])
def test_a_to_file_ending_with_a_slash_is_refused_as_a_folder(tmp_path, save):
    # pathlib turned 'pic.png/' into 'pic.png', and the picture was written there
    to_file = str(tmp_path / 'pic.png') + '/'
    with pytest.raises(ValueError) as info:
        if save == 'plot_dot_graph':
            plot_dot_graph(add_graph(), to_file=to_file)
        else:
            dezero.graph.draw_graph(add_graph()).save(to_file)
    assert str(info.value) == (
        f"{save}: the path {to_file} ends with '/', so it names a folder; give the path of a file"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('save', ['plot_dot_graph', 'Graph.save'])
def test_a_link_into_a_missing_folder_is_refused_before_anything_is_written(tmp_path, save):
    # the DOT file was written and Graphviz run, then writing the picture through the
    # link failed with "(nothing was written)"
    if not hasattr(os, 'symlink'):
        pytest.skip('needs symbolic links')
    link = tmp_path / 'd.png'
    os.symlink('nowhere/x.png', link)
    with pytest.raises(FileNotFoundError) as info:
        if save == 'plot_dot_graph':
            plot_dot_graph(add_graph(), to_file=link)
        else:
            dezero.graph.draw_graph(add_graph()).save(link)
    assert str(info.value) == (
        f'{save}: cannot write {link}: it is a symbolic link to {tmp_path / "nowhere/x.png"}, '
        f'and the folder {tmp_path / "nowhere"} does not exist; create that folder first or '
        f'choose another path (nothing was written)'
    )
    assert [p.name for p in tmp_path.iterdir()] == ['d.png']  # no d.dot


def test_a_folder_that_takes_no_files_is_not_said_to_be_missing():
    # /proc exists, but creating a file there fails with ENOENT: the message said
    # "the folder /proc does not exist"
    if not os.path.isdir('/proc'):
        pytest.skip('needs /proc')
    try:
        open('/proc/dezero-probe', 'x').close()
    except FileNotFoundError:
        pass  # what this test is about: an existing folder, and ENOENT
    except OSError:
        pytest.skip('creating a file in /proc does not fail with ENOENT here')
    else:
        os.unlink('/proc/dezero-probe')
        pytest.skip('files can be created in /proc here')
    with pytest.raises(FileNotFoundError) as info:
        plot_dot_graph(add_graph(), to_file='/proc/g.dot')
    message = str(info.value)
    assert 'does not exist' not in message
    assert message.startswith(
        'plot_dot_graph: cannot write /proc/g.dot: no file can be created in the folder '
        '/proc: No such file or directory; choose another folder'
    )


@pytest.mark.parametrize('save', ['plot_dot_graph', 'Graph.save', 'Model.plot'])
def test_a_leading_tilde_is_the_home_folder(tmp_path, monkeypatch, save):
    # a folder named '~' was created in the working folder
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.chdir(tmp_path)
    if save == 'plot_dot_graph':
        result = plot_dot_graph(add_graph(), to_file='~/pics/g.dot')
    elif save == 'Graph.save':
        result = dezero.graph.draw_graph(add_graph()).save('~/pics/g.dot')
    else:
        from dezero.models import MLP

        result = MLP((2,)).plot(np.ones((1, 2)), to_file='~/pics/g.dot')
    assert result == tmp_path / 'home' / 'pics' / 'g.dot' and result.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['home']


@pytest.mark.parametrize('to_file', ['', b''])
def test_an_empty_to_file_is_named_as_given(tmp_path, monkeypatch, to_file):
    # it was named '.', the folder pathlib takes it for
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as info:
        plot_dot_graph(add_graph(), to_file=to_file)
    assert str(info.value) == (
        "plot_dot_graph: to_file is '', an empty path; give the path of a file such as graph.png"
    )
    with pytest.raises(ValueError, match="^Graph.save: to_file is '', an empty path"):
        dezero.graph.draw_graph(add_graph()).save(to_file)
    assert list(tmp_path.iterdir()) == []


# ---- constants: drawn as the variables the book records ---------------------------------
# dezero records x * 2 as MulConstant, holding 2, with x its only input; the book records
# Mul(x, 2), with 2 wrapped in a Variable, and draws it as an unnamed ellipse
X_TIMES_2_PLUS_1 = """digraph g {
  v0 [label="x\\n() float64", shape=ellipse, color=orange, style=filled]
  v1 [label="() float64", shape=ellipse, color=orange, style=filled]
  f2 [label="MulConstant", shape=box, color=lightblue, style=filled]
  v0 -> f2
  v1 -> f2
  v3 [label="() float64", shape=ellipse, color=orange, style=filled]
  v4 [label="() float64", shape=ellipse, color=orange, style=filled]
  f5 [label="AddConstant", shape=box, color=lightblue, style=filled]
  v3 -> f5
  v4 -> f5
  v6 [label="y\\n() float64", shape=ellipse, color=orange, style=filled]
  f2 -> v3
  f5 -> v6
}
"""


def test_the_constants_of_x_times_2_plus_1_are_drawn_as_the_books_variables():
    x = named(1.0, 'x')
    y = x * 2 + 1
    y.name = 'y'
    assert get_dot_graph(y) == X_TIMES_2_PLUS_1
    assert get_dot_graph(y) == X_TIMES_2_PLUS_1  # drawn twice, the same text


def operand_labels(text, function):
    """The labels of the nodes with an edge into the one function labelled
    ``function``, in the order of the edges (the order of the operands)."""
    nodes, edges = parse(text)
    (f,) = [node for node, (label, _) in nodes.items() if label == function]
    return [nodes[a][0] for a, b in edges if b == f]


# the expression, the function dezero records, the labels of its operands in the order
# of the book's inputs ('' for the constant)
CONSTANT_OPERANDS = [
    (lambda x: x + 2, 'AddConstant', ['x', '']),
    (lambda x: 2 + x, 'AddConstant', ['x', '']),  # the book's radd is add(x, 2)
    (lambda x: x - 2, 'SubConstant', ['x', '']),
    (lambda x: 2 - x, 'SubFromConstant', ['', 'x']),  # the book's Sub(2, x)
    (lambda x: x * 2, 'MulConstant', ['x', '']),
    (lambda x: 2 * x, 'MulConstant', ['x', '']),
    (lambda x: x / 2, 'DivConstant', ['x', '']),
    (lambda x: 2 / x, 'DivFromConstant', ['', 'x']),  # the book's Div(2, x)
    (lambda x: 2**x, 'PowFromConstant', ['', 'x']),  # as PowVariable(2, x) would be
    (lambda x: x**2, 'Pow', ['x']),  # the exponent stays inside Pow, as in the book
]


@pytest.mark.parametrize(
    'make, function, operands',
    CONSTANT_OPERANDS,
    ids=['x+2', '2+x', 'x-2', '2-x', 'x*2', '2*x', 'x/2', '2/x', '2**x', 'x**2'],
)
def test_a_constant_operand_is_drawn_where_the_book_has_it(make, function, operands):
    y = make(named(3.0, 'x'))
    assert type(y.creator).__name__ == function
    text = get_dot_graph(y, verbose=False)
    assert operand_labels(text, function) == operands
    assert shapes(text) == Counter({'box': 1, 'ellipse': len(operands) + 1})


def test_every_function_of_a_variable_and_a_constant_draws_its_constant():
    from dezero.functions.arithmetic import _ConstantOp

    with_constant = {function for _, function, operands in CONSTANT_OPERANDS if '' in operands}
    assert {kind.__name__ for kind in _ConstantOp.__subclasses__()} == with_constant


@pytest.mark.parametrize(
    'data, make, label',
    [
        (np.array(1), lambda x: x * 3, '() int64'),  # as the book's as_array(3)
        (np.array(1.0), lambda x: x * 2.0, '() float64'),
        (np.array(1.0), lambda x: x + np.array([1, 2]), '(2,) int64'),
        (np.array(1.0, np.float32), lambda x: np.ones((2, 3), np.float32) - x, '(2, 3) float32'),
        # the constant dezero multiplies by: 3 as a float32, which keeps the result float32
        (np.array(1.0, np.float32), lambda x: x * 3, '() float32'),
    ],
)
def test_a_constant_is_labelled_with_its_shape_and_dtype(data, make, label):
    y = make(Variable(data, name='x'))
    operands = operand_labels(get_dot_graph(y), type(y.creator).__name__)
    assert [text for text in operands if not text.startswith('x')] == [label]


def test_a_constant_used_by_two_functions_is_two_nodes():
    x = named([1.0, 2.0], 'x')
    c = np.array([3.0, 4.0])
    y = x * c + x * c
    text = get_dot_graph(y, verbose=False)
    assert shapes(text) == Counter({'box': 3, 'ellipse': 6})  # x, two c, two products, y
    assert labelled_edges(text)[('', 'MulConstant')] == 2


def goldstein(x, y):
    return (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)) * (
        30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    )


def test_the_goldstein_price_graph_has_the_nodes_of_the_books_picture():
    # step 26: the book's picture has 38 functions, 57 variables (17 constants), 108 edges
    x, y = named(1.0, 'x'), named(1.0, 'y')
    z = goldstein(x, y)
    z.name = 'z'
    text = get_dot_graph(z, verbose=False)
    assert shapes(text) == Counter({'box': 38, 'ellipse': 57})
    nodes, edges = parse(text)
    made = {b for a, b in edges if nodes[a][1] == 'box'}
    leaves = sorted(nodes[n][0] for n in nodes if nodes[n][1] == 'ellipse' and n not in made)
    assert leaves == [''] * 17 + ['x', 'y']
    assert len(edges) == 108
    assert text == get_dot_graph(z, verbose=False)


def test_dot_func_declares_and_links_the_constant_where_the_book_has_it():
    from dezero.utils import _dot_func

    x = named(1.0, 'x')
    y = 2 - x
    f = y.creator
    c = f'"{id(f)}:c"'
    assert _dot_func(f, verbose=True) == (
        f'{id(f)} [label="SubFromConstant", color=lightblue, style=filled, shape=box]\n'
        f'{c} [label="() float64", color=orange, style=filled]\n'
        f'{c} -> {id(f)}\n'
        f'{id(x)} -> {id(f)}\n'
        f'{id(f)} -> "{id(f)}:0"\n'
    )
    assert _dot_func(f, verbose=False) == _dot_func(f).replace('() float64', '')
    g = (x * 2).creator
    edges = [line for line in _dot_func(g).splitlines() if line.endswith(f' -> {id(g)}')]
    assert edges == [f'{id(x)} -> {id(g)}', f'"{id(g)}:c" -> {id(g)}']


def test_graph_stats_counts_a_constant_as_memory_of_its_function_not_as_a_variable():
    x = named(np.ones(3), 'x')
    y = x * np.arange(3.0)
    assert shapes(get_dot_graph(y)) == Counter({'box': 1, 'ellipse': 3})
    # the variables x and y, and the bytes of x, y and MulConstant's copy of the constant
    assert tuple(dezero.graph.graph_stats(y)) == (1, 2, 3 * 24, 0)


def test_a_second_call_of_a_function_object_draws_no_edge_to_an_output_never_stood_in():
    # the second call runs on a copy of the function object, which must not carry the
    # record of the stand-ins made for the first call's outputs
    from dezero.utils import _dot_func

    class Split2(dezero.Function):
        retain_inputs = ()
        retain_outputs = ()

        def forward(self, x):
            return x * 1, x * 2

        def backward(self, ga, gb):
            return ga + 2 * gb

    x, w = named(1.0, 'x'), named(2.0, 'w')
    f = Split2()
    a, b = f(x)
    t = b + w  # Add reads no inputs: a stand-in for b
    del b
    a2, b2 = f(x)
    del b2  # gone, and stood in nowhere
    copy_of_f = (a2 + w).creator.inputs[0].creator
    assert copy_of_f is not f and t is not None
    assert f'{id(f)} -> "{id(f)}:1"' in _dot_func(f).splitlines()  # b stands in t's graph
    assert f'"{id(copy_of_f)}:1"' not in _dot_func(copy_of_f)


def test_a_name_set_to_none_meanwhile_never_labels_a_node_none():
    # the label read v.name twice: another thread setting it to None in between made
    # the node's label the text 'None'
    from dezero.graph import _dot_var, _variable_label

    class Renamed(Variable):
        reads = 0

        @property
        def name(self):
            Renamed.reads += 1
            return 'x' if Renamed.reads % 2 else None

        @name.setter
        def name(self, value):
            pass

    for label in (lambda v: _dot_var(v, verbose=True), lambda v: _variable_label(v, True)):
        Renamed.reads = 0
        assert 'None' not in label(Renamed(np.ones(2)))


@needs_dot
def test_a_picture_that_cannot_be_written_says_that_the_dot_text_was(tmp_path, monkeypatch):
    # the message said "nothing was written" with the .dot file beside it
    import dezero.graph

    def disk_full(path, data, operation):
        raise dezero.atomic._error(OSError, 28, operation, path, 'no space left on the device')

    monkeypatch.setattr(dezero.graph, 'atomic_write_bytes', disk_full)
    to_file = tmp_path / 'graph.png'
    with pytest.raises(OSError) as info:
        plot_dot_graph(add_graph(), to_file=to_file)
    message = str(info.value)
    assert message.startswith(f'plot_dot_graph: cannot write {to_file}: no space left')
    assert message.endswith(f'(the DOT text was written to {tmp_path / "graph.dot"})')
    assert info.value.errno == 28 and (tmp_path / 'graph.dot').exists()

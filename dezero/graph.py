"""Computation graphs as DOT text (Graphviz) and as pictures.

Variables are drawn as ellipses, functions as boxes, and every edge points the way the
data flows: input variable -> function -> output variable.  The graph is walked without
recursion, so graphs of any depth (a chain of 100,000 operations, the graph of a
high-order derivative) can be drawn.

Constants are drawn as the book draws them.  dezero records ``x * 2`` as
``MulConstant``, which holds 2 and has x as its only input, where the book records
``Mul(x, 2)`` with 2 wrapped in a Variable; the drawings show that variable (see
:func:`get_dot_graph`), so that a picture has the nodes of the book's.

- :func:`get_dot_graph` and :func:`plot_dot_graph` draw what the book draws: names,
  and with ``verbose`` shapes and dtypes.  They also draw the graphs of the simple
  core's Variables (:mod:`dezero.core_simple`), as the book's step 26 does.
- :func:`draw_graph` returns a :class:`Graph` that Jupyter shows inline and that can be
  saved in any format Graphviz knows.  It can also show each variable's value and
  gradient, name a model's parameters (``l0/W``) and group its operations by layer,
  colour the functions made by backward passes (after ``backward(create_graph=True)``),
  and stop at a depth, for huge graphs.
- :func:`graph_stats` counts what a graph holds.

:func:`plot_dot_graph`, ``Graph.save`` and ``Model.plot`` return the picture's path as a
:class:`PicturePath`, which Jupyter shows as the picture.
"""

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys
from typing import NamedTuple

import numpy as np

from dezero import core_simple, cuda
from dezero.atomic import atomic_write_bytes, atomic_write_text, check_writable, file_path
from dezero.checks import check_flag
from dezero.core import Parameter, Variable, _node, _StandIn
from dezero.functions.arithmetic import (
    DivFromConstant,
    PowFromConstant,
    SubFromConstant,
    _ConstantOp,
)
from dezero.serialization import _method

_VARIABLE_STYLE = 'shape=ellipse, color=orange, style=filled'
_FUNCTION_STYLE = 'shape=box, color=lightblue, style=filled'
# the functions made by the n-th recorded backward pass (n = 1, 2, ...), and their
# output variables: one colour per order, the last one for that order and all above it
_BACKWARD_COLORS = ['palegreen', 'plum', 'khaki', 'lightpink', 'aquamarine']
_BACKWARD_VARIABLE_COLORS = ['#e6f9e6', '#f6e6f6', '#fbf7dc', '#fdebee', '#e3fbf5']
# arrays with at most this many elements are shown whole in a node
_SMALL_ARRAY = 8
# Longer names, and longer labels, are cut short with an ellipsis that says how many
# characters were left out: such labels are no use in a picture, and Graphviz refuses
# quoted strings of more than 16,384 bytes (an escaped character takes up to 7).  Names
# are cut first, so that the shape and values after them still show.
_LONGEST_NAME = 1000
_LONGEST_LABEL = 2000
# clusters (layers) nested deeper than this are indented no further in the DOT text
_DEEPEST_INDENT = 16
# characters that the SVG picture (XML) cannot hold or that would not show: control
# characters other than tab and line breaks, lone surrogates (file names that are not
# UTF-8 decode to those), and the noncharacters U+FFFE and U+FFFF
_UNPRINTABLE = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]')
# the functions of a Variable and a constant whose constant is the left operand (c - x):
# the book records Sub(c, x), Div(c, x); for c ** x, which the book has not, as
# PowVariable(c, x) records a Variable c
_CONSTANT_FIRST = (SubFromConstant, DivFromConstant, PowFromConstant)


# The concrete path class of this system (PosixPath or WindowsPath): before Python 3.12,
# pathlib.Path itself cannot be subclassed, as it picks one of the two when called.
_SystemPath = type(pathlib.Path())


class PicturePath(_SystemPath):
    """The path of a picture written by :func:`plot_dot_graph` (and ``Graph.save``,
    ``Model.plot``): a :class:`pathlib.Path` in every way, which Jupyter also shows as
    the picture when it is the last expression of a cell, as the book's
    ``plot_dot_graph`` does.  Jupyter asks for the picture with the methods below,
    which read the file at that moment; no IPython is needed to make one.  PNG, SVG
    and JPEG files are shown; a path of another format (pdf, dot), or of a file that
    is gone, is shown as the path."""

    __slots__ = ()

    def _repr_png_(self):
        """The bytes of a ``.png`` file, for Jupyter; None for other files."""
        return self._picture(('png',))

    def _repr_jpeg_(self):
        """The bytes of a ``.jpg`` or ``.jpeg`` file, for Jupyter; None for other
        files."""
        return self._picture(('jpg', 'jpeg'))

    def _repr_svg_(self):
        """The text of an ``.svg`` file, for Jupyter; None for other files."""
        picture = self._picture(('svg',))
        return None if picture is None else picture.decode('utf-8')

    def _picture(self, formats):
        """The file's bytes if its extension (in any case) is one of ``formats`` and
        it exists; else None."""
        if self.suffix[1:].lower() not in formats:
            return None
        try:
            return self.read_bytes()
        except FileNotFoundError:
            return None


class GraphvizNotFoundError(RuntimeError):
    """Graphviz (its ``dot`` program or the ``graphviz`` Python package) is missing."""


class Graph:
    """A drawn computation graph (what :func:`draw_graph` returns).

    ``source`` is the DOT text.  ``save(path)`` writes the picture (the format is the
    extension) and the DOT text beside it; ``pipe(format)`` gives the picture's bytes.
    As the last expression of a Jupyter cell the graph shows itself as a picture (an
    SVG rendered by Graphviz; without Graphviz, Jupyter shows the text ``repr``).
    """

    def __init__(self, source):
        self.source = source

    def __str__(self):
        return self.source

    def __repr__(self):
        lines = self.source.count('\n')
        missing = _graphviz_missing()
        if missing is not None:  # (what Jupyter shows when it gets no picture)
            return f'<dezero Graph: {lines} lines of DOT in .source; no picture: {missing}>'
        return f'<dezero Graph: {lines} lines of DOT; .source, .save(path), or show it in Jupyter>'

    def pipe(self, format='svg'):
        """The picture as bytes in ``format`` (``'svg'``, ``'png'``, ``'pdf'``, ...),
        rendered by Graphviz, in any letter case as in a file's extension; the errors
        are those of :func:`plot_dot_graph`."""
        fmt = format.lower() if isinstance(format, str) else format
        return _render(self.source, fmt, 'Graph.pipe', None)

    def save(self, path):
        """Write the picture to ``path`` and return its path; see :func:`plot_dot_graph`
        for the formats, the DOT file written beside it, and the errors."""
        return _save(self.source, path, 'Graph.save')

    def _repr_svg_(self):
        try:
            picture = _render(self.source, 'svg', 'Graph._repr_svg_ (the inline SVG picture)', None)
        except GraphvizNotFoundError:
            return None  # Jupyter then shows repr()
        return picture.decode('utf-8')


def draw_graph(
    output, show_values=False, show_grads=False, verbose=False, model=None, max_depth=None
):
    """Draw the graph that computed the Variable ``output``; return a :class:`Graph`.

    - ``show_values`` / ``show_grads``: each variable's value / gradient (``.grad``) in
      its node: the whole array when it has at most 8 elements, else its shape and its
      minimum, mean and maximum.  A value the graph did not keep (an input no backward
      reads) shows as ``not kept``; gradients are there after ``backward()`` for the
      leaves, and for the other variables with ``backward(retain_grad=True)``.
    - ``verbose``: the shape and dtype of each variable, as :func:`get_dot_graph`.
    - The constant of ``x * 2`` and friends is drawn as :func:`get_dot_graph` draws it,
      as an unnamed variable; with ``show_values`` it shows its value, with
      ``show_grads`` ``grad None`` (no gradient is computed for it).  It is drawn in
      the layer box and the colour of the function that holds it.
    - ``model``: a Layer or Model whose parameters are named as in its ``params()``
      (``l0/W``) and whose operations are grouped in boxes, one per layer (a Graphviz
      cluster labelled with the layer's name).  An operation belongs to the layer whose
      call made it when the graph was made by ``model.plot(x)``; otherwise to the layer
      of the parameters it reads (operations reading none are drawn outside the boxes).
    - Functions made by a backward pass with ``create_graph=True`` are coloured by the
      order of that pass: one more than the highest order among the functions it ran
      (1 for a first derivative, 2 for a pass through the graph of one, as the
      backward of ``F.sum(x.grad * v)`` in a Hessian-vector product, ...; the orders
      from 5 up share one colour), with a legend, so the graph of ``x.grad`` shows
      how the derivative was built.
    - ``max_depth``: draw only the functions at most this many steps behind
      ``output``; the variables they read from functions left out have a dashed border.
    """
    _check_output('draw_graph', output)
    if isinstance(output, core_simple.Variable):
        raise TypeError(
            'draw_graph: output is a dezero.core_simple.Variable, which draw_graph does '
            'not draw (its values, gradients, layers and backward passes are those of '
            'dezero.Variable); draw it with get_dot_graph or plot_dot_graph'
        )
    verbose = check_flag('draw_graph', 'verbose', verbose)
    show_values = check_flag('draw_graph', 'show_values', show_values)
    show_grads = check_flag('draw_graph', 'show_grads', show_grads)
    if max_depth is not None and (
        isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1
    ):
        raise ValueError(f'draw_graph: max_depth must be a positive int or None, got {max_depth!r}')
    names = {}
    if model is not None:
        named = _method(model, 'named_params')
        if not callable(named):
            raise TypeError(
                f'draw_graph: model must be a Layer or Model (with named_params()), '
                f'got {type(model).__name__}'
            )
        names = {id(param): path for path, param in named(model)}
    options = _Options(verbose, show_values, show_grads, names, model is not None, True, max_depth)
    return Graph(_dot_text(output, options))


def get_dot_graph(output, verbose=True):
    """Return the DOT text of the graph that computed the Variable ``output`` (a
    ``dezero.Variable``, or a Variable of the simple core, ``dezero.core_simple``).

    Each variable becomes an ellipse labelled with its name; with ``verbose`` (True or
    False) the label also shows the shape and dtype (``x\\n(2, 3) float64``, or just
    ``(2, 3) float64`` for an unnamed variable).  Each function becomes a box labelled
    with its class name, and appears once however many of its outputs are used.  The
    constant of a function of a Variable and a constant (the 2 of ``x * 2``, held by
    ``MulConstant``) is drawn as the book draws it: an unnamed variable (``() float64``
    with ``verbose``: the shape and dtype of the constant as the function holds it) with
    an edge into the function, first for ``2 - x`` and ``2 / x``, second otherwise;
    one node per function.  Nodes are numbered in a fixed order (functions by
    generation, then in the order they were found), so the same graph always gives the
    same text.
    """
    _check_output('get_dot_graph', output)
    return _dot_text(output, _Options(check_flag('get_dot_graph', 'verbose', verbose)))


def _check_output(caller, output):
    """TypeError naming ``caller`` unless ``output`` is a Variable (of dezero, or of
    its simple core), or what the graph holds in place of one."""
    if not isinstance(output, (Variable, _StandIn, core_simple.Variable)):
        raise TypeError(
            f'{caller}: output must be a Variable (the result whose graph is drawn), '
            f'got {_type_name(output)}'
        )


def _type_name(value):
    """The name of value's type, with its module unless it is built in: a Variable of
    another module (a class of the tutorial's first steps) is told from dezero's."""
    kind = type(value)
    if kind.__module__ == 'builtins':
        return kind.__qualname__
    return f'{kind.__module__}.{kind.__qualname__}'


class _Options(NamedTuple):
    verbose: bool
    values: bool = False
    grads: bool = False
    names: dict = {}  # id(parameter) -> its path in a model
    clusters: bool = False
    colour_backward: bool = False
    max_depth: int = None


def _dot_text(output, options):
    """The DOT text of the graph behind ``output``, drawn as ``options`` say."""
    # id(function), or the key of a variable's node (see _node_key) -> DOT node id
    nodes = {}
    held = []  # the objects whose ids are keys of nodes, kept alive while drawing
    lines = []
    layer_of = {}  # DOT node id -> the layer path it is drawn in (clusters only)
    orders = set()  # the backward orders drawn

    def node(key, prefix, label, style):
        if key not in nodes:
            name = nodes[key] = f'{prefix}{len(nodes)}'
            lines.append((name, f'{name} [label="{_escape(label)}", {style}]'))
        return nodes[key]

    def variable(v, cut=False):
        key = _node_key(v, held)
        if key in nodes:
            return nodes[key]
        # a constant goes with the function that holds it: its layer, its colour
        maker = v.function if isinstance(v, _Constant) else v.creator
        fill = None  # the default orange, or the colour of the backward pass that made it
        if maker is not None and options.colour_backward and maker.backward_order:
            fill = _colour(_BACKWARD_VARIABLE_COLORS, maker.backward_order)
        alive = live_variable(v)  # a stand-in's variable, while it is alive
        label = _variable_label(v if alive is None else alive, options)
        if cut:  # made by a function too far behind to be drawn
            label += ('\n' if label else '') + '...'
        style = _VARIABLE_STYLE
        if fill is not None or cut:
            style = f'shape=ellipse, color=orange, style="{"filled,dashed" if cut else "filled"}"'
            style += f', fillcolor="{fill}"' if fill is not None else ''
        name = node(key, 'v', label, style)
        if options.clusters:
            layer_of[name] = (
                _parameter_layer(v, options.names)
                if maker is None
                else _layer_of(maker, options.names)
            )
        return name

    functions, cut = _functions_within(output, options.max_depth)
    for f in functions:
        ins = [variable(x, cut=x.creator is not None and id(x.creator) in cut) for x in operands(f)]
        style = _FUNCTION_STYLE
        if options.colour_backward and f.backward_order:
            orders.add(f.backward_order)
            style = f'shape=box, color={_colour(_BACKWARD_COLORS, f.backward_order)}, style=filled'
        name = node(id(f), 'f', type(f).__name__, style)
        if options.clusters:
            layer_of[name] = _layer_of(f, options.names)
        lines.extend((None, f'{x} -> {name}') for x in ins)
        for ref in f.outputs:
            y = ref()
            if y is not None:
                variable(y)
    variable(output)  # a variable with no creator is a graph of one node
    for f in functions:  # to each output still alive or read by a function
        lines.extend(
            (None, f'{nodes[id(f)]} -> {nodes[(id(f), i)]}')
            for i in range(len(f.outputs))
            if (id(f), i) in nodes
        )
    if options.clusters:
        lines = _clustered(lines, layer_of)
    if orders:
        lines += [(None, line) for line in _legend(orders)]
    return 'digraph g {\n' + ''.join(f'  {text}\n' for _, text in lines) + '}\n'


class _Constant:
    """The constant operand of a function of a Variable and a constant (``x * 2``
    records ``MulConstant``, which holds 2 in ``c``), drawn as the variable the book
    records in its place (``Mul(x, 2)`` wraps 2 in a Variable): an unnamed leaf whose
    data is the constant as an array (a Python number as ``np.asarray`` makes it, as
    the book's ``as_array``), without a gradient.  ``function`` is the function that
    holds it; each function's constant is a node of its own.  ``kept`` is False for
    an array constant that the graph let go of and its caller has dropped (see
    :class:`dezero.functions.arithmetic._LetsGoOfC`): its values are gone."""

    name = None
    grad = None
    creator = None

    def __init__(self, function):
        self.kept = not getattr(function, 'c_is_gone', False)
        self.function = function
        if self.kept:
            c = function.c
            self.data = c if isinstance(c, cuda.array_types) else np.asarray(c)
            self.shape, self.dtype = self.data.shape, self.data.dtype
        else:  # its shape and dtype, as a stand-in has them
            self.shape, self.dtype = function.c_shape_dtype
            self.data = np.broadcast_to(np.zeros((), self.dtype), self.shape)


def operands(f):
    """The operands of the function ``f`` in the order the book records them, as the
    drawings show them: its inputs, and for a function of a Variable and a constant
    (a ``_ConstantOp``, such as ``x * 2``) the constant too, as an unnamed leaf
    holding it as an array: first for ``c - x``, ``c / x`` and ``c ** x``, second
    otherwise (``x * c``, and ``c * x``, which the book records as ``Mul(x, c)`` too)."""
    if not isinstance(f, _ConstantOp):
        return list(f.inputs)
    if isinstance(f, _CONSTANT_FIRST):
        return [_Constant(f), *f.inputs]
    return [*f.inputs, _Constant(f)]


def _functions_within(output, max_depth):
    """The functions to draw (see :func:`functions_behind`) and the ids of those left
    out because they are more than ``max_depth`` steps behind ``output``.  Functions
    are told apart by identity (two equal by value are two nodes), and those left out
    stay alive while drawing, as the inputs of the functions drawn hold them."""
    if max_depth is None:
        return functions_behind(output), set()
    depth = {}  # id(function) -> how many steps it is behind output
    frontier = [output.creator] if output.creator is not None else []
    level = 1
    while frontier and level <= max_depth:
        following = []
        for f in frontier:
            if id(f) not in depth:
                depth[id(f)] = level
                following.extend(x.creator for x in f.inputs if x.creator is not None)
        frontier, level = following, level + 1
    kept = [f for f in functions_behind(output) if id(f) in depth]
    cut = {id(x.creator) for f in kept for x in f.inputs if x.creator is not None}
    return kept, cut - depth.keys()


def _layer_of(f, names):
    """The layer path an operation is drawn in: where it was made (model.plot), else
    the layer of the parameters it reads ('' for none, or for several layers')."""
    if f.layer_path is not None:
        return f.layer_path
    layers = {_parameter_layer(x, names) for x in f.inputs if isinstance(x, Parameter)}
    layers.discard('')
    return layers.pop() if len(layers) == 1 else ''


def _parameter_layer(v, names):
    """The layer path of a parameter named in a model ('l0' for 'l0/W'), else ''."""
    path = names.get(id(v), '') if isinstance(v, Parameter) else ''
    return path.rpartition('/')[0]


def _clustered(lines, layer_of):
    """``lines`` (pairs of a node's id, or None for an edge, and the DOT text) with the
    declarations of nodes that belong to a layer moved into one cluster per layer,
    nested as the layers are; edges stay outside.  The clusters are written with an
    explicit stack, so layers nested however deep are drawn; each is indented by its
    depth, up to ``_DEEPEST_INDENT`` levels (deeper ones are not indented further,
    which would make the text grow with the square of the depth)."""
    inside = {}  # layer path -> its node declarations
    outside = []
    for name, text in lines:
        path = '' if name is None else layer_of.get(name, '')
        (inside.setdefault(path, []) if path else outside).append((name, text))
    paths = set(inside)
    for path in list(paths):  # every enclosing layer gets a cluster too
        parent = path.rpartition('/')[0]
        while parent and parent not in paths:  # (those of a path met already are in)
            paths.add(parent)
            parent = parent.rpartition('/')[0]
    children = {}
    for path in sorted(paths):
        children.setdefault(path.rpartition('/')[0], []).append(path)
    numbers = {path: i for i, path in enumerate(sorted(paths))}
    declared = []
    # (path, depth) of a cluster to open, or (None, depth) to close one
    stack = [(top, 0) for top in reversed(children.get('', []))]
    while stack:
        path, depth = stack.pop()
        pad = '  ' * min(depth, _DEEPEST_INDENT)
        if path is None:
            declared.append((None, f'{pad}}}'))
            continue
        declared.append((None, f'{pad}subgraph cluster_{numbers[path]} {{'))
        declared.append(
            (None, f'{pad}  label="{_escape(path)}"; style=rounded; color=gray50; fontcolor=gray30')
        )
        declared.extend((None, f'{pad}  {text}') for _, text in inside.get(path, []))
        stack.append((None, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(path, [])))
    nodes = [line for line in outside if line[0] is not None]
    edges = [line for line in outside if line[0] is None]
    return nodes + declared + edges


def _colour(palette, order):
    """The colour of the functions (or variables) made by the backward pass of
    ``order`` (1, 2, ...): the palette's colours in turn, its last one for that order
    and every order above it."""
    return palette[_colour_index(order)]


def _colour_index(order):
    """Where the colour of the backward pass of ``order`` is in the palettes."""
    return min(order, len(_BACKWARD_COLORS)) - 1


def _legend(orders):
    """A box that names the colours: the forward pass, and each backward order drawn
    (the orders that share the palette's last colour as one entry)."""
    lines = ['subgraph cluster_legend {', '  label="legend"; style=rounded; color=gray70']
    lines.append('  legend0 [label="forward", shape=box, color=lightblue, style=filled]')
    shown = sorted({_colour_index(n) + 1 for n in orders})  # the first order of each colour
    for n in shown:
        colour = _colour(_BACKWARD_COLORS, n)
        what = 'backward' if n == 1 else f'backward of order {n}'
        if n == len(_BACKWARD_COLORS):
            what += ' and above'
        lines.append(f'  legend{n} [label="{what}", shape=box, color={colour}, style=filled]')
    keys = ['legend0'] + [f'legend{n}' for n in shown]
    lines.append('  ' + ' -> '.join(keys) + ' [style=invis]')
    lines.append('}')
    return lines


def live_variable(x):
    """The variable that the graph input ``x`` (an item of some ``f.inputs``) is: ``x``
    itself, or, for a stand-in (what the graph holds for an input whose value no
    backward reads), the variable it stands for while that is alive, else None."""
    if type(x) is not _StandIn:
        return x
    if x.creator is None:  # cut by unchain(): a leaf now
        return None if x._leaf is None else x._leaf()
    return x.creator.outputs[x._index]()


def _graph_node(x):
    """The graph node of the variable ``x``: ``x`` itself for a leaf, else its
    creator and which output of it ``x`` is (``core._node``: a stand-in and the
    variable it stands for are one node).  A variable of ``dezero.core_simple``, which
    has no stand-ins and does not note which output it is, is found among its
    creator's outputs."""
    if isinstance(x, (Variable, _StandIn)):
        return _node(x)
    creator = x.creator
    if creator is None:
        return x
    index = next(i for i, ref in enumerate(creator.outputs) if ref() is x)
    return creator, index


def _node_key(x, held):
    """A key for the graph node of the variable ``x`` (see :func:`_graph_node`) made of
    ids, so that nodes are told apart by identity: two functions (or variables) equal
    by value (a dataclass) are two nodes.  The object whose id is in the key is
    appended to ``held``, which the caller keeps while it uses the key, so that no
    other object can be given that id meanwhile."""
    node = _graph_node(x)
    if isinstance(node, tuple):
        creator, index = node
        held.append(creator)
        return id(creator), index
    held.append(node)
    return id(node)


def plot_dot_graph(output, verbose=True, to_file='graph.png'):
    """Draw the graph behind ``output`` (as :func:`get_dot_graph`, a Variable of dezero
    or of its simple core) into ``to_file`` and return its path, a
    :class:`PicturePath`: a ``pathlib.Path`` that Jupyter shows as the picture (as the
    last expression of a cell) when it is a PNG, SVG or JPEG file.

    The picture's format is ``to_file``'s extension (``png``, ``svg``, ``pdf``, ...,
    in any case).  The DOT text is always written first, next to the picture with the
    suffix ``.dot`` (or to ``to_file`` itself when its extension is ``.dot``, spelt as
    given); the picture is then rendered by Graphviz's ``dot`` program (the ``graphviz``
    Python package, which names the formats it renders, is needed too), which is
    killed if the call is interrupted (Ctrl-C, a SIGTERM handler raising SystemExit).
    A leading ``~`` stands for the home folder (``~/graph.png``), as in the book, whose
    shell expands it.  Folders are created as needed and both files appear whole or
    not at all; a ``to_file`` that cannot be written (a folder, a path ending with
    ``/``, a file in place of a folder on the way, a symbolic link into a folder that
    does not exist) is refused before anything is written.  Raises
    :class:`GraphvizNotFoundError` when Graphviz's ``dot`` program or the ``graphviz``
    Python package is missing, and RuntimeError, with what Graphviz said, when it fails
    to render (the ``.dot`` file is there all the same).
    """
    _check_output('plot_dot_graph', output)
    verbose = check_flag('plot_dot_graph', 'verbose', verbose)
    return _save(get_dot_graph(output, verbose), to_file, 'plot_dot_graph')


def _save(text, to_file, caller):
    """Write the DOT ``text`` beside ``to_file`` and its picture to ``to_file``;
    return to_file as a :class:`PicturePath`."""
    to_file, fmt = _picture_path(to_file, caller)
    try:
        to_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        error = type(e)(
            f'{caller}: cannot create the folder {to_file.parent} for {to_file}: '
            f'{e.strerror or e} (nothing was written)'
        )
        error.errno = e.errno
        raise error from None
    dot_file = to_file if fmt == 'dot' else to_file.with_suffix('.dot')
    atomic_write_text(dot_file, text, operation=caller)
    if fmt != 'dot':
        picture = _render(text, fmt, caller, to_file)
        try:
            atomic_write_bytes(to_file, picture, operation=caller)
        except OSError as e:
            raise _dot_file_kept(e, dot_file) from None
    return PicturePath(to_file)


def _dot_file_kept(e, dot_file):
    """The OSError ``e`` of writing a picture, whose DOT text was written to
    ``dot_file`` before: its message says so (rather than that nothing was written)."""
    message, kept = str(e), f'the DOT text was written to {dot_file}'
    if message.endswith('(nothing was written)'):
        message = message[: -len('nothing was written)')] + kept + ')'
    else:
        message += f'; {kept}'
    error = type(e)(message)
    error.errno = e.errno
    return error


def _picture_path(to_file, caller):
    """``to_file`` as a :class:`pathlib.Path` (a leading ``~`` expanded to the home
    folder) and the picture format its extension names, once checked as
    :func:`plot_dot_graph` needs, without writing anything: a path of a file (the
    refusals of ``dezero.atomic.file_path``: empty, a null character, a trailing
    separator), with an extension that Graphviz renders, that can be written.  The
    errors name ``caller`` and the path as given, or as expanded."""
    if not isinstance(to_file, (str, bytes, os.PathLike)):
        raise TypeError(
            f'{caller}: to_file must be the path of a file such as graph.png, got '
            f'{type(to_file).__name__}'
        )
    given = os.fsdecode(to_file)
    if not given:  # (which pathlib would take for the folder '.')
        raise ValueError(
            f"{caller}: to_file is '', an empty path; give the path of a file such as graph.png"
        )
    file_path(given, caller)  # checked as given: pathlib drops a trailing '/'
    if given.startswith('~'):  # as the book's shell command expands it
        given = os.path.expanduser(given)
    to_file = pathlib.Path(given)
    fmt = to_file.suffix[1:].lower()
    if not fmt:
        raise ValueError(
            f'{caller}: to_file {given!r} has no extension to name the picture format; '
            f'use e.g. graph.png or graph.svg'
        )
    _check_format(fmt, caller, to_file)  # before a .dot file is written for nothing
    # a to_file that cannot be written is refused before the DOT file is written
    check_writable(to_file, operation=caller)
    return to_file, fmt


def _graphviz_missing():
    """What of Graphviz is missing to draw pictures, as a hint to install it; None
    when the graphviz package and its ``dot`` program are both there."""
    if importlib.util.find_spec('graphviz') is None:
        return 'the graphviz Python package is not installed (pip install graphviz)'
    if shutil.which('dot') is None:
        return 'the `dot` program of Graphviz is not on the PATH (install Graphviz)'
    return None


def _render(text, fmt, caller, to_file):
    """The picture of the DOT ``text`` in format ``fmt``, as bytes."""
    what = f'{to_file} was not rendered' if to_file is not None else 'nothing was rendered'
    kept = f' The DOT text was still written to {to_file.with_suffix(".dot")}.' if to_file else ''
    try:  # the package names the formats Graphviz renders (see _check_format)
        import graphviz  # noqa: F401
    except ImportError as e:
        raise GraphvizNotFoundError(
            f'{caller}: the graphviz Python package is not installed, so {what}; '
            f'install it with `pip install graphviz`.{kept}'
        ) from e
    _check_format(fmt, caller, to_file, kept)
    try:
        picture = _run_dot(text, fmt)
    except FileNotFoundError as e:  # no `dot` program to run
        raise GraphvizNotFoundError(
            f'{caller}: the `dot` program of Graphviz was not found, so {what}. '
            f'Install Graphviz (e.g. `apt-get install graphviz`, '
            f'`brew install graphviz` or `conda install graphviz`) and make sure `dot` '
            f'is on the PATH.{kept}'
        ) from e
    except (subprocess.CalledProcessError, OSError) as e:  # dot failed, or could not start
        raise RuntimeError(
            f'{caller}: Graphviz failed to render the graph as {fmt}, so {what}: '
            f'{_failure(e)}.{kept}'
        ) from e
    if not picture and fmt not in _MAY_BE_EMPTY:  # a `dot` built without that format
        raise RuntimeError(
            f'{caller}: Graphviz wrote nothing for the format {fmt}, so {what} (this '
            f'Graphviz may lack support for it; see its warnings above, or use png, svg '
            f'or pdf).{kept}'
        )
    return picture


#: formats whose output is empty for a graph without links (image maps)
_MAY_BE_EMPTY = frozenset({'cmap', 'ismap'})


def _run_dot(text, fmt):
    """What Graphviz's ``dot`` program writes for the DOT ``text`` (sent as UTF-8) in
    the format ``fmt``: the picture as bytes.  Its warnings are passed on to this
    process's standard error.  Raises FileNotFoundError when there is no ``dot`` on
    the PATH, and subprocess.CalledProcessError, with what ``dot`` said in
    ``stderr``, when it fails.

    Rendering a big graph can take minutes.  Whatever exception interrupts the wait
    (KeyboardInterrupt, the SystemExit of a SIGTERM handler), ``dot`` is killed and
    waited for before it propagates, so that no ``dot`` outlives the call."""
    command = ['dot', '-Kdot', f'-T{fmt}']
    data = text.encode('utf-8')
    pipe = subprocess.PIPE
    process = subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe)
    with process:
        try:
            picture, said = process.communicate(data)
        except BaseException:
            process.kill()
            process.wait()
            raise
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command, picture, said)
    if said:
        sys.stderr.write(said.decode('utf-8', 'replace'))
        sys.stderr.flush()
    return picture


def _failure(error):
    """What Graphviz said when it failed (its error output), or else what ``error`` says."""
    said = getattr(error, 'stderr', None)
    if isinstance(said, bytes):
        said = said.decode('utf-8', 'replace')
    if said and said.strip():
        return said.strip()
    return str(error)


def _check_format(fmt, caller, to_file, kept=''):
    """ValueError naming ``caller`` unless Graphviz renders ``fmt`` (or it is 'dot');
    nothing to check when the graphviz package is missing (:func:`_render` says so)."""
    if not isinstance(fmt, str):
        raise TypeError(
            f'{caller}: the format must be a string such as png, svg or pdf, got '
            f'{type(fmt).__name__} {fmt!r:.40}'
        )
    try:
        import graphviz
    except ImportError:
        return
    if fmt != 'dot' and fmt not in graphviz.FORMATS:
        raise ValueError(
            f'{caller}: Graphviz cannot render the format {fmt!r}'
            f'{f" (from {to_file})" if to_file else ""}; use e.g. png, svg or pdf.{kept}'
        )


def functions_behind(output):
    """Every function that ``output`` depends on, oldest generation first.

    Walks the creators with an explicit stack; each function is listed once, and ties
    in generation keep the order of discovery, so the result is deterministic.
    """
    found, seen = [], set()
    stack = [output.creator] if output.creator is not None else []
    while stack:
        f = stack.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        found.append(f)
        stack.extend(
            x.creator for x in f.inputs if x.creator is not None and id(x.creator) not in seen
        )
    found.sort(key=lambda f: f.generation)  # stable: discovery order within a generation
    return found


class GraphStats(NamedTuple):
    """What the graph behind a Variable holds (see :func:`graph_stats`)."""

    functions: int  # function nodes
    variables: int  # Variables held by the graph: the output and every input (no constants)
    nbytes: int  # bytes of array memory they keep alive (each buffer once)
    grad_nbytes: int  # bytes of their ``.grad`` arrays not already counted in nbytes

    def __str__(self):
        return (
            f'{self.functions} functions, {self.variables} variables, '
            f'{self.nbytes:,} bytes of data, {self.grad_nbytes:,} bytes of gradients'
        )


def graph_stats(output):
    """Count the functions, the variables and the array memory of the graph behind
    the Variable ``output``.

    The variables are ``output`` and every input of every function behind it (the
    graph holds inputs, or stand-ins without data for those no backward reads;
    outputs only weakly).  The constant of ``x * 2`` and friends, which the drawings
    show as a variable, is not one: the function holds it, and an array constant
    counts in ``nbytes`` as the function's.  ``nbytes`` is the memory of
    their ``data`` arrays plus the arrays the functions keep from their forward pass
    (masks, saved shapes' index arrays, ...), each buffer counted once: views (a
    reshape, a broadcast) count as the array they view, whole.  ``grad_nbytes`` is
    the memory of the variables' gradients beyond that.  Handy to watch higher-order
    derivatives grow: each ``backward(create_graph=True)`` adds a graph for the
    gradient.  Returns a :class:`GraphStats` named tuple; TypeError for anything that
    is no Variable.
    """
    if not isinstance(output, (Variable, core_simple.Variable)):
        raise TypeError(
            f'graph_stats: output must be a Variable (the result whose graph is '
            f'counted), got {type(output).__name__}'
        )
    functions = functions_behind(output)
    held = []  # the objects whose ids are keys of variables, kept alive while counting
    variables = {_node_key(output, held): output}
    for f in functions:
        for x in f.inputs:
            variables.setdefault(_node_key(x, held), x)
    owners = {}  # id(array owning some memory) -> that array

    def add(a):  # the bytes of a's memory, or 0 if counted already
        owner = _owner(a)
        if id(owner) in owners:
            return 0
        owners[id(owner)] = owner
        return owner.nbytes

    nbytes = sum(
        add(v.data) for v in variables.values() if isinstance(v.data, cuda.array_types)
    )  # stand-ins hold none
    nbytes += sum(
        add(a) for f in functions for a in vars(f).values() if isinstance(a, cuda.array_types)
    )
    grad_nbytes = sum(
        add(v.grad.data)
        for v in variables.values()
        if v.grad is not None and v.grad.data is not None
    )
    return GraphStats(len(functions), len(variables), nbytes, grad_nbytes)


def _owner(a):
    """The array that owns the memory ``a`` views (``a`` itself if it owns it)."""
    while isinstance(getattr(a, 'base', None), cuda.array_types):
        a = a.base
    return a


def _variable_label(v, options):
    """The lines of a variable's node: its name (a model's parameters by their path),
    and as ``options`` ask, its shape and dtype, its value and its gradient."""
    if options is True or options is False:  # the book's verbose flag alone
        options = _Options(options)
    name = options.names.get(id(v)) if isinstance(v, Parameter) else None
    own = v.name  # read once: another thread may rename the variable meanwhile
    text = str(own if name is None else name) if (name or own is not None) else ''
    text = _shortened(text, _LONGEST_NAME)
    lines = [text] if text else []
    if options.verbose and v.data is not None:  # a stand-in knows its shape and dtype too
        lines.append(f'{v.shape} {v.dtype}')
    if options.values:
        gone = type(v) is _StandIn or not getattr(v, 'kept', True)
        lines.append('data ' + ('not kept' if gone else _array_text(v.data)))
    if options.grads:
        if type(v) is _StandIn:  # the variable is gone, and its gradient with it
            lines.append('grad not kept')
        else:
            lines.append('grad ' + ('None' if v.grad is None else _array_text(v.grad.data)))
    return '\n'.join(lines)


def _array_text(a):
    """An array as a node shows it: whole when small, else shape and statistics."""
    if a is None:
        return 'None'
    a = cuda.as_numpy(a)
    if a.size <= _SMALL_ARRAY:
        if a.ndim == 0:
            return _number(a.item())
        text = np.array2string(a, precision=4, separator=' ', max_line_width=60)
        return text.replace('\n ', '\n')
    if a.dtype.kind == 'b' or a.dtype.kind not in 'biufc':
        return f'{a.shape} {a.dtype}'
    values = a.astype(np.float64) if a.dtype.kind in 'iub' else a
    nans = int(np.isnan(values).sum())
    if nans == a.size:
        return f'{a.shape} all nan'
    with np.errstate(all='ignore'):
        low, high = np.nanmin(values), np.nanmax(values)
        mean = _mean(values)
    text = f'{a.shape} min {_number(low)} mean {_number(mean)} max {_number(high)}'
    return text + (f' ({nans} nan)' if nans else '')


def _mean(values):
    """The mean of the ``values`` that are not nan, summed in float64 at least (a
    float16 sum overflows past 65504).  When even that sum overflows though every value
    is finite (float64 near its largest), the values are divided by the largest of
    them in magnitude first, and the mean multiplied by it after."""
    wide = np.result_type(values.dtype, np.float64)
    mean = np.nanmean(values, dtype=wide)
    if not np.isfinite(mean):
        largest = np.nanmax(np.abs(values))
        if np.isfinite(largest):  # an infinite or nan mean of finite values: overflow
            mean = np.nanmean(values / largest, dtype=wide) * largest
    return mean


def _number(x):
    return f'{x:.4g}' if isinstance(x, (float, np.floating)) else str(x)


# ---- the book's building blocks (steps 25 and 26) ------------------------------------
def _dot_id(x):
    """The DOT id of the node of ``x`` in :func:`_dot_var` and :func:`_dot_func`: the
    id of a leaf variable, or that of the function that made ``x`` and which of its
    outputs ``x`` is (a stand-in and the variable it stands for are one node), or for
    the constant of a function, that function's id and ``c``."""
    if isinstance(x, _Constant):
        return f'"{id(x.function)}:c"'
    node = _graph_node(x)
    if isinstance(node, tuple):
        return f'"{id(node[0])}:{node[1]}"'
    return str(id(node))


def _dot_var(v, verbose=False):
    """The DOT line of the node of the variable ``v``, as the book writes it: labelled
    with its name and, with ``verbose``, its shape and dtype (``'x: (2, 3) float64'``).
    For a stand-in (an item of ``f.inputs``), the name is that of the variable it
    stands for, as it is now, while that variable is alive."""
    alive = live_variable(v)
    if alive is not None:
        v = alive
    name = v.name  # read once: another thread may rename the variable meanwhile
    label = '' if name is None else _shortened(str(name), _LONGEST_NAME)
    if verbose and v.data is not None:
        label += (': ' if name is not None else '') + f'{v.shape} {v.dtype}'
    return f'{_dot_id(v)} [label="{_escape(label)}", color=orange, style=filled]\n'


def _dot_func(f, verbose=True):
    """The DOT lines, as the book writes them, of the node of the function ``f`` and of
    the edges from its inputs and to its outputs (those alive, or gone but standing
    in the graph); with :func:`_dot_var` of each variable they make the graph's DOT
    text.

    The constant of a function of a Variable and a constant (the 2 of ``x * 2``, which
    ``MulConstant`` holds instead of an input) is drawn as the book draws it, as a
    variable with an edge into ``f`` where the book has it among the inputs (first for
    ``2 - x`` and ``2 / x``); its node, which no item of ``f.inputs`` gives, is
    declared here, as :func:`_dot_var` with ``verbose`` declares an unnamed variable:
    labelled with the shape and dtype of the constant as ``f`` holds it (``() float64``),
    or with nothing for ``verbose=False``.  The book's ``_dot_func(f)`` takes no
    ``verbose``, and its ``get_dot_graph`` draws that variable with ``_dot_var(x,
    verbose)``, True by default: so is ``verbose`` here."""
    name = id(f)
    label = _escape(type(f).__name__)
    text = f'{name} [label="{label}", color=lightblue, style=filled, shape=box]\n'
    for x in operands(f):
        if isinstance(x, _Constant):
            text += _dot_var(x, verbose)
        text += f'{_dot_id(x)} -> {name}\n'
    stand_ins = not isinstance(f, core_simple.Function)  # (the simple core has none)
    for i, ref in enumerate(f.outputs):
        y = ref()
        if y is not None:
            text += f'{name} -> {_dot_id(y)}\n'
        elif stand_ins and (len(f.outputs) == 1 or f._stood_in >> i & 1):
            # gone, standing in the graph (a function of one output that is gone is
            # reached through its stand-in); an output gone otherwise is not drawn
            text += f'{name} -> "{name}:{i}"\n'
    return text


def _escape(text):
    """Escape ``text`` for a DOT double-quoted label, so any name is drawn as written,
    tabs, line breaks and what reads as an HTML entity (``&lt;``) included.
    Characters that DOT, UTF-8 or the SVG picture cannot hold, or that would not show
    (see ``_UNPRINTABLE``), are drawn as Python writes them in a string: a NUL as
    ``\\0``, ESC as ``\\x1b``, a lone surrogate as ``\\udcff``, U+FFFE as ``\\ufffe``.
    Text longer than 2,000 characters is cut short (see :func:`_shortened`), so that
    Graphviz takes the label."""
    text = _UNPRINTABLE.sub(_python_escape, _shortened(text, _LONGEST_LABEL))
    # Graphviz reads HTML entities in labels (&amp; &lt; &#92;): a name holding one
    # would be drawn decoded, unless its & is itself written as one
    text = text.replace('&', '&amp;')
    text = text.replace('\\', '\\\\').replace('"', '\\"')
    return text.replace('\r\n', '\n').replace('\r', '\n').replace('\n', '\\n')


def _python_escape(match):
    """The character of a regular-expression ``match`` as Python escapes it in a string
    (``\\x1b``; NUL as ``\\0``)."""
    character = match.group()
    return '\\0' if character == '\0' else ascii(character)[1:-1]


def _shortened(text, longest):
    """``text`` if it has at most ``longest`` characters, else its first ``longest``
    followed by an ellipsis and the number of characters left out."""
    left_out = len(text) - longest
    if left_out <= 0:
        return text
    return f'{text[:longest]}… ({left_out:,} more character{"s" if left_out > 1 else ""})'

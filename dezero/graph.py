"""Computation graphs as DOT text (Graphviz) and as pictures.

Variables are drawn as ellipses, functions as boxes, and every edge points the way the
data flows: input variable -> function -> output variable.  The graph is walked without
recursion, so graphs of any depth (a chain of 100,000 operations, the graph of a
high-order derivative) can be drawn.  :func:`graph_stats` counts what a graph holds.
"""

import pathlib
from typing import NamedTuple

from dezero import cuda
from dezero.core import _node, _StandIn
from dezero.atomic import atomic_write_bytes, atomic_write_text

_VARIABLE_STYLE = 'shape=ellipse, color=orange, style=filled'
_FUNCTION_STYLE = 'shape=box, color=lightblue, style=filled'


class GraphvizNotFoundError(RuntimeError):
    """Graphviz (its ``dot`` program or the ``graphviz`` Python package) is missing."""


def get_dot_graph(output, verbose=True):
    """Return the DOT text of the graph that computed the Variable ``output``.

    Each variable becomes an ellipse labelled with its name; with ``verbose`` the label
    also shows the shape and dtype (``x\\n(2, 3) float64``, or just ``(2, 3) float64``
    for an unnamed variable).  Each function becomes a box labelled with its class name,
    and appears once however many of its outputs are used.  Nodes are numbered in a
    fixed order (functions by generation, then in the order they were found), so the
    same graph always gives the same text.
    """
    # function, or variable's node (core._node: a stand-in and the variable it stands
    # for are one node) -> DOT node id
    nodes = {}
    lines = []

    def node(key, prefix, label, style):
        if key not in nodes:
            nodes[key] = f'{prefix}{len(nodes)}'
            lines.append(f'{nodes[key]} [label="{_escape(label)}", {style}]')
        return nodes[key]

    def variable(v):
        return node(_node(v), 'v', _variable_label(v, verbose), _VARIABLE_STYLE)

    functions = functions_behind(output)
    for f in functions:
        ins = [variable(x) for x in f.inputs]
        name = node(f, 'f', type(f).__name__, _FUNCTION_STYLE)
        lines.extend(f'{x} -> {name}' for x in ins)
        for ref in f.outputs:
            y = ref()
            if y is not None:
                variable(y)
    variable(output)  # a variable with no creator is a graph of one node
    for f in functions:  # to each output still alive or read by a function
        lines.extend(
            f'{nodes[f]} -> {nodes[(f, i)]}' for i in range(len(f.outputs)) if (f, i) in nodes
        )
    return 'digraph g {\n' + ''.join(f'  {line}\n' for line in lines) + '}\n'


def live_variable(x):
    """The variable that the graph input ``x`` (an item of some ``f.inputs``) is: ``x``
    itself, or, for a stand-in (what the graph holds for an input whose value no
    backward reads), the variable it stands for while that is alive, else None."""
    if type(x) is not _StandIn:
        return x
    if x.creator is None:  # cut by unchain(): a leaf now
        return None if x._leaf is None else x._leaf()
    return x.creator.outputs[x._index]()


def plot_dot_graph(output, verbose=True, to_file='graph.png'):
    """Draw the graph behind ``output`` into ``to_file`` and return its path.

    The picture's format is ``to_file``'s extension (``png``, ``svg``, ``pdf``, ...).
    The DOT text is always written first, next to the picture with the suffix
    ``.dot``; the picture is then rendered with Graphviz through the ``graphviz``
    Python package.  Folders are created as needed and both files appear whole or not
    at all.  Raises :class:`GraphvizNotFoundError` when Graphviz's ``dot`` program or
    the ``graphviz`` package is missing (the ``.dot`` file is there all the same).
    """
    to_file = pathlib.Path(to_file)
    fmt = to_file.suffix[1:].lower()
    if not fmt:
        raise ValueError(
            f'plot_dot_graph: to_file {str(to_file)!r} has no extension to '
            f'name the picture format; use e.g. graph.png or graph.svg'
        )
    to_file.parent.mkdir(parents=True, exist_ok=True)
    dot_file = to_file.with_suffix('.dot')
    text = get_dot_graph(output, verbose)
    atomic_write_text(dot_file, text)
    if fmt == 'dot':
        return to_file

    try:
        import graphviz
    except ImportError as e:
        raise GraphvizNotFoundError(
            f'plot_dot_graph: the graphviz Python package is not installed, so '
            f'{to_file} was not rendered; install it with `pip install graphviz`. '
            f'The DOT text was still written to {dot_file}.'
        ) from e
    if fmt not in graphviz.FORMATS:
        raise ValueError(
            f'plot_dot_graph: Graphviz cannot render the format {fmt!r} '
            f'(from {to_file}); use e.g. png, svg or pdf. The DOT text was '
            f'still written to {dot_file}.'
        )
    try:
        picture = graphviz.Source(text).pipe(format=fmt)
    except graphviz.ExecutableNotFound as e:
        raise GraphvizNotFoundError(
            f'plot_dot_graph: the `dot` program of Graphviz was not found, so {to_file} '
            f'was not rendered. Install Graphviz (e.g. `apt-get install graphviz`, '
            f'`brew install graphviz` or `conda install graphviz`) and make sure `dot` '
            f'is on the PATH. The DOT text was still written to {dot_file}.'
        ) from e
    atomic_write_bytes(to_file, picture)
    return to_file


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
    variables: int  # Variables held by the graph: the output and every input
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
    outputs only weakly).  ``nbytes`` is the memory of
    their ``data`` arrays plus the arrays the functions keep from their forward pass
    (masks, saved shapes' index arrays, ...), each buffer counted once: views (a
    reshape, a broadcast) count as the array they view, whole.  ``grad_nbytes`` is
    the memory of the variables' gradients beyond that.  Handy to watch higher-order
    derivatives grow: each ``backward(create_graph=True)`` adds a graph for the
    gradient.  Returns a :class:`GraphStats` named tuple.
    """
    functions = functions_behind(output)
    variables = {_node(output): output}
    for f in functions:
        for x in f.inputs:
            variables.setdefault(_node(x), x)
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


def _variable_label(v, verbose):
    label = '' if v.name is None else str(v.name)
    if verbose and v.data is not None:  # a stand-in knows its shape and dtype too
        label += ('\n' if label else '') + f'{v.shape} {v.dtype}'
    return label


def _escape(text):
    """Escape ``text`` for a DOT double-quoted label, so any name is drawn as written."""
    text = text.replace('\\', '\\\\').replace('"', '\\"')
    return text.replace('\r\n', '\n').replace('\r', '\n').replace('\n', '\\n')

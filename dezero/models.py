"""Models: layers that can draw themselves, and two ready-made ones.

:class:`Model` is a :class:`~dezero.layers.Layer` with :meth:`Model.plot`;
:class:`Sequential` chains layers and functions; :class:`MLP` is a multi-layer
perceptron of :class:`~dezero.layers.Linear` layers.
"""
import dezero.functions as F
from dezero.graph import plot_dot_graph
from dezero.layers import Layer, Linear


class Model(Layer):
    """A Layer meant as a whole network; it can draw its computation graph."""

    def plot(self, *inputs, to_file='model.png'):
        """Run ``forward(*inputs)`` and draw the graph of its output into ``to_file``
        (with shapes and dtypes), returning the picture's path.  The DOT text is always
        written next to it (``model.dot``); drawing the picture needs Graphviz, and
        raises :class:`dezero.graph.GraphvizNotFoundError` without it."""
        y = self.forward(*inputs)
        return plot_dot_graph(y, verbose=True, to_file=to_file)


class Sequential(Model):
    """Apply ``layers`` in order: ``Sequential(Linear(10), F.relu, Linear(1))(x)``.

    Each item is a Layer or any callable taking one input (such as ``F.relu``).
    Layers are registered as ``l<i>``, ``i`` being their position in the sequence
    (``l0`` and ``l2`` in the example), so their parameters are found and saved.
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f'Sequential: item {i} is a {type(layer).__name__}, '
                                f'not a layer or a function')
            if isinstance(layer, Layer):
                setattr(self, f'l{i}', layer)
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class MLP(Model):
    """A multi-layer perceptron: ``Linear`` layers ``l0, l1, ...`` of the output sizes
    ``fc_output_sizes``, with ``activation`` applied between them (not after the last).

    ``MLP((10, 1))`` maps ``(N, D)`` inputs to ``(N, 1)``: ``l1(sigmoid(l0(x)))``.
    """

    def __init__(self, fc_output_sizes, activation=F.sigmoid):
        super().__init__()
        sizes = list(fc_output_sizes)
        if not sizes:
            raise ValueError('MLP: fc_output_sizes is empty; give at least one output '
                             'size')
        if not callable(activation):
            raise TypeError(f'MLP: activation must be a function, got '
                            f'{type(activation).__name__}')
        self.activation = activation
        self.layers = []
        for i, size in enumerate(sizes):
            layer = Linear(size)
            setattr(self, f'l{i}', layer)
            self.layers.append(layer)

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)

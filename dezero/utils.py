"""Utilities: gradient checks, array helpers and computation-graph output.

Everything here is re-exported from the module that owns it, so that
``dezero.utils.gradient_check`` and friends keep the book's import paths.
"""

from dezero.array_ops import (
    array_allclose,
    array_equal,
    logsumexp,
    max_backward_shape,
    reshape_sum_backward,
    sum_to,
)
from dezero.conv_ops import col2im_array, get_conv_outsize, get_deconv_outsize, im2col_array, pair
from dezero import download as _download
from dezero.download import get_file, show_progress
from dezero.core import Variable, as_variable  # noqa: F401  (the book's utils has them)
from dezero.gradcheck import gradgrad_check, gradient_check, numerical_grad
from dezero.graph import (  # noqa: F401  (_dot_var and _dot_func: the book's steps 25-26)
    Graph,
    _dot_func,
    _dot_var,
    draw_graph,
    get_dot_graph,
    graph_stats,
    plot_dot_graph,
)

__all__ = [
    'array_allclose',
    'array_equal',
    'logsumexp',
    'max_backward_shape',
    'reshape_sum_backward',
    'sum_to',
    'gradgrad_check',
    'gradient_check',
    'numerical_grad',
    'Graph',
    'draw_graph',
    'get_dot_graph',
    'graph_stats',
    'plot_dot_graph',
    'get_file',
    'pair',
    'get_conv_outsize',
    'get_deconv_outsize',
    'im2col_array',
    'col2im_array',
    'show_progress',
]


def __getattr__(name):
    # cache_dir follows DEZERO_HOME, so it is looked up in dezero.download at each access
    if name == 'cache_dir':
        return _download.cache_dir
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

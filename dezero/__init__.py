"""dezero: a define-by-run automatic-differentiation framework on NumPy.

>>> import numpy as np, dezero
>>> x = dezero.Variable(np.array(2.0))
>>> y = x ** 4
>>> y.backward(create_graph=True)
>>> x.grad           # 4 x**3
variable(32.0)
"""
from dezero.anomaly import AnomalyError
from dezero.core import (Config, Function, Parameter, Variable, as_array, as_variable,
                         detect_anomaly, no_grad, test_mode, using_config)
from dezero.operators import setup_variable

setup_variable()

from dezero import cuda, functions, utils  # noqa: E402  (after the operators exist)
from dezero import datasets, dataloaders, layers, models, optimizers, transforms  # noqa: E402
from dezero.dataloaders import DataLoader, SeqDataLoader  # noqa: E402
from dezero.datasets import Dataset  # noqa: E402
from dezero.layers import Layer  # noqa: E402
from dezero.models import Model  # noqa: E402
from dezero import trainer  # noqa: E402
from dezero.trainer import Trainer  # noqa: E402
from dezero import autodiff  # noqa: E402
from dezero.autodiff import (grad, hessian, hvp, jacobian, jvp, value_and_grad,  # noqa: E402
                             vjp)

__version__ = '0.1.0'

#: Whether ``dezero.Variable`` is the simple core's (:mod:`dezero.core_simple`, whose
#: gradients are plain arrays).  It never is: the book's steps 28 and 29 test this flag
#: and import ``dezero.core_simple`` themselves.
is_simple_core = False

__all__ = ['Variable', 'Parameter', 'Function', 'Config', 'using_config', 'no_grad',
           'test_mode', 'detect_anomaly', 'AnomalyError', 'as_array', 'as_variable',
           'setup_variable', 'Layer', 'Model',
           'Dataset', 'DataLoader', 'SeqDataLoader', 'cuda', 'functions', 'utils', 'layers',
           'models', 'optimizers', 'datasets', 'dataloaders', 'transforms', 'Trainer',
           'trainer', 'autodiff', 'grad', 'value_and_grad', 'jacobian', 'hessian', 'hvp',
           'vjp', 'jvp', 'is_simple_core']

"""dezero: a define-by-run automatic-differentiation framework on NumPy.

>>> import numpy as np, dezero
>>> x = dezero.Variable(np.array(2.0))
>>> y = x ** 4
>>> y.backward(create_graph=True)
>>> x.grad           # 4 x**3
variable(32.0)
"""

from dezero.anomaly import AnomalyError
from dezero.core import (
    Config,
    Function,
    Parameter,
    Variable,
    as_array,
    as_variable,
    detect_anomaly,
    no_grad,
    test_mode,
    using_config,
)
from dezero import autodiff, cuda, dataloaders, datasets, functions, layers, models
from dezero import functions_conv, optimizers, trainer, transforms, utils
from dezero.autodiff import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from dezero.dataloaders import DataLoader, SeqDataLoader
from dezero.datasets import Dataset
from dezero.layers import Layer
from dezero.models import Model
from dezero.operators import setup_variable
from dezero.trainer import Trainer

# The operators + - * / ** @ and the array methods of Variable (importing the modules
# above needs none of them).
setup_variable()

__version__ = '0.1.0'

#: Whether ``dezero.Variable`` is the simple core's (:mod:`dezero.core_simple`, whose
#: gradients are plain arrays).  It never is: the book's steps 28 and 29 test this flag
#: and import ``dezero.core_simple`` themselves.
is_simple_core = False

__all__ = [
    'Variable',
    'Parameter',
    'Function',
    'Config',
    'using_config',
    'no_grad',
    'test_mode',
    'detect_anomaly',
    'AnomalyError',
    'as_array',
    'as_variable',
    'setup_variable',
    'Layer',
    'Model',
    'Dataset',
    'DataLoader',
    'SeqDataLoader',
    'cuda',
    'functions',
    'functions_conv',
    'utils',
    'layers',
    'models',
    'optimizers',
    'datasets',
    'dataloaders',
    'transforms',
    'Trainer',
    'trainer',
    'autodiff',
    'grad',
    'value_and_grad',
    'jacobian',
    'hessian',
    'hvp',
    'vjp',
    'jvp',
    'is_simple_core',
]

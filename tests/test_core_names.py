"""The names the book's ``dezero.core`` defines beyond the engine: the arithmetic
Function classes and functions and ``setup_variable``, which live in
dezero.functions.arithmetic and dezero.operators and are looked up on first use."""

import subprocess
import sys

import numpy as np
import pytest

import dezero
import dezero.core
import dezero.functions as F
from dezero import Variable
from dezero.functions import arithmetic

BOOK_NAMES = [
    'Add',
    'Mul',
    'Neg',
    'Sub',
    'Div',
    'Pow',
    'add',
    'mul',
    'neg',
    'sub',
    'rsub',
    'div',
    'rdiv',
    'pow',
]


@pytest.mark.parametrize('name', BOOK_NAMES)
def test_arithmetic_names_are_those_of_dezero_functions(name):
    assert getattr(dezero.core, name) is getattr(arithmetic, name)
    assert name in dir(dezero.core)


def test_setup_variable_is_the_one_dezero_runs():
    assert dezero.core.setup_variable is dezero.setup_variable


def test_other_names_are_still_missing():
    with pytest.raises(
        AttributeError, match="module 'dezero.core' has no attribute 'no_such_name'"
    ):
        dezero.core.no_such_name


def test_import_from_core_in_a_fresh_interpreter():
    code = (
        'from dezero.core import Add, Pow, rsub, rdiv, setup_variable, Variable\n'
        'import numpy as np\n'
        'x = Variable(np.array([1.0, 2.0]))\n'
        'print(Add()(x, x).data.tolist(), Pow(2)(x).data.tolist(),\n'
        '      rsub(x, 5.0).data.tolist(), rdiv(x, 4.0).data.tolist())\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ['[2.0,', '4.0]', '[1.0,', '4.0]', '[4.0,', '3.0]', '[4.0,', '2.0]']


def test_core_functions_as_the_book_calls_them():
    c = dezero.core
    x = Variable(np.array([2.0, 4.0]))
    np.testing.assert_array_equal(c.add(x, 1.0).data, [3.0, 5.0])
    np.testing.assert_array_equal(c.sub(x, x).data, [0.0, 0.0])
    np.testing.assert_array_equal(c.mul(x, x).data, [4.0, 16.0])
    np.testing.assert_array_equal(c.div(x, x).data, [1.0, 1.0])
    np.testing.assert_array_equal(c.neg(x).data, [-2.0, -4.0])
    np.testing.assert_array_equal(c.pow(x, 3).data, [8.0, 64.0])
    np.testing.assert_array_equal(c.rsub(x, 1.0).data, [-1.0, -3.0])
    np.testing.assert_array_equal(c.rdiv(x, 1.0).data, [0.5, 0.25])
    assert c.Sub is F.Sub


def test_names_the_books_modules_import_are_found_there_too():
    # The book's modules expose what they import; code written for it may reach them so.
    import dezero.datasets
    import dezero.functions as F
    import dezero.functions_conv
    import dezero.layers
    import dezero.optimizers
    import dezero.transforms
    import dezero.utils
    from dezero import cuda, download
    from dezero.conv_ops import pair

    assert F.Variable is dezero.Variable and F.as_variable is dezero.as_variable
    assert F.Function is dezero.Function and F.as_array is dezero.as_array
    assert dezero.functions_conv.linear is F.linear
    assert dezero.functions_conv.broadcast_to is F.broadcast_to
    assert dezero.utils.Variable is dezero.Variable
    assert dezero.layers.pair is dezero.transforms.pair is pair
    assert dezero.optimizers.Parameter is dezero.Parameter
    assert dezero.datasets.Compose is dezero.transforms.Compose
    assert dezero.datasets.get_file is download.get_file
    assert dezero.datasets.cache_dir == download.cache_dir
    assert dezero.core.array_types == cuda.array_types
    import dezero.models

    assert cuda.Variable is dezero.Variable  # from dezero.cuda import Variable
    assert F.utils is dezero.utils and F.cuda is cuda
    assert dezero.models.L is dezero.layers and dezero.models.utils is dezero.utils


def test_import_dezero_alone_gives_the_books_submodules():
    # The book's package imports functions_conv (and the others) in its __init__, so
    # `import dezero` alone lets code reach dezero.functions_conv.conv2d.
    names = ['functions_conv', 'functions', 'layers', 'models', 'optimizers', 'utils']
    code = 'import dezero; print([hasattr(dezero, n) for n in %r])' % (names,)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str([True] * len(names))


def test_the_books_argument_and_method_names_work():
    # F.matmul(x, W=...), F.BatchNorm(mean=..., var=...) and Variable.matmaul are the
    # book's names.
    x = Variable(np.array([[1.0, 2.0]]))
    w = np.array([[3.0], [4.0]])
    assert F.matmul(x, W=w).data.tolist() == [[11.0]]
    assert x.matmaul(w).data.tolist() == [[11.0]]
    mean, var = np.zeros(2), np.ones(2)
    f = F.BatchNorm(mean=mean, var=var, decay=0.9, eps=2e-5)
    assert f.avg_mean is mean and f.avg_var is var
    with dezero.test_mode():
        y = f(np.array([[1.0, 2.0]]), np.ones(2), np.zeros(2))
    np.testing.assert_allclose(y.data, [[1.0, 2.0]], rtol=1e-4)


def test_the_books_batch_norm_attributes_can_be_updated_in_place():
    # the book's forward does self.avg_mean *= self.decay
    f = F.BatchNorm(np.zeros(3), np.ones(3), 0.9, 2e-5)
    f.avg_mean *= 0.5
    f.avg_mean += 1.0
    f.avg_var = np.full(3, 4.0)
    assert f.running_mean.tolist() == [1.0, 1.0, 1.0] and f.running_var.tolist() == [4.0] * 3

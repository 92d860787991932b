"""dezero.cuda on a machine without a usable GPU: the array-module switch, the errors
that say how to get CuPy, and that CPU work never imports CuPy."""

import subprocess
import sys
import types

import numpy as np
import pytest

import dezero
from dezero import Variable, cuda
from dezero.dataloaders import DataLoader
from dezero.models import MLP


@pytest.fixture
def no_cupy(monkeypatch):
    """CuPy cannot be imported, and dezero.cuda has not looked for it yet."""
    monkeypatch.setitem(sys.modules, 'cupy', None)  # import cupy -> ImportError
    monkeypatch.setattr(cuda, '_cupy', None)
    monkeypatch.setattr(cuda, '_cupy_problem', None)


@pytest.fixture
def cupy_without_device(monkeypatch):
    """A CuPy that imports but finds no CUDA device (as on a machine with no driver)."""
    fake = types.ModuleType('cupy')

    class NoDriver(RuntimeError):
        pass

    def count():
        raise NoDriver(
            'cudaErrorInsufficientDriver: CUDA driver version is '
            'insufficient for CUDA runtime version'
        )

    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=count))
    monkeypatch.setitem(sys.modules, 'cupy', fake)
    monkeypatch.setattr(cuda, '_cupy', None)
    monkeypatch.setattr(cuda, '_cupy_problem', None)


def test_cpu_work_never_imports_cupy():
    code = """
import sys
import numpy as np
import dezero, dezero.functions as F
from dezero import cuda, optimizers
from dezero.models import MLP
model = MLP((4, 2))
opt = optimizers.Adam().setup(model)
loss = F.softmax_cross_entropy(model(np.ones((3, 5), np.float32)), np.array([0, 1, 0]))
loss.backward(); opt.update()
assert cuda.get_array_module(loss.data) is np
assert not cuda.is_gpu_array(loss.data)
print('cupy' in sys.modules)
"""
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'False'


def test_get_array_module_of_cpu_things_is_numpy():
    for x in (np.ones(3), np.float32(1.0), 2.0, Variable(np.ones(2)), [1, 2]):
        assert cuda.get_array_module(x) is np
    assert cuda.is_array(np.ones(2)) and not cuda.is_array([1.0])
    assert cuda.device_name(np.ones(2)) == 'CPU'


def test_as_numpy_keeps_numpy_arrays_and_wraps_scalars():
    a = np.arange(3.0)
    assert cuda.as_numpy(a) is a
    s = cuda.as_numpy(2.5)
    assert isinstance(s, np.ndarray) and s.shape == () and s == 2.5


def test_as_numpy_takes_a_variables_data_and_refuses_none():
    # None became an object array, which nothing downstream could use
    v = Variable(np.arange(3.0))
    assert cuda.as_numpy(v) is v.data
    with pytest.raises(
        TypeError, match='as_numpy: expected an array, a number or a Variable, got None'
    ):
        cuda.as_numpy(None)
    with pytest.raises(TypeError, match='as_numpy: the Variable holds no data'):
        cuda.as_numpy(Variable(None))


def test_without_cupy_the_gpu_is_off_and_every_move_says_how_to_install(no_cupy):
    assert cuda.gpu_enable is False
    hint = r'CuPy is not installed .*pip install cupy-cuda12x'
    with pytest.raises(RuntimeError, match=r'^as_cupy: cannot move data to a GPU: ' + hint):
        cuda.as_cupy(np.ones(2))
    v = Variable(np.ones(2))
    with pytest.raises(RuntimeError, match=r'^Variable\.to_gpu: .*' + hint):
        v.to_gpu()
    assert isinstance(v.data, np.ndarray)  # unchanged
    model = MLP((3, 2))
    model(np.ones((1, 4), np.float32))
    with pytest.raises(RuntimeError, match=r'^MLP\.to_gpu: .*' + hint):
        model.to_gpu()
    assert all(isinstance(p.data, np.ndarray) for p in model.params())
    loader = DataLoader([(np.ones(2), 0)] * 4, 2, gpu=True)
    with pytest.raises(RuntimeError, match=hint):
        next(loader)


def test_the_cupy_module_is_reachable_as_in_the_book_only_when_usable(no_cupy):
    # the book's scripts write ``xp = dezero.cuda.cupy`` when gpu_enable is True
    assert not hasattr(cuda, 'cupy')
    with pytest.raises(AttributeError, match=r'dezero\.cuda\.cupy: CuPy is not installed'):
        cuda.cupy


def test_cupy_without_a_device_says_why(cupy_without_device):
    assert cuda.gpu_enable is False
    with pytest.raises(
        RuntimeError,
        match=r'Variable\.to_gpu: cannot move data to a '
        r'GPU: CuPy is installed but no GPU can be '
        r'used \(NoDriver: cudaErrorInsufficient',
    ):
        Variable(np.ones(2)).to_gpu()


def test_to_cpu_moves_the_gradient_too_and_keeps_numpy_data():
    v = Variable(np.ones(2))
    (v * 2.0).backward()
    data, grad = v.data, v.grad.data
    v.to_cpu()
    assert v.data is data and v.grad.data is grad


def test_dezero_exports_the_cuda_module():
    assert dezero.cuda is cuda

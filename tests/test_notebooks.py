"""The notebooks in notebooks/ run from top to bottom, and are stored without outputs.

Each notebook is executed with nbclient in a fresh IPython kernel (ipykernel) that runs
on this very interpreter: the test writes a kernelspec pointing at ``sys.executable``
into a temporary folder and starts the kernel from it, so whatever other ``python3``
kernels the machine has installed, the notebooks see the dezero and NumPy under test.
The kernel runs in notebooks/ (the notebooks' own folder), with ``DEZERO_HOME`` set to
an empty temporary folder (so notebook 4 generates its digits and nothing is
downloaded), and IPython's folder and the notebooks' temporary files in pytest's
temporary folder too.
"""

import json
import pathlib
import re
import shutil
import sys

import pytest

import mnist_files

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / 'notebooks'
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob('*.ipynb'))
KERNEL_NAME = 'dezero-notebook-test'
CELL_TIMEOUT = 120  # seconds per cell; the slowest cell takes about a second
ANSI_ESCAPE = re.compile(r'\x1b\[[0-9;]*m')


def test_there_are_notebooks():
    assert NOTEBOOKS, f'no notebooks in {NOTEBOOK_DIR}'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    """Outputs and execution counts would make every run a diff: none are stored."""
    nb = json.loads(path.read_text(encoding='utf-8'))
    assert nb['nbformat'] == 4, f'{path.name}: nbformat {nb["nbformat"]}, expected 4'
    dirty = []
    code_cells = 0
    for index, cell in enumerate(nb['cells']):
        if cell['cell_type'] != 'code':
            continue
        code_cells += 1
        if cell.get('outputs'):
            dirty.append(f'cell {index} has outputs')
        if cell.get('execution_count') is not None:
            dirty.append(f'cell {index} has execution count {cell["execution_count"]}')
    assert code_cells, f'{path.name} has no code cells'
    assert not dirty, (
        f'{path.name} is stored with outputs: ' + '; '.join(dirty) + '. Clear them, e.g. '
        f'`jupyter nbconvert --clear-output --inplace notebooks/{path.name}`'
    )


# ---- execution --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def jupyter():
    """The Jupyter modules, or a skip when they are not installed."""
    pytest.importorskip('ipykernel', reason='executing the notebooks needs ipykernel')
    nbformat = pytest.importorskip('nbformat', reason='executing the notebooks needs nbformat')
    nbclient = pytest.importorskip('nbclient', reason='executing the notebooks needs nbclient')
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    return nbformat, nbclient, KernelSpecManager, AsyncKernelManager


@pytest.fixture
def run_notebook(jupyter, tmp_path):
    """A function that executes a notebook and returns it with its outputs, failing
    with the notebook's name, the failing cell and its error if a cell raises."""
    nbformat, nbclient, KernelSpecManager, AsyncKernelManager = jupyter
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    def run(path, dezero_home=None):
        if dezero_home is None:
            dezero_home = tmp_path / 'dezero_home'
            dezero_home.mkdir(exist_ok=True)
        kernels = tmp_path / 'kernels'
        spec_dir = kernels / KERNEL_NAME
        spec_dir.mkdir(parents=True, exist_ok=True)
        scratch = tmp_path / 'scratch'  # the notebooks' temporary folders go here
        scratch.mkdir(exist_ok=True)
        spec = {
            'argv': [sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
            'display_name': 'Python 3 (the tests)',
            'language': 'python',
            'env': {
                'DEZERO_HOME': str(dezero_home),
                'IPYTHONDIR': str(tmp_path / 'ipython'),
                **{name: str(scratch) for name in ('TMPDIR', 'TEMP', 'TMP')},
                # pictures inline, even where the environment asks for another backend
                'MPLBACKEND': 'module://matplotlib_inline.backend_inline',
            },
        }
        (spec_dir / 'kernel.json').write_text(json.dumps(spec), encoding='utf-8')
        km = AsyncKernelManager(
            kernel_name=KERNEL_NAME,
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
        )
        nb = nbformat.read(path, as_version=4)
        started = {}

        def on_cell_start(cell, cell_index):
            started['index'] = cell_index

        client = nbclient.NotebookClient(
            nb,
            km=km,
            timeout=CELL_TIMEOUT,
            startup_timeout=120,
            on_cell_start=on_cell_start,
            resources={'metadata': {'path': str(path.parent)}},
        )
        failure = None
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
            failure = ANSI_ESCAPE.sub('', str(e))  # it shows the cell and the traceback
        if failure is not None:  # failed here, outside the except: no chained traceback
            index = started.get('index')
            code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == 'code']
            where = f'cell {index} (code cell {code.index(index) + 1} of {len(code)})'
            pytest.fail(f'{path.name}: {where} failed:\n{failure}', pytrace=False)
        return nb

    return run


def stream_text(nb):
    """Everything the notebook's cells printed."""
    return ''.join(
        output.get('text', '')
        for cell in nb.cells
        if cell.cell_type == 'code'
        for output in cell.outputs
        if output.output_type == 'stream'
    )


def snapshot(folder):
    """Every file under ``folder`` with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob('*')
        if p.is_file()
    }


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_from_top_to_bottom(path, run_notebook):
    before = snapshot(NOTEBOOK_DIR)
    nb = run_notebook(path)
    errors = [
        f'cell {i}: {output.get("ename")}: {output.get("evalue")}'
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == 'code'
        for output in cell.outputs
        if output.output_type == 'error'
    ]
    assert not errors, f'{path.name}: ' + '; '.join(errors)
    assert snapshot(NOTEBOOK_DIR) == before, f'{path.name} wrote files into notebooks/'
    if path.name.startswith('04_'):  # DEZERO_HOME is empty: digits are generated
        assert 'generated digits: ' in stream_text(nb)


def test_cnn_notebook_uses_real_mnist_files_when_present(run_notebook, tmp_path):
    """With the MNIST test split in dezero's data folder, notebook 4 trains on it."""
    if not mnist_files.has_real_mnist():
        pytest.skip(f'the real MNIST test split is not in {mnist_files.REAL_MNIST}')
    path = NOTEBOOK_DIR / '04_cnn_mnist.ipynb'
    if not path.exists():
        pytest.skip(f'{path.name} is not there')
    home = tmp_path / 'home_with_mnist'
    (home / 'datasets' / 'mnist').mkdir(parents=True)
    for name in mnist_files.TEST_FILES:
        shutil.copy(mnist_files.REAL_MNIST / name, home / 'datasets' / 'mnist' / name)
    nb = run_notebook(path, dezero_home=home)
    assert 'real MNIST digits (test split only): ' in stream_text(nb)


def test_cnn_notebook_generates_digits_when_the_mnist_files_cannot_be_read(run_notebook, tmp_path):
    """Files that are there but damaged are reported, and the notebook still runs."""
    path = NOTEBOOK_DIR / '04_cnn_mnist.ipynb'
    if not path.exists():
        pytest.skip(f'{path.name} is not there')
    home = tmp_path / 'home_with_damaged_mnist'
    (home / 'datasets' / 'mnist').mkdir(parents=True)
    for name in mnist_files.TEST_FILES:
        (home / 'datasets' / 'mnist' / name).write_bytes(b'not MNIST at all')
    text = stream_text(run_notebook(path, dezero_home=home))
    assert 'the MNIST files could not be read, so digits are generated instead: ' in text
    assert 'generated digits: ' in text

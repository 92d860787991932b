"""The tutorial: every ``steps/stepNN.py`` runs as a learner runs it and prints what its
docstring promises.

All steps run once, in parallel subprocesses, from a fresh folder, in quick mode
(``DEZERO_STEPS_QUICK=1``), with ``DEZERO_HOME`` holding tiny generated MNIST files of
both splits, and with web proxies pointing at a closed local port so that nothing can
reach the network.  The tests then check each step's exit status, its opening docstring
and, for chosen steps, values it printed.
"""

import ast
import concurrent.futures
import os
import pathlib
import re
import subprocess
import sys

import pytest

import mnist_files

ROOT = pathlib.Path(__file__).resolve().parent.parent
STEPS = ROOT / 'steps'

#: The whole tutorial: every one of these steps must exist.
WRITTEN = list(range(1, 61))

#: A closed local port: a download attempt fails at once instead of going out.
NO_NETWORK = 'http://127.0.0.1:9'


def step_path(n):
    return STEPS / f'step{n:02d}.py'


def step_env(home, quick=True):
    # one linear-algebra thread per step: the steps run side by side
    env = dict(
        os.environ,
        DEZERO_HOME=str(home),
        MPLBACKEND='Agg',
        OMP_NUM_THREADS='1',
        OPENBLAS_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        http_proxy=NO_NETWORK,
        https_proxy=NO_NETWORK,
        HTTP_PROXY=NO_NETWORK,
        HTTPS_PROXY=NO_NETWORK,
        no_proxy='',
        NO_PROXY='',
    )
    env.pop('PYTHONPATH', None)  # the steps find dezero by themselves
    if quick:
        env['DEZERO_STEPS_QUICK'] = '1'
    else:
        env.pop('DEZERO_STEPS_QUICK', None)
    return env


def run_step(n, cwd, env, timeout=120):
    return subprocess.run(
        [sys.executable, str(step_path(n))],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope='module')
def outputs(tmp_path_factory):
    """{step number: CompletedProcess} for every written step, run in parallel."""
    home = tmp_path_factory.mktemp('home')
    data = home / 'datasets' / 'mnist'
    for train, (n, seed) in ((True, (600, 1)), (False, (200, 2))):
        images, labels = mnist_files.block_digits(n, seed=seed)
        mnist_files.write_split(data, images, labels, train=train)
    env = step_env(home)
    existing = [n for n in WRITTEN if step_path(n).exists()]

    def run(n):
        cwd = tmp_path_factory.mktemp(f'step{n:02d}')
        result = run_step(n, cwd, env)
        result.cwd = cwd  # where the step wrote its files
        return n, result

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(run, existing))


def test_the_written_steps_are_exactly_the_expected_ones():
    found = sorted(int(p.stem[4:]) for p in STEPS.glob('step*.py'))
    assert found == WRITTEN


@pytest.mark.parametrize('n', WRITTEN)
def test_step_runs_and_opens_with_a_docstring(n, outputs):
    result = outputs[n]
    assert result.returncode == 0, f'step {n} failed:\n{result.stdout}\n{result.stderr}'
    assert result.stdout.strip(), f'step {n} printed nothing'
    doc = ast.get_docstring(ast.parse(step_path(n).read_text(encoding='utf-8')))
    assert doc and len(doc.split()) >= 15, f'step {n} needs an explanatory docstring'


@pytest.mark.parametrize('n', [n for n in WRITTEN if n >= 23])
def test_steps_from_23_on_import_the_package_from_the_checkout(n):
    text = step_path(n).read_text(encoding='utf-8')
    assert 'import dezero' in text or 'from dezero' in text
    assert (
        "sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))" in text
    )


@pytest.mark.parametrize('n', [n for n in WRITTEN if n <= 22])
def test_steps_up_to_22_are_self_contained(n):
    text = step_path(n).read_text(encoding='utf-8')
    assert 'dezero' not in re.sub(r'""".*?"""', '', text, flags=re.S).replace('DeZero', ''), (
        f'step {n} must not use the package'
    )
    assert 'class Variable' in text


def test_mnist_step_without_data_says_what_to_fetch(tmp_path):
    result = run_step(51, tmp_path, step_env(tmp_path / 'empty-home'))
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        't10k-images-idx3-ubyte.gz' in result.stderr
        or 'train-images-idx3-ubyte.gz' in result.stderr
    )
    assert str(tmp_path / 'empty-home' / 'datasets' / 'mnist') in result.stderr


#: For chosen steps, patterns their output must match (multi-line mode), in quick mode.
EXPECTED = {
    1: [r'^x\.data = 1\.0$'],
    2: [r'^y\.data = 100\.0$'],
    3: [r'^y = b\*\*2   = 1\.6487212707$'],  # e**0.5
    4: [r'numerical derivative of the composite at x=0\.5: 3\.29744'],
    5: [r'^dy/dx = dy/da \* 2x     = 3\.2974425414$'],
    6: [r'^x\.grad = 3\.2974425414$'],
    7: [r'^x\.grad = 3\.2974425414$', r'^y\.creator is C: True$'],
    8: [r'^ten Squares at x=1\.0: x\.grad = 1024\.0$'],
    9: [r'^x\.grad = 3\.2974425414$', r'^Variable\(1\.0\) raises TypeError'],
    10: [r'^tests run: 6, failures: 0, errors: 0$'],
    11: [r'^Add of 2\.0 and 3\.0 = 5\.0$', r'^DivMod of 7 and 2 = \(3, 1\)$'],
    12: [r'^add\(2\.0, 3\.0\) = 5\.0$'],
    13: [r'^x\.grad = 4\.0 \(2x\)$', r'^y\.grad = 6\.0 \(2y\)$'],
    14: [r'without cleargrad: x\.grad = 5\.0', r'after cleargrad:   x\.grad = 3\.0$'],
    15: [r'^x\.grad = 96\.0 but dy/dx = 8 \* x\*\*3 = 64\.0$'],  # the bug, on purpose
    16: [
        r'^x\.grad = 64\.0  dy/dx = 8 \* x\*\*3 = 64\.0$',
        r'^generations: x 0  a 1  b 2  c 2  y 3$',
    ],
    17: [r'^weakref outputs: 0\.0 MB', r'^after gc\.collect\(\): 0\.0 MB$'],
    18: [r'y\.grad = None  t\.grad = None  x0\.grad = 2\.0  x1\.grad = 1\.0', r'^no_grad: 8\.0 MB'],
    19: [r'^x\.shape = \(2, 3\)$', r'^len\(x\) = 2$'],
    20: [
        r'^y = a \* b \+ c = variable\(7\.0\)$',
        r'^a\.grad = 2\.0  b\.grad = 3\.0  c\.grad = 1\.0$',
    ],
    21: [r'^y = 3\.0 \* x \+ 1\.0 = variable\(7\.0\)  x\.grad = 3\.0$'],
    22: [r'3\.0 / x\s+=  1\.50   dy/dx = -0\.75', r'x \*\* 3\s+=  8\.00   dy/dx = 12\.00'],
    23: [r'^dezero imported from: dezero/__init__\.py$', r'dy/dx = variable\(8\.0\)'],
    24: [r'backprop:  \(dz/dx, dz/dy\) = \(-5376, 8064\)', r'goldstein\(1, 1\) = 1876'],
    25: [r'wrote sample\.dot'],
    26: [r'graph of goldstein\(x, y\): 38 functions, 40 variables'],
    27: [r'my_sin threshold 0\.0001: 4 terms, y = 0\.70710646\d*, dy/dx = 0\.70710321'],
    28: [r'final point after 5000 iterations: \(0\.956990, 0\.915653\)'],
    29: [
        r'newton iteration 7: x = 1\.000000000000',
        r'gradient descent \(lr = 0\.01\) needs 153 iterations',
    ],
    30: [r'Cube at x = 2: y = variable\(8\.0\), dy/dx = variable\(12\.0\)'],
    31: [r'create_graph=True:  x\.grad = 0\.5403023059, x\.grad\.creator = Mul'],
    32: [r"f''\(2\) = 44\.0", r'without x\.cleargrad\(\): x\.grad = 68\.0'],
    33: [r'minimum found at x = 1\.000000000000 after 7 iterations'],
    34: [r'order 1 at x = 1: \+0\.5403023059', r'-0\.8414709848', r'-0\.5403023059'],
    35: [
        r'^\s+6\s+13\.6240754413\s+13\.6240754413\s+339\s+211$',
        r'agree to 12 digits at every order: True',
        r'8th derivative: 1469 functions with the fused TanhGrad instead of 2571, 43% fewer',
    ],
    36: [r'dz/dx at x = 2: 100\.0'],
    37: [r'x\.grad equals cos\(x\): True'],
    38: [r'x\.T shape\s+: \(3, 2\)'],
    39: [
        r'sum of \[1 2 3 4 5 6\] = variable\(21\.0\)',
        r'x\.sum\(axis=0, keepdims=True\) = variable\(\[\[5\. 7\. 9\.\]\]\) shape \(1, 3\)',
    ],
    40: [
        r'x1\.grad: variable\(\[3\.\]\) shape \(1,\)',
        r'sum_to\(a, \(2, 1\)\) = \[\[6\.0\], \[15\.0\]\]',
    ],
    41: [r'x\.grad == gy @ W\.T : True', r'W\.grad == x\.T @ gy : True'],
    42: [r'F\.mean_squared_error agrees with ours: True'],
    44: [r"parameters registered: \['p1', 'p2'\]"],
    45: [
        r"TwoLayerNet parameters: \[\('l1/W', \(1, 10\)\), \('l1/b', \(10,\)\), "
        r"\('l2/W', \(10, 1\)\), \('l2/b', \(1,\)\)\]"
    ],
    47: [
        r'softmax_cross_entropy = 1\.496744',
        r'by hand -mean\(log p\)  = 1\.496744',
        r'hand-written softmax agrees: True',
    ],
    48: [r'epoch 1, loss 1\.0628', r'saved step48_spiral\.png|skipped'],
    49: [r'item 0: x = \[-0\.13981389 -0\.00721657\] float32  t = 1'],
    50: [
        r'accuracy of the example: 0\.6667',
        r'epoch 1: train loss 1\.0628, accuracy 0\.4133 \| test loss 1\.0277, '
        r'accuracy 0\.3733',
    ],
    51: [
        r'item 0: x shape \(784,\) float32, values in \[0\.0, 1\.0\]',
        r'^epoch 1: train loss \d\.\d{4}, accuracy \d\.\d{4} \| test accuracy \d\.\d{4}$',
    ],
    52: [r'^GPU not available: dezero\.cuda\.gpu_enable is False'],
    53: [r'outputs identical: True', r'saved step53_mlp\.npz'],
    54: [
        r'test mode: zeroed 0\.0000, mean 1\.0000, output equals input: True',
        r'Config\.train inside test_mode\(\): False',
    ],
    55: [
        r'^   4   3   1   1  ->   4   \(4\)$',
        r'^   7   3   2   1  ->   4   \(4\)$',
        r'input 4x4, kernel 3x3, stride 1, pad 1 -> output 4x4',
    ],
    56: [
        r'^ \[1\. 2\. 4\. 5\.\]$',
        r'sum of each 2x2 window: \[\[8\.0, 12\.0\], \[20\.0, 24\.0\]\]',
        r'im2col of \(10, 3, 7, 7\), kernel 5x5 -> \(90, 75\)',
        r'^outputs agree: True',
        r'^gradients agree: x True  W True  b True$',
    ],
    57: [
        r'x \(2, 3, 8, 8\) -> Conv2d\(4, 3, pad=1\) -> \(2, 4, 8, 8\)',
        r'max of each 2x2 block: \[\[4\.0, 6\.0\], \[7\.0, 8\.0\]\]',
        r'conv2d gradient check, x: True',
        r'conv2d gradient check, W: True',
        r'pooling gradient check: True',
        r'SimpleConvNet parameters: 433,890',
    ],
    58: [
        r'^VGG16 parameters: 138,357,544$',
        r'red pixel \(255, 0, 0\) becomes \(B, G, R\) = '
        r'\(-103\.939, -116\.779, 131\.320\)',
        r'vgg16\.npz is not in .*models$',
        r'download https://\S+/vgg16\.npz',
    ],
    59: [
        r'^epoch 1: loss 0\.290638$',  # the book's DeZero prints the same
        r'^epoch 2: loss \d\.\d{6}$',
        r'cosine: mean squared error',
        r'saved step59_rnn\.png|skipped',
    ],
    60: [
        r'^999 items in 30 pieces of 33: 34 batches per epoch$',  # ceil(999 / 30), the book's
        r'each label is the next input of its row: True',
        r'^epoch 3: loss 0\.2025\d*$',
        r'cosine: mean squared error',
        r'saved step60_lstm\.png|skipped',
    ],
}


@pytest.mark.parametrize('n', sorted(EXPECTED))
def test_step_prints_the_expected_values(n, outputs):
    out = outputs[n].stdout
    for pattern in EXPECTED[n]:
        assert re.search(pattern, out, re.M), f'step {n}: no match for {pattern!r}:\n{out}'


#: Step 35: functions in the graphs of tanh's 1st to 8th derivatives, with the book's
#: Tanh (gy * (1 - y * y) in backward: the counts of the book's DeZero) and with F.tanh
#: (one fused TanhGrad).
TANH_GRAPH_FUNCTIONS = {
    'book': [4, 9, 21, 51, 129, 339, 921, 2571],
    'fused': [2, 5, 13, 33, 83, 211, 549, 1469],
}


def test_step35_counts_the_functions_of_both_tanh_graphs(outputs):
    rows = re.findall(r'^\s+(\d)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)$', outputs[35].stdout, re.M)
    assert [int(row[0]) for row in rows] == list(range(1, 9))
    assert all(row[1] == row[2] for row in rows)  # value == closed form
    assert [int(row[3]) for row in rows] == TANH_GRAPH_FUNCTIONS['book']
    assert [int(row[4]) for row in rows] == TANH_GRAPH_FUNCTIONS['fused']


def test_step35_draws_the_books_graph_and_the_fused_one(outputs):
    result = outputs[35]
    for name, functions in (('tanh', 9), ('tanh_fused', 5), ('tanh_order6', 339)):
        dot = (result.cwd / f'{name}.dot').read_text()
        assert dot.count('shape=box') == functions, name
    assert '"Tanh"' in (result.cwd / 'tanh.dot').read_text()
    assert '"TanhGrad"' in (result.cwd / 'tanh_fused.dot').read_text()
    for name in ('tanh', 'tanh_fused'):
        png = result.cwd / f'{name}.png'
        if f'skipped {name}.png' in result.stdout:
            assert not png.exists()
        else:
            assert png.read_bytes().startswith(b'\x89PNG')


def learned(pattern, out):
    return float(re.search(pattern, out)[1])


def test_linear_regression_learns_the_line(outputs):
    out = outputs[42].stdout
    assert learned(r'learned W = (\S+)', out) == pytest.approx(2.0, abs=0.1)
    assert learned(r'learned b = (\S+)', out) == pytest.approx(5.0, abs=0.1)


def test_momentum_beats_plain_sgd(outputs):
    out = outputs[46].stdout
    assert learned(r'final loss MomentumSGD: (\S+)', out) < learned(r'final loss SGD: (\S+)', out)


def test_mnist_step_learns_the_generated_digits(outputs):
    acc = learned(r'test accuracy (\d\.\d{4})', outputs[51].stdout)
    assert acc >= 0.8

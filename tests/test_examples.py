"""The examples run as a user runs them, and the README's Quick start matches CI."""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import dezero.functions as F
import mnist_files
from example_runner import (
    EXAMPLES,
    ONE_THREAD,
    ROOT,
    assert_pictures,
    assert_png,
    has_module,
    load_example,
    run_example,
)
from dezero.datasets import CIFAR10
from dezero.models import MLP


# ---- examples/spiral.py (the main job) -------------------------------------------------
def test_spiral_recipe_learns_within_20_seconds():
    """MLP((10, 3)), SGD lr 1.0, 300 epochs, batch 30, seed 0: the book's recipe."""
    spiral = load_example('spiral.py')
    start = time.perf_counter()
    model, history = spiral.train(progress=False)
    seconds = time.perf_counter() - start
    loss, acc = spiral.evaluate(model)
    assert loss < 0.15 and acc > 0.9, (loss, acc)
    assert seconds < 20
    assert len(history['loss']) == 300
    assert history['loss'][-1] < history['loss'][0] / 5
    assert [p.dtype for p in model.params()] == [np.float32] * 4


def test_spiral_is_reproducible():
    spiral = load_example('spiral.py')
    _, a = spiral.train(epochs=5, progress=False)
    _, b = spiral.train(epochs=5, progress=False)
    assert a == b


def test_spiral_script_prints_results_and_saves_pictures(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example('spiral.py', '--epochs', '40', '--out', str(out_dir), cwd=tmp_path)
    assert re.search(r'^epoch  4/40  loss \d\.\d{4}  acc \d\.\d{4}$', out, re.M), out
    assert re.search(r'^epoch 40/40  loss ', out, re.M), out
    final = re.search(r'^final loss (\d\.\d+)  accuracy (\d\.\d+)$', out, re.M)
    assert final, out
    assert 0 < float(final[1]) < 1.2 and 0.3 < float(final[2]) <= 1
    pictures = [out_dir / 'spiral_loss.png', out_dir / 'spiral_boundary.png']
    if has_module('matplotlib'):
        for path in pictures:
            assert_png(path)
            assert f'saved {path}' in out
    else:
        assert 'matplotlib is not installed' in out
        assert not any(path.exists() for path in pictures)


def test_spiral_decision_grid_covers_the_plane():
    spiral = load_example('spiral.py')
    model, _ = spiral.train(epochs=300, progress=False)
    xx, yy, classes = spiral.predict_grid(model, steps=50)
    assert xx.shape == yy.shape == classes.shape == (50, 50)
    assert set(np.unique(classes)) == {0, 1, 2}  # every arm owns a region


@pytest.mark.skipif(not has_module('matplotlib'), reason='needs matplotlib')
def test_spiral_decision_boundary_names_its_axes(tmp_path, monkeypatch):
    # the decision boundary had no axis labels
    spiral = load_example('spiral.py')
    figures = []
    monkeypatch.setattr(spiral, 'save_figure', lambda fig, path, dpi: figures.append(fig))
    model, history = spiral.train(epochs=1, progress=False)
    spiral.save_pictures(model, history, str(tmp_path))
    boundary = figures[1].axes[0]
    assert (boundary.get_xlabel(), boundary.get_ylabel()) == ('x1', 'x2')
    assert boundary.get_title() == 'spiral: decision boundary'


# ---- examples/mnist.py -----------------------------------------------------------------
def test_mnist_script_learns_fake_digits_and_saves_weights(tmp_path):
    data_dir, out_dir = tmp_path / 'data', tmp_path / 'out'
    images, labels = mnist_files.block_digits(600)
    mnist_files.write_split(data_dir, images, labels, train=False)
    out = run_example(
        'mnist.py',
        '--data-dir',
        str(data_dir),
        '--holdout',
        '200',
        '--epochs',
        '3',
        '--hidden',
        '32',
        '--out',
        str(out_dir),
        cwd=tmp_path,
    )
    assert 'training on 400 images, evaluating on 200' in out
    accs = [float(a) for a in re.findall(r'^epoch \d+/3  .*val_acc (\d\.\d+)$', out, re.M)]
    assert len(accs) == 3, out
    assert accs[-1] >= 0.9, out
    assert re.search(r'final held-out accuracy (\d\.\d+)', out)[1] == f'{accs[-1]:.4f}'

    # the saved weights give the same held-out accuracy in a fresh model
    model = MLP((32, 10), activation=F.relu)  # the script's default activation
    model.load_weights(out_dir / 'mnist_mlp.npz')
    x = images[400:].reshape(200, 784).astype(np.float32) / 255
    acc = float((model(x).data.argmax(axis=1) == labels[400:]).mean())
    assert acc == pytest.approx(accs[-1], abs=1e-9)
    if has_module('matplotlib'):
        assert_png(out_dir / 'mnist_accuracy.png')


def test_mnist_script_refuses_a_bad_holdout(tmp_path):
    mnist_files.write_split(tmp_path, *mnist_files.block_digits(20), train=False)
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / 'mnist.py'),
            '--data-dir',
            str(tmp_path),
            '--holdout',
            '20',
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert '--holdout must be between 1 and 19, got 20' in result.stderr


@pytest.mark.parametrize(
    'args, message',
    [
        (['--holdout', '10000'], 'argument --holdout: must be from 1 to 9999 (or 0: no holdout)'),
        (['--holdout', '-1'], 'argument --holdout: must be from 1 to 9999 (or 0: no holdout)'),
        (['--holdout', 'ten'], "argument --holdout: expected a whole number, got 'ten'"),
        (
            ['--smoke', '--holdout', '2000'],
            'argument --holdout: not allowed with argument --smoke',
        ),
        (['--holdout', '20', '--smoke'], 'argument --smoke: not allowed with argument --holdout'),
    ],
)
@pytest.mark.parametrize('name', ['mnist.py', 'mnist_distributed.py'])
def test_a_bad_holdout_is_refused_before_any_work(
    name, args, message, tmp_path, monkeypatch, capsys
):
    # --holdout was a plain int checked only once the test split was read (or
    # downloaded), and --smoke ignored it
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'home'))
    err = refused(name, [*args, '--out', str(tmp_path / 'out')], capsys)
    assert message in err, err
    assert not (tmp_path / 'home').exists()  # nothing was read nor downloaded


def test_holdout_0_is_no_holdout_as_the_help_says(tmp_path, monkeypatch, capsys):
    args, _ = arguments_of_the_work(
        'mnist.py', 'load_or_generate', ['--holdout', '0', '--out', str(tmp_path)], monkeypatch
    )
    assert args[0].holdout == 0 and not args[0].smoke
    with pytest.raises(SystemExit):
        load_example('mnist.py').main(['--help'])
    assert '(1 to 9999; default: 0, no holdout' in ' '.join(capsys.readouterr().out.split())


def test_mnist_files_offline_are_asked_for_by_the_option_not_by_the_library(
    tmp_path, monkeypatch, capsys
):
    # the library's advice was "pass root= a folder that holds them"
    import dezero.datasets.mnist
    from dezero.download import DownloadError

    def offline(url, **kwargs):
        raise DownloadError(f'cannot reach {url}', url=url, reason='no network')

    monkeypatch.setattr(dezero.datasets.mnist, 'get_file', offline)
    mnist_data = load_example('mnist_data.py')
    args = argparse.Namespace(smoke=False, data_dir=str(tmp_path), holdout=10)
    with pytest.raises(SystemExit) as exit_info:
        mnist_data.load_or_generate(args)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert 'could not be downloaded' in err and f'not in {tmp_path}' in err
    assert 'pass --data-dir a folder that holds them' in err and 'root=' not in err


def test_mnist_files_of_another_kind_in_the_default_folder_are_answered_with_the_option(
    tmp_path, monkeypatch, capsys
):
    # the checksum error's "pass root= another folder" reached the script's user
    import mnist_files

    home = tmp_path / 'home'
    monkeypatch.setenv('DEZERO_HOME', str(home))
    images = np.zeros((3, 28, 28), np.uint8)
    mnist_files.write_split(home / 'datasets' / 'mnist', images, np.arange(3), md5sums=False)
    mnist_data = load_example('mnist_data.py')
    args = argparse.Namespace(smoke=False, data_dir=None, holdout=1)
    with pytest.raises(SystemExit) as exit_info:
        mnist_data.load_or_generate(args)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert 'is not the file t10k-images-idx3-ubyte.gz of MNIST' in err
    assert 'pass --data-dir another folder that holds them' in err and 'root=' not in err


def damage(path, how):
    """Spoil the gzip file ``path``: replace it with text, or cut it in half."""
    data = path.read_bytes()
    path.write_bytes(b'garbage\n' if how == 'garbage' else data[: len(data) // 2])


@pytest.mark.parametrize('how', ['garbage', 'truncated'])
def test_damaged_mnist_files_end_the_run_with_one_line(how, tmp_path, capsys):
    """A corrupt or truncated file: dezero's ValueError, which names the file, is
    printed as one line and the script exits with status 1 (like a missing file)."""
    mnist_data = load_example('mnist_data.py')
    mnist_files.write_split(tmp_path, *mnist_files.block_digits(20), train=False)
    images = tmp_path / mnist_files.TEST_FILES[0]
    damage(images, how)
    args = argparse.Namespace(smoke=False, data_dir=str(tmp_path), holdout=10)
    with pytest.raises(SystemExit) as exit_info:
        mnist_data.load_or_generate(args)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f'{images} is not a complete gzip file' in err and 'delete it and try again' in err
    assert err.count('\n') == 1, err


def test_mnist_script_with_a_corrupt_file_says_which_without_a_traceback(tmp_path):
    mnist_files.write_split(tmp_path / 'bad', *mnist_files.block_digits(20), train=False)
    images = tmp_path / 'bad' / mnist_files.TEST_FILES[0]
    damage(images, 'garbage')
    args = ['--data-dir', str(tmp_path / 'bad'), '--holdout', '10', '--out', str(tmp_path)]
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / 'mnist.py'), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f'mnist.py: MNIST: {images} is not a complete gzip file')
    assert 'Traceback' not in result.stderr and result.stderr.count('\n') == 1


def test_mnist_gpu_without_cupy_says_how_to_install_it_before_any_work(tmp_path):
    # the data was read and the model built before --gpu failed, with exit status 1
    from dezero import cuda

    if cuda.gpu_enable:
        pytest.skip('a GPU is usable here: tests/gpu runs the GPU paths')
    out = tmp_path / 'out'
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / 'mnist.py'), '--smoke', '--gpu', '--out', str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert 'mnist.py: error: --gpu: cannot move data to a GPU' in result.stderr
    assert 'pip install cupy' in result.stderr or 'no GPU can be used' in result.stderr
    assert result.stdout == '' and not out.exists()


@pytest.mark.skipif(
    not mnist_files.has_real_mnist(), reason='the real MNIST test split is not available here'
)
def test_mnist_reaches_93_percent_on_the_real_test_split(tmp_path):
    """8,000 real test images for training, 2,000 held out, 10 epochs (README figure)."""
    out = run_example(
        'mnist.py',
        '--data-dir',
        str(mnist_files.REAL_MNIST),
        '--holdout',
        '2000',
        '--epochs',
        '10',
        '--out',
        str(tmp_path),
        cwd=tmp_path,
    )
    final = float(re.search(r'final held-out accuracy (\d\.\d+)', out)[1])
    assert final >= 0.93, out


# ---- examples/newton.py ----------------------------------------------------------------
def test_newton_reaches_the_minimum_faster_than_gradient_descent(tmp_path):
    out = run_example('newton.py', cwd=tmp_path)
    newton = re.search(r'^newton: (\d+) iterations, x = (\S+)$', out, re.M)
    gd = re.search(r'^gradient descent \(lr=0\.01\): (\d+) iterations, x = (\S+)$', out, re.M)
    assert newton and gd, out
    n_newton, x_newton = int(newton[1]), float(newton[2])
    n_gd, x_gd = int(gd[1]), float(gd[2])
    assert x_newton == pytest.approx(1.0, abs=1e-9)
    assert x_gd == pytest.approx(1.0, abs=1e-6)
    assert n_newton <= 10
    assert n_gd > 100 > n_newton
    assert 'did not converge' not in out


def test_newton_options(tmp_path):
    out = run_example('newton.py', '--x0', '-2', '--lr', '0.02', cwd=tmp_path)
    assert re.search(r'^newton: \d+ iterations, x = -1\.0000000000$', out, re.M), out
    assert 'gradient descent (lr=0.02)' in out
    if has_module('matplotlib'):  # drawn into --out's default, out/
        assert f'saved {os.path.join("out", "newton.png")}' in out
        assert_png(tmp_path / 'out' / 'newton.png')


def test_newton_random_start_follows_the_seed_and_names_a_maximum(tmp_path):
    def start(seed):
        out = run_example(
            'newton.py',
            '--random-start',
            '--seed',
            str(seed),
            '--out',
            str(tmp_path / 'pictures'),
            cwd=tmp_path,
        )
        return float(re.search(r'^minimising .* from x = (\S+)$', out, re.M)[1]), out

    x0, _ = start(0)
    assert start(0)[0] == x0 and start(5)[0] != x0 and -2 <= x0 <= 2
    x0, out = start(1)  # |x0| < 0.08: Newton climbs to the maximum at 0
    assert abs(x0) < 0.08
    assert re.search(
        r"^newton: \d+ iterations, x = 0\.0000000000 \(a maximum: Newton's "
        r"method finds where f'\(x\) = 0",
        out,
        re.M,
    ), out


# ---- examples/tanh.py ------------------------------------------------------------------
def test_tanh_third_derivative(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example('tanh.py', '--order', '3', '--out', str(out_dir), cwd=tmp_path)

    # tanh''' at 0 is -2, and every value matches the closed form
    assert re.search(r'^\s+0\.00\s+-2\.00000000$', out, re.M), out
    error = float(re.search(r'max \|error\| against the closed form: (\S+)', out)[1])
    assert error < 1e-10

    size = re.search(r'graph of the order-3 derivative: (\d+) functions, (\d+) variables', out)
    assert size, out
    n_funcs, n_vars = int(size[1]), int(size[2])
    dot = (out_dir / 'tanh_order3.dot').read_text()
    assert dot.startswith('digraph')
    assert dot.count('shape=box') == n_funcs
    assert dot.count('shape=ellipse') == n_vars
    assert f'saved the graph as DOT: {out_dir / "tanh_order3.dot"}' in out

    graph_png = out_dir / 'tanh_order3.png'
    if shutil.which('dot') and has_module('graphviz'):
        assert graph_png.read_bytes().startswith(b'\x89PNG')
        assert f'saved the graph as PNG: {graph_png}' in out
    else:
        assert not graph_png.exists()
        assert 'no PNG of the graph' in out

    plot_png = out_dir / 'tanh_derivatives.png'
    if has_module('matplotlib'):
        assert plot_png.read_bytes().startswith(b'\x89PNG')
        assert f'saved {plot_png}' in out
    else:
        assert not plot_png.exists()
        assert 'matplotlib is not installed' in out


def test_tanh_graph_grows_with_the_order(tmp_path):
    sizes = []
    for order in (0, 1, 2):
        out = run_example('tanh.py', '--order', str(order), '--out', str(tmp_path), cwd=tmp_path)
        size = re.search(r'(\d+) functions, (\d+) variables', out)
        sizes.append((int(size[1]), int(size[2])))
    assert sizes[0] == (1, 2)  # x -> Tanh -> y
    assert sizes[0] < sizes[1] < sizes[2]


# ---- examples/sin_lstm.py and examples/mnist_cnn.py ----------------------------------
def test_sin_lstm_default_run_cuts_the_loss_tenfold_and_follows_the_cosine(tmp_path):
    out = run_example('sin_lstm.py', '--no-bar', '--out', str(tmp_path), cwd=tmp_path)
    first, last = map(float, re.search(r'loss: first epoch (\S+), last epoch (\S+)', out).groups())
    assert last < first / 10, out
    mse = float(re.search(r'mean squared error of the next-value prediction (\S+)', out)[1])
    assert mse < 0.01, out
    if has_module('matplotlib'):
        assert_png(tmp_path / 'sin_lstm.png')


def test_mnist_cnn_learns_fake_digits_and_draws_its_filters(tmp_path):
    data_dir, out_dir = tmp_path / 'data', tmp_path / 'out'
    mnist_files.write_split(data_dir, *mnist_files.block_digits(500), train=False)
    out = run_example(
        'mnist_cnn.py',
        '--data-dir',
        str(data_dir),
        '--holdout',
        '100',
        '--epochs',
        '2',
        '--out',
        str(out_dir),
        cwd=tmp_path,
    )
    assert 'training on 400 images, evaluating on 100' in out
    final = float(re.search(r'final held-out accuracy (\d\.\d+)', out)[1])
    assert final >= 0.9, out
    if has_module('matplotlib'):
        assert_png(out_dir / 'mnist_cnn_filters.png')
        assert_png(out_dir / 'mnist_cnn_accuracy.png')


# ---- examples/cifar10.py --------------------------------------------------------------
def test_cifar10_reads_the_dataset_cache_from_data_dir(tmp_path):
    """The real-data path, without a download: generated images put where CIFAR10 keeps
    its decoded arrays (DIR/downloads/cifar-10-binary.tar.gz.{train,test}.npz)."""
    cifar10 = load_example('cifar10.py')
    downloads = tmp_path / 'data' / 'downloads'
    downloads.mkdir(parents=True)
    for split, n, seed in (('train', 300, 1), ('test', 60, 2)):
        images = cifar10.ColourStripes(n, seed)
        np.savez(
            downloads / f'cifar-10-binary.tar.gz.{split}.npz', data=images.data, label=images.label
        )
    out_dir = tmp_path / 'out'
    out = run_example(
        'cifar10.py',
        '--data-dir',
        str(tmp_path / 'data'),
        '--epochs',
        '1',
        '--no-bar',
        '--out',
        str(out_dir),
        cwd=tmp_path,
        env=ONE_THREAD,
    )
    assert 'training on 300 images, evaluating on 60' in out
    assert re.search(r'^epoch 1/1  loss \S+  acc \S+  val_loss \S+  val_acc \S+$', out, re.M), out
    assert re.search(r'final held-out accuracy (\d\.\d+)', out), out
    assert not (downloads / 'cifar-10-binary.tar.gz').exists()  # nothing was downloaded
    assert_pictures(out, [out_dir / 'cifar10_curves.png', out_dir / 'cifar10_mistakes.png'])


@pytest.mark.parametrize(
    'args, message',
    [
        (['--epochs', '0'], '--epochs must be 1 or more, got 0'),
        (['--batch-size', '0'], '--batch-size must be 1 or more, got 0'),
        (['--lr', '-1'], 'argument --lr: must be a positive number, got -1'),
        (['--lr', 'nan'], 'argument --lr: must be a positive number, got nan'),
        (['--lr', 'inf'], 'argument --lr: must be a positive number, got inf'),
    ],
)
def test_cifar10_refuses_bad_arguments_before_loading_anything(args, message, capsys):
    cifar10 = load_example('cifar10.py')
    with pytest.raises(SystemExit) as exit_info:
        cifar10.main(['--smoke', *args])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_cifar10_without_the_data_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    import urllib.error
    import urllib.request

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError('no network in the tests')

    monkeypatch.setattr(urllib.request, 'urlopen', offline)
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'home'))  # restored after the test
    cifar10 = load_example('cifar10.py')
    with pytest.raises(SystemExit) as exit_info:
        cifar10.main(['--data-dir', str(tmp_path / 'data'), '--out', str(tmp_path / 'out')])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert str(tmp_path / 'data' / 'downloads') in err
    assert 'cifar-10-binary.tar.gz' in err and CIFAR10.url in err
    assert 'or run with --smoke' in err


def test_cifar10_generated_images_have_the_layout_of_cifar10():
    cifar10 = load_example('cifar10.py')
    images = cifar10.ColourStripes(50, seed=0)
    assert images.data.dtype == np.uint8 and images.data.shape == (50, 3, 32, 32)
    assert images.label.dtype == np.int64 and set(images.label) <= set(range(10))
    x, _ = images[0]
    assert x.dtype == np.float32 and x.shape == (3, 32, 32) and -1 <= x.min() <= x.max() <= 1
    np.random.seed(0)
    y = cifar10.CifarCNN()(x[None])
    assert y.shape == (1, 10) and y.dtype == np.float32
    assert cifar10.CLASSES[0] == 'airplane' and cifar10.CLASSES[9] == 'truck'


# ---- every example, with --smoke ------------------------------------------------------
#: For every script in examples/: a figure its --smoke run must print (a pattern with
#: one number), the check that number must pass, and the pictures it saves into --out.
SMOKE = {
    'newton.py': (r'^newton: (\d+) iterations, x = 1\.0+$', lambda n: n <= 10, ['newton.png']),
    'hessian_newton.py': (
        r'^newton: (\d+) iterations, x = \(1\.0+, 1\.0+\)$',
        lambda n: n <= 10,
        ['hessian_newton.png'],
    ),
    'tanh.py': (
        r'max \|error\| against the closed form: (\S+)',
        lambda e: e < 1e-10,
        ['tanh_derivatives.png'],
    ),
    'spiral.py': (
        r'^final loss (\S+)  accuracy',
        lambda loss: loss < 0.9,
        ['spiral_loss.png', 'spiral_boundary.png'],
    ),
    'mnist.py': (r'final held-out accuracy (\S+)', lambda a: a >= 0.9, ['mnist_accuracy.png']),
    'mnist_distributed.py': (
        r'final held-out accuracy (\S+)',
        lambda a: a >= 0.9,
        [],  # one process here; tests/test_distributed.py runs two
    ),
    'mnist_cnn.py': (
        r'final held-out accuracy (\S+)',
        lambda a: a >= 0.9,
        ['mnist_cnn_accuracy.png', 'mnist_cnn_filters.png'],
    ),
    'cifar10.py': (
        r'final held-out accuracy (\S+)',
        lambda a: a >= 0.5,  # chance is 0.1
        ['cifar10_curves.png', 'cifar10_mistakes.png'],
    ),
    'sin_lstm.py': (r'\((\S+)x lower\)', lambda r: r >= 10, ['sin_lstm.png']),
    'shopping.py': (r'^price = (\d+)$', lambda p: p == 715, []),
    'two_layer_net.py': (r'test accuracy (\d\.\d+)$', lambda a: a >= 0.9, ['two_layer_net.png']),
    'overfitting.py': (r'^plain\s+(\d\.\d+)', lambda a: a >= 0.5, ['overfitting.png']),
    'char_transformer.py': (
        r'^trained 150 iterations in .* held-out loss (\S+)$',
        lambda loss: loss < 1.2,  # a uniform guess among its 22 characters: 3.09
        ['char_transformer_loss.png'],
    ),
    'hyperparameter_search.py': (
        r'test accuracy of the best setting.*: (\d\.\d+)$',
        lambda a: a >= 0.9,
        ['hyperparameter_search_random.png'],
    ),
    'gan.py': (
        r'^epoch 3/3  D loss (\S+)',
        lambda d: 0 < d < 5,
        ['gan_epoch03.png', 'gan_losses.png'],
    ),
    'vae.py': (
        r'held-out loss (\S+)',
        lambda loss: 0 < loss < 544,  # 784 ln 2 = 543.4
        ['vae_reconstructions.png', 'vae_latent.png'],
    ),
    'grad_cam.py': (
        r'^heat map 14x14 upsampled to 224x224, values in \[\S+, (\S+)\]',
        lambda top: top == 1.0,
        ['grad_cam.png', 'grad_cam_overlay.png'],
    ),
    'style_transfer.py': (
        r'\((\S+)x lower\)$',
        lambda r: r >= 10,
        ['style_transfer.png', 'style_transfer_loss.png'],
    ),
}
#: Modules the examples share, which are not examples themselves.
HELPERS = {'plotting.py', 'mnist_data.py', 'vgg16_features.py', 'options.py'}


def test_every_example_has_a_smoke_check():
    scripts = {p.name for p in EXAMPLES.glob('*.py')} - HELPERS
    assert scripts == set(SMOKE)


@pytest.fixture(scope='module')
def smoke_runs(tmp_path_factory):
    """{example: (stdout, out folder)} of every example run with --smoke, in parallel."""

    def run(name):
        cwd = tmp_path_factory.mktemp(name[:-3])
        out = run_example(name, '--smoke', '--out', str(cwd / 'out'), cwd=cwd, env=ONE_THREAD)
        return name, (out, cwd / 'out')

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(run, SMOKE))


@pytest.mark.parametrize('name', sorted(SMOKE))
def test_example_smoke_run_prints_its_figure_and_saves_its_pictures(name, smoke_runs):
    out, out_dir = smoke_runs[name]
    pattern, check, pictures = SMOKE[name]
    found = re.search(pattern, out, re.M)
    assert found, f'{name}: no match for {pattern!r} in:\n{out}'
    assert check(float(found[1])), f'{name}: {found[0]!r}'
    assert_pictures(out, [out_dir / p for p in pictures])


@pytest.mark.parametrize('name', sorted(SMOKE))
def test_examples_have_help(name, tmp_path):
    out = run_example(name, '--help', cwd=tmp_path)
    assert out.startswith('usage:')


# ---- every example, with bad options -------------------------------------------------
def refused(name, args, capsys):
    """Run example ``name`` in this process with ``args``; check that argparse refused
    them before any work (exit status 2) and return what it wrote on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        load_example(name).main(args)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


#: The examples with a --seed option (tanh.py draws no random numbers) and with --lr.
SEEDED = sorted(set(SMOKE) - {'tanh.py'})
WITH_LR = sorted(set(SMOKE) - {'tanh.py', 'shopping.py', 'grad_cam.py', 'hyperparameter_search.py'})


#: /proc takes no new folders, even from root (CI runs as root, which may write
#: into any folder: permissions alone cannot be tested there)
NO_NEW_FOLDERS = '/proc'


@pytest.mark.parametrize('name', sorted(SMOKE))
@pytest.mark.parametrize(
    'bad, message',
    [
        ('a file', '{out} exists and is not a folder'),
        ('an empty string', 'expected a folder, got an empty string'),
        ('below a file', 'cannot make {out}: {notes} is not a folder'),
        ('below /proc', 'cannot make {out}: '),
        ('/proc', 'cannot write into {out}: '),
    ],
)
def test_every_example_refuses_an_out_that_cannot_be_a_folder(name, bad, message, tmp_path, capsys):
    if 'proc' in bad and not os.path.isdir(NO_NEW_FOLDERS):
        pytest.skip('no /proc on this system')
    notes = tmp_path / 'notes.txt'
    notes.write_text('not a folder')
    out = {
        'a file': str(notes),
        'an empty string': '',
        'below a file': str(notes / 'out'),
        'below /proc': f'{NO_NEW_FOLDERS}/dezero-out/sub',
        '/proc': NO_NEW_FOLDERS,
    }[bad]
    err = refused(name, ['--smoke', '--out', out], capsys)
    assert 'argument --out: ' + message.format(out=out, notes=notes) in err, err


@pytest.mark.parametrize('name', SEEDED)
@pytest.mark.parametrize('seed', ['-1', str(2**32)])
def test_every_seed_is_one_numpy_takes(name, seed, capsys):
    err = refused(name, ['--smoke', '--seed', seed], capsys)
    assert f'argument --seed: must be from 0 to {2**32 - 1}, got {seed}' in err, err


@pytest.mark.parametrize('name', WITH_LR)
@pytest.mark.parametrize('lr', ['0', '-0.1', 'nan', 'inf'])
def test_every_learning_rate_is_positive_and_finite(name, lr, capsys):
    err = refused(name, ['--smoke', '--lr', lr], capsys)
    assert f'argument --lr: must be a positive number, got {lr}' in err, err


def test_the_shared_option_types_accept_what_they_should(tmp_path):
    options = load_example('options.py')
    new = tmp_path / 'not' / 'yet' / 'there'
    for folder_type in (options.folder_path, options.output_folder):
        assert folder_type(str(new)) == str(new)  # made to find out, then removed
        assert folder_type(str(tmp_path)) == str(tmp_path)
        assert list(tmp_path.iterdir()) == []
    assert options.random_seed('0') == 0 and options.random_seed(str(2**32 - 1)) == 2**32 - 1
    assert options.positive_float('1e-300') == 1e-300
    assert options.non_negative_float('0') == 0.0 and options.finite_float('-1e300') == -1e300
    for check, value in [
        (options.positive_float, 'ten'),
        (options.non_negative_float, '-1e-9'),
        (options.finite_float, '-inf'),
        (options.random_seed, '1.5'),
    ]:
        with pytest.raises(argparse.ArgumentTypeError):
            check(value)


def test_a_folder_that_cannot_be_made_is_refused_and_nothing_is_left(tmp_path):
    """The first two folders are made; the last, whose name is too long for any file
    system, is not: the error says why, and the two made are removed again."""
    options = load_example('options.py')
    out = str(tmp_path / 'a' / 'b' / ('x' * 300))
    with pytest.raises(argparse.ArgumentTypeError, match=f'^cannot make {out}: File name too long'):
        options.output_folder(out)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    """What a user who is not root meets (the errors of the OS, simulated)."""
    options = load_example('options.py')

    def denied(*args, **kwargs):
        raise PermissionError(13, 'Permission denied')

    monkeypatch.setattr(options.os, 'makedirs', denied)
    monkeypatch.setattr(options.tempfile, 'mkdtemp', denied)
    with pytest.raises(argparse.ArgumentTypeError, match=r'cannot make \S+/out: Permission denied'):
        options.folder_path(str(tmp_path / 'out'))
    assert options.folder_path(str(tmp_path)) == str(tmp_path)  # data may be read only
    with pytest.raises(
        argparse.ArgumentTypeError, match=r'^cannot write into \S+: Permission denied'
    ):
        options.output_folder(str(tmp_path))


@pytest.mark.parametrize(
    'name, args, message',
    [
        (
            'mnist.py',
            ['--data-dir', 'FILE'],
            'argument --data-dir: FILE exists and is not a folder',
        ),
        ('cifar10.py', ['--data-dir', 'FILE/x'], 'argument --data-dir: cannot make FILE/x'),
        ('newton.py', ['--x0', 'inf'], 'argument --x0: must be a finite number, got inf'),
        ('newton.py', ['--x0', 'nan'], 'argument --x0: must be a finite number, got nan'),
        ('newton.py', ['--tol', 'nan'], 'argument --tol: must be a positive number, got nan'),
        ('hessian_newton.py', ['--start', '0', 'nan'], 'argument --start: must be a finite'),
        ('hessian_newton.py', ['--tol', 'nan'], 'argument --tol: must be a positive number'),
        ('tanh.py', ['--order', '9'], '--order must be from 0 to 8, got 9'),
        ('shopping.py', ['--apple', 'nan'], 'argument --apple: must be a finite number, got nan'),
        ('shopping.py', ['--tax', 'inf'], 'argument --tax: must be a finite number, got inf'),
    ],
)
def test_bad_values_are_refused_while_parsing(name, args, message, tmp_path, capsys):
    (tmp_path / 'FILE').write_text('not a folder')
    args = [a.replace('FILE', str(tmp_path / 'FILE')) for a in args]
    message = message.replace('FILE', str(tmp_path / 'FILE'))
    assert message in refused(name, args, capsys)


def test_newton_from_where_the_step_overflows_stops_at_once(tmp_path):
    out, err = run_example(
        'newton.py', '--x0', '1e200', '--out', str(tmp_path), cwd=tmp_path, status=1, stderr=True
    )
    assert err == (
        "newton.py: gradient descent cannot start: f'(x) overflows at x = 1e+200; give a "
        'smaller --x0\n'
    ), err  # no learning rate is to blame
    assert "newton   1: f'(x) / f''(x) overflows at x = 1e+200; cannot step" in out
    assert re.search(r'^newton: 0 iterations, .*\(did not converge\)$', out, re.M), out
    assert re.search(r'^gradient descent .*\(did not converge\)$', out, re.M), out
    assert_pictures(out, [tmp_path / 'newton.png'])


#: For every example: a file it saves into --out with --smoke (the last one where it
#: saves several), checked before any work.
OUTPUT_FILES = {
    'newton.py': 'newton.png',
    'hessian_newton.py': 'hessian_newton.png',
    'tanh.py': 'tanh_order3.dot',
    'spiral.py': 'spiral_boundary.png',
    'mnist.py': 'mnist_mlp.npz',
    'mnist_distributed.py': 'mnist_distributed_mlp.npz',
    'mnist_cnn.py': 'mnist_cnn_filters.png',
    'cifar10.py': 'cifar10_mistakes.png',
    'sin_lstm.py': 'sin_lstm.png',
    'shopping.py': 'shopping.png',
    'two_layer_net.py': 'two_layer_net.png',
    'overfitting.py': 'overfitting.png',
    'char_transformer.py': 'char_transformer.npz',
    'hyperparameter_search.py': 'hyperparameter_search_random.png',
    'gan.py': 'gan_epoch03.png',
    'vae.py': 'vae_latent.png',
    'grad_cam.py': 'grad_cam_overlay.png',
    'style_transfer.py': 'style_transfer_loss.png',
}


def test_every_example_has_an_output_file_to_check():
    assert set(OUTPUT_FILES) == set(SMOKE)


@pytest.mark.parametrize('name', sorted(OUTPUT_FILES))
def test_an_output_file_taken_by_a_folder_is_refused_before_the_work(name, tmp_path, capsys):
    taken = tmp_path / OUTPUT_FILES[name]
    taken.mkdir()
    err = refused(name, ['--smoke', '--out', str(tmp_path)], capsys)
    assert f'error: --out: cannot write {taken}: it is a folder' in err, err
    assert [p.name for p in tmp_path.iterdir()] == [taken.name]  # nothing was written


def test_the_shared_output_check_names_the_file(tmp_path, capsys):
    options = load_example('options.py')
    parser = argparse.ArgumentParser(prog='example.py')
    (tmp_path / 'b.png').mkdir()
    options.check_output_files(parser, [tmp_path / 'a.png'])  # a new file: fine
    with pytest.raises(SystemExit) as exit_info:
        options.check_output_files(parser, [tmp_path / 'a.png', tmp_path / 'b.png'])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.endswith(
        f'example.py: error: --out: cannot write {tmp_path / "b.png"}: it is a folder; '
        'give the path of a file (nothing was written)\n'
    )
    assert list(tmp_path.iterdir()) == [tmp_path / 'b.png']


def test_the_shared_output_check_refuses_an_output_that_is_an_input(tmp_path, capsys):
    # char_transformer.py --text out/char_transformer_sample.txt --out out replaced the
    # text it trained on by its sample
    options = load_example('options.py')
    parser = argparse.ArgumentParser(prog='example.py')
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    text = out_dir / 'sample.txt'
    text.write_text('the text to train on')
    link = tmp_path / 'link.txt'
    link.symlink_to(text)
    roundabout = str(out_dir / '..' / 'out' / 'sample.txt')
    for given in (str(text), str(link), roundabout):
        with pytest.raises(SystemExit) as exit_info:
            options.check_output_files(
                parser, [out_dir / 'a.png', text], {'--style': None, '--text': given}
            )
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.endswith(
            f'example.py: error: --out: cannot write {text}: it is the file of --text '
            f'{given}, which this run reads; give another --out (nothing was written)\n'
        )
    assert text.read_text() == 'the text to train on'
    new = out_dir / 'new.png'  # not there yet: compared by its path
    options.check_output_files(parser, [new], {'--text': str(text)})
    with pytest.raises(SystemExit):
        options.check_output_files(parser, [new], {'--image': str(tmp_path / '.' / 'out/new.png')})
    assert sorted(os.listdir(out_dir)) == ['sample.txt']


def test_char_transformer_refuses_to_write_its_sample_over_its_text(tmp_path, capsys):
    sample = tmp_path / 'char_transformer_sample.txt'
    sample.write_text('the cat sees a red ball.\n' * 40)
    tiny = ['--iters', '1', '--block', '8', '--embed', '8', '--heads', '1', '--layers', '1']
    args = ['--text', str(sample), *tiny, '--batch', '2', '--out', str(tmp_path)]
    err = refused('char_transformer.py', args, capsys)
    assert f'--out: cannot write {sample}: it is the file of --text {sample}' in err, err
    assert sample.read_text() == 'the cat sees a red ball.\n' * 40
    assert sorted(os.listdir(tmp_path)) == ['char_transformer_sample.txt']


# ---- sizes that do not fit into memory ------------------------------------------------
def test_model_sizes_are_whole_numbers_up_to_a_limit():
    options = load_example('options.py')
    assert options.model_size('1') == 1 and options.model_size('100000000') == 10**8
    for value, message in [
        ('0', 'must be a whole number from 1 to 100000000, got 0'),
        ('100000001', 'must be a whole number from 1 to 100000000, got 100000001'),
        ('1.5', "expected a whole number, got '1.5'"),
    ]:
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
            options.model_size(value)


def test_out_of_memory_ends_the_script_with_one_line_naming_the_sizes(monkeypatch):
    options = load_example('options.py')
    monkeypatch.setattr(sys, 'argv', ['example.py'])
    args = argparse.Namespace(hidden=[100, 50], batch_size=30)
    with pytest.raises(SystemExit) as exit_info:
        with options.out_of_memory_exits(args, 'hidden', 'batch_size'):
            raise MemoryError('Unable to allocate 9 GiB')
    assert exit_info.value.code == (
        'example.py: not enough memory for --hidden 100 50, --batch-size 30: '
        'Unable to allocate 9 GiB; give smaller sizes'
    )
    with pytest.raises(ValueError, match='not about memory'):  # other errors pass through
        with options.out_of_memory_exits(args, 'hidden'):
            raise ValueError('not about memory')


def test_available_memory_reads_meminfo_else_the_physical_memory(tmp_path, monkeypatch):
    options = load_example('options.py')
    meminfo = tmp_path / 'meminfo'
    meminfo.write_text('MemTotal:  8000000 kB\nMemFree:  1000 kB\nMemAvailable:  2048 kB\n')
    assert options.available_memory(str(meminfo)) == 2048 * 1024
    physical = options.available_memory(str(tmp_path / 'missing'))
    assert physical is None or physical > 2048 * 1024

    def no_sysconf(name):
        raise ValueError(f'unrecognized configuration name {name}')

    monkeypatch.setattr(os, 'sysconf', no_sysconf)
    assert options.available_memory(str(tmp_path / 'missing')) is None


def test_the_memory_estimates_count_weights_state_and_activations():
    options = load_example('options.py')
    assert options.training_memory(10, 7, optimizer_state=2, itemsize=4) == 4 * (10 * 4 + 7)
    # 2 -> 10 -> 3: 63 weights and biases; 3 numbers per unit (15) and example (5)
    assert options.mlp_memory((2, 10, 3), 5, optimizer_state=0) == 4 * (63 * 2 + 3 * 5 * 15)
    # every output three times (the columns are made a block of images at a time)
    assert options.conv_numbers([(1, 4, 100), (4, 8, 40)]) == 3 * 4 * 100 + 3 * 8 * 40


def test_the_cnn_estimates_stay_near_what_a_run_holds():
    # counting each layer's input unfolded for the whole batch, cifar10.py at batch 1000
    # was estimated at 3.3 GiB and refused on a 4 GiB machine; it holds about 0.8 GiB
    cifar10 = load_example('cifar10.py')
    assert cifar10.memory_needed((32, 64), 256, 1000) < 1.25 * 2**30


def test_a_run_estimated_beyond_the_memory_ends_with_one_line(monkeypatch):
    options = load_example('options.py')
    monkeypatch.setattr(sys, 'argv', ['example.py'])
    monkeypatch.setattr(options, 'available_memory', lambda: 3 * 2**30)
    args = argparse.Namespace(hidden=[100, 50], batch_size=30)
    options.exit_unless_memory_fits(args, 3 * 2**30, 'hidden')  # fits, just
    with pytest.raises(SystemExit) as exit_info:
        options.exit_unless_memory_fits(args, 5 * 2**40, 'hidden', 'batch_size')
    assert exit_info.value.code == (
        'example.py: not enough memory for --hidden 100 50, --batch-size 30: the run needs '
        'about 5.0 TiB, and 3.0 GiB is available; give smaller sizes'
    )
    monkeypatch.setattr(options, 'available_memory', lambda: None)
    options.exit_unless_memory_fits(args, 5 * 2**40, 'hidden')  # unknown: not checked


def test_spiral_with_a_layer_beyond_any_memory_is_refused_before_it_trains(tmp_path, monkeypatch):
    # --hidden 100000000 ran for 88 s until the kernel killed it: status 137, no word
    spiral = load_example('spiral.py')
    import options

    if options.available_memory() is None:
        pytest.skip('the available memory cannot be read here')

    def train(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(spiral, 'train', train)
    monkeypatch.setattr(sys, 'argv', ['spiral.py'])
    with pytest.raises(SystemExit) as exit_info:
        spiral.main(['--hidden', '100000000', '--out', str(tmp_path / 'out')])
    assert re.fullmatch(
        r'spiral\.py: not enough memory for --hidden 100000000: the run needs about '
        r'\d+\.\d TiB, and \d+\.\d [KMGT]iB is available; give smaller sizes',
        exit_info.value.code,
    ), exit_info.value.code
    assert not (tmp_path / 'out').exists()


#: For every example whose sizes can outgrow the memory: the sizes its estimate of
#: the memory it needs names, with their --smoke values.
MEMORY_CHECKED = {
    'spiral.py': '--hidden 10',
    'mnist.py': '--hidden 100',
    'mnist_distributed.py': '--hidden 100',
    'two_layer_net.py': '--hidden 50',
    'hyperparameter_search.py': '--hidden 100',
    'sin_lstm.py': '--hidden 20',
    'mnist_cnn.py': '--batch-size 100',
    'cifar10.py': '--batch-size 20',
    'gan.py': '--latent 64, --hidden 256',
    'vae.py': '--latent 2, --hidden 256',
    'char_transformer.py': '--embed 32, --layers 2, --block 32, --batch 16',
    'style_transfer.py': '--size 48',
}


@pytest.mark.parametrize('name', sorted(MEMORY_CHECKED))
def test_a_run_larger_than_the_memory_is_refused_before_the_work(
    name, tmp_path, monkeypatch, capsys
):
    example = load_example(name)
    import options

    monkeypatch.setattr(options, 'available_memory', lambda: 2**20)  # 1 MiB
    monkeypatch.setattr(sys, 'argv', [name])
    with pytest.raises(SystemExit) as exit_info:
        example.main(['--smoke', '--out', str(tmp_path / 'out')])
    message = exit_info.value.code
    assert re.fullmatch(
        rf'{re.escape(name)}: not enough memory for {MEMORY_CHECKED[name]}: the run needs '
        r'about \d+\.\d [KMGT]iB, and 1\.0 MiB is available; give smaller sizes',
        message,
    ), message
    assert 'trained' not in capsys.readouterr().out
    assert not (tmp_path / 'out').exists()


#: Sizes too large for a process that may use 1 GiB of memory, and the option the
#: message names first.
TOO_LARGE = [
    ('spiral.py', ['--hidden', '100000000'], '--hidden 100000000'),
    ('mnist.py', ['--hidden', '100000000'], '--hidden 100000000'),
    ('mnist_distributed.py', ['--hidden', '100000000'], '--hidden 100000000'),
    ('two_layer_net.py', ['--hidden', '100000000'], '--hidden 100000000'),
    ('hyperparameter_search.py', ['--hidden', '100000000'], '--hidden 100000000'),
    ('sin_lstm.py', ['--hidden', '100000000'], '--hidden 100000000'),
    ('gan.py', ['--latent', '100000000'], '--latent 100000000'),
    ('gan.py', ['--hidden', '100000000'], '--latent 64, --hidden 100000000'),
    ('vae.py', ['--hidden', '100000000'], '--latent 2, --hidden 100000000'),
    ('char_transformer.py', ['--embed', '100000000', '--heads', '1'], '--embed 100000000'),
    ('style_transfer.py', ['--size', '100000'], '--size 100000'),
]


def one_gibibyte_of_memory():
    """Run in the child before the example starts: 1 GiB of address space at most."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.skipif(not has_module('resource'), reason='needs resource.setrlimit (POSIX)')
@pytest.mark.parametrize('name, args, sizes', TOO_LARGE)
def test_a_size_too_large_for_memory_ends_with_one_line(name, args, sizes, tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), '--smoke', *args, '--out', str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=ONE_THREAD,
        preexec_fn=one_gibibyte_of_memory,
    )
    assert result.returncode == 1, result.stderr
    assert 'Traceback' not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f'{name}: not enough memory for {sizes}'), last
    assert last.endswith('; give smaller sizes'), last  # estimated, or MemoryError's


@pytest.mark.parametrize(
    'name, args',
    [
        ('spiral.py', ['--hidden', '100000000000']),
        ('mnist.py', ['--hidden', '100', '100000000000']),
        ('gan.py', ['--latent', '100000000000']),
        ('vae.py', ['--hidden', '0']),
        ('char_transformer.py', ['--embed', '100000000000']),
        ('style_transfer.py', ['--size', '100000000000']),
        ('mnist_distributed.py', ['--hidden', '-1']),
        ('char_transformer.py', ['--batch', '10000000000000000000']),
        ('char_transformer.py', ['--block', '0']),
    ],
)
def test_sizes_beyond_any_memory_are_refused_while_parsing(name, args, capsys):
    err = refused(name, ['--smoke', *args], capsys)
    option, value = args[0], args[-1]
    assert f'argument {option}: must be a whole number from 1 to 100000000, got {value}' in err


# ---- --smoke keeps the values given ---------------------------------------------------
@pytest.mark.parametrize(
    'name, args, message',
    [
        ('spiral.py', ['--epochs', '-5'], '--epochs must be 1 or more, got -5'),
        ('spiral.py', ['--epochs', '0'], '--epochs must be 1 or more, got 0'),
        ('sin_lstm.py', ['--epochs', '-5'], '--epochs must be 1 or more, got -5'),
        ('sin_lstm.py', ['--bptt', '0'], '--bptt must be 1 or more, got 0'),
        (
            'mnist.py',
            ['--batch-size', '-1'],
            'error: --batch-size must be 1 or more, got -1',
        ),
        ('sin_lstm.py', ['--hidden', '0'], 'argument --hidden: must be a whole number from 1'),
        ('sin_lstm.py', ['--lr', '-1'], 'argument --lr: must be a positive number, got -1'),
        ('tanh.py', ['--order', '9'], '--order must be from 0 to 8, got 9'),
        ('tanh.py', ['--order', '-1'], '--order must be from 0 to 8, got -1'),
        ('hessian_newton.py', ['--gd-max-iter', '0'], '--gd-max-iter must be 1 or more, got 0'),
    ],
)
def test_smoke_runs_refuse_bad_values_they_used_to_replace(name, args, message, tmp_path, capsys):
    err = refused(name, ['--smoke', *args, '--out', str(tmp_path)], capsys)
    assert message in err, err


class Stop(Exception):
    """Raised in place of an example's work, once its arguments are recorded."""


def arguments_of_the_work(name, function, args, monkeypatch):
    """Run example ``name`` with ``args`` up to its call of ``function`` (which does
    not run); return that call's positional and keyword arguments."""
    example = load_example(name)
    calls = []

    def record(*args, **kwargs):
        calls.append((args, kwargs))
        raise Stop

    monkeypatch.setattr(example, function, record)
    with pytest.raises(Stop):
        example.main(args)
    return calls[0]


def test_spiral_smoke_run_keeps_the_epochs_given(tmp_path, monkeypatch):
    out = ['--out', str(tmp_path)]
    args, _ = arguments_of_the_work('spiral.py', 'train', ['--smoke', *out], monkeypatch)
    assert args == (30, 30, 10, 1.0, 0)  # epochs, batch size, hidden, lr, seed
    args, _ = arguments_of_the_work('spiral.py', 'train', [*out], monkeypatch)
    assert args[0] == 300
    given = ['--smoke', '--epochs', '2', '--hidden', '4', *out]
    args, _ = arguments_of_the_work('spiral.py', 'train', given, monkeypatch)
    assert args == (2, 30, 4, 1.0, 0)


def test_sin_lstm_smoke_run_keeps_the_values_given(tmp_path, monkeypatch):
    out = ['--out', str(tmp_path)]
    args, kwargs = arguments_of_the_work('sin_lstm.py', 'train', ['--smoke', *out], monkeypatch)
    assert args == (10, 20) and kwargs['lr'] == 0.01  # epochs, hidden
    args, kwargs = arguments_of_the_work('sin_lstm.py', 'train', out, monkeypatch)
    assert args == (100, 100) and kwargs['lr'] == 0.001
    given = ['--smoke', '--epochs', '3', '--hidden', '5', '--lr', '0.5', *out]
    args, kwargs = arguments_of_the_work('sin_lstm.py', 'train', given, monkeypatch)
    assert args == (3, 5) and kwargs['lr'] == 0.5


def test_hessian_newton_smoke_run_keeps_the_iterations_given(tmp_path, monkeypatch):
    out = ['--out', str(tmp_path)]
    for args, expected in [
        (['--smoke'], 2000),
        ([], 50000),
        (['--smoke', '--gd-max-iter', '7'], 7),
    ]:
        given, _ = arguments_of_the_work(
            'hessian_newton.py', 'gradient_descent', [*args, *out], monkeypatch
        )
        assert given[3] == expected  # start, lr, tol, max_iter


def test_tanh_smoke_run_keeps_the_order_given(tmp_path, capsys):
    tanh = load_example('tanh.py')
    assert tanh.main(['--smoke', '--order', '1', '--out', str(tmp_path)]) == 0
    assert 'order-1 derivative of tanh' in capsys.readouterr().out
    assert (tmp_path / 'tanh_order1.dot').exists()


# ---- examples/mnist_distributed.py ----------------------------------------------------
@pytest.mark.parametrize(
    'batch_size, processes, share',
    [(100, 2, '50'), (7, 1, '7'), (3, 2, '1 or 2'), (1, 2, '0 or 1'), (10, 4, '2 or 3')],
)
def test_distributed_share_of_a_batch(batch_size, processes, share):
    example = load_example('mnist_distributed.py')
    assert example.share_of_batch(batch_size, processes) == share


def mpiexec_beside_python():
    """The mpiexec installed beside this interpreter (mpi4py's), else one on the PATH."""
    if not has_module('mpi4py'):
        return None
    beside = os.path.join(os.path.dirname(sys.executable), 'mpiexec')
    return beside if os.path.exists(beside) else shutil.which('mpiexec')


@pytest.mark.skipif(mpiexec_beside_python() is None, reason='needs mpi4py and its mpiexec')
def test_distributed_run_prints_the_real_shares_of_a_batch(tmp_path):
    result = subprocess.run(
        [
            mpiexec_beside_python(),
            '-n',
            '2',
            sys.executable,
            str(EXAMPLES / 'mnist_distributed.py'),
            '--smoke',
            '--epochs',
            '1',
            '--batch-size',
            '3',
            '--out',
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=ONE_THREAD,
    )
    assert result.returncode == 0, result.stderr
    assert '2 process(es): training on 500 images, 1 or 2 per process per batch of 3' in (
        result.stdout
    )


def test_distributed_run_says_when_the_batch_is_capped_at_the_data(tmp_path):
    # "50000 per process per batch of 100000" when there were 500 images
    args = ['--smoke', '--epochs', '1', '--batch-size', '100000', '--out', str(tmp_path)]
    out = run_example('mnist_distributed.py', *args, cwd=tmp_path, env=ONE_THREAD)
    assert (
        '1 process(es): training on 500 images, 500 per process per batch of 500 '
        '(--batch-size 100000 capped at the 500 images)'
    ) in out, out


@pytest.mark.skipif(mpiexec_beside_python() is None, reason='needs mpi4py and its mpiexec')
def test_distributed_run_ends_when_one_process_cannot_load_its_data(tmp_path):
    # the process that could not read its data exited (SystemExit) and the other one
    # waited for it in broadcast_parameters forever
    mnist_files.write_split(tmp_path / 'bad', *mnist_files.block_digits(20), train=False)
    damage(tmp_path / 'bad' / mnist_files.TEST_FILES[0], 'garbage')
    script = str(EXAMPLES / 'mnist_distributed.py')
    good = ['--smoke', '--epochs', '1', '--out', str(tmp_path / 'o1')]
    bad = ['--data-dir', str(tmp_path / 'bad'), '--holdout', '10', '--out', str(tmp_path / 'o2')]
    command = [mpiexec_beside_python(), '-n', '1', sys.executable, script, *good]
    command += [':', '-n', '1', sys.executable, script, *bad]
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=60, env=ONE_THREAD
    )
    assert time.perf_counter() - start < 30
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'mnist_distributed.py: MNIST: ' in result.stderr
    assert 'is not a complete gzip file' in result.stderr
    assert not (tmp_path / 'o1' / 'mnist_distributed_mlp.npz').exists()


# ---- README and CI ---------------------------------------------------------------------
def quick_start_commands():
    """The command lines in the fenced code blocks of the README's Quick start."""
    section = re.search(
        r'^## Quick start[ \t]*\n(.*?)(?=^## |\Z)', (ROOT / 'README.md').read_text(), re.M | re.S
    )
    assert section, 'README.md has no "## Quick start" section'
    commands = []
    for block in re.findall(r'^```[^\n]*\n(.*?)^```', section[1], re.M | re.S):
        commands += [
            line
            for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith('#')
        ]
    return commands


def test_quick_start_has_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    main, tests = commands
    assert "'.[examples]'" in main and 'examples/spiral.py' in main
    assert "'.[test]'" in tests and 'pytest' in tests
    for command in commands:  # each sets up its own environment from scratch
        assert command.startswith('python3 -m venv ')


@pytest.mark.skipif(shutil.which('bash') is None, reason='needs bash')
def test_ci_runs_the_readme_test_command():
    ci = ROOT / '.ci' / 'run'
    assert os.access(ci, os.X_OK), '.ci/run must be executable'
    result = subprocess.run(
        ['bash', str(ci), '--print-command'], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == quick_start_commands()[1]


# ---- examples/char_transformer.py -----------------------------------------------------
def test_char_transformer_trains_on_a_given_text_file(tmp_path):
    example = load_example('char_transformer.py')
    text_file = tmp_path / 'text.txt'
    text_file.write_text(example.generated_sentences(3000, seed=5), encoding='utf-8')
    out = run_example(
        'char_transformer.py',
        '--text',
        str(text_file),
        '--iters',
        '4',
        '--every',
        '2',
        '--embed',
        '16',
        '--layers',
        '1',
        '--block',
        '16',
        '--out',
        str(tmp_path / 'out'),
        cwd=tmp_path,
    )
    assert f'{text_file}: 3,000 characters' in out
    assert re.search(r'^iter +4/4  loss \S+  held-out \S+  lr \S+', out, re.M), out
    assert '  | ' in out  # samples are printed as it learns
    sample = (tmp_path / 'out' / 'char_transformer_sample.txt').read_text(encoding='utf-8')
    assert len(sample) == 1000 and set(sample) <= set(text_file.read_text(encoding='utf-8'))
    assert (tmp_path / 'out' / 'char_transformer.npz').is_file()


def test_char_transformer_without_a_text_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'home'))  # no Tiny Shakespeare there
    example = load_example('char_transformer.py')
    with pytest.raises(SystemExit) as exit_info:
        example.main(['--out', str(tmp_path / 'out')])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert 'shakespear.txt does not exist' in err and '--text FILE' in err and '--smoke' in err


def test_char_transformer_says_when_the_text_is_a_folder(tmp_path, capsys):
    example = load_example('char_transformer.py')
    with pytest.raises(SystemExit) as exit_info:
        example.main(['--text', str(tmp_path), '--out', str(tmp_path / 'out')])
    assert exit_info.value.code == 1
    assert f'no text to train on: {tmp_path} is a folder' in capsys.readouterr().err


def test_char_transformer_sees_only_the_past():
    """Changing a later character leaves the scores of every earlier position as they
    were: the attention is causal."""
    example = load_example('char_transformer.py')
    np.random.seed(0)
    model = example.CharTransformer(vocab=7, block=8, embed=16, heads=2, layers=2)
    ids = np.random.default_rng(0).integers(0, 7, (2, 8))
    changed = ids.copy()
    changed[:, 5] = (changed[:, 5] + 1) % 7
    before = model(ids).data.reshape(2, 8, 7)
    after = model(changed).data.reshape(2, 8, 7)
    np.testing.assert_array_equal(before[:, :5], after[:, :5])
    assert not np.allclose(before[:, 5:], after[:, 5:])
    assert before.dtype == np.float32


def test_numbered_files_reads_a_folder_once_for_every_number(tmp_path):
    # checking a path per epoch of --epochs 3000000 took longer than the check is
    # worth, and checking the first 50 epochs only let a folder named for epoch 52 end
    # a run with a traceback after 51 epochs
    options = load_example('options.py')
    names = ['gan_epoch01.png', 'gan_epoch120.png', 'gan_epoch7.png', 'gan_epoch00.png']
    names += ['gan_epoch01.png.bak', 'xgan_epoch02.png', 'vae_epoch03.png']
    for name in names:
        (tmp_path / name).write_bytes(b'')
    (tmp_path / 'gan_epoch3000000.png').mkdir()
    assert options.numbered_files(tmp_path, 'gan_epoch{:02d}.png') == {
        number: os.path.join(tmp_path, f'gan_epoch{number:02d}.png')
        for number in (1, 120, 3_000_000)
    }
    assert options.numbered_files(tmp_path / 'missing', 'gan_epoch{:02d}.png') == {}


@pytest.mark.parametrize('name', ['gan.py', 'vae.py'])
def test_every_epochs_picture_is_checked_before_the_work(name, tmp_path, capsys):
    taken = tmp_path / f'{name[:-3]}_epoch52.png'
    taken.mkdir()
    err = refused(name, ['--smoke', '--epochs', '53', '--out', str(tmp_path)], capsys)
    assert f'error: --out: cannot write {taken}: it is a folder' in err, err
    assert os.listdir(tmp_path) == [taken.name]


# ---- runs that diverge ---------------------------------------------------------------
@pytest.mark.parametrize(
    'args, blamed',
    [
        (['--lr', '0.5'], 'the learning rate --lr 0.5 is likely too large (default: 0.01)'),
        (['--x0', '1e11'], 'the start --x0 1e+11 is likely too far out (default: 2)'),
    ],
)
def test_newton_draws_its_picture_when_gradient_descent_diverges(args, blamed, tmp_path):
    # the path of gradient descent held 7.8e278 and then -inf, and matplotlib's log
    # scale overflowed in tight_layout: a traceback and no picture
    out, err = run_example(
        'newton.py', *args, '--out', str(tmp_path), cwd=tmp_path, status=1, stderr=True
    )
    assert re.search(r'^gradient descent .*\(did not converge\)$', out, re.M), out
    assert re.fullmatch(
        r'newton.py: gradient descent diverged at iteration \d+ \(x -?inf\); '
        + re.escape(blamed)
        + '\n',
        err,
    ), err
    assert_pictures(out, [tmp_path / 'newton.png'])


@pytest.mark.parametrize(
    'name, args, blamed',
    [
        # from far out, gradient descent diverges at the default --lr, which was blamed
        ('newton.py', ['--x0', '10'], 'the start --x0 10 is likely too far out (default: 2)'),
        (
            'newton.py',
            ['--x0', '-10', '--lr', '0.02'],
            'the start --x0 -10 (default: 2) is likely too far out, or the learning rate '
            '--lr 0.02 (default: 0.01) too large',
        ),
        (
            'hessian_newton.py',
            ['--smoke', '--start', '10', '10'],
            'the start --start 10 10 is likely too far out (default: -1.2 1)',
        ),
        (
            'hessian_newton.py',
            ['--smoke', '--start', '10', '10', '--lr', '0.002'],
            'the start --start 10 10 (default: -1.2 1) is likely too far out, or the learning '
            'rate --lr 0.002 (default: 0.001) too large',
        ),
    ],
)
def test_gradient_descent_from_a_start_far_out_blames_the_start(name, args, blamed, tmp_path):
    out, err = run_example(name, *args, '--out', str(tmp_path), cwd=tmp_path, status=1, stderr=True)
    assert re.fullmatch(
        rf'{re.escape(name)}: gradient descent diverged at iteration \d+ \(. -?inf\); '
        + re.escape(blamed)
        + '\n',
        err,
    ), err


@pytest.mark.parametrize(
    'name, start',
    [
        ('newton.py', ['--x0', '0.5']),
        ('newton.py', ['--x0', '2.0']),  # the default's value, given
        ('hessian_newton.py', ['--start', '0', '0']),
    ],
)
def test_a_start_given_with_random_start_is_refused(name, start, tmp_path, capsys):
    # --random-start drew its start and left the one given unused, without a word
    option = start[0]
    for args in ([*start, '--random-start'], ['--random-start', *start]):
        last = refused(name, [*args, '--out', str(tmp_path / 'out')], capsys).splitlines()[-1]
        assert ': not allowed with argument ' in last, last
        assert f'argument {option}' in last and 'argument --random-start' in last, last
    assert not (tmp_path / 'out').exists()


@pytest.mark.skipif(not has_module('matplotlib'), reason='needs matplotlib')
def test_hessian_newton_picture_keeps_far_off_iterates_out_of_view(tmp_path, monkeypatch):
    # the iterates of a diverging gradient descent (1e25, then NaN) set the axis
    # limits: the picture showed neither the contours nor the Newton path
    example = load_example('hessian_newton.py')
    figures = []
    monkeypatch.setattr(example, 'save_figure', lambda fig, path, dpi: figures.append(fig))
    newton_path = np.array([[-1.2, 1.0], [-1.18, 1.38], [0.76, -3.18], [1.0, 1.0]])
    gd_path = np.array([[-1.2, 1.0], [1.0, 1.9], [4.6, 0.0], [-3e12, 1e25], [np.nan, np.inf]])
    assert example.save_picture(newton_path, gd_path, str(tmp_path / 'hessian_newton.png'))
    ax = figures[0].axes[0]
    assert ax.get_xlim() == pytest.approx((-2.2, 4.8))
    assert ax.get_ylim() == pytest.approx((-3.38, 3.2))
    labels = ax.get_legend_handles_labels()[1]
    assert labels[:2] == ['gradient descent (4 steps, diverged)', 'Newton (3 steps)']


def test_hessian_newton_from_where_the_derivatives_overflow_stops_at_once(tmp_path):
    # Newton's method stepped on NaN for all its 50 iterations, printing each
    args = ['--smoke', '--start', '1e300', '1e300', '--out', str(tmp_path)]
    out, err = run_example('hessian_newton.py', *args, cwd=tmp_path, status=1, stderr=True)
    assert '  the Newton step at [1.e+300 1.e+300] overflows: cannot take it' in out, out
    assert 'nan' not in out and 'Warning' not in err, out + err
    assert re.search(r'^newton: 0 iterations, .*\(did not converge\)$', out, re.M), out
    assert err == (
        'hessian_newton.py: gradient descent cannot start: the gradient overflows at '
        '--start 1e+300 1e+300; give a start nearer (1, 1)\n'
    ), err  # no learning rate is to blame
    assert_pictures(out, [tmp_path / 'hessian_newton.png'])


def test_char_transformer_that_diverges_says_so_and_saves_its_loss_curve(tmp_path):
    # the loss became NaN, and sampling failed: "Probabilities contain NaN"
    out_dir = tmp_path / 'out'
    args = ['--smoke', '--lr', '100', '--iters', '50', '--out', str(out_dir)]
    out, err = run_example('char_transformer.py', *args, cwd=tmp_path, status=1, stderr=True)
    lines = [line for line in (out + err).splitlines() if 'diverged' in line]
    assert len(lines) == 1, out + err
    assert re.match(r'char_transformer\.py: training diverged at iteration \d+ \(', lines[0])
    assert '--lr 100 is likely too large (default: 0.003); no sample written' in lines[0]
    assert_pictures(out, [out_dir / 'char_transformer_loss.png'])
    assert not (out_dir / 'char_transformer_sample.txt').exists()
    assert not (out_dir / 'char_transformer.npz').exists()  # no weights of NaN


def test_training_diverged_names_the_first_figure_that_is_not_a_number(capsys):
    options = load_example('options.py')
    finite = {'loss': [2.0, 1.0], 'val_loss': [2.5, 1.5]}
    assert not options.training_diverged(finite, 0.1, 0.01)
    assert capsys.readouterr() == ('', '')
    history = {'loss': [2.0, 1e30, np.nan], 'val_loss': [2.5, np.inf, np.nan]}
    assert options.training_diverged(history, 1e30, 0.01, skipped='no boundary drawn')
    out, err = capsys.readouterr()
    assert out == '' and err.count('\n') == 1, err
    assert err.endswith(
        ': training diverged at epoch 2 (val_loss inf); the learning rate --lr 1e+30 is '
        'likely too large (default: 0.01); no boundary drawn\n'
    ), err
    steps = dict(unit='iteration', steps=[25, 40])
    assert options.training_diverged({'loss': [3.0, np.nan]}, 100, 3e-3, **steps)
    assert ' at iteration 40 (loss nan); the learning rate --lr 100 is likely too large ' in (
        capsys.readouterr().err
    )


def test_likely_cause_names_the_option_given_and_the_learning_rate_when_raised(capsys):
    # a divergence caused by another option blamed --lr at its default
    options = load_example('options.py')
    parser = argparse.ArgumentParser()
    parser.add_argument('--lr', type=float, default=0.01)
    parser.add_argument('--start', type=float, nargs=2, default=(-1.2, 1.0))
    args = parser.parse_args(['--start', '10', '-3.5'])
    assert options.likely_cause(parser, args, 'start', 'the start', 'too far out') == (
        'the start --start 10 -3.5 is likely too far out (default: -1.2 1)'
    )
    args.lr = 0.001  # lowered: not to blame
    assert options.likely_cause(parser, args, 'start', 'the start', 'too far out') == (
        'the start --start 10 -3.5 is likely too far out (default: -1.2 1)'
    )
    args.lr = 0.5  # raised: named too, both with their defaults
    args.decay = 1000.0
    assert options.likely_cause(parser, args, 'decay', 'the decay', default=0.1) == (
        'the decay --decay 1000 (default: 0.1) is likely too large, or the learning rate '
        '--lr 0.5 (default: 0.01) too large'
    )
    cause = options.likely_cause(parser, args, 'decay', 'the decay', default=0.1)
    assert options.training_diverged({'loss': [1.0, np.nan]}, 0.5, 0.01, cause=cause)
    assert capsys.readouterr().err.endswith(f': training diverged at epoch 2 (loss nan); {cause}\n')


@pytest.mark.parametrize('compare', [[], ['--compare']])
def test_overfitting_that_a_weight_decay_makes_diverge_blames_it(compare, tmp_path):
    # it blamed the learning rate at its default: "--lr 0.01 is likely too large
    # (default: 0.01)"
    args = ['--smoke', '--weight-decay', '1000', '--epochs', '1', *compare]
    out, err = run_example(
        'overfitting.py', *args, '--out', str(tmp_path), cwd=tmp_path, status=1, stderr=True
    )
    lines = [line for line in (out + err).splitlines() if 'diverged' in line]
    assert len(lines) == 1, out + err
    assert re.fullmatch(
        r'overfitting\.py: training diverged at epoch 1 \(weight decay 1000: (test )?loss '
        r'(nan|-?inf)\); the weight decay --weight-decay 1000 is likely too large '
        r'\(default: 0\.1\)',
        lines[0],
    ), lines[0]


#: For the examples whose training diverges: the options that make it diverge in a
#: --smoke run, the learning rate's default there, the files a run that goes well saves
#: and that one that diverges saves too (its curves), and those it leaves out (pictures
#: and weights of a model whose weights are no longer numbers).
DIVERGING = {
    'spiral.py': (
        ['--lr', '1e38', '--epochs', '2'],
        '1',
        ['spiral_loss.png'],
        ['spiral_boundary.png'],
    ),
    'two_layer_net.py': (['--lr', '1e38', '--epochs', '1'], '0.1', ['two_layer_net.png'], []),
    'overfitting.py': (['--lr', '1e30', '--epochs', '2'], '0.01', ['overfitting.png'], []),
    'mnist.py': (
        ['--lr', '1e30', '--epochs', '1'],
        '0.001',
        ['mnist_accuracy.png'],
        ['mnist_mlp.npz'],
    ),
    'mnist_distributed.py': (
        ['--lr', '1e38', '--epochs', '1'],
        '0.001',
        [],
        ['mnist_distributed_mlp.npz'],
    ),
    'mnist_cnn.py': (
        ['--lr', '1e30', '--epochs', '1'],
        '0.001',
        ['mnist_cnn_accuracy.png'],
        ['mnist_cnn_filters.png'],
    ),
    'cifar10.py': (
        ['--lr', '1e30', '--epochs', '1', '--no-bar'],
        '0.01',
        ['cifar10_curves.png'],
        ['cifar10_mistakes.png'],
    ),
    'sin_lstm.py': (['--lr', '1e30', '--epochs', '2', '--no-bar'], '0.01', [], ['sin_lstm.png']),
    'gan.py': (
        ['--lr', '1e30', '--epochs', '2'],
        '0.0002',
        ['gan_losses.png'],
        ['gan_epoch01.png', 'gan_epoch02.png'],
    ),
    'vae.py': (
        ['--lr', '1e30', '--epochs', '2'],
        '0.001',
        [],
        ['vae_epoch02.png', 'vae_reconstructions.png', 'vae_latent.png'],
    ),
    'hessian_newton.py': (['--lr', '0.01'], '0.001', ['hessian_newton.png'], []),
}


def test_every_example_with_a_learning_rate_is_run_until_it_diverges():
    # char_transformer.py has a test of its own; gradient descent diverging is part of
    # what newton.py compares (it says "did not converge"); the steps of
    # style_transfer.py are clipped to the pixels' range whatever --lr is
    others = {'char_transformer.py', 'newton.py', 'style_transfer.py'}
    assert set(WITH_LR) == set(DIVERGING) | others


@pytest.mark.parametrize('name', sorted(DIVERGING))
def test_a_run_that_diverges_says_where_saves_its_curves_and_exits_with_1(name, tmp_path):
    # the losses and the weights went NaN, the script went on to print and draw them
    # (a decision boundary of NaN, samples of NaN, "mean squared error nan", gradient
    # descent stepping on NaN to "x = (nan, nan)") and exited with status 0, as if all
    # went well
    args, default, saved, left_out = DIVERGING[name]
    out_dir = tmp_path / 'out'
    out, err = run_example(
        name, '--smoke', *args, '--out', str(out_dir), cwd=tmp_path, status=1, stderr=True
    )
    lines = [line for line in (out + err).splitlines() if 'diverged' in line]
    assert len(lines) == 1, out + err
    lr = args[args.index('--lr') + 1].replace('e', 'e+')
    assert re.match(
        rf'{re.escape(name)}: (training|gradient descent) diverged at (epoch|iteration) \d+ '
        rf'\(.+ (nan|-?inf)\); '
        rf'the learning rate --lr {re.escape(lr)} is likely too large '
        rf'\(default: {re.escape(default)}\)',
        lines[0],
    ), lines[0]
    assert_pictures(out, [out_dir / file for file in saved])
    for file in left_out:
        assert not (out_dir / file).exists(), file


@pytest.mark.parametrize(
    'option, value, default, part',
    [('--style-weight', '1e37', '100', 'style'), ('--tv-weight', '1e38', '0.001', 'tv')],
)
def test_style_transfer_with_a_weight_that_overflows_blames_it_and_exits_with_1(
    option, value, default, part, tmp_path
):
    # the loss went inf, then NaN; the script printed "loss inf ... nan", saved a
    # picture of NaN pixels and exited with status 0
    out_dir = tmp_path / 'out'
    out, err = run_example(
        'style_transfer.py',
        *['--smoke', '--iters', '3', option, value, '--out', str(out_dir)],
        cwd=tmp_path,
        status=1,
        stderr=True,
    )
    lines = [line for line in (out + err).splitlines() if 'diverged' in line]
    assert len(lines) == 1, out + err
    assert lines[0].startswith(
        f'style_transfer.py: training diverged at iteration 1 ({part} inf); '
    ), lines[0]
    assert (
        f'{option} {value.replace("e", "e+")} is likely too large (default: {default})'
        in (lines[0])
    )
    assert 'at the last' not in out
    assert_pictures(out, [out_dir / 'style_transfer_loss.png'])
    for file in ('style_transfer.png', 'style_transfer_result.png'):
        assert not (out_dir / file).exists(), file


def test_style_transfer_refuses_a_weight_beyond_float32(tmp_path, capsys):
    # 1e300 ended in an OverflowError traceback at the first iteration
    args = ['--smoke', '--style-weight', '1e300', '--out', str(tmp_path / 'out')]
    err = refused('style_transfer.py', args, capsys)
    assert 'argument --style-weight: must be at most 3.40282e+38' in err, err
    assert not (tmp_path / 'out').exists()


# ---- counts with an upper bound ----------------------------------------------------------
@pytest.mark.parametrize('option, limit', [('--layers', 1000), ('--heads', 1000)])
def test_char_transformer_counts_have_a_limit(option, limit, tmp_path, capsys):
    # 99999999999 layers: the script built blocks for ever
    out = tmp_path / 'out'
    err = refused(
        'char_transformer.py', ['--smoke', option, '99999999999', '--out', str(out)], capsys
    )
    assert f'argument {option}: must be a whole number from 1 to {limit}, got 99999999999' in err
    assert not out.exists()


def test_char_transformer_help_gives_the_smoke_defaults(capsys):
    with pytest.raises(SystemExit):
        load_example('char_transformer.py').main(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert 'context length; default: 64 (--smoke: 32)' in text
    assert 'report every N iterations; default: 100 (--smoke: 25)' in text


# ---- --gpu and --smoke checked with the other options ----------------------------------
def test_gpu_that_cannot_be_used_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    from dezero import cuda

    def no_gpu(who):
        raise RuntimeError(f'{who}: cannot move data to a GPU: no GPU in this test')

    monkeypatch.setattr(cuda, 'require_gpu', no_gpu)  # also where a GPU is usable
    mnist = load_example('mnist.py')
    monkeypatch.setattr(mnist, 'load_or_generate', lambda *args: pytest.fail('data was read'))
    with pytest.raises(SystemExit) as exit_info:
        mnist.main(['--smoke', '--gpu', '--out', str(tmp_path / 'out')])
    assert exit_info.value.code == 2
    assert 'error: --gpu: cannot move data to a GPU: no GPU in this test' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


MNIST_SCRIPTS = [
    'mnist.py',
    'mnist_cnn.py',
    'mnist_distributed.py',
    'two_layer_net.py',
    'overfitting.py',
    'hyperparameter_search.py',
    'gan.py',
    'vae.py',
]


@pytest.mark.parametrize('name', [*MNIST_SCRIPTS, 'cifar10.py'])
def test_smoke_refuses_a_data_dir_it_would_ignore(name, tmp_path, capsys):
    args = ['--smoke', '--data-dir', str(tmp_path), '--out', str(tmp_path / 'out')]
    err = refused(name, args, capsys)
    assert 'argument --data-dir: not allowed with argument --smoke' in err, err
    assert not (tmp_path / 'out').exists()


def test_char_transformer_smoke_refuses_a_text_it_would_ignore(tmp_path, capsys):
    (tmp_path / 'small.txt').write_text('a small text', encoding='utf-8')
    args = ['--smoke', '--text', str(tmp_path / 'small.txt'), '--out', str(tmp_path / 'out')]
    err = refused('char_transformer.py', args, capsys)
    assert 'argument --text: not allowed with argument --smoke' in err, err


@pytest.mark.parametrize('name', MNIST_SCRIPTS)
@pytest.mark.parametrize('order', ['holdout first', 'smoke first'])
def test_smoke_refuses_a_holdout_of_0(name, order, tmp_path, capsys):
    # argparse compared the 0 given with the default 0 by identity, and let it pass
    args = (
        ['--holdout', '0', '--smoke'] if order == 'holdout first' else ['--smoke', '--holdout', '0']
    )
    err = refused(name, [*args, '--out', str(tmp_path)], capsys)
    assert 'not allowed with argument' in err, err

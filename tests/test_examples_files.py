"""The examples write their files whole or not at all: every picture goes through
``plotting.save_figure`` or ``plotting.save_image`` (which write through
``dezero.atomic.atomic_open``), every other file through ``dezero.atomic``, so a save
that fails midway leaves the previous file as it was and no temporary file behind."""

import argparse
import errno
import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import weakref

import numpy as np
import pytest

from example_runner import EXAMPLES, ONE_THREAD, load_example, run_example

pytest.importorskip('matplotlib')

OLD = b'the picture of the previous run'
PARTIAL = b'\x89PNG\r\n\x1a\n half a picture'


class Interrupted(Exception):
    """What the broken writers raise, half-way through their file."""


def write_half_then_fail(target):
    """Write :data:`PARTIAL` to ``target`` (a path, as ``savefig(path)`` takes, or an
    open file) and raise :class:`Interrupted`, as a save cut short does."""
    if isinstance(target, (str, os.PathLike)):
        with open(target, 'wb') as f:
            f.write(PARTIAL)
    else:
        target.write(PARTIAL)
    raise Interrupted('the disk went away')


@pytest.fixture
def broken_savefig(monkeypatch):
    """Every matplotlib figure's savefig writes half a picture, then fails."""
    from matplotlib.figure import Figure

    monkeypatch.setattr(
        Figure, 'savefig', lambda self, fname, **kwargs: write_half_then_fail(fname)
    )


def old_files(folder, *names):
    """Put :data:`OLD` into the files ``names`` in ``folder``; return their paths."""
    paths = [os.path.join(folder, name) for name in names]
    for path in paths:
        with open(path, 'wb') as f:
            f.write(OLD)
    return paths


def assert_untouched(folder, paths):
    """The files ``paths`` still hold :data:`OLD`, and ``folder`` holds nothing else."""
    for path in paths:
        with open(path, 'rb') as f:
            assert f.read() == OLD, path
    assert sorted(os.listdir(folder)) == sorted(os.path.basename(p) for p in paths)


# ---- the helpers ---------------------------------------------------------------------
def test_save_figure_writes_the_format_of_the_extension_and_closes_the_figure(tmp_path):
    plotting = load_example('plotting.py')
    plt = plotting.pyplot()
    for name, start in (
        ('a.png', b'\x89PNG'),
        ('b.PNG', b'\x89PNG'),
        ('c', b'\x89PNG'),
        ('d.svg', b'<?xml'),
    ):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        plotting.save_figure(fig, tmp_path / name, dpi=20)
        assert (tmp_path / name).read_bytes().startswith(start), name
        assert not plt.fignum_exists(fig.number)
    assert sorted(os.listdir(tmp_path)) == ['a.png', 'b.PNG', 'c', 'd.svg']


def test_save_figure_failing_midway_leaves_the_old_file_and_closes_the_figure(
    tmp_path, broken_savefig
):
    plotting = load_example('plotting.py')
    plt = plotting.pyplot()
    paths = old_files(tmp_path, 'picture.png')
    fig, _ = plt.subplots()
    with pytest.raises(Interrupted):
        plotting.save_figure(fig, paths[0])
    assert_untouched(tmp_path, paths)
    assert not plt.fignum_exists(fig.number)


def test_save_image_writes_the_pixels(tmp_path):
    from matplotlib import image as mpimg

    plotting = load_example('plotting.py')
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 10
    plotting.save_image(pixels, tmp_path / 'p.png')
    back = mpimg.imread(tmp_path / 'p.png')  # RGBA floats in [0, 1]
    np.testing.assert_array_equal(np.rint(back[..., :3] * 255).astype(np.uint8), pixels)
    assert os.listdir(tmp_path) == ['p.png']


def test_save_image_failing_midway_leaves_the_old_file(tmp_path, monkeypatch):
    from matplotlib import image as mpimg

    plotting = load_example('plotting.py')
    monkeypatch.setattr(mpimg, 'imsave', lambda fname, arr, **kwargs: write_half_then_fail(fname))
    paths = old_files(tmp_path, 'overlay.png')
    with pytest.raises(Interrupted):
        plotting.save_image(np.zeros((2, 2, 3)), paths[0])
    assert_untouched(tmp_path, paths)


def removed_line(count, folder):
    """What ``options.remove_stale_files`` prints when it removed ``count`` files."""
    files = 'file' if count == 1 else 'files'
    return f'removed {count} {files} of an earlier run from {folder}\n'


# ---- every example uses them ---------------------------------------------------------
#: What writes a file by its path, and so would leave half a file in place of the old.
DIRECT_WRITES = re.compile(
    r"\.savefig\(|\bimsave\(|\bopen\([^)]*['\"][wax]b?t?\+?['\"]|np\.save(z|txt)?\(|"
    r'\.write_(text|bytes)\(|\.tofile\('
)


def test_no_example_writes_a_file_but_through_the_atomic_helpers():
    offenders = []
    for path in sorted(EXAMPLES.glob('*.py')):
        if path.name == 'plotting.py':  # the helpers themselves, writing to atomic files
            continue
        for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
            if DIRECT_WRITES.search(line):
                offenders.append(f'{path.name}:{number}: {line.strip()}')
    assert offenders == []


def test_the_helpers_write_only_to_atomic_files():
    """They draw into memory, then write the bytes whole or not at all."""
    source = (EXAMPLES / 'plotting.py').read_text(encoding='utf-8')
    assert source.count('savefig(') == source.count('fig.savefig(picture, ') == 1
    assert source.count('imsave(') == source.count('mpimg.imsave(picture, ') == 1
    assert source.count('picture = io.BytesIO()') == 2
    assert source.count('atomic_write_bytes(path, picture.getvalue())') == 2


# ---- the examples' own save functions, with savefig failing midway ---------------------
def spiral_pictures(out):
    spiral = load_example('spiral.py')
    model, history = spiral.train(epochs=1, progress=False)
    spiral.save_pictures(model, history, out)


def mnist_plot(out):
    history = {'loss': [1.0, 0.5], 'acc': [0.5, 0.7], 'val_acc': [0.4, 0.6]}
    load_example('mnist.py').save_plot(history, os.path.join(out, 'mnist_accuracy.png'))


def tanh_plot(out):
    load_example('tanh.py').plot_derivatives(2, os.path.join(out, 'tanh.png'))


def newton_picture(out):
    newton = load_example('newton.py')
    newton.save_picture([1.5, 1.1, 1.0], [1.5, 1.2, 1.05], 0.05, os.path.join(out, 'newton.png'))


def hessian_newton_picture(out):
    path = np.array([[-1.0, 1.0], [0.5, 0.5], [1.0, 1.0]])
    load_example('hessian_newton.py').save_picture(
        path, path, os.path.join(out, 'hessian_newton.png')
    )


def sin_lstm_plot(out):
    x = np.cos(np.linspace(0, 3, 20))
    load_example('sin_lstm.py').save_plot(x, x, os.path.join(out, 'sin_lstm.png'))


def gan_losses(out):
    gan = load_example('gan.py')
    history = {'d_loss': [1.4, 1.3], 'g_loss': [0.7, 0.8]}
    gan.save_losses(gan.pyplot(), history, os.path.join(out, 'gan_losses.png'))


def samples(out):
    plotting = load_example('plotting.py')
    images = np.zeros((8, 784))
    plotting.save_samples(plotting.pyplot(), images, os.path.join(out, 'gan_epoch01.png'), 't')


def vae_reconstructions(out):
    vae = load_example('vae.py')
    x = np.zeros((12, 784))
    vae.save_reconstructions(vae.pyplot(), x, x, os.path.join(out, 'vae_reconstructions.png'))


def style_transfer_losses(out):
    style_transfer = load_example('style_transfer.py')
    history = {name: [3.0, 2.0] for name in ('loss', 'style', 'content', 'tv')}
    path = os.path.join(out, 'style_transfer_loss.png')
    style_transfer.save_losses(style_transfer.pyplot(), history, path, 't')


def grad_cam_explanation(out):
    grad_cam = load_example('grad_cam.py')
    image, heat = np.zeros((4, 4, 3), np.uint8), np.linspace(0, 1, 16).reshape(4, 4)
    path = os.path.join(out, 'grad_cam.png')
    grad_cam.save_explanation(grad_cam.pyplot(), image, heat, path, 't')


def overfitting_curves(out):
    run = {'train_acc': [0.5, 0.9], 'test_acc': [0.4, 0.6]}
    path = os.path.join(out, 'overfitting.png')
    load_example('overfitting.py').save_curves({'plain': run, 'dropout': run}, path)


SAVES = {
    'spiral': (spiral_pictures, ['spiral_loss.png', 'spiral_boundary.png']),
    'mnist': (mnist_plot, ['mnist_accuracy.png']),
    'tanh': (tanh_plot, ['tanh.png']),
    'newton': (newton_picture, ['newton.png']),
    'hessian_newton': (hessian_newton_picture, ['hessian_newton.png']),
    'sin_lstm': (sin_lstm_plot, ['sin_lstm.png']),
    'gan': (gan_losses, ['gan_losses.png']),
    'save_samples': (samples, ['gan_epoch01.png']),
    'vae': (vae_reconstructions, ['vae_reconstructions.png']),
    'style_transfer': (style_transfer_losses, ['style_transfer_loss.png']),
    'grad_cam': (grad_cam_explanation, ['grad_cam.png']),
    'overfitting': (overfitting_curves, ['overfitting.png']),
}


@pytest.mark.parametrize('name', SAVES)
def test_an_example_whose_save_fails_midway_keeps_the_old_picture(name, tmp_path, broken_savefig):
    save, names = SAVES[name]
    paths = old_files(tmp_path, *names)
    with pytest.raises(Interrupted):
        save(str(tmp_path))
    assert_untouched(tmp_path, paths)


@pytest.mark.parametrize('name', ['mnist', 'tanh', 'save_samples', 'grad_cam'])
def test_an_example_save_that_succeeds_replaces_the_old_picture(name, tmp_path):
    save, names = SAVES[name]
    paths = old_files(tmp_path, *names)
    save(str(tmp_path))
    for path in paths:
        with open(path, 'rb') as f:
            assert f.read().startswith(b'\x89PNG'), path
    assert sorted(os.listdir(tmp_path)) == sorted(names)


def test_char_transformer_sample_that_fails_midway_keeps_the_old_text(tmp_path, monkeypatch):
    char_transformer = load_example('char_transformer.py')
    # a lone surrogate has no UTF-8 encoding: the write fails after the file was opened
    monkeypatch.setattr(char_transformer, 'sample', lambda *args: 'To be, or not\ud800')
    paths = old_files(tmp_path, 'char_transformer_sample.txt')
    args = argparse.Namespace(out=str(tmp_path), block=8)
    with pytest.raises(UnicodeEncodeError):
        char_transformer.save_outputs(None, None, {}, args, np.random.default_rng(0))
    assert_untouched(tmp_path, paths)


# ---- interrupted runs ----------------------------------------------------------------
def test_pictures_are_drawn_before_their_file_is_opened(tmp_path, monkeypatch):
    # the figure was drawn into the temporary file: a SIGTERM while matplotlib drew
    # (the most of a save's time) left it behind, empty and hidden
    from matplotlib import image as mpimg
    from matplotlib.figure import Figure

    plotting = load_example('plotting.py')
    seen = []

    def recording(draw):
        def draw_and_look(self_or_target, *args, **kwargs):
            seen.append(sorted(os.listdir(tmp_path)))
            return draw(self_or_target, *args, **kwargs)

        return draw_and_look

    monkeypatch.setattr(Figure, 'savefig', recording(Figure.savefig))
    monkeypatch.setattr(mpimg, 'imsave', recording(mpimg.imsave))
    fig, ax = plotting.pyplot().subplots()
    ax.plot([0, 1], [1, 0])
    plotting.save_figure(fig, tmp_path / 'figure.png', dpi=20)
    plotting.save_image(np.zeros((2, 2, 3)), tmp_path / 'image.png')
    assert seen[0] == [] and seen[-1] == ['figure.png'], seen  # imsave draws with savefig
    assert all(set(names) <= {'figure.png'} for names in seen), seen  # no file was open
    assert sorted(os.listdir(tmp_path)) == ['figure.png', 'image.png']


SCRIPTS = sorted(
    p.name
    for p in EXAMPLES.glob('*.py')
    if p.name not in {'plotting.py', 'mnist_data.py', 'vgg16_features.py', 'options.py'}
)


def test_every_example_reads_its_options_and_runs_through_the_shared_helpers():
    for name in SCRIPTS:
        source = (EXAMPLES / name).read_text(encoding='utf-8')
        assert 'sys.exit(run_main(main))' in source, name
        assert source.count('parse_options(parser, argv') == 1, name
        assert 'parse_args(' not in source, name


def start_example(name, *args, cwd):
    """Start ``examples/<name>`` with unbuffered output; return the process."""
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(ONE_THREAD, PYTHONUNBUFFERED='1'),
    )


@pytest.mark.parametrize('number, status', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_example_ends_with_one_line_and_whole_files(number, status, tmp_path):
    # SIGTERM ended the process at once, leaving a hidden temporary file of the
    # picture being saved; Ctrl-C printed a traceback
    out = tmp_path / 'out'
    process = start_example(
        'gan.py', '--smoke', '--epochs', '1000', '--out', str(out), cwd=tmp_path
    )
    try:
        for line in process.stdout:  # run until the first pictures are saved
            if line.startswith('saved ') and 'epoch02' in line:
                break
        process.send_signal(number)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, stderr
    assert stderr.strip().splitlines() == [
        f'gan.py: interrupted ({signal.Signals(number).name}): the pictures and files saved '
        'so far are complete; nothing is half-written'
    ], stderr
    names = os.listdir(out)
    assert 'gan_epoch01.png' in names and not [n for n in names if n.startswith('.')], names
    for name in names:
        assert (out / name).read_bytes().startswith(b'\x89PNG'), name


@pytest.mark.skipif(not hasattr(os, 'killpg'), reason='needs process groups (POSIX)')
def test_signals_in_quick_succession_end_an_example_with_one_line(tmp_path):
    # a second signal while the first was handled raised in that handling: "Exception
    # ignored in sys.unraisablehook", tracebacks, status 1
    for number, gap in [(signal.SIGINT, 0), (signal.SIGTERM, 0.0003), (signal.SIGINT, 0.001)]:
        out = str(tmp_path / f'out-{number}-{gap}')
        process = subprocess.Popen(
            [sys.executable, str(EXAMPLES / 'gan.py'), '--smoke', '--epochs', '1000', '--out', out],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(ONE_THREAD, PYTHONUNBUFFERED='1'),
            start_new_session=True,  # a process group of its own, as a terminal's job
        )
        try:
            for line in process.stdout:  # run until it is training
                if line.startswith('saved ') and 'epoch01' in line:
                    break
            for _ in range(3):  # Ctrl-C pressed again and again, or a group's SIGTERM
                os.killpg(process.pid, number)
                time.sleep(gap)
            _, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
        assert process.returncode == 128 + number, stderr
        assert stderr.strip().splitlines() == [
            f'gan.py: interrupted ({signal.Signals(number).name}): the pictures and files '
            'saved so far are complete; nothing is half-written'
        ], stderr


# ---- the files an earlier run left in --out --------------------------------------------
#: For the examples that can end having written only part of their outputs: the options
#: of a --smoke run that goes well, the options that make the next run diverge, the
#: files the first run writes into --out and those the diverging run writes.
PARTIAL_RUNS = {
    'cifar10.py': (
        ['--epochs', '1', '--no-bar'],
        ['--lr', '1e30'],
        ['cifar10_curves.png', 'cifar10_mistakes.png'],
        ['cifar10_curves.png'],
    ),
    'mnist_cnn.py': (
        ['--epochs', '1'],
        ['--lr', '1e30'],
        ['mnist_cnn_accuracy.png', 'mnist_cnn_filters.png'],
        ['mnist_cnn_accuracy.png'],
    ),
    'mnist.py': (
        ['--epochs', '1'],
        ['--lr', '1e30'],
        ['mnist_mlp.npz', 'mnist_accuracy.png'],
        ['mnist_accuracy.png'],
    ),
    'mnist_distributed.py': (
        ['--epochs', '1'],
        ['--lr', '1e38'],
        ['mnist_distributed_mlp.npz'],
        [],
    ),
    'spiral.py': (
        ['--epochs', '2'],
        ['--lr', '1e38'],
        ['spiral_loss.png', 'spiral_boundary.png'],
        ['spiral_loss.png'],
    ),
    'sin_lstm.py': (['--epochs', '2', '--no-bar'], ['--lr', '1e30'], ['sin_lstm.png'], []),
    'char_transformer.py': (
        ['--iters', '25'],
        ['--lr', '100'],
        ['char_transformer_sample.txt', 'char_transformer.npz', 'char_transformer_loss.png'],
        ['char_transformer_loss.png'],
    ),
    'style_transfer.py': (
        ['--iters', '2'],
        ['--tv-weight', '1e38'],
        ['style_transfer.png', 'style_transfer_result.png', 'style_transfer_loss.png'],
        ['style_transfer_loss.png'],
    ),
    'hyperparameter_search.py': (
        ['--trials', '2', '--epochs', '1'],
        ['--lr-range', '1e30', '1e31'],
        ['hyperparameter_search_random.png'],
        [],
    ),
}


@pytest.mark.parametrize('name', sorted(PARTIAL_RUNS))
def test_a_run_that_diverges_removes_the_outputs_the_run_before_it_left(name, tmp_path):
    # the run that diverged saved its curves and left the earlier run's misclassified
    # images (filters, weights, sample, ...) beside them, to be taken for its own
    args, diverging, first, second = PARTIAL_RUNS[name]
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'notes.txt').write_bytes(OLD)  # not an output of the example: kept
    for earlier in first:  # what a whole earlier run leaves
        (out / earlier).write_bytes(OLD)
    options = ['--smoke', *args, '--out', str(out), *diverging]
    log = run_example(name, *options, cwd=tmp_path, status=1, env=ONE_THREAD)
    # trained weights are never removed: they may be the only copy of a long training
    weights = [f for f in first if f.endswith('.npz')]
    assert sorted(os.listdir(out)) == sorted({*second, *weights, 'notes.txt'})
    for f in weights:
        assert (out / f).read_bytes() == OLD
        assert f'kept {out / f} of an earlier run: this run saved no weights' in log, log
    removed = len(set(first) - set(second) - set(weights))
    assert (removed_line(removed, out) in log) == bool(removed), log


@pytest.mark.parametrize(
    'name, options, weights',
    [
        ('mnist.py', ['--epochs', '1'], 'mnist_mlp.npz'),
        ('char_transformer.py', ['--iters', '5'], 'char_transformer.npz'),
        ('mnist_distributed.py', ['--epochs', '1'], 'mnist_distributed_mlp.npz'),
    ],
)
def test_a_smoke_run_keeps_the_trained_weights_an_earlier_run_saved(
    name, options, weights, tmp_path
):
    # a seconds-long run on generated data replaced them, under the same default name
    out = tmp_path / 'out'
    out.mkdir()
    (out / weights).write_bytes(OLD)
    log = run_example(name, '--smoke', *options, '--out', str(out), cwd=tmp_path, env=ONE_THREAD)
    assert (out / weights).read_bytes() == OLD
    assert f'kept {out / weights} of an earlier run: a --smoke run does not replace' in log
    assert f'saved {out / weights}' not in log


@pytest.fixture
def no_matplotlib(tmp_path):
    """The environment of an example that finds no matplotlib to import."""
    hidden = tmp_path / 'hidden'
    hidden.mkdir()
    (hidden / 'matplotlib.py').write_text("raise ImportError('no matplotlib here')\n")
    path = os.pathsep.join(filter(None, [str(hidden), os.environ.get('PYTHONPATH')]))
    return dict(ONE_THREAD, PYTHONPATH=path)


#: The options of a --smoke run, the pictures it draws with matplotlib, and the other
#: files it writes all the same.
PICTURES = {
    'cifar10.py': (
        ['--epochs', '1', '--no-bar'],
        ['cifar10_curves.png', 'cifar10_mistakes.png'],
        [],
    ),
    'mnist_cnn.py': (['--epochs', '1'], ['mnist_cnn_accuracy.png', 'mnist_cnn_filters.png'], []),
    'mnist.py': (['--epochs', '1'], ['mnist_accuracy.png'], ['mnist_mlp.npz']),
    'spiral.py': ([], ['spiral_loss.png', 'spiral_boundary.png'], []),
    'sin_lstm.py': (['--no-bar'], ['sin_lstm.png'], []),
    'overfitting.py': (['--epochs', '2', '--quiet'], ['overfitting.png'], []),
    'two_layer_net.py': (['--epochs', '1'], ['two_layer_net.png'], []),
    'hessian_newton.py': ([], ['hessian_newton.png'], []),
    'newton.py': ([], ['newton.png'], []),
    'grad_cam.py': ([], ['grad_cam.png', 'grad_cam_overlay.png'], []),
    'hyperparameter_search.py': (
        ['--trials', '2', '--epochs', '1'],
        ['hyperparameter_search_random.png'],
        [],
    ),
    'style_transfer.py': (
        ['--iters', '2'],
        ['style_transfer.png', 'style_transfer_result.png', 'style_transfer_loss.png'],
        [],
    ),
    'char_transformer.py': (
        ['--iters', '25'],
        ['char_transformer_loss.png'],
        ['char_transformer_sample.txt', 'char_transformer.npz'],
    ),
    'tanh.py': ([], ['tanh_derivatives.png'], ['tanh_order3.dot']),
}


@pytest.mark.parametrize('name', sorted(PICTURES))
def test_a_run_without_matplotlib_removes_the_pictures_an_earlier_run_left(
    name, tmp_path, no_matplotlib
):
    # the earlier run's pictures lay beside this run's other files, or alone in --out
    args, pictures, others = PICTURES[name]
    out = tmp_path / 'out'
    out.mkdir()
    old_files(out, *pictures, 'notes.txt')
    log = run_example(name, '--smoke', *args, '--out', str(out), cwd=tmp_path, env=no_matplotlib)
    assert 'matplotlib is not installed' in log, log
    assert removed_line(len(pictures), out) in log, log
    for picture in pictures:
        assert not (out / picture).exists(), picture
    for other in others:
        assert (out / other).is_file(), other
    assert (out / 'notes.txt').read_bytes() == OLD


@pytest.mark.parametrize(
    'name, picture, dot',
    [
        ('shopping.py', 'shopping.png', 'shopping.dot'),
        ('tanh.py', 'tanh_order3.png', 'tanh_order3.dot'),
    ],
)
def test_a_run_without_graphviz_removes_the_graph_an_earlier_run_drew(name, picture, dot, tmp_path):
    # the earlier run's picture of the graph lay beside this run's DOT text
    out = tmp_path / 'out'
    out.mkdir()
    old_files(out, picture)
    nowhere = tmp_path / 'no-programs'  # the PATH: no Graphviz dot to run
    nowhere.mkdir()
    log = run_example(
        name, '--smoke', '--out', str(out), cwd=tmp_path, env=dict(ONE_THREAD, PATH=str(nowhere))
    )
    assert removed_line(1, out) in log, log
    assert not (out / picture).exists()
    assert (out / dot).is_file()


@pytest.fixture
def run_main_here(monkeypatch):
    """``options.run_main`` run in this process, as the script ``example.py``: the
    signal handlers and the hook it installs are put back afterwards."""
    options = load_example('options.py')
    monkeypatch.setattr(sys, 'argv', ['example.py'])
    monkeypatch.setattr(sys, 'unraisablehook', sys.unraisablehook)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield options.run_main
    for number, handler in handlers.items():
        signal.signal(number, handler)


def test_a_file_that_cannot_be_saved_ends_the_run_with_one_line(tmp_path, run_main_here, capsys):
    # an OSError while saving (a full disk, a folder made where a picture goes
    # during the run) ended the script with a traceback
    from dezero.atomic import atomic_write_bytes

    taken = tmp_path / 'picture.png'
    taken.mkdir()
    assert run_main_here(lambda: atomic_write_bytes(str(taken), b'picture')) == 1
    err = capsys.readouterr().err
    assert err.startswith('example.py: ') and err.count('\n') == 1, err
    assert f'cannot write {taken}: it is a folder' in err, err

    def disk_full():
        raise OSError(errno.ENOSPC, 'No space left on device', str(tmp_path / 'a.png'))

    assert run_main_here(disk_full) == 1
    assert capsys.readouterr().err == (
        f"example.py: [Errno 28] No space left on device: '{tmp_path / 'a.png'}'\n"
    )


def test_a_signal_whose_exception_python_ignores_is_raised_again(tmp_path):
    """A signal's handler may run in a weakref callback (the graphs of dezero have
    many), where Python prints the exception it raises and goes on: the script ran to
    its end.  Here the callback itself raises the signal."""
    script = tmp_path / 'callback.py'
    script.write_text(
        textwrap.dedent(
            f"""
            import signal, sys, time, weakref
            sys.path[:0] = [{str(EXAMPLES)!r}, {str(EXAMPLES.parent)!r}]
            from options import run_main

            class Thing:
                pass

            def main():
                thing = Thing()
                ref = weakref.ref(thing, lambda r: signal.raise_signal(signal.SIGTERM))
                del thing  # the callback runs, and the handler in it
                for _ in range(500):
                    time.sleep(0.01)
                print('ran to the end')
                return 0

            sys.exit(run_main(main))
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 143, result.stdout + result.stderr
    assert result.stdout == ''
    assert result.stderr.startswith('callback.py: interrupted (SIGTERM): '), result.stderr
    assert 'Traceback' not in result.stderr and 'ignored' not in result.stderr


class SignalOnWrite(io.StringIO):
    """A stderr that receives the signal ``number`` at every write: a signal arriving
    while :func:`options.run_main` prints its line about the first one."""

    def __init__(self, number):
        super().__init__()
        self.number = number

    def write(self, text):
        signal.raise_signal(self.number)
        return super().write(text)


def run_interrupted(run_main, main):
    """``run_main(main)``'s exit status; a KeyboardInterrupt that escapes it (which
    would end this test session) fails the test."""
    try:
        return run_main(main)
    except KeyboardInterrupt as error:
        pytest.fail(f'run_main let {error!r} through')


def test_a_signal_while_run_main_reports_the_first_is_ignored(run_main_here, monkeypatch):
    # it raised in run_main's handling of the first: a traceback and status 1
    monkeypatch.setattr(sys, 'stderr', SignalOnWrite(signal.SIGTERM))

    def main():
        signal.raise_signal(signal.SIGINT)

    assert run_interrupted(run_main_here, main) == 130
    assert sys.stderr.getvalue() == (
        'example.py: interrupted (SIGINT): the pictures and files saved so far are '
        'complete; nothing is half-written\n'
    )


def test_a_signal_while_the_first_is_raised_again_is_ignored(run_main_here, monkeypatch):
    """The first signal's exception is ignored in a weakref callback, and a second one
    arrives while the hook arms the timer that raises the first again: it raised in the
    hook, where Python printed "Exception ignored in sys.unraisablehook", and the
    script ran to its end."""
    arm = threading.Timer

    def arm_on_a_signal(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)
        return arm(*args, **kwargs)

    monkeypatch.setattr(threading, 'Timer', arm_on_a_signal)
    monkeypatch.setattr(sys, 'stderr', SignalOnWrite(signal.SIGINT))

    class Thing:
        pass

    def main():
        thing = Thing()
        ref = weakref.ref(thing, lambda r: signal.raise_signal(signal.SIGTERM))
        del thing  # the callback runs, and the handler in it
        for _ in range(500):
            time.sleep(0.01)
        return ref

    assert run_interrupted(run_main_here, main) == 143
    assert sys.stderr.getvalue() == (
        'example.py: interrupted (SIGTERM): the pictures and files saved so far are '
        'complete; nothing is half-written\n'
    )

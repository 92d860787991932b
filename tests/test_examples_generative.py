"""examples/hyperparameter_search.py, examples/gan.py and examples/vae.py: the scripts
run with --smoke as a user runs them, and their helpers do what they say."""

import math
import os
import re

import numpy as np
import pytest

import dezero
import dezero.trainer
from dezero import Variable
from example_runner import HAS_MATPLOTLIB, assert_pictures, load_example, run_example


@pytest.fixture(scope='module')
def hps():
    return load_example('hyperparameter_search.py')


@pytest.fixture(scope='module')
def gan():
    return load_example('gan.py')


@pytest.fixture(scope='module')
def vae():
    return load_example('vae.py')


# ---- examples/hyperparameter_search.py -----------------------------------------------
#: rank, learning rate, weight decay, validation accuracy and loss
TABLE_ROW = re.compile(
    r'^\s+(\d+)\s+(\S+e[-+]\d+)\s+(\S+e[-+]\d+)\s+(\d\.\d{4})'
    r'\s+(\d+\.\d{4})$',
    re.M,
)


def test_random_search_script_ranks_trials_and_tests_the_best(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example(
        'hyperparameter_search.py',
        '--smoke',
        '--trials',
        '6',
        '--epochs',
        '2',
        '--out',
        str(out_dir),
        cwd=tmp_path,
    )
    assert 'training on 400 images, validating on 100; 200 test images' in out
    assert len(re.findall(r'^trial [ \d]\d?/6  lr ', out, re.M)) == 6, out
    rows = TABLE_ROW.findall(out)
    assert [int(r[0]) for r in rows] == list(range(1, 7)), out
    accs = [float(r[3]) for r in rows]
    assert accs == sorted(accs, reverse=True)
    for _, lr, wd, _, _ in rows:  # inside the default log ranges
        assert 1e-4 <= float(lr) <= 1e-1 and 1e-5 <= float(wd) <= 1e-2
    best = re.search(
        r'^best setting: lr (\S+)  weight decay (\S+)  \(validation accuracy '
        r'(\S+)\)$',
        out,
        re.M,
    )
    assert best and best.groups() == (rows[0][1], rows[0][2], rows[0][3]), out
    test_acc = float(re.search(r'retrained on all 500 training images: (\d\.\d{4})$', out, re.M)[1])
    assert accs[0] >= 0.9 and test_acc >= 0.9, out  # generated digits are easy
    assert_pictures(out, [out_dir / 'hyperparameter_search_random.png'])


def test_grid_search_script_tries_every_pair(tmp_path):
    out = run_example(
        'hyperparameter_search.py',
        '--smoke',
        '--grid',
        '--grid-size',
        '2',
        '--epochs',
        '1',
        '--out',
        str(tmp_path),
        cwd=tmp_path,
    )
    pairs = {(float(r[1]), float(r[2])) for r in TABLE_ROW.findall(out)}
    assert pairs == {(lr, wd) for lr in (1e-4, 1e-1) for wd in (1e-5, 1e-2)}, out
    assert 'grid search: 4 trials of 1 epochs' in out
    assert_pictures(out, [tmp_path / 'hyperparameter_search_grid.png'])


def test_search_script_where_every_trial_diverged_says_so_and_exits_with_1(tmp_path):
    # it reported the first of the NaN trials as the best setting and exited with 0
    out, err = run_example(
        'hyperparameter_search.py',
        *['--smoke', '--lr-range', '1e30', '1e31', '--trials', '2', '--epochs', '1'],
        *['--out', str(tmp_path / 'out')],
        cwd=tmp_path,
        status=1,
        stderr=True,
    )
    assert 'best setting' not in out and 'test accuracy' not in out, out
    lines = [line for line in err.splitlines() if 'diverged' in line]
    assert lines == [
        'hyperparameter_search.py: every trial diverged (validation loss nan); the learning '
        'rates of --lr-range 1e+30 1e+31 are likely too large (default: 0.0001 0.1); '
        'no best setting, no test'
    ], err


def test_search_ranks_a_diverged_trial_last_whatever_its_accuracy(hps, monkeypatch):
    # a NaN trial with the highest accuracy (chance, on its constant guess) came first
    scores = {1.0: {'acc': 0.5, 'loss': math.nan}, 0.1: {'acc': 0.3, 'loss': 1.5}}

    class Trained:
        def __init__(self, setting):
            self.setting = setting

        def evaluate(self, loader):
            return scores[self.setting['lr']]

    monkeypatch.setattr(hps, 'train', lambda setting, *args: Trained(setting))
    settings = [{'lr': 1.0, 'weight_decay': 0.0}, {'lr': 0.1, 'weight_decay': 0.0}]
    results = hps.search(settings, None, (np.zeros((2, 1)), np.zeros(2)), report=None)
    assert [r['lr'] for r in results] == [0.1, 1.0]


def test_search_uses_the_test_split_exactly_once_and_never_trains_on_it(
    hps, tmp_path, monkeypatch, capsys
):
    """Run main() in this process, recording the data of every Trainer.fit and
    Trainer.evaluate call: the trials train on the first 80% of the training part and
    are scored on its last 20%; the test images go to one evaluation, the last."""
    splits = {}
    real_load = hps.load_or_generate

    def load(args):
        splits['train'], splits['test'] = real_load(args)
        return splits['train'], splits['test']

    calls = []
    real_fit, real_evaluate = dezero.trainer.Trainer.fit, dezero.trainer.Trainer.evaluate

    def fit(self, loader, *args, **kwargs):
        calls.append(('fit', loader.dataset[0]))
        return real_fit(self, loader, *args, **kwargs)

    def evaluate(self, loader):
        calls.append(('evaluate', loader.dataset[0]))
        return real_evaluate(self, loader)

    monkeypatch.setattr(hps, 'load_or_generate', load)
    monkeypatch.setattr(dezero.trainer.Trainer, 'fit', fit)
    monkeypatch.setattr(dezero.trainer.Trainer, 'evaluate', evaluate)
    assert hps.main(['--smoke', '--trials', '3', '--epochs', '1', '--out', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'test accuracy of the best setting' in out

    x_train, x_test = splits['train'][0], splits['test'][0]
    touches_test = [kind for kind, x in calls if np.shares_memory(x, x_test)]
    assert touches_test == ['evaluate']
    assert calls[-1][0] == 'evaluate' and calls[-1][1] is x_test
    trials = calls[:-2]
    assert [kind for kind, _ in trials] == ['fit', 'evaluate'] * 3
    for kind, x in trials:
        expected = x_train[:400] if kind == 'fit' else x_train[400:]
        assert np.shares_memory(x, x_train) and np.array_equal(x, expected)
    assert calls[-2][0] == 'fit' and len(calls[-2][1]) == 500  # retrained on all


def test_random_settings_are_log_uniform_within_the_ranges(hps):
    settings = hps.random_settings(4000, (1e-4, 1e-1), (1e-6, 1e-2), seed=3)
    lrs = np.array([s['lr'] for s in settings])
    wds = np.array([s['weight_decay'] for s in settings])
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    assert wds.min() >= 1e-6 and wds.max() <= 1e-2
    # every decade gets the same share: 1e-4 .. 1e-1 spans 3 decades, 1e-6 .. 1e-2 four
    assert np.mean(lrs < 1e-3) == pytest.approx(1 / 3, abs=0.04)
    assert np.mean(wds < 1e-5) == pytest.approx(1 / 4, abs=0.04)
    assert hps.random_settings(5, seed=1) == hps.random_settings(5, seed=1)
    assert hps.random_settings(5, seed=1) != hps.random_settings(5, seed=2)


def test_grid_settings_are_every_pair_of_log_spaced_values(hps):
    settings = hps.grid_settings(3, (1e-4, 1e-2), (1e-6, 1e-2))
    assert len(settings) == 9
    lrs = sorted({s['lr'] for s in settings})
    wds = sorted({s['weight_decay'] for s in settings})
    assert lrs == pytest.approx([1e-4, 1e-3, 1e-2])
    assert wds == pytest.approx([1e-6, 1e-4, 1e-2])
    assert {(s['lr'], s['weight_decay']) for s in settings} == {(a, b) for a in lrs for b in wds}


def test_split_validation_keeps_the_last_fifth(hps):
    x, t = np.arange(20.0).reshape(10, 2), np.arange(10)
    (xa, ta), (xb, tb) = hps.split_validation(x, t, 0.2)
    assert ta.tolist() == list(range(8)) and tb.tolist() == [8, 9]
    assert xb.tolist() == [[16.0, 17.0], [18.0, 19.0]]
    assert hps.split_validation(x, t, 0.01)[1][1].tolist() == [9]  # at least one
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match='fraction'):
            hps.split_validation(x, t, bad)


@pytest.mark.parametrize(
    'args, message',
    [
        (['--lr-range', '1e-3', 'inf'], 'argument --lr-range: must be a positive number, got inf'),
        (['--lr-range', 'nan', '1e-3'], 'argument --lr-range: must be a positive number, got nan'),
        (['--wd-range', '0', '1e-2'], 'argument --wd-range: must be a positive number, got 0'),
        (['--wd-range', '1e-2', '1e-3'], '--wd-range needs LOW < HIGH, got 0.01 0.001'),
        (['--val-fraction', '1'], '--val-fraction must be between 0 and 1, got 1.0'),
        # known only once the data is loaded: 500 generated images, all kept back
        (['--val-fraction', '0.999'], '--val-fraction 0.999 of 500 training images leaves none'),
    ],
)
def test_search_refuses_bad_ranges_and_fractions(hps, args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        hps.main(['--smoke', '--out', str(tmp_path), *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_search_ranks_a_working_learning_rate_above_a_hopeless_one(hps):
    x, t = load_example('mnist_data.py').synthetic_digits(300, seed=5)
    results = hps.search(
        [{'lr': 1e-6, 'weight_decay': 1e-5}, {'lr': 1e-2, 'weight_decay': 1e-5}],
        (x[:200], t[:200]),
        (x[200:], t[200:]),
        epochs=2,
        hidden=32,
        report=None,
    )
    assert [r['lr'] for r in results] == [1e-2, 1e-6]
    assert results[0]['val_acc'] > 0.9 > results[1]['val_acc'] + 0.3
    table = hps.format_table(results).splitlines()
    assert table[0].split() == [
        'rank',
        'learning',
        'rate',
        'weight',
        'decay',
        'val',
        'acc',
        'val',
        'loss',
    ]
    assert table[1].split()[:3] == ['1', '1.00e-02', '1.00e-05']


# ---- examples/gan.py ----------------------------------------------------------------------
def test_gan_script_prints_finite_losses_and_saves_samples(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example('gan.py', '--smoke', '--out', str(out_dir), cwd=tmp_path)
    lines = re.findall(
        r'^epoch (\d)/3  D loss (\S+)  G loss (\S+)  D acc (\S+)  '
        r'D\(x\) (\S+)  D\(G\(z\)\) (\S+)$',
        out,
        re.M,
    )
    assert [int(line[0]) for line in lines] == [1, 2, 3], out
    for _, d_loss, g_loss, d_acc, d_real, d_fake in lines:
        assert 0 < float(d_loss) < 10 and 0 < float(g_loss) < 10
        assert 0 <= float(d_acc) <= 1 and 0 < float(d_real) < 1 and 0 < float(d_fake) < 1
    accs = [float(line[3]) for line in lines]
    assert any(0.1 < a < 0.99 for a in accs), accs  # a game, not a rout either way
    assert_pictures(
        out, [out_dir / f'gan_epoch0{i}.png' for i in (1, 2, 3)] + [out_dir / 'gan_losses.png']
    )


def old_pictures(folder, *names):
    """Make ``folder`` holding the files ``names``, as an earlier run left them."""
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(b'a picture of an earlier run')


def test_gan_removes_the_pictures_an_earlier_run_left(tmp_path):
    # the samples of a run that went well lay beside the loss curves of one that
    # diverged, and those of epoch 25 beside a run of 1 epoch
    out_dir = tmp_path / 'out'
    old_pictures(out_dir, 'gan_epoch01.png', 'gan_epoch25.png', 'gan_losses.png')
    others = ['gan_epoch7.png', 'gan_epoch01.png.bak', 'notes.txt']  # not its names
    for name in others:
        (out_dir / name).write_text('kept')
    (out_dir / 'gan_epoch30.png').mkdir()  # a folder: kept too
    args = ['--smoke', '--epochs', '1', '--lr', '1e30', '--out', str(out_dir)]
    out = run_example('gan.py', *args, cwd=tmp_path, status=1)
    written = ['gan_losses.png'] if HAS_MATPLOTLIB else []  # (no samples: they are NaN)
    removed = 3 - len(written)  # those it did not write over
    assert f'removed {removed} files of an earlier run from {out_dir}\n' in out, out
    assert sorted(os.listdir(out_dir)) == sorted(written + others + ['gan_epoch30.png'])
    assert_pictures(out, [out_dir / name for name in written])


def test_vae_removes_the_latent_map_of_an_earlier_run_it_does_not_draw(tmp_path):
    # vae.py --latent 3 after a run with a 2-d code left the old vae_latent.png
    out_dir = tmp_path / 'out'
    old_pictures(out_dir, 'vae_epoch05.png', 'vae_latent.png', 'vae_reconstructions.png')
    args = ['--smoke', '--epochs', '1', '--latent', '3', '--out', str(out_dir)]
    out = run_example('vae.py', *args, cwd=tmp_path)
    written = ['vae_epoch01.png', 'vae_reconstructions.png'] if HAS_MATPLOTLIB else []
    removed = 3 - (1 if HAS_MATPLOTLIB else 0)  # not the reconstructions written over
    assert f'removed {removed} files of an earlier run from {out_dir}\n' in out, out
    assert sorted(os.listdir(out_dir)) == written
    assert_pictures(out, [out_dir / name for name in written])


def params_of(model):
    return [p.data.copy() for p in model.params()]


def changed(before, model):
    return [not np.array_equal(a, p.data) for a, p in zip(before, model.params())]


def make_gan(gan, n=16):
    """A generator and a dropout-free discriminator, called once so that their
    parameters exist, with their own optimizers; plus a batch of noise and of images."""
    np.random.seed(0)
    G, D = gan.Generator(32), gan.Discriminator(32, dropout=0.0)
    z, real = gan.noise(n, 8), np.random.rand(n, 784).astype(np.float32)
    D(G(z))
    opt_g = dezero.optimizers.Adam(2e-4, beta1=0.5).setup(G)
    opt_d = dezero.optimizers.Adam(2e-4, beta1=0.5).setup(D)
    return G, D, opt_g, opt_d, z, real


def test_generator_step_moves_only_the_generator_and_fools_d_better(gan):
    G, D, opt_g, opt_d, z, _ = make_gan(gan)
    g_before, d_before = params_of(G), params_of(D)

    def g_loss():
        y = D(G(z))
        return float(dezero.functions.sigmoid_cross_entropy(y, np.ones(y.shape, np.float32)).data)

    loss_before = g_loss()
    loss = gan.generator_step(G, D, opt_g, z)
    assert loss == pytest.approx(loss_before, rel=1e-5)
    assert not any(changed(d_before, D))  # D untouched...
    assert all(p.grad is None for p in D.params())  # ...and no gradient left for it
    assert all(changed(g_before, G)[:2])  # l1.W, l1.b moved
    assert g_loss() < loss_before


def test_discriminator_step_moves_only_d_and_separates_better(gan):
    G, D, opt_g, opt_d, z, real = make_gan(gan)
    with dezero.no_grad():
        fake = G(z).data
    g_before, d_before = params_of(G), params_of(D)
    first = gan.discriminator_step(D, opt_d, real, fake)
    assert not any(changed(g_before, G))
    assert all(changed(d_before, D))
    assert 0 <= first['d_acc'] <= 1 and 0 < first['d_real'] < 1
    second = gan.discriminator_step(D, opt_d, real, fake)
    assert second['d_loss'] < first['d_loss']
    assert second['d_real'] - second['d_fake'] > first['d_real'] - first['d_fake']


def test_gan_keeps_float32_and_samples_images_in_0_1(gan):
    G = gan.Generator(16)
    images = gan.sample(G, gan.noise(5, 4))
    assert images.shape == (5, 784) and images.dtype == np.float32
    assert images.min() > 0 and images.max() < 1
    assert all(p.data.dtype == np.float32 for p in G.params())


@pytest.mark.parametrize('name', ['gan', 'vae'])
def test_tile_places_images_in_a_grid(name, gan, vae):
    tile = {'gan': gan, 'vae': vae}[name].tile
    images = np.arange(3, dtype=np.float32)[:, None] * np.ones((3, 784), np.float32) - 5
    grid = tile(images, cols=2, pad=1)
    assert grid.shape == (59, 59) and grid.dtype == np.float32
    assert (grid[1:29, 1:29] == -5).all() and (grid[1:29, 30:58] == -4).all()
    assert (grid[30:58, 1:29] == -3).all()
    assert (grid[30:58, 30:58] == 1).all()  # the empty cell stays white
    assert (grid[0] == 1).all() and (grid[:, 29] == 1).all() and (grid[-1] == 1).all()


# ---- examples/vae.py ----------------------------------------------------------------------
def test_vae_script_loss_falls_and_pictures_are_saved(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example('vae.py', '--smoke', '--out', str(out_dir), cwd=tmp_path)
    lines = re.findall(r'^epoch (\d)/5  loss (\S+)  reconstruction (\S+)  KL (\S+)$', out, re.M)
    assert [int(line[0]) for line in lines] == [1, 2, 3, 4, 5], out
    loss, rec, kl = (np.array([float(line[i]) for line in lines]) for i in (1, 2, 3))
    assert np.allclose(loss, rec + kl, atol=0.011)
    assert (kl >= 0).all() and (rec > 0).all()
    assert loss[-1] < 0.8 * loss[0], loss
    assert (np.diff(loss) < 0).all(), loss
    held = re.search(r'^held-out loss (\S+)  reconstruction (\S+)  KL (\S+)$', out, re.M)
    assert held and float(held[1]) < loss[0], out
    assert_pictures(
        out,
        [out_dir / f'vae_epoch0{i}.png' for i in range(1, 6)]
        + [out_dir / 'vae_reconstructions.png', out_dir / 'vae_latent.png'],
    )


def test_vae_script_with_a_larger_latent_space_draws_no_map(tmp_path):
    out = run_example(
        'vae.py', '--smoke', '--epochs', '1', '--latent', '16', '--out', str(tmp_path), cwd=tmp_path
    )
    assert re.search(r'^epoch 1/1  loss ', out, re.M), out
    assert not (tmp_path / 'vae_latent.png').exists()
    assert_pictures(out, [tmp_path / 'vae_epoch01.png', tmp_path / 'vae_reconstructions.png'])


def test_kl_divergence_closed_form_and_gradient(vae):
    mu = Variable(np.array([[1.0, 0.0], [0.0, 0.0]]))
    logvar = Variable(np.array([[0.0, math.log(2.0)], [0.0, 0.0]]))
    kl = vae.kl_divergence(mu, logvar)
    # image 1: (1 + 1 - 1 - 0 + 2 + 0 - 1 - ln 2) / 2; image 2: 0; averaged over 2
    assert float(kl.data) == pytest.approx((2 - math.log(2.0)) / 4, rel=1e-12)
    kl.backward()
    np.testing.assert_allclose(mu.grad.data, mu.data / 2)  # mu / N
    np.testing.assert_allclose(logvar.grad.data, (np.exp(logvar.data) - 1) / 4)  # (e^lv-1)/2N
    assert float(vae.kl_divergence(np.zeros((3, 4)), np.zeros((3, 4))).data) == 0.0


def test_reparameterize_draws_from_the_gaussian_and_passes_gradients(vae):
    n = 20000
    mu = Variable(np.full((n, 1), 3.0, np.float32))
    logvar = Variable(np.full((n, 1), math.log(4.0), np.float32))
    np.random.seed(0)
    z = vae.reparameterize(mu, logvar)
    assert z.dtype == np.float32
    assert z.data.mean() == pytest.approx(3.0, abs=0.05)
    assert z.data.std() == pytest.approx(2.0, abs=0.05)
    z.backward()
    np.testing.assert_allclose(mu.grad.data, 1.0)
    # dz/dlogvar = exp(logvar / 2) eps / 2 = (z - mu) / 2
    np.testing.assert_allclose(logvar.grad.data, (z.data - 3.0) / 2, rtol=1e-5, atol=1e-6)
    np.random.seed(0)
    np.testing.assert_array_equal(vae.reparameterize(mu, logvar).data, z.data)


def test_reconstruction_loss_is_summed_over_pixels_per_image(vae):
    np.random.seed(0)
    model = vae.VAE(latent=2, hidden=8)
    x = np.random.rand(4, 784).astype(np.float32)
    model(x)
    model.dec_out.W.data[...] = 0  # logits 0: every pixel costs ln 2, whatever x
    rec, kl = vae.losses(model, x)
    assert rec.dtype == kl.dtype == np.float32
    assert float(rec.data) == pytest.approx(784 * math.log(2.0), rel=1e-5)
    assert float(kl.data) >= 0


def test_latent_grid_runs_from_top_left_to_bottom_right(vae):
    z = vae.latent_grid(steps=3, limit=2.0)
    assert z.dtype == np.float32
    assert z.tolist() == [
        [-2, 2],
        [0, 2],
        [2, 2],
        [-2, 0],
        [0, 0],
        [2, 0],
        [-2, -2],
        [0, -2],
        [2, -2],
    ]


@pytest.mark.parametrize(
    'args, message',
    [
        (['--trials', '99999999999'], 'argument --trials: must be a whole number from 1 to 10000'),
        (['--trials', '0'], 'argument --trials: must be a whole number from 1 to 10000, got 0'),
        (
            ['--grid', '--grid-size', '99999999999'],
            'argument --grid-size: must be a whole number from 1 to 100, got 99999999999',
        ),
    ],
)
def test_search_sizes_have_a_limit_checked_before_anything_is_made(
    hps, args, message, tmp_path, capsys
):
    # the settings were drawn after --out was made, and asked for 745 GiB
    out = tmp_path / 'out'
    with pytest.raises(SystemExit) as exit_info:
        hps.main(['--smoke', *args, '--out', str(out)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_stale_picture_that_cannot_be_removed_is_named_and_left(tmp_path, monkeypatch, capsys):
    # one a run could not remove (another user's file in a shared folder) ended it
    options = load_example('options.py')
    kept, gone = tmp_path / 'gan_epoch09.png', tmp_path / 'gan_epoch10.png'
    kept.write_bytes(b'old')
    gone.write_bytes(b'old')
    remove = os.remove

    def refuse_one(path):
        if str(path) == str(kept):
            raise PermissionError(1, 'Operation not permitted', str(path))
        remove(path)

    monkeypatch.setattr(options.os, 'remove', refuse_one)
    options.remove_stale_files([str(kept), str(gone), str(tmp_path / 'gan_epoch11.png')])
    assert capsys.readouterr().out == (
        f'left {kept} of an earlier run: cannot remove it (Operation not permitted)\n'
        f'removed 1 file of an earlier run from {tmp_path}\n'
    )
    assert kept.exists() and not gone.exists()

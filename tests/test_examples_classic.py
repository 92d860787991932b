"""The classic textbook examples: the shopping graph, the two-layer network with its
gradient check, and the overfitting study (run as a user runs them, and their helpers)."""

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import dezero
import mnist_files
from example_runner import EXAMPLES, assert_pictures, has_module, load_example, run_example
from dezero import Function, Parameter
from dezero.graph import functions_behind


# ---- examples/shopping.py --------------------------------------------------------------
EXPECTED_SHOPPING = [
    'price = 715',
    'dprice/dapple = 2.2',
    'dprice/dapple_num = 110',
    'dprice/dorange = 3.3',
    'dprice/dorange_num = 165',
    'dprice/dtax = 650',
]


def test_shopping_prints_the_price_and_its_exact_derivatives(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example('shopping.py', '--smoke', '--out', str(out_dir), cwd=tmp_path)
    assert out.splitlines()[:6] == EXPECTED_SHOPPING, out
    assert re.search(r'^  all_price = 650   dprice/dall_price = 1\.1$', out, re.M), out

    dot = (out_dir / 'shopping.dot').read_text(encoding='utf-8')
    assert dot.startswith('digraph') and f'saved {out_dir / "shopping.dot"}' in out
    png = out_dir / 'shopping.png'
    if has_module('graphviz') and shutil.which('dot'):
        assert png.read_bytes().startswith(b'\x89PNG') and f'saved {png}' in out
    else:
        assert 'no PNG: ' in out and not png.exists(), out


def test_shopping_values_and_gradients_in_python():
    shopping = load_example('shopping.py')
    price, v = shopping.shopping()
    assert price.data == pytest.approx(715.0)
    grads = {name: float(var.grad.data) for name, var in v.items()}
    assert grads == pytest.approx(
        {
            'apple': 2.2,
            'apple_num': 110.0,
            'orange': 3.3,
            'orange_num': 165.0,
            'tax': 650.0,
            'apple_price': 1.1,
            'orange_price': 1.1,
            'all_price': 1.1,
        },
        abs=1e-12,
    )
    # other prices: d price / d apple_num = apple * tax
    price, v = shopping.shopping(apple=120.0, apple_num=5.0, tax=1.08)
    assert shopping.number(price.data) == '1134'  # (600 + 450) * 1.08
    assert shopping.number(v['apple_num'].grad.data) == '129.6'


def test_shopping_number_rounds_away_float_noise_only():
    number = load_example('shopping.py').number
    assert number(715.0000000000001) == '715'
    assert number(2.2000000000000002) == '2.2'
    assert number(np.array(0.1 + 0.2)) == '0.3'
    assert number(1234.5678) == '1234.5678'
    assert number(-3.0) == '-3'


def test_shopping_dot_puts_values_and_gradients_on_the_edges():
    shopping = load_example('shopping.py')
    price, _ = shopping.shopping()
    dot = shopping.value_graph_dot(price)

    def edges(prefix):
        """(tail label, head label, edge label) of one cluster's edges."""
        labels = dict(re.findall(rf'^\s*({prefix}\d+) \[label="([^"]*)", shape=', dot, re.M))
        return sorted(
            (labels[a], labels[b], text)
            for a, b, text in re.findall(
                rf'^\s*({prefix}\d+) -> ({prefix}\d+) \[label="([^"]*)"', dot, re.M
            )
        )

    assert edges('f') == sorted(
        [
            ('apple', '×', '100'),
            ('apple_num', '×', '2'),
            ('orange', '×', '150'),
            ('orange_num', '×', '3'),
            ('×', '+', '200'),
            ('×', '+', '450'),
            ('+', '×', '650'),
            ('tax', '×', '1.1'),
            ('×', 'price', '715'),
        ]
    )
    assert edges('b') == sorted(
        [
            ('apple', '×', '2.2'),
            ('apple_num', '×', '110'),
            ('orange', '×', '3.3'),
            ('orange_num', '×', '165'),
            ('×', '+', '1.1'),
            ('×', '+', '1.1'),
            ('+', '×', '1.1'),
            ('tax', '×', '650'),
            ('×', 'price', '1'),
        ]
    )
    assert dot.count('dir=back') == 9  # backward edges point back


# ---- examples/two_layer_net.py ---------------------------------------------------------
def test_two_layer_net_smoke_checks_gradients_trains_and_plots(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example(
        'two_layer_net.py', '--smoke', '--epochs', '5', '--out', str(out_dir), cwd=tmp_path
    )
    diffs = re.findall(
        r'^  (l[12]/[Wb]) +max abs diff (\S+)  max rel diff (\S+)  '
        r'\((\d+) entries\)$',
        out,
        re.M,
    )
    assert [d[0] for d in diffs] == ['l1/W', 'l1/b', 'l2/W', 'l2/b'], out
    assert all(float(d[2]) < 1e-7 and float(d[1]) < 1e-8 for d in diffs), out
    assert [int(d[3]) for d in diffs] == [100, 50, 100, 10]  # --smoke samples 100
    test_accs = re.findall(r'^epoch \d/5  loss \S+  train acc \S+  test acc (\S+)$', out, re.M)
    assert len(test_accs) == 5, out
    final = re.search(r'final train accuracy (\S+), test accuracy (\S+)$', out, re.M)
    assert float(final[2]) == float(test_accs[-1]) >= 0.8, out
    assert_pictures(out, [out_dir / 'two_layer_net.png'])


def test_two_layer_net_gradient_check_covers_every_entry_in_float64():
    tln = load_example('two_layer_net.py')
    np.random.seed(0)
    model = tln.TwoLayerNet(hidden=4, dtype=np.float64)
    x = np.random.rand(3, 6)
    report = tln.check_gradients(model, x, np.array([0, 3, 9]))
    assert {name: n for name, (_, _, n) in report.items()} == {
        'l1/W': 24,
        'l1/b': 4,
        'l2/W': 40,
        'l2/b': 10,
    }
    assert max(rel for _, rel, _ in report.values()) < 1e-7, report


def test_numerical_gradient_probes_only_the_chosen_entries():
    tln = load_example('two_layer_net.py')
    w = Parameter(np.array([[1.0, -2.0], [3.0, 0.5]]))
    before = w.data.copy()
    grad = tln.numerical_gradient(lambda: float(np.sum(w.data**3)), w, [0, 3])
    np.testing.assert_allclose(grad, [[3.0, 0.0], [0.0, 0.75]], rtol=1e-7)
    np.testing.assert_array_equal(w.data, before)  # every entry put back


class WrongSigmoid(Function):
    """sigmoid with a wrong derivative (y instead of y * (1 - y))."""

    def forward(self, x):
        return 1.0 / (1.0 + np.exp(-x))

    def backward(self, gy):
        return gy * self.outputs[0]()


class BrokenNet(dezero.Model):
    def __init__(self, hidden, dtype=np.float32):
        super().__init__()
        self.l1 = dezero.layers.Linear(hidden, dtype=dtype)
        self.l2 = dezero.layers.Linear(10, dtype=dtype)

    def forward(self, x):
        return self.l2(WrongSigmoid()(self.l1(x)))


def test_two_layer_net_fails_when_backprop_is_wrong(tmp_path, monkeypatch, capsys):
    tln = load_example('two_layer_net.py')
    monkeypatch.setattr(tln, 'make_model', BrokenNet)
    status = tln.main(['--smoke', '--out', str(tmp_path / 'out')])
    captured = capsys.readouterr()
    assert status == 1, captured.out
    assert 'gradient check FAILED' in captured.err
    rel = dict(re.findall(r'^  (l[12]/[Wb]) .* max rel diff (\S+)', captured.out, re.M))
    assert float(rel['l1/W']) > 1e-2 and float(rel['l2/W']) < 1e-7, captured.out
    assert 'epoch' not in captured.out and not (tmp_path / 'out').exists()


def test_two_layer_net_checks_at_most_the_training_images(tmp_path, capsys):
    # --check-images 100000000 was refused: "the run needs about 1.8 TiB", for a check
    # that takes at most the 500 training images of --smoke
    tln = load_example('two_layer_net.py')
    args = ['--smoke', '--check-images', '100000000', '--check-entries', '5', '--epochs', '1']
    assert tln.main([*args, '--out', str(tmp_path)]) == 0
    assert 'gradient check on 500 images (float64' in capsys.readouterr().out


def test_two_layer_net_names_check_images_when_the_check_does_not_fit(
    tmp_path, monkeypatch, capsys
):
    tln = load_example('two_layer_net.py')
    import options

    monkeypatch.setattr(options, 'available_memory', lambda: 4 * 2**20)
    monkeypatch.setattr(sys, 'argv', ['two_layer_net.py'])
    with pytest.raises(SystemExit) as exit_info:  # 500 images in float64: about 10 MiB
        tln.main(['--smoke', '--check-images', '500', '--out', str(tmp_path / 'out')])
    assert re.fullmatch(
        r'two_layer_net\.py: not enough memory for --hidden 50, --check-images 500: the run '
        r'needs about \d+\.\d MiB, and 4\.0 MiB is available; give smaller sizes',
        exit_info.value.code,
    ), exit_info.value.code
    with pytest.raises(SystemExit) as exit_info:  # the default 3 images are not to blame
        tln.main(['--smoke', '--hidden', '1000', '--out', str(tmp_path / 'out')])
    assert 'not enough memory for --hidden 1000: ' in exit_info.value.code
    assert 'gradient check' not in capsys.readouterr().out
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize(
    'script, args, message',
    [
        ('two_layer_net.py', ['--tolerance', 'nan'], 'argument --tolerance: must be a positive'),
        ('two_layer_net.py', ['--tolerance', '-1'], 'argument --tolerance: must be a positive'),
        ('two_layer_net.py', ['--tolerance', '0'], 'argument --tolerance: must be a positive'),
        (
            'overfitting.py',
            ['--weight-decay', 'inf'],
            'argument --weight-decay: must be a finite number of 0 or more, got inf',
        ),
        (
            'overfitting.py',
            ['--weight-decay', '-1'],
            'argument --weight-decay: must be a finite number of 0 or more, got -1',
        ),
        ('overfitting.py', ['--dropout', 'nan'], '--dropout must be in [0, 1), got nan'),
    ],
)
def test_bad_options_are_refused(script, args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_example(script).main(['--smoke', *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# ---- examples/overfitting.py -----------------------------------------------------------
def test_overfitting_network_has_its_own_layer_and_functions_per_hidden_layer():
    ovf = load_example('overfitting.py')
    np.random.seed(0)
    net = ovf.DeepNet(dropout=0.2)
    assert len(net.layers) == 7
    assert len({id(layer) for layer in net.layers}) == 7
    assert [getattr(net, f'l{i}') for i in range(7)] == net.layers
    assert len({id(p) for p in net.params()}) == len(list(net.params())) == 14
    assert [layer.W.shape for layer in net.layers] == [(784, 100)] + [(100, 100)] * 5 + [(100, 10)]
    # He initialisation on the hidden layers: std sqrt(2 / fan_in)
    assert np.std(net.l0.W.data) == pytest.approx((2 / 784) ** 0.5, rel=0.05)
    assert np.std(net.l3.W.data) == pytest.approx((2 / 100) ** 0.5, rel=0.05)
    assert np.std(net.l6.W.data) == pytest.approx((1 / 100) ** 0.5, rel=0.15)
    assert net.l0.W.dtype == np.float32

    x = np.random.rand(4, 784).astype(np.float32)
    kinds = [type(f).__name__ for f in functions_behind(net(x))]
    assert kinds.count('Dropout') == kinds.count('ReLU') == 6, kinds
    assert kinds.count('Linear') == 7, kinds
    with dezero.test_mode():
        kinds = [type(f).__name__ for f in functions_behind(net(x))]
    assert 'Dropout' not in kinds and kinds.count('ReLU') == 6, kinds
    kinds = [type(f).__name__ for f in functions_behind(ovf.DeepNet()(x))]
    assert 'Dropout' not in kinds and kinds.count('ReLU') == 6, kinds


def test_overfitting_weight_decay_hook_shrinks_the_weights():
    ovf = load_example('overfitting.py')
    from mnist_data import synthetic_digits  # examples/ is on the path now

    data = synthetic_digits(300, seed=1)
    plain = ovf.train(data, data, epochs=3, progress=False)
    decayed = ovf.train(data, data, epochs=3, weight_decay=0.5, progress=False)
    assert len(plain['train_acc']) == len(plain['test_acc']) == 3

    def norm(model):
        return sum(float(np.sum(p.data**2)) for p in model.params())

    assert norm(decayed['model']) < 0.99 * norm(plain['model'])


def test_overfitting_setting_names():
    name = load_example('overfitting.py').setting_name
    assert name(0.0, 0.0) == 'plain'
    assert name(0.1, 0.0) == 'weight decay 0.1'
    assert name(0.0, 0.2) == 'dropout 0.2'
    assert name(0.1, 0.5) == 'weight decay 0.1 + dropout 0.5'


def test_overfitting_smoke_compares_three_settings_in_one_figure(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example('overfitting.py', '--smoke', '--out', str(out_dir), cwd=tmp_path)
    assert 'training on 300 images for 20 epochs, testing on 500' in out
    rows = re.findall(
        r'^(plain|weight decay 0\.1|dropout 0\.2) +(\d\.\d{4}) +'
        r'(\d\.\d{4}) +(-?\d\.\d{4})$',
        out,
        re.M,
    )
    assert [r[0] for r in rows] == ['plain', 'weight decay 0.1', 'dropout 0.2'], out
    for name, train_acc, test_acc, gap in rows:
        assert float(gap) == pytest.approx(float(train_acc) - float(test_acc), abs=2e-4)
    assert float(rows[0][1]) >= 0.5, out  # the plain network learns
    assert_pictures(out, [out_dir / 'overfitting.png'])


def test_overfitting_single_setting_on_holdout_files(tmp_path):
    """--holdout: 300 images from the training part, the held-out part for testing;
    --dropout alone trains that one setting."""
    mnist_files.write_split(tmp_path / 'data', *mnist_files.block_digits(600), train=False)
    out = run_example(
        'overfitting.py',
        '--data-dir',
        str(tmp_path / 'data'),
        '--holdout',
        '200',
        '--dropout',
        '0.3',
        '--epochs',
        '3',
        '--quiet',
        '--out',
        str(tmp_path / 'pictures'),
        cwd=tmp_path,
    )
    assert 'training on 300 images for 3 epochs, testing on 200' in out
    assert re.findall(r'^(\S.*\S) +\d\.\d{4} +\d\.\d{4} +-?\d\.\d{4}$', out, re.M) == [
        'dropout 0.3'
    ], out
    assert not re.search(r'^epoch ', out, re.M), out  # --quiet


def test_overfitting_needs_300_training_images(tmp_path):
    mnist_files.write_split(tmp_path, *mnist_files.block_digits(250), train=False)
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / 'overfitting.py'),
            '--data-dir',
            str(tmp_path),
            '--holdout',
            '50',
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert 'need 300 training images, got 200' in result.stderr

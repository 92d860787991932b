"""examples/grad_cam.py and examples/style_transfer.py with their shared
examples/vgg16_features.py: the scripts run with --smoke as a user runs them, their
pieces compute what they say on small cases, and without the pretrained weights they
say what is missing and where it belongs.

The smoke runs use the small VGG16-shaped stand-in; only the test marked slow builds
VGG16 itself (138M parameters, seconds to create).
"""

import importlib
import re
import sys
import warnings
import urllib.error
import urllib.request

import numpy as np
import pytest

import dezero
import dezero.datasets
import dezero.functions as F
from dezero import Variable
from dezero.gradcheck import gradgrad_check, gradient_check
from dezero.models import VGG16
from example_runner import assert_pictures, load_example, run_example


@pytest.fixture(scope='module')
def grad_cam():
    return load_example('grad_cam.py')


@pytest.fixture(scope='module')
def style():
    return load_example('style_transfer.py')


@pytest.fixture(scope='module')
def vgg(grad_cam):
    """The shared module, as the examples import it (the fixture above puts the
    examples' folder on sys.path)."""
    return importlib.import_module('vgg16_features')


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No URL can be opened, and DEZERO_HOME is a fresh folder; returns that folder."""

    def refuse(url, *args, **kwargs):
        raise urllib.error.URLError('no network in this test')

    monkeypatch.setattr(urllib.request, 'urlopen', refuse)
    home = tmp_path / 'home'
    monkeypatch.setenv('DEZERO_HOME', str(home))
    return home


def small_model(vgg, seed=0):
    np.random.seed(seed)
    return vgg.SmallVGG16()


def write_png(vgg, path, height, width):
    """A generated photo saved as a PNG file (Pillow needed)."""
    image_module = pytest.importorskip('PIL.Image')
    image_module.fromarray(vgg.generated_photo(height, width)).save(path)
    return path


# ---- the scripts ---------------------------------------------------------------------
def test_grad_cam_script_classifies_and_saves_a_heat_map_of_the_image_size(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example('grad_cam.py', '--smoke', '--out', str(out_dir), cwd=tmp_path)
    assert 'small VGG16-shaped network with random weights' in out
    ranks = re.findall(r'^  (\d)\. class (\d+)  probability (\d\.\d{4})$', out, re.M)
    assert [int(r[0]) for r in ranks] == [1, 2, 3, 4, 5], out
    probabilities = [float(r[2]) for r in ranks]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sum(probabilities) <= 1.0005 and len({r[1] for r in ranks}) == 5
    top = ranks[0][1]
    assert re.search(
        rf'^Grad-CAM of class {top} \(score \S+\) on conv5_3: 32 channel '
        rf'weights, \d+ positive$',
        out,
        re.M,
    ), out
    heat = re.search(
        r'^heat map 14x14 upsampled to 224x224, values in \[(\S+), (\S+)\], '
        r'strongest at x=(\d+) y=(\d+)$',
        out,
        re.M,
    )
    assert heat, out
    low, high, x, y = float(heat[1]), float(heat[2]), int(heat[3]), int(heat[4])
    assert 0 <= low < high == 1.0 and 0 <= x < 224 and 0 <= y < 224
    assert_pictures(out, [out_dir / 'grad_cam.png', out_dir / 'grad_cam_overlay.png'])


def test_style_transfer_script_lowers_the_loss_and_saves_the_result(tmp_path):
    out_dir = tmp_path / 'pictures'
    out = run_example('style_transfer.py', '--smoke', '--out', str(out_dir), cwd=tmp_path)
    assert '20 iterations at 48x48 (width x height)' in out
    lines = re.findall(
        r'^iter +(\d+)/20  loss (\S+)  content (\S+)  style (\S+)  tv (\S+)  '
        r'\(\d+\.\d\d s/iter\)$',
        out,
        re.M,
    )
    assert [int(line[0]) for line in lines] == list(range(1, 21)), out
    loss, content, style_, tv = (np.array([float(line[i]) for line in lines]) for i in (1, 2, 3, 4))
    np.testing.assert_allclose(loss, content + style_ + tv, rtol=1e-3)
    assert content[0] == 0 and (content[1:] > 0).all()  # it starts from the photo
    assert (style_ > 0).all() and (tv > 0).all()
    assert loss[-1] < loss[0] / 10, loss
    lower = re.search(
        rf'at the first iteration, {re.escape(lines[-1][1])} at the last '
        rf'\((\d+\.\d)x lower\)$',
        out,
        re.M,
    )
    assert lower and float(lower[1]) == pytest.approx(loss[0] / loss[-1], rel=1e-3, abs=0.06)
    assert_pictures(
        out,
        [
            out_dir / 'style_transfer.png',
            out_dir / 'style_transfer_result.png',
            out_dir / 'style_transfer_loss.png',
        ],
    )


def test_style_transfer_with_only_the_content_loss_has_nothing_to_lower(tmp_path, style, capsys):
    args = ['--smoke', '--iters', '2', '--style-weight', '0', '--tv-weight', '0']
    assert style.main([*args, '--out', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'at the last (0 from the start: nothing to lower)' in out, out


def test_style_transfer_says_higher_when_the_loss_rose(tmp_path, style, capsys):
    # a step too large raised the loss, and the line said "(0.3x lower)"
    args = ['--smoke', '--iters', '3', '--lr', '1000', '--out', str(tmp_path)]
    assert style.main(args) == 0
    out = capsys.readouterr().out
    line = re.search(r'^loss (\S+) at the first iteration, (\S+) at the last (.*)$', out, re.M)
    first, last = float(line[1]), float(line[2])
    assert last > first, out
    assert line[3] == f'({last / first:.1f}x higher)', out
    assert style.loss_change(2.0, 5.0) == ' (2.5x higher)'
    assert style.loss_change(5.0, 2.0) == ' (2.5x lower)'
    assert style.loss_change(0.0, 5.0) == ' (up from 0)'
    assert style.loss_change(5.0, 0.0) == ' (down to 0)'


@pytest.mark.parametrize(
    'script, args',
    [
        ('grad_cam.py', ['--image', 'IMAGE']),
        ('style_transfer.py', ['--content', 'IMAGE', '--style', 'IMAGE']),
    ],
)
def test_without_the_weights_offline_the_scripts_say_what_is_missing(
    script, args, vgg, offline, tmp_path, capsys
):
    image = str(write_png(vgg, tmp_path / 'photo.png', 40, 60))
    module = load_example(script)
    with pytest.raises(SystemExit) as exit_info:
        module.main([image if a == 'IMAGE' else a for a in args] + ['--out', str(tmp_path / 'out')])
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    folder = str(offline / 'models')
    assert f'{folder}/vgg16.npz is missing: downloading it' in out
    assert 'no network in this test' in err
    assert (
        f'the file vgg16.npz (about 550 MB, from {VGG16.WEIGHTS_PATH}) in the folder {folder}'
        in err
    )
    assert '--random-weights' in err
    assert 'pretrained=False' not in err  # the library's advice, for code, not for a user
    assert not (tmp_path / 'out').exists()


def test_grad_cam_names_an_unreadable_image_and_a_missing_pillow(
    grad_cam, tmp_path, monkeypatch, capsys
):
    missing = tmp_path / 'missing.jpg'
    with pytest.raises(SystemExit) as exit_info:
        grad_cam.main(['--image', str(missing)])
    assert exit_info.value.code == 1
    assert f'cannot read the image {missing}' in capsys.readouterr().err
    not_an_image = tmp_path / 'notes.jpg'
    not_an_image.write_text('no picture here')
    with pytest.raises(SystemExit):
        grad_cam.main(['--image', str(not_an_image)])
    assert f'cannot read the image {not_an_image}' in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, 'PIL', None)  # import PIL now fails
    with pytest.raises(SystemExit):
        grad_cam.main(['--image', str(missing)])
    assert 'needs Pillow, which is not installed' in capsys.readouterr().err


def test_read_image_scales_16_bit_pixels_to_8_bits(vgg, tmp_path):
    # Pillow's convert('RGB') clipped every value above 255: an almost white picture
    image_module = pytest.importorskip('PIL.Image')
    ramp = np.linspace(0, 65535, 12 * 20).reshape(12, 20).astype(np.uint16)
    ramp[0, :3] = [0, 128, 129]  # 129/257 is the first value rounded up to 1
    for order in ('<u2', '>u2'):  # Pillow's modes I;16 and I;16B
        path = tmp_path / 'grey16.png'
        image_module.fromarray(ramp.astype(order)).save(path)
        rgb = vgg.read_image(str(path))
        assert rgb.dtype == np.uint8 and rgb.shape == (12, 20, 3)
        expected = np.floor(ramp / 257 + 0.5).astype(np.uint8)
        for channel in range(3):
            np.testing.assert_array_equal(rgb[:, :, channel], expected)
        assert list(rgb[0, :3, 0]) == [0, 0, 1] and rgb.max() == 255


def test_read_image_scales_16_bit_pixels_pillow_opens_as_32_bit_ones(vgg, tmp_path):
    # Pillow opens a 16-bit PGM (and, before its 10.3, a 16-bit PNG) in mode 'I': it
    # was refused as 32-bit integers
    image_module = pytest.importorskip('PIL.Image')
    path = tmp_path / 'grey16.tif'  # 32-bit integers in the file, within 16 bits
    image_module.fromarray(np.array([[0, 128, 129, 257, 32768, 65535]], np.int32)).save(path)
    with image_module.open(path) as image:
        assert image.mode == 'I'
    rgb = vgg.read_image(str(path))
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 6, 3)
    assert list(rgb[0, :, 0]) == [0, 0, 1, 1, 128, 255] and (rgb == rgb[:, :, :1]).all()


@pytest.mark.parametrize(
    'dtype, mode, kind',
    [
        (np.int32, 'I', '32-bit integers beyond 0..65535'),
        (np.float32, 'F', 'floating-point numbers'),
    ],
)
def test_read_image_refuses_pixels_without_a_scale_to_8_bits(
    vgg, dtype, mode, kind, tmp_path, monkeypatch, capsys
):
    image_module = pytest.importorskip('PIL.Image')
    path = tmp_path / 'wide.tif'
    image_module.fromarray(np.arange(6, dtype=dtype).reshape(2, 3) * 100000).save(path)
    monkeypatch.setattr(sys, 'argv', ['grad_cam.py'])
    with pytest.raises(SystemExit) as exit_info:
        vgg.read_image(str(path))
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == (
        f"grad_cam.py: cannot read the image {path}: its pixels are {kind} (Pillow's mode "
        f'{mode}), which have no one scale to 8 bits; save it with 8 or 16 bits per channel\n'
    )


@pytest.mark.parametrize('pixels, warnings_as_errors', [(400, False), (150, True)])
def test_read_image_names_an_image_over_pillows_pixel_limit(
    vgg, pixels, warnings_as_errors, tmp_path, monkeypatch, capsys
):
    # PIL.Image.DecompressionBombError ended the script with a traceback; Pillow
    # refuses twice its limit, and warns above the limit (an error with -W error)
    image_module = pytest.importorskip('PIL.Image')
    path = tmp_path / 'bomb.png'
    image_module.new('1', (pixels, 1)).save(path)
    monkeypatch.setattr(image_module, 'MAX_IMAGE_PIXELS', 100)
    monkeypatch.setattr(sys, 'argv', ['style_transfer.py'])
    with warnings.catch_warnings():
        if warnings_as_errors:
            warnings.simplefilter('error', image_module.DecompressionBombWarning)
        with pytest.raises(SystemExit) as exit_info:
            vgg.read_image(str(path))
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f'style_transfer.py: cannot read the image {path}: ') and (
        err.count('\n') == 1
    ), err
    limit = 100 if warnings_as_errors else 200
    assert f'({pixels} pixels) exceeds limit of {limit} pixels' in err, err


@pytest.mark.parametrize(
    'script, option, output',
    [
        ('grad_cam.py', '--image', 'grad_cam_overlay.png'),
        ('style_transfer.py', '--content', 'style_transfer_result.png'),
        ('style_transfer.py', '--style', 'style_transfer.png'),
    ],
)
def test_an_image_the_script_would_write_over_is_refused(
    vgg, script, option, output, tmp_path, capsys
):
    # style_transfer.py --content out/style_transfer_result.png --out out replaced the
    # photo by the result
    image = write_png(vgg, tmp_path / output, 40, 60)
    photo = write_png(vgg, tmp_path / 'photo.png', 40, 60)
    images = {'--content': str(photo), '--style': str(photo)} if script != 'grad_cam.py' else {}
    images[option] = str(image)
    args = [*sum(images.items(), ()), '--random-weights', '--out', str(tmp_path)]
    if script == 'style_transfer.py':
        args += ['--iters', '1', '--size', '16']
    with pytest.raises(SystemExit) as exit_info:
        load_example(script).main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f'--out: cannot write {image}: it is the file of {option} {image}, which' in err, err
    assert image.read_bytes() == write_png(vgg, tmp_path / 'again.png', 40, 60).read_bytes()


@pytest.mark.parametrize(
    'script, args, message',
    [
        ('grad_cam.py', [], '--image PATH'),
        ('grad_cam.py', ['--smoke', '--class-index', '1000'], 'in 0..999, got 1000'),
        ('style_transfer.py', ['--content', 'a.jpg'], '--content PATH --style PATH'),
        ('style_transfer.py', ['--smoke', '--size', '8'], '--size must be 16 or more, got 8'),
        ('style_transfer.py', ['--smoke', '--iters', '0'], '--iters must be 1 or more, got 0'),
        ('style_transfer.py', ['--smoke', '--lr', '0'], 'argument --lr: must be a positive'),
        ('style_transfer.py', ['--smoke', '--lr', 'inf'], 'argument --lr: must be a positive'),
        (
            'style_transfer.py',
            ['--smoke', '--style-weight', 'nan'],
            'argument --style-weight: must be a finite number of 0 or more, got nan',
        ),
        (
            'style_transfer.py',
            ['--smoke', '--tv-weight', 'inf'],
            'argument --tv-weight: must be a finite number of 0 or more, got inf',
        ),
    ],
)
def test_bad_options_are_refused(script, args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_example(script).main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# ---- Grad-CAM ------------------------------------------------------------------------
def hand_made_map():
    """A feature map of one image with two 2x2 channels."""
    return np.array([[[[1, 2], [3, 4]], [[4, 0], [0, 0]]]], np.float32)


def test_grad_cam_of_a_linear_head_weights_channels_by_their_mean_gradient(grad_cam):
    a = hand_made_map()
    # class 0 reads channel 0 with weight 1 and channel 1 with -0.5 everywhere;
    # class 1 reads channel 0 at one position only (weight 4) and channel 1 with 2
    W = np.array(
        [[1, 0], [1, 0], [1, 0], [1, 4], [-0.5, 2], [-0.5, 2], [-0.5, 2], [-0.5, 2]], np.float32
    )

    def head(x):
        return F.matmul(F.reshape(x, (1, 8)), W)

    cam, weights, score = grad_cam.grad_cam(a, head, 0)
    np.testing.assert_array_equal(weights, [1, -0.5])
    np.testing.assert_array_equal(cam, [[0, 2], [3, 4]])  # relu(A0 - A1 / 2)
    assert score == 8.0 and cam.dtype == weights.dtype == np.float32
    cam, weights, score = grad_cam.grad_cam(Variable(a), head, 1)
    np.testing.assert_array_equal(weights, [1, 2])  # 4 at one of 4 positions
    np.testing.assert_array_equal(cam, [[9, 2], [3, 4]])  # A0 + 2 A1
    assert score == 24.0


def test_grad_cam_of_a_quadratic_head_uses_the_gradient_at_the_map(grad_cam):
    a = hand_made_map()
    # class k scores the sum of squares of channel k: dy/dA_k = 2 A_k, 0 for the other
    cam, weights, score = grad_cam.grad_cam(a, lambda x: F.sum(x**2, axis=(2, 3)), 1)
    np.testing.assert_array_equal(weights, [0, 2])
    np.testing.assert_array_equal(cam, [[8, 0], [0, 0]])
    assert score == 16.0
    cam, weights, _ = grad_cam.grad_cam(-a, lambda x: F.sum(x**2, axis=(2, 3)), 0)
    np.testing.assert_array_equal(weights, [-5, 0])
    np.testing.assert_array_equal(cam, [[5, 10], [15, 20]])  # relu(-5 * -A0)


def test_grad_cam_refuses_a_batch_and_a_class_out_of_range(grad_cam):
    head = lambda x: F.sum(x, axis=(2, 3))  # noqa: E731
    with pytest.raises(ValueError, match=r'grad_cam: .*one image.*\(2, 2, 2, 2\)'):
        grad_cam.grad_cam(np.zeros((2, 2, 2, 2), np.float32), head, 0)
    with pytest.raises(ValueError, match=r'class_index must be in 0\.\.1, got 2'):
        grad_cam.grad_cam(hand_made_map(), head, 2)


def test_normalize_scales_the_peak_to_1(grad_cam):
    np.testing.assert_array_equal(
        grad_cam.normalize(np.array([[0, 2], [1, 4.0]])), [[0, 0.5], [0.25, 1]]
    )
    zeros = grad_cam.normalize(np.zeros((2, 3), np.float32))
    assert zeros.dtype == np.float32 and not zeros.any()


def test_resize_bilinear_samples_at_pixel_centres(grad_cam):
    # f(y, x) = 2y + x is linear, so bilinear interpolation gives it exactly: output
    # pixels 0..3 of 4 sample the input at -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]
    p = np.array([0, 0.25, 0.75, 1])
    up = grad_cam.resize_bilinear(np.array([[0, 1], [2, 3.0]]), 4, 4)
    np.testing.assert_allclose(up, 2 * p[:, None] + p[None, :], atol=1e-12)
    a = np.random.default_rng(0).random((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(grad_cam.resize_bilinear(a, 3, 5), a)
    tall = grad_cam.resize_bilinear(a, 7, 2)
    assert tall.shape == (7, 2) and tall.dtype == np.float32
    assert a.min() <= tall.min() and tall.max() <= a.max()
    np.testing.assert_array_equal(
        grad_cam.resize_bilinear(np.full((1, 1), 0.5), 2, 3), np.full((2, 3), 0.5)
    )
    with pytest.raises(ValueError, match='2-D array'):
        grad_cam.resize_bilinear(np.zeros((2, 2, 3)), 4, 4)


def test_overlay_blends_the_colours_into_the_image(grad_cam):
    image = np.array([[[100, 0, 200], [255, 255, 255]]], np.uint8)
    colors = np.array([[[1, 0, 0.5], [0, 0, 0]]])
    blend = grad_cam.overlay(image, colors, alpha=0.4)
    # 0.6 * 100 + 0.4 * 255 = 162;  0.6 * 200 + 0.4 * 127.5 = 171;  0.6 * 255 = 153
    np.testing.assert_array_equal(blend, [[[162, 0, 171], [153, 153, 153]]])
    assert blend.dtype == np.uint8
    with pytest.raises(ValueError, match=r'overlay: .*\(1, 2, 3\).*\(1, 1, 3\)'):
        grad_cam.overlay(image, colors[:, :1])


def test_explain_gives_a_map_of_the_image_size_for_the_chosen_class(grad_cam, vgg):
    pytest.importorskip('PIL')  # the image is resized to 224x224
    model = small_model(vgg)
    image = vgg.generated_photo(90, 150, seed=3)
    result = grad_cam.explain(model, image)
    probabilities = result['probabilities']
    assert probabilities.shape == (1000,) and probabilities.dtype == np.float32
    assert probabilities.sum() == pytest.approx(1, abs=1e-4)
    assert result['class_index'] == int(np.argmax(probabilities))
    assert result['cam'].shape == (14, 14) and result['weights'].shape == (32,)
    heat = result['heat']
    assert heat.shape == (90, 150) and heat.dtype == np.float32
    assert heat.min() >= 0 and heat.max() == 1
    # the score is the top class's entry of VGG16's scores for the preprocessed image
    x = VGG16.preprocess(image)[np.newaxis]
    with dezero.no_grad():
        scores = model(x).data[0]
    assert result['score'] == pytest.approx(float(scores.max()), rel=1e-5)
    other = grad_cam.explain(model, image, class_index=7)
    assert other['class_index'] == 7
    assert other['score'] == pytest.approx(float(scores[7]), rel=1e-5, abs=1e-4)
    assert not np.array_equal(other['weights'], result['weights'])
    assert all(p.grad is None for p in model.params())  # no gradient left behind


def test_class_names_come_from_imagenet_labels_when_it_can_give_them(grad_cam, monkeypatch, capsys):
    class Names:
        @staticmethod
        def labels():
            return {3: 'tiger shark, Galeocerdo cuvieri'}

    class Offline:
        @staticmethod
        def labels():
            raise OSError('vgg: no network')

    monkeypatch.setattr(dezero.datasets, 'ImageNet', Names, raising=False)
    labels = grad_cam.imagenet_labels()
    assert grad_cam.class_name(labels, 3) == '3 tiger shark, Galeocerdo cuvieri'
    monkeypatch.setattr(dezero.datasets, 'ImageNet', Offline)
    assert grad_cam.imagenet_labels() is None
    assert 'class names are not available (vgg: no network)' in capsys.readouterr().out
    monkeypatch.delattr(dezero.datasets, 'ImageNet')
    assert grad_cam.imagenet_labels() is None
    assert grad_cam.class_name(None, 3) == '3'


# ---- the shared VGG16 helpers ------------------------------------------------------------
def test_feature_maps_walks_vgg16s_convolutions_in_order(vgg):
    model = small_model(vgg)
    x = np.random.default_rng(0).normal(size=(1, 3, 32, 32)).astype(np.float32)
    maps = list(vgg.feature_maps(model, x))
    assert [name for name, _ in maps] == list(vgg.CONV_NAMES)
    sizes = {'1': (4, 32), '2': (8, 16), '3': (16, 8), '4': (32, 4), '5': (32, 2)}
    for name, m in maps:
        channels, side = sizes[name[4]]
        assert m.shape == (1, channels, side, side) and m.dtype == np.float32, name
        assert (m.data >= 0).all()  # after the ReLU
    # conv2_1 reads conv1_2's map through a 2x2 max pooling
    first = dict(maps)
    expected = F.relu(model.conv2_1(F.pooling(first['conv1_2'], 2, stride=2)))
    np.testing.assert_array_equal(first['conv2_1'].data, expected.data)


def test_to_rgb_undoes_vgg16_preprocess(vgg):
    rgb = np.random.default_rng(1).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    x = VGG16.preprocess(rgb, size=(5, 4))
    np.testing.assert_array_equal(vgg.to_rgb(x[np.newaxis]), rgb)
    np.testing.assert_array_equal(vgg.to_rgb(Variable(x.astype(np.float64))), rgb)
    low, high = vgg.pixel_bounds()
    assert low.shape == (1, 3, 1, 1) and low.dtype == np.float32
    np.testing.assert_array_equal(vgg.to_rgb(np.broadcast_to(low, (1, 3, 2, 2))), 0)
    np.testing.assert_array_equal(vgg.to_rgb(np.broadcast_to(high, (1, 3, 2, 2))), 255)
    with pytest.raises(ValueError, match=r'to_rgb: .*\(2, 3, 4, 4\)'):
        vgg.to_rgb(np.zeros((2, 3, 4, 4)))


def test_fit_size_scales_the_longer_side(vgg):
    assert vgg.fit_size(300, 400, 224) == (224, 168)  # (width, height)
    assert vgg.fit_size(400, 300, 224) == (168, 224)
    assert vgg.fit_size(10, 1000, 100) == (100, 1)


def test_generated_images_are_rgb_bytes(vgg):
    photo, pattern = vgg.generated_photo(30, 40, seed=1), vgg.generated_pattern(30, 40)
    assert photo.shape == pattern.shape == (30, 40, 3)
    assert photo.dtype == pattern.dtype == np.uint8
    np.testing.assert_array_equal(vgg.generated_photo(30, 40, seed=1), photo)
    assert len(np.unique(pattern.reshape(-1, 3), axis=0)) == 2


@pytest.mark.slow
def test_the_walk_through_vgg16s_layers_gives_vgg16s_scores(vgg, grad_cam):
    """feature_maps + class_scores compute what VGG16.forward computes in test mode."""
    np.random.seed(0)
    model = VGG16()
    x = np.random.default_rng(0).normal(0, 50, (1, 3, 224, 224)).astype(np.float32)
    with dezero.no_grad(), dezero.test_mode():
        expected = model(x).data
        maps = dict(vgg.feature_maps(model, x))
        scores = vgg.class_scores(model, maps['conv5_3']).data
    assert maps['conv5_3'].shape == (1, 512, 14, 14)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5 * abs(expected).max())
    result = grad_cam.explain(model, grad_cam.generated_photo(224, 224))
    assert result['heat'].shape == (224, 224) and result['weights'].shape == (512,)


# ---- style transfer ------------------------------------------------------------------
def known_features(dtype=np.float32):
    """One image, two channels of 2x2: F = [[1, 2, 3, 4], [0, 1, 0, 1]] as a matrix."""
    return np.array([[[[1, 2], [3, 4]], [[0, 1], [0, 1]]]], dtype)


def test_gram_matrix_of_a_known_map_and_its_gradient(style):
    features = Variable(known_features())
    gram = style.gram_matrix(features)
    # F Fᵀ = [[30, 6], [6, 2]], divided by C*H*W = 8
    np.testing.assert_array_equal(gram.data, [[3.75, 0.75], [0.75, 0.25]])
    assert gram.dtype == np.float32
    U = np.array([[1, 2], [0, 1]], np.float32)
    F.sum(gram * U).backward()
    # (U + Uᵀ) F / 8 = [[2, 2], [2, 2]] F / 8: each channel gets (F0 + F1) / 4
    row = np.array([[0.25, 0.75], [0.75, 1.25]])
    np.testing.assert_array_equal(features.grad.data, [[row, row]])
    x = np.random.default_rng(2).normal(size=(1, 3, 2, 3))
    assert gradient_check(style.gram_matrix, x)
    assert gradgrad_check(style.gram_matrix, x)
    with pytest.raises(ValueError, match=r'gram_matrix: .*one image.*\(2, 2, 2, 2\)'):
        style.gram_matrix(np.zeros((2, 2, 2, 2), np.float32))


def test_content_style_and_variation_losses_on_known_values(style):
    x = np.array([[[[1, 2], [3, 4]]]], np.float32)
    t = np.array([[[[1, 0], [3, 2]]]], np.float32)
    assert float(style.content_loss(x, t).data) == 2.0  # mean of 0, 4, 0, 4
    # mean of the squared Gram entries 3.75, 0.75, 0.75, 0.25
    loss = style.style_loss(known_features(), np.zeros((2, 2), np.float32))
    assert float(loss.data) == 15.25 / 4 and loss.dtype == np.float32
    image = np.array([[[[0, 1, 3], [2, 2, 2]]]], np.float32)
    # across: 1, 2, 0, 0 -> 1 + 4;  down: 2, 1, -1 -> 4 + 1 + 1;  half of 11
    assert float(style.total_variation(image).data) == 5.5
    rng = np.random.default_rng(3)
    assert gradient_check(style.total_variation, rng.normal(size=(1, 2, 3, 4)))
    target = rng.normal(size=(3, 3))
    assert gradient_check(lambda f: style.style_loss(f, target), rng.normal(size=(1, 3, 2, 2)))


def test_extract_returns_the_asked_maps_with_average_pooling(style, vgg):
    model = small_model(vgg)
    x = np.random.default_rng(0).normal(size=(1, 3, 16, 16)).astype(np.float32)
    maps = style.extract(model, x, ['conv2_1', 'conv1_1'])
    assert sorted(maps) == ['conv1_1', 'conv2_1']
    h = F.relu(model.conv1_2(maps['conv1_1']))
    expected = F.relu(model.conv2_1(F.average_pooling(h, 2, stride=2)))
    np.testing.assert_allclose(maps['conv2_1'].data, expected.data, rtol=1e-6)
    with pytest.raises(ValueError, match='no convolution named conv6_1; VGG16 has conv1_1'):
        style.extract(model, x, ['conv1_1', 'conv6_1'])


def test_transfer_moves_only_the_image_and_lowers_the_loss(style, vgg):
    model = small_model(vgg)
    content = VGG16.preprocess(vgg.generated_photo(32, 24), size=(24, 32))[np.newaxis]
    painting = VGG16.preprocess(vgg.generated_pattern(16, 40), size=(40, 16))[np.newaxis]
    model(np.zeros((1, 3, 32, 32), np.float32))  # creates fc6, sized on first call
    kept = content.copy(), [p.data.copy() for p in model.params()]
    steps = []
    image, history = style.transfer(
        model, content, painting, 12, on_step=lambda i, f: steps.append((i, f['loss']))
    )
    assert image.shape == content.shape and image.dtype == np.float32
    assert [i for i, _ in steps] == list(range(1, 13))
    assert [loss for _, loss in steps] == history['loss']
    assert history['content'][0] == 0 and min(history['tv']) > 0
    np.testing.assert_allclose(
        history['loss'], np.sum([history[k] for k in ('content', 'style', 'tv')], 0), rtol=1e-5
    )
    assert history['loss'][-1] < history['loss'][0] / 10, history['loss']
    low, high = vgg.pixel_bounds()
    assert (image >= low).all() and (image <= high).all()
    assert not np.array_equal(image, content)
    np.testing.assert_array_equal(content, kept[0])  # inputs untouched
    for p, before in zip(model.params(), kept[1]):
        np.testing.assert_array_equal(p.data, before)
        assert p.grad is None


@pytest.mark.parametrize(
    'script, option',
    [
        ('grad_cam.py', '--image'),
        ('style_transfer.py', '--content'),
        ('style_transfer.py', '--style'),
    ],
)
def test_smoke_refuses_an_image_it_would_ignore(script, option, tmp_path, capsys):
    # --smoke ran on generated images, and the image given was silently left unread
    args = ['--smoke', option, str(tmp_path / 'photo.png'), '--out', str(tmp_path / 'out')]
    with pytest.raises(SystemExit) as exit_info:
        load_example(script).main(args)
    assert exit_info.value.code == 2
    assert f'argument {option}: not allowed with argument --smoke' in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()

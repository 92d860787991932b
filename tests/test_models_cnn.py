"""The published CNNs of dezero.models: VGG16, ResNet (50/101/152) and SqueezeNet v1.1,
their building blocks, VGG16.preprocess and the loading of pretrained weights.

Nothing here touches the network: the autouse fixture refuses every URL and keeps
DEZERO_HOME inside the test's folder.  VGG16 (138M parameters, seconds to create) and
the deeper ResNets are only built by the tests marked slow.
"""

import os
import re
import sys
import warnings
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest

import dezero
import dezero.functions as F
from dezero import Variable, no_grad
from dezero.download import ChecksumError, DownloadError
from dezero.gradcheck import gradgrad_check, gradient_check
from dezero.layers import Conv2d
from dezero.models import (
    VGG16,
    BottleneckA,
    BottleneckB,
    BuildingBlock,
    Fire,
    Model,
    ResNet,
    ResNet50,
    ResNet101,
    ResNet152,
    SqueezeNet,
    cached_weights,
    models_dir,
)

SITE = 'https://github.com/koki0702/dezero-models/releases/download/v0.1/'
REAL_URLOPEN = urllib.request.urlopen  # kept before the fixture refuses URLs


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Record and refuse every URL; DEZERO_HOME is a fresh folder.  Returns the list
    of URLs asked for."""
    asked = []

    def refuse(url, *args, **kwargs):
        asked.append(url)
        raise urllib.error.URLError('no network in tests')

    monkeypatch.setattr(urllib.request, 'urlopen', refuse)
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'home'))
    return asked


def learnt_count(model):
    """The number of learnt values: W, b, gamma and beta (not the running stats)."""
    return sum(
        p.data.size
        for name, p in model.named_params()
        if name.rsplit('/', 1)[-1] in ('W', 'b', 'gamma', 'beta')
    )


def shapes(model):
    return {name: p.data.shape for name, p in model.named_params()}


def image(n, size, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype(np.float32)


def assert_all_float32(model):
    for name, p in model.named_params():
        assert p.data is not None, f'{name} was not created'
        assert p.data.dtype == np.float32, f'{name} is {p.data.dtype}'


def assert_trains(model, x):
    """A training step's backward reaches every learnt parameter with a float32
    gradient of its shape, and none of the running statistics."""
    model.cleargrads()
    y = model(x)
    assert y.dtype == np.float32
    F.sum(y * y).backward()
    for name, p in model.named_params():
        if name.endswith(('avg_mean', 'avg_var')):
            assert p.grad is None, name
        else:
            assert p.grad is not None, f'{name} got no gradient'
            assert p.grad.shape == p.shape and p.grad.dtype == np.float32, name
            assert np.all(np.isfinite(p.grad.data)), name


# --------------------------------------------------------------------------------------
# SqueezeNet v1.1 and its fire module
# --------------------------------------------------------------------------------------
def test_fire_exact_values_and_channel_order():
    fire = Fire(1, 1, 1, 1, dtype=np.float64)
    fire.squeeze.W.data = np.full((1, 1, 1, 1), 2.0)
    fire.squeeze.b.data = np.array([-1.0])
    fire.expand1x1.W.data = np.ones((1, 1, 1, 1))
    fire.expand3x3.W.data = np.ones((1, 1, 3, 3))
    fire.expand3x3.b.data = np.array([-5.0])
    x = np.array([[0.0, 1, 2], [1, 0, 1], [2, 1, 0]]).reshape(1, 1, 3, 3)
    y = fire(x).data
    s = [[0.0, 1, 3], [1, 0, 1], [3, 1, 0]]  # relu(2x - 1)
    box = [[0.0, 1, 0], [1, 5, 1], [0, 1, 0]]  # relu(3x3 sums of s, zero pad - 5)
    np.testing.assert_array_equal(y, np.array([s, box]).reshape(1, 2, 3, 3))


def test_fire_output_shape_and_gradients():
    fire = Fire(3, 2, 4, 5, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    assert fire(x).shape == (2, 9, 4, 5)
    assert gradient_check(fire, x)
    assert gradgrad_check(lambda v: F.square(fire(v)), x)


def test_squeezenet_layers_and_parameter_count():
    model = SqueezeNet()
    assert isinstance(model, Model)
    assert learnt_count(model) == 1235496  # SqueezeNet v1.1
    got = shapes(model)
    assert list(got)[:2] == ['conv1/W', 'conv1/b'] and list(got)[-2:] == ['conv10/W', 'conv10/b']
    assert got['conv1/W'] == (64, 3, 3, 3)
    assert got['fire2/squeeze/W'] == (16, 64, 1, 1)
    assert got['fire5/expand3x3/W'] == (128, 32, 3, 3)
    assert got['fire9/expand1x1/W'] == (256, 64, 1, 1)
    assert got['conv10/W'] == (1000, 512, 1, 1)
    assert sorted({name.split('/')[0] for name in got}) == ['conv1', 'conv10'] + [
        f'fire{i}' for i in range(2, 10)
    ]
    assert_all_float32(model)


def test_squeezenet_forward_in_test_mode_is_deterministic_and_nonnegative():
    np.random.seed(0)
    model = SqueezeNet()
    x = image(2, 40)
    with dezero.test_mode():
        y1, y2 = model(x), model(x)
    assert y1.shape == (2, 1000) and y1.dtype == np.float32
    np.testing.assert_array_equal(y1.data, y2.data)
    assert (y1.data >= 0).all() and (y1.data > 0).any()  # averages of ReLU maps
    np.random.seed(1)
    y3 = model(x)  # training: dropout before conv10
    assert not np.array_equal(y3.data, y1.data)


def test_squeezenet_trains_on_small_images():
    np.random.seed(0)
    assert_trains(SqueezeNet(), image(2, 32))


def test_squeezenet_refuses_images_too_small_for_its_last_pooling_naming_the_size():
    model = SqueezeNet()
    with dezero.test_mode(), no_grad():
        assert model(image(1, 31)).shape == (1, 1000)
        for shape in ((1, 3, 30, 30), (1, 3, 224, 17)):
            x = np.zeros(shape, np.float32)
            with pytest.raises(
                ValueError, match=rf'^SqueezeNet: images must be at least 31x31.*{shape}'
            ):
                model(x)


def test_squeezenet_runs_a_fire_module_assigned_to_its_name_and_saves_it_once():
    # forward ran the modules of a private list: fire9 replaced was still the old
    # one, which trained on and was saved a second time, as stages/2/3/...
    model = SqueezeNet()
    before = [name for name, _ in model.named_params()]
    old = model.fire9
    model.fire9 = Fire(512, 64, 256, 256)
    for conv in (model.fire9.expand1x1, model.fire9.expand3x3):
        conv.W.data[...] = 0
        conv.b.data[...] = 0
    model.conv10.b.data[...] = np.linspace(-1, 1, 1000, dtype=np.float32)
    with dezero.test_mode(), no_grad():
        y = model(image(1, 32))  # fire9 gives zeros, so conv10 gives its bias
    np.testing.assert_array_equal(y.data, np.maximum(model.conv10.b.data, 0)[np.newaxis])
    params = dict(model.named_params())
    assert list(params) == before
    assert params['fire9/squeeze/W'] is model.fire9.squeeze.W
    assert all(p is not old.squeeze.W for p in params.values())


def test_squeezenet_on_224_images():
    model = SqueezeNet()
    with dezero.test_mode(), no_grad():
        y = model(image(1, 224))
    assert y.shape == (1, 1000) and y.dtype == np.float32


# --------------------------------------------------------------------------------------
# ResNet and its blocks
# --------------------------------------------------------------------------------------
def bn_names(*pairs):
    return {f'bn{i}/{p}': (c,) for i, c in pairs for p in ('avg_mean', 'avg_var', 'gamma', 'beta')}


def test_bottleneck_b_with_zero_residual_passes_relu_x():
    block = BottleneckB(8, 2, dtype=np.float64)
    assert shapes(block) == {
        'conv1/W': (2, 8, 1, 1),
        'conv2/W': (2, 2, 3, 3),
        'conv3/W': (8, 2, 1, 1),
        **bn_names((1, 2), (2, 2), (3, 8)),
    }
    assert learnt_count(block) == 16 + 36 + 16 + 2 * (2 + 2 + 8)
    block.conv3.W.data = np.zeros_like(block.conv3.W.data)
    x = np.random.default_rng(0).standard_normal((2, 8, 3, 3))
    with dezero.test_mode():
        np.testing.assert_array_equal(block(x).data, np.maximum(x, 0))


def test_bottleneck_a_always_projects_the_shortcut():
    block = BottleneckA(4, 2, 8, stride=2)
    assert shapes(block) == {
        'conv1/W': (2, 4, 1, 1),
        'conv2/W': (2, 2, 3, 3),
        'conv3/W': (8, 2, 1, 1),
        'conv4/W': (8, 4, 1, 1),
        **bn_names((1, 2), (2, 2), (3, 8), (4, 8)),
    }
    assert learnt_count(block) == 8 + 36 + 16 + 32 + 2 * (2 + 2 + 8 + 8)
    assert (block.conv1.stride, block.conv2.stride, block.conv4.stride) == ((2, 2), (1, 1), (2, 2))
    same = BottleneckA(4, 2, 4, stride=1)  # stride 1 and same width: still
    assert 'conv4/W' in shapes(same)
    with dezero.test_mode():
        x = np.random.default_rng(0).standard_normal((1, 4, 7, 7)).astype(np.float32)
        y = block(x)
        assert y.shape == (1, 8, 4, 4) and y.dtype == np.float32
        assert same(x).shape == (1, 4, 7, 7)
    assert BottleneckA(4, 2, 8).conv1.stride == (2, 2)  # the default stride is 2


def test_bottleneck_a_output_is_the_relu_of_residual_plus_projection():
    np.random.seed(0)
    block = BottleneckA(3, 2, 4, stride=1, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((1, 3, 2, 2))
    with dezero.test_mode():
        h = block.bn3(
            block.conv3(F.relu(block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x)))))))
        )
        expected = np.maximum(h.data + block.bn4(block.conv4(x)).data, 0)
        np.testing.assert_allclose(block(x).data, expected, rtol=1e-12)


@pytest.mark.parametrize(
    'downsample_fb, strides', [(False, ((2, 2), (1, 1))), (True, ((1, 1), (2, 2)))]
)
def test_bottleneck_a_puts_the_stride_on_conv1_or_with_downsample_fb_on_conv2(
    downsample_fb, strides
):
    block = BottleneckA(3, 4, 6, 2, downsample_fb)
    assert (block.conv1.stride, block.conv2.stride) == strides
    with dezero.test_mode():
        assert block(image(1, 6)).shape == (1, 6, 3, 3)


def test_bottleneck_a_strides_on_its_first_1x1_convolution():
    """With stride 2 on the 1x1 convolutions (original ResNet), the output depends on
    the even rows and columns of x only; with it on the 3x3 one (v1.5) it would not."""
    np.random.seed(0)
    block = BottleneckA(3, 4, 6, stride=2, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((1, 3, 6, 6))
    odd = x.copy()
    odd[:, :, 1::2, :] += 5.0
    odd[:, :, :, 1::2] -= 5.0
    even = x.copy()
    even[:, :, ::2, ::2] += 5.0
    with dezero.test_mode():
        y = block(x).data
        assert y.shape == (1, 6, 3, 3)
        np.testing.assert_array_equal(block(odd).data, y)
        assert not np.allclose(block(even).data, y)


@pytest.mark.parametrize(
    'make',
    [
        lambda: BottleneckA(2, 2, 3, stride=2, dtype=np.float64),
        lambda: BottleneckB(2, 3, dtype=np.float64),
    ],
)
def test_bottleneck_gradients_in_training(make):
    np.random.seed(0)
    x = np.random.default_rng(2).standard_normal((2, 2, 4, 4))
    assert gradient_check(make(), x)


def test_building_block_names_its_blocks_like_dezero():
    stage = BuildingBlock(3, 4, 2, 8, 2)
    assert stage.blocks == [stage.a, stage.b1, stage.b2]
    assert isinstance(stage.a, BottleneckA)
    assert isinstance(stage.b1, BottleneckB) and isinstance(stage.b2, BottleneckB)
    names = list(shapes(stage))
    assert names[0] == 'a/conv1/W' and 'b1/conv1/W' in names and 'b2/bn3/beta' in names
    assert 'a/conv4/W' in names and 'b1/conv4/W' not in names
    assert not any(name.startswith('blocks/') for name in names)
    x = np.random.default_rng(0).standard_normal((2, 4, 8, 8)).astype(np.float32)
    with dezero.test_mode():
        assert stage(x).shape == (2, 8, 4, 4)


def test_building_block_passes_stride_and_downsample_fb_to_its_first_block():
    stage = BuildingBlock(2, 4, 2, 8, stride=2, downsample_fb=True)
    assert (stage.a.conv1.stride, stage.a.conv2.stride) == ((1, 1), (2, 2))
    single = BuildingBlock(1, 4, 2, 8, 1)
    assert single.blocks == [single.a]
    assert {name.split('/')[0] for name in shapes(single)} == {'a'}


@pytest.mark.parametrize(
    'kwargs, error, match',
    [
        (dict(in_channels=4, mid_channels=2, out_channels=8, stride=2), TypeError, 'n_layers'),
        (dict(n_layers=2, in_channels=4, mid_channels=2, out_channels=8), TypeError, 'stride'),
        (dict(n_layers=2, mid_channels=2, out_channels=8, stride=1), TypeError, 'in_channels'),
        (
            dict(n_layers=0, in_channels=4, mid_channels=2, out_channels=8, stride=1),
            ValueError,
            'n_layers',
        ),
    ],
)
def test_building_block_needs_its_sizes(kwargs, error, match):
    with pytest.raises(error, match=f'^BuildingBlock: {match} must be a positive integer, got'):
        BuildingBlock(**kwargs)


@pytest.mark.parametrize(
    'make, error, message',
    [
        (
            lambda: BottleneckA(8, None, 16),
            TypeError,
            'BottleneckA: mid_channels must be a positive integer, got NoneType None',
        ),
        (
            lambda: BottleneckA(8.0, 4, 16),
            TypeError,
            'BottleneckA: in_channels must be a positive integer, got float 8.0',
        ),
        (
            lambda: BottleneckA(8, 4, 0),
            ValueError,
            'BottleneckA: out_channels must be a positive integer, got 0',
        ),
        (
            lambda: BottleneckB(8, 0),
            ValueError,
            'BottleneckB: mid_channels must be a positive integer, got 0',
        ),
        (
            lambda: BottleneckB(-1, 4),
            ValueError,
            'BottleneckB: in_channels must be a positive integer, got -1',
        ),
        (
            lambda: BuildingBlock(2, 8, 4.0, 16, 2),
            TypeError,
            'BuildingBlock: mid_channels must be a positive integer, got float 4.0',
        ),
        (
            lambda: BuildingBlock(2, 8, 4, True, 2),
            TypeError,
            'BuildingBlock: out_channels must be a positive integer, got bool True',
        ),
    ],
)
def test_blocks_name_the_channel_count_that_is_wrong(make, error, message):
    # every count was reported as out_channels (BottleneckB has none), and a
    # non-integer raised ValueError
    with pytest.raises(error) as info:
        make()
    assert str(info.value) == message


@pytest.mark.parametrize(
    'make, name',
    [
        (lambda fb: BottleneckA(3, 4, 6, 2, fb), 'BottleneckA'),
        (lambda fb: BuildingBlock(1, 3, 4, 6, 2, fb), 'BuildingBlock'),
    ],
)
def test_downsample_fb_must_be_true_false_or_none(make, name):
    # 'False' is a true value: it built the Facebook variant
    for bad in ('False', 1, 0.0):
        with pytest.raises(TypeError, match=f'^{name}: downsample_fb must be True or False'):
            make(bad)
    for fb, strides in [
        (None, ((2, 2), (1, 1))),
        (False, ((2, 2), (1, 1))),
        (True, ((1, 1), (2, 2))),
        (np.bool_(True), ((1, 1), (2, 2))),
    ]:
        block = make(fb)
        first = block if isinstance(block, BottleneckA) else block.a
        assert (first.conv1.stride, first.conv2.stride) == strides


def test_building_block_runs_a_block_assigned_to_its_name_and_saves_it_once():
    # forward ran the blocks of a private list: b1 replaced was still the old one,
    # which trained on and was saved a second time, as blocks/1/...
    stage = BuildingBlock(2, 4, 2, 8, 1, dtype=np.float64)
    before = list(shapes(stage))
    old = stage.b1
    stage.b1 = BottleneckB(8, 2, dtype=np.float64)
    stage.b1.conv3.W.data[...] = 0  # b1 gives relu(its input): a's output, as it is
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5))
    with dezero.test_mode():
        np.testing.assert_array_equal(stage(x).data, stage.a(x).data)
    assert stage.blocks == [stage.a, stage.b1]
    params = dict(stage.named_params())
    assert list(params) == before
    assert params['b1/conv1/W'] is stage.b1.conv1.W
    assert all(p is not old.conv1.W for p in params.values())


def caffe_max_pooling(x):
    """3x3 max pooling of stride 2 as Caffe computes it (Chainer's cover_all): windows
    at 0, 2, 4, ..., the last one running past the bottom and right borders."""
    n, c, h, w = x.shape
    oh, ow = (max(-(-(size - 3) // 2), 0) + 1 for size in (h, w))
    padded = np.full((n, c, 2 * oh + 1, 2 * ow + 1), -np.inf)
    padded[:, :, :h, :w] = x
    y = np.empty((n, c, oh, ow), x.dtype)
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = padded[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].max(axis=(2, 3))
    return y


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_caffe_max_pooling_matches_caffes_windows(dtype):
    from dezero.models import _caffe_max_pooling

    rng = np.random.default_rng(3)
    for h, w in [(1, 1), (1, 2), (2, 3), (3, 3), (4, 5), (6, 7), (9, 8), (112, 112)]:
        x = rng.standard_normal((2, 3, h, w)).astype(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            y = _caffe_max_pooling(Variable(x), 3, 2)
        assert y.dtype == dtype
        np.testing.assert_array_equal(y.data, caffe_max_pooling(x))
    assert y.shape == (2, 3, 56, 56)  # the paper's maps, from 224x224 images


@pytest.mark.parametrize('shape', [(1, 2, 5, 4), (2, 1, 1, 1), (1, 1, 2, 3), (1, 1, 6, 7)])
def test_caffe_max_pooling_gradients(shape):
    from dezero.models import _caffe_max_pooling

    x = np.random.default_rng(4).standard_normal(shape)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert gradient_check(lambda v: _caffe_max_pooling(v, 3, 2), x)
        assert gradgrad_check(lambda v: F.square(_caffe_max_pooling(v, 3, 2)), x)


@pytest.fixture(scope='module')
def resnet50():
    np.random.seed(0)
    return ResNet50()


def test_resnet50_layers_and_parameter_count(resnet50):
    assert isinstance(resnet50, ResNet) and resnet50.n_layers == 50
    # torchvision's 25,557,032 plus the 64 biases of conv1, which the original
    # (Caffe) model and DeZero's weight file have
    assert learnt_count(resnet50) == 25557032 + 64
    got = shapes(resnet50)
    assert list(got)[:2] == ['conv1/W', 'conv1/b'] and list(got)[-2:] == ['fc6/W', 'fc6/b']
    assert got['conv1/W'] == (64, 3, 7, 7)
    blocks = {
        stage: {name.split('/')[1] for name in got if name.startswith(stage)}
        for stage in ('res2', 'res3', 'res4', 'res5')
    }
    assert blocks == {
        'res2': {'a', 'b1', 'b2'},
        'res3': {'a', 'b1', 'b2', 'b3'},
        'res4': {'a', 'b1', 'b2', 'b3', 'b4', 'b5'},
        'res5': {'a', 'b1', 'b2'},
    }
    assert got['res2/a/conv4/W'] == (256, 64, 1, 1)
    assert got['res3/a/conv1/W'] == (128, 256, 1, 1)
    assert got['res5/b2/conv2/W'] == (512, 512, 3, 3)
    assert got['res5/a/bn4/avg_var'] == (2048,)
    assert got['fc6/W'] == (2048, 1000)
    assert_all_float32(resnet50)


def test_resnet50_summary_totals_and_block_rows(resnet50, capsys):
    resnet50.summary(image(1, 32))
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [
        'Trainable parameters: 25,557,096',
        'Running statistics (not trained): 53,120',
    ]
    assert lines[2].split() == ['ResNet50', '(1,', '1000)', '-']
    rows = {line.split(':')[0].strip(): line for line in lines[3:-3]}
    assert rows['res2'].split()[1:] == ['BuildingBlock', '(1,', '256,', '8,', '8)', '-']
    assert 'Conv2d(in=1024, out=2048, kernel=1, stride=2, nobias=True)' in [
        line.split(': ')[1].split('  ')[0] for line in lines[3:-3] if ': ' in line
    ]
    assert rows['fc6'].split()[-1] == '2,049,000'


def test_resnet50_forward_and_backward_on_small_images(resnet50):
    x = image(2, 64)
    with dezero.test_mode():
        y = resnet50(x)
        np.testing.assert_array_equal(resnet50(x).data, y.data)
    assert y.shape == (2, 1000) and y.dtype == np.float32
    assert_trains(resnet50, image(2, 32))


def test_resnet50_pools_its_stem_as_caffe_for_the_published_weights(resnet50):
    # the stem pooled with pad 1 (windows at -1, 1, ...) where the Caffe model behind
    # the published weights pools without padding, rounding up (windows at 0, 2, ...)
    x = image(1, 62, seed=3)[:, :, :, :60]  # conv1 gives 31x30 maps
    with dezero.test_mode(), no_grad():
        y = resnet50(x)
        h = F.relu(resnet50.bn1(resnet50.conv1(x)))
        h = caffe_max_pooling(h.data)
        assert h.shape == (1, 64, 15, 15)
        for stage in (resnet50.res2, resnet50.res3, resnet50.res4, resnet50.res5):
            h = stage(h)
        expected = resnet50.fc6(F.mean(h, axis=(2, 3)))
    np.testing.assert_allclose(y.data, expected.data, rtol=1e-5, atol=1e-6)


def test_resnet50_takes_tiny_images(resnet50):
    with dezero.test_mode(), no_grad():
        for size in (1, 2, 5):
            assert resnet50(image(1, size)).shape == (1, 1000)


def test_the_books_global_average_pooling_2d_is_kept():
    from dezero import models

    assert models._global_average_pooling_2d is models._global_average_pooling
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(models._global_average_pooling_2d(x).data, [[5.5, 17.5]])


@pytest.mark.slow
def test_resnet50_on_a_224_image(resnet50):
    with dezero.test_mode(), dezero.no_grad():
        y = resnet50(image(1, 224))
    assert y.shape == (1, 1000) and y.dtype == np.float32
    assert np.isfinite(y.data).all()


@pytest.mark.parametrize('bad', [18, 34, 100, 50.0, True, '50'])
def test_resnet_refuses_other_depths(bad):
    with pytest.raises(
        ValueError,
        match=r'ResNet: n_layers must be one of 50, 101, '
        r'152, got',
    ):
        ResNet(bad)


@pytest.mark.slow
@pytest.mark.parametrize(
    'cls, n_layers, count', [(ResNet101, 101, 44549160 + 64), (ResNet152, 152, 60192808 + 64)]
)
def test_deeper_resnets_have_the_published_block_counts(cls, n_layers, count):
    model = cls()
    assert model.n_layers == n_layers and learnt_count(model) == count
    expected = {101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}[n_layers]
    for stage, n in zip(('res2', 'res3', 'res4', 'res5'), expected):
        assert len(getattr(model, stage).blocks) == n


# --------------------------------------------------------------------------------------
# VGG16
# --------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def vgg16():
    np.random.seed(0)
    return VGG16()


@pytest.mark.slow
def test_vgg16_layers_and_parameter_count(vgg16):
    got = shapes(vgg16)
    convs = [f'conv{s}_{i}' for s, n in enumerate((2, 2, 3, 3, 3), 1) for i in range(1, n + 1)]
    assert list(got) == [
        f'{layer}/{p}' for layer in convs + ['fc6', 'fc7', 'fc8'] for p in ('W', 'b')
    ]
    assert learnt_count(vgg16) == 138357544
    assert got['conv1_1/W'] == (64, 3, 3, 3) and got['conv5_3/W'] == (512, 512, 3, 3)
    assert got['fc6/W'] == (7 * 7 * 512, 4096) and got['fc8/W'] == (4096, 1000)
    assert_all_float32(vgg16)


@pytest.mark.slow
def test_vgg16_on_a_224_image(vgg16):
    x = image(1, 224)
    with dezero.test_mode(), no_grad():
        y = vgg16(x)
    assert y.shape == (1, 1000) and y.dtype == np.float32
    assert np.all(np.isfinite(y.data))
    with pytest.raises(ValueError, match=r'VGG16: .*224x224.*\(1, 3, 64, 64\)'):
        vgg16(image(1, 64))
    with pytest.raises(ValueError, match=r'VGG16: .*\(N, 3, height, width\)'):
        vgg16(np.zeros((1, 1, 224, 224), np.float32))


@pytest.mark.slow
def test_vgg16_gives_its_last_feature_maps_and_their_gradient_back_for_grad_cam(vgg16):
    # as the book's grad_cam.py reads them: through conv5_3.outputs after the forward
    # pass, the gradient after backward(retain_grad=True)
    with dezero.test_mode():
        y = vgg16(image(1, 224))
        last = vgg16.conv5_3.outputs[0]()
        score = y[0, int(np.argmax(y.data))]
        score.backward(retain_grad=True)
        assert last.shape == (1, 512, 14, 14) and last.grad.shape == last.shape
        # the same gradient from the rest of the network, run again on those maps
        a = Variable(last.data.copy())
        h = F.flatten(F.pooling(F.relu(a), 2, stride=2))
        h = F.relu(vgg16.fc7(F.relu(vgg16.fc6(h))))
        vgg16.fc8(h)[0, int(np.argmax(y.data))].backward()
    np.testing.assert_allclose(last.grad.data, a.grad.data, rtol=1e-5, atol=1e-7)
    assert np.count_nonzero(a.grad.data) > 0


@pytest.mark.slow
def test_vgg16_runs_a_convolution_assigned_to_its_name_and_saves_it_once(vgg16):
    # forward ran the convolutions of a private list: conv5_3 replaced was still the
    # old one, which trained on and was saved a second time, as stages/4/2/...
    before = [name for name, _ in vgg16.named_params()]
    original = vgg16.conv5_3
    vgg16.conv5_3 = Conv2d(512, 3, pad=1, in_channels=512)
    try:
        vgg16.conv5_3.W.data[...] = 0
        vgg16.conv5_3.b.data[...] = 0
        params = dict(vgg16.named_params())
        assert list(params) == before
        assert params['conv5_3/W'] is vgg16.conv5_3.W
        assert all(p is not original.W for p in params.values())
        with dezero.test_mode(), no_grad():
            y = vgg16(image(1, 224))
            h = vgg16.fc6(np.zeros((1, 7 * 7 * 512), np.float32))  # conv5_3 gives zeros
            expected = vgg16.fc8(F.relu(vgg16.fc7(F.relu(h))))
        np.testing.assert_allclose(y.data, expected.data, rtol=1e-6)
    finally:
        vgg16.conv5_3 = original
    assert dict(vgg16.named_params())['conv5_3/W'] is original.W


# --------------------------------------------------------------------------------------
# VGG16.preprocess
# --------------------------------------------------------------------------------------
MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)


def rgb(height, width, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3)).astype(np.uint8)


def expected(array):
    """The hand-written definition: BGR, minus the mean, channels first."""
    a = np.asarray(array, np.float32)
    return np.stack([a[:, :, 2] - MEAN_BGR[0], a[:, :, 1] - MEAN_BGR[1], a[:, :, 0] - MEAN_BGR[2]])


def test_preprocess_an_array_of_the_right_size():
    a = np.array(
        [[[0, 10, 255], [1, 2, 3], [50, 60, 70]], [[9, 8, 7], [200, 100, 0], [4, 5, 6]]], np.uint8
    )  # height 2, width 3
    x = VGG16.preprocess(a, size=(3, 2))
    assert x.shape == (3, 2, 3) and x.dtype == np.float32 and x.flags.c_contiguous
    assert x[0, 0, 0] == np.float32(255) - np.float32(103.939)  # blue of pixel 0
    assert x[2, 1, 1] == np.float32(200) - np.float32(123.68)  # red of pixel (1, 1)
    np.testing.assert_array_equal(x, expected(a))
    np.testing.assert_array_equal(VGG16.preprocess(a.astype(np.float64), (3, 2)), x)
    x64 = VGG16.preprocess(a, (3, 2), dtype=np.float64)
    assert x64.dtype == np.float64
    np.testing.assert_allclose(x64, x, rtol=1e-6)


def test_preprocess_a_pil_image_resizes_it():
    Image = pytest.importorskip('PIL.Image')
    a = rgb(224, 224)
    np.testing.assert_array_equal(VGG16.preprocess(Image.fromarray(a)), expected(a))
    flat = np.empty((30, 20, 3), np.uint8)
    flat[...] = (10, 20, 30)
    x = VGG16.preprocess(Image.fromarray(flat), size=(8, 5))  # width 8, height 5
    assert x.shape == (3, 5, 8) and x.dtype == np.float32
    np.testing.assert_array_equal(x, expected(np.broadcast_to(flat[:5, :8], (5, 8, 3))))
    gray = VGG16.preprocess(Image.fromarray(np.full((4, 4), 100, np.uint8)), (4, 4))
    np.testing.assert_array_equal(
        gray, 100 - MEAN_BGR.reshape(3, 1, 1) + np.zeros((3, 4, 4), np.float32)
    )


def test_preprocess_resizes_arrays_with_pillow():
    pytest.importorskip('PIL.Image')
    flat = np.empty((9, 7, 3), np.float64)
    flat[...] = (1.5, 2.25, 250.75)
    x = VGG16.preprocess(flat, size=(4, 6))
    assert x.shape == (3, 6, 4) and x.dtype == np.float32
    np.testing.assert_allclose(
        x, expected(np.broadcast_to(flat[:6, :4], (6, 4, 3))), rtol=0, atol=1e-4
    )
    ramp = np.repeat(np.linspace(0.0, 255.0, 16), 3).reshape(1, 16, 3).repeat(4, axis=0)
    small = VGG16.preprocess(ramp, size=(8, 4))
    assert np.all(np.diff(small[0, 0]) > 0)  # a ramp stays increasing


def test_preprocess_without_pillow(monkeypatch):
    monkeypatch.setitem(sys.modules, 'PIL', None)  # import PIL now fails
    monkeypatch.setitem(sys.modules, 'PIL.Image', None)
    a = rgb(224, 224)
    np.testing.assert_array_equal(VGG16.preprocess(a), expected(a))
    b = rgb(2, 3)  # height 2, width 3
    np.testing.assert_array_equal(VGG16.preprocess(b, size=(3, 2)), expected(b))
    with pytest.raises(ImportError, match=r'needs Pillow.*\(224, 224, 3\)'):
        VGG16.preprocess(rgb(100, 120))
    with pytest.raises(TypeError, match='PIL image or an array'):
        VGG16.preprocess('cat.jpg')


def test_preprocess_resizes_with_pillows_default_filter_as_the_book_does():
    # the book calls image.resize(size) (bicubic for RGB images); dezero used bilinear
    Image = pytest.importorskip('PIL.Image')
    image = Image.fromarray(rgb(37, 53, seed=1))
    book = np.asarray(image.resize((32, 40)), np.float32)
    x = VGG16.preprocess(image, size=(32, 40))
    np.testing.assert_array_equal(x, expected(book))
    bilinear = np.asarray(image.resize((32, 40), Image.BILINEAR), np.float32)
    assert not np.array_equal(book, bilinear)  # so the filter is the one checked


def test_preprocess_resizes_arrays_with_pillows_default_filter():
    Image = pytest.importorskip('PIL.Image')
    a = rgb(9, 7, seed=2).astype(np.float32)
    channels = [np.asarray(Image.fromarray(a[:, :, c]).resize((4, 6))) for c in range(3)]
    x = VGG16.preprocess(a, size=(4, 6))
    np.testing.assert_allclose(x, expected(np.stack(channels, axis=2)), rtol=0, atol=1e-4)


def test_preprocess_keeps_the_size_for_size_none():
    Image = pytest.importorskip('PIL.Image')
    a = rgb(37, 53, seed=3)
    np.testing.assert_array_equal(VGG16.preprocess(Image.fromarray(a), size=None), expected(a))
    np.testing.assert_array_equal(VGG16.preprocess(a, size=None), expected(a))


@pytest.mark.parametrize('size', [0, (), [], False, (0, 0)])
def test_preprocess_refuses_a_size_of_nothing(size):
    # size=0 kept the image's size, as if it were None
    with pytest.raises(
        ValueError,
        match=r'^VGG16\.preprocess: size must be \(width, height\), two positive integers, '
        r'or None to keep the size of the image; got ',
    ):
        VGG16.preprocess(rgb(3, 4), size=size)


@pytest.mark.parametrize('shape', [(0, 12, 3), (12, 0, 3), (0, 0, 3)])
def test_preprocess_refuses_an_empty_image(shape):
    # an empty array was resized into a (3, 224, 224) array of one constant
    height, width = shape[:2]
    message = (
        f'VGG16.preprocess: the image has height {height} and width {width}; it must be '
        f'at least 1 pixel high and wide'
    )
    for size in [(224, 224), None]:
        with pytest.raises(ValueError) as info:
            VGG16.preprocess(np.zeros(shape, np.uint8), size=size)
        assert str(info.value) == message


def test_preprocess_refuses_an_empty_pil_image():
    Image = pytest.importorskip('PIL.Image')
    with pytest.raises(ValueError, match='^VGG16.preprocess: the image has height 5 and width 0;'):
        VGG16.preprocess(Image.new('RGB', (0, 5)))


def test_preprocess_keeps_the_size_of_an_array_without_pillow(monkeypatch):
    monkeypatch.setitem(sys.modules, 'PIL', None)  # import PIL now fails
    monkeypatch.setitem(sys.modules, 'PIL.Image', None)
    a = rgb(5, 9)
    np.testing.assert_array_equal(VGG16.preprocess(a, size=None), expected(a))


@pytest.mark.parametrize(
    'bad',
    [np.zeros((4, 4)), np.zeros((4, 4, 4)), np.zeros((4, 4, 3), bool), np.zeros((1, 4, 4, 3))],
)
def test_preprocess_refuses_arrays_that_are_not_rgb_images(bad):
    with pytest.raises(
        ValueError, match='VGG16.preprocess: .*got shape ' + re.escape(str(bad.shape))
    ):
        VGG16.preprocess(bad, size=(4, 4))


def test_preprocess_refuses_bad_arguments():
    with pytest.raises(TypeError, match='got list'):
        VGG16.preprocess([[[0, 0, 0]]])
    for size in [224, (224,), (0, 224), (224.0, 224), True, 'big', (224, None)]:
        with pytest.raises(ValueError, match=r'size must be \(width, height\)'):
            VGG16.preprocess(rgb(2, 2), size=size)
    with pytest.raises(ValueError, match='dtype must be a floating-point type, got int32'):
        VGG16.preprocess(rgb(2, 2), (2, 2), dtype=np.int32)


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------
def test_models_refuse_inputs_that_are_not_rgb_batches(resnet50):
    for model, name in ((SqueezeNet(), 'SqueezeNet'), (resnet50, 'ResNet50')):
        with pytest.raises(
            ValueError,
            match=rf'{name}: .*\(N, 3, height, width\), got '
            rf'shape \(3, 32, 32\)',
        ):
            model(np.zeros((3, 32, 32), np.float32))
        with pytest.raises(ValueError, match=r'got shape \(1, 1, 32, 32\)'):
            model(Variable(np.zeros((1, 1, 32, 32), np.float32)))
        with pytest.raises(TypeError, match=rf'{name}: .*got list'):
            model([1.0, 2.0])


# --------------------------------------------------------------------------------------
# Pretrained weights
# --------------------------------------------------------------------------------------
def test_models_dir_follows_dezero_home(monkeypatch, tmp_path):
    assert models_dir() == os.path.join(str(tmp_path / 'home'), 'models')
    monkeypatch.setenv('DEZERO_HOME', str(tmp_path / 'elsewhere'))
    assert models_dir() == os.path.join(str(tmp_path / 'elsewhere'), 'models')


def test_cached_weights_finds_a_file_in_models_dir_or_where_the_book_put_it(tmp_path):
    home = tmp_path / 'home'  # DEZERO_HOME, as the fixture sets it
    assert cached_weights(VGG16.WEIGHTS_PATH) is None
    home.mkdir()
    (home / 'vgg16.npz').write_bytes(b'the book kept it here')
    assert cached_weights(VGG16.WEIGHTS_PATH) == str(home / 'vgg16.npz')
    (home / 'models').mkdir()
    (home / 'models' / 'vgg16.npz').write_bytes(b'ours')
    assert cached_weights(VGG16.WEIGHTS_PATH) == str(home / 'models' / 'vgg16.npz')


@pytest.mark.parametrize(
    'make, name',
    [
        (lambda: VGG16(pretrained='no'), 'VGG16'),
        (lambda: ResNet50(pretrained='no'), 'ResNet50'),
        (lambda: ResNet(101, pretrained=1), 'ResNet101'),
        (lambda: SqueezeNet(pretrained='False'), 'SqueezeNet'),
    ],
)
def test_pretrained_must_be_true_or_false(make, name):
    # a string such as 'no' counted as true, and downloaded the weights
    with pytest.raises(TypeError, match=f'{name}: pretrained must be True or False'):
        make()


@pytest.mark.parametrize(
    'make, file_name',
    [
        (lambda: VGG16(pretrained=True), 'vgg16.npz'),
        (lambda: ResNet50(pretrained=True), 'resnet50.npz'),
        (lambda: ResNet101(pretrained=True), 'resnet101.npz'),
        (lambda: ResNet152(pretrained=True), 'resnet152.npz'),
        (lambda: ResNet(101, pretrained=True), 'resnet101.npz'),
        (lambda: ResNet(pretrained=True), 'resnet152.npz'),
    ],
)
def test_pretrained_offline_names_the_model_the_file_and_the_folder(
    make, file_name, offline, tmp_path
):
    with pytest.raises(DownloadError) as info:
        make()
    folder = str(tmp_path / 'home' / 'models')
    name = {'vgg16.npz': 'VGG16'}.get(file_name, file_name[:-4].replace('resnet', 'ResNet'))
    assert isinstance(info.value, OSError)
    # it began 'get_file: could not download ...', naming no model
    assert str(info.value) == (
        f'{name}: the weights file {file_name} is not in {folder} and could not be '
        f'downloaded from {SITE + file_name} (no network in tests). Put it into that '
        f'folder by hand, or create the model with pretrained=False'
    )
    assert info.value.folder == folder and info.value.file_name == file_name
    assert info.value.url == SITE + file_name
    assert offline == [SITE + file_name]  # the documented URL, once
    # an empty DEZERO_HOME/models folder, and DEZERO_HOME itself, were left behind
    assert not os.path.exists(tmp_path / 'home')


def test_a_failed_download_keeps_the_folders_that_were_there(tmp_path):
    (tmp_path / 'home').mkdir()
    (tmp_path / 'home' / 'notes.txt').write_text('mine')
    with pytest.raises(DownloadError, match='^VGG16: the weights file vgg16.npz is not in'):
        VGG16(pretrained=True)
    assert os.listdir(tmp_path / 'home') == ['notes.txt']
    os.makedirs(models_dir())
    with pytest.raises(DownloadError):
        VGG16(pretrained=True)
    assert os.listdir(models_dir()) == []


def test_resnet_has_152_layers_by_default_as_in_the_book(monkeypatch):
    monkeypatch.setattr(ResNet, 'BLOCKS', {152: (1, 1, 1, 1)})  # quick to build
    model = ResNet()
    assert model.n_layers == 152 and len(model.res3.blocks) == 1


def test_weights_path_is_the_books():
    assert VGG16.WEIGHTS_PATH == SITE + 'vgg16.npz'
    assert ResNet.WEIGHTS_PATH == SITE + 'resnet{}.npz'
    assert ResNet.WEIGHTS_PATH.format(50) == SITE + 'resnet50.npz'
    assert ResNet50.WEIGHTS_PATH is ResNet.WEIGHTS_PATH
    assert SqueezeNet.WEIGHTS_PATH is None


@pytest.mark.parametrize(
    'cls, make, file_name',
    [
        (VGG16, lambda: VGG16(pretrained=True), 'vgg16.npz'),
        (ResNet, lambda: ResNet50(pretrained=True), 'resnet50.npz'),
    ],
)
def test_the_models_fetch_their_weights_from_weights_path(
    monkeypatch, offline, cls, make, file_name
):
    mirror = 'https://mirror.invalid/models/'
    monkeypatch.setattr(cls, 'WEIGHTS_PATH', cls.WEIGHTS_PATH.replace(SITE, mirror))
    with pytest.raises(DownloadError):
        make()
    assert offline == [mirror + file_name]


def test_md5_is_unknown_for_now():
    # until it is known, a download is checked by the CRC-32s inside the archive
    # DeZero does not publish the checksums; load_weights checks keys and shapes
    assert VGG16.md5 is None and ResNet.md5 is None


def test_squeezenet_has_no_published_weights(offline):
    with pytest.raises(ValueError, match='SqueezeNet: no pretrained weights are published'):
        SqueezeNet(pretrained=True)
    assert offline == []


@pytest.fixture
def squeezenet_site(monkeypatch):
    """Give SqueezeNet a (never reached) weights URL, so that it loads its weights the
    way VGG16 and ResNet do; return the path the cached file must have."""
    monkeypatch.setattr(SqueezeNet, 'WEIGHTS_PATH', 'https://example.invalid/sq.npz')
    return os.path.join(models_dir(), 'sq.npz')


def test_pretrained_loads_the_cached_file(squeezenet_site, offline):
    np.random.seed(0)
    trained = SqueezeNet()
    os.makedirs(os.path.dirname(squeezenet_site))
    trained.save_weights(squeezenet_site)
    np.random.seed(1)
    model = SqueezeNet(pretrained=True)
    assert offline == []  # the cache was enough
    pairs = list(zip(trained.named_params(), model.named_params()))
    assert len(pairs) == 52
    for (name, want), (name2, got) in pairs:
        assert name == name2 and got.data.dtype == np.float32
        np.testing.assert_array_equal(got.data, want.data)
    x = image(1, 32)
    with dezero.test_mode():
        np.testing.assert_array_equal(model(x).data, trained(x).data)


def test_pretrained_refuses_a_cached_file_of_another_model(squeezenet_site):
    os.makedirs(os.path.dirname(squeezenet_site))
    Fire(64, 16, 64, 64).save_weights(squeezenet_site)
    with pytest.raises(
        ValueError,
        match=r'SqueezeNet: the cached weights file .*sq\.npz cannot be loaded '
        r'\(load_weights: .*sq.npz has no entry.*delete it and it will be downloaded again',
    ):
        SqueezeNet(pretrained=True)


def test_a_damaged_cached_file_names_the_model_and_says_to_delete_it(offline):
    path = os.path.join(models_dir(), 'resnet50.npz')
    os.makedirs(models_dir())
    with open(path, 'wb') as f:
        f.write(b'garbage bytes where the weights were')
    with pytest.raises(ValueError) as info:
        ResNet50(pretrained=True)
    message = str(info.value)
    assert message.startswith(f'ResNet50: the cached weights file {path} cannot be loaded (')
    assert 'is not an .npz archive (it does not start as a zip file)' in message
    assert message.endswith('delete it and it will be downloaded again')
    assert 'pickle' not in message
    assert offline == []  # the cached file is not fetched again behind the user's back


def test_a_truncated_cached_file_names_the_model_and_says_to_delete_it(squeezenet_site):
    os.makedirs(os.path.dirname(squeezenet_site))
    SqueezeNet().save_weights(squeezenet_site)
    with open(squeezenet_site, 'rb+') as f:
        f.truncate(os.path.getsize(squeezenet_site) // 2)
    with pytest.raises(
        ValueError,
        match=rf'^SqueezeNet: the cached weights file {re.escape(squeezenet_site)} cannot be '
        r'loaded \(load_weights: cannot read .*; delete it and it will be downloaded again$',
    ):
        SqueezeNet(pretrained=True)


@pytest.mark.parametrize('name', ['conv1/W', 'conv1/W.npy'])
def test_a_cached_file_with_an_entry_that_is_no_array_says_to_delete_it(squeezenet_site, name):
    # np.load gave the entry's raw bytes: AttributeError, without the advice
    os.makedirs(os.path.dirname(squeezenet_site))
    with zipfile.ZipFile(squeezenet_site, 'w') as archive:
        archive.writestr(name, b'not an array')
    with pytest.raises(
        ValueError,
        match=rf'^SqueezeNet: the cached weights file {re.escape(squeezenet_site)} cannot be '
        rf"loaded \(load_weights: cannot read .*: its entry 'conv1/W' is not an array in the "
        r'\.npy format\); delete it and it will be downloaded again$',
    ):
        SqueezeNet(pretrained=True)


def test_a_cached_file_failing_its_md5_offline_names_the_model(monkeypatch, offline):
    monkeypatch.setattr(VGG16, 'md5', '0' * 32)
    os.makedirs(models_dir())
    path = os.path.join(models_dir(), 'vgg16.npz')
    with open(path, 'wb') as f:
        f.write(b'damaged')
    with pytest.raises(DownloadError) as info:
        VGG16(pretrained=True)
    message = str(info.value)
    assert message.startswith(f'VGG16: the weights file vgg16.npz is damaged in {models_dir()}')
    assert message.endswith(
        'Put a good copy into that folder by hand, or create the model with pretrained=False'
    )
    assert os.listdir(models_dir()) == ['vgg16.npz']  # left as it was


@pytest.fixture
def local_site(monkeypatch, tmp_path):
    """Give SqueezeNet weights at a file:// URL (the only kind of URL opened here);
    return the path of the file served there."""
    served = tmp_path / 'site' / 'squeeze.npz'
    served.parent.mkdir()
    monkeypatch.setattr(SqueezeNet, 'WEIGHTS_PATH', served.as_uri())
    monkeypatch.setattr(urllib.request, 'urlopen', REAL_URLOPEN)
    return served


def test_pretrained_downloads_and_loads_a_sound_file(local_site):
    np.random.seed(0)
    trained = SqueezeNet()
    trained.save_weights(str(local_site))
    model = SqueezeNet(pretrained=True)
    assert os.listdir(models_dir()) == ['squeeze.npz']
    for (_, want), (_, got) in zip(trained.named_params(), model.named_params()):
        np.testing.assert_array_equal(got.data, want.data)


def test_pretrained_refuses_a_download_with_a_damaged_array(local_site):
    np.random.seed(0)
    trained = SqueezeNet()
    trained.save_weights(str(local_site))
    data = bytearray(local_site.read_bytes())
    weights = trained.fire2.squeeze.W.data  # stored uncompressed, so findable
    at = data.find(weights.tobytes()[:64])
    assert at > 0
    data[at + 5] ^= 0x40  # one flipped bit, shape unchanged
    local_site.write_bytes(bytes(data))
    with pytest.raises(
        ChecksumError,
        match=r'^SqueezeNet: the weights file squeeze\.npz is not in .* \(the downloaded file '
        r"is not valid: the array 'fire2/squeeze/W\.npy' in it fails its CRC-32 check\)",
    ):
        SqueezeNet(pretrained=True)
    assert not os.path.exists(models_dir())  # the damaged file was not kept


@pytest.mark.parametrize('content', [b'', b'not a zip archive', b'PK\x03\x04trunc'])
def test_pretrained_refuses_a_download_that_is_not_an_npz(local_site, content):
    local_site.write_bytes(content)
    with pytest.raises(ChecksumError, match='^SqueezeNet: .*not a readable .npz'):
        SqueezeNet(pretrained=True)
    assert not os.path.exists(models_dir())

"""EpochProgress: plain lines every N epochs, or a tqdm bar with the lines above it."""

import io
import re

import numpy as np
import pytest

from dezero.core import Variable
from dezero.progress import EpochProgress, format_metrics


def test_format_metrics():
    assert format_metrics({'loss': 0.812345, 'acc': 0.5}) == 'loss 0.8123  acc 0.5000'
    assert format_metrics({}) == ''


def test_plain_lines_every_n_epochs_and_after_the_last():
    out = io.StringIO()
    with EpochProgress(7, every=3, bar=False, file=out) as progress:
        for epoch in range(7):
            progress.update(loss=1.0 / (epoch + 1))
    assert out.getvalue().splitlines() == [
        'epoch 3/7  loss 0.3333',
        'epoch 6/7  loss 0.1667',
        'epoch 7/7  loss 0.1429',
    ]


def test_default_interval_gives_about_ten_lines():
    out = io.StringIO()
    with EpochProgress(300, bar=False, file=out) as progress:
        for _ in range(300):
            progress.update(loss=0.5)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0] == 'epoch  30/300  loss 0.5000'


def test_bar_writes_the_lines_too():
    pytest.importorskip('tqdm')
    out = io.StringIO()
    with EpochProgress(4, every=2, bar=True, file=out) as progress:
        for _ in range(4):
            progress.update(acc=0.25)
    assert re.findall(r'epoch \d/4  acc 0\.2500', out.getvalue()) == [
        'epoch 2/4  acc 0.2500',
        'epoch 4/4  acc 0.2500',
    ]


@pytest.mark.parametrize('kwargs', [{'epochs': -1}, {'epochs': 2.5}, {'epochs': 3, 'every': 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match='EpochProgress'):
        EpochProgress(bar=False, **kwargs)


def test_any_metric_name_works_as_a_dict_or_as_names():
    # update(**logs) with a metric named 'self' raised TypeError (self given twice)
    out = io.StringIO()
    with EpochProgress(3, every=1, bar=False, file=out) as progress:
        progress.update({'self': 0.5, 'figures': 0.25})
        progress.update(self=0.75, figures=1.0)
        progress.update({'loss': 0.125}, acc=0.5)
    assert out.getvalue().splitlines() == [
        'epoch 1/3  self 0.5000  figures 0.2500',
        'epoch 2/3  self 0.7500  figures 1.0000',
        'epoch 3/3  loss 0.1250  acc 0.5000',
    ]


def test_figures_that_are_not_a_dict_are_refused():
    with EpochProgress(2, bar=False, file=io.StringIO()) as progress:
        with pytest.raises(TypeError, match=r'EpochProgress\.update: figures must be a dict'):
            progress.update([('loss', 0.5)])
        assert progress.epoch == 0


def test_numpy_integers_are_taken_and_bools_refused():
    progress = EpochProgress(np.int64(4), every=np.int32(2), bar=False, file=io.StringIO())
    assert (progress.epochs, progress.every) == (4, 2)
    assert type(progress.epochs) is int
    for kwargs in ({'epochs': True}, {'epochs': 3, 'every': True}):
        with pytest.raises(ValueError, match='EpochProgress'):
            EpochProgress(bar=False, **kwargs)


@pytest.mark.parametrize('bar', ['False', 0, 1])
def test_bar_must_be_true_or_false(bar):
    with pytest.raises(TypeError, match='EpochProgress: bar must be True or False'):
        EpochProgress(3, bar=bar)


@pytest.mark.parametrize('value', [None, 'high', [0.5]])
def test_a_figure_that_is_no_number_is_refused_and_counts_no_epoch(value):
    out = io.StringIO()
    with EpochProgress(2, every=1, bar=False, file=out) as progress:
        with pytest.raises(TypeError, match=r"EpochProgress\.update: the figure 'loss'"):
            progress.update(loss=value)
        with pytest.raises(TypeError, match=r"EpochProgress\.update: the figure 'acc'"):
            progress.update({'acc': value})
        assert progress.epoch == 0
        progress.update(loss=0.5)
    assert out.getvalue().splitlines() == ['epoch 1/2  loss 0.5000']


def test_a_variable_figure_is_refused_naming_it():
    # a Variable gave 'unsupported format string', after the epoch was counted
    with EpochProgress(2, bar=False, file=io.StringIO()) as progress:
        with pytest.raises(TypeError, match=r"update: the figure 'loss' is a Variable"):
            progress.update(loss=Variable(np.array(0.5)))
        assert progress.epoch == 0


def test_numpy_bools_are_figures_and_a_number_without_a_floats_format_is_named():
    import fractions

    out = io.StringIO()
    bar = EpochProgress(2, bar=False, file=out)
    bar.update(acc=np.bool_(True))
    assert 'acc 1.0000' in out.getvalue()
    with pytest.raises(TypeError, match=r"EpochProgress.update: the figure 'r' is a Fraction"):
        bar.update(r=fractions.Fraction(1, 3))
    assert bar.epoch == 1

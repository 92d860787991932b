"""Keeps benchmarks/bench_higher.py working and right: every order of the derivative
against the closed form, a tiny run, and PyTorch's values when it is installed."""

import json

import numpy as np
import pytest

from bench_support import frozen_gc, load  # noqa: F401  (frozen_gc: autouse fixture)


@pytest.fixture(scope='module')
def bench():
    return load('bench_higher')


def test_closed_form_of_the_first_derivatives(bench):
    x = np.linspace(-3, 3, 13)
    t = np.tanh(x)
    np.testing.assert_allclose(bench.derivative_closed_form(x, 0), t)
    np.testing.assert_allclose(bench.derivative_closed_form(x, 1), 1 - t**2)
    np.testing.assert_allclose(bench.derivative_closed_form(x, 2), -2 * t * (1 - t**2))
    np.testing.assert_allclose(bench.derivative_closed_form(x, 3), (1 - t**2) * (6 * t**2 - 2))


@pytest.mark.parametrize('order', [1, 2, 3, 6])
def test_dezero_derivative_of_each_order(bench, order):
    x = bench.make_points(50)
    np.testing.assert_allclose(
        bench.derivative_dezero(x, order),
        bench.derivative_closed_form(x, order),
        rtol=1e-10,
        atol=1e-10,
    )


def test_run_tiny_configuration_without_torch(bench):
    result = bench.run(repeat=1, steps=1, use_torch=False, points=20)
    assert result['torch'] is None and result['dezero']['median_s'] > 0
    speed, closed_form, vs_torch = result['targets']
    assert speed['passed'] is None and vs_torch['passed'] is None
    assert closed_form['passed'] and closed_form['value'] < 1e-12
    json.dumps(result)
    assert 'relative difference from the closed form' in bench.report(result)


def test_pytorch_gives_the_same_values(bench):
    torch = pytest.importorskip('torch')
    x = bench.make_points(50)
    np.testing.assert_allclose(
        bench.derivative_torch(torch, x), bench.derivative_dezero(x), rtol=1e-12, atol=1e-12
    )
    result = bench.run(repeat=1, steps=1, torch=torch, points=20)
    assert all(t['passed'] in (True, False) for t in result['targets'])

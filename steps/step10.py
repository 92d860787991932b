"""Step 10: unit tests with unittest, including a numerical gradient check.

The framework is unchanged; this step tests it. Each function gets three tests: the
forward value, the backward value at a point where the answer is known, and a gradient
check that compares ``backward`` with ``numerical_diff`` at a random input (random so
that no special point hides a bug). In the output, check that all six tests pass; the
script exits with status 1 if any fails.
"""

import sys
import unittest

import numpy as np

# ---- the framework so far --------------------------------------------------------------


class Variable:
    """An array (``data``), its gradient (``grad``) and the function that made it."""

    def __init__(self, data):
        if data is not None and not isinstance(data, np.ndarray):
            raise TypeError(f'{type(data).__name__} is not supported: use a NumPy array')
        self.data = data
        self.grad = None
        self.creator = None

    def set_creator(self, func):
        self.creator = func

    def backward(self):
        if self.grad is None:
            self.grad = np.ones_like(self.data)  # dy/dy = 1, shaped like y
        funcs = [self.creator]
        while funcs:
            f = funcs.pop()
            x, y = f.input, f.output
            x.grad = f.backward(y.grad)
            if x.creator is not None:
                funcs.append(x.creator)


def as_array(x):
    """Return x as an ndarray: NumPy scalars become 0-d arrays."""
    if np.isscalar(x):
        return np.array(x)
    return x


class Function:
    """Base class: computes, wraps the result and links it into the graph."""

    def __call__(self, input):
        x = input.data
        y = self.forward(x)
        output = Variable(as_array(y))
        output.set_creator(self)
        self.input = input
        self.output = output
        return output

    def forward(self, x):
        raise NotImplementedError()

    def backward(self, gy):
        raise NotImplementedError()


class Square(Function):
    def forward(self, x):
        return x**2

    def backward(self, gy):
        x = self.input.data
        return 2 * x * gy


class Exp(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        x = self.input.data
        return np.exp(x) * gy


def square(x):
    return Square()(x)


def exp(x):
    return Exp()(x)


def numerical_diff(f, x, eps=1e-4):
    """Central difference: the slope of f across [x - eps, x + eps]."""
    x0 = Variable(as_array(x.data - eps))  # a 0-d array minus eps is a NumPy scalar
    x1 = Variable(as_array(x.data + eps))
    y0 = f(x0)
    y1 = f(x1)
    return (y1.data - y0.data) / (2 * eps)


# ---- the tests -------------------------------------------------------------------------


class SquareTest(unittest.TestCase):
    def test_forward(self):
        x = Variable(np.array(2.0))
        y = square(x)
        self.assertEqual(y.data, np.array(4.0))

    def test_backward(self):
        x = Variable(np.array(3.0))
        y = square(x)
        y.backward()
        self.assertEqual(x.grad, np.array(6.0))  # d(x²)/dx = 2x

    def test_gradient_check(self):
        x = Variable(np.random.rand(1))
        y = square(x)
        y.backward()
        num_grad = numerical_diff(square, x)
        self.assertTrue(np.allclose(x.grad, num_grad))


class ExpTest(unittest.TestCase):
    def test_forward(self):
        x = Variable(np.array(0.0))
        y = exp(x)
        self.assertEqual(y.data, np.array(1.0))  # e^0 = 1

    def test_backward(self):
        x = Variable(np.array(1.0))
        y = exp(x)
        y.backward()
        self.assertTrue(np.allclose(x.grad, np.e))  # d(e^x)/dx = e^x

    def test_gradient_check(self):
        x = Variable(np.random.rand(1))
        y = exp(x)
        y.backward()
        num_grad = numerical_diff(exp, x)
        self.assertTrue(np.allclose(x.grad, num_grad))


# ---- running them ----------------------------------------------------------------------

if __name__ == '__main__':
    np.random.seed(0)
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    print(
        f'tests run: {result.testsRun}, failures: {len(result.failures)}, '
        f'errors: {len(result.errors)}'
    )
    sys.exit(0 if result.wasSuccessful() else 1)

"""Step 32: second derivatives with create_graph=True.

With the backward pass recorded (step 31), x.grad is a function of x like any other,
so calling backward() on it differentiates once more. For f(x) = x^4 - 2x^2 at x = 2,
look for f'(2) = 24 and f''(2) = 44, two pitfalls (forgetting x.cleargrad() gives
24 + 44 = 68; forgetting create_graph leaves nothing to differentiate), and a
numerical check of the second derivatives of a few functions of dezero.functions.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable
from dezero.utils import gradgrad_check


def f(x):
    return x**4 - 2 * x**2  # f'(x) = 4x^3 - 4x, f''(x) = 12x^2 - 4


# The right way: record the first backward, clear x.grad, differentiate the gradient.
x = Variable(np.array(2.0))
y = f(x)
y.backward(create_graph=True)
gx = x.grad  # f'(x), with its graph
print(f"f'(2)  = {float(gx.data)}")
x.cleargrad()  # start the second derivative from zero
gx.backward()
print(f"f''(2) = {float(x.grad.data)}")

# Pitfall 1: without cleargrad the second backward adds to the first gradient.
x = Variable(np.array(2.0))
y = f(x)
y.backward(create_graph=True)
gx = x.grad
gx.backward()
print(f"without x.cleargrad(): x.grad = {float(x.grad.data)} (f' + f'' = 24 + 44)")

# Pitfall 2: without create_graph the gradient is a leaf: backward reaches nothing.
x = Variable(np.array(2.0))
y = f(x)
y.backward()
gx = x.grad
x.cleargrad()
gx.backward()
print(f'without create_graph=True: gx.creator = {gx.creator}, x.grad = {x.grad}')

# gradgrad_check differentiates each function twice and compares with central
# differences of its first derivative, at random points.
np.random.seed(0)
for func in (F.sin, F.cos, F.tanh, F.exp):
    ok = gradgrad_check(func, np.random.randn(3, 4))
    result = 'ok' if ok else 'FAILED'
    print(f'second derivatives of {func.__name__}: numerical check {result}')

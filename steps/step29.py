"""Step 29: Newton's method, with a second derivative written by hand.

Gradient descent only knows the slope f'(x) and needs a learning rate chosen by hand.
Newton's method also uses the curvature f''(x): it jumps to the minimum of the
parabola that matches f at x, x <- x - f'(x) / f''(x). Here f(x) = x^4 - 2x^2, whose
minima are at x = -1 and x = 1. dezero computes f'(x) by backprop; f''(x) = 12x^2 - 4
is still derived by hand (step 33 will automate it). Starting from x = 2, look at how
few iterations reach x = 1, compared with gradient descent at the end.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

from dezero import Variable


def f(x):
    return x**4 - 2 * x**2


def gx2(x):
    """f''(x), differentiated by hand: f'(x) = 4x^3 - 4x, so f''(x) = 12x^2 - 4."""
    return 12 * x**2 - 4


x = Variable(np.array(2.0))
print(f'newton iteration 0: x = {float(x.data):.12f}')
for i in range(1, 11):
    y = f(x)
    x.cleargrad()
    y.backward()  # x.grad = f'(x)

    step = x.grad.data / gx2(x.data)  # f'(x) / f''(x)
    x.data -= step
    print(f'newton iteration {i}: x = {float(x.data):.12f}')
    if abs(step) < 1e-10:  # the point no longer moves: converged
        break

# For comparison: gradient descent with a learning rate of 0.01, counted until it is
# within 1e-6 of x = 1 (about where Newton's method is after 5 iterations).
x = Variable(np.array(2.0))
n = 0
while abs(float(x.data) - 1.0) > 1e-6:
    y = f(x)
    x.cleargrad()
    y.backward()
    x.data -= 0.01 * x.grad.data
    n += 1
print(f'gradient descent (lr = 0.01) needs {n} iterations to get within 1e-6 of x = 1')

"""Step 28: minimising the Rosenbrock function by gradient descent.

The Rosenbrock function y = 100 (x1 - x0^2)^2 + (x0 - 1)^2 has its minimum, 0, at
(1, 1), at the bottom of a long, curved and almost flat valley. Gradient descent
repeats one move: compute the gradient with backward(), then step against it,
x <- x - lr * grad. Look at the printed points: they reach the valley quickly, then
crawl along it towards (1, 1). With DEZERO_STEPS_QUICK=1 the run is shortened from
10000 to 5000 iterations, and the final point is further from (1, 1).
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

from dezero import Variable


def rosenbrock(x0, x1):
    return 100 * (x1 - x0**2) ** 2 + (x0 - 1) ** 2


quick = os.environ.get('DEZERO_STEPS_QUICK') == '1'
iters = 5000 if quick else 10000
lr = 0.001
print_every = iters // 10

x0 = Variable(np.array(0.0))
x1 = Variable(np.array(2.0))

for i in range(iters):
    y = rosenbrock(x0, x1)
    if i % print_every == 0:
        print(
            f'iteration {i:5d}: (x0, x1) = ({float(x0.data):.6f}, {float(x1.data):.6f}), '
            f'y = {float(y.data):.6f}'
        )

    x0.cleargrad()  # gradients accumulate: clear the previous ones first
    x1.cleargrad()
    y.backward()

    x0.data -= lr * x0.grad.data  # update the arrays directly: no graph needed here
    x1.data -= lr * x1.grad.data

y = rosenbrock(x0, x1)
print(
    f'final point after {iters} iterations: '
    f'({float(x0.data):.6f}, {float(x1.data):.6f}), y = {float(y.data):.6f}; '
    f'the minimum is y = 0 at (1, 1)'
)

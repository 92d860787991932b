"""Step 46: optimizers.

The update p.data -= lr * p.grad.data moves out of the training loop into an
optimizer object: optimizer = SGD(lr).setup(model) once, then optimizer.update()
after every backward(). Other update rules are then a one-line change. Here
plain SGD and MomentumSGD (which keeps a velocity per parameter, so steps in a
steady direction build up speed) train the same network, from the same first
weights and with the same learning rate, on the sine of steps 43-45. Compare the
two loss columns and the final losses: momentum gets out of the 0.25 plateau
several times sooner.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import optimizers
from dezero.models import MLP

# DEZERO_STEPS_QUICK=1 runs a few iterations only (for automated checks).
QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

lr = 0.2
iters = 1000 if QUICK else 10000
report_every = iters // 10


def train(optimizer):
    """Train MLP((10, 1)) on the noisy sine with ``optimizer``; return the losses."""
    np.random.seed(0)  # the same data and first weights for every run
    x = np.random.rand(100, 1)
    y = np.sin(2 * np.pi * x) + np.random.rand(100, 1)

    model = MLP((10, 1))
    optimizer.setup(model)  # setup returns the optimizer itself

    losses = []
    for i in range(iters):
        y_pred = model(x)
        loss = F.mean_squared_error(y, y_pred)

        model.cleargrads()
        loss.backward()
        optimizer.update()  # every parameter with a gradient is updated

        losses.append(float(loss.data))
    return losses


sgd_losses = train(optimizers.SGD(lr=lr))
momentum_losses = train(optimizers.MomentumSGD(lr=lr, momentum=0.9))

print(f'learning rate {lr}, {iters} iterations each')
print(' iter       SGD  MomentumSGD')
for i in list(range(0, iters, report_every)) + [iters - 1]:
    print(f'{i:5d}  {sgd_losses[i]:.6f}     {momentum_losses[i]:.6f}')


def first_below(losses, level=0.1):
    """The first iteration whose loss is below ``level``, as text."""
    for i, value in enumerate(losses):
        if value < level:
            return f'iteration {i}'
    return f'not within {len(losses)} iterations'


print(
    'loss below 0.1 first at: SGD',
    first_below(sgd_losses),
    '| MomentumSGD',
    first_below(momentum_losses),
)
print(f'final loss SGD: {sgd_losses[-1]:.6f}')
print(f'final loss MomentumSGD: {momentum_losses[-1]:.6f}')

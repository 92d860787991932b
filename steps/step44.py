"""Step 44: Parameter and Layer.

Keeping a list of hand-made weights grows tiresome, so parameters get a type
of their own, Parameter (a Variable that is marked as something to learn), and
a Layer collects them: any Parameter assigned as an attribute of a layer is
registered, and layer.params() yields them all. L.Linear is a layer holding W
and b; it creates W on its first call, from the width of the input. The sine
of step 43 is fitted again with two such layers. Check the registered names
printed first, then the loss going down as before. The fit is saved as step44.png.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
import dezero.layers as L
from dezero import Layer, Parameter, Variable

# DEZERO_STEPS_QUICK=1 runs a few iterations only (for automated checks).
QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'

# --- what a Layer registers ---------------------------------------------------------
demo = Layer()
demo.p1 = Parameter(np.array(1.0))
demo.p2 = Parameter(np.array(2.0))
demo.v = Variable(np.array(3.0))  # a plain Variable: not a parameter
demo.label = 'demo'  # anything else: not a parameter either
print('Parameter is a Variable:', isinstance(demo.p1, Variable))
print('parameters registered:', [name for name, _ in demo.named_params()])
print('their values:', [float(p.data) for p in demo.params()])

# --- fitting the sine with two Linear layers ------------------------------------------
np.random.seed(0)
x = np.random.rand(100, 1)
y = np.sin(2 * np.pi * x) + np.random.rand(100, 1)

l1 = L.Linear(10)  # only the output size: the input size comes from x
l2 = L.Linear(1)
print('before the first call, l1.W holds', l1.W.data)


def predict(x):
    h = F.sigmoid(l1(x))
    return l2(h)


lr = 0.2
iters = 1000 if QUICK else 10000

for i in range(iters):
    y_pred = predict(x)
    loss = F.mean_squared_error(y, y_pred)

    l1.cleargrads()  # clears W.grad and b.grad of the layer
    l2.cleargrads()
    loss.backward()

    for layer in (l1, l2):
        for p in layer.params():
            p.data -= lr * p.grad.data

    if i == 0:
        print('after the first call, l1.W has shape', l1.W.shape, 'and l1.b has shape', l1.b.shape)
    if i % (iters // 10) == 0 or i == iters - 1:
        print(f'iter {i:5d}  loss {float(loss.data):.6f}')

print(f'final loss after {iters} iterations: {float(loss.data):.6f}')

# --- picture: the data and the network's curve ----------------------------------------
try:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
except ImportError:
    print('skipped the picture step44.png: matplotlib is not installed')
else:
    grid = np.linspace(0, 1, 200).reshape(-1, 1)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(x, y, s=10, label='data')
    ax.plot(grid, predict(grid).data, color='tab:red', label='two Linear layers')
    ax.set_xlabel('x')
    ax.set_ylabel('y')
    ax.legend()
    fig.savefig('step44.png', dpi=80)
    plt.close(fig)
    print('saved step44.png')

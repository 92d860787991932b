"""Step 45: layers of layers, Model and MLP.

A Layer may hold other layers as attributes, and params() then walks into them,
so a whole network is one object: one cleargrads() and one loop over params()
serve every weight. Model is such a Layer meant as a complete network; it adds
plot(), which draws the computation graph of a forward pass (with Graphviz).
MLP builds the usual stack of Linear layers from a tuple of output sizes.
Look at the parameter names of the hand-written TwoLayerNet, then at the loss
of MLP((10, 1)): it is step 44's network, and prints the same losses.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
import dezero.layers as L
from dezero import Model
from dezero.graph import GraphvizNotFoundError
from dezero.models import MLP

# DEZERO_STEPS_QUICK=1 runs a few iterations only (for automated checks).
QUICK = os.environ.get('DEZERO_STEPS_QUICK') == '1'


# --- a model written by hand -------------------------------------------------------------
class TwoLayerNet(Model):
    """The network of step 44 as one object: Linear, sigmoid, Linear."""

    def __init__(self, hidden_size, out_size):
        super().__init__()
        self.l1 = L.Linear(hidden_size)  # layers assigned as attributes are
        self.l2 = L.Linear(out_size)  # registered, like Parameters

    def forward(self, x):
        h = F.sigmoid(self.l1(x))
        return self.l2(h)


np.random.seed(0)
net = TwoLayerNet(10, 1)
x_demo = np.linspace(0, 1, 5).reshape(5, 1)  # five inputs of width 1
print('TwoLayerNet output shape:', net(x_demo).shape)  # this call creates the weights
print('TwoLayerNet parameters:', [(name, p.shape) for name, p in net.named_params()])

# net.plot runs forward and draws the graph: variables as ovals (with shapes and
# dtypes), functions as boxes. The DOT text is written even without Graphviz.
try:
    picture = net.plot(x_demo, to_file='step45_model.png')
    print('saved', picture, 'and step45_model.dot')
except GraphvizNotFoundError as e:
    print(f'skipped the picture step45_model.png: Graphviz is not available ({e})')

# --- MLP: the stack of Linear layers from a tuple of sizes --------------------------------
deep = MLP((10, 20, 30, 1))  # three sigmoid-separated hidden layers, one output
print('MLP((10, 20, 30, 1)) output shape:', deep(x_demo).shape)
print('its parameters:', [(name, p.shape) for name, p in deep.named_params()])

# --- training MLP((10, 1)) on the sine of steps 43 and 44 ---------------------------------
# Reseeding gives the same data and the same first weights as in step 44.
np.random.seed(0)
x = np.random.rand(100, 1)
y = np.sin(2 * np.pi * x) + np.random.rand(100, 1)

model = MLP((10, 1))  # Linear(10) -> sigmoid -> Linear(1)
lr = 0.2
iters = 1000 if QUICK else 10000

for i in range(iters):
    y_pred = model(x)
    loss = F.mean_squared_error(y, y_pred)

    model.cleargrads()  # every parameter of every layer
    loss.backward()

    for p in model.params():
        p.data -= lr * p.grad.data

    if i % (iters // 10) == 0 or i == iters - 1:
        print(f'iter {i:5d}  loss {float(loss.data):.6f}')

print(f'final loss after {iters} iterations: {float(loss.data):.6f}')

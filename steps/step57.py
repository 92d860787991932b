"""Step 57: the Conv2d layer and pooling.

``L.Conv2d(out_channels, kernel_size, stride, pad)`` holds the filters W (OC, C, KH, KW)
and the bias b (OC,) as parameters and calls ``F.conv2d``; like ``Linear``, it creates W
on its first call, from the number of channels of the input. ``F.pooling`` (max
pooling) keeps the largest value of each window and has no parameters; it shrinks the
feature maps and makes the network tolerate small shifts. Look at the shapes through a
layer and a pooling, the maximum of each 2x2 block of a small image (and where its
gradient goes), the gradient checks of conv2d against numerical differentiation (all
True), and a small convolutional network turning a batch of 28x28 images into 10 scores.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
import dezero.layers as L
from dezero import Model, Variable
from dezero.utils import gradient_check

np.random.seed(0)

# --- 1. A Conv2d layer and a pooling on a batch ---------------------------------------
x = np.random.randn(2, 3, 8, 8).astype(np.float32)  # 2 images, 3 channels, 8x8
conv = L.Conv2d(4, kernel_size=3, stride=1, pad=1)  # 4 filters of 3x3
print('W before the first call:', conv.W.data)  # the input channels are not known
y = conv(x)
print('x', x.shape, '-> Conv2d(4, 3, pad=1) ->', y.shape)
print('W shape', conv.W.shape, ' b shape', conv.b.shape)
z = F.pooling(y, kernel_size=2, stride=2)
print(y.shape, '-> pooling(2, stride=2) ->', z.shape)

# --- 2. Max pooling on a small image ---------------------------------------------------
img = Variable(
    np.array([[[[1, 2, 0, 1], [3, 4, 6, 5], [0, 1, 2, 3], [7, 1, 4, 8]]]], dtype=np.float32)
)
p = F.pooling(img, 2, stride=2)
print('max of each 2x2 block:', p.data[0, 0].tolist())
p.backward()  # the gradient flows back only to the maxima
print('gradient of the image (1 where a maximum was):')
print(img.grad.data[0, 0].astype(int))
print('average pooling:', F.average_pooling(img, 2, stride=2).data[0, 0].tolist())

# --- 3. Gradient checks of conv2d on a tiny input (float64) ---------------------------
x = np.random.randn(1, 2, 4, 4)
W = np.random.randn(3, 2, 3, 3)
b = np.random.randn(3)
print('conv2d gradient check, x:', gradient_check(lambda x: F.conv2d(x, W, b, 1, 1), x))
print('conv2d gradient check, W:', gradient_check(lambda W: F.conv2d(x, W, b, 1, 1), W))
print('conv2d gradient check, b:', gradient_check(lambda b: F.conv2d(x, W, b, 1, 1), b))
print(
    'conv2d gradient check, stride 2:',
    gradient_check(lambda x: F.conv2d(x, W, b, stride=2, pad=1), x),
)
print('pooling gradient check:', gradient_check(lambda x: F.pooling(x, 2, 2), x))


# --- 4. A small convolutional network -----------------------------------------------
class SimpleConvNet(Model):
    """conv(30 filters of 5x5) - relu - pool 2x2 - linear(100) - relu - linear(10)."""

    def __init__(self, hidden_size=100, out_size=10):
        super().__init__()
        self.conv1 = L.Conv2d(30, kernel_size=5, stride=1, pad=0)
        self.fc1 = L.Linear(hidden_size)
        self.fc2 = L.Linear(out_size)

    def forward(self, x):
        x = F.pooling(F.relu(self.conv1(x)), 2, stride=2)  # (N, 30, 12, 12)
        x = F.reshape(x, (x.shape[0], -1))  # (N, 4320)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


model = SimpleConvNet()
x = np.random.rand(5, 1, 28, 28).astype(np.float32)  # 5 "MNIST-like" images
t = np.array([0, 1, 2, 3, 4])
scores = model(x)
loss = F.softmax_cross_entropy(scores, t)
loss.backward()
n_params = sum(p.data.size for p in model.params())
print('SimpleConvNet: input', x.shape, '-> scores', scores.shape)
print(f'SimpleConvNet parameters: {n_params:,}')
print('every parameter has a gradient:', all(p.grad is not None for p in model.params()))

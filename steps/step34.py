"""Step 34: derivatives of sin of any order.

Repeating "take x.grad, clear it, backward(create_graph=True) on it" climbs one order
of derivative each time. For sin the answers are known: cos, -sin, -cos, sin, ...
Look at the values at x = 1 next to the closed forms. The same loop runs on an array
of 200 points at once (each derivative is elementwise), and the curves of sin and its
first three derivatives are plotted into sin_derivatives.png (skipped with a message
when matplotlib is not installed).
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

import dezero.functions as F
from dezero import Variable


def sin_and_derivatives(x_data, order):
    """sin(x) and its derivatives of orders 1..order, as a list of arrays."""
    x = Variable(x_data)
    y = F.sin(x)
    results = [y.data]
    y.backward(create_graph=True)  # x.grad = first derivative, with its graph
    for k in range(1, order + 1):
        gx = x.grad  # the derivative of order k
        results.append(gx.data)
        if k < order:
            x.cleargrad()
            gx.backward(create_graph=True)  # x.grad becomes order k + 1
    return results


# At a single point, against the closed forms.
closed = [
    ('sin(1)', np.sin),
    ('cos(1)', np.cos),
    ('-sin(1)', lambda t: -np.sin(t)),
    ('-cos(1)', lambda t: -np.cos(t)),
]
values = sin_and_derivatives(np.array(1.0), 3)
for k, (value, (name, g)) in enumerate(zip(values, closed)):
    label = 'y' if k == 0 else 'order ' + str(k)
    print(f'{label:>7} at x = 1: {float(value):+.10f}   ({name} = {g(1.0):+.10f})')

# On many points at once, for a plot.
x_data = np.linspace(-7, 7, 200)
curves = sin_and_derivatives(x_data, 3)
try:
    import matplotlib

    matplotlib.use('Agg')  # draw into files, never open a window
    import matplotlib.pyplot as plt
except ImportError:
    print('skipped sin_derivatives.png: matplotlib is not installed')
else:
    labels = ['y = sin(x)', "y'", "y''", "y'''"]
    for curve, label in zip(curves, labels):
        plt.plot(x_data, curve, label=label)
    plt.xlabel('x')
    plt.ylim(-1.25, 1.5)  # leave room for the legend above the curves
    plt.legend(loc='upper center', ncol=4)
    plt.savefig('sin_derivatives.png')
    plt.close()
    print('wrote sin_derivatives.png')

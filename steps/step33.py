"""Step 33: Newton's method with automatic second derivatives.

Step 29 minimised f(x) = x^4 - 2x^2 with Newton's method, x <- x - f'(x) / f''(x), but
f''(x) was derived by hand. Now both derivatives come from dezero: f'(x) from
backward(create_graph=True) and f''(x) from backward() on that gradient (step 32).
Nothing but f itself is written by hand. Look at the iterates from x = 2: they are
those of step 29 and reach x = 1 in 7 iterations; under each iterate, f' and f'' at that
point, where f'' matches 12x^2 - 4.
"""

import os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np

from dezero import Variable


def f(x):
    return x**4 - 2 * x**2


x = Variable(np.array(2.0))
print(f'newton iteration 0: x = {float(x.data):.12f}')
for i in range(1, 11):
    y = f(x)
    x.cleargrad()
    y.backward(create_graph=True)
    gx = x.grad  # f'(x), recorded as a graph

    x.cleargrad()
    gx.backward()
    gx2 = x.grad  # f''(x)

    by_hand = 12 * float(x.data) ** 2 - 4
    print(
        f"    at this x: f' = {float(gx.data):.6g}, f'' = {float(gx2.data):.6g} "
        f'(by hand, 12x^2 - 4 = {by_hand:.6g})'
    )
    step = gx.data / gx2.data
    x.data -= step
    print(f'newton iteration {i}: x = {float(x.data):.12f}')
    if abs(step) < 1e-10:  # the point no longer moves: converged
        break
print(f'minimum found at x = {float(x.data):.12f} after {i} iterations')

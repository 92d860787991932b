"""Step 1: a Variable is a box that holds a NumPy array.

The whole framework grows out of one tiny class, ``Variable``. For now its only job is
to carry a NumPy array in its ``data`` attribute; later steps will hang more on it (a
gradient, the function that made it, a name). In the output, check that the box gives
back exactly what was put in, and that arrays of any number of dimensions fit.
"""

import numpy as np

# ---- the framework so far --------------------------------------------------------------


class Variable:
    """A box around a NumPy array, kept in ``data``."""

    def __init__(self, data):
        self.data = data


# ---- trying it out ---------------------------------------------------------------------

# Put an array into the box and read it back.
x = Variable(np.array(1.0))
print('x.data =', x.data)

# The contents can be replaced at any time.
x.data = np.array(2.0)
print('x.data after assigning 2.0 =', x.data)

# Any array fits: a scalar has 0 dimensions, a vector 1, a matrix 2, and so on.
arrays = [np.array(5.0), np.array([1.0, 2.0, 3.0]), np.array([[1.0, 2.0], [3.0, 4.0]])]
for array in arrays:
    v = Variable(array)
    print(f'ndim={v.data.ndim} shape={v.data.shape} data={v.data.tolist()}')

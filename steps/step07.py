"""Step 7: each output remembers its creator, and backward follows the links.

Calling the backward methods by hand (step 6) does not scale. Now every Variable made by
a function records that function as its ``creator``, and each function records its
``input`` and ``output``. Together these links form the computational graph, and
``Variable.backward`` walks it recursively: ask the creator for the input's gradient,
then let the input carry on. In the output, follow the links back from y to x, and check
that one call of y.backward() gives the same x.grad as step 6.
"""

import numpy as np

# ---- the framework so far --------------------------------------------------------------


class Variable:
    """An array (``data``), its gradient (``grad``) and the function that made it."""

    def __init__(self, data):
        self.data = data
        self.grad = None
        self.creator = None

    def set_creator(self, func):
        self.creator = func

    def backward(self):
        f = self.creator  # the function that made this variable
        if f is not None:
            x = f.input
            x.grad = f.backward(self.grad)
            x.backward()  # recurse towards the start of the graph


class Function:
    """Base class: computes, wraps the result and links it into the graph."""

    def __call__(self, input):
        x = input.data
        y = self.forward(x)
        output = Variable(y)
        output.set_creator(self)  # the output remembers who made it
        self.input = input
        self.output = output
        return output

    def forward(self, x):
        raise NotImplementedError()

    def backward(self, gy):
        raise NotImplementedError()


class Square(Function):
    def forward(self, x):
        return x**2

    def backward(self, gy):
        x = self.input.data
        return 2 * x * gy


class Exp(Function):
    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        x = self.input.data
        return np.exp(x) * gy


def numerical_diff(f, x, eps=1e-4):
    """Central difference: the slope of f across [x - eps, x + eps]."""
    x0 = Variable(x.data - eps)
    x1 = Variable(x.data + eps)
    y0 = f(x0)
    y1 = f(x1)
    return (y1.data - y0.data) / (2 * eps)


# ---- trying it out ---------------------------------------------------------------------

A = Square()
B = Exp()
C = Square()

x = Variable(np.array(0.5))
a = A(x)
b = B(a)
y = C(b)

# Walk the graph backwards by hand, through the creator and input links.
print('y.creator is C:', y.creator is C)
print('C.input is b:', y.creator.input is b)
print('b.creator is B:', y.creator.input.creator is B)
print('B.input is a:', y.creator.input.creator.input is a)
print('a.creator is A:', a.creator is A)
print('A.input is x:', A.input is x)
print('x.creator:', x.creator, '(x was not made by a function: the walk ends here)')

# Now let the variables do the walking.
y.grad = np.array(1.0)
y.backward()
print(f'x.grad = {x.grad:.10f}')


def f(x):
    return Square()(Exp()(Square()(x)))


print(f'numerical derivative = {numerical_diff(f, x):.10f}')

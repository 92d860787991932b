"""Step 8: the same backward pass, written as a loop instead of recursion.

``Variable.backward`` now keeps a list of functions still to be processed: take one,
compute its input's gradient, and if that input was itself made by a function, put that
function on the list. The result is the same as step 7's recursion, but the depth of
the graph no longer adds to Python's call stack, and the loop is the shape that later
steps extend to functions with several inputs. In the output, check that x.grad is
unchanged and that a chain of ten squares at x = 1 gives 2**10 = 1024.
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
        funcs = [self.creator]  # functions whose backward is still to be called
        while funcs:
            f = funcs.pop()
            x, y = f.input, f.output
            x.grad = f.backward(y.grad)
            if x.creator is not None:
                funcs.append(x.creator)  # carry on towards the start of the graph


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

y.grad = np.array(1.0)
y.backward()
print(f'x.grad = {x.grad:.10f}')


def f(x):
    return Square()(Exp()(Square()(x)))


print(f'numerical derivative = {numerical_diff(f, x):.10f}')


# A longer chain: y = x**(2**10) made of ten Squares; at x = 1 the chain rule multiplies
# ten local derivatives 2x = 2, so dy/dx = 2**10.
x = Variable(np.array(1.0))
y = x
for _ in range(10):
    y = Square()(y)
y.grad = np.array(1.0)
y.backward()
print('ten Squares at x=1.0: x.grad =', x.grad)

"""Misuse of the engine gets the right gradient or a clear error, never a silent
wrong result: integer and bool data, data changed between forward and backward,
backward without a graph, bad seeds, backward returning arrays, and gradients that
share memory."""

import warnings

import numpy as np
import pytest

import dezero
import dezero.functions as F
import dezero.layers as L
from dezero import Function, Parameter, Variable, no_grad, optimizers


# ---- integer and bool data -------------------------------------------------------------
def test_an_unsigned_integer_input_gets_a_floating_gradient_without_wrapping_around():
    x = Variable(np.array([3], np.uint8))
    y = 10 - x
    y.backward()
    assert x.grad.dtype.kind == 'f'
    np.testing.assert_array_equal(x.grad.data, [-1.0])


def test_integer_data_as_in_the_book_still_gets_its_gradients():
    x = Variable(np.array([[1, 2, 3], [4, 5, 6]]))
    y = F.sum(F.reshape(x, (6,)) * 2)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))
    assert x.grad.dtype == np.float64


def test_the_backward_of_an_integer_leaf_itself_gives_a_floating_one():
    x = Variable(np.array(2))
    x.backward()
    assert x.grad.data == 1.0 and x.grad.dtype == np.float64


@pytest.mark.parametrize(
    'f, inputs, expected',
    [
        (lambda x: x**2, [np.array([200], np.uint8)], [[400.0]]),  # 2 x, not 2 x mod 256
        (lambda a, b: a / b, [np.array([3], np.uint8), np.array([2], np.uint8)], [[0.5], [-0.75]]),
        (
            lambda a, b: a**b,
            [np.array([2], np.int64), np.array([0], np.int64)],
            [[0.0], [np.log(2)]],
        ),
        (
            lambda a, b: F.mean_squared_error(a, b),
            [np.array([200, 2], np.uint8), np.array([0, 3], np.uint8)],
            [[200.0, -1.0], [-200.0, 1.0]],
        ),
    ],
    ids=['pow', 'div', 'pow-of-variables', 'mean-squared-error'],
)
def test_integer_inputs_are_differentiated_in_floating_point(f, inputs, expected):
    xs = [Variable(a) for a in inputs]
    F.sum(f(*xs)).backward()
    for x, want in zip(xs, expected):
        assert x.grad.dtype.kind == 'f'
        np.testing.assert_allclose(x.grad.data, want)


def test_the_mean_squared_error_of_integers_is_not_truncated():
    y = F.mean_squared_error(np.array([1, 2]), np.array([0, 0]))
    assert y.data == 2.5


def test_backward_from_bool_data_is_refused():
    x = Variable(np.array([True, False]))
    y = x * x  # logical and
    with pytest.raises(TypeError, match=r'backward: .*bool'):
        y.backward()


def test_a_bool_variable_is_a_constant_as_in_pytorch():
    mask = Variable(np.array([True, False]), name='mask')
    assert not mask.requires_grad
    w = Variable(np.array([1.5, 2.0]))
    F.sum(w * mask).backward()
    assert mask.grad is None
    np.testing.assert_array_equal(w.grad.data, [1.0, 0.0])


def test_a_bool_array_that_is_not_a_variable_is_a_constant_and_fine():
    w = Variable(np.array([1.5, 2.0]))
    F.sum(w * np.array([True, False])).backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 0.0])


def test_a_backward_returning_integers_is_refused():
    class Floor(Function):
        def forward(self, x):
            return np.floor(x)

        def backward(self, gy):
            return np.zeros(gy.shape, dtype=np.int64)

    x = Variable(np.array([1.5]))
    with pytest.raises(TypeError, match='int64.*floating point'):
        Floor()(x).backward()


def test_a_hook_returning_integers_is_refused():
    x = Variable(np.array([1.5, 2.5]))
    y = x * 2
    y.register_hook(lambda g: np.array([1, 1]))
    with pytest.raises(TypeError, match='hook.*int64'):
        F.sum(y).backward()


# ---- data changed between the forward pass and backward ------------------------------
def test_data_changed_in_place_after_the_forward_pass_is_refused_naming_both():
    w = Variable(np.array([2.0]), name='w')
    y = w * w
    w.data -= 1
    with pytest.raises(RuntimeError, match=r"'w' \(shape \(1,\), float64\).*Mul"):
        y.backward()


def test_data_replaced_after_the_forward_pass_is_refused():
    w = Variable(np.array([2.0]))
    y = F.sin(w)
    w.data = np.array([5.0])
    with pytest.raises(RuntimeError, match='forward pass again'):
        y.backward()


def test_an_output_changed_before_a_backward_that_reads_it_is_refused():
    x = Variable(np.array([1.0, 2.0]))
    y = F.exp(x)  # its backward reads y
    y.data += 1
    with pytest.raises(RuntimeError, match='output 0 of Exp'):
        F.sum(y).backward()


def test_a_recorded_gradient_checks_the_values_it_reads_too():
    x = Variable(np.array(2.0))
    (x**3).backward(create_graph=True)
    gx = x.grad  # 3 x², recorded
    x.cleargrad()
    x.data += 1
    with pytest.raises(RuntimeError, match='of Pow'):
        gx.backward()


def test_a_changed_value_that_no_backward_reads_is_fine():
    x = Variable(np.array([1.0, 2.0]))
    y = F.sum(x + 1)  # the gradient of x + 1 does not depend on x
    x.data = np.array([7.0, 8.0])
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_an_optimizer_update_between_forward_and_backward_is_refused():
    model = L.Linear(2, in_size=3)
    optimizer = optimizers.SGD(0.1).setup(model)
    x = np.ones((4, 3), np.float32)
    loss = F.sum(model(x))
    loss.backward()
    loss = F.sum(model(x))
    optimizer.update()  # uses the gradient of the last backward
    with pytest.raises(RuntimeError, match=r"'W' \(shape \(3, 2\), float32\)"):
        loss.backward()


@pytest.mark.parametrize(
    'view',
    [
        lambda w: w[0:2],
        lambda w: w.reshape(2, 2),
        lambda w: w.reshape(2, 2).T[1:],  # a view of a view of temporaries
        lambda w: F.broadcast_to(w.reshape(1, 4), (3, 4)),
        lambda w: F.expand_dims(w, 0),
    ],
)
def test_data_changed_in_place_under_a_view_that_backward_reads_is_refused(view):
    w = Variable(np.array([1.0, 2.0, 3.0, 4.0]), name='w')
    v = view(w)
    y = F.sum(v * v)  # Mul reads the view, whose memory is w's
    w.data -= 1  # as an optimizer's update does
    with pytest.raises(RuntimeError, match=r"input 0 of Mul, is a view of the data of.*'w'"):
        y.backward()


def test_a_transposed_weight_updated_before_backward_is_refused():
    W = Variable(np.arange(12.0).reshape(3, 4), name='W')
    h = Variable(np.ones((2, 4)))
    loss = F.sum(F.matmul(h, W.T) ** 2)
    W.data -= 0.5
    with pytest.raises(RuntimeError, match=r"view of the data of the variable 'W'"):
        loss.backward()


def test_data_replaced_under_a_view_leaves_the_view_right():
    w = Variable(np.array([1.0, 2.0, 3.0, 4.0]))
    v = w[0:2]
    y = F.sum(v * v)
    w.data = w.data - 10  # a new array: the view still holds the values it was used with
    y.backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0, 0.0, 0.0])


def test_data_changed_by_a_hook_during_backward_is_refused():
    x = Variable(np.array([0.0, 1.0]), name='x')
    y = F.sin(x)
    y.register_hook(lambda g: setattr(x, 'data', np.array([3.0, 3.0])))
    with pytest.raises(RuntimeError, match=r"'x' .*input 0 of Sin"):
        F.sum(y * 2).backward()


def test_the_usual_training_loop_and_data_assignments_before_forward_are_fine():
    x = Variable(np.array(2.0))
    for _ in range(3):  # the book's gradient descent (steps 28-29)
        y = x**2
        x.cleargrad()
        y.backward()
        x.data -= 0.25 * x.grad.data
    assert x.data == pytest.approx(0.25)


@pytest.mark.parametrize('array', [np.array(['a', 'b']), np.array([None, 1.0])])
def test_data_must_hold_numbers(array):
    with pytest.raises(TypeError, match='Variable: data must hold numbers.*got dtype'):
        Variable(array)


def test_data_must_be_an_array():
    x = Variable(np.array(2.0))
    with pytest.raises(TypeError, match='Variable.data.*list'):
        x.data = [1.0]
    x.data = x.data - 1  # a NumPy scalar becomes a 0-d array
    assert isinstance(x.data, np.ndarray) and x.data == 1.0


# ---- backward without a graph -------------------------------------------------------
def test_backward_of_a_result_computed_under_no_grad_raises():
    x = Variable(np.array([2.0]))
    with no_grad():
        y = x * x
    with pytest.raises(RuntimeError, match='no_grad'):
        y.backward()
    assert x.grad is None


def test_a_result_computed_under_no_grad_is_a_leaf_that_a_later_graph_trains():
    # the book's DeZero makes W a new leaf here, and its repository once updated
    # parameters this way (step 42): the next pass must give the new W a gradient
    x = Variable(np.array([[1.0], [2.0]]))
    W = Variable(np.array([[0.0]]))
    losses = []
    for _ in range(3):
        loss = F.sum((F.matmul(x, W) - 3 * x) ** 2)
        losses.append(float(loss.data))
        loss.backward()
        with no_grad():
            W = W - W.grad * 0.0625
    # L = 5 (W - 3)^2, dL/dW = 10 (W - 3): W goes 0, 1.875, 2.578125 (exact in binary)
    assert W.requires_grad and W.creator is None
    assert losses == [45.0, 6.328125, 0.889892578125]
    with no_grad():
        mask = Variable(np.array([True, False]))[:1]
    assert not mask.requires_grad  # bool data stays a constant


def test_backward_of_a_result_of_constants_only_raises():
    with pytest.raises(RuntimeError, match='does not require a gradient'):
        F.sin(np.array(1.0)).backward()


def test_a_leafs_own_backward_keeps_the_books_behaviour_under_no_grad_too():
    with no_grad():
        x = Variable(np.array(3.0))
    x.backward()
    assert x.grad.data == 1.0


# ---- the seed -----------------------------------------------------------------------
@pytest.mark.parametrize('shape', [(2, 3), (1,), ()])
def test_a_seed_of_another_shape_is_refused_by_backward(shape):
    x = Variable(np.ones(3))
    y = F.sin(x)
    y.grad = Variable(np.ones(shape))
    with pytest.raises(ValueError, match=r'backward: .*shape.*\(3,\)'):
        y.backward()


def test_an_integer_seed_is_refused():
    y = F.sin(Variable(np.ones(3)))
    y.grad = Variable(np.ones(3, np.int64))
    with pytest.raises(TypeError, match='backward: .*int64.*floating point'):
        y.backward()


def test_a_seed_array_is_accepted_cast_to_the_outputs_dtype_and_not_shared():
    x = Variable(np.array([1.0, 2.0], np.float32))
    y = x * 1
    seed = np.array([3.0, 4.0])  # float64
    y.grad = seed
    y.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    assert not np.shares_memory(x.grad.data, seed)


@pytest.mark.parametrize('create_graph', [False, True])
def test_a_seed_that_becomes_infinite_in_the_outputs_dtype_is_refused(create_graph):
    # NumPy made 1e40 infinite with a warning only: x.grad was [inf, 2]
    x = Variable(np.array([1.0, 2.0], np.float32))
    y = x * 2
    seed = np.array([1.0, -1e40])
    y.grad = seed
    with pytest.raises(
        OverflowError,
        match=r'^backward: the gradient set in \.grad holds -1e\+40, which its dtype float64 '
        r'holds but the dtype float32 of this Variable \(shape \(2,\), float32\) does not',
    ):
        y.backward(create_graph=create_graph)
    assert y.grad is seed and x.grad is None  # the seed set by hand stays


def test_a_seed_narrowed_to_the_outputs_dtype_keeps_its_infinities_and_nans():
    x = Variable(np.array([1.0, 2.0, 3.0], np.float32))
    y = x * 2
    y.grad = Variable(np.array([np.inf, np.nan, 1e30]))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        y.backward()
    np.testing.assert_array_equal(x.grad.data, np.array([np.inf, np.nan, 2e30], np.float32))


def test_a_seed_that_is_not_an_array_is_refused():
    y = F.sin(Variable(np.ones(2)))
    y.grad = [1.0, 1.0]
    with pytest.raises(TypeError, match='backward: .*list'):
        y.backward()


# ---- backward returning arrays ----------------------------------------------------
class _Cube(Function):
    """As written in the book's early steps: backward returns an array."""

    def forward(self, x):
        return x**3

    def backward(self, gy):
        x = self.inputs[0].data
        return 3 * x**2 * gy.data


@pytest.mark.parametrize('create_graph', [False, True])
def test_arrays_a_backward_returns_become_variables(create_graph):
    x = Variable(np.array(2.0))
    _Cube()(x).backward(create_graph=create_graph)
    assert isinstance(x.grad, Variable)
    assert x.grad.data == 12.0


_UNKNOWN_DERIVATIVE = r'_Cube.backward returned an array, not a Variable, .* derivative'


def test_differentiating_such_a_gradient_again_says_why_it_cannot():
    x = Variable(np.array(2.0))
    _Cube()(x).backward(create_graph=True)
    gx = x.grad
    x.cleargrad()
    with pytest.raises(TypeError, match=_UNKNOWN_DERIVATIVE):
        gx.backward()


def test_such_a_gradient_beside_recorded_ones_is_not_differentiated_as_a_constant():
    # d/dx (x**3 + x**2) = 3x**2 + 2x; its derivative is 6x + 2 = 14 at 2: taking the
    # cube's array gradient as a constant gave 2
    x = Variable(np.array(2.0))
    (_Cube()(x) + x**2).backward(create_graph=True)
    gx = x.grad
    assert gx.data == 16.0
    x.cleargrad()
    with pytest.raises(TypeError, match=_UNKNOWN_DERIVATIVE):
        gx.backward()


@pytest.mark.parametrize('transform', ['hessian', 'jvp', 'grad_of_grad', 'hvp'])
def test_derivative_transforms_refuse_such_a_gradient_rather_than_giving_zeros(transform):
    from dezero import autodiff

    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match=_UNKNOWN_DERIVATIVE):
        if transform == 'hessian':
            autodiff.hessian(lambda a: F.sum(_Cube()(a)))(x)
        elif transform == 'jvp':
            autodiff.jvp(lambda a: _Cube()(a), x, np.ones(2))
        elif transform == 'hvp':
            autodiff.hvp(lambda a: F.sum(_Cube()(a)), x, np.ones(2))
        else:
            autodiff.grad(autodiff.grad(lambda a: _Cube()(a)))(np.array(2.0))


# ---- functions of several outputs, and of their input's own array -----------------------
class _Split(Function):
    def forward(self, x):
        return x * 2, x * 3

    def backward(self, g0, g1):
        return g0 * 2 + g1 * 3


@pytest.mark.parametrize('create_graph', [False, True])
def test_an_output_the_caller_dropped_gets_a_zero_gradient(create_graph):
    x = Variable(np.array([1.0, 2.0]))
    a = _Split()(x)[0]  # the second output is gone at once
    F.sum(a * a).backward(create_graph=create_graph)
    np.testing.assert_array_equal(x.grad.data, [8.0, 16.0])  # d/dx 4x**2


def test_a_forward_returning_its_input_array_sees_changes_made_through_it():
    class Same(Function):
        def forward(self, x):
            return x

        def backward(self, gy):
            return gy

    x = Variable(np.array([1.0, 2.0]))
    y = Same()(x)
    z = F.sum(x * x)
    y.data += 1  # changes x's values, which the product's backward reads
    with pytest.raises(RuntimeError, match='assigned .* after the forward pass'):
        z.backward()
    x = Variable(np.array([1.0, 2.0]))
    F.sum(Same()(x) * x).backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


# ---- gradients of their own ---------------------------------------------------------
def test_two_variables_never_share_a_gradient_array():
    a = Variable(np.ones(3))
    b = Variable(np.ones(3))
    F.mean_squared_error(a + b, np.zeros(3)).backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    expected = b.grad.data.copy()
    a.grad.data *= 10  # an in-place hook, as WeightDecay and ClipGrad are
    np.testing.assert_array_equal(b.grad.data, expected)


def test_a_broadcast_gradient_is_writable():
    x = Variable(np.ones((2, 3)))
    F.sum(x).backward()
    x.grad.data += 1  # as the book's WeightDecay hook does
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 2.0))


def test_retained_gradients_do_not_share_memory_with_the_leaves():
    a = Variable(np.ones(3))
    b = Variable(np.ones(3))
    y = a + b
    F.sum(y).backward(retain_grad=True)
    arrays = [a.grad.data, b.grad.data, y.grad.data]
    assert not any(np.shares_memory(p, q) for i, p in enumerate(arrays) for q in arrays[i + 1 :])


def test_recorded_gradients_are_distinct_variables_and_still_differentiable():
    a = Variable(np.array([1.0, 2.0]))
    b = Variable(np.array([3.0, 4.0]))
    y = F.sum((a + b) ** 2)
    y.backward(create_graph=True)
    assert a.grad is not b.grad
    assert not np.shares_memory(a.grad.data, b.grad.data)
    ga = a.grad
    a.cleargrad()
    b.cleargrad()
    F.sum(ga).backward()  # d/da sum(2 (a + b)) = 2
    np.testing.assert_array_equal(a.grad.data, [2.0, 2.0])


def test_weight_decay_on_two_parameters_with_the_same_gradient_decays_each_once():
    class TwoBiases(dezero.Model):
        def __init__(self):
            super().__init__()
            self.p = Parameter(np.array([1.0, 1.0]))
            self.q = Parameter(np.array([2.0, 2.0]))

        def forward(self):
            return F.sum(self.p + self.q)

    def weight_decay_in_place(params):  # the book's WeightDecay
        for param in params:
            param.grad.data += 0.5 * param.data

    model = TwoBiases()
    optimizer = optimizers.SGD(lr=1.0).setup(model)
    optimizer.add_hook(weight_decay_in_place)
    model().backward()
    optimizer.update()  # grad = 1 + 0.5 * param, for each on its own
    np.testing.assert_allclose(model.p.data, [1.0 - 1.5, 1.0 - 1.5])
    np.testing.assert_allclose(model.q.data, [2.0 - 2.0, 2.0 - 2.0])


def test_a_grad_of_the_wrong_shape_is_not_broadcast_into():
    x = Variable(np.ones(3))
    x.grad = Variable(np.ones((3, 1)))
    with pytest.raises(ValueError, match=r'\.grad of shape \(3, 1\).*cleargrad'):
        F.sum(x * 2).backward()


def test_a_grad_set_to_an_array_is_accumulated_into_a_variable():
    x = Variable(np.ones(2))
    x.grad = np.array([1.0, 1.0])
    F.sum(x * 3).backward()
    assert isinstance(x.grad, Variable)
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


@pytest.mark.parametrize(
    'use, pattern',
    [
        (lambda v, s: F.where(np.array([True, False]), v, s), r'Where: input 1: .*numbers.*<U1'),
        (lambda v, s: F.concat([v, s]), r'Concat: input 1: .*numbers.*<U1'),
        (lambda v, s: F.stack([v, s]), r'stack: .*numbers.*<U1'),
        (lambda v, s: F.matmul(v, s), r'matmul: .*numbers.*<U1'),
        (lambda v, s: F.Add()(v, s), r'Add: input 1: .*numbers.*<U1'),
        (lambda v, s: v + s, r'unsupported operand for \+: .*<U1.*numbers'),
        (lambda v, s: s * v, r'unsupported operand for \*: .*<U1.*numbers'),
        (lambda v, s: v - s.astype(object), r'unsupported operand for -: .*object.*numbers'),
    ],
)
def test_arrays_that_hold_no_numbers_are_refused_as_inputs(use, pattern):
    # as Variable(np.array(['a'])) is: a Variable of strings is no operand of autodiff
    with pytest.raises(TypeError, match=pattern):
        use(Variable(np.array([1.0, 2.0])), np.array(['a', 'b']))


def test_a_function_called_on_a_variable_without_data_names_itself():
    with pytest.raises(ValueError, match='GetItem: input 0 is None, or a Variable holding no data'):
        Variable(None)[0]


@pytest.mark.parametrize(
    'use, name',
    [
        (lambda v: v * 2, 'MulConstant'),
        (lambda v: 2 - v, 'SubFromConstant'),
        (lambda v: v**2, 'Pow'),
        (lambda v: v / np.float32(2), 'DivConstant'),
    ],
)
def test_an_operator_on_a_variable_without_data_names_the_function(use, name):
    with pytest.raises(ValueError, match=f'{name}: input 0 is None, or a Variable holding no data'):
        use(Variable(None))


def test_data_assigned_later_must_hold_numbers_and_bool_data_makes_a_constant():
    v = Variable(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match='Variable.data: .*got dtype <U1'):
        v.data = np.array(['a', 'b'])
    v.data = np.array([True, False])
    assert not v.requires_grad
    y = F.sum(v * Variable(np.array([2.0, 3.0])))
    y.backward()
    assert v.grad is None


def test_a_zero_dimensional_gradient_added_to_another_stays_an_array():
    x = Variable(np.array(2.0))
    y = x * x
    y.backward()
    y.backward()
    assert type(x.grad.data) is np.ndarray and x.grad.data == 8.0
    x.grad.data[...] = 0  # writable
    x.backward()  # a .grad that is an array is a valid seed


def test_a_failed_backward_leaves_the_seed_set_by_hand():
    class Broken(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            raise RuntimeError('broken backward')

    y = Broken()(Variable(np.array([1.0, 2.0])))
    y.grad = Variable(np.array([3.0, 4.0]))
    with pytest.raises(RuntimeError, match='broken backward'):
        y.backward()
    np.testing.assert_array_equal(y.grad.data, [3.0, 4.0])


@pytest.mark.parametrize('result, kind', [(None, 'NoneType'), ('abc', 'str')])
def test_a_forward_returning_no_array_is_refused_by_name(result, kind):
    class Odd(Function):
        def forward(self, x):
            return result

    with pytest.raises(TypeError, match=f'Odd.forward returned {kind}.*expected an array'):
        Odd()(Variable(np.ones(2)))


# ---- complex numbers ---------------------------------------------------------------------
def test_a_gradient_through_complex_numbers_is_refused_rather_than_given_the_wrong_sign():
    # |x * 1j| is |x|, whose derivative at 2 is +1; real calculus would give -1
    x = Variable(np.array([2.0]))
    y = F.abs(x * 1j).sum()
    with pytest.raises(TypeError, match=r'complex128; dezero differentiates real-valued'):
        y.backward()
    assert x.grad is None


def test_a_hook_or_backward_returning_complex_numbers_is_refused():
    x = Variable(np.array([2.0]))
    x.register_hook(lambda g: g.data.astype(complex))
    with pytest.raises(TypeError, match='complex128; gradients must be real floating point'):
        (x * 2).sum().backward()

    class Complex(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return np.array([1 + 1j])

    x = Variable(np.array([2.0]))
    with pytest.raises(TypeError, match='complex128; dezero differentiates real-valued'):
        Complex()(x).backward()
    with pytest.raises(TypeError, match='holds complex numbers'):
        Variable(np.array([1 + 1j])).backward()


def test_a_complex_gradient_to_start_from_is_named_as_such_not_as_the_output():
    from dezero.core import backprop

    x = Variable(np.array([1.0, 2.0]))
    y = x * 2
    with pytest.raises(
        TypeError,
        match=r'the gradient given to start from for the output \(shape \(2,\), float64\) '
        r'is complex128; dezero differentiates real-valued',
    ):
        backprop([y], [np.array([1 + 1j, 1.0])])


# ---- subclasses of ndarray ---------------------------------------------------------------------
@pytest.mark.filterwarnings('ignore::PendingDeprecationWarning')  # NumPy's, for np.matrix
def test_a_numpy_matrix_is_computed_on_as_a_plain_array():
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    y = Variable(m) * Variable(m)  # elementwise, not a matrix product
    assert type(y.data) is np.ndarray
    np.testing.assert_array_equal(y.data, [[1.0, 4.0], [9.0, 16.0]])
    z = Variable(np.array([[1.0, 2.0], [3.0, 4.0]])) * m
    np.testing.assert_array_equal(z.data, [[1.0, 4.0], [9.0, 16.0]])
    assert F.reshape(Variable(m), (4,)).shape == (4,)
    v = Variable(np.zeros(2))
    v.data = np.matrix([[5.0, 6.0]])
    assert type(v.data) is np.ndarray


def test_a_masked_array_is_refused_since_its_mask_would_be_lost():
    a = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    with pytest.raises(TypeError, match=r'Variable: got a masked array.*a\.filled'):
        Variable(a)
    with pytest.raises(TypeError, match='masked array'):
        Variable(np.ones(3)) * a
    np.testing.assert_array_equal(F.mean(Variable(a.filled(2.0))).data, 2.0)


# ---- data changed through a view ------------------------------------------------------------
def test_changing_a_view_in_place_changes_what_it_views_and_is_caught():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    v = x.reshape(3, 1)  # a view of x's data
    y = (x * x).sum()
    v.data -= 5  # changes x's values too
    with pytest.raises(RuntimeError, match=r'one of those on a view of it'):
        y.backward()


def test_changing_one_view_in_place_is_caught_in_a_sibling_view():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    first, second = x[0:2], x[1:3]
    y = (second * second).sum()
    first.data -= 10  # x[1] is in both
    with pytest.raises(RuntimeError, match='is a view of the data of the variable'):
        y.backward()


def test_giving_a_view_new_data_leaves_what_it_viewed_alone():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    v = x.reshape(3, 1)
    y = (x * x).sum()
    v.data = v.data - 5  # a new array: x is unchanged
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0])


# ---- a Variable as a Python sequence and truth value ---------------------------------------
def test_a_0d_variable_has_no_length_and_cannot_be_iterated():
    x = Variable(np.array(3.0))
    with pytest.raises(TypeError, match=r'len\(\) of a Variable of shape \(\)'):
        len(x)
    with pytest.raises(TypeError, match='iteration over a Variable of shape'):
        list(x)
    with pytest.raises(TypeError, match='iteration over'):
        sum(x)
    assert [float(v.data) for v in Variable(np.array([1.0, 2.0]))] == [1.0, 2.0]


def test_the_truth_of_a_variable_is_that_of_its_single_element():
    assert bool(Variable(np.array(1.0))) is True
    assert bool(Variable(np.array([[0.0]]))) is False
    with pytest.raises(ValueError, match=r'bool\(\): only a Variable of one element'):
        bool(Variable(np.array([1.0, 2.0])))


def test_numpy_reductions_of_a_variable_give_variables():
    x = Variable(np.array([1.0, 5.0, 2.0]))
    assert isinstance(np.sum(x), Variable) and float(np.sum(x).data) == 8.0
    assert float(np.max(x).data) == 5.0 and float(np.min(x).data) == 1.0
    with pytest.raises(TypeError, match=r'Variable.sum: out= is not supported'):
        np.sum(x, out=np.zeros(()))
    with pytest.raises(TypeError, match=r'Variable.sum: dtype= is not supported'):
        x.sum(dtype=np.float32)


# ---- operands ---------------------------------------------------------------------------------
@pytest.mark.parametrize('make', [lambda: np.array(2.0), lambda: np.float64(2.0), lambda: 2.0])
def test_a_0d_float_operand_keeps_the_variables_dtype_as_a_scalar_does(make):
    x = Variable(np.ones(2, np.float32))
    for y in (x + make(), make() * x, x - make(), make() / x):
        assert y.dtype == np.float32
    assert (x * np.array([2.0])).dtype == np.float64  # a 1-element array promotes


@pytest.mark.parametrize(
    'op',
    [
        lambda x: x * np.array(1e300),
        lambda x: np.float64(-1e300) + x,
        lambda x: x ** np.array(1e300),
    ],
)
def test_a_numpy_float_too_large_for_the_variable_is_refused_saying_numpy_would_promote(op):
    # the refusal said that no dtype NumPy would promote it to holds it: NumPy promotes to
    # float64, which holds it
    x = Variable(np.ones(2, np.float32))
    with pytest.raises(
        OverflowError,
        match=r'^(unsupported operand for [*+]|pow): the number -?1e\+300 does not fit the dtype '
        r'float32 of (the Variable it is combined with|x); a NumPy float64 scalar, or a 0-d '
        r'array that counts as one, is taken as a Python number, in float32, where NumPy would '
        r'promote the two to float64; use a smaller number, or convert .* to float64$',
    ):
        op(x)
    with pytest.raises(OverflowError, match=r'nor any dtype NumPy would promote it to'):
        x * 1e300  # a Python float: NumPy keeps float32 for it


def test_a_0d_integer_operand_is_an_array_as_numpy_takes_it():
    y = Variable(np.array([1, 2], np.uint8)) * np.array(300)
    np.testing.assert_array_equal(y.data, [300, 600])


def test_a_number_too_large_for_the_variable_is_refused_naming_it():
    with pytest.raises(OverflowError, match=r'the number 300 does not fit the dtype int8'):
        Variable(np.array([1], np.int8)) + 300
    with pytest.raises(OverflowError, match=r'10000000\.\.\.\(401 digits\).*float64'):
        Variable(np.array([1.0])) * 10**400
    with pytest.raises(OverflowError, match=r'^Pow: .*out of bounds for uint8'):
        Variable(np.array([1, 2], np.uint8)) ** -1


@pytest.mark.parametrize(
    'dtype, op, numpy_op',
    [
        (np.int16, lambda x: x / 32768, lambda a: a / 32768),
        (np.int8, lambda x: x / 300, lambda a: a / 300),
        (np.uint8, lambda x: x / -1, lambda a: a / -1),
        (np.uint8, lambda x: x / 256.0, lambda a: a / 256.0),
        (np.int8, lambda x: 300 / x, lambda a: 300 / a),
        (np.int8, lambda x: F.div(x, 300), lambda a: a / 300),
        (np.int8, lambda x: x / np.int64(300), lambda a: a / np.int64(300)),
        (np.bool_, lambda x: x / 1000, lambda a: a / 1000),
        (np.int8, lambda x: x / 3, lambda a: a / 3),
    ],
)
def test_integers_divided_by_a_number_they_cannot_hold_give_numpys_float64_quotient(
    dtype, op, numpy_op
):
    # the quotient of integers is float64: the number was refused for not fitting int8
    a = np.array([1, 2, 0], dtype) if dtype is not np.bool_ else np.array([True, False])
    if dtype is np.int8 and op(Variable(np.array([1], np.int8))).data[0] == 300:
        a = np.array([1, 2, -3], dtype)  # 300 / x: no zero divisor
    y = op(Variable(a))
    expected = numpy_op(a)
    assert y.dtype == expected.dtype == np.float64
    np.testing.assert_array_equal(y.data, expected)


@pytest.mark.parametrize('op', [lambda x: x / 10**400, lambda x: 10**400 / x])
def test_an_integer_quotient_by_a_number_beyond_float64_names_the_data_and_the_quotient(op):
    with pytest.raises(
        OverflowError,
        match=r'^unsupported operand for /: the number 10000000\.\.\.\(401 digits\) is beyond '
        r'float64, the dtype of a quotient of the int8 Variable, and no dtype holds it',
    ):
        op(Variable(np.array([1, 2], np.int8)))


def test_a_0d_array_is_a_shape_for_reshape_as_in_numpy():
    x = Variable(np.arange(6.0))
    assert x.reshape(np.array(6)).shape == (6,)
    assert x.reshape(np.array([2, 3])).shape == (2, 3)


def test_arrays_a_backward_reads_are_copied_so_changing_them_later_changes_nothing():
    x = Variable(np.array([1.0, 5.0]))
    W = np.array([[2.0], [3.0]])
    y = F.matmul(x.reshape(1, 2), W)
    W[:] = 0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 3.0])

    for op, expected in ((lambda x, c: x / c, [0.5, 0.25]), (lambda x, c: x * c, [2.0, 4.0])):
        x, c = Variable(np.array([1.0, 5.0])), np.array([2.0, 4.0])
        y = op(x, c)
        c[:] = 1
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.data, expected)

    x, c = Variable(np.array([1.0, 2.0])), np.array([3.0, 0.5])
    y = x**c  # an array exponent: a constant, copied
    c[:] = 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 0.5 * 2.0**-0.5])

    X, v = Variable(np.ones((2, 2))), np.array([1.0, 2.0])
    y = F.matmul(X, v)  # a 1-D array operand
    v[:] = 0
    y.sum().backward()
    np.testing.assert_array_equal(X.grad.data, [[1.0, 2.0], [1.0, 2.0]])

    batch, W = np.ones((1, 2)), Variable(np.ones((2, 1)))
    y = F.linear(batch, W)
    batch[:] = 5
    y.sum().backward()
    np.testing.assert_array_equal(W.grad.data, [[1.0], [1.0]])


# ---- functions written as in the book -----------------------------------------------------------
def test_a_book_style_backward_gets_variables_from_the_functions_it_calls():
    class MyTanh(Function):
        def forward(self, x):
            return np.tanh(x)

        def backward(self, gy):
            (x,) = self.inputs
            y = F.tanh(x)  # a Variable, as in the book, so .data is its array
            return gy * (1 - y.data**2)

    class Scale(Function):
        def forward(self, x, w):
            return x * w

        def backward(self, gy):
            x, w = self.inputs
            gx = gy * 1.0
            gx *= w  # a Variable updated in place, as the book's code may
            return gx, gy * x

    x = Variable(np.array([0.5, 1.0]))
    MyTanh()(x).backward()
    np.testing.assert_allclose(x.grad.data, 1 - np.tanh([0.5, 1.0]) ** 2)
    x, w = Variable(np.array([2.0])), Variable(np.array([3.0]))
    Scale()(x, w).backward()
    assert (x.grad.data.item(), w.grad.data.item()) == (3.0, 2.0)


class _BookSoftmaxCrossEntropy(Function):
    """The book's softmax cross entropy, whose backward returns one gradient for its
    two inputs (the labels get none)."""

    def forward(self, x, t):
        n = x.shape[0]
        log_p = x - dezero.utils.logsumexp(x, axis=1)
        return -log_p[np.arange(n), t.ravel()].sum() / np.float64(n)

    def backward(self, gy):
        x, t = self.inputs
        n, classes = x.shape
        gy *= 1 / n
        y = F.softmax(x)
        t_onehot = np.eye(classes, dtype=t.dtype)[t.data]
        return (y - t_onehot) * gy


def test_a_backward_may_leave_out_the_gradients_of_inputs_that_need_none_as_the_books():
    x = Variable(np.array([[1.0, 2.0, 0.5], [0.0, 1.0, 3.0]]))
    t = np.array([1, 2])
    _BookSoftmaxCrossEntropy()(x, t).backward()
    expected = (F.softmax(x).data - np.eye(3)[t]) / 2
    np.testing.assert_allclose(x.grad.data, expected)


def test_a_backward_leaving_out_a_gradient_that_is_needed_is_refused():
    class Half(Function):
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            return (gy,)

    a, b = Variable(np.array([1.0])), Variable(np.array([2.0]))
    with pytest.raises(ValueError, match=r'Half.backward returned 1 gradients for 2 inputs'):
        Half()(a, b).backward()


def test_none_passes_to_a_book_style_forward_as_the_books_linear_passes_a_missing_bias():
    class BookLinear(Function):
        def forward(self, x, W, b):
            y = x.dot(W)
            if b is not None:
                y += b
            return y

        def backward(self, gy):
            x, W, b = self.inputs
            gb = None if b.data is None else dezero.utils.sum_to(gy, b.shape)
            return F.matmul(gy, W.T), F.matmul(x.T, gy), gb

    x, W = Variable(np.ones((2, 3))), Variable(np.ones((3, 4)))
    y = BookLinear()(x, W, None)
    y.backward()
    assert y.shape == (2, 4) and x.grad.shape == (2, 3) and W.grad.shape == (3, 4)


def test_an_error_that_is_not_about_a_missing_value_is_not_blamed_on_it():
    x, W = Variable(np.ones((3, 4))), Variable(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r'^Linear: matmul: .*mismatch'):
        F.Linear()(x, W, Variable(None))
    with pytest.raises(ValueError, match='Add: input 1 is None, or a Variable holding no data'):
        F.add(Variable(np.ones(2)), Variable(None))


def test_a_view_of_an_array_given_to_a_function_is_copied_before_another_reads_it():
    x = Variable(np.array([[1.0, 2.0, 3.0]]))
    W = np.arange(1.0, 7.0).reshape(2, 3)
    y = F.matmul(x, F.transpose(W))  # the transpose is a view of W
    W[...] = 100
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[5.0, 7.0, 9.0]])

    x = Variable(np.array([[1.0, 2.0, 3.0]]))
    W = np.arange(1.0, 7.0).reshape(3, 2)
    y = F.linear_simple(x, W)
    W[...] = 100
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[3.0, 7.0, 11.0]])


def test_arithmetic_of_arrays_only_is_a_constant():
    with pytest.raises(RuntimeError, match='computed from constants only'):
        F.add(np.array(1.0), np.array(2.0)).backward()
    assert F.add(np.ones(2, np.float32), 2.5).dtype == np.float32


def test_a_0d_float_exponent_keeps_the_variables_dtype():
    x = Variable(np.array([1.0, 2.0], np.float32))
    assert (x ** np.array(2.0)).dtype == np.float32


@pytest.mark.parametrize(
    'same_shape',
    [
        lambda W: F.reshape(W, (1, 3)),
        lambda W: F.broadcast_to(W, (1, 3)),
        lambda W: F.sum_to(W, (1, 3)),
        lambda W: F.flatten(W),
    ],
)
def test_an_array_given_to_a_function_with_nothing_to_do_is_copied_too(same_shape):
    x = Variable(np.ones((1, 3)))
    W = np.arange(3.0).reshape(1, 3)
    y = x * same_shape(W)
    W[...] = 100.0
    F.sum(y).backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 1.0, 2.0]])


def test_gradients_through_complex_numbers_are_refused_by_the_transforms_too():
    with pytest.raises(TypeError, match='dezero differentiates real-valued functions only'):
        dezero.grad(lambda z: F.abs(z * (1 + 1j)).sum())(np.array([1.0, -2.0]))
    with pytest.raises(TypeError, match='the output .* is complex'):
        dezero.grad(lambda z: (z * 1j).sum())(np.array([1.0]))


def test_a_view_made_under_no_grad_is_noted_too():
    x = Variable(np.array([1.0, 2.0, 3.0, 4.0]))
    with no_grad():
        v = x.reshape(2, 2)
    y = (x**2).sum()
    v.data -= 5
    with pytest.raises(RuntimeError, match='was assigned'):
        y.backward()


def test_0d_array_constants_are_copied_too():
    c = np.array(2)
    x = Variable(np.array([1.0, 2.0]))
    y = (x * c).sum()
    c[...] = 100
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    low = np.array(2.5)
    x = Variable(np.array([1.0, 2.0, 3.0]))
    y = F.clip(x, low, 10.0).sum()
    low[...] = 100
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])


@pytest.mark.filterwarnings('ignore::PendingDeprecationWarning')  # NumPy's, for np.matrix
def test_a_grad_set_before_backward_is_checked_as_a_computed_one():
    x = Variable(np.ones((2, 2)))
    x.grad = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    (x * 2).sum().backward()
    assert type(x.grad.data) is np.ndarray
    np.testing.assert_array_equal(x.grad.data, [[3.0, 4.0], [5.0, 6.0]])
    for given, message in (
        (np.ma.masked_array([1.0, 2.0], mask=[0, 1]), 'masked array'),
        (np.array([1 + 1j, 2]), 'complex .grad'),
        (np.array(['a', 'b']), 'gradients must be floating point'),
    ):
        x = Variable(np.ones(2))
        x.grad = given
        with pytest.raises(TypeError, match=message):
            (x * 2).sum().backward()
    x = Variable(np.ones(2, np.float32))
    x.grad = np.ones(2)
    (x * 2).sum().backward()
    assert x.grad.dtype == np.float32


def test_numpy_reductions_name_the_arguments_a_variable_does_not_take():
    v = Variable(np.ones(3))
    with pytest.raises(TypeError, match='Variable.sum: where= is not supported'):
        np.sum(v, where=np.array([True, False, True]))


# ---- the arguments of backward ----------------------------------------------------------------
@pytest.mark.parametrize('name', ['retain_grad', 'create_graph'])
@pytest.mark.parametrize('value', ['False', 0, None, 1.0])
def test_the_flags_of_backward_must_be_true_or_false(name, value):
    x = Variable(np.array(3.0))
    y = x * x
    with pytest.raises(TypeError, match=f'backward: {name} must be True or False, got'):
        y.backward(**{name: value})
    assert x.grad is None  # nothing was computed


def test_numpy_bools_are_flags_of_backward_too():
    x = Variable(np.array(3.0))
    y = x * x
    y.backward(retain_grad=np.True_, create_graph=np.False_)
    assert float(x.grad.data) == 6.0 and float(y.grad.data) == 1.0


@pytest.mark.parametrize(
    'seed',
    [np.array(2.0), Variable(np.array(2.0)), np.float64(2.0)],
    ids=['array', 'variable', 'numpy-scalar'],
)
def test_a_seed_given_to_backward_as_in_pytorch_is_refused_saying_how_to_set_it(seed):
    x = Variable(np.array(3.0))
    y = x * x
    with pytest.raises(
        TypeError, match=r'backward: retain_grad must be True or False.*y\.grad = Variable\(seed\)'
    ):
        y.backward(seed)
    assert x.grad is None
    y.grad = Variable(np.array(2.0))  # the way it is said
    y.backward()
    assert float(x.grad.data) == 12.0


# ---- data set to None or reshaped between forward and backward -----------------------------------
def test_data_set_to_none_after_the_forward_pass_is_named():
    x = Variable(np.array([1.0, 2.0]), name='x')
    y = (x * 3).sum()
    x.data = None
    with pytest.raises(
        RuntimeError,
        match=r"the data of the variable 'x' \(no data\), input 0 of MulConstant, was set "
        r'to None after the forward pass',
    ):
        y.backward()


def test_data_given_another_shape_after_the_forward_pass_is_blamed_on_the_variable():
    x = Variable(np.array([1.0, 2.0]), name='x')
    y = (x + 1).sum()
    x.data = np.array([1.0, 2.0, 3.0])
    with pytest.raises(
        RuntimeError,
        match=r"the data of the variable 'x' \(shape \(3,\), float64\), input 0 of "
        r'AddConstant, was assigned an array of shape \(3,\) after the forward pass used '
        r'one of shape \(2,\)',
    ):
        y.backward()


def test_a_backward_returning_the_wrong_shape_is_still_blamed_on_the_backward():
    class Wrong(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return gy[:1]

    x = Variable(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r'Wrong.backward returned a gradient of shape \(1,\)'):
        Wrong()(x).backward()


# ---- the book's t.data = None, freeing an intermediate result ----------------------------------
class _Square(Function):
    """Written as in the book: keeps every input and output, reads its input."""

    def forward(self, x):
        return x**2

    def backward(self, gy):
        return 2 * self.inputs[0] * gy


class _BookMatMul(Function):
    def forward(self, x, W):
        return x.dot(W)

    def backward(self, gy):
        x, W = self.inputs
        return F.matmul(gy, W.T), F.matmul(x.T, gy)


class _BookAdd(Function):
    def forward(self, x0, x1):
        self.x0_shape, self.x1_shape = x0.shape, x1.shape
        return x0 + x1

    def backward(self, gy):
        gx0, gx1 = gy, gy
        if self.x0_shape != self.x1_shape:
            gx0, gx1 = F.sum_to(gx0, self.x0_shape), F.sum_to(gx1, self.x1_shape)
        return gx0, gx1


def _book_linear_simple(x, W, b, free):
    """The book's linear_simple, with functions of the user's own."""
    t = _BookMatMul()(x, W)
    y = _BookAdd()(t, b)
    if free:
        t.data = None  # release t.data (ndarray) for memory efficiency
    return y


@pytest.mark.parametrize('then', [F.sum, lambda t: t + Variable(np.ones(3))], ids=['sum', 'add'])
def test_data_set_to_none_that_no_backward_reads_as_in_the_book_still_backpropagates(then):
    x = Variable(np.array([1.0, 2.0, 3.0]))
    t = _Square()(x)
    y = F.sum(then(t))
    t.data = None
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0])


def test_data_set_to_none_twice_keeps_the_shape_of_the_forward_pass():
    # the shape noted at the last None (data given in between) blamed a right backward
    x = Variable(np.array([1.0, 2.0]))
    t = _Square()(x)
    y = F.sum(t)
    t.data = None
    t.data = np.zeros(5, np.float32)
    t.data = None
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    assert x.grad.dtype == np.float64


def test_the_books_linear_simple_with_functions_of_ones_own():
    rng = np.random.default_rng(0)
    x0, W0, b0 = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    grads = []
    for free in (False, True):
        x, W, b = Variable(x0), Variable(W0), Variable(b0)
        F.sum(_book_linear_simple(x, W, b, free) ** 2).backward()
        grads.append([v.grad.data for v in (x, W, b)])
    for kept, freed in zip(*grads):
        np.testing.assert_allclose(freed, kept)


def test_data_set_to_none_that_no_backward_reads_with_create_graph():
    x = Variable(np.array([1.0, 2.0, 3.0]))
    t = _Square()(x)
    y = F.sum(t)
    t.data = None
    y.backward(create_graph=True)
    gx = x.grad  # 2x, recorded
    np.testing.assert_array_equal(gx.data, [2.0, 4.0, 6.0])
    x.cleargrad()
    F.sum(gx).backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


def test_data_set_to_none_still_gets_its_gradient_with_retain_grad():
    x = Variable(np.array([1.0, 2.0], np.float32))
    t = _Square()(x)
    y = F.sum(t * 3.0)
    t.data = None
    y.backward(retain_grad=True)
    assert t.grad.dtype == np.float32
    np.testing.assert_array_equal(t.grad.data, [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.data, [6.0, 12.0])


def test_data_set_to_none_that_a_declared_backward_reads_is_named():
    x = Variable(np.array([1.0, 2.0]))
    t = _Square()(x)
    t.name = 't'
    y = F.sum(t * t)  # Mul declares that its backward reads its inputs
    t.data = None
    with pytest.raises(
        RuntimeError,
        match=r"the data of the variable 't' \(no data\), input 0 of Mul, was set to None "
        r'after the forward pass used it, but Mul.backward reads it',
    ):
        y.backward()


def test_data_set_to_none_that_a_backward_written_as_in_the_book_reads_is_named():
    x = Variable(np.array([1.0, 2.0]))
    t = _Square()(x)
    t.name = 't'
    y = F.sum(_Square()(t))  # whose backward reads t
    t.data = None
    with pytest.raises(
        RuntimeError,
        match=r"_Square.backward failed .* the data of the variable 't' \(no data\), "
        r'input 0 of _Square, was set to None after the forward pass used it',
    ):
        y.backward()


def test_a_wrong_gradient_for_data_set_to_none_is_still_blamed_on_the_backward():
    class Wrong(Function):
        def forward(self, x):
            return x.sum()

        def backward(self, gy):
            return F.broadcast_to(gy, (1,))

    t = _Square()(Variable(np.array([1.0, 2.0])))
    y = Wrong()(t)
    t.data = None
    with pytest.raises(
        ValueError,
        match=r'Wrong.backward returned a gradient of shape \(1,\) for an input of '
        r'shape \(2,\)',
    ):
        y.backward()


# ---- a .grad without data, a gradient that is no array -------------------------------------------
@pytest.mark.parametrize('create_graph', [False, True])
def test_a_grad_set_to_a_variable_without_data_is_named(create_graph):
    x = Variable(np.ones(3), name='x')
    x.grad = Variable(None)
    with pytest.raises(
        TypeError,
        match=r"the variable 'x' \(shape \(3,\), float64\) has .grad set to a "
        r'Variable holding no data \(None\)',
    ):
        F.sum(x * 2).backward(create_graph=create_graph)


@pytest.mark.parametrize('declared', [False, True])
@pytest.mark.parametrize('create_graph', [False, True])
def test_a_backward_returning_something_other_than_an_array_is_named(declared, create_graph):
    class Text(Function):
        if declared:
            retain_inputs = retain_outputs = ()

        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return 'x'

    x = Variable(np.ones(3))
    with pytest.raises(
        TypeError,
        match=r"Text.backward returned str 'x' as a gradient; expected None, a "
        r'Variable or an array',
    ):
        F.sum(Text()(x)).backward(create_graph=create_graph)


# ---- integer data gets float64 gradients ------------------------------------------------------
@pytest.mark.parametrize(
    'f, x_dtype',
    [
        (lambda x: x * np.array([0.1], np.float16), np.int8),
        (lambda x: x / Variable(np.array([2.0], np.float32)), np.uint8),
        (lambda x: x * Variable(np.array([0.5], np.float32)), np.int64),
    ],
    ids=['int8-times-float16', 'uint8-over-float32-variable', 'int64-times-float32-variable'],
)
def test_integer_data_gets_float64_gradients_whatever_it_was_used_with(f, x_dtype):
    x = Variable(np.array([3], x_dtype))
    y = f(x)
    y.backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, [float(y.data[0]) / 3], rtol=1e-3)


def test_a_recorded_gradient_of_integer_data_is_float64_too():
    x = Variable(np.array([3], np.int8))
    y = (x * np.array([0.5], np.float32)) ** 2  # y = x^2 / 4: y' = x / 2, y'' = 1 / 2
    y.backward(create_graph=True)
    assert x.grad.dtype == np.float64 and x.grad.data.tolist() == [1.5]
    gx = x.grad
    x.cleargrad()
    gx.backward()
    assert x.grad.dtype == np.float64 and x.grad.data.tolist() == [0.5]


def test_a_grad_set_by_hand_on_integer_data_is_added_to_as_float64():
    x = Variable(np.array([3], np.int8))
    x.grad = Variable(np.array([1.0], np.float32))
    (x * np.array([2.0], np.float16)).backward()
    assert x.grad.dtype == np.float64 and x.grad.data.tolist() == [3.0]


# ---- a Variable without data as a sequence --------------------------------------------------
def test_a_variable_without_data_has_no_length_and_says_so_plainly():
    W = L.Linear(3).W  # no data until the layer's first call
    message = r"the Variable 'W' that holds no data \(None\): it has no axis"
    with pytest.raises(TypeError, match=r'len\(\) of ' + message):
        len(W)
    with pytest.raises(TypeError, match='iteration over ' + message):
        list(W)
    with pytest.raises(TypeError, match='iteration over ' + message):
        F.concat(W)
    with pytest.raises(TypeError, match='iteration over ' + message):
        F.stack(W)
    with pytest.raises(TypeError, match=r"len\(\) of the Variable 's' of shape \(\), float64"):
        len(Variable(np.array(1.0), name='s'))


@pytest.mark.parametrize(
    'dtype, number',
    [(np.float16, 70000.0), (np.float16, -1e8), (np.float32, 1e39), (np.float16, 10**6)],
)
def test_a_number_that_would_become_infinite_in_the_variables_dtype_is_refused(dtype, number):
    # NumPy would make it infinite with a warning: v / 70000.0 gave 0 and a gradient 0
    v = Variable(np.array([1.0, 2.0], dtype))
    for op in (
        lambda: v / number,
        lambda: v * number,
        lambda: number - v,
        lambda: v + np.array(number),
    ):
        with pytest.raises(OverflowError, match=f'does not fit the dtype {np.dtype(dtype)}'):
            op()
    assert (Variable(np.array([1.0, 0.5], dtype)) * 65504.0).dtype == dtype  # the largest
    assert np.isnan((v * np.nan).data).all()


@pytest.mark.parametrize(
    'dtype, number, smallest, wider',
    [
        (np.float16, 1e-8, '5.96e-08', 'float32'),
        (np.float16, -2.98e-8, '5.96e-08', 'float32'),  # just below half the smallest
        (np.float32, 1e-50, '1.4e-45', 'float64'),
        (np.float32, 7e-46, '1.4e-45', 'float64'),  # just below half the smallest
    ],
)
def test_a_number_that_would_become_0_in_the_variables_dtype_is_refused(
    dtype, number, smallest, wider
):
    # NumPy made it 0 quietly: float16 [1e-4, 0, 6e4] / 1e-8 gave [inf, nan, inf] with
    # warnings (PyTorch: [1e4, 0, inf]), and * 1e-8 gave zeros and a gradient of zeros
    v = Variable(np.array([1e-4, 0.0, 6e4], dtype))
    message = (
        rf'^unsupported operand for [-+*/]: the number {number!r} is too small for the dtype '
        rf'{np.dtype(dtype)} of the Variable it is combined with: it would become 0 '
        rf'\(the smallest positive {np.dtype(dtype)} is {smallest}\); use a larger number, '
        rf'or convert the Variable it is combined with to a wider dtype \({wider}\)$'
    )
    for op in (
        lambda: v / number,
        lambda: v * number,
        lambda: number - v,
        lambda: number / v,
        lambda: v + np.float64(number),
        lambda: v * np.array(number),
    ):
        with pytest.raises(OverflowError, match=message):
            op()


def test_a_number_that_becomes_subnormal_but_not_0_is_kept():
    v = Variable(np.array([1.0, -2.0], np.float16))
    # 1e-7 is subnormal in float16: it becomes 2**-23 (1.19e-7), kept, not refused
    np.testing.assert_array_equal((v * 1e-7).data, [2**-23, -(2**-22)])
    # just above half the smallest subnormal, 2**-25: rounds up to it, 5.96e-8
    np.testing.assert_array_equal((v * (2**-25 * 1.0001)).data, [2**-24, -(2**-23)])
    assert (v * 0.0).data.tolist() == [0.0, -0.0] and (v - -0.0).data.tolist() == [1.0, -2.0]
    w = Variable(np.array([1.0], np.float32))
    assert (w * 2**-149).data[0] == 2**-149  # float32's smallest
    # no float64 number underflows float64: Python's floats are float64
    assert (Variable(np.array([1.0])) * 5e-324).data[0] == 5e-324
    # a wider Variable takes the number: PyTorch's [1e4, 0, inf], without the inf
    x = Variable(np.array([1e-4, 0.0, 6e4], np.float16)).astype(np.float32)
    np.testing.assert_allclose((x / 1e-8).data, [1e4, 0.0, 6e12], rtol=1e-3)


def test_an_exponent_that_would_become_infinite_in_float16_is_refused():
    # NumPy made 70001 infinite in float16: (-1) ** 70001 gave +1 and the gradient nan
    x = Variable(np.array([-1.0, 2.0], np.float16))
    for exponent in (70001, 70001.0, np.float64(7e4), np.array(7e4)):
        with pytest.raises(OverflowError, match=r'^pow: the number 700\d+(\.0)? does not fit'):
            x**exponent
    assert (x**3).data.tolist() == [-1.0, 8.0]


def test_an_exponent_that_would_become_0_in_float16_is_refused():
    # 1e-8 became 0 in float16: x ** 1e-8 was 1 with gradient 0 (PyTorch: 1e-8 * x**-1)
    x = Variable(np.array([1e-4, 2.0], np.float16))
    with pytest.raises(OverflowError, match=r'^pow: the number 1e-08 is too small for the dtype'):
        x**1e-8
    assert (x**1e-7).data.tolist() == [1.0, 1.0]  # subnormal, not 0: kept


@pytest.mark.parametrize(
    'op, symbol',
    [
        (lambda v: v + None, r'\+'),
        (lambda v: None - v, '-'),
        (lambda v: v * [1.0], r'\*'),
        (lambda v: 'a' / v, '/'),
        (lambda v: None**v, r'\*\*'),
    ],
)
def test_a_refused_operand_names_the_operator(op, symbol):
    with pytest.raises(TypeError, match=rf'^unsupported operand for {symbol}: a Variable and'):
        op(Variable(np.ones(2)))


def test_a_refused_exponent_says_what_an_exponent_may_be():
    with pytest.raises(
        TypeError, match=r'exponent for \*\*: an object of type complex; expected an int or a float'
    ):
        Variable(np.ones(2)) ** 1j


def test_a_leaf_that_held_bool_data_takes_gradients_again_once_it_holds_numbers():
    # bool data made it a constant, and numbers assigned later left it one: its
    # gradient was silently None, and an optimizer skipped it
    mask = Variable(np.array([True, False, True]))
    assert not mask.requires_grad
    mask.data = mask.data.astype(np.float64)
    w = Variable(np.array([1.0, 2.0, 3.0]))
    (mask * w * w).sum().backward()
    np.testing.assert_array_equal(mask.grad.data, [1.0, 4.0, 9.0])
    y = Variable(np.array(2.0)) * 3.0  # a function's output, as its inputs say
    y.data = np.array(True)
    y.data = np.array(1.0)
    assert y.requires_grad
    c = Variable(np.array(2.0), name='c')
    c.requires_grad = False
    z = c * 3.0
    z.data = np.array(True)
    z.data = np.array(1.0)
    assert not z.requires_grad
    import dezero.core_simple as simple

    m = simple.Variable(np.array(True))
    m.data = np.array(3.0)
    v = simple.Variable(np.array(2.0))
    (m * v * v).backward()
    assert m.grad == 4.0


def test_in_looks_into_the_data_as_for_an_array():
    # it compared Variables, equal only to themselves: always False
    x = Variable(np.array([1.0, 2.0, 3.0]))
    assert 2.0 in x and 5.0 not in x and Variable(np.array(3.0)) in x
    with pytest.raises(TypeError, match='holds no data'):
        1.0 in Variable(None)


def test_complex_of_a_variable_is_that_of_its_one_element():
    # complex() fell back to float() and named it in its error
    assert complex(Variable(np.array(1 + 2j))) == 1 + 2j
    with pytest.raises(TypeError, match=r'complex\(\): only a Variable of one element'):
        complex(Variable(np.ones(2)))

"""accuracy: the fraction of rows whose argmax is the label."""

import numpy as np
import pytest

import dezero.functions as F
from dezero import Variable

Y = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
T = np.array([1, 0, 0])


def test_value_by_hand():
    acc = F.accuracy(Y, T)
    assert isinstance(acc, Variable) and acc.shape == ()
    assert acc.data == pytest.approx(2 / 3, rel=1e-15)


def test_all_right_and_all_wrong():
    assert F.accuracy(Y, np.array([1, 0, 1])).data == 1.0
    assert F.accuracy(Y, np.array([0, 1, 0])).data == 0.0


def test_variables_in_no_graph_out():
    y = F.softmax(Variable(Y))  # a Variable with a creator
    acc = F.accuracy(y, Variable(T))
    assert acc.creator is None
    assert acc.data == pytest.approx(2 / 3)


def test_labels_that_differ_from_n_only_in_axes_of_size_1_are_taken():
    # the book's accuracy reshapes its prediction to t.shape, so (N, 1) labels work
    scores = np.array([[0.1, 0.9], [0.8, 0.2]])
    assert F.accuracy(scores, np.array([[1], [0]])).data == 1.0
    assert F.accuracy(Y, Variable(T.reshape(3, 1, 1))).data == pytest.approx(2 / 3, rel=1e-15)
    assert F.accuracy(Y[:1], np.array(1)).data == 1.0  # one row: any shape of one element
    with pytest.raises(ValueError, match=r'accuracy: label 2 is outside \[0, 2\)'):
        F.accuracy(scores, np.array([[1], [2]]))


def test_is_the_fraction_of_hits_in_float64_as_in_the_book_whatever_the_scores_dtype():
    # float32 scores gave 0.30000001192092896 for 3 hits of 10, in Trainer's history too
    scores = np.eye(10, dtype=np.float32)
    labels = np.array([0, 1, 2] + [0] * 7)
    for dtype in (np.float16, np.float32, np.float64, np.int64):
        accuracy = F.accuracy(scores.astype(dtype), labels)
        assert accuracy.dtype == np.float64 and accuracy.data == 0.3
    assert F.accuracy(np.array([[1, 2], [3, 1]]), np.array([1, 1])).data == 0.5


@pytest.mark.parametrize(
    'y, t, message',
    [
        (np.zeros(3), T, r'y must be 2-D scores \(N, C\), got shape \(3,\)'),
        (Y, np.array([1, 0]), r't has shape \(2,\), expected \(3,\)'),
        (Y, np.zeros((3, 2), int), r't has shape \(3, 2\), expected \(3,\) or \(3, 1\)'),
        (Y, np.zeros((3, 1, 3), int), r't has shape \(3, 1, 3\), expected \(3,\) or \(3, 1\)'),
        (Y, np.zeros((1, 3), int), r't has shape \(1, 3\), expected \(3,\) or \(3, 1\)'),
        (Y, T.astype(float), 't must hold integer class labels, got dtype float64'),
        (np.zeros((0, 2)), np.zeros(0, dtype=int), r'y is an empty batch \(shape \(0, 2\)\)'),
        (Y, np.array([1, 2, 0]), r'label 2 is outside \[0, 2\) for y with 2 classes'),
        (Y, np.array([1, -1, 0]), r'label -1 is outside \[0, 2\) for y with 2 classes'),
        (Y, np.array([1, 0, 255], np.uint8), r'label 255 is outside \[0, 2\)'),
    ],
)
def test_bad_shapes_are_refused(y, t, message):
    with pytest.raises(ValueError, match='accuracy: ' + message):
        F.accuracy(y, t)


def test_non_arrays_are_refused():
    with pytest.raises(TypeError, match='accuracy: t must be an array'):
        F.accuracy(Y, [1, 0, 0])


def test_a_row_of_labels_is_refused_but_one_label_in_any_shape_is_taken():
    # (1, N) holds N labels, but its first axis says one row: not (N,) or (N, 1)
    scores = np.array([[0.1, 0.9], [0.8, 0.2]])
    with pytest.raises(ValueError, match=r'^accuracy: t has shape \(1, 2\), expected \(2,\)'):
        F.accuracy(scores, np.array([[1, 0]]))
    for t in (np.array([[1]]), np.array([1]), np.array(1), np.array([[[1]]])):
        assert F.accuracy(scores[:1], t).data == 1.0

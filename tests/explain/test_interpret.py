"""Interpretation computed from known predictions, and training curves from a History."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from convscope.explain.interpretation import Interpretation, as_probabilities, training_curves

# 6 examples, 3 classes
PROBABILITIES = np.array([
    [0.8, 0.1, 0.1],   # 0 -> 0
    [0.2, 0.7, 0.1],   # 0 -> 1 (p actual 0.2)
    [0.05, 0.9, 0.05],  # 1 -> 1
    [0.6, 0.3, 0.1],   # 1 -> 0 (p actual 0.3)
    [0.1, 0.6, 0.3],   # 2 -> 1 (p actual 0.3)
    [0.02, 0.97, 0.01],  # 2 -> 1 (p actual 0.01)
])
TARGETS = np.array([0, 0, 1, 1, 2, 2])


def _interpretation() -> Interpretation:
    return Interpretation.from_outputs(PROBABILITIES, TARGETS, ["zero", "one", "two"])


def test_confusion_matrix_and_accuracy() -> None:
    interpretation = _interpretation()
    np.testing.assert_array_equal(interpretation.confusion_matrix(), [[1, 1, 0], [1, 1, 0], [0, 2, 0]])
    np.testing.assert_allclose(interpretation.per_class_accuracy(), [0.5, 0.5, 0.0])
    assert interpretation.accuracy == pytest.approx(2 / 6)


def test_most_confused_pairs() -> None:
    assert _interpretation().most_confused() == [("two", "one", 2), ("zero", "one", 1), ("one", "zero", 1)]
    assert _interpretation().most_confused(min_count=2) == [("two", "one", 2)]


def test_top_losses_report_the_actual_class_probability() -> None:
    tops = _interpretation().top_losses(3)
    assert [t.index for t in tops] == [5, 1, 3]
    worst = tops[0]
    assert (worst.actual, worst.predicted) == (2, 1)
    assert worst.actual_probability == pytest.approx(0.01)     # not the 0.97 of the prediction
    assert worst.predicted_probability == pytest.approx(0.97)
    assert worst.loss == pytest.approx(-np.log(0.01))


def test_logits_become_probabilities_and_one_hot_targets_become_labels() -> None:
    logits = np.log(PROBABILITIES) + 3.0
    interpretation = Interpretation.from_outputs(logits, np.eye(3)[TARGETS])
    np.testing.assert_allclose(interpretation.probabilities, PROBABILITIES, atol=1e-12)
    assert interpretation.class_names == ["0", "1", "2"]
    np.testing.assert_allclose(as_probabilities(np.array([[0.25]])), [[0.75, 0.25]])


def test_text_report() -> None:
    text = _interpretation().text(k=2)
    assert "accuracy 0.3333 on 6 examples" in text
    assert "  two -> one: 2" in text
    assert "  5: two/one, 4.605, 0.010, 0.970" in text


def test_interpretation_errors() -> None:
    with pytest.raises(ValueError, match="6 predictions but 5 labels"):
        Interpretation.from_outputs(PROBABILITIES, TARGETS[:5])
    with pytest.raises(ValueError, match="labels must be integers in 0..2"):
        Interpretation.from_outputs(PROBABILITIES, TARGETS + 1)


def test_training_curves_from_a_history() -> None:
    history = SimpleNamespace(
        history={"loss": [0.9, 0.5, 0.4], "accuracy": [0.7, 0.85, 0.9],
                 "val_loss": [0.8, 0.45, 0.5], "val_accuracy": [0.72, 0.88, 0.87]},
        epoch=[0, 1, 2])
    curves = training_curves(history)
    assert curves.epochs == [1, 2, 3]
    assert curves.curves["loss"] == {"train": [0.9, 0.5, 0.4], "validation": [0.8, 0.45, 0.5]}
    assert curves.best_epoch("loss") == 2
    assert curves.best_epoch("accuracy") == 2
    with pytest.raises(ValueError, match="history is empty"):
        training_curves({})

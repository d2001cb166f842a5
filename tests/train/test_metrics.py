"""emotrace's one metrics implementation agrees with scikit-learn's definitions, edge cases
included (a class absent from the truth, a prediction outside the label set)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from emotrace.train.metrics import class_weights, confusion_lines, report, report_from_confusion, summarize

LABELS = ("angry", "happy", "sad", "neutral")


@pytest.mark.parametrize("seed", range(5))
def test_report_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = list(rng.choice(LABELS[:3], 200))  # neutral never true, sometimes predicted
    pred = list(rng.choice(LABELS, 200))
    r = report(truth, pred, LABELS)
    present = sorted(set(truth))
    assert r["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    assert r["macro_f1"] == pytest.approx(f1_score(truth, pred, labels=present, average="macro", zero_division=0))
    assert r["weighted_f1"] == pytest.approx(f1_score(truth, pred, labels=present, average="weighted", zero_division=0))
    assert r["uar"] == pytest.approx(balanced_accuracy_score(truth, pred))
    assert set(r["per_class_recall"]) == set(present)
    assert np.array(r["confusion"]).sum() == 200
    idx = {lab: i for i, lab in enumerate(LABELS)}
    s = summarize(np.array([idx[x] for x in truth]), np.array([idx[x] for x in pred]), LABELS)
    assert s == r


def test_prediction_outside_labels_is_wrong_and_unknown_truth_refused() -> None:
    r = report(["happy", "sad"], ["happy", "contempt"], LABELS)
    assert r["accuracy"] == 0.5 and r["per_class_recall"] == {"happy": 1.0, "sad": 0.0}
    with pytest.raises(ValueError, match="contempt"):
        report(["contempt"], ["happy"], LABELS)
    empty = report([], [], LABELS)
    assert empty["n"] == 0 and empty["accuracy"] == 0.0 and empty["uar"] == 0.0


def test_class_weights_and_confusion_text() -> None:
    w = class_weights([100, 10, 0, 1], 1.0)
    assert w[2] == 0.0 and w[1] == pytest.approx(10 * w[0]) and w[3] == pytest.approx(100 * w[0])
    assert (w * np.array([100, 10, 0, 1])).sum() == pytest.approx(111)  # mean weight per row = 1
    assert class_weights([5, 5], 0.0) == pytest.approx([1.0, 1.0])
    lines = confusion_lines(report(["happy", "sad"], ["happy", "happy"], LABELS))
    assert "rows: truth" in lines[0] and len(lines) == 2 + len(LABELS)
    assert lines[3].split()[:3] == ["happy", "0", "1"]


def test_report_from_summed_confusions_equals_report_of_the_pooled_rows() -> None:
    rng = np.random.default_rng(7)
    parts = [(list(rng.choice(LABELS[:3], n)), list(rng.choice(LABELS, n))) for n in (50, 80, 13)]
    summed = sum(np.array(report(t, p, LABELS)["confusion"]) for t, p in parts)
    pooled = report([x for t, _ in parts for x in t], [x for _, p in parts for x in p], LABELS)
    assert report_from_confusion(summed, LABELS) == pooled

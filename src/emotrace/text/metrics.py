"""Classification metrics for text emotion: weighted/macro F1, accuracy, confusion."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from emotrace.labels import CANONICAL


def classification_report(
    truth: Sequence[str], pred: Sequence[str], labels: Sequence[str] = CANONICAL
) -> dict[str, object]:
    """``n``, ``weighted_f1``, ``accuracy``, ``macro_f1`` (over labels present in the truth),
    ``confusion`` (rows: truth, columns: prediction, in ``labels`` order) and ``labels``."""
    present = [lab for lab in labels if lab in set(truth)]
    return {
        "n": len(truth),
        "weighted_f1": round(
            float(f1_score(truth, pred, labels=present, average="weighted", zero_division=0)), 4
        ),
        "accuracy": round(float(accuracy_score(truth, pred)), 4),
        "macro_f1": round(float(f1_score(truth, pred, labels=present, average="macro", zero_division=0)), 4),
        "confusion": confusion_matrix(truth, pred, labels=list(labels)).tolist(),
        "labels": list(labels),
    }

"""Classification metrics on the canonical label set."""

from __future__ import annotations

from typing import Any

import numpy as np

from emotrace.labels import CANONICAL


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int = len(CANONICAL)) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def summarize(y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[str, ...] = CANONICAL) -> dict[str, Any]:
    """``n``, ``accuracy``, ``macro_f1``, ``per_class_recall``, ``confusion`` and ``labels``.

    Macro-F1 averages over the classes present in ``y_true`` (absent classes have no recall).
    """
    cm = confusion_matrix(y_true, y_pred, len(labels))
    support = cm.sum(1)
    predicted = cm.sum(0)
    tp = np.diag(cm).astype(float)
    present = support > 0
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=present)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    n = int(cm.sum())
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_recall": {lab: float(recall[i]) for i, lab in enumerate(labels) if present[i]},
        "confusion": cm.tolist(),
        "labels": list(labels),
    }

"""Text emotion metrics: emotrace's one metrics implementation (:mod:`emotrace.train.metrics`)
on label strings, rounded for reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emotrace.labels import CANONICAL
from emotrace.train.metrics import report


def classification_report(truth: Sequence[str], pred: Sequence[str], labels: Sequence[str] = CANONICAL) -> dict[str, Any]:
    """``n``, ``weighted_f1``, ``accuracy``, ``macro_f1`` (over labels present in the truth),
    ``uar``, ``per_class_recall``, ``confusion`` (rows: truth, columns: prediction, in
    ``labels`` order) and ``labels``; scores rounded to 4 decimals."""
    out = report(truth, pred, labels)
    for k in ("weighted_f1", "accuracy", "macro_f1", "uar"):
        out[k] = round(out[k], 4)
    out["per_class_recall"] = {k: round(v, 4) for k, v in out["per_class_recall"].items()}
    return out

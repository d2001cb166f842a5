"""The one implementation of emotrace's classification metrics, for every trainer and evaluator
(faces, voice, text, fusion, highlights).

Conventions (the same everywhere):

* the confusion matrix has true classes in rows and predicted classes in columns, in ``labels``
  order; a prediction outside ``labels`` counts as wrong and has no column;
* ``macro_f1``, ``uar`` (unweighted average recall) and ``per_class_recall`` cover the classes
  present in the truth; a class that is only predicted lowers the precision of nothing but
  counts against the recall of the true classes (sklearn's ``labels=present`` convention);
* ``weighted_f1`` weights each present class's F1 by its support.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.labels import CANONICAL


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int = len(CANONICAL)) -> np.ndarray:
    """Rows: true class, columns: predicted class (class indices ``0..n-1``; others ignored)."""
    t, p = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    keep = (t >= 0) & (t < n) & (p >= 0) & (p < n)
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (t[keep], p[keep]), 1)
    return cm


def report(truth: Sequence[Any], pred: Sequence[Any], labels: Sequence[str]) -> dict[str, Any]:
    """Metrics of label sequences (strings in ``labels``): ``n``, ``accuracy``, ``macro_f1``,
    ``weighted_f1``, ``uar``, ``per_class_recall``, ``confusion``, ``labels``."""
    idx = {lab: i for i, lab in enumerate(labels)}
    t = np.array([idx.get(x, -1) for x in truth], np.int64)
    p = np.array([idx.get(x, -1) for x in pred], np.int64)
    if (t < 0).any():
        unknown = sorted({str(x) for x in truth if x not in idx})
        raise ValueError(f"true labels outside the label set: {', '.join(unknown)}")
    return _metrics(t, p, tuple(labels))


def summarize(y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[str, ...] = CANONICAL) -> dict[str, Any]:
    """:func:`report` of class indices into ``labels``."""
    return _metrics(np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64), labels)


def report_from_confusion(cm: np.ndarray | Sequence[Sequence[int]], labels: Sequence[str]) -> dict[str, Any]:
    """:func:`report` of a confusion matrix (rows: truth, columns: predicted, in ``labels`` order),
    e.g. the sum of several per-language matrices."""
    m = np.asarray(cm, np.int64)
    i, j = np.nonzero(m)
    reps = m[i, j]
    return _metrics(np.repeat(i, reps), np.repeat(j, reps), tuple(labels))


def _metrics(t: np.ndarray, p: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    k = len(labels)
    n = len(t)
    outside = np.where((p < 0) | (p >= k), k, p)  # one extra column: predictions outside the labels
    full = confusion_matrix(t, outside, k + 1)[:k]
    cm = full[:, :k]
    support = full.sum(1)
    predicted = cm.sum(0)
    tp = np.diag(cm).astype(float)
    present = support > 0
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=present)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "weighted_f1": float((f1 * support).sum() / support.sum()) if support.sum() else 0.0,
        "uar": float(recall[present].mean()) if present.any() else 0.0,
        "per_class_recall": {lab: float(recall[i]) for i, lab in enumerate(labels) if present[i]},
        "confusion": cm.tolist(),
        "labels": list(labels),
    }


def class_weights(counts: Sequence[float] | np.ndarray, balance: float) -> np.ndarray:
    """Loss weight per class ``count ** -balance`` (0: none, 1: inverse frequency), 0 for absent
    classes, scaled so that the weighted mean over the training rows is 1."""
    c = np.asarray(counts, np.float64)
    w = np.where(c > 0, np.maximum(c, 1.0) ** -balance, 0.0)
    total = (w * c).sum()
    return w * (c.sum() / total) if total > 0 else w


def confusion_lines(summary: dict[str, Any], indent: str = "  ", title: str = "") -> list[str]:
    """The confusion matrix of a :func:`report` as text (rows: truth, columns: predicted)."""
    labels = summary["labels"]
    w = max([len(x) for x in labels] + [8]) + 1
    lines = [f"{indent}{title}confusion (rows: truth, columns: predicted)"]
    lines.append(indent + " " * w + "".join(f"{lab[:8]:>9}" for lab in labels))
    for lab, row in zip(labels, summary["confusion"], strict=True):
        lines.append(indent + f"{lab:<{w}}" + "".join(f"{v:>9d}" for v in row))
    return lines


def plot_confusion(summary: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix (counts in the cells) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(summary["confusion"], dtype=float)
    labels = summary["labels"]
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j, i, str(int(cm[i, j])), ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black"
            )
    ax.set_title(title or f"accuracy {summary['accuracy']:.3f}, macro-F1 {summary['macro_f1']:.3f}")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

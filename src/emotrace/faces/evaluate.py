"""Evaluate expression backends on labelled face images, exactly as the faces stage runs them.

Every image is read as RGB and handed whole to the backend's ``predict`` as a face crop
(datasets such as FER2013, RAF-DB aligned and AffectNet crops are already framed faces).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from emotrace.faces.data import LabelledFiles, load_rgb
from emotrace.faces.expression import get_backend_class
from emotrace.labels import CANONICAL
from emotrace.models.assets import resolve
from emotrace.train.metrics import confusion_lines, summarize


def predict_files(
    model: str, files: list[Path], threads: int = 2, batch: int = 64, mirror: bool = False
) -> np.ndarray:
    """``(N, 7)`` probabilities of the named expression backend (or of an ``.onnx`` file with the
    emotrace-fer interface) for each image file (or its mirror image)."""
    if model.endswith(".onnx") and Path(model).is_file():
        cls, path = get_backend_class("emotrace-fer"), Path(model)
    else:
        cls = get_backend_class(model)
        path = resolve(cls.model_name).path
    backend = cls(str(path), device="cpu", threads=threads)
    out = [np.zeros((0, len(CANONICAL)), np.float32)]
    for i in range(0, len(files), batch):
        faces = [load_rgb(p) for p in files[i : i + batch]]
        out.append(backend.predict([f[:, ::-1] for f in faces] if mirror else faces))
    return np.concatenate(out)


def evaluate(model: str, data: LabelledFiles, threads: int = 2) -> dict[str, Any]:
    """Metrics of one backend on labelled images (see :func:`emotrace.train.metrics.summarize`)."""
    probs = predict_files(model, data.files, threads)
    out = summarize(data.labels, probs.argmax(1))
    if data.targets is not None:
        out["vote_ce"] = vote_cross_entropy(probs, data.targets)
    return out


def vote_cross_entropy(probs: np.ndarray, targets: np.ndarray) -> float:
    """Mean cross-entropy (nats) of predicted probabilities against target distributions (FER+ votes)."""
    return float(-(targets * np.log(np.clip(probs, 1e-7, 1.0))).sum(1).mean()) if len(probs) else 0.0


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


def format_summary(model: str, s: dict[str, Any]) -> str:
    """Human-readable report: accuracy, macro-F1, per-class recall, confusion matrix."""
    ce = f" vote-CE={s['vote_ce']:.4f}" if "vote_ce" in s else ""
    lines = [f"{model}: n={s['n']} accuracy={s['accuracy']:.4f} macro-F1={s['macro_f1']:.4f}{ce}"]
    lines.append("  recall: " + "  ".join(f"{k} {v:.3f}" for k, v in s["per_class_recall"].items()))
    lines += confusion_lines(s)
    return "\n".join(lines)

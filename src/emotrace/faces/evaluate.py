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


def format_summary(model: str, s: dict[str, Any]) -> str:
    """Human-readable report: accuracy, macro-F1, per-class recall, confusion matrix."""
    ce = f" vote-CE={s['vote_ce']:.4f}" if "vote_ce" in s else ""
    lines = [f"{model}: n={s['n']} accuracy={s['accuracy']:.4f} macro-F1={s['macro_f1']:.4f}{ce}"]
    lines.append("  recall: " + "  ".join(f"{k} {v:.3f}" for k, v in s["per_class_recall"].items()))
    lines += confusion_lines(s)
    return "\n".join(lines)

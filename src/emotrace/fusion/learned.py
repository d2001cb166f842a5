"""Learned fusion: multinomial logistic regression over per-window modality features.

Features per window: for face, voice and text the class probabilities (zero when absent),
the reliability weight and a presence flag, plus the late-fused distribution. The model is
stored as plain JSON (scaler + coefficients), so inference needs numpy only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.errors import InputError
from emotrace.fusion.align import MODALITIES, ModalityWindow, align
from emotrace.fusion.late import DEFAULT_PRIORS, late_fuse
from emotrace.model import Timeline
from emotrace.train.run import atomic_text, model_in

FORMAT = "emotrace-fusion-logreg/1"
MODEL_FILE = "fusion.json"  # the model inside a run folder of `emotrace train fusion`


def window_features(cells: dict[str, ModalityWindow], n_labels: int) -> np.ndarray:
    """Fixed-length feature vector of one person-window."""
    parts: list[np.ndarray] = []
    for m in MODALITIES:
        c = cells.get(m)
        if c is None:
            parts.append(np.zeros(n_labels + 2))
        else:
            parts.append(np.concatenate([c.probs, [c.reliability, 1.0]]))
    fused = late_fuse(cells)
    parts.append(fused[0] if fused is not None else np.zeros(n_labels))
    return np.concatenate(parts)


def timeline_features(tl: Timeline, window_s: float = 1.0) -> tuple[np.ndarray, list[dict[str, ModalityWindow]]]:
    """Features of every person-window of a timeline (and the cells they came from)."""
    cells = [c for g in align(tl, window_s) for _, c in sorted(g.cells.items())]
    k = len(tl.labels)
    if not cells:
        return np.zeros((0, 3 * (k + 2) + k)), []
    return np.stack([window_features(c, k) for c in cells]), cells


@dataclass
class LearnedFusion:
    """A trained fusion model (see :func:`fit`)."""

    labels: list[str]
    classes: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    info: dict[str, Any]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, features) -> (n, len(labels)) probabilities (classes never seen get 0)."""
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef.T + self.intercept
        if z.shape[1] == 1:  # binary model
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            pc = np.stack([1.0 - p1, p1], axis=1)
        else:
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            pc = e / e.sum(axis=1, keepdims=True)
        out = np.zeros((pc.shape[0], len(self.labels)))
        for j, c in enumerate(self.classes):
            out[:, self.labels.index(c)] = pc[:, j]
        return out

    def combine(self, cells: dict[str, ModalityWindow]) -> tuple[np.ndarray, float, float] | None:
        """Fusion combiner: learned probabilities, valence/arousal from late fusion."""
        late = late_fuse(cells, DEFAULT_PRIORS)
        if late is None:
            return None
        probs = self.predict_proba(window_features(cells, len(self.labels)))[0]
        return probs, late[1], late[2]

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        atomic_text(p, json.dumps({
            "format": FORMAT,
            "labels": self.labels,
            "classes": self.classes,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
            "info": self.info,
        }, indent=1))
        return p

    @classmethod
    def load(cls, path: str | Path) -> LearnedFusion:
        """The model file, or the run folder of ``emotrace train fusion`` holding it."""
        p = model_in(path, MODEL_FILE)
        if not p.is_file():
            raise InputError(p, "fusion model not found (train one with `emotrace train fusion`)")
        try:
            d = json.loads(p.read_text())
            if d.get("format") != FORMAT:
                raise ValueError(f"format {d.get('format')!r}, expected {FORMAT!r}")
            return cls(
                labels=list(d["labels"]),
                classes=list(d["classes"]),
                mean=np.asarray(d["mean"], float),
                scale=np.asarray(d["scale"], float),
                coef=np.asarray(d["coef"], float),
                intercept=np.asarray(d["intercept"], float),
                info=dict(d.get("info", {})),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(p, f"not an emotrace fusion model ({e})") from None


def fit(x: np.ndarray, y: list[str], labels: list[str], c: float = 1.0, info: dict[str, Any] | None = None
        ) -> LearnedFusion:
    """Fit a class-balanced, standardised multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    clf.fit((x - mean) / scale, y)
    return LearnedFusion(
        labels=list(labels),
        classes=[str(k) for k in clf.classes_],
        mean=mean,
        scale=scale,
        coef=np.asarray(clf.coef_, float),
        intercept=np.asarray(clf.intercept_, float),
        info=info or {},
    )


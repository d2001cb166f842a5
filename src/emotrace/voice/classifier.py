"""The speech emotion classifier at inference: portable numpy weights (``.npz``), no torch.

The file holds two logistic-regression heads over the same features:

* ``spk``: trained on features z-scored per speaker; used when a speaker has enough windows
  in the analysed input to estimate their own mean and spread;
* ``glob``: trained on globally standardised features; used otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIN_SPEAKER_WINDOWS = 8


@dataclass
class Head:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (n_classes, n_features)
    intercept: np.ndarray
    temperature: float = 1.0  # fitted on cross-validation predictions (calibration)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated class scores ``(n, n_classes)``."""
        return ((x - self.mean) / self.scale) @ self.coef.T + self.intercept

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities ``(n, n_classes)``."""
        logits = self.logits(x) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


@dataclass
class VoiceEmotionModel:
    labels: list[str]
    spk: Head
    glob: Head

    @classmethod
    def load(cls, path: str | Path) -> VoiceEmotionModel:
        with np.load(path, allow_pickle=False) as z:
            heads = {
                h: Head(
                    z[f"{h}_mean"],
                    z[f"{h}_scale"],
                    z[f"{h}_coef"],
                    z[f"{h}_intercept"],
                    float(z[f"{h}_temperature"]) if f"{h}_temperature" in z else 1.0,
                )
                for h in ("spk", "glob")
            }
            return cls(labels=[str(s) for s in z["labels"]], **heads)

    def save(self, path: str | Path) -> None:
        arrays: dict[str, np.ndarray] = {"labels": np.array(self.labels)}
        for name, h in (("spk", self.spk), ("glob", self.glob)):
            for k in ("mean", "scale", "coef", "intercept"):
                arrays[f"{name}_{k}"] = getattr(h, k).astype(np.float32)
            arrays[f"{name}_temperature"] = np.array(h.temperature, dtype=np.float32)
        np.savez_compressed(path, **arrays)

    def predict(self, x: np.ndarray, speakers: list[str] | None = None) -> np.ndarray:
        """Class probabilities ``(n, n_labels)`` of feature rows, per-speaker normalised where
        a speaker has at least :data:`MIN_SPEAKER_WINDOWS` rows."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float32))
        out = self.glob.proba(x)
        if speakers is None:
            return out
        spk = np.asarray(speakers, dtype=object)
        for s in set(speakers):
            rows = spk == s
            if rows.sum() >= MIN_SPEAKER_WINDOWS:
                out[rows] = self.spk.proba(speaker_normalise(x[rows]))
        return out


def speaker_normalise(x: np.ndarray) -> np.ndarray:
    """z-score the rows of one speaker with that speaker's own mean and spread."""
    mu = x.mean(axis=0, keepdims=True)
    sd = x.std(axis=0, keepdims=True)
    return (x - mu) / (sd + 1e-3 + 0.1 * np.median(sd))

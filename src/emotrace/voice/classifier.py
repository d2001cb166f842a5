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


class VoiceEmotionNet:
    """The attention-pooling model (ONNX, :func:`emotrace.voice.crosscorpus.export_attn`): reads the
    frame states of each window, not pooled features. Per-speaker statistics come from the
    speaker's own windows in the analysed input (at least :data:`MIN_SPEAKER_WINDOWS`)."""

    needs_frames = True

    def __init__(self, path: str | Path, device: str = "cpu", threads: int = 1) -> None:
        import json

        from emotrace.models.onnx import session

        self.session = session(path, device=device, threads=threads)
        meta = json.loads(self.session.get_modelmeta().custom_metadata_map["emotrace"])
        all_labels: list[str] = meta["labels"]
        self.keep = [i for i, ok in enumerate(meta["present"]) if ok]
        self.labels = [all_labels[i] for i in self.keep]
        self.temperature = (float(meta["temperature_spk"]), float(meta["temperature_glob"]))

    def _run(
        self, states: list[np.ndarray], prosody: np.ndarray, stats: tuple[np.ndarray, ...]
    ) -> np.ndarray:
        d = states[0].shape[1]
        T = max(len(s) for s in states)
        x = np.zeros((len(states), T, d), dtype=np.float32)
        m = np.zeros((len(states), T), dtype=bool)
        for i, s in enumerate(states):
            x[i, : len(s)] = s
            m[i, : len(s)] = True
        feeds = dict(
            zip(("mean", "scale", "p_mean", "p_scale"), (a.astype(np.float32) for a in stats), strict=True)
        )
        spk, glob = self.session.run(
            None, {"frames": x, "prosody": prosody.astype(np.float32), "mask": m, **feeds}
        )
        return np.stack([spk, glob])

    def predict_states(
        self, states: list[np.ndarray], prosody: np.ndarray, speakers: list[str] | None = None
    ) -> np.ndarray:
        """Class probabilities ``(n, n_labels)`` of windows given as frame states and prosody rows."""
        from emotrace.voice.cache import ClipStates
        from emotrace.voice.crosscorpus import speaker_stats

        n = len(states)
        d, p = states[0].shape[1], prosody.shape[1]
        groups = np.asarray(speakers if speakers is not None else ["?"] * n, dtype=object)
        if speakers is None:
            groups[:] = None
        neutral_stats = (np.zeros(d), np.ones(d), np.zeros(p), np.ones(p))
        logits = np.zeros((n, len(self.keep)))
        for g in set(groups.tolist()):
            rows = np.flatnonzero(groups == g)
            use_spk = g is not None and len(rows) >= MIN_SPEAKER_WINDOWS
            stats = (
                speaker_stats([ClipStates(states[i], prosody[i]) for i in rows]) if use_spk else neutral_stats
            )
            for a in range(0, len(rows), 32):
                idx = rows[a : a + 32]
                z = self._run([states[i] for i in idx], prosody[idx], stats)[0 if use_spk else 1]
                logits[idx] = z[:, self.keep] / self.temperature[0 if use_spk else 1]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


def speaker_normalise(x: np.ndarray) -> np.ndarray:
    """z-score the rows of one speaker with that speaker's own mean and spread."""
    mu = x.mean(axis=0, keepdims=True)
    sd = x.std(axis=0, keepdims=True)
    return (x - mu) / (sd + 1e-3 + 0.1 * np.median(sd))

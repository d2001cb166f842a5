"""The speech emotion classifier at inference: portable numpy weights (``.npz``), no torch.

The file holds two logistic-regression heads over the same features:

* ``spk``: trained on features z-scored per speaker; used when a speaker has enough windows
  in the analysed input to estimate their own mean and spread;
* ``glob``: trained on globally standardised features; used otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    encoder: str = "whisper-base"  # the catalogue model whose encoder states the features pool

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
            encoder = str(z["encoder"]) if "encoder" in z else "whisper-base"  # files before the cut encoder
            return cls(labels=[str(s) for s in z["labels"]], encoder=encoder, **heads)

    def save(self, path: str | Path) -> None:
        arrays: dict[str, np.ndarray] = {"labels": np.array(self.labels), "encoder": np.array(self.encoder)}
        for name, h in (("spk", self.spk), ("glob", self.glob)):
            for k in ("mean", "scale", "coef", "intercept"):
                arrays[f"{name}_{k}"] = getattr(h, k).astype(np.float32)
            arrays[f"{name}_temperature"] = np.array(h.temperature, dtype=np.float32)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # the stub types **kwds like allow_pickle

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
        # the catalogue model whose encoder states it reads (models before the cut encoder: the whole one)
        self.encoder: str = meta.get("encoder", "whisper-base")

    def _run(
        self, states: list[np.ndarray], prosody: np.ndarray, stats: tuple[np.ndarray, ...]
    ) -> np.ndarray:
        x, m = pad_frames(states)
        feeds = dict(
            zip(("mean", "scale", "p_mean", "p_scale"), (a.astype(np.float32) for a in stats), strict=True)
        )
        spk, glob = self.session.run(
            None, {"frames": x, "prosody": prosody.astype(np.float32), "mask": m, **feeds}
        )
        return np.stack([spk, glob])

    def predict_states(
        self, states: Sequence[np.ndarray], prosody: np.ndarray, speakers: list[str] | None = None
    ) -> np.ndarray:
        """Class probabilities ``(n, n_labels)`` of windows given as frame states and prosody rows.

        ``states`` is indexed one window at a time (a lazy sequence keeps memory flat)."""
        n = len(prosody)
        d, p = states[0].shape[1], prosody.shape[1]
        groups = np.asarray(speakers if speakers is not None else [None] * n, dtype=object)
        neutral_stats = (np.zeros(d), np.ones(d), np.zeros(p), np.ones(p))
        logits = np.zeros((n, len(self.keep)))
        for g in set(groups.tolist()):
            rows = np.flatnonzero(groups == g)
            use_spk = g is not None and len(rows) >= MIN_SPEAKER_WINDOWS
            stats = speaker_stats((states[int(i)] for i in rows), prosody[rows]) if use_spk else neutral_stats
            for a in range(0, len(rows), 32):
                idx = rows[a : a + 32]
                z = self._run([states[i] for i in idx], prosody[idx], stats)[0 if use_spk else 1]
                logits[idx] = z[:, self.keep] / self.temperature[0 if use_spk else 1]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)


def pad_frames(frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Zero-padded batch ``(B, T, d)`` float32 of frame-state arrays and its mask ``(B, T)``."""
    T = max(len(f) for f in frames)
    x = np.zeros((len(frames), T, frames[0].shape[1]), dtype=np.float32)
    m = np.zeros((len(frames), T), dtype=bool)
    for i, f in enumerate(frames):
        x[i, : len(f)] = f
        m[i, : len(f)] = True
    return x, m


def _spread(sd: np.ndarray) -> np.ndarray:
    return sd + 1e-3 + 0.1 * np.median(sd)


def speaker_stats(frames: Iterable[np.ndarray], prosody: np.ndarray) -> tuple[np.ndarray, ...]:
    """Frame mean and spread, prosody mean and spread of one speaker's clips or windows, with the
    spread floor of :func:`speaker_normalise`. Frames are summed one array at a time."""
    n, s1, s2 = 0, 0.0, 0.0
    for f in frames:
        f64 = np.asarray(f, dtype=np.float64)
        n, s1, s2 = n + len(f64), s1 + f64.sum(axis=0), s2 + (f64**2).sum(axis=0)
    mean = s1 / max(n, 1)
    sd = np.sqrt(np.maximum(s2 / max(n, 1) - mean**2, 0.0))
    pr = np.asarray(prosody, dtype=np.float64)
    return np.asarray(mean), _spread(sd), pr.mean(axis=0), _spread(pr.std(axis=0))


def speaker_normalise(x: np.ndarray) -> np.ndarray:
    """z-score the rows of one speaker with that speaker's own mean and spread."""
    mu = x.mean(axis=0, keepdims=True)
    sd = x.std(axis=0, keepdims=True)
    return (x - mu) / _spread(sd)

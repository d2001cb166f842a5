"""Per-window highlight features from audio energy and the fused emotion windows, and the
unsupervised highlight score built from them.

Audio features (``AUDIO``) come from the 16 kHz track: loudness of each window and its
loudest 50 ms frame relative to the whole recording (robust z-scores), i.e. raised voice,
laughter, shouting, applause. Video features (``VIDEO``) come from the face modality and
text/fusion features (``OTHER``) from the rest of the fused windows, taking the most
aroused person in each window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from emotrace.model import EmotionScores, FusedWindow, Timeline

SAMPLE_RATE = 16000
AUDIO: tuple[str, ...] = ("energy_z", "peak_z", "voice_arousal", "voice_intensity", "voice_change")
VIDEO: tuple[str, ...] = ("face_arousal", "face_intensity", "face_change", "face_present")
OTHER: tuple[str, ...] = ("text_intensity", "fused_arousal", "fused_intensity", "fused_change")
FEATURES: tuple[str, ...] = AUDIO + VIDEO + OTHER
VARIANTS: dict[str, tuple[str, ...]] = {"audio-only": AUDIO, "video-only": VIDEO, "multimodal": FEATURES}

DEFAULT_WEIGHTS: dict[str, float] = {"arousal": 0.25, "intensity": 0.25, "change": 0.2, "loudness": 0.3}


def _robust_z(x: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return x
    med = float(np.median(x))
    mad = float(np.median(np.abs(x - med))) * 1.4826
    return (x - med) / max(mad, 1.0)  # at least 1 dB of spread: silence-only tracks stay near 0


def audio_features(audio: np.ndarray | None, n: int, window_s: float) -> dict[str, np.ndarray]:
    """``energy_z`` (window loudness) and ``peak_z`` (loudest 50 ms frame) per window."""
    energy = np.zeros(n)
    peak = np.zeros(n)
    if audio is None or len(audio) == 0:
        return {"energy_z": energy, "peak_z": peak}
    hop = SAMPLE_RATE // 20
    frames = len(audio) // hop
    if frames == 0:
        return {"energy_z": energy, "peak_z": peak}
    rms = np.sqrt(np.mean(audio[: frames * hop].astype(np.float64).reshape(frames, hop) ** 2, axis=1))
    db = 20 * np.log10(rms + 1e-5)
    frame_t = np.arange(frames) * hop / SAMPLE_RATE
    idx = np.minimum((frame_t / window_s).astype(int), n - 1)
    z = _robust_z(db)
    for i in range(n):
        sel = z[idx == i]
        if len(sel):
            energy[i] = float(np.mean(sel))
            peak[i] = float(sel.max())
    return {"energy_z": energy, "peak_z": peak}


def _emotion_features(windows: list[FusedWindow], labels: list[str], n: int, window_s: float) -> dict[str, np.ndarray]:
    out = {name: np.zeros(n) for name in FEATURES if name not in ("energy_z", "peak_z")}
    prev: dict[tuple[str | None, str], np.ndarray] = {}
    for w in sorted(windows, key=lambda w: w.start_s):
        i = math.floor(w.start_s / window_s + 1e-6)
        if i >= n:
            continue
        items: dict[str, EmotionScores] = dict(w.modalities)
        if w.fused is not None:
            items["fused"] = w.fused
        for mod, s in items.items():
            p = np.array([s.probs.get(lab, 0.0) for lab in labels])
            intensity = 1.0 - float(s.probs.get("neutral", 0.0))
            arousal = (float(s.arousal) + 1.0) / 2.0 if s.arousal is not None else 0.0
            key = (w.person_id, mod)
            change = 0.5 * float(np.abs(p - prev[key]).sum()) if key in prev else 0.0
            prev[key] = p
            for feat, val in (("arousal", arousal), ("intensity", intensity), ("change", change)):
                name = f"{mod}_{feat}"
                if name in out:
                    out[name][i] = max(out[name][i], val)
            if mod == "face":
                out["face_present"][i] = 1.0
    return out


def feature_matrix(tl: Timeline, audio: np.ndarray | None, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Window start times and the (n_windows, len(FEATURES)) feature matrix."""
    duration = max(tl.video.duration_s, max((w.end_s for w in tl.windows), default=0.0))
    n = max(1, math.ceil(duration / window_s - 1e-9))
    feats = audio_features(audio, n, window_s)
    feats.update(_emotion_features(tl.windows, list(tl.labels), n, window_s))
    return np.arange(n) * window_s, np.stack([feats[name] for name in FEATURES], axis=1)


def unsupervised_score(x: np.ndarray, weights: Mapping[str, float] | None = None) -> tuple[np.ndarray, list[str]]:
    """Score in [0, 1] per window and the main reason for each (arousal, intensity, change,
    loudness)."""
    w = dict(DEFAULT_WEIGHTS, **(weights or {}))
    col = {name: x[:, j] for j, name in enumerate(FEATURES)}
    parts = {
        "arousal": np.maximum(col["fused_arousal"], col["face_arousal"]),
        "intensity": np.maximum(col["fused_intensity"], col["face_intensity"]),
        "change": np.maximum(col["fused_change"], col["face_change"]),
        "loudness": 1.0 / (1.0 + np.exp(-(col["peak_z"] - 1.5))),
    }
    total = sum(w.values()) or 1.0
    contrib = {k: w.get(k, 0.0) * v / total for k, v in parts.items()}
    score = np.sum(list(contrib.values()), axis=0)
    names = list(contrib)
    stack = np.stack([contrib[k] for k in names], axis=1)
    reasons = [names[int(j)] for j in stack.argmax(axis=1)]
    return score, reasons


def select_segments(
    starts: np.ndarray,
    score: np.ndarray,
    window_s: float,
    duration_s: float,
    top_k: int = 5,
    min_len_s: float = 3.0,
    padding_s: float = 1.0,
    rel: float = 0.8,
    min_prominence: float = 0.05,
) -> list[tuple[float, float, float, int]]:
    """Top-k non-overlapping segments ``(start, end, peak score, peak window)``.

    Peaks of the 3-window smoothed score are taken best first; only peaks at least
    ``min_prominence`` above the median score count (a flat score has no highlight, so fewer
    than ``top_k`` may come back). Each
    segment grows over neighbours above ``median + rel * (peak - median)``, is stretched to
    ``min_len_s``, padded by ``padding_s`` on both sides and clipped to the media.
    """
    if len(score) == 0:
        return []
    sm = np.convolve(np.pad(score, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    base = float(np.median(sm))
    chosen: list[tuple[float, float, float, int]] = []
    for i in np.argsort(-sm, kind="stable"):
        if len(chosen) >= top_k or sm[i] < base + max(min_prominence, 1e-6):
            break
        level = base + rel * (sm[i] - base)
        lo = hi = int(i)
        while lo > 0 and sm[lo - 1] >= level:
            lo -= 1
        while hi + 1 < len(sm) and sm[hi + 1] >= level:
            hi += 1
        a, b = float(starts[lo]), float(starts[hi]) + window_s
        if b - a < min_len_s:
            grow = (min_len_s - (b - a)) / 2
            a, b = a - grow, b + grow
        a, b = max(0.0, a - padding_s), min(duration_s, b + padding_s)
        if any(a < e and s < b for s, e, _, _ in chosen):
            continue
        chosen.append((round(a, 3), round(b, 3), float(sm[i]), int(i)))
    return sorted(chosen)

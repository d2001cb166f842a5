"""Whisper encoder states for speech windows (the voice stage's emotion input).

Each window is level-normalised and encoded from its own log-mel frames only (no 30 s
padding): about 15x faster than the padded pass. States are cached in ``cache`` (the voice
stage publishes it on the ``voice.encoder_states`` channel) under the window's ``(start_s, end_s)`` key,
rounded to ms, so another stage can reuse them. Note that Whisper's decoder (ASR) expects
states of a padded 30 s window: these unpadded states suit pooling, not decoding.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

import numpy as np

SR = 16000
MAX_SAMPLES = 30 * SR
MIN_SAMPLES = SR // 4  # shorter windows are zero-padded to 250 ms

WindowKey = tuple[float, float]


PEAK_TARGET = 0.5


def normalise_level(audio: np.ndarray) -> np.ndarray:
    """Scale to a fixed peak (robust to clipping: 99.9th percentile); silence is left alone."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0:
        return audio
    peak = float(np.percentile(np.abs(audio), 99.9))
    if peak < 1e-5:
        return audio
    return np.clip(audio * (PEAK_TARGET / peak), -1.0, 1.0)


def encode_audio(model: Any, audio: np.ndarray) -> np.ndarray:
    """Encoder states ``(n_frames/2, d)`` of one mono 16 kHz clip (at most 30 s), as given."""
    audio = np.asarray(audio, dtype=np.float32)[:MAX_SAMPLES]
    if audio.size < MIN_SAMPLES:
        audio = np.pad(audio, (0, MIN_SAMPLES - audio.size))
    feats = model.feature_extractor(audio)
    n = feats.shape[1] // 2 * 2
    out = model.encode(np.ascontiguousarray(feats[:, :n]))
    return np.asarray(out, dtype=np.float32)[0]


def encode_windows(
    model: Any,
    audio: np.ndarray,
    windows: Iterable[WindowKey],
    offset_s: float = 0.0,
    cache: MutableMapping[WindowKey, np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Encoder states of each ``(start_s, end_s)`` window of ``audio`` (which starts at ``offset_s``).

    Each window is level-normalised (:func:`normalise_level`) and encoded on its own frames.
    """
    out = []
    for start, end in windows:
        key = (round(start, 3), round(end, 3))
        if cache is not None and key in cache:
            out.append(cache[key])
            continue
        a, b = round((start - offset_s) * SR), round((end - offset_s) * SR)
        states = encode_audio(model, normalise_level(audio[max(a, 0) : max(b, 0)]))
        if cache is not None:
            cache[key] = states
        out.append(states)
    return out


def pool_states(states: np.ndarray) -> np.ndarray:
    """Mean and standard deviation over time: ``(2 d,)``."""
    return np.concatenate([states.mean(axis=0), states.std(axis=0)]).astype(np.float32)

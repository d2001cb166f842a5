"""Speech activity with the Silero VAD ONNX model shipped inside faster-whisper (no torch),
and the split of long turns into 2-6 s emotion windows."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

SR = 16000
Region = tuple[float, float]


def speech_regions(
    audio: np.ndarray,
    threshold: float = 0.5,
    min_silence_ms: int = 300,
    min_speech_ms: int = 250,
    pad_ms: int = 100,
    offset_s: float = 0.0,
) -> list[Region]:
    """Speech regions ``(start_s, end_s)`` of mono 16 kHz ``audio`` starting at ``offset_s``."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    audio = np.asarray(audio, dtype=np.float32)
    if audio.size < SR // 10 or not np.isfinite(audio).all():
        audio = np.nan_to_num(audio)
        if audio.size < SR // 10:
            return []
    opts = VadOptions(
        threshold=threshold,
        min_silence_duration_ms=min_silence_ms,
        min_speech_duration_ms=min_speech_ms,
        speech_pad_ms=pad_ms,
    )
    ts = get_speech_timestamps(audio, opts, sampling_rate=SR)
    return [(offset_s + t["start"] / SR, offset_s + t["end"] / SR) for t in ts]


def split_windows(regions: Iterable[Region], max_s: float = 6.0, min_s: float = 2.0) -> list[Region]:
    """Split each region longer than ``max_s`` into equal windows of ``max_s/2``..``max_s``.

    Regions shorter than ``min_s`` are kept whole (a short turn is still an utterance).
    """
    out: list[Region] = []
    for a, b in regions:
        n = max(1, math.ceil((b - a) / max_s))
        if n > 1 and (b - a) / n < min_s:
            n -= 1
        step = (b - a) / n
        out.extend((round(a + i * step, 3), round(a + (i + 1) * step, 3)) for i in range(n))
    return out


def trim_to_speech(audio: np.ndarray) -> np.ndarray:
    """The span from the first to the last detected speech (the whole clip if none)."""
    regions = speech_regions(audio)
    if not regions:
        return audio
    return audio[int(regions[0][0] * SR) : int(regions[-1][1] * SR)]

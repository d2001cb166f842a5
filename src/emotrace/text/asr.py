"""Speech recognition with faster-whisper: words with timestamps, language, English translation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SAMPLE_RATE = 16000


@dataclass
class AsrWord:
    start_s: float
    end_s: float
    text: str
    probability: float


@dataclass
class AsrSegment:
    start_s: float
    end_s: float
    text: str


@dataclass
class Transcript:
    """Whisper's output for one audio track."""

    language: str | None
    language_probability: float | None
    words: list[AsrWord] = field(default_factory=list)
    segments: list[AsrSegment] = field(default_factory=list)
    translation: list[AsrSegment] | None = None  # English segments when the speech is not English


def transcribe(
    model: Any,
    audio: np.ndarray,
    language: str | None = None,
    translate: bool = True,
    beam_size: int = 5,
    vad_filter: bool = True,
) -> Transcript:
    """Transcribe 16 kHz mono ``audio`` with word timestamps.

    ``language`` forces the language (else Whisper detects it); with ``translate`` a second pass
    (``task="translate"``) gives English segments for non-English speech.
    """
    if audio.size < SAMPLE_RATE // 10:
        return Transcript(language, None)
    kwargs: dict[str, Any] = {
        "beam_size": beam_size,
        "vad_filter": vad_filter,
        "condition_on_previous_text": False,
    }
    segs, info = model.transcribe(audio, language=language, task="transcribe", word_timestamps=True, **kwargs)
    out = Transcript(info.language, float(info.language_probability))
    for s in segs:
        out.segments.append(AsrSegment(float(s.start), float(s.end), s.text.strip()))
        for w in s.words or ():
            if w.word.strip():
                out.words.append(AsrWord(float(w.start), float(w.end), w.word, float(w.probability)))
    if translate and out.words and info.language != "en":
        tsegs, _ = model.transcribe(audio, language=info.language, task="translate", **kwargs)
        out.translation = [
            AsrSegment(float(s.start), float(s.end), s.text.strip()) for s in tsegs if s.text.strip()
        ]
    return out

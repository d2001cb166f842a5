"""Speech recognition with faster-whisper: words with timestamps, language, English translation."""

from __future__ import annotations

from collections.abc import Iterable
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


def _cut_point(audio: np.ndarray, start_s: float, gaps: list[tuple[float, float]], earliest: int) -> int:
    """Where to end a chunk of ``audio`` (which starts at ``start_s``): the middle of the last
    known speech gap after sample ``earliest``, else the quietest 200 ms there."""
    n = audio.size
    for g0, g1 in reversed(gaps):
        mid = round(((g0 + g1) / 2 - start_s) * SAMPLE_RATE)
        if earliest <= mid < n:
            return mid
    win = SAMPLE_RATE // 5
    tail = audio[earliest:]
    if tail.size < 2 * win:
        return n
    energy = np.convolve(tail.astype(np.float64) ** 2, np.ones(win), mode="valid")
    return earliest + int(np.argmin(energy[::160]) * 160) + win // 2


def transcribe_chunks(
    model: Any,
    chunks: Iterable[tuple[float, np.ndarray]],
    language: str | None = None,
    translate: bool = True,
    beam_size: int = 5,
    vad_filter: bool = True,
    speech: list[tuple[float, float]] | None = None,
    max_chunk_s: float = 120.0,
) -> Transcript:
    """:func:`transcribe` over a stream of ``(start_s, samples)`` audio, ``max_chunk_s`` at a time.

    Memory stays flat in the audio's length (Whisper's features of a whole hour would take
    gigabytes). Chunks end in a pause: between two ``speech`` segments when they are known
    (the voice stage's), else at the quietest moment of the chunk's last third. The language
    detected in the first chunk with speech holds for the rest unless ``language`` is given.
    """
    gaps = [(a_end, b_start) for (_, a_end), (b_start, _) in zip(speech or [], (speech or [])[1:]) if b_start > a_end]
    limit = int(max_chunk_s * SAMPLE_RATE)
    out = Transcript(language, None)
    buf: list[np.ndarray] = []
    buf_start = 0.0
    have = 0

    def flush(audio: np.ndarray, start_s: float) -> None:
        nonlocal language
        part = transcribe(model, audio, language, translate, beam_size, vad_filter)
        if part.words and language is None:
            language = part.language
            out.language, out.language_probability = part.language, part.language_probability
        elif out.language is None and part.language is not None:
            out.language, out.language_probability = part.language, part.language_probability
        for w in part.words:
            out.words.append(AsrWord(w.start_s + start_s, w.end_s + start_s, w.text, w.probability))
        for s in part.segments:
            out.segments.append(AsrSegment(s.start_s + start_s, s.end_s + start_s, s.text))
        if part.translation is not None:
            out.translation = (out.translation or []) + [
                AsrSegment(s.start_s + start_s, s.end_s + start_s, s.text) for s in part.translation
            ]

    for t0, samples in chunks:
        if not buf:
            buf_start = t0
        buf.append(np.asarray(samples, np.float32))
        have += samples.size
        while have >= limit:
            audio = np.concatenate(buf)
            cut = _cut_point(audio[:limit], buf_start, gaps, earliest=limit * 2 // 3)
            flush(audio[:cut], buf_start)
            rest = audio[cut:]
            buf_start += cut / SAMPLE_RATE
            buf, have = ([rest] if rest.size else []), rest.size
    if have:
        flush(np.concatenate(buf), buf_start)
    return out

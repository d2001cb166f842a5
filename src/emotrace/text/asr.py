"""Speech recognition with faster-whisper: words with timestamps, language; English translation per utterance."""

from __future__ import annotations

import re
import zlib
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


def transcribe(
    model: Any,
    audio: np.ndarray,
    language: str | None = None,
    beam_size: int = 5,
    vad_filter: bool = True,
) -> Transcript:
    """Transcribe 16 kHz mono ``audio`` with word timestamps.

    ``language`` forces the language (else Whisper detects it); English translations come from
    :func:`translate_spans`, per utterance.
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
    return out


_SENTENCE = re.compile(r"(?<=[.!?;,])\s+")


def collapse_repeats(text: str) -> str:
    """``text`` with consecutive repeats of a sentence or clause kept once (Whisper's loop)."""
    out: list[str] = []
    for part in _SENTENCE.split(text.strip()):
        key = re.sub(r"\W+", " ", part.lower()).strip()
        if key and out and key == re.sub(r"\W+", " ", out[-1].lower()).strip():
            continue
        out.append(part)
    return " ".join(out).strip()


def looks_looped(text: str) -> bool:
    """A translation that still repeats itself after :func:`collapse_repeats` (zlib ratio > 2.4,
    Whisper's own threshold) or repeats one word 4 times in a row."""
    b = text.encode("utf-8")
    if len(b) > 40 and len(b) / len(zlib.compress(b)) > 2.4:
        return True
    words = re.findall(r"\w+", text.lower())
    return any(len(set(words[i : i + 4])) == 1 for i in range(len(words) - 3))


# Whisper's own confidence bar (openai-whisper and faster-whisper ``log_prob_threshold``): below it
# a decoding counts as failed. Translations of espeak-ng speech that were about what was said
# scored -0.4 to -0.9; the invented ones ("Thank you for watching. See you in the next video!"
# for a Bulgarian greeting) -0.95 to -1.7 (benchmarks/translation_confidence.py prints them).
TRANSLATION_MIN_LOGPROB = -1.0
# closing lines of the video subtitles Whisper was trained on, which it writes for speech it cannot
# follow (Koenecke et al. 2024, "Careless Whisper"; openai/whisper discussions #679, #928)
_STOCK = re.compile(
    r"\b(thank(s| you)( (very|so) much)? for watching|see you (in |on )?(the )?next (video|time|one|episode)"
    r"|(please |don t forget to )?(like (and )?)?subscribe( and like)?( to (my|our|the|this) channel)?"
    r"|subtitles? (by|made by|provided by)|captions? by|translated by|amara org"
    r"|that s all( for (today|now))?)\b"
)


def strip_stock_phrases(text: str) -> str:
    """``text`` without its clauses that are one of Whisper's stock closing lines ("Thanks for
    watching!", "See you in the next video", "Subscribe to my channel", "Subtitles by ..."): a
    clause that holds one and at most two other words goes."""
    keep = []
    for part in re.split(r"(?<=[.!?,;])\s+", text.strip()):
        key = " ".join(re.findall(r"\w+", part.lower()))
        if key and _STOCK.search(key):
            rest = _STOCK.sub(" ", key).split()
            if len(rest) <= 2:
                continue
        keep.append(part)
    return " ".join(keep).strip().rstrip(",;")


def translate_audio(model: Any, audio: np.ndarray, language: str | None, beam_size: int = 5, chars: int = 0) -> str:
    """Whisper's English translation of one short piece of speech, or "" when the result loops.

    Whisper translating long or short non-English speech in one pass drifts and loops (one
    hallucinated sentence repeated over every utterance). Here the piece is decoded alone,
    without any previous text, with a token budget from its duration (and ``chars``, the length
    of its transcript), no repeated 3-grams and a repetition penalty; repeated sentences are
    kept once and Whisper's stock closing lines removed. A result that still loops, that is
    empty then, or whose mean token log-probability is below :data:`TRANSLATION_MIN_LOGPROB` is
    dropped (no translation rather than an invented one)."""
    if audio.size < SAMPLE_RATE // 5:
        return ""
    budget = int(12 + 6 * audio.size / SAMPLE_RATE + chars / 2)
    tsegs, _ = model.transcribe(
        audio,
        language=language,
        task="translate",
        beam_size=beam_size,
        vad_filter=False,
        condition_on_previous_text=False,
        without_timestamps=True,
        no_repeat_ngram_size=3,
        repetition_penalty=1.1,
        max_new_tokens=min(budget, 200),
    )
    segs = list(tsegs)
    n_tok = sum(len(t.tokens) for t in segs)
    if n_tok and sum(t.avg_logprob * len(t.tokens) for t in segs) / n_tok < TRANSLATION_MIN_LOGPROB:
        return ""
    text = strip_stock_phrases(collapse_repeats(" ".join(t.text.strip() for t in segs)))
    return "" if not text or looks_looped(text) else text


def translate_spans(
    model: Any,
    chunks: Iterable[tuple[float, np.ndarray]],
    spans: list[tuple[float, float, str]],
    language: str | None,
    beam_size: int = 5,
    pad_s: float = 0.2,
) -> list[str]:
    """One English translation per ``(start_s, end_s, transcript)`` span (utterances, in time
    order) from a stream of ``(start_s, samples)`` audio: each span is translated from its own
    audio, so translations are aligned with the utterances by construction (spans from
    :func:`emotrace.text.utterances.group_words` start and end with their speech: a second of
    silence ahead of it is enough to turn "It was a terrible day" into "Good day to you"). Only
    the audio of the spans not yet translated is kept (memory flat in the stream's length)."""
    out = [""] * len(spans)
    if not spans:
        return out
    pending = sorted(range(len(spans)), key=lambda i: spans[i][0])
    buf: list[tuple[float, np.ndarray]] = []

    def take(i: int) -> None:
        a, b, text = spans[i]
        a, b = max(0.0, a - pad_s), b + pad_s
        parts = []
        for t0, x in buf:
            i0 = max(0, round((a - t0) * SAMPLE_RATE))
            i1 = min(x.size, round((b - t0) * SAMPLE_RATE))
            if i1 > i0:
                parts.append(x[i0:i1])
        if parts:
            out[i] = translate_audio(model, np.concatenate(parts), language, beam_size, len(text))

    for t0, samples in chunks:
        buf.append((t0, np.asarray(samples, np.float32)))
        end = t0 + samples.size / SAMPLE_RATE
        while pending and spans[pending[0]][1] + pad_s <= end:
            take(pending.pop(0))
        keep_from = spans[pending[0]][0] - pad_s if pending else end
        buf = [(s0, x) for s0, x in buf if s0 + x.size / SAMPLE_RATE > keep_from]
    for i in pending:
        take(i)
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
        part = transcribe(model, audio, language, beam_size, vad_filter)
        if part.words and language is None:
            language = part.language
            out.language, out.language_probability = part.language, part.language_probability
        elif out.language is None and part.language is not None:
            out.language, out.language_probability = part.language, part.language_probability
        for w in part.words:
            out.words.append(AsrWord(w.start_s + start_s, w.end_s + start_s, w.text, w.probability))
        for s in part.segments:
            out.segments.append(AsrSegment(s.start_s + start_s, s.end_s + start_s, s.text))

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

"""Group recognised words into utterances (sentences/turns) aligned with speech segments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from emotrace.model import SpeechSegment
from emotrace.text.asr import AsrWord

_SENTENCE_END = (".", "?", "!", "。", "？", "！", "…")


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """Length of the intersection of two time spans (0 when they do not meet)."""
    return max(0.0, min(a1, b1) - max(a0, b0))


def best_segment(start: float, end: float, speech: Sequence[SpeechSegment]) -> SpeechSegment | None:
    """The speech segment overlapping ``[start, end]`` the most (``None`` when none does)."""
    best, best_ov = None, 0.0
    for seg in speech:
        ov = overlap(start, end, seg.start_s, seg.end_s)
        if ov > best_ov:
            best, best_ov = seg, ov
    return best


@dataclass
class WordGroup:
    """Consecutive words of one utterance, with the speaker they were assigned."""

    words: list[AsrWord] = field(default_factory=list)
    speaker_id: str | None = None
    person_id: str | None = None

    @property
    def start_s(self) -> float:
        return self.words[0].start_s

    @property
    def end_s(self) -> float:
        return self.words[-1].end_s

    @property
    def text(self) -> str:
        return "".join(w.text for w in self.words).strip()


def word_speakers(words: Sequence[AsrWord], speech: Sequence[SpeechSegment]) -> list[SpeechSegment | None]:
    """The speech segment (with its speaker) of each word, by largest overlap."""
    out: list[SpeechSegment | None] = []
    for w in words:
        seg = best_segment(w.start_s, max(w.end_s, w.start_s + 0.02), speech)
        if seg is None and speech:  # a word in a VAD gap: the nearest segment within 0.5 s
            near = min(speech, key=lambda s: min(abs(s.start_s - w.end_s), abs(w.start_s - s.end_s)))
            if min(abs(near.start_s - w.end_s), abs(w.start_s - near.end_s)) <= 0.5:
                seg = near
        out.append(seg)
    return out


def snap_to_speech(
    words: Sequence[AsrWord], segs: Sequence[SpeechSegment | None], tolerance_s: float = 0.2
) -> list[AsrWord]:
    """Words with their ends pulled onto their speech segment where they reach more than
    ``tolerance_s`` into the silence around it: Whisper's word timestamps stretch the first word
    after a pause back into the pause (by a second and more), and the last one into the next."""
    out = []
    for w, seg in zip(words, segs, strict=True):
        start, end = w.start_s, w.end_s
        if seg is not None:
            if seg.start_s - start > tolerance_s and end > seg.start_s:
                start = seg.start_s
            if end - seg.end_s > tolerance_s and start < seg.end_s:
                end = seg.end_s
        out.append(w if (start, end) == (w.start_s, w.end_s) else replace(w, start_s=start, end_s=end))
    return out


def group_words(
    words: Sequence[AsrWord],
    speech: Sequence[SpeechSegment] = (),
    max_gap_s: float = 1.0,
    max_duration_s: float = 15.0,
) -> list[WordGroup]:
    """Split words into utterances at sentence ends, pauses over ``max_gap_s``, speaker changes
    and ``max_duration_s``; each utterance gets the speaker with the largest overlap. Word
    times are first snapped to the speech segments (:func:`snap_to_speech`)."""
    segs = word_speakers(words, speech)
    words = snap_to_speech(words, segs)
    groups: list[WordGroup] = []
    cur = WordGroup()
    cur_speaker: str | None = None
    for w, seg in zip(words, segs, strict=True):
        spk = seg.speaker_id if seg is not None else None
        if cur.words:
            prev = cur.words[-1]
            split = (
                w.start_s - prev.end_s > max_gap_s
                or prev.text.strip().endswith(_SENTENCE_END)
                or (spk is not None and cur_speaker is not None and spk != cur_speaker)
                or w.end_s - cur.start_s > max_duration_s
            )
            if split:
                groups.append(cur)
                cur = WordGroup()
                cur_speaker = None
        cur.words.append(w)
        cur_speaker = cur_speaker or spk
    if cur.words:
        groups.append(cur)
    for g in groups:
        seg = best_segment(g.start_s, g.end_s, speech)
        if seg is not None:
            totals: dict[str | None, float] = {}
            for s in speech:
                totals[s.speaker_id] = totals.get(s.speaker_id, 0.0) + overlap(
                    g.start_s, g.end_s, s.start_s, s.end_s
                )
            g.speaker_id = max(totals, key=totals.__getitem__)
            g.person_id = seg.person_id if seg.speaker_id == g.speaker_id else None
    return groups

"""Per-person, per-modality emotion series read from a Timeline (shared by every human-facing writer).

Fused windows are used when the fusion stage ran (they carry every modality on one grid); a
modality missing from the windows comes from its raw records (face observations, speech
segments, utterances), so nothing is shown twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from emotrace.model import EmotionScores, Timeline

MODALITIES = ("face", "voice", "text", "fused")

# one colour per canonical label (colour-blind friendly, Okabe-Ito based); merged labels get grey
LABEL_COLOURS: dict[str, str] = {
    "angry": "#D55E00",
    "disgust": "#8C6D31",
    "fear": "#CC79A7",
    "happy": "#E69F00",
    "sad": "#0072B2",
    "surprise": "#009E73",
    "neutral": "#999999",
}
FALLBACK_COLOURS = ("#56B4E9", "#F0E442", "#332288", "#882255", "#44AA99")

NO_PERSON = "scene"


def label_colour(label: str | None, labels: list[str] | None = None) -> str:
    """The display colour of an emotion label."""
    if label is None:
        return "#cccccc"
    if label in LABEL_COLOURS:
        return LABEL_COLOURS[label]
    idx = (labels or []).index(label) if labels and label in labels else abs(hash(label))
    return FALLBACK_COLOURS[idx % len(FALLBACK_COLOURS)]


@dataclass
class Point:
    """One emotion estimate over ``[start_s, end_s)``."""

    start_s: float
    end_s: float
    scores: EmotionScores

    @property
    def mid_s(self) -> float:
        return 0.5 * (self.start_s + self.end_s)


@dataclass
class PersonSeries:
    person: str
    modalities: dict[str, list[Point]] = field(default_factory=dict)


def person_key(person_id: str | None, speaker_id: str | None = None) -> str:
    return person_id or speaker_id or NO_PERSON


def speaker_key(tl: Timeline, person_id: str | None, speaker_id: str | None) -> str:
    """Who a speech record belongs to: its person, the person linked to its speaker, or the speaker."""
    if person_id is None and speaker_id is not None:
        person_id = next((p.id for p in tl.persons if p.speaker_id == speaker_id), None)
    return person_key(person_id, speaker_id)


def _face_step(tl: Timeline) -> float:
    times = sorted({f.time_s for f in tl.faces})
    if len(times) < 2:
        return 1.0
    gaps = sorted(b - a for a, b in pairwise(times) if b > a)
    return min(1.0, gaps[len(gaps) // 2]) if gaps else 1.0


def emotion_series(tl: Timeline) -> dict[str, PersonSeries]:
    """Series per person (``"scene"`` for records without a person) and modality, sorted by time."""
    out: dict[str, PersonSeries] = {}

    def add(person: str, modality: str, pt: Point) -> None:
        out.setdefault(person, PersonSeries(person)).modalities.setdefault(modality, []).append(pt)

    if tl.windows:
        for w in tl.windows:
            key = person_key(w.person_id)
            for mod, s in w.modalities.items():
                if s.probs:
                    add(key, mod, Point(w.start_s, w.end_s, s))
            if w.fused is not None and w.fused.probs:
                add(key, "fused", Point(w.start_s, w.end_s, w.fused))
    have = {m for ps in out.values() for m in ps.modalities}  # modalities already on the fused grid
    step = _face_step(tl)
    for f in tl.faces:
        fs = f.smoothed or f.emotion
        key = person_key(f.person_id, None if f.track_id is None else f"T{f.track_id}")
        if fs is not None and fs.probs and "face" not in have:
            add(key, "face", Point(f.time_s, f.time_s + step, fs))
    for modality, segs in (("voice", tl.speech), ("text", tl.utterances)):
        for seg in segs:
            key = speaker_key(tl, seg.person_id, seg.speaker_id)
            if seg.emotion is not None and seg.emotion.probs and modality not in have:
                add(key, modality, Point(seg.start_s, seg.end_s, seg.emotion))
    for ps in out.values():
        for pts in ps.modalities.values():
            pts.sort(key=lambda p: p.start_s)
        ps.modalities = {m: ps.modalities[m] for m in MODALITIES if m in ps.modalities} | {
            m: v for m, v in ps.modalities.items() if m not in MODALITIES
        }
    return dict(sorted(out.items(), key=lambda kv: (kv[0] == NO_PERSON, kv[0])))


def emotion_cues(tl: Timeline) -> list[tuple[float, float, str, str | None, str | None, float]]:
    """Timed cues for subtitles: ``(start, end, speaker, text, emotion, confidence)``.

    One cue per utterance when there is a transcript; otherwise one per fused interval
    (face intervals when fusion did not run).
    """
    cues: list[tuple[float, float, str, str | None, str | None, float]] = []
    if tl.utterances:
        for u in tl.utterances:
            em = u.emotion
            cues.append(
                (
                    u.start_s,
                    u.end_s,
                    speaker_key(tl, u.person_id, u.speaker_id),
                    u.text.strip(),
                    em.label if em and em.probs else None,
                    em.confidence if em and em.probs else 0.0,
                )
            )
        return sorted(cues, key=lambda c: (c[0], c[1]))
    by_mod: dict[str, list[Any]] = defaultdict(list)
    for iv in tl.intervals:
        by_mod[iv.modality].append(iv)
    chosen = next((by_mod[m] for m in ("fused", "face", "voice", "text") if by_mod.get(m)), [])
    for iv in chosen:
        cues.append((iv.start_s, iv.end_s, person_key(iv.person_id), None, iv.emotion, iv.confidence))
    return sorted(cues, key=lambda c: (c[0], c[1], c[2]))


def fmt_clock(t: float) -> str:
    """``m:ss.s`` for display."""
    t = max(0.0, t)
    m, s = divmod(t, 60.0)
    return f"{int(m)}:{s:04.1f}"

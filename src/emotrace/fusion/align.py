"""Align face, voice and text scores per person on one time grid.

Face observations are points in time (one per sampled frame); speech segments and
utterances are spans. Each is attributed to a person: faces carry ``person_id`` (or a track);
voice and text go to the person linked to their speaker (``SpeechSegment.person_id``,
``Person.speaker_id``), else to the speaker id itself, else ``None``.

The result of :func:`align` is, per person and window, each modality's aggregated
probabilities, valence/arousal, a reliability weight in [0, 1] and the number of
observations: what late fusion, learned fusion and the highlight features all start from.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from emotrace.model import EmotionScores, Timeline, Utterance

MODALITIES: tuple[str, ...] = ("face", "voice", "text")


@dataclass
class Observation:
    """One modality reading attributed to a person: a point (``start == end``) or a span."""

    person_id: str | None
    modality: str
    start_s: float
    end_s: float
    probs: np.ndarray
    valence: float
    arousal: float
    quality: float = 1.0
    model: str | None = None


@dataclass
class ModalityWindow:
    """One modality aggregated over one window for one person."""

    probs: np.ndarray
    valence: float
    arousal: float
    reliability: float
    n: int
    model: str | None = None


@dataclass
class PersonGrid:
    """All windows of one person: ``cells[i][modality]`` for window ``i``."""

    person_id: str | None
    cells: dict[int, dict[str, ModalityWindow]] = field(default_factory=dict)


def certainty(probs: np.ndarray) -> float:
    """1 - normalised entropy: 0 for a uniform distribution, 1 for a one-hot one."""
    p = np.clip(np.asarray(probs, dtype=float), 1e-12, 1.0)
    p = p / p.sum()
    k = len(p)
    if k < 2:
        return 1.0
    return float(1.0 + (p * np.log(p)).sum() / math.log(k))


def speaker_links(tl: Timeline, link_single: bool = True) -> dict[str, str]:
    """speaker id -> person id, from ``Person.speaker_id`` and ``SpeechSegment.person_id``.

    With ``link_single`` a video with exactly one face person and one unlinked speaker links
    the two (the common single-speaker, single-face case).
    """
    links: dict[str, str] = {}
    for p in tl.persons:
        if p.speaker_id:
            links[p.speaker_id] = p.id
    for seg in tl.speech:
        if seg.speaker_id and seg.person_id:
            links.setdefault(seg.speaker_id, seg.person_id)
    if link_single:
        face_persons = {f.person_id for f in tl.faces if f.person_id} | {p.id for p in tl.persons}
        speakers = {s.speaker_id for s in tl.speech if s.speaker_id} | {
            u.speaker_id for u in tl.utterances if u.speaker_id
        }
        unlinked = speakers - set(links)
        if len(face_persons) == 1 and len(unlinked) == 1 and not links:
            links[unlinked.pop()] = next(iter(face_persons))
    return links


def _single_person(tl: Timeline, link_single: bool) -> str | None:
    if not link_single:
        return None
    persons = {f.person_id for f in tl.faces if f.person_id} | {p.id for p in tl.persons}
    speakers = {s.speaker_id for s in tl.speech if s.speaker_id}
    return next(iter(persons)) if len(persons) == 1 and len(speakers) <= 1 else None


def _face_person(person_id: str | None, track_id: int | None) -> str | None:
    if person_id:
        return person_id
    return f"track{track_id}" if track_id is not None else None


def _vec(s: EmotionScores, labels: list[str]) -> np.ndarray:
    return np.array([float(s.probs.get(lab, 0.0)) for lab in labels], dtype=float)


def _va(s: EmotionScores) -> tuple[float, float]:
    return (
        float(s.valence) if s.valence is not None else math.nan,
        float(s.arousal) if s.arousal is not None else math.nan,
    )


class _Attribution:
    """Who a speech segment or utterance belongs to (see the module docstring)."""

    def __init__(self, tl: Timeline, link_single: bool):
        self.links = speaker_links(tl, link_single)
        self.lone = _single_person(tl, link_single)
        self.segments = [(seg.start_s, seg.end_s, self.who(seg.person_id, seg.speaker_id)) for seg in tl.speech]

    def who(self, person_id: str | None, speaker_id: str | None) -> str | None:
        if person_id:
            return person_id
        if speaker_id:
            return self.links.get(speaker_id, speaker_id)
        return self.lone

    def utterance(self, u: Utterance) -> str | None:
        pid = self.who(u.person_id, u.speaker_id)
        if not u.person_id and not u.speaker_id:
            pid = _overlapping_person(u.start_s, u.end_s, self.segments) or pid
        return pid


def utterance_persons(tl: Timeline, link_single: bool = True) -> list[str | None]:
    """The person of each utterance of the timeline, in order."""
    att = _Attribution(tl, link_single)
    return [att.utterance(u) for u in tl.utterances]


def observations(tl: Timeline, face_scores: str = "smoothed", link_single: bool = True) -> list[Observation]:
    """Every face, voice and text reading of the timeline, attributed to a person."""
    labels = list(tl.labels)
    att = _Attribution(tl, link_single)
    out: list[Observation] = []
    for f in tl.faces:
        s = (f.smoothed or f.emotion) if face_scores == "smoothed" else (f.emotion or f.smoothed)
        if s is None:
            continue
        v, a = _va(s)
        q = f.quality if f.quality is not None else 1.0
        out.append(
            Observation(_face_person(f.person_id, f.track_id), "face", f.time_s, f.time_s, _vec(s, labels), v, a,
                        max(0.0, float(q)), s.model)
        )
    for seg, (_, _, pid) in zip(tl.speech, att.segments, strict=True):
        if seg.emotion is None or seg.end_s <= seg.start_s:
            continue
        v, a = _va(seg.emotion)
        q = seg.speaker_confidence if seg.speaker_confidence is not None else 1.0
        out.append(Observation(pid, "voice", seg.start_s, seg.end_s, _vec(seg.emotion, labels), v, a,
                               float(q), seg.emotion.model))
    for u in tl.utterances:
        if u.emotion is None or u.end_s <= u.start_s:
            continue
        v, a = _va(u.emotion)
        out.append(Observation(att.utterance(u), "text", u.start_s, u.end_s, _vec(u.emotion, labels), v, a, 1.0,
                               u.emotion.model))
    return out


def _overlapping_person(start: float, end: float, segs: Iterable[tuple[float, float, str | None]]) -> str | None:
    best, best_ov = None, 0.0
    for s, e, pid in segs:
        ov = min(end, e) - max(start, s)
        if ov > best_ov and pid is not None:
            best, best_ov = pid, ov
    return best


def aggregate(
    obs: list[Observation], start: float, end: float, media_end: float | None = None
) -> ModalityWindow | None:
    """Aggregate one modality's observations over ``[start, end)``.

    Points are averaged weighted by quality; spans by overlap x quality. Reliability is the
    certainty of the mean distribution times mean quality times an evidence factor
    (``n / (n + 1)`` for points, covered fraction for spans).
    """
    length = (min(end, media_end) if media_end and media_end > start else end) - start
    ws: list[float] = []
    picked: list[Observation] = []
    coverage = 0.0
    points = 0
    for o in obs:
        if o.start_s == o.end_s:
            if start <= o.start_s < end:
                ws.append(max(o.quality, 1e-3))
                picked.append(o)
                points += 1
        else:
            ov = min(end, o.end_s) - max(start, o.start_s)
            if ov > 0:
                frac = ov / length
                coverage += frac
                ws.append(frac * max(o.quality, 1e-3))
                picked.append(o)
    if not picked:
        return None
    w = np.asarray(ws)
    probs = (np.stack([o.probs for o in picked]) * w[:, None]).sum(0) / w.sum()
    va = np.array([[o.valence, o.arousal] for o in picked])
    valence = _nanmean(va[:, 0], w)
    arousal = _nanmean(va[:, 1], w)
    quality = float(np.mean([o.quality for o in picked]))
    evidence = points / (points + 1.0) if points else min(1.0, coverage)
    if points and coverage:
        evidence = max(evidence, min(1.0, coverage))
    models = {o.model for o in picked if o.model}
    return ModalityWindow(
        probs=probs,
        valence=valence,
        arousal=arousal,
        reliability=float(np.clip(certainty(probs) * min(quality, 1.0) * evidence, 0.0, 1.0)),
        n=len(picked),
        model=next(iter(models)) if len(models) == 1 else None,
    )


def _nanmean(x: np.ndarray, w: np.ndarray) -> float:
    ok = ~np.isnan(x)
    if not ok.any():
        return math.nan
    return float((x[ok] * w[ok]).sum() / w[ok].sum())


def align(
    tl: Timeline,
    window_s: float = 1.0,
    face_scores: str = "smoothed",
    link_single: bool = True,
) -> list[PersonGrid]:
    """Per person, each window's aggregated modality readings (windows without data omitted)."""
    obs = observations(tl, face_scores, link_single)
    end_t = max([tl.video.duration_s] + [o.end_s for o in obs]) if obs else tl.video.duration_s
    by_key: dict[tuple[str | None, str], list[Observation]] = defaultdict(list)
    for o in obs:
        by_key[(o.person_id, o.modality)].append(o)
    grids: dict[str | None, PersonGrid] = {}
    for (pid, mod), items in by_key.items():
        grid = grids.setdefault(pid, PersonGrid(pid))
        buckets: dict[int, list[Observation]] = defaultdict(list)
        for o in items:
            first = math.floor(o.start_s / window_s + 1e-9)
            last = math.floor(o.end_s / window_s + 1e-9)
            for i in range(first, last + 1):
                buckets[i].append(o)
        for i in sorted(buckets):
            a = i * window_s
            cell = aggregate(buckets[i], a, a + window_s, media_end=end_t)
            if cell is not None:
                grid.cells.setdefault(i, {})[mod] = cell
    return sorted(grids.values(), key=lambda g: (g.person_id is None, str(g.person_id)))

"""The ``link`` stage: which face person is the active speaker of each voice cluster.

For every person the mouth-opening signal (blendshape ``jawOpen``, or the inner-lip gap of
the 478-point face mesh over face height) is used as it is (*opening*) and differenced over
time (*movement*). For a speaker S and a person P the evidence is the standardised contrast
of P's opening and movement while S speaks against the same while S is silent (the mean of
the two contrasts). Speakers and persons are paired
one-to-one (Hungarian assignment) where the contrast is positive enough; the confidence
grows with the contrast and with how much of S's speech P was on screen.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from emotrace.model import FaceObservation, SpeechSegment, Timeline
from emotrace.stage import Context, Stage, register

UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14  # MediaPipe face mesh indices


class LinkOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_contrast: float = Field(0.3, description="standardised movement contrast needed to link")
    min_samples: int = Field(2, ge=1, description="mouth samples needed inside and outside the speech")


def mouth_openness(obs: FaceObservation) -> float | None:
    """Mouth opening of one face observation, or ``None`` when the record has no mouth cue."""
    if obs.blendshapes and "jawOpen" in obs.blendshapes:
        return float(obs.blendshapes["jawOpen"])
    kp = obs.keypoints
    if kp and len(kp) > LOWER_INNER_LIP and len(kp) >= 468 and obs.bbox.h > 0:
        return float(math.dist(kp[UPPER_INNER_LIP], kp[LOWER_INNER_LIP]) / obs.bbox.h)
    return None


def mouth_signals(faces: list[FaceObservation]) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per person: ``[(times, opening), (times, movement)]``; movement is the absolute change
    of opening between consecutive samples less than 1 s apart, at their midpoint."""
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for f in faces:
        if f.person_id is None:
            continue
        m = mouth_openness(f)
        if m is not None:
            series[f.person_id].append((f.time_s, m))
    out = {}
    for pid, pts in series.items():
        pts.sort()
        if len(pts) < 3:
            continue
        t = np.array([p[0] for p in pts])
        v = np.array([p[1] for p in pts])
        ok = np.diff(t) < 1.0
        out[pid] = [(t, v), (((t[1:] + t[:-1]) / 2)[ok], np.abs(np.diff(v))[ok])]
    return out


def _contrast(t: np.ndarray, x: np.ndarray, segments: list[SpeechSegment], min_samples: int) -> float | None:
    inside = _inside(t, segments)
    if inside.sum() < min_samples or (~inside).sum() < min_samples:
        return None
    a, b = x[inside], x[~inside]
    return float((a.mean() - b.mean()) / (math.sqrt((a.var() + b.var()) / 2) + 0.01))


def _inside(t: np.ndarray, segments: list[SpeechSegment]) -> np.ndarray:
    mask = np.zeros(t.shape, dtype=bool)
    for s in segments:
        mask |= (t >= s.start_s) & (t <= s.end_s)
    return mask


def link_speakers(
    timeline: Timeline, min_contrast: float = 0.3, min_samples: int = 2
) -> dict[str, tuple[str, float]]:
    """Pair voice speakers with face persons and fill the timeline.

    Returns ``{speaker_id: (person_id, confidence)}`` of the pairs made.
    """
    from scipy.optimize import linear_sum_assignment

    by_speaker: dict[str, list[SpeechSegment]] = defaultdict(list)
    for seg in timeline.speech:
        if seg.speaker_id:
            by_speaker[seg.speaker_id].append(seg)
    signals = mouth_signals(timeline.faces)
    speakers, persons = sorted(by_speaker), sorted(signals)
    if not speakers or not persons:
        return {}
    contrast = np.full((len(speakers), len(persons)), -np.inf)
    coverage = np.zeros_like(contrast)
    for i, s in enumerate(speakers):
        talk = sum(seg.end_s - seg.start_s for seg in by_speaker[s])
        for j, p in enumerate(persons):
            parts = [
                c for t, x in signals[p] if (c := _contrast(t, x, by_speaker[s], min_samples)) is not None
            ]
            if not parts:
                continue
            contrast[i, j] = float(np.mean(parts))
            t = signals[p][0][0]
            step = float(np.median(np.diff(t)))
            coverage[i, j] = min(1.0, _inside(t, by_speaker[s]).sum() * step / max(talk, 1e-3))
    rows, cols = linear_sum_assignment(np.where(np.isfinite(contrast), -contrast, 1e6))
    links: dict[str, tuple[str, float]] = {}
    for i, j in zip(rows, cols, strict=True):
        c = contrast[i, j]
        if not np.isfinite(c) or c < min_contrast:
            continue
        conf = 1.0 / (1.0 + math.exp(-3.0 * (c - min_contrast - 0.5))) * min(1.0, coverage[i, j] / 0.5)
        links[speakers[i]] = (persons[j], round(float(conf), 4))
    _fill(timeline, links)
    return links


def _fill(timeline: Timeline, links: dict[str, tuple[str, float]]) -> None:
    person_of = {s: p for s, (p, _) in links.items()}
    for person in timeline.persons:
        for s, (p, conf) in links.items():
            if person.id == p:
                person.speaker_id, person.speaker_confidence = s, conf
    for seg in timeline.speech:
        if seg.speaker_id in person_of:
            seg.person_id = person_of[seg.speaker_id]
    for utt in timeline.utterances:
        if utt.speaker_id in person_of and utt.person_id is None:
            utt.person_id = person_of[utt.speaker_id]


@register
class LinkStage(Stage):
    slot = "link"
    backend = "default"
    kind = "post"
    reads = ("faces", "speech", "utterances", "persons")
    needs = ("faces", "speech")
    writes = ("speech", "utterances")
    description = "active speaker: voice clusters to face persons by mouth movement during speech"
    Options = LinkOptions

    def run(self, ctx: Context) -> None:
        o: LinkOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        if not ctx.timeline.speech or not ctx.timeline.faces:
            return
        links = link_speakers(ctx.timeline, o.min_contrast, o.min_samples)
        unlinked = sorted({s.speaker_id for s in ctx.timeline.speech if s.speaker_id} - set(links))
        if unlinked:
            ctx.warn(f"link: no face linked to speaker(s) {', '.join(unlinked)} (off screen or no mouth cue)")

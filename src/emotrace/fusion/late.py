"""Late fusion: a reliability-weighted opinion pool of face, voice and text scores.

Each modality's window distribution ``p_m`` gets the weight ``prior_m * reliability_m``
(reliability = certainty x quality x evidence, see :func:`emotrace.fusion.align.aggregate`);
the fused distribution is the weighted mean, and so are valence and arousal.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping

import numpy as np

from emotrace.fusion.align import (
    MODALITIES,
    ModalityWindow,
    Observation,
    PersonGrid,
    aggregate,
    observations,
    utterance_persons,
)
from emotrace.model import EmotionScores, FusedWindow, Timeline

DEFAULT_PRIORS: dict[str, float] = {"face": 1.0, "voice": 1.0, "text": 1.0}

# fused distribution for one window: modality cells -> (probs, valence, arousal) or None
Combiner = Callable[[dict[str, ModalityWindow]], tuple[np.ndarray, float, float] | None]


def late_fuse(
    cells: Mapping[str, ModalityWindow], priors: Mapping[str, float] | None = None
) -> tuple[np.ndarray, float, float] | None:
    """Weighted mean of the modality distributions and of their valence/arousal."""
    priors = priors or DEFAULT_PRIORS
    items = [(m, c) for m, c in cells.items() if priors.get(m, 0.0) > 0]
    if not items:
        return None
    w = np.array([priors.get(m, 0.0) * c.reliability for m, c in items])
    if w.sum() <= 1e-9:  # nothing is confident: fall back to the priors alone
        w = np.array([priors.get(m, 0.0) for m, _ in items])
    probs = (np.stack([c.probs for _, c in items]) * w[:, None]).sum(0) / w.sum()
    va = np.array([[c.valence, c.arousal] for _, c in items])
    out = []
    for j in range(2):
        ok = ~np.isnan(va[:, j])
        out.append(float((va[ok, j] * w[ok]).sum() / w[ok].sum()) if ok.any() and w[ok].sum() > 0 else math.nan)
    return probs, out[0], out[1]


def to_scores(
    probs: np.ndarray, labels: list[str], valence: float, arousal: float, model: str | None
) -> EmotionScores:
    """EmotionScores on the timeline's labels (probabilities renormalised, rounded)."""
    p = np.clip(np.asarray(probs, dtype=float), 0.0, None)
    p = p / p.sum() if p.sum() > 0 else np.full(len(labels), 1.0 / len(labels))
    return EmotionScores(
        probs={lab: round(float(x), 5) for lab, x in zip(labels, p, strict=True)},
        valence=None if math.isnan(valence) else round(valence, 5),
        arousal=None if math.isnan(arousal) else round(arousal, 5),
        model=model,
    )


def build_windows(
    grids: list[PersonGrid],
    labels: list[str],
    window_s: float,
    duration_s: float,
    combine: Combiner,
    fused_model: str,
) -> list[FusedWindow]:
    """FusedWindow records, sorted by time then person."""
    out: list[FusedWindow] = []
    for g in grids:
        for i in sorted(g.cells):
            cells = g.cells[i]
            start = i * window_s
            end = min(start + window_s, duration_s) if duration_s > start else start + window_s
            mods = {
                m: to_scores(c.probs, labels, c.valence, c.arousal, c.model) for m, c in cells.items()
            }
            fused = combine(cells)
            out.append(
                FusedWindow(
                    start_s=round(start, 6),
                    end_s=round(end, 6),
                    person_id=g.person_id,
                    modalities=mods,
                    fused=to_scores(fused[0], labels, fused[1], fused[2], fused_model) if fused else None,
                )
            )
    out.sort(key=lambda w: (w.start_s, w.person_id is None, str(w.person_id)))
    return out


def utterance_view(
    tl: Timeline,
    combine: Combiner,
    face_scores: str = "smoothed",
    link_single: bool = True,
) -> list[dict[str, object]]:
    """One row per utterance: each modality's label/confidence over its span, and the fusion."""
    obs = observations(tl, face_scores, link_single)
    index: dict[tuple[str | None, str], tuple[list[float], list[Observation], float]] = {}
    for o in sorted(obs, key=lambda o: o.start_s):
        starts, items, longest = index.get((o.person_id, o.modality), ([], [], 0.0))
        starts.append(o.start_s)
        items.append(o)
        index[(o.person_id, o.modality)] = (starts, items, max(longest, o.end_s - o.start_s))
    rows: list[dict[str, object]] = []
    for u, pid in zip(tl.utterances, utterance_persons(tl, link_single), strict=True):
        if u.end_s <= u.start_s:
            continue
        cells: dict[str, ModalityWindow] = {}
        for mod in MODALITIES:
            starts, all_items, longest = index.get((pid, mod), ([], [], 0.0))
            items = all_items[bisect.bisect_left(starts, u.start_s - longest) : bisect.bisect_left(starts, u.end_s)]
            if mod == "text":  # this utterance's own text score only
                items = [o for o in items if o.start_s == u.start_s and o.end_s == u.end_s]
            cell = aggregate(items, u.start_s, u.end_s)
            if cell is not None:
                cells[mod] = cell
        row: dict[str, object] = {
            "start_s": u.start_s,
            "end_s": u.end_s,
            "person_id": pid,
            "speaker_id": u.speaker_id,
            "text": u.translation or u.text,
        }
        for mod in MODALITIES:
            c = cells.get(mod)
            row[f"{mod}_emotion"] = tl.labels[int(np.argmax(c.probs))] if c else None
            row[f"{mod}_confidence"] = round(float(np.max(c.probs)), 4) if c else None
        fused = combine(cells)
        row["fused_emotion"] = tl.labels[int(np.argmax(fused[0]))] if fused else None
        row["fused_confidence"] = round(float(np.max(fused[0])), 4) if fused else None
        row["valence"] = None if not fused or math.isnan(fused[1]) else round(fused[1], 4)
        row["arousal"] = None if not fused or math.isnan(fused[2]) else round(fused[2], 4)
        rows.append(row)
    return rows

"""Per-person tables from the face observations: overall summary and per-second summary."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from emotrace.model import FaceObservation, Timeline


def _weight(f: FaceObservation) -> float:
    return max(f.quality or 0.0, 0.05)


def person_rows(tl: Timeline, step_s: float) -> list[dict[str, Any]]:
    """One row per person: time on screen, tracks, dominant emotion and emotion shares.

    Shares are the fraction of the person's observations whose (smoothed) label is each label.
    """
    faces: dict[str, list[FaceObservation]] = defaultdict(list)
    for f in tl.faces:
        if f.person_id is not None:
            faces[f.person_id].append(f)
    rows = []
    for p in tl.persons:
        fs = faces.get(p.id, [])
        scores = [f.smoothed or f.emotion for f in fs]
        labels = [s.label for s in scores if s is not None]
        row: dict[str, Any] = {
            "person_id": p.id,
            "first_s": p.first_s,
            "last_s": p.last_s,
            "seconds_on_screen": round(len(fs) * step_s, 2),
            "n_observations": len(fs),
            "n_tracks": len(p.track_ids),
            "mean_quality": round(float(np.mean([f.quality or 0.0 for f in fs])), 4) if fs else None,
        }
        row["dominant_emotion"] = max(set(labels), key=labels.count) if labels else None
        for lab in tl.labels:
            row[f"share_{lab}"] = round(labels.count(lab) / len(labels), 4) if labels else 0.0
        vals = [(s.valence, s.arousal) for s in scores if s is not None and s.valence is not None]
        row["mean_valence"] = round(float(np.mean([v for v, _ in vals])), 4) if vals else None
        row["mean_arousal"] = round(float(np.mean([a for _, a in vals if a is not None])), 4) if vals else None
        rows.append(row)
    return rows


def second_rows(tl: Timeline) -> list[dict[str, Any]]:
    """One row per (second, person): quality-weighted mean of the smoothed probabilities."""
    buckets: dict[tuple[int, str], list[FaceObservation]] = defaultdict(list)
    for f in tl.faces:
        if f.person_id is not None and (f.smoothed or f.emotion) is not None:
            buckets[(math.floor(f.time_s), f.person_id)].append(f)
    rows = []
    for (sec, pid), fs in sorted(buckets.items(), key=lambda kv: (kv[0][0], int(kv[0][1][1:]))):
        w = np.array([_weight(f) for f in fs])
        probs = {lab: float(np.dot(w, [(f.smoothed or f.emotion).probs[lab] for f in fs]) / w.sum()) for lab in tl.labels}  # type: ignore[union-attr]  # faces without emotion scores are filtered out above
        label = max(probs, key=probs.__getitem__)
        val = [(f.smoothed or f.emotion).valence for f in fs]  # type: ignore[union-attr]  # faces without emotion scores are filtered out above
        aro = [(f.smoothed or f.emotion).arousal for f in fs]  # type: ignore[union-attr]  # faces without emotion scores are filtered out above
        row: dict[str, Any] = {"second": sec, "person_id": pid, "emotion": label, "confidence": round(probs[label], 4)}
        row.update({lab: round(v, 4) for lab, v in probs.items()})
        row["valence"] = round(float(np.dot(w, [v or 0.0 for v in val]) / w.sum()), 4)
        row["arousal"] = round(float(np.dot(w, [a or 0.0 for a in aro]) / w.sum()), 4)
        row["n_faces"] = len(fs)
        row["mean_quality"] = round(float(np.mean([f.quality or 0.0 for f in fs])), 4)
        rows.append(row)
    return rows

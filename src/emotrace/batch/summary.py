"""Per-video, per-person and per-window summary rows of a timeline, for the corpus index.

Shares are time-weighted over the fused windows (a window's emotion is its dominant label);
windows without fused scores fall back to their only modality.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from emotrace.model import EmotionScores, FusedWindow, Timeline

Row = dict[str, Any]


def _scores(w: FusedWindow) -> EmotionScores | None:
    if w.fused is not None:
        return w.fused
    return next(iter(w.modalities.values()), None)


def _aggregate(rows: list[Row], labels: list[str]) -> Row:
    """Time-weighted shares of dominant emotions and mean valence/arousal over window rows."""
    total = sum(r["end_s"] - r["start_s"] for r in rows)
    shares = dict.fromkeys(labels, 0.0)
    v = a = 0.0
    for r in rows:
        dt = r["end_s"] - r["start_s"]
        shares[r["emotion"]] = shares.get(r["emotion"], 0.0) + dt
        v += dt * (r["valence"] or 0.0)
        a += dt * (r["arousal"] or 0.0)
    out: Row = {"n_windows": len(rows), "covered_s": round(total, 4)}
    if total > 0:
        out["dominant_emotion"] = max(shares, key=shares.__getitem__)
        out.update({f"share_{k}": round(x / total, 5) for k, x in shares.items()})
        out["mean_valence"] = round(v / total, 5)
        out["mean_arousal"] = round(a / total, 5)
    else:
        out["dominant_emotion"] = None
        out.update({f"share_{k}": None for k in shares})
        out["mean_valence"] = out["mean_arousal"] = None
    return out


def summarize(timeline: Timeline, video: str) -> dict[str, list[Row]]:
    """Rows for the ``videos``, ``persons`` and ``windows`` tables of one result named ``video``."""
    labels = list(timeline.labels)
    windows: list[Row] = []
    for w in timeline.windows:
        sc = _scores(w)
        if sc is None or w.end_s <= w.start_s:
            continue
        row: Row = {
            "video": video,
            "person_id": w.person_id,
            "start_s": w.start_s,
            "end_s": w.end_s,
            "emotion": sc.label,
            "confidence": round(sc.confidence, 5),
            "valence": sc.valence,
            "arousal": sc.arousal,
        }
        row.update({f"p_{k}": sc.probs.get(k, 0.0) for k in labels})
        windows.append(row)

    by_person: dict[str, list[Row]] = defaultdict(list)
    for r in windows:
        if r["person_id"] is not None:
            by_person[r["person_id"]].append(r)
    known = {p.id: p for p in timeline.persons}
    persons: list[Row] = []
    for pid in sorted(set(by_person) | set(known)):
        p = known.get(pid)
        row = {
            "video": video,
            "person_id": pid,
            "speaker_id": p.speaker_id if p else None,
            "first_s": p.first_s if p else min(r["start_s"] for r in by_person[pid]),
            "last_s": p.last_s if p else max(r["end_s"] for r in by_person[pid]),
        }
        row.update(_aggregate(by_person.get(pid, []), labels))
        persons.append(row)

    speakers = {s.speaker_id for s in timeline.speech if s.speaker_id}
    vrow: Row = {
        "video": video,
        "path": timeline.video.path,
        "duration_s": timeline.video.duration_s,
        "has_video": timeline.video.has_video,
        "has_audio": timeline.video.has_audio,
        "n_persons": len(timeline.persons),
        "n_speakers": len(speakers),
        "n_utterances": len(timeline.utterances),
    }
    vrow.update(_aggregate(windows, labels))
    return {"videos": [vrow], "persons": persons, "windows": windows}

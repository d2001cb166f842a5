"""Flat pandas views of a :class:`~emotrace.model.Timeline` (what ``tables/*.csv`` hold)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from emotrace.model import EmotionScores, Timeline

RECORD_KINDS = (
    "faces",
    "persons",
    "speech",
    "words",
    "utterances",
    "windows",
    "intervals",
    "shots",
    "keyframes",
    "highlights",
)


def _scores(prefix: str, s: EmotionScores | None, labels: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {f"{prefix}emotion": None}
    for lab in labels:
        row[f"{prefix}{lab}"] = None
    row[f"{prefix}valence"] = None
    row[f"{prefix}arousal"] = None
    if s is not None and s.probs:
        row[f"{prefix}emotion"] = s.label
        for lab in labels:
            row[f"{prefix}{lab}"] = s.probs.get(lab)
        row[f"{prefix}valence"] = s.valence
        row[f"{prefix}arousal"] = s.arousal
    return row


def faces_frame(tl: Timeline) -> pd.DataFrame:
    rows = []
    for f in tl.faces:
        best = f.smoothed or f.emotion
        row: dict[str, Any] = {
            "time_s": f.time_s,
            "person_id": f.person_id,
            "track_id": f.track_id,
            "x": f.bbox.x,
            "y": f.bbox.y,
            "w": f.bbox.w,
            "h": f.bbox.h,
            "det_score": f.det_score,
            "quality": f.quality,
        }
        row.update(_scores("", best, tl.labels))
        if f.smoothed is not None and f.emotion is not None:
            row["raw_emotion"] = f.emotion.label
        if f.head_pose is not None:
            row["yaw"], row["pitch"], row["roll"] = f.head_pose
        if f.aus:
            row.update(f.aus)  # au01, au02, ... (derived action units)
        rows.append(row)
    cols = ["time_s", "person_id", "x", "y", "w", "h", "emotion", *tl.labels, "valence", "arousal"]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=cols)
    rest = [c for c in df.columns if c not in cols]
    return df[cols + rest]


def _segments(records: list[Any], labels: list[str], extra: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for r in records:
        row = {k: getattr(r, k) for k in extra}
        row.update(_scores("", r.emotion, labels))
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else [*extra, "emotion", *labels, "valence", "arousal"])


def windows_frame(tl: Timeline) -> pd.DataFrame:
    rows = []
    for w in tl.windows:
        row: dict[str, Any] = {"start_s": w.start_s, "end_s": w.end_s, "person_id": w.person_id}
        row.update(_scores("", w.fused, tl.labels))
        for mod, s in sorted(w.modalities.items()):
            row[f"{mod}_emotion"] = s.label
            row[f"{mod}_confidence"] = s.confidence
            row[f"{mod}_valence"] = s.valence
            row[f"{mod}_arousal"] = s.arousal
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["start_s", "end_s", "person_id", "emotion", *tl.labels, "valence", "arousal"])
    return pd.DataFrame(rows)


def _plain(records: list[Any], columns: list[str]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame([r.model_dump(mode="json") for r in records])


def dataframe(tl: Timeline, kind: str) -> pd.DataFrame:
    """The flat table ``kind`` (a record list name or a key of ``tl.tables``)."""
    if kind == "faces":
        return faces_frame(tl)
    if kind == "speech":
        return _segments(tl.speech, tl.labels, ("start_s", "end_s", "speaker_id", "person_id"))
    if kind == "utterances":
        df = _segments(
            tl.utterances, tl.labels, ("start_s", "end_s", "speaker_id", "person_id", "language", "route", "text")
        )
        return df
    if kind == "windows":
        return windows_frame(tl)
    if kind == "intervals":
        cols = ["person_id", "modality", "start_s", "end_s", "emotion", "confidence"]
        if not tl.intervals:
            return pd.DataFrame(columns=[*cols, "duration_s"])
        rows = []
        for iv in tl.intervals:
            row: dict[str, Any] = {c: getattr(iv, c) for c in cols}
            row["duration_s"] = round(iv.end_s - iv.start_s, 6)
            for mod, lab in (iv.predictions or {}).items():
                row[f"{mod}_prediction"] = lab
            rows.append(row)
        return pd.DataFrame(rows)
    if kind == "words":
        return _plain(tl.words, ["start_s", "end_s", "text", "probability", "speaker_id"])
    if kind == "persons":
        return _plain(tl.persons, ["id", "first_s", "last_s", "n_observations"])
    if kind == "shots":
        return _plain(tl.shots, ["index", "start_s", "end_s"])
    if kind == "keyframes":
        df = _plain(tl.keyframes, ["shot_index", "time_s", "path", "reason", "score"])
        if "description" in df.columns:
            df["description"] = df["description"].map(lambda d: None if d is None else str(d))
        return df
    if kind == "highlights":
        return _plain(tl.highlights, ["start_s", "end_s", "score", "person_id", "reason", "clip"])
    if kind in tl.tables:
        return pd.DataFrame(tl.tables[kind])
    known = ", ".join([*RECORD_KINDS, *tl.tables])
    raise KeyError(f"no table {kind!r}; known: {known}")

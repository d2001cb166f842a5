"""The compact JSON the viewer draws: per-person tracks, highlights, keyframes, transcript, downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emotrace.model import Timeline
from emotrace.report.series import emotion_series, label_colour, speaker_key

DOWNLOAD_PATTERNS = ("report.html", "timeline.json", "events.json", "transcript.srt", "transcript.vtt",
                     "annotations.eaf", "annotated.mp4", "config.toml", "tables/*.csv", "tables/*.parquet",
                     "highlights/*.mp4")


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def viewer_payload(tl: Timeline, result_dir: Path, files_url: str) -> dict[str, Any]:
    """Everything the viewer page needs, in plain JSON types."""
    persons = []
    for person, ps in emotion_series(tl).items():
        tracks = {
            mod: [[_r(p.start_s), _r(p.end_s), p.scores.label, _r(p.scores.confidence), _r(p.scores.valence),
                   _r(p.scores.arousal)] for p in pts]
            for mod, pts in ps.modalities.items()
        }
        persons.append({"id": person, "tracks": tracks})
    downloads = []
    for pattern in DOWNLOAD_PATTERNS:
        for f in sorted(result_dir.glob(pattern)):
            if f.is_file():
                rel = f.relative_to(result_dir).as_posix()
                downloads.append({"name": rel, "url": f"{files_url}/{rel}", "bytes": f.stat().st_size})
    return {
        "video": Path(tl.video.path).name,
        "duration": tl.video.duration_s,
        "labels": tl.labels,
        "colours": {lab: label_colour(lab, tl.labels) for lab in tl.labels},
        "persons": persons,
        "highlights": [
            {"start": h.start_s, "end": h.end_s, "score": _r(h.score), "person": h.person_id, "reason": h.reason}
            for h in tl.highlights
        ],
        "keyframes": [
            {"time": k.time_s, "url": f"{files_url}/{k.path}" if k.path else None, "reason": k.reason,
             "description": k.description}
            for k in tl.keyframes
        ],
        "utterances": [
            {"start": u.start_s, "end": u.end_s, "text": u.text, "who": speaker_key(tl, u.person_id, u.speaker_id),
             "emotion": u.emotion.label if u.emotion and u.emotion.probs else None}
            for u in tl.utterances
        ],
        "warnings": tl.provenance.warnings,
        "downloads": downloads,
    }

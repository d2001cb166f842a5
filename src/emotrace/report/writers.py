"""Writers: every output format is produced from the Timeline alone.

``write_all`` is called by the runner on a temporary folder that is renamed into place at
the end, so a result folder is either complete or absent. Writers are looked up by name in
:data:`WRITERS`; formats whose module is missing are reported once, never a crash.
"""

from __future__ import annotations

import importlib
import json
import math
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emotrace.model import Timeline
from emotrace.report.tables import RECORD_KINDS, dataframe

Writer = Callable[[Timeline, Path, "Path | None"], None]


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(tl: Timeline, out: Path, video: Path | None = None) -> None:
    write_text_atomic(out / "timeline.json", tl.to_json())
    from emotrace.config import Config, dump_toml

    try:
        cfg = Config.model_validate(tl.provenance.config)
        write_text_atomic(out / "config.toml", dump_toml(cfg))
    except Exception:  # noqa: BLE001, S110 - a config from a newer version still leaves timeline.json complete
        pass


def _mean_probs(items: list[tuple[dict[str, float], float]]) -> tuple[str, float] | None:
    acc: dict[str, float] = defaultdict(float)
    wsum = 0.0
    for probs, w in items:
        for k, v in probs.items():
            acc[k] += v * w
        wsum += w
    if wsum <= 0:
        return None
    lab = max(acc, key=acc.__getitem__)
    return lab, acc[lab] / wsum


def emotion_events(tl: Timeline) -> list[dict[str, Any]]:
    """One event per person, modality and second.

    Fused windows are used when the fusion stage ran; otherwise per-second averages of the
    raw modality records (faces, speech segments, utterances).
    """
    events: list[dict[str, Any]] = []

    def add(sec: float, person: str | None, modality: str, label: str, conf: float) -> None:
        events.append(
            {
                "type": "emotion",
                "class": label,
                "seconds": round(float(sec), 3),
                "object": {"person": person, "modality": modality, "confidence": round(float(conf), 4)},
            }
        )

    if tl.windows:
        for w in tl.windows:
            for mod, s in sorted(w.modalities.items()):
                add(w.start_s, w.person_id, mod, s.label, s.confidence)
            if w.fused is not None:
                add(w.start_s, w.person_id, "fused", w.fused.label, w.fused.confidence)
        return sorted(events, key=lambda e: (e["seconds"], str(e["object"]["person"]), e["object"]["modality"]))

    buckets: dict[tuple[int, str | None, str], list[tuple[dict[str, float], float]]] = defaultdict(list)
    for f in tl.faces:
        fs = f.smoothed or f.emotion
        if fs is not None:
            buckets[(math.floor(f.time_s), f.person_id, "face")].append((fs.probs, f.quality or 1.0))
    for modality, segs in (("voice", tl.speech), ("text", tl.utterances)):
        for seg in segs:
            if seg.emotion is None:
                continue
            person = seg.person_id or seg.speaker_id
            for sec in range(math.floor(seg.start_s), math.ceil(seg.end_s)):
                overlap = min(seg.end_s, sec + 1) - max(seg.start_s, sec)
                if overlap > 0:
                    buckets[(sec, person, modality)].append((seg.emotion.probs, overlap))
    for (sec, person, modality), items in sorted(buckets.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2])):
        m = _mean_probs(items)
        if m:
            add(sec, person, modality, m[0], m[1])
    return events


def write_events(tl: Timeline, out: Path, video: Path | None = None) -> None:
    write_text_atomic(out / "events.json", json.dumps(emotion_events(tl), indent=1))


def _tables(tl: Timeline) -> dict[str, Any]:
    names = ["faces", "intervals"]
    for kind in RECORD_KINDS:
        if kind not in names and getattr(tl, kind):
            names.append(kind)
    names += [k for k in tl.tables if k not in names]
    return {name: dataframe(tl, name) for name in names}


def write_csv(tl: Timeline, out: Path, video: Path | None = None) -> None:
    d = out / "tables"
    d.mkdir(exist_ok=True)
    for name, df in _tables(tl).items():
        df.to_csv(d / f"{name}.csv", index=False, float_format="%.6g")


def write_parquet(tl: Timeline, out: Path, video: Path | None = None) -> None:
    d = out / "tables"
    d.mkdir(exist_ok=True)
    for name, df in _tables(tl).items():
        df = df.copy()
        for col in df.columns:  # mixed-type object columns are stored as text
            if df[col].dtype == object:
                df[col] = df[col].map(lambda v: v if v is None or isinstance(v, str) else json.dumps(v))
        df.to_parquet(d / f"{name}.parquet", index=False)


WRITERS: dict[str, Writer] = {
    "json": write_json,
    "events": write_events,
    "csv": write_csv,
    "parquet": write_parquet,
}

# formats implemented in other modules: name -> "module:function"
LAZY_WRITERS: dict[str, str] = {
    "srt": "emotrace.report.subtitles:write_srt",
    "vtt": "emotrace.report.subtitles:write_vtt",
    "eaf": "emotrace.report.elan:write_eaf",
    "html": "emotrace.report.html:write_html",
    "video": "emotrace.report.annotate:write_annotated_video",
}


def get_writer(name: str) -> Writer | None:
    if name in WRITERS:
        return WRITERS[name]
    target = LAZY_WRITERS.get(name)
    if target is None:
        return None
    mod, fn = target.split(":")
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError):
        return None


def write_all(tl: Timeline, out: Path, formats: list[str], video: Path | None = None) -> list[str]:
    """Run each writer in ``formats`` (json always first); returns what was written."""
    done = []
    order = ["json", *[f for f in formats if f != "json"]]
    for fmt in order:
        w = get_writer(fmt)
        if w is None:
            tl.provenance.warnings.append(f"output format {fmt!r} is not available in this installation")
            continue
        if fmt == "json":
            w(tl, out, video)  # the result itself: a failure here is a real error
        else:
            try:
                w(tl, out, video)
            except Exception as e:  # noqa: BLE001 - an output step must not throw the analysis away
                msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
                tl.provenance.warnings.append(f"output {fmt!r} not written: {type(e).__name__}: {msg}"[:300])
                continue
        done.append(fmt)
    # warnings may have grown: rewrite the timeline last so it is complete
    write_json(tl, out, video)
    return done

"""`emotrace analyze` end to end on a real CREMA-D clip (face + speech), through the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from emotrace.model import Timeline, schema_path

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(tmp_path_factory, crema_d) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("analyze") / "hap"
    exe = REPO / ".venv" / "bin" / "emotrace"
    proc = subprocess.run(
        [str(exe), "analyze", str(crema_d / "1001_DFA_HAP_XX.flv"), "-o", str(out)],
        check=False, capture_output=True, text=True, timeout=900,
    )
    return out, proc


def test_exit_and_summary(result):
    out, proc = result
    assert proc.returncode == 0, proc.stderr
    assert f"timeline: {out / 'timeline.json'}" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_timeline_valid_and_round_trips(result):
    out, _ = result
    text = (out / "timeline.json").read_text()
    jsonschema.validate(json.loads(text), json.loads(schema_path().read_text()))
    tl = Timeline.from_json(text)
    assert Timeline.from_json(tl.to_json()) == tl
    assert tl.video.has_video and tl.video.has_audio and 1.5 < tl.video.duration_s < 3.0
    # one real person, seen in most sampled frames, with expression scores
    assert [p.id for p in tl.persons] == ["P1"]
    sampled = tl.video.duration_s * tl.provenance.config["fps"]
    assert len(tl.faces) >= 0.8 * sampled
    assert all(f.emotion is not None and abs(sum(f.emotion.probs.values()) - 1) < 1e-3 for f in tl.faces)
    # provenance: models with digests and per-stage timings
    assert tl.provenance.models and all(m.sha256 or m.source == "derived" for m in tl.provenance.models)
    ran = {s.name for s in tl.provenance.stages if s.status == "ok"}
    assert {"faces", "total"} <= ran


def test_events_one_per_person_modality_second(result):
    out, _ = result
    events = json.loads((out / "events.json").read_text())
    assert events, "no events"
    keys = set()
    for e in events:
        assert e["type"] == "emotion"
        assert e["class"] in {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
        assert set(e["object"]) == {"person", "modality", "confidence"}
        assert 0.0 <= e["object"]["confidence"] <= 1.0
        k = (e["object"]["person"], e["object"]["modality"], e["seconds"])
        assert k not in keys, f"duplicate event {k}"
        keys.add(k)
    face_secs = {s for p, m, s in keys if m == "face" and p == "P1"}
    assert face_secs >= {0.0, 1.0}


def test_tables(result):
    out, _ = result
    faces = pd.read_csv(out / "tables" / "faces.csv")
    labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert list(faces.columns[:7 + len(labels) + 2]) == [
        "time_s", "person_id", "x", "y", "w", "h", "emotion", *labels, "valence", "arousal"
    ]
    assert (faces[labels].sum(axis=1) - 1).abs().max() < 1e-3
    assert faces["w"].min() > 20 and (faces["x"] >= 0).all()
    intervals = pd.read_csv(out / "tables" / "intervals.csv")
    assert list(intervals.columns[:6]) == ["person_id", "modality", "start_s", "end_s", "emotion", "confidence"]
    assert len(intervals) >= 1 and (intervals["end_s"] > intervals["start_s"]).all()

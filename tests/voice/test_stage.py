"""The voice stage end to end on real and generated media, including bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from emotrace.config import Config
from emotrace.labels import CANONICAL
from emotrace.pipeline import analyze

pytestmark = pytest.mark.slow


def test_crema_d_clip_speech_emotion(voice_config: Callable[..., Config], crema_d: Path) -> None:
    tl = analyze(crema_d / "1001_DFA_ANG_XX.flv", config=voice_config())
    assert len(tl.speech) == 1
    seg = tl.speech[0]
    assert 0.0 <= seg.start_s < 0.8 and 1.5 < seg.end_s <= tl.video.duration_s + 0.05
    assert seg.speaker_id == "S1" and seg.speaker_confidence is not None
    assert seg.emotion is not None and set(seg.emotion.probs) == set(CANONICAL)
    assert abs(sum(seg.emotion.probs.values()) - 1) < 1e-3
    assert seg.emotion.model == "emotrace-voice-emotion"
    assert seg.emotion.arousal is not None and seg.emotion.valence is not None
    assert any(m.name == "emotrace-voice-emotion" for m in tl.provenance.models)


def test_angry_louder_than_sad_in_arousal(voice_config: Callable[..., Config], crema_d: Path) -> None:
    ang = analyze(crema_d / "1001_DFA_ANG_XX.flv", config=voice_config(speakers=False)).speech[0]
    sad = analyze(crema_d / "1001_DFA_SAD_XX.flv", config=voice_config(speakers=False)).speech[0]
    assert ang.emotion is not None and sad.emotion is not None
    assert ang.emotion.arousal > sad.emotion.arousal  # type: ignore[operator]


def test_long_turn_split_into_windows(
    voice_config: Callable[..., Config], tmp_path: Path, ravdess: Path
) -> None:
    from emotrace.voice.testdata import concat_clips

    clips = sorted((ravdess / "Actor_05").glob("*.flac"))[:12]
    concat_clips(clips, ["05"] * len(clips), tmp_path / "turn.wav", gap_s=0.05)
    tl = analyze(tmp_path / "turn.wav", config=voice_config())
    assert len(tl.speech) >= 4
    assert all(s.end_s - s.start_s <= 6.01 for s in tl.speech)
    assert {s.speaker_id for s in tl.speech} == {"S1"}
    assert all(s.emotion is not None for s in tl.speech)


def test_silence_gives_no_segments(voice_config: Callable[..., Config], bad_audio: dict[str, Path]) -> None:
    tl = analyze(bad_audio["silence"], config=voice_config())
    assert tl.speech == []
    assert "voice: no speech detected" in tl.provenance.warnings


def test_music_only_little_or_no_speech(
    voice_config: Callable[..., Config], bad_audio: dict[str, Path]
) -> None:
    tl = analyze(bad_audio["music"], config=voice_config())
    speech_s = sum(s.end_s - s.start_s for s in tl.speech)
    assert speech_s < 0.25 * tl.video.duration_s


@pytest.mark.parametrize("kind", ["clipped", "telephone", "surround"])
def test_degraded_speech_still_analysed(
    voice_config: Callable[..., Config], bad_audio: dict[str, Path], kind: str
) -> None:
    tl = analyze(bad_audio[kind], config=voice_config())
    assert tl.speech, kind
    speech_s = sum(s.end_s - s.start_s for s in tl.speech)
    assert speech_s > 1.5
    for s in tl.speech:
        assert s.emotion is not None
        assert all(0.0 <= p <= 1.0 for p in s.emotion.probs.values())


def test_surround_input_is_six_channels(bad_audio: dict[str, Path]) -> None:
    from emotrace.io.media import probe

    assert probe(bad_audio["surround"]).audio_channels == 6
    assert probe(bad_audio["telephone"]).audio_sample_rate == 8000


def test_encoder_states_shared(voice_config: Callable[..., Config], crema_d: Path) -> None:
    from emotrace.io.media import probe
    from emotrace.pipeline import Context, new_timeline, plan_stages, run_pipeline

    path = crema_d / "1001_DFA_NEU_XX.flv"
    cfg: Config = voice_config(cache_encoder_until_s=600.0)
    info = probe(path)
    tl = new_timeline(info, cfg)
    ctx = Context(path, info, cfg, tl, None, lambda *a, **k: None)
    run_pipeline(ctx, plan_stages(cfg, info, tl))
    from emotrace.stage import ENCODER_STATES

    cache = ctx.get(ENCODER_STATES)
    assert cache is not None
    seg = tl.speech[0]
    states = cache[(seg.start_s, seg.end_s)]
    assert states.ndim == 2 and states.shape[1] == 512
    assert abs(states.shape[0] - (seg.end_s - seg.start_s) * 50) <= 2  # 50 encoder frames per second


def test_missing_emotion_model_keeps_speech_and_speakers(
    voice_config: Callable[..., Config], crema_d: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from emotrace.models import assets

    monkeypatch.setitem(assets._USER_PATHS, "emotrace-voice-emotion", tmp_path / "missing.npz")
    monkeypatch.setattr(assets, "_RESOLVED", {})  # resolved during the test only: the real cache comes back
    tl = analyze(crema_d / "1001_DFA_SAD_XX.flv", config=voice_config())
    assert len(tl.speech) == 1 and tl.speech[0].speaker_id == "S1" and tl.speech[0].emotion is None
    assert any(w.startswith("voice: speech emotion off") for w in tl.provenance.warnings)

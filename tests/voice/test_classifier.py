"""The portable classifier: npz round trip, calibration and per-speaker head selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emotrace.models.assets import resolve
from emotrace.voice.classifier import MIN_SPEAKER_WINDOWS, VoiceEmotionModel, speaker_normalise


def test_shipped_model_round_trip(tmp_path: Path) -> None:
    m = VoiceEmotionModel.load(resolve("emotrace-voice-emotion").path)
    assert m.labels == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "calm"]
    assert m.spk.coef.shape == m.glob.coef.shape == (8, 1040)
    assert 0.2 < m.spk.temperature < 5 and 0.2 < m.glob.temperature < 5
    m.save(tmp_path / "m.npz")
    again = VoiceEmotionModel.load(tmp_path / "m.npz")
    x = np.random.default_rng(0).standard_normal((3, 1040)).astype(np.float32) * m.glob.scale + m.glob.mean
    assert np.allclose(again.predict(x), m.predict(x), atol=1e-5)
    assert np.allclose(m.predict(x).sum(axis=1), 1.0, atol=1e-5)


def test_speaker_head_only_with_enough_windows() -> None:
    m = VoiceEmotionModel.load(resolve("emotrace-voice-emotion").path)
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((MIN_SPEAKER_WINDOWS + 2, 1040)) * m.glob.scale + m.glob.mean).astype(np.float32)
    speakers = ["S1"] * MIN_SPEAKER_WINDOWS + ["S2", "S2"]
    p = m.predict(x, speakers)
    assert np.allclose(p[-2:], m.glob.proba(x[-2:]))  # S2: too few windows, global head
    spk = m.spk.proba(speaker_normalise(x[:MIN_SPEAKER_WINDOWS]))
    assert np.allclose(p[:MIN_SPEAKER_WINDOWS], spk)

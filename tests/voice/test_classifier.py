"""The portable classifiers: the npz logistic-regression format and the shipped ONNX attention model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotrace.models.assets import resolve
from emotrace.voice.classifier import (
    MIN_SPEAKER_WINDOWS,
    Head,
    VoiceEmotionModel,
    VoiceEmotionNet,
    speaker_normalise,
)
from emotrace.voice.crosscorpus import LABELS


def _model(rng: np.random.Generator, d: int = 24) -> VoiceEmotionModel:
    def head() -> Head:
        return Head(
            rng.standard_normal(d).astype(np.float32),
            rng.uniform(0.5, 2, d).astype(np.float32),
            rng.standard_normal((4, d)).astype(np.float32),
            rng.standard_normal(4).astype(np.float32),
            float(rng.uniform(0.5, 2)),
        )

    return VoiceEmotionModel(labels=["angry", "happy", "sad", "neutral"], spk=head(), glob=head())


def test_npz_round_trip(tmp_path: Path) -> None:
    m = _model(np.random.default_rng(0))
    m.save(tmp_path / "m.npz")
    again = VoiceEmotionModel.load(tmp_path / "m.npz")
    assert again.labels == m.labels and again.glob.temperature == pytest.approx(m.glob.temperature)
    assert again.encoder == "whisper-base"  # the default: the whole encoder
    m.encoder = "whisper-base-l3"
    m.save(tmp_path / "cut.npz")
    assert VoiceEmotionModel.load(tmp_path / "cut.npz").encoder == "whisper-base-l3"
    x = np.random.default_rng(1).standard_normal((3, 24)).astype(np.float32)
    assert np.allclose(again.predict(x), m.predict(x), atol=1e-5)
    assert np.allclose(m.predict(x).sum(axis=1), 1.0, atol=1e-5)


def test_speaker_head_only_with_enough_windows() -> None:
    m = _model(np.random.default_rng(2))
    x = np.random.default_rng(3).standard_normal((MIN_SPEAKER_WINDOWS + 2, 24)).astype(np.float32)
    speakers = ["S1"] * MIN_SPEAKER_WINDOWS + ["S2", "S2"]
    p = m.predict(x, speakers)
    assert np.allclose(p[-2:], m.glob.proba(x[-2:]))  # S2: too few windows, global head
    assert np.allclose(p[:MIN_SPEAKER_WINDOWS], m.spk.proba(speaker_normalise(x[:MIN_SPEAKER_WINDOWS])))


def test_shipped_onnx_model() -> None:
    res = resolve("emotrace-voice-emotion")
    assert res.path.suffix == ".onnx" and res.sha256 == res.spec.sha256  # type: ignore[union-attr]
    net = VoiceEmotionNet(res.path)
    assert net.labels == [lab for lab in LABELS if lab != "calm"]
    assert all(0.2 < t < 5 for t in net.temperature)
    rng = np.random.default_rng(4)
    states = [rng.standard_normal((n, 512)).astype(np.float32) for n in (50, 80, 120)]
    prosody = rng.standard_normal((3, 16)).astype(np.float32)
    p = net.predict_states(states, prosody)
    assert p.shape == (3, len(net.labels)) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)
    # a window is scored on its own frames: padding a batch with longer windows does not change it
    alone = net.predict_states(states[:1], prosody[:1])
    assert np.allclose(alone[0], p[0], atol=1e-4)

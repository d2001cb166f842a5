"""Speaker embeddings (GE2E ONNX) and diarization error rate on real and generated conversations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from emotrace.config import Config
from emotrace.io.media import load_audio
from emotrace.models.assets import resolve
from emotrace.pipeline import analyze
from emotrace.voice.der import diarization_error_rate
from emotrace.voice.speakers import SpeakerEncoder, cluster_speakers, mel_spectrogram
from emotrace.voice.testdata import concat_clips, espeak_conversation
from emotrace.voice.vad import trim_to_speech


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    return SpeakerEncoder(resolve("resemblyzer-ge2e").path)


def test_mel_front_end_shape_and_energy() -> None:
    t = np.arange(16000) / 16000
    mel = mel_spectrogram((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32))
    assert mel.shape == (101, 40)
    band = mel[50].argmax()
    # 1 kHz is 15 of 45.25 Slaney mels (8 kHz): centre of band 15 / (45.25 / 41) - 1 = 12.6
    assert band in (12, 13)


def test_same_speaker_closer_than_different(encoder: SpeakerEncoder, ravdess: Path) -> None:
    def emb(actor: str, k: int) -> np.ndarray:
        clip = sorted((ravdess / f"Actor_{actor}").glob("*.flac"))[k]
        return encoder.embed(trim_to_speech(load_audio(clip)))

    a1, a2, b1 = emb("01", 0), emb("01", 2), emb("02", 0)
    assert abs(np.linalg.norm(a1) - 1) < 1e-4
    assert a1 @ a2 > a1 @ b1 + 0.1


def test_clustering_counts() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 256))
    rows = np.concatenate([c + 0.3 * rng.standard_normal((6, 256)) for c in centres])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    labels, conf = cluster_speakers(rows)
    assert labels == [0] * 6 + [1] * 6 + [2] * 6
    assert min(conf) > 0.9
    one, _ = cluster_speakers(rows[:6])
    assert set(one) == {0}


def _der(
    voice_config: Callable[..., Config], wav: Path, ref: list[tuple[float, float, str]]
) -> tuple[dict[str, float], int]:
    tl = analyze(wav, config=voice_config(emotion=False))
    hyp = [(s.start_s, s.end_s, s.speaker_id or "?") for s in tl.speech]
    assert next(s.speaker_id for s in tl.speech) == "S1"
    return diarization_error_rate(ref, hyp, collar=0.25), len({h[2] for h in hyp})


@pytest.mark.slow
def test_der_espeak_conversation(voice_config: Callable[..., Config], tmp_path: Path) -> None:
    ref = espeak_conversation(tmp_path / "conv.wav")
    der, n = _der(voice_config, tmp_path / "conv.wav", ref)
    assert n == 2
    assert der["der"] < 0.10, der


@pytest.mark.slow
@pytest.mark.parametrize(("actors", "limit"), [(("01", "02"), 0.15), (("13", "15", "16"), 0.30)])
def test_der_ravdess_actors(
    voice_config: Callable[..., Config], tmp_path: Path, ravdess: Path, actors: tuple[str, ...], limit: float
) -> None:
    paths, speakers = [], []
    for i in range(16):
        a = actors[i % len(actors)]
        paths.append(sorted((ravdess / f"Actor_{a}").glob("*.flac"))[(i * 7 + 3) % 60])
        speakers.append(a)
    ref = concat_clips(paths, speakers, tmp_path / "mix.wav")
    der, n = _der(voice_config, tmp_path / "mix.wav", ref)
    assert n == len(actors)
    assert der["der"] < limit, der

"""The cut Whisper encoder (``whisper-base-l3``) returns block 3 of the real encoder.

The reference is an independent float32 numpy implementation of Whisper's encoder (two GELU
convolutions, sinusoidal positions, pre-norm blocks, final layer norm) over the weights read
from the same CTranslate2 file. Run on espeak-ng speech.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import erf

from emotrace.errors import InputError
from emotrace.io.media import load_audio
from emotrace.models.assets import resolve
from emotrace.models.whisper import DEFAULT_ENCODER_DEPTH, encoder_model
from emotrace.voice.encoder import encode_audio, normalise_level
from emotrace.voice.whisper_layers import read_ct2_variables, truncate_encoder


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _norm(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * g + b


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    xp = np.pad(x, ((1, 1), (0, 0)))
    n = (len(xp) - 3) // stride + 1
    return sum(xp[k : k + stride * (n - 1) + 1 : stride] @ w[:, :, k].T for k in range(3)) + b


def reference_encoder(v: dict[str, np.ndarray], mel: np.ndarray, blocks: int) -> np.ndarray:
    """Whisper's encoder through ``blocks`` blocks, then its final layer norm."""
    x = _gelu(_conv(mel.T.astype(np.float64), v["conv1/weight"], v["conv1/bias"], 1))
    x = _gelu(_conv(x, v["conv2/weight"], v["conv2/bias"], 2))
    x = x + v["position_encodings/encodings"][: len(x)]
    t, d = x.shape
    h = int(v["num_heads"])
    for i in range(blocks):
        p = f"layer_{i}/"
        a = _norm(x, v[p + "self_attention/layer_norm/gamma"], v[p + "self_attention/layer_norm/beta"])
        qkv = a @ v[p + "self_attention/linear_0/weight"].T + v[p + "self_attention/linear_0/bias"]
        q, k, val = (m.reshape(t, h, d // h).transpose(1, 0, 2) for m in np.split(qkv, 3, axis=1))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(d // h)
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = ((s / s.sum(-1, keepdims=True)) @ val).transpose(1, 0, 2).reshape(t, d)
        x = x + ctx @ v[p + "self_attention/linear_1/weight"].T + v[p + "self_attention/linear_1/bias"]
        f = _norm(x, v[p + "ffn/layer_norm/gamma"], v[p + "ffn/layer_norm/beta"])
        x = (
            x
            + _gelu(f @ v[p + "ffn/linear_0/weight"].T + v[p + "ffn/linear_0/bias"])
            @ v[p + "ffn/linear_1/weight"].T
            + v[p + "ffn/linear_1/bias"]
        )
    return _norm(x, v["layer_norm/gamma"], v["layer_norm/beta"])


@pytest.fixture(scope="module")
def speech(speech_wav: Path) -> np.ndarray:
    return normalise_level(load_audio(speech_wav)[: 16000 * 4])


def test_the_cut_encoder_returns_block_k_of_whisper(speech: np.ndarray) -> None:
    from faster_whisper import WhisperModel

    full = resolve("whisper-base").path
    cut = resolve(encoder_model(DEFAULT_ENCODER_DEPTH)).path
    assert cut != full and (cut / "model.bin").stat().st_size < (full / "model.bin").stat().st_size
    v = {
        k: a.astype(np.float64) if a.dtype.kind == "f" else a
        for k, a in read_ct2_variables(full / "model.bin").items()
    }
    m = WhisperModel(str(cut), device="cpu", compute_type="float32", cpu_threads=2, local_files_only=True)
    got = encode_audio(m, speech)
    mel = m.feature_extractor(speech)
    want = reference_encoder(v, mel[:, : mel.shape[1] // 2 * 2], DEFAULT_ENCODER_DEPTH)
    assert got.shape == want.shape == (mel.shape[1] // 2, 512)
    assert np.abs(got - want).max() < 1e-2 * np.abs(want).max()
    # and block 3 is not the whole encoder's output
    whole = reference_encoder(v, mel[:, : mel.shape[1] // 2 * 2], 6)
    assert np.abs(got - whole).max() > 0.1 * np.abs(whole).max()


def test_truncate_refuses_depths_the_encoder_does_not_have(tmp_path: Path) -> None:
    full = resolve("whisper-base").path / "model.bin"
    with pytest.raises(ValueError, match="6 blocks"):
        truncate_encoder(full, tmp_path / "m.bin", 7)
    with pytest.raises(InputError):
        encoder_model(0)
    assert encoder_model(6) == "whisper-base"


def test_the_voice_stage_reads_the_encoder_its_model_names() -> None:
    from emotrace.models.whisper import load_whisper
    from emotrace.voice.emotion import SpeechEmotion, VoiceOptions

    se = SpeechEmotion(VoiceOptions(speakers=False))
    assert se.emotion_model is not None and se.emotion_model.encoder == encoder_model(DEFAULT_ENCODER_DEPTH)
    assert se.whisper is load_whisper(resolve(se.emotion_model.encoder).path)
    assert se.whisper is not load_whisper(resolve("whisper-base").path)

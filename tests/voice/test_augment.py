"""Training corruptions on real speech: measured SNR, room decay, codec alignment, speed, seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotrace.io.media import load_audio
from emotrace.voice import augment as A

pytest.importorskip("pyroomacoustics")


@pytest.fixture(scope="module")
def speech(ravdess: Path) -> np.ndarray:
    return load_audio(next((ravdess / "Actor_02").glob("03-01-05-02-01-01-02.flac")))


@pytest.mark.parametrize("snr", [0, 10, 20])
@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
def test_noise_at_the_asked_snr(speech: np.ndarray, snr: int, kind: str) -> None:
    noisy = A.add_noise(speech, snr, kind, np.random.default_rng(0))
    noise = noisy - speech
    measured = 10 * np.log10(np.mean(speech.astype(np.float64) ** 2) / np.mean(noise.astype(np.float64) ** 2))
    assert measured == pytest.approx(snr, abs=0.1)


def test_noise_colours_differ_in_spectrum() -> None:
    rng = np.random.default_rng(0)
    low = {}
    for kind in ("white", "pink", "brown"):
        spec = np.abs(np.fft.rfft(A.coloured_noise(16000, kind, rng))) ** 2
        low[kind] = spec[:500].sum() / spec.sum()  # share of power under 500 Hz
    assert low["white"] < low["pink"] < low["brown"]


def _decay_time(rir: np.ndarray) -> float:
    """Time for the Schroeder energy curve to fall by 20 dB (T20, in seconds)."""
    edc = np.cumsum((rir.astype(np.float64) ** 2)[::-1])[::-1]
    db = 10 * np.log10(edc / edc[0] + 1e-12)
    return float(np.argmax(db < -20) / A.SR)


def test_rooms_decay_by_their_rt60() -> None:
    bank = A.rir_bank(8, seed=3)
    rts = [rt for rt, _ in bank]
    t20 = [_decay_time(rir) for _, rir in bank]
    assert rts == sorted(rts) and rts[0] < 0.3 and rts[-1] > 0.9
    # longer RT60 -> slower decay; T20 is about a third of RT60 for a diffuse field
    assert np.corrcoef(rts, t20)[0, 1] > 0.8
    assert 0.1 < t20[-1] / rts[-1] < 0.8


def test_reverb_keeps_length_and_loudness(speech: np.ndarray) -> None:
    wet = A.reverberate(speech, A.rir_bank()[-1][1])
    assert wet.size == speech.size
    assert np.sqrt(np.mean(wet**2)) == pytest.approx(np.sqrt(np.mean(speech**2)), rel=0.01)
    assert abs(np.corrcoef(wet, speech)[0, 1]) < 0.9  # audibly different


@pytest.mark.parametrize("codec", ["aac", "mp3", "opus"])
def test_codec_round_trip_is_aligned_and_lossy(speech: np.ndarray, codec: str) -> None:
    out = A.codec_roundtrip(speech, codec, 24000)
    assert out.size == speech.size
    c = np.corrcoef(out, speech)[0, 1]
    assert 0.8 < c < 0.9999  # aligned (priming delay removed) but not bit-exact


def test_speed_and_gain(speech: np.ndarray) -> None:
    assert A.change_speed(speech, 1.1).size == pytest.approx(speech.size / 1.1, abs=2)
    hot = A.change_gain(speech, 30)
    assert np.abs(hot).max() <= 1.0 and np.mean(np.abs(hot) >= 0.999) > 0.01  # clipped


def test_chain_is_seeded(speech: np.ndarray) -> None:
    a, da = A.random_chain(speech, np.random.default_rng(7))
    b, db = A.random_chain(speech, np.random.default_rng(7))
    assert da == db and np.array_equal(a, b) and da
    descs = {A.random_chain(speech, np.random.default_rng(s))[1] for s in range(12)}
    assert len(descs) > 6
    assert any("reverb" in d for d in descs) and any("noise" in d for d in descs)

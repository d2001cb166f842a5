"""Prosody, VAD, windowing and DER on generated and real audio."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from emotrace.io.media import load_audio
from emotrace.voice.analysis import VoiceAnalyzer
from emotrace.voice.der import diarization_error_rate
from emotrace.voice.prosody import PROSODY_NAMES, pitch_track, prosody_features
from emotrace.voice.vad import speech_regions, split_windows

SR = 16000


def test_pitch_of_a_tone() -> None:
    t = np.arange(SR) / SR
    for f in (110.0, 220.0):
        f0, _ = pitch_track((0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32))
        voiced = f0[f0 > 0]
        assert len(voiced) > 0.9 * len(f0)
        assert abs(np.median(voiced) - f) < 0.02 * f


def test_prosody_of_silence_and_speech(speech_wav: Path) -> None:
    silent = prosody_features(np.zeros(SR, dtype=np.float32))
    assert silent[PROSODY_NAMES.index("voiced_frac")] == 0.0
    speech = prosody_features(load_audio(speech_wav))
    assert np.isfinite(speech).all()
    assert 0.2 < speech[PROSODY_NAMES.index("voiced_frac")] < 1.0
    assert speech[PROSODY_NAMES.index("rate_peaks_s")] > 1.0


def test_vad_finds_speech_and_not_silence(speech_wav: Path) -> None:
    audio = load_audio(speech_wav)
    padded = np.concatenate([np.zeros(2 * SR, np.float32), audio, np.zeros(2 * SR, np.float32)])
    regions = speech_regions(padded)
    assert regions and regions[0][0] > 1.5 and regions[-1][1] < len(padded) / SR - 1.5
    assert speech_regions(np.zeros(3 * SR, np.float32)) == []
    # streamed in 1 s chunks that cut through the speech: same extent (padding may reach a chunk edge)
    chunks = [(i / SR, padded[i : i + SR]) for i in range(0, len(padded), SR)]
    windows = VoiceAnalyzer(whisper=None, speaker_encoder=None).run(chunks)
    assert abs(windows[0].start_s - regions[0][0]) < 0.25 and abs(windows[-1].end_s - regions[-1][1]) < 0.25
    assert all(b.start_s >= a.end_s for a, b in itertools.pairwise(windows))


def test_split_windows() -> None:
    w = split_windows([(0.0, 1.0), (10.0, 16.5), (20.0, 45.0)])
    assert w[0] == (0.0, 1.0)
    assert all(2.0 <= b - a <= 6.0 for a, b in w[1:])
    assert w[1][0] == 10.0 and w[2][1] == 16.5 and w[-1][1] == 45.0


def test_der() -> None:
    ref = [(0.0, 2.0, "a"), (2.0, 4.0, "b")]
    assert diarization_error_rate(ref, [(0.0, 2.0, "x"), (2.0, 4.0, "y")])["der"] == 0.0
    one = diarization_error_rate(ref, [(0.0, 4.0, "x")])
    assert abs(one["confusion"] - 0.5) < 0.01
    miss = diarization_error_rate(ref, [(0.0, 2.0, "x")])
    assert abs(miss["missed"] - 0.5) < 0.01 and abs(miss["der"] - 0.5) < 0.01
    fa = diarization_error_rate(ref, [(0.0, 2.0, "x"), (2.0, 4.0, "y"), (5.0, 6.0, "y")])
    assert abs(fa["false_alarm"] - 0.25) < 0.01
    assert diarization_error_rate(ref, [(0.1, 2.0, "x"), (2.0, 4.0, "y")], collar=0.25)["der"] == 0.0

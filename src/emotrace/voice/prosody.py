"""Prosody features with numpy only: pitch, energy, voicing and speaking rate.

Pitch is estimated per 40 ms frame (10 ms hop) from the normalised autocorrelation
(60-400 Hz); energy is frame RMS in dB; rate counts energy-envelope peaks (syllable
nuclei) per second of voiced speech.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

SR = 16000
HOP = 160
FRAME = 640
FMIN, FMAX = 60.0, 400.0

PROSODY_NAMES: tuple[str, ...] = (
    "f0_mean_st",
    "f0_std_st",
    "f0_p10_st",
    "f0_p90_st",
    "f0_range_st",
    "f0_slope_st_s",
    "voiced_frac",
    "rms_mean_db",
    "rms_std_db",
    "rms_p10_db",
    "rms_p90_db",
    "rms_voiced_db",
    "rate_peaks_s",
    "zcr_mean",
    "centroid_mean_hz",
    "centroid_std_hz",
)


def _frames(audio: np.ndarray, frame: int, hop: int) -> np.ndarray:
    if audio.size < frame:
        audio = np.pad(audio, (0, frame - audio.size))
    n = 1 + (audio.size - frame) // hop
    return np.lib.stride_tricks.sliding_window_view(audio, frame)[::hop][:n]


def pitch_track(audio: np.ndarray, sr: int = SR) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame F0 in Hz (0 where unvoiced) and frame RMS, 10 ms hop."""
    fr = _frames(audio.astype(np.float32), FRAME, HOP)
    fr = fr - fr.mean(axis=1, keepdims=True)
    rms = np.sqrt(np.mean(fr**2, axis=1) + 1e-12)
    win = fr * np.hanning(FRAME).astype(np.float32)
    spec = np.fft.rfft(win, n=2 * FRAME, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :FRAME]
    ac = ac / (ac[:, :1] + 1e-9)
    lo, hi = int(sr / FMAX), int(sr / FMIN)
    seg = ac[:, lo:hi]
    lag = np.argmax(seg, axis=1)
    peak = seg[np.arange(len(seg)), lag]
    # parabolic interpolation around the peak
    idx = np.clip(lag, 1, seg.shape[1] - 2)
    a, b, c = (
        seg[np.arange(len(seg)), idx - 1],
        seg[np.arange(len(seg)), idx],
        seg[np.arange(len(seg)), idx + 1],
    )
    denom = a - 2 * b + c
    shift = np.where(np.abs(denom) > 1e-9, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    f0 = sr / (lo + idx + np.clip(shift, -1, 1))
    loud = rms > max(1e-4, 0.05 * np.percentile(rms, 95)) if rms.size else rms > 0
    voiced = (peak > 0.45) & loud
    return np.where(voiced, f0, 0.0), rms


def prosody_features(audio: np.ndarray, sr: int = SR) -> np.ndarray:
    """Fixed-length prosody vector (see :data:`PROSODY_NAMES`) of one speech window."""
    f0, rms = pitch_track(audio, sr)
    db = 20 * np.log10(rms + 1e-6)
    voiced = f0 > 0
    out = np.zeros(len(PROSODY_NAMES), dtype=np.float32)
    if voiced.sum() >= 3:
        st = 12 * np.log2(f0[voiced] / 100.0)
        t = np.nonzero(voiced)[0] * HOP / sr
        slope = np.polyfit(t, st, 1)[0] if np.ptp(t) > 0 else 0.0
        p10, p90 = np.percentile(st, [10, 90])
        out[:6] = [st.mean(), st.std(), p10, p90, p90 - p10, np.clip(slope, -50, 50)]
    out[6] = voiced.mean() if voiced.size else 0.0
    p10, p90 = np.percentile(db, [10, 90]) if db.size else (0.0, 0.0)
    out[7:11] = [db.mean(), db.std(), p10, p90]
    out[11] = db[voiced].mean() if voiced.any() else db.mean() if db.size else -120.0
    env = np.convolve(rms, np.ones(5) / 5, mode="same")
    peaks, _ = find_peaks(env, prominence=0.1 * (env.max() + 1e-9), distance=8)
    speech_s = max(voiced.sum() * HOP / sr, 0.1)
    out[12] = min(len(peaks) / speech_s, 20.0)
    fr = _frames(audio.astype(np.float32), 400, HOP)
    out[13] = np.mean(np.abs(np.diff(np.sign(fr), axis=1)) > 0) if fr.size else 0.0
    mag = np.abs(np.fft.rfft(fr * np.hanning(400), axis=1))
    freqs = np.fft.rfftfreq(400, 1 / sr)
    cen = (mag * freqs).sum(axis=1) / (mag.sum(axis=1) + 1e-9)
    out[14:16] = [cen.mean(), cen.std()]
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)

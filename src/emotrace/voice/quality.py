"""Voice-quality features per speech segment and per time window, computed with Praat.

Praat (through ``praat-parselmouth``, GPL-3.0-or-later; Praat itself GPL) does the acoustics:
pitch (autocorrelation), jitter and shimmer (local, from the periodic point process), the
harmonics-to-noise ratio (cross-correlation harmonicity), formants F1-F3 (Burg), and intensity.
emotrace only cuts the audio into segments and windows and summarises the tracks:

* ``pitch_mean_hz``, ``pitch_sd_hz``, ``pitch_min_hz``, ``pitch_max_hz``, ``pitch_range_st``
  (5th-95th percentile range in semitones) over voiced frames;
* ``jitter_local`` and ``shimmer_local`` (fractions, Praat's standard arguments: periods
  0.1-20 ms, period factor 1.3, amplitude factor 1.6);
* ``hnr_db`` (mean harmonicity), ``f1_hz``, ``f2_hz``, ``f3_hz`` (medians over voiced frames,
  maximum formant 5500 Hz), ``loudness_db`` (mean intensity, energy-averaged, dB SPL as Praat
  reports it for full-scale audio), ``speech_rate_syl_s`` (syllable nuclei: intensity peaks
  at least 2 dB above their surroundings in voiced frames, per second of the segment, after
  de Jong & Wempe 2009), ``voiced_share``.

Features are ``None`` where Praat leaves them undefined (too few periods, no voicing).
``is_available()`` tells whether the library is installed (a default dependency; without it the
voice stage skips these features with a note).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

SR = 16000
F0_MIN, F0_MAX = 75.0, 500.0
MAX_FORMANT_HZ = 5500.0
FEATURES: tuple[str, ...] = (
    "pitch_mean_hz", "pitch_sd_hz", "pitch_min_hz", "pitch_max_hz", "pitch_range_st", "jitter_local",
    "shimmer_local", "hnr_db", "f1_hz", "f2_hz", "f3_hz", "loudness_db", "speech_rate_syl_s", "voiced_share",
)  # fmt: skip
INSTALL_HINT = "pip install praat-parselmouth (GPL-3.0; a default dependency of emotrace)"


def is_available() -> bool:
    return importlib.util.find_spec("parselmouth") is not None


def _num(x: float | None, nd: int = 4) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd)


class _Tracks:
    """Praat's analyses of one stretch of audio, queried over any time range inside it."""

    def __init__(self, audio: np.ndarray, sr: int):
        import parselmouth
        from parselmouth.praat import call

        self.call = call
        self.snd = parselmouth.Sound(np.asarray(audio, np.float64), sampling_frequency=sr)
        dur = self.snd.get_total_duration()
        self.ok = dur >= 3.0 / F0_MIN  # Praat needs a few pitch periods
        if not self.ok:
            return
        self.pitch = self.snd.to_pitch_ac(time_step=0.01, pitch_floor=F0_MIN, pitch_ceiling=F0_MAX)
        self.f0 = self.pitch.selected_array["frequency"]
        self.t = self.pitch.xs()
        self.points = call(self.snd, "To PointProcess (periodic, cc)", F0_MIN, F0_MAX)
        # 20 ms steps for the two costly analyses (their means move < 0.2 dB / 1% against 10 ms)
        self.harm = self.snd.to_harmonicity_cc(time_step=0.02, minimum_pitch=F0_MIN)
        self.formant = self.snd.to_formant_burg(time_step=0.02, max_number_of_formants=5,
                                                maximum_formant=MAX_FORMANT_HZ)  # fmt: skip
        self.intensity = self.snd.to_intensity(minimum_pitch=F0_MIN, time_step=0.01)
        self.i_t = self.intensity.xs()
        self.i_db = self.intensity.values[0]

    def features(self, a: float, b: float) -> dict[str, float | None]:
        """Features over ``[a, b]`` seconds (relative to the start of this audio)."""
        out: dict[str, float | None] = dict.fromkeys(FEATURES)
        if not self.ok or b - a < 0.05:
            return out
        call = self.call
        sel = (self.t >= a) & (self.t <= b)
        f0 = self.f0[sel]
        voiced = f0 > 0
        out["voiced_share"] = _num(voiced.mean() if f0.size else 0.0)
        if voiced.sum() >= 3:
            v = f0[voiced]
            p5, p95 = np.percentile(v, [5, 95])
            out.update(pitch_mean_hz=_num(v.mean(), 2), pitch_sd_hz=_num(v.std(), 2), pitch_min_hz=_num(v.min(), 2),
                       pitch_max_hz=_num(v.max(), 2), pitch_range_st=_num(12 * math.log2(p95 / p5), 3))  # fmt: skip
            out["jitter_local"] = _num(call(self.points, "Get jitter (local)", a, b, 0.0001, 0.02, 1.3), 5)
            out["shimmer_local"] = _num(
                call([self.snd, self.points], "Get shimmer (local)", a, b, 0.0001, 0.02, 1.3, 1.6), 5
            )
            ts = self.t[sel][voiced]
            for k in (1, 2, 3):
                vals = np.array([self.formant.get_value_at_time(k, float(x)) for x in ts], float)
                vals = vals[np.isfinite(vals)]
                out[f"f{k}_hz"] = _num(np.median(vals), 1) if vals.size else None
        hnr = call(self.harm, "Get mean", a, b)
        out["hnr_db"] = _num(hnr, 3)
        out["loudness_db"] = _num(call(self.intensity, "Get mean", a, b, "energy"), 3)
        out["speech_rate_syl_s"] = _num(self._nuclei(a, b) / (b - a), 3)
        return out

    def _nuclei(self, a: float, b: float) -> int:
        """Syllable nuclei in ``[a, b]``: voiced intensity peaks with 2 dB dips around them."""
        from scipy.signal import find_peaks

        sel = (self.i_t >= a) & (self.i_t <= b)
        db = self.i_db[sel]
        if db.size < 3:
            return 0
        floor = np.median(db)
        peaks, _ = find_peaks(db, prominence=2.0, distance=5)
        n = 0
        for p in peaks:
            if db[p] < floor:
                continue
            t = float(self.i_t[sel][p])
            if self.pitch.get_value_at_time(t) > 0:
                n += 1
        return n


def segment_rows(
    audio: np.ndarray, start_s: float, end_s: float, window_s: float, speaker_id: str | None, sr: int = SR
) -> list[dict[str, Any]]:
    """One ``segment`` row and one ``window`` row per ``window_s`` step of a speech segment
    whose samples (beginning at ``start_s``) are ``audio``."""
    tracks = _Tracks(audio, sr)
    dur = end_s - start_s
    base = {"speaker_id": speaker_id}
    rows = [{"kind": "segment", "start_s": round(start_s, 3), "end_s": round(end_s, 3), **base,
             **tracks.features(0.0, dur)}]  # fmt: skip
    k = 0
    while k * window_s < dur - 1e-6:
        a, b = k * window_s, min((k + 1) * window_s, dur)
        if b - a >= 0.25 * window_s:
            rows.append({"kind": "window", "start_s": round(start_s + a, 3), "end_s": round(start_s + b, 3),
                         **base, **tracks.features(a, b)})  # fmt: skip
        k += 1
    return rows


def voice_feature_rows(
    chunks: Iterable[tuple[float, np.ndarray]],
    segments: list[tuple[float, float, str | None]],
    window_s: float = 1.0,
    sr: int = SR,
) -> Iterator[dict[str, Any]]:
    """Rows for ``(start, end, speaker)`` segments from streamed ``(start_s, samples)`` audio
    chunks; only the audio of the segment in hand is kept, so memory stays flat."""
    pending = sorted(segments)
    buf = np.zeros(0, np.float32)
    buf_start = 0.0
    for chunk_start, samples in chunks:
        if not buf.size:
            buf_start = chunk_start
        buf = np.concatenate([buf, samples.astype(np.float32, copy=False)])
        buf_end = buf_start + buf.size / sr
        while pending and pending[0][1] <= buf_end + 1e-6:
            a, b, spk = pending.pop(0)
            i0, i1 = max(0, round((a - buf_start) * sr)), max(0, round((b - buf_start) * sr))
            yield from segment_rows(buf[i0:i1], a, b, window_s, spk, sr)
        keep_from = pending[0][0] if pending else buf_end
        drop = max(0, min(buf.size, round((keep_from - buf_start) * sr)))
        if drop:
            buf = buf[drop:]
            buf_start += drop / sr
    for a, b, spk in pending:  # segments running past the decoded audio: what is there
        i0 = max(0, round((a - buf_start) * sr))
        if i0 < buf.size:
            yield from segment_rows(buf[i0:], a, min(b, buf_start + buf.size / sr), window_s, spk, sr)

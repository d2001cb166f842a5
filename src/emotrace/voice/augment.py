"""Training-time corruptions of speech clips, the ones a user's video brings.

* generated noise (white, pink, brown, babble from the corpus itself is not used) at a given SNR;
* synthetic room reverberation: a shoebox room simulated by pyroomacoustics (image source
  method) with a random size, absorption from a target RT60 and random source/mic positions;
* lossy codec round trips through PyAV/FFmpeg (AAC, MP3, Opus at low bitrates);
* level changes (with clipping when driven hot) and speed changes (resampling, pitch moves too).

:func:`random_chain` draws a seeded chain of these and returns the corrupted clip with a short
description (``"reverb(rt60=0.62)+noise(pink,5dB)+mp3(32k)"``) that keys the feature cache.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

SR = 16000
CODECS = {"aac": ("adts", "aac"), "mp3": ("mp3", "libmp3lame"), "opus": ("ogg", "libopus")}
INSTALL_HINT = "pip install 'emotrace[train]' (pyroomacoustics)"


def coloured_noise(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance white, pink (1/f) or brown (1/f^2) noise of ``n`` samples."""
    white = rng.standard_normal(n)
    if kind == "white":
        out = white
    else:
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1 / SR)
        f[0] = f[1] if n > 1 else 1.0
        spec = spec / (np.sqrt(f) if kind == "pink" else f)
        out = np.fft.irfft(spec, n)
    return (out / (out.std() + 1e-12)).astype(np.float32)


def add_noise(audio: np.ndarray, snr_db: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``audio`` plus generated noise at ``snr_db`` (signal power from the clip itself)."""
    p = float(np.mean(audio.astype(np.float64) ** 2))
    if p <= 0:
        return audio
    noise = coloured_noise(audio.size, kind, rng) * np.sqrt(p / 10 ** (snr_db / 10))
    return (audio + noise).astype(np.float32)


def room_impulse_response(rt60: float, rng: np.random.Generator) -> np.ndarray:
    """Impulse response of a random shoebox room with reverberation time ``rt60`` seconds,
    simulated by pyroomacoustics (image sources), starting at the direct path, unit energy."""
    try:
        import pyroomacoustics as pra
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(f"room reverberation needs pyroomacoustics: {INSTALL_HINT}") from e
    dims = np.array([rng.uniform(3, 10), rng.uniform(3, 8), rng.uniform(2.4, 4)])
    try:
        absorption, max_order = pra.inverse_sabine(rt60, dims)
    except ValueError:  # the room is too large for this RT60: the most reflective walls allowed
        absorption, max_order = 0.05, 17
    room = pra.ShoeBox(dims, fs=SR, materials=pra.Material(absorption), max_order=min(max_order, 17))
    margin = 0.5
    room.add_source([rng.uniform(margin, d - margin) for d in dims])
    room.add_microphone([rng.uniform(margin, d - margin) for d in dims])
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    rir = rir[max(int(np.argmax(np.abs(rir))) - 40, 0) :]
    return (rir / (np.sqrt(np.sum(rir**2)) + 1e-12)).astype(np.float32)


_RIRS: dict[int, list[tuple[float, np.ndarray]]] = {}


def rir_bank(n: int = 24, seed: int = 0) -> list[tuple[float, np.ndarray]]:
    """``n`` seeded rooms (RT60 0.2-1.0 s), simulated once per process."""
    if seed not in _RIRS:
        rng = np.random.default_rng(seed)
        rts = np.round(np.linspace(0.2, 1.0, n), 2)
        _RIRS[seed] = [(float(t), room_impulse_response(float(t), rng)) for t in rts]
    return _RIRS[seed]


def reverberate(audio: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``audio`` convolved with a room impulse response, same length and loudness."""
    from scipy.signal import fftconvolve

    out = fftconvolve(audio.astype(np.float64), rir.astype(np.float64))[: audio.size]
    scale = np.sqrt(np.mean(audio.astype(np.float64) ** 2) / (np.mean(out**2) + 1e-12))
    return (out * scale).astype(np.float32)


def codec_roundtrip(audio: np.ndarray, codec: str, bitrate: int) -> np.ndarray:
    """Encode ``audio`` with ``codec`` (aac, mp3, opus) at ``bitrate`` bit/s and decode it back."""
    import av

    fmt, encoder = CODECS[codec]
    rate = 48000 if codec == "opus" else SR
    pcm = np.clip(audio, -1, 1).astype(np.float32)
    if rate != SR:
        from scipy.signal import resample_poly

        pcm = resample_poly(pcm, rate // 1000, SR // 1000).astype(np.float32)
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        st: Any = out.add_stream(encoder, rate=rate)
        st.bit_rate = bitrate
        st.layout = "mono"
        frame_size = st.codec_context.frame_size or 1024
        fmt_name = st.codec_context.format.name
        for i in range(0, pcm.size, frame_size):
            chunk = pcm[i : i + frame_size]
            if fmt_name.startswith("s16"):
                data = (chunk * 32767).astype(np.int16)[None, :]
            elif fmt_name.startswith("s32"):
                data = (chunk.astype(np.float64) * 2147483647).astype(np.int32)[None, :]
            else:
                data = chunk[None, :]
            frame = av.AudioFrame.from_ndarray(data, format=fmt_name, layout="mono")
            frame.sample_rate = rate
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    buf.seek(0)
    parts = []
    with av.open(buf, "r") as inp:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
        for frame in inp.decode(audio=0):
            for f in resampler.resample(frame):
                parts.append(f.to_ndarray().reshape(-1))
        for f in resampler.resample(None):
            parts.append(f.to_ndarray().reshape(-1))
    dec = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    # encoder priming delays the signal: align on the cross-correlation peak, keep the length
    lag = _lag(audio, dec)
    dec = dec[lag : lag + audio.size]
    if dec.size < audio.size:
        dec = np.pad(dec, (0, audio.size - dec.size))
    return dec.astype(np.float32)


def _lag(ref: np.ndarray, sig: np.ndarray, max_lag: int = 4000) -> int:
    n = min(ref.size, sig.size, 2 * SR)
    if n < 64:
        return 0
    a, b = ref[:n].astype(np.float64), sig[: n + max_lag].astype(np.float64)
    best, best_v = 0, -np.inf
    corr = np.correlate(b, a, mode="valid")[: max_lag + 1]
    if corr.size:
        best = int(np.argmax(corr))
        best_v = corr[best]
    return best if np.isfinite(best_v) else 0


def change_gain(audio: np.ndarray, db: float) -> np.ndarray:
    """Level change by ``db`` decibels, clipped to [-1, 1] as a recorder would."""
    return np.clip(audio * 10 ** (db / 20), -1, 1).astype(np.float32)


def change_speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (tempo and pitch together, like a speed perturbation)."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    fr = Fraction(1 / factor).limit_denominator(50)
    return resample_poly(audio, fr.numerator, fr.denominator).astype(np.float32)


def random_chain(audio: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One seeded random corruption chain: speed, reverb, noise, level, codec (each may be skipped,
    at least one is applied). Returns the new clip and its description."""
    steps: list[str] = []
    x = np.asarray(audio, dtype=np.float32)
    while not steps:
        if rng.random() < 0.4:
            f = float(rng.choice([0.9, 0.95, 1.05, 1.1]))
            x, steps = change_speed(x, f), [*steps, f"speed({f})"]
        if rng.random() < 0.5:
            bank = rir_bank()
            k = int(rng.integers(len(bank)))
            x, steps = reverberate(x, bank[k][1]), [*steps, f"reverb(room{k},rt60={bank[k][0]})"]
        if rng.random() < 0.6:
            kind = str(rng.choice(["white", "pink", "brown"]))
            snr = int(rng.choice([0, 5, 10, 20]))
            x, steps = add_noise(x, snr, kind, rng), [*steps, f"noise({kind},{snr}dB)"]
        if rng.random() < 0.3:
            db = float(rng.choice([-20, -10, 6, 12]))
            x, steps = change_gain(x, db), [*steps, f"gain({db:+.0f}dB)"]
        if rng.random() < 0.5:
            codec = str(rng.choice(list(CODECS)))
            kbps = int(rng.choice([16, 24, 32]))
            x, steps = codec_roundtrip(x, codec, kbps * 1000), [*steps, f"{codec}({kbps}k)"]
    return x, "+".join(steps)

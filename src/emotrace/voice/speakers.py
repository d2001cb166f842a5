"""Speaker embeddings (Resemblyzer's GE2E encoder as ONNX, no torch) and clustering with an
automatic number of speakers.

The mel front end reproduces Resemblyzer's (librosa ``melspectrogram``: 25 ms Hann window,
10 ms hop, 40 Slaney mel bands, power spectrum, no log) in numpy; ``scripts/export_resemblyzer_onnx.py``
checks it against librosa and the ONNX encoder against the torch one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

SR = 16000
N_FFT = 400
HOP = 160
N_MELS = 40
PARTIAL_FRAMES = 160  # 1.6 s partial utterances
PARTIAL_STEP = 77  # Resemblyzer's default rate of 1.3 partials per second
DEFAULT_MIN_SILHOUETTE = 0.3  # below this no split into speakers is kept
TWO_WINDOW_DISTANCE = 0.5  # two windows only: cosine distance that makes two speakers
MERGE_SIMILARITY = 0.8  # clusters whose mean embeddings are this similar are one speaker


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    logstep = np.log(6.4) / 27.0
    return np.where(
        f >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels
    )


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    min_log_mel = 1000.0 / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, 1000.0 * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """Slaney-scale, Slaney-normalised triangular filters ``(N_MELS, N_FFT//2+1)``, as librosa's defaults."""
    fft_freqs = np.linspace(0, SR / 2, N_FFT // 2 + 1)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SR / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """Power mel spectrogram ``(n_frames, 40)`` (centred frames, zero padding)."""
    wav = np.pad(np.asarray(wav, dtype=np.float32), (N_FFT // 2, N_FFT // 2))
    n = 1 + (wav.size - N_FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(wav, N_FFT)[::HOP][:n]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (power.astype(np.float32) @ mel_filterbank().T).astype(np.float32)


def normalise_volume(wav: np.ndarray, target_dbfs: float = -30.0) -> np.ndarray:
    """Raise quiet audio to ``target_dbfs`` RMS (never lowers it), as Resemblyzer does."""
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if wav.size else 0.0
    if rms < 1e-6:
        return wav
    change = target_dbfs - 20 * np.log10(rms)
    return wav * (10 ** (change / 20)) if change > 0 else wav


class SpeakerEncoder:
    """GE2E speaker embeddings (256-d, L2-normalised) on ONNX Runtime."""

    def __init__(self, path: str | Path, threads: int = 1):
        from emotrace.models.onnx import session

        self.session = session(path, device="cpu", threads=threads)
        self.input = self.session.get_inputs()[0].name

    def partials(self, wav: np.ndarray) -> np.ndarray:
        """Embeddings ``(n, 256)`` of the 1.6 s partial windows of one utterance.

        Windows start every 77 frames (Resemblyzer's rate of 1.3 per second); a last window
        covering less than 75 % of real audio is dropped unless it is the only one.
        """
        n_frames = int(np.ceil((wav.size + 1) / HOP))
        starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + PARTIAL_STEP + 1), PARTIAL_STEP))
        coverage = (wav.size - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
        if coverage < 0.75 and len(starts) > 1:
            starts.pop()
        need = (starts[-1] + PARTIAL_FRAMES) * HOP
        if need >= wav.size:
            wav = np.pad(wav, (0, need - wav.size))
        mel = mel_spectrogram(wav)
        batch = np.stack([mel[s : s + PARTIAL_FRAMES] for s in starts])
        return self.session.run(None, {self.input: batch})[0]

    def embed(self, wav: np.ndarray) -> np.ndarray:
        """One utterance embedding: the normalised mean of its partial embeddings."""
        parts = self.partials(normalise_volume(np.asarray(wav, dtype=np.float32)))
        e = parts.mean(axis=0)
        return (e / (np.linalg.norm(e) + 1e-9)).astype(np.float32)


def _merge_close(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Merge clusters whose mean raw embeddings are closer than :data:`MERGE_SIMILARITY`
    (one voice split by what was said or how, e.g. repeated sentences forming tight clusters)."""
    labels = labels.copy()
    while len(ks := sorted(set(labels.tolist()))) > 1:
        c = np.stack([embeddings[labels == k].mean(axis=0) for k in ks])
        c /= np.linalg.norm(c, axis=1, keepdims=True) + 1e-9
        sim = c @ c.T - 2 * np.eye(len(ks))
        i, j = np.unravel_index(int(sim.argmax()), sim.shape)
        if sim[i, j] < MERGE_SIMILARITY:
            break
        labels[labels == ks[j]] = ks[i]
    return labels


def cluster_speakers(
    embeddings: np.ndarray,
    max_speakers: int = 8,
    min_silhouette: float = DEFAULT_MIN_SILHOUETTE,
    weights: np.ndarray | None = None,
) -> tuple[list[int], list[float]]:
    """Agglomerative clustering (average linkage, cosine distance) with an automatic count.

    Embeddings are centred on their mean first. The number of speakers is the cut of the
    dendrogram with the best silhouette, or one speaker when no cut reaches ``min_silhouette``;
    clusters whose mean raw embeddings are still very similar are then merged.

    Returns a cluster index per row, numbered by first appearance (0, 1, ...), and a
    confidence per row: how much closer the row is to its own cluster centre than to the
    nearest other one (one speaker: its similarity to the centre).
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import silhouette_score

    n = len(embeddings)
    if n == 0:
        return [], []
    raw = np.zeros(n, dtype=int)
    if n == 2 and float(embeddings[0] @ embeddings[1]) < 1 - TWO_WINDOW_DISTANCE:
        raw = np.array([0, 1])
    elif n >= 3:
        # centring on the recording's mean removes what all its voices share (room, channel)
        centred = embeddings - embeddings.mean(axis=0)
        centred /= np.linalg.norm(centred, axis=1, keepdims=True) + 1e-9
        z = linkage(centred, method="average", metric="cosine")
        best = min_silhouette
        for k in range(2, min(max_speakers, n - 1) + 1):
            cut = fcluster(z, t=k, criterion="maxclust") - 1
            if len(set(cut.tolist())) < 2:
                continue
            s = float(silhouette_score(centred, cut, metric="cosine"))
            if s > best:
                best, raw = s, cut
        raw = _merge_close(embeddings, raw)
        if len(set(raw.tolist())) > 1:
            embeddings = centred
    order: dict[int, int] = {}
    for c in raw:
        order.setdefault(int(c), len(order))
    labels = np.array([order[int(c)] for c in raw])
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    centres = np.stack(
        [np.average(embeddings[labels == k], axis=0, weights=w[labels == k]) for k in range(len(order))]
    )
    centres /= np.linalg.norm(centres, axis=1, keepdims=True) + 1e-9
    sims = embeddings @ centres.T
    conf = []
    for i, k in enumerate(labels):
        own = float(sims[i, k])
        if len(order) == 1:
            conf.append(float(np.clip(own, 0.0, 1.0)))
        else:
            other = float(np.max(np.delete(sims[i], k)))
            conf.append(float(1.0 / (1.0 + np.exp(-(own - other) / 0.05))))
    return labels.tolist(), conf

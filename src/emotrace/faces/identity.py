"""Person identity: dlib face embeddings per track, clustered over the whole video.

Each track keeps its few best-quality face crops while it is alive; when it ends they are
embedded with dlib's ResNet (128-d, ~80 ms per face, so only ``per_track`` crops) and the
crops are dropped, so memory stays flat. At the end, tracks are merged into persons by
average-linkage clustering on embedding distance, never merging tracks that were on screen
at the same time. Person ids ``P1, P2...`` follow the order of first appearance.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class TrackFaces:
    """What identity needs from one track: time span and its best crops."""

    track_id: int
    first_t: float
    last_t: float
    first_x: float
    crops: list[tuple[float, int, np.ndarray, tuple[float, float, float, float]]] = field(default_factory=list)
    embedding: np.ndarray | None = None
    n_obs: int = 0
    last_mesh_t: float = -np.inf
    mesh_tries: int = 0  # landmarker runs on this track's crops
    mesh_hits: int = 0  # ... that found a face
    thumbnail: tuple[float, np.ndarray] | None = None  # (quality, small RGB image) of the best face

    def offer(self, quality: float, crop: np.ndarray, box_in_crop: tuple[float, float, float, float], keep: int) -> None:
        """Keep the ``keep`` best crops by quality (a bounded heap)."""
        item = (quality, self.n_obs, crop, box_in_crop)
        if len(self.crops) < keep:
            heapq.heappush(self.crops, item)
        elif quality > self.crops[0][0]:
            heapq.heapreplace(self.crops, item)


class DlibEmbedder:
    """dlib 5-point alignment + ResNet descriptor on a face crop."""

    def __init__(self, shape_model: Path, resnet_model: Path):
        import dlib

        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(shape_model))
        self._net = dlib.face_recognition_model_v1(str(resnet_model))

    def embed(self, crop: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        x, y, w, h = box
        rect = self._dlib.rectangle(int(x), int(y), int(x + w), int(y + h))
        shape = self._shape(np.ascontiguousarray(crop), rect)
        return np.asarray(self._net.compute_face_descriptor(np.ascontiguousarray(crop), shape), np.float32)

    def embed_track(self, tf: TrackFaces) -> np.ndarray | None:
        """Mean descriptor of the track's kept crops (crops are released)."""
        vecs = [self.embed(c, b) for _, _, c, b in tf.crops]
        tf.crops = []
        if not vecs:
            return None
        return np.mean(vecs, axis=0)


def cluster_tracks(tracks: list[TrackFaces], threshold: float = 0.5) -> dict[int, str]:
    """Track id -> person id by average-linkage clustering (tracks without embedding stay alone)."""
    n = len(tracks)
    if n == 0:
        return {}
    emb = np.zeros((n, 128), np.float64)
    has = np.array([t.embedding is not None for t in tracks])
    for i, t in enumerate(tracks):
        if t.embedding is not None:
            emb[i] = t.embedding
    sq = (emb**2).sum(1)
    d = np.sqrt(np.clip(sq[:, None] + sq[None] - 2 * emb @ emb.T, 0, None))
    d[~has, :] = np.inf
    d[:, ~has] = np.inf
    first = np.array([t.first_t for t in tracks])
    last = np.array([t.last_t for t in tracks])
    together = (first[:, None] <= last[None]) & (first[None] <= last[:, None])  # on screen together
    np.fill_diagonal(d, np.inf)
    size = np.ones(n)
    alive = np.ones(n, bool)
    label = np.arange(n)
    while True:
        masked = np.where(together | ~alive[:, None] | ~alive[None], np.inf, d)
        k = int(np.argmin(masked))
        i, j = divmod(k, n)
        if not masked[i, j] < threshold:
            break
        d[i] = (size[i] * d[i] + size[j] * d[j]) / (size[i] + size[j])
        d[:, i] = d[i]
        d[i, i] = np.inf
        together[i] |= together[j]
        together[:, i] = together[i]
        size[i] += size[j]
        alive[j] = False
        label[label == j] = i
    groups: dict[int, list[TrackFaces]] = {}
    for t, g in zip(tracks, label.tolist(), strict=True):
        groups.setdefault(g, []).append(t)
    order = sorted(groups.values(), key=lambda g: min((t.first_t, t.first_x) for t in g))
    return {t.track_id: f"P{k + 1}" for k, g in enumerate(order) for t in g}

"""Keyframe selection inside one shot and across shots; emotion peaks from face records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emotrace.model import FaceObservation
from emotrace.shots.features import Candidate


@dataclass
class Pick:
    candidate: Candidate
    reason: str  # "cluster", "shot" or "emotion_peak"
    score: float
    vector: np.ndarray | None = None


def kmeans(x: np.ndarray, k: int, seed: int = 0, iters: int = 30) -> np.ndarray:
    """Plain k-means with k-means++ seeding; returns labels."""
    rng = np.random.default_rng(seed)
    sq = (x * x).sum(1)
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.min(sq[:, None] - 2 * x @ np.stack(centres).T + (np.stack(centres) ** 2).sum(1)[None], axis=1)
        d = np.maximum(d, 0)
        centres.append(x[rng.choice(len(x), p=d / d.sum())] if d.sum() > 0 else x[rng.integers(len(x))])
    c = np.stack(centres)
    labels = np.zeros(len(x), dtype=int)
    for it in range(iters):
        new = np.argmin(sq[:, None] - 2 * x @ c.T + (c * c).sum(1)[None], axis=1)
        if it and np.array_equal(new, labels):
            break
        labels = new
        c = np.stack([x[labels == j].mean(0) if np.any(labels == j) else c[j] for j in range(k)])
    return labels


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient (Euclidean)."""
    sq = (x * x).sum(1)
    d = np.sqrt(np.maximum(sq[:, None] - 2 * x @ x.T + sq[None], 0))
    ks = np.unique(labels)
    mean_to = np.stack([d[:, labels == j].sum(1) for j in ks], axis=1)
    sizes = np.array([(labels == j).sum() for j in ks], dtype=float)
    own = np.searchsorted(ks, labels)
    own_size = sizes[own]
    a = np.where(own_size > 1, mean_to[np.arange(len(x)), own] / np.maximum(own_size - 1, 1), 0.0)
    other = mean_to / sizes[None]
    other[np.arange(len(x)), own] = np.inf
    b = other.min(1)
    s = np.where(own_size > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def auto_clusters(
    x: np.ndarray, max_k: int, min_silhouette: float = 0.2, max_centre_similarity: float = 0.92, seed: int = 0
) -> np.ndarray:
    """K-means labels with k chosen by the silhouette score; k = 1 when no split is clear
    (best silhouette below ``min_silhouette``, or cluster centres that are near-duplicates)."""
    n = len(x)
    best, best_labels = min_silhouette, np.zeros(n, dtype=int)
    if n < 3 or max_k < 2 or float(np.max(np.ptp(x, axis=0))) < 1e-3:
        return best_labels
    for k in range(2, min(max_k, n - 1) + 1):
        labels = kmeans(x, k, seed)
        ks = np.unique(labels)
        if len(ks) < 2:
            break
        c = np.stack([x[labels == j].mean(0) for j in ks])
        c /= np.linalg.norm(c, axis=1, keepdims=True) + 1e-8
        sim = c @ c.T
        np.fill_diagonal(sim, -1.0)
        if float(sim.max()) > max_centre_similarity:
            continue
        s = silhouette(x, labels)
        if s > best:
            best, best_labels = s, np.searchsorted(ks, labels)
    return best_labels


def select_in_shot(
    cands: Sequence[Candidate],
    *,
    embed_weight: float = 0.7,
    max_per_shot: int = 4,
    min_luma: float = 20.0,
    min_rel_sharpness: float = 0.35,
    min_silhouette: float = 0.2,
    dedup_similarity: float = 0.92,
) -> list[Pick]:
    """Keyframes of one shot: drop black and blurred frames, cluster, one sharp central frame per
    cluster (largest clusters first), skipping near-duplicates."""
    good = [c for c in cands if c.luma >= min_luma]
    if not good:
        return []
    med = float(np.median([c.sharpness for c in good]))
    if med > 0:
        good = [c for c in good if c.sharpness >= min_rel_sharpness * med] or good
    x = np.stack([c.vector(embed_weight) for c in good])
    labels = auto_clusters(x, max_per_shot, min_silhouette, dedup_similarity)
    k = int(labels.max()) + 1
    top_sharp = max(c.sharpness for c in good) or 1.0
    picks: list[Pick] = []
    for lab in sorted(range(k), key=lambda j: -int((labels == j).sum())):
        idx = np.flatnonzero(labels == lab)
        centre = x[idx].mean(axis=0)
        centre /= np.linalg.norm(centre) + 1e-8
        quality = x[idx] @ centre + 0.25 * np.array([good[i].sharpness / top_sharp for i in idx])
        i = int(idx[int(np.argmax(quality))])
        if any(float(x[i] @ p.vector) > dedup_similarity for p in picks if p.vector is not None):
            continue
        picks.append(Pick(good[i], "cluster" if k > 1 else "shot", round(len(idx) / len(good), 4), x[i]))
        if len(picks) >= max_per_shot:
            break
    return picks


def drop_seen(picks: list[Pick], seen: list[np.ndarray], similarity: float, keep_min: int = 1) -> list[Pick]:
    """Remove picks that repeat a keyframe of an earlier shot (keeping at least ``keep_min``)."""
    if not seen:
        return picks
    prev = np.stack(seen)
    fresh = [p for p in picks if p.vector is None or float(np.max(prev @ p.vector)) <= similarity]
    if len(fresh) < keep_min:
        fresh += [p for p in picks if p not in fresh][: keep_min - len(fresh)]
        fresh.sort(key=lambda p: p.candidate.time_s)
    return fresh


@dataclass
class EmotionPeak:
    time_s: float
    intensity: float
    label: str
    person: str | None


def emotion_peaks(
    faces: Sequence[FaceObservation],
    min_intensity: float = 0.5,
    min_gap_s: float = 5.0,
    max_peaks: int = 20,
    neutral: str = "neutral",
) -> list[EmotionPeak]:
    """Moments where a person's strongest non-neutral emotion is a local maximum, strongest first
    and at least ``min_gap_s`` apart, in time order."""
    series: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for f in faces:
        sc = f.smoothed or f.emotion
        if sc is None:
            continue
        probs = {k: v for k, v in sc.probs.items() if k != neutral}
        if not probs:
            continue
        lab = max(probs, key=probs.__getitem__)
        key = f.person_id or (f"track{f.track_id}" if f.track_id is not None else "")
        series[key].append((f.time_s, probs[lab], lab))
    found: list[EmotionPeak] = []
    for person, pts in series.items():
        pts.sort()
        vals = [v for _, v, _ in pts]
        for i, (t, v, lab) in enumerate(pts):
            if v < min_intensity:
                continue
            if (i == 0 or v >= vals[i - 1]) and (i == len(pts) - 1 or v > vals[i + 1]):
                found.append(EmotionPeak(t, v, lab, person or None))
    kept: list[EmotionPeak] = []
    for p in sorted(found, key=lambda p: -p.intensity):
        if all(abs(p.time_s - q.time_s) >= min_gap_s for q in kept):
            kept.append(p)
        if len(kept) >= max_peaks:
            break
    return sorted(kept, key=lambda p: p.time_s)

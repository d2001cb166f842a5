"""ByteTrack-style face tracking over sampled frames: IoU + constant-velocity motion.

High-confidence detections are matched first (Hungarian on 1 - similarity), then the
remaining tracks may pick up low-confidence detections; unmatched confident detections start
new tracks. Similarity is the IoU with the motion-predicted box, or a centre-distance score
when the boxes no longer overlap (fast motion at low sampling rates).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from emotrace.faces.detect import Detection, iou_matrix


@dataclass
class Track:
    id: int
    box: np.ndarray  # x, y, w, h (last matched)
    last_t: float
    first_t: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # per second
    hits: int = 1

    def predict(self, t: float) -> np.ndarray:
        dt = min(t - self.last_t, 1.0)
        b = self.box + self.velocity * dt
        b[2:] = np.maximum(b[2:], 1.0)
        return b

    def update(self, box: np.ndarray, t: float) -> None:
        dt = t - self.last_t
        if dt > 1e-6:
            v = (box - self.box) / dt
            self.velocity = 0.6 * self.velocity + 0.4 * v if self.hits > 1 else v * 0.5
        self.box = box
        self.last_t = t
        self.hits += 1


def similarity(pred: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(T, D) similarity: IoU, or up to 0.5 for centres closer than 1.5 face sizes when boxes don't overlap."""
    iou = iou_matrix(pred, boxes)
    if iou.size == 0:
        return iou
    pc = pred[:, :2] + pred[:, 2:] / 2
    dc = boxes[:, :2] + boxes[:, 2:] / 2
    dist = np.linalg.norm(pc[:, None] - dc[None], axis=2)
    size = np.sqrt(pred[:, 2] * pred[:, 3])[:, None]
    near = 0.5 * np.clip(1.0 - dist / (1.5 * np.maximum(size, 1.0)), 0.0, None)
    ratio = np.minimum(pred[:, None, 2], boxes[None, :, 2]) / np.maximum(pred[:, None, 2], boxes[None, :, 2])
    near = near * (ratio > 0.5)
    return np.where(iou > 0, iou, near)


class Tracker:
    """Assigns track ids to per-frame detections; tracks end after ``max_gap_s`` unseen."""

    def __init__(self, high: float = 0.6, match: float = 0.15, max_gap_s: float = 1.0):
        self.high = high
        self.match = match
        self.max_gap_s = max_gap_s
        self.active: list[Track] = []
        self._next = 1

    def _assign(self, tracks: list[Track], dets: list[Detection], t: float) -> tuple[list[tuple[int, int]], list[int]]:
        if not tracks or not dets:
            return [], list(range(len(dets)))
        pred = np.stack([tr.predict(t) for tr in tracks])
        boxes = np.array([d.box for d in dets], np.float64)
        sim = similarity(pred, boxes)
        rows, cols = linear_sum_assignment(-sim)
        pairs = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if sim[r, c] >= self.match]
        used = {c for _, c in pairs}
        return pairs, [i for i in range(len(dets)) if i not in used]

    def update(self, dets: list[Detection], t: float) -> tuple[list[int | None], list[Track]]:
        """Track id per detection (``None``: dropped low-confidence), and the tracks that ended."""
        ids: list[int | None] = [None] * len(dets)
        ended = [tr for tr in self.active if t - tr.last_t > self.max_gap_s]
        self.active = [tr for tr in self.active if t - tr.last_t <= self.max_gap_s]
        hi = [i for i, d in enumerate(dets) if d.score >= self.high]
        lo = [i for i, d in enumerate(dets) if d.score < self.high]
        pairs, rest_hi = self._assign(self.active, [dets[i] for i in hi], t)
        matched_tracks = set()
        for r, c in pairs:
            tr, i = self.active[r], hi[c]
            tr.update(np.array(dets[i].box, np.float64), t)
            ids[i] = tr.id
            matched_tracks.add(r)
        left = [tr for k, tr in enumerate(self.active) if k not in matched_tracks]
        pairs2, _ = self._assign(left, [dets[i] for i in lo], t)
        for r, c in pairs2:
            tr, i = left[r], lo[c]
            tr.update(np.array(dets[i].box, np.float64), t)
            ids[i] = tr.id
        for c in rest_hi:
            i = hi[c]
            tr = Track(self._next, np.array(dets[i].box, np.float64), t, t)
            self._next += 1
            self.active.append(tr)
            ids[i] = tr.id
        return ids, ended

    def close(self) -> list[Track]:
        """End every active track (end of video)."""
        ended, self.active = self.active, []
        return ended

"""BlazeFace full-range face detection on LiteRT (no TensorFlow).

The frame is cut into square windows (the whole frame letterboxed, plus overlapping square
tiles along the long side so that small faces in wide frames keep enough pixels), all
windows run as one batch, and detections are merged with MediaPipe's weighted NMS.
Anchor decoding follows MediaPipe's ``face_detection_full_range`` graph (one 48x48 layer,
stride 4, fixed anchor size, coordinates scaled by 192).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

INPUT = 192
GRID = 48
KEYPOINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")


@dataclass
class Detection:
    """A face box (x, y, w, h) in pixels of the image given to :meth:`BlazeFace.detect`."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray = field(repr=False)  # (6, 2) pixels, see KEYPOINTS

    def scaled(self, s: float) -> Detection:
        x, y, w, h = self.box
        return Detection((x * s, y * s, w * s, h * s), self.score, self.keypoints * s)


def _anchors() -> np.ndarray:
    c = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    yy, xx = np.meshgrid(c, c, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1)  # (2304, 2): x, y centres


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between (N, 4) and (M, 4) boxes given as x, y, w, h."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    ax1, ay1 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx1, by1 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1[:, None], bx1[None]) - np.maximum(a[:, 0, None], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay1[:, None], by1[None]) - np.maximum(a[:, 1, None], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return inter / np.maximum(union, 1e-9)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, kps: np.ndarray, iou: float) -> list[Detection]:
    """MediaPipe-style weighted NMS: overlapping boxes are averaged by score."""
    order = np.argsort(-scores, kind="stable")
    boxes, scores, kps = boxes[order], scores[order], kps[order]
    alive = np.ones(len(boxes), bool)
    out: list[Detection] = []
    ious = iou_matrix(boxes, boxes)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        grp = np.where(alive & (ious[i] >= iou))[0]
        alive[grp] = False
        w = scores[grp][:, None]
        box = (boxes[grp] * w).sum(0) / w.sum()
        kp = (kps[grp] * w[:, :, None]).sum(0) / w.sum()
        out.append(Detection(tuple(float(v) for v in box), float(scores[i]), kp))  # type: ignore[arg-type]  # a box is always 4 values
    return out


def windows(width: int, height: int, tiles: int) -> list[tuple[float, float, float]]:
    """Square windows (x0, y0, side): the letterboxed frame, then tiles of side short/tiles."""
    side = max(width, height)
    out = [((width - side) / 2, (height - side) / 2, float(side))]
    if tiles <= 0:
        return out
    t = min(width, height) / tiles
    if t >= side * 0.9:
        return out

    def starts(length: float) -> list[float]:
        if length <= t:
            return [(length - t) / 2]
        n = math.ceil((length - t) / (0.8 * t)) + 1
        return [float(v) for v in np.linspace(0, length - t, n)]

    out += [(x, y, t) for y in starts(height) for x in starts(width)]
    return out


class BlazeFace:
    """Batched full-range BlazeFace; ``detect`` takes an RGB uint8 image."""

    def __init__(self, model_path: str | Path, threads: int = 0, score_threshold: float = 0.5, nms_iou: float = 0.3):
        from ai_edge_litert.interpreter import Interpreter

        self._interp = Interpreter(model_path=str(model_path), num_threads=threads or None)
        self._in = self._interp.get_input_details()[0]["index"]
        outs = self._interp.get_output_details()
        self._reg = next(o["index"] for o in outs if o["shape"][-1] == 16)
        self._cls = next(o["index"] for o in outs if o["shape"][-1] == 1)
        self._batch = 0
        self._anchors = _anchors()
        self.score_threshold = score_threshold
        self.nms_iou = nms_iou

    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(batch)
        if n != self._batch:
            self._interp.resize_tensor_input(self._in, [n, INPUT, INPUT, 3])
            self._interp.allocate_tensors()
            self._batch = n
        self._interp.set_tensor(self._in, batch)
        self._interp.invoke()
        reg = self._interp.get_tensor(self._reg).reshape(n, GRID * GRID, 16)
        cls = self._interp.get_tensor(self._cls).reshape(n, GRID * GRID)
        return reg, cls

    def detect(self, rgb: np.ndarray, tiles: int = 1, threshold: float | None = None) -> list[Detection]:
        """Faces in ``rgb`` (H, W, 3) uint8, in its pixel coordinates, best first."""
        thr = self.score_threshold if threshold is None else threshold
        h, w = rgb.shape[:2]
        wins = windows(w, h, tiles)
        batch = np.empty((len(wins), INPUT, INPUT, 3), np.float32)
        for i, (x0, y0, side) in enumerate(wins):
            batch[i] = _window(rgb, x0, y0, side)
        batch = batch / 127.5 - 1.0
        reg, cls = self._run(batch)
        scores = 1.0 / (1.0 + np.exp(-np.clip(cls, -80.0, 80.0)))
        all_b, all_s, all_k = [], [], []
        for i, (x0, y0, side) in enumerate(wins):
            keep = np.where(scores[i] >= thr)[0]
            if len(keep) == 0:
                continue
            r = reg[i, keep] / INPUT
            a = self._anchors[keep]
            cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
            bw, bh = r[:, 2], r[:, 3]
            box = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1) * side
            box[:, 0] += x0
            box[:, 1] += y0
            kp = (r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]) * side + np.array([x0, y0], np.float32)
            all_b.append(box)
            all_s.append(scores[i, keep])
            all_k.append(kp)
        if not all_b:
            return []
        dets = weighted_nms(np.concatenate(all_b), np.concatenate(all_s), np.concatenate(all_k), self.nms_iou)
        clipped = (_clip(d, w, h) for d in dets)
        return [d for d in clipped if d.box[2] > 2 and d.box[3] > 2]


def _clip(d: Detection, w: int, h: int) -> Detection:
    x, y, bw, bh = d.box
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(w), x + bw), min(float(h), y + bh)
    return Detection((x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0)), d.score, d.keypoints)


def _window(rgb: np.ndarray, x0: float, y0: float, side: float) -> np.ndarray:
    """The square window resized to 192x192, zero outside the image."""
    h, w = rgb.shape[:2]
    k = INPUT / side
    cx0, cy0 = max(0, math.ceil(x0)), max(0, math.ceil(y0))
    cx1, cy1 = min(w, math.floor(x0 + side)), min(h, math.floor(y0 + side))
    out = np.zeros((INPUT, INPUT, 3), np.uint8)
    if cx1 <= cx0 or cy1 <= cy0:
        return out
    ox = min(INPUT - 1, max(0, round((cx0 - x0) * k)))
    oy = min(INPUT - 1, max(0, round((cy0 - y0) * k)))
    tw = max(1, min(INPUT - ox, round((cx1 - cx0) * k)))
    th = max(1, min(INPUT - oy, round((cy1 - cy0) * k)))
    part = rgb[cy0:cy1, cx0:cx1]
    if part.shape[:2] != (th, tw):
        down = tw < part.shape[1]
        part = cv2.resize(part, (tw, th), interpolation=cv2.INTER_AREA if down else cv2.INTER_LINEAR)
    out[oy : oy + th, ox : ox + tw] = part
    return out

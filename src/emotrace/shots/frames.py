"""Cheap small frames for shot detection, straight from the decoded YUV planes."""

from __future__ import annotations

import math

import cv2
import numpy as np

from emotrace.io.media import Frame

_YUV420 = ("yuv420p",)  # video-range 4:2:0, what OpenCV's I420 conversion expects


def _plane(frame: Frame, i: int, h: int, w: int) -> np.ndarray:
    p = frame.av_frame.planes[i]
    return np.frombuffer(memoryview(p), np.uint8).reshape(-1, p.line_size)[:h, :w]


def _rotate(arr: np.ndarray, rotation: int) -> np.ndarray:
    if rotation == 90:
        return np.ascontiguousarray(np.rot90(arr, k=-1))
    if rotation == 180:
        return np.ascontiguousarray(arr[::-1, ::-1])
    if rotation == 270:
        return np.ascontiguousarray(np.rot90(arr, k=1))
    return arr


def small_bgr(frame: Frame, max_side: int) -> np.ndarray:
    """(H, W, 3) uint8 BGR no larger than about ``max_side``, display-rotated.

    4:2:0 frames are subsampled directly from their planes (no full-size colour conversion),
    which is several times cheaper than ``frame.rgb(max_side)``; other formats fall back to it.
    """
    f = frame.av_frame
    w, h = f.width, f.height
    if f.format.name not in _YUV420 or w < 4 or h < 4:
        return cv2.cvtColor(frame.rgb(max_side=max_side), cv2.COLOR_RGB2BGR)
    k = max(1, math.ceil(max(w, h) / max_side))
    u = _plane(frame, 1, (h + 1) // 2, (w + 1) // 2)[::k, ::k]
    v = _plane(frame, 2, (h + 1) // 2, (w + 1) // 2)[::k, ::k]
    ch, cw = u.shape
    y = _plane(frame, 0, h, w)[::k, ::k][: 2 * ch, : 2 * cw]
    if y.shape != (2 * ch, 2 * cw):
        return cv2.cvtColor(frame.rgb(max_side=max_side), cv2.COLOR_RGB2BGR)
    i420 = np.concatenate((y.ravel(), u.ravel(), v.ravel())).reshape(3 * ch, 2 * cw)
    bgr = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
    return _rotate(bgr, frame.rotation)

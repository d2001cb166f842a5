"""Face quality in [0, 1] from size, sharpness and pose; used to weight faces downstream."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image


def sharpness(gray: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of the face resized to 64x64."""
    g = np.asarray(Image.fromarray(gray).resize((64, 64), Image.Resampling.BILINEAR), np.float32)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(lap.var())


def pose_from_keypoints(kp: np.ndarray) -> tuple[float, float]:
    """Rough (yaw, pitch) in degrees from BlazeFace eyes/nose/mouth keypoints."""
    reye, leye, nose, mouth = kp[0], kp[1], kp[2], kp[3]
    eye_c = (reye + leye) / 2
    eye_d = float(np.linalg.norm(leye - reye)) or 1.0
    yaw = math.degrees(math.asin(float(np.clip((nose[0] - eye_c[0]) / (0.6 * eye_d), -1, 1))))
    # nose sits ~45% of the eyes-to-mouth distance below the eyes in a frontal face
    span = float(mouth[1] - eye_c[1]) or 1.0
    pitch = math.degrees(math.asin(float(np.clip(((nose[1] - eye_c[1]) / span - 0.45) / 0.5, -1, 1))))
    return yaw, pitch


def face_quality(size_px: float, sharp: float, yaw: float, pitch: float) -> float:
    """Combine size (full credit at 80 px), sharpness and frontalness into [0, 1]."""
    s = float(np.clip((size_px - 12) / (80 - 12), 0, 1))
    b = sharp / (sharp + 60.0)
    p = max(0.0, math.cos(math.radians(min(abs(yaw), 90)))) * max(0.0, math.cos(math.radians(min(abs(pitch), 90))))
    return round(s * (0.3 + 0.7 * b) * (0.2 + 0.8 * p), 4)

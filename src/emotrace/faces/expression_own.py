"""emotrace's own expression backend ``emotrace-fer``: a MobileNetV2 trained on FER2013.

The ONNX model (``emotrace train face``) takes ``(N, 1, S, S)`` grayscale pixels in
``[0, 255]`` and returns probabilities in canonical order, already averaged over the face
and its mirror image (test-time flip is inside the graph). Preprocessing here is the one
used for training: RGB -> gray (ITU-R 601, PIL ``L``), resize to ``S x S`` with PIL
bilinear (antialiased when shrinking).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image

import emotrace.faces.assets_own  # noqa: F401  (registers the model in the catalogue)
from emotrace.faces.expression import ExpressionBackend, register_expression
from emotrace.models.onnx import session


def gray_square(img: np.ndarray, size: int) -> np.ndarray:
    """RGB or gray uint8 image -> ``size x size`` gray uint8 (the model's preprocessing)."""
    pil = Image.fromarray(img)
    if pil.mode != "L":
        pil = pil.convert("L")
    if pil.size != (size, size):
        pil = pil.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(pil, dtype=np.uint8)


@register_expression
class EmotraceFer(ExpressionBackend):
    """MobileNetV2 fine-tuned on FER2013 by emotrace, on ONNX Runtime."""

    name: ClassVar[str] = "emotrace-fer"
    model_name: ClassVar[str] = "emotrace-fer"
    # FER2013 framing, measured: BlazeFace finds a square box of 0.83x the image side on
    # FER2013 val faces (median of 65 detections), so box + 10% on each side = the FER frame.
    crop_margin: ClassVar[float] = 0.10
    square: ClassVar[bool] = True

    def __init__(self, model_path: str, device: str = "auto", threads: int = 0):
        super().__init__(model_path, device, threads)
        self._sess = session(model_path, device=device, threads=threads)
        inp = self._sess.get_inputs()[0]
        self._input = inp.name
        self.size = int(inp.shape[-1])

    def preprocess(self, faces: list[np.ndarray]) -> np.ndarray:
        """RGB crops -> ``(N, 1, S, S)`` float32 gray pixels in ``[0, 255]``."""
        out = np.empty((len(faces), 1, self.size, self.size), np.float32)
        for i, face in enumerate(faces):
            out[i, 0] = gray_square(face, self.size)
        return out

    def predict(self, faces: list[np.ndarray]) -> np.ndarray:
        if not faces:
            return np.zeros((0, 7), np.float32)
        return np.asarray(self._sess.run(None, {self._input: self.preprocess(faces)})[0], np.float32)

"""Per-frame features for keyframe selection: CNN embedding, colour histogram, sharpness."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


class FrameEmbedder:
    """MobileNetV2 ImageNet features (1280-d, L2-normalised) in ONNX Runtime."""

    def __init__(self, model_path: Path, size: int = 160, threads: int = 0):
        from emotrace.models.onnx import session

        self.size = size
        self._sess = session(model_path, device="cpu", threads=threads)
        self._input = self._sess.get_inputs()[0].name

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        x = cv2.resize(rgb, (self.size, self.size), interpolation=cv2.INTER_AREA)
        x = (x.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        emb = self._sess.run(None, {self._input: x})[0][0]
        return emb / (np.linalg.norm(emb) + 1e-8)


def colour_histogram(rgb: np.ndarray, bins: tuple[int, int, int] = (16, 4, 4)) -> np.ndarray:
    """HSV histogram, square-rooted (Hellinger) and L2-normalised."""
    small = cv2.resize(rgb, (128, 72), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, list(bins), [0, 180, 0, 256, 0, 256]).ravel()
    h = np.sqrt(h / max(h.sum(), 1.0))
    return (h / (np.linalg.norm(h) + 1e-8)).astype(np.float32)


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian (higher is sharper)."""
    return float(cv2.Laplacian(gray, cv2.CV_32F).var())


@dataclass
class Candidate:
    """One sampled frame that may become a keyframe."""

    time_s: float
    embedding: np.ndarray  # float16, unit norm
    histogram: np.ndarray  # float16, unit norm
    sharpness: float
    luma: float
    path: Path | None = None  # temporary JPEG (None in API-only runs)

    def vector(self, embed_weight: float) -> np.ndarray:
        """Joint unit vector: cosine of two vectors = weighted cosine of embeddings and histograms."""
        return np.concatenate(
            (np.sqrt(embed_weight) * self.embedding.astype(np.float32),
             np.sqrt(1.0 - embed_weight) * self.histogram.astype(np.float32))
        )

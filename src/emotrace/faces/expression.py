"""Facial expression backends behind one interface.

A backend takes face crops and returns probabilities over :data:`emotrace.labels.CANONICAL`
(angry, disgust, fear, happy, sad, surprise, neutral). Each backend declares how it wants
faces cropped (``crop_margin`` around the detector box, ``square``) so that the faces stage
crops the way the classifier was trained; the backend does its own resizing/normalising.

Backends are chosen by name (``stages.faces.expression = "emotrace-fer"``) from
:data:`EXPRESSION_BACKENDS`; modules listed in :data:`BACKEND_MODULES` register themselves
on import, and a backend whose module fails to import is simply not offered.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from emotrace.errors import ConfigError

BACKEND_MODULES: tuple[str, ...] = (
    "emotrace.faces.expression_fer",  # fer mini-Xception baseline (ONNX)
    "emotrace.faces.expression_own",  # emotrace's own trained model (ONNX)
)

EXPRESSION_BACKENDS: dict[str, type[ExpressionBackend]] = {}


class ExpressionBackend(ABC):
    """Face crops in, canonical class probabilities out."""

    name: ClassVar[str]
    model_name: ClassVar[str]  # name in the model catalogue (emotrace.models.assets)
    crop_margin: ClassVar[float] = 0.0  # fraction of the box size added on each side
    square: ClassVar[bool] = True  # expand the box to a square before adding the margin

    def __init__(self, model_path: str, device: str = "auto", threads: int = 0):
        self.model_path = model_path
        self.device = device
        self.threads = threads

    @abstractmethod
    def predict(self, faces: list[np.ndarray]) -> np.ndarray:
        """RGB uint8 crops (any size, one per face) -> (N, 7) probabilities, CANONICAL order."""


def register_expression(cls: type[ExpressionBackend]) -> type[ExpressionBackend]:
    EXPRESSION_BACKENDS[cls.name] = cls
    return cls


def load_backends() -> dict[str, type[ExpressionBackend]]:
    for mod in BACKEND_MODULES:
        try:
            importlib.import_module(mod)
        except ImportError:
            pass
    return dict(EXPRESSION_BACKENDS)


def get_backend_class(name: str) -> type[ExpressionBackend]:
    backends = load_backends()
    if name not in backends:
        raise ConfigError(
            f"stages.faces.expression: unknown expression model {name!r}; available: {', '.join(sorted(backends))}"
        )
    return backends[name]


def crop_box(
    box: tuple[float, float, float, float], margin: float, square: bool, width: int, height: int
) -> tuple[int, int, int, int]:
    """Expand an (x, y, w, h) box as a backend wants it; returns clipped (x0, y0, x1, y1)."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    if square:
        w = h = max(w, h)
    w, h = w * (1 + 2 * margin), h * (1 + 2 * margin)
    x0, y0 = round(cx - w / 2), round(cy - h / 2)
    x1, y1 = round(cx + w / 2), round(cy + h / 2)
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)

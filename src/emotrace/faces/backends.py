"""The faces stage's parts as named, swappable backends (composed like py-feat's ``Detector``).

Four roles, each chosen by name in the faces stage's options:

| role | option | built-in backends | interface |
|---|---|---|---|
| detector | ``detector`` | ``blazeface`` | ``detect(rgb, tiles, threshold) -> list[Detection]`` |
| landmarker | ``landmarker`` | ``mediapipe-litert``, ``none`` | ``__call__(rgb_crop) -> FaceMesh or None`` |
| identity | ``identity_model`` | ``dlib``, ``none`` | ``embed_track(TrackFaces) -> vector or None`` |
| expression | ``expression`` | ``emotrace-fer``, ``fer-mini-xception`` | :class:`~emotrace.faces.expression.ExpressionBackend` |

A backend names the catalogue models it loads and the Python modules it needs; ``build``
gets the resolved model paths and a thread count. Plug-ins add their own with
:func:`register_face_backend` (expression backends with
:func:`emotrace.faces.expression.register_expression`). The same backends serve the faces
stage and the function API (:mod:`emotrace.api`), which works without a pipeline context.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from emotrace.errors import ConfigError, DependencyMissing

if TYPE_CHECKING:
    from emotrace.faces.detect import Detection
    from emotrace.faces.identity import TrackFaces
    from emotrace.faces.landmarks import FaceMesh

Role = Literal["detector", "landmarker", "identity"]
ROLES: tuple[Role, ...] = ("detector", "landmarker", "identity")


class FaceDetector(Protocol):
    def detect(self, rgb: np.ndarray, tiles: int = 1, threshold: float | None = None) -> list[Detection]: ...


class FaceLandmarker(Protocol):
    def __call__(self, rgb: np.ndarray) -> FaceMesh | None: ...


class FaceIdentity(Protocol):
    def embed_track(self, tf: TrackFaces) -> np.ndarray | None: ...


@dataclass(frozen=True)
class FaceBackend:
    role: Role
    name: str
    description: str
    build: Callable[[list[Path], int], Any] | None  # model paths, threads -> backend; None: the role is off
    models: tuple[str, ...] = ()  # names in the model catalogue, resolved in this order
    requires: tuple[str, ...] = ()  # importable modules
    install_hint: str = ""

    def missing_requirements(self) -> list[str]:
        return [m for m in self.requires if importlib.util.find_spec(m) is None]


FACE_BACKENDS: dict[tuple[Role, str], FaceBackend] = {}


def register_face_backend(backend: FaceBackend) -> FaceBackend:
    if backend.role not in ROLES:
        raise ValueError(f"unknown face backend role {backend.role!r}; roles are {', '.join(ROLES)}")
    FACE_BACKENDS[(backend.role, backend.name)] = backend
    return backend


def face_backend(role: Role, name: str) -> FaceBackend:
    """The registered backend, or one :class:`ConfigError` line listing the available ones."""
    try:
        return FACE_BACKENDS[(role, name)]
    except KeyError:
        names = ", ".join(sorted(n for r, n in FACE_BACKENDS if r == role))
        option = "identity_model" if role == "identity" else role
        raise ConfigError(f"stages.faces.{option}: unknown {role} {name!r}; available: {names}") from None


def build_face_backend(role: Role, name: str, model: Callable[[str], Any], threads: int = 0) -> Any:
    """Build a backend; ``model(name)`` resolves a catalogue model (``Context.model`` in a run,
    :func:`emotrace.models.assets.resolve` in the API). Returns ``None`` for a ``none`` backend.
    Raises :class:`DependencyMissing` when a module is not installed, and the resolver's
    :class:`~emotrace.errors.ModelNotFound` when a model is missing."""
    b = face_backend(role, name)
    if b.build is None:
        return None
    missing = b.missing_requirements()
    if missing:
        raise DependencyMissing(
            f"faces: {role} {name}: not installed: {', '.join(missing)} ({b.install_hint or 'pip install ' + ' '.join(missing)})"
        )
    return b.build([Path(model(m).path) for m in b.models], threads)


@lru_cache(maxsize=4)
def _blazeface(path: str, threads: int) -> Any:
    from emotrace.faces.detect import BlazeFace

    return BlazeFace(path, threads=threads)


@lru_cache(maxsize=2)
def _landmarker(path: str, threads: int) -> Any:
    from emotrace.faces.landmarks import Landmarker

    return Landmarker(path, threads=threads)


@lru_cache(maxsize=2)
def _dlib(shape: str, resnet: str) -> Any:
    from emotrace.faces.identity import DlibEmbedder

    return DlibEmbedder(Path(shape), Path(resnet))


register_face_backend(FaceBackend(
    "detector", "blazeface", "MediaPipe BlazeFace full-range on LiteRT, optional tiles for small faces",
    lambda paths, threads: _blazeface(str(paths[0]), threads),
    models=("blazeface-full-range",), requires=("ai_edge_litert",), install_hint="pip install ai-edge-litert",
))  # fmt: skip
register_face_backend(FaceBackend(
    "landmarker", "mediapipe-litert",
    "MediaPipe FaceLandmarker graphs on LiteRT: 478 landmarks, 52 blendshapes, head pose",
    lambda paths, threads: _landmarker(str(paths[0]), threads),
    models=("mediapipe-face-landmarker",), requires=("ai_edge_litert",), install_hint="pip install ai-edge-litert",
))  # fmt: skip
register_face_backend(FaceBackend("landmarker", "none", "no landmarks, blendshapes or head pose", None))
register_face_backend(FaceBackend(
    "identity", "dlib", "dlib 5-point alignment + ResNet face descriptors, tracks clustered into persons",
    lambda paths, threads: _dlib(str(paths[0]), str(paths[1])),
    models=("dlib-shape-predictor-5", "dlib-face-resnet"), requires=("dlib",), install_hint="pip install dlib-bin",
))  # fmt: skip
register_face_backend(FaceBackend("identity", "none", "persons are tracks (no re-identification)", None))


def available_face_backends() -> dict[str, list[str]]:
    """Backend names per role, expression included."""
    from emotrace.faces.expression import load_backends

    out: dict[str, list[str]] = {r: sorted(n for rr, n in FACE_BACKENDS if rr == r) for r in ROLES}
    out["expression"] = sorted(load_backends())
    return out

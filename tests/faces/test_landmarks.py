"""The LiteRT face landmarker (MediaPipe's FaceLandmarker graphs without MediaPipe's runtime):
head pose from the bundle's canonical mesh, and landmarks/blendshapes/pose on real faces that
follow a known rotation of the picture."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emotrace.faces.detect import BlazeFace
from emotrace.faces.landmarks import BLENDSHAPE_NAMES, Landmarker
from emotrace.faces.stage import _square
from emotrace.models.assets import resolve


@pytest.fixture(scope="module")
def landmarker() -> Landmarker:
    return Landmarker(resolve("mediapipe-face-landmarker").path, threads=2)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = (math.radians(v) for v in (yaw, pitch, roll))
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


@pytest.mark.parametrize(
    "angles", [(0.0, 0.0, 0.0), (25.0, 0.0, 0.0), (0.0, -15.0, 0.0), (0.0, 0.0, 30.0), (-20.0, 10.0, -8.0)]
)
def test_head_pose_recovers_a_rotated_canonical_face(
    landmarker: Landmarker, angles: tuple[float, float, float]
) -> None:
    canon = landmarker._canon
    assert canon.shape == (468, 3) and len(landmarker._basis_ids) > 20
    moved = canon @ _rotation(*angles).T * 7.5 + np.array([120.0, -90.0, 4.0])
    pts = moved * np.array([1.0, -1.0, -1.0])  # to image axes: y down, z away from the camera
    pts = np.vstack([pts, np.zeros((10, 3))])  # the 10 iris points are not in the canonical mesh
    assert landmarker.head_pose(pts) == pytest.approx(angles, abs=0.5)


def _faces(t1_path: Path) -> list[np.ndarray]:
    rgb = np.asarray(Image.open(t1_path).convert("RGB"))
    det = BlazeFace(resolve("blazeface-full-range").path, threads=2)
    out = []
    for d in det.detect(rgb, tiles=2):
        x0, y0, x1, y1 = _square(d.box, 0.3, rgb.shape[1], rgb.shape[0])
        out.append(rgb[y0:y1, x0:x1])
    return out


def test_mesh_follows_a_rotated_real_face(landmarker: Landmarker, t1_path: Path) -> None:
    crops = _faces(t1_path)
    assert len(crops) >= 5
    checked = 0
    for crop in crops:
        base = landmarker(crop)
        if base is None:
            continue
        assert base.landmarks.shape == (478, 2) and list(base.blendshapes) == list(BLENDSHAPE_NAMES)
        assert all(0.0 <= v <= 1.0 for v in base.blendshapes.values())
        img = Image.fromarray(crop)
        turned = landmarker(np.asarray(img.rotate(20, resample=Image.BICUBIC)))  # counter-clockwise
        assert turned is not None
        # the landmarks turn with the picture: rotate them back about the crop centre
        c = np.array([crop.shape[1] / 2, crop.shape[0] / 2])
        a = math.radians(20)
        back = (turned.landmarks - c) @ np.array(
            [[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]]
        ) + c
        iod = float(np.linalg.norm(base.landmarks[33] - base.landmarks[263]))
        assert float(np.linalg.norm(back - base.landmarks, axis=1).mean()) < 0.06 * iod
        assert abs((turned.head_pose[2] - base.head_pose[2]) - 20) < 4  # counter-clockwise: roll grows
        assert abs(turned.head_pose[0] - base.head_pose[0]) < 6
        checked += 1
    assert checked >= 4


def test_no_face_no_mesh(landmarker: Landmarker) -> None:
    rng = np.random.default_rng(0)
    assert landmarker(np.full((160, 160, 3), 128, np.uint8)) is None
    assert landmarker(rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)) is None
    assert landmarker(np.zeros((10, 10, 3), np.uint8)) is None

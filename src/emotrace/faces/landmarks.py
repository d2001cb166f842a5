"""Landmarks, 52 blendshapes and head pose from MediaPipe's FaceLandmarker models, on LiteRT.

The ``face_landmarker.task`` bundle is a zip of plain TFLite graphs; this module runs them with
LiteRT (already the detector's runtime), so MediaPipe's own runtime, and the GUI OpenCV and
other packages it declares, are not needed. The steps follow MediaPipe's IMAGE-mode graph:

1. the short-range BlazeFace detector (128x128, in [-1, 1]) finds the face in the crop (the
   crops come from the full-range detector, so each call sees one roughly centred face);
2. a square region of 1.5 times the detection box, rotated so the eyes are level, is warped to
   256x256 (in [0, 1]) for the mesh model: 478 landmarks (x, y, z) and a face-presence score;
3. 146 of those landmarks go to the blendshape model (52 ARKit-style scores);
4. head pose is the rotation of the bundle's canonical face mesh fitted to the landmarks
   (weighted Procrustes on the bundle's own landmark weights).
"""

from __future__ import annotations

import math
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emotrace.faces.detect import weighted_nms

DET_INPUT = 128
MESH_INPUT = 256
ROI_SCALE = 1.5

# face_blendshapes_graph.cc (MediaPipe): the landmarks the blendshape model reads, and its
# output names in order
BLENDSHAPE_LANDMARKS = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144,
    145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173,
    176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283, 284,
    285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324, 332,
    334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386,
    387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473,
    474, 475, 476, 477,
)  # fmt: skip
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)  # fmt: skip


@dataclass
class FaceMesh:
    landmarks: np.ndarray  # (478, 2) pixels in the crop
    blendshapes: dict[str, float]
    head_pose: tuple[float, float, float]  # yaw, pitch, roll in degrees


def pose_from_matrix(m: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from a rotation (or MediaPipe's 4x4 transformation) matrix."""
    r = np.asarray(m, np.float64)[:3, :3]
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    yaw = math.degrees(math.atan2(-r[2, 0], math.hypot(r[2, 1], r[2, 2])))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return round(yaw, 2), round(pitch, 2), round(roll, 2)


def short_range_anchors() -> np.ndarray:
    """(896, 2) anchor centres of the short-range detector: a 16x16 grid with 2 anchors per
    cell (stride 8), then an 8x8 grid with 6 (three stride-16 layers), fixed anchor size."""
    out = []
    for grid, per_cell in ((16, 2), (8, 6)):
        c = (np.arange(grid, dtype=np.float32) + 0.5) / grid
        yy, xx = np.meshgrid(c, c, indexing="ij")
        out.append(np.repeat(np.stack([xx.ravel(), yy.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(out)


def _varint(b: bytes, i: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        c = b[i]
        i += 1
        out |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return out, i


def _fields(b: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of a protobuf message, without a protobuf runtime: the
    value is an int for varints, else the bytes."""
    i = 0
    v: Any
    while i < len(b):
        key, i = _varint(b, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(b, i)
        elif wire == 2:
            n, i = _varint(b, i)
            v, i = b[i : i + n], i + n
        elif wire == 5:
            v, i = b[i : i + 4], i + 4
        elif wire == 1:
            v, i = b[i : i + 8], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, wire, v


def canonical_face(metadata: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical mesh vertices (468, 3), and the Procrustes landmark ids and weights, from the
    bundle's ``geometry_pipeline_metadata_landmarks.binarypb``."""
    verts: list[float] = []
    ids: list[int] = []
    weights: list[float] = []
    for num, wire, v in _fields(metadata):
        if num == 1:  # canonical_mesh: vertex_buffer (x, y, z, u, v per vertex) is field 3
            for n2, w2, v2 in _fields(v):
                if n2 == 3 and w2 == 5:
                    verts.append(struct.unpack("<f", v2)[0])
                elif n2 == 3 and w2 == 2:
                    verts.extend(struct.unpack(f"<{len(v2) // 4}f", v2))
        elif num == 2:  # procrustes_landmark_basis: landmark_id = 1, weight = 2
            ref = {n2: v2 for n2, _, v2 in _fields(v)}
            ids.append(int(ref.get(1, 0)))
            weights.append(struct.unpack("<f", ref[2])[0] if 2 in ref else 0.0)
    mesh = np.asarray(verts, np.float64).reshape(-1, 5)[:, :3]
    return mesh, np.asarray(ids, np.int64), np.asarray(weights, np.float64)


def fit_rotation(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Rotation R of the weighted similarity fit dst ~ s R src + t (Umeyama)."""
    w = w / w.sum()
    ms, md = w @ src, w @ dst
    cov = ((dst - md) * w[:, None]).T @ (src - ms)
    u, _, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


class Landmarker:
    """The three FaceLandmarker graphs on LiteRT; call it with an RGB uint8 face crop."""

    def __init__(self, model_path: str | Path, min_confidence: float = 0.3, threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        with zipfile.ZipFile(model_path) as z:
            graphs = {
                n: z.read(n)
                for n in ("face_detector.tflite", "face_landmarks_detector.tflite", "face_blendshapes.tflite")
            }
            metadata = z.read("geometry_pipeline_metadata_landmarks.binarypb")

        def interp(name: str) -> Interpreter:
            it = Interpreter(model_content=graphs[name], num_threads=threads or None)
            it.allocate_tensors()
            return it

        self._det = interp("face_detector.tflite")
        self._mesh = interp("face_landmarks_detector.tflite")
        self._shapes = interp("face_blendshapes.tflite")
        outs = self._det.get_output_details()
        self._det_reg = next(o["index"] for o in outs if o["shape"][-1] == 16)
        self._det_cls = next(o["index"] for o in outs if o["shape"][-1] == 1)
        outs = self._mesh.get_output_details()
        self._mesh_pts = next(o["index"] for o in outs if o["shape"][-1] == 1434)
        self._mesh_flag = next(o["index"] for o in outs if tuple(o["shape"]) == (1, 1, 1, 1))
        self._anchors = short_range_anchors()
        self._canon, self._basis_ids, self._basis_w = canonical_face(metadata)
        self.min_confidence = min_confidence

    def close(self) -> None:
        """Kept for callers that close explicitly; LiteRT interpreters need no teardown."""

    # ---- steps -------------------------------------------------------------------------
    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
        """Best face in ``rgb``: box (x, y, w, h) and the 6 keypoints in its pixels, and score."""
        h, w = rgb.shape[:2]
        side = float(max(h, w))
        x0, y0 = (w - side) / 2, (h - side) / 2
        k = DET_INPUT / side
        m = np.array([[k, 0, -x0 * k], [0, k, -y0 * k]], np.float32)
        img = cv2.warpAffine(rgb, m, (DET_INPUT, DET_INPUT), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
        self._det.set_tensor(
            self._det.get_input_details()[0]["index"], (img[None].astype(np.float32) / 127.5 - 1.0)
        )
        self._det.invoke()
        reg = self._det.get_tensor(self._det_reg).reshape(-1, 16)
        cls = self._det.get_tensor(self._det_cls).reshape(-1)
        scores = 1.0 / (1.0 + np.exp(-np.clip(cls, -80.0, 80.0)))
        keep = np.where(scores >= self.min_confidence)[0]
        if len(keep) == 0:
            return None
        r = reg[keep] / DET_INPUT
        a = self._anchors[keep]
        cx, cy, bw, bh = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1], r[:, 2], r[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], 1) * side + np.array([x0, y0, 0, 0], np.float32)
        kps = (r[:, 4:16].reshape(-1, 6, 2) + a[:, None, :]) * side + np.array([x0, y0], np.float32)
        best = weighted_nms(boxes, scores[keep], kps, 0.3)[0]
        return np.asarray(best.box, np.float64), np.asarray(best.keypoints, np.float64), best.score

    def roi(self, box: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        """2x3 affine map from image pixels to the mesh model's 256x256 input: a square of 1.5
        times the box's long side, rotated so the eyes (keypoints 0 and 1) are level."""
        (rx, ry), (lx, ly) = keypoints[0], keypoints[1]
        angle = -math.atan2(-(ly - ry), lx - rx)  # MediaPipe: target angle 0 minus the eye line's
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        size = max(box[2], box[3]) * ROI_SCALE
        k = MESH_INPUT / size
        c, s = math.cos(angle), math.sin(angle)
        # the ROI's own axes are the image axes rotated by ``angle``
        rot = np.array([[c, s], [-s, c]]) * k
        t = np.array([MESH_INPUT / 2, MESH_INPUT / 2]) - rot @ np.array([cx, cy])
        return np.hstack([rot, t[:, None]])

    def mesh(self, rgb: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, float]:
        """(478, 3) landmarks in ``rgb`` pixels (z in the same scale) and the presence score."""
        img = cv2.warpAffine(
            rgb, m, (MESH_INPUT, MESH_INPUT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        self._mesh.set_tensor(
            self._mesh.get_input_details()[0]["index"], img[None].astype(np.float32) / 255.0
        )
        self._mesh.invoke()
        pts = self._mesh.get_tensor(self._mesh_pts).reshape(478, 3).astype(np.float64)
        flag = float(self._mesh.get_tensor(self._mesh_flag).reshape(-1)[0])
        presence = 1.0 / (1.0 + math.exp(-max(-80.0, min(80.0, flag))))
        inv = cv2.invertAffineTransform(m)
        xy = pts[:, :2] @ inv[:, :2].T + inv[:, 2]
        scale = math.sqrt(abs(np.linalg.det(inv[:, :2])))
        return np.hstack([xy, pts[:, 2:3] * scale]), presence

    def blendshapes(self, landmarks: np.ndarray) -> dict[str, float]:
        pts = landmarks[list(BLENDSHAPE_LANDMARKS), :2].astype(np.float32)[None]
        self._shapes.set_tensor(self._shapes.get_input_details()[0]["index"], pts)
        self._shapes.invoke()
        out = self._shapes.get_tensor(self._shapes.get_output_details()[0]["index"]).reshape(-1)
        return {n: round(float(v), 4) for n, v in zip(BLENDSHAPE_NAMES, out, strict=True)}

    def head_pose(self, landmarks: np.ndarray) -> tuple[float, float, float]:
        # image axes (x right, y down, z away) to the canonical mesh's (x right, y up, z toward us)
        dst = landmarks[self._basis_ids] * np.array([1.0, -1.0, -1.0])
        return pose_from_matrix(fit_rotation(self._canon[self._basis_ids], dst, self._basis_w))

    def __call__(self, crop: np.ndarray) -> FaceMesh | None:
        """Mesh of the face in an RGB uint8 crop, or ``None`` when none is found."""
        if crop.ndim != 3 or crop.shape[0] < 16 or crop.shape[1] < 16:
            return None
        crop = np.ascontiguousarray(crop)
        found = self.detect(crop)
        if found is None:
            return None
        box, kps, _ = found
        pts, presence = self.mesh(crop, self.roi(box, kps))
        if presence < self.min_confidence:
            return None
        return FaceMesh(pts[:, :2].astype(np.float32), self.blendshapes(pts), self.head_pose(pts))

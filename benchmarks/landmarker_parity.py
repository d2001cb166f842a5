"""Agreement of emotrace's LiteRT FaceLandmarker with MediaPipe's own runtime, on real faces.

Runs both on the same crops (the faces stage's crops of CREMA-D video frames, and FER+ Valid
faces resized to 192 as ``au_check.py`` does) and prints how often both find a face, the landmark
error relative to the inter-ocular distance, blendshape MAE/correlation, and head-pose error.
Needs MediaPipe (``pip install --no-deps mediapipe==1.2.2``; only this benchmark uses it) and
``../shared/data``.

    python benchmarks/landmarker_parity.py [--frames 120] [--ferplus 300]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from emotrace.faces.data import load_rgb, scan_folder
from emotrace.faces.detect import BlazeFace
from emotrace.faces.landmarks import Landmarker, pose_from_matrix
from emotrace.faces.stage import _square
from emotrace.models.assets import resolve

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class MediaPipeReference:
    def __init__(self, path: Path):
        import mediapipe as mp
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions

        self.mp = mp
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=1,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
            min_face_detection_confidence=0.3,
            min_face_presence_confidence=0.3,
        )
        self.lm = vision.FaceLandmarker.create_from_options(opts)

    def __call__(self, crop: np.ndarray):  # type: ignore[no-untyped-def]
        res = self.lm.detect(
            self.mp.Image(image_format=self.mp.ImageFormat.SRGB, data=np.ascontiguousarray(crop))
        )
        if not res.face_landmarks:
            return None
        h, w = crop.shape[:2]
        pts = np.array([(p.x * w, p.y * h) for p in res.face_landmarks[0]], np.float32)
        shapes = {c.category_name: float(c.score) for c in res.face_blendshapes[0]}
        return pts, shapes, pose_from_matrix(res.facial_transformation_matrixes[0])


def video_crops(n: int) -> list[np.ndarray]:
    det = BlazeFace(str(resolve("blazeface-full-range").path), threads=2)
    files = sorted((DATA / "crema_d").glob("*.flv"))
    crops: list[np.ndarray] = []
    per = max(1, n // max(1, len(files)))
    for f in files:
        with av.open(str(f)) as c:
            frames = [fr.to_ndarray(format="rgb24") for fr in c.decode(video=0)]
        for fr in frames[:: max(1, len(frames) // per)][:per]:
            dets = det.detect(fr, tiles=0)
            if dets:
                x0, y0, x1, y1 = _square(dets[0].box, 0.3, fr.shape[1], fr.shape[0])
                crops.append(fr[y0:y1, x0:x1])
    return crops[:n]


def ferplus_crops(n: int) -> list[np.ndarray]:
    data = scan_folder(DATA / "ferplus" / "FER2013Valid")
    return [
        np.asarray(Image.fromarray(load_rgb(f)).resize((192, 192), Image.BICUBIC)) for f in data.files[:n]
    ]


def compare(ours: Landmarker, ref: MediaPipeReference, crops: list[np.ndarray]) -> dict[str, object]:
    both = only_ref = only_ours = 0
    lm_err, bs_abs, pose_err = [], [], []
    bs_a, bs_b = [], []
    t_ours = t_ref = 0.0
    for crop in crops:
        t0 = time.perf_counter()
        a = ours(crop)
        t1 = time.perf_counter()
        b = ref(crop)
        t2 = time.perf_counter()
        t_ours += t1 - t0
        t_ref += t2 - t1
        if a is None or b is None:
            only_ours += a is not None
            only_ref += b is not None
            continue
        both += 1
        iod = float(np.linalg.norm(b[0][33] - b[0][263]))
        lm_err.append(float(np.linalg.norm(a.landmarks - b[0], axis=1).mean()) / max(iod, 1e-6))
        va = np.array([a.blendshapes[k] for k in b[1]])
        vb = np.array(list(b[1].values()))
        bs_abs.append(float(np.abs(va - vb).mean()))
        bs_a.append(va)
        bs_b.append(vb)
        pose_err.append(np.array(a.head_pose) - np.array(b[2]))
    A, B = np.array(bs_a), np.array(bs_b)
    corr = [
        float(np.corrcoef(A[:, j], B[:, j])[0, 1])
        for j in range(A.shape[1])
        if A[:, j].std() > 1e-3 and B[:, j].std() > 1e-3
    ]
    pe = np.array(pose_err)
    return {
        "crops": len(crops),
        "both_found": both,
        "only_mediapipe": only_ref,
        "only_litert": only_ours,
        "landmark_error_iod_mean": round(float(np.mean(lm_err)), 4),
        "landmark_error_iod_p95": round(float(np.percentile(lm_err, 95)), 4),
        "blendshape_mae": round(float(np.mean(bs_abs)), 4),
        "blendshape_corr_median": round(float(np.median(corr)), 3),
        "pose_mae_deg_yaw_pitch_roll": [round(float(v), 2) for v in np.abs(pe).mean(0)],
        "pose_bias_deg_yaw_pitch_roll": [round(float(v), 2) for v in pe.mean(0)],
        "ms_per_crop_litert": round(1000 * t_ours / len(crops), 2),
        "ms_per_crop_mediapipe": round(1000 * t_ref / len(crops), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--ferplus", type=int, default=300)
    args = ap.parse_args()
    path = resolve("mediapipe-face-landmarker").path
    ours, ref = Landmarker(path, threads=2), MediaPipeReference(path)
    out = {
        "crema_d_video_crops": compare(ours, ref, video_crops(args.frames)),
        "ferplus_valid_192": compare(ours, ref, ferplus_crops(args.ferplus)),
    }
    ref.lm.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

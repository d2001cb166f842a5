"""Occlusion saliency for facial expression: which parts of a face drove the prediction.

A grey square slides over the face crop; the drop in the predicted class's probability where
it covers the face is that region's importance. This works with any expression backend
(model-agnostic, no gradients needed). ``explain_video`` writes, for each requested time,
the frame with labelled boxes and one heatmap overlay per face.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from emotrace.errors import InputError, OutputError
from emotrace.faces.detect import BlazeFace
from emotrace.faces.expression import ExpressionBackend, crop_box
from emotrace.labels import CANONICAL


@dataclass
class Saliency:
    heat: np.ndarray  # (H, W) in [0, 1], same size as the crop
    label: str
    probs: np.ndarray  # canonical probabilities of the unoccluded crop


def occlusion_saliency(backend: ExpressionBackend, crop: np.ndarray, patch: float = 0.25, steps: int = 9) -> Saliency:
    """Saliency of ``crop`` (RGB uint8) for the backend's top class."""
    h, w = crop.shape[:2]
    base = backend.predict([crop])[0]
    k = int(np.argmax(base))
    ph, pw = max(1, round(h * patch)), max(1, round(w * patch))
    ys = np.linspace(0, h - ph, steps).round().astype(int)
    xs = np.linspace(0, w - pw, steps).round().astype(int)
    fill = crop.reshape(-1, 3).mean(0).astype(np.uint8)
    variants, boxes = [], []
    for y in ys:
        for x in xs:
            v = crop.copy()
            v[y : y + ph, x : x + pw] = fill
            variants.append(v)
            boxes.append((y, x))
    probs = np.concatenate([backend.predict(variants[i : i + 64]) for i in range(0, len(variants), 64)])
    drop = np.clip(base[k] - probs[:, k], 0, None)
    heat = np.zeros((h, w), np.float64)
    count = np.zeros((h, w), np.float64)
    for (y, x), d in zip(boxes, drop, strict=True):
        heat[y : y + ph, x : x + pw] += d
        count[y : y + ph, x : x + pw] += 1
    heat = heat / np.maximum(count, 1)
    if heat.max() > 0:
        heat = heat / heat.max()
    return Saliency(heat.astype(np.float32), CANONICAL[k], base)


def overlay(crop: np.ndarray, heat: np.ndarray, size: int = 256) -> Image.Image:
    """Heatmap (jet colours) blended over the crop, resized to ``size``."""
    from matplotlib import colormaps

    img = Image.fromarray(crop).resize((size, size), Image.Resampling.BILINEAR)
    hm = Image.fromarray((heat * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)
    colours = (colormaps["jet"](np.asarray(hm) / 255.0)[..., :3] * 255).astype(np.uint8)
    return Image.blend(img, Image.fromarray(colours), 0.45)


def explain_frame(
    rgb: np.ndarray, detector: BlazeFace, backend: ExpressionBackend, tiles: int = 0
) -> list[tuple[tuple[float, float, float, float], np.ndarray, Saliency]]:
    """Every face in the frame: (box, crop, saliency)."""
    h, w = rgb.shape[:2]
    out = []
    for d in detector.detect(rgb, tiles=tiles):
        x0, y0, x1, y1 = crop_box(d.box, backend.crop_margin, backend.square, w, h)
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        if crop.shape[0] < 8 or crop.shape[1] < 8:
            continue
        out.append((d.box, crop, occlusion_saliency(backend, crop)))
    return out


def explain_video(
    video: str | os.PathLike[str],
    times: list[float],
    out_dir: str | os.PathLike[str],
    expression: str | None = None,
    threads: int = 0,
    max_side: int = 1280,
) -> list[Path]:
    """Write ``frame_<T>.png`` and ``face_<T>_<i>_<label>.png`` heatmaps for each time T."""
    from emotrace.faces.backends import build_face_backend
    from emotrace.faces.stage import expression_class
    from emotrace.io.media import iter_frames, probe
    from emotrace.models.assets import resolve

    info = probe(video)
    if not info.has_video:
        raise InputError(video, "no video stream to explain")
    for t in times:
        if t < 0 or (info.duration_s and t > info.duration_s):
            raise InputError(video, f"time {t:g} s is outside the video (0-{info.duration_s:.2f} s)")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(out, f"cannot create folder ({e.strerror or e})") from None
    if not os.access(out, os.W_OK):
        raise OutputError(out, "folder is not writable")
    cls = expression_class(expression)
    backend = cls(str(resolve(cls.model_name).path), threads=threads)
    detector = build_face_backend("detector", "blazeface", resolve, threads)
    todo = sorted(times)
    written: list[Path] = []
    last = None
    for frame in iter_frames(video, fps=None, info=info):
        last = frame
        while todo and frame.time_s + 1e-6 >= todo[0]:
            written += _write(frame.rgb(max_side=max_side), todo.pop(0), detector, backend, out)
        if not todo:
            break
    while todo and last is not None:  # times past the last decodable frame: use the last one
        written += _write(last.rgb(max_side=max_side), todo.pop(0), detector, backend, out)
    return written


def _write(rgb: np.ndarray, t: float, detector: BlazeFace, backend: ExpressionBackend, out: Path) -> list[Path]:
    faces = explain_frame(rgb, detector, backend)
    img = Image.fromarray(rgb)
    draw = ImageDraw.Draw(img)
    paths = []
    for i, (box, crop, sal) in enumerate(faces):
        x, y, w, h = box
        draw.rectangle([x, y, x + w, y + h], outline=(255, 60, 60), width=3)
        draw.text((x, max(0, y - 12)), f"{i} {sal.label} {sal.probs.max():.2f}", fill=(255, 255, 0))
        p = out / f"face_{t:08.3f}_{i}_{sal.label}.png"
        overlay(crop, sal.heat).save(p)
        paths.append(p)
    p = out / f"frame_{t:08.3f}.png"
    img.save(p)
    return [p, *paths]

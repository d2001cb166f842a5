"""Facial action units (FACS) derived from MediaPipe's 52 blendshapes and its face mesh.

These are **derived, not coded**: no model trained on FACS-coded data produces them. Each AU
intensity (0-1) is a documented function of the blendshapes that the face landmarker
estimates (ARKit's names, which were designed after FACS) or, for AU6, AU9 and AU25, of the
mesh geometry (MediaPipe's model leaves cheekSquint and noseSneer at 0). Geometric AUs use
population constants (about the FER+ neutral face) as their zero, not a per-person baseline.
Use them as continuous facial-movement measures on emotrace's timeline, not as a replacement
for a certified FACS coder or a trained AU detector. Where the mapping is weak it says so.

Measured on FER+ (``python benchmarks/au_check.py``; numbers in the model card
``models/cards/action-units.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# AU column -> (FACS name, blendshapes averaged over both sides, how good the correspondence is)
AU_MAP: dict[str, tuple[str, tuple[str, ...], str]] = {
    "au01": ("inner brow raiser", ("browInnerUp",), "direct"),
    "au02": ("outer brow raiser", ("browOuterUpLeft", "browOuterUpRight"), "direct"),
    "au04": ("brow lowerer", ("browDownLeft", "browDownRight"), "direct"),
    "au05": ("upper lid raiser", ("eyeWideLeft", "eyeWideRight"), "direct"),
    "au06": ("cheek raiser", (), ("geometry, weak: lower-lid raise (AU7 raises it too); MediaPipe's "
                                  "cheekSquint blendshape is always 0")),
    "au07": ("lid tightener", ("eyeSquintLeft", "eyeSquintRight"), "direct"),
    "au09": ("nose wrinkler", (), ("geometry, weak: inner brow to nose wing distance (AU4 shrinks it too); "
                                   "MediaPipe's noseSneer blendshape is always 0")),
    "au10": ("upper lip raiser", ("mouthUpperUpLeft", "mouthUpperUpRight"), "direct"),
    "au12": ("lip corner puller", ("mouthSmileLeft", "mouthSmileRight"), "direct"),
    "au14": ("dimpler", ("mouthDimpleLeft", "mouthDimpleRight"), "weak: small, noisy blendshape"),
    "au15": ("lip corner depressor", ("mouthFrownLeft", "mouthFrownRight"), "direct"),
    "au17": ("chin raiser", ("mouthShrugLower",), "approximate"),
    "au18": ("lip pucker", ("mouthPucker",), "direct"),
    "au20": ("lip stretcher", ("mouthStretchLeft", "mouthStretchRight"), "direct"),
    "au22": ("lip funneler", ("mouthFunnel",), "direct"),
    "au23": ("lip tightener", ("mouthPressLeft", "mouthPressRight"),
             "weak: no blendshape for it; mouthPress is closer to AU24 (lip pressor)"),
    "au24": ("lip pressor", ("mouthPressLeft", "mouthPressRight"), "approximate"),
    "au25": ("lips part", (), "geometry: inner-lip gap over mouth width from the mesh"),
    "au26": ("jaw drop", ("jawOpen",), "direct"),
    "au28": ("lip suck", ("mouthRollLower", "mouthRollUpper"), "approximate"),
    "au43": ("eyes closed", ("eyeBlinkLeft", "eyeBlinkRight"), "direct (also AU45, blink)"),
}  # fmt: skip
AU_NAMES: tuple[str, ...] = tuple(AU_MAP)

# MediaPipe face-mesh indices: inner lips (upper, lower) and mouth corners
_UPPER_INNER, _LOWER_INNER, _CORNER_L, _CORNER_R = 13, 14, 61, 291
# eyes: (lower lid centre, outer corner, inner corner) of each eye; outer corners for the eye distance
_EYES = ((145, 33, 133), (374, 263, 362))
_INNER_BROWS_AND_ALAE = ((55, 129), (285, 358))
LIPS_PART_ZERO = 0.02  # gap / mouth width below which the lips count as closed
LIPS_PART_FULL = 0.35  # ... at which AU25 is 1
# AU6 / AU9 geometry: 0 at the relaxed value (about the FER+ Valid neutral mean), 1 a span below it
LOWER_LID_RELAXED, LOWER_LID_SPAN = 0.13, 0.08  # lower-lid height below the eye-corner line / eye width
BROW_ALA_RELAXED, BROW_ALA_SPAN = 0.58, 0.15  # inner brow to nose wing / outer-eye-corner distance


def _dist(p: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(p[a] - p[b]))


def lips_part(landmarks: np.ndarray) -> float:
    """AU25 from the mesh: inner-lip gap over mouth width, 0 at ``LIPS_PART_ZERO``, 1 at ``LIPS_PART_FULL``."""
    pts = np.asarray(landmarks, np.float64)
    gap = _dist(pts, _UPPER_INNER, _LOWER_INNER)
    width = _dist(pts, _CORNER_L, _CORNER_R)
    if width <= 1e-6:
        return 0.0
    return float(np.clip((gap / width - LIPS_PART_ZERO) / (LIPS_PART_FULL - LIPS_PART_ZERO), 0.0, 1.0))


def lower_lid_raise(landmarks: np.ndarray) -> float:
    """AU6 proxy: how far the lower lids have risen towards the line through the eye corners."""
    p = np.asarray(landmarks, np.float64)
    heights = []
    for lo, c1, c2 in _EYES:
        axis = p[c2] - p[c1]
        w = float(np.hypot(*axis))
        if w <= 1e-6:
            return 0.0
        rel = p[lo] - p[c1]
        heights.append(abs(axis[0] * rel[1] - axis[1] * rel[0]) / (w * w))
    return float(np.clip((LOWER_LID_RELAXED - np.mean(heights)) / LOWER_LID_SPAN, 0.0, 1.0))


def nose_wrinkle(landmarks: np.ndarray) -> float:
    """AU9 proxy: how much closer the inner brows have come to the nose wings."""
    p = np.asarray(landmarks, np.float64)
    eyes = _dist(p, 33, 263)
    if eyes <= 1e-6:
        return 0.0
    ratio = np.mean([_dist(p, b, a) for b, a in _INNER_BROWS_AND_ALAE]) / eyes
    return float(np.clip((BROW_ALA_RELAXED - ratio) / BROW_ALA_SPAN, 0.0, 1.0))


_GEOMETRY = {"au06": lower_lid_raise, "au09": nose_wrinkle, "au25": lips_part}


def action_units(blendshapes: Mapping[str, float], landmarks: np.ndarray | None = None) -> dict[str, float]:
    """AU intensities (0-1, rounded to 4 decimals) of one face; AU6, AU9 and AU25 (geometry)
    only when the mesh is given."""
    out: dict[str, float] = {}
    for au, (_, shapes, _) in AU_MAP.items():
        if shapes:
            vals = [float(blendshapes[s]) for s in shapes if s in blendshapes]
            if vals:
                out[au] = round(float(np.clip(np.mean(vals), 0.0, 1.0)), 4)
        elif landmarks is not None and len(landmarks) > _CORNER_R:
            out[au] = round(_GEOMETRY[au](landmarks), 4)
    return out


def au_summary_rows(faces: list, active: float = 0.3) -> list[dict[str, object]]:
    """Per person and AU: observations, mean, 90th percentile and share of observations above ``active``."""
    by_person: dict[str, list[dict[str, float]]] = {}
    for f in faces:
        if f.aus and f.person_id:
            by_person.setdefault(f.person_id, []).append(f.aus)
    rows: list[dict[str, object]] = []
    for pid in sorted(by_person, key=lambda p: (len(p), p)):
        obs = by_person[pid]
        for au in AU_NAMES:
            vals = np.array([o[au] for o in obs if au in o], np.float64)
            if not vals.size:
                continue
            rows.append({
                "person_id": pid, "au": au, "name": AU_MAP[au][0], "n": int(vals.size),
                "mean": round(float(vals.mean()), 4), "p90": round(float(np.percentile(vals, 90)), 4),
                "active_share": round(float((vals >= active).mean()), 4),
            })  # fmt: skip
    return rows

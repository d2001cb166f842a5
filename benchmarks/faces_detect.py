"""Face detection recall and speed on real photos of several people.

Photo: insightface's ``data/images/t1.jpg`` (1280x886, six people; install the wheel with
``pip install --no-deps insightface==2.1``), alone and tiled 2x2 (24 faces, ~25 px each at the
detector's 640-pixel input). Ground truth: hand-marked face centres (a detection counts when
its box contains a centre; each centre matched once). Prints recall, false positives and ms
per image for each tile level of :class:`emotrace.faces.detect.BlazeFace`.

    .venv/bin/python benchmarks/faces_detect.py [--threads 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
from PIL import Image

from emotrace.faces.detect import BlazeFace
from emotrace.models.assets import resolve

T1_FACES = [(110, 330), (320, 215), (518, 345), (780, 410), (935, 135), (1172, 338)]


def score(dets, truth, scale: float) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(matched centres, unmatched detections)."""
    used: set[int] = set()
    hits = 0
    for tx, ty in truth:
        for k, d in enumerate(dets):
            x, y, w, h = (v * scale for v in d.box)
            if k not in used and x <= tx <= x + w and y <= ty <= y + h:
                used.add(k)
                hits += 1
                break
    return hits, len(dets) - len(used)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--side", type=int, default=640, help="longest side given to the detector")
    args = ap.parse_args()
    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("pip install --no-deps insightface==2.1 (for its group photo)")
    photo = Path(next(iter(spec.submodule_search_locations))) / "data" / "images" / "t1.jpg"
    t1 = np.asarray(Image.open(photo).convert("RGB"))
    crowd = np.concatenate([np.concatenate([t1, t1], 1)] * 2, 0)
    crowd_truth = [(x + dx, y + dy) for dx in (0, 1280) for dy in (0, 886) for x, y in T1_FACES]
    det = BlazeFace(resolve("blazeface-full-range").path, threads=args.threads)
    print(f"{'image':<16} {'tiles':>5} {'recall':>8} {'false+':>6} {'ms':>7}")
    for name, img, truth in (("t1 (6 faces)", t1, T1_FACES), ("t1 2x2 (24)", crowd, crowd_truth)):
        h, w = img.shape[:2]
        small = np.asarray(Image.fromarray(img).resize((args.side, round(h * args.side / w))))
        for tiles in (0, 1, 2):
            det.detect(small, tiles=tiles)
            t0 = time.perf_counter()
            for _ in range(5):
                dets = det.detect(small, tiles=tiles)
            ms = (time.perf_counter() - t0) / 5 * 1000
            hits, fp = score(dets, truth, w / args.side)
            print(f"{name:<16} {tiles:>5} {hits:>3}/{len(truth):<4} {fp:>6} {ms:>7.1f}")


if __name__ == "__main__":
    main()

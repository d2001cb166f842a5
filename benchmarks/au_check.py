"""Do emotrace's derived action units move the way FACS says they should, on real faces?

FER+ Valid (majority of 10 votes, images the models never trained on for AUs: none did):
each 48x48 face is upscaled to 192x192 (bicubic) and given to the face landmarker as the
faces stage gives it a crop; AUs come from :func:`emotrace.faces.aus.action_units`. Printed:
how many faces the landmarker found, and AUROC of single AUs and AU combinations for the
expressions FACS ties them to (AU12/AU6 for happiness, AU4 for anger and sadness,
AU1+2+5+26 for surprise, AU9/AU10 for disgust, AU15 for sadness). CREMA-D: mean AU12 per clip
of the one actor (happy should be highest).

    python benchmarks/au_check.py [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import roc_auc_score

from emotrace.faces.aus import AU_NAMES, action_units
from emotrace.faces.data import load_rgb, scan_folder
from emotrace.faces.landmarks import Landmarker
from emotrace.labels import CANONICAL
from emotrace.models.assets import resolve

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CHECKS = [  # (name, AUs averaged, positive classes)
    ("AU12 happy", ("au12",), ("happy",)),
    ("AU6 happy", ("au06",), ("happy",)),
    ("AU6+12 happy", ("au06", "au12"), ("happy",)),
    ("AU4 angry", ("au04",), ("angry",)),
    ("AU4 sad", ("au04",), ("sad",)),
    ("AU4 angry/sad", ("au04",), ("angry", "sad")),
    ("AU15 sad", ("au15",), ("sad",)),
    ("AU1+2+5+26 surprise", ("au01", "au02", "au05", "au26"), ("surprise",)),
    ("AU26 surprise", ("au26",), ("surprise",)),
    ("AU25 surprise", ("au25",), ("surprise",)),
    ("AU9+10 disgust", ("au09", "au10"), ("disgust",)),
    ("AU1+4+20 fear", ("au01", "au04", "au20"), ("fear",)),
]


def face_aus(lm: Landmarker, rgb: np.ndarray, size: int = 192) -> dict[str, float] | None:
    big = np.asarray(Image.fromarray(rgb).resize((size, size), Image.BICUBIC))
    mesh = lm(big)
    return None if mesh is None else action_units(mesh.blendshapes, mesh.landmarks)


def ferplus_aurocs(limit: int = 0) -> dict[str, object]:
    data = scan_folder(DATA / "ferplus" / "FER2013Valid")
    files, labels = data.files, data.labels
    if limit:
        files, labels = files[:limit], labels[:limit]
    lm = Landmarker(resolve("mediapipe-face-landmarker").path)
    t0 = time.perf_counter()
    rows, ys = [], []
    for f, y in zip(files, labels, strict=True):
        a = face_aus(lm, load_rgb(f))
        if a is not None:
            rows.append([a.get(au, np.nan) for au in AU_NAMES])
            ys.append(int(y))
    secs = time.perf_counter() - t0
    X, y = np.array(rows), np.array(ys)
    out: dict[str, object] = {"n": len(files), "found": len(y), "ms_per_face": round(1000 * secs / max(1, len(files)), 2)}
    res = {}
    for name, aus, pos in CHECKS:
        cols = [AU_NAMES.index(a) for a in aus]
        score = np.nanmean(X[:, cols], axis=1)
        target = np.isin(y, [CANONICAL.index(p) for p in pos])
        if target.any() and (~target).any():
            res[name] = {"auroc": round(float(roc_auc_score(target, score)), 4), "positives": int(target.sum())}
    out["checks"] = res
    means = {CANONICAL[c]: {au: round(float(np.nanmean(X[y == c, i])), 4) for i, au in enumerate(AU_NAMES)}
             for c in range(len(CANONICAL)) if (y == c).any()}  # fmt: skip
    out["mean_by_class"] = means
    return out


def crema_au12() -> dict[str, float]:
    from emotrace import analyze
    from emotrace.config import load_config

    cfg = load_config(None, ["stages.voice.enabled=false", "stages.words.enabled=false", "fps=10",
                             "stages.faces.landmarks_interval_s=0"])  # fmt: skip
    out = {}
    for clip in sorted((DATA / "crema_d").glob("1001_DFA_*_XX.flv")):
        tl = analyze(clip, config=cfg)
        vals = [f.aus["au12"] for f in tl.faces if f.aus and "au12" in f.aus]
        out[clip.stem.split("_")[2]] = round(float(np.mean(vals)), 4) if vals else float("nan")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="first N FER+ Valid faces (0 = all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = ferplus_aurocs(args.limit)
    res["crema_d_mean_au12"] = crema_au12()
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"FER+ Valid: landmarker found {res['found']} of {res['n']} faces ({res['ms_per_face']} ms/face)")
    for name, r in res["checks"].items():  # type: ignore[attr-defined]
        print(f"  {name:<22} AUROC {r['auroc']:.3f}  (positives {r['positives']})")
    print("mean AU by FER+ class:")
    m = res["mean_by_class"]
    print("  " + " ".join(f"{au:>6}" for au in AU_NAMES))
    for c, row in m.items():  # type: ignore[attr-defined]
        print(f"  {c:<8}" + " ".join(f"{row[au]:6.3f}" for au in AU_NAMES))
    print("CREMA-D actor 1001, mean AU12 per clip:", res["crema_d_mean_au12"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

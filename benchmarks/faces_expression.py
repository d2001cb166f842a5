"""Expression backends on FER2013 PublicTest (../shared/data/fer2013/val): accuracy, macro-F1,
per-class recall and milliseconds per face (batch of 64, single thread).

    .venv/bin/python benchmarks/faces_expression.py [--backend fer-mini-xception] [--limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import f1_score, recall_score

from emotrace.faces.expression import get_backend_class
from emotrace.labels import CANONICAL
from emotrace.models.assets import resolve

VAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013" / "val"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="fer-mini-xception")
    ap.add_argument("--limit", type=int, default=0, help="images per class (0: all)")
    args = ap.parse_args()
    cls = get_backend_class(args.backend)
    backend = cls(str(resolve(cls.model_name).path), device="cpu", threads=1)
    faces, y = [], []
    for k, lab in enumerate(CANONICAL):
        files = sorted((VAL / lab).glob("*.jpg"))
        for f in files[: args.limit or None]:
            faces.append(np.asarray(Image.open(f).convert("RGB")))
            y.append(k)
    t0 = time.perf_counter()
    probs = np.concatenate([backend.predict(faces[i : i + 64]) for i in range(0, len(faces), 64)])
    ms = (time.perf_counter() - t0) / len(faces) * 1000
    pred = probs.argmax(1)
    yt = np.array(y)
    print(f"backend {args.backend}  split FER2013 PublicTest (val)  n={len(yt)}")
    print(f"accuracy {np.mean(pred == yt):.4f}  macro-F1 {f1_score(yt, pred, average='macro'):.4f}  {ms:.2f} ms/face")
    rec = recall_score(yt, pred, average=None, labels=range(len(CANONICAL)))
    print("recall  " + "  ".join(f"{lab} {r:.2f}" for lab, r in zip(CANONICAL, rec, strict=True)))


if __name__ == "__main__":
    main()

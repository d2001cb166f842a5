"""Speed of expression backends on ONNX Runtime: milliseconds per face on real FER2013 faces.

    .venv/bin/python benchmarks/face_model.py [--model emotrace-fer] [--model fer-mini-xception] [--threads 2]

Reports batch-1 latency (one face per call, as for a single tracked face) and the per-face
cost at batch 16 (many faces in a frame), median of repeated runs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from emotrace.faces.data import load_rgb
from emotrace.faces.expression import get_backend_class
from emotrace.models.assets import resolve

VAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013" / "val"


def per_face_ms(backend, faces: list[np.ndarray], batch: int, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds per face when predicting ``batch`` faces per call.

    CPU time (all threads) does not grow when other processes load the machine, so it is the
    number to compare across runs; wall time is what a user waits on this machine right now.
    """
    chunks = [faces[i : i + batch] for i in range(0, len(faces), batch)]
    backend.predict(chunks[0])  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for c in chunks:
            backend.predict(c)
        wall.append((time.perf_counter() - t0) / len(faces) * 1000)
        cpu.append((time.process_time() - c0) / len(faces) * 1000)
    return float(np.median(wall)), float(np.median(cpu))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", help="expression backend (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--faces", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    files = sorted(VAL.glob("*/*.jpg"))[:: max(1, 3589 // args.faces)][: args.faces]
    faces = [load_rgb(f) for f in files]
    print(
        f"{len(faces)} FER2013 val faces, {args.threads} ORT threads, load average {os.getloadavg()[0]:.1f}"
    )
    for name in args.model or ["emotrace-fer", "fer-mini-xception"]:
        cls = get_backend_class(name)
        backend = cls(str(resolve(cls.model_name).path), device="cpu", threads=args.threads)
        for batch in (1, 16):
            wall, cpu = per_face_ms(backend, faces, batch, args.repeats)
            print(
                f"{name}: batch {batch}: {wall:.2f} ms/face wall, {cpu:.2f} ms/face CPU (all threads, incl. preprocessing)"
            )


if __name__ == "__main__":
    main()

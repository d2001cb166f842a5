"""int8 emotrace-fer: accuracy on FER2013 PublicTest and speed, against the shipped fp32 file.

    .venv/bin/python benchmarks/face_int8.py [--calib 512] [--out /tmp/emotrace-fer-int8.onnx]

Static QDQ quantisation (ONNX Runtime, per-channel weights, activations calibrated with
MinMax on ``--calib`` FER2013 *train* images, preprocessed exactly as the faces stage does).
Speed: median wall and CPU (all threads) ms per face at batch 1, two threads; CPU time is
the number to compare when other work loads the machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from emotrace.faces.data import limit_per_class, load_rgb, scan_folder
from emotrace.faces.expression_own import gray_square
from emotrace.models.assets import resolve
from emotrace.train.metrics import summarize

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fer2013"


def batch_of(files: list[Path]) -> np.ndarray:
    return np.stack([gray_square(load_rgb(f), 64)[None].astype(np.float32) for f in files])


def main() -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    ap = argparse.ArgumentParser()
    ap.add_argument("--calib", type=int, default=512)
    ap.add_argument("--out", type=Path, default=Path("/tmp/emotrace-fer-int8.onnx"))
    args = ap.parse_args()
    fp32 = resolve("emotrace-fer").path
    calib = limit_per_class(scan_folder(DATA / "train"), args.calib // 7, seed=0)
    x_cal = batch_of(calib.files)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{"gray": x_cal[i : i + 1]} for i in range(len(x_cal))])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.it, None)

    pre = args.out.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    quantize_static(
        str(pre), str(args.out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
    )
    val = scan_folder(DATA / "val")
    x_val = batch_of(val.files)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    print(f"FER2013 PublicTest n={len(val.files)}; calibration: {len(calib.files)} train images")
    for name, path in (("fp32 (shipped)", fp32), ("int8 static QDQ", args.out)):
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        probs = np.concatenate([sess.run(None, {"gray": x_val[i : i + 64]})[0] for i in range(0, len(x_val), 64)])
        s = summarize(val.labels, probs.argmax(1))
        wall, cpu = [], []
        for i in range(200):
            t0, c0 = time.perf_counter(), time.process_time()
            sess.run(None, {"gray": x_val[i : i + 1]})
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        size = Path(path).stat().st_size / 1e6
        print(f"{name:18} acc {s['accuracy']:.4f}  macro-F1 {s['macro_f1']:.4f}  "
              f"{np.median(wall[20:]):.2f} ms wall, {np.median(cpu[20:]):.2f} ms CPU per face (batch 1)  {size:.1f} MB")


if __name__ == "__main__":
    main()

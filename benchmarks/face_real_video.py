"""Real-video check of the expression model: CREMA-D actor 1001's six clips (480x360 video).

    .venv/bin/python benchmarks/face_real_video.py [--model PATH.onnx] [--fps 10]

Runs ``emotrace analyze --video-only`` on each clip (the faces stage crops the BlazeFace box of
every sampled frame exactly as in a user's run) and prints, per clip, the intended emotion, the
crowd-perceived one (``summaryTable.csv``), the label with the highest mean probability over the
clip's face observations, and that mean probability of the intended label. ``--model`` swaps the
``emotrace-fer`` file (``EMOTRACE_MODEL_EMOTRACE_FER``) to compare a candidate with the shipped one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "crema_d"
EMO = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--fps", type=float, default=10.0)
    args = ap.parse_args()
    env = dict(os.environ)
    if args.model:
        env["EMOTRACE_MODEL_EMOTRACE_FER"] = str(Path(args.model).resolve())
    perceived: dict[str, str] = {}
    with open(DATA / "summaryTable.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            perceived[row.get("FileName", "")] = row.get("FaceVote", "")  # the face-only crowd vote
    hits = 0
    for clip in sorted(DATA.glob("1001_DFA_*_XX.flv")):
        want = EMO[clip.stem.split("_")[2]]
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            cmd = [str(Path(sys.executable).with_name("emotrace")), "analyze", str(clip), "-o", str(out), "--video-only",
                   "--fps", str(args.fps), "-q", "-f", "json"]
            subprocess.run(cmd, check=True, env=env, capture_output=True)
            tl = json.loads((out / "timeline.json").read_text())
        faces = [f["emotion"]["probs"] for f in tl["faces"] if f.get("emotion")]
        labels = list(faces[0])
        mean = np.mean([[p[k] for k in labels] for p in faces], 0)
        top = labels[int(mean.argmax())]
        hits += top == want
        print(f"{clip.stem:18} intended {want:8} face vote {perceived.get(clip.stem, '?'):10} "
              f"top {top:8} p(intended) {mean[labels.index(want)]:.3f}  faces {len(faces)}")
    print(f"top label = intended on {hits} of 6 clips")


if __name__ == "__main__":
    main()

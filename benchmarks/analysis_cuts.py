"""Emotion-change detection at cuts between CREMA-D clips (all ordered pairs of the six
clips in ../shared/data/crema_d): for face and fused intervals, the labels read before and
after the cut and how far the nearest label change is from the cut.

    .venv/bin/python benchmarks/analysis_cuts.py [--set key=value ...] [--pairs SAD-HAP,ANG-NEU]

A pair passes when the label 1 s before the cut differs from the label 1 s after it and a
change lies within 1 s of the cut (the criterion of tests/analysis/test_cut_real.py).
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import tempfile
import time
from pathlib import Path

from emotrace.config import load_config
from emotrace.pipeline import analyze

CREMA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "crema_d"
CODES = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")


def clip(code: str) -> Path:
    return CREMA / f"1001_DFA_{code}_XX.flv"


def duration(p: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(p)],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def concat(a: str, b: str, out: Path) -> float:
    graph = ("[0:v]fps=25,setsar=1[v0];[0:a]aresample=16000[a0];[1:v]fps=25,setsar=1[v1];"
             "[1:a]aresample=16000[a1];[v0][a0][v1][a1]concat=n=2:v=1:a=1[v][a]")
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(clip(a)), "-i", str(clip(b)), "-filter_complex",
                    graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18",
                    "-c:a", "aac", str(out)], check=True)
    return duration(clip(a))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--pairs", default="", help="comma-separated A-B codes (default: all ordered pairs)")
    args = ap.parse_args()
    pairs = [tuple(p.split("-")) for p in args.pairs.split(",")] if args.pairs else list(
        itertools.permutations(CODES, 2))
    cfg = load_config(overrides=["stages.highlights.enabled=false", *args.overrides])
    print(f"{'pair':<9}{'mod':<6}{'before':<9}{'after':<9}{'offset_s':>9}  ok")
    passed = {"face": 0, "fused": 0}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for a, b in pairs:
            video = Path(d) / f"{a}_{b}.mp4"
            cut = concat(a, b, video)
            tl = analyze(video, config=cfg)
            for mod in ("face", "fused"):
                ivs = sorted((iv for iv in tl.intervals if iv.modality == mod and iv.person_id == "P1"),
                             key=lambda iv: iv.start_s)

                def at(t: float, ivs=ivs) -> str:  # type: ignore[no-untyped-def]
                    return next((iv.emotion for iv in ivs if iv.start_s <= t < iv.end_s), "-")

                changes = [y.start_s for x, y in itertools.pairwise(ivs) if x.emotion != y.emotion]
                off = min((t - cut for t in changes), key=abs, default=float("nan"))
                ok = at(cut - 1) != at(cut + 1) and abs(off) <= 1.0
                passed[mod] += ok
                print(f"{a}-{b:<5}{mod:<6}{at(cut - 1):<9}{at(cut + 1):<9}{off:>9.2f}  {'yes' if ok else 'NO'}")
    n = len(pairs)
    print(f"changes found within 1 s: face {passed['face']}/{n}, fused {passed['fused']}/{n} "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()

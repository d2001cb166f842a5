"""Shots + keyframes throughput on a generated 720p video with known cuts and fades.

Prints the real-time factor (video seconds per wall-clock second), per-stage seconds, peak
memory and boundary precision/recall. Usage::

    python benchmarks/shots.py [--seconds 60] [--size 1280x720] [--fps 30] [--backend default]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from emotrace.config import load_config
from emotrace.io.media import iter_frames, probe
from emotrace.pipeline import Context, new_timeline, null_hook, plan_stages, run_pipeline
from emotrace.shots.evaluate import Segment, make_cut_video, score_boundaries

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "crema_d"
SOURCES = ("testsrc2", "mandelbrot", "CREMA:HAP", "smptehdbars", "life=mold=10:ratio=0.3", "CREMA:ANG",
           "color=c=0x446688", "rgbtestsrc", "CREMA:SAD", "testsrc", "cellauto", "CREMA:NEU")


def segments(total_s: float) -> list[Segment]:
    out: list[Segment] = []
    t, i = 0.0, 0
    while t < total_s:
        src = SOURCES[i % len(SOURCES)]
        if src.startswith("CREMA:"):
            src = str(DATA / f"1001_DFA_{src[6:]}_XX.flv")
        dur = 2.0 + (i * 1.3) % 3.0
        out.append(Segment(src, dur, "fade" if i % 5 == 4 else "cut"))
        t += dur
        i += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--backend", default="default", help="shots backend: default or transnetv2")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="emotrace-shots-bench-"))
    try:
        video = tmp / "cuts.mp4"
        t0 = time.perf_counter()
        truth = make_cut_video(video, segments(args.seconds), size=(w, h), fps=args.fps)
        print(f"generated {video.name}: {w}x{h} @ {args.fps} fps in {time.perf_counter() - t0:.1f} s")
        others = ("faces", "voice", "words", "link", "fusion", "analysis", "highlights", "describe")
        cfg = load_config(overrides={
            "require": "video",
            "stages": {k: {"enabled": False} for k in others}
            | {"shots": {"backend": args.backend}, "keyframes": {}},
        })
        info = probe(video)
        t0, c0 = time.perf_counter(), time.process_time()
        n = sum(1 for _ in iter_frames(video, info=info))
        decode_s, decode_cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"decode only (baseline, same machine now): {n} frames in {decode_s:.2f} s wall, "
              f"{decode_cpu:.2f} s CPU = {info.duration_s / decode_s:.1f}x real time")
        timeline = new_timeline(info, cfg)
        workdir = tmp / "result"
        workdir.mkdir()
        ctx = Context(video, info, cfg, timeline, workdir, null_hook)
        stages = plan_stages(cfg, info, timeline)
        t0, c0 = time.perf_counter(), time.process_time()
        run_pipeline(ctx, stages)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        predicted = [s.start_s for s in timeline.shots[1:]]
        cuts = [b for b, s in zip(truth, segments(args.seconds)[1:], strict=False) if s.transition == "cut"]
        fades = [b for b, s in zip(truth, segments(args.seconds)[1:], strict=False) if s.transition == "fade"]
        print(f"video: {info.duration_s:.1f} s, {info.n_frames} frames")
        print(f"wall: {wall:.2f} s  real-time factor: {info.duration_s / wall:.1f}x  "
              f"({(info.n_frames or 0) / wall:.0f} frames/s)  peak RSS: {peak_mb:.0f} MB")
        # CPU seconds do not depend on other load on the machine: video seconds per CPU second is
        # the real-time factor on one dedicated core (a lower bound for two)
        print(f"CPU: {cpu:.2f} s  ->  {info.duration_s / cpu:.1f}x real time per dedicated core "
              f"({info.duration_s / cpu * 2:.1f}x on 2 cores if perfectly parallel)")
        for st in timeline.provenance.stages:
            print(f"  stage {st.name:10s} {st.backend:12s} {st.status:7s} {st.seconds:7.2f} s")
        all_s = score_boundaries(predicted, truth)
        print(f"boundaries: {len(truth)} true ({len(cuts)} cuts, {len(fades)} fades), {len(predicted)} found; "
              f"P={all_s.precision:.3f} R={all_s.recall:.3f} F1={all_s.f1:.3f}")
        rc = score_boundaries(predicted, cuts)
        rf = score_boundaries(predicted, fades)
        print(f"recall on hard cuts {rc.recall:.3f}, on fades {rf.recall:.3f}")
        missed = [round(b, 2) for b in truth if all(abs(b - p) > 0.5 for p in predicted)]
        extra = [round(p, 2) for p in predicted if all(abs(b - p) > 0.5 for b in truth)]
        print(f"missed boundaries: {missed}  (fades at {[round(b, 2) for b in fades]}); false: {extra}")
        print(f"found: {[round(p, 2) for p in predicted]}")
        n_files = len(list((workdir / "keyframes").glob("*.jpg"))) if (workdir / "keyframes").exists() else 0
        print(f"keyframes: {len(timeline.keyframes)} ({n_files} JPEGs) for {len(timeline.shots)} shots")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Batch throughput: a local process pool against a sequential loop, and memory per worker.

Generates N videos of D seconds (real CREMA-D face clips with their speech, concatenated in a
different order per video, re-encoded to H.264/AAC), then analyses them

* sequentially: ``emotrace.pipeline.analyze`` one after the other in this process (models
  loaded once), and
* with ``emotrace batch``'s local pool of W worker processes (``run_batch`` + ``LocalEngine``),

and prints wall time, videos/min, real-time factor, the speed-up ratio and peak RSS (the
sequential process; each pool worker). Usage::

    python benchmarks/batch.py [--videos 20] [--seconds 30] [--workers 2] \\
        [--set stages.words.enabled=false --set fps=2 ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from emotrace.batch import LocalEngine, collect_inputs, run_batch
from emotrace.config import load_config
from emotrace.pipeline import analyze

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "crema_d"


def make_videos(folder: Path, n: int, seconds: float) -> list[Path]:
    """``n`` videos of ``seconds`` each, from the CREMA-D clips concatenated in rotating order."""
    clips = sorted(DATA.glob("*.flv"))
    if not clips:
        raise SystemExit(f"no CREMA-D clips under {DATA}")
    reps = int(seconds // 2.0) + 2
    out = []
    for i in range(n):
        order = [clips[(i + k * (1 + i % 5)) % len(clips)] for k in range(reps)]
        lst = folder / f"list{i:02d}.txt"
        lst.write_text("".join(f"file '{c.resolve()}'\n" for c in order))
        video = folder / "videos" / f"talk{i:02d}.mp4"
        video.parent.mkdir(exist_ok=True)
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(lst),
             "-map", "0:v", "-map", "0:a", "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
             "-pix_fmt", "yuv420p", "-r", "25", "-c:a", "aac", "-ar", "44100", str(video)],
            check=True,
        )
        out.append(video)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="config override key=value")
    ap.add_argument("--skip-sequential", action="store_true")
    args = ap.parse_args()
    cfg = load_config(None, args.overrides)
    tmp = Path(tempfile.mkdtemp(prefix="emotrace-batch-bench-"))
    try:
        t0 = time.perf_counter()
        videos = make_videos(tmp, args.videos, args.seconds)
        total_s = args.videos * args.seconds
        print(f"generated {len(videos)} x {args.seconds:.0f} s videos in {time.perf_counter() - t0:.1f} s")
        print(f"config overrides: {' '.join(args.overrides) or '(defaults)'}; cpu cores: {os.cpu_count()}")

        s = run_batch(collect_inputs([str(tmp / "videos")]), tmp / "pool", config=cfg,
                      engine=LocalEngine(args.workers))
        assert s.done == len(videos), s.failures
        rss: dict[str, float] = {}
        for o in s.outcomes:
            rss[o.worker] = max(rss.get(o.worker, 0.0), o.peak_rss_mb)
        pool_s = s.seconds
        print(f"pool ({args.workers} workers): {pool_s:.1f} s, {60 * len(videos) / pool_s:.2f} videos/min, "
              f"real-time factor {total_s / pool_s:.2f}x")
        print("  peak RSS per worker (MB): " + ", ".join(f"{v:.0f}" for v in sorted(rss.values())))
        print(f"  videos per worker: {sorted(sum(o.worker == w for o in s.outcomes) for w in rss)}")

        if not args.skip_sequential:
            t0 = time.perf_counter()
            for i, v in enumerate(videos):
                analyze(v, tmp / "seq" / f"{i:02d}", config=cfg)
            seq_s = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"sequential (1 process): {seq_s:.1f} s, {60 * len(videos) / seq_s:.2f} videos/min, "
                  f"real-time factor {total_s / seq_s:.2f}x, peak RSS {peak:.0f} MB")
            print(f"speed-up pool/sequential: {seq_s / pool_s:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

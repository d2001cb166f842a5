"""Streaming I/O: throughput and peak RSS of decoding a 1-minute and a 20-minute video.

Generates 720p H.264 + AAC test videos with ffmpeg (cached in $TMPDIR/emotrace-bench), then in
a fresh process per video decodes frames at 5 fps to RGB and streams the audio at 16 kHz,
and prints wall time, sampled frames/s and peak RSS. Flat memory means the 20-minute peak
is about the 1-minute peak.

Usage: python benchmarks/io_memory.py [--minutes 1 20] [--pipeline]
  --pipeline also runs the full `emotrace analyze` (all default stages) on each video.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(tempfile.gettempdir()) / "emotrace-bench"

CHILD = r"""
import json, resource, sys, time
from emotrace.io.media import iter_audio, iter_frames, probe
path = sys.argv[1]
t0 = time.perf_counter()
info = probe(path)
n = 0
for f in iter_frames(path, fps=5, info=info):
    f.rgb(); n += 1
t1 = time.perf_counter()
samples = sum(a.size for _, a in iter_audio(path, info=info))
t2 = time.perf_counter()
print(json.dumps({"duration_s": info.duration_s, "frames": n, "video_s": t1 - t0, "audio_s": t2 - t1,
                  "audio_samples": samples,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_video(minutes: float) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"testsrc_{minutes:g}min_720p.mp4"
    if not out.exists():
        tmp = out.with_suffix(".part.mp4")
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
             "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=44100",
             "-t", str(minutes * 60), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
             "-c:a", "aac", str(tmp)],
            check=True,
        )
        tmp.rename(out)
    return out


def run_child(args: list[str]) -> tuple[str, float, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return proc.stdout, wall, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 20])
    ap.add_argument("--pipeline", action="store_true")
    a = ap.parse_args()
    print(f"{'video':<12} {'frames':>7} {'decode s':>9} {'frames/s':>9} {'audio s':>8} {'peak RSS MB':>12}")
    for m in a.minutes:
        v = make_video(m)
        out, _, _ = run_child([sys.executable, "-c", CHILD, str(v)])
        r = json.loads(out)
        print(f"{m:>5g} min    {r['frames']:>7} {r['video_s']:>9.1f} {r['frames'] / r['video_s']:>9.1f} "
              f"{r['audio_s']:>8.1f} {r['peak_rss_mb']:>12.0f}")
    if a.pipeline:
        exe = Path(sys.executable).with_name("emotrace")
        for m in a.minutes:
            v = make_video(m)
            with tempfile.TemporaryDirectory() as d:
                cmd = ["/usr/bin/time", "-f", "%M", str(exe), "analyze", str(v), "-o", f"{d}/r", "-q"]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                peak = int(proc.stderr.strip().splitlines()[-1]) / 1024
                print(f"analyze {m:g} min: exit {proc.returncode}, peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()

"""End to end: wall time per stage, real-time factor and peak RSS of `emotrace analyze`.

Generates (or takes) a 720p video with a real face and real speech: the six CREMA-D clips of
actor 1001 (../shared/data/crema_d) looped to the wanted length and centred on a 1280x720
canvas. Runs the full default analysis in a fresh process per video and prints each stage's
seconds (from the timeline's provenance), the whole run's wall time, real-time factor and
peak RSS.

Usage: python benchmarks/e2e.py [--minutes 1 10] [--video PATH] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CREMA = (REPO / ".." / "shared" / "data" / "crema_d").resolve()
CACHE = Path(tempfile.gettempdir()) / "emotrace-bench"
ORDER = ("NEU", "HAP", "SAD", "ANG", "FEA", "DIS")


def make_video(minutes: float) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"crema_{minutes:g}min_720p.mp4"
    if out.exists():
        return out
    base = CACHE / "crema_cycle.mp4"
    if not base.exists():
        inputs: list[str] = []
        parts = []
        for i, e in enumerate(ORDER):
            inputs += ["-i", str(CREMA / f"1001_DFA_{e}_XX.flv")]
            parts.append(f"[{i}:v]fps=25,scale=480:360,setsar=1,pad=1280:720:400:180[v{i}];"
                         f"[{i}:a]aresample=16000,aformat=channel_layouts=mono[a{i}];")
        chain = "".join(f"[v{i}][a{i}]" for i in range(len(ORDER)))
        graph = "".join(parts) + f"{chain}concat=n={len(ORDER)}:v=1:a=1[v][a]"
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
                        "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", str(base)], check=True)
    tmp = out.with_suffix(".part.mp4")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(base),
                    "-t", str(minutes * 60), "-c", "copy", str(tmp)], check=True)
    tmp.rename(out)
    return out


def run(video: Path, overrides: list[str]) -> None:
    exe = Path(sys.executable).with_name("emotrace")
    with tempfile.TemporaryDirectory() as d:
        cmd = ["/usr/bin/time", "-f", "%M", str(exe), "analyze", str(video), "-o", f"{d}/r", "-q"]
        for o in overrides:
            cmd += ["--set", o]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"{video.name}: exit {proc.returncode}: {proc.stderr.strip().splitlines()[-2:]}")
            return
        peak_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
        tl = json.loads(Path(f"{d}/r/timeline.json").read_text())
    dur = tl["video"]["duration_s"]
    print(f"\n{video.name}: {dur:.1f} s video, wall {wall:.1f} s, RTF {wall / dur:.3f}, peak RSS {peak_mb:.0f} MB")
    for s in tl["provenance"]["stages"]:
        print(f"  {s['name']:<11} {s['backend']:<12} {s['status']:<8} {s['seconds']:>8.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10])
    ap.add_argument("--video", type=Path)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    a = ap.parse_args()
    videos = [a.video] if a.video else [make_video(m) for m in a.minutes]
    for v in videos:
        run(v, a.overrides)


if __name__ == "__main__":
    main()

"""Faces stage benchmark: sampled frames per second and peak RSS, 1 vs 10 minutes.

The input is a generated 1280x720 30 fps video with 1-3 real, moving, talking faces (CREMA-D
clips from ../shared/data/crema_d, looped): one face all along, a second from 15 s, a third
from 30-45 s and 50-60 s. The 10-minute input repeats the minute. Each run happens in a
fresh process (so peak RSS is that run's), with only the faces stage enabled, at 5 fps.
"e2e fps" is sampled frames per second of the whole faces-only analysis (decoding included):
the headline number. "stage fps" divides by the faces stage's busy time, which counts its
detection step in the decode thread too (with ``parallel`` on, that overlaps the rest, so it
is no upper bound). Both are wall-clock rates (slow when other jobs share the cores; the load
average is printed); "cpu fps(2c)" is sampled frames per (CPU seconds / 2), the rate two
cores of our own would give when the work spreads over both. ``--sequential`` turns the
decode-ahead thread off (``parallel=false``) for a before/after.

    .venv/bin/python benchmarks/faces.py [--minutes 1 10] [--threads 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CREMA = ROOT.parent / "shared" / "data" / "crema_d"


def make_minute(path: Path) -> None:
    """60 s 720p video with 1-3 real faces (CREMA-D clips looped side by side)."""
    clips = []
    for e in ("HAP", "ANG", "SAD"):  # FLV cannot be looped with -stream_loop: remux to MP4 first
        mp4 = path.with_name(f"crema_{e}.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(CREMA / f"1001_DFA_{e}_XX.flv"), "-an",
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(mp4)], check=True)
        clips.append(mp4)
    inputs: list[str] = ["-f", "lavfi", "-i", "color=c=0x303840:s=1280x720:r=30:d=60"]
    for c in clips:
        inputs += ["-stream_loop", "-1", "-i", str(c)]
    graph = (
        "[1:v]scale=400:300,setpts=PTS-STARTPTS[a];[2:v]scale=360:270,setpts=PTS-STARTPTS[b];"
        "[3:v]scale=320:240,setpts=PTS-STARTPTS[c];"
        "[0:v][a]overlay=x='60+40*sin(t/3)':y=200:shortest=1[v1];"
        "[v1][b]overlay=x=480:y=80:enable='gte(t,15)'[v2];"
        "[v2][c]overlay=x=900:y=380:enable='between(t,30,45)+between(t,50,60)'[v]"
    )
    cmd = ["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[v]", "-t", "60",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True)


def make_long(minute: Path, path: Path, minutes: int) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(minutes - 1), "-i", str(minute),
                    "-c", "copy", str(path)], check=True)


def run_one(video: str, threads: int, parallel: bool = True) -> None:
    """Child process: analyse with the faces stage only, print one JSON line."""
    from emotrace.config import load_config
    from emotrace.pipeline import analyze

    over = {f"stages.{s}.enabled": False for s in
            ("shots", "keyframes", "voice", "words", "link", "fusion", "analysis", "highlights", "describe")}
    over.update({"threads": threads, "require": "video", "fps": 5.0, "parallel": parallel})
    cfg = load_config(overrides=over)
    t0 = time.perf_counter()
    c0 = time.process_time()
    tl = analyze(video, config=cfg)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    st = {s.name: s.seconds for s in tl.provenance.stages}
    frames = len({f.frame_index for f in tl.faces})
    sampled = round((tl.video.duration_s or 0) * 5)
    print(json.dumps({
        "duration_s": tl.video.duration_s, "sampled_frames": sampled, "frames_with_faces": frames,
        "observations": len(tl.faces), "persons": [p.id for p in tl.persons],
        "faces_stage_s": st.get("faces"), "decode_s": st.get("decode"), "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2), "load_avg_1m": os.getloadavg()[0],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="folder for the generated videos")
    ap.add_argument("--sequential", action="store_true", help="parallel=false (no decode-ahead thread)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_one(args.child, args.threads, not args.sequential)
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="emotrace-bench-faces-"))
    work.mkdir(parents=True, exist_ok=True)
    minute = work / "faces_1min.mp4"
    if not minute.exists():
        make_minute(minute)
    print(f"{'minutes':>7} {'sampled':>7} {'obs':>6} {'persons':>8} {'stage fps':>9} {'e2e fps':>8} "
          f"{'cpu fps(2c)':>11} {'peak RSS MB':>11}")
    for m in args.minutes:
        video = minute if m == 1 else work / f"faces_{m}min.mp4"
        if not video.exists():
            make_long(minute, video, m)
        cmd = [sys.executable, __file__, "--child", str(video), "--threads", str(args.threads)]
        if args.sequential:
            cmd.append("--sequential")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        stage_fps = r["sampled_frames"] / r["faces_stage_s"]
        e2e = r["sampled_frames"] / r["wall_s"]
        cpu_fps = r["sampled_frames"] / (r["cpu_s"] / 2)  # if the 2 cores were ours alone
        print(f"{m:>7} {r['sampled_frames']:>7} {r['observations']:>6} {len(r['persons']):>8} "
              f"{stage_fps:>9.1f} {e2e:>8.1f} {cpu_fps:>11.1f} {r['peak_rss_mb']:>11.0f}")
        print("   ", json.dumps(r))


if __name__ == "__main__":
    main()

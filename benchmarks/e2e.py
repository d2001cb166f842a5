"""End to end: wall time per stage, real-time factor and peak RSS of `emotrace analyze`.

Generates (or takes) a 720p video with a real face and speech: the six CREMA-D clips of actor
1001 (../shared/data/crema_d) looped to the wanted length and centred on a 1280x720 canvas.
The sound (``--speech``) is either

- ``varied`` (default): two espeak-ng voices taking turns reading MELD dev utterances
  (conversational English, different every sentence), or
- ``crema``: the clips' own sound, i.e. one sentence ("Don't forget a jacket") said ~27 times a
  minute. Whisper's repetition guard (compression ratio > 2.4) rejects such windows and
  re-decodes them at 5 higher temperatures, so ASR costs ~5x more than on ordinary speech.

Runs the full default analysis in a fresh process per video and prints each stage's seconds
(from the timeline's provenance; stages that ran concurrently overlap), the whole run's wall
time, real-time factor and peak RSS. With ``--fer-python`` (a separate environment made by
``benchmarks/setup_fer_env.sh``), the ``fer`` package's own video analysis runs on the same
video at the same fps and the speed ratio is printed.

Usage: python benchmarks/e2e.py [--minutes 1 10] [--video PATH] [--speech varied|crema]
           [--set key=value ...] [--fer-python /opt/fer-env/bin/python]
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
MELD_DEV = (REPO / ".." / "shared" / "data" / "meld" / "dev_sent_emo.csv").resolve()
CACHE = Path(tempfile.gettempdir()) / "emotrace-bench"
ORDER = ("NEU", "HAP", "SAD", "ANG", "FEA", "DIS")


def _speech_track(seconds: float, out: Path) -> None:
    """``seconds`` of two espeak-ng voices reading MELD dev utterances in turn (16 kHz mono WAV)."""
    import csv

    with MELD_DEV.open(encoding="utf-8", errors="replace") as f:
        lines = [r["Utterance"].replace("\x92", "'").strip() for r in csv.DictReader(f)]
    lines = [t for t in lines if len(t.split()) >= 5 and t.isascii()]
    work = out.with_suffix(".d")
    work.mkdir(exist_ok=True)
    parts: list[str] = []
    total = 0.0
    for i, text in enumerate(lines):
        wav = work / f"{i:03d}.wav"
        voice = "en-us" if i % 2 == 0 else "en-us+f3"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(wav), text], check=True)
        sil = work / f"{i:03d}_sil.wav"
        subprocess.run(["sox", "-n", "-r", "22050", "-c", "1", str(sil), "trim", "0", "0.6"], check=True)
        parts += [str(wav), str(sil)]
        total += float(subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout) + 0.6
        if total >= seconds:
            break
    subprocess.run(["sox", *parts, "-r", "16000", str(out)], check=True)


def make_video(minutes: float, speech: str = "varied") -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"crema_{minutes:g}min_720p{'' if speech == 'crema' else '_' + speech}.mp4"
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
    if speech == "crema":
        cmd = ["-stream_loop", "-1", "-i", str(base), "-t", str(minutes * 60), "-c", "copy"]
    else:
        wav = CACHE / "varied_speech.wav"
        if not wav.exists():
            _speech_track(60.0, wav)
        cmd = ["-stream_loop", "-1", "-i", str(base), "-stream_loop", "-1", "-i", str(wav),
               "-map", "0:v", "-map", "1:a", "-t", str(minutes * 60), "-c:v", "copy", "-c:a", "aac"]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *cmd, str(tmp)], check=True)
    tmp.rename(out)
    return out


def run(video: Path, overrides: list[str]) -> float | None:
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
            return None
        peak_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
        tl = json.loads(Path(f"{d}/r/timeline.json").read_text())
    dur = tl["video"]["duration_s"]
    print(f"\n{video.name}: {dur:.1f} s video, wall {wall:.1f} s, RTF {wall / dur:.3f}, peak RSS {peak_mb:.0f} MB")
    for s in tl["provenance"]["stages"]:
        print(f"  {s['name']:<11} {s['backend']:<12} {s['status']:<8} {s['seconds']:>8.2f} s")
    faces = next((s for s in tl["provenance"]["stages"] if s["name"] == "faces"), None)
    return faces["seconds"] if faces else None


def compare_fer(fer_python: str, video: Path, fps: float, overrides: list[str]) -> None:
    """The fer package's own video analysis vs emotrace's faces stage alone, same video and fps."""
    script = REPO / "benchmarks" / "fer_video.py"
    proc = subprocess.run([fer_python, str(script), str(video), "--fps", str(fps)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"fer: exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
        return
    fer = json.loads(proc.stdout.strip().splitlines()[-1])
    faces_only = [f"stages.{s}.enabled=false" for s in
                  ("shots", "keyframes", "voice", "words", "link", "fusion", "analysis", "highlights")]
    exe = Path(sys.executable).with_name("emotrace")
    with tempfile.TemporaryDirectory() as d:
        cmd = [str(exe), "analyze", str(video), "-o", f"{d}/r", "-q", "--video-only", "--set", f"fps={fps}"]
        for o in faces_only + overrides:
            cmd += ["--set", o]
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        ours = time.perf_counter() - t0
        n_obs = len(json.loads(Path(f"{d}/r/timeline.json").read_text())["faces"])
    print(f"\nfer {fer.get('version')} video analysis at {fps:g} fps: wall {fer['wall_s']:.1f} s, "
          f"{fer['frames_analysed']} frames, {fer['faces']} faces, peak RSS {fer['peak_rss_mb']:.0f} MB")
    print(f"emotrace faces only (detect+track+identity+mesh+expression) at {fps:g} fps: wall {ours:.1f} s, "
          f"{n_obs} faces")
    print(f"ratio fer / emotrace (faces only): {fer['wall_s'] / ours:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 10])
    ap.add_argument("--video", type=Path)
    ap.add_argument("--speech", choices=("varied", "crema"), default="varied")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--fer-python", help="python of a separate env with the fer package (setup_fer_env.sh)")
    a = ap.parse_args()
    videos = [a.video] if a.video else [make_video(m, a.speech) for m in a.minutes]
    for v in videos:
        run(v, a.overrides)
    if a.fer_python:
        compare_fer(a.fer_python, videos[0], 5.0, a.overrides)


if __name__ == "__main__":
    main()

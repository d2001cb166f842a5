"""Voice benchmarks: stage speed (RTF, no ASR), flat memory on long input, diarization error
rate, and (with ``--cv``) the speaker-independent RAVDESS cross-validation of the emotion model.

    .venv/bin/python benchmarks/voice.py                 # RTF + DER (about 1 minute)
    .venv/bin/python benchmarks/voice.py --hour          # + memory on a 1-hour file (a few minutes)
    .venv/bin/python benchmarks/voice.py --cv            # + 5-fold CV by actor on RAVDESS 01-20

Timings use 2 threads (``threads=2``), like a 2-core laptop.
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

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data").resolve()
RAVDESS = DATA / "ravdess_speech"
MIXES = (
    ("01", "02"),
    ("02", "05"),
    ("06", "08"),
    ("18", "20"),
    ("11", "14", "17"),
    ("13", "15", "16"),
    ("03", "04", "07", "10"),
    ("09",),
    ("19",),
)


def _config(**voice: object):  # type: ignore[no-untyped-def]
    from emotrace.config import Config, StageConfig

    cfg = Config(require="audio", threads=2, device="cpu")
    for slot, sc in cfg.stages.items():
        sc.enabled = slot == "voice"
    cfg.stages["voice"] = StageConfig(backend="default", **voice)
    return cfg


def run_once(path: str) -> None:
    """Child process: analyse one file with the voice stage, print seconds, duration and peak RSS."""
    from emotrace.pipeline import analyze

    analyze(path, config=_config(emotion=False, speakers=False))  # load models once (not timed)
    t0, c0 = time.perf_counter(), time.process_time()
    tl = analyze(path, config=_config())
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": dt,
                "cpu_seconds": cpu,
                "duration_s": tl.video.duration_s,
                "segments": len(tl.speech),
                "speakers": len({s.speaker_id for s in tl.speech}),
                "peak_rss_mb": rss,
            }
        )
    )


def child(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def ravdess_mix(actors: tuple[str, ...], out: Path, n: int = 16) -> list[tuple[float, float, str]]:
    from emotrace.voice.testdata import concat_clips

    paths, spk = [], []
    for i in range(n):
        a = actors[i % len(actors)]
        paths.append(sorted((RAVDESS / f"Actor_{a}").glob("*.flac"))[(i * 7 + 3) % 60])
        spk.append(a)
    return concat_clips(paths, spk, out)


def der_table(tmp: Path) -> None:
    import numpy as np

    from emotrace.pipeline import analyze
    from emotrace.voice.der import diarization_error_rate
    from emotrace.voice.testdata import espeak_conversation

    cases = {"espeak 2 voices x 8 turns": (tmp / "conv.wav", espeak_conversation(tmp / "conv.wav"))}
    for actors in MIXES:
        p = tmp / f"mix_{'_'.join(actors)}.wav"
        cases[f"RAVDESS actors {'+'.join(actors)} x 16 clips"] = (p, ravdess_mix(actors, p))
    print("\n## diarization error rate (collar 0.25 s, 10 ms frames)")
    print(f"{'case':40s} {'spk':>3s} {'found':>5s} {'DER':>6s} {'miss':>6s} {'FA':>6s} {'conf':>6s}")
    ders = []
    for name, (path, ref) in cases.items():
        tl = analyze(path, config=_config(emotion=False))
        hyp = [(s.start_s, s.end_s, s.speaker_id or "?") for s in tl.speech]
        d = diarization_error_rate(ref, hyp, collar=0.25)
        if name.startswith("RAVDESS"):
            ders.append(d["der"])
        print(
            f"{name:40s} {len({r[2] for r in ref}):3d} {len({h[2] for h in hyp}):5d} {d['der']:6.3f} "
            f"{d['missed']:6.3f} {d['false_alarm']:6.3f} {d['confusion']:6.3f}"
        )
    print(f"mean DER over the RAVDESS mixes: {np.mean(ders):.3f}")


def speed(tmp: Path, hour: bool) -> None:
    from emotrace.voice.testdata import espeak_conversation

    conv = tmp / "conv.wav"
    if not conv.exists():
        espeak_conversation(conv)
    print("\n## voice stage speed (VAD + GE2E speakers + Whisper-base encoder + emotion, no ASR; 2 threads)")
    lengths = [(120, "2 min")] + ([(3600, "1 hour")] if hour else [])
    for seconds, name in lengths:
        f = tmp / f"long_{seconds}.m4a"
        subprocess.run(
            [
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-stream_loop",
                "-1",
                "-i",
                str(conv),
                "-t",
                str(seconds),
                "-c:a",
                "aac",
                "-b:a",
                "48k",
                str(f),
            ],
            check=True,
        )
        r = child(f)
        rtf, cpu_rtf = r["seconds"] / r["duration_s"], r["cpu_seconds"] / r["duration_s"]
        print(
            f"{name:7s}: {r['seconds']:.1f} s wall for {r['duration_s']:.0f} s audio -> RTF {rtf:.4f} "
            f"(CPU time {r['cpu_seconds']:.1f} s, RTF of CPU time / 2 cores {cpu_rtf / 2:.4f}; "
            f"load average {os.getloadavg()[0]:.1f}); {r['segments']} windows, {r['speakers']} speakers, "
            f"peak RSS {r['peak_rss_mb']:.0f} MB"
        )


def cross_validation(tmp: Path) -> None:
    from emotrace.models.whisper import load_whisper
    from emotrace.voice.cache import StateCache
    from emotrace.voice.datasets import load_corpora
    from emotrace.voice.train import train_corpora

    print("\n## RAVDESS actors 01-20, 5-fold CV by actor (4 held-out actors per fold), 7 classes")
    ds = load_corpora([RAVDESS])
    rep = train_corpora(
        ds,
        tmp / "cv",
        load_whisper(device="cpu", threads=2),
        StateCache(tmp / "states"),
        head="logreg",
        copies=0,
    )
    for head, name in (
        ("per_speaker_norm", "per-speaker normalisation (held-out actor's own clips)"),
        ("global_norm", "global normalisation only"),
    ):
        r = rep["speaker_cv"][head]
        recall = ", ".join(f"{k} {v:.2f}" for k, v in r["per_class_recall"].items())
        print(f"{name}: accuracy {r['accuracy']:.3f}, UAR {r['uar']:.3f}\n  recall: {recall}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child")
    ap.add_argument("--hour", action="store_true", help="also analyse a 1-hour file (flat memory check)")
    ap.add_argument(
        "--cv", action="store_true", help="also run the RAVDESS cross-validation (several minutes)"
    )
    args = ap.parse_args()
    if args.child:
        run_once(args.child)
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        der_table(tmp)
        speed(tmp, args.hour)
        if args.cv:
            cross_validation(tmp)


if __name__ == "__main__":
    main()

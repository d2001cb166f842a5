"""What action units and voice-quality features add to the faces and voice stages.

* voice quality: real-time factor of :func:`emotrace.voice.quality.voice_feature_rows` on a
  minute of espeak-ng speech cut into 6 s segments (what the voice stage hands it), per
  second of audio;
* action units: time of :func:`emotrace.faces.aus.action_units` per face mesh, against the
  faces stage's time per sampled frame on a real CREMA-D clip (with and without AUs).

    python benchmarks/au_voice_speed.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from emotrace.io.media import load_audio

REPO = Path(__file__).resolve().parents[1]
CREMA = REPO / ".." / "shared" / "data" / "crema_d" / "1001_DFA_HAP_XX.flv"
TEXT = ("The meeting ran long again today, and nobody seemed to know why. "
        "I asked twice for the numbers, and twice they promised to send them. ") * 3  # fmt: skip


def voice_rtf(minutes: float = 1.0) -> float:
    from emotrace.voice.quality import voice_feature_rows

    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "s.wav"
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), TEXT], check=True, capture_output=True)
        one = load_audio(wav)
    audio = np.tile(one, int(np.ceil(minutes * 60 * 16000 / one.size)))[: int(minutes * 60 * 16000)]
    dur = audio.size / 16000
    segs = [(a, min(a + 6.0, dur), "S1") for a in np.arange(0, dur - 0.5, 6.5)]
    chunks = [(i / 16000, audio[i : i + 60 * 16000]) for i in range(0, audio.size, 60 * 16000)]
    list(voice_feature_rows(iter(chunks[:1]), segs[:1], 1.0))  # warm-up (imports)
    t0 = time.perf_counter()
    rows = list(voice_feature_rows(iter(chunks), segs, 1.0))
    secs = time.perf_counter() - t0
    print(f"voice quality: {len(rows)} rows for {dur:.0f} s of audio in {secs:.2f} s: RTF {secs / dur:.4f}")
    return secs / dur


def au_cost() -> None:
    from emotrace import analyze
    from emotrace.config import load_config
    from emotrace.faces.aus import action_units

    cfg = load_config(None, ["stages.voice.enabled=false", "stages.words.enabled=false", "fps=10",
                             "stages.faces.landmarks_interval_s=0"])  # fmt: skip
    tl = analyze(CREMA, config=cfg)
    meshes = [f.blendshapes for f in tl.faces if f.blendshapes]
    pts = np.random.default_rng(0).uniform(0, 200, (478, 2)).astype(np.float32)
    t0 = time.perf_counter()
    for _ in range(20):
        for b in meshes:
            action_units(b, pts)
    per = (time.perf_counter() - t0) / (20 * len(meshes))
    face_s = next(s.seconds for s in tl.provenance.stages if s.name == "faces") or 0.0
    per_obs = face_s / max(1, len(tl.faces))
    print(f"action units: {per * 1e6:.0f} us per face mesh; faces stage {per_obs * 1e3:.1f} ms per observation "
          f"({len(tl.faces)} observations, {len(meshes)} meshes): AUs add {100 * per * len(meshes) / face_s:.2f}%")


def main() -> int:
    voice_rtf()
    if CREMA.exists():
        au_cost()
    return 0


if __name__ == "__main__":
    sys.exit(main())

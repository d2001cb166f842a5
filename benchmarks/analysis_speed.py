"""Throughput of fusion, analysis and highlight scoring on a long timeline.

The timeline is synthetic (random Dirichlet scores; timing only, not accuracy): two people
seen at 5 fps and speaking in turns for ``--minutes`` minutes.

    .venv/bin/python benchmarks/analysis_speed.py --minutes 20
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from emotrace.config import Config
from emotrace.model import BBox, FaceObservation, SpeechSegment, Utterance, VideoInfo
from emotrace.pipeline import Context, new_timeline
from emotrace.stage import build_stage


def synthetic(minutes: float, seed: int = 0) -> Context:
    rng = np.random.default_rng(seed)
    dur = minutes * 60
    info = VideoInfo(path="synthetic.mp4", size_bytes=1, container="mp4", duration_s=dur, has_video=True,
                     has_audio=False)
    cfg = Config()
    tl = new_timeline(info, cfg)
    ctx = Context(Path(info.path), info, cfg, tl, None, lambda *a, **k: None)
    for i, t in enumerate(np.arange(0, dur, 0.2)):
        for pid in ("P1", "P2"):
            s = ctx.scores(rng.dirichlet(np.ones(7) * 0.5))
            tl.faces.append(FaceObservation(time_s=float(t), frame_index=i, bbox=BBox(x=0, y=0, w=50, h=50),
                                            det_score=0.9, person_id=pid, quality=float(rng.uniform(0.3, 1)),
                                            emotion=s, smoothed=s))
    t = 0.0
    while t < dur - 4:
        d = float(rng.uniform(1, 4))
        spk = "S1" if rng.random() < 0.5 else "S2"
        tl.speech.append(SpeechSegment(start_s=t, end_s=t + d, speaker_id=spk, person_id="P" + spk[1],
                                       emotion=ctx.scores(rng.dirichlet(np.ones(7)))))
        tl.utterances.append(Utterance(start_s=t, end_s=t + d, text="x", speaker_id=spk,
                                       emotion=ctx.scores(rng.dirichlet(np.ones(7)))))
        t += d + float(rng.uniform(0, 1))
    return ctx


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20.0)
    args = ap.parse_args()
    ctx = synthetic(args.minutes)
    tl = ctx.timeline
    print(f"{args.minutes:g} min: {len(tl.faces)} face observations, {len(tl.speech)} speech segments, "
          f"{len(tl.utterances)} utterances")
    for slot in ("fusion", "analysis", "highlights"):
        st = build_stage(slot, "default", {})
        assert st is not None
        st.setup(ctx)
        t0 = time.perf_counter()
        st.run(ctx)
        print(f"{slot:<11}{time.perf_counter() - t0:8.2f} s")
    print(f"windows {len(tl.windows)}, intervals {len(tl.intervals)}, highlights {len(tl.highlights)}, "
          f"mismatch rows {len(tl.tables['mismatch'])}")


if __name__ == "__main__":
    main()

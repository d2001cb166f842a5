"""Which Whisper-base encoder block carries speech emotion across corpora (issue 19).

    python benchmarks/voice_layers.py LAYERS VARIANT [VARIANT ...]

LAYERS is a comma list of encoder depths (``1,2,3,4,5,6``; 6 is the whole encoder, the input
before issue 19's depth study; 3 ships). For each depth k, CTranslate2 runs the catalogue model
``whisper-base-l{k}`` (``emotrace.models.whisper.encoder_model``: a copy of ``whisper-base`` whose
encoder keeps its first k blocks, int8 as in the stage), states are cached under
``$EMOTRACE_CACHE/voice-states/whisper-base-l{k}`` (a depth's first run fills it; the whole
encoder's took 10 min on 2 cores), and every VARIANT
(as in ``benchmarks/voice_loco.py``: ``logreg:C=0.01``, ``attn:epochs=8``) is scored by
leave-one-corpus-out UAR over RAVDESS, TESS, nEMO and ASED; ``--cv`` adds the RAVDESS 5-fold
speaker-independent CV (the other corpora in every training fold); ``--nested`` picks the depth for
each left-out corpus from LOCO over the other three corpora only (so the choice never sees it).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from emotrace.models.assets import cache_dir
from emotrace.models.whisper import encoder_model, load_whisper
from emotrace.voice import crosscorpus as cc
from emotrace.voice.cache import StateCache
from emotrace.voice.datasets import load_corpora
from emotrace.voice.train import _pool, extract_states

sys.path.insert(0, str(Path(__file__).parent))
from voice_loco import DATA, parse


def main() -> None:
    depths = [int(x) for x in sys.argv[1].split(",")]
    flags = {a for a in sys.argv[2:] if a.startswith("--")}
    variants = [a for a in sys.argv[2:] if a not in flags]
    ds = load_corpora([DATA / c for c in ("ravdess_speech", "tess", "nemo", "ased")])
    pools = {}
    for k in depths:
        entries, _ = extract_states(
            ds,
            load_whisper(model=encoder_model(k), threads=2),
            StateCache(cache_dir() / "voice-states", encoder_model(k)),
        )
        pool = _pool(ds, entries)
        if "--nested" in flags:
            pools[k] = pool
        for v in variants:
            kind, kw = parse(v)
            t = time.time()
            r = cc.leave_one_corpus_out(lambda kind=kind, kw=kw: cc.HEADS[kind](**kw), pool)
            per = "  ".join(f"{c} {r['per_corpus'][c]['uar']:.3f}" for c in r["per_corpus"])
            print(
                f"depth {k} {v}: {per}  mean LOCO UAR {r['mean_uar']:.3f} ({time.time() - t:.0f} s)",
                flush=True,
            )
            if "--cv" in flags:
                t = time.time()
                cv = cc.speaker_cv(lambda kind=kind, kw=kw: cc.HEADS[kind](**kw), pool)
                print(
                    f"depth {k} {v}: RAVDESS 5-fold speaker CV accuracy {cv['accuracy']:.3f}  "
                    f"UAR {cv['uar']:.3f} ({time.time() - t:.0f} s)",
                    flush=True,
                )
    if "--nested" in flags:
        choose_depth_inside(pools)


def choose_depth_inside(pools: dict[int, cc.Pool]) -> None:
    """For each left-out corpus, pick the depth by LOCO (logreg C=0.01) over the other three only."""
    for c in cc.LOCO_CORPORA:
        inner = [x for x in cc.LOCO_CORPORA if x != c]
        scores = {}
        for k, pool in pools.items():
            sub = pool.subset(pool.corpora != c)
            scores[k] = cc.leave_one_corpus_out(lambda: cc.HEADS["logreg"](C=0.01), sub, corpora=inner)[
                "mean_uar"
            ]
        best = max(scores, key=scores.__getitem__)
        print(
            f"{c} left out: inner LOCO UAR by depth "
            + "  ".join(f"{k}: {v:.3f}" for k, v in scores.items())
            + f"  -> depth {best}",
            flush=True,
        )


if __name__ == "__main__":
    main()

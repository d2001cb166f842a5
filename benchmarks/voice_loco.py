"""Leave-one-corpus-out speech emotion over RAVDESS, TESS, nEMO and ASED from the state cache.

    python benchmarks/voice_loco.py COPIES VARIANT [VARIANT ...]

VARIANT is ``shipped`` (a logistic-regression ``.npz`` model on each corpus: the RAVDESS-only model
replaced in issue 19, ``git show f2ba600:src/emotrace/models/weights/emotrace-voice-emotion.npz >
old.npz`` and ``EMOTRACE_MODEL_EMOTRACE_VOICE_EMOTION=old.npz``; the shipped ONNX model heard all four
corpora, so LOCO does not apply to it), or a head with options, e.g.
``logreg:C=0.01``, ``logreg:C=0.05:speaker_norm=False``, ``attn:epochs=12``. COPIES is the
number of augmented copies per clip (0 = clean only). States of the shipped encoder depth
(``whisper-base-l3``; ``benchmarks/voice_layers.py`` compares depths) are cached in
``$EMOTRACE_CACHE/voice-states`` (first run: ~10 min clean, ~30 min with 2 copies, 2 cores).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from emotrace.models.assets import cache_dir, resolve
from emotrace.models.whisper import DEFAULT_ENCODER_DEPTH, encoder_model, load_whisper
from emotrace.voice import crosscorpus as cc
from emotrace.voice.cache import StateCache
from emotrace.voice.datasets import load_corpora
from emotrace.voice.train import _pool, extract_states, score

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ENCODER = encoder_model(DEFAULT_ENCODER_DEPTH)  # the shipped model's input (benchmarks/voice_layers.py compares depths)


def shipped(pool: cc.Pool) -> None:
    from emotrace.voice.classifier import VoiceEmotionModel
    from emotrace.voice.evaluate import restrict

    path = resolve("emotrace-voice-emotion").path
    if path.suffix != ".npz":
        sys.exit("shipped: set EMOTRACE_MODEL_EMOTRACE_VOICE_EMOTION to a .npz model (see the docstring)")
    m = VoiceEmotionModel.load(path)
    for norm in ("spk", "glob"):
        uars = []
        for c in cc.LOCO_CORPORA:
            sub = pool.subset(pool.corpora == c)
            X = sub.pooled(0)
            probs = m.spk.proba(cc.per_speaker(X, sub.speakers)) if norm == "spk" else m.glob.proba(X)
            labels = [lab for lab in cc.LABELS if lab in set(sub.labels.tolist())]
            r = score(sub.labels, np.array(labels)[restrict(probs, m.labels, labels).argmax(1)], labels)
            uars.append(r["uar"])
            print(f"shipped {norm} {c}: UAR {r['uar']:.3f}  accuracy {r['accuracy']:.3f}")
        print(f"shipped {norm}: mean UAR {np.mean(uars):.3f} (RAVDESS was its training data)")


def parse(variant: str) -> tuple[str, dict[str, object]]:
    kind, *kv = variant.split(":")
    kw: dict[str, object] = {}
    for k, v in (x.split("=") for x in kv):
        kw[k] = v == "True" if v in ("True", "False") else (float(v) if "." in v else int(v))
    return kind, kw


def main() -> None:
    copies, variants = int(sys.argv[1]), sys.argv[2:]
    ds = load_corpora([DATA / c for c in ("ravdess_speech", "tess", "nemo", "ased")])
    enc = ENCODER
    if "shipped" in variants:  # an old .npz model reads the encoder it was trained on
        from emotrace.voice.classifier import VoiceEmotionModel

        path = resolve("emotrace-voice-emotion").path
        enc = VoiceEmotionModel.load(path).encoder if path.suffix == ".npz" else enc
    entries, bad = extract_states(
        ds,
        load_whisper(model=enc, threads=2),
        StateCache(cache_dir() / "voice-states", enc),
        copies=copies,
    )
    pool = _pool(ds, entries)
    print(f"{len(pool.labels)} clips, {copies} augmented copies each, {len(bad)} unreadable")
    for v in variants:
        if v == "shipped":
            shipped(pool)
            continue
        kind, kw = parse(v)
        t = time.time()
        r = cc.leave_one_corpus_out(lambda kind=kind, kw=kw: cc.HEADS[kind](**kw), pool, log=print)
        print(f"{v}: mean LOCO UAR {r['mean_uar']:.3f}  ({time.time() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

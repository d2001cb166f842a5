"""Choose the text ensemble's member weights and neutral scale on held-out MELD train dialogues.

    .venv/bin/python benchmarks/text_ensemble.py emotrace-text-mpnet-pn=PATH.onnx emotrace-text-minilm-pn=PATH.onnx ...

The held-out slice is the one ``emotrace train text`` keeps out of training (10% of the
training dialogues, split seed 13), so every member was trained without it. The grid search
(weights on a 0.05 simplex, neutral scale 0.70-1.00) runs on that slice only; MELD dev is
scored once, for the chosen setting and for each member alone, and never drives a choice.
Member probabilities are cached under ``--cache`` (keyed by file size and mtime).
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from emotrace.labels import CANONICAL
from emotrace.models.assets import resolve
from emotrace.text.classifier import TextEmotionModel
from emotrace.text.data import load_dataset
from emotrace.text.metrics import classification_report
from emotrace.text.train import split_by_group

MELD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "meld"


def member_probs(path: Path, sets: dict, cache: Path) -> dict[str, np.ndarray]:
    st = path.stat()
    key = cache / f"{path.stem}-{st.st_size}-{int(st.st_mtime)}.npz"
    if key.exists():
        z = np.load(key)
        return {k: z[k] for k in z.files}
    model = TextEmotionModel(path, resolve("minilm-tokenizer").path, threads=2)
    out = {}
    for name, ds in sets.items():
        preds = model.predict(ds.texts, ds.contexts, ds.following)
        out[name] = np.array([[p.emotion[k] for k in CANONICAL] for p in preds], np.float64)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(key, **out)
    return out


def combine(probs: list[np.ndarray], w: tuple[float, ...], neutral: float) -> np.ndarray:
    p = sum(wi * pi for wi, pi in zip(w, probs, strict=True))
    p[:, CANONICAL.index("neutral")] *= neutral
    return p / p.sum(1, keepdims=True)


def score(truth: list[str], p: np.ndarray) -> dict:
    return classification_report(truth, [CANONICAL[i] for i in p.argmax(1)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("members", nargs="+", help="NAME=PATH.onnx")
    ap.add_argument("--cache", type=Path, default=Path("runs/text/probs"))
    ap.add_argument("--step", type=float, default=0.05)
    ap.add_argument("--weights", help="fixed comma-separated member weights: no search (members trained on all of train)")
    ap.add_argument("--neutral", type=float, default=1.0, help="neutral scale with --weights")
    args = ap.parse_args()
    names = [m.split("=", 1)[0] for m in args.members]
    paths = [Path(m.split("=", 1)[1]) for m in args.members]

    train = load_dataset(MELD / "train_sent_emo.csv", "train")
    _, held_idx = split_by_group(train, 0.1, 13)
    sets = {"held": train.subset(held_idx), "dev": load_dataset(MELD / "dev_sent_emo.csv", "dev")}
    probs = [member_probs(p, sets, args.cache) for p in paths]

    k = len(probs)
    held, dev = [p["held"] for p in probs], [p["dev"] for p in probs]
    held_truth, dev_truth = sets["held"].labels, sets["dev"].labels
    print(f"held-out slice n={len(held_truth)}, dev n={len(dev_truth)}")
    if args.weights:  # members trained on all of train: held-out scores below are not held out
        best_w, best_s = tuple(float(v) for v in args.weights.split(",")), args.neutral
    else:
        n_steps = round(1 / args.step)
        grid = [
            tuple(c / n_steps for c in combo)
            for combo in itertools.product(range(n_steps + 1), repeat=k)
            if sum(combo) == n_steps
        ]
        scales = np.round(np.arange(0.70, 1.001, 0.05), 2)
        results = sorted(
            ((score(held_truth, combine(held, w, s))["weighted_f1"], w, float(s)) for w in grid for s in scales),
            key=lambda r: -r[0],
        )
        _, best_w, best_s = results[0]
        print("top settings on held-out (weighted F1):")
        for f1, w, s in results[:8]:
            print(f"  {f1:.4f}  weights {dict(zip(names, w, strict=True))}  neutral x{s}")
    settings = {n: (tuple(float(j == i) for j in range(k)), 1.0) for i, n in enumerate(names)}
    settings["chosen ensemble"] = (best_w, best_s)
    rows = {
        n: (score(held_truth, combine(held, w, s)), score(dev_truth, combine(dev, w, s)))
        for n, (w, s) in settings.items()
    }
    print(f"\n{'':28}{'held wF1':>10}{'dev wF1':>10}{'dev acc':>10}{'dev mF1':>10}")
    for n, (h, d) in rows.items():
        print(f"{n:28}{h['weighted_f1']:>10.4f}{d['weighted_f1']:>10.4f}{d['accuracy']:>10.4f}{d['macro_f1']:>10.4f}")
    print(json.dumps({"weights": dict(zip(names, best_w, strict=True)), "neutral_scale": best_s}))


if __name__ == "__main__":
    main()

"""Choose emotrace-text-xed's naive-Bayes blend (smoothing, weight) and temperature without the test lines.

    .venv/bin/python benchmarks/text_xed_blend.py [XED_ROOT] [--cache inner_lr.npz]

``emotrace train text-multilingual`` holds out the last 20% of every projection file (every
fifth line of a hand-annotated file) as its test split. This script never reads those lines:
it splits the *training* part of each file the same way again (its last 20% = validation),
fits the logistic regression on the rest (C=16, 600 L-BFGS steps, about 12 minutes on 2
cores; ``--cache`` keeps it), and grids the naive Bayes smoothing and blend weight by mean
validation accuracy over the non-English languages with at least 80 single-label validation
lines. The temperature is then fitted by validation log-loss. The chosen values are the
defaults ``NB_ALPHA``, ``NB_WEIGHT`` and ``TEMPERATURE`` in ``emotrace.text.multilingual``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import MultinomialNB

from emotrace.text.multilingual import (
    EMOTIONS,
    Featurizer,
    XedFile,
    normalized,
    scan_xed,
    single_label,
    split_lines,
)

XED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "xed"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=str(XED))
    ap.add_argument("--cache", default="", help="npz to keep the inner logistic regression in")
    ap.add_argument("--min-lines", type=int, default=80)
    args = ap.parse_args()

    feats = Featurizer()
    texts: list[str] = []
    y: list[int] = []
    w: list[float] = []
    val = {}
    for f in scan_xed(args.root):
        train, _test = split_lines(f, 0.2)  # the test part is not read below
        inner, va = split_lines(XedFile(f.language, f.path, train, f.contiguous), 0.2)
        for x in inner:
            for lab in x.labels:
                texts.append(x.text)
                y.append(EMOTIONS.index(lab))
                w.append(1.0 / len(x.labels))
        val[f.language if f.contiguous else f.language + "-annotated"] = va
    seen = {normalized(t) for t in texts}
    ya, wa = np.asarray(y), np.asarray(w)
    x_train = feats(texts)
    vals = {k: single_label(v, seen) for k, v in val.items()}
    vals = {k: v for k, v in vals.items() if len(v) >= args.min_lines and not k.startswith("en")}
    xv = {k: feats([t for t, _ in v]) for k, v in vals.items()}
    tv = {k: np.array([EMOTIONS.index(lab) for _, lab in v]) for k, v in vals.items()}
    print("validation lines", {k: len(v) for k, v in vals.items()}, flush=True)

    t0 = time.time()
    if args.cache and Path(args.cache).exists():
        z = np.load(args.cache)
        coef, icpt = z["coef"], z["intercept"]
    else:
        lr = LogisticRegression(C=16.0, max_iter=600, class_weight="balanced").fit(
            x_train, ya, sample_weight=wa
        )
        coef, icpt = lr.coef_, lr.intercept_
        if args.cache:
            np.savez(args.cache, coef=coef, intercept=icpt)
    print(f"logistic regression: {time.time() - t0:.0f} s", flush=True)
    zl = {k: np.asarray(xv[k] @ coef.T) + icpt for k in vals}

    def accuracy(zs: dict[str, np.ndarray]) -> tuple[float, dict[str, float]]:
        a = {k: float((zs[k].argmax(1) == tv[k]).mean()) for k in vals}
        return float(np.mean(list(a.values()))), a

    def nll(zs: dict[str, np.ndarray], t: float) -> float:
        tot, n = 0.0, 0
        for k in vals:
            s = zs[k] / t
            s = s - s.max(1, keepdims=True)
            lp = s - np.log(np.exp(s).sum(1, keepdims=True))
            tot += float(-lp[np.arange(len(tv[k])), tv[k]].sum())
            n += len(tv[k])
        return tot / n

    m, a = accuracy(zl)
    print(f"logistic regression alone: mean {m:.4f}", {k: round(v, 3) for k, v in a.items()}, flush=True)
    counts = np.bincount(ya, weights=wa, minlength=len(EMOTIONS))
    balance = len(ya) / (len(EMOTIONS) * counts)
    best: tuple[float, float | None, float] = (m, None, 0.0)
    for alpha in (0.01, 0.03, 0.1, 0.3):
        nb = MultinomialNB(alpha=alpha).fit(x_train, ya, sample_weight=wa * balance[ya])
        zn = {k: np.asarray(xv[k] @ nb.feature_log_prob_.T) + nb.class_log_prior_ for k in vals}
        for b in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0):
            m, a = accuracy({k: (1 - b) * zl[k] + b * zn[k] for k in vals})
            print(
                f"alpha {alpha} weight {b}: mean {m:.4f} " + " ".join(f"{k} {a[k]:.3f}" for k in sorted(a)),
                flush=True,
            )
            if m > best[0]:
                best = (m, alpha, b)
    m, alpha, b = best
    print(f"best: alpha {alpha} weight {b} mean validation accuracy {m:.4f}", flush=True)
    zb = zl
    if alpha is not None:
        nb = MultinomialNB(alpha=alpha).fit(x_train, ya, sample_weight=wa * balance[ya])
        zb = {
            k: (1 - b) * zl[k] + b * (np.asarray(xv[k] @ nb.feature_log_prob_.T) + nb.class_log_prior_)
            for k in vals
        }
    lt = minimize_scalar(lambda v: nll(zb, float(np.exp(v))), bounds=(-3, 3), method="bounded").x
    t = float(np.exp(lt))
    print(f"temperature {t:.3f} (validation log-loss {nll(zb, t):.4f}; at 1.0: {nll(zb, 1.0):.4f})")


if __name__ == "__main__":
    main()

"""``emotrace train fusion``: fit the learned fusion on labelled clips and compare it,
clip-grouped cross-validated, with late fusion and each single modality."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.errors import InputError
from emotrace.fusion.align import MODALITIES
from emotrace.fusion.dataset import analysis_config, read_labelled_clips, timelines_for
from emotrace.fusion.late import late_fuse
from emotrace.fusion.learned import LearnedFusion, fit, timeline_features


def _scores(y_true: list[str], y_pred: list[str]) -> tuple[float, float]:
    from emotrace.train.metrics import report

    labels = sorted(set(y_true) | set(y_pred))
    r = report(y_true, y_pred, labels)
    return r["accuracy"], r["macro_f1"]


def train_fusion(
    source: str | Path,
    out: str | Path,
    overrides: list[str] | None = None,
    cache: Path | None = None,
    window_s: float = 1.0,
    folds: int = 5,
    c: float = 1.0,
    echo: Callable[[str], None] = print,
) -> tuple[LearnedFusion, list[dict[str, Any]]]:
    """Train, evaluate (grouped by clip) and save a learned fusion model; returns it and the
    comparison rows (method, windows, accuracy, macro-F1)."""
    clips = read_labelled_clips(source)
    config = analysis_config(overrides)
    tls = timelines_for([p for p, _ in clips], config, cache,
                        progress=lambda i, p: echo(f"[{i + 1}/{len(clips)}] {p.name}"))
    labels = list(tls[0].labels)
    xs, ys, groups, cells = [], [], [], []
    for gi, ((clip, lab), tl) in enumerate(zip(clips, tls, strict=True)):
        if list(tl.labels) != labels:
            raise InputError(clip, "label space differs from the other clips")
        x, cl = timeline_features(tl, window_s)
        xs.append(x)
        ys += [lab] * len(x)
        groups += [gi] * len(x)
        cells += cl
    x_all = np.concatenate(xs)
    if len(x_all) == 0:
        raise InputError(source, "no face, voice or text scores in any clip: nothing to learn from")
    if len(set(ys)) < 2:
        raise InputError(source, "need clips of at least two emotions")
    y_arr = np.asarray(ys)
    g_arr = np.asarray(groups)

    rows: list[dict[str, Any]] = []
    n_groups = len(set(groups))
    if n_groups >= 3:
        from sklearn.model_selection import GroupKFold

        pred = np.empty(len(ys), dtype=object)
        for tr, te in GroupKFold(n_splits=min(folds, n_groups)).split(x_all, y_arr, g_arr):
            if len(set(y_arr[tr])) < 2:
                pred[te] = y_arr[tr][0]
                continue
            m = fit(x_all[tr], list(y_arr[tr]), labels, c)
            pred[te] = [labels[i] for i in m.predict_proba(x_all[te]).argmax(1)]
        acc, f1 = _scores(ys, list(pred))
        rows.append({"method": "learned (cross-validated)", "windows": len(ys), "accuracy": acc, "macro_f1": f1})
    late = [late_fuse(c) for c in cells]
    ok = [i for i, f in enumerate(late) if f is not None]
    acc, f1 = _scores([ys[i] for i in ok], [labels[int(np.argmax(late[i][0]))] for i in ok])  # type: ignore[index]  # ok keeps only the non-None results
    rows.append({"method": "late fusion", "windows": len(ok), "accuracy": acc, "macro_f1": f1})
    for mod in MODALITIES:
        idx = [i for i, c in enumerate(cells) if mod in c]
        if idx:
            acc, f1 = _scores([ys[i] for i in idx], [labels[int(np.argmax(cells[i][mod].probs))] for i in idx])
            rows.append({"method": f"{mod} only", "windows": len(idx), "accuracy": acc, "macro_f1": f1})

    model = fit(x_all, ys, labels, c, info={
        "trained_on": str(source),
        "clips": len(clips),
        "windows": len(ys),
        "window_s": window_s,
        "class_counts": {lab: int((y_arr == lab).sum()) for lab in sorted(set(ys))},
        "evaluation": rows,
    })
    model.save(out)
    return model, rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The comparison as a small fixed-width table."""
    lines = [f"{'method':<28}{'windows':>8}{'accuracy':>10}{'macro-F1':>10}"]
    lines += [f"{r['method']:<28}{r['windows']:>8}{r['accuracy']:>10.3f}{r['macro_f1']:>10.3f}" for r in rows]
    return "\n".join(lines)

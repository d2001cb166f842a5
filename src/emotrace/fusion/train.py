"""``emotrace train fusion``: fit the learned fusion on labelled clips and compare it,
clip-grouped cross-validated, with late fusion and each single modality. The run folder has the
layout of :mod:`emotrace.train.run`: ``config.json``, ``train.log``, ``fusion.json`` (the
model), ``metrics.json``, ``confusion.png`` (the cross-validated learned fusion) and
``MODEL_CARD.md``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.errors import InputError
from emotrace.fusion.align import MODALITIES
from emotrace.fusion.dataset import analysis_config, read_labelled_clips, timelines_for
from emotrace.fusion.late import late_fuse
from emotrace.fusion.learned import MODEL_FILE, LearnedFusion, fit, timeline_features
from emotrace.train.run import RunFolder, model_card


def _report(y_true: list[str], y_pred: list[str], labels: list[str]) -> dict[str, Any]:
    from emotrace.train.metrics import report

    return report(y_true, y_pred, [lab for lab in labels if lab in set(y_true) | set(y_pred)])


def train_fusion(
    source: str | Path,
    out: str | Path,
    overrides: list[str] | None = None,
    cache: Path | None = None,
    window_s: float = 1.0,
    folds: int = 5,
    c: float = 1.0,
    echo: Callable[[str], None] = print,
    command: str = "",
) -> tuple[LearnedFusion, list[dict[str, Any]]]:
    """Train, evaluate (grouped by clip) and save a learned fusion model in the run folder
    ``out``; returns it and the comparison rows (method, windows, accuracy, macro-F1)."""
    clips = read_labelled_clips(source)
    rf = RunFolder(out, echo=echo)
    rf.start(False, MODEL_FILE)
    settings = {"data": str(source), "set": list(overrides or []), "cache": str(cache) if cache else None,
                "window_s": window_s, "folds": folds, "c": c, "seed": None,
                "note": "deterministic: clip-grouped folds in clip order, L-BFGS logistic regression"}
    rf.write_config(settings)
    config = analysis_config(overrides)
    tls = timelines_for([p for p, _ in clips], config, cache,
                        progress=lambda i, p: rf.log(f"[{i + 1}/{len(clips)}] {p.name}"))
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
    reports: list[tuple[str, dict[str, Any]]] = []

    def add(method: str, truth: list[str], pred: list[str]) -> None:
        r = _report(truth, pred, labels)
        reports.append((method, r))
        rows.append({"method": method, "windows": len(truth), "accuracy": r["accuracy"], "macro_f1": r["macro_f1"]})

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
        add("learned (cross-validated)", ys, list(pred))
    late = [late_fuse(c) for c in cells]
    ok = [i for i, f in enumerate(late) if f is not None]
    add("late fusion", [ys[i] for i in ok], [labels[int(np.argmax(late[i][0]))] for i in ok])  # type: ignore[index]  # ok keeps only the non-None results
    for mod in MODALITIES:
        idx = [i for i, c in enumerate(cells) if mod in c]
        if idx:
            add(f"{mod} only", [ys[i] for i in idx], [labels[int(np.argmax(cells[i][mod].probs))] for i in idx])

    model = fit(x_all, ys, labels, c, info={
        "trained_on": str(source),
        "clips": len(clips),
        "windows": len(ys),
        "window_s": window_s,
        "class_counts": {lab: int((y_arr == lab).sum()) for lab in sorted(set(ys))},
        "evaluation": rows,
    })
    model.save(rf / MODEL_FILE)
    rf.write_metrics({name: r for name, r in reports}, "learned (cross-validated)" if n_groups >= 3 else None,
                     "learned fusion, clip-grouped CV")
    counts = ", ".join(f"{lab} {n}" for lab, n in model.info["class_counts"].items())
    rf.write_card(model_card(
        "learned fusion",
        what=f"class-balanced logistic regression over each window's face, voice and text probabilities "
        f"({MODEL_FILE}; labels {', '.join(labels)}; {window_s:g} s windows).",
        data=f"{source}: {len(clips)} labelled clips, {len(ys)} windows ({counts}).",
        split=f"{min(folds, n_groups)}-fold cross-validation grouped by clip (no clip on both sides); late fusion "
        "and single modalities scored on the windows they cover.",
        results=reports, command=command or f"emotrace train fusion {source} -o {out}", config=settings,
    ))  # fmt: skip
    rf.log(f"wrote {rf / MODEL_FILE}")
    return model, rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The comparison as a small fixed-width table."""
    lines = [f"{'method':<28}{'windows':>8}{'accuracy':>10}{'macro-F1':>10}"]
    lines += [f"{r['method']:<28}{r['windows']:>8}{r['accuracy']:>10.3f}{r['macro_f1']:>10.3f}" for r in rows]
    return "\n".join(lines)

"""Supervised highlight detection: logistic regression on per-window highlight features,
trained from a CSV of labelled highlights ``video,start,end`` (seconds).

``train_highlights`` compares audio-only, video-only and multimodal feature sets by
precision, recall and F1 at a probability threshold, with videos held out (leave-one-
video-out, or grouped k-fold for many videos), and saves the multimodal model as JSON in a
run folder with the layout of :mod:`emotrace.train.run` (``config.json``, ``train.log``,
``highlights.json``, ``metrics.json``, ``MODEL_CARD.md``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.analysis.highlight_features import FEATURES, VARIANTS, feature_matrix
from emotrace.errors import InputError
from emotrace.model import Timeline
from emotrace.train.run import RunFolder, atomic_text, model_card, model_in

FORMAT = "emotrace-highlights-logreg/1"
MODEL_FILE = "highlights.json"  # the model inside a run folder of `emotrace train highlights`


@dataclass
class HighlightModel:
    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    info: dict[str, Any]

    def predict_proba(self, x_all: np.ndarray) -> np.ndarray:
        """(n, len(FEATURES)) -> highlight probability per window."""
        cols = [FEATURES.index(f) for f in self.features]
        z = ((x_all[:, cols] - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        atomic_text(p, json.dumps({
            "format": FORMAT, "features": self.features, "mean": self.mean.tolist(),
            "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept,
            "threshold": self.threshold, "info": self.info,
        }, indent=1))
        return p

    @classmethod
    def load(cls, path: str | Path) -> HighlightModel:
        """The model file, or the run folder of ``emotrace train highlights`` holding it."""
        p = model_in(path, MODEL_FILE)
        if not p.is_file():
            raise InputError(p, "highlight model not found (train one with `emotrace train highlights`)")
        try:
            d = json.loads(p.read_text())
            if d.get("format") != FORMAT:
                raise ValueError(f"format {d.get('format')!r}, expected {FORMAT!r}")
            unknown = [f for f in d["features"] if f not in FEATURES]
            if unknown:
                raise ValueError(f"unknown feature {unknown[0]!r}")
            return cls(list(d["features"]), np.asarray(d["mean"], float), np.asarray(d["scale"], float),
                       np.asarray(d["coef"], float), float(d["intercept"]), float(d["threshold"]),
                       dict(d.get("info", {})))
        except (ValueError, KeyError, TypeError) as e:
            raise InputError(p, f"not an emotrace highlight model ({e})") from None


def fit(x_all: np.ndarray, y: np.ndarray, features: tuple[str, ...], threshold: float = 0.5,
        info: dict[str, Any] | None = None) -> HighlightModel:
    """Class-balanced logistic regression on the named feature columns."""
    from sklearn.linear_model import LogisticRegression

    x = x_all[:, [FEATURES.index(f) for f in features]]
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    clf = LogisticRegression(class_weight="balanced", max_iter=2000)
    clf.fit((x - mean) / scale, y)
    return HighlightModel(list(features), mean, scale, clf.coef_[0].astype(float), float(clf.intercept_[0]),
                          threshold, info or {})


def read_highlight_csv(path: str | Path) -> dict[Path, list[tuple[float, float]]]:
    """``video -> [(start, end), ...]``; a row with empty start/end lists a video without
    highlights (all negative)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "file not found")
    out: dict[Path, list[tuple[float, float]]] = {}
    with p.open(newline="") as fh:
        reader = csv.DictReader(fh)
        cols = {c.lower().strip(): c for c in reader.fieldnames or []}
        if not {"video", "start", "end"} <= set(cols):
            raise InputError(p, "CSV needs the columns video, start, end (seconds)")
        for n, row in enumerate(reader, 2):
            v = Path(row[cols["video"]])
            v = v if v.is_absolute() else p.parent / v
            spans = out.setdefault(v, [])
            s, e = row[cols["start"]].strip(), row[cols["end"]].strip()
            if not s and not e:
                continue
            try:
                a, b = float(s), float(e)
            except ValueError:
                raise InputError(p, f"line {n}: start/end must be seconds") from None
            if b <= a:
                raise InputError(p, f"line {n}: end must be after start")
            spans.append((a, b))
    for v in out:
        if not v.is_file():
            raise InputError(v, "video listed in the highlight CSV not found")
    if not out:
        raise InputError(p, "no rows")
    return out


def window_labels(starts: np.ndarray, window_s: float, spans: list[tuple[float, float]]) -> np.ndarray:
    """1 for windows at least half covered by a labelled highlight."""
    y = np.zeros(len(starts), dtype=int)
    for i, a in enumerate(starts):
        cover = sum(max(0.0, min(a + window_s, e) - max(a, s)) for s, e in spans)
        y[i] = int(cover >= 0.5 * window_s)
    return y


def dataset(videos: dict[Path, list[tuple[float, float]]], timelines: list[Timeline], window_s: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, window labels and video index of every window."""
    from emotrace.fusion.align import align
    from emotrace.fusion.late import DEFAULT_PRIORS, build_windows, late_fuse
    from emotrace.io.media import load_audio

    xs, ys, gs = [], [], []
    for gi, ((video, spans), tl) in enumerate(zip(videos.items(), timelines, strict=True)):
        if not tl.windows:
            tl.windows = build_windows(align(tl, window_s), list(tl.labels), window_s, tl.video.duration_s,
                                       lambda c: late_fuse(c, DEFAULT_PRIORS), "late-fusion")
        audio = load_audio(video, info=tl.video) if tl.video.has_audio else None
        starts, x = feature_matrix(tl, audio, window_s)
        xs.append(x)
        ys.append(window_labels(starts, window_s, spans))
        gs.append(np.full(len(x), gi))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(gs)


def evaluate(x: np.ndarray, y: np.ndarray, groups: np.ndarray, threshold: float = 0.5, folds: int = 5
             ) -> list[dict[str, Any]]:
    """Held-out precision/recall/F1 of each variant (videos never split across folds)."""
    from sklearn.metrics import precision_recall_fscore_support
    from sklearn.model_selection import GroupKFold

    n_groups = len(set(groups.tolist()))
    if n_groups < 2:
        raise InputError("highlights CSV", "need at least two videos to evaluate on held-out videos")
    rows = []
    for name, feats in VARIANTS.items():
        prob = np.zeros(len(y))
        for tr, te in GroupKFold(n_splits=min(folds, n_groups)).split(x, y, groups):
            if len(set(y[tr].tolist())) < 2:
                prob[te] = float(y[tr].mean())
                continue
            prob[te] = fit(x[tr], y[tr], feats).predict_proba(x[te])
        pred = (prob >= threshold).astype(int)
        p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
        rows.append({"variant": name, "windows": len(y), "positives": int(y.sum()),
                     "precision": float(p), "recall": float(r), "f1": float(f)})
    return rows


def train_highlights(
    csv_path: str | Path,
    out: str | Path,
    overrides: list[str] | None = None,
    cache: Path | None = None,
    window_s: float = 1.0,
    threshold: float = 0.5,
    folds: int = 5,
    echo: Callable[[str], None] = print,
    command: str = "",
) -> tuple[HighlightModel, list[dict[str, Any]]]:
    """Analyse the labelled videos, compare the variants and save the multimodal model in the run
    folder ``out``."""
    from emotrace.fusion.dataset import analysis_config, timelines_for

    videos = read_highlight_csv(csv_path)
    rf = RunFolder(out, echo=echo)
    rf.start(False, MODEL_FILE)
    settings = {"data": str(csv_path), "set": list(overrides or []), "cache": str(cache) if cache else None,
                "window_s": window_s, "threshold": threshold, "folds": folds, "seed": None,
                "note": "deterministic: video-grouped folds in video order, L-BFGS logistic regression"}
    rf.write_config(settings)
    config = analysis_config(overrides)
    tls = timelines_for(list(videos), config, cache,
                        progress=lambda i, p: rf.log(f"[{i + 1}/{len(videos)}] {p.name}"))
    x, y, g = dataset(videos, tls, window_s)
    if y.sum() == 0 or y.sum() == len(y):
        raise InputError(csv_path, "labelled highlights must cover some windows but not all")
    rows = evaluate(x, y, g, threshold, folds)
    model = fit(x, y, VARIANTS["multimodal"], threshold, info={
        "trained_on": str(csv_path), "videos": len(videos), "windows": len(y),
        "positives": int(y.sum()), "window_s": window_s, "evaluation": rows,
    })
    model.save(rf / MODEL_FILE)
    rf.write_metrics({"threshold": threshold, "variants": rows})
    rf.write_card(model_card(
        "highlight model",
        what=f"logistic regression over the multimodal per-window highlight features ({MODEL_FILE}; "
        f"{window_s:g} s windows, threshold {threshold:g}).",
        data=f"{csv_path}: {len(videos)} videos, {len(y)} windows, {int(y.sum())} inside a labelled highlight.",
        split=f"{min(folds, len(videos))}-fold cross-validation grouped by video (no video on both sides).",
        results=[], command=command or f"emotrace train highlights {csv_path} -o {out}", config=settings,
        notes=format_rows(rows, threshold).replace("\n", "\n    ").join(["    ", ""]),
    ))  # fmt: skip
    rf.log(f"wrote {rf / MODEL_FILE}")
    return model, rows


def format_rows(rows: list[dict[str, Any]], threshold: float) -> str:
    lines = [f"F1 at threshold {threshold:g} (held-out videos)",
             f"{'variant':<12}{'windows':>8}{'pos':>6}{'precision':>11}{'recall':>8}{'F1':>7}"]
    lines += [f"{r['variant']:<12}{r['windows']:>8}{r['positives']:>6}{r['precision']:>11.3f}"
              f"{r['recall']:>8.3f}{r['f1']:>7.3f}" for r in rows]
    return "\n".join(lines)

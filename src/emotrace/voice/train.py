"""Training and evaluation of emotrace's speech emotion model (scikit-learn, no torch).

Features (:func:`extract`): pooled Whisper-base encoder states of the clip's speech span
plus prosody. Cross-validation holds out whole speakers; the held-out speakers are
normalised with their own clips only, as the stage does per speaker within one video.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.errors import InputError
from emotrace.io.media import load_audio
from emotrace.voice.classifier import Head, VoiceEmotionModel, speaker_normalise
from emotrace.voice.datasets import MODEL_LABELS, Dataset
from emotrace.voice.features import clip_features
from emotrace.voice.vad import trim_to_speech

FEATURE_VERSION = "whisper-base-meanstd+prosody16-v1"


def extract(
    ds: Dataset, model: Any, cache: Path | None = None, progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Feature matrix of a dataset (cached in ``cache`` by file path, size and feature version)."""
    memo: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            keys, X = z["keys"], z["X"]
        memo = {str(k): X[i] for i, k in enumerate(keys)}
    keys = [_key(it.path) for it in ds.items]
    rows = []
    for i, (it, k) in enumerate(zip(ds.items, keys, strict=True)):
        if k not in memo:
            audio = load_audio(it.path)
            if audio.size < 1600:
                raise InputError(it.path, "no audio (or shorter than 0.1 s)")
            memo[k] = clip_features(model, trim_to_speech(audio))
        rows.append(memo[k])
        if progress:
            progress(i + 1, len(ds.items))
    X = np.stack(rows)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, keys=np.array(keys), X=X)
    return X


def _key(p: Path) -> str:
    st = p.stat()
    return hashlib.sha1(f"{p.resolve()}|{st.st_size}|{FEATURE_VERSION}".encode()).hexdigest()


def per_speaker(X: np.ndarray, speakers: np.ndarray) -> np.ndarray:
    """Each speaker's rows z-scored with that speaker's own statistics."""
    out = np.empty_like(X)
    for s in np.unique(speakers):
        rows = speakers == s
        out[rows] = speaker_normalise(X[rows])
    return out


def fit_head(X: np.ndarray, y: np.ndarray, labels: list[str], C: float) -> Head:
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(axis=0)
    scale = X.std(axis=0) + 1e-6
    clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced")
    clf.fit((X - mean) / scale, y)
    order = [list(clf.classes_).index(lab) for lab in labels]
    return Head(mean, scale, clf.coef_[order], clf.intercept_[order])


def fit(X: np.ndarray, y: np.ndarray, speakers: np.ndarray, C: float = 0.05) -> VoiceEmotionModel:
    """Both heads (per-speaker and global normalisation) on all rows."""
    labels = [lab for lab in MODEL_LABELS if lab in set(y.tolist())]
    return VoiceEmotionModel(
        labels=labels,
        spk=fit_head(per_speaker(X, speakers), y, labels, C),
        glob=fit_head(X, y, labels, C),
    )


def speaker_folds(speakers: np.ndarray, n_folds: int) -> list[np.ndarray]:
    """Speakers in sorted order dealt into ``n_folds`` contiguous groups (01-04, 05-08, ...)."""
    uniq = sorted(set(speakers.tolist()))
    n_folds = min(n_folds, len(uniq))
    return [np.array(g) for g in np.array_split(np.array(uniq, dtype=object), n_folds)]


def cross_validate(
    X: np.ndarray, y: np.ndarray, speakers: np.ndarray, n_folds: int = 5, C: float = 0.05
) -> dict[str, Any]:
    """Speaker-independent CV: predictions of both heads on each held-out speaker group."""
    labels = [lab for lab in MODEL_LABELS if lab in set(y.tolist())]
    logits = {
        "per_speaker_norm": np.zeros((len(y), len(labels))),
        "global_norm": np.zeros((len(y), len(labels))),
    }
    folds = []
    for held in speaker_folds(speakers, n_folds):
        test = np.isin(speakers, held)
        m = fit(X[~test], y[~test], speakers[~test], C)
        if m.labels != labels:
            raise InputError(str(held), "a training fold lacks a class; use fewer folds")
        logits["global_norm"][test] = m.glob.logits(X[test])
        logits["per_speaker_norm"][test] = m.spk.logits(per_speaker(X[test], speakers[test]))
        folds.append([str(s) for s in held])
    out: dict[str, Any] = {"folds": folds}
    for head, z in logits.items():
        out[head] = score(y, np.array(labels)[z.argmax(axis=1)], labels)
        out[head]["temperature"] = fit_temperature(z, np.array([labels.index(t) for t in y]))
    return out


def fit_temperature(logits: np.ndarray, target: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of out-of-fold predictions."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(target)), target].mean())

    return round(float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x)), 4)


def score(y: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Accuracy, unweighted average recall, per-class recall and confusion (rows = truth)."""
    idx = {lab: i for i, lab in enumerate(labels)}
    conf = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(y, pred, strict=True):
        conf[idx[t], idx[p]] += 1
    support = conf.sum(axis=1)
    recall = {lab: (float(conf[i, i] / support[i]) if support[i] else None) for i, lab in enumerate(labels)}
    present = [r for r in recall.values() if r is not None]
    return {
        "n": int(conf.sum()),
        "accuracy": float(np.trace(conf) / max(conf.sum(), 1)),
        "uar": float(np.mean(present)) if present else 0.0,
        "per_class_recall": recall,
        "confusion": conf.tolist(),
        "labels": labels,
    }


def train(
    ds: Dataset,
    run_dir: Path,
    model: Any,
    n_folds: int = 5,
    C: float = 0.05,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Extract features, cross-validate by speaker, fit on everything, write the run folder."""
    t0 = time.perf_counter()
    run_dir.mkdir(parents=True, exist_ok=True)
    X = extract(ds, model, run_dir / "features.npz", progress)
    y = np.array([it.label for it in ds.items])
    spk = np.array([it.speaker for it in ds.items])
    cv = cross_validate(X, y, spk, n_folds, C) if len(set(spk.tolist())) >= 2 else None
    final = fit(X, y, spk, C)
    if cv is not None:
        final.spk.temperature = cv["per_speaker_norm"]["temperature"]
        final.glob.temperature = cv["global_norm"]["temperature"]
    final.save(run_dir / "voice-emotion.npz")
    report = {
        "feature_version": FEATURE_VERSION,
        "n": len(y),
        "speakers": len(set(spk.tolist())),
        "labels": final.labels,
        "dropped": dict(ds.dropped),
        "C": C,
        "cv": cv,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (run_dir / "metrics.json").write_text(json.dumps(report, indent=1))
    return report

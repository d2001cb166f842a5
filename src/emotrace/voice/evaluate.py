"""``eval voice``: the shipped (or a given) speech emotion model on a labelled dataset layout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.voice.classifier import VoiceEmotionModel
from emotrace.voice.datasets import Dataset
from emotrace.voice.train import extract, per_speaker, score


def restrict(probs: np.ndarray, model_labels: list[str], labels: list[str]) -> np.ndarray:
    """Fold model probabilities onto a dataset's labels: ``calm`` counts as ``neutral`` when the
    dataset has no calm; classes the dataset lacks are left out of the decision."""
    out = np.zeros((probs.shape[0], len(labels)))
    for k, lab in enumerate(model_labels):
        target = "neutral" if lab == "calm" and "calm" not in labels else lab
        if target in labels:
            out[:, labels.index(target)] += probs[:, k]
    return out


def evaluate(
    ds: Dataset,
    model: VoiceEmotionModel,
    whisper: Any,
    speaker_norm: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Accuracy, UAR, per-class recall and confusion over the dataset's own labels.

    With ``speaker_norm`` each speaker's clips are normalised with that speaker's own
    statistics (as in training CV); speakers with fewer than 8 clips use the global head.
    """
    X = extract(ds, whisper, cache=None, progress=progress)
    y = np.array([it.label for it in ds.items])
    spk = np.array([it.speaker for it in ds.items])
    probs = model.glob.proba(X)
    if speaker_norm:
        counts = {s: int((spk == s).sum()) for s in set(spk.tolist())}
        ok = np.array([counts[s] >= 8 for s in spk])
        if ok.any():
            probs[ok] = model.spk.proba(per_speaker(X[ok], spk[ok]))
    labels = ds.labels
    pred = np.array(labels)[restrict(probs, model.labels, labels).argmax(axis=1)]
    return score(y, pred, labels)


def load_model(path: Path | None) -> VoiceEmotionModel:
    from emotrace.models.assets import resolve
    from emotrace.voice.assets import VOICE_EMOTION

    return VoiceEmotionModel.load(path or resolve(VOICE_EMOTION.name).path)

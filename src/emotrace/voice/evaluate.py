"""``eval voice``: the shipped (or a given) speech emotion model on labelled dataset layouts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.voice.cache import StateCache
from emotrace.voice.classifier import VoiceEmotionModel, VoiceEmotionNet
from emotrace.voice.datasets import Dataset
from emotrace.voice.train import extract_states, score


def restrict(probs: np.ndarray, model_labels: list[str], labels: list[str]) -> np.ndarray:
    """Fold model probabilities onto a dataset's labels: ``calm`` counts as ``neutral`` when the
    dataset has no calm; classes the dataset lacks are left out of the decision."""
    out = np.zeros((probs.shape[0], len(labels)))
    for k, lab in enumerate(model_labels):
        target = "neutral" if lab == "calm" and "calm" not in labels else lab
        if target in labels:
            out[:, labels.index(target)] += probs[:, k]
    return out


def predict(
    model: VoiceEmotionModel | VoiceEmotionNet, entries: list[Any], speakers: list[str] | None
) -> np.ndarray:
    """Probabilities of either model kind over clips given as :class:`ClipStates`."""
    if isinstance(model, VoiceEmotionNet):
        states = [e.states for e in entries]  # float16; batches are padded into float32
        return model.predict_states(states, np.stack([e.prosody for e in entries]), speakers)
    return model.predict(np.stack([e.pooled() for e in entries]), speakers)


def evaluate(
    ds: Dataset,
    model: VoiceEmotionModel | VoiceEmotionNet,
    whisper: Any,
    cache: StateCache,
    speaker_norm: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Accuracy, UAR, per-class recall and confusion over the dataset's own labels, overall and
    ``per_corpus``; unreadable clips are skipped and listed under ``skipped``.

    With ``speaker_norm`` each speaker with at least 8 clips is normalised with that speaker's
    own clips (as the stage does within one video); others use the global head.
    """
    entries, bad = extract_states(ds, whisper, cache, progress=progress)
    keep = [i for i, e in enumerate(entries) if e]
    clips = [entries[i][0] for i in keep]
    y = np.array([ds.items[i].label for i in keep])
    spk = [ds.items[i].speaker for i in keep]
    corpus = np.array([ds.items[i].corpus for i in keep])
    probs = predict(model, clips, spk if speaker_norm else None)
    labels = [lab for lab in ds.labels if lab in set(y.tolist())]
    pred = np.array(labels)[restrict(probs, model.labels, labels).argmax(axis=1)]
    out = score(y, pred, labels)
    per = {}
    for c in sorted(set(corpus.tolist())):
        rows = corpus == c
        labs = [lab for lab in labels if lab in set(y[rows].tolist())]
        p = np.array(labs)[restrict(probs[rows], model.labels, labs).argmax(axis=1)]
        per[c] = score(y[rows], p, labs)
    out["per_corpus"] = per
    if bad:
        out["skipped"] = bad
    return out


def load_model(path: Path | None, threads: int = 1) -> VoiceEmotionModel | VoiceEmotionNet:
    from emotrace.models.assets import resolve
    from emotrace.voice.assets import VOICE_EMOTION
    from emotrace.voice.stage import load_emotion_model

    return load_emotion_model(path or resolve(VOICE_EMOTION.name).path)

"""Canonical emotion labels, explicit mappings of foreign labels, merges, and the circumplex.

Every model in emotrace reports probabilities over :data:`CANONICAL` (the seven basic
expressions). Datasets and models that use other names (``joy``, ``calm``, ``contempt``,
``boredom``...) are mapped with :data:`DEFAULT_ALIASES`; a label that is neither canonical
nor mapped is an error, never silently dropped. A :class:`LabelSpace` can merge classes
(for example ``{"surprise+disgust": ["surprise", "disgust"]}``) for users whose study
design needs fewer categories.

Valence and arousal are derived from class probabilities on the circumplex coordinates in
:data:`CIRCUMPLEX` (Russell 1980; values follow the placement of the basic emotions in
Russell & Barrett 1999 / Posner et al. 2005, scaled to [-1, 1]). This is a documented
mapping, not a learned regression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

CANONICAL: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# foreign label -> canonical label, or None for "drop explicitly"
DEFAULT_ALIASES: dict[str, str | None] = {
    "anger": "angry",
    "ang": "angry",
    "disgusted": "disgust",
    "dis": "disgust",
    "fearful": "fear",
    "fea": "fear",
    "afraid": "fear",
    "joy": "happy",
    "happiness": "happy",
    "hap": "happy",
    "sadness": "sad",
    "sa": "sad",
    "surprised": "surprise",
    "sur": "surprise",
    "neu": "neutral",
    "calm": "neutral",  # RAVDESS calm: low-arousal neutral
    "contempt": "disgust",  # AffectNet contempt: closest basic expression
    "boredom": None,  # EmoDB boredom: no canonical counterpart, dropped
}

# (valence, arousal) per canonical label, in [-1, 1]
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "angry": (-0.60, 0.70),
    "disgust": (-0.65, 0.35),
    "fear": (-0.65, 0.75),
    "happy": (0.80, 0.45),
    "sad": (-0.70, -0.45),
    "surprise": (0.15, 0.80),
    "neutral": (0.0, -0.05),
    # extra labels kept by some models before mapping
    "calm": (0.35, -0.60),
}


class LabelError(ValueError):
    """A label that is neither canonical nor explicitly mapped."""


def canonical_label(name: str, aliases: Mapping[str, str | None] | None = None) -> str | None:
    """Map a dataset/model label to a canonical one (``None`` = dropped explicitly)."""
    key = name.strip().lower()
    if key in CANONICAL:
        return key
    table = dict(DEFAULT_ALIASES)
    if aliases:
        table.update({k.lower(): v for k, v in aliases.items()})
    if key in table:
        return table[key]
    raise LabelError(f"label {name!r} is not canonical and has no mapping; add it to labels.aliases")


def to_canonical(
    probs: Mapping[str, float], aliases: Mapping[str, str | None] | None = None
) -> dict[str, float]:
    """Fold a probability dict with any label names onto :data:`CANONICAL` (renormalised)."""
    out = dict.fromkeys(CANONICAL, 0.0)
    for name, p in probs.items():
        lab = canonical_label(name, aliases)
        if lab is not None:
            out[lab] += float(p)
    total = sum(out.values())
    if total > 0:
        out = {k: v / total for k, v in out.items()}
    return out


def valence_arousal(probs: Mapping[str, float]) -> tuple[float, float]:
    """Expected circumplex coordinates of a probability dict over canonical labels."""
    v = a = 0.0
    total = 0.0
    for name, p in probs.items():
        if name in CIRCUMPLEX:
            cv, ca = CIRCUMPLEX[name]
            v += p * cv
            a += p * ca
            total += p
    if total <= 0:
        return 0.0, 0.0
    return v / total, a / total


class LabelSpace:
    """The label set results are reported on: canonical labels with optional merges.

    ``merges`` maps a new label to the canonical labels it absorbs, e.g.
    ``{"surprise+disgust": ["surprise", "disgust"]}``.
    """

    def __init__(self, merges: Mapping[str, Sequence[str]] | None = None):
        self.merges = {k: list(v) for k, v in (merges or {}).items()}
        absorbed: dict[str, str] = {}
        for new, olds in self.merges.items():
            for old in olds:
                if old not in CANONICAL:
                    raise LabelError(f"merge {new!r} names {old!r}, which is not a canonical label")
                if old in absorbed:
                    raise LabelError(f"label {old!r} is merged twice")
                absorbed[old] = new
        self._target = {lab: absorbed.get(lab, lab) for lab in CANONICAL}
        labels: list[str] = []
        for lab in CANONICAL:
            t = self._target[lab]
            if t not in labels:
                labels.append(t)
        self.labels: tuple[str, ...] = tuple(labels)

    def project(self, probs: Mapping[str, float]) -> dict[str, float]:
        """Canonical probabilities -> probabilities on this space's labels."""
        out = dict.fromkeys(self.labels, 0.0)
        for lab, p in probs.items():
            out[self._target.get(lab, lab)] += float(p)
        return out

    def project_array(self, arr: np.ndarray) -> np.ndarray:
        """(..., 7) canonical array -> (..., len(labels))."""
        idx = [self.labels.index(self._target[lab]) for lab in CANONICAL]
        out = np.zeros(arr.shape[:-1] + (len(self.labels),), dtype=arr.dtype)
        for j, i in enumerate(idx):
            out[..., i] += arr[..., j]
        return out

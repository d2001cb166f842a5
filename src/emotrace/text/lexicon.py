"""Lexical features of a sentence: NRC emotion lexicon hits, VADER sentiment, punctuation.

The NRC word lists are the JSON that the ``nrclex`` package ships (model ``nrc-emotion-lexicon``,
read directly, no NLTK download), VADER from ``vadersentiment``. :func:`lexicon_features` is one input of the text
emotion model; :func:`nrc_predict` is the lexicon-only baseline that ``emotrace eval text``
prints beside the model.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

import numpy as np

NRC_CATEGORIES: tuple[str, ...] = (
    "anger",
    "anticipation",
    "disgust",
    "fear",
    "joy",
    "negative",
    "positive",
    "sadness",
    "surprise",
    "trust",
)
# NRC category -> canonical label, for the lexicon-only baseline
NRC_TO_CANONICAL: dict[str, str] = {
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "joy": "happy",
    "sadness": "sad",
    "surprise": "surprise",
}
FEATURE_NAMES: tuple[str, ...] = (
    *(f"nrc_{c}" for c in NRC_CATEGORIES),
    "vader_neg",
    "vader_neu",
    "vader_pos",
    "vader_compound",
    "has_question",
    "has_exclamation",
    "log_tokens",
)
N_FEATURES = len(FEATURE_NAMES)

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes normalised)."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


@lru_cache(maxsize=1)
def nrc_lexicon() -> dict[str, list[str]]:
    """The NRC emotion lexicon (word -> categories), as ``nrclex`` ships it."""
    from emotrace.models.assets import resolve

    with resolve("nrc-emotion-lexicon").path.open("r", encoding="utf-8") as f:
        data: dict[str, list[str]] = json.load(f)
    return data


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def nrc_counts(toks: list[str]) -> dict[str, int]:
    """How many tokens carry each NRC category."""
    lex = nrc_lexicon()
    counts = dict.fromkeys(NRC_CATEGORIES, 0)
    for t in toks:
        for cat in lex.get(t, ()):
            if cat in counts:
                counts[cat] += 1
    return counts


def lexicon_features(texts: list[str]) -> np.ndarray:
    """(n, :data:`N_FEATURES`) float32 features: NRC rates, VADER scores, punctuation, length."""
    out = np.zeros((len(texts), N_FEATURES), dtype=np.float32)
    vader = _vader()
    for i, text in enumerate(texts):
        toks = tokens(text)
        n = max(len(toks), 1)
        counts = nrc_counts(toks)
        vs = vader.polarity_scores(text)
        out[i] = [
            *(counts[c] / n for c in NRC_CATEGORIES),
            vs["neg"],
            vs["neu"],
            vs["pos"],
            vs["compound"],
            float("?" in text),
            float("!" in text),
            math.log1p(len(toks)),
        ]
    return out


def nrc_predict(text: str) -> str:
    """Lexicon-only baseline: the canonical label whose NRC words occur most, else neutral."""
    counts = nrc_counts(tokens(text))
    best, best_n = "neutral", 0
    for cat, lab in NRC_TO_CANONICAL.items():
        if counts[cat] > best_n:
            best, best_n = lab, counts[cat]
    return best

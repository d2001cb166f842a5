"""Text emotion datasets: the MELD layout and any CSV with ``text,label`` columns.

A MELD CSV (``train_sent_emo.csv``, ``dev_sent_emo.csv``...) has the columns ``Utterance``,
``Emotion`` and ``Sentiment``, plus ``Dialogue_ID``/``Utterance_ID`` from which each
utterance's previous and next turns are taken as context. A plain CSV needs ``text`` and
``label`` (``sentiment``, ``context`` and ``next_context`` are optional). Labels are mapped onto the canonical set
(``joy`` -> ``happy``, ``anger`` -> ``angry``, ``sadness`` -> ``sad``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from emotrace.errors import InputError
from emotrace.labels import LabelError, canonical_label

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
MELD_FILES = {"train": "train_sent_emo.csv", "dev": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}


@dataclass
class TextDataset:
    """Parallel lists: text, previous turn (or ""), canonical label, sentiment (or None), group,
    next turn (or "").

    ``groups`` holds the dialogue id (MELD) or the row number, for group-wise held-out splits.
    """

    texts: list[str]
    contexts: list[str]
    labels: list[str]
    sentiments: list[str | None]
    groups: list[str]
    source: str
    following: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx: list[int]) -> TextDataset:
        return TextDataset(
            [self.texts[i] for i in idx],
            [self.contexts[i] for i in idx],
            [self.labels[i] for i in idx],
            [self.sentiments[i] for i in idx],
            [self.groups[i] for i in idx],
            self.source,
            [self.following[i] for i in idx],
        )


def resolve_csv(path: str | Path, split: str) -> Path:
    """A CSV file as given, or the ``split`` file of a MELD folder."""
    p = Path(path)
    if p.is_dir():
        name = MELD_FILES.get(split)
        if name is None:
            raise InputError(p, f"unknown split {split!r}; use one of {', '.join(MELD_FILES)}")
        f = p / name
        if not f.is_file():
            raise InputError(p, f"no {name} in this folder (expected the MELD layout)")
        return f
    if not p.is_file():
        raise InputError(p, "no such file or folder")
    return p


def load_dataset(path: str | Path, split: str = "train") -> TextDataset:
    """Read a MELD-style or ``text,label`` CSV (or a MELD folder's ``split`` file)."""
    f = resolve_csv(path, split)
    try:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise InputError(f, f"cannot read CSV ({str(e).splitlines()[0]})") from None
    cols = {c.strip().lower(): c for c in df.columns}
    if "utterance" in cols and "emotion" in cols:
        text_col, label_col = cols["utterance"], cols["emotion"]
    elif "text" in cols and "label" in cols:
        text_col, label_col = cols["text"], cols["label"]
    else:
        raise InputError(f, "needs columns Utterance,Emotion (MELD) or text,label")
    if df.empty:
        raise InputError(f, "no rows")
    texts = [str(t).strip() for t in df[text_col]]
    labels: list[str] = []
    for i, raw in enumerate(df[label_col]):
        try:
            lab = canonical_label(str(raw))
        except LabelError as e:
            raise InputError(f, f"row {i + 2}: {e}") from None
        if lab is None:
            raise InputError(f, f"row {i + 2}: label {raw!r} has no canonical counterpart")
        labels.append(lab)
    sent_col = cols.get("sentiment")
    sentiments: list[str | None] = []
    for raw in df[sent_col] if sent_col else [""] * len(df):
        s = str(raw).strip().lower()
        if s and s not in SENTIMENTS:
            raise InputError(f, f"unknown sentiment {raw!r}; use {', '.join(SENTIMENTS)}")
        sentiments.append(s or None)
    dia = cols.get("dialogue_id")
    groups = [str(g) for g in df[dia]] if dia else [str(i) for i in range(len(df))]
    previous, following = _contexts(df, cols, texts)
    return TextDataset(texts, previous, labels, sentiments, groups, str(f), following)


def _contexts(df: pd.DataFrame, cols: dict[str, str], texts: list[str]) -> tuple[list[str], list[str]]:
    """Previous and next utterance of the same dialogue (MELD ids), or the ``context`` and
    ``next_context`` columns, else ""."""
    empty = [""] * len(texts)
    if "context" in cols or "next_context" in cols:

        def column(name: str) -> list[str]:
            return [str(c).strip() for c in df[cols[name]]] if name in cols else empty

        return column("context"), column("next_context")
    if "dialogue_id" in cols and "utterance_id" in cols:
        by_id: dict[tuple[str, int], str] = {}
        keys = []
        for i, (d, u) in enumerate(zip(df[cols["dialogue_id"]], df[cols["utterance_id"]], strict=True)):
            uid = int(u) if str(u).strip().isdigit() else -1
            by_id[(str(d), uid)] = texts[i]
            keys.append((str(d), uid))
        previous = [by_id.get((d, u - 1), "") if u > 0 else "" for d, u in keys]
        following = [by_id.get((d, u + 1), "") if u >= 0 else "" for d, u in keys]
        return previous, following
    return empty, empty

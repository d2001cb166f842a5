"""Labelled speech-emotion datasets by their file-naming conventions, or a CSV manifest.

Supported layouts (detected per file name):

* RAVDESS ``03-01-EE-II-SS-RR-AA.wav|flac``: EE 01 neutral, 02 calm, 03 happy, 04 sad, 05 angry,
  06 fearful, 07 disgust, 08 surprised; speaker AA.
* CREMA-D ``1001_DFA_ANG_XX.wav|flv``: ANG, DIS, FEA, HAP, NEU, SAD; speaker 1001.
* TESS ``OAF_back_angry.wav``: angry, disgust, fear, happy, neutral, ps (pleasant surprise) -> surprise,
  sad; speaker OAF/YAF (one upstream file is named ``OA_bite_neutral``: OAF).
* nEMO ``EB0_anger_1.opus`` (Polish): anger, fear, happiness, neutral, sadness, surprised; speaker EB0.
* ASED ``a5-03-01-02-50.opus`` (Amharic): n neutral, f fearful, h happy, s sad, a angry (the digit
  after the letter is the folder number); fields sentence, repetition, gender, speaker 50.
* SAVEE ``DC_a01.wav`` (or ``a01.wav`` in a speaker folder): a, d, f, h, n, sa, su.
* EmoDB ``03a01Fa.wav``: W anger, L boredom, E disgust, A fear, F happiness, T sadness, N neutral.
* A CSV manifest with columns ``path,label`` and optionally ``speaker`` (paths relative to the CSV);
  its corpus name is the CSV file's stem.

Labels are returned as the names the model trains on: canonical labels plus ``calm``
(RAVDESS; :func:`load_corpora` folds it into ``neutral`` for multi-corpus training);
labels with no counterpart (EmoDB boredom) are dropped and counted.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from emotrace.errors import InputError
from emotrace.labels import CANONICAL, LabelError, canonical_label

AUDIO_EXT = {".wav", ".flac", ".mp3", ".ogg", ".m4a", ".flv", ".mp4", ".avi", ".mkv", ".webm", ".opus"}
MODEL_LABELS: tuple[str, ...] = (*CANONICAL, "calm")

_RAVDESS = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_RAVDESS_EMO = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fearful",
    "07": "disgust",
    "08": "surprised",
}
_CREMA = re.compile(r"^(\d{4})_([A-Z]{3})_(ANG|DIS|FEA|HAP|NEU|SAD)_([A-Z]{2})$")
_TESS = re.compile(r"^(OAF?|YAF?)_[A-Za-z]+_(angry|disgust|fear|happy|neutral|ps|sad)$", re.IGNORECASE)
_NEMO = re.compile(r"^([A-Z]{2}\d)_(anger|fear|happiness|neutral|sadness|surprised)_(\d+)$")
_ASED = re.compile(r"^([nfhsa])(\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$", re.IGNORECASE)
_ASED_EMO = {"n": "neutral", "f": "fear", "h": "happy", "s": "sad", "a": "angry"}
_SAVEE = re.compile(r"^(?:([A-Z]{2})_)?(a|d|f|h|n|sa|su)(\d\d)$")
_SAVEE_EMO = {
    "a": "angry",
    "d": "disgust",
    "f": "fear",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprise",
}
_EMODB = re.compile(r"^(\d\d)([a-b]\d\d)([WLEAFTN])([a-z])$")
_EMODB_EMO = {
    "W": "angry",
    "L": "boredom",
    "E": "disgust",
    "A": "fear",
    "F": "happy",
    "T": "sad",
    "N": "neutral",
}


@dataclass
class Item:
    path: Path
    label: str
    speaker: str
    corpus: str


@dataclass
class Dataset:
    items: list[Item]
    dropped: Counter[str] = field(default_factory=Counter)  # original label -> count
    unrecognised: int = 0

    @property
    def labels(self) -> list[str]:
        present = {it.label for it in self.items}
        return [lab for lab in MODEL_LABELS if lab in present]


def model_label(name: str) -> str | None:
    """Dataset label -> the model's label (canonical or ``calm``), ``None`` when dropped."""
    if name.strip().lower() == "calm":
        return "calm"
    if name.strip().lower() == "ps":
        return "surprise"
    return canonical_label(name)


def parse_name(path: Path) -> tuple[str, str, str] | None:
    """``(raw_label, speaker, corpus)`` from a file name, ``None`` if no convention matches."""
    stem = path.stem
    if m := _RAVDESS.match(stem):
        return _RAVDESS_EMO.get(m.group(3), "?"), f"ravdess-{m.group(7)}", "ravdess"
    if m := _CREMA.match(stem):
        return m.group(3).lower(), f"crema-{m.group(1)}", "crema-d"
    if m := _TESS.match(stem):
        spk = m.group(1).upper()
        return m.group(2).lower(), f"tess-{spk if spk.endswith('F') else spk + 'F'}", "tess"
    if m := _NEMO.match(stem):
        return m.group(2), f"nemo-{m.group(1)}", "nemo"
    if m := _ASED.match(stem):
        return _ASED_EMO[m.group(1).lower()], f"ased-{m.group(6)}", "ased"
    if m := _EMODB.match(stem):
        return _EMODB_EMO[m.group(3)], f"emodb-{m.group(1)}", "emodb"
    if m := _SAVEE.match(stem):
        speaker = m.group(1) or path.parent.name
        return _SAVEE_EMO[m.group(2)], f"savee-{speaker}", "savee"
    return None


def _from_manifest(csv_path: Path) -> tuple[list[tuple[Path, str, str, str]], int]:
    rows = []
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"path", "label"} <= {c.strip().lower() for c in reader.fieldnames}:
            raise InputError(csv_path, "manifest needs the columns path,label (optional speaker)")
        for row in reader:
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            p = Path(row["path"])
            p = p if p.is_absolute() else csv_path.parent / p
            rows.append((p, row["label"], row.get("speaker") or p.parent.name, csv_path.stem))
    return rows, 0


def load_dataset(path: str | Path) -> Dataset:
    """Scan a folder (recursively) or read a CSV manifest."""
    root = Path(path)
    if not root.exists():
        raise InputError(root, "not found")
    if root.is_file():
        if root.suffix.lower() != ".csv":
            raise InputError(root, "expected a dataset folder or a CSV manifest (path,label)")
        raw, unrecognised = _from_manifest(root)
    else:
        raw, unrecognised = [], 0
        for p in sorted(root.rglob("*")):
            if p.suffix.lower() not in AUDIO_EXT or not p.is_file():
                continue
            parsed = parse_name(p)
            if parsed is None:
                unrecognised += 1
                continue
            raw.append((p, *parsed))
    ds = Dataset(items=[], unrecognised=unrecognised)
    for p, label, speaker, corpus in raw:
        try:
            lab = model_label(label)
        except LabelError:
            raise InputError(p, f"label {label!r} has no mapping to emotrace's labels") from None
        if lab is None:
            ds.dropped[label.lower()] += 1
            continue
        ds.items.append(Item(p, lab, speaker, corpus))
    if not ds.items:
        raise InputError(root, "no labelled audio found (see `emotrace train voice --help` for layouts)")
    return ds


def load_corpora(paths: list[str | Path], fold_calm: bool = True) -> Dataset:
    """Several datasets in one (speakers are already corpus-prefixed by the name parsers;
    manifest speakers get the manifest's name as prefix). ``fold_calm`` maps RAVDESS calm to
    neutral, as no other corpus has it."""
    out = Dataset(items=[])
    for p in paths:
        ds = load_dataset(p)
        out.dropped.update(ds.dropped)
        out.unrecognised += ds.unrecognised
        for it in ds.items:
            spk = it.speaker if "-" in it.speaker and it.corpus != "manifest" else f"{it.corpus}-{it.speaker}"
            label = "neutral" if fold_calm and it.label == "calm" else it.label
            out.items.append(Item(it.path, label, spk, it.corpus))
    return out


def corpus_summary(ds: Dataset) -> dict[str, dict[str, int]]:
    """Clip counts per corpus and label."""
    return count_by_corpus([it.corpus for it in ds.items], [it.label for it in ds.items])


def count_by_corpus(corpora: Iterable[str], labels: Iterable[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for c, lab in zip(corpora, labels, strict=True):
        out.setdefault(c, {}).setdefault(lab, 0)
        out[c][lab] += 1
    return out

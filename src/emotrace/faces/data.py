"""Labelled face-image folders: discovery, label mapping and in-memory loading.

Layouts understood (images: jpg, jpeg, png, bmp, webp):

* ``ROOT/<split>/<label>/*`` -- FER2013, RAF-DB and AffectNet exports;
* ``ROOT/<label>/*`` -- one split;
* flat ``<dataset>_<n>_<emotion>.<ext>`` files (in ROOT or ROOT/<split>);
* FER+ as distributed: a folder of PNGs with ``label.csv`` (file, face box, ten vote counts for
  neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF), e.g.
  ``ferplus/FER2013Train`` and ``ferplus/FER2013Valid`` (see :func:`scan_ferplus`).

Label folders may be emotion names (mapped with :func:`emotrace.labels.canonical_label`, so
``contempt`` becomes ``disgust`` and unknown names are an error) or numbers: RAF-DB numbers
its basic classes 1-7, AffectNet 0-7 (7 = contempt). Numeric schemes are chosen explicitly
(``numeric="rafdb"|"affectnet"``) or guessed (``"auto"``: a folder ``0`` means AffectNet).
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from emotrace.errors import InputError
from emotrace.faces.expression_own import gray_square
from emotrace.labels import CANONICAL, LabelError, canonical_label

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
TRAIN_SPLITS = ("train", "training", "fer2013train")
VAL_SPLITS = ("val", "valid", "validation", "publictest", "fer2013valid", "test")
FERPLUS_LABEL_FILE = "label.csv"
FERPLUS_COLUMNS = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF",
)  # fmt: skip
FERPLUS_MODES = ("votes", "majority")
NUMERIC_SCHEMES: dict[str, dict[str, str]] = {
    "rafdb": {"1": "surprise", "2": "fear", "3": "disgust", "4": "happiness", "5": "sadness", "6": "anger", "7": "neutral"},
    "affectnet": {
        "0": "neutral", "1": "happiness", "2": "sadness", "3": "surprise",
        "4": "fear", "5": "disgust", "6": "anger", "7": "contempt",
    },
}  # fmt: skip


@dataclass
class LabelledFiles:
    """Image files with canonical class indices and how their labels were mapped."""

    files: list[Path]
    labels: np.ndarray  # int64 indices into CANONICAL
    mapping: dict[str, str | None] = field(default_factory=dict)  # source label -> canonical / None (dropped)
    dropped: Counter[str] = field(default_factory=Counter)  # source label -> images dropped
    # (N, 7) float32 target distributions (FER+ votes) when the data has soft labels, else None
    targets: np.ndarray | None = None

    def counts(self) -> dict[str, int]:
        """Images per canonical class."""
        c = np.bincount(self.labels, minlength=len(CANONICAL))
        return {lab: int(n) for lab, n in zip(CANONICAL, c)}

    def describe(self) -> str:
        """One-line summary: counts per class, mapped and dropped labels."""
        parts = [f"{len(self.files)} images: " + ", ".join(f"{k} {v}" for k, v in self.counts().items())]
        renamed = {k: v for k, v in self.mapping.items() if v is not None and k != v}
        if renamed:
            parts.append("mapped " + ", ".join(f"{k}->{v}" for k, v in sorted(renamed.items())))
        if self.dropped:
            parts.append("dropped " + ", ".join(f"{k} ({n})" for k, n in sorted(self.dropped.items())))
        return "; ".join(parts)

    def subset(self, idx: Iterable[int]) -> LabelledFiles:
        """The files at the given positions."""
        idx = list(idx)
        return LabelledFiles(
            [self.files[i] for i in idx],
            self.labels[idx],
            dict(self.mapping),
            Counter(self.dropped),
            None if self.targets is None else self.targets[idx],
        )


def limit_per_class(files: LabelledFiles, per_class: int, seed: int = 0) -> LabelledFiles:
    """A random subset of at most ``per_class`` images of each class (all when ``per_class <= 0``)."""
    if per_class <= 0:
        return files
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for c in range(len(CANONICAL)):
        idx = np.flatnonzero(files.labels == c)
        keep += rng.permutation(idx)[:per_class].tolist()
    return files.subset(sorted(keep))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _resolve_scheme(names: list[str], numeric: str) -> dict[str, str] | None:
    if not names or not all(n.isdigit() for n in names):
        return None
    if numeric == "auto":
        numeric = "affectnet" if "0" in names else "rafdb"
    if numeric not in NUMERIC_SCHEMES:
        raise InputError(numeric, f"unknown numeric label scheme; use one of {', '.join(NUMERIC_SCHEMES)}")
    return NUMERIC_SCHEMES[numeric]


def _map(source: str, root: Path, aliases: dict[str, str | None] | None) -> str | None:
    try:
        return canonical_label(source, aliases)
    except LabelError as e:
        raise InputError(root, str(e)) from None


def _flat_label(path: Path) -> str:
    parts = path.stem.rsplit("_", 2)
    if len(parts) < 3:
        raise InputError(path, "flat image names must look like <dataset>_<n>_<emotion>.<ext>")
    return parts[-1]


def is_ferplus(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` is a FER+ split (images beside a ``label.csv`` of votes)."""
    return (Path(folder) / FERPLUS_LABEL_FILE).is_file()


def _ferplus_rows(root: Path) -> tuple[list[Path], np.ndarray]:
    label_file = root / FERPLUS_LABEL_FILE
    files: list[Path] = []
    votes: list[list[int]] = []
    with open(label_file, newline="") as f:
        for n, row in enumerate(csv.reader(f), 1):
            if not row or (n == 1 and not row[-1].strip().isdigit()):
                continue  # blank line or a header
            if len(row) != 2 + len(FERPLUS_COLUMNS):
                raise InputError(label_file, f"line {n}: expected file, box and {len(FERPLUS_COLUMNS)} vote counts")
            try:
                votes.append([int(float(v)) for v in row[2:]])
            except ValueError:
                raise InputError(label_file, f"line {n}: vote counts must be numbers") from None
            files.append(root / row[0])
    if not files:
        raise InputError(label_file, "no rows")
    return files, np.asarray(votes, dtype=np.float64)


def ferplus_targets(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FER+ vote counts ``(N, 10)`` -> ``(keep, majority, distribution)``.

    * ``keep``: rows whose majority is an emotion. The majority is the column with most votes
      (ties go to the first column in FER+ order); rows where unknown or NF has the most votes
      are not faces with a readable expression and are dropped.
    * ``majority``: canonical class index of the majority emotion; contempt counts as disgust.
    * ``distribution``: the vote distribution over the canonical classes (contempt votes added to
      disgust, unknown/NF votes left out), after dropping single votes as outliers (the FER+
      paper's rule) unless that would leave no emotion vote.

    Contempt is folded into disgust, not kept as an eighth output, because every emotrace modality
    (voice, text, fusion) reports the same seven canonical classes and contempt is the majority of
    only 168 of 28,558 FER+ training images: too few to learn it as a class of its own.
    """
    emo = votes[:, :8]
    keep = votes.argmax(1) < 8
    canon = {c: CANONICAL.index(canonical_label(c)) for c in FERPLUS_COLUMNS[:8]}
    majority = np.asarray([canon[FERPLUS_COLUMNS[i]] for i in emo.argmax(1)], dtype=np.int64)
    cleaned = np.where(emo > 1, emo, 0.0)
    cleaned = np.where(cleaned.sum(1, keepdims=True) > 0, cleaned, emo)
    dist = np.zeros((len(votes), len(CANONICAL)), np.float64)
    for i, c in enumerate(FERPLUS_COLUMNS[:8]):
        dist[:, canon[c]] += cleaned[:, i]
    dist /= np.maximum(dist.sum(1, keepdims=True), 1e-9)
    return keep, majority, dist.astype(np.float32)


def scan_ferplus(folder: str | os.PathLike[str], mode: str = "votes") -> LabelledFiles:
    """A FER+ split: images listed in ``label.csv`` with their majority label and vote distribution.

    ``mode="votes"`` keeps the vote distribution as ``targets`` (training with cross-entropy
    against it, the FER+ "probability" mode); ``"majority"`` sets one-hot targets of the majority.
    """
    if mode not in FERPLUS_MODES:
        raise InputError(mode, f"unknown FER+ target mode; use one of {', '.join(FERPLUS_MODES)}")
    root = Path(folder)
    files, votes = _ferplus_rows(root)
    keep, majority, dist = ferplus_targets(votes)
    dropped: Counter[str] = Counter(FERPLUS_COLUMNS[i] for i in votes[~keep].argmax(1))
    missing = [p for p, k in zip(files, keep) if k and not p.is_file()]
    if missing:
        raise InputError(missing[0], f"listed in {FERPLUS_LABEL_FILE} but missing ({len(missing)} files)")
    idx = np.flatnonzero(keep)
    targets = dist[idx] if mode == "votes" else np.eye(len(CANONICAL), dtype=np.float32)[majority[idx]]
    mapping: dict[str, str | None] = {c: canonical_label(c) for c in FERPLUS_COLUMNS[:8]}
    mapping.update({"unknown": None, "NF": None})
    return LabelledFiles([files[i] for i in idx], majority[idx], mapping, dropped, targets)


FER2013_LABEL_FILE = "fer2013_labels.csv"


def scan_fer2013_labels(folder: str | os.PathLike[str]) -> LabelledFiles:
    """A FER+ folder's PNGs with their original FER2013 labels (``fer2013_labels.csv``: image,
    fer2013_label, ...), for FER2013 numbers on the original pixels."""
    root = Path(folder)
    label_file = root / FER2013_LABEL_FILE
    if not label_file.is_file():
        raise InputError(root, f"no {FER2013_LABEL_FILE} (original FER2013 labels) in this folder")
    files: list[Path] = []
    labels: list[int] = []
    with open(label_file, newline="") as f:
        for row in csv.DictReader(f):
            try:
                name, label = row["image"], row["fer2013_label"]
            except KeyError:
                raise InputError(label_file, "expected columns image and fer2013_label") from None
            files.append(root / name)
            labels.append(CANONICAL.index(_map(label, label_file, None) or "neutral"))
    if not files:
        raise InputError(label_file, "no rows")
    return LabelledFiles(files, np.asarray(labels, dtype=np.int64), {})


def scan_folder(
    folder: str | os.PathLike[str], numeric: str = "auto", aliases: dict[str, str | None] | None = None,
    ferplus_mode: str = "votes",
) -> LabelledFiles:
    """Labelled images of one split: ``<label>/*`` folders, flat ``<dataset>_<n>_<emotion>`` files,
    or a FER+ folder with ``label.csv`` (:func:`scan_ferplus`)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, "not a folder")
    if is_ferplus(root):
        return scan_ferplus(root, ferplus_mode)
    dirs = [d for d in _subdirs(root) if _images(d)]
    scheme = _resolve_scheme([d.name for d in dirs], numeric)
    pairs: list[tuple[Path, str]] = []
    for d in dirs:
        pairs += [(p, scheme[d.name] if scheme else d.name) for p in _images(d)]
    pairs += [(p, _flat_label(p)) for p in _images(root)]
    if not pairs:
        raise InputError(
            root, "no labelled images (expected <label>/*.jpg folders or <dataset>_<n>_<emotion>.jpg files)"
        )
    mapping: dict[str, str | None] = {}
    files: list[Path] = []
    labels: list[int] = []
    dropped: Counter[str] = Counter()
    for path, source in pairs:
        if source not in mapping:
            mapping[source] = _map(source, root, aliases)
        target = mapping[source]
        if target is None:
            dropped[source] += 1
            continue
        files.append(path)
        labels.append(CANONICAL.index(target))
    if not files:
        raise InputError(root, "every image was dropped by the label mapping")
    return LabelledFiles(files, np.asarray(labels, dtype=np.int64), mapping, dropped)


def find_split(root: str | os.PathLike[str], names: tuple[str, ...]) -> Path | None:
    """The first sub-folder of ``root`` whose name (case-insensitive) is in ``names``."""
    by_name = {d.name.lower(): d for d in _subdirs(Path(root))}
    return next((by_name[n] for n in names if n in by_name), None)


def eval_folder(path: str | os.PathLike[str]) -> Path:
    """The folder to evaluate: ``path`` itself, or its validation split when it holds splits."""
    p = Path(path)
    if not p.is_dir():
        raise InputError(p, "not a folder")
    if find_split(p, TRAIN_SPLITS) is not None:
        val = find_split(p, VAL_SPLITS)
        if val is None:
            raise InputError(p, f"holds a train split but no validation split ({', '.join(VAL_SPLITS)})")
        return val
    return p


def load_gray(path: Path, size: int) -> np.ndarray:
    """One image as the model sees it: ``size x size`` gray uint8, preprocessed as by ``emotrace-fer``."""
    return gray_square(load_rgb(path), size)


def load_images(files: list[Path], size: int, threads: int = 2) -> np.ndarray:
    """Decode all files into an ``(N, size, size)`` uint8 array."""
    out = np.empty((len(files), size, size), dtype=np.uint8)
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for i, img in enumerate(pool.map(lambda p: load_gray(p, size), files, chunksize=256)):
            out[i] = img
    return out


def load_rgb(path: Path) -> np.ndarray:
    """One image as RGB uint8 (how the faces stage hands crops to a backend)."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise InputError(path, f"cannot decode image ({e})") from None

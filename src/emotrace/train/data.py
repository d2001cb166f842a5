"""Labelled face-image folders: discovery, label mapping and in-memory loading.

Layouts understood (images: jpg, jpeg, png, bmp, webp):

* ``ROOT/<split>/<label>/*`` -- FER2013, RAF-DB and AffectNet exports;
* ``ROOT/<label>/*`` -- one split;
* flat ``<dataset>_<n>_<emotion>.<ext>`` files (in ROOT or ROOT/<split>).

Label folders may be emotion names (mapped with :func:`emotrace.labels.canonical_label`, so
``contempt`` becomes ``disgust`` and unknown names are an error) or numbers: RAF-DB numbers
its basic classes 1-7, AffectNet 0-7 (7 = contempt). Numeric schemes are chosen explicitly
(``numeric="rafdb"|"affectnet"``) or guessed (``"auto"``: a folder ``0`` means AffectNet).
"""

from __future__ import annotations

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
TRAIN_SPLITS = ("train", "training")
VAL_SPLITS = ("val", "valid", "validation", "publictest", "test")
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
            [self.files[i] for i in idx], self.labels[idx], dict(self.mapping), Counter(self.dropped)
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


def scan_folder(
    folder: str | os.PathLike[str], numeric: str = "auto", aliases: dict[str, str | None] | None = None
) -> LabelledFiles:
    """Labelled images of one split: ``<label>/*`` folders or flat ``<dataset>_<n>_<emotion>`` files."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, "not a folder")
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

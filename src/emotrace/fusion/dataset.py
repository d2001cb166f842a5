"""Labelled clips for training fusion: CSV, label folders or dataset file names, and
analysed timelines cached per clip so that re-training does not re-run the models."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from emotrace.config import Config, load_config
from emotrace.errors import EmotraceError, InputError
from emotrace.labels import LabelError, canonical_label
from emotrace.model import Timeline

MEDIA_SUFFIXES = {".mp4", ".mkv", ".mov", ".avi", ".flv", ".webm", ".wav", ".flac", ".mp3", ".m4a", ".ogg"}
_CREMA = re.compile(r"_(ANG|DIS|FEA|HAP|NEU|SAD)_", re.IGNORECASE)
_RAVDESS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fear",
            "07": "disgust", "08": "surprise"}
_RAVDESS_NAME = re.compile(r"^\d\d-\d\d-(\d\d)-\d\d-\d\d-\d\d-\d\d$")


def _label(raw: str, where: Path) -> str:
    try:
        lab = canonical_label(raw)
    except LabelError as e:
        raise InputError(where, str(e)) from None
    if lab is None:
        raise InputError(where, f"label {raw!r} maps to no canonical emotion")
    return lab


def label_from_name(path: Path) -> str | None:
    """Emotion coded in a CREMA-D (``1001_DFA_HAP_XX``) or RAVDESS (``03-01-03-...``) file name."""
    m = _CREMA.search(path.stem)
    if m:
        return canonical_label(m.group(1))
    m = _RAVDESS_NAME.match(path.stem)
    if m and m.group(1) in _RAVDESS:
        return canonical_label(_RAVDESS[m.group(1)])
    return None


def read_labelled_clips(source: str | Path) -> list[tuple[Path, str]]:
    """``(clip, canonical label)`` pairs from a CSV (``clip,label``; paths relative to the CSV),
    a folder of ``<label>/<clip>`` sub-folders, or a folder of CREMA-D/RAVDESS-named files."""
    src = Path(source)
    if not src.exists():
        raise InputError(src, "file not found")
    pairs: list[tuple[Path, str]] = []
    if src.is_file():
        with src.open(newline="") as fh:
            reader = csv.DictReader(fh)
            cols = {c.lower().strip(): c for c in reader.fieldnames or []}
            clip_col = next((cols[c] for c in ("clip", "video", "path", "file") if c in cols), None)
            label_col = next((cols[c] for c in ("label", "emotion") if c in cols), None)
            if clip_col is None or label_col is None:
                raise InputError(src, "CSV needs a clip (or video/path) column and a label column")
            for row in reader:
                p = Path(row[clip_col])
                pairs.append((p if p.is_absolute() else src.parent / p, _label(row[label_col], src)))
    else:
        subdirs = [d for d in sorted(src.iterdir()) if d.is_dir()]
        if subdirs:
            for d in subdirs:
                for f in sorted(d.iterdir()):
                    if f.suffix.lower() in MEDIA_SUFFIXES:
                        pairs.append((f, _label(d.name, d)))
        else:
            for f in sorted(src.iterdir()):
                if f.suffix.lower() in MEDIA_SUFFIXES:
                    lab = label_from_name(f)
                    if lab is not None:
                        pairs.append((f, lab))
    missing = [p for p, _ in pairs if not p.is_file()]
    if missing:
        raise InputError(missing[0], "clip listed for training not found")
    if not pairs:
        raise InputError(src, "no labelled clips found")
    return pairs


def _key(path: Path, config: Config) -> str:
    st = path.stat()
    cfg = config.model_dump_json(include={"fps", "labels", "stages"})
    return hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{cfg}".encode()).hexdigest()[:20]


def analysis_config(overrides: list[str] | None = None) -> Config:
    """Config for analysing training clips: the perception stages only."""
    cfg = load_config(overrides=overrides)
    for slot in ("fusion", "analysis", "highlights", "describe", "keyframes"):
        if slot in cfg.stages:
            cfg.stages[slot].enabled = False
    return cfg


def timelines_for(
    clips: list[Path],
    config: Config,
    cache: Path | None = None,
    progress: Callable[[int, Path], None] | None = None,
) -> list[Timeline]:
    """Analyse each clip (or load its cached timeline from ``cache``)."""
    from emotrace.pipeline import analyze

    out: list[Timeline] = []
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    for i, clip in enumerate(clips):
        if progress:
            progress(i, clip)
        cached = cache / f"{_key(clip, config)}.json" if cache is not None else None
        if cached is not None and cached.is_file():
            out.append(Timeline.load(cached))
            continue
        try:
            tl = analyze(clip, config=config)
        except EmotraceError as e:
            raise InputError(clip, f"cannot analyse training clip ({e})") from None
        if cached is not None:
            cached.write_text(tl.to_json(indent=None))
        out.append(tl)
    return out

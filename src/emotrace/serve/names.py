"""Safe file names and paths for the web app: no traversal, no hidden or odd names."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".flv", ".mpg", ".mpeg", ".ts", ".wmv", ".3gp",
                  ".ogv", ".m4a", ".mp3", ".wav", ".flac", ".ogg", ".opus"}


def safe_filename(name: str, max_len: int = 80) -> str | None:
    """A plain ASCII file name made from a user-supplied one, or None if nothing usable is left.

    Folders are dropped (only the last component is kept), characters other than letters,
    digits, ``.``, ``-`` and ``_`` become ``_``, and leading dots are removed.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._ ")
    if not base:
        return None
    stem, dot, ext = base.rpartition(".")
    if dot and len(base) > max_len:
        base = stem[: max_len - len(ext) - 1] + "." + ext
    return base[:max_len]


def inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it stays inside ``root`` (after resolving links and ``..``), else None."""
    if not relative or "\x00" in relative or relative.startswith(("/", "\\")):
        return None
    root = root.resolve()
    target = (root / relative).resolve()
    if target == root or not target.is_relative_to(root):
        return None
    return target


def is_media_name(name: str) -> bool:
    return Path(name).suffix.lower() in VIDEO_SUFFIXES

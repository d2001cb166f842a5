"""Batch inputs: folders (recursive), glob patterns and CSV manifests, resolved to named items.

Every item gets a result-folder name that is stable across runs and collision-free: the
manifest ``id`` when one is given (duplicates are an error), otherwise the file stem followed
by 8 hex digits of the SHA-1 of its absolute path (``interview-3fa2b1c0``).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from emotrace.errors import InputError
from emotrace.io.results import RESULT_MARKER

VIDEO_EXTS = frozenset(
    {".mp4", ".mov", ".mkv", ".avi", ".webm", ".flv", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".3gp", ".mts"}
)
AUDIO_EXTS = frozenset({".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".wma"})
MEDIA_EXTS = VIDEO_EXTS | AUDIO_EXTS
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch: where it is and the result folder name it gets."""

    path: Path
    name: str
    id: str | None = None


def safe_name(text: str) -> str:
    """A file-system-safe folder name (no separators, no leading dot)."""
    name = _UNSAFE.sub("_", text.strip()).strip("._") or "video"
    return name[:100]


def item_name(path: Path) -> str:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    return f"{safe_name(path.stem)}-{digest}"


def is_media(path: Path) -> bool:
    return path.suffix.lower() in MEDIA_EXTS


def read_manifest(path: Path) -> list[BatchItem]:
    """Read a CSV manifest with a ``path`` column and an optional ``id`` column.

    Relative paths are taken relative to the manifest's folder.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            fields = [(c or "").strip().lower() for c in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(path, f"cannot read manifest ({e})") from None
    if not rows:
        raise InputError(path, "manifest has no rows")
    if "path" not in fields:
        raise InputError(path, "manifest needs a 'path' column (and optionally 'id')")
    items: list[BatchItem] = []
    for line, row in enumerate(rows, start=2):
        norm = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not norm.get("path"):
            raise InputError(path, f"line {line}: empty path")
        p = Path(norm["path"]).expanduser()
        if not p.is_absolute():
            p = path.parent / p
        vid = norm.get("id") or None
        items.append(BatchItem(path=p, name=safe_name(vid) if vid else item_name(p), id=vid))
    return items


def _in_results(path: Path, exclude: list[Path]) -> bool:
    """Whether ``path`` lies in one of the ``exclude`` folders or in an emotrace result folder
    (clips under ``highlights/``, annotated videos): batch never analyses its own output."""
    resolved = path.resolve()
    if any(resolved.is_relative_to(e) for e in exclude):
        return True
    return any((d / RESULT_MARKER).is_file() or (d / "batch.json").is_file() for d in resolved.parents)


def collect_inputs(specs: list[str], exclude: list[str | Path] | None = None) -> list[BatchItem]:
    """Expand folders, globs, files and ``.csv`` manifests into unique, named batch items.

    Folder and pattern expansion skips ``exclude`` (the batch's own output folder) and every
    emotrace result folder; files named one by one or in a manifest are taken as given.
    """
    skip = [Path(e).expanduser().resolve() for e in exclude or []]
    items: list[BatchItem] = []
    for spec in specs:
        p = Path(spec).expanduser()
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and is_media(q) and not _in_results(q, skip))
            if not found:
                raise InputError(p, "folder holds no video or audio files")
            items += [BatchItem(path=q, name=item_name(q)) for q in found]
        elif p.is_file() and p.suffix.lower() == ".csv":
            items += read_manifest(p)
        elif p.is_file():
            items.append(BatchItem(path=p, name=item_name(p)))
        elif glob.has_magic(spec):
            found = sorted(Path(q) for q in glob.glob(str(p), recursive=True) if Path(q).is_file())
            found = [q for q in found if is_media(q) and not _in_results(q, skip)]
            if not found:
                raise InputError(spec, "pattern matches no video or audio files")
            items += [BatchItem(path=q, name=item_name(q)) for q in found]
        else:
            raise InputError(p, "no such file or folder")
    return _dedupe(items)


def _dedupe(items: list[BatchItem]) -> list[BatchItem]:
    """Drop repeats of the same file; two different files may not share a result name."""
    by_name: dict[str, BatchItem] = {}
    out: list[BatchItem] = []
    for it in items:
        prev = by_name.get(it.name)
        if prev is None:
            by_name[it.name] = it
            out.append(it)
        elif prev.path.resolve() != it.path.resolve():
            raise InputError(it.path, f"result name {it.name!r} is already used by {prev.path}")
    return out

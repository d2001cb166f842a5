"""Re-render outputs of an existing result folder from its ``timeline.json``.

Writers run in a staging folder inside the result folder (sub-folders such as ``keyframes/``
are linked in), then each new file replaces its old version with an atomic rename, so a
failed run leaves the previous outputs untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from pydantic import ValidationError

from emotrace.errors import InputError, OutputError
from emotrace.model import Timeline
from emotrace.report.writers import LAZY_WRITERS, WRITERS, get_writer

DEFAULT_FORMATS = ["html", "srt", "vtt", "eaf"]


def load_result(folder: Path) -> Timeline:
    """The timeline of a result folder (or of a timeline.json file), or an :class:`InputError`."""
    if not folder.exists():
        raise InputError(folder, "no such result folder")
    path = folder / "timeline.json" if folder.is_dir() else folder
    if not folder.is_dir() and folder.suffix != ".json":
        raise InputError(folder, "not a folder (give the result folder written by `emotrace analyze`)")
    if not path.is_file():
        raise InputError(folder, "no timeline.json in this folder (not an emotrace result folder?)")
    try:
        return Timeline.from_json(path.read_bytes())
    except (ValidationError, ValueError) as e:
        first = str(e).splitlines()[0]
        raise InputError(path, f"not a valid emotrace timeline ({first})") from None


def rerender(folder: Path, formats: list[str] | None = None, video: Path | None = None) -> list[Path]:
    """Write ``formats`` (default: html, srt, vtt, eaf) into ``folder``; returns the files written."""
    tl = load_result(folder)
    formats = formats or DEFAULT_FORMATS
    known = [*WRITERS, *LAZY_WRITERS]
    for fmt in formats:
        if fmt not in known:
            raise InputError(fmt, f"unknown output format (choose from {', '.join(known)})")
    if video is not None and not video.is_file():
        raise InputError(video, "no such video file")
    if not os.access(folder, os.W_OK):
        raise OutputError(folder, "result folder is not writable")
    stage = Path(tempfile.mkdtemp(prefix=".report-tmp-", dir=folder))
    written: list[Path] = []
    try:
        for entry in folder.iterdir():
            if entry.is_dir() and entry != stage and entry.name != "tables" and not entry.name.startswith("."):
                (stage / entry.name).symlink_to(entry.resolve(), target_is_directory=True)
        for fmt in formats:
            writer = get_writer(fmt)
            if writer is None:
                raise OutputError(folder, f"output format {fmt!r} is not available in this installation")
            writer(tl, stage, video)
        for root, dirs, files in os.walk(stage):
            dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
            for name in files:
                src = Path(root) / name
                if name.startswith("."):
                    continue
                dest = folder / src.relative_to(stage)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dest)
                written.append(dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return sorted(written)

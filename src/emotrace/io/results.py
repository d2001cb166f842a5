"""What marks a folder as an emotrace result (so that ``--overwrite`` and batch can tell
emotrace's folders from a user's)."""

from __future__ import annotations

from pathlib import Path

RESULT_MARKER = ".emotrace-result"  # written into every result folder: --overwrite replaces only these
TMP_INFIX = ".tmp-"


def is_result_folder(folder: Path) -> bool:
    """Whether ``folder`` was written by emotrace: it holds the result marker, or (results of
    releases before the marker) a ``timeline.json`` whose provenance names emotrace."""
    if (folder / RESULT_MARKER).is_file():
        return True
    tl = folder / "timeline.json"
    if not tl.is_file():
        return False
    try:
        with open(tl, "rb") as f:
            head = f.read(1 << 16)
            f.seek(max(0, f.seek(0, 2) - (1 << 16)))
            tail = f.read()
    except OSError:
        return False
    return b'"emotrace_version"' in head + tail  # the provenance block of every timeline.json

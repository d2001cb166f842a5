"""What makes a result "done": the input's content hash and the config hash, recorded in the folder.

A finished result folder holds ``batch.json`` with both hashes; a later batch skips the video
when the file and the result-relevant config are unchanged, and redoes it otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from emotrace.config import Config

MARKER = "batch.json"
# settings that change speed, not results
_RUNTIME_KEYS = ("threads", "device")


def config_sha256(config: Config) -> str:
    """SHA-256 of the result-relevant configuration (threads and device left out)."""
    data = config.model_dump(mode="json")
    for key in _RUNTIME_KEYS:
        data.pop(key, None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_done(folder: Path, input_sha256: str, config_sha256: str) -> bool:
    """True when ``folder`` holds a finished result for this exact input and config."""
    m = read_marker(folder)
    return (
        m is not None
        and m.get("input_sha256") == input_sha256
        and m.get("config_sha256") == config_sha256
        and (folder / "timeline.json").is_file()
    )


def write_marker(folder: Path, record: dict[str, Any]) -> None:
    """Write the marker atomically (a rename), last step of a finished video."""
    tmp = folder / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, folder / MARKER)

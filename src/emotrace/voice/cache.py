"""Per-clip cache of Whisper encoder states and prosody, so training variants reuse extraction.

Entries are keyed by the clip file's content hash, the encoder model name, the feature version
and the augmentation chain (``"clean"`` for the original), and stored one ``.npz`` per entry
under ``root/<model>/<key[:2]>/<key>.npz``: ``states`` (frames x 512, float16, 50 frames/s of
the speech span) and ``prosody`` (16 values). A corrupt or partial entry is recomputed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE_VERSION = "states-fp16+prosody16-v1"


@dataclass
class ClipStates:
    states: np.ndarray  # (frames, d) float16
    prosody: np.ndarray  # (16,) float32

    def pooled(self) -> np.ndarray:
        """The linear model's feature vector: mean and std of the states, then prosody."""
        s = self.states.astype(np.float32)
        return np.concatenate([s.mean(axis=0), s.std(axis=0), self.prosody]).astype(np.float32)


def file_hash(path: str | os.PathLike[str], _memo: dict[tuple[str, int, float], str] = {}) -> str:  # noqa: B006
    """SHA-1 of the file's bytes (memoised per path, size and mtime within the process)."""
    p = Path(path)
    st = p.stat()
    k = (str(p.resolve()), st.st_size, st.st_mtime)
    if k not in _memo:
        _memo[k] = hashlib.sha1(p.read_bytes()).hexdigest()
    return _memo[k]


class StateCache:
    def __init__(self, root: str | os.PathLike[str], model_name: str = "whisper-base") -> None:
        self.root = Path(root) / model_name
        self.model_name = model_name

    def key(self, path: str | os.PathLike[str], variant: str = "clean") -> str:
        raw = f"{file_hash(path)}|{self.model_name}|{CACHE_VERSION}|{variant}"
        return hashlib.sha1(raw.encode()).hexdigest()

    def _file(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> ClipStates | None:
        f = self._file(key)
        if not f.is_file():
            return None
        try:
            with np.load(f, allow_pickle=False) as z:
                return ClipStates(z["states"], z["prosody"])
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, entry: ClipStates) -> None:
        f = self._file(key)
        f.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=f.parent, suffix=".tmp.npz")
        os.close(fd)
        np.savez(tmp, states=entry.states.astype(np.float16), prosody=entry.prosody.astype(np.float32))
        os.replace(tmp, f)

"""Keep the process heap from growing with video length (glibc only, no-op elsewhere).

Decoded frames and crops are large, short-lived numpy buffers allocated from several threads
(decoder, LiteRT, ONNX Runtime). glibc's dynamic mmap threshold then serves them from
per-thread heap arenas that fragment and never shrink, so RSS creeps up with video length.
A fixed mmap threshold hands every buffer above it straight back to the OS when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3
_DONE = False


def fixed_mmap_threshold(nbytes: int = 512 * 1024) -> bool:
    """Serve allocations of ``nbytes`` or more by mmap (process-wide, once). True if applied."""
    global _DONE
    if _DONE or not sys.platform.startswith("linux"):
        return _DONE
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _DONE = bool(libc.mallopt(M_MMAP_THRESHOLD, int(nbytes)))
    except (OSError, AttributeError):
        _DONE = False
    return _DONE

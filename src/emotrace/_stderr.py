"""Keep native libraries' log chatter (glog/absl, TFLite) off the CLI's stderr.

MediaPipe and LiteRT write informational lines straight to file descriptor 2, where no
Python setting reaches them. The CLI routes fd 2 through a pipe and drops only lines that
match those libraries' log formats; everything else (our one-line errors) passes through.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from typing import Self

_NOISE = re.compile(
    rb"^(?:[IWE]\d{4} [\d:. ]+\s+\d+ \S+:\d+\]|WARNING: Logging before InitGoogle|"
    rb"INFO: Created TensorFlow Lite|INFO: Initialized TensorFlow Lite|"
    rb"WARNING: All log messages before absl::InitializeLog|All log messages before absl)"
)


class NativeStderrFilter:
    def __init__(self) -> None:
        self._orig: int | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        try:
            sys.stderr.flush()
            self._orig = os.dup(2)
            r, w = os.pipe()
            os.dup2(w, 2)
            os.close(w)
        except OSError:
            self._orig = None
            return self
        orig = self._orig

        def pump() -> None:
            with os.fdopen(r, "rb", buffering=0) as src:
                buf = b""
                while chunk := src.read(65536):
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        if not _NOISE.match(line):
                            os.write(orig, line + b"\n")
                if buf and not _NOISE.match(buf):
                    os.write(orig, buf)

        self._thread = threading.Thread(target=pump, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._orig is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._orig, 2)  # closes the pipe's write end: the pump drains and stops
        if self._thread is not None:
            self._thread.join(timeout=2)
        os.close(self._orig)
        self._orig = None

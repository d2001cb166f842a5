"""What runs in a worker process (local pool or Dask worker): one video per task.

Models are cached per process (ONNX Runtime sessions, Whisper), so a long-lived worker loads
them on its first video and reuses them for every later one; :func:`init_worker` pays the
import cost up front and ends the worker when its parent goes away.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from emotrace.config import Config
from emotrace.errors import EmotraceError

_TASKS = 0


@dataclass(frozen=True)
class Task:
    """One video to analyse into ``out_dir`` with the config given as JSON."""

    name: str
    path: str
    out_dir: str
    config_json: str
    input_sha256: str
    config_sha256: str
    id: str | None = None
    attempt: int = 1


@dataclass
class Outcome:
    """What came of a task; ``summary`` holds the index rows of a finished video."""

    name: str
    status: Literal["done", "failed"]
    error: str | None = None
    retryable: bool = False
    seconds: float = 0.0
    worker: str = ""
    warm: bool = False
    peak_rss_mb: float = 0.0
    summary: dict[str, list[dict[str, Any]]] | None = field(default=None, repr=False)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:  # the batch driver died: do not linger as an orphan
            os._exit(1)


def init_worker(watch_parent: bool = True) -> None:
    """Worker initializer: import the stage plug-ins once; optionally exit with the parent."""
    from emotrace.stage import available

    available()
    if watch_parent:
        threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


@lru_cache(maxsize=4)
def _config(config_json: str) -> Config:
    return Config.model_validate_json(config_json)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _models_loaded() -> int:
    from emotrace.models import onnx

    return len(onnx._SESSIONS)


def process(task: Task) -> Outcome:
    """Analyse one video into its result folder, write the done-marker, return index rows."""
    global _TASKS
    from emotrace import __version__
    from emotrace.batch.state import write_marker
    from emotrace.batch.summary import summarize
    from emotrace.pipeline import analyze

    warm = _TASKS > 0 and _models_loaded() > 0
    _TASKS += 1
    worker = f"{os.uname().nodename}:{os.getpid()}"
    t0 = time.perf_counter()
    try:
        tl = analyze(task.path, task.out_dir, config=_config(task.config_json), overwrite=True, front="batch")
        summary = summarize(tl, task.name)
        seconds = round(time.perf_counter() - t0, 3)
        write_marker(
            Path(task.out_dir),
            {
                "name": task.name,
                "id": task.id,
                "path": task.path,
                "input_sha256": task.input_sha256,
                "config_sha256": task.config_sha256,
                "seconds": seconds,
                "worker": worker,
                "emotrace_version": __version__,
                "finished": tl.provenance.created,
            },
        )
        status: Literal["done", "failed"] = "done"
        error, retryable = None, False
    except EmotraceError as e:  # bad input: the same every time, not retried
        status, error, retryable, summary = "failed", _one_line(str(e)), False, None
    except Exception as e:  # noqa: BLE001 - a crash inside a stage: may be transient, retried
        status, error, retryable, summary = "failed", _one_line(f"{type(e).__name__}: {e}"), True, None
    return Outcome(
        name=task.name,
        status=status,
        error=error,
        retryable=retryable,
        seconds=round(time.perf_counter() - t0, 3),
        worker=worker,
        warm=warm,
        peak_rss_mb=round(peak_rss_mb(), 1),
        summary=summary,
    )


def _one_line(text: str) -> str:
    lines = [s for s in text.splitlines() if s.strip()]
    return lines[0][:500] if lines else "unknown error"

"""The batch runner: plan (hash, skip what is done), dispatch to an engine, retry, index, report.

Every finished video has its result folder ``OUT/<name>/`` with ``batch.json`` (input and
config hashes) and its rows in ``OUT/index.sqlite``; failed videos are in the index's
``status`` table and in ``OUT/failures.csv``. Rerunning the same command resumes: only
videos without a matching marker run again.
"""

from __future__ import annotations

import csv
import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from emotrace.batch.engines import Engine, LocalEngine
from emotrace.batch.index import CorpusIndex
from emotrace.batch.inputs import BatchItem
from emotrace.batch.state import config_sha256, is_done, read_marker
from emotrace.batch.summary import summarize
from emotrace.batch.worker import Outcome, Task
from emotrace.config import Config
from emotrace.errors import OutputError
from emotrace.io.media import file_sha256
from emotrace.model import Timeline

FAILURES = "failures.csv"
LOCK = ".batch.lock"
BatchHook = Callable[[str, str, int, int], None]  # (event, video name, completed, total)


def null_batch_hook(event: str, name: str, completed: int, total: int) -> None:
    """Default hook: no progress output."""


@dataclass
class BatchSummary:
    """What a batch did."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)  # name -> one-line error
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0


def _failed(name: str, error: str) -> Outcome:
    return Outcome(name=name, status="failed", error=error)


def run_batch(
    items: list[BatchItem],
    out: str | Path,
    config: Config | None = None,
    engine: Engine | None = None,
    retries: int = 1,
    hook: BatchHook | None = None,
) -> BatchSummary:
    """Analyse ``items`` into ``out`` with ``engine`` (a 1-worker local pool by default)."""
    out = Path(out)
    config = config or Config()
    hook = hook or null_batch_hook
    t0 = time.perf_counter()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(out, f"cannot create output folder ({e.strerror or e})") from None
    summary = BatchSummary(total=len(items))
    cfg_hash = config_sha256(config)
    by_name = {it.name: it for it in items}
    if engine is None:
        engine = LocalEngine(1)
    with _exclusive(out), CorpusIndex(out, create=True) as index, engine:
        run_config = config if config.threads else config.model_copy(update={"threads": engine.threads})
        cfg_json = run_config.model_dump_json()
        completed = 0

        def finish(it: BatchItem, o: Outcome, attempts: int, extra: dict[str, Any]) -> None:
            nonlocal completed
            completed += 1
            summary.outcomes.append(o)
            if o.status == "done":
                summary.done += 1
                if o.summary is not None:
                    index.add(o.summary, {"id": it.id, **extra, "seconds": o.seconds, "worker": o.worker})
                index.set_status(
                    it.name, str(it.path), "done", attempts=attempts, seconds=o.seconds, worker=o.worker, **extra
                )
            else:
                summary.failed += 1
                summary.failures[it.name] = o.error or "failed"
                _drop_stale(index, out / it.name, it.name, extra)
                index.set_status(
                    it.name, str(it.path), "failed", error=o.error, attempts=attempts, worker=o.worker, **extra
                )
            hook(o.status, it.name, completed, summary.total)

        hook("start", "", 0, summary.total)
        tasks: list[Task] = []
        for it in items:
            hook("hash", it.name, completed, summary.total)
            try:
                in_hash = file_sha256(it.path)
            except OSError as e:
                finish(it, _failed(it.name, f"{it.path}: cannot read ({e.strerror or e})"), 0, {})
                continue
            extra = {"input_sha256": in_hash, "config_sha256": cfg_hash}
            folder = out / it.name
            if is_done(folder, in_hash, cfg_hash) and _indexed(index, it, folder, extra):
                if index.status_of(it.name) != "done":
                    index.set_status(it.name, str(it.path), "done", **extra)
                summary.skipped += 1
                completed += 1
                hook("skipped", it.name, completed, summary.total)
                continue
            tasks.append(
                Task(name=it.name, path=str(it.path), out_dir=str(folder), config_json=cfg_json,
                     input_sha256=in_hash, config_sha256=cfg_hash, id=it.id)
            )

        queue = list(reversed(tasks))
        running: dict[Any, Task] = {}
        limit = engine.max_in_flight or len(tasks) or 1
        while queue or running:
            while queue and len(running) < limit:
                task = queue.pop()
                running[engine.submit(task)] = task
                hook("submit", task.name, completed, summary.total)
            for fut in engine.wait_any(running):
                task = running.pop(fut)
                o = engine.outcome(fut, task)
                if o.status == "failed" and o.retryable and task.attempt <= retries:
                    hook("retry", task.name, completed, summary.total)
                    queue.append(replace(task, attempt=task.attempt + 1))
                    continue
                extra = {"input_sha256": task.input_sha256, "config_sha256": task.config_sha256}
                finish(by_name[task.name], o, task.attempt, extra)

        _write_failures(out, items, summary)
        _remove_partial(out, items)
    summary.seconds = round(time.perf_counter() - t0, 2)
    return summary


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One batch at a time per corpus folder (an OS lock, released even if the batch is killed)."""
    with (out / LOCK).open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError(out, "another batch is writing to this folder") from None
        yield


def _indexed(index: CorpusIndex, it: BatchItem, folder: Path, extra: dict[str, Any]) -> bool:
    """Make sure a finished result is in the index (a batch killed before indexing it leaves
    it out); False when its timeline cannot be read, so that the video runs again."""
    if index.has(it.name, extra["input_sha256"], extra["config_sha256"]):
        return True
    try:
        rows = summarize(Timeline.load(folder), it.name)
    except (OSError, ValueError):
        return False
    marker = read_marker(folder) or {}
    index.add(rows, {"id": it.id, **extra, "seconds": marker.get("seconds"), "worker": marker.get("worker")})
    return True


def _drop_stale(index: CorpusIndex, folder: Path, name: str, extra: dict[str, Any]) -> None:
    """A video that failed now must not keep the result and index rows of an earlier version
    of its file: they would describe media that is no longer there."""
    marker = read_marker(folder)
    if marker is not None and marker.get("input_sha256") == extra.get("input_sha256"):
        return  # the same file is analysed there (with this or an earlier config): still true
    if folder.is_dir() and (marker is not None or (folder / "timeline.json").is_file()):
        shutil.rmtree(folder, ignore_errors=True)
    index.remove(name)


def _write_failures(out: Path, items: list[BatchItem], summary: BatchSummary) -> None:
    """``OUT/failures.csv``: this batch's failed videos with their one-line errors (removed if none)."""
    path = out / FAILURES
    if not summary.failures:
        path.unlink(missing_ok=True)
        return
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video", "path", "error"])
        for it in items:
            if it.name in summary.failures:
                w.writerow([it.name, str(it.path), summary.failures[it.name]])


def _remove_partial(out: Path, items: list[BatchItem]) -> None:
    """Remove temporary folders left by workers that died mid-write."""
    for it in items:
        for tmp in out.glob(f".{it.name}.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)

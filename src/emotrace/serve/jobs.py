"""Background analysis jobs for the web app, one at a time, with progress from the pipeline hook."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emotrace.config import load_config
from emotrace.errors import EmotraceError
from emotrace.serve.names import safe_filename

REPORT_FORMATS = ["json", "events", "csv", "html", "srt", "vtt", "eaf"]


@dataclass
class Job:
    id: str
    video: Path
    out: Path
    status: str = "queued"  # queued, running, done, failed
    step: str = "queued"
    fraction: float = 0.0
    message: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    steps_seen: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "video": self.video.name,
            "status": self.status,
            "step": self.step,
            "fraction": round(self.fraction, 4),
            "message": self.message,
            "elapsed_s": round((self.finished or time.time()) - self.started, 1),
            "steps": self.steps_seen,
            "result_url": f"/results/{self.id}" if self.status == "done" else None,
        }


class JobManager:
    """Runs :func:`emotrace.pipeline.analyze` in a worker thread; jobs are polled by id."""

    def __init__(self, results_dir: Path, overrides: list[str] | None = None, formats: list[str] | None = None):
        self.results_dir = results_dir
        self.overrides = list(overrides or [])
        self.formats = formats or REPORT_FORMATS
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emotrace-job")

    def submit(self, video: Path) -> Job:
        stem = (safe_filename(video.stem) or "video")[:40]
        job_id = f"{stem}-{uuid.uuid4().hex[:8]}"
        job = Job(id=job_id, video=video, out=self.results_dir / job_id)
        with self._lock:
            self.jobs[job_id] = job
        self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self.jobs.get(job_id)

    def _run(self, job: Job) -> None:
        from emotrace.pipeline import analyze

        job.status, job.started = "running", time.time()

        def hook(step: str, completed: float | None = None, total: float | None = None) -> None:
            if step not in job.steps_seen:
                job.steps_seen.append(step)
            job.step = step
            if completed is not None and total:
                job.fraction = max(0.0, min(1.0, float(completed) / float(total)))
            elif completed is None:
                job.fraction = 0.0

        try:
            cfg = load_config(None, self.overrides)
            analyze(job.video, job.out, config=cfg, hook=hook, overwrite=False, formats=self.formats, front="serve")
            job.status, job.step, job.fraction = "done", "done", 1.0
        except EmotraceError as e:
            job.status, job.message = "failed", str(e)
        except Exception as e:  # noqa: BLE001 - a bug: the page says so in one line; the server keeps running
            job.status, job.message = "failed", f"internal error: {type(e).__name__}: {str(e)[:300]}"
        finally:
            job.finished = time.time()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

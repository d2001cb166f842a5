"""Execution engines: a local process pool (default) and Dask distributed (optional extra).

An engine submits :class:`~emotrace.batch.worker.Task` objects and hands back
:class:`~emotrace.batch.worker.Outcome` objects. A worker that dies (killed, out of memory,
segfault) turns into a retryable failed outcome for the tasks it held; the batch runner
decides whether to resubmit them.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import uuid
from collections.abc import Iterable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, Self

from emotrace.batch.worker import Outcome, Task, init_worker, process
from emotrace.errors import DependencyMissing, EmotraceError, InputError


class Engine(Protocol):
    """What the batch runner needs from an engine."""

    name: str
    workers: int
    max_in_flight: int | None  # tasks submitted at once (None: all)
    threads: int  # inference threads per worker for config.threads=0 (0: each worker's default)

    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: object, *exc: object) -> None: ...
    def submit(self, task: Task) -> Any: ...
    def wait_any(self, futures: Iterable[Any]) -> set[Any]: ...
    def outcome(self, future: Any, task: Task) -> Outcome: ...


def lost(task: Task, why: str) -> Outcome:
    """The outcome of a task whose worker went away."""
    return Outcome(name=task.name, status="failed", error=why, retryable=True)


def default_threads(workers: int) -> int:
    """Inference threads per worker so that the workers together use the machine's cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


class LocalEngine:
    """A pool of spawned worker processes; each loads the models once and keeps them.

    At most ``workers`` tasks are in flight, so a crash (which breaks the whole pool) is charged
    only to the videos that were running; the pool is then rebuilt.
    """

    name = "local"

    def __init__(self, workers: int = 1):
        self.workers = max(1, workers)
        self.max_in_flight: int | None = self.workers
        self.threads = default_threads(self.workers)
        self._ctx = mp.get_context("spawn")  # no fork: native libraries run threads
        self._pool: cf.ProcessPoolExecutor | None = None
        self._generation = 0
        self._gen_of: dict[Any, int] = {}

    def _start(self) -> None:
        self._pool = cf.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=self._ctx, initializer=init_worker
        )
        self._generation += 1

    def __enter__(self) -> Self:
        self._start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc_type is None, cancel_futures=True)
            self._pool = None

    def submit(self, task: Task) -> cf.Future[Outcome]:
        assert self._pool is not None, "engine not started"
        fut = self._pool.submit(process, task)
        self._gen_of[fut] = self._generation
        return fut

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        done, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
        return set(done)

    def outcome(self, future: Any, task: Task) -> Outcome:
        gen = self._gen_of.pop(future, self._generation)
        try:
            return future.result()
        except BrokenProcessPool:
            if gen == self._generation:  # first news of this break: replace the pool
                assert self._pool is not None
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._start()
            return lost(task, "worker process died")


class DaskEngine:
    """Tasks on a Dask distributed cluster: a running scheduler or a LocalCluster of N workers.

    Workers keep their models between tasks (one process per worker; start workers with
    ``--nthreads 1``). The scheduler reschedules the tasks of a worker that dies; a task that
    keeps killing workers comes back as a retryable failure. Workers must see the input and
    output paths (a shared file system).
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None, timeout_s: float = 20.0):
        if not scheduler and not local_workers:
            raise EmotraceError("dask engine needs a scheduler address or a local worker count")
        self.scheduler = scheduler
        self.local_workers = local_workers
        self.timeout_s = timeout_s
        self.workers = local_workers or 1
        self.max_in_flight: int | None = None
        # a LocalCluster shares this machine's cores; remote workers know their own
        self.threads = default_threads(local_workers) if local_workers else 0
        self._cluster: Any = None
        self._client: Any = None

    def __enter__(self) -> Self:
        try:
            import distributed
        except ImportError:
            raise DependencyMissing("the dask engine needs dask: pip install 'emotrace[dask]'") from None
        from emotrace.batch.dask_plugin import WarmWorker

        try:
            if self.scheduler:
                self._client = distributed.Client(self.scheduler, timeout=self.timeout_s)
            else:
                self._cluster = distributed.LocalCluster(
                    n_workers=self.local_workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=40,
                )
                self._client = distributed.Client(self._cluster)
        except (OSError, ValueError, TypeError) as e:  # unreachable, or a malformed address
            self.__exit__(None)
            where = self.scheduler or "local cluster"
            raise InputError(where, f"cannot reach dask scheduler ({str(e).splitlines()[0]})") from None
        try:
            self._client.wait_for_workers(1, timeout=self.timeout_s)
        except TimeoutError:
            self.__exit__(None)
            raise InputError(self.scheduler, f"no dask worker joined in {self.timeout_s:.0f} s") from None
        self._client.register_plugin(WarmWorker(), name="emotrace-warm")
        self.workers = max(1, len(self._client.scheduler_info(n_workers=-1).get("workers", {})))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def submit(self, task: Task) -> Any:
        return self._client.submit(
            process, task, key=f"emotrace-{task.name}-{task.attempt}-{uuid.uuid4().hex[:8]}", pure=False
        )

    def wait_any(self, futures: Iterable[Any]) -> set[Any]:
        import distributed

        return set(distributed.wait(list(futures), return_when="FIRST_COMPLETED").done)

    def outcome(self, future: Any, task: Task) -> Outcome:
        try:
            out = future.result()
        except Exception as e:  # noqa: BLE001 - KilledWorker, lost connection...: the task did not finish
            out = lost(task, f"dask: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}".rstrip(": "))
        future.release()
        return out

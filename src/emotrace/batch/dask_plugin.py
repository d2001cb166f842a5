"""A Dask worker plugin that prepares each worker once for emotrace tasks (needs ``distributed``)."""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

from emotrace.batch.worker import init_worker


class WarmWorker(WorkerPlugin):
    """Import emotrace's stage plug-ins on every worker as it joins (models then stay cached)."""

    def setup(self, worker: object) -> None:
        init_worker(watch_parent=False)

"""Dask distributed: a real scheduler and two workers on 127.0.0.1; one worker is killed mid-batch."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emotrace.batch import CorpusIndex, DaskEngine, collect_inputs, run_batch
from emotrace.batch.state import MARKER
from emotrace.errors import EmotraceError

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow
DASK = Path(sys.executable).parent / "dask"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """``dask scheduler`` + two ``dask worker`` processes (no nanny: killing one kills the worker)."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    log = (tmp_path / "dask.log").open("wb")
    port = address.rsplit(":", 1)[1]
    procs = [subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
        stdout=log, stderr=log,
    )]
    for i in range(2):
        procs.append(subprocess.Popen(
            [str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--name", f"w{i}", "--local-directory", str(tmp_path / f"w{i}")],
            stdout=log, stderr=log,
        ))
    try:
        with distributed.Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=60)
        yield address, procs[1:]
    finally:
        for p in procs[1:]:
            p.kill()
        procs[0].terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def test_dask_worker_killed_mid_batch(cluster, clips_dir: Path, cheap_config, local_corpus, tmp_path: Path) -> None:
    address, workers = cluster
    out = tmp_path / "out"
    items = collect_inputs([str(p) for p in sorted(clips_dir.rglob("*.flv"))])
    with distributed.Client(address, timeout=30) as c:
        pid_of = c.run(os.getpid)  # worker address -> pid
    assert set(pid_of.values()) == {p.pid for p in workers}
    killed: list[int] = []
    interrupted: list[str] = []  # videos the killed worker held
    engine = DaskEngine(scheduler=address)

    def kill_a_busy_worker(event: str, name: str, completed: int, total: int) -> None:
        if event != "done" or killed:
            return
        busy = {a: keys for a, keys in engine._client.processing().items() if keys}
        assert busy, "no worker busy at the first completion"
        addr, keys = next(iter(busy.items()))
        os.kill(pid_of[addr], signal.SIGKILL)
        killed.append(pid_of[addr])
        interrupted.extend(str(k).removeprefix("emotrace-").rsplit("-", 2)[0] for k in keys)

    s = run_batch(items, out, config=cheap_config, engine=engine, retries=1, hook=kill_a_busy_worker)
    assert killed and workers[[p.pid for p in workers].index(killed[0])].wait(timeout=10) == -signal.SIGKILL
    assert (s.total, s.done, s.failed) == (3, 3, 0), s.failures  # nothing lost
    assert len(list(out.glob(f"*/{MARKER}"))) == 3 and not list(out.glob(".*tmp-*"))
    survivor = next(p.pid for p in workers if p.pid != killed[0])
    redone = [o for o in s.outcomes if o.name in interrupted]
    assert redone and all(o.status == "done" and o.worker.endswith(f":{survivor}") for o in redone)
    assert any(o.worker.endswith(f":{survivor}") and o.warm for o in s.outcomes)  # the worker kept its models

    # same results as the local process pool
    dask_v = CorpusIndex(out).videos().set_index("video")
    local_v = CorpusIndex(local_corpus[0]).videos().set_index("video")
    assert set(dask_v.index) == set(local_v.index) - {n for n in local_v.index if n.startswith("broken-")}
    for name, row in dask_v.iterrows():
        ref = local_v.loc[name]
        assert row["dominant_emotion"] == ref["dominant_emotion"]
        assert row["config_sha256"] == ref["config_sha256"] and row["input_sha256"] == ref["input_sha256"]
        for col in [c for c in dask_v.columns if c.startswith(("share_", "mean_"))]:
            assert row[col] == pytest.approx(ref[col], abs=1e-3)


def test_dask_unreachable_scheduler(clips_dir: Path, tmp_path: Path) -> None:
    t0 = time.monotonic()
    engine = DaskEngine(scheduler=f"tcp://127.0.0.1:{_free_port()}", timeout_s=2)
    with pytest.raises(EmotraceError, match="cannot reach dask scheduler"):
        run_batch(collect_inputs([str(clips_dir)]), tmp_path / "o", engine=engine)
    assert time.monotonic() - t0 < 30

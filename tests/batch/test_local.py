"""The local process pool on real clips: results, failures, model reuse, skip, resume, index, query."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from emotrace.batch import CorpusIndex, LocalEngine, collect_inputs, run_batch
from emotrace.batch.state import MARKER
from emotrace.model import Timeline

pytestmark = pytest.mark.slow


def test_results_and_failures(local_corpus, clip_stems) -> None:
    out, s = local_corpus
    assert (s.total, s.done, s.skipped, s.failed) == (4, 3, 0, 1)
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert sorted(f.name.rsplit("-", 1)[0] for f in folders) == sorted(clip_stems)
    for f in folders:
        marker = json.loads((f / MARKER).read_text())
        assert len(marker["input_sha256"]) == 64 and len(marker["config_sha256"]) == 64
        tl = Timeline.load(f)
        assert tl.video.path == marker["path"] and tl.windows
    # the broken input is recorded with a one-line error, in failures.csv and in the index
    (name, err), = s.failures.items()
    assert name.startswith("broken-") and "\n" not in err
    rows = list(csv.DictReader((out / "failures.csv").open()))
    assert [r["video"] for r in rows] == [name] and rows[0]["error"] == err
    st = CorpusIndex(out).status().set_index("video")
    assert st.loc[name, "status"] == "failed" and st.loc[name, "error"] == err
    assert not list(out.glob(".*tmp-*"))


def test_workers_reuse_models(local_corpus) -> None:
    _, s = local_corpus
    done = [o for o in s.outcomes if o.status == "done"]
    assert len({o.worker for o in s.outcomes if o.worker}) == 2  # both pool processes worked
    by_worker: dict[str, list] = {}
    for o in done:
        by_worker.setdefault(o.worker, []).append(o)
    assert any(len(v) > 1 for v in by_worker.values())
    for outs in by_worker.values():  # first video of a worker loads the models, the next reuse them
        assert not outs[0].warm and all(o.warm for o in outs[1:])
        assert all(o.peak_rss_mb > 50 for o in outs)


def test_index_summaries_match_timelines(local_corpus) -> None:
    out, _ = local_corpus
    idx = CorpusIndex(out)
    videos = idx.videos().set_index("video")
    assert len(videos) == 3
    for name, row in videos.iterrows():
        tl = Timeline.load(out / str(name))
        # recompute the time-weighted share of each dominant emotion from the timeline itself
        labels = [max(x.fused.probs, key=x.fused.probs.get) for x in tl.windows if x.fused]
        dur = [x.end_s - x.start_s for x in tl.windows if x.fused]
        for lab in tl.labels:
            share = sum(d for d, lb in zip(dur, labels, strict=True) if lb == lab) / sum(dur)
            assert row[f"share_{lab}"] == pytest.approx(share, abs=1e-4)
        assert sum(row[f"share_{lab}"] for lab in tl.labels) == pytest.approx(1.0, abs=1e-3)
        assert row["n_persons"] == len(tl.persons)
        assert row["duration_s"] == pytest.approx(tl.video.duration_s)
        assert len(idx.windows(str(name))) == sum(1 for x in tl.windows if x.fused)
    persons = idx.persons()
    assert set(persons["video"]) == set(videos.index)
    ranked = idx.rank("anger")
    assert list(ranked["share_angry"]) == sorted(videos["share_angry"], reverse=True)
    assert list(idx.rank("Angry", per="person")["share_angry"]) == sorted(persons["share_angry"], reverse=True)


def test_rerun_skips_done_and_retries_failed(local_corpus, clips_dir, cheap_config) -> None:
    out, _ = local_corpus
    before = {p.name: (p / MARKER).stat().st_mtime_ns for p in out.iterdir() if p.is_dir()}
    s = run_batch(collect_inputs([str(clips_dir)]), out, config=cheap_config, engine=LocalEngine(1))
    assert (s.done, s.skipped, s.failed) == (0, 3, 1)
    assert {p.name: (p / MARKER).stat().st_mtime_ns for p in out.iterdir() if p.is_dir()} == before


def test_query_cli(local_corpus, tmp_path: Path, emotrace_cli: list[str]) -> None:
    out, _ = local_corpus

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*emotrace_cli, "query", str(out), *args], check=False, capture_output=True, text=True
        )

    r = run("--rank", "anger", "--csv")
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(io.StringIO(r.stdout))
    assert list(df["share_angry"]) == sorted(df["share_angry"], reverse=True) and len(df) == 3
    r = run("--per-speaker", "--csv")
    assert r.returncode == 0 and len(pd.read_csv(io.StringIO(r.stdout))) == 3
    r = run("SELECT video, n_windows FROM videos ORDER BY video", "--csv")
    assert r.returncode == 0 and r.stdout.startswith("video,n_windows")
    r = run("SELECT * FROM nope")
    assert r.returncode == 2 and "no such table" in r.stderr and "Traceback" not in r.stderr
    r = run("DELETE FROM videos")  # queries are read-only
    assert r.returncode == 2 and len(CorpusIndex(out).videos()) == 3
    r = run("--rank", "boredom")
    assert r.returncode == 2 and "unknown emotion" in r.stderr
    r = run("--export", str(tmp_path / "pq"))
    assert r.returncode == 0, r.stderr
    assert len(pd.read_parquet(tmp_path / "pq" / "videos.parquet")) == 3
    assert len(pd.read_parquet(tmp_path / "pq" / "windows.parquet")) == len(CorpusIndex(out).windows())


def _children(pid: int) -> list[int]:
    """All descendants of ``pid`` (Linux /proc)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            out += [k, *_children(k)]
    return out


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_cli_resume_after_kill(clips_dir: Path, tmp_path: Path, emotrace_cli: list[str], cheap: list[str]) -> None:
    """Kill the batch mid-way; the rerun runs only what had not finished."""
    out = tmp_path / "out"
    good = [str(p) for p in sorted(clips_dir.rglob("*.flv"))]
    cmd = [*emotrace_cli, "batch", *good, "-o", str(out), "--workers", "1", "-q"]
    for s in cheap:
        cmd += ["--set", s]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob(f"*/{MARKER}")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    children = _children(proc.pid)
    assert children
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    deadline = time.monotonic() + 15
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(c) for c in children)  # the pool's workers do not outlive their batch
    finished = {p.parent.name for p in out.glob(f"*/{MARKER}")}
    assert 1 <= len(finished) < len(good)

    r = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{len(good) - len(finished)} done, {len(finished)} skipped, 0 failed" in r.stdout
    assert len(list(out.glob(f"*/{MARKER}"))) == len(good)
    assert not list(out.glob(".*tmp-*"))
    assert len(CorpusIndex(out).videos()) == len(good)


def test_lost_index_is_rebuilt_from_results(local_corpus, clips_dir, cheap_config, tmp_path: Path) -> None:
    out, _ = local_corpus
    copy = tmp_path / "copy"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("index.sqlite"))
    good = [str(p) for p in sorted(clips_dir.rglob("*.flv"))]
    s = run_batch(collect_inputs(good), copy, config=cheap_config, engine=LocalEngine(1))
    assert (s.done, s.skipped, s.failed) == (0, 3, 0)
    rebuilt = CorpusIndex(copy).videos().set_index("video").sort_index()
    ref = CorpusIndex(out).videos().set_index("video").sort_index()
    cols = [c for c in ref.columns if c.startswith(("share_", "mean_", "n_"))] + ["dominant_emotion", "worker"]
    pd.testing.assert_frame_equal(rebuilt[cols], ref[cols])


def test_pool_worker_killed_is_retried(clips_dir, cheap_config, tmp_path: Path) -> None:
    """SIGKILL the local pool's worker while it holds a video: the pool is rebuilt, the video retried."""
    out = tmp_path / "out"
    items = collect_inputs([str(p) for p in sorted(clips_dir.rglob("*.flv"))[:2]])
    killed: list[str] = []

    def kill_worker_on_second_video(event: str, name: str, completed: int, total: int) -> None:
        if event == "submit" and completed == 1 and not killed:
            workers = [p for p in _children(os.getpid()) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
            assert len(workers) == 1
            os.kill(workers[0], signal.SIGKILL)
            killed.append(name)

    s = run_batch(items, out, config=cheap_config, engine=LocalEngine(1), retries=1, hook=kill_worker_on_second_video)
    assert killed and (s.done, s.failed) == (2, 0), s.failures
    status = CorpusIndex(out).status().set_index("video")
    assert status.loc[killed[0], "attempts"] == 2 and status.loc[killed[0], "status"] == "done"
    assert len(list(out.glob(f"*/{MARKER}"))) == 2


def test_changed_input_that_fails_drops_its_old_result(crema_d: Path, cheap_config, tmp_path: Path) -> None:
    """A video re-analysed because its file changed, and failing now, keeps no stale result or index row."""
    src = tmp_path / "in" / "clip.flv"
    src.parent.mkdir()
    shutil.copy(crema_d / "1001_DFA_HAP_XX.flv", src)
    out = tmp_path / "out"
    items = collect_inputs([str(src.parent)])
    s = run_batch(items, out, config=cheap_config, engine=LocalEngine(1))
    assert s.done == 1
    folder = out / items[0].name
    assert (folder / "timeline.json").is_file()
    assert items[0].name in set(CorpusIndex(out).videos()["video"])
    src.write_bytes(src.read_bytes()[:2000])  # the file changes into one that cannot be analysed
    s = run_batch(collect_inputs([str(src.parent)]), out, config=cheap_config, engine=LocalEngine(1))
    assert s.failed == 1
    assert not folder.exists()
    idx = CorpusIndex(out)
    assert items[0].name not in set(idx.videos()["video"])
    assert idx.status_of(items[0].name) == "failed"

"""FER+ as distributed (PNGs + label.csv of 10 votes): targets, training, packing, resume, eval."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emotrace.faces.data import FERPLUS_COLUMNS, ferplus_targets, scan_fer2013_labels, scan_folder
from emotrace.labels import CANONICAL

FERPLUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ferplus"
TINY = ["--batch-size", "16", "--image-size", "32", "--min-size", "32", "--threads", "2"]


def _votes(**kw: int) -> list[int]:
    return [kw.get(c, 0) for c in FERPLUS_COLUMNS]


def test_vote_rule() -> None:
    votes = np.array([
        _votes(happiness=8, surprise=1, neutral=1),       # clear happy; single votes are outliers
        _votes(unknown=6, sadness=4),                      # majority unknown: dropped
        _votes(NF=10),                                     # not a face: dropped
        _votes(contempt=5, disgust=2, neutral=3),          # contempt counts as disgust
        _votes(anger=4, sadness=4, neutral=2),             # tie: first FER+ column of the two wins
        _votes(fear=1, surprise=1, neutral=1, sadness=1),  # only single votes: kept as they are
    ], dtype=float)  # fmt: skip
    keep, majority, dist = ferplus_targets(votes)
    assert keep.tolist() == [True, False, False, True, True, True]
    c = CANONICAL.index
    assert majority[[0, 3, 4]].tolist() == [c("happy"), c("disgust"), c("sad")]
    np.testing.assert_allclose(dist[keep].sum(1), 1.0, atol=1e-6)
    assert dist[0, c("happy")] == pytest.approx(1.0)  # the two single votes removed
    assert dist[3, c("disgust")] == pytest.approx(7 / 10) and dist[3, c("neutral")] == pytest.approx(3 / 10)
    assert dist[5].max() == pytest.approx(0.25)


@pytest.fixture(scope="module")
def tiny_ferplus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOT/FER2013Train and ROOT/FER2013Valid with the first rows of the real FER+ files."""
    if not FERPLUS.is_dir():
        pytest.skip(f"FER+ not present at {FERPLUS}")
    root = tmp_path_factory.mktemp("ferplus")
    for split, n in (("FER2013Train", 160), ("FER2013Valid", 60)):
        (root / split).mkdir()
        with open(FERPLUS / split / "label.csv", newline="") as f:
            rows = [r for _, r in zip(range(n), csv.reader(f))]
        with open(root / split / "label.csv", "w", newline="") as f:
            csv.writer(f).writerows(rows)
        names = {r[0] for r in rows}
        for r in rows:
            shutil.copy(FERPLUS / split / r[0], root / split / r[0])
        with open(FERPLUS / split / "fer2013_labels.csv", newline="") as f:
            orig = [r for r in csv.DictReader(f) if r["image"] in names]
        with open(root / split / "fer2013_labels.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(orig[0]))
            w.writeheader()
            w.writerows(orig)
    return root


def test_scan_ferplus_matches_the_votes(tiny_ferplus: Path) -> None:
    data = scan_folder(tiny_ferplus / "FER2013Valid")
    with open(tiny_ferplus / "FER2013Valid" / "label.csv", newline="") as f:
        rows = list(csv.reader(f))
    votes = np.array([[int(v) for v in r[2:]] for r in rows])
    kept = votes.argmax(1) < 8
    assert len(data.files) == kept.sum() and data.targets is not None
    assert data.targets.shape == (kept.sum(), 7)
    np.testing.assert_allclose(data.targets.sum(1), 1.0, atol=1e-6)
    # the majority label is the canonical name of the most-voted FER+ emotion
    for path, label, v in zip(data.files, data.labels, votes[kept], strict=True):
        name = FERPLUS_COLUMNS[int(np.argmax(v[:8]))]
        assert CANONICAL[label] == {"happiness": "happy", "sadness": "sad", "anger": "angry",
                                    "contempt": "disgust"}.get(name, name), path.name  # fmt: skip
    assert "contempt->disgust" in data.describe()
    one_hot = scan_folder(tiny_ferplus / "FER2013Valid", ferplus_mode="majority")
    assert set(np.unique(one_hot.targets)) <= {0.0, 1.0}
    orig = scan_fer2013_labels(tiny_ferplus / "FER2013Valid")
    assert 0 < len(orig.files) <= len(rows)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "emotrace"
    return subprocess.run([str(exe), *args], check=False, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})  # fmt: skip


@pytest.mark.slow
def test_train_on_votes_pack_and_compact_resume(tiny_ferplus: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from emotrace.faces.train import COMPACT_FILE, compact_checkpoint

    run = tmp_path / "run"
    p = _cli("train", "face", str(tiny_ferplus), "-o", str(run), "--epochs", "1", "--holdout", "--mix", "0.5",
             "--select", "accuracy", *TINY)  # fmt: skip
    assert p.returncode == 0, p.stderr
    data = json.loads((run / "data.json").read_text())
    assert "hold-out" in data["val_source"]  # FER2013Valid stays unseen
    # a packed array file gives the same training pixels and targets
    pack = tmp_path / "ferplus.npz"
    p = _cli("train", "face-pack", str(tiny_ferplus), "-o", str(pack), "--holdout", "--image-size", "32")
    assert p.returncode == 0, p.stderr
    with np.load(pack) as z, np.load(run / "data-cache.npz") as c:
        assert z["train_x"].shape[1:] == (48, 48)  # stored at the native size
        from emotrace.faces.train import _resize_all

        np.testing.assert_array_equal(_resize_all(z["train_x"], 32), c["train_x"])
        np.testing.assert_array_equal(z["train_t"], c["train_t"])
    run2 = tmp_path / "from_pack"
    p = _cli("train", "face", str(pack), "-o", str(run2), "--epochs", "1", *TINY)
    assert p.returncode == 0, p.stderr
    # resume from the small repository checkpoint alone
    small = compact_checkpoint(run / "last.pt", run / COMPACT_FILE)
    assert small.stat().st_size < 0.6 * (run / "last.pt").stat().st_size
    (run / "last.pt").unlink()
    p = _cli("train", "face", "unused", "-o", str(run), "--resume", "--epochs", "2")
    assert p.returncode == 0, p.stderr
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2] and history[1]["steps"] == 2 * history[0]["steps"]


def test_eval_ferplus_reports_vote_cross_entropy(tiny_ferplus: Path, tmp_path: Path) -> None:
    p = _cli("eval", "face", str(tiny_ferplus), "-m", "fer-mini-xception", "--json", "--plot-dir", str(tmp_path))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["n"] == len(scan_folder(tiny_ferplus / "FER2013Valid").files)
    assert 0 < out["vote_ce"] < 10 and 0 <= out["accuracy"] <= 1
    p = _cli("eval", "face", str(tiny_ferplus), "-m", "fer-mini-xception", "--labels", "fer2013", "--json",
             "--plot-dir", str(tmp_path))  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "vote_ce" not in json.loads(p.stdout)
    p = _cli("eval", "face", str(tiny_ferplus), "--labels", "nope")
    assert p.returncode == 2 and "unknown --labels" in p.stderr

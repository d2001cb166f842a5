"""The one run-folder layout (emotrace.train.run): start/resume rules, atomic files, metrics, card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emotrace.errors import InputError
from emotrace.train.metrics import report
from emotrace.train.run import CONFUSION, METRICS, RunFolder, atomic_text, metrics_table, model_card

LABELS = ["angry", "happy", "sad"]


def test_start_refuses_to_overwrite_and_to_resume_nothing(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path / "run", echo=None)
    with pytest.raises(InputError, match="nothing to resume"):
        rf.start(True)
    rf.start(False)
    torch = pytest.importorskip("torch")
    rf.save_checkpoint({"epoch": 3, "w": torch.ones(2)})
    with pytest.raises(InputError, match="--resume"):
        rf.start(False)
    rf.start(True)
    state = rf.load_checkpoint()
    assert state["epoch"] == 3 and state["w"].tolist() == [1.0, 1.0]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    atomic_text(target, "old")

    class Boom:
        def tolist(self) -> object:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        RunFolder(tmp_path, echo=None).write_json("metrics.json", {"x": Boom()})
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_metrics_confusion_png_and_card(tmp_path: Path) -> None:
    rf = RunFolder(tmp_path, echo=None)
    rep = report(["angry", "happy", "sad", "sad"], ["angry", "sad", "sad", "happy"], LABELS)
    rf.write_metrics({"cv": {"pooled": rep}, "seed": 1}, "cv.pooled", "pooled")
    assert json.loads((tmp_path / METRICS).read_text())["cv"]["pooled"]["accuracy"] == 0.5
    assert (tmp_path / CONFUSION).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []
    table = metrics_table([("held out", rep)])
    assert "| held out | 4 | 0.500 | 0.500 |" in table and "| 1.00 | 0.00 | 0.50 |" in table
    card = model_card(
        "m", what="w", data="d", split="s", results=[("held out", rep)], command="emotrace train x", config={"seed": 1}
    )
    assert "emotrace train x" in card and "seed=1" in card and table in card


def test_no_confusion_png_without_a_report(tmp_path: Path) -> None:
    RunFolder(tmp_path, echo=None).write_metrics({"heldout": None}, "heldout")
    assert not (tmp_path / CONFUSION).exists() and (tmp_path / METRICS).is_file()

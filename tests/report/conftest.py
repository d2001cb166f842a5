"""A real analysed result (CREMA-D clip) shared by the report tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emotrace.config import load_config
from emotrace.model import Timeline
from emotrace.pipeline import analyze

CHEAP = ["stages.words.enabled=false"]
FORMATS = ["json", "events", "csv", "parquet", "html", "srt", "vtt", "eaf"]


@pytest.fixture(scope="session")
def happy_result(crema_d: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Timeline, Path]:
    """(result folder, timeline, source video) for CREMA-D 1001_DFA_HAP_XX, analysed once."""
    src = crema_d / "1001_DFA_HAP_XX.flv"
    out = tmp_path_factory.mktemp("report") / "hap"
    tl = analyze(src, out, config=load_config(None, CHEAP), formats=FORMATS)
    return out, tl, src


@pytest.fixture()
def result_copy(happy_result: tuple[Path, Timeline, Path], tmp_path: Path) -> Path:
    """A private copy of the result folder (for tests that rewrite it)."""
    dest = tmp_path / "result"
    shutil.copytree(happy_result[0], dest)
    return dest

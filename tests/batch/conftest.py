"""Batch fixtures: real CREMA-D clips, a cheap config, and one local-pool corpus shared by the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emotrace.batch import LocalEngine, collect_inputs, run_batch
from emotrace.batch.runner import BatchSummary
from emotrace.config import Config, load_config

# cheap: faces at 2 fps; no ASR, no voice model (the batch machinery is what is under test)
CHEAP = ["stages.words.enabled=false", "stages.voice.enabled=false", "fps=2"]
CLIPS = ("1001_DFA_ANG_XX", "1001_DFA_HAP_XX", "1001_DFA_SAD_XX")


@pytest.fixture(scope="session")
def cheap() -> list[str]:
    """``--set`` overrides of the cheap config."""
    return list(CHEAP)


@pytest.fixture(scope="session")
def clip_stems() -> tuple[str, ...]:
    return CLIPS


@pytest.fixture(scope="session")
def cheap_config() -> Config:
    return load_config(None, CHEAP)


@pytest.fixture(scope="session")
def clips_dir(tmp_path_factory: pytest.TempPathFactory, crema_d: Path) -> Path:
    """Three real clips in a nested folder, plus a file that only pretends to be a video."""
    d = tmp_path_factory.mktemp("clips")
    (d / "sub").mkdir()
    for i, stem in enumerate(CLIPS):
        dest = d / ("sub" if i == 2 else ".") / f"{stem}.flv"
        shutil.copy(crema_d / f"{stem}.flv", dest)
    (d / "broken.mp4").write_text("this is not a video\n" * 20)
    (d / "notes.txt").write_text("ignored: not media\n")
    return d


@pytest.fixture(scope="session")
def local_corpus(
    tmp_path_factory: pytest.TempPathFactory, clips_dir: Path, cheap_config: Config
) -> tuple[Path, BatchSummary]:
    """The clips analysed by a 2-process local pool (one input fails on purpose)."""
    out = tmp_path_factory.mktemp("corpus") / "out"
    items = collect_inputs([str(clips_dir)])
    summary = run_batch(items, out, config=cheap_config, engine=LocalEngine(2), retries=1)
    return out, summary

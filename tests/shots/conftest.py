"""Fixtures for the shots tests: generated videos with known boundaries, a pipeline runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emotrace.config import load_config
from emotrace.io.media import probe
from emotrace.model import Timeline
from emotrace.pipeline import Context, new_timeline, null_hook, plan_stages, run_pipeline
from emotrace.shots.evaluate import Segment, make_cut_video

CREMA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "crema_d"
OTHER_SLOTS = ("faces", "voice", "words", "link", "fusion", "analysis", "highlights", "describe")
SIZE = (480, 270)

# hard cuts between synthetic patterns and real CREMA-D footage, and two cross-fades
SEGMENTS = [
    Segment("testsrc", 2.0),
    Segment("color=c=0x3366cc", 1.5),
    Segment(str(CREMA / "1001_DFA_HAP_XX.flv"), 2.0),
    Segment("smptebars", 2.0),
    Segment("mandelbrot", 2.5, "fade"),
    Segment(str(CREMA / "1001_DFA_ANG_XX.flv"), 2.0),
    Segment("testsrc2", 2.0, "fade"),
    Segment("color=c=0xcc8800", 1.5),
    Segment("rgbtestsrc", 2.0),
]


@pytest.fixture(scope="session")
def cut_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float], list[str]]:
    """(video, true boundary times, transition kind of each boundary)."""
    if not CREMA.exists():
        pytest.skip("shared CREMA-D data not found")
    out = tmp_path_factory.mktemp("shots") / "cuts.mp4"
    bounds = make_cut_video(out, SEGMENTS, size=SIZE)
    return out, bounds, [s.transition for s in SEGMENTS[1:]]


RunStages = Callable[..., Timeline]


def run_stages_impl(video: Path, workdir: Path | None, stages: dict[str, dict[str, Any]]) -> Timeline:
    """Run the real pipeline with only ``stages`` enabled (workdir: result folder or None)."""
    cfg = load_config(overrides={
        "require": "video",
        "stages": {k: {"enabled": False} for k in OTHER_SLOTS if k not in stages} | stages,
    })
    info = probe(video)
    tl = new_timeline(info, cfg)
    ctx = Context(video, info, cfg, tl, workdir, null_hook)
    run_pipeline(ctx, plan_stages(cfg, info, tl))
    return tl


@pytest.fixture()
def run_stages() -> RunStages:
    return run_stages_impl


@pytest.fixture(scope="session")
def result_dir(tmp_path_factory: pytest.TempPathFactory, cut_video: tuple[Path, list[float], list[str]]) -> Path:
    """A result folder (timeline.json + keyframes/) from shots + keyframes on the cut video."""
    from emotrace.report.writers import write_json

    out = tmp_path_factory.mktemp("result")
    tl = run_stages_impl(cut_video[0], out, {"shots": {}, "keyframes": {}})
    write_json(tl, out)
    return out

"""Media of the analysis tests: CREMA-D clips and videos cut together from them with ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CREMA = DATA / "crema_d"


def _crema(code: str) -> Path:
    """Path of the CREMA-D clip with emotion code ``code`` (ANG, DIS, FEA, HAP, NEU, SAD)."""
    return CREMA / f"1001_DFA_{code}_XX.flv"


def _need_ffmpeg() -> None:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is required (apt-get install ffmpeg)")


def _video_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(path)], capture_output=True, text=True, check=True,
    ).stdout
    return float(out.strip())


def _concat(codes: list[str], out: Path) -> list[float]:
    """Concatenate CREMA-D clips into one H.264/AAC mp4; returns the cut times (s)."""
    _need_ffmpeg()
    inputs: list[str] = []
    chains, pads = [], []
    for i, code in enumerate(codes):
        inputs += ["-i", str(_crema(code))]
        chains.append(f"[{i}:v]fps=25,setsar=1[v{i}];[{i}:a]aresample=16000[a{i}]")
        pads.append(f"[v{i}][a{i}]")
    graph = ";".join(chains) + ";" + "".join(pads) + f"concat=n={len(codes)}:v=1:a=1[v][a]"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", *inputs, "-filter_complex", graph, "-map", "[v]", "-map", "[a]",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-g", "25", "-c:a", "aac", str(out)],
        check=True,
    )
    cuts, t = [], 0.0
    for code in codes[:-1]:
        t += _video_duration(_crema(code))
        cuts.append(t)
    return cuts


@pytest.fixture(scope="session")
def crema_clip() -> Callable[[str], Path]:
    """``crema_clip("HAP")``: path of the CREMA-D clip with that emotion code."""
    if not CREMA.is_dir():
        pytest.skip(f"needs the real data in ../shared/data (crema_d missing: {CREMA})")
    return _crema


@pytest.fixture(scope="session")
def concat_clips(crema_clip: Callable[[str], Path]) -> Callable[[list[str], Path], list[float]]:
    """``concat_clips(["SAD", "HAP"], out)``: an H.264/AAC mp4 of the clips; returns the cut times."""
    _need_ffmpeg()
    return _concat


@pytest.fixture(scope="session")
def ffmpeg_ok() -> None:
    _need_ffmpeg()

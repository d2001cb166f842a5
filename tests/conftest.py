"""Shared fixtures: the real data folder and media generated with ffmpeg / espeak-ng.

Tests that need ``../shared/data`` skip with one reason line (``NO_DATA``) when it is absent, so a
fresh clone runs what it can. ``EMOTRACE_REQUIRE_DATA=1`` (set by ``.ci/run``; CI always has the
data) turns every such skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
NO_DATA = "needs the real data in ../shared/data"


def data_path(*parts: str) -> Path:
    """``../shared/data/<parts>``, or a skip (``NO_DATA``) when it is not there."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{NO_DATA} ({'/'.join(parts)} missing)")
    return p


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and os.environ.get("EMOTRACE_REQUIRE_DATA") and isinstance(rep.longrepr, tuple):
        reason = str(rep.longrepr[2])
        if NO_DATA in reason or "shared/data" in reason or "shared CREMA-D" in reason:
            rep.outcome = "failed"
            rep.longrepr = f"EMOTRACE_REQUIRE_DATA is set but the test skipped: {reason}"


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def ffmpeg(*args: str) -> None:
    run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args])


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{NO_DATA} ({SHARED_DATA} is not present)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def crema_d(shared_data: Path) -> Path:
    return shared_data / "crema_d"


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 4 s of English speech from espeak-ng."""
    d = tmp_path_factory.mktemp("speech")
    wav = d / "speech.wav"
    run(["espeak-ng", "-s", "150", "-w", str(wav), "Hello there. I am very happy today. What a wonderful surprise."])
    return wav


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory, speech_wav: Path) -> dict[str, Path]:
    """Generated media for I/O and bad-input tests."""
    d = tmp_path_factory.mktemp("media")
    m: dict[str, Path] = {}
    m["av"] = d / "av.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-i", str(speech_wav), "-t", "4",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        "-movflags", "+faststart", str(m["av"]),
    )
    m["noaudio"] = d / "noaudio.mp4"
    ffmpeg("-i", str(m["av"]), "-an", "-c", "copy", str(m["noaudio"]))
    m["audioonly"] = d / "audioonly.m4a"
    ffmpeg("-i", str(m["av"]), "-vn", "-c", "copy", str(m["audioonly"]))
    m["empty"] = d / "empty.mp4"
    m["empty"].write_bytes(b"")
    m["text"] = d / "notes.mp4"
    m["text"].write_text("this is not a video\n" * 20)
    # truncated: a faststart mp4 cut in half (index intact, media data missing)
    long = d / "long.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=16000",
        "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-movflags", "+faststart", str(long),
    )
    data = long.read_bytes()
    m["truncated"] = d / "truncated.mp4"
    m["truncated"].write_bytes(data[: len(data) // 2])
    # corrupt frames: an MPEG-TS whose middle packets carry garbage
    ts = d / "clean.ts"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=16000",
        "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(ts),
    )
    raw = bytearray(ts.read_bytes())
    n = len(raw)
    for k in range(40):
        i = int(n * 0.4) + k * 1000
        for j in range(i + 4, i + 150):
            raw[j] = (j * 7919 + k * 104729) % 256
    m["corrupt"] = d / "corrupt.ts"
    m["corrupt"].write_bytes(bytes(raw))
    # a phone-style rotated video: 320x180 stored, rotate tag 90 (shown 180x320)
    flat = d / "flat.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=black:s=320x180:d=1,drawbox=x=0:y=0:w=60:h=40:color=red:t=fill",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(flat),
    )
    m["rotated"] = d / "rotated.mp4"
    ffmpeg("-i", str(flat), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(m["rotated"]))
    # variable frame rate: 2 s at 25 fps, then 3 s at 5 fps
    m["vfr"] = d / "vfr.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=5",
        "-vf", "select='lt(t\\,2)+not(mod(n\\,5))'", "-fps_mode", "vfr",
        "-c:v", "libx264", "-preset", "ultrafast", str(m["vfr"]),
    )
    return m


@pytest.fixture()
def emotrace_cli() -> list[str]:
    exe = shutil.which("emotrace", path=str(REPO / ".venv" / "bin")) or shutil.which("emotrace")
    assert exe, "emotrace console script not installed"
    return [exe]

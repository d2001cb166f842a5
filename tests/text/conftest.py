"""Fixtures of the words tests: espeak-ng speech, the shared MELD data."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MELD = REPO / ".." / "shared" / "data" / "meld"


def _speak(text: str, voice: str, pitch: int, out: Path) -> Path:
    raw = out.with_suffix(".raw.wav")
    cmd = ["espeak-ng", "-v", voice, "-p", str(pitch), "-w", str(raw), text]
    subprocess.run(cmd, check=True, capture_output=True)
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(raw), "-ar", "16000", "-ac", "1", str(out)],
        check=True,
    )
    raw.unlink()
    return out


@pytest.fixture(scope="session")
def speak(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``speak(text, voice, pitch)`` -> a 16 kHz mono WAV made with espeak-ng."""
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("espeak-ng and ffmpeg are needed (apt-get install espeak-ng ffmpeg)")
    folder = tmp_path_factory.mktemp("speech")
    counter = iter(range(1_000_000))

    def make(text: str, voice: str = "en", pitch: int = 50) -> Path:
        return _speak(text, voice, pitch, folder / f"s{next(counter)}.wav")

    return make


@pytest.fixture(scope="session")
def meld() -> Path:
    if not (MELD / "dev_sent_emo.csv").is_file():
        pytest.skip(f"MELD data not found at {MELD}")
    return MELD

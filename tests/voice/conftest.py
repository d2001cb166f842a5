"""Fixtures of the voice tests: generated bad-input audio and a voice-only config."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from emotrace.config import Config, StageConfig


def sh(*cmd: str) -> None:
    subprocess.run(list(cmd), check=True, capture_output=True)


def make_voice_config(**voice: object) -> Config:
    """A config that runs only the voice stage on audio-only input."""
    cfg = Config(require="audio")
    for slot, sc in cfg.stages.items():
        sc.enabled = slot == "voice"
    cfg.stages["voice"] = StageConfig(backend="default", **voice)
    return cfg


@pytest.fixture(scope="session")
def voice_config() -> Callable[..., Config]:
    return make_voice_config


@pytest.fixture(scope="session")
def ravdess(shared_data: Path) -> Path:
    return shared_data / "ravdess_speech"


@pytest.fixture(scope="session")
def bad_audio(tmp_path_factory: pytest.TempPathFactory, speech_wav: Path) -> dict[str, Path]:
    """Silence, music only, clipped speech, 8 kHz telephone speech and 5.1 audio."""
    d = tmp_path_factory.mktemp("bad_audio")
    m = {k: d / f"{k}.wav" for k in ("silence", "music", "clipped", "telephone", "surround")}
    sh("sox", "-n", "-r", "16000", "-c", "1", str(m["silence"]), "trim", "0", "8")
    # a few bars of chords: sine/saw tones with a tremolo
    sh(
        "sox",
        "-n",
        "-r",
        "44100",
        "-c",
        "2",
        str(m["music"]),
        "synth",
        "8",
        "pluck",
        "C3",
        "pluck",
        "E3",
        "sine",
        "G4",
        "tremolo",
        "4",
        "40",
        "fade",
        "0.1",
        "8",
        "0.5",
    )
    sh("sox", str(speech_wav), "-r", "16000", str(m["clipped"]), "gain", "30")
    sh("sox", str(speech_wav), "-r", "8000", "-e", "u-law", str(m["telephone"]), "sinc", "300-3400")
    sh("sox", "-M", *[str(speech_wav)] * 6, "-r", "48000", str(m["surround"]))
    return m

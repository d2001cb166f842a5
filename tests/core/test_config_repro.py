"""A result folder's config.toml is the fully resolved configuration and reproduces the run."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _timeline(folder: Path) -> dict:
    tl = json.loads((folder / "timeline.json").read_text())
    prov = tl.pop("provenance")
    return {"timeline": tl, "config": prov["config"], "stages": [s["name"] for s in prov["stages"]]}


def test_config_toml_reproduces_the_run(emotrace_cli: list[str], crema_d: Path, tmp_path: Path) -> None:
    clip = crema_d / "1001_DFA_ANG_XX.flv"
    first, again = tmp_path / "first", tmp_path / "again"
    sets = [
        "fps=4",
        "stages.faces.smoothing_tau_s=0.5",
        "stages.words.enabled=false",
        'outputs.formats=["json"]',
    ]
    cmd = [*emotrace_cli, "analyze", str(clip), "-o", str(first)]
    for s in sets:
        cmd += ["--set", s]
    subprocess.run(cmd, check=True, capture_output=True)
    cfg = tomllib.loads((first / "config.toml").read_text())
    # defaults the user never set are spelled out, the options they set are kept
    assert cfg["fps"] == 4 and cfg["stages"]["faces"]["smoothing_tau_s"] == 0.5
    assert "det_threshold" in cfg["stages"]["faces"] and "vad_threshold" in cfg["stages"]["voice"]
    assert cfg["stages"]["words"]["enabled"] is False and "translate" in cfg["stages"]["words"]
    subprocess.run(
        [*emotrace_cli, "analyze", str(clip), "-o", str(again), "--config", str(first / "config.toml")],
        check=True,
        capture_output=True,
    )
    assert (again / "config.toml").read_text() == (first / "config.toml").read_text()
    assert _timeline(again) == _timeline(first)

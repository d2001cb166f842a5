"""Every bad input gives one line on stderr naming the file and the problem, exit code 2,
no traceback and no (partial) result folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def analyze(cli: list[str], video: Path | str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli, "analyze", str(video), "-o", str(out), *extra], check=False, capture_output=True, text=True, timeout=600
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], name: str, problem: str, out: Path) -> None:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("emotrace: error: ")
    assert name in lines[0] and problem in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert not [p for p in out.parent.glob(f".{out.name}.tmp-*")], "temporary result folder left behind"


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("missing", "file not found"),
        ("directory", "is a directory"),
        ("empty", "empty file"),
        ("text", "not a readable video or audio file"),
        ("truncated", "truncated"),
        ("corrupt", "corrupt video data"),
        ("noaudio", "no audio stream"),
        ("audioonly", "no video stream"),
    ],
)
def test_bad_input(emotrace_cli, media, tmp_path, case, problem):
    if case == "missing":
        video = tmp_path / "missing.mp4"
    elif case == "directory":
        video = tmp_path / "folder.mp4"
        video.mkdir()
    else:
        video = media[case]
    out = tmp_path / "result"
    strict = ["--require", "both"] if case in ("noaudio", "audioonly") else []  # the default analyses either
    proc = analyze(emotrace_cli, video, out, *strict)
    assert_one_line_error(proc, video.name, problem, out)


def test_unwritable_output(emotrace_cli, media, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = blocker / "result"
    proc = analyze(emotrace_cli, media["av"], out)
    assert_one_line_error(proc, "a_file", "cannot create output folder", out)
    out2 = Path("/proc/emotrace-test-result")
    proc = analyze(emotrace_cli, media["av"], out2)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "not writable" in proc.stderr and "Traceback" not in proc.stderr


def test_existing_output_refused_unless_overwrite(emotrace_cli, media, tmp_path):
    out = tmp_path / "result"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    proc = analyze(emotrace_cli, media["noaudio"], out, "--video-only", "-q")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "use --overwrite" in lines[0]
    assert (out / "keep.txt").exists()
    # --overwrite replaces only folders emotrace wrote: a user's folder stays as it is
    proc = analyze(emotrace_cli, media["noaudio"], out, "--video-only", "-q", "--overwrite")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "not an emotrace result folder" in lines[0]
    assert (out / "keep.txt").exists()
    res = tmp_path / "emotrace_result"
    assert analyze(emotrace_cli, media["noaudio"], res, "--video-only", "-q").returncode == 0
    (res / "keep.txt").write_text("added later")
    proc = analyze(emotrace_cli, media["noaudio"], res, "--video-only", "-q", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert (res / "timeline.json").exists() and not (res / "keep.txt").exists()


def test_tolerate_corrupt_analyses_what_is_there(emotrace_cli, media, tmp_path):
    out = tmp_path / "result"
    proc = analyze(emotrace_cli, media["corrupt"], out, "-q", "--tolerate-corrupt", "--set", "stages.words.enabled=false")
    assert proc.returncode == 0, proc.stderr
    assert (out / "timeline.json").exists()
    assert "damaged" in (out / "timeline.json").read_text()


def test_bad_config_override_is_one_line(emotrace_cli, media, tmp_path):
    out = tmp_path / "result"
    proc = analyze(emotrace_cli, media["av"], out, "--set", "fps=-3")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "fps" in proc.stderr and not out.exists()
    proc = analyze(emotrace_cli, media["av"], out, "--set", "stages.faces.backend=nonexistent")
    assert proc.returncode == 2 and "unknown backend" in proc.stderr and not out.exists()


def test_any_media_is_analysed_by_default(emotrace_cli, media, tmp_path):
    """An audio file gets the voice and words analysis, a video without sound the picture
    analysis; each says what it skipped and why (issue 21)."""
    import json

    out = tmp_path / "audio"
    proc = analyze(emotrace_cli, media["audioonly"], out, "-q")
    assert proc.returncode == 0, proc.stderr
    tl = json.loads((out / "timeline.json").read_text())
    assert tl["speech"] and tl["words"] and not tl["faces"]
    assert any("input has no video" in w for w in tl["provenance"]["warnings"])
    out = tmp_path / "picture"
    proc = analyze(emotrace_cli, media["noaudio"], out, "-q")
    assert proc.returncode == 0, proc.stderr
    tl = json.loads((out / "timeline.json").read_text())
    assert tl["shots"] and not tl["speech"]
    assert any("input has no audio" in w for w in tl["provenance"]["warnings"])


def test_missing_install_of_a_default_stage_is_exit_2(emotrace_cli, media, tmp_path):
    """A default stage the install cannot run is one line naming what to install, exit 2, no folder."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import importlib.util as u\n_real = u.find_spec\n"
        "u.find_spec = lambda name, *a, **k: None if name == 'ai_edge_litert' else _real(name, *a, **k)\n"
    )
    import os

    out = tmp_path / "result"
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([*emotrace_cli, "analyze", str(media["av"]), "-o", str(out)], capture_output=True,
                          text=True, timeout=600, env=env, check=False)  # fmt: skip
    assert_one_line_error(proc, "stage faces", "not installed: ai_edge_litert", out)
    assert "pip install" in proc.stderr and "stages.faces.enabled=false" in proc.stderr

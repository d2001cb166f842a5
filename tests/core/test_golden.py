"""Golden test for refactors: the same input gives the same timeline as when the golden file
was written (issue 23: behaviour unchanged by the stage-contract, faces-backend and API work).

Two inputs run through the whole default pipeline: a CREMA-D clip (face, speech, words, shots,
keyframes, fusion, highlights) and espeak-ng speech (audio only). The timeline, with the parts
that change from run to run removed (creation time, versions, timings, file paths), is
compared with ``tests/golden/<case>.json``: strings, counts and structure exactly, numbers
within a small tolerance (ONNX Runtime and CTranslate2 kernels differ slightly between CPUs).

A deliberate change of behaviour (a new model, a new field) rewrites the golden files:

    EMOTRACE_GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/core/test_golden.py

and the diff of ``tests/golden/`` shows what changed.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from emotrace.config import load_config
from emotrace.pipeline import analyze

pytestmark = pytest.mark.slow
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
TIME_TOL = 0.05  # seconds: word timestamps move by a frame between CPU kernels
TOL = 0.01  # probabilities, scores and other numbers
# where a model file was found depends on the installation (a source checkout finds it in the
# original package, a wheel install in emotrace-models-*): its sha256 is what identifies it
DROP = {"created", "versions", "seconds", "path", "source"}


def canonical(tl_json: dict[str, Any]) -> dict[str, Any]:
    """The timeline without what differs between two runs of the same code."""

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in DROP}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    out = strip(tl_json)
    out["video"].pop("path", None)
    return out


def diff(a: Any, b: Any, where: str = "") -> list[str]:
    """Differences between a golden value ``a`` and a new one ``b`` (empty when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only in golden" for k in a.keys() - b.keys()]
        out += [f"{where}.{k}: new" for k in b.keys() - a.keys()]
        for k in a.keys() & b.keys():
            out += diff(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items in golden, {len(b)} now"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in diff(x, y, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        key = where.rsplit(".", 1)[-1].split("[", 1)[0]
        timeish = key.endswith("_s") or key in ("time", "start", "end")
        tol = TIME_TOL if timeish else TOL
        return [] if math.isclose(a, b, abs_tol=tol) else [f"{where}: {a} in golden, {b} now"]
    return [] if a == b else [f"{where}: {a!r} in golden, {b!r} now"]


def check(case: str, video: Path, tmp_path: Path) -> None:
    cfg = load_config(overrides=["fps=5"])
    analyze(video, tmp_path / "out", config=cfg)
    got = canonical(json.loads((tmp_path / "out" / "timeline.json").read_text()))
    path = GOLDEN / f"{case}.json"
    if os.environ.get("EMOTRACE_GOLDEN_UPDATE") == "1":
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    want = json.loads(path.read_text(encoding="utf-8"))
    problems = diff(want, got)
    assert not problems, f"{len(problems)} differences from {path.name}:\n" + "\n".join(problems[:40])


def test_golden_video_with_face_and_speech(crema_d: Path, tmp_path: Path) -> None:
    check("crema-d-1001-hap", crema_d / "1001_DFA_HAP_XX.flv", tmp_path)


def test_golden_audio_only_speech(speech_wav: Path, tmp_path: Path) -> None:
    check("espeak-speech", speech_wav, tmp_path)


def test_diff_finds_changes() -> None:
    """The comparison itself: a changed label, a count or a moved number is found."""
    gold = {"faces": [{"emotion": {"label": "happy", "probs": {"happy": 0.8}}, "time_s": 1.0}]}
    assert diff(gold, json.loads(json.dumps(gold))) == []
    assert diff(gold, {"faces": []})
    assert diff(gold, {"faces": [{"emotion": {"label": "sad", "probs": {"happy": 0.8}}, "time_s": 1.0}]})
    assert diff(gold, {"faces": [{"emotion": {"label": "happy", "probs": {"happy": 0.7}}, "time_s": 1.0}]})
    assert diff(gold, {"faces": [{"emotion": {"label": "happy", "probs": {"happy": 0.8}}, "time_s": 1.2}]})
    assert diff(gold, {"faces": [{"emotion": {"label": "happy", "probs": {"happy": 0.805}}, "time_s": 1.02}]}) == []

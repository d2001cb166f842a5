"""``emotrace train voice`` and ``emotrace eval voice`` through the real CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emotrace.voice.classifier import VoiceEmotionModel

pytestmark = pytest.mark.slow

KEYS = {"n", "accuracy", "uar", "macro_f1", "weighted_f1", "per_class_recall", "confusion", "labels", "per_corpus"}


def _run(cli: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*cli, *args], capture_output=True, text=True, timeout=600, check=False)


def test_eval_json_on_crema_d(emotrace_cli: list[str], crema_d: Path) -> None:
    proc = _run(emotrace_cli, "eval", "voice", str(crema_d), "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)  # exactly one JSON object on stdout
    assert set(res) == KEYS
    assert res["n"] == 6
    assert res["labels"] == ["angry", "disgust", "fear", "happy", "sad", "neutral"]
    conf = np.array(res["confusion"])
    assert conf.shape == (6, 6) and conf.sum() == 6
    assert res["accuracy"] == pytest.approx(np.trace(conf) / 6)
    assert "surprise" in proc.stderr  # model classes the dataset lacks are reported


def test_train_then_eval_manifest(emotrace_cli: list[str], ravdess: Path, tmp_path: Path) -> None:
    rows = ["path,label,speaker"]
    codes = {"01": "neutral", "03": "happy", "04": "sad", "05": "angry"}
    for actor in ("01", "02", "03"):
        for f in sorted((ravdess / f"Actor_{actor}").glob("*.flac")):
            code = f.name.split("-")[2]
            if code in codes and f.name.split("-")[4] == "01":
                rows.append(f"{f},{codes[code]},{actor}")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    run = tmp_path / "run"
    proc = _run(
        emotrace_cli,
        "train",
        "voice",
        str(tmp_path / "m.csv"),
        "-o",
        str(run),
        "--folds",
        "3",
        "--head",
        "logreg",
        "--augment",
        "0",
        "--cache",
        str(tmp_path / "cache"),
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["labels"] == ["angry", "happy", "sad", "neutral"]
    cv = metrics["speaker_cv"]
    assert cv["corpus"] == "m" and len(cv["per_speaker_norm"]["folds"]) == 3
    assert cv["per_speaker_norm"]["accuracy"] > 0.4  # chance is 0.25 (0.125 for neutral-heavy)
    assert "loco" not in metrics  # one corpus: no leave-one-corpus-out
    # the run-folder layout of emotrace.train.run
    assert json.loads((run / "config.json").read_text())["seed"] == 0
    assert metrics["command"].startswith("emotrace train voice")
    assert (run / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (run / "MODEL_CARD.md").read_text()
    assert "3-fold speaker CV in m" in card and f"{cv['per_speaker_norm']['accuracy']:.3f}" in card
    assert (run / "train.log").is_file()
    model = VoiceEmotionModel.load(run / "voice-emotion.npz")
    assert model.labels == metrics["labels"] and model.spk.coef.shape == (4, 1040)
    proc = _run(
        emotrace_cli,
        "eval",
        "voice",
        str(tmp_path / "m.csv"),
        "--json",
        "--model",
        str(run / "voice-emotion.npz"),
        "--cache",
        str(tmp_path / "cache"),
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert set(res) == KEYS and res["n"] == len(rows) - 1
    assert res["accuracy"] > 0.8  # its own training data
    assert set(res["per_corpus"]) == {"m"} and res["per_corpus"]["m"]["n"] == res["n"]


def test_bad_input_is_one_line(emotrace_cli: list[str], tmp_path: Path) -> None:
    proc = _run(emotrace_cli, "eval", "voice", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "not found" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = _run(emotrace_cli, "train", "voice", str(tmp_path / "empty"), "-o", str(tmp_path / "run"))
    assert proc.returncode == 2 and "no labelled audio" in proc.stderr


def test_eval_emodb_layout_drops_boredom(emotrace_cli: list[str], ravdess: Path, tmp_path: Path) -> None:
    """EmoDB names (speaker 03, emotion letter W/T/N/L) on real RAVDESS speech: boredom has no
    canonical label, so it is dropped and reported; a predicted calm counts as neutral."""
    clips = {c: min((ravdess / "Actor_03").glob(f"03-01-{c}-*.flac")) for c in ("05", "04", "02", "01")}
    for letter, code in (("W", "05"), ("T", "04"), ("N", "02"), ("L", "01")):
        (tmp_path / f"03a01{letter}a.wav").write_bytes(clips[code].read_bytes())
    proc = _run(emotrace_cli, "eval", "voice", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["n"] == 3 and res["labels"] == ["angry", "sad", "neutral"]
    assert "boredom" in proc.stderr

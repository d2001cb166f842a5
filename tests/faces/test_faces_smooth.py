"""Temporal smoothing: flicker goes away, sustained changes stay, low quality counts less."""

from __future__ import annotations

import numpy as np
import pytest

from emotrace.faces.smooth import smooth


def _sequence() -> tuple[np.ndarray, np.ndarray]:
    """10 s at 5 fps: happy, then sad from 5 s; single-frame "angry" blips every second."""
    t = np.arange(50) / 5.0
    p = np.full((50, 7), 0.02)
    p[t < 5, 3] = 0.7
    p[t >= 5, 4] = 0.7
    for i in range(2, 50, 5):
        p[i] = 0.02
        p[i, 0] = 0.75
    return t, p / p.sum(1, keepdims=True)


def _flips(labels: np.ndarray) -> int:
    return int(np.sum(labels[1:] != labels[:-1]))


@pytest.mark.parametrize("method", ["hmm", "ema"])
def test_smoothing_removes_flicker_keeps_change(method: str) -> None:
    t, p = _sequence()
    w = np.ones(len(t))
    raw = p.argmax(1)
    sm = smooth(method, t, p, w, tau_s=1.0, stay_per_s=0.7)
    lab = sm.argmax(1)
    assert _flips(raw) >= 18
    assert _flips(lab) <= 2
    assert np.mean(lab[t < 4] == 3) > 0.9 and np.mean(lab[t >= 6] == 4) > 0.9
    np.testing.assert_allclose(sm.sum(1), 1.0, atol=1e-6)


def test_low_quality_faces_count_less() -> None:
    t, p = _sequence()
    blip = np.zeros(len(t), bool)
    blip[2::5] = True
    w = np.where(blip, 0.05, 1.0)
    a = smooth("hmm", t, p, w, 1.0, 0.7)
    b = smooth("hmm", t, p, np.ones(len(t)), 1.0, 0.7)
    assert a[blip, 0].mean() < b[blip, 0].mean()


def test_none_and_empty() -> None:
    t, p = _sequence()
    np.testing.assert_array_equal(smooth("none", t, p, np.ones(len(t)), 1.0, 0.7), p)
    assert smooth("hmm", t[:0], p[:0], np.ones(0), 1.0, 0.7).shape == (0, 7)

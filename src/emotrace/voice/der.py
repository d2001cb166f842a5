"""Diarization error rate on a 10 ms frame grid, with the optimal speaker mapping.

DER = (missed speech + false alarm + speaker confusion) / reference speech time, the
NIST definition without overlap handling (each frame has at most one reference and one
hypothesis speaker). A ``collar`` around reference boundaries is not scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

Turn = tuple[float, float, str]
STEP = 0.01


def _grid(turns: Sequence[Turn], n: int, names: dict[str, int]) -> np.ndarray:
    g = np.full(n, -1, dtype=int)
    for a, b, spk in turns:
        g[round(a / STEP) : round(b / STEP)] = names.setdefault(spk, len(names))
    return g


def diarization_error_rate(
    reference: Sequence[Turn], hypothesis: Sequence[Turn], collar: float = 0.0
) -> dict[str, float]:
    """DER and its parts (fractions of reference speech)."""
    end = max([b for _, b, _ in (*reference, *hypothesis)], default=0.0)
    n = int(np.ceil(end / STEP)) + 1
    rn: dict[str, int] = {}
    hn: dict[str, int] = {}
    ref, hyp = _grid(reference, n, rn), _grid(hypothesis, n, hn)
    scored = np.ones(n, dtype=bool)
    if collar > 0:
        c = round(collar / STEP)
        for a, b, _ in reference:
            for edge in (round(a / STEP), round(b / STEP)):
                scored[max(0, edge - c) : edge + c] = False
    ref, hyp = ref[scored], hyp[scored]
    total = float((ref >= 0).sum())
    if total == 0:
        return {"der": 0.0 if (hyp < 0).all() else 1.0, "missed": 0.0, "false_alarm": 0.0, "confusion": 0.0}
    missed = float(((ref >= 0) & (hyp < 0)).sum())
    false_alarm = float(((ref < 0) & (hyp >= 0)).sum())
    both = (ref >= 0) & (hyp >= 0)
    overlap = np.zeros((max(len(rn), 1), max(len(hn), 1)))
    np.add.at(overlap, (ref[both], hyp[both]), 1)
    r, c = linear_sum_assignment(-overlap)
    confusion = float(both.sum() - overlap[r, c].sum())
    return {
        "der": (missed + false_alarm + confusion) / total,
        "missed": missed / total,
        "false_alarm": false_alarm / total,
        "confusion": confusion / total,
    }

"""Intervals with hysteresis / minimum duration, and the statistics tables, on constructed
score sequences whose correct answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from emotrace.analysis.intervals import Step, find_intervals, segment
from emotrace.analysis.tables import mismatch_table, summary_table, transition_table
from emotrace.labels import CANONICAL
from emotrace.model import EmotionScores, FusedWindow

LABELS = list(CANONICAL)


def onehotish(label: str, p: float) -> np.ndarray:
    """``p`` on ``label``, the rest spread evenly."""
    v = np.full(len(LABELS), (1 - p) / (len(LABELS) - 1))
    v[LABELS.index(label)] = p
    return v


def steps(seq: list[tuple[str, float]], start: float = 0.0, dt: float = 1.0) -> list[Step]:
    return [Step(start + i * dt, start + (i + 1) * dt, onehotish(lab, p)) for i, (lab, p) in enumerate(seq)]


def labels_of(segs) -> list[tuple[float, float, str]]:  # type: ignore[no-untyped-def]
    return [(s.start_s, s.end_s, LABELS[s.label]) for s in segs]


def test_clean_change_is_dated_to_its_first_window() -> None:
    segs = segment(steps([("sad", 0.8)] * 5 + [("happy", 0.8)] * 5), min_duration_s=2.0, hysteresis=0.1)
    assert labels_of(segs) == [(0, 5, "sad"), (5, 10, "happy")]
    assert segs[0].confidence == pytest.approx(0.8)


def test_hysteresis_ignores_a_lead_below_the_margin() -> None:
    # happy leads sad by 0.05 in alternate windows: below the 0.1 margin, no change
    a = np.array(onehotish("sad", 0.5))
    b = a.copy()
    b[LABELS.index("happy")], b[LABELS.index("sad")] = 0.5, 0.45
    seq = [Step(i, i + 1, a if i % 2 == 0 else b) for i in range(10)]
    assert labels_of(segment(seq, min_duration_s=1.0, hysteresis=0.1)) == [(0, 10, "sad")]
    # without hysteresis every lead is a change
    assert len(segment(seq, min_duration_s=1.0, hysteresis=0.0)) == 10


def test_short_blip_is_absorbed_by_minimum_duration() -> None:
    seq = [("neutral", 0.7)] * 4 + [("angry", 0.9)] + [("neutral", 0.7)] * 4
    assert labels_of(segment(steps(seq), min_duration_s=2.0)) == [(0, 9, "neutral")]
    seq = [("neutral", 0.7)] * 4 + [("angry", 0.9)] * 2 + [("neutral", 0.7)] * 4
    assert labels_of(segment(steps(seq), min_duration_s=2.0)) == [(0, 4, "neutral"), (4, 6, "angry"), (6, 10, "neutral")]


def test_change_backdated_to_where_new_label_already_led() -> None:
    # window 3 is a mixed window: happy leads by 0.04 (< margin), then clearly happy
    mixed = onehotish("sad", 0.4)
    mixed[LABELS.index("happy")] = 0.44
    seq = steps([("sad", 0.8)] * 3) + [Step(3, 4, mixed)] + steps([("happy", 0.8)] * 3, start=4)
    assert labels_of(segment(seq, min_duration_s=1.0, hysteresis=0.1)) == [(0, 3, "sad"), (3, 7, "happy")]


def test_change_in_the_last_partial_window() -> None:
    # the video ends 0.6 s into the new emotion: half the minimum duration suffices at the end
    seq = steps([("sad", 0.8)] * 3) + [Step(3, 3.6, onehotish("happy", 0.8))]
    assert labels_of(segment(seq, min_duration_s=1.0)) == [(0, 3, "sad"), (3, 3.6, "happy")]
    seq = steps([("sad", 0.8)] * 3) + [Step(3, 3.4, onehotish("happy", 0.8))]
    assert labels_of(segment(seq, min_duration_s=1.0)) == [(0, 3.4, "sad")]


def test_gap_longer_than_max_gap_splits() -> None:
    seq = steps([("happy", 0.8)] * 2) + steps([("happy", 0.8)] * 2, start=5)
    assert labels_of(segment(seq, max_gap_s=1.0)) == [(0, 2, "happy"), (5, 7, "happy")]
    assert labels_of(segment(seq, max_gap_s=3.0)) == [(0, 7, "happy")]


def scores(label: str, p: float, valence: float) -> EmotionScores:
    v = onehotish(label, p)
    return EmotionScores(probs=dict(zip(LABELS, v.tolist(), strict=True)), valence=valence, arousal=0.0)


def windows_face_voice() -> list[FusedWindow]:
    """P1: face sad then happy, voice sad throughout; fused follows the face."""
    out = []
    for i in range(8):
        face = scores("sad", 0.8, -0.7) if i < 4 else scores("happy", 0.8, 0.8)
        voice = scores("sad", 0.6, -0.6)
        fused = scores("sad", 0.7, -0.65) if i < 4 else scores("happy", 0.6, 0.2)
        out.append(FusedWindow(start_s=i, end_s=i + 1, person_id="P1", modalities={"face": face, "voice": voice},
                               fused=fused))
    return out


def test_intervals_mismatch_transitions_summary() -> None:
    ws = windows_face_voice()
    ivs = find_intervals(ws, LABELS)
    got = {(iv.modality, iv.start_s, iv.end_s, iv.emotion) for iv in ivs}
    assert got == {("face", 0, 4, "sad"), ("face", 4, 8, "happy"), ("voice", 0, 8, "sad"),
                   ("fused", 0, 4, "sad"), ("fused", 4, 8, "happy")}
    fused_second = next(iv for iv in ivs if iv.modality == "fused" and iv.start_s == 4)
    assert fused_second.predictions == {"face": "happy", "voice": "sad", "fused": "happy"}

    mm = mismatch_table(ws, ivs, LABELS)
    assert [(r["start_s"], r["agree"], r["mismatch"], r["disagreements"]) for r in mm] == [
        (0, True, False, ""), (4, False, True, "face!=voice")]
    assert mm[1]["valence_spread"] == pytest.approx(1.4)
    assert mm[1]["text_emotion"] is None

    tr = transition_table(ivs, LABELS)
    face = {(r["from_emotion"], r["to_emotion"]): (r["count"], r["probability"]) for r in tr if r["modality"] == "face"}
    assert face == {("sad", "sad"): (0, 0.0), ("sad", "happy"): (1, 1.0), ("happy", "sad"): (0, 0.0),
                    ("happy", "happy"): (0, 0.0)}
    assert not [r for r in tr if r["modality"] == "voice"]  # no change, no matrix

    summ = {r["modality"]: r for r in summary_table(ws, ivs, LABELS)}
    assert summ["face"]["share_sad"] == pytest.approx(0.5) and summ["face"]["share_happy"] == pytest.approx(0.5)
    assert summ["voice"]["dominant_emotion"] == "sad" and summ["voice"]["share_sad"] == pytest.approx(1.0)
    assert summ["face"]["mean_valence"] == pytest.approx(0.05)
    assert summ["face"]["n_transitions"] == 1 and summ["voice"]["n_transitions"] == 0
    # one jump of total-variation 0.8 - (0.2/6) ... between windows 3 and 4, none elsewhere
    jump = 0.5 * np.abs(onehotish("happy", 0.8) - onehotish("sad", 0.8)).sum()
    assert summ["face"]["volatility"] == pytest.approx(jump / 7, abs=1e-4)
    assert summ["voice"]["volatility"] == pytest.approx(0.0)

"""Intervals of constant emotion with hysteresis and a minimum duration.

A label change is accepted only when a new label beats the current one by at least
``hysteresis`` (probability margin) in every window for at least ``min_duration_s`` (half
of it when the readings end first); the change is then dated to the first of those windows,
or earlier to where the new label already led without the margin. Gaps longer than ``max_gap_s`` between
readings end an interval.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from emotrace.model import EmotionScores, FusedWindow, Interval, Modality

MODALITY_ORDER: tuple[Modality, ...] = ("face", "voice", "text", "fused")


@dataclass
class Step:
    """One reading: a time span and probabilities in label order."""

    start_s: float
    end_s: float
    probs: np.ndarray

    @property
    def duration(self) -> float:
        return max(self.end_s - self.start_s, 1e-9)


@dataclass
class Segment:
    start_s: float
    end_s: float
    label: int
    confidence: float


def _runs(steps: list[Step], max_gap_s: float) -> list[list[Step]]:
    runs: list[list[Step]] = []
    for st in sorted(steps, key=lambda s: s.start_s):
        if runs and st.start_s - runs[-1][-1].end_s <= max_gap_s + 1e-6:
            runs[-1].append(st)
        else:
            runs.append([st])
    return runs


def _initial(run: list[Step], min_duration_s: float) -> int:
    acc = np.zeros_like(run[0].probs)
    t = 0.0
    for st in run:
        acc += st.probs * st.duration
        t += st.duration
        if t >= min_duration_s - 1e-9:
            break
    return int(np.argmax(acc))


def _states(run: list[Step], min_duration_s: float, hysteresis: float) -> list[int]:
    cur = _initial(run, min_duration_s)
    states: list[int] = []
    cand: int | None = None
    cand_start = 0
    cand_dur = 0.0

    def switch(to: int, upto: int) -> None:
        nonlocal cur, cand_start
        prev, cur = cur, to
        while (cand_start > 0 and states[cand_start - 1] == prev
               and int(np.argmax(run[cand_start - 1].probs)) == cur):
            cand_start -= 1  # the new label already led there, below the margin
        for j in range(cand_start, upto + 1):
            states[j] = cur

    for i, st in enumerate(run):
        top = int(np.argmax(st.probs))
        if top != cur and st.probs[top] - st.probs[cur] >= hysteresis - 1e-12:
            if cand != top:
                cand, cand_start, cand_dur = top, i, 0.0
            cand_dur += st.duration
            states.append(cur)
            if cand_dur >= min_duration_s - 1e-9:
                switch(top, i)
                cand = None
        else:
            cand = None
            states.append(cur)
    # the readings ended, not the new emotion: half the minimum duration is enough at the end
    if cand is not None and cand_dur >= 0.5 * min_duration_s - 1e-9:
        switch(cand, len(run) - 1)
    return states


def segment(
    steps: list[Step], min_duration_s: float = 1.0, hysteresis: float = 0.1, max_gap_s: float = 1.0
) -> list[Segment]:
    """Constant-label segments of a sequence of readings (label = index into the probs)."""
    out: list[Segment] = []
    for run in _runs(steps, max_gap_s):
        states = _states(run, min_duration_s, hysteresis)
        i = 0
        while i < len(run):
            j = i
            while j + 1 < len(run) and states[j + 1] == states[i]:
                j += 1
            part = run[i : j + 1]
            w = np.array([s.duration for s in part])
            conf = float((np.array([s.probs[states[i]] for s in part]) * w).sum() / w.sum())
            out.append(Segment(part[0].start_s, part[-1].end_s, states[i], conf))
            i = j + 1
    return out


def _window_scores(w: FusedWindow, modality: str) -> EmotionScores | None:
    return w.fused if modality == "fused" else w.modalities.get(modality)


def overlapping(windows: list[FusedWindow], starts: list[float], start: float, end: float) -> list[FusedWindow]:
    """The windows (sorted by start, ``starts`` their start times) that overlap ``[start, end)``."""
    longest = max((w.end_s - w.start_s for w in windows), default=0.0)
    return windows[bisect.bisect_left(starts, start - longest) : bisect.bisect_left(starts, end)]


def mean_label(windows: list[FusedWindow], modality: str, labels: list[str], start: float, end: float
               ) -> tuple[str, float] | None:
    """Dominant label (and its mean probability) of one modality over ``[start, end)``."""
    acc = np.zeros(len(labels))
    total = 0.0
    for w in windows:
        s = _window_scores(w, modality)
        ov = min(end, w.end_s) - max(start, w.start_s)
        if s is None or ov <= 0:
            continue
        acc += np.array([s.probs.get(lab, 0.0) for lab in labels]) * ov
        total += ov
    if total <= 0:
        return None
    acc /= total
    k = int(np.argmax(acc))
    return labels[k], float(acc[k])


def find_intervals(
    windows: list[FusedWindow],
    labels: list[str],
    min_duration_s: float = 1.0,
    hysteresis: float = 0.1,
    max_gap_s: float = 1.0,
) -> list[Interval]:
    """Intervals per person and modality (face, voice, text, fused) from fused windows,
    each with every modality's dominant label over its span in ``predictions``."""
    by_person: dict[str | None, list[FusedWindow]] = defaultdict(list)
    for w in windows:
        by_person[w.person_id].append(w)
    out: list[Interval] = []
    for pid, ws in by_person.items():
        ws.sort(key=lambda w: w.start_s)
        starts = [w.start_s for w in ws]
        for mod in MODALITY_ORDER:
            steps = []
            for w in ws:
                s = _window_scores(w, mod)
                if s is not None:
                    steps.append(Step(w.start_s, w.end_s, np.array([s.probs.get(lab, 0.0) for lab in labels])))
            for seg in segment(steps, min_duration_s, hysteresis, max_gap_s):
                preds: dict[str, str] = {}
                near = overlapping(ws, starts, seg.start_s, seg.end_s)
                for other in MODALITY_ORDER:
                    m = mean_label(near, other, labels, seg.start_s, seg.end_s)
                    if m is not None:
                        preds[other] = m[0]
                out.append(Interval(
                    person_id=pid,
                    modality=mod,
                    start_s=round(seg.start_s, 6),
                    end_s=round(seg.end_s, 6),
                    emotion=labels[seg.label],
                    confidence=round(seg.confidence, 5),
                    predictions=preds or None,
                ))
    out.sort(key=lambda iv: (str(iv.person_id), MODALITY_ORDER.index(iv.modality), iv.start_s))
    return out

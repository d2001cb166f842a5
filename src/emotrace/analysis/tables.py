"""Statistics tables per person and modality: mismatch, transitions, summary.

Each function returns rows (dicts) for ``timeline.tables[name]``; the CSV writer turns them
into ``tables/<name>.csv``.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from emotrace.analysis.intervals import MODALITY_ORDER, mean_label, overlapping
from emotrace.model import FusedWindow, Interval

SINGLE: tuple[str, ...] = ("face", "voice", "text")


def _by_person(windows: list[FusedWindow]) -> dict[str | None, list[FusedWindow]]:
    out: dict[str | None, list[FusedWindow]] = defaultdict(list)
    for w in windows:
        out[w.person_id].append(w)
    for ws in out.values():
        ws.sort(key=lambda w: w.start_s)
    return out


def _va(windows: list[FusedWindow], modality: str, start: float, end: float) -> float | None:
    vals, ws = [], []
    for w in windows:
        s = w.fused if modality == "fused" else w.modalities.get(modality)
        ov = min(end, w.end_s) - max(start, w.start_s)
        if s is not None and ov > 0 and s.valence is not None:
            vals.append(s.valence)
            ws.append(ov)
    return float(np.average(vals, weights=ws)) if vals else None


def mismatch_table(windows: list[FusedWindow], intervals: list[Interval], labels: list[str]) -> list[dict[str, Any]]:
    """Per fused interval: each modality's label and confidence, whether they agree, which
    pairs disagree and how far apart their valences are."""
    per = _by_person(windows)
    starts = {pid: [w.start_s for w in ws] for pid, ws in per.items()}
    rows: list[dict[str, Any]] = []
    for iv in intervals:
        if iv.modality != "fused":
            continue
        ws = overlapping(per.get(iv.person_id, []), starts.get(iv.person_id, []), iv.start_s, iv.end_s)
        row: dict[str, Any] = {
            "person_id": iv.person_id,
            "start_s": iv.start_s,
            "end_s": iv.end_s,
            "duration_s": round(iv.end_s - iv.start_s, 6),
            "fused_emotion": iv.emotion,
            "fused_confidence": iv.confidence,
        }
        present: dict[str, str] = {}
        valences: list[float] = []
        for mod in SINGLE:
            m = mean_label(ws, mod, labels, iv.start_s, iv.end_s)
            row[f"{mod}_emotion"] = m[0] if m else None
            row[f"{mod}_confidence"] = round(m[1], 5) if m else None
            if m:
                present[mod] = m[0]
                v = _va(ws, mod, iv.start_s, iv.end_s)
                if v is not None:
                    valences.append(v)
        pairs = [f"{a}!={b}" for i, a in enumerate(present) for b in list(present)[i + 1:]
                 if present[a] != present[b]]
        row["n_modalities"] = len(present)
        row["agree"] = len(present) >= 2 and not pairs
        row["mismatch"] = len(present) >= 2 and bool(pairs)
        row["disagreements"] = ";".join(pairs)
        row["valence_spread"] = round(max(valences) - min(valences), 5) if len(valences) >= 2 else None
        rows.append(row)
    return rows


def transition_table(intervals: list[Interval], labels: list[str]) -> list[dict[str, Any]]:
    """Transition counts between consecutive intervals and the row-normalised transition
    matrix (``probability``), per person and modality, in long form: one row per from/to
    pair of the emotions that occur in that sequence."""
    seqs: dict[tuple[str | None, str], list[Interval]] = defaultdict(list)
    for iv in intervals:
        seqs[(iv.person_id, iv.modality)].append(iv)
    rows: list[dict[str, Any]] = []
    for (pid, mod), ivs in sorted(seqs.items(), key=lambda kv: (str(kv[0][0]), MODALITY_ORDER.index(kv[0][1]))):
        ivs.sort(key=lambda iv: iv.start_s)
        counts = Counter((a.emotion, b.emotion) for a, b in itertools.pairwise(ivs) if a.emotion != b.emotion)
        if not counts:
            continue
        out_of: Counter[str] = Counter()
        for (a, _), n in counts.items():
            out_of[a] += n
        seen = [lab for lab in labels if any(iv.emotion == lab for iv in ivs)]
        for a in seen:
            for b in seen:
                n = counts.get((a, b), 0)
                rows.append({
                    "person_id": pid,
                    "modality": mod,
                    "from_emotion": a,
                    "to_emotion": b,
                    "count": n,
                    "probability": round(n / out_of[a], 5) if out_of[a] else 0.0,
                })
    return rows


def summary_table(windows: list[FusedWindow], intervals: list[Interval], labels: list[str]) -> list[dict[str, Any]]:
    """Per person and modality: covered time, emotion shares (time share of each window's
    dominant label), dominant emotion, mean/sd valence and arousal, volatility (mean total
    variation distance between consecutive windows per second) and transition counts."""
    rows: list[dict[str, Any]] = []
    n_iv = Counter((iv.person_id, iv.modality) for iv in intervals)
    n_tr = _transition_counts(intervals)
    for pid, ws in sorted(_by_person(windows).items(), key=lambda kv: str(kv[0])):
        for mod in MODALITY_ORDER:
            found = [(w, w.fused if mod == "fused" else w.modalities.get(mod)) for w in ws]
            seq = [(w, s) for w, s in found if s is not None]
            if not seq:
                continue
            dur = np.array([w.end_s - w.start_s for w, _ in seq])
            total = float(dur.sum())
            share = dict.fromkeys(labels, 0.0)
            for (_, s), d in zip(seq, dur, strict=True):
                share[s.label] += float(d)
            vals = [(s.valence, s.arousal, d) for (_, s), d in zip(seq, dur, strict=True)]
            v = [(x, d) for x, _, d in vals if x is not None]
            a = [(y, d) for _, y, d in vals if y is not None]
            tv = []
            for (w0, s0), (w1, s1) in itertools.pairwise(seq):
                if abs(w1.start_s - w0.end_s) < 1e-6:
                    p0 = np.array([s0.probs.get(lab, 0.0) for lab in labels])
                    p1 = np.array([s1.probs.get(lab, 0.0) for lab in labels])
                    tv.append(0.5 * float(np.abs(p1 - p0).sum()) / max(w1.start_s - w0.start_s, 1e-9))
            n_trans = n_tr[(pid, mod)]
            row: dict[str, Any] = {
                "person_id": pid,
                "modality": mod,
                "duration_s": round(total, 6),
                "n_windows": len(seq),
                "dominant_emotion": max(share, key=share.__getitem__),
            }
            row.update({f"share_{lab}": round(share[lab] / total, 5) if total else 0.0 for lab in labels})
            row["mean_valence"] = _wmean(v)
            row["sd_valence"] = _wsd(v)
            row["mean_arousal"] = _wmean(a)
            row["sd_arousal"] = _wsd(a)
            row["volatility"] = round(float(np.mean(tv)), 5) if tv else None
            row["n_intervals"] = n_iv[(pid, mod)]
            row["n_transitions"] = n_trans
            row["transitions_per_min"] = round(60.0 * n_trans / total, 4) if total else None
            rows.append(row)
    return rows


def _transition_counts(intervals: list[Interval]) -> Counter[tuple[str | None, str]]:
    seqs: dict[tuple[str | None, str], list[Interval]] = defaultdict(list)
    for iv in intervals:
        seqs[(iv.person_id, iv.modality)].append(iv)
    out: Counter[tuple[str | None, str]] = Counter()
    for key, ivs in seqs.items():
        ivs.sort(key=lambda iv: iv.start_s)
        out[key] = sum(a.emotion != b.emotion for a, b in itertools.pairwise(ivs))
    return out


def _wmean(xs: list[tuple[float, float]]) -> float | None:
    if not xs:
        return None
    return round(float(np.average([x for x, _ in xs], weights=[d for _, d in xs])), 5)


def _wsd(xs: list[tuple[float, float]]) -> float | None:
    if len(xs) < 2:
        return None
    m = np.average([x for x, _ in xs], weights=[d for _, d in xs])
    var = np.average([(x - m) ** 2 for x, _ in xs], weights=[d for _, d in xs])
    return round(math.sqrt(float(var)), 5)

"""Real check: two CREMA-D clips of different emotions cut together; the face and fused
intervals must change emotion within 1 s of the cut.

Runs the whole default pipeline (``emotrace.pipeline.analyze``) on ffmpeg-made videos.
Face labels are checked too where the face model reads this actor right (it reads the SAD
clip as angry; raters of CREMA-D mostly saw neutral). Fused labels are not checked: they
follow the voice and text models too, which read this actor's clips differently
(benchmarks/analysis_cuts.py prints them).
The ANG->NEU face case was a strict xfail until emotrace-fer took in the FER+ model (the
earlier model read this actor's NEU clip as angry on 7 of 11 sampled frames).
benchmarks/analysis_cuts.py measures all 30 ordered pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from emotrace.config import load_config
from emotrace.model import Interval, Timeline
from emotrace.pipeline import analyze
from emotrace.stage import available

pytestmark = pytest.mark.slow

PAIRS = [("SAD", "HAP"), ("ANG", "NEU"), ("NEU", "HAP"), ("HAP", "ANG")]
# face labels a user expects on this actor (the crowd's face-only votes agree on these three)
EXPECTED = {"HAP": "happy", "ANG": "angry", "NEU": "neutral"}


@pytest.fixture(scope="module")
def results(
    tmp_path_factory: pytest.TempPathFactory, concat_clips: Callable[[list[str], Path], list[float]]
) -> dict[tuple[str, str], tuple[Timeline, float]]:
    if ("faces", "default") not in available():
        pytest.fail("the faces stage is not available")
    d = tmp_path_factory.mktemp("cuts")
    cfg = load_config(overrides=["stages.highlights.enabled=false"])
    out = {}
    for a, b in PAIRS:
        video = d / f"{a}_{b}.mp4"
        (cut,) = concat_clips([a, b], video)
        out[(a, b)] = (analyze(video, config=cfg), cut)
    return out


def main_person(tl: Timeline) -> str:
    counts: dict[str, int] = {}
    for f in tl.faces:
        if f.person_id:
            counts[f.person_id] = counts.get(f.person_id, 0) + 1
    assert counts, "no face found"
    return max(counts, key=counts.__getitem__)


def emotion_at(ivs: list[Interval], t: float) -> str | None:
    return next((iv.emotion for iv in ivs if iv.start_s <= t < iv.end_s), None)


KNOWN_FAILURES: set[tuple[tuple[str, str], str]] = set()
CASES = [
    pytest.param(
        p, m, id=f"{m}-{p[0]}-{p[1]}",
        marks=[pytest.mark.xfail(strict=True, reason="known failure, see the module docstring")]
        if (p, m) in KNOWN_FAILURES else [],
    )
    for p in PAIRS
    for m in ("face", "fused")
]  # fmt: skip


@pytest.mark.parametrize(("pair", "modality"), CASES)
def test_emotion_changes_at_the_cut(results: dict, pair: tuple[str, str], modality: str) -> None:  # type: ignore[type-arg]
    tl, cut = results[pair]
    pid = main_person(tl)
    ivs = sorted((iv for iv in tl.intervals if iv.person_id == pid and iv.modality == modality),
                 key=lambda iv: iv.start_s)
    desc = [(iv.start_s, iv.end_s, iv.emotion) for iv in ivs]
    before, after = emotion_at(ivs, cut - 1.0), emotion_at(ivs, cut + 1.0)
    assert before is not None and after is not None, desc
    assert before != after, f"no change around the cut at {cut:.2f} s: {desc}"
    changes = [b.start_s for a, b in itertools.pairwise(ivs) if a.emotion != b.emotion]
    assert any(abs(t - cut) <= 1.0 for t in changes), f"cut at {cut:.2f} s, changes at {changes}: {desc}"
    for code, got in ((pair[0], before), (pair[1], after)):
        if modality == "face" and code in EXPECTED:
            assert got == EXPECTED[code], f"{code} read as {got}: {desc}"


def test_result_folder_has_analysis_tables(results: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    from emotrace.report.writers import write_all

    tl, _ = results[("SAD", "HAP")]
    write_all(tl, tmp_path, ["json", "events", "csv"])
    assert Timeline.load(tmp_path) == tl  # windows, intervals and tables survive the JSON round trip
    for name in ("intervals", "mismatch", "transitions", "summary", "windows"):
        assert (tmp_path / "tables" / f"{name}.csv").is_file(), name
    import pandas as pd

    summ = pd.read_csv(tmp_path / "tables" / "summary.csv")
    shares = summ[[c for c in summ.columns if c.startswith("share_")]].sum(axis=1)
    assert shares.to_numpy() == pytest.approx(1.0, abs=1e-3)
    tr = pd.read_csv(tmp_path / "tables" / "transitions.csv")
    face = tr[(tr.modality == "face") & (tr["count"] > 0)]
    assert len(face) >= 1 and (face.to_emotion == "happy").any()

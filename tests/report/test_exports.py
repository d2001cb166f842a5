"""SRT, WebVTT and ELAN exports from real results, with and without a transcript."""

from __future__ import annotations

import re
from pathlib import Path

import pympi
import pytest

from emotrace.model import EmotionScores, Timeline, Utterance
from emotrace.report.elan import write_eaf
from emotrace.report.subtitles import _stamp, srt_text, vtt_text, write_srt, write_vtt

pytestmark = pytest.mark.slow

SRT_TIME = re.compile(r"^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$")
VTT_TIME = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}$")


def _with_transcript(tl: Timeline) -> Timeline:
    tl = tl.model_copy(deep=True)
    happy = EmotionScores(probs={lab: (0.9 if lab == "happy" else 0.1 / 6) for lab in tl.labels}, valence=0.7)
    tl.utterances = [
        Utterance(start_s=0.2, end_s=1.1, text="It's eleven o'clock", person_id="P1", emotion=happy),
        Utterance(start_s=1.1, end_s=1.9, text="<no> & more", speaker_id="S2"),
    ]
    return tl


def test_stamp_formats() -> None:
    assert _stamp(3725.5, ",") == "01:02:05,500"
    assert _stamp(0.0004, ".") == "00:00:00.000"


def test_subtitles_without_transcript_follow_intervals(happy_result: tuple[Path, Timeline, Path]) -> None:
    out, tl, _ = happy_result
    srt = (out / "transcript.srt").read_text()
    fused = [iv for iv in tl.intervals if iv.modality == "fused"] or [iv for iv in tl.intervals if iv.modality == "face"]
    assert fused, "the real clip gives emotion intervals"
    blocks = [b for b in srt.strip().split("\n\n") if b]
    assert len(blocks) == len(fused)
    for block, iv in zip(blocks, sorted(fused, key=lambda i: i.start_s), strict=True):
        lines = block.splitlines()
        assert SRT_TIME.match(lines[1])
        assert iv.emotion in lines[2] and "P1" in lines[2]
    vtt = (out / "transcript.vtt").read_text()
    assert vtt.startswith("WEBVTT\n")
    assert all(VTT_TIME.match(line) for line in vtt.splitlines() if "-->" in line)


def test_subtitles_with_transcript(happy_result: tuple[Path, Timeline, Path], tmp_path: Path) -> None:
    tl = _with_transcript(happy_result[1])
    write_srt(tl, tmp_path)
    write_vtt(tl, tmp_path)
    srt = (tmp_path / "transcript.srt").read_text()
    assert "00:00:00,200 --> 00:00:01,100\n[P1 · happy 90%] It's eleven o'clock" in srt
    assert "[S2] <no> & more" in srt
    vtt = (tmp_path / "transcript.vtt").read_text()
    assert "[S2] &lt;no&gt; &amp; more" in vtt  # cue text is escaped for WebVTT


def test_eaf_reads_back_in_pympi(happy_result: tuple[Path, Timeline, Path], tmp_path: Path) -> None:
    tl = _with_transcript(happy_result[1])
    write_eaf(tl, tmp_path, happy_result[2])
    eaf = pympi.Elan.Eaf(str(tmp_path / "annotations.eaf"))
    tiers = set(eaf.get_tier_names())
    assert {"P1 face", "P1 fused", "P1 transcript", "S2 transcript"} <= tiers
    face = sorted(eaf.get_annotation_data_for_tier("P1 face"))
    ivs = sorted((iv for iv in tl.intervals if iv.modality == "face"), key=lambda i: i.start_s)
    assert [(a, b) for a, b, _ in face] == [(round(iv.start_s * 1000), round(iv.end_s * 1000)) for iv in ivs]
    assert all(v.split(" ")[0] in tl.labels for _, _, v in face)
    assert eaf.get_annotation_data_for_tier("P1 transcript") == [(200, 1100, "It's eleven o'clock")]
    assert eaf.get_parameters_for_tier("P1 face")["PARTICIPANT"] == "P1"
    media = eaf.get_linked_files()
    assert media and media[0]["RELATIVE_MEDIA_URL"] == "1001_DFA_HAP_XX.flv"


def test_everything_empty_still_writes(happy_result: tuple[Path, Timeline, Path], tmp_path: Path) -> None:
    tl = happy_result[1].model_copy(deep=True)
    for name in ("shots", "keyframes", "faces", "persons", "speech", "words", "utterances", "windows", "intervals",
                 "highlights"):
        setattr(tl, name, [])
    tl.tables = {}
    assert srt_text(tl) == ""
    assert vtt_text(tl).strip() == "WEBVTT"
    write_eaf(tl, tmp_path)
    eaf = pympi.Elan.Eaf(str(tmp_path / "annotations.eaf"))
    assert not list(eaf.get_tier_names())
    assert "<TIME_ORDER" in (tmp_path / "annotations.eaf").read_text()


def test_speaker_linked_to_person(happy_result: tuple[Path, Timeline, Path], tmp_path: Path) -> None:
    tl = _with_transcript(happy_result[1])
    tl.persons[0].speaker_id = "S2"  # the voice stage linked speaker S2 to the face P1
    assert "[P1] <no> & more" in srt_text(tl)
    write_eaf(tl, tmp_path)
    eaf = pympi.Elan.Eaf(str(tmp_path / "annotations.eaf"))
    assert "S2 transcript" not in eaf.get_tier_names()
    assert len(eaf.get_annotation_data_for_tier("P1 transcript")) == 2

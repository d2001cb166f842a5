"""The self-contained HTML report, written by `analyze` and by `emotrace report DIR`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from emotrace.model import EmotionScores, Timeline, Utterance
from emotrace.report.html import render_html
from emotrace.report.plots import transitions_svg

pytestmark = pytest.mark.slow

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def test_report_stands_alone(happy_result: tuple[Path, Timeline, Path]) -> None:
    out, tl, _ = happy_result
    html = (out / "report.html").read_text()
    assert not EXTERNAL.search(html), "no external resources"
    assert "<script src" not in html and "<link" not in html
    for section in ("summary", "timelines", "transitions", "mismatch", "highlights", "keyframes", "transcript",
                    "provenance"):
        assert f'id="{section}"' in html
    assert len(tl.keyframes) > 0
    assert html.count('class="card keyframe"><img src="data:image/jpeg;base64,') == len(tl.keyframes)
    assert html.count('class="card highlight"><img src="data:image/jpeg;base64,') == len(tl.highlights)
    assert 'id="person-P1"' in html and html.count("<svg") >= 2  # person timeline + circumplex
    for m in tl.provenance.models:
        assert m.name in html
    if tl.tables.get("transitions"):
        for r in tl.tables["transitions"]:  # one heatmap per person and modality
            assert f"{r['person_id']} · {r['modality']}" in html
    else:
        assert "No transitions table" in html


def test_transition_heatmap_counts() -> None:
    labels = ["happy", "sad", "neutral"]
    rows = [
        {"person_id": "P1", "modality": "fused", "from_emotion": "happy", "to_emotion": "sad", "count": 3,
         "probability": 0.75},
        {"person_id": "P1", "modality": "fused", "from_emotion": "sad", "to_emotion": "neutral", "count": 1,
         "probability": 1.0},
        {"person_id": "P2", "modality": "face", "from_emotion": "happy", "to_emotion": "sad", "count": 9,
         "probability": 1.0},
    ]
    svg = transitions_svg(rows, "P1", "fused", labels)
    assert svg is not None and svg.startswith("<svg")
    assert ">3<" in svg and ">1<" in svg and ">9<" not in svg
    assert transitions_svg(rows, "P3", "fused", labels) is None


def test_transcript_coloured_by_emotion(happy_result: tuple[Path, Timeline, Path]) -> None:
    tl = happy_result[1].model_copy(deep=True)
    sad = EmotionScores(probs={lab: (0.8 if lab == "sad" else 0.2 / 6) for lab in tl.labels})
    tl.utterances = [Utterance(start_s=0.1, end_s=1.5, text="I can't <believe> it", person_id="P1", emotion=sad)]
    html = render_html(tl, happy_result[0], None)
    assert 'border-left-color:#0072B2' in html  # sad's colour
    assert "I can&#x27;t &lt;believe&gt; it" in html


def test_empty_timeline_renders(happy_result: tuple[Path, Timeline, Path]) -> None:
    tl = happy_result[1].model_copy(deep=True)
    for name in ("shots", "keyframes", "faces", "persons", "speech", "words", "utterances", "windows", "intervals",
                 "highlights"):
        setattr(tl, name, [])
    tl.tables = {}
    html = render_html(tl, None, None)
    assert "No emotion estimates" in html and "No keyframes" in html and "No transcript" in html


def test_report_command_rerenders(result_copy: Path, emotrace_cli: list[str]) -> None:
    for name in ("report.html", "transcript.srt", "annotations.eaf"):
        (result_copy / name).unlink()
    r = subprocess.run([*emotrace_cli, "report", str(result_copy)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    for name in ("report.html", "transcript.srt", "transcript.vtt", "annotations.eaf"):
        assert (result_copy / name).is_file() and str(result_copy / name) in r.stdout
    assert not [p for p in result_copy.iterdir() if p.name.startswith(".report-tmp")]
    assert "data:image/jpeg;base64," in (result_copy / "report.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "{missing}"], "no such result folder"),
        (["report", "{empty}"], "no timeline.json"),
        (["report", "{broken}"], "not a valid emotrace timeline"),
        (["report", "{ok}", "-f", "pdf"], "unknown output format"),
    ],
)
def test_report_command_bad_input(
    args: list[str], message: str, result_copy: Path, tmp_path: Path, emotrace_cli: list[str]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "timeline.json").write_text('{"video": 1}')
    paths = {"missing": tmp_path / "nope", "empty": tmp_path / "empty", "broken": tmp_path / "broken", "ok": result_copy}
    r = subprocess.run([*emotrace_cli, *(a.format(**paths) for a in args)], capture_output=True, text=True, check=False)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr

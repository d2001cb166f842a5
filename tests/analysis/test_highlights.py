"""Highlights: segment selection, stream-copy export of clips and reel, the highlights stage
on a generated video with a loud passage, and the CLI's input errors."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from emotrace.analysis.clips import export_highlights
from emotrace.analysis.highlight_features import select_segments
from emotrace.config import load_config
from emotrace.pipeline import analyze

NO_MODELS = ["stages.faces.enabled=false", "stages.voice.enabled=false", "stages.words.enabled=false",
             "stages.keyframes.enabled=false"]


@pytest.fixture(scope="module")
def loud_video(tmp_path_factory: pytest.TempPathFactory, ffmpeg_ok: None) -> Path:
    """14 s test pattern; a quiet 300 Hz tone, 25 dB louder from 8 to 10 s; key frame every 1 s."""
    p = tmp_path_factory.mktemp("hl") / "loud.mp4"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=14",
         "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=16000:duration=14",
         "-af", "volume='if(between(t,8,10),1.0,0.05)':eval=frame",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", str(p)],
        check=True,
    )
    return p


def test_select_segments_topk_minlen_padding() -> None:
    score = np.zeros(30)
    score[5] = 1.0
    score[20:23] = 0.8
    segs = select_segments(np.arange(30.0), score, 1.0, 30.0, top_k=2, min_len_s=4.0, padding_s=1.0)
    assert len(segs) == 2
    (a1, b1, _, p1), (a2, b2, _, p2) = segs
    assert p1 in (4, 5, 6) and a1 <= 5 and b1 >= 6 and b1 - a1 == pytest.approx(6.0)  # 4 s + 2 x 1 s padding
    assert p2 in range(20, 23) and a2 <= 20 and b2 >= 23 and b2 - a2 >= 6.0
    # clipped to the media and never overlapping
    segs = select_segments(np.arange(8.0), np.array([1.0, 0.9, 0.1, 0.0, 0.0, 0.6, 0.0, 0.0]), 1.0, 8.0, top_k=3,
                           min_len_s=2, padding_s=2)
    assert segs[0][0] == 0.0 and all(b <= 8.0 for _, b, _, _ in segs)
    for (_, b, _, _), (a, _, _, _) in itertools.pairwise(segs):
        assert a >= b
    # a flat score has no highlight
    assert select_segments(np.arange(10.0), np.full(10, 0.3), 1.0, 10.0) == []


def packets(path: Path) -> list[tuple[str, bytes]]:
    with av.open(str(path)) as c:
        return [(p.stream.type, bytes(p)) for p in c.demux() if p.size]


def test_export_is_stream_copy(loud_video: Path, tmp_path: Path) -> None:
    clips, reel = export_highlights(loud_video, tmp_path, [(3.4, 6.0), (9.0, 11.0)])
    assert [c.name for c in clips] == ["clip_01.mp4", "clip_02.mp4"] and reel is not None
    src = packets(loud_video)
    src_bytes = {b for _, b in src}
    for clip, (start, end) in zip(clips, [(3.4, 6.0), (9.0, 11.0)], strict=True):
        got = packets(clip)
        assert got and all(b in src_bytes for _, b in got)  # every packet copied verbatim
        with av.open(str(clip)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
            dur = float(c.duration / av.time_base)
        # starts at the key frame before ``start`` (1 s GOP), ends at ``end``
        assert (end - start) <= dur <= (end - start) + 1.1
    reel_pk = packets(reel)
    assert len(reel_pk) == sum(len(packets(c)) for c in clips)


def test_highlight_stage_finds_the_loud_passage(loud_video: Path, tmp_path: Path) -> None:
    cfg = load_config(overrides=[*NO_MODELS, "stages.highlights.top_k=2", "stages.highlights.min_len_s=2",
                                 "stages.highlights.padding_s=0.5"])
    tl = analyze(loud_video, tmp_path / "res", config=cfg)
    assert len(tl.highlights) == 1  # one passage stands out; the rest is flat
    top = tl.highlights[0]
    assert top.start_s <= 8.0 + 0.5 and top.end_s >= 10.0 - 0.5 and top.reason == "loudness"
    assert top.end_s - top.start_s <= 2 + 2 * 0.5 + 1.0
    res = tmp_path / "res"
    assert top.clip and (res / top.clip).is_file()
    assert (res / "highlights" / "reel.mp4").is_file()
    assert all(h.clip and h.clip.startswith("highlights/") for h in tl.highlights)
    # `emotrace highlights` re-scores the saved result and exports again
    r = cli("highlights", str(res), "--out", str(tmp_path / "again"), "--min-len-s", "2", "--padding-s", "0.5",
            "--json")
    assert r.returncode == 0, r.stderr
    again = json.loads(r.stdout)
    assert [(h["start_s"], h["end_s"]) for h in again["highlights"]] == [(top.start_s, top.end_s)]
    assert Path(again["reel"]).is_file() and Path(again["highlights"][0]["clip"]).is_file()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emotrace.cli", *args], check=False, capture_output=True, text=True)


def test_cli_input_errors(tmp_path: Path) -> None:
    r = cli("train", "highlights", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "m.json"))
    assert r.returncode == 2 and "nope.csv: file not found" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("video,begin\nx.mp4,1\n")
    r = cli("train", "highlights", str(bad), "-o", str(tmp_path / "m.json"))
    assert r.returncode == 2 and "video, start, end" in r.stderr
    r = cli("train", "fusion", str(tmp_path), "-o", str(tmp_path / "m.json"))
    assert r.returncode == 2 and "no labelled clips" in r.stderr
    r = cli("highlights", str(tmp_path))
    assert r.returncode == 2 and "no timeline.json" in r.stderr


TRIPLES = [("NEU", "ANG", "NEU"), ("NEU", "HAP", "NEU"), ("SAD", "ANG", "NEU"), ("NEU", "FEA", "SAD"),
           ("SAD", "HAP", "NEU")]


@pytest.mark.slow
def test_supervised_highlights_variants(
    tmp_path: Path, concat_clips: Callable[[list[str], Path], list[float]]
) -> None:
    """Videos of three CREMA-D clips, the emotional middle one labelled as the highlight.
    Words are off: every clip says the same sentence."""
    from emotrace.analysis.highlight_model import HighlightModel, train_highlights

    rows = ["video,start,end"]
    for trip in TRIPLES:
        cuts = concat_clips(list(trip), tmp_path / ("_".join(trip) + ".mp4"))
        rows.append(f"{'_'.join(trip)}.mp4,{cuts[0]:.3f},{cuts[1]:.3f}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    cache = tmp_path / "cache"
    run = tmp_path / "hl"
    model, table = train_highlights(tmp_path / "labels.csv", run, ["stages.words.enabled=false"],
                                    cache, echo=lambda m: None)
    assert [r["variant"] for r in table] == ["audio-only", "video-only", "multimodal"]
    pos_rate = table[0]["positives"] / table[0]["windows"]
    assert 0 < pos_rate < 1
    always_yes = 2 * pos_rate / (1 + pos_rate)  # F1 of flagging every window
    for r in table:
        assert 0.0 <= r["f1"] <= 1.0
    assert table[2]["f1"] > always_yes, table
    assert len(list(cache.glob("*.json"))) == len(TRIPLES)  # analysed once, cached
    loaded = HighlightModel.load(run)  # the run folder, or the model file inside it
    assert loaded.features == model.features and loaded.info["evaluation"] == table
    assert HighlightModel.load(run / "highlights.json").coef.tolist() == loaded.coef.tolist()
    assert json.loads((run / "metrics.json").read_text())["variants"] == table
    assert json.loads((run / "config.json").read_text())["window_s"] == 1.0
    assert "multimodal" in (run / "MODEL_CARD.md").read_text() and "[5/5]" in (run / "train.log").read_text()
    cfg = load_config(overrides=["stages.words.enabled=false", f"stages.highlights.model={run}",
                                 "stages.highlights.top_k=1", "stages.highlights.min_len_s=1",
                                 "stages.highlights.padding_s=0"])
    tl = analyze(tmp_path / "NEU_ANG_NEU.mp4", config=cfg)
    assert len(tl.highlights) == 1 and tl.highlights[0].reason == "model"
    h = tl.highlights[0]
    assert h.start_s < 4.27 and h.end_s > 2.035  # overlaps the labelled angry middle clip

"""Annotated video: real CREMA-D clip, H.264 out, audio copied or re-encoded, overlay drawn."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from emotrace.model import EmotionScores, SpeechSegment, Timeline, Utterance
from emotrace.report.annotate import render_annotated, write_annotated_video

pytestmark = pytest.mark.slow


def _frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        return [(float(f.pts * vs.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(vs)]


def _audio(path: Path) -> tuple[str, int, float]:
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        pkts = [p for p in c.demux(a) if p.size]
        end = max(float((p.pts + (p.duration or 0)) * a.time_base) for p in pkts)
        return a.codec_context.codec.canonical_name, len(pkts), end


def _nearest(frames: list[tuple[float, np.ndarray]], t: float) -> np.ndarray:
    return min(frames, key=lambda f: abs(f[0] - t))[1].astype(int)


def test_overlay_boxes_banner_and_copied_audio(happy_result: tuple[Path, Timeline, Path], tmp_path: Path) -> None:
    _, tl, src = happy_result
    tl = tl.model_copy(deep=True)
    happy = EmotionScores(probs={lab: (0.9 if lab == "happy" else 0.1 / 6) for lab in tl.labels})
    tl.speech = [SpeechSegment(start_s=0.3, end_s=1.6, speaker_id="S1", person_id="P1", emotion=happy)]
    tl.utterances = [Utterance(start_s=0.3, end_s=1.6, text="It's eleven o'clock", person_id="P1", emotion=happy)]
    write_annotated_video(tl, tmp_path, src)
    out = tmp_path / "annotated.mp4"
    assert out.is_file() and not list(tmp_path.glob(".*part"))

    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
    ann, orig = _frames(out), _frames(src)
    assert abs(len(ann) - len(orig)) <= 1
    assert abs(ann[-1][0] - (orig[-1][0] - orig[0][0])) < 0.1

    # the source's mp3 audio is copied packet for packet
    codec, n_out, end_out = _audio(out)
    codec_src, n_src, end_src = _audio(src)
    assert codec == codec_src == "mp3"
    assert abs(n_out - n_src) <= 2 and abs(end_out - end_src) < 0.15

    face = next(f for f in tl.faces if 0.4 < f.time_s < 1.4)
    a, o = _nearest(ann, face.time_s), _nearest(orig, face.time_s)
    b = face.bbox
    x0, x1 = int(b.x + 2), int(b.x + b.w - 2)
    left_edge = np.abs(a[int(b.y + b.h / 2), int(b.x) - 1 : int(b.x) + 2] - o[int(b.y + b.h / 2), int(b.x) - 1 : int(b.x) + 2])
    assert left_edge.max() > 60, "box drawn on the face's edge"
    assert np.abs(a[int(b.y + b.h * 0.4), x0:x1] - o[int(b.y + b.h * 0.4), x0:x1]).mean() < 12, "face inside untouched"
    h = a.shape[0]
    assert a[h - 10 :, 40:200].mean() < o[h - 10 :, 40:200].mean() - 30, "speaker banner darkens the bottom"
    late = _nearest(ann, 1.85), _nearest(orig, 1.85)
    assert np.abs(late[0][-10:] - late[1][-10:]).mean() < 12, "no banner after the utterance"


def test_uncopyable_audio_is_reencoded_to_aac(happy_result: tuple[Path, Timeline, Path], tmp_path: Path) -> None:
    _, tl, src = happy_result
    pcm = tmp_path / "pcm.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "pcm_s16le", str(pcm)], check=True)
    out = tmp_path / "a.mp4"
    render_annotated(tl, pcm, out)
    codec, n, end = _audio(out)
    assert codec == "aac" and n > 10
    assert abs(end - tl.video.duration_s) < 0.3


def test_no_picture_no_file(happy_result: tuple[Path, Timeline, Path], tmp_path: Path) -> None:
    tl = happy_result[1].model_copy(deep=True)
    tl.video.has_video = False
    write_annotated_video(tl, tmp_path, happy_result[2])
    assert not (tmp_path / "annotated.mp4").exists()
    assert any("annotated video not written" in w for w in tl.provenance.warnings)


def test_empty_timeline_gives_a_clean_copy(happy_result: tuple[Path, Timeline, Path], tmp_path: Path) -> None:
    _, tl, src = happy_result
    tl = tl.model_copy(deep=True)
    tl.faces, tl.speech, tl.utterances, tl.persons = [], [], [], []
    out = tmp_path / "plain.mp4"
    render_annotated(tl, src, out)
    ann, orig = _frames(out), _frames(src)
    assert abs(len(ann) - len(orig)) <= 1
    assert np.abs(_nearest(ann, 1.0) - _nearest(orig, 1.0)).mean() < 6  # only compression noise

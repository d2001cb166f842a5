"""Voice-quality features (Praat via parselmouth) on espeak-ng speech with a known change:
sox shifts the pitch by +4 semitones, or lowers the level by 12 dB; the figures must move that
way and by about that much. Then the voice stage writes them per segment and per window."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from emotrace.io.media import load_audio
from emotrace.voice.quality import FEATURES, segment_rows, voice_feature_rows

pytest.importorskip("parselmouth")
TEXT = "Hello there. I am very happy today. What a wonderful surprise this is, and I mean it."


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    d = tmp_path_factory.mktemp("vq")
    base = d / "base.wav"
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(base), TEXT], check=True, capture_output=True)
    out = {"base": base}
    for name, effect in (("up", ["pitch", "400"]), ("quiet", ["vol", "0.25"])):
        out[name] = d / f"{name}.wav"
        subprocess.run(["sox", str(base), str(out[name]), *effect], check=True, capture_output=True)
    return {k: load_audio(v) for k, v in out.items()}


def _segment(a: np.ndarray) -> dict[str, float | None]:
    return segment_rows(a, 0.0, a.size / 16000, 1.0, None)[0]


def test_pitch_shift_moves_pitch_only(voices) -> None:  # type: ignore[no-untyped-def]
    base, up = _segment(voices["base"]), _segment(voices["up"])
    ratio = up["pitch_mean_hz"] / base["pitch_mean_hz"]
    assert ratio == pytest.approx(2 ** (4 / 12), rel=0.05), (base["pitch_mean_hz"], up["pitch_mean_hz"])
    assert abs(up["loudness_db"] - base["loudness_db"]) < 1.5
    assert 60 < base["pitch_mean_hz"] < 200 and base["pitch_sd_hz"] > 0
    for row in (base, up):  # plausible voice measures for clean synthetic speech
        assert 0 < row["jitter_local"] < 0.05 and 0 < row["shimmer_local"] < 0.3
        assert 5 < row["hnr_db"] < 40
        assert 200 < row["f1_hz"] < row["f2_hz"] < row["f3_hz"] < 4500
        assert 1.0 < row["speech_rate_syl_s"] < 8.0


def test_level_change_moves_loudness_only(voices) -> None:  # type: ignore[no-untyped-def]
    base, quiet = _segment(voices["base"]), _segment(voices["quiet"])
    assert quiet["loudness_db"] - base["loudness_db"] == pytest.approx(20 * np.log10(0.25), abs=1.5)
    assert quiet["pitch_mean_hz"] == pytest.approx(base["pitch_mean_hz"], rel=0.02)


def test_windows_and_streaming(voices) -> None:  # type: ignore[no-untyped-def]
    a = voices["base"]
    dur = a.size / 16000
    whole = segment_rows(a, 0.0, dur, 1.0, "S1")
    wins = [r for r in whole if r["kind"] == "window"]
    assert len(wins) == int(np.ceil(dur - 0.25)) and all(r["speaker_id"] == "S1" for r in wins)
    assert set(FEATURES) <= set(wins[0])
    # streamed in 1.3 s chunks with two segments: the same rows as cutting the whole array
    chunks = [(i / 16000, a[i : i + 20800]) for i in range(0, a.size, 20800)]
    segs = [(0.2, 2.4, "S1"), (2.6, dur - 0.1, "S2")]
    streamed = list(voice_feature_rows(iter(chunks), segs, 1.0))
    direct = [r for s0, s1, spk in segs for r in segment_rows(a[round(s0 * 16000) : round(s1 * 16000)], s0, s1, 1.0, spk)]
    assert [(r["kind"], r["start_s"]) for r in streamed] == [(r["kind"], r["start_s"]) for r in direct]
    assert streamed[0]["pitch_mean_hz"] == pytest.approx(direct[0]["pitch_mean_hz"], rel=1e-3)


@pytest.mark.slow
def test_voice_stage_writes_voice_features(tmp_path: Path, speech_wav: Path, emotrace_cli: list[str]) -> None:
    video = tmp_path / "talk.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=320x240:r=10", "-i", str(speech_wav),
                    "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video)], check=True)  # fmt: skip
    out = tmp_path / "out"
    p = subprocess.run([*emotrace_cli, "analyze", str(video), "-o", str(out), "-q", "--set", "stages.words.enabled=false"],
                       capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert p.returncode == 0, p.stderr
    import pandas as pd

    df = pd.read_csv(out / "tables" / "voice_features.csv")
    assert set(df["kind"]) == {"segment", "window"}
    assert df["pitch_mean_hz"].notna().any() and df["hnr_db"].notna().any()
    assert "Voice quality" in (out / "report.html").read_text()

"""A fuzz-style sweep over odd, unusual and broken media (issue 20).

Every case is generated here with ffmpeg (the 20-face case tiles real CREMA-D footage) and
analysed through the real command line. Whatever the input, the contract holds: exit code 0
(a complete result folder) or 2 (one error line, no folder), never a traceback or an internal
error, never a partial or stray temporary folder. The cases are short so that the sweep runs
in CI in well under three minutes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from emotrace.model import Timeline

LAVFI_V = "testsrc=size=320x240:rate=25:d=2"
LAVFI_A = "sine=f=300:sample_rate=16000:d=2"
X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]

# name -> (ffmpeg arguments before the output file, output file name); None = written by hand below
CASES: dict[str, tuple[list[str], str] | None] = {
    "avi_mpeg4_mp3": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", LAVFI_A, "-c:v", "mpeg4",
                       "-c:a", "libmp3lame"], "clip.avi"),
    "mov_prores_pcm": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", LAVFI_A, "-c:v", "prores",
                        "-c:a", "pcm_s16le"], "clip.mov"),
    "ts_mpeg2_ac3": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", LAVFI_A, "-c:v", "mpeg2video",
                      "-c:a", "ac3"], "clip.ts"),
    "webm_vp9_opus": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", LAVFI_A, "-c:v", "libvpx-vp9",
                       "-deadline", "realtime", "-c:a", "libopus"], "clip.webm"),
    "ogv_theora_vorbis": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", LAVFI_A, "-c:v", "libtheora",
                           "-c:a", "libvorbis"], "clip.ogv"),
    "wmv_asf": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", LAVFI_A, "-c:v", "wmv2", "-c:a", "wmav2"],
                "clip.wmv"),
    "mkv_two_audio_and_subtitles": None,
    "hevc_10bit_mp4": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", LAVFI_A, "-c:v", "libx265",
                        "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error",
                        "-c:a", "aac"], "clip.mp4"),
    "rotated_90": None,
    "vfr": (["-f", "lavfi", "-i", "testsrc=size=320x240:rate=30:d=3", "-f", "lavfi", "-i", LAVFI_A,
             "-vf", "select='lt(t\\,1)+not(mod(n\\,7))'", "-fps_mode", "vfr", *X264, "-c:a", "aac"], "clip.mkv"),
    "surround_5_1": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", "sine=f=300:sample_rate=48000:d=2",
                      "-af", "pan=5.1|FL=c0|FR=c0|FC=c0|LFE=c0|BL=c0|BR=c0", *X264, "-c:a", "aac"], "clip.mp4"),
    "audio_8khz": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", "sine=f=300:sample_rate=8000:d=2",
                    *X264, "-c:a", "pcm_s16le", "-ar", "8000"], "clip.mkv"),
    "silent_audio": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                      "-t", "2", *X264, "-c:a", "aac"], "clip.mp4"),
    "one_frame": (["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-frames:v", "1", *X264], "one.mp4"),
    "tiny_16px": (["-f", "lavfi", "-i", "testsrc=size=16x16:rate=25:d=2", "-f", "lavfi", "-i", LAVFI_A,
                   *X264, "-c:a", "aac"], "clip.mp4"),
    "odd_size_yuv444": (["-f", "lavfi", "-i", "testsrc=size=321x241:rate=25:d=2", "-f", "lavfi", "-i", LAVFI_A,
                         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p", "-c:a", "aac"], "clip.mkv"),
    "panorama_1920x96": (["-f", "lavfi", "-i", "testsrc=size=1920x96:rate=25:d=2", "-f", "lavfi", "-i", LAVFI_A,
                          *X264, "-c:a", "aac"], "clip.mp4"),
    "fps_120": (["-f", "lavfi", "-i", "testsrc=size=320x240:rate=120:d=2", "-f", "lavfi", "-i", LAVFI_A,
                 *X264, "-c:a", "aac"], "clip.mp4"),
    "mp3_only": (["-f", "lavfi", "-i", LAVFI_A, "-c:a", "libmp3lame"], "talk.mp3"),
    "mp3_with_cover_art": None,
    "no_audio": (["-f", "lavfi", "-i", LAVFI_V, *X264], "clip.mp4"),
    "flv_named_mp4": (["-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", "sine=f=300:sample_rate=22050:d=2",
                       "-c:v", "flv1", "-c:a", "adpcm_swf", "-f", "flv"], "clip.mp4"),
    "truncated": None,
    "garbage": None,
    "zero_bytes": None,
    "twenty_faces": None,
}


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, capture_output=True)


def make_case(name: str, d: Path, crema_d: Path) -> Path:
    spec = CASES[name]
    if spec is not None:
        args, fname = spec
        out = d / fname
        _ffmpeg(*args, str(out))
        return out
    if name == "mkv_two_audio_and_subtitles":
        srt = d / "subs.srt"
        srt.write_text("1\n00:00:00,000 --> 00:00:01,500\nHello\n", encoding="utf-8")
        out = d / "clip.mkv"
        _ffmpeg("-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", LAVFI_A, "-f", "lavfi",
                "-i", "sine=f=500:sample_rate=44100:d=2", "-i", str(srt), "-map", "0", "-map", "1", "-map", "2",
                "-map", "3", *X264, "-c:a", "aac", "-c:s", "srt", str(out))  # fmt: skip
        return out
    if name == "rotated_90":
        flat = d / "flat.mp4"
        _ffmpeg("-f", "lavfi", "-i", LAVFI_V, "-f", "lavfi", "-i", LAVFI_A, *X264, "-c:a", "aac", str(flat))
        out = d / "rotated.mp4"
        _ffmpeg("-i", str(flat), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(out))
        return out
    if name == "mp3_with_cover_art":
        cover = d / "cover.png"
        _ffmpeg("-f", "lavfi", "-i", "testsrc=size=200x200", "-frames:v", "1", str(cover))
        out = d / "song.mp3"
        _ffmpeg("-f", "lavfi", "-i", LAVFI_A, "-i", str(cover), "-map", "0", "-map", "1", "-c:a", "libmp3lame",
                "-c:v", "png", "-disposition:v", "attached_pic", str(out))  # fmt: skip
        return out
    if name == "truncated":
        full = d / "full.mp4"
        _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:d=6", "-f", "lavfi", "-i",
                "sine=f=300:sample_rate=16000:d=6", *X264, "-c:a", "aac", "-movflags", "+faststart", str(full))
        out = d / "cut.mp4"
        out.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
        return out
    if name == "garbage":
        out = d / "noise.mp4"
        out.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(50_000)))
        return out
    if name == "zero_bytes":
        out = d / "empty.mov"
        out.write_bytes(b"")
        return out
    if name == "twenty_faces":  # 20 real faces: a 5x4 grid of CREMA-D frames
        src = crema_d / "1001_DFA_HAP_XX.flv"
        if not src.exists():
            pytest.skip("../shared/data/crema_d not available")
        out = d / "crowd.mp4"
        _ffmpeg("-i", str(src), "-vf", "scale=240:180,tile=5x4", "-r", "5", *X264, "-c:a", "aac", str(out))
        return out
    raise AssertionError(name)


@pytest.fixture(scope="module")
def crema_dir() -> Path:
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "crema_d"


@pytest.mark.parametrize("case", sorted(CASES))
def test_any_media_gives_a_result_or_one_line(emotrace_cli, tmp_path, crema_dir, case) -> None:
    media = tmp_path / "media"
    media.mkdir()
    video = make_case(case, media, crema_dir)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "result"
    # words (Whisper) only where the sound is what the case is about; the rest keeps the sweep short
    words = "true" if case in ("surround_5_1", "audio_8khz", "mp3_only") else "false"
    proc = subprocess.run([*emotrace_cli, "analyze", str(video), "-o", str(out), "-q",
                           "--set", f"stages.words.enabled={words}"],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    err = proc.stderr
    assert proc.returncode in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    assert sorted(p.name for p in work.iterdir()) == (["result"] if proc.returncode == 0 else []), err
    if proc.returncode == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("emotrace: error: ") and video.name in lines[0], err
        return
    tl = Timeline.load(out)
    assert tl.video.duration_s > 0
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    if case == "twenty_faces":
        assert len({round(f.bbox.x / 240) * 10 + round(f.bbox.y / 180) for f in tl.faces}) >= 15

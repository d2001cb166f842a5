"""Never lose a user's files, never crash after the work is done (issue 20).

Each test reproduces one failure that a probe with bad and unusual media found, on media
generated here with ffmpeg, through the real command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emotrace.model import Timeline

CHEAP = ["--set", "stages.words.enabled=false", "-q"]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True, capture_output=True)


def analyze(cli: list[str], video: Path | str, out: Path | str, *extra: str, cwd: Path | None = None):
    return subprocess.run([*cli, "analyze", str(video), "-o", str(out), *extra], check=False, capture_output=True,
                          text=True, timeout=600, cwd=cwd)  # fmt: skip


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("emotrace: error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, speech_wav: Path) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("robust")
    m: dict[str, Path] = {}
    m["av"] = d / "av.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-i", str(speech_wav), "-t", "3",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(m["av"]))
    # a still picture (one frame) over 2.2 s of sound, and 5 s of video over 8 s of sound
    still = d / "still.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1", str(still))
    m["still"] = d / "still_audio.mp4"
    ffmpeg("-i", str(still), "-f", "lavfi", "-i", "sine=f=300:sample_rate=16000:d=2.2", "-map", "0:v", "-map", "1:a",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(m["still"]))
    m["short_video"] = d / "short_video.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:d=5.1", "-f", "lavfi",
           "-i", "sine=f=300:sample_rate=16000:d=8", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(m["short_video"]))
    # containers whose names lie: FLV (VP6) named .mp4, H.264 MP4 named .webm
    m["flv_as_mp4"] = d / "flv_named.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:d=6", "-f", "lavfi",
           "-i", "sine=f=300:sample_rate=22050:d=6", "-c:v", "flv1", "-c:a", "adpcm_swf", "-f", "flv", str(m["flv_as_mp4"]))
    m["mp4_as_webm"] = d / "mp4_named.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:d=6", "-f", "lavfi",
           "-i", "sine=f=300:sample_rate=16000:d=6", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-f", "mp4", str(m["mp4_as_webm"]))
    # a title card that BlazeFace scores ~0.55 as a face
    m["card"] = d / "card.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=0x000040:s=1280x720:d=5",
           "-vf", "drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf:"
           "text='Directed by Anna Kowalska':fontcolor=yellow:fontsize=120:x=(w-text_w)/2:y=(h-text_h)/2",
           "-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(m["card"]))  # fmt: skip
    long = d / "long.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:d=10", "-f", "lavfi",
           "-i", "sine=f=300:sample_rate=16000:d=10", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(long))
    data = long.read_bytes()
    m["cut"] = d / "cut.mkv"
    m["cut"].write_bytes(data[: len(data) // 4])
    return m


# ---- 1. --overwrite never deletes what emotrace did not write -----------------------------------
def test_overwrite_refuses_a_folder_holding_the_input(emotrace_cli, clips, tmp_path) -> None:
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    video = proj / "sub" / "video.mp4"
    video.write_bytes(clips["av"].read_bytes())
    (proj / "notes.txt").write_text("my notes")
    line = one_error_line(analyze(emotrace_cli, video, proj, "--overwrite", *CHEAP))
    assert "holds the input" in line
    assert video.is_file() and (proj / "notes.txt").read_text() == "my notes"


def test_overwrite_refuses_a_users_folder(emotrace_cli, clips, tmp_path) -> None:
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.txt").write_text("chapter 1")
    line = one_error_line(analyze(emotrace_cli, clips["av"], thesis, "--overwrite", *CHEAP))
    assert "not an emotrace result folder" in line
    assert (thesis / "thesis.txt").read_text() == "chapter 1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]  # no temporary folder left


def test_overwrite_dot_is_one_line(emotrace_cli, clips, tmp_path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    line = one_error_line(analyze(emotrace_cli, clips["av"], ".", "--overwrite", *CHEAP, cwd=tmp_path))
    assert "internal error" not in line and (tmp_path / "keep.txt").exists()


def test_empty_folder_is_used_and_results_are_replaced(emotrace_cli, clips, tmp_path) -> None:
    out = tmp_path / "made_in_advance"
    out.mkdir()
    proc = analyze(emotrace_cli, clips["av"], out, *CHEAP)
    assert proc.returncode == 0, proc.stderr
    assert (out / "timeline.json").is_file() and (out / ".emotrace-result").is_file()
    first = Timeline.load(out).provenance.created
    time.sleep(1.1)
    proc = analyze(emotrace_cli, clips["av"], out, "--overwrite", *CHEAP)
    assert proc.returncode == 0, proc.stderr
    assert Timeline.load(out).provenance.created != first


# ---- 2. a failing output step is a note, never the end of the analysis --------------------------
@pytest.mark.slow
@pytest.mark.parametrize("case", ["flv_as_mp4", "mp4_as_webm"])
def test_container_named_wrongly_keeps_the_analysis(emotrace_cli, clips, tmp_path, case) -> None:
    out = tmp_path / "result"
    proc = analyze(emotrace_cli, clips[case], out, *CHEAP, "--set", "stages.highlights.min_prominence=0")
    assert proc.returncode == 0, proc.stderr
    assert "internal error" not in proc.stderr
    tl = Timeline.load(out)
    for h in tl.highlights:
        if h.clip:  # clips get the container of the real codecs, not the input's file name
            assert (out / h.clip).is_file() and (out / h.clip).stat().st_size > 0
            assert Path(h.clip).suffix in (".flv", ".mkv", ".mp4")


def test_failed_writer_is_a_note(tmp_path, clips) -> None:
    from emotrace.config import Config
    from emotrace.io.media import probe
    from emotrace.pipeline import new_timeline
    from emotrace.report import writers

    tl = new_timeline(probe(clips["av"]), Config())

    def broken(tl: Timeline, out: Path, video: Path | None = None) -> None:
        raise ValueError("'mp4' format does not support 'vp6f' codec")

    writers.WRITERS["broken"] = broken
    try:
        done = writers.write_all(tl, tmp_path, ["json", "broken", "events"], video=clips["av"])
    finally:
        del writers.WRITERS["broken"]
    assert done == ["json", "events"]
    saved = json.loads((tmp_path / "timeline.json").read_text())
    assert any("output 'broken' not written" in w for w in saved["provenance"]["warnings"])


# ---- 3./4. truncation: judged on where the media really ends ---------------------------------
@pytest.mark.parametrize("case", ["still", "short_video"])
def test_video_shorter_than_audio_is_not_truncated(emotrace_cli, clips, tmp_path, case) -> None:
    out = tmp_path / "result"
    proc = analyze(emotrace_cli, clips[case], out, *CHEAP)
    assert proc.returncode == 0, proc.stderr
    tl = Timeline.load(out)
    assert tl.video.duration_s > 2.0


def test_truncated_file_refused_or_noted(emotrace_cli, clips, tmp_path) -> None:
    out = tmp_path / "result"
    line = one_error_line(analyze(emotrace_cli, clips["cut"], out, *CHEAP))
    assert "truncated" in line and not out.exists()
    proc = analyze(emotrace_cli, clips["cut"], out, "--tolerate-corrupt", *CHEAP)
    assert proc.returncode == 0, proc.stderr
    assert "note: truncated" in proc.stderr
    tl = Timeline.load(out)
    assert tl.video.duration_s < 5.0, tl.video.duration_s  # the real end, not the 10 s declared
    assert all(s.end_s <= tl.video.duration_s + 0.5 for s in tl.shots)
    assert any(w.startswith("truncated") for w in tl.provenance.warnings)


# ---- 8. SIGTERM / Ctrl-C: a word, and no hidden temporary folder -------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("sig", "word", "code"), [(signal.SIGTERM, "terminated", 143),
                                                    (signal.SIGINT, "interrupted", 130)])  # fmt: skip
def test_signal_leaves_nothing_behind(emotrace_cli, clips, tmp_path, sig, word, code) -> None:
    long = tmp_path / "long.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x360:rate=25:d=60", "-f", "lavfi", "-i", "sine=f=300:d=60",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(long))
    out = tmp_path / "result"
    proc = subprocess.Popen([*emotrace_cli, "analyze", str(long), "-o", str(out), "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.time() + 60
    while not list(tmp_path.glob(".result.tmp-*")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == f"emotrace: error: {word}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]


def test_stale_temporary_folder_of_a_dead_run_is_removed(emotrace_cli, clips, tmp_path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale = tmp_path / f".result.tmp-{dead.stdout.strip()}-abc123"
    stale.mkdir()
    (stale / "timeline.json").write_text("{}")
    proc = analyze(emotrace_cli, clips["av"], tmp_path / "result", *CHEAP)
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists()


# ---- 9. a title card is not a person ---------------------------------------------------------
@pytest.mark.slow
def test_title_card_is_no_person(emotrace_cli, clips, tmp_path) -> None:
    out = tmp_path / "result"
    proc = analyze(emotrace_cli, clips["card"], out, "--video-only", "-q")
    assert proc.returncode == 0, proc.stderr
    tl = Timeline.load(out)
    assert not tl.persons and not tl.faces, [(f.det_score, f.quality) for f in tl.faces[:5]]
    assert "faces: no faces found" in tl.provenance.warnings


# ---- 10. smaller points ----------------------------------------------------------------------
def test_stage_option_errors_name_the_option(emotrace_cli, clips, tmp_path) -> None:
    out = tmp_path / "result"
    line = one_error_line(analyze(emotrace_cli, clips["av"], out, "--set", "stages.faces.bogus=1"))
    assert "stages.faces.bogus" in line and "unknown option" in line and "det_threshold" in line
    line = one_error_line(analyze(emotrace_cli, clips["av"], out, "--set", "stages.describe.temprature=0"))
    assert "stages.describe.temprature" in line  # a disabled stage's options are checked too
    line = one_error_line(analyze(emotrace_cli, clips["av"], out, "--set", "stages.facez.enabled=false"))
    assert "stages.facez" in line and "unknown stage" in line
    assert not out.exists()


def test_stream_hints_fit_the_front_end(clips, tmp_path) -> None:
    from emotrace.config import Config
    from emotrace.errors import InputError
    from emotrace.io.media import probe
    from emotrace.pipeline import check_streams

    audio = tmp_path / "a.m4a"
    ffmpeg("-i", str(clips["av"]), "-vn", "-c", "copy", str(audio))
    info = probe(audio)
    msgs = {}
    check_streams(info, Config(), audio, "cli")  # the default analyses what is there
    for front in ("cli", "batch", "serve"):
        with pytest.raises(InputError) as e:
            check_streams(info, Config(require="both"), audio, front)
        msgs[front] = str(e.value)
    assert all("no video stream" in m and "--audio-only" not in m for m in msgs.values())
    assert "--require any" in msgs["cli"] and "--require any" in msgs["batch"]
    assert "emotrace serve" in msgs["serve"] and "require=any" in msgs["serve"]


def test_describe_fails_when_every_request_fails(emotrace_cli, clips, tmp_path) -> None:
    out = tmp_path / "result"
    proc = analyze(emotrace_cli, clips["av"], out, *CHEAP)
    assert proc.returncode == 0, proc.stderr
    env = {**os.environ, "EMOTRACE_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([*emotrace_cli, "describe", str(out), "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                           "--retries", "0", "--timeout", "2"], capture_output=True, text=True, env=env, timeout=120,
                          check=False)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "every describe request failed" in proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr


def test_llm_cache_is_keyed_by_endpoint(tmp_path) -> None:
    import http.server
    import threading

    from emotrace.shots.llm import ChatClient

    def server(answer: str) -> http.server.HTTPServer:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                body = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: object) -> None:
                pass

        srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return srv

    a, b = server("from A"), server("from B")
    try:
        messages = [{"role": "user", "content": "describe"}]
        ra = ChatClient(f"http://127.0.0.1:{a.server_port}/v1", "m", cache_dir=tmp_path).complete(messages)
        rb = ChatClient(f"http://127.0.0.1:{b.server_port}/v1", "m", cache_dir=tmp_path).complete(messages)
        again = ChatClient(f"http://127.0.0.1:{a.server_port}/v1", "m", cache_dir=tmp_path).complete(messages)
    finally:
        a.shutdown()
        b.shutdown()
    assert (ra.content, ra.cached) == ("from A", False)
    assert (rb.content, rb.cached) == ("from B", False)  # another endpoint: not the first one's reply
    assert (again.content, again.cached) == ("from A", True)

"""Concurrency of the run: decode-ahead thread, audio branch beside the video pass, --device."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from emotrace.config import load_config
from emotrace.errors import ConfigError, InputError
from emotrace.pipeline import analyze, check_device
from emotrace.prefetch import prefetch
from emotrace.stage import _REGISTRY, Stage, register


def _numbers(n: int, fail_at: int | None = None, log: list[int] | None = None):
    for i in range(n):
        if i == fail_at:
            raise InputError("x.mp4", f"broken at {i}")
        if log is not None:
            log.append(i)
        yield i


def test_prefetch_keeps_order_and_raises_producer_errors():
    assert list(prefetch(_numbers(50), depth=3)) == list(range(50))
    got: list[int] = []
    with pytest.raises(InputError, match="broken at 7"):
        got.extend(prefetch(_numbers(20, fail_at=7), depth=2))
    assert got == list(range(7))


def test_prefetch_stops_its_thread_when_the_consumer_stops():
    produced: list[int] = []
    before = threading.active_count()
    gen = prefetch(_numbers(10_000, log=produced), depth=2)
    assert next(gen) == 0
    gen.close()
    time.sleep(0.2)
    assert threading.active_count() == before
    assert len(produced) < 10  # stopped a few items ahead, not run to the end


@pytest.mark.slow
def test_parallel_run_gives_the_same_result_as_sequential(crema_d: Path):
    video = crema_d / "1001_DFA_ANG_XX.flv"
    off = {"stages.highlights.enabled": False}
    seq = analyze(video, config=load_config(overrides={**off, "parallel": False}))
    par = analyze(video, config=load_config(overrides={**off, "parallel": True}))
    assert len(par.faces) == len(seq.faces) > 0
    assert [f.emotion.probs for f in par.faces] == [f.emotion.probs for f in seq.faces]
    assert [(s.start_s, s.end_s, s.speaker_id) for s in par.speech] == [
        (s.start_s, s.end_s, s.speaker_id) for s in seq.speech
    ]
    assert [u.text for u in par.utterances] == [u.text for u in seq.utterances]
    assert [u.text for u in par.utterances], "no speech recognised"
    ran = {s.name for s in par.provenance.stages if s.status == "ok"}
    assert {"faces", "voice", "words", "fusion"} <= ran


class _BrokenVoice(Stage):
    """A voice plug-in that fails mid-run, as a stage can on damaged audio."""

    slot = "voice"
    backend = "test-broken"
    kind = "audio"
    needs_audio = True

    def run(self, ctx):
        time.sleep(0.5)  # fail while the video pass is still going
        raise InputError(ctx.path, "damaged audio (from the audio branch)")


@pytest.mark.slow
def test_audio_branch_error_reaches_the_caller_and_leaves_no_result(crema_d: Path, tmp_path: Path):
    register(_BrokenVoice)
    try:
        cfg = load_config(overrides={"stages.voice.backend": "test-broken", "parallel": True})
        threads = threading.active_count()
        with pytest.raises(InputError, match="damaged audio"):
            analyze(crema_d / "1001_DFA_SAD_XX.flv", tmp_path / "r", config=cfg)
    finally:
        _REGISTRY.pop(("voice", "test-broken"), None)
    assert not (tmp_path / "r").exists() and not list(tmp_path.iterdir())
    time.sleep(0.3)
    assert threading.active_count() <= threads


def test_device_cuda_without_gpu_is_a_one_line_error(crema_d: Path, tmp_path: Path, emotrace_cli):
    try:
        check_device("cuda")
    except ConfigError:
        pass
    else:
        pytest.skip("this machine has CUDA for ONNX Runtime and CTranslate2")
    proc = subprocess.run(
        [*emotrace_cli, "analyze", str(crema_d / "1001_DFA_HAP_XX.flv"), "-o", str(tmp_path / "r"), "--device", "cuda"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--device cuda:" in lines[0], proc.stderr
    assert not (tmp_path / "r").exists()

"""The runner: probe, one decode pass feeding every frames stage, audio stages, post stages.

``analyze(video)`` returns a :class:`~emotrace.model.Timeline`; ``analyze(video, out_dir)``
also writes the result folder atomically (a temporary sibling folder renamed at the end).
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

from emotrace import __version__
from emotrace.config import Config
from emotrace.errors import ConfigError, DependencyMissing, EmotraceError, InputError, OutputError
from emotrace.io.media import DecodeStats, Frame, iter_frames, probe
from emotrace.io.results import RESULT_MARKER, TMP_INFIX, is_result_folder
from emotrace.labels import LabelSpace
from emotrace.model import Provenance, StageRun, Timeline, VideoInfo
from emotrace.prefetch import prefetch
from emotrace.stage import (
    SLOT_ORDER,
    Context,
    ProgressHook,
    Stage,
    build_stage,
    check_config_stages,
    check_flow,
    null_hook,
    resolved_config,
)

__all__ = ["Context", "ProgressHook", "analyze", "null_hook", "plan_stages", "run_pipeline"]


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "emotrace": __version__}
    for dist in (
        "av", "numpy", "onnxruntime", "faster-whisper", "ctranslate2", "ai-edge-litert",
        "scenedetect-headless", "opencv-python-headless", "scikit-learn", "dlib-bin",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


# how each front end lets a user analyse what the input has (the default, require=any)
STREAM_HINTS: dict[str, str] = {
    "cli": "--require any analyses what is there",
    "batch": "--require any analyses what is there",
    "serve": "start emotrace serve with --set require=any to analyse what is there",
    "api": 'require="any" in the config analyses what is there',
}


def check_streams(
    info: VideoInfo, config: Config, path: str | os.PathLike[str] | None = None, front: str = "api"
) -> None:
    """Refuse input without the streams ``config.require`` asks for, with the hint of ``front``."""
    p = path if path is not None else info.path
    hint = STREAM_HINTS.get(front, STREAM_HINTS["api"])
    if config.require in ("both", "video") and not info.has_video:
        raise InputError(p, f"no video stream, and require={config.require} asks for one ({hint})")
    if config.require in ("both", "audio") and not info.has_audio:
        raise InputError(p, f"no audio stream, and require={config.require} asks for one ({hint})")


def check_device(device: str) -> None:
    """``cuda`` must be usable by ONNX Runtime and CTranslate2 (``auto`` falls back to the CPU)."""
    if device != "cuda":
        return
    import onnxruntime as ort

    missing = []
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        missing.append("onnxruntime has no CUDA provider (pip install 'emotrace[gpu]')")
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() == 0:
            missing.append("CTranslate2 sees no CUDA GPU")
    except Exception:  # noqa: BLE001 - a CTranslate2 without CUDA support
        missing.append("CTranslate2 sees no CUDA GPU")
    if missing:
        raise ConfigError(f"--device cuda: {'; '.join(missing)} (use --device auto to fall back to the CPU)")


def plan_stages(config: Config, info: VideoInfo, timeline: Timeline) -> list[Stage]:
    """Instantiate the enabled stages in slot order; skip unavailable ones with one message."""
    check_config_stages(config.stages)
    stages: list[Stage] = []
    for slot in SLOT_ORDER:
        sc = config.stage(slot)
        if not sc.enabled:
            continue
        st = build_stage(slot, sc.backend, sc.options())
        if st is None:
            continue  # slot not implemented in this version
        missing = st.missing_requirements()
        if missing:  # an enabled stage that this install cannot run: an error, never an empty result
            raise DependencyMissing(
                f"stage {slot} ({st.backend}) cannot run, not installed: {', '.join(missing)} "
                f"({st.how_to_install(missing)}; or --set stages.{slot}.enabled=false)"
            )
        why = None
        if st.needs_video and not info.has_video:
            why = "input has no video"
        elif st.needs_audio and not info.has_audio:
            why = "input has no audio"
        if why:
            timeline.provenance.stages.append(
                StageRun(name=slot, backend=st.backend, status="skipped", message=why)
            )
            timeline.provenance.warnings.append(f"stage {slot} ({st.backend}) skipped: {why}")
            continue
        stages.append(st)
    stages, skipped = check_flow(stages)
    defaults = Config()
    for sk in skipped:
        st = sk.stage
        why = f"needs {' and '.join(sk.missing)}, which no enabled stage writes"
        timeline.provenance.stages.append(StageRun(name=st.slot, backend=st.backend, status="skipped", message=why))
        if not defaults.stage(st.slot).enabled:  # an opt-in stage the user turned on: say so
            timeline.provenance.warnings.append(f"stage {st.slot} ({st.backend}) skipped: {why}")
    return stages


def run_pipeline(ctx: Context, stages: list[Stage]) -> None:
    tl = ctx.timeline
    timings: dict[str, float] = {}
    active: list[Stage] = []
    for st in stages:
        t0 = time.perf_counter()
        try:
            st.setup(ctx)
        except DependencyMissing as e:  # a model or library the install lacks: say what, and stop
            for done in active:
                try:
                    done.close(ctx)
                except Exception:  # noqa: BLE001, S110 - cleanup must not hide the real error
                    pass
            raise DependencyMissing(
                f"stage {st.slot} ({st.backend}) cannot run: {e} (or --set stages.{st.slot}.enabled=false)"
            ) from None
        timings[st.slot] = time.perf_counter() - t0
        active.append(st)

    frame_stages = [s for s in active if s.kind == "frames"] if ctx.info.has_video else []
    audio_stages = [s for s in active if s.kind == "audio"]
    later = [s for s in active if s.kind not in ("frames", "audio")]
    branch: _Branch | None = None
    try:
        if frame_stages and audio_stages and ctx.config.parallel:
            # the audio branch (voice, then words) runs beside the video pass; both spend their
            # time in native code that releases the GIL
            branch = _Branch(ctx, audio_stages)
            branch.start()
        else:
            later = [s for s in active if s.kind != "frames"]
        if frame_stages:
            _frame_pass(ctx, frame_stages, timings)
        if branch is not None:
            branch.result(timings)
            branch = None
        for st in later:
            _run_stage(ctx, st, timings)
    finally:
        if branch is not None:  # the video pass failed: stop the audio branch at its next stage
            branch.cancel()
        for st in active:
            try:
                st.close(ctx)
            except Exception:  # noqa: BLE001, S110 - cleanup must not hide the run's own error
                pass

    if "decode" in timings:
        tl.provenance.stages.append(
            StageRun(name="decode", backend="pyav", status="ok", seconds=round(timings["decode"], 4))
        )
    for st in active:
        tl.provenance.stages.append(
            StageRun(name=st.slot, backend=st.backend, status="ok", seconds=round(timings.get(st.slot, 0.0), 4))
        )


def _run_stage(ctx: Context, st: Stage, timings: dict[str, float]) -> None:
    t0 = time.perf_counter()
    ctx.hook(st.slot, 0, 1)
    st.run(ctx)
    ctx.hook(st.slot, 1, 1)
    timings[st.slot] = timings.get(st.slot, 0.0) + time.perf_counter() - t0


class _Branch:
    """Stages run one after another in a worker thread; errors come back through :meth:`result`."""

    def __init__(self, ctx: Context, stages: list[Stage]):
        self.ctx = ctx
        self.stages = stages
        self.timings: dict[str, float] = {}
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._work, name="emotrace-audio", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _work(self) -> None:
        try:
            for st in self.stages:
                if self._cancel.is_set():
                    return
                _run_stage(self.ctx, st, self.timings)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = e

    def cancel(self) -> None:
        self._cancel.set()
        self._thread.join()

    def result(self, timings: dict[str, float]) -> None:
        self._thread.join()
        timings.update(self.timings)
        if self.error is not None:
            raise self.error


def _frame_pass(ctx: Context, stages: list[Stage], timings: dict[str, float]) -> None:
    rates = [s.fps(ctx) for s in stages]
    decode_fps = None if any(r is None for r in rates) else max(r for r in rates if r is not None)
    steps = {id(s): (1.0 / r if r else 0.0) for s, r in zip(stages, rates, strict=True)}
    next_t = {id(s): 0.0 for s in stages}
    stats = DecodeStats()
    duration = ctx.info.duration_s or None
    t_decode = time.perf_counter()
    spent = dict.fromkeys((s.slot for s in stages), 0.0)
    prep_spent = dict.fromkeys((s.slot for s in stages), 0.0)
    preparing = [s for s in stages if type(s).prepare_frame is not Stage.prepare_frame]
    last_report = 0.0

    def schedule(frames: Iterator[Frame]) -> Iterator[tuple[Frame, list[Stage]]]:
        """Which stages take each frame (their own sampling rates), with their prepare step done."""
        for frame in frames:
            wanted = []
            for st in stages:
                step = steps[id(st)]
                if step == 0.0 or frame.time_s + 1e-6 >= next_t[id(st)]:
                    if step:
                        next_t[id(st)] = (np.floor(frame.time_s / step + 1e-6) + 1) * step
                    wanted.append(st)
            for st in preparing:
                if st in wanted:
                    t0 = time.perf_counter()
                    frame.prepared[st.slot] = st.prepare_frame(ctx, frame)
                    prep_spent[st.slot] += time.perf_counter() - t0
            yield frame, wanted

    decoded = iter_frames(
        ctx.path, fps=decode_fps, info=ctx.info, tolerate_corrupt=ctx.config.tolerate_corrupt, stats=stats
    )
    items = schedule(decoded)
    if ctx.config.parallel:
        # decoding, pixel conversion and the stages' prepare steps run a few frames ahead
        items = prefetch(items, depth=4, name="emotrace-decode")
    try:
        for frame, wanted in items:
            for st in wanted:
                t0 = time.perf_counter()
                st.process_frame(ctx, frame)
                spent[st.slot] += time.perf_counter() - t0
            frame.prepared.clear()
            if frame.time_s - last_report >= 0.5:
                ctx.hook("frames", frame.time_s, duration)
                last_report = frame.time_s
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
    if stats.decoded == 0:
        raise InputError(ctx.path, "no decodable video frames")
    if duration:
        _check_truncation(ctx, stats, duration)
    if stats.errors:
        ctx.warn(f"{stats.errors} damaged video packets skipped")
    ctx.hook("frames", duration, duration)
    decode_total = time.perf_counter() - t_decode
    for st in stages:
        t0 = time.perf_counter()
        st.finish(ctx)
        busy = spent[st.slot] + prep_spent[st.slot]  # prepare steps may overlap the others
        timings[st.slot] = timings.get(st.slot, 0.0) + busy + time.perf_counter() - t0
    # time the frame loop waited for decoded frames (all of decoding when not parallel)
    timings["decode"] = max(0.0, decode_total - sum(spent.values()) - (0.0 if ctx.config.parallel else sum(prep_spent.values())))


def _check_truncation(ctx: Context, stats: DecodeStats, declared: float) -> None:
    """Compare where the media really ends (last video frame or audio packet, whichever is
    later) with the duration the container declares: a shorter video track over full-length
    audio is valid; media that stops early everywhere is truncated. Truncated input is refused,
    or with ``tolerate_corrupt`` analysed up to where it ends, with a note, and the result's
    duration is the real one."""
    frame_s = 1.0 / ctx.info.fps if ctx.info.fps else 0.04
    media_end = max(stats.last_time_s + frame_s, stats.audio_end_s)
    expected_end = declared - max(2.0 * frame_s, 0.25)
    if media_end >= expected_end * 0.9 - 0.5:
        return
    msg = f"truncated: media ends at {media_end:.1f} s of {declared:.1f} s declared"
    if not ctx.config.tolerate_corrupt:
        raise InputError(ctx.path, f"{msg} (use --tolerate-corrupt to analyse what is there)")
    ctx.warn(f"{msg}; analysed the first {media_end:.1f} s")
    real = round(media_end, 6)
    ctx.info.duration_s = real
    ctx.timeline.video.duration_s = real


def new_timeline(info: VideoInfo, config: Config) -> Timeline:
    return Timeline(
        video=info,
        labels=list(LabelSpace(config.labels.merges).labels),
        provenance=Provenance(
            emotrace_version=__version__,
            created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            config=resolved_config(config).model_dump(mode="json"),
            versions=_versions(),
        ),
    )


def _holds(folder: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def remove_stale_tmp(parent: Path, name: str) -> None:
    """Remove temporary result folders of ``name`` whose writer process is gone (killed runs)."""
    for tmp in parent.glob(f".{name}{TMP_INFIX}*"):
        pid = tmp.name[len(f".{name}{TMP_INFIX}") :].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still running: another analysis writing the same result
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_output(
    out_dir: str | os.PathLike[str], overwrite: bool, inputs: tuple[str | os.PathLike[str], ...] = ()
) -> tuple[Path, Path]:
    """Check the output folder and make a temporary sibling to write into.

    An existing folder is used when it is empty, or replaced with ``overwrite`` when emotrace
    wrote it (:func:`is_result_folder`) and it does not hold one of ``inputs``; anything else
    is refused, so that ``--overwrite`` can never delete a user's files.
    """
    out = Path(os.path.abspath(out_dir))  # "." and "sub/.." get a real name
    if out.exists() and not out.is_dir():
        raise OutputError(out_dir, "exists and is not a folder")
    if out.exists():
        for src in inputs:
            if _holds(out, Path(src)):
                raise OutputError(out_dir, "output folder holds the input file; choose another -o")
        try:
            empty = not any(out.iterdir())
        except OSError as e:
            raise OutputError(out_dir, f"cannot read output folder ({e.strerror or e})") from None
        if not empty:
            if not overwrite:
                raise OutputError(out_dir, "output folder exists (use --overwrite to replace it)")
            if not is_result_folder(out):
                raise OutputError(
                    out_dir,
                    "not an emotrace result folder, so --overwrite will not replace it "
                    "(remove it yourself or choose another -o)",
                )
        if out == Path(os.path.abspath(os.curdir)) or _holds(out, Path(os.curdir)):
            raise OutputError(out_dir, "output folder is the current folder or holds it; choose another -o")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise OutputError(out, f"cannot create output folder ({parent.name} is not a folder)")
    if not parent.exists():
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(parent, f"cannot create output folder ({e.strerror or e})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(out, "output location is not writable")
    remove_stale_tmp(parent, out.name)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{TMP_INFIX}{os.getpid()}-", dir=parent))
    except OSError as e:
        raise OutputError(out, f"output location is not writable ({e.strerror or e})") from None
    (tmp / RESULT_MARKER).write_text(f"emotrace {__version__} result folder\n", encoding="utf-8")
    return out, tmp


def commit_output(tmp: Path, out: Path) -> None:
    """Atomically put the finished result folder in place (an empty folder is replaced too)."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def analyze(
    video: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    config: Config | None = None,
    hook: ProgressHook | None = None,
    overwrite: bool = False,
    formats: list[str] | None = None,
    front: str = "api",
) -> Timeline:
    """Analyse one video; write the result folder when ``out_dir`` is given.

    ``front`` (``api``, ``cli``, ``batch``, ``serve``) words the hints of input errors in the
    caller's terms."""
    config = config or Config()
    hook = hook or null_hook
    check_device(config.device)
    info = probe(video)
    check_streams(info, config, video, front)
    out = tmp = None
    if out_dir is not None:
        out, tmp = prepare_output(out_dir, overwrite, inputs=(video,))
    try:
        t_start = time.perf_counter()
        timeline = new_timeline(info, config)
        ctx = Context(Path(video), info, config, timeline, tmp, hook)
        stages = plan_stages(config, info, timeline)
        ctx.declare(stages)
        run_pipeline(ctx, stages)
        timeline.provenance.models = list(ctx._models.values())
        timeline.provenance.stages.append(
            StageRun(name="total", backend="-", status="ok", seconds=round(time.perf_counter() - t_start, 4))
        )
        if out is not None and tmp is not None:
            from emotrace.report.writers import write_all

            hook("write", 0, 1)
            write_all(timeline, tmp, formats or config.outputs.formats, video=Path(video))
            hook("write", 1, 1)
            commit_output(tmp, out)
            tmp = None
        return timeline
    except EmotraceError:
        raise
    except MemoryError:
        raise EmotraceError(f"{video}: out of memory while analysing") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def progress_hook_from_callable(fn: Callable[[str, float | None, float | None], None]) -> ProgressHook:
    return fn  # type: ignore[return-value]  # a plain callable satisfies the ProgressHook call protocol

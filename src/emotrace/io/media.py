"""Streaming media input on PyAV: probing, sampled frames, 16 kHz mono audio.

Frames are decoded strictly in order (no seeking) and handed out at a target rate; memory
stays flat in video length because nothing is kept between frames unless a consumer keeps it.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from emotrace.errors import InputError
from emotrace.model import VideoInfo

SAMPLE_RATE = 16000



def _short(err: BaseException) -> str:
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    # PyAV messages look like "[Errno 1094995529] Invalid data found when processing input: 'x.mp4'"
    if "] " in msg and msg.startswith("[Errno"):
        msg = msg.split("] ", 1)[1]
    if ": '" in msg:
        msg = msg.split(": '", 1)[0]
    return msg


def check_file(path: str | os.PathLike[str]) -> Path:
    """Basic file checks with one-line errors (missing, directory, empty, unreadable)."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    if p.is_dir():
        raise InputError(p, "is a directory, expected a video or audio file")
    if not p.is_file():
        raise InputError(p, "is not a regular file")
    if p.stat().st_size == 0:
        raise InputError(p, "empty file (0 bytes)")
    if not os.access(p, os.R_OK):
        raise InputError(p, "permission denied")
    return p


def _open(p: Path) -> av.container.InputContainer:
    try:
        return av.open(str(p), metadata_errors="ignore")
    except av.error.FileNotFoundError:
        raise InputError(p, "file not found") from None
    except (av.error.InvalidDataError, av.error.EOFError) as e:
        raise InputError(p, f"not a readable video or audio file ({_short(e)})") from None
    except av.error.FFmpegError as e:
        raise InputError(p, f"cannot open media ({_short(e)})") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(p, f"cannot open media ({_short(e)})") from None


def _rotation(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    """Display rotation, counter-clockwise degrees in [0, 360), from the first frame's display matrix."""
    rot = 0
    try:
        for frame in container.decode(stream):
            rot = round(getattr(frame, "rotation", 0) or 0)
            break
    except (av.error.FFmpegError, ValueError):
        rot = 0
    if not rot:
        try:  # older muxers: "rotate" tag, clockwise degrees
            tag = stream.metadata.get("rotate")
            rot = -int(float(tag)) if tag is not None else 0
        except (TypeError, ValueError):
            rot = 0
    return int(rot) % 360


def probe(path: str | os.PathLike[str], hash_file: bool = False) -> VideoInfo:
    """Read container metadata. Raises :class:`InputError` on anything unusable."""
    p = check_file(path)
    with _open(p) as c:
        vs = c.streams.video[0] if c.streams.video else None
        if vs is not None and vs.codec_context is not None and vs.codec_context.width == 0:
            vs = None  # attached pictures without size
        aus = c.streams.audio[0] if c.streams.audio else None
        if vs is None and aus is None:
            raise InputError(p, "no video or audio stream")
        duration = 0.0
        if c.duration:
            duration = c.duration / av.time_base
        for s in (vs, aus):
            if s is not None and s.duration and s.time_base:
                duration = max(duration, float(s.duration * s.time_base))
        fps = None
        vfr = False
        rotation = 0
        n_frames = None
        if vs is not None:
            avg = vs.average_rate or vs.guessed_rate
            fps = float(avg) if avg else None
            base = vs.base_rate or vs.guessed_rate
            if avg and base and abs(float(avg) - float(base)) / float(base) > 0.01:
                vfr = True
            rotation = _rotation(c, vs)
            n_frames = int(vs.frames) if vs.frames else (round(duration * fps) if fps else None)
            if getattr(vs, "attached_pic", False) or (vs.disposition and "attached_pic" in str(vs.disposition)):
                vs = None
        info = VideoInfo(
            path=str(p.resolve()),
            size_bytes=p.stat().st_size,
            sha256=file_sha256(p) if hash_file else None,
            container=c.format.name,
            duration_s=round(duration, 6),
            has_video=vs is not None,
            has_audio=aus is not None,
            width=(vs.codec_context.width if vs is not None else None),
            height=(vs.codec_context.height if vs is not None else None),
            fps=fps if vs is not None else None,
            variable_frame_rate=vfr,
            rotation=rotation if vs is not None else 0,
            n_frames=n_frames if vs is not None else None,
            video_codec=(vs.codec_context.name if vs is not None else None),
            audio_codec=(aus.codec_context.name if aus is not None else None),
            audio_sample_rate=(aus.codec_context.sample_rate if aus is not None else None),
            audio_channels=(aus.codec_context.channels if aus is not None else None),
        )
    if info.rotation in (90, 270) and info.width and info.height:
        info = info.model_copy(update={"width": info.height, "height": info.width})
    if info.has_video and info.duration_s <= 0 and not info.has_audio:
        raise InputError(p, "video stream has no duration (no decodable frames)")
    return info


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(chunk):
            h.update(b)
    return h.hexdigest()


@dataclass
class Frame:
    """One decoded frame; pixel conversions are done on demand and cached."""

    index: int
    time_s: float
    av_frame: av.VideoFrame
    rotation: int = 0
    # Stage.prepare_frame results by slot, each read back only by the stage that made it
    prepared: dict[str, Any] = field(default_factory=dict, repr=False)
    _cache: dict[tuple[str, int | None], np.ndarray] = field(default_factory=dict, repr=False)

    def _rotate(self, arr: np.ndarray) -> np.ndarray:
        k = (self.rotation // 90) % 4  # rotation is counter-clockwise, as np.rot90
        return np.ascontiguousarray(np.rot90(arr, k=k)) if k else arr

    def _convert(self, fmt: str, max_side: int | None) -> np.ndarray:
        f = self.av_frame
        if max_side and max(f.width, f.height) <= max_side:
            max_side = None  # no downscaling: one cache entry
        key = (fmt, max_side)
        if key not in self._cache:
            w, h = f.width, f.height
            if max_side:
                s = max_side / max(w, h)
                w, h = max(2, round(w * s)), max(2, round(h * s))
            arr = self._rgb_fast(w, h) if fmt == "rgb24" else None
            if arr is None:
                arr = f.reformat(width=w, height=h, format=fmt).to_ndarray()
            self._cache[key] = self._rotate(arr)
        return self._cache[key]

    def _rgb_fast(self, w: int, h: int) -> np.ndarray | None:
        """RGB of a yuv420p frame with OpenCV: one full-size conversion, then area downscales
        (3-4x cheaper than a swscale pass per size); ``None`` where OpenCV can't do it."""
        f = self.av_frame
        cv2 = _opencv()
        if cv2 is None or f.format.name != "yuv420p" or f.width % 2 or f.height % 2:
            return None
        full = self._cache.get(("_rgb_unrotated", None))
        if full is None:
            full = cv2.cvtColor(f.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
            self._cache[("_rgb_unrotated", None)] = full
        if (w, h) == (f.width, f.height):
            return full
        return cv2.resize(full, (w, h), interpolation=cv2.INTER_AREA)

    def rgb(self, max_side: int | None = None) -> np.ndarray:
        """(H, W, 3) uint8 RGB, display-rotated, optionally downscaled to ``max_side``."""
        return self._convert("rgb24", max_side)

    def gray(self, max_side: int | None = None) -> np.ndarray:
        """(H, W) uint8 luma, display-rotated."""
        return self._convert("gray", max_side)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) after rotation."""
        w, h = self.av_frame.width, self.av_frame.height
        return (h, w) if self.rotation in (90, 270) else (w, h)


_CV2: list[object] = []


def _opencv() -> Any:
    """OpenCV, imported on first use (``None`` when not installed)."""
    if not _CV2:
        try:
            import cv2

            _CV2.append(cv2)
        except ImportError:  # pragma: no cover - opencv is a core dependency
            _CV2.append(None)
    return _CV2[0]


def time_base(stream: av.stream.Stream) -> Fraction:
    """A stream's time base (FFmpeg sets one on every stream it opens)."""
    tb = stream.time_base
    assert tb is not None, f"stream {stream.index} has no time base"
    return tb


class DecodeStats:
    def __init__(self) -> None:
        self.decoded = 0
        self.errors = 0
        self.last_time_s = 0.0  # last decoded video frame
        self.audio_end_s = 0.0  # end of the last audio packet read beside the video (not decoded)
        self.first_error_s: float | None = None


def iter_frames(
    path: str | os.PathLike[str],
    fps: float | None = None,
    info: VideoInfo | None = None,
    tolerate_corrupt: bool = False,
    stats: DecodeStats | None = None,
    threads: int = 0,
) -> Iterator[Frame]:
    """Decode in order and yield frames sampled at ``fps`` (``None``: every frame).

    A frame is yielded when its timestamp reaches the next sampling instant, so variable
    frame rate input is sampled on its real timestamps. Corrupt data raises
    :class:`InputError` unless ``tolerate_corrupt`` (then it is counted in ``stats``).
    """
    p = Path(path)
    info = info or probe(p)
    stats = stats or DecodeStats()
    if not info.has_video:
        return
    with _open(p) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        if threads:
            vs.codec_context.thread_count = threads
        tb = time_base(vs)
        start = float(vs.start_time * tb) if vs.start_time is not None else 0.0
        step = (1.0 / fps) if fps else 0.0
        next_t = 0.0
        decoded = 0
        seen_key = False
        # audio packets are read too (not decoded) so that the end of the media is known: a
        # video track may rightly end before the audio (a still picture over speech)
        aus = c.streams.audio[0] if c.streams.audio else None
        a_start = float(aus.start_time * time_base(aus)) if aus is not None and aus.start_time is not None else start
        demux = c.demux([vs, aus] if aus is not None else vs)
        while True:
            try:
                packet = next(demux)
                if aus is not None and packet.stream.index == aus.index:
                    if packet.pts is not None and packet.time_base is not None:
                        end = float((packet.pts + (packet.duration or 0)) * packet.time_base) - a_start
                        stats.audio_end_s = max(stats.audio_end_s, end)
                    continue
            except StopIteration:
                break
            except av.error.FFmpegError as e:
                if not tolerate_corrupt:
                    raise InputError(p, f"corrupt or truncated media near {stats.last_time_s:.1f} s ({_short(e)})") from None
                stats.errors += 1
                break
            try:
                frames = packet.decode()
            except av.error.FFmpegError as e:
                stats.errors += 1
                if stats.first_error_s is None:
                    stats.first_error_s = stats.last_time_s
                if not tolerate_corrupt:
                    raise InputError(
                        p, f"corrupt video data near {stats.last_time_s:.1f} s ({_short(e)}); "
                        "use --tolerate-corrupt to skip damaged frames"
                    ) from None
                continue
            for frame in frames:
                if not isinstance(frame, av.VideoFrame):
                    continue
                if frame.key_frame:
                    seen_key = True
                if frame.is_corrupt and seen_key:
                    stats.errors += 1
                    if stats.first_error_s is None:
                        stats.first_error_s = stats.last_time_s
                    if not tolerate_corrupt:
                        raise InputError(
                            p, f"corrupt video data near {stats.last_time_s:.1f} s (damaged frame); "
                            "use --tolerate-corrupt to skip damaged frames"
                        )
                    continue
                if frame.pts is not None:
                    t = float(frame.pts * tb) - start
                elif info.fps:
                    t = decoded / info.fps
                else:
                    t = stats.last_time_s
                decoded += 1
                stats.decoded = decoded
                stats.last_time_s = max(stats.last_time_s, t)
                if fps is None or t + 1e-6 >= next_t:
                    if fps:
                        next_t = (math.floor(t / step + 1e-6) + 1) * step
                    yield Frame(index=decoded - 1, time_s=max(0.0, t), av_frame=frame, rotation=info.rotation)


def iter_audio(
    path: str | os.PathLike[str],
    chunk_s: float = 30.0,
    info: VideoInfo | None = None,
    tolerate_corrupt: bool = False,
    sample_rate: int = SAMPLE_RATE,
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(start_s, samples)`` chunks of mono float32 audio at ``sample_rate``."""
    p = Path(path)
    info = info or probe(p)
    if not info.has_audio:
        return
    chunk = int(chunk_s * sample_rate)
    with _open(p) as c:
        st = c.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        buf: list[np.ndarray] = []
        have = 0
        emitted = 0

        def frames() -> Iterator[av.AudioFrame | None]:
            demux = c.demux(st)
            while True:
                try:
                    packet = next(demux)
                except StopIteration:
                    break
                except av.error.FFmpegError as e:
                    if not tolerate_corrupt:
                        raise InputError(p, f"corrupt or truncated audio ({_short(e)})") from None
                    break
                try:
                    yield from packet.decode()
                except av.error.FFmpegError as e:
                    if not tolerate_corrupt:
                        raise InputError(
                            p, f"corrupt audio data near {emitted / sample_rate:.1f} s ({_short(e)}); "
                            "use --tolerate-corrupt to skip it"
                        ) from None
            yield None  # flush marker

        for fr in frames():
            for out in resampler.resample(fr):
                a = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                buf.append(a)
                have += a.size
                while have >= chunk:
                    cat = np.concatenate(buf)
                    yield emitted / sample_rate, cat[:chunk].copy()
                    emitted += chunk
                    rest = cat[chunk:]
                    buf = [rest] if rest.size else []
                    have = rest.size
        if have:
            yield emitted / sample_rate, np.concatenate(buf)


def load_audio(path: str | os.PathLike[str], info: VideoInfo | None = None, **kw: object) -> np.ndarray:
    """Whole audio track as one mono float32 array at 16 kHz (empty if there is none)."""
    parts = [a for _, a in iter_audio(path, info=info, **kw)]  # type: ignore[arg-type]  # keyword options pass through unchanged
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def fraction(x: float) -> Fraction:
    return Fraction(x).limit_denominator(1001)

"""Highlight clips and reels by stream copy (PyAV remux, no re-encoding).

Without re-encoding a cut can only start on a key frame, so each segment starts at the last
key frame at or before its requested start; it ends at the first packet past its end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import av

from emotrace.errors import InputError, OutputError
from emotrace.io.media import time_base


def remux_segments(src: str | Path, dst: str | Path, segments: Sequence[tuple[float, float]]) -> float:
    """Copy the ``(start, end)`` segments of ``src`` back to back into ``dst`` (first video
    and first audio stream). Returns the duration written, in seconds."""
    src, dst = Path(src), Path(dst)
    with _open(src) as probe:
        templates = [s for s in (next(iter(probe.streams.video), None), next(iter(probe.streams.audio), None)) if s]
        if not templates:
            raise InputError(src, "no audio or video stream to export")
        try:
            out = av.open(str(dst), "w")
        except (av.error.FFmpegError, ValueError) as e:
            raise OutputError(dst, f"cannot write clip ({e})") from None
        with out:
            omap = {s.index: out.add_stream_from_template(s, opaque=True) for s in templates}
            last_dts: dict[int, int] = {}
            offset = 0.0
            for start, end in segments:
                offset = _copy_segment(src, out, [s.index for s in templates], omap, last_dts, start, end, offset)
    return offset


def _open(src: Path) -> av.container.InputContainer:
    try:
        return av.open(str(src))
    except av.error.FFmpegError as e:
        raise InputError(src, f"cannot open for clip export ({e})") from None


def _keyframe_before(src: Path, index: int, t: float) -> float:
    """Time of the last key frame at or before ``t`` (sequential scan, no decoding)."""
    best = 0.0
    with _open(src) as inp:
        for pkt in inp.demux(inp.streams[index]):
            if pkt.dts is None or pkt.time_base is None:
                continue
            pt = float(pkt.dts * pkt.time_base)
            if pt > t:
                break
            if pkt.is_keyframe:
                best = pt
    return best


def _copy_segment(
    src: Path,
    out: av.container.OutputContainer,
    indices: list[int],
    omap: Mapping[int, av.stream.Stream],
    last_dts: dict[int, int],
    start: float,
    end: float,
    offset: float,
) -> float:
    """Copy one segment with timestamps shifted to ``offset``; returns the new end time."""
    inp = _open(src)
    with inp:
        primary = inp.streams[indices[0]]
        not_before = -1.0
        try:
            inp.seek(max(0, int(start / time_base(primary))), stream=primary, backward=True, any_frame=False)
        except av.error.FFmpegError:  # some containers refuse seeking (e.g. to 0 in FLV): scan instead
            not_before = _keyframe_before(src, indices[0], start)
            inp.close()
            inp = _open(src)
            primary = inp.streams[indices[0]]
        seg_start: float | None = None
        seg_end = offset
        for pkt in inp.demux([inp.streams[i] for i in indices]):
            if pkt.dts is None or pkt.time_base is None:
                continue
            t = float(pkt.dts * pkt.time_base)
            if seg_start is None:
                if pkt.stream.index != primary.index or not pkt.is_keyframe or t < not_before - 1e-6:
                    continue
                seg_start = t
            if t < seg_start:
                continue
            if t >= end:
                if pkt.stream.index == primary.index:
                    break
                continue
            shift = round((offset - seg_start) / pkt.time_base)
            dts = pkt.dts + shift
            prev = last_dts.get(pkt.stream.index)
            if prev is not None and dts <= prev:
                continue
            pkt.dts = dts
            if pkt.pts is not None:
                pkt.pts = max(pkt.pts + shift, dts)
            last_dts[pkt.stream.index] = dts
            dur = float(pkt.duration * pkt.time_base) if pkt.duration else 0.0
            seg_end = max(seg_end, offset + (t - seg_start) + dur)
            pkt.stream = omap[pkt.stream.index]
            out.mux(pkt)
    inp.close()
    return seg_end


def export_highlights(
    src: str | Path, out_dir: str | Path, segments: Sequence[tuple[float, float]], reel: bool = True
) -> tuple[list[Path], Path | None]:
    """One clip per segment (``clip_01.<ext>``...) and, with ``reel``, ``reel.<ext>``."""
    src, out_dir = Path(src), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exts = clip_extensions(src)
    clips = []
    for k, seg in enumerate(segments, 1):
        clips.append(_remux_any(src, out_dir, f"clip_{k:02d}", exts, [seg]))
    reel_path = None
    if reel and segments:
        reel_path = _remux_any(src, out_dir, "reel", exts, sorted(segments))
    return clips, reel_path


# container (as FFmpeg names the demuxer) -> extension whose muxer takes the same codecs
_CONTAINER_EXT = {"mov": ".mp4", "mp4": ".mp4", "matroska": ".mkv", "webm": ".mkv", "flv": ".flv",
                  "avi": ".avi", "mpegts": ".ts", "mpeg": ".mpg", "asf": ".wmv", "ogg": ".ogg"}  # fmt: skip


def clip_extensions(src: Path) -> list[str]:
    """Extensions to try for stream-copied clips of ``src``: the one of its real container
    (never its file name, which may lie), then Matroska, which takes almost any codec."""
    with _open(src) as probe:
        names = probe.format.name.split(",")
    exts = [_CONTAINER_EXT[n] for n in names if n in _CONTAINER_EXT][:1]
    return list(dict.fromkeys([*exts, ".mkv"]))


def _remux_any(src: Path, out_dir: Path, stem: str, exts: list[str], segments: Sequence[tuple[float, float]]) -> Path:
    """Remux into the first container of ``exts`` that accepts the streams."""
    last: Exception | None = None
    for ext in exts:
        path = out_dir / f"{stem}{ext}"
        try:
            remux_segments(src, path, segments)
            return path
        except (ValueError, av.error.FFmpegError, OutputError) as e:  # the muxer refuses a codec
            path.unlink(missing_ok=True)
            last = e
    raise OutputError(out_dir / stem, f"no container takes these streams ({last})")

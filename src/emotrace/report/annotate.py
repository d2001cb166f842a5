"""Annotated video (``annotated.mp4``): face boxes, person ids, top emotion with a probability bar,
current speaker and utterance emotion; H.264 via PyAV with the original audio kept.

The source is decoded once, in order. Audio packets are copied without re-encoding when the
codec fits in MP4 (AAC, MP3, Opus...), otherwise re-encoded to AAC; they are interleaved with
the video as it is written.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from emotrace.errors import OutputError
from emotrace.io.media import iter_frames, probe, time_base
from emotrace.model import FaceObservation, Timeline, Utterance
from emotrace.report.series import label_colour, speaker_key

MP4_AUDIO_COPY = {"aac", "mp3", "opus", "alac", "flac", "ac3", "eac3"}


class FaceIndex:
    """Face observations grouped by sample time; ``at(t)`` gives the boxes to draw at ``t``."""

    def __init__(self, faces: list[FaceObservation]):
        groups: dict[float, list[FaceObservation]] = {}
        for f in faces:
            groups.setdefault(f.time_s, []).append(f)
        self.times = sorted(groups)
        self.groups = [groups[t] for t in self.times]
        gaps = np.diff(self.times) if len(self.times) > 1 else np.array([0.2])
        self.hold = float(min(1.0, 1.5 * np.median(gaps))) if len(gaps) else 0.3

    def at(self, t: float) -> list[FaceObservation]:
        i = bisect.bisect_right(self.times, t + 1e-3) - 1
        if i < 0 or t - self.times[i] > self.hold:
            return []
        return self.groups[i]


def _active(segs: list[Utterance] | list, t: float):
    for s in segs:
        if s.start_s <= t < s.end_s:
            return s
    return None


class Painter:
    """Draws one frame's overlay with Pillow."""

    def __init__(self, tl: Timeline, height: int):
        self.tl = tl
        self.size = max(12, height // 28)
        self.font = ImageFont.load_default(size=self.size)
        self.small = ImageFont.load_default(size=max(10, int(self.size * 0.8)))
        self.faces = FaceIndex(tl.faces)
        self.speech = sorted(tl.speech, key=lambda s: s.start_s)
        self.utterances = sorted(tl.utterances, key=lambda u: u.start_s)

    def draw(self, img: Image.Image, t: float) -> None:
        d = ImageDraw.Draw(img, "RGBA")
        for f in self.faces.at(t):
            self._face(d, f)
        self._banner(d, img.size, t)

    def _face(self, d: ImageDraw.ImageDraw, f: FaceObservation) -> None:
        s = f.smoothed or f.emotion
        label = s.label if s is not None and s.probs else None
        colour = label_colour(label, self.tl.labels)
        b = f.bbox
        d.rectangle([b.x, b.y, b.x + b.w, b.y + b.h], outline=colour, width=max(2, self.size // 6))
        who = f.person_id or (f"T{f.track_id}" if f.track_id is not None else "?")
        text = f"{who} {label} {s.confidence:.0%}" if s is not None and label else who
        tw = d.textlength(text, font=self.font)
        y0 = max(0.0, b.y - self.size * 1.9)
        d.rectangle([b.x, y0, b.x + max(tw + 6, b.w), y0 + self.size * 1.9], fill=(0, 0, 0, 150))
        d.text((b.x + 3, y0 + 1), text, fill="white", font=self.font)
        if s is not None and label:
            bar_y = y0 + self.size * 1.35
            width = max(tw + 6, b.w) - 6
            d.rectangle([b.x + 3, bar_y, b.x + 3 + width, bar_y + self.size * 0.4], fill=(255, 255, 255, 70))
            d.rectangle([b.x + 3, bar_y, b.x + 3 + width * s.confidence, bar_y + self.size * 0.4], fill=colour)

    def _banner(self, d: ImageDraw.ImageDraw, size: tuple[int, int], t: float) -> None:
        seg = _active(self.speech, t)
        utt = _active(self.utterances, t)
        if seg is None and utt is None:
            return
        parts = []
        if seg is not None:
            who = speaker_key(self.tl, seg.person_id, seg.speaker_id)
            em = seg.emotion
            parts.append(f"speaking: {who}" + (f" (voice {em.label} {em.confidence:.0%})" if em and em.probs else ""))
        colour = "#cccccc"
        if utt is not None:
            em = utt.emotion
            if em and em.probs:
                parts.append(f"words {em.label} {em.confidence:.0%}")
                colour = label_colour(em.label, self.tl.labels)
        w, h = size
        lines = [" · ".join(parts)]
        if utt is not None and utt.text.strip():
            text = utt.text.strip()
            limit = max(20, int(w / (self.size * 0.55)))
            lines.append(text if len(text) <= limit else text[: limit - 1] + "…")
        top = h - (len(lines) * self.size * 1.35 + 8)
        d.rectangle([0, top, w, h], fill=(0, 0, 0, 160))
        d.rectangle([0, top, 6, h], fill=colour)
        for k, line in enumerate(lines):
            d.text((12, top + 4 + k * self.size * 1.35), line, fill="white", font=self.font if k else self.small)


def _audio_packets(video: Path, v_start: float, out: av.container.OutputContainer) -> Iterator[av.Packet] | None:
    """Yield the source audio as packets for ``out``'s new audio stream (copied or re-encoded)."""
    src = av.open(str(video))
    if not src.streams.audio:
        src.close()
        return None
    ins = src.streams.audio[0]
    if ins.codec_context.codec.canonical_name in MP4_AUDIO_COPY:
        ost = out.add_stream_from_template(ins)
        shift = round(v_start / float(time_base(ins)))

        def copy() -> Iterator[av.Packet]:
            with src:
                for pkt in src.demux(ins):
                    if pkt.dts is None or pkt.pts is None or pkt.pts - shift < 0:
                        continue
                    pkt.pts -= shift
                    pkt.dts -= shift
                    pkt.stream = ost
                    yield pkt

        return copy()
    rate = ins.codec_context.sample_rate or 48000
    ost = out.add_stream("aac", rate=rate)
    ost.layout = "stereo" if (ins.codec_context.channels or 1) > 1 else "mono"
    resampler = av.AudioResampler(format="fltp", layout=ost.layout, rate=rate)

    def encode() -> Iterator[av.Packet]:
        with src:
            for frame in src.decode(ins):
                if frame.pts is not None and float(frame.pts * time_base(ins)) < v_start:
                    continue
                frame.pts = None
                for rf in resampler.resample(frame):
                    yield from ost.encode(rf)
            for rf in resampler.resample(None):
                yield from ost.encode(rf)
            yield from ost.encode(None)

    return encode()


def render_annotated(tl: Timeline, video: Path, dest: Path, crf: int = 23, preset: str = "veryfast") -> None:
    """Decode ``video`` once, draw the overlay from ``tl`` and encode H.264 to ``dest`` with the audio."""
    info = probe(video)
    if not info.has_video:
        raise OutputError(dest, "annotated video needs a video stream")
    rate = Fraction(info.fps or 25).limit_denominator(1001)
    with av.open(str(video)) as c:
        vs = c.streams.video[0]
        v_start = float(vs.start_time * time_base(vs)) if vs.start_time is not None else 0.0
    w, h = (info.width or 2) // 2 * 2, (info.height or 2) // 2 * 2
    painter = Painter(tl, h)
    with av.open(str(dest), "w", format="mp4") as out:
        vst = out.add_stream("libx264", rate=rate)
        vst.width, vst.height, vst.pix_fmt = w, h, "yuv420p"
        vst.codec_context.time_base = Fraction(1, 1000)
        vst.options = {"crf": str(crf), "preset": preset}
        audio = _audio_packets(video, v_start, out) if info.has_audio else None
        pending: av.Packet | None = None
        last_pts = -1

        def mux_audio(until: float | None) -> None:
            nonlocal pending, audio
            while audio is not None:
                if pending is None:
                    pending = next(audio, None)
                    if pending is None:
                        audio = None
                        return
                if until is not None and pending.pts is not None and pending.time_base is not None and float(
                    pending.pts * pending.time_base
                ) > until:
                    return
                out.mux(pending)
                pending = None

        for fr in iter_frames(video, fps=None, info=info, tolerate_corrupt=True):
            img = Image.fromarray(fr.rgb()[:h, :w])
            painter.draw(img, fr.time_s)
            vf = av.VideoFrame.from_ndarray(np.asarray(img), format="rgb24")
            pts = max(round(fr.time_s * 1000), last_pts + 1)
            vf.pts, vf.time_base, last_pts = pts, Fraction(1, 1000), pts
            out.mux(vst.encode(vf.reformat(format="yuv420p")))
            mux_audio(fr.time_s)
        out.mux(vst.encode(None))
        mux_audio(None)


def write_annotated_video(tl: Timeline, out: Path, video: Path | None = None) -> None:
    """Write ``annotated.mp4`` into the result folder (skipped with a note when there is no picture)."""
    from emotrace.report.html import source_video

    src = source_video(tl, video)
    if src is None or not tl.video.has_video:
        tl.provenance.warnings.append("annotated video not written: the source video has no picture or is gone")
        return
    tmp = out / ".annotated.mp4.part"
    try:
        render_annotated(tl, src, tmp)
        tmp.replace(out / "annotated.mp4")
    finally:
        tmp.unlink(missing_ok=True)

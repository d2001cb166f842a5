"""SRT and WebVTT subtitles: the transcript with each utterance's emotion (or emotion intervals)."""

from __future__ import annotations

from pathlib import Path

from emotrace.model import Timeline
from emotrace.report.series import emotion_cues
from emotrace.report.writers import write_text_atomic


def _stamp(t: float, sep: str) -> str:
    ms = round(max(0.0, t) * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _lines(tl: Timeline) -> list[tuple[float, float, str]]:
    out = []
    for start, end, who, text, emotion, conf in emotion_cues(tl):
        tag = f"[{who}" + (f" · {emotion} {conf:.0%}]" if emotion else "]")
        body = f"{tag} {text}" if text else tag
        out.append((start, max(end, start + 0.2), body))
    return out


def srt_text(tl: Timeline) -> str:
    """The SRT document for ``tl``."""
    blocks = [
        f"{i}\n{_stamp(a, ',')} --> {_stamp(b, ',')}\n{body}\n"
        for i, (a, b, body) in enumerate(_lines(tl), start=1)
    ]
    return "\n".join(blocks)


def vtt_text(tl: Timeline) -> str:
    """The WebVTT document for ``tl``."""
    blocks = ["WEBVTT\n"]
    for i, (a, b, body) in enumerate(_lines(tl), start=1):
        safe = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{i}\n{_stamp(a, '.')} --> {_stamp(b, '.')}\n{safe}\n")
    return "\n".join(blocks)


def write_srt(tl: Timeline, out: Path, video: Path | None = None) -> None:
    """Write ``transcript.srt``."""
    write_text_atomic(out / "transcript.srt", srt_text(tl))


def write_vtt(tl: Timeline, out: Path, video: Path | None = None) -> None:
    """Write ``transcript.vtt``."""
    write_text_atomic(out / "transcript.vtt", vtt_text(tl))

"""Shot-boundary evaluation: videos with known cuts and fades, and precision/recall scoring."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from emotrace.errors import DependencyMissing


@dataclass(frozen=True)
class Segment:
    """One shot of a generated video: an ffmpeg lavfi source (``testsrc``...) or a media file."""

    source: str
    duration_s: float
    transition: str = "cut"  # how this segment starts: "cut" or "fade" (cross-fade)


@dataclass(frozen=True)
class BoundaryScore:
    precision: float
    recall: float
    f1: float
    matched: int
    predicted: int
    truth: int


def ffmpeg_binary() -> str:
    """The ffmpeg executable (system one, else imageio-ffmpeg's)."""
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except ImportError:
        raise DependencyMissing("ffmpeg is needed to generate test videos (apt install ffmpeg)") from None


def _clip(seg: Segment) -> Segment:
    """A file segment no longer than its file (so the true boundaries are exact)."""
    if not Path(seg.source).exists():
        return seg
    from emotrace.io.media import probe

    have = probe(seg.source).duration_s - 0.1
    return Segment(seg.source, min(seg.duration_s, round(have, 2)), seg.transition)


def make_cut_video(
    out: Path,
    segments: Sequence[Segment],
    size: tuple[int, int] = (640, 360),
    fps: int = 25,
    fade_s: float = 1.0,
    crf: int = 23,
) -> list[float]:
    """Concatenate ``segments`` with hard cuts or cross-fades; return the true boundary times.

    A fade's boundary is the middle of the cross-fade.
    """
    w, h = size
    args = [ffmpeg_binary(), "-v", "error", "-y"]
    chains = []
    segments = [_clip(seg) for seg in segments]
    for i, seg in enumerate(segments):
        if Path(seg.source).exists():
            args += ["-i", seg.source]
        else:
            sep = ":" if "=" in seg.source else "="
            args += ["-f", "lavfi", "-t", f"{seg.duration_s + 0.5}", "-i", f"{seg.source}{sep}size={w}x{h}:rate={fps}"]
        chains.append(
            f"[{i}:v]scale={w}:{h},setsar=1,fps={fps},format=yuv420p,trim=duration={seg.duration_s},"
            f"setpts=PTS-STARTPTS,settb=AVTB[s{i}]"
        )
    bounds: list[float] = []
    cur, length = "s0", segments[0].duration_s
    for i, seg in enumerate(segments[1:], start=1):
        nxt = f"j{i}"
        if seg.transition == "fade":
            offset = length - fade_s
            chains.append(f"[{cur}][s{i}]xfade=transition=fade:duration={fade_s}:offset={offset:.4f}[{nxt}]")
            bounds.append(offset + fade_s / 2)
            length += seg.duration_s - fade_s
        else:
            chains.append(f"[{cur}][s{i}]concat=n=2:v=1:a=0[{nxt}]")
            bounds.append(length)
            length += seg.duration_s
        cur = nxt
    args += ["-filter_complex", ";".join(chains), "-map", f"[{cur}]", "-c:v", "libx264", "-preset", "veryfast",
             "-crf", str(crf), "-pix_fmt", "yuv420p", str(out)]
    proc = subprocess.run(args, check=False, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"ffmpeg failed: {proc.stderr.strip()[-500:]}")
    return bounds


def score_boundaries(predicted: Sequence[float], truth: Sequence[float], tolerance_s: float = 0.5) -> BoundaryScore:
    """Greedy one-to-one matching of predicted and true boundaries within ``tolerance_s``."""
    used: set[int] = set()
    matched = 0
    for t in truth:
        best = None
        for j, p in enumerate(predicted):
            if j not in used and abs(p - t) <= tolerance_s and (best is None or abs(p - t) < abs(predicted[best] - t)):
                best = j
        if best is not None:
            used.add(best)
            matched += 1
    prec = matched / len(predicted) if predicted else 1.0
    rec = matched / len(truth) if truth else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return BoundaryScore(prec, rec, f1, matched, len(predicted), len(truth))

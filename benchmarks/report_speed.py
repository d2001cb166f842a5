"""Speed of the report writers on a result folder: HTML report, subtitles/ELAN, annotated video.

Usage: python benchmarks/report_speed.py RESULT_DIR [VIDEO]
(RESULT_DIR from `emotrace analyze VIDEO -o RESULT_DIR`). Prints seconds per writer, the
annotated video's encoding rate (frames/s and x real time) and peak RSS.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from emotrace.model import Timeline
from emotrace.report.annotate import render_annotated
from emotrace.report.elan import write_eaf
from emotrace.report.html import source_video, write_html
from emotrace.report.subtitles import write_srt, write_vtt


def main() -> None:
    folder = Path(sys.argv[1])
    tl = Timeline.load(folder)
    video = source_video(tl, Path(sys.argv[2]) if len(sys.argv) > 2 else None)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for sub in ("keyframes", "persons"):
            if (folder / sub).is_dir():
                (out / sub).symlink_to((folder / sub).resolve())
        for name, fn in (("html", write_html), ("srt", write_srt), ("vtt", write_vtt), ("eaf", write_eaf)):
            t0 = time.perf_counter()
            fn(tl, out, video)
            print(f"{name:<6} {time.perf_counter() - t0:7.2f} s")
        if video is not None and tl.video.has_video:
            t0 = time.perf_counter()
            render_annotated(tl, video, out / "annotated.mp4")
            dt = time.perf_counter() - t0
            n = tl.video.n_frames or round(tl.video.duration_s * (tl.video.fps or 25))
            print(f"video  {dt:7.2f} s  {n / dt:6.1f} frames/s  {tl.video.duration_s / dt:5.2f}x real time "
                  f"({tl.video.width}x{tl.video.height}, {tl.video.duration_s:.1f} s)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

"""Time the `fer` package's own video analysis (``fer.Video.analyze``) on one video.

Runs in the separate environment made by ``benchmarks/setup_fer_env.sh``, never in emotrace's:

    /opt/fer-env/bin/python benchmarks/fer_video.py VIDEO [--fps 5]

Analyses every ``round(source_fps / fps)``-th frame with ``FER(mtcnn=False)`` (fer's defaults:
OpenCV Haar cascade + quantised TFLite emotion model), with display, frame/video saving,
annotation and the CSV export turned off; fer still creates its (empty) output folder, which
goes to a temporary directory. Prints one JSON line on stdout; everything else (TensorFlow, fer's
logging, tqdm) goes to stderr. ``wall_s`` and ``cpu_s`` cover the whole process (imports and
model loading included, as in emotrace's timed runs); ``analyse_s`` is ``Video.analyze`` alone.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from typing import Any

T0 = time.perf_counter()  # heavy imports (TensorFlow, OpenCV) happen in main()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--fps", type=float, default=5.0, help="frames analysed per second of video")
    args = ap.parse_args()
    video_path = os.path.abspath(args.video)

    stdout_fd = os.dup(1)
    os.dup2(2, 1)  # anything written to stdout by fer / TensorFlow lands on stderr
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import cv2
        import fer
        from fer.classes import Video  # fer 25.10.3 no longer re-exports FER / Video
        from fer.fer import FER

        class CountingFER(FER):
            """FER that counts the frames it is given and the faces it returns."""

            frames = 0
            faces = 0

            def detect_emotions(self, img: Any, face_rectangles: Any = None) -> list[dict[str, Any]]:
                result = super().detect_emotions(img, face_rectangles)
                self.frames += 1
                self.faces += len(result)
                return result

        with tempfile.TemporaryDirectory(prefix="fer-bench-") as tmp:
            detector = CountingFER(mtcnn=False)
            video = Video(video_path, outdir=os.path.join(tmp, "output"))
            frequency = max(1, round(video.cap.get(cv2.CAP_PROP_FPS) / args.fps))
            # fer seeks to every analysed frame; OpenCV 4.14 keeps returning the last frame
            # when asked for one past the end of some MP4s, so fer would never stop by itself.
            n_frames = int(video.cap.get(cv2.CAP_PROP_FRAME_COUNT))
            t1 = time.perf_counter()
            video.analyze(
                detector,
                display=False,
                output="pandas",  # "csv" writes data.csv to the working directory
                frequency=frequency,
                max_results=math.ceil(n_frames / frequency),
                save_frames=False,
                save_video=False,
                annotate_frames=False,
                zip_images=False,
            )
            analyse_s = time.perf_counter() - t1
            del video
        sys.stdout.flush()
    finally:
        os.dup2(stdout_fd, 1)

    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "tool": "fer",
                "version": fer.__version__,
                "video": args.video,
                "fps": args.fps,
                "frequency": frequency,
                "frames_analysed": detector.frames,
                "faces": detector.faces,
                "wall_s": round(time.perf_counter() - T0, 2),
                "analyse_s": round(analyse_s, 2),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()

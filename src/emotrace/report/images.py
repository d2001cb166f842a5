"""Small images for reports: frames grabbed from the video and files resized to JPEG data URIs."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image

from emotrace.io.media import time_base


def data_uri(img: Image.Image, max_side: int = 320, quality: int = 80) -> str:
    """A ``data:image/jpeg;base64,...`` URI of ``img`` scaled to ``max_side``."""
    img = img.convert("RGB")
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def file_data_uri(path: Path, max_side: int = 320) -> str | None:
    """The image file as a data URI, or None when it is missing or unreadable."""
    try:
        with Image.open(path) as im:
            return data_uri(im, max_side)
    except (OSError, ValueError):
        return None


def grab_frames(video: Path, times: list[float], rotation: int = 0) -> dict[float, Image.Image]:
    """Decode one frame at (or just after) each time by seeking; missing times are left out."""
    import av

    out: dict[float, Image.Image] = {}
    if not times:
        return out
    try:
        with av.open(str(video)) as c:
            if not c.streams.video:
                return out
            vs = c.streams.video[0]
            tb = float(time_base(vs))
            start = float(vs.start_time * time_base(vs)) if vs.start_time is not None else 0.0
            for t in sorted(set(times)):
                c.seek(int((t + start) / tb), stream=vs, backward=True, any_frame=False)
                for frame in c.decode(vs):
                    ft = float(frame.pts * tb) - start if frame.pts is not None else t
                    if ft + 1e-3 >= t:
                        arr = frame.to_ndarray(format="rgb24")
                        k = (rotation // 90) % 4
                        out[t] = Image.fromarray(np.ascontiguousarray(np.rot90(arr, k)) if k else arr)
                        break
    except (av.error.FFmpegError, OSError, ValueError):
        pass
    return out

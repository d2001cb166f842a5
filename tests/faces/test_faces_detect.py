"""BlazeFace full-range on LiteRT: recall on a real group photo, geometry, empty images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from emotrace.faces.detect import BlazeFace, iou_matrix, windows
from emotrace.models.assets import resolve


@pytest.fixture(scope="module")
def det() -> BlazeFace:
    return BlazeFace(resolve("blazeface-full-range").path, threads=1)


def _matched(dets, truth, scale=1.0) -> int:  # type: ignore[no-untyped-def]
    hit = 0
    for tx, ty in truth:
        for d in dets:
            x, y, w, h = (v * scale for v in d.box)
            if x <= tx <= x + w and y <= ty <= y + h:
                hit += 1
                break
    return hit


def test_recall_on_group_photo(det: BlazeFace, t1: np.ndarray, t1_faces: list) -> None:
    small = np.asarray(Image.fromarray(t1).resize((640, 443)))
    dets = det.detect(small, tiles=0)
    assert _matched(dets, t1_faces, scale=t1.shape[1] / 640) == 6
    # no duplicate boxes after NMS and no far-off false positives
    assert len(dets) <= 7
    for d in dets:
        assert 30 < d.box[2] * 2 < 200 and d.score >= 0.45
        # keypoints (eyes, nose, mouth...) lie around the box
        x, _y, w, _h = d.box
        assert np.all(d.keypoints[:4, 0] > x - w * 0.3) and np.all(d.keypoints[:4, 0] < x + w * 1.3)


def test_tiles_find_small_faces(det: BlazeFace, t1: np.ndarray, t1_faces: list) -> None:
    """2x2 tiled group photo (24 faces of ~25 px at 640): tiles find what the whole frame misses."""
    grid = np.concatenate([np.concatenate([t1, t1], 1)] * 2, 0)
    small = np.asarray(Image.fromarray(grid).resize((640, 443)))
    coarse = det.detect(small, tiles=0)
    fine = det.detect(small, tiles=2)
    truth = [(x + dx, y + dy) for dx in (0, 1280) for dy in (0, 886) for x, y in t1_faces]
    assert _matched(fine, truth, scale=grid.shape[1] / 640) >= 22
    assert len(fine) > len(coarse)


def test_no_faces_on_black_and_noise(det: BlazeFace) -> None:
    assert det.detect(np.zeros((360, 640, 3), np.uint8), tiles=1) == []
    rng = np.random.default_rng(0)
    assert len(det.detect(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8))) <= 1


def test_windows_cover_frame() -> None:
    wins = windows(1280, 720, 1)
    assert wins[0] == (0.0, -280.0, 1280.0)  # letterboxed whole frame
    tiles = wins[1:]
    assert min(x for x, _, _ in tiles) == 0 and max(x + s for x, _, s in tiles) == 1280
    assert all(s == 720 for _, _, s in tiles)
    assert windows(500, 500, 1) == [(0.0, 0.0, 500.0)]


def test_iou() -> None:
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 10, 10], [20, 20, 5, 5]], float)
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150, 0.0]])


@pytest.mark.parametrize("size", [(256, 178), (641, 359), (97, 301), (1280, 720)])
def test_windows_of_odd_sizes(det: BlazeFace, size: tuple[int, int]) -> None:
    """Every tile level works on any frame size (fractional window origins included)."""
    w, h = size
    img = np.random.default_rng(1).integers(0, 255, (h, w, 3), dtype=np.uint8)
    for tiles in range(4):
        for d in det.detect(img, tiles=tiles):
            x, y, bw, bh = d.box
            assert 0 <= x and 0 <= y and x + bw <= w + 1e-3 and y + bh <= h + 1e-3

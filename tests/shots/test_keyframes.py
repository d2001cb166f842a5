"""Keyframes: real MobileNetV2 embeddings on generated and real footage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emotrace.model import BBox, FaceObservation
from emotrace.shots.evaluate import Segment, make_cut_video
from emotrace.shots.select import auto_clusters, emotion_peaks, kmeans, silhouette
from emotrace.stage import Stage, register

CREMA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "crema_d"
needs_crema = pytest.mark.skipif(not CREMA.is_dir(), reason=f"needs the real data in ../shared/data (crema_d missing: {CREMA})")


def test_silhouette_picks_the_true_number_of_clusters() -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 1, (3, 16)) * 4
    x = np.concatenate([c + rng.normal(0, 0.3, (20, 16)) for c in centres])
    labels = auto_clusters(x, max_k=6, max_centre_similarity=0.999)
    assert sorted(np.bincount(labels).tolist()) == [20, 20, 20]
    assert silhouette(x, labels) > 0.8
    # one tight blob stays one cluster
    blob = rng.normal(0, 0.01, (30, 16)) + 1.0
    assert set(auto_clusters(blob, max_k=6).tolist()) == {0}
    assert len(set(kmeans(x, 3).tolist())) == 3


def test_keyframes_written_in_time_order(result_dir: Path) -> None:
    from emotrace.model import Timeline

    tl = Timeline.load(result_dir)
    kfs = tl.keyframes
    assert len(tl.shots) >= 8 and len(kfs) >= len(tl.shots) - 1
    times = [k.time_s for k in kfs]
    assert times == sorted(times)
    names = [k.path for k in kfs]
    assert names == sorted(names)  # file names sort chronologically too
    for k in kfs:
        assert k.path is not None and k.path.startswith("keyframes/")
        img = Image.open(result_dir / k.path)
        assert img.format == "JPEG" and max(img.size) <= 640
        shot = tl.shots[k.shot_index]
        assert shot.start_s - 1e-3 <= k.time_s < shot.end_s + 1e-3
    # the temporary candidate images are gone; only the keyframes remain
    assert not (result_dir / ".keyframe-candidates").exists()
    assert len(list((result_dir / "keyframes").iterdir())) == len(kfs)
    # most shots of this video have one keyframe, none more than the maximum
    per_shot = np.bincount([k.shot_index for k in kfs])
    assert per_shot.max() <= 4


@needs_crema
def test_black_frames_redundant_shots_and_api_only(tmp_path: Path, run_stages) -> None:  # type: ignore[no-untyped-def]
    video = tmp_path / "abab.mp4"
    bounds = make_cut_video(video, [
        Segment("smptebars", 2.0),
        Segment("color=c=black", 2.0),
        Segment(str(CREMA / "1001_DFA_SAD_XX.flv"), 1.8),
        Segment("smptebars", 2.0),  # the first shot again
    ], size=(480, 270))
    tl = run_stages(video, None, {"shots": {}, "keyframes": {"min_per_shot": 0}})
    assert len(tl.shots) == 4, tl.shots
    shots_with_kf = sorted({k.shot_index for k in tl.keyframes})
    assert shots_with_kf == [0, 2], tl.keyframes  # black shot: none; repeated shot: dropped as redundant
    assert all(k.path is None for k in tl.keyframes)  # no result folder: records only
    # each static shot gives a single keyframe (near-duplicates inside a shot are removed)
    assert sum(k.shot_index == 0 for k in tl.keyframes) == 1
    # by default every non-black shot keeps at least one keyframe
    tl2 = run_stages(video, None, {"shots": {}, "keyframes": {}})
    assert sorted({k.shot_index for k in tl2.keyframes}) == [0, 2, 3]
    assert bounds[0] == pytest.approx(2.0)


@register
class PeakFaces(Stage):
    """A faces plug-in for this test: a happy face whose emotion peaks at 1.2 s."""

    slot = "faces"
    backend = "test-emotion-peak"
    kind = "frames"

    def fps(self, ctx):  # type: ignore[no-untyped-def]
        return 5.0

    def process_frame(self, ctx, frame) -> None:  # type: ignore[no-untyped-def]
        t = frame.time_s
        happy = float(np.clip(0.9 - 0.6 * abs(t - 1.2), 0.05, 0.9))
        probs = dict.fromkeys(("angry", "disgust", "fear", "sad", "surprise"), (1 - happy) * 0.05)
        probs |= {"happy": happy, "neutral": 1 - happy - 5 * (1 - happy) * 0.05}
        ctx.timeline.faces.append(FaceObservation(
            time_s=t, frame_index=frame.index, bbox=BBox(x=10, y=10, w=50, h=50), det_score=0.9,
            track_id=1, person_id="P1", emotion=ctx.scores(probs, model="test"),
        ))


@needs_crema
def test_emotion_peak_becomes_a_keyframe(tmp_path: Path, run_stages) -> None:  # type: ignore[no-untyped-def]
    video = tmp_path / "face.mp4"
    make_cut_video(video, [Segment(str(CREMA / "1001_DFA_HAP_XX.flv"), 1.8)], size=(480, 270))
    out = tmp_path / "result"
    out.mkdir()
    tl = run_stages(video, out, {"shots": {}, "faces": {"backend": "test-emotion-peak"}, "keyframes": {}})
    peaks = [k for k in tl.keyframes if k.reason == "emotion_peak"]
    assert len(peaks) == 1
    assert abs(peaks[0].time_s - 1.2) <= 0.5 and peaks[0].score is not None and peaks[0].score > 0.8
    assert peaks[0].path is not None and (out / peaks[0].path).is_file()
    assert [k.time_s for k in tl.keyframes] == sorted(k.time_s for k in tl.keyframes)


def test_emotion_peaks_are_local_maxima_apart() -> None:
    from emotrace.model import EmotionScores

    def obs(t: float, happy: float, person: str) -> FaceObservation:
        return FaceObservation(time_s=t, frame_index=int(t * 5), bbox=BBox(x=0, y=0, w=1, h=1), det_score=1.0,
                               person_id=person, emotion=EmotionScores(probs={"happy": happy, "neutral": 1 - happy}))

    series = [obs(t / 5, v, "A") for t, v in enumerate([0.1, 0.7, 0.9, 0.6, 0.2, 0.1, 0.55, 0.3])]
    series += [obs(1.0, 0.95, "B")]
    peaks = emotion_peaks(series, min_intensity=0.5, min_gap_s=0.7)
    assert [(p.person, p.time_s) for p in peaks] == [("B", 1.0)]  # both of A's peaks lie within 0.7 s of B's stronger one
    peaks = emotion_peaks(series, min_intensity=0.5, min_gap_s=0.0)
    assert {(p.person, round(p.time_s, 1)) for p in peaks} == {("A", 0.4), ("A", 1.2), ("B", 1.0)}

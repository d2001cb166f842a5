"""Fusion stages: one time grid per person (``timeline.windows``) plus a per-utterance view
(``timeline.tables["utterance_fusion"]``).

``stages.fusion.backend = "default"`` is reliability-weighted late fusion;
``"learned"`` applies a model trained with ``emotrace train fusion`` (option ``model``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from emotrace.errors import ConfigError
from emotrace.fusion.align import align
from emotrace.fusion.late import DEFAULT_PRIORS, Combiner, build_windows, late_fuse, utterance_view
from emotrace.stage import Stage, register

if TYPE_CHECKING:
    from emotrace.stage import Context


class LateFusionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window_s: float | None = Field(default=None, gt=0, description="grid step (default: config.window_s)")
    face_scores: Literal["smoothed", "raw"] = Field(
        default="smoothed", description="use the faces stage's temporally smoothed scores or the raw ones"
    )
    link_single: bool = Field(
        default=True, description="link the only face person to the only speaker when no link is known"
    )
    weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORS), description="prior weight per modality (0 drops it)"
    )


class LearnedFusionOptions(LateFusionOptions):
    model: str = Field(description="path of a model written by `emotrace train fusion`")


@register
class LateFusionStage(Stage):
    """Reliability-weighted late fusion of face, voice and text on one time grid."""

    slot: ClassVar[str] = "fusion"
    backend: ClassVar[str] = "default"
    kind = "post"
    reads = ("faces", "persons", "speech", "utterances")
    writes = ("windows", "tables")
    description: ClassVar[str] = "late fusion weighted by each modality's confidence and quality"
    Options: ClassVar[type[BaseModel]] = LateFusionOptions
    fused_model: ClassVar[str] = "late-fusion"

    def combiner(self) -> Combiner:
        weights = dict(self.options.weights)  # type: ignore[attr-defined]  # Stage.options is typed as BaseModel
        bad = [m for m in weights if m not in DEFAULT_PRIORS]
        if bad:
            raise ConfigError(f"stages.fusion.weights: unknown modality {bad[0]!r} (face, voice, text)")
        return lambda cells: late_fuse(cells, weights)

    def run(self, ctx: Context) -> None:
        opts = self.options
        window_s = opts.window_s or ctx.config.window_s  # type: ignore[attr-defined]  # Stage.options is typed as BaseModel
        tl = ctx.timeline
        combine = self.combiner()
        grids = align(tl, window_s, opts.face_scores, opts.link_single)  # type: ignore[attr-defined]  # Stage.options is typed as BaseModel
        tl.windows = build_windows(grids, list(tl.labels), window_s, tl.video.duration_s, combine,
                                   self.fused_model)
        rows = utterance_view(tl, combine, opts.face_scores, opts.link_single)  # type: ignore[attr-defined]  # Stage.options is typed as BaseModel
        if rows:
            tl.tables["utterance_fusion"] = rows
        if not tl.windows:
            ctx.warn("fusion: no face, voice or text emotion scores to fuse")


@register
class LearnedFusionStage(LateFusionStage):
    """Fusion by a logistic-regression model over window features."""

    backend: ClassVar[str] = "learned"
    description: ClassVar[str] = "learned fusion (emotrace train fusion)"
    Options: ClassVar[type[BaseModel]] = LearnedFusionOptions
    fused_model: ClassVar[str] = "learned-fusion"

    def setup(self, ctx: Context) -> None:
        from emotrace.fusion.learned import LearnedFusion

        self.model = LearnedFusion.load(self.options.model)  # type: ignore[attr-defined]  # Stage.options is typed as BaseModel
        if list(self.model.labels) != list(ctx.timeline.labels):
            raise ConfigError(
                f"{self.options.model}: model labels {self.model.labels} differ from this run's "  # type: ignore[attr-defined]  # Stage.options is typed as BaseModel
                f"{ctx.timeline.labels}"
            )

    def combiner(self) -> Combiner:
        return self.model.combine

"""Highlights stage: score every window (unsupervised, or with a model from
``emotrace train highlights``), pick the top-k segments and, when a result folder is being
written, export each as a stream-copied clip plus one reel under ``highlights/``."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from emotrace.analysis.highlight_features import (
    DEFAULT_WEIGHTS,
    feature_matrix,
    select_segments,
    unsupervised_score,
)
from emotrace.errors import EmotraceError
from emotrace.model import FusedWindow, Highlight
from emotrace.stage import Stage, register

if TYPE_CHECKING:
    from emotrace.stage import Context


class HighlightOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    top_k: int = Field(default=5, ge=1, description="number of highlight segments")
    min_len_s: float = Field(default=3.0, ge=0, description="shortest segment before padding")
    padding_s: float = Field(default=1.0, ge=0, description="added before and after each segment")
    min_prominence: float = Field(default=0.05, ge=0, description="score a peak needs above the median score")
    window_s: float | None = Field(default=None, gt=0, description="scoring step (default: config.window_s)")
    weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS), description="arousal, intensity, change, loudness"
    )
    model: str | None = Field(default=None, description="supervised model from `emotrace train highlights`")
    export: bool = Field(default=True, description="write clips and a reel (stream copy) to the result folder")
    reel: bool = True


@register
class HighlightStage(Stage):
    """Emotional highlights: top-k scored segments, exported as clips and a reel."""

    slot: ClassVar[str] = "highlights"
    backend: ClassVar[str] = "default"
    kind = "post"
    reads = ("windows",)
    writes = ("highlights",)
    description: ClassVar[str] = "arousal, intensity, change points and loudness peaks -> top-k clips"
    Options: ClassVar[type[BaseModel]] = HighlightOptions

    def setup(self, ctx: Context) -> None:
        o: HighlightOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        self.model = None
        if o.model:
            from emotrace.analysis.highlight_model import HighlightModel

            self.model = HighlightModel.load(o.model)

    def run(self, ctx: Context) -> None:
        o: HighlightOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        tl = ctx.timeline
        window_s = o.window_s or ctx.config.window_s
        audio = ctx.audio() if tl.video.has_audio else None
        starts, x = feature_matrix(tl, audio, window_s)
        if self.model is not None:
            score = self.model.predict_proba(x)
            reasons = ["model"] * len(score)
        else:
            score, reasons = unsupervised_score(x, o.weights)
        segs = select_segments(starts, score, window_s, tl.video.duration_s, o.top_k, o.min_len_s, o.padding_s,
                               min_prominence=o.min_prominence)
        highlights = []
        for a, b, s, peak in segs:
            highlights.append(Highlight(start_s=a, end_s=b, score=round(s, 5), reason=reasons[peak],
                                        person_id=_person_at(tl.windows, float(starts[peak]))))
        if o.export and ctx.workdir is not None and highlights:
            self._export(ctx, highlights)
        tl.highlights = highlights

    def _export(self, ctx: Context, highlights: list[Highlight]) -> None:
        from emotrace.analysis.clips import export_highlights

        o: HighlightOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        assert ctx.workdir is not None
        try:
            clips, _ = export_highlights(ctx.path, ctx.workdir / "highlights",
                                         [(h.start_s, h.end_s) for h in highlights], reel=o.reel)
        except EmotraceError as e:
            ctx.warn(f"highlight clips not exported: {e}")
            return
        except Exception as e:  # noqa: BLE001 - a failed remux is a note, never the end of the analysis
            ctx.warn(f"highlight clips not exported: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            shutil.rmtree(ctx.workdir / "highlights", ignore_errors=True)
            return
        for h, c in zip(highlights, clips, strict=True):
            h.clip = str(c.relative_to(ctx.workdir))


def _person_at(windows: list[FusedWindow], t: float) -> str | None:
    """The most intense (least neutral) person in the window starting at ``t``."""
    best, best_v = None, -np.inf
    for w in windows:
        if abs(w.start_s - t) < 1e-6 and w.fused is not None:
            v = 1.0 - w.fused.probs.get("neutral", 0.0)
            if v > best_v:
                best, best_v = w.person_id, v
    return best

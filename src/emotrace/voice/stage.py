"""The ``voice`` stage: speech activity, speakers and speech emotion per 2-6 s window.

Silero VAD (inside faster-whisper, ONNX) finds speech; long turns are split into 2-6 s
windows; each window gets a GE2E speaker embedding (ONNX) and Whisper-base encoder
features (CTranslate2). Windows are clustered into speakers ``S1``, ``S2``... by first
appearance, then classified by emotrace's speech emotion model, normalised per speaker
within this input when the speaker has enough windows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from emotrace.errors import ModelNotFound
from emotrace.model import SpeechSegment
from emotrace.stage import ENCODER_STATES, Context, Stage, register
from emotrace.voice import assets
from emotrace.voice.analysis import VoiceAnalyzer, WindowResult
from emotrace.voice.classifier import VoiceEmotionModel, VoiceEmotionNet
from emotrace.voice.prosody import PROSODY_NAMES
from emotrace.voice.speakers import DEFAULT_MIN_SILHOUETTE, SpeakerEncoder, cluster_speakers

PROSODY_DIM = len(PROSODY_NAMES)


def load_emotion_model(path: Any) -> VoiceEmotionModel | VoiceEmotionNet:
    """The speech emotion model in ``path``: an ONNX attention head or a ``.npz`` linear one."""
    if str(path).endswith(".onnx"):
        return VoiceEmotionNet(path, threads=1)
    return VoiceEmotionModel.load(path)


class VoiceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vad_threshold: float = Field(0.5, gt=0, lt=1, description="Silero speech probability threshold")
    min_silence_ms: int = Field(300, ge=0, description="silence that ends a speech region")
    window_max_s: float = Field(6.0, gt=0.5, description="longest emotion window")
    window_min_s: float = Field(2.0, gt=0, description="shortest window a long turn is split into")
    speakers: bool = Field(True, description="cluster speakers (GE2E embeddings)")
    max_speakers: int = Field(8, ge=1, description="most speakers the clustering may find")
    min_silhouette: float = Field(
        DEFAULT_MIN_SILHOUETTE,
        gt=-1,
        lt=1,
        description="silhouette a split into speakers needs (else one speaker)",
    )
    emotion: bool = Field(True, description="classify speech emotion")
    speaker_norm: bool = Field(True, description="normalise features per speaker within the input")
    chunk_s: float = Field(60.0, ge=5, description="audio read per step (memory stays flat)")
    quality: bool = Field(
        True, description="voice-quality features (pitch, jitter, shimmer, HNR, formants...) with Praat"
    )
    cache_encoder_until_s: float = Field(
        0.0,
        ge=0,
        description="keep encoder states of windows before this time on the voice.encoder_states channel (for plug-ins; "
        "costs ~100 kB per second of speech)",
    )


@register
class VoiceStage(Stage):
    slot = "voice"
    backend = "default"
    kind = "audio"
    writes = ("speech", "tables", ENCODER_STATES.name)
    requires = ("faster_whisper", "ctranslate2")
    needs_audio = True
    description = "Silero VAD, GE2E speakers, emotrace speech emotion (Whisper-base encoder + prosody)"
    Options: ClassVar[type[BaseModel]] = VoiceOptions

    def setup(self, ctx: Context) -> None:
        """Load the speaker encoder and the emotion model; a missing one turns its part off with a warning."""
        o: VoiceOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        self.whisper: Any = None
        self.emotion_model: VoiceEmotionModel | VoiceEmotionNet | None = None
        self.speaker_encoder: SpeakerEncoder | None = None
        if o.speakers:
            try:
                self.speaker_encoder = SpeakerEncoder(ctx.model(assets.SPEAKER_ENCODER.name).path, threads=1)
            except ModelNotFound as e:
                ctx.warn(f"voice: speakers off: {e}")
        if o.emotion:
            from emotrace.models.whisper import load_whisper

            try:
                self.emotion_model = load_emotion_model(ctx.model(assets.VOICE_EMOTION.name).path)
                self.whisper = load_whisper(
                    ctx.model("whisper-base").path,
                    device="cpu" if ctx.config.device == "cpu" else "auto",
                    threads=ctx.config.threads,
                )
            except ModelNotFound as e:
                self.emotion_model = None
                ctx.warn(f"voice: speech emotion off: {e}")

    def run(self, ctx: Context) -> None:
        o: VoiceOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        states: dict[tuple[float, float], Any] = {}
        ctx.put(ENCODER_STATES, states)
        analyzer = VoiceAnalyzer(
            whisper=self.whisper,
            speaker_encoder=self.speaker_encoder,
            vad_threshold=o.vad_threshold,
            min_silence_ms=o.min_silence_ms,
            max_window_s=o.window_max_s,
            min_window_s=o.window_min_s,
            cache=states,
            cache_until_s=o.cache_encoder_until_s,
            keep_states=isinstance(self.emotion_model, VoiceEmotionNet),
        )
        try:
            windows = analyzer.run(ctx.iter_audio(chunk_s=o.chunk_s))
            if not windows:
                ctx.warn("voice: no speech detected")
                return
            speakers, confidence = self._speakers(windows)
            ctx.timeline.speech.extend(self._segments(ctx, analyzer, windows, speakers, confidence))
        finally:
            analyzer.close()
        if o.quality:
            self._quality(ctx)

    def _quality(self, ctx: Context) -> None:
        """``tables["voice_features"]``: Praat's voice measures per segment and per window."""
        from emotrace.voice import quality

        if not quality.is_available():
            ctx.warn(f"voice: voice-quality features skipped: not installed ({quality.INSTALL_HINT})")
            return
        o: VoiceOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        segs = [(s.start_s, s.end_s, s.speaker_id) for s in ctx.timeline.speech]
        rows = list(quality.voice_feature_rows(ctx.iter_audio(chunk_s=o.chunk_s), segs, ctx.config.window_s))
        if rows:
            ctx.timeline.tables["voice_features"] = rows

    def _speakers(self, windows: list[WindowResult]) -> tuple[list[str | None], list[float | None]]:
        o: VoiceOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        if self.speaker_encoder is None:
            return [None] * len(windows), [None] * len(windows)
        emb = np.stack([w.embedding for w in windows])  # type: ignore[misc]  # set for every window when the encoder runs
        dur = np.array([w.end_s - w.start_s for w in windows])
        labels, conf = cluster_speakers(emb, o.max_speakers, o.min_silhouette, weights=dur)
        return [f"S{k + 1}" for k in labels], [round(c, 4) for c in conf]

    def _segments(
        self,
        ctx: Context,
        analyzer: VoiceAnalyzer,
        windows: list[WindowResult],
        speakers: list[str | None],
        conf: list[float | None],
    ) -> list[SpeechSegment]:
        o: VoiceOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        probs = None
        if self.emotion_model is not None:
            X = np.stack([w.features for w in windows])  # type: ignore[misc]  # set for every window by feature extraction
            groups = [s or "?" for s in speakers] if o.speaker_norm and speakers[0] is not None else None
            if isinstance(self.emotion_model, VoiceEmotionNet):
                states = analyzer.states_of(windows)
                probs = self.emotion_model.predict_states(states, X[:, -PROSODY_DIM:], groups)
            else:
                probs = self.emotion_model.predict(X, groups)
        out = []
        for i, w in enumerate(windows):
            emotion = None
            if probs is not None and self.emotion_model is not None:
                emotion = ctx.scores(
                    dict(zip(self.emotion_model.labels, probs[i].tolist(), strict=True)),
                    model=assets.VOICE_EMOTION.name,
                )
            out.append(
                SpeechSegment(
                    start_s=round(w.start_s, 3),
                    end_s=round(w.end_s, 3),
                    speaker_id=speakers[i],
                    speaker_confidence=conf[i],
                    emotion=emotion,
                )
            )
        return out

"""Speech activity, speakers and speech emotion of an audio stream, without a pipeline context.

:class:`SpeechEmotion` loads the models once (GE2E speaker encoder, Whisper-base encoder,
emotrace's speech emotion model) and turns ``(start_s, samples)`` chunks of 16 kHz mono audio
into :class:`VoiceSegment` rows: Silero VAD finds speech, long turns are split into 2-6 s
windows, windows are clustered into speakers ``S1``, ``S2``... by first appearance, and each
window is classified, normalised per speaker within this input when the speaker has enough
windows. The ``voice`` stage and :func:`emotrace.api.speech_emotion` both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from emotrace.errors import ModelNotFound
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


@dataclass
class VoiceSegment:
    start_s: float
    end_s: float
    speaker_id: str | None
    speaker_confidence: float | None
    emotion: dict[str, float] | None  # the model's labels -> probability; None without the emotion model


class SpeechEmotion:
    """The voice models, loaded once; :meth:`analyze` runs them over an audio stream."""

    model_name = assets.VOICE_EMOTION.name

    def __init__(
        self,
        options: VoiceOptions | None = None,
        device: str = "auto",
        threads: int = 0,
        model: Callable[[str], Any] | None = None,
        warn: Callable[[str], None] | None = None,
    ):
        """``model(name)`` resolves a catalogue model (``Context.model`` in a run, which records it;
        :func:`emotrace.models.assets.resolve` by default). A missing speaker or emotion model turns
        that part off with a message to ``warn`` (default: raise)."""
        from emotrace.models.assets import resolve

        self.options = o = options or VoiceOptions.model_validate({})
        resolve_model = model or resolve

        def off(message: str, e: ModelNotFound) -> None:
            if warn is None:
                raise e
            warn(message)

        self.whisper: Any = None
        self.emotion_model: VoiceEmotionModel | VoiceEmotionNet | None = None
        self.speaker_encoder: SpeakerEncoder | None = None
        if o.speakers:
            try:
                self.speaker_encoder = SpeakerEncoder(resolve_model(assets.SPEAKER_ENCODER.name).path, threads=1)
            except ModelNotFound as e:
                off(f"voice: speakers off: {e}", e)
        if o.emotion:
            from emotrace.models.whisper import load_whisper

            try:
                self.emotion_model = load_emotion_model(resolve_model(assets.VOICE_EMOTION.name).path)
                self.whisper = load_whisper(
                    resolve_model(self.emotion_model.encoder).path, device="cpu" if device == "cpu" else "auto", threads=threads
                )
            except ModelNotFound as e:
                self.emotion_model = None
                off(f"voice: speech emotion off: {e}", e)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.emotion_model.labels) if self.emotion_model is not None else ()

    def analyze(
        self, chunks: Iterable[tuple[float, np.ndarray]], cache: dict[tuple[float, float], Any] | None = None
    ) -> list[VoiceSegment]:
        """Speech segments of ``(start_s, samples)`` chunks (16 kHz mono float32), in time order;
        ``cache`` receives encoder states of windows before ``options.cache_encoder_until_s``."""
        o = self.options
        analyzer = VoiceAnalyzer(
            whisper=self.whisper,
            speaker_encoder=self.speaker_encoder,
            vad_threshold=o.vad_threshold,
            min_silence_ms=o.min_silence_ms,
            max_window_s=o.window_max_s,
            min_window_s=o.window_min_s,
            cache={} if cache is None else cache,
            cache_until_s=o.cache_encoder_until_s,
            keep_states=isinstance(self.emotion_model, VoiceEmotionNet),
        )
        try:
            windows = analyzer.run(chunks)
            if not windows:
                return []
            speakers, confidence = self._speakers(windows)
            return self._segments(analyzer, windows, speakers, confidence)
        finally:
            analyzer.close()

    def _speakers(self, windows: list[WindowResult]) -> tuple[list[str | None], list[float | None]]:
        o = self.options
        if self.speaker_encoder is None:
            return [None] * len(windows), [None] * len(windows)
        emb = np.stack([w.embedding for w in windows])  # type: ignore[misc]  # set for every window when the encoder runs
        dur = np.array([w.end_s - w.start_s for w in windows])
        labels, conf = cluster_speakers(emb, o.max_speakers, o.min_silhouette, weights=dur)
        return [f"S{k + 1}" for k in labels], [round(c, 4) for c in conf]

    def _segments(
        self,
        analyzer: VoiceAnalyzer,
        windows: list[WindowResult],
        speakers: list[str | None],
        conf: list[float | None],
    ) -> list[VoiceSegment]:
        o = self.options
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
                emotion = dict(zip(self.emotion_model.labels, probs[i].tolist(), strict=True))
            out.append(
                VoiceSegment(
                    start_s=round(w.start_s, 3),
                    end_s=round(w.end_s, 3),
                    speaker_id=speakers[i],
                    speaker_confidence=conf[i],
                    emotion=emotion,
                )
            )
        return out

"""The ``voice`` stage: speech activity, speakers and speech emotion per 2-6 s window.

Silero VAD (inside faster-whisper, ONNX) finds speech; long turns are split into 2-6 s
windows; each window gets a GE2E speaker embedding (ONNX) and Whisper-base encoder
features (CTranslate2). Windows are clustered into speakers ``S1``, ``S2``... by first
appearance, then classified by emotrace's speech emotion model, normalised per speaker
within this input when the speaker has enough windows.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from emotrace.model import SpeechSegment
from emotrace.stage import ENCODER_STATES, Context, Stage, register
from emotrace.voice.emotion import PROSODY_DIM, SpeechEmotion, VoiceOptions, load_emotion_model

__all__ = ["PROSODY_DIM", "VoiceOptions", "VoiceStage", "load_emotion_model"]


@register
class VoiceStage(Stage):
    """An adapter over :class:`emotrace.voice.emotion.SpeechEmotion`."""

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
        self.voice = SpeechEmotion(o, device=ctx.config.device, threads=ctx.config.threads, model=ctx.model, warn=ctx.warn)

    def run(self, ctx: Context) -> None:
        o: VoiceOptions = self.options  # type: ignore[assignment]  # Stage.options is typed as BaseModel
        states: dict[tuple[float, float], object] = {}
        ctx.put(ENCODER_STATES, states)
        segments = self.voice.analyze(ctx.iter_audio(chunk_s=o.chunk_s), cache=states)
        if not segments:
            ctx.warn("voice: no speech detected")
            return
        ctx.timeline.speech.extend(
            SpeechSegment(
                start_s=s.start_s,
                end_s=s.end_s,
                speaker_id=s.speaker_id,
                speaker_confidence=s.speaker_confidence,
                emotion=None if s.emotion is None else ctx.scores(s.emotion, model=SpeechEmotion.model_name),
            )
            for s in segments
        )
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

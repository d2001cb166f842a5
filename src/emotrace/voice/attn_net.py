"""The attention-pooling speech emotion head (PyTorch; training only, exported to ONNX)."""

from __future__ import annotations

import torch
from torch import nn


class AttnPoolNet(nn.Module):
    """Frame states ``(B, T, d)`` -> projection -> attention pooling (+ mean pooling) ->
    concatenated with standardised prosody ``(B, p)`` -> MLP -> class logits."""

    def __init__(self, d: int, p: int, n_classes: int, hidden: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Dropout(0.1), nn.Linear(d, hidden), nn.GELU())
        self.att = nn.Linear(hidden, 1)
        self.out = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(2 * hidden + p, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor, prosody: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.proj(x)
        a = self.att(h).squeeze(-1).masked_fill(~mask, -1e4)
        a = torch.softmax(a, dim=1).unsqueeze(-1)
        m = mask.unsqueeze(-1).to(h.dtype)
        mean = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.out(torch.cat([(h * a).sum(1), mean, prosody], dim=1))


class TwoHeads(nn.Module):
    """The shipped graph: the per-speaker head on frames normalised with the statistics given as
    inputs, and the global head on frames normalised with the training statistics (baked in)."""

    g_mean: torch.Tensor  # buffers, registered in __init__
    g_scale: torch.Tensor
    gp_mean: torch.Tensor
    gp_scale: torch.Tensor

    def __init__(self, spk: AttnPoolNet, glob: AttnPoolNet, g_stats: list[torch.Tensor]) -> None:
        super().__init__()
        self.spk, self.glob = spk, glob
        for name, t in zip(("g_mean", "g_scale", "gp_mean", "gp_scale"), g_stats, strict=True):
            self.register_buffer(name, t)

    def forward(
        self,
        frames: torch.Tensor,
        prosody: torch.Tensor,
        mask: torch.Tensor,
        mean: torch.Tensor,
        scale: torch.Tensor,
        p_mean: torch.Tensor,
        p_scale: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        spk = self.spk((frames - mean) / scale, (prosody - p_mean) / p_scale, mask)
        glob = self.glob(
            (frames - self.g_mean) / self.g_scale, (prosody - self.gp_mean) / self.gp_scale, mask
        )
        return spk, glob

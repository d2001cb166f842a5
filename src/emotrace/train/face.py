"""Train emotrace's own facial expression classifier (needs the ``[train]`` extra: torch).

A MobileNetV2 initialised from ImageNet is fine-tuned on grayscale face images held in
memory as uint8 arrays. Augmentation runs on whole batches (random scale/rotation/shift,
horizontal flip, brightness/contrast jitter, random erasing); class imbalance is handled
with class-weighted cross-entropy (weights ``n_c ** -balance``) plus label smoothing; the
learning rate follows linear warm-up then cosine decay (AdamW); the input size can grow
from ``min_size`` to ``image_size`` during training; an exponential moving average (EMA)
of the weights is what gets evaluated, checkpointed and exported.

A run folder holds ``config.json``, ``last.pt`` (resumable), ``best.pt`` (best val
macro-F1), ``history.json``, ``train.log``, ``curves.png`` and, at the end, the ONNX model
and its model card. :func:`export` turns ``best.pt`` into ONNX at any time.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emotrace.errors import InputError
from emotrace.labels import CANONICAL
from emotrace.train.data import (
    TRAIN_SPLITS,
    VAL_SPLITS,
    LabelledFiles,
    find_split,
    limit_per_class,
    load_images,
    scan_folder,
)
from emotrace.train.metrics import summarize
from emotrace.train.net import FaceNet, face_net


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``config.json``)."""

    data_root: str
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    image_size: int = 64
    min_size: int = 48  # progressive resizing: first epochs train at this size
    label_smoothing: float = 0.1
    balance: float = 0.5  # class weight = count ** -balance (0: none, 1: inverse frequency)
    warmup_epochs: float = 0.5
    ema_decay: float = 0.999
    dropout: float = 0.2
    seed: int = 0
    val_fraction: float = 0.1  # held out when DATA_ROOT has no validation split
    numeric_labels: str = "auto"
    threads: int = 2
    limit_per_class: int = 0  # >0: use at most this many images per class and split (quick runs, tests)
    pretrained: bool = True
    max_minutes: float = (
        0.0  # >0: wall-clock budget; the schedule follows whichever of steps/time runs out first
    )
    init_from: str = ""  # a checkpoint (best.pt/last.pt) whose weights start a new run (warm restart)


def _log(run_dir: Path, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    with open(run_dir / "train.log", "a") as f:
        f.write(line + "\n")


def split_data(cfg: TrainConfig) -> tuple[LabelledFiles, LabelledFiles, str]:
    """Train and validation files of ``cfg.data_root`` and where validation came from."""
    root = Path(cfg.data_root)
    if not root.is_dir():
        raise InputError(root, "not a folder")
    train_dir = find_split(root, TRAIN_SPLITS)
    if train_dir is not None:
        val_dir = find_split(root, VAL_SPLITS)
        train = scan_folder(train_dir, cfg.numeric_labels)
        if val_dir is not None:
            val = scan_folder(val_dir, cfg.numeric_labels)
            source = f"split {val_dir.name}"
            return (
                limit_per_class(train, cfg.limit_per_class, cfg.seed),
                limit_per_class(val, cfg.limit_per_class, cfg.seed),
                source,
            )
        files = train
    else:
        files = scan_folder(root, cfg.numeric_labels)
    rng = np.random.default_rng(cfg.seed)
    val_idx: list[int] = []
    for c in range(len(CANONICAL)):
        idx = rng.permutation(np.flatnonzero(files.labels == c))
        val_idx += idx[: round(len(idx) * cfg.val_fraction)].tolist()
    held = set(val_idx)
    train = files.subset(i for i in range(len(files.files)) if i not in held)
    val = files.subset(sorted(val_idx))
    source = f"stratified {cfg.val_fraction:.0%} hold-out (seed {cfg.seed})"
    return (
        limit_per_class(train, cfg.limit_per_class, cfg.seed),
        limit_per_class(val, cfg.limit_per_class, cfg.seed),
        source,
    )


def _load_arrays(cfg: TrainConfig, run_dir: Path) -> dict[str, np.ndarray]:
    cache = run_dir / "data-cache.npz"
    if cache.exists():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    train, val, source = split_data(cfg)
    _log(run_dir, f"train: {train.describe()}")
    _log(run_dir, f"val ({source}): {val.describe()}")
    info = {
        "train": train.describe(),
        "val": val.describe(),
        "val_source": source,
        "train_counts": train.counts(),
    }
    (run_dir / "data.json").write_text(json.dumps(info, indent=1))
    arrays = {
        "train_x": load_images(train.files, cfg.image_size, cfg.threads),
        "train_y": train.labels,
        "val_x": load_images(val.files, cfg.image_size, cfg.threads),
        "val_y": val.labels,
    }
    np.savez(cache, **arrays)
    return arrays


def augment(x: torch.Tensor, out_size: int, gen: torch.Generator) -> torch.Tensor:
    """uint8 ``(B, S, S)`` -> augmented float ``(B, 1, out, out)`` in ``[0, 255]``."""
    b = x.shape[0]
    img = x.unsqueeze(1).float()

    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(b, generator=gen) * (hi - lo) + lo

    angle = u(-15, 15) * math.pi / 180
    scale = u(0.85, 1.15)  # >1 zooms out
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, u(-0.1, 0.1)], 1), torch.stack([sin * flip, cos, u(-0.1, 0.1)], 1)], 1
    )
    grid = F.affine_grid(theta, [b, 1, out_size, out_size], align_corners=False)
    out = F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = out.mean((1, 2, 3), keepdim=True)
    out = (out - mean) * u(0.7, 1.3).view(b, 1, 1, 1) + mean + u(-25, 25).view(b, 1, 1, 1)
    # random erasing of one rectangle in half the images
    erase = torch.rand(b, generator=gen) < 0.5
    h = (u(0.15, 0.4) * out_size).long()
    w = (u(0.15, 0.4) * out_size).long()
    y0 = (torch.rand(b, generator=gen) * (out_size - h)).long()
    x0 = (torch.rand(b, generator=gen) * (out_size - w)).long()
    ar = torch.arange(out_size)
    rows = (ar.view(1, -1) >= y0.view(-1, 1)) & (ar.view(1, -1) < (y0 + h).view(-1, 1))
    cols = (ar.view(1, -1) >= x0.view(-1, 1)) & (ar.view(1, -1) < (x0 + w).view(-1, 1))
    mask = (rows.unsqueeze(2) & cols.unsqueeze(1) & erase.view(-1, 1, 1)).unsqueeze(1)
    out = torch.where(mask, torch.rand(b, 1, 1, 1, generator=gen) * 255, out)
    return out.clamp(0, 255).contiguous(memory_format=torch.channels_last)


def size_at(cfg: TrainConfig, progress: float) -> int:
    """Progressive resizing: grow from ``min_size`` to ``image_size`` over the first 60% of training."""
    if cfg.min_size >= cfg.image_size or progress >= 0.6:
        return cfg.image_size
    size = cfg.min_size + (cfg.image_size - cfg.min_size) * progress / 0.6
    return int(round(size / 8) * 8)


def progress_at(cfg: TrainConfig, step: int, steps_per_epoch: int, elapsed: float) -> float:
    """Fraction of training done: steps over all steps, or wall-clock over ``max_minutes`` if larger."""
    p = step / max(1, cfg.epochs * steps_per_epoch)
    if cfg.max_minutes > 0:
        p = max(p, elapsed / (cfg.max_minutes * 60))
    return min(1.0, p)


def lr_at(cfg: TrainConfig, step: int, steps_per_epoch: int, progress: float) -> float:
    """Linear warm-up over ``warmup_epochs``, then cosine decay (by progress) to 1% of ``cfg.lr``."""
    warm = max(1, int(cfg.warmup_epochs * steps_per_epoch))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def predict_arrays(net: nn.Module, x: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of uint8 ``(N, S, S)`` images and of their mirror images."""
    net.eval()
    plain, mirror = [], []
    for i in range(0, len(x), batch):
        t = (
            torch.from_numpy(x[i : i + batch])
            .unsqueeze(1)
            .float()
            .contiguous(memory_format=torch.channels_last)
        )
        plain.append(F.softmax(net(t), 1).numpy())
        mirror.append(F.softmax(net(torch.flip(t, dims=[3])), 1).numpy())
    return np.concatenate(plain), np.concatenate(mirror)


class _EMA:
    """Exponential moving average of parameters; buffers (BatchNorm statistics) are copied."""

    def __init__(self, net: nn.Module, decay: float):
        self.model = copy.deepcopy(net).eval()
        self.decay = decay
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, net: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for e, p in zip(self.model.parameters(), net.parameters()):
            e.mul_(d).add_(p.detach(), alpha=1 - d)
        for e, b in zip(self.model.buffers(), net.buffers()):
            e.copy_(b)


def plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    """Loss and accuracy / macro-F1 per epoch as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.plot(ep, [h["train_loss"] for h in history], "o-", label="train loss")
    a.plot(ep, [h["val_loss"] for h in history], "o-", label="val loss")
    a.set_xlabel("epoch")
    a.legend()
    b.plot(ep, [h["train_acc"] for h in history], "o-", label="train accuracy (augmented)")
    b.plot(ep, [h["val_acc"] for h in history], "o-", label="val accuracy")
    b.plot(ep, [h["val_macro_f1"] for h in history], "o-", label="val macro-F1")
    b.set_xlabel("epoch")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _save(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


RESUME_OVERRIDES = ("epochs", "max_minutes", "threads")


def train(
    cfg: TrainConfig | None,
    run_dir: str | Path,
    resume: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train a new run (``cfg``) or resume the one in ``run_dir``; returns the best epoch's record.

    When resuming, the saved configuration is used; ``overrides`` may change only
    :data:`RESUME_OVERRIDES` (e.g. more epochs or minutes; the cosine schedule stretches).
    """
    run = Path(run_dir)
    last = run / "last.pt"
    state: dict[str, Any] | None = None
    if resume:
        if not last.exists():
            raise InputError(run, "nothing to resume (no last.pt)")
        state = torch.load(last, map_location="cpu", weights_only=False)
        bad = set(overrides or {}) - set(RESUME_OVERRIDES)
        if bad:
            raise InputError(run, f"cannot change {', '.join(sorted(bad))} when resuming")
        cfg = dataclasses.replace(TrainConfig(**state["config"]), **(overrides or {}))
        _log(run, f"resuming after epoch {state['epoch']}")
    elif last.exists():
        raise InputError(run, "already holds a run; pass --resume to continue it or choose another folder")
    if cfg is None:
        raise ValueError("a new run needs a TrainConfig")
    run.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, cfg.threads))
    (run / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2))

    torch.manual_seed(cfg.seed)
    data = _load_arrays(cfg, run)
    train_x, train_y, val_x, val_y = data["train_x"], data["train_y"], data["val_x"], data["val_y"]
    counts = np.bincount(train_y, minlength=len(CANONICAL)).astype(float)
    weights = np.where(counts > 0, np.maximum(counts, 1) ** -cfg.balance, 0.0)
    weights *= counts.sum() / max((weights * counts).sum(), 1e-9)
    class_w = torch.tensor(weights, dtype=torch.float32)

    warm_start = bool(cfg.init_from) and state is None
    net = face_net(
        len(CANONICAL), pretrained=cfg.pretrained and state is None and not warm_start, dropout=cfg.dropout
    )
    if warm_start:
        init = torch.load(cfg.init_from, map_location="cpu", weights_only=False)
        net.load_state_dict(init["ema"])
        _log(run, f"weights from {cfg.init_from} (epoch {init.get('epoch')})")
    net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = _EMA(net, cfg.ema_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict[str, Any]] = []
    start, step, elapsed = 0, 0, 0.0
    if state is not None:
        net.load_state_dict(state["model"])
        ema.model.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        history, start, step = state["history"], state["epoch"], state["step"]
        elapsed = state.get("elapsed", 0.0)

    steps_per_epoch = max(1, len(train_x) // cfg.batch_size)
    progress = progress_at(cfg, step, steps_per_epoch, elapsed)
    for epoch in range(start, cfg.epochs):
        if progress >= 1.0:
            break
        size = size_at(cfg, progress)
        net.train()
        t0 = time.time()
        order = torch.randperm(len(train_x), generator=gen).numpy()
        tot_loss = tot_ok = seen = 0.0
        for i in range(steps_per_epoch):
            progress = progress_at(cfg, step, steps_per_epoch, elapsed + time.time() - t0)
            if progress >= 1.0:
                break
            idx = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            xb = augment(torch.from_numpy(train_x[idx]), size, gen)
            yb = torch.from_numpy(train_y[idx])
            lr = lr_at(cfg, step, steps_per_epoch, progress)
            for g in opt.param_groups:
                g["lr"] = lr
            logits = net(xb)
            loss = F.cross_entropy(logits, yb, weight=class_w, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ema.update(net, step)
            step += 1
            tot_loss += float(loss.detach()) * len(idx)
            tot_ok += float((logits.argmax(1) == yb).sum())
            seen += len(idx)
        elapsed += time.time() - t0
        plain, mirror = predict_arrays(ema.model, val_x)
        probs = (plain + mirror) / 2
        m = summarize(val_y, probs.argmax(1))
        val_loss = float(
            F.nll_loss(torch.log(torch.from_numpy(probs).clamp_min(1e-8)), torch.from_numpy(val_y))
        )
        rec = {
            "epoch": epoch + 1,
            "size": size,
            "lr": lr,
            "steps": step,
            "train_loss": tot_loss / max(seen, 1),
            "train_acc": tot_ok / max(seen, 1),
            "val_loss": val_loss,
            "val_acc": m["accuracy"],
            "val_macro_f1": m["macro_f1"],
            "val_acc_noflip": float((plain.argmax(1) == val_y).mean()) if len(val_y) else 0.0,
            "val_recall": m["per_class_recall"],
            "seconds": time.time() - t0,
        }
        history.append(rec)
        best_prev = max((h["val_macro_f1"] for h in history[:-1]), default=-1.0)
        ckpt = {
            "config": dataclasses.asdict(cfg),
            "model": net.state_dict(),
            "ema": ema.model.state_dict(),
            "optimizer": opt.state_dict(),
            "generator": gen.get_state(),
            "history": history,
            "epoch": epoch + 1,
            "step": step,
            "elapsed": elapsed,
        }
        _save(last, ckpt)
        if rec["val_macro_f1"] > best_prev:
            _save(
                run / "best.pt",
                {"config": ckpt["config"], "ema": ckpt["ema"], "epoch": epoch + 1, "metrics": m},
            )
        (run / "history.json").write_text(json.dumps(history, indent=1))
        plot_curves(history, run / "curves.png")
        recall = " ".join(f"{k}={v:.2f}" for k, v in m["per_class_recall"].items())
        _log(
            run,
            f"epoch {epoch + 1}/{cfg.epochs} ({progress:.0%} of schedule) size {size} loss {rec['train_loss']:.3f} train_acc {rec['train_acc']:.3f} "
            f"val_acc {rec['val_acc']:.4f} (noflip {rec['val_acc_noflip']:.4f}) val_f1 {rec['val_macro_f1']:.4f} "
            f"[{recall}] {rec['seconds']:.0f}s",
        )
    return max(history, key=lambda h: h["val_macro_f1"]) if history else {}


def load_checkpoint_net(path: str | Path) -> tuple[FaceNet, dict[str, Any]]:
    """The EMA network stored in a ``best.pt``/``last.pt`` checkpoint and the checkpoint dict."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = ck["config"]
    net = face_net(len(CANONICAL), pretrained=False, dropout=cfg.get("dropout", 0.2))
    net.load_state_dict(ck["ema"])
    return net.eval(), ck


class _Exported(nn.Module):
    """``(N, 1, S, S)`` gray pixels in ``[0, 255]`` -> probabilities (mirror-averaged when ``flip``)."""

    def __init__(self, net: nn.Module, flip: bool):
        super().__init__()
        self.net, self.flip = net, flip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = F.softmax(self.net(x), 1)
        if self.flip:
            p = (p + F.softmax(self.net(torch.flip(x, dims=[3])), 1)) / 2
        return p


def export_onnx(checkpoint: str | Path, out: str | Path, flip: bool = True) -> Path:
    """Export a checkpoint's EMA network to ONNX (input ``gray``, output ``probs``, batch dynamic)."""
    net, ck = load_checkpoint_net(checkpoint)
    size = int(ck["config"]["image_size"])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 1, size, size)
    torch.onnx.export(
        _Exported(net, flip).eval(),
        (dummy,),
        str(out),
        input_names=["gray"],
        output_names=["probs"],
        dynamic_axes={"gray": {0: "n"}, "probs": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    return out

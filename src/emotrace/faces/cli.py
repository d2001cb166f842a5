"""``emotrace explain VIDEO --time T``: occlusion saliency heatmaps for the faces at time T."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emotrace.config import THREADS_HELP


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
    """Add ``emotrace explain``."""
    app.command("explain")(explain_cmd)

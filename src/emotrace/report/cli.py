"""``emotrace report DIR``: re-render reports and exports from an existing result folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def report_cmd(
    folder: Annotated[Path, typer.Argument(help="Result folder written by `emotrace analyze`.")],
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="Formats to write (repeatable): html srt vtt eaf video csv parquet "
                                            "json events. Default: html srt vtt eaf."),
    ] = None,
    video: Annotated[
        Path | None, typer.Option(help="Source video, when it moved since the analysis (for thumbnails/video).")
    ] = None,
) -> None:
    """Re-render the HTML report, subtitles, ELAN file (and more) from DIR/timeline.json."""
    from emotrace.report.rerender import rerender

    for path in rerender(folder, list(fmt) if fmt else None, video):
        typer.echo(str(path))


def add_commands(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``report`` to the emotrace CLI."""
    app.command("report")(report_cmd)

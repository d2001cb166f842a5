"""``emotrace batch`` (analyse a corpus, resumable) and ``emotrace query`` (ask the corpus index)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self

import typer

from emotrace.errors import ConfigError, EmotraceError

if TYPE_CHECKING:
    import pandas as pd


class BatchProgress:
    """One overall progress bar with ETA; failures are printed as they happen."""

    def __init__(self, quiet: bool = False):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # stdout: the CLI routes stderr through a line filter (no live display possible there)
        self.console = Console()
        self.progress = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            disable=quiet or not self.console.is_terminal,
        )
        self.task = self.progress.add_task("batch", total=None, counts="")
        self.counts = {"done": 0, "skipped": 0, "failed": 0}

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: str, name: str, completed: int, total: int) -> None:
        if event in self.counts:
            self.counts[event] += 1
        if event in ("failed", "retry"):
            self.console.print(f"emotrace: {event}: {name}", highlight=False)
        counts = " ".join(f"{k} {v}" for k, v in self.counts.items())
        self.progress.update(self.task, total=total, completed=completed, counts=counts)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _print_frame(df: pd.DataFrame, as_csv: bool, title: str | None = None) -> None:
    if as_csv:
        typer.echo(df.to_csv(index=False), nl=False)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for col in df.columns:
        t.add_column(str(col))
    for row in df.itertuples(index=False):
        t.add_row(*(_cell(v) for v in row))
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(120, 14 * len(df.columns)))
    console.print(t)


def batch(
    inputs: Annotated[
        list[str], typer.Argument(metavar="INPUTS", help="Folders (recursive), globs, files or CSV manifests.")
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Corpus folder: one result folder per video.")],
    config: Annotated[Path | None, typer.Option("-c", "--config", help="TOML/YAML config file.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Config override key=value (repeatable).")] = None,
    require: Annotated[
        str | None,
        typer.Option(help="Streams each input must have: any (default: analyse what is there), audio, video, both."),
    ] = None,
    workers: Annotated[int, typer.Option(min=0, help="Local worker processes (0 = one per core, at most 4).")] = 0,
    scheduler: Annotated[
        str | None, typer.Option(help="Run on a Dask cluster: scheduler address tcp://HOST:PORT.")
    ] = None,
    dask_local: Annotated[
        int | None, typer.Option("--dask-local", min=1, help="Run on a local Dask cluster of N workers.")
    ] = None,
    retries: Annotated[int, typer.Option(min=0, help="Retries of a video whose worker crashed.")] = 1,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress bar.")] = False,
) -> int:
    """Analyse many videos into OUT; rerun to resume (finished videos are skipped).

    Exit code 0 when every video is done or skipped, 1 when some failed (see OUT/failures.csv).
    """
    from emotrace.batch.engines import DaskEngine, Engine, LocalEngine
    from emotrace.batch.inputs import collect_inputs
    from emotrace.batch.runner import FAILURES, run_batch
    from emotrace.config import load_config

    if scheduler and dask_local:
        raise ConfigError("--scheduler and --dask-local exclude each other")
    cfg = load_config(config, [*(set_ or []), *([f"require={require}"] if require else [])])
    items = collect_inputs(inputs, exclude=[out])
    engine: Engine
    if scheduler or dask_local:
        engine = DaskEngine(scheduler=scheduler, local_workers=dask_local)
    else:
        engine = LocalEngine(workers or min(os.cpu_count() or 1, 4))
    with BatchProgress(quiet=quiet) as progress:
        s = run_batch(items, out, config=cfg, engine=engine, retries=retries, hook=progress)
    typer.echo(
        f"batch: {s.total} videos: {s.done} done, {s.skipped} skipped, {s.failed} failed "
        f"in {s.seconds:.1f} s ({engine.name}, {engine.workers} worker(s))"
    )
    typer.echo(f"index:    {out / 'index.sqlite'}")
    if s.failures:
        for name, err in list(s.failures.items())[:20]:
            typer.echo(f"failed:   {name}: {err}", err=True)
        if len(s.failures) > 20:
            typer.echo(f"failed:   ... and {len(s.failures) - 20} more", err=True)
        typer.echo(f"failures: {out / FAILURES}")
        return 1
    return 0


def query(
    corpus: Annotated[Path, typer.Argument(help="Corpus folder written by `emotrace batch` (or its index.sqlite).")],
    sql: Annotated[str | None, typer.Argument(help="SQL over tables videos, persons, windows, status.")] = None,
    rank: Annotated[str | None, typer.Option(help="Rank videos by their share of this emotion (e.g. anger).")] = None,
    per_speaker: Annotated[
        bool, typer.Option("--per-speaker", help="Per-speaker (person) averages; with --rank, rank persons.")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most N rows.")] = None,
    export: Annotated[Path | None, typer.Option(help="Write every table as Parquet into this folder.")] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    """Ask the corpus index: SQL, canned questions (--rank, --per-speaker) or a Parquet export."""
    from emotrace.batch.index import CorpusIndex

    if sql and (rank or per_speaker):
        raise EmotraceError("give either SQL or --rank/--per-speaker, not both")
    with CorpusIndex(corpus, readonly=True) as index:
        if export is not None:
            for p in index.export_parquet(export):
                typer.echo(str(p))
            if not (sql or rank or per_speaker):
                return
        title: str | None
        df: Any
        if sql:
            df, title = index.sql(sql), None
        elif rank:
            per = "person" if per_speaker else "video"
            df, title = index.rank(rank, per=per), f"{per}s ranked by share of {rank}"
        elif per_speaker:
            df, title = index.per_speaker(), "per-speaker averages"
        else:
            df, title = index.overview(), "videos (all columns: --csv, or SQL on table videos)"
        if limit:
            df = df.head(limit)
        _print_frame(df, as_csv, title)


def add_commands(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``batch`` and ``query`` to the emotrace CLI."""
    app.command("batch")(batch)
    app.command("query")(query)

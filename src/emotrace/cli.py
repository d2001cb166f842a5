"""The ``emotrace`` command line: a thin layer over the Python API."""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any, Self

import click
import typer

from emotrace import __version__
from emotrace.errors import ConfigError, EmotraceError

app = typer.Typer(
    name="emotrace",
    help="Second-by-second emotion timelines from faces, voices and words in video.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(help="Train emotrace's own models on standard dataset layouts.", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate models on labelled datasets (accuracy, F1, confusion).", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")

# capability modules that add their own commands: add_commands(app, train_app, eval_app)
CLI_PLUGINS: tuple[str, ...] = (
    "emotrace.faces.cli",
    "emotrace.voice.cli",
    "emotrace.text.cli",
    "emotrace.shots.cli",
    "emotrace.analysis.cli",
    "emotrace.report.cli",
    "emotrace.serve.cli",
    "emotrace.batch.cli",
)


# decided before the native-log filter turns fd 2 into a pipe
STDERR_IS_TTY = os.isatty(2)


def _err(message: str) -> None:
    typer.echo(f"emotrace: error: {message}", err=True)


class RichHook:
    """Progress bars with ETA for the CLI (one task per pipeline step)."""

    def __init__(self, quiet: bool = False):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        console = Console(stderr=True, force_terminal=STDERR_IS_TTY, force_interactive=STDERR_IS_TTY)
        self.progress = Progress(
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=quiet or not STDERR_IS_TTY,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self._lock = threading.Lock()  # the audio stages report from their own thread

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:  # on failure the bars vanish: the error line stands alone
            self.progress.live.transient = True
        self.progress.stop()

    def __call__(self, step: str, completed: float | None = None, total: float | None = None) -> None:
        with self._lock:
            if step not in self.tasks:
                self.tasks[step] = self.progress.add_task(step, total=total or 1.0)
            task = self.tasks[step]
            if total:
                self.progress.update(task, total=total)
            if completed is not None:
                self.progress.update(task, completed=completed)


def _version_cb(value: bool) -> None:
    if value:
        typer.echo(f"emotrace {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_cb, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """emotrace: read a video, tell how the people in it feel, second by second."""


@app.command()
def analyze(
    video: Annotated[Path, typer.Argument(help="Video (or audio) file to analyse.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Result folder to create.")],
    config: Annotated[Path | None, typer.Option("-c", "--config", help="TOML/YAML config file.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Config override key=value, e.g. stages.faces.expression=fer-mini-xception."),
    ] = None,
    fps: Annotated[float | None, typer.Option(help="Face sampling rate (frames per second).")] = None,
    fmt: Annotated[
        list[str] | None, typer.Option("--format", "-f", help="Output formats (repeatable): json events csv parquet srt vtt eaf html video.")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing result folder.")] = False,
    allow_download: Annotated[bool, typer.Option(help="Allow optional models to be fetched from URLs.")] = False,
    tolerate_corrupt: Annotated[bool, typer.Option(help="Skip damaged frames/truncation instead of failing.")] = False,
    audio_only: Annotated[bool, typer.Option(help="Analyse only the sound (input may have no video).")] = False,
    video_only: Annotated[bool, typer.Option(help="Analyse only the picture (input may have no audio).")] = False,
    require: Annotated[
        str | None,
        typer.Option(help="Streams the input must have: any (default: analyse what is there), audio, video, both."),
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu or cuda.")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress bars.")] = False,
) -> None:
    """Analyse one video and write timeline.json, events.json and tables/ to OUT."""
    from emotrace.config import load_config
    from emotrace.pipeline import analyze as run

    overrides = list(set_ or [])
    if fps is not None:
        overrides.append(f"fps={fps}")
    if allow_download:
        overrides.append("allow_download=true")
    if tolerate_corrupt:
        overrides.append("tolerate_corrupt=true")
    if device:
        overrides.append(f"device={device}")
    if audio_only and video_only:
        raise ConfigError("--audio-only and --video-only exclude each other")
    if require is not None:  # validated with the rest of the config (one line, exit 2)
        overrides.append(f"require={require}")
    if audio_only:
        overrides.append("require=audio")
        for slot in ("faces", "shots", "keyframes"):
            overrides.append(f"stages.{slot}.enabled=false")
    if video_only:
        overrides.append("require=video")
        for slot in ("voice", "words"):
            overrides.append(f"stages.{slot}.enabled=false")
    cfg = load_config(config, overrides)
    formats = list(fmt) if fmt else None
    with RichHook(quiet=quiet) as hook:
        tl = run(video, out, config=cfg, hook=hook, overwrite=overwrite, formats=formats, front="cli")
    for w in tl.provenance.warnings:
        typer.echo(f"emotrace: note: {w}", err=True)
    n_persons = len(tl.persons)
    typer.echo(
        f"{video}: {tl.video.duration_s:.1f} s, {n_persons} person(s), {len(tl.faces)} face observations, "
        f"{len(tl.speech)} speech segments, {len(tl.utterances)} utterances, {len(tl.intervals)} intervals"
    )
    typer.echo(f"timeline: {out / 'timeline.json'}")
    if (out / "report.html").exists():
        typer.echo(f"report:   {out / 'report.html'}")
    typer.echo(f"tables:   {out / 'tables'}")


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows instead of a table.")] = False,
) -> None:
    """List every model emotrace knows: task, source, size, licence, present or not."""
    from emotrace.models.assets import load_catalog, status

    rows = [status(name) for name in sorted(load_catalog())]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="emotrace models")
    for col in ("name", "task", "present", "source", "size MB", "licence"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            str(r["name"]),
            str(r["task"]),
            "yes" if r["present"] else "[red]no[/red]",
            str(r["source"]) if r["present"] else str(r.get("how_to_get") or "missing"),
            "" if r["size_mb"] is None else f"{r['size_mb']:.1f}",
            str(r["licence"]),
        )
    Console().print(t)


@app.command()
def stages() -> None:
    """List the stage plug-ins (slot, backend, kind, availability, what each reads and writes) and
    the stage modules that failed to import."""
    from emotrace.stage import BUILTIN_MODULES, available, import_errors

    for (slot, backend), cls in sorted(available().items()):
        missing = cls.missing_requirements()
        state = "available" if not missing else f"missing: {', '.join(missing)}"
        typer.echo(f"{slot:<11} {backend:<22} {cls.kind:<7} {state}")
        flow = []
        if cls.reads:
            needs = f" (needs {', '.join(cls.needs)})" if cls.needs else ""
            flow.append(f"reads {', '.join(cls.reads)}{needs}")
        if cls.writes:
            flow.append(f"writes {', '.join(cls.writes)}")
        if flow:
            typer.echo(f"{'':<11} {'; '.join(flow)}")
    slot_of = {m: s for s, m in BUILTIN_MODULES.items()}
    for mod, why in sorted(import_errors().items()):
        typer.echo(f"{slot_of.get(mod, '?'):<11} {'(failed to import)':<22} {'':<7} {mod}: {why}")


@app.command("config")
def show_config(
    config: Annotated[Path | None, typer.Option("-c", "--config", help="Config file to merge.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override key=value.")] = None,
) -> None:
    """Print the effective configuration as TOML, every stage's options with their defaults."""
    from emotrace.config import dump_toml, load_config
    from emotrace.stage import check_config_stages, resolved_config

    cfg = load_config(config, set_)
    check_config_stages(cfg.stages)
    typer.echo(dump_toml(resolved_config(cfg)))


@app.command()
def schema() -> None:
    """Print the JSON Schema of timeline.json."""
    from emotrace.model import Timeline

    typer.echo(json.dumps(Timeline.json_schema(), indent=1, sort_keys=True))


def _load_plugins() -> None:
    for mod in CLI_PLUGINS:
        try:
            m = importlib.import_module(mod)
        except ImportError as e:
            if getattr(e, "name", None) == mod:  # module not written yet
                continue
            if os.environ.get("EMOTRACE_DEBUG"):
                raise
            continue
        add = getattr(m, "add_commands", None)
        if add is not None:
            add(app, train_app, eval_app)


def main(argv: list[str] | None = None) -> None:
    from emotrace._stderr import NativeStderrFilter

    with NativeStderrFilter():
        code = _main(argv)
    # skip interpreter teardown: native libraries' finalisers may print at exit
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


class Stopped(BaseException):
    """Ctrl-C or SIGTERM, raised in the main thread so that every ``finally`` (temporary result
    folders) runs before the process ends. Not a KeyboardInterrupt: typer would turn that into
    a silent exit code."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_RECEIVED: list[int] = []  # signals received by this process


def _on_signal(signum: int, frame: object) -> None:
    _RECEIVED.append(signum)
    raise Stopped(signum)


def _stopped(signum: int) -> int:
    """Say that a signal ended the run; its exit code."""
    _err("interrupted" if signum == signal.SIGINT else "terminated")
    return 128 + signum


def _main(argv: list[str] | None) -> int:
    _load_plugins()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="emotrace")
        code = rv if isinstance(rv, int) else 0
    except EmotraceError as e:
        if _RECEIVED:  # e.g. a stage import that a signal broke: the user stopped the run
            return _stopped(_RECEIVED[0])
        _err(str(e))
        code = e.exit_code
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.exceptions.Abort:
        _err("aborted")
        code = 130
    except click.ClickException as e:
        e.show()
        code = e.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        code = 130
    except Stopped as e:
        code = _stopped(e.signum)
    except BrokenPipeError:
        code = 0
    except Exception as e:  # a bug: one line by default, the traceback with EMOTRACE_DEBUG=1
        if _RECEIVED:  # a signal that landed inside an import or a C extension, which wrapped it
            return _stopped(_RECEIVED[0])
        if os.environ.get("EMOTRACE_DEBUG"):
            raise
        first = str(e).splitlines()[0] if str(e) else ""
        _err(f"internal error: {type(e).__name__}: {first} (rerun with EMOTRACE_DEBUG=1 for the traceback)")
        code = 1
    return code


if __name__ == "__main__":
    main()

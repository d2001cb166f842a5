"""``emotrace serve``: the local web app."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from emotrace.errors import DependencyMissing, InputError, OutputError


def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on (keep 127.0.0.1 unless you mean to share it).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8765,
    data_dir: Annotated[Path, typer.Option(help="Folder of videos (and uploads) and results.")] = Path(
        "emotrace-data"
    ),
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest upload accepted, in MB.")] = 500,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Config override for analyses, key=value.")] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(help="Another host name the server answers to (repeatable; localhost names always are)."),
    ] = None,
) -> None:
    """Serve the local web viewer: upload or choose a video, follow the analysis, browse results."""
    try:
        import uvicorn

        from emotrace.serve.app import create_app
    except ImportError as e:
        raise DependencyMissing(
            f"emotrace serve needs {e.name}: pip install 'emotrace[serve]' (fastapi, uvicorn, python-multipart)"
        ) from None
    if data_dir.exists() and not data_dir.is_dir():
        raise InputError(data_dir, "--data-dir is not a folder")
    try:
        app = create_app(data_dir, max_upload_mb, list(set_ or []), host=host, allow_hosts=list(allow_host or []))
    except OSError as e:
        raise OutputError(data_dir, f"cannot use as data folder ({e.strerror or e})") from None
    _check_port(host, port)
    typer.echo(f"emotrace viewer on http://{host}:{port}/  (data: {data_dir.resolve()})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _check_port(host: str, port: int) -> None:
    """Fail with one line when the address cannot be listened on (uvicorn would exit with a log)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise InputError(host, f"unknown host ({e.strerror})") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            raise InputError(f"{host}:{port}", f"cannot listen there ({e.strerror or e})") from None


def add_commands(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``serve`` to the emotrace CLI."""
    app.command("serve")(serve_cmd)

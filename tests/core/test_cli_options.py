"""CLI options mean the same in every command (issue 23): ``--threads`` is a CPU thread count
where 0 means all cores, wherever it appears."""

from __future__ import annotations

import typer

from emotrace.cli import _load_plugins, app


def _commands(cmd, path: str = "emotrace"):  # type: ignore[no-untyped-def]
    yield path, cmd
    if hasattr(cmd, "commands"):  # a group (typer may vendor its own click)
        for name, sub in cmd.commands.items():
            yield from _commands(sub, f"{path} {name}")


def test_threads_means_the_same_everywhere() -> None:
    _load_plugins()
    root = typer.main.get_command(app)
    found = []
    for path, cmd in _commands(root):
        for p in cmd.params:
            if "--threads" in getattr(p, "opts", []):
                found.append(path)
                assert getattr(p, "min", None) == 0, path
                assert p.help and p.help.startswith("CPU threads (0 = all cores)"), (path, p.help)
                assert p.default in (0, None), (path, p.default)
    # analyze takes it through --set threads=N; the training and evaluation commands as an option
    assert {"emotrace train face", "emotrace train text", "emotrace eval face"} <= set(found), found


def test_model_means_the_same_in_every_eval_command() -> None:
    """``-m/--model`` names the model under evaluation in every ``emotrace eval`` command."""
    _load_plugins()
    root = typer.main.get_command(app)
    evals = {path: cmd for path, cmd in _commands(root) if path.startswith("emotrace eval ")}
    assert {"emotrace eval face", "emotrace eval voice", "emotrace eval text"} <= set(evals)
    for path, cmd in evals.items():
        opts = [p for p in cmd.params if "--model" in getattr(p, "opts", [])]
        assert len(opts) == 1, path
        assert "-m" in opts[0].opts, path
        assert opts[0].help and opts[0].help.startswith("Model to evaluate:"), (path, opts[0].help)

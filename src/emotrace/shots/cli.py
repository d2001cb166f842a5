"""``emotrace describe DIR``: describe a result folder's keyframes with a vision LLM."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from emotrace.errors import InputError


def describe_cmd(
    result: Annotated[Path, typer.Argument(help="Result folder of `emotrace analyze` (with keyframes/).")],
    base_url: Annotated[str | None, typer.Option(help="Endpoint root, e.g. http://127.0.0.1:11434/v1.",
                                                 envvar="EMOTRACE_LLM_BASE_URL")] = None,
    model: Annotated[str | None, typer.Option(help="Model name.", envvar="EMOTRACE_LLM_MODEL")] = None,
    api_key_env: Annotated[str, typer.Option(help="Environment variable that holds the API key.")
                           ] = "EMOTRACE_LLM_API_KEY",
    api_version: Annotated[str | None, typer.Option(help="Azure OpenAI api-version.")] = None,
    prompt_file: Annotated[Path | None, typer.Option(help="Prompt template ($shot_index $start $end $persons "
                                                          "$face_emotions $voice_emotions $transcript).")] = None,
    per: Annotated[str, typer.Option(help="One request per 'shot' or per 'keyframe'.")] = "shot",
    shot: Annotated[list[int] | None, typer.Option(help="Only these shot indices (repeatable).")] = None,
    max_images: Annotated[int, typer.Option(min=1)] = 3,
    concurrency: Annotated[int, typer.Option(min=1)] = 4,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per request.")] = 60.0,
    retries: Annotated[int, typer.Option(min=0)] = 4,
    json_mode: Annotated[bool, typer.Option(help='Ask for response_format {"type": "json_object"}.')] = False,
    cache: Annotated[bool, typer.Option(help="Use the on-disk reply cache.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the descriptions as JSON.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Log requests and token usage.")] = False,
) -> None:
    """Send each shot's keyframes and what emotrace found to an OpenAI-compatible vision model;
    write the replies into the keyframes of RESULT/timeline.json."""
    from emotrace.model import StageRun
    from emotrace.report.rerender import load_result
    from emotrace.report.writers import write_text_atomic
    from emotrace.shots.describe import DescribeOptions, describe_timeline

    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    tl = load_result(result)
    path = result / "timeline.json" if result.is_dir() else result
    if not tl.keyframes:
        raise InputError(result, "no keyframes in this result (run analyze with the keyframes stage on)")
    if per not in ("shot", "keyframe"):
        raise InputError(per, "--per must be 'shot' or 'keyframe'")
    opts: dict[str, object] = {
        "base_url": base_url, "model": model, "api_key_env": api_key_env, "api_version": api_version, "per": per,
        "max_images": max_images, "concurrency": concurrency, "timeout_s": timeout, "retries": retries,
        "json_mode": json_mode, "cache": cache,
    }
    if prompt_file is not None:
        if not prompt_file.is_file():
            raise InputError(prompt_file, "prompt file not found")
        opts["prompt"] = prompt_file.read_text(encoding="utf-8")
    t0 = time.perf_counter()
    usage, errors = describe_timeline(tl, path.parent, DescribeOptions.model_validate(opts),
                                      shots=set(shot) if shot else None)
    tl.provenance.stages.append(StageRun(
        name="describe", backend="default", status="ok" if not errors else "failed",
        seconds=round(time.perf_counter() - t0, 4), message="; ".join(errors)[:500] or None,
    ))
    tl.provenance.warnings.extend(e for e in errors if e not in tl.provenance.warnings)
    write_text_atomic(path, tl.to_json())
    described = [k for k in tl.keyframes if k.description]
    if as_json:
        typer.echo(json.dumps([k.model_dump(mode="json") for k in described]))
    else:
        seen: set[int] = set()
        for k in described:
            if k.shot_index in seen and per == "shot":
                continue
            seen.add(k.shot_index)
            d = k.description or {}
            typer.echo(f"shot {k.shot_index:3d} {k.time_s:8.2f}s  [{', '.join(d.get('emotions', []))}]  "
                       f"{d.get('description', '')}")
    typer.echo(f"{usage.requests} requests, {usage.cached} cached; tokens: {usage.prompt_tokens} prompt + "
               f"{usage.completion_tokens} completion", err=True)
    for e in errors:
        typer.echo(f"emotrace: warning: {e}", err=True)
    if errors and usage.requests + usage.cached == 0:
        raise InputError(base_url or result, f"every describe request failed ({len(errors)}); first: {errors[0]}")


def add_commands(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Register ``describe``."""
    app.command("describe")(describe_cmd)

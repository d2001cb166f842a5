"""CLI of fusion and analysis: ``emotrace train fusion``, ``emotrace train highlights`` and
``emotrace highlights`` (re-score and export highlight clips of a result folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from emotrace.errors import InputError
from emotrace.train.run import command_line

SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Config override for analysing the clips, key=value.")
]
CacheOpt = Annotated[
    Path | None, typer.Option(help="Folder caching each clip's analysed timeline between runs.")
]


def train_fusion_cmd(
    data: Annotated[Path, typer.Argument(help="CSV (clip,label), a folder of <label>/ sub-folders, "
                                              "or a folder of CREMA-D/RAVDESS-named clips.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Run folder to write (fusion.json, config.json, "
                                                          "metrics.json, confusion.png, MODEL_CARD.md).")],
    cache: CacheOpt = None,
    set_: SetOpt = None,
    window_s: Annotated[float, typer.Option(min=0.05, help="Window length in seconds.")] = 1.0,
    folds: Annotated[int, typer.Option(min=2, help="Clip-grouped cross-validation folds.")] = 5,
    c: Annotated[float, typer.Option(min=1e-6, help="Inverse regularisation strength.")] = 1.0,
) -> None:
    """Train the learned fusion on labelled clips; compare it with late fusion and each modality."""
    from emotrace.fusion.train import format_rows, train_fusion

    _check_out(out)
    _, rows = train_fusion(data, out, list(set_ or []), cache, window_s, folds, c,
                           echo=lambda m: typer.echo(m, err=True), command=command_line())
    typer.echo(format_rows(rows))
    typer.echo(f"run folder: {out}  (use: --set stages.fusion.backend=learned --set stages.fusion.model={out})")


def train_highlights_cmd(
    csv_path: Annotated[Path, typer.Argument(help="CSV with video,start,end (seconds) of labelled highlights.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Run folder to write (highlights.json, config.json, "
                                                          "metrics.json, MODEL_CARD.md).")],
    cache: CacheOpt = None,
    set_: SetOpt = None,
    window_s: Annotated[float, typer.Option(min=0.05, help="Window length in seconds.")] = 1.0,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Probability threshold for F1.")] = 0.5,
    folds: Annotated[int, typer.Option(min=2, help="Video-grouped cross-validation folds.")] = 5,
) -> None:
    """Train the supervised highlight model; compare audio-only, video-only and multimodal by F1."""
    from emotrace.analysis.highlight_model import format_rows, train_highlights

    _check_out(out)
    _, rows = train_highlights(csv_path, out, list(set_ or []), cache, window_s, threshold, folds,
                               echo=lambda m: typer.echo(m, err=True), command=command_line())
    typer.echo(format_rows(rows, threshold))
    typer.echo(f"run folder: {out}  (use: --set stages.highlights.model={out})")


def highlights_cmd(
    result: Annotated[Path, typer.Argument(help="Result folder of `emotrace analyze` (or its timeline.json).")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Folder for the clips (default RESULT/highlights).")
                   ] = None,
    video: Annotated[Path | None, typer.Option(help="The analysed video, if it moved.")] = None,
    top_k: Annotated[int, typer.Option(min=1)] = 5,
    min_len_s: Annotated[float, typer.Option(min=0.0)] = 3.0,
    padding_s: Annotated[float, typer.Option(min=0.0)] = 1.0,
    model: Annotated[Path | None, typer.Option(help="Supervised highlight model (JSON).")] = None,
    reel: Annotated[bool, typer.Option(help="Also write one reel of all clips.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the segments as JSON.")] = False,
) -> None:
    """Re-score a result's highlights and export them as stream-copied clips and a reel."""
    from emotrace.analysis.clips import export_highlights
    from emotrace.analysis.highlight_features import feature_matrix, select_segments, unsupervised_score
    from emotrace.analysis.highlight_model import HighlightModel
    from emotrace.io.media import load_audio, probe
    from emotrace.report.rerender import load_result

    tl = load_result(result)
    src = video or Path(tl.video.path)
    info = probe(src)
    audio = load_audio(src, info=info) if info.has_audio else None
    window_s = float(tl.provenance.config.get("window_s", 1.0))
    starts, x = feature_matrix(tl, audio, window_s)
    if model is not None:
        score, reasons = HighlightModel.load(model).predict_proba(x), ["model"] * len(x)
    else:
        score, reasons = unsupervised_score(x)
    segs = select_segments(starts, score, window_s, info.duration_s, top_k, min_len_s, padding_s)
    folder = result if result.is_dir() else result.parent
    clips, reel_path = export_highlights(src, out or folder / "highlights", [(a, b) for a, b, _, _ in segs],
                                         reel=reel)
    rows = [{"start_s": a, "end_s": b, "score": round(s, 4), "reason": reasons[i], "clip": str(c)}
            for (a, b, s, i), c in zip(segs, clips, strict=True)]
    if as_json:
        typer.echo(json.dumps({"highlights": rows, "reel": str(reel_path) if reel_path else None}))
        return
    for r in rows:
        typer.echo(f"{r['start_s']:8.2f} {r['end_s']:8.2f}  score {r['score']:.3f}  {r['reason']:<9} {r['clip']}")
    if reel_path:
        typer.echo(f"reel: {reel_path}")


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(out, "is a file; -o names the run folder to write (the model is written inside it)")


def add_commands(app: typer.Typer, train_app: typer.Typer, eval_app: typer.Typer) -> None:
    """Register ``train fusion``, ``train highlights`` and ``highlights``."""
    train_app.command("fusion")(train_fusion_cmd)
    train_app.command("highlights")(train_highlights_cmd)
    app.command("highlights")(highlights_cmd)

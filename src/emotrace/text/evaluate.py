"""Evaluate a text emotion model (and the NRC lexicon baseline) on a MELD-style CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emotrace.errors import InputError
from emotrace.labels import canonical_label
from emotrace.text.classifier import DEFAULT_MODELS, load_text_model, registered_text_model
from emotrace.text.data import load_dataset
from emotrace.text.lexicon import nrc_predict
from emotrace.text.metrics import classification_report


def evaluate_text(
    path: str | Path, model: str | Path | None = None, split: str = "dev", baseline: bool = True
) -> dict[str, Any]:
    """Metrics of the model on ``path`` (keys of :func:`classification_report` plus ``model``),
    with the NRC lexicon baseline's under ``lexicon_baseline``."""
    ds = load_dataset(path, split)
    if model is not None:
        registered_text_model(model, "--model")  # fails before any model is loaded
    try:
        net, name = load_text_model(model)
    except ValueError as e:
        raise InputError(model or "+".join(DEFAULT_MODELS), str(e)) from None
    preds = [canonical_label(p.label) or "neutral" for p in net.predict(ds.texts, ds.contexts, ds.following)]
    report: dict[str, Any] = classification_report(ds.labels, preds)
    report["model"] = name
    report["data"] = ds.source
    if baseline:
        base = classification_report(ds.labels, [nrc_predict(t) for t in ds.texts])
        report["lexicon_baseline"] = {k: base[k] for k in ("weighted_f1", "accuracy", "macro_f1")}
    return report


def format_report(report: dict[str, Any]) -> str:
    """Plain-text summary: scores beside the lexicon baseline, then the confusion matrix."""
    lines = [f"{report['data']}: n={report['n']}  model={report['model']}", ""]
    lines.append(f"{'':18}{'weighted F1':>12}{'accuracy':>10}{'macro F1':>10}")
    rows = [("model", report)]
    if "lexicon_baseline" in report:
        rows.append(("NRC lexicon", report["lexicon_baseline"]))
    for name, r in rows:
        lines.append(f"{name:18}{r['weighted_f1']:>12.4f}{r['accuracy']:>10.4f}{r['macro_f1']:>10.4f}")
    labels = report["labels"]
    lines += [
        "",
        "confusion (rows: truth, columns: predicted)",
        " " * 10 + "".join(f"{lab[:8]:>9}" for lab in labels),
    ]
    for lab, row in zip(labels, report["confusion"], strict=True):
        lines.append(f"{lab:10}" + "".join(f"{v:>9d}" for v in row))
    return "\n".join(lines)

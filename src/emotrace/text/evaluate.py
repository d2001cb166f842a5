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
    path: str | Path,
    model: str | Path | None = None,
    split: str = "dev",
    baseline: bool = True,
    route: str = "auto",
) -> dict[str, Any]:
    """Metrics of the model on ``path`` (keys of :func:`classification_report` plus ``model``),
    with the NRC lexicon baseline's under ``lexicon_baseline``. ``route="multilingual"`` scores
    the XED-trained multilingual model (or the ``.npz`` given as ``model``) instead."""
    ds = load_dataset(path, split)
    if route == "multilingual":
        ml, name = load_multilingual(model)
        preds = [max(p, key=p.__getitem__) for p in ml.predict(ds.texts)]
    else:
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


def csv_languages(path: str | Path) -> list[str] | None:
    """The ``language`` column of a ``text,label`` CSV (lower case), or None without one."""
    import pandas as pd

    from emotrace.text.data import resolve_csv

    try:
        df = pd.read_csv(resolve_csv(path, "dev"), dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None  # load_dataset says what is wrong with it
    col = next((c for c in df.columns if c.strip().lower() == "language"), None)
    return None if col is None else [str(v).strip().lower() for v in df[col]]


def evaluate_text_languages(
    path: str | Path,
    model: str | Path | None = None,
    languages: list[str] | None = None,
    route: str = "auto",
    baseline: bool = True,
) -> dict[str, Any]:
    """Accuracy, macro-F1 and confusion per language on a ``text,label`` CSV whose rows carry a
    ``language`` column (or are all in the one language ``languages`` names), with the majority
    and NRC lexicon baselines. Each row takes the route the words stage takes for text without a
    translation: English to the English model, any other language to the multilingual one
    (``route`` forces one of them; ``model`` is the model of the route taken)."""
    from emotrace.labels import CANONICAL

    ds = load_dataset(path, "dev")
    column = csv_languages(path)
    wanted = [lang.lower() for lang in languages or []]
    if column is None:
        if len(wanted) != 1:
            raise InputError(path, "has no language column: name its one language with --language")
        column = wanted * len(ds.texts)
    rows = [i for i, lang in enumerate(column) if not wanted or lang in wanted]
    if not rows:
        raise InputError(path, f"no rows in language(s) {', '.join(sorted(wanted))}")
    english = [i for i in rows if route == "english" or (route == "auto" and column[i] in ("en", ""))]
    in_english = set(english)
    other = [i for i in rows if i not in in_english]
    preds: dict[int, str] = {}
    names: dict[str, str] = {}  # route -> model name
    if english:
        net, name = load_text_model(model if route == "english" else None)
        got = net.predict([ds.texts[i] for i in english], [ds.contexts[i] for i in english],
                          [ds.following[i] for i in english])  # fmt: skip
        preds.update({i: canonical_label(p.label) or "neutral" for i, p in zip(english, got, strict=True)})
        names["english"] = name
    if other:
        ml, name = load_multilingual(model if route != "english" else None)
        got_ml = ml.predict([ds.texts[i] for i in other])
        preds.update({i: max(p, key=p.__getitem__) for i, p in zip(other, got_ml, strict=True)})
        names["multilingual"] = name
    labels = [lab for lab in CANONICAL if lab in {ds.labels[i] for i in rows} | set(preds.values())]
    report: dict[str, Any] = {"per_language": {}}
    for lang in sorted({column[i] for i in rows}):
        idx = [i for i in rows if column[i] == lang]
        truth = [ds.labels[i] for i in idx]
        rep = classification_report(truth, [preds[i] for i in idx], labels=labels)
        rep["majority_baseline"] = round(truth.count(max(set(truth), key=truth.count)) / len(truth), 4)
        if baseline:
            rep["lexicon_baseline"] = classification_report(truth, [nrc_predict(ds.texts[i]) for i in idx])["accuracy"]
        rep["route"] = "english" if idx[0] in in_english else "multilingual"
        rep["model"] = names[rep["route"]]
        report["per_language"][lang or "unknown"] = rep
    report["model"] = " / ".join(names.values())
    report["data"] = ds.source
    report["split"] = (
        "every row; the multilingual model has no neutral output, so neutral rows it reads count as wrong"
        if other else "every row"
    )
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
    lines += ["", *confusion_lines(report)]
    return "\n".join(lines)


def confusion_lines(report: dict[str, Any], title: str = "") -> list[str]:
    """The confusion matrix of a :func:`classification_report` as text lines."""
    from emotrace.train.metrics import confusion_lines as lines

    return lines(report, indent="", title=title)


def load_multilingual(model: str | Path | None = None) -> tuple[Any, str]:
    """The multilingual model: a ``.npz`` file or a run folder of ``emotrace train
    text-multilingual`` given as ``model``, else the registered one."""
    from emotrace.models.assets import resolve
    from emotrace.text.multilingual import MODEL_FILE, MultilingualTextModel

    if model is not None and (Path(model) / MODEL_FILE).is_file():
        return MultilingualTextModel(Path(model) / MODEL_FILE), Path(model).name
    if model is not None and Path(model).is_file():
        return MultilingualTextModel(model), Path(model).stem
    res = resolve(str(model) if model is not None else "emotrace-text-xed")
    return MultilingualTextModel(res.path), res.name


def evaluate_xed(
    path: str | Path,
    model: str | Path | None = None,
    languages: list[str] | None = None,
    route: str = "auto",
    baseline: bool = True,
) -> dict[str, Any]:
    """Per-language accuracy, macro-F1 and confusion on XED's held-out lines (single-label lines
    of the six shared emotions; split as the model was trained, see
    :func:`emotrace.text.multilingual.split_lines`), with the majority and NRC lexicon baselines.

    ``route="english"`` scores the English (MELD) model on the same lines instead, its neutral
    answers counted as wrong."""
    from emotrace.text.multilingual import normalized, scan_xed, single_label, split_lines

    files = scan_xed(path)
    held: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    parts = []
    for f in files:
        tr, te = split_lines(f)
        seen.update(normalized(x.text) for x in tr)
        parts.append((f.language if f.contiguous else f"{f.language}-annotated", te))
    wanted = {lang.lower() for lang in languages or []}
    for key, te in parts:
        if wanted and key.removesuffix("-annotated") not in wanted:
            continue
        held[key] = single_label(te, seen)
    if wanted and not held:
        raise InputError(path, f"no XED file for language(s) {', '.join(sorted(wanted))}")
    if route == "english":
        net, name = load_text_model(None if model is None else model)

        def predict(texts: list[str]) -> list[str]:
            return [canonical_label(p.label) or "neutral" for p in net.predict(texts)]
    else:
        ml, name = load_multilingual(model)

        def predict(texts: list[str]) -> list[str]:
            return [max(p, key=p.__getitem__) for p in ml.predict(texts)]

    from emotrace.text.multilingual import evaluate_lines

    report = evaluate_lines(predict, held)
    if baseline:
        lex = evaluate_lines(lambda texts: [nrc_predict(t) for t in texts], held)
        for lang, r in report["per_language"].items():
            r["lexicon_baseline"] = lex["per_language"][lang]["accuracy"]
    report["model"] = name
    report["data"] = str(path)
    report["split"] = (
        "held out: last 20% of each projection file, every 5th line of a hand-annotated file; "
        "single-label lines of the six shared emotions whose text is not among the training lines"
    )
    return report


def format_languages(report: dict[str, Any]) -> str:
    """One row per language (accuracy, macro-F1 beside the baselines), then the confusion matrices."""
    lines = [f"{report.get('data', '')}  model={report.get('model', '')}", report.get("split", report.get("meta", {}).get("split", "")), ""]
    lines.append(f"{'language':12}{'n':>6}{'accuracy':>10}{'macro F1':>10}{'majority':>10}{'lexicon':>9}")
    per = report["per_language"]
    for lang, r in sorted(per.items(), key=lambda kv: -kv[1]["accuracy"]):
        lex = f"{r['lexicon_baseline']:>9.3f}" if "lexicon_baseline" in r else f"{'':>9}"
        lines.append(f"{lang:12}{r['n']:>6}{r['accuracy']:>10.3f}{r['macro_f1']:>10.3f}{r['majority_baseline']:>10.3f}{lex}")
    for lang, r in sorted(per.items()):
        lines += ["", *confusion_lines(r, f"{lang}: ")]
    return "\n".join(lines)

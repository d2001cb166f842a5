"""Text emotion beyond English: a model emotrace trains on XED's subtitle lines.

No multilingual encoder with weights ships in a registry package (see the card), so this model
reads characters: hashed character 1-4-grams (inside word boundaries) and word 1-2-grams, each
log-scaled and L2-normalised, into one multinomial logistic regression over the six emotions
that XED and emotrace share. It trains on every XED file at once (English and Finnish by hand,
the projections of ~30 more languages), so related languages (Bosnian / Croatian / Serbian,
Spanish / Portuguese / Italian...) pool their evidence; the language itself is not an input.

XED labels (Plutchik): 1 anger -> angry, 3 disgust, 4 fear, 5 joy -> happy, 6 sadness -> sad,
7 surprise. 2 anticipation and 8 trust have no canonical counterpart and are dropped from a
line's labels (a line with only those is not used). A line with several of the six labels
counts once for each, weighted 1/k. XED has no neutral lines outside English, so this model
cannot say "neutral": its probabilities are over the six emotions.

Cyrillic text is also read transliterated (Serbo-Croatian Latin, without diacritics, appended
to the line): Bulgarian, Macedonian, Russian and Serbian-in-Cyrillic lines then share features
with the Latin-script Serbian, Croatian and Bosnian subtitles (``meta.transliterate``; files
without it are read as before).

The model file is one ``.npz``: fp16 coefficients ``(6, 2 * 2**19)``, the intercepts, the
label order, the hashing settings and the held-out accuracy per language (which decides the
languages the ``words`` stage routes to it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotrace.errors import InputError

XED_LABELS: dict[str, str] = {"1": "angry", "3": "disgust", "4": "fear", "5": "happy", "6": "sad", "7": "surprise"}
XED_DROPPED: dict[str, str] = {"2": "anticipation", "8": "trust"}
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise")
N_FEATURES = 2**19
_LABEL_FIELD = re.compile(r"^\s*\d(\s*,\s*\d)*\s*$")
_NORM = re.compile(r"[\W_]+")
# XED file-name language codes that differ from Whisper's ISO 639-1 codes
XED_TO_ISO: dict[str, str] = {"br": "pt", "cn": "zh", "tw": "zh", "bs": "bs", "no": "no"}
ROUTE_MIN_ACCURACY = 0.45  # a language is routed to this model only if its held-out accuracy reaches this
TRANSLITERATE = "cyrillic-latin-v1"
_CYRILLIC = dict(zip(
    "абвгдежзийклмнопрстуфхцчшщъьюяђјљњћџыэёѓќѕії",
    ["a", "b", "v", "g", "d", "e", "z", "z", "i", "j", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f", "h", "c", "c", "s", "st", "a", "j", "ju", "ja", "dj", "j", "lj", "nj", "c", "dz", "y", "e", "jo", "gj", "kj", "dz", "i", "ji"],
    strict=True,
))  # fmt: skip


def transliterated(text: str) -> str:
    """``text`` with a Latin copy appended when it has Cyrillic letters (else unchanged)."""
    low = text.lower()
    if not any(ch in _CYRILLIC for ch in low):
        return text
    return f"{text} | {''.join(_CYRILLIC.get(ch, ch) for ch in low)}"


@dataclass
class XedLine:
    text: str
    labels: list[str]  # canonical labels among EMOTIONS (may be empty)
    raw: list[str]  # the XED numbers as written


@dataclass
class XedFile:
    language: str  # the code in the file name (pt for "br" is Brazilian Portuguese, kept as "br")
    path: Path
    lines: list[XedLine] = field(default_factory=list)
    contiguous: bool = True  # projections keep subtitle order; the hand-annotated files are grouped by label


def read_xed(path: str | Path) -> list[XedLine]:
    """``text<TAB>labels`` lines of one XED file; metadata rows and empty labels are skipped."""
    p = Path(path)
    try:
        raw_lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(p, f"cannot read XED file ({e})") from None
    out: list[XedLine] = []
    for line in raw_lines:
        parts = line.split("\t")
        if len(parts) != 2 or not _LABEL_FIELD.match(parts[1]):
            continue
        raw = [x.strip() for x in parts[1].split(",") if x.strip()]
        labels = sorted({XED_LABELS[x] for x in raw if x in XED_LABELS})
        if parts[0].strip():
            out.append(XedLine(parts[0].strip(), labels, raw))
    if not out:
        raise InputError(p, "no XED lines (expected text<TAB>labels such as 1, 4)")
    return out


def xed_language(path: Path) -> str:
    """The language code of an XED file name (``bg-projections.tsv``, ``fi-annotated.tsv``)."""
    return path.name.split("-")[0].split(".")[0].lower()


def is_xed_file(path: str | Path) -> bool:
    p = Path(path)
    return p.is_file() and p.suffix == ".tsv" and ("-projections" in p.name or "-annotated" in p.name)


def scan_xed(root: str | Path) -> list[XedFile]:
    """Every XED file under ``root`` (the release folder: ``*-annotated.tsv`` + ``Projections/``)."""
    r = Path(root)
    if is_xed_file(r):
        return [XedFile(xed_language(r), r, read_xed(r), "-annotated" not in r.name)]
    files = sorted(r.glob("*-annotated.tsv")) + sorted((r / "Projections").glob("*-projections.tsv"))
    files += sorted(f for f in r.glob("*-projections.tsv"))
    if not files:
        raise InputError(r, "no XED files (*-annotated.tsv, Projections/*-projections.tsv)")
    return [XedFile(xed_language(f), f, read_xed(f), "-annotated" not in f.name) for f in files]


def split_lines(f: XedFile, test_fraction: float = 0.2) -> tuple[list[XedLine], list[XedLine]]:
    """Held-out split by file position: the last ``test_fraction`` of a projection file (other
    films than the first part), every fifth line of a hand-annotated file (those are grouped by
    label, so a tail would hold one label only)."""
    n = len(f.lines)
    if f.contiguous:
        cut = round(n * (1 - test_fraction))
        return f.lines[:cut], f.lines[cut:]
    step = max(2, round(1 / test_fraction))
    return (
        [x for i, x in enumerate(f.lines) if i % step != step - 1],
        [x for i, x in enumerate(f.lines) if i % step == step - 1],
    )


def normalized(text: str) -> str:
    return _NORM.sub(" ", text.lower()).strip()


def single_label(lines: Iterable[XedLine], exclude: set[str] | None = None) -> list[tuple[str, str]]:
    """(text, label) of lines with exactly one XED label, one of the six shared emotions;
    lines whose normalised text is in ``exclude`` (the training lines) are left out."""
    return [
        (x.text, x.labels[0])
        for x in lines
        if len(x.raw) == 1 and len(x.labels) == 1 and not (exclude and normalized(x.text) in exclude)
    ]


class Featurizer:
    """Hashed character and word n-grams (stateless: the same on every machine)."""

    def __init__(self, n_features: int = N_FEATURES, transliterate: str | None = TRANSLITERATE):
        from sklearn.feature_extraction.text import HashingVectorizer

        if transliterate not in (None, TRANSLITERATE):
            raise ValueError(f"unknown transliteration {transliterate!r}")
        self.transliterate = transliterate

        common: dict[str, Any] = {"n_features": n_features, "alternate_sign": False, "norm": None}
        self.chars = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4), **common)
        self.words = HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", **common)
        self.dim = 2 * n_features

    def __call__(self, texts: Sequence[str]) -> Any:
        from scipy import sparse
        from sklearn.preprocessing import normalize

        parts = []
        rows = [transliterated(t) for t in texts] if self.transliterate else list(texts)
        for hv in (self.chars, self.words):
            m = hv.transform(rows)
            m.data = np.log1p(m.data)
            parts.append(normalize(m))
        return normalize(sparse.hstack(parts).tocsr())


class MultilingualTextModel:
    """The XED-trained model: six emotion probabilities per text, any language."""

    emotion_labels = EMOTIONS

    def __init__(self, path: str | Path):
        with np.load(path, allow_pickle=False) as z:
            self.coef = z["coef"].astype(np.float32)
            self.intercept = z["intercept"].astype(np.float32)
            meta = json.loads(str(z["meta"]))
        self.labels = tuple(meta["labels"])
        self.languages: dict[str, float] = meta.get("held_out_accuracy", {})
        self.featurize = Featurizer(int(meta["n_features"]), meta.get("transliterate"))
        self.transliterates = bool(meta.get("transliterate"))

    def routed_languages(self, min_accuracy: float = ROUTE_MIN_ACCURACY) -> set[str]:
        """ISO codes of the languages whose held-out accuracy reached ``min_accuracy``."""
        return {XED_TO_ISO.get(lang, lang) for lang, acc in self.languages.items() if acc >= min_accuracy}

    def accuracy(self, language: str | None) -> float | None:
        """Held-out XED accuracy for an ISO language code, or None where XED has no lines."""
        accs = [acc for lang, acc in self.languages.items() if XED_TO_ISO.get(lang, lang) == language]
        return max(accs) if accs else None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        z = self.featurize(texts) @ self.coef.T + self.intercept
        z = np.asarray(z, np.float64)
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [dict(zip(self.labels, map(float, row), strict=True)) for row in self.predict_proba(texts)]


MODEL_FILE = "emotrace-text-xed.npz"  # the model inside a run folder of `emotrace train text-multilingual`
# the naive-Bayes blend and its temperature, chosen on a validation split inside the training part
# (benchmarks/text_xed_blend.py; the held-out test lines were not read)
NB_ALPHA = 0.03
NB_WEIGHT = 0.6
TEMPERATURE = 1.16


def blend_naive_bayes(
    coef: np.ndarray,
    intercept: np.ndarray,
    x: Any,
    y: np.ndarray,
    w: np.ndarray,
    alpha: float = NB_ALPHA,
    weight: float = NB_WEIGHT,
    temperature: float = TEMPERATURE,
) -> tuple[np.ndarray, np.ndarray]:
    """One linear model from the logistic regression and a multinomial naive Bayes on the same
    features: the logits ``((1 - weight) * z_lr + weight * z_nb) / temperature``, whose softmax
    is the normalised, tempered geometric mean of the two models' probabilities. The naive Bayes
    sees the rows with the logistic regression's class balance. Each feature's mean over the
    classes is removed (it adds the same number to every class of a row: softmax unchanged), so
    the coefficients keep their precision in fp16."""
    from sklearn.naive_bayes import MultinomialNB

    a, b = np.asarray(coef, np.float64), np.asarray(intercept, np.float64)
    if weight > 0:
        k = a.shape[0]
        counts = np.bincount(y, weights=w, minlength=k)  # weighted rows, as they are counted in training
        balance = np.divide(len(y), k * counts, out=np.zeros(k), where=counts > 0)
        nb = MultinomialNB(alpha=alpha).fit(x, y, sample_weight=w * balance[y])
        a = (1 - weight) * a + weight * nb.feature_log_prob_
        b = (1 - weight) * b + weight * nb.class_log_prior_
    a = a - a.mean(axis=0, keepdims=True)
    return a / temperature, b / temperature


def train_xed(
    root: str | Path,
    out: str | Path,
    c: float = 16.0,
    test_fraction: float = 0.2,
    max_iter: int = 600,
    log: Any = print,
    command: str = "",
    nb_alpha: float = NB_ALPHA,
    nb_weight: float = NB_WEIGHT,
    temperature: float = TEMPERATURE,
) -> dict[str, Any]:
    """Train on the first part of every XED file under ``root``, evaluate on the held-out part
    (see :func:`split_lines`; held-out lines whose text also appears among the training lines
    are left out) and write the run folder ``out`` (layout of :mod:`emotrace.train.run`):
    ``config.json``, ``train.log``, the model (``emotrace-text-xed.npz``), ``metrics.json``,
    ``confusion.png`` (every held-out non-English line) and ``MODEL_CARD.md``. Returns the report."""
    import time

    from sklearn.linear_model import LogisticRegression

    from emotrace.train.run import RunFolder

    rf = RunFolder(out, echo=log)
    rf.start(False, MODEL_FILE)
    settings = {"data": str(root), "c": c, "max_iter": max_iter, "test_fraction": test_fraction,
                "nb_alpha": nb_alpha, "nb_weight": nb_weight, "temperature": temperature,
                "n_features": N_FEATURES, "transliterate": TRANSLITERATE, "class_weight": "balanced",
                "seed": None, "note": "deterministic: L-BFGS from zeros, stateless hashing features"}
    rf.write_config(settings)
    log = rf.log
    files = scan_xed(root)
    feats = Featurizer()
    texts: list[str] = []
    y: list[int] = []
    w: list[float] = []
    held: dict[str, list[XedLine]] = {}
    for f in files:
        tr, te = split_lines(f, test_fraction)
        for x in tr:
            for lab in x.labels:
                texts.append(x.text)
                y.append(EMOTIONS.index(lab))
                w.append(1.0 / len(x.labels))
        key = f.language if f.contiguous else f"{f.language}-annotated"
        held[key] = te
    seen = {normalized(t) for t in texts}
    log(f"xed: {len(files)} files, {len(texts)} training rows (one per label)")
    t0 = time.time()
    x_train, y_arr, w_arr = feats(texts), np.asarray(y), np.asarray(w)
    clf = LogisticRegression(C=c, max_iter=max_iter, class_weight="balanced")
    clf.fit(x_train, y_arr, sample_weight=w_arr)
    log(f"xed: fitted in {time.time() - t0:.0f} s")
    weights, bias = blend_naive_bayes(clf.coef_, clf.intercept_, x_train, y_arr, w_arr, nb_alpha, nb_weight, temperature)
    coef = weights.astype(np.float16)
    shipped = coef.astype(np.float32).T  # scored as shipped: fp16 coefficients
    report = evaluate_lines(
        lambda t: [EMOTIONS[i] for i in (feats(t) @ shipped + bias).argmax(1)],
        {k: single_label(v, seen) for k, v in held.items()},
    )
    acc = {k.removesuffix("-annotated"): r["accuracy"] for k, r in report["per_language"].items()
           if r["n"] >= 100 and not k.endswith("-annotated")}
    meta = {
        "labels": list(EMOTIONS),
        "n_features": N_FEATURES,
        "trained_on": sorted(f.path.name for f in files),
        "split": f"held out: last {test_fraction:.0%} of each projection file, every {round(1 / test_fraction)}th line "
        "of a hand-annotated file; held-out lines whose text is among the training lines dropped",
        "c": c,
        "max_iter": max_iter,
        "nb_alpha": nb_alpha,
        "nb_weight": nb_weight,
        "temperature": temperature,
        "transliterate": TRANSLITERATE,
        "held_out_accuracy": acc,
    }
    outp = rf / MODEL_FILE
    tmp = outp.with_name(f".{outp.name}.tmp.npz")
    np.savez_compressed(tmp, coef=coef, intercept=bias.astype(np.float32), meta=np.array(json.dumps(meta)))
    tmp.replace(outp)
    report["meta"] = meta
    _write_results(rf, report, command or f"emotrace train text-multilingual {root} -o {out}", settings)
    log(f"wrote {outp}")
    return report


def _write_results(rf: Any, report: dict[str, Any], command: str, settings: dict[str, Any]) -> None:
    """``metrics.json``, ``confusion.png`` (all held-out non-English lines pooled) and the card."""
    from emotrace.train.run import model_card

    per = report["per_language"]
    pooled = np.zeros((len(EMOTIONS), len(EMOTIONS)), np.int64)
    for lang, r in per.items():
        if not lang.startswith("en"):
            pooled += np.asarray(r["confusion"], np.int64)
    if pooled.sum():
        from emotrace.train.metrics import report_from_confusion

        report["pooled_non_english"] = report_from_confusion(pooled, list(EMOTIONS))
    rf.write_metrics(report, "pooled_non_english" if pooled.sum() else None, "XED held out, non-English lines")
    rows = [(lang, r) for lang, r in sorted(per.items(), key=lambda kv: -kv[1]["accuracy"]) if r["n"] >= 100]
    rf.write_card(model_card(
        "emotrace-text-xed (multilingual text emotion)",
        what="multinomial logistic regression over hashed character 1-4-grams and word 1-2-grams "
        f"({MODEL_FILE}; six emotions: {', '.join(EMOTIONS)}; no neutral output).",
        data="XED (CC BY 4.0): " + ", ".join(report["meta"]["trained_on"]) + "; anticipation and trust dropped.",
        split=report["meta"]["split"] + "; single-label lines scored; languages with at least 100 such lines.",
        results=rows, command=command, config=settings,
    ))  # fmt: skip


def evaluate_lines(predict: Any, per_language: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """Accuracy, macro-F1 and confusion per language of ``predict(texts) -> labels``, with the
    majority-class baseline (the most frequent label of that language's held-out lines)."""
    from emotrace.text.metrics import classification_report

    out: dict[str, Any] = {"per_language": {}}
    for lang, rows in sorted(per_language.items()):
        if not rows:
            continue
        truth = [lab for _, lab in rows]
        preds = list(predict([t for t, _ in rows]))
        rep = classification_report(truth, preds, labels=list(EMOTIONS))
        major = max(set(truth), key=truth.count)
        rep["majority_baseline"] = truth.count(major) / len(truth)
        out["per_language"][lang] = rep
    return out

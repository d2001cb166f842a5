"""The multilingual text emotion model (emotrace-text-xed) on real XED lines, and `eval text` on XED."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from emotrace.models.assets import resolve
from emotrace.text.multilingual import (
    EMOTIONS,
    MultilingualTextModel,
    read_xed,
    scan_xed,
    single_label,
    split_lines,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def data_path(*parts: str) -> Path:
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs the real data in ../shared/data ({'/'.join(parts)} missing)")
    return p


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emotrace.cli", *args], check=False, capture_output=True, text=True)


def test_xed_reader_skips_metadata_rows_and_maps_labels() -> None:
    f = data_path("xed", "Projections", "bg-projections.tsv")
    raw = f.read_text(encoding="utf-8").splitlines()
    lines = read_xed(f)
    assert len(lines) < len(raw)  # rows of alignment metadata (6 columns) are not lines
    assert all("\t" not in x.text and x.raw for x in lines)
    assert {lab for x in lines for lab in x.labels} == set(EMOTIONS)
    only_dropped = [x for x in lines if set(x.raw) <= {"2", "8"}]  # anticipation / trust only
    assert only_dropped and all(not x.labels for x in only_dropped)


def test_hand_annotated_files_are_split_by_interleaving() -> None:
    en = next(f for f in scan_xed(data_path("xed", "en-annotated.tsv")))
    assert not en.contiguous
    train, test = split_lines(en)
    # the file is grouped by label: every label must reach both parts
    assert {lab for x in test for lab in x.labels} == {lab for x in train for lab in x.labels}


def test_shipped_model_beats_the_majority_class_on_held_out_lines() -> None:
    model = MultilingualTextModel(resolve("emotrace-text-xed").path)
    for lang in ("it", "es", "bg"):
        f = next(iter(scan_xed(data_path("xed", "Projections", f"{lang}-projections.tsv"))))
        _, test = split_lines(f)
        rows = single_label(test)
        truth = [lab for _, lab in rows]
        probs = model.predict([t for t, _ in rows])
        assert all(abs(sum(p.values()) - 1) < 1e-4 and set(p) == set(EMOTIONS) for p in probs)
        acc = sum(max(p, key=p.__getitem__) == t for p, t in zip(probs, truth, strict=True)) / len(rows)
        majority = max(truth.count(lab) for lab in set(truth)) / len(truth)
        assert acc > majority + 0.05, (lang, acc, majority)
    assert {"it", "es"} <= model.routed_languages()


def test_eval_text_reads_xed_per_language() -> None:
    root = data_path("xed")
    res = cli("eval", "text", str(root), "--language", "it", "--language", "bg", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert set(report["per_language"]) == {"it", "bg"}
    for r in report["per_language"].values():
        assert r["n"] > 100 and 0 <= r["accuracy"] <= 1 and "majority_baseline" in r and "lexicon_baseline" in r
        assert len(r["confusion"]) == len(EMOTIONS)
    res = cli("eval", "text", str(root), "--language", "xx")
    assert res.returncode == 2 and "no XED file" in res.stderr and "Traceback" not in res.stderr


# Serbian Latin -> Cyrillic (Vuk's alphabet): digraphs first
LAT2CYR = [("dž", "џ"), ("lj", "љ"), ("nj", "њ"), *zip("abcčćdđefghijklmnoprsštuvzž", "абцчћдђефгхијклмнопрсштувзж", strict=True)]


def to_cyrillic(text: str) -> str:
    out = text.lower()
    for a, b in LAT2CYR:
        out = out.replace(a, b)
    return out


def test_serbian_reads_the_same_in_cyrillic() -> None:
    """Whisper writes Serbian in either script; XED's Serbian is Latin. The shipped model
    transliterates Cyrillic, so the held-out Serbian lines written in Cyrillic score about as
    well as in Latin, and well above the majority class."""
    model = MultilingualTextModel(resolve("emotrace-text-xed").path)
    assert model.transliterates
    f = next(iter(scan_xed(data_path("xed", "Projections", "sr-projections.tsv"))))
    _, test = split_lines(f)
    rows = single_label(test)
    truth = [lab for _, lab in rows]
    majority = max(truth.count(lab) for lab in set(truth)) / len(truth)

    def acc(texts: list[str]) -> float:
        probs = model.predict(texts)
        return sum(max(p, key=p.__getitem__) == t for p, t in zip(probs, truth, strict=True)) / len(rows)

    latin, cyrillic = acc([t for t, _ in rows]), acc([to_cyrillic(t) for t, _ in rows])
    assert cyrillic > majority + 0.1 and cyrillic > latin - 0.05, (latin, cyrillic, majority)


def test_cyrillic_serbian_is_routed_to_the_multilingual_model() -> None:
    import emotrace.api as et

    (score,) = et.text_emotion([to_cyrillic("Tako sam srećan što te vidim!")], language="sr",
                               translations=["I am so happy to see you!"])  # fmt: skip
    assert score.model == "emotrace-text-xed"


def test_train_text_multilingual_writes_a_run_folder(tmp_path: Path) -> None:
    """A small real run (Macedonian and the first 1,500 Croatian lines, 40 L-BFGS steps): the run
    folder has the common layout, its numbers are the held-out ones, and eval reads the folder."""
    src = tmp_path / "xed" / "Projections"
    src.mkdir(parents=True)
    (src / "mk-projections.tsv").write_text(data_path("xed", "Projections", "mk-projections.tsv").read_text())
    hr = data_path("xed", "Projections", "hr-projections.tsv").read_text().splitlines()[:1500]
    (src / "hr-projections.tsv").write_text("\n".join(hr) + "\n")
    run = tmp_path / "run"
    res = cli("train", "text-multilingual", str(tmp_path / "xed"), "-o", str(run), "--max-iter", "40", "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(res.stdout)
    assert sorted(p.name for p in run.iterdir()) == [
        "MODEL_CARD.md", "config.json", "confusion.png", "emotrace-text-xed.npz", "metrics.json", "train.log"]
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["max_iter"] == 40 and cfg["c"] == 16.0
    metrics = json.loads((run / "metrics.json").read_text())
    pooled = metrics["pooled_non_english"]
    assert pooled["n"] == sum(r["n"] for r in report["per_language"].values())
    assert pooled["confusion"] == [
        [sum(r["confusion"][i][j] for r in report["per_language"].values()) for j in range(len(EMOTIONS))]
        for i in range(len(EMOTIONS))
    ]
    assert "| hr |" in (run / "MODEL_CARD.md").read_text()  # hr has >= 100 held-out lines, mk not
    assert "| mk |" not in (run / "MODEL_CARD.md").read_text()
    res = cli("eval", "text", str(tmp_path / "xed"), "--model", str(run), "--json", "--no-baseline")
    assert res.returncode == 0, res.stderr[-2000:]
    again = json.loads(res.stdout)["per_language"]
    assert again["hr"]["accuracy"] == report["per_language"]["hr"]["accuracy"]
    res = cli("train", "text-multilingual", str(tmp_path / "xed"), "-o", str(run), "--max-iter", "40")
    assert res.returncode == 2 and "already holds a run" in res.stderr and "Traceback" not in res.stderr


def test_naive_bayes_blend_is_the_tempered_geometric_mean_of_the_two_models() -> None:
    """The shipped coefficients fold the logistic regression and the naive Bayes into one linear
    model: its softmax equals the normalised, tempered geometric mean of the two models'
    probabilities (real Croatian lines), and the per-feature centring changes no probability."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB

    from emotrace.text.multilingual import Featurizer, blend_naive_bayes

    f = next(iter(scan_xed(data_path("xed", "Projections", "hr-projections.tsv"))))
    rows = single_label(f.lines[:1500])
    feats = Featurizer()
    x = feats([t for t, _ in rows])
    y = np.array([EMOTIONS.index(lab) for _, lab in rows])
    w = np.ones(len(y))
    lr = LogisticRegression(C=4.0, max_iter=100).fit(x, y)
    a, b = blend_naive_bayes(lr.coef_, lr.intercept_, x, y, w, alpha=0.1, weight=0.4, temperature=1.3)
    counts = np.bincount(y, minlength=len(EMOTIONS))
    nb = MultinomialNB(alpha=0.1).fit(x, y, sample_weight=len(y) / (len(EMOTIONS) * counts[y]))
    probe = feats(["Mrzim te, odlazi!", "Tako sam sretan što si ovdje.", "Bojim se mraka."])
    geo = (lr.predict_log_proba(probe) * 0.6 + nb.predict_log_proba(probe) * 0.4) / 1.3
    want = np.exp(geo - geo.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    z = np.asarray(probe @ a.T) + b
    got = np.exp(z - z.max(1, keepdims=True))
    got /= got.sum(1, keepdims=True)
    assert np.allclose(got, want, atol=1e-6)
    assert np.allclose(a.mean(axis=0), 0, atol=1e-9)  # centred: fp16 keeps the differences


def test_eval_text_reads_a_text_label_csv_per_language(tmp_path: Path) -> None:
    """A text,label CSV with a language column (real held-out Bulgarian and Italian XED lines and
    English MELD-style rows): one report per language, each read by the route the words stage
    takes without a translation, the numbers those models give directly."""
    import csv

    rows = []
    for lang in ("bg", "it"):
        f = next(iter(scan_xed(data_path("xed", "Projections", f"{lang}-projections.tsv"))))
        rows += [(t, lab, lang) for t, lab in single_label(split_lines(f)[1])[:60]]
    rows += [("I am so happy to see you!", "happy", "en"), ("I am not sure what you mean.", "neutral", "en")]
    path = tmp_path / "mixed.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label", "language"), *rows])
    res = cli("eval", "text", str(path), "--json", "--no-baseline")
    assert res.returncode == 0, res.stderr
    per = json.loads(res.stdout)["per_language"]
    assert set(per) == {"bg", "it", "en"}
    assert per["en"]["route"] == "english" and per["bg"]["route"] == per["it"]["route"] == "multilingual"
    model = MultilingualTextModel(resolve("emotrace-text-xed").path)
    for lang in ("bg", "it"):
        mine = [(t, lab) for t, lab, la in rows if la == lang]
        probs = model.predict([t for t, _ in mine])
        direct = sum(max(p, key=p.__getitem__) == lab for p, (_, lab) in zip(probs, mine, strict=True)) / len(mine)
        assert per[lang]["n"] == len(mine) and abs(per[lang]["accuracy"] - direct) < 1e-3
    only = cli("eval", "text", str(path), "--language", "bg", "--json", "--no-baseline")
    assert set(json.loads(only.stdout)["per_language"]) == {"bg"}
    plain = tmp_path / "plain.csv"
    plain.write_text("text,label\nTako sam sretan!,happy\n", encoding="utf-8")
    res = cli("eval", "text", str(plain), "--language", "hr", "--language", "bs")
    assert res.returncode == 2 and "language column" in res.stderr and "Traceback" not in res.stderr

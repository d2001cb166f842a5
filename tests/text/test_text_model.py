"""The text emotion model, its lexicon baseline, and ``emotrace train/eval text``."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotrace.labels import CANONICAL
from emotrace.text.classifier import encode_in_context, load_text_model, separator_token
from emotrace.text.data import load_dataset
from emotrace.text.evaluate import evaluate_text
from emotrace.text.lexicon import N_FEATURES, lexicon_features, nrc_predict

JSON_KEYS = {"n", "weighted_f1", "accuracy", "macro_f1", "confusion", "labels"}


def emotrace(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "emotrace.cli", *args]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def dev_slice(meld: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 300 utterances of MELD dev, in MELD's own CSV layout."""
    out = tmp_path_factory.mktemp("meld") / "dev_slice.csv"
    with open(meld / "dev_sent_emo.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[:301]
    with open(out, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return out


def test_meld_loader_maps_labels_and_context(meld: Path) -> None:
    ds = load_dataset(meld, "dev")
    assert len(ds) == 1109
    assert set(ds.labels) == set(CANONICAL)  # joy/anger/sadness mapped to happy/angry/sad
    assert set(ds.sentiments) == {"negative", "neutral", "positive"}
    # an utterance's context is the previous and the next turn of its dialogue
    i = next(k for k in range(1, len(ds)) if ds.groups[k] == ds.groups[k - 1])
    assert ds.contexts[i] == ds.texts[i - 1] and ds.following[i - 1] == ds.texts[i]
    assert ds.contexts[0] == ""
    last = next(k for k in range(len(ds) - 1) if ds.groups[k] != ds.groups[k + 1])
    assert ds.following[last] == "" and ds.contexts[last + 1] == ""
    assert ds.subset([i]).following == [ds.following[i]]


def test_plain_csv_context_columns(tmp_path: Path) -> None:
    f = tmp_path / "ctx.csv"
    f.write_text("text,label,context,next_context\nReally?,surprise,I got the job.,Yes!\n")
    ds = load_dataset(f)
    assert (ds.texts, ds.contexts, ds.following) == (["Really?"], ["I got the job."], ["Yes!"])
    f.write_text("text,label\nReally?,surprise\n")
    assert load_dataset(f).following == [""]


def test_context_layout_for_both_tokenizers() -> None:
    """Previous and next turn go in the second segment, split by the tokenizer's own separator
    (BERT's [SEP] for MiniLM, </s> for MPNet), never spelled out as text."""
    model, _ = load_text_model()
    members = getattr(model, "members", [model])
    assert {m.context for m in members} == {"previous-next-turn"}
    for m in members:
        sep = separator_token(m.tokenizer)
        enc = encode_in_context(m.tokenizer, m.context, "Really?", "I got the job.", "Yes!")
        toks = enc.tokens
        assert toks.count(sep) >= 3 and "sep" not in toks and "[" not in toks
        assert toks.index("got") < len(toks) - toks[::-1].index(sep) - 1  # previous before next
        assert toks[-2] == "!" and toks[-1] == sep
        only_next = encode_in_context(m.tokenizer, m.context, "Really?", "", "Yes!").tokens
        assert "got" not in only_next and "yes" in only_next
        assert encode_in_context(m.tokenizer, m.context, "Really?").tokens == m.tokenizer.encode("Really?").tokens
        assert encode_in_context(m.tokenizer, "previous-turn", "Really?", "Hi", "Yes!").tokens.count("yes") == 0
    old, name = load_text_model("emotrace-text-mpnet")  # the previous release, by model name
    assert name == "emotrace-text-mpnet" and old.context == "previous-turn"
    assert separator_token(old.tokenizer) == "</s>"
    with pytest.raises(ValueError, match="unknown text context"):
        encode_in_context(members[0].tokenizer, "everything", "Really?", "Hi")


def test_shipped_model_reads_the_next_turn() -> None:
    """The same words read differently before good news and before bad news (the shipped
    ensemble gives "Oh my God." about 0.04 sad+fear before the lottery, 0.3 before the death)."""
    model, _ = load_text_model()
    text, prev = ["Oh my God."], ["Ross, I have to tell you something."]
    good = model.predict(text, prev, ["We won the lottery, we are rich!"])[0]
    bad = model.predict(text, prev, ["He died this morning, I am so sorry."])[0]
    alone = model.predict(text, prev)[0]
    assert bad.emotion["sad"] + bad.emotion["fear"] > good.emotion["sad"] + good.emotion["fear"] + 0.1
    assert max(abs(alone.emotion[k] - good.emotion[k]) for k in alone.emotion) > 0.01


def test_lexicon_features_and_baseline() -> None:
    feats = lexicon_features(["I hate you, I am furious!", "What a lovely, wonderful gift.", "Okay."])
    assert feats.shape == (3, N_FEATURES) and np.isfinite(feats).all()
    assert feats[0, -2] == 1.0 and feats[2, -2] == 0.0  # exclamation mark
    assert nrc_predict("I hate you, I am furious!") == "angry"
    assert nrc_predict("What a lovely, wonderful gift.") == "happy"
    assert nrc_predict("Okay.") == "neutral"


@pytest.mark.slow
def test_shipped_model_beats_lexicon_on_meld_dev(dev_slice: Path) -> None:
    report = evaluate_text(dev_slice)
    assert report["n"] == 300
    base = report["lexicon_baseline"]
    assert report["weighted_f1"] > base["weighted_f1"] + 0.1
    assert report["weighted_f1"] > 0.5
    model, _ = load_text_model()
    preds = model.predict(
        ["I love you so much, this is the best day ever!", "Get out of my house, you liar!"]
    )
    assert preds[0].label == "happy" and preds[0].sentiment["positive"] > 0.5
    assert preds[1].label in ("angry", "disgust") and preds[1].sentiment["negative"] > 0.5
    for p in preds:
        assert abs(sum(p.emotion.values()) - 1) < 1e-4 and abs(sum(p.sentiment.values()) - 1) < 1e-4


def test_prediction_does_not_depend_on_other_utterances() -> None:
    """The int8 files quantise activations per input tensor: an utterance must get the same
    probabilities alone as among others of different lengths (it did not with padded batches)."""
    model, _ = load_text_model()
    texts = [
        "Oh my God, you got the job?!",
        "No.",
        "I can't believe you would lie to me about something like this, after all these years.",
        "Fine.",
    ]
    previous, following = ["", *texts[:-1]], [*texts[1:], ""]
    together = model.predict(texts, previous, following)
    for i, t in enumerate(texts):
        alone = model.predict([t], [previous[i]], [following[i]])[0]
        for k, v in alone.emotion.items():
            assert abs(together[i].emotion[k] - v) < 1e-6, (t, k)


@pytest.mark.slow
def test_eval_cli_json_and_text(dev_slice: Path) -> None:
    r = emotrace("eval", "text", str(dev_slice), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)  # exactly one JSON object on stdout
    assert JSON_KEYS <= set(report)
    assert report["n"] == 300 and report["labels"] == list(CANONICAL)
    conf = np.array(report["confusion"])
    assert conf.shape == (7, 7) and conf.sum() == 300
    assert abs(np.trace(conf) / 300 - report["accuracy"]) < 1e-3
    r = emotrace("eval", "text", str(dev_slice))
    assert r.returncode == 0 and "NRC lexicon" in r.stdout and "confusion" in r.stdout


def test_eval_cli_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,emotion_name\nhello,joy\n")
    r = emotrace("eval", "text", str(bad), "--json")
    assert r.returncode == 2
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1 and "text,label" in r.stderr
    r = emotrace("eval", "text", str(tmp_path / "missing.csv"))
    assert r.returncode == 2 and "no such file" in r.stderr
    good = tmp_path / "good.csv"
    good.write_text("text,label\nI am so happy!,joy\n")
    r = emotrace("eval", "text", str(good), "--model", "no-such-model")
    assert r.returncode == 2 and "model name" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_train_on_tiny_text_label_csv(tmp_path: Path) -> None:
    for module in ("torch", "safetensors", "onnx"):  # the [train] extra
        pytest.importorskip(module)
    rows = [
        ("I love this, it is wonderful!", "joy"),
        ("Yay, we won the game!", "happy"),
        ("What a great surprise party, thank you!", "joy"),
        ("I hate you, get out!", "anger"),
        ("This makes me so furious.", "angry"),
        ("Stop yelling at me, you idiot!", "anger"),
        ("I miss her so much, I cannot stop crying.", "sadness"),
        ("My dog died yesterday.", "sad"),
        ("The meeting is at three.", "neutral"),
        ("Okay, see you tomorrow.", "neutral"),
        ("Please pass the salt.", "neutral"),
        ("What?! No way!", "surprise"),
    ]
    data = tmp_path / "tiny.csv"
    with open(data, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows * 2)
    run = tmp_path / "run"
    r = emotrace(
        "train", "text", str(data), "-o", str(run), "--epochs", "3", "--val-fraction", "0", "--threads", "1"
    )
    assert r.returncode == 0, r.stderr
    assert (run / "text-emotion.onnx").is_file()
    # the run-folder layout of emotrace.train.run
    for name in ("config.json", "history.json", "metrics.json", "train.log", "last.pt", "MODEL_CARD.md"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_train"] == 24 and metrics["epoch"] == 3 and metrics["heldout"] is None  # --val-fraction 0
    assert len(json.loads((run / "history.json").read_text())) == 3
    assert json.loads((run / "config.json").read_text())["seed"] == 13
    assert "emotrace train text" in (run / "MODEL_CARD.md").read_text()
    again = emotrace("train", "text", str(data), "-o", str(run), "--epochs", "3")
    assert again.returncode == 2 and "--resume" in again.stderr  # refuses to overwrite a run
    model, _ = load_text_model(run)
    assert model.context == "previous-next-turn"  # the default layout is recorded in the file
    preds = model.predict([t for t, _ in rows])
    assert all(abs(sum(p.emotion.values()) - 1) < 1e-4 for p in preds)
    # three epochs on 24 rows fit most of them
    truth = [load_dataset(data).labels[i] for i in range(len(rows))]
    assert np.mean([p.label == t for p, t in zip(preds, truth, strict=True)]) >= 0.5
    r = emotrace("eval", "text", str(data), "--model", str(run), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["n"] == 24
    r = emotrace("train", "text", str(tmp_path / "nope.csv"), "-o", str(run))
    assert r.returncode == 2
    r = emotrace("train", "text", str(data), "-o", str(tmp_path / "run2"), "--context", "everything")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "previous-next-turn" in r.stderr


@pytest.mark.slow
def test_text_training_interrupted_and_resumed_equals_one_run(meld: Path, tmp_path: Path) -> None:
    """A run stopped after epoch 2 of 3 and resumed with --resume ends where an uninterrupted
    run ends: the same losses, the same held-out report, the same model outputs."""
    for module in ("torch", "safetensors", "onnx"):
        pytest.importorskip(module)
    from emotrace.text.train import TextTrainConfig, train_text

    data = tmp_path / "train_slice.csv"
    with open(meld / "train_sent_emo.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[:121]
    with open(data, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    cfg = TextTrainConfig(epochs=3, batch_size=16, max_len=48, val_fraction=0.2, threads=1, quantize=False)
    straight = train_text(data, tmp_path / "straight", cfg, log=lambda m: None)

    class Stop(Exception):
        pass

    def stop_after_epoch_2(msg: str) -> None:
        if "epoch 2/3 done" in msg:
            raise Stop

    with pytest.raises(Stop):
        train_text(data, tmp_path / "resumed", cfg, log=stop_after_epoch_2)
    assert len(json.loads((tmp_path / "resumed" / "history.json").read_text())) == 2
    resumed = train_text(data, tmp_path / "resumed", None, log=lambda m: None, resume=True)
    loss = [h["train_loss"] for h in straight["history"]]
    assert [h["train_loss"] for h in resumed["history"]] == pytest.approx(loss, rel=1e-5)
    assert resumed["heldout"] == straight["heldout"] and resumed["epoch"] == straight["epoch"]
    texts = [r[1] for r in rows[1:20]]
    a = load_text_model(tmp_path / "straight")[0].predict(texts)
    b = load_text_model(tmp_path / "resumed")[0].predict(texts)
    np.testing.assert_allclose([list(p.emotion.values()) for p in a], [list(p.emotion.values()) for p in b], atol=1e-4)

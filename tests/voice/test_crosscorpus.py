"""Multi-corpus training: balanced weights, leave-one-corpus-out without leakage, the ONNX head."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from emotrace.voice import crosscorpus as cc
from emotrace.voice.cache import StateCache
from emotrace.voice.datasets import Dataset, Item, load_corpora
from emotrace.voice.train import _pool, extract_states

pytestmark = pytest.mark.slow


def test_balanced_weights() -> None:
    labels = np.array(["angry"] * 90 + ["sad"] * 10 + ["angry"] * 5 + ["sad"] * 5 + ["happy"] * 10)
    corpora = np.array(["big"] * 100 + ["small"] * 20)
    w = cc.balanced_weights(labels, corpora)
    assert w.mean() == pytest.approx(1.0)
    assert w[corpora == "big"].sum() == pytest.approx(w[corpora == "small"].sum())
    for c in ("big", "small"):
        sums = [w[(corpora == c) & (labels == lab)].sum() for lab in set(labels[corpora == c].tolist())]
        assert np.allclose(sums, sums[0])


@pytest.fixture(scope="module")
def pool(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> cc.Pool:
    """About 40 real clips from each of four corpora (states extracted once)."""
    from emotrace.models.whisper import load_whisper

    full = load_corpora([shared_data / c for c in ("ravdess_speech", "tess", "nemo", "ased")])
    rng = np.random.default_rng(0)
    items: list[Item] = []
    for c in ("ravdess", "tess", "nemo", "ased"):
        idx = [i for i, it in enumerate(full.items) if it.corpus == c]
        items += [full.items[i] for i in rng.choice(idx, 40, replace=False)]
    ds = Dataset(items=items)
    cache = StateCache(tmp_path_factory.mktemp("states"))
    entries, bad = extract_states(ds, load_whisper(device="cpu", threads=2), cache, copies=1)
    assert not bad
    return _pool(ds, entries)


class Spy(cc.LogRegHead):
    seen: ClassVar[list[set[str]]] = []

    def fit(self, pool: cc.Pool, seed: int = 0) -> Spy:
        Spy.seen.append(set(pool.corpora.tolist()))
        return super().fit(pool, seed)  # type: ignore[return-value]


def test_leave_one_corpus_out_never_trains_on_the_test_corpus(pool: cc.Pool) -> None:
    Spy.seen = []
    r = cc.leave_one_corpus_out(lambda: Spy(C=0.01), pool)
    assert list(r["per_corpus"]) == list(cc.LOCO_CORPORA)
    assert Spy.seen == [set(cc.LOCO_CORPORA) - {c} for c in cc.LOCO_CORPORA]
    ased = r["per_corpus"]["ased"]
    assert ased["labels"] == ["angry", "fear", "happy", "sad", "neutral"]  # only its classes decide
    assert np.array(ased["confusion"]).sum() == 40
    assert r["mean_uar"] == pytest.approx(np.mean([v["uar"] for v in r["per_corpus"].values()]))
    assert r["logits"].shape == (160, len(cc.LABELS)) and r["targets"].shape == (160,)


def test_speaker_cv_holds_out_whole_speakers(pool: cc.Pool) -> None:
    Spy.seen = []
    r = cc.speaker_cv(lambda: Spy(C=0.01, augment=False), pool, corpus="tess", n_folds=2, others=False)
    assert r["folds"] == [["tess-OAF"], ["tess-YAF"]] and r["n"] == 40
    assert Spy.seen == [{"tess"}, {"tess"}]


def test_attention_head_exports_to_onnx_with_the_same_output(pool: cc.Pool, tmp_path: Path) -> None:
    from emotrace.voice.classifier import VoiceEmotionNet

    spk = cc.AttnHead(epochs=2, hidden=32).fit(pool)
    glob = cc.AttnHead(epochs=2, hidden=32, speaker_norm=False).fit(pool)
    path = tmp_path / "m.onnx"
    cc.export_attn(spk, glob, str(path), (1.5, 0.8))
    net = VoiceEmotionNet(path)
    assert net.labels == list(cc.LABELS)  # all seven classes were in training
    sub = pool.subset(np.flatnonzero(pool.corpora == "ravdess")[:12])
    states = [e[0].states.astype(np.float32) for e in sub.entries]
    prosody = np.stack([e[0].prosody for e in sub.entries])

    def softmax(z: np.ndarray, t: float) -> np.ndarray:
        z = z / t
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    one = ["S1"] * 12  # >= 8 windows: per-speaker head with this speaker's statistics
    assert np.allclose(
        net.predict_states(states, prosody, one), softmax(spk.logits(_one(sub)), 1.5), atol=1e-4
    )
    assert np.allclose(net.predict_states(states, prosody, None), softmax(glob.logits(sub), 0.8), atol=1e-4)


def _one(sub: cc.Pool) -> cc.Pool:
    return cc.Pool(sub.entries, sub.labels, np.array(["S1"] * len(sub.labels)), sub.corpora)


def test_stage_runs_an_onnx_attention_model(
    pool: cc.Pool, tmp_path: Path, crema_d: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The voice stage with an attention model: frame states spilled to disk, read back per window."""
    from tests.voice.conftest import make_voice_config

    from emotrace.models import assets
    from emotrace.pipeline import analyze

    spk = cc.AttnHead(epochs=1, hidden=16).fit(pool)
    glob = cc.AttnHead(epochs=1, hidden=16, speaker_norm=False).fit(pool)
    path = tmp_path / "voice.onnx"
    cc.export_attn(spk, glob, str(path))
    monkeypatch.setitem(assets._USER_PATHS, "emotrace-voice-emotion", path)
    monkeypatch.setattr(assets, "_RESOLVED", {})  # resolved during the test only: the real cache comes back
    tl = analyze(crema_d / "1001_DFA_ANG_XX.flv", config=make_voice_config(quality=False))
    assert len(tl.speech) == 1
    emo = tl.speech[0].emotion
    assert emo is not None and abs(sum(emo.probs.values()) - 1) < 1e-3
    assert emo.model == "emotrace-voice-emotion"


def test_ensemble_head_is_the_geometric_mean_of_its_members(pool: cc.Pool) -> None:
    """``ens`` trains its members with seeds seed, seed + 1, ...; its log-probabilities are the
    mean of theirs, so it equals heads fitted one by one with those seeds."""
    ens = cc.HEADS["ens"](n=2, kind="logreg", C=0.01, augment=False).fit(pool, seed=3)
    members = [cc.LogRegHead(C=0.01, augment=False).fit(pool, seed=s) for s in (3, 4)]

    def log_softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    want = np.mean([log_softmax(m.logits(pool)) for m in members], axis=0)
    assert np.allclose(ens.logits(pool), want, atol=1e-6)
    r = cc.leave_one_corpus_out(lambda: cc.EnsembleHead(n=2, kind="logreg", C=0.01, augment=False), pool)
    assert set(r["per_corpus"]) == set(cc.LOCO_CORPORA) and 0 <= r["mean_uar"] <= 1

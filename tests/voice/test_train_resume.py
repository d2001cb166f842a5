"""``train voice`` stopped after some of its fits and resumed ends where one run ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emotrace.errors import InputError
from emotrace.voice.cache import StateCache
from emotrace.voice.datasets import Dataset, load_corpora
from emotrace.voice.train import train_corpora

pytestmark = pytest.mark.slow


class Stop(Exception):
    pass


def _without_timing(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in ("seconds",)}


def test_voice_training_interrupted_and_resumed_equals_one_run(shared_data: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from emotrace.models.whisper import load_whisper
    from emotrace.voice.classifier import VoiceEmotionNet

    full = load_corpora([shared_data / "ravdess_speech", shared_data / "tess"])
    rng = np.random.default_rng(0)
    items = []
    for corpus, speakers in (("ravdess", 3), ("tess", 2)):
        spk = sorted({it.speaker for it in full.items if it.corpus == corpus})[:speakers]
        idx = [i for i, it in enumerate(full.items) if it.speaker in spk and it.label in ("angry", "happy", "sad")]
        items += [full.items[i] for i in rng.choice(idx, 30, replace=False)]
    ds = Dataset(items=items)
    whisper = load_whisper(device="cpu", threads=2)
    cache = StateCache(tmp_path / "cache")
    kw: dict[str, Any] = {"head": "attn", "copies": 0, "folds": 3, "epochs": 2, "cv_corpus": "ravdess"}
    straight = train_corpora(ds, tmp_path / "straight", whisper, cache, **kw)

    def stop_after_third_fit(msg: str) -> None:
        if msg == "fit speaker_cv/per_speaker_norm done":
            raise Stop

    with pytest.raises(Stop):
        train_corpora(ds, tmp_path / "resumed", whisper, cache, log=stop_after_third_fit, **kw)
    assert not (tmp_path / "resumed" / "metrics.json").exists() and (tmp_path / "resumed" / "last.pt").exists()
    with pytest.raises(InputError, match="already holds a run"):
        train_corpora(ds, tmp_path / "resumed", whisper, cache, **kw)
    with pytest.raises(InputError, match="epochs=2"):
        train_corpora(ds, tmp_path / "resumed", whisper, cache, resume=True, **{**kw, "epochs": 3})
    logged: list[str] = []
    resumed = train_corpora(ds, tmp_path / "resumed", whisper, cache, log=logged.append, resume=True, **kw)
    assert logged[0].startswith("resuming: 3 finished fit(s)")
    assert sum(m.startswith("fit ") for m in logged) == 3  # only the three fits that had not finished
    assert _without_timing(resumed) == _without_timing(straight)
    saved = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    assert saved["speaker_cv"]["per_speaker_norm"]["accuracy"] == straight["speaker_cv"]["per_speaker_norm"]["accuracy"]
    a = VoiceEmotionNet(tmp_path / "straight" / "voice-emotion.onnx")
    b = VoiceEmotionNet(tmp_path / "resumed" / "voice-emotion.onnx")
    gen = np.random.default_rng(1)
    states = [gen.standard_normal((120, 512)).astype(np.float32) for _ in range(10)]
    prosody = gen.standard_normal((10, 16)).astype(np.float32)
    for speakers in (None, ["one"] * 10):  # global head, per-speaker head
        np.testing.assert_allclose(a.predict_states(states, prosody, speakers),
                                   b.predict_states(states, prosody, speakers), atol=1e-5)

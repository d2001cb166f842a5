"""The encoder-state cache: keyed by content, model and variant; reused without the encoder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from emotrace.voice.cache import ClipStates, StateCache
from emotrace.voice.datasets import load_dataset
from emotrace.voice.train import extract_states


def test_keys_and_round_trip(tmp_path: Path, ravdess: Path) -> None:
    clips = sorted((ravdess / "Actor_01").glob("*.flac"))[:2]
    a = tmp_path / "a.flac"
    shutil.copy(clips[0], a)
    cache = StateCache(tmp_path / "c")
    k = cache.key(a)
    assert k == StateCache(tmp_path / "c").key(tmp_path / "a.flac")
    assert k != cache.key(a, "aug0.1") and k != StateCache(tmp_path / "c", "other-model").key(a)
    assert cache.get(k) is None
    e = ClipStates(np.ones((5, 4), dtype=np.float16), np.arange(16, dtype=np.float32))
    cache.put(k, e)
    got = cache.get(k)
    assert got is not None and np.array_equal(got.states, e.states) and np.array_equal(got.prosody, e.prosody)
    assert got.pooled().shape == (4 + 4 + 16,)
    b = tmp_path / "b.flac"
    shutil.copy(clips[1], b)
    assert cache.key(b) != k  # another file's content
    f = next((tmp_path / "c").rglob("*.npz"))
    f.write_bytes(b"truncated")
    assert cache.get(k) is None  # a corrupt entry is a miss, not a crash


@pytest.mark.slow
def test_extract_states_reuses_the_cache(tmp_path: Path, ravdess: Path) -> None:
    from emotrace.models.whisper import load_whisper

    d = tmp_path / "data"
    d.mkdir()
    for f in sorted((ravdess / "Actor_03").glob("03-01-0[15]-01-01-*.flac")):
        shutil.copy(f, d / f.name)
    (d / "03-01-03-01-01-01-03.flac").write_bytes(b"not audio")  # unreadable: skipped, listed
    ds = load_dataset(d)
    cache = StateCache(tmp_path / "c")
    first, bad = extract_states(ds, load_whisper(device="cpu", threads=2), cache, copies=1, seed=0)
    assert bad == [str(d / "03-01-03-01-01-01-03.flac")]
    ok = [e for e in first if e]
    assert len(ok) == 4 and all(len(e) == 2 for e in ok)
    clean, aug = ok[0]
    assert clean.states.dtype == np.float16 and clean.states.shape[1] == 512
    assert 30 < clean.states.shape[0] < 250  # 50 frames per second of a 1-4 s speech span
    assert not np.allclose(clean.states, aug.states[: len(clean.states)])
    again, _ = extract_states(ds, None, cache, copies=1, seed=0)  # no encoder needed: all cached
    assert all(
        np.array_equal(x.states, y.states)
        for a, b in zip(first, again, strict=True)
        for x, y in zip(a, b, strict=True)
    )

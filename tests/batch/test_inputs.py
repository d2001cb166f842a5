"""Input collection, result names and done-markers (no models involved)."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from emotrace.batch.index import CorpusIndex
from emotrace.batch.inputs import collect_inputs
from emotrace.batch.runner import LOCK, run_batch
from emotrace.batch.state import config_sha256, is_done, write_marker
from emotrace.config import load_config
from emotrace.errors import InputError, OutputError
from emotrace.io.media import file_sha256


def _tree(tmp_path: Path) -> Path:
    for rel in ("a/talk.mp4", "b/talk.mp4", "b/deep/voice.wav", "b/readme.md", "c.MKV"):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rel.encode())
    return tmp_path


def test_folder_recursive_stable_collision_free_names(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    items = collect_inputs([str(root)])
    assert sorted(p.path.relative_to(root).as_posix() for p in items) == [
        "a/talk.mp4", "b/deep/voice.wav", "b/talk.mp4", "c.MKV"
    ]
    names = [it.name for it in items]
    assert len(set(names)) == len(names)  # two talk.mp4 do not collide
    assert all(n.startswith(("talk-", "voice-", "c-")) for n in names)
    # the same file gets the same name whatever else is in the batch
    again = collect_inputs([str(root / "b" / "talk.mp4"), str(root / "a")])
    assert {it.path: it.name for it in again}.items() <= {it.path: it.name for it in items}.items()


def test_glob_and_duplicates(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    items = collect_inputs([str(root / "**" / "*.mp4"), str(root / "a" / "talk.mp4")])
    assert len(items) == 2  # the repeated file is counted once


def test_manifest_ids_and_relative_paths(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "m.csv").write_text("id,path\ninterview 1,a/talk.mp4\n,b/talk.mp4\n")
    items = collect_inputs([str(root / "m.csv")])
    assert items[0].name == "interview_1" and items[0].id == "interview 1"
    assert items[0].path == root / "a" / "talk.mp4"
    assert items[1].id is None and items[1].name.startswith("talk-")


@pytest.mark.parametrize(
    ("text", "problem"),
    [("file\nx.mp4\n", "'path' column"), ("id,path\nsame,a/talk.mp4\nsame,b/talk.mp4\n", "already used"),
     ("id,path\n", "no rows")],
)
def test_bad_manifests(tmp_path: Path, text: str, problem: str) -> None:
    root = _tree(tmp_path)
    (root / "m.csv").write_text(text)
    with pytest.raises(InputError, match=problem):
        collect_inputs([str(root / "m.csv")])


def test_missing_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        collect_inputs([str(tmp_path / "nope")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no video or audio"):
        collect_inputs([str(tmp_path / "empty")])
    with pytest.raises(InputError, match="matches no"):
        collect_inputs([str(tmp_path / "*.mp4")])


def test_config_hash_ignores_runtime_settings_only() -> None:
    base = config_sha256(load_config(None, ["fps=2"]))
    assert config_sha256(load_config(None, ["fps=2", "threads=3", "device=cpu"])) == base
    assert config_sha256(load_config(None, ["fps=3"])) != base
    assert config_sha256(load_config(None, ["fps=2", "stages.words.enabled=false"])) != base


def test_done_marker(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"abc")
    h = file_sha256(video)
    folder = tmp_path / "out"
    folder.mkdir()
    assert not is_done(folder, h, "cfg")
    write_marker(folder, {"input_sha256": h, "config_sha256": "cfg"})
    assert not is_done(folder, h, "cfg")  # no timeline.json: not a finished result
    (folder / "timeline.json").write_text("{}")
    assert is_done(folder, h, "cfg")
    assert not is_done(folder, h, "other-config")
    video.write_bytes(b"abcd")
    assert not is_done(folder, file_sha256(video), "cfg")


def test_one_batch_per_corpus_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with (out / LOCK).open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running batch holds it
        with pytest.raises(OutputError, match="another batch"):
            run_batch(collect_inputs([str(_tree(tmp_path / "in"))]), out)


def test_index_must_exist_unless_created(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no corpus index"):
        CorpusIndex(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()
    with CorpusIndex(tmp_path / "new", create=True) as idx:
        assert idx.videos().empty and idx.status_of("x") is None


def test_folder_expansion_skips_results(tmp_path: Path) -> None:
    """``batch . -o results`` run twice must not analyse its own highlight clips (issue 20)."""
    root = _tree(tmp_path)
    res = root / "results" / "talk-1234abcd"
    (res / "highlights").mkdir(parents=True)
    (res / "highlights" / "clip_01.mp4").write_bytes(b"clip")
    (res / ".emotrace-result").write_text("emotrace")
    other = root / "old_run" / "x"  # an emotrace result folder elsewhere in the tree
    other.mkdir(parents=True)
    (other / ".emotrace-result").write_text("emotrace")
    (other / "annotated.mp4").write_bytes(b"video")
    items = collect_inputs([str(root)], exclude=[root / "results"])
    names = sorted(p.path.relative_to(root).as_posix() for p in items)
    assert names == ["a/talk.mp4", "b/deep/voice.wav", "b/talk.mp4", "c.MKV"]
    with pytest.raises(InputError, match="matches no video"):  # a pattern that reaches only result files
        collect_inputs([str(root / "*" / "*" / "*.mp4")], exclude=[])

"""Dataset naming conventions and CSV manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotrace.errors import InputError
from emotrace.voice.datasets import corpus_summary, load_corpora, load_dataset, parse_name


@pytest.mark.parametrize(
    ("name", "label", "speaker"),
    [
        ("03-01-02-01-01-01-07.flac", "calm", "ravdess-07"),
        ("03-01-08-02-02-01-12.wav", "surprised", "ravdess-12"),
        ("1001_DFA_ANG_XX.flv", "ang", "crema-1001"),
        ("OAF_back_ps.wav", "ps", "tess-OAF"),
        ("YAF_dog_disgust.wav", "disgust", "tess-YAF"),
        ("DC_sa03.wav", "sad", "savee-DC"),
        ("JK_su11.wav", "surprise", "savee-JK"),
        ("03a01Wa.wav", "angry", "emodb-03"),
        ("16b10Lb.wav", "boredom", "emodb-16"),
        ("OA_bite_neutral.opus", "neutral", "tess-OAF"),
        ("EB0_happiness_12.opus", "happiness", "nemo-EB0"),
        ("WR0_surprised_64.opus", "surprised", "nemo-WR0"),
        ("a5-03-01-02-50.opus", "angry", "ased-50"),
        ("S4-04-02-01-29.opus", "sad", "ased-29"),
    ],
)
def test_parse_name(name: str, label: str, speaker: str) -> None:
    parsed = parse_name(Path("/data") / name)
    assert parsed is not None
    assert parsed[0] == label and parsed[1] == speaker


def test_unknown_names_are_not_guessed() -> None:
    assert parse_name(Path("holiday_video.mp4")) is None


def test_emodb_boredom_dropped_and_counted(tmp_path: Path) -> None:
    for name in ("03a01Wa.wav", "03a01Fa.wav", "16b10Lb.wav", "notes.wav"):
        (tmp_path / name).write_bytes(b"x")
    ds = load_dataset(tmp_path)
    assert sorted(it.label for it in ds.items) == ["angry", "happy"]
    assert ds.dropped == {"boredom": 1}
    assert ds.unrecognised == 1


def test_ravdess_folder(ravdess: Path) -> None:
    ds = load_dataset(ravdess)
    assert len(ds.items) == 1200
    assert ds.labels == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "calm"]
    assert len({it.speaker for it in ds.items}) == 20


def test_manifest(tmp_path: Path, ravdess: Path) -> None:
    clip = next((ravdess / "Actor_01").glob("*.flac"))
    (tmp_path / "m.csv").write_text(f"path,label,speaker\n{clip},joy,a\n{clip},contempt,b\n")
    ds = load_dataset(tmp_path / "m.csv")
    assert [(it.label, it.speaker) for it in ds.items] == [("happy", "a"), ("disgust", "b")]
    (tmp_path / "bad.csv").write_text(f"path,label\n{clip},jealousy\n")
    with pytest.raises(InputError, match="jealousy"):
        load_dataset(tmp_path / "bad.csv")
    (tmp_path / "cols.csv").write_text("file,emotion\nx.wav,happy\n")
    with pytest.raises(InputError, match="path,label"):
        load_dataset(tmp_path / "cols.csv")


def test_new_corpora_with_their_label_maps(shared_data: Path) -> None:
    """TESS, nEMO and ASED as shipped in ../shared/data: every clip recognised, labels mapped to
    the canonical set (TESS ps -> surprise, nEMO happiness -> happy, ASED f -> fear)."""
    ds = load_corpora([shared_data / "tess", shared_data / "nemo", shared_data / "ased"])
    assert ds.unrecognised == 0 and not ds.dropped
    counts = corpus_summary(ds)
    assert {c: sum(v.values()) for c, v in counts.items()} == {"tess": 2800, "nemo": 4481, "ased": 2474}
    assert sorted(counts["tess"]) == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert sorted(counts["nemo"]) == ["angry", "fear", "happy", "neutral", "sad", "surprise"]
    assert sorted(counts["ased"]) == ["angry", "fear", "happy", "neutral", "sad"]
    speakers = {c: {it.speaker for it in ds.items if it.corpus == c} for c in counts}
    assert len(speakers["tess"]) == 2 and len(speakers["nemo"]) == 9 and len(speakers["ased"]) == 65


def test_calm_folds_into_neutral_across_corpora(ravdess: Path, tmp_path: Path) -> None:
    clip = next((ravdess / "Actor_01").glob("03-01-02-*.flac"))  # calm
    (tmp_path / "m.csv").write_text(f"path,label,speaker\n{clip},happy,a\n")
    ds = load_corpora([ravdess / "Actor_01", tmp_path / "m.csv"])
    assert {it.label for it in ds.items if it.path == clip and it.corpus == "ravdess"} == {"neutral"}
    assert [it.speaker for it in ds.items if it.corpus == "m"] == ["m-a"]
    assert "calm" in {it.label for it in load_corpora([ravdess / "Actor_01"], fold_calm=False).items}

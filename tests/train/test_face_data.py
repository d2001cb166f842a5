"""Dataset layouts and label mapping for face training/eval (real FER2013 images)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from emotrace.errors import InputError
from emotrace.faces.data import eval_folder, limit_per_class, load_images, scan_folder
from emotrace.labels import CANONICAL
from emotrace.train.metrics import summarize


def _some_images(fer: Path, n: int) -> list[Path]:
    return sorted((fer / "val" / "happy").glob("*.jpg"))[:n]


def test_fer_layout_counts(tiny_fer: Path) -> None:
    files = scan_folder(tiny_fer / "train")
    assert len(files.files) == 12 * 7
    assert files.counts() == dict.fromkeys(CANONICAL, 12)
    assert files.mapping["angry"] == "angry" and not files.dropped
    assert eval_folder(tiny_fer) == tiny_fer / "val"
    assert eval_folder(tiny_fer / "val") == tiny_fer / "val"


def test_rafdb_numeric_folders(fer: Path, tmp_path: Path) -> None:
    imgs = _some_images(fer, 7)
    for k, img in enumerate(imgs, start=1):  # RAF-DB: 1 surprise ... 4 happiness ... 7 neutral
        (tmp_path / str(k)).mkdir()
        shutil.copy(img, tmp_path / str(k) / img.name)
    files = scan_folder(tmp_path)
    assert files.mapping == {
        "surprise": "surprise", "fear": "fear", "disgust": "disgust", "happiness": "happy",
        "sadness": "sad", "anger": "angry", "neutral": "neutral",
    }  # fmt: skip
    assert files.counts() == dict.fromkeys(CANONICAL, 1)


def test_affectnet_numeric_folders_map_contempt(fer: Path, tmp_path: Path) -> None:
    imgs = _some_images(fer, 8)
    for k, img in enumerate(imgs):  # AffectNet: 0 neutral ... 7 contempt
        (tmp_path / str(k)).mkdir()
        shutil.copy(img, tmp_path / str(k) / img.name)
    files = scan_folder(tmp_path)
    assert files.mapping["contempt"] == "disgust"
    assert files.counts()["disgust"] == 2 and files.counts()["neutral"] == 1
    assert "contempt->disgust" in files.describe()


def test_flat_names_and_dropped_labels(fer: Path, tmp_path: Path) -> None:
    imgs = _some_images(fer, 4)
    names = ["rafdb_1_joy.jpg", "rafdb_2_Surprised.jpg", "emodb_3_boredom.jpg", "x_y_4_sad.jpg"]
    for img, name in zip(imgs, names, strict=True):
        shutil.copy(img, tmp_path / name)
    files = scan_folder(tmp_path)
    assert [CANONICAL[i] for i in files.labels] == ["happy", "surprise", "sad"]
    assert files.dropped == {"boredom": 1}
    assert "dropped boredom (1)" in files.describe()


def test_unknown_label_is_an_input_error(fer: Path, tmp_path: Path) -> None:
    (tmp_path / "smirk").mkdir()
    shutil.copy(_some_images(fer, 1)[0], tmp_path / "smirk" / "a.jpg")
    with pytest.raises(InputError, match="smirk"):
        scan_folder(tmp_path)
    with pytest.raises(InputError, match="<dataset>_<n>_<emotion>"):
        scan_folder(tmp_path / "smirk")  # a.jpg is not a flat labelled name
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no labelled images"):
        scan_folder(tmp_path / "empty")
    with pytest.raises(InputError, match="not a folder"):
        scan_folder(tmp_path / "missing")


def test_load_images_and_limit(tiny_fer: Path) -> None:
    files = limit_per_class(scan_folder(tiny_fer / "val"), 3)
    assert files.counts() == dict.fromkeys(CANONICAL, 3)
    x = load_images(files.files, 64)
    assert x.shape == (21, 64, 64) and x.dtype == np.uint8 and x.std() > 10


def test_summarize_consistent() -> None:
    y = np.array([0, 0, 1, 3, 3, 3, 6])
    p = np.array([0, 1, 1, 3, 3, 6, 6])
    s = summarize(y, p)
    assert s["n"] == 7 and s["accuracy"] == pytest.approx(5 / 7)
    assert s["per_class_recall"] == {
        "angry": 0.5,
        "disgust": 1.0,
        "happy": pytest.approx(2 / 3),
        "neutral": 1.0,
    }
    assert np.trace(np.array(s["confusion"])) == 5

"""Fixtures for the face training/eval tests: small real subsets of FER2013."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FER = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "fer2013"
FER_FOLDERS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


@pytest.fixture(scope="session")
def fer() -> Path:
    if not FER.is_dir():
        pytest.skip(f"FER2013 not present at {FER}")
    return FER.resolve()


def copy_subset(src: Path, dst: Path, per_class: int) -> Path:
    """Copy the first ``per_class`` images of each emotion folder of ``src`` into ``dst``."""
    for lab in FER_FOLDERS:
        (dst / lab).mkdir(parents=True, exist_ok=True)
        for f in sorted((src / lab).glob("*.jpg"))[:per_class]:
            shutil.copy(f, dst / lab / f.name)
    return dst


@pytest.fixture(scope="session")
def tiny_fer(fer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ROOT/{train,val}/<emotion>/*.jpg with 12 train and 6 val images per class."""
    root = tmp_path_factory.mktemp("tiny_fer")
    copy_subset(fer / "train", root / "train", 12)
    copy_subset(fer / "val", root / "val", 6)
    return root

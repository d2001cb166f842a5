"""The published distributions: a code wheel without weights, model distributions under the
size limit, and the resolver finding a model in its distribution once the code is installed
from the wheel (no source checkout on the path)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from emotrace.models import assets
from emotrace.models.distributions import DISTRIBUTIONS, MAX_WHEEL_BYTES, PART_BYTES, requirements

ROOT = Path(__file__).resolve().parents[2]


def test_every_distribution_model_is_catalogued_and_fits() -> None:
    assets.load_catalog()
    seen: set[str] = set()
    for dist in DISTRIBUTIONS:
        raw = 0
        for name in dist.models:
            assert name not in seen, f"{name} is in two distributions"
            seen.add(name)
            spec = assets.get_spec(name)
            assert spec.sha256, f"{name} has no sha256 to check"
            if spec.package_data:
                raw += (assets.WEIGHTS_DIR / spec.package_data).stat().st_size
        assert raw < MAX_WHEEL_BYTES, dist.name
        for card in dist.cards:
            assert (assets.CARDS_DIR / card).is_file(), card


def test_the_default_models_all_reach_a_wheel_user() -> None:
    """Each model a default analysis resolves is in a model distribution, joined from models that
    are, or comes from a declared registry dependency (Whisper parts, dlib's models)."""
    from emotrace.models.distributions import distribution_of

    declared = {"whisper-base-part1", "whisper-base-part2", "dlib-face-resnet", "dlib-shape-predictor-5"}
    defaults = ["blazeface-full-range", "mediapipe-face-landmarker", "emotrace-fer", "resemblyzer-ge2e",
                "emotrace-voice-emotion", "whisper-base", "whisper-base-l3", "minilm-tokenizer", "emotrace-text-mpnet-pn",
                "emotrace-text-minilm-pn", "emotrace-text-xed", "nrc-emotion-lexicon"]  # fmt: skip

    def reaches(name: str) -> bool:
        spec = assets.get_spec(name)
        if distribution_of(name) is not None or name in declared:
            return True
        return spec.build is not None and all(reaches(d) for d in spec.build_from)

    assert [m for m in defaults if not reaches(m)] == []
    deps = subprocess.run(
        [sys.executable, "-c", "import tomllib,sys; print(tomllib.load(open(sys.argv[1],'rb'))['project']['dependencies'])",
         str(ROOT / "pyproject.toml")], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for req in requirements():
        assert req in deps


def test_parts_join_to_the_whole_file() -> None:
    spec = assets.get_spec("emotrace-text-mpnet-pn")
    data = (assets.WEIGHTS_DIR / str(spec.package_data)).read_bytes()
    parts = [data[:PART_BYTES], data[PART_BYTES:]]
    assert len(spec.build_from) == 2 and all(len(p) < MAX_WHEEL_BYTES for p in parts)
    for name, part in zip(spec.build_from, parts, strict=True):
        assert hashlib.sha256(part).hexdigest() == assets.get_spec(name).sha256
    assert hashlib.sha256(b"".join(parts)).hexdigest() == spec.sha256


@pytest.mark.slow
def test_code_wheel_has_no_weights_and_finds_a_model_distribution(tmp_path: Path) -> None:
    out = tmp_path / "wheels"
    # scripts/build_wheels.py builds every distribution: here the code wheel and one small model one
    code = r"""
import sys, tempfile
from pathlib import Path
sys.path.insert(0, "scripts")
import build_wheels as b
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
b.assets.load_catalog()
with tempfile.TemporaryDirectory() as t:
    b.build_distribution(next(d for d in b.DISTRIBUTIONS if d.name == "emotrace-models-voice"), out, Path(t))
    b.build_code_wheel(out, Path(t))
"""
    subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, check=True, capture_output=True, timeout=600)
    (code_whl,) = out.glob("emotrace-*.whl")
    with zipfile.ZipFile(code_whl) as z:
        names = z.namelist()
    assert not [n for n in names if "/models/weights/" in n]
    assert "emotrace/models/assets.py" in names and code_whl.stat().st_size < 30e6
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site),
                    *map(str, out.glob("*.whl"))], check=True, capture_output=True, timeout=300)  # fmt: skip
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import emotrace.models.assets as a; "
        "assert a.__file__.startswith(sys.argv[1]), a.__file__; r = a.resolve('emotrace-voice-emotion'); "
        "print(r.source, r.path)"
    )
    proc = subprocess.run([sys.executable, "-I", "-c", probe, str(site)], capture_output=True, text=True, timeout=120, check=False,
                          env={"EMOTRACE_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    source, path = proc.stdout.split()
    assert source == "package:emotrace-models-voice" and path.startswith(str(site / "emotrace_models_voice"))

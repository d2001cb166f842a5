"""The stage plug-in contract and its registry.

A stage fills one *slot* of the pipeline (``faces``, ``voice``, ``words``, ``shots``...) with
one *backend*. It declares the Python modules it needs (``requires``); when one is missing
the stage is skipped with one message instead of crashing the run.

Three kinds of stage exist:

* ``frames``: gets decoded frames at its own sampling rate during the one decode pass
  (:meth:`Stage.process_frame`), then :meth:`Stage.finish`.
* ``audio``: runs after decoding on the audio track (:meth:`Stage.run`).
* ``post``: works on what earlier stages wrote into the timeline (:meth:`Stage.run`).

Each stage declares what it reads and writes: :class:`~emotrace.model.Timeline` fields
(``faces``, ``speech``, ``windows``...) and named, typed :class:`Channel` objects for what is not
part of the result (``shots.cuts``, the cut times found so far during decoding). ``needs`` lists
the reads without which the stage has nothing to do. The runner checks the plan against these
declarations (:func:`check_flow`): a stage that reads what a later stage writes is an error, and
one whose needs no enabled stage writes is skipped with the reason in the provenance.

This module is the whole plug-in contract: :class:`Stage`, :class:`Context` (what a stage sees),
:class:`Channel` and the registry. It does not import the runner (``emotrace.pipeline``).

Register a plug-in with :func:`register`; third-party packages can expose stages through the
``emotrace.stages`` entry-point group (each entry point names a module to import).
"""

from __future__ import annotations

import importlib
import importlib.util
from abc import ABC
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from emotrace.errors import ConfigError, DependencyMissing
from emotrace.labels import CANONICAL, LabelSpace, to_canonical, valence_arousal
from emotrace.model import EmotionScores, ModelUse, Timeline

if TYPE_CHECKING:
    from emotrace.config import Config
    from emotrace.io.media import Frame
    from emotrace.model import VideoInfo
    from emotrace.models.assets import ResolvedModel

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


T = TypeVar("T")


@dataclass(frozen=True)
class Channel(Generic[T]):
    """A named, typed value that stages pass to each other outside the timeline."""

    name: str
    holds: type | str  # a class, or "module:Class" resolved on first use (keeps this module light)
    doc: str

    def value_type(self) -> type:
        if isinstance(self.holds, str):
            mod, _, cls = self.holds.partition(":")
            found: type = getattr(importlib.import_module(mod), cls)
            return found
        return self.holds

    def __post_init__(self) -> None:
        if "." not in self.name:
            raise ValueError(f"channel names are <slot>.<what> ({self.name!r})")
        if self.name in CHANNELS and CHANNELS[self.name] != self:
            raise ValueError(f"channel {self.name!r} is declared twice")
        CHANNELS[self.name] = self


CHANNELS: dict[str, Channel[Any]] = {}
# the timeline's record lists (and ``tables``) that stages read and write
TIMELINE_FIELDS: frozenset[str] = frozenset(Timeline.model_fields) - {"schema_version", "video", "labels", "provenance"}

SHOT_CUTS: Channel[list[float]] = Channel(
    "shots.cuts", list, "cut times (s) found so far in the decode pass, growing frame by frame"
)
ENCODER_STATES: Channel[dict[tuple[float, float], Any]] = Channel(
    "voice.encoder_states", dict,
    "encoder states the speech emotion model reads (frames x 512, float16; the encoder its model "
    "names, by default Whisper base cut after block 3) per analysed window (start_s, end_s), "
    "kept for windows before stages.voice.cache_encoder_until_s (for plug-ins)",
)
TRANSCRIPT: Channel[Any] = Channel(
    "words.transcript", "emotrace.text.asr:Transcript",
    "the ASR result (emotrace.text.asr.Transcript: language, its probability, segments), for plug-ins",
)


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
    # timeline fields (TIMELINE_FIELDS) and channel names (CHANNELS) this stage reads / writes;
    # ``needs`` are the reads without which it has nothing to do
    reads: ClassVar[tuple[str, ...]] = ()
    needs: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()

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


class ProgressHook(Protocol):
    def __call__(self, step: str, completed: float | None = None, total: float | None = None) -> None: ...


def null_hook(step: str, completed: float | None = None, total: float | None = None) -> None:
    """The API's default hook: does nothing."""


class Context:
    """What a stage sees: the input, config, the growing timeline, channels and shared helpers."""

    def __init__(
        self,
        path: Path,
        info: VideoInfo,
        config: Config,
        timeline: Timeline,
        workdir: Path | None,
        hook: ProgressHook,
    ):
        self.path = path
        self.info = info
        self.config = config
        self.timeline = timeline
        self.workdir = workdir  # where stages may write artifacts (keyframes...), None in API-only runs
        self.hook = hook
        self.label_space = LabelSpace(config.labels.merges)
        self._channels: dict[str, Any] = {}
        self._writers: dict[str, str] | None = None  # channel -> slot, from the plan (None: not checked)
        self._audio: np.ndarray | None = None
        self._models: dict[str, ModelUse] = {}

    # ---- channels --------------------------------------------------------------------
    def declare(self, stages: Iterable[Stage]) -> None:
        """Accept channel writes only from what the planned stages declare (the runner calls this)."""
        self._writers = {n: st.slot for st in stages for n in st.writes if n in CHANNELS}

    def put(self, channel: Channel[T], value: T) -> None:
        """Publish a channel value (the writing stage declares ``channel.name`` in ``writes``)."""
        if self._writers is not None and channel.name not in self._writers:
            raise TypeError(f"channel {channel.name} is written by no planned stage (declare it in Stage.writes)")
        if not isinstance(value, channel.value_type()):
            raise TypeError(f"channel {channel.name} holds {channel.value_type().__name__}, not {type(value).__name__}")
        self._channels[channel.name] = value

    def get(self, channel: Channel[T], default: T | None = None) -> T | None:
        """A channel's value, or ``default`` when no stage has published it (yet)."""
        value: T | None = self._channels.get(channel.name, default)  # put() checked its type
        return value

    # ---- emotion scores on the result's label space ------------------------------------
    def scores(self, probs: Mapping[str, float] | np.ndarray, model: str | None = None) -> EmotionScores:
        """Build :class:`EmotionScores` from canonical (or aliased) probabilities.

        Valence/arousal come from the circumplex over the canonical probabilities, then
        probabilities are projected onto the configured label space (merges).
        """
        if isinstance(probs, np.ndarray):
            probs = {lab: float(p) for lab, p in zip(CANONICAL, probs.tolist(), strict=True)}
        canon = to_canonical(probs, self.config.labels.aliases)
        v, a = valence_arousal(canon)
        out = self.label_space.project(canon)
        return EmotionScores(
            probs={k: round(float(x), 5) for k, x in out.items()},
            valence=round(v, 5),
            arousal=round(a, 5),
            model=model,
        )

    # ---- models --------------------------------------------------------------------
    def model(self, name: str) -> ResolvedModel:
        """Resolve a model and record it in the provenance."""
        from emotrace.models.assets import resolve

        res = resolve(name, allow_download=self.config.allow_download)
        self._models[name] = ModelUse(name=name, source=res.source, path=str(res.path), sha256=res.sha256)
        return res

    # ---- audio -----------------------------------------------------------------------
    def audio(self) -> np.ndarray:
        """The whole audio track, 16 kHz mono float32 (decoded once, cached)."""
        if self._audio is None:
            from emotrace.io.media import load_audio

            self._audio = load_audio(self.path, info=self.info, tolerate_corrupt=self.config.tolerate_corrupt)
        return self._audio

    def iter_audio(self, chunk_s: float = 30.0) -> Any:
        """Stream the audio in chunks (for long inputs where flat memory matters)."""
        from emotrace.io.media import iter_audio

        return iter_audio(self.path, chunk_s=chunk_s, info=self.info, tolerate_corrupt=self.config.tolerate_corrupt)

    def warn(self, message: str) -> None:
        if message not in self.timeline.provenance.warnings:
            self.timeline.provenance.warnings.append(message)


def runs_before(first: Stage, second: Stage) -> bool:
    """Whether ``first`` has finished writing before ``second`` reads. Frames stages run during
    the decode pass, audio stages beside it (a worker thread), post stages after both; inside
    one kind, stages run in :data:`SLOT_ORDER`."""
    a, b = SLOT_ORDER.index(first.slot), SLOT_ORDER.index(second.slot)
    if first.kind == second.kind:
        return a < b
    return second.kind == "post"


@dataclass
class FlowSkip:
    stage: Stage
    missing: list[str]


def check_flow(stages: list[Stage]) -> tuple[list[Stage], list[FlowSkip]]:
    """Check the planned stages against their declarations.

    Every declared name must be a timeline field or a channel; a stage whose ``needs`` no
    planned stage writes before it (directly or after an earlier skip) is returned as skipped;
    among the stages that run, a read written only by stages that run after the reader is a
    :class:`ConfigError`."""
    for st in stages:
        for name in (*st.reads, *st.needs, *st.writes):
            if name not in TIMELINE_FIELDS and name not in CHANNELS:
                raise ConfigError(
                    f"stage {st.slot} ({st.backend}) declares {name!r}, which is neither a timeline field "
                    f"({', '.join(sorted(TIMELINE_FIELDS))}) nor a channel ({', '.join(sorted(CHANNELS))})"
                )
        for name in set(st.needs) - set(st.reads):
            raise ConfigError(f"stage {st.slot} ({st.backend}) needs {name!r} but does not list it in reads")
    kept: list[Stage] = []
    skipped: list[FlowSkip] = []
    for st in stages:
        missing = [n for n in st.needs if not any(n in w.writes and runs_before(w, st) for w in kept)]
        if missing:
            skipped.append(FlowSkip(st, missing))
        else:
            kept.append(st)
    # the order is judged among the stages that will run: a writer skipped for want of its own
    # input (link, when no voice stage writes speech) writes nothing, early or late
    for st in kept:
        for name in st.reads:
            writers = [w for w in kept if w is not st and name in w.writes]
            if writers and not any(runs_before(w, st) for w in writers):
                w = writers[0]
                raise ConfigError(
                    f"stage {st.slot} ({st.backend}) reads {name}, which stage {w.slot} ({w.backend}) "
                    f"writes only later ({w.kind} stage); they cannot run in this order"
                )
    return kept, skipped


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

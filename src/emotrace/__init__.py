"""emotrace: second-by-second emotion timelines from faces, voices and words in video."""

from __future__ import annotations

__version__ = "0.1.0"

import os as _os

# native libraries (MediaPipe/glog, TFLite) log to stderr unless told not to
_os.environ.setdefault("GLOG_minloglevel", "3")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emotrace.config import Config, load_config
    from emotrace.model import Timeline
    from emotrace.pipeline import analyze

__all__ = ["Config", "Timeline", "__version__", "analyze", "load_config"]


def __getattr__(name: str) -> Any:  # lazy: importing emotrace stays cheap
    if name == "analyze":
        from emotrace.pipeline import analyze

        return analyze
    if name in ("Config", "load_config"):
        from emotrace import config

        return getattr(config, name)
    if name == "Timeline":
        from emotrace.model import Timeline

        return Timeline
    raise AttributeError(name)

"""Shared ONNX Runtime sessions: created once per (path, device, threads) and reused."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import onnxruntime as ort

_SESSIONS: dict[tuple[str, str, int], ort.InferenceSession] = {}
_LOCK = threading.Lock()


def providers(device: str = "auto") -> list[str]:
    """Execution providers for ``device`` (auto: CUDA when onnxruntime-gpu sees a GPU)."""
    avail = ort.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in avail:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        from emotrace.errors import DependencyMissing

        raise DependencyMissing("--device cuda: onnxruntime has no CUDA provider (pip install onnxruntime-gpu)")
    return ["CPUExecutionProvider"]


def session(path: str | os.PathLike[str], device: str = "auto", threads: int = 0) -> ort.InferenceSession:
    key = (str(Path(path).resolve()), device, threads)
    with _LOCK:
        s = _SESSIONS.get(key)
        if s is None:
            so = ort.SessionOptions()
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if threads:
                so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            # waiting threads sleep instead of spinning: on a shared or oversubscribed CPU
            # (process pools, other stages) spinning burns cores without doing work
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            so.log_severity_level = 3
            s = ort.InferenceSession(str(path), sess_options=so, providers=providers(device))
            _SESSIONS[key] = s
        return s

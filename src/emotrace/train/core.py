"""Seeding and threads for emotrace's PyTorch trainers (PyTorch is imported on call only)."""

from __future__ import annotations

import random

import numpy as np

from emotrace.config import cpu_threads


def setup_torch(seed: int, threads: int = 0) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) and set PyTorch's CPU threads (0 = all
    cores, as ``--threads`` everywhere). Returns the thread count used."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    n = cpu_threads(threads)
    torch.set_num_threads(n)
    return n

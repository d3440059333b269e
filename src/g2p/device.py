"""Device choice and seeding (d2l's ``try_gpu``), so notebooks and training agree on both."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def try_gpu() -> torch.device:
    """CUDA if present, else Apple MPS, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe(device: torch.device | None = None) -> str:
    device = device or try_gpu()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    return device.type


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch; on CPU make kernels deterministic so reruns match."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

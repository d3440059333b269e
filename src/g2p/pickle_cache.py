"""Pickle caches under ``data/cache/``: load when present and of the right type, else build and store.

Used for the parsed ontologies and the gene → term tables, whose parsing would otherwise dominate
smoke runs. A corrupt or stale pickle is rebuilt; writes are atomic.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from g2p import atomic, paths

T = TypeVar("T")


def load_or_build(cache_file: Path, expected: type[T], build: Callable[[], T], *, use_cache: bool = True) -> T:
    if use_cache and cache_file.exists():
        try:
            with open(cache_file, "rb") as fh:
                cached = pickle.load(fh)
            if isinstance(cached, expected):
                return cached
        except Exception:  # noqa: BLE001 - any unreadable cache (truncated, stale class, bad bytes) is rebuilt
            pass
    value = build()
    atomic.write_bytes(cache_file, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    return value


def clear(prefix: str) -> int:
    """Delete ``data/cache/<prefix>*.pickle``; returns how many files were removed."""
    removed = 0
    for file in paths.cache.glob(f"{prefix}*.pickle"):
        file.unlink(missing_ok=True)
        removed += 1
    return removed

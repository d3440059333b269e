"""Keyed artifacts: anything expensive is stored with the key of what it was built from, and reused
only while that key still matches.

Every "reuse if the key matches" cache in g2p goes through this module, so there is one way to
compute a key and one way to check it:

* :func:`key_of` — the key of a JSON-able payload (inputs' checksums, settings, a data fingerprint);
* :func:`keyed_file` — an artifact whose *name* carries the key (``<folder>/<stem>_<key><suffix>``):
  a stale one is simply never looked up again;
* :func:`current_record` — an artifact whose JSON record carries the key in a field (a training run's
  ``result.json``, a curated dataset's datasheet): reused only when the field equals the key;
* :func:`load_or_build` — a pickled Python object under ``data/cache/``, rebuilt when missing,
  unreadable or of the wrong type; :func:`clear` deletes such pickles by prefix;
* :func:`code_digest` — the hash of the code that builds an artifact (a function's module and every
  ``g2p`` module it imports), so that a key changes when a rule of that code changes.

Writes are atomic (:mod:`g2p.atomic`), so an interrupted build never leaves an artifact that looks current.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import pickle
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from g2p import atomic, paths

T = TypeVar("T")


def key_of(payload: Mapping[str, Any] | str, length: int | None = 16) -> str:
    """sha256 of ``payload`` (a mapping is serialised as JSON with sorted keys), as ``length`` hex digits
    (None: all 64)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return digest if length is None else digest[:length]


def keyed_file(folder: Path, stem: str, key: str, suffix: str) -> Path:
    """``<folder>/<stem>_<key><suffix>``: the artifact built for ``key``."""
    return Path(folder) / f"{stem}_{key}{suffix}"


def current_record(record_file: Path, key: str, field: str = "key") -> dict | None:
    """The JSON object in ``record_file`` when its ``field`` equals ``key``; None when the file is
    missing, unreadable, not an object, or was built for another key."""
    try:
        record = json.loads(Path(record_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get(field) != key:
        return None
    return record


def load_or_build(cache_file: Path, expected: type[T], build: Callable[[], T], *, use_cache: bool = True) -> T:
    """The object pickled at ``cache_file`` when it loads and is an ``expected``; else ``build()``,
    pickled there atomically. Name the file with :func:`keyed_file` so a changed input misses it."""
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


def code_digest(functions: Iterable[Callable[..., Any]], modules: Iterable[str] = ()) -> str:
    """sha256 over the code behind ``functions`` and ``modules``: each ``g2p`` module with every ``g2p``
    module it imports (:func:`g2p.stamps.module_closure`), and for a function defined outside the
    package (a user's builder) the source file it was defined in."""
    from g2p import stamps

    package_modules = set(modules)
    outside: set[Path] = set()
    for function in functions:
        if not (inspect.isroutine(function) or inspect.isclass(function)):
            function = type(function)  # a callable object (a configured builder): its class's code
        module = getattr(inspect.getmodule(function), "__name__", "")
        if module.split(".")[0] == stamps.PACKAGE:
            package_modules.add(module)
        else:
            source = inspect.getsourcefile(function)
            if source is not None:
                outside.add(Path(source))
    digest = hashlib.sha256(stamps.source_digest(modules=stamps.module_closure(sorted(package_modules))).encode())
    for file in sorted(outside):
        digest.update(str(file).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()

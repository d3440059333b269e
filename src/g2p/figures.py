"""Save every figure through one helper so the book can say which run made it.

``save(fig, name)`` writes ``figures/<preset>/<name>.png`` atomically and records in
``figures/<preset>/manifest.json`` the notebook, preset and run id that produced it (one folder per
preset, so a smoke run never replaces the quick book's figures). The runner sets
``G2P_NOTEBOOK``, ``G2P_PRESET`` and ``G2P_RUN_ID`` for each executed notebook; interactive use
records ``interactive``.
"""

from __future__ import annotations

import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from g2p import atomic, paths

MANIFEST = "manifest.json"


def run_context() -> dict[str, str]:
    return {
        "notebook": os.environ.get("G2P_NOTEBOOK", "interactive"),
        "preset": os.environ.get("G2P_PRESET", "interactive"),
        "run_id": os.environ.get("G2P_RUN_ID", "interactive"),
    }


def load_manifest(folder: Path | None = None, *, preset: str | None = None) -> dict[str, Any]:
    path = (folder or paths.figures_dir(preset)) / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def save(fig: Any, name: str, *, folder: Path | None = None, dpi: int = 150, **kwargs: Any) -> Path:
    """Write ``fig`` (a matplotlib Figure, or anything with ``savefig``) as ``<name>.png``.

    Returns the written path. The manifest entry carries the notebook, preset, run id and time.
    """
    folder = folder or paths.figures_dir()
    if hasattr(fig, "figure") and not hasattr(fig, "savefig"):
        fig = fig.figure  # seaborn FacetGrid / Axes
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", **kwargs)
    target = folder / f"{name}.png"
    atomic.write_bytes(target, buf.getvalue())
    manifest = load_manifest(folder)
    manifest[f"{name}.png"] = {
        **run_context(),
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic.write_bytes(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
    return target

"""Save every figure through one helper so the book can say which run made it.

``save(fig, name)`` writes ``figures/<preset>/<name>.png`` atomically and records in
``figures/<preset>/manifest.json`` the notebook, preset and run id that produced it (one folder per
preset, so a smoke run never replaces the quick book's figures). The runner sets
``G2P_NOTEBOOK``, ``G2P_PRESET`` and ``G2P_RUN_ID`` for each executed notebook; interactive use
records ``interactive``.

Inside a notebook kernel ``save`` also displays the figure once, as a PNG output that carries a
``g2p_figure`` entry in its metadata (file name, label, caption, notebook, preset, run id), and closes
it so the inline backend does not show it a second time. Jupyter shows the PNG; the book's stager
(:mod:`g2p.bookpages`) turns that output into a numbered MyST ``{figure}`` block with the caption and
the run that made it, which the prose cites as ``{numref}`fig-<name>```.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from g2p import atomic, paths

MANIFEST = "manifest.json"
#: Output-metadata key of a displayed figure (read by g2p.bookpages).
METADATA_KEY = "g2p_figure"


def label_for(name: str) -> str:
    """The cross-reference label of figure ``name``: ``01_mpo_term_frequency`` → ``fig-01-mpo-term-frequency``."""
    return "fig-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class SavedFigure(type(Path())):  # type: ignore[misc]
    """The path ``save`` returns after it displayed the figure: as a cell's last expression it shows
    nothing (the figure is already on the page), not a ``PosixPath('/machine/path')``."""

    def _ipython_display_(self) -> None:
        return None


def _kernel() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


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


def save(fig: Any, name: str, *, folder: Path | None = None, dpi: int = 150, caption: str = "",
         show: bool | None = None, **kwargs: Any) -> Path:
    """Write ``fig`` (a matplotlib Figure, or anything with ``savefig``) as ``<name>.png``.

    Returns the written path. The manifest entry carries the notebook, preset, run id and time.
    ``caption`` says what to look at in the figure (the book prints it under the numbered figure).
    ``show`` (default: inside a notebook kernel) displays the figure once and closes it.
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
    if show is None:
        show = _kernel() is not None
    if not show:
        return target
    from IPython.display import display

    meta = {"file": target.name, "label": label_for(name), "caption": caption, **run_context()}
    display({"image/png": base64.b64encode(buf.getvalue()).decode("ascii"), "text/plain": f"<figure {target.name}>"},
            raw=True, metadata={METADATA_KEY: meta})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return SavedFigure(target)

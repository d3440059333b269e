"""Presets: ``params/{smoke,quick,paper}.yaml`` → the parameters each notebook receives.

A preset file has a ``common`` block (given to every notebook that declares the name) and one block
per notebook stem (``01_data_curation`` …) that overrides it. The runner passes each notebook only the
names its ``parameters`` cell declares, so a notebook never receives a value it does not use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from g2p import paths

PRESETS = ("smoke", "quick", "paper")


def preset_file(preset: str) -> Path:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return paths.params / f"{preset}.yaml"


def load(preset: str) -> dict[str, Any]:
    """The whole preset as a dict (``common`` plus one block per notebook)."""
    path = preset_file(preset)
    with path.open() as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict) or "common" not in data:
        raise ValueError(f"{path}: a preset needs a top-level 'common' mapping")
    return data


def notebook_parameters(preset: str, notebook: str) -> dict[str, Any]:
    """``common`` merged with the notebook's own block; ``preset`` is always set."""
    data = load(preset)
    merged: dict[str, Any] = {**data.get("common", {}), **(data.get(Path(notebook).stem) or {})}
    merged["preset"] = preset
    return merged


def section(preset: str, name: str) -> dict[str, Any]:
    """One named block of a preset (e.g. ``genepheno`` or ``diffusion``) for code outside notebooks."""
    data = load(preset)
    return {**data.get("common", {}), **(data.get(name) or {})}

"""Every path the project uses, derived from the repository root (showyourwork's ``paths``).

Nothing in ``g2p`` builds a path relative to the current working directory: notebooks run from
papermill's temporary folders, tests from anywhere.  Override the root with ``$G2P_ROOT`` (for an
installed, non-editable package) and the data mirror with ``$G2P_DATA_MIRROR``.
"""

from __future__ import annotations

import os
from pathlib import Path


def _find_root() -> Path:
    env = os.environ.get("G2P_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "g2p").is_dir():
            return parent
    return Path.cwd().resolve()


root: Path = _find_root()
src: Path = root / "src" / "g2p"
notebooks: Path = root / "notebooks"
params: Path = root / "params"
book: Path = root / "book"
figures: Path = root / "figures"
data: Path = root / "data"
raw: Path = data / "raw"
processed: Path = data / "processed"
cache: Path = data / "cache"
runs: Path = root / "runs"
executed: Path = root / "build" / "executed"
book_html: Path = root / "_build" / "html"
benchmarks: Path = root / "benchmarks"


def shared_mirror() -> Path:
    """The project's sibling data release, ``../shared/g2p-data`` next to the repository."""
    return root.parent / "shared" / "g2p-data"


def processed_dataset(name: str) -> Path:
    return processed / name


def run_dir(preset: str, experiment: str) -> Path:
    return runs / preset / experiment

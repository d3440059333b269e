"""Every path the project uses, derived from the repository root (showyourwork's ``paths``).

Nothing in ``g2p`` builds a path relative to the current working directory: notebooks run from
papermill's temporary folders, tests from anywhere.

Two roots:

* ``root`` — the source tree (``notebooks/``, ``params/``, ``book/``, ``src/``); ``$G2P_ROOT``
  overrides it for an installed, non-editable package;
* ``output_root`` — where runs write what they produce: curated datasets (``data/processed``),
  ``runs/``, ``figures/``, ``build/`` (executed notebooks, provenance) and the book (``_build/``).
  It is ``root`` unless ``$G2P_OUTPUT_ROOT`` says otherwise; the test suite points it at a temporary
  folder so that ``make test`` never touches the reader's book.

``$G2P_NOTEBOOKS`` names another folder of chapter notebooks: the grader gives a submission's kernel
solution-free copies there (:mod:`g2p.grading`), since the sources themselves are hidden from it.

Downloads (``data/raw``) and the content-addressed caches (``data/cache``: parsed ontologies, file
digests) stay under ``root``: they are keyed by content, so every output root can share them.

Executed notebooks, provenance and figures are kept per preset (``build/<preset>/executed``,
``build/<preset>/provenance.md``, ``figures/<preset>/``), so a smoke run never replaces a quick one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

OUTPUT_ROOT_ENV = "G2P_OUTPUT_ROOT"


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
output_root: Path = Path(os.environ.get(OUTPUT_ROOT_ENV) or root).resolve()

# source tree
src: Path = root / "src" / "g2p"
notebooks: Path = Path(os.environ.get("G2P_NOTEBOOKS") or root / "notebooks")
params: Path = root / "params"
book: Path = root / "book"
benchmarks: Path = root / "benchmarks"
# shared, content-addressed
raw: Path = root / "data" / "raw"
cache: Path = root / "data" / "cache"
# outputs
data: Path = output_root / "data"
processed: Path = data / "processed"
runs: Path = output_root / "runs"
figures: Path = output_root / "figures"
build: Path = output_root / "build"
book_html: Path = output_root / "_build" / "html"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def checked_name(value: str, what: str) -> str:
    """``value`` when it is a plain folder name (no ``/``, not ``.`` or ``..``); else InputError."""
    from g2p.errors import InputError

    if not isinstance(value, str) or not _NAME.match(value) or value in (".", ".."):
        raise InputError(
            f"{what} {value!r} is not a plain name",
            field=what, hint="use letters, digits, '.', '_', '+' or '-' (no '/' and no '..')",
        )
    return value


def shown(path: Path) -> str:
    """``path`` as a reader should see it in a message or a book page: relative to the output root or
    the repository when it lies inside one (``data/processed/mpo``), else unchanged."""
    path = Path(path)
    for base in (output_root, root):
        try:
            return path.resolve().relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def shared_mirror() -> Path:
    """The project's sibling data release, ``../shared/g2p-data`` next to the repository."""
    return root.parent / "shared" / "g2p-data"


def processed_dataset(name: str) -> Path:
    return processed / checked_name(name, "dataset")


def build_dir(preset: str) -> Path:
    """``build/<preset>/``: the executed notebooks and the provenance of one preset."""
    return build / checked_name(preset, "preset")


def executed_dir(preset: str) -> Path:
    return build_dir(preset) / "executed"


def figures_dir(preset: str | None = None) -> Path:
    """``figures/<preset>/``; the preset defaults to ``$G2P_PRESET`` (set by the runner), else
    ``interactive``."""
    return figures / checked_name(preset or os.environ.get("G2P_PRESET") or "interactive", "preset")


def run_dir(preset: str, experiment: str) -> Path:
    """``runs/<preset>/<experiment>``; ``experiment`` may have ``/`` levels but never leaves ``runs/``."""
    from g2p.errors import InputError

    checked_name(preset, "preset")
    parts = str(experiment).replace("\\", "/").split("/")
    if not all(_NAME.match(p) and p not in (".", "..") for p in parts):  # also no "", i.e. no leading or double "/"
        raise InputError(
            f"run name {experiment!r} would leave runs/{preset}/",
            field="experiment", hint="use plain names such as 'complete' or 'genepheno/mpo/complete'",
        )
    return runs / preset / Path(*parts)

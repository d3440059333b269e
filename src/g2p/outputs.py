"""No command writes over one of its own inputs.

:func:`refuse_overwriting_inputs` is called by each command before any work starts, with its output
path and its input files and folders; paths are compared after ``~`` expansion and with symbolic
links followed and hard links recognised by inode, so ``--out ./x.fa``, ``--out link-to-x.fa`` and
``--out x.fa`` all name ``x.fa``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from g2p.errors import UsageError


def _real(path: Path) -> Path:
    return Path(path).expanduser().resolve()


def _same(a: Path, b: Path) -> bool:
    """One file, by path (links followed) or, when both exist, by inode (a hard link)."""
    if _real(a) == _real(b):
        return True
    try:
        return Path(a).expanduser().samefile(Path(b).expanduser())
    except OSError:
        return False


def refuse_overwriting_inputs(command: str, out: Path, files: Mapping[str, Path | None],
                              folders: Mapping[str, Path | None] | None = None) -> None:
    """Raise :class:`UsageError` when ``out`` is one of ``files`` (keyed by the option that names
    them) or lies inside (or is) one of ``folders``."""
    target = _real(out)
    for option, path in files.items():
        if path is not None and _same(path, out):
            raise UsageError(f"g2p {command}: --out {out} is the {option} input: writing it would destroy that input",
                             hint="give --out a new name")
    for option, folder in (folders or {}).items():
        if folder is not None and _real(folder) in (target, *target.parents):
            raise UsageError(f"g2p {command}: --out {out} is inside the {option} folder {folder}: writing there "
                             "would change that input", hint="give --out a path outside it")

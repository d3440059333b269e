"""Where a BIOSCAN-5M download lies, and whether it is there (standard library only, so reading a preset
stays cheap; the records and photos are :mod:`g2p.data.bioscan5m`'s).

The root is a setting (``diffusion.bioscan5m_root``), else ``$G2P_BIOSCAN5M_ROOT``; it holds the layout
that ``bioscan-dataset`` downloads: ``bioscan5m/metadata/csv/BIOSCAN_5M_Insect_Dataset_metadata.csv``
and ``bioscan5m/images/cropped_256/<split>/<chunk>/<processid>.jpg``. :func:`choose` turns a preset's
``data: auto`` into ``bioscan5m`` when the root is complete and into ``simulator`` otherwise, saying so
in one line; ``data: bioscan5m`` with no complete root is an :class:`~g2p.errors.InputError`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from g2p.errors import InputError

ENV_VAR = "G2P_BIOSCAN5M_ROOT"
METADATA = Path("bioscan5m/metadata/csv/BIOSCAN_5M_Insect_Dataset_metadata.csv")
IMAGES = Path("bioscan5m/images/cropped_256")
AUTO = "auto"
_HOW_TO_GET = ("download it with bioscan-dataset: python -c \"from bioscan_dataset import BIOSCAN5M; "
               "BIOSCAN5M('{root}', split='train+val+test+key_unseen+test_unseen', download=True)\", "
               f"then set diffusion.bioscan5m_root or ${ENV_VAR} to that folder")
_announced: set[str] = set()


def how_to_get(root: Path | str | None) -> str:
    return _HOW_TO_GET.format(root=root or "ROOT")


def root_from(setting: str | os.PathLike | None) -> Path | None:
    """``setting`` when given, else ``$G2P_BIOSCAN5M_ROOT``, else None (``~`` expanded)."""
    value = setting if setting not in (None, "") else os.environ.get(ENV_VAR) or None
    return Path(value).expanduser() if value is not None else None


def missing_part(root: Path | None) -> Path | None:
    """The first part of the layout missing under ``root`` (None when complete)."""
    if root is None:
        return Path(f"${ENV_VAR}")
    for part in (root, root / METADATA, root / IMAGES):
        if not part.exists():
            return part
    return None


def check_root(root: Path | None) -> Path:
    """``root`` if it holds the metadata CSV and the ``cropped_256`` folder; else a one-line InputError
    naming the missing path and how to download the dataset."""
    missing = missing_part(root)
    if missing is not None:
        what = "no BIOSCAN-5M root is set" if root is None else "the BIOSCAN-5M download is not there"
        raise InputError(what, path=missing, hint=how_to_get(root))
    return Path(root)


def choose(data: str, setting: str | None, *, announce: bool = True) -> tuple[str, str | None]:
    """``(data, root)`` for a preset's ``data`` and ``bioscan5m_root``: ``simulator`` stays; ``bioscan5m``
    needs a complete root (else InputError); ``auto`` is ``bioscan5m`` with a complete root and otherwise
    ``simulator``, printed once per process to stderr with why and how to provide the root."""
    if data == "simulator":
        return data, setting
    root = root_from(setting)
    if data != AUTO:
        return data, str(check_root(root)) if data == "bioscan5m" else setting
    missing = missing_part(root)
    if missing is None:
        return "bioscan5m", str(root)
    why = ("no root set (diffusion.bioscan5m_root or $G2P_BIOSCAN5M_ROOT)" if root is None
           else f"{missing} is missing")
    line = (f"G2PDiffusion trains on the phenotype simulator, not on BIOSCAN-5M: {why}; "
            f"to use the real photos, {how_to_get(root)}")
    if line not in _announced and announce:
        _announced.add(line)
        print(line, file=sys.stderr)
    return "simulator", None

"""The reader of BOLD's raw barcode-record export, and the record table it shares with BIOSCAN-5M.

It gives :data:`RECORD_COLUMNS`: ``processid, order, family, genus, species, lat, lon`` (float, NaN
where missing), ``has_coords`` and ``barcode`` (uppercase, gaps removed, IUPAC ambiguity → ``N``).
A malformed file raises :class:`~g2p.data.errors.DataFormatError` naming the line and field.

* :func:`read_bold_tsv` reads and validates a BOLD export (the mirror's ``bold_coi``: real COI-5P
  insect barcodes with taxonomy and collection coordinates) and cleans the barcodes.
* :mod:`g2p.data.bioscan5m` maps the official BIOSCAN-5M metadata, read by its authors' package
  ``bioscan-dataset``, to the same columns (with :func:`clean_barcode`).

Choosing species and splitting the records for G2PDiffusion is :mod:`g2p.g2pdiff.datasets`' job.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from g2p.data import sources
from g2p.data.errors import DataFormatError

RECORD_COLUMNS: tuple[str, ...] = (
    "processid",
    "order",
    "family",
    "genus",
    "species",
    "lat",
    "lon",
    "has_coords",
    "barcode",
)
# BOLD export column → our column; these must be present and non-empty in every row.
_BOLD_REQUIRED = {
    "processid": "processid",
    "order_name": "order",
    "family_name": "family",
    "genus_name": "genus",
    "species_name": "species",
    "nucleotides": "barcode",
}
_IUPAC_AMBIGUOUS = "RYSWKMBDHVN"
# One C-level pass per barcode: drop gaps/whitespace, U → T, ambiguity codes → N.
_CLEAN = str.maketrans({"-": None, ".": None, " ": None, "\t": None, "\r": None, "\n": None, "U": "T"}
                       | {c: "N" for c in _IUPAC_AMBIGUOUS})
_INVALID = re.compile(r"[^ACGTN]")


def clean_barcode(raw: str) -> str:
    """Uppercase, drop alignment gaps ``-`` and whitespace, map IUPAC ambiguity codes to ``N``.

    Raises ``ValueError`` for any character that is not a nucleotide, ambiguity code or gap, and
    for a barcode left empty.
    """
    seq = raw.upper().translate(_CLEAN)
    bad = _INVALID.search(seq)
    if bad:
        raise ValueError(f"invalid nucleotide character {bad.group()!r} at position {bad.start() + 1}")
    if not seq:
        raise ValueError("empty barcode")
    return seq


def _clean_barcodes(values: pd.Series, path: Path, field: str) -> list[str]:
    barcodes = []
    for row, value in enumerate(values):
        try:
            barcodes.append(clean_barcode(value))
        except ValueError as exc:
            raise DataFormatError(path, str(exc), line=row + 2, field=field) from None
    return barcodes


def bold_coi_path() -> Path:
    """The BOLD COI-5P insect export in the data mirror (``sources.yaml`` entry ``bold_coi``)."""
    return Path(sources.resolve("bold_coi"))


def _parse_coordinate(values: pd.Series, path: Path, field: str, bound: float) -> pd.Series:
    """Empty → NaN; non-numeric or out of range → DataFormatError naming the line (header = line 1)."""
    text = values.str.strip()
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (text != "") & (numbers.isna() | (numbers.abs() > bound))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(
            path, f"{field} {text.iloc[row]!r} is not a number in [-{bound:g}, {bound:g}]", line=row + 2, field=field
        )
    return numbers.astype(float)


def read_bold_tsv(path: Path) -> pd.DataFrame:
    """Read and validate a BOLD public-export TSV (plain or .gz) into :data:`RECORD_COLUMNS`.

    Records with only one of ``lat``/``lon`` get both set to NaN and ``has_coords`` False.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise DataFormatError(path, f"cannot be read as a TSV: {exc}") from exc
    missing = [c for c in (*_BOLD_REQUIRED, "lat", "lon") if c not in raw.columns]
    if missing:
        raise DataFormatError(path, f"missing column(s) {missing}; found {list(raw.columns)}", line=1)
    for column in _BOLD_REQUIRED:
        empty = raw[column].str.strip() == ""
        if empty.any():
            row = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataFormatError(path, "empty value", line=row + 2, field=column)
    duplicated = raw["processid"].duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise DataFormatError(path, f"duplicate processid {raw['processid'].iloc[row]!r}", line=row + 2, field="processid")

    barcodes = _clean_barcodes(raw["nucleotides"], path, "nucleotides")
    lat = _parse_coordinate(raw["lat"], path, "lat", 90.0)
    lon = _parse_coordinate(raw["lon"], path, "lon", 180.0)
    has_coords = lat.notna() & lon.notna()

    records = pd.DataFrame({new: raw[old].str.strip() for old, new in _BOLD_REQUIRED.items() if new != "barcode"})
    records["lat"] = lat.where(has_coords)
    records["lon"] = lon.where(has_coords)
    records["has_coords"] = has_coords.astype(bool)
    records["barcode"] = barcodes
    return records.loc[:, list(RECORD_COLUMNS)].reset_index(drop=True)

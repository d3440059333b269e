"""Readers of raw barcode-record files (BOLD public export, BIOSCAN-5M metadata) into one record table.

Both give :data:`RECORD_COLUMNS`: ``processid, order, family, genus, species, lat, lon`` (float, NaN
where missing), ``has_coords`` and ``barcode`` (uppercase, gaps removed, IUPAC ambiguity → ``N``).
A malformed file raises :class:`~g2p.data.errors.DataFormatError` naming the line and field.

* :func:`read_bold_tsv` reads and validates a BOLD export (the mirror's ``bold_coi``: real COI-5P
  insect barcodes with taxonomy and collection coordinates) and cleans the barcodes.
* :func:`load_bioscan5m` maps official BIOSCAN-5M metadata (and its image layout) to the same columns,
  for users who download that dataset themselves.

Choosing species and splitting the records for G2PDiffusion is :mod:`g2p.g2pdiff.datasets`' job.
"""

from __future__ import annotations

import gzip
import json
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


# -- BIOSCAN-5M --------------------------------------------------------------------------------------
#: Official BIOSCAN-5M partition → our split.  ``pretrain`` records (no species label) still pair a
#: barcode with an image, so they can train a generator; ``key_unseen`` holds the reference specimens
#: of the unseen species and ``other_heldout`` species outside both sets, so neither may enter training
#: without leaking the unseen species: they map to ``other``.
BIOSCAN5M_SPLIT_MAP: dict[str, str] = {
    "pretrain": "train",
    "train": "train",
    "val": "val",
    "test": "test_seen",
    "val_unseen": "val",
    "test_unseen": "test_unseen",
    "key_unseen": "other",
    "other_heldout": "other",
}


def _bioscan5m_table(path: Path) -> pd.DataFrame:
    name = path.name.lower()
    if name.endswith((".json", ".json.gz")):
        try:
            data = path.read_bytes()
            payload = json.loads(gzip.decompress(data) if name.endswith(".gz") else data)
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
            raise DataFormatError(path, f"not valid JSON: {exc}") from exc
        if isinstance(payload, dict):  # e.g. {"records": [...]}
            lists = [v for v in payload.values() if isinstance(v, list)]
            payload = lists[0] if len(lists) == 1 else None
        if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
            raise DataFormatError(path, "expected a JSON array of record objects")
        return pd.DataFrame(payload)
    sep = "\t" if ".tsv" in path.name.lower() else ","
    try:
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataFormatError(path, f"cannot be read as CSV: {exc}") from exc


def _blank_to_nan(values: pd.Series) -> pd.Series:
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text.where(~text.isin(["", "nan", "NaN", "None", "not_classified"]))


def load_bioscan5m(metadata_path: Path, image_root: Path | None = None) -> pd.DataFrame:
    """BIOSCAN-5M metadata (official CSV, or the JSON records of the BIOSCAN browser) → our columns.

    Returns :data:`RECORD_COLUMNS` plus ``official_split``, ``split`` (via :data:`BIOSCAN5M_SPLIT_MAP`),
    ``chunk`` and ``image_path``.  Coordinates come from ``coord-lat``/``coord-lon`` (official CSV) or
    ``latlon`` (``"lat,lon"``).  Taxonomy ranks that BIOSCAN leaves unassigned are NaN.

    Image layout (the one the ``bioscan-dataset`` package, v1.3, documents for its ``cropped_256`` and
    ``original_full`` packages): ``<image_root>/<split>/<chunk>/<processid>.jpg``, where ``chunk`` is
    the metadata's ``chunk`` field and is left out when empty (e.g. ``test/<processid>.jpg``).  Pass
    ``image_root = <root>/bioscan5m/images/cropped_256``.  Without ``image_root``, ``image_path`` is
    the relative path; with it, an absolute path, and missing image files raise ``DataFormatError``.
    """
    path = Path(metadata_path)
    table = _bioscan5m_table(path)
    required = {"processid", "dna_barcode", "order", "split"}
    missing = sorted(required - set(table.columns))
    if missing:
        raise DataFormatError(path, f"missing field(s) {missing}")
    out = pd.DataFrame({"processid": _blank_to_nan(table["processid"])})
    for rank in ("order", "family", "genus", "species"):
        out[rank] = _blank_to_nan(table[rank]) if rank in table.columns else np.nan
    for field in ("processid", "order"):
        empty = out[field].isna()
        if empty.any():
            raise DataFormatError(path, "empty value", line=int(np.flatnonzero(empty)[0]) + 2, field=field)

    if {"coord-lat", "coord-lon"} <= set(table.columns):
        lat_text, lon_text = _blank_to_nan(table["coord-lat"]), _blank_to_nan(table["coord-lon"])
    elif "latlon" in table.columns:
        parts = _blank_to_nan(table["latlon"]).str.split(",", expand=True)
        if parts.shape[1] == 1:
            parts[1] = np.nan
        lat_text, lon_text = parts[0], parts[1]
    else:
        lat_text = lon_text = pd.Series(np.nan, index=table.index)
    coords = {}
    for name, text, bound in (("lat", lat_text, 90.0), ("lon", lon_text, 180.0)):
        numbers = pd.to_numeric(text, errors="coerce")
        bad = text.notna() & (numbers.isna() | (numbers.abs() > bound))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(path, f"{name} {text.iloc[row]!r} is not a number in [-{bound:g}, {bound:g}]",
                                  line=row + 2, field=name)
        coords[name] = numbers.astype(float)
    has_coords = coords["lat"].notna() & coords["lon"].notna()
    out["lat"] = coords["lat"].where(has_coords)
    out["lon"] = coords["lon"].where(has_coords)
    out["has_coords"] = has_coords.astype(bool)

    out["barcode"] = _clean_barcodes(table["dna_barcode"].astype(str), path, "dna_barcode")

    official = table["split"].astype(str).str.strip()
    unknown = ~official.isin(list(BIOSCAN5M_SPLIT_MAP))
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataFormatError(path, f"unknown split {official.iloc[row]!r}; expected one of "
                              f"{sorted(BIOSCAN5M_SPLIT_MAP)}", line=row + 2, field="split")
    out["official_split"] = official
    out["split"] = official.map(BIOSCAN5M_SPLIT_MAP)
    chunk = _blank_to_nan(table["chunk"]) if "chunk" in table.columns else pd.Series(np.nan, index=table.index)
    out["chunk"] = chunk
    chunk_dir = chunk.map(lambda c: "" if pd.isna(c) else f"{c}/")
    relative = official + "/" + chunk_dir + out["processid"] + ".jpg"
    if image_root is not None:
        root = Path(image_root)
        absolute = [root / rel for rel in relative]
        absent = [i for i, p in enumerate(absolute) if not p.is_file()]
        if absent:
            raise DataFormatError(absolute[absent[0]], f"image for processid {out['processid'].iloc[absent[0]]!r} "
                                  f"not found ({len(absent)} of {len(absolute)} missing)")
        out["image_path"] = [str(p) for p in absolute]
    else:
        out["image_path"] = relative
    return out.reset_index(drop=True)

"""Barcode records, seen/unseen splits and image datasets for the G2PDiffusion part.

What is real here: the BOLD COI-5P insect barcodes (``g2p.data.sources.resolve("bold_coi")``), their
full taxonomy and their collection coordinates.  What is simulated: every pixel (see
:mod:`g2p.g2pdiff.simulator`).  The optional BIOSCAN-5M loader reads the official metadata and image
layout for users who download that dataset themselves.

* :func:`load_barcode_records` reads and validates the BOLD file and cleans the barcodes.
* :func:`make_splits` assigns ``train``/``val``/``test_seen``/``test_unseen``.
* :class:`SpecimenDataset` pairs each record with its simulated render (cached).
* :func:`load_bioscan5m` maps official BIOSCAN-5M metadata to the same columns.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from g2p.data.errors import DataFormatError

if TYPE_CHECKING:
    from g2p.g2pdiff.simulator import PhenotypeSimulator

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
SPLITS: tuple[str, ...] = ("train", "val", "test_seen", "test_unseen")

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


def _bold_path() -> Path:
    from g2p.data import sources

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


def _choose_species(records: pd.DataFrame, max_species: int, seed: int) -> pd.Index:
    """Whole genera in a seeded order until ``max_species`` species are reached.

    Taking genera whole (rather than random species) keeps multi-species genera intact, which the
    unseen-species split needs.
    """
    species_by_genus = records.groupby("genus", sort=True)["species"].unique()
    order = np.random.default_rng(seed).permutation(len(species_by_genus))
    chosen: list[str] = []
    for i in order:
        chosen.extend(sorted(species_by_genus.iloc[i]))
        if len(chosen) >= max_species:
            break
    return pd.Index(chosen[:max_species])


def load_barcode_records(
    *, max_species: int | None = None, per_species: int | None = None, seed: int = 0, path: Path | None = None
) -> pd.DataFrame:
    """The real BOLD insect barcodes with taxonomy and coordinates, one row per specimen.

    Columns: ``processid, order, family, genus, species, lat, lon`` (float, NaN if missing),
    ``has_coords``, ``barcode`` (uppercase, gaps removed, IUPAC ambiguity → ``N``).
    ``max_species`` keeps whole genera (seeded order) up to that many species; ``per_species`` keeps a
    seeded sample of at most that many specimens per species.  Rows stay sorted by species, processid.
    """
    if max_species is not None and max_species < 1:
        raise ValueError(f"max_species must be >= 1, got {max_species}")
    if per_species is not None and per_species < 1:
        raise ValueError(f"per_species must be >= 1, got {per_species}")
    records = read_bold_tsv(path if path is not None else _bold_path())
    if max_species is not None:
        records = records[records["species"].isin(_choose_species(records, max_species, seed))]
    if per_species is not None:
        records = records.groupby("species", group_keys=False, sort=False).sample(
            frac=1.0, random_state=seed
        ).groupby("species", sort=False).head(per_species)
    return records.sort_values(["species", "processid"]).reset_index(drop=True)


def make_splits(
    records: pd.DataFrame,
    *,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    unseen_species_fraction: float = 0.1,
) -> pd.DataFrame:
    """Add ``split`` ∈ {train, val, test_seen, test_unseen} (a copy; input untouched).

    * Unseen species (``unseen_species_fraction`` of all species, all their specimens → ``test_unseen``)
      are drawn only from genera with ≥ 2 species, and each such genus keeps ≥ 1 species seen.
    * Each seen species' specimens are shuffled (seeded) and ``fraction · n`` (stochastically
      rounded) go to val and to test_seen, always leaving ≥ 1 in train, so every seen-test specimen's species is in train.
    """
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction),
                        ("unseen_species_fraction", unseen_species_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError("val_fraction + test_fraction must be < 1")
    missing = {"processid", "genus", "species"} - set(records.columns)
    if missing:
        raise ValueError(f"records lack column(s) {sorted(missing)}")
    rng = np.random.default_rng(seed)
    out = records.copy()

    species_genus = out.drop_duplicates("species").set_index("species")["genus"].sort_index()
    n_unseen = int(round(unseen_species_fraction * len(species_genus)))
    seen_left = species_genus.value_counts()
    unseen: set[str] = set()
    for species in rng.permutation(species_genus.index.to_numpy()):
        if len(unseen) >= n_unseen:
            break
        genus = species_genus[species]
        if seen_left[genus] >= 2:
            unseen.add(species)
            seen_left[genus] -= 1

    split = np.full(len(out), "train", dtype=object)
    split[out["species"].isin(unseen).to_numpy()] = "test_unseen"
    seen_rows = out.index[~out["species"].isin(unseen)]
    positions = pd.Series(np.arange(len(out)), index=out.index)
    for _, rows in out.loc[seen_rows].groupby("species", sort=True).groups.items():
        pos = rng.permutation(positions[rows].to_numpy())
        n = len(pos)
        # Stochastic rounding keeps expected counts right for species with few specimens.
        n_test = int(np.floor(test_fraction * n + rng.random()))
        n_val = int(np.floor(val_fraction * n + rng.random()))
        while n_test + n_val > n - 1 and (n_test or n_val):  # keep at least one in train
            if n_test >= n_val:
                n_test -= 1
            else:
                n_val -= 1
        split[pos[:n_test]] = "test_seen"
        split[pos[n_test:n_test + n_val]] = "val"
    out["split"] = split
    return out


def split_summary(records: pd.DataFrame) -> pd.DataFrame:
    """Specimens, species, genera and families per split (rows in :data:`SPLITS` order)."""
    grouped = records.groupby("split")
    summary = pd.DataFrame({
        "specimens": grouped.size(),
        "species": grouped["species"].nunique(),
        "genera": grouped["genus"].nunique(),
        "families": grouped["family"].nunique(),
    })
    order = [s for s in SPLITS if s in summary.index] + [s for s in summary.index if s not in SPLITS]
    return summary.loc[order]


def latitude_confounding(records: pd.DataFrame) -> dict[str, float]:
    """How much of the latitude variation is between species (specimens with coordinates).

    ``species_share``: η² = between-species sum of squares / total sum of squares of latitude (1 =
    each species is collected at one latitude, so latitude identifies the species); ``lat_std``: the
    overall standard deviation; ``within_species_std``: the median of the per-species standard
    deviations (species with ≥ 2 located specimens).
    """
    located = records[records["lat"].notna()]
    if located["species"].nunique() < 2:
        raise ValueError("need located specimens of at least two species")
    lat = located["lat"].astype(float)
    total = float(((lat - lat.mean()) ** 2).sum())
    means = located.groupby("species")["lat"].transform("mean")
    between = float(((means - lat.mean()) ** 2).sum())
    within = located.groupby("species")["lat"].std().dropna()
    return {"species_share": between / total if total > 0 else float("nan"), "lat_std": float(lat.std()),
            "within_species_std": float(within.median()) if len(within) else float("nan")}


class SpecimenDataset(Dataset):
    """Records paired with their simulated renders: items are dicts for a PyTorch ``DataLoader``.

    ``pixel_values`` is ``[3, H, W]`` in [-1, 1] (the convention of diffusers' VAEs).  All renders are
    made once at construction through :meth:`PhenotypeSimulator.render_uint8`, which caches them on
    disk; they are held as uint8 so 30k images at 64×64 take ~370 MB.
    """

    def __init__(
        self, records: pd.DataFrame, simulator: PhenotypeSimulator, image_size: int, *, cache: bool = True
    ) -> None:
        self.records = records.reset_index(drop=True)
        self.image_size = int(image_size)
        self.images = torch.from_numpy(simulator.render_uint8(self.records, self.image_size, cache=cache))
        self._barcodes = self.records["barcode"].tolist()
        self._lat = self.records["lat"].to_numpy(dtype=float)
        self._lon = self.records["lon"].to_numpy(dtype=float)
        self._has = self.records["has_coords"].to_numpy(dtype=bool)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        pixels = self.images[index].float().div_(127.5).sub_(1.0)
        return {
            "pixel_values": pixels,
            "barcode": self._barcodes[index],
            "lat": float(self._lat[index]),
            "lon": float(self._lon[index]),
            "has_coords": bool(self._has[index]),
            "index": int(index),
        }


# ---------------------------------------------------------------------------------------------------
# BIOSCAN-5M
# ---------------------------------------------------------------------------------------------------

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
